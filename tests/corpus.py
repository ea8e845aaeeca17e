"""A corpus of messy-but-legitimate and of broken ledgers, each with its expected outcome.

Every file is made here from source, the way bureaus' files come to be: typed by hand
(numbers as text, 万元 in a title row, 合计 rows, merged region names, hidden rows and
sheets), exported from finance systems (CSV in GBK with semicolons or tabs), saved by
other programs (LibreOffice .ods and .xls, xlsxwriter formulas with their values).
The expected figures are worked out by hand from the cells written, not from a run.

    python tests/corpus.py OUT_DIR      # writes the files and expected.json for inspection

test_corpus.py runs `finaudit validate --format json` on each file in a child process under
1 GiB of memory and 30 s; hostile xlsx files (bombs, far cells, XML entities, encryption)
are made and run the same way in test_guard.py.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
import struct
import subprocess
import sys
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

BUDGET = ["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额"]
ENROLLMENT = ["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数"]


def budget(level: str, amount, *, year=2023, code="130682", name="定州市", expense="公用经费") -> list:
    return [year, code, name, level, "公办", "一般公共预算", expense, amount]


def enrollment(level: str, students, *, year=2023, code="130682", name="定州市") -> list:
    return [year, code, name, level, "公办", students]


def base() -> dict[str, list[list]]:
    """Two sheets, four budget rows (1500 + 2500.5 + 800 + 320 = 5120.5 yuan), two
    enrollment rows (30 + 20 = 50 students)."""
    return {
        "教育经费": [list(BUDGET), budget("小学", 1500), budget("初中", 2500.5), budget("普通高中", 800),
                 budget("学前教育", 320)],
        "在校生": [list(ENROLLMENT), enrollment("小学", 30), enrollment("初中", 20)],
    }


BASE_TOTALS = {"budget": {"amount": 5120.5}, "enrollment": {"students": 50}}
BASE_ROWS = {"budget": [4, 4, 0, 0], "enrollment": [2, 2, 0, 0]}   # read, valid, rejected, blank


@dataclass
class Case:
    name: str                 # the file (or folder) name in the corpus
    exit_code: int
    # Accepted files: rows per sheet [read, valid, rejected, blank], control totals, finding ids.
    rows: dict = field(default_factory=dict)
    totals: dict = field(default_factory=dict)
    findings: list = field(default_factory=list)
    # Refused files: what the one line on stderr must say.
    message: str | None = None
    env: dict = field(default_factory=dict)
    needs: str | None = None  # an external program the case is made with


# --- writers ----------------------------------------------------------------------------

def write_xlsx(path: Path, sheets: dict, *, titles=None, layout=None, hidden_sheets=()) -> Path:
    """`layout(book)` may merge, hide and clear cells after the rows are written."""
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet, rows in sheets.items():
        ws = book.create_sheet(sheet)
        for row in (titles or {}).get(sheet, []) + rows:
            ws.append(row)
        if sheet in hidden_sheets:
            ws.sheet_state = "hidden"
    if layout:
        layout(book)
    book.save(path)
    return path


def write_csv_folder(path: Path, sheets: dict, *, encoding: str, delimiter: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for sheet, rows in sheets.items():
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        (path / f"{sheet}.csv").write_bytes(buffer.getvalue().encode(encoding))
    return path


def convert(source: Path, target: str, out: Path) -> Path:
    """LibreOffice saves `source` as `target` (xls, ods) under the name `out`."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    work = out.parent / f".lo-{out.stem}"
    subprocess.run([soffice, f"-env:UserInstallation=file://{work}/profile", "--headless", "--convert-to", target,
                    "--outdir", str(work), str(source)], check=True, capture_output=True, timeout=180)
    shutil.move(work / f"{source.stem}.{target}", out)
    shutil.rmtree(work, ignore_errors=True)
    return out


# --- .xlsb, .xls and .ods written from source (the guard's tests and the fuzzer use them) ---

# .xlsb


def xlsb_record(typ: int, data: bytes = b"") -> bytes:
    head = bytes([typ]) if typ < 0x80 else bytes([(typ & 0x7F) | 0x80, typ >> 7])
    size, length = len(data), b""
    while True:
        byte = size & 0x7F
        size >>= 7
        length += bytes([byte | (0x80 if size else 0)])
        if not size:
            break
    return head + length + data


def _wide(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<I", len(raw) // 2) + raw


def write_xlsb(path: Path, sheets: dict[str, list[list]], *, extra_cells: dict | None = None,
               dims: dict | None = None, rel_ids: dict | None = None, merged: dict | None = None,
               hidden: dict | None = None) -> Path:
    """`extra_cells` maps a sheet to [(row, col, record type, payload)] added after its rows
    (0-based); `dims` maps a sheet to its BrtWsDim (first row, last row, first col, last col);
    `rel_ids` maps a sheet to the relationship id its BrtBundleSh names; `merged` maps a sheet
    to its merged ranges (first row, first col, last row, last col; 0-based) and `hidden` to
    its hidden rows (0-based), written as Excel writes them (BrtMergeCell after the cells,
    BrtRowHdr's fDyZero flag)."""
    strings: list[str] = []
    index: dict[str, int] = {}
    parts = {}
    for n, (sheet, rows) in enumerate(sheets.items(), start=1):
        body = [xlsb_record(0x0081)]
        width = max(len(r) for r in rows)
        first_row, last_row, first_col, last_col = (dims or {}).get(sheet, (0, len(rows) - 1, 0, width - 1))
        body.append(xlsb_record(0x0094, struct.pack("<IIII", first_row, last_row, first_col, last_col)))
        body.append(xlsb_record(0x0091))
        cells = [(r, c, value) for r, row in enumerate(rows) for c, value in enumerate(row) if value is not None]
        extra = (extra_cells or {}).get(sheet, [])
        current = None
        for r, c, value in cells + [(r, c, (typ, payload)) for r, c, typ, payload in extra]:
            if r != current:
                flags = 0x10 if r in (hidden or {}).get(sheet, ()) else 0
                body.append(xlsb_record(0x0000, struct.pack("<IIHBBBI", r, 0, 300, 0, flags, 0, 0)))
                current = r
            if isinstance(value, tuple):
                typ, payload = value
                body.append(xlsb_record(typ, struct.pack("<II", c, 0) + payload))
            elif isinstance(value, str):
                if value not in index:
                    index[value] = len(strings)
                    strings.append(value)
                body.append(xlsb_record(0x0007, struct.pack("<III", c, 0, index[value])))
            else:
                body.append(xlsb_record(0x0005, struct.pack("<IId", c, 0, float(value))))
        body.append(xlsb_record(0x0092))
        ranges = (merged or {}).get(sheet, [])
        if ranges:
            body.append(xlsb_record(0x00B1, struct.pack("<I", len(ranges))))
            body += [xlsb_record(0x00B0, struct.pack("<IIII", r1, r2, c1, c2)) for r1, c1, r2, c2 in ranges]
            body.append(xlsb_record(0x00B2))
        body.append(xlsb_record(0x0082))
        parts[f"xl/worksheets/sheet{n}.bin"] = b"".join(body)
    sst = [xlsb_record(0x009F, struct.pack("<II", len(strings), len(strings)))]
    sst += [xlsb_record(0x0013, b"\0" + _wide(s)) for s in strings] + [xlsb_record(0x00A0)]
    book = [xlsb_record(0x0083), xlsb_record(0x008F)]
    rels = []
    for n, sheet in enumerate(sheets, start=1):
        rel = (rel_ids or {}).get(sheet, f"rId{n}")
        book.append(xlsb_record(0x009C, struct.pack("<II", 0, n) + _wide(rel) + _wide(sheet)))
        rels.append(f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    f'relationships/worksheet" Target="worksheets/sheet{n}.bin"/>')
    book += [xlsb_record(0x0090), xlsb_record(0x009D, b"\0" * 26), xlsb_record(0x0084)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/content-types"/>')
        zf.writestr("xl/workbook.bin", b"".join(book))
        zf.writestr("xl/_rels/workbook.bin.rels",
                    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                    'relationships">' + "".join(rels) + "</Relationships>")
        zf.writestr("xl/sharedStrings.bin", b"".join(sst))
        for member, data in parts.items():
            zf.writestr(member, data)
    return path


# .xls

def biff(typ: int, data: bytes = b"") -> bytes:
    return struct.pack("<HH", typ, len(data)) + data


def _xl_string(text: str) -> bytes:
    return struct.pack("<HB", len(text), 1) + text.encode("utf-16-le")


def write_xls(path: Path, sheets: dict[str, list[list]], *, dims: dict | None = None,
              extra_cells: dict | None = None) -> Path:
    """BIFF8 in a compound file. `dims` maps a sheet to its DIMENSIONS (first row, last row + 1,
    first col, last col + 1); `extra_cells` to [(row, col, number)] added after its rows."""
    substreams = []
    for sheet, rows in sheets.items():
        width = max(len(r) for r in rows)
        first_row, last_row, first_col, last_col = (dims or {}).get(sheet, (0, len(rows), 0, width))
        body = [biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 6)),
                biff(0x0200, struct.pack("<IIHHH", first_row, last_row, first_col, last_col, 0))]
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    body.append(biff(0x0204, struct.pack("<HHH", r, c, 15) + _xl_string(value)))
                elif value is not None:
                    body.append(biff(0x0203, struct.pack("<HHHd", r, c, 15, float(value))))
        for r, c, value in (extra_cells or {}).get(sheet, []):
            body.append(biff(0x0203, struct.pack("<HHHd", r, c, 15, float(value))))
        body.append(biff(0x000A))
        substreams.append(b"".join(body))
    head = biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6)) + biff(0x0042, struct.pack("<H", 1200))
    bound_sizes = [4 + 6 + 2 + 2 * len(name) for name in sheets]
    position = len(head) + sum(bound_sizes) + 4
    bounds = []
    for name, sub in zip(sheets, substreams):
        bounds.append(biff(0x0085, struct.pack("<IBB", position, 0, 0) + struct.pack("<BB", len(name), 1)
                           + name.encode("utf-16-le")))
        position += len(sub)
    stream = head + b"".join(bounds) + biff(0x000A) + b"".join(substreams)
    stream += b"\0" * max(4096 - len(stream), 0)             # a regular stream, not a mini one
    path.write_bytes(compound_file(stream))
    return path


def compound_file(stream: bytes) -> bytes:
    """A version-3 compound file holding one stream, 'Workbook': a FAT sector, a directory
    sector, then the stream's sectors."""
    padded = stream + b"\0" * (-len(stream) % 512)
    count = len(padded) // 512
    if count > 126:
        raise ValueError("the stream is larger than one FAT sector maps")
    fat = [0xFFFFFFFD, 0xFFFFFFFE] + [3 + i if i < count - 1 else 0xFFFFFFFE for i in range(count)]
    fat += [0xFFFFFFFF] * (128 - len(fat))
    header = bytearray(512)
    header[:8] = bytes.fromhex("D0CF11E0A1B11AE1")
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIIIIIIII", header, 40, 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    struct.pack_into("<109I", header, 76, 0, *([0xFFFFFFFF] * 108))
    return bytes(header) + struct.pack("<128I", *fat) + _directory(len(stream)) + padded


def _directory(size: int) -> bytes:
    def entry(name: str, kind: int, child: int, start: int, length: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le") if name else b""
        return (raw.ljust(64, b"\0") + struct.pack("<HBBIII", len(raw), kind, 1, 0xFFFFFFFF, 0xFFFFFFFF, child)
                + b"\0" * 16 + b"\0" * 4 + b"\0" * 16 + struct.pack("<IQ", start, length))
    empty = b"\0" * 64 + struct.pack("<HBBIII", 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\0" * 48
    return (entry("Root Entry", 5, 1, 0xFFFFFFFE, 0) + entry("Workbook", 2, 0xFFFFFFFF, 2, size)
            + empty + empty)


# .ods

_ODS_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content '
             'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
             'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
             'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
             '<office:body><office:spreadsheet>')


def ods_cell(value) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, str):
        from xml.sax.saxutils import escape
        return f'<table:table-cell office:value-type="string"><text:p>{escape(value)}</text:p></table:table-cell>'
    return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p></table:table-cell>'


def write_ods(path: Path, sheets: dict[str, list[list]], *, extra_rows: dict | None = None,
              trailing: bool = True) -> Path:
    """`extra_rows` maps a sheet to raw `<table:table-row>` XML added after its rows; `trailing`
    ends every row and table as LibreOffice does, with empty cells and rows repeated to the
    last column and row of a sheet."""
    tables = []
    for sheet, rows in sheets.items():
        body = []
        for row in rows:
            cells = "".join(ods_cell(v) for v in row)
            if trailing:
                cells += f'<table:table-cell table:number-columns-repeated="{16384 - len(row)}"/>'
            body.append(f"<table:table-row>{cells}</table:table-row>")
        body.append((extra_rows or {}).get(sheet, ""))
        if trailing:
            body.append(f'<table:table-row table:number-rows-repeated="{1048576 - len(rows)}">'
                        '<table:table-cell table:number-columns-repeated="16384"/></table:table-row>')
        tables.append(f'<table:table table:name="{sheet}">' + "".join(body) + "</table:table>")
    content = _ODS_HEAD + "".join(tables) + "</office:spreadsheet></office:body></office:document-content>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("META-INF/manifest.xml",
                    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="urn:oasis:names:tc:'
                    'opendocument:xmlns:manifest:1.0" manifest:version="1.2"><manifest:file-entry '
                    'manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
                    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
                    '</manifest:manifest>')
        zf.writestr("content.xml", content)
    return path


# --- the cases --------------------------------------------------------------------------

def _text_numbers(d: Path) -> Path:
    sheets = base()
    sheets["教育经费"][1:] = [budget("小学", "1,234,567.89"), budget("初中", "１２３４．５"),
                          budget("普通高中", " 88 "), budget("学前教育", "2，000")]
    sheets["在校生"][1:] = [enrollment("小学", "1,200"), enrollment("初中", "１２０")]
    return write_xlsx(d / "text_numbers.xlsx", sheets)


def _years_in_words(d: Path) -> Path:
    sheets = base()
    for row, year in zip(sheets["教育经费"][1:], ["2023年", "二〇二三年", 2023.0, "２０２３年度"]):
        row[0] = year
    return write_xlsx(d / "years_in_words.xlsx", sheets)


def _subtotals(d: Path) -> Path:
    sheets = base()
    sheets["教育经费"].insert(3, budget("小计", 4000.5))      # after 小学 and 初中
    sheets["教育经费"].append(["合计", None, None, None, None, None, None, 5120.5])
    return write_xlsx(d / "subtotals.xlsx", sheets)


def _title_rows_in_wan(d: Path) -> Path:
    sheets = base()
    sheets["教育经费"][1:] = [budget("小学", 1.5), budget("初中", 0.25), budget("普通高中", 12.3456),
                          budget("学前教育", 0)]
    titles = {"教育经费": [["定州市教育经费决算明细表"], ["单位：万元"], []]}
    return write_xlsx(d / "title_rows_in_wan.xlsx", sheets, titles=titles)


def _merged_and_hidden(d: Path) -> Path:
    def layout(book):
        ws = book["教育经费"]
        for col in "ABC":                   # Excel keeps only the top-left value of a merge
            for row in (3, 4, 5):
                ws[f"{col}{row}"] = None
            ws.merge_cells(f"{col}2:{col}5")
        ws.row_dimensions[4].hidden = True
        ws.row_dimensions[5].hidden = True
    return write_xlsx(d / "merged_and_hidden.xlsx", base(), layout=layout)


def _hidden_sheet_extra_columns(d: Path) -> Path:
    sheets = base()
    for n, row in enumerate(sheets["教育经费"]):
        row.insert(0, "序号" if n == 0 else n)
        row.append("备注" if n == 0 else "已核对")
    return write_xlsx(d / "hidden_sheet_extra_columns.xlsx", sheets, hidden_sheets=("在校生",))


def _blank_rows_and_dashes(d: Path) -> Path:
    sheets = base()
    sheets["教育经费"].insert(3, [None] * 8)
    sheets["教育经费"].append(budget("特殊教育", "—"))        # a dash: empty, not 0
    return write_xlsx(d / "blank_rows_and_dashes.xlsx", sheets)


def _formulas_with_values(d: Path) -> Path:
    import xlsxwriter

    path = d / "formulas_with_values.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for sheet, rows in base().items():
        ws = book.add_worksheet(sheet)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if sheet == "教育经费" and r > 0 and c == 7:
                    ws.write_formula(r, c, f"={value}*2/2", None, value)   # the value Excel would cache
                else:
                    ws.write(r, c, value)
    book.close()
    return path


def _csv(encoding: str, delimiter: str):
    def make(d: Path) -> Path:
        name = f"csv_{encoding.replace('-', '')}_{ {',': 'comma', ';': 'semicolon', chr(9): 'tab'}[delimiter]}"
        sheets = base()
        if delimiter == ",":
            sheets["教育经费"][1][7] = "1,500"   # quoted by the writer, as Excel does
        return write_csv_folder(d / name, sheets, encoding=encoding, delimiter=delimiter)
    return make


def _hostile_strings(d: Path) -> Path:
    sheets = base()
    sheets["教育经费"][0] = BUDGET + ["学校名称"]
    names = ["=cmd|' /C calc'!A0", "<script>alert(1)</script>", "\x1b[31m红\x07", "长" * 20_000]
    for row, name in zip(sheets["教育经费"][1:], names):
        row.append(name)
    return write_csv_folder(d / "hostile_strings", sheets, encoding="utf-8", delimiter=",")


def _office(target: str):
    def make(d: Path) -> Path:
        source = write_xlsx(d / f".source_{target}.xlsx", base())
        out = convert(source, target, d / f"libreoffice.{target}")
        source.unlink()
        return out
    return make


def _written(name: str, data: bytes):
    def make(d: Path) -> Path:
        (d / name).write_bytes(data)
        return d / name
    return make


def _no_ledger_sheets(d: Path) -> Path:
    return write_xlsx(d / "no_ledger_sheets.xlsx", {"Sheet1": [["姓名", "电话"], ["张三", "123"]]})


def _header_near_alias(d: Path) -> Path:
    sheets = base()
    sheets["教育经费"][0] = BUDGET[:7] + ["支出金额数"]
    return write_xlsx(d / "header_near_alias.xlsx", sheets)


def _ods_bomb(d: Path) -> Path:
    path = d / "ods_bomb.ods"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", b"<?xml version='1.0'?><office:document-content>" + b" " * (24 * 1024 * 1024))
    return path


def _ods_with_entities(d: Path) -> Path:
    path = d / "ods_entities.ods"
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;">]><a>&lol1;</a>'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", laughs)
    return path


MAKERS = {
    "text_numbers.xlsx": (_text_numbers, Case(
        "text_numbers.xlsx", 0, rows=BASE_ROWS,
        totals={"budget": {"amount": 1_234_567.89 + 1234.5 + 88 + 2000}, "enrollment": {"students": 1320}})),
    "years_in_words.xlsx": (_years_in_words, Case("years_in_words.xlsx", 0, rows=BASE_ROWS, totals=BASE_TOTALS)),
    "subtotals.xlsx": (_subtotals, Case(
        "subtotals.xlsx", 1, rows={"budget": [6, 4, 2, 0], "enrollment": [2, 2, 0, 0]}, totals=BASE_TOTALS,
        findings=["DATA_SUBTOTAL_ROW", "DATA_SUBTOTAL_ROW"])),
    "title_rows_in_wan.xlsx": (_title_rows_in_wan, Case(
        "title_rows_in_wan.xlsx", 0, rows=BASE_ROWS,
        totals={"budget": {"amount": 15_000 + 2_500 + 123_456}, "enrollment": {"students": 50}})),
    "merged_and_hidden.xlsx": (_merged_and_hidden, Case(
        "merged_and_hidden.xlsx", 1, rows=BASE_ROWS, totals=BASE_TOTALS,
        findings=["DATA_HIDDEN_ROWS", "DATA_MERGED_CELLS"])),
    "hidden_sheet_extra_columns.xlsx": (_hidden_sheet_extra_columns, Case(
        "hidden_sheet_extra_columns.xlsx", 0, rows=BASE_ROWS, totals=BASE_TOTALS)),
    "blank_rows_and_dashes.xlsx": (_blank_rows_and_dashes, Case(
        "blank_rows_and_dashes.xlsx", 1, rows={"budget": [5, 4, 1, 1], "enrollment": [2, 2, 0, 0]},
        totals=BASE_TOTALS, findings=["SCHEMA_REQUIRED"])),
    "formulas_with_values.xlsx": (_formulas_with_values, Case(
        "formulas_with_values.xlsx", 0, rows=BASE_ROWS, totals=BASE_TOTALS)),
    "csv_utf8sig_comma": (_csv("utf-8-sig", ","), Case("csv_utf8sig_comma", 0, rows=BASE_ROWS, totals=BASE_TOTALS)),
    "csv_gbk_semicolon": (_csv("gbk", ";"), Case("csv_gbk_semicolon", 0, rows=BASE_ROWS, totals=BASE_TOTALS)),
    "csv_gb18030_tab": (_csv("gb18030", "\t"), Case("csv_gb18030_tab", 0, rows=BASE_ROWS, totals=BASE_TOTALS)),
    "hostile_strings": (_hostile_strings, Case("hostile_strings", 0, rows=BASE_ROWS, totals=BASE_TOTALS)),
    "libreoffice.ods": (_office("ods"), Case("libreoffice.ods", 0, rows=BASE_ROWS, totals=BASE_TOTALS,
                                             needs="soffice")),
    "libreoffice.xls": (_office("xls"), Case("libreoffice.xls", 0, rows=BASE_ROWS, totals=BASE_TOTALS,
                                             needs="soffice")),
    # Broken or hostile: refused with one line naming the problem.
    "png_named.xlsx": (_written("png_named.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
                       Case("png_named.xlsx", 2, message="不是 xlsx 工作簿")),
    "garbage.xls": (_written("garbage.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\xff" * 600),
                    Case("garbage.xls", 2, message="无法打开工作簿")),
    "zero.ods": (_written("zero.ods", b""), Case("zero.ods", 2, message="空文件")),
    "教育经费.csv": (_written("教育经费.csv", b"\x81\x20\xff\xfe" * 64), Case("教育经费.csv", 2, message="无法解码")),
    "no_ledger_sheets.xlsx": (_no_ledger_sheets, Case("no_ledger_sheets.xlsx", 2, message="找不到工作表")),
    "header_near_alias.xlsx": (_header_near_alias, Case("header_near_alias.xlsx", 2, message="支出金额数")),
    "ods_bomb.ods": (_ods_bomb, Case("ods_bomb.ods", 2, message="疑似压缩炸弹")),
    "ods_entities.ods": (_ods_with_entities, Case("ods_entities.ods", 2, message="十亿笑")),
}


def build(out: Path, names=None) -> dict[str, tuple[Path, Case]]:
    out.mkdir(parents=True, exist_ok=True)
    return {name: (make(out), case) for name, (make, case) in MAKERS.items() if names is None or name in names}


if __name__ == "__main__":
    target = Path(sys.argv[1])
    built = build(target)
    (target / "expected.json").write_text(
        json.dumps({name: asdict(case) for name, (_, case) in built.items()}, ensure_ascii=False, indent=2),
        encoding="utf-8")
    print(f"{len(built)} files in {target}")
