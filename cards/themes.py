"""Themes for the organisation: the leader's card (the programme's themes as toggles, an optional
note without names) and the coordinators' card (themes per quarter, small numbers suppressed).
"""

from __future__ import annotations

from cards.common import (
    CardJson,
    card,
    container,
    execute,
    facts,
    heading,
    period_label,
    text,
    text_input,
    toggle,
)
from cards.protocol import DATA_GROUP, DATA_MONTH, THEMES_NOTE, Verb, theme_id
from cards.rsvp import session_facts
from programme.reports import SUPPRESSED_MARK
from service.views import QuarterThemesView, ThemesFormView

NOTE_LIMIT = 200  # programme.themes: the roster's text limit bounds a note
NO_NAMES = (
    "Themes go to the coordinators as counts of groups, never with names: write the note without "
    "anyone's name."
)
LEGEND = (
    f"{SUPPRESSED_MARK} hidden to protect small numbers: raised by fewer than 3 groups, or hidden "
    "with one so that it can't be worked out. Notes show only when 3 or more groups recorded themes."
)
NOTHING_YET = "No themes have been recorded yet."
# The card stays small however many programmes, themes and notes there are; `reflect themes` has all.
MAX_THEME_ROWS = 30
MAX_NOTES = 5


def build_themes_card(view: ThemesFormView) -> CardJson:
    """The themes of a session: open for recording (and correcting), or closed and read-only."""
    session = view.session
    title = f"Themes of {session.group_name}: {period_label(session.month)}"
    body: list[CardJson] = [heading(title), session_facts(session)]
    if view.recorded:
        body.append(text("Recorded. Thank you.", color="good", bold=True, separator=True))
    if view.correct_until is None:
        chosen = [t for t in view.themes if t in view.chosen]
        body.append(text(f"Themes: {', '.join(chosen) if chosen else 'none'}"))
        if view.note:
            body.append(text(f"Note: {view.note}"))
        body.append(text("Corrections are closed.", subtle=True))
        return card(body, fallback_text=title)
    body.append(
        text(
            f"Which systemic themes did the session raise? ({view.programme_name}'s list)",
            bold=True,
            separator=True,
        )
    )
    body.extend(toggle(theme_id(t), t, on=t in view.chosen) for t in view.themes)
    body.append(
        text_input(
            THEMES_NOTE,
            "Anything else the organisation should know (optional, no names)",
            multiline=True,
            max_length=NOTE_LIMIT,
            value=view.note,
        )
    )
    body.append(text(NO_NAMES, subtle=True))
    body.append(text(f"You can correct this until {view.correct_until}.", subtle=True))
    data = {DATA_GROUP: session.group_id, DATA_MONTH: session.month}
    label = "Correct" if view.recorded else "Record themes"
    return card(
        body,
        actions=[execute(label, Verb.THEMES_SUBMIT, data, style="positive")],
        fallback_text=f"{title}. Open this message in Teams to record them.",
        full_width=True,
    )


def _figure(value: int | None) -> str:
    return SUPPRESSED_MARK if value is None else str(value)


def build_themes_overview_card(views: list[QuarterThemesView]) -> CardJson:
    """One quarter's themes (the latest of `views`) per programme, as counts of groups (suppressed
    below 3); earlier quarters and anything beyond the card's rows are in `reflect themes`."""
    body: list[CardJson] = [heading("Themes for the organisation")]
    if not views:
        body.append(text(NOTHING_YET))
        return card(body, fallback_text=NOTHING_YET)
    quarter = max(v.quarter for v in views)
    for view in (v for v in views if v.quarter == quarter):
        rows = [("Groups recording", _figure(view.groups_recording))]
        rows.extend((t.theme, _figure(t.groups)) for t in view.themes[:MAX_THEME_ROWS])
        items: list[CardJson] = [text(f"{view.quarter}: {view.programme_name}", bold=True), facts(rows)]
        items.extend(text(f"“{note}”", subtle=True) for note in view.notes[:MAX_NOTES])
        more = max(0, len(view.themes) - MAX_THEME_ROWS) + max(0, len(view.notes) - MAX_NOTES)
        if more:
            items.append(text(f"More in `reflect themes --quarter {view.quarter}`.", subtle=True))
        body.append(container(items, style="emphasis"))
    earlier = sorted({v.quarter for v in views if v.quarter != quarter})
    if earlier:
        body.append(
            text(f"Earlier quarters: {', '.join(earlier)} (type `themes {earlier[-1]}`).", subtle=True)
        )
    body.append(text(LEGEND, subtle=True))
    return card(body, fallback_text=f"Themes for the organisation, {quarter}.", full_width=True)
