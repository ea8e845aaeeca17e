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

from conftest import BROKEN

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
    from finaudit.runs.output_paths import check_outputs

    check_outputs({"--json": tmp_path / "out.json", "--html": None}, [ledger])       # no clash: nothing raised
    with pytest.raises(UsageError, match="is the ledger"):
        check_outputs({"--json": ledger}, [ledger])


# --- atomic outputs -------------------------------------------------------------------

def _kill_while_writing(tmp_path: Path, script: str, target: Path, timeout: float = 120) -> None:
    """Runs `script` in a child whose os.fsync never returns (so it stops after writing the
    temporary file, before the rename), waits for the temporary file, and kills it with
    SIGKILL. A child that finishes without ever making a temporary file has written in place."""
    hang = "import os, time\nos.fsync = lambda fd: time.sleep(3600)\n"
    proc = subprocess.Popen([sys.executable, "-c", hang + textwrap.dedent(script)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while not _temps(target.parent) and proc.poll() is None:
            assert time.monotonic() < deadline, "the child never started writing"
            time.sleep(0.01)
        # The kill must land mid-write: a child that ended on its own (an error before
        # writing, or a write in place) proves nothing about what a kill leaves.
        assert proc.poll() is None, f"the child ended before the kill: {proc.stderr.read().decode()[-2000:]}"
        assert _temps(target.parent), "no temporary file: the output is not written beside its target first"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_kill_9_while_a_large_json_is_written_leaves_the_previous_report_intact(tmp_path):
    target = tmp_path / "report.json"
    previous = b'{"previous": "report"}\n' * 1000
    target.write_bytes(previous)
    _kill_while_writing(tmp_path, f"""
        from finaudit.cli import write_outputs
        from finaudit.runs import document
        from finaudit.runs.result import Result

        def chunks(result):                     # a findings document of about 64 MB, a piece at a time
            yield b'{{"findings": ['
            for i in range(64_000):
                yield (b"," if i else b"") + b'"' + b"x" * 1000 + b'"'
            yield b"]}}"

        document.chunks = chunks

        class Huge:                             # written by the real Result.write_json
            write_json = Result.write_json

        write_outputs(Huge(), "zh", json_path={str(target)!r})
    """, target)
    assert target.read_bytes() == previous


@pytest.mark.parametrize("option", OUTPUTS)
def test_kill_9_while_check_writes_an_output_leaves_the_previous_one_intact(tmp_path, ledger, option):
    target = tmp_path / "out" / ("report.xlsx" if option == "--annotate" else "report")
    target.parent.mkdir()
    target.write_bytes(b"the previous report")
    _kill_while_writing(tmp_path, f"""
        from finaudit.cli import main
        main(["check", {str(ledger)!r}, {option!r}, {str(target)!r}, "--quiet"])
    """, target)
    assert target.read_bytes() == b"the previous report"


@pytest.mark.parametrize("option", OUTPUTS)
def test_a_full_disk_leaves_the_previous_file_and_the_error_names_it(cli, ledger, tmp_path, monkeypatch, option):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "out" / ("report.xlsx" if option == "--annotate" else "report")
    target.parent.mkdir()
    target.write_bytes(b"the previous report")
    line = _one_line_error(cli("check", ledger, option, target, "--quiet", "--lang", "en"))
    assert f"Cannot write '{target}'" in line and os.strerror(errno.ENOSPC) in line
    assert target.read_bytes() == b"the previous report"
    assert _temps(target.parent) == []


@pytest.mark.parametrize("option", ["--json", "--csv"])
def test_a_write_that_fails_half_way_leaves_the_previous_file(tmp_path, ledger, option):
    """A file-size limit makes the write fail after 4 KB, as a disk filling up does."""
    target = tmp_path / "report"
    target.write_bytes(b"the previous report")
    script = textwrap.dedent(f"""
        import resource, signal
        import finaudit.cli.check as command
        from finaudit.cli import main

        write = command.write_outputs

        def limited(*args, **kwargs):        # only the outputs are limited, not the audit before them
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
            write(*args, **kwargs)

        command.write_outputs = limited
        main(["check", {str(ledger)!r}, {option!r}, {str(target)!r}, "--quiet", "--lang", "en"])
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == f"Cannot write '{target}': File too large; any previous file is left as it was."
    assert target.read_bytes() == b"the previous report"
    assert _temps(tmp_path) == []


def test_a_rename_that_fails_leaves_the_previous_file_and_no_temporary_one(tmp_path, monkeypatch):
    import finaudit.atomic
    from finaudit.atomic import OutputError, write_text

    target = tmp_path / "report.json"
    target.write_text("previous", encoding="utf-8")

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

    monkeypatch.setattr(finaudit.atomic.os, "replace", refuse)
    with pytest.raises(OutputError) as caught:
        write_text(target, "new")
    assert str(target) in caught.value.message("zh") and str(target) in caught.value.message("en")
    assert target.read_text(encoding="utf-8") == "previous"
    assert _temps(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only folder")
def test_a_folder_that_became_read_only_leaves_the_previous_file(cli, ledger, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "report.json"
    target.write_text("previous", encoding="utf-8")
    folder.chmod(0o555)
    try:
        line = _one_line_error(cli("check", ledger, "--json", target, "--quiet"))
    finally:
        folder.chmod(0o755)
    assert str(target) in line
    assert target.read_text(encoding="utf-8") == "previous"


def test_a_replaced_report_keeps_the_permissions_of_the_previous_one(tmp_path):
    from finaudit.atomic import write_text

    target = tmp_path / "report.json"
    target.write_text("previous", encoding="utf-8")
    target.chmod(0o640)
    write_text(target, "new")
    assert target.read_text(encoding="utf-8") == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_a_report_written_through_a_symlink_lands_in_the_file_it_points_to(tmp_path):
    from finaudit.atomic import write_text

    real = tmp_path / "real.json"
    real.write_text("previous", encoding="utf-8")
    (tmp_path / "link.json").symlink_to(real)
    write_text(tmp_path / "link.json", "new")
    assert (tmp_path / "link.json").is_symlink() and real.read_text(encoding="utf-8") == "new"


def test_an_error_while_a_report_is_made_leaves_no_temporary_file(tmp_path):
    from finaudit.atomic import replacing

    with pytest.raises(ZeroDivisionError):
        with replacing(tmp_path / "report.csv") as fh:
            fh.write("half a report")
            1 / 0
    assert list(tmp_path.iterdir()) == []


def test_the_blank_template_is_written_atomically(tmp_path, monkeypatch):
    import finaudit.atomic
    from finaudit.atomic import OutputError
    from finaudit.authoring.template import write_template

    target = tmp_path / "blank.xlsx"
    target.write_bytes(b"previous")
    monkeypatch.setattr(finaudit.atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OutputError, match="blank.xlsx"):
        write_template(target)
    assert target.read_bytes() == b"previous" and _temps(tmp_path) == []


# --- no control characters to the terminal -------------------------------------------

HOSTILE_NAME = "定州\x1b[2J\x1b]0;pwned\x07\x9b31m市\n[违规] 伪造的一行"


def _hostile_csv_ledger(write_csv, sheets) -> Path:
    for rows in sheets.values():
        for row in rows[1:]:
            row[2] = HOSTILE_NAME
    write_csv("hostile/教育经费.csv", sheets["教育经费"])
    return write_csv("hostile/在校生.csv", sheets["在校生"]).parent


def _stdout(*args) -> str:
    run = subprocess.run([sys.executable, "-m", "finaudit", *map(str, args)], capture_output=True, timeout=300)
    assert run.returncode in (0, 1), run.stderr.decode()
    return run.stdout.decode("utf-8")


def test_escape_sequences_in_a_cell_do_not_reach_the_terminal(write_csv, sheets):
    out = _stdout("check", _hostile_csv_ledger(write_csv, sheets), "--show-info")
    for raw in ("\x1b", "\x07", "\x9b"):
        assert raw not in out
    assert "定州\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m市\\n[违规] 伪造的一行" in out       # shown, escaped
    assert not any(line.startswith("[违规] 伪造") for line in out.splitlines())


def test_a_rejected_cell_quoted_by_validate_is_shown_escaped(write_csv, sheets):
    sheets["教育经费"][1][3] = "小学\x1b]0;pwned\x07"          # not a level: the finding quotes it
    write_csv("hostile/教育经费.csv", sheets["教育经费"])
    out = _stdout("validate", write_csv("hostile/在校生.csv", sheets["在校生"]).parent)
    assert "\x1b" not in out and "\x07" not in out
    assert "小学\\x1b]0;pwned\\x07" in out


def test_the_json_printed_carries_control_characters_only_as_escapes(write_csv, sheets):
    folder = _hostile_csv_ledger(write_csv, sheets)
    run = subprocess.run([sys.executable, "-m", "finaudit", "check", str(folder), "--format", "json"],
                         capture_output=True, timeout=300)
    out = run.stdout.decode("utf-8")
    assert "\x1b" not in out and "\x9b" not in out
    # every finding about a region names it (a rule not evaluated for want of a sheet names none)
    names = {f["subject"]["region_name"] for f in json.loads(out)["findings"]} - {None}
    assert names == {HOSTILE_NAME}


def test_printable_shows_every_control_character_as_an_escape():
    from finaudit.report.labels import printable

    assert printable("a\tb\nc\x1b[2J\x7f\x9b\u202e定州") == "a\\tb\\nc\\x1b[2J\\x7f\\x9b\\u202e定州"
    assert printable("line one\nline\x1b two", keep_newlines=True) == "line one\nline\\x1b two"
