"""Card builders and parse_action: valid 1.5 cards, confidential content kept out, and round trips.

Round trips press a button on the built card the way Teams does: the action's `data` merged with
the values of the inputs it gathers (its own card and, inside a shown card, the parents), so a
mismatch between a builder's input ids and the parser fails here rather than in Teams.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from cards.actions import BadActionError, parse_action
from cards.announcements import (
    build_announcement_card,
    build_announcement_composer_card,
    build_announcement_result_card,
)
from cards.common import CardJson
from cards.escalations import build_escalation_card
from cards.gatherings import build_gatherings_card
from cards.peers import (
    build_goals_card,
    build_goals_prompt_card,
    build_goals_recorded_card,
    build_pair_intro_card,
    build_peer_check_card,
    build_peer_nudge_card,
    build_peer_recorded_card,
)
from cards.protocol import DATA_KEYS, Verb
from cards.rsvp import build_introduction_card, build_rsvp_card
from cards.session import (
    WHO_SEES_CHECKOUT,
    build_attendance_card,
    build_checkout_card,
    build_checkout_thanks_card,
    build_intro_console_card,
    build_session_roster_card,
)
from cards.themes import build_themes_card, build_themes_overview_card
from cards.welcome import (
    build_error_card,
    build_help_card,
    build_not_on_roster_card,
    build_refused_card,
    build_welcome_card,
)
from programme.announcements import AudienceKind
from programme.answers import REASON_LABELS, AbsenceReason, EscalationStatus, Flag, Goal, RsvpAnswer
from programme.errors import ProgrammeError
from service.commands import (
    AnnounceCommand,
    AttendanceCommand,
    CheckoutCommand,
    EscalationAction,
    EscalationCommand,
    GatheringJoinCommand,
    GatheringLeaveCommand,
    GoalsCommand,
    IntroSendCommand,
    PeerRecordCommand,
    RsvpCommand,
    ThemesCommand,
)
from service.gatherings import PER_PAGE
from service.views import (
    AnnouncementDraft,
    AnnouncementResultView,
    AnnouncementView,
    AttendanceMember,
    AttendanceView,
    ConsoleGroup,
    EscalationView,
    GatheringsView,
    GatheringView,
    GoalsRecord,
    GoalsView,
    IntroConsoleView,
    IntroductionView,
    PairIntroView,
    PairPeer,
    PeerCheckView,
    PeerGoals,
    QuarterThemesView,
    Role,
    RosterEntry,
    RosterView,
    RsvpView,
    SessionInfo,
    ThemeCountView,
    ThemesFormView,
    WelcomeView,
)
from tests.card_reading import actions, facts_of, walk
from tests.test_cards_schema import input_ids, serialised_size, validate_card

LONG = ("Reflective practice means pausing to notice what happened and why. " * 30)[:2000]
TEAMS_LINK = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0"
SESSION = SessionInfo(
    group_id="g7",
    group_name="Health Coaches with other 1-2-1 deliverers",
    month="2026-11",
    when="Thursday 12 November 2026, 10:00-11:30",
    teams_link=TEAMS_LINK,
)
ANSWERS = [RsvpAnswer.ATTENDING] * 3 + [RsvpAnswer.MAYBE, RsvpAnswer.NOT_ATTENDING, RsvpAnswer.NOT_ATTENDING]
MEMBERS = tuple(
    AttendanceMember(
        email=f"member{i}@example.org",
        name=f"Member {i} Alexandra Montgomery-Fitzwilliam",
        rsvp=(ANSWERS + [None, None])[i],
    )
    for i in range(8)
)


def roster_entries() -> tuple[RosterEntry, ...]:
    reasons = [None, None, None, None, AbsenceReason.SICKNESS, AbsenceReason.ANNUAL_LEAVE, None, None]
    return tuple(
        RosterEntry(
            name=m.name,
            answer=m.rsvp,
            reason=reasons[i],
            note=f"PRIVATE-NOTE-{i} " + LONG[:300] if m.rsvp is RsvpAnswer.NOT_ATTENDING else "",
        )
        for i, m in enumerate(MEMBERS)
    )


def escalation(
    status: EscalationStatus = EscalationStatus.OPEN, handled_by: str | None = None
) -> EscalationView:
    return EscalationView(
        id="esc-42",
        raised_by="Ann Lee",
        about="Bob Smith",
        source="peer",
        flags=frozenset({Flag.STRESSED, Flag.OVERWORKED}),
        raised_when="Tuesday 3 November 2026, 14:05",
        status=status,
        handled_by=handled_by,
    )


PEER_VIEW = PeerCheckView(round=3, month="2026-11", peers=("Bob Smith",))
GOALS_VIEW = GoalsView(quarter="2027-Q1", peers=("Bob Smith",))
PEER_VARIANTS = {
    "probation": dataclasses.replace(PEER_VIEW, receives_only=True),
    "supporting": dataclasses.replace(PEER_VIEW, supporting=("Bob Smith",)),
    "answered": dataclasses.replace(PEER_VIEW, met=True, flags=frozenset({Flag.STRESSED, Flag.OVERWORKED})),
}
GOALS_FILLED = GoalsView(
    quarter="2027-Q1",
    peers=("Bob Smith", "Nia New"),
    open_until="31 March 2027",
    mine=GoalsRecord(
        (Goal(LONG[:2000], True), Goal("Private", False), Goal("Third", True)), LONG[:2000], 95, "Plan"
    ),
    shared_with_me=(PeerGoals("Bob Smith", (LONG[:2000],) * 3),),
    last_quarter="2026-Q4",
    last_mine=(Goal("Old private", False),),
    last_shared_with_me=(PeerGoals("Bob Smith", ("Old shared",)),),
    supporting=("Nia New",),
)
DRAFT = AnnouncementDraft(
    title="Closure", text=LONG, audience=AudienceKind.ROLE, audience_value="Health Coach"
)


THEMES = tuple(f"Theme {i} {LONG[:60]}" for i in range(30))  # a programme's most
THEMES_FORM = ThemesFormView(SESSION, "Peer reflection", THEMES, frozenset(), "", False, "19 November 2026")
# A full page (service.gatherings.PER_PAGE) of the longest topics and places settings allow (200).
GATHERINGS = tuple(
    GatheringView(
        f"programme-{i % 3}",
        "Co-reflection",
        f"Topic {i} {LONG}"[:200],
        i,
        4,
        SESSION.when,
        LONG[:200],
        i == 2,
    )
    for i in range(PER_PAGE)
)
THEMES_OVERVIEW = [
    QuarterThemesView(
        f"2026-Q{q}",
        pid,
        pid.title(),
        None if q == 1 else 12,
        tuple(ThemeCountView(t, None if i % 2 else i + 3) for i, t in enumerate(THEMES)),
        tuple("x" * 200 for _ in range(0 if q == 1 else 20)),
    )
    for q in (1, 2, 3, 4)
    for pid in ("reflection", "practice", "all")
]


def every_card() -> Iterator[tuple[str, CardJson]]:
    """Every builder in each of its states, filled with a full group of 8 and long texts."""
    yield "welcome", build_welcome_card(WelcomeView("Ann Lee", frozenset(Role)))
    yield "not_on_roster", build_not_on_roster_card()
    yield "help", build_help_card([("help", "this list"), ("intro", "send introductions to your groups")])
    yield "help_empty", build_help_card([])
    yield "refused", build_refused_card("Only this group's facilitator or a coordinator can do that.")
    yield "error", build_error_card("The rating must be a whole number from 1 to 5.")
    groups = tuple(ConsoleGroup(f"Group {i} {LONG[:80]}", SESSION.when, 8) for i in range(8))
    yield "console", build_intro_console_card(IntroConsoleView(groups))
    yield "console_sent", build_intro_console_card(IntroConsoleView(groups, queued=16))
    yield "console_none", build_intro_console_card(IntroConsoleView(()))
    for answer in (None, *RsvpAnswer):
        reason = AbsenceReason.SICKNESS if answer is RsvpAnswer.NOT_ATTENDING else None
        for closed in (False, True):
            view = RsvpView(SESSION, answer, reason, closed)
            yield f"rsvp_{answer}_{closed}", build_rsvp_card(view)
            yield f"rsvp_reminder_{answer}_{closed}", build_rsvp_card(view, reminder=True)
            yield (
                f"intro_{answer}_{closed}",
                build_introduction_card(IntroductionView("Fay Facilitator", LONG, view)),
            )
    yield (
        "rsvp_in_person",
        build_rsvp_card(RsvpView(dataclasses.replace(SESSION, teams_link=None, place="Room 4"))),
    )
    roster = RosterView(SESSION, roster_entries())
    yield "roster", build_session_roster_card(roster)
    yield "roster_coordinator", build_session_roster_card(roster, show_reasons=True)
    yield "attendance", build_attendance_card(AttendanceView(SESSION, MEMBERS))
    recorded = tuple(dataclasses.replace(m, present=i % 2 == 0) for i, m in enumerate(MEMBERS))
    yield (
        "attendance_recorded",
        build_attendance_card(AttendanceView(SESSION, recorded, True, "19 November 2026")),
    )
    yield "attendance_closed", build_attendance_card(AttendanceView(SESSION, recorded, True, None))
    yield "checkout", build_checkout_card(SESSION)
    yield "checkout_thanks", build_checkout_thanks_card(SESSION, flagged=True)
    for status in EscalationStatus:
        yield f"escalation_{status}", build_escalation_card(escalation(status, "Cora Coordinator"))
    yield (
        "pair_intro",
        build_pair_intro_card(PairIntroView(1, (PairPeer("Bob Smith", "Health Coach"),), False, "May 2027")),
    )
    yield "peer_check", build_peer_check_card(PEER_VIEW)
    yield "peer_nudge", build_peer_nudge_card(PEER_VIEW, weeks=5)
    yield "peer_recorded", build_peer_recorded_card(PEER_VIEW, met=True)
    yield "goals", build_goals_card(GOALS_VIEW)
    yield "goals_recorded", build_goals_recorded_card(GOALS_VIEW)
    for name, view in PEER_VARIANTS.items():
        yield f"peer_check_{name}", build_peer_check_card(view)
        yield f"peer_recorded_{name}", build_peer_recorded_card(view, met=False)
    yield "goals_filled", build_goals_card(GOALS_FILLED)
    yield "goals_filled_recorded", build_goals_recorded_card(GOALS_FILLED)
    yield "goals_prompt", build_goals_prompt_card(GOALS_VIEW)
    yield (
        "goals_prompt_probation",
        build_goals_prompt_card(dataclasses.replace(GOALS_VIEW, receives_only=True)),
    )
    yield (
        "rsvp_timekeeper",
        build_rsvp_card(RsvpView(dataclasses.replace(SESSION, timekeeper="Ann Lee"))),
    )
    yield "gatherings_none", build_gatherings_card(GatheringsView((), 0))
    yield (
        "gatherings",
        build_gatherings_card(GatheringsView(GATHERINGS, 10, notice=f"You joined {LONG[:150]}.")),
    )
    yield (
        "gatherings_middle_page",
        build_gatherings_card(
            GatheringsView(GATHERINGS, 500, f"You joined {LONG[:150]}.", page=2, pages=50, first=11, yours=2)
        ),
    )
    yield "themes", build_themes_card(THEMES_FORM)
    yield (
        "themes_recorded",
        build_themes_card(
            dataclasses.replace(THEMES_FORM, chosen=frozenset(THEMES[:2]), note="x" * 200, recorded=True)
        ),
    )
    yield (
        "themes_closed",
        build_themes_card(
            dataclasses.replace(THEMES_FORM, chosen=frozenset(THEMES[:1]), recorded=True, correct_until=None)
        ),
    )
    yield "themes_overview_empty", build_themes_overview_card([])
    yield "themes_overview", build_themes_overview_card(THEMES_OVERVIEW)
    yield "composer", build_announcement_composer_card()
    yield "composer_preview", build_announcement_composer_card(DRAFT, preview_recipients=1200)
    yield "announcement", build_announcement_card(AnnouncementView("Closure", LONG, "Cora Coordinator"))
    yield (
        "announcement_result",
        build_announcement_result_card(
            AnnouncementResultView("Closure", "everyone", sent=19_990, failed=3, unreachable=7)
        ),
    )


CARDS = list(every_card())


# ---- every card: valid, small, 1.5, and no identity in action data ----


@pytest.mark.parametrize(("name", "card"), CARDS, ids=[n for n, _ in CARDS])
def test_every_card_is_a_valid_1_5_card_under_80_kb(name: str, card: CardJson) -> None:
    assert validate_card(card) == []
    assert card["version"] == "1.5"
    assert card["fallbackText"]
    assert serialised_size(card) < 80 * 1024


@pytest.mark.parametrize(("name", "card"), CARDS, ids=[n for n, _ in CARDS])
def test_action_data_is_small_and_never_identity(name: str, card: CardJson) -> None:
    for node in walk(card):
        if node.get("type") == "Action.Execute":
            assert set(node["data"]) <= DATA_KEYS, node
            assert all(isinstance(v, str | int | bool) for v in node["data"].values())
            assert node["verb"] in set(Verb)


def test_the_largest_card_leaves_room_in_a_message() -> None:
    # Headroom for the activity envelope around the card.
    assert max(serialised_size(card) for _, card in CARDS) < 40 * 1024


# ---- pressing buttons the way Teams does ----


def _inputs(node: Any) -> Iterator[dict[str, Any]]:
    """Inputs of one card, not descending into shown cards (their inputs belong to their own buttons)."""
    if isinstance(node, dict):
        if str(node.get("type", "")).startswith("Input.") and "id" in node:
            yield node
        for key, value in node.items():
            if not (key == "card" and node.get("type") == "Action.ShowCard"):
                yield from _inputs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _inputs(value)


def _buttons(
    card: Mapping[str, Any], gathered: list[dict[str, Any]]
) -> Iterator[tuple[dict[str, Any], list[Any]]]:
    scope = gathered + list(_inputs(card))
    actions = list(card.get("actions", []))
    actions += [
        a for n in _shallow(card.get("body", [])) if n.get("type") == "ActionSet" for a in n["actions"]
    ]
    for action in actions:
        yield action, scope
        if action["type"] == "Action.ShowCard":
            yield from _buttons(action["card"], scope)


def _shallow(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for key, value in node.items():
            if key != "card":
                yield from _shallow(value)
    elif isinstance(node, list):
        for value in node:
            yield from _shallow(value)


def _initial(field: dict[str, Any]) -> Any:
    if field["type"] == "Input.Toggle":
        return field.get("value", field.get("valueOff", "false"))
    return field.get("value", "")


def press(
    card: CardJson, verb: str, typed: Mapping[str, Any] | None = None, *, title: str | None = None
) -> Any:
    """Parse what Teams would send for the button with this verb (and title), after typing `typed`."""
    found = [
        (a, scope)
        for a, scope in _buttons(card, [])
        if a.get("verb") == verb and (title is None or a.get("title") == title)
    ]
    assert len(found) == 1, f"{len(found)} buttons with verb {verb} and title {title}"
    action, scope = found[0]
    values = {field["id"]: _initial(field) for field in scope}
    unknown = set(typed or {}) - set(values)
    assert not unknown, f"inputs {unknown} are not gathered by this button"
    values.update(typed or {})
    return parse_action(verb, {**values, **action["data"]})


def texts(card: CardJson) -> str:
    """All the card's JSON, for containment checks on what a reader could see."""
    return json.dumps(card, ensure_ascii=False)


# ---- welcome and everyday replies ----


def test_welcome_lists_what_each_role_can_do() -> None:
    participant = texts(build_welcome_card(WelcomeView("Ann", frozenset({Role.PARTICIPANT}))))
    assert "Welcome, Ann" in participant
    assert "check-out" in participant
    assert "announcements" not in participant and "facilitator" not in participant.lower()
    everything = texts(build_welcome_card(WelcomeView("Ann", frozenset(Role))))
    for title in ("As a participant", "As a facilitator", "As a coordinator"):
        assert title in everything


def test_not_on_roster_points_to_the_coordinator() -> None:
    card = build_not_on_roster_card()
    assert "coordinator" in texts(card)
    assert "actions" not in card


def test_help_lists_the_commands_given() -> None:
    card = build_help_card([("help", "this list"), ("announce", "send an announcement")])
    fact_set = next(n for n in walk(card) if n.get("type") == "FactSet")
    assert fact_set["facts"] == [
        {"title": "help", "value": "this list"},
        {"title": "announce", "value": "send an announcement"},
    ]
    assert "no commands" in texts(build_help_card([]))


def test_refused_and_error_cards_state_the_reason_and_offer_no_action() -> None:
    refused = build_refused_card("Only programme coordinators can do that.")
    assert "You can't do that" in texts(refused)
    assert "Only programme coordinators can do that." in texts(refused)
    assert "Nothing was changed." in texts(refused)
    error = build_error_card("The month is not valid.")
    assert "The month is not valid." in texts(error) and "Nothing was saved" in texts(error)
    assert "actions" not in refused and "actions" not in error


# ---- facilitator intro console ----


def test_console_sends_introductions_then_offers_send_again_with_a_receipt() -> None:
    groups = (ConsoleGroup("Thursday coaches", "Thursday 12 November, 10:00", 7),)
    before = build_intro_console_card(IntroConsoleView(groups))
    assert "Thursday coaches" in texts(before) and "Thursday 12 November, 10:00" in texts(before)
    assert [a["title"] for a in before["actions"]] == ["Send introductions"]
    assert press(before, Verb.INTRO_SEND, {"intro_message": " Hello all "}) == IntroSendCommand(
        False, "Hello all"
    )
    after = build_intro_console_card(IntroConsoleView(groups, queued=7))
    assert "Introductions queued for 7 people." in texts(after)
    assert [a["title"] for a in after["actions"]] == ["Send again"]
    assert press(after, Verb.INTRO_SEND) == IntroSendCommand(True, "")


def test_console_without_groups_has_nothing_to_send() -> None:
    assert "actions" not in build_intro_console_card(IntroConsoleView(()))


# ---- introduction and RSVP ----


def _execute_titles(card: CardJson) -> list[str]:
    return [n["title"] for n in walk(card) if n.get("type") == "Action.Execute"]


def test_introduction_carries_message_session_link_and_rsvp_buttons() -> None:
    card = build_introduction_card(
        IntroductionView("Fay Facilitator", "Looking forward to it!", RsvpView(SESSION))
    )
    shown = texts(card)
    for part in ("Fay Facilitator", "Looking forward to it!", SESSION.group_name, SESSION.when):
        assert part in shown
    links = [n for n in walk(card) if n.get("type") == "Action.OpenUrl"]
    assert [link["url"] for link in links] == [TEAMS_LINK]
    assert _execute_titles(card) == ["Attending", "Send", "Maybe"]
    assert press(card, Verb.RSVP_ANSWER, title="Attending") == RsvpCommand(
        "g7", "2026-11", RsvpAnswer.ATTENDING, None, ""
    )


def test_rsvp_answers_carry_group_month_and_answer() -> None:
    card = build_rsvp_card(RsvpView(SESSION))
    data = [n["data"] for n in walk(card) if n.get("type") == "Action.Execute"]
    assert data == [
        {"group": "g7", "month": "2026-11", "answer": "attending"},
        {"group": "g7", "month": "2026-11", "answer": "not_attending"},
        {"group": "g7", "month": "2026-11", "answer": "maybe"},
    ]
    assert "Will you come?" in texts(card)


def test_cant_attend_asks_a_required_reason_and_an_optional_note_in_a_shown_card() -> None:
    card = build_rsvp_card(RsvpView(SESSION))
    shown = next(a for a in card["actions"] if a["type"] == "Action.ShowCard")
    assert shown["title"] == "Can't attend"
    reason = next(n for n in walk(shown) if n.get("id") == "rsvp_reason")
    assert reason["isRequired"] is True
    assert [c["value"] for c in reason["choices"]] == ["annual_leave", "sickness", "other"]
    command = press(
        card, Verb.RSVP_ANSWER, {"rsvp_reason": "sickness", "rsvp_note": "back Monday"}, title="Send"
    )
    assert command == RsvpCommand(
        "g7", "2026-11", RsvpAnswer.NOT_ATTENDING, AbsenceReason.SICKNESS, "back Monday"
    )
    # The one-click answers do not gather the reason inputs.
    assert press(card, Verb.RSVP_ANSWER, title="Maybe").reason is None


def test_answered_rsvp_shows_the_answer_and_can_still_be_changed() -> None:
    card = build_rsvp_card(RsvpView(SESSION, RsvpAnswer.NOT_ATTENDING, AbsenceReason.ANNUAL_LEAVE))
    assert "Your answer: Can't attend (Annual leave)" in texts(card)
    assert "until the session starts" in texts(card)
    assert _execute_titles(card) == ["Attending", "Send", "Maybe"]


def test_rsvp_after_the_start_is_read_only() -> None:
    card = build_rsvp_card(RsvpView(SESSION, RsvpAnswer.MAYBE, closed=True))
    assert "Your answer: Maybe" in texts(card)
    assert "answers are closed" in texts(card)
    assert _execute_titles(card) == []
    assert [a["type"] for a in card["actions"]] == ["Action.OpenUrl"]
    unanswered = build_rsvp_card(RsvpView(SESSION, closed=True), reminder=True)
    assert "You didn't answer." in texts(unanswered) and "Reminder" not in texts(unanswered)


def test_reminder_is_worded_for_people_who_have_not_answered() -> None:
    card = build_rsvp_card(RsvpView(SESSION), reminder=True)
    assert card["body"][0]["text"].startswith("Reminder: will you come")
    assert "haven't had your answer" in texts(card)
    assert len(_execute_titles(card)) == 3
    # Nothing reads replies to the meeting request: the reminder asks for the answer in Teams.
    assert "answer here in Teams" in texts(card)
    assert "only updates your calendar" in texts(card)


def test_in_person_session_shows_the_place_and_no_link() -> None:
    card = build_rsvp_card(RsvpView(dataclasses.replace(SESSION, teams_link=None, place="Room 4")))
    assert {"title": "Where", "value": "Room 4"} in next(n for n in walk(card) if n.get("type") == "FactSet")[
        "facts"
    ]
    assert not [n for n in walk(card) if n.get("type") == "Action.OpenUrl"]


# ---- who is coming ----


def test_facilitator_roster_never_shows_absence_reasons_or_notes() -> None:
    for show in (None, False):
        roster = RosterView(SESSION, roster_entries())
        card = (
            build_session_roster_card(roster)
            if show is None
            else build_session_roster_card(roster, show_reasons=show)
        )
        shown = texts(card)
        for label in REASON_LABELS.values():
            assert label not in shown
        assert "PRIVATE-NOTE" not in shown
        assert "reason" not in shown.lower()


def test_facilitator_roster_groups_names_by_answer() -> None:
    card = build_session_roster_card(RosterView(SESSION, roster_entries()))
    blocks = [n["text"] for n in walk(card) if n.get("type") == "TextBlock"]
    assert "Attending (3)" in blocks and "Maybe (1)" in blocks
    assert "Can't attend (2)" in blocks and "No answer yet (2)" in blocks
    assert f"{MEMBERS[4].name}, {MEMBERS[5].name}" in blocks
    assert card["msteams"] == {"width": "Full"}


def test_coordinator_roster_includes_reasons_and_notes() -> None:
    card = build_session_roster_card(RosterView(SESSION, roster_entries()), show_reasons=True)
    facts = next(n for n in walk(card) if n.get("type") == "FactSet")["facts"]
    assert facts[0]["title"] == MEMBERS[4].name
    assert facts[0]["value"].startswith("Sickness: PRIVATE-NOTE-4")
    assert "coordinators only" in texts(card)


# ---- attendance ----


def _toggles(card: CardJson) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in walk(card) if n.get("type") == "Input.Toggle"}


def test_register_has_a_toggle_per_member_ticked_from_rsvps() -> None:
    card = build_attendance_card(AttendanceView(SESSION, MEMBERS))
    toggles = _toggles(card)
    assert list(toggles) == [f"present:member{i}@example.org" for i in range(8)]
    assert [t["value"] for t in toggles.values()] == ["true"] * 3 + ["false"] * 5
    assert toggles["present:member3@example.org"]["title"].endswith("(said maybe)")
    assert toggles["present:member7@example.org"]["title"].endswith("(no answer)")
    assert [a["data"] for a in card["actions"]] == [{"group": "g7", "month": "2026-11"}]


def test_register_round_trip_reports_present_and_absent() -> None:
    card = build_attendance_card(AttendanceView(SESSION, MEMBERS))
    typed = {"present:member0@example.org": "false", "present:member3@example.org": "true"}
    command = press(card, Verb.ATTENDANCE_SUBMIT, typed)
    assert command == AttendanceCommand(
        "g7",
        "2026-11",
        present=frozenset({"member1@example.org", "member2@example.org", "member3@example.org"}),
        absent=frozenset(f"member{i}@example.org" for i in (0, 4, 5, 6, 7)),
    )


def test_recorded_register_can_be_corrected_until_the_deadline() -> None:
    recorded = tuple(dataclasses.replace(m, present=i < 2) for i, m in enumerate(MEMBERS))
    card = build_attendance_card(
        AttendanceView(SESSION, recorded, recorded=True, correct_until="19 November")
    )
    assert "Present (2)" in texts(card) and "Absent (6)" in texts(card)
    assert "until 19 November" in texts(card)
    correct = next(n for n in walk(card) if n.get("type") == "Action.ShowCard")
    assert correct["title"] == "Correct the register"
    assert [t["value"] for t in _toggles(card).values()] == ["true"] * 2 + ["false"] * 6
    command = press(card, Verb.ATTENDANCE_SUBMIT, {"present:member7@example.org": "true"})
    assert command.present == {"member0@example.org", "member1@example.org", "member7@example.org"}


def test_register_after_the_deadline_is_read_only() -> None:
    recorded = tuple(dataclasses.replace(m, present=True) for m in MEMBERS)
    card = build_attendance_card(AttendanceView(SESSION, recorded, recorded=True, correct_until=None))
    assert "closed for corrections" in texts(card)
    assert not [n for n in walk(card) if n.get("type", "").startswith("Action.")]


# ---- check-out ----


def test_checkout_states_who_sees_what() -> None:
    assert WHO_SEES_CHECKOUT == (
        "Your answers are not shown to your facilitator or group. "
        "Flags go only to the people circle (coordinators), in confidence."
    )
    card = build_checkout_card(SESSION)
    assert any(n.get("text") == WHO_SEES_CHECKOUT for n in walk(card))
    assert WHO_SEES_CHECKOUT in texts(build_checkout_thanks_card(SESSION, flagged=False))


def test_checkout_form_and_round_trip() -> None:
    card = build_checkout_card(SESSION)
    fields = {n["id"]: n for n in walk(card) if "id" in n}
    assert fields["checkout_helpful"]["isMultiline"] and fields["checkout_not_helpful"]["isMultiline"]
    assert [c["value"] for c in fields["checkout_rating"]["choices"]] == ["1", "2", "3", "4", "5"]
    assert fields["checkout_flags"]["isMultiSelect"] is True
    assert [c["value"] for c in fields["checkout_flags"]["choices"]] == [f.value for f in Flag]
    typed = {
        "checkout_helpful": "Hearing how others cope",
        "checkout_rating": "4",
        "checkout_flags": "stressed,needs_support",
    }
    assert press(card, Verb.CHECKOUT_SUBMIT, typed) == CheckoutCommand(
        "g7", "2026-11", "Hearing how others cope", "", 4, frozenset({Flag.STRESSED, Flag.NEEDS_SUPPORT})
    )


def test_checkout_thanks_says_what_happens_to_flags() -> None:
    assert "people circle may get in touch" in texts(build_checkout_thanks_card(SESSION, flagged=True))
    assert "may get in touch" not in texts(build_checkout_thanks_card(SESSION, flagged=False))


# ---- escalations ----


def test_escalation_view_holds_no_free_text() -> None:
    # The card can only show what the view holds; check-out words have no field to travel in.
    assert {f.name for f in dataclasses.fields(EscalationView)} == {
        "id", "raised_by", "about", "source", "flags", "raised_when", "status", "handled_by"
    }  # fmt: skip


def test_escalation_shows_flags_source_and_status_with_buttons_by_status() -> None:
    card = build_escalation_card(escalation())
    assert "Flags: Overworked, Stressed" in texts(card)
    rows = {f["title"]: f["value"] for n in walk(card) if n.get("type") == "FactSet" for f in n["facts"]}
    assert rows == {
        "Raised by": "Ann Lee",
        "About": "Bob Smith",
        "From": "Peer record",
        "When": "Tuesday 3 November 2026, 14:05",
        "Status": "Open",
    }
    assert [(a["verb"], a["data"]) for a in card["actions"]] == [
        ("escalation.ack", {"id": "esc-42"}),
        ("escalation.resolve", {"id": "esc-42"}),
    ]
    assert press(card, Verb.ESCALATION_ACK) == EscalationCommand("esc-42", EscalationAction.ACKNOWLEDGE)
    acknowledged = build_escalation_card(escalation(EscalationStatus.ACKNOWLEDGED, "Cora"))
    assert [a["verb"] for a in acknowledged["actions"]] == ["escalation.resolve"]
    assert "Cora" in texts(acknowledged)
    assert press(acknowledged, Verb.ESCALATION_RESOLVE) == EscalationCommand(
        "esc-42", EscalationAction.RESOLVE
    )
    assert "actions" not in build_escalation_card(escalation(EscalationStatus.RESOLVED, "Cora"))


def test_escalation_notification_text_names_nobody() -> None:
    fallback = build_escalation_card(escalation())["fallbackText"]
    assert "Ann" not in fallback and "Bob" not in fallback and "Stressed" not in fallback


# ---- peers ----


def test_peer_check_records_meeting_and_flags() -> None:
    card = build_peer_check_card(PEER_VIEW)
    assert "Did you meet Bob Smith in November 2026?" in texts(card)
    assert card["actions"][0]["data"] == {"round": 3, "month": "2026-11"}
    met = next(n for n in walk(card) if n.get("id") == "peer_met")
    assert met["isRequired"] is True
    command = press(card, Verb.PEER_RECORD, {"peer_met": "yes", "peer_flags": "struggling"})
    assert command == PeerRecordCommand(3, "2026-11", True, frozenset({Flag.STRUGGLING}))


def test_peer_nudge_has_the_same_recording_action() -> None:
    card = build_peer_nudge_card(PEER_VIEW, weeks=5)
    assert "for 5 weeks" in texts(card)
    assert press(card, Verb.PEER_RECORD, {"peer_met": "no"}) == PeerRecordCommand(
        3, "2026-11", False, frozenset()
    )


def test_peer_recorded_says_what_was_recorded() -> None:
    assert "You met Bob Smith in November 2026." in texts(build_peer_recorded_card(PEER_VIEW, met=True))
    assert "You didn't meet Bob Smith" in texts(build_peer_recorded_card(PEER_VIEW, met=False))


def test_goals_card_form_and_round_trip() -> None:
    card = build_goals_card(GOALS_VIEW)
    ids = input_ids(card)
    assert ids == [
        "goal1_text", "goal1_shared", "goal2_text", "goal2_shared", "goal3_text", "goal3_shared",
        "goals_training", "goals_capacity_now", "goals_capacity_plan",
    ]  # fmt: skip
    capacity = next(n for n in walk(card) if n.get("id") == "goals_capacity_now")
    assert (capacity["type"], capacity["min"], capacity["max"]) == ("Input.Number", 0, 200)
    assert "two 1-hour meetings, or one 2-hour meeting" in texts(card)
    assert "80%" in texts(card)
    typed = {
        "goal1_text": "Run a group session",
        "goal1_shared": "true",
        "goal3_text": "Finish the safeguarding course",
        "goals_training": "Motivational interviewing",
        "goals_capacity_now": "95",
        "goals_capacity_plan": "Drop one clinic",
    }
    assert press(card, Verb.GOALS_SUBMIT, typed) == GoalsCommand(
        "2027-Q1",
        (Goal("Run a group session", True), Goal("Finish the safeguarding course", False)),
        "Motivational interviewing",
        95,
        "Drop one clinic",
    )
    assert "2027-Q1" in texts(build_goals_recorded_card(GOALS_VIEW))


def test_pair_intro_wording_for_probation() -> None:
    receiving = texts(build_pair_intro_card(PairIntroView(2, (PairPeer("Bob Smith"),), True, "May 2027")))
    assert "you receive peer support" in receiving and "not asked to be anyone's peer" in receiving
    giving = texts(
        build_pair_intro_card(PairIntroView(2, (PairPeer("Nia New", receives_only=True),), False, "May"))
    )
    assert "Nia New is in probation: you support them" in giving
    trio = texts(build_pair_intro_card(PairIntroView(2, (PairPeer("A"), PairPeer("B")), False, "May 2027")))
    assert "You are paired with A and B." in trio and "probation" not in trio


# ---- announcements ----


def test_composer_offers_every_audience_and_preview_and_send() -> None:
    card = build_announcement_composer_card()
    audience = next(n for n in walk(card) if n.get("id") == "announce_audience")
    assert [c["value"] for c in audience["choices"]] == [k.value for k in AudienceKind]
    assert audience["value"] == "everyone"
    assert [(a["verb"], a["data"]) for a in card["actions"]] == [
        ("announce.preview", {}),
        ("announce.send", {}),
    ]
    assert "Preview" not in [n.get("text") for n in walk(card)]
    typed = {
        "announce_title": "Closure",
        "announce_text": "We close early.",
        "announce_audience_value": "Tuesday",
    }
    # A value left in the field must not narrow "everyone".
    assert press(card, Verb.ANNOUNCE_SEND, typed) == AnnounceCommand(
        "Closure", "We close early.", AudienceKind.EVERYONE, "", preview=False
    )


def test_composer_preview_is_prefilled_and_sends_the_draft() -> None:
    card = build_announcement_composer_card(DRAFT, preview_recipients=12)
    assert "Would go to 12 people." in texts(card)
    assert press(card, Verb.ANNOUNCE_PREVIEW) == AnnounceCommand(
        "Closure", LONG.strip(), AudienceKind.ROLE, "Health Coach", preview=True
    )


def test_announcement_and_result_cards() -> None:
    card = build_announcement_card(AnnouncementView("Closure", "We close at noon.", "Cora Coordinator"))
    assert [n["text"] for n in card["body"]] == ["Closure", "We close at noon.", "From Cora Coordinator"]
    result = build_announcement_result_card(AnnouncementResultView("Closure", "everyone", 10, 2, 1))
    rows = {f["title"]: f["value"] for n in walk(result) if n.get("type") == "FactSet" for f in n["facts"]}
    assert rows == {"Sent": "10", "Failed": "2", "Unreachable": "1"}
    assert any(n.get("color") == "attention" for n in walk(result))
    clean = build_announcement_result_card(AnnouncementResultView("Closure", "everyone", 10, 0, 0))
    assert not any(n.get("color") == "attention" for n in walk(clean))


# ---- parse_action: every error case ----

RSVP = {"group": "g7", "month": "2026-11", "answer": "attending"}
ABSENT = {"group": "g7", "month": "2026-11", "answer": "not_attending", "rsvp_reason": "other"}
REGISTER = {"group": "g7", "month": "2026-11", "present:a@example.org": "true"}
CHECKOUT = {"group": "g7", "month": "2026-11"}
PEER = {"round": 3, "month": "2026-11", "peer_met": "yes"}
GOALS = {"quarter": "2027-Q1", "goal1_text": "Lead a session", "goals_capacity_now": "80"}
ANNOUNCE = {"announce_title": "T", "announce_text": "Body", "announce_audience": "everyone"}


def _with(base: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if value is ...:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@pytest.mark.parametrize(
    ("verb", "data", "fragment"),
    [
        ("rsvp.delete", RSVP, "not one I know"),
        ("", RSVP, "not one I know"),
        ("rsvp.answer", None, "no data"),
        ("rsvp.answer", _with(RSVP, group=...), "group is missing"),
        ("rsvp.answer", _with(RSVP, group=7), "group is missing"),
        ("rsvp.answer", _with(RSVP, group="g 7"), "group is missing"),
        ("rsvp.answer", _with(RSVP, month=...), "month is missing"),
        ("rsvp.answer", _with(RSVP, month="2026-13"), "YYYY-MM"),
        ("rsvp.answer", _with(RSVP, month="26-11"), "YYYY-MM"),
        ("rsvp.answer", _with(RSVP, month=202611), "YYYY-MM"),
        ("rsvp.answer", _with(RSVP, answer="yes"), "answer is missing or not one of"),
        ("rsvp.answer", _with(RSVP, answer=...), "answer is missing"),
        ("rsvp.answer", _with(ABSENT, rsvp_reason=...), "choose a reason"),
        ("rsvp.answer", _with(ABSENT, rsvp_reason="holiday"), "reason is missing or not one of"),
        ("rsvp.answer", _with(ABSENT, rsvp_note=["x"]), "note must be text"),
        ("rsvp.answer", _with(ABSENT, rsvp_note="x" * 2001), "at most 2000"),
        ("attendance.submit", _with(REGISTER, **{"present:a@example.org": ...}), "without any members"),
        ("attendance.submit", _with(REGISTER, **{"present:a@example.org": "yes"}), "on or off"),
        ("attendance.submit", _with(REGISTER, **{"present:": "true"}), "cannot identify"),
        ("attendance.submit", _with(REGISTER, **{"present:a b": "true"}), "cannot identify"),
        (
            "attendance.submit",
            {**REGISTER, **{f"present:m{i}@example.org": "true" for i in range(60)}},
            "more members",
        ),
        ("checkout.submit", _with(CHECKOUT, checkout_rating="6"), "1 to 5"),
        ("checkout.submit", _with(CHECKOUT, checkout_rating="0"), "1 to 5"),
        ("checkout.submit", _with(CHECKOUT, checkout_rating="four"), "1 to 5"),
        ("checkout.submit", _with(CHECKOUT, checkout_rating="4.5"), "1 to 5"),
        ("checkout.submit", _with(CHECKOUT, checkout_rating=True), "1 to 5"),
        (
            "checkout.submit",
            _with(CHECKOUT, checkout_flags="stressed,angry"),
            "flag is missing or not one of",
        ),
        ("checkout.submit", _with(CHECKOUT, checkout_flags=["stressed"]), "flags must be text"),
        ("checkout.submit", _with(CHECKOUT, checkout_helpful="x" * 2001), "at most 2000"),
        ("checkout.submit", _with(CHECKOUT, checkout_not_helpful={"a": 1}), "must be text"),
        ("checkout.submit", _with(CHECKOUT, group=...), "group is missing"),
        ("peer.record", _with(PEER, round="3"), "pairing round"),
        ("peer.record", _with(PEER, round=0), "pairing round"),
        ("peer.record", _with(PEER, round=True), "pairing round"),
        ("peer.record", _with(PEER, peer_met=...), "whether you met"),
        ("peer.record", _with(PEER, peer_met="maybe"), "whether you met"),
        ("peer.record", _with(PEER, month="2026-00"), "YYYY-MM"),
        ("goals.submit", _with(GOALS, quarter="2027-Q5"), "YYYY-Qn"),
        ("goals.submit", _with(GOALS, quarter="2027Q1"), "YYYY-Qn"),
        ("goals.submit", _with(GOALS, quarter=...), "YYYY-Qn"),
        ("goals.submit", _with(GOALS, goal4_text="One too many"), "At most 3 goals"),
        ("goals.submit", _with(GOALS, goal1_text=" "), "at least one goal"),
        ("goals.submit", _with(GOALS, goal2_text="x" * 2001), "at most 2000"),
        ("goals.submit", _with(GOALS, goal1_shared="maybe"), "on or off"),
        ("goals.submit", _with(GOALS, goals_capacity_now=...), "Capacity now is required"),
        ("goals.submit", _with(GOALS, goals_capacity_now="201"), "0 to 200"),
        ("goals.submit", _with(GOALS, goals_capacity_now=-1), "0 to 200"),
        ("goals.submit", _with(GOALS, goals_capacity_now="lots"), "0 to 200"),
        ("goals.submit", _with(GOALS, goals_training="x" * 2001), "at most 2000"),
        ("intro.send", {"again": "sometimes"}, "on or off"),
        ("intro.send", {"intro_message": "x" * 2001}, "at most 2000"),
        ("escalation.ack", {}, "escalation is missing"),
        ("escalation.resolve", {"id": ""}, "escalation is missing"),
        ("announce.send", _with(ANNOUNCE, announce_title=...), "title is required"),
        ("announce.send", _with(ANNOUNCE, announce_title="x" * 201), "at most 200"),
        ("announce.send", _with(ANNOUNCE, announce_text=" "), "message is required"),
        ("announce.send", _with(ANNOUNCE, announce_text="x" * 2001), "at most 2000"),
        ("announce.send", _with(ANNOUNCE, announce_audience="managers"), "audience is missing or not one of"),
        ("announce.preview", _with(ANNOUNCE, announce_audience="role"), "which role"),
        (
            "announce.send",
            _with(ANNOUNCE, announce_audience="group", announce_audience_value=" "),
            "which group",
        ),
    ],
)
def test_bad_actions_are_refused_with_a_clear_message(verb: str, data: Any, fragment: str) -> None:
    with pytest.raises(BadActionError) as caught:
        parse_action(verb, data)
    assert fragment.lower() in str(caught.value).lower()
    assert isinstance(caught.value, ProgrammeError)


SECRET = "MY-MANAGER-BULLIES-ME "


@pytest.mark.parametrize(
    ("verb", "data"),
    [
        ("rsvp.answer", _with(ABSENT, rsvp_note=SECRET * 100)),
        ("rsvp.answer", _with(ABSENT, rsvp_reason=SECRET)),
        ("checkout.submit", _with(CHECKOUT, checkout_helpful=SECRET * 100)),
        ("checkout.submit", _with(CHECKOUT, checkout_not_helpful=SECRET * 100)),
        ("checkout.submit", _with(CHECKOUT, checkout_rating=SECRET)),
        ("checkout.submit", _with(CHECKOUT, checkout_flags=SECRET)),
        ("peer.record", _with(PEER, peer_met=SECRET)),
        ("peer.record", _with(PEER, peer_flags="stressed," + SECRET)),
        ("goals.submit", _with(GOALS, goal1_text=SECRET * 100)),
        ("goals.submit", _with(GOALS, goal4_text=SECRET)),
        ("goals.submit", _with(GOALS, goals_capacity_now=SECRET)),
        ("goals.submit", _with(GOALS, goals_capacity_plan=SECRET * 100)),
        ("intro.send", {"intro_message": SECRET * 100}),
        ("announce.send", _with(ANNOUNCE, announce_text=SECRET * 100)),
        ("announce.send", _with(ANNOUNCE, announce_audience=SECRET)),
        ("attendance.submit", _with(REGISTER, **{"present:" + SECRET: "true"})),
        ("escalation.ack", {"id": SECRET}),
        ("rsvp.answer", _with(RSVP, group=SECRET)),
    ],
)
def test_error_messages_never_repeat_what_was_typed(verb: str, data: dict[str, Any]) -> None:
    with pytest.raises(BadActionError) as caught:
        parse_action(verb, data)
    assert "MANAGER" not in str(caught.value)


def test_inputs_are_trimmed_and_numbers_accepted_as_sent_by_clients() -> None:
    goals = parse_action("goals.submit", _with(GOALS, goals_capacity_now=120.0, goal1_text="  Lead  "))
    assert isinstance(goals, GoalsCommand)
    assert (goals.capacity_now, goals.goals) == (120, (Goal("Lead", False),))
    rating = parse_action("checkout.submit", _with(CHECKOUT, checkout_rating=5))
    assert isinstance(rating, CheckoutCommand) and rating.rating == 5
    assert parse_action("intro.send", {}) == IntroSendCommand(False, "")
    # An empty item in a multi-select answer (a trailing comma) is harmless.
    flags = parse_action("peer.record", _with(PEER, peer_flags="overworked, "))
    assert flags == PeerRecordCommand(3, "2026-11", True, frozenset({Flag.OVERWORKED}))
    toggled = parse_action("attendance.submit", _with(REGISTER, **{"present:b@example.org": "FALSE"}))
    assert toggled == AttendanceCommand(
        "g7", "2026-11", frozenset({"a@example.org"}), frozenset({"b@example.org"})
    )


def test_every_verb_has_a_parser() -> None:
    # Each verb either parses or complains about its fields, never "unknown button".
    for verb in Verb:
        with pytest.raises(BadActionError) as caught:
            parse_action(
                verb, {"id": 1, "group": 1, "quarter": 1, "round": "x", "again": 3, "announce_audience": 1}
            )
        assert "not one I know" not in str(caught.value)


def test_a_broadcast_being_delivered_shows_pending_and_the_rate() -> None:
    from cards.announcements import build_announcement_result_card
    from service.views import AnnouncementResultView

    running = build_announcement_result_card(
        AnnouncementResultView(
            "News", "everyone", sent=6000, failed=1, unreachable=40, pending=14000, rate=48.5
        )
    )
    validate_card(running)
    facts = {
        f["title"]: f["value"]
        for node in walk(running)
        if node.get("type") == "FactSet"
        for f in node["facts"]
    }
    assert facts == {
        "Sent": "6000",
        "Pending": "14000",
        "Failed": "1",
        "Unreachable": "40",
        "Rate": "48 a second, about 5 min to go",
    }
    done = build_announcement_result_card(AnnouncementResultView("News", "everyone", 20000, 0, 0))
    assert "Pending" not in json.dumps(done) and "Announcement sent: News" in json.dumps(done)


# ---- gatherings and themes ----


def test_gatherings_card_joins_and_leaves_with_one_click_and_names_nobody() -> None:
    open_one = GatheringView(
        "gatherings", "Co-reflection", "Bereavement", 2, 4, SESSION.when, "Room 4", False
    )
    joined = dataclasses.replace(open_one, topic="Caring for someone", joined=5, mine=True)
    card = build_gatherings_card(GatheringsView((open_one, joined), 2))
    text = texts(card)
    assert "meets once 4 have joined (2 so far)" in text and "meets: 5 have joined" in text
    assert "Room 4" in text and "next allocation of groups" in text
    assert press(card, Verb.GATHERING_JOIN) == GatheringJoinCommand("gatherings", "Bereavement")
    assert press(card, Verb.GATHERING_LEAVE) == GatheringLeaveCommand("gatherings")


def test_themes_card_round_trip_sends_the_toggled_themes_and_the_note() -> None:
    view = ThemesFormView(
        SESSION, "Peer reflection", ("Workload", "Referrals"), frozenset({"Referrals"}), "", True, "19 Nov"
    )
    card = build_themes_card(view)
    assert "You can correct this until 19 Nov." in texts(card) and "without" in texts(card)
    command = press(card, Verb.THEMES_SUBMIT, {"theme:Workload": "true", "themes_note": " Rota gaps "})
    assert command == ThemesCommand(SESSION.group_id, SESSION.month, ("Referrals", "Workload"), "Rota gaps")
    closed = build_themes_card(dataclasses.replace(view, correct_until=None))
    assert not actions(closed, Verb.THEMES_SUBMIT) and "Themes: Referrals" in texts(closed)


def test_themes_overview_marks_hidden_figures_and_names_no_group() -> None:
    card = build_themes_overview_card(
        [QuarterThemesView("2026-Q4", "all", "All programmes", None, (ThemeCountView("Workload", None),), ())]
    )
    assert facts_of(card) == {"Groups recording": "[c]", "Workload": "[c]"}
    assert "fewer than 3 groups" in texts(card)
