"""The HTML report in a real browser (headless Chromium from Debian, driven by Playwright).

Asserts what an auditor sees: the summary matrix and a chart are visible, filtering
changes what is shown, no console errors, no network request. Saves a screenshot.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import finaudit
from finaudit.report.html import INLINE_FINDINGS, PAGE_ROWS, PRINT_ALL, write_html

from conftest import SAMPLES, kindergartens

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)"),
]


@pytest.fixture
def page(tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is a test dependency")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 1600})
        page = context.new_page()
        page.errors, page.requests = [], []
        page.on("console", lambda m: m.type == "error" and page.errors.append(m.text))
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.on("request", lambda r: page.requests.append(r.url))
        yield page
        browser.close()


def _open(page, tmp_path, sample: str, lang: str = "zh") -> Path:
    out = tmp_path / f"{sample}.html"
    write_html(finaudit.check(SAMPLES / f"{sample}.xlsx"), out, lang=lang)
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    return out


def _visible_findings(page) -> int:
    return page.locator("li.finding:visible").count()


def test_the_report_renders_with_matrix_chart_and_working_filters(page, tmp_path):
    out = _open(page, tmp_path, "break_ONLY_INCREASE_PER_STUDENT")
    assert page.locator("#matrix").is_visible()
    assert page.locator("#matrix td.cell.violated").count() == 1
    assert page.locator("svg.chart").first.is_visible()
    assert page.locator("#filters").is_visible()

    shown = _visible_findings(page)
    assert shown == 1                       # the violation; info notes start filtered out
    page.check("input[name=severity][value=info]")
    assert _visible_findings(page) > shown
    page.select_option("#filter-rule", "ONLY_INCREASE_TOTAL")
    assert 0 < _visible_findings(page) < page.locator("li.finding").count()
    assert page.locator("#rule-ONLY_INCREASE_PER_STUDENT").is_hidden()

    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert page.errors == []
    assert [u for u in page.requests if not u.startswith(("file:", "data:"))] == []
    assert page.requests == [out.as_uri()]


def test_clicking_a_finding_unfolds_its_evidence(page, tmp_path):
    _open(page, tmp_path, "break_FLOOR_SENIOR_GENERAL")
    finding = page.locator("li.finding.violation").first
    assert finding.locator(".evidence").is_hidden()
    finding.locator(".finding-head").click()
    assert finding.locator(".evidence").is_visible()
    assert "教育经费!H" in finding.locator(".evidence").inner_text()


def test_printing_expands_the_evidence(page, tmp_path):
    _open(page, tmp_path, "break_FLOOR_SENIOR_GENERAL")
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("li.finding.violation .evidence").first.is_visible()
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_printing_puts_the_conclusion_on_its_own_page_and_lets_the_rules_flow(page, tmp_path):
    # A page per rule section printed 22 A4 pages for break_PLAN_TARGET's one violation.
    import re

    _open(page, tmp_path, "break_PLAN_TARGET")
    page.emulate_media(media="print")
    breaks = page.evaluate("""() => ({
        summary: getComputedStyle(document.querySelector('.summary')).breakAfter,
        rules: [...document.querySelectorAll('section.rule')].map(s => getComputedStyle(s).breakBefore)})""")
    assert breaks["summary"] == "page" and set(breaks["rules"]) == {"auto"}
    pages = len(re.findall(rb"/Type\s*/Page[^s]", page.pdf(format="A4")))
    assert pages < len(breaks["rules"])


HOSTILE = "<img src=x onerror=window.pwned=1>"


def _open_large(page, tmp_path, n: int):
    """A report above INLINE_FINDINGS: its rows are data until a group is opened. School 7's name is hostile."""
    folder = kindergartens(tmp_path / "ledger", n, name=lambda i: HOSTILE if i == 7 else f"第{i}幼儿园")
    result = finaudit.check(folder, year=2023)
    out = tmp_path / "large.html"
    write_html(result, out)
    page.goto(out.as_uri())
    page.wait_for_load_state("load")
    return result


def _shows(page, total: int, shown: int) -> None:
    page.wait_for_function("want => document.getElementById('shown-count').textContent === want",
                           arg=f"{shown} / {total}", polling="raf", timeout=10_000)


def _built(rows, n: int) -> None:
    """Wait (up to 10 s) for n rows: a group is built on its toggle event, which comes after the click returns."""
    from playwright.sync_api import expect
    expect(rows).to_have_count(n, timeout=10_000)


def test_a_large_report_builds_a_group_when_it_is_opened_and_filters_across_groups(page, tmp_path):
    result = _open_large(page, tmp_path, INLINE_FINDINGS + 100)          # 600 schools and the region
    total, infos = len(result.findings), sum(f.severity == "info" for f in result.findings)
    assert page.text_content("#shown-count") == f"{total - infos} / {total}"
    assert page.locator("#by-region").is_visible() and page.locator("li.finding").count() == 0
    group = page.locator("#rule-FLOOR_PRESCHOOL details.group").first
    assert "违规 601" in group.locator("summary").inner_text()
    group.locator("summary").click()
    rows = group.locator("li.finding")
    _built(rows, PAGE_ROWS)                               # the toggle event comes as its own task, after the click
    assert rows.first.is_visible()
    group.locator("button.show-more").click()
    assert rows.count() == 2 * PAGE_ROWS
    assert rows.first.locator(".evidence").is_hidden()
    rows.first.locator(".finding-head").click()
    assert "budget.parquet!H" in rows.first.locator(".evidence").inner_text()

    page.fill("#filter-text", "k00007")                   # any case; school 7, whose name is hostile
    _shows(page, total, 1)
    assert rows.count() == 1 and HOSTILE in rows.first.inner_text()
    assert page.locator("img").count() == 0 and page.evaluate("window.pwned") is None
    page.fill("#filter-text", "")
    _shows(page, total, total - infos)

    page.check("input[name=severity][value=info]")       # the notes of several rules, each in its group
    page.fill("#filter-text", "无法比较")
    matching = [f for f in result.findings if "无法比较" in f.text("zh")]
    _shows(page, total, len(matching))
    assert len({f.rule_id for f in matching}) > 1
    assert page.locator("details.group:visible").count() == len({f.rule_id for f in matching})
    assert page.locator("#rule-FLOOR_PRESCHOOL").is_visible() and group.is_hidden()
    page.select_option("#filter-rule", "ONLY_INCREASE_TOTAL")
    _shows(page, total, sum(f.rule_id == "ONLY_INCREASE_TOTAL" for f in matching))
    assert page.locator("#rule-FLOOR_PRESCHOOL").is_hidden()
    assert page.errors == [] and [u for u in page.requests if not u.startswith("file:")] == []


def test_printing_a_mid_sized_report_prints_every_row_with_its_evidence(page, tmp_path):
    result = _open_large(page, tmp_path, INLINE_FINDINGS + 100)
    shown = sum(f.severity != "info" for f in result.findings)
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    assert page.locator("li.finding").count() == shown            # every group built, not a page of it
    assert page.locator("li.finding .evidence").last.is_visible()
    assert page.locator(".print-note").count() == 0
    assert page.pdf(format="A4").startswith(b"%PDF")


def test_printing_a_large_report_prints_the_opened_groups_and_says_so(page, tmp_path):
    result = _open_large(page, tmp_path, PRINT_ALL)               # PRINT_ALL schools and the region: one over
    assert len(result.findings) > PRINT_ALL
    page.emulate_media(media="print")
    # Opened and printed in one task: the group's toggle event has not run when printing starts.
    printed = page.evaluate("""() => { document.querySelector('#rule-FLOOR_PRESCHOOL details.group summary').click();
                                       window.dispatchEvent(new Event('beforeprint'));
                                       return document.querySelectorAll('li.finding').length; }""")
    assert printed == PAGE_ROWS
    assert page.locator(".print-note").is_visible()
    assert f"共 {len(result.findings):,} 项发现" in page.locator(".print-note").inner_text()
    assert page.locator("li.finding").count() == PAGE_ROWS       # the opened group, as shown; no other group
    assert page.locator("button.show-more").is_hidden()
    assert page.pdf(format="A4").startswith(b"%PDF")
