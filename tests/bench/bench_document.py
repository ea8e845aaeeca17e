"""Benchmark: writing the findings document of a run with 50,000+ findings, format 2 as it
was written (json.dumps of the whole dict, then the text) against format 3 (orjson, a batch
of findings at a time, straight to the file).

    python tests/bench/bench_document.py --findings 100000 --repeat 3
    python tests/bench/bench_document.py --smoke                  # CI: 500 findings, 1 run

The ledger: N public kindergartens of Dingzhou (130682) in 2023 under the preschool floor
(bench_report.py's ledger, as a Parquet folder), so FLOOR_PRESCHOOL finds N school
violations plus one for the region, each with two evidence cells and the full basis and
parameters that format 2 repeats in every finding. It is audited once with finaudit.check
and the Result pickled; each write is then measured in a fresh child process that unpickles
it and writes the document once, so each child's peak RSS is that Result plus what the writing
costs. Runs alternate old and new, --repeat times each; the best time and the lowest peak are
kept.

- old: {"format_version": 2, ..., "findings": [f.to_dict() ...]} through runs.document.dumps
  (json.dumps, indent=2) and atomic.write_text, as `check --json` did before format 3;
- new: Result.write_json (runs/document.py chunks, orjson).

The new file, expanded (runs/compact.py), must equal the old one parsed, field by field:
exit status 1 when it does not or the findings are not the expected count; nothing is
asserted about time.
"""
from __future__ import annotations

import argparse
import json
import pickle
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402  (tests/bench/harness.py)

SMOKE_FINDINGS = 500
WAYS = {"old": "format 2, json.dumps", "new": "format 3, orjson chunks"}


def build(n: int, workdir: Path) -> dict:
    """Writes the ledger, audits it and pickles the Result; returns what was found."""
    import pandas as pd

    import finaudit

    folder = workdir / "ledger"
    folder.mkdir()
    base = {"year": 2023, "region_code": "130682", "region_name": "定州市", "level": "preschool",
            "ownership": "public"}
    children = [50 + (i * 37) % 250 for i in range(n)]
    pd.DataFrame({**{k: [v] * n for k, v in base.items()}, "fund_source": ["general_budget"] * n,
                  "expense_class": ["public_funds"] * n,
                  "amount": [float(c * (300 + i % 100)) for i, c in enumerate(children)],
                  "school_id": [f"K{i:05d}" for i in range(n)], "school_name": [f"第{i}幼儿园" for i in range(n)]}
                 ).to_parquet(folder / "budget.parquet")
    pd.DataFrame({**{k: [v] * n for k, v in base.items()}, "students": children,
                  "school_id": [f"K{i:05d}" for i in range(n)]}).to_parquet(folder / "enrollment.parquet")
    t0 = time.perf_counter()
    result = finaudit.check(folder, year=2023)
    check_seconds = time.perf_counter() - t0
    with open(workdir / "result.pickle", "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    floor = sum(f.rule_id == "FLOOR_PRESCHOOL" and f.severity == "violation" for f in result.findings)
    return {"findings": len(result.findings), "floor_violations": floor, "check_seconds": check_seconds,
            "evidence_cells": sum(len(f.evidence) for f in result.findings)}


def child(way: str, workdir: Path) -> dict:
    """One write, in this fresh process: the Result unpickled, then the document written."""
    with open(workdir / "result.pickle", "rb") as fh:
        result = pickle.load(fh)
    before = harness.peak_rss_mib()
    out = workdir / f"{way}.json"
    t0 = time.perf_counter()
    if way == "old":
        from finaudit import __version__
        from finaudit.atomic import write_text
        from finaudit.runs.document import dumps
        from finaudit.runs.manifest import manifest

        doc = {"finaudit_version": __version__, "format_version": 2, "run": manifest(result),
               "summary": result.summary, "findings": [f.to_dict() for f in result.findings]}
        if result.baseline is not None:
            doc["baseline"] = result.baseline
        write_text(out, dumps(doc) + "\n")
    else:
        result.write_json(out)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "bytes": out.stat().st_size, "peak_rss_mib": harness.peak_rss_mib(),
            "before_write_mib": before}


def same_content(workdir: Path) -> bool:
    """The new document, expanded, is the old one: every field of every finding."""
    from finaudit.runs.compact import expand

    old = json.loads((workdir / "old.json").read_text(encoding="utf-8"))
    new = json.loads((workdir / "new.json").read_text(encoding="utf-8"))
    return new["format_version"] == 3 and expand(new) == old


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=100_000, help="kindergartens under the floor")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help=f"{SMOKE_FINDINGS} findings, one run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", choices=sorted(WAYS), help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.path)))
        return 0
    n, repeat = (SMOKE_FINDINGS, 1) if args.smoke else (args.findings, args.repeat)
    with tempfile.TemporaryDirectory(prefix="finaudit-bench-document-") as tmp:
        workdir = Path(tmp)
        built = build(n, workdir)
        runs = {way: [] for way in WAYS}
        for _ in range(repeat):
            for way in WAYS:
                runs[way].append(harness.run_child(__file__, way, workdir))
        same = same_content(workdir)
    best = {way: {"seconds": min(r["seconds"] for r in rs), "bytes": rs[0]["bytes"],
                  "peak_rss_mib": min(r["peak_rss_mib"] for r in rs),
                  "before_write_mib": min(r["before_write_mib"] for r in rs)} for way, rs in runs.items()}
    old, new = best["old"], best["new"]
    ratio = {"size": new["bytes"] / old["bytes"], "seconds": new["seconds"] / old["seconds"],
             "peak_rss": new["peak_rss_mib"] / old["peak_rss_mib"]}
    v = harness.versions("orjson", "duckdb", "pandas", "pyarrow")
    lines = [
        f"findings: {built['findings']} (FLOOR_PRESCHOOL violations {built['floor_violations']}; "
        f"evidence cells {built['evidence_cells']}); audit {built['check_seconds']:.1f} s, once",
        f"python {platform.python_version()}, orjson {v['orjson']}, duckdb {v['duckdb']}, pandas {v['pandas']}, "
        f"pyarrow {v['pyarrow']}; commit {harness.commit()}, source {harness.source_digest()}; "
        f"best of {repeat}",
        f"{'way':<26}{'size MB':>10}{'write s':>10}{'peak RSS MiB':>14}{'before write':>14}",
    ]
    for way, label in WAYS.items():
        b = best[way]
        lines.append(f"{label:<26}{b['bytes'] / 1e6:>10.2f}{b['seconds']:>10.3f}{b['peak_rss_mib']:>14.0f}"
                     f"{b['before_write_mib']:>14.0f}")
    lines.append(f"ratio new/old: size {ratio['size']:.2f}, write time {ratio['seconds']:.2f}, "
                 f"peak RSS {ratio['peak_rss']:.2f}")
    lines.append(f"content: format 3 expanded equals format 2 field by field: {'yes' if same else 'NO'}")
    problems = []
    if built["floor_violations"] != n + 1:
        problems.append(f"expected {n + 1} FLOOR_PRESCHOOL violations, found {built['floor_violations']}")
    if not same:
        problems.append("the format 3 document, expanded, differs from the format 2 one")
    result = {"built": built, "runs": runs, "best": best, "ratio": ratio, "versions": v, "commit": harness.commit()}
    return harness.finish(result, "\n".join(lines), problems, args.json)


if __name__ == "__main__":
    sys.exit(main())
