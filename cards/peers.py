"""Peer pair cards: the pair introduction, the monthly "did you meet?", its nudge, and quarterly goals."""

from __future__ import annotations

from cards.common import (
    CardJson,
    card,
    choice_set,
    container,
    execute,
    flag_choices,
    heading,
    month_label,
    names,
    number_input,
    text,
    text_input,
    toggle,
)
from cards.protocol import (
    DATA_MONTH,
    DATA_QUARTER,
    DATA_ROUND,
    GOALS_CAPACITY_NOW,
    GOALS_CAPACITY_PLAN,
    GOALS_TRAINING,
    MAX_CAPACITY,
    MAX_GOALS,
    MIN_CAPACITY,
    PEER_FLAGS,
    PEER_MET,
    Verb,
    goal_shared_id,
    goal_text_id,
)
from cards.views import GoalsView, PairIntroView, PeerCheckView

WHO_SEES_PEER_RECORD = (
    "Whether you met goes to the people circle (coordinators), who check that pairs are meeting. "
    "Flags go only to them, in confidence; your peer is not shown this card's answers."
)
WHO_SEES_GOALS = "Private goals are seen by you only. Shared goals are seen by you and your peer."
GOALS_GUIDANCE = "Plan about two hours with your peer for this: two 1-hour meetings, or one 2-hour meeting."


def build_pair_intro_card(view: PairIntroView) -> CardJson:
    """Introduces a person's peer(s) for the round; in probation, worded as receiving support only."""
    peer_names = names([p.name for p in view.peers])
    body: list[CardJson] = [heading("Your new peer")]
    if view.receives_only:
        body.append(
            text(
                f"While you are in probation you receive peer support: {peer_names} will meet you monthly. "
                "You are not asked to be anyone's peer yet."
            )
        )
    else:
        body.append(text(f"You are paired with {peer_names}."))
    for peer in view.peers:
        line = peer.name + (f", {peer.role}" if peer.role else "")
        if peer.receives_only and not view.receives_only:
            line += (
                f". {peer.name} is in probation: you support them; they are not asked to support you back."
            )
        body.append(text(f"\u2022 {line}"))
    body.append(
        text(
            "Meet monthly, for about an hour, and record it when I ask. "
            f"Each quarter, set your goals together. This pairing runs until {view.until}."
        )
    )
    return card(body, fallback_text=f"Your peer until {view.until}: {peer_names}.")


def build_peer_check_card(view: PeerCheckView) -> CardJson:
    """The monthly "did you meet your peer?" card."""
    return _peer_record_card(
        view,
        title=f"Did you meet {names(view.peers)} in {month_label(view.month)}?",
        lead="Record your peer meeting for this month; it takes a moment.",
    )


def build_peer_nudge_card(view: PeerCheckView, *, weeks: int) -> CardJson:
    """The nudge when no meeting has been recorded for `weeks` weeks, with the same recording form."""
    return _peer_record_card(
        view,
        title=f"Time to meet {names(view.peers)}?",
        lead=f"No meeting with {names(view.peers)} has been recorded for {weeks} weeks. "
        "If you have met, record it below; if not, try to find an hour soon.",
    )


def _peer_record_card(view: PeerCheckView, *, title: str, lead: str) -> CardJson:
    body = [
        heading(title),
        text(lead),
        choice_set(
            PEER_MET,
            "Did you meet this month?",
            [("yes", "Yes, we met"), ("no", "No, not this month")],
            required=True,
        ),
        choice_set(PEER_FLAGS, "Is your peer facing any of these? (optional)", flag_choices(), multi=True),
        container([text("Who sees this", bold=True), text(WHO_SEES_PEER_RECORD)], style="emphasis"),
    ]
    data = {DATA_ROUND: view.round, DATA_MONTH: view.month}
    return card(
        body,
        actions=[execute("Save", Verb.PEER_RECORD, data, style="positive")],
        fallback_text=f"{title} Open this message in Teams to answer.",
    )


def build_peer_recorded_card(view: PeerCheckView, *, met: bool) -> CardJson:
    """The peer card after recording: thanks and what was recorded."""
    when = month_label(view.month)
    summary = (
        f"You met {names(view.peers)} in {when}."
        if met
        else f"You didn't meet {names(view.peers)} in {when}."
    )
    body = [heading("Thanks, that's recorded"), text(summary), text(WHO_SEES_PEER_RECORD, subtle=True)]
    return card(body, fallback_text=f"Recorded: {summary}")


def build_goals_card(view: GoalsView) -> CardJson:
    """The quarterly goal-setting form: up to three goals, training needs and a capacity plan."""
    body: list[CardJson] = [
        heading(f"Quarterly goals: {view.quarter}"),
        text(f"Set up to {MAX_GOALS} goals for this quarter with {names(view.peers)}."),
        text(GOALS_GUIDANCE, subtle=True),
    ]
    for number in range(1, MAX_GOALS + 1):
        body.append(
            text_input(
                goal_text_id(number),
                f"Goal {number}" + ("" if number == 1 else " (optional)"),
                required=number == 1,
            )
        )
        body.append(toggle(goal_shared_id(number), "Share this goal with my peer", on=False))
    body += [
        text_input(GOALS_TRAINING, "Training needs (optional)", multiline=True),
        number_input(
            GOALS_CAPACITY_NOW,
            "How much of your capacity are you using now? (%)",
            minimum=MIN_CAPACITY,
            maximum=MAX_CAPACITY,
            required=True,
        ),
        text_input(
            GOALS_CAPACITY_PLAN,
            "Your plan to work at about 80% of capacity for the next six weeks",
            multiline=True,
        ),
        container([text("Who sees this", bold=True), text(WHO_SEES_GOALS)], style="emphasis"),
    ]
    return card(
        body,
        actions=[execute("Save goals", Verb.GOALS_SUBMIT, {DATA_QUARTER: view.quarter}, style="positive")],
        fallback_text=f"Set your goals for {view.quarter}: open this message in Teams.",
        full_width=True,
    )


def build_goals_recorded_card(view: GoalsView) -> CardJson:
    """The goals card after saving."""
    body = [
        heading("Your goals are saved"),
        text(f"Your goals for {view.quarter} are saved. Review them with {names(view.peers)} this quarter."),
        text(WHO_SEES_GOALS, subtle=True),
    ]
    return card(body, fallback_text=f"Your goals for {view.quarter} are saved.")
