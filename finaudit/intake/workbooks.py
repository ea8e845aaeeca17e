"""Reading the ledger sheets of a workbook: xlsx/xlsm through the guard and fastexcel (openpyxl
where the file is strict OOXML), .xls/.xlsb/.ods through calamine; header rows, hidden
sheets and rows (each sheet's cells: excel_sheets.py)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

from finaudit.errors import LedgerError, join_names
from finaudit.intake.excel_sheets import apply_layout, as_frame, merged_labels, read_sheet, source, unpivoted
from finaudit.intake.guard import check_other, open_workbook
from finaudit.intake.headers import HEADER_SCAN_ROWS, column_letter, find_header
from finaudit.intake.schema import load_schemas
from finaudit.intake.sheets import RawSheet, claim_sheet, require_sheets, schema_for_name

# pandas is imported where a sheet needs it (.xls/.ods here; see excel_sheets.py), for start-up:
# the parse server, which forks every parse child, starts without it.


def read_workbook(path: Path, scan_beside: bool = False, arrow: bool = False, unfreed: list | None = None) -> list[RawSheet]:
    """The ledger sheets of an xlsx/xlsm. `scan_beside`: the guard's scan of the worksheets
    runs in a thread while the readers parse, for a caller in a disposable process (the parse
    child, isolation.py), where a reader that crashes on a file the scan would have refused
    costs only that process, and whose parent asks the guard alone for the reason. `arrow`:
    a sheet nothing had to change is kept as the reader's Arrow table (RawSheet.table, frame
    None), for a caller that writes it on as Arrow: no pandas copy made and undone. `unfreed`
    (with scan_beside): see _read_sheets."""
    # Bombs, parts readers would resolve differently, encryption: refused before any parser
    # opens the file. Its view of the sheets is the one every reader must share.
    opened = open_workbook(path)
    if opened.view.strict:
        raise _strict(path)
    if not scan_beside:
        checked = opened.scan()                 # huge ranges too, before any parser
        return _read_workbook(path, opened, lambda: checked, arrow)
    with ThreadPoolExecutor(1, thread_name_prefix="finaudit-guard") as pool:
        try:
            scanning = _start(pool, opened.scan)
        except RuntimeError:                    # no thread under the memory limit: scan first
            checked = opened.scan()
            return _read_workbook(path, opened, lambda: checked, arrow)
        try:
            return _read_workbook(path, opened, scanning.result, arrow, beside=True, unfreed=unfreed)
        except BaseException as exc:
            # The guard's refusal wins: it names what is wrong with the file, where a reader
            # fed what the guard refuses fails in its own terms. (fastexcel's PanicException
            # derives from BaseException.)
            if not isinstance(exc, (KeyboardInterrupt, SystemExit)):
                scanning.result()
            raise


def _start(pool, work):
    """work() submitted to a thread with a small stack: under the child's address-space limit
    the default 8 MiB is taken from the parse (the scan streams in bounded chunks)."""
    import threading

    before = threading.stack_size(_SCAN_STACK)
    try:
        return pool.submit(work)
    finally:
        threading.stack_size(before)


_SCAN_STACK = 1024 * 1024


def _read_workbook(path: Path, opened, scanned, arrow: bool, beside: bool = False,
                   unfreed: list | None = None) -> list[RawSheet]:
    """The sheets, read by openpyxl (the first rows) and fastexcel; `scanned()` gives the
    guard's CheckedWorkbook, waiting for its scan when it runs `beside`: see _read_sheets."""
    import openpyxl  # defusedxml makes openpyxl refuse entity declarations

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise _unreadable(path, exc) from None
    try:
        _same_sheets(path, opened.view.names, book.sheetnames, "openpyxl")
        probes = _probe_sheets(path, book)
    except LedgerError:
        raise
    except Exception as exc:  # malformed sheet XML: openpyxl raises ParseError, ValueError, ...
        scanned().refuse_string_indexes()     # IndexError: a string index past the table, named
        raise _unreadable(path, exc) from None
    finally:
        book.close()
    import fastexcel

    try:
        reader = fastexcel.read_excel(source(path))   # one reader for every sheet of the workbook
        _same_sheets(path, opened.view.names, reader.sheet_names, "calamine")
        raws = _read_sheets(path, reader, probes, opened if beside else None, scanned, unfreed)
        checked = scanned()
        if unfreed and any(not arrow or probes[key][1].years or merged_labels(raw, probes[key][1],
                                                                               checked.sheets.get(probes[key][0]))
                           for key, raw in raws.items()):
            unfreed.clear()                     # a frame is made below: fastexcel's cells go first, as before
        sheets = []
        for key, raw in raws.items():
            name, match = probes[key][0], probes[key][1]
            # A formula saved without its result reads as empty, or 0: refused, not read as that.
            checked.refuse_formulas_without_value(name, [column_letter(pos) for _, pos in match.read_columns()],
                                                  match.row_index + 2)
            apply_layout(raw, match, checked.sheets.get(name))
            if match.years or not arrow:
                as_frame(raw)
            sheets.append(unpivoted(raw, match))
    except LedgerError:
        raise
    except Exception as exc:  # calamine's errors on XML that openpyxl's probe did not reach
        scanned().refuse_string_indexes()
        raise _unreadable(path, exc) from None
    return sheets


def _read_sheets(path: Path, reader, probes: dict, opened, scanned, unfreed: list | None) -> dict[str, RawSheet]:
    """Each ledger sheet read by fastexcel (by name, never by position), by schema key.
    `opened` (in the parse child, where the guard's scan runs beside): the largest sheet is
    read here while the others are read beside it, once the scan has ended (three busy threads
    on two cores slow the largest read by the third), on a reader of their own (a reader serves
    one call at a time; fastexcel lets go of the GIL during a read), unless that reader's copy
    of the shared strings would be large. `unfreed`: where the largest sheet's reader and
    cells are put, for a caller whose process ends without freeing them: freeing a 1M-row
    sheet's millions of cells one by one (and glibc consolidating them at the next large
    allocation) cost the parse child 0.4 s on the run's path."""
    def read(on, keys, kept=None) -> dict[str, RawSheet]:
        return {key: read_sheet(on, path, load_schemas()[key], *probes[key], unfreed=kept) for key in keys}

    if opened is None or not probes:
        return read(reader, probes)
    sizes = opened.sizes()
    largest = max(probes, key=lambda key: sizes.get(probes[key][0], 0))
    rest = [key for key in probes if key != largest]
    if unfreed is not None:
        unfreed.append(reader)
    if not rest or (opened.strings or 0) > _SECOND_READER_STRINGS:
        return _in_order(probes, read(reader, rest), read(reader, [largest], unfreed))
    import fastexcel

    def read_the_rest() -> dict[str, RawSheet]:
        scanned()                               # once the scan has ended: see above
        return read(fastexcel.read_excel(source(path)), rest)

    with ThreadPoolExecutor(1, thread_name_prefix="finaudit-read") as pool:
        try:
            others = pool.submit(read_the_rest)
        except RuntimeError:                    # no thread under the memory limit: one after the other
            return _in_order(probes, read(reader, rest), read(reader, [largest], unfreed))
        largest_read = read(reader, [largest], unfreed)
        return _in_order(probes, others.result(), largest_read)


def _in_order(probes: dict, *parts: dict) -> dict:
    """The sheets read in `parts`, in the probes' (the workbook's) order. One after the other,
    the others are read first: only the largest's cells are left unfreed, never two at once."""
    done = {key: raw for part in parts for key, raw in part.items()}
    return {key: done[key] for key in probes}


_SECOND_READER_STRINGS = 200_000      # shared strings a second reader may copy (~10 MB)


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


def _unreadable(path: Path, exc: Exception) -> LedgerError:
    return LedgerError(
        f"无法读取工作簿“{path.name}”：文件已损坏或不是 xlsx 格式（{type(exc).__name__}）。",
        f"Cannot read workbook '{path.name}': the file is damaged or not an xlsx workbook ({type(exc).__name__}).",
    )


def _probe_sheets(path: Path, book) -> dict:
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
        probes[schema.name] = (name, match, head, ws.sheet_state != "visible")
    require_sheets(probes, book.sheetnames, path)
    return probes


def read_other_workbook(path: Path) -> list[RawSheet]:
    """.xls, .xlsb and .ods, through calamine: the zip formats first pass the guard's zip
    checks; the first rows of each sheet are read as text to find its header. Merged label
    cells are filled as Excel shows them (.xls: calamine's ranges; .xlsb: the guard's), and
    an .xlsb's hidden rows noted; an .ods with cells merged over rows is refused."""
    suffix = path.suffix.lower()
    layouts = check_other(path)      # what calamine does not expose: .xlsb hidden rows and merges
    import fastexcel
    import pandas as pd

    try:
        reader = fastexcel.read_excel(source(path))
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
        _refuse_unseen_merges(path, [probe[0] for probe in probes.values()], {s for s, r in layouts.items() if r is None})
        raws = {key: read_sheet(reader, path, load_schemas()[key], *probe) for key, probe in probes.items()}
        for key, raw in raws.items():
            name, match = probes[key][0], probes[key][1]
            apply_layout(raw, match, _xls_merges(path, name) if suffix == ".xls" else layouts.get(name))
            as_frame(raw)
        return [unpivoted(raw, probes[key][1]) for key, raw in raws.items()]
    except LedgerError:
        raise
    except Exception as exc:  # calamine's errors: a damaged, encrypted or mislabelled file
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise LedgerError(
            f"无法打开工作簿“{path.name}”：文件已损坏、设有密码或不是 {suffix[1:]} 格式（{first}）。",
            f"Cannot open workbook '{path.name}': the file is damaged, password-protected or not "
            f"{suffix[1:]} ({first}).",
        ) from None


def _refuse_unseen_merges(path: Path, sheets: list[str], merged: set[str]) -> None:
    """A ledger sheet with cells merged over rows that the reader cannot expose (.ods through
    calamine): the rows under a merged label would read as empty, so say what to do instead."""
    hit = [name for name in sheets if name in merged]
    if hit:
        raise LedgerError(
            f"工作表“{hit[0]}”有向下合并的单元格，{path.suffix[1:]} 文件读不出合并范围（合并范围下方的行会被读成空白）；"
            "请另存为“Excel 工作簿 (*.xlsx)”后重试。",
            f"Sheet '{hit[0]}' has cells merged over rows, and a {path.suffix[1:]} file does not expose merged "
            "ranges (the rows under a merged label would read as empty); save it as an Excel Workbook (*.xlsx) "
            "and try again.")


def _xls_merges(path: Path, sheet: str):
    """The merged ranges of an .xls sheet, as calamine reads them (0-based, inclusive), in the
    shape of the guard's report of an xlsx: 1-based (top, left, bottom, right)."""
    import python_calamine   # start-up: only an .xls ledger needs it

    ranges = python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).merged_cell_ranges
    merged = [(top + 1, left + 1, bottom + 1, right + 1) for (top, left), (bottom, right) in ranges or []]
    return SimpleNamespace(merged=merged, hidden_rows=[])
