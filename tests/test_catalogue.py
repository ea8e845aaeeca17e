"""Loading rules and profiles is strict: a broken rule file stops the program, named."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from finaudit.audit import profiles
from finaudit.audit.catalogue import load_rule, load_rules
from finaudit.audit.engine import prepare_rules
from finaudit.errors import RuleError
from finaudit.resources import rules_dir

RULES = Path(rules_dir())


def _copy_rule(tmp_path: Path, rule_id: str) -> tuple[Path, Path]:
    yaml_path = tmp_path / f"{rule_id}.yaml"
    shutil.copy(RULES / f"{rule_id}.yaml", yaml_path)
    shutil.copy(RULES / f"{rule_id}.sql", tmp_path / f"{rule_id}.sql")
    return yaml_path, tmp_path / f"{rule_id}.sql"


def test_every_shipped_rule_loads_and_its_sql_runs_on_an_empty_ledger():
    rules = load_rules()
    assert len(rules) >= 14
    prepare_rules(rules)


def test_a_rule_without_a_requirement_fails_loading_naming_the_file(tmp_path):
    path, _ = _copy_rule(tmp_path, "FLOOR_PRESCHOOL")
    text = path.read_text(encoding="utf-8")
    start = text.index("requirement:")
    end = text.index("parameters:")
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(RuleError) as err:
        load_rule(path)
    assert "FLOOR_PRESCHOOL.yaml" in err.value.zh and "requirement" in err.value.en


def test_a_rule_whose_requirement_lacks_a_language_fails_loading(tmp_path):
    path, _ = _copy_rule(tmp_path, "FLOOR_PRESCHOOL")
    text = path.read_text(encoding="utf-8")
    assert "\n  en: \"Public kindergartens'" in text
    path.write_text(text.replace("\n  en: \"Public kindergartens'", "\n  fr: \"Public kindergartens'"), encoding="utf-8")
    with pytest.raises(RuleError, match="FLOOR_PRESCHOOL.yaml"):
        load_rule(path)


def test_a_rule_naming_an_undeclared_parameter_fails_loading(tmp_path):
    path, _ = _copy_rule(tmp_path, "FLOOR_PRESCHOOL")
    text = path.read_text(encoding="utf-8").replace(
        "parameters: [floor_preschool_public_funds_per_student, general_budget_fund_sources]",
        "parameters: [floor_preschool_public_funds_per_student, general_budget_fund_sources, floor_for_unicorns]")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError, match="floor_for_unicorns"):
        load_rule(path)


def _break(sql, old: str, new: str) -> None:
    """Replaces text that must be in the rule's SQL: a test whose change does nothing cannot fail."""
    text = sql.read_text(encoding="utf-8")
    assert old in text, f"{sql.name} no longer holds {old!r}: change the test with the rule"
    sql.write_text(text.replace(old, new), encoding="utf-8")


def test_sql_binding_a_parameter_the_metadata_does_not_list_fails_loading(tmp_path):
    path, sql = _copy_rule(tmp_path, "FLOOR_PRESCHOOL")
    _break(sql, "'preschool'", "$level")
    with pytest.raises(RuleError, match=r"\$level"):
        load_rule(path)


def test_a_rule_whose_id_is_not_its_file_name_fails_loading(tmp_path):
    path, _ = _copy_rule(tmp_path, "FLOOR_PRESCHOOL")
    path.write_text(path.read_text(encoding="utf-8").replace("id: FLOOR_PRESCHOOL", "id: FLOOR_KINDERGARTEN"),
                    encoding="utf-8")
    with pytest.raises(RuleError, match="FLOOR_KINDERGARTEN"):
        load_rule(path)


def test_sql_that_does_not_run_stops_the_audit_naming_the_file(tmp_path):
    path, sql = _copy_rule(tmp_path, "FLOOR_PRESCHOOL")
    _break(sql, "SELECT *", "SELECT per_studnet")
    rule = load_rule(path)
    with pytest.raises(RuleError) as err:
        prepare_rules({rule.id: rule})
    assert "FLOOR_PRESCHOOL.sql" in err.value.en


def test_a_missing_sql_file_fails_loading(tmp_path):
    path, sql = _copy_rule(tmp_path, "FLOOR_PRESCHOOL")
    sql.unlink()
    with pytest.raises(RuleError, match="FLOOR_PRESCHOOL.sql"):
        load_rule(path)


@pytest.mark.parametrize("sheets", ["", "sheets: []\n", "sheets: [budget, payroll]\n"], ids=["absent", "empty", "unknown"])
def test_a_rule_that_does_not_say_which_sheets_it_needs_fails_loading(tmp_path, sheets):
    # Without the list a missing sheet would run the query on an empty table and look compliant.
    path, _ = _copy_rule(tmp_path, "ONLY_INCREASE_TOTAL")
    text = path.read_text(encoding="utf-8")
    line = next(l for l in text.splitlines(keepends=True) if l.startswith("sheets:"))
    path.write_text(text.replace(line, sheets), encoding="utf-8")
    with pytest.raises(RuleError, match="ONLY_INCREASE_TOTAL.yaml.*sheets"):
        load_rule(path)


def test_no_threshold_is_a_literal_in_rule_sql():
    """STYLE.md 3: a threshold in SQL is a bug; floors and shares come from profiles."""
    import re

    for sql in RULES.glob("*.sql"):
        text = re.sub(r"--[^\n]*", "", sql.read_text(encoding="utf-8"))
        for literal in ("400", "650", "850", "1000", "6000", "0.3", "30"):
            assert f" {literal}" not in text.replace(",", " ").replace("(", " "), f"{sql.name} has {literal}"


def test_a_parameter_value_is_the_latest_in_force_on_the_fiscal_year():
    # 定发字〔2021〕40号 was issued in October 2021: from the fiscal year 2022 on.
    assert profiles.parameter("dingzhou", "floor_preschool_public_funds_per_student", 2021) is None
    assert profiles.parameter("dingzhou", "floor_preschool_public_funds_per_student", 2022)["value"] == 400
    assert profiles.parameter("dingzhou", "floor_preschool_public_funds_per_student", 2030)["value"] == 400


def test_a_profile_inherits_its_parents_values_with_their_sources():
    # Xingtai -> Hebei -> the eastern benchmark zone: 国发〔2015〕67号's eastern junior benchmark.
    entry = profiles.parameter("xingtai", "benchmark_junior_public_funds_per_student", 2023)
    assert entry["value"] == 850 and "国发〔2015〕67号" in entry["source"] and "东部" in entry["source"]
    # The national profile holds the central and western value: 800.
    assert profiles.parameter("national", "benchmark_junior_public_funds_per_student", 2023)["value"] == 800
    assert profiles.parameter("national", "benchmark_junior_public_funds_per_student", 2015) is None


def test_each_region_gets_the_most_specific_profile_covering_its_code():
    assert profiles.most_specific("130682") == "dingzhou"
    assert profiles.most_specific("130502") == "xingtai"
    assert profiles.most_specific("130102") == "hebei"      # not the zone Hebei extends, same prefix
    assert profiles.most_specific("110101") == "east"       # Beijing: eastern benchmark zone
    assert profiles.most_specific("410102") == "national"   # Henan: central
    assert profiles.most_specific("150102") == "national"   # Inner Mongolia: western


def _profiles_from(tmp_path, monkeypatch, text: str):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "national.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(profiles, "profiles_dir", lambda: folder)
    profiles.reload()


_NATIONAL = ("id: national\nname: {zh: 全国, en: National}\ncovers: ['']\nclauses:\n"
             "  - {rules: [ONLY_INCREASE_TOTAL], from: 2018, document: D, issuer: I, clause: C, text: T, read: R}\n")


def test_a_clause_without_where_its_text_was_read_is_refused(tmp_path, monkeypatch):
    _profiles_from(tmp_path, monkeypatch, _NATIONAL.replace(", read: R", ""))
    try:
        with pytest.raises(RuleError, match="lacks read"):
            profiles.load_profiles()
    finally:
        monkeypatch.undo()
        profiles.reload()


def test_a_clause_is_cited_from_the_year_it_is_in_force(tmp_path, monkeypatch):
    _profiles_from(tmp_path, monkeypatch, _NATIONAL)
    try:
        assert profiles.clauses("national", "ONLY_INCREASE_TOTAL", 2017) == ()
        (clause,) = profiles.clauses("national", "ONLY_INCREASE_TOTAL", 2018)
        assert (clause["document"], clause["text"], clause["in_force_from"], clause["profile"]) == ("D", "T", 2018,
                                                                                                   "national")
        assert profiles.clauses("national", "FLOOR_PRESCHOOL", 2020) == ()
    finally:
        monkeypatch.undo()
        profiles.reload()


def test_a_clause_naming_a_rule_that_does_not_exist_stops_loading(tmp_path, monkeypatch):
    _profiles_from(tmp_path, monkeypatch, _NATIONAL.replace("[ONLY_INCREASE_TOTAL]", "[ONLY_INCREASE_TOTL]"))
    load_rules.cache_clear()
    try:
        with pytest.raises(RuleError, match="ONLY_INCREASE_TOTL"):
            load_rules()
    finally:
        monkeypatch.undo()
        profiles.reload()
        load_rules.cache_clear()


def test_xingtai_makes_the_provincial_average_advisory_from_2025():
    assert profiles.severity_override("xingtai", "COMPULSORY_PROVINCIAL_AVERAGE", 2025) == "warning"
    assert profiles.severity_override("dingzhou", "COMPULSORY_PROVINCIAL_AVERAGE", 2025) is None


def test_a_profile_setting_an_undeclared_parameter_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "national.yaml").write_text(
        "id: national\nname: {zh: 全国, en: National}\ncovers: ['']\nparameters:\n"
        "  floor_for_unicorns:\n    values:\n      2020: {value: 1, source: none}\n", encoding="utf-8")
    monkeypatch.setattr(profiles, "profiles_dir", lambda: folder)
    profiles.reload()
    try:
        with pytest.raises(RuleError, match="floor_for_unicorns"):
            profiles.load_profiles()
    finally:
        monkeypatch.undo()
        profiles.reload()


def test_two_profiles_covering_one_code_without_extending_each_other_is_an_error(tmp_path, monkeypatch):
    _profiles_from(tmp_path, monkeypatch, _NATIONAL)
    (tmp_path / "profiles" / "a.yaml").write_text("id: a\nname: {zh: 甲, en: A}\nextends: national\ncovers: ['37']\n",
                                                  encoding="utf-8")
    (tmp_path / "profiles" / "b.yaml").write_text("id: b\nname: {zh: 乙, en: B}\nextends: national\ncovers: ['37']\n",
                                                  encoding="utf-8")
    profiles.reload()
    try:
        with pytest.raises(RuleError, match="370102"):
            profiles.most_specific("370102")
    finally:
        monkeypatch.undo()
        profiles.reload()


def test_a_fund_source_the_enumeration_does_not_know_stops_loading(tmp_path, monkeypatch):
    # A typo would leave the surcharge rows out of every general-budget sum, silently.
    _profiles_from(tmp_path, monkeypatch, _NATIONAL + "parameters:\n  general_budget_fund_sources:\n    values:\n"
                   "      2013: {value: [general_budget, educaton_surcharge], source: S}\n")
    try:
        with pytest.raises(RuleError, match="educaton_surcharge"):
            profiles.load_profiles()
    finally:
        monkeypatch.undo()
        profiles.reload()
