"""Repositories: the only code that knows table names, key formats and how records map to documents.

Use cases call these with domain records; a PostgreSQL backend would implement the same classes'
methods over its own tables. Reads that a bot turn makes are in-memory lookups, kept current by
each collection's generation counter, so another process's writes are seen without re-reading
everything.
"""
