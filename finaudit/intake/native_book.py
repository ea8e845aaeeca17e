"""Loading a workbook's plain sheets straight into DuckDB, as the Parquet path does (issue 17).

A province's workbook of a million school rows spent as long in pandas (the frame built
from the parse child's Arrow file, normalised, validated, then copied into DuckDB) as in
the rules. The parse child's Arrow table is already what DuckDB reads: it is registered as
it lies in the memory-mapped file, and the per-row work is native.py's SQL, with the
per-value work (normalize.py, validate.py) once per distinct text.

It is asked for with native=True (check(path, native=True)): on the 1M-row benchmark
workbook it loads no faster than the pandas way and uses about a quarter more CPU for the
load (tests/bench/RESULTS.md), so workbooks take the pandas way by default.

Only a plain sheet goes this way: its rows as they are in the sheet, one record per row,
with no hidden rows, no merged label cells and no years across the columns (what the guard
and the reader already found). Those need the general loader's findings and row numbering,
so such a sheet, and every workbook loaded without native=True, takes the pandas way
(ledger.py). Both give the same findings, row accounting and audit
(tests/test_native_book.py).
"""
from __future__ import annotations

from pathlib import Path

from finaudit.intake.ledger import Ledger, load
from finaudit.intake.native import NUMERIC_TYPES, load_source
from finaudit.intake.native_sql import Col
from finaudit.intake.sheets import RawSheet


def load_into(con, path, insert_frame) -> Ledger:
    """Reads, validates and inserts a workbook into the tables of `con`: plain sheets by
    SQL over the parse child's Arrow tables (Sheet.frame None), the others through
    ledger.load's frames, which `insert_frame(con, sheet)` then inserts."""
    ledger = load(Path(path), load_table=lambda raw: load_table(con, raw) if plain(raw) else None)
    for sheet in ledger.sheets.values():
        if sheet.frame is not None:
            insert_frame(con, sheet)
    return ledger


def plain(raw: RawSheet) -> bool:
    """Whether the sheet is read row for row with nothing the layout changed."""
    return not (raw.hidden_rows or raw.filled or raw.wide or raw.stride or raw.ragged_rows)


def load_table(con, raw: RawSheet):
    """The (sheet, findings) of a plain sheet, its valid rows inserted into its table."""
    schema = raw.schema
    cells = raw.table if raw.table is not None else raw.frame   # a frame when parsed in process
    arrow = f"arrow_{schema.name}"

    def source(c, src: str) -> None:    # on `con` and on the cursor that inserts beside it
        c.register(arrow, cells)
        c.execute(f"CREATE OR REPLACE TEMP VIEW {src} AS SELECT * EXCLUDE (_row), _row - 2 AS file_row_number "
                  f"FROM {arrow}")

    con.register(arrow, cells)
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {arrow})").fetchall())
    cols = []
    for name in (c for c in types if c != "_row"):
        column = schema.column(name)
        cols.append(Col(column, name, raw.letters[name], types[name].startswith(NUMERIC_TYPES) and column.numeric))
    units = {c.column.name: (raw.units.get(c.column.name) or "元") for c in cols if c.column.type == "money"}
    try:
        return load_source(con, schema, source, cols, units, raw.file, raw.sheet, raw.ignored_headers, raw.hidden)
    finally:
        con.unregister(arrow)           # the cursor's registration closed with it
        raw.table = None
