"""Never write over what a run reads: before an audit starts, every output it will write
(--json, --html, --sarif, --csv, --annotate, the history file; from flags or the
configuration file) is compared with every ledger it reads, every file of a ledger
folder, the history file, the configuration file and the other outputs. A clash stops
the run with one sentence and nothing written.

Two paths are the same file when os.path.samefile says so (a hard link, a symlink, another
spelling of the path, a case-insensitive disk); where one does not exist yet, when their
resolved paths are equal.
"""
from __future__ import annotations

import os
from pathlib import Path

from finaudit.errors import UsageError
from finaudit.intake.locations import is_url

# The files DuckDB and finaudit keep beside a history file: writing over them breaks it too.
HISTORY_COMPANIONS = (".lock", ".wal")


def _resolved(path) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(os.fspath(path))))


def same_file(a, b) -> bool:
    """True when writing `a` would write over `b`."""
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    except OSError:
        pass
    return _resolved(a) == _resolved(b)


def _inside(path, folder) -> bool:
    """True when `path` is in `folder` (at any depth), or is the folder itself."""
    try:
        folder_key = _resolved(folder)
        return os.path.commonpath([_resolved(path), folder_key]) == folder_key or same_file(path, folder)
    except ValueError:          # different drives
        return False


def _ledger_paths(ledgers) -> list[Path]:
    """Ledger paths from batch.Input items or plain paths. An Input that names no ledger (a
    folder without any, a symbolic link skipped as a loop) is read by nobody: not an input."""
    # a URL (read by Spark where it lives) is no file of this machine an output could overwrite
    return [Path(getattr(item, "path", item)) for item in ledgers if getattr(item, "error", None) is None
            and not is_url(str(getattr(item, "path", item)))]


def _clash(label: str, out: str, zh: str, en: str) -> UsageError:
    return UsageError(f"{label} 指定的文件“{out}”{zh}（未写入任何文件）。",
                      f"The {label} file '{out}' {en} (nothing was written).")


def check_outputs(outputs: dict, ledgers, *, history=None, history_label: str = "--history",
                  config=None) -> None:
    """Raises UsageError when an output would write over an input, the history, the
    configuration file or another output.

    `outputs` maps a label the user recognises ("--json", "[outputs] html") to a path, or
    None for an output not asked for. `history` is the history file: written, so it must
    not be a ledger, and read, so no output may be it or its lock and log files.
    `ledgers` are batch.expand() items or paths; `config` the configuration file read."""
    asked = [(label, str(path)) for label, path in outputs.items() if path]
    if history:
        asked.insert(0, (history_label, str(history)))
    folders = [p for p in _ledger_paths(ledgers) if p.is_dir()]
    files = [p for p in _ledger_paths(ledgers) if not p.is_dir()]
    for n, (label, out) in enumerate(asked):
        for ledger in files:
            if same_file(out, ledger):
                raise _clash(label, out, f"就是要审计的台账“{ledger}”，写入会覆盖它；请另给一个文件名",
                             f"is the ledger '{ledger}' being audited and would overwrite it; give another file name")
        for folder in folders:
            if _inside(out, folder):
                raise _clash(label, out, f"位于台账文件夹“{folder}”之中，写入会覆盖或改变这个台账；请写到该文件夹之外",
                             f"is inside the ledger folder '{folder}' and would overwrite or change that ledger; "
                             "write it outside the folder")
        if history and label != history_label:
            if same_file(out, history):
                raise _clash(label, out, f"就是历史文件“{history}”，写入会毁掉历史记录；请另给一个文件名",
                             f"is the history file '{history}' and would destroy it; give another file name")
            for suffix in HISTORY_COMPANIONS:
                companion = f"{history}{suffix}"
                if same_file(out, companion):
                    raise _clash(label, out, f"是历史文件“{history}”的附属文件，写入会损坏历史记录；请另给一个文件名",
                                 f"belongs to the history file '{history}' and would damage it; give another file name")
        if config is not None and same_file(out, config):
            raise _clash(label, out, f"就是配置文件“{config}”，写入会覆盖它；请另给一个文件名",
                         f"is the configuration file '{config}' and would overwrite it; give another file name")
        for other_label, other in asked[:n]:
            if same_file(out, other):
                raise UsageError(f"{other_label} 与 {label} 指定的是同一个文件“{out}”，一个会覆盖另一个；"
                                 "请给它们不同的文件名（未写入任何文件）。",
                                 f"The {other_label} and {label} files are the same file '{out}' and one would "
                                 "overwrite the other; give each its own file name (nothing was written).")
