"""The rules on Apache Spark (issue 18): the same rule files as DuckDB runs, transpiled at run
time (spark_sql.py), on the ledger's tables registered in a SparkSession; parameters bound
as typed map and array literals (never formatted into the query's text). Spark is an
optional extra (requirements-spark.txt, or the `spark` extra) and needs a Java runtime."""
from __future__ import annotations

import functools
import os
import shutil
import tempfile
import re

import pyarrow as pa

from finaudit.audit import profiles as profiles_mod
from finaudit.audit import spark_sql
from finaudit.audit.catalogue import Rule, views_sql
from finaudit.audit.queries import EVIDENCE_LIMIT, NOTE_EVIDENCE_LIMIT, result_columns, row_lists
from finaudit.audit.session import SOURCES_SCHEMA
from finaudit.errors import LedgerError, RuleError, UsageError, one_line
from finaudit.intake.schema import load_schemas
from finaudit.intake.spark_errors import DEFAULT_DRIVER_MEMORY, DRIVER_MEMORY, out_of_memory, spark_errors, unpersist

# The master URLs Spark 4 takes (its docs' "Master URLs"): anything else is refused here, in one
# line, before a JVM starts and prints its own stack trace for it.
_MASTER = re.compile(r"local(\[(\*|[1-9]\d*)(,[1-9]\d*)?\])?|local-cluster\[\d+,\d+,\d+\]"
                     r"|spark://[^\s/]+(:\d+)?(,[^\s/]+(:\d+)?)*|yarn|k8s://\S+")


_INSTALL = "pip install --require-hashes -r requirements-spark.txt"     # pinned pyspark and py4j


def session(master: str | None = None):
    """A local (or `master`'s) SparkSession; a clear one-line error when pyspark or Java is missing."""
    if master is not None and not _MASTER.fullmatch(master):
        raise UsageError(f"Spark 主节点地址“{master}”无效：应为 local[*]、local[4]、spark://主机:7077、yarn 或 k8s://地址。",
                         f"Spark master '{master}' is not valid: use local[*], local[4], spark://host:7077, "
                         "yarn or k8s://address.")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("未安装 pyspark，无法使用 Spark 引擎。请在 finaudit 的文件夹中安装："
                         f"{_INSTALL}（另需 Java 17 运行环境）。",
                         "pyspark is not installed, so the Spark engine cannot run; install it in finaudit's "
                         f"folder with {_INSTALL} (a Java 17 runtime is needed too).") from None
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise UsageError("找不到 Java 运行环境，Spark 无法启动。请安装 Java 17（如 apt-get install openjdk-17-jre-headless）或设置 JAVA_HOME。",
                         "No Java runtime was found, so Spark cannot start; install Java 17 (e.g. apt-get install "
                         "openjdk-17-jre-headless) or set JAVA_HOME.")
    running = SparkSession.getActiveSession()
    if running is not None:      # the caller's: used as it is, not changed by finaudit's settings
        if master is not None and master != running.sparkContext.master:
            where = running.sparkContext.master
            raise UsageError(f"本进程已有运行在 {where} 上的 Spark 会话，不能再在 {master} 上启动；"
                             "请不指定主节点地址（使用该会话），或先停止它。",
                             f"This process already runs a Spark session on {where}, so none can start on "
                             f"{master}; leave the master out (that session is used) or stop it first.")
        return running
    master = master or "local[*]"
    builder = (SparkSession.builder.master(master).appName("finaudit")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.session.timeZone", "UTC"))
    if master.startswith("local"):
        # a ledger's rule queries are small: 200 shuffle partitions would be 200 tiny tasks each;
        # and the driver is the executor: its default 1 GB heap ran out on a 1M-row ledger
        builder = (builder.config("spark.sql.shuffle.partitions", "2")
                   # a join side broadcast on the planner's estimate (a cached view's can be far
                   # too low) ran a 5M-row ledger out of the driver's memory; broadcast only on
                   # the sizes a shuffle measured (adaptive execution)
                   .config("spark.sql.autoBroadcastJoinThreshold", "-1")
                   .config("spark.sql.adaptive.autoBroadcastJoinThreshold", "10MB")
                   .config("spark.driver.memory", os.environ.get(DRIVER_MEMORY, DEFAULT_DRIVER_MEMORY)))
    try:
        spark = builder.getOrCreate()
        _quiet(spark)
        return spark
    except Exception as exc:  # py4j and the JVM raise many types; each means Spark did not start
        first = one_line(exc, 200)
        raise UsageError(f"Spark（{master}）无法启动：{first}", f"Spark ({master}) did not start: {first}") from None


def _quiet(spark) -> None:
    """A failure on Spark reaches the auditor as one line (RuleError, LedgerError, with Spark's
    own message): the JVM's log and pyspark's JSON records of the same failure (pages of Java
    stack on stderr) are off, in a session finaudit starts; a caller's own session keeps its."""
    import logging

    from pyspark.logger import PySparkLogger

    spark.sparkContext.setLogLevel("OFF")
    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL + 1)


class SparkRules:
    """The ledger's tables and rules/views.sql in a SparkSession, and the rules run there."""

    ledger_on_spark = False     # True when the ledger was read and validated there (its rows stay there)

    def __init__(self, spark, con, rules, session=None, cached=()):
        """Registers the ledger's sheets, loaded and validated into DuckDB `con`, in a session
        of its own on `spark`'s context: its tables are seen by this audit only. `session`:
        that session when the ledger was read and validated on Spark already (spark_native.py,
        `cached` its frames), its sheets' tables registered there: nothing is copied then."""
        self.spark, self._cached = session or spark.newSession(), list(cached)
        self._folder = tempfile.TemporaryDirectory(prefix="finaudit-spark-")
        try:
            self._plan(rules)
            if session is None:
                self._hand_over(spark, con)
        except BaseException as exc:
            self.close()        # the Parquet copies of large sheets go now, not when collected
            if isinstance(exc, _hand_over_errors()):
                raise _not_handed_over(exc) from None
            raise

    def _plan(self, rules) -> None:
        self._tables, self._macros = spark_sql.views(views_sql())
        sqls = [r.sql for r in rules.values() if r.stage == "sql" and r.sql]
        self._many = len(sqls) > 1          # one rule reads each table once: nothing to cache
        self._readers = {name: sum(1 for sql in sqls if _names(sql, name)) for name, _ in self._tables}
        # the tables the run's rules read, and those these read: each one is planned by Spark
        # when it is registered, a second or so for all of them, which a one-rule run need not pay
        needed = {name for name, n in self._readers.items() if n}
        for name, query in reversed(self._tables):
            if name in needed:
                needed |= {other for other, _ in self._tables if _names(query, other)}
        self._tables = [(name, query) for name, query in self._tables if name in needed]

    def _hand_over(self, spark, con) -> None:
        # a file in a local folder is read by executors of this machine only: on a cluster the
        # rows go through the driver (a Parquet ledger is read where it lives: spark_native.py)
        local = spark.sparkContext.master.startswith("local")
        for sheet in load_schemas():
            rows = con.execute(f'SELECT count(*) FROM "{sheet}"').fetchall()[0][0]
            if rows <= _IN_MEMORY_ROWS or not local:
                self._register(sheet, con.table(f'"{sheet}"').to_arrow_table())
                continue
            # A large sheet goes as a Parquet file Spark reads in parallel: handed over in
            # memory it is one local relation in the driver's heap (1M rows did not fit in 1 GB)
            file = os.path.join(self._folder.name, f"{sheet}.parquet")
            con.execute(f"COPY \"{sheet}\" TO '{file}' (FORMAT parquet)")
            self.spark.read.parquet(file).createOrReplaceTempView(sheet)

    def ask(self, sql: str) -> list[tuple]:
        """The rows of a small query in DuckDB's SQL (the ledger's years, regions) run on Spark."""
        import sqlglot
        query = sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)[0]
        try:
            return [tuple(row) for row in self.spark.sql(query).collect()]
        except Exception as exc:    # on a ledger read on Spark, the first question over all its rows
            _raise_out_of_memory(exc)
            raise

    def _register(self, name: str, table: pa.Table) -> None:
        try:
            self.spark.createDataFrame(table).createOrReplaceTempView(name)
        except Exception as exc:
            if isinstance(exc, _hand_over_errors()):
                raise _not_handed_over(exc) from None
            raise

    def create_views(self, general_budget_sources: dict, plan_targets: pa.Table) -> None:
        """engine.general_budget_sources, the plan targets, then views.sql's tables: cached
        where two rules or more of the run (or another table) read one, computed when first read."""
        self._register("general_budget_sources", pa.table(general_budget_sources, schema=SOURCES_SCHEMA))
        self._register("plan_targets", plan_targets)
        for name, query in self._tables:
            try:
                frame = self.spark.sql(query)
            except Exception as exc:
                _raise_out_of_memory(exc)
                raise RuleError(f"rules/views.sql（{name}）在 Spark 上无法执行：{one_line(exc)}",
                                f"rules/views.sql ({name}) does not run on Spark: {one_line(exc)}") from None
            if self._many and (self._readers.get(name, 0) > 1 or any(_names(q, name) for _, q in self._tables)):
                frame = frame.cache()
                self._cached.append(frame)
            frame.createOrReplaceTempView(name)

    def run(self, rule: Rule, params: dict) -> pa.Table:
        """The rule's result as an Arrow table, as queries.run_rule gives it on DuckDB."""
        query = _wrap(rule, spark_sql.rule(rule.sql, self._macros, f"rules/{rule.path.with_suffix('.sql').name}"))
        if row_lists(rule):
            params = {**params, "evidence_cap": EVIDENCE_LIMIT, "note_cap": NOTE_EVIDENCE_LIMIT}
        args = {name: _literal(name, value) for name, value in params.items()}
        try:
            return self.spark.sql(query, args=args).toArrow()
        except Exception as exc:
            _raise_out_of_memory(exc)
            name = rule.path.with_suffix(".sql").name
            if "ARITHMETIC_OVERFLOW" in str(exc) or "NUMERIC_VALUE_OUT_OF_RANGE" in str(exc):
                raise LedgerError(f"规则 {rule.id} 无法在本台账的数据上计算（{one_line(exc)}），请检查台账中过大或异常的数值。",
                                  f"Rule {rule.id} cannot be computed on this ledger's figures ({one_line(exc)}); check "
                                  "the ledger for amounts that are too large or otherwise odd.") from None
            raise RuleError(f"规则 rules/{name} 的查询在 Spark 上无法执行：{one_line(exc)}",
                            f"The query of rules/{name} does not run on Spark: {one_line(exc)}") from None

    def close(self) -> None:
        """Frees what this audit cached; its tables go with its session."""
        unpersist(self._cached)
        self._cached = []
        self._folder.cleanup()


@functools.cache
def _hand_over_errors() -> tuple:
    """What the JVM (through py4j), pyspark and DuckDB's COPY raise when the ledger does not
    reach Spark (a full disk, a lost executor); a bug of finaudit's stays what it is. Imported
    when needed: this module is imported without pyspark to tell that it is missing."""
    import duckdb
    return spark_errors() + (duckdb.Error, OSError)


def _raise_out_of_memory(exc: Exception) -> None:
    """A query that failed as Spark itself failed (out of memory, its context stopped) fails the ledger's audit as that, not as the rule's SQL."""
    error = out_of_memory(exc)
    if error is not None:
        raise error from None


def _not_handed_over(exc: Exception) -> LedgerError:
    return out_of_memory(exc) or LedgerError(f"台账未能交给 Spark：{one_line(exc)}", f"The ledger could not be handed to Spark: {one_line(exc)}")


_IN_MEMORY_ROWS = 50_000       # a sheet up to this size goes to Spark as an Arrow table, larger ones as Parquet


def _names(sql: str, table: str) -> bool:
    return re.search(rf"\b{table}\b", sql) is not None


def _wrap(rule: Rule, sql: str) -> str:
    """queries._wrap in Spark SQL: the evidence row lists cut to their smallest row numbers,
    sorted; none for a pass, a few for a note; with each list's full length."""
    lists = row_lists(rule)
    if not lists:
        return sql
    columns = result_columns(rule)
    cut = {c: (f"CASE WHEN outcome = 'pass' THEN NULL "
               f"WHEN outcome = 'unevaluable' THEN slice(array_sort(`{c}`), 1, :note_cap) "
               f"ELSE slice(array_sort(`{c}`), 1, :evidence_cap) END AS `{c}`") for c in lists}
    selects = [cut.get(c, f"`{c}`") for c in columns]
    totals = [f"CASE WHEN `{c}` IS NULL THEN NULL ELSE size(`{c}`) END AS `{c}_total`" for c in lists]
    return f"SELECT {', '.join(selects + totals)} FROM (\n{sql}\n) AS rule_result"


def _literal(name: str, value):
    """A bound parameter as a Spark literal Column. Spark takes only literals and the
    array()/map() constructors, without a cast: every array and map carries a first entry
    of the type it holds (region "", year 0: never a subject), so an empty one is typed too."""
    from pyspark.sql import functions as F
    if name == "regions":
        return F.array(F.lit(""), *[F.lit(str(v)) for v in value])
    if name == "years":
        return F.array(F.lit(0), *[F.lit(int(v)) for v in value])
    if name in ("evidence_cap", "note_cap"):
        return F.lit(int(value))
    if name == "region_names":
        return _map([""] + list(value["key"]), [F.lit("")] + [F.lit(str(v)) for v in value["value"]])
    dummy = _DUMMIES[profiles_mod.parameter_registry()[name]["type"]]
    per_region = [_map([0] + [int(y) for y in years["key"]], [_value(dummy)] + [_value(v) for v in years["value"]])
                  for years in value["value"]]
    return _map([""] + list(value["key"]), [_map([0], [_value(dummy)])] + per_region)


# The typed first entry of each kind of parameter value.
_DUMMIES = {"number": 0.0, "boolean": False, "list": [""], "range": [0.0, 0.0]}


def _value(v):
    from pyspark.sql import functions as F
    if isinstance(v, (list, tuple)):
        return F.array(*[F.lit(float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else x) for x in v])
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return F.lit(float(v))
    return F.lit(v)


def _map(keys: list, values: list):
    from pyspark.sql import functions as F
    return F.create_map(*[item for k, v in zip(keys, values) for item in (F.lit(k), v)])
