"""The findings document, format 3 (runs/document.py, runs/compact.py): what a finding cites
and which file it is about are written once, every field of format 2 is still there once the
document is expanded, and orjson writes the bytes json.dumps wrote."""
from __future__ import annotations

import dataclasses
import io
import json

import pytest

import finaudit
from finaudit import __version__
from finaudit.findings import Evidence, Finding
from finaudit.runs import document as document_mod
from finaudit.runs.compact import expand
from finaudit.runs.document import chunks, document, dumps
from finaudit.runs.manifest import manifest

from conftest import BROKEN, SAMPLES, kindergartens

SAMPLE_LEDGERS = sorted(p.name for p in SAMPLES.glob("*.xlsx"))


def format_2(result) -> dict:
    """The document as format 2 wrote it (document.py before format 3), parsed back."""
    doc = {"finaudit_version": __version__, "format_version": 2, "run": manifest(result),
           "summary": result.summary, "findings": [f.to_dict() for f in result.findings]}
    if result.baseline is not None:
        doc["baseline"] = result.baseline
    return json.loads(json.dumps(doc, ensure_ascii=False))


def written(result) -> bytes:
    out = io.BytesIO()
    document_mod.write(result, out)
    return out.getvalue()


def assert_same_fields(expanded: dict, old: dict) -> None:
    """Field by field, so that a failure names the finding and the field."""
    assert [k for k in expanded if k != "findings"] == [k for k in old if k != "findings"]
    for key in old:
        if key != "findings":
            assert expanded[key] == old[key], key
    assert len(expanded["findings"]) == len(old["findings"])
    for new, before in zip(expanded["findings"], old["findings"]):
        assert list(new) == list(before), before["fingerprint"]
        for field in before:
            assert new[field] == before[field], (before["rule_id"], before["fingerprint"], field)


@pytest.fixture(scope="module")
def results():
    return {name: finaudit.check(SAMPLES / name) for name in SAMPLE_LEDGERS}


@pytest.mark.parametrize("sample", SAMPLE_LEDGERS)
def test_every_field_of_a_format_2_finding_is_reachable_in_format_3(results, sample):
    result = results[sample]
    doc = json.loads(written(result))
    assert doc["format_version"] == 3 and "citations" in doc
    assert_same_fields(expand(doc), format_2(result))


@pytest.mark.parametrize("sample", SAMPLE_LEDGERS)
def test_orjson_writes_the_bytes_json_dumps_wrote_for_the_same_document(results, sample):
    result = results[sample]
    data = written(result)
    assert data == (dumps(document(result)) + "\n").encode("utf-8")
    assert json.loads(data) == json.loads(dumps(document(result)))
    assert result.to_json() == data.decode("utf-8").removesuffix("\n")


def test_a_citation_is_written_once_and_every_finding_that_cites_points_at_its_own(results):
    result = results["break_FLOOR_PRESCHOOL.xlsx"]
    doc = document(result)
    cited = [f for f in result.findings if f.basis is not None]
    assert len(doc["citations"]) < len(cited)
    keys = [json.dumps(c, sort_keys=True, ensure_ascii=False) for c in doc["citations"]]
    assert len(set(keys)) == len(keys)
    for finding, written_finding in zip(result.findings, doc["findings"]):
        if finding.basis is None and finding.profile is None and finding.parameters is None:
            assert written_finding["citation"] is None
            continue
        entry = doc["citations"][written_finding["citation"]]
        assert (entry["rule_id"], entry["profile"], entry["basis"], entry["parameters"]) == \
            (finding.rule_id, finding.profile, finding.basis, finding.parameters)


def test_the_document_is_smaller_than_format_2_for_the_same_findings(results):
    result = results["break_FLOOR_PRESCHOOL.xlsx"]
    old = json.dumps(format_2(result)["findings"], ensure_ascii=False, indent=2)
    new = json.dumps(document(result)["findings"], ensure_ascii=False, indent=2)
    assert len(new) < len(old) * 0.6            # 0.56 here; 0.43 for 100,014 findings (RESULTS.md)


def test_findings_are_written_in_batches_with_the_same_bytes(results, monkeypatch):
    result = results["break_ONLY_INCREASE_TOTAL.xlsx"]
    whole = written(result)
    monkeypatch.setattr(document_mod, "BATCH", 7)        # 93 findings: 14 batches, the last one short
    pieces = list(chunks(result))
    assert b"".join(pieces) + b"\n" == whole
    assert sum(b'"fingerprint"' in p for p in pieces) >= 14


def test_a_run_without_findings_writes_an_empty_list(results):
    result = dataclasses.replace(results["clean.xlsx"], findings=[])
    data = written(result)
    assert b'\n  "citations": [],\n  "findings": []\n}\n' in data
    assert data == (dumps(document(result)) + "\n").encode("utf-8")


def test_characters_a_terminal_acts_on_are_escaped_in_every_chunk(results):
    result = results["break_FLOOR_PRESCHOOL.xlsx"]
    text = "名称\x85\u2028\u202e\x7f\x1b末"
    first = dataclasses.replace(result.findings[0], message={"zh": text, "en": text},
                                evidence=[result.findings[0].evidence[0]._replace(value=text)])
    result = dataclasses.replace(result, findings=[first, *result.findings[1:]])
    data = written(result)
    for raw in ("\x85", "\u2028", "\u202e", "\x7f", "\x1b"):
        assert raw.encode("utf-8") not in data
    assert '"名称\\u0085\\u2028\\u202e\\u007f\\u001b末"'.encode("utf-8") in data
    assert data == (dumps(document(result)) + "\n").encode("utf-8")
    assert json.loads(data)["findings"][0]["message"]["zh"] == text


def test_an_evidence_file_inside_a_ledger_folder_is_its_input_and_its_sheet(tmp_path):
    folder = kindergartens(tmp_path / "县", 3)
    result = finaudit.check(folder, year=2023)
    doc = json.loads(written(result))
    violations = [f for f in doc["findings"] if f["severity"] == "violation"]
    assert len(violations) == 4
    assert all(e["input"] == 0 and "file" not in e for f in violations for e in f["evidence"])
    expanded = expand(doc)
    files = {e["file"] for f in expanded["findings"] for e in f["evidence"]}
    assert files == {str(folder / "budget.parquet"), str(folder / "enrollment.parquet")}
    assert_same_fields(expanded, format_2(result))


def test_a_file_that_is_no_input_stays_a_path_and_absent_findings_are_compacted_too(results):
    result = results["break_FLOOR_PRESCHOOL.xlsx"]
    elsewhere = Finding(rule_id="FLOOR_PRESCHOOL", severity="violation", check="main", message={"zh": "旧", "en": "old"},
                        subject={"region_code": "130682", "year": 2021},
                        evidence=[Evidence(file="/gone/2021.xlsx", sheet="教育经费", row=3, cell="教育经费!H3")],
                        basis=result.findings[0].basis, profile="dingzhou", parameters={}, file="/gone/2021.xlsx")
    absent = json.loads(json.dumps({**elsewhere.to_dict(), "baseline_state": "absent"}, ensure_ascii=False))
    result = dataclasses.replace(result, baseline={"history": "h.duckdb", "run_seq": 2, "previous_runs": ["x"],
                                                   "counts": {"absent": 1}, "absent": [absent]})
    doc = json.loads(written(result))
    (gone,) = doc["baseline"]["absent"]
    assert gone["file"] == "/gone/2021.xlsx" and gone["evidence"][0]["file"] == "/gone/2021.xlsx"
    assert isinstance(gone["citation"], int) and "basis" not in gone
    assert_same_fields(expand(doc), format_2(result))
    assert expand(doc)["baseline"] == format_2(result)["baseline"]


def test_a_format_2_document_is_expanded_as_it_is(results):
    old = format_2(results["clean.xlsx"])
    assert expand(old) == old


def test_verify_reads_format_3_and_format_2_documents(cli, tmp_path):
    out = tmp_path / "out.json"
    assert cli("check", BROKEN, "--json", out, "--quiet").exit_code == 1
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["format_version"] == 3
    run = cli("verify", out, "--lang", "en")
    assert run.exit_code == 0 and "Identical: the audit run again gives the same 92 findings." in run.stdout
    old = tmp_path / "format2.json"
    old.write_text(json.dumps(expand(doc), ensure_ascii=False, indent=2), encoding="utf-8")
    assert json.loads(old.read_text(encoding="utf-8"))["findings"][0]["basis"] is not None
    run = cli("verify", old, "--lang", "en")
    assert run.exit_code == 0 and "Identical: the audit run again gives the same 92 findings." in run.stdout


def test_verify_of_a_newer_format_or_a_dangling_reference_is_one_line(cli, tmp_path):
    out = tmp_path / "out.json"
    cli("check", BROKEN, "--json", out, "--quiet")
    doc = json.loads(out.read_text(encoding="utf-8"))
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**doc, "format_version": 4}), encoding="utf-8")
    run = cli("verify", newer, "--lang", "en")
    assert run.exit_code == 2 and "format version 4, written by a newer finaudit" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    doc["findings"][0]["citation"] = len(doc["citations"]) + 5
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc), encoding="utf-8")
    run = cli("verify", broken, "--lang", "zh")
    assert run.exit_code == 2 and "文件可能已损坏" in run.stderr and "Traceback" not in run.output
