"""The rules on Apache Spark (issue 18) find exactly what they find on DuckDB: every rule's
cases (tests/rules/*.yaml) and every sample ledger, findings compared field by field, and
the CLI's text the same on both engines.

Spark in local mode costs seconds a query where DuckDB costs milliseconds (a one-rule case
about 3 s, a whole sample ledger about 30 s on 2 cores), so the Spark part is batched: one
SparkSession for the module, the ledgers audited side by side in threads (each audit has a
session of its own on the shared context), and by default a selection that keeps it near
3 minutes: the first case of every rule that expects a finding, and one sample.
FINAUDIT_SPARK_ALL=1 runs every case and every sample (about 9 and 6 minutes more).
"""
from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import finaudit
from finaudit.audit.catalogue import load_rules

sys.path.insert(0, str(Path(__file__).parent))
from test_rules import _cases, write_ledger, write_workbook  # noqa: E402  the rule cases' own harness

THREADS = 4         # audits at once on the one Spark context: most of a small query's time is planning
EVERYTHING = os.environ.get("FINAUDIT_SPARK_ALL") == "1"
# One sample by default (for CI's time, since the Parquet intake tests came): its violations,
# a plan target and a workbook handed over; the rule cases cover each rule.
SAMPLES_CHOSEN = ("break_PLAN_TARGET.xlsx",)


def _chosen_cases() -> list:
    """Every case, or the first case of each rule that expects a finding."""
    cases = list(_cases())
    if EVERYTHING:
        return cases
    first = {}
    for param in cases:
        rule_id, case = param.values
        if case.get("expected") and "layout" not in case:
            first.setdefault(rule_id, param)
    return list(first.values())


def _differences(duck, sparked) -> list[str]:
    """Each finding's fields that differ, by fingerprint; findings found by one engine only."""
    a = {f.fingerprint: f.to_dict() for f in duck.findings}
    b = {f.fingerprint: f.to_dict() for f in sparked.findings}
    out = [f"only on DuckDB: {k} {a[k]['rule_id']} {a[k].get('subject')}" for k in a.keys() - b.keys()]
    out += [f"only on Spark: {k} {b[k]['rule_id']} {b[k].get('subject')}" for k in b.keys() - a.keys()]
    for k in a.keys() & b.keys():
        out += [f"{a[k]['rule_id']} {k} {field}: {a[k].get(field)!r} != {b[k].get(field)!r}"
                for field in sorted(a[k].keys() | b[k].keys()) if a[k].get(field) != b[k].get(field)]
    if [f.fingerprint for f in duck.findings] != [f.fingerprint for f in sparked.findings]:
        out.append("the findings come in another order")
    return out


def _both(path, spark, **options) -> list[str]:
    duck = finaudit.check(path, **options)
    sparked = finaudit.check(path, engine="spark", spark=spark, **options)
    assert duck.findings, f"{path}: nothing found on DuckDB, so nothing is compared"  # a case with findings
    return _differences(duck, sparked)


@pytest.mark.spark
def test_every_rule_case_finds_the_same_on_spark_as_on_duckdb(spark, tmp_path):
    rules = load_rules()

    def one(param):
        rule_id, case = param.values
        folder = tmp_path / param.id.replace("/", "_")
        ledger = (write_workbook(folder / "ledger.xlsx", case["ledger"], case["layout"]) if "layout" in case
                  else write_ledger(folder / "ledger", case["ledger"]))
        only = {rule_id: rules[rule_id]} if rules[rule_id].stage == "sql" else {}
        options = {"profile": case.get("profile"), "year": case.get("year"), "rules": only}
        duck = finaudit.check(ledger, **options)
        sparked = finaudit.check(ledger, engine="spark", spark=spark, **options)
        return param.id, len(duck.findings), _differences(duck, sparked)

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(one, _chosen_cases()))
    assert len(results) >= (150 if EVERYTHING else 25)
    assert all(n for _, n, _ in results) if not EVERYTHING else sum(n for _, n, _ in results) > 100
    assert [(case, diff) for case, _, diff in results if diff] == []


@pytest.mark.spark
def test_every_sample_ledger_finds_the_same_on_spark_as_on_duckdb(spark, samples):
    ledgers = sorted(samples.glob("*.xlsx"))
    assert len(ledgers) >= 10
    ledgers = ledgers if EVERYTHING else [p for p in ledgers if p.name in SAMPLES_CHOSEN]
    assert len(ledgers) >= 1
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda path: (path.name, _both(path, spark)), ledgers))
    assert [(name, diff) for name, diff in results if diff] == []


@pytest.mark.spark
def test_the_cli_prints_the_same_report_for_a_parquet_ledger_on_spark_as_on_duckdb(spark_installed, tmp_path):
    sys.path.insert(0, str(Path(__file__).parent / "bench"))
    import gen
    ledger = gen.parquet_ledger_path(2_000)
    runs = {}
    for engine in ("duckdb", "spark"):
        runs[engine] = subprocess.run(
            [sys.executable, "-m", "finaudit", "check", "--engine", engine, "--spark-master", "local[2]",
             "--no-config", "--show-info", str(ledger)] if engine == "spark" else
            [sys.executable, "-m", "finaudit", "check", "--no-config", "--show-info", str(ledger)],
            capture_output=True, text=True, encoding="utf-8", timeout=600)
    assert runs["duckdb"].returncode == runs["spark"].returncode == 1, runs["spark"].stderr[-2000:]
    assert runs["duckdb"].stdout.count("证据：") > 10        # a report with findings, not an empty one
    assert runs["spark"].stdout == runs["duckdb"].stdout


@pytest.mark.parametrize("missing", ["pyspark", "java"])
def test_without_pyspark_or_java_the_spark_engine_is_refused_in_one_chinese_line(missing, samples, tmp_path):
    # Runs where Spark is installed too: the refusal is what a bureau without it sees.
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    code = "import sys; from finaudit.cli import main; sys.argv = ['finaudit'] + sys.argv[1:]; main()"
    if missing == "pyspark":
        code = "import sys; sys.modules['pyspark'] = None; " + code       # import pyspark -> ImportError
    else:
        env["PATH"] = str(tmp_path)         # no java on it (python is run by its full path)
    run = subprocess.run([sys.executable, "-c", code, "check", "--engine", "spark", str(samples / "clean.xlsx")],
                         capture_output=True, text=True, encoding="utf-8", env=env, timeout=120)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert ("pyspark" if missing == "pyspark" else "Java") in lines[0] and "无法" in lines[0]


def test_an_unknown_engine_or_a_spark_master_without_spark_is_refused(samples):
    from finaudit.errors import UsageError
    with pytest.raises(UsageError) as unknown:
        finaudit.check(samples / "clean.xlsx", engine="presto")
    assert unknown.value.message("zh") == "未知的引擎“presto”。可选：duckdb、spark。"
    with pytest.raises(UsageError) as master:
        finaudit.check(samples / "clean.xlsx", spark_master="local[2]")
    assert "只用于 Spark 引擎" in master.value.message("zh")


@pytest.mark.parametrize("master", ["bogus", "local[0]", "spark://", "local[2"])
def test_a_master_spark_cannot_take_is_refused_before_a_jvm_starts(master, samples):
    # No Java stack trace on stderr: the address is judged before Spark is started (or imported).
    run = subprocess.run([sys.executable, "-m", "finaudit", "check", "--engine", "spark", "--spark-master", master,
                          str(samples / "clean.xlsx")], capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Spark 主节点地址“{master}”无效"), run.stderr


def test_the_master_urls_spark_documents_are_taken():
    from finaudit.audit.spark import _MASTER
    for master in ["local", "local[*]", "local[4]", "local[4,2]", "local[*,3]", "local-cluster[2,1,1024]",
                   "spark://host:7077", "spark://a:7077,b:7077", "yarn", "k8s://https://host:6443"]:
        assert _MASTER.fullmatch(master), master


@pytest.mark.spark
def test_a_zero_divisor_a_rule_leaves_out_does_not_stop_the_rule_on_spark(spark, tmp_path):
    # Spark's ANSI mode raised DIVIDE_BY_ZERO on sum(total_pay) / sum(headcount) before the
    # rule's HAVING sum(headcount) > 0 dropped the group; DuckDB never stopped there.
    case = next(p.values[1] for p in _cases() if p.values[0] == "DATA_IMPLAUSIBLE_FIGURE"
                and p.values[1]["name"] == "does not judge the average pay of a group with no staff")
    ledger = write_ledger(tmp_path / "ledger", case["ledger"])
    only = {"DATA_IMPLAUSIBLE_FIGURE": load_rules()["DATA_IMPLAUSIBLE_FIGURE"]}
    duck = finaudit.check(ledger, profile="dingzhou", year=2023, rules=only)
    sparked = finaudit.check(ledger, profile="dingzhou", year=2023, rules=only, engine="spark", spark=spark)
    assert _differences(duck, sparked) == []


@pytest.mark.spark
def test_a_failure_handing_the_ledger_to_spark_is_one_ledger_error_and_leaves_no_copy(spark, samples, monkeypatch,
                                                                                      tmp_path):
    import glob
    import tempfile

    from py4j.protocol import Py4JError
    from pyspark.sql import SparkSession

    from finaudit.errors import LedgerError

    def full_disk(*args, **kwargs):
        raise Py4JError("java.io.IOException: No space left on device\n\tat org.apache.spark...")

    monkeypatch.setattr(SparkSession, "createDataFrame", full_disk)
    # This test's own temporary folder: other tests (and runs) on the machine make and remove
    # finaudit-spark-* folders in the shared one while this one runs.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with pytest.raises(LedgerError) as failed:
        finaudit.check(samples / "clean.xlsx", engine="spark", spark=spark)
    assert failed.value.message("zh").startswith("台账未能交给 Spark：java.io.IOException: No space left on device")
    assert "\n" not in failed.value.message("zh")
    assert glob.glob(f"{tmp_path}/finaudit-spark-*") == []


@pytest.mark.spark
def test_a_failure_on_a_session_finaudit_starts_leaves_no_java_stack_on_stderr(spark_installed):
    # The one line is finaudit's (RuleError, LedgerError); Spark's log of the same failure was
    # some 11 kB of Java stack and JSON records on stderr. Only its start-up lines remain.
    code = ("from finaudit.audit.spark import session\n"
            "s = session('local[1]')\n"
            "try:\n    s.sql('SELECT 1/0').collect()\nexcept Exception as exc:\n    print(type(exc).__name__)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert run.stdout.strip() == "ArithmeticException", run.stderr
    assert "DIVIDE_BY_ZERO" not in run.stderr and "\tat org.apache" not in run.stderr, run.stderr


@pytest.mark.spark
def test_a_running_session_is_used_as_it_is_and_another_master_is_refused(spark, samples):
    # getOrCreate returned the running session whatever master was asked, and wrote
    # finaudit's settings (shuffle partitions, time zone) into the caller's session.
    from finaudit.audit.spark import session
    from finaudit.errors import UsageError

    before = spark.conf.get("spark.sql.shuffle.partitions")
    spark.conf.set("spark.sql.shuffle.partitions", "7")
    try:
        # the running one (the fixture's, or an audit's session on the same context)
        assert session().sparkContext is spark.sparkContext
        assert session(spark.sparkContext.master).sparkContext is spark.sparkContext
        assert spark.conf.get("spark.sql.shuffle.partitions") == "7"
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", before)
    with pytest.raises(UsageError) as other:
        finaudit.check(samples / "clean.xlsx", engine="spark", spark_master="local[1]")
    assert other.value.message("zh").startswith(f"本进程已有运行在 {spark.sparkContext.master} 上的 Spark 会话")


@pytest.mark.spark
def test_a_year_the_ledger_lacks_is_refused_before_the_ledger_is_copied_to_spark(spark, samples, monkeypatch):
    from finaudit.audit import spark as spark_mod
    from finaudit.errors import UsageError

    def copied(*args, **kwargs):
        raise AssertionError("the ledger was handed to Spark before the year was checked")

    monkeypatch.setattr(spark_mod.SparkRules, "__init__", copied)
    with pytest.raises(UsageError) as refused:
        finaudit.check(samples / "clean.xlsx", year=1990, engine="spark", spark=spark)
    assert refused.value.message("zh").startswith("台账中没有1990年的数据。")


@pytest.mark.spark
def test_spark_out_of_memory_is_said_as_that_wherever_it_surfaces(spark, monkeypatch):
    # A 25,000,000-row ledger on local[2] with an 8g driver: "java.lang.OutOfMemoryError: Java
    # heap space" stopped the context under a rule's query, and freeing the audit's cached
    # tables then raised "Cannot call methods on a stopped SparkContext", which replaced the
    # error: the run ended in an internal error of 5,000 characters naming unpersist.
    from finaudit.audit.spark import SparkRules
    from finaudit.errors import LedgerError, RuleError
    from finaudit.intake.spark_errors import out_of_memory

    monkeypatch.setenv("FINAUDIT_SPARK_DRIVER_MEMORY", "8g")
    heap = RuntimeError("An error occurred while calling o98.toArrow.\n: java.lang.OutOfMemoryError: Java heap space")
    error = out_of_memory(heap)
    assert error.message("zh").startswith("Spark 内存不足，运行已停止（An error occurred while calling o98.toArrow. : java.lang.OutOfMemoryError")
    assert "FINAUDIT_SPARK_DRIVER_MEMORY" in error.message("zh") and "现为 8g" in error.message("zh")
    assert "(now 8g)" in error.message("en") and "\n" not in error.message("en")
    stopped = out_of_memory(RuntimeError("Cannot call methods on a stopped SparkContext."))
    assert stopped.message("en").startswith("The Spark session has stopped, so the audit cannot go on")
    assert "内存不足" not in stopped.message("zh").split("；")[0]     # said as stopped, memory a likely cause
    assert out_of_memory(RuntimeError("[UNRESOLVED_COLUMN] x")) is None

    class Failing:                      # the session's queries fail as the JVM said (its literals are Spark's)
        def __init__(self, exc):
            self.exc = exc

        def sql(self, *args, **kwargs):
            raise self.exc

    rules = load_rules()
    rule = rules["FLOOR_PRESCHOOL"]
    backend = object.__new__(SparkRules)
    from finaudit.audit import spark_sql
    from finaudit.audit.catalogue import views_sql
    backend._macros, backend.spark = spark_sql.views(views_sql())[1], Failing(heap)
    with pytest.raises(LedgerError) as caught:
        backend.run(rule, {})
    assert caught.value.message("en").startswith("Spark ran out of memory")
    backend.spark = Failing(RuntimeError("[UNRESOLVED_COLUMN] x"))
    with pytest.raises(RuleError):                  # a rule's own failure stays the rule's
        backend.run(rule, {})


def test_freeing_cached_tables_on_a_stopped_context_keeps_the_error_being_reported(spark_installed):
    from py4j.protocol import Py4JError

    from finaudit.intake.spark_errors import unpersist

    class Stopped:
        freed = 0

        def unpersist(self):
            Stopped.freed += 1
            raise Py4JError("Cannot call methods on a stopped SparkContext.")

    unpersist([Stopped(), Stopped()])               # raises nothing, tries each
    assert Stopped.freed == 2
