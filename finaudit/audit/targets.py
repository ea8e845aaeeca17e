"""The plans' indicator targets as the table PLAN_TARGET reads (plan_targets): per region and
audited year, each target of its profile's `plan_targets` in force, with the indicator's unit
and direction from schemas/enums.yaml. Values are exact decimals, as the ledger's are."""
from __future__ import annotations

from decimal import Decimal

import pyarrow as pa

from finaudit.audit import profiles as profiles_mod
from finaudit.intake.schema import enums

_DECIMAL = pa.decimal128(18, 4)
_ATTRIBUTE = {"binding": ("约束性", "binding"), "expected": ("预期性", "expected")}
SCHEMA = pa.schema([
    ("region_code", pa.string()), ("year", pa.int32()), ("indicator", pa.string()),
    ("target", _DECIMAL), ("target_year", pa.int32()), ("baseline", _DECIMAL), ("baseline_year", pa.int32()),
    ("attribute", pa.string()), ("direction", pa.string()), ("clause", pa.string()),
    ("indicator_zh", pa.string()), ("indicator_en", pa.string()), ("unit_zh", pa.string()), ("unit_en", pa.string()),
    ("gap_unit_zh", pa.string()), ("gap_unit_en", pa.string()), ("attribute_zh", pa.string()),
    ("attribute_en", pa.string()),
])


def _exact(value) -> Decimal | None:
    # From the YAML's text of the number (93, 90.07), not its binary float.
    return None if value is None else Decimal(str(value))


def plan_targets(region_profiles: dict[str, str], years: list[int]) -> pa.Table:
    """One row per region x audited year x indicator with a target in force (none where the
    region's profile sets no plan_targets for that year)."""
    rows = {name: [] for name in SCHEMA.names}
    labels = enums()["indicator"]
    for region, pid in sorted(region_profiles.items()):
        for year in sorted(years):
            entry = profiles_mod.parameter(pid, "plan_targets", year)
            for indicator, target in sorted((entry["value"] if entry else {}).items()):
                spec = labels[indicator]
                zh_attr, en_attr = _ATTRIBUTE[target["attribute"]]
                for name, value in (
                        ("region_code", region), ("year", year), ("indicator", indicator),
                        ("target", _exact(target["target"])), ("target_year", target["target_year"]),
                        ("baseline", _exact(target.get("baseline"))), ("baseline_year", target.get("baseline_year")),
                        ("attribute", target["attribute"]), ("direction", spec.get("direction", "higher")),
                        ("clause", target["clause"]), ("indicator_zh", spec["zh"]), ("indicator_en", spec["en"]),
                        ("unit_zh", spec["unit"]["zh"]), ("unit_en", spec["unit"]["en"]),
                        ("gap_unit_zh", spec["gap_unit"]["zh"]), ("gap_unit_en", spec["gap_unit"]["en"]),
                        ("attribute_zh", zh_attr), ("attribute_en", en_attr)):
                    rows[name].append(value)
    return pa.table(rows, schema=SCHEMA)
