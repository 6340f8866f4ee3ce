"""An inbound request body, checked before botbuilder sees it: size, nesting, JSON, activity shape.

botbuilder's `Activity().deserialize` raises on wrongly typed fields (`"from": "pat"`), Python's
json recurses (deep nesting is a RecursionError), and both errors quote the payload. So the raw
bytes are bounded first (size, then a bracket-depth scan that does not recurse), parsed by orjson,
and the result checked against the Bot Framework activity schema written out below, plus the
fields a turn of this bot relies on. Anything wrong is a `BadActivityError` (HTTP 400) whose
message names the problem, never the content.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

MAX_BODY_BYTES = 256 * 1024  # a Teams message is at most ~100 KB; card submissions are far smaller
MAX_DEPTH = 64  # Teams activities nest < 15 deep; msrest recurses a few frames per level
MAX_TYPE_LENGTH = 64

# A JSON string (escapes included), or its unterminated rest: possessive and unrolled, so a scan is
# linear whatever the bytes (an unterminated string swallows the rest rather than being retried).
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"?', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class BadActivityError(ValueError):
    """The body is not an activity this bot accepts; the message is safe to log and to answer."""


class BodyTooLargeError(BadActivityError):
    """The body is over MAX_BODY_BYTES (HTTP 413)."""


def parse_body(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body, refused when too large, too deep or not JSON."""
    if len(raw) > MAX_BODY_BYTES:
        raise BodyTooLargeError("body too large")
    if nesting_depth(raw) > MAX_DEPTH:
        raise BadActivityError("body nested too deeply")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadActivityError("body is not JSON") from None
    if not isinstance(body, dict):
        raise BadActivityError("body is not a JSON object")
    return body


def nesting_depth(raw: bytes) -> int:
    """The deepest bracket nesting outside JSON strings (an unbalanced close counts as too deep)."""
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
            if depth < 0:
                return MAX_DEPTH + 1
    return deepest


# The Bot Framework activity schema (botbuilder-schema 4.17's models, by their JSON names): a type
# name is one of _SCALARS, a model in _MODELS, "[T]" a list of T or "{T}" an object of T.
_SCALARS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "bool": (bool,),
    "int": (int,),
    "object": (object,),
    "iso-8601": (str,),  # botbuilder parses it; a bad one is caught there and answered 400
}
_CHANNEL_ACCOUNT = {"id": "str", "name": "str", "aadObjectId": "str", "role": "str", "properties": "object"}
_MODELS: dict[str, dict[str, str]] = {
    "Activity": {
        "type": "str",
        "id": "str",
        "timestamp": "iso-8601",
        "localTimestamp": "iso-8601",
        "localTimezone": "str",
        "serviceUrl": "str",
        "channelId": "str",
        "from": "ChannelAccount",
        "conversation": "ConversationAccount",
        "recipient": "ChannelAccount",
        "textFormat": "str",
        "attachmentLayout": "str",
        "membersAdded": "[ChannelAccount]",
        "membersRemoved": "[ChannelAccount]",
        "reactionsAdded": "[MessageReaction]",
        "reactionsRemoved": "[MessageReaction]",
        "topicName": "str",
        "historyDisclosed": "bool",
        "locale": "str",
        "text": "str",
        "speak": "str",
        "inputHint": "str",
        "summary": "str",
        "suggestedActions": "SuggestedActions",
        "attachments": "[Attachment]",
        "entities": "[Entity]",
        "channelData": "object",
        "action": "str",
        "replyToId": "str",
        "label": "str",
        "valueType": "str",
        "value": "object",
        "name": "str",
        "relatesTo": "ConversationReference",
        "code": "str",
        "expiration": "iso-8601",
        "importance": "str",
        "deliveryMode": "str",
        "listenFor": "[str]",
        "textHighlights": "[TextHighlight]",
        "semanticAction": "SemanticAction",
        "callerId": "str",
    },
    "ChannelAccount": _CHANNEL_ACCOUNT,
    "ConversationAccount": {
        **_CHANNEL_ACCOUNT,
        "isGroup": "bool",
        "conversationType": "str",
        "tenantID": "str",
    },
    "MessageReaction": {"type": "str"},
    "SuggestedActions": {"to": "[str]", "actions": "[CardAction]"},
    "CardAction": {
        "type": "str",
        "title": "str",
        "image": "str",
        "text": "str",
        "displayText": "str",
        "value": "object",
        "channelData": "object",
        "imageAltText": "str",
    },
    "Attachment": {
        "contentType": "str",
        "contentUrl": "str",
        "content": "object",
        "name": "str",
        "thumbnailUrl": "str",
    },
    "Entity": {"type": "str"},
    "ConversationReference": {
        "activityId": "str",
        "user": "ChannelAccount",
        "bot": "ChannelAccount",
        "conversation": "ConversationAccount",
        "channelId": "str",
        "locale": "str",
        "serviceUrl": "str",
    },
    "TextHighlight": {"text": "str", "occurrence": "int"},
    "SemanticAction": {"id": "str", "entities": "{Entity}", "state": "str"},
}

# What every turn of this bot reads without checking: Teams always sends these.
_REQUIRED_TEXT = ("type", "serviceUrl", "channelId")
_REQUIRED_ACCOUNTS = ("from", "recipient", "conversation")
_SERVICE_URL = re.compile(r"https?://[^\s/?#]+(/[^\s]*)?")


def check_activity(body: dict[str, Any]) -> None:
    """Refuse (BadActivityError) a body that is not a well-formed activity for this bot."""
    for name in _REQUIRED_TEXT:
        if not isinstance(body.get(name), str) or not body[name]:
            raise BadActivityError(f"activity has no {name}")
    if len(body["type"]) > MAX_TYPE_LENGTH:
        raise BadActivityError("activity type is too long")
    if not _SERVICE_URL.fullmatch(body["serviceUrl"]):
        raise BadActivityError("activity serviceUrl is not an http(s) URL")
    for name in _REQUIRED_ACCOUNTS:
        account = body.get(name)
        if not isinstance(account, dict) or not isinstance(account.get("id"), str) or not account["id"]:
            raise BadActivityError(f"activity has no {name}.id")
    if body["type"] == "invoke" and not isinstance(body.get("name"), str):
        raise BadActivityError("invoke activity has no name")
    _check(body, "Activity", "activity")
    for entity in body.get("entities") or ():
        # botbuilder reads every entity's type, and a mention's text and mentioned.id, unchecked.
        if not isinstance(entity.get("type"), str):
            raise BadActivityError("activity.entities[] has no type")
        if entity["type"].lower() == "mention":
            mentioned = entity.get("mentioned")
            if not isinstance(entity.get("text"), str) or not (
                isinstance(mentioned, dict) and isinstance(mentioned.get("id"), str)
            ):
                raise BadActivityError("activity.entities[] is a mention without text or mentioned.id")


def _check(value: Any, kind: str, where: str) -> None:
    if value is None:
        return  # botbuilder treats null as absent
    if kind.startswith("["):
        if not isinstance(value, list):
            raise BadActivityError(f"{where} is not a list")
        for item in value:
            _check(item, kind[1:-1], f"{where}[]")
        return
    if kind.startswith("{"):
        if not isinstance(value, dict):
            raise BadActivityError(f"{where} is not an object")
        for item in value.values():
            _check(item, kind[1:-1], f"{where}{{}}")
        return
    model = _MODELS.get(kind)
    if model is None:
        if not isinstance(value, _SCALARS[kind]) or (kind == "int" and isinstance(value, bool)):
            raise BadActivityError(f"{where} is not of type {kind}")
        return
    if not isinstance(value, dict):
        raise BadActivityError(f"{where} is not an object")
    for key, field_kind in model.items():
        if key in value:
            _check(value[key], field_kind, f"{where}.{key}")
