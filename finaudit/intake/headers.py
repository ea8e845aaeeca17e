"""Finding the header row of a sheet and mapping its cells to schema columns."""
from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

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


@dataclass
class HeaderMatch:
    row_index: int                    # 0-based index of the header within the scanned rows
    columns: dict[str, int]           # canonical column -> 0-based position in the row
    units: dict[str, str | None]      # canonical column -> unit declared in its header
    headers: dict[str, str]           # canonical column -> header text as written
    ignored: list[str]                # headers that match no column


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
    if missing:
        raise _missing_columns(schema, sheet_label, missing, best.ignored)
    return best


# A year as a column header (2019年, 2022年决算数, 2023年预算数): a table laid out with years
# across the columns.
_YEAR_HEADER = re.compile(r"^(19|20)\d{2}\s*年?\s*(决算数?|预算数?|执行数?)?$")


def _wide_layout(schema, sheet_label: str, ignored: list[str]) -> LedgerError | None:
    """Years across the columns: not guessed at (which column is the amount, which rows are
    totals), refused with the layout that works and where to get it."""
    years = [h for h in ignored if _YEAR_HEADER.match(unicodedata.normalize("NFKC", _one_line(h)))]
    if len(years) < 2:
        return None
    shown = "、".join(_one_line(y) for y in years[:4]) + ("…" if len(years) > 4 else "")
    layout = "、".join(c.aliases[0] if c.aliases else c.name for c in schema.columns if c.required)
    layout_en = ", ".join(c.name for c in schema.columns if c.required)
    return LedgerError(
        f"工作表“{sheet_label}”的年度是横排的（{shown}），无法确定逐年读取的口径：请改为每行一个年度，"
        f"列为 {layout}（finaudit template 台账模板.xlsx 可生成这样的空白台账）。",
        f"Sheet '{sheet_label}' has its years across the columns ({shown.replace('、', ', ')}); put one year per "
        f"row instead, with the columns {layout_en} (finaudit template ledger.xlsx writes such a blank ledger).")


def _missing_columns(schema, sheet_label, missing, ignored) -> LedgerError:
    sheet_label = _one_line(sheet_label)    # a sheet name may hold a line break (&#10; in workbook.xml)
    if any(c.name == "year" for c in missing):
        wide = _wide_layout(schema, sheet_label, ignored)
        if wide is not None:
            return wide
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
