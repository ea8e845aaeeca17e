"""The history of runs: an embedded DuckDB file recording every run (id, time, inputs with
sha256, finaudit version, rules digest, profiles) and its findings, each with its
`baseline_state` against the previous run over the same regions:

- `new`        not found by that run;
- `unchanged`  found by it, with the same figures (severity, measure, shortfall);
- `updated`    the same fingerprint with different figures;
- `absent`     found by it and not now, although its region and year were audited again:
               resolved. (A region or year this run did not audit is not "resolved".)

The previous run is chosen per region: the latest run that audited that region, so an
ad-hoc run over one county does not become the baseline of the others.

A run is recorded in one DuckDB transaction, so a crash or kill mid-write leaves the
file as it was; writers take an exclusive lock on `<file>.lock` (readers a shared one),
so two runs on one file follow each other, and one that waits longer than the timeout
stops with a one-line message instead of writing.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from finaudit.runs.history_file import (DEFAULT_TIMEOUT, SCHEMA, SCHEMA_VERSION, HistoryError, check_is_history,
                                        connect, damage_named, locked, valid_timeout)
from finaudit.errors import os_reason
from finaudit.runs.manifest import manifest

__all__ = ["DEFAULT_TIMEOUT", "HistoryError", "STATES", "compare", "diff", "reading", "record", "runs",
           "valid_timeout"]

STATES = ("new", "unchanged", "updated", "absent")


# --- recording -------------------------------------------------------------------

def _figures(finding: dict) -> tuple:
    """What `updated` compares: the severity, the measure and the money gap."""
    return (finding.get("severity"), json.dumps(finding.get("measure"), sort_keys=True), finding.get("shortfall_yuan"))


def _scope(result) -> set[tuple[str, int]]:
    return {(region, year) for item in result.audited for region in item.regions for year in item.years}


def _previous(con, result) -> tuple[dict[str, dict], list[str]]:
    """The findings of the baseline: per region, those of the latest run that audited it
    (region-less findings: of the latest of those runs). {fingerprint: finding dict}."""
    regions = sorted({r for r, _ in _scope(result)})
    if not regions:
        return {}, []
    rows = con.execute("""
        SELECT s.region_code, max(r.seq) AS seq FROM scope s JOIN runs r USING (run_id)
        WHERE list_contains($regions, s.region_code) GROUP BY s.region_code""", {"regions": regions}).fetchall()
    if not rows:
        return {}, []
    by_region = {region: seq for region, seq in rows}
    latest = max(by_region.values())
    found = con.execute("""
        SELECT f.fingerprint, f.region_code, f.year, f.finding, r.run_id, r.seq
        FROM findings f JOIN runs r USING (run_id)
        WHERE f.baseline_state <> 'absent' AND r.seq IN (SELECT unnest($seqs))
        ORDER BY r.seq, f.fingerprint""", {"seqs": sorted(set(by_region.values()))}).fetchall()
    previous = {}
    for fingerprint, region, year, text, run_id, seq in found:
        if (region is None and seq == latest) or (region is not None and by_region.get(region) == seq):
            finding = json.loads(text)
            finding["_run"] = run_id
            previous.setdefault(fingerprint, finding)
    runs = [r[0] for r in con.execute("SELECT run_id FROM runs WHERE seq IN (SELECT unnest($seqs)) ORDER BY seq",
                                      {"seqs": sorted(set(by_region.values()))}).fetchall()]
    return previous, runs


def compare(current: list[dict], previous: dict[str, dict], scope: set) -> tuple[list[str], list[dict]]:
    """The baseline state of each current finding, and the previous findings now absent
    (only those whose region and year were audited again, or that have no region)."""
    states = []
    seen = set()
    for finding in current:
        before = previous.get(finding["fingerprint"])
        seen.add(finding["fingerprint"])
        if before is None:
            states.append("new")
        else:
            states.append("unchanged" if _figures(before) == _figures(finding) else "updated")
    absent = []
    for fingerprint, before in previous.items():
        if fingerprint in seen:
            continue
        subject = before.get("subject") or {}
        region, year = subject.get("region_code"), subject.get("year")
        if region is None or (region, year) in scope or (year is None and any(r == region for r, _ in scope)):
            absent.append(before)
    return states, absent


def _pause_for_tests(stage: str):
    """Called at points of writing a run ("before_findings", "before_commit"): tests replace
    it to kill the process there, or to hold the lock while another run starts."""


def record(path, result, timeout: float = DEFAULT_TIMEOUT):
    """Records a run (a result.Result) in the history file at `path`, created if needed.
    Returns the Result as recorded: the baseline section of its findings document set, and
    each finding with its baseline state. All or nothing: one transaction, under the file's
    lock."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise HistoryError(f"历史文件“{path}”是一个文件夹。", f"History file '{path}' is a folder.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HistoryError(f"无法写入历史文件“{path}”：{os_reason(exc, 'zh')}。",
                           f"Cannot write history file '{path}': {os_reason(exc, 'en')}.") from None
    docs = [f.to_dict() for f in result.findings]
    run = manifest(result)
    scope = _scope(result)
    with locked(path, exclusive=True, timeout=timeout), damage_named(path):
        con = connect(path)
        try:
            check_is_history(con, path)
            con.execute("BEGIN TRANSACTION")
            con.execute(SCHEMA)
            con.execute("INSERT INTO meta VALUES ('schema_version', $v) ON CONFLICT DO NOTHING", {"v": SCHEMA_VERSION})
            previous, baseline_runs = _previous(con, result)
            states, absent = compare(docs, previous, scope)
            for doc, state in zip(docs, states):
                doc["baseline_state"] = state
            counts = {s: states.count(s) for s in STATES[:3]}
            counts["absent"] = len(absent)
            seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchone()[0]
            severities = [f.severity for f in result.findings]
            con.execute("INSERT INTO runs VALUES ($seq, $id, $started, $recorded, $version, $rules, $schemas, "
                        "$profiles, $options, $parameters, $ledgers, $unreadable, $v, $w, $i, $new, $unchanged, "
                        "$updated, $absent, $baseline)", {
                            "seq": seq, "id": result.run_id, "started": result.started_at,
                            "recorded": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
                            "version": run["finaudit_version"], "rules": run["rules_digest"],
                            "schemas": run["schemas_digest"], "profiles": run["profiles"],
                            "options": json.dumps(run["options"], ensure_ascii=False),
                            "parameters": json.dumps(run["parameters"], ensure_ascii=False),
                            "ledgers": len(result.inputs), "unreadable": len(result.failed),
                            "v": severities.count("violation"), "w": severities.count("warning"),
                            "i": severities.count("info"), **counts, "baseline": baseline_runs})
            con.executemany("INSERT INTO inputs VALUES (?, ?, ?, ?, ?, ?)", [
                (result.run_id, str(i.path), i.sha256, "audited" if i.audited else "unreadable",
                 (i.error or {}).get("zh"), (i.error or {}).get("en")) for i in result.inputs])
            scope_frame = pd.DataFrame(sorted(scope), columns=["region_code", "year"]).assign(run_id=result.run_id)
            con.register("scope_in", scope_frame)
            con.execute("INSERT INTO scope SELECT run_id, region_code, year FROM scope_in")
            con.unregister("scope_in")
            _pause_for_tests("before_findings")
            rows = [_row(result.run_id, d, d["baseline_state"], previous.get(d["fingerprint"], {}).get("_run"))
                    for d in docs]
            rows += [_row(result.run_id, {k: v for k, v in d.items() if k != "_run"}, "absent", d["_run"])
                     for d in absent]
            frame = pd.DataFrame(rows, columns=FINDING_COLUMNS)
            con.register("findings_in", frame)
            con.execute(f"INSERT INTO findings SELECT {', '.join(FINDING_COLUMNS)} FROM findings_in")
            con.unregister("findings_in")
            _pause_for_tests("before_commit")
            con.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()
    baseline = {"history": str(path), "run_seq": seq, "previous_runs": baseline_runs, "counts": counts,
                "absent": [{**{k: v for k, v in d.items() if k != "_run"}, "baseline_state": "absent"}
                           for d in absent]}
    return result.with_baseline(baseline, states)


FINDING_COLUMNS = ["run_id", "fingerprint", "baseline_state", "baseline_run", "file", "rule_id", "check_name",
                   "severity", "region_code", "region_name", "year", "level", "school_id", "actual", "required",
                   "unit", "shortfall_yuan", "message_zh", "message_en", "finding"]


def _row(run_id: str, doc: dict, state: str, baseline_run: str | None) -> list:
    subject, measure = doc.get("subject") or {}, doc.get("measure") or {}
    stored = {k: v for k, v in doc.items() if k != "baseline_state"}
    return [run_id, doc["fingerprint"], state, baseline_run, doc.get("file"), doc["rule_id"], doc.get("check"),
            doc["severity"], subject.get("region_code"), subject.get("region_name"), subject.get("year"),
            subject.get("level"), subject.get("school_id"), measure.get("actual"), measure.get("required"),
            measure.get("unit"), doc.get("shortfall_yuan"), doc["message"].get("zh"), doc["message"].get("en"),
            json.dumps(stored, ensure_ascii=False)]


# --- reading -----------------------------------------------------------------------

@contextlib.contextmanager
def reading(path, timeout: float = DEFAULT_TIMEOUT):
    """A read-only connection to a history file, under its shared lock."""
    path = Path(path)
    if not path.is_file():
        raise HistoryError(f"找不到历史文件“{path}”。", f"History file '{path}' does not exist.")
    with locked(path, exclusive=False, timeout=timeout), damage_named(path):
        con = connect(path, read_only=True)
        try:
            check_is_history(con, path)
            yield con
        finally:
            con.close()


RUN_COLUMNS = ["seq", "run_id", "started_at", "finaudit_version", "rules_digest", "profiles", "ledgers",
               "unreadable", "violations", "warnings", "infos", "new", "unchanged", "updated", "absent"]


def runs(path, timeout: float = DEFAULT_TIMEOUT) -> list[dict]:
    """Every run recorded, oldest first."""
    with reading(path, timeout) as con:
        rows = con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs ORDER BY seq").fetchall()
    return [dict(zip(RUN_COLUMNS, r)) for r in rows]


@dataclass
class Diff:
    a: dict
    b: dict
    new: list[dict]
    resolved: list[dict]
    updated: list[tuple[dict, dict]]
    unchanged: int


def _resolve_run(con, ref: str, path: Path) -> dict:
    """A run named by its number (seq) or by (a prefix of) its id."""
    ref = str(ref).strip()
    rows = []
    if ref.isdigit():
        rows = con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE seq = ?", [int(ref)]).fetchall()
    if not rows:    # an id prefix can be all digits too (about 1 in 17 six-character ones)
        rows = con.execute(f"SELECT {', '.join(RUN_COLUMNS)} FROM runs WHERE starts_with(run_id, ?)", [ref]).fetchall()
    if len(rows) != 1:
        known = [str(r[0]) for r in con.execute("SELECT seq FROM runs ORDER BY seq").fetchall()]
        what = "有多个运行匹配" if rows else "没有运行"
        raise HistoryError(f"历史文件“{path}”中{what}“{ref}”。已有运行编号：{'、'.join(known) or '无'}。",
                           f"History '{path}' has {'more than one run matching' if rows else 'no run'} '{ref}'. "
                           f"Runs: {', '.join(known) or 'none'}.")
    return dict(zip(RUN_COLUMNS, rows[0]))


def diff(path, run_a: str, run_b: str, timeout: float = DEFAULT_TIMEOUT) -> Diff:
    """What changed from run A to run B: findings new in B, resolved (in A, not in B), updated."""
    path = Path(path)
    with reading(path, timeout) as con:
        a, b = _resolve_run(con, run_a, path), _resolve_run(con, run_b, path)

        def present(run_id):
            rows = con.execute("SELECT finding FROM findings WHERE run_id = ? AND baseline_state <> 'absent' "
                               "ORDER BY rowid", [run_id]).fetchall()
            out = {}
            for (text,) in rows:
                finding = json.loads(text)
                out.setdefault(finding["fingerprint"], finding)
            return out

        before, after = present(a["run_id"]), present(b["run_id"])
    new = [f for k, f in after.items() if k not in before]
    resolved = [f for k, f in before.items() if k not in after]
    updated = [(before[k], f) for k, f in after.items() if k in before and _figures(before[k]) != _figures(f)]
    unchanged = sum(1 for k, f in after.items() if k in before and _figures(before[k]) == _figures(f))
    return Diff(a, b, new, resolved, updated, unchanged)
