"""`finaudit verify`: re-runs the audit a findings document records (same inputs and
options) and says whether it comes out the same, and if not, which findings differ."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from finaudit import __version__
from finaudit.errors import UsageError
from finaudit.intake.model import file_digest
from finaudit.runs.batch import check_many
from finaudit.runs.compact import expand
from finaudit.runs.document import FORMAT_VERSION
from finaudit.runs.manifest import rules_digest, schemas_digest

# Keys of a finding that depend on the history file a run was recorded in, not on its inputs.
RUN_DEPENDENT_KEYS = ("baseline_state", "baseline")


@dataclass
class Verification:
    """The outcome of re-running a findings document."""
    document: Path
    findings: int = 0
    notes: list[dict] = field(default_factory=list)          # {zh, en}: a changed version, rules, input
    missing: list[dict] = field(default_factory=list)        # findings recorded, not found again
    extra: list[dict] = field(default_factory=list)          # found again, not recorded
    changed: list[tuple[dict, dict, list[str]]] = field(default_factory=list)   # recorded, again, keys that differ
    summary_differs: bool = False

    @property
    def identical(self) -> bool:
        return not (self.missing or self.extra or self.changed or self.summary_differs)


def canonical(finding: dict) -> dict:
    return {k: v for k, v in finding.items() if k not in RUN_DEPENDENT_KEYS}


def _key(finding: dict) -> tuple:
    return (finding.get("file") or "", finding["fingerprint"])


def read_document(path) -> dict:
    """A findings document, any format this finaudit writes or wrote, in the format 2 shape (compact.expand)."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"找不到文件“{path}”。", f"File '{path}' does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"“{path}”不是 finaudit 的 JSON 结果文件（{type(exc).__name__}）。",
                         f"'{path}' is not a finaudit JSON findings document ({type(exc).__name__}).") from None
    run = doc.get("run") if isinstance(doc, dict) else None
    if not isinstance(run, dict) or "findings" not in doc or not run.get("inputs") or "rules_digest" not in run:
        raise UsageError(f"“{path}”不是带运行清单的 finaudit JSON 结果文件（用 --json 写出）。",
                         f"'{path}' is not a finaudit findings document with a run manifest (written by --json).")
    version = doc.get("format_version")
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise UsageError(f"“{path}”的格式版本为 {version}，由更新的 finaudit 写出；本版本可读取的格式版本至多为 "
                         f"{FORMAT_VERSION}。",
                         f"'{path}' is format version {version}, written by a newer finaudit; this one reads "
                         f"versions up to {FORMAT_VERSION}.")
    try:
        return expand(doc)      # format 3 says once what each finding cites: every finding whole again
    except (KeyError, IndexError, TypeError, AttributeError):
        raise UsageError(f"“{path}”的审计发现引用了文档中不存在的条目（citations 或 run.inputs），文件可能已损坏。",
                         f"'{path}' has findings that refer to entries the document does not have (citations or "
                         "run.inputs); the file may be damaged.") from None


def verify(path, jobs: int | None = None, base=None) -> Verification:
    """Re-runs the audit a findings document records (same inputs and options) and compares
    the findings. Relative input paths are taken from the working directory, or from `base`.
    Raises UsageError when an input that was audited is no longer there."""
    doc = read_document(path)
    run = doc["run"]
    out = Verification(Path(path), findings=len(doc["findings"]))
    if doc.get("finaudit_version") != __version__:
        out.notes.append({"zh": f"记录的 finaudit 版本为 {doc.get('finaudit_version')}，当前为 {__version__}。",
                          "en": f"Recorded with finaudit {doc.get('finaudit_version')}; this is {__version__}."})
    if run.get("rules_digest") != rules_digest():
        out.notes.append({"zh": "规则或配置（rules/）自记录以来已改变。",
                          "en": "The rules or profiles (rules/) have changed since the run was recorded."})
    if run.get("schemas_digest") not in (None, schemas_digest()):
        out.notes.append({"zh": "台账格式定义（schemas/）自记录以来已改变。",
                          "en": "The ledger schemas (schemas/) have changed since the run was recorded."})
    paths, renames = [], {}
    for item in run["inputs"]:
        recorded = item["path"]
        p = Path(recorded)
        if base is not None and not p.is_absolute():
            p = Path(base) / p
            renames[str(p)] = recorded
        paths.append(p)
        if item.get("status", "audited") != "audited":
            continue
        if not p.exists():
            raise UsageError(f"无法复核：台账“{p}”已不存在（相对路径按当前目录解析，可用 --base 指定）。",
                             f"Cannot verify: ledger '{p}' is no longer there (relative paths are taken from "
                             "the working directory; --base gives another).")
        if item.get("sha256") and file_digest(p) != item["sha256"]:
            out.notes.append({"zh": f"台账“{p}”的内容已改变（sha256 不同）。",
                              "en": f"Ledger '{p}' has changed since (its sha256 differs)."})
    options = run.get("options") or {}
    again = check_many(paths, jobs=jobs, **options)
    recorded = {_key(f): canonical(f) for f in doc["findings"]}
    fresh = {_key(f): canonical(f) for f in (_renamed(x.to_dict(), renames) for x in again.findings)}
    for key, finding in recorded.items():
        if key not in fresh:
            out.missing.append(finding)
        elif fresh[key] != finding:
            keys = sorted(k for k in set(finding) | set(fresh[key]) if finding.get(k) != fresh[key].get(k))
            out.changed.append((finding, fresh[key], keys))
    out.extra = [f for key, f in fresh.items() if key not in recorded]
    summary = json.loads(json.dumps(again.summary, ensure_ascii=False))
    out.summary_differs = doc.get("summary") != summary
    return out


def _renamed(finding: dict, renames: dict[str, str]) -> dict:
    """A finding re-run from `base`, its paths written back as the document recorded them."""
    if not renames:
        return finding

    def back(text):
        for new, old in renames.items():
            if text == new or text.startswith(new + "/"):
                return old + text[len(new):]
        return text

    finding = dict(finding)
    if finding.get("file"):
        finding["file"] = back(finding["file"])
    finding["evidence"] = [{**e, "file": back(e["file"])} for e in finding["evidence"]]
    message = {}
    for lang, text in finding["message"].items():       # an unreadable file's message names its path
        for new, old in renames.items():
            text = text.replace(new, old)
        message[lang] = text
    finding["message"] = message
    return finding
