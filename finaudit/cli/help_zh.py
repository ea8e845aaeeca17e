"""`--help` in Chinese by default: each command's description and each option's help, keyed by
the command's path and the option's first name. English with `--lang en` or an English
locale. tests/test_cli_help.py fails when a command or an option has no Chinese help here."""
from __future__ import annotations

import os
import re
import sys

import click

from finaudit.report.labels import width

LANG_HELP = "输出和提示的语言（zh 中文，en 英文）。"
HELP_HELP = "显示本帮助并退出。"

HELP: dict[str, dict] = {
    "finaudit": {
        "help": "finaudit：按法定的教育经费保障要求审计教育经费台账。\n\n"
                "常用：finaudit check 台账.xlsx（审计）；finaudit template 台账模板.xlsx（空白台账）；"
                "finaudit rules（规则及依据）。",
        "short": "按法定的教育经费保障要求审计教育经费台账。",
        "options": {"--version": "显示版本并退出。"},
    },
    "finaudit check": {
        "help": "按教育经费保障要求审计台账（工作簿、文件夹、通配符均可；不给出时用 finaudit.toml 中的台账）。\n\n"
                "退出码：0 未发现违规；1 有达到 --fail-on 级别的发现；2 无法审计（错误在标准错误输出中，一行说明）。",
        "short": "审计台账：违规、警示、缺口，及所依据的条文。",
        "options": {
            "--profile": "所有地区都按此配置审计（默认：按行政区划代码取最具体的配置）。",
            "--json": "把审计结果文档（JSON）写入此文件。",
            "--format": "标准输出的格式：text 文字报告，json 审计结果文档。",
            "--fail-on": "有此级别或更高级别的发现时退出码为 1（never：从不）。",
            "--year": "只审计这一财政年度。",
            "--html": "写出给审计人员看的 HTML 报告（单个离线文件）。",
            "--annotate": "写出标注了每个发现所在单元格的工作簿副本（.xlsx，仅限一个台账）。",
            "--sarif": "以 SARIF 2.1.0 格式写出发现。",
            "--csv": "以 CSV 写出发现，每行一项（UTF-8 带 BOM，Excel 可直接打开）。",
            "--show-info": "文字报告中也列出提示（如无法评价的情形）。",
            "--quiet": "不输出任何内容，只用退出码表示结果（用于定时任务）。",
            "--jobs": "同时审计的台账数（多进程；默认：16 个台账起每核一个，否则 1）。",
            "--memory-limit": "限制 DuckDB 使用的内存，如 4GB；放不下的部分写入临时文件夹（默认：内存的 80%）。",
            "--engine": "规则在哪里运行：duckdb 本机，或 spark 即 Apache Spark（需安装 pyspark 与 Java：pip install --require-hashes -r requirements-spark.txt）。",
            "--spark-master": "--engine spark 时连接的 Spark master（默认：local[*]，本机所有核；如 spark://主机:7077、yarn）。",
            "--draft-severity": "预算草案（口径“预算”）预审发现的级别（默认：警示，或配置中的规定）。",
            "--history": "把本次运行及其发现记入历史文件（DuckDB，不存在则新建），并与同一地区的上次运行比较：新增、未变、有变化。",
            "--history-timeout": "另一次运行正在写历史文件时，最多等待的秒数。",
            "--config": "从此文件读取设置（默认：从当前目录向上查找 finaudit.toml 或 pyproject.toml 的 [tool.finaudit]）。",
            "--no-config": "不读取任何配置文件。",
        },
    },
    "finaudit validate": {
        "help": "检查台账每个工作表的每一行能否用于审计：逐个列出有问题的单元格及原因。",
        "short": "检查台账能否审计：逐格列出问题。",
        "options": {"--format": "输出格式：text 文字，json。"},
    },
    "finaudit verify": {
        "help": "按审计结果文档（--json 写出的文件）记录的台账、配置和选项重新审计，确认结果相同，或列出不同之处。",
        "short": "重新审计并核对一份审计结果文档。",
        "options": {
            "--base": "文档中相对路径的台账从此文件夹查找（默认：当前目录）。",
            "--jobs": "同时审计的台账数（多进程；默认：16 个台账起每核一个，否则 1）。",
        },
    },
    "finaudit history": {
        "help": "列出历史文件中记录的各次运行（默认：finaudit.toml 中的 history）。",
        "short": "历史文件中的各次运行，及两次之间的变化。",
        "options": {
            "--diff": "显示从运行A到运行B的变化（运行序号或编号前缀）。",
            "--format": "输出格式：text 文字，json。",
            "--timeout": "另一次运行正在写历史文件时，最多等待的秒数。",
        },
    },
    "finaudit rules": {
        "help": "规则目录：每条规则要求什么（finaudit rules show 规则编号：该规则在各配置下的条文和参数）。",
        "short": "规则目录及其要求。",
        "options": {},
    },
    "finaudit rules show": {
        "help": "一条规则的全部说明：各配置下所依据的条文、衡量什么、各配置按年度生效的参数。",
        "short": "一条规则的条文、衡量口径和参数。",
        "options": {},
    },
    "finaudit profiles": {
        "help": "各地区配置（全国、省、市）及每年生效的参数值和来源。",
        "short": "各地区配置及按年度生效的参数。",
        "options": {"--year": "只显示这一财政年度生效的值。"},
    },
    "finaudit template": {
        "help": "按台账格式把空白台账工作簿写入输出文件（.xlsx，含表头说明和下拉选项）。",
        "short": "写出空白台账模板。",
        "options": {},
    },
}

# click's own words in a usage line, and the arguments' names, in Chinese.
_ZH_USAGE = {"[OPTIONS]": "[选项]", "COMMAND": "命令", "[ARGS]...": "[参数]...", "LEDGERS": "台账", "LEDGER": "台账",
             "DOCUMENT": "审计结果文档", "PATH": "历史文件", "OUT": "输出文件", "RULE_ID": "规则编号"}


def help_lang(argv: list[str] | None = None) -> str:
    """The language of a help page: --lang on the command line, else an English locale's
    English, else Chinese."""
    argv = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return "en" if argv[i + 1] == "en" else "zh"
        if arg.startswith("--lang="):
            return "en" if arg.split("=", 1)[1] == "en" else "zh"
    locale = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    return "en" if locale.lower().startswith("en") else "zh"


_METAVARS = {"INTEGER RANGE": "整数", "TEXT": "文本", "PATH": "路径", "INTEGER": "整数", "FLOAT": "数字", "SECONDS": "秒数", "FILE": "文件",
             "RUN_A": "运行A", "RUN_B": "运行B", "DIRECTORY": "文件夹"}
_METAVAR = re.compile(r"\b(" + "|".join(_METAVARS) + r")\b")


def _option_help(path: str, param: click.Parameter) -> str | None:
    if param.name == "lang":
        return LANG_HELP
    if "--help" in param.opts:
        return HELP_HELP
    options = HELP.get(path, {}).get("options", {})
    return next((options[o] for o in param.opts if o in options), None)


def format_zh(command: click.Command, ctx: click.Context, formatter: click.HelpFormatter) -> None:
    """A command's help page in Chinese: usage, description, options (and subcommands)."""
    names, node = [], ctx
    while node.parent is not None:           # the key is the path below the root, whatever it is called
        names.append(node.info_name)
        node = node.parent
    path = " ".join(["finaudit", *reversed(names)])
    pieces = []
    for piece in command.collect_usage_pieces(ctx):
        for word, zh in _ZH_USAGE.items():
            piece = piece.replace(word, zh)
        pieces.append(piece)
    formatter.write_usage(ctx.command_path, " ".join(pieces), prefix="用法：")
    text = HELP.get(path, {}).get("help") or command.help or ""
    if text:
        formatter.write_paragraph()
        with formatter.indentation():
            for n, paragraph in enumerate(text.split("\n\n")):
                if n:
                    formatter.write_paragraph()
                formatter.write_text(paragraph)
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx) if isinstance(param, click.Option) else None
        if record is not None:
            rows.append((_METAVAR.sub(lambda m: _METAVARS[m.group(1)], record[0]),
                         _option_help(path, param) or record[1]))
    _section(formatter, "选项：", rows)
    if isinstance(command, click.Group):
        _section(formatter, "命令：", [(name, HELP.get(f"{path} {name}", {}).get("short") or sub.get_short_help_str())
                                     for name, sub in sorted(command.commands.items()) if not sub.hidden])


def _section(formatter: click.HelpFormatter, heading: str, rows: list) -> None:
    """A titled list, with a full-width colon (click's sections end in an ASCII one), its
    second column aligned by display width (click counts a Chinese character as one column)."""
    if not rows:
        return
    formatter.write_paragraph()
    indent = " " * formatter.current_indent
    formatter.write(f"{indent}{heading}\n")
    first = min(max(width(name) for name, _ in rows), 30)
    for name, text in rows:
        if width(name) <= first:
            formatter.write(f"{indent}  {name}{' ' * (first - width(name))}  {text}\n")
        else:                                   # a long option: its help on the next line
            formatter.write(f"{indent}  {name}\n{indent}  {' ' * first}  {text}\n")


class ZhHelp:
    """Mixed into the CLI's command classes: the help page in Chinese unless English is asked."""

    def format_help(self, ctx, formatter):
        if help_lang() == "zh":
            format_zh(self, ctx, formatter)
        else:
            super().format_help(ctx, formatter)


class Command(ZhHelp, click.Command):
    pass


class Group(ZhHelp, click.Group):
    command_class = Command
    group_class = type          # subgroups are of this same class (click's convention)
