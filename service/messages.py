"""The presenter port: what an outbound message to someone else says, given the use case's view.

Use cases decide who gets which message (recipient, idempotency key, period, kind) and hand the
presenter a view; the presenter returns the content the outbox stores (a card, its notification
text, the email fallback). The Teams adapter implements it (cards/outbound.py); whoever builds
Services passes it in. Use cases never look inside the content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from service.outbox import OutboundMessage
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


@dataclass(frozen=True)
class MessageContent:
    """What one outbound message carries: opaque to use cases, stored by the outbox as it is."""

    card: dict[str, Any] | None
    text: str
    email_fallback: dict[str, str] | None = None  # for people Teams cannot reach (service/delivery.py)

    def message(
        self, *, key: str, period: str, recipient: str, kind: str, batch: str | None = None
    ) -> OutboundMessage:
        """The outbox entry for one recipient."""
        return OutboundMessage(
            key=key,
            period=period,
            recipient=recipient,
            kind=kind,
            card=self.card,
            text=self.text,
            data={"email_fallback": self.email_fallback} if self.email_fallback is not None else None,
            batch=batch,
        )


class Messages(Protocol):
    """Renders the views of outbound messages into their content."""

    def introduction(self, view: IntroductionView) -> MessageContent:
        """A facilitator's introduction with the member's RSVP."""
        ...

    def rsvp_reminder(self, view: RsvpView, email_when: str) -> MessageContent:
        """The reminder to answer an RSVP; `email_when` is the session's time in the programme zone."""
        ...

    def register_prompt(self, view: AttendanceView) -> MessageContent:
        """The register, to whoever ran the session."""
        ...

    def checkout_prompt(self, session: SessionInfo) -> MessageContent:
        """The check-out form after a session."""
        ...

    def escalation(self, view: EscalationView) -> MessageContent:
        """An escalation, to one coordinator."""
        ...

    def pair_intro(self, view: PairIntroView) -> MessageContent:
        """A new pairing round: who the person's peer is."""
        ...

    def peer_check(self, view: PeerCheckView) -> MessageContent:
        """The monthly "did you meet your peer?"."""
        ...

    def peer_nudge(self, view: PeerCheckView, weeks: int) -> MessageContent:
        """The nudge to a pair with no meeting recorded for `weeks` weeks."""
        ...

    def goals_prompt(self, view: GoalsView) -> MessageContent:
        """The quarterly goal-setting prompt."""
        ...

    def announcement(self, view: AnnouncementView) -> MessageContent:
        """A coordinator's announcement."""
        ...
