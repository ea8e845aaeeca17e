"""A finding cites its own jurisdiction's law (DESIGN.md §1, issue 14): the clauses of its
profile chain in force in its year, never another city's document, and every output prints
the same clauses. A region code written with another region's name is a DATA warning."""
from __future__ import annotations

import csv
import shutil
import json
from pathlib import Path

import pytest

import finaudit
from corpus import BUDGET, ENROLLMENT, budget, enrollment, write_xlsx
from finaudit.audit import profiles
from finaudit.runs.compact import expand

DINGZHOU_DOC, XINGTAI_DOC = "定发字〔2021〕40号", "邢台市教育事业发展"


def _falling_ledger(tmp_path: Path, code: str, name: str) -> Path:
    """General-budget spending 1,000,000 yuan in 2022, 900,000 in 2023: ONLY_INCREASE_TOTAL
    fails by 100,000 yuan (the only-increase clauses are in force from 2018 nationally, from
    2021 in Xingtai's plan and from 2022 in Dingzhou's, issued in October 2021)."""
    return write_xlsx(tmp_path / f"{code}.xlsx", {
        "教育经费": [list(BUDGET), budget("小学", 1_000_000, year=2022, code=code, name=name),
                 budget("小学", 900_000, year=2023, code=code, name=name)],
        "在校生": [list(ENROLLMENT), enrollment("小学", 100, year=2022, code=code, name=name),
                enrollment("小学", 100, year=2023, code=code, name=name)],
    })


# (region code, name, profile chosen by the code, the profiles its findings may cite)
CHAINS = [
    ("130502", "襄都区", "xingtai", {"national", "east", "hebei", "xingtai"}),
    ("130682", "定州市", "dingzhou", {"national", "east", "hebei", "dingzhou"}),
    ("130630", "涞源县", "hebei", {"national", "east", "hebei"}),      # a Baoding county
    ("410102", "中原区", "national", {"national"}),                      # Henan: no profile of its own
]


@pytest.mark.parametrize("code, name, profile, allowed", CHAINS, ids=[c[2] for c in CHAINS])
def test_a_finding_cites_only_its_own_profile_chain(tmp_path, code, name, profile, allowed):
    result = finaudit.check(_falling_ledger(tmp_path, code, name))
    assert result.region_profiles == {code: profile}
    (fail,) = [f for f in result.findings if f.rule_id == "ONLY_INCREASE_TOTAL" and f.severity == "violation"]
    assert fail.shortfall_yuan == 100_000.00          # 1,000,000 - 900,000
    cited = {c["profile"] for c in fail.basis}
    assert "national" in cited and cited <= allowed
    documents = " ".join(c["document"] for c in fail.basis)
    assert (DINGZHOU_DOC in documents) == (profile == "dingzhou")
    assert (XINGTAI_DOC in documents) == (profile == "xingtai")
    # Every finding of the run, not only this one, stays within the chain.
    for finding in result.findings:
        assert {c["profile"] for c in finding.basis or ()} <= allowed, finding.rule_id


def test_a_clause_is_cited_only_from_the_year_it_is_in_force():
    # Dingzhou's plan from 2022 (issued 2021-10-10), the 2035 plan from 2019, the 2017 意见 from 2018.
    def docs(year):
        return [c["document"] for c in profiles.clauses("dingzhou", "ONLY_INCREASE_TOTAL", year)]
    assert docs(2017) == []
    assert docs(2018) == ["《关于深化教育体制机制改革的意见》"]
    assert docs(2021) == ["《关于深化教育体制机制改革的意见》", "《中国教育现代化2035》"]
    assert docs(2022)[-1] == DINGZHOU_DOC and len(docs(2022)) == 3


def test_a_clause_for_one_check_is_cited_only_by_that_checks_findings():
    # The permission "可适当高于普通高中" grounds the vocational observation, not the floor's violation.
    floor = profiles.clauses("dingzhou", "FLOOR_SECONDARY_VOCATIONAL", 2023, "main")
    observation = profiles.clauses("dingzhou", "FLOOR_SECONDARY_VOCATIONAL", 2023, "not_below_general")
    assert not any("可适当高于" in c["text"] for c in floor)
    assert any("可适当高于" in c["text"] for c in observation)
    # A draft preschool floor cites Dingzhou's kindergarten standard, not the compulsory benchmark.
    preschool = [c["document"] for c in profiles.clauses("dingzhou", "DRAFT_FLOORS", 2023, "preschool")]
    assert preschool == [DINGZHOU_DOC]
    # Public schools' benchmark does not cite the private-school sentence; the private check does.
    public = [c["text"] for c in profiles.clauses("hebei", "FLOOR_COMPULSORY_BENCHMARK", 2023, "main")]
    private = [c["text"] for c in profiles.clauses("hebei", "FLOOR_COMPULSORY_BENCHMARK", 2023, "private")]
    assert not any("含民办学校" in t for t in public) and any("含民办学校" in t for t in private)


def test_a_section_quotes_a_plan_only_for_years_its_region_was_audited_in_force(tmp_path, cli):
    """Dingzhou audited for 2020-2021 only (its plan applies from 2022), Xingtai for 2022-2023:
    the rule's section and SARIF descriptor quote Xingtai's plan and never Dingzhou's."""
    rows = [list(BUDGET)]
    rows += [budget("小学", 1_000_000, year=y, code="130682", name="定州市") for y in (2020, 2021)]
    rows += [budget("小学", 1_000_000, year=y, code="130502", name="襄都区") for y in (2022, 2023)]
    students = [list(ENROLLMENT)] + [enrollment("小学", 100, year=y, code=c, name=n)
                                     for c, n, years in (("130682", "定州市", (2020, 2021)),
                                                         ("130502", "襄都区", (2022, 2023))) for y in years]
    ledger = write_xlsx(tmp_path / "two.xlsx", {"教育经费": rows, "在校生": students})
    html, sarif = tmp_path / "r.html", tmp_path / "r.sarif"
    run = cli("check", str(ledger), "--html", str(html), "--sarif", str(sarif), "--quiet")
    assert run.exit_code == 0, (run.output, run.stderr)
    page = html.read_text(encoding="utf-8")
    start = page.index('id="rule-ONLY_INCREASE_TOTAL"')
    section = page[start:page.index("</section>", start)]
    descriptor = next(r for r in json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["tool"]["driver"]["rules"]
                      if r["id"] == "ONLY_INCREASE_TOTAL")
    for printed in (section, json.dumps(descriptor, ensure_ascii=False)):
        assert XINGTAI_DOC in printed and DINGZHOU_DOC not in printed


def test_a_clause_read_only_in_a_paraphrase_says_so_in_the_report(tmp_path, cli):
    run = cli("check", str(_falling_ledger(tmp_path, "130630", "涞源县")))
    assert run.exit_code == 1, (run.output, run.stderr, run.exception)
    basis = [line for line in run.stdout.splitlines() if line.strip().startswith("依据：")]
    assert any("《关于深化教育体制机制改革的意见》" in line and "（转述）" in line for line in basis)
    assert any("《中国教育现代化2035》" in line and "（转述）" not in line for line in basis)
    assert DINGZHOU_DOC not in run.stdout and XINGTAI_DOC not in run.stdout


def test_every_output_prints_the_same_clauses(tmp_path, cli):
    ledger = _falling_ledger(tmp_path, "130630", "涞源县")
    out = {k: tmp_path / f"out.{k}" for k in ("json", "csv", "sarif", "html")}
    annotated = tmp_path / "annotated.xlsx"
    run = cli("check", str(ledger), "--json", str(out["json"]), "--csv", str(out["csv"]), "--sarif",
              str(out["sarif"]), "--html", str(out["html"]), "--annotate", str(annotated), "--quiet")
    assert run.exit_code == 1, run.output
    doc = json.loads(out["json"].read_text(encoding="utf-8"))
    assert doc["format_version"] == 3
    doc = expand(doc)           # each finding with its own basis, as format 2 wrote it
    (fail,) = [f for f in doc["findings"] if f["rule_id"] == "ONLY_INCREASE_TOTAL" and f["severity"] == "violation"]
    texts = [c["text"] for c in fail["basis"]]
    assert len(texts) == 2 and all(c["read"] for c in fail["basis"])
    with open(out["csv"], encoding="utf-8-sig", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["规则编号"] == "ONLY_INCREASE_TOTAL" and r["级别"] == "违规"]
    sarif = json.loads(out["sarif"].read_text(encoding="utf-8"))["runs"][0]
    (result,) = [r for r in sarif["results"] if r["ruleId"] == "ONLY_INCREASE_TOTAL" and r["level"] == "error"]
    html = out["html"].read_text(encoding="utf-8")
    import openpyxl
    sheet = openpyxl.load_workbook(annotated)["审计发现"]
    annotated_rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    (annotated_row,) = [r for r in annotated_rows if r[1] == "ONLY_INCREASE_TOTAL" and r[0] == "违规"]
    for text in texts:
        assert text in rows[0]["依据"]
        assert text in [c["text"] for c in result["properties"]["basis"]]
        assert text in html
        assert text in annotated_row[7]
    for printed in (out["csv"].read_text(encoding="utf-8-sig"), html, json.dumps(sarif, ensure_ascii=False)):
        assert DINGZHOU_DOC not in printed and XINGTAI_DOC not in printed


def test_rules_show_lists_the_clauses_per_profile(cli):
    run = cli("rules", "show", "ONLY_INCREASE_TOTAL")
    assert run.exit_code == 0
    text = run.stdout
    # Each profile's block: Dingzhou's plan under dingzhou only, Xingtai's under xingtai only.
    blocks = {}
    for line in text.splitlines():
        if (line.startswith("  ") and not line.startswith("    ") and "←" in line) or line.strip() == "national":
            current = line.split()[0]
            blocks[current] = []
        elif line.startswith("    ") and blocks:
            blocks[current].append(line)
    assert set(blocks) >= {"national", "east", "hebei", "dingzhou", "xingtai"}
    for pid, lines in blocks.items():
        assert lines, pid
        joined = "\n".join(lines)
        assert (DINGZHOU_DOC in joined) == (pid == "dingzhou"), pid
        assert (XINGTAI_DOC in joined) == (pid == "xingtai"), pid
        assert "《中国教育现代化2035》" in joined and "读自" in joined, pid


def test_a_code_written_with_another_regions_name_is_a_data_warning_naming_the_cells(tmp_path):
    # 130682 is Dingzhou's code; a Baoding county clerk types it beside 涞源县.
    ledger = _falling_ledger(tmp_path, "130682", "涞源县")
    result = finaudit.check(ledger)
    (warning,) = [f for f in result.findings if f.rule_id == "DATA_REGION_NAME"]
    assert warning.severity == "warning"
    assert "130682" in warning.message["zh"] and "定州市" in warning.message["zh"] and "涞源县" in warning.message["zh"]
    # The region-name cells (column C, 地区) of both sheets' two rows each.
    assert sorted(e.cell for e in warning.evidence) == ["在校生!C2", "在校生!C3", "教育经费!C2", "教育经费!C3"]
    assert warning.measure["actual"] == 4                # rows written with the code and that name


def test_two_names_written_with_one_code_are_two_warnings_and_one_character_is_no_name(tmp_path):
    rows = [list(BUDGET), budget("小学", 100, code="130682", name="涞源县"),
            budget("初中", 100, code="130682", name="易县"), budget("普通高中", 100, code="130682", name="定")]
    result = finaudit.check(write_xlsx(tmp_path / "names.xlsx", {"教育经费": rows}))
    warned = sorted((f.evidence[0].cell, f.message["zh"]) for f in result.findings if f.rule_id == "DATA_REGION_NAME")
    assert [cell for cell, _ in warned] == ["教育经费!C2", "教育经费!C3", "教育经费!C4"]
    assert "“涞源县”" in warned[0][1] and "“易县”" in warned[1][1] and "“定”" in warned[2][1]


def test_a_code_with_its_own_name_is_no_warning(tmp_path):
    result = finaudit.check(_falling_ledger(tmp_path, "130682", "定州市"))
    assert not [f for f in result.findings if f.rule_id == "DATA_REGION_NAME"]


def _issue_example(tmp_path: Path) -> Path:
    """Issue 14's example: 一般公共预算 rows 10000 -> 9500 万元, 教育费附加 rows 1000 -> 2000 万元."""
    rows = [list(BUDGET)]
    for year, own, surcharge in ((2022, 100_000_000, 10_000_000), (2023, 95_000_000, 20_000_000)):
        rows.append(budget("小学", own, year=year, expense="人员经费"))
        rows.append([year, "130682", "定州市", "小学", "公办", "教育费附加", "公用经费", surcharge])
    return write_xlsx(tmp_path / "sources.xlsx", {"教育经费": rows})


def _only_increase_total(result):
    return [f for f in result.findings if f.rule_id == "ONLY_INCREASE_TOTAL" and f.severity == "violation"]


def test_the_fund_sources_of_general_budget_spending_are_the_profiles_parameter(tmp_path, monkeypatch):
    ledger = _issue_example(tmp_path)
    # As shipped (the announcements count 教育费附加 in): 11000 -> 11500 万元, no fall.
    assert _only_increase_total(finaudit.check(ledger)) == []
    # A profile counting the general budget's own rows only: 10000 -> 9500 万元, 500 万元 short.
    folder = tmp_path / "profiles"
    shutil.copytree(profiles.profiles_dir(), folder)
    national = folder / "national.yaml"
    text = national.read_text(encoding="utf-8")
    assert "2013: {value: [general_budget, education_surcharge]" in text
    national.write_text(text.replace("2013: {value: [general_budget, education_surcharge]",
                                     "2013: {value: [general_budget]"), encoding="utf-8")
    monkeypatch.setattr(profiles, "profiles_dir", lambda: folder)
    profiles.reload()
    try:
        (fail,) = _only_increase_total(finaudit.check(ledger))
        assert fail.shortfall_yuan == 5_000_000.00    # 100,000,000 - 95,000,000
        assert fail.parameters["general_budget_fund_sources"]["value"] == ["general_budget"]
    finally:
        monkeypatch.undo()
        profiles.reload()


def test_a_finding_shows_the_fund_sources_it_counted_with_their_source(tmp_path):
    ledger = write_xlsx(tmp_path / "fall.xlsx", {"教育经费": [list(BUDGET), budget("小学", 100, year=2022),
                                                           budget("小学", 90, year=2023)]})
    (fail,) = _only_increase_total(finaudit.check(ledger))
    used = fail.parameters["general_budget_fund_sources"]
    assert used["value"] == ["general_budget", "education_surcharge"]
    assert "包括教育事业费" in used["source"] and "教育费附加" in used["source"]


def test_a_pooled_provincial_average_comparison_says_it_is_pooled(tmp_path):
    from test_rules import write_ledger

    ledger = write_ledger(tmp_path / "pooled", {
        "budget": [{"year": 2022, "level": "primary", "expense_class": "public_funds", "amount": 1_000_000},
                   {"year": 2022, "level": "junior", "expense_class": "public_funds", "amount": 1_400_000}],
        "enrollment": [{"year": 2022, "level": "primary", "students": 1000},
                       {"year": 2022, "level": "junior", "students": 1000}],
        "reference": [{"year": 2022, "region_code": "130000", "value": 1250,
                       "metric": "provincial_avg_compulsory_public_funds_per_student"}]})
    result = finaudit.check(ledger, profile="dingzhou", year=2022)
    (fail,) = [f for f in result.findings if f.rule_id == "COMPULSORY_PROVINCIAL_AVERAGE"]
    # 2,400,000 / 2000 = 1200 < 1250: 2000 x 50 = 100,000, pooled because only the pooled average is given
    assert fail.shortfall_yuan == 100_000.00 and fail.subject["level"] is None
    assert "合并计算" in fail.message["zh"] and "pooled" in fail.message["en"]


def test_without_any_provincial_average_the_note_does_not_claim_a_pooled_one(tmp_path):
    from test_rules import write_ledger

    ledger = write_ledger(tmp_path / "none", {
        "budget": [{"year": 2022, "level": "primary", "expense_class": "public_funds", "amount": 1_000_000}],
        "enrollment": [{"year": 2022, "level": "primary", "students": 1000}],
        "reference": [{"year": 2022, "region_code": "110000", "value": 1,
                       "metric": "provincial_avg_compulsory_public_funds_per_student"}]})   # another province's
    result = finaudit.check(ledger, profile="dingzhou", year=2022)
    (note,) = [f for f in result.findings if f.rule_id == "COMPULSORY_PROVINCIAL_AVERAGE"]
    assert note.details["reason"] == "no_reference"
    assert "合并计算" not in note.message["zh"] and "义务教育（普通小学、初中）" in note.message["zh"]
