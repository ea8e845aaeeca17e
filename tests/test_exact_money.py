"""Money is exact to the fen at every size a real amount can have, and an amount too large
to stay exact is refused where it is written — never read as its neighbour."""
from __future__ import annotations

import pytest

import finaudit

HEADER = ["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额"]
ENROLLMENT = [["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数"],
              [2022, "130682", "定州市", "小学", "公办", 1000],
              [2023, "130682", "定州市", "小学", "公办", 1000]]


def _budget(amount_2022, amount_2023):
    return [HEADER,
            [2022, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费", amount_2022],
            [2023, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费", amount_2023]]


def _total_findings(result):
    return [f for f in result.findings if f.rule_id == "ONLY_INCREASE_TOTAL" and f.severity == "violation"]


def test_a_one_fen_decrease_of_an_eighteen_digit_amount_in_a_csv_is_a_violation_of_one_fen(write_csv, tmp_path):
    # 9,876,543,210,123.45678 yuan: 18 significant digits, then 0.01 yuan less the next year.
    write_csv("县/教育经费.csv", _budget("9876543210123.45678", "9876543210123.44678"))
    write_csv("县/在校生.csv", ENROLLMENT)
    found = _total_findings(finaudit.check(tmp_path / "县"))
    assert len(found) == 1
    assert found[0].shortfall_yuan == pytest.approx(0.01, abs=1e-9)


def test_a_one_fen_decrease_of_a_thirteen_digit_amount_in_a_workbook_is_a_violation_of_one_fen(write_xlsx):
    path = write_xlsx({"教育经费": _budget(1234567890123.46, 1234567890123.45), "在校生": ENROLLMENT})
    found = _total_findings(finaudit.check(path))
    assert len(found) == 1
    assert found[0].shortfall_yuan == pytest.approx(0.01, abs=1e-9)


def test_equal_amounts_a_fen_below_the_limit_are_no_decrease(write_csv, tmp_path):
    write_csv("县/教育经费.csv", _budget("9999999999999.99", "9999999999999.99"))
    write_csv("县/在校生.csv", ENROLLMENT)
    assert _total_findings(finaudit.check(tmp_path / "县")) == []


@pytest.mark.parametrize("amount", ["1234567890123456.78", "10000000000000"])
def test_an_amount_too_large_to_be_exact_is_refused_at_its_cell_not_read_as_its_neighbour(write_csv, tmp_path, amount):
    # At 16 digits before the point two amounts a fen apart are one float64: refused, so a
    # 0.01 yuan decrease can never pass as "no change".
    write_csv("县/教育经费.csv", _budget(amount, amount))
    write_csv("县/在校生.csv", ENROLLMENT)
    ledger = finaudit.load(tmp_path / "县")
    ranged = [f for f in ledger.findings if f.rule_id == "SCHEMA_RANGE"]
    assert [f.evidence[0].cell for f in ranged] == ["教育经费.csv!H2", "教育经费.csv!H3"]
    assert "10 万亿元" in ranged[0].message["zh"]
    assert ledger.sheets["budget"].rows_valid == 0


def test_the_same_amount_in_wan_yuan_is_exact_to_the_fen_too(write_csv, tmp_path):
    rows = _budget("987654321.0123456", "987654321.0123446")       # 万元: 0.01 yuan apart
    rows[0] = [*HEADER[:-1], "金额（万元）"]
    write_csv("县/教育经费.csv", rows)
    write_csv("县/在校生.csv", ENROLLMENT)
    found = _total_findings(finaudit.check(tmp_path / "县"))
    assert len(found) == 1 and found[0].shortfall_yuan == pytest.approx(0.01, abs=1e-9)


def _split_budget():
    """2022 in two rows, 2023 in one, the same total to the fen: 3304309071754.13 is stored
    as ...754.1298828 in a float64, which a direct cast keeps as ...754.1299."""
    return [HEADER,
            [2022, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费", 3304309071754.13],
            [2022, "130682", "定州市", "小学", "公办", "一般公共预算", "人员经费", 4616366307437.75],
            [2023, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费", 7920675379191.88]]


def test_rows_summing_to_the_same_total_as_next_year_are_no_decrease_in_a_csv(write_csv, tmp_path):
    write_csv("县/教育经费.csv", _split_budget())
    write_csv("县/在校生.csv", ENROLLMENT)
    assert _total_findings(finaudit.check(tmp_path / "县")) == []


def test_rows_summing_to_the_same_total_as_next_year_are_no_decrease_in_a_workbook(write_xlsx):
    assert _total_findings(finaudit.check(write_xlsx({"教育经费": _split_budget(), "在校生": ENROLLMENT}))) == []


def test_rows_summing_to_the_same_total_as_next_year_are_no_decrease_in_parquet(tmp_path):
    import pandas as pd

    folder = tmp_path / "县"
    folder.mkdir()
    budget = _split_budget()
    pd.DataFrame(budget[1:], columns=budget[0]).to_parquet(folder / "教育经费.parquet")
    pd.DataFrame(ENROLLMENT[1:], columns=ENROLLMENT[0]).to_parquet(folder / "在校生.parquet")
    assert _total_findings(finaudit.check(folder, native=True)) == []
