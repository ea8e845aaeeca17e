"""A copy of the ledger workbook with every finding marked where it is.

Each cell a finding cites is filled in its severity's colour (the most severe wins)
and carries a comment naming the rule(s); a first sheet lists every finding with a
link to its first cell. The input file is only read. Everything we write is text
that cannot become a formula: strings are stored as strings (data type "s") and
those a spreadsheet would read as a formula also get Excel's quote prefix.

openpyxl rewrites the workbook, so what it does not model (charts, images, pivot
tables) is not carried into the copy; the original keeps them.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

from finaudit.atomic import replacing_path
from finaudit.audit.catalogue import code_title
from finaudit.errors import UsageError
from finaudit.findings import SEVERITY_RANK
from finaudit.intake.schema import enum_label
from finaudit.report.labels import FORMULA_START, SEVERITY_LABEL, basis_text, evidence_cells

FILLS = {"violation": "FFC7CE", "warning": "FFE699", "info": "DDEBF7"}
SHEET_TITLE = {"zh": "审计发现", "en": "Findings"}
HEADERS = {"zh": ["级别", "规则", "名称", "对象", "缺口（元）", "说明", "证据", "依据"],
           "en": ["Severity", "Rule", "Title", "Subject", "Shortfall (yuan)", "Message", "Evidence", "Basis"]}
WIDTHS = [8, 30, 36, 30, 16, 80, 30, 60]
COMMENT_FINDINGS = 5        # findings spelled out in one cell's comment; the rest are counted
COMMENT_MESSAGE_CHARS = 300
CELL_CHARS = 2000           # long evidence lists are cut in the findings sheet
_CELL = re.compile(r"^([A-Z]{1,3})?(\d+)$")
_SUFFIXES = (".xlsx", ".xlsm")


def _check_paths(source: Path, out: Path) -> None:
    if not source.is_file() or source.suffix.lower() not in _SUFFIXES:
        raise UsageError(f"只能在 xlsx 或 xlsm 工作簿上标注发现，“{source.name}”不是这样的工作簿。",
                         f"Findings can only be marked in an .xlsx or .xlsm workbook; '{source.name}' is not one.")
    if out.resolve() == source.resolve() or (out.exists() and os.path.samefile(out, source)):
        raise UsageError(f"标注副本不能覆盖原台账“{source.name}”，请另给一个输出文件名。",
                         f"The annotated copy cannot overwrite the ledger '{source.name}'; give another file name.")
    if out.suffix.lower() != source.suffix.lower():
        raise UsageError(f"标注副本“{out.name}”的扩展名应与台账相同（{source.suffix}）。",
                         f"The annotated copy '{out.name}' must have the ledger's extension ({source.suffix}).")


def _text(value: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def put(ws, row: int, column: int, value):
    """Writes a value that stays a value: strings are never formulas, error codes or dates."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        text = _text(value)[:32767]
        cell.value = text
        cell.data_type = "s"
        if text.startswith(FORMULA_START):
            cell.quotePrefix = True     # Excel keeps it text even when the cell is edited
    else:
        cell.value = value
    return cell


def _target(ws, evidence):
    """The cell an evidence item names; a whole row marks its first cell, a merged cell its anchor."""
    match = _CELL.match(evidence.cell.rsplit("!", 1)[-1])
    letter = match.group(1) if match and match.group(1) else "A"
    coordinate = f"{letter}{evidence.row}"
    for merged in ws.merged_cells.ranges:
        if coordinate in merged:
            return ws.cell(row=merged.min_row, column=merged.min_col)
    return ws[coordinate]


def _comment_text(findings: list, lang: str) -> str:
    lines = []
    for finding in findings[:COMMENT_FINDINGS]:
        message = finding.text(lang)
        if len(message) > COMMENT_MESSAGE_CHARS:
            message = message[:COMMENT_MESSAGE_CHARS - 1] + "…"
        lines.append(f"[{SEVERITY_LABEL[lang][finding.severity]}] {finding.rule_id}: {message}")
    more = len(findings) - COMMENT_FINDINGS
    if more > 0:
        lines.append(f"……另有 {more} 项，见“{SHEET_TITLE['zh']}”表" if lang == "zh"
                     else f"… and {more} more, see the '{SHEET_TITLE['en']}' sheet")
    return _text("\n".join(lines))


def _mark_cells(book, findings: list, lang: str) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    cited: dict[tuple[str, str], tuple[object, list]] = {}
    for finding in findings:
        for evidence in finding.evidence:
            if evidence.sheet not in book.sheetnames:
                continue
            cell = _target(book[evidence.sheet], evidence)
            entry = cited.setdefault((evidence.sheet, cell.coordinate), (cell, []))
            if not entry[1] or entry[1][-1] is not finding:     # a finding may cite a cell twice
                entry[1].append(finding)
    for cell, cell_findings in cited.values():
        worst = max(cell_findings, key=lambda f: SEVERITY_RANK[f.severity]).severity
        cell.fill = PatternFill("solid", start_color=FILLS[worst], end_color=FILLS[worst])
        text = _comment_text(cell_findings, lang)
        if cell.comment is not None:        # the bureau's own note stays, ours follows it
            text = f"{cell.comment.text}\n——\n{text}"
        cell.comment = Comment(text, "finaudit", width=360, height=180)


def _subject_text(subject: dict, lang: str) -> str:
    year = subject.get("year")
    parts = [subject.get("region_name") or subject.get("region_code"),
             (f"{year}年" if lang == "zh" else str(year)) if year else None,
             enum_label("level", subject.get("level"), lang) if subject.get("level") else None,
             ((f"学校代码{subject['school_id']}" if lang == "zh" else f"school {subject['school_id']}")
              if subject.get("school_id") else None)]
    return " ".join(str(p) for p in parts if p)


def _link(evidence) -> str:
    """An internal link target: 'sheet'!A1, quotes doubled as Excel requires."""
    match = _CELL.match(evidence.cell.rsplit("!", 1)[-1])
    letter = match.group(1) if match and match.group(1) else "A"
    return "'{}'!{}{}".format(evidence.sheet.replace("'", "''"), letter, evidence.row)


def _findings_sheet(book, result, lang: str) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.hyperlink import Hyperlink

    ws = book.create_sheet(SHEET_TITLE[lang], 0)
    for column, header in enumerate(HEADERS[lang], start=1):
        put(ws, 1, column, header).font = Font(bold=True)
        ws.column_dimensions[get_column_letter(column)].width = WIDTHS[column - 1]
    for row, finding in enumerate(result.findings, start=2):
        severity = put(ws, row, 1, SEVERITY_LABEL[lang][finding.severity])
        severity.fill = PatternFill("solid", start_color=FILLS[finding.severity], end_color=FILLS[finding.severity])
        put(ws, row, 2, finding.rule_id)
        put(ws, row, 3, code_title(finding.rule_id, lang, result.rules))
        put(ws, row, 4, _subject_text(finding.subject, lang))
        put(ws, row, 5, finding.shortfall_yuan).number_format = "#,##0.00"
        wrap = Alignment(wrap_text=True, vertical="top")
        put(ws, row, 6, finding.text(lang)).alignment = wrap
        evidence = put(ws, row, 7, evidence_cells(finding)[:CELL_CHARS])
        evidence.alignment = wrap
        put(ws, row, 8, basis_text(finding, lang)[:CELL_CHARS]).alignment = wrap
        first = next((e for e in finding.evidence if e.sheet in book.sheetnames), None)
        if first is not None:
            evidence.hyperlink = Hyperlink(ref=evidence.coordinate, location=_link(first))
            evidence.font = Font(color="0563C1", underline="single")
    ws.freeze_panes = "A2"
    # Printed for the working papers: landscape, every column on the page width.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS[lang]))}{max(1, len(result.findings) + 1)}"
    for sheet in book.worksheets:           # one selected tab: several would group the sheets
        sheet.sheet_view.tabSelected = sheet is ws
    book.active = 0


def annotate_workbook(result, out_path, lang: str = "zh") -> None:
    """Writes a marked copy of the audited workbook to out_path; the ledger itself is never written."""
    import openpyxl

    source, out = Path(result.ledger.path), Path(out_path)
    _check_paths(source, out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # openpyxl warns about extensions it drops from the copy
        book = openpyxl.load_workbook(source, keep_vba=source.suffix.lower() == ".xlsm")
    _mark_cells(book, result.findings, lang)
    _findings_sheet(book, result, lang)
    with replacing_path(out) as temp:       # a failure never leaves half a workbook
        book.save(temp)
