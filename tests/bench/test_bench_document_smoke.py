"""The document benchmark's smoke mode runs: 500 kindergartens' findings are written in
format 2 (json.dumps) and format 3 (orjson chunks), each in its own child process, the
format 3 file expands to the format 2 one, and sizes, times, peaks and ratios are printed.

Nothing is asserted about time: CI machines are too noisy for that. The full run is
`python tests/bench/bench_document.py --findings 100000 --repeat 3` (see RESULTS.md).
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent / "bench_document.py"


def test_bench_document_smoke():
    proc = subprocess.run([sys.executable, str(BENCH), "--smoke"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    out = proc.stdout
    assert re.search(r"^findings: 514 \(FLOOR_PRESCHOOL violations 501; evidence cells \d+\)", out, re.MULTILINE), out
    for label in ("format 2, json.dumps", "format 3, orjson chunks"):
        assert re.search(rf"^{label} +\d+\.\d\d +\d+\.\d{{3}} +\d+ +\d+$", out, re.MULTILINE), out
    sizes = [float(m) for m in re.findall(r"^format \d, [^\n]*? +(\d+\.\d\d) ", out, re.MULTILINE)]
    assert len(sizes) == 2 and sizes[1] < sizes[0], out
    assert re.search(r"^ratio new/old: size \d\.\d\d, write time \d+\.\d\d, peak RSS \d+\.\d\d$", out, re.MULTILINE), out
    assert "content: format 3 expanded equals format 2 field by field: yes" in out
