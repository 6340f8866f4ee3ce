"""Escalations: flags from a check-out or a peer record, for the programme coordinators only."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from programme.answers import EscalationStatus, Flag
from programme.errors import NotFoundError
from programme.model import Person
from programme.policies import Actor, Permission, require
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
        self, source_key: str, raised_by: str, about: str, source: str, flags: frozenset[Flag], period: str
    ) -> str:
        """Open (or widen) the escalation of one source record and tell every coordinator once."""
        now = self.sessions.clock()
        ident = escalation_id(source_key)
        people = self.sessions.people()
        repository = self.sessions.programme.escalations_repo
        with self.sessions.store.transaction():
            current = repository.get(ident)
            all_flags = sorted(set(current["flags"] if current else []) | {f.value for f in flags})
            doc = {
                "id": ident,
                "raised_by": raised_by,
                "about": about,
                "source": source,
                "flags": all_flags,
                "created_at": current["created_at"] if current else now.isoformat(),
                "status": current["status"] if current else EscalationStatus.OPEN.value,
                "handled_by": current.get("handled_by") if current else None,
            }
            repository.put(ident, doc)
            # Never to the person it is about, even when they are a coordinator themself.
            coordinators = sorted(e for e, p in people.items() if p.active and p.coordinator and e != about)
            messages = [
                self.messages.escalation(self._view(doc, people, people.get(email))).message(
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
        self, doc: dict[str, Any], people: Mapping[str, Person], reader: Person | None
    ) -> EscalationView:
        created = datetime.fromisoformat(doc["created_at"])
        name = self.sessions.name
        return EscalationView(
            id=doc["id"],
            raised_by=name(people, doc["raised_by"]),
            about=name(people, doc["about"]),
            source=doc["source"],
            flags=frozenset(Flag(f) for f in doc["flags"]),
            raised_when=when_text_date(created, self.sessions.zone(reader)),
            status=EscalationStatus(doc["status"]),
            handled_by=name(people, doc["handled_by"]) if doc.get("handled_by") else None,
        )

    def pending(self, actor: Actor) -> list[EscalationView]:
        """Open and acknowledged escalations, oldest first: coordinators only."""
        require(Permission.COORDINATOR, actor)
        people = self.sessions.people()
        docs = self.sessions.programme.escalations_repo.all()
        return [
            self._view(doc, people, actor.person)
            for doc in docs
            if doc["status"] != EscalationStatus.RESOLVED.value and doc["about"] != actor.email
        ]

    def handle(self, actor: Actor, command: EscalationCommand) -> EscalationView:
        """Acknowledge or resolve an escalation: coordinators only."""
        require(Permission.COORDINATOR, actor)
        repository = self.sessions.programme.escalations_repo
        with self.sessions.store.transaction():
            doc = repository.get(command.id)
            if doc is None or doc["about"] == actor.email:
                raise NotFoundError("That escalation no longer exists.")
            status = (
                EscalationStatus.RESOLVED
                if command.action is EscalationAction.RESOLVE
                else EscalationStatus.ACKNOWLEDGED
            )
            if doc["status"] != EscalationStatus.RESOLVED.value and doc["about"] != actor.email:
                doc = {**doc, "status": status.value, "handled_by": actor.email}
                repository.put(command.id, doc)
        return self._view(doc, self.sessions.people(), actor.person)
