"""Untrusted files cannot hurt the run (issue 12): no output is written over what the run
reads, every output is written all at once or not at all, and no control character from
a cell reaches the terminal."""
from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from finaudit.errors import UsageError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_ledgers"
BROKEN = SAMPLES / "break_FLOOR_PRESCHOOL.xlsx"
OUTPUTS = ["--json", "--html", "--sarif", "--csv", "--annotate"]


def _one_line_error(run) -> str:
    assert run.exit_code == 2, run.output
    assert "Traceback" not in run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.fixture
def ledger(tmp_path) -> Path:
    path = tmp_path / "county.xlsx"
    shutil.copy(BROKEN, path)
    return path


@pytest.fixture
def csv_ledger(write_csv, sheets) -> Path:
    """A CSV ledger folder: 教育经费.csv and 在校生.csv."""
    write_csv("csv_ledger/教育经费.csv", sheets["教育经费"])
    return write_csv("csv_ledger/在校生.csv", sheets["在校生"]).parent


def _temps(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.finaudit-tmp"))


# --- never write over what we read -------------------------------------------------

@pytest.mark.parametrize("option", OUTPUTS)
def test_an_output_pointed_at_the_ledger_is_refused_and_the_ledger_is_untouched(cli, ledger, option):
    before = ledger.read_bytes()
    line = _one_line_error(cli("check", ledger, option, ledger, "--lang", "en"))
    assert f"The {option} file" in line and "is the ledger" in line and "nothing was written" in line
    assert ledger.read_bytes() == before


@pytest.mark.parametrize("output", ["json", "html", "sarif", "csv", "annotate"])
def test_an_output_of_the_configuration_pointed_at_the_ledger_is_refused(cli, ledger, monkeypatch, output):
    monkeypatch.chdir(ledger.parent)
    Path("finaudit.toml").write_text(f'ledgers = ["county.xlsx"]\n[outputs]\n{output} = "county.xlsx"\n',
                                     encoding="utf-8")
    before = ledger.read_bytes()
    line = _one_line_error(cli("check"))
    assert f"[outputs] {output} 指定的文件“county.xlsx”就是要审计的台账" in line
    assert ledger.read_bytes() == before


def test_an_output_of_the_configuration_cannot_be_the_configuration_file(cli, ledger, monkeypatch):
    monkeypatch.chdir(ledger.parent)
    config = Path("finaudit.toml")
    config.write_text('ledgers = ["county.xlsx"]\n[outputs]\njson = "finaudit.toml"\n', encoding="utf-8")
    before = config.read_bytes()
    line = _one_line_error(cli("check", "--lang", "en"))
    assert "is the configuration file" in line
    assert config.read_bytes() == before


@pytest.mark.parametrize("option", ["--csv", "--json"])
def test_an_output_onto_a_file_of_a_csv_ledger_folder_is_refused(cli, csv_ledger, option):
    member = csv_ledger / "教育经费.csv"
    before = member.read_bytes()
    line = _one_line_error(cli("check", csv_ledger, option, member))
    assert "位于台账文件夹" in line and "csv_ledger" in line
    assert member.read_bytes() == before


def test_a_new_output_inside_a_csv_ledger_folder_is_refused_as_it_would_change_the_ledger(cli, csv_ledger):
    line = _one_line_error(cli("check", csv_ledger, "--json", csv_ledger / "report.json", "--lang", "en"))
    assert "inside the ledger folder" in line
    assert not (csv_ledger / "report.json").exists()


def test_the_history_file_as_an_output_is_refused_and_the_history_kept(cli, ledger, tmp_path):
    history = tmp_path / "audit.duckdb"
    assert cli("check", ledger, "--history", history, "--quiet").exit_code == 1
    before = history.read_bytes()
    line = _one_line_error(cli("check", ledger, "--history", history, "--json", history, "--lang", "en"))
    assert "is the history file" in line
    assert history.read_bytes() == before
    assert "1" in cli("history", history).stdout        # still a history, with its run


def test_the_lock_file_of_the_history_is_not_an_output_either(cli, ledger, tmp_path):
    history = tmp_path / "audit.duckdb"
    line = _one_line_error(cli("check", ledger, "--history", history, "--csv", f"{history}.lock"))
    assert "历史文件" in line


def test_the_history_cannot_be_the_ledger(cli, ledger):
    before = ledger.read_bytes()
    line = _one_line_error(cli("check", ledger, "--history", ledger, "--lang", "en"))
    assert "The --history file" in line and "is the ledger" in line
    assert ledger.read_bytes() == before
    assert not Path(f"{ledger}.lock").exists()


def test_two_outputs_on_one_file_are_refused(cli, ledger, tmp_path):
    line = _one_line_error(cli("check", ledger, "--json", tmp_path / "out", "--sarif", tmp_path / "." / "out"))
    assert "--json 与 --sarif 指定的是同一个文件" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_a_link_to_the_ledger_is_the_ledger(cli, ledger, tmp_path, link):
    alias = tmp_path / "alias.json"
    (os.symlink if link == "symlink" else os.link)(ledger, alias)
    before = ledger.read_bytes()
    _one_line_error(cli("check", ledger, "--json", alias))
    assert ledger.read_bytes() == before


def test_the_check_is_in_the_library_and_raises_a_usage_error(ledger, tmp_path):
    from finaudit.output_paths import check_outputs

    check_outputs({"--json": tmp_path / "out.json", "--html": None}, [ledger])       # no clash: nothing raised
    with pytest.raises(UsageError, match="is the ledger"):
        check_outputs({"--json": ledger}, [ledger])
