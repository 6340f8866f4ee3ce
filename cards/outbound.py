"""The presenter of outbound messages (service/messages.py's port): views in, cards and emails out."""

from __future__ import annotations

from cards.announcements import build_announcement_card
from cards.emails import (
    announcement_email,
    checkout_email,
    escalation_email,
    goals_email,
    introduction_email,
    pair_intro_email,
    peer_check_email,
    peer_nudge_email,
    register_email,
    rsvp_reminder_email,
)
from cards.escalations import build_escalation_card
from cards.peers import (
    build_goals_prompt_card,
    build_pair_intro_card,
    build_peer_check_card,
    build_peer_nudge_card,
)
from cards.rsvp import build_introduction_card, build_rsvp_card
from cards.session import build_attendance_card, build_checkout_card
from service.messages import MessageContent
from service.views import (
    AnnouncementView,
    AttendanceView,
    EscalationView,
    GoalsView,
    IntroductionView,
    PairIntroView,
    PeerCheckView,
    RsvpView,
    SessionInfo,
)


def _when_where(when: str, place: str) -> str:
    """When a session is, and where when it meets in person (an online one is in Teams)."""
    return f"{when}, in person at {place}" if place else when


class CardMessages:
    """Adaptive Cards for Teams, with the email texts of cards/emails.py as their fallback."""

    def introduction(self, view: IntroductionView) -> MessageContent:
        session = view.rsvp.session
        return MessageContent(
            build_introduction_card(view),
            f"{view.facilitator_name} introduces {session.group_name}",
            introduction_email(
                view.facilitator_name,
                session.group_name,
                _when_where(session.when, session.place),
                view.message,
            ),
        )

    def rsvp_reminder(self, view: RsvpView, email_when: str) -> MessageContent:
        group = view.session.group_name
        return MessageContent(
            build_rsvp_card(view, reminder=True),
            f"Will you come to {group}?",
            rsvp_reminder_email(group, _when_where(email_when, view.session.place)),
        )

    def register_prompt(self, view: AttendanceView) -> MessageContent:
        session = view.session
        return MessageContent(
            build_attendance_card(view),
            f"Register for {session.group_name}",
            register_email(session.group_name, session.when),
        )

    def checkout_prompt(self, session: SessionInfo) -> MessageContent:
        return MessageContent(
            build_checkout_card(session),
            f"Check-out for {session.group_name}",
            checkout_email(session.group_name, session.when),
        )

    def escalation(self, view: EscalationView) -> MessageContent:
        return MessageContent(
            build_escalation_card(view),
            "A confidential escalation needs the people circle",
            escalation_email(),
        )

    def pair_intro(self, view: PairIntroView) -> MessageContent:
        return MessageContent(
            build_pair_intro_card(view),
            "Your new peer",
            pair_intro_email([p.name for p in view.peers], view.until),
        )

    def peer_check(self, view: PeerCheckView) -> MessageContent:
        return MessageContent(
            build_peer_check_card(view),
            "Did you meet your peer this month?",
            peer_check_email(list(view.peers), view.month),
        )

    def peer_nudge(self, view: PeerCheckView, weeks: int) -> MessageContent:
        return MessageContent(
            build_peer_nudge_card(view, weeks=weeks),
            "Time to meet your peer",
            peer_nudge_email(list(view.peers), weeks),
        )

    def goals_prompt(self, view: GoalsView) -> MessageContent:
        return MessageContent(
            build_goals_prompt_card(view),
            "Quarterly goal-setting with your peer",
            goals_email(list(view.peers), view.quarter),
        )

    def announcement(self, view: AnnouncementView) -> MessageContent:
        return MessageContent(
            build_announcement_card(view), view.title, announcement_email(view.title, view.text)
        )
