"""The use cases wired together over one store, one outbox and one clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from programme.settings import ProgrammeSettings
from repositories.links import TeamsLinksRepository
from service.announcements_service import AnnouncementsService
from service.identity import Directory
from service.month_service import MonthService
from service.outbox import Outbox
from service.peers_service import PeersService
from service.programme_service import ProgrammeService
from store import Store


def system_clock() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Services:
    """Everything the bot and the programme clock call."""

    programme: ProgrammeService
    outbox: Outbox
    directory: Directory
    month: MonthService
    peers: PeersService
    announcements: AnnouncementsService
    clock: Callable[[], datetime]

    @staticmethod
    def build(
        store: Store,
        settings: ProgrammeSettings,
        clock: Callable[[], datetime] = system_clock,
        *,
        tenant_id: str = "",
    ) -> Services:
        """Wire the use cases over a store (`tenant_id`: the only tenant whose users are recognised)."""
        programme = ProgrammeService(store, settings)
        outbox = Outbox(store)
        month = MonthService(programme, outbox, clock)
        return Services(
            programme=programme,
            outbox=outbox,
            directory=Directory(TeamsLinksRepository(store), programme.people_repo, tenant_id),
            month=month,
            peers=PeersService(programme, outbox, clock, month),
            announcements=AnnouncementsService(programme, outbox, clock),
            clock=clock,
        )
