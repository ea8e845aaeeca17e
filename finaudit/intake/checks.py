"""What a number in a ledger must be, said once for both loads: the pandas path (normalize.py,
validate.py, ledger.py) and the native Parquet path (native_sql.py, native.py) read these
and nothing else, so that one ledger gives the same rows either way.

- years and counts are whole numbers an Int64 holds;
- each numeric column's bounds (a year's range; a count's or amount's min and max);
- the largest amount in yuan (MONEY_LIMIT), reached only by a slip;
- the control totals: which columns are summed, and how a sum is reported."""
from __future__ import annotations

from finaudit.intake.schema import MONEY_LIMIT as MONEY_LIMIT  # its home is the schema's columns
from finaudit.intake.schema import YEAR_RANGE, Column, SheetSchema

# The largest magnitude an Int64 year or count holds; 2.0 ** 63 itself does not fit.
INT64_LIMIT = 2.0 ** 63


TOTALLED_TYPES = ("money", "count")


def whole_numbers(column: Column) -> bool:
    """Whether the column holds whole numbers (a fraction or a value past INT64_LIMIT fails)."""
    return column.type in ("year", "count")


def bounds(column: Column) -> tuple[float | None, float | None]:
    """(lowest, highest) value a numeric column accepts; None where there is no bound."""
    if column.type == "year":
        return YEAR_RANGE
    if column.type in TOTALLED_TYPES or column.type == "number":
        return column.min, column.max
    return None, None


def totalled(schema: SheetSchema, present) -> list[Column]:
    """The columns a sheet's control totals sum, of those the ledger has."""
    return [c for c in schema.columns if c.type in TOTALLED_TYPES and c.name in present]


def total(column: Column, value) -> int | float:
    """A control total as reported: students as a whole number, money in yuan to the fen."""
    return int(value or 0) if column.type == "count" else round(float(value or 0), 2)
