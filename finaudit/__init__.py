"""finaudit: audits education-finance ledgers against the statutory funding guarantees.

The Python API is what the CLI calls:

    import finaudit
    ledger = finaudit.load("ledger.xlsx")        # read + validate
    result = finaudit.check("ledger.xlsx")       # validate + run every rule
    batch = finaudit.check_many(["ledgers/2024/"])   # many ledgers, one result

Both checks return the same Result (finaudit/runs/result.py) and take the same options.
"""
from __future__ import annotations

__version__ = "0.1.0"

import warnings

# Where pyspark is installed (the spark extra; CI installs it), pandera imports pyspark.pandas
# on its own import, and pyspark warns about pandas 3 on stderr of every run, DuckDB's too:
# a line a cron job or a test reading stderr would take for an error. The conversions finaudit
# makes are Arrow's and are tested (tests/test_spark.py).
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

# The stages are imported on first call, not here: `import finaudit` (and so every
# `finaudit --help`) stays fast for start-up, without pandas or DuckDB.


def load(path):
    """Reads and validates a ledger; returns a Ledger with its sheets and schema findings."""
    from finaudit.intake.ledger import load as _load
    return _load(path)


def check(path, profile=None, year=None, **options):
    """Audits one ledger; returns a Result with .findings, .summary, .inputs and .to_json().
    A ledger that cannot be audited raises (LedgerError, RuleError, UsageError). Options:
    those of check_many (rules, native, draft_severity, memory_limit, history, …)."""
    from finaudit.runs.batch import check as _check
    return _check(path, profile=profile, year=year, **options)


def check_many(inputs, profile=None, year=None, **options):
    """Audits every ledger named by files, folders and globs; returns one Result in which
    every finding names its file and an unreadable file is a finding, not an exception."""
    from finaudit.runs.batch import check_many as _check_many
    return _check_many(inputs, profile=profile, year=year, **options)
