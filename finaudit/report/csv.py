"""The findings as CSV, one a row, for Excel and WPS users who filter and sort.

UTF-8 with a byte-order mark, so that Excel shows the Chinese; every text cell that
a spreadsheet would take for a formula gets a leading apostrophe (CSV injection).
Numbers are written as numbers.
"""
from __future__ import annotations

import csv

from finaudit.atomic import replacing
from finaudit.audit.catalogue import code_title
from finaudit.intake.schema import enum_label
from finaudit.report.labels import SEVERITY_LABEL, basis_text, evidence_cells, inert

HEADERS = {
    "zh": ["规则编号", "规则名称", "级别", "行政区划代码", "地区", "年度", "学段", "学校代码", "实际值", "要求值",
           "单位", "缺口（元）", "说明", "证据单元格", "指纹", "配置", "依据"],
    "en": ["rule_id", "rule_title", "severity", "region_code", "region_name", "year", "level", "school_id",
           "actual", "required", "unit", "shortfall_yuan", "message", "evidence", "fingerprint", "profile", "basis"],
}


def row(result, finding, lang: str) -> list:
    """One finding as the CSV columns, in HEADERS order (not yet made inert)."""
    subject, measure = finding.subject, finding.measure or {}
    level = subject.get("level")
    return [
        finding.rule_id, code_title(finding.rule_id, lang, result.rules), SEVERITY_LABEL[lang][finding.severity],
        subject.get("region_code"), subject.get("region_name"), subject.get("year"),
        enum_label("level", level, lang) if level else None, subject.get("school_id"),
        measure.get("actual"), measure.get("required"), measure.get("unit"), finding.shortfall_yuan,
        finding.text(lang), evidence_cells(finding), finding.fingerprint, finding.profile, basis_text(finding, lang),
    ]


def write_csv(result, path, lang: str = "zh") -> None:
    """Writes every finding as one CSV row (UTF-8 with BOM, CRLF line ends as Excel expects)."""
    with replacing(path, encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADERS[lang])
        for finding in result.findings:
            writer.writerow([inert(v) for v in row(result, finding, lang)])
