"""`reflect report`: the coordinator report as terminal tables, JSON, a tidy CSV and PNG charts.

Every output carries the same figures, suppressed the same way (`programme.reports`): a hidden
figure is "[c]" in tables and charts, empty with suppressed=true in CSV, null in JSON.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import orjson

from cli.charts import write_charts
from cli.common import (
    Commands,
    OutputError,
    add_programme_argument,
    month_arg,
    months_arg,
    open_root,
    write_atomically,
)
from programme.errors import ProgrammeChoiceError
from programme.reports import (
    ABSENCE_LABELS,
    AGE_BUCKETS,
    SUPPRESSED_MARK,
    Count,
    Rate,
    Report,
    report_json,
    tidy_rows,
)
from programme.spreadsheet import csv_text
from service.reports import ProgrammeReport, programme_reports

NO_DATA = "-"
CSV_HEADER = ("section", "period", "group", "measure", "value", "suppressed")
LEGEND = (
    f"{SUPPRESSED_MARK} = hidden to protect small numbers (about fewer than 3 people, or hidden with "
    f"one so it can't be worked out from a total); {NO_DATA} = nothing recorded."
)


# ---- terminal tables ---------------------------------------------------------------------------


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Aligned text: the first column left-aligned, figures right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


def _rate(rate: Rate | None) -> str:
    return NO_DATA if rate is None else rate.text()


def _percent(rate: Rate | None) -> str:
    return NO_DATA if rate is None else rate.percent()


def _part(value: int | None) -> str:
    return SUPPRESSED_MARK if value is None else str(value)


def _count(count: Count | None) -> str:
    return NO_DATA if count is None else count.text()


def report_text(report: Report) -> str:
    """The report as aligned text tables."""
    first, last = report.months[0], report.months[-1]
    out = [f"Programme report: {first} to {last} ({len(report.months)} months)", LEGEND, ""]

    out.append("Attendance by group (present / registered)")
    cells = {(row.month, row.group_id): row.attendance for row in report.attendance}
    totals = {t.month: t.rate for t in report.attendance_total}
    if report.groups:
        rows = [
            [name, *(_percent(cells.get((m, gid))) for m in report.months)] for gid, name in report.groups
        ]
        rows.append(["All groups", *(_percent(totals.get(m)) for m in report.months)])
        out += format_table(["Group", *report.months], rows)
    else:
        out.append("No register taken in these months.")
    out.append("")

    out.append("Each month")
    rsvp = {r.month: r.rate for r in report.rsvp}
    pairs = {p.month: p for p in report.pairs}
    rows = []
    for m in report.months:
        p = pairs.get(m)
        rows.append(
            [
                m,
                _rate(totals.get(m)),
                _rate(rsvp.get(m)),
                _count(p.pairs if p else None),
                _count(p.met if p else None),
                _count(p.not_met if p else None),
                _percent(p.rate if p else None),
            ]
        )
    out += format_table(["Month", "Attendance", "RSVP replies", "Pairs", "Met", "Not met", "Met rate"], rows)
    out.append("")

    out.append("Can't attend, by reason (people answering the RSVP, all groups)")
    rows = [[a.month, *(c.text() for _, c in a.counts), a.total.text()] for a in report.absences]
    out += format_table(["Month", *ABSENCE_LABELS.values(), "Total"], rows)
    out.append("")

    out.append("Quarterly goal-setting with a peer (people in pairs with a goals record)")
    if report.goals:
        rows = [
            [g.quarter, _part(g.rate.numerator), _part(g.rate.denominator), _percent(g.rate)]
            for g in report.goals
        ]
        out += format_table(["Quarter", "Set goals", "In pairs", "Rate"], rows)
    else:
        out.append("No pairing round in these months.")
    out.append("")

    as_of = report.escalations.as_of
    out.append(f"Open and acknowledged escalations by age, as of {as_of:%Y-%m-%d %H:%M %Z}")
    labels = {key: label for key, label, _, _ in AGE_BUCKETS}
    rows = [[labels[key], count.text()] for key, count in report.escalations.buckets]
    rows.append(["Total open", report.escalations.total.text()])
    out += format_table(["Age", "Escalations"], rows)
    return "\n".join(out) + "\n"


# ---- CSV -----------------------------------------------------------------------------------------


def report_csv(report: Report) -> str:
    """One tidy table: section, period, group, measure, value, suppressed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in tidy_rows(report):
        value = "" if row.value is None else str(row.value)  # a number the report computed
        texts = (csv_text(cell) for cell in (row.section, row.period, row.group, row.measure))
        writer.writerow((*texts, value, str(row.suppressed).lower()))
    return buffer.getvalue()


def write_csv(report: Report, path: Path) -> None:
    """The tidy CSV into `path` (UTF-8)."""
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    data = report_csv(report).encode("utf-8")

    def write(temp: str) -> None:
        Path(temp).write_bytes(data)

    write_atomically(path, write)


# ---- the command ---------------------------------------------------------------------------------


def _emit(text: str, stream: TextIO) -> None:
    stream.write(text)
    stream.flush()


def register(commands: Commands, data: argparse.ArgumentParser) -> None:
    """`report [--months N] [--until YYYY-MM] [--csv FILE|-] [--png DIR]`."""
    report = commands.add_parser(
        "report", parents=[data], help="coordinator report: attendance, RSVPs, pairs"
    )
    report.add_argument("--months", type=months_arg, default=12, help="how many months back (default 12)")
    report.add_argument("--until", type=month_arg, help="last month, YYYY-MM (default: this month)")
    report.add_argument("--csv", metavar="FILE", help="write the figures as CSV ('-' for stdout)")
    report.add_argument("--png", metavar="DIR", help="write charts as PNG files into DIR")
    add_programme_argument(report)
    report.set_defaults(handler=show_report)


def section_json(section: ProgrammeReport) -> dict[str, object]:
    """One programme's report as JSON, saying which programme it is."""
    return {"programme": section.programme_id, "programme_name": section.name, **report_json(section.report)}


def sections_text(sections: Sequence[ProgrammeReport]) -> str:
    """Each programme's report as text tables, under its name."""
    return "\n".join(f"Programme: {s.name} ({s.programme_id})\n{report_text(s.report)}" for s in sections)


def show_report(args: argparse.Namespace) -> int:
    """`reflect report [--months N] [--until YYYY-MM] [--csv FILE|-] [--png DIR] [--json] [--programme ID]`.

    A section per programme (each suppressed on its own numbers), or only the one `--programme`
    names; the CSV and the charts are of one programme, so with several they need `--programme`.
    """
    with open_root(args) as root:
        if args.csv == "-" and args.json:
            print("reflect: --csv - and --json both write to stdout: choose one", file=sys.stderr)
            return 2
        if (args.csv or args.png) and args.programme is None:
            root.services.programme.choose_programme(None)  # ProgrammeChoiceError when there are several
        sections = programme_reports(
            root.services.programme,
            now=datetime.now(UTC),
            months=args.months,
            until=args.until,
            programme_id=args.programme,
        )
    if (args.csv or args.png) and len(sections) != 1:
        raise ProgrammeChoiceError("the CSV and charts are of one programme: say which with --programme ID")
    report = sections[0].report
    machine = args.json or args.csv == "-"
    notices = sys.stderr if machine else sys.stdout
    if args.csv == "-":
        _emit(report_csv(report), sys.stdout)
    elif args.json:
        document: object = (
            section_json(sections[0])
            if len(sections) == 1
            else {"programmes": [section_json(s) for s in sections]}
        )
        _emit(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n", sys.stdout)
    else:
        _emit(sections_text(sections), sys.stdout)
    if args.csv and args.csv != "-":
        path = Path(args.csv)
        write_csv(report, path)
        print(f"CSV written to {path}", file=notices)
    if args.png:
        for chart in write_charts(report, Path(args.png)):
            print(f"Chart written to {chart}", file=notices)
    return 0
