"""Open the Playground web UI in headless Debian Chromium, render a card, click it, screenshot.

    python -m tests.e2e.ui_screenshot [OUT_DIR]      (default /tmp/pg-shots)

Needs `apt-get install chromium` (/usr/bin/chromium) and the python `playwright` package; never
`playwright install`. Every request that is not to the Playground on 127.0.0.1 is aborted (the UI
asks res-1.cdn.office.net for Segoe UI fonts and flair.min.js; the page renders without them).
Opening the UI installs the bot in the personal chat by itself (installationUpdate +
conversationUpdate), like Teams does.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.e2e.echo_bot import EchoBotServer
from tests.e2e.playground import Playground, User

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COMPOSER = "[data-lexical-editor=true][contenteditable=true]"  # the message box (a Lexical editor)


async def main(out_dir: Path) -> list[Path]:
    """Screenshots into an existing ``out_dir``; returns their paths."""
    from playwright.async_api import Route, async_playwright

    shots: list[Path] = []
    bot = EchoBotServer()
    await bot.start()
    users = [User.make(f"user{i}", f"User {i}", i) for i in range(1, 6)]
    pg = Playground(bot.endpoint, users, bot_name="Echo Bot")
    blocked: list[str] = []
    try:
        async with pg, async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})

                async def only_loopback(route: Route) -> None:
                    url = route.request.url
                    if url.startswith((pg.base_url, "data:", "blob:")):
                        await route.continue_()
                    else:
                        blocked.append(url)
                        await route.abort()

                await page.route("**/*", only_loopback)
                await page.goto(pg.base_url + "/", wait_until="networkidle")
                await page.locator(COMPOSER).first.click()
                await page.keyboard.type("card")
                await page.keyboard.press("Enter")
                button = page.get_by_role("button", name="Ping").first
                await button.wait_for(timeout=15_000)
                shots.append(out_dir / "01-card.png")
                await page.screenshot(path=str(shots[-1]))
                await button.click()
                await page.get_by_text("ping by").first.wait_for(timeout=15_000)
                shots.append(out_dir / "02-after-ping.png")
                await page.screenshot(path=str(shots[-1]))
            finally:
                await browser.close()
    finally:
        await bot.stop()
        pg.cleanup()
    print("blocked non-loopback requests:", *sorted(set(blocked)), sep="\n  ")
    return shots


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/pg-shots")
    target.mkdir(parents=True, exist_ok=True)
    for shot in asyncio.run(main(target)):
        print(shot)
