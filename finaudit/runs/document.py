"""The findings document: stable and versioned (a golden-file test holds its shape).

Its `run` section is the manifest (manifest.py): what the result needs to be reproduced.
The same inputs give the same bytes except `run.id` and `run.started_at`: findings,
inputs and every mapping are in a fixed order."""
from __future__ import annotations

import json
import re

from finaudit import __version__

# Characters JSON may carry raw but a terminal acts on (DEL, the C1 controls, the Unicode
# line separators, bidirectional overrides): written as \u escapes, the same text once
# parsed, and safe when a report is printed or `cat`. JSON escapes the C0 controls itself.
_RAW_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

FORMAT_VERSION = 1


def inputs(result) -> list[dict]:
    """Every ledger of the run with its sha256 and sheet accounting (and why one was not audited)."""
    if hasattr(result, "inputs"):       # batch.BatchResult: one entry per ledger, audited or not
        return [item.to_dict() for item in result.inputs]
    ledger = result.ledger
    return [{"path": str(ledger.path), "sha256": ledger.sha256(),
             "sheets": [s.summary() for s in ledger.sheets.values()], "status": "audited"}]


def document(result) -> dict:
    from finaudit.runs.manifest import manifest

    findings = [f.to_dict() for f in result.findings]
    doc = {
        "finaudit_version": __version__,
        "format_version": FORMAT_VERSION,
        "run": manifest(result),
        "summary": result.summary,
        "findings": findings,
    }
    baseline = getattr(result, "baseline", None)
    if baseline is not None:            # recorded in a history file (history.py)
        for finding, state in zip(findings, baseline["states"]):
            finding["baseline_state"] = state
        doc["baseline"] = {k: v for k, v in baseline.items() if k != "states"}
    return doc


def dumps(doc) -> str:
    """JSON as every finaudit output writes it: indented, Chinese readable, no raw control character."""
    text = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False)
    return _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
