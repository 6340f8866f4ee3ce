"""The store's one error type."""


class StoreError(Exception):
    """Data that cannot be used as asked: unreadable file, newer schema, bad name or document."""
