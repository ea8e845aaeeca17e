"""The workbook guard (finaudit/guard.py): hostile or unreadable workbooks are refused with
one sentence before openpyxl or fastexcel open them, and formulas without a cached result are
never read as empty or 0.

Every hostile file is made here from source. Each one is also run through the CLI in a child
process under a 1 GiB address-space limit: without the guard, fastexcel aborts that process
(SIGABRT, no traceback, exit -6) on each of the four sheets with far-away cells, and would on a
bomb of full size.
"""
from __future__ import annotations

import os
import re
import resource
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

import finaudit
from finaudit.errors import LedgerError
from finaudit.intake.guard import _CHUNK, _OVERLAP, MIB, Limits, check_workbook
from finaudit.intake.isolation import read_isolated

from conftest import CLEAN

REPO = Path(__file__).resolve().parents[1]
SHEET1 = "xl/worksheets/sheet1.xml"       # 教育经费 in files written by the `sheets` fixture
GIB = 1024 ** 3


# --- making hostile files from a valid one ------------------------------------------

def rewrite(src: Path, dst: Path, changes: dict, *, compression=zipfile.ZIP_DEFLATED) -> Path:
    """Copies the workbook `src` to `dst`, replacing members: `changes` maps a member name to
    new bytes or to a function of the old ones; a new name adds a member."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            change = changes.get(info.filename)
            if change is not None:
                data = change(data) if callable(change) else change
            zout.writestr(info.filename, data)
        for name, data in changes.items():
            if name not in zin.namelist():
                zout.writestr(name, data)
    return dst


def replace_sheet_data(inner: bytes):
    return lambda xml: re.sub(rb"<sheetData>.*</sheetData>|<sheetData\s*/>", b"<sheetData>" + inner + b"</sheetData>",
                              xml, flags=re.S)


def appended(rows: bytes):
    """The sheet with `rows` after its own: still a readable ledger, up to its last row."""
    return lambda xml: xml.replace(b"</sheetData>", rows + b"</sheetData>", 1)


def padded(xml: bytes, size: int) -> bytes:
    """The sheet with `size` bytes of spaces inside sheetData: valid XML that deflates ~1000:1."""
    return xml.replace(b"<sheetData>", b"<sheetData>" + b" " * size, 1)


def written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def declare_smaller(path: Path, member: str, declared: int) -> Path:
    """Rewrites the sizes `member` declares (local header and central directory) to `declared`
    bytes, leaving its compressed data as it is: a zip that lies about what it inflates to."""
    data = bytearray(path.read_bytes())
    name = member.encode()
    for signature, size_at in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):
        at = data.find(signature)
        while at >= 0:
            name_at = at + (46 if signature == b"PK\x01\x02" else 30)
            if data[name_at:name_at + len(name)] == name:
                struct.pack_into("<I", data, at + size_at, declared)
            at = data.find(signature, at + 4)
    path.write_bytes(bytes(data))
    return path


LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
          + b"]>\n")
XXE = b'<?xml version="1.0"?>\n<!DOCTYPE workbook [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


def with_prolog(prolog: bytes, entity: bytes):
    """The part with a DTD in front, its entity used in the first attribute value it can hold."""
    def change(xml: bytes) -> bytes:
        xml = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", xml)
        return prolog + xml.replace(b'name="', b'name="' + entity, 1)
    return change


@pytest.fixture
def ledger(write_xlsx, sheets):
    """A valid two-sheet ledger written by openpyxl."""
    return write_xlsx(sheets)


@pytest.fixture
def hostile(tmp_path, ledger):
    """hostile(kind) -> Path of a file of that kind, made from the valid ledger."""
    # The ledger's own cells start at A1; one more cell far away makes the range A1:XFD1048576.
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    makers = {
        "zip bomb": lambda p: rewrite(ledger, p, {SHEET1: lambda x: padded(x, 3 * MIB)}),
        "lying sizes": lambda p: declare_smaller(rewrite(ledger, p, {SHEET1: lambda x: padded(x, 3 * MIB)}),
                                                 SHEET1, 4096),
        "cells at A1 and XFD1048576": lambda p: rewrite(ledger, p, {SHEET1: appended(far)}),
        "cells without references": lambda p: rewrite(ledger, p, {SHEET1: appended(
            b'<row r="1048576">' + b"<c><v>1</v></c>" * 16384 + b"</row>")}),
        "cells with a namespace prefix": lambda p: rewrite(ledger, p, {SHEET1: lambda x: appended(
            b'<row r="1048576"><x:c r="XFD1048576"><v>1</v></x:c></row>')(
            x.replace(b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ', 1))}),
        "references in single quotes": lambda p: rewrite(ledger, p, {SHEET1: appended(
            far.replace(b'<c r="XFD1048576">', b"<c\n r = 'XFD1048576'>"))}),
        "zero bytes": lambda p: written(p, b""),
        "truncated": lambda p: written(p, ledger.read_bytes()[: ledger.stat().st_size // 2]),
        "text renamed .xlsx": lambda p: written(p, "年度,金额\n2023,1500\n".encode()),
        "encrypted (OLE)": lambda p: written(p, bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 4088),
        "billion laughs in workbook.xml": lambda p: rewrite(ledger, p, {"xl/workbook.xml": with_prolog(LAUGHS, b"&lol9;")}),
        "XXE in workbook.xml": lambda p: rewrite(ledger, p, {"xl/workbook.xml": with_prolog(XXE, b"&xxe;")}),
    }

    def make(kind: str) -> Path:
        return makers[kind](tmp_path / (re.sub(r"\W+", "_", kind).strip("_") + ".xlsx"))

    make.kinds = list(makers)
    return make


def refusal(path, limits=None) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        check_workbook(path, limits)
    return caught.value


# --- what is refused, and how it is said --------------------------------------------

def test_a_valid_ledger_passes_and_its_sheets_are_mapped_to_their_parts(ledger):
    checked = check_workbook(ledger)

    assert {name: (s.member, s.max_row, s.max_col, s.formula_count) for name, s in checked.sheets.items()} == {
        "教育经费": (SHEET1, 3, 8, 0), "在校生": ("xl/worksheets/sheet2.xml", 3, 6, 0)}
    assert finaudit.load(ledger).findings == []


def test_a_sheet_inflating_past_the_total_limit_is_refused_with_the_sizes_and_the_ratio(hostile):
    error = refusal(hostile("zip bomb"), Limits(max_unzipped_bytes=1 * MIB))

    assert error.zh.startswith("工作簿“zip_bomb.xlsx”解压后将达 3.0 MB，超过上限 1.0 MB（压缩比 ")
    assert "疑似压缩炸弹" in error.zh
    assert "would inflate to 3.0 MB, over the limit of 1.0 MB" in error.en and "FINAUDIT_MAX_UNZIPPED_MB" in error.en


def test_a_large_part_compressed_more_than_100_to_1_is_refused_naming_the_part_and_its_ratio(hostile):
    error = refusal(hostile("zip bomb"), Limits(ratio_min_bytes=1 * MIB))

    assert f"成员“{SHEET1}”解压后将达 3.0 MB，压缩比 " in error.zh
    assert re.search(r"压缩比 [\d,]+:1，超过上限 100:1", error.zh)


def test_a_part_that_inflates_past_the_size_it_declares_is_refused_while_it_is_read(hostile):
    error = refusal(hostile("lying sizes"))

    assert f"成员“{SHEET1}”实际解压后超过其声明的 4.0 KB" in error.zh
    assert "inflates past the 4.0 KB it declares" in error.en


@pytest.mark.parametrize("kind", ["cells at A1 and XFD1048576", "cells without references",
                                  "cells with a namespace prefix", "references in single quotes"])
def test_a_sheet_whose_cells_span_more_than_50_million_cells_is_refused_naming_sheet_and_cell(hostile, kind):
    error = refusal(hostile(kind))

    assert "的工作表“教育经费”的单元格范围达到 XFD1048576（1,048,576 行 × 16,384 列 = 17,179,869,184 个单元格）" in error.zh
    assert "超过上限 50,000,000 个" in error.zh
    assert "Sheet '教育经费'" in error.en and "reaches cell XFD1048576" in error.en


def test_the_cell_limit_counts_rows_times_columns_from_a1(ledger):
    # The ledger's 教育经费 sheet spans A1:H3 = 24 cells.
    assert check_workbook(ledger, Limits(max_cells=24)).sheets["教育经费"].corner == "H3"
    assert "H3（3 行 × 8 列 = 24 个单元格），超过上限 23 个" in refusal(ledger, Limits(max_cells=23)).zh


def at_offset(xml: bytes, offset: int, fragment: bytes) -> bytes:
    """The sheet with `fragment` starting `offset` bytes into the part, spaces around it."""
    head = xml.split(b"<sheetData>", 1)[0] + b"<sheetData>"
    return head + b" " * (offset - len(head)) + fragment + b" " * (512 * 1024) + b"</sheetData></worksheet>"


# The guard reads a part _CHUNK bytes at a time and handles the last _OVERLAP bytes of each
# chunk together with the start of the next one: cells across either boundary are seen whole.
BOUNDARIES = [4 * _CHUNK - _OVERLAP, 4 * _CHUNK]


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("shift", [-40, -9, -1, 0, 3])
def test_a_far_cell_or_a_formula_cut_by_a_chunk_boundary_is_still_seen(tmp_path, ledger, boundary, shift):
    far = rewrite(ledger, tmp_path / "far.xlsx", {SHEET1: lambda x: at_offset(
        x, boundary + shift, b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>')})
    formula = rewrite(ledger, tmp_path / "formula.xlsx", {SHEET1: lambda x: at_offset(
        x, boundary + shift, b'<row r="5"><c r="H5"><f>1+1</f><v></v></c></row>')})

    assert "XFD1048576" in refusal(far).zh
    assert check_workbook(formula).sheets["教育经费"].formula_cells == [(5, 8)]


def test_cells_without_references_are_placed_as_calamine_places_them_across_chunks(tmp_path, ledger):
    rows = b"<row>" + b"<c><v>1</v></c>" * 3 + b"</row>"
    path = rewrite(ledger, tmp_path / "implied.xlsx", {SHEET1: replace_sheet_data(rows * 120_000)})

    report = check_workbook(path).sheets["教育经费"]
    assert (report.max_row, report.max_col) == (120_000, 8)      # 8: the dimension A1:H3 openpyxl wrote


def test_a_wide_cell_far_from_short_rows_is_counted_exactly_not_refused(tmp_path, ledger):
    # A bounded first chunk (26 columns x 999,999 rows at most) and a cell in column AZ: the
    # bound (52 x 999,999) is over the limit, so every reference is read: the range is AZ3.
    path = rewrite(ledger, tmp_path / "wide.xlsx", {SHEET1: lambda x: at_offset(
        x, 5 * MIB, b'<row r="1"><c r="AZ1"><v>1</v></c></row>')})

    assert check_workbook(path).sheets["教育经费"].corner == "AZ3"


def test_a_cell_below_the_last_row_excel_has_is_refused_as_tampered(tmp_path, ledger):
    # Found by the fuzzer: one reference moved to row 1,048,577 made calamine size a grid past
    # any sheet, and abort the process under a 1 GiB limit.
    path = rewrite(ledger, tmp_path / "off_grid.xlsx",
                   {SHEET1: appended(b'<row r="1048577"><c r="B1048577"><v>1</v></c></row>')})
    error = refusal(path)
    assert "1048577" in error.zh and "XFD1048576" in error.zh and "tampered" in error.en


def test_a_shared_string_table_claiming_more_strings_than_it_holds_is_refused(tmp_path, sheets):
    # Found by the fuzzer: calamine reserves uniqueCount strings before reading one, and
    # 4294967296 of them in a 2 KB file aborted the process. (xlsxwriter writes shared
    # strings; openpyxl writes none.)
    source = write_with_xlsxwriter(tmp_path / "source.xlsx", sheets, {})

    def claim(attr: bytes):
        return lambda xml: re.sub(rb"\b" + attr + rb'="\d+"', attr + b'="4294967296"', xml, count=1)

    error = refusal(rewrite(source, tmp_path / "lying.xlsx", {"xl/sharedStrings.xml": claim(b"uniqueCount")}))
    assert "4,294,967,296" in error.zh and "tampered" in error.en
    # `count` is how many cells use the strings (LibreOffice writes more than the strings):
    # calamine does not reserve by it, and it is not refused.
    assert check_workbook(rewrite(source, tmp_path / "uses.xlsx", {"xl/sharedStrings.xml": claim(b"count")})).sheets


def test_an_empty_file_is_refused_as_not_a_workbook(hostile):
    assert refusal(hostile("zero bytes")).zh == "文件“zero_bytes.xlsx”是空文件（0 字节），不是 xlsx 工作簿。"


def test_a_truncated_workbook_is_refused_as_damaged(hostile):
    assert refusal(hostile("truncated")).zh.startswith("工作簿“truncated.xlsx”已损坏或不完整")


def test_a_text_file_renamed_xlsx_is_refused_as_not_a_zip(hostile):
    error = refusal(hostile("text renamed .xlsx"))

    assert error.zh.startswith("文件“text_renamed_xlsx.xlsx”不是 xlsx 工作簿：xlsx 是 zip 压缩包")
    assert "is not an xlsx workbook" in error.en


def test_an_encrypted_workbook_is_refused_saying_it_has_a_password_and_what_to_do(hostile):
    error = refusal(hostile("encrypted (OLE)"))

    assert "设有打开密码" in error.zh and "旧版 .xls" in error.zh and "另存为 .xlsx" in error.zh
    assert "password-protected" in error.en and "remove the password" in error.en


@pytest.mark.parametrize("kind", ["billion laughs in workbook.xml", "XXE in workbook.xml"])
def test_entity_declarations_in_workbook_xml_are_refused_as_a_possible_attack(hostile, kind):
    error = refusal(hostile(kind))

    assert "“xl/workbook.xml”含有 XML 实体或 DTD 声明（可能是 XXE 或“十亿笑”攻击）" in error.zh
    assert "possible XXE / billion-laughs attack" in error.en


def test_a_dtd_in_a_sheet_is_refused_too(tmp_path, ledger):
    path = rewrite(ledger, tmp_path / "dtd.xlsx", {SHEET1: lambda x: b'<!DOCTYPE worksheet [<!ENTITY a "b">]>' + x})

    assert f"“{SHEET1}”含有 XML 实体" in refusal(path).zh


def test_an_invalid_limit_in_the_environment_is_a_usage_error(monkeypatch, ledger):
    from finaudit.errors import UsageError

    monkeypatch.setenv("FINAUDIT_MAX_UNZIPPED_MB", "lots")
    with pytest.raises(UsageError) as caught:
        check_workbook(ledger)
    assert "FINAUDIT_MAX_UNZIPPED_MB" in caught.value.zh and "“lots”" in caught.value.zh


# --- formulas without a cached result ---------------------------------------------------

def test_a_formula_openpyxl_wrote_without_a_result_is_an_error_naming_its_cells(write_xlsx, sheets):
    sheets["教育经费"][1][7] = "=1000+500"                  # H2
    sheets["教育经费"][2][7] = "=SUM(H2:H2)"                # H3
    with pytest.raises(LedgerError) as caught:
        finaudit.load(write_xlsx(sheets))

    assert caught.value.zh == ("工作表“教育经费”的 H2、H3 共 2 个单元格是公式但没有计算结果（文件未经 Excel 计算保存），"
                               "无法读取其数值。请在 Excel 中打开并保存后重试。")
    assert "2 cells (H2, H3) hold formulas without a calculated result" in caught.value.en


def test_more_than_five_such_cells_are_counted_and_the_first_five_named(write_xlsx, sheets):
    sheets["教育经费"][2:] = [list(sheets["教育经费"][1]) for _ in range(7)]
    for row in sheets["教育经费"][1:]:
        row[7] = "=1+1"
    with pytest.raises(LedgerError) as caught:
        finaudit.load(write_xlsx(sheets))

    assert "的 H2、H3、H4、H5、H6 等 8 个单元格是公式" in caught.value.zh


def test_a_formula_in_a_title_row_or_outside_the_ledger_columns_is_not_read_and_not_refused(write_xlsx, sheets):
    sheets["教育经费"][1].append("=H2*2")                 # I2: no schema column
    path = write_xlsx(sheets, titles={"教育经费": [['="台账"&"2023"']]})
    ledger = finaudit.load(path)

    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["amount"].tolist() == [1500.0, 2500.5]


def write_with_xlsxwriter(path: Path, sheets: dict, formulas: dict) -> Path:
    """`formulas` maps (sheet, cell) to (formula, cached value or None)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
        for (sheet, cell), (formula, value) in formulas.items():
            if sheet == name:
                ws.write_formula(cell, formula, None, value) if value is not None else ws.write_formula(cell, formula)
    book.close()
    return path


def test_a_formula_xlsxwriter_wrote_without_a_value_is_refused_not_read_as_0(tmp_path, sheets):
    path = write_with_xlsxwriter(tmp_path / "xw.xlsx", sheets, {("教育经费", "H2"): ("=1000+500", None)})
    assert b"<f>1000+500</f><v>0</v>" in zipfile.ZipFile(path).read(SHEET1)   # what it writes
    with pytest.raises(LedgerError) as caught:
        finaudit.load(path)

    assert caught.value.zh.startswith("工作表“教育经费”的 H2 共 1 个单元格是公式但没有计算结果")


def test_a_formula_written_with_its_value_is_read_as_that_value(tmp_path, sheets):
    path = write_with_xlsxwriter(tmp_path / "xw.xlsx", sheets, {("教育经费", "H2"): ("=1000+500", 1500)})

    assert finaudit.load(path).sheets["budget"].frame["amount"].tolist() == [1500.0, 2500.5]


def test_a_cached_0_is_trusted_in_a_workbook_excel_calculated(tmp_path, sheets):
    # Excel keeps a calculation chain (xl/calcChain.xml) in every workbook with formulas it saved.
    written = write_with_xlsxwriter(tmp_path / "xw.xlsx", sheets, {("教育经费", "H2"): ("=1000-1000", 0)})
    path = rewrite(written, tmp_path / "excel.xlsx", {"xl/calcChain.xml": b'<calcChain><c r="H2" i="1"/></calcChain>'})

    assert finaudit.load(path).sheets["budget"].frame["amount"].tolist() == [0.0, 2500.5]


# --- the CLI, in a child process under a memory limit ------------------------------------

def run_validate(path, env: dict | None = None) -> subprocess.CompletedProcess:
    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))

    return subprocess.run([sys.executable, "-m", "finaudit", "validate", str(path)], capture_output=True, text=True,
                          timeout=30, preexec_fn=limit_memory, env={**os.environ, **(env or {})}, cwd=REPO)


EXPECTED = {
    "zip bomb": "超过上限 2.0 MB",            # FINAUDIT_MAX_UNZIPPED_MB=2 below
    "lying sizes": "实际解压后超过其声明的",
    "cells at A1 and XFD1048576": "XFD1048576",
    "cells without references": "XFD1048576",
    "cells with a namespace prefix": "XFD1048576",
    "references in single quotes": "XFD1048576",
    "zero bytes": "空文件",
    "truncated": "已损坏或不完整",
    "text renamed .xlsx": "不是 xlsx 工作簿",
    "encrypted (OLE)": "设有打开密码",
    "billion laughs in workbook.xml": "十亿笑",
    "XXE in workbook.xml": "XXE",
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_validate_refuses_each_hostile_file_with_exit_2_and_one_line_under_a_1_gib_limit(hostile, kind):
    path = hostile(kind)
    env = {"FINAUDIT_MAX_UNZIPPED_MB": "2"} if kind == "zip bomb" else None
    result = run_validate(path, env)

    assert result.returncode == 2, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert path.name in lines[0] and EXPECTED[kind] in lines[0], lines[0]
    assert result.stdout == ""


@pytest.mark.slow
def test_validate_reads_the_clean_sample_ledger_under_the_same_limit():
    result = run_validate(CLEAN)

    assert result.returncode == 0, result.stderr
    assert "所有行均有效" in result.stdout and result.stderr == ""


def test_every_hostile_kind_is_run_through_the_cli(hostile):
    assert sorted(hostile.kinds) == sorted(EXPECTED)


# --- the scan beside the readers (the parse child) ----------------------------------

RANGE_KINDS = ["cells at A1 and XFD1048576", "cells without references", "cells with a namespace prefix",
               "references in single quotes"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the parse child is forked: POSIX only")
@pytest.mark.parametrize("kind", RANGE_KINDS)
def test_read_in_the_child_a_workbook_the_scan_refuses_is_refused_as_the_scan_says(hostile, kind):
    # The readers start while the worksheets are scanned: whichever ends first, the guard's
    # refusal is what the auditor reads, not a reader's crash or its own error.
    path = hostile(kind)
    with pytest.raises(LedgerError) as caught:
        read_isolated(path)

    assert (caught.value.zh, caught.value.en) == (refusal(path).zh, refusal(path).en)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the parse child is forked: POSIX only")
def test_a_reader_dying_before_the_scan_ends_is_told_as_the_guards_refusal(monkeypatch, hostile):
    import isolation_targets

    from finaudit.intake import isolation

    path = hostile("cells at A1 and XFD1048576")
    monkeypatch.setattr(isolation, "_read_saved", isolation_targets.dies_reading)
    with pytest.raises(LedgerError) as caught:
        read_isolated(path)

    assert caught.value.zh == refusal(path).zh
    assert "崩溃" not in caught.value.zh


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the parse child is forked: POSIX only")
def test_a_reader_dying_on_a_workbook_the_guard_passes_is_told_as_a_crash(monkeypatch, ledger):
    import isolation_targets

    from finaudit.intake import isolation

    monkeypatch.setattr(isolation, "_read_saved", isolation_targets.dies_reading)
    with pytest.raises(LedgerError) as caught:
        read_isolated(ledger)

    assert "读取程序崩溃" in caught.value.zh and "SIGABRT" in caught.value.zh


class _Panic(BaseException):
    """Shaped like pyo3's PanicException: not an Exception."""


def test_a_reader_panicking_beside_a_refusing_scan_gives_the_scans_refusal(monkeypatch, hostile):
    # In process, with the reader made to panic at once (the real one would abort on this file):
    # whatever the reader raises, the scan beside it is waited for and its refusal raised.
    import fastexcel

    from finaudit.intake.workbooks import read_workbook

    def panics(*args, **kwargs):
        raise _Panic("index out of bounds")

    path = hostile("cells at A1 and XFD1048576")
    monkeypatch.setattr(fastexcel, "read_excel", panics)
    with pytest.raises(LedgerError) as caught:
        read_workbook(path, scan_beside=True)

    assert caught.value.zh == refusal(path).zh


def test_without_fork_a_workbook_is_scanned_before_any_reader_opens_it(monkeypatch, ledger):
    # No parse child to cost a crash: the scan must come first, as in process.
    import openpyxl

    from finaudit.intake.guard import OpenedWorkbook

    order = []
    scan, load = OpenedWorkbook.scan, openpyxl.load_workbook

    def slow_scan(self):        # a scan beside the readers would end after openpyxl opened the file
        time.sleep(0.3)
        checked = scan(self)
        order.append("scanned")
        return checked

    monkeypatch.setattr(OpenedWorkbook, "scan", slow_scan)
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: order.append("openpyxl") or load(*a, **k))
    monkeypatch.delattr(os, "fork")
    read_isolated(ledger)

    assert order[:2] == ["scanned", "openpyxl"]
