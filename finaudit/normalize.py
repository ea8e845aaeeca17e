"""Turning raw cells into typed values: numbers written as text, full-width digits,
Chinese spellings of enumerations, region codes stored as numbers.

Per-value Python work is done once per distinct value (pd.factorize), so a
million-row column with a few hundred distinct values costs a few hundred calls.
A value that cannot be read is kept aside as a type failure, never guessed.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .schema import Column, enum_lookup, fold

# Cells that mean "nothing written here" in hand-kept ledgers. They become missing,
# never zero: a required amount left as "—" is reported, not summed as 0.
BLANKS = {"", "-", "—", "——", "－", "–", "/", "／", "无", "n/a", "na", "none", "null", "nan"}
SUBTOTAL_MARKS = ("合计", "小计", "总计", "累计")
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_SEPARATORS = re.compile(r"[,，'\s]")
_INTEGRAL = re.compile(r"^[+-]?\d+(\.0*)?$")


@dataclass
class TypeFailure:
    index: int
    column: str
    value: str


def _clean_text(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return None if text.lower() in BLANKS else text


def _number_text(value, column: Column) -> str | None:
    text = _clean_text(value)
    if text is None:
        return None
    text = _SEPARATORS.sub("", text)
    if column.type == "year":
        text = text.translate(_CN_DIGITS).removesuffix("年度").removesuffix("年")
    elif column.type == "money":
        text = text.removesuffix("元")
    elif column.type == "count":
        text = text.removesuffix("人")
    return text


def _per_distinct(series: pd.Series, fn) -> pd.Series:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([fn(u) for u in uniques] + [None], dtype=object)
    return pd.Series(mapped[codes], index=series.index, dtype=object)


def _numeric(series: pd.Series, column: Column, failures: list[TypeFailure]) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype("float64")
        raw = values
    else:
        raw = series
        texts = _per_distinct(series, lambda v: _number_text(v, column))
        values = pd.to_numeric(texts, errors="coerce").astype("float64")
        bad = values.isna() & texts.notna()
        for idx in series.index[bad.to_numpy()]:
            failures.append(TypeFailure(int(idx), column.name, str(series.at[idx])))
    if column.type in ("year", "count"):
        fractional = values.notna() & (values != np.floor(values.fillna(0)))
        for idx in values.index[fractional.to_numpy()]:
            failures.append(TypeFailure(int(idx), column.name, str(raw.at[idx])))
        values = values.mask(fractional)
        return values.astype("Int64")
    return values


def _region_code(value) -> str | None:
    text = _clean_text(value)
    if text is None:
        return None
    if _INTEGRAL.match(text):
        text = text.split(".")[0]
    return text


def _enum(value, lookup: dict[str, str]) -> str | None:
    text = _clean_text(value)
    if text is None:
        return None
    return lookup.get(fold(text), text)


def normalize_column(series: pd.Series, column: Column, failures: list[TypeFailure]) -> pd.Series:
    """One column's raw cells as the typed values the schema declares."""
    if column.numeric:
        return _numeric(series, column, failures)
    if column.type == "region_code":
        out = _per_distinct(series, _region_code)
    elif column.type == "enum":
        lookup = enum_lookup(column.enum)
        out = _per_distinct(series, lambda v: _enum(v, lookup))
    else:
        out = _per_distinct(series, _clean_text)
    if column.default is not None:
        out = out.fillna(column.default)
    return out.astype("str")


def subtotal_mask(frame: pd.DataFrame, text_columns: list[str]) -> pd.Series:
    """Rows whose text cells say 合计/小计/总计: summary rows, not detail rows."""
    mask = pd.Series(False, index=frame.index)
    for col in text_columns:
        marks = _per_distinct(frame[col], lambda v: v is not None and isinstance(v, str)
                              and any(m in v for m in SUBTOTAL_MARKS))
        mask |= marks.fillna(False).astype(bool)
    return mask
