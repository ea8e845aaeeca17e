"""The findings document: stable and versioned (a golden-file test holds its shape). It is
the run's record (history and verify read it back), so it lives with the run; the JSON
output writes it and the other renderers import from it, never the reverse.

Its `run` section is the manifest (manifest.py): what the result needs to be reproduced.
The same inputs give the same bytes except `run.id` and `run.started_at`: findings,
inputs and every mapping are in a fixed order. What each finding cites and which file it
is about are written once (compact.py); readers call compact.expand to get every finding
whole again.

A province's run has tens of thousands of findings, so the document is written by `chunks`,
a piece at a time, encoded by orjson (tests/bench/bench_document.py measures it against
json.dumps): laid out as json.dumps(indent=2, ensure_ascii=False) lays it out, and the
same bytes for every money figure and ratio; orjson writes an exponent as 1e16 (json:
1e+16) and NaN as null (json: NaN, which is not JSON)."""
from __future__ import annotations

import json
import re

import orjson

from finaudit import __version__
from finaudit.runs.compact import Citations, Places, compact
from finaudit.runs.manifest import manifest

# Characters JSON may carry raw but a terminal acts on (DEL, the C1 controls, the Unicode
# line separators, bidirectional overrides): written as \u escapes, the same text once
# parsed, and safe when a report is printed or `cat`. JSON escapes the C0 controls itself.
_RAW_CONTROLS = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# The same characters in UTF-8 (no match can start inside another character: UTF-8 lead
# bytes and continuation bytes differ).
_RAW_CONTROL_BYTES = re.compile(rb"\x7f|\xc2[\x80-\x9f]|\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]")

# 3: what a finding cites (its rule's basis clauses, profile, parameters) is a `citations`
#    entry named by index, and every file is an index into run.inputs (compact.py).
# 2: a finding's basis is the list of its own chain's clauses (was one dict per rule).
FORMAT_VERSION = 3

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS
BATCH = 1000            # findings encoded at a time: one call to orjson, a few MB at most


def _head(result) -> dict:
    return {"finaudit_version": __version__, "format_version": FORMAT_VERSION, "run": manifest(result),
            "summary": result.summary}


def _compacted(result, run: dict):
    """(citations, findings, baseline) of the document: the findings a generator, so that a
    writer holds a batch of their dicts at a time, not all of them."""
    citations, places = Citations(), Places(run["inputs"])
    # Every finding is indexed before the first is written: the citations come first.
    cited = [citations.index(f.rule_id, f.profile, f.basis, f.parameters) for f in result.findings]
    baseline = result.baseline
    if baseline is not None and baseline.get("absent"):
        baseline = {**baseline, "absent": [compact(f, citations, places) for f in baseline["absent"]]}
    findings = (compact(f.to_dict(), citations, places, c) for f, c in zip(result.findings, cited))
    return citations.entries, findings, baseline


def document(result) -> dict:
    """The findings document of a Result (runs/result.py), as a dict: what `chunks` writes."""
    doc = _head(result)
    citations, findings, baseline = _compacted(result, doc["run"])
    doc["citations"] = citations
    doc["findings"] = list(findings)
    if baseline is not None:     # recorded in a history file (history.py)
        doc["baseline"] = baseline
    return doc


def chunks(result):
    """The findings document of a Result as UTF-8 bytes, piece by piece (no final newline):
    the head, the citations, then the findings a batch at a time. b"".join(chunks(r)) parses
    to document(r) (layout and numbers as the module's docstring says)."""
    head = _head(result)
    citations, findings, baseline = _compacted(result, head["run"])
    yield b"{"
    for key, value in head.items():
        yield _member(key, value) + b","
    yield _member("citations", citations) + b","
    yield b'\n  "findings": ['
    first = True
    while True:
        batch = [f for _, f in zip(range(BATCH), findings)]
        if not batch:
            break
        yield (b"" if first else b",") + _escaped(_inner(_encode(batch), 2))
        first = False
    yield b"]" if first else b"\n  ]"
    if baseline is not None:
        yield b"," + _member("baseline", baseline)
    yield b"\n}"


def _member(key: str, value) -> bytes:
    """`\\n  "key": value` at the top level of the document."""
    return b"\n  " + _escaped(orjson.dumps(key)) + b": " + _escaped(_indented(_encode(value), 1))


def _encode(value) -> bytes:
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except orjson.JSONEncodeError:      # what orjson refuses (an integer past 64 bits): as the standard library writes it
        return json.dumps(value, ensure_ascii=False, indent=2).encode("utf-8")


def _indented(body: bytes, depth: int) -> bytes:
    """A value encoded at the top level, moved `depth` levels in. A raw newline is only ever
    between tokens: JSON escapes it inside a string."""
    return body.replace(b"\n", b"\n" + b"  " * depth)


def _inner(body: bytes, depth: int) -> bytes:
    """The members of an encoded non-empty list, each on its own lines `depth` levels in:
    b'[\\n  a,\\n  b\\n]' -> b'\\n    a,\\n    b' at depth 2."""
    return _indented(body[1:-2], depth - 1)


def _escaped(data: bytes) -> bytes:
    if _RAW_CONTROL_BYTES.search(data) is None:
        return data
    return _RAW_CONTROL_BYTES.sub(lambda m: f"\\u{ord(m.group().decode('utf-8')):04x}".encode("ascii"), data)


def write(result, fh) -> None:
    """Writes the findings document of a Result to a binary file, with a final newline."""
    for piece in chunks(result):
        fh.write(piece)
    fh.write(b"\n")


def dumps(doc) -> str:
    """JSON as every finaudit output writes it: indented, Chinese readable, no raw control character."""
    text = json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False)
    return _RAW_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
