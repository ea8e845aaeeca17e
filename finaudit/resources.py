"""Where the data files shipped inside the package live.

Installed, schemas/ and rules/ are the packages finaudit.schemas and finaudit.rules
(pyproject.toml maps them); run from a source checkout without installing, they
are the folders beside finaudit/.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _data_dir(package: str, folder: str) -> Path:
    try:
        return Path(str(resources.files(package)))
    except (ModuleNotFoundError, TypeError):
        return _SOURCE_ROOT / folder


def schemas_dir() -> Path:
    return _data_dir("finaudit.schemas", "schemas")


def rules_dir() -> Path:
    return _data_dir("finaudit.rules", "rules")


def profiles_dir() -> Path:
    return _data_dir("finaudit.rules.profiles", "rules/profiles")
