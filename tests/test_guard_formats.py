"""The guard against workbooks that readers would read differently, or that would crash them:
zip members named two ways, sheets a reader lists that another does not, shared-string
tricks, and the .xlsb, .xls and .ods files that make calamine abort or panic.

Every file is made here from a valid ledger, changed in one place, and run through
`finaudit validate` in a child process under 1 GiB of address space and 60 s: before the
guard knew them, each of these either aborted that process, or was audited with another
sheet's numbers, or was refused without naming what was wrong.
"""
from __future__ import annotations

import os
import re
import resource
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pandas as pd
import pytest

import finaudit
from corpus import compound_file, write_ods, write_xls, write_xlsb, xlsb_record
from test_guard import rewrite, write_with_xlsxwriter

REPO = Path(__file__).resolve().parents[1]
GIB = 1024 ** 3
SHEET2 = "xl/worksheets/sheet2.xml"         # 在校生 in files written by openpyxl from the `sheets` fixture
WORKSHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def validate(path: Path) -> subprocess.CompletedProcess:
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))

    return subprocess.run([sys.executable, "-m", "finaudit", "validate", str(path)], capture_output=True, text=True,
                          errors="replace",
                          timeout=60, preexec_fn=limit, cwd=REPO, env=os.environ.copy())


def refused(path: Path, *fragments: str) -> str:
    """Asserts `finaudit validate` refuses the file with exit 2 and one line holding every fragment."""
    result = validate(path)
    assert result.returncode == 2, (result.returncode, result.stdout[-1000:], result.stderr[-2000:])
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def accepted(path: Path) -> None:
    result = validate(path)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert "所有行均有效" in result.stdout


def halved(xml: bytes) -> bytes:
    """The enrollment sheet with every student count halved: what a decoy part would show."""
    return xml.replace(b"<v>30</v>", b"<v>15</v>").replace(b"<v>20</v>", b"<v>10</v>")


@pytest.fixture
def ledger(write_xlsx, sheets):
    return write_xlsx(sheets)


def add_members(src: Path, dst: Path, members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        for info, data in members:
            zout.writestr(info, data)
    return dst


def with_ghost_sheet(ledger: Path, dst: Path, member: str, target: str, *, where: str = "sheets") -> Path:
    """A third sheet 幽灵 between the two, stored in `member` (a halved copy of 在校生) and
    reached by a relationship to `target`."""
    entry = '<sheet name="幽灵" sheetId="9" state="visible" r:id="rId99" />'.encode()
    rel = f'<Relationship Type="{WORKSHEET}" Target="{target}" Id="rId99" /></Relationships>'.encode()

    def book(xml: bytes) -> bytes:
        if where == "extLst":       # a <sheet> outside <sheets>: calamine reads it, openpyxl does not
            return xml.replace(b"<workbookPr", b"<extLst><ext uri=\"x\">" + entry + b"</ext></extLst><workbookPr", 1)
        return re.sub(rb"(<sheet name=\"\xe5\x9c\xa8)", entry + rb"\1", xml, count=1)

    staged = rewrite(ledger, dst.with_suffix(".staged.xlsx"), {
        "xl/workbook.xml": book, "xl/_rels/workbook.xml.rels": lambda x: x.replace(b"</Relationships>", rel)})
    return add_members(staged, dst, [(member, halved(zipfile.ZipFile(ledger).read(SHEET2)))])


# --- (A) one view of the workbook ---------------------------------------------------------

def test_a_sheet_stored_under_a_backslash_name_is_refused_naming_the_member(tmp_path, ledger):
    # calamine reads xl\worksheets\ghost.xml as xl/worksheets/ghost.xml and lists 幽灵;
    # openpyxl does not: matched by position, 在校生 was read from the ghost (25 students, not 50).
    path = with_ghost_sheet(ledger, tmp_path / "ghost.xlsx", "xl\\worksheets\\ghost.xml", "/xl/worksheets/ghost.xml")

    refused(path, "ghost.xlsx", "xl\\worksheets\\ghost.xml", "反斜杠")


def test_a_member_whose_unicode_path_field_names_another_part_is_refused(tmp_path, ledger):
    # The Rust zip library takes the name in the extra field (and the last of two same names),
    # zipfile the header's: calamine read the decoy as 在校生, the guard and openpyxl the real one.
    decoy = zipfile.ZipInfo("xl/worksheets/decoy.xml")
    unicode_name = SHEET2.encode()
    decoy.extra = struct.pack("<HHBI", 0x7075, 5 + len(unicode_name), 1, zlib.crc32(decoy.filename.encode())) \
        + unicode_name
    path = add_members(ledger, tmp_path / "unicode_path.xlsx", [(decoy, halved(zipfile.ZipFile(ledger).read(SHEET2)))])

    refused(path, "xl/worksheets/decoy.xml", "Unicode 路径", SHEET2)


def test_two_members_differing_only_in_case_are_refused_naming_both(tmp_path, ledger):
    # calamine looks parts up ignoring case and keeps the last: it read Sheet2.xml as 在校生.
    path = add_members(ledger, tmp_path / "case.xlsx",
                       [("xl/worksheets/Sheet2.xml", halved(zipfile.ZipFile(ledger).read(SHEET2)))])

    refused(path, "xl/worksheets/Sheet2.xml", SHEET2, "大小写")


def test_the_same_member_twice_is_refused_naming_it(tmp_path, ledger):
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = add_members(ledger, tmp_path / "twice.xlsx", [(SHEET2, halved(zipfile.ZipFile(ledger).read(SHEET2)))])

    refused(path, SHEET2, "出现了两次")


def test_a_member_outside_the_workbook_is_refused(tmp_path, ledger):
    path = add_members(ledger, tmp_path / "dotdot.xlsx", [("xl/../../evil.xml", b"<x/>")])

    refused(path, "xl/../../evil.xml", "..")


def test_a_worksheet_part_no_sheet_refers_to_is_refused_naming_it(tmp_path, ledger):
    path = add_members(ledger, tmp_path / "orphan.xlsx", [("xl/worksheets/sheet9.xml", zipfile.ZipFile(ledger).read(SHEET2))])

    refused(path, "xl/worksheets/sheet9.xml", "不属于任何工作表")


def test_a_sheet_only_calamine_lists_is_refused_not_matched_by_position(tmp_path, ledger):
    # A <sheet> inside <extLst>: calamine and the workbook's own parse list it, openpyxl does not.
    path = with_ghost_sheet(ledger, tmp_path / "extlst.xlsx", "xl/worksheets/ghost.xml", "/xl/worksheets/ghost.xml",
                            where="extLst")

    refused(path, "openpyxl", "不一致", "幽灵")


# --- (B) the guard's bypasses -------------------------------------------------------------

def test_a_string_count_padded_past_the_first_64_kb_is_refused(tmp_path, sheets):
    # A comment in front of <sst> moved uniqueCount past what the guard read: calamine reserved
    # 4294967296 strings (103 GB) and aborted. A decoy <sst> inside the comment is not taken.
    source = write_with_xlsxwriter(tmp_path / "source.xlsx", sheets, {})

    def pad(xml: bytes) -> bytes:
        xml = re.sub(rb'uniqueCount="\d+"', b'uniqueCount="4294967296"', xml, count=1)
        return xml.replace(b"<sst ", b'<!-- <sst uniqueCount="1"> ' + b"x" * 70_000 + b" --><sst ", 1)

    path = rewrite(source, tmp_path / "padded.xlsx", {"xl/sharedStrings.xml": pad})

    refused(path, "4,294,967,296")


def shared_string_cell(xml: bytes, value: bytes) -> bytes:
    """C2 (地区, a shared string in xlsxwriter's files) given the index `value`."""
    return re.sub(rb'(<c r="C2"[^>]*t="s"[^>]*><v>)\d+(</v>)', rb"\g<1>" + value + rb"\2", xml, count=1)


@pytest.mark.parametrize("index", [b"-1", b" 1", b"1.0", b"99999999999999999999"])
def test_a_shared_string_index_that_is_not_a_plain_number_is_refused_naming_the_cell(tmp_path, sheets, index):
    # calamine reads "-1", " 1", "1.0" or a 20-digit index as 0: the first string, silently.
    source = write_with_xlsxwriter(tmp_path / "source.xlsx", sheets, {})
    path = rewrite(source, tmp_path / "index.xlsx",
                   {"xl/worksheets/sheet1.xml": lambda x: shared_string_cell(x, index)})

    refused(path, "C2", "共享字符串编号", index.decode().strip()[:20])


def test_a_shared_string_index_past_the_table_is_refused_naming_the_cell(tmp_path, sheets):
    source = write_with_xlsxwriter(tmp_path / "source.xlsx", sheets, {})
    path = rewrite(source, tmp_path / "past.xlsx", {"xl/worksheets/sheet1.xml": lambda x: shared_string_cell(x, b"999")})

    refused(path, "C2", "第 999 号共享字符串")


# --- (C) .xlsb ------------------------------------------------------------------------------

def real(value: float) -> bytes:
    return struct.pack("<d", value)


def test_an_xlsb_ledger_written_from_records_is_read(tmp_path, sheets):
    accepted(write_xlsb(tmp_path / "ledger.xlsb", sheets))


def test_merged_labels_and_hidden_rows_in_an_xlsb_are_read_as_in_the_xlsx(tmp_path, sheets, write_xlsx):
    # calamine exposes neither for an .xlsb: the guard reads BrtMergeCell and BrtRowHdr's hidden
    # flag, and the labels under a merged cell are read as Excel shows them, as in the .xlsx.
    import openpyxl

    sheets["教育经费"].append([2023, "130682", "定州市", "高中", "公办", "一般公共预算", "公用经费", 7])
    for row in sheets["教育经费"][2:]:
        row[1] = row[2] = None          # 行政区划代码 and 地区 merged down rows 2-4 (B2:B4, C2:C4)
    xlsx = write_xlsx(sheets)
    book = openpyxl.load_workbook(xlsx)
    book["教育经费"].merge_cells("B2:B4")
    book["教育经费"].merge_cells("C2:C4")
    book["教育经费"].row_dimensions[3].hidden = True
    book.save(xlsx)
    xlsb = write_xlsb(tmp_path / "ledger.xlsb", sheets, merged={"教育经费": [(1, 1, 3, 1), (1, 2, 3, 2)]},
                      hidden={"教育经费": {2}})
    first, second = finaudit.load(xlsx), finaudit.load(xlsb)
    budget = second.sheets["budget"]
    assert budget.frame["region_code"].tolist() == ["130682"] * 3
    assert (budget.rows_read, budget.rows_rejected, budget.filled_cells, budget.hidden_rows) == (3, 0, 4, 1)
    pd.testing.assert_frame_equal(first.sheets["budget"].frame, budget.frame, obj="budget")
    assert [(f.rule_id, f.message["zh"], [e.cell for e in f.evidence]) for f in second.findings] == \
           [(f.rule_id, f.message["zh"], [e.cell for e in f.evidence]) for f in first.findings]
    assert sorted(f.rule_id for f in second.findings) == ["DATA_HIDDEN_ROWS", "DATA_MERGED_CELLS"]


def test_an_xlsb_sheet_with_cells_at_a1_and_xfd1048576_is_refused(tmp_path, sheets):
    # xlsb_corner: calamine laid out 17 billion cells and aborted.
    path = write_xlsb(tmp_path / "corner.xlsb", sheets, extra_cells={"教育经费": [(1048575, 16383, 0x0005, real(1))]})

    refused(path, "教育经费", "XFD1048576", "超过上限")


def test_an_xlsb_cell_in_a_column_past_xfd_is_refused(tmp_path, sheets):
    # xlsb_far_column: a 32-bit column number of two billion: abort.
    path = write_xlsb(tmp_path / "far.xlsb", sheets, extra_cells={"教育经费": [(1, 2 ** 31, 0x0005, real(1))]})

    refused(path, "教育经费", "超出 Excel 工作表的范围")


def test_an_xlsb_declared_range_past_the_limit_or_inverted_is_refused(tmp_path, sheets):
    huge = write_xlsb(tmp_path / "dims.xlsb", sheets, dims={"在校生": (0, 1048575, 0, 16383)})
    inverted = write_xlsb(tmp_path / "inverted.xlsb", sheets, dims={"在校生": (9, 2, 0, 5)})

    refused(huge, "在校生", "超过上限")
    refused(inverted, "在校生", "颠倒")


def test_an_xlsb_shared_string_index_past_the_table_is_refused_naming_the_cell(tmp_path, sheets):
    # calamine indexed its strings with it: a Rust panic, which passes `except Exception`.
    path = write_xlsb(tmp_path / "isst.xlsb", sheets, extra_cells={"在校生": [(3, 2, 0x0007, struct.pack("<I", 999))]})

    refused(path, "在校生", "C4", "第 999 号")


def test_an_xlsb_sheet_naming_a_missing_relationship_is_refused(tmp_path, sheets):
    path = write_xlsb(tmp_path / "rel.xlsb", sheets, rel_ids={"在校生": "rId9"})

    refused(path, "在校生", "rId9", "不存在")


# --- (C) .xls ---------------------------------------------------------------------------------

def test_an_xls_ledger_written_from_records_is_read(tmp_path, sheets):
    accepted(write_xls(tmp_path / "ledger.xls", sheets))


@pytest.mark.parametrize("dims", [(0, 0xFFFFFFFF, 0, 8), (10, 5, 0, 8), (0, 3, 0, 60_000)],
                         ids=["xls_dim_huge", "xls_dim_inverted", "columns_past_iv"])
def test_an_xls_dimensions_record_huge_inverted_or_off_the_grid_is_refused(tmp_path, sheets, dims):
    # calamine reserved rows x columns from it: four billion rows (an inverted pair wraps
    # round to that) aborted the process.
    path = write_xls(tmp_path / "dims.xls", sheets, dims={"教育经费": dims})

    refused(path, "教育经费", "IV65536")


def test_an_xls_cell_in_a_column_past_iv_is_refused(tmp_path, sheets):
    # A 16-bit column of 65,535 beside A1: calamine laid out 4 billion cells and aborted.
    path = write_xls(tmp_path / "off_grid.xls", sheets, extra_cells={"教育经费": [(3, 65535, 1)]})

    refused(path, "教育经费", "IV65536")


def test_an_xls_whose_sector_chain_loops_is_refused(tmp_path, sheets):
    # The directory's chain pointing at itself: calamine followed it until memory ran out.
    data = bytearray(write_xls(tmp_path / "ok.xls", sheets).read_bytes())
    struct.pack_into("<I", data, 512 + 4 * 1, 1)         # FAT[1], the directory sector, -> 1
    path = tmp_path / "loop.xls"
    path.write_bytes(bytes(data))

    refused(path, "复合文件结构")


def test_an_xls_declaring_more_fat_than_the_file_holds_is_refused(tmp_path, sheets):
    data = bytearray(write_xls(tmp_path / "ok.xls", sheets).read_bytes())
    struct.pack_into("<I", data, 44, 0x3FFFFFFF)         # FAT sectors: calamine reserved 4 GB for them
    path = tmp_path / "fat.xls"
    path.write_bytes(bytes(data))

    refused(path, "复合文件结构")


# --- (C) .ods ---------------------------------------------------------------------------------

def test_an_ods_with_libreoffices_trailing_repeats_is_read(tmp_path, sheets):
    # Every row ends in an empty cell repeated to column XFD, every table in an empty row
    # repeated to row 1048576: calamine stores neither.
    accepted(write_ods(tmp_path / "ledger.ods", sheets))


def test_an_ods_whose_repeated_cells_expand_past_the_cell_limit_is_refused(tmp_path, sheets):
    # A 4 KB file: one row of 16,384 values repeated 6,000 times is 98 million cells (3 GB).
    row = ('<table:table-row table:number-rows-repeated="6000"><table:table-cell office:value-type="float" '
           'office:value="1" table:number-columns-repeated="16384"/></table:table-row>')
    path = write_ods(tmp_path / "repeats.ods", sheets, extra_rows={"在校生": row})

    assert path.stat().st_size < 8192
    refused(path, "在校生", "number-columns-repeated", "超过上限 50,000,000")


def test_an_ods_whose_spaces_expand_past_the_limit_is_refused(tmp_path, sheets):
    row = ('<table:table-row><table:table-cell office:value-type="string"><text:p>a<text:s text:c="2000000000"/>'
           '</text:p></table:table-cell></table:table-row>')
    path = write_ods(tmp_path / "spaces.ods", sheets, extra_rows={"在校生": row})

    refused(path, "在校生", "重复的文字")


def test_a_compound_file_writer_round_trips():
    assert compound_file(b"x" * 4096)[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    assert xlsb_record(0x0094, b"\0" * 16)[:3] == bytes([0x94, 0x01, 16])


# --- (D) names, Strict Open XML, UTF-16 and oversized CSV ------------------------------------

def gbk_named_member(src: Path, dst: Path, name: str) -> Path:
    """`src` with a member named `name` in GBK bytes, the UTF-8 flag unset, as a Chinese
    Windows zip tool writes it."""
    raw = name.encode("gbk")
    placeholder = b"x" * len(raw)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        zout.writestr(placeholder.decode(), b"\x89PNG\r\n")
    dst.write_bytes(dst.read_bytes().replace(placeholder, raw))
    return dst


def test_a_workbook_whose_file_name_is_gbk_bytes_is_read(tmp_path, ledger):
    # Unzipped on Linux from a Windows archive: the name is not UTF-8, which fastexcel could not
    # take as a path ("damaged or not an xlsx workbook, InvalidParametersError").
    path = tmp_path / os.fsdecode("教育经费台账.xlsx".encode("gbk"))
    path.write_bytes(ledger.read_bytes())

    accepted(path)


def test_a_member_named_in_gbk_is_read_even_with_a_backslash_byte_in_a_character(tmp_path, ledger):
    # 禱 is D6 5C in GBK: its second byte is a backslash, which is not a path separator here.
    accepted(gbk_named_member(ledger, tmp_path / "gbk_member.xlsx", "xl/media/祈禱.png"))


def test_a_strict_open_xml_workbook_is_refused_saying_so_not_as_having_no_sheets(tmp_path, ledger):
    strict = {b"http://schemas.openxmlformats.org/spreadsheetml/2006/main": b"http://purl.oclc.org/ooxml/spreadsheetml/main",
              b"http://schemas.openxmlformats.org/officeDocument/2006/relationships":
                  b"http://purl.oclc.org/ooxml/officeDocument/relationships"}

    def convert(xml: bytes) -> bytes:
        for transitional, iso in strict.items():
            xml = xml.replace(transitional, iso)
        return xml

    with zipfile.ZipFile(ledger) as zf:
        changes = {name: convert for name in zf.namelist()}
    path = rewrite(ledger, tmp_path / "strict.xlsx", changes)

    refused(path, "Strict Open XML", "另存为")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_csv_saved_as_utf16_is_read(tmp_path, write_csv, sheets, encoding):
    # Excel's "Unicode text" is UTF-16 with a byte-order mark (tab-separated).
    for sheet, rows in sheets.items():
        text = "\n".join("\t".join(str(c) for c in row) for row in rows) + "\n"
        data = text.encode(encoding)
        if encoding == "utf-16-be":
            data = b"\xfe\xff" + data
        (tmp_path / "ledger").mkdir(exist_ok=True)
        (tmp_path / "ledger" / f"{sheet}.csv").write_bytes(data)

    accepted(tmp_path / "ledger")


def csv_ledger(tmp_path: Path, sheets: dict, budget_tail: str) -> Path:
    folder = tmp_path / "csv_ledger"
    folder.mkdir()
    for sheet, rows in sheets.items():
        text = "\n".join(",".join(str(c) for c in row) for row in rows) + "\n"
        (folder / f"{sheet}.csv").write_text(text + (budget_tail if sheet == "教育经费" else ""), encoding="utf-8")
    return folder


def test_a_csv_line_longer_than_a_million_characters_is_refused_naming_the_line(tmp_path, sheets):
    # A 256 MB one-line CSV used 2.2 GB and ended in "内部错误: field larger than field limit".
    refused(csv_ledger(tmp_path, sheets, "2023,130682," + "9" * 3_000_000 + "\n"), "第 4 行", "超过上限 1,000,000")


def test_a_csv_row_with_more_than_ten_thousand_fields_is_refused_naming_the_line(tmp_path, sheets):
    # A 50 MB CSV with one very wide row used 4.4 GB.
    refused(csv_ledger(tmp_path, sheets, "2023" + ",1" * 20_000 + "\n"), "第 4 行", "20,001 个字段")


def test_a_csv_field_too_long_for_the_csv_module_is_refused_naming_the_line(tmp_path, sheets):
    refused(csv_ledger(tmp_path, sheets, '2023,"' + "a\n" * 100_000 + '"\n'), "无法按表格读取", "字段过长")
