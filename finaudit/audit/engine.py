"""Running the rules: the ledger's valid rows become DuckDB tables, each rule's SQL runs
with bound parameters per profile, and every result row becomes a finding or a pass."""
from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from functools import partial
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb

from finaudit.audit import profiles as profiles_mod
from finaudit.audit.bound import general_budget_sources, parameter_maps
from finaudit.audit.catalogue import Rule, check_draft_severity, load_rules
from finaudit.audit.evaluations import (concat_evaluations, evaluated_subjects, rejected_subjects,
                                         withhold_on_rejected_rows)
from finaudit.audit.outcomes import missing_sheets_finding, profile_of, reported, to_finding
from finaudit.audit.queries import prepare_rules, run_rule
from finaudit.audit.session import (AuditConnection, Cursors, create_views, insert_frame, insert_sheets,
                                    out_of_memory)
from finaudit.audit.targets import plan_targets
from finaudit.errors import LedgerError, UsageError
from finaudit.findings import Finding, sort_key
from finaudit.intake import native as native_mod
from finaudit.intake import native_book
from finaudit.intake import spark_native      # pyspark itself is imported when Spark runs
from finaudit.intake.isolation import stop_server, warm_up
from finaudit.intake.ledger import load
from finaudit.intake.locations import is_url, location
from finaudit.intake.model import Ledger
from finaudit.intake.sheets import EXCEL_SUFFIXES, OTHER_WORKBOOK_SUFFIXES
from finaudit.intake.schema import load_schemas


ENGINES = ("duckdb", "spark")


WORKBOOK_OR_TEXT_SUFFIXES = EXCEL_SUFFIXES | OTHER_WORKBOOK_SUFFIXES | {".csv", ".txt"}


@dataclass
class LedgerAudit:
    """What the rules found in one ledger, for runs/ to make a Result of: the ledger as
    loaded, its findings, every subject evaluated (passes included) and the profiles used."""
    ledger: Ledger
    findings: list[Finding]
    evaluations: "pandas.DataFrame"    # one row per subject evaluated (EVALUATION_COLUMNS), passes included
    region_profiles: dict[str, str]
    years: list[int]
    started_at: str


# The sheets whose years and regions are the run's subjects: the fiscal and indicators
# sheets too, so a province's row there (the 4% of GDP) or a plan indicator of a year the
# budget does not reach is still audited, never silently passed over.
_SUBJECT_SHEETS = ("budget", "enrollment", "surcharge", "salaries", "fiscal", "indicators")


def _distinct(ask, column: str) -> list:
    union = " UNION ALL ".join(f"SELECT {column} FROM {sheet}" for sheet in _SUBJECT_SHEETS)
    rows = ask(f"SELECT DISTINCT {column} FROM ({union}) AS subjects ORDER BY 1")
    return [r[0] for r in rows if r[0] is not None]


def _ledger_years(ask) -> list[int]:
    return _distinct(ask, "year")


def _ledger_regions(ask) -> list[str]:
    return _distinct(ask, "region_code")


def _asker(con, backend=None):
    """Where the audit's small questions of the ledger (its years, regions, whether it has a
    draft) are asked: Spark when the ledger was read there, else the DuckDB tables."""
    if backend is not None and backend.ledger_on_spark:
        return backend.ask
    return lambda sql: con.execute(sql).fetchall()


def spark_session(engine: str, spark=None, spark_master: str | None = None):
    """The SparkSession a run on `engine` uses, `spark` or one started on `spark_master`;
    None on DuckDB. An unknown engine, or Spark's options given to DuckDB, are refused."""
    if engine not in ENGINES:
        raise UsageError(f"未知的引擎“{engine}”。可选：{'、'.join(ENGINES)}。",
                         f"Unknown engine '{engine}'. Valid: {', '.join(ENGINES)}.")
    if engine != "spark":
        if spark is not None or spark_master is not None:
            raise UsageError("spark 与 spark_master 只用于 Spark 引擎（engine=\"spark\"）。",
                             "spark and spark_master apply to the Spark engine only (engine=\"spark\").")
        return None
    if spark is None:
        # here, not at the top: start-up of every DuckDB run stays free of pyspark (an optional extra)
        from finaudit.audit.spark import session
        spark = session(spark_master)
    return spark


def check(path, profile: str | None = None, year: int | None = None, rules: dict[str, Rule] | None = None,
          native: bool | None = None, memory_limit: str | None = None,
          draft_severity: str | None = None, stage=None, engine: str = "duckdb", spark=None,
          spark_master: str | None = None, release_parser: bool = False) -> LedgerAudit:
    """Validates a ledger and runs every rule; returns the findings with the run's facts.
    `native`: load a Parquet ledger straight into DuckDB (native.py); None decides by the files.
    `memory_limit` (e.g. "4GB") caps DuckDB's memory: what does not fit goes to a temporary
    folder, removed afterwards (a national ledger on a laptop); default DuckDB's, 80% of RAM.
    `draft_severity` gives the failures of the draft pre-audit (rules of kind draft) that
    severity instead of the rule's or profile's; notes that could not be evaluated stay info.
    `stage(name)` is told what the audit turns to: "read" (the ledger loads), "rules".
    `engine="spark"` runs the rules on Apache Spark (audit/spark.py): on `spark`, a
    SparkSession, or one started on `spark_master` (default local[*]). `release_parser`:
    the parse server is stopped once the file is read (the last file of a command)."""
    started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    if Path(path).suffix.lower() in WORKBOOK_OR_TEXT_SUFFIXES:
        warm_up()                   # the parse server starts while the rules load
    rules = rules if rules is not None else load_rules()
    if profile is not None:
        profiles_mod.get(profile)
    check_draft_severity(draft_severity)
    spark = spark_session(engine, spark, spark_master)
    where = _where(path, engine)
    # DuckDB releases the GIL while a query runs: the rules are prepared (on a connection of
    # their own) while the sheets load (a Parquet ledger: while it is read), and the findings
    # of one rule are built while the next rule's query runs. The audit's connection stays in
    # this thread.
    with ThreadPoolExecutor(max_workers=1) as pool, \
            (tempfile.TemporaryDirectory(prefix="finaudit-") if memory_limit else contextlib.nullcontext()) as spill:
        # A workbook is parsed first (in a child process), DuckDB set up after: see AuditConnection.
        audit_con = AuditConnection(pool, partial(prepare_rules, rules), memory_limit, spill)

        def after_read() -> None:
            if release_parser:      # its 115 MB of readers would count beside the audit's peak
                stop_server()
            audit_con()

        try:
            if not _parsed_first(Path(path), memory_limit, native):
                audit_con()
            if stage:
                stage("read")
            sheets = None
            if engine == "spark" and native is not False:     # Spark reads a Parquet ledger itself
                sheets = spark_native.parquet_sheets(spark, where)
            ledger = _load(audit_con, Path(path), native, after_read) if sheets is None else None
            after_read()
            con = audit_con()
            audit_con.prepared.result()
            if engine == "duckdb":
                if stage:
                    stage("rules")
                return _audit(con, ledger, rules, profile, year, started_at, pool, draft_severity)
            from finaudit.audit.spark import SparkRules   # here: start-up without pyspark (see above)
            if sheets is None:
                _audit_years(_asker(con), ledger, year)     # refused before the ledger is copied to Spark
                backend = SparkRules(spark, con, rules)
            else:
                if year is not None:     # refused before Spark reads the ledger: its year cells alone
                    _one_year(year, sorted(spark_native.years_written(spark, where, sheets, _SUBJECT_SHEETS)), written=True)
                backend = _read_on_spark(spark, con, rules, where, sheets)
                ledger = backend.ledger
            try:
                if stage:
                    stage("rules")
                return _audit(con, ledger, rules, profile, year, started_at, pool, draft_severity, backend)
            finally:
                backend.close()
        finally:
            audit_con.close()       # before its spill folder goes
            if release_parser:
                stop_server()       # a ledger refused, or not parsed in a child


def _where(path, engine: str):
    """The ledger's location: a Path, or for the Spark engine a URL Spark reads (hdfs://, s3a://,
    file://); DuckDB reads files of this machine only, and says so."""
    if not is_url(str(path)):
        return Path(path)
    if engine != "spark":
        raise UsageError(f"“{path}”是一个 URL 地址：只有 Spark 引擎（--engine spark）能读取，DuckDB 引擎只读取本机的文件或文件夹。",
                         f"'{path}' is a URL, which only the Spark engine (--engine spark) reads; the DuckDB "
                         "engine reads files and folders of this machine.")
    return location(str(path))


def _read_on_spark(spark, con, rules, where, sheets):
    """SparkRules over a ledger read and validated on Spark (intake/spark_native.py), in the
    session the rules then run in; each sheet's table typed as DuckDB's (from `con`)."""
    from finaudit.audit.spark import SparkRules   # here: start-up without pyspark (see check)

    types = {name: [(c, t) for c, t, *_ in con.execute(f'DESCRIBE "{name}"').fetchall()] for name in load_schemas()}
    session = spark.newSession()
    ledger, cached = spark_native.load(session, where, sheets, types)
    backend = SparkRules(spark, None, rules, session=session, cached=cached)
    backend.ledger, backend.ledger_on_spark = ledger, True
    return backend


def _audit_years(ask, ledger: Ledger, year: int | None) -> list[int]:
    """The years to audit; a ledger that cannot be audited, or a year it lacks, is refused."""
    _require_audit_sheets(ledger)
    years = _ledger_years(ask)
    return years if year is None else _one_year(year, years)


def _one_year(year: int, years: list[int], written: bool = False) -> list[int]:
    """[year], if `years` (the valid rows' years; `written`: the year cells', before the rows are checked) hold it."""
    if year not in years:
        listed = "年度列中的年度" if written else "已有年度"
        raise UsageError(f"台账中没有{year}年的数据。{listed}：{'、'.join(map(str, years)) or '无'}。",
                         f"The ledger has no data for {year}. Years {'in its year cells' if written else 'present'}: "
                         f"{', '.join(map(str, years)) or 'none'}.")
    return [year]


def _audit(con, ledger: Ledger, rules: dict[str, Rule], profile: str | None, year: int | None, started_at: str,
           pool, draft_severity: str | None = None, backend=None) -> LedgerAudit:
    """The rules run on the loaded ledger; `pool` builds findings beside the queries.
    `backend` (spark.SparkRules) runs views.sql and the rules instead of DuckDB."""
    # On Spark the ledger's rows stay there: only these few values come to the driver
    ask = _asker(con, backend)
    years = _audit_years(ask, ledger, year)
    regions = _ledger_regions(ask)
    region_profiles = {r: (profile or profiles_mod.most_specific(r)) for r in regions}
    (backend.create_views if backend else partial(create_views, con))(
        general_budget_sources(region_profiles, years), plan_targets(region_profiles, years))

    rejected = rejected_subjects(ledger)
    # One query per rule for every region: the parameters carry each region's profile.
    maps = parameter_maps(region_profiles, years)
    findings = list(ledger.findings)
    evaluations = []

    def results(rule: Rule, table):
        table = withhold_on_rejected_rows(rule, table, rejected)
        found = [to_finding(rule, row, profile_of(row, region_profiles, profile), ledger, draft_severity)
                 for row in reported(table)]
        return evaluated_subjects(rule, table, region_profiles, profile), [(f.fingerprint, f) for f in found]

    unique = {}
    for finding in findings:
        unique.setdefault(finding.fingerprint, finding)
    # A draft rule has nothing to pre-audit in a ledger without a draft (口径 预算): a sheet it
    # would also need is then not worth a "not evaluated" note.
    has_draft = ask("SELECT count(*) FROM budget WHERE basis = 'budget'")[0][0] > 0
    with Cursors(con) as cursors:
        pending = []
        for rule in rules.values():
            if rule.stage != "sql":
                continue
            missing = [s for s in rule.sheets if s not in ledger.sheets]
            if missing and rule.kind == "draft" and not has_draft:
                continue
            if missing:         # one note for the rule, not one per region and year
                note = missing_sheets_finding(rule, missing)
                unique.setdefault(note.fingerprint, note)
                continue
            params = {"regions": regions, "years": years, "region_names": profiles_mod.region_names(),
                      **{p: maps[p] for p in rule.parameters}}
            bound = {k: v for k, v in params.items() if k in rule.bound}
            # on Spark too two rules run side by side: each is a job of its own there
            query = (cursors.submit(run_rule, rule, bound) if backend is None
                     else cursors.submit(lambda _, rule=rule, bound=bound: backend.run(rule, bound)))
            pending.append(pool.submit(lambda rule=rule, query=query: results(rule, query.result())))
        for future in pending:               # in rule order: the result does not depend on timing
            evaluation, found = future.result()
            evaluations.append(evaluation)
            for fingerprint, finding in found:
                unique.setdefault(fingerprint, finding)
    return LedgerAudit(ledger=ledger, findings=sorted(unique.values(), key=sort_key),
                       evaluations=concat_evaluations(evaluations),
                       region_profiles=region_profiles, years=years, started_at=started_at)


def _parsed_first(path: Path, memory_limit: str | None, native: bool | None) -> bool:
    """Whether the ledger is parsed (in a child process) before DuckDB is set up: a workbook
    or text file read the general way; --memory-limit is tried on DuckDB at once."""
    return native is None and memory_limit is None and path.suffix.lower() in WORKBOOK_OR_TEXT_SUFFIXES


def _load(audit_con, path: Path, native: bool | None, after_read=None) -> Ledger:
    """The ledger, its valid rows in the tables of `audit_con`'s connection. `native` None: a Parquet ledger
    by SQL in DuckDB (native.py), anything else through pandas (ledger.py); True: a workbook's plain sheets
    by SQL too (native_book.py: no faster at 1M rows, 25% more CPU: not the default); False: pandas always."""
    if native is None and path.suffix.lower() in WORKBOOK_OR_TEXT_SUFFIXES:
        # Each sheet inserted while the next loads (DuckDB lets go of the GIL): 0.12 s at 1M rows.
        with ThreadPoolExecutor(1, thread_name_prefix="finaudit-insert") as inserting:
            inserts = []
            ledger = load(path, after_read=after_read or audit_con,
                          loaded=lambda sheet: inserts.append(inserting.submit(_insert_on_cursor, audit_con(), sheet)))
            for insert in inserts:
                insert.result()
        return ledger
    con = audit_con()
    if native is True and path.suffix.lower() in EXCEL_SUFFIXES and path.is_file():
        try:
            return native_book.load_into(con, path, insert_frame)
        except duckdb.OutOfMemoryException as exc:
            raise out_of_memory(path.name, exc) from None
    try:
        if native is None:
            native = native_mod.can_load(con, path)
        if native:
            return native_mod.load_into(con, path)
    except duckdb.OutOfMemoryException as exc:
        raise out_of_memory(path.name, exc) from None
    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
        # A damaged or truncated Parquet file: DuckDB says which and why.
        first = " ".join(str(exc).split())[:300]
        raise LedgerError(f"无法读取 Parquet 台账“{path.name}”：文件已损坏或不完整（{first}）。",
                          f"Cannot read the Parquet ledger '{path.name}': the file is damaged or incomplete "
                          f"({first}).") from None
    return insert_sheets(con, load(path))


def _insert_on_cursor(con, sheet) -> None:
    with con.cursor() as cursor:        # a DuckDB connection serves one thread at a time
        insert_frame(cursor, sheet)


def _require_audit_sheets(ledger: Ledger) -> None:
    """A single CSV or Parquet file validates on its own, but an audit needs budget and enrollment."""
    budget = ledger.sheets.get("budget")
    if budget is not None and budget.rows_read == 0:
        # Headers only: "0 violations" would read as compliant to a scheduled run.
        raise LedgerError(f"工作表“{budget.source}”没有数据行，无法审计。",
                          f"Sheet '{budget.source}' has no data rows; there is nothing to audit.")
    if budget is not None and budget.rows_valid == 0:
        # Every row refused: the rules would see an empty ledger, and "缺口 0.00 元" would read as
        # compliant. Say why with the first refused cell, and where the full list is.
        refused = [f for f in ledger.findings if f.evidence and f.evidence[0].sheet == budget.source
                   and f.rule_id.startswith("SCHEMA_")]
        first = min(refused, key=sort_key) if refused else None
        zh_first = f"第一处：{first.message['zh']}" if first else ""
        en_first = f" First: {first.message['en']}" if first else ""
        raise LedgerError(
            f"工作表“{budget.source}”的 {budget.rows_read} 行数据全部未通过校验，无法审计。{zh_first}"
            f"用 finaudit validate 查看每个单元格的问题。",
            f"None of the {budget.rows_read} data rows of sheet '{budget.source}' passed validation, so there is "
            f"nothing to audit.{en_first} Run finaudit validate to see every cell.")
    for schema in load_schemas().values():
        if schema.required and schema.name not in ledger.sheets:
            raise LedgerError(
                f"审计需要工作表“{schema.aliases[0]}”，但“{ledger.path.name}”中没有。"
                f"请用工作簿或包含各表文件的文件夹。",
                f"An audit needs the '{schema.name}' sheet, which '{ledger.path.name}' does not have; "
                "give a workbook or a folder with one file per sheet.",
            )
