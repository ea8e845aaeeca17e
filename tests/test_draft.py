"""The pre-audit of a draft budget (issue 5): a bureau adds next year's draft (口径 预算)
to its workbook and learns, before the budget is adopted, whether it breaks a guarantee
and how much more it needs. The rules' own cases are in tests/rules/DRAFT_*.yaml."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from conftest import CLEAN

CUT_WAN = 500          # 万元 planted out of 定州市's 2024 primary personnel spending


def _with_draft(tmp_path: Path, cut_wan: float = CUT_WAN) -> Path:
    """clean.xlsx plus a 2024 draft: every 2023 budget row again, 口径 预算, the same amounts
    except 定州市 primary personnel spending, cut by `cut_wan` 万元."""
    book = openpyxl.load_workbook(CLEAN)
    ws = book["教育经费"]
    header = [c.value for c in ws[2]]
    ws.cell(row=2, column=len(header) + 1, value="口径")
    rows = [list(r[:len(header)]) for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == 2023]
    for row in rows:
        draft = [2024, *row[1:]]
        if row[2] == "定州市" and row[3] == "小学" and row[6] == "人员经费":
            draft[7] = row[7] - cut_wan
        ws.append([*draft, "预算"])
    path = tmp_path / "with_draft.xlsx"
    book.save(path)
    return path


def _draft_findings(doc: dict) -> list[dict]:
    return [f for f in doc["findings"] if f["rule_id"].startswith("DRAFT_") and f["severity"] != "info"]


def test_the_pre_audit_catches_a_planted_decrease_in_a_draft_budget(cli, tmp_path):
    run = cli("check", _with_draft(tmp_path), "--format", "json")
    assert run.exit_code == 0                      # a warning: the default --fail-on violation is not reached
    found = {(f["rule_id"], f["subject"]["region_code"], f["subject"]["level"]): f
             for f in _draft_findings(json.loads(run.stdout))}
    assert set(found) == {("DRAFT_ONLY_INCREASE_TOTAL", "130682", None),
                          ("DRAFT_ONLY_INCREASE_PER_STUDENT", "130682", None),
                          ("DRAFT_ONLY_INCREASE_PER_STUDENT", "130682", "primary")}
    total = found[("DRAFT_ONLY_INCREASE_TOTAL", "130682", None)]
    assert total["severity"] == "warning" and total["subject"]["year"] == 2024
    assert total["shortfall_yuan"] == pytest.approx(CUT_WAN * 10_000)          # the increase needed
    assert "2024年预算草案（口径：预算）" in total["message"]["zh"]
    assert "draft budget" in total["message"]["en"] and "needs 5,000,000.00 yuan more" in total["message"]["en"]
    # the same students as 2023 (no 2024 enrollment): per student the cut is the same money
    assert found[("DRAFT_ONLY_INCREASE_PER_STUDENT", "130682", "primary")]["shortfall_yuan"] == \
        pytest.approx(CUT_WAN * 10_000)


def test_a_draft_that_keeps_spending_passes_the_pre_audit(cli, tmp_path):
    doc = json.loads(cli("check", _with_draft(tmp_path, cut_wan=0), "--format", "json").stdout)
    assert _draft_findings(doc) == []
    passes = doc["summary"]["by_rule"]["DRAFT_ONLY_INCREASE_TOTAL"]["pass"]
    assert passes == 2                             # both regions' drafts were checked, not skipped


def test_adding_a_draft_leaves_the_audit_of_final_accounts_as_it_was(cli, tmp_path):
    """A draft-only year is not a year of final accounts with nothing spent: no note for it."""
    before = json.loads(cli("check", CLEAN, "--format", "json").stdout)
    after = json.loads(cli("check", _with_draft(tmp_path), "--format", "json").stdout)

    def final(doc):
        return sorted(f["fingerprint"] for f in doc["findings"] if not f["rule_id"].startswith("DRAFT_"))

    assert final(after) == final(before)


def test_the_severity_of_the_pre_audit_can_be_raised(cli, tmp_path):
    ledger = _with_draft(tmp_path)
    assert cli("check", ledger, "--quiet", "--fail-on", "warning").exit_code == 1
    run = cli("check", ledger, "--quiet", "--draft-severity", "violation", "--json", tmp_path / "v.json")
    assert run.exit_code == 1
    doc = json.loads((tmp_path / "v.json").read_text(encoding="utf-8"))
    assert {f["severity"] for f in _draft_findings(doc)} == {"violation"}
    assert doc["run"]["options"]["draft_severity"] == "violation"
    # the notes of the pre-audit stay notes
    notes = [f for f in doc["findings"] if f["rule_id"].startswith("DRAFT_") and f.get("details", {}).get(
        "outcome") == "unevaluable"]
    assert all(f["severity"] == "info" for f in notes)


def test_the_severity_of_the_pre_audit_can_be_configured(cli, tmp_path, monkeypatch):
    ledger = _with_draft(tmp_path)
    (tmp_path / "finaudit.toml").write_text('draft_severity = "violation"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli("check", ledger, "--quiet").exit_code == 1
    assert cli("check", ledger, "--quiet", "--draft-severity", "warning").exit_code == 0


def test_a_verified_run_keeps_its_draft_severity(cli, tmp_path):
    ledger = _with_draft(tmp_path)
    cli("check", ledger, "--quiet", "--draft-severity", "violation", "--json", tmp_path / "v.json")
    assert cli("verify", tmp_path / "v.json").exit_code == 0


def test_the_text_report_says_what_the_draft_needs(cli, tmp_path):
    run = cli("check", _with_draft(tmp_path), "--lang", "en")
    assert "■ DRAFT_ONLY_INCREASE_TOTAL  A draft budget plans less general-public-budget education spending" in run.stdout
    assert ("[warning] 定州市 2024 draft budget (basis: budget): general-budget education spending" in run.stdout)
