"""Benchmark: a city's yearly run, N county workbooks audited in one batch, against running
`finaudit check` on them one at a time.

    python tests/bench/bench_batch.py --workbooks 100 --rows 10000
    python tests/bench/bench_batch.py --smoke                 # CI: 4 workbooks x 600 rows
    python tests/bench/bench_batch.py --workbooks 100 --rows 10000 --generate-only

The workbooks come from gen.py's workbook writer, one county each (gen.write_ledger with
its region list narrowed to that county): 教育经费 with N rows of school-level final
accounts over 2014-2023 under a title row, 在校生 beside it; no surcharge, salaries or
reference sheet (those rules give not-evaluable notes). County codes are synthetic Hebei
codes (13xxxx, so the hebei profile applies), names 合成县001... All figures SYNTHETIC
(seed per county). Cached under tests/bench/_data/batch_<N>x<rows>_s<seed>_v<version>/.

Measured, each in a fresh child process (modules imported before the clock starts):
- batch_j1: finaudit.check_many([folder], jobs=1) and the findings JSON written: one
  process audits every workbook in turn;
- batch_j2: the same with jobs=2 (worker processes, spawned, on the 2 cores); the
  workers' start-up is inside the clock;
- single: `finaudit check WORKBOOK --json out.json --quiet` run as a command, once per
  workbook, one after the other, as a cron loop over the files would (Python start-up
  and imports included: that is what one-at-a-time costs).
Wall-clock time of each, and CPU time (user + system, workers included: what the run
costs however busy the machine is; the load average before and after each is shown, since
other jobs on the machine take cores from the workers); peak memory of each run's whole process tree (the sum of VmRSS
of the child and its descendants, sampled every 20 ms from /proc; a worker pool's memory
is the parent's plus its workers'), and of the largest single run. Per workbook: batch
wall / N, and each single run's time (median, min, max). Ratios: batch_j1 / sum of
singles; batch_j2 / (sum of singles / cores) - below 1 means the batch beats running
the singles perfectly spread over every core.

The findings must agree: every mode gives the same findings (fingerprint, severity,
shortfall) for every workbook; exit status 1 otherwise, or when a workbook was not
audited. Nothing is asserted about time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import gen  # noqa: E402  (tests/bench/gen.py)
import harness  # noqa: E402  (tests/bench/harness.py)

BATCH_GENERATOR_VERSION = 1
DEFAULT_WORKBOOKS, DEFAULT_ROWS = 100, 10_000
SMOKE_WORKBOOKS, SMOKE_ROWS = 4, 600
LABELS = {"batch_j1": "check_many(folder, jobs=1)", "batch_j2": "check_many(folder, jobs=2)",
          "single": "finaudit check WORKBOOK, one process per workbook"}


# --- the workbooks -------------------------------------------------------------------

def county(i: int) -> tuple[str, str]:
    """A synthetic Hebei county code (never a province code) and name, i = 0, 1, ..."""
    return f"13{i // 40 + 71:02d}{i % 40 + 21:02d}", f"合成县{i + 1:03d}"


def write_county(path: Path, rows: int, i: int, seed: int) -> None:
    """One county's workbook: gen.write_ledger with its region list narrowed to the county."""
    regions = gen.REGIONS
    gen.REGIONS = [county(i)]
    try:
        gen.write_ledger(path, rows, seed + i)
    finally:
        gen.REGIONS = regions


def workbooks(n: int, rows: int, seed: int = gen.SEED) -> Path:
    """The cached folder of n county workbooks, generated on first use."""
    folder = gen.DATA_DIR / f"batch_{n}x{rows}_s{seed}_v{BATCH_GENERATOR_VERSION}"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        path = folder / f"county_{i + 1:03d}.xlsx"
        if not path.exists():
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xlsx")   # never half a file under the name
            try:
                write_county(tmp, rows, i, seed)
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
    return folder


# --- measuring ----------------------------------------------------------------------

def run_measured(cmd: list[str], timeout: float | None = None) -> tuple[subprocess.CompletedProcess, float, float]:
    """Runs cmd; returns the process, its wall time (s) and the peak RSS of its tree (MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], harness.tree_rss_kib(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err), wall, peak[0] / 1024


def _child(kind: str, folder: str) -> dict:
    """In a fresh process: one batch run over the folder, timed; the figures as JSON."""
    import finaudit
    import finaudit.audit.engine  # noqa: F401  (and what it imports lazily, before the clock)
    import duckdb, pandas, pandera, pyarrow, fastexcel  # noqa: E401, F401

    jobs = {"batch_j1": 1, "batch_j2": 2}[kind]
    out = Path(folder).parent / f"{Path(folder).name}.{kind}.json"
    start, cpu_start = time.perf_counter(), os.times()
    result = finaudit.check_many([folder], jobs=jobs)
    result.write_json(out)      # as `check --json` writes it
    wall, cpu_end = time.perf_counter() - start, os.times()
    # CPU seconds of this process and of its (reaped) workers: what the run costs, however busy the machine
    cpu = sum(getattr(cpu_end, k) - getattr(cpu_start, k) for k in ("user", "system", "children_user",
                                                                       "children_system"))
    return {"wall": wall, "cpu": cpu, "peak_rss_mib": harness.peak_rss_mib(), "json": str(out),
            "audited": len(result.audited), "inputs": len(result.inputs),
            "per_workbook": {Path(i.path).name: i.seconds for i in result.inputs}}


def _findings(doc: dict) -> dict[str, list]:
    """Per workbook (file name): its findings as (fingerprint, severity, shortfall), sorted."""
    from finaudit.runs.compact import expand

    doc = expand(doc)           # format 3 names a finding's file by its index in run.inputs
    out: dict[str, list] = {}
    for f in doc["findings"]:
        name = Path(f.get("file") or doc["run"]["inputs"][0]["path"]).name
        out.setdefault(name, []).append((f["fingerprint"], f["severity"], f["shortfall_yuan"]))
    return {k: sorted(v) for k, v in out.items()}


def benchmark(n: int, rows: int, modes: list[str]) -> dict:
    folder = workbooks(n, rows)
    files = sorted(folder.glob("county_*.xlsx"))[:n]
    result = {"workbooks": n, "rows": rows, "folder": str(folder), "cores": os.cpu_count(),
              "commit": harness.commit(), "source_digest": harness.source_digest(),
              "python": platform.python_version(), "measurements": {}, "findings_agree": None}
    findings = {}
    for kind in [m for m in modes if m.startswith("batch")]:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--path", str(folder)]
        load = os.getloadavg()[0]
        proc, wall, tree_peak = run_measured(cmd)
        if proc.returncode != 0:
            raise SystemExit(f"measurement {kind} failed (exit {proc.returncode}):\n{proc.stderr}")
        child = json.loads(proc.stdout.strip().splitlines()[-1])
        child["process_wall"] = wall
        child["tree_peak_rss_mib"] = tree_peak
        child["load_before"], child["load_after"] = load, os.getloadavg()[0]
        result["measurements"][kind] = child
        findings[kind] = _findings(json.loads(Path(child["json"]).read_text(encoding="utf-8")))
    if "single" in modes:
        times, peaks, single = [], [], {}
        load = os.getloadavg()[0]
        cpu_start = os.times()
        with tempfile.TemporaryDirectory() as tmp:
            for path in files:
                out = Path(tmp) / f"{path.stem}.json"
                cmd = [sys.executable, "-m", "finaudit", "check", str(path), "--json", str(out), "--quiet",
                       "--no-config"]
                proc, wall, peak = run_measured(cmd)
                if proc.returncode not in (0, 1):
                    raise SystemExit(f"finaudit check {path.name} failed (exit {proc.returncode}):\n{proc.stderr}")
                times.append(wall)
                peaks.append(peak)
                single.update(_findings(json.loads(out.read_text(encoding="utf-8"))))
        findings["single"] = single
        cpu_end = os.times()
        result["measurements"]["single"] = {
            "sum": sum(times), "median": statistics.median(times), "min": min(times), "max": max(times),
            "cpu": (cpu_end.children_user - cpu_start.children_user) + (cpu_end.children_system
                                                                        - cpu_start.children_system),
            "peak_rss_mib": max(peaks), "times": times, "load_before": load, "load_after": os.getloadavg()[0]}
    kinds = list(findings)
    result["findings_agree"] = all(findings[k] == findings[kinds[0]] for k in kinds)
    result["findings_total"] = sum(len(v) for v in findings[kinds[0]].values()) if kinds else 0
    return result


def report(result: dict) -> str:
    m = result["measurements"]
    n = result["workbooks"]
    lines = [f"workbooks: {n} x {result['rows']:,} budget rows ({result['folder']})",
             f"cores: {result['cores']}; commit {result['commit']}; source {result['source_digest']}",
             f"findings: {result['findings_total']:,} in all; the modes agree: {result['findings_agree']}", ""]
    for kind in ("batch_j1", "batch_j2"):
        if kind in m:
            x = m[kind]
            per = sorted(v for v in x["per_workbook"].values() if v is not None)
            lines.append(f"{LABELS[kind]}: wall {x['wall']:.2f} s (process {x['process_wall']:.2f} s), "
                         f"{x['wall'] / n:.3f} s per workbook; peak RSS {x['tree_peak_rss_mib']:.0f} MiB "
                         f"(whole tree; parent {x['peak_rss_mib']:.0f} MiB); audited {x['audited']}/{x['inputs']}; "
                         f"in-worker time per workbook median {statistics.median(per):.3f} s; "
                         f"CPU {x['cpu']:.1f} s; load average {x['load_before']:.2f} before, "
                         f"{x['load_after']:.2f} after")
    if "single" in m:
        s = m["single"]
        lines.append(f"{LABELS['single']}: sum {s['sum']:.2f} s, per workbook median {s['median']:.3f} s "
                     f"(min {s['min']:.3f}, max {s['max']:.3f}); peak RSS of the largest {s['peak_rss_mib']:.0f} MiB; "
                     f"CPU {s['cpu']:.1f} s; load average {s['load_before']:.2f} before, {s['load_after']:.2f} after")
        lines.append("")
        if "batch_j1" in m:
            lines.append(f"ratio batch_j1 / sum of singles: {m['batch_j1']['process_wall'] / s['sum']:.3f}")
        if "batch_j2" in m:
            per_core = s["sum"] / result["cores"]
            lines.append(f"ratio batch_j2 / (sum of singles / {result['cores']} cores = {per_core:.2f} s): "
                         f"{m['batch_j2']['process_wall'] / per_core:.3f}")
        if "batch_j1" in m and "batch_j2" in m:
            lines.append(f"speed-up jobs=2 over jobs=1: {m['batch_j1']['process_wall'] / m['batch_j2']['process_wall']:.2f}x")
    return "\n".join(lines)


def _check(result: dict) -> list[str]:
    problems = []
    if not result["findings_agree"]:
        problems.append("the modes gave different findings")
    for kind in ("batch_j1", "batch_j2"):
        x = result["measurements"].get(kind)
        if x and x["audited"] != result["workbooks"]:
            problems.append(f"{kind} audited {x['audited']} of {result['workbooks']} workbooks")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workbooks", type=int, default=DEFAULT_WORKBOOKS)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help=f"budget rows each (default {DEFAULT_ROWS})")
    parser.add_argument("--modes", default="batch_j1,batch_j2,single", help="comma-separated: " + ", ".join(LABELS))
    parser.add_argument("--smoke", action="store_true",
                        help=f"CI mode: {SMOKE_WORKBOOKS} workbooks x {SMOKE_ROWS} rows; checks findings, never time")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--generate-only", action="store_true", help="generate (or find) the workbooks, print the folder")
    parser.add_argument("--child", choices=["batch_j1", "batch_j2"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child, args.path), ensure_ascii=False))
        return 0
    if args.smoke:
        args.workbooks, args.rows = SMOKE_WORKBOOKS, SMOKE_ROWS
    if args.workbooks < 1 or args.rows < 1:
        parser.error("--workbooks and --rows must be >= 1")
    if args.generate_only:
        print(workbooks(args.workbooks, args.rows))
        return 0
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in LABELS]
    if unknown:
        parser.error(f"unknown mode {unknown[0]}; valid: {', '.join(LABELS)}")
    result = benchmark(args.workbooks, args.rows, modes)
    return harness.finish(result, report(result), _check(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
