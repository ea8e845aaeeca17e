"""The SARIF, CSV and annotated-workbook outputs: golden files, shape, and hostile ledger text."""
from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import openpyxl
import pytest

import finaudit
from finaudit.report.annotate import FILLS, annotate_workbook
from finaudit.errors import UsageError
from finaudit.findings import Evidence, Finding
from finaudit.report.csv import HEADERS, write_csv
from finaudit.report.labels import FORMULA_START, inert
from finaudit.report.sarif import sarif

from conftest import BROKEN, SAMPLES

GOLDEN = Path(__file__).resolve().parent / "golden"
GOLDEN_SAMPLES = ["break_FLOOR_PRESCHOOL", "break_SURCHARGE_VOCATIONAL_SHARE"]
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
HOSTILE = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', '=HYPERLINK("http://x","y")',
           "+1+1", "@SUM(A1)", "-2+3"]
# 130682 is Dingzhou, where the kindergarten floor is in force: its row yields a violation.
HOSTILE_REGIONS = ["130682", "130681", "130683", "130684", "130685", "130686"]
NUMERIC_COLUMNS = ("year", "actual", "required", "shortfall_yuan")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _update_golden() -> bool:
    return bool(os.environ.get("FINAUDIT_UPDATE_GOLDEN"))


def _normalised_sarif(node):
    """Only what depends on the machine goes: absolute paths, file hashes, the version."""
    if isinstance(node, list):
        return [_normalised_sarif(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "uri":
            out[key] = PurePosixPath(unquote(urlparse(value).path)).name
        elif key == "hashes":
            out[key] = {name: "<hash>" for name in value}
        elif key in ("version", "semanticVersion") and "rules" in node:
            out[key] = "<version>"
        else:
            out[key] = _normalised_sarif(value)
    return out


@pytest.fixture(scope="module")
def broken_result():
    return finaudit.check(BROKEN)


@pytest.fixture
def hostile_ledger(write_xlsx):
    """A ledger whose region and school names are script tags and formula starters, stored as text."""
    budget = [["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额", "学校代码", "学校名称"]]
    enrollment = [["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数", "学校代码", "学校名称"]]
    for code, name in zip(HOSTILE_REGIONS, HOSTILE):
        budget.append([2023, code, name, "幼儿园", "公办", "一般公共预算", "公用经费", 3900, "K1", name])
        enrollment.append([2023, code, name, "幼儿园", "公办", 10, "K1", name])
    budget.append([2023, "130682", HOSTILE[0], "=1+1", "公办", "一般公共预算", "公用经费", 5, None, None])
    path = write_xlsx({"教育经费": budget, "在校生": enrollment}, name="hostile.xlsx")
    # openpyxl turns any string starting with "=" into a formula; a bureau's file holds text there.
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    book.save(path)
    return path


# --- golden files -----------------------------------------------------------

@pytest.mark.parametrize("sample", GOLDEN_SAMPLES)
def test_sarif_output_matches_the_golden_file(cli, tmp_path, sample):
    """A golden file changes only in a commit that says why (FINAUDIT_UPDATE_GOLDEN=1 rewrites it)."""
    out = tmp_path / "out.sarif.json"
    assert cli("check", SAMPLES / f"{sample}.xlsx", "--sarif", out, "--quiet").exit_code == 1
    doc = _normalised_sarif(json.loads(out.read_text(encoding="utf-8")))
    golden = GOLDEN / f"{sample}.sarif.json"
    if _update_golden():
        golden.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert doc == json.loads(golden.read_text(encoding="utf-8"))


@pytest.mark.parametrize("sample", GOLDEN_SAMPLES)
def test_csv_output_matches_the_golden_file(cli, tmp_path, sample):
    out = tmp_path / "out.csv"
    assert cli("check", SAMPLES / f"{sample}.xlsx", "--csv", out, "--quiet").exit_code == 1
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read the file as UTF-8"
    golden = GOLDEN / f"{sample}.csv"
    if _update_golden():
        golden.write_bytes(raw)
    assert raw.decode("utf-8-sig").splitlines() == golden.read_bytes().decode("utf-8-sig").splitlines()


# --- SARIF shape ------------------------------------------------------------

def _assert_sarif_shape(doc: dict) -> None:
    """What the SARIF 2.1.0 schema requires, checked by hand (the schema is not downloaded)."""
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-schema-2.1.0.json")
    assert len(doc["runs"]) == 1
    run = doc["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "finaudit" and driver["version"]
    ids = [rule["id"] for rule in driver["rules"]]
    assert len(ids) == len(set(ids))
    for rule in driver["rules"]:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
        assert rule["properties"]["severity"] in ("violation", "warning", "info")
        # The clauses the run's regions were held to (a data check or a schema code has none).
        assert all({"document", "clause", "text", "profile", "read"} <= set(c) for c in rule["properties"]["basis"])
    uris = [a["location"]["uri"] for a in run["artifacts"]]
    for result in run["results"]:
        assert result["ruleId"] == ids[result["ruleIndex"]]
        assert result["level"] in ("error", "warning", "note")
        assert isinstance(result["message"]["text"], str) and result["message"]["text"]
        assert result["locations"]
        for location in result["locations"]:
            artifact = location["physicalLocation"]["artifactLocation"]
            assert uris[artifact["index"]] == artifact["uri"]
            for logical in location.get("logicalLocations", []):
                assert logical["kind"] == "cell" and "!" in logical["name"]
        assert set(result["partialFingerprints"]) == {"finaudit/v1"}
        assert {"subject", "measure", "shortfall_yuan", "profile", "basis"} <= set(result["properties"])


def test_the_sarif_log_has_the_shape_sarif_2_1_0_requires(broken_result):
    doc = sarif(broken_result, "zh")
    _assert_sarif_shape(doc)
    run = doc["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(broken_result.rules)
    assert len(run["results"]) == len(broken_result.findings)
    violation = run["results"][0]
    assert violation["level"] == "error" and violation["ruleId"] == "FLOOR_PRESCHOOL"
    assert [loc["logicalLocations"][0]["name"] for loc in violation["locations"]] == ["教育经费!H70", "在校生!F24"]
    assert violation["partialFingerprints"]["finaudit/v1"] == broken_result.findings[0].fingerprint
    assert violation["properties"]["shortfall_yuan"] == 2000.0
    rule = run["tool"]["driver"]["rules"][violation["ruleIndex"]]
    assert "幼儿园生均公用经费(生均400元)" in rule["help"]["markdown"]
    assert "定发字〔2021〕40号" in rule["help"]["text"]


def test_the_sarif_log_speaks_english_when_asked(broken_result):
    doc = sarif(broken_result, "en")
    run = doc["runs"][0]
    assert run["language"] == "en"
    assert "below the floor of 400 yuan" in run["results"][0]["message"]["text"]
    assert run["tool"]["driver"]["rules"][0]["help"]["text"].count("Why it matters") == 1


def test_the_sarif_log_is_the_same_on_every_run(broken_result):
    again = finaudit.check(BROKEN)
    assert json.dumps(sarif(broken_result, "zh")) == json.dumps(sarif(again, "zh"))


def test_schema_findings_are_valid_results_with_a_generic_rule(hostile_ledger):
    doc = sarif(finaudit.check(hostile_ledger), "zh")
    _assert_sarif_shape(doc)
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert rules["SCHEMA_ALLOWED_VALUE"]["shortDescription"]["text"] == "值不是可选值"
    schema = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "SCHEMA_ALLOWED_VALUE"]
    assert [r["locations"][0]["logicalLocations"][0]["name"] for r in schema] == ["教育经费!D8"]


def test_a_relative_ledger_path_stays_relative_in_the_sarif_log(monkeypatch):
    monkeypatch.chdir(SAMPLES.parent)
    doc = sarif(finaudit.check(Path("sample_ledgers") / BROKEN.name), "zh")
    assert doc["runs"][0]["artifacts"][0]["location"]["uri"] == "sample_ledgers/break_FLOOR_PRESCHOOL.xlsx"


# --- CSV --------------------------------------------------------------------

def _csv_rows(path: Path) -> list[dict]:
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""))
    header, *rows = list(reader)
    assert header == HEADERS["zh"]
    return [dict(zip(HEADERS["en"], row)) for row in rows]


def test_csv_text_that_a_spreadsheet_would_run_starts_with_an_apostrophe(hostile_ledger, tmp_path):
    out = tmp_path / "findings.csv"
    write_csv(finaudit.check(hostile_ledger), out)
    rows = _csv_rows(out)
    expected = {("'" + h if h.startswith(FORMULA_START) else h) for h in HOSTILE}
    assert expected <= {row["region_name"] for row in rows}
    for row in rows:
        for column, value in row.items():
            if column not in NUMERIC_COLUMNS:
                assert not value.startswith(FORMULA_START), (column, value)
    actual = [float(row["actual"]) for row in rows if row["actual"]]    # a number, never text
    assert 390.0 in actual


def test_csv_numbers_stay_numbers_even_when_negative(broken_result, tmp_path):
    assert inert(-2.5) == -2.5 and inert("-2+3") == "'-2+3" and inert(None) is None
    finding = dataclasses.replace(broken_result.findings[0],
                                  measure={"actual": -12.5, "required": 400.0, "unit": "元/生·年"})
    out = tmp_path / "negative.csv"
    write_csv(dataclasses.replace(broken_result, findings=[finding]), out)
    (row,) = _csv_rows(out)
    assert row["actual"] == "-12.5" and row["shortfall_yuan"] == "2000.0"


def test_csv_headers_are_english_when_asked(broken_result, tmp_path):
    out = tmp_path / "en.csv"
    write_csv(broken_result, out, lang="en")
    header = out.read_text(encoding="utf-8-sig").splitlines()[0]
    assert header.split(",") == HEADERS["en"]
    assert ",violation," in out.read_text(encoding="utf-8-sig")


# --- annotated workbook -------------------------------------------------------

def test_the_annotated_copy_lists_the_findings_first_and_marks_the_violation(broken_result, tmp_path):
    out = tmp_path / "marked.xlsx"
    before = _digest(BROKEN)
    annotate_workbook(broken_result, out)
    assert _digest(BROKEN) == before
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "审计发现" and book.active.title == "审计发现"
    findings = book["审计发现"]
    assert findings.max_row == len(broken_result.findings) + 1
    assert findings["B2"].value == "FLOOR_PRESCHOOL" and findings["E2"].value == 2000.0
    assert findings["G2"].hyperlink.location == "'教育经费'!H70"
    assert all(findings.cell(row=r, column=7).hyperlink for r in range(2, findings.max_row + 1)
               if findings.cell(row=r, column=7).value)
    for sheet, coordinate in (("教育经费", "H70"), ("在校生", "F24")):
        cell = book[sheet][coordinate]
        assert cell.fill.fgColor.rgb.endswith(FILLS["violation"])
        assert "FLOOR_PRESCHOOL" in cell.comment.text and "缺口2,000.00元" in cell.comment.text
    assert [ws.sheet_view.tabSelected for ws in book.worksheets].count(True) == 1


def test_the_annotated_copy_keeps_hostile_text_as_text(hostile_ledger, tmp_path):
    before = _digest(hostile_ledger)
    out = tmp_path / "marked.xlsx"
    annotate_workbook(finaudit.check(hostile_ledger), out)
    assert _digest(hostile_ledger) == before
    book = openpyxl.load_workbook(out)
    formulas = [f"{ws.title}!{c.coordinate}" for ws in book.worksheets for row in ws.iter_rows() for c in row
                if c.data_type == "f"]
    assert formulas == []
    subjects = [c.value for (c,) in book["审计发现"].iter_rows(min_row=2, min_col=4, max_col=4)]
    for text in HOSTILE:
        assert any((s or "").startswith(text) for s in subjects), text
    ledger_names = [c.value for (c,) in book["教育经费"].iter_rows(min_row=2, max_row=7, min_col=3, max_col=3)]
    assert ledger_names == HOSTILE
    quoted = [c for (c,) in book["审计发现"].iter_rows(min_row=2, min_col=4, max_col=4)
              if (c.value or "").startswith(FORMULA_START)]
    assert quoted and all(c.data_type == "s" and c.quotePrefix for c in quoted)


def test_the_most_severe_finding_colours_a_cell_and_a_whole_row_marks_its_first_cell(broken_result, tmp_path):
    violation = broken_result.findings[0]
    cited = violation.evidence[0]
    info = dataclasses.replace(violation, severity="info", rule_id="DATA_YEAR_GAP")
    whole_row = Evidence(file=cited.file, sheet="教育经费", row=3, cell="教育经费!3")
    warning = dataclasses.replace(violation, severity="warning", evidence=[whole_row])
    out = tmp_path / "marked.xlsx"
    annotate_workbook(dataclasses.replace(broken_result, findings=[info, violation, warning]), out)
    book = openpyxl.load_workbook(out)
    cell = book["教育经费"][cited.cell.split("!")[1]]
    assert cell.fill.fgColor.rgb.endswith(FILLS["violation"])
    assert "DATA_YEAR_GAP" in cell.comment.text and "FLOOR_PRESCHOOL" in cell.comment.text
    assert book["教育经费"]["A3"].fill.fgColor.rgb.endswith(FILLS["warning"])
    assert book["审计发现"]["G4"].hyperlink.location == "'教育经费'!A3"


def test_the_annotated_copy_speaks_english_when_asked(broken_result, tmp_path):
    out = tmp_path / "marked.xlsx"
    annotate_workbook(broken_result, out, lang="en")
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "Findings" and book["Findings"]["A2"].value == "violation"


def test_a_macro_workbook_is_annotated_as_a_macro_workbook(tmp_path):
    ledger = tmp_path / "ledger.xlsm"
    shutil.copy(BROKEN, ledger)
    out = tmp_path / "marked.xlsm"
    annotate_workbook(finaudit.check(ledger), out)
    assert openpyxl.load_workbook(out, keep_vba=True).sheetnames[0] == "审计发现"


def test_annotating_refuses_to_overwrite_the_ledger(hostile_ledger):
    before = _digest(hostile_ledger)
    with pytest.raises(UsageError) as error:
        annotate_workbook(finaudit.check(hostile_ledger), hostile_ledger)
    assert "hostile.xlsx" in error.value.zh and "hostile.xlsx" in error.value.en
    assert _digest(hostile_ledger) == before


def test_annotating_needs_a_workbook_and_its_extension(write_csv, sheets, tmp_path):
    folder = write_csv("ledger/教育经费.csv", sheets["教育经费"]).parent
    write_csv("ledger/在校生.csv", sheets["在校生"])
    with pytest.raises(UsageError, match="xlsx"):
        annotate_workbook(finaudit.check(folder), tmp_path / "marked.xlsx")
    with pytest.raises(UsageError, match=r"\.xlsx"):
        annotate_workbook(finaudit.check(BROKEN), tmp_path / "marked.xls")


@pytest.mark.slow
@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)")
def test_libreoffice_opens_the_annotated_copy(hostile_ledger, tmp_path):
    marked = tmp_path / "marked.xlsx"
    annotate_workbook(finaudit.check(hostile_ledger), marked)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(tmp_path / "out"), str(marked)],
                   check=True, capture_output=True, timeout=180)
    pdf = tmp_path / "out" / "marked.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")


# --- the command line ---------------------------------------------------------

def test_check_writes_sarif_csv_and_the_annotated_copy_at_once(cli, tmp_path):
    sarif_path, csv_path, marked = tmp_path / "a" / "f.sarif", tmp_path / "b" / "f.csv", tmp_path / "c" / "m.xlsx"
    run = cli("check", BROKEN, "--sarif", sarif_path, "--csv", csv_path, "--annotate", marked, "--quiet")
    assert run.exit_code == 1, run.output
    _assert_sarif_shape(json.loads(sarif_path.read_text(encoding="utf-8")))
    assert _csv_rows(csv_path)[0]["rule_id"] == "FLOOR_PRESCHOOL"
    assert openpyxl.load_workbook(marked).sheetnames[0] == "审计发现"


def test_annotating_over_the_ledger_is_one_line_and_exit_2(cli, tmp_path):
    ledger = tmp_path / "ledger.xlsx"
    shutil.copy(BROKEN, ledger)
    before = _digest(ledger)
    run = cli("check", ledger, "--annotate", ledger, "--lang", "en")
    assert run.exit_code == 2 and "Traceback" not in run.output
    assert run.stderr.strip().splitlines() == [     # refused with the other outputs, before the audit
        f"The --annotate file '{ledger}' is the ledger '{ledger}' being audited and would overwrite it; "
        "give another file name (nothing was written)."]
    assert _digest(ledger) == before
