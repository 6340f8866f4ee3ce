"""Typed commands the use cases take: what a person asked for, validated, never who they are.

Surfaces build them (cards/actions.py parses card payloads into them; a CLI or a tab could too);
identity always comes from the channel, separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

from programme.announcements import AudienceKind
from programme.answers import AbsenceReason, Flag, Goal, RsvpAnswer


class EscalationAction(StrEnum):
    ACKNOWLEDGE = "ack"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class RsvpCommand:
    group: str
    month: str
    answer: RsvpAnswer
    reason: AbsenceReason | None  # set only when not attending
    note: str


@dataclass(frozen=True)
class AttendanceCommand:
    group: str
    month: str
    present: frozenset[str]  # member emails whose toggle was on
    absent: frozenset[str]  # the rest of the register; present | absent is who the card listed


@dataclass(frozen=True)
class CheckoutCommand:
    group: str
    month: str
    helpful: str
    not_helpful: str
    rating: int | None
    flags: frozenset[Flag]


@dataclass(frozen=True)
class PeerRecordCommand:
    round: int
    month: str
    met: bool
    flags: frozenset[Flag]


@dataclass(frozen=True)
class GoalsCommand:
    quarter: str
    goals: tuple[Goal, ...]
    training_needs: str
    capacity_now: int
    capacity_plan: str


@dataclass(frozen=True)
class GoalsOpenCommand:
    quarter: str  # the quarter of the prompt pressed; the card shown is always the current quarter's


@dataclass(frozen=True)
class IntroSendCommand:
    again: bool
    message: str


@dataclass(frozen=True)
class EscalationCommand:
    id: str
    action: EscalationAction


@dataclass(frozen=True)
class AnnounceCommand:
    title: str
    text: str
    audience: AudienceKind
    audience_value: str  # empty unless the audience is a role, weekday or group
    preview: bool


@dataclass(frozen=True)
class GatheringJoinCommand:
    programme: str
    topic: str
    page: int = 1  # the page of the gatherings card it was pressed on, shown again after the join


@dataclass(frozen=True)
class GatheringLeaveCommand:
    programme: str
    page: int = 1


@dataclass(frozen=True)
class GatheringsPageCommand:
    page: int  # 1-based; the use case shows the last page for one past the end


@dataclass(frozen=True)
class ThemesCommand:
    group: str
    month: str
    themes: tuple[str, ...]  # as the card's toggles named them; the use case checks them
    note: str


Command: TypeAlias = (
    RsvpCommand
    | AttendanceCommand
    | CheckoutCommand
    | PeerRecordCommand
    | GoalsCommand
    | GoalsOpenCommand
    | IntroSendCommand
    | EscalationCommand
    | AnnounceCommand
    | GatheringJoinCommand
    | GatheringLeaveCommand
    | GatheringsPageCommand
    | ThemesCommand
)
