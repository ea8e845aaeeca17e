"""The findings document: stable and versioned (a golden-file test holds its shape)."""
from __future__ import annotations

import json

from . import __version__

FORMAT_VERSION = 1


def _inputs(result) -> list[dict]:
    if hasattr(result, "inputs"):       # batch.BatchResult: one entry per ledger, audited or not
        return [item.to_dict() for item in result.inputs]
    ledger = result.ledger
    return [{"path": str(ledger.path), "sha256": ledger.sha256(),
             "sheets": [s.summary() for s in ledger.sheets.values()]}]


def document(result) -> dict:
    profiles = sorted(set(result.region_profiles.values()))
    return {
        "finaudit_version": __version__,
        "format_version": FORMAT_VERSION,
        "run": {
            "started_at": result.started_at,
            "profiles": profiles,
            "inputs": _inputs(result),
        },
        "summary": result.summary,
        "findings": [f.to_dict() for f in result.findings],
    }


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False)
