"""The run manifest in every JSON output, determinism, and `finaudit verify` (issue 5)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from finaudit.runs.manifest import _tree_digest, rules_digest

from conftest import BROKEN, CLEAN

RUN_VARYING = re.compile(r'^    "(id|started_at)": "[^"]*",?$', re.MULTILINE)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_json_carries_what_a_rerun_needs(cli, tmp_path):
    out = tmp_path / "out.json"
    cli("check", BROKEN, "--json", out, "--quiet", "--profile", "dingzhou", "--year", "2022")
    run = json.loads(out.read_text(encoding="utf-8"))["run"]
    assert re.fullmatch(r"[0-9a-f]{12}", run["id"]) and run["started_at"]
    assert run["finaudit_version"] and run["profiles"] == ["dingzhou"]
    assert run["options"] == {"profile": "dingzhou", "year": 2022, "draft_severity": None}
    assert run["inputs"][0]["sha256"] == _sha256(BROKEN) and run["inputs"][0]["path"] == str(BROKEN)
    floor = run["parameters"]["dingzhou"]["parameters"]["floor_preschool_public_funds_per_student"]
    assert floor == [{"effective": 2022, "value": 400,
                      "source": "定发字〔2021〕40号（二十四）：幼儿园生均公用经费(生均400元)按拨款标准"}]
    assert run["rules_digest"] == rules_digest() and re.fullmatch(r"[0-9a-f]{64}", run["rules_digest"])


def test_the_parameters_listed_are_those_of_the_audited_years_and_the_year_before(cli, tmp_path):
    out = tmp_path / "out.json"
    cli("check", CLEAN, "--json", out, "--quiet", "--profile", "xingtai", "--year", "2019")
    params = json.loads(out.read_text(encoding="utf-8"))["run"]["parameters"]["xingtai"]["parameters"]
    # Xingtai's surcharge share applies from 2021: not in force in 2018 or 2019
    assert "surcharge_vocational_share_min" not in params
    assert params["only_increase_required"][0]["value"] is True


def test_the_rules_digest_changes_with_any_rule_or_profile_file(tmp_path):
    shutil.copytree(Path(__file__).resolve().parent.parent / "rules", tmp_path / "rules",
                    ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    before = _tree_digest(str(tmp_path / "rules"))
    _tree_digest.cache_clear()
    profile = tmp_path / "rules" / "profiles" / "dingzhou.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("value: 400", "value: 450"), encoding="utf-8")
    assert _tree_digest(str(tmp_path / "rules")) != before
    _tree_digest.cache_clear()


def _check_json(args: list, out: Path, seed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    proc = subprocess.run([sys.executable, "-m", "finaudit", "check", *map(str, args), "--json", str(out), "--quiet"],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return out.read_bytes()


@pytest.mark.slow
def test_the_same_inputs_give_byte_identical_json_apart_from_run_time_and_id(tmp_path):
    folder = tmp_path / "ledgers"
    folder.mkdir()
    shutil.copy(CLEAN, folder / "a.xlsx")
    shutil.copy(BROKEN, folder / "b.xlsx")
    (folder / "c.xlsx").write_bytes(b"corrupt")
    first = _check_json([folder], tmp_path / "1.json", seed="1")
    second = _check_json([folder, "--jobs", "2"], tmp_path / "2.json", seed="2")
    assert first != second                              # the run id and time do differ ...
    assert len(RUN_VARYING.findall(first.decode())) == 2
    assert RUN_VARYING.sub("", first.decode()) == RUN_VARYING.sub("", second.decode())   # ... and nothing else


def test_verify_confirms_a_run_that_comes_out_the_same(cli, tmp_path):
    out = tmp_path / "out.json"
    cli("check", BROKEN, "--json", out, "--quiet")
    run = cli("verify", out, "--lang", "en")
    assert run.exit_code == 0, run.output
    assert "Identical: the audit run again gives the same 92 findings." in run.stdout


def test_verify_shows_what_differs_when_the_ledger_has_changed(cli, tmp_path):
    ledger = tmp_path / "county.xlsx"
    shutil.copy(BROKEN, ledger)
    out = tmp_path / "out.json"
    cli("check", ledger, "--json", out, "--quiet")
    shutil.copy(CLEAN, ledger)                     # the kindergarten money was corrected since
    run = cli("verify", out, "--lang", "en")
    assert run.exit_code == 1
    assert "has changed since (its sha256 differs)" in run.stdout
    assert "Different: 1 recorded findings are gone, 0 are new, 0 changed." in run.stdout
    assert "  - [violation] FLOOR_PRESCHOOL (county.xlsx) 定州市第一幼儿园 (130682K01), 定州市 2022" in run.stdout


def _with_violation_edited(cli, tmp_path, edit):
    """The broken sample's findings document with its violation changed by `edit`, as if
    the recorded figures had been altered since."""
    out = tmp_path / "out.json"
    cli("check", BROKEN, "--json", out, "--quiet")
    doc = json.loads(out.read_text(encoding="utf-8"))
    edit(next(f for f in doc["findings"] if f["severity"] == "violation"))
    out.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return out


def test_verify_lists_the_fields_of_a_finding_that_changed(cli, tmp_path):
    out = _with_violation_edited(cli, tmp_path, lambda f: f.update(shortfall_yuan=1.0))
    run = cli("verify", out, "--lang", "en")
    assert run.exit_code == 1
    assert "fields that differ: shortfall_yuan" in run.stdout and "shortfall_yuan: 1.0 → 2000.0" in run.stdout


def test_verify_takes_relative_paths_from_base(cli, tmp_path, monkeypatch):
    (tmp_path / "in").mkdir()
    shutil.copy(BROKEN, tmp_path / "in" / "county.xlsx")
    monkeypatch.chdir(tmp_path)
    cli("check", "in/county.xlsx", "--json", "out.json", "--quiet")
    monkeypatch.chdir(tmp_path / "in")
    run = cli("verify", tmp_path / "out.json", "--lang", "en")
    assert run.exit_code == 2 and "--base" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    run = cli("verify", tmp_path / "out.json", "--base", tmp_path, "--lang", "en")
    assert run.exit_code == 0, run.output


def test_verify_of_something_else_is_one_line(cli, tmp_path):
    (tmp_path / "x.json").write_text('{"hello": 1}', encoding="utf-8")
    run = cli("verify", tmp_path / "x.json", "--lang", "en")
    assert run.exit_code == 2 and "not a finaudit findings document" in run.stderr
    run = cli("verify", tmp_path / "nothing.json", "--lang", "en")
    assert run.exit_code == 2 and "does not exist" in run.stderr


def test_verify_reproduces_a_batch_with_an_unreadable_file(cli, tmp_path):
    folder = tmp_path / "ledgers"
    folder.mkdir()
    shutil.copy(BROKEN, folder / "a.xlsx")
    (folder / "b.xlsx").write_bytes(b"corrupt")
    cli("check", folder, "--json", tmp_path / "out.json", "--quiet")
    run = cli("verify", tmp_path / "out.json", "--lang", "en")
    assert run.exit_code == 0, run.output


def _document_naming(tmp_path: Path, ledger: str) -> Path:
    """A findings document whose one audited ledger is `ledger`."""
    doc = {"finaudit_version": "x", "run": {"inputs": [{"path": ledger, "sha256": "0" * 64, "status": "audited"}],
                                             "rules_digest": "x"}, "findings": []}
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo"])
def test_verify_of_a_document_naming_a_device_or_a_pipe_refuses_it_promptly(tmp_path, kind):
    ledger = kind
    if kind == "fifo":
        ledger = str(tmp_path / "ledger.xlsx")
        os.mkfifo(ledger)
    document = _document_naming(tmp_path, ledger)
    # before: /dev/zero was hashed forever and the pipe waited forever for a writer
    run = subprocess.run([sys.executable, "-m", "finaudit", "verify", str(document), "--lang", "en"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1
    assert f"'{ledger}' is not a regular file" in run.stderr


def test_verify_names_the_changed_fields_in_chinese(cli, tmp_path):
    out = _with_violation_edited(cli, tmp_path, lambda f: f.update(shortfall_yuan=1.0,
                                                                   measure={**f["measure"], "actual": 1.0}))
    run = cli("verify", out)
    assert run.exit_code == 1
    assert "变化的字段：实际值与要求值、缺口（元）" in run.stdout
    assert "缺口（元）：1.0 → 2000.0" in run.stdout
    assert "实际值与要求值：1.0 / " in run.stdout and "measure" not in run.stdout
