"""Where the data files shipped inside the package live."""
from __future__ import annotations

from importlib import resources
from pathlib import Path


def schemas_dir() -> Path:
    return Path(str(resources.files("finaudit.schemas")))


def rules_dir() -> Path:
    return Path(str(resources.files("finaudit.rules")))


def profiles_dir() -> Path:
    return Path(str(resources.files("finaudit.rules.profiles")))
