"""Finding the header row of a sheet and mapping its cells to schema columns."""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from finaudit.errors import LedgerError, join_names
from finaudit.intake.schema import SheetSchema, fold

HEADER_SCAN_ROWS = 30

# Money units a header or a title row may declare, and their factor to yuan.
UNITS = {"元": 1, "千元": 1_000, "万元": 10_000, "百万元": 1_000_000, "亿元": 100_000_000}
_UNIT_IN_HEADER = re.compile(r"[(\[（【]\s*(?:单位\s*[:：]?\s*)?(百万元|千元|万元|亿元|元)\s*[)\]）】]|[/／]\s*(百万元|千元|万元|亿元|元)$")
_UNIT_IN_TITLE = re.compile(r"单位\s*[:：]\s*(百万元|千元|万元|亿元|元)")
# A count's unit in brackets (在校生数（人）, 教师数（名）): the count as written, nothing to scale.
# 万人 is not among them: a header in 万人 matches no column and is refused, never read as persons.
_COUNT_UNIT_IN_HEADER = re.compile(r"[(\[（【]\s*(?:单位\s*[:：]?\s*)?(人|名|个|所|人次)\s*[)\]）】]$")


def split_unit(header: str) -> tuple[str, str | None]:
    """Splits `金额（万元）` into (`金额`, `万元`); a header without a unit gives None."""
    text = unicodedata.normalize("NFKC", str(header)).strip()
    match = _UNIT_IN_HEADER.search(text)
    if not match:
        count = _COUNT_UNIT_IN_HEADER.search(text)
        return (text[: count.start()].strip() if count else text), None
    unit = match.group(1) or match.group(2)
    return (text[: match.start()] + text[match.end():]).strip(), unit


def title_unit(cells) -> str | None:
    """A sheet-wide unit stated in a title row, such as `单位：万元`."""
    for cell in cells:
        if isinstance(cell, str):
            match = _UNIT_IN_TITLE.search(unicodedata.normalize("NFKC", cell))
            if match:
                return match.group(1)
    return None


@dataclass(frozen=True)
class YearColumn:
    """A year written as a column header (2023年, 2022年决算数): the cells under it are the
    sheet's `wide_value` in that year (wide.py turns them into rows)."""
    position: int                     # 0-based position in the header row
    year: int
    basis: str | None                 # 决算 or 预算 where the header says so
    unit: str | None
    header: str

    @property
    def key(self) -> str:
        """The frame column its cells are read into, before they become rows."""
        return f"_year_{self.position}"


@dataclass
class HeaderMatch:
    row_index: int                    # 0-based index of the header within the scanned rows
    columns: dict[str, int]           # canonical column -> 0-based position in the row
    units: dict[str, str | None]      # canonical column -> unit declared in its header
    headers: dict[str, str]           # canonical column -> header text as written
    ignored: list[str]                # headers that match no column
    years: list[YearColumn] = field(default_factory=list)   # years across the columns, if any
    value: str | None = None          # the column the year columns hold

    def read_columns(self) -> list[tuple[str, int]]:
        """(frame column, position) of every cell a reader reads, in sheet order."""
        return sorted([*self.columns.items(), *((y.key, y.position) for y in self.years)], key=lambda kv: kv[1])

    def schema_column(self, name: str) -> str:
        """The schema column a frame column holds: a year column holds the sheet's value."""
        return self.value if name.startswith("_year_") else name

    def letters(self) -> dict[str, str]:
        return {name: column_letter(pos) for name, pos in self.columns.items()}


def _alias_map(schema: SheetSchema) -> dict[str, str]:
    return {fold(alias): col.name for col in schema.columns for alias in col.all_names}


def _match_row(cells, aliases: dict[str, str]):
    columns, units, headers, ignored = {}, {}, {}, []
    for pos, cell in enumerate(cells):
        if cell is None or str(cell).strip() == "":
            continue
        base, unit = split_unit(str(cell))
        name = aliases.get(fold(base))
        if name is None or name in columns:
            ignored.append(str(cell).strip())
            continue
        columns[name], units[name], headers[name] = pos, unit, str(cell).strip()
    return columns, units, headers, ignored


def find_header(rows: list[list], schema: SheetSchema, sheet_label: str) -> HeaderMatch:
    """Picks the row among the first ones whose cells name the most schema columns.

    Title rows (a ledger's name, `单位：万元`, merged banners) above the header are
    skipped; a required column missing from the best row is an error naming the
    aliases that would have been accepted and, where one is close, the header meant.
    Years across the columns instead of a year column (2022年, 2023年预算数) are matched
    as YearColumns when they can be read unambiguously, refused otherwise.
    """
    aliases = _alias_map(schema)
    best = None
    for index, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns, units, headers, ignored = _match_row(cells, aliases)
        if best is None or len(columns) > len(best.columns):
            best = HeaderMatch(index, columns, units, headers, ignored)
    if best is None or len(best.columns) < 2:
        # No row looks like a header; still name only what is missing, not a column it has.
        missing = [c for c in schema.columns if c.required and (best is None or c.name not in best.columns)]
        raise _missing_columns(schema, sheet_label, missing, best.ignored if best is not None else [])
    missing = [c for c in schema.columns if c.required and c.name not in best.columns]
    if missing and "year" in {c.name for c in missing}:
        years = _year_columns(rows[best.row_index])
        if len(years) >= 2 or (years and schema.wide_value in {c.name for c in missing}):
            return _wide(schema, _one_line(sheet_label), best, years, missing)
    if missing:
        raise _missing_columns(schema, sheet_label, missing, best.ignored)
    return best


# A year as a column header (2019年, 2022年决算数, 2023年预算数): a table laid out with years
# across the columns.
_YEAR_HEADER = re.compile(r"^((?:19|20)\d{2})(?:\.0+)?\s*年?度?\s*(决算数?|预算数?|执行数?)?$")


def _year_columns(cells) -> list[YearColumn]:
    out = []
    for pos, cell in enumerate(cells):
        if isinstance(cell, (int, float)) and not isinstance(cell, bool):
            # 2023 typed into a header cell is stored as a number.
            cell = str(int(cell)) if float(cell).is_integer() and 1900 <= cell < 2100 else None
        if cell is None:
            continue
        header = _one_line(str(cell))
        base, unit = split_unit(header)
        match = _YEAR_HEADER.match(unicodedata.normalize("NFKC", base).replace(" ", ""))
        if match:
            suffix = match.group(2)
            basis = suffix[:2] if suffix else None
            out.append(YearColumn(pos, int(match.group(1)), basis, unit, header))
    return out


def _wide(schema, sheet_label: str, match: HeaderMatch, years: list[YearColumn], missing) -> HeaderMatch:
    """A header with years across the columns: read when every year column holds the sheet's
    `wide_value` and nothing else makes it ambiguous; refused otherwise, saying why and
    which layouts work."""
    value = schema.wide_value
    shown = "、".join(y.header for y in years[:4]) + ("…" if len(years) > 4 else "")
    numbers = [c.name for c in schema.columns if c.numeric and c.type != "year" and c.name in match.columns]
    labels = [c for c in missing if c.name not in ("year", value)]
    seen = [(y.year, y.basis or "决算") for y in years]
    if value is None:
        why = ("无法确定各年度下的数字是哪一项", "which figure the years hold cannot be told")
    elif numbers:
        name = schema.column(numbers[0])
        why = (f"又有“{match.headers[numbers[0]]}”列，无法确定各年度下的数字是否即“{name.aliases[0]}”",
               f"it also has the column '{match.headers[numbers[0]]}', so whether the years hold {name.name} cannot be told")
    elif labels:
        names = [c.aliases[0] for c in labels]
        why = (f"缺少列“{'、'.join(names)}”", f"the column(s) {', '.join(c.name for c in labels)} are missing")
    elif any(y.basis == "执行" for y in years):
        why = ("“执行数”既不是决算数也不是预算数", "an 执行数 (budget execution) is neither final accounts nor a budget")
    elif any(y.basis for y in years) and ("basis" in match.columns or "basis" not in {c.name for c in schema.columns}):
        why = ("年度列注明了决算数或预算数，" + ("又有“口径”列" if "basis" in match.columns else "而本表不区分口径"),
               "the year headers name final accounts or budget, " + ("and a 口径 column does too" if "basis" in
                                                                      match.columns else "which this sheet does not distinguish"))
    elif len(set(seen)) < len(seen):
        twice = next(y.header for y, key in zip(years, seen) if seen.count(key) > 1)
        why = (f"同一年度出现不止一列（{twice}）", f"a year has more than one column ({twice})")
    elif len({y.unit for y in years}) > 1:
        why = ("各年度列的单位不一致", "the year columns declare different units")
    else:
        units = dict(match.units, **{value: years[0].unit})
        headers = dict(match.headers, **{value: shown})
        return HeaderMatch(match.row_index, dict(match.columns), units, headers,
                           [h for h in match.ignored if h not in {y.header for y in years}], years, value)
    raise _wide_refused(schema, sheet_label, shown, why)


def _wide_refused(schema, sheet_label: str, shown: str, why: tuple[str, str]) -> LedgerError:
    layout = "、".join(c.aliases[0] if c.aliases else c.name for c in schema.columns if c.required)
    layout_en = ", ".join(c.name for c in schema.columns if c.required)
    across = ""
    if schema.wide_value:
        rest = [c for c in schema.columns if c.required and c.name not in ("year", schema.wide_value)]
        across = (f"横排时每行填 {'、'.join(c.aliases[0] for c in rest)}，每个年度一列（如“2023年”“2023年决算数”）；"
                  "或")
    return LedgerError(
        f"工作表“{sheet_label}”的年度是横排的（{shown}），{why[0]}，无法逐年读取：{across}"
        f"请改为每行一个年度，列为 {layout}（finaudit template 台账模板.xlsx 可生成这样的空白台账）。",
        f"Sheet '{sheet_label}' has its years across the columns ({shown.replace('、', ', ')}) and {why[1]}; "
        f"put one year per row instead, with the columns {layout_en} (finaudit template ledger.xlsx writes such a "
        "blank ledger).")


def _missing_columns(schema, sheet_label, missing, ignored) -> LedgerError:
    sheet_label = _one_line(sheet_label)    # a sheet name may hold a line break (&#10; in workbook.xml)
    col = missing[0]
    accepted = list(col.all_names)
    # A header typed over two lines (Alt+Enter) is quoted on one: the error is one line.
    near = difflib.get_close_matches(split_unit(col.aliases[0] if col.aliases else col.name)[0],
                                     [_one_line(split_unit(h)[0]) for h in ignored], n=1, cutoff=0.5)
    hint_zh = f"表头“{near[0]}”是否即此列？" if near else ""
    hint_en = f" Did you mean the header '{near[0]}'?" if near else ""
    others = f"（另缺：{join_names([c.aliases[0] if c.aliases else c.name for c in missing[1:]], 'zh')}）" if len(missing) > 1 else ""
    others_en = f" (also missing: {join_names([c.name for c in missing[1:]], 'en')})" if len(missing) > 1 else ""
    return LedgerError(
        f"工作表“{sheet_label}”缺少必填列“{col.aliases[0] if col.aliases else col.name}”{others}。"
        f"可接受的表头：{join_names(accepted, 'zh')}。{hint_zh}",
        f"Sheet '{sheet_label}' has no required column '{col.name}'{others_en}. "
        f"Accepted headers: {join_names(accepted, 'en')}.{hint_en}",
    )


def _one_line(text: str) -> str:
    """Line breaks and other control characters as single spaces."""
    return " ".join("".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in text).split())


def column_letter(index: int) -> str:
    """0-based column index to the letters Excel shows (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
