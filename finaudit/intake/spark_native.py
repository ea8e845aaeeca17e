"""Reading and validating a Parquet ledger on Apache Spark, where it lives (issue 18 item 3).

The ledger (a folder of one Parquet file per sheet, or of one folder of part files per
sheet as Spark writes them) is read by Spark at any path Spark reads: a local path,
file://, hdfs://, s3a://. The per-cell checks are native_sql.py's SQL, written once for
DuckDB and transpiled by sqlglot; a text column's distinct values (a few hundred where
there are millions of rows) are collected to the driver, mapped by the same Python as
DuckDB's path (native_sql.distinct_map) and sent back as a small table joined in. The
valid rows stay on Spark as the tables the rules read. What comes to the driver: those
distinct values, the counts and control totals (one row per sheet), and the rejected
rows, which become findings (as few as the findings, which are on the driver anyway).
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

import pandas as pd

from finaudit.errors import LedgerError, one_line
from finaudit.findings import Finding
from finaudit.intake.checks import total, totalled
from finaudit.intake.load_findings import defaulted_findings
from finaudit.intake.locations import Url
from finaudit.intake.model import Ledger, changed_while_read, file_state
from finaudit.intake.native import (PARQUET_SUFFIXES, accounted_sheet, rejected_findings, rejected_sql,
                                   sheet_columns)
from finaudit.intake.native_sql import MAP_TYPES, Col, distinct_map, quote, typed_sql
from finaudit.intake.schema import SheetSchema, load_schemas
from finaudit.intake.spark_errors import out_of_memory, spark_errors, unpersist
from finaudit.intake.sheets import claim_sheet, require_sheets, schema_for_name, unknown_sheet_name

_SPARK_NUMBERS = ("ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "DecimalType")


def parquet_sheets(spark, where) -> dict[str, tuple[str, str]] | None:
    """Each sheet's (path Spark reads, name findings cite) when `where` is a Parquet ledger whose
    columns are all numbers or text, else None (a local ledger then goes the general way;
    a URL nothing else reads is refused)."""
    try:
        entries = _entries(spark, where)
        if entries is None and isinstance(where, Url):
            raise LedgerError(f"“{where}”不是 Parquet 台账：Spark 引擎从 URL 只读取 Parquet 台账（每个工作表一个文件或文件夹）。",
                              f"'{where}' is not a Parquet ledger: from a URL the Spark engine reads Parquet ledgers "
                              "only (a file or a folder per sheet).")
        if entries is None:
            return None
        chosen: dict[str, tuple[str, str]] = {}
        for name, full, folder in entries:
            stem = PurePosixPath(name).stem if PurePosixPath(name).suffix.lower() in PARQUET_SUFFIXES else name
            schema = schema_for_name(stem)
            if schema is None:
                if entries == [(name, full, folder)]:      # a single file names its sheet
                    raise unknown_sheet_name(stem, where)
                continue
            claim_sheet({k: v[1] for k, v in chosen.items()}, schema, name, where)
            chosen[schema.name] = (full, name)
        require_sheets(chosen, [e[0] for e in entries], where)
        for schema_name, (full, name) in chosen.items():
            raw = spark.read.parquet(full)
            if any(type(f.dataType).__name__ not in _SPARK_NUMBERS + ("StringType",) for f in raw.schema.fields):
                return _refused(where, name)
            try:
                _columns(load_schemas()[schema_name], raw, name)
            except LedgerError:
                return _refused(where, name)
        return chosen
    except spark_errors() as exc:
        raise _unreadable(where, exc) from None


def _refused(where, name: str) -> None:
    """A sheet Spark's SQL does not type (booleans, dates, years across the columns): a local
    ledger is read the general way and handed over; a URL is read by Spark only."""
    if isinstance(where, Url):
        raise LedgerError(f"“{name}”含有布尔、日期等列或横排的年度，Spark 引擎只能读取数值和文本列。",
                          f"'{name}' has boolean or date columns, or years across the columns; the Spark engine "
                          "reads columns of numbers and text only.")
    return None


def _entries(spark, where) -> list[tuple[str, str, bool]] | None:
    """(name, path, is a folder) of the ledger's Parquet files and sheet folders; None when it
    holds files of other kinds named after sheets (CSV: the general way)."""
    if isinstance(where, Url):
        jvm = spark.sparkContext._jvm
        path = jvm.org.apache.hadoop.fs.Path(str(where))
        fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        status = fs.getFileStatus(path)
        if status.isFile():
            return [(where.name, str(where), False)] if where.suffix.lower() in PARQUET_SUFFIXES else None
        base = str(where).rstrip("/")
        listed = [(s.getPath().getName(), s.isDirectory()) for s in fs.listStatus(path)]
        parts = {n: any(_part(s.getPath().getName()) for s in fs.listStatus(jvm.org.apache.hadoop.fs.Path(f"{base}/{n}")))
                 for n, d in listed if d}
        return _kept([(n, f"{base}/{n}", d, parts.get(n, False)) for n, d in listed])
    if where.is_file():
        return [(where.name, str(where), False)] if where.suffix.lower() in PARQUET_SUFFIXES else None
    if not where.is_dir():
        return None
    listed = sorted(where.iterdir())
    return _kept([(p.name, str(p), p.is_dir(), p.is_dir() and any(_part(q.name) for q in p.iterdir()))
                  for p in listed])


def _part(name: str) -> bool:
    """A data file of a sheet folder (Spark's own _SUCCESS and .crc files are not)."""
    return not name.startswith(("_", ".")) and PurePosixPath(name).suffix.lower() in PARQUET_SUFFIXES


def _kept(listed: list[tuple[str, str, bool, bool]]) -> list[tuple[str, str, bool]] | None:
    out = []
    for name, full, folder, has_parts in sorted(listed):
        stem = PurePosixPath(name).stem if PurePosixPath(name).suffix.lower() in PARQUET_SUFFIXES else name
        if name.startswith((".", "_", "~$")) or schema_for_name(stem) is None:
            continue
        if folder and not has_parts:
            continue
        if not folder and PurePosixPath(name).suffix.lower() not in PARQUET_SUFFIXES:
            return None
        out.append((name, full, folder))
    return out or None


def load(spark, where, sheets: dict[str, tuple[str, str]], table_types: dict[str, list[tuple[str, str]]]
         ) -> tuple[Ledger, list]:
    """Reads and validates the ledger on `spark` (a session of this audit's own) and registers
    each sheet's valid rows as a temporary view named after it, typed as DuckDB's table
    (`table_types`: sheet -> [(column, DuckDB type)]); returns the Ledger and the cached frames."""
    before = None if isinstance(where, Url) else file_state(where)
    cached, findings, loaded = [], [], {}
    try:
        for name in sheets:             # in the files' order, as native.py loads them
            sheet, found, frame = _load_sheet(spark, load_schemas()[name], *sheets[name], table_types[name])
            loaded[name], cached = sheet, cached + [frame]
            findings += found
        for name in load_schemas():
            if name not in sheets:
                _empty(spark, name, table_types[name])
    except spark_errors() as exc:
        unpersist(cached)
        raise _unreadable(where, exc) from None
    if before is not None and file_state(where) != before:
        raise changed_while_read(where)
    # A URL's bytes are not read on the driver: its ledger has no digest (sha256 is null).
    return Ledger(path=where, sheets=loaded, findings=findings, digest=None), cached


def years_written(spark, where, sheets: dict[str, tuple[str, str]], names) -> set[int]:
    """The years the year cells of the sheets `names` hold, typed and checked as the load does
    (their distinct values: one column read): a year none holds is refused before the ledger
    is read. A year here may still have no valid row (a cell of its rows is wrong elsewhere):
    the audit's own check follows the read."""
    years: set[int] = set()
    try:
        for name in (n for n in names if n in sheets):
            schema, (path, shown) = load_schemas()[name], sheets[name]
            raw = spark.read.parquet(path)
            cols, _, _ = _columns(schema, raw, shown)
            for col in (c for c in cols if c.column.name == "year"):
                quoted = "`" + col.source.replace("`", "``") + "`"      # a header's "." is no struct field
                distinct = _arrow_df(raw.select(quoted).distinct().toArrow()).iloc[:, 0]
                mapped = distinct_map(schema, col, distinct)      # None: every value as it is
                valid = distinct if mapped is None else mapped.loc[mapped["reason"].isna(), "value"]
                years |= {int(v) for v in valid.dropna()}
    except spark_errors() as exc:
        raise _unreadable(where, exc) from None
    return years


def _columns(schema: SheetSchema, raw, name: str):
    """native.sheet_columns of a Spark frame read from a sheet's Parquet file(s)."""
    fields = raw.schema.fields
    return sheet_columns(schema, [f.name for f in fields], [type(f.dataType).__name__ in _SPARK_NUMBERS for f in fields],
                         name)


def _load_sheet(spark, schema: SheetSchema, path: str, name: str, types: list[tuple[str, str]]):
    raw = spark.read.parquet(path)
    cols, units, ignored = _columns(schema, raw, name)
    src, typed = f"src_{schema.name}", f"typed_{schema.name}"
    _source(spark, raw).createOrReplaceTempView(src)
    texts = [c for c in cols if not c.numeric]
    for col, distinct in zip(texts, _distinct(spark, src, texts)):
        _map_distinct(spark, schema, col, distinct)
    # Computed once and kept on the executors, its plan cut there: each rule's query then plans
    # over a stored table, not over the file scan, the joins and the checks again (twice as slow)
    frame = spark.sql(_spark(typed_sql(schema, src, cols, units))).localCheckpoint(eager=True)
    frame.createOrReplaceTempView(typed)
    bad = rejected_sql(cols)
    valid = f"NOT _blank AND NOT _subtotal AND NOT ({bad})"
    sums = totalled(schema, {c.column.name for c in cols})
    # one pass over the rows for the accounting and the control totals of the valid rows
    counts = spark.sql(_spark(
        f"SELECT count(*), count(*) FILTER (WHERE _blank), count(*) FILTER (WHERE NOT _blank AND (_subtotal OR {bad})), "
        f"count(*) FILTER (WHERE {valid})"
        + "".join(f", sum({quote(c.name)}) FILTER (WHERE {valid})" for c in sums) + f" FROM {typed}")).collect()[0]
    sheet = accounted_sheet(schema, path, name, cols, units, ignored, tuple(int(v) for v in counts[:4]))
    rejected = sheet.rows_rejected
    sheet.set_totals({c.name: total(c, v) for c, v in zip(sums, counts[4:])})
    found = defaulted_findings(schema, name, {c.column.name for c in cols}, sheet.rows_read)
    if rejected:
        rows = _df(spark.sql(_spark(f"SELECT * FROM {typed} WHERE NOT _blank AND (_subtotal OR {bad}) ORDER BY _row")))
        subtotals = [int(r) for r in rows.loc[rows["_subtotal"], "_row"]]
        raw_text = pd.DataFrame()
        if subtotals:
            selects = ", ".join(f"{quote(c.source)} AS {quote(c.column.name)}" for c in cols)
            raw_text = _df(spark.sql(_spark(f"SELECT file_row_number + 2 AS _row, {selects} FROM {src} "
                                            f"WHERE file_row_number + 2 IN ({', '.join(map(str, subtotals))})"))
                           ).set_index("_row")
        found += rejected_findings(schema, sheet, cols, rows, raw_text)
    table = spark.sql(_spark(_table_sql(schema, cols, types, typed, valid))).localCheckpoint(eager=True)
    table.createOrReplaceTempView(schema.name)
    spark.catalog.dropTempView(typed)   # its rows go when Spark collects them: the table has what the rules read
    return sheet, found, table


def _source(spark, raw):
    """The sheet's rows with `file_row_number` as DuckDB's read_parquet gives it: the row's
    place in the file, counted on across a folder's part files in name order."""
    from pyspark.sql import functions as F

    meta = raw.select("*", F.col("_metadata.file_path").alias("_file"), F.col("_metadata.row_index").alias("_index"))
    files = sorted(raw.inputFiles())
    if len(files) <= 1:
        return meta.withColumn("file_row_number", F.col("_index")).drop("_file", "_index")
    counts = dict(meta.groupBy("_file").count().collect())       # one row per part file
    offsets, at = [], 0
    for file in sorted(counts):
        offsets.append((file, at))
        at += counts[file]
    table = raw.sparkSession.createDataFrame(offsets, "_file string, _offset long")
    return (meta.join(F.broadcast(table), "_file").withColumn("file_row_number", F.col("_offset") + F.col("_index"))
            .drop("_file", "_index", "_offset"))


def _distinct(spark, src: str, cols: list[Col]) -> list:
    """Each column's distinct values (NULL among them when a cell is empty) as an Arrow array of
    the file's type: one job for the sheet, not one a column."""
    import pyarrow as pa

    if not cols:
        return []
    parts = [f"collect_set({quote(c.source)}) AS d{i}, max(CASE WHEN {quote(c.source)} IS NULL THEN 1 ELSE 0 END) AS n{i}"
             for i, c in enumerate(cols)]
    row = spark.sql(_spark(f"SELECT {', '.join(parts)} FROM {src}")).toArrow()
    out = []
    for i in range(len(cols)):
        values = row.column(f"d{i}")[0].values
        out.append(pa.concat_arrays([values, pa.nulls(1, values.type)]) if row.column(f"n{i}")[0].as_py() else values)
    return out


def _map_distinct(spark, schema: SheetSchema, col: Col, values) -> None:
    """native_sql.map_distinct on Spark: the distinct `values` mapped here, their map sent back."""
    import pyarrow as pa

    distinct = pa.table({"raw": values})
    frame = distinct_map(schema, col, _arrow_df(distinct)["raw"])
    if frame is None:
        return
    arrow_type = {"INTEGER": pa.int32(), "BIGINT": pa.int64(), "DOUBLE": pa.float64()}.get(
        MAP_TYPES.get(col.column.type), pa.string())
    value = frame["value"].astype(object).where(frame["value"].notna(), None)
    table = pa.table({
        "raw": distinct.column("raw"), "value": pa.array(value.tolist(), type=arrow_type),
        "idx": pa.array(frame["idx"].tolist(), type=pa.int64()),
        "reason": pa.array(frame["reason"].tolist(), type=pa.string()),
        "blank": pa.array(frame["blank"].tolist(), type=pa.bool_()),
        "subtotal": pa.array(frame["subtotal"].tolist(), type=pa.bool_())})
    spark.createDataFrame(table).createOrReplaceTempView(f"map_{schema.name}_{col.column.name}")


def _table_sql(schema: SheetSchema, cols: list[Col], types: list[tuple[str, str]], typed: str, valid: str) -> str:
    """The valid rows as DuckDB's table of the sheet: its columns and types, the defaults of
    the columns the file lacks (native._insert's), `_row`."""
    present = {c.column.name for c in cols}
    defaults = {c.name: c.default for c in schema.columns}
    selects = []
    for column, sql_type in types:
        if column in present or column == "_row":
            value = quote(column)
        elif defaults.get(column) is not None:
            value = "'" + defaults[column].replace("'", "''") + "'"
        else:
            value = "NULL"
        selects.append(f"CAST({value} AS {sql_type}) AS {quote(column)}")
    return f"SELECT {', '.join(selects)} FROM {typed} WHERE {valid}"


def _empty(spark, name: str, types: list[tuple[str, str]]) -> None:
    nulls = ", ".join(f"CAST(NULL AS {t}) AS {quote(c)}" for c, t in types)
    spark.sql(_spark(f"SELECT {nulls} WHERE false")).createOrReplaceTempView(name)


def _spark(sql: str) -> str:
    import sqlglot
    return sqlglot.transpile(sql, read="duckdb", write="spark", unsupported_level=sqlglot.ErrorLevel.RAISE)[0]


def _df(frame) -> pd.DataFrame:
    return _arrow_df(frame.toArrow())


def _arrow_df(table) -> pd.DataFrame:
    """A (small) Arrow result as DuckDB's .df() gives it: the frames the findings are made of
    have the dtypes of the DuckDB path, so both make the same findings."""
    import duckdb
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        return con.from_arrow(table).df()
    finally:
        con.close()


def _unreadable(where, exc: Exception) -> LedgerError:
    return out_of_memory(exc) or LedgerError(f"Spark 无法读取 Parquet 台账“{where}”：{one_line(exc)}",
                                             f"Spark cannot read the Parquet ledger '{where}': {one_line(exc)}")
