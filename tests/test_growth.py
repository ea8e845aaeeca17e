"""The statutory growth of education spending against recurring revenue (issue 16): the
fiscal sheet (财政收支) read from a workbook as a bureau writes it, and not evaluated without it."""
from __future__ import annotations

import re

import finaudit

from corpus import BUDGET, ENROLLMENT, budget, enrollment, write_xlsx


def _budget_sheets():
    return {"教育经费": [list(BUDGET), budget("小学", 400_000, year=2022, expense="人员经费"),
                     budget("小学", 410_000, year=2023, expense="人员经费")],
            "在校生": [list(ENROLLMENT), enrollment("小学", 100, year=2022), enrollment("小学", 100, year=2023)]}


def test_a_fiscal_sheet_in_wan_yuan_gives_the_growth_violation_with_its_gap(tmp_path):
    # 40.00 -> 41.00 万元 (+2.50%) while 财政经常性收入 grows 100.00 -> 104.00 万元 (+4.00%):
    # gap 40.00 x 4.00% - 1.00 = 0.60 万元 = 6,000.00 yuan (the budget sheet is in yuan here)
    sheets = _budget_sheets()
    sheets["财政收支"] = [["年度", "行政区划代码", "地区", "财政经常性收入（万元）"],
                      [2022, "130682", "定州市", 100], [2023, "130682", "定州市", 104]]
    result = finaudit.check(write_xlsx(tmp_path / "fiscal.xlsx", sheets))
    (fail,) = [f for f in result.findings if f.rule_id == "EDU_GROWTH_ABOVE_REVENUE" and f.severity != "info"]
    assert fail.severity == "violation" and fail.shortfall_yuan == 6_000.00
    assert "增长2.50%，未高于财政经常性收入增长4.00%" in fail.message["zh"]
    assert [c["clause"] for c in fail.basis] == ["第五十六条第二款（2021年4月29日第三次修正后的条号）"]
    assert {e.cell for e in fail.evidence} >= {"财政收支!D2", "财政收支!D3"}


def test_without_a_fiscal_sheet_the_growth_guarantee_is_not_evaluated(tmp_path):
    result = finaudit.check(write_xlsx(tmp_path / "nofiscal.xlsx", _budget_sheets()))
    (note,) = [f for f in result.findings if f.rule_id == "EDU_GROWTH_ABOVE_REVENUE"]
    assert note.severity == "info" and note.details["reason"] == "missing_sheet"
    assert result.summary["coverage"]["not_evaluated"]["EDU_GROWTH_ABOVE_REVENUE"] == ["fiscal"]


def test_a_negative_growth_rate_is_drawn_as_a_bar_below_zero():
    from finaudit.report import charts

    # 2022: education -4.76% against revenue +2.04%; 2023: +2.50% against +4.00%
    svg = charts.bars([{"label": "2022", "actual": -4.76, "required": 2.04, "failed": True},
                       {"label": "2023", "actual": 2.50, "required": 4.00, "failed": True}], "growth", "%")
    bars = [tuple(float(v) for v in m) for m in
            re.findall(r'<rect x="[\d.]+" y="([\d.-]+)" width="[\d.]+" height="([\d.-]+)" fill="#', svg)]
    (down_y, down_h), (up_y, up_h) = bars[:2]
    assert down_h > 0 and up_h > 0
    # the falling year's bar starts at the zero line, where the rising year's bar ends
    assert abs(down_y - (up_y + up_h)) < 0.2


def test_the_growth_chart_pairs_each_year_education_beside_revenue():
    from finaudit.report import charts

    # 2022: education +5.00% beside revenue +3.00%; 2023: +2.50% beside +4.00% (not above)
    svg = charts.paired([{"label": "2022", "actual": 5.0, "required": 3.0, "failed": False},
                         {"label": "2023", "actual": 2.5, "required": 4.0, "failed": True}],
                        "growth", "%", ("教育支出增长", "经常性收入增长", "未超过"))
    bars = re.findall(r'<rect x="([\d.]+)" y="[\d.-]+" width="[\d.]+" height="([\d.-]+)" fill="(#\w+)"><title>(\S+) (\S+):', svg)
    assert [(label, name, fill) for _, _, fill, label, name in bars] == [
        ("2022", "教育支出增长", charts.COLORS[0]), ("2022", "经常性收入增长", charts.COMPARED),
        ("2023", "教育支出增长", charts.FAIL), ("2023", "经常性收入增长", charts.COMPARED)]
    heights = [float(h) for _, h, _, _, _ in bars]
    # each bar as tall as its rate: 5.0 : 3.0 and 2.5 : 4.0
    assert abs(heights[0] / heights[1] - 5 / 3) < 0.01 and abs(heights[2] / heights[3] - 2.5 / 4) < 0.01


def test_the_report_draws_the_growth_pairs_of_the_breaking_sample(tmp_path):
    from conftest import SAMPLES

    from finaudit.report import charts
    from finaudit.report.html import write_html

    result = finaudit.check(SAMPLES / "break_EDU_GROWTH_ABOVE_REVENUE.xlsx")
    out = tmp_path / "r.html"
    write_html(result, out)
    page = out.read_text(encoding="utf-8")
    # 襄都区 2023: education +9.41% beside revenue +10.25%, the education bar in red
    assert f'fill="{charts.FAIL}"><title>襄都区 2023 教育支出增长: 9.41 %</title>' in page
    assert "<title>襄都区 2023 经常性收入增长: 10.25 %</title>" in page


def test_a_growth_note_names_the_year_whose_revenue_is_missing(tmp_path):
    # The fiscal sheet starts in 2023: the 2023 note must say 2022 is missing, not "2022 or 2023"
    sheets = _budget_sheets()
    sheets["财政收支"] = [["年度", "行政区划代码", "地区", "财政经常性收入（万元）"], [2023, "130682", "定州市", 104]]
    result = finaudit.check(write_xlsx(tmp_path / "fiscal.xlsx", sheets))
    notes = {f.subject["year"]: f.message["zh"] for f in result.findings if f.rule_id == "EDU_GROWTH_ABOVE_REVENUE"}
    assert notes[2023] == "定州市2023年：“财政收支”表中缺少2022年的财政经常性收入，无法比较增长。"


def test_the_nations_gdp_is_read_but_a_figure_beyond_any_fiscal_aggregate_is_refused(tmp_path):
    # GDP of 126 万亿元 (1.26e14 yuan) is above the 1e13 every education amount is held to, and
    # real: the fiscal sheet holds up to 1e15; 2,000 万亿元 is a unit slip, refused at its cell
    sheets = _budget_sheets()
    sheets["财政收支"] = [["年度", "行政区划代码", "地区", "财政经常性收入（万元）", "地区生产总值（万元）"],
                      [2022, "130682", "定州市", 100, 1_260_000_000], [2023, "130682", "定州市", 104, 200_000_000_000]]
    ledger = finaudit.load(write_xlsx(tmp_path / "gdp.xlsx", sheets))
    (refused,) = [f for f in ledger.findings if f.rule_id == "SCHEMA_RANGE"]
    assert refused.evidence[0].cell == "财政收支!E3"
    assert "折合达到 1,000 万亿元（1e15 元），超过任何真实的财政总量" in refused.message["zh"]
    assert ledger.sheets["fiscal"].rows_valid == 1
