"""Privacy use cases: export everything held about a person, erase it, and delete old free text.

Both person tools walk every collection and every log of the store, so a table added later is
still searched: the rules below say what each known table holds about a person, and any other
record that mentions the person (email, full name, Teams ids, in a key or anywhere in its value)
is still found.

Export (`export_person`) gives the person's own records in full, and reduced views where a record
is shared with others (a group, a pair round, a register). It never gives what other people said:
their check-outs, RSVP notes, goals, peer records, or escalations they raised about this person
(with one peer, even saying one exists would name who raised it). Those are counted in
`PersonExport.withheld` for the coordinator, not put in the document.

Erase (`erase_person`) runs under the store's lock, with delivery from the outbox paused. It
deletes the person's roster record, Teams links, answers (RSVPs, check-outs, peer records, goals),
introductions they wrote, escalations about them, and messages addressed to them; it
takes them out of current groups, meeting attendee lists, mail recipient lists and unplaced lists.
Where a record is a count that should stay (a past register, a pair round, a retired group, an
announcement's sender), the person becomes one random placeholder ("erased-3f9c0a1b2c4d"); any
other mention, such as their name in someone else's check-out text or in a card sent to their
peer, is replaced by it too. Escalations they raised about someone else stay open for the
coordinators (a safeguarding signal is not theirs to take away), with the placeholder as the
raiser and a new id (the old one hashed their email). The roster record goes last, so an erasure
interrupted by a crash is finished by running it again. Mail files in the pickup folder are outside
the data file: `reflect person erase` removes those that name the person (`purge_pickup`).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from programme.errors import DeliveryBusyError, NotFoundError
from programme.privacy import (
    Identity,
    Redactor,
    name_is_ambiguous,
    new_placeholder,
    retention_cutoff,
    written_before,
)
from programme.settings import ProgrammeSettings
from repositories.announcements import ANNOUNCEMENTS
from repositories.answers import ATTENDANCE, CHECKOUTS, GOALS, PEER_MEETINGS, RSVPS
from repositories.escalations import ESCALATIONS, INTRODUCTIONS
from repositories.groups import ALLOCATION, GROUPS, RETIRED_GROUPS
from repositories.links import AAD_LINKS, CONVERSATIONS, TEAMS_USERS, UNREACHABLE
from repositories.meetings import MEETINGS
from repositories.pairs import PAIR_ROUNDS
from repositories.people import PEOPLE
from service.outbox import OUTBOX_BODIES_LOG as OUTBOX_BODIES
from service.outbox import OUTBOX_LOG as OUTBOX
from service.outbox import Outbox
from store import PartitionedLog, Store

Doc = dict[str, Any]

ERASURES = "erasures"  # collection: placeholder -> when, and how many records were removed/anonymised
EXPORT_FORMAT = 1
# Messages to the person whose content is about other people: exported without their content.
CONTENT_ABOUT_OTHERS = frozenset({"escalation", "attendance"})

EXPORT_NOTES = (
    "This is everything the peer reflection programme holds about you, table by table.",
    "Your own answers (RSVPs, check-outs, peer records, goals, private goals included) are given in full.",
    "Records shared with other people (groups, pairing rounds, registers, meetings) are reduced to "
    "what concerns you.",
    "What other people said is never included: their check-outs, RSVPs, goals and peer records, "
    "and any confidential flag they raised with the people circle, even where it mentions you.",
    "Escalation cards and registers sent to you keep their metadata only: their content is about "
    "other people.",
)


def normalise_email(email: str) -> str:
    """Emails are stored lower-case, without surrounding spaces."""
    return email.strip().lower()


def _tail(key: str) -> str:
    """The email of a "prefix:email" key (RSVPs, check-outs, peer records)."""
    return key.partition(":")[2]


def _recipients(doc: Doc) -> list[str]:
    recipient = doc.get("recipient")
    return [part.strip().lower() for part in recipient.split(",")] if isinstance(recipient, str) else []


def _body_key(body: Doc) -> str:
    """The outbox's content address of a body (the same hash the outbox computes)."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class _Subject:
    """The person looked for, and what is known about them before walking the tables."""

    identity: Identity
    person: Doc | None
    escalations: frozenset[str]  # ids of escalations about the person (they go)
    aliases: dict[str, str]  # announcement digests of theirs -> unlinkable replacements
    warnings: tuple[str, ...]
    placeholder: str

    @property
    def email(self) -> str:
        return self.identity.email


def _subject(store: Store, email: str) -> _Subject:
    people = store.collection(PEOPLE).all()
    person = people.get(email)
    warnings: list[str] = []
    name = person.get("name") if person else None
    if isinstance(name, str) and name.strip():
        others = [str(doc.get("name", "")) for key, doc in people.items() if key != email]
        if name_is_ambiguous(name, others):
            warnings.append(
                "their name is also (part of) someone else's name on the roster, so records were "
                "matched by email and Teams ids only"
            )
            name = None
    else:
        name = None
    ids: list[str] = []
    if person and person.get("aad_object_id"):
        ids.append(str(person["aad_object_id"]))
    for user_id, doc in store.collection(TEAMS_USERS).all().items():
        if normalise_email(str(doc.get("email", ""))) == email:
            ids.append(user_id)
    reference = store.collection(CONVERSATIONS).get(email) or {}
    ids.extend(str(reference[k]) for k in ("user_id", "conversation_id") if reference.get(k))
    identity = Identity(email, name, tuple(dict.fromkeys(ids)))
    about: set[str] = set()
    raised: set[str] = set()
    for key, doc in store.collection(ESCALATIONS).all().items():
        if identity.is_email(doc.get("about")):
            about.add(key)
        elif identity.is_email(doc.get("raised_by")):
            raised.add(key)
    # A previous erasure interrupted by a crash left its placeholder on the roster record: reuse it.
    placeholder = str(person.get("erasing") or "") if person else ""
    placeholder = placeholder or new_placeholder()
    aliases: dict[str, str] = {}
    for key in raised:
        # Kept for the coordinators (a safeguarding signal about someone else), raiser anonymised.
        # Its id hashes the raiser's email (month_service.escalation_id): a new id everywhere.
        aliases[key] = "esc-" + hashlib.sha256(f"{placeholder}:{key}".encode()).hexdigest()[:12]
    for doc in store.collection(ANNOUNCEMENTS).all().values():
        digest = doc.get("digest")
        if identity.is_email(doc.get("sender")) and isinstance(digest, str) and digest:
            # The digest hashes the sender's email: replace it everywhere it appears (ids, batches).
            aliases[digest] = hashlib.sha256(f"{placeholder}:{digest}".encode()).hexdigest()[: len(digest)]
    return _Subject(identity, person, frozenset(about), aliases, tuple(warnings), placeholder)


def _collections(store: Store) -> Iterator[tuple[str, dict[str, Doc]]]:
    for name in store.collection_names():
        yield name, store.collection(name).all()


def _log_periods(store: Store, skip: frozenset[str]) -> Iterator[tuple[str, PartitionedLog, str]]:
    for name in store.log_names():
        if name in skip:
            continue
        log = store.log(name)
        for period in log.periods():
            yield name, log, period


# -- export ----------------------------------------------------------------------------------------


class _Withheld:
    """A rule's verdict: the record is about the person but may not be shown to them."""


WITHHELD = _Withheld()
ExportRule = Callable[[str, Doc, _Subject], "Doc | _Withheld | None"]


def _group_view(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    members = doc.get("members") or []
    leads = subject.identity.is_email(doc.get("facilitator"))
    if not leads and not any(subject.identity.is_email(m) for m in members):
        return None
    return {
        "id": doc.get("id", key),
        "name": doc.get("name"),
        "weekday": doc.get("weekday"),
        "cohort": doc.get("cohort"),
        "you_are": "facilitator" if leads else "member",
        "facilitator": doc.get("facilitator"),
        "member_count": len(members),
    }


def _allocation_view(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    reasons = [
        u.get("reason") for u in doc.get("unplaced") or [] if subject.identity.is_email(u.get("email"))
    ]
    return {"unplaced_reasons": reasons} if reasons else None


def _round_view(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    me = subject.identity.is_email
    for pair in doc.get("pairs") or []:
        peers = pair.get("peers") or []
        if any(me(p) for p in peers):
            return {
                "round": doc.get("round"),
                "started_on": doc.get("started_on"),
                "your_peers": [p for p in peers if not me(p)],
                "you_receive_only": any(me(p) for p in pair.get("receives_only") or []),
            }
    for entry in doc.get("unpaired") or []:
        if me(entry.get("email")):
            return {
                "round": doc.get("round"),
                "started_on": doc.get("started_on"),
                "unpaired": entry.get("reason"),
            }
    return None


def _own_by_email_key(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    return doc if subject.identity.is_email(key) else None


def _own_by_tail(label: str) -> ExportRule:
    def rule(key: str, doc: Doc, subject: _Subject) -> Doc | None:
        if not subject.identity.is_email(_tail(key)):
            return None
        return {label: key.partition(":")[0], **doc}

    return rule


def _teams_user_view(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    return doc if subject.identity.is_email(doc.get("email")) else None


def _introduction_view(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    return doc if subject.identity.is_email(doc.get("facilitator")) else None


def _escalation_view(key: str, doc: Doc, subject: _Subject) -> Doc | _Withheld | None:
    me = subject.identity.is_email
    if me(doc.get("raised_by")):
        return {
            "id": doc.get("id", key),
            "source": doc.get("source"),
            "about": "you" if me(doc.get("about")) else doc.get("about"),
            "flags": doc.get("flags"),
            "created_at": doc.get("created_at"),
            "status": doc.get("status"),
        }
    if me(doc.get("about")):
        return WITHHELD  # raised by someone else, in confidence
    return None


def _meeting_view(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    invite = doc.get("invite") or {}
    if not any(subject.identity.is_email(a) for a in invite.get("attendees") or []):
        return None
    return {
        "session": key,
        "subject": invite.get("subject"),
        "start": invite.get("start"),
        "end": invite.get("end"),
        "status": doc.get("status"),
        "join_url": doc.get("join_url"),
    }


def _announcement_view(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    return doc if subject.identity.is_email(doc.get("sender")) else None


def _register_view(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    me = subject.identity.is_email
    view: Doc = {}
    if any(me(e) for e in doc.get("present") or []):
        view["you_were"] = "present"
    elif any(me(e) for e in doc.get("absent") or []):
        view["you_were"] = "absent"
    if me(doc.get("recorded_by")):
        view["you_recorded_it"] = {
            "recorded_at": doc.get("recorded_at"),
            "present_count": len(doc.get("present") or []),
            "absent_count": len(doc.get("absent") or []),
        }
    return {"group": key, **view} if view else None


def _by_key_mention(key: str, doc: Doc, subject: _Subject) -> Doc | None:
    """Tables this module does not know: records keyed by the person are theirs, in full."""
    return doc if subject.identity.mentions(key) else None


def _none(key: str, doc: Doc, subject: _Subject) -> None:
    return None


EXPORT_RULES: dict[str, ExportRule] = {
    PEOPLE: _own_by_email_key,
    TEAMS_USERS: _teams_user_view,
    CONVERSATIONS: _own_by_email_key,
    UNREACHABLE: _own_by_email_key,
    AAD_LINKS: _own_by_email_key,
    GROUPS: _group_view,
    RETIRED_GROUPS: _group_view,
    ALLOCATION: _allocation_view,
    PAIR_ROUNDS: _round_view,
    INTRODUCTIONS: _introduction_view,
    ESCALATIONS: _escalation_view,
    MEETINGS: _meeting_view,
    ANNOUNCEMENTS: _announcement_view,
    RSVPS: _own_by_tail("group"),
    CHECKOUTS: _own_by_tail("group"),
    PEER_MEETINGS: _own_by_tail("round"),
    GOALS: _own_by_email_key,
    ATTENDANCE: _register_view,
    ERASURES: _none,
}


def _is_addressed_to(doc: Doc, body: Doc | None, subject: _Subject) -> bool:
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


@dataclass(frozen=True)
class PersonExport:
    """The export document, and what is held about the person that it leaves out (per table)."""

    document: Doc
    records: int
    withheld: dict[str, int] = field(default_factory=dict)


def export_person(store: Store, email: str, now: datetime) -> PersonExport:
    """Everything held about a person, as one JSON-compatible document (nothing is changed)."""
    email = normalise_email(email)
    records: dict[str, list[Doc]] = {}
    withheld: Counter[str] = Counter()

    def consider(table: str, period: str | None, key: str, doc: Doc, verdict: Doc | _Withheld | None) -> None:
        if isinstance(verdict, dict):
            item: Doc = {"key": key, "data": verdict}
            if period is not None:
                item = {"period": period, **item}
            records.setdefault(table, []).append(item)
        elif verdict is WITHHELD or subject.identity.mentions(key) or subject.identity.mentions(doc):
            withheld[table] += 1

    with store.transaction():
        Outbox(store).fold_outcomes()  # delivery outcomes into the entries, so the walk below sees them
        subject = _subject(store, email)
        for name, docs in _collections(store):
            rule = EXPORT_RULES.get(name, _by_key_mention)
            for key, doc in docs.items():
                consider(name, None, key, doc, rule(key, doc, subject))
        for name, log, period in _log_periods(store, frozenset({OUTBOX_BODIES})):
            docs = log.all(period)
            if name != OUTBOX:
                rule = EXPORT_RULES.get(name, _by_key_mention)
                for key, doc in docs.items():
                    consider(name, period, key, doc, rule(key, doc, subject))
                continue
            bodies = store.log(OUTBOX_BODIES).all(period)
            for key, doc in docs.items():
                body = bodies.get(str(doc.get("body")))
                if _is_addressed_to(doc, body, subject):
                    consider(name, period, key, doc, _message_view(doc, body))
                elif subject.identity.mentions(body):
                    withheld[name] += 1
                else:
                    consider(name, period, key, doc, None)
    if subject.person is None and not records and not withheld:
        raise NotFoundError(
            f"nothing is held about {email}: check the address (`reflect roster list --all` lists everyone)"
        )
    for items in records.values():
        items.sort(key=lambda item: (item.get("period", ""), item["key"]))
    document: Doc = {
        "export": {"format": EXPORT_FORMAT, "email": email, "exported_at": now.isoformat()},
        "notes": list(EXPORT_NOTES),
        "person": subject.person and {k: v for k, v in subject.person.items() if k != "erasing"},
        "records": dict(sorted(records.items())),
    }
    count = sum(len(items) for items in records.values())
    return PersonExport(document, count, dict(sorted(withheld.items())))


# -- erase -----------------------------------------------------------------------------------------

# A rule maps one record to what remains of it: None deletes it, else (key, doc) before redaction.
EraseRule = Callable[[str, Doc, _Subject], "tuple[str, Doc] | None"]


def _keep(key: str, doc: Doc, subject: _Subject) -> tuple[str, Doc]:
    return key, doc


def _drop_if(test: Callable[[str, Doc, _Subject], bool]) -> EraseRule:
    def rule(key: str, doc: Doc, subject: _Subject) -> tuple[str, Doc] | None:
        return None if test(key, doc, subject) else (key, doc)

    return rule


def _leave_current_group(key: str, doc: Doc, subject: _Subject) -> tuple[str, Doc]:
    """Out of a current group, as a leaver is at the next allocation: nobody is messaged at a placeholder."""
    me = subject.identity.is_email
    changed = dict(doc)
    if isinstance(doc.get("members"), list):
        changed["members"] = [m for m in doc["members"] if not me(m)]
    if me(doc.get("facilitator")):
        changed["facilitator"] = None  # the group rotates facilitation until it is allocated again
    return key, changed


def _leave_unplaced(key: str, doc: Doc, subject: _Subject) -> tuple[str, Doc]:
    if not isinstance(doc.get("unplaced"), list):
        return key, doc
    unplaced = [u for u in doc["unplaced"] if not subject.identity.is_email((u or {}).get("email"))]
    return key, {**doc, "unplaced": unplaced}


def _leave_meeting(key: str, doc: Doc, subject: _Subject) -> tuple[str, Doc]:
    invite = doc.get("invite")
    if not isinstance(invite, dict) or not isinstance(invite.get("attendees"), list):
        return key, doc
    attendees = [a for a in invite["attendees"] if not subject.identity.is_email(a)]
    if len(attendees) == len(invite["attendees"]):
        return key, doc
    # The stored fingerprint hashed the old attendee list: clear it, so the next sync of a coming
    # session sends the update that takes them off the meeting.
    return key, {**doc, "invite": {**invite, "attendees": attendees}, "fingerprint": ""}


ERASE_RULES: dict[str, EraseRule] = {
    PEOPLE: _drop_if(lambda key, doc, s: s.identity.is_email(key)),
    TEAMS_USERS: _drop_if(lambda key, doc, s: s.identity.is_email(doc.get("email"))),
    CONVERSATIONS: _drop_if(lambda key, doc, s: s.identity.is_email(key)),
    UNREACHABLE: _drop_if(lambda key, doc, s: s.identity.is_email(key)),
    AAD_LINKS: _drop_if(lambda key, doc, s: s.identity.is_email(key)),
    GROUPS: _leave_current_group,
    ALLOCATION: _leave_unplaced,
    INTRODUCTIONS: _drop_if(lambda key, doc, s: s.identity.is_email(doc.get("facilitator"))),
    ESCALATIONS: _drop_if(lambda key, doc, s: key in s.escalations),
    MEETINGS: _leave_meeting,
    RSVPS: _drop_if(lambda key, doc, s: s.identity.is_email(_tail(key))),
    CHECKOUTS: _drop_if(lambda key, doc, s: s.identity.is_email(_tail(key))),
    PEER_MEETINGS: _drop_if(lambda key, doc, s: s.identity.is_email(_tail(key))),
    GOALS: _drop_if(lambda key, doc, s: s.identity.is_email(key)),
    # Retired groups, pair rounds, registers, announcements, job runs and any other table keep their
    # records, with the person replaced by the placeholder.
}


@dataclass
class _Plan:
    """Every write an erasure makes, computed before the first one."""

    collections: dict[str, dict[str, Doc]] = field(default_factory=dict)  # name -> full new content
    log_puts: dict[tuple[str, str], dict[str, Doc]] = field(default_factory=dict)
    log_deletes: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    removed: Counter[str] = field(default_factory=Counter)
    anonymised: Counter[str] = field(default_factory=Counter)

    def put(self, name: str, period: str, key: str, doc: Doc) -> None:
        self.log_puts.setdefault((name, period), {})[key] = doc

    def delete(self, name: str, period: str, key: str) -> None:
        self.log_deletes.setdefault((name, period), []).append(key)


def _apply_rule(
    rule: EraseRule, redactor: Redactor, key: str, doc: Doc, subject: _Subject
) -> tuple[str, Doc] | None:
    kept = rule(key, doc, subject)
    if kept is None:
        return None
    new_key, new_doc = kept
    redacted: Doc = redactor.value(new_doc)
    return redactor.text(new_key), redacted


def _plan_table(
    plan: _Plan, name: str, docs: dict[str, Doc], subject: _Subject, redactor: Redactor
) -> dict[str, Doc] | None:
    """The table's new content, or None if nothing in it changes; counts go to the plan."""
    rule = ERASE_RULES.get(name, _keep)
    result: dict[str, Doc] = {}
    changed = False
    for key, doc in docs.items():
        kept = _apply_rule(rule, redactor, key, doc, subject)
        if kept is None:
            plan.removed[name] += 1
            changed = True
            continue
        new_key, new_doc = kept
        if new_key != key or new_doc != doc:
            plan.anonymised[name] += 1
            changed = True
        result[new_key] = new_doc
    return result if changed else None


def _plan_log_period(plan: _Plan, name: str, period: str, docs: dict[str, Doc], new: dict[str, Doc]) -> None:
    for key in docs:
        if key not in new:
            plan.delete(name, period, key)
    for key, doc in new.items():
        if docs.get(key) != doc:
            plan.put(name, period, key, doc)


def _scrub_body(body: Doc, subject: _Subject, redactor: Redactor) -> Doc:
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


def _plan_outbox_period(
    plan: _Plan, period: str, entries: dict[str, Doc], bodies: dict[str, Doc], subject: _Subject, r: Redactor
) -> None:
    """Messages to the person go; other messages lose every trace of them (bodies re-addressed)."""
    kept: dict[str, Doc] = {}
    dropped_bodies: set[str] = set()
    for key, doc in entries.items():
        recipients = _recipients(doc)
        parts = key.split(":")
        escalation = doc.get("kind") == "escalation" and len(parts) > 1 and parts[1] in subject.escalations
        others = [a for a in recipients if a != subject.email]
        if escalation or (recipients and not others):
            plan.removed[OUTBOX] += 1
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
        moved[old] = old if scrubbed == bodies[old] else _body_key(scrubbed)
        if moved[old] != old:
            new_bodies[moved[old]] = scrubbed
    new_entries: dict[str, Doc] = {}
    for key, doc in kept.items():
        body_ref = str(doc.get("body"))
        new_doc: Doc = r.value({**doc, "body": moved.get(body_ref, body_ref)})
        new_key = r.text(key)
        if new_key != key or new_doc != entries[key]:
            plan.anonymised[OUTBOX] += 1
        new_entries[new_key] = new_doc
    _plan_log_period(plan, OUTBOX, period, entries, new_entries)
    # Bodies: re-addressed ones move to their new content hash; bodies only the person's messages
    # used go, and so does any unreferenced body that mentions them.
    referenced = {str(doc.get("body")) for doc in new_entries.values()}
    for key, body in bodies.items():
        if key in referenced:
            continue
        if key in moved or key in dropped_bodies or subject.identity.mentions(body):
            plan.delete(OUTBOX_BODIES, period, key)
            if key in moved:
                plan.anonymised[OUTBOX_BODIES] += 1
            else:
                plan.removed[OUTBOX_BODIES] += 1
    for key, body in new_bodies.items():
        if bodies.get(key) != body:
            plan.put(OUTBOX_BODIES, period, key, body)


def _plan_erasure(store: Store, subject: _Subject) -> _Plan:
    Outbox(store).fold_outcomes()  # delivery outcomes into the entries, so the walk below sees them
    plan = _Plan()
    redactor = Redactor(subject.identity, subject.placeholder, subject.aliases)
    for name, docs in _collections(store):
        if name == ERASURES:
            continue
        new = _plan_table(plan, name, docs, subject, redactor)
        if new is not None:
            plan.collections[name] = new
    for name, log, period in _log_periods(store, frozenset({OUTBOX_BODIES})):
        docs = log.all(period)
        if name == OUTBOX:
            bodies = store.log(OUTBOX_BODIES).all(period)
            _plan_outbox_period(plan, period, docs, bodies, subject, redactor)
            continue
        new = _plan_table(plan, name, docs, subject, redactor)
        if new is not None:
            _plan_log_period(plan, name, period, docs, new)
    return plan


def _apply(store: Store, plan: _Plan, subject: _Subject, now: datetime) -> None:
    if subject.person is not None:
        # First write: the placeholder, so a run interrupted by a crash is finished with the same one.
        store.collection(PEOPLE).put(subject.email, {**subject.person, "erasing": subject.placeholder})
    # An outbox entry must never point at a missing body: new bodies first, old ones last.
    for (name, period), docs in sorted(plan.log_puts.items()):
        if name == OUTBOX_BODIES:
            store.log(name).put_many(period, docs)
    for name, period in sorted(set(plan.log_puts) | set(plan.log_deletes)):
        if name == OUTBOX_BODIES:
            continue
        log = store.log(name)
        log.put_many(period, plan.log_puts.get((name, period), {}))
        for key in plan.log_deletes.get((name, period), []):
            log.delete(period, key)
    for (name, period), keys in sorted(plan.log_deletes.items()):
        if name == OUTBOX_BODIES:
            log = store.log(name)
            for key in keys:
                log.delete(period, key)
    for name, content in plan.collections.items():
        if name != PEOPLE:
            store.collection(name).replace_all(content)
    receipts = store.collection(ERASURES)
    previous = receipts.get(subject.placeholder) or {}
    receipts.put(
        subject.placeholder,
        {
            "erased_at": previous.get("erased_at", now.isoformat()),
            "removed": dict(Counter(previous.get("removed", {})) + plan.removed),
            "anonymised": dict(Counter(previous.get("anonymised", {})) + plan.anonymised),
        },
    )
    if PEOPLE in plan.collections:
        store.collection(PEOPLE).replace_all(plan.collections[PEOPLE])  # last: it holds their name


@dataclass(frozen=True)
class ErasureReport:
    """What an erasure removed and anonymised (per table), or would, when not applied."""

    email: str
    found: bool
    applied: bool
    # The anonymous stand-in. Never printed next to the email: that pairing would undo the anonymity.
    placeholder: str | None
    removed: dict[str, int]
    anonymised: dict[str, int]
    warnings: tuple[str, ...] = ()
    # Data files that still mention the person after erasing: always empty unless something is wrong.
    residue: tuple[str, ...] = ()
    # How the person was recognised, for files outside the data file (the mail pickup folder).
    identity: Identity | None = field(default=None, repr=False)


@contextmanager
def _delivery_paused(store: Store, timeout: float) -> Iterator[None]:
    """Hold the outbox's delivery lease: a message to the person in flight would be recorded again."""
    outbox = Outbox(store)
    deadline = time.monotonic() + timeout
    while True:
        with outbox.delivery_lease() as mine:
            if mine:
                yield
                return
        if time.monotonic() >= deadline:
            raise DeliveryBusyError(
                "messages are being delivered from this data file right now; try again in a minute"
            )
        time.sleep(0.2)


def erase_person(
    store: Store, email: str, now: datetime, *, apply: bool, lease_timeout: float = 60.0
) -> ErasureReport:
    """Remove a person's data and answers, keeping anonymous counts; with apply=False only report.

    One transaction under the store's lock, with delivery from the outbox paused; running it again
    finds nothing left and changes nothing.
    """
    email = normalise_email(email)
    if not apply:
        return _erase(store, email, now, apply=False)
    with _delivery_paused(store, lease_timeout):
        return _erase(store, email, now, apply=True)


def _erase(store: Store, email: str, now: datetime, *, apply: bool) -> ErasureReport:
    with store.transaction():
        subject = _subject(store, email)
        plan = _plan_erasure(store, subject)
        found = bool(plan.removed or plan.anonymised or subject.person is not None)
        warnings = list(subject.warnings)
        if subject.person is not None and not subject.person.get("left_on"):
            warnings.append(
                "they are still on the roster: the next roster import adds them back unless the HR "
                "export leaves them out"
            )
        if apply and found:
            _apply(store, plan, subject, now)
        residue = tuple(find_in_data_files(store, subject.identity)) if apply and found else ()
    return ErasureReport(
        email=email,
        found=found,
        applied=apply and found,
        placeholder=subject.placeholder if found else None,
        removed=dict(sorted(plan.removed.items())),
        anonymised=dict(sorted(plan.anonymised.items())),
        warnings=tuple(warnings) if found else (),
        residue=residue,
        identity=subject.identity,
    )


def find_in_data_files(store: Store, identity: Identity) -> list[str]:
    """Data files (the main file, every log file) whose raw text still mentions the person."""
    main = store.path
    paths = [main]
    for root, _dirs, files in os.walk(main + ".d"):
        paths.extend(os.path.join(root, name) for name in sorted(files))
    found = []
    base = os.path.dirname(main)
    for path in sorted(paths):
        try:
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            continue
        if identity.pattern.search(text):
            found.append(os.path.relpath(path, base))
    return found


# -- retention -------------------------------------------------------------------------------------


def _purge_checkout(doc: Doc) -> Doc:
    return {**doc, "helpful": "", "not_helpful": ""} if doc.get("helpful") or doc.get("not_helpful") else doc


def _purge_rsvp(doc: Doc) -> Doc:
    return {**doc, "note": ""} if doc.get("note") else doc


def _purge_goals(doc: Doc) -> Doc:
    goals = doc.get("goals")
    new: Doc = dict(doc)
    if isinstance(goals, list):
        new["goals"] = [{**g, "text": ""} if isinstance(g, dict) else g for g in goals]
    for text_field in ("training_needs", "capacity_plan"):
        if doc.get(text_field):
            new[text_field] = ""
    return new


# log -> (field holding when it was written, what the record keeps once its text is gone)
FREE_TEXT: dict[str, tuple[str, Callable[[Doc], Doc]]] = {
    CHECKOUTS: ("at", _purge_checkout),  # keeps rating and flags
    RSVPS: ("answered_at", _purge_rsvp),  # keeps answer and reason
    GOALS: ("at", _purge_goals),  # keeps how many goals, which are shared, capacity now
}


def purge_free_text(store: Store, settings: ProgrammeSettings, now: datetime) -> int:
    """Blank free-text answers written more than `free_text_retention_days` ago; returns records changed.

    Facts stay (attendance, ratings, flags, RSVP answers, met, goal counts). Each period is
    rewritten in its own short transaction, so answers arriving meanwhile are never overwritten.
    """
    cutoff = retention_cutoff(now, settings.free_text_retention_days)
    if cutoff is None:
        return 0
    changed = 0
    present = set(store.log_names())
    for name, (stamp_field, purge) in FREE_TEXT.items():
        if name not in present:
            continue
        log = store.log(name)
        for period in log.periods():
            with store.transaction():
                updates: dict[str, Doc] = {}
                for key, doc in log.all(period).items():
                    if written_before(doc.get(stamp_field), cutoff):
                        purged = purge(doc)
                        if purged != doc:
                            updates[key] = purged
                log.put_many(period, updates)
            changed += len(updates)
    return changed
