"""Pure rules of a programme month: who may act, answer windows, announcement audiences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from programme.announcements import Audience, AudienceKind, resolve_audience
from programme.errors import NotAllowedError, UnknownAudienceError
from programme.model import Group, Person
from programme.policies import (
    Permission,
    Role,
    actor_for,
    led_groups,
    may_act_on,
    may_use,
    require,
    require_coordinator,
    require_leader,
    require_member,
    require_self,
    roles_of,
)
from programme.sessions import attendance_open, month_key, next_session, rsvp_open, session_in_month
from programme.settings import ProgrammeSettings

FAY = Person("fay@x.org", "Fay", "Coach", facilitator=True)
ANN = Person("ann@x.org", "Ann", "Coach")
BO = Person("bo@x.org", "Bo", "Coach")
CY = Person("cy@x.org", "Cy", "Advisor", coordinator=True)
GONE = Person("gone@x.org", "Gone", "Coach", left_on=datetime(2026, 1, 1, tzinfo=UTC).date())
LED = Group("thu-coach-1", "Coach, Thursday 1", 3, "Coach", "fay@x.org", ("ann@x.org", "gone@x.org"))
ROTATING = Group("tue-coach-1", "Coach, Tuesday 1", 1, "Coach", None, ("bo@x.org", "cy@x.org"))
GROUPS = [LED, ROTATING]
PEOPLE = [FAY, ANN, BO, CY, GONE]


def test_only_the_facilitator_leads_a_group_coordinators_oversee_it() -> None:
    require_leader(actor_for(FAY, GROUPS), LED)
    # "Only a group's facilitator takes its attendance": a coordinator oversees, runs no session.
    with pytest.raises(NotAllowedError, match="That's for facilitators"):
        require_leader(actor_for(CY, GROUPS), LED)
    require(Permission.OVERSEER, actor_for(CY, GROUPS), LED)
    with pytest.raises(NotAllowedError):
        require_leader(actor_for(ANN, GROUPS), LED)
    # In a rotating group any member runs the session.
    require_leader(actor_for(BO, GROUPS), ROTATING)
    with pytest.raises(NotAllowedError):
        require_leader(actor_for(FAY, GROUPS), ROTATING)


def test_who_runs_a_session_and_what_each_person_is_offered() -> None:
    fay, ann, bo, cy = (actor_for(p, GROUPS) for p in (FAY, ANN, BO, CY))
    assert led_groups(fay) == (LED,) and led_groups(bo) == (ROTATING,) and led_groups(ann) == ()
    # A member of a rotating group runs its sessions but sends no facilitator's introductions.
    assert may_use(Permission.LEADER, bo) and not may_use(Permission.FACILITATOR, bo)
    assert may_act_on(Permission.LEADER, bo, ROTATING) and not may_act_on(Permission.LEADER, bo, LED)
    # A coordinator oversees every group (`coming`) but runs only the sessions they lead.
    assert may_act_on(Permission.OVERSEER, cy, LED) and not may_act_on(Permission.LEADER, cy, LED)
    assert not any(may_use(p, ann) for p in (Permission.LEADER, Permission.OVERSEER, Permission.COORDINATOR))
    # A roster facilitator with no group yet is welcomed as one, but has no group to run.
    zed = actor_for(Person("zed@x.org", "Zed", "Coach", facilitator=True), GROUPS)
    assert Role.FACILITATOR in roles_of(zed) and not may_use(Permission.LEADER, zed)
    assert roles_of(bo) == {Role.PARTICIPANT} and roles_of(cy) == {Role.PARTICIPANT, Role.COORDINATOR}


def test_people_answer_only_for_themselves_and_their_groups() -> None:
    ann = actor_for(ANN, GROUPS)
    require_self(ann, "ann@x.org")
    require_member(ann, LED)
    with pytest.raises(NotAllowedError):
        require_self(ann, "bo@x.org")
    with pytest.raises(NotAllowedError):
        require_member(ann, ROTATING)
    with pytest.raises(NotAllowedError):
        require_coordinator(ann)
    require_coordinator(actor_for(CY, GROUPS))


def test_answer_windows() -> None:
    settings = ProgrammeSettings()
    session = session_in_month(LED, "2026-12", settings)  # Thursday 10 December 10:00-11:30 GMT
    assert rsvp_open(session, session.start - timedelta(seconds=1))
    assert not rsvp_open(session, session.start)
    assert not attendance_open(session, session.start - timedelta(minutes=1))
    assert attendance_open(session, session.start)
    assert attendance_open(session, session.end + timedelta(days=7))
    assert not attendance_open(session, session.end + timedelta(days=7, seconds=1))


def test_next_session_rolls_over_after_the_end() -> None:
    settings = ProgrammeSettings()
    december = session_in_month(LED, "2026-12", settings)
    assert next_session(LED, december.end - timedelta(minutes=1), settings) == december
    assert month_key(next_session(LED, december.end, settings).start.date()) == "2027-01"


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (Audience(AudienceKind.EVERYONE), ["ann@x.org", "bo@x.org", "cy@x.org", "fay@x.org"]),
        (Audience(AudienceKind.FACILITATORS), ["fay@x.org"]),
        (Audience(AudienceKind.ROLE, "coach"), ["ann@x.org", "bo@x.org", "fay@x.org"]),
        (Audience(AudienceKind.WEEKDAY, "Tue"), ["bo@x.org", "cy@x.org"]),
        (Audience(AudienceKind.GROUP, "thu-coach-1"), ["ann@x.org", "fay@x.org"]),
        (Audience(AudienceKind.GROUP, "Coach, Tuesday 1"), ["bo@x.org", "cy@x.org"]),
    ],
)
def test_audiences_reach_active_people_only(audience: Audience, expected: list[str]) -> None:
    assert resolve_audience(audience, PEOPLE, GROUPS) == expected


@pytest.mark.parametrize(
    "audience",
    [
        Audience(AudienceKind.ROLE, "Astronaut"),
        Audience(AudienceKind.WEEKDAY, "Funday"),
        Audience(AudienceKind.WEEKDAY, "Friday"),
        Audience(AudienceKind.GROUP, "nope"),
    ],
)
def test_unknown_audiences_are_errors_not_empty_sends(audience: Audience) -> None:
    with pytest.raises(UnknownAudienceError):
        resolve_audience(audience, PEOPLE, GROUPS)
