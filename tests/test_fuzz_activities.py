"""Fuzzing /api/messages: thousands of generated requests over real HTTP to our running app.

Seeded (reproducible) generation of what an attacker or a broken client would send: wrongly typed
and missing fields, huge and deeply nested values, raw garbage, unknown activity types, invoke
names and verbs, forged months, quarters and group ids in card data, from unknown senders and
from two roster members. Replies go to a local sink standing in for the Bot Connector.

Asserted: no 5xx; no traceback, and none of the generated content, in any log line of the
process (every logger at DEBUG) or its stderr; the store changed only by the legitimate answers
(RSVPs of the two members, for their own group's offered months). With an app id set, a smaller
run: forged tokens are 401 whatever the body, and signed ones get the same 4xx/card treatment.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from repositories.answers import RSVPS, RsvpsRepository
from support.config import BotSettings
from teams_bot.inbound import MAX_BODY_BYTES
from teams_bot.web import ISSUER_KEY, METADATA_URL_KEY
from tests.bot_server import BotServer, activity, card_action
from tests.e2e.conftest import G1, G2, MONTH, OSCAR, PAT
from tests.e2e.playground import User
from tests.fakes.loopback_app import LoopbackApp
from tests.fakes.token_issuer import ISSUER, TokenIssuer, new_key
from tests.log_capture import every_logger_at_debug
from tests.store_snapshot import changed, records

pytestmark = pytest.mark.timeout(300)

SEED = 20261206
LOCAL_REQUESTS = 2000
AUTH_REQUESTS = 300
CONCURRENCY = 8
MARK = "zq6"  # in every generated string: none may reach a log line
APP_ID = "11111111-2222-4333-8444-555555555555"
VERBS = (
    "rsvp.answer",
    "attendance.submit",
    "checkout.submit",
    "peer.record",
    "goals.submit",
    "intro.send",
    "escalation.ack",
    "escalation.resolve",
    "announce.preview",
    "announce.send",
)
COMMANDS = ("help", "hello", "rsvp", "checkout", "peer", "goals", "intro", "coming", "attendance")
COMMANDS += ("end", "remind", "link", "announce", "status", "report", "escalations", "coming thu-1")
NEXT_MONTH = "2026-12"
MONTHS = (MONTH, NEXT_MONTH, "2027-01", "2026-10", "0000-01", "9999-12", "2030-06", "2026-13", "2026-1")
QUARTERS = ("2026-Q4", "2027-Q1", "0000-Q1", "9999-Q4", "2026-Q5", "2026Q4")
GROUPS = (G1, G2, "thu-3", "../thu-1", "thu-1 ", "", "x" * 300, "THU-1")


class ConnectorSink(LoopbackApp):
    """Accepts every Bot Connector call (replies, updates); member lookups find nobody."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._any)

    async def _any(self, request: web.Request) -> web.Response:
        self.calls += 1
        await request.read()
        if request.method == "GET":
            return web.json_response({"code": "MemberNotFoundInConversation"}, status=404)
        return web.json_response({"id": f"sink-{self.calls}"})


class Generator:
    """Random requests: (body bytes, which sender kind made it)."""

    def __init__(self, rng: random.Random, service_url: str) -> None:
        self.rng = rng
        self.service_url = service_url

    # -- values ----------------------------------------------------------------------------
    def text(self, limit: int = 40) -> str:
        alphabet = "abc XYZ,.:@-_/\\\"'<>{}[]\u202e\u0000é🙂\n"
        length = self.rng.randint(0, limit)
        return MARK + "".join(self.rng.choice(alphabet) for _ in range(length))

    def nested(self, depth: int) -> Any:
        value: Any = self.text(5)
        for _ in range(depth):
            value = [value] if self.rng.random() < 0.5 else {MARK: value}
        return value

    def value(self, depth: int = 0) -> Any:
        roll = self.rng.random()
        if roll < 0.15:
            return self.text()
        if roll < 0.25:
            return self.rng.choice([0, -1, 2**31, 2**63 - 1, 1.5, -0.0, 1e300])
        if roll < 0.32:
            return self.rng.choice([True, False, None])
        if roll < 0.40:
            return MARK + "x" * self.rng.randint(1_000, 60_000)
        if roll < 0.48:
            return self.nested(self.rng.choice([3, 20, 60, 63, 64, 65, 100, 500]))
        if roll < 0.75 and depth < 3:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 4))]
        if depth < 3:
            return {self.text(8): self.value(depth + 1) for _ in range(self.rng.randint(0, 4))}
        return self.text(8)

    # -- activities ------------------------------------------------------------------------
    def _mutate(self, body: dict[str, Any]) -> dict[str, Any]:
        """Drop, retype or add fields, at the top or one level down."""
        for _ in range(self.rng.randint(1, 3)):
            target = body
            if self.rng.random() < 0.4:
                nested = [k for k, v in body.items() if isinstance(v, dict)]
                if nested:
                    target = body[self.rng.choice(nested)]
            keys = list(target) + ["membersAdded", "entities", "attachments", "timestamp", "value", MARK]
            key = self.rng.choice(keys)
            action = self.rng.random()
            if action < 0.3:
                target.pop(key, None)
            else:
                target[key] = self.value()
        return body

    def stranger(self) -> User:
        n = self.rng.randint(100, 10_000)
        return User.make(f"stranger{n}", f"Stranger {n}", n)

    def stranger_activity(self) -> dict[str, Any]:
        who = self.stranger()
        kind = self.rng.choice(
            ["message", "invoke", "conversationUpdate", "installationUpdate", "event", "typing"]
            + ["messageReaction", "endOfConversation", MARK, "", "message"]
        )
        extra: dict[str, Any] = {"text": self.rng.choice(COMMANDS)} if kind == "message" else {}
        if kind == "invoke":
            extra = {
                "name": self.rng.choice(["adaptiveCard/action", "task/fetch", MARK]),
                "value": self.value(),
            }
        if kind == "installationUpdate":
            extra = {"action": self.rng.choice(["add", "remove", MARK])}
        if kind == "event":
            extra = {"name": self.rng.choice(["application/vnd.microsoft.meetingEnd", MARK])}
        body = activity(self.service_url, who.id, None, type_=kind, conversation=f"a:{MARK}{who.id}", **extra)
        return self._mutate(body) if self.rng.random() < 0.8 else body

    def card_data(self, verb: str) -> Any:
        if self.rng.random() < 0.05:
            return self.value()
        data: dict[str, Any] = {
            "group": self.rng.choice(GROUPS),
            "month": self.rng.choice(MONTHS),
            "quarter": self.rng.choice(QUARTERS),
            "answer": self.rng.choice(["attending", "not_attending", "maybe", MARK]),
            "round": self.rng.choice([1, 2, 0, -1, "1", None]),
            "id": self.rng.choice(["esc-1", MARK, ""]),
        }
        inputs: dict[str, Any] = {
            "rsvp_reason": self.rng.choice(["sickness", "leave", MARK, 5]),
            "rsvp_note": self.text(),
            "checkout_rating": self.rng.choice(["3", "9", MARK, 4.0]),
            "checkout_flags": self.rng.choice(["struggling", "stressed,overworked", MARK]),
            "goal1_text": self.text(),
            "goals_capacity_now": self.rng.choice(["80", 200, MARK]),
            "present:pat@contoso.test": self.rng.choice(["true", "false", MARK]),
            "announce_text": self.text(),
            "announce_audience": self.rng.choice(["everyone", "group", MARK]),
            "intro_message": self.text(),
        }
        chosen = {k: v for k, v in {**data, **inputs}.items() if self.rng.random() < 0.6}
        if self.rng.random() < 0.3:
            chosen[self.rng.choice(list(chosen) or ["month"])] = self.value()
        return chosen

    def member_activity(self, who: User) -> dict[str, Any]:
        """From a roster member, identity and routing intact: card presses and commands."""
        roll = self.rng.random()
        if roll < 0.65:
            verb = self.rng.choice(VERBS + (MARK, "", "RSVP.ANSWER"))
            body = card_action(self.service_url, verb, self.card_data(verb), user_id=who.id)
            body["from"]["aadObjectId"] = who.aad_object_id
            body["conversation"]["id"] = f"a:chat-{who.id}"
            if self.rng.random() < 0.1:
                body["value"] = self.rng.choice([self.value(), {"action": self.value()}])
            return body
        if roll < 0.7:
            # A legitimate answer, as the RSVP card offers it.
            group = G1 if who is PAT else G2
            data = {"group": group, "month": self.rng.choice([MONTH, NEXT_MONTH]), "answer": "attending"}
            body = card_action(self.service_url, "rsvp.answer", data, user_id=who.id)
            body["from"]["aadObjectId"] = who.aad_object_id
            body["conversation"]["id"] = f"a:chat-{who.id}"
            return body
        text = self.rng.choice(COMMANDS) + (" " + self.text() if self.rng.random() < 0.5 else "")
        if self.rng.random() < 0.1:
            text = MARK + "y" * self.rng.randint(10_000, 100_000)
        return activity(
            self.service_url, who.id, who.aad_object_id, conversation=f"a:chat-{who.id}", text=text
        )

    def raw(self) -> bytes:
        roll = self.rng.random()
        if roll < 0.3:
            depth = self.rng.choice([65, 1_000, 50_000, 200_000])
            return b'{"type":"message","value":' + b"[" * depth + b"]" * depth + b"}"
        if roll < 0.5:
            good = json.dumps(activity(self.service_url, text=MARK)).encode()
            return good[: self.rng.randint(0, len(good) - 1)]
        if roll < 0.6:
            return b'{"type":"message","text":"' + MARK.encode() + b"a" * (MAX_BODY_BYTES + 1) + b'"}'
        if roll < 0.8:
            return self.rng.randbytes(self.rng.randint(0, 2_000))
        return json.dumps(self.rng.choice([[], "x", 1, None, [activity(self.service_url)], MARK])).encode()

    def request(self) -> tuple[bytes, str]:
        roll = self.rng.random()
        if roll < 0.15:
            return self.raw(), "raw"
        if roll < 0.55:
            return json.dumps(self.stranger_activity()).encode(), "stranger"
        who = PAT if self.rng.random() < 0.6 else OSCAR
        return json.dumps(self.member_activity(who)).encode(), "member"


# ------------------------------------------------------------------------------------ harness
def snapshot(store: Any) -> dict[str, Any]:
    """The RSVPs, as (month, group, email) -> answer, and every other record of the store."""
    answers = RsvpsRepository(store)
    return {
        "rsvps": {(m, g, e): doc for m in (MONTH, NEXT_MONTH) for g, e, doc in answers.of_month(m)},
        "other": records(store, skip={RSVPS}),
    }


# The only answers the generated traffic may store: each member's own, for their own group.
LEGITIMATE = {
    (month, group, who.email) for month in (MONTH, NEXT_MONTH) for group, who in ((G1, PAT), (G2, OSCAR))
}


def legitimate_changes_only(before: dict[str, Any], after: dict[str, Any]) -> set[Any]:
    """The RSVPs the traffic changed, after checking it changed nothing else and no one else's."""
    assert changed(before["other"], after["other"]) == set()
    answered = changed(before["rsvps"], after["rsvps"])
    assert answered <= LEGITIMATE, sorted(answered - LEGITIMATE)[:10]
    return answered


async def _first_contact(url: str, service_url: str, headers: dict[str, str] | None = None) -> None:
    """Each member presses a card once, so the bot has linked them (a first contact's legitimate write).

    A card press answers in the HTTP response: nothing goes out (with an app id, that would need a
    token from the internet)."""
    presses = []
    for who in (PAT, OSCAR):
        press = card_action(service_url, "rsvp.answer", {}, user_id=who.id)
        press["from"]["aadObjectId"] = who.aad_object_id
        press["conversation"]["id"] = f"a:chat-{who.id}"
        presses.append((json.dumps(press).encode(), headers or {}))
    await _post_all(url, presses, lambda index, text, status: None)


async def _post_all(
    url: str, bodies: list[tuple[bytes, dict[str, str]]], on_answer: Callable[[int, str, int], None]
) -> None:
    limit = asyncio.Semaphore(CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)  # only turns a hang into a failure

    async with aiohttp.ClientSession(timeout=timeout) as session:

        async def one(index: int, body: bytes, headers: dict[str, str]) -> None:
            async with limit:
                all_headers = {"Content-Type": "application/json", **headers}
                async with session.post(url, data=body, headers=all_headers) as response:
                    on_answer(index, await response.text(), response.status)

        await asyncio.gather(*(one(i, body, headers) for i, (body, headers) in enumerate(bodies)))


OUR_PACKAGES = ("teams_bot", "service", "cards", "programme", "store", "mailers", "app")


def _assert_clean_logs(records: list[tuple[int, str, str]], stderr: str) -> None:
    everything = "\n".join(text for _, _, text in records)
    assert "Traceback" not in everything and "Traceback" not in stderr
    # What the process logs at its level (INFO) and anything our code logs even at DEBUG. Below INFO,
    # libraries log their outbound calls' URLs (urllib3: the conversation id of a member lookup).
    logged = "\n".join(
        text for level, name, text in records if level >= logging.INFO or name.split(".")[0] in OUR_PACKAGES
    )
    assert MARK not in logged and MARK not in stderr
    for email in ("pat@contoso.test", "oscar@contoso.test"):
        assert email not in logged


def test_thousands_of_generated_activities_get_no_5xx(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED)
    statuses: Counter[int] = Counter()
    kinds: Counter[tuple[str, int]] = Counter()
    cards: Counter[str] = Counter()

    async def scenario() -> dict[str, Any]:
        async with ConnectorSink() as sink:
            generator = Generator(rng, f"{sink.url}/")
            requests = [generator.request() for _ in range(LOCAL_REQUESTS)]
            with every_logger_at_debug() as records, BotServer(tmp_path) as server:
                await _first_contact(server.endpoint, generator.service_url)
                before = snapshot(server.store)

                def answered(index: int, text: str, status: int) -> None:
                    statuses[status] += 1
                    kinds[requests[index][1], status] += 1
                    if status == 200 and text.startswith("{"):
                        cards[json.loads(text)["value"]["body"][0]["text"]] += 1

                await _post_all(server.endpoint, [(body, {}) for body, _ in requests], answered)
                after = snapshot(server.store)
            return {"before": before, "after": after, "records": records.records, "sink": sink.calls}

    seen = asyncio.run(scenario())
    stderr = capfd.readouterr().err
    print(f"statuses {dict(statuses)}; by kind {dict(kinds)}; cards {dict(cards)}; sink calls {seen['sink']}")
    assert sum(statuses.values()) == LOCAL_REQUESTS
    assert not [status for status in statuses if status >= 500], statuses
    # The run exercised every outcome: refusals, turns that replied, cards (errors and answers).
    assert statuses[400] > 200 and statuses[201] > 200 and statuses[200] > 200 and statuses[413] > 0
    assert cards["That didn't work"] > 100 and seen["sink"] > 100
    answered = legitimate_changes_only(seen["before"], seen["after"])
    assert answered, "no legitimate answer was stored: the generator lost its positive control"
    _assert_clean_logs(seen["records"], stderr)


def test_generated_activities_with_an_app_id_get_no_5xx(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(SEED + 1)
    statuses: Counter[tuple[str, int]] = Counter()
    settings = BotSettings(app_id=APP_ID, app_password="pw", app_type="SingleTenant", app_tenant_id="t")

    async def scenario() -> dict[str, Any]:
        async with ConnectorSink() as sink, TokenIssuer(APP_ID) as issuer:
            service_url = f"{sink.url}/"
            generator = Generator(rng, service_url)
            good = {"Authorization": f"Bearer {issuer.token(service_url)}"}
            forged = [
                {},
                {"Authorization": "Bearer " + MARK},
                {"Authorization": f"Bearer {issuer.token(service_url, exp=None)}"},
                {"Authorization": f"Bearer {issuer.token(service_url, key=new_key())}"},
                {"Authorization": f"Bearer {issuer.token(service_url, aud=MARK)}"},
            ]
            requests: list[tuple[bytes, dict[str, str], str]] = []
            for _ in range(AUTH_REQUESTS):
                if rng.random() < 0.4:
                    body, kind = generator.request()
                    requests.append((body, rng.choice(forged), "forged"))
                elif rng.random() < 0.5:
                    requests.append((generator.raw(), good, "raw"))
                else:
                    # Signed, from a member: card presses answer in the HTTP response, so nothing needs
                    # an outbound token (which would go to the internet).
                    body_dict = generator.member_activity(PAT)
                    if body_dict["type"] != "invoke":
                        body_dict = {**body_dict, "type": "event", "name": MARK}
                    requests.append((json.dumps(body_dict).encode(), good, "signed"))
            options = {"auth_metadata": {METADATA_URL_KEY: issuer.metadata_url, ISSUER_KEY: ISSUER}}
            with every_logger_at_debug() as records, BotServer(tmp_path, settings, **options) as server:
                await _first_contact(server.endpoint, service_url, good)
                before = snapshot(server.store)

                def answered(index: int, text: str, status: int) -> None:
                    statuses[requests[index][2], status] += 1

                await _post_all(server.endpoint, [(b, h) for b, h, _ in requests], answered)
                after = snapshot(server.store)
            return {"before": before, "after": after, "records": records.records, "sink": sink.calls}

    seen = asyncio.run(scenario())
    stderr = capfd.readouterr().err
    print(f"statuses {dict(statuses)}")
    assert sum(statuses.values()) == AUTH_REQUESTS
    assert not [key for key in statuses if key[1] >= 500], statuses
    assert {status for kind, status in statuses if kind == "forged"} == {401}
    assert {status for kind, status in statuses if kind == "raw"} <= {400, 413}
    assert statuses["signed", 200] > 20 and statuses["signed", 201] > 5
    assert seen["sink"] == 0  # nothing went out: no outbound token was ever needed
    legitimate_changes_only(seen["before"], seen["after"])
    assert not any("turn failed" in text for _, _, text in seen["records"])
    _assert_clean_logs(seen["records"], stderr)
