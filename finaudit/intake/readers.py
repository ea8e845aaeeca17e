"""Reading the raw cells of each ledger sheet from xlsx, CSV, Parquet or a folder.

A reader finds the sheets, their header rows and units, and returns for every
sheet a RawSheet: the cells of the schema's columns under canonical names, with
the spreadsheet row number of every row. It converts nothing but the cell
storage; normalising values is normalize.py's job.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from finaudit.errors import LedgerError, join_names
from finaudit.intake.guard import check_other, check_workbook
from finaudit.intake.headers import HEADER_SCAN_ROWS, column_letter, find_header, title_unit
from finaudit.intake.schema import SheetSchema, fold, load_schemas

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
# Read by calamine alone: no layout (merged cells, hidden rows) and no formula check.
OTHER_WORKBOOK_SUFFIXES = {".xls", ".xlsb", ".ods"}
TABLE_SUFFIXES = {".csv", ".txt", ".parquet", ".pq"}


@dataclass
class RawSheet:
    schema: SheetSchema
    file: str
    sheet: str                       # the sheet (or file) name as the ledger spells it
    frame: pd.DataFrame              # canonical columns + `_row`
    letters: dict[str, str]          # canonical column -> column letter
    units: dict[str, str | None]     # canonical column -> unit declared for it
    hidden: bool = False
    ignored_headers: list[str] = field(default_factory=list)
    # CSV records whose field count differs from the header's: {row: (fields, header fields)}.
    # An unquoted 1,234 splits one amount into two fields and shifts every cell after it.
    ragged_rows: dict[int, tuple[int, int]] = field(default_factory=dict)
    hidden_rows: list[int] = field(default_factory=list)  # data rows the workbook hides, read all the same
    # Cells of label columns left empty inside a merged range and read as its top cell:
    # {canonical column: [(first row, last row), ...]} (rows of the merged range, top included).
    filled: dict[str, list[tuple[int, int]]] = field(default_factory=dict)


def read_ledger(path: Path) -> list[RawSheet]:
    """Reads every ledger sheet present in a workbook, a table file or a folder."""
    if not path.exists():
        raise LedgerError(f"找不到台账文件“{path}”。", f"Ledger file '{path}' does not exist.")
    if path.is_dir():
        return _read_folder(path)
    if path.stat().st_size == 0:
        raise LedgerError(f"文件“{path.name}”是空文件（0 字节）。", f"'{path.name}' is an empty file (0 bytes).")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_workbook(path)
    if suffix == ".xls" and _starts_with(path, b"PK\x03\x04"):
        raise LedgerError(f"“{path.name}”的扩展名是 .xls，内容却是 xlsx 工作簿：请把扩展名改为 .xlsx 后重试。",
                          f"'{path.name}' is named .xls but holds an xlsx workbook: rename it to .xlsx and try again.")
    if suffix in OTHER_WORKBOOK_SUFFIXES:
        return _read_other_workbook(path)
    if suffix in TABLE_SUFFIXES:
        schema = schema_for_name(path.stem)
        if schema is None:
            raise unknown_sheet_name(path.stem, path)
        return [_read_table(path, schema)]
    raise LedgerError(
        f"无法读取“{path.name}”：不支持的文件类型“{suffix or '无扩展名'}”。"
        "可接受：.xlsx、.xlsm、.xls、.xlsb、.ods、.csv、.parquet 或包含这些文件的文件夹。",
        f"Cannot read '{path.name}': unsupported file type '{suffix or 'none'}'. "
        "Accepted: .xlsx, .xlsm, .xls, .xlsb, .ods, .csv, .parquet, or a folder of them.",
    )


def _starts_with(path: Path, signature: bytes) -> bool:
    with open(path, "rb") as fh:
        return fh.read(len(signature)) == signature


def schema_for_name(name: str) -> SheetSchema | None:
    key = fold(name)
    for schema in load_schemas().values():
        if key in {fold(n) for n in schema.all_names}:
            return schema
    return None


def unknown_sheet_name(name, path) -> LedgerError:
    names = [n for s in load_schemas().values() for n in (s.aliases[0], s.name)]
    return LedgerError(
        f"无法识别“{path.name}”对应的工作表“{name}”。可接受的名称：{join_names(names, 'zh')}。",
        f"Cannot tell which ledger sheet '{path.name}' holds ('{name}'). Accepted names: {join_names(names, 'en')}.",
    )


def require_sheets(found: dict[str, RawSheet], available: list[str], source: Path) -> None:
    for schema in load_schemas().values():
        if schema.required and schema.name not in found:
            accepted = list(schema.aliases) + [schema.name]
            raise LedgerError(
                f"找不到工作表“{schema.aliases[0]}”。已有工作表：{join_names(available, 'zh') or '无'}。"
                f"可接受的名称：{join_names(accepted, 'zh')}。",
                f"Sheet '{schema.name}' not found in '{source.name}'. Sheets present: "
                f"{join_names(available, 'en') or 'none'}. Accepted names: {join_names(accepted, 'en')}.",
            )


def claim_sheet(found: dict, schema: SheetSchema, name: str, source: Path) -> None:
    """Refuses a second sheet for the same schema: which one to audit would be a guess."""
    if schema.name in found:
        raise LedgerError(
            f"“{found[schema.name]}”和“{name}”都像是工作表“{schema.aliases[0]}”，请只保留一个。",
            f"Both '{found[schema.name]}' and '{name}' look like the '{schema.name}' sheet in "
            f"'{source.name}'; keep only one.",
        )


# --- folders ---------------------------------------------------------------

def _read_folder(folder: Path) -> list[RawSheet]:
    found: dict[str, RawSheet] = {}
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES)
    for path in files:
        schema = schema_for_name(path.stem)
        if schema is None:
            continue
        claim_sheet({k: v.sheet for k, v in found.items()}, schema, path.name, folder)
        found[schema.name] = _read_table(path, schema)
    require_sheets(found, [p.name for p in files], folder)
    return list(found.values())


# --- CSV and Parquet -------------------------------------------------------

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


def _read_table(path: Path, schema: SheetSchema) -> RawSheet:
    if path.suffix.lower() in {".parquet", ".pq"}:
        return _read_parquet(path, schema)
    text = _decode(path)
    _refuse_long_lines(text, path)
    delimiter = _sniff_delimiter(text)
    head = list(_records("\n".join(text.splitlines()[:HEADER_SCAN_ROWS]), delimiter, path))
    match = find_header(head, schema, path.name)
    positions = sorted(match.columns.items(), key=lambda kv: kv[1])
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
    return RawSheet(
        schema=schema, file=str(path), sheet=path.name, frame=frame,
        letters={name: column_letter(pos) for name, pos in positions},
        units=sheet_units(match, head), ignored_headers=match.ignored, ragged_rows=ragged,
    )


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
    positions = sorted(match.columns.items(), key=lambda kv: kv[1])
    frame = frame.iloc[:, [pos for _, pos in positions]]
    frame.columns = [name for name, _ in positions]
    # Parquet has no header row: the row is the record's 1-based number plus one,
    # the line it has when the file is exported with a header.
    frame = frame.reset_index(drop=True)
    frame["_row"] = np.arange(len(frame), dtype=np.int64) + 2
    return RawSheet(
        schema=schema, file=str(path), sheet=path.name, frame=frame,
        letters={name: column_letter(pos) for name, pos in positions},
        units=sheet_units(match, []), ignored_headers=match.ignored,
    )


def sheet_units(match, title_rows) -> dict[str, str | None]:
    """Each column's unit: its header's, else the title rows' (单位：万元), else the one unit every
    other money header of the sheet declares (上年同口径数 beside 金额（万元） is in 万元 too)."""
    sheet_unit = title_unit(cell for row in title_rows[: match.row_index] for cell in row)
    declared = {unit for unit in match.units.values() if unit}
    shared = declared.pop() if len(declared) == 1 else None
    return {name: (unit or sheet_unit or shared) for name, unit in match.units.items()}


# --- workbooks -------------------------------------------------------------

def _read_workbook(path: Path) -> list[RawSheet]:
    # Bombs, huge ranges, encryption, parts readers would resolve differently: refused before
    # any parser opens the file. Its view of the sheets is the one every reader must share.
    checked = check_workbook(path)
    if checked.view.strict:
        raise _strict(path)
    import openpyxl  # defusedxml makes openpyxl refuse entity declarations

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise _unreadable(path, exc) from None
    try:
        _same_sheets(path, checked.view.names, book.sheetnames, "openpyxl")
        probes = _probe_sheets(path, book, checked)
    except LedgerError:
        raise
    except Exception as exc:  # malformed sheet XML: openpyxl raises ParseError, ValueError, ...
        checked.refuse_string_indexes()     # IndexError: a string index past the table, named
        raise _unreadable(path, exc) from None
    finally:
        book.close()
    import fastexcel

    try:
        reader = fastexcel.read_excel(_source(path))   # one reader for every sheet of the workbook
        _same_sheets(path, checked.view.names, reader.sheet_names, "calamine")
        sheets = []
        for key, probe in probes.items():
            raw = _read_excel_sheet(reader, path, load_schemas()[key], *probe)   # by name, never by position
            _apply_layout(raw, probe[1], checked.sheets.get(probe[0]))
            sheets.append(raw)
    except LedgerError:
        raise
    except Exception as exc:  # calamine's errors on XML that openpyxl's probe did not reach
        checked.refuse_string_indexes()
        raise _unreadable(path, exc) from None
    return sheets


def _same_sheets(path: Path, names: list[str], seen, reader: str) -> None:
    """Refuses a workbook whose sheets a reader lists otherwise than xl/workbook.xml and its
    relationships do: matched by name or by position, one of them would be read as another."""
    seen = list(seen)
    if seen == names:
        return
    raise LedgerError(
        f"工作簿“{path.name}”的工作表列表在 {reader} 中与 xl/workbook.xml 不一致"
        f"（{join_names(seen, 'zh') or '无'}；应为 {join_names(names, 'zh') or '无'}），"
        "无法确定读取的是哪张工作表，已拒绝读取。",
        f"Workbook '{path.name}' lists its sheets in {reader} otherwise than xl/workbook.xml does "
        f"({join_names(seen, 'en') or 'none'}; expected {join_names(names, 'en') or 'none'}), so which "
        "sheet is read cannot be told; refused.")


def _strict(path: Path) -> LedgerError:
    return LedgerError(
        f"工作簿“{path.name}”是“Strict Open XML 电子表格”格式，无法可靠读取；"
        "请在 Excel 中另存为“Excel 工作簿 (*.xlsx)”后重试。",
        f"Workbook '{path.name}' is a Strict Open XML spreadsheet, which cannot be read reliably; "
        "save it in Excel as an ordinary 'Excel Workbook (*.xlsx)' and try again.")


def _source(path: Path):
    """What fastexcel opens: the path, or the file's bytes when its name is not UTF-8 (a GBK
    name from a Windows zip, which Python keeps as surrogates and Rust cannot take)."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return path.read_bytes()
    return text


def _unreadable(path: Path, exc: Exception) -> LedgerError:
    return LedgerError(
        f"无法读取工作簿“{path.name}”：文件已损坏或不是 xlsx 格式（{type(exc).__name__}）。",
        f"Cannot read workbook '{path.name}': the file is damaged or not an xlsx workbook ({type(exc).__name__}).",
    )


def _probe_sheets(path: Path, book, checked) -> dict:
    """Each ledger sheet's name, header match, first rows and hidden state, from openpyxl's
    streaming read of the first rows (the bulk read is fastexcel's)."""
    probes = {}
    for name in book.sheetnames:
        schema = schema_for_name(name)
        if schema is None:
            continue
        claim_sheet({k: v[0] for k, v in probes.items()}, schema, name, path)
        ws = book[name]
        # Only the first rows are parsed here (openpyxl streams); the bulk read is fastexcel's.
        head = [list(r) for r in ws.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, values_only=True)]
        if not schema.required and not any(c is not None and str(c).strip() for row in head for c in row):
            continue  # an optional sheet left empty is the same as no sheet
        match = find_header(head, schema, name)
        checked.refuse_formulas_without_value(name, map(column_letter, match.columns.values()), match.row_index + 2)
        probes[schema.name] = (name, match, head, ws.sheet_state != "visible")
    require_sheets(probes, book.sheetnames, path)
    return probes


def _read_other_workbook(path: Path) -> list[RawSheet]:
    """.xls, .xlsb and .ods, through calamine: the zip formats first pass the guard's zip
    checks; the first rows of each sheet are read as text to find its header."""
    suffix = path.suffix.lower()
    check_other(path)
    import fastexcel

    try:
        reader = fastexcel.read_excel(_source(path))
        probes = {}
        for name in reader.sheet_names:
            schema = schema_for_name(name)
            if schema is None:
                continue
            claim_sheet({k: v[0] for k, v in probes.items()}, schema, name, path)
            sheet = reader.load_sheet(name, header_row=None, n_rows=HEADER_SCAN_ROWS, dtypes="string")
            head = [[None if pd.isna(c) else c for c in row]
                    for row in sheet.to_pandas().itertuples(index=False)]
            if not schema.required and not any(c is not None and str(c).strip() for row in head for c in row):
                continue
            probes[schema.name] = (name, find_header(head, schema, name), head, sheet.visible != "visible")
        require_sheets(probes, reader.sheet_names, path)
        return [_read_excel_sheet(reader, path, load_schemas()[key], *probe) for key, probe in probes.items()]
    except LedgerError:
        raise
    except Exception as exc:  # calamine's errors: a damaged, encrypted or mislabelled file
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise LedgerError(
            f"无法打开工作簿“{path.name}”：文件已损坏、设有密码或不是 {suffix[1:]} 格式（{first}）。",
            f"Cannot open workbook '{path.name}': the file is damaged, password-protected or not "
            f"{suffix[1:]} ({first}).",
        ) from None


# Columns whose merged cells are read as the merged range's value in every row it spans, as
# Excel shows them: labels. A quantity merged over rows is read once, at its top cell.
_LABEL_TYPES = {"year", "region_code", "text", "enum"}


def _apply_layout(raw: RawSheet, match, report) -> None:
    """Fills label cells inside merged ranges down from the range's top cell, and notes the
    hidden data rows, both from the guard's scan of the sheet XML."""
    if report is None:
        return
    first = match.row_index + 2                     # the first data row, 1-based
    frame = raw.frame
    last = first + len(frame) - 1
    raw.hidden_rows = sorted(r for r in report.hidden_rows if first <= r <= last)
    positions = {pos + 1: col for col, pos in match.columns.items()
                 if raw.schema.column(col).type in _LABEL_TYPES}
    for top, left, bottom, _right in sorted(report.merged):
        col = positions.get(left)
        if col is None or bottom <= top or top < first or top > last:
            continue
        bottom = min(bottom, last)
        below = slice(top - first + 1, bottom - first + 1)
        frame.iloc[below, frame.columns.get_loc(col)] = frame.iat[top - first, frame.columns.get_loc(col)]
        raw.filled.setdefault(col, []).append((top, bottom))


def _read_excel_sheet(reader, path: Path, schema: SheetSchema, name: str, match, head, hidden: bool) -> RawSheet:
    """The sheet's cells through fastexcel, found by name."""
    positions = sorted(match.columns.items(), key=lambda kv: kv[1])
    letters = {col: column_letter(pos) for col, pos in positions}
    numeric = {col for col, _ in positions if schema.column(col).numeric}
    # Numbers are read as floats: fastexcel's float-to-string keeps only 11 significant
    # digits, which would silently round large amounts.
    dtypes = {pos: ("float" if col in numeric else "string") for col, pos in positions}
    # header_row=None: the header was found already, and fastexcel's own reading of it makes
    # repeated names unique in time that grows with their count (a header cell repeated over
    # 6,000 columns of a 30 KB .ods: 85 s). The data start the row after the header.
    sheet = reader.load_sheet(name, header_row=None, skip_rows=match.row_index + 1,
                              use_columns=[pos for _, pos in positions], dtypes=dtypes)
    table, errors = sheet.to_arrow_with_errors()
    frame = table.to_pandas()
    if frame.shape[1] != len(positions):
        raise LedgerError(
            f"读取工作表“{name}”时列数不符（{frame.shape[1]} ≠ {len(positions)}）。",
            f"Sheet '{name}' came back with {frame.shape[1]} columns instead of {len(positions)}.",
        )
    frame.columns = [col for col, _ in positions]
    if errors is not None and errors.errors and numeric:
        frame = _recover_text_cells(reader, name, match, positions, numeric, frame)
    frame["_row"] = np.arange(len(frame), dtype=np.int64) + match.row_index + 2
    return RawSheet(
        schema=schema, file=str(path), sheet=name, frame=frame, letters=letters,
        units=sheet_units(match, head), hidden=hidden, ignored_headers=match.ignored,
    )


def _recover_text_cells(reader, name, match, positions, numeric, frame) -> pd.DataFrame:
    """Numbers typed as text ("1,234.50", "２０２３年") fail the float read: read those
    columns again as text and keep, for the failed cells only, what was written."""
    # fastexcel reports error offsets within the sheet's used range, not within the
    # selected columns, so every numeric column is read again: only messy sheets pay this.
    failed = numeric
    text = reader.load_sheet(name, header_row=None, skip_rows=match.row_index + 1,
                             use_columns=[pos for col, pos in positions if col in failed], dtypes="string").to_pandas()
    text.columns = [col for col, _ in positions if col in failed]
    for col in failed:
        typed = frame[col]
        as_text = typed.map(repr, na_action="ignore").astype(object)
        as_text[typed.isna()] = text[col][typed.isna()].to_numpy()
        frame[col] = as_text.astype("str")
    return frame
