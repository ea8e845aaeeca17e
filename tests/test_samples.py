"""The committed sample ledgers: the clean one breaks nothing, each break_<RULE> one
breaks exactly that rule, and the generator still writes what is committed."""
from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

import finaudit

from conftest import SAMPLES

BREAKING = sorted(SAMPLES.glob("break_*.xlsx"))


def _generator():
    spec = importlib.util.spec_from_file_location("generate", SAMPLES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_clean_sample_has_no_violation_and_no_warning():
    result = finaudit.check(SAMPLES / "clean.xlsx")
    assert [f for f in result.findings if f.severity != "info"] == []
    # every info finding is a case not evaluated, or an observation by a check that is info by its own
    # severity (vocational appropriation not above general high schools: a permission, not a duty)
    assert all((f.details and f.details["outcome"] == "unevaluable")
               or result.rules[f.rule_id].checks[f.check].get("severity") == "info" for f in result.findings)


def test_the_clean_sample_exits_0(cli):
    run = cli("check", SAMPLES / "clean.xlsx")
    assert run.exit_code == 0, run.output
    assert "违规 0 项" in run.output


def test_there_is_a_breaking_sample_for_every_guarantee_with_money():
    names = {p.stem.removeprefix("break_") for p in BREAKING}
    assert {"ONLY_INCREASE_TOTAL", "ONLY_INCREASE_PER_STUDENT", "FLOOR_SENIOR_GENERAL", "FLOOR_PRESCHOOL",
            "FLOOR_SECONDARY_VOCATIONAL", "SURCHARGE_VOCATIONAL_SHARE", "TEACHER_PAY_PARITY",
            "EDU_GROWTH_ABOVE_REVENUE", "COMPULSORY_GROWTH_ABOVE_REVENUE", "PUBLIC_FUNDS_PER_STUDENT_GROW",
            "EDU_SHARE_OF_EXPENDITURE", "FISCAL_EDU_GDP_SHARE", "PLAN_TARGET", "DRAFT_EDU_GROWTH_ABOVE_REVENUE",
            "DRAFT_COMPULSORY_GROWTH_ABOVE_REVENUE"} <= names


@pytest.mark.parametrize("path", BREAKING, ids=lambda p: p.stem)
def test_a_breaking_sample_breaks_exactly_its_rule_and_exits_1(path, cli):
    rule_id = path.stem.removeprefix("break_")
    result = finaudit.check(path)
    breaches = [f for f in result.findings if f.severity != "info"]
    assert breaches, f"{path.name} breaks nothing"
    assert {f.rule_id for f in breaches} == {rule_id}
    # A money gap where the rule measures money; a plan indicator's gap is in its own unit
    # (the message says it), and no yuan figure is made up for it.
    assert all(f.shortfall_yuan > 0 for f in breaches if f.shortfall_yuan is not None)
    assert all(f.rule_id == "PLAN_TARGET" and "差" in f.message["zh"] for f in breaches if f.shortfall_yuan is None)
    # A violation fails the run; a rule whose text only sets a direction (逐步提高) or a
    # yardstick (a province against the national 4%) warns, and fails it on --fail-on warning.
    if any(f.severity == "violation" for f in breaches):
        assert cli("check", path, "--quiet").exit_code == 1
    else:
        assert {f.severity for f in breaches} == {"warning"}
        assert cli("check", path, "--quiet").exit_code == 0
        assert cli("check", path, "--quiet", "--fail-on", "warning").exit_code == 1


def test_the_committed_samples_are_what_the_generator_writes(tmp_path):
    written = _generator().main(tmp_path)
    assert {p.name for p in written} == {p.name for p in [SAMPLES / "clean.xlsx", *BREAKING]}
    for fresh in written:
        committed, regenerated = finaudit.load(SAMPLES / fresh.name), finaudit.load(fresh)
        for name, sheet in committed.sheets.items():
            pd.testing.assert_frame_equal(sheet.frame, regenerated.sheets[name].frame, obj=f"{fresh.name}:{name}")


def test_every_sample_says_inside_that_it_is_synthetic():
    import openpyxl

    for path in [SAMPLES / "clean.xlsx", *BREAKING]:
        book = openpyxl.load_workbook(path, read_only=True)
        assert "合成数据" in str(book["说明"]["A1"].value)
        book.close()


def test_a_violation_not_measured_in_money_is_not_hidden_behind_a_zero_total(cli, tmp_path):
    # break_PLAN_TARGET: one binding indicator 0.10 个百分点 short and no money gap anywhere:
    # the conclusion must not read as if nothing were owed.
    run = cli("check", SAMPLES / "break_PLAN_TARGET.xlsx", "--html", tmp_path / "r.html")
    assert "整改所需资金 0.00 元（同一地区同一年度相互重叠的缺口只计一次；各规则缺口之和 0.00 元），另有 1 项违规的差距不以资金计（见各发现）。" \
        in run.stdout
    assert "另有 1 项违规的差距不以资金计" in (tmp_path / "r.html").read_text(encoding="utf-8")
    # a money violation alone says nothing of the kind
    assert "不以资金计" not in cli("check", SAMPLES / "break_FLOOR_PRESCHOOL.xlsx").stdout
