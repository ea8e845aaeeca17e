"""The rules and rules/views.sql, written once for DuckDB, as Spark SQL (issue 18).

sqlglot translates the syntax; what it cannot know is finaudit's own: the macros of
views.sql (a scalar macro is written out where it is called, the table macro
per_student_floor becomes a subquery), `param()` (a lookup in the bound map parameter:
the values stay bound, never text in the query) and DuckDB's `/`, which always divides
as DOUBLE where Spark would divide decimals as decimals, rounded to 6 places: the
numerator is cast, so both engines compute the same ratios and shortfalls; and a zero
divisor gives NULL (try_divide) where Spark's ANSI mode would stop the query."""
from __future__ import annotations

from dataclasses import dataclass, field

from finaudit.errors import RuleError


@dataclass
class Macros:
    """views.sql's macros: name -> (parameter names, body)."""
    scalar: dict = field(default_factory=dict)
    table: dict = field(default_factory=dict)


def _sqlglot():
    import sqlglot
    from sqlglot import exp
    return sqlglot, exp


def views(sql: str) -> tuple[list[tuple[str, str]], Macros]:
    """views.sql as (table name, Spark query) in file order, and its macros."""
    sqlglot, exp = _sqlglot()
    macros, tables = Macros(), []
    for statement in sqlglot.parse(sql, read="duckdb"):
        if not isinstance(statement, exp.Create):
            continue
        if statement.args.get("kind") == "MACRO":
            target = macros.table if isinstance(statement.expression, exp.Query) else macros.scalar
            udf = statement.this
            target[udf.this.name.lower()] = ([p.name for p in udf.expressions], statement.expression)
            continue
        tables.append((statement.this.name, statement.expression))
    return [(name, _spark(query, macros, f"rules/views.sql ({name})")) for name, query in tables], macros


def rule(sql: str, macros: Macros, where: str) -> str:
    """One rule's query as Spark SQL; its `$name` parameters become `:name` markers."""
    sqlglot, _ = _sqlglot()
    return _spark(sqlglot.parse_one(sql.strip().rstrip(";"), read="duckdb"), macros, where)


def _spark(tree, macros: Macros, where: str) -> str:
    sqlglot, exp = _sqlglot()
    tree = tree.copy()
    try:
        tree = _table_macros(tree, macros)
        tree = _scalar_macros(tree, macros)
        tree = _unnest_structs(tree)
        tree = tree.transform(_spark_functions)
        return tree.sql(dialect="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except (sqlglot.errors.SqlglotError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise RuleError(f"{where} 无法转写为 Spark SQL：{first}",
                        f"{where} cannot be written as Spark SQL: {first}") from None


def _substitute(body, names: list[str], args: list):
    """A macro body with its parameters replaced by the call's arguments."""
    _, exp = _sqlglot()
    if len(names) != len(args):
        raise ValueError(f"macro expects {len(names)} arguments, got {len(args)}")
    bound = dict(zip(names, args))
    body = body.copy()
    for column in list(body.find_all(exp.Column)):
        if not column.table and column.name in bound:
            column.replace(bound[column.name].copy())
    return body


def _table_macros(tree, macros: Macros):
    """`FROM per_student_floor(...)` -> `FROM (its body) AS per_student_floor`;
    `query_table('name')` in the body -> the table `name`."""
    _, exp = _sqlglot()
    for table in list(tree.find_all(exp.Table)):
        call = table.this
        if not isinstance(call, exp.Anonymous) or call.name.lower() not in macros.table:
            continue
        names, body = macros.table[call.name.lower()]
        body = _substitute(body, names, list(call.expressions))
        for inner in list(body.find_all(exp.Table)):
            if isinstance(inner.this, exp.Anonymous) and inner.this.name.lower() == "query_table":
                source = inner.this.expressions[0]
                if not isinstance(source, exp.Literal):
                    raise ValueError("query_table() takes a table name written as a literal")
                inner.replace(exp.to_table(source.this).as_(inner.alias or source.this))
        alias = table.alias or call.name
        table.replace(exp.Subquery(this=body, alias=exp.TableAlias(this=exp.to_identifier(alias))))
    return tree


def _scalar_macros(tree, macros: Macros):
    """Every call of a scalar macro written out, macros calling macros included."""
    _, exp = _sqlglot()
    for _ in range(10):                     # nesting depth; views.sql has two levels
        calls = [c for c in tree.find_all(exp.Anonymous) if c.name.lower() in macros.scalar]
        if not calls:
            return tree
        for call in calls:
            names, body = macros.scalar[call.name.lower()]
            replacement = exp.Paren(this=_substitute(body, names, list(call.expressions)))
            if call is tree:
                return replacement
            call.replace(replacement)
    raise ValueError("macros nest too deep")


def _unnest_structs(tree):
    """DuckDB's `SELECT unnest({'a': x, 'b': y})` (a struct's fields as columns) -> `x AS a, y AS b`."""
    _, exp = _sqlglot()
    for select in list(tree.find_all(exp.Select)):
        projections = []
        for item in select.expressions:
            inner = item.this if isinstance(item, exp.Explode) else None
            while isinstance(inner, exp.Paren):
                inner = inner.this
            if isinstance(inner, exp.Struct):
                for entry in inner.expressions:
                    projections.append(exp.alias_(entry.expression.copy(), entry.this.name))
            else:
                projections.append(item)
        select.set("expressions", projections)
    return tree


def _spark_functions(node):
    _, exp = _sqlglot()
    if isinstance(node, exp.Anonymous) and node.name.lower() == "param":
        p, region, year = node.expressions
        return exp.Anonymous(this="try_element_at", expressions=[
            exp.Anonymous(this="try_element_at", expressions=[p.copy(), region.copy()]), year.copy()])
    if isinstance(node, exp.Div):
        # try_divide: Spark's ANSI mode stops the query at a zero divisor even where the rule
        # drops that row afterwards (DATA_IMPLAUSIBLE_FIGURE's HAVING sum(headcount) > 0)
        # (the arguments first: transform does not go into the node that replaces this one)
        left, right = (part.transform(_spark_functions) for part in (node.this, node.expression))
        left = left if _is_double(left) else exp.cast(left, "DOUBLE")
        return exp.Anonymous(this="try_divide", expressions=[left, right])
    return node


def _is_double(node) -> bool:
    _, exp = _sqlglot()
    return isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DOUBLE
