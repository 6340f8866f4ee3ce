"""The use cases wired together over one store, one outbox, one clock and one presenter."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from programme.programmes import ProgrammeDefinition
from programme.settings import ProgrammeSettings
from repositories.links import TeamsLinksRepository
from service.announcements import Announcements
from service.checkouts import Checkouts
from service.escalations import Escalations
from service.facilitators import ExternalFacilitators
from service.gatherings import Gatherings
from service.goals import Goals
from service.identity import Directory
from service.introductions import Introductions
from service.meeting_links import MeetingLinks
from service.messages import Messages
from service.outbox import Outbox
from service.peers import Peers
from service.programme_service import ProgrammeService
from service.register import Register
from service.reports import Reports
from service.rsvps import Rsvps
from service.sessions import Sessions
from service.themes import Themes
from store import Store


def system_clock() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything the bot and the programme clock call, one capability each."""

    programme: ProgrammeService
    outbox: Outbox
    directory: Directory
    introductions: Introductions
    rsvps: Rsvps
    register: Register
    checkouts: Checkouts
    escalations: Escalations
    meeting_links: MeetingLinks
    peers: Peers
    goals: Goals
    announcements: Announcements
    reports: Reports
    gatherings: Gatherings
    themes: Themes
    sessions: Sessions
    clock: Callable[[], datetime]
    facilitators: ExternalFacilitators

    @staticmethod
    def build(
        store: Store,
        settings: ProgrammeSettings,
        clock: Callable[[], datetime] = system_clock,
        *,
        messages: Messages,
        tenant_id: str = "",
        programmes: Sequence[ProgrammeDefinition] = (),
    ) -> Services:
        """Wire the use cases over a store; `messages` renders what they send to others (cards/outbound.py),
        `tenant_id` is the only tenant whose users are recognised; `programmes` are the deployment's
        programmes (settings `[[programmes]]`; none: the one programme `settings` describes)."""
        programme = ProgrammeService(store, settings, tuple(programmes))
        outbox = Outbox(store)
        sessions = Sessions(programme, clock)
        rsvps = Rsvps(sessions, outbox, messages)
        escalations = Escalations(sessions, outbox, messages)
        checkouts = Checkouts(sessions, rsvps, escalations, outbox, messages)
        peers = Peers(programme, outbox, clock, messages, escalations)
        return Services(
            programme=programme,
            outbox=outbox,
            directory=Directory(
                TeamsLinksRepository(store), programme.people_repo, tenant_id, programme.facilitators_repo
            ),
            introductions=Introductions(sessions, rsvps, outbox, messages),
            rsvps=rsvps,
            register=Register(sessions, rsvps, checkouts, outbox, messages),
            checkouts=checkouts,
            escalations=escalations,
            meeting_links=MeetingLinks(sessions, checkouts),
            peers=peers,
            goals=Goals(programme, peers, outbox, clock, messages),
            announcements=Announcements(programme, outbox, clock, messages),
            reports=Reports(programme, clock),
            gatherings=Gatherings(sessions),
            themes=Themes(sessions),
            sessions=sessions,
            clock=clock,
            facilitators=ExternalFacilitators(programme),
        )
