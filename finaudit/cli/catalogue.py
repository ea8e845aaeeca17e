"""The other commands: `verify` and `history` (recorded runs), `rules` and `profiles` (the
law as finaudit holds it), `template` (a blank ledger)."""
from __future__ import annotations

import sys

import click

from finaudit.cli.base import EXIT_FINDINGS, EXIT_OK, LANG, Seconds, echo, fail, json_text, main, run_guarded
from finaudit.config import load as load_config
from finaudit.report.labels import SEVERITY_LABEL, printable, table

# Each command imports the stages it runs when it runs: `finaudit --help` and a mistyped
# option stay fast at start-up, without pandas or DuckDB.


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
    echo(verification_report(outcome, lang))
    sys.exit(EXIT_OK if outcome.identical else EXIT_FINDINGS)


@main.command()
@click.argument("path", required=False, type=click.Path(path_type=str, dir_okay=False))
@click.option("--diff", nargs=2, metavar="RUN_A RUN_B",
              help="Show what changed from RUN_A to RUN_B (run numbers or id prefixes).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--timeout", type=Seconds(), default=120.0, show_default=True,
              help="Seconds to wait while a run writes the history file.")
@LANG
def history(path, diff, fmt, timeout, lang):
    """List the runs recorded in the history file PATH (default: history in finaudit.toml).

    With --diff RUN_A RUN_B: the findings new in RUN_B, resolved since RUN_A, and updated.
    """
    from finaudit.runs import history as history_mod
    from finaudit.report.records import diff_report, runs_table

    if path is None:
        settings = run_guarded(lang, load_config)
        path = settings.get("history") if settings else None
        if not path:
            fail("请指定历史文件，或在 finaudit.toml 中设置 history。" if lang == "zh"
                 else "Give the history file, or set history in finaudit.toml.")
    if diff:
        outcome = run_guarded(lang, lambda: history_mod.diff(path, diff[0], diff[1], timeout=timeout))
        if fmt == "json":
            click.echo(json_text({"a": outcome.a, "b": outcome.b, "new": outcome.new, "resolved": outcome.resolved,
                                  "updated": [{"before": x, "after": y} for x, y in outcome.updated],
                                  "unchanged": outcome.unchanged}))
        else:
            echo(diff_report(outcome, lang))
        return
    recorded = run_guarded(lang, lambda: history_mod.runs(path, timeout=timeout))
    echo(json_text(recorded) if fmt == "json" else runs_table(recorded, lang))


@main.group(invoke_without_command=True)
@LANG
@click.pass_context
def rules(ctx, lang):
    """The rule catalogue with its legal basis (`finaudit rules show ID` for one rule)."""
    if ctx.invoked_subcommand is not None:
        return
    from finaudit.audit.catalogue import load_rules

    catalogue = run_guarded(lang, load_rules)
    zh = lang == "zh"
    headers = ["规则", "级别", "名称", "要求"] if zh else ["rule", "severity", "title", "requirement"]
    rows = [[r.id, SEVERITY_LABEL[lang][r.severity], r.title[lang], r.requirement[lang]] for r in catalogue.values()]
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
    echo(f"已写出空白台账：{printable(path)}" if lang == "zh" else f"Blank ledger written: {printable(path)}")
