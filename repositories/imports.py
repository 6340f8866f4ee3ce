"""A record of each roster import: when, which file, and how many people it changed."""

from __future__ import annotations

from datetime import datetime

from programme.roster import RosterChange
from repositories.personal import PersonalTable, nothing
from store import Store

IMPORTS = "roster_imports"


class RosterImportsRepository:
    """One small record per import (no personal data)."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(IMPORTS)

    def record(self, filename: str, now: datetime, change: RosterChange) -> None:
        """Remember an import."""
        self._collection.put(
            now.isoformat(),
            {
                "file": filename,
                "at": now.isoformat(),
                "added": len(change.added),
                "updated": len(change.updated),
                "left": len(change.left),
                "unchanged": change.unchanged,
            },
        )


# Counts and file names only: nothing to show or erase (a mention would still be redacted).
PERSONAL_TABLES = (PersonalTable(IMPORTS, nothing),)
