"""The command line: a thin layer over the Python API. Only here do errors become exit codes.

base.py is the frame (group, languages, errors -> exit codes); check.py the audit
commands; catalogue.py the others. Importing the command modules registers them."""
from __future__ import annotations

from finaudit.cli import catalogue, check  # noqa: F401  registers the commands on main
from finaudit.cli.base import EXIT_FAILED, EXIT_FINDINGS, EXIT_OK, main, run, run_guarded
from finaudit.cli.check import write_outputs

__all__ = ["EXIT_FAILED", "EXIT_FINDINGS", "EXIT_OK", "main", "run", "run_guarded", "write_outputs"]
