"""Stage 4: the outputs of a Result (text, SARIF, CSV, HTML with charts, annotated workbook),
sharing labels.py and importing no other renderer."""
