"""The guard of an .ods: what calamine would allocate for content.xml, worked out before it does.

calamine reads every table of content.xml when the file is opened. It stores each row
element once, with every cell that carries content repeated `table:number-columns-repeated`
times (each copy a value and a formula string, a string value copied each time), and then
lays the table out as a grid from its first to its last row with content, repeating each
row `table:number-rows-repeated` times: a 4 KB file can ask for 99 million cells. Empty
cells after the last content of a row, and empty rows after the last row with content, are
not stored: LibreOffice writes both with huge repeat counts in every file it saves, and
they cost nothing. A `<text:s text:c="…"/>` is expanded into that many spaces.

The scan streams content.xml with one regular expression and a bounded carry, and refuses a
table whose stored or laid-out cells exceed Limits.max_cells, or whose repeated text exceeds
what the whole workbook may inflate to.
"""
from __future__ import annotations

import re
from pathlib import Path

from finaudit.errors import LedgerError
from finaudit.intake.guard.limits import EXCEL_MAX_COL, EXCEL_MAX_ROW, Limits, size_text
from finaudit.intake.guard.archive import PROLOG, ZIP_ERRORS, check_signature, damaged, drain, inflate, open_zip, refuse_entities

_CELL_BYTES = 56            # a calamine cell as read_row stores it: a value and a formula string
_GRID_BYTES = 32            # a cell of the laid-out grid
_MAX_TAG = 1024 * 1024
_TOKEN = re.compile(rb'<(/?)(table:table-row|table:table-cell|table:covered-table-cell|table:table|text:s)'
                    rb'(?=[\s/>])((?:[^>"\']|"[^"]*"|\'[^\']*\')*)>')
_START = re.compile(rb'</?(?:table:table-row|table:table-cell|table:covered-table-cell|table:table|text:s)(?=[\s/>])')
_CONTENT = re.compile(rb'(?:^|\s)(?:office:(?:value|string-value|date-value|time-value|boolean-value)|table:formula)'
                      rb'\s*=|(?:^|\s)office:value-type\s*=\s*["\']string["\']')
_COLS = re.compile(rb'(?:^|\s)table:number-columns-repeated\s*=\s*["\']\+?([0-9]+)["\']')
_ROWS = re.compile(rb'(?:^|\s)table:number-rows-repeated\s*=\s*["\']\+?([0-9]+)["\']')
_SPACES = re.compile(rb'(?:^|\s)text:c\s*=\s*["\']\+?([0-9]+)["\']')
_SPANNED = re.compile(rb'(?:^|\s)table:number-rows-spanned\s*=\s*["\']\+?([0-9]+)["\']')
_NAME = re.compile(rb'(?:^|\s)table:name\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')


def check_ods(path: Path, limits: Limits) -> set[str]:
    """Refuses what would exhaust memory; returns the names of the tables with a cell merged
    over rows, which calamine cannot expose (the reader refuses those sheets, never reading
    the rows under a merged label as empty)."""
    check_signature(path, "ods")
    name = path.name
    merged: set[str] = set()
    try:
        zf, infos = open_zip(path, limits, "ods")
        with zf, open(path, "rb") as fp:
            for info in infos:
                if info.filename == "content.xml":
                    content = _Content(name, limits)
                    content.scan(inflate(fp, info, name))
                    merged = content.merged
                else:
                    drain(fp, info, name)
    except ZIP_ERRORS:
        raise damaged(name, "ods") from None
    return merged


def _repeat(pattern: re.Pattern, attrs: bytes) -> int:
    match = pattern.search(attrs)
    return int(match.group(1)) if match else 1     # a count calamine cannot parse stops it


class _Table:
    def __init__(self, name: str):
        self.name = name
        self.rows = 0               # row elements' repeats so far, capped as calamine caps them
        self.stored = 0             # cells read_row stores
        self.text = 0               # bytes of string values copied
        self.col_min, self.col_max = EXCEL_MAX_COL, -1
        self.span = 0               # rows from the first row with content to the last
        self.before_span = None     # rows before the first row with content (None: none seen yet)
        self.span_text = 0          # text of the content rows, times their repeats


class _Content:
    """The scan of content.xml: one table, row and cell at a time."""

    def __init__(self, name: str, limits: Limits):
        self.name, self.limits = name, limits
        self.merged: set[str] = set()   # tables with a cell merged over rows
        self.table: _Table | None = None
        self.offset = 0             # of the buffer's first byte in content.xml
        self.cell = None            # the open content cell: (repeats stored, where its text starts)
        self.row = None             # the open row: [repeats, length, pending empties, first, last, text]
        self.total = 0

    def scan(self, chunks) -> None:
        carry = b""
        for chunk in chunks:
            if not self.offset and not carry:
                refuse_entities(chunk[:PROLOG], self.name, "content.xml")
            buf = carry + chunk
            cut = buf.rfind(b"<")       # a token holds one `<`: one starting before it ends by then
            if cut < 0:
                cut = len(buf)
            elif len(buf) - cut > _MAX_TAG:
                if _TOKEN.match(buf, cut) is None and _START.match(buf, cut):
                    raise LedgerError(
                        f"工作簿“{self.name}”的 content.xml 含有长于 1 MB 的表格标签，不是电子表格程序写出的，已拒绝读取。",
                        f"content.xml in workbook '{self.name}' holds a table tag longer than 1 MB, which no "
                        "spreadsheet program writes; refused.")
                cut = len(buf)
            for match in _TOKEN.finditer(buf, 0, cut):
                self.token(match, self.offset)
            carry = buf[cut:]
            self.offset += cut
        for match in _TOKEN.finditer(carry):
            self.token(match, self.offset)

    def token(self, match: re.Match, offset: int) -> None:
        closing, tag, attrs = match.groups()
        if tag == b"table:table":
            if closing:
                self.close_table()
            else:
                found = _NAME.search(attrs)
                label = (found.group(1) or found.group(2) or b"").decode("utf-8", "replace") if found else "?"
                self.table = _Table(label)
            return
        table = self.table
        if table is None:
            return
        if tag == b"table:table-row":
            if closing:
                self.close_row()
            else:
                repeats = min(_repeat(_ROWS, attrs), max(EXCEL_MAX_ROW - table.rows, 0))
                table.rows += repeats
                self.row = [repeats, 0, 0, None, None, 0]
                if attrs.rstrip().endswith(b"/"):
                    self.close_row()
            return
        if tag == b"text:s":
            if self.cell is not None and not closing:
                self.row[5] += self.cell[0] * _repeat(_SPACES, attrs)
            return
        if self.row is None:
            return
        if closing:
            if self.cell is not None:
                stored, start = self.cell
                self.row[5] += stored * max(offset + match.start() - start, 0)
                self.cell = None
            return
        row = self.row
        if tag == b"table:table-cell" and _repeat(_SPANNED, attrs) > 1:
            self.merged.add(table.name)
        # The empty cells pending before this one are stored now, whatever this one holds:
        # only the row's last run of empty cells is never stored.
        empties = min(row[2], EXCEL_MAX_COL - row[1])
        row[1] += empties
        table.stored += empties
        row[2] = 0
        stored = min(_repeat(_COLS, attrs), EXCEL_MAX_COL - row[1])
        if not _CONTENT.search(attrs):
            row[2] = stored
            return
        table.stored += stored
        if row[3] is None:
            row[3] = row[1]
        row[4] = row[1] + stored - 1
        row[1] += stored
        row[5] += stored * len(attrs)           # a string-value attribute, copied each time
        if not attrs.rstrip().endswith(b"/"):
            self.cell = (stored, offset + match.end())

    def close_row(self) -> None:
        table, row = self.table, self.row
        self.row = self.cell = None
        if row is None:
            return
        table.text += row[5]
        if row[3] is None:
            return
        table.col_min, table.col_max = min(table.col_min, row[3]), max(table.col_max, row[4])
        if table.before_span is None:
            table.before_span = table.rows - row[0]
        table.span = table.rows - table.before_span
        table.span_text += row[0] * row[5]
        self.check(table)

    def close_table(self) -> None:
        if self.table is not None:
            self.check(self.table)
            self.total += self.grid(self.table)
            if self.total > self.limits.max_cells:
                self.refuse_cells(self.table, self.total, "整个工作簿", "the workbook as a whole")
        self.table = self.row = self.cell = None

    @staticmethod
    def grid(table: _Table) -> int:
        width = table.col_max + 1 - table.col_min if table.col_max >= 0 else 0
        return table.stored + width * table.span

    def check(self, table: _Table) -> None:
        cells = self.grid(table)
        if cells > self.limits.max_cells:
            self.refuse_cells(table, cells, f"工作表“{table.name}”", f"sheet '{table.name}'")
        text = table.text + table.span_text
        if text > self.limits.max_unzipped_bytes:
            raise LedgerError(
                f"工作簿“{self.name}”的工作表“{table.name}”中重复的文字展开后将达 {size_text(text)}，超过上限 "
                f"{size_text(self.limits.max_unzipped_bytes)}，读取会耗尽内存，已拒绝读取。",
                f"The repeated text of sheet '{table.name}' in workbook '{self.name}' would expand to "
                f"{size_text(text)}, over the limit of {size_text(self.limits.max_unzipped_bytes)}: reading it "
                "would exhaust memory; refused.")

    def refuse_cells(self, table: _Table, cells: int, zh: str, en: str) -> None:
        raise LedgerError(
            f"工作簿“{self.name}”的{zh}按重复次数（number-columns-repeated / number-rows-repeated）展开后有 "
            f"{cells:,} 个单元格，超过上限 {self.limits.max_cells:,} 个，读取会耗尽内存，已拒绝读取。",
            f"In workbook '{self.name}', {en} expands by its repeat counts (number-columns-repeated / "
            f"number-rows-repeated) to {cells:,} cells, over the limit of {self.limits.max_cells:,}: "
            "reading it would exhaust memory; refused.")
