"""Shared-string cells whose index is not one: past the end of the table, or not a number at
all. Looked for only after a reader failed (it costs a second scan), to name the cell."""
from __future__ import annotations

import re

from finaudit.errors import LedgerError
from finaudit.intake.guard.archive import inflate, windows
from finaudit.intake.guard.cell_xml import ATTR_R, CELL_TOKEN, CELL_VALUE, TAG_REACH, attribute


# A shared-string cell (`t="s"`, as every program writes it) whose value is not 1-19 digits:
# calamine reads "-1", " 1", "1.0" or a 20-digit number as 0, the first string, silently.
# One search per window, in C (0.09 s for 1.2 million such cells); the cells it finds are
# looked at closely.
NOT_AN_INDEX = re.compile(rb't="s"[^>]*+>\s*+<v>[0-9]{0,19}+[^<]')


def check_string_indexes(fp, info, name: str, sheet: str, strings: int) -> None:
    """Refuses the first shared-string cell of the sheet whose index is past the `strings` of
    the table, naming it. calamine and openpyxl stop with an error naming no cell there (no
    silent misreading), so this runs only once a reader has failed: it costs twice the scan."""
    pattern = _bad_index(strings)
    for window, limit in windows(inflate(fp, info, name)):
        check_string_cells(pattern, window, limit, name, sheet, strings)


def _bad_index(strings: int) -> re.Pattern:
    """NOT_AN_INDEX, or a number past the last of `strings` strings."""
    largest = strings - 1
    if largest < 0:
        below = "(?!)"                      # no string at all: any index is past the last
    elif largest < 10:
        below = f"[0-{largest}]"
    else:
        text = str(largest)
        shorter = f"[0-9]|[1-9][0-9]{{0,{len(text) - 2}}}"
        same = []
        for i, ch in enumerate(text):
            low = 1 if i == 0 else 0
            if int(ch) - 1 >= low:
                rest = len(text) - i - 1
                same.append(f"{text[:i]}[{low}-{int(ch) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
        below = "|".join([shorter, *same, text])
    return re.compile(rb't="s"[^>]*+>\s*+<v>(?:[0-9]{0,19}+[^<]|0*+(?!(?:' + below.encode() + rb')<)[0-9])')


def check_string_cells(pattern: re.Pattern, w: bytes, limit: int, name: str, sheet: str, strings: int) -> None:
    at = 0
    while True:
        match = pattern.search(w, at)
        if match is None or match.start() >= limit:
            return
        at = match.end()
        start = w.rfind(b"<", 0, match.start())
        token = CELL_TOKEN.match(w, start) if start >= 0 else None
        if not token or token.group(2) != b"c" or token.end() <= match.start():
            continue                        # `t="s"` outside a cell's own tag
        value = CELL_VALUE.search(w, token.end(), token.end() + TAG_REACH)
        text = value.group(2) if value else b""
        ref = attribute(ATTR_R, token.group(3)) or b"?"
        cell = ref.decode("ascii", "replace")
        shown = text[:40].decode("utf-8", "replace")
        if text.isdigit() and len(text) < 20:
            raise LedgerError(
                f"工作簿“{name}”的工作表“{sheet}”的单元格 {cell} 引用第 {int(text):,} 号共享字符串，但共享字符串表只有 "
                f"{strings:,} 个（编号 0-{strings - 1:,}）：文件已损坏或被篡改，已拒绝读取。",
                f"Cell {cell} of sheet '{sheet}' in workbook '{name}' refers to shared string {int(text):,}, but the "
                f"shared-strings table holds {strings:,} (0-{strings - 1:,}): the file is damaged or was tampered "
                "with; refused.")
        raise LedgerError(
            f"工作簿“{name}”的工作表“{sheet}”的单元格 {cell} 的共享字符串编号“{shown}”不是有效编号"
            f"（读取程序会把它读成另一个字符串）：文件已损坏或被篡改，已拒绝读取。",
            f"Cell {cell} of sheet '{sheet}' in workbook '{name}' has the shared-string index '{shown}', which is "
            "not a valid index (a reader would read another string for it): the file is damaged or was tampered "
            "with; refused.")
