from finaudit.cli import run

run()
