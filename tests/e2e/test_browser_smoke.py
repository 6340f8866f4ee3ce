"""The real Playground web UI, in headless Debian Chromium, against OUR bot: a card renders, a click
answers it, and screenshots land in test-artifacts/ (git-ignored).

Needs /usr/bin/chromium (`apt-get install chromium`) and the python package `playwright==1.65.2`
(pip only: the browser is the system one, never `playwright install`). Recipe as in
tests/e2e/browser.py: `executable_path="/usr/bin/chromium"`, and every request that is not
to the Playground on 127.0.0.1 is aborted (the UI asks a CDN for fonts; it renders without them).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

pytest.importorskip("aiohttp", reason="aiohttp is not installed")
pytest.importorskip("botbuilder.core", reason="botbuilder-core is not installed")

from repositories.answers import RsvpsRepository  # noqa: E402
from tests.e2e.browser import CHROMIUM, CHROMIUM_FLAGS, COMPOSER  # noqa: E402
from tests.e2e.conftest import G1, MONTH, PAT, World  # noqa: E402
from tests.e2e.playground import REPO_ROOT, playground_available  # noqa: E402

_reason = playground_available()
if _reason:
    pytest.skip(_reason, allow_module_level=True)
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium)", allow_module_level=True)
pytest.importorskip(
    "playwright.async_api",
    reason="python package playwright is not installed (pip install playwright==1.65.2; "
    "uses the system /usr/bin/chromium, no `playwright install`)",
)

pytestmark = pytest.mark.timeout(120)

ARTIFACTS = REPO_ROOT / "test-artifacts"


def test_ui_renders_our_card_and_a_click_answers_it(run_world: Callable[..., None]) -> None:
    from playwright.async_api import Route, async_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shots: list[Path] = []
    blocked: list[str] = []

    async def scenario(w: World) -> None:
        pg = w.playground
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})

                async def only_loopback(route: Route) -> None:
                    if route.request.url.startswith((pg.base_url, "data:", "blob:")):
                        await route.continue_()
                    else:
                        blocked.append(route.request.url)
                        await route.abort()

                await page.route("**/*", only_loopback)
                # Opening the UI installs the app in Pat's personal chat: our welcome card renders.
                await page.goto(pg.base_url + "/", wait_until="networkidle")
                await page.get_by_text(f"Welcome, {PAT.name}").first.wait_for(timeout=20_000)

                await page.locator(COMPOSER).first.click()
                await page.keyboard.type("rsvp")
                await page.keyboard.press("Enter")
                attending = page.get_by_role("button", name="Attending").first
                await attending.wait_for(timeout=20_000)
                shots.append(ARTIFACTS / "browser-01-rsvp-card.png")
                await page.screenshot(path=str(shots[-1]))

                await attending.click()
                await page.get_by_text("Your answer: Attending").first.wait_for(timeout=20_000)
                shots.append(ARTIFACTS / "browser-02-answered.png")
                await page.screenshot(path=str(shots[-1]))
            finally:
                await browser.close()
        answer = RsvpsRepository(w.store).get(MONTH, G1, PAT.email)
        assert answer is not None and answer.answer == "attending"

    run_world(scenario, current_user=PAT)
    for shot in shots:
        assert shot.stat().st_size > 10_000, shot
    assert len(shots) == 2
    assert not [u for u in blocked if u.startswith(("http://127.", "http://localhost"))]
