"""Stage 3: a run over one ledger or many (discovery, the runner, the one Result, the
findings document and its manifest, history, verify)."""
