"""What every output says the same way: severity and state labels, titles, amounts, cell
lists, and text made safe for a terminal or a spreadsheet. The one module the renderers
share; it imports nothing heavy, so the CLI can print an error through it at start-up."""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

SEVERITY_LABEL = {"zh": {"violation": "违规", "warning": "警示", "info": "提示"},
                  "en": {"violation": "violation", "warning": "warning", "info": "info"}}

STATE_TAG = {"zh": {"new": "[新增]", "updated": "[有变化]"}, "en": {"new": "[new]", "updated": "[updated]"}}

# A spreadsheet runs a cell starting with these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# What a terminal would act on instead of showing: C0 controls (ESC starts "clear the
# screen" or "set the window title"), DEL, C1 controls (0x9b is a one-byte CSI), the
# Unicode line and paragraph separators, and the bidirectional overrides that reorder
# what is shown. A newline or a tab in a cell is data too: shown escaped, it cannot
# forge a line of the report.
_OTHER_CONTROLS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile("[\x00-\x1f" + _OTHER_CONTROLS + "]")
_UNSAFE_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f" + _OTHER_CONTROLS + "]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def printable(text, keep_newlines: bool = False) -> str:
    """Text as it may reach a terminal: every control character shown as an escape
    (\\x1b, \\n, \\u202e) instead of acting. Values from a ledger (cell text, sheet and
    file names, messages quoting them) pass through this before they are printed;
    `keep_newlines` is for a whole report, whose own lines are already made safe."""
    return (_UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE).sub(_escape, str(text))


def width(text: str) -> int:
    """Display width: CJK characters take two terminal columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[printable(c) for c in headers]] + [[("" if c is None else printable(c)) for c in r] for r in rows]
    widths = [max(width(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, r in enumerate(cells):
        lines.append("  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def inert(value):
    """A text that cannot run as a formula; numbers and None pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def yuan(amount, lang: str) -> str:
    if amount is None:
        return ""
    return f"{amount:,.2f} 元" if lang == "zh" else f"{amount:,.2f} yuan"


def value_text(value, lang: str = "zh") -> str:
    """A profile parameter's value as a person writes it."""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, list):
        return "、".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def evidence_cells(finding) -> str:
    """Every evidence cell of a finding, and how many more there are (CSV, annotated workbook)."""
    cells = [e.cell for e in finding.evidence]
    total = finding.evidence_total if finding.evidence_total is not None else len(cells)
    more = f"; …(+{total - len(cells)})" if total > len(cells) else ""
    return "; ".join(cells) + more


def finding_brief(finding: dict, lang: str) -> str:
    """One line for a finding read back from a document or a history (a dict, not a Finding)."""
    where = f"({Path(finding['file']).name}) " if finding.get("file") else ""
    label = SEVERITY_LABEL[lang].get(finding["severity"], finding["severity"])
    return printable(f"[{label}] {finding['rule_id']} {where}"
                     f"{finding['message'].get(lang) or finding['message'].get('en', '')}")


def baseline_line(baseline: dict, lang: str) -> str:
    """The run against its history: how many findings are new, unchanged, updated, resolved."""
    c = baseline["counts"]
    baseline = {**baseline, "history": printable(baseline["history"])}
    if not baseline["previous_runs"]:
        return (f"历史：第 {baseline['run_seq']} 次运行已记录于 {baseline['history']}；这些地区此前没有运行记录，所有发现均为新增。"
                if lang == "zh" else
                f"History: recorded as run {baseline['run_seq']} in {baseline['history']}; no earlier run audited "
                "these regions, so every finding is new.")
    if lang == "zh":
        return (f"与上次运行相比（第 {baseline['run_seq']} 次运行，记录于 {baseline['history']}）：新增 {c['new']} 项，"
                f"未变 {c['unchanged']} 项，有变化 {c['updated']} 项，已整改（不再出现）{c['absent']} 项。")
    return (f"Since the previous run (recorded as run {baseline['run_seq']} in {baseline['history']}): "
            f"{c['new']} new, {c['unchanged']} unchanged, {c['updated']} updated, {c['absent']} resolved (absent now).")


def coverage_line(coverage: dict, lang: str, sheet_titles: dict[str, dict]) -> str:
    """How many guarantees were evaluated, and why the others were not (the sheets they lack,
    named by `sheet_titles`: canonical name -> {zh, en})."""
    n, done, missing = coverage["guarantees"], coverage["evaluated"], coverage["not_evaluated"]
    sheets = sorted({s for v in missing.values() for s in v})
    if lang == "zh":
        line = f"已评价 {done}/{n} 项保障要求"
        if missing:
            line += (f"；未评价 {len(missing)} 项（{'、'.join(missing)}），"
                     f"台账缺少工作表：{'、'.join(sheet_titles[s]['zh'] for s in sheets)}")
        return line + "。"
    line = f"Guarantees evaluated: {done} of {n}"
    if missing:
        line += (f"; not evaluated: {len(missing)} ({', '.join(missing)}), the ledger has no "
                 f"{', '.join(sheet_titles[s]['en'] for s in sheets)} sheet")
    return line + "."


def clause_source(clause: dict, lang: str) -> str:
    """国办发〔2018〕82号（国务院办公厅）二（五） / document (issuer), clause; marked 转述 when the
    text was read only in a paraphrase."""
    document, issuer, place = clause["document"], clause.get("issuer"), clause.get("clause") or ""
    paraphrase = str(clause.get("read", "")).startswith("转述")
    if lang == "zh":
        return (f"{document}（{issuer}）{place}" if issuer else f"{document}{place}") + ("（转述）" if paraphrase else "")
    text = ", ".join(p for p in (f"{document} ({issuer})" if issuer else document, place) if p)
    return text + (" (paraphrase)" if paraphrase else "")


def clause_line(clause: dict, lang: str) -> str:
    """One clause as every report prints it: where it is, then its text."""
    return f"{clause_source(clause, lang)}{'：' if lang == 'zh' else ': '}“{clause['text']}”"


def clauses_of(bases) -> list[dict]:
    """The clauses of several findings' bases (lists of clauses), each once, in the order
    first cited (national first)."""
    seen, out = set(), []
    for basis in bases:
        for clause in basis or ():
            key = (clause["profile"], clause["document"], clause["clause"], clause["text"])
            if key not in seen:
                seen.add(key)
                out.append(clause)
    return out


def basis_text(finding, lang: str) -> str:
    """A finding's clauses on one line (CSV, the annotated workbook's findings sheet)."""
    return "；".join(clause_line(c, lang) for c in finding.basis or ())


def implausible_line(count: int, lang: str) -> str | None:
    """Figures no real ledger has: a unit slip makes every verdict on them wrong, so it is said first."""
    if not count:
        return None
    if lang == "zh":
        return (f"注意：有 {count} 处数值明显不合常理，疑似单位填错（元与万元、人与万人），依此得出的违规和缺口不可信；"
                "请先核对（见 DATA_IMPLAUSIBLE_FIGURE）。")
    return (f"Note: {count} figure(s) no real ledger has, most likely a unit slip (元/万元, 人/万人): the violations "
            "and gaps resting on them cannot be trusted; check them first (see DATA_IMPLAUSIBLE_FIGURE).")


def partial_rows_line(rows: dict, lang: str, sheet_titles: dict[str, dict]) -> str | None:
    """The rows validation refused, which no rule saw: said before any verdict or money figure."""
    refused = {name: r for name, r in rows.items() if r["rejected"]}
    if not refused:
        return None
    if lang == "zh":
        parts = "；".join(f"{sheet_titles[n]['zh']} {r['read']} 行中 {r['rejected']} 行" for n, r in refused.items())
        return f"注意：{parts}未通过校验，未计入审计；以下结论只覆盖其余的行（见“台账数据检查”）。"
    parts = "; ".join(f"{r['rejected']} of {r['read']} rows of {sheet_titles[n]['en']}" for n, r in refused.items())
    return (f"Note: {parts} failed validation and were left out of the audit; the verdicts below cover "
            "only the other rows (see the ledger data checks).")


def unpriced_violations(result) -> int:
    """Guarantee violations whose gap is not money (a plan indicator's percentage points): the
    money total leaves them out, and the reader must not take "0.00 元" for "nothing owed"."""
    return sum(1 for f in result.findings if f.severity == "violation" and f.shortfall_yuan is None
               and getattr(result.rules.get(f.rule_id), "kind", None) == "guarantee")


def _combined(summary: dict) -> float:
    """The headline money: every violation closed, overlapping gaps once (remediation.py)."""
    return (summary.get("remediation") or {}).get("combined_yuan", summary["shortfall_yuan_total"])


def conclusion_lines(summary: dict, lang: str, sheet_titles: dict[str, dict], unpriced: int = 0) -> list[str]:
    """The verdict: rows left out first, then the guarantees' findings, the data problems and
    the ledgers not audited each counted apart, then the money."""
    lines = [line for line in [implausible_line(summary.get("implausible") or 0, lang),
                               partial_rows_line(summary.get("rows") or {}, lang, sheet_titles)] if line]
    g, d, i = (summary["by_class"][c] for c in ("guarantee", "data", "input"))
    data_total, not_audited = sum(d.values()), i["violation"]
    if lang == "zh":
        text = f"结论：保障要求 违规 {g['violation']} 项，警示 {g['warning']} 项，提示 {g['info']} 项；"
        text += (f"数据问题 {data_total} 项（违规 {d['violation']}、警示 {d['warning']}、提示 {d['info']}）；"
                 if data_total else "数据问题 0 项；")
        text += f"无法审计的台账 {not_audited} 个；" if not_audited else ""
        text += (f"整改所需资金 {_combined(summary):,.2f} 元（同一地区同一年度相互重叠的缺口只计一次；"
                 f"各规则缺口之和 {summary['shortfall_yuan_total']:,.2f} 元）")
        text += f"，另有 {unpriced} 项违规的差距不以资金计（见各发现）。" if unpriced else "。"
    else:
        text = (f"Result: guarantees: {g['violation']} violations, {g['warning']} warnings, {g['info']} info; "
                f"data problems: {data_total}")
        text += (f" ({d['violation']} violations, {d['warning']} warnings, {d['info']} info); " if data_total else "; ")
        text += f"ledgers not audited: {not_audited}; " if not_audited else ""
        text += (f"money needed to comply: {_combined(summary):,.2f} yuan (overlapping gaps of a region and year "
                 f"counted once; the rules' gaps summed: {summary['shortfall_yuan_total']:,.2f} yuan)")
        text += (f"; {unpriced} violation(s) are not measured in money (see each finding)." if unpriced else ".")
    lines.append(text)
    return lines


def profile_years(evaluations, rule_id: str) -> list[tuple[str, int]]:
    """(profile, year) of every subject a rule evaluated: the years each profile's clauses are
    cited for in a rule's section, passes included."""
    ev = evaluations[(evaluations["rule_id"] == rule_id) & evaluations["year"].notna() & evaluations["profile"].notna()]
    # A rule evaluates every school of a national ledger: its (profile, year) pairs are few.
    pairs = ev[["profile", "year"]].drop_duplicates()
    return sorted({(p, int(y)) for p, y in zip(pairs["profile"], pairs["year"])})


def local_time(stamp) -> str:
    """A recorded UTC time as the reader's clock shows it, with its offset
    (2026-12-04 00:18:52 +08:00); what cannot be read as a time is shown as it is."""
    try:
        when = dt.datetime.fromisoformat(str(stamp))
    except ValueError:
        return str(stamp)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    local = when.astimezone()
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"
