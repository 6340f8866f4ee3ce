"""The outbox's personal data: messages to a person, and every trace of them in messages to others.

An outbox keeps entries (who, which kind, how delivery went) and content-addressed bodies (the card,
text and mail data); both are erased together, so they are one `PersonalLogs` handler of the privacy
sweep (repositories/personal.py). Export gives a person the messages addressed to them, without the
content of those about other people (escalations, registers); a message to others that mentions them
is counted as withheld. Erasure deletes messages only to them (and escalation messages about them),
takes them off mail and invite recipient lists, redacts any other mention, and moves a changed body
to its new content address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from programme.privacy import Redactor
from repositories.personal import Doc, ErasurePlan, ExportFound, PersonalTable, Subject, nothing
from service.outbox import OUTBOX_BODIES_LOG, OUTBOX_CHANGES_LOG, OUTBOX_LOG, Outbox, body_key
from store import Store

# The outbox's counter of changed periods: no personal data.
PERSONAL_TABLES = (PersonalTable(OUTBOX_CHANGES_LOG, nothing),)
# Messages to the person whose content is about other people: exported without their content.
CONTENT_ABOUT_OTHERS = frozenset({"escalation", "attendance"})


def _recipients(doc: Mapping[str, Any]) -> list[str]:
    recipient = doc.get("recipient")
    return [part.strip().lower() for part in recipient.split(",")] if isinstance(recipient, str) else []


def _is_addressed_to(doc: Doc, body: Doc | None, subject: Subject) -> bool:
    if subject.email in _recipients(doc):
        return True
    invite = ((body or {}).get("data") or {}).get("invite") or {}
    return any(subject.identity.is_email(a) for a in invite.get("attendees") or [])


def _message_view(doc: Doc, body: Doc | None) -> Doc:
    view: Doc = {
        k: doc.get(k)
        for k in ("kind", "channel", "status", "created_at", "sent_at", "attempts", "last_error")
    }
    if doc.get("kind") in CONTENT_ABOUT_OTHERS:
        view["content"] = "withheld: it is about other people"
    elif body is not None:
        view["content"] = {k: body.get(k) for k in ("text", "card", "data")}
    return view


def _scrub_body(body: Doc, subject: Subject, redactor: Redactor) -> Doc:
    """A message body without the person: off mail and invite recipient lists, otherwise redacted."""
    data = body.get("data")
    if isinstance(data, dict):
        data = dict(data)
        if isinstance(data.get("to"), list):
            data["to"] = [a for a in data["to"] if not subject.identity.is_email(a)]
        invite = data.get("invite")
        if isinstance(invite, dict) and isinstance(invite.get("attendees"), list):
            attendees = [a for a in invite["attendees"] if not subject.identity.is_email(a)]
            removed = [a for a in invite.get("removed") or [] if not subject.identity.is_email(a)]
            data["invite"] = {**invite, "attendees": attendees, "removed": removed}
        body = {**body, "data": data}
    scrubbed: Doc = redactor.value(body)
    return scrubbed


class OutboxPersonalData:
    """The outbox's entries and bodies in a privacy sweep."""

    names = frozenset({OUTBOX_LOG, OUTBOX_BODIES_LOG})
    referenced = frozenset({OUTBOX_BODIES_LOG})

    def __init__(self, store: Store) -> None:
        self._store = store

    def _periods(self) -> list[str]:
        return self._store.log(OUTBOX_LOG).periods() if self._store.has_log(OUTBOX_LOG) else []

    def _period(self, period: str) -> tuple[dict[str, Doc], dict[str, Doc]]:
        bodies = (
            self._store.log(OUTBOX_BODIES_LOG).all(period) if self._store.has_log(OUTBOX_BODIES_LOG) else {}
        )
        return self._store.log(OUTBOX_LOG).all(period), bodies

    def prepare(self) -> None:
        # Delivery outcomes live in a journal until folded: fold them, so the sweep sees them.
        Outbox(self._store).fold_outcomes()

    def export(self, found: ExportFound, subject: Subject) -> None:
        for period in self._periods():
            entries, bodies = self._period(period)
            for key, doc in entries.items():
                body = bodies.get(str(doc.get("body")))
                if _is_addressed_to(doc, body, subject):
                    found.consider(OUTBOX_LOG, period, key, doc, _message_view(doc, body), subject)
                elif subject.identity.mentions(body):
                    found.withheld[OUTBOX_LOG] += 1
                else:
                    found.consider(OUTBOX_LOG, period, key, doc, None, subject)

    def plan_erasure(self, plan: ErasurePlan, subject: Subject, redactor: Redactor) -> None:
        for period in self._periods():
            entries, bodies = self._period(period)
            self._plan_period(plan, period, entries, bodies, subject, redactor)

    @staticmethod
    def _plan_period(
        plan: ErasurePlan,
        period: str,
        entries: dict[str, Doc],
        bodies: dict[str, Doc],
        subject: Subject,
        r: Redactor,
    ) -> None:
        """Messages to the person go; other messages lose every trace of them (bodies re-addressed)."""
        kept: dict[str, Doc] = {}
        dropped_bodies: set[str] = set()
        for key, doc in entries.items():
            recipients = _recipients(doc)
            parts = key.split(":")
            escalation = (
                doc.get("kind") == "escalation" and len(parts) > 1 and parts[1] in subject.escalations
            )
            others = [a for a in recipients if a != subject.email]
            if escalation or (recipients and not others):
                plan.removed[OUTBOX_LOG] += 1
                dropped_bodies.add(str(doc.get("body")))
                continue
            if len(others) < len(recipients):
                doc = {**doc, "recipient": ",".join(others)}
            kept[key] = doc
        new_bodies: dict[str, Doc] = {}
        moved: dict[str, str] = {}
        for doc in kept.values():
            old = str(doc.get("body"))
            if old in moved or old not in bodies:
                continue
            scrubbed = _scrub_body(bodies[old], subject, r)
            moved[old] = old if scrubbed == bodies[old] else body_key(scrubbed)
            if moved[old] != old:
                new_bodies[moved[old]] = scrubbed
        new_entries: dict[str, Doc] = {}
        for key, doc in kept.items():
            body_ref = str(doc.get("body"))
            new_doc: Doc = r.value({**doc, "body": moved.get(body_ref, body_ref)})
            new_key = r.text(key)
            if new_key != key or new_doc != entries[key]:
                plan.anonymised[OUTBOX_LOG] += 1
            new_entries[new_key] = new_doc
        plan.diff_period(OUTBOX_LOG, period, entries, new_entries)
        # Bodies: re-addressed ones move to their new content hash; bodies only the person's messages
        # used go, and so does any unreferenced body that mentions them.
        referenced = {str(doc.get("body")) for doc in new_entries.values()}
        for key, body in bodies.items():
            if key in referenced:
                continue
            if key in moved or key in dropped_bodies or subject.identity.mentions(body):
                plan.delete(OUTBOX_BODIES_LOG, period, key)
                if key in moved:
                    plan.anonymised[OUTBOX_BODIES_LOG] += 1
                else:
                    plan.removed[OUTBOX_BODIES_LOG] += 1
        for key, body in new_bodies.items():
            if bodies.get(key) != body:
                plan.put(OUTBOX_BODIES_LOG, period, key, body)
