"""Who kept time at a gathering's sessions: the history `programme.timekeeping` takes turns from.

One record per group (group ids are unique across programmes), "group" -> {"months": {month: email}};
a month's entry changes only when its timekeeper can no longer come.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from repositories.personal import PersonalTable, Subject
from store import Store

TIMEKEEPERS = "timekeepers"  # group id -> months: {"2027-03": email}
Doc = dict[str, Any]


class TimekeepersRepository:
    """Each group's timekeepers by month."""

    def __init__(self, store: Store) -> None:
        self._collection = store.collection(TIMEKEEPERS)

    def history(self, group_id: str) -> dict[str, str]:
        """Month -> who kept time (or keeps it), for one group."""
        doc = self._collection.get(group_id) or {}
        months = doc.get("months") or {}
        return {str(month): str(email) for month, email in months.items()}

    def record(self, group_id: str, month: str, email: str) -> None:
        """Set who keeps time at a group's session in `month`."""
        months: Mapping[str, str] = self.history(group_id)
        self._collection.put(group_id, {"months": {**months, month: email}})


def _their_turns(key: str, doc: Doc, subject: Subject) -> Doc | None:
    mine = sorted(m for m, email in (doc.get("months") or {}).items() if subject.identity.is_email(email))
    return {"group": key, "kept_time": mine} if mine else None


# Erasure keeps the turns (they decide who is next) with the placeholder in the person's place.
PERSONAL_TABLES = (PersonalTable(TIMEKEEPERS, _their_turns),)
