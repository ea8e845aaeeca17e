"""The findings document: stable and versioned (a golden-file test holds its shape). It is
the run's record (history and verify read it back), so it lives with the run; the JSON
output writes it and the other renderers import from it, never the reverse.

Its `run` section is the manifest (manifest.py): what the result needs to be reproduced.
The same inputs give the same bytes except `run.id` and `run.started_at`: findings,
inputs and every mapping are in a fixed order."""
from __future__ import annotations

import json
import re

from finaudit import __version__
from finaudit.runs.manifest import manifest

# Characters JSON may carry raw but a terminal acts on (DEL, the C1 controls, the Unicode
# line separators, bidirectional overrides): written as \u escapes, the same text once
# parsed, and safe when a report is printed or `cat`. JSON escapes the C0 controls itself.
_RAW_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

FORMAT_VERSION = 2      # 2: a finding's basis is the list of its own chain's clauses (was one dict per rule)


def document(result) -> dict:
    """The findings document of a Result (runs/result.py)."""
    findings = [f.to_dict() for f in result.findings]
    doc = {
        "finaudit_version": __version__,
        "format_version": FORMAT_VERSION,
        "run": manifest(result),
        "summary": result.summary,
        "findings": findings,
    }
    if result.baseline is not None:     # recorded in a history file (history.py)
        doc["baseline"] = result.baseline
    return doc


def dumps(doc) -> str:
    """JSON as every finaudit output writes it: indented, Chinese readable, no raw control character."""
    text = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False)
    return _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
