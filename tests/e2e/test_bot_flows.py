"""End to end: OUR bot (app.build_web_app over a real store) driven through the Agents Playground.

Every assertion is on what arrives: the bot's messages as the Playground logged them (any chat),
the cards Action.Execute invokes answer with, the UI websocket (the current user's chat), and the
store. The world (people, groups, clock) is described in tests/e2e/conftest.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("aiohttp", reason="aiohttp is not installed")
pytest.importorskip("botbuilder.core", reason="botbuilder-core is not installed")
pytest.importorskip(
    "botbuilder.integration.aiohttp", reason="botbuilder-integration-aiohttp is not installed"
)

from programme.answers import AbsenceReason, EscalationStatus, Flag, RsvpAnswer  # noqa: E402
from programme.policies import Permission, refusal  # noqa: E402
from programme.records import Rsvp  # noqa: E402
from repositories.announcements import AnnouncementsRepository  # noqa: E402
from repositories.answers import (  # noqa: E402
    CheckoutsRepository,
    PeerRecordsRepository,
    RegistersRepository,
    RsvpsRepository,
)
from repositories.escalations import EscalationsRepository, IntroductionsRepository  # noqa: E402
from repositories.links import TeamsLinksRepository  # noqa: E402
from tests.card_reading import card_text, facts_of, find_action, heading, inputs  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    BEFORE_SESSION,
    CLEO,
    CORA,
    DURING_SESSION,
    FIONA,
    G1,
    G1_NAME,
    G2,
    MEMBERS,
    MONTH,
    OSCAR,
    PAT,
    QUINN,
    REX,
    RIA,
    World,
)
from tests.e2e.playground import User, playground_available  # noqa: E402

_reason = playground_available()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

pytestmark = pytest.mark.timeout(120)

Run = Callable[..., None]
EVERYONE = (CORA, FIONA, PAT, QUINN, RIA, OSCAR)


def _names(users: Iterable[User]) -> set[str]:
    return {u.name for u in users}


def _sends(w: World, group_id: str) -> int:
    """How many times the group's introduction of the month was sent."""
    introduction = IntroductionsRepository(w.store).get(group_id, MONTH)
    assert introduction is not None
    return introduction.sends


def _answer(rsvp: Rsvp | None) -> RsvpAnswer | None:
    return rsvp.answer if rsvp else None


def _intro_heading() -> str:
    return f"{FIONA.name} introduces {G1_NAME}"


# ------------------------------------------------------------------------------------------- 1
def test_install_welcomes_by_role_and_refuses_strangers_politely(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        got = await w.install(CORA, FIONA, PAT, QUINN, OSCAR)

        cora, fiona, pat, quinn = (got[u.id] for u in (CORA, FIONA, PAT, QUINN))
        assert heading(cora) == f"Welcome, {CORA.name}"
        assert "As a coordinator" in card_text(cora)
        assert "As a participant" not in card_text(cora) and "As a facilitator" not in card_text(cora)
        assert "announcements" in card_text(cora)

        assert heading(fiona) == f"Welcome, {FIONA.name}"
        assert "As a facilitator" in card_text(fiona)
        assert "As a coordinator" not in card_text(fiona) and "As a participant" not in card_text(fiona)

        for member, card in ((PAT, pat), (QUINN, quinn)):  # Quinn: recognised by email (no aad id)
            assert heading(card) == f"Welcome, {member.name}"
            assert "As a participant" in card_text(card)
            assert "As a facilitator" not in card_text(card) and "As a coordinator" not in card_text(card)

        # Oscar is not on this roster: a polite card, and nothing kept about him.
        oscar = got[OSCAR.id]
        assert heading(oscar) == "Hello!"
        assert "couldn't find you on the programme's staff list" in card_text(oscar)
        assert "Welcome" not in card_text(oscar)

        # The bot remembered the four it knows (Teams id -> email, and their 1:1 chat) ...
        # Only Quinn, recognised by email (no aad id on the roster), needs the Teams-user link; the
        # others are found by their aad id on every turn.
        links = TeamsLinksRepository(w.store)
        assert {u.id: links.known_email(u.id) for u in EVERYONE} == {
            u.id: (QUINN.email if u == QUINN else None) for u in EVERYONE
        }
        reachable = {u.email for u in EVERYONE if links.reference(u.email) is not None}
        assert reachable == {u.email for u in (CORA, FIONA, PAT, QUINN)}
        quinn = links.reference(QUINN.email)
        assert quinn is not None and quinn.conversation_id == w.chats[QUINN.id]
        assert quinn.user_id == QUINN.id
        # ... and nothing anywhere in the data files about Oscar.
        for path in sorted(Path(w.db_path).parent.rglob("*")):
            if path.is_file() and not path.name.endswith(".lock"):
                data = path.read_text(encoding="utf-8", errors="replace").lower()
                for trace in (OSCAR.id, OSCAR.aad_object_id, OSCAR.email, "oscar"):
                    assert trace.lower() not in data, f"{trace} stored in {path}"

        # Cora is the Playground's current user: her welcome is on the UI websocket too.
        ui = await w.playground.wait_for_message(
            w.playground.personal_chat_id, lambda m: bool(m.get("attachments"))
        )
        assert heading(ui["attachments"][0]["content"]) == f"Welcome, {CORA.name}"

    run_world(scenario, omit=(OSCAR,))


# ------------------------------------------------------------------------------------------- 2
def test_facilitator_sends_introductions_once_and_again_on_request(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        await w.install(*EVERYONE)
        mark = w.playground.log_mark()

        msg_id, console = await w.say_card(FIONA, "intro")
        assert heading(console) == "Introduce yourself to your groups"
        assert G1_NAME in card_text(console) and "3 members" in card_text(console)
        send = find_action(console, "intro.send")
        assert send["data"] == {"again": False}
        assert "intro_message" in inputs(console)

        data = {**send["data"], "intro_message": "Looking forward to meeting you all."}
        after = await w.click(FIONA, msg_id, "intro.send", data)
        assert "Introductions queued for 3 people." in card_text(after)
        again = find_action(after, "intro.send")
        assert again["data"] == {"again": True} and again["title"] == "Send again"

        await w.settle()
        received = w.cards_by_user(mark)
        intros = {
            name: [c for c in cards if heading(c) == _intro_heading()] for name, cards in received.items()
        }
        assert {n for n, cs in intros.items() if cs} == _names(MEMBERS)
        for member in MEMBERS:
            (card,) = intros[member.name]
            assert "Looking forward to meeting you all." in card_text(card)
            attend = find_action(card, "rsvp.answer", answer="attending")
            assert attend["data"] == {"group": G1, "month": MONTH, "answer": "attending"}
        assert _sends(w, G1) == 1

        # Pressing the first button again (a double click, a retried invoke) sends nothing new.
        mark2 = w.playground.log_mark()
        repeat = await w.click(FIONA, msg_id, "intro.send", data)
        assert "Introductions queued for 0 people." in card_text(repeat)
        await w.settle()
        assert not [c for cs in w.cards_by_user(mark2).values() for c in cs if heading(c) == _intro_heading()]

        # "Send again" does send again, once more to each member.
        again_card = await w.click(
            FIONA, msg_id, "intro.send", {**again["data"], "intro_message": "Reminder!"}
        )
        assert "Introductions queued for 3 people." in card_text(again_card)
        await w.settle()
        second = w.cards_by_user(mark2)
        for member in MEMBERS:
            (card,) = [c for c in second[member.name] if heading(c) == _intro_heading()]
            assert "Reminder!" in card_text(card)
        assert set(second) == _names(MEMBERS)
        assert _sends(w, G1) == 2

    run_world(scenario)


# ------------------------------------------------------------------------------------------- 3
def test_rsvp_answers_are_stored_and_reasons_stay_with_coordinators(run_world: Run) -> None:
    note = "Hospital appointment for my knee, please keep this private"

    async def scenario(w: World) -> None:
        await w.install(CORA, FIONA, PAT, QUINN)
        rsvps = RsvpsRepository(w.store)

        msg_id, card = await w.say_card(PAT, "rsvp")
        assert "Will you come?" in card_text(card)
        attend = find_action(card, "rsvp.answer", answer="attending")
        answered = await w.click(PAT, msg_id, "rsvp.answer", attend["data"])
        assert "Your answer: Attending" in card_text(answered)
        assert find_action(answered, "rsvp.answer", answer="maybe")  # still changeable
        assert _answer(rsvps.get(MONTH, G1, PAT.email)) is RsvpAnswer.ATTENDING

        # Changing the answer replaces it.
        maybe = await w.click(
            PAT, msg_id, "rsvp.answer", find_action(answered, "rsvp.answer", answer="maybe")["data"]
        )
        assert "Your answer: Maybe" in card_text(maybe)
        assert _answer(rsvps.get(MONTH, G1, PAT.email)) is RsvpAnswer.MAYBE

        # Quinn can't attend (her card's ShowCard holds the reason inputs and the Send button).
        q_id, q_card = await w.say_card(QUINN, "rsvp")
        cant = find_action(q_card, "rsvp.answer", answer="not_attending")
        assert {"rsvp_reason", "rsvp_note"} <= set(inputs(q_card))
        # Without a reason: a clear error, nothing stored.
        missing = await w.click(QUINN, q_id, "rsvp.answer", cant["data"])
        assert "Please choose a reason" in card_text(missing)
        assert rsvps.get(MONTH, G1, QUINN.email) is None
        data = {**cant["data"], "rsvp_reason": "sickness", "rsvp_note": note}
        q_answered = await w.click(QUINN, q_id, "rsvp.answer", data)
        assert "Your answer: Can't attend (Sickness)" in card_text(q_answered)
        stored = rsvps.get(MONTH, G1, QUINN.email)
        assert stored is not None
        assert (stored.answer, stored.reason, stored.note) == (
            RsvpAnswer.NOT_ATTENDING,
            AbsenceReason.SICKNESS,
            note,
        )

        # The facilitator sees who is coming, never why someone isn't.
        _, roster = await w.say_card(FIONA, "coming")
        assert heading(roster) == f"Who is coming: {G1_NAME}"
        shown = card_text(roster)
        blocks = [b.get("text") for b in roster["body"]]
        assert blocks[blocks.index("Can't attend (1)") + 1] == QUINN.name
        assert blocks[blocks.index("Maybe (1)") + 1] == PAT.name
        assert blocks[blocks.index("No answer yet (1)") + 1] == RIA.name
        for secret in ("Sickness", "sickness", note, "knee"):
            assert secret not in json.dumps(roster)
        assert "coordinators only" not in shown

        # A coordinator names the group and sees the reason and the note.
        _, ask = await w.say_card(CORA, "coming")
        assert heading(ask) == "That didn't work" and "coming GROUP-ID" in card_text(ask)
        _, full = await w.say_card(CORA, f"coming {G1}")
        assert "Includes absence reasons: for the programme coordinators only." in card_text(full)
        assert facts_of(full) == {QUINN.name: f"Sickness: {note}"}

    run_world(scenario)


# ------------------------------------------------------------------------------------------- 4
def test_register_is_prefilled_from_rsvps_and_triggers_checkouts(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        await w.install(*EVERYONE)
        cards = {}
        for member, answer in ((PAT, "attending"), (QUINN, "not_attending"), (RIA, "maybe")):
            msg_id, card = await w.say_card(member, "rsvp")
            cards[member.id] = (msg_id, card)
            data = find_action(card, "rsvp.answer", answer=answer)["data"]
            if answer == "not_attending":
                data = {**data, "rsvp_reason": "annual_leave"}
            await w.click(member, msg_id, "rsvp.answer", data)

        # Before the session starts there is no register to take.
        early = await w.say(FIONA, "attendance")
        assert "opens when the session starts" in json.dumps(early.body)

        w.clock.set(DURING_SESSION)
        # Once it has started, answers are closed: Pat's late change is refused and not stored.
        msg_id, card = cards[PAT.id]
        late = await w.click(
            PAT, msg_id, "rsvp.answer", find_action(card, "rsvp.answer", answer="maybe")["data"]
        )
        assert "answers are closed" in card_text(late)
        assert _answer(RsvpsRepository(w.store).get(MONTH, G1, PAT.email)) is RsvpAnswer.ATTENDING
        _, closed = await w.say_card(RIA, "rsvp")
        assert "Your answer: Maybe" in card_text(closed) and "answers are closed" in card_text(closed)
        assert "actions" not in closed
        mark = w.playground.log_mark()
        reg_id, register = await w.say_card(FIONA, "attendance")
        assert heading(register).startswith(f"Register: {G1_NAME}")
        toggles = {k: v for k, v in inputs(register).items() if k.startswith("present:")}
        assert {k: v["value"] for k, v in toggles.items()} == {
            f"present:{PAT.email}": "true",
            f"present:{QUINN.email}": "false",
            f"present:{RIA.email}": "false",
        }
        submit = find_action(register, "attendance.submit")
        assert submit["data"] == {"group": G1, "month": MONTH}

        # Ria said maybe but came: the facilitator ticks her, and saves once.
        data = {
            **submit["data"],
            **{k: v["value"] for k, v in toggles.items()},
            f"present:{RIA.email}": "true",
        }
        saved = await w.click(FIONA, reg_id, "attendance.submit", data)
        assert heading(saved) == f"Register saved: {G1_NAME}, November 2026"
        shown = [b.get("text") for b in saved["body"]]
        assert shown[shown.index("Present (2)") + 1] == f"{PAT.name}, {RIA.name}"
        assert shown[shown.index("Absent (1)") + 1] == QUINN.name
        record = RegistersRepository(w.store).get(MONTH, G1)
        assert record is not None
        assert record.present == {PAT.email, RIA.email}
        assert record.absent == {QUINN.email}
        assert record.recorded_by == FIONA.email

        await w.settle()
        received = w.cards_by_user(mark)
        checkouts = {n for n, cs in received.items() for c in cs if heading(c) == f"Check-out: {G1_NAME}"}
        assert checkouts == {PAT.name, RIA.name}
        for name in (PAT.name, RIA.name):
            (card,) = [c for c in received[name] if heading(c).startswith("Check-out")]
            assert find_action(card, "checkout.submit")["data"] == {"group": G1, "month": MONTH}

        # Saving the same register again (a correction, a double click) prompts nobody twice.
        mark2 = w.playground.log_mark()
        await w.click(FIONA, reg_id, "attendance.submit", data)
        await w.settle()
        assert set(w.cards_by_user(mark2)) == set()

    run_world(scenario)


# ------------------------------------------------------------------------------------------- 5
def test_checkout_flag_escalates_to_coordinators_only(run_world: Run) -> None:
    helpful = "Talking through the caseload backlog with Ria"
    not_helpful = "I could not say how exhausted I am in front of my manager"

    async def scenario(w: World) -> None:
        await w.install(*EVERYONE)
        w.clock.set(DURING_SESSION)
        start = w.playground.log_mark()

        reg_id, register = await w.say_card(FIONA, "attendance")
        present = {k: "true" for k in inputs(register) if k.startswith("present:")}
        await w.click(
            FIONA,
            reg_id,
            "attendance.submit",
            {**find_action(register, "attendance.submit")["data"], **present},
        )
        await w.settle()

        # Pat answers the check-out card that arrived in his chat.
        pat_chat = w.chats[PAT.id]
        (prompt,) = [a for a in w.bot_messages(start) if a.conversation_id == pat_chat]
        card = prompt.attachments[0]["content"]
        assert {"checkout_helpful", "checkout_not_helpful", "checkout_rating", "checkout_flags"} <= set(
            inputs(card)
        )
        flags = inputs(card)["checkout_flags"]
        assert flags["isMultiSelect"] is True
        mark = w.playground.log_mark()
        data = {
            **find_action(card, "checkout.submit")["data"],
            "checkout_helpful": helpful,
            "checkout_not_helpful": not_helpful,
            "checkout_rating": "4",
            "checkout_flags": "overworked,stressed",
        }
        thanks = await w.click(PAT, prompt.id, "checkout.submit", data)
        assert heading(thanks) == "Thank you"
        assert "people circle may get in touch" in card_text(thanks)
        assert helpful not in json.dumps(thanks) and not_helpful not in json.dumps(thanks)

        stored = CheckoutsRepository(w.store).get(MONTH, G1, PAT.email)
        assert stored is not None
        assert (stored.helpful, stored.not_helpful, stored.rating) == (helpful, not_helpful, 4)
        assert stored.flags == {Flag.OVERWORKED, Flag.STRESSED}
        (esc,) = EscalationsRepository(w.store).all()
        assert (esc.about, esc.flags, esc.status) == (
            PAT.email,
            {Flag.OVERWORKED, Flag.STRESSED},
            EscalationStatus.OPEN,
        )

        docs = await w.settle()
        received = w.cards_by_user(mark)
        # Only Cora gets it in Teams; Cleo (roster-only coordinator, never installed) is unreachable.
        assert set(received) == {CORA.name}
        (esc_card,) = received[CORA.name]
        assert heading(esc_card) == f"Escalation: {PAT.name}"
        assert "Flags: Overworked, Stressed" in card_text(esc_card)
        escalation_docs = {d["recipient"]: d["status"] for d in docs.values() if d["kind"] == "escalation"}
        assert escalation_docs == {CORA.email: "sent", CLEO: "unreachable"}
        # Cora is the current user: the card shows on the UI stream of her chat too.
        ui = await w.playground.wait_for_message(
            w.playground.personal_chat_id,
            lambda m: (
                bool(m.get("attachments"))
                and heading(m["attachments"][0]["content"]).startswith("Escalation")
            ),
        )
        assert ui["attachments"][0]["content"] == esc_card

        # The words of the check-out are in no card anyone received, all test long.
        everything = json.dumps([a.body for a in w.bot_messages(start)])
        for words in (helpful, not_helpful, "exhausted", "backlog"):
            assert words not in everything

        # Cora handles it; a participant cannot see the list.
        esc_msg = [a for a in w.bot_messages(mark) if a.conversation_id == w.chats[CORA.id]][0]
        acked = await w.click(
            CORA, esc_msg.id, "escalation.ack", find_action(esc_card, "escalation.ack")["data"]
        )
        assert "Acknowledged" in card_text(acked) and facts_of(acked)["Handled by"] == CORA.name
        handled = EscalationsRepository(w.store).get(esc.id)
        assert handled is not None and handled.status is EscalationStatus.ACKNOWLEDGED
        _, listing = await w.say_card(CORA, "escalations")
        assert heading(listing) == f"Escalation: {PAT.name}"
        _, refused = await w.say_card(PAT, "escalations")
        assert heading(refused) == "You can't do that" and "That's for coordinators." in card_text(refused)

    run_world(scenario)


# ------------------------------------------------------------------------------------------- 6
def test_coordinator_previews_then_sends_announcements(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        await w.install(*EVERYONE)
        title, text = "Reflection week", "Sessions run as usual; bring a colleague's question."

        msg_id, composer = await w.say_card(CORA, "announce")
        assert heading(composer) == "New announcement"
        assert {"announce_title", "announce_text", "announce_audience", "announce_audience_value"} <= set(
            inputs(composer)
        )
        to_group = {
            "announce_title": title,
            "announce_text": text,
            "announce_audience": "group",
            "announce_audience_value": G1_NAME,
        }

        mark = w.playground.log_mark()
        preview = await w.click(CORA, msg_id, "announce.preview", to_group)
        assert "Would go to 4 people." in card_text(preview)  # three members and their facilitator
        assert inputs(preview)["announce_title"]["value"] == title
        await w.settle()
        assert {n: [heading(c) for c in cs] for n, cs in w.cards_by_user(mark).items()} == {
            CORA.name: [title]
        }

        mark = w.playground.log_mark()
        result = await w.click(CORA, msg_id, "announce.send", to_group)
        # Answered at once: the four messages are queued, none delivered yet.
        assert heading(result) == f"Announcement being sent: {title}"
        assert facts_of(result)["Pending"] == "4"
        assert f"To group {G1_NAME}." in card_text(result)
        await w.settle()
        received = {n: [heading(c) for c in cs] for n, cs in w.cards_by_user(mark).items()}
        assert received == {u.name: [title] for u in (FIONA, *MEMBERS)}
        (pat_card,) = w.cards_by_user(mark)[PAT.name]
        assert text in card_text(pat_card) and f"From {CORA.name}" in card_text(pat_card)

        # Pressed twice: still sent once.
        mark = w.playground.log_mark()
        await w.click(CORA, msg_id, "announce.send", to_group)
        await w.settle()
        assert w.cards_by_user(mark) == {}

        # Everyone: the six who installed get it; the four roster-only people are unreachable.
        w.clock.set(BEFORE_SESSION + timedelta(minutes=5))
        mark = w.playground.log_mark()
        everyone = {**to_group, "announce_title": "Programme news", "announce_audience": "everyone"}
        result = await w.click(CORA, msg_id, "announce.send", everyone)
        assert "To everyone." in card_text(result)
        await w.settle()
        received = {n: [heading(c) for c in cs] for n, cs in w.cards_by_user(mark).items()}
        assert received == {u.name: ["Programme news"] for u in EVERYONE}
        _, status = await w.say_card(CORA, "status")
        assert heading(status) == "Announcement sent: Programme news"
        assert facts_of(status) == {"Sent": "6", "Failed": "0", "Unreachable": "4"}
        unreachable = {
            d["recipient"]
            for d in w.outbox_docs().values()
            if d["kind"] == "announcement" and d["status"] == "unreachable"
        }
        assert unreachable == {REX, CLEO, "nina@contoso.test", "omar@contoso.test"}

    run_world(scenario)


# ------------------------------------------------------------------------------------------- 7
def test_refusals_bad_payloads_and_help(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        await w.install(CORA, FIONA, PAT, OSCAR)
        w.clock.set(DURING_SESSION)
        escalation = w.services.escalations.escalate(
            "test:pat", PAT.email, PAT.email, "checkout", frozenset(), MONTH
        )
        await w.settle()
        msg_id, _ = await w.say_card(PAT, "help")

        def snapshot() -> dict[str, object]:
            return {
                "attendance": RegistersRepository(w.store).of_month(MONTH),
                "rsvps": RsvpsRepository(w.store).of_month(MONTH),
                "introductions": [IntroductionsRepository(w.store).get(g, MONTH) for g in (G1, G2)],
                "announcements": AnnouncementsRepository(w.store).all(),
                "escalations": EscalationsRepository(w.store).all(),
                "outbox": json.dumps(w.outbox_docs(), sort_keys=True),
            }

        before = snapshot()
        mark = w.playground.log_mark()
        register = {
            "group": G1,
            "month": MONTH,
            f"present:{PAT.email}": "true",
            f"present:{QUINN.email}": "true",
        }
        announce = {"announce_title": "Hi", "announce_text": "All", "announce_audience": "everyone"}
        refusals = [
            (PAT, "attendance.submit", register, refusal(Permission.LEADER)),
            (PAT, "announce.send", announce, refusal(Permission.COORDINATOR)),
            (FIONA, "announce.send", announce, refusal(Permission.COORDINATOR)),
            (PAT, "escalation.resolve", {"id": escalation}, refusal(Permission.COORDINATOR)),
            (
                OSCAR,
                "rsvp.answer",
                {"group": G1, "month": MONTH, "answer": "attending"},
                refusal(Permission.MEMBER),
            ),
            # A facilitator runs only their own group's session.
            (
                FIONA,
                "attendance.submit",
                {"group": G2, "month": MONTH, f"present:{OSCAR.email}": "true"},
                refusal(Permission.LEADER),
            ),
            # "Only a group's facilitator takes its attendance": a coordinator oversees, refused too.
            (CORA, "attendance.submit", register, refusal(Permission.LEADER)),
        ]
        for user, verb, data, reason in refusals:
            chat_msg = msg_id if user == PAT else (await w.say_card(user, "help"))[0]
            card = await w.click(user, chat_msg, verb, data)
            assert heading(card) == "You can't do that", (verb, card)
            assert reason in card_text(card) and "Nothing was changed." in card_text(card)

        # A participant pressing a facilitator's intro button: told, nothing queued.
        intro = await w.click(PAT, msg_id, "intro.send", {"again": True})
        assert heading(intro) == "You can't do that"
        assert refusal(Permission.FACILITATOR) in card_text(intro)

        # Forged or malformed payloads: a clear error card, nothing stored.
        bad = [
            (
                "rsvp.answer",
                {"group": G1, "month": "November", "answer": "attending"},
                "month is missing or not valid",
            ),
            ("rsvp.answer", {"group": G1, "month": MONTH, "answer": "definitely"}, "not one of the choices"),
            (
                "rsvp.answer",
                {"group": "../../etc", "month": MONTH, "answer": "attending"},
                "group is missing",
            ),
            (
                "checkout.submit",
                {"group": G1, "month": MONTH, "checkout_rating": "11"},
                "whole number from 1 to 5",
            ),
            ("admin.delete_everything", {"id": "x"}, "not one I know"),
            ("rsvp.answer", "not an object", "sent no data"),
        ]
        for verb, data, message in bad:
            card = await w.click(PAT, msg_id, verb, data)  # type: ignore[arg-type]
            assert heading(card) == "That didn't work", (verb, card)
            assert message in card_text(card), (verb, card_text(card))
        # An answer for a group that does not exist.
        ghost = await w.click(
            PAT, msg_id, "rsvp.answer", {"group": "thu-99", "month": MONTH, "answer": "attending"}
        )
        assert "no longer exists" in card_text(ghost)

        _, other_group = await w.say_card(FIONA, f"coming {G2}")
        assert heading(other_group) == "You can't do that"

        assert snapshot() == before

        # Identity comes from the channel, never from card data: a forged "email" answers for Pat.
        w.clock.set(BEFORE_SESSION)
        forged = {"group": G1, "month": MONTH, "answer": "maybe", "email": QUINN.email, "from": QUINN.id}
        assert "Your answer: Maybe" in card_text(await w.click(PAT, msg_id, "rsvp.answer", forged))
        assert [(g, e) for g, e, _ in RsvpsRepository(w.store).of_month(MONTH)] == [(G1, PAT.email)]
        await w.settle()
        # Only their help cards.
        assert w.cards_by_user(mark).keys() <= {PAT.name, FIONA.name, OSCAR.name, CORA.name}

        # Unknown text gets the person's own help; another role's command says why not.
        _, unknown = await w.say_card(PAT, "what is this?")
        assert heading(unknown) == "What you can ask me"
        commands = facts_of(unknown)
        assert {"help", "rsvp", "checkout"} <= set(commands)
        assert not {"announce", "attendance", "intro", "escalations"} & set(commands)
        _, other_role = await w.say_card(PAT, "announce")
        assert heading(other_role) == "You can't do that"
        assert "That's for coordinators." in card_text(other_role)
        _, coordinator_help = await w.say_card(CORA, "help")
        assert {"announce", "escalations", "status"} <= set(facts_of(coordinator_help))

    run_world(scenario)


# ------------------------------------------------------------------------------------------- 8
def test_nothing_personal_is_shown_in_group_chats_or_channels(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        pg = w.playground
        await w.install(CORA, QUINN)
        w.services.escalations.escalate(
            "test:quinn", QUINN.email, QUINN.email, "checkout", frozenset(), MONTH
        )
        await w.settle()

        mark = pg.log_mark()
        await pg.install(pg.group_chat_id)  # Cora adds the app to the group chat
        hello = await pg.wait_for_bot_message(pg.group_chat_id, since=mark)
        assert hello.attachments == [] and "1:1 chat" in (hello.text or "")

        for where, user, text in (
            (pg.group_chat_id, QUINN, "rsvp"),
            (pg.group_chat_id, CORA, "escalations"),
            (pg.team_id, QUINN, "checkout"),
            (pg.team_id, CORA, "coming thu-1"),
        ):
            lmark = pg.log_mark()
            await pg.send_text(where, user.id, text)
            # A channel post from the UI starts a thread: "<channel>;messageid=<id>".
            reply = await pg.wait_for_bot_activity(
                lambda a, where=where: (
                    a.name == "message" and (a.conversation_id or "").split(";")[0] == where
                ),
                since=lmark,
            )
            assert reply.attachments == [], (where, text, reply.body)
            assert "1:1 chat" in (reply.text or "")

        # A card action arriving from a group conversation is refused and changes nothing.
        refused = await pg.invoke_action(
            pg.group_chat_id,
            QUINN.id,
            hello.id or "",
            "rsvp.answer",
            {"group": G1, "month": MONTH, "answer": "not_attending", "rsvp_reason": "sickness"},
        )
        assert heading(refused["value"]) == "You can't do that"
        assert RsvpsRepository(w.store).of_month(MONTH) == []
        # Not one card went to a group conversation.
        assert not [
            a
            for a in w.bot_messages(mark)
            if a.conversation_id in (pg.group_chat_id, pg.team_id) and a.attachments
        ]

    run_world(scenario)


# ------------------------------------------------------------------------------------------- 9
def test_forged_months_cannot_file_answers_elsewhere_or_stall_deliveries(run_world: Run) -> None:
    """Card data names a month; a forged one (far future or past) is refused. Before the fix three
    forged future months in peer records pushed the current month out of the outbox's window of
    recent periods, and every message of the month (introductions here) stayed pending for good."""

    async def scenario(w: World) -> None:
        await w.install(CORA, FIONA, PAT)
        round_ = w.services.programme.rotate_pairs(w.clock().date())
        msg_id, card = await w.say_card(PAT, "peer")
        record = find_action(card, "peer.record")
        assert record["data"] == {"round": round_.number, "month": MONTH}

        for month in ("9999-10", "9999-11", "9999-12", "2001-01"):
            forged = {**record["data"], "month": month, "peer_met": "no", "peer_flags": "stressed"}
            refused = await w.click(PAT, msg_id, "peer.record", forged)
            # Closed (2001-01), or not a programme month at all (9999-xx): either way refused.
            assert heading(refused) == "That didn't work", card_text(refused)
            assert "closed" in card_text(refused) or "month" in card_text(refused), card_text(refused)
        w.clock.set(DURING_SESSION)
        checkout = {"group": G1, "month": "2001-01", "checkout_flags": "stressed"}
        assert "closed" in card_text(await w.click(PAT, msg_id, "checkout.submit", checkout))
        assert PeerRecordsRepository(w.store).periods() == []
        assert CheckoutsRepository(w.store).periods() == []
        assert EscalationsRepository(w.store).all() == []

        # The real month's answer is kept.
        mark = w.playground.log_mark()
        done = await w.click(
            PAT, msg_id, "peer.record", {**record["data"], "peer_met": "yes", "peer_flags": ""}
        )
        assert heading(done) == "Thanks, that's recorded"
        kept = PeerRecordsRepository(w.store).get(MONTH, round_.number, PAT.email)
        assert kept is not None and kept.met is True

        # Deliveries of the month still flow.
        intro_id, console = await w.say_card(FIONA, "intro")
        await w.click(FIONA, intro_id, "intro.send", find_action(console, "intro.send")["data"])
        docs = await w.settle()
        assert {d["status"] for k, d in docs.items() if k.startswith("intro:")} == {"sent", "unreachable"}
        assert [heading(c) for c in w.cards_by_user(mark)[PAT.name]] == [_intro_heading()]

    run_world(scenario)


# ------------------------------------------------------------------------------------------ 10
def test_meeting_end_brings_the_check_out_to_each_attendee(run_world: Run) -> None:
    """The facilitator links the session's meeting chat; the meetingEnd event then sends the members
    who RSVP'd attending (no register was taken) their check-out in their own chat, and the meeting
    chat is told so (no card there). Ria never answered: she gets none until a register says she came."""

    async def scenario(w: World) -> None:
        pg = w.playground
        await w.install(FIONA, *MEMBERS)
        attending = (PAT, QUINN)
        for member in attending:
            msg_id, card = await w.say_card(member, "rsvp")
            await w.click(
                member, msg_id, "rsvp.answer", find_action(card, "rsvp.answer", answer="attending")["data"]
            )
        mark = pg.log_mark()
        await pg.install(pg.group_chat_id)  # the bot joins the (meeting) group chat
        await pg.wait_for_bot_message(pg.group_chat_id, since=mark)  # its "1:1 chat only" hello

        mark = pg.log_mark()
        await pg.send_text(pg.group_chat_id, FIONA.id, "link")
        linked = await pg.wait_for_bot_message(pg.group_chat_id, since=mark)
        assert "now linked to " + G1_NAME in (linked.text or "")

        w.clock.set(DURING_SESSION + timedelta(hours=1))  # the session has ended
        mark = pg.log_mark()
        event = await pg.template(pg.group_chat_id)
        event.update(type="event", name="application/vnd.microsoft.meetingEnd", value={"Id": "meeting-1"})
        event["from"] = FIONA.account()
        event["channelData"] = {"tenant": {"id": pg.tenant_id}, "meeting": {"id": "meeting-1"}}
        await pg.send_activity(event)
        note = await pg.wait_for_bot_message(pg.group_chat_id, since=mark)
        assert note.attachments == [] and "check-out has arrived in your chat" in (note.text or "")
        await w.settle()
        received = w.cards_by_user(mark)
        assert set(received) == _names(attending)
        for member in attending:
            assert [heading(c) for c in received[member.name]] == [f"Check-out: {G1_NAME}"]
            assert "check-out" in card_text(received[member.name][0]).lower()

    run_world(scenario)
