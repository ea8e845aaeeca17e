"""The history file (issue 5): baseline states across yearly runs, `finaudit history`
and `--diff`, a run killed while writing, and runs writing one file at once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import BROKEN, CLEAN
from test_rules import write_ledger


def _county(folder: Path, per_student: dict[tuple[int, str], float], region=("130682", "定州市")) -> Path:
    """A county's ledger: public funds per student of each (year, level), 1000 public students each,
    and personnel spending growing fast enough that only the floors, and public funds per
    student falling (PUBLIC_FUNDS_PER_STUDENT_GROW), can fail."""
    code, name = region
    budget = [{"year": y, "level": lv, "expense_class": "public_funds", "amount": amount * 1000,
               "region_code": code, "region_name": name} for (y, lv), amount in per_student.items()]
    budget += [{"year": y, "level": lv, "expense_class": "personnel", "amount": 2_000_000 * (y - 2000),
                "region_code": code, "region_name": name} for (y, lv) in per_student]
    enrollment = [{"year": y, "level": lv, "students": 1000, "region_code": code, "region_name": name}
                  for (y, lv) in per_student]
    return write_ledger(folder, {"budget": budget, "enrollment": enrollment})


def _audit(cli, ledger, history, tmp_path, *extra) -> dict:
    out = tmp_path / "run.json"
    run = cli("check", ledger, "--history", history, "--json", out, "--quiet", "--profile", "dingzhou", *extra)
    assert run.exit_code in (0, 1), run.output
    return json.loads(out.read_text(encoding="utf-8"))


def _violations(doc: dict) -> dict:
    """(rule, year, level) -> baseline state of each violation, and of each resolved one."""
    out = {(f["rule_id"], f["subject"]["year"], f["subject"]["level"]): f["baseline_state"]
           for f in doc["findings"] if f["severity"] == "violation"}
    out.update({(f["rule_id"], f["subject"]["year"], f["subject"]["level"]): "absent"
                for f in doc["baseline"]["absent"] if f["severity"] == "violation"})
    return out


def test_three_yearly_runs_tell_the_fixed_the_new_and_the_persisting_violation_apart(cli, tmp_path):
    history = tmp_path / "audit.duckdb"
    ok = {(y, lv): 1500 for y in (2021, 2022, 2023, 2024) for lv in ("preschool", "senior_general")}
    # 2022 workbook: kindergartens get 390 per child (persists), high schools 900 (fixed later);
    # both fell from 1500 in 2021, so public funds per student fell too
    first = _county(tmp_path / "2022", {**{k: v for k, v in ok.items() if k[0] <= 2022},
                                        (2022, "preschool"): 390, (2022, "senior_general"): 900})
    doc1 = _audit(cli, first, history, tmp_path)
    assert _violations(doc1) == {("FLOOR_PRESCHOOL", 2022, "preschool"): "new",
                                 ("FLOOR_SENIOR_GENERAL", 2022, "senior_general"): "new",
                                 ("PUBLIC_FUNDS_PER_STUDENT_GROW", 2022, "preschool"): "new",
                                 ("PUBLIC_FUNDS_PER_STUDENT_GROW", 2022, "senior_general"): "new"}
    assert doc1["baseline"]["previous_runs"] == []

    # 2023 workbook: 2022 high-school money partly restored (950: still short, figures changed)
    second = _county(tmp_path / "2023", {**{k: v for k, v in ok.items() if k[0] <= 2023},
                                         (2022, "preschool"): 390, (2022, "senior_general"): 950})
    doc2 = _audit(cli, second, history, tmp_path)
    assert _violations(doc2) == {("FLOOR_PRESCHOOL", 2022, "preschool"): "unchanged",
                                 ("FLOOR_SENIOR_GENERAL", 2022, "senior_general"): "updated",
                                 ("PUBLIC_FUNDS_PER_STUDENT_GROW", 2022, "preschool"): "unchanged",
                                 ("PUBLIC_FUNDS_PER_STUDENT_GROW", 2022, "senior_general"): "updated"}
    assert doc2["baseline"]["previous_runs"] == [doc1["run"]["id"]]

    # 2024 workbook: high schools fully restored (fixed), 2022 kindergartens still short, and
    # 2024 kindergartens get 380 per child (new; a fall from 2023's 1500 too)
    third = _county(tmp_path / "2024", {**ok, (2022, "preschool"): 390, (2024, "preschool"): 380})
    doc3 = _audit(cli, third, history, tmp_path)
    assert _violations(doc3) == {("FLOOR_PRESCHOOL", 2022, "preschool"): "unchanged",     # persists
                                 ("FLOOR_SENIOR_GENERAL", 2022, "senior_general"): "absent",  # fixed
                                 ("FLOOR_PRESCHOOL", 2024, "preschool"): "new",           # new
                                 ("PUBLIC_FUNDS_PER_STUDENT_GROW", 2022, "preschool"): "unchanged",
                                 ("PUBLIC_FUNDS_PER_STUDENT_GROW", 2022, "senior_general"): "absent",
                                 ("PUBLIC_FUNDS_PER_STUDENT_GROW", 2024, "preschool"): "new"}
    assert doc3["baseline"]["counts"]["absent"] == 2
    # every finding of a year audited before, about unchanged figures, is unchanged
    assert {f["baseline_state"] for f in doc3["findings"] if f["subject"]["year"] == 2021} == {"unchanged"}


def test_the_text_report_says_what_is_new_and_what_was_resolved(cli, tmp_path):
    history = tmp_path / "audit.duckdb"
    cli("check", BROKEN, "--history", history, "--quiet")
    run = cli("check", CLEAN, "--history", history, "--lang", "en")
    assert "Since the previous run (recorded as run 2 in" in run.stdout
    assert "0 new, 91 unchanged, 0 updated, 1 resolved (absent now)." in run.stdout   # clean.xlsx: 91 info findings
    assert "■ Resolved (found by the previous run, not now)" in run.stdout
    run = cli("check", BROKEN, "--history", history, "--lang", "en")
    assert "- [violation][new] 定州市第一幼儿园 (130682K01), 定州市 2022: public funds per child" in run.stdout


def test_the_baseline_is_the_previous_run_over_the_same_regions(cli, tmp_path):
    """An ad-hoc run over another county in between is not the baseline, and a year not
    audited again is not reported as resolved."""
    history = tmp_path / "audit.duckdb"
    county = _county(tmp_path / "a", {(2022, "preschool"): 390, (2023, "preschool"): 390})
    other = _county(tmp_path / "b", {(2023, "preschool"): 1500}, region=("130502", "襄都区"))
    doc1 = _audit(cli, county, history, tmp_path)
    _audit(cli, other, history, tmp_path)
    doc3 = _audit(cli, county, history, tmp_path)
    assert doc3["baseline"]["previous_runs"] == [doc1["run"]["id"]]
    assert set(_violations(doc3).values()) == {"unchanged"}
    only_2023 = _audit(cli, county, history, tmp_path, "--year", "2023")
    assert _violations(only_2023) == {("FLOOR_PRESCHOOL", 2023, "preschool"): "unchanged"}     # 2022 not "resolved"


def test_history_lists_the_runs_and_diff_shows_what_changed(cli, tmp_path):
    history = tmp_path / "audit.duckdb"
    first = _audit(cli, BROKEN, history, tmp_path)
    _audit(cli, CLEAN, history, tmp_path)
    run = cli("history", history, "--lang", "en")
    assert run.exit_code == 0
    lines = run.stdout.splitlines()
    assert lines[0].split()[:4] == ["run", "id", "started", "ledgers"] and len(lines) == 4
    assert lines[2].split()[:2] == ["1", first["run"]["id"]]
    listed = json.loads(cli("history", history, "--format", "json").stdout)
    assert [(r["seq"], r["violations"], r["absent"]) for r in listed] == [(1, 1, 0), (2, 0, 1)]

    run = cli("history", history, "--diff", first["run"]["id"][:6], "2", "--lang", "en")
    assert run.exit_code == 0, run.output
    assert "0 new, 1 resolved, 0 updated, " in run.stdout
    assert "  - [violation] FLOOR_PRESCHOOL (break_FLOOR_PRESCHOOL.xlsx) 定州市第一幼儿园 (130682K01), 定州市 2022" in run.stdout
    back = cli("history", history, "--diff", "2", "1", "--lang", "en")
    assert "1 new, 0 resolved" in back.stdout


def test_a_run_that_audits_no_ledger_is_not_recorded(cli, tmp_path):
    # A mistyped path in a nightly job must not add a run over no region to the history.
    history = tmp_path / "audit.duckdb"
    run = cli("check", tmp_path / "missing.xlsx", "--history", history, "--no-config", "--quiet")
    assert run.exit_code == 2
    assert not history.exists()


def test_a_run_id_prefix_of_digits_only_still_names_that_run(cli, tmp_path, monkeypatch):
    # Run ids are hex: one in about 17 has six leading digits, which read like a run number.
    import finaudit.runs.result as result_mod

    ids = iter(["483038aa0001", "b00000000002"])
    monkeypatch.setattr(result_mod.uuid, "uuid4", lambda: type("U", (), {"hex": next(ids)})())
    history = tmp_path / "audit.duckdb"
    _audit(cli, BROKEN, history, tmp_path)
    _audit(cli, CLEAN, history, tmp_path)
    run = cli("history", history, "--diff", "483038", "2", "--lang", "en")
    assert run.exit_code == 0, run.output
    assert "run 1 (483038aa0001" in run.stdout and "0 new, 1 resolved" in run.stdout
    assert cli("history", history, "--diff", "1", "2", "--lang", "en").stdout == run.stdout


@pytest.mark.parametrize("args, expected", [
    (["--diff", "1", "9"], "has no run '9'. Runs: 1."),
    ([], None),
], ids=["unknown-run", "ok"])
def test_history_errors_are_one_line(cli, tmp_path, args, expected, monkeypatch):
    # A run id that starts with a letter: a random one starting with "9" (1 in 16) is run '9'.
    import finaudit.runs.result as result_mod

    monkeypatch.setattr(result_mod.uuid, "uuid4", lambda: type("U", (), {"hex": "a1b2c3d4e5f6"})())
    history = tmp_path / "audit.duckdb"
    cli("check", CLEAN, "--history", history, "--quiet")
    run = cli("history", history, *args, "--lang", "en")
    if expected is None:
        assert run.exit_code == 0
    else:
        assert run.exit_code == 2 and expected in run.stderr and len(run.stderr.strip().splitlines()) == 1


def test_a_file_that_is_not_a_history_is_refused_in_one_line(cli, tmp_path):
    import duckdb

    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).execute("CREATE TABLE t (x INTEGER)").close()
    run = cli("check", CLEAN, "--history", other, "--quiet", "--lang", "en")
    assert run.exit_code == 2 and "is a DuckDB file but not a finaudit history" in run.stderr
    (tmp_path / "x.duckdb").write_text("hello", encoding="utf-8")
    run = cli("check", CLEAN, "--history", tmp_path / "x.duckdb", "--quiet", "--lang", "en")
    assert run.exit_code == 2 and "Cannot open history file" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    # In Chinese, DuckDB's English reason is said in Chinese.
    run = cli("check", CLEAN, "--history", tmp_path / "x.duckdb", "--quiet")
    assert run.stderr.strip() == (f"无法打开历史文件“{tmp_path / 'x.duckdb'}”：这个文件不是 DuckDB 数据库"
                                  "（不是 finaudit 的历史文件）；请换一个文件名，或删除后重新记录")
    run = cli("history", tmp_path / "none.duckdb", "--lang", "en")
    assert run.exit_code == 2 and "does not exist" in run.stderr


def test_sarif_carries_the_baseline_state(cli, tmp_path):
    history = tmp_path / "audit.duckdb"
    cli("check", CLEAN, "--history", history, "--quiet")
    cli("check", BROKEN, "--history", history, "--sarif", tmp_path / "r.sarif", "--quiet")
    results = json.loads((tmp_path / "r.sarif").read_text(encoding="utf-8"))["runs"][0]["results"]
    assert {r["baselineState"] for r in results if r["level"] == "error"} == {"new"}
    assert {r["baselineState"] for r in results if r["level"] == "note"} == {"unchanged"}


# --- crashes and concurrency (each run in its own process) -------------------------

def _start(history: Path, ledger: Path, *, marker: Path | None = None, hold: float = 0, stage: str = "before_commit",
           extra: tuple = (), release: Path | None = None) -> subprocess.Popen:
    """`finaudit check LEDGER --history HISTORY` in a child process; with `marker`, the child
    writes it at `stage` of recording and then waits `hold` seconds (still in the transaction),
    or less if the file `release` appears: a test holding the lock for another run's whole
    audit cannot guess how long that takes on a loaded machine."""
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        import finaudit.runs.history as history

        def pause(stage):
            if {str(marker) if marker else None!r} and stage == {stage!r}:
                Path({str(marker)!r}).write_text(stage)
                deadline = time.monotonic() + {hold}
                release = {str(release) if release else None!r}
                while time.monotonic() < deadline and not (release and Path(release).exists()):
                    time.sleep(0.05)

        history._pause_for_tests = pause
        from finaudit.cli import main
        main(sys.argv[1:])
    """)
    return subprocess.Popen([sys.executable, "-c", script, "check", str(ledger), "--history", str(history),
                             "--quiet", "--lang", "en", *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the child never reached the point of writing"
        time.sleep(0.05)


@pytest.mark.parametrize("stage", ["before_findings", "before_commit"])
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_a_run_killed_while_writing_leaves_the_earlier_runs_intact(cli, tmp_path, sig, stage):
    history = tmp_path / "audit.duckdb"
    cli("check", BROKEN, "--history", history, "--quiet")
    cli("check", CLEAN, "--history", history, "--quiet")
    before = json.loads(cli("history", history, "--format", "json").stdout)

    marker = tmp_path / "writing"
    proc = _start(history, BROKEN, marker=marker, hold=120, stage=stage)
    _wait_for(marker, proc)
    os.kill(proc.pid, sig)
    proc.wait(timeout=30)
    assert proc.returncode == -sig

    after = cli("history", history, "--format", "json")
    assert after.exit_code == 0, after.output
    assert json.loads(after.stdout) == before                     # runs 1 and 2 as they were, no run 3
    diff = cli("history", history, "--diff", "1", "2", "--lang", "en")
    assert "0 new, 1 resolved, 0 updated, 91 unchanged." in diff.stdout
    # and the file takes the next run, against run 2 (no stale lock, no half-written run 3)
    assert cli("check", BROKEN, "--history", history, "--json", tmp_path / "3.json", "--quiet").exit_code == 1
    doc = json.loads((tmp_path / "3.json").read_text(encoding="utf-8"))
    assert doc["baseline"]["run_seq"] == 3 and doc["baseline"]["counts"]["new"] == 1


def test_a_second_run_waits_for_the_first_and_both_are_recorded(tmp_path):
    history = tmp_path / "audit.duckdb"
    marker = tmp_path / "writing"
    first = _start(history, BROKEN, marker=marker, hold=3)
    _wait_for(marker, first)
    second = _start(history, CLEAN)                                 # finds the file locked, waits
    assert first.wait(timeout=120) == 1 and second.wait(timeout=120) == 0, second.communicate()
    proc = subprocess.run([sys.executable, "-m", "finaudit", "history", str(history), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    runs = json.loads(proc.stdout)
    assert [(r["seq"], r["violations"], r["absent"]) for r in runs] == [(1, 1, 0), (2, 0, 1)]


def test_a_run_that_cannot_wait_long_enough_fails_clearly_and_records_nothing(tmp_path):
    history = tmp_path / "audit.duckdb"
    marker, release = tmp_path / "writing", tmp_path / "release"
    first = _start(history, BROKEN, marker=marker, hold=120, release=release)
    _wait_for(marker, first)
    second = _start(history, CLEAN, extra=("--history-timeout", "0.5"))
    _, err = second.communicate(timeout=120)
    release.write_text("done")
    assert second.returncode == 2
    assert err.strip() == (f"History file '{history}' is in use by another finaudit run; gave up after waiting "
                           "0.5 s and this run was not recorded (--history-timeout waits longer).")
    assert first.wait(timeout=120) == 1
    proc = subprocess.run([sys.executable, "-m", "finaudit", "history", str(history), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert [r["seq"] for r in json.loads(proc.stdout)] == [1]


@pytest.mark.slow
def test_three_runs_started_together_are_all_recorded(tmp_path):
    history = tmp_path / "audit.duckdb"
    procs = [_start(history, ledger) for ledger in (BROKEN, CLEAN, BROKEN)]
    assert sorted(p.wait(timeout=300) for p in procs) == [0, 1, 1]
    proc = subprocess.run([sys.executable, "-m", "finaudit", "history", str(history), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert [r["seq"] for r in json.loads(proc.stdout)] == [1, 2, 3]


def _recorded_runs_are_whole(history: Path) -> list[int]:
    """Each recorded run has exactly the findings its counts say: none half written."""
    import duckdb

    con = duckdb.connect(str(history), read_only=True)
    try:
        # A run killed while creating the file leaves it without tables: nothing recorded
        # (finaudit takes such a file up again, test_an_empty_history_file_is_taken_up).
        if "runs" not in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}:
            return []
        rows = con.execute("""
            SELECT r.seq, r.violations + r.warnings + r.infos AS counted,
                   count(f.fingerprint) FILTER (WHERE f.baseline_state <> 'absent') AS stored,
                   r.absent, count(f.fingerprint) FILTER (WHERE f.baseline_state = 'absent') AS stored_absent
            FROM runs r LEFT JOIN findings f USING (run_id) GROUP BY ALL ORDER BY r.seq""").fetchall()
    finally:
        con.close()
    for seq, counted, stored, absent, stored_absent in rows:
        assert (counted, absent) == (stored, stored_absent), f"run {seq} is incomplete"
    return [r[0] for r in rows]


@pytest.mark.slow
def test_an_empty_history_file_is_taken_up(cli, tmp_path):
    # What a run killed while creating the history leaves: a DuckDB file with no table yet.
    import duckdb

    history = tmp_path / "audit.duckdb"
    duckdb.connect(str(history)).close()
    assert cli("check", CLEAN, "--history", history, "--quiet").exit_code == 0
    assert _recorded_runs_are_whole(history) == [1]


def test_runs_killed_at_random_moments_never_leave_half_a_run(tmp_path):
    import random

    history = tmp_path / "audit.duckdb"
    rng = random.Random(5)
    recorded = []
    for attempt in range(6):
        proc = _start(history, BROKEN if attempt % 2 else CLEAN)
        time.sleep(rng.uniform(0.5, 4.0))       # from start-up to after the commit: wherever it is
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        runs = _recorded_runs_are_whole(history) if history.exists() else []
        assert runs == list(range(1, len(runs) + 1)) and len(runs) >= len(recorded)
        recorded = runs
    proc = subprocess.run([sys.executable, "-m", "finaudit", "history", str(history), "--format", "json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 or not recorded, proc.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_wait_that_is_not_a_finite_number_of_seconds_is_refused_in_one_line(cli, tmp_path, value):
    history = tmp_path / "audit.duckdb"
    run = cli("check", CLEAN, "--history", history, "--history-timeout", value, "--quiet")
    assert run.exit_code == 2 and len(run.stderr.strip().splitlines()) == 1
    assert f"--history-timeout 的值“{value}”无效：应为不小于 0 的有限秒数" in run.stderr
    assert not history.exists()
    run = cli("history", history, "--timeout", value, "--lang", "en")
    assert run.exit_code == 2
    assert f"Invalid value '{value}' for --timeout: give a finite number of seconds" in run.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_history_timeout_in_the_configuration_must_be_finite_too(cli, tmp_path, monkeypatch, value):
    monkeypatch.chdir(tmp_path)
    Path("finaudit.toml").write_text(f'history = "audit.duckdb"\nhistory_timeout = {value}\n', encoding="utf-8")
    run = cli("check", CLEAN, "--quiet", "--lang", "en")
    assert run.exit_code == 2 and "history_timeout" in run.stderr and "finite number of seconds" in run.stderr
    assert not Path("audit.duckdb").exists()


def test_the_library_refuses_a_wait_of_nan_seconds(tmp_path):
    import math

    from finaudit.errors import UsageError
    from finaudit.runs.history import runs

    (tmp_path / "audit.duckdb").write_bytes(b"")
    with pytest.raises(UsageError, match="finite number of seconds"):
        runs(tmp_path / "audit.duckdb", timeout=math.nan)


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_history_file_is_one_sentence_naming_it(cli, tmp_path, damage):
    history = tmp_path / "audit.duckdb"
    assert cli("check", BROKEN, "--history", history, "--quiet").exit_code == 1
    data = bytearray(history.read_bytes())
    if damage == "truncated":             # cut in the middle of its blocks (a copy or a disk that ran out)
        data = data[:len(data) // 2]
    else:                                 # every block after the headers spoilt
        for start in range(300_000, len(data), 262_144):
            data[start:start + 4096] = b"\xff" * 4096
    history.write_bytes(bytes(data))
    for args in (["check", BROKEN, "--history", history, "--quiet"], ["history", history, "--diff", "1", "1"]):
        run = cli(*args, "--lang", "en")
        if args[0] == "history" and run.exit_code == 0:
            continue                      # what it reads may lie in blocks left whole
        assert run.exit_code == 2, run.output
        line = run.stderr.strip()
        assert len(line.splitlines()) == 1 and "Internal error" not in line
        assert f"History file '{history}' is damaged or incomplete" in line or "Cannot open history file" in line


def test_a_history_timeout_of_true_in_the_configuration_is_no_number_of_seconds(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("finaudit.toml").write_text('history = "audit.duckdb"\nhistory_timeout = true\n', encoding="utf-8")
    run = cli("check", CLEAN, "--quiet", "--lang", "en")
    assert run.exit_code == 2 and "history_timeout" in run.stderr and "seconds" in run.stderr
    assert not Path("audit.duckdb").exists()
