"""Loading the rule catalogue from rules/: one YAML and (usually) one SQL file per rule.

Loading is strict: a rule without a requirement, naming an undeclared parameter, whose id
is not its file name, or whose SQL does not run on an empty ledger stops the
program with a message naming the file. No rule is ever skipped silently.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from finaudit.errors import RuleError, UsageError, join_names
from finaudit.findings import SEVERITIES
from finaudit.audit.profiles import load_profiles, parameter_registry
from finaudit.intake.schema import load_schemas
from finaudit.resources import rules_dir

# libyaml, as in schema.py: it reads the rule files about nine times faster than the
# pure-Python loader (same objects), most of what `finaudit rules` spends.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

BUILTIN_PARAMETERS = ("regions", "years", "region_names")
_PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_COMMENT = re.compile(r"--[^\n]*")
REQUIRED_FIELDS = ("id", "title", "severity", "kind", "requirement", "parameters", "measures", "why_it_matters",
                   "remediation", "checks")
# What a rule is, declared in its metadata (rules/README.md): a statutory guarantee; the
# pre-audit of a draft budget (--draft-severity applies); a data-integrity check (never
# withheld for rejected rows, listed after the guarantees). Codes without a rule file
# (rules/codes.yaml) are of kind schema (a rejected cell) or input (a ledger not audited).
RULE_KINDS = ("guarantee", "draft", "data")
CHARTS = ("trend", "bars", "paired", "progress")
# Where the money that closes a violation goes (audit/remediation.py); none: other money.
REMEDIES = ("general_budget", "compulsory_general_budget")
CODE_KINDS = ("schema", "input")
_NOT_RULES = {"parameters.yaml", "codes.yaml"}


@dataclass(frozen=True)
class Rule:
    id: str
    title: dict
    severity: str
    kind: str                   # one of RULE_KINDS
    # The general statement of what is required ({zh, en}); the clauses that require it are
    # the profiles' (audit/profiles.py), so that a finding cites its own jurisdiction's law.
    requirement: dict
    parameters: tuple[str, ...]
    measures: dict
    why_it_matters: dict
    remediation: dict
    checks: dict
    unevaluable: dict
    examples: dict
    labels: dict
    evidence_column: str | None
    chart: str | None           # "trend" (year-on-year lines) | "bars" (actual against required)
    #                             | "paired" (two bars a year: the measure and what it must exceed)
    #                             | "progress" (plan indicators: progress to target beside time elapsed) | None
    chart_legend: dict | None   # paired: {zh: [measure, comparison], en: [...]}
    remedy: str | None          # the money that closes a violation (remediation.py): general_budget
    #                             | compulsory_general_budget | None (other money, added as it is)
    levels_detail_overall: bool  # per-level findings break down the overall one (money counted once)
    compares_previous_year: bool  # reads the year before too (rejected rows there withhold the result)
    identified_by_cells: bool      # findings are about cells (duplicates), not a subject (fingerprint)
    stage: str                  # "sql" (runs on the tables) or "load" (found by the loader)
    sql: str | None
    path: Path
    bound: tuple[str, ...] = ()   # the $names the SQL binds
    sheets: tuple[str, ...] = ()  # the ledger sheets it needs: without one it is not evaluated


def _fail(path: Path, zh: str, en: str) -> RuleError:
    return RuleError(f"规则文件 rules/{path.name} 无效：{zh}", f"Rule file rules/{path.name} is invalid: {en}")


def load_rule(path: Path) -> Rule:
    """Reads and checks one rule's metadata (and SQL text); does not run the SQL."""
    try:
        spec = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise _fail(path, f"YAML 语法错误（{exc.__class__.__name__}）。", f"YAML syntax error ({exc}).") from None
    if not isinstance(spec, dict):
        raise _fail(path, "内容不是键值表。", "it is not a mapping.")
    missing = [f for f in REQUIRED_FIELDS if f not in spec]
    if missing:
        raise _fail(path, f"缺少字段 {join_names(missing, 'zh')}。", f"missing field(s) {join_names(missing, 'en')}.")
    if spec["id"] != path.stem:
        raise _fail(path, f"id“{spec['id']}”与文件名不符。", f"id '{spec['id']}' does not match the file name.")
    requirement = spec.get("requirement")
    if not isinstance(requirement, dict) or not requirement.get("zh") or not requirement.get("en"):
        raise _fail(path, "requirement 须用中英文写明要求什么（条文原文在各配置的 clauses 中）。",
                    "requirement must state in zh and en what is required (the clauses are the profiles').")
    if spec["kind"] not in RULE_KINDS:
        raise _fail(path, f"kind 应为 {join_names(RULE_KINDS, 'zh')} 之一，而不是“{spec['kind']}”。",
                    f"kind must be one of {join_names(RULE_KINDS, 'en')}, not '{spec['kind']}'.")
    if spec["severity"] not in SEVERITIES:
        raise _fail(path, f"severity 应为 {join_names(SEVERITIES, 'zh')} 之一。",
                    f"severity must be one of {join_names(SEVERITIES, 'en')}.")
    registry = parameter_registry()
    unknown = [p for p in spec["parameters"] if p not in registry]
    if unknown:
        raise _fail(path, f"使用了未声明的参数 {join_names(unknown, 'zh')}（见 rules/parameters.yaml）。",
                    f"unknown parameter(s) {join_names(unknown, 'en')} (not in rules/parameters.yaml).")
    for key, allowed in (("chart", CHARTS), ("remedy", REMEDIES)):
        if spec.get(key) is not None and spec[key] not in allowed:
            # a misspelt remedy would move the rule's money out of the overlap (counted twice)
            raise _fail(path, f"{key} 应为 {join_names(allowed, 'zh')} 之一，而不是“{spec[key]}”。",
                        f"{key} must be one of {join_names(allowed, 'en')}, not '{spec[key]}'.")
    for name, check in spec["checks"].items():
        message = (check or {}).get("message") or {}
        if not message.get("zh") or not message.get("en"):
            raise _fail(path, f"检查“{name}”缺少中英文 message。", f"check '{name}' needs a message in zh and en.")
        label = (check or {}).get("label") or {}
        if (check or {}).get("severity") and not (label.get("zh") and label.get("en")):
            # a check of its own severity is listed by `rules show`: by its name in the reader's language
            raise _fail(path, f"检查“{name}”有自己的级别，须有中英文 label。", f"check '{name}' has its own severity and needs a label in zh and en.")
    stage = spec.get("stage", "sql")
    sql_path = path.with_suffix(".sql")
    sql = None
    if stage == "sql":
        if not sql_path.exists():
            raise _fail(path, f"缺少查询文件 rules/{sql_path.name}。", f"its query rules/{sql_path.name} is missing.")
        sql = sql_path.read_text(encoding="utf-8")
    bound = tuple(sorted(set(_PARAMETER.findall(_COMMENT.sub("", sql or "")))))
    undeclared = [p for p in bound if p not in BUILTIN_PARAMETERS and p not in spec["parameters"]]
    if undeclared:
        raise _fail(path, f"查询使用了元数据未列出的参数 ${undeclared[0]}。",
                    f"its query binds ${undeclared[0]}, which the metadata does not list under parameters.")
    sheets = spec.get("sheets")
    if stage == "sql" and (not isinstance(sheets, list) or not sheets
                           or any(s not in load_schemas() for s in sheets)):
        names = "、".join(load_schemas())
        raise _fail(path, f"sheets 应列出查询需要的工作表（{names}）。",
                    f"sheets must list the ledger sheets its query needs ({', '.join(load_schemas())}).")
    unused = [p for p in spec["parameters"] if stage == "sql" and p not in bound
              and registry[p].get("bound_by") != "engine"]
    if unused:
        raise _fail(path, f"列出的参数“{unused[0]}”在查询中没有使用。",
                    f"parameter '{unused[0]}' is listed but its query never uses it.")
    return Rule(
        id=spec["id"], title=spec["title"], severity=spec["severity"], kind=spec["kind"], requirement=requirement,
        parameters=tuple(spec["parameters"]), measures=spec["measures"],
        why_it_matters=spec["why_it_matters"], remediation=spec["remediation"], checks=spec["checks"],
        unevaluable=spec.get("unevaluable") or {}, examples=spec.get("examples") or {},
        labels=spec.get("labels") or {}, evidence_column=spec.get("evidence_column"),
        chart=spec.get("chart"), chart_legend=spec.get("chart_legend"), remedy=spec.get("remedy"),
        levels_detail_overall=bool(spec.get("levels_detail_overall", False)),
        compares_previous_year=bool(spec.get("compares_previous_year", False)),
        identified_by_cells=bool(spec.get("identified_by_cells", False)),
        stage=stage, sql=sql, path=path, bound=bound, sheets=tuple(sheets or ()),
    )


@functools.lru_cache(maxsize=None)
def load_rules(directory: str | None = None) -> dict[str, Rule]:
    """Every rule in rules/ (or `directory`), by id, in id order."""
    folder = Path(directory) if directory else rules_dir()
    rules = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name in _NOT_RULES:
            continue
        rule = load_rule(path)
        rules[rule.id] = rule
    orphans = [p.name for p in folder.glob("*.sql") if p.stem not in rules and p.name != "views.sql"]
    if orphans:
        raise RuleError(f"rules/{orphans[0]} 没有对应的规则元数据文件。", f"rules/{orphans[0]} has no metadata file.")
    if directory is None:
        for profile in load_profiles().values():
            for entry in profile.clauses:
                unknown = [r for r in entry["rules"] if r.split(":", 1)[0] not in rules
                           or (":" in r and r.split(":", 1)[1] not in rules[r.split(":", 1)[0]].checks)]
                if unknown:
                    raise RuleError(f"rules/profiles/{profile.id}.yaml 的依据“{entry['clause']}”指向不存在的规则 {unknown[0]}。",
                                    f"rules/profiles/{profile.id}.yaml: clause '{entry['clause']}' names unknown rule {unknown[0]}.")
    return rules


def get_rule(rule_id: str) -> Rule:
    rules = load_rules()
    if rule_id not in rules:
        raise UsageError(f"没有规则“{rule_id}”。可用：{join_names(rules, 'zh')}。",
                         f"No rule '{rule_id}'. Available: {join_names(rules, 'en')}.")
    return rules[rule_id]


def views_sql(directory: str | None = None) -> str:
    folder = Path(directory) if directory else rules_dir()
    path = folder / "views.sql"
    return path.read_text(encoding="utf-8") if path.exists() else ""


@dataclass(frozen=True)
class Code:
    """A finding code without a rule file (rules/codes.yaml)."""
    id: str
    kind: str                   # one of CODE_KINDS
    title: dict
    description: dict
    remediation: dict
    basis: dict | None


@functools.lru_cache(maxsize=None)
def finding_codes(directory: str | None = None) -> dict[str, Code]:
    """The codes of rules/codes.yaml, checked like rule files: a kind, titles in zh and en."""
    folder = Path(directory) if directory else rules_dir()
    path = folder / "codes.yaml"
    spec = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
    shared = {kind: spec.pop(kind, {}) or {} for kind in CODE_KINDS}
    codes = {}
    for code, entry in spec.items():
        entry = entry or {}
        if entry.get("kind") not in CODE_KINDS:
            raise _fail(path, f"代码 {code} 的 kind 应为 {join_names(CODE_KINDS, 'zh')} 之一。",
                        f"code {code}: kind must be one of {join_names(CODE_KINDS, 'en')}.")
        merged = {**shared[entry["kind"]], **entry}
        for field in ("title", "description", "remediation"):
            if not (merged.get(field) or {}).get("zh") or not (merged.get(field) or {}).get("en"):
                raise _fail(path, f"代码 {code} 缺少中英文 {field}。", f"code {code} needs a {field} in zh and en.")
        codes[code] = Code(code, merged["kind"], merged["title"], merged["description"], merged["remediation"],
                           merged.get("basis"))
    clash = sorted(set(codes) & set(load_rules(directory)))
    if clash:
        raise _fail(path, f"代码 {clash[0]} 已是规则文件。", f"code {clash[0]} is a rule file too.")
    return codes


def kind_of(code: str) -> str | None:
    """The kind of any finding code: a rule's, or a code's of rules/codes.yaml."""
    rule = load_rules().get(code)
    if rule is not None:
        return rule.kind
    entry = finding_codes().get(code)
    return entry.kind if entry else None


def code_title(code: str, lang: str, rules: dict | None = None) -> str:
    """A finding's headline: its rule's title (from `rules` when given: a run's own rules),
    or its code's."""
    rule = (rules if rules is not None else load_rules()).get(code)
    if rule is not None:
        return rule.title[lang]
    entry = finding_codes().get(code)
    return entry.title[lang] if entry else code


def check_draft_severity(severity: str | None) -> None:
    """Refuses a --draft-severity that is not a severity (None: the rules' own)."""
    if severity is not None and severity not in SEVERITIES:
        raise UsageError(f"草案预审的级别应为 violation、warning 或 info，而不是“{severity}”。",
                         f"The draft severity must be violation, warning or info, not '{severity}'.")
