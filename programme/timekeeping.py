"""Rotating facilitation: who keeps time at a gathering's session this month.

Co-reflection gatherings need no facilitator once running, but someone keeps an eye on the time,
"and this person can vary from gathering to gathering" (seed 001). The rule is fair and needs no
stored order, so it survives people joining and leaving:

1. Only people present this month can be chosen (the caller passes them: the members expected, or
   those who RSVP'd attending).
2. The one who has kept time the fewest times in this group goes first; among those, the one whose
   last turn is longest ago (never counts as longest); so everyone gets a turn before anyone gets
   a second, and a joiner simply has had no turns yet.
3. Remaining ties break on a hash of the group id and the email: a fixed, unbiased order per group
   that does not change when someone else joins or leaves (unlike a position in the member list),
   and does not always favour the same letters of the alphabet in every group.

Asking again for a month already decided returns the same person while they are present. "Month"
here is the session's period (`programme.sessions`): for a group meeting every N weeks, the
session's date, so turns go session by session; periods sort in time order as strings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping


def _tiebreak(group_id: str, email: str) -> str:
    return hashlib.sha256(f"{group_id}\n{email}".encode()).hexdigest()


def timekeeper(group_id: str, month: str, present: Iterable[str], history: Mapping[str, str]) -> str | None:
    """The timekeeper for `month` ("2027-03"); `history` maps earlier months to who kept time then.

    None when nobody is present.
    """
    candidates = sorted(set(present))
    if not candidates:
        return None
    already = history.get(month)
    if already in candidates:
        return already
    turns: dict[str, int] = {}
    last: dict[str, str] = {}
    for earlier, email in history.items():
        if earlier < month:
            turns[email] = turns.get(email, 0) + 1
            last[email] = max(last.get(email, ""), earlier)
    return min(
        candidates,
        key=lambda e: (turns.get(e, 0), last.get(e, ""), _tiebreak(group_id, e)),
    )
