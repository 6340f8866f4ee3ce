"""Reading an Adaptive Card the way a person (and Teams) would: what it shows, its buttons, its inputs.

Tests assert content with these (headings, texts, facts, verbs and inputs) rather than the card's
shape, so a card that is valid but says the wrong thing, or offers the wrong button, fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

Card = dict[str, Any]


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every object of a card, nested ShowCards, containers and action sets included."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def texts(card: Card | None) -> list[str]:
    """Every human-visible string of a card: text, fact titles/values, labels, button titles."""
    out: list[str] = []
    for node in walk(card or {}):
        for key in ("text", "title", "value", "label", "placeholder", "fallbackText"):
            if isinstance(node.get(key), str):
                out.append(node[key])
    return out


def card_text(card: Card | None) -> str:
    return "\n".join(texts(card))


def heading(card: Card | str | None) -> str:
    """The card's first TextBlock (our cards open with their heading); a text reply is itself."""
    if isinstance(card, str):
        return card
    for node in (card or {}).get("body", []):
        if node.get("type") == "TextBlock":
            return str(node["text"])
    return ""


def actions(card: Card | None, verb: str) -> list[dict[str, Any]]:
    """Every Action.Execute of `verb` in the card."""
    return [n for n in walk(card or {}) if n.get("type") == "Action.Execute" and n.get("verb") == verb]


def find_action(card: Card | None, verb: str, **data: Any) -> dict[str, Any]:
    """The Action.Execute of `verb` (nested ShowCards and ActionSets included) whose data has `data`."""
    for node in actions(card, verb):
        if all(node.get("data", {}).get(k) == v for k, v in data.items()):
            return node
    raise AssertionError(f"no {verb} action with {data} in card:\n{json.dumps(card, indent=1)[:3000]}")


def inputs(card: Card | None) -> dict[str, dict[str, Any]]:
    """Input elements by id."""
    return {n["id"]: n for n in walk(card or {}) if str(n.get("type", "")).startswith("Input.") and "id" in n}


def facts_of(card: Card | None) -> dict[str, str]:
    """The card's facts, title to value."""
    return {
        f["title"]: f["value"] for n in walk(card or {}) if n.get("type") == "FactSet" for f in n["facts"]
    }
