"""Parsing untrusted ledger files in a child process, where a crash costs nothing.

The fast spreadsheet readers are Rust: on a hostile file they abort the whole process
(an allocation failure), or raise a PanicException that derives from BaseException and
passes every `except Exception`. The guard (guard/) refuses what it can recognise (in the
child, an xlsx's worksheet scan runs beside the readers and its refusal wins: see
read_isolated); whatever it misses must still cost only that file. read_isolated runs
readers.read_ledger in a child process under an address-space and a CPU-time limit,
with a wall-clock deadline: an abort, a panic, a limit or a timeout becomes a
LedgerError naming the file and what happened, and the run goes on.

The child is forked by a server process that has already imported the readers
(parse_server.py: a few milliseconds a file, not the second an interpreter takes to
start), and hands the sheets back as Arrow IPC files in a temporary folder, in memory
where it can (sheet_files.py), which the parent maps rather than reads through a pipe: the
cells are copied once, into the parent's frames.
"""
from __future__ import annotations

import contextlib
import os
import json
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from finaudit.errors import FinauditError
from finaudit.intake import parse_server, sheet_files
from finaudit.intake.parse_ends import Failed, Stopped, died, received, timeout
from finaudit.intake.parse_limits import ENV_IN_PROCESS, ENV_MEMORY_MB, ENV_SECONDS, MIB, ParseLimits

__all__ = ["ENV_IN_PROCESS", "ENV_MEMORY_MB", "ENV_SECONDS", "MIB", "ParseLimits", "children_cpu_seconds",
           "forget_prefetch", "prefetch", "read_isolated", "run_isolated", "warm_up"]

# The readers (pandas, pyarrow) are imported where used, for start-up: warm_up() starts the
# parse server before the caller has imported them, so that the two imports run side by side.


# --- the parent's side --------------------------------------------------------------

def read_isolated(path, limits: ParseLimits | None = None, arrow: bool = False) -> list:
    """readers.read_ledger(path), run in a child process; whatever the file does to the
    parser there (abort, panic, memory, time) is a LedgerError here. `arrow`: each sheet's
    cells stay the memory-mapped Arrow table the child wrote (RawSheet.table, frame None),
    for a caller that hands them to DuckDB without a pandas copy."""
    path = Path(path)
    if not in_child():      # read here, the guard's scan before any reader (no fallback below)
        from finaudit.intake.readers import read_ledger   # for start-up: see the imports above
        return read_ledger(path)
    ahead = _taken(path, limits)
    with (ahead.stack if ahead else contextlib.ExitStack()) as stack:
        try:
            saved = ahead.result() if ahead else _parsed(path, limits or ParseLimits.for_path(path), sheet_files.folders(stack))
        except BaseException:
            if ahead is not None:           # interrupted while waiting: stop that parse too
                ahead.forget()
            raise
        # A mapped file stays readable once its folder is removed (Linux keeps an unlinked
        # file's pages while a mapping holds them).
        return [sheet_files.rebuild(meta, file, arrow) for meta, file in saved]


def _parsed(path: Path, limits: ParseLimits, folders: list[str]) -> list[tuple[dict, str]]:
    """The child's (meta, file) of each sheet of `path`, written in `folders`."""
    try:
        return run_isolated(_read_saved, (str(path), folders), path.name, limits)
    except Stopped as stopped:
        # An xlsx's worksheet scan ran beside the readers there: a reader may have ended so on
        # a file the scan would have refused, before it did. The guard alone says whether it
        # does, and why; else (or if it fails too) the reader's end is the reason.
        with contextlib.suppress(Stopped, Failed):
            run_isolated(_guard_alone, (str(path),), path.name, limits)
        raise stopped from None


def prefetch(path) -> None:
    """Starts read_isolated(path)'s parse now, in a thread, for a command that reads that one
    file next but has its own imports to do first (cli/check.py): the child starts 0.3 s sooner.
    read_isolated(path) takes its result if the file and limits are what they were when it
    started (else parses again); forget_prefetch() stops one nobody took and removes its files
    (killing the parse server, which a read in another thread would share: for a command's main
    thread). Never raises: what keeps it from starting is met, and said, by the read itself."""
    global _AHEAD
    with _AHEAD_LOCK:
        if not in_child() or _AHEAD is not None:
            return
        stack = contextlib.ExitStack()
        try:
            path = Path(path)
            if path.is_file():
                _AHEAD = _Ahead(path, stack)
        except (FinauditError, OSError, RuntimeError):
            stack.close()


def forget_prefetch() -> None:
    """Stops a prefetched parse nobody took, and removes its files (a command's last step)."""
    global _AHEAD
    with _AHEAD_LOCK:
        ahead, _AHEAD = _AHEAD, None
    if ahead is not None:
        ahead.forget()


class _Ahead:
    """A parse started before it was asked for (prefetch)."""

    def __init__(self, path: Path, stack: contextlib.ExitStack):
        self.path, self.state, self.limits = path, _file_state(path), ParseLimits.for_path(path)
        self.stack, self.folders = stack, sheet_files.folders(stack)
        self.saved = self.error = None
        self.done = threading.Event()          # set when the parse has ended, however
        self.thread = threading.Thread(target=self._run, name="finaudit-prefetch", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.saved = _parsed(self.path, self.limits, self.folders)
        except BaseException as exc:            # noqa: BLE001  raised where the result is asked for
            self.error = exc
        finally:
            self.done.set()

    def result(self) -> list[tuple[dict, str]]:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.saved

    def forget(self) -> None:
        """Stops the parse if it runs (its server is killed, once started, which kills the
        child; the next read starts another) and removes its files. By its own event, not the
        thread's state: a join interrupted by Ctrl-C leaves is_alive() False on Python 3.11."""
        while not self.done.is_set():
            server = _SERVER
            if server is not None:
                server.process.kill()
            self.done.wait(0.05)
        self.stack.close()


def _taken(path: Path, limits: ParseLimits | None) -> _Ahead | None:
    """The prefetched parse, if it is of `path` with `limits` (None: the default) and the file
    has not changed since it started; any other is forgotten."""
    global _AHEAD
    with _AHEAD_LOCK:
        ahead, _AHEAD = _AHEAD, None
    if ahead is None:
        return None
    if (os.path.abspath(ahead.path) == os.path.abspath(path) and limits in (None, ahead.limits)
            and _file_state(path) == ahead.state):
        return ahead
    ahead.forget()
    return None


def _file_state(path: Path) -> tuple | None:
    with contextlib.suppress(OSError):
        return (st := os.stat(path)).st_dev, st.st_ino, st.st_size, st.st_mtime_ns
    return None


_AHEAD: _Ahead | None = None
_AHEAD_LOCK = threading.Lock()
_LEFT_TO_EXIT: list = []     # in the parse child, which ends by os._exit: see workbooks._read_sheets


def run_isolated(work, args: tuple, name: str, limits: ParseLimits):
    """work(*args) in a child process under `limits`, and what it returned (as JSON: text,
    numbers, lists and dicts; never a pickle of the child's). Its LedgerError is raised here as it was; its death, a limit, a timeout or any other
    exception is a LedgerError about the file `name`. `work` must be a module-level function."""
    if not hasattr(os, "fork"):             # no fork server there: read in this process
        return work(*args)
    # A child orphaned by an interrupted exchange (the server is killed, the child is not) may
    # still be writing here while the folder is removed: that must not replace the interruption.
    with tempfile.TemporaryDirectory(prefix="finaudit-child-", ignore_cleanup_errors=True) as folder, _LOCK:
        try:
            status, timed_out = _server().run(work, args, limits, folder)
        except _ServerFailed:
            raise Failed(
                f"读取“{name}”的解析进程未能启动或意外结束，未能审计（可设置环境变量 {ENV_IN_PROCESS}=1 在本进程内读取）。",
                f"The parse process for '{name}' did not start or ended unexpectedly; not audited (set "
                f"{ENV_IN_PROCESS}=1 to read in this process).") from None
        result = Path(folder) / "result.json"
        if timed_out:
            raise timeout(name)
        if status != 0 or not result.exists():
            raise died(name, status, Path(folder) / "stderr.log")
        with open(result, encoding="utf-8") as fh:
            message = json.load(fh)
    return received(name, message)


class _ServerFailed(Exception):
    """The parse server did not start, or broke the protocol; it has been stopped."""


# The server imports finaudit from the parent's path, never from the current folder: `-m`
# would put that folder first, and a user's own finaudit.py there would run instead.
_START = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
          "from finaudit.intake.parse_server import main; main()")
_START_SECONDS = 120                        # its imports take about a second; a loaded machine, more
_REAP_SECONDS = 30                          # from a SIGKILL to the server's word that the child ended


class _Server:
    """The parse server (parse_server.py) of this process, started on first use. Any
    failure or interruption in a request stops it, and the next request starts another:
    a half-finished exchange would pair the next request with this one's answers."""

    def __init__(self):
        # Two malloc arenas: each thread's own arena reserves 64 MiB of the child's address space.
        self.process = subprocess.Popen([sys.executable, "-c", _START], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        bufsize=0, close_fds=True, env={"MALLOC_ARENA_MAX": "2", **os.environ})
        try:
            parse_server.send(self.process.stdin, list(sys.path))
            if self._expect("ready", _START_SECONDS) is None:
                raise _ServerFailed("ready")
        except BaseException:
            self.stop()
            raise

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()

    def _expect(self, tag: str, seconds: float | None):
        """The server's next message, which must be `tag`; None when `seconds` pass first."""
        if seconds is not None:
            ready, _, _ = select.select([self.process.stdout], [], [], seconds)
            if not ready:
                return None
        message = parse_server.receive(self.process.stdout)
        if not message or message[0] != tag:
            raise _ServerFailed(tag)
        return message

    def run(self, work, args, limits: ParseLimits, folder: str) -> tuple[int, bool]:
        """(the child's wait status, whether it overran its wall-clock deadline)."""
        settings = {k: v for k, v in os.environ.items() if k.startswith("FINAUDIT_")}
        try:
            parse_server.send(self.process.stdin, (work, args, limits.memory_bytes, limits.cpu_seconds, folder,
                                                   settings, os.getcwd()))
            started = self._expect("started", _START_SECONDS)
            if started is None:
                raise _ServerFailed("started")
            pid = started[1]
            ended = self._expect("ended", limits.wall_seconds)
            timed_out = ended is None
            if timed_out:
                # The server has not reaped the child (it would have said so), so the pid is still its.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                ended = self._expect("ended", _REAP_SECONDS)
                if ended is None:
                    raise _ServerFailed("ended")
        except BaseException as exc:        # KeyboardInterrupt too: the exchange is half done
            self.stop()
            if isinstance(exc, (OSError, EOFError, TypeError)):
                raise _ServerFailed(str(exc)) from None
            raise
        global _CHILDREN_CPU
        _CHILDREN_CPU += ended[3]
        return ended[1], timed_out


_LOCK = threading.Lock()
_SERVER: _Server | None = None
_CHILDREN_CPU = 0.0


def children_cpu_seconds() -> float:
    """CPU time the parse children of this process have used so far (a benchmark adds it to
    the process's own: time.process_time() does not see a grandchild's)."""
    return _CHILDREN_CPU


def _server() -> _Server:
    global _SERVER
    if _SERVER is None or not _SERVER.alive():
        _SERVER = None
        try:
            _SERVER = _Server()
        except (OSError, EOFError, TypeError) as exc:
            raise _ServerFailed(str(exc)) from None
    return _SERVER


def stop_server() -> None:
    """Stops this process's parse server, if it runs; the next read starts another."""
    global _SERVER
    with _LOCK:
        if _SERVER is not None:
            _SERVER.stop()
            _SERVER = None


def in_child() -> bool:
    """Whether read_isolated parses in a child process (else in this one)."""
    return hasattr(os, "fork") and os.environ.get(ENV_IN_PROCESS) != "1"


def warm_up() -> None:
    """Starts the parse server now, beside whatever the caller does next (its imports take
    about as long as the caller's own), rather than when the first file is read."""
    if in_child():
        threading.Thread(target=_start, daemon=True).start()


def _start() -> None:
    with _LOCK, contextlib.suppress(Exception):
        _server()                           # a failure to start is met again, and said, at the first read


# --- the child's side ---------------------------------------------------------------

def _read_saved(path: str, folders: list[str]) -> list[tuple[dict, str]]:
    """The child's work: the ledger's sheets, each frame saved in the first of `folders` with
    room for it."""
    from finaudit.intake.readers import read_ledger   # for start-up: see the imports above

    sheets = read_ledger(Path(path), scan_beside=True, arrow=True, unfreed=_LEFT_TO_EXIT)
    return [sheet_files.saved(raw, folders, i) for i, raw in enumerate(sheets)]


def _guard_alone(path: str) -> None:
    """The guard's checks of an xlsx workbook, without a reader: its LedgerError, if any."""
    from finaudit.intake.guard import check_workbook   # for start-up: see the imports above
    from finaudit.intake.sheets import EXCEL_SUFFIXES  # for start-up: see the imports above

    if Path(path).suffix.lower() in EXCEL_SUFFIXES:
        check_workbook(path)
