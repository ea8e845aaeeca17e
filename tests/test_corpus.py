"""Every file of the corpus (tests/corpus.py) through `finaudit validate`, as a user runs it:
a child process under 1 GiB of memory and 30 s. An accepted file must account for every
row and give the control totals worked out by hand; a refused one must exit 2 with one
line naming the problem, never a traceback."""
from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpus import MAKERS, build

REPO = Path(__file__).resolve().parents[1]
GIB = 1024 ** 3
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    names = [n for n, (_, case) in MAKERS.items() if case.needs != "soffice" or SOFFICE]
    return build(tmp_path_factory.mktemp("corpus"), names)


def run_validate(path: Path, env: dict) -> subprocess.CompletedProcess:
    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))

    return subprocess.run([sys.executable, "-m", "finaudit", "validate", "--format", "json", str(path)],
                          capture_output=True, text=True, timeout=30, preexec_fn=limits,
                          env={**os.environ, **env}, cwd=REPO)


@pytest.mark.parametrize("name", list(MAKERS))
def test_each_corpus_file_gives_its_expected_outcome(corpus, name):
    if name not in corpus:
        pytest.skip("made with LibreOffice, which is not installed (apt-get install libreoffice-calc-nogui)")
    path, case = corpus[name]
    result = run_validate(path, case.env)

    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.returncode == case.exit_code, (result.returncode, result.stderr[-2000:])
    if case.exit_code == 2:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and case.message in lines[0], result.stderr
        assert result.stdout == ""
        return
    doc = json.loads(result.stdout)
    sheets = {s["name"]: s for s in doc["sheets"]}
    assert {n: [s["rows_read"], s["rows_valid"], s["rows_rejected"], s["rows_blank"]]
            for n, s in sheets.items()} == case.rows
    assert {n: s["totals"] for n, s in sheets.items()} == \
           {n: {c: pytest.approx(v, abs=0.005) for c, v in t.items()} for n, t in case.totals.items()}
    assert sorted(f["rule_id"] for f in doc["findings"]) == case.findings


def test_the_corpus_states_its_expected_sheets_for_every_accepted_file():
    for name, (_, case) in MAKERS.items():
        assert (case.exit_code == 2) == (case.message is not None), name
        if case.exit_code != 2:
            assert set(case.rows) == set(case.totals) == {"budget", "enrollment"}, name


def test_the_extra_columns_are_listed_and_the_hidden_sheet_is_marked(corpus):
    path, _ = corpus["hidden_sheet_extra_columns.xlsx"]
    sheets = {s["name"]: s for s in json.loads(run_validate(path, {}).stdout)["sheets"]}
    assert sheets["budget"]["ignored_columns"] == ["序号", "备注"]
    assert (sheets["enrollment"]["hidden"], sheets["budget"]["hidden"]) == (True, False)


def test_hostile_strings_are_read_as_text_not_cut_or_run(corpus):
    import finaudit

    path, _ = corpus["hostile_strings"]
    names = finaudit.load(path).sheets["budget"].frame["school_name"].tolist()
    assert names[0] == "=cmd|' /C calc'!A0" and names[1] == "<script>alert(1)</script>"
    assert len(names[3]) == 20_000
