"""Running an audit over one ledger or many: each ledger is audited on its own (in worker
processes when asked) and the outcomes become one Result, in which every finding names its
file and a file that cannot be read is a finding about that file while the others are
still audited. When a history file is given, the run is recorded in it here, and the
Result comes back with each finding's baseline state."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from finaudit.audit import engine, profiles
from finaudit.audit.catalogue import check_draft_severity, load_rules
from finaudit.audit.session import connect
from finaudit.errors import FinauditError, UsageError, one_line, os_reason
from finaudit.findings import sort_key
from finaudit.intake.isolation import warm_up
from finaudit.intake.locations import location
from finaudit.runs import history as history_mod
from finaudit.runs.discover import Input, auto_jobs, expand
from finaudit.runs.result import Audit, Result


def audit_one(path: Path, profile: str | None = None, year: int | None = None, rules: dict | None = None,
              native: bool | None = None, draft_severity: str | None = None, memory_limit: str | None = None,
              raise_errors: bool = False, stage=None, on: dict | None = None, release_parser: bool = False) -> Audit:
    """Audits one ledger; an error that stops it becomes the Input's error, not an exception
    (unless `raise_errors`: `finaudit.check` of one ledger raises it). `on`: the engine
    options of engine.check (engine, spark, spark_master); DuckDB when None."""
    item = Input(location(str(path)))          # a URL (for Spark) stays as written
    start = time.perf_counter()
    try:
        found = engine.check(path, profile=profile, year=year, rules=rules, native=native,
                             memory_limit=memory_limit, draft_severity=draft_severity, stage=stage,
                             release_parser=release_parser, **(on or {}))
    except FinauditError as exc:
        if raise_errors:
            raise
        item.error = {"zh": exc.message("zh"), "en": exc.message("en")}
        return Audit(item, [], None, {})
    except OSError as exc:      # the file or folder went away, or cannot be opened, mid-run
        if raise_errors:
            raise
        item.error = {"zh": f"无法读取“{exc.filename or path}”：{os_reason(exc, 'zh')}。",
                      "en": f"Cannot read '{exc.filename or path}': {os_reason(exc, 'en')}."}
        return Audit(item, [], None, {})
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001  one broken file must not stop the others
        # a bug of ours, or a native library's panic (a BaseException): said as the CLI says it
        if raise_errors or os.environ.get("FINAUDIT_DEBUG"):
            raise
        text = one_line(exc)      # a Java stack trace through py4j runs to pages
        item.error = {"zh": f"内部错误：{type(exc).__name__}: {text}（设置 FINAUDIT_DEBUG=1 可查看详情）",
                      "en": f"Internal error: {type(exc).__name__}: {text} (set FINAUDIT_DEBUG=1 for details)"}
        return Audit(item, [], None, {})
    item.sha256 = found.ledger.sha256()
    item.sheets = [s.summary() for s in found.ledger.sheets.values()]
    item.regions = sorted(found.region_profiles)
    item.years = list(found.years)
    item.seconds = round(time.perf_counter() - start, 3)
    evaluations = found.evaluations.assign(file=str(path))
    return Audit(item, sorted(found.findings, key=sort_key), evaluations, dict(found.region_profiles),
                 found.started_at)


def _audit_args(args):
    return audit_one(*args)


def _checked_options(profile, draft_severity, memory_limit, history_timeout) -> None:
    """A wrong option is a wrong call (exit 2), said before any ledger is read."""
    if profile is not None:
        profiles.get(profile)
    check_draft_severity(draft_severity)
    if memory_limit is not None:
        connect(memory_limit).close()
    history_mod.valid_timeout(history_timeout, "history_timeout")


def _engine_options(engine_name: str, spark, spark_master: str | None) -> dict | None:
    """engine.check's engine options; a Spark session is started once, here, for every ledger."""
    spark = engine.spark_session(engine_name, spark, spark_master)
    return None if spark is None else {"engine": "spark", "spark": spark}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def check(path, profile: str | None = None, year: int | None = None, *, rules: dict | None = None,
          native: bool | None = None, draft_severity: str | None = None, memory_limit: str | None = None,
          history=None, history_timeout: float = history_mod.DEFAULT_TIMEOUT, jobs: int | None = 1,
          progress=None, engine: str = "duckdb", spark=None, spark_master: str | None = None) -> Result:
    """Audits one ledger and returns its Result; a ledger that cannot be audited raises the
    error (LedgerError, RuleError, UsageError) instead of becoming a finding. The options
    are check_many's; `jobs` is accepted for that sameness (one ledger takes one process)."""
    started_at = _now()
    _checked_options(profile, draft_severity, memory_limit, history_timeout)
    rules = rules if rules is not None else load_rules()
    on = _engine_options(engine, spark, spark_master)
    audit = audit_one(location(str(path)), profile, year, rules, native, draft_severity, memory_limit, raise_errors=True,
                      on=on)
    if progress:
        progress(audit.input)
    result = Result.combine([audit], rules, started_at, _options(profile, year, draft_severity))
    return history_mod.record(history, result, timeout=history_timeout) if history and result.audited else result


def check_many(inputs, profile: str | None = None, year: int | None = None, *, rules: dict | None = None,
               native: bool | None = None, draft_severity: str | None = None, memory_limit: str | None = None,
               history=None, history_timeout: float = history_mod.DEFAULT_TIMEOUT, jobs: int | None = 1,
               progress=None, stage=None, engine: str = "duckdb", spark=None,
               spark_master: str | None = None, release_parser: bool = False) -> Result:
    """Audits every ledger the inputs name (files, folders, globs; or Inputs from expand())
    and returns one Result. `draft_severity` overrides the severity of the draft pre-audit's
    failures (rules of kind draft; warning unless a profile says otherwise). `memory_limit`
    caps DuckDB's memory in each audit (engine.check). `history`: record the run in this
    history file and mark each finding new, unchanged or updated (history.py); a run that
    audited no ledger is not recorded (it would be a run over no region).

    `jobs` > 1 audits in that many worker processes (spawned: a script calling this needs the
    usual `if __name__ == "__main__":` guard); None decides by the number of ledgers
    (auto_jobs). `progress(item)` is called as each ledger is done (in input order);
    `stage(name)` as an audit run in this process turns to reading or the rules. Raises
    UsageError only for a wrong call (an unknown profile); a ledger that cannot be read is a
    finding. `engine="spark"` runs the rules on Apache Spark (engine.check): one ledger after
    another on one SparkSession, `spark` or one started on `spark_master`. `release_parser`:
    the parse server is stopped once the last ledger is read (a command about to exit; a
    later read starts another, at a second's cost)."""
    started_at = _now()
    _checked_options(profile, draft_severity, memory_limit, history_timeout)
    items = list(inputs) if inputs and all(isinstance(i, Input) for i in inputs) else expand(inputs)
    if not items:
        raise UsageError("没有指定要审计的台账。", "No ledger to audit was given.")
    on = _engine_options(engine, spark, spark_master)     # after: no JVM is started for nothing to audit
    rules = rules if rules is not None else load_rules()
    todo = [(i, item) for i, item in enumerate(items) if item.error is None]
    audits: dict[int, Audit] = {i: Audit(item, [], None, {}) for i, item in enumerate(items) if item.error}
    for i in audits:
        if progress:
            progress(items[i])
    if jobs is None:
        jobs = auto_jobs(len(todo))
    if on:
        jobs = 1        # a SparkSession does not cross processes; Spark uses every core itself
    if jobs <= 1 or len(todo) <= 1:
        warm_up()   # the parse server imports the readers while this process imports the engine
    args = [(item.path, profile, year, rules, native, draft_severity, memory_limit) for _, item in todo]
    for i, audit in zip([i for i, _ in todo], _run(args, jobs, stage, on, release_parser)):
        audits[i] = audit
        if progress:
            progress(audit.input)
    result = Result.combine([audits[i] for i in range(len(items))], rules, started_at,
                            _options(profile, year, draft_severity))
    return history_mod.record(history, result, timeout=history_timeout) if history and result.audited else result


def _options(profile, year, draft_severity) -> dict:
    """The options that change findings, as the manifest records them."""
    return {"profile": profile, "year": year, "draft_severity": draft_severity}


def _run(args: list[tuple], jobs: int, stage=None, on: dict | None = None, release_parser: bool = False):
    """The audits, in the order given, as they finish in order."""
    if jobs <= 1 or len(args) <= 1:
        for n, a in enumerate(args, 1):
            yield audit_one(*a, stage=stage, on=on, release_parser=release_parser and n == len(args))
        return
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
