"""What the benchmarks share: measuring in a fresh child process, identifying the code
measured, and ending a run (report, optional JSON, a non-zero exit on wrong results)."""
from __future__ import annotations

import hashlib
import os
import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def tree_rss_kib(root: int) -> int:
    """VmRSS of a process and all its descendants, in KiB (0 when it has gone)."""
    return sum(rss for rss, _ in tree_processes(root).values())


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def tree_processes(root: int) -> dict[int, tuple[int, float]]:
    """{pid: (VmRSS KiB, CPU seconds so far)} of a process and each of its descendants."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                ppid = int(fields[1])
                cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK    # utime + stime
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    each, todo = {}, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmRSS:"):
                        each[pid] = (int(line.split()[1]), cpu.get(pid, 0.0))
                        break
        except OSError:
            pass
    return each


def pss_kib(pid: int) -> int:
    """Proportional set size of a process in KiB (pages shared with others, as a forked
    child shares its parent's, counted in part): 0 when it has gone or cannot be read."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_child(script: str, kind: str, path, *extra: str, timeout: float | None = None) -> dict:
    """Runs `script --child KIND --path PATH`, which prints its measurement as JSON on its last line."""
    cmd = [sys.executable, str(Path(script).resolve()), "--child", kind, "--path", str(path), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise SystemExit(f"measurement {kind} failed (exit {proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def commit() -> str | None:
    """`git describe` of the tree measured (with -dirty when it has uncommitted changes)."""
    try:
        proc = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                              text=True, timeout=10)
        return proc.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def source_digest() -> str:
    """sha256 (12 hex) of finaudit/, rules/ and schemas/ as measured: the tree is often dirty."""
    digest = hashlib.sha256()
    for sub in ("finaudit", "rules", "schemas"):
        for path in sorted((ROOT / sub).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def finish(result: dict, text: str, problems: list[str], json_path: Path | None) -> int:
    """Prints the report, writes the figures as JSON if asked; exit 1 when the results were wrong
    (timings of a run that lost rows or findings mean nothing), 0 otherwise."""
    print(text)
    if json_path:
        json_path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    if problems:
        print("FAILED: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


def versions(*dists: str) -> dict[str, str | None]:
    """The installed version of each distribution, None where it is not installed."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in dists:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = None
    return out
