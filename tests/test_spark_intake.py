"""A Parquet ledger read and validated on Spark, where it lives (issue 18 item 3,
intake/spark_native.py), gives what the native DuckDB path gives (intake/native.py) on the
same files: the same load findings (rejected cells with their row numbers and shown values,
subtotal rows, defaulted columns), the same row accounting and control totals, the same
rule findings: the whole findings document, field by field.

Spark in local mode costs some 40 s an audit on 2 cores, so the ledgers are audited side by
side in threads on the one session (conftest.py): by default the ledgers with bad cells
(those of tests/test_native.py, and one without a column) and one at a file:// URL, about
2 minutes; FINAUDIT_SPARK_ALL=1 adds every sample workbook converted to Parquet (the rules
on those samples' rows are compared for workbooks in tests/test_spark.py by default).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

import finaudit

sys.path.insert(0, str(Path(__file__).parent))
from test_native import BUDGET, ENROLLMENT, messy_ledger  # noqa: E402  the DuckDB side's own cases

EVERYTHING = os.environ.get("FINAUDIT_SPARK_ALL") == "1"
THREADS = 3         # the three default ledgers at once; more only queue on 2 cores


def _document(path, **options) -> dict:
    doc = finaudit.check(path, **options).to_dict()
    doc["run"].pop("started_at", None)
    doc["run"].pop("id", None)
    return json.loads(json.dumps(doc, ensure_ascii=False, default=str))


def parquet_sample(workbook: Path, folder: Path) -> Path:
    """A sample workbook as a Parquet ledger, one file per sheet, its cells as they are: the
    title row above the header dropped, mixed columns (codes as numbers and text) as text."""
    folder.mkdir(parents=True)
    for name, frame in pd.read_excel(workbook, sheet_name=None, header=1, engine="calamine").items():
        if name == "说明":
            continue
        for column in frame.columns:
            if frame[column].dtype == object:
                frame[column] = frame[column].map(lambda v: None if pd.isna(v) else str(v)).astype("str")
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def defaulted_ledger(folder: Path) -> Path:
    """No 办学性质 column (every row taken as 公办: SCHEMA_DEFAULTED), a region name and a
    level nobody knows, a negative count and a subtotal row, counts stored as text."""
    folder.mkdir()
    no_ownership = [c for c in BUDGET if c != "办学性质"]
    ok = [2023, "130682", "定州市", "小学", "一般公共预算", "公用经费"]
    pd.DataFrame([[*ok, 100.0, "S1"], [2023, "130682", "不存在市", "初中", "一般公共预算", "公用经费", 5.0, "S2"],
                  [2023, "130682", "定州市", "小计", None, None, 105.0, None],
                  [2023, "130682", "定州市", "研究生", "一般公共预算", "公用经费", 1.0, "S3"]],
                 columns=no_ownership).to_parquet(folder / "教育经费.parquet", index=False)
    pd.DataFrame([[2023, "130682", "定州市", "小学", "公办", "-3", "S1"],
                  [2023, "130682", "定州市", "初中", "公办", "40", "S2"],
                  [2023, "130682", "定州市", "小学", "公办", "三十", "S4"]],
                 columns=ENROLLMENT).to_parquet(folder / "在校生.parquet", index=False)
    return folder


def part_files(source: Path, folder: Path, parts: int = 3) -> Path:
    """`source`'s ledger with each sheet as a folder of part files, as Spark writes a table
    (budget.parquet/part-00000-….parquet, _SUCCESS): the rows in the same order across them."""
    folder.mkdir()
    for file in sorted(source.glob("*.parquet")):
        frame = pd.read_parquet(file)
        sheet = folder / file.name
        sheet.mkdir()
        (sheet / "_SUCCESS").write_text("")
        size = -(-len(frame) // parts)
        for i in range(parts):
            frame.iloc[i * size:(i + 1) * size].to_parquet(sheet / f"part-{i:05d}-c000.snappy.parquet", index=False)
    return folder


@pytest.fixture
def handed_over_refused(monkeypatch):
    """The ledger must not reach Spark through DuckDB (the hand-over of the other formats)."""
    from finaudit.audit.spark import SparkRules

    def copied(*args, **kwargs):
        raise AssertionError("the ledger was read by DuckDB and copied to Spark")

    monkeypatch.setattr(SparkRules, "_hand_over", copied)


def _cited(doc: dict, base: str) -> list:
    """The findings with the ledger's location in each citation written LEDGER."""
    return json.loads(json.dumps(doc["findings"], ensure_ascii=False).replace(base, "LEDGER"))


@pytest.mark.spark
def test_parquet_ledgers_with_bad_cells_give_the_same_findings_rows_and_totals_on_spark(
        spark, tmp_path, samples, handed_over_refused):
    ledgers = [messy_ledger(tmp_path / "messy"), defaulted_ledger(tmp_path / "defaulted")]
    if EVERYTHING:     # every sample workbook as a Parquet ledger: some 16 audits more
        ledgers += [parquet_sample(p, tmp_path / "samples" / p.stem) for p in sorted(samples.glob("*.xlsx"))]
    # The URL route (hdfs:// and s3a:// are the same route with the cluster's connectors; they
    # cannot run here), on the messy ledger cut into part files as Spark writes a table: the
    # parts count their rows on in name order, so the findings are the one file's, but for
    # the location each cites. Audited beside the others: each audit costs some 40 s.
    url = "file://" + str(part_files(ledgers[0], tmp_path / "parts"))
    jobs = [(path, path) for path in ledgers] + [(ledgers[0], url)]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda job: (job[0], job[1], _document(job[0]),
                                             _document(job[1], engine="spark", spark=spark)), jobs))
    kinds = {f["rule_id"] for _, _, duck, _ in results for f in duck["findings"]}
    assert kinds >= {"SCHEMA_TYPE", "SCHEMA_RANGE", "SCHEMA_ALLOWED_VALUE", "SCHEMA_REGION_CODE",
                     "SCHEMA_REQUIRED", "SCHEMA_DEFAULTED", "DATA_SUBTOTAL_ROW"}, kinds
    assert len(results) == len(ledgers) + 1 and len(ledgers) >= (18 if EVERYTHING else 2)
    for path, where, duck, sparked in results:
        if where == url:
            assert sparked["run"]["inputs"][0]["path"] == url and sparked["run"]["inputs"][0]["sha256"] is None
            assert _cited(sparked, url) == _cited(duck, str(path)) and len(duck["findings"]) > 10
            continue
        assert sparked["findings"] == duck["findings"], path.name
        assert sparked == duck, path.name
    messy = next(d for p, w, d, _ in results if p.name == "messy")
    budget = next(s for s in messy["run"]["inputs"][0]["sheets"] if s["name"] == "budget")
    assert (budget["rows_read"], budget["rows_blank"], budget["rows_rejected"]) == (16, 1, 10)


def test_the_duckdb_engine_refuses_a_url_in_one_chinese_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "finaudit", "check", "--no-config", "s3a://bureau/ledger"],
                         capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert lines == ["“s3a://bureau/ledger”是一个 URL 地址：只有 Spark 引擎（--engine spark）能读取，"
                     "DuckDB 引擎只读取本机的文件或文件夹。"], run.stderr


def test_a_url_keeps_its_double_slash_through_the_run():
    from finaudit.runs.discover import expand

    [item] = expand(["hdfs://namenode:8020/audit/2024/"])
    assert str(item.path) == "hdfs://namenode:8020/audit/2024/" and item.path.name == "2024"


@pytest.mark.spark
def test_a_url_spark_cannot_read_is_one_ledger_error(spark, tmp_path):
    from finaudit.errors import LedgerError

    with pytest.raises(LedgerError) as failed:
        finaudit.check(f"file://{tmp_path}/nowhere", engine="spark", spark=spark)
    assert failed.value.message("zh").startswith(f"Spark 无法读取 Parquet 台账“file://{tmp_path}/nowhere”")
    assert "\n" not in failed.value.message("zh")


@pytest.mark.spark
@pytest.mark.skipif(not EVERYTHING, reason="a JVM started per run (some 45 s): with FINAUDIT_SPARK_ALL=1")
def test_the_cli_audits_part_files_at_a_file_url_on_spark_as_duckdb_audits_the_one_file(spark_installed, tmp_path):
    single = messy_ledger(tmp_path / "single")
    url = "file://" + str(part_files(single, tmp_path / "parts"))
    runs = [subprocess.run([sys.executable, "-m", "finaudit", "check", "--no-config", *args],
                           capture_output=True, text=True, encoding="utf-8", timeout=600)
            for args in (["--engine", "spark", "--spark-master", "local[2]", url], [str(single)])]
    assert [r.returncode for r in runs] == [1, 1], runs[0].stderr[-2000:]
    assert "Traceback" not in runs[0].stderr
    assert runs[0].stdout.replace(url, "LEDGER") == runs[1].stdout.replace(str(single), "LEDGER")
    assert "拒绝行" in runs[0].stdout and runs[0].stdout.startswith(f"台账：{url}")


@pytest.mark.spark
def test_a_year_the_ledger_lacks_is_refused_on_spark_before_the_ledger_is_read(spark, tmp_path, monkeypatch):
    # --year of a national ledger on Spark: the year cells alone are read (their distinct
    # values, typed as the load types them: 2023, "2023年", 2023.0), not the whole ledger.
    from finaudit.errors import UsageError
    from finaudit.intake import spark_native

    ledger = messy_ledger(tmp_path / "messy")
    with pytest.raises(UsageError) as duck:
        finaudit.check(ledger, year=1999)
    monkeypatch.setattr(spark_native, "load", lambda *args: pytest.fail("the whole ledger was read"))
    with pytest.raises(UsageError) as sparked:
        finaudit.check(ledger, year=1999, engine="spark", spark=spark)
    # The valid rows' years on DuckDB; on Spark, before the rows are checked, the year cells'
    # that pass the year's own checks (not 1900, below the range): 2024's rows are all
    # rejected for other cells, which only the whole read finds.
    assert duck.value.message("zh") == "台账中没有1999年的数据。已有年度：2022、2023。"
    assert sparked.value.message("zh") == "台账中没有1999年的数据。年度列中的年度：2022、2023、2024。"
    assert sparked.value.message("en") == "The ledger has no data for 1999. Years in its year cells: 2022, 2023, 2024."
