"""A workbook saved by a real office suite (LibreOffice Calc) reads the same numbers.

LibreOffice writes shared strings, its own styles and dimension records, and stores
numbers as it sees fit: the loader must not depend on how openpyxl wrote the file.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import finaudit

from conftest import SAMPLES

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui; "
                                                ".ci/run installs it)"),
]


def _convert(source: Path, out_dir: Path, target: str) -> Path:
    profile = out_dir / "lo-profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", target,
                    "--outdir", str(out_dir / "out"), str(source)],
                   check=True, capture_output=True, timeout=180)
    return out_dir / "out" / f"{source.stem}.{target.split(':')[0]}"


def test_a_workbook_resaved_by_libreoffice_reads_the_same_numbers(tmp_path):
    resaved = _convert(SAMPLES / "break_FLOOR_PRESCHOOL.xlsx", tmp_path, "xlsx")
    original, again = finaudit.load(SAMPLES / "break_FLOOR_PRESCHOOL.xlsx"), finaudit.load(resaved)
    assert again.findings == []
    for name, sheet in original.sheets.items():
        other = again.sheets[name]
        assert (other.rows_read, other.rows_rejected, other.unit_label()) == \
               (sheet.rows_read, sheet.rows_rejected, sheet.unit_label())
        pd.testing.assert_frame_equal(sheet.frame, other.frame, obj=name)


def test_an_audit_of_the_resaved_workbook_finds_the_same(tmp_path):
    resaved = _convert(SAMPLES / "break_FLOOR_PRESCHOOL.xlsx", tmp_path, "xlsx")
    first = finaudit.check(SAMPLES / "break_FLOOR_PRESCHOOL.xlsx")
    second = finaudit.check(resaved)
    assert [(f.fingerprint, f.shortfall_yuan, [e.cell for e in f.evidence]) for f in first.findings] == \
           [(f.fingerprint, f.shortfall_yuan, [e.cell for e in f.evidence]) for f in second.findings]


def test_a_sheet_exported_by_libreoffice_as_gbk_csv_reads_the_same(tmp_path, write_xlsx, sheets):
    # Filter options: 44 (,), 34 ("), 85 = GB18030 (its Chinese text is GBK bytes), from row 1.
    source = write_xlsx({"教育经费": sheets["教育经费"]}, name="教育经费.xlsx")
    csv_path = _convert(source, tmp_path, 'csv:Text - txt - csv (StarCalc):44,34,85,1')
    raw = csv_path.read_bytes()
    assert "年度".encode("gbk") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    folder = tmp_path / "ledger"
    folder.mkdir()
    shutil.copy(csv_path, folder / "教育经费.csv")
    enrollment = "\n".join(",".join(map(str, r)) for r in sheets["在校生"]) + "\n"
    (folder / "在校生.csv").write_text(enrollment, encoding="utf-8")
    ledger = finaudit.load(folder)
    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["amount"].tolist() == [1500.0, 2500.5]
    assert ledger.sheets["budget"].frame["level"].tolist() == ["primary", "junior"]


@pytest.mark.parametrize("target", ["xls", "ods"])
def test_a_workbook_saved_as_xls_or_ods_is_audited_exactly_as_the_xlsx(tmp_path, target):
    # WPS and older Excel still save .xls; LibreOffice saves .ods. Same cells, same findings.
    source = SAMPLES / "break_ONLY_INCREASE_PER_STUDENT.xlsx"
    other = _convert(source, tmp_path, target)
    first, second = finaudit.check(source), finaudit.check(other)
    read, read_again = finaudit.load(source), finaudit.load(other)
    for name, sheet in read.sheets.items():
        pd.testing.assert_frame_equal(sheet.frame, read_again.sheets[name].frame, obj=name)
    assert [(f.fingerprint, f.shortfall_yuan, [e.cell for e in f.evidence]) for f in second.findings] == \
           [(f.fingerprint, f.shortfall_yuan, [e.cell for e in f.evidence]) for f in first.findings]
    assert any(f.severity == "violation" for f in second.findings)


def test_merged_and_hidden_rows_saved_by_libreoffice_are_read_as_shown(tmp_path, write_xlsx, sheets):
    import openpyxl

    path = _merged_labels(write_xlsx, sheets)
    book = openpyxl.load_workbook(path)
    book["教育经费"].row_dimensions[3].hidden = True
    book.save(path)
    resaved = _convert(path, tmp_path, "xlsx")
    ledger = finaudit.load(resaved)
    budget = ledger.sheets["budget"]
    assert budget.frame["region_code"].tolist() == ["130682"] * 3
    assert budget.frame["amount"].sum() == 1500 + 2500.5 + 7
    assert (budget.hidden_rows, budget.filled_cells) == (1, 4)
    assert sorted(f.rule_id for f in ledger.findings) == ["DATA_HIDDEN_ROWS", "DATA_MERGED_CELLS"]


def _merged_labels(write_xlsx, sheets):
    """The sample budget with 行政区划代码 and 地区 merged down over its rows (B2:B4, C2:C4), as a
    clerk lays a county's rows out: Excel shows the label on every row of the range."""
    import openpyxl

    sheets["教育经费"] += [[2023, "130682", "定州市", "高中", "公办", "一般公共预算", "公用经费", 7]]
    path = write_xlsx(sheets)
    book = openpyxl.load_workbook(path)
    ws = book["教育经费"]
    for row in (3, 4):
        ws.cell(row, 2).value = ws.cell(row, 3).value = None
    ws.merge_cells("B2:B4")
    ws.merge_cells("C2:C4")
    book.save(path)
    return path


def test_merged_labels_in_an_xls_are_read_as_in_the_xlsx(tmp_path, write_xlsx, sheets):
    # LibreOffice's .xls of a workbook with merged labels read "必填列‘行政区划代码’为空" on every
    # row under a merged cell: the .xls merged ranges now fill them as the xlsx's do.
    path = _merged_labels(write_xlsx, sheets)
    xls = _convert(path, tmp_path, "xls")
    first, second = finaudit.load(path), finaudit.load(xls)
    budget = second.sheets["budget"]
    assert (budget.rows_read, budget.rows_rejected, budget.filled_cells) == (3, 0, 4)
    assert budget.frame["region_code"].tolist() == ["130682"] * 3
    pd.testing.assert_frame_equal(first.sheets["budget"].frame, budget.frame, obj="budget")
    assert sorted(f.rule_id for f in second.findings) == ["DATA_MERGED_CELLS"]


def test_merged_labels_in_an_ods_are_refused_with_what_to_do(tmp_path, write_xlsx, sheets, cli):
    # calamine does not expose an .ods's merged ranges: one clear refusal, never rows of garbage.
    ods = _convert(_merged_labels(write_xlsx, sheets), tmp_path, "ods")
    run = cli("check", str(ods))
    assert run.exit_code == 2
    assert "工作表“教育经费”有向下合并的单元格" in run.stderr and "另存为“Excel 工作簿 (*.xlsx)”" in run.stderr


def test_a_table_across_with_merged_labels_and_a_hidden_row_reads_the_same_as_xls(tmp_path):
    # A county's budget with the years across, 行政区划代码 and 地区 merged down its three rows and
    # the second row hidden, as a clerk keeps it: the .xlsx and LibreOffice's .xls give the same
    # rows (3 rows x 2 years), the same findings and evidence cells.
    import openpyxl

    from corpus import write_xlsx

    rows = [["行政区划代码", "地区", "学段", "资金来源", "支出类别", "2022年", "2023年"],
            ["130682", "定州市", "小学", "一般公共预算", "人员经费", 5_000_000, 5_100_000],
            [None, None, "初中", "一般公共预算", "人员经费", 3_000_000, 2_800_000],
            [None, None, "小学", "一般公共预算", "公用经费", 700_000, 700_000]]
    students = [["行政区划代码", "地区", "学段", "2022年", "2023年"],
                ["130682", "定州市", "小学", 1000, 1000], ["130682", "定州市", "初中", 500, 500]]

    def layout(book):
        ws = book["教育经费"]
        ws.merge_cells("A2:A4")
        ws.merge_cells("B2:B4")
        ws.row_dimensions[3].hidden = True

    path = write_xlsx(tmp_path / "across.xlsx", {"教育经费": rows, "在校生": students}, layout=layout)
    xls = _convert(path, tmp_path, "xls")
    first, second = finaudit.check(path), finaudit.check(xls)
    # Hidden rows are read from both, but calamine does not say which rows of an .xls are
    # hidden (workbooks._xls_merges), so only the .xlsx notes them.
    seen = [[(f.rule_id, f.severity, f.shortfall_yuan, f.message["zh"], [e.cell for e in f.evidence])
             for f in result.findings if f.rule_id != "DATA_HIDDEN_ROWS"] for result in (first, second)]
    assert seen[0] == seen[1]
    total = next(f for f in first.findings if f.rule_id == "ONLY_INCREASE_TOTAL" and f.severity == "violation")
    assert total.shortfall_yuan == 100_000      # 8,600,000 in 2023 against 8,700,000 in 2022
    assert {"DATA_WIDE_LAYOUT", "DATA_MERGED_CELLS", "DATA_HIDDEN_ROWS"} <= {f.rule_id for f in first.findings}
    hidden = next(f for f in first.findings if f.rule_id == "DATA_HIDDEN_ROWS")
    assert "1 个隐藏的数据行（第 3 行）" in hidden.message["zh"]
    assert [e.cell for e in hidden.evidence] == ["教育经费!F3", "教育经费!G3"]
    budget = openpyxl.load_workbook(path)["教育经费"]
    assert budget["A3"].value is None           # the merged label really is empty below its top cell
