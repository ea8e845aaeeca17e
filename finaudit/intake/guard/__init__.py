"""Refusing hostile or unreadable workbooks before any spreadsheet parser reads them.

fastexcel and python-calamine abort the whole process, uncatchably, when an allocation fails:
a zip that inflates to gigabytes, a tiny sheet whose cells reach from A1 to XFD1048576
(calamine allocates the cells' bounding box), an .xls whose dimensions record is huge or
inverted, an .ods whose repeated cells multiply to billions. And a formula saved without a
cached result reads as empty, or as 0, in every reader. The checks here read the file with
zipfile, zlib, struct and regular expressions only, streaming every part with a bounded
buffer, and raise LedgerError naming what they refuse. See DEPENDENCIES.md, "Hostile
workbooks". One module per job:

- archive: the zip container (sizes, ratios, members' names), and the chunks parts are read in;
- parts: one view of an xlsx's sheets, names and parts, the same for every reader;
- strings, scan (with cell_xml, string_cells): an xlsx's shared strings and worksheets, streamed;
- xlsb, xls (with ole), ods: the other formats calamine reads;
- limits: what every format is held to.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from finaudit.errors import LedgerError, join_names
from finaudit.intake.guard.archive import CHUNK as _CHUNK
from finaudit.intake.guard.archive import OVERLAP, ZIP_ERRORS, check_signature, damaged, drain, open_zip
from finaudit.intake.guard.limits import ENV_MAX_UNZIPPED_MB, MIB, Limits, column_number, letters
from finaudit.intake.guard.ods import check_ods
from finaudit.intake.guard.parts import STRINGS, SheetPart, WorkbookView, read_view
from finaudit.intake.guard.scan import SheetReport, scan_sheet
from finaudit.intake.guard.string_cells import check_string_indexes
from finaudit.intake.guard.strings import scan_strings
from finaudit.intake.guard.xls import check_xls
from finaudit.intake.guard.xlsb import check_xlsb

_OVERLAP = OVERLAP          # the sheet scan's seam between chunks (archive.OVERLAP)

__all__ = ["ENV_MAX_UNZIPPED_MB", "MIB", "Limits", "SheetReport", "SheetPart", "CheckedWorkbook",
           "OpenedWorkbook", "check_workbook", "open_workbook", "check_other", "_CHUNK", "_OVERLAP"]


@dataclass
class CheckedWorkbook:
    """A workbook that passed check_workbook, with what its sheets hold."""

    path: Path
    sheets: dict[str, SheetReport]
    recalc_pending: bool                # written by a program that left the calculation to Excel
    view: WorkbookView | None = None    # the sheets in workbook order, as every reader sees them
    strings: int | None = None          # shared strings the table holds (None: it has none)

    def refuse_string_indexes(self) -> None:
        """Raises LedgerError naming the first shared-string cell whose index is past the table,
        if there is one: called when a reader failed, since they name no cell."""
        if self.strings is None or self.view is None:
            return
        try:
            with zipfile.ZipFile(self.path) as zf, open(self.path, "rb") as fp:
                for sheet in self.view.sheets:
                    check_string_indexes(fp, zf.getinfo(sheet.member), self.path.name, sheet.name, self.strings)
        except ZIP_ERRORS:
            return

    def refuse_formulas_without_value(self, sheet: str, columns, first_row: int) -> None:
        """Raises LedgerError when a formula cell without a cached result lies in `columns`
        (letters) at or below `first_row` (1-based) of `sheet`: read, it would be empty or 0."""
        report = self.sheets.get(sheet)
        if report is None or not report.formula_count:
            return
        wanted = {column_number(c) for c in columns}
        cells = sorted((row, col) for row, col in report.formula_cells if col in wanted and row >= first_row)
        if not cells:
            return
        shown = [f"{letters(col)}{row}" for row, col in cells[:5]]
        n = len(cells)
        zh_cells = f"{join_names(shown, 'zh')} {'等' if n > len(shown) else '共'} {n:,} 个单元格"
        en_cells = f"{n:,} cell{'s' if n > 1 else ''} ({join_names(shown, 'en')}{', …' if n > len(shown) else ''})"
        raise LedgerError(
            f"工作表“{sheet}”的 {zh_cells}是公式但没有计算结果（文件未经 Excel 计算保存），无法读取其数值。"
            "请在 Excel 中打开并保存后重试。",
            f"Sheet '{sheet}' of '{self.path.name}': {en_cells} hold formulas without a calculated result "
            "(the file was not calculated and saved by Excel), so their values cannot be read; "
            "open and save it in Excel, then try again.",
        )


def check_workbook(path, limits: Limits | None = None) -> CheckedWorkbook:
    """Refuses, with LedgerError, a file that is not a readable xlsx workbook, that would make
    a reader run out of memory, or that readers would read differently; returns what the scan
    of its worksheets found."""
    return open_workbook(path, limits).scan()


@dataclass
class OpenedWorkbook:
    """An xlsx whose container, workbook parts and shared strings passed the guard: what is
    left to check is its worksheets, scan() (most of the guard's time)."""

    path: Path
    limits: Limits
    view: WorkbookView
    recalc: bool
    strings: int | None
    sheets: list                            # the worksheets' zip infos, in the archive's order

    def sizes(self) -> dict[str, int]:
        """Each worksheet's unzipped size in bytes, by sheet name."""
        by_member = self.view.by_member
        return {by_member[info.filename]: info.file_size for info in self.sheets if info.filename in by_member}

    def scan(self) -> CheckedWorkbook:
        """Scans every worksheet part: refuses ranges too large to read, entities, encodings,
        shared-string indexes past the table; returns the used ranges, formula cells, hidden
        rows and merged ranges found."""
        name = self.path.name
        by_member = self.view.by_member
        try:
            with open(self.path, "rb") as fp:
                reports = {by_member[info.filename]: scan_sheet(fp, info, name, by_member[info.filename], self.limits,
                                                                self.recalc, self.strings)
                           for info in self.sheets}
        except MemoryError:
            raise                           # the parse's memory limit (beside the readers), not damage
        except ZIP_ERRORS:
            raise damaged(name) from None
        return CheckedWorkbook(self.path, reports, self.recalc, self.view, self.strings)


def open_workbook(path, limits: Limits | None = None) -> OpenedWorkbook:
    """check_workbook's first part, before any parser may open the file: the signature, the
    zip's directory and sizes, the workbook's parts and relationships, the shared strings,
    every part but the worksheets inflated and held to its declared size."""
    path = Path(path)
    limits = limits or Limits()
    name = path.name
    check_signature(path)
    try:
        zf, infos = open_zip(path, limits, "xlsx")
        with zf, open(path, "rb") as fp:
            members = {info.filename: info for info in infos}
            view = read_view(zf, name, set(members))
            recalc = view.recalc and "xl/calcChain.xml" not in members
            # The strings first: the sheets' shared-string cells are checked against their number.
            strings = scan_strings(fp, members[STRINGS], name) if STRINGS in members else None
            by_member = view.by_member
            sheets = []
            for info in infos:
                if info.filename in by_member and info.filename.endswith(".xml"):
                    sheets.append(info)
                elif info.filename != STRINGS:
                    drain(fp, info, name)
    except ZIP_ERRORS:
        # LookupError: an XML declaration naming no known encoding; MemoryError: a directory
        # declaring a 4 GB part that zipfile tries to read at once.
        raise damaged(name) from None
    return OpenedWorkbook(path, limits, view, recalc, strings, sheets)


def check_other(path, limits: Limits | None = None) -> dict[str, SheetReport | None]:
    """The guard of the formats calamine reads alone: .xlsb, .xls and .ods. Declared
    dimensions, cell positions, repeat counts and record sizes are held to the same limits
    as an xlsx's; a file whose reading would exhaust memory or crash is refused. Returns, by
    sheet, the layout only the guard can see: an .xlsb's hidden rows and merged ranges
    (a SheetReport), or None for an .ods table with cells merged over rows that cannot be
    placed. An .xls's merged ranges come from calamine (workbooks._xls_merges)."""
    path = Path(path)
    limits = limits or Limits()
    suffix = path.suffix.lower()
    if suffix == ".xlsb":
        return check_xlsb(path, limits)
    if suffix == ".ods":
        return {sheet: None for sheet in check_ods(path, limits)}
    check_xls(path, limits)
    return {}


def check_archive(path, kind: str, limits: Limits | None = None) -> None:
    """check_other under its former name (kind: ods, xlsb)."""
    check_other(path, limits)
