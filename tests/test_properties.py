"""Properties of the header finder (finaudit/headers.py) and the number parser
(finaudit/normalize.py): what they promise for every input, checked on generated ones.

The promises come from the docstrings and DESIGN.md §2: a header row is found under
any title rows and its columns wherever they stand; a unit in a header or a title row
is split off and reported; a missing required column is a LedgerError, and junk is
never any other exception; a number written as text, with separators, full-width
digits or spaces, reads as the number it says; text that is not a number is a type
failure, never a value; placeholders such as — mean missing, never zero.
"""
from __future__ import annotations

import math
import os
import re
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from finaudit.errors import LedgerError
from finaudit.intake.headers import HEADER_SCAN_ROWS, UNITS, find_header, split_unit, title_unit
from finaudit.intake.normalize import BLANKS, RawColumn, TypeFailure, normalize_column
from finaudit.intake.schema import fold, load_schemas

SCHEMAS = load_schemas()
# A few seconds for the whole file; FINAUDIT_PROPERTY_EXAMPLES=5000 for a thorough run.
EXAMPLES = int(os.environ.get("FINAUDIT_PROPERTY_EXAMPLES", "60"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CHEAP = settings(FAST, max_examples=4 * EXAMPLES)           # string functions only
AMOUNT = SCHEMAS["budget"].column("amount")                 # money
STUDENTS = SCHEMAS["enrollment"].column("students")         # count
YEAR = SCHEMAS["budget"].column("year")                     # year

# The brackets a header may put its unit in, as (open, close).
BRACKETS = [("(", ")"), ("（", "）"), ("[", "]"), ("【", "】")]
SLASHES = ["/", "／"]
SPACES = [" ", "\t", "\u3000", "\xa0", "\n"]                 # all strip away, most only after NFKC
BRACKET_CHARS = "()（）[]【】〔〕/／"


ALIASES = {schema.name: {fold(name) for col in schema.columns for name in col.all_names}
           for schema in SCHEMAS.values()}


def is_alias(cell, schema) -> bool:
    return fold(split_unit(str(cell))[0]) in ALIASES[schema.name]


def full_width(text: str) -> str:
    """ASCII letters, digits and signs as their full-width forms, which NFKC folds back."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def one_line(text: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


# --- strategies -------------------------------------------------------------------

junk_cell = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(["", " ", "\x00", "\x1b[2J", "\r\n", "\u200b", "\ufeff", "合计", "单位：万元",
                     "=cmd|' /C calc'!A0"]),
)


@st.composite
def spelled(draw, name: str) -> str:
    """A column name as a person might type it: any case, full-width, spaced out."""
    style = draw(st.sampled_from(["as is", "upper", "full width", "spaced"]))
    if style == "upper":
        return name.upper()
    if style == "full width":
        return full_width(name)
    if style == "spaced":
        return draw(st.sampled_from(SPACES)) + " ".join(name) + draw(st.sampled_from(SPACES))
    return name


def with_unit(base: str, unit: str, mark, label: str = "", space: str = "") -> str:
    """`base` with `unit` the way a header states it: in brackets `mark` (open, close), with
    an optional 单位： inside, or after a slash `mark`."""
    if isinstance(mark, tuple):
        return f"{base}{space}{mark[0]}{space}{label}{unit}{space}{mark[1]}"
    return f"{base}{space}{mark}{space}{unit}"


unit_marks = st.sampled_from([*BRACKETS, *SLASHES])
unit_labels = st.sampled_from(["", "单位：", "单位:", "单位 ： "])


@st.composite
def sheets_with_header(draw):
    """(schema, rows, expected): title rows, a header naming every required column and some
    optional ones in any order among unknown and empty cells, then data rows."""
    schema = draw(st.sampled_from(list(SCHEMAS.values())))
    columns = [c for c in schema.columns if c.required or draw(st.booleans())]
    cells, units = [], {}
    for col in columns:
        text = draw(spelled(draw(st.sampled_from(col.all_names))))
        if col.type == "money" and draw(st.booleans()):
            units[col.name] = draw(st.sampled_from(list(UNITS)))
            space = draw(st.sampled_from(["", " "]))
            text = with_unit(text, units[col.name], draw(unit_marks), draw(unit_labels), space)
        cells.append((col.name, text))
    unknown = st.text(min_size=1, max_size=10).filter(lambda t: t.strip() and not is_alias(t, schema))
    cells += [(None, draw(st.one_of(unknown, st.none(), st.just("")))) for _ in range(draw(st.integers(0, 4)))]
    cells = draw(st.permutations(cells))
    header = [text for _, text in cells]
    # Title and data rows name no columns (a row that did would be a competing header).
    title_cell = st.one_of(st.text(max_size=20), st.none(), st.integers(), st.just("单位：万元")).filter(
        lambda v: not is_alias(v, schema))
    titles = draw(st.lists(st.lists(title_cell, max_size=3), max_size=HEADER_SCAN_ROWS - 10))
    data_cell = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=8)).filter(
        lambda v: not is_alias(v, schema))
    data = draw(st.lists(st.lists(data_cell, min_size=len(header), max_size=len(header)), max_size=5))
    expected = {
        "row_index": len(titles),
        "columns": {name: pos for pos, (name, _) in enumerate(cells) if name},
        "units": {name: units.get(name) for name, _ in cells if name},
        "headers": {name: text.strip() for name, text in cells if name},
        "ignored": [text.strip() for name, text in cells if not name and text and text.strip()],
    }
    return schema, [*titles, header, *data], expected


# --- the header finder --------------------------------------------------------------

@FAST
@given(sheets_with_header())
def test_a_header_row_is_found_under_any_title_rows_with_its_columns_wherever_they_stand(case):
    schema, rows, expected = case
    match = find_header(rows, schema, "表")

    assert match.row_index == expected["row_index"]
    assert match.columns == expected["columns"]
    assert match.units == expected["units"]
    assert match.headers == expected["headers"]
    assert match.ignored == expected["ignored"]


# The reference sheet with every required column, and an unknown header typed over two lines
# (Alt+Enter) that is close enough to 数值 to be offered as the header meant.
TWO_LINE_HEADER = (SCHEMAS["reference"], [["年度", "行政区划代码", "指标", "数值", "数值\n备注"]],
                   {"row_index": 0, "columns": {"year": 0, "region_code": 1, "metric": 2, "value": 3}})


@FAST
@given(sheets_with_header(), st.lists(st.integers(0, 20), min_size=1, max_size=8),
       st.one_of(st.just("教育经费"), st.text(max_size=8)))
@example(TWO_LINE_HEADER, [3], "参照值")          # the hint quoted the header with its line break
@example(TWO_LINE_HEADER, [1, 2, 3], "参照值")    # one column left: the error named it as missing too
@example(TWO_LINE_HEADER, [3], "参照\n值")        # a sheet name with a line break (found by the fuzzer)
def test_a_header_without_a_required_column_is_a_one_line_ledger_error_naming_it(case, picks, label):
    schema, rows, expected = case
    required = [c for c in schema.columns if c.required]
    drop = {required[i % len(required)].name for i in picks}
    header = list(rows[expected["row_index"]])
    for name in drop:
        header[expected["columns"][name]] = None
    rows = [*rows[: expected["row_index"]], header, *rows[expected["row_index"] + 1:]]

    with pytest.raises(LedgerError) as caught:
        find_header(rows, schema, label)

    first = next(c for c in schema.columns if c.name in drop)
    assert f"has no required column '{first.name}'" in caught.value.en
    assert f"缺少必填列“{first.aliases[0]}”" in caught.value.zh
    kept = [c for c in required if c.name not in drop]
    assert not any(f"'{c.name}'" in caught.value.en.split(". Accepted")[0] for c in kept)
    assert one_line(caught.value.en) and one_line(caught.value.zh)


@FAST
@given(st.sampled_from(list(SCHEMAS.values())), st.lists(st.lists(junk_cell, max_size=12), max_size=40))
def test_rows_of_any_junk_give_a_header_that_names_every_required_column_or_a_ledger_error(schema, rows):
    try:
        match = find_header(rows, schema, "表")
    except LedgerError as error:
        assert one_line(error.en) and one_line(error.zh)
        return
    assert match.row_index < HEADER_SCAN_ROWS
    assert {c.name for c in schema.columns if c.required} <= set(match.columns)
    row = rows[match.row_index]
    for name, pos in match.columns.items():
        assert fold(split_unit(str(row[pos]))[0]) in {fold(n) for n in schema.column(name).all_names}


# --- units in headers and title rows --------------------------------------------------

base_text = st.text(max_size=12).filter(lambda t: not any(c in t for c in BRACKET_CHARS))


@CHEAP
@given(base_text, st.sampled_from(list(UNITS)), unit_marks, unit_labels, st.sampled_from(["", " ", "\u3000"]))
def test_a_unit_in_any_bracket_or_after_a_slash_is_split_from_the_header_and_reported(base, unit, mark, label, space):
    assume(split_unit(base)[1] is None)
    header = with_unit(base, unit, mark, label, space)
    assert split_unit(header) == (unicodedata.normalize("NFKC", base).strip(), unit)


@CHEAP
@given(st.text(max_size=30))
@example("金额（单位：美元）")
@example("金额/元/人")
def test_a_header_gives_no_unit_or_one_of_the_units_money_is_converted_from(header):
    base, unit = split_unit(header)
    assert unit is None or unit in UNITS
    if unit is None:
        assert base == unicodedata.normalize("NFKC", header).strip()


def test_each_unit_is_worth_what_its_chinese_name_says_in_yuan():
    digits = {"千": 1_000, "百": 100, "万": 10_000, "亿": 100_000_000}
    for unit, factor in UNITS.items():
        assert unit.endswith("元")
        assert factor == math.prod(digits[c] for c in unit[:-1]), unit


@CHEAP
@given(st.lists(junk_cell, max_size=6), st.text(max_size=10), st.sampled_from(list(UNITS)),
       st.sampled_from(["：", ":", " ： "]), st.text(max_size=10), st.lists(junk_cell, max_size=6))
def test_a_title_row_saying_单位_gives_its_unit_wherever_it_stands(before, prefix, unit, colon, suffix, after):
    assume(title_unit(before) is None and "单位" not in prefix)
    assert title_unit([*before, f"{prefix}单位{colon}{unit}{suffix}", *after]) == unit
    assert title_unit(before) is None


# --- numbers written as text ----------------------------------------------------------

def normalized(cells, column, dtype=object):
    """normalize_column over `cells`: (values as a list, failures as {row: value})."""
    failures: list[TypeFailure] = []
    values = normalize_column(RawColumn(pd.Series(cells, dtype=dtype)), column, failures)
    assert all(f.column == column.name for f in failures)
    return [None if pd.isna(v) else v for v in values], {f.index: f.value for f in failures}


@st.composite
def written_number(draw, integral: bool = False, max_digits: int = 15):
    """(text, canonical): a decimal number as a ledger keeper might type it, and the plain
    numeral it stands for. Every style is one the module promises to read."""
    whole = draw(st.integers(0, 10 ** draw(st.integers(1, max_digits)) - 1))
    fraction = "" if integral else draw(st.text(alphabet="0123456789", max_size=6))
    sign = "" if integral else draw(st.sampled_from(["", "-", "+"]))
    canonical = f"{sign}{whole}" + (f".{fraction}" if fraction else "")
    separator = draw(st.sampled_from(["", ",", "，", "'", " ", "\u3000", ", "]))
    digits = f"{whole:,}".replace(",", "\x00")
    text = digits.replace("\x00", separator) + (draw(st.sampled_from([".", "．"])) + fraction if fraction else "")
    if draw(st.booleans()):
        text = "".join(full_width(c) if draw(st.booleans()) else c for c in text)
    text = {"": "", "-": draw(st.sampled_from(["-", "－"])), "+": "+"}[sign] + text
    pad = st.text(alphabet=SPACES, max_size=2)
    return draw(pad) + text + draw(pad), canonical


@FAST
@given(st.lists(st.tuples(written_number(), st.booleans()), min_size=1, max_size=8))
@example([(("1,234,567.89", "1234567.89"), False), (("１２３４．５", "1234.5"), True)])
@example([((" 88 ", "88"), False), (("2，000", "2000"), False)])
@example([(("+1801439850949.0010", "1801439850949.0010"), False)])   # pandas misreads it with the +
def test_an_amount_written_with_separators_full_width_digits_or_spaces_reads_as_the_number_it_says(cells):
    texts = [text + ("元" if yuan else "") for (text, _), yuan in cells]
    values, failures = normalized(texts, AMOUNT)

    assert failures == {}
    # Exactly the float64 nearest the decimal written, as Python reads the plain numeral.
    assert values == [float(canonical) for (_, canonical), _ in cells]


@FAST
@given(st.lists(st.tuples(written_number(integral=True), st.sampled_from(["", "人", " 人"])), min_size=1, max_size=8))
def test_a_count_written_as_text_reads_as_that_whole_number(cells):
    values, failures = normalized([text + suffix for (text, _), suffix in cells], STUDENTS)
    assert failures == {}
    assert values == [int(canonical) for (_, canonical), _ in cells]


@st.composite
def written_year(draw):
    year = draw(st.integers(1949, 2100))
    style = draw(st.sampled_from(["ascii", "full width", "chinese"]))
    text = {"ascii": str(year), "full width": full_width(str(year)),
            "chinese": "".join("〇一二三四五六七八九"[int(d)] if d != "0" or draw(st.booleans()) else "零"
                               for d in str(year))}[style]
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", "年", "年度", " 年"])), year


@FAST
@given(st.lists(written_year(), min_size=1, max_size=6))
@example([("2023年", 2023), ("２０２３年度", 2023), ("二〇二三年", 2023), ("二零二三", 2023)])
def test_a_year_in_digits_full_width_or_chinese_numerals_reads_as_that_year(cells):
    values, failures = normalized([text for text, _ in cells], YEAR)
    assert failures == {}
    assert values == [year for _, year in cells]


# What hand-kept ledgers write for "nothing here" (normalize.py's BLANKS, spelled out here so
# that dropping one from the module is caught).
PLACEHOLDERS = ["", "-", "—", "——", "－", "–", "/", "／", "无", "n/a", "na", "none", "null", "nan"]


@FAST
@given(st.lists(st.sampled_from(PLACEHOLDERS), min_size=1, max_size=5), st.data())
def test_a_placeholder_for_nothing_reads_as_missing_never_as_zero_nor_as_a_failure(blanks, data):
    # As people write them: any case, full width, padded; and cells the reader left empty.
    cells = [data.draw(st.sampled_from([b, b.upper(), full_width(b), f" {b}\u3000"])) for b in blanks]
    cells += data.draw(st.lists(st.sampled_from([None, float("nan"), pd.NA]), max_size=2))
    for column in (AMOUNT, STUDENTS, YEAR):
        values, failures = normalized(cells, column)
        assert values == [None] * len(cells)
        assert failures == {}


# What a text that reads as a number may hold, by the module's promises: full-width forms
# (NFKC), spaces, thousands separators where they go (after one to three digits, before
# exactly three, before any decimal point), a unit suffix; and an ASCII numeral. The oracle
# is generous where the module may be strict: it only has to catch values read from text
# that is no number.
_NUMERAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def plain_numeral(text: str, suffix: str) -> str | None:
    """The numeral a cell's text stands for, or None when it is not a number."""
    text = unicodedata.normalize("NFKC", text).strip()
    # Spaces and apostrophes that do not stand between two digits are cosmetic.
    text = re.sub(r"(?<![0-9])[\s']+|[\s']+(?![0-9])", "", text)
    sign, integer, rest = re.fullmatch(r"([+-]?)([0-9](?:[0-9,'\s]*[0-9])?)?(.*)", text, re.S).groups()
    if integer and re.search(r"[,'\s]", integer):
        if not re.fullmatch(r"[0-9]{1,3}(?:[,'\s]+[0-9]{3})+", integer):
            return None
        integer = re.sub(r"[,'\s]", "", integer)
    text = (sign + (integer or "") + rest).removesuffix(suffix)
    return text if _NUMERAL.fullmatch(text) else None


number_like = st.lists(st.sampled_from([*"0123456789０９.．,，' \u3000+-－eE元人年万_x\x00—١",
                                        "inf", "Infinity", "nan"]), max_size=14).map("".join)


@FAST
@given(st.lists(st.one_of(number_like, st.text(max_size=8)), min_size=1, max_size=6))
@example(["1,5"])               # a decimal comma is not a thousands separator: not 15
@example(["1.234,5"])           # nor is a comma after the decimal point: not 1.2345
@example(["1234,567"])          # four digits before a separator: not 1234567
@example(["inf", "-Infinity"])  # not amounts
@example(["9" * 400])           # past float64: infinity, not an amount
@example(["0,", ",5"])          # a comma not between digits: not 0, not 5
def test_text_that_is_not_a_number_is_a_type_failure_never_a_value(texts):
    for column, suffix in ((AMOUNT, "元"), (STUDENTS, "人")):
        values, failures = normalized(texts, column)
        for row, (text, value) in enumerate(zip(texts, values)):
            blank = unicodedata.normalize("NFKC", text).strip().lower() in BLANKS
            numeral = None if blank else plain_numeral(text, suffix)
            if blank:
                assert value is None and row not in failures
            elif value is None:
                assert failures[row] == text
            else:
                assert row not in failures
                assert numeral is not None, f"{text!r} read as {value!r}"
                assert math.isfinite(value)
                assert value == (int(float(numeral)) if column is STUDENTS else float(numeral))


@FAST
@given(st.lists(st.floats(allow_nan=True, allow_infinity=False), min_size=1, max_size=8))
def test_an_amount_column_stored_as_numbers_keeps_every_value_as_stored(numbers):
    values, failures = normalized(numbers, AMOUNT, dtype="float64")
    assert failures == {}
    assert [None if math.isnan(n) else n for n in numbers] == values
    # -0.0 == 0.0: the sign bit is the one thing equality does not see, and it stays too.
    assert [math.copysign(1, v) for v in values if v is not None] == \
           [math.copysign(1, n) for n in numbers if not math.isnan(n)]


whole = st.integers(-(2 ** 53), 2 ** 53)


@FAST
@given(st.lists(st.one_of(whole.map(float), st.floats(allow_nan=False, allow_infinity=True)), min_size=1, max_size=8),
       st.sampled_from(["float64", "Int64"]))
@example([float("inf"), 2023.0], "float64")
@example([1e30, 5.0], "float64")
@example([2.0 ** 63, -(2.0 ** 63), 7.0], "float64")
def test_a_count_column_stored_as_numbers_keeps_whole_numbers_and_refuses_the_rest(numbers, dtype):
    if dtype == "Int64":
        numbers = [n for n in numbers if n.is_integer() and abs(n) <= 2 ** 53]
        assume(numbers)
    values, failures = normalized(numbers if dtype == "float64" else [int(n) for n in numbers], STUDENTS, dtype)
    for row, (number, value) in enumerate(zip(numbers, values)):
        if math.isfinite(number) and number.is_integer() and abs(number) < 2 ** 63:
            assert value == int(number) and row not in failures
        else:
            assert value is None and row in failures


@FAST
@given(st.lists(st.one_of(st.none(), number_like, written_number().map(lambda w: w[0])), min_size=1, max_size=10),
       st.sampled_from([AMOUNT, STUDENTS, YEAR]))
@example(["18446744073709551617", None], AMOUNT)   # past uint64, beside a missing cell
@example(["9007199254740993", "0.5"], AMOUNT)      # 2**53 + 1 beside a fraction
def test_a_cell_reads_the_same_whatever_else_its_column_holds(cells, column):
    values, failures = normalized(cells, column)
    for row, cell in enumerate(cells):
        alone, alone_failures = normalized([cell], column)
        assert values[row] == alone[0] or (values[row] is None and alone[0] is None)
        assert (row in failures) == (0 in alone_failures)


@FAST
@given(st.lists(st.one_of(st.none(), number_like, written_number().map(lambda w: w[0])), min_size=1, max_size=10),
       st.data(), st.sampled_from([AMOUNT, STUDENTS]))
def test_dropping_rows_from_a_column_drops_their_values_and_changes_no_other(cells, data, column):
    keep = np.array(data.draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells))))
    series = pd.Series(cells, dtype=object)
    raw = RawColumn(series)
    raw.codes   # factorized before rows are dropped, as ledger.py does for blank rows
    kept = raw.keep(keep, series[keep].reset_index(drop=True))
    failures: list[TypeFailure] = []
    reduced = normalize_column(kept, column, failures)
    full, _ = normalized(cells, column)

    assert [None if pd.isna(v) else v for v in reduced] == [v for v, k in zip(full, keep) if k]
