"""Driving the Playground's web UI in Debian's chromium with playwright (never `playwright install`)."""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags chromium keeps dialling Google hosts this machine can't reach.
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
