"""Every rule's test cases (tests/rules/<RULE>.yaml), run by one parametrised test.

A case is a small inline ledger (canonical English columns, money in yuan), the
profile and year to audit, and the exact findings of that rule expected, worked out
by hand from the clause (the arithmetic is written beside each case). The test id
is <RULE>-<case name>.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

import finaudit
from finaudit.audit.catalogue import load_rules

CASES_DIR = Path(__file__).parent / "rules"
REGION_DEFAULTS = {"region_code": "130682", "region_name": "定州市"}
SHEET_DEFAULTS = {
    "budget": {**REGION_DEFAULTS, "ownership": "public", "fund_source": "general_budget", "basis": "final"},
    "enrollment": {**REGION_DEFAULTS, "ownership": "public"},
    "surcharge": dict(REGION_DEFAULTS),
    "salaries": dict(REGION_DEFAULTS),
    "reference": {},
    "fiscal": dict(REGION_DEFAULTS),
    "indicators": dict(REGION_DEFAULTS),
}
SUBJECT_KEYS = ("region_code", "year", "level", "school_id")


def _cases():
    for path in sorted(CASES_DIR.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert spec["rule"] == path.stem, f"{path.name} names rule {spec['rule']}"
        for case in spec["cases"]:
            yield pytest.param(spec["rule"], case, id=f"{spec['rule']}-{case['name']}")


def write_ledger(folder: Path, ledger: dict) -> Path:
    """Writes an inline ledger as a folder of CSV files (budget and enrollment always)."""
    folder.mkdir(parents=True, exist_ok=True)
    for sheet in ("budget", "enrollment", "surcharge", "salaries", "reference", "fiscal", "indicators"):
        rows = ledger.get(sheet)
        if rows is None and sheet not in ("budget", "enrollment"):
            continue
        rows = [{**SHEET_DEFAULTS[sheet], **r} for r in (rows or [])]
        columns = list(SHEET_DEFAULTS[sheet]) + [c for r in rows for c in r if c not in SHEET_DEFAULTS[sheet]]
        columns = list(dict.fromkeys(columns)) or ["year", "region_code", "region_name", "level"]
        if sheet in ("budget", "enrollment") and not rows:
            columns = {"budget": ["year", "region_code", "region_name", "level", "ownership", "fund_source",
                                  "expense_class", "amount"],
                       "enrollment": ["year", "region_code", "region_name", "level", "ownership", "students"]}[sheet]
        with open(folder / f"{sheet}.csv", "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns)
            writer.writeheader()
            for r in rows:
                writer.writerow({c: ("" if r.get(c) is None else r.get(c)) for c in columns})
    return folder


def write_workbook(path: Path, ledger: dict, layout: dict) -> Path:
    """The inline ledger as an xlsx workbook, one sheet per schema, laid out as a person
    would: `layout` = {sheet: {merge: ["C2:C4"], hide: [3]}}. Excel keeps only the top-left
    value of a merged range, so the cells under it are cleared."""
    import openpyxl

    folder = write_ledger(path.parent / "csv", ledger)
    book = openpyxl.Workbook()
    book.remove(book.active)
    for sheet_csv in sorted(folder.glob("*.csv")):
        ws = book.create_sheet(sheet_csv.stem)
        spec = layout.get(sheet_csv.stem, {})
        with open(sheet_csv, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        for n, row in enumerate(_across(rows, sheet_csv.stem) if spec.get("wide") else rows):
            ws.append([float(v) if n and v.replace(".", "", 1).isdigit() and not v.startswith("0") else (v or None)
                       for v in row])
        for ref in spec.get("merge", []):
            first, *rest = [cell for row in ws[ref] for cell in row]
            for cell in rest:
                cell.value = None
            ws.merge_cells(ref)
        for row in spec.get("hide", []):
            ws.row_dimensions[row].hidden = True
    book.save(path)
    return path


def _across(rows: list[list[str]], sheet: str) -> list[list[str]]:
    """A sheet's rows with the years across the columns (`layout: {budget: {wide: true}}`):
    one column per year (2023年, or 2023年决算数 / 2023年预算数 where the sheet has 口径),
    one row per combination of the other columns."""
    from finaudit.intake.schema import load_schemas

    header, records = rows[0], [dict(zip(rows[0], r)) for r in rows[1:]]
    value = load_schemas()[sheet].wide_value
    suffix = {"final": "决算数", "budget": "预算数"}
    column = lambda r: f"{r['year']}年" + (suffix[r["basis"]] if "basis" in r else "")
    labels = [c for c in header if c not in ("year", "basis", value)]
    years = sorted({column(r) for r in records})
    table: dict[tuple, dict] = {}
    for r in records:
        table.setdefault(tuple(r[c] for c in labels), {})[column(r)] = r[value]
    return [labels + years] + [list(key) + [cells.get(y, "") for y in years] for key, cells in table.items()]


def _actual(finding) -> dict:
    out = {"check": finding.check or "main", "severity": finding.severity,
           "subject": {k: finding.subject.get(k) for k in SUBJECT_KEYS},
           "shortfall_yuan": finding.shortfall_yuan}
    if finding.details and finding.details.get("reason"):
        out["reason"] = finding.details["reason"]
    out["message"] = finding.message["zh"]
    return out


def _expected(item: dict) -> dict:
    subject = {k: None for k in SUBJECT_KEYS}
    subject["region_code"] = REGION_DEFAULTS["region_code"]
    subject.update({k: (str(v) if k in ("region_code", "school_id") and v is not None else v)
                    for k, v in item["subject"].items()})
    out = {"check": item.get("check", "main"), "severity": item["severity"], "subject": subject,
           "shortfall_yuan": item.get("shortfall_yuan")}
    if "reason" in item:
        out["reason"] = item["reason"]
    if "message" in item:
        out["message"] = item["message"]
    return out


def _key(d: dict):
    s = d["subject"]
    return (d["check"], d["severity"], s["region_code"], s["year"] or 0, s["level"] or "", s["school_id"] or "")


@pytest.mark.parametrize("rule_id, case", list(_cases()))
def test_rule_case(rule_id, case, tmp_path):
    ledger = (write_workbook(tmp_path / "ledger.xlsx", case["ledger"], case["layout"]) if "layout" in case
              else write_ledger(tmp_path / "ledger", case["ledger"]))
    # Only the rule under test runs (with the shared views it reads): its findings do not
    # depend on the other rules, and the cases run several times faster.
    rules = load_rules()
    only = {rule_id: rules[rule_id]} if rules[rule_id].stage == "sql" else {}
    result = finaudit.check(ledger, profile=case.get("profile"), year=case.get("year"), rules=only)
    actual = sorted((_actual(f) for f in result.findings if f.rule_id == rule_id), key=_key)
    expected = sorted((_expected(e) for e in case.get("expected", [])), key=_key)
    for item in actual:
        # A reason is compared only where the case names one (for fails it is 'raw'/'comparable').
        exp = next((e for e in expected if _key(e) == _key(item)), None)
        if exp is not None and "reason" not in exp:
            item.pop("reason", None)
        if exp is None or "message" not in exp:     # compared where the case writes it out
            item.pop("message")
        if item["shortfall_yuan"] is not None and exp is not None and exp["shortfall_yuan"] is not None:
            assert item["shortfall_yuan"] == pytest.approx(exp["shortfall_yuan"], abs=0.01)
            item["shortfall_yuan"] = exp["shortfall_yuan"]
    assert actual == expected


def test_every_rule_has_passing_and_failing_cases():
    """STYLE.md 4: each rule has its own cases file, with a case that finds nothing and one that fails."""
    for rule_id, rule in load_rules().items():
        path = CASES_DIR / f"{rule_id}.yaml"
        assert path.exists(), f"tests/rules/{rule_id}.yaml is missing"
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]
        assert any(not c.get("expected") for c in cases), f"{rule_id}: no passing case"
        assert any(any(e["severity"] != "info" or rule.severity == "info"
                       for e in c.get("expected", [])) for c in cases), f"{rule_id}: no failing case"
