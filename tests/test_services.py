"""Use cases over a real store with a movable clock: peers, goals, announcements, meeting chats."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from cards.actions import BadActionError, parse_action
from cards.announcements import build_delivery_problems_card
from cards.replies import peer_recorded_card
from programme.announcements import AudienceKind, UnknownAudienceError
from programme.answers import AbsenceReason, Flag, Goal, RsvpAnswer
from programme.errors import ClosedError, NotAllowedError, NotFoundError
from programme.sessions import session_in_month
from repositories.answers import GoalsRepository, PeerRecordsRepository, RsvpsRepository
from repositories.escalations import EscalationsRepository
from service.commands import (
    AnnounceCommand,
    AttendanceCommand,
    CheckoutCommand,
    GoalsCommand,
    PeerRecordCommand,
    RsvpCommand,
)
from service.services import Services
from service.views import DeliveryProblemsView
from store import Store
from tests.card_reading import heading, texts
from tests.clocks import Clock
from tests.worlds import COACHES, actor, build_services


@pytest.fixture
def world(store: Store) -> tuple[Services, Clock]:
    clock = Clock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    services = build_services(store, clock, COACHES)
    services.programme.rotate_pairs(date(2026, 12, 1))
    return services, clock


def queued(services: Services, clock: Clock) -> list[tuple[str, str]]:
    return sorted((e.message.kind, e.message.recipient) for e in services.outbox.due(clock.now, 1000))


def test_pair_introductions_and_monthly_checks_reach_every_paired_person(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    round_ = services.programme.pair_rounds()[-1]
    paired = sorted(e for p in round_.pairs for e in p.peers)
    assert services.peers.introduce_round(round_) == len(paired)
    assert services.peers.introduce_round(round_) == 0  # idempotent
    assert services.peers.send_monthly_checks() == len(paired)
    kinds = queued(services, clock)
    assert [r for k, r in kinds if k == "pair_intro"] == paired
    assert [r for k, r in kinds if k == "peer_check"] == paired


def test_peer_flags_escalate_to_coordinators_about_the_peer(world: tuple[Services, Clock]) -> None:
    services, clock = world
    round_ = services.programme.pair_rounds()[-1]
    pair = next(p for p in round_.pairs if "ann@x.org" in p.peers)
    command = PeerRecordCommand(round_.number, "2026-12", met=True, flags=frozenset({Flag.STRESSED}))
    card = peer_recorded_card(services.peers.record(actor(services, "ann@x.org"), command))
    assert heading(card) == "Thanks, that's recorded"
    people = services.programme.people()
    met = [t for t in texts(card) if t.startswith("You met ")]
    assert met and all(people[e].name in met[0] for e in pair.peers if e != "ann@x.org")
    stored = PeerRecordsRepository(services.programme.store).get("2026-12", round_.number, "ann@x.org")
    assert stored is not None and stored.met is True
    escalations = EscalationsRepository(services.programme.store).all()
    assert {e.about for e in escalations} == set(pair.peers) - {"ann@x.org"}
    assert [r for k, r in queued(services, clock) if k == "escalation"] == ["di@x.org"] * len(escalations)


def test_peer_record_for_an_old_round_is_refused(world: tuple[Services, Clock]) -> None:
    services, _ = world
    with pytest.raises(NotFoundError):
        services.peers.record(
            actor(services, "ann@x.org"), PeerRecordCommand(99, "2026-12", met=True, flags=frozenset())
        )


def test_nudges_only_after_five_weeks_without_a_meeting(world: tuple[Services, Clock]) -> None:
    services, clock = world
    round_ = services.programme.pair_rounds()[-1]
    assert services.peers.send_nudges() == 0
    clock.now += timedelta(weeks=5, days=1)
    met = next(p for p in round_.pairs if "ann@x.org" in p.peers)
    services.peers.record(
        actor(services, "ann@x.org"), PeerRecordCommand(round_.number, "2027-01", met=True, flags=frozenset())
    )
    nudged = services.peers.send_nudges()
    expected = sum(len(p.peers) for p in round_.pairs if p != met)
    assert nudged == expected
    assert not {r for k, r in queued(services, clock) if k == "peer_nudge"} & set(met.peers)


def test_goals_are_stored_with_privacy_per_goal(world: tuple[Services, Clock]) -> None:
    services, _ = world
    goals = (Goal("Finish the course", shared=True), Goal("Ask for a change of caseload", shared=False))
    services.goals.submit(
        actor(services, "bo@x.org"), GoalsCommand("2026-Q4", goals, "MI training", 95, "drop one clinic")
    )
    stored = GoalsRepository(services.programme.store).get("2026-Q4", "bo@x.org")
    assert stored is not None
    assert stored.goals == goals
    assert (stored.training_needs, stored.capacity_now, stored.capacity_plan) == (
        "MI training",
        95,
        "drop one clinic",
    )


@pytest.mark.parametrize("quarter", ["2026-Q3", "2027-Q1", "2099-Q4", "2000-Q1"])
def test_goals_for_another_quarter_than_the_current_are_refused(
    world: tuple[Services, Clock], quarter: str
) -> None:
    services, _ = world  # 1 December 2026: the card offers 2026-Q4 only
    goal = (Goal("Finish the course", shared=True),)
    with pytest.raises(ClosedError):
        services.goals.submit(actor(services, "bo@x.org"), GoalsCommand(quarter, goal, "", 90, ""))
    assert GoalsRepository(services.programme.store).periods() == []


def test_rsvp_months_are_the_next_session_and_the_one_after(world: tuple[Services, Clock]) -> None:
    services, clock = world  # 1 December 2026, before the group's December session
    ann = actor(services, "ann@x.org")
    group = ann.member_of[0].id
    for month in ("2026-11", "2027-02", "2030-06", "2099-12"):
        with pytest.raises(ClosedError):
            services.rsvps.answer(ann, RsvpCommand(group, month, RsvpAnswer.ATTENDING, None, ""))
    assert RsvpsRepository(services.programme.store).periods() == []
    for month in ("2026-12", "2027-01"):
        services.rsvps.answer(ann, RsvpCommand(group, month, RsvpAnswer.ATTENDING, None, ""))
    assert RsvpsRepository(services.programme.store).periods() == ["2026-12", "2027-01"]
    clock.now = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)  # December's session is over
    with pytest.raises(ClosedError):
        services.rsvps.answer(ann, RsvpCommand(group, "2026-12", RsvpAnswer.MAYBE, None, ""))
    services.rsvps.answer(ann, RsvpCommand(group, "2027-02", RsvpAnswer.MAYBE, None, ""))


@pytest.mark.parametrize("verb", ["rsvp.answer", "attendance.submit", "checkout.submit", "peer.record"])
@pytest.mark.parametrize("month", ["0000-01", "9999-12", "1999-12", "2026-13", "2026-00"])
def test_card_months_outside_the_programme_years_are_bad_data(verb: str, month: str) -> None:
    data = {"group": "thu-coach-1", "month": month, "answer": "attending", "round": 1, "peer_met": "yes"}
    with pytest.raises(BadActionError, match="month"):
        parse_action(verb, {**data, "present:ann@x.org": "true"})


def test_announcements_preview_to_self_then_send_once(world: tuple[Services, Clock]) -> None:
    services, clock = world
    coordinator = actor(services, "di@x.org")
    draft = AnnounceCommand("Room change", "We meet in room 4.", AudienceKind.EVERYONE, "", preview=True)
    services.announcements.announce(coordinator, draft)
    assert queued(services, clock) == [("announcement_preview", "di@x.org")]
    send = AnnounceCommand("Room change", "We meet in room 4.", AudienceKind.EVERYONE, "", preview=False)
    services.announcements.announce(coordinator, send)
    services.announcements.announce(coordinator, send)  # a double click sends nothing new
    recipients = [r for k, r in queued(services, clock) if k == "announcement"]
    assert recipients == ["ann@x.org", "bo@x.org", "cy@x.org", "di@x.org", "fay@x.org"]


def test_only_coordinators_announce_and_unknown_audiences_fail(world: tuple[Services, Clock]) -> None:
    services, clock = world
    send = AnnounceCommand("Hi", "Text", AudienceKind.EVERYONE, "", preview=False)
    with pytest.raises(NotAllowedError):
        services.announcements.announce(actor(services, "fay@x.org"), send)
    with pytest.raises(UnknownAudienceError):
        services.announcements.announce(
            actor(services, "di@x.org"),
            AnnounceCommand("Hi", "Text", AudienceKind.ROLE, "Pilot", preview=False),
        )
    assert queued(services, clock) == []


def test_a_linked_meeting_chat_prompts_check_outs_when_it_ends(world: tuple[Services, Clock]) -> None:
    services, clock = world
    fay = actor(services, "fay@x.org")
    linked = services.meeting_links.link(fay, "19:meeting_abc@thread.v2")
    assert linked.group_name == fay.facilitates[0].name and linked.when
    assert services.meeting_links.meeting_ended("19:other@thread.v2") is None
    group = fay.facilitates[0]
    # No register yet: the check-out goes to those who RSVP'd attending, not "maybe" or no answer.
    answers = {"ann@x.org": RsvpAnswer.ATTENDING, "bo@x.org": RsvpAnswer.MAYBE}
    answers["cy@x.org"] = RsvpAnswer.NOT_ATTENDING
    for email, answer in answers.items():
        reason = AbsenceReason.SICKNESS if answer is RsvpAnswer.NOT_ATTENDING else None
        services.rsvps.answer(actor(services, email), RsvpCommand(group.id, "2026-12", answer, reason, ""))
    assert "di@x.org" in group.members  # never answered
    assert services.meeting_links.meeting_ended("19:meeting_abc@thread.v2") == 1
    assert [r for k, r in queued(services, clock) if k == "checkout"] == ["ann@x.org"]


def test_end_sends_the_check_out_by_register_else_to_those_attending(world: tuple[Services, Clock]) -> None:
    from surfaces.teams_routes import Turn, find_text_command

    services, clock = world
    fay = actor(services, "fay@x.org")
    group = fay.facilitates[0]
    end, _ = find_text_command("end")
    assert end is not None
    # Before the session starts, `end` speaks about the check-out, not the register.
    with pytest.raises(NotFoundError, match="check-out opens when the session starts"):
        end.run(services, fay, Turn("", "a:fay"))
    services.rsvps.answer(
        actor(services, "bo@x.org"), RsvpCommand(group.id, "2026-12", RsvpAnswer.ATTENDING, None, "")
    )
    services.rsvps.answer(
        actor(services, "ann@x.org"), RsvpCommand(group.id, "2026-12", RsvpAnswer.MAYBE, None, "")
    )
    clock.now = datetime(2026, 12, 10, 10, 30, tzinfo=UTC)  # during the session, no register yet
    told = end.run(services, fay, Turn("", "a:fay"))
    assert told == (
        "Check-out prompt queued for 1 person who RSVP'd attending. "
        "Take the register (`attendance`) to send it to anyone else who came."
    )
    assert [r for k, r in queued(services, clock) if k == "checkout"] == ["bo@x.org"]
    assert (
        end.run(services, fay, Turn("", "a:fay"))
        == "Everyone who RSVP'd attending already has the check-out."
    )
    # The register decides once taken: Ann (maybe) came, Bo did not.
    present = frozenset({"ann@x.org", "cy@x.org"})
    services.register.record(
        fay, AttendanceCommand(group.id, "2026-12", present, frozenset(group.members) - present)
    )
    assert sorted(r for k, r in queued(services, clock) if k == "checkout") == sorted({"bo@x.org", *present})
    told = end.run(services, fay, Turn("", "a:fay"))
    assert told == "Everyone ticked present on the register already has the check-out."


def test_end_with_no_register_and_nobody_attending_says_so(world: tuple[Services, Clock]) -> None:
    from surfaces.teams_routes import Turn, find_text_command

    services, clock = world
    end, _ = find_text_command("end")
    assert end is not None
    clock.now = datetime(2026, 12, 10, 10, 30, tzinfo=UTC)
    told = end.run(services, actor(services, "fay@x.org"), Turn("", "a:fay"))
    assert isinstance(told, str) and told.startswith("Nobody was sent the check-out")
    assert [k for k, _ in queued(services, clock) if k == "checkout"] == []


def test_checkout_text_stays_out_of_the_escalation(world: tuple[Services, Clock]) -> None:
    services, clock = world
    ann = actor(services, "ann@x.org")
    group = ann.member_of[0]
    clock.now = datetime(2026, 12, 10, 11, 35, tzinfo=UTC)  # after the 2nd-Thursday session
    services.checkouts.submit(
        ann,
        CheckoutCommand(
            group.id, "2026-12", "secret-helpful", "secret-unhelpful", 4, frozenset({Flag.OVERWORKED})
        ),
    )
    for entry in services.outbox.due(clock.now, 100):
        assert "secret-" not in json.dumps(entry.message.card)
    assert [r for k, r in queued(services, clock) if k == "escalation"] == ["di@x.org"]


@pytest.mark.asyncio
async def test_a_blocked_bot_marks_the_person_unreachable_until_they_come_back(
    world: tuple[Services, Clock],
) -> None:
    from app import outbox_drainer
    from programme.identity import ConversationReference, TeamsUser
    from support.config import BotSettings
    from tests.fakes.bot_connector import FakeBotConnector

    services, clock = world
    ann = services.programme.people()["ann@x.org"]
    async with FakeBotConnector() as fake:
        reference = ConversationReference("tenant", fake.url, "a:ann-chat", "28:bot", "29:ann")
        services.directory.link(TeamsUser("29:ann", None, "Ann", "tenant"), ann, reference)
        fake.block("a:ann-chat")
        send = AnnounceCommand("Hello", "Text", AudienceKind.GROUP, "thu-coach-1", preview=False)
        services.announcements.announce(actor(services, "di@x.org"), send)
        async with outbox_drainer(services, BotSettings(), None) as drainer:
            await drainer.drain_once(clock.now)
    assert "ann@x.org" in services.directory.unreachable()
    # Opening their chat with the bot again clears it.
    services.directory.link(TeamsUser("29:ann", None, "Ann", "tenant"), ann, reference)
    assert "ann@x.org" not in services.directory.unreachable()


def test_the_report_command_is_for_coordinators_only(world: tuple[Services, Clock]) -> None:
    from surfaces.teams_routes import Turn, find_text_command

    services, _ = world
    command, _ = find_text_command("report")
    assert command is not None
    assert not command.allowed(actor(services, "ann@x.org"))
    reply = command.run(services, actor(services, "di@x.org"), Turn("", "a:di"))
    assert isinstance(reply, list) and len(reply) == 1
    (card,) = reply
    assert heading(card) == "Programme report: Peer reflection"  # its one programme, named
    assert "October 2026 to December 2026" in texts(card)
    # Its sections: attendance, reasons for absence, goal-setting and open escalations by age.
    assert {"Attendance", "RSVP replies", "Pairs met", "Total open"} <= set(texts(card))


def test_an_escalation_about_a_coordinator_never_reaches_them(world: tuple[Services, Clock]) -> None:
    services, clock = world
    from cards.actions import EscalationAction, EscalationCommand

    ident = services.escalations.escalate(
        "peer:2026-12:1:ann@x.org:di@x.org",
        "ann@x.org",
        "di@x.org",
        "peer",
        frozenset({Flag.STRESSED}),
        "2026-12",
    )
    assert [r for k, r in queued(services, clock) if k == "escalation"] == []  # Di is the only coordinator
    di = actor(services, "di@x.org")
    assert services.escalations.pending(di) == []
    with pytest.raises(NotFoundError):
        services.escalations.handle(di, EscalationCommand(ident, EscalationAction.RESOLVE))


def test_rsvp_reminder_email_asks_for_the_answer_in_teams(world: tuple[Services, Clock]) -> None:
    services, clock = world
    group = services.programme.current_allocation().groups[0]
    session = session_in_month(group, "2026-12", services.programme.settings)
    assert services.rsvps.send_reminders(group, session) == len(group.members)
    entries = [e for e in services.outbox.due(clock.now, 1000) if e.message.kind == "rsvp_reminder"]
    for entry in entries:
        body = (entry.message.data or {})["email_fallback"]["body_text"]
        # Nothing reads replies to the meeting request: only the answer in Teams counts.
        assert "Please answer in Teams" in body
        assert "reply to the meeting request" not in body


def test_status_shows_deliveries_that_failed_or_wait_to_retry(world: tuple[Services, Clock]) -> None:
    from service.outbox import OutboundMessage

    services, clock = world
    coordinator = actor(services, "di@x.org")
    calm = services.announcements.status(coordinator)
    assert calm.latest is None and calm.problems == DeliveryProblemsView(failed=(), retrying=())
    assert "Everything queued lately was delivered" in json.dumps(build_delivery_problems_card(calm.problems))
    mails = [
        OutboundMessage(f"mail:{n}", "2026-12", f"{n}@x.org", "goals_mail", channel="email", text="hi")
        for n in ("a", "b", "c")
    ]
    services.outbox.enqueue(mails, clock.now)
    first, second, _ = sorted(services.outbox.due(clock.now, 10), key=lambda e: e.message.key)
    services.outbox.mark_failed(first, "mail 401")
    services.outbox.mark_retry(second, clock.now + timedelta(minutes=5), "mail 503")
    status = services.announcements.status(coordinator)
    assert status.latest is None
    assert status.problems == DeliveryProblemsView(
        failed=(("goals_mail", "mail 401", 1),), retrying=(("goals_mail", 1),)
    )
    problems = build_delivery_problems_card(status.problems)
    facts = {f["title"]: f["value"] for b in problems["body"] if b["type"] == "FactSet" for f in b["facts"]}
    assert facts == {"Failed: goals_mail": "1 (mail 401)", "To retry: goals_mail": "1"}
    assert "a@x.org" not in json.dumps(problems)  # kinds and fixed reasons only
    with pytest.raises(NotAllowedError):
        services.announcements.status(actor(services, "ann@x.org"))


def test_groups_know_their_programme_and_commands_choose_one(store: Store) -> None:
    """A v1 deployment is one programme that every group belongs to; with several, a command that
    names none is refused, and a group of a programme the settings dropped is reported by id."""
    from dataclasses import replace

    from cards.outbound import CardMessages
    from programme.errors import ProgrammeChoiceError
    from programme.programmes import parse_programmes
    from programme.settings import ProgrammeSettings

    services = build_services(store, lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC), COACHES)
    (group, *_) = services.programme.groups()
    assert group.programme == "main"
    assert services.programme.programme_of(group).id == "main"
    assert services.programme.choose_programme(None).id == "main"
    two = parse_programmes(
        {
            "programmes": [
                {"id": "reflection", "kind": "groups"},
                {"id": "pairs", "kind": "pairs"},
            ]
        }
    )
    several = Services.build(store, ProgrammeSettings(), messages=CardMessages(), programmes=two)
    with pytest.raises(ProgrammeChoiceError):
        several.programme.choose_programme(None)
    assert several.programme.choose_programme("pairs").id == "pairs"
    assert several.programme.programme_of(replace(group, programme="reflection")).id == "reflection"
    with pytest.raises(NotFoundError, match=group.id):
        several.programme.programme_of(group)
