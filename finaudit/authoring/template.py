"""The blank ledger workbook, generated from schemas/ alone (`finaudit template`).

Every sheet, header, comment, dropdown and number format below is derived from
schemas/*.yaml and schemas/enums.yaml: adding a column there adds it here. The
layout is the one the loader reads (header in row 1, data from row 2), so a
filled-in template validates without change.
"""
from __future__ import annotations

import re
from pathlib import Path

from finaudit.atomic import replacing_path
from finaudit.errors import UsageError, join_names
from finaudit.intake.schema import YEAR_RANGE, Column, SheetSchema, enums, load_schemas
from finaudit.report.labels import width as display_width

INSTRUCTIONS = {"zh": "填表说明", "en": "Instructions"}
LISTS_SHEET = "_lists"          # only used when a dropdown list is too long to write inline
FIRST_DATA_ROW, LAST_ROW = 2, 1_048_576
NUMBER_FORMATS = {"money": "#,##0.00", "count": "0", "number": "0.00", "year": "0", "region_code": "@"}
REQUIRED_FILL = "FCE4D6"        # headers of required columns
OPTIONAL_FILL = "DDEBF7"
_CJK = re.compile(r"[\u3400-\u9fff]")

TYPE_TEXT = {
    "year": {"zh": "年份，四位数字，如 2023（“2023年”亦可）",
             "en": "Year, four digits, e.g. 2023"},
    "region_code": {"zh": "6位数字行政区划代码，如 130682",
                    "en": "Six-digit administrative division code, e.g. 130682"},
    "text": {"zh": "文字", "en": "Text"},
    "enum": {"zh": "从下拉列表中选择", "en": "Choose from the dropdown list"},
    "money": {"zh": "金额，默认单位元；可将表头改为“（万元）”或“（亿元）”",
              "en": "Amount in yuan; a header such as amount (万元) declares another unit"},
    "count": {"zh": "非负整数", "en": "Whole number, not negative"},
    "number": {"zh": "数字，按该列说明的单位填写（百分比写 93.5，不写 0.935 或 93.5%格式的单元格）",
               "en": "Number in the unit the column states (a percentage as 93.5, not 0.935 or a percent-formatted cell)"},
}
LABELS = {
    "zh": {"required": "必填", "optional": "选填", "sheet_required": "必需工作表", "sheet_optional": "可选工作表",
           "columns": ("表头", "字段名", "必填/选填", "填写要求", "可选值", "说明", "可接受的表头"),
           "default": "默认：", "title": "教育经费保障台账 填表说明",
           "notes": [
               "每个工作表第1行是表头，请勿修改表头文字，从第2行起每行填写一条记录。",
               "表头为橙色的列必填，蓝色的列选填；可删除不用的选填列和可选工作表。",
               "金额默认以元为单位；如按万元或亿元填报，请将表头改为如“金额（万元）”，finaudit 会换算为元。",
               "带下拉列表的列可选中文名称，也可填写英文代码；行政区划代码按文本填写，保留6位数字。",
               "“合计”“小计”等汇总行不会与明细行相加，不必填写。",
           ]},
    "en": {"required": "required", "optional": "optional", "sheet_required": "required sheet",
           "sheet_optional": "optional sheet",
           "columns": ("header", "field", "required/optional", "what to enter", "allowed values",
                       "description", "accepted headers"),
           "default": "default: ", "title": "Education-finance ledger: instructions",
           "notes": [
               "Row 1 of every sheet is the header: keep its text; enter one record per row from row 2.",
               "Orange headers are required columns, blue ones optional; unused optional columns and sheets may be deleted.",
               "Amounts are in yuan; to enter 万元 or 亿元, change the header to e.g. amount (万元) and finaudit converts.",
               "Dropdown columns accept the English codes or the Chinese names; region codes are text of six digits.",
               "Subtotal rows (合计, 小计) are not added to detail rows and need not be entered.",
           ]},
}


def write_template(path, lang: str = "zh") -> Path:
    """Writes a blank ledger workbook at `path` (.xlsx) in Chinese or English; returns the path."""
    import openpyxl

    path = Path(path)
    if lang not in LABELS:
        raise UsageError(f"不支持的语言“{lang}”。可选：zh、en。",
                         f"Unsupported language '{lang}'. Choose: zh, en.")
    if path.suffix.lower() != ".xlsx":
        raise UsageError(f"空白台账必须保存为 .xlsx 文件，而不是“{path.name}”。",
                         f"The blank ledger must be an .xlsx file, not '{path.name}'.")
    if not path.parent.is_dir():
        raise UsageError(f"找不到要写入的文件夹“{path.parent}”。",
                         f"Folder '{path.parent}' does not exist.")
    book = openpyxl.Workbook()
    _write_instructions(book.active, lang)
    for schema in load_schemas().values():
        _write_sheet(book, schema, lang)
    with replacing_path(path) as temp:      # a half-written template never replaces a good one
        book.save(temp)
    return path


def sheet_name(schema: SheetSchema, lang: str) -> str:
    """The sheet's name in the template: its Chinese title, or the canonical English name."""
    return schema.title["zh"] if lang == "zh" else schema.name


def header(column: Column, lang: str) -> str:
    """The header a template column carries: zh the first Chinese alias (money with its unit)."""
    if lang != "zh":
        return column.name
    text = next((a for a in column.aliases if _CJK.search(a)), column.name)
    return f"{text}（元）" if column.type == "money" else text


def options(column: Column, lang: str) -> list[str]:
    """The dropdown values of an enum column: Chinese names for zh, English codes for en."""
    codes = enums()[column.enum]
    return [spec["zh"] for spec in codes.values()] if lang == "zh" else list(codes)


def _write_sheet(book, schema: SheetSchema, lang: str) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = book.create_sheet(sheet_name(schema, lang))
    labels = LABELS[lang]
    for j, column in enumerate(schema.columns, start=1):
        letter = get_column_letter(j)
        cell = ws.cell(row=1, column=j, value=header(column, lang))
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.fill = PatternFill("solid", fgColor=REQUIRED_FILL if column.required else OPTIONAL_FILL)
        need = labels["required" if column.required else "optional"]
        note = f"{column.description[lang]}\n" + (f"（{need}）" if lang == "zh" else f"({need})")
        cell.comment = Comment(note, "finaudit", width=260, height=110)
        dim = ws.column_dimensions[letter]
        dim.width = _width(column, lang)
        if column.type in NUMBER_FORMATS:
            # A column style, not styled cells: empty formatted cells would be read as blank rows.
            dim.number_format = NUMBER_FORMATS[column.type]
        validation = _validation(book, column, lang)
        if validation is not None:
            validation.add(f"{letter}{FIRST_DATA_ROW}:{letter}{LAST_ROW}")
            ws.add_data_validation(validation)
    ws.freeze_panes = f"A{FIRST_DATA_ROW}"
    ws.row_dimensions[1].height = 30


def _width(column: Column, lang: str) -> float:
    widest = display_width(header(column, lang))
    if column.type == "enum":
        widest = max(widest, *(display_width(o) for o in options(column, lang)))
    if column.type in ("money", "text"):
        widest = max(widest, 16)
    return min(max(widest + 4, 10), 60)


def _validation(book, column: Column, lang: str):
    """A dropdown for enum columns; range checks for years, counts, money and region codes.

    Errors are warnings, not stops: the loader also accepts spellings a list cannot show.
    """
    from openpyxl.worksheet.datavalidation import DataValidation

    zh = lang == "zh"
    if column.type == "enum":
        values = options(column, lang)
        inline = ",".join(values)
        formula = f'"{inline}"' if len(inline) <= 255 and not any("," in v or '"' in v for v in values) \
            else _list_range(book, column, values)
        shown = join_names(values, lang)
        return DataValidation(type="list", formula1=formula, allow_blank=True, errorStyle="warning",
                              showErrorMessage=True, error=(f"可选：{shown}" if zh else f"Allowed: {shown}"))
    if column.type == "year":
        low, high = YEAR_RANGE
        return DataValidation(type="whole", operator="between", formula1=str(low), formula2=str(high),
                              allow_blank=True, errorStyle="warning", showErrorMessage=True,
                              error=(f"年份应在 {low}–{high} 之间" if zh else f"A year between {low} and {high}"))
    if column.type in ("money", "count", "number") and column.min is not None:
        kind = "whole" if column.type == "count" else "decimal"
        return DataValidation(type=kind, operator="greaterThanOrEqual", formula1=str(column.min),
                              allow_blank=True, errorStyle="warning", showErrorMessage=True,
                              error=(f"应为不小于 {column.min} 的数" if zh else f"A number not below {column.min}"))
    if column.type == "region_code":
        return DataValidation(type="textLength", operator="equal", formula1="6", allow_blank=True,
                              errorStyle="warning", showErrorMessage=True,
                              error=("应为6位行政区划代码" if zh else "A six-digit region code"))
    return None


def _list_range(book, column: Column, values: list[str]) -> str:
    """Writes a long list on a hidden sheet and returns the range a dropdown can point at."""
    from openpyxl.utils import get_column_letter

    ws = book[LISTS_SHEET] if LISTS_SHEET in book.sheetnames else book.create_sheet(LISTS_SHEET)
    ws.sheet_state = "hidden"
    written = [cell.value for cell in ws[1] if cell.value is not None]   # one column per enumeration
    if column.enum in written:
        j = written.index(column.enum) + 1
    else:
        j = len(written) + 1
        ws.cell(row=1, column=j, value=column.enum)
        for i, value in enumerate(values, start=2):
            ws.cell(row=i, column=j, value=value)
    letter = get_column_letter(j)
    return f"{LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}"


def _write_instructions(ws, lang: str) -> None:
    from openpyxl.styles import Alignment, Font

    labels = LABELS[lang]
    ws.title = INSTRUCTIONS[lang]
    ws.append([labels["title"]])
    ws["A1"].font = Font(bold=True, size=14)
    for note in labels["notes"]:
        ws.append([note])
        ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(labels["columns"]))
    for schema in load_schemas().values():
        ws.append([])
        kind = labels["sheet_required" if schema.required else "sheet_optional"]
        ws.append([f"{sheet_name(schema, lang)}（{kind}）" if lang == "zh" else f"{sheet_name(schema, lang)} ({kind})",
                   schema.description[lang]])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=12)
        ws.append(list(labels["columns"]))
        for cell in ws[ws.max_row]:
            cell.font = Font(bold=True)
        for column in schema.columns:
            allowed = join_names(options(column, lang), lang) if column.type == "enum" else ""
            if column.default is not None:
                default = enums()[column.enum][column.default]["zh"] if column.enum and lang == "zh" else column.default
                allowed = f"{allowed}（{labels['default']}{default}）" if lang == "zh" \
                    else f"{allowed} ({labels['default']}{default})"
            ws.append([header(column, lang), column.name,
                       labels["required" if column.required else "optional"],
                       TYPE_TEXT[column.type][lang], allowed, column.description[lang],
                       join_names(column.all_names, lang)])
    for letter, w in zip("ABCDEFG", (22, 22, 12, 40, 40, 50, 50)):
        ws.column_dimensions[letter].width = w
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
