"""The end-to-end benchmark's smoke mode runs: the command reads every row of a small generated
workbook, writes its JSON and HTML, and both ratios are printed.

Nothing is asserted about time or memory: CI machines are too noisy for that. The full run is
`python tests/bench/bench_e2e.py --rows 1000000 --repeat 3` (see RESULTS.md).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_e2e.py"


def test_bench_e2e_smoke():
    proc = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert re.search(r"^time ratio finaudit/fastexcel: \d+\.\d+ \(target <= 1\.5: ", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^memory ratio finaudit/fastexcel: \d+\.\d+ \(target <= 1\.3: ", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^sheets: budget read 5000 rejected 0, enrollment read 1667 rejected 0$", proc.stdout,
                     re.MULTILINE), proc.stdout
    assert re.search(r"^findings: \d+; json [\d,]+ B, html [\d,]+ B$", proc.stdout, re.MULTILINE), proc.stdout
