"""The vocabulary of what people answer: RSVP answers, absence reasons, flags, goals.

Most answers are confidential: absence reasons go to coordinators only, check-out text to nobody,
flags to the people circle as escalations, private goals to nobody but their owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class RsvpAnswer(StrEnum):
    ATTENDING = "attending"
    NOT_ATTENDING = "not_attending"
    MAYBE = "maybe"


class AbsenceReason(StrEnum):
    ANNUAL_LEAVE = "annual_leave"
    SICKNESS = "sickness"
    OTHER = "other"


class Flag(StrEnum):
    """Difficulties that escalate to the people circle (coordinators), in confidence."""

    OVERWORKED = "overworked"
    STRESSED = "stressed"
    NEEDS_SUPPORT = "needs_support"
    STRUGGLING = "struggling"
    CONFLICT = "conflict_with_colleague"


FLAG_LABELS = {
    Flag.OVERWORKED: "Overworked",
    Flag.STRESSED: "Stressed",
    Flag.NEEDS_SUPPORT: "Needs support",
    Flag.STRUGGLING: "Struggling",
    Flag.CONFLICT: "In conflict with a colleague",
}
REASON_LABELS = {
    AbsenceReason.ANNUAL_LEAVE: "Annual leave",
    AbsenceReason.SICKNESS: "Sickness",
    AbsenceReason.OTHER: "Other",
}


class EscalationStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Goal:
    text: str
    shared: bool  # private goals are seen by their owner only
