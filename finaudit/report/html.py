"""The auditor's HTML report: one self-contained, offline, printable file.

The view model is built here; templates/ only lays it out (autoescaped, split into
partials). Charts are inline SVG from charts.py; CSS and the little JS are inline.
"""
from __future__ import annotations

import functools
import json
import re
import string
from collections import defaultdict
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from finaudit import __version__
from finaudit.atomic import write_text
from finaudit.audit.profiles import held_to, load_profiles, parameter, parameter_registry, shown_value
from finaudit.findings import SEVERITIES, SEVERITY_RANK
from finaudit.intake.schema import enum_label, load_schemas
from finaudit.report import charts
from finaudit.report.labels import (baseline_line, clause_source, clauses_of, coverage_line, finding_brief,
                                    implausible_line, local_time, partial_rows_line, profile_years,
                                    unpriced_violations, value_text)

EVIDENCE_SHOWN = 20            # evidence rows per finding in the HTML; JSON has them all
# Up to this many findings the rows are HTML and every group is open (reads without a script);
# above it a group's rows are built by the page's script from embedded data when it is opened.
INLINE_FINDINGS = 500
PRINT_ALL = 2000               # up to this many findings printing builds and prints every group
PAGE_ROWS = 200                # rows an opened group builds at a time
TEXT = {
    "zh": {"title": "教育经费保障审计报告", "violation": "违规", "warning": "警示", "info": "提示",
           "compliant": "符合", "violated": "违规", "not_evaluable": "未评价", "overall": "全学段",
           "paired_legend": ("实际", "须超过"), "short": "未超过", "progress_legend": ("任务进度", "时间进度", "落后")},
    "en": {"title": "Education funding guarantee audit", "violation": "violation", "warning": "warning",
           "info": "info", "compliant": "compliant", "violated": "violated", "not_evaluable": "not evaluable",
           "overall": "all levels", "paired_legend": ("actual", "to exceed"), "short": "not above",
           "progress_legend": ("progress to target", "time elapsed", "behind")},
}


@functools.lru_cache(maxsize=None)
def environment():
    """The jinja2 environment: autoescaping on, every filter registered here and only here."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("finaudit.report", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["yuan"] = _yuan
    env.filters["num"] = _num
    return env


def _yuan(v) -> str:
    return "" if v is None else f"{v:,.2f}"


def _num(v) -> str:
    return "" if v is None else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}")


def _subject_label(subject: dict, lang: str, school_name: str | None = None) -> str:
    parts = [subject.get("region_name") or subject.get("region_code") or ""]
    if subject.get("year") is not None:
        parts.append(f"{subject['year']}年" if lang == "zh" else str(subject["year"]))
    if subject.get("level"):
        parts.append(enum_label("level", subject["level"], lang))
    if subject.get("school_id"):
        parts.append(school_name or subject["school_id"])
    return " ".join(p for p in parts if p)


def _records(frame) -> list[dict]:
    """DataFrame rows as dicts with None for every missing value (NaN, NA, NaT)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _chart(rule, evaluations, lang: str) -> str:
    """The rule's chart from its evaluations (a DataFrame), passes included."""

    title = rule.title[lang]
    ev = evaluations
    ev = ev[(ev["rule_id"] == rule.id) & ev["actual"].notna()]
    if rule.chart == "progress":
        return _progress_chart(ev, title, lang)
    ev = ev[ev["check"] == "main"]
    if ev.empty or rule.chart not in ("trend", "bars", "paired"):
        return ""
    failed = ev["outcome"].eq("fail")
    if rule.chart == "paired":
        return _paired_chart(rule, ev, title, lang)
    if rule.chart == "trend":
        ev = ev[ev["school_id"].isna()]
        failing = set(zip(ev.loc[failed, "region_code"], ev.loc[failed, "level"]))
        in_failing = pd.Series([k in failing for k in zip(ev["region_code"], ev["level"])], index=ev.index, dtype=bool)
        keep = ev["level"].isna() | in_failing
        series = defaultdict(list)
        names = {}
        for e in _records(ev[keep]):
            key = (e["region_code"], e["level"])
            names[e["region_code"]] = e["region_name"] or e["region_code"]
            series[key].append((int(e["year"]), e["actual"], e["outcome"] == "fail"))
        ordered = sorted(series, key=lambda k: (k not in failing, k[0], k[1] or ""))
        return charts.trend([{"label": f"{names[c]} {enum_label('level', lv, lang) if lv else TEXT[lang]['overall']}",
                              "points": series[(c, lv)]} for c, lv in ordered], title)
    latest = ev.groupby("region_code")["year"].transform("max")
    chosen = ev[failed | (ev["year"] == latest)].sort_values(
        ["outcome", "region_code", "year", "level", "school_id"], key=lambda c: c.ne("fail") if c.name == "outcome" else c,
        na_position="first").head(charts.MAX_BARS)
    items = [{"label": _subject_label(e, lang, e["school_name"]), "actual": e["actual"],
              "required": e["required"], "failed": e["outcome"] == "fail"} for e in _records(chosen)]
    return charts.bars(items, title, rule.measures.get("unit", ""), lang, _fail_colour(rule))


def _paired_chart(rule, ev, title: str, lang: str) -> str:
    """Each region's years, oldest first, the measure beside what it must exceed; with more
    regions than fit, the failing ones first."""
    rows = _records(ev[ev["required"].notna()].sort_values(["region_code", "year"]))
    failing = {e["region_code"] for e in rows if e["outcome"] == "fail"}
    regions = sorted({e["region_code"] for e in rows}, key=lambda c: (c not in failing, c))
    shown = [e for c in regions for e in rows if e["region_code"] == c][:charts.MAX_BARS // 2]
    one_region = len({e["region_code"] for e in shown}) == 1
    items = [{"label": str(e["year"]) if one_region else f"{e['region_name'] or e['region_code']} {e['year']}",
              "actual": e["actual"], "required": e["required"], "failed": e["outcome"] == "fail"} for e in shown]
    legend = (rule.chart_legend or {}).get(lang) or list(TEXT[lang]["paired_legend"])
    return charts.paired(items, title, rule.measures.get("unit", ""), (*legend[:2], TEXT[lang]["short"]),
                         _fail_colour(rule))


def _progress_chart(ev, title: str, lang: str) -> str:
    """Plan indicators (PLAN_TARGET), each region's latest evaluated year: how far the value has
    come from the baseline towards the target (任务进度) beside how much of the plan period has
    passed (时间进度), both in percent; behind time is behind the straight path. An indicator
    without a baseline has no progress and is left out."""
    items = []
    ev = ev.assign(indicator=ev["check"].str.split(".", n=1).str[-1])     # path.X, binding.X, expected.X
    latest = ev.sort_values("year").groupby(["region_code", "indicator"]).tail(1)
    for e in _records(latest.sort_values(["region_code", "indicator"])):
        indicator = e["indicator"]
        entry = parameter(e["profile"], "plan_targets", int(e["year"])) if e["profile"] else None
        target = ((entry or {}).get("value") or {}).get(indicator)
        if not target or target.get("baseline") is None or target["target"] == target["baseline"]:
            continue
        span = target["target_year"] - target["baseline_year"]
        done = (e["actual"] - target["baseline"]) / (target["target"] - target["baseline"]) * 100
        elapsed = min(100.0, (int(e["year"]) - target["baseline_year"]) / span * 100)
        name = enum_label("indicator", indicator, lang)
        # behind in colour of its severity: a binding target missed is a violation, an
        # expected one a warning, lagging the path before the target year an info (drawn as a warning)
        items.append({"label": f"{e['region_name'] or e['region_code']} {e['year']} {name}", "actual": done,
                      "required": elapsed, "failed": e["outcome"] == "fail",
                      "fail": charts.FAIL if e["check"].startswith("binding.") else charts.WARN})
    return charts.paired(items, title, "%", TEXT[lang]["progress_legend"])


def _fail_colour(rule) -> str:
    """A failure drawn in the colour of its severity: a warning's is not a violation's red."""
    return charts.WARN if rule.severity == "warning" else charts.FAIL


class _Packer:
    """Findings as compact rows for the page's script, so 50,000 of them fit a page of a few MB:
    a repeated string is kept once (S), a message as its rule's template (T) and the values that
    filled it in. A row: [severity, subject (S), school, measure (S), gap, message, evidence cells
    [[sheet (S), cell, value?]], evidence not shown, fingerprint, state]."""

    def __init__(self, rules: dict, lang: str):
        self.rules, self.lang = rules, lang
        self.strings, self.index, self.templates, self.patterns, self.groups = [], {}, [], {}, []

    def intern(self, text: str) -> int:
        if text not in self.index:
            self.index[text] = len(self.strings)
            self.strings.append(text)
        return self.index[text]

    def _rule_patterns(self, rule_id: str) -> list:
        if rule_id not in self.patterns:
            rule, found = self.rules.get(rule_id), []
            specs = [*rule.checks.values(), *rule.unevaluable.values()] if rule else []
            texts = [m[self.lang] for spec in specs for m in (spec.get("message"), spec) if isinstance(m, dict)
                     and isinstance(m.get(self.lang), str)]
            for text in dict.fromkeys(texts):
                literals = [""]
                for literal, field, _, _ in string.Formatter().parse(text):
                    literals[-1] += literal
                    if field is not None and (literals[-1] or len(literals) == 1):
                        literals.append("")      # adjacent fields are one value
                if len(literals) > 1:
                    self.templates.append(literals)
                    found.append((len(self.templates) - 1,
                                  re.compile("(.*?)".join(map(re.escape, literals)) + r"\Z", re.S)))
            self.patterns[rule_id] = found
        return self.patterns[rule_id]

    def _message(self, finding):
        text = finding.text(self.lang)
        for index, pattern in self._rule_patterns(finding.rule_id):
            if match := pattern.match(text):
                return [index, *match.groups()]
        return text

    def row(self, f) -> list:
        m = f.measure or {}
        measure = f"{_num(m['actual'])} / {_num(m.get('required'))} {m.get('unit') or ''}" \
            if m.get("actual") is not None else ""
        cells = []
        for e in f.evidence[:EVIDENCE_SHOWN]:
            sheet, _, ref = e.cell.rpartition("!")
            cells.append([self.intern(sheet), ref] if sheet else [-1, e.cell])
            if e.value is not None:
                cells[-1].append(str(e.value))
        total = f.evidence_total if f.evidence_total is not None else len(f.evidence)
        more = max(0, total - min(len(f.evidence), EVIDENCE_SHOWN))
        return [SEVERITIES.index(f.severity), self.intern(_subject_label({**f.subject, "school_id": None}, self.lang)),
                f.subject.get("school_id") or "", self.intern(measure), _yuan(f.shortfall_yuan) if f.shortfall_yuan else "",
                self._message(f), cells, more, f.fingerprint,
                f.baseline_state if f.baseline_state in ("new", "updated") else ""]

    def group(self, findings: list, names: dict, inline: bool) -> list[dict]:
        """A section's findings by region: the most severe and the largest gap first; each group's
        rows packed, and as HTML too when the report is small."""
        by_region = defaultdict(list)
        for f in findings:
            by_region[f.subject.get("region_code") or ""].append(f)
        out = []
        for code, fs in by_region.items():
            self.groups.append([self.row(f) for f in fs])
            out.append({"id": len(self.groups) - 1, "code": code, "size": len(fs),
                        "name": names.get(code) or next((f.subject["region_name"] for f in fs
                                                         if f.subject.get("region_name")), code),
                        "counts": {sev: sum(f.severity == sev for f in fs) for sev in SEVERITIES},
                        "gap": sum(f.shortfall_yuan or 0 for f in fs if f.severity != "info"),
                        "rank": max(SEVERITY_RANK[f.severity] for f in fs),
                        "rows": [{**_finding_view(f, self.lang), "i": i} for i, f in enumerate(fs)] if inline else []})
        return sorted(out, key=lambda g: (-g["rank"], -g["gap"], g["code"]))

    def script_json(self) -> Markup:
        """The data as JSON safe inside <script type="application/json">: no <, > or & (so no
        </script>), no U+2028/2029; the page reads it with JSON.parse and shows it as text."""
        text = json.dumps({"S": self.strings, "T": self.templates, "G": self.groups},
                          ensure_ascii=False, separators=(",", ":"))
        for char in "<>&\u2028\u2029":
            text = text.replace(char, f"\\u{ord(char):04x}")
        return Markup(text)


def _finding_view(finding, lang: str) -> dict:
    total = finding.evidence_total if finding.evidence_total is not None else len(finding.evidence)
    return {
        "f": finding,
        "state": finding.baseline_state,     # against the history, when one is kept
        "subject": _subject_label(finding.subject, lang),
        "region": finding.subject.get("region_code") or "",
        "message": finding.text(lang),
        "evidence": finding.evidence[:EVIDENCE_SHOWN],
        "evidence_more": max(0, total - min(len(finding.evidence), EVIDENCE_SHOWN)),
    }


def _section_basis(evaluations, rule_id: str, findings: list, lang: str) -> list[dict]:
    """The clauses a rule's section quotes: those its findings cite and those its passes were
    held to (`evaluations`: the rule's), each once, national first, with the level that issued it."""
    profiles = load_profiles()
    cited = clauses_of([*(f.basis for f in findings), *held_to(profile_years(evaluations, rule_id), rule_id)])
    return [{"text": c["text"], "source": clause_source(c, lang), "profile": profiles[c["profile"]].name[lang]}
            for c in cited]


def view(result, lang: str = "zh") -> dict:
    """Everything the templates show, in display order."""
    summary = result.summary
    profiles = load_profiles()
    baseline = result.baseline          # set when the run was recorded in a history
    # Each rule's evaluations split off once (filtered rule by rule: 0.2 s for a 1M-row workbook)
    per_rule = dict(tuple(result.evaluations.groupby("rule_id", sort=False, observed=True)))
    by_rule = defaultdict(list)
    for finding in result.findings:
        by_rule[finding.rule_id].append(finding)
    sections = []
    titles = {name: schema.title for name, schema in load_schemas().items()}
    packer, inline = _Packer(result.rules, lang), len(result.findings) <= INLINE_FINDINGS
    names = {c["region_code"]: c.get("region_name") or c["region_code"] for c in summary["matrix"]}
    # Breached guarantees first, then the rest; data-integrity checks last.
    ordered = sorted(result.rules.items(), key=lambda kv: (
        not any(f.severity != "info" for f in by_rule.get(kv[0], [])), kv[1].kind == "data", kv[0]))
    for rule_id, rule in ordered:
        findings = by_rule.pop(rule_id, [])
        evaluated, ev = rule_id in per_rule, per_rule.get(rule_id, result.evaluations.iloc[:0])
        if not findings and not evaluated:
            continue
        findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], -(f.shortfall_yuan or 0)))
        registry = parameter_registry()
        used = sorted({(registry[name]["description"][lang], value_text(shown_value(name, p["value"], lang), lang),
                        p["source"], f.profile) for f in findings
                       for name, p in (f.parameters or {}).items() if p is not None})
        # a rule no ledger of the run could feed: grey "not evaluated", no chart, never "no violation"
        lacking = sorted({s for f in findings if (f.details or {}).get("reason") == "missing_sheet"
                          for s in f.details["sheets"]}) if not evaluated else []
        sections.append({"rule": rule, "counts": summary["by_rule"].get(rule_id, {}), "parameters": used,
                         "basis": _section_basis(ev, rule_id, findings, lang),
                         "not_evaluated": [titles[s][lang] for s in lacking],
                         "chart": "" if lacking else _chart(rule, ev, lang),
                         "breached": any(f.severity != "info" for f in findings),
                         "groups": packer.group(findings, names, inline)})
    checks = sorted((f for fs in by_rule.values() for f in fs), key=lambda f: -SEVERITY_RANK[f.severity])
    ledger_checks = packer.group(checks, names, inline)        # SCHEMA_* etc.

    regions = {}
    for cell in summary["matrix"]:
        regions.setdefault(cell["region_code"], cell.get("region_name") or cell["region_code"])
    years = sorted({c["year"] for c in summary["matrix"]})
    matrix = defaultdict(dict)
    for cell in summary["matrix"]:
        matrix[cell["rule_id"]][(cell["region_code"], cell["year"])] = cell["status"]
    used = sorted(set(result.region_profiles.values()))
    return {
        "lang": lang, "t": TEXT[lang], "version": __version__, "started_at": local_time(result.started_at),
        "ledger": {"name": Path(result.ledger.path).name, "sha256": result.ledger.sha256() or "—",  # none: a URL Spark read
                   "sheets": [{**s.summary(), "title": titles[s.summary()["name"]][lang]
                               if s.summary()["name"] in titles else s.summary()["name"]}
                              for s in result.ledger.sheets.values()]},
        "profiles": [{"id": pid, "name": profiles[pid].name[lang], "documents": profiles[pid].documents,
                      "regions": sorted(r for r, p in result.region_profiles.items() if p == pid)} for pid in used],
        "summary": summary, "sections": sections, "ledger_checks": ledger_checks, "inline": inline,
        "total": len(result.findings), "print_all": len(result.findings) <= PRINT_ALL, "page_rows": PAGE_ROWS, "data": packer.script_json(),
        "matrix": {"rules": [s["rule"] for s in sections if s["rule"].id in matrix], "regions": regions,
                   "years": years, "cells": matrix},
        "region_names": regions,
        "coverage": coverage_line(summary["coverage"], lang, titles),
        "partial_rows": partial_rows_line(summary["rows"], lang, titles),
        "implausible": implausible_line(summary["implausible"], lang),
        "data_problems": sum(summary["by_class"]["data"].values()),
        "unpriced": unpriced_violations(result),
        "history": None if baseline is None else {
            "line": baseline_line(baseline, lang),
            "resolved": [finding_brief(f, lang) for f in baseline.get("absent", []) if f["severity"] != "info"]},
    }


def render(result, lang: str = "zh") -> str:
    return environment().get_template("report.html.j2").render(**view(result, lang))


def write_html(result, path: Path, lang: str = "zh") -> None:
    """Writes the report all at once or not at all (atomic.py)."""
    write_text(path, render(result, lang))
