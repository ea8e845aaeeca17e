"""Format 3 of the findings document says once what format 2 repeated in every finding, and
`expand` gives the format 2 shape back to whoever reads a document.

- A finding's `basis`, `profile` and `parameters` (its rule's clauses in force for its
  profile and year, and the parameter values it was measured against, with their sources)
  are one entry of the document's `citations`; the finding names it by index, `"citation": 3`
  (`null` for a finding that cites nothing: a data check).
- A finding's `file` and each evidence cell's `file` are an index into `run.inputs`,
  `"input": 0`. The file an evidence cell names is its input's file for its sheet (a folder of
  CSV files: that sheet's file), else the input's path. A file that is neither (a finding of
  an earlier run, in `baseline.absent`) stays a `file`.

compact(expand(x)) is not the point; expand(compact(x)) == x is, field by field (a test holds
it for every sample ledger)."""
from __future__ import annotations

import orjson

# Where format 2 put the fields a citation now carries: right after shortfall_yuan.
CITED = ("basis", "profile", "parameters")


class Citations:
    """The citations of one document, each written once, in the order findings first use them."""

    def __init__(self):
        self.entries: list[dict] = []
        self._index: dict[bytes, int] = {}

    def index(self, rule_id: str, profile, basis, parameters) -> int | None:
        if basis is None and profile is None and parameters is None:
            return None
        # The key is the entry's content (each finding has its own copy of its clauses):
        # findings of one rule, profile and year share one entry; a year with another value
        # in force gets its own.
        key = orjson.dumps((rule_id, profile, basis, parameters), option=orjson.OPT_NON_STR_KEYS)
        found = self._index.get(key)
        if found is None:
            found = self._index[key] = len(self.entries)
            self.entries.append({"rule_id": rule_id, "profile": profile, "basis": basis, "parameters": parameters})
        return found

    def of(self, finding: dict) -> int | None:
        """The citation of a finding dict (format 2)."""
        return self.index(finding["rule_id"], *(finding.get(k) for k in ("profile", "basis", "parameters")))


class Places:
    """Which input of `run.inputs` a file is, for a finding or an evidence cell of one sheet."""

    def __init__(self, inputs: list[dict]):
        self.inputs = inputs
        self._known: dict[tuple, int | None] = {}

    def index(self, file: str, sheet: str | None = None) -> int | None:
        """The input `file` resolves from (with `sheet`, see `file_of`), or None."""
        key = (file, sheet)
        if key not in self._known:
            found = None
            for i, item in enumerate(self.inputs):
                if file == item["path"] or any(s.get("file") == file for s in item.get("sheets") or ()):
                    if file_of(item, sheet) == file:
                        found = i
                        break
            self._known[key] = found
        return self._known[key]


def file_of(item: dict, sheet: str | None) -> str:
    """The file of input `item` that a cell of `sheet` is in: the sheet's own file where the
    input lists one (a CSV in a ledger folder), else the input's path."""
    if sheet:
        for s in item.get("sheets") or ():
            if s.get("source") == sheet and s.get("file"):
                return s["file"]
    return item["path"]


def compact(finding: dict, citations: Citations, places: Places, citation: int | None = -1) -> dict:
    """A format 2 finding as format 3 writes it: the same keys in the same order, but
    basis/profile/parameters as one `citation` (given, when the caller has looked it up) and
    every file as an `input`."""
    out = {}
    for key, value in finding.items():
        if key in CITED:
            if "citation" not in out:
                out["citation"] = citations.of(finding) if citation == -1 else citation
        elif key == "evidence":
            out[key] = [_compact_cell(cell, places) for cell in value]
        elif key == "file" and value is not None and places.index(value) is not None:
            out["input"] = places.index(value)
        else:
            out[key] = value
    return out


def _compact_cell(cell: dict, places: Places) -> dict:
    where = places.index(cell["file"], cell.get("sheet")) if "file" in cell else None
    if where is None:
        return cell
    out = {"input": where}       # where `file` was: first
    out.update(cell)
    del out["file"]
    return out


def expand_finding(finding: dict, citations: list, inputs: list) -> dict:
    """A format 3 finding in the format 2 shape: its own basis, profile, parameters and files."""
    out = {}
    for key, value in finding.items():
        if key == "citation":
            entry = citations[value] if value is not None else {}
            out.update((k, entry.get(k)) for k in CITED)
        elif key == "evidence":
            out[key] = [_expand_cell(cell, inputs) for cell in value]
        elif key == "input":
            out["file"] = inputs[value]["path"]
        else:
            out[key] = value
    return out


def _expand_cell(cell: dict, inputs: list) -> dict:
    if "input" not in cell:
        return cell
    item = inputs[cell["input"]]
    return {("file" if k == "input" else k): (file_of(item, cell.get("sheet")) if k == "input" else v)
            for k, v in cell.items()}


def expand(doc: dict) -> dict:
    """A findings document in the format 2 shape, whatever format it was written in: every
    finding (and every absent one of `baseline`) with its own basis, profile, parameters and
    file paths; `citations` gone and `format_version` 2. A format 2 (or older) document is
    returned as it is."""
    if not isinstance(doc, dict) or "citations" not in doc:
        return doc
    citations, inputs = doc["citations"], doc["run"]["inputs"]
    out = {}
    for key, value in doc.items():
        if key == "citations":
            continue
        if key == "format_version":
            out[key] = 2
        elif key == "findings":
            out[key] = [expand_finding(f, citations, inputs) for f in value]
        elif key == "baseline" and isinstance(value, dict) and "absent" in value:
            out[key] = {**value, "absent": [expand_finding(f, citations, inputs) for f in value["absent"]]}
        else:
            out[key] = value
    return out
