"""The package's imports point down the flow (DESIGN.md §3): intake → audit → runs → report,
with no cycle, renderers that import no other renderer, and modules small enough to read."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "finaudit"
MAX_LINES = 350
# Each stage may import the stages before it, never one after it. The top-level modules
# (errors, findings, resources, atomic) sit below every stage; cli and config above them.
STAGES = ["intake", "audit", "runs", "report", "authoring"]
ABOVE = ("finaudit.config",)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int, bool]]:
    """(imported finaudit module, line, inside a function) for every import in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = []

    def visit(node, in_function: bool):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                if base.split(".")[0] == "finaudit":
                    for alias in child.names:
                        full = f"{base}.{alias.name}"
                        out.append((full if full in known else base, child.lineno, in_function))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] == "finaudit":
                        out.append((alias.name, child.lineno, in_function))
            visit(child, nested)

    visit(tree, False)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        # The package root is the API facade above every stage; __main__ runs the CLI.
        if name in ("finaudit", "finaudit.__main__"):
            continue
        graph[name] = {target for target, _, _ in _imports(name, path, known)
                       if target in known and target not in ("finaudit", name)}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in STAGES else None


def test_the_package_has_no_import_cycle():
    assert _cycle(_graph()) is None, " -> ".join(_cycle(_graph()))


def test_every_import_points_down_the_flow():
    wrong = []
    for module, targets in _graph().items():
        here = _stage(module)
        for target in targets:
            there = _stage(target)
            if here and there and STAGES.index(there) > STAGES.index(here):
                wrong.append(f"{module} imports {target}")
            if here is None and there is not None and module.count(".") == 1 and module not in ABOVE:
                wrong.append(f"shared module {module} imports stage module {target}")
    assert wrong == []


# What report modules may share: the labels every output uses, and the SVG drawing of the
# HTML report's charts (no output of its own).
REPORT_SHARED = ("finaudit.report.labels", "finaudit.report.charts")


def test_no_report_module_imports_another_except_the_shared_labels():
    wrong = [f"{module} imports {target}" for module, targets in _graph().items()
             if module.startswith("finaudit.report.") for target in targets
             if target.startswith("finaudit.report.") and target not in REPORT_SHARED]
    assert wrong == []


def test_no_module_reaches_into_another_modules_private_names():
    modules = _modules()
    wrong = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("finaudit")):
                wrong += [f"{name}:{node.lineno} {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert wrong == []


def test_function_local_imports_inside_the_package_say_why():
    """A function-local import of a finaudit module is there for start-up time only, and says so."""
    modules = _modules()
    known = set(modules)
    silent = []
    for name, path in modules.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for target, line, local in _imports(name, path, known):
            # The package root and the CLI import the stages when a call needs them: `import
            # finaudit` and `finaudit --help` start without pandas or DuckDB.
            if local and name != "finaudit" and not name.startswith("finaudit.cli"):
                window = " ".join(lines[max(0, line - 3):line + 1])
                if "start-up" not in window and "startup" not in window:
                    silent.append(f"{name}:{line} imports {target}")
    assert silent == []


def test_no_module_is_longer_than_a_person_reads_at_once():
    long = {name: n for name, path in _modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}
