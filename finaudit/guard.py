"""Refusing hostile or unreadable workbooks before any spreadsheet parser opens them.

fastexcel and python-calamine abort the whole process, uncatchably, when an
allocation fails: a zip that inflates to gigabytes, or a tiny sheet whose cells
reach from A1 to XFD1048576 (calamine allocates the cells' bounding box). And a
formula saved without a cached result reads as empty, or as 0, in every reader.
check_workbook looks at the file with zipfile, zlib and regular expressions only,
streaming every part with a bounded buffer and building no tree of anything but
the small xl/workbook.xml and its relationships, and raises LedgerError for each
of these. See DEPENDENCIES.md, "Hostile workbooks".
"""
from __future__ import annotations

import os
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LedgerError, UsageError, join_names

MIB = 1024 * 1024
ENV_MAX_UNZIPPED_MB = "FINAUDIT_MAX_UNZIPPED_MB"
_OLE_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")  # compound file: an encrypted xlsx, or an .xls
_CHUNK = MIB                # inflated bytes handed to the scanner at a time
_OVERLAP = 64 * 1024        # seen again after a chunk boundary: longer than any cell Excel writes
_CONTEXT = 32               # what a cell reference's patterns read past its `<c`
_TAG = 4096                 # how far a cell's first child (its formula) may be from its `<c`
_MAX_TREE_BYTES = 64 * MIB  # xl/workbook.xml and its .rels are parsed as trees
_KEEP_FORMULAS = 100_000    # formula cells remembered per sheet (all are counted)
_EXCEL_COLUMNS = 26         # columns a one-letter reference can name
_EXCEL_MAX_ROW, _EXCEL_MAX_COL = 1_048_576, 16_384   # XFD1048576, the last cell of any sheet


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
        return f"{_letters(self.max_col)}{self.max_row}"


@dataclass
class CheckedWorkbook:
    """A workbook that passed check_workbook, with what its sheets hold."""

    path: Path
    sheets: dict[str, SheetReport]
    recalc_pending: bool                # written by a program that left the calculation to Excel

    def refuse_formulas_without_value(self, sheet: str, columns, first_row: int) -> None:
        """Raises LedgerError when a formula cell without a cached result lies in `columns`
        (letters) at or below `first_row` (1-based) of `sheet`: read, it would be empty or 0."""
        report = self.sheets.get(sheet)
        if report is None or not report.formula_count:
            return
        wanted = {_column_number(c) for c in columns}
        cells = sorted((row, col) for row, col in report.formula_cells if col in wanted and row >= first_row)
        if not cells:
            return
        shown = [f"{_letters(col)}{row}" for row, col in cells[:5]]
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
    """Refuses, with LedgerError, a file that is not a readable xlsx workbook or that would
    make a reader run out of memory; returns what the scan of its worksheets found."""
    path = Path(path)
    limits = limits or Limits()
    name = path.name
    _check_signature(path)
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as fp:
            infos = zf.infolist()
            _check_directory(name, infos, limits)
            names = {info.filename for info in infos}
            sheets, recalc = _sheet_members(zf, name, names)
            recalc = recalc and "xl/calcChain.xml" not in names
            by_member: dict[str, list[str]] = {}
            for sheet, member in sheets.items():
                by_member.setdefault(member, []).append(sheet)
            reports = {}
            for info in infos:
                named = by_member.get(info.filename)
                if not named and info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    named = [info.filename]     # no sheet names it: a reader resolving paths otherwise might
                if named:
                    report = _scan_sheet(fp, info, name, named[0], limits, recalc)
                    reports.update((sheet, report) for sheet in named)
                else:
                    _drain(fp, info, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error, struct.error,
            NotImplementedError, ValueError, LookupError, MemoryError):
        # LookupError: an XML declaration naming no known encoding; MemoryError: a directory
        # declaring a 4 GB part that zipfile tries to read at once.
        raise _damaged(name) from None
    return CheckedWorkbook(path, reports, recalc)


def check_archive(path, kind: str, limits: Limits | None = None) -> None:
    """check_workbook's zip checks for a workbook in another zip format (`kind`: ods, xlsb):
    declared and actual inflated sizes, ratios, and no entity declarations in an XML part.
    Their sheets are not scanned for ranges or formulas: the reader's own limits apply."""
    path = Path(path)
    limits = limits or Limits()
    try:
        with zipfile.ZipFile(path) as zf, open(path, "rb") as fp:
            infos = zf.infolist()
            _check_directory(path.name, infos, limits)
            for info in infos:
                _drain(fp, info, path.name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error, struct.error,
            NotImplementedError, ValueError, LookupError, MemoryError):
        raise _damaged(path.name, kind) from None


# --- the zip container ---------------------------------------------------------

def _check_signature(path: Path) -> None:
    with open(path, "rb") as fp:
        head = fp.read(8)
    if not head:
        raise LedgerError(f"文件“{path.name}”是空文件（0 字节），不是 xlsx 工作簿。",
                          f"'{path.name}' is an empty file (0 bytes), not an xlsx workbook.")
    if head == _OLE_SIGNATURE:
        raise LedgerError(
            f"工作簿“{path.name}”设有打开密码（已加密），或是旧版 .xls 文件，无法读取；"
            "请在 Excel 中删除密码（文件 → 信息 → 保护工作簿 → 用密码进行加密）或另存为 .xlsx 后重试。",
            f"Workbook '{path.name}' is password-protected (encrypted) or an old .xls file, so it cannot be "
            "read; remove the password in Excel (File > Info > Protect Workbook > Encrypt with Password) "
            "or save it as .xlsx, then try again.",
        )
    if not head.startswith(b"PK"):
        raise LedgerError(
            f"文件“{path.name}”不是 xlsx 工作簿：xlsx 是 zip 压缩包，而它不是（可能是改了扩展名的其他文件）。",
            f"'{path.name}' is not an xlsx workbook: an xlsx file is a zip archive and this one is not "
            "(perhaps another kind of file renamed).",
        )


def _damaged(name: str, kind: str = "xlsx") -> LedgerError:
    return LedgerError(f"工作簿“{name}”已损坏或不完整（可能在下载或复制时被截断），无法作为 {kind} 读取。",
                       f"Workbook '{name}' is damaged or incomplete (perhaps cut short while downloading or "
                       f"copying) and cannot be read as {kind}.")


def _check_directory(name: str, infos, limits: Limits) -> None:
    """Declared sizes, before anything is inflated."""
    if len(infos) > limits.max_members:
        raise LedgerError(f"工作簿“{name}”包含 {len(infos):,} 个压缩成员，超过上限 {limits.max_members:,} 个，已拒绝读取。",
                          f"Workbook '{name}' holds {len(infos):,} zip members, over the limit of "
                          f"{limits.max_members:,}; refused.")
    seen = set()
    for info in infos:
        if info.filename in seen:   # the guard and the reader could each pick a different one
            raise _damaged(name)
        seen.add(info.filename)
        if info.flag_bits & 0x1:
            raise LedgerError(f"工作簿“{name}”的成员“{info.filename}”经过 zip 加密，无法读取。",
                              f"Member '{info.filename}' of workbook '{name}' is zip-encrypted and cannot be read.")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise LedgerError(
                f"工作簿“{name}”的成员“{info.filename}”使用了不支持的压缩方法（编号 {info.compress_type}），"
                "Excel 只用 deflate，已拒绝读取。",
                f"Member '{info.filename}' of workbook '{name}' uses compression method {info.compress_type}; "
                "Excel only writes deflate. Refused.")
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_min_bytes and ratio > limits.max_ratio:
            raise LedgerError(
                f"工作簿“{name}”的成员“{info.filename}”解压后将达 {_size(info.file_size)}，压缩比 {ratio:,.0f}:1，"
                f"超过上限 {limits.max_ratio:,.0f}:1，疑似压缩炸弹，已拒绝读取。",
                f"Member '{info.filename}' of workbook '{name}' would inflate to {_size(info.file_size)}, a "
                f"compression ratio of {ratio:,.0f}:1, over the limit of {limits.max_ratio:,.0f}:1 "
                "(a zip bomb?); refused.")
    total = sum(info.file_size for info in infos)
    if total > limits.max_unzipped_bytes:
        packed = max(sum(info.compress_size for info in infos), 1)
        raise LedgerError(
            f"工作簿“{name}”解压后将达 {_size(total)}，超过上限 {_size(limits.max_unzipped_bytes)}"
            f"（压缩比 {total / packed:,.0f}:1），疑似压缩炸弹，已拒绝读取。",
            f"Workbook '{name}' would inflate to {_size(total)}, over the limit of "
            f"{_size(limits.max_unzipped_bytes)} (compression ratio {total / packed:,.0f}:1; a zip bomb?); "
            f"refused. The limit is set by {ENV_MAX_UNZIPPED_MB}.")


def _inflate(fp, info, name: str):
    """Yields the member's bytes from the archive itself, never more than it declares: a part
    that inflates past its declared size is refused, whatever the directory says."""
    fp.seek(info.header_offset)
    head = fp.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise _damaged(name)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    left = info.compress_size
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise _damaged(name)
        while left:
            data = fp.read(min(_CHUNK, left))
            if not data:
                raise _damaged(name)
            left -= len(data)
            yield data
        return
    inflater, produced, pending = zlib.decompressobj(-15), 0, b""
    while not inflater.eof:
        if pending:
            data = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
        elif left:
            pending = fp.read(min(MIB, left))
            if not pending:
                raise _damaged(name)
            left -= len(pending)
            continue
        else:
            data = inflater.flush()             # what zlib still holds: at most one match
            if not inflater.eof:
                raise _damaged(name)            # the deflate stream is cut short
        produced += len(data)
        if produced > info.file_size:
            raise LedgerError(
                f"工作簿“{name}”的成员“{info.filename}”实际解压后超过其声明的 {_size(info.file_size)}，"
                "文件被篡改或已损坏，已拒绝读取。",
                f"Member '{info.filename}' of workbook '{name}' inflates past the {_size(info.file_size)} it "
                "declares: the file was tampered with or is damaged; refused.")
        if data:
            yield data


def _drain(fp, info, name: str) -> None:
    """Inflates a part nobody scans, to hold it to its declared size; XML parts must not
    declare entities, and a shared-strings table must not claim more strings than it holds."""
    first = True
    for data in _inflate(fp, info, name):
        if first and info.filename.endswith((".xml", ".rels")):
            _refuse_entities(data[:_OVERLAP], name, info.filename)
            if info.filename.endswith("sharedStrings.xml"):
                _refuse_string_count(data[:_OVERLAP], info, name)
        first = False


def _refuse_string_count(prolog: bytes, info, name: str) -> None:
    """calamine reserves room for the `uniqueCount` sharedStrings.xml declares before reading a
    string: 4294967296 in a 2 KB file aborts the process. Each string takes at least the 5 bytes
    of `<si/>`, so a uniqueCount above a fifth of the part's size is a lie. (`count` is the
    number of cells using the strings, often larger, as LibreOffice writes it; calamine does
    not reserve by it: measured.)"""
    tag = _SST_TAG.search(prolog)
    if not tag:
        return
    declared = max((int(n) for n in _SST_UNIQUE.findall(tag.group(0))), default=0)
    possible = info.file_size // 5
    if declared > possible:
        raise LedgerError(
            f"工作簿“{name}”的共享字符串表声明有 {declared:,} 个字符串，但其大小最多容得下 {possible:,} 个："
            "文件被篡改或已损坏，已拒绝读取。",
            f"The shared-strings table of workbook '{name}' declares {declared:,} strings where its size holds "
            f"at most {possible:,}: the file was tampered with or is damaged; refused.")


def _refuse_entities(prolog: bytes, name: str, member: str) -> None:
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        raise _entities(name, member)


def _entities(name: str, member: str) -> LedgerError:
    return LedgerError(
        f"工作簿“{name}”的“{member}”含有 XML 实体或 DTD 声明（可能是 XXE 或“十亿笑”攻击），已拒绝读取。",
        f"'{member}' in workbook '{name}' contains XML entity or DTD declarations (possible XXE / "
        "billion-laughs attack); refused.")


# --- which part holds which sheet --------------------------------------------

_REL_NS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
           "http://purl.oclc.org/ooxml/officeDocument/relationships")


def _tree(zf, name: str, member: str, names):
    from xml.etree.ElementTree import ParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    if member not in names:
        raise LedgerError(f"文件“{name}”不是 xlsx 工作簿：缺少“{member}”。",
                          f"'{name}' is not an xlsx workbook: it has no '{member}'.")
    if zf.getinfo(member).file_size > _MAX_TREE_BYTES:
        raise LedgerError(f"工作簿“{name}”的“{member}”大于 {_size(_MAX_TREE_BYTES)}，不像 Excel 写出的文件，已拒绝读取。",
                          f"'{member}' in workbook '{name}' is larger than {_size(_MAX_TREE_BYTES)}, which no "
                          "spreadsheet program writes; refused.")
    try:
        return fromstring(zf.read(member), forbid_dtd=True)
    except DefusedXmlException:
        raise _entities(name, member) from None
    except ParseError:
        raise _damaged(name) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sheet_members(zf, name: str, names) -> tuple[dict[str, str], bool]:
    """Sheet name -> worksheet part, as the reader resolves them (xl/workbook.xml and its .rels);
    and whether the workbook asks to be recalculated when opened (calcPr fullCalcOnLoad)."""
    book = _tree(zf, name, "xl/workbook.xml", names)
    rels = _tree(zf, name, "xl/_rels/workbook.xml.rels", names)
    targets = {}
    for rel in rels.iter():
        if _local(rel.tag) == "Relationship" and rel.get("TargetMode") != "External":
            target = (rel.get("Target") or "").replace("\\", "/")
            target = target[1:] if target.startswith("/") else posixpath.join("xl", target)
            targets[rel.get("Id")] = posixpath.normpath(target)
    sheets, recalc = {}, False
    for el in book.iter():
        tag = _local(el.tag)
        if tag == "sheet":
            rid = next((v for k, v in el.attrib.items() if k in {f"{{{ns}}}id" for ns in _REL_NS}), None)
            member = targets.get(rid)
            if member in names and el.get("name") is not None:
                sheets[el.get("name")] = member
        elif tag == "calcPr":
            recalc = (el.get("fullCalcOnLoad") or "").lower() in {"1", "true", "on"}
    return sheets, recalc


# --- worksheets ------------------------------------------------------------------

_P = rb"(?:[A-Za-z_][\w.\-]*:)?"                     # an optional namespace prefix
_SST_TAG = re.compile(rb'<' + _P + rb'sst\b[^>]*>')
_SST_UNIQUE = re.compile(rb'\buniqueCount\s*=\s*["\'](\d+)["\']')
_NAME_CHAR = re.compile(rb"[^\s/>]")
_WEIRD = re.compile(rb'<c(?! r="[A-Z]{1,3}\d{1,7}"[\s/>])')   # a cell not written the way Excel does
_REF = re.compile(rb'<c r="([A-Z]{1,3})(\d{1,7})"')
_PREFIXED = re.compile(rb":(?:c|row)[\s/>]")
_TOKEN = re.compile(rb'<(/?)' + _P + rb'(row|c)(?=[\s/>])((?:[^>"\']|"[^"]*"|\'[^\']*\')*)>')
_ATTR_R = re.compile(rb'(?:^|\s)r\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_ATTR_T = re.compile(rb'(?:^|\s)t\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_CELL_REF = re.compile(rb"([A-Za-z]*)(\d*)")
_FORMULA = re.compile(rb"<" + _P + rb"f[\s/>]")
_FIRST_CHILD_FORMULA = re.compile(rb"\s*<" + _P + rb"f[\s/>]")
_CELL_END = re.compile(rb"</" + _P + rb"c\s*>")
_VALUE = re.compile(rb"<" + _P + rb"v(?=[\s/>])([^>]*)>([^<]*)")
_HIDDEN_TRUE = re.compile(rb'\shidden\s*=\s*["\'](?:1|true)["\']')
_MERGE = re.compile(rb'<' + _P + rb'mergeCell\s[^>]*?\bref\s*=\s*["\']([A-Z]{1,3}\d{1,7}):([A-Z]{1,3}\d{1,7})["\']')
_MAX_MARKS = 1_000_000      # hidden rows and merged ranges remembered per sheet
_DIMENSION = re.compile(rb"<" + _P + rb"dimension\s[^>]*?\bref\s*=\s*[\"']([^\"']*)")
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


def _scan_sheet(fp, info, name: str, sheet: str, limits: Limits, recalc: bool) -> SheetReport:
    """Finds the sheet's used range and its formula cells without a cached result.

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
    while True:
        scan = _Scan(SheetReport(sheet, info.filename), recalc, mode, _odd(digits) if digits else None)
        try:
            first = True
            for window, limit in _windows(_inflate(fp, info, name)):
                if first:
                    scan.prolog(window, name, sheet)
                    first = False
                scan.window(window, limit)
        except _Irregular:
            mode = "tokens"
            continue
        report = scan.report
        if report.max_row > _EXCEL_MAX_ROW or report.max_col > _EXCEL_MAX_COL:
            _refuse_off_grid(name, report)
        rows = max(report.max_row, 10 ** digits - 1 if scan.bounded else 0)
        cols = max(report.max_col, _EXCEL_COLUMNS if scan.bounded else 0)
        if rows * cols <= limits.max_cells:
            return report
        if not scan.bounded:
            _refuse_range(name, report, limits)
        mode = "exact"                      # the bound was too loose: read every reference


def _refuse_off_grid(name: str, report: SheetReport) -> None:
    """A cell past XFD1048576 is in no sheet Excel can write: the file was damaged or made to
    be (calamine would size its grid by it)."""
    raise LedgerError(
        f"工作簿“{name}”的工作表“{report.name}”的单元格范围达到 {report.corner}，超出 Excel 工作表的范围"
        f"（最大 XFD1048576）：文件已损坏或被篡改，已拒绝读取。",
        f"Sheet '{report.name}' of workbook '{name}' reaches cell {report.corner}, outside any Excel sheet "
        "(the last cell is XFD1048576): the file is damaged or was tampered with; refused.")


def _refuse_range(name: str, report: SheetReport, limits: Limits) -> None:
    cells = report.max_row * report.max_col
    raise LedgerError(
        f"工作簿“{name}”的工作表“{report.name}”的单元格范围达到 {report.corner}（{report.max_row:,} 行 × "
        f"{report.max_col:,} 列 = {cells:,} 个单元格），超过上限 {limits.max_cells:,} 个，读取会耗尽内存，已拒绝读取。",
        f"Sheet '{report.name}' of workbook '{name}' reaches cell {report.corner} ({report.max_row:,} rows x "
        f"{report.max_col:,} columns = {cells:,} cells), over the limit of {limits.max_cells:,}: reading it "
        "would exhaust memory; refused.")


def _windows(chunks):
    """Yields (window, limit): handle what starts in window[:limit], reading past limit as far
    as needed. Chunks are not copied: what starts in the last _OVERLAP bytes of a chunk is
    handled in a seam, those bytes followed by the first _OVERLAP of the next chunk."""
    chunks = _coalesced(chunks)
    current = next(chunks, None)
    while current is not None:
        following = next(chunks, None)
        if following is None:
            yield current, len(current)
            return
        body = len(current) - _OVERLAP
        yield current, body
        yield current[body:] + following[:_OVERLAP], _OVERLAP
        current = following


def _coalesced(chunks):
    """Chunks of at least 2 x _OVERLAP bytes, but the last."""
    pending = b""
    for chunk in chunks:
        pending = pending + chunk if pending else chunk
        if len(pending) >= 2 * _OVERLAP:
            yield pending
            pending = b""
    if pending:
        yield pending


class _Scan:
    """The scan of one sheet in one mode; see _scan_sheet."""

    def __init__(self, report: SheetReport, recalc: bool, mode: str, odd: re.Pattern | None):
        self.report, self.recalc, self.mode, self.odd = report, recalc, mode, odd
        self.bounded = False                # some window was only proven bounded, not read
        self.row_index = self.col_index = 0     # calamine's running position (0-based), tokens mode

    def prolog(self, window: bytes, name: str, sheet: str) -> None:
        _refuse_entities(window[:_OVERLAP], name, self.report.member)
        if b"\x00" in window[:1024]:
            raise LedgerError(f"工作簿“{name}”的工作表“{sheet}”的 XML 不是 UTF-8 编码（Excel 只写 UTF-8），已拒绝读取。",
                              f"The XML of sheet '{sheet}' in workbook '{name}' is not UTF-8 (Excel only writes "
                              "UTF-8); refused.")
        match = _DIMENSION.search(window, 0, _OVERLAP)
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
                self._cell(max(int(r) for r in {r[1] for r in refs}), _column_number(letters.decode()))
        else:
            self.bounded = True
        self._formulas(w, limit)

    def _marks(self, w: bytes, limit: int) -> None:
        """Hidden rows and merged ranges, which the reader needs to read a sheet as it is shown.
        Both are rare; a tag counts in the window where it starts."""
        report = self.report
        for i in _occurrences(w, b"hidden", 0, limit + _TAG):
            if len(report.hidden_rows) >= _MAX_MARKS:
                break
            start = w.rfind(b"<", 0, i)
            end = w.find(b">", i)
            token = 0 <= start < limit and end > 0 and _TOKEN.match(w, start, end + 1)
            if token:
                closing, tag, attrs = token.groups()
                ref = _attr(_ATTR_R, attrs)
                position = ref is not None and _position(ref, row_only=True)
                if tag == b"row" and not closing and position and _HIDDEN_TRUE.search(attrs):
                    report.hidden_rows.add(position[0])
        for i in _occurrences(w, b"mergeCell", 0, limit):
            if len(report.merged) >= _MAX_MARKS:
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
        for match in _TOKEN.finditer(w):
            if match.start() >= limit:
                break
            closing, tag, attrs = match.groups()
            empty = attrs.rstrip().endswith(b"/")
            if tag == b"row":
                if not closing:
                    ref = _attr(_ATTR_R, attrs)
                    position = ref is not None and _position(ref, row_only=True)
                    if position:
                        self.row_index = position[0] - 1
                if closing or empty:
                    self.row_index, self.col_index = self.row_index + 1, 0
                continue
            if closing:
                continue
            ref = _attr(_ATTR_R, attrs)
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
        end = limit + _TAG
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
        match = _TOKEN.match(w, start)
        position = match and match.group(2) == b"c" and _position(_attr(_ATTR_R, match.group(3)) or b"")
        if position:
            self._formula_cell(w, match, *position)
        return start

    def _formula_cell(self, w: bytes, head: re.Match, row: int, col: int) -> None:
        """Records the cell if its cached result is missing; or, in a workbook a program wrote
        leaving the calculation to Excel, empty or the 0 such programs write by default."""
        end = _CELL_END.search(w, head.end(), head.end() + _OVERLAP)
        if not end:
            return                          # longer than any cell a spreadsheet program writes
        value = _VALUE.search(w, head.end(), end.start())
        text = b"" if value is None or value.group(1).rstrip().endswith(b"/") else value.group(2).strip()
        kind = _attr(_ATTR_T, head.group(3))
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


def _attr(pattern: re.Pattern, attrs: bytes) -> bytes | None:
    match = pattern.search(attrs)
    if not match:
        return None
    return match.group(1) if match.group(1) is not None else match.group(2)


def _position(ref: bytes, row_only: bool = False) -> tuple[int, int] | None:
    """(row, column), 1-based, of a reference such as b"XFD1048576", or None when it is not one
    (calamine stops with an error on those, which is no crash)."""
    match = _CELL_REF.fullmatch(ref.strip())
    if not match or not match.group(2) or not (row_only or match.group(1)):
        return None
    letters, digits = match.group(1).decode().upper(), match.group(2)
    if len(letters) > 7 or len(digits) > 12:
        return (10 ** 12, 26 ** 7)          # beyond any limit (and past what a u32 holds)
    return int(digits), _column_number(letters)


def _column_number(letters: str) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ord(ch) - 64
    return number


def _letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rem = divmod(number - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _size(n: int) -> str:
    for unit, scale in (("GB", 1024 ** 3), ("MB", MIB), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n} B"
