"""The money that closes every violation at once: gaps that overlap counted once.

Each rule's gap is the money its own finding needs; several rules ask for the same money.
Public funds added to a level's schools raise the level's per-student funding, its spending,
compulsory education's spending (for 小学/初中/特殊教育) and the region's total; teacher pay
raises compulsory and total spending. Per region and year (a draft year apart), the money
that closes them all is therefore
  level     the largest of the level's gaps (each rule's: the larger of its region-level gap
            and its schools' sum; public and private schools add up);
  compulsory  the larger of the compulsory gaps (compulsory growth, teacher pay, the pooled
            provincial average) and the sum of the compulsory levels' needs;
  total     the larger of the total gaps (only-increase, overall per-student spending, growth)
            and the compulsory need plus the other levels' needs.
A rule whose remedy is other money (the surcharge's share for vocational education, the
national 4%) is added as it is. A rule says which pool its money goes to (`remedy` in its
metadata); what it does not say is added. Only violations count, as in the per-rule sums.
"""
from __future__ import annotations

from collections import defaultdict

from finaudit.audit import profiles as profiles_mod

GENERAL, COMPULSORY = "general_budget", "compulsory_general_budget"
_COMPULSORY_DEFAULT = ("primary", "junior", "special")

METHOD = {
    "zh": "同一地区同一年度中相互重叠的缺口只计一次：某学段取各规则缺口中最大者（学校缺口之和与地区缺口取大），"
          "义务教育取义务教育各项缺口与小学、初中、特殊教育所需之和的较大者，总额取总额类缺口与各学段所需之和的较大者；"
          "教育费附加、4%等其他资金另加。",
    "en": "Gaps that overlap in a region and year are counted once: a level takes the largest of its rules' gaps "
          "(a rule's schools summed, or its region-level gap if larger), compulsory education the larger of its own "
          "gaps and its levels' needs summed, the total the larger of the total gaps and all levels' needs summed; "
          "other money (the surcharge's share, the 4%) is added.",
}


def remediation(result) -> dict:
    """{combined_yuan, by_region_year: [{region_code, region_name, year, draft, combined_yuan}], method}."""
    gaps: dict[tuple, dict] = defaultdict(lambda: {"schools": 0.0, "region": 0.0})
    apart: dict[tuple, float] = defaultdict(float)
    names: dict[str, str] = {}
    for f in result.findings:
        if f.severity != "violation" or not f.shortfall_yuan:
            continue
        rule = result.rules.get(f.rule_id)
        s = f.subject
        where = (s.get("region_code"), s.get("year"), getattr(rule, "kind", None) == "draft")
        names.setdefault(s.get("region_code"), s.get("region_name") or s.get("region_code"))
        if getattr(rule, "remedy", None) not in (GENERAL, COMPULSORY):
            apart[where] += f.shortfall_yuan
            continue
        part = gaps[(*where, f.rule_id, f.check, s.get("level"))]
        part["schools" if s.get("school_id") else "region"] += f.shortfall_yuan
    needs: dict[tuple, dict] = defaultdict(lambda: {"total": [0.0], "compulsory": [0.0],
                                                    "levels": defaultdict(lambda: defaultdict(float))})
    for (region, year, draft, rule_id, check, level), part in gaps.items():
        gap = max(part["schools"], part["region"])
        need = needs[(region, year, draft)]
        if level:
            need["levels"][level][rule_id] += gap       # a rule's checks (public, private) add up
        else:
            need["compulsory" if result.rules[rule_id].remedy == COMPULSORY else "total"].append(gap)
    rows = []
    for region, year, draft in sorted(set(needs) | set(apart), key=lambda k: (k[0] or "", k[1] or 0, k[2])):
        combined = apart.get((region, year, draft), 0.0)
        need = needs.get((region, year, draft))
        if need is not None:
            compulsory_levels = _compulsory_levels(result, region, year)
            level_need = {lv: max(by_rule.values()) for lv, by_rule in need["levels"].items()}
            compulsory = max(max(need["compulsory"]),
                             sum(v for lv, v in level_need.items() if lv in compulsory_levels))
            others = sum(v for lv, v in level_need.items() if lv not in compulsory_levels)
            combined += max(max(need["total"]), compulsory + others)
        rows.append({"region_code": region, "region_name": names.get(region), "year": year, "draft": draft,
                     "combined_yuan": round(combined, 2)})
    return {"combined_yuan": round(sum(r["combined_yuan"] for r in rows), 2), "by_region_year": rows,
            "method": METHOD}


def _compulsory_levels(result, region: str | None, year: int | None) -> tuple:
    """The levels the region's profile counts as compulsory education in the year."""
    if not region or year is None:
        return _COMPULSORY_DEFAULT
    profile = result.region_profiles.get(region) or profiles_mod.most_specific(region)
    entry = profiles_mod.parameter(profile, "compulsory_education_levels", int(year))
    return tuple(entry["value"]) if entry else _COMPULSORY_DEFAULT
