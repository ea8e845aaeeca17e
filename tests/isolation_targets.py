"""Child-process work for tests/test_isolation.py: module-level so a forkserver child can
import it by name. Each does to its process what a hostile file does to a reader."""
from __future__ import annotations

import os
import sys
import time


def aborts():
    sys.stderr.write("memory allocation of 549755813888 bytes failed\n")
    sys.stderr.flush()
    os.abort()


def crashes():
    os.abort()


class FakePanic(BaseException):
    """Shaped like pyo3's PanicException: not an Exception."""


def panics():
    raise FakePanic("index out of bounds: the len is 3 but the index is 4294967295")


def allocates(n: int):
    return len(bytearray(n))


def spins():
    while True:
        pass


def sleeps():
    time.sleep(3600)


def sleeps_noting_pid(path):
    with open(path + ".part", "w") as fh:
        fh.write(str(os.getpid()))
    os.replace(path + ".part", path)            # whole when seen
    time.sleep(3600)


def loaded(names):
    return sorted(name for name in names if name in sys.modules)


def reads_noting_modules(path, names):
    from pathlib import Path

    from finaudit.intake.readers import read_ledger

    read_ledger(Path(path), scan_beside=True, arrow=True)     # as the parse child reads an xlsx
    return loaded(names)


def sleeps_instead_of_reading(path, folders):
    time.sleep(3600)


def answers(x):
    return {"x": x}


def setting(name):
    return os.environ.get(name)


def cwd():
    return os.getcwd()


def dies_reading(path: str, folders: list):
    """isolation._read_saved's shape: a reader that aborts before the guard's scan beside it ends."""
    os.abort()
