"""What the rules are given besides the ledger: each profile parameter in force per region and
year (bound to the query as maps), and the fund sources that make up general-budget
education spending (a table views.sql reads). Computed on the driver from the profiles and
the ledger's regions and years: small whatever the ledger's size."""
from __future__ import annotations

from finaudit.audit import profiles as profiles_mod


def parameter_maps(region_profiles: dict[str, str], years: list[int]) -> dict[str, dict]:
    """Each parameter as MAP(region -> MAP(year -> value in force under the region's profile)),
    over the ledger's years and the one before; a year with nothing in force has no key."""
    span = sorted(set(years) | {y - 1 for y in years})
    registry = profiles_mod.parameter_registry()
    maps = {}
    for name, spec in registry.items():
        per_profile = {}
        for pid in set(region_profiles.values()):
            keys, values = [], []
            for year in span:
                entry = profiles_mod.parameter(pid, name, year)
                if entry is not None:
                    keys.append(year)
                    values.append(float(entry["value"]) if spec["type"] == "number"
                                  else [float(v) for v in entry["value"]] if spec["type"] == "range"
                                  else entry["value"])
            per_profile[pid] = {"key": keys, "value": values}
        regions = sorted(region_profiles)
        maps[name] = {"key": regions, "value": [per_profile[region_profiles[r]] for r in regions]}
    return maps


# What 一般公共预算教育支出 is made of where no profile says: the general budget's own rows.
GENERAL_BUDGET_DEFAULT = ["general_budget"]


def general_budget_sources(region_profiles: dict[str, str], years: list[int]) -> dict[str, list]:
    """The fund sources counted as general-budget education spending, per region and year
    (the ledger's years and the ones before): the profile's dated `general_budget_fund_sources`,
    as columns of the table views.sql reads (general_budget_sources)."""
    span = sorted(set(years) | {y - 1 for y in years})
    out = {"region_code": [], "year": [], "fund_source": []}
    for region, pid in sorted(region_profiles.items()):
        for year in span:
            entry = profiles_mod.parameter(pid, "general_budget_fund_sources", year)
            for source in (entry["value"] if entry else GENERAL_BUDGET_DEFAULT):
                out["region_code"].append(region)
                out["year"].append(year)
                out["fund_source"].append(source)
    return out
