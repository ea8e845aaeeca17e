"""The findings as SARIF 2.1.0, for code-scanning dashboards and CI annotations.

A ledger cell has no line and column, so every location names the file (physical
location) and the cell as a logical location of kind "cell" (教育经费!H70). The
output is deterministic: no timestamps, rules in id order, results in finding order.
"""
from __future__ import annotations

from pathlib import Path, PurePath
from urllib.parse import quote

from finaudit import __version__
from finaudit.atomic import write_text
from finaudit.audit.catalogue import finding_codes
from finaudit.audit.profiles import held_to
from finaudit.intake.model import file_digest
from finaudit.report.labels import clause_line, clause_source, clauses_of, profile_years
from finaudit.runs.document import dumps

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"violation": "error", "warning": "warning", "info": "note"}
LANGUAGE_TAGS = {"zh": "zh-CN", "en": "en"}

_LABELS = {
    "zh": {"requirement": "要求", "basis": "依据", "why": "为何重要", "remediation": "整改", "unit": "单位"},
    "en": {"requirement": "Requirement", "basis": "Basis", "why": "Why it matters", "remediation": "Remediation",
           "unit": "Unit"},
}


def artifact_uri(file: str) -> str:
    """A file as given: relative paths stay relative (percent-encoded), absolute ones become file:// URIs."""
    path = PurePath(file)
    return Path(path).as_uri() if path.is_absolute() else quote(path.as_posix(), safe="/")


def _camel(rule_id: str) -> str:
    return "".join(part.capitalize() for part in rule_id.split("_"))


def _help(title: str, requirement: str, clauses: list[dict], why: str, remediation: str, lang: str) -> dict:
    labels, colon = _LABELS[lang], ("：" if lang == "zh" else ": ")
    text = "\n".join([title, f"{labels['requirement']}{colon}{requirement}",
                      *(f"{labels['basis']}{colon}{clause_line(c, lang)}" for c in clauses),
                      f"{labels['why']}{colon}{why}", f"{labels['remediation']}{colon}{remediation}"])
    markdown = "\n\n".join([f"**{title}**", f"**{labels['requirement']}**{colon}{requirement}",
                             *(f"**{labels['basis']}**{colon}{clause_source(c, lang)}\n\n> {c['text']}" for c in clauses),
                             f"**{labels['why']}**{colon}{why}", f"**{labels['remediation']}**{colon}{remediation}"])
    return {"text": text, "markdown": markdown}


def _rule_descriptor(rule, lang: str, clauses: list[dict]) -> dict:
    what, unit = rule.measures.get("what") or {}, rule.measures.get("unit")
    description = what.get(lang, "") if isinstance(what, dict) else str(what)
    if unit:
        description += f"（{_LABELS[lang]['unit']}：{unit}）" if lang == "zh" else f" ({_LABELS[lang]['unit']}: {unit})"
    return {
        "id": rule.id, "name": _camel(rule.id),
        "shortDescription": {"text": rule.title[lang]},
        "fullDescription": {"text": description},
        "help": _help(rule.title[lang], rule.requirement[lang], clauses, rule.why_it_matters[lang],
                      rule.remediation[lang], lang),
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"severity": rule.severity, "requirement": rule.requirement, "basis": clauses,
                       **({"unit": unit} if unit else {})},
    }


def _generic_descriptor(rule_id: str, severity: str, lang: str) -> dict:
    """The descriptor of a code without a rule file (rules/codes.yaml)."""
    code = finding_codes()[rule_id]
    title = code.title[lang]
    basis = code.basis or {"document": "finaudit", "issuer": "finaudit", "clause": code.id, "text": code.description["zh"]}
    return {
        "id": rule_id, "name": _camel(rule_id),
        "shortDescription": {"text": title},
        "fullDescription": {"text": code.description[lang]},
        "help": _help(title, basis["text"], [], code.description[lang], code.remediation[lang], lang),
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": {"severity": severity, "requirement": code.description, "basis": []},
    }


def _artifacts(result) -> list[dict]:
    files = {str(e.file) for f in result.findings for e in f.evidence}
    if result.ledger.path.is_file():
        files.add(str(result.ledger.path))
    out = []
    for file in files:
        artifact = {"location": {"uri": artifact_uri(file)}}
        if Path(file).is_file():
            artifact["hashes"] = {"sha-256": file_digest(Path(file))}
        out.append(artifact)
    return sorted(out, key=lambda a: a["location"]["uri"])


def _locations(finding, ledger_uri: str, index: dict[str, int]) -> list[dict]:
    if not finding.evidence:
        return [{"physicalLocation": {"artifactLocation": {"uri": ledger_uri, **_index(ledger_uri, index)}}}]
    out = []
    for evidence in finding.evidence:
        uri = artifact_uri(evidence.file)
        out.append({"physicalLocation": {"artifactLocation": {"uri": uri, **_index(uri, index)}},
                    "logicalLocations": [{"name": evidence.cell, "kind": "cell"}]})
    return out


def _index(uri: str, index: dict[str, int]) -> dict:
    return {"index": index[uri]} if uri in index else {}


def _result(finding, lang: str, rule_index: dict[str, int], ledger_uri: str, artifact_index: dict) -> dict:
    out = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index[finding.rule_id],
        "level": LEVELS[finding.severity],
        "message": {"text": finding.text(lang)},
        "locations": _locations(finding, ledger_uri, artifact_index),
        "partialFingerprints": {"finaudit/v1": finding.fingerprint},
        "properties": {
            "subject": {k: finding.subject.get(k) for k in ("region_code", "region_name", "year", "level", "school_id")},
            "measure": finding.measure, "shortfall_yuan": finding.shortfall_yuan, "profile": finding.profile,
            "check": finding.check, "basis": finding.basis,
            "evidence_total": finding.evidence_total if finding.evidence_total is not None else len(finding.evidence),
        },
    }
    if finding.baseline_state is not None:     # SARIF's own vocabulary: new / unchanged / updated
        out["baselineState"] = finding.baseline_state
    return out


def sarif(result, lang: str = "zh") -> dict:
    """The SARIF 2.1.0 log of one audit: one run, every rule described, one result per finding."""
    by_rule = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule_id, []).append(finding.basis)
    rules = [_rule_descriptor(rule, lang, clauses_of([*by_rule.get(rule.id, ()),
                                                      *held_to(profile_years(result.evaluations, rule.id), rule.id)]))
             for rule in result.rules.values()]
    known = set(result.rules)
    extra = {}
    for finding in result.findings:
        if finding.rule_id not in known and finding.rule_id not in extra:
            extra[finding.rule_id] = _generic_descriptor(finding.rule_id, finding.severity, lang)
    rules += [extra[k] for k in sorted(extra)]
    rule_index = {r["id"]: n for n, r in enumerate(rules)}
    artifacts = _artifacts(result)
    artifact_index = {a["location"]["uri"]: n for n, a in enumerate(artifacts)}
    ledger_uri = artifact_uri(str(result.ledger.path))
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "finaudit", "version": __version__, "semanticVersion": __version__,
                                "rules": rules}},
            "language": LANGUAGE_TAGS[lang],
            "artifacts": artifacts,
            "results": [_result(f, lang, rule_index, ledger_uri, artifact_index) for f in result.findings],
            "properties": {"profiles": dict(sorted(result.region_profiles.items())), "years": list(result.years)},
        }],
    }


def write_sarif(result, path, lang: str = "zh") -> None:
    """Writes the SARIF log as UTF-8 JSON (Chinese kept readable, not \\u-escaped)."""
    write_text(path, dumps(sarif(result, lang)) + "\n")
