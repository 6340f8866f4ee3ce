"""Use-case results rendered for the person who acted, where a result is more than one view."""

from __future__ import annotations

from cards.announcements import (
    build_announcement_composer_card,
    build_announcement_result_card,
    build_delivery_problems_card,
)
from cards.common import CardJson
from cards.peers import build_peer_recorded_card
from cards.rsvp import build_introduction_card, build_rsvp_card
from cards.session import build_checkout_thanks_card, build_session_roster_card
from service.views import (
    AnnouncementResultView,
    AnnouncementStatus,
    CheckoutReceipt,
    ComposerView,
    IntroductionView,
    PeerRecorded,
    RosterView,
    RsvpView,
)


def status_cards(status: AnnouncementStatus) -> list[CardJson]:
    """The latest announcement's counts (once there is one), then the delivery problems."""
    problems = build_delivery_problems_card(status.problems)
    if status.latest is None:
        return [problems]
    return [build_announcement_result_card(status.latest), problems]


def roster_card(view: RosterView) -> CardJson:
    """Who is coming; the coordinators' variant when the view carries reasons."""
    return build_session_roster_card(view, show_reasons=view.show_reasons)


def checkout_thanks_card(receipt: CheckoutReceipt) -> CardJson:
    """The check-out just saved."""
    return build_checkout_thanks_card(receipt.session, flagged=receipt.flagged)


def peer_recorded_card(recorded: PeerRecorded) -> CardJson:
    """The peer meeting just recorded."""
    return build_peer_recorded_card(recorded.check, met=recorded.met)


def rsvp_reply_card(view: RsvpView | IntroductionView) -> CardJson:
    """The answered RSVP, on its introduction when the session was introduced."""
    if isinstance(view, IntroductionView):
        return build_introduction_card(view)
    return build_rsvp_card(view)


def composer_reply_card(view: ComposerView | AnnouncementResultView) -> CardJson:
    """The composer (with its preview), or the counts of the announcement just sent."""
    if isinstance(view, AnnouncementResultView):
        return build_announcement_result_card(view)
    return build_announcement_composer_card(view.draft, preview_recipients=view.preview_recipients)
