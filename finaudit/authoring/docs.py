"""Rule and profile documentation generated from rules/ metadata (for `finaudit rules
show`, `finaudit profiles` and the catalogue page)."""
from __future__ import annotations

from finaudit.audit.profiles import (chain, clauses, load_profiles, parameter_registry, severity_override,
                                     shown_value)
from finaudit.report.labels import SEVERITY_LABEL, clause_line, value_text


def dated_values(profile_id: str, name: str) -> list[dict]:
    """Every value of a parameter along a profile's chain: effective year, value, source, where set."""
    entries = {}
    for profile in reversed(chain(profile_id)):      # ancestors first: children override
        for year, entry in profile.parameters.get(name, {}).items():
            entries[year] = {"effective": year, "value": entry["value"], "source": entry["source"],
                             "profile": profile.id}
    return [entries[y] for y in sorted(entries)]


def rule_text(rule, lang: str) -> str:
    zh = lang == "zh"
    lines = [f"{rule.id}  {rule.title[lang]}", ""]
    lines.append(("级别：" if zh else "Severity: ") + SEVERITY_LABEL[lang][rule.severity])
    for name, check in rule.checks.items():
        if check.get("severity"):
            label = (check.get("label") or {}).get(lang, name)
            lines.append(("  检查 " if zh else "  check ") + f"{label}：{SEVERITY_LABEL[lang][check['severity']]}"
                         if zh else f"  check {label}: {SEVERITY_LABEL[lang][check['severity']]}")
    lines.append(("要求：" if zh else "Requirement: ") + rule.requirement[lang])
    lines.extend(_clauses_by_profile(rule, lang))
    lines.append(("衡量：" if zh else "Measures: ") + f"{rule.measures['what'][lang]}（{rule.measures.get('unit', '')}）")
    lines.append(("为何重要：" if zh else "Why it matters: ") + rule.why_it_matters[lang])
    lines.append(("整改建议：" if zh else "Remediation: ") + rule.remediation[lang])
    if rule.examples:
        lines.append(("不符合示例：" if zh else "Failing example: ") + str(rule.examples.get("failing", "")))
        lines.append(("符合示例：" if zh else "Passing example: ") + str(rule.examples.get("passing", "")))
    if rule.parameters:
        lines.append("")
        lines.append("参数（按配置和生效年度）：" if zh else "Parameters (by profile and effective year):")
        registry = parameter_registry()
        for name in rule.parameters:
            lines.append(f"  {name}  {registry[name]['description'][lang]}")
            for pid in sorted(load_profiles()):
                values = dated_values(pid, name)
                text = "；".join(f"{v['effective']}年起 {value_text(shown_value(name, v['value'], lang), lang)}"
                                for v in values) if zh \
                    else "; ".join(f"from {v['effective']}: {value_text(shown_value(name, v['value'], lang), lang)}"
                                   for v in values)
                lines.append(f"    {pid}: {text or ('未规定' if zh else 'not set')}")
    if rule.stage == "load":
        lines.append("")
        lines.append("本规则在读取台账时检查，没有 SQL 文件。" if zh else "Checked while loading the ledger; no SQL file.")
    return "\n".join(lines)


def _clauses_by_profile(rule, lang: str) -> list[str]:
    """What a finding of each profile cites: its chain's clauses, national first, each with
    the year it is in force from and where its text was read."""
    zh = lang == "zh"
    if rule.kind == "data":
        return []
    lines = ["", "依据（按配置；发现只引用本配置及上级的条文）：" if zh
             else "Basis (by profile; a finding cites only its own profile chain):"]
    for pid in sorted(load_profiles(), key=lambda p: (len(chain(p)), p)):
        names = " ← ".join(p.id for p in chain(pid))
        lines.append(f"  {names}")
        cited = clauses(pid, rule.id, None)
        if not cited:
            lines.append("    （无条文：本配置不评价此项）" if zh else "    (no clause: not evaluated under this profile)")
        for clause in cited:
            until = clause.get("in_force_until")
            since = (f"{clause['in_force_from']}–{until}年" if until else f"{clause['in_force_from']}年起") if zh \
                else (f"{clause['in_force_from']}–{until}" if until else f"from {clause['in_force_from']}")
            lines.append(f"    [{since}] {clause_line(clause, lang)}")
            lines.append(("      读自：" if zh else "      read in: ") + clause["read"])
    return lines


def profiles_text(lang: str, year: int | None = None) -> str:
    zh = lang == "zh"
    registry = parameter_registry()
    lines = []
    for pid, profile in sorted(load_profiles().items(), key=lambda kv: len(chain(kv[0]))):
        covers = ", ".join(c or "*" for c in profile.covers)
        lines.append(f"{pid}  {profile.name[lang]}" + (f"  ← {profile.extends}" if profile.extends else ""))
        lines.append(("  覆盖地区代码前缀：" if zh else "  covers region-code prefixes: ") + covers)
        for doc in profile.documents:
            lines.append(f"  · {doc['number']} {doc.get('title', '')}")
        for name in registry:
            values = dated_values(pid, name)
            if year is not None:
                values = [v for v in values if v["effective"] <= year][-1:]
            for v in values:
                inherited = "" if v["profile"] == pid else (f"（继承自 {v['profile']}）" if zh else f" (from {v['profile']})")
                when = f"{v['effective']}年起" if zh else f"from {v['effective']}"
                lines.append(f"    {name} = {value_text(shown_value(name, v['value'], lang), lang)}  {when}{inherited}  [{v['source']}]")
        for rule_id in sorted(profile.severity):
            if year is None or severity_override(pid, rule_id, year):
                for eff, entry in sorted(profile.severity[rule_id].items()):
                    lines.append(f"    {rule_id} → {entry['value']}  " + (f"{eff}年起" if zh else f"from {eff}")
                                 + f"  [{entry['source']}]")
        lines.append("")
    return "\n".join(lines).rstrip()
