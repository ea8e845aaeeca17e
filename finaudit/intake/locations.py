"""A ledger's location as given: a local path, or a URL only Spark reads (hdfs://, s3a://,
file://). Apart from spark_native.py so that the CLI finds its ledgers without importing
pandas first (the parse server starts once they are known)."""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class Url(str):
    """A ledger's location as Spark reads it (hdfs://…, s3a://…, file://…): kept as written,
    where pathlib would fold its `//`; `name`, `stem` and `suffix` as a Path's."""

    @property
    def name(self) -> str:
        return self.rstrip("/").rsplit("/", 1)[-1]

    @property
    def stem(self) -> str:
        return PurePosixPath(self.name).stem

    @property
    def suffix(self) -> str:
        return PurePosixPath(self.name).suffix


def is_url(text) -> bool:
    """Whether `text` is a URL (scheme://…) rather than a local path."""
    return isinstance(text, str) and _URL.match(text) is not None


def location(text) -> Path | Url:
    """A ledger argument as a Path, or a Url when it is one."""
    return Url(text) if is_url(text) else Path(text)
