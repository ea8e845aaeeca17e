"""The check benchmark's smoke mode runs: finaudit reads every Parquet row, the baseline
runs, and the ratio is reported.

Nothing is asserted about time: CI machines are too noisy for that. The full run is
`python tests/bench/bench_check.py --rows 1000000 --repeat 3` (see RESULTS.md).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_check.py"


def test_bench_check_smoke():
    proc = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert re.search(r"^ratio finaudit/duckdb: \d+\.\d+ \(target <= 2\.0: ", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^rows_read: budget 20000 \(expected 20000\), enrollment \d+ \(expected \d+\)$", proc.stdout,
                     re.MULTILINE), proc.stdout
    assert re.search(r"^findings: finaudit [\d,]+ ", proc.stdout, re.MULTILINE), proc.stdout
