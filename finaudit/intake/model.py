"""What a loaded ledger is: its sheets (valid rows, accounting, control totals, evidence
cells) and findings, and the digest and state of the bytes it was read from."""
from __future__ import annotations

import hashlib
import math
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from finaudit.errors import LedgerError
from finaudit.findings import Evidence, Finding
from finaudit.intake.checks import total, totalled
from finaudit.intake.headers import column_letter
from finaudit.intake.schema import SheetSchema


SUBJECT_COLUMNS = ("region_code", "region_name", "year", "level", "school_id")


EVIDENCE_LIMIT = 1000          # cells listed with a load finding; evidence_total keeps the count


@dataclass
class Sheet:
    """One ledger sheet after loading: its valid rows and how many were read and rejected."""
    schema: SheetSchema
    file: str
    source: str
    frame: pd.DataFrame | None               # valid rows, typed, money in yuan, `_row` kept;
                                             # None when they were loaded into DuckDB (native.py)
    letters: dict[str, str]
    units: dict[str, str]                    # money column -> unit it was read in
    rows_read: int
    rows_rejected: int
    rows_blank: int
    hidden: bool = False
    ignored_headers: list[str] = field(default_factory=list)
    hidden_rows: int = 0                     # data rows the workbook hides (read all the same)
    filled_cells: int = 0                    # label cells read from the merged range above them
    stride: int = 0                          # years read across (wide.py): `_row` is row x stride + column
    _totals: dict | None = None              # control totals computed where the rows are (native.py)

    @property
    def name(self) -> str:
        return self.schema.name

    @property
    def rows_valid(self) -> int:
        return self.rows_read - self.rows_rejected

    def unit_label(self) -> str:
        units = sorted(set(self.units.values()))
        return "、".join(units) if units else ""

    def summary(self) -> dict:
        return {"name": self.name, "source": self.source, "file": self.file, "rows_read": self.rows_read,
                "rows_valid": self.rows_valid, "rows_rejected": self.rows_rejected,
                "rows_blank": self.rows_blank, "unit": self.unit_label(), "units": self.units,
                "hidden": self.hidden, "ignored_columns": self.ignored_headers,
                "hidden_rows": self.hidden_rows, "filled_cells": self.filled_cells, "totals": self.totals()}

    def set_totals(self, totals: dict) -> None:
        self._totals = totals

    def totals(self) -> dict[str, float | int]:
        """Control totals of the valid rows, money in yuan: what the audit sums, to be agreed
        with the workbook's own totals."""
        if self._totals is not None:
            return self._totals
        out = {}
        for column in totalled(self.schema, self.frame.columns):
            values = self.frame[column.name].dropna().to_numpy(dtype="float64")
            out[column.name] = total(column, math.fsum(values))    # exactly rounded: no drift over a million rows
        return out

    def measure_evidence(self, rows, column: str | None = None) -> list[Evidence]:
        """Evidence for many rows at once, each pointing at the sheet's measure column (or at
        `column` where the sheet has it: a rule naming the fiscal sheet's GDP column still
        points at the amounts of the budget rows it read)."""
        column = column if column in self.letters else self.schema.measure_column
        letter = self.letters.get(column)
        if letter is None or self.stride:
            return [self.evidence(int(r), column if self.stride else None) for r in rows]
        prefix = f"{self.source}!{letter}"
        return [Evidence(self.file, self.source, r, f"{prefix}{r}", column) for r in rows]

    def evidence(self, row: int, column: str | None = None, value=None) -> Evidence:
        row, letter = self.cell(row, column)
        cell = f"{self.source}!{letter}{row}" if letter else f"{self.source}!{row}"
        return Evidence(file=self.file, sheet=self.source, row=row, cell=cell, column=column, value=value)

    def cell(self, row: int, column: str | None = None) -> tuple[int, str | None]:
        """The spreadsheet row and column letter of a row's cell (no letter for no column). A
        sheet read with its years across numbers its rows row x stride + the year's column:
        the year, its value and a 决算/预算 from the header are at the year's cell."""
        if not self.stride:
            return int(row), self.letters.get(column) if column else None
        row, position = divmod(int(row), self.stride)
        return row, self.letters.get(column) or column_letter(position)

    def cell_row(self, row: int) -> int:
        """The spreadsheet row of a row's number (they differ where years are read across)."""
        return int(row) // self.stride if self.stride else int(row)


@dataclass
class Ledger:
    path: Path
    sheets: dict[str, Sheet]
    findings: list[Finding]
    digest: str | None = None           # of the bytes that were read, taken as they were read

    def sha256(self) -> str | None:
        if self.digest is None and isinstance(self.path, str):
            return None         # a URL Spark read (spark_native.py): its bytes never came here
        if self.digest is None:
            self.digest = file_digest(self.path)
        return self.digest


def file_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's files in name order. Only regular files are read:
    a FIFO or a device (/dev/zero) would never end."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if not stat.S_ISREG(file.stat().st_mode):
            raise LedgerError(f"“{file}”不是普通文件（可能是设备或管道），不能作为台账读取。",
                              f"'{file}' is not a regular file (a device or a pipe?) and cannot be read as a ledger.")
        with open(file, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def file_state(path: Path) -> tuple | None:
    """What changes when a file (or a folder's files) is written to: names, sizes, times. A
    hidden file or an office program's lock file (~$县.xlsx, .~lock.县.csv#) coming and going
    beside a ledger is no change to it."""
    try:
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith((".", "~$"))) \
            if path.is_dir() else [path]
        return tuple((p.name, st.st_size, st.st_mtime_ns) for p in files for st in [p.stat()])
    except OSError:
        return None


def changed_while_read(path: Path) -> LedgerError:
    return LedgerError(f"台账“{path.name}”在读取期间被修改，所审计的内容无法确定；请在文件不再被写入时重试。",
                       f"Ledger '{path.name}' changed while it was being read, so what was audited cannot be "
                       "told; try again once nothing is writing to it.")
