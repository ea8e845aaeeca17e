"""What Spark's errors mean to a run: the failures that are Spark's own, not the ledger's
cells' or a rule's SQL (the driver out of memory, its context stopped), told as such wherever
they surface (reading the ledger, a rule, a small question, freeing its tables). Each stops
the audit of the ledger with a LedgerError, one line, as any ledger that cannot be audited."""
from __future__ import annotations

import os

from finaudit.errors import LedgerError, one_line

DRIVER_MEMORY = "FINAUDIT_SPARK_DRIVER_MEMORY"
DEFAULT_DRIVER_MEMORY = "4g"

_STOPPED = ("stopped SparkContext", "SparkContext was shut down", "Answer from Java side is empty")


def spark_errors() -> tuple:
    """The exceptions of the JVM (through py4j) and of pyspark. Imported when needed: finaudit
    imports without pyspark installed."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException
    return (Py4JError, PySparkException)


def out_of_memory(exc: BaseException) -> LedgerError | None:
    """The error as Spark's own failure: the JVM out of memory, or its context stopped (by
    that, by its owner, or with the JVM gone); None when it is another."""
    text = str(exc)
    if "OutOfMemoryError" in text:
        memory = os.environ.get(DRIVER_MEMORY, DEFAULT_DRIVER_MEMORY)
        return LedgerError(
            f"Spark 内存不足，运行已停止（{one_line(exc, 120)}）。在本机模式下可用环境变量 {DRIVER_MEMORY} "
            f"增大驱动程序内存（现为 {memory}），或在集群上运行（--spark-master）。",
            f"Spark ran out of memory and the run stopped ({one_line(exc, 120)}). In local mode give the driver "
            f"more with the {DRIVER_MEMORY} environment variable (now {memory}), or run on a cluster (--spark-master).")
    if any(mark in text for mark in _STOPPED):
        return LedgerError(
            f"Spark 会话已停止，无法继续审计（{one_line(exc, 120)}）；常见原因是内存不足（本机模式见环境变量 "
            f"{DRIVER_MEMORY}）。请重新运行。",
            f"The Spark session has stopped, so the audit cannot go on ({one_line(exc, 120)}); most often it ran "
            f"out of memory (in local mode see the {DRIVER_MEMORY} environment variable). Run again.")
    return None


def unpersist(frames) -> None:
    """Frees cached frames; a context already stopped (by the error being reported) has
    nothing left to free, and must not replace that error with its own."""
    for frame in frames:
        try:
            frame.unpersist()
        except spark_errors():
            pass
