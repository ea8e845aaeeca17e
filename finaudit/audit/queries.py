"""A rule's query: checked once on an empty ledger (it must prepare and return the columns
rules/README.md requires), then run on the ledger with bound parameters, its evidence
row lists cut in SQL."""
from __future__ import annotations

import duckdb

from finaudit.audit import profiles as profiles_mod
from finaudit.audit.catalogue import Rule, views_sql
from finaudit.audit.session import connect, create_tables, create_views, out_of_memory
from finaudit.errors import LedgerError, RuleError
from finaudit.intake.schema import load_schemas


EVIDENCE_LIMIT = 1000          # evidence rows per sheet listed with a finding; evidence_total keeps the count


NOTE_EVIDENCE_LIMIT = 5        # the same for a case that could not be evaluated (an info note)


_RESULT_COLUMNS: dict[str, list[str]] = {}   # rule id -> columns its SQL returns (seen by prepare_rules)


_PREPARED: dict[str, tuple[str, str]] = {}    # rule id -> (its SQL, views.sql) when prepared


_DUMMY = {"number": 1.0, "boolean": True, "list": ["x"], "range": [1.0, 2.0]}


def result_columns(rule: Rule) -> list[str]:
    """The columns the rule's SQL returns, in order (known once prepare_rules has run it)."""
    return list(_RESULT_COLUMNS[rule.id])


def row_lists(rule: Rule) -> list[str]:
    return [c for c in _RESULT_COLUMNS.get(rule.id, []) if c.endswith("_rows")]


def _wrap(rule: Rule) -> str:
    """The rule's query, its evidence row lists cut in SQL to their first rows: none for a
    pass (only failures and notes are reported with evidence), a few for a note,
    EVIDENCE_LIMIT for a failure. Rules build the lists in any order; the n smallest row
    numbers come sorted (`min` with a count), without sorting whole lists: sorting every
    subject's list cost about as much as building it."""
    sql = rule.sql.strip().rstrip(";")
    lists = row_lists(rule)
    if not lists:
        return sql
    cut = ", ".join(f"CASE WHEN outcome = 'pass' THEN NULL "
                    f"WHEN outcome = 'unevaluable' THEN list_aggregate({c}, 'min', $note_cap) "
                    f"ELSE list_aggregate({c}, 'min', $evidence_cap) END AS {c}" for c in lists)
    totals = ", ".join(f"len({c}) AS {c}_total" for c in lists)
    return f"SELECT * REPLACE ({cut}), {totals} FROM (\n{sql}\n)"


def run_rule(con, rule: Rule, params: dict):
    """The rule's result as an Arrow table (one row per subject evaluated)."""
    if rule.id not in _RESULT_COLUMNS:
        raise RuleError(f"规则 {rule.id} 尚未检查。", f"Rule {rule.id} was run before prepare_rules checked it.")
    if row_lists(rule):
        params = {**params, "evidence_cap": EVIDENCE_LIMIT, "note_cap": NOTE_EVIDENCE_LIMIT}

    try:
        return con.sql(_wrap(rule), params=params).to_arrow_table()
    except duckdb.OutOfMemoryException as exc:   # the ledger's size, not the rule's fault
        raise out_of_memory(rule.id, exc) from None
    except (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.InvalidInputException,
            duckdb.InterruptException) as exc:
        # The query prepared (prepare_rules), so what fails now is this ledger's figures (a sum
        # past what DECIMAL(38, 4) holds, a division overflowing): the data's fault, not the file's.
        first = " ".join(str(exc).split())[:300]
        raise LedgerError(f"规则 {rule.id} 无法在本台账的数据上计算（{first}），请检查台账中过大或异常的数值。",
                          f"Rule {rule.id} cannot be computed on this ledger's figures ({first}); check the "
                          "ledger for amounts that are too large or otherwise odd.") from None
    except Exception as exc:  # duckdb raises many other types; each is a broken rule file
        first = str(exc).strip().splitlines()[0]
        raise RuleError(f"规则 rules/{rule.path.with_suffix('.sql').name} 的查询无法执行：{first}",
                        f"The query of rules/{rule.path.with_suffix('.sql').name} does not run: {first}") from None


def _dummy_params(rule: Rule) -> dict:
    registry = profiles_mod.parameter_registry()
    params = {"regions": ["000000"], "years": [2000], "region_names": {"key": ["000000"], "value": ["x"]}}
    for name in (p for p in rule.parameters if p in rule.bound):     # engine-bound ones are tables
        params[name] = {"key": ["000000"], "value": [{"key": [2000], "value": [_DUMMY[registry[name]["type"]]]}]}
    return {k: v for k, v in params.items() if k in rule.bound}


def prepare_rules(rules: dict[str, Rule]) -> None:
    """Runs every rule once on an empty ledger: SQL that does not prepare stops here, named.
    A rule whose SQL this process has already prepared is not run again (a batch of a hundred
    workbooks prepares once)."""
    views = views_sql()
    todo = [r for r in rules.values() if r.stage == "sql" and _PREPARED.get(r.id) != (r.sql, views)]
    if not todo:
        return
    con = connect()
    create_tables(con)
    create_views(con)
    for rule in todo:
        if rule.stage == "sql":
            try:
                cursor = con.execute(rule.sql.strip().rstrip(";"), _dummy_params(rule))
                _RESULT_COLUMNS[rule.id] = [d[0] for d in cursor.description]
                cursor.fetchall()
            except Exception as exc:  # duckdb raises many types; each is a broken rule file
                first = str(exc).strip().splitlines()[0]
                name = rule.path.with_suffix(".sql").name
                raise RuleError(f"规则 rules/{name} 的查询无法执行：{first}",
                                f"The query of rules/{name} does not run: {first}") from None
            _check_result_columns(rule)
            _PREPARED[rule.id] = (rule.sql, views)
    con.close()


def _check_result_columns(rule: Rule) -> None:
    """The columns every rule must return (rules/README.md); row lists must name a sheet."""
    columns = _RESULT_COLUMNS[rule.id]
    missing = [c for c in ("outcome", "region_code", "year") if c not in columns]
    unknown = [c for c in columns if c.endswith("_rows") and c[:-5] not in load_schemas()]
    if missing or unknown:
        name = rule.path.with_suffix(".sql").name
        what = missing or unknown
        raise RuleError(f"规则 rules/{name} 的结果列不符合约定：{'、'.join(what)}（见 rules/README.md）。",
                        f"The query of rules/{name} returns the wrong columns: {', '.join(what)} (see rules/README.md).")

