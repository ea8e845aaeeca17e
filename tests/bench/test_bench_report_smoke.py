"""The report benchmark's smoke mode runs: the report of 500 findings is written, opens in
headless Chromium, a group opens with rows and the filters count as expected, and the size,
the times and the ratio to the plain list of the same text are printed.

Nothing is asserted about time: CI machines are too noisy for that. The full run is
`python tests/bench/bench_report.py --findings 50000 --repeat 3` (see RESULTS.md).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent / "bench_report.py"
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed; "
                                                     "the benchmark never downloads a browser"),
]


def test_bench_report_smoke():
    pytest.importorskip("playwright.sync_api", reason="playwright is a test dependency")
    proc = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    out = proc.stdout
    # 500 kindergartens + the region under the floor, and one note per rule the ledger cannot feed
    assert re.search(r"^findings: 514 \(FLOOR_PRESCHOOL violations 501; ", out, re.MULTILINE), out
    assert re.search(r"^report size: \d+\.\d\d MB \([\d,]+ bytes; target < 10 MB: met\)$", out, re.MULTILINE), out
    for label in ("finaudit HTML report", "plain list of the same text"):
        assert re.search(rf"^{label} +\d+\.\d{{3}} +\d+\.\d{{3}} ", out, re.MULTILINE), out
    assert re.search(r"^ratio report/baseline: load \d+\.\d\d, ready \d+\.\d\d ", out, re.MULTILINE), out
    assert re.search(r"^report ready in \d+\.\d{3} s \(target < 3 s: (met|NOT MET)\)$", out, re.MULTILINE), out
    assert re.search(r"^opening the first group \(违规 501\): rows on screen in \d+\.\d{3} s \(best\), 200 rows built$",
                     out, re.MULTILINE), out
    for step in ("info on", "rule ONLY_INCREASE_TOTAL", "all rules", "info off", "text K00001", "text cleared"):
        assert re.search(rf"^  {step} +\d+\.\d{{3}} +\d+\.\d{{3}} +\d+\.\d{{3}} +\d+\.\d{{3}}$", out, re.MULTILINE), out
