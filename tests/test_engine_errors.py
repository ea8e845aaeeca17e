"""A query that prepared but fails on a ledger's figures is the data's fault, said as such;
only SQL that does not prepare is blamed on the rule file."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import finaudit
from finaudit.audit.catalogue import load_rule
from finaudit.errors import LedgerError

RULES = Path(__file__).resolve().parent.parent / "rules"


def test_a_rule_that_prepares_but_fails_on_the_figures_is_a_ledger_error_naming_the_rule(tmp_path, write_xlsx,
                                                                                          sheets):
    shutil.copy(RULES / "DATA_YEAR_GAP.yaml", tmp_path / "DATA_YEAR_GAP.yaml")
    sql = (RULES / "DATA_YEAR_GAP.sql").read_text(encoding="utf-8")
    old = "min(region_name) AS region_name"
    assert old in sql
    # Empty tables (prepare_rules) cast nothing; the ledger's 定州市 cannot be an integer.
    (tmp_path / "DATA_YEAR_GAP.sql").write_text(
        sql.replace(old, "CAST(CAST(min(region_name) AS INTEGER) AS VARCHAR) AS region_name", 1), encoding="utf-8")
    rule = load_rule(tmp_path / "DATA_YEAR_GAP.yaml")
    with pytest.raises(LedgerError) as caught:
        finaudit.check(write_xlsx(sheets), rules={rule.id: rule})
    assert "DATA_YEAR_GAP" in caught.value.zh and "rules/" not in caught.value.zh
    assert "定州市" in caught.value.en


def test_an_error_quoting_a_c1_control_character_is_still_one_line():
    # Fuzz run 7, seed 32 case 670: an .xlsb relationship id '\x80Id2' quoted in the refusal;
    # \x85 (NEXT LINE) breaks a line in many terminals and log readers.
    error = LedgerError("关系“\x80Id2”不存在\x85第二行。", "relationship '\x80Id2' does not exist\x85second line.")
    for text in (error.zh, error.en):
        assert not any(0x80 <= ord(ch) <= 0x9f or ord(ch) < 0x20 for ch in text)
        assert len(text.splitlines()) == 1
