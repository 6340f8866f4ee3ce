"""Who receives which message, and what it says: asserted on what the outbox recorded and on the
mail a pickup folder received, never on how either is stored.

One world for every test: three groups meeting in November 2026 (Coaches and Practitioners on
Thursday 12th with facilitators, Advisors on Tuesday 10th taking turns), two coordinators in no
group, and Lee, who left the organisation but is still listed in Coaches until the next
allocation. People act through the bot (tests/bot_driver.py) by text commands and by pressing the
buttons of the cards it sent them; the programme clock acts through the Scheduler at the moments
its jobs fall due.
"""

from __future__ import annotations

import asyncio
import email as email_parser
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import icalendar
import pytest

from app import outbox_drainer
from cards.protocol import (
    CHECKOUT_FLAGS,
    CHECKOUT_HELPFUL,
    CHECKOUT_NOT_HELPFUL,
    CHECKOUT_RATING,
    INTRO_MESSAGE,
    PRESENT_PREFIX,
    RSVP_NOTE,
    RSVP_REASON,
    Verb,
)
from mailers.pickup import PickupMailer
from programme.clock import jobs_between
from programme.model import Group
from programme.settings import ProgrammeSettings
from service.invites import Invites, MailSettings
from service.outbox import OutboundMessage
from service.scheduler import Scheduler
from service.services import Services
from store import Store
from support.config import BotSettings
from tests.bot_driver import BotDriver, TeamsSender
from tests.card_reading import actions, card_text, facts_of, find_action, heading, inputs, texts
from tests.clocks import Clock
from tests.fakes.bot_connector import FakeBotConnector
from tests.worlds import Row, build_services, email, place_groups, roster_csv

MONTH = "2026-11"
SETTINGS = ProgrammeSettings()
_KEYS = ("fay", "ann", "bo", "cy", "lee", "rex", "oli", "pia", "rob", "ray", "sam", "cora", "di")
FACILITATORS = ("fay", "rex")
COORDINATORS = ("cora", "di")
LEAVER = "lee"

COACHES = Group(
    "thu-a", "Coaches", 3, "Coach", email("fay"), tuple(email(k) for k in ("ann", "bo", "cy", LEAVER))
)
PRACTITIONERS = Group("thu-b", "Practitioners", 3, "Coach", email("rex"), (email("oli"), email("pia")))
ADVISORS = Group("tue-r", "Advisors", 1, "Coach", None, tuple(email(k) for k in ("rob", "ray", "sam")))
GROUPS = (COACHES, PRACTITIONERS, ADVISORS)

# What people confide; none of it may reach anyone but the coordinators' own records.
ABSENCE_NOTE = "knee operation zq71"
HELPFUL = "hearing Bo's story zq72"
NOT_HELPFUL = "the rota argument zq73"
INTRO = "Hello Coaches, I'm Fay zq74"  # not confidential: meant for Fay's group only


def aad(key: str) -> str:
    return f"aaaaaaaa-0000-4000-8000-{_KEYS.index(key) + 1:012d}"


def sender(key: str) -> TeamsSender:
    return TeamsSender(f"29:{key}", aad(key), key.title())


ROSTER = tuple(
    Row(key, facilitator=key in FACILITATORS, coordinator=key in COORDINATORS, aad_object_id=aad(key))
    for key in _KEYS
)


def due(key: str) -> datetime:
    """When the programme clock runs the job `key` (e.g. "session_end:2026-11:thu-a")."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    (job,) = [
        j for j in jobs_between(GROUPS, SETTINGS, start, start + timedelta(days=40), None) if j.key == key
    ]
    return job.due


@dataclass
class World:
    services: Services
    clock: Clock
    bot: BotDriver
    scheduler: Scheduler

    def run_due(self, key: str) -> None:
        """Move the clock to the job's time and let the programme clock run what is due."""
        self.clock.now = due(key)
        ran = [report.job.key for report in self.scheduler.run_due(self.clock.now)]
        assert key in ran

    def received(self, kind: str, period: str = MONTH) -> dict[str, OutboundMessage]:
        """The messages of a kind the outbox holds for the period, by recipient."""
        found: dict[str, OutboundMessage] = {}
        for key, record in self.services.outbox.records(period).items():
            if record["kind"] == kind:
                entry = self.services.outbox.get(period, key)
                assert entry is not None and record["recipient"] not in found, key
                found[record["recipient"]] = entry.message
        return found

    def press(self, key: str, card: dict[str, Any], verb: str, **values: Any) -> dict[str, Any]:
        """Press the card's `verb` button as `key`, with these input values, as Teams would."""
        action = find_action(card, verb, **{k: v for k, v in values.items() if k == "answer"})
        initial = {name: node["value"] for name, node in inputs(card).items() if "value" in node}
        data = {**initial, **action["data"], **{k: v for k, v in values.items() if k != "answer"}}
        return self.bot.press(sender(key), verb, data)


@pytest.fixture
def world(store: Store) -> Iterator[World]:
    clock = Clock(datetime(2026, 11, 1, 9, 0, tzinfo=UTC))
    services = build_services(store, clock, ROSTER, SETTINGS, allocate=False)
    place_groups(store, GROUPS, clock.now)
    # Lee leaves; the groups are not allocated again yet, so Coaches still lists her.
    services.programme.import_roster(
        roster_csv(r for r in ROSTER if r.key != LEAVER), "roster.csv", clock.now
    )
    invites = Invites(services.sessions, services.outbox, MailSettings("reflect@x.org"))
    yield World(services, clock, BotDriver(services), Scheduler(services, invites))


def shown(message: OutboundMessage) -> str:
    """What the message's card shows its reader."""
    return card_text(message.card)


def everything(message: OutboundMessage) -> str:
    """All a message carries: card, text and email fallback."""
    return json.dumps([message.card, message.text, message.data], default=str)


SHOWN = {"attending": "Attending", "not_attending": "Can't attend", "maybe": "Maybe"}


def answer_rsvps(world: World, answers: dict[str, str]) -> None:
    """Each person presses an answer on the RSVP card the bot shows them ("not_attending": sickness)."""
    for key, answer in answers.items():
        (card,) = world.bot.say(sender(key), "rsvp")
        assert isinstance(card, dict)
        values: dict[str, Any] = {"answer": answer}
        if answer == "not_attending":
            values |= {RSVP_REASON: "sickness", RSVP_NOTE: ABSENCE_NOTE}
        reply = world.press(key, card, Verb.RSVP_ANSWER, **values)
        assert any(t.startswith(f"Your answer: {SHOWN[answer]}") for t in texts(reply)), texts(reply)


# ---------------------------------------------------------------------------------- RSVP reminders
def test_rsvp_reminders_go_to_the_groups_members_who_have_not_answered(world: World) -> None:
    world.clock.now = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    answer_rsvps(world, {"ann": "attending", "bo": "not_attending", "oli": "maybe"})

    world.run_due(f"rsvp_reminder:{MONTH}:{COACHES.id}")

    reminded = world.received("rsvp_reminder")
    # Coaches: Cy only (Ann and Bo answered, Lee left, Fay facilitates); Practitioners: Pia only
    # (Oli answered maybe); Advisors' reminder fell due on the 8th: all three of its members.
    assert sorted(reminded) == sorted(email(k) for k in ("cy", "pia", "rob", "ray", "sam"))
    to_cy = reminded[email("cy")]
    assert heading(to_cy.card) == "Reminder: will you come to Coaches?"
    assert facts_of(to_cy.card)["When"] == "Thursday 12 November 2026, 10:00-11:30 GMT"
    assert {a["data"]["answer"] for a in actions(to_cy.card, Verb.RSVP_ANSWER)} == {
        "attending",
        "not_attending",
        "maybe",
    }
    assert all(a["data"]["group"] == COACHES.id for a in actions(to_cy.card, Verb.RSVP_ANSWER))
    assert "Practitioners" in shown(reminded[email("pia")])
    assert "Coaches" not in shown(reminded[email("pia")])
    for message in reminded.values():
        assert ABSENCE_NOTE not in everything(message) and email("bo") not in everything(message)
        assert "Please answer in Teams" in (message.data or {})["email_fallback"]["body_text"]


def test_remind_reaches_only_the_unanswered_members_of_the_groups_the_sender_runs(world: World) -> None:
    world.clock.now = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    answer_rsvps(world, {"ann": "maybe", "pia": "attending"})

    assert world.bot.say(sender("rex"), "remind") == ["Reminder queued for 1 person who haven't answered."]
    assert sorted(world.received("rsvp_reminder")) == [email("oli")]

    world.bot.say(sender("fay"), "remind")
    assert sorted(world.received("rsvp_reminder")) == sorted(email(k) for k in ("oli", "bo", "cy"))

    # A member may not remind anyone: refused, and nothing more is queued.
    (refused,) = world.bot.say(sender("ann"), "remind")
    assert heading(refused) == "You can't do that"
    assert sorted(world.received("rsvp_reminder")) == sorted(email(k) for k in ("oli", "bo", "cy"))


# ------------------------------------------------------------------------- registers and check-outs
def test_the_register_prompt_goes_to_whoever_runs_each_session_only(world: World) -> None:
    world.run_due(f"session_end:{MONTH}:{COACHES.id}")

    registers = world.received("attendance")
    advisors_leader = registers.keys() - {email("fay"), email("rex")}
    # Fay and Rex for their groups; in Advisors, the one member whose turn it is.
    assert {email("fay"), email("rex")} <= registers.keys() and len(advisors_leader) == 1
    assert advisors_leader <= set(ADVISORS.members)
    to_fay = registers[email("fay")]
    assert "Coaches" in heading(to_fay.card)
    ticks = {n.removeprefix(PRESENT_PREFIX) for n in inputs(to_fay.card) if n.startswith(PRESENT_PREFIX)}
    # Coaches' own members to tick (Lee, who left, is still listed until the groups are allocated
    # again); nobody of another group.
    assert {email(k) for k in ("ann", "bo", "cy")} <= ticks <= set(COACHES.members)
    assert actions(to_fay.card, Verb.ATTENDANCE_SUBMIT)
    assert "Practitioners" in heading(registers[email("rex")].card)
    assert "Coaches" not in shown(registers[email("rex")])
    for message in registers.values():
        assert message.recipient not in (email("ann"), email("cora"), email("di"), email(LEAVER))


def test_the_attendance_command_is_answered_to_the_sessions_facilitator_alone(world: World) -> None:
    world.clock.now = datetime(2026, 11, 12, 10, 15, tzinfo=UTC)
    (card,) = world.bot.say(sender("fay"), "attendance")
    assert isinstance(card, dict) and "Coaches" in heading(card)
    for key in ("ann", "oli", "cora"):
        (refused,) = world.bot.say(sender(key), "attendance")
        assert heading(refused) == "You can't do that", key
    assert world.received("attendance") == {}  # asked for, not queued to anyone


def take_register(world: World, present: tuple[str, ...]) -> None:
    """Fay ticks `present` (keys) on the register the bot shows her, everyone else absent."""
    world.clock.now = datetime(2026, 11, 12, 10, 15, tzinfo=UTC)  # during the session
    (register,) = world.bot.say(sender("fay"), "attendance")
    assert isinstance(register, dict)
    ticks = {name: "false" for name in inputs(register) if name.startswith(PRESENT_PREFIX)}
    ticks |= {f"{PRESENT_PREFIX}{email(k)}": "true" for k in present}
    saved = world.press("fay", register, Verb.ATTENDANCE_SUBMIT, **ticks)
    assert heading(saved) == "Register saved: Coaches, November 2026", texts(saved)


def test_check_outs_follow_the_register_else_the_rsvps(world: World) -> None:
    world.clock.now = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    answer_rsvps(world, {"ann": "attending", "bo": "attending", "oli": "attending", "pia": "maybe"})
    # Ann and Cy came; Bo, who said attending, did not.
    take_register(world, ("ann", "cy"))

    world.run_due(f"session_end:{MONTH}:{COACHES.id}")

    checkouts = world.received("checkout")
    # Coaches by the register; Practitioners had none: those who RSVP'd attending (not "maybe").
    # Advisors: nobody registered or RSVP'd attending, so nobody.
    assert sorted(checkouts) == sorted(email(k) for k in ("ann", "cy", "oli"))
    to_ann = checkouts[email("ann")]
    assert heading(to_ann.card) == "Check-out: Coaches"
    assert "Flags go only to the people circle (coordinators), in confidence." in shown(to_ann)
    fields = {CHECKOUT_HELPFUL, CHECKOUT_NOT_HELPFUL, CHECKOUT_RATING, CHECKOUT_FLAGS}
    assert fields <= inputs(to_ann.card).keys()
    assert actions(to_ann.card, Verb.CHECKOUT_SUBMIT)
    assert heading(checkouts[email("oli")].card) == "Check-out: Practitioners"


def test_a_leaver_ticked_present_on_the_register_gets_no_check_out(world: World) -> None:
    take_register(world, ("ann", LEAVER))
    world.run_due(f"session_end:{MONTH}:{COACHES.id}")
    assert sorted(world.received("checkout")) == [email("ann")]


# ---------------------------------------------------------------------------- introductions
def test_introductions_go_to_the_facilitators_groups_current_members(world: World) -> None:
    world.clock.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    (console,) = world.bot.say(sender("fay"), "intro")
    assert isinstance(console, dict)
    assert "3 members" in texts(console)  # the leaver still listed in the group is not counted
    sent = world.press("fay", console, Verb.INTRO_SEND, **{INTRO_MESSAGE: INTRO})
    assert "Introductions queued for 3 people." in texts(sent)

    intros = world.received("intro")
    assert sorted(intros) == sorted(email(k) for k in ("ann", "bo", "cy"))
    for message in intros.values():
        assert INTRO in shown(message)
        assert "Coaches" in shown(message) and "Practitioners" not in shown(message)
        assert actions(message.card, Verb.RSVP_ANSWER)  # the introduction asks for the RSVP
    (refused,) = world.bot.say(sender("ann"), "intro")
    assert heading(refused) == "You can't do that"


# ------------------------------------------------------------------------------- escalations
def test_a_flagged_check_out_escalates_to_the_coordinators_and_carries_no_answers(world: World) -> None:
    take_register(world, ("ann",))
    (checkout,) = world.received("checkout").values()
    world.press(
        "ann",
        checkout.card or {},
        Verb.CHECKOUT_SUBMIT,
        **{
            CHECKOUT_HELPFUL: HELPFUL,
            CHECKOUT_NOT_HELPFUL: NOT_HELPFUL,
            CHECKOUT_RATING: "2",
            CHECKOUT_FLAGS: "overworked",
        },
    )

    escalations = world.received("escalation")
    assert sorted(escalations) == sorted(email(k) for k in COORDINATORS)
    for message in escalations.values():
        assert "Ann" in shown(message)  # who it is about, for the people circle
        assert actions(message.card, Verb.ESCALATION_ACK) and actions(message.card, Verb.ESCALATION_RESOLVE)
        for secret in (HELPFUL, NOT_HELPFUL):
            assert secret not in everything(message)
    # Nothing else was queued to anyone about it: not to Fay, not to Ann.
    kinds = {(r["kind"], r["recipient"]) for r in world.services.outbox.records(MONTH).values()}
    assert not {(k, r) for k, r in kinds if r in (email("fay"), email("ann")) and k == "escalation"}


# ------------------------------------------------------------------------------------- invites
def test_meeting_requests_reach_each_groups_members_and_facilitator(world: World, tmp_path: Path) -> None:
    world.run_due("invites:2026-12")
    mail = tmp_path / "mail"

    async def deliver() -> None:
        mailer = PickupMailer(mail, clock=world.clock)
        async with outbox_drainer(world.services, BotSettings(), mailer, sender="reflect@x.org") as drainer:
            while await drainer.drain_once(world.clock.now):
                pass
        await mailer.close()

    asyncio.run(deliver())
    received: dict[str, tuple[str, set[str]]] = {}
    for path in sorted(mail.glob("*.eml")):
        message = email_parser.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
        if not parts:  # a prompt the bot could not deliver in Teams, sent by email instead
            continue
        (part,) = parts
        calendar = icalendar.Calendar.from_ical(part.get_payload(decode=True))
        assert calendar["METHOD"] == "REQUEST"
        event = next(iter(calendar.walk("VEVENT")))
        attendees = {str(a).lower().removeprefix("mailto:") for a in event.get("ATTENDEE")}
        to = {a.strip().lower() for a in str(message["To"]).split(",")}
        assert to == attendees
        received[str(event["SUMMARY"])] = (str(message["Subject"]), attendees)

    by_group = {name: attendees for name, (_, attendees) in _by_group(received).items()}
    assert by_group == {
        "Coaches": {email(k) for k in ("fay", "ann", "bo", "cy")},  # not Lee, who left
        "Practitioners": {email(k) for k in ("rex", "oli", "pia")},
        "Advisors": set(ADVISORS.members),
    }
    assert not [a for _, a in received.values() if email("cora") in a or email("di") in a]


def _by_group(received: dict[str, tuple[str, set[str]]]) -> dict[str, tuple[str, set[str]]]:
    out = {}
    for summary, value in received.items():
        (name,) = [g.name for g in GROUPS if g.name in summary]
        out[name] = value
    return out


# ------------------------------------------------------------------------------ in Teams itself
@pytest.mark.asyncio
async def test_in_teams_each_prompt_reaches_the_recipients_own_chat_only(world: World) -> None:
    async with FakeBotConnector() as fake:
        # Everyone still on the roster has opened their chat with the bot; Lee has left.
        world.bot.service_url = f"{fake.url}/"
        for key in _KEYS:
            await asyncio.to_thread(world.bot.say, sender(key), "hello")
        world.clock.now = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
        await asyncio.to_thread(answer_rsvps, world, {"ann": "attending", "oli": "attending"})
        await asyncio.to_thread(world.run_due, f"rsvp_reminder:{MONTH}:{COACHES.id}")
        async with outbox_drainer(world.services, BotSettings(), None) as drainer:
            while await drainer.drain_once(world.clock.now):
                pass

    def cards_in(key: str) -> list[dict[str, Any]]:
        return [a["content"] for m in fake.messages_to(sender(key).chat_id) for a in m.get("attachments", [])]

    got = {key: [heading(card) for card in cards_in(key)] for key in _KEYS}
    assert got == {
        **{key: [] for key in _KEYS},
        "bo": ["Reminder: will you come to Coaches?"],
        "cy": ["Reminder: will you come to Coaches?"],
        "pia": ["Reminder: will you come to Practitioners?"],
        **{key: ["Reminder: will you come to Advisors?"] for key in ("rob", "ray", "sam")},
    }
    (to_bo,) = cards_in("bo")
    assert {a["data"]["group"] for a in actions(to_bo, Verb.RSVP_ANSWER)} == {COACHES.id}
    assert not [r for r in fake.requests if r.conversation_id == sender(LEAVER).chat_id]
