"""One registry of finding codes: every code the program can emit has its titles and kind
in a rule file or in rules/codes.yaml, and what a code does follows its declared kind."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finaudit.runs.result import UNREADABLE
from finaudit.audit.catalogue import CODE_KINDS, RULE_KINDS, finding_codes, kind_of, load_rule, load_rules
from finaudit.errors import RuleError
from finaudit.intake.validate import _REASONS

RULES = Path(__file__).resolve().parent.parent / "rules"


def test_every_rule_declares_what_kind_of_rule_it_is():
    assert {rule.kind for rule in load_rules().values()} <= set(RULE_KINDS)
    assert {rule.id for rule in load_rules().values() if rule.kind == "draft"} == {
        "DRAFT_FLOORS", "DRAFT_ONLY_INCREASE_PER_STUDENT", "DRAFT_ONLY_INCREASE_TOTAL", "DRAFT_EDU_GROWTH_ABOVE_REVENUE",
        "DRAFT_COMPULSORY_GROWTH_ABOVE_REVENUE"}


def test_a_rule_of_an_unknown_kind_fails_loading_naming_the_file(tmp_path):
    path = tmp_path / "FLOOR_PRESCHOOL.yaml"
    shutil.copy(RULES / "FLOOR_PRESCHOOL.yaml", path)
    shutil.copy(RULES / "FLOOR_PRESCHOOL.sql", tmp_path / "FLOOR_PRESCHOOL.sql")
    text = path.read_text(encoding="utf-8")
    assert "kind: guarantee" in text
    path.write_text(text.replace("kind: guarantee", "kind: promise"), encoding="utf-8")
    with pytest.raises(RuleError, match="FLOOR_PRESCHOOL.yaml.*promise"):
        load_rule(path)


def test_every_code_the_loader_and_the_batch_emit_is_registered_with_titles():
    emitted = {*_REASONS.values(), "SCHEMA_TYPE", UNREADABLE}
    codes = finding_codes()
    assert emitted <= set(codes)
    assert {code.kind for code in codes.values()} <= set(CODE_KINDS)
    assert all(code.title["zh"] and code.title["en"] for code in codes.values())
    assert kind_of(UNREADABLE) == "input" and kind_of("SCHEMA_RANGE") == "schema"


def test_the_text_report_titles_a_rejected_cells_code(cli, write_xlsx, sheets):
    sheets["教育经费"][1][7] = "一千五百"            # not a number
    run = cli("check", write_xlsx(sheets), "--show-info")
    assert "■ SCHEMA_TYPE  值的类型不符" in run.stdout


@pytest.mark.parametrize("key, value", [("remedy", "general_budgt"), ("chart", "paird")])
def test_a_misspelt_remedy_or_chart_fails_loading_naming_the_file(tmp_path, key, value):
    # a misspelt remedy would silently move the rule's money out of the overlap and count it twice
    import yaml

    spec = yaml.safe_load((RULES / "FLOOR_PRESCHOOL.yaml").read_text(encoding="utf-8"))
    spec[key] = value
    path = tmp_path / "FLOOR_PRESCHOOL.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    shutil.copy(RULES / "FLOOR_PRESCHOOL.sql", tmp_path / "FLOOR_PRESCHOOL.sql")
    with pytest.raises(RuleError) as err:
        load_rule(path)
    assert "FLOOR_PRESCHOOL.yaml" in str(err.value) and value in str(err.value)


def test_a_check_of_its_own_severity_without_a_label_fails_loading(tmp_path):
    import yaml

    spec = yaml.safe_load((RULES / "FISCAL_EDU_GDP_SHARE.yaml").read_text(encoding="utf-8"))
    del spec["checks"]["province"]["label"]
    path = tmp_path / "FISCAL_EDU_GDP_SHARE.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    shutil.copy(RULES / "FISCAL_EDU_GDP_SHARE.sql", tmp_path / "FISCAL_EDU_GDP_SHARE.sql")
    with pytest.raises(RuleError) as err:
        load_rule(path)
    assert "province" in str(err.value) and "label" in str(err.value)
