"""The ledger loader (readers, headers, normalize, validate, ledger): what a bureau's
workbook looks like on the way in, and what finaudit makes of it.

Budget columns in the `sheets` fixture are A 年度, B 行政区划代码, C 地区, D 学段,
E 办学性质, F 资金来源, G 支出类别, H 金额; enrollment F is 在校生数.
"""
from __future__ import annotations

import json

import pandas as pd
import pytest

import finaudit
from finaudit.errors import LedgerError


def budget_row(level="小学", expense="公用经费", amount=100, *, year=2023, code="130682", name="定州市",
               ownership="公办", fund="一般公共预算"):
    return [year, code, name, level, ownership, fund, expense, amount]


def enrollment_row(level="小学", students=10, *, year=2023, code="130682", name="定州市", ownership="公办"):
    return [year, code, name, level, ownership, students]


def only(findings, rule_id):
    hits = [f for f in findings if f.rule_id == rule_id]
    assert len(hits) == 1, [(f.rule_id, f.message["en"]) for f in findings]
    return hits[0]


# --- headers and sheet names -------------------------------------------------

def test_chinese_sheet_names_headers_and_enumeration_names_are_read_into_canonical_columns(write_xlsx, sheets):
    ledger = finaudit.load(write_xlsx(sheets))

    assert ledger.findings == []
    budget = ledger.sheets["budget"].frame
    assert budget[["year", "region_code", "region_name", "level", "ownership", "fund_source",
                   "expense_class", "amount", "basis", "_row"]].to_dict("records") == [
        {"year": 2023, "region_code": "130682", "region_name": "定州市", "level": "primary",
         "ownership": "public", "fund_source": "general_budget", "expense_class": "public_funds",
         "amount": 1500.0, "basis": "final", "_row": 2},
        {"year": 2023, "region_code": "130682", "region_name": "定州市", "level": "junior",
         "ownership": "public", "fund_source": "general_budget", "expense_class": "personnel",
         "amount": 2500.5, "basis": "final", "_row": 3},
    ]
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [30, 20]
    assert ledger.sheets["budget"].source == "教育经费"


def test_english_sheet_names_headers_and_codes_are_read_the_same_way(write_xlsx):
    path = write_xlsx({
        "budget": [["year", "region_code", "region_name", "level", "ownership", "fund_source", "expense_class", "amount"],
                   [2023, "130682", "Dingzhou", "senior_general", "public", "general_budget", "public_funds", 800]],
        "enrollment": [["year", "region_code", "region_name", "level", "ownership", "students"],
                       [2023, "130682", "Dingzhou", "senior_general", "public", 4]],
    })
    ledger = finaudit.load(path)

    assert ledger.findings == []
    row = ledger.sheets["budget"].frame.iloc[0]
    assert (row["level"], row["fund_source"], row["expense_class"], row["amount"]) == \
        ("senior_general", "general_budget", "public_funds", 800.0)
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [4]


def test_title_rows_above_the_header_are_skipped_and_rows_keep_their_excel_row_numbers(write_xlsx, sheets):
    # Row 1 a merged banner, row 2 a note, row 3 the header: data on rows 4 and 5.
    path = write_xlsx(sheets, titles={"教育经费": [["定州市教育经费台账（2023年）"], ["填报单位：定州市教育局"]]})
    ledger = finaudit.load(path)

    assert ledger.findings == []
    budget = ledger.sheets["budget"]
    assert budget.frame["_row"].tolist() == [4, 5]
    assert budget.frame["amount"].tolist() == [1500.0, 2500.5]
    assert budget.letters["amount"] == "H"


def test_a_title_row_saying_单位_万元_makes_every_amount_of_the_sheet_万元(write_xlsx, sheets):
    sheets["教育经费"][1][7] = 12.5        # 12.5 万元 = 125,000 元
    sheets["教育经费"][2][7] = "0.0301"    # 0.0301 万元 = 301 元
    path = write_xlsx(sheets, titles={"教育经费": [["教育经费支出表"], [None] * 7 + ["单位：万元"]]})
    ledger = finaudit.load(path)

    assert ledger.findings == []
    budget = ledger.sheets["budget"]
    assert budget.frame["amount"].tolist() == [125_000.0, 301.0]
    assert budget.units == {"amount": "万元"}
    assert budget.summary()["unit"] == "万元"


def test_a_unit_in_the_header_wins_over_the_unit_of_the_title_row(write_xlsx, sheets):
    sheets["教育经费"][0][7] = "金额（元）"
    path = write_xlsx(sheets, titles={"教育经费": [["单位：万元"]]})
    budget = finaudit.load(path).sheets["budget"]

    assert budget.units == {"amount": "元"}
    assert budget.frame["amount"].tolist() == [1500.0, 2500.5]


def test_a_金额_万元_header_converts_amounts_to_exact_yuan(write_xlsx, sheets):
    budget = sheets["教育经费"]
    budget[0][7] = "金额（万元）"
    budget[1][7] = 1.2345            # 12,345 元: 1.2345 x 10000 is 12344.999999999998 in floats
    budget[2][7] = "1,234.5678"      # 12,345,678 元
    budget.append(budget_row("普通高中", amount=0.01))        # 100 元
    ledger = finaudit.load(write_xlsx(sheets))

    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["amount"].tolist() == [12_345.0, 12_345_678.0, 100.0]
    assert ledger.sheets["budget"].summary()["unit"] == "万元"


def test_a_金额_亿元_header_in_ascii_brackets_converts_amounts_to_exact_yuan(write_xlsx, sheets):
    budget = sheets["教育经费"]
    budget[0][7] = "金额(亿元)"
    budget[1][7] = 1.23456789        # 123,456,789 元
    budget[2][7] = 0.5               # 50,000,000 元
    ledger = finaudit.load(write_xlsx(sheets))

    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["amount"].tolist() == [123_456_789.0, 50_000_000.0]
    assert ledger.sheets["budget"].units == {"amount": "亿元"}


# --- CSV, Parquet and folders --------------------------------------------------

def test_a_gbk_encoded_csv_is_decoded_with_its_chinese_headers_and_names(write_csv, sheets):
    write_csv("ledger/教育经费.csv", sheets["教育经费"], encoding="gbk")
    write_csv("ledger/在校生.csv", sheets["在校生"], encoding="gbk")
    folder = write_csv("ledger/说明.txt", [["合成数据，仅供测试"]]).parent
    ledger = finaudit.load(folder)

    assert ledger.findings == []
    budget = ledger.sheets["budget"].frame
    assert budget["region_name"].tolist() == ["定州市", "定州市"]
    assert budget["level"].tolist() == ["primary", "junior"]
    assert budget["amount"].tolist() == [1500.0, 2500.5]


def test_a_utf8_csv_with_a_byte_order_mark_keeps_its_first_header(write_csv, sheets):
    # A BOM glued to 年度 would make the year column unrecognisable.
    write_csv("ledger/教育经费.csv", sheets["教育经费"], encoding="utf-8-sig")
    folder = write_csv("ledger/在校生.csv", sheets["在校生"], encoding="utf-8-sig").parent
    ledger = finaudit.load(folder)

    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["year"].tolist() == [2023, 2023]
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [30, 20]


def test_a_folder_holds_one_csv_per_sheet_and_rows_are_numbered_as_csv_lines(write_csv, sheets):
    budget = [["教育经费明细（单位：万元）"], *sheets["教育经费"]]   # header on line 2
    budget[2][7] = "abc"                                         # line 3, column H
    write_csv("ledger/教育经费.csv", budget)
    folder = write_csv("ledger/在校生.csv", sheets["在校生"]).parent
    ledger = finaudit.load(folder)

    assert {name: s.source for name, s in ledger.sheets.items()} == {"budget": "教育经费.csv", "enrollment": "在校生.csv"}
    assert ledger.sheets["budget"].units == {"amount": "万元"}
    assert ledger.sheets["budget"].frame["amount"].tolist() == [25_005_000.0]   # 2500.5 万元; 4th line
    finding = only(ledger.findings, "SCHEMA_TYPE")
    evidence = finding.evidence[0]
    assert (evidence.sheet, evidence.row, evidence.cell) == ("教育经费.csv", 3, "教育经费.csv!H3")
    assert evidence.file == str(folder / "教育经费.csv")


def test_parquet_files_are_read_with_region_codes_stored_as_integers(tmp_path):
    folder = tmp_path / "ledger"
    folder.mkdir()
    pd.DataFrame({"年度": [2022, 2023], "行政区划代码": [130682, 130682], "地区": ["定州市", "定州市"],
                  "学段": ["小学", "primary"], "办学性质": ["公办", "public"], "资金来源": ["一般公共预算"] * 2,
                  "支出类别": ["公用经费"] * 2, "金额（万元）": [1.5, 2.25]}).to_parquet(folder / "教育经费.parquet")
    pd.DataFrame({"year": [2023], "region_code": ["130682"], "region_name": ["定州市"], "level": ["小学"],
                  "ownership": ["公办"], "students": [12]}).to_parquet(folder / "在校生.parquet")
    ledger = finaudit.load(folder)

    assert ledger.findings == []
    budget = ledger.sheets["budget"].frame
    assert budget["region_code"].tolist() == ["130682", "130682"]
    assert budget["level"].tolist() == ["primary", "primary"]
    assert budget["amount"].tolist() == [15_000.0, 22_500.0]
    assert budget["_row"].tolist() == [2, 3]
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [12]


# --- schema checks: every failure names its cell -------------------------------

def test_an_amount_that_is_not_a_number_is_a_schema_type_finding_at_its_cell(write_xlsx, sheets):
    # Title row 1, header row 2, data rows 3-5: the bad amount is on row 5, column H.
    sheets["教育经费"].append(budget_row("普通高中", amount="约一百万"))
    ledger = finaudit.load(write_xlsx(sheets, titles={"教育经费": [["教育经费台账"]]}))

    finding = only(ledger.findings, "SCHEMA_TYPE")
    assert finding.severity == "violation"
    assert finding.check == "amount"
    [evidence] = finding.evidence
    assert (evidence.sheet, evidence.row, evidence.cell, evidence.value) == ("教育经费", 5, "教育经费!H5", "约一百万")
    assert finding.message["zh"].startswith("教育经费!H5：")
    assert "约一百万" in finding.message["zh"] and "约一百万" in finding.message["en"]
    assert ledger.sheets["budget"].rows_rejected == 1


def test_a_fractional_student_count_is_a_schema_type_finding(write_xlsx, sheets):
    sheets["在校生"][2][5] = 12.5            # row 3, column F
    ledger = finaudit.load(write_xlsx(sheets))

    finding = only(ledger.findings, "SCHEMA_TYPE")
    assert finding.evidence[0].cell == "在校生!F3"
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [30]


def test_an_empty_required_cell_is_a_schema_required_finding_at_its_cell(write_xlsx, sheets):
    sheets["教育经费"][2][2] = None          # 地区 of data row 2 = Excel row 3, column C
    ledger = finaudit.load(write_xlsx(sheets))

    finding = only(ledger.findings, "SCHEMA_REQUIRED")
    assert finding.evidence[0].cell == "教育经费!C3"
    assert finding.evidence[0].row == 3
    assert "地区" in finding.message["zh"] and "region_name" in finding.message["en"]
    assert len(ledger.findings) == 1


def test_a_blank_placeholder_such_as_a_dash_is_empty_not_zero(write_xlsx, sheets):
    sheets["教育经费"][1][7] = "—"           # row 2, column H
    ledger = finaudit.load(write_xlsx(sheets))

    assert only(ledger.findings, "SCHEMA_REQUIRED").evidence[0].cell == "教育经费!H2"
    assert ledger.sheets["budget"].frame["amount"].tolist() == [2500.5]


# pandera reports a built-in check under its own description ("isin([...])",
# "greater_than_or_equal_to(0)", "str_matches(...)"), not under the name= given in
# validate._checks, so validate.failure_cases maps every such failure to SCHEMA_TYPE.
PANDERA_CHECK_NAME = ("validate.failure_cases (finaudit/validate.py:69) looks up str(case.check) in _REASONS, "
                      "but pandera puts the check's error text there, not name=")


def test_a_level_outside_the_enumeration_is_a_schema_allowed_value_finding_at_its_cell(write_xlsx, sheets):
    sheets["教育经费"][1][3] = "大学"        # row 2, column D
    ledger = finaudit.load(write_xlsx(sheets))

    finding = only(ledger.findings, "SCHEMA_ALLOWED_VALUE")
    assert finding.evidence[0].cell == "教育经费!D2"
    assert "大学" in finding.message["zh"] and "学前教育" in finding.message["zh"]


def test_a_negative_amount_is_a_schema_range_finding_at_its_cell(write_xlsx, sheets):
    sheets["教育经费"][2][7] = -100          # row 3, column H
    ledger = finaudit.load(write_xlsx(sheets))

    finding = only(ledger.findings, "SCHEMA_RANGE")
    assert finding.evidence[0].cell == "教育经费!H3"
    assert "-100" in finding.message["zh"]


def test_a_year_before_1949_is_a_schema_range_finding_at_its_cell(write_xlsx, sheets):
    sheets["在校生"][1][0] = 1800            # row 2, column A
    ledger = finaudit.load(write_xlsx(sheets))

    assert only(ledger.findings, "SCHEMA_RANGE").evidence[0].cell == "在校生!A2"


def test_a_five_digit_region_code_is_a_schema_region_code_finding_at_its_cell(write_xlsx, sheets):
    sheets["教育经费"][1][1] = "13068"       # row 2, column B
    ledger = finaudit.load(write_xlsx(sheets))

    finding = only(ledger.findings, "SCHEMA_REGION_CODE")
    assert finding.evidence[0].cell == "教育经费!B2"
    assert "13068" in finding.message["zh"]


# --- row accounting ---------------------------------------------------------------

def test_every_row_is_read_valid_or_rejected_and_blank_rows_are_counted_apart(write_xlsx, sheets):
    sheets["教育经费"][1:] = [
        budget_row("小学", amount=100),         # row 2  valid
        [],                                     # row 3  blank
        budget_row("初中", amount="x"),         # row 4  rejected (type)
        budget_row("普通高中", amount=300),     # row 5  valid
        [None] * 8,                             # row 6  blank
        budget_row("学前教育", amount=None),    # row 7  rejected (required)
        budget_row("特殊教育", amount=700),     # row 8  valid
    ]
    ledger = finaudit.load(write_xlsx(sheets))
    budget = ledger.sheets["budget"]

    assert (budget.rows_read, budget.rows_valid, budget.rows_rejected, budget.rows_blank) == (5, 3, 2, 2)
    assert budget.rows_read == budget.rows_valid + budget.rows_rejected
    assert budget.frame["_row"].tolist() == [2, 5, 8]
    assert budget.frame["amount"].sum() == 1100.0
    assert sorted(e.cell for f in ledger.findings for e in f.evidence) == ["教育经费!H4", "教育经费!H7"]


def test_a_合计_row_is_kept_out_of_the_sums_with_an_info_finding(write_xlsx, sheets):
    sheets["教育经费"][1:] = [
        budget_row("小学", amount=100),                                       # row 3
        budget_row("初中", amount=200),                                       # row 4
        [2023, "130682", "合计", None, None, None, None, 300],                # row 5
    ]
    ledger = finaudit.load(write_xlsx(sheets, titles={"教育经费": [["教育经费台账"]]}))
    budget = ledger.sheets["budget"]

    finding = only(ledger.findings, "DATA_SUBTOTAL_ROW")
    assert len(ledger.findings) == 1        # its empty 学段 etc. are not reported as well
    assert finding.severity == "info"
    assert (finding.evidence[0].sheet, finding.evidence[0].row) == ("教育经费", 5)
    assert "合计" in finding.message["zh"]
    assert budget.frame["amount"].sum() == 300.0
    assert (budget.rows_read, budget.rows_valid, budget.rows_rejected) == (3, 2, 1)


def test_a_小计_in_the_level_column_also_marks_a_subtotal_row(write_xlsx, sheets):
    sheets["教育经费"].append([2023, "130682", "定州市", "小计", None, None, None, 4000.5])   # row 4
    ledger = finaudit.load(write_xlsx(sheets))

    assert only(ledger.findings, "DATA_SUBTOTAL_ROW").evidence[0].row == 4
    assert ledger.sheets["budget"].frame["amount"].sum() == 4000.5


# --- numbers, codes and years written the way people write them --------------------

def test_numbers_stored_as_text_with_separators_and_full_width_digits_are_read(write_xlsx, sheets):
    sheets["教育经费"][1:] = [
        budget_row("小学", amount="1,234,567.89"),
        budget_row("初中", amount="１２３４．５"),     # full-width digits and point
        budget_row("普通高中", amount="2，000"),       # full-width comma
        budget_row("学前教育", amount=" 88 "),
    ]
    sheets["在校生"][1][5] = "1,200"
    sheets["在校生"][2][5] = "１２０"
    ledger = finaudit.load(write_xlsx(sheets))

    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["amount"].tolist() == [1_234_567.89, 1234.5, 2000.0, 88.0]
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [1200, 120]


def test_a_region_code_stored_as_a_number_is_read_as_a_six_digit_string(write_xlsx, sheets):
    sheets["教育经费"][1][1] = 130682
    sheets["在校生"][1][1] = 130682.0
    ledger = finaudit.load(write_xlsx(sheets))

    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["region_code"].tolist() == ["130682", "130682"]
    assert ledger.sheets["enrollment"].frame["region_code"].tolist() == ["130682", "130682"]


def test_a_year_written_as_2023年_or_in_full_width_digits_is_the_year_2023(write_xlsx, sheets):
    sheets["教育经费"][1][0] = "2023年"
    sheets["教育经费"][2][0] = "２０２３年度"
    sheets["在校生"][1][0] = "2023年"
    ledger = finaudit.load(write_xlsx(sheets))

    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["year"].tolist() == [2023, 2023]
    assert ledger.sheets["enrollment"].frame["year"].tolist() == [2023, 2023]


def test_a_序号_column_before_the_data_does_not_stop_numbers_stored_as_text_from_being_read(write_xlsx, sheets):
    budget = sheets["教育经费"]
    sheets["教育经费"] = [["序号", *budget[0]], [1, "2023年", *budget[1][1:]], [2, *budget[2]]]
    ledger = finaudit.load(write_xlsx(sheets))

    assert ledger.findings == []
    assert ledger.sheets["budget"].frame["year"].tolist() == [2023, 2023]
    assert ledger.sheets["budget"].letters["amount"] == "I"


def test_a_hidden_ledger_sheet_is_read_and_marked_hidden(write_xlsx, sheets):
    ledger = finaudit.load(write_xlsx(sheets, hidden=("在校生",)))

    assert ledger.sheets["enrollment"].hidden is True
    assert ledger.sheets["enrollment"].summary()["hidden"] is True
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [30, 20]


# --- errors that stop the audit -----------------------------------------------------

def _relayout(path, sheet, *, merge=(), hide=(), clear=()):
    """Rewrites a workbook as a person lays it out in Excel: cells cleared under a merge
    (Excel keeps only the top-left value), ranges merged, rows hidden."""
    import openpyxl

    book = openpyxl.load_workbook(path)
    ws = book[sheet]
    for ref in clear:
        ws[ref].value = None
    for ref in merge:
        ws.merge_cells(ref)
    for row in hide:
        ws.row_dimensions[row].hidden = True
    book.save(path)
    return path


def test_a_region_merged_down_several_rows_is_read_in_every_row_it_spans(write_xlsx, sheets):
    sheets["教育经费"] += [[2023, "130682", "定州市", "高中", "公办", "一般公共预算", "公用经费", 7]]
    path = _relayout(write_xlsx(sheets), "教育经费", merge=["A2:A4", "B2:B4", "C2:C4"],
                     clear=["A3", "A4", "B3", "B4", "C3", "C4"])

    ledger = finaudit.load(path)

    budget = ledger.sheets["budget"]
    assert budget.rows_rejected == 0
    assert budget.frame["region_code"].tolist() == ["130682"] * 3
    assert budget.frame["year"].tolist() == [2023] * 3
    assert budget.filled_cells == 6
    [merged] = ledger.findings
    assert (merged.rule_id, merged.severity) == ("DATA_MERGED_CELLS", "info")
    assert [e.cell for e in merged.evidence] == ["教育经费!A2", "教育经费!B2", "教育经费!C2"]
    assert "A2:A4" in merged.message["zh"] and "6" in merged.message["zh"]


def test_an_amount_merged_over_rows_is_read_once_not_copied_into_each_row(write_xlsx, sheets):
    # A merged amount shows one number for two rows: copying it would double the money.
    path = _relayout(write_xlsx(sheets), "教育经费", merge=["H2:H3"], clear=["H3"])

    ledger = finaudit.load(path)

    budget = ledger.sheets["budget"]
    assert budget.frame["amount"].sum() == 1500
    assert budget.rows_rejected == 1
    [required] = [f for f in ledger.findings if f.rule_id == "SCHEMA_REQUIRED"]
    assert [e.cell for e in required.evidence] == ["教育经费!H3"]
    assert not [f for f in ledger.findings if f.rule_id == "DATA_MERGED_CELLS"]


def test_hidden_rows_are_read_and_summed_and_named_in_an_info_finding(write_xlsx, sheets):
    sheets["教育经费"] += [[2023, "130682", "定州市", "高中", "公办", "一般公共预算", "公用经费", 7],
                          [2023, "130682", "定州市", "学前教育", "公办", "一般公共预算", "公用经费", 9]]
    path = _relayout(write_xlsx(sheets), "教育经费", hide=[3, 4, 5])

    ledger = finaudit.load(path)

    budget = ledger.sheets["budget"]
    assert budget.frame["amount"].sum() == 1500 + 2500.5 + 7 + 9
    assert budget.summary()["hidden_rows"] == 3
    [hidden] = ledger.findings
    assert (hidden.rule_id, hidden.severity) == ("DATA_HIDDEN_ROWS", "info")
    assert [e.cell for e in hidden.evidence] == ["教育经费!H3", "教育经费!H4", "教育经费!H5"]
    assert "3–5" in hidden.message["zh"]


def test_an_xlsx_workbook_named_xls_is_an_error_saying_to_rename_it(write_xlsx, sheets):
    path = write_xlsx(sheets, name="ledger.xls")
    with pytest.raises(LedgerError) as caught:
        finaudit.load(path)
    assert ".xlsx" in caught.value.zh and "rename" in caught.value.en


def test_an_empty_file_of_any_kind_is_an_error_saying_it_is_empty(tmp_path):
    for name in ("教育经费.csv", "ledger.ods", "ledger.xlsx"):
        path = tmp_path / name
        path.write_bytes(b"")
        with pytest.raises(LedgerError) as caught:
            finaudit.load(path)
        assert "0 字节" in caught.value.zh


def test_a_missing_budget_sheet_is_an_error_naming_the_sheet_and_the_accepted_names(write_xlsx, sheets):
    # Only 教育经费 is required (schemas/budget.yaml): every guarantee rests on it.
    path = write_xlsx({"在校生": sheets["在校生"], "说明": [["合成数据"]]})
    with pytest.raises(LedgerError) as caught:
        finaudit.load(path)

    zh, en = caught.value.zh, caught.value.en
    assert zh.startswith("找不到工作表“教育经费”")
    assert "在校生、说明" in zh                                 # the sheets that are there
    for accepted in ("教育经费", "budget"):                      # schemas/budget.yaml
        assert accepted in zh.split("可接受的名称：")[1]
    assert "'budget'" in en and "Accepted names" in en


def test_a_workbook_of_the_budget_sheet_alone_loads(write_xlsx, sheets):
    ledger = finaudit.load(write_xlsx({"教育经费": sheets["教育经费"], "说明": [["合成数据"]]}))
    assert list(ledger.sheets) == ["budget"] and ledger.findings == []


def test_a_missing_required_column_is_an_error_naming_the_column_and_its_accepted_headers(write_xlsx, sheets):
    sheets["教育经费"] = [row[:7] for row in sheets["教育经费"]]      # no 金额 column
    with pytest.raises(LedgerError) as caught:
        finaudit.load(write_xlsx(sheets))

    zh, en = caught.value.zh, caught.value.en
    assert "教育经费" in zh and "“金额”" in zh
    assert "amount、金额、支出金额、支出数" in zh                     # schemas/budget.yaml aliases
    assert "'amount'" in en and "amount, 金额, 支出金额, 支出数" in en


def test_an_unsupported_file_type_is_an_error_naming_the_type_and_the_accepted_ones(tmp_path):
    path = tmp_path / "ledger.numbers"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(LedgerError) as caught:
        finaudit.load(path)

    assert "“.numbers”" in caught.value.zh and ".xlsx" in caught.value.zh and ".ods" in caught.value.zh
    assert "'.numbers'" in caught.value.en


# --- the CLI ------------------------------------------------------------------------

def test_validate_exits_0_when_every_row_is_valid(cli, write_xlsx, sheets):
    result = cli("validate", write_xlsx(sheets))

    assert result.exit_code == 0, result.output
    assert "所有行均有效" in result.stdout


def test_validate_exits_1_when_a_row_has_a_finding(cli, write_xlsx, sheets):
    sheets["教育经费"][1][7] = "abc"
    result = cli("validate", write_xlsx(sheets), "--lang", "en")

    assert result.exit_code == 1, result.output
    assert "SCHEMA_TYPE" in result.stdout and "教育经费!H2" in result.stdout


@pytest.mark.parametrize("name", ["missing.xlsx", "ledger.xls"])
def test_validate_exits_2_with_one_line_on_stderr_and_no_traceback_when_the_ledger_cannot_be_read(
        cli, tmp_path, name):
    if name.endswith(".xls"):
        (tmp_path / name).write_bytes(b"not a workbook")
    result = cli("validate", tmp_path / name)

    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and name in lines[0]
    assert "Traceback" not in result.stderr


def test_validate_json_has_one_entry_per_sheet_and_every_finding_with_its_evidence(cli, write_xlsx, sheets):
    sheets["教育经费"].append(budget_row("普通高中", amount="n/a?"))        # row 4, H
    sheets["教育经费"].append([2023, "130682", "合计", None, None, None, None, 4000.5])   # row 5
    path = write_xlsx(sheets)
    result = cli("validate", path, "--format", "json")

    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert [{k: s[k] for k in ("name", "source", "rows_read", "rows_valid", "rows_rejected", "unit")}
            for s in doc["sheets"]] == [
        {"name": "budget", "source": "教育经费", "rows_read": 4, "rows_valid": 2, "rows_rejected": 2, "unit": "元"},
        {"name": "enrollment", "source": "在校生", "rows_read": 2, "rows_valid": 2, "rows_rejected": 0, "unit": ""},
    ]
    by_rule = {f["rule_id"]: f for f in doc["findings"]}
    assert set(by_rule) == {"SCHEMA_TYPE", "DATA_SUBTOTAL_ROW"}
    for finding in doc["findings"]:
        assert {"rule_id", "severity", "message", "evidence"} <= set(finding)
        assert set(finding["message"]) == {"zh", "en"}
        for evidence in finding["evidence"]:
            assert {"file", "sheet", "row", "cell"} <= set(evidence)
    assert by_rule["SCHEMA_TYPE"]["severity"] == "violation"
    assert {k: by_rule["SCHEMA_TYPE"]["evidence"][0][k] for k in ("file", "sheet", "row", "cell")} == \
        {"file": str(path), "sheet": "教育经费", "row": 4, "cell": "教育经费!H4"}
    assert by_rule["DATA_SUBTOTAL_ROW"]["severity"] == "info"
    assert by_rule["DATA_SUBTOTAL_ROW"]["evidence"][0]["row"] == 5


def test_an_empty_optional_sheet_is_the_same_as_no_sheet(write_xlsx, sheets):
    path = write_xlsx({**sheets, "工资": []})
    ledger = finaudit.load(path)
    assert ledger.findings == [] and "salaries" not in ledger.sheets


def test_an_unquoted_thousands_separator_in_a_csv_rejects_the_line_instead_of_misreading_it(write_csv):
    rows = [["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额"],
            [2023, "130682", "定州市", "小学", "公办", "一般公共预算", "公用经费", "1,234"],
            [2023, "130682", "定州市", "初中", "公办", "一般公共预算", "公用经费", "99"]]
    text = "\n".join(",".join(map(str, r)) for r in rows) + "\n"   # the 1,234 is not quoted
    path = write_csv("ledger/教育经费.csv", [])
    path.write_text(text, encoding="utf-8")
    write_csv("ledger/在校生.csv", [["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数"]])
    ledger = finaudit.load(path.parent)
    budget = ledger.sheets["budget"]
    assert (budget.rows_read, budget.rows_rejected) == (2, 1)
    assert budget.frame["amount"].tolist() == [99.0]
    finding = next(f for f in ledger.findings if f.rule_id == "SCHEMA_FIELD_COUNT")
    assert finding.evidence[0].row == 2 and "1,234" in finding.message["zh"]


def test_a_money_column_without_a_unit_takes_the_unit_the_other_money_headers_declare(write_xlsx, sheets):
    sheets["教育经费"][0] = sheets["教育经费"][0][:-1] + ["金额（万元）", "上年同口径数"]
    sheets["教育经费"][1] += [1400]
    sheets["教育经费"][2] += [2400]
    ledger = finaudit.load(write_xlsx(sheets))
    frame = ledger.sheets["budget"].frame
    assert frame["prior_year_comparable"].tolist() == [14_000_000.0, 24_000_000.0]
    assert ledger.sheets["budget"].units == {"amount": "万元", "prior_year_comparable": "万元"}


def test_every_bad_cell_of_a_row_is_reported(write_xlsx, sheets):
    sheets["教育经费"][1][3] = "大学"          # level not allowed (D2)
    sheets["教育经费"][1][7] = -5              # negative amount (H2)
    ledger = finaudit.load(write_xlsx(sheets))
    cells = sorted(e.cell for f in ledger.findings for e in f.evidence)
    assert cells == ["教育经费!D2", "教育经费!H2"]
    assert ledger.sheets["budget"].rows_rejected == 1


def test_the_warm_up_sheets_load_without_error_one_row_each():
    # The warm-up (loading these while the parse child reads the file) swallows its errors, so
    # a sample the loader refuses would silently warm nothing: the first sheet would pay again.
    from finaudit.intake.ledger import _load_sheet, _sample_sheets

    loaded = [_load_sheet(raw) for raw in _sample_sheets()]
    assert loaded and all(sheet.rows_read == 1 and sheet.rows_rejected == 0 for sheet, _ in loaded)
    assert [finding for _, findings in loaded for finding in findings] == []
