"""`reflect serve` (and `python app.py`): the Teams bot with the outbox sender and the programme clock."""

from __future__ import annotations

import argparse

from app import serve as run_server
from cli.common import Commands


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """`serve`."""
    commands.add_parser(
        "serve", parents=[common], help="run the Teams bot (127.0.0.1:3978, /api/messages, /healthz)"
    ).set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Run the bot until interrupted."""
    return run_server(args.db, args.settings)
