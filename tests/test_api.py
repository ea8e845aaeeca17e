"""The Python API takes what the CLI takes: finaudit.check and finaudit.check_many accept
the same options and give the same findings."""
from __future__ import annotations

import pytest

import finaudit
from finaudit.errors import UsageError
from test_draft import _with_draft


def _draft_failures(findings):
    return [f for f in findings
            if f.rule_id.startswith("DRAFT_") and (f.details or {}).get("outcome") != "unevaluable"]


def test_check_takes_the_draft_severity_as_check_many_does(tmp_path):
    ledger = _with_draft(tmp_path)
    single = _draft_failures(finaudit.check(ledger, draft_severity="violation").findings)
    assert single and {f.severity for f in single} == {"violation"}
    batch = _draft_failures(finaudit.check_many([ledger], draft_severity="violation").findings)
    assert sorted(f.fingerprint for f in batch) == sorted(f.fingerprint for f in single)
    assert {f.severity for f in _draft_failures(finaudit.check(ledger).findings)} == {"warning"}


def test_a_draft_severity_that_is_no_severity_is_a_usage_error():
    with pytest.raises(UsageError, match="fatal"):
        finaudit.check("sample_ledgers/clean.xlsx", draft_severity="fatal")
