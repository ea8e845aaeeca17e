"""The findings the loader makes about a sheet's layout and rows, beside the per-cell schema
checks: hidden rows read, merged label cells filled, ragged CSV records, subtotal rows."""
from __future__ import annotations

import pandas as pd

from finaudit.findings import Finding
from finaudit.intake.model import EVIDENCE_LIMIT, SUBJECT_COLUMNS, Sheet
from finaudit.intake.schema import enum_label


def layout_findings(sheet: Sheet, hidden_rows: list[int], filled: dict) -> list[Finding]:
    """What the workbook's layout did to the reading: hidden rows read all the same, label
    cells read from the merged range above them. Info findings naming the cells, so that
    nobody is surprised by a sum including rows the screen did not show."""
    findings = []
    if hidden_rows:
        rows = sorted({sheet.cell_row(r) for r in hidden_rows})    # a row read across makes several
        sheet.hidden_rows = len(rows)
        shown = _row_ranges(rows)
        findings.append(Finding(
            rule_id="DATA_HIDDEN_ROWS", severity="info", check=sheet.name,
            message={"zh": f"{sheet.source}有 {len(rows):,} 个隐藏的数据行（第 {shown} 行），已照常读取并计入审计。",
                     "en": f"{sheet.source} has {len(rows):,} hidden data row(s) (rows {shown}); they were "
                           "read and audited like the others."},
            evidence=sheet.measure_evidence(hidden_rows[:EVIDENCE_LIMIT]), evidence_total=len(hidden_rows),
            identified_by_cells=True,
        ))
    if filled:
        ranges = [(col, top, bottom) for col, spans in filled.items() for top, bottom in spans]
        sheet.filled_cells = sum(bottom - top for _, top, bottom in ranges)
        labels = {"zh": "、".join(sheet.schema.column(c).aliases[0] for c in filled),
                  "en": ", ".join(filled)}
        refs = [f"{sheet.letters[col]}{top}:{sheet.letters[col]}{bottom}" for col, top, bottom in ranges]
        listed = "、".join(refs[:5]) + ("…" if len(refs) > 5 else "")
        findings.append(Finding(
            rule_id="DATA_MERGED_CELLS", severity="info", check=sheet.name,
            message={"zh": f"{sheet.source}的{labels['zh']}列有 {len(refs):,} 个合并单元格（{listed}），"
                           f"其中 {sheet.filled_cells:,} 个下方单元格按合并后显示的值读取。",
                     "en": f"{sheet.source}: {len(refs):,} merged range(s) in column(s) {labels['en']} "
                           f"({listed.replace('、', ', ')}); {sheet.filled_cells:,} cell(s) below their top cell "
                           "were read as the merged value shown."},
            # `top` is a spreadsheet row; a sheet read across numbers its rows row x stride + column.
            evidence=[sheet.evidence(top * (sheet.stride or 1), col) for col, top, _ in ranges[:EVIDENCE_LIMIT]],
            evidence_total=len(ranges), identified_by_cells=True,
        ))
    return findings


def wide_findings(sheet: Sheet, wide) -> list[Finding]:
    """How a sheet with its years across the columns was read (wide.py): one info finding with
    the years, the rows made, and the year cells left empty that made none."""
    if wide is None:
        return []
    years, rows, dashes = "、".join(wide["headers"]), wide["rows"], wide["dashes"]
    cells = "、".join(sheet.evidence(n).cell.split("!")[-1] for n in dashes[:5]) + ("…" if len(dashes) > 5 else "")
    empty_zh = f"；{len(dashes):,} 个年度单元格填的是“—”或“无”（{cells}），未生成记录" if dashes else ""
    empty_en = (f"; {len(dashes):,} year cell(s) holding a dash or 无 ({cells.replace('、', ', ')}) made no record"
                if dashes else "")
    value = sheet.schema.column(sheet.schema.wide_value)
    return [Finding(
        rule_id="DATA_WIDE_LAYOUT", severity="info", check=sheet.name,
        message={"zh": f"{sheet.source}的年度是横排的（{years}）：{rows:,} 行按年度展开为 {sheet.rows_read:,} 条记录，"
                       f"每个年度列下的数字读作“{value.aliases[0]}”{empty_zh}。空白的年度单元格视为缺数（该行不参与审计），"
                       "确无数字的年度请填 0 或“—”。",
                 "en": f"{sheet.source} has its years across the columns ({years.replace('、', ', ')}): {rows:,} "
                       f"row(s) were read as {sheet.rows_read:,} record(s), one per year, each year's figure as "
                       f"{value.name}{empty_en}. An empty year cell is a missing figure (its row is left out of the "
                       "audit): write 0 or a dash where a year has none."},
        evidence=[sheet.evidence(n, value.name) for n in dashes[:EVIDENCE_LIMIT]], evidence_total=len(dashes),
        identified_by_cells=True,
    )]


def _row_ranges(rows: list[int], shown: int = 8) -> str:
    """[4, 5, 6, 9] -> "4–6, 9"; the first `shown` runs, then an ellipsis."""
    runs, start = [], rows[0]
    for prev, row in zip(rows, rows[1:] + [None]):
        if row != prev + 1:
            runs.append(f"{start}–{prev}" if prev != start else f"{start}")
            start = row
    return ", ".join(runs[:shown]) + (", …" if len(runs) > shown else "")


def plain_value(value, key: str):
    """A subject value as findings hold it: None for missing, the year as int, codes as text."""
    if value is None or pd.isna(value):
        return None
    return int(value) if key == "year" else str(value)


def subject_of(frame: pd.DataFrame, idx: int) -> dict:
    out = {}
    for col in SUBJECT_COLUMNS:
        if col in frame.columns:
            value = frame.at[idx, col]
            out[col] = None if pd.isna(value) else (int(value) if col == "year" else str(value))
    return out


def ragged_finding(sheet: Sheet, row: int, fields: int, expected: int, subject: dict) -> Finding:
    return Finding(
        rule_id="SCHEMA_FIELD_COUNT", severity="violation",
        message={"zh": f"{sheet.source}第{sheet.cell_row(row)}行有{fields}个字段，表头有{expected}个；可能是未加引号的千分位逗号"
                       f"（如 1,234）把一个数拆成了两格。此行未读取。",
                 "en": f"{sheet.source} line {sheet.cell_row(row)} has {fields} fields where the header has {expected}; an unquoted "
                       "thousands separator (1,234) may have split a number. The line was not read."},
        subject={k: v for k, v in subject.items() if k in ("region_code", "region_name", "year")},
        evidence=[sheet.evidence(row)], check="fields", identified_by_cells=True,
    )


def subtotal_finding(sheet: Sheet, cells: dict, subject: dict) -> Finding:
    """`cells`: the row as written, {column: value} and `_row`."""
    row = sheet.cell_row(cells["_row"])
    column, label = next(((c, v) for c, v in cells.items()
                          if c != "_row" and isinstance(v, str) and any(m in v for m in ("合计", "小计", "总计", "累计"))),
                         (None, ""))
    return Finding(
        rule_id="DATA_SUBTOTAL_ROW", severity="info",
        message={"zh": f"{sheet.source}第{row}行是汇总行（“{label}”），未与明细行相加。",
                 "en": f"{sheet.source} row {row} is a subtotal row ('{label}'); it was not added to the detail rows."},
        subject=subject,
        evidence=[sheet.evidence(cells["_row"], column)], identified_by_cells=True,
    )


def defaulted_findings(schema, source: str, present, rows: int) -> list[Finding]:
    """One info finding per column the sheet lacks whose default decides what is audited
    (办学性质 -> 公办): the reader learns every row was taken as that value."""
    out = []
    for column in schema.columns:
        if column.name in present or column.default is None or not column.default_notice:
            continue
        zh_value = enum_label(column.enum, column.default, "zh") if column.enum else column.default
        out.append(Finding(
            rule_id="SCHEMA_DEFAULTED", severity="info", check=f"{schema.name}.{column.name}",
            message={"zh": f"{source}没有“{column.aliases[0]}”列：{rows:,} 行全部按“{zh_value}”计入审计；"
                           f"如有其他情形（如民办），请加上这一列。",
                     "en": f"{source} has no '{column.name}' column: all {rows:,} rows were audited as "
                           f"'{column.default}'; add the column if any row is otherwise."},
            subject={}, evidence=[], identified_by_cells=False,
        ))
    return out
