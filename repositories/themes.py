"""Systemic themes recorded after sessions (seeds 000, 003), kept by quarter.

A log partitioned by quarter ("2027-Q1"), keyed "programme/group/month": one record per group
session, replaced when the session's leader corrects it. A record names no member; who recorded it
(`recorded_by`) is kept for the person's export and is never shown to coordinators. The note is
free text: the retention job blanks notes recorded before the `free_text_retention_days` cutoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from programme.privacy import written_before
from programme.reports import quarter_of
from programme.themes import ThemeRecord
from repositories.personal import PersonalTable, Subject
from store import PartitionedLog, Store

THEMES = "session_themes"  # by quarter: "programme/group/month" -> themes, note, recorded_by, recorded_at
_SHARDS = 4
Doc = dict[str, Any]


def _key(programme_id: str, group_id: str, month: str) -> str:
    return f"{programme_id}/{group_id}/{month}"


def theme_to_doc(record: ThemeRecord, recorded_by: str, recorded_at: datetime) -> Doc:
    """A session's themes as a store document."""
    return {
        "programme": record.programme_id,
        "group": record.group_id,
        "month": record.month,
        "themes": list(record.themes),
        "note": record.note,
        "recorded_on": record.recorded_on.isoformat(),
        "recorded_by": recorded_by,
        "recorded_at": recorded_at.isoformat(),
    }


def theme_from_doc(doc: Mapping[str, Any]) -> ThemeRecord:
    """A session's themes from a store document (a blanked note reads as none)."""
    return ThemeRecord(
        programme_id=str(doc["programme"]),
        group_id=str(doc["group"]),
        month=str(doc["month"]),
        themes=tuple(str(t) for t in doc.get("themes") or ()),
        note=doc.get("note") or None,
        recorded_on=date.fromisoformat(str(doc["recorded_on"])),
    )


class ThemesRepository:
    """Themes by quarter; the log is created on the first record (reading never creates it)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _log(self) -> PartitionedLog:
        return self._store.log(THEMES, new_shards=_SHARDS)

    def _existing(self) -> PartitionedLog | None:
        return self._log() if self._store.has_log(THEMES) else None

    def get(self, programme_id: str, group_id: str, month: str) -> ThemeRecord | None:
        """The themes recorded for one group's session, if any."""
        log = self._existing()
        if log is None:
            return None
        doc = log.get(quarter_of(month), _key(programme_id, group_id, month))
        return theme_from_doc(doc) if doc is not None else None

    def put(self, record: ThemeRecord, recorded_by: str, recorded_at: datetime) -> None:
        """Record (or correct) a session's themes."""
        key = _key(record.programme_id, record.group_id, record.month)
        self._log().put(quarter_of(record.month), key, theme_to_doc(record, recorded_by, recorded_at))

    def quarters(self) -> list[str]:
        """Quarters with records, oldest first."""
        log = self._existing()
        return sorted(log.periods()) if log is not None else []

    def of_quarter(self, quarter: str) -> list[ThemeRecord]:
        """Every record of a quarter."""
        log = self._existing()
        if log is None or quarter not in log.periods():
            return []
        return [theme_from_doc(doc) for _, doc in sorted(log.all(quarter).items())]

    def all(self) -> list[ThemeRecord]:
        """Every record, oldest quarter first."""
        return [record for quarter in self.quarters() for record in self.of_quarter(quarter)]


def purge_free_text(store: Store, cutoff: datetime) -> int:
    """Blank the notes of records written before `cutoff` (the themes stay); returns records changed.

    Each quarter is rewritten in its own short transaction, like the answers' retention.
    """
    if not store.has_log(THEMES):
        return 0
    log = store.log(THEMES)
    changed = 0
    for period in log.periods():
        with store.transaction():
            updates = {
                key: {**doc, "note": None}
                for key, doc in log.all(period).items()
                if doc.get("note") and written_before(doc.get("recorded_at"), cutoff)
            }
            log.put_many(period, updates)
        changed += len(updates)
    return changed


def _recorded_by_them(key: str, doc: Doc, subject: Subject) -> Doc | None:
    # The themes are the group's, not the person's: their export says which sessions they recorded.
    if not subject.identity.is_email(doc.get("recorded_by")):
        return None
    return {k: doc.get(k) for k in ("programme", "group", "month", "themes", "note", "recorded_at")}


# Erasure keeps the record (the organisation's themes) with the placeholder as who recorded it.
PERSONAL_TABLES = (PersonalTable(THEMES, _recorded_by_them),)
