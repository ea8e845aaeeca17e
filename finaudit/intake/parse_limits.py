"""What the parse of one untrusted file may take before it is stopped (isolation.py): address
space and CPU seconds that grow with the file's size, within the machine's memory, unless
FINAUDIT_PARSE_MEMORY_MB and FINAUDIT_PARSE_SECONDS set them."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from finaudit.errors import UsageError

MIB = 1024 * 1024
ENV_MEMORY_MB = "FINAUDIT_PARSE_MEMORY_MB"
ENV_SECONDS = "FINAUDIT_PARSE_SECONDS"
ENV_IN_PROCESS = "FINAUDIT_PARSE_IN_PROCESS"   # "1": no child (a debugger can then step into the readers)
# Address space the child holds before it reads a byte: the interpreter, pandas, pyarrow,
# the readers, and the arenas and thread stacks their threads reserve but do not use
# (measured: 0.37 GB after the imports, 1.5 GB after reading a 20 KB workbook at 93 MB RSS).
_RESERVED = 2048 * MIB
_PER_FILE_BYTE = 64         # a 1M-row xlsx of 35 MB peaks near 1 GB resident while it is read
_SECONDS_BASE, _SECONDS_PER_MIB = 30.0, 2.0     # clean.xlsx parses in 0.15 s; a 56 MB, 1M-row xlsx in about 10 s


def _env_number(name: str, unit_zh: str, unit_en: str) -> float | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise UsageError(f"环境变量 {name} 的值“{raw}”无效，应为有限的正数（单位{unit_zh}）。",
                         f"{name}='{raw}' is not valid: give a finite positive number of {unit_en}.")
    return value


@dataclass(frozen=True)
class ParseLimits:
    """What the parse of one file may take before it is stopped: bytes of address space,
    seconds of CPU, and seconds of wall-clock time."""

    memory_bytes: int
    cpu_seconds: float
    wall_seconds: float

    @classmethod
    def for_path(cls, path: Path) -> "ParseLimits":
        """Limits that grow with the file's size (a folder: its files'), within the machine's
        memory; FINAUDIT_PARSE_MEMORY_MB and FINAUDIT_PARSE_SECONDS set them outright."""
        size = _size_on_disk(path)
        memory_mb = _env_number(ENV_MEMORY_MB, "MB", "megabytes")
        if memory_mb is not None:
            memory = int(memory_mb * MIB)
        else:
            memory = min(_RESERVED + _PER_FILE_BYTE * size, max(_physical_memory() * 3 // 4, _RESERVED))
        seconds = _env_number(ENV_SECONDS, "秒", "seconds")
        if seconds is None:
            seconds = _SECONDS_BASE + _SECONDS_PER_MIB * size / MIB
        # The CPU limit is the one that ends a busy loop; the wall-clock deadline, twice as
        # long, ends a child that waits (a FIFO, a stalled network drive) or shares a busy machine.
        return cls(memory, seconds, 2 * seconds + 5)


def _size_on_disk(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * 1024 * MIB
