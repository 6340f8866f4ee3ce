"""Fixtures for the end-to-end tests: OUR bot (`app.build_web_app`) driven through the
Microsoft 365 Agents Playground (tests/e2e/playground.py), everything on 127.0.0.1.

A test asks for ``run_world`` and hands it an async scenario::

    def test_something(run_world):
        async def scenario(w: World) -> None:
            await w.install(PAT)
            card = card_of(await w.say(PAT, "rsvp"))
            ...
        run_world(scenario)

Each scenario gets a fresh world: a temporary store seeded with a roster (the Playground's six
users plus four roster-only people) and two groups, the real web app (CloudAdapter, bot, outbox
drainer polling every 0.05 s) on a free loopback port, a movable clock, and a Playground whose
tenant is those six users. Nothing here is timed: waits end on what arrives (log-stream frames,
outbox records), each under a generous deadline that only turns a hang into a failure.

Who is who (emails ``<key>@contoso.test``):

=========  =======================  ==================================================
CORA       Playground currentUser   coordinator (no group)
FIONA      Playground user          facilitator of "Health Coaches" (thu-1)
PAT        Playground user          member of thu-1
QUINN      Playground user          member of thu-1; NOT given an aad_object_id in the
                                    roster, so the bot must recognise her by email
RIA        Playground user          member of thu-1
OSCAR      Playground user          member of "Practitioners" (thu-2), outside thu-1
REX        roster only              facilitator of thu-2
NINA, OMAR roster only              members of thu-2
CLEO       roster only              coordinator (never installs the app: unreachable)
=========  =======================  ==================================================

A world may also seat external facilitators (Teams guests, on the facilitators list instead of the
roster) in place of Playground users: ``guests={GUEST: RIA}``, and give them groups with
``facilitator_of={G2: GUEST.email}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from programme.model import Group
from tests.card_reading import heading
from tests.e2e.playground import CARD_CONTENT_TYPE, BotActivity, Playground, User, playground_available

MONTH = "2026-11"
# Monday 2 November 2026: RSVPs for the session of Thursday 12 November (10:00 GMT) are open.
BEFORE_SESSION = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
# Thursday 12 November 2026, 10:45 GMT: the session has started (register and check-out open).
DURING_SESSION = datetime(2026, 11, 12, 10, 45, tzinfo=UTC)

CORA = User.make("cora", "Cora Coordinator", 1)
FIONA = User.make("fiona", "Fiona Facilitator", 2)
PAT = User.make("pat", "Pat Participant", 3)
QUINN = User.make("quinn", "Quinn Participant", 4)
RIA = User.make("ria", "Ria Participant", 5)
OSCAR = User.make("oscar", "Oscar Outsider", 6)
PLAYGROUND_USERS = (CORA, FIONA, PAT, QUINN, RIA, OSCAR)
MEMBERS = (PAT, QUINN, RIA)  # of thu-1

REX = "rex@contoso.test"
NINA = "nina@contoso.test"
OMAR = "omar@contoso.test"
CLEO = "cleo@contoso.test"
ROSTER_ONLY = (REX, NINA, OMAR, CLEO)

G1 = "thu-1"
G1_NAME = "Health Coaches"
G2 = "thu-2"
G2_NAME = "Practitioners"

_HEADER = (
    "email,name,role,working_days,hours_per_week,facilitator,coordinator,aad_object_id,timezone,probation_end"
)
PROBATION_END = "2027-06-01"  # after every moment the tests visit


def roster_csv(omit: Iterable[User] = (), probation: Iterable[User] = ()) -> bytes:
    """The roster as an HR export (UTF-8 with BOM, mixed-case emails, as exports come)."""
    omitted = {u.email for u in omit}
    in_probation = {u.email for u in probation}
    rows = [
        (CORA, "Quality Manager", "no", "yes", True),
        (FIONA, "Health Coach", "yes", "no", True),
        (PAT, "Health Coach", "no", "no", True),
        (QUINN, "Health Coach", "no", "no", False),  # recognised by email/UPN only
        (RIA, "Health Coach", "no", "no", True),
        (OSCAR, "Practitioner", "no", "no", True),
    ]
    lines = [_HEADER]
    for user, role, facilitator, coordinator, with_aad in rows:
        if user.email in omitted:
            continue
        aad = user.aad_object_id if with_aad else ""
        lines.append(
            f"{user.email.title()},{user.name},{role},Mon Tue Wed Thu Fri,37.5,"
            f"{facilitator},{coordinator},{aad},Europe/London,"
            + (PROBATION_END if user.email in in_probation else "")
        )
    lines += [
        f"{REX},Rex Leader,Practitioner,Mon Tue Wed Thu Fri,37.5,yes,no,,Europe/London,",
        f"{NINA},Nina Member,Practitioner,Mon Tue Wed Thu Fri,30,no,no,,Europe/London,",
        f"{OMAR},Omar Member,Practitioner,Mon Tue Wed Thu Fri,30,no,no,,Europe/London,",
        f"{CLEO},Cleo Coordinator,Quality Manager,Mon Tue Wed Thu Fri,37.5,no,yes,,Europe/London,",
    ]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def groups(omit: Iterable[User] = ()) -> tuple[Group, ...]:
    """The two Thursday groups (without the omitted people)."""
    omitted = {u.email for u in omit}

    def members(*emails: str) -> tuple[str, ...]:
        return tuple(m for m in emails if m not in omitted)

    return (
        Group(G1, G1_NAME, 3, "Health Coach", FIONA.email, members(*(u.email for u in MEMBERS))),
        Group(G2, G2_NAME, 3, "Practitioner", REX, members(OSCAR.email, NINA, OMAR)),
    )


class MovableClock:
    """The services' clock: set to a moment, then running in real time from it.

    Running (not frozen) so that a delivery retried after a transient failure becomes due as it
    would in production, instead of waiting for a hand that never moves the clock."""

    def __init__(self, now: datetime) -> None:
        self.set(now)

    def __call__(self) -> datetime:
        return self.now + timedelta(seconds=time.monotonic() - self._set_at)

    def set(self, now: datetime) -> None:
        self.now = now
        self._set_at = time.monotonic()


# ---------------------------------------------------------------------------------------- cards
def card_of(activity: BotActivity | dict[str, Any] | None) -> dict[str, Any] | None:
    """The Adaptive Card of a bot message (log-stream activity or UI frame message), or None."""
    if activity is None:
        return None
    attachments = activity.attachments if isinstance(activity, BotActivity) else activity.get("attachments")
    for att in attachments or []:
        if att.get("contentType") == CARD_CONTENT_TYPE:
            return att.get("content")  # type: ignore[no-any-return]
    return None


# ---------------------------------------------------------------------------------------- world
class World:
    """One seeded store + our web app + a Playground whose six users are on the roster."""

    def __init__(
        self,
        root: Path,
        *,
        current_user: User = CORA,
        omit: Iterable[User] = (),
        probation: Iterable[User] = (),
        bot_settings: Any = None,
        auth_metadata: dict[str, str] | None = None,
        token_url: str | None = None,
        guests: Mapping[User, User] | None = None,
        facilitator_of: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        # External facilitators with a Teams guest account, each taking a Playground user's seat (the
        # Playground has six): {guest: whose seat}. They are on the facilitators list, not the roster;
        # `facilitator_of` gives them groups (group id -> facilitator email).
        self.guests = dict(guests or {})
        self.facilitator_of = dict(facilitator_of or {})
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = root / "reflect.json"
        self.clock = MovableClock(BEFORE_SESSION)
        self.current_user = current_user
        self.omit = tuple(omit)
        self.probation = tuple(probation)
        self._bot_settings = bot_settings
        self._auth_metadata = auth_metadata
        self._token_url = token_url
        self.store: Any = None
        self.services: Any = None
        self.pg: Playground | None = None
        self._runner: Any = None
        self.port = 0
        self.chats: dict[str, str] = {}  # user id -> personal chat id

    # -------------------------------------------------------------------- lifecycle
    async def start(self) -> World:
        from aiohttp import web

        from app import build_web_app
        from cards.outbound import CardMessages
        from programme.settings import ProgrammeSettings
        from service.services import Services
        from store import Store
        from support.config import BotSettings
        from tests.worlds import place_groups

        self.store = Store(self.db_path)
        self.services = Services.build(
            self.store, ProgrammeSettings(), clock=self.clock, messages=CardMessages()
        )
        self.services.programme.import_roster(
            roster_csv(self.omit, self.probation), "roster.csv", self.clock()
        )
        if self.guests:
            listed = [
                "email,name,aad_object_id",
                *(f"{g.email},{g.name},{g.aad_object_id}" for g in self.guests),
            ]
            self.services.facilitators.import_list(("\n".join(listed) + "\n").encode(), "facilitators.csv")
        placed = [
            replace(g, facilitator=self.facilitator_of.get(g.id, g.facilitator)) for g in groups(self.omit)
        ]
        place_groups(self.store, placed, self.clock())

        app = build_web_app(
            self.services,
            self._bot_settings or BotSettings(),
            auth_metadata=self._auth_metadata,
            token_url=self._token_url,
            poll_seconds=0.05,
        )
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

        seats = {seat: guest for guest, seat in self.guests.items()}
        others = [seats.get(u, u) for u in PLAYGROUND_USERS if u != self.current_user]
        self.pg = Playground(self.endpoint, others, current_user=self.current_user, bot_name="Reflect")
        await self.pg.start()
        self.chats[self.current_user.id] = self.pg.personal_chat_id
        return self

    async def stop(self) -> None:
        """Stop the Playground (its own PID), then the app and its drainer, then close the store."""
        try:
            if self.pg is not None:
                await self.pg.stop()
        finally:
            try:
                if self._runner is not None:
                    await self._runner.cleanup()  # stops the outbox drainer too (cleanup_ctx)
                    self._runner = None
            finally:
                if self.store is not None:
                    self.store.close()
                if self.pg is not None:
                    self.pg.cleanup()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/messages"

    def diagnostics(self) -> str:
        if self.pg is None:
            return ""
        calls = [
            {
                "name": d["name"],
                "status": d["status"],
                "from": ((d["activity"] or {}).get("from") or {}).get("id"),
            }
            for d in self.pg.bot_deliveries()
        ]
        return (
            "---- playground output ----\n"
            + self.pg.read_log()[-3000:]
            + "\n---- playground -> bot ----\n"
            + json.dumps(calls)[-3000:]
        )

    # -------------------------------------------------------------------- talking
    @property
    def playground(self) -> Playground:
        assert self.pg is not None
        return self.pg

    async def chat(self, user: User) -> str:
        """The user's 1:1 chat with the bot (created through the mock connector if need be)."""
        if user.id not in self.chats:
            self.chats[user.id] = await self.playground.open_personal_chat(user.id)
        return self.chats[user.id]

    def user_of_chat(self, conversation_id: str | None) -> User | None:
        for uid, cid in self.chats.items():
            if cid == conversation_id:
                return self.playground.user(uid)
        return None

    async def install(self, *users: User) -> dict[str, dict[str, Any]]:
        """Each user installs the app personally; returns the card each got, by user id.

        Waits until the Playground has the bot's answers to both activities of every install
        (installationUpdate and conversationUpdate), so any second greeting would be in by then."""
        pg = self.playground
        lmark = pg.log_mark()
        for user in users:
            self.chats[user.id] = await pg.install_for(user.id)
        for user in users:
            await self.wait_turns(user, ("installationUpdate", "conversationUpdate"), since=lmark)
        got: dict[str, dict[str, Any]] = {}
        for user in users:
            msgs = [c for c in self.cards_in(self.chats[user.id], since=lmark)]
            assert len(msgs) == 1, (
                f"{user.name} got {len(msgs)} cards on install: {[heading(c) for c in msgs]}"
            )
            got[user.id] = msgs[0]
        return got

    async def wait_turns(self, user: User, names: Iterable[str], since: int = 0) -> None:
        """Until the bot has answered (HTTP) each named activity sent in the user's chat."""
        pending = set(names)
        cid = self.chats[user.id]

        def done(frame: dict[str, Any]) -> bool:
            log = frame.get("log") or {}
            body = (log.get("request") or {}).get("body") or {}
            if log.get("to") != "User Application" or (body.get("conversation") or {}).get("id") != cid:
                return False
            if (log.get("response") or {}).get("statusCode") is None:
                return False
            pending.discard(str(body.get("type")))
            return not pending

        await self.playground.wait_for_log(done, timeout=20, since=since)

    async def say(self, user: User, text: str) -> BotActivity:
        """The user types `text` in their 1:1 chat; returns the bot's (first) reply there."""
        pg = self.playground
        cid = await self.chat(user)
        lmark = pg.log_mark()
        await pg.send_text(cid, user.id, text)
        return await pg.wait_for_bot_message(cid, since=lmark, timeout=20)

    async def say_card(self, user: User, text: str) -> tuple[str, dict[str, Any]]:
        """`say`, expecting a card: (message id, card)."""
        reply = await self.say(user, text)
        card = card_of(reply)
        assert card is not None and reply.id, f"{text!r} got no card: {reply.body}"
        return reply.id, card

    async def click(
        self, user: User, message_id: str, verb: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The user presses an Action.Execute on a card in their chat; returns the card the bot answered."""
        cid = await self.chat(user)
        res = await self.playground.invoke_action(cid, user.id, message_id, verb, data or {})
        assert res.get("type") == CARD_CONTENT_TYPE, res
        return res["value"]  # type: ignore[no-any-return]

    # -------------------------------------------------------------------- observing
    def bot_messages(self, since: int = 0) -> list[BotActivity]:
        """Every message the bot posted (any chat), from the raw log stream."""
        pg = self.playground
        out = []
        for frame in pg.log.frames[since:]:
            log = frame.get("log") or {}
            if log.get("from") != "User Application":
                continue
            act = pg._bot_activity(frame)
            if act.body.get("type") == "message" and act.status is not None and act.status < 300:
                out.append(act)
        return out

    def cards_in(self, conversation_id: str, since: int = 0) -> list[dict[str, Any]]:
        return [
            c
            for a in self.bot_messages(since)
            if a.conversation_id == conversation_id and (c := card_of(a)) is not None
        ]

    def cards_by_user(self, since: int = 0) -> dict[str, list[dict[str, Any]]]:
        """Cards received since `since`, by recipient name (chats the world knows)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for act in self.bot_messages(since):
            user = self.user_of_chat(act.conversation_id)
            card = card_of(act)
            if card is not None:
                out.setdefault(user.name if user else str(act.conversation_id), []).append(card)
        return out

    def outbox_docs(self) -> dict[str, dict[str, Any]]:
        """Every outbox status record, by key (all periods)."""
        return self.services.outbox.records()

    async def settle(self, timeout: float = 30.0) -> dict[str, dict[str, Any]]:  # noqa: ASYNC109 - deadline for a hang
        """Until the outbox has nothing pending and every message it sent is on the log stream.

        Returns the outbox records. A message the drainer sent is in the Playground's log before
        the drainer records it sent, so once all are seen nothing more is on its way."""
        pg = self.playground
        async with asyncio.timeout(timeout):
            while True:
                docs = await asyncio.to_thread(self.outbox_docs)
                if all(d["status"] != "pending" for d in docs.values()):
                    break
                await asyncio.sleep(0.05)
            wanted = {d["activity_id"] for d in docs.values() if d["status"] == "sent"}
            while True:
                mark = len(pg.log.frames)
                if wanted <= {a.id for a in self.bot_messages()}:
                    return docs
                await pg.log.wait_for(lambda f: True, timeout, since=mark)


@pytest.fixture
def run_world(tmp_path: Path) -> Callable[..., None]:
    """Runs an async scenario against a fresh world; skips when the Playground is not installed."""
    reason = playground_available()
    if reason:
        pytest.skip(reason)
    counter = iter(range(1000))

    def run(scenario: Callable[[World], Awaitable[None]], **options: Any) -> None:
        async def main() -> None:
            world = World(tmp_path / f"world{next(counter)}", **options)
            try:
                await world.start()
                await scenario(world)
            except BaseException:
                print(world.diagnostics())
                raise
            finally:
                await world.stop()

        asyncio.run(main())

    return run
