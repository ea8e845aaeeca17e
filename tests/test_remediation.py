"""The headline money (issue 17 item 3): every violation of a region and year closed, the gaps
that ask for the same money counted once, worked out by hand from the rules' remedies."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import finaudit
from finaudit.audit.catalogue import load_rules
from finaudit.audit.remediation import remediation
from finaudit.findings import Finding

from conftest import SAMPLES


def _gap(rule_id, yuan, year=2023, level=None, school_id=None, check="main", severity="violation", region="130682"):
    subject = {"region_code": region, "region_name": "定州市", "year": year, "level": level, "school_id": school_id}
    return Finding(rule_id=rule_id, severity=severity, message={"zh": "", "en": ""}, subject=subject,
                   shortfall_yuan=yuan, check=check)


def _combined(findings):
    result = SimpleNamespace(findings=findings, rules=load_rules(), region_profiles={"130682": "dingzhou"})
    return remediation(result)


def test_the_total_and_the_per_student_gap_of_one_year_are_one_gap():
    # issue 17: total 13,220,000.00 and overall per-student 16,097,294.12 for the same region and
    # year: closing the per-student gap (the larger) closes both; the sum was printed
    out = _combined([_gap("ONLY_INCREASE_TOTAL", 13_220_000.00), _gap("ONLY_INCREASE_PER_STUDENT", 16_097_294.12)])
    assert out["combined_yuan"] == 16_097_294.12


def test_levels_compulsory_and_total_needs_nest():
    findings = [
        # preschool: the floor (100,000) and the fall (250,000) ask for the same public funds: 250,000
        _gap("FLOOR_PRESCHOOL", 100_000, level="preschool"),
        _gap("PUBLIC_FUNDS_PER_STUDENT_GROW", 250_000, level="preschool"),
        # senior high: schools 200,000 + 50,000 = 250,000 > the region's 150,000: 250,000
        _gap("FLOOR_SENIOR_GENERAL", 200_000, level="senior_general", school_id="S1"),
        _gap("FLOOR_SENIOR_GENERAL", 50_000, level="senior_general", school_id="S2"),
        _gap("FLOOR_SENIOR_GENERAL", 150_000, level="senior_general"),
        # primary: public schools 65,000 + private schools 10,000 (two checks, two sets of pupils): 75,000
        _gap("FLOOR_COMPULSORY_BENCHMARK", 65_000, level="primary"),
        _gap("FLOOR_COMPULSORY_BENCHMARK", 10_000, level="primary", check="private"),
        # compulsory: its growth gap 60,000 < the compulsory levels' 75,000: 75,000
        _gap("COMPULSORY_GROWTH_ABOVE_REVENUE", 60_000),
        # total: the growth gap 500,000 < 75,000 + 250,000 + 250,000 = 575,000: 575,000
        _gap("EDU_GROWTH_ABOVE_REVENUE", 500_000),
        # other money, added as it is: the surcharge's vocational share
        _gap("SURCHARGE_VOCATIONAL_SHARE", 30_000),
        # a warning asks for nothing in the headline
        _gap("EDU_SHARE_OF_EXPENDITURE", 1_000_000, severity="warning"),
    ]
    out = _combined(findings)
    assert out["by_region_year"] == [{"region_code": "130682", "region_name": "定州市", "year": 2023, "draft": False,
                                      "combined_yuan": 605_000.0}]
    # a larger total gap wins over the levels: 800,000 > 575,000, plus the surcharge's 30,000
    out = _combined(findings + [_gap("ONLY_INCREASE_TOTAL", 800_000)])
    assert out["combined_yuan"] == 830_000.0


def test_years_and_regions_add_up():
    out = _combined([_gap("ONLY_INCREASE_TOTAL", 1_000, year=2022), _gap("ONLY_INCREASE_TOTAL", 2_000, year=2023),
                     _gap("ONLY_INCREASE_TOTAL", 4_000, region="130683")])
    assert out["combined_yuan"] == 7_000.0 and len(out["by_region_year"]) == 3


@pytest.mark.parametrize("name, expected", [
    # each breaking sample has one money violation: the headline is that gap, checked by hand
    ("break_FLOOR_PRESCHOOL", 2_000.00),                  # 200 children x (400 - 390)
    ("break_FLOOR_SECONDARY_VOCATIONAL", 10_000.00),      # 200 students x (1000 - 950)
    ("break_FLOOR_SENIOR_GENERAL", 416_200.00),           # 4,162 students x (1000 - 900)
    ("break_PLAN_TARGET", 0.00),                          # 0.10 个百分点, not money
    ("clean", 0.00),
])
def test_the_headline_money_of_a_sample(name, expected):
    summary = finaudit.check(SAMPLES / f"{name}.xlsx").summary
    assert summary["remediation"]["combined_yuan"] == expected == summary["shortfall_yuan_total"]
