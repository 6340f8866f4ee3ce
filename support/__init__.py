"""Utilities with no domain knowledge: retry, rate limits, atomic files, journals, settings files.

Everything above may import these; they import nothing of ours but `programme` (settings types).
"""
