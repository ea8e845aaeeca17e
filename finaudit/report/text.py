"""Terminal output: sheet accounting, summaries and findings, in Chinese or English."""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

SEVERITY_LABEL = {"zh": {"violation": "违规", "warning": "警示", "info": "提示"},
                  "en": {"violation": "violation", "warning": "warning", "info": "info"}}


STATE_TAG = {"zh": {"new": "[新增]", "updated": "[有变化]"}, "en": {"new": "[new]", "updated": "[updated]"}}


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


def sheets_table(sheets: list[dict], lang: str) -> str:
    if lang == "zh":
        headers = ["工作表", "来源", "读取行", "有效行", "拒绝行", "空行", "金额单位"]
    else:
        headers = ["sheet", "source", "rows read", "valid", "rejected", "blank", "unit"]
    rows = [[s["name"], s["source"] + (" (隐藏)" if s["hidden"] and lang == "zh" else " (hidden)" if s["hidden"] else ""),
             s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_blank"], s["unit"]] for s in sheets]
    if any(s.get("hidden_rows") for s in sheets):   # rows read although the workbook hides them
        headers.append("其中隐藏行" if lang == "zh" else "of which hidden")
        for row, s in zip(rows, sheets):
            row.append(s.get("hidden_rows") or "")
    return table(headers, rows)


def finding_line(finding, lang: str) -> str:
    return f"[{SEVERITY_LABEL[lang][finding.severity]}] {finding.rule_id}  {printable(finding.text(lang))}"


def yuan(amount, lang: str) -> str:
    if amount is None:
        return ""
    return f"{amount:,.2f} 元" if lang == "zh" else f"{amount:,.2f} yuan"


def _evidence_text(finding, limit: int = 4) -> str:
    cells = [printable(e.cell) for e in finding.evidence[:limit]]
    total = finding.evidence_total if finding.evidence_total is not None else len(finding.evidence)
    more = total - len(cells)
    return ", ".join(cells) + (f" …(+{more})" if more > 0 else "")


def check_report(result, lang: str, show_info: bool = False) -> str:
    """The terminal report of a check: facts of the run, the summary, then findings by rule.
    Over several ledgers it lists them first, and every finding names its file."""
    zh = lang == "zh"
    summary = result.summary
    inputs = getattr(result, "inputs", None)
    several = inputs is not None and len(inputs) > 1
    out = _ledgers_table(result, lang) if several else _ledger_facts(result, lang)
    out.append("")
    sev = summary["by_severity"]
    if zh:
        out.append(f"结论：违规 {sev['violation']} 项，警示 {sev['warning']} 项，提示 {sev['info']} 项；"
                   f"各规则整改资金缺口之和 {summary['shortfall_yuan_total']:,.2f} 元（不同规则的缺口可能重叠，是上限）。")
    else:
        out.append(f"Result: {sev['violation']} violations, {sev['warning']} warnings, {sev['info']} info; "
                   f"money needed to comply, summed over rules: {summary['shortfall_yuan_total']:,.2f} yuan "
                   "(gaps of different rules may overlap: an upper bound).")
    baseline = getattr(result, "baseline", None)
    if baseline is not None:
        out.append(baseline_line(baseline, lang))
    out.append("")
    from finaudit.audit.catalogue import code_title, kind_of   # here, not at the top: cli.py prints errors through this module

    titles = {rid: code_title(rid, lang, result.rules) for rid in summary["by_rule"]}
    headers = (["规则", "名称", "违规", "警示", "提示", "符合", "缺口（元）"] if zh
               else ["rule", "title", "violations", "warnings", "info", "passed", "shortfall (yuan)"])
    rows = [[rid, titles.get(rid, ""), c["violation"], c["warning"], c["info"], c["pass"],
             f"{c['shortfall_yuan']:,.2f}" if c["shortfall_yuan"] else ""]
            for rid, c in summary["by_rule"].items()]
    out.append(table(headers, rows))

    states = dict(zip(map(id, result.findings), baseline["states"])) if baseline is not None else {}
    shown = [f for f in result.findings if show_info or f.severity != "info"]
    current = None
    for finding in shown:
        if finding.rule_id != current:
            current = finding.rule_id
            rule = result.rules.get(current)
            out.append("")
            out.append(f"■ {current}  {titles.get(current, '')}")
            if rule is not None:
                basis = rule.basis
                out.append(("  依据：" if zh else "  Basis: ") + f"{basis['document']} {basis['clause']}：“{basis['text']}”")
        where = f"({printable(Path(finding.file).name)}) " if several and finding.file else ""
        state = STATE_TAG[lang].get(states.get(id(finding)), "")
        out.append(f"  - [{SEVERITY_LABEL[lang][finding.severity]}]{state} {where}{printable(finding.text(lang))}")
        if finding.evidence and kind_of(finding.rule_id) != "input":
            out.append(("    证据：" if zh else "    Evidence: ") + _evidence_text(finding))
    resolved = [f for f in (baseline or {}).get("absent", []) if show_info or f["severity"] != "info"]
    if resolved:
        out.append("")
        out.append("■ 已整改（上次运行有、本次没有）" if zh else "■ Resolved (found by the previous run, not now)")
        out.extend("  - " + _finding_brief(f, lang) for f in resolved)
    hidden = sev["info"] if not show_info else 0
    if hidden:
        out.append("")
        out.append(f"另有 {hidden} 项提示（如上年数据缺失、要求尚未生效而未评价），加 --show-info 查看，JSON 输出中全部列出。" if zh
                   else f"{hidden} info findings (e.g. not evaluable: no previous year, requirement not yet in force) "
                        "are not shown; add --show-info, or see the JSON output.")
    return "\n".join(out)


def _ledger_facts(result, lang: str) -> list[str]:
    """One ledger: its path, the profile of each region, the years, the sheet accounting."""
    from finaudit.audit.profiles import load_profiles

    zh = lang == "zh"
    profiles = load_profiles()
    out = [("台账：" if zh else "Ledger: ") + printable(result.ledger.path)]
    ev = result.evaluations.dropna(subset=["region_code"]).drop_duplicates("region_code")
    regions = dict(zip(ev["region_code"], ev["region_name"]))
    assign = [f"{code} {regions.get(code) or ''} → {pid}（{profiles[pid].name['zh']}）" if zh
              else f"{code} {regions.get(code) or ''} → {pid} ({profiles[pid].name['en']})"
              for code, pid in sorted(result.region_profiles.items())]
    out.append(("适用配置：" if zh else "Profiles: ") + printable("；".join(assign) if zh else "; ".join(assign)))
    if result.years:
        out.append(("审计年度：" if zh else "Years audited: ") + f"{result.years[0]}–{result.years[-1]}")
    out.append("")
    out.append(sheets_table([s.summary() for s in result.ledger.sheets.values()], lang))
    return out


def _ledgers_table(result, lang: str) -> list[str]:
    """Several ledgers: one line each, with its regions, years and findings, or why it was not audited."""
    zh = lang == "zh"
    audited, failed = result.audited, result.failed
    counts: dict[str, dict] = {}
    for finding in result.findings:
        by = counts.setdefault(finding.file, {"violation": 0, "warning": 0, "info": 0})
        by[finding.severity] += 1
    out = [f"台账：{len(result.inputs)} 个，已审计 {len(audited)} 个，无法审计 {len(failed)} 个" if zh
           else f"Ledgers: {len(result.inputs)}, audited {len(audited)}, could not be audited {len(failed)}"]
    out.append("")
    headers = (["台账", "地区", "年度", "违规", "警示", "提示", "状态"] if zh
               else ["ledger", "regions", "years", "violations", "warnings", "info", "status"])
    rows = []
    for item in result.inputs:
        c = counts.get(str(item.path), {"violation": 0, "warning": 0, "info": 0})
        years = f"{item.years[0]}–{item.years[-1]}" if item.years else ""
        status = ("已审计" if zh else "audited") if item.audited else ("无法审计" if zh else "not audited")
        if item.audited:
            rows.append([str(item.path), ", ".join(item.regions), years, c["violation"], c["warning"], c["info"],
                         status])
        else:
            rows.append([str(item.path), "", "", "", "", "", status])
    out.append(table(headers, rows))
    for item in failed:
        out.append(printable(f"  无法审计 {item.path}：{item.error['zh']}" if zh
                             else f"  not audited: {item.path}: {item.error['en']}"))
    return out


def _finding_brief(finding: dict, lang: str) -> str:
    where = f"({Path(finding['file']).name}) " if finding.get("file") else ""
    label = SEVERITY_LABEL[lang].get(finding["severity"], finding["severity"])
    return printable(f"[{label}] {finding['rule_id']} {where}"
                     f"{finding['message'].get(lang) or finding['message'].get('en', '')}")


def verification_report(outcome, lang: str) -> str:
    """What `finaudit verify` found: notes on what changed since, then identical or each difference."""
    zh = lang == "zh"
    out = [("复核：" if zh else "Verifying: ") + printable(outcome.document)]
    out.extend(("  注意：" if zh else "  Note: ") + printable(note[lang]) for note in outcome.notes)
    if outcome.identical:
        out.append(f"一致：重新审计得到的 {outcome.findings} 项发现与记录完全相同。" if zh
                   else f"Identical: the audit run again gives the same {outcome.findings} findings.")
        return "\n".join(out)
    out.append(f"不一致：记录中有而重新审计没有 {len(outcome.missing)} 项，新出现 {len(outcome.extra)} 项，"
               f"内容变化 {len(outcome.changed)} 项。" if zh else
               f"Different: {len(outcome.missing)} recorded findings are gone, {len(outcome.extra)} are new, "
               f"{len(outcome.changed)} changed.")
    for finding in outcome.missing:
        out.append("  - " + _finding_brief(finding, lang))
    for finding in outcome.extra:
        out.append("  + " + _finding_brief(finding, lang))
    for before, after, keys in outcome.changed:
        out.append("  ~ " + _finding_brief(after, lang))
        out.append(("    变化的字段：" if zh else "    fields that differ: ") + printable(", ".join(keys)))
        for key in keys:
            out.append(printable(f"      {key}: {json.dumps(before.get(key), ensure_ascii=False)} → "
                                 f"{json.dumps(after.get(key), ensure_ascii=False)}"))
    if outcome.summary_differs:
        out.append("  汇总（含符合项计数）也不同。" if zh else "  The summary (pass counts included) differs too.")
    return "\n".join(out)


def baseline_line(baseline: dict, lang: str) -> str:
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


def runs_table(runs: list[dict], lang: str) -> str:
    """`finaudit history`: one line per recorded run."""
    zh = lang == "zh"
    if not runs:
        return "历史文件中还没有运行记录。" if zh else "No run is recorded yet."
    headers = (["编号", "运行ID", "开始时间", "台账", "无法读取", "违规", "警示", "提示", "新增", "未变", "有变化", "已整改",
                "配置"] if zh else
               ["run", "id", "started", "ledgers", "unreadable", "violations", "warnings", "info", "new", "unchanged",
                "updated", "resolved", "profiles"])
    rows = [[r["seq"], r["run_id"], r["started_at"], r["ledgers"], r["unreadable"], r["violations"], r["warnings"],
             r["infos"], r["new"], r["unchanged"], r["updated"], r["absent"], ", ".join(r["profiles"] or [])]
            for r in runs]
    return table(headers, rows)


def diff_report(outcome, lang: str) -> str:
    """`finaudit history --diff A B`: what changed from one run to another."""
    zh = lang == "zh"
    a, b = ({k: printable(v) if isinstance(v, str) else v for k, v in run.items()} for run in (outcome.a, outcome.b))
    out = [f"第 {a['seq']} 次运行（{a['run_id']}，{a['started_at']}）→ 第 {b['seq']} 次运行（{b['run_id']}，{b['started_at']}）"
           if zh else f"run {a['seq']} ({a['run_id']}, {a['started_at']}) → run {b['seq']} ({b['run_id']}, {b['started_at']})"]
    out.append(f"新增 {len(outcome.new)} 项，已整改 {len(outcome.resolved)} 项，有变化 {len(outcome.updated)} 项，"
               f"未变 {outcome.unchanged} 项。" if zh else
               f"{len(outcome.new)} new, {len(outcome.resolved)} resolved, {len(outcome.updated)} updated, "
               f"{outcome.unchanged} unchanged.")
    sections = [("新增" if zh else "New", "+", outcome.new), ("已整改" if zh else "Resolved", "-", outcome.resolved)]
    for title, mark, findings in sections:
        if findings:
            out.append("")
            out.append(f"■ {title}")
            out.extend(f"  {mark} " + _finding_brief(f, lang) for f in findings)
    if outcome.updated:
        out.append("")
        out.append("■ 有变化" if zh else "■ Updated")
        for before, after in outcome.updated:
            out.append("  ~ " + _finding_brief(after, lang))
            out.append(("    此前：" if zh else "    before: ") + printable(before["message"].get(lang) or ""))
    return "\n".join(out)
