"""The command line's frame: the command group, the --lang option, and the one place where
errors become one line on stderr and an exit code (never a traceback)."""
from __future__ import annotations

import os
import re
import sys

import click

from finaudit import __version__
from finaudit.errors import FinauditError, one_line
from finaudit.cli.help_zh import Command, Group, ZhHelp
from finaudit.report.labels import printable

EXIT_OK, EXIT_FINDINGS, EXIT_FAILED = 0, 1, 2


def _remember_lang(ctx, param, value):
    ctx.meta["finaudit.lang"] = value     # meta is shared by every context: the group sees it too
    return value


LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                    callback=_remember_lang, help="Language of messages and output (zh Chinese, en English).")


def fail(message: str) -> None:
    click.echo(printable(" ".join(message.split())), err=True)    # one line, nothing a terminal acts on
    sys.exit(EXIT_FAILED)


def echo(text: str) -> None:
    """Prints a report whose lines quote ledger text: no control character reaches the terminal."""
    click.echo(printable(text, keep_newlines=True))


def json_text(doc) -> str:
    from finaudit.runs.document import dumps   # here: pandas and DuckDB would slow start-up

    return dumps(doc)


class Seconds(click.ParamType):
    """A wait in seconds: a finite number, 0 or more (nan, inf and negative would wait forever or never)."""
    name = "seconds"

    def convert(self, value, param, ctx):
        from finaudit.runs.history_file import valid_timeout   # here: DuckDB would slow start-up

        name = param.opts[0] if param is not None and param.opts else "--timeout"
        try:
            return valid_timeout(value, name)
        except FinauditError as exc:
            error = click.BadParameter(exc.message("en"), ctx=ctx, param=param)
            error.finaudit_error = exc         # _usage_line says it in the asked language
            raise error from None


def run_guarded(lang: str, fn):
    """Runs fn; a FinauditError becomes one line on stderr, in the user's language, and exit 2.
    Anything else is a bug of ours, turned into one line by the command group below."""
    try:
        return fn()
    except FinauditError as exc:
        fail(exc.message(lang))


def _internal_error(exc: Exception, lang: str) -> None:
    text = one_line(exc)                   # a library's message may span lines, or pages
    fail(f"内部错误：{type(exc).__name__}: {text}（设置 FINAUDIT_DEBUG=1 可查看详情）" if lang == "zh"
         else f"Internal error: {type(exc).__name__}: {text} (set FINAUDIT_DEBUG=1 for details)")


def _lang_of(argv: list[str]) -> str:
    """The language asked for on the command line, even when the line itself is wrong."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return "en" if argv[i + 1] == "en" else "zh"
        if arg.startswith("--lang="):
            return "en" if arg.split("=", 1)[1] == "en" else "zh"
    return "zh"


# click's own messages about a value, in Chinese (click.Path, click.IntRange).
_CLICK_ZH = [
    (re.compile(r"File '(.*)' is a directory\."), "“{0}”是文件夹，这里需要一个文件。"),
    (re.compile(r"Directory '(.*)' is a file\."), "“{0}”是文件，这里需要一个文件夹。"),
    (re.compile(r"(?:File|Directory|Path) '(.*)' does not exist\."), "“{0}”不存在。"),
    (re.compile(r"(.*) is not in the range x>=(\d+)\."), "{0} 太小，应至少为 {1}。"),
    (re.compile(r"(.*) is not in the range x<=(\d+)\."), "{0} 太大，应至多为 {1}。"),
    (re.compile(r"(.*) is not in the range (\d+)<=x<=(\d+)\."), "{0} 超出范围，应在 {1} 到 {2} 之间。"),
]


def run() -> None:
    """The program (the console script, python -m finaudit): the command, then out without the
    interpreter's teardown, which frees a large audit's objects one by one (0.3-0.5 s after a
    1,000,000-row workbook's outputs are written), and on small memory pages (_small_pages).
    Callers of main() keep their process and its settings."""
    _small_pages()
    try:
        main()
    except SystemExit as exc:
        _leave(exc.code)


def _small_pages() -> None:
    """Transparent huge pages off for this process and those it starts (Linux): numpy and
    pyarrow's allocator ask for 2 MiB pages, which the kernel zeroes whole when first touched,
    and a large sheet's load makes and drops its arrays column by column. perf of a 1M-row
    sheet's load: half of it in clear_page_erms under do_huge_pmd_anonymous_page; the load
    1.2-1.5 s with them, 0.5-0.7 s without; the command's work after the parse 3.6-4.5 s,
    3.0-3.2 s without. The parse child's read showed no difference either way."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(41, 1, 0, 0, 0)     # 41: PR_SET_THP_DISABLE
    except (OSError, AttributeError):
        pass                                                         # a C library without prctl


def _leave(code) -> None:
    """Out, once a command is done: its output flushed first. Output files, temporary folders
    and DuckDB are closed by then (context managers); the parse server and a Spark JVM end when
    their pipe from this process closes; nothing of finaudit's waits for atexit. A string exit
    code is printed, as Python does."""
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):       # the reader has gone, or the stream is closed
            pass
    os._exit(code or 0)


def _usage_line(exc: click.UsageError, lang: str) -> str:
    """click's usage error (four English lines with the usage) as one line in `lang`."""
    zh = lang == "zh"
    command = exc.ctx.command_path if exc.ctx is not None else "finaudit"
    hint = f"（{command} --help 查看用法）" if zh else f" (see {command} --help)"
    if isinstance(getattr(exc, "finaudit_error", None), FinauditError):
        return exc.finaudit_error.message(lang) + hint
    if isinstance(exc, click.NoSuchOption):
        maybe = ("、" if zh else ", ").join(sorted(exc.possibilities or []))
        if zh:
            return f"没有选项“{exc.option_name}”。" + (f"是否要用 {maybe}？" if maybe else "") + hint
        return f"No such option '{exc.option_name}'." + (f" Did you mean {maybe}?" if maybe else "") + hint
    if isinstance(exc, click.BadParameter) and isinstance(getattr(exc.param, "type", None), click.Choice):
        name = _param_name(exc)
        value = re.match(r"'(.*)' is not one of", exc.message or "")
        shown = f"“{value.group(1)}”" if value and zh else f"'{value.group(1)}' " if value else ""
        choices = ("、" if zh else ", ").join(exc.param.type.choices)
        if zh:
            return f"{name} 的值{shown}无效，可选：{choices}。" + hint
        return f"Invalid value {shown}for {name}; choose one of {choices}." + hint
    if isinstance(exc, click.BadParameter) and not isinstance(exc, click.MissingParameter):
        name = _param_name(exc)
        number = re.match(r"'(.*)' is not a valid integer", exc.message or "")
        if number:
            return (f"{name} 应为整数，“{number.group(1)}”不是。" if zh
                    else f"{name} must be a whole number, not '{number.group(1)}'.") + hint
        message = " ".join((exc.message or "").split())
        if zh:
            message = next((f.format(*m.groups()) for p, f in _CLICK_ZH if (m := p.fullmatch(message))), message)
        return (f"{name} 的值无效：{message}" if zh else f"Invalid value for {name}: {message}") + hint
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        name = exc.param.human_readable_name
        return (f"缺少 {name}。" if zh else f"Missing {name}.") + hint
    extra = re.match(r"Got unexpected extra arguments? \((.*)\)", exc.message or "")
    if extra:
        if zh:
            return f"多余的参数：{extra.group(1)}。" + hint
        return f"Unexpected extra argument{'s' if ' ' in extra.group(1) else ''}: {extra.group(1)}." + hint
    unknown = re.match(r"No such command '(.*)'", exc.message or "")
    if unknown:
        if zh:
            return f"没有命令“{unknown.group(1)}”。" + hint
        return f"No such command '{unknown.group(1)}'." + hint
    message = " ".join((exc.message or "").split())
    return (f"命令行用法有误：{message}" if zh else f"Wrong usage: {message}") + hint


def _param_name(exc: click.BadParameter) -> str:
    """--year for an option, LEDGER for an argument."""
    param = exc.param
    if param is None:
        return str(exc.param_hint or "")
    return param.opts[0] if isinstance(param, click.Option) and param.opts else param.human_readable_name


class _Guarded(ZhHelp, click.Group):
    """Whatever escapes a command (a bug, a broken install) is still one line and exit 2, and
    so is a wrong command line: one line in the asked language, not click's usage block.
    Help pages are in Chinese unless English is asked (help_zh.py); `finaudit` alone shows
    its help page rather than a usage error."""
    command_class = Command
    group_class = Group

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args) or ["--help"]
        try:
            super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            click.echo(_usage_line(exc, _lang_of(argv)), err=True)
            sys.exit(EXIT_FAILED)
        except click.ClickException as exc:
            click.echo(" ".join(exc.format_message().split()), err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("已中止。" if _lang_of(argv) == "zh" else "Aborted.", err=True)
            sys.exit(EXIT_FAILED)
        sys.exit(0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit, KeyboardInterrupt,
                GeneratorExit):
            raise
        except BrokenPipeError:
            # The reader of our output has gone (`finaudit check … | head`): nothing to say, to no one.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115  Python flushes stdout at exit
            sys.exit(EXIT_FAILED)
        except BaseException as exc:  # noqa: BLE001  a native library's panic is a BaseException
            if os.environ.get("FINAUDIT_DEBUG"):
                raise
            _internal_error(exc, ctx.meta.get("finaudit.lang", "zh"))


@click.group(cls=_Guarded, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="finaudit")
def main():
    """finaudit: audits education-finance ledgers against the statutory funding guarantees."""
