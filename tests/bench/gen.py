"""Deterministic generator of large synthetic ledger workbooks for the load benchmark.

    python tests/bench/gen.py --rows 100000          # prints the cached file's path

Every figure is SYNTHETIC (fixed seed, made up to look like school-level county
ledgers). A workbook holds:

- 教育经费 (budget): a title row, a Chinese header row (年度, 行政区划代码, 地区, 学段,
  办学性质, 资金来源, 支出类别, 金额（万元）, 学校代码, 学校名称) and exactly N data rows:
  one row per year (2014-2023) x school x expense class (人员经费/公用经费/基本建设),
  all 公办 and 一般公共预算, amounts in 万元 with up to 4 decimals. Rows run year by
  year, region by region, school by school, as yearly returns are stacked; the last
  year is cut short when N is not a multiple of 30.
- 在校生 (enrollment): a title row, a header row (年度, 行政区划代码, 地区, 学段, 办学性质,
  在校生数, 学校代码) and one row per (year, school) present in the budget sheet:
  ceil(N / 3) rows. The budget amounts are derived from these student numbers.

Region, school and year codes are written as text (as bureaus' templates set them),
years and amounts as numbers. xlsxwriter's constant_memory mode writes strings
inline (no shared-string table), unlike Excel; readers parse both.

Files are cached under tests/bench/_data/ (git-ignored), keyed by row count, seed
and GENERATOR_VERSION: bump the version whenever the output changes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import random
import sys
from pathlib import Path

GENERATOR_VERSION = 1
SEED = 20240917
DATA_DIR = Path(__file__).resolve().parent / "_data"

BUDGET_SHEET = "教育经费"
ENROLLMENT_SHEET = "在校生"
BUDGET_HEADERS = ["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别",
                  "金额（万元）", "学校代码", "学校名称"]
ENROLLMENT_HEADERS = ["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数", "学校代码"]
HEADER_ROW = 1                       # 0-based: row 2 in Excel, under the title row

YEARS = list(range(2014, 2024))
REGIONS = [("130682", "定州市"), ("130502", "襄都区"), ("130102", "长安区"), ("130104", "桥西区"),
           ("130105", "新华区"), ("130108", "裕华区"), ("130203", "路北区"), ("130304", "北戴河区"),
           ("410102", "中原区"), ("410105", "金水区"), ("370102", "历下区"), ("320106", "鼓楼区")]
# level -> (weight among schools, students range in 2014, name suffix, school-code type digit)
LEVELS = {
    "小学": (45, (150, 2200), "小学", "1"),
    "初中": (20, (300, 2500), "中学", "2"),
    "普通高中": (10, (800, 3600), "高级中学", "3"),
    "学前教育": (20, (60, 450), "幼儿园", "4"),
    "中等职业教育": (5, (500, 3000), "职业技术学校", "5"),
}
# Yuan per student per year in 2014, by level and expense class; grown yearly below.
PER_STUDENT = {
    "小学": {"人员经费": 7200, "公用经费": 720, "基本建设": 600},
    "初中": {"人员经费": 9800, "公用经费": 980, "基本建设": 800},
    "普通高中": {"人员经费": 11500, "公用经费": 1350, "基本建设": 1100},
    "学前教育": {"人员经费": 4800, "公用经费": 560, "基本建设": 500},
    "中等职业教育": {"人员经费": 10800, "公用经费": 1650, "基本建设": 1300},
}
EXPENSE_CLASSES = ["人员经费", "公用经费", "基本建设"]
ORDINALS = "一二三四五六七八九"
STREETS = ["解放", "建设", "胜利", "和平", "人民", "朝阳", "文化", "新华", "育才", "实验", "光明", "东风"]


def school_count(rows: int) -> int:
    return max(1, math.ceil(rows / (len(YEARS) * len(EXPENSE_CLASSES))))


def expected_enrollment_rows(rows: int) -> int:
    """One enrollment row per (year, school) block of three budget rows."""
    return math.ceil(rows / len(EXPENSE_CLASSES))


def _school_name(region_name: str, level: str, index: int) -> str:
    suffix = LEVELS[level][2]
    street = STREETS[index % len(STREETS)]
    n = index // len(STREETS) + 1
    if n <= len(ORDINALS):
        return f"{region_name}{street}路第{ORDINALS[n - 1]}{suffix}"
    return f"{region_name}{street}路第{n}{suffix}"


def _schools(rows: int, rng: random.Random) -> list[dict]:
    """Schools in region order: code, name, level, 2014 students and a yearly growth."""
    levels = list(LEVELS)
    weights = [LEVELS[lv][0] for lv in levels]
    per_region: dict[int, list[dict]] = {i: [] for i in range(len(REGIONS))}
    counters: dict[tuple[int, str], int] = {}
    for i in range(school_count(rows)):
        region = i % len(REGIONS)
        level = rng.choices(levels, weights)[0]
        k = counters.get((region, level), 0)
        counters[(region, level)] = k + 1
        code, region_name = REGIONS[region]
        low, high = LEVELS[level][1]
        per_region[region].append({
            "region_code": code, "region_name": region_name, "level": level,
            # 10-digit 学校标识码-like code: type digit, region code, 3-digit serial.
            "school_id": f"{LEVELS[level][3]}{code}{k + 1:03d}",
            "school_name": _school_name(region_name, level, k),
            "students": rng.randint(low, high),
            "growth": rng.uniform(-0.03, 0.05),
            "cost": rng.uniform(0.85, 1.2),
        })
    return [s for region in range(len(REGIONS)) for s in per_region[region]]


def write_ledger(path: Path, rows: int, seed: int = SEED) -> tuple[int, int]:
    """Writes the workbook; returns (budget rows, enrollment rows)."""
    import xlsxwriter

    rng = random.Random(seed)
    schools = _schools(rows, rng)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    # A fixed creation date keeps the file byte-for-byte reproducible.
    book.set_properties({"title": "合成教育经费台账（基准测试）", "author": "finaudit tests/bench/gen.py",
                         "comments": "SYNTHETIC data for benchmarking; not from any bureau.",
                         "created": dt.datetime(2024, 1, 1)})
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "0.0000"})

    budget = book.add_worksheet(BUDGET_SHEET)
    enrollment = book.add_worksheet(ENROLLMENT_SHEET)
    budget.write_string(0, 0, "某省县级教育经费支出明细表（合成数据，仅供基准测试）", bold)
    enrollment.write_string(0, 0, "某省县级学校在校生数（合成数据，仅供基准测试）", bold)
    for col, header in enumerate(BUDGET_HEADERS):
        budget.write_string(HEADER_ROW, col, header, bold)
    for col, header in enumerate(ENROLLMENT_HEADERS):
        enrollment.write_string(HEADER_ROW, col, header, bold)

    # constant_memory flushes a row once a later row is written: each sheet is written
    # strictly top to bottom (interleaving the two sheets is fine).
    b_row = e_row = HEADER_ROW + 1
    written = 0
    for t, year in enumerate(YEARS):
        for school in schools:
            if written >= rows:
                break
            students = max(20, round(school["students"] * (1 + school["growth"]) ** t))
            enrollment.write_number(e_row, 0, year)
            enrollment.write_string(e_row, 1, school["region_code"])
            enrollment.write_string(e_row, 2, school["region_name"])
            enrollment.write_string(e_row, 3, school["level"])
            enrollment.write_string(e_row, 4, "公办")
            enrollment.write_number(e_row, 5, students)
            enrollment.write_string(e_row, 6, school["school_id"])
            e_row += 1
            for expense in EXPENSE_CLASSES:
                if written >= rows:
                    break
                per_student = PER_STUDENT[school["level"]][expense] * school["cost"] * 1.045 ** t
                if expense == "基本建设" and rng.random() < 0.35:
                    amount = 0.0             # no construction that year
                else:
                    yuan = students * per_student * rng.uniform(0.9, 1.1)
                    amount = round(yuan / 10_000, 4)   # 万元, at most 4 decimals (1 yuan)
                budget.write_number(b_row, 0, year)
                budget.write_string(b_row, 1, school["region_code"])
                budget.write_string(b_row, 2, school["region_name"])
                budget.write_string(b_row, 3, school["level"])
                budget.write_string(b_row, 4, "公办")
                budget.write_string(b_row, 5, "一般公共预算")
                budget.write_string(b_row, 6, expense)
                budget.write_number(b_row, 7, amount, money)
                budget.write_string(b_row, 8, school["school_id"])
                budget.write_string(b_row, 9, school["school_name"])
                b_row += 1
                written += 1
    budget.set_column(0, 0, 6)
    budget.set_column(1, 1, 12)
    budget.set_column(7, 7, 14)
    budget.set_column(9, 9, 28)
    book.close()
    n_budget, n_enrollment = b_row - HEADER_ROW - 1, e_row - HEADER_ROW - 1
    assert n_budget == rows, (n_budget, rows)
    assert n_enrollment == expected_enrollment_rows(rows), (n_enrollment, rows)
    return n_budget, n_enrollment


def ledger_path(rows: int, seed: int = SEED, data_dir: Path = DATA_DIR) -> Path:
    """The cached workbook with `rows` budget rows, generated on first use."""
    if rows < 1:
        raise ValueError("rows must be >= 1")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"ledger_{rows}_s{seed}_v{GENERATOR_VERSION}.xlsx"
    if not path.exists():
        # Written under a private name and renamed: concurrent runs never see half a file.
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx")
        try:
            write_ledger(tmp, rows, seed)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="budget rows (default 100000)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="write here instead of the cache")
    args = parser.parse_args(argv)
    if args.out:
        print(write_ledger(args.out, args.rows, args.seed))
        print(args.out)
    else:
        print(ledger_path(args.rows, args.seed))
    return 0



# --- Parquet folder ledgers (bench_check.py) ----------------------------------
#
# A folder of Parquet files with the canonical English column names and enumeration
# codes, as a provincial system would export a school-level ledger:
#
# - budget.parquet: exactly N rows (year, region_code, region_name, level, ownership,
#   fund_source, expense_class, amount, school_id, school_name, basis), amounts in
#   yuan. Per school and year: general_budget personnel, public_funds and capital
#   (capital 0 in about a third of the years), plus for some schools one row from
#   another fund source (government_fund capital, other/other; vocational schools
#   education_surcharge public_funds). Rows run year by year, region by region,
#   school by school; the last year is cut short at N rows.
# - enrollment.parquet (year, region_code, region_name, level, ownership, students,
#   school_id): one row per school and year present in the budget.
# - surcharge.parquet, salaries.parquet: two rows per region and year;
#   reference.parquet: the provincial (130000) compulsory public-funds average per year.
#
# 40 Hebei counties and districts (Dingzhou 130682 and eleven Xingtai codes 1305xx
# among them, so the dingzhou, xingtai and hebei profiles all apply), 2014-2023, six
# levels. About 1% of schools are underfunded and some region-years carry a spending
# cut, so every guarantee has a few failures. All figures are SYNTHETIC (fixed seed).
# Cached under tests/bench/_data/ keyed by rows, seed and PARQUET_GENERATOR_VERSION.

PARQUET_GENERATOR_VERSION = 1
PARQUET_YEARS = list(range(2014, 2024))
HEBEI_REGIONS = [
    ("130102", "长安区"), ("130104", "桥西区"), ("130105", "新华区"), ("130108", "裕华区"),
    ("130109", "藁城区"), ("130110", "鹿泉区"), ("130111", "栾城区"), ("130121", "井陉县"),
    ("130123", "正定县"), ("130125", "行唐县"), ("130126", "灵寿县"), ("130127", "高邑县"),
    ("130131", "平山县"), ("130133", "赵县"), ("130181", "辛集市"), ("130183", "晋州市"),
    ("130202", "路南区"), ("130203", "路北区"), ("130204", "古冶区"), ("130302", "海港区"),
    ("130304", "北戴河区"), ("130402", "邯山区"), ("130403", "丛台区"), ("130502", "襄都区"),
    ("130503", "信都区"), ("130505", "任泽区"), ("130506", "南和区"), ("130522", "临城县"),
    ("130523", "内丘县"), ("130524", "柏乡县"), ("130525", "隆尧县"), ("130528", "宁晋县"),
    ("130581", "南宫市"), ("130582", "沙河市"), ("130602", "竞秀区"), ("130606", "莲池区"),
    ("130681", "涿州市"), ("130682", "定州市"), ("130702", "桥东区"), ("130802", "双桥区"),
]
# level -> (weight among schools, students range in 2014, name suffix, school-code type digit,
#           share of private schools)
PARQUET_LEVELS = {
    "preschool": (20, (60, 450), "幼儿园", "4", 0.25),
    "primary": (40, (150, 2200), "小学", "1", 0.04),
    "junior": (18, (300, 2500), "中学", "2", 0.05),
    "senior_general": (9, (800, 3600), "高级中学", "3", 0.08),
    "secondary_vocational": (5, (500, 3000), "职业技术学校", "5", 0.10),
    "special": (2, (30, 220), "特殊教育学校", "6", 0.0),
}
# Yuan per student per year in 2014 (general budget), by level: personnel, public funds, capital.
PARQUET_PER_STUDENT = {
    "preschool": (4800, 430, 500),
    "primary": (7200, 700, 600),
    "junior": (9800, 930, 800),
    "senior_general": (11500, 1150, 1100),
    "secondary_vocational": (10800, 1350, 1300),
    "special": (26000, 6300, 2000),
}
PARQUET_GROWTH = 1.045                   # yearly growth of spending per student
# (region index, year) with a spending cut: the only-increase rules fail there.
PARQUET_CUTS = {(5, 2019): 0.90, (17, 2021): 0.93, (37, 2022): 0.92, (29, 2023): 0.95}
PROVINCE_CODE = "130000"


def parquet_expected_enrollment_rows(rows: int, seed: int = SEED) -> int:
    """Enrollment rows of the Parquet ledger with `rows` budget rows (one per school-year)."""
    return int(_parquet_plan(rows, seed)["school_years"])


def _parquet_plan(rows: int, seed: int) -> dict:
    """The schools (region order) and the per-year row template, as numpy arrays."""
    import numpy as np

    rng = np.random.default_rng(seed)
    levels = list(PARQUET_LEVELS)
    weights = np.array([PARQUET_LEVELS[lv][0] for lv in levels], dtype=float)
    pool = max(1, math.ceil(rows / (len(PARQUET_YEARS) * 3))) + 8
    region = np.arange(pool) % len(HEBEI_REGIONS)
    level = rng.choice(len(levels), size=pool, p=weights / weights.sum())
    low = np.array([PARQUET_LEVELS[lv][1][0] for lv in levels])[level]
    high = np.array([PARQUET_LEVELS[lv][1][1] for lv in levels])[level]
    students = rng.integers(low, high + 1)
    growth = rng.uniform(-0.03, 0.05, pool)
    cost = rng.uniform(0.85, 1.2, pool)
    lagging = rng.random(pool) < 0.01                      # underfunded schools
    cost = np.where(lagging, rng.uniform(0.55, 0.75, pool), cost)
    private = rng.random(pool) < np.array([PARQUET_LEVELS[lv][4] for lv in levels])[level]
    # 0: none, 1: government_fund capital, 2: other/other, 3: education_surcharge public_funds
    extra = np.select([rng.random(pool) < 0.20, rng.random(pool) < 0.10], [1, 2], 0)
    extra = np.where(level == levels.index("secondary_vocational"), 3, extra)
    per_year = 3 + (extra > 0)
    # The fewest schools whose yearly rows over all years reach `rows`.
    n = int(np.searchsorted(np.cumsum(per_year) * len(PARQUET_YEARS), rows) + 1)
    n = min(n, pool)
    order = np.argsort(region[:n], kind="stable")
    schools = {k: v[:n][order] for k, v in dict(region=region, level=level, students=students, growth=growth,
                                                     cost=cost, private=private, extra=extra,
                                                     per_year=per_year).items()}
    # Row template of one year: (school, slot); slots 0-2 general budget, 3 the extra row.
    t_school = np.repeat(np.arange(n), schools["per_year"])
    starts = np.cumsum(schools["per_year"]) - schools["per_year"]
    t_slot = np.arange(len(t_school)) - np.repeat(starts, schools["per_year"])
    per_year_rows = len(t_school)
    year_idx = np.repeat(np.arange(len(PARQUET_YEARS)), per_year_rows)[:rows]
    school = np.tile(t_school, len(PARQUET_YEARS))[:rows]
    slot = np.tile(t_slot, len(PARQUET_YEARS))[:rows]
    # School-years touched by the first `rows` rows: full years, then the cut year's prefix.
    last_year, last_school = year_idx[-1], school[-1]
    school_years = int(last_year * n + last_school + 1)
    return {"rng": rng, "schools": schools, "n": n, "year_idx": year_idx, "school": school, "slot": slot,
            "school_years": school_years, "levels": levels}


def _parquet_school_texts(schools: dict, levels: list[str]) -> tuple[list[str], list[str]]:
    ids, names = [], []
    counters: dict[tuple[int, int], int] = {}
    for r, lv in zip(schools["region"].tolist(), schools["level"].tolist()):
        k = counters.get((r, lv), 0)
        counters[(r, lv)] = k + 1
        code, region_name = HEBEI_REGIONS[r]
        level = levels[lv]
        # 学校标识码-like: type digit, region code, 4-digit serial.
        ids.append(f"{PARQUET_LEVELS[level][3]}{code}{k + 1:04d}")
        street = STREETS[k % len(STREETS)]
        m = k // len(STREETS) + 1
        nth = ORDINALS[m - 1] if m <= len(ORDINALS) else str(m)
        names.append(f"{region_name}{street}路第{nth}{PARQUET_LEVELS[level][2]}")
    return ids, names


def write_parquet_ledger(folder: Path, rows: int, seed: int = SEED) -> dict[str, int]:
    """Writes the Parquet folder ledger; returns the row count of every file written."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    plan = _parquet_plan(rows, seed)
    rng, s, levels = plan["rng"], plan["schools"], plan["levels"]
    n_years = len(PARQUET_YEARS)
    folder.mkdir(parents=True, exist_ok=True)

    def text(values: list[str], index) -> pa.Array:
        return pa.array(values, type=pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))

    ids, names = _parquet_school_texts(s, levels)
    region_codes = [c for c, _ in HEBEI_REGIONS]
    region_names = [nm for _, nm in HEBEI_REGIONS]
    years = np.array(PARQUET_YEARS, dtype=np.int64)

    # Students of every school in every year, shape (years, schools).
    t = np.arange(n_years)[:, None]
    floor = np.where(s["level"] == levels.index("special"), 5, 20)
    students = np.maximum(floor, np.rint(s["students"] * (1 + s["growth"]) ** t)).astype(np.int64)

    # --- budget
    yi, sc, slot = plan["year_idx"], plan["school"], plan["slot"]
    lv = s["level"][sc]
    rates = np.array([PARQUET_PER_STUDENT[level] for level in levels], dtype=float)   # (levels, 3)
    extra = s["extra"][sc]
    extra_rate = np.select([extra == 1, extra == 2, extra == 3], [350.0, 120.0, 400.0], 0.0)
    rate = np.where(slot < 3, rates[lv, np.minimum(slot, 2)], extra_rate)
    cut = np.ones(len(sc))
    for (r, year), factor in PARQUET_CUTS.items():
        cut[(s["region"][sc] == r) & (years[yi] == year)] = factor
    noise = rng.uniform(0.93, 1.07, len(sc))
    amount = students[yi, sc] * rate * s["cost"][sc] * PARQUET_GROWTH ** yi * cut * noise
    no_capital = (slot == 2) & (rng.random(len(sc)) < 0.35)
    amount = np.round(np.where(no_capital, 0.0, amount), 2)
    fund_codes = ["general_budget", "government_fund", "other", "education_surcharge"]
    fund = np.where(slot < 3, 0, extra)
    class_codes = ["personnel", "public_funds", "capital", "other"]
    klass = np.where(slot < 3, slot, np.select([extra == 1, extra == 2, extra == 3], [2, 3, 1], 3))
    ownership = np.where(s["private"][sc], 1, 0)
    region = s["region"][sc]
    budget = pa.table({
        "year": pa.array(years[yi]),
        "region_code": text(region_codes, region),
        "region_name": text(region_names, region),
        "level": text(levels, lv),
        "ownership": text(["public", "private"], ownership),
        "fund_source": text(fund_codes, fund),
        "expense_class": text(class_codes, klass),
        "amount": pa.array(amount),
        "school_id": text(ids, sc),
        "school_name": text(names, sc),
        "basis": text(["final"], np.zeros(len(sc), dtype=np.int64)),
    })
    assert budget.num_rows == rows, (budget.num_rows, rows)

    # --- enrollment: one row per school-year touched by the budget, in the same order.
    sy = np.arange(plan["school_years"])
    e_year, e_school = sy // plan["n"], sy % plan["n"]
    enrollment = pa.table({
        "year": pa.array(years[e_year]),
        "region_code": text(region_codes, s["region"][e_school]),
        "region_name": text(region_names, s["region"][e_school]),
        "level": text(levels, s["level"][e_school]),
        "ownership": text(["public", "private"], np.where(s["private"][e_school], 1, 0)),
        "students": pa.array(students[e_year, e_school]),
        "school_id": text(ids, e_school),
    })

    # --- region-level sheets: two rows per region and year.
    n_regions = len(HEBEI_REGIONS)
    ry = np.arange(n_regions * n_years)
    r_year, r_region = ry // n_regions, ry % n_regions
    region_students = np.zeros((n_years, n_regions))
    compulsory = np.isin(s["level"], [levels.index("primary"), levels.index("junior")])
    for r in range(n_regions):
        region_students[:, r] = students[:, s["region"] == r].sum(axis=1)
    teachers_base = np.zeros((n_years, n_regions))
    for r in range(n_regions):
        teachers_base[:, r] = students[:, (s["region"] == r) & compulsory].sum(axis=1) / 15.0
    pair = np.repeat(ry, 2)
    p_year, p_region, kind = r_year[pair], r_region[pair], np.tile([0, 1], len(ry))
    collected = region_students[p_year, p_region] * rng.uniform(55, 75, len(pair)) * 1.05 ** p_year
    share = np.repeat(rng.uniform(0.27, 0.40, len(ry)), 2)          # one share per region-year
    surcharge = pa.table({
        "year": pa.array(years[p_year]),
        "region_code": text(region_codes, p_region),
        "region_name": text(region_names, p_region),
        "surcharge_type": text(["education_surcharge", "local_education_surcharge"], kind),
        "collected": pa.array(np.round(collected, 2)),
        "vocational": pa.array(np.round(collected * share, 2)),
    })
    teachers = np.maximum(1, np.rint(teachers_base[p_year, p_region])).astype(np.int64)
    civil = rng.integers(2500, 9000, len(pair))
    headcount = np.where(kind == 0, teachers, civil)
    avg = np.where(kind == 0, 63_000 * rng.uniform(0.96, 1.08, len(pair)),
                   62_000 * rng.uniform(0.98, 1.02, len(pair))) * 1.06 ** p_year
    salaries = pa.table({
        "year": pa.array(years[p_year]),
        "region_code": text(region_codes, p_region),
        "region_name": text(region_names, p_region),
        "pay_group": text(["compulsory_teacher", "civil_servant"], kind),
        "headcount": pa.array(headcount),
        "total_pay": pa.array(np.round(headcount * avg, 2)),
    })
    reference = pa.table({
        "year": pa.array(years),
        "region_code": pa.array([PROVINCE_CODE] * n_years),
        "metric": pa.array(["provincial_avg_compulsory_public_funds_per_student"] * n_years),
        "value": pa.array(np.round(820.0 * PARQUET_GROWTH ** np.arange(n_years), 2)),
    })
    tables = {"budget": budget, "enrollment": enrollment, "surcharge": surcharge, "salaries": salaries,
              "reference": reference}
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet", compression="snappy")
    return {name: table.num_rows for name, table in tables.items()}


def parquet_ledger_path(rows: int, seed: int = SEED, data_dir: Path = DATA_DIR) -> Path:
    """The cached Parquet folder ledger with `rows` budget rows, generated on first use."""
    import shutil

    if rows < 1:
        raise ValueError("rows must be >= 1")
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"parquet_{rows}_s{seed}_v{PARQUET_GENERATOR_VERSION}"
    if not path.exists():
        # Written under a private name and renamed: concurrent runs never see half a folder.
        tmp = data_dir / f".{path.name}.{os.getpid()}.tmp"
        try:
            write_parquet_ledger(tmp, rows, seed)
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return path


if __name__ == "__main__":
    sys.exit(main())
