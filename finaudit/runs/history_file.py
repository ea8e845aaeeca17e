"""The history file itself: its schema, the lock that orders runs writing and reading it,
and the connection that names a damaged file instead of failing obscurely (history.py
records and reads the runs)."""
from __future__ import annotations

import contextlib
import errno
import math
import time
from pathlib import Path

from finaudit.errors import FinauditError, UsageError, os_reason


SCHEMA_VERSION = "1"


DEFAULT_TIMEOUT = 120.0


SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    seq INTEGER PRIMARY KEY, run_id VARCHAR UNIQUE NOT NULL, started_at VARCHAR, recorded_at VARCHAR,
    finaudit_version VARCHAR, rules_digest VARCHAR, schemas_digest VARCHAR, profiles VARCHAR[],
    options VARCHAR, parameters VARCHAR,
    ledgers INTEGER, unreadable INTEGER, violations INTEGER, warnings INTEGER, infos INTEGER,
    new INTEGER, unchanged INTEGER, updated INTEGER, absent INTEGER, baseline_runs VARCHAR[]);
CREATE TABLE IF NOT EXISTS inputs (
    run_id VARCHAR NOT NULL, path VARCHAR, sha256 VARCHAR, status VARCHAR, error_zh VARCHAR, error_en VARCHAR);
CREATE TABLE IF NOT EXISTS scope (run_id VARCHAR NOT NULL, region_code VARCHAR, year INTEGER);
CREATE TABLE IF NOT EXISTS findings (
    run_id VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL, baseline_state VARCHAR, baseline_run VARCHAR,
    file VARCHAR, rule_id VARCHAR, check_name VARCHAR, severity VARCHAR,
    region_code VARCHAR, region_name VARCHAR, year INTEGER, level VARCHAR, school_id VARCHAR,
    actual DOUBLE, required DOUBLE, unit VARCHAR, shortfall_yuan DOUBLE,
    message_zh VARCHAR, message_en VARCHAR, finding VARCHAR);
"""


class HistoryError(FinauditError):
    """The history file cannot be used (locked too long, not a history, unreadable)."""


def valid_timeout(value, name: str = "timeout") -> float:
    """A wait in seconds as a float: finite and not negative. nan would wait forever (no time
    is ever past it), inf too, and a negative number never waits: each is refused."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = math.nan
    if isinstance(value, bool) or not math.isfinite(seconds) or seconds < 0:
        raise UsageError(f"{name} 的值“{value}”无效：应为不小于 0 的有限秒数，如 120。",
                         f"Invalid value '{value}' for {name}: give a finite number of seconds, 0 or more, "
                         "such as 120.")
    return seconds


@contextlib.contextmanager
def damage_named(path: Path):
    """DuckDB's errors while a history file is read or written (a file truncated or damaged
    after it was opened) become one sentence naming the file; a run is not recorded then,
    as the transaction is rolled back."""
    import duckdb   # here: the CLI validates --history-timeout through this module at start-up

    try:
        yield
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise HistoryError(f"历史文件“{path}”已损坏或不完整，无法使用（{first}）。",
                           f"History file '{path}' is damaged or incomplete and cannot be used ({first}).") from None


@contextlib.contextmanager
def locked(path: Path, exclusive: bool, timeout: float):
    """Holds `<path>.lock` (exclusive for a writer, shared for a reader), waiting up to
    `timeout` seconds. The OS drops the lock of a killed process, so none is ever stale."""
    import fcntl

    lock_path = path.with_name(path.name + ".lock")
    try:
        handle = open(lock_path, "a+b")
    except OSError as exc:
        if not exclusive and exc.errno in (errno.EACCES, errno.EROFS):
            yield          # a read-only folder: nobody can be writing there through us
            return
        raise HistoryError(f"无法创建锁文件“{lock_path}”：{os_reason(exc, 'zh')}。",
                           f"Cannot create the lock file '{lock_path}': {os_reason(exc, 'en')}.") from None
    timeout = valid_timeout(timeout)
    deadline = time.monotonic() + timeout
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise HistoryError(
                        f"历史文件“{path}”正被另一个 finaudit 使用，已等待 {timeout:g} 秒，本次运行未记录"
                        "（可用 --history-timeout 延长等待）。",
                        f"History file '{path}' is in use by another finaudit run; gave up after waiting "
                        f"{timeout:g} s and this run was not recorded (--history-timeout waits longer).") from None
                time.sleep(0.05)
        yield
    finally:
        handle.close()       # releases the lock


def connect(path: Path, read_only: bool = False):
    import duckdb   # here: see damage_named

    try:
        return duckdb.connect(str(path), read_only=read_only,
                              config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    except Exception as exc:  # duckdb raises several types: not a database, a lock held by another program
        first = str(exc).strip().splitlines()[0]
        raise HistoryError(f"无法打开历史文件“{path}”：{_duckdb_reason_zh(first)}",
                           f"Cannot open history file '{path}': {first}") from None


# DuckDB's English reasons a history file may be refused for, as a Chinese reader reads them.
_DUCKDB_REASONS_ZH = (
    ("not a valid DuckDB database file", "这个文件不是 DuckDB 数据库（不是 finaudit 的历史文件）；请换一个文件名，或删除后重新记录"),
    ("Could not set lock on file", "另一个程序正在使用这个文件（文件被锁定）；请等它结束后再试"),
    ("newer version of DuckDB", "这个文件由更新版本的 DuckDB 写成，本程序读不了；请升级 finaudit"),
    ("older version of DuckDB", "这个文件由旧版本的 DuckDB 写成，本程序读不了"),
    ("Permission denied", "没有权限"),
)


def _duckdb_reason_zh(first: str) -> str:
    """DuckDB's reason in Chinese where it is one we know, else as DuckDB said it."""
    return next((zh for key, zh in _DUCKDB_REASONS_ZH if key in first), first)


def check_is_history(con, path: Path) -> None:
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if tables and not {"meta", "runs", "findings"} <= tables:
        raise HistoryError(f"“{path}”是 DuckDB 文件，但不是 finaudit 的历史文件。",
                           f"'{path}' is a DuckDB file but not a finaudit history.")
