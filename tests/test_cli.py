"""The check, rules and profiles commands as a user meets them: output, files, exit codes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BROKEN, CLEAN, SAMPLES
from finaudit.runs.compact import expand

GOLDEN = Path(__file__).resolve().parent / "golden"
FINDING_KEYS = {"rule_id", "check", "severity", "subject", "measure", "shortfall_yuan", "citation", "message",
                "evidence", "evidence_total", "fingerprint", "input"}
CITATION_KEYS = {"rule_id", "profile", "basis", "parameters"}


def _one_line_error(run):
    assert run.exit_code == 2
    assert "Traceback" not in run.output
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_check_exits_1_on_a_violation_and_0_when_told_to_fail_never(cli):
    assert cli("check", BROKEN).exit_code == 1
    assert cli("check", BROKEN, "--fail-on", "never").exit_code == 0


def test_check_fails_on_info_when_asked(cli):
    # the clean sample's first year has no previous year: info findings exist
    assert cli("check", CLEAN, "--fail-on", "info", "--quiet").exit_code == 1
    assert cli("check", CLEAN, "--fail-on", "warning", "--quiet").exit_code == 0


def test_quiet_prints_nothing(cli):
    run = cli("check", BROKEN, "--quiet")
    assert run.exit_code == 1 and run.output == ""


def test_the_text_report_names_the_clause_the_cell_and_the_money(cli):
    run = cli("check", BROKEN)
    assert "幼儿园生均公用经费(生均400元)" in run.stdout
    assert "缺口2,000.00元" in run.stdout
    assert "教育经费!H70" in run.stdout
    assert "定州市 → dingzhou" in run.stdout


def test_the_text_report_speaks_english_when_asked(cli):
    run = cli("check", BROKEN, "--lang", "en")
    assert "Result: guarantees: 1 violations" in run.stdout
    assert "below the floor of 400 yuan" in run.stdout


def test_json_is_written_with_the_documented_shape(cli, tmp_path):
    out = tmp_path / "out" / "findings.json"
    run = cli("check", BROKEN, "--json", out, "--quiet")
    assert run.exit_code == 1
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert list(doc) == ["finaudit_version", "format_version", "run", "summary", "citations", "findings"]
    assert doc["format_version"] == 3
    assert set(doc["run"]) == {"id", "started_at", "finaudit_version", "profiles", "parameters", "rules_digest",
                               "schemas_digest", "options", "inputs"}
    assert doc["run"]["inputs"][0]["sha256"] and len(doc["run"]["inputs"][0]["sheets"]) == 7
    assert all(set(c) == CITATION_KEYS for c in doc["citations"])
    for finding in doc["findings"]:
        assert FINDING_KEYS <= set(finding)
        assert not {"basis", "profile", "parameters", "file"} & set(finding)
        assert set(finding["subject"]) == {"region_code", "region_name", "year", "level", "school_id"}
        assert finding["input"] == 0 and all(e["input"] == 0 and "file" not in e for e in finding["evidence"])
    violation = next(f for f in doc["findings"] if f["severity"] == "violation")
    assert violation["measure"] == {"actual": 390.0, "required": 400.0, "unit": "元/生·年"}
    cited = doc["citations"][violation["citation"]]
    assert cited["rule_id"] == "FLOOR_PRESCHOOL" and cited["profile"] == "dingzhou"
    assert cited["parameters"]["floor_preschool_public_funds_per_student"]["value"] == 400
    assert {e["cell"] for e in violation["evidence"]} == {"教育经费!H70", "在校生!F24"}
    # expanded, the finding is whole again, as format 2 wrote it
    whole = next(f for f in expand(doc)["findings"] if f["fingerprint"] == violation["fingerprint"])
    assert whole["parameters"] == cited["parameters"] and whole["basis"] == cited["basis"]
    assert whole["file"] == str(BROKEN) and {e["file"] for e in whole["evidence"]} == {str(BROKEN)}


def test_fingerprints_are_stable_across_runs(cli):
    first = json.loads(cli("check", BROKEN, "--format", "json").stdout)
    second = json.loads(cli("check", BROKEN, "--format", "json").stdout)
    assert [f["fingerprint"] for f in first["findings"]] == [f["fingerprint"] for f in second["findings"]]
    assert len({f["fingerprint"] for f in first["findings"]}) == len(first["findings"])


def _normalised(doc: dict) -> dict:
    doc["run"]["started_at"] = "<started_at>"
    doc["run"]["id"] = "<id>"
    # the digests change with any rule or schema edit; test_manifest.py checks them
    doc["run"]["rules_digest"] = "<rules_digest>"
    doc["run"]["schemas_digest"] = "<schemas_digest>"
    doc["run"]["finaudit_version"] = "<version>"
    for item in doc["run"]["inputs"]:
        item["path"] = Path(item["path"]).name
        item["sha256"] = "<sha256>"
        for sheet in item["sheets"]:
            sheet["file"] = Path(sheet["file"]).name
    # format 3: findings name their file by index into run.inputs, normalised above
    doc["finaudit_version"] = "<version>"
    return doc


@pytest.mark.parametrize("sample", ["break_FLOOR_PRESCHOOL", "break_ONLY_INCREASE_PER_STUDENT"])
def test_json_output_matches_the_golden_file(cli, sample):
    """A golden file changes only in a commit that says why (FINAUDIT_UPDATE_GOLDEN=1 rewrites it)."""
    doc = _normalised(json.loads(cli("check", SAMPLES / f"{sample}.xlsx", "--format", "json").stdout))
    golden = GOLDEN / f"{sample}.json"
    if os.environ.get("FINAUDIT_UPDATE_GOLDEN"):
        golden.write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert doc == json.loads(golden.read_text(encoding="utf-8"))


def test_a_missing_ledger_is_one_line_and_exit_2(cli, tmp_path):
    line = _one_line_error(cli("check", tmp_path / "没有这个文件.xlsx"))
    assert "没有这个文件.xlsx" in line


def test_an_unknown_profile_is_one_line_naming_the_valid_ones(cli):
    line = _one_line_error(cli("check", CLEAN, "--profile", "beijing"))
    assert "beijing" in line and "dingzhou" in line


def test_a_year_not_in_the_ledger_is_one_line(cli):
    line = _one_line_error(cli("check", CLEAN, "--year", "2030", "--lang", "en"))
    assert "2030" in line and "2019" in line


def test_auditing_one_year_reports_only_that_year(cli):
    doc = json.loads(cli("check", BROKEN, "--year", "2022", "--format", "json").stdout)
    assert {f["subject"]["year"] for f in doc["findings"] if f["subject"]["year"]} == {2022}


def test_rules_lists_every_rule_with_what_it_requires(cli):
    from finaudit.audit.catalogue import load_rules

    run = cli("rules")
    assert run.exit_code == 0
    for rule in load_rules().values():
        assert rule.id in run.stdout
    # The catalogue states the requirement; the clauses are per profile (`rules show`).
    assert "一般公共预算教育支出逐年只增不减" in run.stdout and "定发字" not in run.stdout


def test_rules_show_gives_the_clause_and_the_parameters_per_profile(cli):
    run = cli("rules", "show", "FLOOR_PRESCHOOL")
    assert run.exit_code == 0
    assert "幼儿园生均公用经费(生均400元)" in run.stdout
    assert "dingzhou: 2022年起 400" in run.stdout


def test_rules_show_of_an_unknown_rule_is_one_line(cli):
    line = _one_line_error(cli("rules", "show", "FLOOR_UNICORN"))
    assert "FLOOR_UNICORN" in line and "FLOOR_PRESCHOOL" in line


def test_profiles_shows_the_values_in_force_with_their_sources(cli):
    run = cli("profiles", "--year", "2023")
    assert run.exit_code == 0
    for pid in ("national", "hebei", "dingzhou", "xingtai"):
        assert pid in run.stdout
    assert "floor_preschool_public_funds_per_student = 400  2022年起" in run.stdout


def test_a_single_budget_csv_is_audited_for_what_it_holds(cli, write_csv, sheets):
    path = write_csv("教育经费.csv", sheets["教育经费"])
    assert cli("validate", path).exit_code == 0
    run = cli("check", path)
    assert run.exit_code in (0, 1), run.stderr
    assert "已评价 " in run.stdout and "台账缺少工作表：在校生" in run.stdout


def _budget_only(path):
    """A county's published totals: general-budget education spending 12.40 -> 11.80 亿元."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("教育经费")
    for r, row in enumerate([["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额（亿元）"],
                             [2022, "130630", "涞源县", "小学", "公办", "一般公共预算", "人员经费", 12.40],
                             [2023, "130630", "涞源县", "小学", "公办", "一般公共预算", "人员经费", 11.80]]):
        sheet.write_row(r, 0, row)
    book.close()
    return path


def test_a_budget_only_workbook_is_judged_on_only_increase_and_says_what_it_could_not_judge(cli, tmp_path):
    # 教育法 第五十五条 / the two 只增不减: 1,240,000,000 - 1,180,000,000 = 60,000,000.00 yuan.
    path = _budget_only(tmp_path / "涞源县.xlsx")
    run = cli("check", path, "--format", "json")
    assert run.exit_code == 1, run.stderr
    doc = json.loads(run.stdout)
    violations = [f for f in doc["findings"] if f["severity"] == "violation"]
    assert [(f["rule_id"], f["shortfall_yuan"]) for f in violations] == [("ONLY_INCREASE_TOTAL", 60_000_000.0)]
    notes = {f["rule_id"]: f for f in doc["findings"] if (f.get("details") or {}).get("reason") == "missing_sheet"}
    coverage = doc["summary"]["coverage"]
    assert coverage["evaluated"] + len(coverage["not_evaluated"]) == coverage["guarantees"]
    assert coverage["not_evaluated"]["ONLY_INCREASE_PER_STUDENT"] == ["enrollment"]
    assert coverage["not_evaluated"]["TEACHER_PAY_PARITY"] == ["salaries"]
    assert set(coverage["not_evaluated"]) <= set(notes)
    assert "ONLY_INCREASE_TOTAL" not in coverage["not_evaluated"]
    # one note per rule, not one per region and year
    assert all(n["subject"]["region_code"] is None and n["severity"] == "info" for n in notes.values())
    assert "台账没有“在校生”工作表" in notes["ONLY_INCREASE_PER_STUDENT"]["message"]["zh"]
    text = cli("check", path).stdout
    assert "台账缺少工作表：在校生" in text and "60,000,000.00" in text


def test_a_budget_only_workbook_in_a_folder_is_audited_like_any_other(cli, tmp_path, samples):
    import shutil

    folder = tmp_path / "counties"
    folder.mkdir()
    _budget_only(folder / "涞源县.xlsx")
    shutil.copy(samples / "clean.xlsx", folder / "clean.xlsx")
    doc = expand(json.loads(cli("check", folder, "--format", "json").stdout))
    assert [i["status"] for i in doc["run"]["inputs"]] == ["audited", "audited"]
    assert [(f["rule_id"], Path(f["file"]).name) for f in doc["findings"] if f["severity"] == "violation"] == \
           [("ONLY_INCREASE_TOTAL", "涞源县.xlsx")]


def test_the_money_gap_counts_a_school_and_its_region_once(tmp_path):
    """One kindergarten with a school code is both the school and the region: 10 x (400 - 390) = 100."""
    import finaudit
    from test_rules import write_ledger

    folder = write_ledger(tmp_path / "ledger", {
        "budget": [{"year": 2023, "level": "preschool", "expense_class": "public_funds", "amount": 3900,
                    "school_id": "K1"}],
        "enrollment": [{"year": 2023, "level": "preschool", "students": 10, "school_id": "K1"}]})
    result = finaudit.check(folder, profile="dingzhou", year=2023)
    gaps = [f.shortfall_yuan for f in result.findings if f.rule_id == "FLOOR_PRESCHOOL" and f.severity == "violation"]
    assert gaps == [100.0, 100.0]
    assert result.summary["by_rule"]["FLOOR_PRESCHOOL"]["shortfall_yuan"] == 100.0


def test_the_money_gap_counts_levels_and_overall_once(tmp_path):
    import finaudit
    from test_rules import write_ledger

    # primary falls 10,000 -> 9,000 per student over 1000 students (1,000,000); junior unchanged;
    # overall 20,000,000/2000 = 10,000 -> 19,000,000/2000 = 9,500: (500 x 2000) = 1,000,000.
    folder = write_ledger(tmp_path / "ledger", {
        "budget": [{"year": y, "level": lv, "expense_class": "personnel", "amount": a}
                   for y, lv, a in [(2022, "primary", 10_000_000), (2022, "junior", 10_000_000),
                                    (2023, "primary", 9_000_000), (2023, "junior", 10_000_000)]],
        "enrollment": [{"year": y, "level": lv, "students": 1000}
                       for y in (2022, 2023) for lv in ("primary", "junior")]})
    result = finaudit.check(folder, profile="dingzhou", year=2023)
    assert result.summary["by_rule"]["ONLY_INCREASE_PER_STUDENT"]["shortfall_yuan"] == 1_000_000


def test_a_bug_of_ours_is_still_one_line_and_exit_2(cli, monkeypatch):
    import finaudit.audit.engine

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(finaudit.audit.engine, "check", broken)
    line = _one_line_error(cli("check", CLEAN, "--lang", "en"))
    assert line.startswith("Internal error: ZeroDivisionError")


def test_a_bug_of_ours_with_a_message_of_pages_is_one_short_line_for_the_ledger_too(cli, monkeypatch):
    # A Java stack trace through py4j (a Spark run out of memory) was copied whole into the
    # ledger's error: some 5,000 characters over 40 lines in the JSON and the report.
    import finaudit.audit.engine
    from finaudit.runs.batch import audit_one

    def broken(*args, **kwargs):
        raise RuntimeError("An error occurred while calling o112.unpersist.\n: java.lang.IllegalStateException"
                           + "\n\tat org.apache.spark.SparkContext.assertNotStopped(SparkContext.scala:128)" * 60)

    monkeypatch.setattr(finaudit.audit.engine, "check", broken)
    line = _one_line_error(cli("check", CLEAN, "--lang", "en"))
    assert line.startswith("Internal error: RuntimeError: An error occurred while calling o112.unpersist. : java.lang")
    assert len(line) < 420 and "…" in line
    error = audit_one(CLEAN).input.error           # what the JSON and the report carry
    assert error["en"].startswith("Internal error: RuntimeError: An error occurred")
    assert all("\n" not in text and len(text) < 420 for text in error.values())


def test_a_ledger_with_headers_only_cannot_be_audited(cli, write_csv):
    write_csv("ledger/教育经费.csv", [["年度", "行政区划代码", "地区", "学段", "办学性质", "资金来源", "支出类别", "金额"]])
    path = write_csv("ledger/在校生.csv", [["年度", "行政区划代码", "地区", "学段", "办学性质", "在校生数"]])
    line = _one_line_error(cli("check", path.parent))
    assert "没有数据行" in line


def test_an_output_that_cannot_be_written_is_one_line(cli, tmp_path):
    (tmp_path / "out.json").mkdir()           # a folder where the file should go
    line = _one_line_error(cli("check", BROKEN, "--json", tmp_path / "out.json", "--quiet", "--lang", "en"))
    assert "Cannot write" in line and "out.json" in line


def test_a_profile_severity_override_leaves_a_checks_own_severity_alone(tmp_path, monkeypatch):
    """An override (a profile making FLOOR_SECONDARY_VOCATIONAL a warning) must not turn the
    not_below_general observation, info by its own severity, into something else."""
    import finaudit
    from finaudit.audit import profiles
    from test_rules import write_ledger

    monkeypatch.setattr(profiles, "severity_override",
                        lambda pid, rule_id, year: "warning" if rule_id == "FLOOR_SECONDARY_VOCATIONAL" else None)
    folder = write_ledger(tmp_path / "ledger", {
        "budget": [{"year": 2023, "level": "secondary_vocational", "expense_class": "public_funds", "amount": 900_000},
                   {"year": 2023, "level": "senior_general", "expense_class": "public_funds", "amount": 3_000_000}],
        "enrollment": [{"year": 2023, "level": "secondary_vocational", "students": 1000},
                       {"year": 2023, "level": "senior_general", "students": 2000}]})
    result = finaudit.check(folder, profile="dingzhou", year=2023)
    got = {(f.check, f.severity) for f in result.findings if f.rule_id == "FLOOR_SECONDARY_VOCATIONAL"}
    assert got == {("main", "warning"), ("not_below_general", "info")}


def test_a_subject_finding_keeps_its_fingerprint_when_rows_are_inserted_above(tmp_path):
    import finaudit
    from test_rules import write_ledger

    def fingerprint(extra_rows):
        budget = [{"year": 2023, "level": "other", "expense_class": "other", "amount": 1}] * extra_rows
        budget = budget + [{"year": 2023, "level": "special", "expense_class": "personnel", "amount": 500}]
        folder = write_ledger(tmp_path / f"l{extra_rows}", {
            "budget": budget, "enrollment": [{"year": 2023, "level": "primary", "students": 10}]})
        result = finaudit.check(folder, profile="dingzhou", year=2023)
        return [f.fingerprint for f in result.findings if f.rule_id == "DATA_MONEY_WITHOUT_STUDENTS"]

    assert fingerprint(0) == fingerprint(3) != []


HEAVY_MODULES = ("pandas", "duckdb", "pandera", "pyarrow", "numpy", "fastexcel", "openpyxl", "jinja2")


@pytest.mark.parametrize("statement", [
    "import finaudit.cli",
    "from finaudit.cli import main; main(['--help'], standalone_mode=False)",
    "from finaudit.cli import main; main(['rules'], standalone_mode=False)",
    # what `check` imports before it starts the parse server, which then imports the readers
    # beside this process's own imports (cli/check.py)
    "from finaudit.runs.discover import expand, parsed_here; from finaudit.intake.isolation import warm_up; "
    "from finaudit.report.text import check_report",
], ids=["import", "help", "rules", "check-before-the-parse-server"])
def test_help_and_the_rule_list_start_without_the_data_libraries(statement):
    # Issue 7: `finaudit --help` and `finaudit rules` answer in well under 0.5 s only
    # while the group and the catalogue stay clear of these: pandas alone takes 0.45 s to
    # import on the benchmark VM, pandera 0.7 s (tests/bench/RESULTS.md, Start-up).
    code = f"import sys\n{statement}\nprint(sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


_THP_DISABLED = "import ctypes; print(ctypes.CDLL(None).prctl(42, 0, 0, 0, 0))"     # PR_GET_THP_DISABLE


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="transparent huge pages are Linux's")
def test_the_program_and_its_children_run_on_small_pages_a_caller_of_main_keeps_its_own():
    # A 1M-row sheet's load spent half its time zeroing 2 MiB pages (cli/base.py, _small_pages).
    code = ("import subprocess, sys, finaudit.cli.base as base\n"
            f"def main():\n    {_THP_DISABLED}\n"
            f"    print(subprocess.run([sys.executable, '-c', {_THP_DISABLED!r}], capture_output=True, "
            "text=True).stdout.strip())\n"
            "base.main = main\nbase.run()\n")
    program = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert program.returncode == 0, program.stderr
    assert program.stdout.split() == ["1", "1"]
    code = f"{_THP_DISABLED}\nfrom finaudit.cli import main\nmain(['rules'], standalone_mode=False)\n{_THP_DISABLED}"
    caller = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    lines = caller.stdout.splitlines()
    assert caller.returncode == 0 and lines[0] == lines[-1], caller.stderr


@pytest.mark.parametrize("args, zh, en", [
    (["check", "x.xlsx", "--fail-on", "bogus"], "--fail-on 的值“bogus”无效，可选：violation、warning、info、never。",
     "Invalid value 'bogus' for --fail-on; choose one of violation, warning, info, never."),
    (["chek"], "没有命令“chek”。", "No such command 'chek'."),
    (["check", "--bogus"], "没有选项“--bogus”。", "No such option '--bogus'."),
    (["validate"], "缺少 LEDGER。", "Missing LEDGER."),
    (["profiles", "--year", "abc"], "--year 应为整数，“abc”不是。", "--year must be a whole number, not 'abc'."),
])
def test_a_wrong_command_line_is_one_line_in_the_asked_language_and_exit_2(cli, args, zh, en):
    # click's own report is four English lines with the usage; a scheduled run logs one.
    for lang, expected in (("zh", zh), ("en", en)):
        result = cli(*args, *(["--lang", "en"] if lang == "en" else []))
        assert result.exit_code == 2
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), result.stderr
        assert "Usage:" not in result.stderr and result.stdout == ""


def test_help_and_version_still_exit_0(cli):
    out = cli("--help").stdout      # Chinese, or English in an English locale (help_zh.py)
    assert cli("--help").exit_code == 0 and ("用法：" in out or "Usage:" in out)
    assert cli("--version").exit_code == 0


def test_a_memory_limit_that_is_not_a_size_is_one_line_and_exit_2(cli):
    line = _one_line_error(cli("check", CLEAN, "--memory-limit", "lots"))
    assert "内存上限“lots”无效" in line
    assert cli("check", CLEAN, "--memory-limit", "1GB", "--quiet").exit_code == 0


@pytest.mark.parametrize("limit, expected", [("1B", "内存上限“1B”太小，连一条查询都无法运行"),
                                             ("0KB", "内存上限“0KB”太小"),
                                             ("-1GB", "内存上限“-1GB”无效")])
def test_a_memory_limit_too_small_for_one_query_or_negative_is_one_line_and_exit_2(cli, limit, expected):
    line = _one_line_error(cli("check", CLEAN, f"--memory-limit={limit}"))
    assert expected in line and "内部错误" not in line


def test_the_program_leaves_without_the_teardown_its_output_whole_and_its_exit_code_kept(tmp_path):
    # The interpreter's teardown frees a large audit's objects one by one (0.3-0.5 s after a
    # 1,000,000-row workbook): the program itself (its arguments from sys.argv) leaves
    # without it, once its output is flushed. What it printed and wrote is whole, its exit
    # code the command's; a caller passing main() its own arguments keeps its process.
    code = ("import atexit, sys; atexit.register(print, 'teardown ran'); from finaudit.cli import run; "
            "sys.argv = ['finaudit'] + sys.argv[1:]; run()")
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-c", code, "check", "--no-config", str(SAMPLES / "break_FLOOR_PRESCHOOL.xlsx"),
                           "--format", "json", "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr                  # a violation, at the default --fail-on
    printed, written = json.loads(proc.stdout), json.loads(out.read_text(encoding="utf-8"))
    assert printed["findings"] == written["findings"] != []
    assert "teardown ran" not in proc.stdout
    proc = subprocess.run([sys.executable, "-c", code, "check", "--no-config", str(tmp_path / "none.xlsx")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "teardown ran" not in proc.stdout
    kept = ("import sys\nfrom finaudit.cli import main\nsys.argv = ['finaudit', 'rules']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    print('kept', e.code)")
    proc = subprocess.run([sys.executable, "-c", kept], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "kept 0"     # main(), from sys.argv too, returns
