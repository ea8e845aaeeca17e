"""Stage 2: the rules run on a loaded ledger (DuckDB session, rule catalogue and queries,
profiles, outcomes -> findings, summary)."""
