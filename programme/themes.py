"""Systemic themes for the organisation: what groups raise, never who raised it.

After a session the facilitator may record the systemic themes it touched (seeds 000 and 003:
sessions "inform organisational change", groups "identify systemic issues relevant to the wider
organisation"): themes chosen from the programme's own list, plus optional short text. A record
names the programme, group and month, never a person; text naming one of the group's people (their
full or given name as whole words) or holding an email address is refused, so a record cannot
carry a name by accident. The error points at the word rather than echoing it.

Coordinators see, per quarter, how many groups raised each theme, per programme and across all
programmes, under the report's small-number suppression (`programme.reports`): a theme raised
by fewer than 3 groups is hidden (so is zero), and the report's complementary suppression runs over
the quarter's row of themes (`suppress_row`, populations being groups); the number of groups that
recorded anything that quarter is hidden below 3, and then every theme and note with it.
Free-text notes are shown only for a quarter whose total is shown, unattributed and sorted, and
are dropped once older than the free-text retention setting (`drop_expired_notes`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from programme.errors import ThemeError
from programme.programmes import ProgrammeDefinition
from programme.reports import HIDDEN_COUNT, MIN_PEOPLE, Count, quarter_of, suppress_row
from programme.roster import character_problem
from programme.sessions import valid_period

ALL_PROGRAMMES = "all"
NOTE_COLUMN = "note"  # the roster's text limit (200 characters) bounds a note
_EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+")


@dataclass(frozen=True)
class ThemeRecord:
    """A session's themes: programme, group and month, the chosen themes, an optional note."""

    programme_id: str
    group_id: str
    month: str
    themes: tuple[str, ...]
    note: str | None
    recorded_on: date

    @property
    def group_key(self) -> str:
        """The group across programmes (group ids are unique within a programme only)."""
        return f"{self.programme_id}/{self.group_id}"


def record_themes(
    definition: ProgrammeDefinition,
    group_id: str,
    month: str,
    chosen: Iterable[str],
    note: str | None,
    recorded_on: date,
    names: Collection[str] = (),
) -> ThemeRecord:
    """A validated record; `names` are the group's people's names, which the note must not contain."""
    if not definition.themes:
        raise ThemeError(f"the {definition.name} programme has no themes to record")
    if not valid_period(month, definition):
        raise ThemeError(
            f'month: expected a month like "2027-03" (or a session date like "2027-03-11"), got {month!r}'
        )
    listed = {theme.casefold(): theme for theme in definition.themes}
    themes: list[str] = []
    for raw in chosen:
        theme = listed.get(" ".join(raw.split()).casefold())
        if theme is None:
            raise ThemeError(f"{raw!r} is not one of the {definition.name} programme's themes")
        if theme not in themes:
            themes.append(theme)
    text = _clean_note(note, names)
    if not themes and text is None:
        raise ThemeError("choose at least one theme or write a note")
    ordered = tuple(t for t in definition.themes if t in themes)  # the programme's order
    return ThemeRecord(definition.id, group_id, month, ordered, text, recorded_on)


def _clean_note(note: str | None, names: Collection[str]) -> str | None:
    if note is None or not note.strip():
        return None
    problem = character_problem(NOTE_COLUMN, note)
    if problem is not None:
        raise ThemeError(problem)
    text = " ".join(note.split())
    if _EMAIL_LIKE.search(text):
        raise ThemeError("note: themes are recorded without names; remove the email address")
    folded = f" {_words(text)} "
    for name in names:
        words = _words(name)
        # The full name and the given name, as whole words ("Ann" does not refuse "annual leave").
        for form in {words, words.split(" ")[0]}:
            if form and f" {form} " in folded:
                raise ThemeError(
                    "note: themes are recorded without names; remove the person's name "
                    f"({len(form)} letters at position {folded.index(f' {form} ')})"
                )
    return text


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def drop_expired_notes(records: Iterable[ThemeRecord], today: date, retention_days: int) -> list[ThemeRecord]:
    """Records with notes older than the retention removed from them (0 keeps notes for ever)."""
    if retention_days == 0:
        return list(records)
    cutoff = today - timedelta(days=retention_days)
    return [replace(r, note=None) if r.note is not None and r.recorded_on < cutoff else r for r in records]


@dataclass(frozen=True)
class ThemeCount:
    """How many groups raised one theme in a quarter (suppressed below 3)."""

    theme: str
    groups: Count


@dataclass(frozen=True)
class QuarterThemes:
    """One quarter's themes for one programme, or for all programmes (`programme_id` "all")."""

    quarter: str
    programme_id: str
    groups_recording: Count
    themes: tuple[ThemeCount, ...]
    notes: tuple[str, ...]


def quarter_themes(
    records: Iterable[ThemeRecord], programmes: Sequence[ProgrammeDefinition]
) -> list[QuarterThemes]:
    """Per quarter (oldest first): each programme, then all programmes together."""
    by_quarter: dict[str, list[ThemeRecord]] = defaultdict(list)
    for record in records:
        by_quarter[quarter_of(record.month)].append(record)
    summaries: list[QuarterThemes] = []
    for quarter in sorted(by_quarter):
        quarter_records = by_quarter[quarter]
        for definition in programmes:
            mine = [r for r in quarter_records if r.programme_id == definition.id]
            if mine:
                summaries.append(_summary(quarter, definition.id, definition.themes, mine))
        listed = tuple(dict.fromkeys(t for d in programmes for t in d.themes))
        summaries.append(_summary(quarter, ALL_PROGRAMMES, listed, quarter_records))
    return summaries


def _summary(
    quarter: str, programme_id: str, listed: Sequence[str], records: Sequence[ThemeRecord]
) -> QuarterThemes:
    raised: dict[str, set[str]] = {theme: set() for theme in listed}
    for record in records:
        for theme in record.themes:
            raised.setdefault(theme, set()).add(record.group_key)
    themes = list(raised)
    hidden, _ = suppress_row([raised[t] for t in themes])
    # The total is the groups that recorded anything, notes included, so it is checked on its own.
    recording = {r.group_key for r in records}
    total_hidden = len(recording) < MIN_PEOPLE
    counts = tuple(
        ThemeCount(theme, HIDDEN_COUNT if hide else Count(len(raised[theme])))
        for theme, hide in zip(themes, hidden, strict=True)
    )
    if total_hidden:
        return QuarterThemes(quarter, programme_id, HIDDEN_COUNT, counts, ())
    notes = tuple(sorted(r.note for r in records if r.note is not None))
    return QuarterThemes(quarter, programme_id, Count(len(recording)), counts, notes)
