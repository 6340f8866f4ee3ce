"""`reflect report --png DIR`: the report's charts, with hidden figures shown as marked bands.

A suppressed figure is "[c]" over a hatched band the full height of the plot: left out visibly,
with no height that could be read as a value.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import OutputError, write_atomically
from programme.reports import AGE_BUCKETS, SUPPRESSED_MARK, Rate, Report

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CHART_LEGEND = (
    f"{SUPPRESSED_MARK} = hidden to protect small numbers (about fewer than 3 people, "
    "or hidden with one so it can't be worked out from a total)."
)

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
        write_atomically(path, _saver(figure))
        written.append(path)
    return written
