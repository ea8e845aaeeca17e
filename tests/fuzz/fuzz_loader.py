"""Fuzzes the ledger loader: mutated workbooks must load, or be refused with one sentence.

    python tests/fuzz/fuzz_loader.py --minutes 20            # fuzz for 20 minutes
    python tests/fuzz/fuzz_loader.py --cases 500 --seed 7    # 500 cases, another seed
    python tests/fuzz/fuzz_loader.py --seed 7 --case 123     # write case 123 again and run it alone
    python tests/fuzz/fuzz_loader.py --replay file.xlsx      # run one file the way the fuzzer does

Valid seed workbooks (sample_ledgers/clean.xlsx and two small ones built here, one by openpyxl
and one by xlsxwriter) are mutated at three levels: the rows before they are written (hostile
cell values, moved headers, renamed, hidden or doubled sheets), the inflated XML parts (cells,
references, shared strings, workbook.xml, relationships, entities, encodings) re-zipped, and
the zip bytes themselves (flips, truncation, header fields). Case i of seed s is a function of
(s, i) alone, so every case can be written again from its number.

finaudit.intake.ledger.load runs in a worker process started once, under a 1 GiB address-space limit
(RLIMIT_AS), one case at a time with a timeout. The only acceptable outcomes are a Ledger whose
valid rows keep the contract (every row accounted for, required cells present, amounts finite
and in range), or a FinauditError whose messages are one line each. Anything else (another
exception, a message spanning lines, a crash of the worker, a hang) is a finding: the case is
run again alone in a fresh process under the same limit, and saved with what happened under
<out>/findings/.
"""
from __future__ import annotations

import argparse
import collections
import copy
import datetime
import hashlib
import io
import json
import os
import random
import re
import resource
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata
import warnings
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GIB = 1024 ** 3
CASE_TIMEOUT = 20           # seconds for one load; the slowest seed loads in under a second
CONFIRM_TIMEOUT = 60
KEEP_PER_SIGNATURE = 3      # reproducers saved for each distinct finding
FIXED_TIME = (2024, 1, 1, 0, 0, 0)

# --- hostile values -----------------------------------------------------------------

HOSTILE_TEXT = [
    "", " ", "\u3000", "\x00", "\x1b[2J\x1b[31m红\x1b[0m", "a\nb", "金额\n（万元）", "\r\n", "\t", "\u202e金额",
    "\ufeff年度", "\u200b", "𝟏𝟐𝟑", "１２３４．５", "1,5", "1.234,5", ",5", "1,234,567.89", "+1801439850949.0010",
    "inf", "-Infinity", "NaN", "nan", "1e309", "-1e309", "9" * 400, "0x1F", "1_000", "—", "-", "／", "无",
    "合计", "小计", "总 计", "=cmd|' /C calc'!A0", "=1+1", "@SUM(1)", "+1", "-0", "1e-400", "18446744073709551617",
    "9223372036854775808", "2023.5", "二〇二三年", "２０２３年度", "1500元", "30人", "N/A", "TRUE", "#DIV/0!",
    "1.7976931348623157e308", "_x0000_", "_x001B_[2J", "_x000A_", "A" * 40_000, "年度", "金额（万元）", "金额/亿元",
    "单位：亿元", "<script>alert(1)</script>", "${jndi:ldap://x/a}", "%s%n%x", "'130682", "130682.0", "1.30682E+5",
    "公办", "公 办", "ＰＵＢＬＩＣ", "其它", "决算数", "中职", "人数", "上年同口径", "学校",
]
HOSTILE_NUMBERS = [
    0, -0.0, 1e308, -1e308, 1.7976931348623157e308, 5e-324, 2 ** 53 + 1, 2 ** 63, -(2 ** 63) - 1, 10 ** 30,
    10 ** 400, float("inf"), float("-inf"), float("nan"), 2023.5, -1, 1e15 + 0.3, 1949, 2100, 2101, 1948, 130682,
    0.1 + 0.2, True, False, datetime.datetime(2023, 1, 1), datetime.date(1900, 2, 28), datetime.time(12, 0),
]
HOSTILE_V = [
    b"1e308", b"1e309", b"-1e309", b"inf", b"-inf", b"NaN", b"nan", b"", b"1.5.5", b"0x10", b"9" * 400, b"-0",
    b"1e-400", b"18446744073709551617", b"9223372036854775808", b" 12 ", b"1,234", b"true", b"2023", b"-1",
    b"4.9e-324", b"1E+2", b"+5", b".5", b"5.", b"&#x1b;", b"\xff\xfe", b"&amp;", b"\xe9\x87\x91",
]
HOSTILE_REFS = [b"A0", b"a1", b"XFD1048576", b"XFE1", b"A1048577", b"AAAA1", b"A99999999999", b"", b"1A", b"A-1",
                b"ZZ3", b"B2", b"A1:A2", b" A1", b"\xc3\xa91", b"A01"]
HOSTILE_NAMES = ["教育经费", "在校生", "budget", "BUDGET", "教育 经费", "ｂｕｄｇｅｔ", "经费", "教育经费支出", "说明",
                 "x" * 300, "", "'", "教育经费!", "a&#10;b", "&#x1b;", "\u202e教育经费", "教育经费\t"]
XML_SNIPPETS = [
    b"<!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>", b"&b;", b"<![CDATA[", b"]]>", b"</c>",
    b"<c r=\"XFD1048576\"><v>1</v></c>", b"<row r=\"1048576\"><c r=\"A1048576\"><v>1</v></c></row>", b"<f>1+1</f>",
    b"<x:c r=\"A1\">", b"\x00", b"\xff", b"<?xml version=\"1.0\" encoding=\"UTF-16\"?>", b"&#0;", b"&#x110000;",
    b"<c r=\"A1\" t=\"s\"><v>999999</v></c>", b"<v>", b"<is><t>", b"<mergeCell ref=\"A1:XFD1048576\"/>",
]


# --- workbooks as zip members --------------------------------------------------------

def unzip(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


def rezip(members: list[tuple[str, bytes]], stored: set[str] = frozenset()) -> bytes:
    """The members as a zip with fixed timestamps, so that a case's bytes depend on its number only."""
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # duplicate names are one of the mutations
        with zipfile.ZipFile(out, "w") as zf:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
                info.compress_type = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
                zf.writestr(info, data)
    return out.getvalue()


def canonical(data: bytes) -> bytes:
    """A writer's workbook with its timestamps fixed (openpyxl stamps the time of saving)."""
    members = [(n, re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2024-01-01T00:00:00Z", d)
                if n == "docProps/core.xml" else d) for n, d in unzip(data)]
    return rezip(members)


# --- seeds ---------------------------------------------------------------------------------

def seed_sheets() -> dict[str, list[list]]:
    """A small valid ledger with the messiness the loader promises to read: a title row, a
    unit row, a unit in a header, numbers as text, full-width digits, a 合计 row."""
    budget = [["定州市教育经费台账（合成数据）"], ["单位：万元"],
              ["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额", "学校代码", "口径",
               "上年同口径数"]]
    for year in (2022, 2023):
        for level, amount in (("小学", 150.5), ("初中", "1,250.25"), ("普通高中", "２００"), ("学前教育", 40)):
            for expense in ("公用经费", "人员经费"):
                budget.append([year, "130682", "定州市", level, "公办", "一般公共预算", expense, amount, None,
                               "决算", amount if year == 2023 else None])
    budget.append([2023, "130682", "定州市", "合计", None, None, None, 9999, None, None, None])
    enrollment = [["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数"]]
    for year in (2022, 2023):
        for level, students in (("小学", 3000), ("初中", "1,500"), ("普通高中", 800), ("学前教育", "１２００人")):
            enrollment.append([f"{year}年", 130682, "定州市", level, "公办", students])
    return {
        "说明": [["合成数据，仅供测试"]],
        "教育经费": budget,
        "在校生": enrollment,
        "教育费附加": [["年度", "行政区划代码", "地区", "附加类型", "征收额（万元）", "用于职业教育（万元）"],
                    [2023, "130682", "定州市", "教育费附加", 1000, 300],
                    [2023, "130682", "定州市", "地方教育附加", 500, 160]],
        "工资": [["年度", "行政区划代码", "地区", "人员类别", "人数", "工资总额/万元"],
               [2023, "130682", "定州市", "义务教育教师", 3000, 30000],
               [2023, "130682", "定州市", "公务员", 2000, 19000]],
        "参照值": [["年度", "行政区划代码", "指标", "数值"],
                [2023, "130000", "全省义务教育生均公用经费", 1100]],
    }


def write_openpyxl(sheets: dict[str, list[list]], hidden=("说明",)) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name[:31] or "Sheet")
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None:
                    ws.cell(row=r, column=c, value=value)
        if name in hidden:
            ws.sheet_state = "hidden"
    book.properties.created = book.properties.modified = datetime.datetime(2024, 1, 1)
    out = io.BytesIO()
    book.save(out)
    return canonical(out.getvalue())


def write_xlsxwriter(sheets: dict[str, list[list]], *, formulas: bool = False, merge: tuple = (),
                     hidden: tuple = ()) -> bytes:
    """Rows as xlsxwriter writes them: shared strings, control characters escaped as _xHHHH_,
    NaN and infinity as error cells, strings starting with = as formulas when `formulas`."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "nan_inf_to_errors": True, "strings_to_numbers": False,
                                     "strings_to_formulas": formulas, "strings_to_urls": False})
    book.set_properties({"created": datetime.datetime(2024, 1, 1)})
    seen = set()
    for name, rows in sheets.items():
        title = name[:31]
        if not title or title in seen or any(c in title for c in "[]:*?/\\") or title.startswith("'"):
            title = f"Sheet{len(seen) + 1}"     # names xlsxwriter refuses: renamed in the XML instead
        seen.add(title)
        ws = book.add_worksheet(title)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                try:
                    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2 ** 63:
                        value = str(value)
                    ws.write(r, c, value)
                except Exception:   # values xlsxwriter refuses (too long, unwritable): as text
                    ws.write_string(r, c, str(value)[:32767])
        for first_row, first_col, last_row, last_col in merge:
            if rows and name == list(sheets)[1 if len(sheets) > 1 else 0]:
                first = rows[first_row][first_col] if len(rows[first_row]) > first_col else None
                try:        # the merged range keeps its first cell, as Excel does
                    ws.merge_range(first_row, first_col, last_row, last_col, first)
                except Exception:   # overlapping or single-cell ranges, which xlsxwriter refuses
                    pass
        if name in hidden:
            ws.hide()
    book.close()
    return canonical(out.getvalue())


def build_seeds() -> dict[str, bytes]:
    sheets = seed_sheets()
    seeds = {"openpyxl": write_openpyxl(sheets), "xlsxwriter": write_xlsxwriter(sheets)}
    seeds.update(other_format_seeds(sheets))
    clean = REPO / "sample_ledgers" / "clean.xlsx"
    if clean.exists():
        seeds["clean"] = clean.read_bytes()
    return seeds


# --- mutations of the rows (written again by xlsxwriter) --------------------------------

def hostile_value(rng: random.Random):
    pick = rng.random()
    if pick < 0.55:
        return rng.choice(HOSTILE_TEXT)
    if pick < 0.9:
        return rng.choice(HOSTILE_NUMBERS)
    return "".join(chr(rng.choice([rng.randrange(0, 0x80), rng.randrange(0x80, 0x3000), rng.randrange(0x4e00, 0x9fff)]))
                   for _ in range(rng.randrange(1, 12)))


def mutate_rows(rng: random.Random, sheets: dict[str, list[list]]) -> tuple[dict, list[str], dict]:
    sheets = copy.deepcopy(sheets)
    notes, options = [], {}
    for _ in range(rng.randrange(1, 4)):
        name = rng.choice(list(sheets))
        rows = sheets[name]
        kind = rng.choice(["cell", "cell", "cell", "header cell", "titles", "drop column", "duplicate column",
                           "shuffle columns", "drop sheet", "rename sheet", "second claim", "hide", "blank rows",
                           "many rows", "formulas", "merge", "ragged rows"])
        if kind in ("cell", "header cell") and rows:
            header = next((i for i, row in enumerate(rows) if len(row) > 3), 0)
            for _ in range(rng.randrange(1, 6)):
                r = header if kind == "header cell" else rng.randrange(len(rows))
                width = max(len(rows[r]), 1)
                c = rng.randrange(width + 1)
                rows[r].extend([None] * (c + 1 - len(rows[r])))
                rows[r][c] = hostile_value(rng)
                notes.append(f"{kind} {name}!R{r + 1}C{c + 1}={rows[r][c]!r:.60}")
            continue
        if kind == "titles":
            count = rng.choice([1, 5, 28, 29, 30, 40])
            sheets[name] = [[hostile_value(rng)] for _ in range(count)] + rows
        elif kind in ("drop column", "duplicate column", "shuffle columns") and any(rows):
            width = max(len(r) for r in rows)
            c = rng.randrange(width)
            for row in rows:
                row.extend([None] * (width - len(row)))
                if kind == "drop column":
                    del row[c]
                elif kind == "duplicate column":
                    row.insert(rng.randrange(width), row[c])
            if kind == "shuffle columns":
                order = list(range(width))
                rng.shuffle(order)
                sheets[name] = [[row[i] for i in order] for row in rows]
        elif kind == "drop sheet":
            del sheets[name]
            if not sheets:
                sheets["Sheet1"] = []
        elif kind == "rename sheet":
            new = rng.choice(HOSTILE_NAMES).replace("&#10;", "\n").replace("&#x1b;", "\x1b")
            sheets = {(new if n == name else n): v for n, v in sheets.items()}
            kind += f" to {new!r}"
        elif kind == "second claim":
            sheets[rng.choice(["budget", "经费", "教育经费支出", "在校生 ", "enrollment"])] = copy.deepcopy(rows)
        elif kind == "hide":
            options.setdefault("hidden", []).append(name)
        elif kind == "blank rows":
            for _ in range(rng.randrange(1, 10)):
                rows.insert(rng.randrange(len(rows) + 1), [None] * rng.randrange(0, 5))
        elif kind == "many rows" and len(rows) > 1:
            row = rows[rng.randrange(1, len(rows))]
            rows.extend(copy.deepcopy(row) for _ in range(rng.choice([1_000, 10_000])))
        elif kind == "formulas":
            options["formulas"] = True
            if rows:
                r = rng.randrange(len(rows))
                rows[r].append(rng.choice(["=cmd|' /C calc'!A0", "=SUM(H1:H3)", "=1/0", "=A1", "=HYPERLINK(\"x\")"]))
        elif kind == "merge":
            options.setdefault("merge", []).append((0, 0, rng.randrange(0, 3), rng.randrange(1, 12)))
        elif kind == "ragged rows" and rows:
            for row in rows:
                del row[rng.randrange(len(row) + 1):]
        notes.append(f"{kind} {name}")
    return sheets, notes, options


# --- mutations of the XML parts ---------------------------------------------------------------

def _escape(text: str) -> bytes:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return "".join(f"&#x{ord(c):x};" if unicodedata.category(c) == "Cc" else c for c in text).encode("utf-8", "replace")


def _pick(rng: random.Random, members, pattern: str):
    indexes = [i for i, (n, _) in enumerate(members) if re.fullmatch(pattern, n)]
    return rng.choice(indexes) if indexes else None


def _sub_one(rng: random.Random, pattern: bytes, data: bytes, replace) -> bytes:
    matches = list(re.finditer(pattern, data, re.S))
    if not matches:
        return data
    # Most cells of a ledger are data; the header and title rows are the first few hundred bytes
    # of cells, so half the picks come from the first twenty matches.
    match = rng.choice(matches[:20] if rng.random() < 0.5 else matches)
    return data[: match.start()] + replace(match) + data[match.end():]


def hostile_cell(rng: random.Random, ref: bytes) -> bytes:
    kind = rng.choice(["n", "s", "str", "inlineStr", "b", "e", "d", "zzz", "f", "f-no-v", "style"])
    r = b' r="' + ref + b'"' if rng.random() < 0.9 else b""
    if kind == "n":
        return b"<c" + r + b"><v>" + rng.choice(HOSTILE_V) + b"</v></c>"
    if kind == "s":
        return b"<c" + r + b' t="s"><v>' + rng.choice([b"0", b"-1", b"999999", b"abc", b"1.5", b"", b"4294967296"]) + b"</v></c>"
    if kind in ("str", "inlineStr"):
        text = _escape(str(hostile_value(rng)))
        body = b"<v>" + text + b"</v>" if kind == "str" else b'<is><t xml:space="preserve">' + text + b"</t></is>"
        return b"<c" + r + b' t="' + kind.encode() + b'">' + body + b"</c>"
    if kind == "b":
        return b"<c" + r + b' t="b"><v>' + rng.choice([b"1", b"0", b"2", b"true", b""]) + b"</v></c>"
    if kind == "e":
        return b"<c" + r + b' t="e"><v>' + rng.choice([b"#DIV/0!", b"#REF!", b"#N/A", b"#NAME?", b"x"]) + b"</v></c>"
    if kind == "d":
        return b"<c" + r + b' t="d"><v>' + rng.choice([b"2023-01-01T00:00:00", b"2023-13-45", b"x", b""]) + b"</v></c>"
    if kind == "zzz":
        return b"<c" + r + b' t="zzz"><v>1</v></c>'
    if kind == "f":
        return b"<c" + r + b"><f>" + _escape(rng.choice(["cmd|' /C calc'!A0", "SUM(A1:A3)", "1/0"])) + b"</f><v>" + \
            rng.choice(HOSTILE_V) + b"</v></c>"
    if kind == "f-no-v":
        return b"<c" + r + b"><f>1+1</f></c>"
    return b"<c" + r + b' s="' + rng.choice([b"99999", b"-1", b"1", b"x"]) + b'"><v>45000</v></c>'


def mutate_xml(rng: random.Random, members: list[tuple[str, bytes]]) -> tuple[list, str, set]:
    members = list(members)
    stored: set[str] = set()
    kind = rng.choice(["cell", "cell", "cell", "ref", "row", "dimension", "shared string", "sheet name",
                       "sheet state", "relationship", "bytes", "bytes", "snippet", "entities", "encoding",
                       "prefix", "content types", "drop member", "duplicate member", "stored", "date style",
                       "shared formula", "huge member"])
    sheet = _pick(rng, members, r"xl/worksheets/sheet\d+\.xml")
    if not members:
        return members, f"{kind}: no members left", stored
    index = sheet if sheet is not None else 0
    name, data = members[index]
    if kind == "cell":
        data = _sub_one(rng, rb'<c r="([A-Z]+\d+)"[^>]*?(?:/>|>.*?</c>)', data, lambda m: hostile_cell(rng, m.group(1)))
    elif kind == "ref":
        data = _sub_one(rng, rb'<c r="[A-Z]+\d+"', data, lambda m: b'<c r="' + rng.choice(HOSTILE_REFS) + b'"')
    elif kind == "row":
        data = _sub_one(rng, rb'<row r="\d+"', data, lambda m: b'<row r="' + rng.choice(
            [b"0", b"1", b"1048576", b"4294967297", b"-1", b"x", b"3"]) + b'"')
    elif kind == "dimension":
        new = rng.choice([b"A1:XFD1048576", b"A1", b"", b"ZZZZ1:A1", b"A1:A99999999999"])
        data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="' + new + b'"', data)
        if b"<dimension" not in data:
            data = data.replace(b"<sheetData", b'<dimension ref="' + new + b'"/><sheetData', 1)
    elif kind == "shared string":
        index = _pick(rng, members, r"xl/sharedStrings\.xml")
        if index is None:
            return members, f"{kind}: none to change", stored
        name, data = members[index]
        action = rng.choice(["text", "text", "drop", "count", "rich"])
        if action == "text":
            data = _sub_one(rng, rb"<t(?: [^>]*)?>[^<]*</t>", data,
                            lambda m: b'<t xml:space="preserve">' + _escape(str(hostile_value(rng))) + b"</t>")
        elif action == "drop":
            data = _sub_one(rng, rb"<si>.*?</si>", data, lambda m: b"")
        elif action == "count":
            data = re.sub(rb'(count|uniqueCount)="\d+"', rb'\1="4294967296"', data)
        else:
            data = _sub_one(rng, rb"<si><t[^>]*>([^<]*)</t></si>", data,
                            lambda m: b"<si><r><rPr><b/></rPr><t>" + m.group(1)[:3] + b"</t></r><r><t>" +
                            m.group(1)[3:] + b"\n</t></r></si>")
        kind += f" {action}"
    elif kind in ("sheet name", "sheet state"):
        index = _pick(rng, members, r"xl/workbook\.xml")
        if index is None:               # dropped by an earlier mutation of this case
            return members, f"{kind}: none to change", stored
        name, data = members[index]
        if kind == "sheet name":
            new = rng.choice(HOSTILE_NAMES)
            data = _sub_one(rng, rb'<sheet [^>]*?name="[^"]*"', data,
                            lambda m: re.sub(rb'name="[^"]*"', b'name="' + new.encode() + b'"', m.group()))
        else:
            state = rng.choice([b"hidden", b"veryHidden", b"visible", b"x"])
            data = _sub_one(rng, rb"<sheet ", data, lambda m: b'<sheet state="' + state + b'" ')
    elif kind == "relationship":
        index = _pick(rng, members, r"xl/_rels/workbook\.xml\.rels")
        if index is None:               # dropped by an earlier mutation of this case
            return members, f"{kind}: none to change", stored
        name, data = members[index]
        target = rng.choice([b"/xl/worksheets/sheet2.xml", b"worksheets/sheet99.xml", b"../../etc/passwd",
                             b"worksheets\\sheet2.xml", b"worksheets/sheet2.xml", b"", b"styles.xml",
                             b"http://example.invalid/x.xml\" TargetMode=\"External"])
        data = _sub_one(rng, rb'Target="[^"]*"', data, lambda m: b'Target="' + target + b'"')
    elif kind == "bytes":
        index = rng.randrange(len(members))
        name, data = members[index]
        data = bytearray(data)
        for _ in range(rng.randrange(1, 6)):
            if not data:
                break
            at = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[at] ^= 1 << rng.randrange(8)
            elif action < 0.7:
                del data[at: at + rng.randrange(1, 64)]
            else:
                data[at:at] = data[at: at + rng.randrange(1, 256)]
        data = bytes(data)
    elif kind == "snippet":
        index = rng.randrange(len(members))
        name, data = members[index]
        at = rng.randrange(len(data) + 1)
        data = data[:at] + rng.choice(XML_SNIPPETS) + data[at:]
    elif kind == "entities":
        index = rng.randrange(len(members))
        name, data = members[index]
        data = re.sub(rb"^(<\?xml[^>]*\?>)?", lambda m: (m.group(1) or b"") + XML_SNIPPETS[0], data, count=1)
    elif kind == "encoding":
        text = data.decode("utf-8", "replace")
        data = rng.choice([text.encode("utf-16"), b"\xef\xbb\xbf" + data, text.encode("gb18030"),
                           data.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"')])
    elif kind == "prefix":
        data = re.sub(rb"<(/?)(sheetData|row|c|v|is|t)([\s/>])", rb"<\1x:\2\3", data)
        data = data.replace(b"<worksheet ", b'<worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ', 1)
    elif kind == "content types":
        index = _pick(rng, members, r"\[Content_Types\]\.xml")
        if index is None:               # dropped by an earlier mutation of this case
            return members, f"{kind}: none to change", stored
        name, data = members[index]
        data = _sub_one(rng, rb"<Override [^>]*/>", data, lambda m: b"")
    elif kind == "drop member":
        index = rng.randrange(len(members))
        name, data = members.pop(index)
        return members, f"drop member {name}", stored
    elif kind == "duplicate member":
        index = rng.randrange(len(members))
        members.insert(rng.randrange(len(members) + 1), members[index])
        return members, f"duplicate member {members[index][0]}", stored
    elif kind == "stored":
        stored = {n for n, _ in members if rng.random() < 0.5}
        return members, "some members stored", stored
    elif kind == "date style":
        # Every cell styled as a date: numbers then read as dates, which amounts are not.
        styles = _pick(rng, members, r"xl/styles\.xml")
        if styles is not None:
            s_name, s_data = members[styles]
            s_data = re.sub(rb'numFmtId="\d+"', b'numFmtId="14"', s_data)
            members[styles] = (s_name, s_data)
        data = re.sub(rb'<c r="([A-Z]+\d+)"(?: s="\d+")?', rb'<c r="\1" s="1"', data)
    elif kind == "shared formula":
        data = _sub_one(rng, rb'<c r="([A-Z]+\d+)"([^>]*)>', data, lambda m: m.group() + (
            b'<f t="shared" ref="A1:XFD1048576" si="0">1+1</f>' if rng.random() < 0.5 else b'<f t="array" ref="A1:C3">1</f>'))
    elif kind == "huge member":
        # A long run of rows, inflating to tens of MB: within the guard's limits, not within a second.
        row = re.search(rb"<row .*?</row>", data, re.S)
        if row:
            data = data.replace(b"</sheetData>", row.group() * rng.choice([2_000, 20_000]) + b"</sheetData>", 1)
    members[index] = (name, data)
    return members, f"{kind} {name}", stored


# --- mutations of the zip bytes ---------------------------------------------------------------

def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    data = bytearray(data)
    kind = rng.choice(["flip", "truncate", "chunk", "header field"])
    if kind == "flip":
        for _ in range(rng.randrange(1, 9)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        del data[rng.randrange(len(data)):]
    elif kind == "chunk":
        at = rng.randrange(len(data))
        if rng.random() < 0.5:
            del data[at: at + rng.randrange(1, 4096)]
        else:
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
    else:
        # A field of a local or central header: flags, method, CRC, sizes, name length, offset.
        heads = [m.start() for m in re.finditer(rb"PK\x01\x02|PK\x03\x04", bytes(data))]
        if heads:
            head = rng.choice(heads)
            central = data[head + 2: head + 4] == b"\x01\x02"
            offset, width = rng.choice([(8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (42, 4)] if central
                                       else [(6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2)])
            value = rng.choice([0, 1, 99, 0xFFFF, 0xFFFFFFFF, rng.randrange(1 << (8 * width))]) & ((1 << (8 * width)) - 1)
            data[head + offset: head + offset + width] = value.to_bytes(width, "little")
            kind += f" {'central' if central else 'local'}+{offset}={value}"
    return bytes(data), kind


# --- .xlsb, .xls and .ods: seeds written from source and mutations of their records -------------

OTHER_FORMATS = {"xlsb": "ledger.xlsb", "xls": "ledger.xls", "ods": "ledger.ods"}
HOSTILE_U32 = [0, 1, 255, 256, 16383, 16384, 65535, 65536, 1048575, 1048576, 2 ** 31, 0xFFFFFFFE, 0xFFFFFFFF]
HOSTILE_REPEATS = [b"0", b"1", b"2", b"1024", b"16384", b"16385", b"1048576", b"6000", b"2147483648", b"-1", b"x",
                   b"99999999999999999999", b""]


def other_format_seeds(sheets: dict) -> dict[str, bytes]:
    """The seed ledger as .xlsb, .xls and .ods, by the writers of tests/corpus.py."""
    sys.path.insert(0, str(REPO / "tests"))
    from corpus import write_ods, write_xls, write_xlsb

    out = {}
    with tempfile.TemporaryDirectory() as folder:
        for kind, writer in (("xlsb", write_xlsb), ("xls", write_xls), ("ods", write_ods)):
            path = Path(folder) / OTHER_FORMATS[kind]
            writer(path, {name: rows for name, rows in sheets.items() if rows})
            data = path.read_bytes()
            out[kind] = rezip(unzip(data)) if kind != "xls" else data     # fixed zip timestamps
    return out


def mutate_other(rng: random.Random, kind: str, data: bytes) -> tuple[bytes, str]:
    """One mutation of an .xlsb's records, an .xls's records or compound file, or an .ods's
    repeat counts and spaces."""
    if kind == "xls":
        return _mutate_xls(rng, data)
    members = unzip(data)
    if kind == "ods":
        index = next(i for i, (name, _) in enumerate(members) if name == "content.xml")
        name, xml = members[index]
        what = rng.choice(["columns", "rows", "spaces", "content cell"])
        value = rng.choice(HOSTILE_REPEATS)
        if what == "columns":
            spots = [m.start() for m in re.finditer(rb"<table:table-cell\b", xml)]
            at = rng.choice(spots) + len(b"<table:table-cell")
            xml = xml[:at] + b' table:number-columns-repeated="' + value + b'"' + xml[at:]
        elif what == "rows":
            spots = [m.start() for m in re.finditer(rb"<table:table-row\b", xml)]
            at = rng.choice(spots) + len(b"<table:table-row")
            xml = xml[:at] + b' table:number-rows-repeated="' + value + b'"' + xml[at:]
        elif what == "spaces":
            xml = xml.replace(b"</text:p>", b'<text:s text:c="' + value + b'"/></text:p>', 1)
        else:
            xml = re.sub(rb'table:number-columns-repeated="\d+"/>', b'table:number-columns-repeated="' + value
                         + b'" office:value-type="float" office:value="1"/>', xml, count=1)
        members[index] = (name, xml)
        return rezip(members), f"ods {what}={value.decode()}"
    sheets = [i for i, (name, _) in enumerate(members) if name.endswith(".bin")]
    index = rng.choice(sheets)
    name, part = members[index]
    part = bytearray(part)
    records = _xlsb_records(bytes(part))
    if records:
        typ, start, size = rng.choice(records)
        if size >= 4:
            field = rng.randrange(0, min(size, 16) - 3)
            value = rng.choice(HOSTILE_U32)
            struct.pack_into("<I", part, start + field, value)
            members[index] = (name, bytes(part))
            return rezip(members), f"xlsb {name} record {typ:#06x} +{field}={value}"
    return rezip(members), f"xlsb {name} unchanged"


def _xlsb_records(part: bytes) -> list[tuple[int, int, int]]:
    """(type, data offset, size) of each record of an .xlsb part."""
    out, at = [], 0
    while at < len(part):
        typ = part[at]
        at += 1
        if typ & 0x80 and at < len(part):
            typ = (typ & 0x7F) | ((part[at] & 0x7F) << 7)
            at += 1
        size, shift = 0, 0
        for _ in range(4):
            if at >= len(part):
                return out
            byte = part[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        out.append((typ, at, size))
        at += size
    return out


def _mutate_xls(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    data = bytearray(data)
    what = rng.choice(["dimensions", "cell", "header", "fat"])
    if what == "dimensions":
        at = data.find(b"\x00\x02\x0e\x00")
        field, width = rng.choice([(0, 4), (4, 4), (8, 2), (10, 2)])
    elif what == "cell":
        spots = [m.start() for m in re.finditer(rb"\x03\x02\x0e\x00|\x04\x02", bytes(data))]
        at = rng.choice(spots) if spots else -1
        field, width = rng.choice([(0, 2), (2, 2)])     # the cell's row or column
    elif what == "header":
        at = 0 - 4
        field, width = rng.choice([(44, 4), (48, 4), (60, 4), (64, 4), (68, 4), (72, 4), (76, 4)])
    else:
        at = 512 - 4
        field, width = 4 * rng.randrange(0, 8), 4
    if at == -1:
        return bytes(data), f"xls {what} unchanged"
    value = rng.choice(HOSTILE_U32) & ((1 << (8 * width)) - 1)
    data[at + 4 + field:at + 4 + field + width] = value.to_bytes(width, "little")
    return bytes(data), f"xls {what} +{field}={value}"


# --- one case -----------------------------------------------------------------------------------

SUFFIXES = ["ledger.xlsx"] * 6 + ["台账 2023.xlsm", "LEDGER.XLSX"]


def make_case(seed: int, number: int, seeds: dict[str, bytes]) -> tuple[bytes, str, list[str]]:
    """Case `number` of `seed`: (workbook bytes, file name, what was done to which seed)."""
    rng = random.Random(f"{seed}/{number}")
    origin = rng.choice(sorted(seeds) + ["rows", "rows"])
    notes = [f"seed {origin}"]
    if origin in OTHER_FORMATS:
        data = seeds[origin]
        for _ in range(rng.choice([1, 1, 2, 3])):
            data, note = mutate_other(rng, origin, data)
            notes.append(note)
        if rng.random() < 0.15:
            data, note = mutate_bytes(rng, data)
            notes.append(f"bytes {note}")
        return data, OTHER_FORMATS[origin], notes
    if origin == "rows":
        sheets, row_notes, options = mutate_rows(rng, seed_sheets())
        notes += row_notes
        data = write_xlsxwriter(sheets, formulas=options.get("formulas", False), merge=tuple(options.get("merge", ())),
                                hidden=tuple(options.get("hidden", ())))
    else:
        data = seeds[origin]
    if origin != "rows" or rng.random() < 0.3:
        members, stored = unzip(data), set()
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            members, note, more = mutate_xml(rng, members)
            stored |= more
            notes.append(note)
        data = rezip(members, stored)
    if rng.random() < 0.15:
        data, note = mutate_bytes(rng, data)
        notes.append(f"zip {note}")
    return data, rng.choice(SUFFIXES), notes


# --- the worker: load() in a process of its own, under the memory limit ---------------------------

def one_line(text: str) -> bool:
    return bool(text) and not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def contract_problems(ledger) -> list[str]:
    """What a loaded ledger breaks of the loader's contract (DESIGN.md §2): rows read = valid +
    rejected; valid rows have their required cells, finite amounts, counts and years in range."""
    import numpy as np

    from finaudit.intake.schema import YEAR_RANGE

    problems = []
    for name, sheet in ledger.sheets.items():
        frame = sheet.frame
        if len(frame) != sheet.rows_valid or sheet.rows_rejected < 0:
            problems.append(f"{name}: {len(frame)} valid rows kept of {sheet.rows_valid} counted")
        for column in sheet.schema.columns:
            if column.name not in frame.columns:
                if column.required:
                    problems.append(f"{name}.{column.name}: required column absent")
                continue
            values = frame[column.name]
            if column.required and values.isna().any():
                problems.append(f"{name}.{column.name}: empty in a valid row")
            if column.numeric:
                numbers = values.dropna().astype("float64").to_numpy()
                if not np.isfinite(numbers).all():
                    problems.append(f"{name}.{column.name}: not finite in a valid row")
                if column.min is not None and (numbers < column.min).any():
                    problems.append(f"{name}.{column.name}: below {column.min} in a valid row")
                if column.type == "year" and ((numbers < YEAR_RANGE[0]) | (numbers > YEAR_RANGE[1])).any():
                    problems.append(f"{name}.{column.name}: year out of range in a valid row")
    return problems


def run_load(path: str) -> dict:
    """Loads one file; what happened, as a dict the parent can read."""
    from finaudit.errors import FinauditError
    from finaudit.intake.ledger import load

    def where(error) -> str:
        """The last line of finaudit the error passed through (else the last line at all)."""
        frames = traceback.extract_tb(error.__traceback__)
        ours = [f for f in frames if "/finaudit/" in f.filename]
        frame = ours[-1] if ours else (frames[-1] if frames else None)
        return f"{Path(frame.filename).name}:{frame.lineno} {frame.name}" if frame else ""

    started = time.perf_counter()
    try:
        ledger = load(path)
    except FinauditError as error:
        out = {"outcome": "refused", "type": type(error).__name__, "zh": error.zh, "en": error.en}
        if not (one_line(error.zh) and one_line(error.en)):
            out.update(outcome="surprise", why="message not one line", where=where(error))
    except BaseException as error:     # noqa: BLE001 - anything else is what the fuzzer looks for
        out = {"outcome": "surprise", "why": "exception", "type": type(error).__name__,
               "en": str(error).splitlines()[0][:300] if str(error) else "", "where": where(error),
               "traceback": "".join(traceback.format_exception(error))[-4000:]}
        if isinstance(error, KeyboardInterrupt):
            raise
    else:
        problems = contract_problems(ledger)
        out = {"outcome": "accepted", "findings": len(ledger.findings),
               "rows": {n: s.rows_read for n, s in ledger.sheets.items()}}
        if problems:
            out.update(outcome="surprise", why="contract", type="contract", en="; ".join(problems))
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


def worker_main() -> None:
    """Reads paths from stdin, answers a JSON line each on the original stdout."""
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)                       # the library's prints must not mix with the answers
    sys.path.insert(0, str(REPO))
    warnings.simplefilter("ignore")
    from finaudit.intake.ledger import load
    del load                            # imported once, before the first case is timed
    answers.write(json.dumps({"outcome": "ready"}) + "\n")
    for line in sys.stdin:
        answers.write(json.dumps(run_load(line.rstrip("\n"))) + "\n")   # ASCII: any text survives


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))


class Worker:
    """The worker process; started again after a crash or a hang."""

    def __init__(self, log: Path):
        self.log = log
        self.proc = None
        self.buffer = b""

    def start(self) -> None:
        self.stderr = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr, preexec_fn=limit_memory, cwd=REPO)
        self.buffer = b""
        ready = self._answer(120)
        if not ready or ready.get("outcome") != "ready":
            raise SystemExit(f"the fuzz worker did not start; see {self.log}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()            # our own child, by its handle
            self.proc.wait()
        if self.proc:
            self.stderr.close()
        self.proc = None

    def _answer(self, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return {}               # the worker died
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def load(self, path: Path) -> dict:
        if self.proc is None:
            self.start()
        started = time.perf_counter()
        try:
            self.proc.stdin.write(str(path).encode() + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            answer = {}
        else:
            answer = self._answer(CASE_TIMEOUT)
        if answer:
            return answer
        seconds = round(time.perf_counter() - started, 3)
        if answer is None:
            self.stop()
            return {"outcome": "surprise", "why": "hang", "type": "timeout", "en": f"no answer in {CASE_TIMEOUT} s",
                    "seconds": seconds}
        code = self.proc.wait()
        self.stop()
        return {"outcome": "surprise", "why": "crash", "type": f"exit {code}", "en": f"worker died (exit {code})",
                "seconds": seconds}


def confirm(path: Path) -> dict:
    """Runs one file alone in a fresh process under the same memory limit."""
    code = ("import sys; sys.path.insert(0, sys.argv[2]); from finaudit.intake.ledger import load; "
            "from finaudit.errors import FinauditError\n"
            "try:\n    load(sys.argv[1])\nexcept FinauditError as e:\n    print('REFUSED', type(e).__name__, repr(e.en))")
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(path), str(REPO)], capture_output=True, text=True,
                              timeout=CONFIRM_TIMEOUT, preexec_fn=limit_memory, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {"returncode": None, "result": f"timed out after {CONFIRM_TIMEOUT} s"}
    tail = (proc.stderr.strip().splitlines() or proc.stdout.strip().splitlines() or [""])[-1]
    return {"returncode": proc.returncode, "result": tail[:500], "seconds": round(time.perf_counter() - started, 2)}


# --- the run ------------------------------------------------------------------------------------------

def kind_of(answer: dict) -> str:
    """A refusal's kind: its error type and its English sentence with names and numbers taken out."""
    text = re.sub(r"'[^']*'", "'…'", answer.get("en", ""))
    text = re.sub(r"\d[\d,.]*( ?[KMG]?B)?", "N", text)
    text = re.split(r"(?<=[.;:])\s", text, maxsplit=1)[0]
    return f"{answer.get('type')}: {text[:90]}"


def signature(answer: dict) -> str:
    return f"{answer.get('why')} | {answer.get('type')} | {answer.get('where', '')} | {kind_of(answer)}"


def fuzz(seed: int = 0, cases: int | None = None, minutes: float | None = None, out: Path | None = None,
         quiet: bool = False, first: int = 0) -> dict:
    """Runs cases first, first+1, ... of `seed` until `cases` are done or `minutes` have passed."""
    out = Path(out or tempfile.mkdtemp(prefix="finaudit-fuzz-"))
    out.mkdir(parents=True, exist_ok=True)
    seeds = build_seeds()
    worker = Worker(out / "worker-stderr.log")
    counts, refused, surprises, saved = collections.Counter(), collections.Counter(), {}, collections.Counter()
    slowest: list[tuple[float, int]] = []
    started = time.monotonic()
    number = first
    try:
        while True:
            if cases is not None and number - first >= cases:
                break
            if minutes is not None and time.monotonic() - started > minutes * 60:
                break
            try:
                data, name, notes = make_case(seed, number, seeds)
            except Exception:           # the fuzzer's own bug: reported, and the run goes on
                counts["not made (fuzzer error)"] += 1
                print(f"case {number} could not be made:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
                number += 1
                continue
            case_dir = out / "current"
            shutil.rmtree(case_dir, ignore_errors=True)
            case_dir.mkdir()
            path = case_dir / name
            path.write_bytes(data)
            answer = worker.load(path)
            counts[answer["outcome"]] += 1
            if answer.get("findings"):
                counts["accepted with findings"] += 1
            if answer.get("seconds", CASE_TIMEOUT) > 5:
                counts["slower than 5 s"] += 1
            slowest = sorted([*slowest, (answer.get("seconds", CASE_TIMEOUT), number)], reverse=True)[:5]
            if answer["outcome"] == "refused":
                refused[kind_of(answer)] += 1
            elif answer["outcome"] == "surprise":
                sig = signature(answer)
                entry = surprises.setdefault(sig, {"count": 0, "cases": [], "example": answer, "notes": notes})
                entry["count"] += 1
                if saved[sig] < KEEP_PER_SIGNATURE:
                    saved[sig] += 1
                    keep = out / "findings" / hashlib.sha256(sig.encode()).hexdigest()[:10] / str(number)
                    keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, keep / name)
                    record = {"seed": seed, "case": number, "file": str(keep / name), "mutations": notes,
                              "answer": answer, "alone": confirm(keep / name),
                              "again": f"python tests/fuzz/fuzz_loader.py --seed {seed} --case {number}"}
                    (keep / "finding.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
                    entry["cases"].append(str(keep / name))
                    if not quiet:
                        print(f"FINDING case {number}: {sig}\n  {keep / name}\n  alone: {record['alone']}", flush=True)
            number += 1
            if not quiet and (number - first) % 500 == 0:
                print(f"{number - first} cases, {time.monotonic() - started:.0f} s: {dict(counts)}", flush=True)
    finally:
        worker.stop()
        # Written however the run ends (time up, Ctrl-C, an error of the fuzzer itself).
        summary = {"seed": seed, "first": first, "cases": number - first,
                   "seconds": round(time.monotonic() - started, 1), "outcomes": dict(counts),
                   "refused": dict(refused.most_common()), "findings": surprises,
                   "slowest": [{"case": n, "seconds": s} for s, n in slowest], "out": str(out)}
        (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return summary


def report(summary: dict) -> str:
    lines = [f"{summary['cases']} cases (seed {summary['seed']}) in {summary['seconds']} s: {summary['outcomes']}",
             "refused, by kind:"]
    lines += [f"  {n:6}  {kind}" for kind, n in summary["refused"].items()]
    lines.append(f"findings: {len(summary['findings'])}")
    for sig, entry in summary["findings"].items():
        lines.append(f"  {entry['count']:6}  {sig}")
        lines += [f"          {case}" for case in entry["cases"]]
    lines.append(f"slowest: {summary['slowest']}")
    lines.append(f"written to {summary['out']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, help="stop after this long (default: 1 minute unless --cases)")
    parser.add_argument("--cases", type=int, help="stop after this many cases")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--first", type=int, default=0, help="number of the first case")
    parser.add_argument("--case", type=int, help="write this one case and run it alone")
    parser.add_argument("--replay", type=Path, help="run one file alone, the way the fuzzer runs a case")
    parser.add_argument("--out", type=Path, help="where cases, findings and summary.json go (default: a new temp dir)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main()
        return 0
    if args.case is not None or args.replay:
        if args.replay:
            path = args.replay
        else:
            data, name, notes = make_case(args.seed, args.case, build_seeds())
            out = Path(args.out or tempfile.mkdtemp(prefix="finaudit-fuzz-"))
            out.mkdir(parents=True, exist_ok=True)
            path = out / name
            path.write_bytes(data)
            print(f"case {args.case} of seed {args.seed}: {notes}\n  {path}")
        worker = Worker(Path(tempfile.mkdtemp(prefix="finaudit-fuzz-")) / "worker-stderr.log")
        try:
            answer = worker.load(path)
        finally:
            worker.stop()
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        print(f"alone: {confirm(path)}")
        return 1 if answer["outcome"] == "surprise" else 0
    minutes = args.minutes if args.minutes is not None or args.cases is not None else 1.0
    summary = fuzz(args.seed, args.cases, minutes, args.out, first=args.first)
    print(report(summary))
    return 1 if summary["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
