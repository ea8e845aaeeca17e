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
from pathlib import Path

import pandas as pd

from finaudit.errors import LedgerError
from finaudit.findings import Finding
from finaudit.intake.checks import total, totalled
from finaudit.intake.headers import column_letter, find_header
from finaudit.intake.load_findings import defaulted_findings, plain_value, subtotal_finding
from finaudit.intake.model import Ledger, Sheet, changed_while_read, file_digest, file_state
from finaudit.intake.native_sql import Col, map_distinct, quote, typed_sql
from finaudit.intake.schema import SheetSchema, load_schemas
from finaudit.intake.sheets import claim_sheet, require_sheets, schema_for_name, sheet_units, unknown_sheet_name
from finaudit.intake.validate import schema_finding

PARQUET_SUFFIXES = {".parquet", ".pq"}
NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


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
        names, types = _describe(con, file)
        if any(not (t.startswith(NUMERIC_TYPES) or t == "VARCHAR") for t in types):
            return False
        if _years_across(names, file):
            return False                # unpivoted by the general loader (wide.py)
    return True


def _years_across(names: list[str], file: Path) -> bool:
    schema = schema_for_name(file.stem)
    try:
        return schema is not None and bool(find_header([names], schema, file.name).years)
    except LedgerError:                 # the load that follows says what is wrong
        return False


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


def _load_sheet(con, schema: SheetSchema, file: Path) -> tuple[Sheet, list[Finding]]:
    names, types = _describe(con, file)
    cols, units, ignored = sheet_columns(schema, names, [t.startswith(NUMERIC_TYPES) for t in types], file.name)

    def source(c, src: str) -> None:
        c.read_parquet(str(file), file_row_number=True).create_view(src, replace=True)

    return load_source(con, schema, source, cols, units, str(file), file.name, ignored)


def sheet_columns(schema: SheetSchema, names: list[str], numbers: list[bool],
                  name: str) -> tuple[list[Col], dict[str, str], list[str]]:
    """The columns of a file's header `names` (`numbers`: which are stored as numbers), the
    unit of each money column and the headers ignored; a sheet with its years across the
    columns is refused (the general loader unpivots it)."""
    match = find_header([names], schema, name)
    if match.years:
        raise LedgerError(f"“{name}”的年度是横排的，原生 Parquet 读取不支持；请不指定 native 读取。",
                          f"'{name}' has its years across the columns, which the native Parquet load does not "
                          "read; load it without native.")
    cols = []
    for column_name, pos in sorted(match.columns.items(), key=lambda kv: kv[1]):
        column = schema.column(column_name)
        cols.append(Col(column, names[pos], column_letter(pos), numbers[pos] and column.numeric))
    units = {c: (u or "元") for c, u in sheet_units(match, []).items() if schema.column(c).type == "money"}
    return cols, units, match.ignored


def load_source(con, schema: SheetSchema, source, cols: list[Col], units: dict[str, str], file: str, name: str,
                ignored: list[str], hidden: bool = False) -> tuple[Sheet, list[Finding]]:
    """Types, validates and inserts the rows of one sheet where DuckDB reads them:
    `source(connection, view)` makes `view` on that connection, the sheet's cells under
    `cols`' source names and `file_row_number` (the spreadsheet row less 2). `file` and
    `name` are the file and the sheet (or file) name findings cite."""
    src = f"src_{schema.name}"
    # Text columns exported by a system are clean: the rows are inserted as if every one
    # is, on a cursor of their own, while the distinct values are checked here in Python.
    # When a column turns out to need its values changed, those rows are taken out again
    # and inserted through the column's map.
    typed = f"typed_{schema.name}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        cursor = con.cursor()
        try:
            source(con, src)
            source(cursor, src)
            guess = pool.submit(_insert, cursor, schema, f"({typed_sql(schema, src, cols, units)})", cols)
            for col in cols:
                if not col.numeric:            # text, or a code or name stored as a number
                    map_distinct(con, schema, src, col)
                    if col.mapped:             # the guess is wrong: stop it taking a core now
                        cursor.interrupt()
            try:
                inserted = guess.result()
            except Exception:                  # interrupted, or failed: the general way decides
                inserted = None
        finally:
            pool.shutdown(wait=True)
            cursor.close()
    con.execute(f"CREATE OR REPLACE TEMP VIEW {typed} AS {typed_sql(schema, src, cols, units)}")
    if inserted is None or any(col.mapped for col in cols):
        con.execute(f"DELETE FROM {quote(schema.name)}")
        inserted = _insert(con, schema, typed, cols)
    bad = rejected_sql(cols)
    # Every row not inserted is blank or has a finding: counted from the file, not assumed.
    rows_all, rows_blank, rejected = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE _blank), "
        f"count(*) FILTER (WHERE NOT _blank AND (_subtotal OR {bad})) FROM {typed}").fetchone()
    sheet = accounted_sheet(schema, file, name, cols, units, ignored, (rows_all, rows_blank, rejected, inserted),
                            hidden=hidden)
    # The columns the sheet lacks whose default decides what is audited, as ledger.load tells them.
    findings = defaulted_findings(schema, name, {c.column.name for c in cols}, sheet.rows_read)
    findings += _findings(con, schema, sheet, typed, src, cols) if rejected else []
    sheet.set_totals(_totals(con, schema, set(sheet.letters)))
    con.execute(f"DROP VIEW {typed}")
    con.execute(f"DROP VIEW {src}")
    for col in cols:
        if col.mapped:
            con.execute(f"DROP TABLE map_{schema.name}_{col.column.name}")
    return sheet, findings


def accounted_sheet(schema: SheetSchema, file, name: str, cols: list[Col], units: dict, ignored,
                    counts: tuple[int, int, int, int], hidden: bool = False) -> Sheet:
    """The Sheet of rows loaded by SQL (here or on Spark), once they are accounted for:
    `counts` (all, blank, rejected, valid) must add up, or the load is refused."""
    rows_all, rows_blank, rejected, inserted = counts
    if rows_all != inserted + rows_blank + rejected:
        raise LedgerError(f"工作表“{name}”的行数核对不平：{rows_all} ≠ {inserted} + {rows_blank} + {rejected}。",
                          f"Rows of '{name}' do not add up: {rows_all} != {inserted} + {rows_blank} + {rejected}.")
    return Sheet(schema=schema, file=file, source=name, frame=None,
                 letters={c.column.name: c.letter for c in cols}, units=units,
                 rows_read=rows_all - rows_blank, rows_rejected=rejected, rows_blank=rows_blank,
                 hidden=hidden, ignored_headers=ignored)


def rejected_sql(cols: list[Col]) -> str:
    """SQL over a typed row: true when any of its cells has a finding."""
    return " OR ".join(f"_r_{i} IS NOT NULL" for i in range(len(cols))) or "false"


def _insert(con, schema: SheetSchema, typed: str, cols: list[Col]) -> int:
    """Inserts the rows of `typed` (the typed view, or its query in parentheses) that are
    neither blank, subtotals nor rejected; returns how many."""
    present = {c.column.name for c in cols}
    defaults = [c for c in schema.columns if c.name not in present and c.default is not None]
    targets = [c.column.name for c in cols] + [c.name for c in defaults]
    selects = [quote(c.column.name) for c in cols] + ["'" + c.default.replace("'", "''") + "'" for c in defaults]
    return con.execute(
        f"INSERT INTO {quote(schema.name)} ({', '.join(map(quote, targets))}, _row) "
        f"SELECT {', '.join(selects)}, _row FROM {typed} WHERE NOT _blank AND NOT _subtotal AND NOT ({rejected_sql(cols)})"
    ).fetchone()[0]


# --- findings -------------------------------------------------------------------------------

def _findings(con, schema: SheetSchema, sheet: Sheet, typed: str, src: str, cols: list[Col]) -> list[Finding]:
    """The subtotal and schema findings of the rejected rows (fetched alone: few, normally)."""
    bad = rejected_sql(cols)
    rows = con.execute(f"SELECT * FROM {typed} WHERE NOT _blank AND (_subtotal OR {bad}) ORDER BY _row").df()
    if rows.empty:
        return []
    return rejected_findings(schema, sheet, cols, rows,
                             _raw_rows(con, src, cols, rows.loc[rows["_subtotal"], "_row"].tolist()))


def rejected_findings(schema: SheetSchema, sheet: Sheet, cols: list[Col], rows: pd.DataFrame,
                      raw_text: pd.DataFrame) -> list[Finding]:
    """The findings of the rejected rows of a typed sheet (`rows`, in row order, as DuckDB's
    .df() gives them) and the cells as written of its subtotal rows (`raw_text`, by row)."""
    findings = []
    subjects = {c: c for c in ("region_code", "region_name", "year", "level", "school_id") if c in rows.columns}
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


def _raw_rows(con, src: str, cols: list[Col], rows: list[int]) -> pd.DataFrame:
    """The cells as written of some rows, indexed by row number (for a subtotal's label)."""
    if not rows:
        return pd.DataFrame()
    selects = ", ".join(f"{quote(c.source)} AS {quote(c.column.name)}" for c in cols)
    frame = con.execute(f"SELECT file_row_number + 2 AS _row, {selects} FROM {src} "
                        f"WHERE file_row_number + 2 IN (SELECT unnest(?))", [rows]).df()
    return frame.set_index("_row")


def _shown(row, i: int, col: Col, reason: str):
    """The value a schema finding shows, as ledger.load gives it: as written, in the sheet's unit."""
    if col.mapped and int(row[f"_i_{i}"]) in col.values:
        return col.values[int(row[f"_i_{i}"])]
    if col.numeric and reason == "SCHEMA_TYPE":
        return str(float(row[f"_x_{i}"]))
    value = row[f"_v_{i}"] if col.column.type == "money" else row[col.column.name]
    return None if pd.isna(value) else value


def _totals(con, schema: SheetSchema, present: set[str]) -> dict:
    """Sheet.totals of the inserted rows, for the columns the file has."""
    sums = totalled(schema, present)
    if not sums:
        return {}
    values = con.execute("SELECT " + ", ".join(f"sum({quote(c.name)})" for c in sums)
                         + f" FROM {quote(schema.name)}").fetchone()
    return {c.name: total(c, v) for c, v in zip(sums, values)}
