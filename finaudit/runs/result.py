"""The one result of a run, over one ledger or many: every input with how it went, the
findings (each naming its file, each with its baseline state when a history is kept), the
passes behind the summary, and the run's facts. `finaudit.check` and `check_many` both
return it; every renderer takes it."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from finaudit.atomic import replacing_path
from finaudit.audit.evaluations import EVALUATION_COLUMNS
from finaudit.audit.summary import summarize
from finaudit.findings import Evidence, Finding, sort_key
from finaudit.runs.discover import Input
from finaudit.runs.document import chunks, document, write

UNREADABLE = "INPUT_UNREADABLE"


@dataclass
class Audit:
    """One ledger's outcome, small enough to send back from a worker process."""
    input: Input
    findings: list[Finding]
    evaluations: object | None          # pandas DataFrame
    region_profiles: dict[str, str]
    started_at: str | None = None


@dataclass
class LedgerInfo:
    """What the reports need of an audited ledger once its rows are no longer held."""
    path: Path
    sheets: dict
    digest: str | None

    def sha256(self) -> str | None:
        return self.digest


class _SheetInfo:
    def __init__(self, summary: dict):
        self._summary = summary

    def summary(self) -> dict:
        return self._summary


def unreadable_finding(item: Input) -> Finding:
    """The finding that says a file could not be audited, and why."""
    name = item.path.name or str(item.path)
    return Finding(
        rule_id=UNREADABLE, severity="violation", check="main",
        message={"zh": f"台账“{item.path}”未能审计：{item.error['zh']}",
                 "en": f"Ledger '{item.path}' could not be audited: {item.error['en']}"},
        evidence=[Evidence(file=str(item.path), sheet="", row=0, cell=name)],
        evidence_total=1, identified_by_cells=True, file=str(item.path),
        details={"outcome": "unreadable", "reason": "unreadable"},
    )


def _run_key(finding: Finding):
    return (*sort_key(finding), finding.file or "")


@dataclass(frozen=True)
class Result:
    """What a run found. Built once by `combine` (and `with_baseline` when the run is
    recorded in a history); never changed afterwards."""
    inputs: list[Input]
    findings: list[Finding]
    evaluations: object                 # pandas DataFrame, EVALUATION_COLUMNS + file
    region_profiles: dict[str, str]
    years: list[int]
    started_at: str
    rules: dict
    options: dict = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    baseline: dict | None = None        # the history's counts; each finding carries its own state

    @classmethod
    def combine(cls, audits: list[Audit], rules: dict, started_at: str, options: dict | None = None) -> "Result":
        findings, frames, region_profiles = [], [], {}
        for audit in audits:
            where = str(audit.input.path)
            findings.extend(dataclasses.replace(f, file=where) for f in audit.findings)
            if audit.input.error:
                findings.append(unreadable_finding(audit.input))
            if audit.evaluations is not None and len(audit.evaluations):
                frames.append(audit.evaluations)
            region_profiles.update(audit.region_profiles)
        evaluations = (pd.concat(frames, ignore_index=True) if frames
                       else pd.DataFrame(columns=[*EVALUATION_COLUMNS, "file"]))
        years = sorted({y for a in audits for y in a.input.years})
        return cls(inputs=[a.input for a in audits], findings=sorted(findings, key=_run_key),
                   evaluations=evaluations, region_profiles=dict(sorted(region_profiles.items())), years=years,
                   started_at=started_at, rules=rules, options=dict(options or {}))

    def with_baseline(self, baseline: dict, states: list[str]) -> "Result":
        """This result as recorded in a history: `states` are history.record's, one per finding
        in this result's order, from the same call."""
        marked = [dataclasses.replace(f, baseline_state=s) for f, s in zip(self.findings, states, strict=True)]
        return dataclasses.replace(self, findings=marked, baseline=baseline)

    @property
    def audited(self) -> list[Input]:
        return [i for i in self.inputs if i.audited]

    @property
    def failed(self) -> list[Input]:
        return [i for i in self.inputs if not i.audited]

    @property
    def ledger(self) -> LedgerInfo:
        """The one ledger audited, or the set of them as one (for reports that name a ledger)."""
        if len(self.inputs) == 1:
            item = self.inputs[0]
            return LedgerInfo(item.path, {s["name"]: _SheetInfo(s) for s in item.sheets}, item.sha256)
        sheets = {}
        for item in self.audited:
            for s in item.sheets:
                sheets[f"{item.path}:{s['name']}"] = _SheetInfo({**s, "source": f"{item.path.name}：{s['source']}"})
        digest = hashlib.sha256(json.dumps([[str(i.path), i.sha256] for i in self.inputs]).encode()).hexdigest()
        return LedgerInfo(_common_parent([i.path for i in self.inputs]), sheets, digest)

    @functools.cached_property
    def summary(self) -> dict:
        """The run's counts and money (audit/summary.py): made once, read by every output (a 1M-row
        workbook's took 0.06 s, and the JSON, HTML and text each asked for it). Read-only."""
        return summarize(self)

    def to_dict(self) -> dict:
        """The findings document (runs/document.py)."""
        return document(self)

    def to_json(self) -> str:
        """The findings document as JSON text (no final newline)."""
        return b"".join(chunks(self)).decode("utf-8")

    def write_json(self, path) -> None:
        """Writes the findings document to `path`, a piece at a time, all at once or not at all
        (atomic.py): the text of a large run is never held whole."""
        with replacing_path(path) as temp, open(temp, "wb") as fh:
            write(self, fh)


def _common_parent(paths: list[Path]) -> Path:
    paths = [p for p in paths if isinstance(p, Path)]      # not a URL Spark read
    try:
        return Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    except ValueError:      # different drives, or URLs only
        return Path(".")
