"""Coordinator reports: programme figures from plain records, with small numbers suppressed.

Pure: no store, no clock, no I/O. `service.reports` loads the records; `build_report` computes.

Small-number suppression (statistical disclosure control)
----------------------------------------------------------
No figure about fewer than `MIN_PEOPLE` (3) people is shown, so nobody can be picked out of an
aggregate. Every figure has a *population*, the set of people it is about:

* A participation rate (attendance, RSVP response, pairs that met, goal-setting) is about its
  denominator: the people registered, invited, in pairs, in pairs that quarter. When that
  population is below 3 the rate, its numerator and its denominator are all suppressed (a rate
  is never shown when its parts are hidden, and its parts never when it is). These populations
  are what coordinators already know (group and pair membership), and a rate about 3 or more of
  them says how a group or programme is doing, not what one person did.
* A count of people with a sensitive attribute (absence reasons, which include sickness; open
  escalations, which are wellbeing flags about a person) is about the people counted. A count
  whose people number 0, 1 or 2 is suppressed. Zero is suppressed too: were zeros shown, a
  suppressed cell would mean "one or two", which confirms that somebody is in it.

Complementary suppression: wherever cells are shown with their total (absence reasons per month
with the month's total; escalation ages with the open total; each group's attendance with all
groups' attendance that month) a hidden cell could be recomputed as the total minus the shown
cells. So within such a row, once any cell is hidden, further cells are hidden, the smallest
shown population first (ties in display order), until the hidden cells together are about at
least 3 people; the difference total - shown cells is then itself a figure about 3 or more. If
the total's own population is below 3, the total and every cell are hidden. No totals across
months are shown (none per group, per reason or per year), so no hidden cell can be recomputed
along the other axis either.

Suppressed figures carry `suppressed=True` and `None` values; the reason (small, or hidden with
another) is deliberately not recorded, since telling the two apart would tell which cell is small.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from programme.model import PairRound
from programme.sessions import month_key, month_of_period, parse_month

MIN_PEOPLE = 3
SUPPRESSED_MARK = "[c]"  # as in UK official statistics: "confidential", hidden to protect small numbers
NOT_GIVEN = "not_given"
# Absence reasons in display order: programme.answers.AbsenceReason values, then no reason given.
ABSENCE_REASONS = ("annual_leave", "sickness", "other", NOT_GIVEN)
ABSENCE_LABELS = {
    "annual_leave": "Annual leave",
    "sickness": "Sickness",
    "other": "Other",
    NOT_GIVEN: "Not given",
}
OPEN_STATUSES = frozenset({"open", "acknowledged"})
# (key, label, lowest age in days, highest age in days or None for no limit)
AGE_BUCKETS: tuple[tuple[str, str, int, int | None], ...] = (
    ("0-7", "0-7 days", 0, 7),
    ("8-30", "8-30 days", 8, 30),
    ("31+", "31+ days", 31, None),
)


# ---- figures -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """A count; `value` is None when suppressed."""

    value: int | None
    suppressed: bool = False

    def text(self) -> str:
        return SUPPRESSED_MARK if self.suppressed or self.value is None else str(self.value)


@dataclass(frozen=True)
class Rate:
    """numerator / denominator; both None when suppressed."""

    numerator: int | None
    denominator: int | None
    suppressed: bool = False

    @property
    def value(self) -> float | None:
        if self.suppressed or self.numerator is None or not self.denominator:
            return None
        return self.numerator / self.denominator

    def percent(self) -> str:
        """ "71%", or the suppression mark."""
        value = self.value
        return SUPPRESSED_MARK if value is None else f"{round(value * 100)}%"

    def text(self) -> str:
        """ "5/7 71%", or the suppression mark."""
        if self.value is None:
            return SUPPRESSED_MARK
        return f"{self.numerator}/{self.denominator} {self.percent()}"


HIDDEN_COUNT = Count(None, suppressed=True)
HIDDEN_RATE = Rate(None, None, suppressed=True)


def rate_of(numerator: int, population: Collection[str], denominator: int | None = None) -> Rate:
    """numerator / denominator (default: the population's size), hidden when the population is below 3."""
    if len(population) < MIN_PEOPLE:
        return HIDDEN_RATE
    return Rate(numerator, len(population) if denominator is None else denominator)


def suppress_row(populations: Sequence[Collection[str]]) -> tuple[tuple[bool, ...], bool]:
    """Which cells of a row shown with its total to hide, and whether to hide the total.

    Primary: a cell whose population is below 3. Complementary: while the hidden cells together
    are about fewer than 3 people, also hide the shown cell with the smallest population (the
    first in display order on a tie). A total about fewer than 3 people hides everything.
    """
    everyone = _union(populations)
    if len(everyone) < MIN_PEOPLE:
        return tuple(True for _ in populations), True
    hidden = [len(p) < MIN_PEOPLE for p in populations]
    while any(hidden) and len(_union(p for p, h in zip(populations, hidden, strict=True) if h)) < MIN_PEOPLE:
        shown = [i for i, h in enumerate(hidden) if not h]
        if not shown:  # unreachable: everyone together is at least 3
            break
        hidden[min(shown, key=lambda i: (len(populations[i]), i))] = True
    return tuple(hidden), False


def _union(populations: Iterable[Collection[str]]) -> set[str]:
    everyone: set[str] = set()
    for population in populations:
        everyone.update(population)
    return everyone


# ---- plain inputs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Register:
    """One group's attendance register for one session in a programme month (a group meeting every
    N weeks may have several registers in a month)."""

    month: str
    group_id: str
    present: frozenset[str]
    absent: frozenset[str]

    @property
    def registered(self) -> frozenset[str]:
        return self.present | self.absent


@dataclass(frozen=True)
class RsvpRecord:
    """One person's RSVP for one group session (answer and reason as stored)."""

    month: str
    group_id: str
    email: str
    answer: str  # "attending" | "not_attending" | "maybe"
    reason: str | None
    # The session's period when it is not the month itself (every N weeks: "2026-11-12").
    period: str | None = None

    @property
    def session(self) -> str:
        """The period of the session answered."""
        return self.period or self.month


@dataclass(frozen=True)
class PeerRecord:
    """One person's "did you meet your peer?" answer for a month of a pairing round."""

    month: str
    round: int
    email: str
    met: bool


@dataclass(frozen=True)
class EscalationRecord:
    """What the report needs of an escalation: whom it is about, when it was raised, its status."""

    about: str
    created_at: datetime
    status: str


@dataclass(frozen=True)
class ReportInputs:
    """Everything a report is computed from."""

    months: tuple[str, ...]  # "2026-11", oldest first
    group_names: Mapping[str, str]  # group id -> name (current and retired groups)
    registers: tuple[Register, ...]
    # (session period, group id) -> members invited; a monthly session's period is its month.
    invited: Mapping[tuple[str, str], frozenset[str]]
    rsvps: tuple[RsvpRecord, ...]
    rounds: tuple[PairRound, ...]
    peer_records: tuple[PeerRecord, ...]
    goal_setters: Mapping[str, frozenset[str]]  # quarter "2026-Q4" -> people with a goals record
    escalations: tuple[EscalationRecord, ...]
    as_of: datetime  # the moment escalation ages are counted at


# ---- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupAttendance:
    month: str
    group_id: str
    group_name: str
    attendance: Rate  # present / registered


@dataclass(frozen=True)
class MonthRate:
    month: str
    rate: Rate


@dataclass(frozen=True)
class AbsenceReasons:
    """People who said they could not attend, by reason, over all groups in one month."""

    month: str
    counts: tuple[tuple[str, Count], ...]  # in ABSENCE_REASONS order
    total: Count


@dataclass(frozen=True)
class PairsMet:
    """Pairs of the round in force in a month that met (any member recorded met) and that did not."""

    month: str
    round: int
    pairs: Count
    met: Count
    not_met: Count
    rate: Rate  # met / pairs


@dataclass(frozen=True)
class GoalSetting:
    """People in pairs during a quarter who recorded a goal-setting session."""

    quarter: str
    rate: Rate  # people with a goals record / people in pairs


@dataclass(frozen=True)
class EscalationAges:
    """Open and acknowledged escalations by age, as of a moment."""

    as_of: datetime
    buckets: tuple[tuple[str, Count], ...]  # AGE_BUCKETS keys in order
    total: Count


@dataclass(frozen=True)
class Report:
    months: tuple[str, ...]
    quarters: tuple[str, ...]
    groups: tuple[tuple[str, str], ...]  # (id, name) of every group with a register, by name
    attendance: tuple[GroupAttendance, ...]  # by month, then group name
    attendance_total: tuple[MonthRate, ...]  # months with any register
    rsvp: tuple[MonthRate, ...]  # months with anyone invited
    absences: tuple[AbsenceReasons, ...]  # every month
    pairs: tuple[PairsMet, ...]  # months with a pairing round in force
    goals: tuple[GoalSetting, ...]  # quarters with a pairing round in force
    escalations: EscalationAges


# ---- periods -----------------------------------------------------------------------------------


def month_range(until: str, count: int) -> tuple[str, ...]:
    """`count` programme months ending with `until`, oldest first."""
    year, month = parse_month(until)
    index = year * 12 + month - 1
    return tuple(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1))


def quarter_of(month: str) -> str:
    """ "2026-11" -> "2026-Q4" (calendar quarters, as goals are kept); a session period such as
    "2026-11-12" is in the quarter of its month."""
    year, number = parse_month(month_of_period(month))
    return f"{year:04d}-Q{(number - 1) // 3 + 1}"


def quarters_of(months: Iterable[str]) -> tuple[str, ...]:
    """The quarters the months fall in, in order, each once."""
    return tuple(dict.fromkeys(quarter_of(m) for m in months))


def round_in_force(rounds: Iterable[PairRound], month: str) -> PairRound | None:
    """The latest round started in or before `month`."""
    started = [r for r in rounds if month_key(r.started_on) <= month]
    return max(started, key=lambda r: (r.started_on, r.number)) if started else None


# ---- sections ----------------------------------------------------------------------------------


def attendance_figures(
    months: Sequence[str], registers: Iterable[Register], group_names: Mapping[str, str]
) -> tuple[tuple[GroupAttendance, ...], tuple[MonthRate, ...]]:
    """Each group's attendance (present / registered) per month, and all groups' per month.

    A group's figure is hidden when fewer than 3 were registered, and complementary suppression
    applies across a month's groups, since the month's total is shown.
    """
    by_month: dict[str, dict[str, list[Register]]] = {}
    for register in registers:
        by_month.setdefault(register.month, {}).setdefault(register.group_id, []).append(register)
    rows: list[GroupAttendance] = []
    totals: list[MonthRate] = []
    for month in months:
        month_registers = by_month.get(month, {})
        if not month_registers:
            continue
        ordered = sorted(month_registers.items(), key=lambda item: (group_names.get(item[0], ""), item[0]))
        # A group's month is all its sessions that month: present / registered over them, about the
        # people registered at any of them.
        populations = [_union(r.registered for r in group_registers) for _, group_registers in ordered]
        hidden, total_hidden = suppress_row(populations)
        present = registered = 0
        for (group_id, group_registers), hide in zip(ordered, hidden, strict=True):
            group_present = sum(len(r.present) for r in group_registers)
            group_registered = sum(len(r.registered) for r in group_registers)
            present, registered = present + group_present, registered + group_registered
            rate = HIDDEN_RATE if hide else Rate(group_present, group_registered)
            rows.append(GroupAttendance(month, group_id, group_names.get(group_id, group_id), rate))
        totals.append(MonthRate(month, HIDDEN_RATE if total_hidden else Rate(present, registered)))
    return tuple(rows), tuple(totals)


def rsvp_figures(
    months: Sequence[str], invited: Mapping[tuple[str, str], frozenset[str]], rsvps: Iterable[RsvpRecord]
) -> tuple[MonthRate, ...]:
    """RSVP response rate per month: answers from invited members / invited members, over all groups
    and every session whose period falls in the month.

    Counted per invitation (a person in two groups, or at two sessions, is invited twice); hidden
    when fewer than 3 distinct people were invited that month.
    """
    answered: dict[tuple[str, str], set[str]] = {}
    for rsvp in rsvps:
        answered.setdefault((rsvp.session, rsvp.group_id), set()).add(rsvp.email)
    figures: list[MonthRate] = []
    for month in months:
        keys = [key for key in invited if month_of_period(key[0]) == month]
        if not keys:
            continue
        people = _union(invited[key] for key in keys)
        invitations = sum(len(invited[key]) for key in keys)
        answers = sum(len(invited[key] & answered.get(key, set())) for key in keys)
        figures.append(MonthRate(month, rate_of(answers, people, invitations)))
    return tuple(figures)


def absence_figures(months: Sequence[str], rsvps: Iterable[RsvpRecord]) -> tuple[AbsenceReasons, ...]:
    """People who answered "can't attend", by reason, per month over all groups.

    A reason's count is about the people giving it: hidden below 3, zero included, with
    complementary suppression against the month's total (see the module docstring).
    """
    people: dict[str, dict[str, set[str]]] = {m: {r: set() for r in ABSENCE_REASONS} for m in months}
    answers: dict[str, dict[str, int]] = {m: dict.fromkeys(ABSENCE_REASONS, 0) for m in months}
    for rsvp in rsvps:
        if rsvp.month not in people or rsvp.answer != "not_attending":
            continue
        reason = rsvp.reason if rsvp.reason in ABSENCE_REASONS else ("other" if rsvp.reason else NOT_GIVEN)
        people[rsvp.month][reason].add(rsvp.email)
        answers[rsvp.month][reason] += 1
    figures: list[AbsenceReasons] = []
    for month in months:
        hidden, total_hidden = suppress_row([people[month][r] for r in ABSENCE_REASONS])
        counts = tuple(
            (reason, HIDDEN_COUNT if hide else Count(answers[month][reason]))
            for reason, hide in zip(ABSENCE_REASONS, hidden, strict=True)
        )
        total = HIDDEN_COUNT if total_hidden else Count(sum(answers[month].values()))
        figures.append(AbsenceReasons(month, counts, total))
    return tuple(figures)


def pairs_figures(
    months: Sequence[str], rounds: Sequence[PairRound], records: Iterable[PeerRecord]
) -> tuple[PairsMet, ...]:
    """Per month, the round in force's pairs that met (any member recorded met=True that month).

    A proportion of the people in pairs: hidden when fewer than 3 people are in pairs.
    """
    met_people: dict[tuple[str, int], set[str]] = {}
    for record in records:
        if record.met:
            met_people.setdefault((record.month, record.round), set()).add(record.email)
    figures: list[PairsMet] = []
    for month in months:
        round_ = round_in_force(rounds, month)
        if round_ is None:
            continue
        who_met = met_people.get((month, round_.number), set())
        in_pairs = _union(p.peers for p in round_.pairs)
        pairs = len(round_.pairs)
        met = sum(1 for p in round_.pairs if who_met.intersection(p.peers))
        if len(in_pairs) < MIN_PEOPLE:
            figures.append(
                PairsMet(month, round_.number, HIDDEN_COUNT, HIDDEN_COUNT, HIDDEN_COUNT, HIDDEN_RATE)
            )
        else:
            figures.append(
                PairsMet(month, round_.number, Count(pairs), Count(met), Count(pairs - met), Rate(met, pairs))
            )
    return tuple(figures)


def goal_figures(
    months: Sequence[str], rounds: Sequence[PairRound], goal_setters: Mapping[str, frozenset[str]]
) -> tuple[GoalSetting, ...]:
    """Per quarter: people in pairs (any round in force in the quarter's report months) with a goals
    record that quarter / people in pairs; hidden when fewer than 3 people were in pairs."""
    figures: list[GoalSetting] = []
    for quarter in quarters_of(months):
        in_pairs: set[str] = set()
        for month in (m for m in months if quarter_of(m) == quarter):
            round_ = round_in_force(rounds, month)
            if round_ is not None:
                in_pairs.update(_union(p.peers for p in round_.pairs))
        if not in_pairs:
            continue
        setters = goal_setters.get(quarter, frozenset()) & in_pairs
        figures.append(GoalSetting(quarter, rate_of(len(setters), in_pairs)))
    return tuple(figures)


def escalation_figures(escalations: Iterable[EscalationRecord], as_of: datetime) -> EscalationAges:
    """Open and acknowledged escalations raised by `as_of`, by whole days of age.

    Each bucket's count is about the people the escalations concern: hidden below 3, zero
    included, with complementary suppression against the open total.
    """
    counts = dict.fromkeys((key for key, *_ in AGE_BUCKETS), 0)
    people: dict[str, set[str]] = {key: set() for key, *_ in AGE_BUCKETS}
    for escalation in escalations:
        if escalation.status not in OPEN_STATUSES or escalation.created_at > as_of:
            continue
        age = (as_of - escalation.created_at).days
        for key, _, low, high in AGE_BUCKETS:
            if age >= low and (high is None or age <= high):
                counts[key] += 1
                people[key].add(escalation.about)
    keys = [key for key, *_ in AGE_BUCKETS]
    hidden, total_hidden = suppress_row([people[key] for key in keys])
    buckets = tuple(
        (key, HIDDEN_COUNT if hide else Count(counts[key])) for key, hide in zip(keys, hidden, strict=True)
    )
    total = HIDDEN_COUNT if total_hidden else Count(sum(counts.values()))
    return EscalationAges(as_of, buckets, total)


def build_report(inputs: ReportInputs) -> Report:
    """Every section of the coordinator report, suppressed as the module docstring says."""
    attendance, attendance_total = attendance_figures(inputs.months, inputs.registers, inputs.group_names)
    groups = {row.group_id: row.group_name for row in attendance}
    return Report(
        months=inputs.months,
        quarters=quarters_of(inputs.months),
        groups=tuple(sorted(groups.items(), key=lambda item: (item[1], item[0]))),
        attendance=attendance,
        attendance_total=attendance_total,
        rsvp=rsvp_figures(inputs.months, inputs.invited, inputs.rsvps),
        absences=absence_figures(inputs.months, inputs.rsvps),
        pairs=pairs_figures(inputs.months, inputs.rounds, inputs.peer_records),
        goals=goal_figures(inputs.months, inputs.rounds, inputs.goal_setters),
        escalations=escalation_figures(inputs.escalations, inputs.as_of),
    )


# ---- machine-readable forms --------------------------------------------------------------------


@dataclass(frozen=True)
class TidyRow:
    """One figure: the CSV row `section, period, group, measure, value, suppressed`."""

    section: str
    period: str
    group: str
    measure: str
    value: int | float | None
    suppressed: bool


def _rate_rows(section: str, period: str, group: str, rate: Rate, parts: tuple[str, str]) -> list[TidyRow]:
    value = rate.value
    return [
        TidyRow(section, period, group, parts[0], rate.numerator, rate.suppressed),
        TidyRow(section, period, group, parts[1], rate.denominator, rate.suppressed),
        TidyRow(section, period, group, "rate", None if value is None else round(value, 4), rate.suppressed),
    ]


def tidy_rows(report: Report) -> list[TidyRow]:
    """The whole report as one tidy table (a suppressed figure has no value)."""
    rows: list[TidyRow] = []
    for row in report.attendance:
        rows += _rate_rows("attendance", row.month, row.group_id, row.attendance, ("present", "registered"))
    for total in report.attendance_total:
        rows += _rate_rows("attendance", total.month, "all", total.rate, ("present", "registered"))
    for rsvp in report.rsvp:
        rows += _rate_rows("rsvp", rsvp.month, "all", rsvp.rate, ("answered", "invited"))
    for absence in report.absences:
        for reason, count in absence.counts:
            rows.append(
                TidyRow("absence_reasons", absence.month, "all", reason, count.value, count.suppressed)
            )
        rows.append(
            TidyRow(
                "absence_reasons",
                absence.month,
                "all",
                "total",
                absence.total.value,
                absence.total.suppressed,
            )
        )
    for pairs in report.pairs:
        for measure, count in (("pairs", pairs.pairs), ("met", pairs.met), ("not_met", pairs.not_met)):
            rows.append(TidyRow("pairs", pairs.month, "all", measure, count.value, count.suppressed))
        value = pairs.rate.value
        rows.append(
            TidyRow(
                "pairs",
                pairs.month,
                "all",
                "rate",
                None if value is None else round(value, 4),
                pairs.rate.suppressed,
            )
        )
    for goals in report.goals:
        rows += _rate_rows("goals", goals.quarter, "all", goals.rate, ("with_goals", "in_pairs"))
    as_of = report.escalations.as_of.date().isoformat()
    for key, count in report.escalations.buckets:
        rows.append(TidyRow("escalations", as_of, "all", f"age_{key}", count.value, count.suppressed))
    open_total = report.escalations.total
    rows.append(TidyRow("escalations", as_of, "all", "open_total", open_total.value, open_total.suppressed))
    return rows


def _count_json(count: Count) -> dict[str, Any]:
    return {"value": count.value, "suppressed": count.suppressed}


def _rate_json(rate: Rate, parts: tuple[str, str]) -> dict[str, Any]:
    value = rate.value
    return {
        parts[0]: rate.numerator,
        parts[1]: rate.denominator,
        "rate": None if value is None else round(value, 4),
        "suppressed": rate.suppressed,
    }


def report_json(report: Report) -> dict[str, Any]:
    """The report as plain JSON values (`reflect report --json`)."""
    return {
        "months": list(report.months),
        "quarters": list(report.quarters),
        "min_people": MIN_PEOPLE,
        "groups": [{"id": gid, "name": name} for gid, name in report.groups],
        "attendance": [
            {"month": r.month, "group": r.group_id, **_rate_json(r.attendance, ("present", "registered"))}
            for r in report.attendance
        ],
        "attendance_total": [
            {"month": t.month, **_rate_json(t.rate, ("present", "registered"))}
            for t in report.attendance_total
        ],
        "rsvp": [{"month": r.month, **_rate_json(r.rate, ("answered", "invited"))} for r in report.rsvp],
        "absence_reasons": [
            {
                "month": a.month,
                "reasons": {reason: _count_json(count) for reason, count in a.counts},
                "total": _count_json(a.total),
            }
            for a in report.absences
        ],
        "pairs": [
            {
                "month": p.month,
                "round": p.round,
                "pairs": _count_json(p.pairs),
                "met": _count_json(p.met),
                "not_met": _count_json(p.not_met),
                "rate": p.rate.value if p.rate.value is None else round(p.rate.value, 4),
                "suppressed": p.rate.suppressed,
            }
            for p in report.pairs
        ],
        "goals": [
            {"quarter": g.quarter, **_rate_json(g.rate, ("with_goals", "in_pairs"))} for g in report.goals
        ],
        "escalations": {
            "as_of": report.escalations.as_of.isoformat(),
            "by_age": {key: _count_json(count) for key, count in report.escalations.buckets},
            "total": _count_json(report.escalations.total),
        },
    }
