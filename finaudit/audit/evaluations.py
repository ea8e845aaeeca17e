"""Every subject a rule evaluated, passes included (the summary and charts read them), and
the results withheld as not evaluable because rows they rest on were rejected."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from finaudit.audit import profiles as profiles_mod
from finaudit.audit.catalogue import Rule, kind_of
from finaudit.audit.queries import row_lists
from finaudit.intake.model import Ledger


EVALUATION_COLUMNS = ("rule_id", "check", "outcome", "profile", "region_code", "region_name", "year", "level",
                      "school_id", "school_name", "actual", "required")


_EVALUATION_TYPES = {"year": "int64", "actual": "float64", "required": "float64"}   # the rest are text


def evaluated_subjects(rule: Rule, table, region_profiles: dict[str, str], forced: str | None):
    """Every subject the rule evaluated (passes included), as an Arrow table of
    EVALUATION_COLUMNS; concat_evaluations makes the one DataFrame the summary and charts read."""
    n = table.num_rows

    def column(name: str, source: str | None = None):
        kind = getattr(pa, _EVALUATION_TYPES.get(name, "string"))()
        source = source or name
        return table.column(source).cast(kind) if source in table.column_names else pa.nulls(n, kind)

    codes = column("region_code")
    if forced:
        profile = pa.array([forced] * n, pa.string())
    else:   # per distinct region: a province's reference rows have no profile of their own
        encoded = pc.dictionary_encode(codes).combine_chunks()
        names = [None if c is None else region_profiles.get(c) or profiles_mod.most_specific(c)
                 for c in encoded.dictionary.to_pylist()]
        profile = pa.array(names, pa.string()).take(encoded.indices)
    columns = {
        "rule_id": pa.array([rule.id] * n, pa.string()),
        "check": pc.fill_null(column("check", "check_name"), "main"),
        "outcome": column("outcome"), "profile": profile, "region_code": codes,
        **{c: column(c) for c in EVALUATION_COLUMNS if c not in ("rule_id", "check", "outcome", "profile",
                                                                  "region_code")},
    }
    return pa.table({c: columns[c] for c in EVALUATION_COLUMNS})


def concat_evaluations(tables):
    """One DataFrame of every rule's evaluations: money rounded to fen, years as nullable integers."""
    if not tables:
        return pd.DataFrame(columns=list(EVALUATION_COLUMNS))
    frame = pa.concat_tables(tables).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for col in ("actual", "required"):
        frame[col] = frame[col].round(2)
    return frame


REJECTED_ROWS_MESSAGE = {
    "zh": "{region_name}{year}年：台账中与此相关的行有未通过校验的（见“台账数据检查”），"
          "为免依据不完整的数据下结论，本项未评价。",
    "en": "{region_name} {year}: rows this rests on were rejected by validation (see the ledger data checks); "
          "not evaluated rather than judged on incomplete figures.",
}


def rejected_subjects(ledger: Ledger) -> dict[str, set]:
    """(region_code, year) of every row rejected by validation, per sheet; None where unreadable
    (such a row could belong to any region or year)."""
    sheet_of = {sheet.source: name for name, sheet in ledger.sheets.items()}
    out: dict[str, set] = {}
    for finding in ledger.findings:
        if kind_of(finding.rule_id) == "schema" and finding.evidence:
            name = sheet_of.get(finding.evidence[0].sheet)
            out.setdefault(name, set()).add((finding.subject.get("region_code"), finding.subject.get("year")))
    return out


def withhold_on_rejected_rows(rule: Rule, table, rejected: dict[str, set]):
    """A result resting on a region and year with rejected rows becomes not evaluable: a sum
    missing a row can pass or fail falsely. Rules comparing with the previous year
    (`compares_previous_year`) are withheld when that year has rejected rows too."""
    sheets = [c[:-5] for c in row_lists(rule)]
    marks = set().union(*(rejected.get(s, set()) for s in sheets)) if sheets else set()
    if not marks or rule.kind == "data":
        return table
    any_region = {y for r, y in marks if r is None}
    any_year = {r for r, y in marks if y is None}
    everything = (None, None) in marks

    def hit(region, year) -> bool:
        years = (year, year - 1) if rule.compares_previous_year and year is not None else (year,)
        return everything or region in any_year or any((region, y) in marks or y in any_region for y in years)

    regions, years = table.column("region_code").to_pylist(), table.column("year").to_pylist()
    outcomes = table.column("outcome").to_pylist()
    flags = [o != "unevaluable" and hit(r, y) for o, r, y in zip(outcomes, regions, years)]
    if not any(flags):
        return table
    reasons = table.column("reason").to_pylist() if "reason" in table.column_names else [None] * len(flags)
    table = table.set_column(table.column_names.index("outcome"), "outcome",
                             pa.array(["unevaluable" if f else o for f, o in zip(flags, outcomes)]))
    reason_column = pa.array(["rejected_rows" if f else r for f, r in zip(flags, reasons)], type=pa.string())
    if "reason" in table.column_names:
        return table.set_column(table.column_names.index("reason"), "reason", reason_column)
    return table.append_column("reason", reason_column)
