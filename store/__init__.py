"""Durable TinyDB-backed storage: the only package that imports tinydb."""

from store.database import Collection, PartitionedLog, Store
from store.errors import StoreError
from store.migrations import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Collection", "PartitionedLog", "Store", "StoreError"]
