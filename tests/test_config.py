"""finaudit.toml and [tool.finaudit]: where they are found, what they set, and that a
command-line flag always wins (issue 5)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from finaudit.config import find, load

from conftest import BROKEN, CLEAN


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A bureau's folder: ledgers/2024 with one broken county workbook, a reports folder
    to run from; write(text) puts finaudit.toml at the top."""
    (tmp_path / "ledgers" / "2024").mkdir(parents=True)
    shutil.copy(BROKEN, tmp_path / "ledgers" / "2024" / "county.xlsx")
    (tmp_path / "work" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "work" / "deep")

    def write(text: str, name: str = "finaudit.toml"):
        (tmp_path / name).write_text(text, encoding="utf-8")
        return tmp_path / name

    write.root = tmp_path
    return write


def test_the_configuration_is_found_from_the_working_directory_upward(project):
    path = project('ledgers = ["ledgers/2024/"]\n')
    assert find() == path


def test_finaudit_toml_wins_over_pyproject_in_the_same_folder(project):
    project('[tool.finaudit]\nprofile = "xingtai"\n', name="pyproject.toml")
    project('profile = "dingzhou"\n')
    assert load().get("profile") == "dingzhou"


def test_a_pyproject_without_a_finaudit_table_is_passed_over(project):
    project('[tool.finaudit]\nprofile = "xingtai"\n', name="pyproject.toml")
    (project.root / "work" / "pyproject.toml").write_text('[project]\nname = "other"\n', encoding="utf-8")
    assert find() == project.root / "pyproject.toml" and load().get("profile") == "xingtai"


def test_check_without_arguments_audits_the_configured_ledgers(cli, project, tmp_path):
    project('ledgers = ["ledgers/2024/"]\n[outputs]\njson = "out/2024.json"\n')
    run = cli("check", "--quiet")
    assert run.exit_code == 1, run.output
    doc = json.loads((project.root / "out" / "2024.json").read_text(encoding="utf-8"))
    # paths in the file are taken from its folder: from below, they are named in full ...
    assert [i["path"] for i in doc["run"]["inputs"]] == [str(project.root / "ledgers" / "2024" / "county.xlsx")]


def test_configured_paths_below_the_working_directory_are_reported_relative_to_it(cli, project, monkeypatch):
    project('ledgers = ["ledgers/2024/"]\n[outputs]\njson = "out/2024.json"\n')
    monkeypatch.chdir(project.root)
    assert cli("check", "--quiet").exit_code == 1
    doc = json.loads((project.root / "out" / "2024.json").read_text(encoding="utf-8"))
    assert [i["path"] for i in doc["run"]["inputs"]] == ["ledgers/2024/county.xlsx"]


def test_pyproject_tool_finaudit_works_the_same(cli, project):
    project('[tool.finaudit]\nledgers = "ledgers/2024/county.xlsx"\nfail_on = "never"\n', name="pyproject.toml")
    assert cli("check", "--quiet").exit_code == 0


def test_a_flag_overrides_the_configuration_and_the_configuration_overrides_the_default(cli, project):
    project('ledgers = ["ledgers/2024/"]\nfail_on = "never"\nlang = "en"\nprofile = "xingtai"\n'
            '[outputs]\njson = "configured.json"\n')
    configured = cli("check")
    assert configured.exit_code == 0                              # fail_on = never, not the default violation
    assert "Result: " in configured.stdout                        # lang = en, not the default zh
    assert (project.root / "configured.json").exists()
    doc = json.loads((project.root / "configured.json").read_text(encoding="utf-8"))
    assert doc["run"]["options"]["profile"] == "xingtai"

    flagged = cli("check", "--fail-on", "violation", "--lang", "zh", "--profile", "dingzhou", "--json", "flag.json")
    assert flagged.exit_code == 1
    assert "结论：" in flagged.stdout
    doc = json.loads(Path("flag.json").read_text(encoding="utf-8"))
    assert doc["run"]["options"]["profile"] == "dingzhou"


def test_ledgers_on_the_command_line_replace_the_configured_ones(cli, project):
    project('ledgers = ["ledgers/2024/"]\n')
    doc = json.loads(cli("check", CLEAN, "--format", "json").stdout)
    assert [i["path"] for i in doc["run"]["inputs"]] == [str(CLEAN)]


def test_no_config_ignores_the_file_and_config_names_another(cli, project, tmp_path):
    project('ledgers = ["ledgers/2024/"]\nfail_on = "never"\n')
    assert cli("check", "--quiet", "--no-config").exit_code == 2          # no ledgers then
    other = project.root / "strict.toml"
    other.write_text('ledgers = ["ledgers/2024/"]\nfail_on = "violation"\n', encoding="utf-8")
    assert cli("check", "--quiet", "--config", other).exit_code == 1


@pytest.mark.parametrize("text, expected", [
    ('fail_on = "sometimes"\n', "Setting 'fail_on' in '{path}' must be one of violation, warning, info, never, "
                                "not 'sometimes'."),
    ('ledger = ["a.xlsx"]\n', "Unknown setting 'ledger' in '{path}'. Valid: ledgers, profile"),
    ('jobs = "two"\n', "Setting 'jobs' in '{path}' must be a number of processes, not 'two'."),
    ('[outputs]\npdf = "x.pdf"\n', "Unknown output 'pdf' under [outputs] in '{path}'. Valid: json, html"),
    ('ledgers = [\n', "Configuration file '{path}' is not valid TOML"),
], ids=["bad-choice", "unknown-key", "bad-type", "unknown-output", "bad-toml"])
def test_a_wrong_setting_is_one_line_naming_it_and_what_is_valid(cli, project, text, expected):
    path = project(text)
    run = cli("check", CLEAN, "--lang", "en")
    assert run.exit_code == 2 and "Traceback" not in run.output
    line, = run.stderr.strip().splitlines()
    assert expected.format(path=path) in line


def test_a_wrong_setting_is_said_in_the_configured_language_unless_a_flag_says_otherwise(cli, project):
    project('lang = "en"\nfail_on = "sometimes"\n')
    assert "不是“sometimes”" in cli("check", CLEAN, "--lang", "zh").stderr


def test_history_without_a_path_reads_the_configured_history(cli, project, monkeypatch):
    project('ledgers = ["ledgers/2024/"]\nhistory = "audit.duckdb"\n')
    assert cli("check", "--quiet").exit_code == 1
    assert (project.root / "audit.duckdb").exists()           # relative to the file, not to the working dir
    listed = json.loads(cli("history", "--format", "json").stdout)
    assert [r["seq"] for r in listed] == [1]
