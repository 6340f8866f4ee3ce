"""A tiny botbuilder 4.17 CloudAdapter bot for exercising the Agents Playground end to end.

Test-only: it lives under tests/ so the rule "only teams_bot/ imports botbuilder" still holds for
the product code. It runs on 127.0.0.1 with no app id (no inbound auth) inside the test's event loop.

Commands (message text, case-insensitive, leading @mention stripped):
  card            -> an Adaptive Card 1.5 with an Action.Execute button (verb "ping")
  whoami          -> "from id=.. aad=.. name=.. conv=.. type=.."
  member          -> TeamsInfo.get_member(from.id) via the mock connector, as JSON
  members         -> TeamsInfo.get_members() via the mock connector, as JSON
  proactive <uid> -> create_conversation with user <uid>, then send "hello <uid>" there
  continue <uid>  -> continue_conversation with the stored reference of <uid>, send "again <uid>"
  update          -> send a card, then update_activity it to a "updated" card
  anything else   -> "echo: <text>"
Every activity the bot receives is appended to ``EchoBot.received`` (as dicts).
"""

from __future__ import annotations

import json
import socket
from typing import Any

from aiohttp import web
from botbuilder.core import (
    ActivityHandler,
    CardFactory,
    InvokeResponse,
    MessageFactory,
    TurnContext,
)
from botbuilder.core.teams import TeamsInfo
from botbuilder.integration.aiohttp import (
    CloudAdapter,
    ConfigurationBotFrameworkAuthentication,
)
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    ChannelAccount,
    ConversationParameters,
    ConversationReference,
)

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def make_card(title: str, counter: int = 0) -> dict[str, Any]:
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.5",
        "body": [
            {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
            {"type": "TextBlock", "text": f"pings: {counter}", "wrap": True},
        ],
        "actions": [
            {
                "type": "Action.Execute",
                "title": "Ping",
                "verb": "ping",
                "data": {"counter": counter},
            }
        ],
    }


class _Config:
    """ConfigurationBotFrameworkAuthentication reads these attributes; empty APP_ID = no auth."""

    APP_ID = ""
    APP_PASSWORD = ""
    APP_TYPE = "MultiTenant"
    APP_TENANTID = ""


class EchoBot(ActivityHandler):
    def __init__(self, adapter: CloudAdapter) -> None:
        self.adapter = adapter
        self.received: list[dict[str, Any]] = []
        self.references: dict[str, ConversationReference] = {}  # user id -> reference
        self.member_lookups: list[Any] = []

    async def on_turn(self, turn_context: TurnContext) -> None:
        self.received.append(turn_context.activity.serialize())
        act = turn_context.activity
        if act.from_property and act.from_property.id and act.type != ActivityTypes.invoke:
            conv = act.conversation
            if conv is not None and conv.conversation_type == "personal":
                self.references[act.from_property.id] = TurnContext.get_conversation_reference(act)
        await super().on_turn(turn_context)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        act = turn_context.activity
        text = TurnContext.remove_recipient_mention(act) if act.entities else (act.text or "")
        text = (text or "").strip()
        cmd, _, arg = text.partition(" ")
        cmd = cmd.lower()
        if cmd == "card":
            await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(make_card("Hello card")))
            )
        elif cmd == "whoami":
            f = act.from_property
            await turn_context.send_activity(
                f"from id={f.id} aad={f.aad_object_id} name={f.name} "
                f"conv={act.conversation.id} type={act.conversation.conversation_type}"
            )
        elif cmd == "member":
            member = await TeamsInfo.get_member(turn_context, act.from_property.id)
            data = member.serialize()
            self.member_lookups.append(data)
            await turn_context.send_activity("member " + json.dumps(data, sort_keys=True))
        elif cmd == "members":
            members = await TeamsInfo.get_members(turn_context)
            await turn_context.send_activity(
                "members " + json.dumps([m.serialize() for m in members], sort_keys=True)
            )
        elif cmd == "proactive":
            await self._proactive_create(turn_context, arg.strip())
        elif cmd == "continue":
            await self._proactive_continue(turn_context, arg.strip())
        elif cmd == "update":
            sent = await turn_context.send_activity(
                MessageFactory.attachment(CardFactory.adaptive_card(make_card("before update")))
            )
            new = MessageFactory.attachment(CardFactory.adaptive_card(make_card("after update", 99)))
            new.id = sent.id
            await turn_context.update_activity(new)
        else:
            await turn_context.send_activity(f"echo: {text}")

    async def _proactive_create(self, turn_context: TurnContext, user_id: str) -> None:
        act = turn_context.activity
        # botbuilder 4.17 maps ConversationAccount.tenant_id to the JSON key "tenantID", so the
        # "tenantId" Teams sends is dropped on deserialisation: take the tenant from channelData.
        tenant_id = ((act.channel_data or {}).get("tenant") or {}).get("id")
        params = ConversationParameters(
            is_group=False,
            bot=act.recipient,
            members=[ChannelAccount(id=user_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
        )
        created: dict[str, Any] = {}

        async def _cb(ctx: TurnContext) -> None:
            created["conversation_id"] = ctx.activity.conversation.id
            ref = TurnContext.get_conversation_reference(ctx.activity)
            self.references[user_id] = ref
            await ctx.send_activity(f"hello {user_id}")

        await self.adapter.create_conversation(
            act.recipient.id,
            _cb,
            params,
            act.channel_id,
            act.service_url,
        )
        await turn_context.send_activity(f"created {created.get('conversation_id')}")

    async def _proactive_continue(self, turn_context: TurnContext, user_id: str) -> None:
        ref = self.references.get(user_id)
        if ref is None:
            await turn_context.send_activity(f"no reference for {user_id}")
            return

        async def _cb(ctx: TurnContext) -> None:
            await ctx.send_activity(f"again {user_id}")

        await self.adapter.continue_conversation(ref, _cb, bot_app_id=turn_context.activity.recipient.id)
        await turn_context.send_activity(f"continued {ref.conversation.id}")

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        act = turn_context.activity
        if act.name == "adaptiveCard/action":
            value = act.value or {}
            action = value.get("action", {}) if isinstance(value, dict) else {}
            verb = action.get("verb")
            data = action.get("data") or {}
            counter = int(data.get("counter", 0)) + 1 if isinstance(data, dict) else 1
            who = act.from_property.name or act.from_property.id
            card = make_card(f"{verb} by {who}", counter)
            # CloudAdapter.process() runs serializer_helper(invoke_response.body), which needs an msrest
            # Model: a plain dict body (and anything returned from on_adaptive_card_invoke, which the
            # ActivityHandler already serialised to a dict) fails with "'dict' object has no attribute
            # 'is_xml_model'" and the channel gets HTTP 500. So: a Model, serialised exactly once.
            return InvokeResponse(
                status=200,
                body=AdaptiveCardInvokeResponse(status_code=200, type=CARD_CONTENT_TYPE, value=card),
            )
        return await super().on_invoke_activity(turn_context)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EchoBotServer:
    """Runs EchoBot on http://127.0.0.1:<port>/api/messages inside the current event loop."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_Config()))
        self.errors: list[str] = []

        async def on_error(context: TurnContext, error: Exception) -> None:
            self.errors.append(f"{type(error).__name__}: {error}")

        self.adapter.on_turn_error = on_error
        self.bot = EchoBot(self.adapter)
        self._runner: web.AppRunner | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        return await self.adapter.process(request, self.bot)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/messages", self._messages)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def received_of(self, type_: str, name: str | None = None) -> list[dict[str, Any]]:
        return [
            a for a in self.bot.received if a.get("type") == type_ and (name is None or a.get("name") == name)
        ]


# Keep Activity importable for callers building custom activities.
__all__ = ["Activity", "EchoBot", "EchoBotServer", "free_port", "make_card"]
