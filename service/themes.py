"""Themes for the organisation (seeds 000, 003): what a session raised, recorded by whoever ran it,
and seen by coordinators per quarter across groups and programmes.

Recording follows the register's window and rules: the session's leader (its facilitator, or in a
group that rotates facilitation, a member) records from the start of the session and may correct
it for 7 days. `programme.themes.record_themes` refuses a note naming one of the group's people.
Coordinators see counts of groups per theme with the report's small-number suppression
(`programme.themes.quarter_themes`); notes older than the free-text retention are not shown, and
the retention job blanks them in the store (repositories/themes.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from programme.errors import ClosedError, NotFoundError, ThemeError
from programme.model import Group, Person, Session
from programme.policies import Actor, Permission, led_groups, require
from programme.sessions import attendance_deadline, attendance_open
from programme.themes import ALL_PROGRAMMES, drop_expired_notes, quarter_themes, record_themes
from repositories.themes import ThemesRepository
from service.commands import ThemesCommand
from service.sessions import Sessions, when_text_date
from service.views import QuarterThemesView, ThemeCountView, ThemesFormView

ALL_PROGRAMMES_NAME = "All programmes"
_NOT_OPEN = (
    "No session is open for themes now: they can be recorded from the start of a session until "
    "7 days after it."
)


@dataclass(frozen=True)
class Themes:
    """Use cases of session themes."""

    sessions: Sessions
    _records: ThemesRepository = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_records", ThemesRepository(self.sessions.store))

    def form(self, actor: Actor, group_id: str | None = None) -> ThemesFormView:
        """The themes card of the latest session the actor ran (or of the group named)."""
        if group_id:
            group, session = self.sessions.led_session(actor, group_id, started=True, not_open=_NOT_OPEN)
            return self.view(group, session, actor.person)
        candidates = [g for g in led_groups(actor) if self.sessions.definition(g).themes]
        if not candidates:
            require(Permission.LEADER, actor)
            raise ThemeError("None of the groups you run has a programme with themes to record.")
        options: list[tuple[Group, Session]] = []
        for group in candidates:
            try:
                options.append(self.sessions.led_session(actor, group.id, started=True, not_open=_NOT_OPEN))
            except NotFoundError:
                continue
        if not options:
            raise NotFoundError(_NOT_OPEN)
        group, session = max(options, key=lambda pair: pair[1].start)
        return self.view(group, session, actor.person)

    def view(self, group: Group, session: Session, reader: Person) -> ThemesFormView:
        """A session's themes as its leader sees them."""
        definition = self.sessions.definition(group)
        if not definition.themes:
            raise ThemeError(f"the {definition.name} programme has no themes to record")
        info = self.sessions.session_info(group, session, reader)
        recorded = self._records.get(definition.id, group.id, info.month)
        deadline = attendance_deadline(session)
        now = self.sessions.clock()
        return ThemesFormView(
            session=info,
            programme_name=definition.name,
            themes=definition.themes,
            chosen=frozenset(recorded.themes) if recorded else frozenset(),
            note=(recorded.note or "") if recorded else "",
            recorded=recorded is not None,
            correct_until=when_text_date(deadline, self.sessions.zone(reader)) if now <= deadline else None,
        )

    def record(self, actor: Actor, command: ThemesCommand) -> ThemesFormView:
        """Record (or correct, for 7 days after the session) a session's themes; never names."""
        group = self.sessions.group(command.group)
        require(Permission.LEADER, actor, group)
        definition = self.sessions.definition(group)
        session = self.sessions.session_of_period(group, command.month)
        now = self.sessions.clock()
        if session is None or not attendance_open(session, now):
            raise ClosedError(_NOT_OPEN)
        people = self.sessions.people()
        # Everyone the group's session involves: its members and its facilitator.
        involved = [*group.members, *([group.facilitator] if group.facilitator else [])]
        names = [people[email].name for email in involved if email in people]
        external = self.sessions.programme.facilitators_repo.get(group.facilitator or "")
        if external is not None:
            names.append(external.name)  # an external facilitator is not on the roster
        record = record_themes(
            definition,
            group.id,
            command.month,
            command.themes,
            command.note or None,
            now.astimezone(definition.settings.zone).date(),
            names,
        )
        with self.sessions.store.transaction():
            self._records.put(record, actor.email, now)
        return self.view(group, session, actor.person)

    # -- coordinators -----------------------------------------------------------------------------

    def overview(self, actor: Actor, quarter: str | None = None) -> list[QuarterThemesView]:
        """Themes per quarter across groups and programmes, for coordinators."""
        require(Permission.COORDINATOR, actor)
        return self.quarters(quarter)

    def quarters(self, quarter: str | None = None) -> list[QuarterThemesView]:
        """Every quarter (or one, "2027-Q1"): each programme, then all together when there are several."""
        programmes = self.sessions.programme.programmes
        records = self._records.of_quarter(quarter) if quarter else self._records.all()
        today = self.sessions.clock().astimezone(self.sessions.settings.zone).date()
        records = drop_expired_notes(records, today, self.sessions.settings.free_text_retention_days)
        names = {p.id: p.name for p in programmes}
        views = []
        for summary in quarter_themes(records, programmes):
            if summary.programme_id == ALL_PROGRAMMES and len(programmes) == 1:
                continue  # the one programme's section already says it all
            views.append(
                QuarterThemesView(
                    quarter=summary.quarter,
                    programme_id=summary.programme_id,
                    programme_name=names.get(summary.programme_id, ALL_PROGRAMMES_NAME),
                    groups_recording=summary.groups_recording.value,
                    themes=tuple(ThemeCountView(t.theme, t.groups.value) for t in summary.themes),
                    notes=summary.notes,
                )
            )
        return views
