"""Privacy use cases: export everything held about a person, erase it, and delete old free text.

Both person tools sweep every collection and every log of the store (repositories/personal.py), so
a table added later is still searched: each repository declares what its tables hold about a person
(`PERSONAL_TABLES` beside its table names; the outbox's in service/outbox_privacy.py), and any other
record that mentions the person (email, full name, Teams ids, in a key or anywhere in its value) is
still found. This module knows no table names: it asks the repositories who the person is and
applies their rules.

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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from programme.errors import DeliveryBusyError, NotFoundError
from programme.privacy import Identity, name_is_ambiguous, new_placeholder, retention_cutoff
from programme.settings import ProgrammeSettings
from repositories import (
    announcements,
    answers,
    erasures,
    escalations,
    facilitators,
    gatherings,
    groups,
    imports,
    jobs,
    links,
    meetings,
    pairs,
    people,
)
from repositories.announcements import AnnouncementsRepository
from repositories.erasures import ErasuresRepository
from repositories.escalations import EscalationsRepository
from repositories.facilitators import ExternalFacilitatorsRepository
from repositories.links import TeamsLinksRepository
from repositories.people import PEOPLE, PeopleRepository
from repositories.personal import PersonalDataSweep, Subject
from service import outbox_privacy
from service.outbox import Outbox
from service.outbox_privacy import OutboxPersonalData
from store import Store

Doc = dict[str, Any]
EXPORT_FORMAT = 1

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

PERSONAL_TABLES = (
    *people.PERSONAL_TABLES,
    *links.PERSONAL_TABLES,
    *groups.PERSONAL_TABLES,
    *pairs.PERSONAL_TABLES,
    *meetings.PERSONAL_TABLES,
    *answers.PERSONAL_TABLES,
    *escalations.PERSONAL_TABLES,
    *announcements.PERSONAL_TABLES,
    *erasures.PERSONAL_TABLES,
    *facilitators.PERSONAL_TABLES,
    *gatherings.PERSONAL_TABLES,
    *imports.PERSONAL_TABLES,
    *jobs.PERSONAL_TABLES,
    *outbox_privacy.PERSONAL_TABLES,
)


def normalise_email(email: str) -> str:
    """Emails are stored lower-case, without surrounding spaces."""
    return email.strip().lower()


def personal_data(store: Store) -> PersonalDataSweep:
    """The sweep over every table of the store, with the rules of the repositories that own them."""
    return PersonalDataSweep(store, PERSONAL_TABLES, (OutboxPersonalData(store),))


@dataclass(frozen=True)
class _Found:
    """The person looked for, as the repositories know them, before the sweep."""

    subject: Subject
    person: Doc | None
    warnings: tuple[str, ...]


def _find(store: Store, email: str) -> _Found:
    roster = PeopleRepository(store)
    person = roster.record(email)
    # Someone off the roster who runs groups is known by the external facilitators list instead.
    external = ExternalFacilitatorsRepository(store).get(email) if person is None else None
    warnings: list[str] = []
    name = person.get("name") if person else (external.name if external else None)
    if isinstance(name, str) and name.strip():
        others = [p.name for key, p in roster.all().items() if key != email]
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
    if external and external.aad_object_id:
        ids.append(external.aad_object_id)
    ids.extend(TeamsLinksRepository(store).teams_ids_of(email))
    identity = Identity(email, name, tuple(dict.fromkeys(ids)))
    about, raised = EscalationsRepository(store).about_and_raised_by(identity)
    # A previous erasure interrupted by a crash left its placeholder on the roster record: reuse it.
    placeholder = roster.erasing(email) or new_placeholder()
    aliases: dict[str, str] = {}
    for key in raised:
        # Kept for the coordinators (a safeguarding signal about someone else), raiser anonymised.
        # Its id hashes the raiser's email (service.escalations.escalation_id): a new id everywhere.
        aliases[key] = "esc-" + hashlib.sha256(f"{placeholder}:{key}".encode()).hexdigest()[:12]
    for digest in AnnouncementsRepository(store).digests_sent_by(identity):
        # The digest hashes the sender's email: replace it everywhere it appears (ids, batches).
        aliases[digest] = hashlib.sha256(f"{placeholder}:{digest}".encode()).hexdigest()[: len(digest)]
    subject = Subject(identity, frozenset(about), aliases, placeholder)
    return _Found(subject, person, tuple(warnings))


# -- export ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonExport:
    """The export document, and what is held about the person that it leaves out (per table)."""

    document: Doc
    records: int
    withheld: dict[str, int] = field(default_factory=dict)


def export_person(store: Store, email: str, now: datetime) -> PersonExport:
    """Everything held about a person, as one JSON-compatible document (nothing is changed)."""
    email = normalise_email(email)
    with store.transaction():
        found = _find(store, email)
        swept = personal_data(store).export(found.subject)
    if found.person is None and not swept.records and not swept.withheld:
        raise NotFoundError(
            f"nothing is held about {email}: check the address (`reflect roster list --all` lists everyone)"
        )
    document: Doc = {
        "export": {"format": EXPORT_FORMAT, "email": email, "exported_at": now.isoformat()},
        "notes": list(EXPORT_NOTES),
        "person": found.person,
        "records": dict(sorted(swept.records.items())),
    }
    count = sum(len(items) for items in swept.records.values())
    return PersonExport(document, count, dict(sorted(swept.withheld.items())))


# -- erase -----------------------------------------------------------------------------------------


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
        found_person = _find(store, email)
        subject = found_person.subject
        sweep = personal_data(store)
        plan = sweep.plan_erasure(subject)
        found = bool(plan.removed or plan.anonymised or found_person.person is not None)
        warnings = list(found_person.warnings)
        if found_person.person is not None and not found_person.person.get("left_on"):
            warnings.append(
                "they are still on the roster: the next roster import adds them back unless the HR "
                "export leaves them out"
            )
        residue: tuple[str, ...] = ()
        if apply and found:
            # First write: the placeholder, so a run interrupted by a crash is finished with the same one.
            roster = PeopleRepository(store)
            roster.mark_erasing(email, subject.placeholder)
            sweep.apply(plan, last=PEOPLE)
            ErasuresRepository(store).record(subject.placeholder, now, plan.removed, plan.anonymised)
            sweep.apply_last(plan, PEOPLE)  # last: the roster record holds their name
            residue = tuple(store.files_mentioning(subject.identity.pattern))
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


# -- retention -------------------------------------------------------------------------------------


def purge_free_text(store: Store, settings: ProgrammeSettings, now: datetime) -> int:
    """Blank free-text answers written more than `free_text_retention_days` ago; returns records changed.

    Facts stay (attendance, ratings, flags, RSVP answers, met, goal counts); repositories/answers.py
    says which fields are free text.
    """
    cutoff = retention_cutoff(now, settings.free_text_retention_days)
    return 0 if cutoff is None else answers.purge_free_text(store, cutoff)
