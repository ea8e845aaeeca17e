"""The plans' indicator targets (issue 16, item 3): the indicators sheet (发展指标) read from a
workbook as a bureau writes it, PLAN_TARGET's findings in every output without a money gap,
and the targets shown per profile by `finaudit rules show`."""
from __future__ import annotations

import csv
import json

import openpyxl

import finaudit
from corpus import BUDGET, ENROLLMENT, budget, enrollment, write_xlsx

XINGTAI = ("130500", "邢台市")


def _xingtai_workbook(path):
    """Xingtai, 2023 and 2025; the indicators sheet under a title row that says 单位：万元 (the
    ledger's money unit), which must not scale a rate."""
    code, name = XINGTAI
    sheets = {
        "教育经费": [list(BUDGET), budget("小学", 400_000, year=2023, expense="人员经费", code=XINGTAI[0], name=XINGTAI[1]),
                 budget("小学", 410_000, year=2025, expense="人员经费", code=XINGTAI[0], name=XINGTAI[1])],
        "在校生": [list(ENROLLMENT), enrollment("小学", 100, year=2023, code=XINGTAI[0], name=XINGTAI[1]),
                enrollment("小学", 100, year=2025, code=XINGTAI[0], name=XINGTAI[1])],
        "发展指标": [["年度", "行政区划代码", "地区", "指标", "数值"],
                 [2023, code, name, "义务教育巩固率", 97],            # row 3: 0.32 behind the 97.32 path
                 [2025, code, name, "九年义务教育巩固率", "97.5%"],    # row 4: binding, 0.50 short
                 [2025, code, name, "学前三年毛入园率", 93],
                 [2025, code, name, "高中阶段毛入学率", 94.9],         # row 6: expected, 0.10 short
                 [2025, code, name, "高等教育在校生数", 7],
                 [2025, code, name, "双师型教师占比", 60],
                 [2025, code, name, "劳动年龄人口平均受教育年限", 11.3]],
    }
    return write_xlsx(path, sheets, titles={"发展指标": [["邢台市教育发展指标（单位：万元）"]]})


def test_a_chinese_indicators_sheet_gives_the_violation_the_warning_and_the_path_note_with_their_cells(tmp_path):
    result = finaudit.check(_xingtai_workbook(tmp_path / "xingtai.xlsx"))
    found = {f.check: f for f in result.findings if f.rule_id == "PLAN_TARGET"}
    assert set(found) == {"binding.compulsory_consolidation", "expected.senior_gross_enrollment",
                          "path.compulsory_consolidation"}
    binding = found["binding.compulsory_consolidation"]
    assert binding.severity == "violation" and binding.shortfall_yuan is None
    assert binding.message["zh"] == "邢台市2025年九年义务教育巩固率97.50%，未达到规划目标（2025年98%，约束性），差0.50个百分点。"
    assert [e.cell for e in binding.evidence] == ["发展指标!E4"]
    assert binding.measure == {"actual": 97.5, "required": 98.0, "unit": "%"}   # the indicator's unit
    assert [c["document"] for c in binding.basis] == ["《邢台市教育事业发展“十四五”规划》"]
    warning = found["expected.senior_gross_enrollment"]
    assert warning.severity == "warning" and [e.cell for e in warning.evidence] == ["发展指标!E6"]
    path = found["path.compulsory_consolidation"]
    assert path.severity == "info" and [e.cell for e in path.evidence] == ["发展指标!E3"]
    # 96.31 + (98 - 96.31) x 3/5 = 97.324 -> 97.32; 97.32 - 97.00 = 0.32
    assert path.message["zh"] == ("邢台市2023年九年义务教育巩固率97.00%，落后于规划路径（97.32%）0.32个百分点"
                                  "（2025年目标98%，约束性）。")
    assert path.message["en"] == ("邢台市 2023: nine-year compulsory education retention rate 97.00 %, 0.32 percentage "
                                  "points behind the plan's path (97.32 %; target 98 % by 2025, binding).")


def test_a_plan_finding_claims_no_money_gap_in_any_output(cli, tmp_path):
    ledger = _xingtai_workbook(tmp_path / "xingtai.xlsx")
    out = {k: tmp_path / f"out.{k}" for k in ("json", "csv", "html", "sarif")}
    run = cli("check", ledger, "--json", out["json"], "--csv", out["csv"], "--html", out["html"],
              "--sarif", out["sarif"], "--annotate", tmp_path / "annotated.xlsx", "--show-info")
    assert run.exit_code == 1, run.output
    lines = [line for line in run.stdout.splitlines() if "规划目标" in line or "规划路径" in line]
    assert len(lines) == 3 and not any("元" in line for line in lines)
    doc = json.loads(out["json"].read_text(encoding="utf-8"))
    plan = [f for f in doc["findings"] if f["rule_id"] == "PLAN_TARGET"]
    assert len(plan) == 3 and all(f["shortfall_yuan"] is None for f in plan)
    assert doc["summary"]["by_rule"]["PLAN_TARGET"]["shortfall_yuan"] == 0
    with open(out["csv"], encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["规则编号"] == "PLAN_TARGET"]
    assert len(rows) == 3 and all(r["缺口（元）"] == "" for r in rows)
    html = out["html"].read_text(encoding="utf-8")
    assert "落后于规划路径（97.32%）0.32个百分点" in html
    sarif = json.loads(out["sarif"].read_text(encoding="utf-8"))
    assert any(r["ruleId"] == "PLAN_TARGET" for r in sarif["runs"][0]["results"])
    book = openpyxl.load_workbook(tmp_path / "annotated.xlsx")
    assert book["发展指标"]["E4"].comment is not None


def test_rules_show_lists_each_profiles_targets_and_clause(cli):
    run = cli("rules", "show", "PLAN_TARGET")
    assert run.exit_code == 0, run.output
    assert "九年义务教育巩固率 2020年96.31% → 2025年98%（约束性）" in run.stdout
    assert "学前三年毛入园率 2025年92%（预期性）" in run.stdout          # Dingzhou: no baseline
    assert "总体要求" in run.stdout and "表1（“十四五”主要发展指标）" in run.stdout
    assert "PLAN_TARGET" in cli("rules").stdout


def test_the_report_draws_each_indicators_progress_beside_the_time_elapsed(tmp_path):
    from conftest import SAMPLES

    from finaudit.report.html import write_html

    result = finaudit.check(SAMPLES / "break_PLAN_TARGET.xlsx")
    out = tmp_path / "r.html"
    write_html(result, out)
    page = out.read_text(encoding="utf-8")
    # 襄都区 2025: 巩固率 97.90 from 96.31 towards 98 is (97.90 - 96.31) / (98 - 96.31) = 94.08% of
    # the way, with the whole period (2020-2025) gone: behind, in red
    assert '<rect x="' in page and 'fill="#c62828"><title>襄都区 2025 九年义务教育巩固率 任务进度: 94.08 %</title>' in page
    assert "<title>襄都区 2025 九年义务教育巩固率 时间进度: 100 %</title>" in page
    # Dingzhou's targets have no baseline: no progress to draw
    assert "定州市 2025 九年义务教育巩固率 任务进度" not in page
