"""Reading the raw cells of each ledger sheet from xlsx, CSV, Parquet or a folder.

A reader finds the sheets, their header rows and units, and returns for every
sheet a RawSheet: the cells of the schema's columns under canonical names, with
the spreadsheet row number of every row. It converts nothing but the cell
storage; normalising values is normalize.py's job.
"""
from __future__ import annotations

from pathlib import Path

from finaudit.errors import LedgerError
from finaudit.intake.sheets import (EXCEL_SUFFIXES, OTHER_WORKBOOK_SUFFIXES, TABLE_SUFFIXES, RawSheet, claim_sheet,
                                    require_sheets, schema_for_name, unknown_sheet_name)
from finaudit.intake.workbooks import read_other_workbook, read_workbook


def read_ledger(path: Path, scan_beside: bool = False, arrow: bool = False, unfreed: list | None = None) -> list[RawSheet]:
    """Reads every ledger sheet present in a workbook, a table file or a folder. `scan_beside`
    and `unfreed` (only for a caller in a disposable process) and `arrow`: see
    workbooks.read_workbook."""
    if not path.exists():
        raise LedgerError(f"找不到台账文件“{path}”。", f"Ledger file '{path}' does not exist.")
    if path.is_dir():
        return _read_folder(path)
    if path.stat().st_size == 0:
        raise LedgerError(f"文件“{path.name}”是空文件（0 字节）。", f"'{path.name}' is an empty file (0 bytes).")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return read_workbook(path, scan_beside, arrow, unfreed)
    if suffix == ".xls" and _starts_with(path, b"PK\x03\x04"):
        raise LedgerError(f"“{path.name}”的扩展名是 .xls，内容却是 xlsx 工作簿：请把扩展名改为 .xlsx 后重试。",
                          f"'{path.name}' is named .xls but holds an xlsx workbook: rename it to .xlsx and try again.")
    if suffix in OTHER_WORKBOOK_SUFFIXES:
        return read_other_workbook(path)
    if suffix in TABLE_SUFFIXES:
        from finaudit.intake.tables import read_table   # for start-up: pandas (see workbooks.py's imports)

        schema = schema_for_name(path.stem)
        if schema is None:
            raise unknown_sheet_name(path.stem, path)
        return [read_table(path, schema)]
    raise LedgerError(
        f"无法读取“{path.name}”：不支持的文件类型“{suffix or '无扩展名'}”。"
        "可接受：.xlsx、.xlsm、.xls、.xlsb、.ods、.csv、.parquet 或包含这些文件的文件夹。",
        f"Cannot read '{path.name}': unsupported file type '{suffix or 'none'}'. "
        "Accepted: .xlsx, .xlsm, .xls, .xlsb, .ods, .csv, .parquet, or a folder of them.",
    )


def _starts_with(path: Path, signature: bytes) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(signature)) == signature


def _read_folder(folder: Path) -> list[RawSheet]:
    from finaudit.intake.tables import read_table   # for start-up: pandas (see workbooks.py's imports)

    found: dict[str, RawSheet] = {}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
    for path in files:
        schema = schema_for_name(path.stem)
        if schema is None:
            continue
        claim_sheet({k: v.sheet for k, v in found.items()}, schema, path.name, folder)
        found[schema.name] = read_table(path, schema)
    require_sheets(found, [p.name for p in files], folder)
    return list(found.values())
