"""End to end through the Agents Playground: a peer pair where one is in probation.

Pat supports Ria, who is in probation (seed 004: "you will get a peer but you won't peer anyone").
Both use the bot in their own 1:1 chats: the peer cards explain the one-way arrangement and ask
Ria nothing about Pat; a recorded meeting is shown back and changeable, and the day-25 check asks
only who has not answered; saved goals come back to their owner, the shared ones (only those) to
the peer, and the next quarter's prompt opens last quarter's goals for review.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

pytest.importorskip("aiohttp", reason="aiohttp is not installed")
pytest.importorskip("botbuilder.core", reason="botbuilder-core is not installed")

from programme.model import Pair, PairRound  # noqa: E402
from repositories.answers import GoalsRepository, PeerRecordsRepository  # noqa: E402
from repositories.escalations import EscalationsRepository  # noqa: E402
from repositories.pairs import PairRoundsRepository  # noqa: E402
from tests.card_reading import card_text, find_action, heading, inputs  # noqa: E402
from tests.e2e.conftest import MONTH, PAT, RIA, World, card_of  # noqa: E402
from tests.e2e.playground import playground_available  # noqa: E402

_reason = playground_available()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

pytestmark = pytest.mark.timeout(120)

Run = Callable[..., None]
SHARED = "Co-run the January clinic with the team"
PRIVATE = "Ask for fewer evening shifts"
PLAN = "Hand one clinic to Sam for six weeks"
DAY_25 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NEXT_QUARTER = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)


def _pair_pat_with_ria(w: World) -> int:
    round_ = PairRound(1, date(2026, 11, 1), (Pair((PAT.email, RIA.email), receives_only=(RIA.email,)),))
    PairRoundsRepository(w.store).save(round_)
    return round_.number


def test_peer_cards_are_probation_aware_and_show_the_recorded_answer(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        number = _pair_pat_with_ria(w)
        await w.install(PAT, RIA)

        # Pat supports Ria: his card asks about her and says how the arrangement works.
        _, pat_card = await w.say_card(PAT, "peer")
        assert heading(pat_card) == f"Did you meet {RIA.name} in November 2026?"
        assert "peer_flags" in inputs(pat_card)
        assert f"{RIA.name} is in probation: you support them" in card_text(pat_card)

        # Ria is supported: never asked whether Pat is struggling.
        ria_id, ria_card = await w.say_card(RIA, "peer")
        assert "peer_flags" not in inputs(ria_card)
        assert "Is your peer facing any of these?" not in card_text(ria_card)
        assert f"While you are in probation, {PAT.name} supports you" in card_text(ria_card)
        record = find_action(ria_card, "peer.record")
        assert record["data"] == {"round": number, "month": MONTH}

        # A forged flag about her supporter is refused and changes nothing.
        forged = {**record["data"], "peer_met": "yes", "peer_flags": "stressed"}
        refused = await w.click(RIA, ria_id, "peer.record", forged)
        assert heading(refused) == "You can't do that" and "in probation" in card_text(refused)
        assert PeerRecordsRepository(w.store).periods() == []
        assert EscalationsRepository(w.store).all() == []

        done = await w.click(RIA, ria_id, "peer.record", {**record["data"], "peer_met": "yes"})
        assert heading(done) == "Thanks, that's recorded"
        assert f"You met {PAT.name} in November 2026." in card_text(done)

        # Asking again shows what she recorded, and she can change it.
        again_id, again = await w.say_card(RIA, "peer")
        assert heading(again) == "Your peer meeting in November 2026"
        assert f"You recorded that you met {PAT.name}" in card_text(again)
        assert inputs(again)["peer_met"]["value"] == "yes"
        changed = await w.click(RIA, again_id, "peer.record", {**record["data"], "peer_met": "no"})
        assert f"You didn't meet {PAT.name} in November 2026." in card_text(changed)
        changed_record = PeerRecordsRepository(w.store).get(MONTH, number, RIA.email)
        assert changed_record is not None and changed_record.met is False

        # Day 25: only Pat, who has not answered, is asked.
        w.clock.set(DAY_25)
        mark = w.playground.log_mark()
        assert w.services.peers.send_monthly_checks() == 1
        await w.settle()
        received = {name: [heading(c) for c in cards] for name, cards in w.cards_by_user(mark).items()}
        assert received == {PAT.name: [f"Did you meet {RIA.name} in November 2026?"]}

    run_world(scenario, probation=(RIA,))


def test_goals_come_back_shared_ones_reach_the_peer_and_next_quarter_reviews_them(run_world: Run) -> None:
    async def scenario(w: World) -> None:
        _pair_pat_with_ria(w)
        await w.install(PAT, RIA)

        form_id, form = await w.say_card(PAT, "goals")
        assert heading(form) == "Quarterly goals: 2026-Q4"
        assert f"{RIA.name} is in probation" in card_text(form)
        assert not inputs(form)["goal1_text"].get("value")
        answers = {
            **find_action(form, "goals.submit")["data"],
            "goal1_text": SHARED,
            "goal1_shared": "true",
            "goal2_text": PRIVATE,
            "goal2_shared": "false",
            "goals_training": "Motivational interviewing refresher",
            "goals_capacity_now": "95",
            "goals_capacity_plan": PLAN,
        }
        saved = await w.click(PAT, form_id, "goals.submit", answers)
        assert heading(saved) == "Your goals are saved"
        assert "You can change them until 31 December 2026" in card_text(saved)

        # His own card shows them back, ready to revise.
        _, mine = await w.say_card(PAT, "goals")
        fields = inputs(mine)
        assert (fields["goal1_text"]["value"], fields["goal1_shared"]["value"]) == (SHARED, "true")
        assert (fields["goal2_text"]["value"], fields["goal2_shared"]["value"]) == (PRIVATE, "false")
        assert fields["goals_capacity_now"]["value"] == 95 and fields["goals_capacity_plan"]["value"] == PLAN

        # Ria sees the shared goal on her own goals card, and nothing else of his.
        _, ria_goals = await w.say_card(RIA, "goals")
        assert f"{PAT.name} shared with you (2026-Q4)" in card_text(ria_goals)
        assert f"\u2022 {SHARED}" in card_text(ria_goals)
        assert f"While you are in probation, {PAT.name} supports you" in card_text(ria_goals)
        for secret in (PRIVATE, PLAN, "Motivational interviewing"):
            assert secret not in json.dumps(ria_goals)

        # A new quarter: the prompt (kept in the outbox) holds no goals; its button opens them.
        w.clock.set(NEXT_QUARTER)
        mark = w.playground.log_mark()
        assert w.services.goals.send_prompts() == 2
        await w.settle()
        live = {}
        for user in (PAT, RIA):
            (prompt,) = [a for a in w.bot_messages(mark) if a.conversation_id == w.chats[user.id]]
            card = card_of(prompt)
            assert heading(card) == "Quarterly goals: 2027-Q1"
            assert SHARED not in json.dumps(card) and PRIVATE not in json.dumps(card)
            assert prompt.id
            opened = find_action(card, "goals.open")
            live[user.id] = await w.click(user, prompt.id, "goals.open", opened["data"])
        pat_review, ria_review = card_text(live[PAT.id]), card_text(live[RIA.id])
        assert "To review: last quarter (2026-Q4)" in pat_review
        assert f"\u2022 {SHARED} (shared)" in pat_review and f"\u2022 {PRIVATE} (private)" in pat_review
        assert "To review: last quarter (2026-Q4)" in ria_review and SHARED in ria_review
        assert PRIVATE not in json.dumps(live[RIA.id])
        assert not inputs(live[PAT.id])["goal1_text"].get("value")  # 2027-Q1's form, not yet filled

        # Last quarter's goals can no longer be changed.
        late = await w.click(PAT, form_id, "goals.submit", {**answers, "goal1_text": "Changed late"})
        assert "can no longer be changed" in card_text(late)
        kept = GoalsRepository(w.store).get("2026-Q4", PAT.email)
        assert kept is not None and kept.goals[0].text == SHARED

    run_world(scenario, probation=(RIA,))
