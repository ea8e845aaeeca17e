"""Auditing many ledgers in one run: the inputs (files, folders, globs) become a list of
ledgers, each is audited on its own (in worker processes when asked), and the results
become one: every finding names its file, and a file that cannot be read is a finding
about that file while the others are still audited."""
from __future__ import annotations

import datetime as dt
import glob
import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from finaudit.audit.catalogue import check_draft_severity
from finaudit.errors import FinauditError, UsageError
from finaudit.findings import Evidence, Finding, sort_key

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
TABLE_SUFFIXES = {".csv", ".txt", ".parquet", ".pq"}
UNREADABLE = "INPUT_UNREADABLE"
_GLOB_CHARS = set("*?[")


# --- which ledgers ---------------------------------------------------------------

def is_ledger_folder(folder: Path) -> bool:
    """A folder of CSV/Parquet files named after sheets (教育经费.csv, budget.parquet) is one
    ledger; any other folder is a collection of ledgers."""
    from finaudit.intake.schema import fold, load_schemas

    names = {fold(n) for s in load_schemas().values() for n in s.all_names}
    return any(p.is_file() and p.suffix.lower() in TABLE_SUFFIXES and fold(p.stem) in names
               for p in folder.iterdir())


def _skipped(path: Path) -> bool:
    # hidden files and the lock files Excel and WPS leave beside an open workbook (~$县.xlsx)
    return path.name.startswith((".", "~$"))


def _collect(folder: Path, seen: set | None = None, loops: list | None = None) -> list[Path]:
    """The ledgers in a folder and its subfolders, in name order. A folder reached a second
    time (a symbolic link to `.` or to a parent) is not walked again: its link is added to
    `loops`, for the run to report."""
    seen = set() if seen is None else seen
    try:
        st = folder.stat()
    except OSError:
        return []
    if (st.st_dev, st.st_ino) in seen:
        if loops is not None:
            loops.append(folder)
        return []
    seen.add((st.st_dev, st.st_ino))
    if is_ledger_folder(folder):
        return [folder]
    out = []
    for path in sorted(folder.iterdir()):
        if _skipped(path):
            continue
        if path.is_dir():
            out.extend(_collect(path, seen, loops))
        elif path.suffix.lower() in WORKBOOK_SUFFIXES:
            out.append(path)
    return out


def _loop_input(link: Path) -> "Input":
    return Input(link, error={
        "zh": f"文件夹“{link}”（符号链接）指向已遍历过的文件夹，为避免循环未再遍历；其中的台账已在别处审计。",
        "en": f"Folder '{link}' (a symbolic link) leads to a folder already walked; it was not walked again, "
              "to avoid a loop; its ledgers were audited where first found."})


@dataclass
class Input:
    """One ledger of a run, or an input that named none: what was audited and how it went."""
    path: Path
    sha256: str | None = None
    sheets: list[dict] = field(default_factory=list)
    error: dict | None = None           # {"zh", "en"} when it could not be audited
    regions: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    seconds: float | None = None

    @property
    def audited(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict:
        out = {"path": str(self.path), "sha256": self.sha256, "sheets": self.sheets,
               "status": "audited" if self.audited else "unreadable"}
        if self.error:
            out["error"] = self.error
        return out


def expand(inputs) -> list[Input]:
    """Files, folders and globs -> the ledgers they name, each once, in the order given
    (a folder's and a glob's in name order). An input naming no ledger is kept as an
    Input with its error, so that the run reports it."""
    out: list[Input] = []
    seen = set()

    def add(path: Path):
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(Input(path))

    for item in inputs:
        text = str(item)
        path = Path(text)
        if not path.exists() and _GLOB_CHARS & set(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True))
            ledgers = [p for p in matches if not _skipped(p) and (
                p.is_dir() or p.suffix.lower() in WORKBOOK_SUFFIXES | TABLE_SUFFIXES)]
            if not ledgers:
                out.append(Input(path, error={"zh": f"没有与“{text}”匹配的台账文件。",
                                              "en": f"No ledger file matches '{text}'."}))
            for match in ledgers:
                loops: list[Path] = []
                for ledger in (_collect(match, loops=loops) if match.is_dir() else [match]):
                    add(ledger)
                out.extend(_loop_input(link) for link in loops)
        elif path.is_dir():
            loops = []
            ledgers = _collect(path, loops=loops)
            out.extend(_loop_input(link) for link in loops)
            if not ledgers:
                out.append(Input(path, error={
                    "zh": f"文件夹“{text}”中没有台账（工作簿 .xlsx/.xlsm/.xls/.xlsb/.ods，或按工作表命名的 CSV/Parquet 文件）。",
                    "en": f"Folder '{text}' holds no ledger (a .xlsx/.xlsm/.xls/.xlsb/.ods workbook, "
                          "or CSV/Parquet files named after sheets)."}))
            for ledger in ledgers:
                add(ledger)
        else:
            add(path)     # a missing or unreadable file is reported when it is audited
    return out


# --- auditing -----------------------------------------------------------------------

@dataclass
class LedgerInfo:
    """What the reports need of an audited ledger once its rows are no longer held."""
    path: Path
    sheets: dict
    digest: str | None

    def sha256(self) -> str | None:
        return self.digest


class _SheetInfo:
    def __init__(self, summary: dict):
        self._summary = summary

    def summary(self) -> dict:
        return self._summary


@dataclass
class Audit:
    """One ledger's outcome, small enough to send back from a worker process."""
    input: Input
    findings: list[Finding]
    evaluations: object | None          # pandas DataFrame
    region_profiles: dict[str, str]
    started_at: str | None = None


def audit_one(path: Path, profile: str | None = None, year: int | None = None,
              draft_severity: str | None = None, memory_limit: str | None = None) -> Audit:
    """Audits one ledger; an error that stops it becomes the Input's error, not an exception."""
    import time

    from finaudit.audit.engine import check

    item = Input(Path(path))
    start = time.perf_counter()
    try:
        result = check(path, profile=profile, year=year, memory_limit=memory_limit, draft_severity=draft_severity)
    except FinauditError as exc:
        item.error = {"zh": exc.message("zh"), "en": exc.message("en")}
        return Audit(item, [], None, {})
    except OSError as exc:      # the file or folder went away, or cannot be opened, mid-run
        item.error = {"zh": f"无法读取“{exc.filename or path}”：{exc.strerror or exc}。",
                      "en": f"Cannot read '{exc.filename or path}': {exc.strerror or exc}."}
        return Audit(item, [], None, {})
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001  one broken file must not stop the others
        # a bug of ours, or a native library's panic (a BaseException): said as cli.py says it
        if os.environ.get("FINAUDIT_DEBUG"):
            raise
        item.error = {"zh": f"内部错误：{type(exc).__name__}: {exc}（设置 FINAUDIT_DEBUG=1 可查看详情）",
                      "en": f"Internal error: {type(exc).__name__}: {exc} (set FINAUDIT_DEBUG=1 for details)"}
        return Audit(item, [], None, {})
    result.findings.sort(key=sort_key)
    item.sha256 = result.ledger.sha256()
    item.sheets = [s.summary() for s in result.ledger.sheets.values()]
    item.regions = sorted(result.region_profiles)
    item.years = list(result.years)
    item.seconds = round(time.perf_counter() - start, 3)
    evaluations = result.evaluations.assign(file=str(path))
    return Audit(item, result.findings, evaluations, dict(result.region_profiles), result.started_at)


def _audit_args(args):
    return audit_one(*args)


def unreadable_finding(item: Input) -> Finding:
    """The finding that says a file could not be audited, and why."""
    name = item.path.name or str(item.path)
    return Finding(
        rule_id=UNREADABLE, severity="violation", check="main",
        message={"zh": f"台账“{item.path}”未能审计：{item.error['zh']}",
                 "en": f"Ledger '{item.path}' could not be audited: {item.error['en']}"},
        evidence=[Evidence(file=str(item.path), sheet="", row=0, cell=name)],
        evidence_total=1, identified_by_cells=True, file=str(item.path),
        details={"outcome": "unreadable", "reason": "unreadable"},
    )


# Starting a worker process costs about 2.5 s (imports) on the benchmark VM; a worker pays
# for itself from about 8 ledgers of 10,000 rows (tests/bench/RESULTS.md, Batch).
LEDGERS_PER_WORKER = 8


def auto_jobs(ledgers: int) -> int:
    """Worker processes for a batch when not told: one per core, but one per 8 ledgers at most."""
    return max(1, min(os.cpu_count() or 1, ledgers // LEDGERS_PER_WORKER))


def check_many(inputs, profile: str | None = None, year: int | None = None, jobs: int | None = 1,
               progress=None, draft_severity: str | None = None, memory_limit: str | None = None) -> "BatchResult":
    """Audits every ledger the inputs name (files, folders, globs; or Inputs from expand())
    and returns one result. `draft_severity` overrides the severity of the draft pre-audit's
    failures (DRAFT_* rules; warning unless a profile says otherwise). `memory_limit` caps
    DuckDB's memory in each audit (engine.check).

    `jobs` > 1 audits in that many worker processes (spawned: a script calling this needs the
    usual `if __name__ == "__main__":` guard); None decides by the number of ledgers
    (auto_jobs). `progress(item)` is called as each
    ledger is done (in input order). Raises UsageError only for a wrong call (an unknown
    profile); a ledger that cannot be read is a finding."""
    from finaudit.intake.isolation import warm_up
    from finaudit.audit import profiles as profiles_mod
    from finaudit.audit.catalogue import load_rules

    started_at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    if profile is not None:
        profiles_mod.get(profile)
    items = list(inputs) if inputs and all(isinstance(i, Input) for i in inputs) else expand(inputs)
    if not items:
        raise UsageError("没有指定要审计的台账。", "No ledger to audit was given.")
    rules = load_rules()
    todo = [(i, item) for i, item in enumerate(items) if item.error is None]
    audits: dict[int, Audit] = {i: Audit(item, [], None, {}) for i, item in enumerate(items) if item.error}
    for i in audits:
        if progress:
            progress(items[i])
    check_draft_severity(draft_severity)
    if memory_limit is not None:        # a wrong value is a wrong call, not an unreadable ledger
        from finaudit.audit.engine import connect
        connect(memory_limit).close()
    if jobs is None:
        jobs = auto_jobs(len(todo))
    if jobs <= 1 or len(todo) <= 1:
        warm_up()   # the parse server imports the readers while this process imports the engine
    for i, audit in zip([i for i, _ in todo], _run(todo, profile, year, jobs, draft_severity, memory_limit)):
        audits[i] = audit
        if progress:
            progress(audit.input)
    return BatchResult.combine([audits[i] for i in range(len(items))], rules, started_at,
                               options={"profile": profile, "year": year, "draft_severity": draft_severity})


def _run(todo, profile, year, jobs, draft_severity, memory_limit):
    """The audits, in the order given, as they finish in order."""
    args = [(item.path, profile, year, draft_severity, memory_limit) for _, item in todo]
    if jobs <= 1 or len(args) <= 1:
        for a in args:
            yield audit_one(*a)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # spawn, not fork: the parent may already hold DuckDB's threads, which fork does not copy.
    context = multiprocessing.get_context("spawn")
    done, broke_at = 0, None
    while done < len(args):
        try:
            with ProcessPoolExecutor(max_workers=min(jobs, len(args) - done), mp_context=context) as pool:
                for audit in pool.map(_audit_args, args[done:], chunksize=1):
                    yield audit
                    done += 1
        except BrokenProcessPool:
            # A worker died (a file's parse has a child of its own, so this is the machine
            # killing it, out of memory, or a crash in DuckDB). The rest go to a fresh pool;
            # when it breaks again with the same ledger first in line, that ledger is audited
            # alone in a worker of its own, and reported if that one dies too.
            if broke_at == done:
                yield _alone(args[done], context)
                done += 1
            broke_at = done


def _alone(a: tuple, context) -> Audit:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(_audit_args, a).result()
    except BrokenProcessPool:
        return _worker_died(a[0])


def _worker_died(path) -> Audit:
    item = Input(Path(path), error={
        "zh": "审计该台账的工作进程意外终止（可能是内存不足被系统结束），单独重试仍然如此，未能审计。",
        "en": "The worker process auditing this ledger died, and died again when it was audited alone "
              "(perhaps killed by the system for lack of memory); not audited."})
    return Audit(item, [], None, {})


# --- the consolidated result --------------------------------------------------------

def _batch_key(finding: Finding):
    return (*sort_key(finding), finding.file or "")


@dataclass
class BatchResult:
    """The result of a run over one or many ledgers, shaped like engine.CheckResult so that
    every renderer takes it: findings (each naming its file), evaluations, profiles, years."""
    inputs: list[Input]
    findings: list[Finding]
    evaluations: object
    region_profiles: dict[str, str]
    years: list[int]
    started_at: str
    rules: dict
    options: dict = field(default_factory=dict)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    baseline: dict | None = None        # set when the run is recorded in a history (history.record)

    @classmethod
    def combine(cls, audits: list[Audit], rules: dict, started_at: str, options: dict | None = None):
        import pandas as pd

        from finaudit.audit.engine import EVALUATION_COLUMNS

        findings, frames, region_profiles = [], [], {}
        for audit in audits:
            for finding in audit.findings:
                finding.file = str(audit.input.path)
                findings.append(finding)
            if audit.input.error:
                findings.append(unreadable_finding(audit.input))
            if audit.evaluations is not None and len(audit.evaluations):
                frames.append(audit.evaluations)
            region_profiles.update(audit.region_profiles)
        evaluations = (pd.concat(frames, ignore_index=True) if frames
                       else pd.DataFrame(columns=[*EVALUATION_COLUMNS, "file"]))
        years = sorted({y for a in audits for y in a.input.years})
        return cls(inputs=[a.input for a in audits], findings=sorted(findings, key=_batch_key),
                   evaluations=evaluations, region_profiles=dict(sorted(region_profiles.items())), years=years,
                   started_at=started_at, rules=rules, options=dict(options or {}))

    @property
    def audited(self) -> list[Input]:
        return [i for i in self.inputs if i.audited]

    @property
    def failed(self) -> list[Input]:
        return [i for i in self.inputs if not i.audited]

    @property
    def ledger(self) -> LedgerInfo:
        """The one ledger audited, or the set of them as one (for reports that name a ledger)."""
        if len(self.inputs) == 1:
            item = self.inputs[0]
            return LedgerInfo(item.path, {s["name"]: _SheetInfo(s) for s in item.sheets}, item.sha256)
        sheets = {}
        for item in self.audited:
            for s in item.sheets:
                sheets[f"{item.path}:{s['name']}"] = _SheetInfo({**s, "source": f"{item.path.name}：{s['source']}"})
        digest = hashlib.sha256(json.dumps([[str(i.path), i.sha256] for i in self.inputs]).encode()).hexdigest()
        return LedgerInfo(_common_parent([i.path for i in self.inputs]), sheets, digest)

    @property
    def summary(self) -> dict:
        from finaudit.audit.summary import summarize
        return summarize(self)

    def to_dict(self) -> dict:
        from finaudit.runs.document import document
        return document(self)

    def to_json(self) -> str:
        from finaudit.runs.document import dumps
        return dumps(self.to_dict())


def _common_parent(paths: list[Path]) -> Path:
    try:
        return Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))
    except ValueError:      # different drives
        return Path(".")
