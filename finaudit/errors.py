"""Typed errors that stop an audit. Only the CLI (finaudit/cli/base.py) turns them into exit codes."""
from __future__ import annotations

import re

# Line breaks, tabs and other control characters (C0, DEL and C1, whose \x85 is a line break
# too): a sheet named "a&#10;b" must not turn the one line a user or a scheduled run reads into two.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class FinauditError(Exception):
    """An error a user can act on, worded once in Chinese and once in English."""

    def __init__(self, zh: str, en: str):
        zh, en = _CONTROL.sub(" ", zh), _CONTROL.sub(" ", en)
        super().__init__(en)
        self.zh = zh
        self.en = en

    def message(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class LedgerError(FinauditError):
    """The ledger cannot be read as a ledger (missing file, sheet or column, unreadable format)."""


class RuleError(FinauditError):
    """A rule or profile file is malformed; the message names the file."""


class UsageError(FinauditError):
    """The call itself is wrong (unknown profile, rule or option value)."""


def join_names(names, lang: str) -> str:
    """Lists names the way each language does: 、 in Chinese, ', ' in English."""
    return ("、" if lang == "zh" else ", ").join(str(n) for n in names)
