"""Shared pieces of every card: the Adaptive Card 1.5 envelope, text, inputs and actions.

Only Adaptive Cards 1.5 vocabulary, and only named colours and styles ("good", "attention",
"accent", ...): the host maps those onto its light, dark and high-contrast themes, hex colours it
would not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

from programme.answers import FLAG_LABELS
from programme.model import WEEKDAY_NAMES

CardJson = dict[str, Any]

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.5"
# Longest free text any input accepts; parse_action enforces the same limit server-side.
MAX_TEXT = 2000
MAX_TITLE = 200

TextColor = Literal["default", "accent", "good", "warning", "attention"]
ContainerStyle = Literal["default", "emphasis", "accent", "good", "attention", "warning"]
ActionStyle = Literal["default", "positive", "destructive"]


def card(
    body: Sequence[CardJson],
    *,
    fallback_text: str,
    actions: Sequence[CardJson] = (),
    full_width: bool = False,
) -> CardJson:
    """The top-level Adaptive Card 1.5 envelope."""
    result: CardJson = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": CARD_VERSION,
        "fallbackText": fallback_text,
        "body": list(body),
    }
    if actions:
        result["actions"] = list(actions)
    if full_width:
        # Teams-only extension: forms and rosters are cramped at the default chat-bubble width.
        result["msteams"] = {"width": "Full"}
    return result


def heading(value: str) -> CardJson:
    """A card title; style "heading" lets screen readers announce it as one."""
    return {
        "type": "TextBlock",
        "text": value,
        "style": "heading",
        "size": "medium",
        "weight": "bolder",
        "wrap": True,
    }


def text(
    value: str,
    *,
    color: TextColor | None = None,
    subtle: bool = False,
    bold: bool = False,
    separator: bool = False,
) -> CardJson:
    """A wrapping TextBlock (unwrapped text is clipped on phones)."""
    block: CardJson = {"type": "TextBlock", "text": value, "wrap": True}
    if color is not None:
        block["color"] = color
    if subtle:
        block["isSubtle"] = True
    if bold:
        block["weight"] = "bolder"
    if separator:
        block["separator"] = True
    return block


def facts(pairs: Iterable[tuple[str, str]]) -> CardJson:
    """A FactSet of (title, value) rows."""
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def container(items: Sequence[CardJson], *, style: ContainerStyle | None = None) -> CardJson:
    """A Container, optionally styled (named styles follow the host theme)."""
    block: CardJson = {"type": "Container", "items": list(items)}
    if style is not None:
        block["style"] = style
    return block


def action_set(actions: Sequence[CardJson]) -> CardJson:
    """Buttons placed inside the body, e.g. within a section or a shown card."""
    return {"type": "ActionSet", "actions": list(actions)}


def execute(title: str, verb: str, data: Mapping[str, Any], *, style: ActionStyle | None = None) -> CardJson:
    """An Action.Execute: Teams sends an adaptiveCard/action invoke and shows the card the bot returns."""
    # str(): verbs are StrEnum members; the card must hold plain JSON values.
    action: CardJson = {"type": "Action.Execute", "title": title, "verb": str(verb), "data": dict(data)}
    if style is not None:
        action["style"] = style
    return action


def open_url(title: str, url: str) -> CardJson:
    """A button opening a link (e.g. the Teams meeting)."""
    return {"type": "Action.OpenUrl", "title": title, "url": url}


def show_card(title: str, body: Sequence[CardJson], actions: Sequence[CardJson]) -> CardJson:
    """A button revealing an inline card; its inputs travel only with actions inside it."""
    return {
        "type": "Action.ShowCard",
        "title": title,
        "card": {"type": "AdaptiveCard", "body": list(body), "actions": list(actions)},
    }


def text_input(
    input_id: str,
    label: str,
    *,
    multiline: bool = False,
    placeholder: str = "",
    value: str = "",
    required: bool = False,
    max_length: int = MAX_TEXT,
) -> CardJson:
    """An Input.Text with a visible label and a length cap."""
    block: CardJson = {
        "type": "Input.Text",
        "id": input_id,
        "label": label,
        "isMultiline": multiline,
        "maxLength": max_length,
    }
    if placeholder:
        block["placeholder"] = placeholder
    if value:
        block["value"] = value
    if required:
        block["isRequired"] = True
        block["errorMessage"] = f"{label}: please fill this in."
    return block


def choice_set(
    input_id: str,
    label: str,
    choices: Iterable[tuple[str, str]],
    *,
    multi: bool = False,
    value: str = "",
    required: bool = False,
    compact: bool = False,
) -> CardJson:
    """An Input.ChoiceSet from (value, title) pairs; multi-select values come back comma-separated."""
    block: CardJson = {
        "type": "Input.ChoiceSet",
        "id": input_id,
        "label": label,
        "style": "compact" if compact else "expanded",
        "isMultiSelect": multi,
        "choices": [{"title": title, "value": val} for val, title in choices],
        "wrap": True,
    }
    if value:
        block["value"] = value
    if required:
        block["isRequired"] = True
        block["errorMessage"] = f"{label}: please choose one."
    return block


def toggle(input_id: str, title: str, *, on: bool) -> CardJson:
    """An Input.Toggle; its value comes back as the string "true" or "false"."""
    return {
        "type": "Input.Toggle",
        "id": input_id,
        "title": title,
        "value": "true" if on else "false",
        "valueOn": "true",
        "valueOff": "false",
        "wrap": True,
    }


def number_input(
    input_id: str,
    label: str,
    *,
    minimum: int,
    maximum: int,
    required: bool = False,
    value: int | None = None,
) -> CardJson:
    """An Input.Number with range hints (clients may ignore them; parse_action does not)."""
    block: CardJson = {"type": "Input.Number", "id": input_id, "label": label, "min": minimum, "max": maximum}
    if value is not None:
        block["value"] = value
    if required:
        block["isRequired"] = True
        block["errorMessage"] = f"{label}: enter a number from {minimum} to {maximum}."
    return block


def flag_choices() -> list[tuple[str, str]]:
    """The confidential flags as (value, label) choices, in their fixed order."""
    return [(flag.value, label) for flag, label in FLAG_LABELS.items()]


def names(people: Sequence[str]) -> str:
    """Names as English prose: "A", "A and B", "A, B and C"."""
    if len(people) <= 1:
        return "".join(people)
    return f"{', '.join(people[:-1])} and {people[-1]}"


def month_label(month: str) -> str:
    """ "2026-11" as "November 2026"."""
    year, number = month.split("-")
    return f"{_MONTHS[int(number) - 1]} {year}"


def period_label(period: str) -> str:
    """A session's period as people say it: "November 2026" for a monthly session, "Thursday 12
    November 2026" for one of a group meeting every few weeks (a month name alone would not say
    which of its sessions)."""
    if len(period) == 7:
        return month_label(period)
    day = date.fromisoformat(period)
    return f"{WEEKDAY_NAMES[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
