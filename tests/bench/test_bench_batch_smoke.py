"""The batch benchmark's smoke mode runs: four small county workbooks are audited in one
batch (one process, then two workers) and one at a time, and every mode finds the same.

Nothing is asserted about time: CI machines are too noisy for that. The full run is
`python tests/bench/bench_batch.py --workbooks 100 --rows 10000` (see RESULTS.md).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_batch.py"


def test_bench_batch_smoke():
    proc = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert re.search(r"^workbooks: 4 x 600 budget rows", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^findings: [\d,]+ in all; the modes agree: True$", proc.stdout, re.MULTILINE), proc.stdout
    for label in ("check_many\\(folder, jobs=1\\)", "check_many\\(folder, jobs=2\\)"):
        assert re.search(rf"^{label}: wall \d+\.\d+ s .* audited 4/4", proc.stdout, re.MULTILINE), proc.stdout
    assert re.search(r"^ratio batch_j2 / \(sum of singles / \d+ cores = \d+\.\d+ s\): \d+\.\d+$", proc.stdout,
                     re.MULTILINE), proc.stdout
