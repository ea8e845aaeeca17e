"""Running the rules: the ledger's valid rows become DuckDB tables, each rule's SQL runs
with bound parameters per profile, and every result row becomes a finding or a pass."""
from __future__ import annotations

import datetime as dt
import functools
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from finaudit.audit import profiles as profiles_mod
from finaudit.errors import LedgerError, RuleError, UsageError
from finaudit.findings import Evidence, Finding, sort_key
from finaudit.intake.isolation import warm_up
from finaudit.intake.ledger import Ledger, load
from finaudit.audit.messages import render
from finaudit.intake.readers import EXCEL_SUFFIXES, OTHER_WORKBOOK_SUFFIXES
from finaudit.audit.catalogue import Rule, check_draft_severity, kind_of, load_rules, views_sql
from finaudit.intake.schema import load_schemas
from finaudit.intake.validate import exact_money_sql

EVIDENCE_LIMIT = 1000          # evidence rows per sheet listed with a finding; evidence_total keeps the count
NOTE_EVIDENCE_LIMIT = 5        # the same for a case that could not be evaluated (an info note)
_RESULT_COLUMNS: dict[str, list[str]] = {}   # rule id -> columns its SQL returns (seen by prepare_rules)
_PREPARED: dict[str, tuple[str, str]] = {}    # rule id -> (its SQL, views.sql) when prepared
# Money is exact decimal: sums of amounts like 100.10 + 200.20 must equal 300.30, or a
# year spending the same as the last would be reported as a fall of 0.00 yuan.
WORKBOOK_OR_TEXT_SUFFIXES = EXCEL_SUFFIXES | OTHER_WORKBOOK_SUFFIXES | {".csv", ".txt"}
_SQL_TYPES = {"year": "INTEGER", "count": "BIGINT", "money": "DECIMAL(38, 4)"}
_DUMMY = {"number": 1.0, "boolean": True, "list": ["x"]}


def connect(memory_limit: str | None = None, folder: str | None = None):
    """An in-memory DuckDB that never reaches for the network (DEPENDENCIES.md).

    With a memory limit (e.g. "4GB") it keeps to it. Given a `folder` too, the database is a
    file there and what does not fit goes there: tables written to a database file are
    compressed and can be dropped from memory and read again, which a national ledger
    needs (25M rows within 4GB, tests/bench/RESULTS.md: 66 s and 4.8 GiB this way, 95 s
    and 5.2 GiB spilling from an in-memory database)."""
    import os

    import duckdb

    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    if memory_limit is None:
        return duckdb.connect(config=config)
    database = os.path.join(folder, "audit.duckdb") if folder else ":memory:"
    if folder:
        config["temp_directory"] = folder
    if str(memory_limit).strip().startswith("-"):      # DuckDB would take it as "no limit"
        raise UsageError(f"内存上限“{memory_limit}”无效，应写成如 4GB、512MB。",
                         f"The memory limit '{memory_limit}' is not valid; write it like 4GB or 512MB.")
    try:
        con = duckdb.connect(database, config={**config, "memory_limit": str(memory_limit)})
    except duckdb.Error:
        raise UsageError(f"内存上限“{memory_limit}”无效，应写成如 4GB、512MB。",
                         f"The memory limit '{memory_limit}' is not valid; write it like 4GB or 512MB.") from None
    try:        # a limit of a few bytes leaves no room for even one query
        con.execute("SELECT current_setting('memory_limit')").fetchall()
    except duckdb.OutOfMemoryException:
        con.close()
        raise UsageError(f"内存上限“{memory_limit}”太小，连一条查询都无法运行；应至少为几十 MB，如 512MB、4GB。",
                         f"The memory limit '{memory_limit}' is too small to run a single query; give at least "
                         "some tens of MB, such as 512MB or 4GB.") from None
    return con


def create_tables(con) -> None:
    """One empty table per ledger sheet, typed from schemas/ (absent sheets stay empty), and
    param(p, region, year): the value of a bound parameter in force for a region in a year."""
    con.execute("CREATE MACRO param(p, region, yr) AS map_extract_value(map_extract_value(p, region), yr)")
    for sheet in load_schemas().values():
        columns = ", ".join(f'"{c.name}" {_SQL_TYPES.get(c.type, "VARCHAR")}' for c in sheet.columns)
        con.execute(f'CREATE TABLE "{sheet.name}" ({columns}, _row BIGINT)')


def _row_lists(rule: Rule) -> list[str]:
    return [c for c in _RESULT_COLUMNS.get(rule.id, []) if c.endswith("_rows")]


def _wrap(rule: Rule) -> str:
    """The rule's query, its evidence row lists cut in SQL to their first rows: none for a
    pass (only failures and notes are reported with evidence), a few for a note,
    EVIDENCE_LIMIT for a failure. Rules build the lists in any order; the n smallest row
    numbers come sorted (`min` with a count), without sorting whole lists: sorting every
    subject's list cost about as much as building it."""
    sql = rule.sql.strip().rstrip(";")
    lists = _row_lists(rule)
    if not lists:
        return sql
    cut = ", ".join(f"CASE WHEN outcome = 'pass' THEN NULL "
                    f"WHEN outcome = 'unevaluable' THEN list_aggregate({c}, 'min', $note_cap) "
                    f"ELSE list_aggregate({c}, 'min', $evidence_cap) END AS {c}" for c in lists)
    totals = ", ".join(f"len({c}) AS {c}_total" for c in lists)
    return f"SELECT * REPLACE ({cut}), {totals} FROM (\n{sql}\n)"


def _run(con, rule: Rule, params: dict):
    """The rule's result as an Arrow table (one row per subject evaluated)."""
    if rule.id not in _RESULT_COLUMNS:
        raise RuleError(f"规则 {rule.id} 尚未检查。", f"Rule {rule.id} was run before prepare_rules checked it.")
    if _row_lists(rule):
        params = {**params, "evidence_cap": EVIDENCE_LIMIT, "note_cap": NOTE_EVIDENCE_LIMIT}
    import duckdb

    try:
        return con.sql(_wrap(rule), params=params).to_arrow_table()
    except duckdb.OutOfMemoryException as exc:   # the ledger's size, not the rule's fault
        raise _out_of_memory(rule.id, exc) from None
    except (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.InvalidInputException,
            duckdb.InterruptException) as exc:
        # The query prepared (prepare_rules), so what fails now is this ledger's figures (a sum
        # past what DECIMAL(38, 4) holds, a division overflowing): the data's fault, not the file's.
        first = " ".join(str(exc).split())[:300]
        raise LedgerError(f"规则 {rule.id} 无法在本台账的数据上计算（{first}），请检查台账中过大或异常的数值。",
                          f"Rule {rule.id} cannot be computed on this ledger's figures ({first}); check the "
                          "ledger for amounts that are too large or otherwise odd.") from None
    except Exception as exc:  # duckdb raises many other types; each is a broken rule file
        first = str(exc).strip().splitlines()[0]
        raise RuleError(f"规则 rules/{rule.path.with_suffix('.sql').name} 的查询无法执行：{first}",
                        f"The query of rules/{rule.path.with_suffix('.sql').name} does not run: {first}") from None


def _dummy_params(rule: Rule) -> dict:
    registry = profiles_mod.parameter_registry()
    params = {"regions": ["000000"], "years": [2000]}
    for name in rule.parameters:
        params[name] = {"key": ["000000"], "value": [{"key": [2000], "value": [_DUMMY[registry[name]["type"]]]}]}
    return {k: v for k, v in params.items() if k in rule.bound}


def prepare_rules(rules: dict[str, Rule]) -> None:
    """Runs every rule once on an empty ledger: SQL that does not prepare stops here, named.
    A rule whose SQL this process has already prepared is not run again (a batch of a hundred
    workbooks prepares once)."""
    views = views_sql()
    todo = [r for r in rules.values() if r.stage == "sql" and _PREPARED.get(r.id) != (r.sql, views)]
    if not todo:
        return
    con = connect()
    create_tables(con)
    _create_views(con)
    for rule in todo:
        if rule.stage == "sql":
            try:
                cursor = con.execute(rule.sql.strip().rstrip(";"), _dummy_params(rule))
                _RESULT_COLUMNS[rule.id] = [d[0] for d in cursor.description]
                cursor.fetchall()
            except Exception as exc:  # duckdb raises many types; each is a broken rule file
                first = str(exc).strip().splitlines()[0]
                name = rule.path.with_suffix(".sql").name
                raise RuleError(f"规则 rules/{name} 的查询无法执行：{first}",
                                f"The query of rules/{name} does not run: {first}") from None
            _check_result_columns(rule)
            _PREPARED[rule.id] = (rule.sql, views)
    con.close()


def _check_result_columns(rule: Rule) -> None:
    """The columns every rule must return (rules/README.md); row lists must name a sheet."""
    columns = _RESULT_COLUMNS[rule.id]
    missing = [c for c in ("outcome", "region_code", "year") if c not in columns]
    unknown = [c for c in columns if c.endswith("_rows") and c[:-5] not in load_schemas()]
    if missing or unknown:
        name = rule.path.with_suffix(".sql").name
        what = missing or unknown
        raise RuleError(f"规则 rules/{name} 的结果列不符合约定：{'、'.join(what)}（见 rules/README.md）。",
                        f"The query of rules/{name} returns the wrong columns: {', '.join(what)} (see rules/README.md).")


def _out_of_memory(what: str, exc: Exception) -> UsageError:
    first = str(exc).strip().splitlines()[0]
    return UsageError(f"内存不足，无法完成 {what} 的计算（{first}）。请在内存更大的机器上运行，或按地区分批审计。",
                      f"Not enough memory to compute {what} ({first}); run on a machine with more memory, "
                      "or audit the ledger region by region.")


QUERY_THREADS = 2     # rule queries run side by side: most are too small for DuckDB to use every core
_CREATES = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?TABLE\s+(\w+)", re.IGNORECASE)


class _Cursors:
    """Threads that each query on a cursor of their own, so that DuckDB runs their queries
    side by side. Tables and macros are shared by every cursor; TEMP tables are not."""

    def __init__(self, con, workers: int = QUERY_THREADS):
        from concurrent.futures import ThreadPoolExecutor

        self._con, self._local, self._opened = con, threading.local(), []
        self._pool = ThreadPoolExecutor(max_workers=workers)

    def submit(self, fn, *args, after=()):
        """fn(cursor, *args) in a thread, once the futures `after` are done."""
        def task():
            for future in after:
                future.result()
            if not hasattr(self._local, "cursor"):
                self._local.cursor = self._con.cursor()
                self._opened.append(self._local.cursor)
            return fn(self._local.cursor, *args)
        return self._pool.submit(task)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pool.shutdown(wait=True)
        for cursor in self._opened:
            cursor.close()


def _create_views(con) -> None:
    """rules/views.sql, each table as soon as the tables it reads exist (two at a time)."""
    import duckdb

    sql = views_sql()
    if not sql.strip():
        return
    try:
        with _Cursors(con) as cursors:
            made = {}
            for statement in con.extract_statements(sql):
                body = re.sub(r"--[^\n]*", "", statement.query)
                after = [f for name, f in made.items() if re.search(rf"\b{name}\b", body)]
                future = cursors.submit(lambda cursor, query: cursor.execute(query), statement.query, after=after)
                created = _CREATES.search(body)
                made[created.group(1) if created else f"#{len(made)}"] = future
            for future in made.values():
                future.result()
    except duckdb.OutOfMemoryException as exc:
        raise _out_of_memory("rules/views.sql", exc) from None
    except Exception as exc:
        raise RuleError(f"rules/views.sql 无法执行：{str(exc).splitlines()[0]}",
                        f"rules/views.sql does not run: {str(exc).splitlines()[0]}") from None


@dataclass
class CheckResult:
    """What an audit found: findings, the passes behind the summary, and the run's facts."""
    ledger: Ledger
    findings: list[Finding]
    evaluations: "pandas.DataFrame"    # one row per subject evaluated (EVALUATION_COLUMNS), passes included
    region_profiles: dict[str, str]
    years: list[int]
    started_at: str
    rules: dict[str, Rule] = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        from finaudit.audit.summary import summarize
        return summarize(self)

    def to_dict(self) -> dict:
        from finaudit.runs.document import document
        return document(self)

    def to_json(self) -> str:
        from finaudit.runs.document import dumps
        return dumps(self.to_dict())


def _ledger_years(con) -> list[int]:
    rows = con.execute("SELECT DISTINCT year FROM (SELECT year FROM budget UNION ALL SELECT year FROM enrollment "
                       "UNION ALL SELECT year FROM surcharge UNION ALL SELECT year FROM salaries) ORDER BY year").fetchall()
    return [r[0] for r in rows if r[0] is not None]


def _ledger_regions(con) -> list[str]:
    rows = con.execute("SELECT DISTINCT region_code FROM (SELECT region_code FROM budget UNION ALL SELECT region_code "
                       "FROM enrollment UNION ALL SELECT region_code FROM surcharge UNION ALL SELECT region_code "
                       "FROM salaries) ORDER BY 1").fetchall()
    return [r[0] for r in rows if r[0] is not None]


def _parameter_maps(region_profiles: dict[str, str], years: list[int]) -> dict[str, dict]:
    """Each parameter as MAP(region -> MAP(year -> value in force under the region's profile)),
    over the ledger's years and the one before; a year with nothing in force has no key."""
    span = sorted(set(years) | {y - 1 for y in years})
    registry = profiles_mod.parameter_registry()
    maps = {}
    for name, spec in registry.items():
        per_profile = {}
        for pid in set(region_profiles.values()):
            keys, values = [], []
            for year in span:
                entry = profiles_mod.parameter(pid, name, year)
                if entry is not None:
                    keys.append(year)
                    values.append(float(entry["value"]) if spec["type"] == "number" else entry["value"])
            per_profile[pid] = {"key": keys, "value": values}
        regions = sorted(region_profiles)
        maps[name] = {"key": regions, "value": [per_profile[region_profiles[r]] for r in regions]}
    return maps


def check(path, profile: str | None = None, year: int | None = None, rules: dict[str, Rule] | None = None,
          native: bool | None = None, memory_limit: str | None = None,
          draft_severity: str | None = None) -> CheckResult:
    """Validates a ledger and runs every rule; returns the findings with the run's facts.
    `native`: load a Parquet ledger straight into DuckDB (native.py); None decides by the files.
    `memory_limit` (e.g. "4GB") caps DuckDB's memory: what does not fit goes to a temporary
    folder, removed afterwards (a national ledger on a laptop); default DuckDB's, 80% of RAM.
    `draft_severity` gives the failures of the draft pre-audit (rules of kind draft) that
    severity instead of the rule's or profile's; notes that could not be evaluated stay info."""
    started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    if Path(path).suffix.lower() in WORKBOOK_OR_TEXT_SUFFIXES:
        warm_up()                   # the parse server starts while the rules load and prepare
    rules = rules if rules is not None else load_rules()
    if profile is not None:
        profiles_mod.get(profile)
    check_draft_severity(draft_severity)
    # DuckDB releases the GIL while a query runs: the rules are prepared (on a connection of
    # their own) while the ledger loads, and the findings of one rule are built while the
    # next rule's query runs. The audit's connection stays in this thread.
    import contextlib
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool, \
            (tempfile.TemporaryDirectory(prefix="finaudit-") if memory_limit else contextlib.nullcontext()) as spill:
        prepared = pool.submit(prepare_rules, rules)
        con = connect(memory_limit, spill)
        try:
            create_tables(con)
            ledger = _load(con, Path(path), native)
            prepared.result()
            return _audit(con, ledger, rules, profile, year, started_at, pool, draft_severity)
        finally:
            con.close()             # before its spill folder goes


def _audit(con, ledger: Ledger, rules: dict[str, Rule], profile: str | None, year: int | None, started_at: str,
           pool, draft_severity: str | None = None) -> CheckResult:
    """The rules run on the loaded ledger; `pool` builds findings beside the queries."""
    _require_audit_sheets(ledger)
    _create_views(con)

    years = _ledger_years(con)
    if year is not None:
        if year not in years:
            raise UsageError(f"台账中没有{year}年的数据。已有年度：{'、'.join(map(str, years)) or '无'}。",
                             f"The ledger has no data for {year}. Years present: {', '.join(map(str, years)) or 'none'}.")
        years = [year]
    regions = _ledger_regions(con)
    region_profiles = {r: (profile or profiles_mod.most_specific(r)) for r in regions}

    rejected = _rejected_subjects(ledger)
    # One query per rule for every region: the parameters carry each region's profile.
    maps = _parameter_maps(region_profiles, years)
    findings = list(ledger.findings)
    evaluations = []

    def results(rule: Rule, table):
        table = _withhold_on_rejected_rows(rule, table, rejected)
        found = [_finding(rule, row, _profile_of(row, region_profiles, profile), ledger, draft_severity)
                 for row in _reported(table)]
        return _evaluations(rule, table, region_profiles, profile), [(f.fingerprint, f) for f in found]

    unique = {}
    for finding in findings:
        unique.setdefault(finding.fingerprint, finding)
    with _Cursors(con) as cursors:
        pending = []
        for rule in rules.values():
            if rule.stage != "sql":
                continue
            params = {"regions": regions, "years": years, **{p: maps[p] for p in rule.parameters}}
            query = cursors.submit(_run, rule, {k: v for k, v in params.items() if k in rule.bound})
            pending.append(pool.submit(lambda rule=rule, query=query: results(rule, query.result())))
        for future in pending:               # in rule order: the result does not depend on timing
            evaluation, found = future.result()
            evaluations.append(evaluation)
            for fingerprint, finding in found:
                unique.setdefault(fingerprint, finding)
    return CheckResult(ledger=ledger, findings=sorted(unique.values(), key=sort_key),
                       evaluations=_concat(evaluations),
                       region_profiles=region_profiles, years=years, started_at=started_at, rules=rules)


def _load(con, path: Path, native: bool | None) -> Ledger:
    """The ledger, its valid rows in the tables of `con`."""
    from finaudit.intake import native as native_mod

    import duckdb

    try:
        if native is None:
            native = native_mod.can_load(con, path)
        if native:
            return native_mod.load_into(con, path)
    except duckdb.OutOfMemoryException as exc:
        raise _out_of_memory(path.name, exc) from None
    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
        # A damaged or truncated Parquet file: DuckDB says which and why.
        first = " ".join(str(exc).split())[:300]
        raise LedgerError(f"无法读取 Parquet 台账“{path.name}”：文件已损坏或不完整（{first}）。",
                          f"Cannot read the Parquet ledger '{path.name}': the file is damaged or incomplete "
                          f"({first}).") from None
    ledger = load(path)
    for name, sheet in ledger.sheets.items():
        money = [c.name for c in sheet.schema.columns if c.type == "money" and c.name in sheet.frame.columns]
        exact = f" REPLACE ({', '.join(f'{exact_money_sql(_quoted(c))} AS {_quoted(c)}' for c in money)})" if money else ""
        con.register(f"{name}_in", sheet.frame)
        con.execute(f'INSERT INTO "{name}" BY NAME SELECT *{exact} FROM "{name}_in"')
        con.unregister(f"{name}_in")
    return ledger


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _require_audit_sheets(ledger: Ledger) -> None:
    """A single CSV or Parquet file validates on its own, but an audit needs budget and enrollment."""

    budget = ledger.sheets.get("budget")
    if budget is not None and budget.rows_read == 0:
        # Headers only: "0 violations" would read as compliant to a scheduled run.
        raise LedgerError(f"工作表“{budget.source}”没有数据行，无法审计。",
                          f"Sheet '{budget.source}' has no data rows; there is nothing to audit.")
    for schema in load_schemas().values():
        if schema.required and schema.name not in ledger.sheets:
            raise LedgerError(
                f"审计需要工作表“{schema.aliases[0]}”，但“{ledger.path.name}”中没有。"
                f"请用工作簿或包含各表文件的文件夹。",
                f"An audit needs the '{schema.name}' sheet, which '{ledger.path.name}' does not have; "
                "give a workbook or a folder with one file per sheet.",
            )


def _subject(row: dict) -> dict:
    return {k: row.get(k) for k in ("region_code", "region_name", "year", "level", "school_id")}


EVALUATION_COLUMNS = ("rule_id", "check", "outcome", "profile", "region_code", "region_name", "year", "level",
                      "school_id", "school_name", "actual", "required")


_EVALUATION_TYPES = {"year": "int64", "actual": "float64", "required": "float64"}   # the rest are text


def _evaluations(rule: Rule, table, region_profiles: dict[str, str], forced: str | None):
    """Every subject the rule evaluated (passes included), as an Arrow table of
    EVALUATION_COLUMNS; _concat makes the one DataFrame the summary and charts read."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows

    def column(name: str, source: str | None = None):
        kind = getattr(pa, _EVALUATION_TYPES.get(name, "string"))()
        source = source or name
        return table.column(source).cast(kind) if source in table.column_names else pa.nulls(n, kind)

    codes = column("region_code")
    if forced:
        profile = pa.array([forced] * n, pa.string())
    else:   # per distinct region: a province's reference rows have no profile of their own
        encoded = pc.dictionary_encode(codes).combine_chunks()
        names = [None if c is None else region_profiles.get(c) or profiles_mod.most_specific(c)
                 for c in encoded.dictionary.to_pylist()]
        profile = pa.array(names, pa.string()).take(encoded.indices)
    columns = {
        "rule_id": pa.array([rule.id] * n, pa.string()),
        "check": pc.fill_null(column("check", "check_name"), "main"),
        "outcome": column("outcome"), "profile": profile, "region_code": codes,
        **{c: column(c) for c in EVALUATION_COLUMNS if c not in ("rule_id", "check", "outcome", "profile",
                                                                  "region_code")},
    }
    return pa.table({c: columns[c] for c in EVALUATION_COLUMNS})


def _concat(tables):
    """One DataFrame of every rule's evaluations: money rounded to fen, years as nullable integers."""
    import pandas as pd
    import pyarrow as pa

    if not tables:
        return pd.DataFrame(columns=list(EVALUATION_COLUMNS))
    frame = pa.concat_tables(tables).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for col in ("actual", "required"):
        frame[col] = frame[col].round(2)
    return frame


REJECTED_ROWS_MESSAGE = {
    "zh": "{region_name}{year}年：台账中与此相关的行有未通过校验的（见“台账数据检查”），"
          "为免依据不完整的数据下结论，本项未评价。",
    "en": "{region_name} {year}: rows this rests on were rejected by validation (see the ledger data checks); "
          "not evaluated rather than judged on incomplete figures.",
}


def _rejected_subjects(ledger: Ledger) -> dict[str, set]:
    """(region_code, year) of every row rejected by validation, per sheet; None where unreadable
    (such a row could belong to any region or year)."""
    sheet_of = {sheet.source: name for name, sheet in ledger.sheets.items()}
    out: dict[str, set] = {}
    for finding in ledger.findings:
        if kind_of(finding.rule_id) == "schema" and finding.evidence:
            name = sheet_of.get(finding.evidence[0].sheet)
            out.setdefault(name, set()).add((finding.subject.get("region_code"), finding.subject.get("year")))
    return out


def _withhold_on_rejected_rows(rule: Rule, table, rejected: dict[str, set]):
    """A result resting on a region and year with rejected rows becomes not evaluable: a sum
    missing a row can pass or fail falsely. Rules comparing with the previous year
    (`compares_previous_year`) are withheld when that year has rejected rows too."""
    import pyarrow as pa

    sheets = [c[:-5] for c in _row_lists(rule)]
    marks = set().union(*(rejected.get(s, set()) for s in sheets)) if sheets else set()
    if not marks or rule.kind == "data":
        return table
    any_region = {y for r, y in marks if r is None}
    any_year = {r for r, y in marks if y is None}
    everything = (None, None) in marks

    def hit(region, year) -> bool:
        years = (year, year - 1) if rule.compares_previous_year and year is not None else (year,)
        return everything or region in any_year or any((region, y) in marks or y in any_region for y in years)

    regions, years = table.column("region_code").to_pylist(), table.column("year").to_pylist()
    outcomes = table.column("outcome").to_pylist()
    flags = [o != "unevaluable" and hit(r, y) for o, r, y in zip(outcomes, regions, years)]
    if not any(flags):
        return table
    reasons = table.column("reason").to_pylist() if "reason" in table.column_names else [None] * len(flags)
    table = table.set_column(table.column_names.index("outcome"), "outcome",
                             pa.array(["unevaluable" if f else o for f, o in zip(flags, outcomes)]))
    reason_column = pa.array(["rejected_rows" if f else r for f, r in zip(flags, reasons)], type=pa.string())
    if "reason" in table.column_names:
        return table.set_column(table.column_names.index("reason"), "reason", reason_column)
    return table.append_column("reason", reason_column)


def _reported(table) -> list[dict]:
    """The rows that become findings: failures and cases that could not be evaluated."""
    import pyarrow.compute as pc

    return table.filter(pc.not_equal(table.column("outcome"), "pass")).to_pylist()


def _profile_of(row: dict, region_profiles: dict[str, str], forced: str | None) -> str:
    code = row.get("region_code")
    return forced or region_profiles.get(code) or profiles_mod.most_specific(code or "")


def _finding(rule: Rule, row: dict, profile_id: str, ledger: Ledger, draft_severity: str | None = None) -> Finding:
    outcome = row["outcome"]
    check_name = row.get("check_name") or "main"
    year = row.get("year")
    if outcome == "fail":
        # A check with a severity of its own (an advisory comparison) keeps it; a profile's
        # override (力争 makes a requirement advisory) applies to the rule's main checks.
        own = (rule.checks.get(check_name) or {}).get("severity")
        severity = own or (profiles_mod.severity_override(profile_id, rule.id, year) if year else None) \
            or rule.severity
        if rule.kind == "draft" and draft_severity is not None:
            severity = draft_severity
        # Data-integrity rules name the sheet as their check and share one message.
        spec = rule.checks.get(check_name) or (rule.checks["main"] if list(rule.checks) == ["main"] else None)
        if spec is None:
            raise RuleError(f"rules/{rule.path.name} 没有声明检查“{check_name}”。",
                            f"rules/{rule.path.name} does not declare check '{check_name}'.")
        template = spec["message"]
    elif outcome == "unevaluable":
        severity = "info"
        reason = row.get("reason")
        if reason == "rejected_rows":
            template = REJECTED_ROWS_MESSAGE
        elif reason not in rule.unevaluable:
            raise RuleError(f"rules/{rule.path.name} 没有为原因“{reason}”提供说明（unevaluable）。",
                            f"rules/{rule.path.name} has no unevaluable message for reason '{reason}'.")
        else:
            template = rule.unevaluable[reason]
    else:
        raise RuleError(f"rules/{rule.path.with_suffix('.sql').name} 返回了未知的 outcome“{outcome}”。",
                        f"rules/{rule.path.with_suffix('.sql').name} returned unknown outcome '{outcome}'.")
    evidence, total = _evidence(ledger, rule, row)
    used = dict(_parameters_used(tuple(rule.parameters), profile_id, year))
    return Finding(
        rule_id=rule.id, severity=severity, message=render(template, row, rule),
        subject=_subject(row), evidence=evidence,
        measure={"actual": _round(row.get("actual")), "required": _round(row.get("required")),
                 "unit": rule.measures.get("unit")},
        shortfall_yuan=_round(row.get("shortfall_yuan")) if outcome == "fail" else None,
        basis=rule.basis_dict(), profile=profile_id, parameters=used, check=check_name,
        details={"outcome": outcome, "reason": row.get("reason")} if outcome == "unevaluable" or row.get("reason")
        else None,
        evidence_total=total, identified_by_cells=rule.identified_by_cells,
    )


@functools.lru_cache(maxsize=4096)
def _parameters_used(names: tuple[str, ...], profile_id: str, year: int | None) -> tuple:
    """(name, {value, source}) of each parameter in force in the year, else None (the
    profiles are loaded once per process, so their values are looked up once per year)."""
    used = []
    for name in names:
        entry = profiles_mod.parameter(profile_id, name, year) if year else None
        used.append((name, None if entry is None else {"value": entry["value"], "source": entry["source"]}))
    return tuple(used)


def _round(value):
    return None if value is None else round(float(value), 2)


def _evidence(ledger: Ledger, rule: Rule, row: dict) -> tuple[list[Evidence], int]:
    """The cells a result rests on: each `<sheet>_rows` list, pointing at the sheet's measure column."""
    evidence, total = [], 0
    for name in _row_lists(rule):
        rows = row.get(name) or []
        total += row.get(f"{name}_total") or len(rows)
        if rows:
            evidence.extend(ledger.sheets[name[:-5]].measure_evidence(rows))
    return evidence, total
