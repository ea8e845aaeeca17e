"""finaudit: audits education-finance ledgers against the statutory funding guarantees.

The Python API is what the CLI calls:

    import finaudit
    ledger = finaudit.load("ledger.xlsx")        # read + validate
    result = finaudit.check("ledger.xlsx")       # validate + run every rule
    batch = finaudit.check_many(["ledgers/2024/"])   # many ledgers, one result
"""
from __future__ import annotations

__version__ = "0.1.0"


def load(path):
    """Reads and validates a ledger; returns a Ledger with its sheets and schema findings."""
    from finaudit.intake.ledger import load as _load
    return _load(path)


def check(path, profile=None, year=None, **kwargs):
    """Audits a ledger; returns a CheckResult with .findings, .summary and .to_json()."""
    from finaudit.audit.engine import check as _check
    return _check(path, profile=profile, year=year, **kwargs)


def check_many(inputs, profile=None, year=None, **kwargs):
    """Audits every ledger named by files, folders and globs; returns one BatchResult in which
    every finding names its file and an unreadable file is a finding, not an exception."""
    from finaudit.runs.batch import check_many as _check_many
    return _check_many(inputs, profile=profile, year=year, **kwargs)
