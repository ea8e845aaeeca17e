"""The load benchmark's smoke mode runs, the loader reads every row, the ratio is reported.

Nothing is asserted about time: CI machines are too noisy for that. The full run
is `python tests/bench/bench_load.py --rows 100000 --repeat 3` (see RESULTS.md).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_load.py"


def test_bench_smoke():
    proc = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert re.search(r"^ratio finaudit/baseline: \d+\.\d+ ", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^rows_read: 教育经费 5000 \(expected 5000\).*; findings: 0$", proc.stdout,
                     re.MULTILINE), proc.stdout
