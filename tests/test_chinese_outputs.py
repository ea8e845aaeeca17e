"""Every output of every sample ledger, in Chinese, has no stray English label (issue 15):
the words below are what leaked before (levels, sheet and parameter names, severities)."""
from __future__ import annotations

import csv
import html
import re

import openpyxl
import pytest

from conftest import SAMPLES

STRAY = ("violation", "warning", "required", "short", "budget", "enrollment", "surcharge", "salaries",
         "only_increase_required", "education_surcharge", "general_budget", "primary", "junior", "Usage",
         "Options", "compliant", "not_evaluable", "None")
_WORD = re.compile(r"[A-Za-z_]+")


def _stray(text: str) -> set[str]:
    return {w for w in _WORD.findall(text) if w in STRAY}


def _visible(page: str) -> str:
    """What a reader of the HTML sees: text outside tags, scripts and styles."""
    page = re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("sample", sorted(p.name for p in SAMPLES.glob("*.xlsx")))
def test_no_english_label_in_any_chinese_output(sample, cli, tmp_path):
    ledger = SAMPLES / sample
    out = {k: tmp_path / f"out.{k}" for k in ("html", "csv")}
    annotated = tmp_path / "annotated.xlsx"
    run = cli("check", str(ledger), "--show-info", "--html", str(out["html"]), "--csv", str(out["csv"]),
              "--annotate", str(annotated))
    assert run.exit_code in (0, 1), run.stderr
    assert _stray(run.stdout) == set(), "text report"
    assert _stray(_visible(out["html"].read_text(encoding="utf-8"))) == set(), "HTML"
    with open(out["csv"], encoding="utf-8-sig", newline="") as fh:
        cells = " ".join(" ".join(row) for row in csv.reader(fh))
    assert _stray(cells) == set(), "CSV"
    sheet = openpyxl.load_workbook(annotated)["审计发现"]
    shown = " ".join(str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None)
    assert _stray(shown) == set(), "annotated workbook"
    validate = cli("validate", str(ledger))
    assert _stray(validate.stdout) == set(), "validate"


def test_rules_show_names_each_check_of_its_own_severity_in_chinese(cli):
    # "检查 binding: 违规" showed the internal check name; every such check has a label
    from finaudit.audit.catalogue import load_rules

    for rule_id in load_rules():
        run = cli("rules", "show", rule_id)
        assert run.exit_code == 0, run.output
        assert not re.search(r"^  检查 [A-Za-z_]", run.stdout, re.MULTILINE), rule_id
    assert "  检查 约束性指标到期未达标：违规" in cli("rules", "show", "PLAN_TARGET").stdout
