"""Terminal output about recorded runs: `finaudit verify` (a findings document run again),
`finaudit history` (the runs of a history file) and `history --diff` (two of them)."""
from __future__ import annotations

import json

from finaudit.report.labels import finding_brief, local_time, printable, table


# A finding's fields as `verify` names them when they differ.
FIELD_ZH = {"severity": "级别", "measure": "实际值与要求值", "shortfall_yuan": "缺口（元）", "message": "说明",
            "evidence": "证据单元格", "evidence_total": "证据行数", "basis": "依据", "parameters": "参数",
            "profile": "配置", "subject": "对象", "check": "检查项", "details": "详情", "file": "文件",
            "rule_id": "规则"}


def _changed_value(key: str, value, lang: str) -> str:
    """A differing field's value as a reader reads it: a message in the report's language,
    the measure as actual / required unit, the rest as JSON."""
    if key == "message" and isinstance(value, dict):
        return value.get(lang) or value.get("en", "")
    if key == "measure" and isinstance(value, dict):
        return f"{value.get('actual')} / {value.get('required')} {value.get('unit') or ''}".strip()
    return json.dumps(value, ensure_ascii=False)


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
        out.append("  - " + finding_brief(finding, lang))
    for finding in outcome.extra:
        out.append("  + " + finding_brief(finding, lang))
    for before, after, keys in outcome.changed:
        out.append("  ~ " + finding_brief(after, lang))
        names = [FIELD_ZH.get(k, k) if zh else k for k in keys]
        out.append(("    变化的字段：" if zh else "    fields that differ: ") + printable(("、" if zh else ", ").join(names)))
        for key, name in zip(keys, names):
            out.append(printable(f"      {name}{'：' if zh else ': '}{_changed_value(key, before.get(key), lang)} → "
                                 f"{_changed_value(key, after.get(key), lang)}"))
    if outcome.summary_differs:
        out.append("  汇总（含符合项计数）也不同。" if zh else "  The summary (pass counts included) differs too.")
    return "\n".join(out)


def runs_table(runs: list[dict], lang: str) -> str:
    """`finaudit history`: one line per recorded run."""
    zh = lang == "zh"
    if not runs:
        return "历史文件中还没有运行记录。" if zh else "No run is recorded yet."
    headers = (["编号", "运行ID", "开始时间", "台账", "无法读取", "违规", "警示", "提示", "新增", "未变", "有变化", "已整改",
                "配置"] if zh else
               ["run", "id", "started", "ledgers", "unreadable", "violations", "warnings", "info", "new", "unchanged",
                "updated", "resolved", "profiles"])
    rows = [[r["seq"], r["run_id"], local_time(r["started_at"]), r["ledgers"], r["unreadable"], r["violations"], r["warnings"],
             r["infos"], r["new"], r["unchanged"], r["updated"], r["absent"], ", ".join(r["profiles"] or [])]
            for r in runs]
    return table(headers, rows)


def diff_report(outcome, lang: str) -> str:
    """`finaudit history --diff A B`: what changed from one run to another."""
    zh = lang == "zh"
    a, b = ({k: printable(v) if isinstance(v, str) else v for k, v in run.items()} for run in (outcome.a, outcome.b))
    at_a, at_b = local_time(a["started_at"]), local_time(b["started_at"])
    out = [f"第 {a['seq']} 次运行（{a['run_id']}，{at_a}）→ 第 {b['seq']} 次运行（{b['run_id']}，{at_b}）"
           if zh else f"run {a['seq']} ({a['run_id']}, {at_a}) → run {b['seq']} ({b['run_id']}, {at_b})"]
    out.append(f"新增 {len(outcome.new)} 项，已整改 {len(outcome.resolved)} 项，有变化 {len(outcome.updated)} 项，"
               f"未变 {outcome.unchanged} 项。" if zh else
               f"{len(outcome.new)} new, {len(outcome.resolved)} resolved, {len(outcome.updated)} updated, "
               f"{outcome.unchanged} unchanged.")
    sections = [("新增" if zh else "New", "+", outcome.new), ("已整改" if zh else "Resolved", "-", outcome.resolved)]
    for title, mark, findings in sections:
        if findings:
            out.append("")
            out.append(f"■ {title}")
            out.extend(f"  {mark} " + finding_brief(f, lang) for f in findings)
    if outcome.updated:
        out.append("")
        out.append("■ 有变化" if zh else "■ Updated")
        for before, after in outcome.updated:
            out.append("  ~ " + finding_brief(after, lang))
            out.append(("    此前：" if zh else "    before: ") + printable(before["message"].get(lang) or ""))
    return "\n".join(out)
