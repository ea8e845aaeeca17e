"""Many ledgers in one run (issue 5): which inputs name which ledgers, one consolidated
result in which every finding names its file, an unreadable file reported while the
others are audited, exit codes, worker processes and the progress bar."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from finaudit.runs.batch import check_many
from finaudit.runs.discover import expand

from conftest import BROKEN, CLEAN
from finaudit.runs.compact import expand as expand_document


@pytest.fixture
def county_folder(tmp_path):
    """ledgers/2024 with two county workbooks, a corrupt one, an Excel lock file and notes."""
    folder = tmp_path / "ledgers" / "2024"
    folder.mkdir(parents=True)
    shutil.copy(CLEAN, folder / "a_clean.xlsx")
    shutil.copy(BROKEN, folder / "b_broken.xlsx")
    (folder / "c_corrupt.xlsx").write_bytes(b"this is not a workbook, it was cut off in the mail")
    (folder / "~$a_clean.xlsx").write_bytes(b"lock")
    (folder / "notes.txt").write_text("not a ledger", encoding="utf-8")
    return folder


def test_a_folder_names_its_workbooks_in_name_order_without_lock_files(county_folder):
    assert [i.path.name for i in expand([county_folder])] == ["a_clean.xlsx", "b_broken.xlsx", "c_corrupt.xlsx"]


def test_a_folder_of_sheet_files_is_one_ledger_and_a_folder_of_folders_recurses(tmp_path, write_csv, sheets):
    write_csv("all/county1/教育经费.csv", sheets["教育经费"])
    write_csv("all/county1/在校生.csv", sheets["在校生"])
    write_csv("all/county2/budget.csv", sheets["教育经费"])
    write_csv("all/county2/enrollment.csv", sheets["在校生"])
    assert [i.path.name for i in expand([tmp_path / "all"])] == ["county1", "county2"]
    assert [i.path.name for i in expand([tmp_path / "all" / "county1"])] == ["county1"]


def test_globs_are_expanded_and_a_ledger_named_twice_is_audited_once(county_folder):
    pattern = str(county_folder.parent / "*" / "[ab]_*.xlsx")
    items = expand([pattern, county_folder / "a_clean.xlsx"])
    assert [i.path.name for i in items] == ["a_clean.xlsx", "b_broken.xlsx"]


def test_a_glob_or_folder_naming_no_ledger_is_reported_not_dropped(tmp_path):
    (tmp_path / "empty").mkdir()
    items = expand([str(tmp_path / "*.xlsx"), tmp_path / "empty"])
    assert [i.audited for i in items] == [False, False]
    assert "*.xlsx" in items[0].error["en"] and "holds no ledger" in items[1].error["en"]


def test_a_batch_with_one_corrupt_file_still_audits_the_others(cli, county_folder, tmp_path):
    out = tmp_path / "out.json"
    run = cli("check", county_folder, "--json", out, "--quiet")
    assert run.exit_code == 1                     # the broken sample's violation (and the unreadable file)
    doc = expand_document(json.loads(out.read_text(encoding="utf-8")))
    status = {Path(i["path"]).name: i["status"] for i in doc["run"]["inputs"]}
    assert status == {"a_clean.xlsx": "audited", "b_broken.xlsx": "audited", "c_corrupt.xlsx": "unreadable"}
    corrupt = next(i for i in doc["run"]["inputs"] if i["status"] == "unreadable")
    assert corrupt["error"]["zh"] and corrupt["error"]["en"] and corrupt["sha256"] is None
    unreadable = [f for f in doc["findings"] if f["rule_id"] == "INPUT_UNREADABLE"]
    assert [Path(f["file"]).name for f in unreadable] == ["c_corrupt.xlsx"]
    floor = [f for f in doc["findings"] if f["rule_id"] == "FLOOR_PRESCHOOL" and f["severity"] == "violation"]
    assert [Path(f["file"]).name for f in floor] == ["b_broken.xlsx"]
    # both audited workbooks contributed their findings (the clean one its not-evaluable notes)
    assert {Path(f["file"]).name for f in doc["findings"]} == {"a_clean.xlsx", "b_broken.xlsx", "c_corrupt.xlsx"}


def test_every_finding_names_its_file(cli, tmp_path):
    doc = json.loads(cli("check", CLEAN, BROKEN, "--format", "json").stdout)
    assert [i["path"] for i in doc["run"]["inputs"]] == [str(CLEAN), str(BROKEN)]
    assert all(f["input"] in (0, 1) and all(e["input"] == f["input"] for e in f["evidence"]) for f in doc["findings"])
    doc = expand_document(doc)
    assert all(f["file"] in (str(CLEAN), str(BROKEN)) for f in doc["findings"])
    assert all(e["file"] == f["file"] for f in doc["findings"] for e in f["evidence"])


def test_the_text_report_lists_the_ledgers_and_tags_each_finding_with_its_file(cli, county_folder):
    run = cli("check", county_folder, "--lang", "en")
    assert "Ledgers: 3, audited 2, could not be audited 1" in run.stdout
    assert "(b_broken.xlsx) 定州市第一幼儿园 (130682K01), 定州市 2022: public funds per child" in run.stdout
    assert "not audited: " in run.stdout and "c_corrupt.xlsx" in run.stdout


def test_one_unreadable_file_among_clean_ones_fails_the_run_at_the_default_threshold(cli, tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"")
    assert cli("check", CLEAN, "--quiet").exit_code == 0
    assert cli("check", CLEAN, tmp_path / "bad.xlsx", "--quiet").exit_code == 1


def test_exit_2_only_when_nothing_could_be_audited(cli, tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"")
    run = cli("check", tmp_path / "bad.xlsx", tmp_path / "missing.xlsx", "--lang", "en")
    assert run.exit_code == 2 and "Traceback" not in run.output
    line, = run.stderr.strip().splitlines()
    assert line.startswith("None of the 2 ledgers could be audited") and "bad.xlsx" in line


def test_check_without_any_ledger_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)            # no finaudit.toml above a temporary folder
    run = cli("check", "--lang", "en")
    assert run.exit_code == 2 and run.stderr.strip().startswith("Give the ledgers to audit (files, folders or globs)")


def test_annotate_takes_one_ledger(cli, tmp_path):
    run = cli("check", CLEAN, BROKEN, "--annotate", tmp_path / "x.xlsx", "--lang", "en")
    assert run.exit_code == 2 and "--annotate takes one ledger" in run.stderr


def test_worker_processes_give_the_same_result_as_one_process(county_folder):
    one = check_many([county_folder], jobs=1)
    two = check_many([county_folder], jobs=2)
    assert [f.to_dict() for f in one.findings] == [f.to_dict() for f in two.findings]
    assert [i.to_dict() for i in one.inputs] == [i.to_dict() for i in two.inputs]


def test_worker_processes_are_used_only_when_they_pay_for_their_start(monkeypatch):
    import finaudit.runs.discover as discover

    monkeypatch.setattr(discover.os, "cpu_count", lambda: 2)
    assert [discover.auto_jobs(n) for n in (1, 2, 8, 15, 16, 100)] == [1, 1, 1, 1, 2, 2]
    monkeypatch.setattr(discover.os, "cpu_count", lambda: 1)
    assert discover.auto_jobs(100) == 1


def test_every_output_takes_a_batch(cli, county_folder, tmp_path):
    run = cli("check", county_folder, "--html", tmp_path / "r.html", "--sarif", tmp_path / "r.sarif",
              "--csv", tmp_path / "r.csv", "--quiet")
    assert run.exit_code == 1
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "a_clean.xlsx" in html and "c_corrupt.xlsx" in html
    sarif = json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))
    uris = {a["location"]["uri"] for a in sarif["runs"][0]["artifacts"]}
    assert any(u.endswith("b_broken.xlsx") for u in uris) and any(u.endswith("c_corrupt.xlsx") for u in uris)
    assert "INPUT_UNREADABLE" in (tmp_path / "r.csv").read_text(encoding="utf-8-sig")


# --- the progress bar -------------------------------------------------------------

def _run_in_terminal(args: list[str]) -> str:
    """Runs `finaudit args` with stdout and stderr on a pseudo-terminal; returns what it showed."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "finaudit", *args], stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL, env={**os.environ, "COLUMNS": "120"})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:        # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.slow
def test_a_progress_bar_is_drawn_on_a_terminal_and_not_with_quiet(tmp_path):
    shown = _run_in_terminal(["check", str(CLEAN), str(BROKEN), "--lang", "en", "--fail-on", "never"])
    assert "Auditing" in shown and "2/2" in shown
    quiet = _run_in_terminal(["check", str(CLEAN), str(BROKEN), "--lang", "en", "--quiet"])
    assert "Auditing" not in quiet and quiet.strip() == ""


def test_no_progress_bar_when_the_output_is_not_a_terminal(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "finaudit", "check", str(CLEAN), str(BROKEN), "--lang", "en"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Auditing" not in proc.stderr and "Auditing" not in proc.stdout


def test_a_single_long_run_says_on_a_terminal_what_it_is_doing():
    # issue 17: reading, the rules, the outputs; from the second second on, and the line is
    # cleared before the report is printed
    import io

    from finaudit.cli.check import _status

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    status = _status("zh", shown=True, stream=stream)
    status.DELAY, status.TICK = 0.0, 0.01
    with status:
        for name in ("read", "rules", "write"):
            status.stage(name)
            time.sleep(0.1)
    shown = [line.strip() for line in stream.getvalue().split("\r") if line.strip()]
    phases = [line.split("…")[0] for line in shown]
    assert [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]] == [
        "审计中：读取台账", "审计中：运行审计规则", "审计中：写出结果"]
    assert stream.getvalue().endswith("\r" + " " * status.width + "\r")


def test_the_audit_tells_its_stages_in_order():
    seen = []
    check_many([CLEAN], stage=seen.append)
    assert seen == ["read", "rules"]


def test_no_status_line_off_a_terminal_or_for_a_quick_run(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "finaudit", "check", str(CLEAN)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "审计中" not in proc.stderr and proc.stderr == ""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the parse server forks: POSIX only")
@pytest.mark.parametrize("options", [{}, {"memory_limit": "2GB"}, {"native": False}])
def test_a_command_stops_the_parse_server_after_its_last_read_an_api_run_keeps_it(samples, options):
    # The server's memory (115 MB of readers) would otherwise count beside the audit's own peak;
    # with --memory-limit or native= DuckDB is set up before the read, and it must still go.
    from finaudit.intake import isolation

    check_many([samples / "clean.xlsx"], release_parser=True, **options)
    assert isolation._SERVER is None
    check_many([samples / "clean.xlsx"], **options)
    assert isolation._SERVER is not None and isolation._SERVER.alive()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the parse server forks: POSIX only")
def test_a_command_whose_last_ledger_is_refused_stops_the_parse_server_too(tmp_path):
    from finaudit.intake import isolation

    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a workbook", encoding="utf-8")
    result = check_many([bad], release_parser=True)
    assert not result.audited and isolation._SERVER is None
