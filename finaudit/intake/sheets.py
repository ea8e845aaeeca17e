"""Which ledger sheet is which: the RawSheet a reader returns, sheet and file names matched
to the schemas, the refusal of a second sheet for one schema or a missing required one,
and each column's unit."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from finaudit.errors import LedgerError, join_names
from finaudit.intake.headers import title_unit
from finaudit.intake.schema import SheetSchema, fold, load_schemas

if TYPE_CHECKING:                   # for start-up: the CLI reaches this module before it starts the parse server
    import pandas as pd


EXCEL_SUFFIXES = {".xlsx", ".xlsm"}


# Read by calamine alone: no layout (merged cells, hidden rows) and no formula check.
OTHER_WORKBOOK_SUFFIXES = {".xls", ".xlsb", ".ods"}


TABLE_SUFFIXES = {".csv", ".txt", ".parquet", ".pq"}


@dataclass
class RawSheet:
    schema: SheetSchema
    file: str
    sheet: str                       # the sheet (or file) name as the ledger spells it
    frame: pd.DataFrame | None       # canonical columns + `_row` (None: in `table`)
    letters: dict[str, str]          # canonical column -> column letter
    units: dict[str, str | None]     # canonical column -> unit declared for it
    hidden: bool = False
    ignored_headers: list[str] = field(default_factory=list)
    # CSV records whose field count differs from the header's: {row: (fields, header fields)}.
    # An unquoted 1,234 splits one amount into two fields and shifts every cell after it.
    ragged_rows: dict[int, tuple[int, int]] = field(default_factory=dict)
    hidden_rows: list[int] = field(default_factory=list)  # data rows the workbook hides, read all the same
    # Cells of label columns left empty inside a merged range and read as its top cell:
    # {canonical column: [(first row, last row), ...]} (rows of the merged range, top included).
    filled: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    # Years across the columns read as rows (wide.py): `_row` is then row x stride + column.
    stride: int = 0
    wide: dict | None = None         # how it was read: {headers, rows, blank_cells} (load_findings.wide_findings)
    table: object = None             # the cells as a pyarrow Table, frame None (read_isolated(arrow=True), read_workbook(arrow=True))


def schema_for_name(name: str) -> SheetSchema | None:
    key = fold(name)
    for schema in load_schemas().values():
        if key in {fold(n) for n in schema.all_names}:
            return schema
    return None


def unknown_sheet_name(name, path) -> LedgerError:
    names = [n for s in load_schemas().values() for n in (s.aliases[0], s.name)]
    return LedgerError(
        f"无法识别“{path.name}”对应的工作表“{name}”。可接受的名称：{join_names(names, 'zh')}。",
        f"Cannot tell which ledger sheet '{path.name}' holds ('{name}'). Accepted names: {join_names(names, 'en')}.",
    )


def require_sheets(found: dict[str, RawSheet], available: list[str], source: Path) -> None:
    for schema in load_schemas().values():
        if schema.required and schema.name not in found:
            accepted = list(schema.aliases) + [schema.name]
            raise LedgerError(
                f"找不到工作表“{schema.aliases[0]}”。已有工作表：{join_names(available, 'zh') or '无'}。"
                f"可接受的名称：{join_names(accepted, 'zh')}。",
                f"Sheet '{schema.name}' not found in '{source.name}'. Sheets present: "
                f"{join_names(available, 'en') or 'none'}. Accepted names: {join_names(accepted, 'en')}.",
            )


def claim_sheet(found: dict, schema: SheetSchema, name: str, source: Path) -> None:
    """Refuses a second sheet for the same schema: which one to audit would be a guess."""
    if schema.name in found:
        raise LedgerError(
            f"“{found[schema.name]}”和“{name}”都像是工作表“{schema.aliases[0]}”，请只保留一个。",
            f"Both '{found[schema.name]}' and '{name}' look like the '{schema.name}' sheet in "
            f"'{source.name}'; keep only one.",
        )


def sheet_units(match, title_rows) -> dict[str, str | None]:
    """Each column's unit: its header's, else the title rows' (单位：万元), else the one unit every
    other money header of the sheet declares (上年同口径数 beside 金额（万元） is in 万元 too)."""
    sheet_unit = title_unit(cell for row in title_rows[: match.row_index] for cell in row)
    declared = {unit for unit in match.units.values() if unit}
    shared = declared.pop() if len(declared) == 1 else None
    return {name: (unit or sheet_unit or shared) for name, unit in match.units.items()}
