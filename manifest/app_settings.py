"""The `[app]` table of the settings file: what the Teams app package says about itself.

Every key has a default except `id`, the Teams app's own GUID, which a build needs; the bot's id is
`MicrosoftAppId` from the `[bot]` table or the environment. Values are checked against what Teams
accepts (lengths, https URLs, x.y.z versions, bare domain names) so a bad value is reported here,
by name, rather than by Teams on upload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from manifest.icons import ACCENT
from programme.errors import SettingsError

GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$")  # Teams: x.y.z, nothing more
EXAMPLE_GUID = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN = re.compile(rf"^(\*\.)?({_LABEL}\.)+{_LABEL}(:[0-9]{{1,5}})?$")
PLACEHOLDER_SITE = "https://example.org/peer-reflection"
MAX_DOMAINS = 100

# Text settings with their default and the longest value Teams accepts.
TEXT_LIMITS: dict[str, int] = {
    "short_name": 30,
    "full_name": 100,
    "short_description": 80,
    "full_description": 4000,
    "developer_name": 32,
}
URL_KEYS = ("website_url", "privacy_url", "terms_url")
APP_KEYS = frozenset({"id", "version", "accent_color", "valid_domains", *TEXT_LIMITS, *URL_KEYS})


@dataclass(frozen=True)
class AppSettings:
    """The checked `[app]` table plus the bot's app id: everything the manifest is filled from."""

    app_id: str
    bot_id: str
    version: str = "1.0.0"
    short_name: str = "Peer Reflection"
    full_name: str = "Peer Reflection Programmes"
    short_description: str = "Reflection groups, peer pairs and check-outs, run from Teams."
    full_description: str = (
        "Runs your organisation's peer reflection programme in Teams. Staff answer session "
        "invitations, give a short check-out after each monthly reflection group, record meetings "
        "with their peer and set quarterly goals. Facilitators send introductions, see who is "
        "coming and take the register on one card. Coordinators broadcast announcements and follow "
        "up confidential flags. What people say reaches only the people they were told it reaches."
    )
    developer_name: str = "Peer Reflection Programme"
    website_url: str = PLACEHOLDER_SITE
    privacy_url: str = f"{PLACEHOLDER_SITE}/privacy"
    terms_url: str = f"{PLACEHOLDER_SITE}/terms"
    accent_color: str = ACCENT
    valid_domains: tuple[str, ...] = field(default_factory=tuple)

    @property
    def placeholder_urls(self) -> list[str]:
        """The developer URLs still at their example.org defaults."""
        return [key for key in URL_KEYS if getattr(self, key).startswith(PLACEHOLDER_SITE)]


def _where(source: Path | None) -> str:
    return f"{source}: [app]" if source else "[app]"


def _text(table: Mapping[str, object], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise SettingsError(f"{where} {key}: expected non-empty text, got {value!r}")
    return value.strip()


def _url(value: str, key: str, where: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in value) or len(value) > 2048:
        raise SettingsError(f"{where} {key}: expected an https:// URL (Teams requires https), got {value!r}")
    return value


def _domains(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SettingsError(f"{where} valid_domains: expected a list of domain names, got {value!r}")
    domains: list[str] = []
    for item in value:
        domain = item.strip().lower()
        if not DOMAIN.match(domain):
            raise SettingsError(
                f"{where} valid_domains: {item!r} is not a domain name "
                "(give the bare host, e.g. reflect.example.org or *.example.org; no https://, no path)"
            )
        if domain not in domains:
            domains.append(domain)
    if len(domains) > MAX_DOMAINS:
        raise SettingsError(f"{where} valid_domains: at most {MAX_DOMAINS} domains, got {len(domains)}")
    return tuple(domains)


def parse_app_settings(table: Mapping[str, object], bot_id: str, source: Path | None = None) -> AppSettings:
    """The `[app]` table checked, with the bot's `MicrosoftAppId`; SettingsError names the bad value."""
    where = _where(source)
    unknown = sorted(set(table) - APP_KEYS)
    if unknown:
        raise SettingsError(
            f"{where} unknown setting(s): {', '.join(unknown)} (known: {', '.join(sorted(APP_KEYS))})"
        )
    if not bot_id:
        raise SettingsError(
            "MicrosoftAppId is not set: the Teams app package names the bot by its Azure Bot app id "
            "(a GUID); set MicrosoftAppId in the environment or the [bot] table"
        )
    if not GUID.match(bot_id):
        raise SettingsError(f"MicrosoftAppId: expected a GUID such as {EXAMPLE_GUID}, got {bot_id!r}")
    app_id = _text(table, "id", where)
    if app_id is None:
        raise SettingsError(
            f"{where} id is not set: the Teams app needs its own GUID, kept the same across versions "
            "(make one with: python -c 'import uuid; print(uuid.uuid4())')"
        )
    if not GUID.match(app_id):
        raise SettingsError(f"{where} id: expected a GUID such as {EXAMPLE_GUID}, got {app_id!r}")
    values: dict[str, str] = {}
    for key, limit in TEXT_LIMITS.items():
        text = _text(table, key, where)
        if text is not None:
            if len(text) > limit:
                raise SettingsError(f"{where} {key}: at most {limit} characters, got {len(text)}")
            values[key] = text
    for key in URL_KEYS:
        text = _text(table, key, where)
        if text is not None:
            values[key] = _url(text, key, where)
    version = _text(table, "version", where)
    if version is not None:
        if not SEMVER.match(version):
            raise SettingsError(f"{where} version: expected MAJOR.MINOR.PATCH such as 1.0.0, got {version!r}")
        values["version"] = version
    colour = _text(table, "accent_color", where)
    if colour is not None:
        if not HEX_COLOUR.match(colour):
            raise SettingsError(f"{where} accent_color: expected #RRGGBB such as {ACCENT}, got {colour!r}")
        values["accent_color"] = colour
    domains = _domains(table["valid_domains"], where) if "valid_domains" in table else ()
    return AppSettings(app_id=app_id, bot_id=bot_id, valid_domains=domains, **values)
