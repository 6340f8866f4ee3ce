"""End to end through the Agents Playground: opt-in gatherings and themes for the organisation.

The deployment runs two programmes: the facilitated groups of tests/e2e/conftest.py (programme
"main", with a list of themes) and opt-in gatherings (topics, rotating timekeeper, Wednesdays).
"""

from __future__ import annotations

import asyncio
import json
import tomllib
from collections.abc import Callable
from datetime import timedelta

import pytest

pytest.importorskip("aiohttp", reason="aiohttp is not installed")
pytest.importorskip("botbuilder.core", reason="botbuilder-core is not installed")

from programme.model import Group  # noqa: E402
from programme.programmes import parse_programmes  # noqa: E402
from programme.reports import SUPPRESSED_MARK  # noqa: E402
from programme.sessions import next_session  # noqa: E402
from repositories.themes import ThemesRepository  # noqa: E402
from service.invites import Invites, MailSettings  # noqa: E402
from tests.card_reading import card_text, facts_of, find_action, heading, inputs  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CLEO,
    CORA,
    DURING_SESSION,
    FIONA,
    G1,
    MONTH,
    NINA,
    OMAR,
    PAT,
    QUINN,
    RIA,
    World,
    groups,
)
from tests.e2e.playground import playground_available  # noqa: E402
from tests.worlds import gatherings_settings, place_groups  # noqa: E402

_reason = playground_available()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

pytestmark = pytest.mark.timeout(120)

Run = Callable[..., None]
# "main": the facilitated groups of tests/e2e/conftest.py.
PROGRAMMES = parse_programmes(tomllib.loads(gatherings_settings("main")))
GATHERINGS = PROGRAMMES[1]


def test_a_staff_member_joins_a_gathering_and_after_the_allocation_gets_its_invite(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        await w.install(CORA, PAT, QUINN, RIA)
        msg_id, card = await w.say_card(PAT, "gatherings")
        assert heading(card) == "Gatherings you can join"
        assert "meets once 3 have joined (0 so far)" in card_text(card)
        assert "Wednesday 11 November 2026, 12:30-13:30 GMT" in card_text(card)  # its 2nd Wednesday
        join = find_action(card, "gathering.join", topic="Bereavement")
        after = await w.click(PAT, msg_id, "gathering.join", join["data"])
        assert "You joined Bereavement. You'll be placed in its group at the next allocation" in card_text(
            after
        )
        assert find_action(after, "gathering.leave", programme="gatherings")

        for member in (QUINN, RIA):
            msg_id, card = await w.say_card(member, "gatherings")
            await w.click(
                member,
                msg_id,
                "gathering.join",
                find_action(card, "gathering.join", topic="Bereavement")["data"],
            )
        _, overview = await w.say_card(CORA, "gatherings")
        assert "meets: 3 have joined" in card_text(overview)
        for member in (PAT, QUINN, RIA):  # counts, never who joined
            assert member.email not in json.dumps(overview) and member.name not in card_text(overview)

        # The allocation forms the gathering's group; its session's RSVP card reaches each member.
        await asyncio.to_thread(w.services.programme.allocate, w.clock(), GATHERINGS.id)
        (gathering,) = [g for g in w.services.programme.groups() if g.programme == GATHERINGS.id]
        assert sorted(gathering.members) == sorted(u.email for u in (PAT, QUINN, RIA))
        assert gathering.facilitator is None and gathering.name.startswith("Bereavement")
        session = next_session(gathering, w.clock(), GATHERINGS.settings)
        mark = w.playground.log_mark()
        sent = await asyncio.to_thread(w.services.rsvps.send_reminders, gathering, session)
        assert sent == 3
        await w.settle()
        received = w.cards_by_user(mark)
        keepers = set()
        for member in (PAT, QUINN, RIA):
            (invite,) = received[member.name]
            assert heading(invite) == f"Reminder: will you come to {gathering.name}?"
            facts = facts_of(invite)
            assert facts["When"] == "Wednesday 11 November 2026, 12:30-13:30 GMT"
            keepers.add(facts["Keeps time"])
            assert find_action(invite, "rsvp.answer", group=gathering.id, answer="attending")
        # One timekeeper this month, the same on every member's card, and one of them.
        (keeper,) = keepers
        assert any(keeper.startswith(u.name) for u in (PAT, QUINN, RIA))
        assert set(received) == {PAT.name, QUINN.name, RIA.name}

        # And its meeting request: one, to the gathering's three members (no facilitator).
        invites = Invites(w.services.sessions, w.services.outbox, MailSettings("reflect@x.org"))
        month = session.start.strftime("%Y-%m")
        assert await asyncio.to_thread(invites.sync_month, month, GATHERINGS.id) == 1
        requests = [
            entry.message
            for key, record in w.services.outbox.records(month).items()
            if record["kind"] == "invite"
            and (entry := w.services.outbox.get(month, key)) is not None
            and entry.message.recipient == f"group:{gathering.id}"
        ]
        (request,) = requests
        assert request.data is not None
        invite = request.data["invite"]
        assert sorted(invite["attendees"]) == sorted(u.email for u in (PAT, QUINN, RIA))
        assert invite["subject"] == f"{GATHERINGS.name}: {gathering.name}"

    run_world(scenario, programmes=PROGRAMMES)


def test_a_facilitator_records_themes_and_a_coordinator_sees_them_suppressed_below_3(run_world: Run) -> None:
    more = (
        Group("thu-3", "Navigators", 3, "Navigator", FIONA.email, (NINA, OMAR)),
        Group("thu-4", "Advisors", 3, "Advisor", FIONA.email, (CLEO,)),
    )

    async def scenario(w: World) -> None:
        place_groups(w.store, (*groups(), *more), w.clock())
        w.clock.set(DURING_SESSION + timedelta(minutes=60))
        await w.install(CORA, FIONA)

        async def record(group_id: str, *themes: str, note: str = "") -> dict:
            msg_id, card = await w.say_card(FIONA, f"themes {group_id}")
            assert set(inputs(card)) == {"theme:Workload", "theme:Referrals", "theme:Training", "themes_note"}
            submit = find_action(card, "themes.submit", group=group_id, month=MONTH)
            data = {**submit["data"], "themes_note": note}
            data.update(
                {
                    f"theme:{t}": "true" if t in themes else "false"
                    for t in ("Workload", "Referrals", "Training")
                }
            )
            return await w.click(FIONA, msg_id, "themes.submit", data)

        # A note naming a member is refused, and not repeated back.
        refused = await record(G1, "Workload", note="Pat is overloaded")
        assert "themes are recorded without names" in card_text(refused) and "overloaded" not in json.dumps(
            refused
        )
        assert ThemesRepository(w.store).all() == []

        done = await record(G1, "Workload", "Training", note="Caseloads are high")
        assert "Recorded. Thank you." in card_text(done)
        await record("thu-3", "Workload", "Referrals")

        _, card = await w.say_card(CORA, "themes")
        assert heading(card) == "Themes for the organisation"
        figures = facts_of(card)
        assert figures["Groups recording"] == SUPPRESSED_MARK and figures["Workload"] == SUPPRESSED_MARK
        assert "Caseloads" not in card_text(card)

        await record("thu-4", "Workload", "Training")
        _, card = await w.say_card(CORA, "themes 2026-Q4")
        figures = facts_of(card)
        assert (figures["Groups recording"], figures["Workload"]) == ("3", "3")
        assert figures["Referrals"] == SUPPRESSED_MARK  # 1 group
        assert "Caseloads are high" in card_text(card)
        for name in ("Health Coaches", "Navigators", "Advisors", FIONA.name):
            assert name not in card_text(card)

        # Not for participants.
        await w.install(PAT)
        reply = await w.say(PAT, "themes")
        assert "That's for facilitators and coordinators" in json.dumps(reply.body)

    run_world(scenario, programmes=PROGRAMMES)
