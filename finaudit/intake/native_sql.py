"""The SQL that types a Parquet sheet where its rows are (native.py): each column converted and
checked as the pandas path converts and checks a cell (normalize.py, validate.py), money
in exact yuan, every failure a reason code per row."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from finaudit.intake.headers import UNITS
from finaudit.intake.normalize import RawColumn, TypeFailure, normalize_column
from finaudit.intake.checks import INT64_LIMIT, MONEY_LIMIT, bounds, whole_numbers
from finaudit.intake.schema import Column, SheetSchema
from finaudit.intake.validate import exact_money_sql, failure_cases

# Distinct values keep money as DOUBLE: units are applied before the cast to DECIMAL, as
# ledger.load does (1.23456789 万元 is 12345.6789 yuan, not 1.2346 x 10000).
MAP_TYPES = {"year": "INTEGER", "count": "BIGINT", "money": "DOUBLE", "number": "DOUBLE"}


@dataclass
class Col:
    """How one schema column of a file becomes SQL."""
    column: Column
    source: str               # the file's column name
    letter: str
    numeric: bool             # a number column stored as numbers
    mapped: bool = False      # joined to a table of its distinct values
    values: dict | None = None    # distinct index -> the value a finding shows


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def map_distinct(con, schema: SheetSchema, src: str, col: Col) -> None:
    """Normalises and validates each distinct value of a text column as ledger.load does for
    each cell; when any value changes or fails, the column is joined to the result."""
    distinct = con.execute(f"SELECT DISTINCT {quote(col.source)} AS raw FROM {src}").df()["raw"]
    frame = distinct_map(schema, col, distinct)
    if frame is None:
        return
    name = f"map_{schema.name}_{col.column.name}"
    con.register(f"{name}_in", frame)
    sql_type = MAP_TYPES.get(col.column.type, "VARCHAR")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT raw, CAST(value AS {sql_type}) AS value, "
                f"idx, CAST(reason AS VARCHAR) AS reason, blank, subtotal FROM {name}_in")
    con.unregister(f"{name}_in")


def distinct_map(schema: SheetSchema, col: Col, distinct: pd.Series) -> pd.DataFrame | None:
    """The map of a text column's distinct values (raw, value, idx, reason, blank, subtotal),
    or None when the column is clean; sets `col.values` and `col.mapped`. The same Python
    for every engine that holds the rows (DuckDB here, Spark in spark_native.py)."""
    raw = RawColumn(distinct.reset_index(drop=True))
    failures: list[TypeFailure] = []
    values = normalize_column(raw, col.column, failures)
    reasons: dict[int, str] = {}
    shown: dict[int, object] = {}
    for failure in failures:
        reasons[failure.index], shown[failure.index] = "SCHEMA_TYPE", failure.value
    for idx, _, reason, value in failure_cases(pd.DataFrame({col.column.name: values}), schema.name):
        if idx not in reasons:
            reasons[idx], shown[idx] = reason, value
    blank, subtotal = raw.blank(), raw.subtotal()
    col.values = shown
    # A clean column (every value already as the audit stores it, none failing but by being
    # empty) needs no join: the common case for files exported by a system.
    only_empty_fails = all(r == "SCHEMA_REQUIRED" for r in reasons.values())
    if (_unchanged(raw.series, values) and only_empty_fails and not subtotal.any()
            and not (blank & raw.series.notna().to_numpy()).any()):
        return None
    col.mapped = True
    return pd.DataFrame({
        "raw": raw.series, "value": values, "idx": range(len(values)),
        "reason": pd.Series([reasons.get(i) for i in range(len(values))], dtype="object"),
        "blank": blank, "subtotal": subtotal,
    })


def _unchanged(raw: pd.Series, values: pd.Series) -> bool:
    """Whether normalising left every distinct value as it was (text stays the same text)."""
    if not (pd.api.types.is_string_dtype(raw) and pd.api.types.is_string_dtype(values)):
        return False
    both_missing = raw.isna().to_numpy() & values.isna().to_numpy()
    equal = (raw.astype(object).to_numpy() == values.astype(object).to_numpy())
    return bool((both_missing | equal).all())


def typed_sql(schema: SheetSchema, src: str, cols: list[Col], units: dict[str, str]) -> str:
    selects, joins, blanks, subtotals = ["file_row_number + 2 AS _row"], [], [], []
    for i, col in enumerate(cols):
        source, name = f"s.{quote(col.source)}", col.column.name
        if col.mapped:
            alias = f"m{i}"
            joins.append(f"LEFT JOIN map_{schema.name}_{name} {alias} ON {alias}.raw IS NOT DISTINCT FROM {source}")
            value, reason = f"{alias}.value", f"{alias}.reason"
            blanks.append(f"{alias}.blank")
            subtotals.append(f"{alias}.subtotal")
            selects.append(f"{alias}.idx AS _i_{i}")
        elif col.numeric:
            value, reason, blank = numeric_sql(col, source)
            blanks.append(blank)
            selects.append(f"CAST({source} AS DOUBLE) AS _x_{i}")
        else:                                  # clean text: only an empty cell can fail
            value = source
            reason = f"CASE WHEN {source} IS NULL THEN 'SCHEMA_REQUIRED' END" if col.column.required else "NULL"
            blanks.append(f"{source} IS NULL")
        if col.column.type == "money":
            factor = UNITS[units[name]]
            # An amount beyond what the audit can hold once in yuan (1e308 万元 is infinite).
            reason = f"coalesce({reason}, CASE WHEN abs({value} * {factor}) >= {col.column.limit_yuan!r} THEN 'SCHEMA_RANGE' END)"
            selects.append(f"{value} AS _v_{i}")
            if factor != 1:
                value = f"round({value} * {factor}, 4)"
            value = exact_money_sql(value, col.column.limit_yuan)
        selects.append(f"{value} AS {quote(name)}")
        selects.append(f"{reason} AS _r_{i}")
    selects.append(f"({' AND '.join(blanks) or 'false'}) AS _blank")
    selects.append(f"({' OR '.join(f'coalesce({s}, false)' for s in subtotals) or 'false'}) AS _subtotal")
    return f"SELECT {', '.join(selects)} FROM {src} s {' '.join(joins)}"


def numeric_sql(col: Col, source: str) -> tuple[str, str, str]:
    """(value, reason, blank) of a column stored as numbers, as normalize._numeric and the
    pandera checks treat it: NaN is empty, infinity and (for years and counts) fractions or
    numbers no Int64 holds are not numbers, then the required and range checks."""
    column = col.column
    x = f"CAST({source} AS DOUBLE)"
    missing = f"({x} IS NULL OR isnan({x}))"
    # abs() = infinity rather than isinf(): the same test in Spark SQL (spark_native.py)
    broken = f"abs({x}) = CAST('Infinity' AS DOUBLE)"
    if whole_numbers(column):
        # round(), not floor(): Spark's floor of a DOUBLE is a BIGINT, which 1e30 overflows
        broken = f"({broken} OR {x} <> round({x}) OR abs({x}) >= {INT64_LIMIT!r})"
    value = f"CASE WHEN {missing} OR {broken} THEN NULL ELSE {x} END"
    low, high = bounds(column)
    limits = ([f"{x} < {low}"] if low is not None else []) + ([f"{x} > {high}"] if high is not None else [])
    reason = f"CASE WHEN NOT {missing} AND {broken} THEN 'SCHEMA_TYPE' "
    if column.required:
        reason += f"WHEN {missing} THEN 'SCHEMA_REQUIRED' "
    if limits:
        reason += f"WHEN NOT {missing} AND ({' OR '.join(limits)}) THEN 'SCHEMA_RANGE' "
    return value, reason + "END", missing
