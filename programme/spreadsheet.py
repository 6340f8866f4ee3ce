"""Text cells in the CSV files the product writes, made safe to open in a spreadsheet.

A cell starting with `=`, `+`, `-` or `@` (or a tab or carriage return, which some spreadsheets
skip before reading one) is taken as a formula by Excel, LibreOffice and Google Sheets: a roster
name like `=HYPERLINK(...)` would run when a coordinator opens the report (CSV injection, OWASP).
Such values are kept as data everywhere else, and only prefixed with a single quote in CSV cells,
which spreadsheets show as text and do not evaluate. Numbers the product writes itself are not
text cells and are written as they are.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """`value` as a CSV text cell that no spreadsheet evaluates as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value
