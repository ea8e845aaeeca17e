"""The parse of an untrusted file runs in a child process (finaudit/isolation.py): what the
file does to a reader there — abort, panic, memory, time — costs only that file."""
from __future__ import annotations

import errno
import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from finaudit.errors import LedgerError, UsageError
from finaudit.intake import isolation, sheet_files
from finaudit.intake.isolation import ParseLimits, read_isolated, run_isolated
from finaudit.intake.readers import read_ledger
from finaudit.runs.compact import expand

sys.path.insert(0, str(Path(__file__).parent))
import isolation_targets as targets  # noqa: E402  (the child imports it by this name)

SAMPLES = Path(__file__).resolve().parent.parent / "sample_ledgers"
LIMITS = ParseLimits(memory_bytes=3 * 1024 ** 3, cpu_seconds=3, wall_seconds=6)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the parse server forks: POSIX only")


def _refusal(work, *args, limits=LIMITS) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        run_isolated(work, args, "县.xlsx", limits)
    return caught.value


def test_what_the_child_returns_reaches_the_parent():
    assert run_isolated(targets.answers, (7,), "县.xlsx", LIMITS) == {"x": 7}


def test_an_abort_in_the_reader_is_a_refusal_naming_the_file_and_the_signal():
    error = _refusal(targets.crashes)
    assert "县.xlsx" in error.zh and "崩溃" in error.zh and "SIGABRT" in error.zh
    assert "\n" not in error.zh


def test_an_allocation_failure_is_told_as_the_memory_limit():
    assert "超出内存上限" in _refusal(targets.aborts).zh


def test_a_rust_panic_which_is_no_exception_is_a_refusal_not_a_traceback():
    error = _refusal(targets.panics)
    assert "FakePanic" in error.en and "index out of bounds" in error.en


def test_a_parse_that_outgrows_its_memory_limit_is_stopped():
    error = _refusal(targets.allocates, 8 * 1024 ** 3)
    assert "超出内存上限" in error.zh and "FINAUDIT_PARSE_MEMORY_MB" in error.zh


def test_a_busy_loop_is_stopped_by_the_cpu_limit():
    start = time.monotonic()
    error = _refusal(targets.spins, limits=ParseLimits(3 * 1024 ** 3, 1, 30))
    assert "超时" in error.zh
    assert time.monotonic() - start < 15


def test_a_child_that_waits_forever_is_stopped_at_the_wall_clock_deadline():
    start = time.monotonic()
    error = _refusal(targets.sleeps, limits=ParseLimits(3 * 1024 ** 3, 30, 1.5))
    assert "超时" in error.zh
    assert time.monotonic() - start < 10


def test_the_next_file_is_read_after_a_crash():
    _refusal(targets.crashes)
    assert run_isolated(targets.answers, (1,), "县.xlsx", LIMITS) == {"x": 1}


def test_a_refusal_in_the_child_is_the_same_refusal_in_the_parent(tmp_path):
    bogus = tmp_path / "假.xlsx"
    bogus.write_text("not a zip", encoding="utf-8")
    with pytest.raises(LedgerError) as direct:
        read_ledger(bogus)
    with pytest.raises(LedgerError) as isolated:
        read_isolated(bogus)
    assert (isolated.value.zh, isolated.value.en) == (direct.value.zh, direct.value.en)


def test_the_parse_server_starts_without_pandas_and_a_plain_workbook_is_read_without_it():
    # Every parse child is a fork of the server: pandas there would cost each command about
    # 0.25 s before the parse starts and 43 MiB in both processes (parse_server.main).
    heavy = ["duckdb", "fastexcel", "openpyxl", "pandas", "pandera", "pyarrow"]
    assert run_isolated(targets.loaded, (heavy,), "县.xlsx", LIMITS) == ["fastexcel", "openpyxl", "pyarrow"]
    assert run_isolated(targets.reads_noting_modules, (str(SAMPLES / "clean.xlsx"), heavy), "clean.xlsx",
                        LIMITS) == ["fastexcel", "openpyxl", "pyarrow"]


@pytest.fixture(autouse=True)
def _no_prefetch_left():
    yield
    isolation.forget_prefetch()             # a failed test's prefetch is not the next test's


def _counting_parses(monkeypatch) -> list:
    calls = []
    real = isolation._parsed
    monkeypatch.setattr(isolation, "_parsed", lambda *args: calls.append(args[0]) or real(*args))
    return calls


def test_a_prefetched_parse_is_what_the_read_of_that_file_takes(monkeypatch):
    # The CLI starts the one ledger's parse before its own imports (cli/check.py).
    parses = _counting_parses(monkeypatch)
    isolation.prefetch(SAMPLES / "clean.xlsx")
    folders = isolation._AHEAD.folders
    isolated = read_isolated(Path(os.path.relpath(SAMPLES / "clean.xlsx")))     # the same file, named otherwise
    assert parses == [SAMPLES / "clean.xlsx"] and isolation._AHEAD is None
    direct = read_ledger(SAMPLES / "clean.xlsx")
    assert [r.sheet for r in isolated] == [r.sheet for r in direct]
    for a, b in zip(direct, isolated):
        pd.testing.assert_frame_equal(b.frame, a.frame)
    assert not any(os.path.exists(folder) for folder in folders)


def test_a_file_changed_since_its_prefetch_began_is_parsed_again(monkeypatch, tmp_path):
    import shutil

    parses = _counting_parses(monkeypatch)
    path = tmp_path / "县.xlsx"
    shutil.copyfile(SAMPLES / "clean.xlsx", path)
    isolation.prefetch(path)
    folders = isolation._AHEAD.folders
    shutil.copyfile(SAMPLES / "break_FLOOR_PRESCHOOL.xlsx", path)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))     # a new time whatever the clock's grain
    isolated = read_isolated(path)
    assert parses == [path, path]
    expected = read_ledger(SAMPLES / "break_FLOOR_PRESCHOOL.xlsx")
    for a, b in zip(expected, isolated):
        pd.testing.assert_frame_equal(b.frame, a.frame)
    assert not any(os.path.exists(folder) for folder in folders)


def test_a_prefetch_nobody_takes_is_stopped_and_its_files_removed(monkeypatch):
    monkeypatch.setattr(isolation, "_read_saved", targets.sleeps_instead_of_reading)    # a parse that takes its time
    isolation.prefetch(SAMPLES / "clean.xlsx")
    ahead = isolation._AHEAD
    started = time.monotonic()
    isolation.forget_prefetch()
    assert time.monotonic() - started < 30 and not ahead.thread.is_alive()
    assert isolation._AHEAD is None and not any(os.path.exists(folder) for folder in ahead.folders)
    assert run_isolated(targets.answers, (7,), "县.xlsx", LIMITS) == {"x": 7}      # a new server for the next read


def test_check_of_one_workbook_parses_it_once_before_its_own_imports_are_done(monkeypatch, cli):
    parses = _counting_parses(monkeypatch)
    result = cli("check", SAMPLES / "clean.xlsx", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert parses == [SAMPLES / "clean.xlsx"] and isolation._AHEAD is None


def test_check_refusing_its_options_stops_the_parse_it_started(monkeypatch, cli, tmp_path):
    import shutil

    ledger = tmp_path / "县.xlsx"
    shutil.copyfile(SAMPLES / "clean.xlsx", ledger)
    monkeypatch.setattr(isolation, "_read_saved", targets.sleeps_instead_of_reading)
    made, real = [], sheet_files.folders
    monkeypatch.setattr(sheet_files, "folders", lambda stack: (lambda new: made.extend(new) or new)(real(stack)))
    started = time.monotonic()
    result = cli("check", ledger, "--json", ledger)        # an output that would overwrite the ledger
    assert result.exit_code == 2 and time.monotonic() - started < 60
    assert isolation._AHEAD is None and made and not any(os.path.exists(folder) for folder in made)


def test_a_read_interrupted_while_it_waits_for_its_prefetch_stops_that_parse(monkeypatch):
    monkeypatch.setattr(isolation, "_read_saved", targets.sleeps_instead_of_reading)
    isolation.prefetch(SAMPLES / "clean.xlsx")
    ahead = isolation._AHEAD

    def interrupted(self):
        raise KeyboardInterrupt
    monkeypatch.setattr(isolation._Ahead, "result", interrupted)
    with pytest.raises(KeyboardInterrupt):
        read_isolated(SAMPLES / "clean.xlsx")
    assert ahead.done.is_set() and not any(os.path.exists(folder) for folder in ahead.folders)


def test_a_prefetch_that_cannot_start_is_skipped_and_the_read_says_why(monkeypatch):
    monkeypatch.setenv("FINAUDIT_PARSE_MEMORY_MB", "abc")
    isolation.prefetch(SAMPLES / "clean.xlsx")              # no exception, nothing started
    assert isolation._AHEAD is None
    with pytest.raises(UsageError) as caught:
        read_isolated(SAMPLES / "clean.xlsx")
    assert "FINAUDIT_PARSE_MEMORY_MB" in caught.value.en


def test_the_childs_sheet_files_go_to_memory_unless_tmpdir_says_where(monkeypatch):
    monkeypatch.delenv("TMPDIR", raising=False)
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        assert sheet_files.memory_folder() == "/dev/shm"
    monkeypatch.setenv("TMPDIR", "/var/tmp")
    assert sheet_files.memory_folder() is None


def test_a_sheet_file_that_finds_the_memory_folder_full_is_written_in_the_next(monkeypatch, tmp_path):
    import pyarrow as pa

    full, disk = tmp_path / "shm", tmp_path / "disk"
    full.mkdir(), disk.mkdir()
    real = pa.OSFile

    def os_file(path, mode="r"):
        if str(path).startswith(str(full)):
            open(path, "wb").close()            # created, then no room: as a full tmpfs does
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, mode)

    monkeypatch.setattr(pa, "OSFile", os_file)
    raw = read_ledger(SAMPLES / "clean.xlsx")[0]
    meta, file = sheet_files.saved(raw, [str(full), str(disk)], 0)
    assert Path(file).parent == disk and list(full.iterdir()) == []
    back = sheet_files.rebuild(meta, file)
    pd.testing.assert_frame_equal(back.frame, raw.frame)
    with pytest.raises(OSError) as caught:                  # no room in the last folder either: said
        sheet_files.saved(raw, [str(full)], 0)
    assert caught.value.errno == errno.ENOSPC


def test_sheet_folders_left_by_a_run_killed_outright_are_removed_by_the_next(tmp_path):
    import subprocess

    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, live = int(ended.stdout), os.getpid()                 # a process that has ended; this one
    for pid in (dead, live):
        (tmp_path / f"finaudit-parse-{pid}-x1").mkdir()
        (tmp_path / f"finaudit-parse-{pid}-x1" / "sheet0.arrow").write_bytes(b"\0" * 1024)
    (tmp_path / "finaudit-parse-other").mkdir()               # not a run's name: not touched
    sheet_files.sweep(str(tmp_path))
    assert {p.name for p in tmp_path.iterdir()} == {"finaudit-parse-other", f"finaudit-parse-{live}-x1"}


def test_a_sheet_file_goes_to_the_next_folder_when_the_memory_folder_lacks_the_room(monkeypatch, tmp_path):
    small, disk = tmp_path / "shm", tmp_path / "disk"
    small.mkdir(), disk.mkdir()
    monkeypatch.setattr(sheet_files, "_room", lambda folder, size: folder != str(small))
    raw = read_ledger(SAMPLES / "clean.xlsx")[0]
    _, file = sheet_files.saved(raw, [str(small), str(disk)], 0)
    assert Path(file).parent == disk and list(small.iterdir()) == []


@pytest.mark.parametrize("name", ["clean.xlsx", "break_FLOOR_PRESCHOOL.xlsx"])
def test_sheets_read_in_the_child_equal_sheets_read_in_process(name):
    direct, isolated = read_ledger(SAMPLES / name), read_isolated(SAMPLES / name)
    assert [r.sheet for r in isolated] == [r.sheet for r in direct]
    for a, b in zip(direct, isolated):
        pd.testing.assert_frame_equal(b.frame, a.frame)
        assert b.schema is a.schema
        assert {k: v for k, v in vars(b).items() if k != "frame"} == {k: v for k, v in vars(a).items() if k != "frame"}


def test_a_csv_folder_reads_the_same_in_the_child(tmp_path, write_csv, sheets):
    for name, rows in sheets.items():
        write_csv(f"县/{name}.csv", rows)
    folder = tmp_path / "县"
    direct, isolated = read_ledger(folder), read_isolated(folder)
    for a, b in zip(direct, isolated):
        pd.testing.assert_frame_equal(b.frame, a.frame)


def test_limits_from_the_environment_must_be_finite_positive_numbers(monkeypatch, tmp_path):
    from finaudit.errors import UsageError

    for bad in ("nan", "-1", "inf", "abc", "0"):
        monkeypatch.setenv("FINAUDIT_PARSE_SECONDS", bad)
        with pytest.raises(UsageError):
            ParseLimits.for_path(tmp_path)
    monkeypatch.setenv("FINAUDIT_PARSE_SECONDS", "12")
    monkeypatch.setenv("FINAUDIT_PARSE_MEMORY_MB", "900")
    limits = ParseLimits.for_path(tmp_path)
    assert (limits.cpu_seconds, limits.memory_bytes) == (12, 900 * 1024 * 1024)


# --- a batch survives anything one file does -------------------------------------------

_ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="教育经费">
<table:table-row><table:table-cell office:value-type="string"><text:p>年度</text:p></table:table-cell></table:table-row>
<table:table-row table:number-rows-repeated="11000"><table:table-cell table:number-columns-repeated="9000"
 office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"""


def _repeat_bomb(path: Path) -> Path:
    """A 1 KB .ods whose one repeated cell is 99 million cells: calamine asks for gigabytes
    and, refused them, aborts the process (measured: SIGABRT, "memory allocation of
    2359296000 bytes failed", under a 2 GB limit; 2.9 GB and 44 s without one)."""
    import zipfile

    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", _ODS_CONTENT, compress_type=zipfile.ZIP_DEFLATED)
    return path


def _finaudit(*args, env=None):
    import subprocess

    return subprocess.run([sys.executable, "-m", "finaudit", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


def _abort_class(folder: Path, sheets) -> list[Path]:
    """Every workbook that aborted or panicked the reader when this was written, each
    small: before the guard knew them, each one ended the whole run (exit 134, or a
    PanicException traceback read by cron as exit 1)."""
    import struct

    from corpus import write_xls, write_xlsb

    real = struct.pack("<d", 1.0)
    return [
        _repeat_bomb(folder / "ods_repeats.ods"),
        write_xlsb(folder / "xlsb_corner.xlsb", sheets, extra_cells={"教育经费": [(1048575, 16383, 0x0005, real)]}),
        write_xlsb(folder / "xlsb_far_column.xlsb", sheets, extra_cells={"教育经费": [(1, 2 ** 31, 0x0005, real)]}),
        write_xlsb(folder / "xlsb_string_index.xlsb", sheets,
                   extra_cells={"在校生": [(3, 2, 0x0007, struct.pack("<I", 999))]}),
        write_xlsb(folder / "xlsb_missing_rel.xlsb", sheets, rel_ids={"在校生": "rId9"}),
        write_xls(folder / "xls_dim_huge.xls", sheets, dims={"教育经费": (0, 0xFFFFFFFF, 0, 8)}),
        write_xls(folder / "xls_dim_inverted.xls", sheets, dims={"教育经费": (10, 5, 0, 8)}),
    ]


@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_batch_with_every_abort_class_workbook_audits_the_good_one(tmp_path, sheets, jobs):
    import json

    hostile = tmp_path / "hostile"
    hostile.mkdir()
    bad = _abort_class(hostile, sheets)
    good = tmp_path / "a_good.xlsx"
    good.write_bytes((SAMPLES / "break_FLOOR_PRESCHOOL.xlsx").read_bytes())
    out = tmp_path / "out.json"
    run = _finaudit("check", good, hostile, "--jobs", jobs, "--json", out, "--quiet")
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr and "内部错误" not in run.stderr + run.stdout
    doc = expand(json.loads(out.read_text(encoding="utf-8")))
    status = {Path(i["path"]).name: i["status"] for i in doc["run"]["inputs"]}
    assert status == {"a_good.xlsx": "audited", **{p.name: "unreadable" for p in bad}}
    unreadable = sorted(Path(f["file"]).name for f in doc["findings"] if f["rule_id"] == "INPUT_UNREADABLE")
    assert unreadable == sorted(p.name for p in bad)
    assert all("\n" not in i["error"]["zh"] for i in doc["run"]["inputs"] if i["status"] == "unreadable")
    assert any(f["rule_id"] == "FLOOR_PRESCHOOL" and f["severity"] == "violation" for f in doc["findings"])


def test_a_ledger_folder_gone_before_it_is_read_is_named_not_an_internal_error(tmp_path, write_csv, sheets):
    import shutil

    from finaudit.runs.batch import check_many
    from finaudit.runs.discover import expand

    for name, rows in sheets.items():
        write_csv(f"县/{name}.csv", rows)
    good = tmp_path / "a_good.xlsx"
    good.write_bytes((SAMPLES / "clean.xlsx").read_bytes())
    items = expand([good, tmp_path / "县"])
    shutil.rmtree(tmp_path / "县")
    result = check_many(items)
    gone = next(i for i in result.inputs if i.path.name == "县")
    assert not gone.audited and "内部错误" not in gone.error["zh"]
    assert "县" in gone.error["zh"] and "Internal error" not in gone.error["en"]
    assert next(i for i in result.inputs if i.path.name == "a_good.xlsx").audited


def test_a_folder_walk_does_not_follow_a_symlink_loop_and_says_which_link_it_skipped(tmp_path):
    from finaudit.runs.discover import expand

    county = tmp_path / "county"
    county.mkdir()
    (county / "县.xlsx").write_bytes((SAMPLES / "clean.xlsx").read_bytes())
    (county / "self").symlink_to(county)
    (county / "up").symlink_to(tmp_path)
    start = time.monotonic()
    items = expand([tmp_path])
    assert time.monotonic() - start < 5
    assert [i.path.name for i in items if i.audited] == ["县.xlsx"]
    skipped = sorted(i.path.name for i in items if not i.audited)
    assert skipped == ["self", "up"]
    assert all("符号链接" in i.error["zh"] for i in items if not i.audited)


def test_a_truncated_parquet_ledger_is_one_sentence_naming_it_not_an_internal_error(tmp_path):
    folder = tmp_path / "县"
    folder.mkdir()
    row = {"年度": [2023], "行政区划代码": ["130682"], "地区": ["定州市"], "学段": ["小学"], "办学性质": ["公办"]}
    pd.DataFrame({**row, "资金来源": ["一般公共预算"], "支出类别": ["公用经费"], "金额": [1.0]}).to_parquet(
        folder / "教育经费.parquet")
    pd.DataFrame({**row, "在校生数": [10]}).to_parquet(folder / "在校生.parquet")
    whole = (folder / "教育经费.parquet").read_bytes()
    (folder / "教育经费.parquet").write_bytes(whole[: len(whole) // 2])
    run = _finaudit("check", folder)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "内部错误" not in run.stderr and "Traceback" not in run.stderr
    assert "县" in run.stderr and "损坏" in run.stderr


def test_the_child_reads_the_settings_the_parent_has_now_not_when_the_server_started(monkeypatch):
    run_isolated(targets.answers, (1,), "县.xlsx", LIMITS)          # the server is running
    monkeypatch.setenv("FINAUDIT_MAX_UNZIPPED_MB", "12")
    assert run_isolated(targets.setting, ("FINAUDIT_MAX_UNZIPPED_MB",), "县.xlsx", LIMITS) == "12"
    monkeypatch.delenv("FINAUDIT_MAX_UNZIPPED_MB")
    assert run_isolated(targets.setting, ("FINAUDIT_MAX_UNZIPPED_MB",), "县.xlsx", LIMITS) is None


def test_the_child_works_in_the_folder_the_parent_is_in_now(monkeypatch, tmp_path):
    run_isolated(targets.answers, (1,), "县.xlsx", LIMITS)          # the server is running
    monkeypatch.chdir(tmp_path)
    assert run_isolated(targets.cwd, (), "县.xlsx", LIMITS) == str(tmp_path)


def test_a_read_interrupted_half_way_leaves_the_next_read_working(monkeypatch):
    from finaudit.intake import isolation

    run_isolated(targets.answers, (1,), "县.xlsx", LIMITS)
    real = isolation._Server._expect

    def interrupted(self, tag, seconds):
        if tag == "ended":
            raise KeyboardInterrupt          # Ctrl-C in a notebook, between request and answer
        return real(self, tag, seconds)

    monkeypatch.setattr(isolation._Server, "_expect", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_isolated(targets.answers, (2,), "县.xlsx", LIMITS)
    monkeypatch.setattr(isolation._Server, "_expect", real)
    assert run_isolated(targets.answers, (3,), "县.xlsx", LIMITS) == {"x": 3}


def _alive(pid: int) -> bool:
    """The process runs (a zombie not yet reaped by init has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_parse_server_killed_mid_read_is_a_refusal_and_the_next_read_starts_another(tmp_path):
    import signal
    import threading

    from finaudit.intake import isolation

    run_isolated(targets.answers, (1,), "县.xlsx", LIMITS)
    server = isolation._SERVER.process
    noted = tmp_path / "child.pid"

    def kill_once_the_child_sleeps():
        deadline = time.monotonic() + 10
        while not (noted.exists() and noted.read_text()) and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(server.pid, signal.SIGKILL)

    threading.Thread(target=kill_once_the_child_sleeps, daemon=True).start()
    start = time.monotonic()
    error = _refusal(targets.sleeps_noting_pid, str(noted), limits=ParseLimits(3 * 1024 ** 3, 30, 20))
    assert time.monotonic() - start < 15            # not held until the deadline by an orphan
    child = int(noted.read_text())                  # and the orphan does not live on, sleeping
    while _alive(child) and time.monotonic() - start < 20:
        time.sleep(0.05)
    assert not _alive(child)
    assert "县.xlsx" in error.zh and "FINAUDIT_PARSE_IN_PROCESS" in error.zh
    assert run_isolated(targets.answers, (4,), "县.xlsx", LIMITS) == {"x": 4}


def test_a_finaudit_py_in_the_current_folder_is_not_what_the_parse_server_runs(tmp_path):
    (tmp_path / "finaudit.py").write_text("raise SystemExit('the wrong finaudit ran')\n", encoding="utf-8")
    ledger = tmp_path / "县.xlsx"
    ledger.write_bytes((SAMPLES / "clean.xlsx").read_bytes())
    import subprocess

    # A script elsewhere: its own folder, not the current one, is first on the caller's path.
    script = tmp_path / "elsewhere" / "audit.py"
    script.parent.mkdir()
    script.write_text("import finaudit, sys\nfinaudit.load(sys.argv[1])\nprint('ok')\n", encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), str(ledger)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def test_a_report_beside_the_workbooks_of_a_folder_with_a_symlink_loop_is_written(tmp_path, cli):
    county = tmp_path / "county"
    county.mkdir()
    (county / "县.xlsx").write_bytes((SAMPLES / "clean.xlsx").read_bytes())
    (county / "self").symlink_to(county)
    out = county / "report.json"
    run = cli("check", county, "--json", out, "--quiet")
    assert run.exit_code == 1, run.output          # the skipped link is reported
    assert out.exists()
