"""Scanning one xlsx worksheet's XML, streamed, for what a reader would trip on or misread.

fastexcel and python-calamine abort the whole process, uncatchably, when an allocation fails,
and a tiny sheet whose cells reach from A1 to XFD1048576 makes calamine allocate the cells'
bounding box. A formula saved without a cached result reads as empty, or as 0, in every
reader; a shared-string cell whose index is not a plain number reads as the first string in
calamine. The scan finds the used range, those formula cells, the shared-string indexes,
hidden rows and merged ranges, with regular expressions over bounded windows of the part.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from finaudit.errors import LedgerError
from finaudit.intake.guard.limits import Limits, cell_name, column_number, refuse_off_grid, refuse_range
from finaudit.intake.guard.archive import OVERLAP, PROLOG, inflate, refuse_entities, windows
from finaudit.intake.guard.cell_xml import ATTR_R, CELL_TOKEN, CELL_VALUE, PREFIX, TAG_REACH, attribute
from finaudit.intake.guard.string_cells import NOT_AN_INDEX, check_string_cells

_CONTEXT = 32               # what a cell reference's patterns read past its `<c`
_KEEP_FORMULAS = 100_000    # formula cells remembered per sheet (all are counted)
_EXCEL_COLUMNS = 26         # columns a one-letter reference can name


@dataclass
class SheetReport:
    """What the scan of one worksheet found."""

    name: str
    member: str
    max_row: int = 0                    # the used range, from A1 (cells and <dimension>)
    max_col: int = 0
    formula_count: int = 0              # formula cells without a usable cached result
    formula_cells: list[tuple[int, int]] = field(default_factory=list)  # (row, col), 1-based
    hidden_rows: set[int] = field(default_factory=set)          # rows marked hidden, 1-based
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (row1, col1, row2, col2)

    @property
    def corner(self) -> str:
        return cell_name(self.max_row, self.max_col)


_NAME_CHAR = re.compile(rb"[^\s/>]")
_WEIRD = re.compile(rb'<c(?! r="[A-Z]{1,3}\d{1,7}"[\s/>])')   # a cell not written the way Excel does
_REF = re.compile(rb'<c r="([A-Z]{1,3})(\d{1,7})"')
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_ATTR_T = re.compile(rb'(?:^|\s)t\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_CELL_REF = re.compile(rb"([A-Za-z]*)(\d*)")
_FORMULA = re.compile(rb"<" + PREFIX + rb"f[\s/>]")
_FIRST_CHILD_FORMULA = re.compile(rb"\s*<" + PREFIX + rb"f[\s/>]")
_CELL_END = re.compile(rb"</" + PREFIX + rb"c\s*>")
_HIDDEN_TRUE = re.compile(rb'\shidden\s*=\s*["\'](?:1|true)["\']')
_MERGE = re.compile(rb'<' + PREFIX + rb'mergeCell\s[^>]*?\bref\s*=\s*["\']([A-Z]{1,3}\d{1,7}):([A-Z]{1,3}\d{1,7})["\']')
MAX_MARKS = 1_000_000      # hidden rows and merged ranges remembered per sheet
_DIMENSION = re.compile(rb"<" + PREFIX + rb"dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)")
_ODD: dict[int, re.Pattern] = {}


class _Irregular(Exception):
    """The sheet has cells the window scans do not cover: replay it token by token."""


def _odd(digits: int) -> re.Pattern:
    """A cell whose reference is not one letter and at most `digits` digits, written as Excel does.
    This pattern is most of the guard's time: [0-9] is faster than \\d, and a possessive
    quantifier (Python 3.11+) faster still."""
    if digits not in _ODD:
        try:
            _ODD[digits] = re.compile(rb'<c(?! r="[A-Z][0-9]{1,%d}+"[\s/>])' % digits)
        except re.error:
            _ODD[digits] = re.compile(rb'<c(?! r="[A-Z][0-9]{1,%d}"[\s/>])' % digits)
    return _ODD[digits]


def scan_sheet(fp, info, name: str, sheet: str, limits: Limits, recalc: bool,
               strings: int | None = None) -> SheetReport:
    """Finds the sheet's used range and its formula cells without a cached result, and refuses
    a shared-string cell whose index is not one of the `strings` the workbook holds (None:
    it has no shared-strings part, and calamine refuses every such cell itself).

    Excel writes every cell `<c r="H123" ...>`. One regular-expression pass per window proves,
    in C, that a window names only one-letter columns and short row numbers ("bounded"); a
    window with any other cell has all its references read ("exact"). A cell without a
    reference, or written another way, makes the whole sheet replay calamine's placing of
    cells token by token ("tokens": slow, but only such files pay it)."""
    # One letter and `digits` digits bound a window to 26 columns x (10^digits - 1) rows.
    digits = 0
    while digits < 7 and _EXCEL_COLUMNS * (10 ** (digits + 1) - 1) <= limits.max_cells:
        digits += 1
    mode = "bounded" if digits else "exact"
    bad_index = None if strings is None else NOT_AN_INDEX
    while True:
        scan = _Scan(SheetReport(sheet, info.filename), recalc, mode, _odd(digits) if digits else None)
        try:
            first = True
            for window, limit in windows(inflate(fp, info, name)):
                if first:
                    scan.prolog(window, name, sheet)
                    first = False
                if bad_index is not None:
                    check_string_cells(bad_index, window, limit, name, sheet, strings)
                scan.window(window, limit)
        except _Irregular:
            mode = "tokens"
            continue
        report = scan.report
        refuse_off_grid(name, sheet, report.max_row, report.max_col)
        rows = max(report.max_row, 10 ** digits - 1 if scan.bounded else 0)
        cols = max(report.max_col, _EXCEL_COLUMNS if scan.bounded else 0)
        if rows * cols <= limits.max_cells:
            return report
        if not scan.bounded:
            refuse_range(name, sheet, report.max_row, report.max_col, limits)
        mode = "exact"                      # the bound was too loose: read every reference


class _Scan:
    """The scan of one sheet in one mode; see _scan_sheet."""

    def __init__(self, report: SheetReport, recalc: bool, mode: str, odd: re.Pattern | None):
        self.report, self.recalc, self.mode, self.odd = report, recalc, mode, odd
        self.bounded = False                # some window was only proven bounded, not read
        self.row_index = self.col_index = 0     # calamine's running position (0-based), tokens mode

    def prolog(self, window: bytes, name: str, sheet: str) -> None:
        refuse_entities(window[:PROLOG], name, self.report.member)
        if b"\x00" in window[:1024]:
            raise LedgerError(f"工作簿“{name}”的工作表“{sheet}”的 XML 不是 UTF-8 编码（Excel 只写 UTF-8），已拒绝读取。",
                              f"The XML of sheet '{sheet}' in workbook '{name}' is not UTF-8 (Excel only writes "
                              "UTF-8); refused.")
        match = _DIMENSION.search(window, 0, OVERLAP)
        position = match and _position(match.group(1).rsplit(b":", 1)[-1])
        if position:
            self._cell(*position)

    def window(self, w: bytes, limit: int) -> None:
        self._marks(w, limit)
        if self.mode == "tokens":
            self._tokens(w, limit)
            return
        colon = w.find(b":", 0, limit)
        if colon >= 0:
            match = _PREFIXED.search(w, colon, limit + _CONTEXT)
            if match and match.start() < limit:
                raise _Irregular            # <x:c>: a namespace prefix
        if self.mode == "exact" or _has_cell(self.odd, w, limit):
            if _has_cell(_WEIRD, w, limit):
                raise _Irregular
            refs = _REF.findall(w, 0, limit + _CONTEXT)   # a reference starting before limit ends by then
            if refs:
                letters = max({r[0] for r in refs}, key=lambda s: (len(s), s))
                self._cell(max(int(r) for r in {r[1] for r in refs}), column_number(letters.decode()))
        else:
            self.bounded = True
        self._formulas(w, limit)

    def _marks(self, w: bytes, limit: int) -> None:
        """Hidden rows and merged ranges, which the reader needs to read a sheet as it is shown.
        Both are rare; a tag counts in the window where it starts."""
        report = self.report
        for i in _occurrences(w, b"hidden", 0, limit + TAG_REACH):
            if len(report.hidden_rows) >= MAX_MARKS:
                break
            start = w.rfind(b"<", 0, i)
            end = w.find(b">", i)
            token = 0 <= start < limit and end > 0 and CELL_TOKEN.match(w, start, end + 1)
            if token:
                closing, tag, attrs = token.groups()
                ref = attribute(ATTR_R, attrs)
                position = ref is not None and _position(ref, row_only=True)
                if tag == b"row" and not closing and position and _HIDDEN_TRUE.search(attrs):
                    report.hidden_rows.add(position[0])
        for i in _occurrences(w, b"mergeCell", 0, limit):
            if len(report.merged) >= MAX_MARKS:
                break
            match = _MERGE.match(w, max(w.rfind(b"<", 0, i), 0))
            if match:
                first, last = _position(match.group(1)), _position(match.group(2))
                if first and last:
                    report.merged.append((min(first[0], last[0]), min(first[1], last[1]),
                                          max(first[0], last[0]), max(first[1], last[1])))

    def _cell(self, row: int, col: int) -> None:
        report = self.report
        if row > report.max_row:
            report.max_row = row
        if col > report.max_col:
            report.max_col = col

    def _tokens(self, w: bytes, limit: int) -> None:
        """Replays how calamine places cells: by the cell's r, else by the row's r and the
        cells before it in the row. Positions are overestimated where in doubt."""
        for match in CELL_TOKEN.finditer(w):
            if match.start() >= limit:
                break
            closing, tag, attrs = match.groups()
            empty = attrs.rstrip().endswith(b"/")
            if tag == b"row":
                if not closing:
                    ref = attribute(ATTR_R, attrs)
                    position = ref is not None and _position(ref, row_only=True)
                    if position:
                        self.row_index = position[0] - 1
                if closing or empty:
                    self.row_index, self.col_index = self.row_index + 1, 0
                continue
            if closing:
                continue
            ref = attribute(ATTR_R, attrs)
            position = ref is not None and _position(ref)
            if position:
                self.col_index = position[1] - 1
            else:
                position = (self.row_index + 1, self.col_index + 1)
            self._cell(*position)
            self.col_index += 1
            if not empty and _FIRST_CHILD_FORMULA.match(w, match.end()):
                self._formula_cell(w, match, *position)

    def _formulas(self, w: bytes, limit: int) -> None:
        """Finds `<f` by memchr on "f" (formulas are rare, and so is "f" in a ledger's cells),
        or by a regular expression in a window where "f" is common."""
        end = limit + TAG_REACH
        i, seen, done = w.find(b"f", 0, end), 0, -1
        while i >= 0:
            if w[i - 1:i] == b"<" and not _NAME_CHAR.match(w, i + 1):
                done = self._formula_at(w, i - 1, limit, done)
            seen += 1
            if seen > 64:
                for match in _FORMULA.finditer(w, i + 1, end):
                    done = self._formula_at(w, match.start(), limit, done)
                return
            i = w.find(b"f", i + 1, end)

    def _formula_at(self, w: bytes, at: int, limit: int, done: int) -> int:
        """Handles the cell holding the formula element at `at` if it starts before `limit`
        (and after the last one handled, `done`); returns the new `done`."""
        start = w.rfind(b"<c", 0, at)
        if start < 0 or start <= done or start >= limit:
            return done
        match = CELL_TOKEN.match(w, start)
        position = match and match.group(2) == b"c" and _position(attribute(ATTR_R, match.group(3)) or b"")
        if position:
            self._formula_cell(w, match, *position)
        return start

    def _formula_cell(self, w: bytes, head: re.Match, row: int, col: int) -> None:
        """Records the cell if its cached result is missing; or, in a workbook a program wrote
        leaving the calculation to Excel, empty or the 0 such programs write by default."""
        end = _CELL_END.search(w, head.end(), head.end() + OVERLAP)
        if not end:
            return                          # longer than any cell a spreadsheet program writes
        value = CELL_VALUE.search(w, head.end(), end.start())
        text = b"" if value is None or value.group(1).rstrip().endswith(b"/") else value.group(2).strip()
        kind = attribute(_ATTR_T, head.group(3))
        if not text:
            missing = value is None or self.recalc or kind not in {b"str", b"inlineStr"}
        else:
            missing = self.recalc and text == b"0" and kind in {None, b"n"}
        if missing:
            self.report.formula_count += 1
            if len(self.report.formula_cells) < _KEEP_FORMULAS:
                self.report.formula_cells.append((row, col))


# A byte of each word that cell XML rarely holds: memchr for it runs at memory speed, where a
# find of the whole word runs at about 1.3 GB/s (measured: 0.76 ms per MB for b"hidden").
_PROBES = {b"hidden": b"h", b"mergeCell": b"g"}


def _occurrences(w: bytes, word: bytes, start: int, end: int):
    """Positions of `word` in w[start:end]: by memchr on its rare byte, or by a plain find
    once that byte turns out to be common in the window (row heights `ht=` on every row)."""
    probe = _PROBES[word]
    offset = word.index(probe)
    i, seen = w.find(probe, start + offset, end), 0
    while i >= 0:
        if w.startswith(word, i - offset):
            yield i - offset
        seen += 1
        if seen > 64:
            i = w.find(word, i - offset + 1, end)
            while i >= 0:
                yield i
                i = w.find(word, i + len(word), end)
            return
        i = w.find(probe, i + 1, end)


def _has_cell(pattern: re.Pattern, w: bytes, limit: int) -> bool:
    """Whether `pattern` (which matches `<c`) finds a cell element starting before `limit`."""
    for match in pattern.finditer(w, 0, limit + _CONTEXT):
        if match.start() >= limit:
            return False
        if not _NAME_CHAR.match(w, match.end()):    # <c ...>, not <col> or <cfRule>
            return True
    return False


def _position(ref: bytes, row_only: bool = False) -> tuple[int, int] | None:
    """(row, column), 1-based, of a reference such as b"XFD1048576", or None when it is not one
    (calamine stops with an error on those, which is no crash)."""
    match = _CELL_REF.fullmatch(ref.strip())
    if not match or not match.group(2) or not (row_only or match.group(1)):
        return None
    letters, digits = match.group(1).decode().upper(), match.group(2)
    if len(letters) > 7 or len(digits) > 12:
        return (10 ** 12, 26 ** 7)          # beyond any limit (and past what a u32 holds)
    return int(digits), column_number(letters)
