"""Shared fixtures: the committed sample ledgers, small ledgers written on the fly, and the CLI.

The sample paths are module constants too (`from conftest import SAMPLES, CLEAN, BROKEN`)
because parametrize lists and module-level helpers need them before any fixture runs.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
from pathlib import Path

import pytest

# The committed sample ledgers (sample_ledgers/generate.py writes them): the clean one
# breaks no rule; the one that breaks exactly FLOOR_PRESCHOOL is the tests' usual broken ledger.
SAMPLES = Path(__file__).resolve().parent.parent / "sample_ledgers"
CLEAN = SAMPLES / "clean.xlsx"
BROKEN = SAMPLES / "break_FLOOR_PRESCHOOL.xlsx"

# The sheets of a small valid ledger as a bureau writes it: Chinese sheet names,
# headers and enumeration names. Row 1 is the header; columns A.. in this order.
BUDGET_HEADER = ["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额"]
ENROLLMENT_HEADER = ["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数"]


@pytest.fixture
def samples() -> Path:
    """The folder of committed sample ledgers (read them; copy one to tmp_path to change it)."""
    return SAMPLES


@pytest.fixture
def sheets() -> dict[str, list[list]]:
    """A minimal valid ledger (budget + enrollment), a fresh copy for each test to change."""
    return {
        "教育经费": [
            list(BUDGET_HEADER),
            [2023, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费", 1500],
            [2023, "130682", "定州市", "初中", "公办", "一般公共预算", "人员经费", 2500.5],
        ],
        "在校生": [
            list(ENROLLMENT_HEADER),
            [2023, "130682", "定州市", "小学", "公办", 30],
            [2023, "130682", "定州市", "初中", "公办", 20],
        ],
    }


@pytest.fixture
def write_xlsx(tmp_path):
    """write_xlsx(sheets, name=..., titles=..., merge_titles=..., hidden=...) -> Path.

    `sheets` maps a sheet name to its rows, header first; `titles` maps a sheet name
    to rows written above its header (a one-cell title row is merged across the
    header's width when merge_titles). A row given as [] is left empty in the file.
    """
    import openpyxl

    def write(sheets: dict[str, list[list]], *, name: str = "ledger.xlsx",
              titles: dict[str, list[list]] | None = None, merge_titles: bool = True,
              hidden: tuple[str, ...] = ()):
        book = openpyxl.Workbook()
        book.remove(book.active)
        for sheet, rows in sheets.items():
            ws = book.create_sheet(sheet)
            above = (titles or {}).get(sheet, [])
            width = len(rows[0]) if rows else 1
            for r, row in enumerate([*above, *rows], start=1):
                for c, value in enumerate(row, start=1):
                    if value is not None:
                        ws.cell(row=r, column=c, value=value)
                if r <= len(above) and merge_titles and len(row) == 1 and width > 1:
                    ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=width)
            if sheet in hidden:
                ws.sheet_state = "hidden"
        path = tmp_path / name
        book.save(path)
        return path

    return write


@pytest.fixture
def write_csv(tmp_path):
    """write_csv(relative path, rows, encoding=...) -> Path; folders are created as needed."""

    def write(relative: str, rows: list[list], *, encoding: str = "utf-8"):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue().encode(encoding))
        return path

    return write


@pytest.fixture
def cli():
    """cli(*args) -> click Result of `finaudit args...` (stdout and stderr kept apart)."""
    from click.testing import CliRunner

    from finaudit.cli import main

    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args])

    return run


def kindergartens(folder: Path, n: int, name=lambda i: f"第{i}幼儿园") -> Path:
    """A Parquet ledger of n public kindergartens of Dingzhou (130682) in 2023, each given
    399 yuan per child (100 children): n FLOOR_PRESCHOOL violations, and one for the region."""
    import pandas as pd

    folder.mkdir(parents=True)
    base = {"year": 2023, "region_code": "130682", "region_name": "定州市", "level": "preschool",
            "ownership": "public"}
    schools = [f"K{i:05d}" for i in range(n)]
    pd.DataFrame([{**base, "fund_source": "general_budget", "expense_class": "public_funds", "amount": 39900.0,
                   "school_id": s, "school_name": name(i)} for i, s in enumerate(schools)]
                 ).to_parquet(folder / "budget.parquet")
    pd.DataFrame([{**base, "students": 100, "school_id": s} for s in schools]).to_parquet(folder / "enrollment.parquet")
    return folder


def _why_no_spark() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (.ci/run installs requirements-spark.txt)"
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        return "no Java runtime (.ci/run installs openjdk-17-jre-headless with apt where it can)"
    return None


@pytest.fixture(scope="session")
def spark_installed():
    """Skips, saying why, where pyspark or Java is missing; starts nothing."""
    reason = _why_no_spark()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for every Spark test of the session (a JVM start costs seconds;
    test_spark.py and test_spark_intake.py share it)."""
    reason = _why_no_spark()
    if reason:
        pytest.skip(reason)
    from finaudit.audit.spark import session
    spark = session("local[2]")
    yield spark
    spark.stop()
