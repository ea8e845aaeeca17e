"""The sheets a parse child hands its parent (isolation.py): each as an Arrow IPC file,
which the parent memory-maps rather than reads through a pipe, and the rest of its RawSheet
as JSON (never a pickle: the child parses untrusted files)."""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import re
import shutil
import tempfile

from finaudit.intake.schema import load_schemas
from finaudit.intake.sheets import RawSheet

# pyarrow is imported where used, for start-up: the CLI imports this module (through
# isolation.py) before it starts the parse server.


def memory_folder() -> str | None:
    """Where the child's Arrow files go: /dev/shm, a file system in memory, unless TMPDIR says
    otherwise (None: the usual temporary folder). On a disk's file system, writing a 1M-row
    sheet's 157 MB cost 0.5 s more than in memory (its blocks allocated, then written back,
    for a file read once and removed); a child that finds it full writes on disk instead."""
    shm = "/dev/shm"
    if os.environ.get("TMPDIR") or not os.path.isdir(shm) or not os.access(shm, os.W_OK | os.X_OK):
        return None
    return shm


def folders(stack: contextlib.ExitStack) -> list[str]:
    """Where a child writes the sheets (`saved`): a folder in memory_folder(), then one in the
    usual temporary folder; both removed when `stack` closes. Each is named after this process,
    so that what a run killed outright left in memory is removed by the next (sweep)."""
    global _SWEPT
    where = memory_folder()
    if where is not None and not _SWEPT:
        _SWEPT = True
        sweep(where)
    return [stack.enter_context(tempfile.TemporaryDirectory(prefix=f"{_PREFIX}{os.getpid()}-", dir=folder,
                                                            ignore_cleanup_errors=True))
            for folder in dict.fromkeys([where, None])]


def sweep(folder: str) -> None:
    """Removes the sheet folders in `folder` of runs that have ended without removing them (a
    SIGKILL, the OOM killer): in /dev/shm they hold memory until the machine restarts. Only this
    user's, and only those whose process is gone."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        match = _OWNED.fullmatch(entry.name)
        with contextlib.suppress(OSError):
            if match and entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid() \
                    and not _alive(int(match.group(1))):
                shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:             # another user's process: alive
        pass
    return True


_PREFIX = "finaudit-parse-"
_OWNED = re.compile(re.escape(_PREFIX) + r"(\d+)-[^/]+")
_SWEPT = False


def saved(raw, folders: list[str], index: int) -> tuple[dict, str]:
    """The sheet's cells as an Arrow IPC file in the first of `folders` with room for it, and
    the rest of the RawSheet as a dict: (that dict, the file)."""
    import pyarrow as pa

    table = raw.table if raw.frame is None else pa.Table.from_pandas(raw.frame, preserve_index=False)
    for n, folder in enumerate(folders):
        file = os.path.join(folder, f"sheet{index}.arrow")
        if n < len(folders) - 1 and not _room(folder, 2 * table.nbytes):
            continue                    # /dev/shm is others' memory too: not filled to the last byte
        try:
            with pa.OSFile(file, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
            break
        except OSError as exc:          # a full /dev/shm: the next folder; the last one's error is raised
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT) or n == len(folders) - 1:
                raise
            with contextlib.suppress(FileNotFoundError):   # not even created: no inode left
                os.unlink(file)
    meta = {f.name: getattr(raw, f.name) for f in dataclasses.fields(raw) if f.name not in ("frame", "schema", "table")}
    meta["schema"] = raw.schema.name
    return meta, file


def _room(folder: str, size: int) -> bool:
    """Whether `folder`'s file system has `size` bytes free (True when it cannot tell)."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return True
    return st.f_bavail * st.f_frsize >= size


def rebuild(meta: dict, file: str, arrow: bool = False) -> RawSheet:
    """The RawSheet `saved` wrote; `arrow`: its cells stay the mapped table (frame None)."""
    import pyarrow as pa

    with pa.memory_map(file) as source:
        table = pa.ipc.open_file(source).read_all()
    # JSON has no tuples and no integer keys: give the RawSheet back its own shapes.
    meta["ragged_rows"] = {int(row): tuple(counts) for row, counts in meta["ragged_rows"].items()}
    meta["filled"] = {col: [tuple(span) for span in spans] for col, spans in meta["filled"].items()}
    schema = load_schemas()[meta.pop("schema")]
    if arrow:
        return RawSheet(schema=schema, frame=None, table=table, **meta)
    return RawSheet(schema=schema, frame=table.to_pandas(), **meta)
