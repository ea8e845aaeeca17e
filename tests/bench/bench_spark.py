"""Benchmark: the same audit on DuckDB and on Apache Spark in local mode, in one run (issue 18).

    python tests/bench/bench_spark.py --rows 1000000          # the 1M-row Parquet ledger
    python tests/bench/bench_spark.py --rows 20000 --master local[2]
    FINAUDIT_SPARK_DRIVER_MEMORY=8g python tests/bench/bench_spark.py --rows 25000000 --master local[2] --memory-limit 4GB

The ledger is gen.py's Parquet folder (cached under tests/bench/_data/). Both runs are
finaudit.check end to end in this process: DuckDB first, then Spark on a session started
before the clock (its start is timed apart). On Spark the Parquet ledger is read and
validated by Spark itself (intake/spark_native.py); each run's time is split into reading
the ledger (read and validated) and the rules (stage callbacks of check_many). The findings
are compared field by field (to_dict of each, by fingerprint), and the sheets' row counts
and control totals; exit status 1 when they differ. Printed: seconds of each, the ratio
spark / duckdb, and the Spark session's start.
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--memory-limit", default=None,
                        help="DuckDB's memory limit for its run (e.g. 4GB): at 25M rows its own 11 GiB and "
                             "Spark's heap would not both fit in this machine's memory")
    args = parser.parse_args(argv)

    import finaudit
    from finaudit.audit.spark import session

    path = gen.parquet_ledger_path(args.rows)
    start = time.perf_counter()
    spark = session(args.master)
    started = time.perf_counter() - start

    duck, duck_s, duck_read = _timed(finaudit, path, memory_limit=args.memory_limit)
    sparked, spark_s, spark_read = _timed(finaudit, path, engine="spark", spark=spark)

    a = {f.fingerprint: f.to_dict() for f in duck.findings}
    b = {f.fingerprint: f.to_dict() for f in sparked.findings}
    differ = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))
    report = {
        "rows": args.rows, "master": args.master, "duckdb_memory_limit": args.memory_limit,
        "spark_driver_memory": spark.sparkContext.getConf().get("spark.driver.memory"), "machine": platform.machine(), "python": platform.python_version(),
        "spark_session_start_s": round(started, 2),
        "duckdb_s": round(duck_s, 2), "spark_s": round(spark_s, 2), "ratio": round(spark_s / duck_s, 1),
        "duckdb_read_s": round(duck_read, 2), "spark_read_s": round(spark_read, 2),
        "findings": len(a), "findings_differing": len(differ),
        "sheets_same": [s for i in duck.inputs for s in i.sheets] == [s for i in sparked.inputs for s in i.sheets],
    }
    print(json.dumps(report, indent=2))
    for k in differ[:5]:
        print("differs:", k, a.get(k, {}).get("rule_id"), b.get(k, {}).get("rule_id"), file=sys.stderr)
    spark.stop()
    return 1 if differ or not report["sheets_same"] else 0


def _timed(finaudit, path, **options):
    """(result, seconds in all, seconds reading and validating the ledger)."""
    marks = {}
    start = time.perf_counter()
    result = finaudit.check_many([path], stage=lambda name: marks.setdefault(name, time.perf_counter()), **options)
    end = time.perf_counter()
    if not result.audited or result.failed:
        raise SystemExit(f"not audited: {[i.error for i in result.failed]}")
    return result, end - start, marks.get("rules", end) - marks.get("read", start)


if __name__ == "__main__":
    sys.exit(main())
