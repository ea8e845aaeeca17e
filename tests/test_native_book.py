"""A workbook's plain sheets loaded straight into DuckDB (native=True; finaudit/intake/native_book.py) give
exactly what the general path (ledger.load, pandas) gives: the same findings with the same
cells and row numbers, the same row accounting, control totals and audit. Sheets with hidden
rows or merged label cells keep the general path, beside plain sheets of the same workbook."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import openpyxl
import pytest

from finaudit import check

sys.path.insert(0, str(Path(__file__).parent / "bench"))
import gen  # noqa: E402  (tests/bench/gen.py)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_ledgers"
BUDGET = ["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额（万元）", "学校代码"]
ENROLLMENT = ["年度", "行政区划代码", "地区", "学段", "在校生数", "学校代码"]     # no 办学性质: defaulted
OK = [2023, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费"]


def _run(path, native) -> dict:
    audit = check(path, native=native)
    doc = audit.to_dict()
    doc["run"].pop("started_at", None)
    doc["run"].pop("id", None)
    return json.loads(json.dumps(doc, ensure_ascii=False, default=str)), audit


def assert_same_audit(path) -> dict:
    (general, _), (native, _) = _run(path, False), _run(path, True)
    assert native["findings"] == general["findings"]
    assert native == general
    return general


def _routes(path) -> dict[str, str]:
    """Which way each sheet was loaded: a sheet loaded in DuckDB keeps no frame."""
    from finaudit.audit.engine import _load
    from finaudit.audit.session import connect, create_tables

    con = connect()
    try:
        create_tables(con)
        ledger = _load(lambda: con, Path(path), True)
    finally:
        con.close()
    return {name: "pandas" if sheet.frame is not None else "duckdb" for name, sheet in ledger.sheets.items()}


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.xlsx")))
def test_every_sample_workbook_gives_the_same_audit_both_ways(name):
    assert_same_audit(SAMPLES / name)


def messy_workbook(write_xlsx, **kw) -> Path:
    """Every kind of cell the loader treats specially, as a bureau's workbook holds them."""
    budget = [
        BUDGET,
        [*OK, "1,234.5", "S1"],                       # a number typed as text, with a separator
        [*OK[:3], "初中", *OK[4:], "１２", "S2"],         # full-width digits
        [2022, 130682, "定州市", "primary", "public", "general_budget", "public_funds", 10, "S1"],
        [],                                           # blank row
        [*OK[:3], "合计", *OK[4:], 99, None],            # subtotal row
        ["合计", None, None, None, None, None, None, 99, None],   # subtotal in the year column
        [*OK, -5, "S3"],                              # below the minimum
        [*OK[:3], "大学预科", *OK[4:], 3, "S4"],         # not a level
        [2023, "13068", "定州市", *OK[3:], 3, "S5"],    # five-digit region code
        [1900, *OK[1:], 3, "S6"],                     # year out of range
        [*OK, "abc", "S7"],                           # not a number
        [*OK, "  ", "S8"],                            # empty amount
        [*OK, "—", "S9"],                             # a dash: empty
        ["二〇二三年", *OK[1:], 7, "S10"],                # a year in words
        [*OK[:2], "  定州市 ", *OK[3:], 8, "S11"],       # spaces around a name
        [*OK, 1.23456789, "S12"],                     # 万元 with more decimals than 1/10000 yuan
        [*OK, 1e308, "S13"],                          # infinite once in yuan
        [*OK, None, "S14"],                           # no amount
    ]
    enrollment = [
        ENROLLMENT,
        [2023, 130682, "定州市", "小学", 30, "S1"],       # a region code stored as a number
        [2023, "130682", "定州市", "初中", 2.5, "S2"],    # a fraction of a student
        [2022, "130682", "定州市", "小学", None, "S1"],   # empty
        [2022, "130682", "定州市", "初中", -1, None],     # below the minimum
        [2024, "130682", "定州市", "小学", 1e30, None],   # no Int64 holds it
        [2023, "130682", "定州市", "初中", "２０", "S2"],   # full-width, as text
    ]
    return write_xlsx({"教育经费": budget, "在校生": enrollment},
                      titles={"教育经费": [["2023年教育经费决算（合成数据）"]]}, **kw)


def test_a_messy_workbook_gives_the_same_findings_rows_and_totals_both_ways(write_xlsx):
    path = messy_workbook(write_xlsx)
    assert _routes(path) == {"budget": "duckdb", "enrollment": "duckdb"}
    general = assert_same_audit(path)
    assert {f["rule_id"] for f in general["findings"]} >= {
        "SCHEMA_TYPE", "SCHEMA_RANGE", "SCHEMA_ALLOWED_VALUE", "SCHEMA_REGION_CODE", "SCHEMA_REQUIRED",
        "DATA_SUBTOTAL_ROW", "SCHEMA_DEFAULTED"}
    budget = next(s for s in general["run"]["inputs"][0]["sheets"] if s["name"] == "budget")
    # Hand-counted: 18 rows written under the header, 1 blank; 2 subtotals and 9 bad rows out.
    assert (budget["rows_read"], budget["rows_blank"], budget["rows_rejected"]) == (17, 1, 11)
    assert budget["totals"]["amount"] == pytest.approx((1234.5 + 12 + 10 + 7 + 8) * 10_000 + 12345.6789, abs=0.005)


def test_hidden_rows_and_merged_labels_keep_the_general_way_beside_a_plain_sheet(write_xlsx, tmp_path):
    path = messy_workbook(write_xlsx, name="layout.xlsx")
    book = openpyxl.load_workbook(path)
    ws = book["教育经费"]
    ws.row_dimensions[4].hidden = True               # a data row hidden
    ws["C20"], ws["C21"] = "定州市", None               # 地区 merged over two rows
    ws.merge_cells("C20:C21")
    book.save(path)
    assert _routes(path) == {"budget": "pandas", "enrollment": "duckdb"}
    general = assert_same_audit(path)
    assert {"DATA_HIDDEN_ROWS", "DATA_MERGED_CELLS"} <= {f["rule_id"] for f in general["findings"]}


def test_a_generated_school_level_workbook_with_bad_cells_gives_the_same_audit_both_ways(tmp_path):
    path = tmp_path / "schools.xlsx"
    gen.write_ledger(path, 3_000)
    book = openpyxl.load_workbook(path)
    ws = book[gen.BUDGET_SHEET]
    ws["H10"], ws["H11"], ws["D12"], ws["A13"], ws["B14"] = "１,２００.５", "n/a", "大学", "小计", "1306"
    ws["H15"], ws["H16"] = -3, 1e300
    book[gen.ENROLLMENT_SHEET]["F9"] = 0.5
    book.save(path)
    assert _routes(path) == {"budget": "duckdb", "enrollment": "duckdb"}
    general = assert_same_audit(path)
    rejected = {s["name"]: s["rows_rejected"] for s in general["run"]["inputs"][0]["sheets"]}
    # "１,２００.５" reads as 1200.5; the other six budget cells and the half student are refused.
    assert rejected == {"budget": 6, "enrollment": 1}


def test_a_workbook_takes_the_pandas_way_unless_native_is_asked_for(samples):
    from finaudit.audit.engine import _load
    from finaudit.audit.session import connect, create_tables

    con = connect()
    try:
        create_tables(con)
        ledger = _load(lambda: con, samples / "clean.xlsx", None)
    finally:
        con.close()
    assert all(sheet.frame is not None for sheet in ledger.sheets.values())
