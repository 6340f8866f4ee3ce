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
from service.views import GoalsView, PairIntroView, PeerCheckView, PeerGoals

WHO_SEES_PEER_RECORD = (
    "Whether you met goes to the people circle (coordinators), who check that pairs are meeting. "
    "Flags go only to them, in confidence; your peer is not shown this card's answers."
)
WHO_SEES_GOALS = "Private goals are seen by you only. Shared goals are seen by you and your peer."
WHO_SEES_PROBATION_RECORD = (
    "Whether you met goes to the people circle (coordinators), who check that pairs are meeting."
)
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


def probation_note(view: PeerCheckView | GoalsView) -> str:
    """How the one-way arrangement of probation works, for the person supported or supporting."""
    if view.receives_only:
        return (
            f"While you are in probation, {names(view.peers)} supports you: meet monthly and record it. "
            "You are not asked to be anyone's peer yet, so I won't ask you how your peer is doing."
        )
    if view.supporting:
        who = names(view.supporting)
        return (
            f"{who} is in probation: you support them, and they are not asked to support you back. "
            f"Look out for {who} between meetings."
        )
    return ""


def build_peer_check_card(view: PeerCheckView) -> CardJson:
    """The monthly "did you meet your peer?" card; with the reader's recorded answer, to change it."""
    if view.met is not None:
        done = "you met" if view.met else "you didn't meet"
        return _peer_record_card(
            view,
            title=f"Your peer meeting in {month_label(view.month)}",
            lead=f"You recorded that {done} {names(view.peers)}. "
            "If that has changed, change it below and save.",
        )
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
    body = [heading(title), text(lead)]
    note = probation_note(view)
    if note:
        body.append(container([text(note)], style="accent"))
    met_value = "" if view.met is None else ("yes" if view.met else "no")
    body.append(
        choice_set(
            PEER_MET,
            "Did you meet this month?",
            [("yes", "Yes, we met"), ("no", "No, not this month")],
            required=True,
            value=met_value,
        )
    )
    if view.receives_only:
        # One way: the person in probation is not their supporter's peer, so no flags about them.
        who_sees = WHO_SEES_PROBATION_RECORD
    else:
        flags = ",".join(sorted(f.value for f in view.flags))
        body.append(
            choice_set(
                PEER_FLAGS,
                "Is your peer facing any of these? (optional)",
                flag_choices(),
                multi=True,
                value=flags,
            )
        )
        who_sees = WHO_SEES_PEER_RECORD
    body.append(container([text("Who sees this", bold=True), text(who_sees)], style="emphasis"))
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
    who_sees = WHO_SEES_PROBATION_RECORD if view.receives_only else WHO_SEES_PEER_RECORD
    body = [
        heading("Thanks, that's recorded"),
        text(summary),
        text("To change it, type peer.", subtle=True),
        text(who_sees, subtle=True),
    ]
    return card(body, fallback_text=f"Recorded: {summary}")


def _shared_goals(shared: tuple[PeerGoals, ...], quarter: str) -> list[CardJson]:
    items: list[CardJson] = []
    for peer in shared:
        items.append(text(f"{peer.name} shared with you ({quarter})", bold=True))
        items += [text(f"\u2022 {goal}") for goal in peer.goals]
    return items


def _review(view: GoalsView) -> list[CardJson]:
    """Last quarter's goals to review: the reader's own (private ones too), and what peers shared."""
    if not view.last_quarter or not (view.last_mine or view.last_shared_with_me):
        return []
    items: list[CardJson] = [text(f"To review: last quarter ({view.last_quarter})", bold=True)]
    if view.last_mine:
        items.append(text("Your goals", subtle=True))
        items += [
            text(f"\u2022 {goal.text}" + (" (shared)" if goal.shared else " (private)"))
            for goal in view.last_mine
        ]
    items += _shared_goals(view.last_shared_with_me, view.last_quarter)
    return [container(items, style="emphasis")]


def build_goals_card(view: GoalsView, *, saved: bool = False) -> CardJson:
    """The quarterly goal-setting form, filled with the reader's saved goals, to set or revise them.

    Shows what the reader's peer(s) shared this quarter and, to review, last quarter's goals. Only
    built as a reply to the reader (never queued): it carries their private goals.
    """
    mine = view.mine
    if saved:
        body: list[CardJson] = [
            heading("Your goals are saved"),
            text(
                f"Your goals for {view.quarter} are saved. Review them with {names(view.peers)} this quarter."
            ),
        ]
    else:
        body = [
            heading(f"Quarterly goals: {view.quarter}"),
            text(
                f"Your goals for {view.quarter}, set with {names(view.peers)}."
                if mine
                else f"Set up to {MAX_GOALS} goals for this quarter with {names(view.peers)}."
            ),
            text(GOALS_GUIDANCE, subtle=True),
        ]
    if mine and view.open_until:
        body.append(text(f"You can change them until {view.open_until}: edit below and save.", subtle=True))
    note = probation_note(view)
    if note:
        body.append(container([text(note)], style="accent"))
    body += _review(view)
    shared = _shared_goals(view.shared_with_me, view.quarter)
    if shared:
        body.append(container(shared, style="emphasis"))
    goals = mine.goals if mine else ()
    for number in range(1, MAX_GOALS + 1):
        goal = goals[number - 1] if number <= len(goals) else None
        body.append(
            text_input(
                goal_text_id(number),
                f"Goal {number}" + ("" if number == 1 else " (optional)"),
                required=number == 1,
                value=goal.text if goal else "",
            )
        )
        body.append(
            toggle(goal_shared_id(number), "Share this goal with my peer", on=bool(goal and goal.shared))
        )
    body += [
        text_input(
            GOALS_TRAINING,
            "Training needs (optional)",
            multiline=True,
            value=mine.training_needs if mine else "",
        ),
        number_input(
            GOALS_CAPACITY_NOW,
            "How much of your capacity are you using now? (%)",
            minimum=MIN_CAPACITY,
            maximum=MAX_CAPACITY,
            required=True,
            value=mine.capacity_now if mine else None,
        ),
        text_input(
            GOALS_CAPACITY_PLAN,
            "Your plan to work at about 80% of capacity for the next six weeks",
            multiline=True,
            value=mine.capacity_plan if mine else "",
        ),
        container([text("Who sees this", bold=True), text(WHO_SEES_GOALS)], style="emphasis"),
    ]
    return card(
        body,
        actions=[execute("Save goals", Verb.GOALS_SUBMIT, {DATA_QUARTER: view.quarter}, style="positive")],
        fallback_text=f"Your goals for {view.quarter}: open this message in Teams.",
        full_width=True,
    )


def build_goals_recorded_card(view: GoalsView) -> CardJson:
    """The goals card after saving: what was saved, still editable until the quarter ends."""
    return build_goals_card(view, saved=True)


def build_goals_prompt_card(view: GoalsView) -> CardJson:
    """The quarter-start prompt: what the session is for, and a button opening the live goals card.

    It is queued, so it holds no goals (the outbox keeps cards); the button answers with the
    reader's own card: last quarter's goals to review and this quarter's form.
    """
    body: list[CardJson] = [
        heading(f"Quarterly goals: {view.quarter}"),
        text(
            f"A new quarter: time for goal-setting with {names(view.peers)}. Cover up to {MAX_GOALS} goals "
            "(each private or shared with your peer), training needs, and your plan to work at about 80% "
            "of capacity for the next six weeks."
        ),
        text(GOALS_GUIDANCE, subtle=True),
    ]
    note = probation_note(view)
    if note:
        body.append(container([text(note)], style="accent"))
    body.append(text("Open your goals to review last quarter's and to set this quarter's.", subtle=True))
    return card(
        body,
        actions=[execute("Open my goals", Verb.GOALS_OPEN, {DATA_QUARTER: view.quarter}, style="positive")],
        fallback_text=f"Set your goals for {view.quarter}: open this message in Teams.",
    )
