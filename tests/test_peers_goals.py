"""Peer pairs as the cards promise: goals shown back and shared with the peer only, probation's
one-way arrangement on every peer card, and the monthly check that remembers who answered."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from cards.actions import parse_action
from cards.peers import build_goals_card, build_goals_recorded_card, build_peer_check_card
from programme.answers import Flag, Goal
from programme.errors import ClosedError, ProbationError
from programme.model import Pair, PairRound
from programme.peers import awaiting_peer_record, previous_quarter, shared_only, supported_in_probation
from repositories.answers import GOALS, GoalsRepository, PeerRecordsRepository, answers_log
from repositories.escalations import EscalationsRepository
from repositories.pairs import PairRoundsRepository
from service.commands import GoalsCommand, GoalsOpenCommand, PeerRecordCommand
from service.services import Services
from store import Store
from tests.card_reading import inputs
from tests.clocks import Clock
from tests.worlds import PEERS, PROBATION_ROUND, actor, build_services

ROUND = PROBATION_ROUND
SHARED, PRIVATE = "Co-run the January clinic", "Ask for fewer evening shifts"


@pytest.fixture
def world(store: Store) -> tuple[Services, Clock]:
    clock = Clock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    services = build_services(store, clock, PEERS)
    PairRoundsRepository(store).save(ROUND)
    return services, clock


def texts(node: Any) -> list[str]:
    """Every string a card shows or carries (text, labels, values, titles)."""
    if isinstance(node, dict):
        return [t for value in node.values() for t in texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in texts(value)]
    return [node] if isinstance(node, str) else []


def save_goals(
    services: Services, email: str, quarter: str, *goals: Goal, capacity: int = 90
) -> dict[str, Any]:
    command = GoalsCommand(quarter, goals, "Motivational interviewing", capacity, "Drop one clinic")
    return build_goals_recorded_card(services.goals.submit(actor(services, email), command))


def goals_card(services: Services, email: str) -> dict[str, Any]:
    """The person's goals card, as the Teams surface renders the use case's view."""
    return build_goals_card(services.goals.mine(actor(services, email)))


def peer_card(services: Services, email: str) -> dict[str, Any]:
    """The person's "did you meet your peer?" card, as the Teams surface renders it."""
    return build_peer_check_card(services.peers.check(actor(services, email)))


# -------------------------------------------------------------------------------- pure rules
def test_peer_rules_one_way_probation_shared_goals_and_quarters() -> None:
    pair = ROUND.pairs[0]
    assert supported_in_probation(pair, "ann@x.org") == ("pia@x.org",)
    assert supported_in_probation(pair, "pia@x.org") == ()
    assert supported_in_probation(ROUND.pairs[1], "bo@x.org") == ()
    assert awaiting_peer_record(ROUND, {"ann@x.org", "cy@x.org"}) == ["pia@x.org", "bo@x.org"]
    assert shared_only((Goal("a", True), Goal("b", False))) == (Goal("a", True),)
    assert (previous_quarter("2027-Q1"), previous_quarter("2027-Q3")) == ("2026-Q4", "2027-Q2")


# -------------------------------------------------------------------------------- goals
def test_saved_goals_come_back_to_their_owner_and_can_be_revised_this_quarter(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    blank = goals_card(services, "bo@x.org")
    assert not any(field.get("value") for key, field in inputs(blank).items() if key.endswith("_text"))

    saved = save_goals(services, "bo@x.org", "2026-Q4", Goal(SHARED, True), Goal(PRIVATE, False), capacity=95)
    assert "Your goals are saved" in texts(saved)
    again = goals_card(services, "bo@x.org")
    fields = inputs(again)
    assert (fields["goal1_text"]["value"], fields["goal1_shared"]["value"]) == (SHARED, "true")
    assert (fields["goal2_text"]["value"], fields["goal2_shared"]["value"]) == (PRIVATE, "false")
    assert "value" not in fields["goal3_text"]
    assert fields["goals_capacity_now"]["value"] == 95
    assert fields["goals_training"]["value"] == "Motivational interviewing"
    assert any("You can change them until 31 December 2026" in t for t in texts(again))

    # Revised within the quarter: the new version replaces the old.
    clock.now = datetime(2026, 12, 30, 9, 0, tzinfo=UTC)
    save_goals(services, "bo@x.org", "2026-Q4", Goal(SHARED, False))
    stored = GoalsRepository(services.programme.store).get("2026-Q4", "bo@x.org")
    assert stored is not None and stored.goals == (Goal(SHARED, False),)
    # Once the quarter is over its goals are closed; a forged quarter files nothing.
    clock.now = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    for quarter in ("2026-Q4", "2031-Q2"):
        with pytest.raises(ClosedError):
            save_goals(services, "bo@x.org", quarter, Goal("Late", True))
    assert GoalsRepository(services.programme.store).periods() == ["2026-Q4"]


def test_a_peer_sees_the_shared_goals_only(world: tuple[Services, Clock]) -> None:
    services, _ = world
    save_goals(services, "bo@x.org", "2026-Q4", Goal(SHARED, True), Goal(PRIVATE, False))
    cy_card = goals_card(services, "cy@x.org")
    assert "Bo Bright shared with you (2026-Q4)" in texts(cy_card)
    assert f"\u2022 {SHARED}" in texts(cy_card)
    dumped = json.dumps(cy_card)
    for secret in (PRIVATE, "Motivational interviewing", "Drop one clinic"):
        assert secret not in dumped
    assert not any(field.get("value") for field in inputs(cy_card).values() if field["type"] == "Input.Text")
    # Nobody outside the pair sees them.
    for other in ("ann@x.org", "pia@x.org"):
        assert SHARED not in json.dumps(goals_card(services, other))


def test_the_quarter_prompt_holds_no_goals_and_opens_last_quarters_for_review(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    save_goals(services, "bo@x.org", "2026-Q4", Goal(SHARED, True), Goal(PRIVATE, False))
    save_goals(services, "cy@x.org", "2026-Q4", Goal("Cy's shared goal", True), Goal("Cy's secret", False))
    clock.now = datetime(2027, 1, 1, 9, 0, tzinfo=UTC)
    assert services.goals.send_prompts() == 4  # everyone in a pair
    prompts = {
        e.message.recipient: e for e in services.outbox.due(clock.now, 100) if e.message.kind == "goals"
    }
    for entry in prompts.values():
        stored = json.dumps([entry.message.card, entry.message.text, entry.message.data])
        for goal in (SHARED, PRIVATE, "Cy's shared goal", "Cy's secret"):
            assert goal not in stored  # queued cards are kept in the outbox: no goals in them
    bo_prompt = prompts["bo@x.org"].message.card
    assert bo_prompt is not None
    (button,) = [a for a in bo_prompt["actions"] if a["verb"] == "goals.open"]
    command = parse_action(button["verb"], button["data"])
    assert command == GoalsOpenCommand("2027-Q1")

    from surfaces.teams_routes import CARD_VERBS

    live = CARD_VERBS["goals.open"].run(services, actor(services, "bo@x.org"), command)
    shown = texts(live)
    assert "To review: last quarter (2026-Q4)" in shown
    assert f"\u2022 {SHARED} (shared)" in shown and f"\u2022 {PRIVATE} (private)" in shown
    assert "\u2022 Cy's shared goal" in shown and "Cy's secret" not in json.dumps(live)
    assert "Quarterly goals: 2027-Q1" in shown
    assert not inputs(live)["goal1_text"].get("value")  # this quarter's form, empty until saved


def test_shared_goals_stay_with_the_pair_they_were_shared_in(world: tuple[Services, Clock]) -> None:
    services, clock = world
    save_goals(services, "bo@x.org", "2026-Q4", Goal(SHARED, True))
    # A new round pairs Bo with Ann: Bo's goals shared with Cy are not shown to Ann.
    rotated = PairRound(
        2, date(2026, 12, 1), (Pair(("ann@x.org", "bo@x.org")), Pair(("cy@x.org", "pia@x.org")))
    )
    PairRoundsRepository(services.programme.store).save(rotated)
    clock.now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert SHARED not in json.dumps(goals_card(services, "ann@x.org"))
    assert SHARED not in json.dumps(goals_card(services, "cy@x.org"))
    assert f"\u2022 {SHARED} (shared)" not in texts(goals_card(services, "bo@x.org"))


# -------------------------------------------------------------------------------- probation
def test_probation_cards_explain_the_one_way_arrangement_and_ask_no_flags(
    world: tuple[Services, Clock],
) -> None:
    services, _ = world
    pia = peer_card(services, "pia@x.org")
    assert "peer_flags" not in inputs(pia) and "peer_met" in inputs(pia)
    assert "Is your peer facing any of these? (optional)" not in texts(pia)
    assert any("While you are in probation, Ann Able supports you" in t for t in texts(pia))
    ann = peer_card(services, "ann@x.org")
    assert "peer_flags" in inputs(ann)
    assert any("Pia New is in probation: you support them" in t for t in texts(ann))
    bo = peer_card(services, "bo@x.org")
    assert not any("probation" in t for t in texts(bo))
    # The goals cards say it too.
    assert any("While you are in probation" in t for t in texts(goals_card(services, "pia@x.org")))
    assert any("Pia New is in probation" in t for t in texts(goals_card(services, "ann@x.org")))
    # Queued cards too: the monthly check and the nudge.
    services.peers.send_monthly_checks()
    queued = {e.message.recipient: e.message.card for e in services.outbox.due(services.clock(), 100)}
    assert "peer_flags" not in inputs(queued["pia@x.org"] or {})
    assert "peer_flags" in inputs(queued["ann@x.org"] or {})


def test_someone_in_probation_cannot_flag_their_supporter(world: tuple[Services, Clock]) -> None:
    services, _ = world
    forged = PeerRecordCommand(1, "2026-11", met=True, flags=frozenset({Flag.STRESSED}))
    with pytest.raises(ProbationError):
        services.peers.record(actor(services, "pia@x.org"), forged)
    assert PeerRecordsRepository(services.programme.store).periods() == []
    assert EscalationsRepository(services.programme.store).all() == []
    # Without flags her record is kept, and her supporter's flags about her still escalate.
    services.peers.record(actor(services, "pia@x.org"), PeerRecordCommand(1, "2026-11", True, frozenset()))
    services.peers.record(actor(services, "ann@x.org"), forged)
    (escalation,) = EscalationsRepository(services.programme.store).all()
    assert (escalation.raised_by, escalation.about) == ("ann@x.org", "pia@x.org")


# -------------------------------------------------------------------------------- the monthly check
def test_the_peer_card_shows_the_recorded_answer_to_change_and_the_check_skips_who_answered(
    world: tuple[Services, Clock],
) -> None:
    services, clock = world
    recorded = PeerRecordCommand(1, "2026-11", met=False, flags=frozenset({Flag.OVERWORKED}))
    services.peers.record(actor(services, "bo@x.org"), recorded)
    card = peer_card(services, "bo@x.org")
    assert any("You recorded that you didn't meet Cy Calm" in t for t in texts(card))
    fields = inputs(card)
    assert (fields["peer_met"]["value"], fields["peer_flags"]["value"]) == ("no", "overworked")
    # Changing it replaces the record.
    services.peers.record(actor(services, "bo@x.org"), PeerRecordCommand(1, "2026-11", True, frozenset()))
    changed = PeerRecordsRepository(services.programme.store).get("2026-11", 1, "bo@x.org")
    assert changed is not None and changed.met is True
    assert inputs(peer_card(services, "bo@x.org"))["peer_met"]["value"] == "yes"

    clock.now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert services.peers.send_monthly_checks() == 3
    asked = sorted(
        e.message.recipient for e in services.outbox.due(clock.now, 100) if e.message.kind == "peer_check"
    )
    assert asked == ["ann@x.org", "cy@x.org", "pia@x.org"]
    # Next month Bo is asked again.
    clock.now = datetime(2026, 12, 25, 9, 0, tzinfo=UTC)
    assert services.peers.send_monthly_checks() == 4


def test_goals_saved_before_rounds_were_kept_are_placed_by_their_date(world: tuple[Services, Clock]) -> None:
    services, _ = world
    doc = {"goals": [{"text": SHARED, "shared": True}], "capacity_now": 90, "at": "2026-11-02T09:00:00+00:00"}
    # Written as the log stores it (no "round": an older record), not through today's repository.
    log = answers_log(services.programme.store, GOALS)
    log.put("2026-Q4", "bo@x.org", doc)
    assert f"\u2022 {SHARED}" in texts(goals_card(services, "cy@x.org"))
    before = {**doc, "at": "2026-10-20T09:00:00+00:00"}  # saved before this round began
    log.put("2026-Q4", "bo@x.org", before)
    assert SHARED not in json.dumps(goals_card(services, "cy@x.org"))
