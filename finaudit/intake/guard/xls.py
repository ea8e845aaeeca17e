"""The guard of an .xls (BIFF8, or BIFF5, in an OLE compound file), read as calamine reads it.

calamine reads every sheet of an .xls when the file is opened. For each sheet it reserves
room for the rows x columns its DIMENSIONS record declares (first and last row as 32-bit
numbers: an inverted pair wraps round to four billion rows, a 30 KB file asks for gigabytes),
then lays the cells out as the grid of their bounding box (a cell's row and column are
16-bit numbers: two cells far apart ask for four billion cells). check_xls walks the
workbook stream's records and refuses declared dimensions that are inverted, outside the
65,536 x 256 grid of an .xls, or over Limits.max_cells, and cells outside that grid.
"""
from __future__ import annotations

import struct
from pathlib import Path

from finaudit.errors import LedgerError
from finaudit.intake.guard.limits import Limits, cell_name, refuse_range
from finaudit.intake.guard.ole import OleError, read_stream, refuse

_XLS_ROWS, _XLS_COLS = 65_536, 256      # IV65536, the last cell of an .xls sheet
_CELLS = {0x0203, 0x0204, 0x00D6, 0x0205, 0x027E, 0x00FD, 0x0006}   # records holding one cell
_MULRK, _DIMENSIONS, _BOUNDSHEET, _EOF = 0x00BD, 0x0200, 0x0085, 0x000A


def check_xls(path: Path, limits: Limits) -> None:
    """Raises LedgerError for an .xls whose reading would exhaust memory or crash calamine."""
    name = path.name
    try:
        stream = read_stream(path.read_bytes(), ("Workbook", "Book", "WORKBOOK", "BOOK"))
    except OleError as why:
        raise refuse(name, why) from None
    if stream is None:
        return                              # not a workbook calamine can open: it says so itself
    sheets = []
    for typ, at, size in _records(stream, 0):
        if typ == _BOUNDSHEET and size >= 6:
            sheets.append((struct.unpack_from("<I", stream, at)[0], stream[at + 6:at + size]))
        elif typ == _EOF:
            break
    for index, (position, raw) in enumerate(sheets):
        if position > len(stream):
            raise _tampered(name, f"第 {index + 1} 张工作表的位置在文件之外",
                            f"sheet {index + 1} starts outside the workbook stream")
        _check_sheet(name, _label(raw, index), stream, position, limits)


def _records(stream: bytes, at: int):
    """(type, data offset, data size) of each record from `at`, as calamine's RecordIter."""
    end = len(stream)
    while at + 4 <= end:
        typ, size = struct.unpack_from("<HH", stream, at)
        if at + 4 + size > end:
            return                          # calamine stops with an error
        yield typ, at + 4, size
        at += 4 + size


def _check_sheet(name: str, sheet: str, stream: bytes, position: int, limits: Limits) -> None:
    top = left = None
    bottom = right = -1
    for typ, at, size in _records(stream, position):
        if typ == _EOF:
            break
        if typ == _DIMENSIONS and size in (10, 14):
            _check_dimensions(name, sheet, stream, at, size, limits)
            continue
        if typ in _CELLS and size >= 4:
            row, col = struct.unpack_from("<HH", stream, at)
            cols = (col, col)
        elif typ == _MULRK and size >= 6:
            row, first = struct.unpack_from("<HH", stream, at)
            cols = (first, struct.unpack_from("<H", stream, at + size - 2)[0])
        else:
            continue
        top = row if top is None else min(top, row)
        left = min(cols) if left is None else min(left, *cols)
        bottom, right = max(bottom, row), max(right, *cols)
    if right >= _XLS_COLS:
        raise _tampered(name, f"工作表“{sheet}”有单元格位于 {cell_name(bottom + 1, right + 1)}，超出 .xls 工作表的范围（最大 IV65536）",
                        f"sheet '{sheet}' has a cell at {cell_name(bottom + 1, right + 1)}, outside any .xls sheet "
                        "(the last cell is IV65536)")
    if top is not None:
        refuse_range(name, sheet, bottom + 1, right + 1, limits)


def _check_dimensions(name: str, sheet: str, stream: bytes, at: int, size: int, limits: Limits) -> None:
    """The DIMENSIONS record as calamine computes it: rows = last - first (32-bit, wrapping)."""
    if size == 14:
        first_row, last_row, first_col, last_col = struct.unpack_from("<IIHH", stream, at)
    else:
        first_row, last_row, first_col, last_col = struct.unpack_from("<HHHH", stream, at)
    if first_col > 0xFF or last_col < first_col:
        first_col = 0                       # calamine's own repair
    if last_row >= 1 and last_col >= 1 and (first_row > last_row or first_row >= _XLS_ROWS or last_row > _XLS_ROWS
                                            or last_col > _XLS_COLS):
        raise _tampered(
            name, f"工作表“{sheet}”声明的范围（第 {first_row:,}-{last_row:,} 行，第 {first_col:,}-{last_col:,} 列）"
                  "颠倒或超出 .xls 工作表的范围（最大 IV65536）",
            f"sheet '{sheet}' declares rows {first_row:,}-{last_row:,} and columns {first_col:,}-{last_col:,}, "
            "inverted or outside any .xls sheet (the last cell is IV65536)")
    if last_row >= 1 and last_col >= 1:
        refuse_range(name, sheet, last_row - first_row, last_col - first_col, limits)


def _label(raw: bytes, index: int) -> str:
    """The sheet's name from its BoundSheet8 record (a ShortXLUnicodeString), for messages."""
    if len(raw) >= 2:
        count, wide = raw[0], raw[1] & 1
        text = raw[2:2 + count * (2 if wide else 1)]
        decoded = text.decode("utf-16-le" if wide else "latin-1", "replace").strip("\0")
        if decoded:
            return decoded
    return f"#{index + 1}"


def _tampered(name: str, zh: str, en: str) -> LedgerError:
    return LedgerError(f"工作簿“{name}”的{zh}：文件已损坏或被篡改，读取会耗尽内存，已拒绝读取。",
                       f"In workbook '{name}', {en}: the file is damaged or was tampered with and reading it "
                       "would exhaust memory; refused.")
