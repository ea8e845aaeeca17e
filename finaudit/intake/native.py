"""Loading Parquet ledgers straight into DuckDB, without a pandas frame of the rows.

A national ledger of tens of millions of school-level rows arrives as Parquet. Reading
it into pandas to normalise and validate it cost more than all the rules together, so
here DuckDB reads the files and the per-row work is SQL. What a cell means is still
decided by the same Python as for a workbook (normalize.py, validate.py), but once per
distinct value of a text column, not once per row: a region name column of a million
rows has a few hundred values. Numbers stored as numbers are checked in SQL with the
same tests normalize.py applies to them. The result is the same Ledger, findings and
row numbers as ledger.load gives (tests/test_native.py compares the two on the same
files), with the valid rows already in the audit's tables.

Files whose columns are stored as something else than numbers or text (booleans,
dates) go the general way; so does every other format.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from finaudit.errors import LedgerError
from finaudit.findings import Finding
from finaudit.intake.headers import UNITS, column_letter, find_header
from finaudit.intake.ledger import Ledger, Sheet, plain_value, subtotal_finding, changed_while_read, file_digest, file_state
from finaudit.intake.normalize import RawColumn, TypeFailure, normalize_column
from finaudit.intake.sheets import claim_sheet, require_sheets, schema_for_name, sheet_units, unknown_sheet_name
from finaudit.intake.schema import YEAR_RANGE, Column, SheetSchema, load_schemas
from finaudit.intake.validate import MONEY_LIMIT, exact_money_sql, failure_cases, schema_finding

PARQUET_SUFFIXES = {".parquet", ".pq"}
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
            "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
# Distinct values keep money as DOUBLE: units are applied before the cast to DECIMAL, as
# ledger.load does (1.23456789 万元 is 12345.6789 yuan, not 1.2346 x 10000).
_MAP_TYPES = {"year": "INTEGER", "count": "BIGINT", "money": "DOUBLE"}
_INT64_LIMIT = "9223372036854775808.0"     # 2.0 ** 63, as normalize.py's _INT64_LIMIT


def ledger_files(path: Path) -> dict[str, Path] | None:
    """The Parquet file of each sheet when the ledger is Parquet only, else None."""
    if path.is_file():
        return {} if path.suffix.lower() in PARQUET_SUFFIXES else None
    if not path.is_dir():
        return None
    files = sorted(p for p in path.iterdir() if p.is_file() and schema_for_name(p.stem) is not None)
    if not files or any(p.suffix.lower() not in PARQUET_SUFFIXES for p in files):
        return None
    return {p.stem: p for p in files}


def can_load(con, path: Path) -> bool:
    """Whether `path` is a Parquet ledger whose sheets' columns are all numbers or text."""
    files = ledger_files(path)
    if files is None:
        return False
    for file in (files.values() if files else [path]):
        types = dict(zip(*_describe(con, file)))
        if any(not (t.startswith(_NUMERIC) or t == "VARCHAR") for t in types.values()):
            return False
    return True


def _describe(con, file: Path) -> tuple[list[str], list[str]]:
    rel = con.read_parquet(str(file))
    return list(rel.columns), [str(t) for t in rel.types]


def load_into(con, path) -> Ledger:
    """Reads, validates and inserts a Parquet ledger into the tables of `con` (made by
    engine.create_tables); the sheets' frames stay in DuckDB (Sheet.frame is None)."""
    path = Path(path)
    files = ledger_files(path)
    if files is None:
        raise LedgerError(f"“{path.name}”不是 Parquet 台账。", f"'{path.name}' is not a Parquet ledger.")
    if not files:
        schema = schema_for_name(path.stem)
        if schema is None:
            raise unknown_sheet_name(path.stem, path)
        chosen = {schema.name: path}
    else:
        chosen = {}
        for stem, file in files.items():
            schema = schema_for_name(stem)
            claim_sheet({k: v.name for k, v in chosen.items()}, schema, file.name, path)
            chosen[schema.name] = file
        require_sheets(chosen, [p.name for p in files.values()], path)
    before = file_state(path)
    digest = file_digest(path)          # of the bytes about to be read; a change meanwhile is refused
    # The largest file loads on a cursor of its own (its temporary views stay its own) in a
    # second thread, beside the others: DuckDB releases the GIL while it scans and inserts.
    largest = max(chosen, key=lambda name: chosen[name].stat().st_size)
    with ThreadPoolExecutor(max_workers=1) as pool:
        cursor = con.cursor()
        try:
            apart = pool.submit(_load_sheet, cursor, load_schemas()[largest], chosen[largest])
            loaded = {name: _load_sheet(con, load_schemas()[name], file)
                      for name, file in chosen.items() if name != largest}
            loaded[largest] = apart.result()
        finally:
            pool.shutdown(wait=True)
            cursor.close()
    if file_state(path) != before:
        raise changed_while_read(path)
    sheets = {name: loaded[name][0] for name in chosen}
    return Ledger(path=path, sheets=sheets, findings=[f for name in chosen for f in loaded[name][1]],
                  digest=digest)


@dataclass
class _Col:
    """How one schema column of a file becomes SQL."""
    column: Column
    source: str               # the file's column name
    letter: str
    numeric: bool             # a number column stored as numbers
    mapped: bool = False      # joined to a table of its distinct values
    values: dict | None = None    # distinct index -> the value a finding shows


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _load_sheet(con, schema: SheetSchema, file: Path) -> tuple[Sheet, list[Finding]]:
    names, types = _describe(con, file)
    match = find_header([names], schema, file.name)
    src = f"src_{schema.name}"
    cols = []
    for name, pos in sorted(match.columns.items(), key=lambda kv: kv[1]):
        column = schema.column(name)
        cols.append(_Col(column, names[pos], column_letter(pos), types[pos].startswith(_NUMERIC) and column.numeric))
    units = {c: (u or "元") for c, u in sheet_units(match, []).items() if schema.column(c).type == "money"}

    # Text columns exported by a system are clean: the rows are inserted as if every one
    # is, on a cursor of their own, while the distinct values are checked here in Python.
    # When a column turns out to need its values changed, those rows are taken out again
    # and inserted through the column's map.
    typed = f"typed_{schema.name}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        cursor = con.cursor()
        try:
            con.read_parquet(str(file), file_row_number=True).create_view(src, replace=True)
            cursor.read_parquet(str(file), file_row_number=True).create_view(src, replace=True)
            guess = pool.submit(_insert, cursor, schema, f"({_typed_sql(schema, src, cols, units)})", cols)
            for col in cols:
                if not col.numeric:            # text, or a code or name stored as a number
                    _map_distinct(con, schema, src, col)
            if any(col.mapped for col in cols):
                cursor.interrupt()
            try:
                inserted = guess.result()
            except Exception:                  # interrupted, or failed: the general way decides
                inserted = None
        finally:
            pool.shutdown(wait=True)
            cursor.close()
    con.execute(f"CREATE OR REPLACE TEMP VIEW {typed} AS {_typed_sql(schema, src, cols, units)}")
    if inserted is None or any(col.mapped for col in cols):
        con.execute(f"DELETE FROM {_quote(schema.name)}")
        inserted = _insert(con, schema, typed, cols)
    bad = _rejected(cols)
    # Every row not inserted is blank or has a finding: counted from the file, not assumed.
    rows_all, rows_blank, rejected = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE _blank), "
        f"count(*) FILTER (WHERE NOT _blank AND (_subtotal OR {bad})) FROM {typed}").fetchone()
    if rows_all != inserted + rows_blank + rejected:
        raise LedgerError(f"工作表“{file.name}”的行数核对不平：{rows_all} ≠ {inserted} + {rows_blank} + {rejected}。",
                          f"Rows of '{file.name}' do not add up: {rows_all} != {inserted} + {rows_blank} + {rejected}.")
    sheet = Sheet(schema=schema, file=str(file), source=file.name, frame=None,
                  letters={c.column.name: c.letter for c in cols}, units=units,
                  rows_read=rows_all - rows_blank, rows_rejected=rejected, rows_blank=rows_blank,
                  ignored_headers=match.ignored)
    findings = _findings(con, schema, sheet, typed, src, cols) if rejected else []
    sheet.set_totals(_totals(con, schema, set(sheet.letters)))
    con.execute(f"DROP VIEW {typed}")
    con.execute(f"DROP VIEW {src}")
    for col in cols:
        if col.mapped:
            con.execute(f"DROP TABLE map_{schema.name}_{col.column.name}")
    return sheet, findings


def _rejected(cols: list[_Col]) -> str:
    """SQL over a typed row: true when any of its cells has a finding."""
    return " OR ".join(f"_r_{i} IS NOT NULL" for i in range(len(cols))) or "false"


def _insert(con, schema: SheetSchema, typed: str, cols: list[_Col]) -> int:
    """Inserts the rows of `typed` (the typed view, or its query in parentheses) that are
    neither blank, subtotals nor rejected; returns how many."""
    present = {c.column.name for c in cols}
    defaults = [c for c in schema.columns if c.name not in present and c.default is not None]
    targets = [c.column.name for c in cols] + [c.name for c in defaults]
    selects = [_quote(c.column.name) for c in cols] + ["'" + c.default.replace("'", "''") + "'" for c in defaults]
    return con.execute(
        f"INSERT INTO {_quote(schema.name)} ({', '.join(map(_quote, targets))}, _row) "
        f"SELECT {', '.join(selects)}, _row FROM {typed} WHERE NOT _blank AND NOT _subtotal AND NOT ({_rejected(cols)})"
    ).fetchone()[0]


# --- text columns: decided in Python once per distinct value -------------------------------

def _map_distinct(con, schema: SheetSchema, src: str, col: _Col) -> None:
    """Normalises and validates each distinct value of a text column as ledger.load does for
    each cell; when any value changes or fails, the column is joined to the result."""
    distinct = con.execute(f"SELECT DISTINCT {_quote(col.source)} AS raw FROM {src}").df()["raw"]
    raw = RawColumn(distinct.reset_index(drop=True))
    failures: list[TypeFailure] = []
    values = normalize_column(raw, col.column, failures)
    reasons: dict[int, str] = {}
    shown: dict[int, object] = {}
    for failure in failures:
        reasons[failure.index], shown[failure.index] = "SCHEMA_TYPE", failure.value
    for idx, _, reason, value in failure_cases(pd.DataFrame({col.column.name: values}), schema.name):
        if idx not in reasons:
            reasons[idx], shown[idx] = reason, value
    blank, subtotal = raw.blank(), raw.subtotal()
    col.values = shown
    # A clean column (every value already as the audit stores it, none failing but by being
    # empty) needs no join: the common case for files exported by a system.
    only_empty_fails = all(r == "SCHEMA_REQUIRED" for r in reasons.values())
    if (_unchanged(raw.series, values) and only_empty_fails and not subtotal.any()
            and not (blank & raw.series.notna().to_numpy()).any()):
        return
    col.mapped = True
    frame = pd.DataFrame({
        "raw": raw.series, "value": values, "idx": range(len(values)),
        "reason": pd.Series([reasons.get(i) for i in range(len(values))], dtype="object"),
        "blank": blank, "subtotal": subtotal,
    })
    name = f"map_{schema.name}_{col.column.name}"
    con.register(f"{name}_in", frame)
    sql_type = _MAP_TYPES.get(col.column.type, "VARCHAR")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT raw, CAST(value AS {sql_type}) AS value, "
                f"idx, CAST(reason AS VARCHAR) AS reason, blank, subtotal FROM {name}_in")
    con.unregister(f"{name}_in")


def _unchanged(raw: pd.Series, values: pd.Series) -> bool:
    """Whether normalising left every distinct value as it was (text stays the same text)."""
    if not (pd.api.types.is_string_dtype(raw) and pd.api.types.is_string_dtype(values)):
        return False
    both_missing = raw.isna().to_numpy() & values.isna().to_numpy()
    equal = (raw.astype(object).to_numpy() == values.astype(object).to_numpy())
    return bool((both_missing | equal).all())


# --- the typed view -------------------------------------------------------------------------

def _typed_sql(schema: SheetSchema, src: str, cols: list[_Col], units: dict[str, str]) -> str:
    selects, joins, blanks, subtotals = ["file_row_number + 2 AS _row"], [], [], []
    for i, col in enumerate(cols):
        source, name = f"s.{_quote(col.source)}", col.column.name
        if col.mapped:
            alias = f"m{i}"
            joins.append(f"LEFT JOIN map_{schema.name}_{name} {alias} ON {alias}.raw IS NOT DISTINCT FROM {source}")
            value, reason = f"{alias}.value", f"{alias}.reason"
            blanks.append(f"{alias}.blank")
            subtotals.append(f"{alias}.subtotal")
            selects.append(f"{alias}.idx AS _i_{i}")
        elif col.numeric:
            value, reason, blank = _numeric_sql(col, source)
            blanks.append(blank)
            selects.append(f"CAST({source} AS DOUBLE) AS _x_{i}")
        else:                                  # clean text: only an empty cell can fail
            value = source
            reason = f"CASE WHEN {source} IS NULL THEN 'SCHEMA_REQUIRED' END" if col.column.required else "NULL"
            blanks.append(f"{source} IS NULL")
        if col.column.type == "money":
            factor = UNITS[units[name]]
            # An amount beyond what the audit can hold once in yuan (1e308 万元 is infinite).
            reason = f"coalesce({reason}, CASE WHEN abs({value} * {factor}) >= {MONEY_LIMIT!r} THEN 'SCHEMA_RANGE' END)"
            selects.append(f"{value} AS _v_{i}")
            if factor != 1:
                value = f"round({value} * {factor}, 4)"
            value = exact_money_sql(value)
        selects.append(f"{value} AS {_quote(name)}")
        selects.append(f"{reason} AS _r_{i}")
    selects.append(f"({' AND '.join(blanks) or 'false'}) AS _blank")
    selects.append(f"({' OR '.join(f'coalesce({s}, false)' for s in subtotals) or 'false'}) AS _subtotal")
    return f"SELECT {', '.join(selects)} FROM {src} s {' '.join(joins)}"


def _numeric_sql(col: _Col, source: str) -> tuple[str, str, str]:
    """(value, reason, blank) of a column stored as numbers, as normalize._numeric and the
    pandera checks treat it: NaN is empty, infinity and (for years and counts) fractions or
    numbers no Int64 holds are not numbers, then the required and range checks."""
    column = col.column
    x = f"CAST({source} AS DOUBLE)"
    missing = f"({x} IS NULL OR isnan({x}))"
    broken = f"isinf({x})"
    if column.type in ("year", "count"):
        broken = f"({broken} OR {x} <> floor({x}) OR abs({x}) >= {_INT64_LIMIT})"
    value = f"CASE WHEN {missing} OR {broken} THEN NULL ELSE {x} END"
    limits = []
    if column.type == "year":
        limits = [f"{x} < {YEAR_RANGE[0]}", f"{x} > {YEAR_RANGE[1]}"]
    elif column.type in ("money", "count"):
        limits = ([f"{x} < {column.min}"] if column.min is not None else []) + \
                 ([f"{x} > {column.max}"] if column.max is not None else [])
    reason = f"CASE WHEN NOT {missing} AND {broken} THEN 'SCHEMA_TYPE' "
    if column.required:
        reason += f"WHEN {missing} THEN 'SCHEMA_REQUIRED' "
    if limits:
        reason += f"WHEN NOT {missing} AND ({' OR '.join(limits)}) THEN 'SCHEMA_RANGE' "
    return value, reason + "END", missing


# --- findings -------------------------------------------------------------------------------

def _findings(con, schema: SheetSchema, sheet: Sheet, typed: str, src: str, cols: list[_Col]) -> list[Finding]:
    """The subtotal and schema findings of the rejected rows (fetched alone: few, normally)."""
    bad = _rejected(cols)
    rows = con.execute(f"SELECT * FROM {typed} WHERE NOT _blank AND (_subtotal OR {bad}) ORDER BY _row").df()
    if rows.empty:
        return []
    findings = []
    subjects = {c: c for c in ("region_code", "region_name", "year", "level", "school_id") if c in rows.columns}
    raw_text = _raw_rows(con, src, cols, rows.loc[rows["_subtotal"], "_row"].tolist())
    for _, row in rows.iterrows():
        subject = {k: plain_value(row[c], k) for k, c in subjects.items()}
        if row["_subtotal"]:
            cells = {"_row": row["_row"], **raw_text.loc[row["_row"]].to_dict()}
            subject = {k: v for k, v in subject.items() if k in ("region_code", "region_name", "year")}
            findings.append(subtotal_finding(sheet, cells, subject))
            continue
        for i, col in sorted(enumerate(cols), key=lambda ic: ic[1].column.name):
            reason = row[f"_r_{i}"]
            if reason is None or pd.isna(reason):
                continue
            findings.append(schema_finding(reason, schema, col.column, _shown(row, i, col, reason), sheet.file,
                                           sheet.source, int(row["_row"]), col.letter, subject))
    return findings


def _raw_rows(con, src: str, cols: list[_Col], rows: list[int]) -> pd.DataFrame:
    """The cells as written of some rows, indexed by row number (for a subtotal's label)."""
    if not rows:
        return pd.DataFrame()
    selects = ", ".join(f"{_quote(c.source)} AS {_quote(c.column.name)}" for c in cols)
    frame = con.execute(f"SELECT file_row_number + 2 AS _row, {selects} FROM {src} "
                        f"WHERE file_row_number + 2 IN (SELECT unnest(?))", [rows]).df()
    return frame.set_index("_row")


def _shown(row, i: int, col: _Col, reason: str):
    """The value a schema finding shows, as ledger.load gives it: as written, in the sheet's unit."""
    if col.mapped and int(row[f"_i_{i}"]) in col.values:
        return col.values[int(row[f"_i_{i}"])]
    if col.numeric and reason == "SCHEMA_TYPE":
        return str(float(row[f"_x_{i}"]))
    value = row[f"_v_{i}"] if col.column.type == "money" else row[col.column.name]
    return None if pd.isna(value) else value


def _totals(con, schema: SheetSchema, present: set[str]) -> dict:
    """Sheet.totals of the inserted rows, for the columns the file has."""
    sums = [c for c in schema.columns if c.type in ("money", "count") and c.name in present]
    if not sums:
        return {}
    values = con.execute("SELECT " + ", ".join(f"sum({_quote(c.name)})" for c in sums)
                         + f" FROM {_quote(schema.name)}").fetchone()
    return {c.name: (int(v or 0) if c.type == "count" else round(float(v or 0), 2)) for c, v in zip(sums, values)}
