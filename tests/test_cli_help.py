"""The command line speaks Chinese from --help on (issue 15, item 8): every command's and
option's help has its Chinese text, `finaudit` alone shows the help page, English is there
with --lang en or an English locale, and the operating system's reasons come in Chinese."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner
import pytest

from finaudit.cli import main
from finaudit.cli.help_zh import HELP, help_lang

# Words of click's English help page that must not appear in a Chinese one.
ENGLISH = ("Usage:", "Options:", "Commands:", "Show this message", "Show the version", "[OPTIONS]",
           "Language of messages")


# Capitalised words a Chinese help page may hold: names of formats, not click's English metavars
# (PATH, INTEGER RANGE) or argument names (OUT) left untranslated.
FORMAT_NAMES = {"JSON", "HTML", "SARIF", "CSV", "UTF", "BOM"}


def _commands(group=main, path="finaudit"):
    yield path, group
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            yield from _commands(command, f"{path} {name}")


def test_every_command_and_option_has_its_chinese_help():
    for path, command in _commands():
        assert HELP.get(path, {}).get("help"), f"{path}: no Chinese help in finaudit/cli/help_zh.py"
        options = HELP[path].get("options", {})
        for param in command.params:
            if isinstance(param, click.Option) and param.name not in ("lang", "version"):
                assert any(o in options for o in param.opts), f"{path} {param.opts[0]}: no Chinese help"


@pytest.mark.parametrize("path", [p for p, _ in _commands()])
def test_each_help_page_is_chinese_by_default(path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["finaudit"])
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    args = path.split()[1:] + ["--help"]
    run = CliRunner().invoke(main, args, prog_name="finaudit")
    assert run.exit_code == 0
    assert run.stdout.startswith(f"用法：{path}") and "选项：" in run.stdout
    for word in ENGLISH:
        assert word not in run.stdout, f"{path}: {word!r}"
    assert HELP[path]["help"].split("\n")[0][:20] in run.stdout
    assert set(re.findall(r"\b[A-Z][A-Z_]{2,}\b", run.stdout)) <= FORMAT_NAMES, run.stdout


def test_the_help_is_english_when_asked_or_in_an_english_locale(monkeypatch):
    assert help_lang(["check", "--help", "--lang", "en"]) == "en"
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert help_lang([]) == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert help_lang([]) == "zh" and help_lang(["--lang", "zh"]) == "zh"


def test_finaudit_alone_prints_its_help_page_not_a_usage_error(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(tmp_path)}
    # The installed command, as a user types it (python -m finaudit calls itself so in its usage line).
    command = Path(sys.executable).parent / "finaudit"
    run = subprocess.run([str(command)], capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "用法：finaudit [选项] 命令 [参数]..."
    assert any(line.strip().startswith("check") and "审计台账" in line for line in lines)
    assert run.stderr == ""


def test_a_misspelled_option_and_an_unwritable_output_are_one_chinese_line(cli):
    run = cli("check", "--jsn", "out.json")
    assert run.exit_code == 2 and run.stderr.count("\n") == 1
    assert run.stderr.startswith("没有选项“--jsn”。是否要用 ") and "--json" in run.stderr
    run = cli("check", "sample_ledgers/clean.xlsx", "--html", "/proc/finaudit-no-such-dir/x.html")
    assert run.exit_code == 2 and run.stderr.count("\n") == 1
    assert "无法写入“/proc/finaudit-no-such-dir/x.html”：文件或文件夹不存在" in run.stderr


@pytest.mark.parametrize("args, said", [
    (["check", "x.xlsx", "--jobs", "0"], "--jobs 的值无效：0 太小，应至少为 1。"),
    (["check", "x.xlsx", "--history", "."], "--history 的值无效：“.”是文件夹，这里需要一个文件。"),
    (["verify", "x.json", "--base", "README.md"], "--base 的值无效：“README.md”是文件，这里需要一个文件夹。"),
    (["verify", "out.json", "ledger.xlsx"], "多余的参数：ledger.xlsx。"),
])
def test_a_value_click_refuses_is_told_in_chinese(cli, args, said):
    run = cli(*args)
    assert run.exit_code == 2 and run.stderr.count("\n") == 1
    assert run.stderr.startswith(said), run.stderr
