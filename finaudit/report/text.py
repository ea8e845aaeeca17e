"""Terminal output: sheet accounting, summaries and findings, in Chinese or English."""
from __future__ import annotations

from pathlib import Path

from finaudit.audit.catalogue import code_title, kind_of
from finaudit.audit.profiles import load_profiles
from finaudit.intake.schema import load_schemas
from finaudit.report.labels import (SEVERITY_LABEL, STATE_TAG, baseline_line, clause_line, clauses_of, conclusion_lines,
                                    coverage_line, finding_brief, printable, table, unpriced_violations)

def sheets_table(sheets: list[dict], lang: str) -> str:
    if lang == "zh":
        headers = ["工作表", "来源", "读取行", "有效行", "拒绝行", "空行", "金额单位"]
    else:
        headers = ["sheet", "source", "rows read", "valid", "rejected", "blank", "unit"]
    titles = {name: schema.title["zh"] for name, schema in load_schemas().items()} if lang == "zh" else {}
    rows = [[titles.get(s["name"], s["name"]), s["source"] + (" (隐藏)" if s["hidden"] and lang == "zh" else " (hidden)" if s["hidden"] else ""),
             s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_blank"], s["unit"]] for s in sheets]
    if any(s.get("hidden_rows") for s in sheets):   # rows read although the workbook hides them
        headers.append("其中隐藏行" if lang == "zh" else "of which hidden")
        for row, s in zip(rows, sheets):
            row.append(s.get("hidden_rows") or "")
    return table(headers, rows)


def finding_line(finding, lang: str) -> str:
    return f"[{SEVERITY_LABEL[lang][finding.severity]}] {finding.rule_id}  {printable(finding.text(lang))}"


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
    several = len(result.inputs) > 1
    out = _ledgers_table(result, lang) if several else _ledger_facts(result, lang)
    out.append("")
    out.extend(conclusion_lines(summary, lang, {n: s.title for n, s in load_schemas().items()},
                                unpriced_violations(result)))
    out.append(coverage_line(summary["coverage"], lang, {n: s.title for n, s in load_schemas().items()}))
    baseline = result.baseline
    if baseline is not None:
        out.append(baseline_line(baseline, lang))
    out.append("")
    titles = {rid: code_title(rid, lang, result.rules) for rid in summary["by_rule"]}
    headers = (["规则", "名称", "违规", "警示", "提示", "符合", "缺口（元）"] if zh
               else ["rule", "title", "violations", "warnings", "info", "passed", "shortfall (yuan)"])
    rows = [[rid, titles.get(rid, ""), c["violation"], c["warning"], c["info"], c["pass"],
             f"{c['shortfall_yuan']:,.2f}" if c["shortfall_yuan"] else ""]
            for rid, c in summary["by_rule"].items()]
    out.append(table(headers, rows))

    shown = [f for f in result.findings if show_info or f.severity != "info"]
    bases: dict[str, list] = {}          # each rule's findings' clauses, gathered in one pass
    for finding in shown:
        bases.setdefault(finding.rule_id, []).append(finding.basis)
    current = None
    for finding in shown:
        if finding.rule_id != current:
            current = finding.rule_id
            rule = result.rules.get(current)
            out.append("")
            out.append(f"■ {current}  {titles.get(current, '')}")
            if rule is not None:
                out.append(("  要求：" if zh else "  Requirement: ") + rule.requirement[lang])
                for clause in clauses_of(bases[current]):
                    out.append(("  依据：" if zh else "  Basis: ") + printable(clause_line(clause, lang)))
        where = f"({printable(Path(finding.file).name)}) " if several and finding.file else ""
        state = STATE_TAG[lang].get(finding.baseline_state, "")
        out.append(f"  - [{SEVERITY_LABEL[lang][finding.severity]}]{state} {where}{printable(finding.text(lang))}")
        if finding.evidence and kind_of(finding.rule_id) != "input":
            out.append(("    证据：" if zh else "    Evidence: ") + _evidence_text(finding))
    resolved = [f for f in (baseline or {}).get("absent", []) if show_info or f["severity"] != "info"]
    if resolved:
        out.append("")
        out.append("■ 已整改（上次运行有、本次没有）" if zh else "■ Resolved (found by the previous run, not now)")
        out.extend("  - " + finding_brief(f, lang) for f in resolved)
    hidden = summary["by_severity"]["info"] if not show_info else 0
    if hidden:
        out.append("")
        out.append(f"另有 {hidden} 项提示（如上年数据缺失、要求尚未生效而未评价），加 --show-info 查看，JSON 输出中全部列出。" if zh
                   else f"{hidden} info findings (e.g. not evaluable: no previous year, requirement not yet in force) "
                        "are not shown; add --show-info, or see the JSON output.")
    return "\n".join(out)


def _ledger_facts(result, lang: str) -> list[str]:
    """One ledger: its path, the profile of each region, the years, the sheet accounting."""
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
