"""The summary of a check: counts by severity and rule, money gaps, and the matrix of
guarantee x region x year (compliant / violated / warning / not evaluable)."""
from __future__ import annotations

from collections import defaultdict

from .findings import SEVERITIES

_STATUS_RANK = {"violated": 4, "warning": 3, "not_evaluable": 2, "compliant": 1}


def summarize(result) -> dict:
    by_severity = {s: 0 for s in SEVERITIES}
    by_rule: dict[str, dict] = defaultdict(lambda: {"violation": 0, "warning": 0, "info": 0, "pass": 0,
                                                   "shortfall_yuan": 0.0})
    for f in result.findings:
        by_severity[f.severity] += 1
        entry = by_rule[f.rule_id]
        entry[f.severity] += 1
        if f.severity == "violation" and f.shortfall_yuan:
            entry["shortfall_yuan"] += f.shortfall_yuan
    for e in result.evaluations:
        if e["outcome"] == "pass":
            by_rule[e["rule_id"]]["pass"] += 1
    matrix = _matrix(result)
    total = sum(f.shortfall_yuan or 0 for f in result.findings if f.severity == "violation")
    return {
        "by_severity": by_severity,
        "by_rule": {k: {**v, "shortfall_yuan": round(v["shortfall_yuan"], 2)} for k, v in sorted(by_rule.items())},
        "shortfall_yuan_total": round(total, 2),
        "profiles": dict(sorted(result.region_profiles.items())),
        "years": result.years,
        "matrix": matrix,
    }


def _matrix(result) -> list[dict]:
    """Worst status per rule x region x year, from evaluations and the findings they produced."""
    cells: dict[tuple, str] = {}
    names = {}
    severity_of = {}
    for f in result.findings:
        if f.subject.get("region_code") and f.subject.get("year") is not None:
            key = (f.rule_id, f.subject["region_code"], f.subject["year"])
            status = {"violation": "violated", "warning": "warning"}.get(f.severity)
            if f.severity == "info":
                status = "not_evaluable" if (f.details or {}).get("outcome") == "unevaluable" else None
            if status and _STATUS_RANK[status] > _STATUS_RANK.get(severity_of.get(key), 0):
                severity_of[key] = status
    for e in result.evaluations:
        if e.get("region_code") is None or e.get("year") is None:
            continue
        key = (e["rule_id"], e["region_code"], e["year"])
        names[e["region_code"]] = e.get("region_name")
        status = severity_of.get(key, "compliant" if e["outcome"] == "pass" else None)
        if status and _STATUS_RANK[status] > _STATUS_RANK.get(cells.get(key), 0):
            cells[key] = status
    return [{"rule_id": r, "region_code": c, "region_name": names.get(c), "year": y, "status": s}
            for (r, c, y), s in sorted(cells.items())]
