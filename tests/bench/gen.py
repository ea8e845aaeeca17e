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


if __name__ == "__main__":
    sys.exit(main())
