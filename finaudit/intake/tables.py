"""Reading a sheet held as a CSV or Parquet file: encodings, delimiters, ragged records and
lines too long to be a ledger's, then the same header search as a workbook's."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from finaudit.errors import LedgerError
from finaudit.intake.headers import HEADER_SCAN_ROWS, find_header
from finaudit.intake.schema import SheetSchema
from finaudit.intake.sheets import RawSheet, sheet_units
from finaudit.intake.wide import unpivot


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))


MAX_LINE_CHARS = 1_000_000          # a CSV line longer than this is no ledger's


MAX_FIELDS = 10_000                 # nor a record with more fields


_NEWLINE = re.compile(r"[\r\n]")


def _decode(path: Path) -> str:
    """The text of a CSV: UTF-16 or UTF-32 with a byte-order mark (Excel's "Unicode text"),
    UTF-8 (with or without one), or GBK/GB18030."""
    data = path.read_bytes()
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    else:
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if "\x00" not in text[:4096]:
                return text
            break
    if b"\x00" in data[:4096]:
        raise LedgerError(
            f"无法解码“{path.name}”：它像是没有字节顺序标记（BOM）的 UTF-16 文本。请另存为 UTF-8 编码的 CSV 后重试。",
            f"Cannot decode '{path.name}': it looks like UTF-16 text without a byte-order mark; save it as a "
            "UTF-8 CSV and try again.",
        )
    raise LedgerError(
        f"无法解码“{path.name}”：既不是 UTF-8、UTF-16 也不是 GBK/GB18030 编码。",
        f"Cannot decode '{path.name}': it is neither UTF-8, UTF-16 nor GBK/GB18030.",
    )


def _refuse_long_lines(text: str, path: Path) -> None:
    """A line longer than MAX_LINE_CHARS, found without splitting the text: every run of more
    than MAX_LINE_CHARS characters holds an aligned window of half that with no line break."""
    half = MAX_LINE_CHARS // 2
    start = 0
    while start + half <= len(text):
        if _NEWLINE.search(text, start, start + half) is not None:
            start += half
            continue
        before = max(text.rfind("\n", 0, start), text.rfind("\r", 0, start))
        after = _NEWLINE.search(text, start + half)
        end = after.start() if after else len(text)
        if end - before - 1 > MAX_LINE_CHARS:
            line = text.count("\n", 0, start) + 1
            raise LedgerError(
                f"“{path.name}”的第 {line:,} 行长达 {end - before - 1:,} 个字符，超过上限 {MAX_LINE_CHARS:,} 个，"
                "不像台账（可能缺少换行符或引号未闭合），已拒绝读取。",
                f"Line {line:,} of '{path.name}' is {end - before - 1:,} characters long, over the limit of "
                f"{MAX_LINE_CHARS:,}: not a ledger's (a missing line break or an unclosed quote?); refused.",
            )
        start = end


def _records(text: str, delimiter: str, path: Path):
    """csv.reader's records, refusing one with more than MAX_FIELDS fields or a field csv cannot
    hold, naming its line."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise LedgerError(
                f"无法按表格读取“{path.name}”：第 {reader.line_num:,} 行有一个字段过长或引号不成对（{exc}）。",
                f"Cannot read '{path.name}' as a table: line {reader.line_num:,} holds a field too long or an "
                f"unbalanced quote ({exc}).",
            ) from None
        if len(record) > MAX_FIELDS:
            raise LedgerError(
                f"“{path.name}”的第 {reader.line_num:,} 行有 {len(record):,} 个字段，超过上限 {MAX_FIELDS:,} 个，"
                "不像台账（可能分隔符不对），已拒绝读取。",
                f"Line {reader.line_num:,} of '{path.name}' holds {len(record):,} fields, over the limit of "
                f"{MAX_FIELDS:,}: not a ledger's (the wrong delimiter?); refused.",
            )
        yield record


def _sniff_delimiter(text: str) -> str:
    head = text[:20_000].splitlines()[:HEADER_SCAN_ROWS]
    counts = {d: sum(line.count(d) for line in head) for d in (",", "\t", ";")}
    return max(counts, key=counts.get)


def read_table(path: Path, schema: SheetSchema) -> RawSheet:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return _read_parquet(path, schema)
    text = _decode(path)
    _refuse_long_lines(text, path)
    delimiter = _sniff_delimiter(text)
    head = list(_records("\n".join(text.splitlines()[:HEADER_SCAN_ROWS]), delimiter, path))
    match = find_header(head, schema, path.name)
    positions = match.read_columns()
    ragged = _ragged_records(text, delimiter, match.row_index, len(head[match.row_index]), path)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, skiprows=match.row_index + 1,
            usecols=[pos for _, pos in positions], dtype=str, keep_default_na=False,
            skip_blank_lines=False, engine="c",
        )
    except pd.errors.EmptyDataError:  # a header and no rows: a sheet with nothing to report
        frame = pd.DataFrame({pos: pd.Series(dtype="str") for _, pos in positions})
    except (ValueError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise LedgerError(f"无法按表格读取“{path.name}”：{first}。请检查分隔符和引号。",
                          f"Cannot read '{path.name}' as a table: {first}. Check its delimiters and quotes.") from None
    frame = frame[[pos for _, pos in positions]]
    frame.columns = [name for name, _ in positions]
    # CSV line numbers, as a spreadsheet program opening the file shows them.
    frame["_row"] = np.arange(len(frame), dtype=np.int64) + match.row_index + 2
    return unpivot(RawSheet(
        schema=schema, file=str(path), sheet=path.name, frame=frame, letters=match.letters(),
        units=sheet_units(match, head), ignored_headers=match.ignored, ragged_rows=ragged,
    ), match)


def _ragged_records(text: str, delimiter: str, header_index: int, expected: int,
                    path: Path) -> dict[int, tuple[int, int]]:
    """Records after the header whose number of fields is not the header's (trailing empty
    fields and blank lines aside), by line number."""
    out = {}
    for n, record in enumerate(_records(text, delimiter, path)):
        if n <= header_index or not record:
            continue
        fields = len(record)
        while fields > expected and not record[fields - 1].strip():
            fields -= 1
        if fields != expected and any(c.strip() for c in record):
            out[n + 1] = (fields, expected)
    return out


def _read_parquet(path: Path, schema: SheetSchema) -> RawSheet:
    frame = pd.read_parquet(path)
    match = find_header([list(frame.columns)], schema, path.name)
    positions = match.read_columns()
    frame = frame.iloc[:, [pos for _, pos in positions]]
    frame.columns = [name for name, _ in positions]
    # Parquet has no header row: the row is the record's 1-based number plus one,
    # the line it has when the file is exported with a header.
    frame = frame.reset_index(drop=True)
    frame["_row"] = np.arange(len(frame), dtype=np.int64) + 2
    return unpivot(RawSheet(
        schema=schema, file=str(path), sheet=path.name, frame=frame, letters=match.letters(),
        units=sheet_units(match, []), ignored_headers=match.ignored,
    ), match)
