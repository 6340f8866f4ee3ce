"""The Teams activity handler: recognise the sender, route text and card verbs, answer with cards.

Nothing here decides programme rules; it translates activities into use-case calls. Use cases do
durable writes, so they run in a worker thread to keep the event loop answering. Logs carry event
kinds and error classes only: never message text, card values or tokens.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from botbuilder.core import ActivityHandler, CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity, AdaptiveCardInvokeResponse, ChannelAccount

from cards.actions import parse_action
from cards.views import WelcomeView
from cards.welcome import build_error_card, build_not_on_roster_card, build_refused_card, build_welcome_card
from programme.errors import NotAllowedError, ProgrammeError
from programme.model import Person
from programme.policies import Actor, refusal, require, roles_of
from service.identity import ConversationReference, TeamsUser
from service.services import Services
from teams_bot.routes import CARD_VERBS, Card, Reply, Turn, find_card_verb, find_text_command, help_card

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
MEETING_END = "application/vnd.microsoft.meetingEnd"
log = logging.getLogger(__name__)
_T = TypeVar("_T")
USE_CASE_THREADS = 8  # the store serialises writers anyway; more threads only queue on its lock


def _card_activity(card: Card) -> Activity:
    return MessageFactory.attachment(CardFactory.adaptive_card(card))


def _tenant_id(activity: Activity) -> str | None:
    # botbuilder 4.17 maps conversation.tenantId to "tenantID" and drops it: channelData has it.
    channel_data = activity.channel_data or {}
    tenant = channel_data.get("tenant") if isinstance(channel_data, dict) else None
    return tenant.get("id") if isinstance(tenant, dict) else None


def _is_private(activity: Activity) -> bool:
    """Whether the activity comes from a 1:1 chat with the bot (not a group chat, channel or meeting)."""
    conversation = activity.conversation
    if conversation is None:
        return False
    return not conversation.is_group and conversation.conversation_type in (None, "", "personal")


# Answers, cards and roles are personal (an RSVP shows its absence reason, a coordinator's list shows
# escalations): outside a 1:1 chat the bot shows nothing of anyone's and points to the 1:1 chat.
PRIVATE_ONLY = (
    "I only work in our 1:1 chat, so that what you tell me stays between us and the people it is "
    "meant for. Open a 1:1 chat with me and say hello there."
)


# The only text commands answered outside a 1:1 chat: they are about the conversation itself
# (linking a session's meeting chat) and their replies show nothing personal.
GROUP_CHAT_COMMANDS = frozenset({"link"})
_AT_TAG = re.compile(r"<at>[^<]*</at>")


def _problem_card(error: ProgrammeError) -> Card:
    if isinstance(error, NotAllowedError):
        return build_refused_card(str(error))
    return build_error_card(str(error))


class ReflectionBot(ActivityHandler):
    """Routes Teams activities to the programme's use cases."""

    def __init__(self, services: Services, executor: Executor | None = None) -> None:
        self._services = services
        # Use cases wait on the store (its lock, fsync): they get threads of their own, so they
        # never starve the default executor, where botbuilder's HTTP client sends the replies.
        self._executor = executor or ThreadPoolExecutor(
            max_workers=USE_CASE_THREADS, thread_name_prefix="use-case"
        )

    async def _call(self, function: Callable[..., _T], *args: Any) -> _T:
        """Run a use case (blocking: store I/O) off the event loop, on the use-case threads."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(function, *args)
        )

    def close(self) -> None:
        """Let the use-case threads finish and end."""
        self._executor.shutdown(wait=True)

    # -- who is this -----------------------------------------------------------------------
    async def _recognise(self, context: TurnContext) -> Actor | None:
        """The roster person behind the activity (service/identity.py has the rules), or None."""
        activity = context.activity
        sender: ChannelAccount = activity.from_property
        user = TeamsUser(sender.id, sender.aad_object_id, sender.name or "", _tenant_id(activity))
        directory = self._services.directory
        # In-memory lookups; a thread only because a changed collection is re-read under the lock.
        found = await self._call(directory.recognise, user)
        if found.person is None and found.look_up:
            email = await self._member_email(context)
            if email:
                found = await self._call(directory.recognise, replace(user, email=email))
        person = found.person
        if person is None:
            return None
        reference = None
        if activity.conversation is not None and activity.conversation.conversation_type == "personal":
            reference = ConversationReference(
                tenant_id=user.tenant_id,
                service_url=activity.service_url,
                conversation_id=activity.conversation.id,
                bot_id=activity.recipient.id,
                user_id=sender.id,
            )
        return await self._call(self._link_and_act, user, person, reference)

    def _link_and_act(
        self, user: TeamsUser, person: Person, reference: ConversationReference | None
    ) -> Actor:
        self._services.directory.link(user, person, reference)
        return self._services.programme.actor(person)

    async def _member_email(self, context: TurnContext) -> str | None:
        """Email or UPN of the sender from the Teams roster of the conversation."""
        try:
            member = await TeamsInfo.get_member(context, context.activity.from_property.id)
        except Exception as error:  # noqa: BLE001 - any lookup failure just means "not recognised"
            log.info("member lookup failed: %s", type(error).__name__)
            return None
        return member.email or member.user_principal_name

    # -- activities -------------------------------------------------------------------------
    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        # Teams also sends conversationUpdate on install; greeting here alone avoids a double welcome.
        await self._greet(turn_context)

    async def _greet(self, context: TurnContext) -> None:
        if not _is_private(context.activity):
            await context.send_activity(MessageFactory.text(PRIVATE_ONLY))
            return
        actor = await self._recognise(context)
        if actor is None:
            await context.send_activity(_card_activity(build_not_on_roster_card()))
            return
        view = WelcomeView(actor.person.name, roles_of(actor))
        await context.send_activity(_card_activity(build_welcome_card(view)))

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        private = _is_private(turn_context.activity)
        # Mentions of the bot may survive remove_recipient_mention (the entity's id can differ in
        # form from recipient.id), so any leftover <at> markup is dropped before routing.
        text = _AT_TAG.sub("", TurnContext.remove_recipient_mention(turn_context.activity) or "").strip()
        command, argument = find_text_command(text)
        if not private and (command is None or command.words[0] not in GROUP_CHAT_COMMANDS):
            await turn_context.send_activity(MessageFactory.text(PRIVATE_ONLY))
            return
        actor = await self._recognise(turn_context)
        if actor is None:
            await turn_context.send_activity(_card_activity(build_not_on_roster_card()))
            return
        if command is None or not command.allowed(actor):
            # Outside a 1:1 chat neither help nor a refusal: both would show the person's roles there.
            if not private:
                await turn_context.send_activity(MessageFactory.text(PRIVATE_ONLY))
                return
            # Unknown text gets this person's help, not silence; another role's command says why not.
            reply_card = (
                help_card(actor) if command is None else build_refused_card(refusal(command.permission))
            )
            await turn_context.send_activity(_card_activity(reply_card))
            return
        try:
            turn = Turn(argument, turn_context.activity.conversation.id)
            reply: Reply = await self._call(command.run, self._services, actor, turn)
        except ProgrammeError as error:
            reply = [_problem_card(error)]
        if isinstance(reply, str):
            await turn_context.send_activity(MessageFactory.text(reply))
            return
        for card in reply:
            await turn_context.send_activity(_card_activity(card))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name != "adaptiveCard/action":
            # Card actions are the only invokes this app declares; botbuilder would answer 501.
            log.info("invoke refused: unsupported name")
            return InvokeResponse(status=400)
        try:
            card = await self._card_action(turn_context)
        except Exception as error:  # noqa: BLE001 - a card answers every press; the class says what broke
            log.error("card action failed: %s", type(error).__name__)  # noqa: TRY400 - no traceback: it may quote data
            card = build_error_card("Something went wrong on my side. Please try again in a minute.")
        # CloudAdapter serialises the body itself, so it must be the msrest model, not a dict.
        body = AdaptiveCardInvokeResponse(status_code=200, type=ADAPTIVE_CARD, value=card)
        return InvokeResponse(status=200, body=body)

    async def _card_action(self, context: TurnContext) -> Card:
        value: Any = context.activity.value
        action = value.get("action") if isinstance(value, dict) else None
        if not isinstance(action, dict):
            return build_error_card("The card sent nothing I could read.")
        if not _is_private(context.activity):
            return build_refused_card(PRIVATE_ONLY)
        actor = await self._recognise(context)
        if actor is None:
            return build_not_on_roster_card()
        raw_verb = action.get("verb")
        verb = raw_verb if isinstance(raw_verb, str) else ""
        try:
            entry = find_card_verb(verb)
            # Who may press it is decided before its data is even read.
            require(entry.permission, actor)
            command = parse_action(verb, action.get("data") or {})
            return await self._call(entry.run, self._services, actor, command)
        except ProgrammeError as error:
            log.info(
                "card action %s refused: %s", verb if verb in CARD_VERBS else "unknown", type(error).__name__
            )
            return _problem_card(error)

    async def on_event_activity(self, turn_context: TurnContext) -> None:
        if turn_context.activity.name == MEETING_END:
            await self._meeting_ended(turn_context)

    async def _meeting_ended(self, context: TurnContext) -> None:
        """At a meeting's end each attendee's check-out goes to their own chat; the meeting chat says so."""
        conversation_id = context.activity.conversation.id
        count = await self._call(self._services.month.checkouts_for_meeting_chat, conversation_id)
        if count is None:
            return
        await context.send_activity(
            MessageFactory.text(
                "Thank you all. If you're on the register (or, before it is taken, RSVP'd attending), "
                "your check-out has arrived in your chat with me: two minutes, and only the people "
                "circle sees any flags."
            )
        )
