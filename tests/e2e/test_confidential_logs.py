"""What people say never reaches our logs: the flows run with every Python logger at DEBUG.

"Our log lines" are the Python logging records of the bot process (our packages, botbuilder,
msrest, aiohttp: everything the process would write to its log) plus anything it prints to
stdout/stderr. The Playground's own traffic (its log websocket) is the emulator and may carry the
traffic: it is used as the positive control, proving each secret really went through the bot.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("aiohttp", reason="aiohttp is not installed")
pytest.importorskip("botbuilder.core", reason="botbuilder-core is not installed")
pytest.importorskip(
    "botbuilder.integration.aiohttp", reason="botbuilder-integration-aiohttp is not installed"
)

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from repositories.answers import CheckoutsRepository  # noqa: E402
from repositories.escalations import EscalationsRepository  # noqa: E402
from tests.card_reading import find_action, heading, inputs  # noqa: E402
from tests.e2e.conftest import (  # noqa: E402
    CORA,
    DURING_SESSION,
    FIONA,
    G1,
    MONTH,
    OSCAR,
    PAT,
    PLAYGROUND_USERS,
    QUINN,
    RIA,
    World,
    card_of,
)
from tests.e2e.playground import free_port, playground_available  # noqa: E402
from tests.log_capture import every_logger_at_debug  # noqa: E402

_reason = playground_available()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

pytestmark = pytest.mark.timeout(120)

Run = Callable[..., None]

ABSENCE_NOTE = "Chemotherapy on Thursdays, please keep this private zq81"
HELPFUL = "Hearing that Ria also struggles with the rota zq82"
NOT_HELPFUL = "My manager shouted at me again this week zq83"
INTRO = "Hello all, I am your facilitator zq84"  # not confidential: sent to the group on purpose
BAD_RATING = "my rating is secret zq85"
BAD_FLAG = "thinking of quitting zq86"
BAD_REASON = "family court hearing zq87"
FLAGS = ("struggling", "conflict_with_colleague")
REASON = "sickness"
APP_PASSWORD = "app-password-zq88"
BOT_TOKEN = "bot-connector-token-zq89"
FORGED_TOKEN = "forged-inbound-token-zq90"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# A well-formed (unsigned by anyone we trust) JWT: botbuilder gets as far as fetching signing keys.
FORGED_JWT = ".".join(
    [
        _b64({"alg": "RS256", "typ": "JWT", "kid": "zq91"}),
        _b64({"iss": "https://api.botframework.com", "aud": "forged-aud-zq92", "serviceurl": "x"}),
        "c2lnbmF0dXJlLXpxOTM",
    ]
)


def _assert_secret_free(where: str, text: str, secrets: tuple[str, ...]) -> None:
    leaked = [s for s in secrets if s.lower() in text.lower()]
    assert not leaked, f"{leaked} found in {where}"


async def _flows(w: World) -> None:
    """Intro, an absence with reason and note, a register, a flagged check-out, bad payloads."""
    await w.install(*PLAYGROUND_USERS)
    msg_id, console = await w.say_card(FIONA, "intro")
    await w.click(
        FIONA, msg_id, "intro.send", {**find_action(console, "intro.send")["data"], "intro_message": INTRO}
    )

    q_id, q_card = await w.say_card(QUINN, "rsvp")
    cant = find_action(q_card, "rsvp.answer", answer="not_attending")["data"]
    bad_reason = await w.click(QUINN, q_id, "rsvp.answer", {**cant, "rsvp_reason": BAD_REASON})
    assert heading(bad_reason) == "That didn't work"
    await w.click(QUINN, q_id, "rsvp.answer", {**cant, "rsvp_reason": REASON, "rsvp_note": ABSENCE_NOTE})
    _, full = await w.say_card(CORA, f"coming {G1}")  # the coordinator reads the note: it is in a card
    assert ABSENCE_NOTE in json.dumps(full)

    w.clock.set(DURING_SESSION)
    reg_id, register = await w.say_card(FIONA, "attendance")
    present = {k: "true" for k in inputs(register) if k.startswith("present:")}
    await w.click(
        FIONA, reg_id, "attendance.submit", {**find_action(register, "attendance.submit")["data"], **present}
    )
    await w.settle()
    (prompt,) = [
        a
        for a in w.bot_messages()
        if a.conversation_id == w.chats[PAT.id] and heading(card_of(a)).startswith("Check-out")
    ]
    checkout = {"group": G1, "month": MONTH, "checkout_helpful": HELPFUL, "checkout_not_helpful": NOT_HELPFUL}
    for bad in ({"checkout_rating": BAD_RATING}, {"checkout_flags": f"stressed,{BAD_FLAG}"}):
        refused = await w.click(PAT, prompt.id or "", "checkout.submit", {**checkout, **bad})
        assert heading(refused) == "That didn't work"
    thanks = await w.click(
        PAT,
        prompt.id or "",
        "checkout.submit",
        {**checkout, "checkout_rating": "2", "checkout_flags": ",".join(FLAGS)},
    )
    assert heading(thanks) == "Thank you"
    # A participant tries coordinators' and facilitators' verbs, and a forged payload.
    await w.click(OSCAR, (await w.say_card(OSCAR, "help"))[0], "announce.send", {"announce_text": HELPFUL})
    await w.click(RIA, (await w.say_card(RIA, "help"))[0], "attendance.submit", {"group": G1, "month": MONTH})
    await w.settle()
    (esc,) = EscalationsRepository(w.store).all()
    assert sorted(esc.flags) == sorted(FLAGS)
    checkout = CheckoutsRepository(w.store).get(MONTH, G1, PAT.email)
    assert checkout is not None and checkout.helpful == HELPFUL


def test_no_confidential_answer_reaches_our_logs(run_world: Run, capfd: pytest.CaptureFixture[str]) -> None:
    secrets = (ABSENCE_NOTE, HELPFUL, NOT_HELPFUL, BAD_RATING, BAD_FLAG, BAD_REASON, *FLAGS, REASON)
    seen: dict[str, Any] = {}

    async def scenario(w: World) -> None:
        await _flows(w)
        seen["traffic"] = json.dumps(w.playground.log.frames)
        seen["playground_files"] = w.playground.read_log() + w.playground.console_log_path.read_text(
            encoding="utf-8", errors="replace"
        )

    with every_logger_at_debug() as records:
        run_world(scenario)
    out, err = capfd.readouterr()

    # Positive control: every secret did travel through the bot (the emulator's traffic has it).
    for secret in (*secrets, INTRO):
        assert secret in seen["traffic"], secret
    # The run logged plenty, at every level down to DEBUG, from our packages too ...
    assert len(records.lines) > 20
    assert any(
        f" {ours}." in line for line in records.lines for ours in ("teams_bot", "surfaces", "service")
    ), records.lines[:40]
    # ... and none of it carries what anyone said, a flag, a reason or a note.
    _assert_secret_free("log records", "\n".join(records.lines), secrets)
    _assert_secret_free("stdout/stderr of the bot process", out + err, secrets)
    # (The Playground's own files are the emulator's; 0.2.28 writes only start-up lines there.)
    files = len(seen["playground_files"])
    print(f"{len(records.lines) // 2} log records checked; playground files: {files} chars")


def test_tokens_and_passwords_stay_out_of_logs(run_world: Run, capfd: pytest.CaptureFixture[str]) -> None:
    """With an app id: outbound sends carry a client-credentials token, inbound needs a valid one."""
    from programme.identity import ConversationReference, TeamsUser
    from support.config import BotSettings

    token_requests: list[dict[str, str]] = []
    closed_port = free_port()  # nothing listens here: the OpenID metadata fetch fails at once

    async def token(request: web.Request) -> web.Response:
        token_requests.append(dict(await request.post()))  # type: ignore[arg-type]
        return web.json_response({"access_token": BOT_TOKEN, "token_type": "Bearer", "expires_in": 3600})

    async def scenario(w: World) -> None:
        pg = w.playground
        # The Playground cannot sign its requests, so the people's 1:1 chats are linked directly,
        # as an earlier (authenticated) turn would have done.
        people = w.services.programme.people()
        for user in (CORA, PAT):
            chat = await w.chat(user)
            ref = ConversationReference(pg.tenant_id, pg.service_url, chat, pg.bot_id, user.id)
            teams_user = TeamsUser(user.id, user.aad_object_id, user.name, pg.tenant_id)
            w.services.directory.link(teams_user, people[user.email], ref)
        mark = pg.log_mark()
        w.services.escalations.escalate("test:pat", PAT.email, PAT.email, "checkout", frozenset(), MONTH)
        await w.settle()
        (delivered,) = [a for a in w.bot_messages(mark) if a.conversation_id == w.chats[CORA.id]]
        assert heading(delivered.attachments[0]["content"]).startswith("Escalation")
        assert token_requests and token_requests[0]["client_secret"] == APP_PASSWORD

        activity = {
            "type": "message",
            "text": HELPFUL,
            "from": {"id": PAT.id},
            "conversation": {"id": w.chats[PAT.id]},
            "serviceUrl": pg.service_url,
            "channelId": "msteams",
        }
        async with aiohttp.ClientSession() as session:
            for headers in (
                {"Authorization": f"Bearer {FORGED_TOKEN}"},
                {"Authorization": f"Bearer {FORGED_JWT}"},
                {},
            ):
                async with session.post(w.endpoint, json=activity, headers=headers) as response:
                    assert response.status == 401, await response.text()

    token_app = web.Application()
    token_app.router.add_post("/token", token)

    token_port = free_port()

    async def start_then_run(w: World) -> None:
        runner = web.AppRunner(token_app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", token_port).start()
        try:
            await scenario(w)
        finally:
            await runner.cleanup()

    metadata = f"http://127.0.0.1:{closed_port}/openid"
    settings = BotSettings(
        app_id="11111111-2222-4333-8444-555555555555",
        app_password=APP_PASSWORD,
        app_type="SingleTenant",
        app_tenant_id="00000000-0000-4000-8000-00000000aaaa",
    )
    with every_logger_at_debug() as records:
        run_world(
            start_then_run,
            bot_settings=settings,
            token_url=f"http://127.0.0.1:{token_port}/token",
            auth_metadata={
                "TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL": metadata,
                "TO_BOT_FROM_CHANNEL_TOKEN_ISSUER": "https://api.botframework.com",
            },
        )
    out, err = capfd.readouterr()
    secrets = (APP_PASSWORD, BOT_TOKEN, FORGED_TOKEN, FORGED_JWT, "zq91", "zq92", "zq93", HELPFUL)
    assert any("token" in line.lower() for line in records.lines)  # the fetch itself is logged ...
    _assert_secret_free("log records", "\n".join(records.lines), secrets)  # ... but not the token
    _assert_secret_free("stdout/stderr of the bot process", out + err, secrets)
