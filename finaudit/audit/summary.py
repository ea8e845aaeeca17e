"""The summary of a check: counts by severity and rule, money gaps, and the matrix of
guarantee x region x year (compliant / violated / warning / not evaluable)."""
from __future__ import annotations

from collections import defaultdict

from finaudit.audit.catalogue import kind_of
from finaudit.audit.remediation import remediation
from finaudit.findings import SEVERITIES

IMPLAUSIBLE = "DATA_IMPLAUSIBLE_FIGURE"
_STATUS_RANK = {"violated": 4, "warning": 3, "not_evaluable": 2, "compliant": 1}


def finding_class(rule_id: str, rules: dict) -> str:
    """"guarantee" (a statutory guarantee or the draft pre-audit), "data" (a problem of the
    ledger's data: a refused cell, a data-integrity check) or "input" (a ledger not audited):
    counted apart, so a data problem is never read as a broken guarantee, nor the reverse."""
    rule = rules.get(rule_id)
    kind = rule.kind if rule is not None else kind_of(rule_id)
    return {"guarantee": "guarantee", "draft": "guarantee", "input": "input"}.get(kind, "data")


def summarize(result) -> dict:
    by_class = {c: {s: 0 for s in SEVERITIES} for c in ("guarantee", "data", "input")}
    by_severity = {s: 0 for s in SEVERITIES}
    by_rule: dict[str, dict] = defaultdict(lambda: {"violation": 0, "warning": 0, "info": 0, "pass": 0,
                                                   "shortfall_yuan": 0.0})
    for f in result.findings:
        by_severity[f.severity] += 1
        by_rule[f.rule_id][f.severity] += 1
        by_class[finding_class(f.rule_id, result.rules)][f.severity] += 1
    for rule_id, gap in _rule_gaps(result.findings, result.rules).items():
        by_rule[rule_id]["shortfall_yuan"] = gap
    ev = result.evaluations
    for rule_id, passes in ev[ev["outcome"] == "pass"].groupby("rule_id").size().items():
        by_rule[rule_id]["pass"] += int(passes)
    matrix = _matrix(result)
    total = sum(v["shortfall_yuan"] for v in by_rule.values())
    return {
        "by_severity": by_severity,
        "by_class": by_class,
        "by_rule": {k: {**v, "shortfall_yuan": round(v["shortfall_yuan"], 2)} for k, v in sorted(by_rule.items())},
        "shortfall_yuan_total": round(total, 2),
        # the money that closes every violation, overlapping gaps counted once (the headline)
        "remediation": remediation(result),
        "profiles": dict(sorted(result.region_profiles.items())),
        "years": result.years,
        "matrix": matrix,
        "coverage": coverage(result),
        "rows": rows_audited(result),
        # Figures outside the plausibility bounds (a unit slip?): said before any verdict.
        "implausible": sum(1 for f in result.findings if f.rule_id == IMPLAUSIBLE and f.severity != "info"),
    }


def rows_audited(result) -> dict:
    """Per sheet, over the ledgers audited: rows read and rows refused by validation, which
    no rule saw. A conclusion is only as wide as the rows it rests on."""
    out: dict[str, dict] = {}
    for item in result.inputs:
        for sheet in item.sheets if item.error is None else ():
            acc = out.setdefault(sheet["name"], {"read": 0, "rejected": 0})
            acc["read"] += sheet.get("rows_read") or 0
            acc["rejected"] += sheet.get("rows_rejected") or 0
    return dict(sorted(out.items()))


def coverage(result) -> dict:
    """How many of the statutory guarantees the run could evaluate, and for each it could not,
    the sheets it lacked (in any of the run's ledgers): a requirement not evaluated is never
    reported as met."""
    guarantees = [r.id for r in result.rules.values() if r.kind == "guarantee" and r.stage == "sql"]
    missing: dict[str, list[str]] = {}
    for f in result.findings:
        if (f.details or {}).get("reason") == "missing_sheet":
            sheets = missing.setdefault(f.rule_id, [])
            sheets.extend(s for s in f.details["sheets"] if s not in sheets)
    not_evaluated = {rid: missing[rid] for rid in guarantees if rid in missing}
    return {"guarantees": len(guarantees), "evaluated": len(guarantees) - len(not_evaluated),
            "not_evaluated": not_evaluated}


def _rule_gaps(findings, rules) -> dict[str, float]:
    """Money needed per rule, counting each region and year once.

    A rule may report the same money twice: per school and for the region, per level
    and overall. Per rule, region and year the gap is the larger of the detailed sum
    (schools, or levels) and the aggregate one. For floors the school sum is always
    the larger (a school above the floor does not lift one below it); for per-student
    spending neither bounds the other, so the larger is what complying with both needs.
    A rule whose per-level findings detail its overall one says so (`levels_detail_overall`).
    Gaps of different rules may overlap: the grand total is their sum, an upper bound.
    """
    detailed: dict[tuple, float] = defaultdict(float)
    aggregate: dict[tuple, float] = defaultdict(float)
    for f in findings:
        if f.severity != "violation" or not f.shortfall_yuan:
            continue
        s = f.subject
        if s.get("school_id"):
            detailed[(f.rule_id, f.check, s.get("region_code"), s.get("year"), s.get("level"))] += f.shortfall_yuan
        elif s.get("level") and getattr(rules.get(f.rule_id), "levels_detail_overall", False):
            detailed[(f.rule_id, f.check, s.get("region_code"), s.get("year"), None)] += f.shortfall_yuan
        else:
            aggregate[(f.rule_id, f.check, s.get("region_code"), s.get("year"), s.get("level"))] += f.shortfall_yuan
    gaps: dict[str, float] = defaultdict(float)
    for key in set(detailed) | set(aggregate):
        gaps[key[0]] += max(detailed.get(key, 0.0), aggregate.get(key, 0.0))
    return dict(gaps)


def _matrix(result) -> list[dict]:
    """Worst status per rule x region x year, from evaluations and the findings they produced."""
    severity_of: dict[tuple, str] = {}
    for f in result.findings:
        if f.subject.get("region_code") and f.subject.get("year") is not None:
            key = (f.rule_id, f.subject["region_code"], f.subject["year"])
            status = {"violation": "violated", "warning": "warning"}.get(f.severity)
            if f.severity == "info":
                status = "not_evaluable" if (f.details or {}).get("outcome") == "unevaluable" else None
            if status and _STATUS_RANK[status] > _STATUS_RANK.get(severity_of.get(key), 0):
                severity_of[key] = status
    ev = result.evaluations.dropna(subset=["region_code", "year"])
    ev = ev.assign(passed=ev["outcome"].eq("pass"))
    # the least name, not the first: rows come in the order the engine returned them, and a
    # region code written with two names gave DuckDB's and Spark's runs different matrices
    groups = ev.groupby(["rule_id", "region_code", "year"], sort=True).agg(
        region_name=("region_name", "min"), passed=("passed", "max"))
    cells = []
    for (rule_id, code, year), row in zip(groups.index, groups.itertuples(index=False)):
        key = (rule_id, code, int(year))
        status = severity_of.get(key) or ("compliant" if row.passed else None)
        if status:
            cells.append({"rule_id": rule_id, "region_code": code, "region_name": row.region_name,
                          "year": int(year), "status": status})
    return cells
