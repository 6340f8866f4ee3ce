"""A member's session cards: the facilitator's introduction and the RSVP (with its reminder variant).

Answering uses Action.Execute, so the bot replies with this same card in its answered state and
Teams replaces it in place. Until the session starts the answer can be changed; after, read-only.
"""

from __future__ import annotations

from cards.common import (
    MAX_TEXT,
    CardJson,
    TextColor,
    card,
    choice_set,
    container,
    execute,
    facts,
    heading,
    open_url,
    period_label,
    show_card,
    text,
    text_input,
)
from cards.protocol import DATA_ANSWER, DATA_GROUP, DATA_MONTH, RSVP_NOTE, RSVP_REASON, Verb
from programme.answers import REASON_LABELS, RsvpAnswer
from service.views import IntroductionView, RsvpView, SessionInfo

ANSWER_LABELS = {
    RsvpAnswer.ATTENDING: "Attending",
    RsvpAnswer.NOT_ATTENDING: "Can't attend",
    RsvpAnswer.MAYBE: "Maybe",
}
_ANSWER_COLORS: dict[RsvpAnswer, TextColor] = {
    RsvpAnswer.ATTENDING: "good",
    RsvpAnswer.NOT_ATTENDING: "attention",
    RsvpAnswer.MAYBE: "warning",
}


def session_facts(session: SessionInfo) -> CardJson:
    """Group, when, where, and in a group that rotates facilitation who keeps time this month."""
    rows = [("Group", session.group_name), ("When", session.when)]
    rows.append(("Where", session.place or "Online, in Teams"))
    if session.timekeeper:
        rows.append(("Keeps time", f"{session.timekeeper} (a different member each session)"))
    return facts(rows)


def build_rsvp_card(view: RsvpView, *, reminder: bool = False) -> CardJson:
    """The RSVP card: open, answered (changeable) or closed; `reminder` words it for non-responders."""
    session = view.session
    if reminder and view.answer is None and not view.closed:
        title = f"Reminder: will you come to {session.group_name}?"
        # Replies to the meeting request are not read by the programme: only this card counts.
        lead = [
            text(
                "We haven't had your answer yet. Please answer here in Teams, it takes one click "
                "(accepting or declining the meeting request only updates your calendar)."
            )
        ]
    else:
        title = f"{session.group_name}: {period_label(session.month)}"
        lead = []
    body, actions = _rsvp_section(view)
    return card(
        [heading(title), *lead, session_facts(session), *body],
        actions=actions,
        fallback_text=f"{title}. {session.when}. Open this message in Teams to answer.",
    )


def build_introduction_card(view: IntroductionView) -> CardJson:
    """The facilitator's introduction to a member, with the session and the RSVP buttons."""
    session = view.rsvp.session
    body: list[CardJson] = [heading(f"{view.facilitator_name} introduces {session.group_name}")]
    if view.message:
        body.append(container([text(view.message)], style="emphasis"))
    # Not "monthly": a programme can meet every few weeks.
    body.append(text("This is your reflection group's next session."))
    body.append(session_facts(session))
    answer_body, actions = _rsvp_section(view.rsvp)
    return card(
        body + answer_body,
        actions=actions,
        fallback_text=f"{view.facilitator_name} introduces {session.group_name}, next session "
        f"{session.when}. Open this message in Teams to answer.",
    )


def _rsvp_section(view: RsvpView) -> tuple[list[CardJson], list[CardJson]]:
    """The answer state and the buttons shared by the RSVP and introduction cards."""
    session = view.session
    body: list[CardJson] = []
    if view.answer is not None:
        shown = ANSWER_LABELS[view.answer]
        if view.answer is RsvpAnswer.NOT_ATTENDING and view.reason is not None:
            shown += f" ({REASON_LABELS[view.reason]})"
        body.append(
            text(f"Your answer: {shown}", color=_ANSWER_COLORS[view.answer], bold=True, separator=True)
        )
    actions: list[CardJson] = []
    if view.closed:
        if view.answer is None:
            body.append(text("You didn't answer.", separator=True))
        body.append(text("The session has started, so answers are closed.", subtle=True))
    else:
        if view.answer is None:
            body.append(text("Will you come?", bold=True, separator=True))
        else:
            body.append(text("You can change your answer until the session starts.", subtle=True))
        actions = _answer_actions(session)
    if session.teams_link:
        actions.append(open_url("Join in Teams", session.teams_link))
    return body, actions


def _answer_actions(session: SessionInfo) -> list[CardJson]:
    def data(answer: RsvpAnswer) -> dict[str, str]:
        return {DATA_GROUP: session.group_id, DATA_MONTH: session.month, DATA_ANSWER: answer.value}

    # The reason inputs live in the shown card: only its own button sends them (and enforces the
    # required reason), so "Attending" and "Maybe" stay one click.
    absence = show_card(
        ANSWER_LABELS[RsvpAnswer.NOT_ATTENDING],
        [
            choice_set(
                RSVP_REASON, "Reason", [(r.value, label) for r, label in REASON_LABELS.items()], required=True
            ),
            text_input(
                RSVP_NOTE,
                "Note for the programme coordinators (optional)",
                multiline=True,
                max_length=MAX_TEXT,
            ),
            text(
                "Your reason and note go to the programme coordinators only, not to your facilitator "
                "or group.",
                subtle=True,
            ),
        ],
        [execute("Send", Verb.RSVP_ANSWER, data(RsvpAnswer.NOT_ATTENDING))],
    )
    return [
        execute(
            ANSWER_LABELS[RsvpAnswer.ATTENDING],
            Verb.RSVP_ANSWER,
            data(RsvpAnswer.ATTENDING),
            style="positive",
        ),
        absence,
        execute(ANSWER_LABELS[RsvpAnswer.MAYBE], Verb.RSVP_ANSWER, data(RsvpAnswer.MAYBE)),
    ]
