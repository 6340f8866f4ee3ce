"""Email versions of the prompt cards, for people the bot cannot reach in Teams.

The outbox delivers them (`data["email_fallback"]`, see service/delivery.py) only when Teams
cannot: the person never opened a chat with the bot, or blocked it. An email can be forwarded,
delegated or read over a shoulder, so it says what is asked and how to answer in Teams, and
nothing anyone answered: no check-out words, flags, absence reasons or goals, not even the
reader's own.
"""

from __future__ import annotations

from cards.common import month_label, names

EmailText = dict[str, str]  # {"subject", "body_text"}

_ANSWER_IN_TEAMS = (
    "To answer, open Microsoft Teams and your chat with the peer reflection app (if you have never "
    "used it, find it under Apps) and type: {command}"
)
_WHY = (
    "You are getting this by email because the peer reflection app could not reach you in Teams. "
    "Once you open your chat with it, these prompts arrive there as cards."
)


def _email(subject: str, lines: list[str], command: str) -> EmailText:
    body = "\n\n".join([*lines, _ANSWER_IN_TEAMS.format(command=command), _WHY])
    return {"subject": subject, "body_text": body}


def introduction_email(facilitator: str, group: str, when: str, message: str) -> EmailText:
    """The facilitator's introduction: their message to the group, and how to RSVP."""
    lines = [f"{facilitator} introduces {group}, which meets {when}."]
    if message:
        lines.append(f"{facilitator} writes:\n{message}")
    lines.append("Please say whether you will come: reply to the meeting request (Accept or Decline).")
    return _email(f"{facilitator} introduces {group}", lines, "rsvp")


def checkout_email(group: str, when: str) -> EmailText:
    """The check-out prompt after a session."""
    lines = [
        f"Thank you for coming to {group} ({when}). The check-out takes two minutes: what was helpful, "
        "what was not, and any difficulties you'd like the people circle to know about, in confidence.",
    ]
    return _email(f"Check-out for {group}", lines, "checkout")


def register_email(group: str, when: str) -> EmailText:
    """The register prompt to whoever ran the session."""
    lines = [
        f"Please take the register for {group} ({when}). It is pre-ticked from the RSVPs and can be "
        "corrected for 7 days; everyone you tick present gets the check-out.",
    ]
    return _email(f"Register for {group}", lines, "attendance")


def escalation_email() -> EmailText:
    """To a coordinator: something waits for the people circle (who and why only in Teams)."""
    lines = ["A confidential escalation is waiting for the people circle."]
    return _email("A confidential escalation needs the people circle", lines, "escalations")


def pair_intro_email(peers: list[str], until: str) -> EmailText:
    """The new pairing round: who the person's peer is."""
    lines = [
        f"Your peer for this round is {names(peers)}, until {until}. Meet monthly, for about an hour, "
        "and record it when asked; each quarter, set your goals together.",
        "Your chat with the app explains how your pairing works.",
    ]
    return _email("Your new peer", lines, "peer")


def peer_check_email(peers: list[str], month: str) -> EmailText:
    """The monthly "did you meet your peer?"."""
    lines = [f"Did you meet {names(peers)} in {month_label(month)}? Recording it takes a moment."]
    return _email("Did you meet your peer this month?", lines, "peer")


def peer_nudge_email(peers: list[str], weeks: int) -> EmailText:
    """The nudge to a pair with no meeting recorded for a while."""
    lines = [
        f"No meeting with {names(peers)} has been recorded for {weeks} weeks. If you have met, please "
        "record it; if not, try to find an hour soon.",
    ]
    return _email("Time to meet your peer", lines, "peer")


def goals_email(peers: list[str], quarter: str) -> EmailText:
    """The quarterly goal-setting prompt."""
    lines = [
        f"It's time to set your goals for {quarter} with {names(peers)}: up to three goals (each private "
        "or shared with your peer), training needs, and your capacity plan. Last quarter's goals are "
        "there to review.",
    ]
    return _email(f"Quarterly goals: {quarter}", lines, "goals")


def rsvp_reminder_email(group: str, when: str) -> EmailText:
    """The RSVP reminder, for people the bot cannot reach in Teams."""
    return {
        "subject": f"Will you come to {group}?",
        "body_text": (
            f"Your peer reflection group {group} meets {when}.\n\n"
            "We haven't had your answer yet. Please answer in Teams: the peer reflection bot sent you "
            "a card with Attending / Can't attend / Maybe. Accepting or declining the meeting request "
            "only updates your calendar; the programme doesn't read those replies."
        ),
    }


def announcement_email(title: str, text: str) -> EmailText:
    """An announcement as an email: its title and text as they are."""
    return {"subject": title, "body_text": text}
