"""Every prompt reaches people the bot cannot reach in Teams, by email: parsed back from pickup mail.

Nobody here ever opened a chat with the bot. Each prompt (introduction, pair introduction, peer
check, nudge, goals, register, check-out, escalation) must arrive as an email that says how to
answer in Teams, and none may carry what anyone answered.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from app import outbox_drainer
from mailers.pickup import PickupMailer
from programme.answers import AbsenceReason, Flag, Goal, RsvpAnswer
from programme.records import Rsvp
from programme.sessions import session_in_month
from repositories.answers import RsvpsRepository
from repositories.pairs import PairRoundsRepository
from service.commands import AttendanceCommand, CheckoutCommand, GoalsCommand, IntroSendCommand
from store import Store
from support.config import BotSettings
from tests.worlds import PEERS, PROBATION_ROUND, Row, actor, build_services

ROSTER = (Row("fay", facilitator=True, hours=37.5), *PEERS)
ROUND = PROBATION_ROUND
# Thursday 10 December 2026, during the group's session: 5+ weeks since the round began.
NOW = datetime(2026, 12, 10, 10, 30, tzinfo=UTC)
SECRETS = (
    "secret-helpful-words",
    "secret-unhelpful-words",
    "Overworked",
    "overworked",
    "A private goal of Bo's",
    "A shared goal of Bo's",
    "secret capacity plan",
    "my knee operation",
    "sickness",
    "Sickness",
)


def mails(directory: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(directory.glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def plain_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_every_prompt_falls_back_to_email_with_instructions_and_nothing_confidential(tmp_path: Path) -> None:
    mail = tmp_path / "mail"
    with Store(tmp_path / "reflect.json") as store:
        services = build_services(store, lambda: NOW, ROSTER)
        PairRoundsRepository(store).save(ROUND)
        fay = actor(services, "fay")
        (group,) = fay.facilitates
        # Answers that must never travel by email, not even to their author.
        services.goals.submit(
            actor(services, "bo"),
            GoalsCommand(
                "2026-Q4",
                (Goal("A shared goal of Bo's", True), Goal("A private goal of Bo's", False)),
                "",
                95,
                "secret capacity plan",
            ),
        )
        # An RSVP reason and note, recorded earlier in the month.
        RsvpsRepository(store).put(
            "2026-12",
            group.id,
            "cy@x.org",
            Rsvp(RsvpAnswer.NOT_ATTENDING, AbsenceReason.SICKNESS, "my knee operation", NOW),
        )
        services.introductions.send(fay, IntroSendCommand(False, "Welcome, all of you."))
        services.peers.introduce_round(ROUND)
        services.peers.send_monthly_checks()
        services.peers.send_nudges()
        services.goals.send_prompts()
        session = session_in_month(group, "2026-12", services.programme.settings)
        services.register.send_prompt(group, session)
        present = frozenset({"ann@x.org", "bo@x.org"})
        services.register.record(
            fay, AttendanceCommand(group.id, "2026-12", present, frozenset(group.members) - present)
        )
        services.checkouts.submit(
            actor(services, "ann"),
            CheckoutCommand(
                group.id,
                "2026-12",
                "secret-helpful-words",
                "secret-unhelpful-words",
                4,
                frozenset({Flag.OVERWORKED}),
            ),
        )

        async def deliver() -> None:
            mailer = PickupMailer(mail, clock=lambda: NOW)
            async with outbox_drainer(services, BotSettings(), mailer, sender="reflect@x.org") as drainer:
                while await drainer.drain_once(NOW):
                    pass
            await mailer.close()

        asyncio.run(deliver())
        statuses = {
            (doc["kind"], doc["recipient"]): doc["status"] for doc in services.outbox.records().values()
        }

    assert set(statuses.values()) == {"sent"}, statuses
    received: dict[str, dict[str, str]] = defaultdict(dict)
    for message in mails(mail):
        assert str(message["From"]) == "reflect@x.org"
        received[str(message["To"])][str(message["Subject"])] = plain_body(message)

    members = sorted(group.members)
    assert members == ["ann@x.org", "bo@x.org", "cy@x.org", "di@x.org", "pia@x.org"]
    expected: dict[str, dict[str, str]] = defaultdict(dict)
    for email in members:
        expected[email]["Fay Lead introduces Coach, Thursday 1"] = "rsvp"
    for email in ("ann@x.org", "pia@x.org", "bo@x.org", "cy@x.org"):
        expected[email]["Your new peer"] = "peer"
        expected[email]["Did you meet your peer this month?"] = "peer"
        expected[email]["Time to meet your peer"] = "peer"
        expected[email]["Quarterly goals: 2026-Q4"] = "goals"
    for email in present:
        expected[email]["Check-out for Coach, Thursday 1"] = "checkout"
    expected["fay@x.org"]["Register for Coach, Thursday 1"] = "attendance"
    expected["di@x.org"]["A confidential escalation needs the people circle"] = "escalations"

    assert {to: set(subjects) for to, subjects in received.items()} == {
        to: set(subjects) for to, subjects in expected.items()
    }
    for to, subjects in expected.items():
        for subject, command in subjects.items():
            body = received[to][subject]
            assert f"type: {command}" in body, (to, subject, body)
            assert "could not reach you in Teams" in body
            for secret in SECRETS:
                assert secret not in body, (to, subject, secret)
            assert "@" not in body  # nobody's address, not even the reader's
    # What each says is about the prompt: the introduction carries the facilitator's words.
    assert "Welcome, all of you." in received["ann@x.org"]["Fay Lead introduces Coach, Thursday 1"]
    assert (
        "Thursday 10 December 2026, 10:00-11:30" in received["ann@x.org"]["Check-out for Coach, Thursday 1"]
    )
    assert "Pia New" in received["ann@x.org"]["Did you meet your peer this month?"]
    assert "Bo Bright" not in received["ann@x.org"]["Did you meet your peer this month?"]
