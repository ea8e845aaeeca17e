"""Benchmark: how long `finaudit --help` and `finaudit rules` take, against starting Python.

    python tests/bench/bench_startup.py --repeat 20
    python tests/bench/bench_startup.py --smoke      # CI: 1 run of each

Start-up is the whole process, so the clock is in this (parent) process and runs from
spawning the child to reaping it; os.wait4 gives that child's own CPU time. (Not its
peak RSS: on Linux a child's maxrss includes the pages of the benchmark it was forked
from, which for a process this small is all of it.) Commands run round-robin and the
best wall-clock time of --repeat runs is kept.

Measured:
- python: `python -c pass` (the interpreter and site alone);
- click: `python -c "import click"` (the floor of any click CLI: the baseline);
- finaudit --help and finaudit rules, through the installed `finaudit` script next to
  this Python (`python -m finaudit` when there is none).
ratio = finaudit command / click. The target is absolute: under 0.5 s each.

One more child per command runs it in-process and lists which of the data libraries
(pandas, duckdb, pandera, ...) it imported: none is expected.

Exit status 1 when a command failed or said the wrong thing (help without its
commands, a rule list missing a rule); nothing is asserted about time.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402  (tests/bench/harness.py)

TARGET_SECONDS = 0.5
HEAVY_MODULES = ("pandas", "duckdb", "pandera", "pyarrow", "numpy", "fastexcel", "openpyxl", "jinja2")
COMMANDS = {"help": ["--help"], "rules": ["rules"]}
BASELINES = {"python": "pass", "click": "import click"}
LABELS = {"python": "python -c pass", "click": "python -c 'import click'",
          "help": "finaudit --help", "rules": "finaudit rules"}
RATIO_BASELINE = "click"


def _finaudit() -> list[str]:
    script = Path(sys.executable).with_name("finaudit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "finaudit"]


def _argv(kind: str) -> list[str]:
    if kind in BASELINES:
        return [sys.executable, "-c", BASELINES[kind]]
    return _finaudit() + COMMANDS[kind]


def _spawn(kind: str) -> dict:
    """One run: wall time from spawn to reap, the child's CPU time, its output."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(_argv(kind), stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)   # reaped here, not by Popen
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return {"kind": kind, "seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "exit": proc.returncode, "output": text}


# --- child side: which heavy modules a command imports ------------------------

def _child(kind: str) -> dict:
    from finaudit.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(COMMANDS[kind], standalone_mode=False)
        except SystemExit:
            pass
    return {"kind": kind, "heavy_modules": sorted(m for m in HEAVY_MODULES if m in sys.modules)}


# --- parent side --------------------------------------------------------------

def benchmark(repeat: int) -> dict:
    from finaudit.audit.catalogue import load_rules

    kinds = list(BASELINES) + list(COMMANDS)
    runs: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for kind in kinds:   # one unmeasured run each: the page cache and .pyc files are warm for all
        _spawn(kind)
    # Round-robin, so that a slow spell of the machine hits every measurement alike.
    for _ in range(repeat):
        for kind in kinds:
            runs[kind].append(_spawn(kind))
    best = {kind: min(r["seconds"] for r in rs) for kind, rs in runs.items()}
    best_cpu = {kind: min(r["cpu_seconds"] for r in rs) for kind, rs in runs.items()}
    heavy = {kind: harness.run_child(__file__, kind, "-")["heavy_modules"] for kind in COMMANDS}
    return {
        "repeat": repeat, "command": " ".join(_finaudit()), "rule_ids": sorted(load_rules()),
        "runs": runs, "best": best, "best_cpu": best_cpu,
        "median": {kind: sorted(r["seconds"] for r in rs)[len(rs) // 2] for kind, rs in runs.items()},
        "heavy_modules": heavy, "baseline": RATIO_BASELINE,
        "ratio": {kind: best[kind] / best[RATIO_BASELINE] for kind in COMMANDS},
        "ratio_python": {kind: best[kind] / best["python"] for kind in COMMANDS},
        "python": platform.python_version(), 
        "versions": harness.versions("finaudit", "click", "pyyaml"),
        "commit": harness.commit(), "source_digest": harness.source_digest(),
    }


def _check(result: dict) -> list[str]:
    """Every run exited 0 and said the right thing: the timing of a failed start means nothing."""
    problems = []
    for kind, rs in result["runs"].items():
        for r in rs:
            if r["exit"] != 0:
                problems.append(f"{LABELS[kind]}: exit {r['exit']}: {r['output'].strip()[-300:]}")
            elif kind == "help" and not all(c in r["output"] for c in ("check", "validate", "rules")):
                problems.append("finaudit --help does not list the commands")
            elif kind == "rules":
                missing = [rule for rule in result["rule_ids"] if rule not in r["output"]]
                if missing:
                    problems.append(f"finaudit rules does not list {', '.join(missing)}")
    return sorted(set(problems))


def report(result: dict) -> str:
    lines = [
        f"finaudit start-up benchmark: {result['command']}",
        f"python {result['python']}; " + ", ".join(f"{k} {v}" for k, v in result["versions"].items()),
        f"tree: {result['commit']} (source digest {result['source_digest']})",
        f"repeat: {result['repeat']} (each run a fresh process, round-robin; best and median wall time)",
        "",
        f"{'measurement':<26} {'best s':>7} {'median s':>9} {'CPU s':>7}  runs s",
    ]
    for kind, label in LABELS.items():
        times = " ".join(f"{r['seconds']:.3f}" for r in result["runs"][kind][:10])
        more = " ..." if len(result["runs"][kind]) > 10 else ""
        lines.append(f"{label:<26} {result['best'][kind]:>7.3f} {result['median'][kind]:>9.3f} "
                     f"{result['best_cpu'][kind]:>7.3f}  {times}{more}")
    lines += ["", f"baseline: {LABELS[RATIO_BASELINE]} ({result['best'][RATIO_BASELINE]:.3f} s)"]
    for kind in COMMANDS:
        verdict = "met" if result["best"][kind] < TARGET_SECONDS else "NOT MET"
        heavy = ", ".join(result["heavy_modules"][kind]) or "none"
        lines.append(f"{LABELS[kind]}: {result['best'][kind]:.3f} s (target < {TARGET_SECONDS} s: {verdict}); "
                     f"ratio finaudit/click: {result['ratio'][kind]:.2f}, "
                     f"finaudit/python: {result['ratio_python'][kind]:.2f}; heavy modules imported: {heavy}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="runs per measurement, best kept (default 20)")
    parser.add_argument("--smoke", action="store_true", help="CI mode: 1 run of each; checks output, never time")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--child", choices=sorted(COMMANDS), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)   # harness.run_child passes one; unused here
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child)))
        return 0
    if args.smoke:
        args.repeat = 1
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    result = benchmark(args.repeat)
    return harness.finish(result, report(result), _check(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
