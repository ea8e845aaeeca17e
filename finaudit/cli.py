"""The command line: a thin layer over the Python API. Only here do errors become exit codes."""
from __future__ import annotations

import os
import sys

import click

from finaudit import __version__
from finaudit.errors import FinauditError, UsageError

EXIT_OK, EXIT_FINDINGS, EXIT_FAILED = 0, 1, 2
def _remember_lang(ctx, param, value):
    ctx.meta["finaudit.lang"] = value     # meta is shared by every context: the group sees it too
    return value


LANG = click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
                    callback=_remember_lang, help="Language of messages and output.")


def _fail(message: str) -> None:
    from finaudit.report.labels import printable

    click.echo(printable(" ".join(message.split())), err=True)    # one line, nothing a terminal acts on
    sys.exit(EXIT_FAILED)


def _echo(text: str) -> None:
    """Prints a report whose lines quote ledger text: no control character reaches the terminal."""
    from finaudit.report.labels import printable

    click.echo(printable(text, keep_newlines=True))


def _json(doc) -> str:
    from finaudit.runs.document import dumps

    return dumps(doc)


class _Seconds(click.ParamType):
    """A wait in seconds: a finite number, 0 or more (nan, inf and negative would wait forever or never)."""
    name = "seconds"

    def convert(self, value, param, ctx):
        from finaudit.runs.history import valid_timeout

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
        _fail(exc.message(lang))


def _internal_error(exc: Exception, lang: str) -> None:
    text = " ".join(str(exc).split())      # a library's message may span lines
    _fail(f"内部错误：{type(exc).__name__}: {text}（设置 FINAUDIT_DEBUG=1 可查看详情）" if lang == "zh"
          else f"Internal error: {type(exc).__name__}: {text} (set FINAUDIT_DEBUG=1 for details)")


def _lang_of(argv: list[str]) -> str:
    """The language asked for on the command line, even when the line itself is wrong."""
    for i, arg in enumerate(argv):
        if arg == "--lang" and i + 1 < len(argv):
            return "en" if argv[i + 1] == "en" else "zh"
        if arg.startswith("--lang="):
            return "en" if arg.split("=", 1)[1] == "en" else "zh"
    return "zh"


def _usage_line(exc: click.UsageError, lang: str) -> str:
    """click's usage error (four English lines with the usage) as one line in `lang`."""
    import re

    zh = lang == "zh"
    command = exc.ctx.command_path if exc.ctx is not None else "finaudit"
    hint = f"（{command} --help 查看用法）" if zh else f" (see {command} --help)"
    if isinstance(getattr(exc, "finaudit_error", None), FinauditError):
        return exc.finaudit_error.message(lang) + hint
    if isinstance(exc, click.NoSuchOption):
        maybe = ", ".join(sorted(exc.possibilities or []))
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
        return (f"{name} 的值无效：{message}" if zh else f"Invalid value for {name}: {message}") + hint
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        name = exc.param.human_readable_name
        return (f"缺少 {name}。" if zh else f"Missing {name}.") + hint
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


class _Guarded(click.Group):
    """Whatever escapes a command (a bug, a broken install) is still one line and exit 2, and
    so is a wrong command line: one line in the asked language, not click's usage block."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        argv = list(sys.argv[1:] if args is None else args)
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


@main.command()
@click.argument("ledger", type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@LANG
def validate(ledger, fmt, lang):
    """Check that every row of every sheet of LEDGER is usable for the audit.

    Exit 0 when every row is valid, 1 when there is any finding, 2 when the
    ledger cannot be read.
    """
    from finaudit.intake.ledger import load
    from finaudit.findings import sort_key
    from finaudit.report.text import finding_line, sheets_table

    loaded = run_guarded(lang, lambda: load(ledger))
    findings = sorted(loaded.findings, key=sort_key)
    sheets = [s.summary() for s in loaded.sheets.values()]
    if fmt == "json":
        doc = {"finaudit_version": __version__, "ledger": str(loaded.path), "sheets": sheets,
               "findings": [f.to_dict() for f in findings]}
        click.echo(_json(doc))
    else:
        from finaudit.report.labels import printable

        _echo(("台账：" if lang == "zh" else "Ledger: ") + printable(loaded.path))
        _echo(sheets_table(sheets, lang))
        _echo("")
        if findings:
            _echo(f"发现 {len(findings)} 项问题：" if lang == "zh" else f"{len(findings)} findings:")
            for finding in findings:
                _echo(finding_line(finding, lang))
        else:
            _echo("所有行均有效。" if lang == "zh" else "Every row is valid.")
    sys.exit(EXIT_FINDINGS if findings else EXIT_OK)


FAIL_ON = ("violation", "warning", "info", "never")


def write_outputs(result, lang, *, json_path=None, html_path=None, annotate_path=None, sarif_path=None,
                  csv_path=None) -> None:
    """Writes every output file asked for; folders are created as needed. Each file is
    written all at once or not at all (atomic.py): a failure leaves the previous one as it
    was and raises atomic.OutputError naming it."""
    from finaudit.atomic import write_text

    if json_path:
        write_text(json_path, result.to_json() + "\n")
    if html_path:
        from finaudit.report.html import write_html
        write_html(result, html_path, lang=lang)
    if annotate_path:
        from finaudit.report.annotate import annotate_workbook
        annotate_workbook(result, annotate_path, lang=lang)
    if sarif_path:
        from finaudit.report.sarif import sarif
        write_text(sarif_path, _json(sarif(result, lang=lang)) + "\n")
    if csv_path:
        from finaudit.report.csv import write_csv
        write_csv(result, csv_path, lang=lang)


@main.command()
@click.argument("ledgers", nargs=-1, type=click.Path(path_type=str))
@click.option("--profile", help="Audit every region under this profile (default: the most specific one covering each region).")
@click.option("--json", "json_path", type=click.Path(path_type=str), help="Write the findings document to this file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="What to print on standard output.")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="violation", show_default=True,
              help="Exit 1 when there is a finding at or above this severity.")
@click.option("--year", type=int, help="Audit this fiscal year only.")
@click.option("--html", "html_path", type=click.Path(path_type=str), help="Write the auditor's HTML report (one offline file).")
@click.option("--annotate", "annotate_path", type=click.Path(path_type=str),
              help="Write a copy of the workbook with every finding's cells marked (.xlsx; one ledger only).")
@click.option("--sarif", "sarif_path", type=click.Path(path_type=str), help="Write the findings as SARIF 2.1.0.")
@click.option("--csv", "csv_path", type=click.Path(path_type=str), help="Write one finding a row as CSV (UTF-8 with BOM).")
@click.option("--show-info", is_flag=True, help="Also list info findings (not evaluable cases) in the text output.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit code tells the result (for cron).")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Audit this many ledgers at once, in worker processes (default: one per core from "
                   "16 ledgers on, else 1).")
@click.option("--memory-limit",
              help="Cap the memory DuckDB uses, e.g. 4GB: what does not fit is written to a temporary folder "
                   "(a national ledger on a laptop). Default: DuckDB's, 80% of RAM.")
@click.option("--draft-severity", type=click.Choice(["violation", "warning", "info"]),
              help="Severity of what the pre-audit of draft budgets (口径 预算) finds (default: warning, "
                   "or what the profile says).")
@click.option("--history", type=click.Path(path_type=str, dir_okay=False),
              help="Record this run and its findings in a history file (DuckDB; created if missing) and "
                   "mark each finding new, unchanged or updated against the previous run over the same regions.")
@click.option("--history-timeout", type=_Seconds(), default=120.0, show_default=True,
              help="Seconds to wait while another run writes the history file.")
@click.option("--config", "config_path", type=click.Path(path_type=str),
              help="Read settings from this file (default: finaudit.toml or pyproject.toml [tool.finaudit], "
                   "searched from the working directory upward).")
@click.option("--no-config", is_flag=True, help="Ignore any configuration file.")
@LANG
@click.pass_context
def check(ctx, ledgers, **options):
    """Audit LEDGERS (workbooks, folders, globs) against the funding guarantees.

    Several ledgers give one consolidated result in which every finding names its file;
    a ledger that cannot be read is a finding about that file and the others are
    still audited. Without LEDGERS, the ledgers of the configuration file are audited;
    flags given here override its settings. Exit 0 when no finding is at or above
    --fail-on, 1 when there is one, 2 when nothing could be audited (unreadable
    ledgers, wrong usage).
    """
    from finaudit.runs.batch import check_many
    from finaudit.runs.discover import expand
    from finaudit.findings import at_or_above
    from finaudit.report.text import check_report

    o = _configured(ctx, options)
    lang = o["lang"]
    ledgers = list(ledgers) or o.get("ledgers") or []
    if not ledgers:
        run_guarded(lang, _no_ledgers)
    items = expand(ledgers)
    if o["annotate_path"] and len(items) > 1:
        _fail("--annotate 只能用于一个台账（标注的是该工作簿的副本）。" if lang == "zh"
              else "--annotate takes one ledger (it marks a copy of that workbook).")
    run_guarded(lang, lambda: _refuse_overwrites(o, items))
    with _progress(items, o["quiet"], lang) as advance:
        result = run_guarded(lang, lambda: check_many(items, profile=o["profile"], year=o["year"], jobs=o["jobs"],
                                                      progress=advance, draft_severity=o["draft_severity"],
                                                      memory_limit=o["memory_limit"], history=o["history"],
                                                      history_timeout=o["history_timeout"]))
    if not result.audited:
        _fail(_nothing_audited(result, lang))

    def write():
        try:
            write_outputs(result, lang, json_path=o["json_path"], html_path=o["html_path"],
                          annotate_path=o["annotate_path"], sarif_path=o["sarif_path"], csv_path=o["csv_path"])
        except OSError as exc:   # a folder where a file should go, no permission, disk full
            where = exc.filename or ""
            raise UsageError(f"无法写入“{where}”：{exc.strerror}。", f"Cannot write '{where}': {exc.strerror}.") from None

    run_guarded(lang, write)
    if not o["quiet"]:
        _echo(result.to_json() if o["fmt"] == "json" else check_report(result, lang, show_info=o["show_info"]))
    sys.exit(EXIT_FINDINGS if at_or_above(result.findings, o["fail_on"]) else EXIT_OK)


# check's option -> its key in the configuration file (outputs.<name> for output files)
CONFIGURABLE = {"profile": "profile", "year": "year", "fmt": "format", "fail_on": "fail_on", "lang": "lang",
                "show_info": "show_info", "quiet": "quiet", "jobs": "jobs", "history": "history",
                "history_timeout": "history_timeout", "draft_severity": "draft_severity",
                "memory_limit": "memory_limit", "json_path": "outputs.json", "html_path": "outputs.html", "annotate_path": "outputs.annotate",
                "sarif_path": "outputs.sarif", "csv_path": "outputs.csv"}


def _configured(ctx, options: dict) -> dict:
    """The options in force: a flag on the command line, else the configuration file, else the default."""
    from click.core import ParameterSource

    from finaudit.config import load

    lang = options["lang"]
    config = None if options["no_config"] else run_guarded(lang, lambda: load(options["config_path"]))
    out = dict(options, from_config=set(), config_file=None)
    if config is None:
        return out
    for name, key in CONFIGURABLE.items():
        if name not in options or ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT,
                                                                         ParameterSource.DEFAULT_MAP, None):
            continue
        section, _, sub = key.partition(".")
        value = (config.get(section) or {}).get(sub) if sub else config.get(section)
        if value is not None:
            out[name] = value
            out["from_config"].add(name)
    out["ledgers"] = config.get("ledgers")
    out["config_file"] = str(config.path)
    ctx.meta["finaudit.lang"] = out["lang"]
    return out


OUTPUT_OPTIONS = {"json_path": "--json", "html_path": "--html", "sarif_path": "--sarif", "csv_path": "--csv",
                  "annotate_path": "--annotate"}


def _refuse_overwrites(o: dict, items) -> None:
    """No output (flags or configuration) may be a ledger, a file of a ledger folder, the
    history, the configuration file or another output: checked before the audit starts."""
    from finaudit.runs.output_paths import check_outputs

    def label(name: str, flag: str) -> str:
        return f"[outputs] {flag[2:]}" if name in o["from_config"] else flag

    outputs = {label(name, flag): o[name] for name, flag in OUTPUT_OPTIONS.items()}
    check_outputs(outputs, items, history=o["history"], config=o["config_file"],
                  history_label="history" if "history" in o["from_config"] else "--history")


def _no_ledgers():
    raise UsageError("请指定要审计的台账（文件、文件夹或通配符），或在 finaudit.toml 中设置 ledgers。",
                     "Give the ledgers to audit (files, folders or globs), or set ledgers in finaudit.toml.")


def _nothing_audited(result, lang: str) -> str:
    """The one line when not a single ledger could be audited."""
    failed = result.failed
    if len(failed) == 1:
        return failed[0].error[lang]
    first = failed[0]
    return (f"{len(failed)} 个台账均无法审计；第一个：{first.error['zh']}" if lang == "zh"
            else f"None of the {len(failed)} ledgers could be audited; the first: {first.error['en']}")


def _printable(text) -> str:
    from finaudit.report.labels import printable
    return printable(text)


class _progress:
    """A progress bar on stderr while ledgers are audited: only on a terminal, never with
    --quiet, and not for a single ledger (it would flash and vanish)."""

    def __init__(self, items, quiet: bool, lang: str):
        self.shown = not quiet and len(items) > 1 and sys.stderr.isatty()
        self.items, self.lang, self.bar = items, lang, None

    def __enter__(self):
        if not self.shown:
            return None
        self.bar = click.progressbar(length=len(self.items), label="审计中" if self.lang == "zh" else "Auditing",
                                     file=sys.stderr, show_pos=True,
                                     item_show_func=lambda item: _printable(item.path.name) if item else "")
        self.bar.__enter__()
        return lambda item: self.bar.update(1, item)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False


@main.command()
@click.argument("document", type=click.Path(path_type=str))
@click.option("--base", type=click.Path(path_type=str, file_okay=False),
              help="Folder the document's relative ledger paths are taken from (default: the working directory).")
@click.option("--jobs", "-j", type=click.IntRange(min=1),
              help="Audit this many ledgers at once, in worker processes (default: one per core from "
                   "16 ledgers on, else 1).")
@LANG
def verify(document, base, jobs, lang):
    """Re-run the audit that DOCUMENT (a --json findings file) records and confirm it finds the same.

    The inputs, profiles, year and options come from the document's run manifest. Exit 0
    when every finding is identical, 1 when they differ (each difference is listed), 2
    when the audit cannot be re-run (a ledger is gone, the file is not a findings document).
    """
    from finaudit.runs.verify import verify as run_verify
    from finaudit.report.records import verification_report

    outcome = run_guarded(lang, lambda: run_verify(document, jobs=jobs, base=base))
    _echo(verification_report(outcome, lang))
    sys.exit(EXIT_OK if outcome.identical else EXIT_FINDINGS)


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=str, dir_okay=False))
@click.option("--diff", nargs=2, metavar="RUN_A RUN_B",
              help="Show what changed from RUN_A to RUN_B (run numbers or id prefixes).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--timeout", type=_Seconds(), default=120.0, show_default=True,
              help="Seconds to wait while a run writes the history file.")
@LANG
def history(path, diff, fmt, timeout, lang):
    """List the runs recorded in the history file PATH (default: history in finaudit.toml).

    With --diff RUN_A RUN_B: the findings new in RUN_B, resolved since RUN_A, and updated.
    """
    from finaudit.runs import history as history_mod
    from finaudit.config import load
    from finaudit.report.records import diff_report, runs_table

    if path is None:
        config = run_guarded(lang, load)
        path = config.get("history") if config else None
        if not path:
            _fail("请指定历史文件，或在 finaudit.toml 中设置 history。" if lang == "zh"
                  else "Give the history file, or set history in finaudit.toml.")
    if diff:
        outcome = run_guarded(lang, lambda: history_mod.diff(path, diff[0], diff[1], timeout=timeout))
        if fmt == "json":
            click.echo(_json({"a": outcome.a, "b": outcome.b, "new": outcome.new, "resolved": outcome.resolved,
                              "updated": [{"before": x, "after": y} for x, y in outcome.updated],
                              "unchanged": outcome.unchanged}))
        else:
            _echo(diff_report(outcome, lang))
        return
    recorded = run_guarded(lang, lambda: history_mod.runs(path, timeout=timeout))
    _echo(_json(recorded) if fmt == "json" else runs_table(recorded, lang))


@main.group(invoke_without_command=True)
@LANG
@click.pass_context
def rules(ctx, lang):
    """The rule catalogue with its legal basis (`finaudit rules show ID` for one rule)."""
    if ctx.invoked_subcommand is not None:
        return
    from finaudit.audit.catalogue import load_rules
    from finaudit.report.labels import table

    catalogue = run_guarded(lang, load_rules)
    zh = lang == "zh"
    headers = ["规则", "级别", "名称", "依据"] if zh else ["rule", "severity", "title", "basis"]
    rows = [[r.id, r.severity, r.title[lang], f"{r.basis['document']} {r.basis['clause']}"] for r in catalogue.values()]
    click.echo(table(headers, rows))


@rules.command("show")
@click.argument("rule_id")
@LANG
def rules_show(rule_id, lang):
    """Everything about one rule: its clause, what it measures, parameters per profile."""
    from finaudit.audit.catalogue import get_rule
    from finaudit.authoring.docs import rule_text

    rule = run_guarded(lang, lambda: get_rule(rule_id))
    click.echo(rule_text(rule, lang))


@main.command()
@click.option("--year", type=int, help="Show only the values in force in this fiscal year.")
@LANG
def profiles(year, lang):
    """Jurisdiction profiles and the parameter values in force per year, with sources."""
    from finaudit.authoring.docs import profiles_text

    click.echo(run_guarded(lang, lambda: profiles_text(lang, year)))


@main.command()
@click.argument("out", type=click.Path(path_type=str))
@LANG
def template(out, lang):
    """Write a blank ledger workbook OUT.xlsx generated from the schemas."""
    from finaudit.authoring.template import write_template

    path = run_guarded(lang, lambda: write_template(out, lang=lang))
    _echo(f"已写出空白台账：{_printable(path)}" if lang == "zh" else f"Blank ledger written: {_printable(path)}")
