"""The coordinators' report card: the report's summary figures, small numbers suppressed as in
`programme.reports` (a suppressed figure reads "[c]"; the card never has more than the report).

`report_card_view` turns a computed report into display-ready strings; `build_report_card` lays
them out. The card has no actions and no names or emails: group names and counts only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cards.common import CardJson, card, container, facts, heading, month_label, text
from programme.reports import (
    ABSENCE_LABELS,
    AGE_BUCKETS,
    SUPPRESSED_MARK,
    Rate,
    Report,
)

MAX_GROUP_ROWS = 12  # the card stays small however many groups there are; the CLI has them all
NO_DATA = "-"
LEGEND = (
    f"{SUPPRESSED_MARK} hidden to protect small numbers: the figure is about fewer than 3 people, "
    "or is hidden with one so that it can't be worked out from a total. - means nothing was recorded."
)


@dataclass(frozen=True)
class MonthLine:
    month: str  # "Nov 2026"
    attendance: str  # "41/52 79%"
    rsvp: str
    pairs: str


@dataclass(frozen=True)
class ReportCardView:
    """Display-ready figures of a report (every value already a string, suppression applied)."""

    period: str  # "September 2026 to November 2026"
    months: tuple[MonthLine, ...]
    absence_columns: tuple[str, ...]  # reason labels, then "Total"
    absences: tuple[tuple[str, tuple[str, ...]], ...]  # (month, one value per column)
    group_month: str  # the month of the per-group attendance, "" when no register was taken
    groups: tuple[tuple[str, str], ...]  # (group name, attendance)
    more_groups: int
    goals: tuple[tuple[str, str], ...]  # (quarter, "12/20 60%")
    escalations_as_of: str  # "23 November 2026"
    escalations: tuple[tuple[str, str], ...]  # (age bucket label, count), then ("Total open", n)
    programme: str = ""  # the programme's name, shown under the title


def _short(month: str) -> str:
    label = month_label(month)
    return f"{label[:3]} {label.split()[-1]}"


def _rate(rate: Rate | None) -> str:
    return NO_DATA if rate is None else rate.text()


def report_card_view(report: Report, programme: str = "") -> ReportCardView:
    """The card's view of a programme's report (its latest month's groups; every month of the report)."""
    attendance = {t.month: t.rate for t in report.attendance_total}
    rsvp = {r.month: r.rate for r in report.rsvp}
    pairs = {p.month: p.rate for p in report.pairs}
    months = tuple(
        MonthLine(_short(m), _rate(attendance.get(m)), _rate(rsvp.get(m)), _rate(pairs.get(m)))
        for m in report.months
    )
    absences = tuple(
        (_short(a.month), (*(count.text() for _, count in a.counts), a.total.text())) for a in report.absences
    )
    recorded = [row.month for row in report.attendance]
    group_month = max(recorded) if recorded else ""
    latest = [row for row in report.attendance if row.month == group_month]
    groups = tuple((row.group_name, row.attendance.text()) for row in latest[:MAX_GROUP_ROWS])
    as_of = report.escalations.as_of
    escalations = tuple(
        (label, count.text())
        for (_, label, _, _), (_, count) in zip(AGE_BUCKETS, report.escalations.buckets, strict=True)
    )
    return ReportCardView(
        period=(
            month_label(report.months[0])
            if len(report.months) == 1
            else f"{month_label(report.months[0])} to {month_label(report.months[-1])}"
        ),
        months=months,
        absence_columns=(*ABSENCE_LABELS.values(), "Total"),
        absences=absences,
        group_month=month_label(group_month) if group_month else "",
        groups=groups,
        more_groups=max(0, len(latest) - MAX_GROUP_ROWS),
        goals=tuple((g.quarter, g.rate.text()) for g in report.goals),
        escalations_as_of=f"{as_of.day} {as_of:%B %Y}",
        escalations=(*escalations, ("Total open", report.escalations.total.text())),
        programme=programme,
    )


def _cell(value: str, *, bold: bool = False) -> CardJson:
    block = text(value, bold=bold)
    return {"type": "TableCell", "items": [block]}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> CardJson:
    """A Table with a header row; the first column a little wider (it holds the labels)."""
    return {
        "type": "Table",
        "columns": [{"width": 2 if i == 0 else 1} for i in range(len(header))],
        "firstRowAsHeader": True,
        "showGridLines": True,
        "rows": [
            {"type": "TableRow", "cells": [_cell(h, bold=True) for h in header]},
            *({"type": "TableRow", "cells": [_cell(v) for v in row]} for row in rows),
        ],
    }


def _section(title: str) -> CardJson:
    block = text(title, bold=True, separator=True)
    block["spacing"] = "medium"
    return block


def build_report_card(view: ReportCardView) -> CardJson:
    """The programme summary for coordinators: attendance, RSVPs, pairs, absences, goals, escalations."""
    body: list[CardJson] = [
        heading(f"Programme report: {view.programme}" if view.programme else "Programme report"),
        text(view.period, subtle=True),
        _section("Each month"),
        _table(
            ("Month", "Attendance", "RSVP replies", "Pairs met"),
            [(m.month, m.attendance, m.rsvp, m.pairs) for m in view.months],
        ),
        _section("Can't attend, by reason (people)"),
        _table(("Month", *view.absence_columns), [(month, *values) for month, values in view.absences]),
    ]
    if view.group_month:
        body.append(_section(f"Attendance by group, {view.group_month}"))
        body.append(facts(view.groups))
        if view.more_groups:
            body.append(
                text(f"and {view.more_groups} more groups in the full report (reflect report).", subtle=True)
            )
    if view.goals:
        body.append(_section("Goal-setting with a peer (people in pairs)"))
        body.append(facts(view.goals))
    body.append(_section(f"Open escalations by age, {view.escalations_as_of}"))
    body.append(facts(view.escalations))
    body.append(container([text(LEGEND, subtle=True)], style="emphasis"))
    return card(
        body,
        fallback_text=f"Programme report, {view.period}: open this message in Teams.",
        full_width=True,
    )
