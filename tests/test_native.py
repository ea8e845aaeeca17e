"""The Parquet path straight into DuckDB (finaudit/native.py) gives exactly what the general
path (ledger.load, pandas) gives on the same files: the same findings with the same cells and
row numbers, the same row accounting and control totals, the same audit."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from finaudit import check

sys.path.insert(0, str(Path(__file__).parent / "bench"))
import gen  # noqa: E402  (tests/bench/gen.py)

BUDGET = ["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额（万元）", "学校代码"]
ENROLLMENT = ["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数", "学校代码"]


def _run(path, native: bool) -> dict:
    doc = check(path, native=native).to_dict()
    doc["run"].pop("started_at", None)
    doc["run"].pop("id", None)
    return json.loads(json.dumps(doc, ensure_ascii=False, default=str))


def assert_same_audit(path):
    general, native = _run(path, False), _run(path, True)
    assert native["findings"] == general["findings"]
    assert native == general


def messy_ledger(folder: Path) -> Path:
    """Every kind of cell the loader treats specially, stored as a system would export it:
    amounts as text in one file, as doubles (NaN, infinity) in the other."""
    folder.mkdir()
    ok = [2023, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费"]
    budget = [
        [*ok, "1,234.5", "S1"],                      # text number with a separator
        [*ok[:3], "初中", *ok[4:], "１２", "S2"],        # full-width digits
        [2022, 130682, "定州市", "primary", "public", "general_budget", "public_funds", "10", "S1"],
        [None, None, None, None, None, None, None, None, None],   # blank row
        [*ok[:3], "合计", *ok[4:], "99", None],           # subtotal row
        ["合计", None, None, None, None, None, None, "99", None],  # subtotal in the year column
        [*ok, "-5", "S3"],                            # below the minimum
        [*ok[:3], "大学预科", *ok[4:], "3", "S4"],       # not a level
        [2023, "13068", "定州市", *ok[3:], "3", "S5"],   # five-digit region code
        [1900, *ok[1:], "3", "S6"],                   # year out of range
        [*ok, "abc", "S7"],                           # not a number
        [*ok, "  ", "S8"],                            # empty amount
        [*ok, "—", "S9"],                             # a dash: empty
        ["二〇二三年", *ok[1:], "7", "S10"],               # a year in words
        [*ok[:2], "  定州市 ", *ok[3:], "8", "S11"],      # spaces around a name
        [*ok, "1.23456789", "S12"],                   # 万元 with more decimals than 1/10000 yuan
        [*ok, "1e308", "S13"],                        # infinite once in yuan
    ]
    frame = pd.DataFrame(budget, columns=BUDGET).astype({"年度": "object", "行政区划代码": "object"})
    frame["年度"] = frame["年度"].map(lambda v: None if v is None else str(v))
    frame["行政区划代码"] = frame["行政区划代码"].map(lambda v: None if v is None else str(v))
    frame.to_parquet(folder / "教育经费.parquet", index=False)
    enrollment = pd.DataFrame([
        [2023, 130682, "定州市", "小学", "公办", 30.0, "S1"],         # a region code stored as a number
        [2023, 130682, "定州市", "初中", "公办", 2.5, "S2"],        # a fraction of a student
        [2023, 130682, "定州市", "普通高中", "公办", math.inf, None],  # infinity
        [2022, 130682, "定州市", "小学", "公办", math.nan, "S1"],     # NaN: empty
        [2022, 130682, "定州市", "初中", "公办", -1.0, None],        # below the minimum
        [None, None, None, None, None, math.nan, None],             # blank row
        [2024, 130682, "定州市", "小学", "公办", 1e30, None],         # no Int64 holds it
    ], columns=ENROLLMENT)
    enrollment.to_parquet(folder / "在校生.parquet", index=False)
    return folder


def test_a_messy_parquet_ledger_gives_the_same_findings_rows_and_totals_both_ways(tmp_path):
    folder = messy_ledger(tmp_path / "ledger")
    general = _run(folder, False)
    assert {f["rule_id"] for f in general["findings"]} >= {
        "SCHEMA_TYPE", "SCHEMA_RANGE", "SCHEMA_ALLOWED_VALUE", "SCHEMA_REGION_CODE", "SCHEMA_REQUIRED",
        "DATA_SUBTOTAL_ROW"}
    assert_same_audit(folder)


def test_amounts_stored_as_numbers_in_wan_yuan_are_checked_in_the_sheet_unit_both_ways(tmp_path):
    folder = tmp_path / "numbers"
    folder.mkdir()
    ok = [2023, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费"]
    pd.DataFrame([[*ok, 1.5, "S1"], [*ok, -2.0, "S2"], [*ok, 1e308, "S3"], [*ok, math.inf, "S4"]],
                 columns=BUDGET).to_parquet(folder / "教育经费.parquet", index=False)
    pd.DataFrame([[2023, "130682", "定州市", "小学", "公办", 3, "S1"]],
                 columns=ENROLLMENT).to_parquet(folder / "在校生.parquet", index=False)
    general = _run(folder, False)
    shown = sorted((f["rule_id"], f["evidence"][0]["value"]) for f in general["findings"] if f["rule_id"].startswith("SCHEMA"))
    assert shown == [("SCHEMA_RANGE", "-2"), ("SCHEMA_RANGE", "1e+308"), ("SCHEMA_TYPE", "inf")]
    assert_same_audit(folder)


def test_the_messy_ledger_is_read_as_the_cells_say(tmp_path):
    # Hand-worked: valid budget rows are 1,234.5 + 12 + 10 + 7 + 8 + 1.23456789 万元 (the
    # subtotals, the failing cells' rows and the blank row are out).
    doc = _run(messy_ledger(tmp_path / "ledger"), True)
    budget = next(s for s in doc["run"]["inputs"][0]["sheets"] if s["name"] == "budget")
    assert (budget["rows_read"], budget["rows_blank"], budget["rows_rejected"]) == (16, 1, 10)
    assert budget["totals"]["amount"] == pytest.approx((1234.5 + 12 + 10 + 7 + 8) * 10_000 + 12345.6789, abs=0.005)
    enrollment = next(s for s in doc["run"]["inputs"][0]["sheets"] if s["name"] == "enrollment")
    assert (enrollment["rows_read"], enrollment["rows_rejected"], enrollment["totals"]["students"]) == (6, 5, 30)


def test_a_generated_school_level_ledger_gives_the_same_audit_both_ways():
    # The benchmark's generator (tests/bench/gen.py) at its smoke size: 20,000 school rows.
    assert_same_audit(gen.parquet_ledger_path(20_000))


def test_parquet_ledgers_take_the_native_way_and_workbooks_never_do(tmp_path, samples):
    from finaudit.intake import native
    from finaudit.audit.session import connect

    assert native.can_load(connect(), gen.parquet_ledger_path(20_000))
    assert not native.can_load(connect(), samples / "clean.xlsx")
    flags = tmp_path / "flags"
    flags.mkdir()
    pd.DataFrame({"年度": [2023], "行政区划代码": ["130682"], "地区": ["定州市"], "学段": ["小学"],
                  "办学性质": ["公办"], "在校生数": [True]}).to_parquet(flags / "在校生.parquet")
    assert not native.can_load(connect(), flags)     # a boolean column: the general way


def test_a_ledger_too_large_for_the_memory_says_so_and_does_not_blame_a_rule(monkeypatch):
    import duckdb

    from finaudit.audit import session
    from finaudit.errors import UsageError

    def small(*args):
        return duckdb.connect(config={"memory_limit": "8MB", "autoinstall_known_extensions": False,
                                      "autoload_known_extensions": False})

    monkeypatch.setattr(session, "connect", small)
    with pytest.raises(UsageError) as caught:
        check(gen.parquet_ledger_path(20_000))
    assert "内存不足" in caught.value.zh and "Not enough memory" in caught.value.en


def test_a_memory_limit_changes_nothing_found_and_leaves_no_spill_folder(tmp_path, monkeypatch):
    # A national ledger on a laptop: --memory-limit makes DuckDB write what does not fit to a
    # temporary folder, removed afterwards; the audit must not change.
    import tempfile

    path = gen.parquet_ledger_path(20_000)
    unlimited = _run(path, True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    limited = check(path, memory_limit="256MB").to_dict()
    limited["run"].pop("started_at", None)
    limited["run"].pop("id", None)
    assert json.loads(json.dumps(limited, ensure_ascii=False, default=str)) == unlimited
    assert list(tmp_path.iterdir()) == []
