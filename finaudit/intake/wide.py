"""A sheet with its years across the columns (2022年, 2023年决算数 …) read as rows: each filled
cell under a year becomes one row of the long layout, with the year (and 决算/预算 where the
header says so) taken from its header and the row's labels repeated.

A row of the long layout is numbered `spreadsheet row x STRIDE + the year cell's column`, so
that every number still names one cell (model.Sheet.cell) and sorting by it keeps sheet
order. A year cell with a dash (— or 无) makes no row; such cells are counted and listed in
the info finding that says how the sheet was read (load_findings.wide_findings). An empty
year cell is a figure missing and its row is refused, as an empty amount is."""
from __future__ import annotations

import numpy as np
import pandas as pd

from finaudit.errors import LedgerError
from finaudit.intake.headers import HeaderMatch
from finaudit.intake.normalize import BLANKS, RawColumn
from finaudit.intake.sheets import RawSheet

STRIDE = 16_384         # columns in an Excel sheet (A to XFD)

def unpivot(raw: RawSheet, match: HeaderMatch) -> RawSheet:
    """The RawSheet in the long layout; unchanged when its header has no year columns."""
    if not match.years:
        return raw
    if max(y.position for y in match.years) >= STRIDE:
        raise LedgerError(f"工作表“{raw.sheet}”超过 {STRIDE:,} 列，无法按横排的年度读取。",
                          f"Sheet '{raw.sheet}' has more than {STRIDE:,} columns; its years cannot be read across.")
    frame = raw.frame
    labels = [c for c in frame.columns if not c.startswith("_")]
    cells = _same_storage([frame[y.key] for y in match.years])
    row_blank = np.ones(len(frame), dtype=bool)
    for column in labels:
        row_blank &= RawColumn(frame[column]).blank()
    parts, dashes = [], []
    with_basis = any(y.basis for y in match.years)
    for n, (year, values) in enumerate(zip(match.years, cells)):
        # A year cell with a dash (or 无) says "no figure": no row, listed. An empty one is a
        # figure missing, as an empty amount is in a table with a year column: its row stays and
        # is refused, never read as 0. A wholly empty spreadsheet row stays once, counted blank.
        dash = _dashes(values)
        keep = ~dash & (~row_blank if n else True)
        ids = frame["_row"].to_numpy(dtype=np.int64) * STRIDE + year.position
        dashes.extend(ids[dash].tolist())
        part = frame.loc[keep, labels].copy()
        part["year"] = np.where(row_blank[keep], np.nan, float(year.year))
        if with_basis:
            part["basis"] = year.basis or "决算"     # a bare year beside 决算数/预算数 columns: the default
        part[match.value] = values[keep].to_numpy()
        part["_row"] = ids[keep]
        parts.append(part)
    long = pd.concat(parts, ignore_index=True).sort_values("_row", kind="stable").reset_index(drop=True)
    rows = long["_row"].to_numpy() // STRIDE
    raw.frame = long
    raw.stride = STRIDE
    raw.hidden_rows = long["_row"][np.isin(rows, raw.hidden_rows)].tolist() if raw.hidden_rows else []
    raw.ragged_rows = {int(i): raw.ragged_rows[int(r)] for i, r in zip(long["_row"], rows) if int(r) in raw.ragged_rows}
    raw.units = dict(raw.units)
    # Plain data: it crosses from the parse child as JSON (isolation.py).
    raw.wide = {"headers": [y.header for y in match.years], "rows": int((~row_blank).sum()), "dashes": sorted(dashes)}
    return raw


def _same_storage(columns: list[pd.Series]) -> list[pd.Series]:
    """The year columns stored alike: a column fastexcel read as numbers beside one re-read as
    text (a "1,234.50" in it) becomes text too, each number as Python writes it."""
    if len({str(c.dtype) for c in columns}) == 1:
        return columns
    return [c.map(repr, na_action="ignore").astype("str") if pd.api.types.is_numeric_dtype(c) else c.astype("str")
            for c in columns]


def _dashes(values: pd.Series) -> np.ndarray:
    """Year cells holding a dash or 无 (BLANKS less the empty text): "no figure this year"."""
    column = RawColumn(values.reset_index(drop=True))
    if column.numeric:
        return np.zeros(len(values), dtype=bool)
    marks = [isinstance(v, str) and v.strip() != "" and v.strip().lower() in BLANKS for v in column.uniques]
    return column.spread_flags(marks)
