"""Which ledgers a run audits: files, folders and globs become a list of ledgers, each once,
in the order given. An input that names no ledger stays in the list with its reason, so
that the run reports it."""
from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from finaudit.intake.sheets import EXCEL_SUFFIXES, OTHER_WORKBOOK_SUFFIXES, TABLE_SUFFIXES
from finaudit.intake.schema import fold, load_schemas
from finaudit.intake.locations import Url, is_url

WORKBOOK_SUFFIXES = EXCEL_SUFFIXES | OTHER_WORKBOOK_SUFFIXES
_GLOB_CHARS = set("*?[")

def is_ledger_folder(folder: Path) -> bool:
    """A folder of CSV/Parquet files named after sheets (教育经费.csv, budget.parquet) is one
    ledger; any other folder is a collection of ledgers."""
    names = {fold(n) for s in load_schemas().values() for n in s.all_names}
    return any(p.is_file() and p.suffix.lower() in TABLE_SUFFIXES and fold(p.stem) in names
               for p in folder.iterdir())


@dataclass
class Input:
    """One ledger of a run, or an input that named none: what was audited and how it went."""
    path: Path
    sha256: str | None = None
    sheets: list[dict] = field(default_factory=list)
    error: dict | None = None           # {"zh", "en"} when it could not be audited
    regions: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    seconds: float | None = None

    @property
    def audited(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        out = {"path": str(self.path), "sha256": self.sha256, "sheets": self.sheets,
               "status": "audited" if self.audited else "unreadable"}
        if self.error:
            out["error"] = self.error
        return out


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
        if is_url(text):            # read by Spark where it lives (the DuckDB engine refuses it)
            if text not in seen:
                seen.add(text)
                out.append(Input(Url(text)))
            continue
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


# Starting a worker process costs about 2.5 s (imports) on the benchmark VM; a worker pays
# for itself from about 8 ledgers of 10,000 rows (tests/bench/RESULTS.md, Batch).
LEDGERS_PER_WORKER = 8


def auto_jobs(ledgers: int) -> int:
    """Worker processes for a batch when not told: one per core, but one per 8 ledgers at most."""
    return max(1, min(os.cpu_count() or 1, ledgers // LEDGERS_PER_WORKER))


def parsed_here(items: list[Input], jobs: int | None) -> bool:
    """Whether this process will parse a workbook or CSV itself (no worker processes, not
    Parquet only): then its parse server is worth starting early (isolation.warm_up)."""
    todo = [i for i in items if i.error is None]
    if (jobs if jobs is not None else auto_jobs(len(todo))) > 1 and len(todo) > 1:
        return False
    return any(i.path.suffix.lower() not in (".parquet", ".pq") for i in todo)
