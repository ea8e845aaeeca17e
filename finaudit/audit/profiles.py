"""Jurisdiction profiles: effective-dated parameter values, like a statute book.

A profile extends another (dingzhou -> hebei -> national). A parameter's values are
keyed by the fiscal year from which they apply; the value for a year is the latest
one in force on it, looked up along the chain (a child's value from a year on
overrides its parent's). A value of null repeals.

A profile also carries the clauses of its own documents that a rule enforces (`clauses`),
each in force from a fiscal year: a finding cites the clauses of its own profile chain in
force in its year, national first, and never another jurisdiction's.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import yaml

from finaudit.errors import RuleError, UsageError, join_names
from finaudit.findings import SEVERITIES
from finaudit.intake.schema import enum_label, enums
from finaudit.resources import profiles_dir, rules_dir

# libyaml, as in schema.py: about nine times faster than the pure-Python loader, same objects.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Profile:
    id: str
    name: dict
    extends: str | None
    covers: tuple[str, ...]
    documents: tuple[dict, ...]
    parameters: dict          # name -> {year: {value, source}} (own values only)
    severity: dict            # rule id -> {year: {value, source}} (own values only)
    clauses: tuple[dict, ...] = ()   # its own documents' clauses, each naming the rules it grounds
    regions: dict | None = None      # region code -> name, for the codes it names (a typo check)


@functools.lru_cache(maxsize=None)
def parameter_registry() -> dict[str, dict]:
    """Every parameter a rule may use, from rules/parameters.yaml."""
    with open(rules_dir() / "parameters.yaml", encoding="utf-8") as fh:
        return yaml.load(fh, Loader=_YAML_LOADER)


def _dated(spec, where: str) -> dict[int, dict]:
    values = (spec or {}).get("values")
    if not isinstance(values, dict) or not values:
        raise RuleError(f"{where} 没有 values（按生效年度列出的取值）。", f"{where} has no values keyed by effective year.")
    out = {}
    for year, entry in values.items():
        if not isinstance(year, int) or not isinstance(entry, dict) or "value" not in entry or not entry.get("source"):
            raise RuleError(f"{where} 的 {year} 年取值须写成 {{value: …, source: …}}，并注明来源。",
                            f"{where}: the value for {year} must be {{value: ..., source: ...}} with its source.")
        out[year] = entry
    return out


# A clause: which rules it grounds, from which fiscal year, the document (number, title,
# issuer), the clause's place in it, its text as printed, and where that text was read
# (`read`): a primary or faithful copy, or "转述：…" when only a paraphrase was found.
CLAUSE_FIELDS = ("rules", "from", "document", "issuer", "clause", "text", "read")


def _clauses(spec, where: str) -> tuple[dict, ...]:
    out = []
    for n, entry in enumerate(spec or [], start=1):
        missing = [k for k in CLAUSE_FIELDS if not (entry or {}).get(k)]
        if missing:
            raise RuleError(f"{where} 第 {n} 条依据缺少 {join_names(missing, 'zh')}。",
                            f"{where}: clause {n} lacks {join_names(missing, 'en')}.")
        if not isinstance(entry["from"], int) or not isinstance(entry["rules"], list):
            raise RuleError(f"{where} 第 {n} 条依据：from 须为生效年度，rules 须为规则列表。",
                            f"{where}: clause {n}: 'from' must be a fiscal year and 'rules' a list of rule ids.")
        out.append(dict(entry))
    return tuple(out)


def _check_codes(dated: dict[int, dict], spec: dict, where: str) -> None:
    """A list parameter of codes (`enum:` in parameters.yaml) names only codes of that
    enumeration: a typo would silently leave rows out of every rule."""
    if not spec.get("enum"):
        return
    known = enums()[spec["enum"]]
    for year, entry in dated.items():
        bad = [v for v in entry["value"] or [] if v not in known]
        if bad:
            raise RuleError(f"{where} 的 {year} 年取值“{bad[0]}”不是 {spec['enum']} 的代码；可用：{join_names(known, 'zh')}。",
                            f"{where}: {year} value '{bad[0]}' is not a {spec['enum']} code; valid: "
                            f"{join_names(known, 'en')}.")


# A plan target (parameter type `targets`, rules/parameters.yaml): what each indicator's
# entry must say. A baseline without its year (or the reverse) would draw no path.
TARGET_FIELDS = ("target", "target_year", "attribute", "clause")
TARGET_ATTRIBUTES = ("binding", "expected")      # 约束性, 预期性


def _check_targets(dated: dict[int, dict], spec: dict, where: str) -> None:
    if spec.get("type") != "targets":
        return
    for year, entry in dated.items():
        for indicator, target in (entry["value"] or {}).items():
            here = f"{where} {year} 年 {indicator}"
            missing = [k for k in TARGET_FIELDS if (target or {}).get(k) in (None, "")]
            if missing:
                raise RuleError(f"{here} 缺少 {join_names(missing, 'zh')}。", f"{here} lacks {join_names(missing, 'en')}.")
            if target["attribute"] not in TARGET_ATTRIBUTES:
                raise RuleError(f"{here} 的 attribute“{target['attribute']}”无效；可用：binding（约束性）、expected（预期性）。",
                                f"{here}: attribute '{target['attribute']}' is not binding or expected.")
            if ("baseline" in target) != ("baseline_year" in target) or \
                    ("baseline_year" in target and not target["baseline_year"] < target["target_year"]):
                raise RuleError(f"{here}：baseline 与 baseline_year 须同时给出，且基期早于目标年度。",
                                f"{here}: baseline and baseline_year go together, the baseline year before the target year.")


@functools.lru_cache(maxsize=None)
def load_profiles() -> dict[str, Profile]:
    registry = parameter_registry()
    profiles = {}
    for path in sorted(profiles_dir().glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            spec = yaml.load(fh, Loader=_YAML_LOADER)
        where = f"rules/profiles/{path.name}"
        if spec.get("id") != path.stem:
            raise RuleError(f"{where} 的 id 应为“{path.stem}”。", f"{where}: id must be '{path.stem}'.")
        params = {}
        for name, pspec in (spec.get("parameters") or {}).items():
            if name not in registry:
                raise RuleError(f"{where} 设置了未声明的参数“{name}”（见 rules/parameters.yaml）。",
                                f"{where} sets parameter '{name}', which rules/parameters.yaml does not declare.")
            params[name] = _dated(pspec, f"{where} 参数 {name}")
            _check_codes(params[name], registry[name], f"{where} 参数 {name}")
            _check_targets(params[name], registry[name], f"{where} 参数 {name}")
        severity = {rule: _dated(sspec, f"{where} severity {rule}") for rule, sspec in (spec.get("severity") or {}).items()}
        for rule, dated in severity.items():
            bad = [e["value"] for e in dated.values() if e["value"] not in SEVERITIES]
            if bad:
                raise RuleError(f"{where} 给 {rule} 的级别“{bad[0]}”无效；可用：{join_names(SEVERITIES, 'zh')}。",
                                f"{where} gives {rule} severity '{bad[0]}'; valid: {join_names(SEVERITIES, 'en')}.")
        profiles[path.stem] = Profile(
            id=path.stem, name=spec["name"], extends=spec.get("extends"),
            covers=tuple(str(c) for c in spec.get("covers", [])),
            documents=tuple(spec.get("documents", [])), parameters=params, severity=severity,
            clauses=_clauses(spec.get("clauses"), where),
            regions={str(code): name for code, name in (spec.get("regions") or {}).items()},
        )
    for profile in profiles.values():
        if profile.extends and profile.extends not in profiles:
            raise RuleError(f"rules/profiles/{profile.id}.yaml 继承的“{profile.extends}”不存在。",
                            f"rules/profiles/{profile.id}.yaml extends unknown profile '{profile.extends}'.")
    return profiles


def chain(profile_id: str) -> list[Profile]:
    """The profile and its ancestors, most specific first."""
    profiles = load_profiles()
    out, seen = [], set()
    current = profile_id
    while current:
        if current in seen:
            raise RuleError(f"配置“{profile_id}”的继承关系成环。", f"Profile '{profile_id}' extends itself in a loop.")
        seen.add(current)
        out.append(profiles[current])
        current = profiles[current].extends
    return out


def _in_force(dated_chain: list[dict[int, dict]], year: int) -> dict | None:
    """The entry in force in `year`: the latest effective year <= year, children first on ties."""
    best, best_year = None, None
    for values in dated_chain:           # most specific first: a child wins a tie
        for effective, entry in values.items():
            if effective <= year and (best_year is None or effective > best_year):
                best, best_year = entry, effective
    return best


def parameter(profile_id: str, name: str, year: int) -> dict | None:
    """{value, source, effective} of a parameter in force for a fiscal year, or None."""
    dated = [p.parameters[name] for p in chain(profile_id) if name in p.parameters]
    entry = _in_force(dated, year)
    return None if entry is None or entry.get("value") is None else entry


def severity_override(profile_id: str, rule_id: str, year: int) -> str | None:
    dated = [p.severity[rule_id] for p in chain(profile_id) if rule_id in p.severity]
    entry = _in_force(dated, year)
    return None if entry is None else entry["value"]


def _grounds(entry: dict, rule_id: str, check: str | None) -> bool:
    """A clause grounds a whole rule (`RULE`) or one of its checks (`RULE:check`); asked
    without a check (`rules show`, what a rule's passes were held to), every one of the rule."""
    if rule_id in entry["rules"]:
        return True
    if check is None:
        return any(r.split(":", 1)[0] == rule_id for r in entry["rules"])
    return f"{rule_id}:{check}" in entry["rules"]


@functools.lru_cache(maxsize=4096)
def clauses(profile_id: str, rule_id: str, year: int | None, check: str | None = None) -> tuple[dict, ...]:
    """The clauses grounding a rule (or one of its checks) for a profile in a fiscal year: its
    chain's own, national first, each in force from its year on (every one of the chain when
    the year is unknown). Each names the profile whose document it is."""
    out = []
    for profile in reversed(chain(profile_id)):
        for entry in profile.clauses:
            in_force = year is None or (entry["from"] <= year and year <= entry.get("until", year))
            if _grounds(entry, rule_id, check) and in_force:
                out.append({"profile": profile.id, "document": entry["document"], "title": entry.get("title"),
                            "issuer": entry["issuer"], "clause": entry["clause"], "text": entry["text"],
                            "in_force_from": entry["from"], "read": entry["read"],
                            **({"in_force_until": entry["until"]} if "until" in entry else {})})
    return tuple(out)


def held_to(evaluated, rule_id: str) -> list[tuple[dict, ...]]:
    """The clauses in force for each (profile, year) the rule evaluated: what its passes were
    held to (a pass carries no finding to cite them), and never a clause of a year no region
    of that profile was audited in."""
    return [clauses(profile, rule_id, int(year)) for profile, year in sorted(set(evaluated))]


@functools.lru_cache(maxsize=4096)
def parameters_used(names: tuple[str, ...], profile_id: str, year: int | None) -> tuple:
    """(name, {value, source}) of each parameter in force in the year, else None: looked up
    once per profile and year for a run's thousands of findings."""
    used = []
    for name in names:
        entry = parameter(profile_id, name, year) if year else None
        used.append((name, None if entry is None else {"value": entry["value"], "source": entry["source"]}))
    return tuple(used)


def shown_value(name: str, value, lang: str):
    """A parameter's value as a reader reads it: a list of codes (教育费附加, not
    education_surcharge) in the user's language where the parameter names its enumeration."""
    spec = parameter_registry().get(name, {})
    enum = spec.get("enum")
    if spec.get("type") == "targets" and isinstance(value, dict):
        return [target_text(code, target, lang) for code, target in value.items()]
    if enum and isinstance(value, list):
        return [enum_label(enum, v, lang) for v in value]
    return value


def target_text(indicator: str, target: dict, lang: str) -> str:
    """One plan target as a reader reads it: 九年义务教育巩固率 2020年96.31 → 2025年98%（约束性）."""
    spec = enums()["indicator"].get(indicator, {})
    unit = (spec.get("unit") or {}).get(lang, "")
    zh = lang == "zh"
    # "98%", "11.3年", "7万人"; in English "98%", "11.3 years", "7 (10,000 students)"
    unit = unit if zh or unit == "%" or not unit else f" ({unit})" if unit[0].isdigit() else f" {unit}"
    base = target.get("baseline_year")
    start = (f"{base}年{target['baseline']:g}{unit} → " if zh else f"{target['baseline']:g}{unit} in {base} -> ") if base else ""
    attribute = {"binding": ("约束性", "binding"), "expected": ("预期性", "expected")}[target["attribute"]][0 if zh else 1]
    if zh:
        return f"{enum_label('indicator', indicator, lang)} {start}{target['target_year']}年{target['target']:g}{unit}（{attribute}）"
    return f"{enum_label('indicator', indicator, lang)}: {start}{target['target']:g}{unit} by {target['target_year']} ({attribute})"


def reload() -> None:
    """Forgets the profiles and everything looked up from them (tests that edit a copy)."""
    for cached in (parameter_registry, load_profiles, clauses, region_names, parameters_used):
        cached.cache_clear()


@functools.lru_cache(maxsize=None)
def region_names() -> dict:
    """Every region code a profile names, with its name, as the MAP a rule binds
    ($region_names): {"key": codes, "value": names}."""
    names = {}
    for profile in load_profiles().values():
        names.update(profile.regions or {})
    codes = sorted(names)
    return {"key": codes, "value": [names[c] for c in codes]}


def get(profile_id: str) -> Profile:
    profiles = load_profiles()
    if profile_id not in profiles:
        raise UsageError(
            f"没有名为“{profile_id}”的配置。可用：{join_names(sorted(profiles), 'zh')}。",
            f"No profile named '{profile_id}'. Available: {join_names(sorted(profiles), 'en')}.",
        )
    return profiles[profile_id]


def most_specific(region_code: str) -> str:
    """The profile whose `covers` has the longest prefix of the region code; of two with the
    same prefix (hebei and the eastern benchmark zone it extends), the one further down its chain."""
    best, best_rank = None, (-1, -1)
    for profile in load_profiles().values():
        for prefix in profile.covers:
            rank = (len(prefix), len(chain(profile.id)))
            if not region_code.startswith(prefix):
                continue
            if rank == best_rank and best not in {p.id for p in chain(profile.id)} \
                    and profile.id not in {p.id for p in chain(best)}:
                raise RuleError(f"配置“{best}”和“{profile.id}”都覆盖地区代码 {region_code}，且互不继承：请让其中一个继承另一个。",
                                f"Profiles '{best}' and '{profile.id}' both cover region code {region_code} and "
                                "neither extends the other: make one extend the other.")
            if rank > best_rank:
                best, best_rank = profile.id, rank
    if best is None:
        raise RuleError("没有任何配置覆盖该地区代码。", f"No profile covers region code {region_code}.")
    return best
