"""Years across the columns (issue 15, item 6): a budget or enrollment sheet kept as
"地区、学段……、2021年、2022年、2023年" is read one record per year, audited exactly as the
same figures with a year column are, its evidence pointing at the year cells; what cannot
be read unambiguously is refused with a layout that works."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

import finaudit
from corpus import write_xlsx

SAMPLES = Path(__file__).parent.parent / "sample_ledgers"
HEAD = ["行政区划代码", "地区", "学段", "资金来源", "支出类别"]


def _across(path: Path, out: Path) -> Path:
    """The workbook with 教育经费 and 在校生 turned so that the years run across: the title row
    kept, one column per year (2023年（万元）, or 2023年预算数（万元） where a 口径 column said
    so), one row per combination of the other columns."""
    book = openpyxl.load_workbook(path)
    for name in ("教育经费", "在校生"):
        ws = book[name]
        title, header, *rows = [list(r) for r in ws.iter_rows(values_only=True)]
        value = next(i for i, h in enumerate(header) if str(h).startswith(("金额", "在校生数")))
        unit = str(header[value])[len("金额"):] if str(header[value]).startswith("金额") else ""
        basis = header.index("口径") if "口径" in header else None
        labels = [i for i in range(len(header)) if i not in (0, value, basis)]
        table: dict[tuple, dict] = {}
        for r in rows:
            year = f"{r[0]}年" + ({"决算": "决算数", "预算": "预算数"}[r[basis] or "决算"] if basis is not None else "") + unit
            cells = table.setdefault(tuple(r[i] for i in labels), {})
            assert year not in cells, f"{path.name}: two rows for {year} of {r}"
            cells[year] = r[value]
        years = sorted({y for cells in table.values() for y in cells})
        ws.delete_rows(1, ws.max_row)
        ws.append(title)
        ws.append([header[i] for i in labels] + years)
        for key, cells in table.items():
            ws.append(list(key) + [cells.get(y, "—") for y in years])
    book.save(out)
    return out


def _cell_value(book, cell: str):
    sheet, ref = cell.rsplit("!", 1)
    return book[sheet][ref].value


def _audited(path: Path) -> tuple[list, dict]:
    result = finaudit.check(path)
    book = openpyxl.load_workbook(path)
    kept = [f for f in result.findings if f.rule_id != "DATA_WIDE_LAYOUT"]
    seen = sorted((f.rule_id, f.severity, json.dumps(f.subject, sort_keys=True), f.shortfall_yuan, f.message["zh"],
                   sorted(str(_cell_value(book, e.cell)) for e in f.evidence if "!" in e.cell and e.cell[-1].isdigit()))
                  for f in kept)
    return seen, result.summary


@pytest.mark.parametrize("sample", ["clean", "break_ONLY_INCREASE_TOTAL", "break_ONLY_INCREASE_PER_STUDENT",
                                    "break_FLOOR_PRESCHOOL", "break_PUBLIC_FUNDS_PER_STUDENT_GROW",
                                    "break_DRAFT_EDU_GROWTH_ABOVE_REVENUE"])
def test_a_sample_turned_across_gives_the_same_findings_on_the_same_figures(sample, tmp_path):
    long = SAMPLES / f"{sample}.xlsx"
    wide = _across(long, tmp_path / f"{sample}-wide.xlsx")
    long_findings, long_summary = _audited(long)
    wide_findings, wide_summary = _audited(wide)
    assert wide_findings == long_findings           # same rules, subjects, gaps, messages; evidence holds the same figures
    assert wide_summary["by_severity"] == {**long_summary["by_severity"],
                                           "info": long_summary["by_severity"]["info"] + 2}   # + one note per sheet
    notes = [f for f in finaudit.check(wide).findings if f.rule_id == "DATA_WIDE_LAYOUT"]
    assert sorted(f.check for f in notes) == ["budget", "enrollment"]


def test_the_parse_childs_cells_are_left_unfreed_only_where_no_frame_is_made_of_them(tmp_path):
    # The parse child exits without freeing what it read (workbooks._read_sheets); a sheet read
    # across becomes a frame, and fastexcel's cells are freed before it is made, as before.
    from finaudit.intake.workbooks import read_workbook

    rows = [HEAD + ["2022年", "2023年"], ["130682", "定州市", "小学", "一般公共预算", "公用经费", 1, 2]]
    students = [["行政区划代码", "地区", "学段", "年度", "在校生数"], ["130682", "定州市", "小学", 2023, 10]]
    across, plain = [], []
    read_workbook(write_xlsx(tmp_path / "across.xlsx", {"教育经费": rows, "在校生": students}), True, True, across)
    read_workbook(Path(__file__).parent.parent / "sample_ledgers" / "clean.xlsx", True, True, plain)
    assert across == [] and len(plain) == 2        # the reader and the largest sheet's cells


def test_sheets_read_one_after_the_other_leave_only_the_largest_unfreed(monkeypatch):
    # Many shared strings: no second reader, the sheets one after the other on one.
    from finaudit.intake import workbooks

    monkeypatch.setattr(workbooks, "_SECOND_READER_STRINGS", -1)
    kept = []
    sheets = workbooks.read_workbook(Path(__file__).parent.parent / "sample_ledgers" / "clean.xlsx", True, True, kept)
    assert len(sheets) > 2 and len(kept) == 2       # the reader and one sheet's cells, not each sheet's
    assert [s.sheet for s in sheets] == [s.sheet for s in workbooks.read_workbook(
        Path(__file__).parent.parent / "sample_ledgers" / "clean.xlsx")]


def test_the_evidence_of_a_finding_is_the_year_cell_it_read(tmp_path):
    rows = [HEAD + ["2022年", "2023年"],
            ["130682", "定州市", "小学", "一般公共预算", "公用经费", 1_000_000, 900_000],
            ["130682", "定州市", "小学", "一般公共预算", "人员经费", 5_000_000, 5_000_000]]
    students = [["行政区划代码", "地区", "学段", "2022年", "2023年"], ["130682", "定州市", "小学", 1000, 1000]]
    result = finaudit.check(write_xlsx(tmp_path / "wide.xlsx", {"教育经费": rows, "在校生": students}))
    total = next(f for f in result.findings if f.rule_id == "ONLY_INCREASE_TOTAL")
    # 2023: 5,900,000 against 6,000,000 in 2022
    assert total.shortfall_yuan == 100_000 and total.subject["year"] == 2023
    assert sorted(e.cell for e in total.evidence) == ["教育经费!F2", "教育经费!F3", "教育经费!G2", "教育经费!G3"]
    assert {(e.cell, e.row, e.column) for e in total.evidence if e.cell.endswith("G2")} == {("教育经费!G2", 2, "amount")}
    note = next(f for f in result.findings if f.rule_id == "DATA_WIDE_LAYOUT" and f.check == "budget")
    assert "2 行按年度展开为 4 条记录" in note.message["zh"]


def test_an_empty_year_cell_is_a_missing_figure_and_a_dash_is_none(tmp_path):
    rows = [HEAD + ["2022年", "2023年", "2024年"],
            ["130682", "定州市", "小学", "一般公共预算", "公用经费", 1_000_000, None, "—"],
            ["130682", "定州市", "初中", "一般公共预算", "公用经费", "—", 800_000, 800_000]]
    result = finaudit.check(write_xlsx(tmp_path / "wide.xlsx", {"教育经费": rows}))
    refused = [f for f in result.findings if f.rule_id == "SCHEMA_REQUIRED"]
    # G2 is empty: a figure missing, refused (never read as 0, which would be a fall)
    assert [(f.evidence[0].cell, f.subject["year"]) for f in refused] == [("教育经费!G2", 2023)]
    assert "教育经费!G2：必填列“金额”为空" in refused[0].message["zh"]
    note = next(f for f in result.findings if f.rule_id == "DATA_WIDE_LAYOUT")
    assert "2 个年度单元格填的是“—”或“无”（H2、F3），未生成记录" in note.message["zh"]
    assert [e.cell for e in note.evidence] == ["教育经费!H2", "教育经费!F3"] and note.evidence_total == 2
    budget = result.ledger.sheets["budget"].summary()
    # 2 rows x 3 years = 6 cells: 2 dashes make no record, 4 records read, G2's refused
    assert (budget["rows_read"], budget["rows_rejected"]) == (4, 1)
    total = {f.subject["year"]: f for f in result.findings if f.rule_id == "ONLY_INCREASE_TOTAL"}
    assert (total[2023].severity, total[2023].details["reason"]) == ("info", "rejected_rows")    # not evaluated


def test_a_label_problem_in_a_row_read_across_is_told_once(tmp_path):
    rows = [HEAD + ["2022年", "2023年", "2024年"],
            ["13068", "定州市", "小学", "一般公共预算", "公用经费", 1, 2, 3]]
    ledger = finaudit.load(write_xlsx(tmp_path / "wide.xlsx", {"教育经费": rows}))
    refused = [f for f in ledger.findings if f.rule_id == "SCHEMA_REGION_CODE"]
    assert [f.evidence[0].cell for f in refused] == ["教育经费!A2"]
    assert ledger.sheets["budget"].rows_rejected == 3     # every year of the row left out


def test_years_with_basis_units_and_a_title_row(tmp_path):
    rows = [["某县教育经费表", None, None, None, None, "单位：万元"],
            HEAD + ["2023年决算数", "2024年预算数"],
            ["130682", "定州市", "小学", "一般公共预算", "人员经费", 100, 110]]
    ledger = finaudit.load(write_xlsx(tmp_path / "wide.xlsx", {"教育经费": rows}))
    frame = ledger.sheets["budget"].frame
    assert frame[["year", "basis", "amount"]].values.tolist() == [[2023, "final", 1_000_000], [2024, "budget", 1_100_000]]


def test_a_year_typed_as_a_number_in_the_header_is_a_year(tmp_path):
    rows = [HEAD + [2022, 2023], ["130682", "定州市", "小学", "一般公共预算", "人员经费", 100, 110]]
    frame = finaudit.load(write_xlsx(tmp_path / "wide.xlsx", {"教育经费": rows})).sheets["budget"].frame
    assert frame[["year", "amount"]].values.tolist() == [[2022, 100], [2023, 110]]


def test_a_csv_with_years_across_is_read_too(tmp_path):
    folder = tmp_path / "ledger"
    folder.mkdir()
    (folder / "教育经费.csv").write_text(",".join(HEAD + ["2022年", "2023年"]) + "\n"
                                      "130682,定州市,小学,一般公共预算,人员经费,100,110\n", encoding="utf-8")
    ledger = finaudit.load(folder)
    sheet = ledger.sheets["budget"]
    assert sheet.frame[["year", "amount"]].values.tolist() == [[2022, 100], [2023, 110]]
    assert sheet.evidence(sheet.frame["_row"][1], "amount").cell == "教育经费.csv!G2"


@pytest.mark.parametrize("header, why", [
    (HEAD + ["金额", "2022年", "2023年"], "又有“金额”列"),
    (HEAD[:3] + ["2022年", "2023年"], "缺少列“资金来源、支出类别”"),
    (HEAD + ["2022年", "2022年决算数"], "同一年度出现不止一列（2022年）"),
    (HEAD + ["2022年执行数", "2023年执行数"], "“执行数”既不是决算数也不是预算数"),
    (HEAD + ["口径", "2022年决算数", "2023年决算数"], "又有“口径”列"),
    (HEAD + ["2022年（万元）", "2023年（元）"], "各年度列的单位不一致"),
])
def test_an_ambiguous_table_across_is_refused_with_layouts_that_work(header, why, tmp_path, cli):
    rows = [header, ["130682", "定州市", "小学", "一般公共预算", "人员经费", "决算", 1, 2][:len(header)]]
    run = cli("check", str(write_xlsx(tmp_path / "wide.xlsx", {"教育经费": rows})))
    assert run.exit_code == 2 and run.stderr.count("\n") == 1, run.stderr
    assert why in run.stderr
    assert "横排时每行填 行政区划代码、地区、学段、资金来源、支出类别，每个年度一列" in run.stderr
    assert "请改为每行一个年度，列为 年度、行政区划代码、地区、学段、资金来源、支出类别、金额" in run.stderr
    assert "finaudit template" in run.stderr


def test_a_sheet_whose_years_could_hold_several_figures_is_refused(tmp_path, cli):
    rows = [["行政区划代码", "地区", "附加类型", "2022年", "2023年"], ["130682", "定州市", "教育费附加", 1, 2]]
    ledger = write_xlsx(tmp_path / "wide.xlsx", {"教育经费": [HEAD + ["2022年"], ["130682", "定州市", "小学",
                                                                              "一般公共预算", "人员经费", 1]],
                                                 "教育费附加": rows})
    run = cli("check", str(ledger))
    assert run.exit_code == 2 and "无法确定各年度下的数字是哪一项" in run.stderr
