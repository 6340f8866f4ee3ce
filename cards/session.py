"""Running a session: the facilitator's intro console, who is coming, the register and the check-out."""

from __future__ import annotations

from collections.abc import Sequence

from cards.common import (
    CardJson,
    action_set,
    card,
    choice_set,
    container,
    execute,
    facts,
    flag_choices,
    heading,
    period_label,
    show_card,
    text,
    text_input,
    toggle,
)
from cards.protocol import (
    CHECKOUT_FLAGS,
    CHECKOUT_HELPFUL,
    CHECKOUT_NOT_HELPFUL,
    CHECKOUT_RATING,
    DATA_AGAIN,
    DATA_GROUP,
    DATA_MONTH,
    INTRO_MESSAGE,
    Verb,
    present_id,
)
from cards.rsvp import ANSWER_LABELS, session_facts
from programme.answers import REASON_LABELS, RsvpAnswer
from service.views import (
    AttendanceMember,
    AttendanceView,
    IntroConsoleView,
    RosterEntry,
    RosterView,
    SessionInfo,
)

WHO_SEES_CHECKOUT = (
    "Your answers are not shown to your facilitator or group. "
    "Flags go only to the people circle (coordinators), in confidence."
)
_RATINGS = (
    ("1", "1 - not helpful"),
    ("2", "2"),
    ("3", "3"),
    ("4", "4"),
    ("5", "5 - very helpful"),
)
_HINTS = {
    RsvpAnswer.NOT_ATTENDING: " (said they can't attend)",
    RsvpAnswer.MAYBE: " (said maybe)",
}


def build_intro_console_card(view: IntroConsoleView) -> CardJson:
    """The facilitator's console: their groups, an optional message and one send button."""
    if not view.groups:
        message = "You don't facilitate a group at the moment, so there is nobody to introduce yourself to."
        return card([heading("Introductions"), text(message)], fallback_text=message)
    body: list[CardJson] = [heading("Introduce yourself to your groups")]
    for group in view.groups:
        body.append(
            container(
                [
                    text(group.name, bold=True),
                    text(f"Next session: {group.next_session}"),
                    text(f"{group.members} member{'s' if group.members != 1 else ''}", subtle=True),
                ],
                style="emphasis",
            )
        )
    body.append(
        text_input(
            INTRO_MESSAGE,
            "Your message (optional)",
            multiline=True,
            placeholder="A few words about you and what to expect",
        )
    )
    if view.queued is None:
        action = execute("Send introductions", Verb.INTRO_SEND, {DATA_AGAIN: False}, style="positive")
    else:
        body.append(text(f"Introductions queued for {view.queued} people.", color="good", bold=True))
        action = execute("Send again", Verb.INTRO_SEND, {DATA_AGAIN: True})
    return card(
        body,
        actions=[action],
        fallback_text="Send introductions to your groups: open this message in Teams.",
    )


def build_session_roster_card(view: RosterView, *, show_reasons: bool = False) -> CardJson:
    """Who is coming, names only; the coordinator variant (`show_reasons`) adds absence reasons and notes."""
    session = view.session
    body: list[CardJson] = [heading(f"Who is coming: {session.group_name}"), text(session.when, subtle=True)]
    if session.place:
        body.append(text(f"In person: {session.place}", subtle=True))
    if show_reasons:
        body.append(text("Includes absence reasons: for the programme coordinators only.", color="attention"))
    sections: Sequence[tuple[str, RsvpAnswer | None]] = (
        ("Attending", RsvpAnswer.ATTENDING),
        ("Maybe", RsvpAnswer.MAYBE),
        ("Can't attend", RsvpAnswer.NOT_ATTENDING),
        ("No answer yet", None),
    )
    for title, answer in sections:
        entries = [e for e in view.entries if e.answer is answer]
        body.append(text(f"{title} ({len(entries)})", bold=True, separator=True))
        if not entries:
            body.append(text("Nobody", subtle=True))
        elif show_reasons and answer is RsvpAnswer.NOT_ATTENDING:
            body.append(facts((e.name, _reason_text(e)) for e in entries))
        else:
            body.append(text(", ".join(e.name for e in entries)))
    counts = ", ".join(
        f"{sum(1 for e in view.entries if e.answer is a)} {ANSWER_LABELS[a].lower()}"
        for a in (RsvpAnswer.ATTENDING, RsvpAnswer.MAYBE, RsvpAnswer.NOT_ATTENDING)
    )
    return card(
        body,
        fallback_text=f"Who is coming to {session.group_name} ({session.when}): {counts}.",
        full_width=True,
    )


def _reason_text(entry: RosterEntry) -> str:
    reason = REASON_LABELS[entry.reason] if entry.reason is not None else "No reason given"
    return f"{reason}: {entry.note}" if entry.note else reason


def build_attendance_card(view: AttendanceView) -> CardJson:
    """The register: a toggle per member, pre-ticked from RSVPs; once saved, correctable until a deadline."""
    session = view.session
    title = f"Register: {session.group_name}, {period_label(session.month)}"
    fallback = f"{title}. Open this message in Teams to take the register."
    if not view.recorded:
        body = [
            heading(title),
            session_facts(session),
            text("Ticked from the answers people gave. Untick anyone who didn't come; tick anyone who did."),
            *_register_toggles(view.members),
        ]
        return card(body, actions=[_submit_register(session)], fallback_text=fallback, full_width=True)

    present = [m.name for m in view.members if _ticked(m)]
    absent = [m.name for m in view.members if not _ticked(m)]
    body = [
        heading(f"Register saved: {session.group_name}, {period_label(session.month)}"),
        text(session.when, subtle=True),
        text(f"Present ({len(present)})", bold=True, separator=True),
        text(", ".join(present) or "Nobody"),
        text(f"Absent ({len(absent)})", bold=True),
        text(", ".join(absent) or "Nobody"),
    ]
    if view.correct_until is None:
        body.append(text("The register is closed for corrections.", subtle=True))
        return card(body, fallback_text=f"Register saved for {session.group_name}.", full_width=True)
    body.append(text(f"You can correct it until {view.correct_until}.", subtle=True))
    correct = show_card("Correct the register", _register_toggles(view.members), [_submit_register(session)])
    body.append(action_set([correct]))
    return card(body, fallback_text=f"Register saved for {session.group_name}.", full_width=True)


def _ticked(member: AttendanceMember) -> bool:
    # Until the facilitator records it, attending people start ticked and everyone else unticked.
    return member.present if member.present is not None else member.rsvp is RsvpAnswer.ATTENDING


def _register_toggles(members: Sequence[AttendanceMember]) -> list[CardJson]:
    return [
        toggle(
            present_id(m.email),
            m.name + (_HINTS.get(m.rsvp, "") if m.rsvp is not None else " (no answer)"),
            on=_ticked(m),
        )
        for m in members
    ]


def _submit_register(session: SessionInfo) -> CardJson:
    data = {DATA_GROUP: session.group_id, DATA_MONTH: session.month}
    return execute("Save the register", Verb.ATTENDANCE_SUBMIT, data, style="positive")


def build_checkout_card(session: SessionInfo) -> CardJson:
    """The end-of-session check-out, with a plain statement of who sees what."""
    body = [
        heading(f"Check-out: {session.group_name}"),
        text("Two minutes, then you're done. Every question is optional."),
        text_input(CHECKOUT_HELPFUL, "What was helpful today?", multiline=True),
        text_input(CHECKOUT_NOT_HELPFUL, "What was not helpful?", multiline=True),
        choice_set(CHECKOUT_RATING, "How useful was the session overall? (1-5)", _RATINGS, compact=True),
        choice_set(CHECKOUT_FLAGS, "Is any of these true for you at the moment?", flag_choices(), multi=True),
        container([text("Who sees this", bold=True), text(WHO_SEES_CHECKOUT)], style="emphasis"),
    ]
    data = {DATA_GROUP: session.group_id, DATA_MONTH: session.month}
    return card(
        body,
        actions=[execute("Send check-out", Verb.CHECKOUT_SUBMIT, data, style="positive")],
        fallback_text=f"Check-out for {session.group_name}: open this message in Teams to answer.",
        full_width=True,
    )


def build_checkout_thanks_card(session: SessionInfo, *, flagged: bool) -> CardJson:
    """The check-out after sending: thanks, and what happens to any flags."""
    body = [heading("Thank you"), text(f"Your check-out for {session.group_name} is saved.")]
    if flagged:
        body.append(
            text("Someone from the people circle may get in touch with you, in confidence.", color="accent")
        )
    body.append(text(WHO_SEES_CHECKOUT, subtle=True))
    return card(body, fallback_text=f"Thank you: your check-out for {session.group_name} is saved.")
