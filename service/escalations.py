"""Escalations: flags from a check-out or a peer record, for the programme coordinators only."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace

from programme.answers import EscalationStatus, Flag
from programme.errors import NotFoundError
from programme.model import Person
from programme.policies import Actor, Permission, require
from programme.records import Escalation, EscalationSource
from service.commands import EscalationAction, EscalationCommand
from service.messages import Messages
from service.outbox import Outbox
from service.sessions import Sessions, when_text_date
from service.views import EscalationView


def escalation_id(source_key: str) -> str:
    """A stable id per source record, so re-submitting a check-out never opens a second escalation."""
    return "esc-" + hashlib.sha256(source_key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Escalations:
    """Use cases of escalations."""

    sessions: Sessions
    outbox: Outbox
    messages: Messages

    def escalate(
        self,
        source_key: str,
        raised_by: str,
        about: str,
        source: EscalationSource,
        flags: frozenset[Flag],
        period: str,
    ) -> str:
        """Open (or widen) the escalation of one source record and tell every coordinator once."""
        now = self.sessions.clock()
        ident = escalation_id(source_key)
        people = self.sessions.people()
        repository = self.sessions.programme.escalations_repo
        with self.sessions.store.transaction():
            current = repository.get(ident)
            all_flags = (current.flags if current else frozenset()) | flags
            escalation = Escalation(
                id=ident,
                raised_by=raised_by,
                about=about,
                source=source,
                flags=all_flags,
                created_at=current.created_at if current else now,
                status=current.status if current else EscalationStatus.OPEN,
                handled_by=current.handled_by if current else None,
            )
            repository.put(escalation)
            # Never to the person it is about, even when they are a coordinator themself.
            coordinators = sorted(e for e, p in people.items() if p.active and p.coordinator and e != about)
            messages = [
                self.messages.escalation(self._view(escalation, people, people.get(email))).message(
                    key=f"escalation:{ident}:{len(all_flags)}:{email}",
                    period=period,
                    recipient=email,
                    kind="escalation",
                )
                for email in coordinators
            ]
            self.outbox.enqueue(messages, now)
        return ident

    def _view(
        self, escalation: Escalation, people: Mapping[str, Person], reader: Person | None
    ) -> EscalationView:
        name = self.sessions.name
        return EscalationView(
            id=escalation.id,
            raised_by=name(people, escalation.raised_by),
            about=name(people, escalation.about),
            source=escalation.source,
            flags=escalation.flags,
            raised_when=when_text_date(escalation.created_at, self.sessions.zone(reader)),
            status=escalation.status,
            handled_by=name(people, escalation.handled_by) if escalation.handled_by else None,
        )

    def pending(self, actor: Actor) -> list[EscalationView]:
        """Open and acknowledged escalations, oldest first: coordinators only."""
        require(Permission.COORDINATOR, actor)
        people = self.sessions.people()
        escalations = self.sessions.programme.escalations_repo.all()
        return [
            self._view(escalation, people, actor.person)
            for escalation in escalations
            if escalation.status is not EscalationStatus.RESOLVED and escalation.about != actor.email
        ]

    def handle(self, actor: Actor, command: EscalationCommand) -> EscalationView:
        """Acknowledge or resolve an escalation: coordinators only."""
        require(Permission.COORDINATOR, actor)
        repository = self.sessions.programme.escalations_repo
        with self.sessions.store.transaction():
            escalation = repository.get(command.id)
            if escalation is None or escalation.about == actor.email:
                raise NotFoundError("That escalation no longer exists.")
            status = (
                EscalationStatus.RESOLVED
                if command.action is EscalationAction.RESOLVE
                else EscalationStatus.ACKNOWLEDGED
            )
            if escalation.status is not EscalationStatus.RESOLVED:
                escalation = replace(escalation, status=status, handled_by=actor.email)
                repository.put(escalation)
        return self._view(escalation, self.sessions.people(), actor.person)
