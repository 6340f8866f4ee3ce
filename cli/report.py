"""`reflect report`: the coordinator report as terminal tables, JSON, a tidy CSV and PNG charts.

Every output carries the same figures, suppressed the same way (`programme.reports`): a hidden
figure is "[c]" in tables and charts, empty with suppressed=true in CSV, null in JSON.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import orjson

from cli.common import Commands, month_arg, months_arg, open_root
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
from service.reports import programme_report
from support.files import replace_file

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

NO_DATA = "-"
CSV_HEADER = ("section", "period", "group", "measure", "value", "suppressed")
LEGEND = (
    f"{SUPPRESSED_MARK} = hidden to protect small numbers (about fewer than 3 people, or hidden with "
    f"one so it can't be worked out from a total); {NO_DATA} = nothing recorded."
)
CHART_LEGEND = (
    f"{SUPPRESSED_MARK} = hidden to protect small numbers (about fewer than 3 people, "
    "or hidden with one so it can't be worked out from a total)."
)


class OutputError(Exception):
    """A report file could not be written (cli/main.py's ERRORS prints it; exit status 1)."""


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


def _write_atomically(path: Path, write: Callable[[str], None]) -> None:
    """Write through a temporary file beside `path`: no half-written file is ever left."""
    try:
        replace_file(path, lambda temporary: write(str(temporary)))
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from error


def write_csv(report: Report, path: Path) -> None:
    """The tidy CSV into `path` (UTF-8)."""
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a directory")
    data = report_csv(report).encode("utf-8")

    def write(temp: str) -> None:
        Path(temp).write_bytes(data)

    _write_atomically(path, write)


# ---- PNG charts ----------------------------------------------------------------------------------

HIDDEN_LABEL = "hidden (small numbers)"
_BAR = "#2b6cb0"
_NOT_MET = "#dd6b20"


def _hidden_column(ax: Axes, x: int, *, legend: bool) -> None:
    """A hatched grey band the full height of the plot, marked [c], where a figure is suppressed:
    left out visibly, and with no height that could be read as a value."""
    ax.axvspan(
        x - 0.4,
        x + 0.4,
        facecolor="#eeeeee",
        edgecolor="#888888",
        hatch="//",
        linewidth=0.8,
        label=HIDDEN_LABEL if legend else None,
    )
    ax.text(
        x,
        0.5,
        SUPPRESSED_MARK,
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="center",
        fontsize=9,
        color="#333333",
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
    )


def _no_data(ax: Axes, x: int) -> None:
    """Nothing recorded that month (no register, nobody invited, no pairing round)."""
    ax.text(
        x,
        0.02,
        "no data",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="bottom",
        fontsize=8,
        color="#555555",
    )


def _month_axis(ax: Axes, months: Sequence[str]) -> None:
    ax.set_xticks(list(range(len(months))), list(months), rotation=45, ha="right")
    ax.set_xlim(-0.6, len(months) - 0.4)
    ax.set_xlabel("Month")


def _count_axis(ax: Axes, shown: Sequence[int], label: str) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_ylabel(label)
    if shown:
        ax.set_ylim(0, max(max(shown), 1) * 1.15)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.set_yticks([])  # every figure hidden: no scale to read


def _rate_chart(ax: Axes, months: Sequence[str], rates: dict[str, Rate], ylabel: str) -> None:
    """Bars of a percentage per month; suppressed months as marked bands, months without data as -."""
    hidden_drawn = False
    for i, month in enumerate(months):
        rate = rates.get(month)
        if rate is None:
            _no_data(ax, i)
        elif rate.value is None:
            _hidden_column(ax, i, legend=not hidden_drawn)
            hidden_drawn = True
        else:
            percent = rate.value * 100
            ax.bar(i, percent, color=_BAR)
            ax.text(i, percent + 1, f"{round(percent)}", ha="center", va="bottom", fontsize=7)
    _month_axis(ax, months)
    ax.set_ylim(0, 110)
    ax.set_ylabel(ylabel)
    if hidden_drawn:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)


def _pairs_chart(ax: Axes, report: Report) -> None:
    """Stacked bars per month: pairs that met, pairs that did not."""
    pairs = {p.month: p for p in report.pairs}
    labelled: set[str] = set()

    def label(name: str) -> str | None:
        if name in labelled:
            return None
        labelled.add(name)
        return name

    shown: list[int] = []
    for i, month in enumerate(report.months):
        p = pairs.get(month)
        if p is None:
            _no_data(ax, i)
        elif p.met.value is None or p.not_met.value is None:
            _hidden_column(ax, i, legend=label(HIDDEN_LABEL) is not None)
        else:
            ax.bar(i, p.met.value, color=_BAR, label=label("met"))
            ax.bar(i, p.not_met.value, bottom=p.met.value, color=_NOT_MET, label=label("no meeting recorded"))
            shown.append(p.met.value + p.not_met.value)
    _month_axis(ax, report.months)
    _count_axis(ax, shown, "Pairs")
    if labelled:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)


def _escalations_chart(ax: Axes, report: Report) -> None:
    """Bars per age bucket of open and acknowledged escalations."""
    labels = [label for _, label, _, _ in AGE_BUCKETS]
    hidden_drawn = False
    shown: list[int] = []
    for i, (_, count) in enumerate(report.escalations.buckets):
        if count.value is None:
            _hidden_column(ax, i, legend=not hidden_drawn)
            hidden_drawn = True
        else:
            ax.bar(i, count.value, color=_BAR)
            ax.text(i, count.value, str(count.value), ha="center", va="bottom")
            shown.append(count.value)
    ax.set_xticks(list(range(len(labels))), labels)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_xlabel("Age since raised")
    _count_axis(ax, shown, "Open escalations")
    if hidden_drawn:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)


def _saver(figure: Figure) -> Callable[[str], None]:
    def save(temp: str) -> None:
        figure.savefig(temp, format="png")

    return save


CHARTS = ("attendance.png", "rsvp.png", "pairs.png", "escalations.png")


def write_charts(report: Report, directory: Path) -> list[Path]:
    """The report's charts as PNG files in `directory` (created if missing); returns their paths."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"cannot write charts into {directory}: {error.strerror or error}") from error
    if not directory.is_dir():
        raise OutputError(f"cannot write charts into {directory}: not a directory")
    # Imported here: only --png needs matplotlib. The Agg canvas draws without any display.
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise OutputError(f"--png needs matplotlib, which is not installed here ({error})") from error

    first, last = report.months[0], report.months[-1]
    span = first if first == last else f"{first} to {last}"
    as_of = report.escalations.as_of
    total = report.escalations.total.text()
    draw: dict[str, tuple[str, Callable[[Axes], None]]] = {
        "attendance.png": (
            f"Attendance rate per month, all groups ({span})",
            lambda ax: _rate_chart(
                ax,
                report.months,
                {t.month: t.rate for t in report.attendance_total},
                "Present / registered (%)",
            ),
        ),
        "rsvp.png": (
            f"RSVP response rate per month ({span})",
            lambda ax: _rate_chart(
                ax, report.months, {r.month: r.rate for r in report.rsvp}, "Answered / invited (%)"
            ),
        ),
        "pairs.png": (f"Peer pairs that met vs not, per month ({span})", lambda ax: _pairs_chart(ax, report)),
        "escalations.png": (
            f"Open escalations by age, as of {as_of:%Y-%m-%d} (total {total})",
            lambda ax: _escalations_chart(ax, report),
        ),
    }
    written = []
    for name in CHARTS:
        title, plot = draw[name]
        figure = Figure(figsize=(9, 5), dpi=100, layout="tight")
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
        ax.set_title(title)
        plot(ax)
        figure.text(0.01, 0.005, CHART_LEGEND, fontsize=6, color="#555555")
        path = directory / name
        _write_atomically(path, _saver(figure))
        written.append(path)
    return written


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
    report.set_defaults(handler=show_report)


def show_report(args: argparse.Namespace) -> int:
    """`reflect report [--months N] [--until YYYY-MM] [--csv FILE|-] [--png DIR] [--json]`."""
    with open_root(args) as root:
        if args.csv == "-" and args.json:
            print("reflect: --csv - and --json both write to stdout: choose one", file=sys.stderr)
            return 2
        report = programme_report(
            root.services.programme, now=datetime.now(UTC), months=args.months, until=args.until
        )
    machine = args.json or args.csv == "-"
    notices = sys.stderr if machine else sys.stdout
    if args.csv == "-":
        _emit(report_csv(report), sys.stdout)
    elif args.json:
        _emit(orjson.dumps(report_json(report), option=orjson.OPT_INDENT_2).decode() + "\n", sys.stdout)
    else:
        _emit(report_text(report), sys.stdout)
    if args.csv and args.csv != "-":
        path = Path(args.csv)
        write_csv(report, path)
        print(f"CSV written to {path}", file=notices)
    if args.png:
        for chart in write_charts(report, Path(args.png)):
            print(f"Chart written to {chart}", file=notices)
    return 0
