"""CONTRIBUTING.md is true, not decorative.

Its "Add a rule" steps, done in a temporary copy of rules/ and tests/rules/, give a rule
that loads, runs, passes its own cases and shows in `finaudit rules show`, with no Python
edited; and every file, command and switch the page names exists.
"""
from __future__ import annotations

import ast
import importlib
import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import finaudit
import test_portable_sql
import test_rules
from finaudit import resources
from finaudit.audit import catalogue, profiles
from finaudit.audit.catalogue import REQUIRED_FIELDS
from finaudit.audit.profiles import CLAUSE_FIELDS
from finaudit.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
README = ROOT / "README.md"
RULE_ID = "EXAMPLE_SURCHARGE_COLLECTED"

# --- the three files of the walkthrough's example rule -------------------------------

RULE_YAML = """\
# EXAMPLE rule of CONTRIBUTING.md ("Add a rule"): tests/test_contributing.py writes it in a
# temporary copy of rules/. It is not shipped; a data check, it cites no clause of a profile.
id: EXAMPLE_SURCHARGE_COLLECTED
title:
  zh: 教育费附加征收额为零（示例规则）
  en: No education surcharge collected (example rule)
severity: warning
kind: data
sheets: [budget, surcharge]
requirement:
  zh: 示例：有附加的地区每年都应有征收额
  en: "Example: a region with a surcharge collects some every year"
parameters: []
measures:
  what: {zh: 某地区某年度各类附加的征收额合计, en: "Surcharge collected in a region and year, all types"}
  unit: 元
why_it_matters:
  zh: 示例规则。征收额为零时，附加用于职业教育的比例无从计算，比例要求也就无法核查。
  en: "Example rule. With nothing collected, the vocational share of the surcharge cannot be computed or checked."
remediation:
  zh: 核实该地区该年度的附加征收额是否漏填或误填为零。
  en: Check whether the region's surcharge collection for the year was left out or entered as zero.
checks:
  main:
    message:
      zh: "{region_name}{year}年教育费附加表的征收额合计为{actual:,.2f}元。"
      en: "{region_name} {year}: the surcharge sheet shows {actual:,.2f} yuan collected."
examples:
  failing: "襄都区 2023年 教育费附加 0元 + 地方教育附加 0元"
  passing: "襄都区 2023年 地方教育附加 1元"
"""

RULE_SQL = """\
-- EXAMPLE rule of CONTRIBUTING.md: a region and year whose surcharge rows collect nothing.
SELECT CASE WHEN sum(collected) = 0 THEN 'fail' ELSE 'pass' END AS outcome,
       region_code, min(region_name) AS region_name, year,
       CAST(NULL AS VARCHAR) AS level, CAST(NULL AS VARCHAR) AS school_id,
       sum(collected) AS actual, CAST(NULL AS DOUBLE) AS required, CAST(NULL AS DOUBLE) AS shortfall_yuan,
       list(_row) AS surcharge_rows
FROM surcharge
WHERE list_contains($regions, region_code) AND list_contains($years, year)
GROUP BY region_code, year
"""

CASES_YAML = """\
rule: EXAMPLE_SURCHARGE_COLLECTED
# Example rule of CONTRIBUTING.md: the surcharge collected in a region and year must not total zero.
cases:
  - name: warns when a region collects no surcharge of either type in a year
    year: 2023
    ledger:
      budget:
        - {year: 2023, region_code: "130502", region_name: 襄都区, level: primary, expense_class: personnel, amount: 1}
      surcharge:
        - {year: 2023, region_code: "130502", region_name: 襄都区, surcharge_type: education_surcharge, collected: 0, vocational: 0}
        - {year: 2023, region_code: "130502", region_name: 襄都区, surcharge_type: local_education_surcharge, collected: 0, vocational: 0}
    # 0 + 0 = 0 yuan collected: a warning, no money gap to state
    expected:
      - {severity: warning, subject: {region_code: "130502", year: 2023}}

  - name: passes when one yuan of one surcharge type is collected
    year: 2023
    ledger:
      budget:
        - {year: 2023, region_code: "130502", region_name: 襄都区, level: primary, expense_class: personnel, amount: 1}
      surcharge:
        - {year: 2023, region_code: "130502", region_name: 襄都区, surcharge_type: education_surcharge, collected: 0, vocational: 0}
        - {year: 2023, region_code: "130502", region_name: 襄都区, surcharge_type: local_education_surcharge, collected: 1, vocational: 0}
    # 0 + 1 = 1 yuan collected
    expected: []
"""


# --- pointing the package at a copy of rules/ ----------------------------------------

def _modules_binding(names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(module, name) for every finaudit module that does `from finaudit.resources import <name>`:
    each holds its own reference, so each is patched (resources.py has no switch of its own)."""
    found = []
    for path in sorted((ROOT / "finaudit").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if not any(name in text for name in names):
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ImportFrom) and node.module == "finaudit.resources":
                found += [(module, a.name) for a in node.names if a.name in names]
    return found


def _clear_caches():
    for cached in (catalogue.load_rules, catalogue.finding_codes):
        cached.cache_clear()
    profiles.reload()


@pytest.fixture
def rules_copy(tmp_path, monkeypatch):
    """A copy of rules/ and tests/rules/ that the package and tests/test_rules.py read instead."""
    rules = tmp_path / "rules"
    cases = tmp_path / "tests" / "rules"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests" / "rules", cases)
    folders = {"rules_dir": lambda: rules, "profiles_dir": lambda: rules / "profiles"}
    bindings = _modules_binding(tuple(folders))
    assert ("finaudit.audit.catalogue", "rules_dir") in bindings   # the scan still sees what it patches
    for module, name in bindings:
        monkeypatch.setattr(importlib.import_module(module), name, folders[name])
    for name, folder in folders.items():
        monkeypatch.setattr(resources, name, folder)
    monkeypatch.setattr(test_rules, "CASES_DIR", cases)
    _clear_caches()
    yield rules, cases
    monkeypatch.undo()
    _clear_caches()   # the next test reads the real rules/ again


def _findings(ledger: Path, rule, year: int) -> list[tuple]:
    result = finaudit.check(ledger, year=year, rules={rule.id: rule})
    return [(f.rule_id, f.severity, f.subject["region_code"], f.subject["year"], f.shortfall_yuan)
            for f in result.findings if f.rule_id == rule.id]


def test_adding_a_rule_is_two_rule_files_and_a_cases_file_with_no_python_edited(rules_copy, tmp_path):
    rules, cases_dir = rules_copy
    before = {p.name for p in rules.iterdir()}

    # Steps 1-3: rules/<ID>.yaml, rules/<ID>.sql, tests/rules/<ID>.yaml.
    (rules / f"{RULE_ID}.yaml").write_text(RULE_YAML, encoding="utf-8")
    (rules / f"{RULE_ID}.sql").write_text(RULE_SQL, encoding="utf-8")
    (cases_dir / f"{RULE_ID}.yaml").write_text(CASES_YAML, encoding="utf-8")
    assert {p.name for p in rules.iterdir()} - before == {f"{RULE_ID}.yaml", f"{RULE_ID}.sql"}

    # The catalogue picks it up from the folder, with every required key.
    rule = catalogue.load_rules()[RULE_ID]
    assert rule.path == rules / f"{RULE_ID}.yaml" and rule.kind == "data"
    assert set(REQUIRED_FIELDS) <= set(yaml.safe_load(RULE_YAML))

    # Step 5, `pytest tests/test_rules.py -k <ID>`: the cases test_rules collects for the id,
    # each run by its own test function.
    selected = [p for p in test_rules._cases() if RULE_ID in p.id]
    assert [p.id for p in selected] == [
        f"{RULE_ID}-warns when a region collects no surcharge of either type in a year",
        f"{RULE_ID}-passes when one yuan of one surcharge type is collected"]
    for n, param in enumerate(selected):
        rule_id, case = param.values
        test_rules.test_rule_case(rule_id, case, tmp_path / f"case{n}")
    test_rules.test_every_rule_has_passing_and_failing_cases()

    # The same cases, audited directly: the failing one gives exactly one warning, the passing one none.
    failing, passing = (case for _, case in (p.values for p in selected))
    assert _findings(test_rules.write_ledger(tmp_path / "failing", failing["ledger"]), rule, 2023) == [
        (RULE_ID, "warning", "130502", 2023, None)]
    assert _findings(test_rules.write_ledger(tmp_path / "passing", passing["ledger"]), rule, 2023) == []

    # Step 6: `finaudit rules show <ID>` and the catalogue list.
    shown = CliRunner().invoke(main, ["rules", "show", RULE_ID, "--lang", "en"])
    assert shown.exit_code == 0, shown.output
    assert "No education surcharge collected (example rule)" in shown.stdout
    assert "Example: a region with a surcharge collects some every year" in shown.stdout
    assert RULE_ID in CliRunner().invoke(main, ["rules"]).stdout

    # Step 7, what every rule goes through: its SQL transpiles, and the clean sample stays clean.
    for dialect in test_portable_sql.DIALECTS:
        test_portable_sql.test_a_rule_query_transpiles_from_duckdb_and_keeps_its_bound_parameters(
            rule.sql, set(rule.bound), dialect)
    assert _findings(ROOT / "sample_ledgers" / "clean.xlsx", rule, None) == []

    # The engine knows nothing of the rule: no Python file names it.
    assert [p for p in (ROOT / "finaudit").rglob("*.py") if RULE_ID in p.read_text(encoding="utf-8")] == []


# --- the page names what exists ------------------------------------------------------

def _code_spans(markdown: str) -> list[str]:
    """The text of every fenced block (one item per line) and every inline code span."""
    spans = []
    fenced = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
    for block in fenced.findall(markdown):
        spans += [line.strip() for line in block.splitlines() if line.strip()]
    spans += re.findall(r"`([^`\n]+)`", fenced.sub("", markdown))
    return spans


def _section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.S | re.M)
    assert match, f"CONTRIBUTING.md has no section '{title}'"
    return match.group(1)


def _readme_test_command() -> str:
    text = README.read_text(encoding="utf-8")
    after = text.split("Run the tests:", 1)[1]
    return next(line.strip() for line in after.splitlines() if line.startswith("    "))


PATH = re.compile(r"(?<![\w./-])((?:rules|schemas|tests|finaudit|sample_ledgers|\.ci)/[\w<>./-]*)")


def test_every_path_command_and_switch_the_contributing_guide_names_exists():
    text = CONTRIBUTING.read_text(encoding="utf-8")
    spans = _code_spans(text)

    # Paths: each exists, or with its <placeholder> stands for files that do.
    paths = {m.rstrip(".") for span in spans for m in PATH.findall(span)}
    assert {"rules/<ID>.yaml", "rules/<ID>.sql", "tests/rules/<ID>.yaml", "rules/parameters.yaml",
            "rules/profiles/<profile>.yaml", "schemas/<sheet>.yaml"} <= paths
    for path in sorted(paths):
        pattern = re.sub(r"<[^>]+>", "*", path)
        exists = any(ROOT.glob(pattern)) if "*" in pattern else (ROOT / path).exists()
        assert exists, f"CONTRIBUTING.md names {path}, which does not exist"
    for span in spans:
        for file, name in re.findall(r"(tests/\w+\.py)::(\w+)", span):
            assert re.search(rf"^def {name}\(", (ROOT / file).read_text(encoding="utf-8"), re.M), f"{file}::{name}"

    # Every stage subpackage is in the layout.
    for package in sorted(p.parent for p in (ROOT / "finaudit").glob("*/__init__.py")):
        assert f"finaudit/{package.name}/" in spans, f"the layout does not name finaudit/{package.name}/"

    # The test command is README's, verbatim; the slow marker is the one pyproject declares.
    assert _readme_test_command() in spans
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "slow" in spans and '"slow:' in pyproject and '-m "not slow"' in text

    # The golden switch is the one the golden-file tests read.
    golden_tests = (ROOT / "tests" / "test_outputs.py").read_text(encoding="utf-8")
    switches = set(re.findall(r"os\.environ\.get\(\"(FINAUDIT_\w+)\"\)", golden_tests))
    named = {m for span in spans for m in re.findall(r"\b(FINAUDIT_\w+)=1", span)}
    assert named and named <= switches, f"CONTRIBUTING.md names {named}; tests/test_outputs.py reads {switches}"
    assert "a golden file changes only in a commit that says why" in text

    # The lock command is README's, verbatim.
    lock = next(s for s in _code_spans(README.read_text(encoding="utf-8")) if s.startswith("pip-compile "))
    assert lock in spans

    # Every `finaudit <command>` is a command of the CLI; `rules show` too.
    commands = {m for span in spans for m in re.findall(r"(?:^|[\s/])finaudit (\w+)", span)}
    assert {"rules", "profiles", "template"} <= commands
    assert commands <= set(main.commands), commands - set(main.commands)
    assert "show" in main.commands["rules"].commands


def test_the_add_a_rule_steps_name_every_required_key_and_the_commands_that_check_the_rule():
    text = CONTRIBUTING.read_text(encoding="utf-8")
    steps = _section(text, "Add a rule")
    spans = set(_code_spans(steps))
    assert set(REQUIRED_FIELDS) <= spans, set(REQUIRED_FIELDS) - spans
    assert set(CLAUSE_FIELDS) <= spans                        # what a profile's clause must say
    assert "clauses" in spans and "rules/profiles/<profile>.yaml" in spans
    assert {"outcome", "region_code", "year"} <= spans        # the columns queries.py checks
    assert {".venv/bin/pytest tests/test_rules.py -k <ID>", ".venv/bin/finaudit rules show <ID>"} <= spans
    # The example rule's test ids are <ID>-<case>, so `-k <ID>` selects its cases.
    assert all(p.id.startswith(f"{p.values[0]}-") for p in test_rules._cases())

    parameters = _section(text, "Add a profile parameter")
    assert "param($name, region_code, year)" in _code_spans(parameters)
    assert "param($name, region_code, year)" in (ROOT / "rules" / "README.md").read_text(encoding="utf-8")
    assert ".venv/bin/finaudit profiles" in _code_spans(parameters)
