"""The workbook a bureau really exports (issue 15): values as clerks write them get a
suggestion, cell problems come in sheet order, data problems are counted apart from
guarantee violations, and a ledger none of whose budget rows passed is not audited."""
from __future__ import annotations

import json
from pathlib import Path

import finaudit
from corpus import BUDGET, ENROLLMENT, budget, enrollment, write_xlsx
from finaudit.intake.schema import suggest


def _ledger(tmp_path: Path, levels: list[str], name: str = "ledger.xlsx") -> Path:
    rows = [list(BUDGET)] + [budget(level, 1_000_000, year=y) for y in (2022, 2023) for level in levels]
    students = [list(ENROLLMENT)] + [enrollment(level, 100, year=y) for y in (2022, 2023) for level in ("小学", "初中")]
    return write_xlsx(tmp_path / name, {"教育经费": rows, "在校生": students})


def test_a_refused_value_gets_the_code_it_most_likely_means():
    assert suggest("level", "小学教育") == "primary"          # contains 小学
    assert suggest("level", "初中教育") == "junior"
    assert suggest("level", "高中教育") == "senior_general"   # 高中 is 普通高中's spelling
    assert suggest("fund_source", "财政拨款") == "general_budget"   # asked about, never mapped
    assert suggest("level", "研究生") is None                 # nothing close: no guess


def test_economic_classification_names_are_asked_about_and_basic_spending_is_not_taken_for_capital():
    # 部门预算支出经济分类 类 names: a question to the clerk, never a mapping (enums.yaml says why)
    assert suggest("expense_class", "工资福利支出") == "personnel"
    assert suggest("expense_class", "对个人和家庭的补助") == "personnel"
    assert suggest("expense_class", "商品和服务支出") == "public_funds"
    assert suggest("expense_class", "资本性支出") == "capital"
    # 基本支出 is personnel and public funds together; its likeness to 基本建设 suggested capital
    assert suggest("expense_class", "基本支出") is None
    assert suggest("expense_class", "项目支出") is None


def test_the_suggestion_is_in_the_message_and_the_cells_come_in_sheet_order(tmp_path, cli):
    ledger = _ledger(tmp_path, ["小学", "初中教育", "普通高中", "小学教育"])
    run = cli("check", str(ledger), "--format", "json")
    doc = json.loads(run.stdout)
    refused = [f for f in doc["findings"] if f["rule_id"] == "SCHEMA_ALLOWED_VALUE"]
    # rows 3 and 7 (初中教育), 5 and 9 (小学教育) of 教育经费, top to bottom
    assert [f["evidence"][0]["cell"] for f in refused] == ["教育经费!D3", "教育经费!D5", "教育经费!D7", "教育经费!D9"]
    assert "“学段”的值“初中教育”不是可选值。是否为“初中”？" in refused[0]["message"]["zh"]
    assert "Did you mean 'primary' (小学)?" in refused[1]["message"]["en"]


def test_data_problems_are_counted_apart_and_the_rows_left_out_are_said_first(tmp_path, cli):
    ledger = _ledger(tmp_path, ["小学", "初中", "高中教育"])
    run = cli("check", str(ledger))
    lines = run.stdout.splitlines()
    note = next(n for n, line in enumerate(lines) if line.startswith("注意："))
    verdict = next(n for n, line in enumerate(lines) if line.startswith("结论："))
    assert note < verdict
    # 6 rows, the two 高中教育 rows refused
    assert lines[note].startswith("注意：教育经费 6 行中 2 行未通过校验，未计入审计")
    assert "保障要求 违规 0 项" in lines[verdict] and "数据问题 2 项（违规 2、警示 0、提示 0）" in lines[verdict]
    assert lines[verdict].index("数据问题") < lines[verdict].index("缺口之和")
    summary = finaudit.check(ledger).summary
    assert summary["by_class"]["data"]["violation"] == 2 and summary["by_class"]["guarantee"]["violation"] == 0
    assert summary["rows"]["budget"] == {"read": 6, "rejected": 2}


def test_a_ledger_whose_budget_rows_were_all_refused_is_not_audited(tmp_path, cli):
    ledger = _ledger(tmp_path, ["小学教育", "初中教育"])
    run = cli("check", str(ledger))
    assert run.exit_code == 2
    assert "“教育经费”的 4 行数据全部未通过校验，无法审计" in run.stderr
    assert "第一处：教育经费!D2" in run.stderr and "是否为“小学”？" in run.stderr
    assert "缺口" not in run.stdout       # no money figure for a ledger nobody could audit


def test_in_a_batch_such_a_ledger_is_one_not_audited_and_the_others_are_audited(tmp_path, cli):
    folder = tmp_path / "county"
    folder.mkdir()
    _ledger(folder, ["小学教育"], "bad.xlsx")
    _ledger(folder, ["小学"], "good.xlsx")
    run = cli("check", str(folder))
    assert "已审计 1 个，无法审计 1 个" in run.stdout
    assert "无法审计的台账 1 个" in run.stdout


def test_without_an_ownership_column_every_row_is_public_and_the_report_says_so(tmp_path):
    # No 办学性质 column in either sheet, and the student count headed 在校生数（人）.
    budget_rows = [["年度", "行政区划代码", "地区", "学段", "资金来源", "支出类别", "金额"],
                   [2022, "130682", "定州市", "小学", "一般公共预算", "人员经费", 1_000_000],
                   [2023, "130682", "定州市", "小学", "一般公共预算", "人员经费", 900_000]]
    student_rows = [["年度", "行政区划代码", "地区", "学段", "在校生数（人）"],
                    [2022, "130682", "定州市", "小学", 100], [2023, "130682", "定州市", "小学", 100]]
    ledger = write_xlsx(tmp_path / "no_ownership.xlsx", {"教育经费": budget_rows, "在校生": student_rows})
    result = finaudit.check(ledger)
    notices = sorted(f.message["zh"] for f in result.findings if f.rule_id == "SCHEMA_DEFAULTED")
    assert notices == ["在校生没有“办学性质”列：2 行全部按“公办”计入审计；如有其他情形（如民办），请加上这一列。",
                       "教育经费没有“办学性质”列：2 行全部按“公办”计入审计；如有其他情形（如民办），请加上这一列。"]
    # Audited as public: 1,000,000 -> 900,000 is a 100,000 fall, 100 students each year.
    (fall,) = [f for f in result.findings if f.rule_id == "ONLY_INCREASE_TOTAL" and f.severity == "violation"]
    assert fall.shortfall_yuan == 100_000.00
    assert result.summary["rows"] == {"budget": {"read": 2, "rejected": 0}, "enrollment": {"read": 2, "rejected": 0}}


def test_a_ledger_with_its_ownership_column_gets_no_notice(tmp_path):
    result = finaudit.check(_ledger(tmp_path, ["小学"]))
    assert not [f for f in result.findings if f.rule_id == "SCHEMA_DEFAULTED"]


def test_a_unit_slip_is_flagged_before_any_verdict_or_money(tmp_path, cli):
    # The clerk typed 万元 figures (65 = 650,000 yuan for 1000 pupils) under a 元 header.
    rows = [list(BUDGET)] + [budget("小学", 65, year=y) for y in (2022, 2023)]
    students = [list(ENROLLMENT)] + [enrollment("小学", 1000, year=y) for y in (2022, 2023)]
    ledger = write_xlsx(tmp_path / "wan.xlsx", {"教育经费": rows, "在校生": students})
    lines = cli("check", str(ledger)).stdout.splitlines()
    flag = next(n for n, line in enumerate(lines) if "疑似单位填错" in line)
    verdict = next(n for n, line in enumerate(lines) if line.startswith("结论："))
    assert flag < verdict and lines[flag].startswith("注意：有 4 处数值明显不合常理")
    slip = [line for line in lines if "[警示]" in line and "生均公用经费0.07元" in line]
    # 65 / 1000 = 0.065 yuan; times 10,000 it is 650 yuan, the eastern benchmark
    assert slip and "乘以10000后为650.00元" in slip[0]


def test_times_are_shown_on_the_readers_clock_with_the_offset(monkeypatch):
    import time

    from finaudit.report.labels import local_time

    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        # 16:18:52 UTC is 00:18:52 the next day in Beijing (UTC+8)
        assert local_time("2026-12-03T16:18:52+00:00") == "2026-12-04 00:18:52 +08:00"
        assert local_time("not a time") == "not a time"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_table_with_years_across_the_columns_is_refused_with_the_layout_that_works(tmp_path, cli):
    rows = [["地区", "学段", "2019年", "2020年", "2021年决算数", "2022年预算数"],
            ["定州市", "小学", 100, 110, 120, 130], ["定州市", "初中", 100, 110, 120, 130]]
    run = cli("check", str(write_xlsx(tmp_path / "wide.xlsx", {"教育经费": rows})))
    assert run.exit_code == 2 and run.stderr.count("\n") == 1
    assert "工作表“教育经费”的年度是横排的（2019年、2020年、2021年决算数、2022年预算数）" in run.stderr
    assert "请改为每行一个年度，列为 年度、行政区划代码、地区、学段" in run.stderr and "finaudit template" in run.stderr


def test_a_single_year_like_header_is_not_taken_for_a_wide_table(tmp_path, cli):
    rows = [["地区", "学段", "2023年", "金额"], ["定州市", "小学", "x", 100]]
    run = cli("check", str(write_xlsx(tmp_path / "one.xlsx", {"教育经费": rows})))
    assert run.exit_code == 2 and "缺少必填列“年度”" in run.stderr and "横排" not in run.stderr
