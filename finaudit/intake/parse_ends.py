"""What the end of a parse child tells the parent (isolation.py): its answer, or why it gave
none (a signal, a limit, a timeout, the last line a Rust panic or abort printed), as the
LedgerError the run reports for that file."""
from __future__ import annotations

import os
import signal
from pathlib import Path

from finaudit.errors import LedgerError
from finaudit.intake.parse_limits import ENV_MEMORY_MB, ENV_SECONDS


class Stopped(LedgerError):
    """The parse child died, or was stopped at a limit, before it gave its result."""


class Failed(LedgerError):
    """The parse child failed otherwise than by a refusal, or could not be started."""


def received(name: str, message):
    """What the child answered: what its work returned, else its refusal or failure, raised."""
    kind = message[0]
    if kind == "done":
        return message[1]
    if kind == "refused":
        raise LedgerError(message[1], message[2])
    if kind == "timeout":
        raise timeout(name)
    if kind == "memory":
        raise memory(name)
    # "failed": an exception that is neither a refusal nor a limit.
    _, exc_name, text, trace = message
    if os.environ.get("FINAUDIT_DEBUG"):
        raise RuntimeError(f"{exc_name}: {text}\n--- in the parse child process ---\n{trace}")
    raise Failed(
        f"解析“{name}”时读取程序出错（{exc_name}：{text}），文件可能已损坏或被篡改，未能审计。",
        f"The reader failed on '{name}' ({exc_name}: {text}); the file may be damaged or crafted; not audited.")


def died(name: str, status: int, log: Path) -> LedgerError:
    """What a child that ended without a result tells: its signal, and the last line it printed."""
    said = _last_line(log)
    signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    if signum == signal.SIGXCPU:
        return timeout(name)
    if "memory allocation" in said or "out of memory" in said.lower() or "MemoryError" in said:
        return memory(name)
    how = signal.Signals(signum).name if signum in set(signal.Signals) else (
        f"signal {signum}" if signum else f"exit {os.WEXITSTATUS(status) if os.WIFEXITED(status) else status}")
    detail_zh = f"（{how}{'：' + said if said else ''}）"
    detail_en = f" ({how}{': ' + said if said else ''})"
    return Stopped(
        f"解析“{name}”时读取程序崩溃{detail_zh}，文件可能已损坏或被篡改，未能审计。",
        f"The reader crashed on '{name}'{detail_en}; the file may be damaged or crafted to crash a "
        "reader; not audited.")


def timeout(name: str) -> LedgerError:
    """The refusal of a file whose parse overran its time (CPU or wall clock)."""
    return Stopped(
        f"解析“{name}”超时，已停止读取，未能审计（上限可用环境变量 {ENV_SECONDS} 调整）。",
        f"Parsing '{name}' ran out of time and was stopped; not audited (the limit is set by {ENV_SECONDS}).")


def memory(name: str) -> LedgerError:
    """The refusal of a file whose parse overran its memory limit."""
    return Stopped(
        f"解析“{name}”超出内存上限，已停止读取，未能审计（上限可用环境变量 {ENV_MEMORY_MB} 调整）。",
        f"Parsing '{name}' went over its memory limit and was stopped; not audited "
        f"(the limit is set by {ENV_MEMORY_MB}).")


def _last_line(log: Path) -> str:
    """What the child said last that tells why it ended: an allocation failure, a Rust
    panic's message, else its last line that is not part of a backtrace."""
    try:
        with open(log, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(fh.tell() - 65536, 0))
            lines = [line.strip() for line in fh.read().decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    told = [line for line in lines if line.startswith("memory allocation of")]
    if not told:
        panics = [i for i, line in enumerate(lines) if "panicked at" in line]
        if panics:
            told = [" ".join(lines[panics[-1]:panics[-1] + 2])]
    if not told:
        told = [line for line in lines if line and not line.startswith(("stack backtrace", "note:", "at "))
                and not line[:1].isdigit()][-1:]
    text = told[-1] if told else ""
    return "".join(ch if ch.isprintable() else " " for ch in text)[:300]
