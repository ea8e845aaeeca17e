"""Validating typed sheets with pandera and turning every failure into a finding."""
from __future__ import annotations

import functools
import warnings

import pandas as pd

from finaudit.findings import Evidence, Finding
from finaudit.intake.checks import MONEY_LIMIT, bounds
from finaudit.intake.schema import YEAR_RANGE, Column, SheetSchema, enum_label, enums, load_schemas, suggest

REGION_CODE_PATTERN = r"^\d{6}$"


def exact_money_sql(value: str, limit: float = MONEY_LIMIT) -> str:
    """SQL turning a DOUBLE amount into DuckDB's DECIMAL(38, 4) money as the decimal it was
    written as. A float64 holds 15 significant digits: below 1e11 yuan it is within 8e-6 of
    the written value, so a direct cast to 4 decimals gives that value back; from 1e11 its
    error reaches the fourth decimal (3304309071754.13 is stored as ...754.1298828, cast to
    ...754.1299), and sums of such rows showed a "decrease of 0.00 yuan". There the amount
    is rounded to the 15 digits it has, in whole thousandths or hundredths, as an integer
    (exact, being under 2^53), and scaled back in decimal: exact to the fen up to
    MONEY_LIMIT (to a few fen up to a column's higher `limit`), beyond which the row is
    rejected anyway (NULL here). Banded rather than
    cast through text, which cost 1.25 s per million rows against 0.01 s."""
    x = f"CAST({value} AS DOUBLE)"
    return (f"CAST(CASE WHEN abs({x}) < 1e11 THEN CAST({x} AS DECIMAL(38, 4)) "
            f"WHEN NOT (abs({x}) < {limit!r}) THEN NULL "
            f"WHEN abs({x}) >= 1e12 THEN CAST(CAST(round({x} * 100) AS BIGINT) AS DECIMAL(38, 4)) * 0.01::DECIMAL(3, 2) "
            f"ELSE CAST(CAST(round({x} * 1000) AS BIGINT) AS DECIMAL(38, 4)) * 0.001::DECIMAL(4, 3) END "
            "AS DECIMAL(38, 4))")


_DTYPES = {"year": "Int64", "count": "Int64", "money": "float64", "number": "float64"}


def _checks(column: Column):
    """pandera checks of one column; `error` carries our reason into failure_cases.check."""
    import pandera.pandas as pa

    if column.numeric:
        low, high = bounds(column)          # checks.py: the Parquet path checks the same bounds
        checks = []
        if low is not None:
            checks.append(pa.Check.ge(low, name="range", error="range"))
        if high is not None:
            checks.append(pa.Check.le(high, name="range", error="range"))
        return checks
    if column.type == "enum":
        return [pa.Check.isin(list(enums()[column.enum]), name="allowed_value", error="allowed_value")]
    if column.type == "region_code":
        return [pa.Check.str_matches(REGION_CODE_PATTERN, name="region_code", error="region_code")]
    return []


@functools.lru_cache(maxsize=None)
def pandera_schema(sheet: str):
    """The pandera schema derived from schemas/<sheet>.yaml (no column list lives in Python)."""
    import pandera.pandas as pa

    spec = load_schemas()[sheet]
    return pa.DataFrameSchema(
        {c.name: pa.Column(_DTYPES.get(c.type, "str"), _checks(c), nullable=not c.required, required=False)
         for c in spec.columns},
        name=sheet, strict=False, coerce=False,
    )


# pandera check name -> our reason code
_REASONS = {"not_nullable": "SCHEMA_REQUIRED", "allowed_value": "SCHEMA_ALLOWED_VALUE",
            "range": "SCHEMA_RANGE", "region_code": "SCHEMA_REGION_CODE"}


def failure_cases(frame: pd.DataFrame, sheet: str) -> list[tuple[int, str, str, object]]:
    """(row index, column, reason code, value) of every cell pandera rejects, lazily collected."""
    import pandera.errors

    schema = pandera_schema(sheet)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            schema.validate(frame, lazy=True)
            return []
        except pandera.errors.SchemaErrors as exc:
            cases = exc.failure_cases
    out = []
    for case in cases.itertuples(index=False):
        if case.index is None or pd.isna(case.index):
            raise RuntimeError(f"pandera could not run {case.check} on {sheet}.{case.column}")
        reason = _REASONS.get(str(case.check), "SCHEMA_TYPE")
        out.append((int(case.index), str(case.column), reason, case.failure_case))
    return out


def column_label(column: Column, lang: str) -> str:
    return (column.aliases[0] if column.aliases else column.name) if lang == "zh" else column.name


def _show(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, float) and abs(value) >= 1e21:
        return f"{value:.6g}"                  # 1e+308, not three hundred digits
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def schema_message(reason: str, column: Column, value, cell: str) -> dict:
    """The zh and en sentence for one rejected cell: where, what was there, what is valid."""
    zh_col, en_col = column_label(column, "zh"), column_label(column, "en")
    shown = _show(value)
    if reason == "SCHEMA_REQUIRED":
        return {"zh": f"{cell}：必填列“{zh_col}”为空。",
                "en": f"{cell}: required column '{en_col}' is empty."}
    if reason == "SCHEMA_TYPE":
        kind_zh, kind_en = {"year": ("有效年份", "a year"), "count": ("非负整数", "a whole number"),
                            "money": ("数字", "a number"), "number": ("数字", "a number")}[column.type]
        return {"zh": f"{cell}：“{zh_col}”的值“{shown}”不是{kind_zh}。",
                "en": f"{cell}: '{en_col}' value '{shown}' is not {kind_en}."}
    if reason == "SCHEMA_ALLOWED_VALUE":
        codes = enums()[column.enum]
        zh_opts = "、".join(spec["zh"] for spec in codes.values())
        en_opts = ", ".join(codes)
        guess = suggest(column.enum, shown)
        zh_ask = f"是否为“{codes[guess]['zh']}”？" if guess else ""
        en_ask = f"Did you mean '{guess}' ({codes[guess]['zh']})? " if guess else ""
        return {"zh": f"{cell}：“{zh_col}”的值“{shown}”不是可选值。{zh_ask}可选：{zh_opts}。",
                "en": f"{cell}: '{en_col}' value '{shown}' is not allowed. {en_ask}Allowed: {en_opts}."}
    if reason == "SCHEMA_REGION_CODE":
        return {"zh": f"{cell}：“{zh_col}”的值“{shown}”不是6位行政区划代码。",
                "en": f"{cell}: '{en_col}' value '{shown}' is not a six-digit region code."}
    if column.type == "year":
        low, high = YEAR_RANGE
        return {"zh": f"{cell}：年份“{shown}”不在 {low}–{high} 之间。",
                "en": f"{cell}: year '{shown}' is outside {low}–{high}."}
    if column.min is None or (isinstance(value, (int, float)) and value >= column.min):
        limit = column.limit_yuan          # 1e13 unless a column holds national aggregates
        zh_beyond, en_beyond = (("超过全国一年的教育经费", "more than the whole country spends on education in a year")
                                if limit == MONEY_LIMIT else ("超过任何真实的财政总量", "beyond any real fiscal aggregate"))
        exp = f"{limit:.0e}".replace("e+", "e")
        return {"zh": f"{cell}：“{zh_col}”的值 {shown} 过大，折合达到 {limit / 1e12:,.0f} 万亿元（{exp} 元），{zh_beyond}，"
                      "不可能是真实金额（是否填错了单位？）。",
                "en": f"{cell}: '{en_col}' value {shown} is too large: it reaches {limit / 1e12:,.0f} trillion yuan "
                      f"({exp}), {en_beyond}, so no real amount (a wrong unit?)."}
    return {"zh": f"{cell}：“{zh_col}”的值 {shown} 小于 {_show(column.min)}。",
            "en": f"{cell}: '{en_col}' value {shown} is below {_show(column.min)}."}


def schema_finding(reason: str, schema: SheetSchema, column: Column, value, file: str, sheet: str,
                   row: int, letter: str, subject: dict) -> Finding:
    cell = f"{sheet}!{letter}{row}"
    return Finding(
        rule_id=reason, severity="violation",
        message=schema_message(reason, column, value, cell),
        subject=subject,
        evidence=[Evidence(file=file, sheet=sheet, row=row, cell=cell, column=column.name, value=_show(value))],
        check=column.name, identified_by_cells=True,
    )


def label(enum_name: str, code, lang: str) -> str:
    return enum_label(enum_name, code, lang)
