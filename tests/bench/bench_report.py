"""Benchmark: opening the HTML report of 50,000 findings in headless Chromium, against a plain list of the same text.

    python tests/bench/bench_report.py --findings 50000 --repeat 3
    python tests/bench/bench_report.py --smoke                  # CI: 500 findings, 1 run
    python tests/bench/bench_report.py --findings 50000 --trace # + Chrome trace of one report open

The ledger: N public kindergartens of Dingzhou (130682) in 2023, each given 300-399 yuan
per child (varied with the school, as are the children, 50-299), so FLOOR_PRESCHOOL finds
N school violations plus one for the region (a handful of info notes come with them), each
message with its own figures. It is written as a Parquet folder in a temporary directory,
audited with finaudit.check and rendered with finaudit.report.html.write_html (issue 17:
under 10 MB and ready within 3 s at 50,000 findings).

The baseline ("list") is a plain static HTML page with no CSS and no script holding the
same findings' text as a simple list, one <li> per finding: severity, rule, subject,
message and the evidence cells the report shows. Unlike the report it shows every
finding at once, whatever its size. ratio = report / list.

Every run of every measurement happens in a fresh child process which launches
Debian's chromium through Playwright (never a downloaded browser) and opens the page in
a fresh browser context; launching is not timed. The three pages are measured
round-robin, --repeat times each, and the best of each time is kept.

Measured, in wall-clock time from the start of page.goto(file URL):
- load: until the `load` event (goto with wait_until="load");
- ready: until the report's script has run and the page has had a frame since: a
  requestAnimationFrame-polled wait_for_function that #filters is not hidden and
  #shown-count has its text (for the baseline page: document.readyState is "complete").
  Target: the report is ready in under 3 s.
The page's own Navigation Timing (responseEnd, domInteractive = parsed and the inline
script run, loadEventEnd) and CDP Performance.getMetrics (script, style, layout and
task durations in the renderer, DOM nodes) are shown for the best run, with the peak
RSS (VmHWM) of the renderer process.

Filtering, in the report only (best of the runs), for four changes in a row: tick the
`info` severity box, pick one rule in the rule filter, go back to all rules, untick
`info`:
- as a user: Playwright's page.check / select_option until #shown-count shows the
  expected count (round trips to the browser included);
- in the page: the change handler alone (script), plus the style and layout it forces
  (script+layout), and until the next frame (frame).

--trace records a Chrome trace (devtools.timeline) of one more report open and prints
the renderer main thread's self time by event (ParseHTML, UpdateLayoutTree, Layout...).

Exit status 1 when the audit did not give the expected findings, when the report did not
count them as expected before and after each filter change, or when a page made a
request other than its own file or logged an error; nothing is asserted about time.
"""
from __future__ import annotations

import argparse
import html
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
import harness  # noqa: E402  (tests/bench/harness.py)

TARGET_SECONDS = 3.0
TARGET_MB = 10.0
SMOKE_FINDINGS = 500
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1200, "height": 1600}
LABELS = {"report": "finaudit HTML report", "list": "plain list of the same text"}
BASELINES = ("list",)
TEXT_QUERY = "K00001"          # one school: the text filter finds one finding
REPORT_READY = ("() => { const f = document.getElementById('filters'), c = document.getElementById('shown-count');"
                " return !!f && !f.hidden && !!c && c.textContent !== ''; }")
STATIC_READY = "() => document.readyState === 'complete'"
METRICS = ("ScriptDuration", "RecalcStyleDuration", "LayoutDuration", "TaskDuration", "Nodes", "JSHeapUsedSize",
           "LayoutCount", "RecalcStyleCount")
# One change of the filters, timed inside the page: the handler runs synchronously in
# dispatchEvent; reading offsetHeight then forces the style and layout it caused.
IN_PAGE_CHANGE = """async ([kind, value]) => {
  const counter = document.getElementById('shown-count');
  const t0 = performance.now();
  if (kind === 'info') {
    document.querySelector('input[name=severity][value=info]').click();
  } else if (kind === 'text') {
    const box = document.getElementById('filter-text');
    box.value = value;
    box.dispatchEvent(new Event('change', {bubbles: true}));
  } else {
    const sel = document.getElementById('filter-rule');
    sel.value = value;
    sel.dispatchEvent(new Event('change', {bubbles: true}));
  }
  const t1 = performance.now();
  void document.body.offsetHeight;
  const t2 = performance.now();
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const t3 = performance.now();
  return {script: t1 - t0, layout: t2 - t0, frame: t3 - t0, shown: counter.textContent};
}"""


# --- the ledger, the report and the baseline page --------------------------------

def build(n: int, workdir: Path) -> dict:
    """Writes the ledger, audits it, writes report.html and list.html (the findings' text as a plain list)."""
    import pandas as pd

    import finaudit
    from finaudit.report.html import EVIDENCE_SHOWN, write_html

    folder = workdir / "ledger"
    folder.mkdir()
    base = {"year": 2023, "region_code": "130682", "region_name": "定州市", "level": "preschool",
            "ownership": "public"}
    schools = [f"K{i:05d}" for i in range(n)]
    t0 = time.perf_counter()
    pd.DataFrame([{**base, "fund_source": "general_budget", "expense_class": "public_funds", "amount": float(_children(i) * (300 + i % 100)),
                   "school_id": s, "school_name": f"第{i}幼儿园"} for i, s in enumerate(schools)]
                 ).to_parquet(folder / "budget.parquet")
    pd.DataFrame([{**base, "students": _children(i), "school_id": s} for i, s in enumerate(schools)]
                 ).to_parquet(folder / "enrollment.parquet")
    gen_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = finaudit.check(folder, year=2023)
    check_seconds = time.perf_counter() - t0
    report = workdir / "report.html"
    t0 = time.perf_counter()
    write_html(result, report)
    html_seconds = time.perf_counter() - t0

    by_rule: dict[str, dict[str, int]] = {}
    for f in result.findings:
        counts = by_rule.setdefault(f.rule_id, {})
        counts[f.severity] = counts.get(f.severity, 0) + 1
    blocks = _list_items(result.findings, EVIDENCE_SHOWN)
    pages = {"report": report, "list": workdir / "list.html"}
    _write_list(blocks, pages["list"])
    return {"findings": n, **{k: str(p) for k, p in pages.items()},
            "bytes": {k: p.stat().st_size for k, p in pages.items()}, "report_bytes": report.stat().st_size,
            "text_bytes": sum(map(len, blocks)), "by_rule": by_rule, "total": len(result.findings),
            "text_count": sum(f.severity != "info" and TEXT_QUERY in f.text("zh") for f in result.findings),
            "floor_violations": by_rule.get("FLOOR_PRESCHOOL", {}).get("violation", 0),
            "gen_seconds": gen_seconds, "check_seconds": check_seconds, "html_seconds": html_seconds}


def _children(i: int) -> int:
    return 50 + (i * 37) % 250


def _list_items(findings, evidence_shown: int) -> list[bytes]:
    """One <li> per finding: severity, rule, subject, message and the evidence cells the report shows."""
    items = []
    for f in findings:
        cells = " ".join(e.cell + ("" if e.value is None else f" = {e.value}") for e in f.evidence[:evidence_shown])
        subject = " ".join(str(f.subject[k]) for k in ("region_name", "year", "level", "school_id")
                           if f.subject.get(k) is not None)
        text = f"[{f.severity}] {f.rule_id} {subject} {f.text('zh')} {cells}"
        items.append(f"<li>{html.escape(text)}</li>\n".encode())
    return items


def _write_list(items: list[bytes], path: Path) -> None:
    """A page with no style or script: the findings' text as one plain list."""
    head = ('<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
            '<title>baseline</title>\n</head>\n<body>\n<ol>\n').encode()
    path.write_bytes(head + b"".join(items) + b"</ol>\n</body>\n</html>\n")


# --- child side: one page open in a fresh process -----------------------------------

def _proc_tree(root: int) -> list[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == pid]
        tree += kids
        frontier += kids
    return tree


def _chromium_memory() -> dict:
    """Peak RSS (VmHWM) of the largest renderer, and current RSS summed over every chromium process."""
    renderer_peak, total = 0, 0
    for pid in _proc_tree(os.getpid()):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        fields = {line.split(":")[0]: line.split(":")[1].strip() for line in status.splitlines() if ":" in line}
        if b"chromium" not in cmd and b"chrome" not in cmd:
            continue
        kib = lambda k: int(fields.get(k, "0 kB").split()[0])  # noqa: E731
        total += kib("VmRSS")
        if b"--type=renderer" in cmd:
            renderer_peak = max(renderer_peak, kib("VmHWM"))
    return {"renderer_peak_rss_mib": renderer_peak / 1024, "chromium_rss_mib": total / 1024}


def _child(kind: str, path: str, expect: dict, trace: str | None) -> dict:
    from playwright.sync_api import sync_playwright

    url = Path(path).resolve().as_uri()
    out: dict = {"kind": kind}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        errors, requests = [], []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        if trace:
            browser.start_tracing(page=page, categories=[
                "devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute", "blink", "loading"])

        start = time.perf_counter()
        page.goto(url, wait_until="load", timeout=120_000)
        out["load_seconds"] = time.perf_counter() - start
        page.wait_for_function(REPORT_READY if kind == "report" else STATIC_READY, polling="raf", timeout=120_000)
        out["ready_seconds"] = time.perf_counter() - start

        if trace:
            Path(trace).write_bytes(browser.stop_tracing())
        nav = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
        nav = json.loads(nav)
        out["navigation_ms"] = {k: nav.get(k) for k in ("responseEnd", "domInteractive", "domContentLoadedEventEnd",
                                                        "domComplete", "loadEventEnd")}
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        out["metrics"] = {k: metrics.get(k) for k in METRICS}
        out["dom_nodes"] = page.evaluate("document.getElementsByTagName('*').length")
        if kind == "report":
            out["shown_at_open"] = page.text_content("#shown-count")
            out.update(_open_group(page))
            out["filters"] = _filters(page, expect)
        out.update(_chromium_memory())
        out["errors"] = errors
        out["foreign_requests"] = [u for u in requests if u != url]
        context.close()
        browser.close()
    return out


def _open_group(page) -> dict:
    """Opens the first group (the largest of the first rule) as a user would: click its summary,
    until its first rows are on screen; the page builds them from its embedded data."""
    group = page.evaluate("() => document.querySelector('details.group').id")
    start = time.perf_counter()
    page.click(f"#{group} > summary")
    page.wait_for_function("id => document.querySelector('#' + id + ' li.finding')", arg=group, polling="raf",
                           timeout=60_000)
    seconds = time.perf_counter() - start
    return {"open_group_seconds": seconds, "group_rows": page.locator(f"#{group} li.finding").count(),
            "group_size": page.evaluate("id => document.querySelector('#' + id + ' .group-counts').textContent",
                                        group).strip()}


def _filters(page, expect: dict) -> dict:
    """Six filter changes as a user would make them, then the same six timed inside the page."""
    total, rule = expect["total"], expect["rule"]
    steps = [("info on", "info", None, total), (f"rule {rule}", "rule", rule, expect["rule_count"]),
             ("all rules", "rule", "", total), ("info off", "info", None, total - expect["info"]),
             (f"text {TEXT_QUERY}", "text", TEXT_QUERY, expect["text_count"]),
             ("text cleared", "text", "", total - expect["info"])]
    user, in_page, shown = {}, {}, {}
    for label, kind, value, n in steps:
        want = f"{n} / {total}"
        start = time.perf_counter()
        if kind == "info":
            box = "input[name=severity][value=info]"
            page.uncheck(box) if label == "info off" else page.check(box)
        elif kind == "text":           # typing waits 150 ms for the next key before filtering
            page.fill("#filter-text", value)
        else:
            page.select_option("#filter-rule", value)
        page.wait_for_function("want => document.getElementById('shown-count').textContent === want", arg=want,
                               polling="raf", timeout=60_000)
        user[label] = time.perf_counter() - start
        shown[label] = page.text_content("#shown-count")
    for label, kind, value, n in steps:
        r = page.evaluate(IN_PAGE_CHANGE, [kind, value])
        in_page[label] = {k: r[k] / 1000 for k in ("script", "layout", "frame")}
        shown[label + " (in page)"] = r["shown"]
    expected = {label: f"{n} / {total}" for label, _, _, n in steps}
    expected.update({label + " (in page)": f"{n} / {total}" for label, _, _, n in steps})
    return {"user_seconds": user, "in_page_seconds": in_page, "shown": shown, "expected": expected}


def _run_child(kind: str, path: str, expect: dict, trace: str | None = None) -> dict:
    extra = ["--expect", json.dumps(expect)] + (["--trace-out", trace] if trace else [])
    return harness.run_child(__file__, kind, path, *extra, timeout=600)


# --- trace summary -----------------------------------------------------------------

def trace_summary(trace_path: Path, top: int = 15) -> list[tuple[str, float, int]]:
    """Self time (s) and count per event name on the busiest renderer main thread."""
    events = json.loads(trace_path.read_bytes())
    events = events["traceEvents"] if isinstance(events, dict) else events
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    spans: dict[tuple, list] = {}
    open_: dict[tuple, list] = {}
    for e in events:
        key = (e.get("pid"), e.get("tid"))
        if key not in mains:
            continue
        if e.get("ph") == "X" and "dur" in e:
            spans.setdefault(key, []).append((e["ts"], e["dur"], e["name"]))
        elif e.get("ph") == "B":
            open_.setdefault(key, []).append(e)
        elif e.get("ph") == "E" and open_.get(key):
            b = open_[key].pop()
            spans.setdefault(key, []).append((b["ts"], e["ts"] - b["ts"], b["name"]))
    if not spans:
        return []
    key = max(spans, key=lambda k: sum(d for _, d, n in spans[k] if n == "ParseHTML"))
    items = sorted(spans[key], key=lambda s: (s[0], -s[1]))
    self_time: dict[str, float] = {}
    count: dict[str, int] = {}
    stack: list[list] = []                          # [end, name, time in children, duration]

    def close(upto: float) -> None:
        while stack and stack[-1][0] <= upto:
            end, name, child, dur = stack.pop()
            self_time[name] = self_time.get(name, 0) + max(0, dur - child)
            if stack:
                stack[-1][2] += dur

    for ts, dur, name in items:
        close(ts)
        count[name] = count.get(name, 0) + 1
        stack.append([ts + dur, name, 0, dur])
    close(float("inf"))
    ranked = sorted(self_time.items(), key=lambda kv: -kv[1])[:top]
    return [(name, s / 1e6, count[name]) for name, s in ranked]


# --- parent side ---------------------------------------------------------------------

def benchmark(n: int, repeat: int, workdir: Path, trace: Path | None) -> dict:
    built = build(n, workdir)
    infos = sum(c.get("info", 0) for c in built["by_rule"].values())
    # The rule filter goes to a small rule (the browser test's choice when it has findings here).
    small = sorted((sum(c.values()), r) for r, c in built["by_rule"].items() if r != "FLOOR_PRESCHOOL")
    rule = "ONLY_INCREASE_TOTAL" if "ONLY_INCREASE_TOTAL" in built["by_rule"] else (small[0][1] if small else
                                                                                     "FLOOR_PRESCHOOL")
    expect = {"total": built["total"], "info": infos, "rule": rule, "text_count": built["text_count"],
              "rule_count": sum(built["by_rule"].get(rule, {}).values())}
    runs: dict[str, list[dict]] = {kind: [] for kind in LABELS}
    for _ in range(repeat):                         # round-robin: a slow spell hits both alike
        for kind in LABELS:
            runs[kind].append(_run_child(kind, built[kind], expect))
    best = {kind: {m: min(r[m] for r in rs) for m in ("load_seconds", "ready_seconds")} for kind, rs in runs.items()}
    best_run = {kind: min(rs, key=lambda r: r["ready_seconds"]) for kind, rs in runs.items()}
    filters = [r["filters"] for r in runs["report"]]
    steps = list(filters[0]["user_seconds"])
    result = {
        **built, "repeat": repeat, "expect": expect, "runs": runs, "best": best, "best_run": best_run,
        "ratio_load": {b: best["report"]["load_seconds"] / best[b]["load_seconds"] for b in BASELINES},
        "ratio_ready": {b: best["report"]["ready_seconds"] / best[b]["ready_seconds"] for b in BASELINES},
        "filters_user_best": {s: min(f["user_seconds"][s] for f in filters) for s in steps},
        "filters_in_page_best": {s: {k: min(f["in_page_seconds"][s][k] for f in filters)
                                     for k in ("script", "layout", "frame")} for s in steps},
        "python": platform.python_version(), 
        "versions": harness.versions("finaudit", "playwright", "jinja2", "duckdb", "pandas"),
        "chromium": _chromium_version(),
        "commit": harness.commit(), "source_digest": harness.source_digest(),
    }
    if trace:
        tr = _run_child("report", built["report"], expect, trace=str(trace))
        result["trace"] = {"path": str(trace), "ready_seconds": tr["ready_seconds"],
                           "self_time": trace_summary(trace)}
    return result


def _chromium_version() -> str | None:
    try:
        return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _check(result: dict) -> list[str]:
    """The expected findings, counted as expected by the page: timings of a broken report mean nothing."""
    n = result["findings"]
    problems = []
    if result["floor_violations"] != n + 1:
        problems.append(f"FLOOR_PRESCHOOL violations: {result['floor_violations']}, expected {n + 1}")
    total, info = result["expect"]["total"], result["expect"]["info"]
    for kind, rs in result["runs"].items():
        for r in rs:
            if r["errors"]:
                problems.append(f"{kind}: page errors: {'; '.join(r['errors'][:3])}")
            if r["foreign_requests"]:
                problems.append(f"{kind}: requests beyond the file: {', '.join(r['foreign_requests'][:3])}")
            if kind == "report":
                if r["shown_at_open"] != f"{total - info} / {total}":
                    problems.append(f"report opened showing {r['shown_at_open']!r}, "
                                    f"expected '{total - info} / {total}'")
                if r["group_rows"] < 1:
                    problems.append("report: opening the first group showed no rows")
                f = r["filters"]
                for step, want in f["expected"].items():
                    if f["shown"].get(step) != want:
                        problems.append(f"report after {step}: {f['shown'].get(step)!r}, expected {want!r}")
    return sorted(set(problems))


def report(result: dict) -> str:
    mb = result["report_bytes"] / 1e6
    lines = [
        f"finaudit report benchmark: {result['findings']:,} public kindergartens at 300-399 yuan per child",
        f"findings: {result['total']:,} (FLOOR_PRESCHOOL violations {result['floor_violations']:,}; "
        + ", ".join(f"{r} {sum(c.values())}" for r, c in sorted(result["by_rule"].items())) + ")",
        f"python {result['python']}; " + ", ".join(f"{k} {v}" for k, v in result["versions"].items())
        + f"; {result['chromium']}; commit {result['commit']}; finaudit/rules/schemas digest {result['source_digest']}",
        f"ledger written in {result['gen_seconds']:.2f} s; finaudit.check {result['check_seconds']:.2f} s; "
        f"write_html {result['html_seconds']:.2f} s",
        f"report size: {mb:.2f} MB ({result['report_bytes']:,} bytes; target < {TARGET_MB:.0f} MB: "
        f"{'met' if result['report_bytes'] < TARGET_MB * 1024 * 1024 else 'NOT MET'})",
        f"baseline, no style or script: the findings' text as a plain list, one <li> per finding "
        f"({result['bytes']['list']:,} bytes)",
        f"repeat: {result['repeat']} (each run a fresh process, browser and context; best time)",
        "",
        f"{'page':<34} {'load s':>7} {'ready s':>8}  {'runs ready s':<22} {'DOM nodes':>9} {'renderer peak MiB':>17}",
    ]
    for kind, label in LABELS.items():
        rs = result["runs"][kind]
        b = result["best_run"][kind]
        times = " ".join(f"{r['ready_seconds']:.3f}" for r in rs)
        lines.append(f"{label:<34} {result['best'][kind]['load_seconds']:>7.3f} "
                     f"{result['best'][kind]['ready_seconds']:>8.3f}  {times:<22} {b['dom_nodes']:>9,} "
                     f"{max(r['renderer_peak_rss_mib'] for r in rs):>17.1f}")
    lines.append("")
    lines.append("in the page, best run (ms since navigation start; renderer CDP metrics in s):")
    for kind, label in LABELS.items():
        b = result["best_run"][kind]
        nav, m = b["navigation_ms"], b["metrics"]
        lines.append(f"  {label}: responseEnd {nav['responseEnd']:.0f}, domInteractive {nav['domInteractive']:.0f}, "
                     f"loadEventEnd {nav['loadEventEnd']:.0f}; script {m['ScriptDuration']:.3f}, "
                     f"style {m['RecalcStyleDuration']:.3f}, layout {m['LayoutDuration']:.3f}, "
                     f"task {m['TaskDuration']:.3f}")
    ready = result["best"]["report"]["ready_seconds"]
    lines += [
        "",
        f"ratio report/baseline: load {result['ratio_load']['list']:.2f}, "
        f"ready {result['ratio_ready']['list']:.2f} (baseline: {LABELS['list']})",
        f"report ready in {ready:.3f} s (target < {TARGET_SECONDS:.0f} s: "
        f"{'met' if ready < TARGET_SECONDS else 'NOT MET'})",
        "",
        f"opening the first group ({result['best_run']['report']['group_size']}): rows on screen in "
        f"{min(r['open_group_seconds'] for r in result['runs']['report']):.3f} s (best), "
        f"{result['best_run']['report']['group_rows']} rows built",
        "",
        f"filtering (report, best of {result['repeat']}; rule filter to {result['expect']['rule']}):",
        f"  {'change':<28} {'user s':>7} {'script s':>9} {'+layout s':>10} {'frame s':>8}",
    ]
    for step, s in result["filters_user_best"].items():
        ip = result["filters_in_page_best"][step]
        lines.append(f"  {step:<28} {s:>7.3f} {ip['script']:>9.3f} {ip['layout']:>10.3f} {ip['frame']:>8.3f}")
    if "trace" in result:
        tr = result["trace"]
        lines += ["", f"trace of one report open (ready {tr['ready_seconds']:.3f} s under tracing): {tr['path']}",
                  "  renderer main thread, self time by event:"]
        lines += [f"    {name:<40} {s:>7.3f} s  ({c:,} events)" for name, s, c in tr["self_time"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=50_000,
                        help="kindergartens (one violation each; default 50000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per page, best kept (default 3)")
    parser.add_argument("--smoke", action="store_true",
                        help=f"CI mode: {SMOKE_FINDINGS:,} findings, 1 run; checks counts only, never time")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    parser.add_argument("--keep", type=Path, help="write the ledger and the two pages here (an empty or new folder) "
                                                  "instead of a temporary directory")
    parser.add_argument("--trace", type=Path, nargs="?", const=Path("report-trace.json"),
                        help="also trace one report open; write the trace here (default report-trace.json)")
    parser.add_argument("--child", choices=sorted(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--expect", help=argparse.SUPPRESS)
    parser.add_argument("--trace-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(_child(args.child, args.path, json.loads(args.expect), args.trace_out), ensure_ascii=False))
        return 0
    if args.smoke:
        args.findings, args.repeat = SMOKE_FINDINGS, 1
    if args.repeat < 1 or args.findings < 1:
        parser.error("--findings and --repeat must be >= 1")
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is not installed: nothing to measure", file=sys.stderr)
        return 2

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        if any(args.keep.iterdir()):
            parser.error(f"--keep {args.keep}: the folder is not empty")
        result = benchmark(args.findings, args.repeat, args.keep, args.trace)
    else:
        with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
            result = benchmark(args.findings, args.repeat, Path(tmp), args.trace)
    return harness.finish(result, report(result), _check(result), args.json)


if __name__ == "__main__":
    sys.exit(main())
