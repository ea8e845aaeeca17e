"""Every rule's SQL (and rules/views.sql) transpiles from DuckDB to Spark SQL and PostgreSQL.

Issue 7 keeps the door open to running the rules on a bigger engine: a rule written in
DuckDB-only syntax would close it silently. sqlglot must translate each query without
an unsupported construct, the translation must parse again in the target dialect, and
every `$name` the rule binds must still be a placeholder there (`:name` in Spark,
`%(name)s` in Postgres).

What this does not promise: that the plain translation runs there. For Spark, the engine
adds what sqlglot alone does not (audit/spark_sql.py: the macros written out, param() as a
bound map, per_student_floor as a subquery, DOUBLE division), and tests/test_spark.py runs
the rules there and compares the findings with DuckDB's. For PostgreSQL nothing runs:
param() would have to exist there as a function, and some list functions sqlglot writes
(flatten, arg_min, array_sort) may be missing.
"""
from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from finaudit.audit.catalogue import load_rules, views_sql

DIALECTS = ("spark", "postgres")


def _queries():
    """(id, SQL, bound names) for every rule that has SQL, then the shared views."""
    for rule in load_rules().values():
        if rule.sql:
            yield rule.id, rule.sql, set(rule.bound)
    yield "views", views_sql(), set()


QUERIES = [pytest.param(sql, bound, id=query_id) for query_id, sql, bound in _queries()]


def _placeholders(statements) -> set[str]:
    return {node.name for statement in statements for node in statement.find_all(exp.Placeholder)}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("sql, bound", QUERIES)
def test_a_rule_query_transpiles_from_duckdb_and_keeps_its_bound_parameters(sql, bound, dialect):
    source = sqlglot.parse(sql, read="duckdb", error_level=sqlglot.ErrorLevel.RAISE)
    assert _placeholders(source) == bound   # the parser saw every $name the catalogue found

    out = sqlglot.transpile(sql, read="duckdb", write=dialect, error_level=sqlglot.ErrorLevel.RAISE,
                            unsupported_level=sqlglot.ErrorLevel.RAISE)

    assert len(out) == len(source) and all(text.strip() for text in out)
    target = [sqlglot.parse_one(text, read=dialect, error_level=sqlglot.ErrorLevel.RAISE) for text in out]
    assert _placeholders(target) == bound


def _table_macros():
    """(name, body) of every table macro in rules/views.sql."""
    for statement in sqlglot.parse(views_sql(), read="duckdb", error_level=sqlglot.ErrorLevel.RAISE):
        if isinstance(statement, exp.Create) and statement.args.get("kind") == "MACRO" \
                and isinstance(statement.expression, exp.Query):
            yield statement.this.this.name, statement.expression.sql(dialect="duckdb")


MACROS = [pytest.param(body, id=name) for name, body in _table_macros()]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("body", MACROS)
def test_a_table_macro_body_transpiles_as_a_query_not_an_opaque_command(body, dialect):
    # The rules that call the macro hold only the call: its query is checked here.
    out = sqlglot.transpile(body, read="duckdb", write=dialect, error_level=sqlglot.ErrorLevel.RAISE,
                            unsupported_level=sqlglot.ErrorLevel.RAISE)

    assert len(out) == 1
    assert isinstance(sqlglot.parse_one(out[0], read=dialect, error_level=sqlglot.ErrorLevel.RAISE), exp.Query)


def test_a_construct_the_target_lacks_fails_the_check_rather_than_being_dropped():
    # DuckDB's any_value skips NULLs; sqlglot cannot say that in Postgres (the reason
    # SURCHARGE_VOCATIONAL_SHARE groups by its parameters instead).
    with pytest.raises(sqlglot.errors.UnsupportedError):
        sqlglot.transpile("SELECT any_value(x) FROM t", read="duckdb", write="postgres",
                          unsupported_level=sqlglot.ErrorLevel.RAISE)
