"""The one finding model shared by schema checks, data-integrity checks and rules."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import NamedTuple

SEVERITIES = ("violation", "warning", "info")
SEVERITY_RANK = {"violation": 3, "warning": 2, "info": 1}


class Evidence(NamedTuple):
    """A ledger cell a finding rests on. A tuple: a check makes tens of thousands."""
    file: str
    sheet: str
    row: int
    cell: str          # e.g. 教育经费!H17
    column: str | None = None
    value: object = None

    def to_dict(self) -> dict:
        out = {"file": self.file, "sheet": self.sheet, "row": self.row, "cell": self.cell}
        if self.column is not None:
            out["column"] = self.column
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass
class Finding:
    rule_id: str
    severity: str
    message: dict                                  # {"zh": ..., "en": ...}
    subject: dict = field(default_factory=dict)    # region_code, region_name, year, level, school_id
    evidence: list[Evidence] = field(default_factory=list)
    measure: dict | None = None                    # actual, required, unit
    shortfall_yuan: float | None = None
    # The clauses of its own profile chain in force in its year, national first
    # (audit/profiles.py `clauses`); empty where no law is in play (a data check).
    basis: list | None = None
    profile: str | None = None
    parameters: dict | None = None
    check: str | None = None
    details: dict | None = None
    evidence_total: int | None = None
    # A finding about particular cells (a bad value, a duplicate row) is identified by them;
    # one about a subject (a region's year) by the subject, so inserted rows do not change it.
    identified_by_cells: bool = False
    # The ledger the finding is about, set by the run (runs/result.py);
    # not part of the fingerprint, so a county's finding keeps it when its file is renamed.
    file: str | None = None
    # Against the run's history (runs/history.py): new, unchanged or updated; None when the
    # run is not recorded in one.
    baseline_state: str | None = None

    @property
    def fingerprint(self) -> str:
        """Stable across runs: the rule, the check and the subject, never row numbers or amounts."""
        key = {"rule": self.rule_id, "check": self.check, "subject": _subject_key(self.subject)}
        if self.identified_by_cells or not self.subject:
            # A finding about ledger cells is identified by those cells, not by a subject.
            key["cells"] = [e.cell for e in self.evidence]
        text = json.dumps(key, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    def text(self, lang: str) -> str:
        return self.message.get(lang) or self.message.get("en", "")

    def to_dict(self) -> dict:
        subject = {k: self.subject.get(k) for k in ("region_code", "region_name", "year", "level", "school_id")}
        out = {
            "rule_id": self.rule_id,
            "check": self.check,
            "severity": self.severity,
            "subject": subject,
            "measure": self.measure,
            "shortfall_yuan": self.shortfall_yuan,
            "basis": self.basis,
            "profile": self.profile,
            "parameters": self.parameters,
            "message": self.message,
            "evidence": [e.to_dict() for e in self.evidence],
            "evidence_total": self.evidence_total if self.evidence_total is not None else len(self.evidence),
            "fingerprint": self.fingerprint,
        }
        if self.details:
            out["details"] = self.details
        if self.file is not None:
            out["file"] = self.file
        if self.baseline_state is not None:
            out["baseline_state"] = self.baseline_state
        return out


def _subject_key(subject: dict) -> dict:
    return {k: subject.get(k) for k in ("region_code", "year", "level", "school_id") if subject.get(k) is not None}


_LETTERS = re.compile(r"!([A-Z]+)\d*$")


def _column_order(cell: str) -> tuple[int, str]:
    """教育经费!AB12 -> (2, "AB"): columns in spreadsheet order (B before AA)."""
    match = _LETTERS.search(cell)
    letters = match.group(1) if match else ""
    return len(letters), letters


def sort_key(finding: Finding):
    """Most severe first, then by rule; a finding about cells (a refused value, a duplicate)
    in sheet order, row then column, as the clerk reads the sheet; any other by region, year,
    level, school, first cell."""
    s = finding.subject
    first = finding.evidence[0] if finding.evidence else None
    if finding.identified_by_cells and first is not None:
        return (-SEVERITY_RANK[finding.severity], finding.rule_id, "", "", 0, "", "",
                first.sheet, first.row, _column_order(first.cell), first.cell)
    return (
        -SEVERITY_RANK[finding.severity], finding.rule_id, finding.check or "",
        s.get("region_code") or "", s.get("year") or 0, s.get("level") or "", s.get("school_id") or "",
        first.sheet if first else "", first.row if first else 0, (0, ""), first.cell if first else "",
    )


def at_or_above(findings, threshold: str) -> list[Finding]:
    if threshold == "never":
        return []
    rank = SEVERITY_RANK[threshold]
    return [f for f in findings if SEVERITY_RANK[f.severity] >= rank]
