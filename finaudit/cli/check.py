"""`finaudit check` and `finaudit validate`: options (flags over the configuration file over
defaults), the refusal to write over an input, the progress bar and the outputs written."""
from __future__ import annotations

import sys
import threading
import time

import click

from finaudit import __version__
from finaudit.cli.base import EXIT_FINDINGS, EXIT_OK, LANG, Seconds, echo, fail, json_text, main, run_guarded
from finaudit.config import load as load_config
from finaudit.errors import UsageError, os_reason
from finaudit.findings import at_or_above, sort_key
from finaudit.report.labels import printable

# Each command imports the stages it runs when it runs: `finaudit --help` and a mistyped
# option stay fast at start-up, without pandas or DuckDB.


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
    from finaudit.report.text import finding_line, sheets_table

    loaded = run_guarded(lang, lambda: load(ledger))
    findings = sorted(loaded.findings, key=sort_key)
    sheets = [s.summary() for s in loaded.sheets.values()]
    if fmt == "json":
        doc = {"finaudit_version": __version__, "ledger": str(loaded.path), "sheets": sheets,
               "findings": [f.to_dict() for f in findings]}
        click.echo(json_text(doc))
    else:
        echo(("台账：" if lang == "zh" else "Ledger: ") + printable(loaded.path))
        echo(sheets_table(sheets, lang))
        echo("")
        if findings:
            echo(f"发现 {len(findings)} 项问题：" if lang == "zh" else f"{len(findings)} findings:")
            for finding in findings:
                echo(finding_line(finding, lang))
        else:
            echo("所有行均有效。" if lang == "zh" else "Every row is valid.")
    sys.exit(EXIT_FINDINGS if findings else EXIT_OK)


FAIL_ON = ("violation", "warning", "info", "never")


def write_outputs(result, lang, *, json_path=None, html_path=None, annotate_path=None, sarif_path=None,
                  csv_path=None) -> None:
    """Writes every output file asked for; folders are created as needed. Each file is
    written all at once or not at all (atomic.py): a failure leaves the previous one as it
    was and raises atomic.OutputError naming it."""
    if json_path:
        result.write_json(json_path)
    if html_path:
        from finaudit.report.html import write_html
        write_html(result, html_path, lang=lang)
    if annotate_path:
        from finaudit.report.annotate import annotate_workbook
        annotate_workbook(result, annotate_path, lang=lang)
    if sarif_path:
        from finaudit.report.sarif import write_sarif
        write_sarif(result, sarif_path, lang=lang)
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
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True,
              help="Where the rules run: DuckDB on this machine, or Apache Spark (needs pyspark and Java: "
                   "pip install --require-hashes -r requirements-spark.txt).")
@click.option("--spark-master", help="The Spark master to run on with --engine spark (default: local[*], every "
                                     "core of this machine; e.g. spark://host:7077, yarn).")
@click.option("--draft-severity", type=click.Choice(["violation", "warning", "info"]),
              help="Severity of what the pre-audit of draft budgets (口径 预算) finds (default: warning, "
                   "or what the profile says).")
@click.option("--history", type=click.Path(path_type=str, dir_okay=False),
              help="Record this run and its findings in a history file (DuckDB; created if missing) and "
                   "mark each finding new, unchanged or updated against the previous run over the same regions.")
@click.option("--history-timeout", type=Seconds(), default=120.0, show_default=True,
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
    from finaudit.intake.isolation import forget_prefetch, prefetch, warm_up
    from finaudit.runs.discover import expand, parsed_here

    o = _configured(ctx, options)
    lang = o["lang"]
    ledgers = list(ledgers) or o.get("ledgers") or []
    if not ledgers:
        run_guarded(lang, _no_ledgers)
    items = expand(ledgers)
    if parsed_here(items, o["jobs"]):
        warm_up()   # for start-up: the parse server imports the readers while this process imports the audit
        if len(items) == 1 and items[0].error is None:
            prefetch(items[0].path)     # and parses the one ledger meanwhile
    try:
        _check(o, items)
    finally:
        forget_prefetch()               # if the audit never asked for it (refused options, an interruption)


def _check(o: dict, items) -> None:
    """check's audit of `items` with the options in force `o`, its outputs and its exit."""
    from finaudit.report.text import check_report
    from finaudit.runs.batch import check_many

    lang = o["lang"]
    if o["annotate_path"] and len(items) > 1:
        fail("--annotate 只能用于一个台账（标注的是该工作簿的副本）。" if lang == "zh"
             else "--annotate takes one ledger (it marks a copy of that workbook).")
    run_guarded(lang, lambda: _refuse_overwrites(o, items))
    status = _status(lang, shown=not o["quiet"] and len(items) == 1 and sys.stderr.isatty())
    with _progress(items, o["quiet"], lang) as advance, status:
        result = run_guarded(lang, lambda: check_many(items, profile=o["profile"], year=o["year"], jobs=o["jobs"],
                                                      progress=advance, stage=status.stage,
                                                      draft_severity=o["draft_severity"],
                                                      memory_limit=o["memory_limit"], history=o["history"],
                                                      history_timeout=o["history_timeout"],
                                                      engine=o["engine"], spark_master=o["spark_master"],
                                                      release_parser=True))
        if not result.audited:
            status.close()
            fail(_nothing_audited(result, lang))
        status.stage("write")
        run_guarded(lang, lambda: _write(result, lang, o))
    if not o["quiet"]:
        echo(result.to_json() if o["fmt"] == "json" else check_report(result, lang, show_info=o["show_info"]))
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


    lang = options["lang"]
    config = None if options["no_config"] else run_guarded(lang, lambda: load_config(options["config_path"]))
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


def _write(result, lang: str, o: dict) -> None:
    try:
        write_outputs(result, lang, json_path=o["json_path"], html_path=o["html_path"],
                      annotate_path=o["annotate_path"], sarif_path=o["sarif_path"], csv_path=o["csv_path"])
    except OSError as exc:   # a folder where a file should go, no permission, disk full
        where = exc.filename or ""
        raise UsageError(f"无法写入“{where}”：{os_reason(exc, 'zh')}。",
                         f"Cannot write '{where}': {os_reason(exc, 'en')}.") from None


class _status:
    """One line on stderr while a single ledger is audited, from the second second on: what
    the run is doing (reading the ledger, running the rules, writing the outputs) and for how
    long. Only on a terminal and never with --quiet; the line is cleared when the run ends."""

    DELAY, TICK = 2.0, 0.2
    LABELS = {"zh": {"read": "读取台账", "rules": "运行审计规则", "write": "写出结果"},
              "en": {"read": "reading the ledger", "rules": "running the rules", "write": "writing the outputs"}}

    def __init__(self, lang: str, shown: bool, stream=None):
        self.lang, self.shown, self.stream = lang, shown, stream or sys.stderr
        self.current, self.width, self.started = "read", 0, time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True) if shown else None

    def stage(self, name: str) -> None:
        self.current = name

    def __enter__(self):
        if self.thread is not None:
            self.thread.start()
        return self

    def _loop(self):
        while not self.done.wait(self.TICK):
            elapsed = time.monotonic() - self.started
            if elapsed >= self.DELAY:
                text = (f"审计中：{self.LABELS['zh'][self.current]}…… {elapsed:.0f} 秒" if self.lang == "zh"
                        else f"Auditing: {self.LABELS['en'][self.current]}... {elapsed:.0f} s")
                self.width = max(self.width, len(text) * 2)     # CJK characters are two columns wide
                self.stream.write("\r" + text + " " * 4)
                self.stream.flush()

    def close(self):
        if self.thread is not None and not self.done.is_set():
            self.done.set()
            self.thread.join()
            if self.width:
                self.stream.write("\r" + " " * self.width + "\r")
                self.stream.flush()

    def __exit__(self, *exc):
        self.close()
        return False


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
                                     item_show_func=lambda item: printable(item.path.name) if item else "")
        self.bar.__enter__()
        return lambda item: self.bar.update(1, item)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)
        return False
