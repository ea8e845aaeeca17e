"""The sheets a parse child hands its parent (isolation.py): each as an Arrow IPC file,
which the parent memory-maps rather than reads through a pipe, and the rest of its RawSheet
as JSON (never a pickle: the child parses untrusted files)."""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import os

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
