"""Turning raw cells into typed values: numbers written as text, full-width digits,
Chinese spellings of enumerations, region codes stored as numbers.

A text-like column is factorized once (RawColumn): cleaning it, and testing its
cells for blanks and subtotal labels, costs one Python call per distinct value,
and the results reach the rows by numpy indexing. A million-row column with a few
hundred distinct values thus costs a few hundred calls and no per-row Python.
A value that cannot be read is kept aside as a type failure, never guessed.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from finaudit.intake.checks import INT64_LIMIT, whole_numbers
from finaudit.intake.schema import Column, enum_lookup, fold

# Cells that mean "nothing written here" in hand-kept ledgers. They become missing,
# never zero: a required amount left as "—" is reported, not summed as 0.
BLANKS = {"", "-", "—", "——", "－", "–", "/", "／", "无", "n/a", "na", "none", "null", "nan"}
SUBTOTAL_MARKS = ("合计", "小计", "总计", "累计")
_SUBTOTAL = re.compile("|".join(SUBTOTAL_MARKS))
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九", "00123456789")
_SEPARATORS = re.compile(r"[,，'\s]")
# Separators are dropped only where thousands separators go: between digits, after one to
# three of them and before exactly three, before any decimal point. A decimal comma ("1,5",
# "1.234,5", ",5") is thus unreadable, never read as 15, 1.2345 or 5.
_MISPLACED_SEPARATOR = re.compile(r"""
      \d{4}[,，'\s]+\d                     # four digits before a separator
    | \d[,，'\s]+(?=\d)(?!\d{3}(?!\d))     # other than three digits after one
    | \.\d*[,，'\s]+\d                     # a separator among the decimals
    | (?<!\d)[,，] | [,，](?![,，'\s]*\d)   # a comma not between digits
""", re.VERBOSE)
# pandas reads "+1801439850949.0010" one float64 step off the number (it does not without the +).
_PLUS = re.compile(r"^\+(?=[\d.])")
_INTEGRAL = re.compile(r"^[+-]?\d+(\.0*)?$")


@dataclass
class TypeFailure:
    index: int
    column: str
    value: str


class RawColumn:
    """One column's raw cells, as read; text-like cells also as codes into their
    distinct values (`codes[i]` is row i's value in `uniques`, -1 where missing)."""

    def __init__(self, series: pd.Series, distinct: tuple[np.ndarray, np.ndarray] | None = None):
        self.series = series
        self._distinct = distinct   # (codes, uniques), made on first use

    @property
    def numeric(self) -> bool:
        """Stored as numbers (fastexcel floats, Parquet ints), not as text."""
        return pd.api.types.is_numeric_dtype(self.series)

    def _factorized(self) -> tuple[np.ndarray, np.ndarray]:
        # Only on first use: a float column of amounts is never factorized.
        if self._distinct is None:
            codes, uniques = pd.factorize(self.series, use_na_sentinel=True)
            # The uniques as the Python objects iterating them gives, without Arrow's slow iteration.
            self._distinct = (codes, np.asarray(uniques, dtype=object))
        return self._distinct

    @property
    def codes(self) -> np.ndarray:
        return self._factorized()[0]

    @property
    def uniques(self) -> np.ndarray:
        return self._factorized()[1]

    def has_missing(self) -> bool:
        return bool((self.codes < 0).any())

    def spread_flags(self, per_value) -> np.ndarray:
        """A boolean per distinct value as a boolean per row; False for missing cells."""
        # Code -1 picks the appended last item.
        return np.append(np.asarray(per_value, dtype=bool), False)[self.codes]

    def spread_str(self, per_value: list[str | None], missing: str | None) -> pd.Series:
        """A string per distinct value as a `str` column over the rows; `missing` for
        missing cells. One Arrow take, no row-long array of Python objects."""
        values = pd.array([*per_value, missing], dtype="str")
        if (self.series.dtype == values.dtype and (missing is None or not self.has_missing())
                and all(new == old for new, old in zip(per_value, self.uniques))):
            # Already clean, as names and codes mostly are: keep the column's own array.
            return pd.Series(self.series.array, index=self.series.index)
        return pd.Series(values[self.codes], index=self.series.index)

    def blank(self) -> np.ndarray:
        """Rows with nothing written in this column: missing, or only spaces."""
        if self.numeric:
            return self.series.isna().to_numpy()
        spaces = pd.Series(self.uniques, dtype=object).astype("str").str.strip() == ""
        return self.spread_flags(spaces.to_numpy()) | (self.codes < 0)

    def subtotal(self) -> np.ndarray:
        """Rows whose cell, as written, contains 合计/小计/总计/累计."""
        marks = [isinstance(v, str) and _SUBTOTAL.search(v) is not None for v in self.uniques]
        return self.spread_flags(marks)

    def keep(self, rows: np.ndarray, series: pd.Series) -> RawColumn:
        """This column reduced to `rows` (a boolean mask); `series` is its cells already reduced."""
        if self._distinct is None:
            return RawColumn(series)
        codes, uniques = self._distinct
        codes = codes[rows]
        # Drop the values only the removed rows held: parsing numbers depends on the
        # set of values present (see _parse_numbers), so `uniques` must stay that set.
        present = np.zeros(len(uniques), dtype=bool)
        present[codes[codes >= 0]] = True
        renumbered = np.append(np.cumsum(present) - 1, -1)  # code -1 picks the last item: stays -1
        return RawColumn(series, (renumbered[codes], uniques[present]))


def _clean_text(value) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return None if text.lower() in BLANKS else text


def _number_text(value, column: Column) -> str | None:
    text = _clean_text(value)
    if text is None:
        return None
    if _MISPLACED_SEPARATOR.search(text):
        return text     # kept as written: it does not parse, and is reported
    text = _PLUS.sub("", _SEPARATORS.sub("", text))
    if column.type == "year":
        text = text.translate(_CN_DIGITS).removesuffix("年度").removesuffix("年")
    elif column.type == "money":
        text = text.removesuffix("元")
    elif column.type == "count":
        text = text.removesuffix("人")
    elif column.type == "number":       # a rate written 93.5% is 93.5 (percent)
        text = text.removesuffix("%")
    return text


def _parse_numbers(texts: list[str | None], with_missing: bool) -> np.ndarray:
    """float64 of each text (NaN where blank or unreadable), then NaN for missing cells.
    "inf", or a numeral past float64's range, is unreadable: no amount is infinite.

    pandas infers one dtype for the whole array it parses (int, float, or object when a
    huge integer meets a missing value), so it is given exactly the set of texts the
    rows hold, a missing one only when some cell is missing: each number comes out as
    parsing the whole column would give it.
    """
    present = texts + [None] if with_missing else texts
    parsed = pd.to_numeric(pd.Series(present, dtype=object), errors="coerce").astype("float64").to_numpy()
    parsed = np.where(np.isinf(parsed), np.nan, parsed)
    return parsed if with_missing else np.append(parsed, np.nan)


def _numeric(raw: RawColumn, column: Column, failures: list[TypeFailure]) -> pd.Series:
    series = raw.series
    if raw.numeric and not pd.api.types.is_bool_dtype(series):
        values = series.astype("float64")
        shown = values
        infinite = np.isinf(values.to_numpy())     # a Parquet float column may hold them
        for idx in series.index[infinite]:
            failures.append(TypeFailure(int(idx), column.name, str(shown.at[idx])))
        values = values.mask(infinite)
    else:
        shown = series
        texts = [_number_text(v, column) for v in raw.uniques]
        numbers = _parse_numbers(texts, raw.has_missing())
        values = pd.Series(numbers[raw.codes], index=series.index)
        unreadable = np.array([t is not None for t in texts], dtype=bool) & np.isnan(numbers[: len(texts)])
        for idx in series.index[raw.spread_flags(unreadable)]:
            failures.append(TypeFailure(int(idx), column.name, str(series.at[idx])))
    if whole_numbers(column):
        # Not a whole number, or one no Int64 holds (1e30 students): a failure, not a crash.
        not_whole = values.notna() & ((values != np.floor(values.fillna(0))) | (values.abs() >= INT64_LIMIT))
        for idx in values.index[not_whole.to_numpy()]:
            failures.append(TypeFailure(int(idx), column.name, str(shown.at[idx])))
        values = values.mask(not_whole)
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


def normalize_column(raw: RawColumn, column: Column, failures: list[TypeFailure]) -> pd.Series:
    """One column's raw cells as the typed values the schema declares."""
    if column.numeric:
        return _numeric(raw, column, failures)
    if column.type == "region_code":
        clean = _region_code
    elif column.type == "enum":
        lookup = enum_lookup(column.enum)
        clean = functools.partial(_enum, lookup=lookup)
    else:
        clean = _clean_text
    values = [clean(v) for v in raw.uniques]
    if column.default is not None:
        values = [column.default if v is None else v for v in values]
    return raw.spread_str(values, column.default)
