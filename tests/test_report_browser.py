"""The HTML report in a real browser (headless Chromium from Debian, driven by Playwright).

Asserts what an auditor sees: the summary matrix and a chart are visible, filtering
changes what is shown, no console errors, no network request. Saves a screenshot.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import finaudit
from finaudit.report.html import write_html

from conftest import SAMPLES

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
