"""The start-up benchmark's smoke mode runs: both commands answer correctly, the ratio is
reported, and neither imports the data libraries.

Nothing is asserted about time: CI machines are too noisy for that. The full run is
`python tests/bench/bench_startup.py --repeat 20` (see RESULTS.md).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_startup.py"


def test_bench_startup_smoke():
    proc = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    for command in ("finaudit --help", "finaudit rules"):
        assert re.search(rf"^{command}: \d+\.\d+ s \(target < 0\.5 s: .*\); ratio finaudit/click: \d+\.\d+, "
                         r".*heavy modules imported: none$", proc.stdout, re.MULTILINE), proc.stdout
