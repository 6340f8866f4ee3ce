"""The use cases' boundaries: outbound content comes only from the presenter port they are given,
and the activity handler runs on its protocol alone. (That use cases never import presentation and
the bot never imports the application is tests/test_layers.py's rule for service/ and teams_bot/.)

A recording presenter (no cards at all) stands in for cards/outbound.py: every message the use
cases queue must carry exactly what it returned, for the view it was handed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity

from programme.answers import Flag, RsvpAnswer
from programme.identity import ConversationReference, TeamsUser
from programme.model import Pair, PairRound
from programme.sessions import session_in_month
from programme.settings import ProgrammeSettings
from repositories.pairs import PairRoundsRepository
from service.commands import (
    AnnounceCommand,
    AttendanceCommand,
    CheckoutCommand,
    IntroSendCommand,
    RsvpCommand,
)
from service.messages import MessageContent
from service.services import Services
from service.views import (
    AnnouncementView,
    AttendanceView,
    EscalationView,
    GoalsView,
    IntroductionView,
    PairIntroView,
    PeerCheckView,
    RsvpView,
    SessionInfo,
)
from store import Store
from teams_bot.bot import PRIVATE_ONLY, ReflectionBot
from teams_bot.handler import Card, Recognised, Reply, Unrouted

ROSTER = """email,name,role,working_days,hours_per_week,probation_end,facilitator,coordinator
fay@x.org,Fay Lead,Coach,Mon Tue Wed Thu Fri,37.5,,yes,no
ann@x.org,Ann Able,Coach,Mon Tue Wed Thu Fri,37.5,,no,no
bo@x.org,Bo Bright,Coach,Mon Tue Wed Thu Fri,30,,no,no
cy@x.org,Cy Calm,Coach,Mon Tue Wed Thu Fri,30,,no,no
di@x.org,Di Dean,Coach,Mon Tue Wed Thu Fri,22.5,,no,yes
"""
ROUND = PairRound(1, date(2026, 11, 1), (Pair(("ann@x.org", "bo@x.org")), Pair(("cy@x.org", "di@x.org"))))
# Tuesday 1 December 2026: the group's December session is ahead, its RSVPs open.
BEFORE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class RecordingMessages:
    """A presenter of plain text: what it was asked to render, and content that names the call."""

    calls: list[tuple[str, object]] = field(default_factory=list)

    def _content(self, kind: str, view: object, detail: str = "") -> MessageContent:
        self.calls.append((kind, view))
        n = len(self.calls)
        return MessageContent(
            {"recorded": kind, "n": n}, f"{kind} #{n}{detail}", {"subject": kind, "body_text": ""}
        )

    def introduction(self, view: IntroductionView) -> MessageContent:
        return self._content("introduction", view)

    def rsvp_reminder(self, view: RsvpView, email_when: str) -> MessageContent:
        return self._content("rsvp_reminder", view, f" ({email_when})")

    def register_prompt(self, view: AttendanceView) -> MessageContent:
        return self._content("register_prompt", view)

    def checkout_prompt(self, session: SessionInfo) -> MessageContent:
        return self._content("checkout_prompt", session)

    def escalation(self, view: EscalationView) -> MessageContent:
        return self._content("escalation", view)

    def pair_intro(self, view: PairIntroView) -> MessageContent:
        return self._content("pair_intro", view)

    def peer_check(self, view: PeerCheckView) -> MessageContent:
        return self._content("peer_check", view)

    def peer_nudge(self, view: PeerCheckView, weeks: int) -> MessageContent:
        return self._content("peer_nudge", view, f" ({weeks} weeks)")

    def goals_prompt(self, view: GoalsView) -> MessageContent:
        return self._content("goals_prompt", view)

    def announcement(self, view: AnnouncementView) -> MessageContent:
        return self._content("announcement", view)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Services, RecordingMessages, list[datetime]]]:
    presenter = RecordingMessages()
    now = [BEFORE]
    with Store(tmp_path / "reflect.json") as store:
        services = Services.build(store, ProgrammeSettings(), lambda: now[0], messages=presenter)
        services.programme.import_roster(ROSTER.encode(), "roster.csv", BEFORE)
        services.programme.allocate(BEFORE)
        PairRoundsRepository(store).save(ROUND)
        yield services, presenter, now


def entries(services: Services, now: datetime) -> dict[str, Any]:
    """Every queued message by key: recipient, kind, and the content as the outbox stored it."""
    return {
        e.message.key: (e.message.recipient, e.message.kind, e.message.card, e.message.text, e.message.data)
        for e in services.outbox.due(now, 1000)
    }


def test_every_outbound_message_carries_what_the_presenter_rendered_for_its_reader(
    world: tuple[Services, RecordingMessages, list[datetime]],
) -> None:
    services, presenter, now = world
    people = services.programme.people()
    fay = services.programme.actor(people["fay@x.org"])
    (group,) = fay.facilitates
    services.rsvps.answer(
        services.programme.actor(people["ann@x.org"]),
        RsvpCommand(group.id, "2026-12", RsvpAnswer.ATTENDING, None, ""),
    )
    services.introductions.send(fay, IntroSendCommand(False, "Hello all"))
    session = session_in_month(group, "2026-12", services.programme.settings)
    services.rsvps.send_reminders(group, session)
    services.peers.introduce_round(ROUND)
    services.announcements.announce(
        services.programme.actor(people["di@x.org"]),
        AnnounceCommand("Rooms move", "To the second floor", *_everyone(), preview=False),
    )

    queued = entries(services, now[0])
    # Each message is the presenter's content, verbatim, with the email fallback under its key.
    for _recipient, _kind, card, text, data in queued.values():
        assert card is not None and card["recorded"] in text
        assert data == {"email_fallback": {"subject": card["recorded"], "body_text": ""}}
    # Introductions: one view per member, each with that member's own RSVP (Ann's is answered).
    intros = {
        key.rsplit(":", 1)[1]: presenter.calls[queued[key][2]["n"] - 1][1]
        for key in queued
        if key.startswith("intro:")
    }
    assert sorted(intros) == sorted(group.members)
    for email, view in intros.items():
        assert isinstance(view, IntroductionView) and view.message == "Hello all"
        assert view.facilitator_name == "Fay Lead" and view.rsvp.session.group_name == group.name
        assert view.rsvp.answer == (RsvpAnswer.ATTENDING if email == "ann@x.org" else None)
    # Reminders: to everyone who has not answered, never to Ann; the email says when the session is.
    reminded = sorted(key.rsplit(":", 1)[1] for key in queued if key.startswith("rsvp_reminder:"))
    assert reminded == sorted(set(group.members) - {"ann@x.org"})
    reminder_texts = {queued[k][3] for k in queued if k.startswith("rsvp_reminder:")}
    assert all("December 2026" in t for t in reminder_texts)
    # Pair introductions name each person's peer; the announcement reaches everyone.
    pair_views = [v for k, v in presenter.calls if k == "pair_intro"]
    assert sorted(p.name for v in pair_views if isinstance(v, PairIntroView) for p in v.peers) == sorted(
        people[e].name for e in ("ann@x.org", "bo@x.org", "cy@x.org", "di@x.org")
    )
    announced = sorted(r for r, kind, *_ in queued.values() if kind == "announcement")
    assert announced == sorted(e for e, p in people.items() if p.active)
    assert [v for k, v in presenter.calls if k == "announcement"] == [
        AnnouncementView("Rooms move", "To the second floor", "Di Dean")
    ]


def _everyone() -> tuple[Any, str]:
    from programme.announcements import AudienceKind

    return AudienceKind.EVERYONE, ""


def test_the_register_check_outs_and_escalations_render_their_views_for_each_reader(
    world: tuple[Services, RecordingMessages, list[datetime]],
) -> None:
    services, presenter, now = world
    people = services.programme.people()
    fay = services.programme.actor(people["fay@x.org"])
    (group,) = fay.facilitates
    session = session_in_month(group, "2026-12", services.programme.settings)
    now[0] = session.end
    assert services.register.send_prompt(group, session) == 1
    ((kind, register),) = presenter.calls
    assert kind == "register_prompt" and isinstance(register, AttendanceView)
    assert [m.email for m in register.members] == list(group.members) and not register.recorded
    present = frozenset({"ann@x.org", "bo@x.org"})
    services.register.record(
        fay, AttendanceCommand(group.id, "2026-12", present, frozenset(group.members) - present)
    )
    checkouts = [v for k, v in presenter.calls if k == "checkout_prompt"]
    assert checkouts and all(isinstance(v, SessionInfo) and v.group_id == group.id for v in checkouts)
    services.checkouts.submit(
        services.programme.actor(people["ann@x.org"]),
        CheckoutCommand(group.id, "2026-12", "", "", None, frozenset({Flag.STRESSED})),
    )
    escalations = [v for k, v in presenter.calls if k == "escalation"]
    assert len(escalations) == 1 and isinstance(escalations[0], EscalationView)
    assert escalations[0].about == "Ann Able" and escalations[0].flags == frozenset({Flag.STRESSED})
    queued = entries(services, now[0])
    assert sorted(r for r, kind, *_ in queued.values() if kind == "checkout") == sorted(present)
    assert [r for r, kind, *_ in queued.values() if kind == "escalation"] == ["di@x.org"]


# ---- the activity handler on its protocol alone ------------------------------------------------
@dataclass
class FakeHandler:
    """A TurnHandler with no programme behind it: records what the bot asked for."""

    asked: list[tuple[str, object]] = field(default_factory=list)

    def recognise(self, user: TeamsUser) -> Recognised:
        self.asked.append(("recognise", user.user_id))
        return Recognised("person-1" if user.user_id == "29:known" else None, look_up=False)

    def link(self, user: TeamsUser, person: object, reference: ConversationReference | None) -> object:
        self.asked.append(("link", reference.conversation_id if reference else None))
        return ("actor", person)

    def command_name(self, text: str) -> str | None:
        return text.split(" ")[0] if text.split(" ")[0] in ("link", "rsvp") else None

    def on_text(self, actor: object, text: str, conversation_id: str) -> Reply | Unrouted:
        self.asked.append(("text", (actor, text, conversation_id)))
        if text == "rsvp":
            return [{"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "rsvp card"}]}]
        if text == "link":
            return "linked"
        return Unrouted({"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "help"}]})

    def on_card_action(self, actor: object, verb: str, data: Any) -> Card:
        if verb == "boom":
            raise RuntimeError("data that must not be logged")
        return {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": f"did {verb}"}]}

    def on_meeting_end(self, conversation_id: str) -> str | None:
        return None

    def welcome_card(self, actor: object) -> Card:
        return {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "welcome"}]}

    def not_on_roster_card(self) -> Card:
        return {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": "not on roster"}]}

    def refused_card(self, message: str) -> Card:
        return {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": f"refused: {message}"}]}

    def error_card(self, message: str) -> Card:
        return {"type": "AdaptiveCard", "body": [{"type": "TextBlock", "text": f"error: {message}"}]}


def _run(bot: ReflectionBot, **fields: Any) -> list[Activity]:
    personal = fields.pop("personal", True)
    raw = {
        "channelId": "msteams",
        "serviceUrl": "http://127.0.0.1:9/",
        "from": {"id": fields.pop("user", "29:known"), "aadObjectId": "aad-1", "name": "Someone"},
        "recipient": {"id": "28:bot", "name": "Reflect"},
        "conversation": (
            {"id": "a:chat-1", "conversationType": "personal"}
            if personal
            else {"id": "19:meeting@thread.v2", "conversationType": "groupChat", "isGroup": True}
        ),
        **fields,
    }
    adapter = TestAdapter()
    activity = Activity().deserialize(json.loads(json.dumps(raw)))
    asyncio.run(adapter.run_pipeline(adapter.create_turn_context(activity), bot.on_turn))
    return list(adapter.activity_buffer)


def _said(replies: list[Activity]) -> list[str]:
    out = []
    for reply in replies:
        cards = [a.content["body"][0]["text"] for a in reply.attachments or []]
        out.extend(cards or [reply.text or ""])
    return out


def test_the_bot_keeps_its_rules_over_any_handler() -> None:
    handler = FakeHandler()
    bot = ReflectionBot(handler)
    try:
        assert _said(_run(bot, type="message", id="m", text="rsvp")) == ["rsvp card"]
        assert ("link", "a:chat-1") in handler.asked  # a 1:1 chat's reference is kept
        # Outside a 1:1 chat: only `link` reaches the handler; anything else, and any help, points away.
        handler.asked.clear()
        assert _said(_run(bot, type="message", id="m", text="rsvp", personal=False)) == [PRIVATE_ONLY]
        assert handler.asked == []
        assert _said(_run(bot, type="message", id="m", text="link", personal=False)) == ["linked"]
        assert ("link", None) in handler.asked  # no reference from a group chat
        assert _said(_run(bot, type="message", id="m", text="hello")) == ["help"]
        # Strangers get the not-on-roster card and nothing is run for them.
        handler.asked.clear()
        assert _said(_run(bot, type="message", id="m", text="rsvp", user="29:stranger")) == ["not on roster"]
        assert [kind for kind, _ in handler.asked] == ["recognise"]
        # A card press is answered with the handler's card; a failure with an error card, never data.
        value = {"action": {"type": "Action.Execute", "verb": "rsvp.answer", "data": {}}}
        (answer,) = [r for r in _run(bot, type="invoke", name="adaptiveCard/action", value=value)]
        assert answer.value.status == 200 and answer.value.body.value["body"][0]["text"] == "did rsvp.answer"
        value = {"action": {"type": "Action.Execute", "verb": "boom", "data": {}}}
        (failed,) = _run(bot, type="invoke", name="adaptiveCard/action", value=value)
        assert failed.value.body.value["body"][0]["text"].startswith("error: Something went wrong")
        (other,) = _run(bot, type="invoke", name="composeExtension/query", value={})
        assert other.value.status == 400
    finally:
        bot.close()
