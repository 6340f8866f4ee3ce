"""Our bot (teams_bot.bot.ReflectionBot over a real store) driven in-process, without HTTP.

Activities are built as Teams sends them (JSON, deserialised by botbuilder) and run through
botbuilder's TestAdapter pipeline, so everything from `on_turn` down is the real code: recognising
the sender, routing, permissions, use cases, the reply cards. Replies are captured, not sent.
A fast stand-in for the Playground when a test needs hundreds of turns.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity

from repositories.links import AAD_LINKS, CONVERSATIONS, TEAMS_USERS, UNREACHABLE
from service.services import Services
from store import Store
from surfaces.teams import TeamsSurface
from teams_bot.bot import ReflectionBot
from tests.store_snapshot import records

TENANT = "00000000-0000-4000-8000-0000000000aa"
CARD = "application/vnd.microsoft.card.adaptive"
# Who-is-who bookkeeping a recognised sender updates on any turn; not an effect of the action.
IDENTITY_TABLES = frozenset({CONVERSATIONS, TEAMS_USERS, UNREACHABLE, AAD_LINKS})


@dataclass(frozen=True)
class TeamsSender:
    """A Teams user as the channel names them."""

    user_id: str
    aad_object_id: str
    name: str

    @property
    def chat_id(self) -> str:
        return f"a:chat-{self.user_id}"


class BotDriver:
    """Sends messages and card actions to a ReflectionBot and returns what it answered."""

    def __init__(self, services: Services, service_url: str = "http://127.0.0.1:9/") -> None:
        self.bot = ReflectionBot(TeamsSurface(services))
        self.adapter = TestAdapter()
        # Where the bot will reach people it remembers from these turns (a fake Bot Connector's URL).
        self.service_url = service_url

    def _activity(self, sender: TeamsSender, **fields: Any) -> dict[str, Any]:
        return {
            "channelId": "msteams",
            "serviceUrl": self.service_url,
            "from": {"id": sender.user_id, "aadObjectId": sender.aad_object_id, "name": sender.name},
            "recipient": {"id": "28:reflect-bot", "name": "Reflect"},
            "conversation": {"id": sender.chat_id, "conversationType": "personal", "tenantId": TENANT},
            "channelData": {"tenant": {"id": TENANT}},
            **fields,
        }

    async def _turn(self, raw: dict[str, Any]) -> list[Activity]:
        activity = Activity().deserialize(json.loads(json.dumps(raw)))
        self.adapter.activity_buffer.clear()
        await self.adapter.run_pipeline(self.adapter.create_turn_context(activity), self.bot.on_turn)
        replies = list(self.adapter.activity_buffer)
        self.adapter.activity_buffer.clear()
        return replies

    def say(self, sender: TeamsSender, text: str) -> list[dict[str, Any] | str]:
        """The bot's replies to a 1:1 message: each an Adaptive Card, or plain text."""
        raw = self._activity(sender, type="message", id="m-1", text=text)
        out: list[dict[str, Any] | str] = []
        for reply in asyncio.run(self._turn(raw)):
            cards = [a.content for a in reply.attachments or [] if a.content_type == CARD]
            out.extend(cards if cards else [reply.text or ""])
        return out

    def press(self, sender: TeamsSender, verb: str, data: Any) -> dict[str, Any]:
        """The card the bot answers an Action.Execute (adaptiveCard/action invoke) with."""
        value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
        raw = self._activity(sender, type="invoke", name="adaptiveCard/action", id="i-1", value=value)
        replies = asyncio.run(self._turn(raw))
        responses = [r for r in replies if r.type == "invokeResponse"]
        assert len(responses) == 1, replies
        response = responses[0].value
        assert response.status == 200, response.status
        card: dict[str, Any] = response.body.value
        return card


def snapshot(store: Store) -> str:
    """Everything stored except identity bookkeeping, as one comparable string."""
    state = records(store, skip=IDENTITY_TABLES)
    return json.dumps({"/".join(key): doc for key, doc in state.items()}, sort_keys=True, default=str)
