"""The audit's DuckDB: a connection that never reaches for the network, one typed table per
ledger sheet, rules/views.sql, and cursors that run queries side by side."""
from __future__ import annotations

import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pyarrow as pa

from finaudit.audit.catalogue import views_sql
from finaudit.audit.targets import SCHEMA as TARGETS_SCHEMA
from finaudit.errors import RuleError, UsageError
from finaudit.intake.schema import load_schemas
from finaudit.intake.validate import exact_money_sql

# Money is exact decimal: sums of amounts like 100.10 + 200.20 must equal 300.30, or a
# year spending the same as the last would be reported as a fall of 0.00 yuan.
_SQL_TYPES = {"year": "INTEGER", "count": "BIGINT", "money": "DECIMAL(38, 4)", "number": "DECIMAL(18, 4)"}
SOURCES_SCHEMA = pa.schema([("region_code", pa.string()), ("year", pa.int32()), ("fund_source", pa.string())])


def connect(memory_limit: str | None = None, folder: str | None = None):
    """An in-memory DuckDB that never reaches for the network (DEPENDENCIES.md).

    With a memory limit (e.g. "4GB") it keeps to it. Given a `folder` too, the database is a
    file there and what does not fit goes there: tables written to a database file are
    compressed and can be dropped from memory and read again, which a national ledger
    needs (25M rows within 4GB, tests/bench/RESULTS.md: 66 s and 4.8 GiB this way, 95 s
    and 5.2 GiB spilling from an in-memory database)."""


    config = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    if memory_limit is None:
        return duckdb.connect(config=config)
    database = os.path.join(folder, "audit.duckdb") if folder else ":memory:"
    if folder:
        config["temp_directory"] = folder
    if str(memory_limit).strip().startswith("-"):      # DuckDB would take it as "no limit"
        raise UsageError(f"内存上限“{memory_limit}”无效，应写成如 4GB、512MB。",
                         f"The memory limit '{memory_limit}' is not valid; write it like 4GB or 512MB.")
    try:
        con = duckdb.connect(database, config={**config, "memory_limit": str(memory_limit)})
    except duckdb.Error:
        raise UsageError(f"内存上限“{memory_limit}”无效，应写成如 4GB、512MB。",
                         f"The memory limit '{memory_limit}' is not valid; write it like 4GB or 512MB.") from None
    try:        # a limit of a few bytes leaves no room for even one query
        con.execute("SELECT current_setting('memory_limit')").fetchall()
    except duckdb.OutOfMemoryException:
        con.close()
        raise UsageError(f"内存上限“{memory_limit}”太小，连一条查询都无法运行；应至少为几十 MB，如 512MB、4GB。",
                         f"The memory limit '{memory_limit}' is too small to run a single query; give at least "
                         "some tens of MB, such as 512MB or 4GB.") from None
    return con


def create_tables(con) -> None:
    """One empty table per ledger sheet, typed from schemas/ (absent sheets stay empty), and
    param(p, region, year): the value of a bound parameter in force for a region in a year."""
    con.execute("CREATE MACRO param(p, region, yr) AS map_extract_value(map_extract_value(p, region), yr)")
    for sheet in load_schemas().values():
        columns = ", ".join(f'"{c.name}" {_SQL_TYPES.get(c.type, "VARCHAR")}' for c in sheet.columns)
        con.execute(f'CREATE TABLE "{sheet.name}" ({columns}, _row BIGINT)')


def out_of_memory(what: str, exc: Exception) -> UsageError:
    first = str(exc).strip().splitlines()[0]
    return UsageError(f"内存不足，无法完成 {what} 的计算（{first}）。请在内存更大的机器上运行，或按地区分批审计。",
                      f"Not enough memory to compute {what} ({first}); run on a machine with more memory, "
                      "or audit the ledger region by region.")


QUERY_THREADS = 2     # rule queries run side by side: most are too small for DuckDB to use every core


# A table or macro a later statement may name (a macro built on another waits for it).
_CREATES = re.compile(r"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP\s+|TEMPORARY\s+)?(?:TABLE|MACRO)\s+(\w+)", re.IGNORECASE)


class Cursors:
    """Threads that each query on a cursor of their own, so that DuckDB runs their queries
    side by side. Tables and macros are shared by every cursor; TEMP tables are not."""
    def __init__(self, con, workers: int = QUERY_THREADS):

        self._con, self._local, self._opened = con, threading.local(), []
        self._pool = ThreadPoolExecutor(max_workers=workers)

    def submit(self, fn, *args, after=()):
        """fn(cursor, *args) in a thread, once the futures `after` are done."""
        def task():
            for future in after:
                future.result()
            if not hasattr(self._local, "cursor"):
                self._local.cursor = self._con.cursor()
                self._opened.append(self._local.cursor)
            return fn(self._local.cursor, *args)
        return self._pool.submit(task)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._pool.shutdown(wait=True)
        for cursor in self._opened:
            cursor.close()


def create_views(con, general_budget_sources: dict | None = None, plan_targets: pa.Table | None = None) -> None:
    """rules/views.sql, each table as soon as the tables it reads exist (two at a time).
    First the table `general_budget_sources` (region_code, year, fund_source): which fund
    sources make up a region's general-budget education spending in a year, by its profile
    (engine.general_budget_sources; empty when the rules are only prepared); and the table
    `plan_targets`: each region's plan indicator targets in force per year (audit/targets.py)."""
    con.register("plan_targets_in", plan_targets if plan_targets is not None else TARGETS_SCHEMA.empty_table())
    con.execute("CREATE OR REPLACE TABLE plan_targets AS SELECT * FROM plan_targets_in")
    con.unregister("plan_targets_in")
    sources = pa.table(general_budget_sources or {"region_code": [], "year": [], "fund_source": []},
                       schema=SOURCES_SCHEMA)
    con.register("general_budget_sources_in", sources)
    con.execute("CREATE OR REPLACE TABLE general_budget_sources AS SELECT * FROM general_budget_sources_in")
    con.unregister("general_budget_sources_in")
    sql = views_sql()
    if not sql.strip():
        return
    try:
        with Cursors(con) as cursors:
            made = {}
            for statement in con.extract_statements(sql):
                body = re.sub(r"--[^\n]*", "", statement.query)
                after = [f for name, f in made.items() if re.search(rf"\b{name}\b", body)]
                future = cursors.submit(lambda cursor, query: cursor.execute(query), statement.query, after=after)
                created = _CREATES.search(body)
                made[created.group(1) if created else f"#{len(made)}"] = future
            for future in made.values():
                future.result()
    except duckdb.OutOfMemoryException as exc:
        raise out_of_memory("rules/views.sql", exc) from None
    except Exception as exc:
        raise RuleError(f"rules/views.sql 无法执行：{str(exc).splitlines()[0]}",
                        f"rules/views.sql does not run: {str(exc).splitlines()[0]}") from None


def insert_sheets(con, ledger):
    """Inserts the valid rows of every sheet of a ledger loaded as frames; the ledger."""
    for sheet in ledger.sheets.values():
        insert_frame(con, sheet)
    return ledger


def insert_frame(con, sheet) -> None:
    """Inserts the valid rows of a sheet loaded as a frame; money as exact DECIMAL."""
    name = sheet.name
    money = [c for c in sheet.schema.columns if c.type == "money" and c.name in sheet.frame.columns]
    exact = (f" REPLACE ({', '.join(f'{exact_money_sql(_quoted(c.name), c.limit_yuan)} AS {_quoted(c.name)}' for c in money)})"
             if money else "")
    # As Arrow: DuckDB scans a pandas frame's Arrow-backed text column by column slower than
    # the same columns as an Arrow table (1M rows: 0.45 s against 0.23 s, conversion included).
    try:
        rows = pa.Table.from_pandas(sheet.frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):       # a column of mixed objects: scanned as it is
        rows = sheet.frame
    con.register(f"{name}_in", rows)
    con.execute(f'INSERT INTO "{name}" BY NAME SELECT *{exact} FROM "{name}_in"')
    con.unregister(f"{name}_in")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

class AuditConnection:
    """The audit's DuckDB connection, with its tables, and `prepare(rules)` run beside on
    `pool`, made on the first call. A workbook's audit calls it once the parse child is
    done: DuckDB keeps the memory it takes (the connection and the rules prepared, about
    70 MB), which beside the child's peak would raise the run's."""

    def __init__(self, pool, prepare, memory_limit: str | None, folder: str | None):
        self._pool, self._prepare = pool, prepare
        self._memory_limit, self._folder = memory_limit, folder
        self.con, self.prepared = None, None

    def __call__(self):
        if self.con is None:
            self.prepared = self._pool.submit(self._prepare)
            self.con = connect(self._memory_limit, self._folder)
            create_tables(self.con)
        return self.con

    def close(self) -> None:
        if self.con is not None:
            self.con.close()
