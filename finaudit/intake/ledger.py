"""Loading a ledger: read, normalise, validate; every row accounted for.

rows_read = rows_valid + rows_rejected for every sheet. A rejected row is one with
at least one finding (schema failure, or a subtotal row kept out of the sums).
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd

from finaudit.errors import LedgerError, os_reason
from finaudit.findings import Finding
from finaudit.intake.checks import MONEY_LIMIT
from finaudit.intake.headers import UNITS
from finaudit.intake.isolation import in_child, read_isolated
from finaudit.intake.load_findings import (defaulted_findings, layout_findings, plain_value, ragged_finding,
                                           subject_of, subtotal_finding, wide_findings)
from finaudit.intake.model import Ledger, Sheet, changed_while_read, file_digest, file_state
from finaudit.intake.normalize import RawColumn, TypeFailure, normalize_column
from finaudit.intake.sheets import RawSheet
from finaudit.intake.schema import SheetSchema, enums, load_schemas
from finaudit.intake.validate import failure_cases, schema_finding

__all__ = ["Ledger", "Sheet", "file_digest", "load"]   # the loaded ledger, from model.py, with its loader

def load(path, load_table=None, after_read=None, loaded=None) -> Ledger:
    """Reads and validates a ledger (workbook, CSV/Parquet file or folder of them). The
    file is parsed in a child process (isolation.py); its sha256 is of the bytes read: a
    file that changes while it is read is refused. `load_table(raw)`, when given, is offered
    each sheet as the child's Arrow table first (native_book.py): it returns the loaded
    (sheet, findings), or None to have the sheet loaded here, as a frame. `after_read()` is
    called once the file is parsed, before its sheets are loaded; `loaded(sheet)` as each sheet
    loaded here (as a frame) is done, while the next loads."""
    path = Path(path)
    before = file_state(path)
    try:
        digest = file_digest(path) if before is not None else None
    except OSError as exc:              # gone, or unreadable, since it was listed
        raise LedgerError(f"无法读取“{exc.filename or path}”：{os_reason(exc, 'zh')}。",
                          f"Cannot read '{exc.filename or path}': {os_reason(exc, 'en')}.") from None
    warming = _warm_up() if load_table is None else None
    try:
        raws = read_isolated(path, arrow=load_table is not None)
    finally:
        if warming is not None:
            warming.join()
    if after_read is not None:
        after_read()
    if file_state(path) != before:
        raise changed_while_read(path)
    sheets, findings = {}, []
    for raw in raws:
        table_loaded = load_table(raw) if load_table is not None else None
        if table_loaded is None and raw.frame is None:
            raw.frame, raw.table = raw.table.to_pandas(), None
        sheet, sheet_findings = table_loaded or _load_sheet(raw)
        if loaded is not None and table_loaded is None:
            loaded(sheet)
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
                  units={c: (raw.units.get(c) or "元") for c in cells if schema.column(c).type == "money"},
                  rows_read=len(frame), rows_rejected=0, rows_blank=rows_blank,
                  hidden=raw.hidden, ignored_headers=raw.ignored_headers, stride=raw.stride)

    findings: list[Finding] = wide_findings(sheet, raw.wide) + layout_findings(sheet, hidden_rows, raw.filled)
    findings += defaulted_findings(schema, raw.sheet, cells, len(frame))
    # A sheet read across (wide.py) makes several rows of one spreadsheet row: a problem with
    # one of its label cells, a ragged line or a subtotal row is told once, all its rows kept out.
    told: set[tuple] = set()
    rejected: set[int] = set()
    ragged_rows: set[int] = set()
    if raw.ragged_rows:
        ragged = frame.index[frame["_row"].isin(list(raw.ragged_rows))]
        for idx in ragged:
            row = int(frame.at[idx, "_row"])
            if _first(told, (sheet.cell_row(row), None)):
                findings.append(ragged_finding(sheet, row, *raw.ragged_rows[row], subject_of(typed, idx)))
        ragged_rows = set(ragged)
        rejected |= ragged_rows
    subtotal_rows = set(frame.index[subtotal]) - rejected
    # Each row's cells as a dict, fetched once: frame.at per cell cost 0.4 ms a row.
    ordered = sorted(subtotal_rows)
    written = frame.loc[ordered].to_dict("records")
    subjects = typed.loc[ordered, [c for c in ("region_code", "region_name", "year") if c in typed.columns]]
    for cells, subject in zip(written, subjects.to_dict("records")):
        if _first(told, (sheet.cell_row(cells["_row"]), None)):
            findings.append(subtotal_finding(sheet, cells, {k: plain_value(v, k) for k, v in subject.items()}))
    rejected |= subtotal_rows

    typed_bad = {(f.index, f.column) for f in failures}
    cases = [(f.index, f.column, "SCHEMA_TYPE", f.value) for f in failures]
    cases += [c for c in failure_cases(_without(typed, subtotal_rows), schema.name)
              if not (c[2] == "SCHEMA_REQUIRED" and (c[0], c[1]) in typed_bad)]
    cases += _too_large(typed, sheet.units, schema, {(c[0], c[1]) for c in cases} | {(i, None) for i in subtotal_rows})
    for idx, col, reason, value in sorted(cases, key=lambda c: (c[0], c[1])):
        # Not `idx in rejected`: that set grows in this loop, and a row's second bad cell
        # must still be reported.
        if idx in subtotal_rows or idx in ragged_rows:
            continue
        rejected.add(idx)
        row, letter = sheet.cell(typed.at[idx, "_row"], col)
        if _first(told, (row, letter, reason)):
            findings.append(schema_finding(reason, schema, schema.column(col), value, raw.file, raw.sheet,
                                           row, letter, subject_of(typed, idx)))

    sheet.rows_rejected = len(rejected)
    valid = _without(typed, rejected)
    for col, unit in sheet.units.items():
        valid[col] = _to_yuan(valid[col], unit)
    sheet.frame = valid.reset_index(drop=True)
    return sheet, findings


_WARMED = False
_WARM_LOCK = threading.Lock()
_SAMPLE = {"year": 2023.0, "count": 1.0, "money": 1.0, "number": 1.0, "region_code": "110000"}


def _warm_up() -> threading.Thread | None:
    """Loads a one-row sheet of each schema in a thread, once a process, while the parse
    child reads the file: the first sheet a process loads costs about 0.6 s more than the
    next (pandera's import and schemas, pandas' first string operations), which would
    otherwise come after the parse, on the run's path. In process, the parse holds the
    interpreter: nothing is gained there."""
    global _WARMED
    with _WARM_LOCK:
        if _WARMED or not in_child():
            return None
        _WARMED = True
    thread = threading.Thread(target=_load_samples, name="finaudit-warm-up", daemon=True)
    thread.start()
    return thread


def _load_samples() -> None:
    try:
        for raw in _sample_sheets():
            _load_sheet(raw)
    except Exception:  # noqa: BLE001  a warm-up only: the ledger's own load says what is wrong
        pass


def _sample_sheets() -> list[RawSheet]:
    """A one-row sheet of each schema, cells as a workbook's reader gives them."""
    sheets = []
    for schema in load_schemas().values():
        frame = pd.DataFrame({c.name: pd.array([_sample_value(c)], dtype="float64" if c.numeric else "str")
                              for c in schema.columns})
        frame["_row"] = np.array([2], dtype=np.int64)
        sheets.append(RawSheet(schema=schema, file="", sheet=schema.name, frame=frame,
                               letters={c.name: "A" for c in schema.columns}, units={}))
    return sheets


def _sample_value(column):
    if column.type == "enum":
        return next(iter(enums()[column.enum]))
    return _SAMPLE.get(column.type, "x")


def _first(told: set, key: tuple) -> bool:
    """Whether `key` is told for the first time (and from now on told)."""
    if key in told:
        return False
    told.add(key)
    return True


def _without(frame: pd.DataFrame, rows: set[int]) -> pd.DataFrame:
    """The frame less some rows (index labels). Dropping no rows would still copy every
    column, all the strings of a 100k-row sheet included, so then the copy is shallow."""
    return frame.drop(index=list(rows)) if rows else frame.copy(deep=False)


def _too_large(typed: pd.DataFrame, units: dict[str, str], schema, taken: set) -> list[tuple]:
    """Amounts that in yuan reach their column's limit (MONEY_LIMIT unless it says; 1e308 万元
    is infinite yuan): range failures, checked after validation because only the unit tells
    how large an amount is."""
    limits = {c.name: c.limit_yuan for c in schema.columns}
    out = []
    for col, unit in units.items():
        values = typed[col].astype("float64")
        over = (values.abs() * _unit_factor(unit) >= limits.get(col, MONEY_LIMIT)).to_numpy()
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
