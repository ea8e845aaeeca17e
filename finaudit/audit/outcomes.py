"""A rule's result rows -> findings: failures with the severity in force, cases that could not
be evaluated as info notes, each with its message, parameters and evidence cells."""
from __future__ import annotations

import pyarrow.compute as pc

from finaudit.audit import profiles as profiles_mod
from finaudit.audit.catalogue import Rule
from finaudit.audit.evaluations import REJECTED_ROWS_MESSAGE
from finaudit.audit.messages import render
from finaudit.audit.queries import row_lists
from finaudit.errors import RuleError
from finaudit.findings import Evidence, Finding
from finaudit.intake.model import Ledger
from finaudit.intake.schema import load_schemas


def _subject(row: dict) -> dict:
    return {k: row.get(k) for k in ("region_code", "region_name", "year", "level", "school_id")}


def reported(table) -> list[dict]:
    """The rows that become findings: failures and cases that could not be evaluated."""
    return table.filter(pc.not_equal(table.column("outcome"), "pass")).to_pylist()


def profile_of(row: dict, region_profiles: dict[str, str], forced: str | None) -> str:
    code = row.get("region_code")
    return forced or region_profiles.get(code) or profiles_mod.most_specific(code or "")


def to_finding(rule: Rule, row: dict, profile_id: str, ledger: Ledger, draft_severity: str | None = None) -> Finding:
    outcome = row["outcome"]
    check_name = row.get("check_name") or "main"
    # A check name may be qualified by the item it was checked on, `check.item` (PLAN_TARGET:
    # `binding.compulsory_consolidation`): the check gives the message, severity and clauses;
    # the whole name identifies the finding, so two indicators of one region-year stay two.
    base_check = check_name.split(".", 1)[0]
    year = row.get("year")
    if outcome == "fail":
        # A check with a severity of its own (an advisory comparison) keeps it; a profile's
        # override (力争 makes a requirement advisory) applies to the rule's main checks.
        own = (rule.checks.get(base_check) or {}).get("severity")
        severity = own or (profiles_mod.severity_override(profile_id, rule.id, year) if year else None) \
            or rule.severity
        if rule.kind == "draft" and draft_severity is not None:
            severity = draft_severity
        # Data-integrity rules name the sheet as their check and share one message.
        spec = rule.checks.get(base_check) or (rule.checks["main"] if list(rule.checks) == ["main"] else None)
        if spec is None:
            raise RuleError(f"rules/{rule.path.name} 没有声明检查“{check_name}”。",
                            f"rules/{rule.path.name} does not declare check '{check_name}'.")
        template = spec["message"]
    elif outcome == "unevaluable":
        severity = "info"
        reason = row.get("reason")
        if reason == "rejected_rows":
            template = REJECTED_ROWS_MESSAGE
        elif reason not in rule.unevaluable:
            raise RuleError(f"rules/{rule.path.name} 没有为原因“{reason}”提供说明（unevaluable）。",
                            f"rules/{rule.path.name} has no unevaluable message for reason '{reason}'.")
        else:
            template = rule.unevaluable[reason]
    else:
        raise RuleError(f"rules/{rule.path.with_suffix('.sql').name} 返回了未知的 outcome“{outcome}”。",
                        f"rules/{rule.path.with_suffix('.sql').name} returned unknown outcome '{outcome}'.")
    evidence, total = _evidence(ledger, rule, row)
    used = dict(profiles_mod.parameters_used(tuple(rule.parameters), profile_id, year))
    return Finding(
        rule_id=rule.id, severity=severity, message=render(template, row, rule),
        subject=_subject(row), evidence=evidence,
        measure={"actual": _round(row.get("actual")), "required": _round(row.get("required")),
                 "unit": row.get("unit") or rule.measures.get("unit")},   # a plan indicator's own
        shortfall_yuan=_round(row.get("shortfall_yuan")) if outcome == "fail" else None,
        basis=[dict(c) for c in profiles_mod.clauses(profile_id, rule.id, year, base_check)], profile=profile_id,
        parameters=used,
        check=check_name,
        details={"outcome": outcome, "reason": row.get("reason")} if outcome == "unevaluable" or row.get("reason")
        else None,
        evidence_total=total, identified_by_cells=rule.identified_by_cells,
    )


def _round(value):
    return None if value is None else round(float(value), 2)


def _evidence(ledger: Ledger, rule: Rule, row: dict) -> tuple[list[Evidence], int]:
    """The cells a result rests on: each `<sheet>_rows` list, pointing at the sheet's measure column."""
    evidence, total = [], 0
    for name in row_lists(rule):
        rows = row.get(name) or []
        total += row.get(f"{name}_total") or len(rows)
        if rows:
            evidence.extend(ledger.sheets[name[:-5]].measure_evidence(rows, rule.evidence_column))
    return evidence, total


def missing_sheets_finding(rule: Rule, missing: list[str]) -> Finding:
    """The one note for a rule the ledger lacks a sheet for: not evaluated, never compliant."""
    titles = [load_schemas()[s].title for s in missing]
    zh = "、".join(f"“{t['zh']}”" for t in titles)
    en = ", ".join(f"'{t['en']}' ({t['zh']})" for t in titles)
    return Finding(
        rule_id=rule.id, severity="info",
        message={"zh": f"未评价：台账没有{zh}工作表，本项要求无法评价（不等于符合）。",
                 "en": f"Not evaluated: the ledger has no {en} sheet, so this requirement cannot be judged "
                       "(which is not the same as met)."},
        basis=[], check="main",
        details={"outcome": "unevaluable", "reason": "missing_sheet", "sheets": list(missing)},
    )
