"""The HTML report as a file: self-contained, escaped, light at scale."""
from __future__ import annotations

import json
import re

import pandas as pd

import finaudit
from finaudit.report.html import INLINE_FINDINGS, render

from conftest import SAMPLES, kindergartens

HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>']


def test_the_report_needs_nothing_from_the_network():
    html = render(finaudit.check(SAMPLES / "break_FLOOR_SENIOR_GENERAL.xlsx"))
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "<link" not in html and "@import" not in html and "url(" not in html


def test_the_report_shows_the_clause_the_money_and_the_cells():
    html = render(finaudit.check(SAMPLES / "break_FLOOR_SENIOR_GENERAL.xlsx"))
    assert "落实公办普通高中(生均1000元)" in html
    assert "416,200.00" in html
    assert "教育经费!H" in html
    assert 'id="matrix"' in html and '<svg class="chart"' in html


def test_the_report_is_in_english_when_asked():
    html = render(finaudit.check(SAMPLES / "break_FLOOR_SENIOR_GENERAL.xlsx"), lang="en")
    assert "Education funding guarantee audit" in html and 'lang="en"' in html


def test_hostile_names_in_the_ledger_are_escaped(write_xlsx, sheets):
    sheets["教育经费"][1][2] = HOSTILE[0]
    sheets["在校生"][1][2] = HOSTILE[0]
    sheets["教育经费"][2][2] = HOSTILE[1]
    sheets["在校生"][2][2] = HOSTILE[1]
    html = render(finaudit.check(write_xlsx(sheets)))
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_ten_thousand_findings_make_a_report_under_10_mb(tmp_path):
    # 10,000 public kindergartens, each given 399 yuan per child: 10,000 violations of the floor,
    # and one more for the region as a whole (also 399 per child).
    n = 10_000
    folder = tmp_path / "ledger"
    folder.mkdir()
    base = {"year": 2023, "region_code": "130682", "region_name": "定州市", "level": "preschool",
            "ownership": "public"}
    schools = [f"K{i:05d}" for i in range(n)]
    pd.DataFrame([{**base, "fund_source": "general_budget", "expense_class": "public_funds", "amount": 39900.0,
                   "school_id": s, "school_name": f"第{i}幼儿园"} for i, s in enumerate(schools)]
                 ).to_parquet(folder / "budget.parquet")
    pd.DataFrame([{**base, "students": 100, "school_id": s} for s in schools]).to_parquet(folder / "enrollment.parquet")
    result = finaudit.check(folder, year=2023)
    assert sum(f.rule_id == "FLOOR_PRESCHOOL" and f.severity == "violation" for f in result.findings) == n + 1
    out = tmp_path / "report.html"
    from finaudit.report.html import write_html
    write_html(result, out)
    assert out.stat().st_size < 10 * 1024 * 1024


def test_with_a_history_the_report_marks_new_findings_and_lists_the_resolved(cli, tmp_path):
    # Year one: the preschool floor is broken. Year two: it is mended, the total falls instead.
    ledger, history, html = tmp_path / "ledger.xlsx", tmp_path / "h.duckdb", tmp_path / "r.html"
    ledger.write_bytes((SAMPLES / "break_FLOOR_PRESCHOOL.xlsx").read_bytes())
    assert cli("check", ledger, "--history", history, "--quiet").exit_code == 1
    ledger.write_bytes((SAMPLES / "break_ONLY_INCREASE_TOTAL.xlsx").read_bytes())
    assert cli("check", ledger, "--history", history, "--html", html, "--quiet").exit_code == 1

    page = html.read_text(encoding="utf-8")
    new = re.findall(r'data-rule="(\w+)"[^>]*>\s*<div class="finding-head"><span class="badge violation">[^<]*</span> '
                     r'<span class="state new">', page)
    assert new == ["ONLY_INCREASE_TOTAL"]
    assert '<p class="history">与上次运行相比' in page
    resolved = re.search(r'<details class="resolved">.*?</details>', page, re.S).group(0)
    assert "FLOOR_PRESCHOOL" in resolved and "ONLY_INCREASE_TOTAL" not in resolved


def test_a_guarantee_the_ledger_cannot_feed_is_grey_not_evaluated_with_no_chart(write_xlsx, sheets):
    # A ledger of the budget sheet alone: the per-student rules lack 在校生.
    html = render(finaudit.check(write_xlsx({"教育经费": sheets["教育经费"]})))
    section = html.split('id="rule-FLOOR_PRESCHOOL"')[1].split("</section>")[0]
    assert "未评价：台账缺少工作表 在校生（不等于符合）。" in section
    assert "<svg" not in section and "未发现违规或警示" not in section
    coverage = re.search(r'<p class="coverage">([^<]*)</p>', html).group(1)
    assert coverage.startswith("已评价 ") and "台账缺少工作表：在校生" in coverage
    # and a rule the budget does feed still gets its chart and its verdict
    total = html.split('id="rule-ONLY_INCREASE_TOTAL"')[1].split("</section>")[0]
    assert "未评价：台账缺少工作表" not in total


def _island(html: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="finding-data">(.*?)</script>', html, re.S).group(1))


def _message(data: dict, packed) -> str:
    """A packed message decoded as the page's script does: the template's literals around the values."""
    if isinstance(packed, str):
        return packed
    literals = data["T"][packed[0]]
    return literals[0] + "".join(value + literal for value, literal in zip(packed[1:], literals[1:]))


def test_a_large_report_carries_its_rows_as_data_in_closed_groups_and_decodes_to_the_same_text(tmp_path):
    result = finaudit.check(kindergartens(tmp_path / "ledger", INLINE_FINDINGS + 1), year=2023)
    html = render(result)
    assert '<li class="finding' not in html                       # no row is markup...
    groups = re.findall(r'<details class="group"[^>]*>', html)
    assert groups and not any(" open" in g for g in groups)       # ...and every group starts closed
    data = _island(html)
    rows = [row for group in data["G"] for row in group]
    assert sorted(_message(data, r[5]) for r in rows) == sorted(f.text("zh") for f in result.findings)
    assert sum(not isinstance(r[5], str) for r in rows) >= INLINE_FINDINGS       # kept as template + values
    assert sorted(r[8] for r in rows) == sorted(f.fingerprint for f in result.findings)
    # the summary by rule and region, before the findings, with the count and the money
    summary = html.split('id="by-region"')[1].split("</table>")[0]
    assert "公办幼儿园生均公用经费低于拨款标准" in summary and "定州市" in summary
    assert f">{INLINE_FINDINGS + 2:,}<" in summary and "100,200.00" in summary      # 501 schools + the region


def test_a_small_report_keeps_its_rows_as_html_in_open_groups():
    html = render(finaudit.check(SAMPLES / "break_FLOOR_SENIOR_GENERAL.xlsx"))
    assert re.search(r'<details class="group"[^>]* data-built="html" open>', html)
    assert '<li class="finding violation"' in html
    assert '<p class="print-note">' not in html                   # every group prints


def test_ledger_text_in_the_embedded_data_cannot_close_the_script_or_break_the_json(tmp_path):
    hostile = ['</script><img src=x onerror=alert(1)>', 'a & b <!-- c', 'line\u2028sep\u2029end']
    folder = kindergartens(tmp_path / "ledger", INLINE_FINDINGS + 1, name=lambda i: hostile[i % 3])
    result = finaudit.check(folder, year=2023)
    html = render(result)
    island = re.search(r'<script type="application/json" id="finding-data">(.*?)</script>', html, re.S).group(1)
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in island
    assert "<img src=x" not in html
    data = _island(html)
    texts = {_message(data, r[5]) for group in data["G"] for r in group}
    assert {f.text("zh") for f in result.findings} == texts
    assert any(hostile[0] in t for t in texts) and any("\u2028" in t for t in texts)
