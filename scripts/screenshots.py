"""The README's screenshots: the bot's real cards rendered in the Agents Playground's web UI.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

How: the real web app (`app.build_web_app`) runs in this process over a fresh store seeded
from `examples/demo-roster.csv` (groups allocated, a pairing round), with a clock this script moves
(no programme clock: nothing is sent unless someone acts). Two Agents Playgrounds talk to it at
once: one whose current user is Priya Young (facilitator of "Health Coach, Thursday 1" and the
programme coordinator) and one whose current user is Ben Clarke (a member of her group). The UI
shows only its current user's chats, and the bot sends each person's messages to the chat they
installed it in, so one browser page shows Priya's side and the other Ben's. Three more members
install the app through the Playground API and answer there.

The story: both open Teams (welcome cards); Priya opens `intro`, writes a message and sends the
introductions; Ben gets his and answers it; on the day Priya takes the `attendance` register, which
sends Ben the check-out; Ben raises a flag in it, which reaches Priya as the coordinator; Priya
composes an announcement. Each step is a cropped PNG of the card in the chat.

Needs the Playground (`npm ci` in tools/playground), /usr/bin/chromium and the python package
playwright (never `playwright install`). Every browser request that is not to a Playground on
127.0.0.1 is aborted (the UI asks res-1.cdn.office.net for fonts; it renders without them).
Everything listens on 127.0.0.1; the Playgrounds are stopped by their own pids.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.browser import CHROMIUM, CHROMIUM_FLAGS, COMPOSER  # noqa: E402
from tests.e2e.conftest import card_of, find_action, heading  # noqa: E402
from tests.e2e.playground import BotActivity, Playground, User, playground_available  # noqa: E402

ROSTER = ROOT / "examples" / "demo-roster.csv"
DEFAULT_OUT = ROOT / "docs" / "screenshots"
TENANT_ID = "00000000-0000-4000-8000-0000000000aa"
BOT_NAME = "Peer Reflection"

# The programme's default settings: groups meet on the second Thursday, 10:00-11:30 London time.
BEFORE_SESSION = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # Monday 2 November: answers are open
DURING_SESSION = datetime(2026, 11, 12, 10, 50, tzinfo=UTC)  # Thursday 12 November, in the session

PRIYA = "priya.young10@example.org"  # facilitator of "Health Coach, Thursday 1", and coordinator
BEN = "ben.clarke1@example.org"  # member of that group
BEN_GREEN = "ben.green12@example.org"  # member
FEMI = "femi.iqbal53@example.org"  # member
TOM = "tom.taylor28@example.org"  # member
UMA = "uma.brown0@example.org"  # in another group
GROUP = "Health Coach, Thursday 1"

VIEWPORT = {"width": 1280, "height": 1500}  # tall, so the longest card fits the chat pane
CHAT_LEFT, CHAT_RIGHT = 332, 948  # the chat column of the Playground UI at this width
SCALE = 1.5  # device pixels per CSS pixel: sharp text, files well under 300 KB


class Clock:
    """The services' clock, moved by the script."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def roster_users() -> dict[str, User]:
    """The six people of the mock tenants, as the roster has them (Teams ids are made up)."""
    with ROSTER.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["email"]: row for row in csv.DictReader(handle)}
    users = {}
    for n, email in enumerate((PRIYA, BEN, BEN_GREEN, FEMI, TOM, UMA)):
        row = rows[email]
        given, _, surname = row["name"].partition(" ")
        users[email] = User(
            id=f"29:demo-user-{n}",
            name=row["name"],
            email=email,
            aad_object_id=row["aad_object_id"],
            given_name=given,
            surname=surname,
            upn=email,
        )
    return users


class Shooter:
    """One browser page on one Playground, with the helpers to act in it and crop screenshots."""

    def __init__(self, page: Any, pg: Playground, out: Path, saved: list[Path]) -> None:
        self.page = page
        self.pg = pg
        self.out = out
        self.saved = saved

    async def open(self, welcome: str) -> None:
        """Open the UI (which installs the app in the current user's chat) and wait for the welcome."""
        await self.page.goto(self.pg.base_url + "/", wait_until="networkidle")
        await self.card(welcome).wait_for(timeout=30_000)

    def card(self, text: str) -> Any:
        """The last rendered Adaptive Card containing `text`."""
        return self.page.locator(".ac-adaptiveCard").filter(has_text=text).last

    async def say(self, command: str) -> None:
        """Type a command into the chat's message box."""
        await self.page.locator(COMPOSER).first.click()
        await self.page.keyboard.type(command)
        await self.page.keyboard.press("Enter")

    async def dismiss_notices(self) -> None:
        """Close the Playground's "Your response was sent to the app" notes under clicked cards."""
        for _ in range(2):  # one may appear just after the updated card renders
            await self.page.wait_for_timeout(250)
            buttons = self.page.locator('[aria-label="Dismiss Invoke Message"]')
            for i in reversed(range(await buttons.count())):
                await buttons.nth(i).click()

    async def bubble_top(self, command: str, below: float) -> float:
        """The top (with its timestamp) of the last chat bubble saying `command` above `below`."""
        matches = self.page.get_by_text(command, exact=True)
        for i in reversed(range(await matches.count())):
            box = await matches.nth(i).bounding_box()
            # Only the chat column: the chat list and the log panel quote messages too.
            if box is not None and CHAT_LEFT < box["x"] < CHAT_RIGHT and box["y"] < below:
                return float(box["y"]) - 30
        return below

    async def shot(self, name: str, card_text: str, *, command: str | None = None) -> Path:
        """Crop the chat column around the card (and the command typed just above it, if any)."""
        card = self.card(card_text)
        await card.wait_for(timeout=30_000)
        await self.dismiss_notices()
        await card.scroll_into_view_if_needed()
        await self.page.wait_for_timeout(300)  # let the chat finish scrolling and images settle
        box = await card.bounding_box()
        assert box is not None, name
        top = box["y"] - 44  # the "Peer Reflection  1:37 AM" header above the card
        if command is not None:
            top = await self.bubble_top(command, top)
        top = max(top, 50)
        bottom = box["y"] + box["height"] + 14  # the message's frame and shadow
        path = self.out / f"{name}.png"
        await self.page.screenshot(
            path=str(path),
            clip={"x": CHAT_LEFT, "y": top, "width": CHAT_RIGHT - CHAT_LEFT, "height": bottom - top},
        )
        self.saved.append(path)
        print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        return path


def only_loopback(base: str) -> Any:
    """A route handler that lets through the Playground at `base` only (and data:/blob: URLs)."""

    async def handle(route: Any) -> None:
        if route.request.url.startswith((base, "data:", "blob:")):
            await route.continue_()
        else:
            await route.abort()

    return handle


async def bot_card(pg: Playground, chat: str, start: str, since: int) -> BotActivity:
    """The next card the bot posts in `chat` whose heading starts with `start` (log stream)."""
    return await pg.wait_for_bot_message(chat, lambda a: heading(card_of(a)).startswith(start), 30, since)


async def run(out: Path) -> list[Path]:
    from aiohttp import web
    from playwright.async_api import async_playwright

    from app import build_web_app
    from cards.outbound import CardMessages
    from programme.settings import ProgrammeSettings
    from service.services import Services
    from store import Store
    from support.config import BotSettings

    people = roster_users()
    priya, ben = people[PRIYA], people[BEN]
    others = [people[e] for e in (BEN_GREEN, FEMI, TOM, UMA)]
    clock = Clock(BEFORE_SESSION)
    saved: list[Path] = []

    with tempfile.TemporaryDirectory(prefix="reflect-shots-") as tmp:
        store = Store(Path(tmp) / "reflect.json")
        services = Services.build(store, ProgrammeSettings(), clock=clock, messages=CardMessages())
        services.programme.import_roster(ROSTER.read_bytes(), ROSTER.name, clock())
        services.programme.allocate()
        services.programme.rotate_pairs(clock().date())

        runner = web.AppRunner(build_web_app(services, BotSettings(), poll_seconds=0.05))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        endpoint = f"http://127.0.0.1:{runner.addresses[0][1]}/api/messages"
        common: dict[str, Any] = {"tenant_id": TENANT_ID, "bot_id": "28:reflection-bot", "bot_name": BOT_NAME}
        pg_priya = Playground(
            endpoint, [ben, *others], priya, personal_chat_id="personal-chat-priya", **common
        )
        pg_ben = Playground(endpoint, [priya, *others], ben, personal_chat_id="personal-chat-ben", **common)
        try:
            await pg_priya.start()
            await pg_ben.start()
            async with async_playwright() as p:
                browser = await p.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
                )
                try:
                    pages = []
                    for pg in (pg_priya, pg_ben):
                        page = await browser.new_page(viewport=VIEWPORT, device_scale_factor=SCALE)
                        await page.route("**/*", only_loopback(pg.base_url))
                        pages.append(Shooter(page, pg, out, saved))
                    await story(*pages, priya, ben, others, clock)
                finally:
                    await browser.close()
        finally:
            try:
                await pg_ben.stop()
                await pg_priya.stop()
                await runner.cleanup()
            finally:
                store.close()
                pg_ben.cleanup()
                pg_priya.cleanup()
    return saved


async def story(a: Shooter, b: Shooter, priya: User, ben: User, others: list[User], clock: Clock) -> None:
    """Priya's page `a` and Ben's page `b` through one month of the programme."""
    pg = a.pg
    # Everyone opens the app: Priya and Ben in their browsers, three more members through the API.
    await a.open(f"Welcome, {priya.name}")
    await b.open(f"Welcome, {ben.name}")
    await b.shot("welcome", f"Welcome, {ben.name}")
    await a.shot("welcome-facilitator-coordinator", f"Welcome, {priya.name}")
    members = [u for u in others if u.email in (BEN_GREEN, FEMI, TOM)]
    mark = pg.log_mark()
    chats = {u.email: await pg.install_for(u.id) for u in members}
    for user in members:
        await bot_card(pg, chats[user.email], "Welcome", mark)

    # Priya's introduction console: a message, then one button.
    await a.say("intro")
    console = a.card("Introduce yourself to your groups")
    await console.wait_for(timeout=30_000)
    await console.get_by_placeholder("A few words about you and what to expect").fill(
        "Hello all, I'm Priya. Our first session is a gentle start: bring a cuppa and one thing "
        "from this month you'd like to think through together."
    )
    await a.shot("intro-console", "Introduce yourself to your groups", command="intro")
    mark = pg.log_mark()
    await console.get_by_role("button", name="Send introductions").click()
    await a.card("Introductions queued for").wait_for(timeout=30_000)

    # Ben's introduction, before and after he answers.
    intro_heading = f"{priya.name} introduces {GROUP}"
    await b.shot("introduction-rsvp", intro_heading)
    await b.card(intro_heading).get_by_role("button", name="Attending").click()
    await b.shot("introduction-answered", "Your answer: Attending")

    # The other three answer through the API: one attending, one on leave, one maybe.
    answers = {BEN_GREEN: ("attending", {}), FEMI: ("not_attending", {"rsvp_reason": "annual_leave"})}
    answers[TOM] = ("maybe", {})
    for user in members:
        intro = await bot_card(pg, chats[user.email], intro_heading, mark)
        answer, extra = answers[user.email]
        action = find_action(card_of(intro), "rsvp.answer", answer=answer)
        assert intro.id is not None
        await pg.invoke_action(
            chats[user.email], user.id, intro.id, "rsvp.answer", {**action["data"], **extra}
        )

    # On the day: the register, pre-ticked from the answers; saving it sends the check-out.
    clock.now = DURING_SESSION
    await a.say("attendance")
    await a.shot("attendance-register", f"Register: {GROUP}", command="attendance")
    await a.card(f"Register: {GROUP}").get_by_role("button", name="Save the register").click()
    await a.card(f"Register saved: {GROUP}").wait_for(timeout=30_000)

    # Ben's check-out, filled in, with a flag that goes to the coordinators only.
    checkout = b.card(f"Check-out: {GROUP}")
    await checkout.wait_for(timeout=30_000)
    await checkout.get_by_label("What was helpful today?").fill(
        "Hearing how others handle clients who keep cancelling."
    )
    await checkout.get_by_role("combobox", name="How useful was the session").click()
    await b.page.get_by_role("option", name="4", exact=True).click()
    await checkout.get_by_role("checkbox", name="Overworked").check()
    await b.shot("checkout", f"Check-out: {GROUP}")
    await checkout.get_by_role("button", name="Send check-out").click()
    await b.card("Your check-out for").wait_for(timeout=30_000)

    # The escalation reaches Priya as the coordinator.
    await a.shot("escalation", f"Escalation: {ben.name}")

    # The announcement composer, filled in and previewed.
    await a.say("announce")
    composer = a.card("New announcement")
    await composer.wait_for(timeout=30_000)
    await composer.get_by_label("Title").fill("December sessions move to the 17th")
    await composer.get_by_label("Message").fill(
        "The building is closed on 10 December, so every Thursday group meets on 17 December at "
        "the usual time. Your facilitator will send the new invitation."
    )
    await composer.get_by_role("button", name="Preview").click()
    await a.card("Would go to").wait_for(timeout=30_000)
    await a.shot("announcement-composer", "Would go to", command="announce")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Screenshots of the bot's cards in the Agents Playground UI."
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (docs/screenshots)")
    args = parser.parse_args(argv)
    reason = playground_available()
    if reason:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    if not Path(CHROMIUM).exists():
        print(f"screenshots: {CHROMIUM} not found (apt-get install chromium)", file=sys.stderr)
        return 1
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(f"writing screenshots into {out}")
    saved = asyncio.run(run(out))
    print(f"{len(saved)} screenshots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
