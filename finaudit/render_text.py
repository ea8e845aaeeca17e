"""Terminal output: sheet accounting, summaries and findings, in Chinese or English."""
from __future__ import annotations

import unicodedata

SEVERITY_LABEL = {"zh": {"violation": "违规", "warning": "警示", "info": "提示"},
                  "en": {"violation": "violation", "warning": "warning", "info": "info"}}


def width(text: str) -> int:
    """Display width: CJK characters take two terminal columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(c) for c in headers]] + [[("" if c is None else str(c)) for c in r] for r in rows]
    widths = [max(width(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def sheets_table(sheets: list[dict], lang: str) -> str:
    if lang == "zh":
        headers = ["工作表", "来源", "读取行", "有效行", "拒绝行", "空行", "金额单位"]
    else:
        headers = ["sheet", "source", "rows read", "valid", "rejected", "blank", "unit"]
    rows = [[s["name"], s["source"] + (" (隐藏)" if s["hidden"] and lang == "zh" else " (hidden)" if s["hidden"] else ""),
             s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_blank"], s["unit"]] for s in sheets]
    return table(headers, rows)


def finding_line(finding, lang: str) -> str:
    return f"[{SEVERITY_LABEL[lang][finding.severity]}] {finding.rule_id}  {finding.text(lang)}"


def yuan(amount, lang: str) -> str:
    if amount is None:
        return ""
    return f"{amount:,.2f} 元" if lang == "zh" else f"{amount:,.2f} yuan"
