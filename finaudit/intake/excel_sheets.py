"""One ledger sheet through fastexcel (workbooks.py finds the sheets and their headers): its
cells to Arrow, numbers written as text recovered, merged label cells filled down, hidden
rows noted, years across the columns read as rows."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from finaudit.errors import LedgerError
from finaudit.intake.schema import SheetSchema
from finaudit.intake.sheets import RawSheet, sheet_units

if TYPE_CHECKING:
    import pandas as pd

# pandas is imported where a sheet needs it (text in number cells, merged cells, years across),
# for start-up: the parse server, which forks every parse child, starts without it.


def source(path: Path):
    """What fastexcel opens: the path, or the file's bytes when its name is not UTF-8 (a GBK
    name from a Windows zip, which Python keeps as surrogates and Rust cannot take)."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return path.read_bytes()
    return text


# Columns whose merged cells are read as the merged range's value in every row it spans, as
# Excel shows them: labels. A quantity merged over rows is read once, at its top cell.
_LABEL_TYPES = {"year", "region_code", "text", "enum"}


def apply_layout(raw: RawSheet, match, report) -> None:
    """Fills label cells inside merged ranges down from the range's top cell, and notes the
    hidden data rows, both from the guard's scan of the sheet XML."""
    if report is None:
        return
    first, last = _data_rows(raw, match)
    raw.hidden_rows = sorted(r for r in report.hidden_rows if first <= r <= last)
    for col, top, bottom in merged_labels(raw, match, report):
        frame = as_frame(raw)
        below = slice(top - first + 1, bottom - first + 1)
        frame.iloc[below, frame.columns.get_loc(col)] = frame.iat[top - first, frame.columns.get_loc(col)]
        raw.filled.setdefault(col, []).append((top, bottom))


def merged_labels(raw: RawSheet, match, report) -> list[tuple[str, int, int]]:
    """(column, top row, bottom row) of each merged range of label cells among the data rows,
    which apply_layout fills down (a frame is made of the sheet for it)."""
    if report is None:
        return []
    first, last = _data_rows(raw, match)
    positions = {pos + 1: col for col, pos in match.columns.items()
                 if raw.schema.column(col).type in _LABEL_TYPES}
    return [(positions[left], top, min(bottom, last)) for top, left, bottom, _right in sorted(report.merged)
            if left in positions and bottom > top and first <= top <= last]


def _data_rows(raw: RawSheet, match) -> tuple[int, int]:
    """The first and last data rows, 1-based."""
    first = match.row_index + 2
    return first, first + (len(raw.frame) if raw.frame is not None else raw.table.num_rows) - 1


def read_sheet(reader, path: Path, schema: SheetSchema, name: str, match, head, hidden: bool,
               unfreed: list | None = None) -> RawSheet:
    """The sheet's cells through fastexcel, found by name. `unfreed`: where fastexcel's own
    copy of the cells is put, for a caller whose process ends without freeing them."""
    positions = match.read_columns()
    letters = match.letters()
    numeric = {col for col, _ in positions if schema.column(match.schema_column(col)).numeric}
    # Numbers are read as floats: fastexcel's float-to-string keeps only 11 significant
    # digits, which would silently round large amounts.
    dtypes = {pos: ("float" if col in numeric else "string") for col, pos in positions}
    # header_row=None: the header was found already, and fastexcel's own reading of it makes
    # repeated names unique in time that grows with their count (a header cell repeated over
    # 6,000 columns of a 30 KB .ods: 85 s). The data start the row after the header.
    sheet = reader.load_sheet(name, header_row=None, skip_rows=match.row_index + 1,
                              use_columns=[pos for _, pos in positions], dtypes=dtypes)
    table, errors = sheet.to_arrow_with_errors()
    if unfreed is not None:
        unfreed.append(sheet)
    if table.num_columns != len(positions):
        raise LedgerError(
            f"读取工作表“{name}”时列数不符（{table.num_columns} ≠ {len(positions)}）。",
            f"Sheet '{name}' came back with {table.num_columns} columns instead of {len(positions)}.",
        )
    rows = np.arange(table.num_rows, dtype=np.int64) + match.row_index + 2
    frame = None
    if errors is not None and errors.errors and numeric:
        frame = table.to_pandas()
        frame.columns = [col for col, _ in positions]
        frame = _recover_text_cells(reader, name, match, positions, numeric, frame)
        frame["_row"] = rows
        table = None
    else:
        import pyarrow as pa

        # From the buffer: pa.array(ndarray) would import pandas (see the imports at the top).
        table = pa.Table.from_batches([table]).rename_columns([col for col, _ in positions]).append_column(
            "_row", pa.Array.from_buffers(pa.int64(), len(rows), [None, pa.py_buffer(rows)]))
    return RawSheet(
        schema=schema, file=str(path), sheet=name, frame=frame, table=table, letters=letters,
        units=sheet_units(match, head), hidden=hidden, ignored_headers=match.ignored,
    )


def unpivoted(raw: RawSheet, match) -> RawSheet:
    """wide.unpivot(raw, match): the sheet itself unless its years run across the columns."""
    if not match.years:
        return raw
    from finaudit.intake.wide import unpivot   # for start-up: pandas (see the imports above)

    return unpivot(raw, match)


def as_frame(raw: RawSheet) -> pd.DataFrame:
    """The sheet's cells as a pandas frame, made from its Arrow table if it has none yet."""
    if raw.frame is None:
        raw.frame, raw.table = raw.table.to_pandas(), None
    return raw.frame


def _recover_text_cells(reader, name, match, positions, numeric, frame) -> pd.DataFrame:
    """Numbers typed as text ("1,234.50", "２０２３年") fail the float read: read those
    columns again as text and keep, for the failed cells only, what was written."""
    # fastexcel reports error offsets within the sheet's used range, not within the
    # selected columns, so every numeric column is read again: only messy sheets pay this.
    failed = numeric
    text = reader.load_sheet(name, header_row=None, skip_rows=match.row_index + 1,
                             use_columns=[pos for col, pos in positions if col in failed], dtypes="string").to_pandas()
    text.columns = [col for col, _ in positions if col in failed]
    for col in failed:
        typed = frame[col]
        as_text = typed.map(repr, na_action="ignore").astype(object)
        as_text[typed.isna()] = text[col][typed.isna()].to_numpy()
        frame[col] = as_text.astype("str")
    return frame
