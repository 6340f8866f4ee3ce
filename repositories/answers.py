"""Logs of answers per period (RSVPs, registers, check-outs, peer meetings, goals).

Each answer log is partitioned by month (or quarter) and sharded by key, so recording one answer
rewrites a few hundred of that period's records, whatever the size of the organisation.
"""

from __future__ import annotations

from store import PartitionedLog, Store

ANSWER_SHARDS = 32  # ~300 answers a shard for a month of 20,000 staff


def answers_log(store: Store, name: str) -> PartitionedLog:
    """The answer log `name` (created with ANSWER_SHARDS shards if new)."""
    return store.log(name, new_shards=ANSWER_SHARDS)
