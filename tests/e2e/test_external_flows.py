"""End to end through the Agents Playground: an external facilitator (not on the staff roster, on
the facilitators list) with a Teams guest account runs their own group and sees nothing of another.

The world is tests/e2e/conftest.py's, with Gwen added to the Playground's tenant as a guest and
given "Practitioners" (thu-2) instead of Rex, in Ria's Playground seat.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

pytest.importorskip("aiohttp", reason="aiohttp is not installed")
pytest.importorskip("botbuilder.core", reason="botbuilder-core is not installed")

from programme.policies import Permission, refusal  # noqa: E402
from repositories.escalations import IntroductionsRepository  # noqa: E402
from tests.card_reading import card_text, find_action, heading  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    FIONA,
    G1,
    G1_NAME,
    G2,
    G2_NAME,
    MEMBERS,
    MONTH,
    NINA,
    OMAR,
    OSCAR,
    PAT,
    RIA,
    World,
)
from tests.e2e.playground import User, playground_available  # noqa: E402

_reason = playground_available()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

pytestmark = pytest.mark.timeout(120)

Run = Callable[..., None]
# A guest in the organisation's tenant: her own organisation's address, an Entra ID guest user id.
GWEN = User.make("gwen", "Gwen Guest", 42, domain="partner.test")
STAFF_ONLY = "That's for people on the programme's staff list."


def test_an_external_facilitator_sends_their_groups_introduction_and_cannot_see_another_group(
    run_world: Run,
) -> None:
    async def scenario(w: World) -> None:
        got = await w.install(GWEN, OSCAR, PAT, FIONA)
        welcome = got[GWEN.id]
        assert heading(welcome) == f"Welcome, {GWEN.name}"
        assert "As a facilitator" in card_text(welcome)
        assert "As a participant" not in card_text(welcome) and "As a coordinator" not in card_text(welcome)
        mark = w.playground.log_mark()

        msg_id, console = await w.say_card(GWEN, "intro")
        assert heading(console) == "Introduce yourself to your groups"
        assert G2_NAME in card_text(console) and "3 members" in card_text(console)
        assert G1_NAME not in json.dumps(console)
        send = find_action(console, "intro.send")
        after = await w.click(
            GWEN, msg_id, "intro.send", {**send["data"], "intro_message": "Hello from Gwen."}
        )
        assert "Introductions queued for 3 people." in card_text(after)

        docs = await w.settle()
        intros = {d["recipient"] for d in docs.values() if d["kind"] == "intro"}
        assert intros == {OSCAR.email, NINA, OMAR}
        received = w.cards_by_user(mark)
        (card,) = [c for c in received[OSCAR.name] if heading(c) == f"{GWEN.name} introduces {G2_NAME}"]
        assert "Hello from Gwen." in card_text(card)
        assert find_action(card, "rsvp.answer", answer="attending")["data"]["group"] == G2
        # Health Coaches' people (and their facilitator) got nothing of it.
        for user in (PAT, FIONA):
            assert not [c for c in received.get(user.name, []) if G2_NAME in heading(c)]
        assert IntroductionsRepository(w.store).get(G2, MONTH).facilitator == GWEN.email

        # Another group: the usual refusal, naming nobody and nothing of that group.
        for text, permission in ((f"coming {G1}", Permission.OVERSEER), (f"remind {G1}", Permission.LEADER)):
            _, refused = await w.say_card(GWEN, text)
            assert heading(refused) == "You can't do that"
            assert refusal(permission) in refused["fallbackText"]
            shown = json.dumps(refused)
            assert G1_NAME not in shown and all(u.email not in shown and u.name not in shown for u in MEMBERS)
        # A staff member's own things are not hers.
        _, refused = await w.say_card(GWEN, "rsvp")
        assert STAFF_ONLY in refused["fallbackText"]
        # Her own group, by the same command, is hers.
        _, coming = await w.say_card(GWEN, f"coming {G2}")
        assert heading(coming) == f"Who is coming: {G2_NAME}"

    # Gwen takes Ria's seat in the Playground (Ria stays on the roster and in Health Coaches).
    run_world(scenario, guests={GWEN: RIA}, facilitator_of={G2: GWEN.email})
