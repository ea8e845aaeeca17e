"""Benchmark: finaudit.intake.ledger.load against the fastest plain reader of the same workbook.

    python tests/bench/bench_load.py --rows 100000 --repeat 3
    python tests/bench/bench_load.py --smoke                 # CI: 5,000 rows, 1 run
    python tests/bench/bench_load.py --rows 100000 --profile # cProfile of load()
    python tests/bench/bench_load.py --rows 1000000 --check --repeat 1   # issue 7 target 1

The workbook comes from gen.py (cached under tests/bench/_data/). Every run of
every measurement happens in a fresh child process, so each child's peak RSS
(getrusage RUSAGE_SELF, read by the child at its end) belongs to that measurement
alone. Modules are imported before the clock starts, including those finaudit
imports lazily (openpyxl, fastexcel, pandera): start-up cost is not load cost.
Each run is thus the first load in its process, as in `finaudit validate`.

Measured:
- fastexcel: read_excel(path).load_sheet(name, header_row=1).to_arrow() for both sheets;
- python-calamine: CalamineWorkbook.from_path(path).get_sheet_by_name(name).to_python()
  for both sheets;
- finaudit: finaudit.intake.ledger.load(path), end to end (read, normalise, validate);
  with --check instead finaudit.check(path): read, validate and run every rule (the
  audit a user runs), measured against the same parse-only baseline (target 1.5 too).
The baseline is the faster plain reader; ratio = finaudit / baseline (target <= 1.5).
The best wall-clock time of --repeat runs is kept for each (the ratio uses it); the
best CPU time of the process over the measured call is shown too (less sensitive to
a busy virtual machine), and so is a second finaudit load in the same process
(without first-use costs). The peak RSS shown is the largest seen over the runs,
taken before the second load.

Exit status 1 when the loader did not account for every row (budget rows_read
must equal N, enrollment rows_read ceil(N/3)) or reported any finding; nothing is
asserted about time.
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

TARGET_RATIO = 1.5
SMOKE_ROWS = 5_000
SHEETS = (gen.BUDGET_SHEET, gen.ENROLLMENT_SHEET)
LABELS = {
    "fastexcel": "fastexcel load_sheet().to_arrow()",
    "calamine": "python-calamine to_python()",
    "finaudit": "finaudit.intake.ledger.load()",
    "check": "finaudit.check() end to end",
    "check_in_process": "  same, parse not in a child process",
}
BASELINES = ("fastexcel", "calamine")


# --- child side: one measurement in a fresh process ---------------------------

def _child(kind: str, path: str) -> dict:
    t0 = time.perf_counter()
    if kind == "fastexcel":
        import fastexcel
        import pyarrow  # noqa: F401  (to_arrow's result type)

        def run():
            reader = fastexcel.read_excel(path)
            tables = [reader.load_sheet(name, header_row=gen.HEADER_ROW).to_arrow() for name in SHEETS]
            return {name: t.num_rows for name, t in zip(SHEETS, tables)}, None
    elif kind == "calamine":
        from python_calamine import CalamineWorkbook

        def run():
            book = CalamineWorkbook.from_path(path)
            rows = [book.get_sheet_by_name(name).to_python() for name in SHEETS]
            # Minus the title and header rows.
            return {name: len(r) - gen.HEADER_ROW - 1 for name, r in zip(SHEETS, rows)}, None
    elif kind == "finaudit":
        import fastexcel  # noqa: F401  imported lazily by finaudit.intake.readers
        import openpyxl  # noqa: F401
        import pandera.pandas  # noqa: F401  imported lazily by finaudit.intake.validate

        import finaudit.intake.ledger

        def run():
            ledger = finaudit.intake.ledger.load(path)
            rows = {s.source: s.rows_read for s in ledger.sheets.values()}
            return rows, [f.rule_id for f in ledger.findings]
    elif kind in ("check", "check_in_process"):
        import os

        if kind == "check_in_process":      # what the parse child costs: the same run without it
            os.environ["FINAUDIT_PARSE_IN_PROCESS"] = "1"
        import duckdb  # noqa: F401  imported lazily by finaudit.audit.engine
        import fastexcel  # noqa: F401
        import openpyxl  # noqa: F401
        import pandera.pandas  # noqa: F401

        import finaudit

        def run():
            result = finaudit.check(path)
            rows = {s["source"]: s["rows_read"] for s in result.inputs[0].sheets}
            # Rule findings are the audit's output; only rejected rows would void the timing.
            return rows, [f.rule_id for f in result.findings if f.rule_id.startswith("SCHEMA_")]
    else:
        raise SystemExit(f"unknown measurement {kind!r}")
    import_seconds = time.perf_counter() - t0
    rss_after_import = harness.peak_rss_mib()
    start, cpu_start = time.perf_counter(), _cpu()
    rows, findings = run()
    seconds, cpu_seconds = time.perf_counter() - start, _cpu() - cpu_start
    out = {"kind": kind, "seconds": seconds, "cpu_seconds": cpu_seconds, "import_seconds": import_seconds,
           "peak_rss_mib": harness.peak_rss_mib(), "rss_after_import_mib": rss_after_import,
           "rows": rows, "findings": findings}
    if kind in ("finaudit", "check", "check_in_process"):
        # A second load in the same process: without the one-time costs of the first
        # (schema YAML, pandera backend registration and the imports it triggers).
        start = time.perf_counter()
        run()
        out["second_call_seconds"] = time.perf_counter() - start
    return out


def _cpu() -> float:
    """This process's CPU time and its parse children's (finaudit/isolation.py)."""
    try:
        from finaudit.intake.isolation import children_cpu_seconds
    except ImportError:
        return time.process_time()
    return time.process_time() + children_cpu_seconds()


# --- parent side --------------------------------------------------------------

def benchmark(rows: int, repeat: int, check: bool = False) -> dict:
    t0 = time.perf_counter()
    path = gen.ledger_path(rows)
    gen_seconds = time.perf_counter() - t0
    subject = "check" if check else "finaudit"
    extra = ("check_in_process",) if check else ()
    runs: dict[str, list[dict]] = {kind: [] for kind in (*BASELINES, subject, *extra)}
    # Round-robin, so that a slow spell of the machine hits every measurement alike.
    for _ in range(repeat):
        for kind in runs:
            runs[kind].append(harness.run_child(__file__, kind, path))
    best = {kind: min(r["seconds"] for r in rs) for kind, rs in runs.items()}
    best_cpu = {kind: min(r["cpu_seconds"] for r in rs) for kind, rs in runs.items()}
    baseline = min(BASELINES, key=best.get)
    second = min(r["second_call_seconds"] for r in runs[subject])
    return {
        "subject": subject, "rows": rows, "repeat": repeat, "path": str(path), "file_bytes": path.stat().st_size,
        "generate_or_cache_seconds": gen_seconds,
        "expected": {gen.BUDGET_SHEET: rows, gen.ENROLLMENT_SHEET: gen.expected_enrollment_rows(rows)},
        "runs": runs, "best": best, "best_cpu": best_cpu, "finaudit_second_call_best": second,
        "peak_rss_mib": {kind: max(r["peak_rss_mib"] for r in rs) for kind, rs in runs.items()},
        "rss_after_import_mib": {kind: max(r["rss_after_import_mib"] for r in rs) for kind, rs in runs.items()},
        "baseline": baseline, "ratio": best[subject] / best[baseline],
        "ratio_cpu": best_cpu[subject] / best_cpu[baseline],
        "ratio_second_call": second / best[baseline],
        "child_cost": best[subject] / best["check_in_process"] if extra else None,
        "python": platform.python_version(), 
        "versions": harness.versions("finaudit", "fastexcel", "python-calamine", "pandas", "pandera", "pyarrow",
                                     "numpy", "openpyxl", "xlsxwriter"),
    }


def _check(result: dict) -> list[str]:
    """Every row read, nothing rejected: the timing of a load that lost rows means nothing."""
    problems = []
    for kind, rs in result["runs"].items():
        for r in rs:
            for sheet, expected in result["expected"].items():
                got = r["rows"].get(sheet)
                if got != expected:
                    problems.append(f"{kind}: sheet {sheet} read {got} rows, expected {expected}")
            if r["findings"]:
                problems.append(f"{kind}: {len(r['findings'])} findings, expected none "
                                f"(first: {', '.join(sorted(set(r['findings']))[:5])})")
    return sorted(set(problems))


def report(result: dict) -> str:
    exp = result["expected"]
    lines = [
        f"finaudit load benchmark: {exp[gen.BUDGET_SHEET]:,} budget rows + {exp[gen.ENROLLMENT_SHEET]:,} "
        f"enrollment rows",
        f"file: {result['path']} ({result['file_bytes'] / 1e6:.1f} MB)",
        f"python {result['python']}; " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()),
        f"repeat: {result['repeat']} (each run in a fresh process; best time, largest peak RSS)",
        "",
        f"{'measurement':<36} {'best s':>7} {'CPU s':>7}  {'runs s':<24} {'peak RSS MiB':>12} "
        f"{'after imports':>14}",
    ]
    subject = result.get("subject", "finaudit")
    for kind in result["runs"]:
        label = LABELS[kind]
        times = " ".join(f"{r['seconds']:.3f}" for r in result["runs"][kind])
        lines.append(f"{label:<36} {result['best'][kind]:>7.3f} {result['best_cpu'][kind]:>7.3f}  {times:<24} "
                     f"{result['peak_rss_mib'][kind]:>12.1f} {result['rss_after_import_mib'][kind]:>14.1f}")
    verdict = "met" if result["ratio"] <= TARGET_RATIO else "NOT MET"
    lines += [
        f"{'  (2nd load in the same process)':<36} {result['finaudit_second_call_best']:>7.3f}",
        "",
        f"baseline: {LABELS[result['baseline']]} ({result['best'][result['baseline']]:.3f} s)",
        f"ratio finaudit/baseline: {result['ratio']:.2f} (target <= {TARGET_RATIO}: {verdict})",
        f"  same, CPU time: {result['ratio_cpu']:.2f}; 2nd load in process: {result['ratio_second_call']:.2f}",
    ]
    if result.get("child_cost"):
        lines.append(f"parse in a child process / in process: {result['child_cost']:.2f} "
                     f"({result['best']['check_in_process']:.3f} s without the child)")
    fin = result["runs"][subject][-1]
    lines.append("rows_read: " + ", ".join(f"{s} {fin['rows'].get(s)} (expected {n})" for s, n in exp.items())
                 + f"; findings: {len(fin['findings'])}")
    return "\n".join(lines)


def profile(rows: int, top: int, out: Path | None) -> None:
    """cProfile of one finaudit.intake.ledger.load in this process (imports done first)."""
    import cProfile
    import pstats

    import fastexcel  # noqa: F401
    import openpyxl  # noqa: F401
    import pandera.pandas  # noqa: F401

    import finaudit.intake.ledger

    path = gen.ledger_path(rows)
    prof = cProfile.Profile()
    start = time.perf_counter()
    prof.enable()
    finaudit.intake.ledger.load(path)
    prof.disable()
    print(f"finaudit.intake.ledger.load({path}) under cProfile: {time.perf_counter() - start:.3f} s")
    if out:
        prof.dump_stats(str(out))
        print(f"profile written to {out}")
    stats = pstats.Stats(prof).strip_dirs()
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="budget rows (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, best kept (default 3)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"CI mode: {SMOKE_ROWS:,} rows, 1 run; checks rows only, never time")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--check", action="store_true",
                        help="measure finaudit.check (read, validate, every rule) instead of ledger.load")
    parser.add_argument("--profile", action="store_true", help="cProfile one load instead of benchmarking")
    parser.add_argument("--profile-top", type=int, default=30)
    parser.add_argument("--profile-out", type=Path, help="with --profile: dump pstats here")
    parser.add_argument("--child", choices=sorted(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child, args.path), ensure_ascii=False))
        return 0
    if args.smoke:
        args.rows, args.repeat = SMOKE_ROWS, 1
    if args.repeat < 1 or args.rows < 1:
        parser.error("--rows and --repeat must be >= 1")
    if args.profile:
        profile(args.rows, args.profile_top, args.profile_out)
        return 0

    result = benchmark(args.rows, args.repeat, args.check)
    return harness.finish(result, report(result), _check(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
