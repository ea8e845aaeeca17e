"""Stage 1 of the flow: untrusted files in, validated ledgers out (guard, readers, headers,
normalise, validate, the pandas load and the native Parquet load)."""
