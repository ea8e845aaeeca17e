"""The guard of an .xlsb (a zip of binary records), read as calamine reads it.

calamine lays a sheet's cells out as the grid of their bounding box, each cell's column a
32-bit number (a cell at column four billion aborts the process); it indexes the shared
strings by a cell's 32-bit index and the workbook's relationships by a sheet's id without
checking either (a Rust panic, which passes every `except Exception`). check_xlsb applies
the zip checks of an xlsx, then walks xl/workbook.bin, xl/sharedStrings.bin and every sheet
part record by record (bounded: only a record's first bytes are kept), and refuses declared
dimensions (BrtWsDim) and cells outside XFD1048576 or over Limits.max_cells, a shared-string
index past the table, and a sheet naming a relationship that does not exist. On the way it
notes what calamine does not expose of an .xlsb: hidden rows (BrtRowHdr) and merged ranges
(BrtMergeCell, after the cells), which the reader needs to read a sheet as Excel shows it.
"""
from __future__ import annotations

import struct
from pathlib import Path

from finaudit.errors import LedgerError
from finaudit.intake.guard.limits import EXCEL_MAX_ROW, Limits, cell_name, refuse_off_grid, refuse_range
from finaudit.intake.guard.archive import ZIP_ERRORS, check_signature, damaged, drain, inflate, open_zip
from finaudit.intake.guard.scan import MAX_MARKS, SheetReport

_RELS, _WORKBOOK, _STRINGS = "xl/_rels/workbook.bin.rels", "xl/workbook.bin", "xl/sharedStrings.bin"
_BUNDLE_SHEET, _END_BUNDLE, _SST, _SST_ITEM = 0x009C, 0x0090, 0x009F, 0x0013
_WS_DIM, _BEGIN_DATA, _ROW, _END_DATA, _CELL_ISST = 0x0094, 0x0091, 0x0000, 0x0092, 0x0007
_MERGE_CELL = 0x00B0        # [MS-XLSB] 2.4.636 BrtMergeCell: rwFirst, rwLast, colFirst, colLast (0-based)
_ROW_HIDDEN = 0x10          # BrtRowHdr: byte 11 holds the row's flags; fDyZero is a hidden row
# Cell records calamine reads, and the bytes each must hold for it not to read past them.
_CELL_SIZES = {0x0002: 12, 0x0003: 9, 0x0004: 9, 0x000A: 9, 0x0005: 16, 0x0009: 16, 0x0006: 12, 0x0008: 12,
               0x0007: 12}


def check_xlsb(path: Path, limits: Limits) -> dict[str, SheetReport]:
    """Refuses what calamine would crash or exhaust memory on; returns each sheet's hidden rows
    and merged ranges."""
    check_signature(path, "xlsb")
    name = path.name
    try:
        zf, infos = open_zip(path, limits, "xlsb")
        with zf, open(path, "rb") as fp:
            by_lower = {info.filename.lower(): info for info in infos}     # calamine ignores case
            rels = _relationships(zf, name, {info.filename for info in infos})
            sheets = _sheets(fp, by_lower.get(_WORKBOOK), name, rels)
            strings = _count_strings(fp, by_lower[_STRINGS.lower()], name) if _STRINGS.lower() in by_lower else 0
            parts = {}
            for sheet, target in sheets:
                info = by_lower.get(("xl/" + target).replace("\\", "/").lower())
                if info is not None:
                    parts[info.filename] = sheet
            reports = {}
            for info in infos:
                if info.filename in parts:
                    reports[parts[info.filename]] = _check_sheet(fp, info, name, parts[info.filename], strings, limits)
                elif info.filename.lower() not in {_WORKBOOK.lower(), _STRINGS.lower()}:
                    drain(fp, info, name)
    except ZIP_ERRORS:
        raise damaged(name, "xlsb") from None
    return reports


def records(chunks, keep: int = 16):
    """(type, size, first `keep` bytes) of each record of a part, as calamine's RecordIter
    reads them: a 1-2 byte type and a 1-4 byte length, 7 bits each. Raises EOFError on a
    record cut short."""
    buf, at, skip = b"", 0, 0
    for chunk in chunks:
        if skip >= len(chunk):
            skip -= len(chunk)
            continue
        buf, at, skip = buf[at:] + chunk[skip:], 0, 0
        while True:
            head = _header(buf, at)
            if head is None:
                break
            typ, size, start = head
            if start + min(size, keep) > len(buf):
                break
            yield typ, size, buf[start:start + min(size, keep)]
            at = start + size
            if at > len(buf):
                skip, at = at - len(buf), len(buf)
                break
    if at < len(buf) or skip:
        raise EOFError


def _header(buf: bytes, at: int):
    if at >= len(buf):
        return None
    typ = buf[at]
    at += 1
    if typ & 0x80:
        if at >= len(buf):
            return None
        typ = (typ & 0x7F) | ((buf[at] & 0x7F) << 7)
        at += 1
    size = 0
    for i in range(4):
        if at >= len(buf):
            return None
        byte = buf[at]
        at += 1
        size |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            break
    return typ, size, at


def _relationships(zf, name: str, members: set[str]) -> dict[str, str]:
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if _RELS not in members:                # calamine looks it up by its exact name
        return {}
    if zf.getinfo(_RELS).file_size > 64 * 1024 * 1024:
        raise damaged(name, "xlsb")
    try:
        tree = fromstring(zf.read(_RELS), forbid_dtd=True)
    except (DefusedXmlException, ParseError):
        raise damaged(name, "xlsb") from None
    rels: dict[str, str] = {}
    for rel in tree.iter("{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"):
        if rel.get("Id") is not None and rel.get("Target") is not None:
            if rel.get("Id") in rels:
                raise damaged(name, "xlsb")     # calamine takes the last, another reader the first
            rels[rel.get("Id")] = rel.get("Target")
    return rels


def _sheets(fp, info, name: str, rels: dict[str, str]) -> list[tuple[str, str]]:
    """(sheet name, relationship target) of each BrtBundleSh of xl/workbook.bin."""
    if info is None:
        return []
    out = []
    for typ, size, data in records(inflate(fp, info, name), keep=4096):
        if typ == _END_BUNDLE:
            break
        if typ != _BUNDLE_SHEET:
            continue
        if size < 12 or size > len(data):
            raise damaged(name, "xlsb")
        length = struct.unpack_from("<I", data, 8)[0]
        if length == 0xFFFFFFFF:
            continue
        if 12 + 2 * length + 4 > size:
            raise damaged(name, "xlsb")
        rel = data[12:12 + 2 * length].decode("utf-16-le", "replace")
        count = struct.unpack_from("<I", data, 12 + 2 * length)[0]
        sheet = data[16 + 2 * length:16 + 2 * length + 2 * count].decode("utf-16-le", "replace")
        if rel not in rels:
            raise LedgerError(
                f"工作簿“{name}”的工作表“{sheet}”引用的关系“{rel}”不存在：文件已损坏或被篡改，已拒绝读取。",
                f"Sheet '{sheet}' of workbook '{name}' refers to relationship '{rel}', which does not exist: the "
                "file is damaged or was tampered with; refused.")
        out.append((sheet, rels[rel]))
    return out


def _count_strings(fp, info, name: str) -> int:
    """How many shared strings calamine will hold: the count BrtBeginSst declares, if the part
    holds that many items (else calamine stops with an error)."""
    declared, items = None, 0
    for typ, size, data in records(inflate(fp, info, name), keep=8):
        if typ == _SST and declared is None:
            declared = struct.unpack_from("<I", data, 4)[0] if size >= 8 else 0
        elif typ == _SST_ITEM and declared is not None:
            items += 1
    return min(declared or 0, items)


def _check_sheet(fp, info, name: str, sheet: str, strings: int, limits: Limits) -> SheetReport:
    """calamine skips to the first BrtWsDim, then to BrtBeginSheetData, then reads cells; the
    merged ranges follow the cells."""
    report = SheetReport(sheet, info.filename)
    stage, row, bottom, right = "dims", 0, 0, 0
    for typ, size, data in records(inflate(fp, info, name)):
        if stage == "dims":
            if typ == _WS_DIM:
                _check_dimensions(name, sheet, size, data, limits)
                stage = "before data"
            continue
        if stage == "before data":
            stage = "data" if typ == _BEGIN_DATA else stage
            continue
        if stage == "after data":
            if typ == _MERGE_CELL and size >= 16 and len(report.merged) < MAX_MARKS:
                first_row, last_row, first_col, last_col = struct.unpack_from("<IIII", data)
                report.merged.append((first_row + 1, first_col + 1, last_row + 1, last_col + 1))
            continue
        if typ == _ROW:
            if size < 4:
                raise damaged(name, "xlsb")
            row = struct.unpack_from("<I", data)[0]
            if row > EXCEL_MAX_ROW:
                stage = "after data"        # calamine stops reading the sheet's cells here
            elif size >= 12 and data[11] & _ROW_HIDDEN and len(report.hidden_rows) < MAX_MARKS:
                report.hidden_rows.add(row + 1)
        elif typ == _END_DATA:
            stage = "after data"
        elif typ in _CELL_SIZES:
            if size < _CELL_SIZES[typ]:
                raise damaged(name, "xlsb")
            col = struct.unpack_from("<I", data)[0]
            if row + 1 > bottom or col + 1 > right:
                bottom, right = max(bottom, row + 1), max(right, col + 1)
                refuse_off_grid(name, sheet, row + 1, col + 1)
                refuse_range(name, sheet, bottom, right, limits)
            if typ == _CELL_ISST:
                index = struct.unpack_from("<I", data, 8)[0]
                if index >= strings:
                    raise LedgerError(
                        f"工作簿“{name}”的工作表“{sheet}”的单元格 {cell_name(row + 1, col + 1)} 引用第 {index:,} 号"
                        f"共享字符串，但共享字符串表只有 {strings:,} 个：文件已损坏或被篡改，已拒绝读取。",
                        f"Cell {cell_name(row + 1, col + 1)} of sheet '{sheet}' in workbook '{name}' refers to shared "
                        f"string {index:,}, but the table holds {strings:,}: the file is damaged or was tampered "
                        "with; refused.")
    return report


def _check_dimensions(name: str, sheet: str, size: int, data: bytes, limits: Limits) -> None:
    """BrtWsDim: first and last row, first and last column, 0-based."""
    if size < 16:
        raise damaged(name, "xlsb")
    first_row, last_row, first_col, last_col = struct.unpack_from("<IIII", data)
    if first_row > last_row or first_col > last_col:
        raise LedgerError(
            f"工作簿“{name}”的工作表“{sheet}”声明的范围颠倒（{cell_name(first_row + 1, first_col + 1)} 到 "
            f"{cell_name(last_row + 1, last_col + 1)}）：文件已损坏或被篡改，已拒绝读取。",
            f"Sheet '{sheet}' of workbook '{name}' declares an inverted range (from "
            f"{cell_name(first_row + 1, first_col + 1)} to {cell_name(last_row + 1, last_col + 1)}): the "
            "file is damaged or was tampered with; refused.")
    refuse_off_grid(name, sheet, last_row + 1, last_col + 1)
    refuse_range(name, sheet, last_row + 1, last_col + 1, limits)
