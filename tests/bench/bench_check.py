"""Benchmark: finaudit.check on a Parquet folder ledger against DuckDB alone doing the same sums.

    python tests/bench/bench_check.py --rows 1000000 --repeat 3
    python tests/bench/bench_check.py --smoke                  # CI: 20,000 rows, 1 run
    python tests/bench/bench_check.py --rows 1000000 --profile --explain 3   # phases, per-rule cost
    python tests/bench/bench_check.py --rows 1000000 --profile --cprofile   # ... and cProfile
    python tests/bench/bench_check.py --rows 1000000 --generate-only
    python tests/bench/bench_check.py --rows 25000000 --repeat 1 --memory-limit 4GB   # issue 7: < 6 GiB

The ledger is a folder of Parquet files from gen.py (write_parquet_ledger; cached
under tests/bench/_data/): budget.parquet with N school-level rows, enrollment.parquet
with one row per school and year, and small surcharge, salaries and reference files.

Every run of every measurement happens in a fresh child process; each child's peak
RSS is its own getrusage(RUSAGE_SELF).ru_maxrss. Modules are imported before the
clock starts, including those finaudit imports lazily (duckdb, pandera and its checks
backend, pyarrow).

Measured:
- duckdb: the baseline. One in-memory DuckDB connection loads the Parquet files
  with read_parquet into tables and computes, in SQL only, every figure the rules in
  rules/*.sql compute and the pass/fail/unevaluable outcome of each subject: region-year
  totals and the vocational share of the increase with the previous year joined;
  per-student spending per region-year and region-year-level with the previous year
  joined; public funds per student per school and per region-year-level (computed
  once) against every floor, benchmark and the provincial average; surcharge and
  salary aggregates over the audited region-years; duplicate keys, money without
  students and year gaps. It builds no evidence lists and runs no Python per row;
  the outcome rows are fetched as one Arrow table. The profile parameters (a few
  hundred values per region and year) are looked up before the clock starts.
- finaudit: finaudit.check(folder), end to end (read, normalise, validate, load into
  DuckDB, run every rule for every profile group, build the findings).
ratio = finaudit / duckdb (best wall-clock time of --repeat runs; target <= 2.0).

The baseline's outcomes double as a cross-check: the number of fail + unevaluable
outcomes per rule should equal finaudit's number of findings per rule; a difference
is printed (it means the baseline no longer does the rules' work, or a rule changed).
Exit status 1 when finaudit did not read every row, rejected any, or reported a
schema finding; nothing is asserted about time.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen  # noqa: E402  (tests/bench/gen.py)
import harness  # noqa: E402  (tests/bench/harness.py)

TARGET_RATIO = 2.0
SMOKE_ROWS = 20_000
DEFAULT_ROWS = 1_000_000
LABELS = {
    "duckdb": "DuckDB alone (read_parquet + rule SQL)",
    "finaudit": "finaudit.check(folder)",
}
# finaudit's parameters as columns of the baseline's per region x year table.
PARAMETERS = {
    "only_increase_required": "BOOLEAN",
    "floor_senior_general_public_funds_per_student": "DOUBLE",
    "floor_preschool_public_funds_per_student": "DOUBLE",
    "floor_secondary_vocational_per_student": "DOUBLE",
    "vocational_not_below_general": "BOOLEAN",
    "benchmark_primary_public_funds_per_student": "DOUBLE",
    "benchmark_junior_public_funds_per_student": "DOUBLE",
    "benchmark_special_public_funds_per_student": "DOUBLE",
    "compulsory_reach_provincial_average": "BOOLEAN",
    "surcharge_vocational_share_min": "DOUBLE",
    "surcharge_types_counted": "VARCHAR[]",
    "teacher_pay_parity_min_ratio": "DOUBLE",
    "new_funds_tilt_vocational": "BOOLEAN",
}
SHEETS = ("budget", "enrollment", "surcharge", "salaries", "reference")


# --- the baseline's SQL ---------------------------------------------------------
# Table `params` (region_code, year, one column per parameter) replaces the rules'
# bound MAP parameters; everything else follows rules/*.sql and rules/views.sql
# without evidence lists.

BASELINE_SQL = r"""
CREATE TEMP TABLE audited_region_years AS
SELECT region_code, year
FROM (SELECT region_code, year FROM budget UNION ALL SELECT region_code, year FROM enrollment)
GROUP BY region_code, year;

CREATE TEMP TABLE totals AS
SELECT region_code, year, sum(amount) AS amount,
       coalesce(sum(amount) FILTER (WHERE level = 'secondary_vocational'), 0) AS vocational
FROM budget
WHERE fund_source = 'general_budget' AND basis = 'final'
GROUP BY region_code, year;

CREATE TEMP TABLE per_year AS
WITH money AS (
    SELECT region_code, year, level, sum(amount) AS amount
    FROM budget WHERE fund_source = 'general_budget' AND basis = 'final'
    GROUP BY GROUPING SETS ((region_code, year, level), (region_code, year))
),
heads AS (
    SELECT region_code, year, level, sum(students) AS students
    FROM enrollment
    GROUP BY GROUPING SETS ((region_code, year, level), (region_code, year))
)
SELECT m.region_code, m.year, m.level, m.amount, h.students
FROM money m
LEFT JOIN heads h ON h.region_code = m.region_code AND h.year = m.year AND h.level IS NOT DISTINCT FROM m.level
WHERE m.level IS DISTINCT FROM 'other';

CREATE TEMP TABLE pfps AS
WITH money AS (
    SELECT region_code, year, level, school_id, grouping(school_id) = 1 AS region_total, sum(amount) AS amount
    FROM budget
    WHERE fund_source = 'general_budget' AND expense_class = 'public_funds' AND ownership = 'public'
      AND basis = 'final'
    GROUP BY GROUPING SETS ((region_code, year, level, school_id), (region_code, year, level))
),
heads AS (
    SELECT region_code, year, level, school_id, grouping(school_id) = 1 AS region_total,
           sum(students) AS students
    FROM enrollment WHERE ownership = 'public'
    GROUP BY GROUPING SETS ((region_code, year, level, school_id), (region_code, year, level))
),
schools AS (
    SELECT m.region_code, m.year, m.level, m.school_id, m.amount, h.students
    FROM money m
    LEFT JOIN heads h ON NOT h.region_total AND h.region_code = m.region_code AND h.year = m.year
                     AND h.level = m.level AND h.school_id = m.school_id
    WHERE NOT m.region_total AND m.school_id IS NOT NULL
),
regions AS (
    SELECT coalesce(m.region_code, h.region_code) AS region_code, coalesce(m.year, h.year) AS year,
           coalesce(m.level, h.level) AS level, CAST(NULL AS VARCHAR) AS school_id,
           coalesce(m.amount, 0) AS amount, h.students
    FROM (SELECT * FROM money WHERE region_total) m
    FULL JOIN (SELECT * FROM heads WHERE region_total) h
        ON h.region_code = m.region_code AND h.year = m.year AND h.level = m.level
)
SELECT *, amount / nullif(students, 0) AS per_student FROM schools
UNION ALL
SELECT *, amount / nullif(students, 0) AS per_student FROM regions;

CREATE TEMP TABLE outcomes AS
-- ONLY_INCREASE_TOTAL
SELECT 'ONLY_INCREASE_TOTAL' AS rule_id, 'main' AS check_name,
       CASE WHEN NOT coalesce(p.only_increase_required, false) THEN 'unevaluable'
            WHEN prev.amount IS NULL THEN 'unevaluable'
            WHEN cur.amount < prev.amount THEN 'fail' ELSE 'pass' END AS outcome,
       cur.region_code, cur.year, CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
       cur.amount AS actual, prev.amount AS required,
       CASE WHEN cur.amount < prev.amount THEN prev.amount - cur.amount END AS shortfall_yuan
FROM totals cur
LEFT JOIN totals prev ON prev.region_code = cur.region_code AND prev.year = cur.year - 1
LEFT JOIN params p ON p.region_code = cur.region_code AND p.year = cur.year
UNION ALL
-- NEW_FUNDS_TILT_VOCATIONAL
SELECT 'NEW_FUNDS_TILT_VOCATIONAL', 'main',
       CASE WHEN NOT coalesce(p.new_funds_tilt_vocational, false) THEN 'unevaluable'
            WHEN prev.amount IS NULL THEN 'unevaluable'
            WHEN cur.amount - prev.amount <= 0 THEN 'unevaluable'
            WHEN (cur.vocational - prev.vocational) / (cur.amount - prev.amount)
                 < prev.vocational / nullif(prev.amount, 0) THEN 'fail' ELSE 'pass' END,
       cur.region_code, cur.year, NULL, NULL,
       100.0 * (cur.vocational - prev.vocational) / nullif(cur.amount - prev.amount, 0),
       100.0 * prev.vocational / nullif(prev.amount, 0),
       CASE WHEN cur.amount - prev.amount > 0 AND (cur.vocational - prev.vocational) / (cur.amount - prev.amount)
                 < prev.vocational / nullif(prev.amount, 0)
            THEN prev.vocational / prev.amount * (cur.amount - prev.amount) - (cur.vocational - prev.vocational) END
FROM totals cur
LEFT JOIN totals prev ON prev.region_code = cur.region_code AND prev.year = cur.year - 1
LEFT JOIN params p ON p.region_code = cur.region_code AND p.year = cur.year
UNION ALL
-- ONLY_INCREASE_PER_STUDENT
SELECT 'ONLY_INCREASE_PER_STUDENT', 'main',
       CASE WHEN NOT coalesce(p.only_increase_required, false) THEN 'unevaluable'
            WHEN coalesce(cur.students, 0) = 0 THEN 'unevaluable'
            WHEN prev.amount / nullif(prev.students, 0) IS NULL THEN 'unevaluable'
            WHEN cur.amount / cur.students < prev.amount / prev.students THEN 'fail' ELSE 'pass' END,
       cur.region_code, cur.year, cur.level, NULL,
       cur.amount / nullif(cur.students, 0), prev.amount / nullif(prev.students, 0),
       CASE WHEN cur.amount / nullif(cur.students, 0) < prev.amount / nullif(prev.students, 0)
            THEN (prev.amount / prev.students - cur.amount / cur.students) * cur.students END
FROM per_year cur
LEFT JOIN per_year prev ON prev.region_code = cur.region_code AND prev.year = cur.year - 1
                       AND prev.level IS NOT DISTINCT FROM cur.level
LEFT JOIN params p ON p.region_code = cur.region_code AND p.year = cur.year
UNION ALL
-- FLOOR_PRESCHOOL, FLOOR_SENIOR_GENERAL, FLOOR_SECONDARY_VOCATIONAL (main), FLOOR_COMPULSORY_BENCHMARK
SELECT rule_id, 'main',
       CASE WHEN floor IS NULL THEN 'unevaluable' WHEN coalesce(students, 0) = 0 THEN 'unevaluable'
            WHEN per_student < floor THEN 'fail' ELSE 'pass' END,
       region_code, year, level, school_id, per_student, floor,
       CASE WHEN per_student < floor THEN (floor - per_student) * students END
FROM (
    SELECT f.*, p.*,
           CASE f.level WHEN 'preschool' THEN 'FLOOR_PRESCHOOL' WHEN 'senior_general' THEN 'FLOOR_SENIOR_GENERAL'
                        WHEN 'secondary_vocational' THEN 'FLOOR_SECONDARY_VOCATIONAL'
                        ELSE 'FLOOR_COMPULSORY_BENCHMARK' END AS rule_id,
           CASE f.level WHEN 'preschool' THEN p.floor_preschool_public_funds_per_student
                        WHEN 'senior_general' THEN p.floor_senior_general_public_funds_per_student
                        WHEN 'secondary_vocational' THEN p.floor_secondary_vocational_per_student
                        WHEN 'primary' THEN p.benchmark_primary_public_funds_per_student
                        WHEN 'junior' THEN p.benchmark_junior_public_funds_per_student
                        WHEN 'special' THEN p.benchmark_special_public_funds_per_student END AS floor
    FROM pfps f
    LEFT JOIN params p ON p.region_code = f.region_code AND p.year = f.year
    WHERE f.level IN ('preschool', 'senior_general', 'secondary_vocational', 'primary', 'junior', 'special')
)
WHERE NOT (floor IS NULL AND school_id IS NOT NULL)
UNION ALL
-- FLOOR_SECONDARY_VOCATIONAL (not_below_general)
SELECT 'FLOOR_SECONDARY_VOCATIONAL', 'not_below_general',
       CASE WHEN coalesce(v.students, 0) = 0 THEN 'unevaluable' WHEN g.per_student IS NULL THEN 'unevaluable'
            WHEN v.per_student < g.per_student THEN 'fail' ELSE 'pass' END,
       v.region_code, v.year, v.level, NULL, v.per_student, g.per_student,
       CASE WHEN v.per_student < g.per_student THEN (g.per_student - v.per_student) * v.students END
FROM pfps v
JOIN params p ON p.region_code = v.region_code AND p.year = v.year
LEFT JOIN pfps g ON g.level = 'senior_general' AND g.school_id IS NULL
                AND g.region_code = v.region_code AND g.year = v.year
WHERE v.level = 'secondary_vocational' AND v.school_id IS NULL AND coalesce(p.vocational_not_below_general, false)
UNION ALL
-- COMPULSORY_PROVINCIAL_AVERAGE
SELECT 'COMPULSORY_PROVINCIAL_AVERAGE', 'main',
       CASE WHEN NOT coalesce(p.compulsory_reach_provincial_average, false) THEN 'unevaluable'
            WHEN coalesce(c.students, 0) = 0 THEN 'unevaluable'
            WHEN r.value IS NULL THEN 'unevaluable'
            WHEN c.amount / c.students < r.value THEN 'fail' ELSE 'pass' END,
       c.region_code, c.year, NULL, NULL, c.amount / nullif(c.students, 0), r.value,
       CASE WHEN c.amount / nullif(c.students, 0) < r.value THEN (r.value - c.amount / c.students) * c.students END
FROM (SELECT region_code, year, sum(amount) AS amount, sum(students) AS students
      FROM pfps WHERE school_id IS NULL AND level IN ('primary', 'junior') GROUP BY region_code, year) c
LEFT JOIN (
    SELECT c2.region_code, c2.year,
           arg_min(r.value, CASE WHEN r.region_code = c2.region_code THEN 0 ELSE 1 END) AS value
    FROM (SELECT DISTINCT region_code, year FROM pfps WHERE school_id IS NULL AND level IN ('primary', 'junior')) c2
    JOIN reference r ON r.year = c2.year AND r.metric = 'provincial_avg_compulsory_public_funds_per_student'
        AND (r.region_code = c2.region_code OR r.region_code = substr(c2.region_code, 1, 2) || '0000')
    GROUP BY c2.region_code, c2.year
) r ON r.region_code = c.region_code AND r.year = c.year
LEFT JOIN params p ON p.region_code = c.region_code AND p.year = c.year
UNION ALL
-- SURCHARGE_VOCATIONAL_SHARE
SELECT 'SURCHARGE_VOCATIONAL_SHARE', 'main',
       CASE WHEN min_share IS NULL OR types IS NULL THEN 'unevaluable'
            WHEN coalesce(collected, 0) = 0 THEN 'unevaluable'
            WHEN vocational / collected < min_share / 100.0 THEN 'fail' ELSE 'pass' END,
       region_code, year, NULL, NULL, 100.0 * vocational / nullif(collected, 0), min_share,
       CASE WHEN vocational / collected < min_share / 100.0 THEN min_share / 100.0 * collected - vocational END
FROM (
    SELECT j.region_code, j.year,
           any_value(p.surcharge_vocational_share_min) AS min_share, any_value(p.surcharge_types_counted) AS types,
           sum(s.collected) FILTER (WHERE list_contains(p.surcharge_types_counted, s.surcharge_type)) AS collected,
           sum(s.vocational) FILTER (WHERE list_contains(p.surcharge_types_counted, s.surcharge_type)) AS vocational
    FROM (SELECT region_code, year FROM surcharge UNION SELECT region_code, year FROM audited_region_years) j
    LEFT JOIN surcharge s ON s.region_code = j.region_code AND s.year = j.year
    LEFT JOIN params p ON p.region_code = j.region_code AND p.year = j.year
    GROUP BY j.region_code, j.year
)
UNION ALL
-- TEACHER_PAY_PARITY
SELECT 'TEACHER_PAY_PARITY', 'main',
       CASE WHEN min_ratio IS NULL THEN 'unevaluable' WHEN teacher_avg IS NULL THEN 'unevaluable'
            WHEN civil_avg * min_ratio IS NULL THEN 'unevaluable'
            WHEN teacher_avg < civil_avg * min_ratio THEN 'fail' ELSE 'pass' END,
       region_code, year, NULL, NULL, teacher_avg, civil_avg * min_ratio,
       CASE WHEN teacher_avg < civil_avg * min_ratio THEN (civil_avg * min_ratio - teacher_avg) * teachers END
FROM (
    SELECT j.region_code, j.year, any_value(p.teacher_pay_parity_min_ratio) AS min_ratio,
           sum(s.headcount) FILTER (WHERE s.pay_group = 'compulsory_teacher') AS teachers,
           sum(s.total_pay) FILTER (WHERE s.pay_group = 'compulsory_teacher')
               / nullif(sum(s.headcount) FILTER (WHERE s.pay_group = 'compulsory_teacher'), 0) AS teacher_avg,
           sum(s.total_pay) FILTER (WHERE s.pay_group = 'civil_servant')
               / nullif(sum(s.headcount) FILTER (WHERE s.pay_group = 'civil_servant'), 0) AS civil_avg
    FROM (SELECT region_code, year FROM salaries UNION SELECT region_code, year FROM audited_region_years) j
    LEFT JOIN salaries s ON s.region_code = j.region_code AND s.year = j.year
    LEFT JOIN params p ON p.region_code = j.region_code AND p.year = j.year
    GROUP BY j.region_code, j.year
)
UNION ALL
-- DATA_DUPLICATE_KEY
SELECT 'DATA_DUPLICATE_KEY', sheet, 'fail', region_code, year, level, school_id, rows, 1.0, NULL
FROM (
    SELECT 'budget' AS sheet, region_code, year, level, school_id, count(*) AS rows FROM budget
    GROUP BY region_code, year, level, ownership, fund_source, expense_class, school_id, basis HAVING count(*) > 1
    UNION ALL
    SELECT 'enrollment', region_code, year, level, school_id, count(*) FROM enrollment
    GROUP BY region_code, year, level, ownership, school_id HAVING count(*) > 1
    UNION ALL
    SELECT 'surcharge', region_code, year, NULL, NULL, count(*) FROM surcharge
    GROUP BY region_code, year, surcharge_type HAVING count(*) > 1
    UNION ALL
    SELECT 'salaries', region_code, year, NULL, NULL, count(*) FROM salaries
    GROUP BY region_code, year, pay_group HAVING count(*) > 1
    UNION ALL
    SELECT 'reference', region_code, year, NULL, NULL, count(*) FROM reference
    GROUP BY region_code, year, metric HAVING count(*) > 1
)
UNION ALL
-- DATA_MONEY_WITHOUT_STUDENTS
SELECT 'DATA_MONEY_WITHOUT_STUDENTS', 'main',
       CASE WHEN coalesce(h.students, 0) = 0 AND m.amount > 0 THEN 'fail' ELSE 'pass' END,
       m.region_code, m.year, m.level, NULL, m.amount, NULL, NULL
FROM (SELECT region_code, year, level, sum(amount) AS amount FROM budget
      WHERE fund_source = 'general_budget' AND basis = 'final' AND level <> 'other'
      GROUP BY region_code, year, level) m
LEFT JOIN (SELECT region_code, year, level, sum(students) AS students FROM enrollment
           GROUP BY region_code, year, level) h
    ON h.region_code = m.region_code AND h.year = m.year AND h.level = m.level
UNION ALL
-- DATA_YEAR_GAP
SELECT 'DATA_YEAR_GAP', sheet, 'fail', region_code, y, NULL, NULL, NULL, NULL, NULL
FROM (
    SELECT 'budget' AS sheet, region_code, min(year) AS first_year, max(year) AS last_year,
           list(DISTINCT year) AS years FROM budget GROUP BY region_code
    UNION ALL
    SELECT 'enrollment', region_code, min(year), max(year), list(DISTINCT year) FROM enrollment GROUP BY region_code
), range(first_year + 1, last_year) AS r(y)
WHERE NOT list_contains(years, y);
"""


def _parameter_table(folder: Path):
    """Per region x year, the value of every parameter in force under the region's profile
    (finaudit's own profile lookup, so that the baseline binds what finaudit binds)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from finaudit.audit import profiles

    years, regions = set(), set()
    for name in ("budget", "enrollment", "surcharge", "salaries"):
        path = folder / f"{name}.parquet"
        if path.exists():
            t = pq.read_table(path, columns=["year", "region_code"]).group_by(["year", "region_code"]).aggregate([])
            years.update(t.column("year").to_pylist())
            regions.update(t.column("region_code").to_pylist())
    rows = {"region_code": [], "year": [], **{p: [] for p in PARAMETERS}}
    for region in sorted(regions):
        pid = profiles.most_specific(region)
        for year in sorted(years):
            rows["region_code"].append(region)
            rows["year"].append(year)
            for name in PARAMETERS:
                entry = profiles.parameter(pid, name, year)
                rows[name].append(None if entry is None else entry["value"])
    types = {"BOOLEAN": pa.bool_(), "DOUBLE": pa.float64(), "VARCHAR[]": pa.list_(pa.string())}
    schema = pa.schema([("region_code", pa.string()), ("year", pa.int32())]
                       + [(p, types[t]) for p, t in PARAMETERS.items()])
    return pa.table(rows, schema=schema)


# --- child side: one measurement in a fresh process ---------------------------

def _connect(memory_limit: str | None = None, spill_dir: str | None = None):
    """The baseline's connection: with --memory-limit, the database finaudit then uses (a file
    in a temporary folder, where what does not fit goes) with the same limit."""
    import duckdb

    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    if not memory_limit:
        return duckdb.connect(config=config)
    config.update(memory_limit=memory_limit, temp_directory=spill_dir)
    return duckdb.connect(str(Path(spill_dir) / "baseline.duckdb"), config=config)


def _child(kind: str, folder: str, memory_limit: str | None = None) -> dict:
    import tempfile

    folder = Path(folder)
    spill = tempfile.mkdtemp(prefix="bench-spill-") if memory_limit else None
    t0 = time.perf_counter()
    if kind == "duckdb":
        import duckdb  # noqa: F401
        import pyarrow  # noqa: F401

        params = _parameter_table(folder)        # setup: a few hundred values, not measured

        def run():
            con = _connect(memory_limit, spill)
            for name in SHEETS:
                path = folder / f"{name}.parquet"
                if path.exists():
                    con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet(?)", [str(path)])
            con.register("params_in", params)
            con.execute("CREATE TABLE params AS SELECT * FROM params_in")
            con.execute(BASELINE_SQL)
            table = con.execute("SELECT * FROM outcomes").to_arrow_table()
            counts = con.execute("SELECT rule_id, outcome, count(*) FROM outcomes GROUP BY ALL").fetchall()
            rows = {n: con.execute(f"SELECT count(*) FROM {n}").fetchall()[0][0]
                    for n in SHEETS if (folder / f"{n}.parquet").exists()}
            con.close()
            by_rule: dict[str, dict] = {}
            for rule_id, outcome, n in counts:
                by_rule.setdefault(rule_id, {})[outcome] = n
            return {"rows": rows, "outcome_rows": table.num_rows, "by_rule": by_rule,
                    "findings": sum(v for r in by_rule.values() for k, v in r.items() if k != "pass")}
    elif kind == "finaudit":
        import duckdb  # noqa: F401  imported lazily by finaudit.audit.engine
        import pandas  # noqa: F401
        import pandera.pandas  # noqa: F401  imported lazily by finaudit.intake.validate
        import pyarrow.parquet  # noqa: F401  (pandas.read_parquet)

        # pandera imports its checks backend at the first validation, and hypothesis with
        # it when installed, as in the test environment: 0.17 s of imports a user's
        # `pip install .` does not have. Done here, before the clock, like the rest.
        import pandera.backends.pandas.builtin_checks  # noqa: F401

        import finaudit
        import finaudit.audit.engine  # noqa: F401
        import finaudit.intake.native  # noqa: F401
        import finaudit.intake.validate  # noqa: F401

        def run():
            result = finaudit.check(folder, memory_limit=memory_limit)
            by_rule: dict[str, dict] = {}
            for f in result.findings:
                entry = by_rule.setdefault(f.rule_id, {})
                entry[f.severity] = entry.get(f.severity, 0) + 1
            passes = int((result.evaluations["outcome"] == "pass").sum())
            sheets = result.inputs[0].sheets
            return {"rows": {s["name"]: s["rows_read"] for s in sheets},
                    "rejected": {s["name"]: s["rows_rejected"] for s in sheets},
                    "evaluations": len(result.evaluations), "passes": passes,
                    "evidence_items": sum(len(f.evidence) for f in result.findings),
                    "evidence_by_severity": {sev: sum(len(f.evidence) for f in result.findings if f.severity == sev)
                                             for sev in ("violation", "warning", "info")},
                    "findings_by_severity": {sev: sum(1 for f in result.findings if f.severity == sev)
                                             for sev in ("violation", "warning", "info")},
                    "by_rule": by_rule, "findings": len(result.findings)}
    else:
        raise SystemExit(f"unknown measurement {kind!r}")
    import_seconds = time.perf_counter() - t0
    rss_after_import = harness.peak_rss_mib()
    start, cpu_start = time.perf_counter(), time.process_time()
    out = run()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    if spill:
        import shutil
        shutil.rmtree(spill, ignore_errors=True)
    out.update({"kind": kind, "seconds": seconds, "cpu_seconds": cpu_seconds, "import_seconds": import_seconds,
                "peak_rss_mib": harness.peak_rss_mib(), "rss_after_import_mib": rss_after_import})
    return out


# --- parent side --------------------------------------------------------------

def benchmark(rows: int, repeat: int, memory_limit: str | None = None) -> dict:
    t0 = time.perf_counter()
    folder = gen.parquet_ledger_path(rows)
    gen_seconds = time.perf_counter() - t0
    runs: dict[str, list[dict]] = {kind: [] for kind in LABELS}
    # Round-robin, so that a slow spell of the machine hits every measurement alike.
    for _ in range(repeat):
        for kind in LABELS:
            extra = ("--memory-limit", memory_limit) if memory_limit else ()
            runs[kind].append(harness.run_child(__file__, kind, folder, *extra))
    best = {kind: min(r["seconds"] for r in rs) for kind, rs in runs.items()}
    best_cpu = {kind: min(r["cpu_seconds"] for r in rs) for kind, rs in runs.items()}
    files = {p.name: p.stat().st_size for p in sorted(folder.glob("*.parquet"))}
    return {
        "rows": rows, "repeat": repeat, "memory_limit": memory_limit, "path": str(folder), "file_bytes": files,
        "generate_or_cache_seconds": gen_seconds,
        "expected": {"budget": rows, "enrollment": gen.parquet_expected_enrollment_rows(rows)},
        "runs": runs, "best": best, "best_cpu": best_cpu,
        "peak_rss_mib": {kind: max(r["peak_rss_mib"] for r in rs) for kind, rs in runs.items()},
        "rss_after_import_mib": {kind: max(r["rss_after_import_mib"] for r in rs) for kind, rs in runs.items()},
        "ratio": best["finaudit"] / best["duckdb"], "ratio_cpu": best_cpu["finaudit"] / best_cpu["duckdb"],
        "python": platform.python_version(), 
        "versions": harness.versions("finaudit", "duckdb", "pandas", "pandera", "pyarrow", "numpy"),
        "commit": harness.commit(),
        "source_digest": harness.source_digest(),
    }


def _check(result: dict) -> list[str]:
    """Every row read and none rejected: the timing of an audit that lost rows means nothing."""
    problems = []
    for kind, rs in result["runs"].items():
        for r in rs:
            for sheet, expected in result["expected"].items():
                got = r["rows"].get(sheet)
                if got != expected:
                    problems.append(f"{kind}: {sheet} has {got} rows, expected {expected}")
            for sheet, n in r.get("rejected", {}).items():
                if n:
                    problems.append(f"{kind}: {n} {sheet} rows rejected")
            schema = [k for k in r["by_rule"] if k.startswith("SCHEMA_")]
            if schema:
                problems.append(f"{kind}: schema findings {', '.join(sorted(schema))}")
    return sorted(set(problems))


def _mismatches(result: dict) -> list[str]:
    """Rules where finaudit's findings differ from the baseline's fail + unevaluable outcomes."""
    base = result["runs"]["duckdb"][-1]["by_rule"]
    fin = result["runs"]["finaudit"][-1]["by_rule"]
    out = []
    for rule in sorted(set(base) | set(fin)):
        b = sum(n for k, n in base.get(rule, {}).items() if k != "pass")
        f = sum(fin.get(rule, {}).values())
        if b != f:
            out.append(f"{rule}: baseline {b}, finaudit {f}")
    return out


def report(result: dict) -> str:
    exp = result["expected"]
    size = sum(result["file_bytes"].values())
    lines = [
        f"finaudit check benchmark: {exp['budget']:,} budget rows + {exp['enrollment']:,} enrollment rows (Parquet)",
        f"folder: {result['path']} ({size / 1e6:.1f} MB in {len(result['file_bytes'])} files)",
        f"python {result['python']}; " + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + f"; commit {result['commit']}; finaudit/rules/schemas digest {result['source_digest']}",
        f"repeat: {result['repeat']} (each run in a fresh process; best time, largest peak RSS)"
        + (f"; both with DuckDB memory_limit {result['memory_limit']}, database file in a temporary folder"
           if result.get("memory_limit")
           else ""),
        "",
        f"{'measurement':<40} {'best s':>7} {'CPU s':>7}  {'runs s':<24} {'peak RSS MiB':>12} {'after imports':>14}",
    ]
    for kind, label in LABELS.items():
        times = " ".join(f"{r['seconds']:.3f}" for r in result["runs"][kind])
        lines.append(f"{label:<40} {result['best'][kind]:>7.3f} {result['best_cpu'][kind]:>7.3f}  {times:<24} "
                     f"{result['peak_rss_mib'][kind]:>12.1f} {result['rss_after_import_mib'][kind]:>14.1f}")
    verdict = "met" if result["ratio"] <= TARGET_RATIO else "NOT MET"
    base, fin = result["runs"]["duckdb"][-1], result["runs"]["finaudit"][-1]
    lines += [
        "",
        f"ratio finaudit/duckdb: {result['ratio']:.2f} (target <= {TARGET_RATIO}: {verdict})",
        f"  same, CPU time: {result['ratio_cpu']:.2f}",
        "rows_read: " + ", ".join(f"{s} {fin['rows'].get(s)} (expected {n})" for s, n in exp.items()),
        f"findings: finaudit {fin['findings']:,} ({fin['evidence_items']:,} evidence items, "
        f"{fin['evaluations']:,} evaluations, {fin['passes']:,} passes); "
        f"baseline fail+unevaluable outcomes {base['findings']:,} of {base['outcome_rows']:,} outcome rows",
        "  by severity: " + ", ".join(f"{sev} {n:,} ({fin['evidence_by_severity'][sev]:,} evidence items)"
                                      for sev, n in fin["findings_by_severity"].items()),
    ]
    mismatches = _mismatches(result)
    lines.append("findings per rule, finaudit vs baseline: " + ("equal" if not mismatches else
                                                                "DIFFERENT: " + "; ".join(mismatches)))
    return "\n".join(lines)


# --- profile mode ---------------------------------------------------------------

def profile(rows: int, top: int, out: Path | None, explain: int, with_cprofile: bool) -> None:
    """Where finaudit.check spends its time: phases, each rule's query (DuckDB work, and the
    fetch into Python), optionally EXPLAIN ANALYZE of the slowest and cProfile of a whole check."""
    import cProfile
    import pstats

    import duckdb  # noqa: F401
    import pandera.pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import finaudit
    from finaudit.audit import engine

    folder = gen.parquet_ledger_path(rows)
    phases: dict[str, float] = {}
    state = {"preparing": False}
    wrapped = {}

    def timed(name, fn):
        def inner(*args, **kwargs):
            # _run is also called by prepare_rules (on empty tables): counted apart.
            key = "_run (prepare)" if name == "run_rule" and state["preparing"] else name
            state["preparing"] |= name == "prepare_rules"
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                phases[key] = phases.get(key, 0.0) + time.perf_counter() - start
                if name == "prepare_rules":
                    state["preparing"] = False
        return inner

    # engine.py calls these through its own names, so wrapping them there times them
    for name in ("prepare_rules", "_load", "run_rule", "to_finding"):
        wrapped[name] = getattr(engine, name)
        setattr(engine, name, timed(name, wrapped[name]))
    start = time.perf_counter()
    try:
        result = finaudit.check(folder)
    finally:
        for name, fn in wrapped.items():
            setattr(engine, name, fn)
    total = time.perf_counter() - start
    print(f"finaudit.check({folder}): {total:.3f} s, {len(result.findings):,} findings, "
          f"{len(result.evaluations):,} evaluations\n")
    print("phases (wall-clock s):")
    for name, value in (("prepare_rules (rules on empty tables)", phases["prepare_rules"]),
                        ("_load (read + normalise + validate + into DuckDB)", phases["_load"]),
                        ("rules: _run (execute + Arrow)", phases["run_rule"]),
                        ("findings: _finding (evidence, messages)", phases["to_finding"]),
                        ("the rest: tables, views, evaluations, dedupe, sort",
                         total - phases["prepare_rules"] - phases["_load"] - phases["run_rule"] - phases["to_finding"])):
        print(f"  {value:8.3f}  {name}")
    print()

    _rule_breakdown(folder, result, explain)
    if not with_cprofile:
        return

    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    finaudit.check(folder)
    prof.disable()
    print(f"\nfinaudit.check under cProfile (second check in this process): {time.perf_counter() - start:.3f} s")
    if out:
        prof.dump_stats(str(out))
        print(f"profile written to {out}")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def _rule_breakdown(folder: Path, result, explain: int) -> None:
    """Each rule and profile group run three ways on a connection set up as engine.check does."""
    from finaudit.audit import engine, queries
    from finaudit.intake import ledger as ledger_mod
    from finaudit.audit.catalogue import load_rules

    start = time.perf_counter()
    ledger = ledger_mod.load(folder)
    load_s = time.perf_counter() - start
    con = engine.connect()
    engine.create_tables(con)
    start = time.perf_counter()
    for name, sheet in ledger.sheets.items():
        t = time.perf_counter()
        con.register(f"{name}_in", sheet.frame)
        con.execute(f'INSERT INTO "{name}" BY NAME SELECT * FROM "{name}_in"')
        con.unregister(f"{name}_in")
        print(f"  INSERT {name:<10} {len(sheet.frame):>9,} rows {time.perf_counter() - t:7.3f} s")
    engine.create_views(con)
    print(f"ledger.load {load_s:.3f} s; tables {time.perf_counter() - start:.3f} s\n")

    rules = load_rules()
    engine.prepare_rules(rules)
    years = result.years
    regions = sorted(result.region_profiles)
    maps = engine.parameter_maps(result.region_profiles, years)
    rows = []
    pid = "all"
    for rule in rules.values():
        if rule.stage != "sql":
            continue
        params = {"regions": regions, "years": years, **{p: maps[p] for p in rule.parameters}}
        params = {k: v for k, v in params.items() if k in rule.bound}
        sql = rule.sql.strip().rstrip(";")
        lists = [c for c in queries._RESULT_COLUMNS[rule.id] if c.endswith("_rows")]
        evidence_len = " + ".join(f"coalesce(len({c}), 0)" for c in lists) or "0"
        t = time.perf_counter()
        n_rows, n_evidence = con.execute(
            f"SELECT count(*), sum({evidence_len}) FILTER (WHERE outcome <> 'pass') FROM (\n{sql}\n)",
            params).fetchall()[0]
        duck_s = time.perf_counter() - t
        t = time.perf_counter()
        exclude = f"EXCLUDE ({', '.join(lists)})" if lists else ""
        con.execute(f"SELECT count(*) FROM (SELECT * {exclude} FROM (\n{sql}\n))", params).fetchall()
        # DuckDB prunes the unused row lists.
        no_evidence_s = time.perf_counter() - t
        t = time.perf_counter()
        engine.run_rule(con, rule, params)
        run_s = time.perf_counter() - t
        rows.append((rule.id, pid, len(regions), n_rows, n_evidence or 0, duck_s, no_evidence_s, run_s, sql, params))
    print(f"{'rule':<30} {'profile':<9} {'rows':>7} {'evidence':>10} {'count s':>8} {'no-evid s':>9} "
          f"{'_run s':>7}")
    for rule_id, pid, n_regions, n_rows, n_evidence, duck_s, no_ev_s, run_s, _, _ in rows:
        print(f"{rule_id:<30} {pid:<9} {n_rows:>7,} {n_evidence:>10,} {duck_s:>8.3f} {no_ev_s:>9.3f} {run_s:>7.3f}")
    print(f"{'total':<30} {'':<9} {sum(r[3] for r in rows):>7,} {sum(r[4] for r in rows):>10,} "
          f"{sum(r[5] for r in rows):>8.3f} {sum(r[6] for r in rows):>9.3f} {sum(r[7] for r in rows):>7.3f}")
    print("  count s: DuckDB computes the rule with its evidence lists (count only, nothing fetched);\n"
          "  no-evid s: the same with the evidence column excluded (DuckDB still builds the lists inside\n"
          "  shared views and CTEs it cannot prune); _run s: engine.run_rule as check() calls it (wrapped\n"
          "  query, fetchall, one dict per row). Operator times of EXPLAIN ANALYZE add up all threads.")
    for rule_id, pid, *_, sql, params in sorted(rows, key=lambda r: -r[5])[:explain]:
        lists = [c for c in queries._RESULT_COLUMNS[rule_id] if c.endswith("_rows")]
        evidence_len = " + ".join(f"coalesce(len({c}), 0)" for c in lists) or "0"
        plan = con.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT count(*), sum({evidence_len}) "
                           f"FROM (\n{sql}\n)", params).fetchall()
        print(f"\nEXPLAIN ANALYZE {rule_id} ({pid}), operators by own time:")
        print(_plan_summary(json.loads(plan[0][1])))
    con.close()


def _plan_summary(plan: dict, top: int = 8) -> str:
    """The `top` operators of a JSON EXPLAIN ANALYZE plan by their own time, one line each."""
    ops = []

    def walk(node):
        info = node.get("extra_info") or {}
        what = "; ".join(f"{k}: {v if isinstance(v, str) else ', '.join(map(str, v))}"
                         for k, v in info.items() if k in ("Groups", "Aggregates", "Join Type", "Conditions",
                                                            "Table", "CTE Name", "Projections"))
        ops.append((node.get("timing") or 0.0, node.get("type", "?"), node.get("intermediate_rows", 0), what))
        for child in node.get("children", []):
            walk(child)

    for node in plan.get("operator", []):
        walk(node)
    total = sum(o[0] for o in ops)
    lines = [f"  operators total {total:.3f} s"]
    for timing, kind, rows_out, what in sorted(ops, key=lambda o: -o[0])[:top]:
        lines.append(f"  {timing:7.3f} s {kind:<22} {rows_out:>10,} rows  {what[:150]}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"budget rows (default {DEFAULT_ROWS})")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, best kept (default 3)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"CI mode: {SMOKE_ROWS:,} rows, 1 run; checks rows only, never time")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--generate-only", action="store_true", help="generate (or find) the ledger, print its path")
    parser.add_argument("--profile", action="store_true",
                        help="where finaudit.check spends its time (phases, per-rule queries) instead of benchmarking")
    parser.add_argument("--cprofile", action="store_true", help="with --profile: also cProfile a whole check")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--profile-out", type=Path, help="with --profile: dump pstats here")
    parser.add_argument("--explain", type=int, default=0, metavar="K",
                        help="with --profile: EXPLAIN ANALYZE the K slowest rule queries")
    parser.add_argument("--memory-limit", metavar="SIZE",
                        help="DuckDB memory_limit (e.g. 4GB) for both measurements, each spilling to a temporary "
                             "folder: issue 7's national ledger under 6 GiB")
    parser.add_argument("--child", choices=sorted(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child, args.path, args.memory_limit), ensure_ascii=False))
        return 0
    if args.smoke:
        args.rows, args.repeat = SMOKE_ROWS, 1
    if args.repeat < 1 or args.rows < 1:
        parser.error("--rows and --repeat must be >= 1")
    if args.generate_only:
        print(gen.parquet_ledger_path(args.rows))
        return 0
    if args.profile:
        profile(args.rows, args.profile_top, args.profile_out, args.explain, args.cprofile)
        return 0

    result = benchmark(args.rows, args.repeat, args.memory_limit)
    return harness.finish(result, report(result), _check(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
