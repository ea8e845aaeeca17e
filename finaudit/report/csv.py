"""The findings as CSV, one a row, for Excel and WPS users who filter and sort.

UTF-8 with a byte-order mark, so that Excel shows the Chinese; every text cell that
a spreadsheet would take for a formula gets a leading apostrophe (CSV injection).
Numbers are written as numbers.
"""
from __future__ import annotations

import csv

from finaudit.report.sarif import rule_title
from finaudit.report.text import SEVERITY_LABEL
from finaudit.intake.schema import enum_label

# What Excel, LibreOffice and WPS start a formula (or DDE call) with.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

HEADERS = {
    "zh": ["规则编号", "规则名称", "级别", "行政区划代码", "地区", "年度", "学段", "学校代码", "实际值", "要求值",
           "单位", "缺口（元）", "说明", "证据单元格", "指纹", "配置"],
    "en": ["rule_id", "rule_title", "severity", "region_code", "region_name", "year", "level", "school_id",
           "actual", "required", "unit", "shortfall_yuan", "message", "evidence", "fingerprint", "profile"],
}


def inert(value):
    """A text that cannot run as a formula; numbers and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def evidence_text(finding) -> str:
    cells = [e.cell for e in finding.evidence]
    total = finding.evidence_total if finding.evidence_total is not None else len(cells)
    more = f"; …(+{total - len(cells)})" if total > len(cells) else ""
    return "; ".join(cells) + more


def row(result, finding, lang: str) -> list:
    """One finding as the CSV columns, in HEADERS order (not yet made inert)."""
    subject, measure = finding.subject, finding.measure or {}
    level = subject.get("level")
    return [
        finding.rule_id, rule_title(result, finding.rule_id, lang), SEVERITY_LABEL[lang][finding.severity],
        subject.get("region_code"), subject.get("region_name"), subject.get("year"),
        enum_label("level", level, lang) if level else None, subject.get("school_id"),
        measure.get("actual"), measure.get("required"), measure.get("unit"), finding.shortfall_yuan,
        finding.text(lang), evidence_text(finding), finding.fingerprint, finding.profile,
    ]


def write_csv(result, path, lang: str = "zh") -> None:
    """Writes every finding as one CSV row (UTF-8 with BOM, CRLF line ends as Excel expects)."""
    from finaudit.atomic import replacing

    with replacing(path, encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS[lang])
        for finding in result.findings:
            writer.writerow([inert(v) for v in row(result, finding, lang)])
