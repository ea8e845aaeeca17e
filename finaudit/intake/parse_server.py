"""The process that forks a child for each parse of an untrusted file (isolation.py).

Started once per auditing process (isolation.py; the current folder off its path), it imports the
readers and then only waits: single-threaded, so a fork of it is safe (the auditing
process may hold DuckDB's threads, which a fork copies half-way), and each child starts
with the readers already imported. It never runs the parent's main module, as
multiprocessing's spawn and forkserver children do: a script calling finaudit.check
needs no `if __name__ == "__main__":` guard.

Protocol, over the server's stdin and stdout, each message a length-prefixed pickle:
  parent -> server: (work, args, memory_bytes, cpu_seconds, folder, the parent's FINAUDIT_* variables,
                     the parent's working directory)
  server -> parent: ("started", pid), then ("ended", wait status, peak RSS in KB, CPU seconds)
The child writes what work(*args) returned, or what stopped it, to folder/result.json (JSON,
not a pickle: the child parses untrusted files, and loading a pickle it wrote would run
whatever a subverted reader put there)
and its stderr to folder/stderr.log; the parent reads both once the child has ended.
"""
from __future__ import annotations

import os
import json
import pickle
import signal
import struct
import sys
import traceback

from finaudit.errors import LedgerError

_HEADER = struct.Struct("<Q")


def send(fp, message) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    data = memoryview(_HEADER.pack(len(body)) + body)
    while data:                             # a raw pipe may take part of it at a time
        data = data[fp.write(data):]
    fp.flush()


def receive(fp):
    """The next message, or None at the end of the stream. Reads exactly the message: the
    parent waits for the next one with select() on the raw pipe, so nothing may be buffered."""
    head = _read_exactly(fp, _HEADER.size)
    if head is None:
        return None
    data = _read_exactly(fp, _HEADER.unpack(head)[0])
    return None if data is None else pickle.loads(data)


def _read_exactly(fp, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = fp.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def serve(inbox, outbox) -> None:
    """Forks a child per request until the parent closes the pipe."""
    while True:
        request = receive(inbox)
        if request is None:
            return
        work, args, memory_bytes, cpu_seconds, folder, settings, cwd = request
        server = os.getpid()
        pid = os.fork()
        if pid == 0:                        # the child: never returns
            _run_child(server, work, args, memory_bytes, cpu_seconds, folder, settings, cwd)
        send(outbox, ("started", pid))
        _, status, usage = os.wait4(pid, 0)
        send(outbox, ("ended", status, usage.ru_maxrss, usage.ru_utime + usage.ru_stime))


def _die_with(server: int) -> None:
    """The child is killed when the server dies (Linux's PR_SET_PDEATHSIG): a server killed
    mid-parse (the OOM killer) leaves no orphan parsing, or waiting, on its own. A server
    gone before the setting took: the child ends at once. Elsewhere, the limits still end it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != server:
        os._exit(1)


def _run_child(server: int, work, args, memory_bytes: int, cpu_seconds: float, folder: str, settings: dict,
               cwd: str) -> None:
    code = 1
    try:
        _die_with(server)
        os.chdir(cwd)                       # relative ledger paths mean what they mean to the parent now
        # The settings the parent has now (FINAUDIT_MAX_UNZIPPED_MB ...), not those it had
        # when this server started.
        for name in [n for n in os.environ if n.startswith("FINAUDIT_")]:
            del os.environ[name]
        os.environ.update(settings)
        fd = os.open(os.path.join(folder, "stderr.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 2)                      # a Rust panic or abort prints here
        os.close(fd)
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)                    # the protocol's pipes are the server's alone: nothing a
        os.dup2(null, 1)                    # library prints may reach the parent, nor hold it waiting
        os.close(null)
        os.environ["RUST_BACKTRACE"] = "0"     # a panic's message, not pages of frames
        _limit(memory_bytes, cpu_seconds)
        try:
            message = ("done", work(*args))
        except LedgerError as exc:
            message = ("refused", exc.zh, exc.en)
        except MemoryError:
            message = ("memory",)
        except OSError as exc:              # the file went away, or cannot be opened, mid-run
            where = exc.filename or (args[0] if args else "")
            message = ("refused", f"无法读取“{where}”：{exc.strerror or exc}。", f"Cannot read '{where}': {exc.strerror or exc}.")
        except BaseException as exc:        # noqa: BLE001  a PanicException derives from BaseException
            text = " ".join(str(exc).split())[:300]
            message = ("failed", type(exc).__name__, text, traceback.format_exc(limit=20))
        path = os.path.join(folder, "result.json")
        with open(path + ".part", "w", encoding="utf-8") as fh:
            json.dump(message, fh)             # \u escapes keep a GBK file name's surrogates
        os.replace(path + ".part", path)
        code = 0
    except BaseException:                   # noqa: BLE001  even the report failed: say so by the code
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)                      # no atexit handlers, no buffers of the server's


def _limit(memory_bytes: int, cpu_seconds: float) -> None:
    import math
    import resource

    for which, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, max(1, math.ceil(cpu_seconds)))):
        _, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(which, (value, hard))
        except (ValueError, OSError):
            pass                            # not allowed here: the parent's deadline still holds


def main() -> None:
    inbox, outbox = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr                 # nothing printed may corrupt the protocol
    try:
        # The parent's module search path, so that work defined outside the package is found.
        path = receive(inbox)
        if path is None:
            return
        sys.path[:] = path
        # Not pandas: a plain xlsx sheet goes from fastexcel to an Arrow file without it, and
        # the server is ready sooner and holds less (0.20 s and 70 MiB against 0.45 s and 113);
        # a sheet that needs it imports it. Imported here, at the server's start-up, once the
        # parent's path is in place: once for every child, which inherits them.
        from finaudit.intake import readers  # noqa: F401
        import fastexcel  # noqa: F401
        import openpyxl  # noqa: F401
        import pyarrow.ipc  # noqa: F401
        import ctypes  # noqa: F401  (_die_with)
        send(outbox, ("ready", os.getpid()))
        serve(inbox, outbox)
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        pass        # the parent has gone (even before the server was ready): so does the server, quietly


if __name__ == "__main__":
    main()
