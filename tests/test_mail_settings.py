"""The `[mail]` and `[bot]` settings and the mailer each backend setting opens."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailers.factory import open_mailer
from programme.errors import SettingsError
from support.config import BOT_FRAMEWORK_OPENID_METADATA_URL, MailConfig, load_settings
from support.mail import MailMessage
from tests.fakes.graph_server import FakeGraph

MAILBOX = "reflection@contoso.example"


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reflect.toml"
    path.write_text(text)
    return path


def test_defaults_use_the_pickup_backend_and_local_bot(tmp_path: Path) -> None:
    settings = load_settings(settings_file(tmp_path, "[programme]\n"))
    assert settings.mail.backend == "pickup" and settings.mail.pickup_dir == "data/mail"
    assert settings.bot.app_id == "" and (settings.bot.host, settings.bot.port) == ("127.0.0.1", 3978)
    assert settings.bot.openid_metadata_url == BOT_FRAMEWORK_OPENID_METADATA_URL


def test_the_openid_metadata_url_is_a_bot_setting(tmp_path: Path) -> None:
    url = "https://login.botframework.azure.us/v1/.well-known/openidconfiguration"
    settings = load_settings(settings_file(tmp_path, f'[bot]\nopenid_metadata_url = "{url}"\n'))
    assert settings.bot.openid_metadata_url == url


def test_bot_settings_come_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MicrosoftAppId", "00000000-0000-4000-8000-000000000001")
    monkeypatch.setenv("MicrosoftAppPassword", "s3cret")
    settings = load_settings(
        settings_file(tmp_path, '[bot]\nMicrosoftAppType = "SingleTenant"\nport = 4000\n')
    )
    assert settings.bot.app_id == "00000000-0000-4000-8000-000000000001"
    assert settings.bot.app_type == "SingleTenant" and settings.bot.port == 4000
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[mail]\nbackend = "smtp"\n', "backend: expected one of pickup, ews, graph"),
        ('[mail]\nbackend = "ews"\n', "ews needs ews_url"),
        ('[mail]\nbackend = "graph"\ntenant_id = "t"\n', "graph needs tenant_id and client_id"),
        ('[mail]\news_auth = "kerberos"\n', "ews_auth: expected basic, ntlm or oauth"),
        ("[mail]\nmailbox = 5\n", "expected text for: mailbox"),
        ('[mail]\nsmtp_host = "x"\n', "unknown setting(s): smtp_host"),
        ('[bot]\nMicrosoftAppType = "Other"\n', "MicrosoftAppType: expected"),
        ('[bot]\nport = "80"\n', "port: expected a TCP port number"),
        (
            '[bot]\nopenid_metadata_url = "http://keys.example/openid"\n',
            "openid_metadata_url: expected an https",
        ),
        ("[bot]\nopenid_metadata_url = 5\n", "openid_metadata_url: expected an https"),
    ],
)
def test_bad_mail_and_bot_settings_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(settings_file(tmp_path, text))
    assert message in str(caught.value)


def _open(config: MailConfig) -> str:
    async def run() -> str:
        async with open_mailer(config, lambda: datetime(2026, 12, 1, tzinfo=UTC), "Europe/London") as mailer:
            return type(mailer).__name__

    return asyncio.run(run())


def test_each_backend_opens_its_mailer(tmp_path: Path) -> None:
    assert _open(MailConfig(pickup_dir=str(tmp_path / "mail"))) == "PickupMailer"
    graph = MailConfig(backend="graph", tenant_id="contoso.example", client_id="app", client_secret="x")
    assert _open(graph) == "GraphMailer"
    ews = MailConfig(
        backend="ews", ews_url="https://127.0.0.1:1/EWS/Exchange.asmx", ews_username="svc", password="x"
    )
    assert _open(ews) == "EwsMailer"


@pytest.mark.parametrize(
    ("config", "variable"),
    [
        (MailConfig(backend="graph", tenant_id="t", client_id="c"), "REFLECT_MAIL_CLIENT_SECRET"),
        (MailConfig(backend="ews", ews_url="https://127.0.0.1:1/EWS/Exchange.asmx"), "REFLECT_MAIL_PASSWORD"),
    ],
)
def test_missing_secrets_are_clear(config: MailConfig, variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        _open(config)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[mail]\ngraph_url = "graph.microsoft.us"\n', "graph_url: expected an https or http URL"),
        ('[mail]\nlogin_url = "http://login.example"\n', "login_url: expected an https URL"),
    ],
)
def test_bad_endpoints_are_named(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings(settings_file(tmp_path, text))


def test_graph_and_sign_in_endpoints_come_from_the_settings(tmp_path: Path) -> None:
    # A national cloud: its own sign-in host (routed to the fake by msal's HTTP client hook) and
    # its own Graph endpoint. Nothing may go to the public cloud's hosts.
    sovereign = "https://login.sovereign.example"

    async def run() -> None:
        async with FakeGraph(authority_host=sovereign) as fake:
            text = (
                f'[mail]\nbackend = "graph"\nmailbox = "{MAILBOX}"\ntenant_id = "{fake.tenant}"\n'
                f'client_id = "{fake.client_id}"\ngraph_url = "{fake.graph_url}"\nlogin_url = "{sovereign}"\n'
            )
            config = replace(
                load_settings(settings_file(tmp_path, text)).mail, client_secret=fake.client_secret
            )
            assert (config.graph_url, config.login_url) == (fake.graph_url, sovereign)
            client = fake.msal_http_client()
            clock = lambda: datetime(2026, 12, 1, tzinfo=UTC)  # noqa: E731
            async with open_mailer(config, clock, "Europe/London", msal_http_client=client) as mailer:
                await mailer.send_mail(MailMessage(("ann@x.org",), "Hi", "Hello", MAILBOX, "m-1"))
            assert client.urls and all(url.startswith(sovereign) for url in client.urls)
            assert fake.token_requests[0]["scope"] == f"{fake.url}/.default"  # the cloud's own scope
            assert len(fake.sent_mail) == 1 and fake.graph_calls("POST", "/sendMail")

    asyncio.run(run())
