"""Beside the flow: what is generated from schemas/ and rules/ for people who fill in or read
a ledger (the blank template workbook, rule and profile documentation)."""
