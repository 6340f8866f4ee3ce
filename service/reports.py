"""Coordinator reports from the store: load a window of months, compute with `programme.reports`.

Reading only: logs that were never written are not opened (opening one would register it in
the data file), and everything is read under the store's lock, so the figures are one snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from programme.model import Group
from programme.policies import Actor, Permission, require
from programme.programmes import ProgrammeDefinition
from programme.records import AttendanceRegister, Meeting, MeetingStatus
from programme.reports import (
    EscalationRecord,
    PeerRecord,
    Register,
    Report,
    ReportInputs,
    RsvpRecord,
    build_report,
    month_range,
    quarters_of,
)
from programme.sessions import month_key, month_of_period, parse_month
from repositories.answers import GoalsRepository, PeerRecordsRepository, RegistersRepository, RsvpsRepository
from service.programme_service import ProgrammeService
from service.sessions import Clock

CARD_MONTHS = 3  # months on the coordinators' card


def this_month(service: ProgrammeService, now: datetime) -> str:
    """The programme month of `now`, "2026-11"."""
    return month_key(now.astimezone(service.settings.zone).date())


def month_end(service: ProgrammeService, month: str) -> datetime:
    """The first moment after `month` in the programme time zone."""
    year, number = parse_month(month)
    year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return datetime(year, number, 1, tzinfo=service.settings.zone)


def _invited(
    register: AttendanceRegister | None,
    meeting: Meeting | None,
    respondents: set[str],
    group: Group | None,
) -> frozenset[str]:
    """Who was asked to a group's session: the register's members once it was taken; else the meeting
    request's attendees less the facilitator; else, if anyone answered, the group's members. Anyone
    who answered was invited, so they are always included."""
    if register is not None:
        members = set(register.present | register.absent)
    elif meeting and meeting.status is MeetingStatus.ACTIVE and meeting.invite is not None:
        facilitator = group.facilitator if group else None
        members = {a for a in meeting.invite.attendees if a != facilitator}
    elif respondents and group is not None:
        members = set(group.members)
    else:
        members = set()
    return frozenset(members | respondents)


def _sessions_of(periods: Sequence[str], month: str) -> list[str]:
    """The session periods of a month with records: the month itself (monthly programmes) and every
    every-N-weeks session date in it."""
    return [p for p in periods if month_of_period(p) == month]


def load_report_inputs(service: ProgrammeService, months: Sequence[str], as_of: datetime) -> ReportInputs:
    """The records of `months` (and their quarters), and the escalations, as plain report inputs.

    A month's records are those of every session period in it (`programme.sessions`): a group that
    meets every week or two has a register and answers per session."""
    store = service.store
    with store.transaction():  # one consistent view of every record read
        groups: dict[str, Group] = service.groups_repo.retired()
        groups.update({g.id: g for g in service.current_allocation().groups})
        registers_repo, rsvps_repo = RegistersRepository(store), RsvpsRepository(store)
        register_periods, rsvp_periods = registers_repo.periods(), rsvps_repo.periods()
        registers_by_period = {
            period: registers_repo.of_month(period)
            for month in months
            for period in _sessions_of(register_periods, month)
        }
        rsvps_by_period = {
            period: rsvps_repo.of_month(period)
            for month in months
            for period in _sessions_of(rsvp_periods, month)
        }
        peers_repo = PeerRecordsRepository(store)
        peers_by_month = {month: peers_repo.of_month(month) for month in months}
        goals_repo = GoalsRepository(store)
        goals_by_quarter = {q: setters for q in quarters_of(months) if (setters := goals_repo.setters(q))}
        meetings = service.meetings_repo.all()
        escalation_records = service.escalations_repo.all()
        rounds = tuple(service.pair_rounds())

    registers: list[Register] = []
    rsvps: list[RsvpRecord] = []
    invited: dict[tuple[str, str], frozenset[str]] = {}
    peer_records: list[PeerRecord] = []
    # Indexed once: a report over many months reads every meeting ever held, once.
    meeting_groups_of: dict[str, set[str]] = {}
    for group_id, meeting_period in meetings:
        meeting_groups_of.setdefault(meeting_period, set()).add(group_id)
    periods_of: dict[str, list[str]] = {}
    for period in sorted({*registers_by_period, *rsvps_by_period, *meeting_groups_of}):
        periods_of.setdefault(month_of_period(period), []).append(period)
    for month in months:
        for period in periods_of.get(month, []):
            # A monthly period is the month itself; an every-N-weeks record keeps its session's date.
            own = None if period == month else period
            period_registers = registers_by_period.get(period, {})
            for group_id, register in period_registers.items():
                registers.append(Register(month, group_id, register.present, register.absent))
            respondents: dict[str, set[str]] = {}
            for group_id, email, rsvp in rsvps_by_period.get(period, []):
                respondents.setdefault(group_id, set()).add(email)
                reason = rsvp.reason.value if rsvp.reason else None
                rsvps.append(RsvpRecord(month, group_id, email, rsvp.answer.value, reason, own))
            meeting_groups = meeting_groups_of.get(period, set())
            for group_id in sorted(set(period_registers) | set(respondents) | meeting_groups):
                members = _invited(
                    period_registers.get(group_id),
                    meetings.get((group_id, period)),
                    respondents.get(group_id, set()),
                    groups.get(group_id),
                )
                if members:
                    invited[(period, group_id)] = members
        for (number, email), peer_record in peers_by_month.get(month, {}).items():
            peer_records.append(PeerRecord(month, number, email, peer_record.met))

    escalations = tuple(EscalationRecord(e.about, e.created_at, e.status.value) for e in escalation_records)
    return ReportInputs(
        months=tuple(months),
        group_names={gid: g.name for gid, g in groups.items()},
        registers=tuple(registers),
        invited=invited,
        rsvps=tuple(rsvps),
        rounds=rounds,
        peer_records=tuple(peer_records),
        goal_setters=goals_by_quarter,
        escalations=escalations,
        as_of=as_of,
    )


def programme_report(
    service: ProgrammeService, *, now: datetime, months: int = 12, until: str | None = None
) -> Report:
    """The report for `months` months ending with `until` (default: this programme month).

    Escalations are counted as they stand now, raised by the end of `until` (or by now, if earlier).
    """
    last = until or this_month(service, now)
    window = month_range(last, months)
    as_of = min(now, month_end(service, last) - timedelta(microseconds=1))
    return build_report(load_report_inputs(service, window, as_of))


@dataclass(frozen=True)
class ProgrammeReport:
    """One programme's section of the report."""

    programme_id: str
    name: str
    report: Report


def programme_inputs(
    inputs: ReportInputs, groups: dict[str, str], definition: ProgrammeDefinition
) -> ReportInputs:
    """The inputs of one programme: its groups' registers, invitations and answers; pair figures only
    for a programme with pairs. Escalations are about people, not programmes: every section has them."""
    mine = {gid for gid, programme_id in groups.items() if programme_id == definition.id}
    pairs = definition.has_pairs
    return replace(
        inputs,
        group_names={gid: name for gid, name in inputs.group_names.items() if gid in mine},
        registers=tuple(r for r in inputs.registers if r.group_id in mine),
        invited={key: members for key, members in inputs.invited.items() if key[1] in mine},
        rsvps=tuple(r for r in inputs.rsvps if r.group_id in mine),
        rounds=inputs.rounds if pairs else (),
        peer_records=inputs.peer_records if pairs else (),
        goal_setters=inputs.goal_setters if pairs else {},
    )


def programme_reports(
    service: ProgrammeService,
    *,
    now: datetime,
    months: int = 12,
    until: str | None = None,
    programme_id: str | None = None,
) -> tuple[ProgrammeReport, ...]:
    """The report per programme (or of the one named), each suppressed on its own numbers.

    A v1 deployment's one programme gets exactly `programme_report`.
    """
    chosen = service.programmes if programme_id is None else (service.choose_programme(programme_id),)
    last = until or this_month(service, now)
    window = month_range(last, months)
    as_of = min(now, month_end(service, last) - timedelta(microseconds=1))
    inputs = load_report_inputs(service, window, as_of)
    if len(service.programmes) == 1:
        only = service.programmes[0]
        return (ProgrammeReport(only.id, only.name, build_report(inputs)),)
    with service.store.transaction():
        groups = {gid: g.programme for gid, g in service.groups_repo.retired().items()}
        groups.update({g.id: g.programme for g in service.groups()})
    return tuple(
        ProgrammeReport(p.id, p.name, build_report(programme_inputs(inputs, groups, p))) for p in chosen
    )


@dataclass(frozen=True)
class Reports:
    """The report use cases a coordinator reaches from Teams."""

    programme: ProgrammeService
    clock: Clock

    def by_programme(self, actor: Actor, months: int = CARD_MONTHS) -> tuple[ProgrammeReport, ...]:
        """The coordinators' summary, a section per programme (the bot's `report` command)."""
        require(Permission.COORDINATOR, actor)
        return programme_reports(self.programme, now=self.clock(), months=months)
