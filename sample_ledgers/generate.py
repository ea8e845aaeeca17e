"""Writes the synthetic sample ledgers in this folder (python sample_ledgers/generate.py).

Every figure here is SYNTHETIC: made up to look like a county ledger, not taken
from any bureau. Each workbook says so in its title row and on a 说明 sheet.

- clean.xlsx — Chinese sheet names and headers, title rows above the header, money
  in 万元, two regions (定州市 130682 under the Dingzhou profile, 襄都区 130502 under
  Xingtai's) x five years (2019-2023) x every level; breaks no guarantee.
- break_<RULE>.xlsx — the clean ledger with one change that breaks exactly that rule.

Amounts are whole multiples of 100 yuan so that 万元 figures have at most two
decimals and convert to yuan exactly.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
YEARS = list(range(2019, 2024))
REGIONS = [("130682", "定州市"), ("130502", "襄都区")]
PROVINCE = "130000"

# Students in the first year, per level; they grow 1% a year.
STUDENTS = {"preschool": 12000, "primary": 30000, "junior": 15000, "senior_general": 8000,
            "secondary_vocational": 4000, "special": 300}
# Public funds (公用经费) per student in the first year, yuan; they grow 5% a year
# (vocational 6%), above every floor and benchmark.
PUBLIC_FUNDS_PER_STUDENT = {"preschool": 650, "primary": 950, "junior": 1250, "senior_general": 1500,
                            "secondary_vocational": 1800, "special": 7000}
PERSONNEL_PER_STUDENT = {"preschool": 5000, "primary": 8000, "junior": 11000, "senior_general": 12000,
                         "secondary_vocational": 11000, "special": 30000}
CAPITAL_PER_STUDENT = 800
SENIOR_SCHOOLS = [("S01", "第一中学"), ("S02", "第二中学")]
ZH = {
    "level": {"preschool": "学前教育", "primary": "小学", "junior": "初中", "senior_general": "普通高中",
              "secondary_vocational": "中等职业教育", "special": "特殊教育", "higher": "高等教育", "other": "其他"},
    "ownership": {"public": "公办", "private": "民办"},
    "fund_source": {"general_budget": "一般公共预算", "government_fund": "政府性基金",
                    "education_surcharge": "教育费附加", "local_education_surcharge": "地方教育附加", "other": "其他"},
    "expense_class": {"personnel": "人员经费", "public_funds": "公用经费", "capital": "基本建设", "other": "其他"},
    "surcharge_type": {"education_surcharge": "教育费附加", "local_education_surcharge": "地方教育附加"},
    "pay_group": {"compulsory_teacher": "义务教育教师", "civil_servant": "公务员"},
    "metric": {"provincial_avg_compulsory_public_funds_per_student": "全省义务教育生均公用经费"},
    "basis": {"final": "决算", "budget": "预算"},
    "indicator": {"preschool_gross_enrollment": "学前三年毛入园率", "compulsory_consolidation": "九年义务教育巩固率",
                  "senior_gross_enrollment": "高中阶段毛入学率", "higher_education_students": "高等教育在校生数",
                  "dual_qualified_teacher_share": "“双师型”教师占比",
                  "working_age_schooling_years": "劳动年龄人口平均受教育年限"},
}
HEADERS_ZH = {
    "budget": {"year": "年度", "region_code": "行政区划代码", "region_name": "地区", "level": "学段",
               "ownership": "办学性质", "fund_source": "资金来源", "expense_class": "支出类别",
               "amount": "金额（万元）", "school_id": "学校代码", "school_name": "学校名称", "basis": "口径",
               "prior_year_comparable": "上年同口径数（万元）"},
    "enrollment": {"year": "年度", "region_code": "行政区划代码", "region_name": "地区", "level": "学段",
                   "ownership": "办学性质", "students": "在校生数", "school_id": "学校代码", "school_name": "学校名称"},
    "surcharge": {"year": "年度", "region_code": "行政区划代码", "region_name": "地区", "surcharge_type": "附加类型",
                  "collected": "征收额（万元）", "vocational": "用于职业教育（万元）"},
    "salaries": {"year": "年度", "region_code": "行政区划代码", "region_name": "地区", "pay_group": "人员类别",
                 "headcount": "人数", "total_pay": "年度工资收入总额（万元）"},
    "reference": {"year": "年度", "region_code": "行政区划代码", "metric": "指标", "value": "数值"},
    "fiscal": {"year": "年度", "region_code": "行政区划代码", "region_name": "地区",
               "recurring_revenue": "财政经常性收入（万元）", "total_expenditure": "一般公共预算支出（万元）",
               "gdp": "地区生产总值（万元）", "fiscal_education": "国家财政性教育经费（万元）", "basis": "口径"},
    "indicators": {"year": "年度", "region_code": "行政区划代码", "region_name": "地区", "indicator": "指标",
                   "value": "数值"},
}
SHEET_ZH = {"budget": "教育经费", "enrollment": "在校生", "surcharge": "教育费附加", "salaries": "工资",
            "reference": "参照值", "fiscal": "财政收支", "indicators": "发展指标"}
MONEY_WAN = {"amount", "prior_year_comparable", "collected", "vocational", "total_pay",
             "recurring_revenue", "total_expenditure", "gdp", "fiscal_education"}
# Each county's recurring revenue grows 3% a year and its general-budget expenditure 4%:
# education (about 6%) grows faster than both, so its share rises. The province's row
# (for the 4% of GDP, compared as a province) has fiscal education at 4.2% of its GDP.
REVENUE, EXPENDITURE = 1_500_000_000, 3_000_000_000
PROVINCE_NAME, PROVINCE_GDP, PROVINCE_REVENUE = "河北省", 4_000_000_000_000, 300_000_000_000
COMPULSORY = ("primary", "junior", "special")
# Plan indicators. 襄都区 follows Xingtai's Table 1 (2020 baseline -> 2025 target), a little
# ahead of the straight path every year; 定州市 reports the three its plan targets for 2025.
XINGTAI_TABLE_1 = {"preschool_gross_enrollment": (90.07, 93), "compulsory_consolidation": (96.31, 98),
                   "senior_gross_enrollment": (94.02, 95), "higher_education_students": (6.04, 7),
                   "dual_qualified_teacher_share": (44.54, 60), "working_age_schooling_years": (10.81, 11.3)}
DINGZHOU_2025 = {"preschool_gross_enrollment": 92, "compulsory_consolidation": 98, "senior_gross_enrollment": 95}


def _on_path(baseline: float, target: float, year: int) -> float:
    """A value 0.05 ahead of the straight path from the 2020 baseline to the 2025 target."""
    return round(baseline + (target - baseline) * (year - 2020) / 5 + 0.05, 2)


def _hundreds(x: float) -> int:
    """Rounds to a whole 100 yuan: the sample's amounts convert from 万元 exactly."""
    return int(round(x / 100.0)) * 100


def clean_ledger() -> dict[str, list[dict]]:
    """The clean ledger as rows of canonical (English) fields, money in yuan."""
    budget, enrollment, surcharge, salaries, reference, fiscal, indicators = [], [], [], [], [], [], []
    for code, name in REGIONS:
        for t, year in enumerate(YEARS):
            base = {"year": year, "region_code": code, "region_name": name}
            for level, first in STUDENTS.items():
                students = round(first * 1.01 ** t)
                growth = 1.06 if level == "secondary_vocational" else 1.05
                public = PUBLIC_FUNDS_PER_STUDENT[level] * growth ** t
                rows = {"personnel": PERSONNEL_PER_STUDENT[level] * 1.05 ** t,
                        "public_funds": public, "capital": CAPITAL_PER_STUDENT * 1.05 ** t}
                if level == "senior_general":
                    # School-level rows: two schools share the level's students and money.
                    share = students // 2
                    for n, (sid, sname) in enumerate(SENIOR_SCHOOLS):
                        school_students = share if n == 0 else students - share
                        school = {"school_id": f"{code}{sid}", "school_name": f"{name}{sname}"}
                        enrollment.append({**base, "level": level, "ownership": "public",
                                           "students": school_students, **school})
                        for cls, per in rows.items():
                            budget.append({**base, "level": level, "ownership": "public",
                                           "fund_source": "general_budget", "expense_class": cls,
                                           "amount": _hundreds(per * school_students), **school})
                    continue
                enrollment.append({**base, "level": level, "ownership": "public", "students": students})
                for cls, per in rows.items():
                    budget.append({**base, "level": level, "ownership": "public", "fund_source": "general_budget",
                                   "expense_class": cls, "amount": _hundreds(per * students)})
            # Administration spending has no students of its own.
            budget.append({**base, "level": "other", "ownership": "public", "fund_source": "general_budget",
                           "expense_class": "other", "amount": _hundreds(3_000_000 * 1.05 ** t)})
            for kind, collected in (("education_surcharge", 20_000_000), ("local_education_surcharge", 8_000_000)):
                amount = _hundreds(collected * 1.04 ** t)
                surcharge.append({**base, "surcharge_type": kind, "collected": amount,
                                  "vocational": _hundreds(amount * 0.35)})
            salaries.append({**base, "pay_group": "compulsory_teacher", "headcount": 3000,
                             "total_pay": _hundreds(3000 * 92_000 * 1.04 ** t)})
            salaries.append({**base, "pay_group": "civil_servant", "headcount": 1800,
                             "total_pay": _hundreds(1800 * 90_000 * 1.04 ** t)})
            fiscal.append({**base, "recurring_revenue": _hundreds(REVENUE * 1.03 ** t),
                           "total_expenditure": _hundreds(EXPENDITURE * 1.04 ** t)})
    for year in YEARS:
        reference.append({"year": year, "region_code": PROVINCE,
                          "metric": "provincial_avg_compulsory_public_funds_per_student",
                          "value": round(1000 * 1.04 ** (year - YEARS[0]), 2)})
        gdp = _hundreds(PROVINCE_GDP * 1.05 ** (year - YEARS[0]))
        fiscal.append({"year": year, "region_code": PROVINCE, "region_name": PROVINCE_NAME,
                       "recurring_revenue": _hundreds(PROVINCE_REVENUE * 1.03 ** (year - YEARS[0])),
                       "gdp": gdp, "fiscal_education": _hundreds(gdp * 0.042)})
        for indicator, (baseline, target) in XINGTAI_TABLE_1.items():
            indicators.append({"year": year, "region_code": "130502", "region_name": "襄都区",
                               "indicator": indicator, "value": _on_path(baseline, target, year)})
        for indicator, target in DINGZHOU_2025.items():
            indicators.append({"year": year, "region_code": "130682", "region_name": "定州市",
                               "indicator": indicator, "value": round(target - 0.2 * (2025 - year), 2)})
    return {"budget": budget, "enrollment": enrollment, "surcharge": surcharge,
            "salaries": salaries, "reference": reference, "fiscal": fiscal, "indicators": indicators}


def _find(rows, **match):
    hits = [r for r in rows if all(r.get(k) == v for k, v in match.items())]
    if not hits:
        raise KeyError(match)
    return hits


def _spending(ledger, code, year, levels=None) -> int:
    """General-budget spending of a region in a year (every sample row is general budget, final)."""
    return sum(r["amount"] for r in _find(ledger["budget"], region_code=code, year=year)
               if levels is None or r["level"] in levels)


def _revenue_between(ledger, code, low: float, high: float) -> None:
    """Sets the region's 2023 recurring revenue to grow midway between two growth rates."""
    prev = _find(ledger["fiscal"], region_code=code, year=2022)[0]["recurring_revenue"]
    _find(ledger["fiscal"], region_code=code, year=2023)[0]["recurring_revenue"] = \
        _hundreds(prev * (1 + (low + high) / 2))


def breaking_ledgers() -> dict[str, tuple[str, dict]]:
    """{rule id: (what was changed, ledger)}: each breaks exactly one guarantee."""
    out = {}

    def variant(rule, what, change):
        ledger = copy.deepcopy(clean_ledger())
        change(ledger)
        out[rule] = (what, ledger)

    def shrink_2023(ledger):
        # 定州市 spends 1% less in 2023 than in 2022 on every line, and has 3% fewer
        # students: the total falls while every per-student figure still rises.
        for row in _find(ledger["budget"], region_code="130682", year=2023):
            key = {k: row.get(k) for k in ("level", "expense_class", "school_id")}
            prev = _find(ledger["budget"], region_code="130682", year=2022, **key)[0]
            row["amount"] = _hundreds(prev["amount"] * 0.99)
        for row in _find(ledger["enrollment"], region_code="130682", year=2023):
            key = {k: row.get(k) for k in ("level", "school_id")}
            prev = _find(ledger["enrollment"], region_code="130682", year=2022, **key)[0]
            row["students"] = round(prev["students"] * 0.97)
        # A bad year: revenue and expenditure fall 2%, so education (-1%) still grows faster
        # than revenue and its share rises; only the only-increase guarantee breaks.
        for column in ("recurring_revenue", "total_expenditure"):
            prev = _find(ledger["fiscal"], region_code="130682", year=2022)[0][column]
            _find(ledger["fiscal"], region_code="130682", year=2023)[0][column] = _hundreds(prev * 0.98)
    variant("ONLY_INCREASE_TOTAL", "定州市2023年财政收支下降2%，各项教育支出比2022年少1%，在校生少3%", shrink_2023)

    def more_students_2023(ledger):
        # 2023 primary enrollment of 襄都区 rises 10%: money still grows 5%, per student falls.
        row = _find(ledger["enrollment"], region_code="130502", year=2023, level="primary")[0]
        row["students"] = round(row["students"] * 1.10)
        # Public funds grow with the pupils, so their per-student amount does not fall.
        public = _find(ledger["budget"], region_code="130502", year=2023, level="primary",
                       expense_class="public_funds")[0]
        public["amount"] = _hundreds(public["amount"] * 1.10)
    variant("ONLY_INCREASE_PER_STUDENT", "襄都区2023年小学在校生增加10%，生均支出下降（公用经费同步增加）",
            more_students_2023)

    def move_to_personnel(rows, per_student, students):
        # Public funds are cut to `per_student` and the money moved to personnel of the
        # same rows, so totals and per-student figures are unchanged: only the floor breaks.
        public = next(r for r in rows if r["expense_class"] == "public_funds")
        personnel = next(r for r in rows if r["expense_class"] == "personnel")
        personnel["amount"] += public["amount"] - per_student * students
        public["amount"] = per_student * students

    # A floor is broken by one school held below it while the level's public funds per
    # student stay as in the clean ledger: a cut of the level would also be a fall of public
    # funds per student (PUBLIC_FUNDS_PER_STUDENT_GROW), and this sample breaks one rule.
    def shift_public_funds(low, high, per_student, students):
        """Public funds of school `low` cut to `per_student`; school `high` gets the difference."""
        public = next(r for r in low if r["expense_class"] == "public_funds")
        moved = public["amount"] - per_student * students
        public["amount"] -= moved
        next(r for r in high if r["expense_class"] == "public_funds")["amount"] += moved

    def cut_senior_school(ledger):
        # One 定州市 high school's 2023 public funds fall to 900 yuan per student; the other's rise.
        low, high = "130682S01", "130682S02"
        students = _find(ledger["enrollment"], school_id=low, year=2023)[0]["students"]
        shift_public_funds(_find(ledger["budget"], school_id=low, year=2023),
                           _find(ledger["budget"], school_id=high, year=2023), 900, students)
    variant("FLOOR_SENIOR_GENERAL", "定州市第一中学2023年生均公用经费900元（第二中学相应增加）", cut_senior_school)

    def one_school_below(ledger, year, level, school, rest, per_student):
        # The region's rows of the level become two schools' with the same totals: the small
        # school's rows take the region rows' places (every other row keeps its number), the
        # other school's are added at the end. The small one gets `per_student` of public
        # funds, the other the rest.
        code, name = "130682", "定州市"
        heads = _find(ledger["enrollment"], region_code=code, year=year, level=level)[0]
        rows = _find(ledger["budget"], region_code=code, year=year, level=level)
        total, small = heads["students"], 200
        first = {"school_id": f"{code}{school[0]}", "school_name": f"{name}{school[1]}"}
        other = {"school_id": f"{code}{rest[0]}", "school_name": f"{name}{rest[1]}"}
        ledger["enrollment"].append({**heads, "students": total - small, **other})
        heads.update(students=small, **first)
        small_rows, other_rows = [], []
        for row in rows:
            part = _hundreds(row["amount"] * small / total)
            other_rows.append({**row, "amount": row["amount"] - part, **other})
            row.update(amount=part, **first)
            small_rows.append(row)
        ledger["budget"].extend(other_rows)
        shift_public_funds(small_rows, other_rows, per_student, small)

    variant("FLOOR_PRESCHOOL", "定州市第一幼儿园2022年生均公用经费390元（其他幼儿园相应增加）",
            lambda ledger: one_school_below(ledger, 2022, "preschool", ("K01", "第一幼儿园"), ("K99", "其他公办幼儿园"), 390))
    variant("FLOOR_SECONDARY_VOCATIONAL", "定州市职业技术教育中心2023年生均公用经费950元（其他学校相应增加）",
            lambda ledger: one_school_below(ledger, 2023, "secondary_vocational", ("V01", "职业技术教育中心"),
                                             ("V99", "其他中职学校"), 950))

    def short_surcharge(ledger):
        row = _find(ledger["surcharge"], region_code="130502", year=2023, surcharge_type="education_surcharge")[0]
        row["vocational"] = _hundreds(row["collected"] * 0.20)
    variant("SURCHARGE_VOCATIONAL_SHARE", "襄都区2023年教育费附加用于职业教育仅20%", short_surcharge)

    def low_teacher_pay(ledger):
        row = _find(ledger["salaries"], region_code="130682", year=2023, pay_group="compulsory_teacher")[0]
        row["total_pay"] = 3000 * 85_000
    variant("TEACHER_PAY_PARITY", "定州市2023年义务教育教师人均工资85,000元，低于公务员", low_teacher_pay)

    def compulsory_outgrows_revenue(ledger):
        # 襄都区 2023: 30,000,000 more primary capital spending lifts compulsory growth above the
        # total's; revenue grows midway between them: the total does not outgrow it.
        row = _find(ledger["budget"], region_code="130502", year=2023, level="primary", expense_class="capital")[0]
        row["amount"] += 30_000_000
        total = _spending(ledger, "130502", 2023) / _spending(ledger, "130502", 2022) - 1
        compulsory = (_spending(ledger, "130502", 2023, COMPULSORY)
                      / _spending(ledger, "130502", 2022, COMPULSORY) - 1)
        _revenue_between(ledger, "130502", total, compulsory)
    variant("EDU_GROWTH_ABOVE_REVENUE", "襄都区2023年财政经常性收入增长快于教育支出（义务教育部分仍快于收入）",
            compulsory_outgrows_revenue)

    def vocational_outgrows_compulsory(ledger):
        # 定州市 2023: 60,000,000 more vocational capital spending (new money leaning toward
        # vocational education, as Dingzhou's plan asks) lifts the total's growth; revenue
        # grows midway between compulsory growth and the total's.
        row = _find(ledger["budget"], region_code="130682", year=2023, level="secondary_vocational",
                    expense_class="capital")[0]
        row["amount"] += 60_000_000
        total = _spending(ledger, "130682", 2023) / _spending(ledger, "130682", 2022) - 1
        compulsory = (_spending(ledger, "130682", 2023, COMPULSORY)
                      / _spending(ledger, "130682", 2022, COMPULSORY) - 1)
        _revenue_between(ledger, "130682", compulsory, total)
    variant("COMPULSORY_GROWTH_ABOVE_REVENUE", "定州市2023年新增中职基建使教育总支出增长快于收入，义务教育部分未快于收入",
            vocational_outgrows_compulsory)

    def senior_public_funds_fall(ledger):
        # 定州市 2023: both high schools get 3% less public funds per student than in 2022
        # (still far above the 1000-yuan floor); the money goes to personnel.
        for sid, _ in SENIOR_SCHOOLS:
            school = f"130682{sid}"
            before = _find(ledger["budget"], school_id=school, year=2022, expense_class="public_funds")[0]["amount"]
            students_before = _find(ledger["enrollment"], school_id=school, year=2022)[0]["students"]
            students = _find(ledger["enrollment"], school_id=school, year=2023)[0]["students"]
            move_to_personnel(_find(ledger["budget"], school_id=school, year=2023),
                              int(before / students_before * 0.97), students)
    variant("PUBLIC_FUNDS_PER_STUDENT_GROW", "定州市2023年普通高中生均公用经费比上年下降3%", senior_public_funds_fall)

    def expenditure_outgrows_education(ledger):
        row = _find(ledger["fiscal"], region_code="130502", year=2023)[0]
        row["total_expenditure"] = _hundreds(_find(ledger["fiscal"], region_code="130502", year=2022)[0]
                                             ["total_expenditure"] * 1.10)
    variant("EDU_SHARE_OF_EXPENDITURE", "襄都区2023年一般公共预算支出增长10%，教育支出占比下降",
            expenditure_outgrows_education)

    def province_below_four_percent(ledger):
        row = _find(ledger["fiscal"], region_code=PROVINCE, year=2023)[0]
        row["fiscal_education"] = _hundreds(row["gdp"] * 0.036)
    def plan_year_missed(ledger):
        # The plan's last year is reported with the ledger (a 十四五 final review): every
        # target met but 襄都区's binding 九年义务教育巩固率, 97.90 against 98.
        for indicator, (_, target) in XINGTAI_TABLE_1.items():
            value = 97.9 if indicator == "compulsory_consolidation" else target
            ledger["indicators"].append({"year": 2025, "region_code": "130502", "region_name": "襄都区",
                                         "indicator": indicator, "value": value})
        for indicator, target in DINGZHOU_2025.items():
            ledger["indicators"].append({"year": 2025, "region_code": "130682", "region_name": "定州市",
                                         "indicator": indicator, "value": target})
    variant("PLAN_TARGET", "襄都区2025年九年义务教育巩固率97.90%，未达到规划约束性目标98%", plan_year_missed)

    def draft(ledger, compulsory_growth: float, other_growth: float) -> None:
        # 定州市 drafts its 2024 budget (口径 预算) on its 2023 lines, planned on recurring
        # revenue budgeted 5% above 2023's. 2023's general budget: 9.47 亿元, of which
        # compulsory education (小学、初中、特殊教育) 6.32 亿元 and the other levels 3.15 亿元.
        for row in _find(ledger["budget"], region_code="130682", year=2023):
            growth = compulsory_growth if row["level"] in COMPULSORY else other_growth
            ledger["budget"].append({**row, "year": 2024, "basis": "budget", "amount": _hundreds(row["amount"] * growth)})
        final = _find(ledger["fiscal"], region_code="130682", year=2023)[0]
        ledger["fiscal"].append({"year": 2024, "region_code": "130682", "region_name": "定州市", "basis": "budget",
                                 "recurring_revenue": _hundreds(final["recurring_revenue"] * 1.05)})

    # Compulsory education +5.5%, the other levels unchanged: the total grows 3.7%, slower than
    # revenue, while compulsory education alone grows faster.
    variant("DRAFT_EDU_GROWTH_ABOVE_REVENUE",
            "定州市2024年预算草案教育支出比2023年决算增长3.7%（义务教育增长5.5%），低于预算收入增长5%",
            lambda ledger: draft(ledger, 1.055, 1.0))
    # Compulsory education +2%, the other levels +12.5%: the total grows 5.5%, faster than revenue,
    # while compulsory education lags it.
    variant("DRAFT_COMPULSORY_GROWTH_ABOVE_REVENUE",
            "定州市2024年预算草案义务教育支出比2023年决算增长2%，低于预算收入增长5%（教育支出合计增长5.5%）",
            lambda ledger: draft(ledger, 1.02, 1.125))

    variant("FISCAL_EDU_GDP_SHARE", "河北省2023年国家财政性教育经费占地区生产总值3.6%（省级对照）",
            province_below_four_percent)
    return out


def write_workbook(ledger: dict[str, list[dict]], path: Path, title: str, note: str = "") -> None:
    """Writes a ledger the way a bureau keeps it: Chinese names, a title row, 万元."""
    import openpyxl
    from openpyxl.styles import Font

    book = openpyxl.Workbook()
    info = book.active
    info.title = "说明"
    info["A1"] = "合成数据（SYNTHETIC）：本工作簿中的全部数字均为虚构，仅用于演示和测试 finaudit。"
    info["A2"] = "Synthetic data: every figure in this workbook is made up, for demonstrating and testing finaudit."
    if note:
        info["A3"] = note
    for sheet, rows in ledger.items():
        if not rows:
            continue
        ws = book.create_sheet(SHEET_ZH[sheet])
        headers = HEADERS_ZH[sheet]
        columns = [c for c in headers if any(c in r for r in rows)]
        ws.cell(row=1, column=1, value=f"{title}——{SHEET_ZH[sheet]}（合成数据，非真实台账）").font = Font(bold=True)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
        for j, col in enumerate(columns, start=1):
            ws.cell(row=2, column=j, value=headers[col]).font = Font(bold=True)
        for i, row in enumerate(rows, start=3):
            for j, col in enumerate(columns, start=1):
                value = row.get(col)
                if col in ZH and value is not None:
                    value = ZH[col][value]
                elif col in MONEY_WAN and value is not None:
                    value = value / 10_000
                ws.cell(row=i, column=j, value=value)
        ws.freeze_panes = "A3"
    book.save(path)


def main(out_dir: Path = HERE) -> list[Path]:
    written = []
    path = out_dir / "clean.xlsx"
    write_workbook(clean_ledger(), path, "教育经费保障台账（示例）", "不违反任何保障规则的示例台账。")
    written.append(path)
    for rule, (what, ledger) in breaking_ledgers().items():
        path = out_dir / f"break_{rule}.xlsx"
        write_workbook(ledger, path, "教育经费保障台账（示例）", f"违反 {rule} 的示例台账：{what}。")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
