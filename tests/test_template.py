"""The blank ledger workbook: generated from schemas/, read back by the loader unchanged."""
from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

import finaudit
from finaudit.errors import UsageError
from finaudit.intake.schema import enum_lookup, enums, fold, load_schemas
from finaudit.authoring.template import write_template

# Rows a bureau types under the template's headers, by header text (Chinese names).
FILLED_ZH = {
    "教育经费": [
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "学段": "小学", "办学性质": "公办",
         "资金来源": "一般公共预算", "支出类别": "公用经费", "金额（元）": 28_500_000},
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "学段": "普通高中", "办学性质": "公办",
         "资金来源": "教育费附加", "支出类别": "基本建设", "金额（元）": 1_234_567.89,
         "学校代码": "130682S01", "学校名称": "定州市第一中学", "口径": "预算", "上年同口径数（元）": 1_000_000},
    ],
    "在校生": [
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "学段": "小学", "办学性质": "公办", "在校生数": 30_000},
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "学段": "普通高中", "办学性质": "公办",
         "在校生数": 4_000, "学校代码": "130682S01", "学校名称": "定州市第一中学"},
    ],
    "教育费附加": [
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "附加类型": "地方教育附加",
         "征收额（元）": 8_000_000, "用于职业教育（元）": 2_400_000},
    ],
    "工资": [
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "人员类别": "义务教育教师",
         "人数": 3000, "年度工资收入总额（元）": 276_000_000},
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "人员类别": "公务员",
         "人数": 1800, "年度工资收入总额（元）": 162_000_000},
    ],
    "参照值": [
        {"年度": 2023, "行政区划代码": "130000", "指标": "全省义务教育生均公用经费", "数值（元）": 1169.86},
    ],
    "财政收支": [
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "财政经常性收入（元）": 1_000_000_000},
    ],
    "发展指标": [
        {"年度": 2023, "行政区划代码": "130682", "地区": "定州市", "指标": "九年义务教育巩固率", "数值": 97.35},
    ],
}


def fill(path, rows_by_sheet):
    """Types rows under the template's headers (matched by header text), as a user would."""
    book = openpyxl.load_workbook(path)
    for sheet, rows in rows_by_sheet.items():
        ws = book[sheet]
        columns = {cell.value: cell.column for cell in ws[1]}
        for r, row in enumerate(rows, start=2):
            for header, value in row.items():
                ws.cell(row=r, column=columns[header], value=value)
    book.save(path)
    return path


def headers(ws):
    return [cell.value for cell in ws[1]]


@pytest.fixture(scope="module")
def zh_book(tmp_path_factory):
    return openpyxl.load_workbook(write_template(tmp_path_factory.mktemp("zh") / "台账模板.xlsx"))


@pytest.fixture(scope="module")
def en_book(tmp_path_factory):
    return openpyxl.load_workbook(write_template(tmp_path_factory.mktemp("en") / "template.xlsx", lang="en"))


# --- the round trip -------------------------------------------------------------------

def test_a_filled_in_chinese_template_loads_with_no_findings_and_every_value_read(tmp_path):
    path = write_template(tmp_path / "ledger.xlsx")
    ledger = finaudit.load(fill(path, FILLED_ZH))

    assert ledger.findings == []
    assert {name: (s.source, s.rows_read, s.rows_valid, s.rows_blank) for name, s in ledger.sheets.items()} == {
        "budget": ("教育经费", 2, 2, 0), "enrollment": ("在校生", 2, 2, 0), "surcharge": ("教育费附加", 1, 1, 0),
        "salaries": ("工资", 2, 2, 0), "reference": ("参照值", 1, 1, 0),
        "fiscal": ("财政收支", 1, 1, 0), "indicators": ("发展指标", 1, 1, 0),
    }
    budget = ledger.sheets["budget"].frame
    assert budget[["level", "fund_source", "expense_class", "amount", "basis", "_row"]].to_dict("records") == [
        {"level": "primary", "fund_source": "general_budget", "expense_class": "public_funds",
         "amount": 28_500_000.0, "basis": "final", "_row": 2},
        {"level": "senior_general", "fund_source": "education_surcharge", "expense_class": "capital",
         "amount": 1_234_567.89, "basis": "budget", "_row": 3},
    ]
    assert pd.isna(budget["school_id"].iloc[0]) and budget["school_id"].iloc[1] == "130682S01"
    assert budget["prior_year_comparable"].iloc[1] == 1_000_000.0
    assert ledger.sheets["budget"].units == {"amount": "元", "prior_year_comparable": "元"}
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [30_000, 4_000]
    surcharge = ledger.sheets["surcharge"].frame.iloc[0]
    assert (surcharge["surcharge_type"], surcharge["collected"], surcharge["vocational"]) == \
        ("local_education_surcharge", 8_000_000.0, 2_400_000.0)
    assert ledger.sheets["salaries"].frame["pay_group"].tolist() == ["compulsory_teacher", "civil_servant"]
    reference = ledger.sheets["reference"].frame.iloc[0]
    assert (reference["region_code"], reference["metric"], reference["value"]) == \
        ("130000", "provincial_avg_compulsory_public_funds_per_student", 1169.86)


def test_a_filled_in_english_template_loads_with_english_codes_or_chinese_names(tmp_path):
    path = write_template(tmp_path / "ledger.xlsx", lang="en")
    fill(path, {
        "budget": [
            {"year": 2022, "region_code": "130502", "region_name": "Xiangdu", "level": "preschool",
             "ownership": "public", "fund_source": "general_budget", "expense_class": "public_funds", "amount": 5_000_000},
            {"year": 2022, "region_code": "130502", "region_name": "Xiangdu", "level": "学前教育",
             "ownership": "公办", "fund_source": "一般公共预算", "expense_class": "人员经费", "amount": 7_000_000.5},
        ],
        "enrollment": [
            {"year": 2022, "region_code": "130502", "region_name": "Xiangdu", "level": "preschool",
             "ownership": "public", "students": 12_000},
        ],
    })
    ledger = finaudit.load(path)

    assert ledger.findings == []
    assert set(ledger.sheets) == {"budget", "enrollment", "surcharge", "salaries", "reference", "fiscal",
                                  "indicators"}
    budget = ledger.sheets["budget"].frame
    assert budget["level"].tolist() == ["preschool", "preschool"]
    assert budget["expense_class"].tolist() == ["public_funds", "personnel"]
    assert budget["amount"].tolist() == [5_000_000.0, 7_000_000.5]
    assert ledger.sheets["enrollment"].frame["students"].tolist() == [12_000]
    assert ledger.sheets["surcharge"].rows_read == 0


def test_the_blank_template_itself_validates_with_no_rows_and_no_findings(tmp_path):
    ledger = finaudit.load(write_template(tmp_path / "blank.xlsx"))

    assert ledger.findings == []
    assert all(s.rows_read == 0 and s.rows_blank == 0 for s in ledger.sheets.values())


def test_finaudit_template_then_finaudit_validate_exit_0_on_a_filled_in_ledger(cli, tmp_path):
    path = tmp_path / "ledger.xlsx"
    written = cli("template", path)
    assert written.exit_code == 0, written.output
    assert str(path) in written.stdout

    fill(path, {"教育经费": FILLED_ZH["教育经费"], "在校生": FILLED_ZH["在校生"]})
    checked = cli("validate", path)
    assert checked.exit_code == 0, checked.output
    assert "所有行均有效" in checked.stdout


def test_finaudit_template_in_english_then_validate_exits_0(cli, tmp_path):
    path = tmp_path / "ledger.xlsx"
    assert cli("template", path, "--lang", "en").exit_code == 0
    assert openpyxl.load_workbook(path).sheetnames[0] == "Instructions"
    result = cli("validate", path, "--lang", "en")
    assert result.exit_code == 0, result.output


# --- what the template looks like -----------------------------------------------------

def test_the_chinese_template_has_the_instructions_first_then_one_sheet_per_ledger_sheet(zh_book):
    assert zh_book.sheetnames == ["填表说明", "教育经费", "在校生", "教育费附加", "工资", "参照值", "财政收支",
                                  "发展指标"]


def test_the_english_template_names_sheets_and_headers_by_their_canonical_names(en_book):
    assert en_book.sheetnames == ["Instructions", "budget", "enrollment", "surcharge", "salaries", "reference",
                                  "fiscal", "indicators"]
    assert headers(en_book["enrollment"]) == ["year", "region_code", "region_name", "level", "ownership",
                                              "students", "school_id", "school_name", "prior_year_comparable"]


def test_chinese_headers_are_the_first_chinese_alias_and_money_headers_carry_the_unit(zh_book):
    assert headers(zh_book["教育经费"]) == ["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别",
                                        "金额（元）", "学校代码", "学校名称", "口径", "上年同口径数（元）"]
    assert headers(zh_book["教育费附加"]) == ["年度", "行政区划代码", "地区", "附加类型", "征收额（元）", "用于职业教育（元）"]


def test_every_sheet_has_a_column_for_every_schema_column(zh_book, en_book):
    for schema in load_schemas().values():
        assert len(headers(zh_book[schema.title["zh"]])) == len(schema.columns)
        assert headers(en_book[schema.name]) == [c.name for c in schema.columns]


def test_headers_are_bold_frozen_and_commented_with_the_column_description(zh_book, en_book):
    ws = zh_book["教育经费"]
    assert ws.freeze_panes == "A2"
    assert all(cell.font.bold for cell in ws[1])
    assert "6位行政区划代码" in ws["B1"].comment.text and "必填" in ws["B1"].comment.text
    assert "预算或决算" in ws["K1"].comment.text and "选填" in ws["K1"].comment.text
    assert "Six-digit administrative division code" in en_book["budget"]["B1"].comment.text
    for book, lang in ((zh_book, "zh"), (en_book, "en")):
        for schema in load_schemas().values():
            sheet = book[schema.title["zh"] if lang == "zh" else schema.name]
            for cell, column in zip(sheet[1], schema.columns):
                assert column.description[lang] in cell.comment.text


def list_validations(ws):
    """{column letter: the values of its dropdown list} for the list validations of a sheet."""
    out = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "list":
            for rng in dv.sqref.ranges:
                assert rng.min_row == 2
                out[rng.coord.split(":")[0].rstrip("0123456789")] = dv.formula1.strip('"').split(",")
    return out


def test_enum_columns_have_a_dropdown_of_chinese_names_in_the_chinese_template(zh_book):
    dropdowns = list_validations(zh_book["教育经费"])
    assert set(dropdowns) == {"D", "E", "F", "G", "K"}     # 学段 办学性质 资金来源 支出类别 口径
    assert dropdowns["D"] == ["学前教育", "小学", "初中", "普通高中", "中等职业教育", "高等教育", "特殊教育", "其他"]
    assert dropdowns["E"] == ["公办", "民办"]
    assert dropdowns["K"] == ["决算", "预算"]
    assert list_validations(zh_book["工资"]) == {"D": ["义务教育教师", "公务员"]}


def test_enum_columns_have_a_dropdown_of_english_codes_in_the_english_template(en_book):
    dropdowns = list_validations(en_book["budget"])
    assert dropdowns["E"] == ["public", "private"]
    assert dropdowns["G"] == ["personnel", "public_funds", "capital", "other"]
    assert list_validations(en_book["reference"]) == {"C": ["provincial_avg_compulsory_public_funds_per_student",
                                                            "provincial_avg_primary_public_funds_per_student",
                                                            "provincial_avg_junior_public_funds_per_student"]}


def test_every_dropdown_offers_every_code_of_its_enumeration_in_a_spelling_the_loader_accepts(zh_book, en_book):
    for book, lang in ((zh_book, "zh"), (en_book, "en")):
        for schema in load_schemas().values():
            dropdowns = list_validations(book[schema.title["zh"] if lang == "zh" else schema.name])
            enum_columns = [(chr(65 + i), c) for i, c in enumerate(schema.columns) if c.type == "enum"]
            assert set(dropdowns) == {letter for letter, _ in enum_columns}
            for letter, column in enum_columns:
                lookup = enum_lookup(column.enum)
                assert [lookup[fold(v)] for v in dropdowns[letter]] == list(enums()[column.enum])


def test_columns_are_formatted_as_money_whole_numbers_or_text(zh_book):
    ws = zh_book["教育经费"]
    formats = {letter: ws.column_dimensions[letter].number_format for letter in "ABHL"}
    assert formats == {"A": "0", "B": "@", "H": "#,##0.00", "L": "#,##0.00"}
    assert zh_book["在校生"].column_dimensions["F"].number_format == "0"
    assert all(ws.column_dimensions[letter].width >= 10 for letter in "ABCDEFGHIJKL")


def test_the_instructions_say_which_sheets_and_columns_are_required(zh_book):
    rows = [[c for c in row if c is not None] for row in zh_book["填表说明"].iter_rows(values_only=True)]
    text = "\n".join(" ".join(str(c) for c in row) for row in rows)
    assert "教育经费（必需工作表）" in text and "工资（可选工作表）" in text
    assert ["金额（元）", "amount", "必填"] == rows_starting(rows, "金额（元）")[0][:3]
    assert ["学校代码", "school_id", "选填"] == rows_starting(rows, "学校代码")[0][:3]
    assert any("决算" in str(c) and "默认" in str(c) for c in rows_starting(rows, "口径")[0])
    for schema in load_schemas().values():
        assert schema.description["zh"] in text


def rows_starting(rows, first):
    return [row for row in rows if row and row[0] == first]


def test_the_english_instructions_say_required_or_optional_for_every_column(en_book):
    rows = [row for row in en_book["Instructions"].iter_rows(values_only=True)]
    by_field = {}
    for row in rows:
        if row[1] and row[2] in ("required", "optional"):
            by_field.setdefault(row[1], set()).add(row[2])
    assert by_field["amount"] == {"required"}
    assert by_field["school_id"] == {"optional"}
    all_columns = {c.name for s in load_schemas().values() for c in s.columns}
    assert set(by_field) == all_columns


# --- usage errors -------------------------------------------------------------------------

def test_a_template_path_that_is_not_xlsx_is_a_usage_error_in_both_languages(tmp_path):
    with pytest.raises(UsageError) as caught:
        write_template(tmp_path / "ledger.xls")
    assert "ledger.xls" in caught.value.zh and ".xlsx" in caught.value.zh
    assert "ledger.xls" in caught.value.en and ".xlsx" in caught.value.en
    assert not (tmp_path / "ledger.xls").exists()


def test_a_template_in_a_folder_that_does_not_exist_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError) as caught:
        write_template(tmp_path / "nowhere" / "ledger.xlsx")
    assert "nowhere" in caught.value.zh and "nowhere" in caught.value.en


def test_write_template_returns_the_path_it_wrote(tmp_path):
    path = write_template(str(tmp_path / "ledger.xlsx"), lang="en")
    assert path == tmp_path / "ledger.xlsx" and path.is_file()


def test_finaudit_template_exits_2_with_one_line_for_a_csv_path(cli, tmp_path):
    result = cli("template", tmp_path / "ledger.csv")
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_dropdown_too_long_to_write_inline_points_at_a_hidden_list_sheet(tmp_path, monkeypatch):
    import finaudit.authoring.template as template

    long_names = [f"学段名称{i:02d}很长很长很长" for i in range(30)]      # 30 x 13 characters > 255
    real = template.options
    monkeypatch.setattr(template, "options",
                        lambda column, lang: long_names if column.enum == "level" else real(column, lang))
    book = openpyxl.load_workbook(write_template(tmp_path / "ledger.xlsx"))

    assert book["_lists"].sheet_state == "hidden"
    [level] = [dv for dv in book["教育经费"].data_validations.dataValidation if "D2" in dv.sqref]
    assert level.formula1 == "_lists!$A$2:$A$31"
    [again] = [dv for dv in book["在校生"].data_validations.dataValidation if "D2" in dv.sqref]
    assert again.formula1 == level.formula1            # one list per enumeration, shared
    assert [book["_lists"].cell(row=r, column=1).value for r in range(2, 32)] == long_names
    assert finaudit.load(tmp_path / "ledger.xlsx").findings == []


def test_the_indicators_sheet_has_a_dropdown_of_the_plan_indicators_and_a_two_decimal_value(zh_book):
    ws = zh_book["发展指标"]
    assert headers(ws) == ["年度", "行政区划代码", "地区", "指标", "数值"]     # a value in its own unit: no （元）
    assert list_validations(ws)["D"] == ["学前三年毛入园率", "九年义务教育巩固率", "高中阶段毛入学率", "高等教育在校生数",
                                         "“双师型”教师占比", "劳动年龄人口平均受教育年限"]
    assert ws.column_dimensions["E"].number_format == "0.00"
