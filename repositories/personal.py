"""Personal data held in the store: how each table answers an export or an erasure for one person.

Each repository declares, next to its table names, a `PersonalTable` per table it owns: what a record
shows the person (`export`: a reduced view, their own record in full, `WITHHELD` when it is about them
but in someone else's confidence, or None) and what remains of it once they are erased (`erase`: None
deletes it, else the record without them, which the `Redactor` then scrubs of any other mention).
`PersonalDataSweep` walks every collection and log of the store with those rules, so a table a later
version adds is still searched: one no repository declares is exported when its key names the person,
and kept with every mention of them replaced by the placeholder. A store with other tables (a log
whose entries and bodies are erased together, like the outbox's) registers a `PersonalLogs` handler.

A PostgreSQL backend would implement the same per-table rules over rows (a row is a key and a
document), and the sweep as one transaction over the tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from programme.privacy import Identity, Redactor
from store import PartitionedLog, Store

Doc = dict[str, Any]


class Withheld:
    """A rule's verdict: the record is about the person but may not be shown to them."""


WITHHELD = Withheld()


@dataclass(frozen=True)
class Subject:
    """The person looked for, and what the repositories knew about them before the sweep."""

    identity: Identity
    escalations: frozenset[str]  # ids of escalations about the person (they go)
    aliases: Mapping[str, str]  # ids derived from their email -> unlinkable replacements
    placeholder: str

    @property
    def email(self) -> str:
        return self.identity.email


ExportRule = Callable[[str, Doc, Subject], "Doc | Withheld | None"]
EraseRule = Callable[[str, Doc, Subject], "tuple[str, Doc] | None"]


def keep(key: str, doc: Doc, subject: Subject) -> tuple[str, Doc]:
    """Erase rule: the record stays (the redactor replaces any mention of the person)."""
    return key, doc


def drop_if(test: Callable[[str, Doc, Subject], bool]) -> EraseRule:
    """Erase rule: the record goes when `test` says it is the person's."""

    def rule(key: str, doc: Doc, subject: Subject) -> tuple[str, Doc] | None:
        return None if test(key, doc, subject) else (key, doc)

    return rule


def key_is_email(key: str, doc: Doc, subject: Subject) -> bool:
    """The record is keyed by the person's email."""
    return subject.identity.is_email(key)


def own_by_email_key(key: str, doc: Doc, subject: Subject) -> Doc | None:
    """Export rule: a record keyed by the person's email is theirs, in full."""
    return doc if key_is_email(key, doc, subject) else None


def by_key_mention(key: str, doc: Doc, subject: Subject) -> Doc | None:
    """Export rule of tables no repository declares: records keyed by the person are theirs, in full."""
    return doc if subject.identity.mentions(key) else None


def nothing(key: str, doc: Doc, subject: Subject) -> None:
    """Export rule of tables that hold nothing to show anyone (receipts of erasures)."""
    return None


@dataclass(frozen=True)
class PersonalTable:
    """A collection or log (by name) and its rules; `erasable=False` tables are never rewritten."""

    name: str
    export: ExportRule
    erase: EraseRule = keep
    erasable: bool = True


UNDECLARED = PersonalTable("", by_key_mention)


@dataclass
class ExportFound:
    """What a sweep found for an export: records shown (per table) and records withheld (counted)."""

    records: dict[str, list[Doc]] = field(default_factory=dict)
    withheld: Counter[str] = field(default_factory=Counter)

    def consider(
        self,
        table: str,
        period: str | None,
        key: str,
        doc: Doc,
        verdict: Doc | Withheld | None,
        subject: Subject,
    ) -> None:
        """Keep a record's view, or count it when it is about the person but not shown."""
        if isinstance(verdict, dict):
            item: Doc = {"key": key, "data": verdict}
            if period is not None:
                item = {"period": period, **item}
            self.records.setdefault(table, []).append(item)
        elif verdict is WITHHELD or subject.identity.mentions(key) or subject.identity.mentions(doc):
            self.withheld[table] += 1


@dataclass
class ErasurePlan:
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

    def diff_period(self, name: str, period: str, docs: Mapping[str, Doc], new: Mapping[str, Doc]) -> None:
        """The puts and deletes that turn a log period's `docs` into `new`."""
        for key in docs:
            if key not in new:
                self.delete(name, period, key)
        for key, doc in new.items():
            if docs.get(key) != doc:
                self.put(name, period, key, doc)


class PersonalLogs(Protocol):
    """Logs whose records are exported and erased together (an outbox's entries and bodies)."""

    names: frozenset[str]
    referenced: frozenset[str]  # the logs among `names` whose records others point at

    def prepare(self) -> None:
        """Bring the logs up to date before a sweep reads them (e.g. fold a journal in)."""

    def export(self, found: ExportFound, subject: Subject) -> None:
        """Add what the logs hold about the subject to `found`."""

    def plan_erasure(self, plan: ErasurePlan, subject: Subject, redactor: Redactor) -> None:
        """Add the writes that take the subject out of the logs to `plan`."""


class PersonalDataSweep:
    """Export and erasure over every table of a store, by the rules its repositories declare."""

    def __init__(
        self, store: Store, tables: Iterable[PersonalTable], logs: Iterable[PersonalLogs] = ()
    ) -> None:
        self._store = store
        self._tables = {table.name: table for table in tables}
        self._logs = tuple(logs)
        self._special = frozenset(name for handler in self._logs for name in handler.names)

    def declared(self) -> frozenset[str]:
        """Names of the tables some repository declares rules for."""
        return frozenset(self._tables) | self._special

    def _rule(self, name: str) -> PersonalTable:
        return self._tables.get(name, UNDECLARED)

    def _collections(self) -> Iterator[tuple[str, dict[str, Doc]]]:
        for name in self._store.collection_names():
            yield name, self._store.collection(name).all()

    def _log_periods(self) -> Iterator[tuple[str, PartitionedLog, str]]:
        for name in self._store.log_names():
            if name in self._special:
                continue
            log = self._store.log(name)
            for period in log.periods():
                yield name, log, period

    def export(self, subject: Subject) -> ExportFound:
        """Everything the store shows the subject, and what it withholds (call inside a transaction)."""
        for handler in self._logs:
            handler.prepare()
        found = ExportFound()
        for name, docs in self._collections():
            rule = self._rule(name).export
            for key, doc in docs.items():
                found.consider(name, None, key, doc, rule(key, doc, subject), subject)
        for name, log, period in self._log_periods():
            rule = self._rule(name).export
            for key, doc in log.all(period).items():
                found.consider(name, period, key, doc, rule(key, doc, subject), subject)
        for handler in self._logs:
            handler.export(found, subject)
        for items in found.records.values():
            items.sort(key=lambda item: (item.get("period", ""), item["key"]))
        return found

    def plan_erasure(self, subject: Subject) -> ErasurePlan:
        """Every write that takes the subject out of the store (call inside a transaction)."""
        for handler in self._logs:
            handler.prepare()
        plan = ErasurePlan()
        redactor = Redactor(subject.identity, subject.placeholder, dict(subject.aliases))
        for name, docs in self._collections():
            new = self._plan_table(plan, name, docs, subject, redactor)
            if new is not None:
                plan.collections[name] = new
        for name, log, period in self._log_periods():
            docs = log.all(period)
            new = self._plan_table(plan, name, docs, subject, redactor)
            if new is not None:
                plan.diff_period(name, period, docs, new)
        for handler in self._logs:
            handler.plan_erasure(plan, subject, redactor)
        return plan

    def _plan_table(
        self, plan: ErasurePlan, name: str, docs: dict[str, Doc], subject: Subject, redactor: Redactor
    ) -> dict[str, Doc] | None:
        """The table's new content, or None if nothing in it changes; counts go to the plan."""
        table = self._rule(name)
        if not table.erasable:
            return None
        result: dict[str, Doc] = {}
        changed = False
        for key, doc in docs.items():
            kept = table.erase(key, doc, subject)
            if kept is None:
                plan.removed[name] += 1
                changed = True
                continue
            new_key, new_doc = redactor.text(kept[0]), redactor.value(kept[1])
            if new_key != key or new_doc != doc:
                plan.anonymised[name] += 1
                changed = True
            result[new_key] = new_doc
        return result if changed else None

    def apply(self, plan: ErasurePlan, *, last: str) -> None:
        """Make the plan's writes, except to the collection `last` (the roster: it holds the name).

        Logs that others point into (an outbox's bodies) get their new records before every other
        write and lose their old ones after, so an entry never points at a missing record.
        """
        referenced = frozenset(name for handler in self._logs for name in handler.referenced)
        touched = sorted(set(plan.log_puts) | set(plan.log_deletes))
        for name, period in touched:
            if name in referenced:
                self._store.log(name).put_many(period, plan.log_puts.get((name, period), {}))
        for name, period in touched:
            if name not in referenced:
                log = self._store.log(name)
                log.put_many(period, plan.log_puts.get((name, period), {}))
                log.delete_many(period, plan.log_deletes.get((name, period), []))
        for name, period in touched:
            if name in referenced:
                self._store.log(name).delete_many(period, plan.log_deletes.get((name, period), []))
        for name, content in plan.collections.items():
            if name != last:
                self._store.collection(name).replace_all(content)

    def apply_last(self, plan: ErasurePlan, last: str) -> None:
        """The final write of an erasure: the collection held back by `apply`."""
        if last in plan.collections:
            self._store.collection(last).replace_all(plan.collections[last])
