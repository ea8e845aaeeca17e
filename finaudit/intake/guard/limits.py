"""What a workbook may hold before the guard refuses it unread, and how sizes and cells are named.

Every format's guard (archive, scan, xlsb, xls, ods) measures
against the same Limits, so that an .ods or an .xls is held to what an .xlsx is.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from finaudit.errors import LedgerError, UsageError

MIB = 1024 * 1024
ENV_MAX_UNZIPPED_MB = "FINAUDIT_MAX_UNZIPPED_MB"
EXCEL_MAX_ROW, EXCEL_MAX_COL = 1_048_576, 16_384     # XFD1048576, the last cell of any sheet


def _env_max_unzipped() -> int:
    raw = os.environ.get(ENV_MAX_UNZIPPED_MB, "").strip()
    if not raw:
        return 1024 * MIB
    try:
        value = float(raw)
        if not value > 0:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"环境变量 {ENV_MAX_UNZIPPED_MB} 的值“{raw}”无效，应为正数（单位 MB），例如 1024。",
            f"{ENV_MAX_UNZIPPED_MB}='{raw}' is not valid: give a positive number of megabytes, e.g. 1024.",
        ) from None
    return int(value * MIB)


@dataclass(frozen=True)
class Limits:
    """What a workbook may hold before it is refused unread."""

    max_unzipped_bytes: int = field(default_factory=_env_max_unzipped)  # all parts, inflated
    max_ratio: float = 100.0            # real ledgers inflate about 8:1, zip bombs 238-1029:1
    ratio_min_bytes: int = 10 * MIB     # smaller parts may compress better than that, harmlessly
    max_members: int = 10_000
    max_cells: int = 50_000_000         # rows x columns of a sheet's used range, counted from A1


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1024 ** 3), ("MB", MIB), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"


def column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def letters(number: int) -> str:
    out = ""
    while number > 0:
        number, rem = divmod(number - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell_name(row: int, col: int) -> str:
    """'XFD1048576' for (1048576, 16384), 1-based."""
    return f"{letters(col)}{row}"


def refuse_off_grid(name: str, sheet: str, row: int, col: int) -> None:
    """A cell past XFD1048576 is in no sheet Excel can write: the file was damaged or made to
    be (calamine would size its grid by it)."""
    if row > EXCEL_MAX_ROW or col > EXCEL_MAX_COL:
        corner = cell_name(row, col)
        raise LedgerError(
            f"工作簿“{name}”的工作表“{sheet}”的单元格范围达到 {corner}，超出 Excel 工作表的范围"
            f"（最大 XFD1048576）：文件已损坏或被篡改，已拒绝读取。",
            f"Sheet '{sheet}' of workbook '{name}' reaches cell {corner}, outside any Excel sheet "
            "(the last cell is XFD1048576): the file is damaged or was tampered with; refused.")


def refuse_range(name: str, sheet: str, rows: int, cols: int, limits: Limits) -> None:
    """Refuses a sheet whose used range, rows x columns from A1, is over the cell limit."""
    cells = rows * cols
    if cells <= limits.max_cells:
        return
    corner = cell_name(rows, cols)
    raise LedgerError(
        f"工作簿“{name}”的工作表“{sheet}”的单元格范围达到 {corner}（{rows:,} 行 × "
        f"{cols:,} 列 = {cells:,} 个单元格），超过上限 {limits.max_cells:,} 个，读取会耗尽内存，已拒绝读取。",
        f"Sheet '{sheet}' of workbook '{name}' reaches cell {corner} ({rows:,} rows x "
        f"{cols:,} columns = {cells:,} cells), over the limit of {limits.max_cells:,}: reading it "
        "would exhaust memory; refused.")
