"""Loading a ledger: read, normalise, validate; every row accounted for.

rows_read = rows_valid + rows_rejected for every sheet. A rejected row is one with
at least one finding (schema failure, or a subtotal row kept out of the sums).
"""
from __future__ import annotations

import hashlib
import math
import stat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from finaudit.errors import LedgerError
from finaudit.findings import Evidence, Finding
from finaudit.intake.headers import UNITS
from finaudit.intake.isolation import read_isolated
from finaudit.intake.normalize import RawColumn, TypeFailure, normalize_column
from finaudit.intake.sheets import RawSheet
from finaudit.intake.schema import SheetSchema
from finaudit.intake.validate import MONEY_LIMIT, failure_cases, schema_finding

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
        for column in self.schema.columns:
            if column.type in ("money", "count") and column.name in self.frame.columns:
                values = self.frame[column.name].dropna().to_numpy(dtype="float64")
                total = math.fsum(values)           # exactly rounded: no drift over a million rows
                out[column.name] = int(total) if column.type == "count" else round(total, 2)
        return out

    def measure_evidence(self, rows) -> list[Evidence]:
        """Evidence for many rows at once, each pointing at the sheet's measure column."""
        column = self.schema.measure_column
        letter = self.letters.get(column)
        if letter is None:
            return [self.evidence(int(r)) for r in rows]
        prefix = f"{self.source}!{letter}"
        return [Evidence(self.file, self.source, r, f"{prefix}{r}", column) for r in rows]

    def evidence(self, row: int, column: str | None = None, value=None) -> Evidence:
        letter = self.letters.get(column) if column else None
        cell = f"{self.source}!{letter}{row}" if letter else f"{self.source}!{row}"
        return Evidence(file=self.file, sheet=self.source, row=int(row), cell=cell, column=column, value=value)


@dataclass
class Ledger:
    path: Path
    sheets: dict[str, Sheet]
    findings: list[Finding]
    digest: str | None = None           # of the bytes that were read, taken as they were read

    def sha256(self) -> str:
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


def load(path) -> Ledger:
    """Reads and validates a ledger (workbook, CSV/Parquet file or folder of them). The
    file is parsed in a child process (isolation.py); its sha256 is of the bytes read: a
    file that changes while it is read is refused."""
    path = Path(path)
    before = file_state(path)
    try:
        digest = file_digest(path) if before is not None else None
    except OSError as exc:              # gone, or unreadable, since it was listed
        raise LedgerError(f"无法读取“{exc.filename or path}”：{exc.strerror or exc}。",
                          f"Cannot read '{exc.filename or path}': {exc.strerror or exc}.") from None
    raws = read_isolated(path)
    if file_state(path) != before:
        raise changed_while_read(path)
    sheets, findings = {}, []
    for raw in raws:
        sheet, sheet_findings = _load_sheet(raw)
        sheets[sheet.name] = sheet
        findings.extend(sheet_findings)
    return Ledger(path=path, sheets=sheets, findings=findings, digest=digest)


def _load_sheet(raw: RawSheet) -> tuple[Sheet, list[Finding]]:
    schema = raw.schema
    frame = raw.frame.reset_index(drop=True)
    # The blank, subtotal and type passes all read a column through its RawColumn,
    # so a text column is factorized once for the three.
    cells = {c: RawColumn(frame[c]) for c in frame.columns if c != "_row"}
    blank = _blank_rows(cells, len(frame))
    rows_blank = int(blank.sum())
    if rows_blank:
        frame = frame[~blank].reset_index(drop=True)
        cells = {c: column.keep(~blank, frame[c]) for c, column in cells.items()}

    subtotal = _subtotal_rows(schema, cells, len(frame))
    hidden_rows = frame["_row"][frame["_row"].isin(raw.hidden_rows)].tolist() if raw.hidden_rows else []

    failures: list[TypeFailure] = []
    columns = {}
    for column in schema.columns:
        if column.name in cells:
            columns[column.name] = normalize_column(cells[column.name], column, failures)
        elif column.default is not None:
            columns[column.name] = pd.Series(column.default, index=frame.index, dtype="str")
    columns["_row"] = frame["_row"].to_numpy()
    typed = pd.DataFrame(columns, index=frame.index)

    sheet = Sheet(schema=schema, file=raw.file, source=raw.sheet, frame=typed, letters=raw.letters,
                  units={c: (raw.units.get(c) or "元") for c in raw.letters
                         if schema.column(c).type == "money"},
                  rows_read=len(frame), rows_rejected=0, rows_blank=rows_blank,
                  hidden=raw.hidden, ignored_headers=raw.ignored_headers)

    findings: list[Finding] = _layout_findings(sheet, hidden_rows, raw.filled)
    rejected: set[int] = set()
    ragged_rows: set[int] = set()
    if raw.ragged_rows:
        ragged = frame.index[frame["_row"].isin(list(raw.ragged_rows))]
        for idx in ragged:
            findings.append(_ragged_finding(sheet, int(frame.at[idx, "_row"]), *raw.ragged_rows[int(frame.at[idx, "_row"])],
                                            _subject(typed, idx)))
        ragged_rows = set(ragged)
        rejected |= ragged_rows
    subtotal_rows = set(frame.index[subtotal]) - rejected
    # Each row's cells as a dict, fetched once: frame.at per cell cost 0.4 ms a row.
    ordered = sorted(subtotal_rows)
    written = frame.loc[ordered].to_dict("records")
    subjects = typed.loc[ordered, [c for c in ("region_code", "region_name", "year") if c in typed.columns]]
    for cells, subject in zip(written, subjects.to_dict("records")):
        findings.append(subtotal_finding(sheet, cells, {k: plain_value(v, k) for k, v in subject.items()}))
    rejected |= subtotal_rows

    typed_bad = {(f.index, f.column) for f in failures}
    cases = [(f.index, f.column, "SCHEMA_TYPE", f.value) for f in failures]
    cases += [c for c in failure_cases(_without(typed, subtotal_rows), schema.name)
              if not (c[2] == "SCHEMA_REQUIRED" and (c[0], c[1]) in typed_bad)]
    cases += _too_large(typed, sheet.units, {(c[0], c[1]) for c in cases} | {(i, None) for i in subtotal_rows})
    for idx, col, reason, value in sorted(cases, key=lambda c: (c[0], c[1])):
        # Not `idx in rejected`: that set grows in this loop, and a row's second bad cell
        # must still be reported.
        if idx in subtotal_rows or idx in ragged_rows:
            continue
        findings.append(schema_finding(reason, schema, schema.column(col), value, raw.file, raw.sheet,
                                       int(typed.at[idx, "_row"]), raw.letters[col],
                                       _subject(typed, idx)))
        rejected.add(idx)

    sheet.rows_rejected = len(rejected)
    valid = _without(typed, rejected)
    for col, unit in sheet.units.items():
        valid[col] = _to_yuan(valid[col], unit)
    sheet.frame = valid.reset_index(drop=True)
    return sheet, findings


def _layout_findings(sheet: Sheet, hidden_rows: list[int], filled: dict) -> list[Finding]:
    """What the workbook's layout did to the reading: hidden rows read all the same, label
    cells read from the merged range above them. Info findings naming the cells, so that
    nobody is surprised by a sum including rows the screen did not show."""
    findings = []
    if hidden_rows:
        sheet.hidden_rows = len(hidden_rows)
        shown = _row_ranges(hidden_rows)
        findings.append(Finding(
            rule_id="DATA_HIDDEN_ROWS", severity="info", check=sheet.name,
            message={"zh": f"{sheet.source}有 {len(hidden_rows):,} 个隐藏的数据行（第 {shown} 行），已照常读取并计入审计。",
                     "en": f"{sheet.source} has {len(hidden_rows):,} hidden data row(s) (rows {shown}); they were "
                           "read and audited like the others."},
            evidence=sheet.measure_evidence(hidden_rows[:EVIDENCE_LIMIT]), evidence_total=len(hidden_rows),
            identified_by_cells=True,
        ))
    if filled:
        ranges = [(col, top, bottom) for col, spans in filled.items() for top, bottom in spans]
        sheet.filled_cells = sum(bottom - top for _, top, bottom in ranges)
        labels = {"zh": "、".join(sheet.schema.column(c).aliases[0] for c in filled),
                  "en": ", ".join(filled)}
        refs = [f"{sheet.letters[col]}{top}:{sheet.letters[col]}{bottom}" for col, top, bottom in ranges]
        listed = "、".join(refs[:5]) + ("…" if len(refs) > 5 else "")
        findings.append(Finding(
            rule_id="DATA_MERGED_CELLS", severity="info", check=sheet.name,
            message={"zh": f"{sheet.source}的{labels['zh']}列有 {len(refs):,} 个合并单元格（{listed}），"
                           f"其中 {sheet.filled_cells:,} 个下方单元格按合并后显示的值读取。",
                     "en": f"{sheet.source}: {len(refs):,} merged range(s) in column(s) {labels['en']} "
                           f"({listed.replace('、', ', ')}); {sheet.filled_cells:,} cell(s) below their top cell "
                           "were read as the merged value shown."},
            evidence=[sheet.evidence(top, col) for col, top, _ in ranges[:EVIDENCE_LIMIT]],
            evidence_total=len(ranges), identified_by_cells=True,
        ))
    return findings


def _row_ranges(rows: list[int], shown: int = 8) -> str:
    """[4, 5, 6, 9] -> "4–6, 9"; the first `shown` runs, then an ellipsis."""
    runs, start = [], rows[0]
    for prev, row in zip(rows, rows[1:] + [None]):
        if row != prev + 1:
            runs.append(f"{start}–{prev}" if prev != start else f"{start}")
            start = row
    return ", ".join(runs[:shown]) + (", …" if len(runs) > shown else "")


def _without(frame: pd.DataFrame, rows: set[int]) -> pd.DataFrame:
    """The frame less some rows (index labels). Dropping no rows would still copy every
    column, all the strings of a 100k-row sheet included, so then the copy is shallow."""
    return frame.drop(index=list(rows)) if rows else frame.copy(deep=False)


def _too_large(typed: pd.DataFrame, units: dict[str, str], taken: set) -> list[tuple]:
    """Amounts that in yuan reach MONEY_LIMIT (1e308 万元 is infinite yuan): range failures,
    checked after validation because only the unit tells how large an amount is."""

    out = []
    for col, unit in units.items():
        values = typed[col].astype("float64")
        over = (values.abs() * _unit_factor(unit) >= MONEY_LIMIT).to_numpy()
        for idx in typed.index[over]:
            if (idx, col) not in taken and (idx, None) not in taken:
                out.append((idx, col, "SCHEMA_RANGE", typed.at[idx, col]))
    return out


def _unit_factor(unit: str) -> int:
    return UNITS[unit]


def _to_yuan(values: pd.Series, unit: str) -> pd.Series:
    """Converts to yuan; rounding at 1/10000 yuan drops the float noise of x 10000 (1.2345 万元)."""
    factor = _unit_factor(unit)
    return values if factor == 1 else (values * factor).round(4)


def _blank_rows(cells: dict[str, RawColumn], rows: int) -> np.ndarray:
    """Rows with nothing written in any schema column: not data, counted apart."""
    blank = np.ones(rows, dtype=bool)
    for column in cells.values():
        if not blank.any():
            break  # no column can make a row blank again
        blank &= column.blank()
    return blank


def _subtotal_rows(schema: SheetSchema, cells: dict[str, RawColumn], rows: int) -> np.ndarray:
    """Rows whose text cells say 合计/小计/总计/累计: summary rows, not detail rows. A 合计 in
    the year column (often the first) counts too; a column stored as numbers cannot hold it."""
    subtotal = np.zeros(rows, dtype=bool)
    for column in schema.columns:
        if column.name in cells and not cells[column.name].numeric:
            subtotal |= cells[column.name].subtotal()
    return subtotal


def plain_value(value, key: str):
    """A subject value as findings hold it: None for missing, the year as int, codes as text."""
    if value is None or pd.isna(value):
        return None
    return int(value) if key == "year" else str(value)


def _subject(frame: pd.DataFrame, idx: int) -> dict:
    out = {}
    for col in SUBJECT_COLUMNS:
        if col in frame.columns:
            value = frame.at[idx, col]
            out[col] = None if pd.isna(value) else (int(value) if col == "year" else str(value))
    return out


def _ragged_finding(sheet: Sheet, row: int, fields: int, expected: int, subject: dict) -> Finding:
    return Finding(
        rule_id="SCHEMA_FIELD_COUNT", severity="violation",
        message={"zh": f"{sheet.source}第{row}行有{fields}个字段，表头有{expected}个；可能是未加引号的千分位逗号"
                       f"（如 1,234）把一个数拆成了两格。此行未读取。",
                 "en": f"{sheet.source} line {row} has {fields} fields where the header has {expected}; an unquoted "
                       "thousands separator (1,234) may have split a number. The line was not read."},
        subject={k: v for k, v in subject.items() if k in ("region_code", "region_name", "year")},
        evidence=[sheet.evidence(row)], check="fields", identified_by_cells=True,
    )


def subtotal_finding(sheet: Sheet, cells: dict, subject: dict) -> Finding:
    """`cells`: the row as written, {column: value} and `_row`."""
    row = int(cells["_row"])
    column, label = next(((c, v) for c, v in cells.items()
                          if c != "_row" and isinstance(v, str) and any(m in v for m in ("合计", "小计", "总计", "累计"))),
                         (None, ""))
    return Finding(
        rule_id="DATA_SUBTOTAL_ROW", severity="info",
        message={"zh": f"{sheet.source}第{row}行是汇总行（“{label}”），未与明细行相加。",
                 "en": f"{sheet.source} row {row} is a subtotal row ('{label}'); it was not added to the detail rows."},
        subject=subject,
        evidence=[sheet.evidence(row, column)], identified_by_cells=True,
    )
