"""Opt-in gatherings (seed 001): staff see the open gatherings, and join or leave one with a click.

A gathering is a topic of a programme with `formation = "topic"`. Joining records the choice
(TopicJoinsRepository); the next `reflect groups allocate` forms the topic groups from the joins,
so a join changes no group by itself. All of a programme's gatherings meet at the programme's
time, so a person joins at most one topic per programme: joining another leaves the first.
Staff see how many joined each gathering and whether it meets yet, never who joined (a shared
experience such as bereavement is personal). Coordinators add people from the CLI and list who
joined there.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from programme.errors import NotFoundError, ProgrammeChoiceError
from programme.model import Group, Person
from programme.policies import Actor, Permission, require
from programme.programmes import Formation, ProgrammeDefinition
from programme.sessions import programme_next_session
from repositories.gatherings import TopicJoinsRepository
from service.commands import GatheringJoinCommand, GatheringLeaveCommand, GatheringsPageCommand
from service.sessions import Sessions, when_text
from service.views import GatheringMembers, GatheringsView, GatheringView

NEXT_ALLOCATION = "You'll be placed in its group at the next allocation of groups."
# Gatherings per page of the card. Ten sections stay far under Teams' 80 KB per message even with
# the longest topics, names and places settings allow (about 17 KB, tests/test_gatherings_pages.py)
# and are what a phone shows in a few screens; "any number of gatherings" (seed 001) is then a
# matter of More / Back, not of the card's size.
PER_PAGE = 10


def gathering_programmes(programmes: Iterable[ProgrammeDefinition]) -> tuple[ProgrammeDefinition, ...]:
    """The programmes whose groups are opt-in gatherings (topics)."""
    return tuple(p for p in programmes if p.formation is Formation.TOPIC and p.has_groups)


@dataclass(frozen=True)
class _Offer:
    """A gathering the reader may join, before it is put on a page."""

    definition: ProgrammeDefinition
    topic: str
    joined: int
    mine: bool


@dataclass(frozen=True)
class Gatherings:
    """Use cases of opt-in gatherings."""

    sessions: Sessions
    _joins: TopicJoinsRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_joins", TopicJoinsRepository(self.sessions.store))

    def _programmes(self) -> tuple[ProgrammeDefinition, ...]:
        return gathering_programmes(self.sessions.programme.programmes)

    def _programme(self, programme_id: str) -> ProgrammeDefinition:
        for definition in self._programmes():
            if definition.id == programme_id:
                return definition
        raise NotFoundError("That gathering is no longer offered; type 'gatherings' for the open ones.")

    @staticmethod
    def _topic(definition: ProgrammeDefinition, wanted: str) -> str:
        folded = " ".join(wanted.split()).casefold()
        for topic in definition.topics:
            if topic.casefold() == folded:
                return topic
        raise NotFoundError("That gathering is no longer offered; type 'gatherings' for the open ones.")

    def _when(self, definition: ProgrammeDefinition, topic: str, reader: Person) -> str:
        # The programme's next session: every gathering of a programme meets at its time.
        provisional = Group(
            id=f"{definition.id}:{topic}",
            name=topic,
            weekday=definition.settings.weekday,
            cohort=topic,
            facilitator=None,
            members=(),
            programme=definition.id,
        )
        session = programme_next_session(provisional, self.sessions.clock(), definition)
        # The reader's zone, else the programme's own (as session cards show it).
        zone = ZoneInfo(reader.timezone) if reader.timezone else definition.settings.zone
        return when_text(session, zone)

    def open_for(self, actor: Actor, notice: str = "", page: int = 1) -> GatheringsView:
        """A page of the gatherings this person may join (every topic of every opt-in gathering
        programme): their own first, then the rest in settings order, PER_PAGE at a time. A page past
        the end (a card from before topics were removed) shows the last page.

        Staff only: an external facilitator is refused (Permission.SELF), as for their own answers.
        """
        require(Permission.SELF, actor)
        offers: list[_Offer] = []
        if actor.person.active:
            for definition in self._programmes():
                joined = self._joins.joined(definition.id)
                mine = self._joins.topic_of(definition.id, actor.email)
                offers.extend(
                    _Offer(definition, topic, len(joined.get(topic, ())), mine == topic)
                    for topic in definition.topics
                )
        offers.sort(key=lambda offer: not offer.mine)  # stable: the rest keep settings order
        pages = max(1, -(-len(offers) // PER_PAGE))
        page = min(max(page, 1), pages)
        start = (page - 1) * PER_PAGE
        shown = tuple(
            GatheringView(
                programme_id=offer.definition.id,
                programme_name=offer.definition.name,
                topic=offer.topic,
                joined=offer.joined,
                minimum=offer.definition.minimum_to_meet,
                next_session=self._when(offer.definition, offer.topic, actor.person),
                place=offer.definition.venue.place or "",
                mine=offer.mine,
            )
            for offer in offers[start : start + PER_PAGE]
        )
        yours = sum(offer.mine for offer in offers)
        return GatheringsView(shown, len(offers), notice, page, pages, start + 1, yours)

    def page(self, actor: Actor, command: GatheringsPageCommand) -> GatheringsView:
        """Another page of the gatherings card (its More / Back buttons)."""
        return self.open_for(actor, page=command.page)

    def join(self, actor: Actor, command: GatheringJoinCommand) -> GatheringsView:
        """Join a gathering (leaving the person's other one in that programme)."""
        require(Permission.SELF, actor)
        definition = self._programme(command.programme)
        topic = self._topic(definition, command.topic)
        if not actor.person.active:
            raise NotFoundError("Only people on the staff list can join a gathering.")
        with self.sessions.store.transaction():
            before = self._joins.topic_of(definition.id, actor.email)
            if before != topic:
                self._joins.join(definition.id, actor.email, topic, self.sessions.clock())
        if before == topic:
            notice = f"You have already joined {topic}."
        elif before is None:
            notice = f"You joined {topic}. {NEXT_ALLOCATION}"
        else:
            notice = f"You joined {topic} and left {before}. {NEXT_ALLOCATION}"
        return self.open_for(actor, notice, command.page)

    def leave(self, actor: Actor, command: GatheringLeaveCommand) -> GatheringsView:
        """Leave the person's gathering in a programme."""
        require(Permission.SELF, actor)
        definition = self._programme(command.programme)
        with self.sessions.store.transaction():
            before = self._joins.topic_of(definition.id, actor.email)
            self._joins.leave(definition.id, actor.email)
        notice = (
            f"You left {before}. Its group will no longer include you from the next allocation of groups."
            if before
            else "You had not joined a gathering there."
        )
        return self.open_for(actor, notice, command.page)

    # -- coordinators, from the CLI --------------------------------------------------------------

    def add(
        self, programme_id: str | None, topic: str, emails: Iterable[str], now: datetime
    ) -> tuple[str, list[str]]:
        """Join people to a gathering on their behalf; all or nothing (NotFoundError names anyone not
        active on the roster). Returns the topic as the settings spell it and the emails whose choice
        changed."""
        definition = self._programme_or_error(programme_id)
        chosen = self._topic_or_error(definition, topic)
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails))
        people = self.sessions.people()
        missing = [email for email in wanted if email not in people or not people[email].active]
        if missing:
            raise NotFoundError(f"not on the roster (or left): {', '.join(missing)}; nothing was changed")
        changed: list[str] = []
        with self.sessions.store.transaction():
            for email in wanted:
                if self._joins.topic_of(definition.id, email) != chosen:
                    self._joins.join(definition.id, email, chosen, now)
                    changed.append(email)
        return chosen, changed

    def remove(self, programme_id: str | None, emails: Iterable[str]) -> list[str]:
        """Take people out of the programme's gatherings; returns those who had joined one."""
        definition = self._programme_or_error(programme_id)
        with self.sessions.store.transaction():
            wanted = dict.fromkeys(email.strip().lower() for email in emails)
            return [email for email in wanted if self._joins.leave(definition.id, email)]

    def members(self, programme_id: str | None = None) -> list[GatheringMembers]:
        """Every gathering (of one programme, or all) with who joined, for coordinators."""
        programmes = (
            (self._programme_or_error(programme_id),) if programme_id is not None else self._programmes()
        )
        rows = []
        for definition in programmes:
            joined = self._joins.joined(definition.id)
            for topic in definition.topics:
                rows.append(
                    GatheringMembers(
                        definition.id, topic, definition.minimum_to_meet, tuple(sorted(joined.get(topic, ())))
                    )
                )
        return rows

    def _programme_or_error(self, programme_id: str | None) -> ProgrammeDefinition:
        offered = self._programmes()
        if programme_id is None and len(offered) == 1:
            return offered[0]  # the one programme with gatherings need not be named
        if programme_id is None and not offered:
            raise NotFoundError('no programme has gatherings (formation = "topic")')
        if programme_id is None:
            ids = ", ".join(p.id for p in offered)
            raise ProgrammeChoiceError(
                f"several programmes have gatherings ({ids}): say which with --programme ID"
            )
        definition = self.sessions.programme.choose_programme(programme_id)
        if definition.formation is not Formation.TOPIC:
            raise NotFoundError(f'programme "{definition.id}" has no gatherings (formation is not "topic")')
        return definition

    @staticmethod
    def _topic_or_error(definition: ProgrammeDefinition, topic: str) -> str:
        folded = " ".join(topic.split()).casefold()
        for listed in definition.topics:
            if listed.casefold() == folded:
                return listed
        topics = ", ".join(definition.topics)
        raise NotFoundError(f'programme "{definition.id}" has no gathering "{topic}"; its topics: {topics}')
