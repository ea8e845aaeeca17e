"""Which ledgers a run audits: files, folders and globs become a list of ledgers, each once,
in the order given. An input that names no ledger stays in the list with its reason, so
that the run reports it."""
from __future__ import annotations

import glob
from pathlib import Path

from finaudit.intake.sheets import EXCEL_SUFFIXES, OTHER_WORKBOOK_SUFFIXES, TABLE_SUFFIXES
from finaudit.intake.schema import fold, load_schemas
from finaudit.runs.result import Input

WORKBOOK_SUFFIXES = EXCEL_SUFFIXES | OTHER_WORKBOOK_SUFFIXES
_GLOB_CHARS = set("*?[")

def is_ledger_folder(folder: Path) -> bool:
    """A folder of CSV/Parquet files named after sheets (教育经费.csv, budget.parquet) is one
    ledger; any other folder is a collection of ledgers."""
    names = {fold(n) for s in load_schemas().values() for n in s.all_names}
    return any(p.is_file() and p.suffix.lower() in TABLE_SUFFIXES and fold(p.stem) in names
               for p in folder.iterdir())


def _skipped(path: Path) -> bool:
    # hidden files and the lock files Excel and WPS leave beside an open workbook (~$县.xlsx)
    return path.name.startswith((".", "~$"))


def _collect(folder: Path, seen: set | None = None, loops: list | None = None) -> list[Path]:
    """The ledgers in a folder and its subfolders, in name order. A folder reached a second
    time (a symbolic link to `.` or to a parent) is not walked again: its link is added to
    `loops`, for the run to report."""
    seen = set() if seen is None else seen
    try:
        st = folder.stat()
    except OSError:
        return []
    if (st.st_dev, st.st_ino) in seen:
        if loops is not None:
            loops.append(folder)
        return []
    seen.add((st.st_dev, st.st_ino))
    if is_ledger_folder(folder):
        return [folder]
    out = []
    for path in sorted(folder.iterdir()):
        if _skipped(path):
            continue
        if path.is_dir():
            out.extend(_collect(path, seen, loops))
        elif path.suffix.lower() in WORKBOOK_SUFFIXES:
            out.append(path)
    return out


def _loop_input(link: Path) -> "Input":
    return Input(link, error={
        "zh": f"文件夹“{link}”（符号链接）指向已遍历过的文件夹，为避免循环未再遍历；其中的台账已在别处审计。",
        "en": f"Folder '{link}' (a symbolic link) leads to a folder already walked; it was not walked again, "
              "to avoid a loop; its ledgers were audited where first found."})


def expand(inputs) -> list[Input]:
    """Files, folders and globs -> the ledgers they name, each once, in the order given
    (a folder's and a glob's in name order). An input naming no ledger is kept as an
    Input with its error, so that the run reports it."""
    out: list[Input] = []
    seen = set()

    def add(path: Path):
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(Input(path))

    for item in inputs:
        text = str(item)
        path = Path(text)
        if not path.exists() and _GLOB_CHARS & set(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            ledgers = [p for p in matches if not _skipped(p) and (
                p.is_dir() or p.suffix.lower() in WORKBOOK_SUFFIXES | TABLE_SUFFIXES)]
            if not ledgers:
                out.append(Input(path, error={"zh": f"没有与“{text}”匹配的台账文件。",
                                              "en": f"No ledger file matches '{text}'."}))
            for match in ledgers:
                loops: list[Path] = []
                for ledger in (_collect(match, loops=loops) if match.is_dir() else [match]):
                    add(ledger)
                out.extend(_loop_input(link) for link in loops)
        elif path.is_dir():
            loops = []
            ledgers = _collect(path, loops=loops)
            out.extend(_loop_input(link) for link in loops)
            if not ledgers:
                out.append(Input(path, error={
                    "zh": f"文件夹“{text}”中没有台账（工作簿 .xlsx/.xlsm/.xls/.xlsb/.ods，或按工作表命名的 CSV/Parquet 文件）。",
                    "en": f"Folder '{text}' holds no ledger (a .xlsx/.xlsm/.xls/.xlsb/.ods workbook, "
                          "or CSV/Parquet files named after sheets)."}))
            for ledger in ledgers:
                add(ledger)
        else:
            add(path)     # a missing or unreadable file is reported when it is audited
    return out
