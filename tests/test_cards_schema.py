"""A focused validator for Adaptive Cards 1.5 as Teams renders them, and its own tests.

Why not a library: `microsoft-teams-cards` 2.1.1 (the typed models) cannot be imported without
pydantic, which it does not declare, and its models are `extra="allow"` with body and actions typed
as base classes, so they accept unknown elements and properties and would validate nothing. No
JSON-schema validator is installed here either. So this module encodes the vocabulary of the
official schema `microsoft/AdaptiveCards: schemas/1.5.0/adaptive-card.json` (every element,
action and property, with their enums and `additionalProperties: false`), plus the Teams
extension `msteams.width` and our own rules: plain JSON values only, version "1.5", a
fallbackText, unique input ids, Action.Execute with a verb and object data whose keys never
collide with an input id, and no free colour values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.card_reading import walk

Check = Callable[[Any, str, list[str]], None]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        problems.append(f"{path}: expected a string")


def _boolean(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, bool):
        problems.append(f"{path}: expected true or false")


def _optional_boolean(value: Any, path: str, problems: list[str]) -> None:
    if value is not None:
        _boolean(value, path, problems)


def _number(value: Any, path: str, problems: list[str]) -> None:
    if not _is_number(value):
        problems.append(f"{path}: expected a number")


def _string_or_number(value: Any, path: str, problems: list[str]) -> None:
    if not (isinstance(value, str) or _is_number(value)):
        problems.append(f"{path}: expected a string or a number")


def _enum(*values: str, nullable: bool = False) -> Check:
    # The schema accepts each enum value in any letter case.
    allowed = {v.lower() for v in values}

    def check(value: Any, path: str, problems: list[str]) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str) or value.lower() not in allowed:
            problems.append(f"{path}: {value!r} is not one of {sorted(values)}")

    return check


def _string_map(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.append(f"{path}: expected an object of strings")


def _array(item: Check) -> Check:
    def check(value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, list):
            problems.append(f"{path}: expected an array")
            return
        for index, entry in enumerate(value):
            item(entry, f"{path}[{index}]", problems)

    return check


SPACING = _enum("default", "none", "small", "medium", "large", "extraLarge", "padding")
HEIGHT = _enum("auto", "stretch")
H_ALIGN = _enum("left", "center", "right", nullable=True)
V_ALIGN = _enum("top", "center", "bottom", nullable=True)
CONTAINER_STYLE = _enum("default", "emphasis", "good", "attention", "warning", "accent", nullable=True)
COLORS = _enum("default", "dark", "light", "accent", "good", "warning", "attention", nullable=True)
FONT_SIZE = _enum("default", "small", "medium", "large", "extraLarge", nullable=True)
FONT_WEIGHT = _enum("default", "lighter", "bolder", nullable=True)
FONT_TYPE = _enum("default", "monospace", nullable=True)
IMAGE_SIZE = _enum("auto", "stretch", "small", "medium", "large")


@dataclass(frozen=True)
class Spec:
    props: dict[str, Check]
    required: frozenset[str] = field(default_factory=frozenset)


def _object(spec: Spec, type_name: str | None = None) -> Check:
    """An object with exactly the spec's properties (`additionalProperties: false`)."""

    def check(value: Any, path: str, problems: list[str]) -> None:
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object")
            return
        _check_props(value, spec, path, problems, type_name)

    return check


def _check_props(
    value: dict[str, Any], spec: Spec, path: str, problems: list[str], type_name: str | None
) -> None:
    for name in spec.required - value.keys():
        problems.append(f"{path}: missing required {name!r}")
    for name, prop in value.items():
        if name == "type" and type_name is not None:
            if prop != type_name:
                problems.append(f"{path}.type: expected {type_name!r}")
            continue
        check = spec.props.get(name)
        if check is None:
            problems.append(f"{path}: {name!r} is not a 1.5 property of {type_name or 'this object'}")
        else:
            check(prop, f"{path}.{name}", problems)


def _element(value: Any, path: str, problems: list[str]) -> None:
    _typed(value, path, problems, ELEMENTS, "element")


def _action(value: Any, path: str, problems: list[str]) -> None:
    _typed(value, path, problems, ACTIONS, "action")


def _select_action(value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, dict) and value.get("type") == "Action.ShowCard":
        problems.append(f"{path}: Action.ShowCard cannot be a selectAction")
        return
    _action(value, path, problems)


def _typed(value: Any, path: str, problems: list[str], table: dict[str, Spec], kind: str) -> None:
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        problems.append(f"{path}: expected an {kind} object with a type")
        return
    spec = table.get(value["type"])
    if spec is None:
        problems.append(f"{path}: {value['type']!r} is not an Adaptive Cards 1.5 {kind}")
        return
    _check_props(value, spec, f"{path}<{value['type']}>", problems, value["type"])


def _element_fallback(value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, str):
        _enum("drop")(value, path, problems)
    else:
        _element(value, path, problems)


def _action_fallback(value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, str):
        _enum("drop")(value, path, problems)
    else:
        _action(value, path, problems)


def _background_image(value: Any, path: str, problems: list[str]) -> None:
    if isinstance(value, str):
        return
    spec = Spec(
        {
            "url": _string,
            "fillMode": _enum("cover", "repeatHorizontally", "repeatVertically", "repeat"),
            "horizontalAlignment": H_ALIGN,
            "verticalAlignment": V_ALIGN,
        },
        frozenset({"url"}),
    )
    _object(spec, "BackgroundImage")(value, path, problems)


def _data(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str | dict):
        problems.append(f"{path}: expected a string or an object")


def _nested_card(value: Any, path: str, problems: list[str]) -> None:
    _object(CARD, "AdaptiveCard")(value, path, problems)


def _column(value: Any, path: str, problems: list[str]) -> None:
    _object(COLUMN, "Column")(value, path, problems)


def _refresh_action(value: Any, path: str, problems: list[str]) -> None:
    _object(ACTIONS["Action.Execute"], "Action.Execute")(value, path, problems)


def _any_object(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object")


TOGGLEABLE = {"id": _string, "isVisible": _boolean, "requires": _string_map}
ELEMENT_COMMON = {
    **TOGGLEABLE,
    "fallback": _element_fallback,
    "height": HEIGHT,
    "separator": _boolean,
    "spacing": SPACING,
}
INPUT_COMMON = {**ELEMENT_COMMON, "errorMessage": _string, "isRequired": _boolean, "label": _string}
ACTION_COMMON = {
    "title": _string,
    "iconUrl": _string,
    "id": _string,
    "style": _enum("default", "positive", "destructive"),
    "fallback": _action_fallback,
    "tooltip": _string,
    "isEnabled": _boolean,
    "mode": _enum("primary", "secondary"),
    "requires": _string_map,
}
CONTAINER_PROPS = {
    "items": _array(_element),
    "selectAction": _select_action,
    "style": CONTAINER_STYLE,
    "verticalContentAlignment": V_ALIGN,
    "bleed": _boolean,
    "backgroundImage": _background_image,
    "minHeight": _string,
    "rtl": _optional_boolean,
}
IMAGE = Spec(
    {
        "url": _string,
        "altText": _string,
        # backgroundColor (a free colour) is left out on purpose: named styles only.
        "height": _string,
        "horizontalAlignment": H_ALIGN,
        "selectAction": _select_action,
        "size": IMAGE_SIZE,
        "style": _enum("default", "person"),
        "width": _string,
        "fallback": _element_fallback,
        "separator": _boolean,
        "spacing": SPACING,
        **TOGGLEABLE,
    },
    frozenset({"url"}),
)
COLUMN = Spec(
    {
        **CONTAINER_PROPS,
        **TOGGLEABLE,
        "fallback": lambda v, p, pr: _enum("drop")(v, p, pr) if isinstance(v, str) else _column(v, p, pr),
        "separator": _boolean,
        "spacing": SPACING,
        "width": _string_or_number,
    }
)
TABLE_CELL = Spec(dict(CONTAINER_PROPS), frozenset({"items"}))
TABLE_ROW = Spec(
    {
        "cells": _array(_object(TABLE_CELL, "TableCell")),
        "style": CONTAINER_STYLE,
        "horizontalCellContentAlignment": H_ALIGN,
        "verticalCellContentAlignment": V_ALIGN,
    }
)
TEXT_RUN = Spec(
    {
        "text": _string,
        "color": COLORS,
        "fontType": FONT_TYPE,
        "highlight": _boolean,
        "isSubtle": _optional_boolean,
        "italic": _boolean,
        "selectAction": _select_action,
        "size": FONT_SIZE,
        "strikethrough": _boolean,
        "underline": _boolean,
        "weight": FONT_WEIGHT,
    },
    frozenset({"text"}),
)


def _inline(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        _object(TEXT_RUN, "TextRun")(value, path, problems)


def _target(value: Any, path: str, problems: list[str]) -> None:
    if not isinstance(value, str):
        spec = Spec({"elementId": _string, "isVisible": _optional_boolean}, frozenset({"elementId"}))
        _object(spec, "TargetElement")(value, path, problems)


ELEMENTS: dict[str, Spec] = {
    "ActionSet": Spec({"actions": _array(_action), **ELEMENT_COMMON}, frozenset({"actions"})),
    "ColumnSet": Spec(
        {
            "columns": _array(_column),
            "selectAction": _select_action,
            "style": CONTAINER_STYLE,
            "bleed": _boolean,
            "minHeight": _string,
            "horizontalAlignment": H_ALIGN,
            **ELEMENT_COMMON,
        }
    ),
    "Container": Spec({**CONTAINER_PROPS, **ELEMENT_COMMON}, frozenset({"items"})),
    "FactSet": Spec(
        {
            "facts": _array(
                _object(Spec({"title": _string, "value": _string}, frozenset({"title", "value"})), "Fact")
            ),
            **ELEMENT_COMMON,
        },
        frozenset({"facts"}),
    ),
    "Image": IMAGE,
    "ImageSet": Spec(
        {"images": _array(_object(IMAGE, "Image")), "imageSize": IMAGE_SIZE, **ELEMENT_COMMON},
        frozenset({"images"}),
    ),
    "Input.ChoiceSet": Spec(
        {
            "choices": _array(
                _object(
                    Spec({"title": _string, "value": _string}, frozenset({"title", "value"})), "Input.Choice"
                )
            ),
            "isMultiSelect": _boolean,
            "style": _enum("compact", "expanded", "filtered"),
            "value": _string,
            "placeholder": _string,
            "wrap": _boolean,
            **INPUT_COMMON,
        },
        frozenset({"id"}),
    ),
    "Input.Date": Spec(
        {"max": _string, "min": _string, "placeholder": _string, "value": _string, **INPUT_COMMON},
        frozenset({"id"}),
    ),
    "Input.Number": Spec(
        {"max": _number, "min": _number, "placeholder": _string, "value": _number, **INPUT_COMMON},
        frozenset({"id"}),
    ),
    "Input.Text": Spec(
        {
            "isMultiline": _boolean,
            "maxLength": _number,
            "placeholder": _string,
            "regex": _string,
            "style": _enum("text", "tel", "url", "email", "password"),
            "inlineAction": _select_action,
            "value": _string,
            **INPUT_COMMON,
        },
        frozenset({"id"}),
    ),
    "Input.Time": Spec(
        {"max": _string, "min": _string, "placeholder": _string, "value": _string, **INPUT_COMMON},
        frozenset({"id"}),
    ),
    "Input.Toggle": Spec(
        {
            "title": _string,
            "value": _string,
            "valueOff": _string,
            "valueOn": _string,
            "wrap": _boolean,
            **INPUT_COMMON,
        },
        frozenset({"id", "title"}),
    ),
    "Media": Spec(
        {
            "sources": _array(
                _object(
                    Spec({"mimeType": _string, "url": _string}, frozenset({"mimeType", "url"})), "MediaSource"
                )
            ),
            "poster": _string,
            "altText": _string,
            **ELEMENT_COMMON,
        },
        frozenset({"sources"}),
    ),
    "RichTextBlock": Spec(
        {"inlines": _array(_inline), "horizontalAlignment": H_ALIGN, **ELEMENT_COMMON}, frozenset({"inlines"})
    ),
    "Table": Spec(
        {
            "columns": _array(
                _object(
                    Spec(
                        {
                            "width": _string_or_number,
                            "horizontalCellContentAlignment": H_ALIGN,
                            "verticalCellContentAlignment": V_ALIGN,
                        }
                    ),
                    "TableColumnDefinition",
                )
            ),
            "rows": _array(_object(TABLE_ROW, "TableRow")),
            "firstRowAsHeader": _boolean,
            "showGridLines": _boolean,
            "gridStyle": CONTAINER_STYLE,
            "horizontalCellContentAlignment": H_ALIGN,
            "verticalCellContentAlignment": V_ALIGN,
            **ELEMENT_COMMON,
        }
    ),
    "TextBlock": Spec(
        {
            "text": _string,
            "color": COLORS,
            "fontType": FONT_TYPE,
            "horizontalAlignment": H_ALIGN,
            "isSubtle": _optional_boolean,
            "maxLines": _number,
            "size": FONT_SIZE,
            "weight": FONT_WEIGHT,
            "wrap": _boolean,
            "style": _enum("default", "heading", nullable=True),
            **ELEMENT_COMMON,
        },
        frozenset({"text"}),
    ),
}
ACTIONS: dict[str, Spec] = {
    "Action.Execute": Spec(
        {"verb": _string, "data": _data, "associatedInputs": _enum("auto", "none"), **ACTION_COMMON}
    ),
    "Action.OpenUrl": Spec({"url": _string, **ACTION_COMMON}, frozenset({"url"})),
    "Action.ShowCard": Spec({"card": _nested_card, **ACTION_COMMON}),
    "Action.Submit": Spec({"data": _data, "associatedInputs": _enum("auto", "none"), **ACTION_COMMON}),
    "Action.ToggleVisibility": Spec(
        {"targetElements": _array(_target), **ACTION_COMMON}, frozenset({"targetElements"})
    ),
}
CARD = Spec(
    {
        "version": _string,
        "refresh": _object(Spec({"action": _refresh_action, "userIds": _array(_string)}), "Refresh"),
        # Not used by our cards (single sign-on); accepted as the schema's object, unchecked inside.
        "authentication": _any_object,
        "body": _array(_element),
        "actions": _array(_action),
        "selectAction": _select_action,
        "fallbackText": _string,
        "backgroundImage": _background_image,
        "minHeight": _string,
        "rtl": _optional_boolean,
        "speak": _string,
        "lang": _string,
        "verticalContentAlignment": V_ALIGN,
        "$schema": _string,
    }
)
# Teams' documented extension of the top-level card (full-width cards); nothing else of msteams is used.
MSTEAMS = Spec({"width": _enum("Full")})


def validate_card(card: Any) -> list[str]:
    """Every problem found in a top-level card; an empty list means it is valid."""
    problems: list[str] = []
    if not isinstance(card, dict):
        return ["the card is not an object"]
    top = dict(card)
    msteams = top.pop("msteams", None)
    if msteams is not None:
        _object(MSTEAMS)(msteams, "$.msteams", problems)
    _object(CARD, "AdaptiveCard")(top, "$", problems)
    if card.get("type") != "AdaptiveCard":
        problems.append("$.type: must be AdaptiveCard")
    if card.get("version") != "1.5":
        problems.append("$.version: must be 1.5")
    if not (isinstance(card.get("fallbackText"), str) and card["fallbackText"].strip()):
        problems.append("$.fallbackText: every card needs one")
    problems += _plain_json(card, "$")
    problems += _input_and_action_rules(card)
    return problems


def _plain_json(value: Any, path: str) -> list[str]:
    # Exact types: a StrEnum or tuple leaking into a card serialises differently per JSON library.
    if type(value) is dict:
        return [p for k, v in value.items() for p in _plain_json(v, f"{path}.{k}")]
    if type(value) is list:
        return [p for i, v in enumerate(value) for p in _plain_json(v, f"{path}[{i}]")]
    if type(value) in (str, int, float, bool) or value is None:
        return []
    return [f"{path}: {type(value).__name__} is not a plain JSON value"]


def input_ids(card: dict[str, Any]) -> list[str]:
    """Ids of every input in a card, shown cards included."""
    return [
        n["id"]
        for n in walk(card)
        if str(n.get("type", "")).startswith("Input.") and isinstance(n.get("id"), str)
    ]


def _input_and_action_rules(card: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    ids = input_ids(card)
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        problems.append(f"input ids used twice: {sorted(duplicates)}")
    for node in walk(card):
        if node.get("type") != "Action.Execute":
            continue
        if not (isinstance(node.get("verb"), str) and node["verb"]):
            problems.append("an Action.Execute has no verb")
        data = node.get("data")
        if not isinstance(data, dict):
            problems.append(f"{node.get('verb')}: data must be an object")
            continue
        clash = set(data) & set(ids)
        if clash:
            problems.append(f"{node['verb']}: data keys {sorted(clash)} collide with input ids")
    return problems


def serialised_size(card: dict[str, Any]) -> int:
    """Bytes of the card as sent (UTF-8 JSON)."""
    return len(json.dumps(card, ensure_ascii=False).encode("utf-8"))


# ---- the validator's own tests: it must reject what Teams would not render ----

GOOD = {
    "type": "AdaptiveCard",
    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
    "version": "1.5",
    "fallbackText": "Hello",
    "body": [
        {"type": "TextBlock", "text": "Hi", "wrap": True, "color": "Good", "style": "heading"},
        {"type": "Input.Text", "id": "x_note", "label": "Note", "isMultiline": True, "maxLength": 10},
        {
            "type": "Table",
            "columns": [{"width": 1}],
            "rows": [
                {
                    "type": "TableRow",
                    "cells": [{"type": "TableCell", "items": [{"type": "TextBlock", "text": "a"}]}],
                }
            ],
        },
    ],
    "actions": [
        {"type": "Action.Execute", "title": "Go", "verb": "x.go", "data": {"k": 1}},
        {
            "type": "Action.ShowCard",
            "title": "More",
            "card": {
                "type": "AdaptiveCard",
                "body": [{"type": "Input.Toggle", "id": "x_t", "title": "T"}],
                "actions": [],
            },
        },
    ],
    "msteams": {"width": "Full"},
}


def test_a_valid_card_passes() -> None:
    assert validate_card(GOOD) == []


def _with(path: list[Any], value: Any) -> dict[str, Any]:
    card: dict[str, Any] = json.loads(json.dumps(GOOD))
    node: Any = card
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return card


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        (["version"], "1.6", "must be 1.5"),
        (["fallbackText"], " ", "needs one"),
        (["body", 0, "color"], "#ff0000", "is not one of"),
        (["body", 0, "colour"], "good", "'colour' is not a 1.5 property"),
        (["body", 0, "style"], "columnHeader", "is not one of"),
        (
            ["body", 1],
            {"type": "Input.Rating", "id": "r"},
            "'Input.Rating' is not an Adaptive Cards 1.5 element",
        ),
        (["body", 1, "id"], "x_t", "input ids used twice"),
        (["body", 1, "maxLength"], "10", "expected a number"),
        (["actions", 0, "verb"], "", "has no verb"),
        (["actions", 0, "data"], {"x_note": "clash"}, "collide with input ids"),
        (["actions", 0, "menuActions"], [], "'menuActions' is not a 1.5 property"),
        (["actions", 1, "card", "body", 0, "title"], 3, "expected a string"),
        (["body", 0, "text"], ("tuple",), "is not a plain JSON value"),
        (["msteams", "width"], "wide", "is not one of"),
        (["body", 2, "rows", 0, "cells", 0, "items", 0, "size"], "huge", "is not one of"),
    ],
)
def test_the_validator_rejects(path: list[Any], value: Any, fragment: str) -> None:
    problems = validate_card(_with(path, value))
    assert any(fragment in p for p in problems), problems


def test_show_card_is_not_a_select_action() -> None:
    card = _with(["selectAction"], {"type": "Action.ShowCard", "card": {"type": "AdaptiveCard", "body": []}})
    assert any("cannot be a selectAction" in p for p in validate_card(card))


def test_missing_required_properties_are_reported() -> None:
    card = _with(["body", 0], {"type": "TextBlock"})
    assert any("missing required 'text'" in p for p in validate_card(card))
    card = _with(["body", 1], {"type": "Input.Text", "label": "no id"})
    assert any("missing required 'id'" in p for p in validate_card(card))
