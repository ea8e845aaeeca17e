"""Project configuration: `finaudit.toml`, or `[tool.finaudit]` in pyproject.toml, found by
searching from the working directory upward. It holds what a scheduled run would
otherwise repeat on every command line; a flag given on the command line wins.

    # finaudit.toml
    ledgers = ["ledgers/2024/"]          # files, folders, globs; relative to this file
    profile = "xingtai"
    fail_on = "warning"
    lang = "en"
    history = "audit.duckdb"
    jobs = 2
    draft_severity = "violation"
    memory_limit = "4GB"
    [outputs]
    json = "out/2024.json"
    html = "out/2024.html"
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from finaudit.errors import UsageError, join_names

if sys.version_info >= (3, 11):
    import tomllib
else:                                  # pragma: no cover  (Python 3.10)
    import tomli as tomllib

FILE_NAME = "finaudit.toml"
CHOICES = {
    "fail_on": ("violation", "warning", "info", "never"),
    "lang": ("zh", "en"),
    "format": ("text", "json"),
    "draft_severity": ("violation", "warning", "info"),
}
# key -> (type, description of the type for messages)
SETTINGS = {
    "ledgers": (list, "a list of paths"),
    "profile": (str, "a profile id"),
    "year": (int, "a year"),
    "fail_on": (str, "a severity"),
    "lang": (str, "zh or en"),
    "format": (str, "text or json"),
    "history": (str, "a path"),
    "history_timeout": ((int, float), "seconds"),
    "jobs": (int, "a number of processes"),
    "draft_severity": (str, "a severity"),
    "memory_limit": (str, "a size such as 4GB"),
    "show_info": (bool, "true or false"),
    "quiet": (bool, "true or false"),
    "outputs": (dict, "a table"),
}
OUTPUTS = ("json", "html", "sarif", "csv", "annotate")
PATH_SETTINGS = ("history",)


@dataclass
class Config:
    """Settings read from one file, paths made relative to the working directory."""
    path: Path
    values: dict = field(default_factory=dict)

    def get(self, key: str, default=None):
        return self.values.get(key, default)


def find(start: Path | None = None) -> Path | None:
    """The nearest finaudit.toml, or pyproject.toml with a [tool.finaudit] table, from `start`
    (the working directory) upward; None when there is none."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / FILE_NAME
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
    return None


def _has_tool_table(pyproject: Path) -> bool:
    try:
        return "finaudit" in (_parse(pyproject).get("tool") or {})
    except UsageError:
        return False            # a broken pyproject that is not ours is not our error


def _parse(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"配置文件“{path}”不是有效的 TOML：{exc}。",
                         f"Configuration file '{path}' is not valid TOML: {exc}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"无法读取配置文件“{path}”：{exc}。", f"Cannot read configuration file '{path}': {exc}.") from None


def load(path: Path | str | None = None, start: Path | None = None) -> Config | None:
    """The configuration in `path`, or the one found from `start` upward; None when there is none.
    A wrong key or value stops with one sentence naming it and what is valid."""
    if path is None:
        path = find(start)
        if path is None:
            return None
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"找不到配置文件“{path}”。", f"Configuration file '{path}' does not exist.")
    raw = _parse(path)
    if path.name == "pyproject.toml":
        raw = (raw.get("tool") or {}).get("finaudit")
        if raw is None:
            raise UsageError(f"“{path}”中没有 [tool.finaudit] 表。", f"'{path}' has no [tool.finaudit] table.")
    return Config(path, _checked(raw, path))


def _checked(raw: dict, path: Path) -> dict:
    values = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in SETTINGS:
            raise UsageError(f"配置文件“{path}”中有未知的设置“{key}”。可用：{join_names(SETTINGS, 'zh')}。",
                             f"Unknown setting '{key}' in '{path}'. Valid: {join_names(SETTINGS, 'en')}.")
        kind, what = SETTINGS[name]
        if name == "ledgers" and isinstance(value, str):
            value = [value]
        if not isinstance(value, kind) or isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise UsageError(f"配置文件“{path}”中的 {key} 应为{_zh_kind(what)}，而不是“{value}”。",
                             f"Setting '{key}' in '{path}' must be {what}, not '{value}'.")
        if name in CHOICES and value not in CHOICES[name]:
            raise UsageError(f"配置文件“{path}”中的 {key} 应为 {join_names(CHOICES[name], 'zh')} 之一，而不是“{value}”。",
                             f"Setting '{key}' in '{path}' must be one of {join_names(CHOICES[name], 'en')}, "
                             f"not '{value}'.")
        if name == "history_timeout" and not (math.isfinite(value) and value >= 0):     # TOML has nan and inf
            raise UsageError(f"配置文件“{path}”中的 {key} 应为不小于 0 的有限秒数，而不是“{value}”。",
                             f"Setting '{key}' in '{path}' must be a finite number of seconds, 0 or more, "
                             f"not '{value}'.")
        if name == "outputs":
            value = _outputs(value, path)
        elif name == "ledgers":
            value = [_relative(path, str(v)) for v in value]
        elif name in PATH_SETTINGS:
            value = _relative(path, value)
        values[name] = value
    return values


def _outputs(table: dict, path: Path) -> dict:
    out = {}
    for key, value in table.items():
        if key not in OUTPUTS:
            raise UsageError(f"配置文件“{path}”的 [outputs] 中有未知的输出“{key}”。可用：{join_names(OUTPUTS, 'zh')}。",
                             f"Unknown output '{key}' under [outputs] in '{path}'. Valid: {join_names(OUTPUTS, 'en')}.")
        if not isinstance(value, str):
            raise UsageError(f"配置文件“{path}”中的 outputs.{key} 应为路径，而不是“{value}”。",
                             f"Setting 'outputs.{key}' in '{path}' must be a path, not '{value}'.")
        out[key] = _relative(path, value)
    return out


def _zh_kind(what: str) -> str:
    return {"a list of paths": "路径列表", "a profile id": "配置名称", "a year": "年份", "a severity": "级别",
            "zh or en": " zh 或 en", "text or json": " text 或 json", "a path": "路径", "seconds": "秒数",
            "a number of processes": "进程数", "true or false": " true 或 false", "a table": "表"}.get(what, what)


def _relative(config: Path, value: str) -> str:
    """A path of the file taken from the file's folder, written relative to the working directory
    when it lies below it (so reports name `ledgers/a.xlsx`, not a long absolute path)."""
    import os

    target = Path(value).expanduser()
    if not target.is_absolute():
        target = config.resolve().parent / target
    try:
        return os.path.relpath(target) if target.is_relative_to(Path.cwd()) else str(target)
    except ValueError:
        return str(target)
