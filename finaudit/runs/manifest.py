"""The run manifest: what a result needs to be reproduced years later (the inputs with
their sha256, the finaudit version, the profiles and parameter values in force, digests
of the rules and schemas, the options). verify.py re-runs it."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from finaudit import __version__
from finaudit.audit import profiles as profiles_mod
from finaudit.resources import rules_dir, schemas_dir

@functools.lru_cache(maxsize=None)
def _tree_digest(folder: str) -> str:
    """sha256 of every .yaml and .sql file under a folder: relative names and contents, in name order."""
    root = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in (".yaml", ".sql")):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def rules_digest() -> str:
    """The rules as run: every rule's metadata and SQL, views.sql, parameters.yaml and the profiles."""
    return _tree_digest(str(rules_dir()))


def schemas_digest() -> str:
    return _tree_digest(str(schemas_dir()))


def parameters_in_force(profile_ids, years) -> dict:
    """{profile: {parameter: [{effective, value, source}]}}: every value in force in an audited
    year or the year before it (the only-increase rules read that year too), and any
    severity a profile sets for a rule in those years."""
    span = sorted(set(years) | {y - 1 for y in years})
    registry = profiles_mod.parameter_registry()
    out = {}
    for pid in sorted(set(profile_ids)):
        values: dict[str, list] = {}
        for name in sorted(registry):
            entries = []
            for year in span:
                entry = profiles_mod.parameter(pid, name, year)
                if entry is not None:
                    item = {"effective": _effective(pid, name, entry), "value": entry["value"],
                            "source": entry["source"]}
                    if item not in entries:
                        entries.append(item)
            if entries:
                values[name] = entries
        severity = {}
        for profile in profiles_mod.chain(pid):
            for rule_id in sorted(profile.severity):
                for year in span:
                    level = profiles_mod.severity_override(pid, rule_id, year)
                    if level is not None:
                        severity.setdefault(rule_id, {})[str(year)] = level
        out[pid] = {"parameters": values, **({"severity": severity} if severity else {})}
    return out


def _effective(profile_id: str, name: str, entry: dict) -> int | None:
    """The year from which a parameter entry is in force, and in which profile it is set."""
    for profile in profiles_mod.chain(profile_id):
        for year, candidate in (profile.parameters.get(name) or {}).items():
            if candidate is entry:
                return year
    return None


def manifest(result) -> dict:
    """The `run` section of the findings document."""
    profiles = sorted(set(result.region_profiles.values()))
    run = {"id": result.run_id}
    run.update({
        "started_at": result.started_at,
        "finaudit_version": __version__,
        "profiles": profiles,
        "parameters": parameters_in_force(profiles, result.years),
        "rules_digest": rules_digest(),
        "schemas_digest": schemas_digest(),
        "options": dict(result.options),
        "inputs": [item.to_dict() for item in result.inputs],
    })
    return run
