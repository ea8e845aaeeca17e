"""What Spark's errors mean to a run: one line of the JVM's message, and the failures that are
the run's, not the ledger's or a rule's (the driver out of memory, its context stopped by
that), told as such wherever they surface (reading the ledger, a rule, freeing its tables)."""
from __future__ import annotations

import os

from finaudit.errors import LedgerError, one_line as first

DRIVER_MEMORY = "FINAUDIT_SPARK_DRIVER_MEMORY"
DEFAULT_DRIVER_MEMORY = "4g"

# What the JVM says when it has run out of memory, or when its context was stopped under a
# running query (the out-of-memory handler stops it: the next call then finds it stopped).
_STOPPED = ("OutOfMemoryError", "stopped SparkContext", "SparkContext was shut down")


def spark_errors() -> tuple:
    """The exceptions of the JVM (through py4j) and of pyspark. Imported when needed: finaudit
    imports without pyspark installed."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException
    return (Py4JError, PySparkException)


def out_of_memory(exc: BaseException) -> LedgerError | None:
    """The error as the run's lack of memory, or None when it is another."""
    text = str(exc)
    if not any(mark in text for mark in _STOPPED):
        return None
    memory = os.environ.get(DRIVER_MEMORY, DEFAULT_DRIVER_MEMORY)
    return LedgerError(
        f"Spark 内存不足，运行已停止（{first(exc)[:120]}）。在本机模式下可用环境变量 {DRIVER_MEMORY} "
        f"增大驱动程序内存（现为 {memory}），或在集群上运行（--spark-master）。",
        f"Spark ran out of memory and the run stopped ({first(exc)[:120]}). In local mode give the driver "
        f"more with the {DRIVER_MEMORY} environment variable (now {memory}), or run on a cluster (--spark-master).")


def unpersist(frames) -> None:
    """Frees cached frames; a context already stopped (by the error being reported) has
    nothing left to free, and must not replace that error with its own."""
    for frame in frames:
        try:
            frame.unpersist()
        except spark_errors():
            pass
