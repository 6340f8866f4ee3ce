"""`reflect manifest build`: write the uploadable Teams app package (manifest/build.py builds it)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.common import Commands
from manifest.app_settings import parse_app_settings
from manifest.build import build_package
from support.config import Settings, load_settings, settings_path
from support.files import write_file


def register(commands: Commands, common: argparse.ArgumentParser) -> None:
    """`manifest build [--out FILE]`."""
    manifest = commands.add_parser("manifest", help="the Teams app package").add_subparsers(
        dest="action", required=True
    )
    build = manifest.add_parser("build", parents=[common], help="write the uploadable Teams app zip")
    build.add_argument("--out", metavar="FILE", default="build/peer-reflection-teams-app.zip")
    build.set_defaults(handler=build_manifest)


def build_manifest(args: argparse.Namespace) -> int:
    """Build the package from the settings file (no data file is opened)."""
    return write_package(load_settings(settings_path(args.settings)), Path(args.out))


def write_package(settings: Settings, out: Path) -> int:
    """Check the settings, build and validate the manifest, write the zip to `out`, print its path."""
    app = parse_app_settings(settings.app, settings.bot.app_id, settings.source)
    package = build_package(app)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_file(out, package.data, mode=0o644)  # the app package holds no personal data; admins upload it
    if package.validation_note:
        print(f"reflect: {package.validation_note}", file=sys.stderr)
    if package.placeholder_urls:
        print(
            f"reflect: [app] {', '.join(package.placeholder_urls)} still point at example.org; "
            "set your organisation's pages before publishing",
            file=sys.stderr,
        )
    print(out)
    return 0
