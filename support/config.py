"""Loading the settings file once, at the edge: `[programme]`/`[[programmes]]`, `[bot]`, `[mail]`, `[app]`."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from programme.errors import SettingsError
from programme.programmes import ProgrammeDefinition, parse_programmes
from programme.settings import ProgrammeSettings, parse_programme_settings

DEFAULT_SETTINGS_FILE = Path("reflect.toml")
DEFAULT_DB = Path("data") / "reflect.json"
KNOWN_TABLES = {"programme", "programmes", "bot", "mail", "app"}
MAIL_BACKENDS = ("pickup", "ews", "graph")
MAIL_KEYS = {
    "backend",
    "mailbox",
    "domain",
    "pickup_dir",
    "ews_url",
    "ews_auth",
    "ews_username",
    "ews_access",
    "ews_autodiscover",
    "tenant_id",
    "client_id",
    "graph_url",
    "login_url",
}
BOT_FRAMEWORK_OPENID_METADATA_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
# The public cloud's endpoints; national clouds (e.g. https://graph.microsoft.us/v1.0 and
# https://login.microsoftonline.us) and test fakes set their own in [mail].
GRAPH_URL = "https://graph.microsoft.com/v1.0"
LOGIN_URL = "https://login.microsoftonline.com"
BOT_KEYS = ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppType", "MicrosoftAppTenantId")


@dataclass(frozen=True)
class BotSettings:
    """The Bot Framework registration, under its usual names; no app id means local, unauthenticated use."""

    app_id: str = ""
    app_password: str = field(default="", repr=False)
    app_type: str = "MultiTenant"
    app_tenant_id: str = ""
    host: str = "127.0.0.1"
    port: int = 3978
    # The organisation's Entra ID tenant: activities from any other tenant are never recognised.
    # Empty means MicrosoftAppTenantId; both empty accepts every tenant (local use).
    tenant_id: str = ""
    # Where inbound tokens' signing keys are published (the Bot Framework's; settable for tests).
    openid_metadata_url: str = BOT_FRAMEWORK_OPENID_METADATA_URL

    @property
    def organisation_tenant(self) -> str:
        """The only tenant whose users are recognised ('' = any)."""
        return self.tenant_id or self.app_tenant_id


def _bot_settings(table: dict[str, object], path: Path | None) -> BotSettings:
    """[bot] values, each overridable by the environment variable of the same Bot Framework name."""
    unknown = sorted(set(table) - {*BOT_KEYS, "host", "port", "tenant_id", "openid_metadata_url"})
    if unknown:
        raise SettingsError(f"{path}: [bot] unknown setting(s): {', '.join(unknown)}")
    values = {key: str(os.environ.get(key) or table.get(key) or "") for key in BOT_KEYS}
    port = table.get("port", 3978)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise SettingsError(f"{path}: [bot] port: expected a TCP port number, got {port!r}")
    app_type = values["MicrosoftAppType"] or "MultiTenant"
    if app_type not in ("MultiTenant", "SingleTenant", "UserAssignedMSI"):
        raise SettingsError(
            f"MicrosoftAppType: expected MultiTenant, SingleTenant or UserAssignedMSI, got {app_type!r}"
        )
    return BotSettings(
        app_id=values["MicrosoftAppId"],
        app_password=values["MicrosoftAppPassword"],
        app_type=app_type,
        app_tenant_id=values["MicrosoftAppTenantId"],
        host=str(table.get("host", "127.0.0.1")),
        port=port,
        tenant_id=str(os.environ.get("REFLECT_TENANT_ID") or table.get("tenant_id") or "").strip(),
        openid_metadata_url=_https_url(table, "openid_metadata_url", BOT_FRAMEWORK_OPENID_METADATA_URL, path),
    )


def _https_url(table: dict[str, object], key: str, default: str, path: Path | None) -> str:
    value = table.get(key, default)
    # Plain http only to this machine (a test's key server): keys from elsewhere must come over TLS.
    if not isinstance(value, str) or not value.startswith(
        ("https://", "http://127.0.0.1:", "http://localhost:")
    ):
        raise SettingsError(f"{path}: [bot] {key}: expected an https:// URL")
    return value


@dataclass(frozen=True)
class MailConfig:
    """The `[mail]` table; secrets come from the environment only (never the file, never logs)."""

    backend: str = "pickup"
    mailbox: str = "reflection@example.org"
    domain: str = "reflect.local"
    pickup_dir: str = "data/mail"
    ews_url: str = ""
    ews_auth: str = "ntlm"  # basic | ntlm | oauth
    ews_username: str = ""
    ews_access: str = "impersonation"  # impersonation | delegate (OAuth)
    ews_autodiscover: bool = False
    tenant_id: str = ""
    client_id: str = ""
    graph_url: str = GRAPH_URL  # graph: the API base, version included
    login_url: str = LOGIN_URL  # graph, and ews oauth: the Entra ID sign-in host (https, as msal requires)
    password: str = field(default="", repr=False)  # $REFLECT_MAIL_PASSWORD (EWS Basic/NTLM)
    client_secret: str = field(default="", repr=False)  # $REFLECT_MAIL_CLIENT_SECRET (OAuth, Graph)


def _mail_config(table: dict[str, object], path: Path | None) -> MailConfig:
    unknown = sorted(set(table) - MAIL_KEYS)
    if unknown:
        raise SettingsError(f"{path}: [mail] unknown setting(s): {', '.join(unknown)}")
    texts = {key: value for key, value in table.items() if key != "ews_autodiscover"}
    wrong = sorted(key for key, value in texts.items() if not isinstance(value, str))
    if wrong:
        raise SettingsError(f"{path}: [mail] expected text for: {', '.join(wrong)}")
    config = MailConfig(
        **texts,  # type: ignore[arg-type]
        ews_autodiscover=bool(table.get("ews_autodiscover", False)),
        password=os.environ.get("REFLECT_MAIL_PASSWORD", ""),
        client_secret=os.environ.get("REFLECT_MAIL_CLIENT_SECRET", ""),
    )
    if config.backend not in MAIL_BACKENDS:
        raise SettingsError(
            f"{path}: [mail] backend: expected one of {', '.join(MAIL_BACKENDS)}, got {config.backend!r}"
        )
    if config.ews_auth not in ("basic", "ntlm", "oauth"):
        raise SettingsError(
            f"{path}: [mail] ews_auth: expected basic, ntlm or oauth, got {config.ews_auth!r}"
        )
    if config.backend == "ews" and not (config.ews_url or config.ews_autodiscover):
        raise SettingsError(f"{path}: [mail] ews needs ews_url (or ews_autodiscover = true)")
    if config.backend == "graph" and not (config.tenant_id and config.client_id):
        raise SettingsError(f"{path}: [mail] graph needs tenant_id and client_id")
    for key, schemes in (("graph_url", ("https", "http")), ("login_url", ("https",))):
        url = urlsplit(getattr(config, key))
        if url.scheme not in schemes or not url.netloc or url.query or url.fragment:
            raise SettingsError(
                f"{path}: [mail] {key}: expected an {' or '.join(schemes)} URL, got {getattr(config, key)!r}"
            )
    return config


@dataclass(frozen=True)
class Settings:
    """Everything read from the settings file."""

    programme: ProgrammeSettings = field(default_factory=ProgrammeSettings)
    # The deployment's programmes (`[[programmes]]`, or the one `[programme]` describes); empty for
    # the built-in defaults, which are one programme too (ProgrammeService fills it in).
    programmes: tuple[ProgrammeDefinition, ...] = ()
    bot: BotSettings = field(default_factory=BotSettings)
    mail: MailConfig = field(default_factory=MailConfig)
    # The Teams app package's `[app]` table, parsed by the manifest builder that uses it.
    app: dict[str, object] = field(default_factory=dict)
    source: Path | None = None


def settings_path(explicit: str | None) -> Path | None:
    """--settings, else $REFLECT_SETTINGS, else ./reflect.toml when it exists, else none (defaults)."""
    if explicit:
        return Path(explicit)
    if os.environ.get("REFLECT_SETTINGS"):
        return Path(os.environ["REFLECT_SETTINGS"])
    return DEFAULT_SETTINGS_FILE if DEFAULT_SETTINGS_FILE.exists() else None


def load_settings(path: Path | None) -> Settings:
    """Settings from a TOML file, or the defaults when there is none."""
    if path is None:
        return Settings(bot=_bot_settings({}, None), mail=_mail_config({}, None))
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise SettingsError(f"{path}: not valid TOML: {error}") from None
    unknown = sorted(set(data) - KNOWN_TABLES)
    if unknown:
        raise SettingsError(f"{path}: unknown section(s): {', '.join(unknown)}")
    try:
        programme = parse_programme_settings(data.get("programme", {}))
    except SettingsError as error:
        raise SettingsError(f"{path}: [programme] {error}") from None
    try:
        programmes = parse_programmes(data)
    except SettingsError as error:
        raise SettingsError(f"{path}: {error}") from None
    return Settings(
        programme=programme,
        programmes=programmes,
        bot=_bot_settings(data.get("bot", {}), path),
        mail=_mail_config(data.get("mail", {}), path),
        app=dict(data.get("app", {})),
        source=path,
    )


def db_path(explicit: str | None) -> Path:
    """--db, else $REFLECT_DB, else ./data/reflect.json."""
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("REFLECT_DB") or DEFAULT_DB)
