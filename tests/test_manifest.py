"""The Teams app package: settings, the manifest against the official schema, icons, and the zip.

The official schemas come from the pinned npm package `@microsoft/app-manifest` in
tools/app-manifest (`npm ci` there, or ./scripts/setup.sh); tests that need them skip without it.
"""

from __future__ import annotations

import copy
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from PIL import Image

from cli import manifest as manifest_cli
from cli.main import main as reflect
from manifest import build, icons
from manifest.app_settings import AppSettings, parse_app_settings
from programme.errors import ManifestError, SettingsError
from support.config import BotSettings, Settings, load_settings

BOT_ID = "11111111-2222-4333-8444-555555555555"
APP_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
REPO = Path(build.__file__).resolve().parent.parent
NODE_MODULES = REPO / "tools" / "app-manifest" / "node_modules"
SCHEMA_FILE = build.schema_file()

needs_schema = pytest.mark.skipif(
    not SCHEMA_FILE.exists(),
    reason=f"{NODE_MODULES} is missing: run `npm ci` in tools/app-manifest (or ./scripts/setup.sh) "
    "to get the official Teams manifest schemas",
)


def _settings(app: dict[str, object] | None = None, bot_id: str = BOT_ID) -> Settings:
    return Settings(bot=BotSettings(app_id=bot_id), app={"id": APP_ID} if app is None else app)


def _schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def _build_zip(tmp_path: Path, settings: Settings | None = None) -> Path:
    out = tmp_path / "out" / "app.zip"
    assert manifest_cli.write_package(settings or _settings(), out) == 0
    return out


def _zipped_manifest(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as archive:
        manifest: dict[str, Any] = json.loads(archive.read("manifest.json"))
    return manifest


def _manifest() -> dict[str, Any]:
    return build.build_manifest(parse_app_settings({"id": APP_ID}, BOT_ID))


# -- the official schema --------------------------------------------------------------------------


@needs_schema
def test_built_manifest_conforms_to_the_official_schema(tmp_path: Path) -> None:
    manifest = _zipped_manifest(_build_zip(tmp_path))
    schema = _schema()
    # As the schema declares itself (draft-04), with jsonschema's format checker ("uri")...
    plain = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    assert "uri" in plain.format_checker.checkers, "install rfc3986-validator so 'uri' is checked"
    assert [error.message for error in plain.iter_errors(manifest)] == []
    # ...and with the draft-07 keywords it also uses (const manifestVersion, if/then) enforced.
    assert build.schema_problems(manifest, schema) == []
    assert manifest["manifestVersion"] == schema["properties"]["manifestVersion"]["const"]
    assert manifest["$schema"] == (
        f"https://developer.microsoft.com/json-schemas/teams/v{manifest['manifestVersion']}"
        "/MicrosoftTeams.schema.json"
    )


@needs_schema
def test_manifest_uses_the_newest_schema_bundled() -> None:
    bundled = [
        tuple(int(part) for part in path.name[1:].split("."))
        for path in build.SCHEMAS_DIR.iterdir()
        if re.fullmatch(r"v\d+\.\d+", path.name)
    ]
    newest = ".".join(str(part) for part in max(bundled))
    assert build.manifest_version() == newest


def _without_bot_id(m: dict[str, Any]) -> None:
    del m["bots"][0]["botId"]


def _bad_bot_id(m: dict[str, Any]) -> None:
    m["bots"][0]["botId"] = "not-a-guid"


def _thirteen_commands(m: dict[str, Any]) -> None:
    m["bots"][0]["commandLists"][0]["commands"] = [{"title": f"c{n}"} for n in range(13)]


def _older_version(m: dict[str, Any]) -> None:
    m["manifestVersion"] = "1.29"


def _relative_schema(m: dict[str, Any]) -> None:
    m["$schema"] = "MicrosoftTeams.schema.json"


def _named_colour(m: dict[str, Any]) -> None:
    m["accentColor"] = "teal"


def _unknown_property(m: dict[str, Any]) -> None:
    m["botName"] = "Peer Reflection"


def _bad_rsc_type(m: dict[str, Any]) -> None:
    m["authorization"]["permissions"]["resourceSpecific"][0]["type"] = "Tenant"


@needs_schema
@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        (_without_bot_id, "/bots/0"),
        (_bad_bot_id, "/bots/0/botId"),
        (_thirteen_commands, "/bots/0/commandLists/0/commands"),
        (_older_version, "/manifestVersion"),
        (_relative_schema, "/$schema"),
        (_named_colour, "/accentColor"),
        (_unknown_property, "/"),
        (_bad_rsc_type, "/authorization/permissions/resourceSpecific/0/type"),
    ],
)
def test_schema_validation_catches_a_broken_manifest(breakage: Any, where: str) -> None:
    manifest = _manifest()
    breakage(manifest)
    problems = build.schema_problems(manifest, _schema())
    assert problems, "the broken manifest passed"
    assert any(problem.startswith(f"{where}:") for problem in problems), problems


@needs_schema
def test_build_refuses_a_manifest_the_schema_rejects(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = _manifest()
    broken["accentColor"] = "teal"
    monkeypatch.setattr(build, "build_manifest", lambda app: broken)
    out = tmp_path / "app.zip"
    with pytest.raises(ManifestError, match=r"/accentColor: 'teal' does not match"):
        manifest_cli.write_package(_settings(), out)
    assert not out.exists()


def test_build_without_the_schema_still_packages_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(build, "SCHEMAS_DIR", tmp_path / "no-schemas")
    out = _build_zip(tmp_path)
    assert zipfile.ZipFile(out).namelist() == ["manifest.json", "color.png", "outline.png"]
    assert "not validated" in capsys.readouterr().err


# -- the manifest's content ------------------------------------------------------------------------


def test_manifest_is_filled_from_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppType", "MicrosoftAppTenantId"):
        monkeypatch.delenv(key, raising=False)
    path = tmp_path / "reflect.toml"
    path.write_text(
        f"""
[bot]
MicrosoftAppId = "{BOT_ID}"

[app]
id = "{APP_ID}"
version = "2.3.4"
short_name = "Reflect"
full_name = "Reflect: peer reflection at Example Health"
short_description = "Monthly reflection groups and peer pairs."
full_description = "Everything about the programme, in Teams."
developer_name = "Example Health People Team"
website_url = "https://people.example.org/reflect"
privacy_url = "https://people.example.org/privacy"
terms_url = "https://people.example.org/terms"
accent_color = "#123ABC"
valid_domains = ["Reflect.Example.org", "reflect.example.org", "*.example.org"]
""",
        encoding="utf-8",
    )
    manifest = _zipped_manifest(_build_zip(tmp_path, load_settings(path)))
    assert manifest["id"] == APP_ID
    assert manifest["version"] == "2.3.4"
    assert manifest["name"] == {"short": "Reflect", "full": "Reflect: peer reflection at Example Health"}
    assert manifest["description"] == {
        "short": "Monthly reflection groups and peer pairs.",
        "full": "Everything about the programme, in Teams.",
    }
    assert manifest["developer"] == {
        "name": "Example Health People Team",
        "websiteUrl": "https://people.example.org/reflect",
        "privacyUrl": "https://people.example.org/privacy",
        "termsOfUseUrl": "https://people.example.org/terms",
    }
    assert manifest["accentColor"] == "#123ABC"
    assert manifest["validDomains"] == ["reflect.example.org", "*.example.org"]
    assert [bot["botId"] for bot in manifest["bots"]] == [BOT_ID]
    assert manifest["webApplicationInfo"] == {"id": BOT_ID, "resource": f"api://botid-{BOT_ID}"}


def test_bot_id_from_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = "99999999-8888-4777-8666-555555555555"
    monkeypatch.setenv("MicrosoftAppId", other)
    path = tmp_path / "reflect.toml"
    path.write_text(f'[bot]\nMicrosoftAppId = "{BOT_ID}"\n[app]\nid = "{APP_ID}"\n', encoding="utf-8")
    manifest = _zipped_manifest(_build_zip(tmp_path, load_settings(path)))
    assert manifest["bots"][0]["botId"] == other
    assert manifest["webApplicationInfo"]["id"] == other


def test_defaults_fit_teams_limits_and_differ_from_each_other() -> None:
    app = parse_app_settings({"id": APP_ID}, BOT_ID)
    assert len(app.short_name) <= 30 and len(app.full_name) <= 100
    assert len(app.short_description) <= 80 and len(app.full_description) <= 4000
    assert app.short_description != app.full_description
    assert app.accent_color == icons.ACCENT
    assert app.placeholder_urls == ["website_url", "privacy_url", "terms_url"]


def test_bot_is_conversational_in_every_scope() -> None:
    (bot,) = _manifest()["bots"]
    assert bot["scopes"] == ["personal", "team", "groupChat"]
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False


def test_command_lists_are_within_teams_limits_and_are_real_commands() -> None:
    from surfaces.teams_routes import TEXT_COMMANDS
    from teams_bot.bot import GROUP_CHAT_COMMANDS

    (bot,) = _manifest()["bots"]
    lists = bot["commandLists"]
    assert len(lists) <= 3
    scopes = [scope for entry in lists for scope in entry["scopes"]]
    assert sorted(scopes) == sorted(bot["scopes"]), "one command list per bot scope"
    if SCHEMA_FILE.exists():
        command_schema = _schema()["properties"]["bots"]["items"]["properties"]["commandLists"]
        assert build.MAX_COMMANDS_PER_LIST <= command_schema["items"]["properties"]["commands"]["maxItems"]
    known = {command.words[0] for command in TEXT_COMMANDS}
    by_scope = {scope: entry["commands"] for entry in lists for scope in entry["scopes"]}
    for scope, commands in by_scope.items():
        titles = [command["title"] for command in commands]
        assert 1 <= len(titles) <= build.MAX_COMMANDS_PER_LIST, scope
        assert len(set(titles)) == len(titles), scope
        assert set(titles) <= known, f"{scope}: the bot does not answer {set(titles) - known}"
        for command in commands:
            assert len(command["title"]) <= build.MAX_COMMAND_TITLE
            assert 0 < len(command["description"]) <= build.MAX_COMMAND_DESCRIPTION
    # Outside the 1:1 chat the bot acts only on GROUP_CHAT_COMMANDS (and points everything else,
    # help included, to the 1:1 chat); in the 1:1 chat, linking a meeting chat means nothing.
    for scope in ("team", "groupChat"):
        assert {c["title"] for c in by_scope[scope]} <= set(GROUP_CHAT_COMMANDS) | {"help"}
    assert "link" in {c["title"] for c in by_scope["groupChat"]}
    personal = {c["title"] for c in by_scope["personal"]}
    assert not personal & set(GROUP_CHAT_COMMANDS)
    # Each role finds its commands in the menu.
    assert {"rsvp", "checkout", "peer", "goals"} <= personal
    assert {"intro", "coming", "attendance"} <= personal
    assert {"announce", "escalations"} <= personal


def test_command_limits_are_enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    crowded = _manifest()
    crowded["bots"][0]["commandLists"][0]["commands"] += [{"title": "x" * 33, "description": "d" * 129}]
    assert build.limit_problems(crowded) == [
        "personal: 11 commands, at most 10",
        f"personal: command title {'x' * 33!r} is too long",
        f"personal: description of {'x' * 33!r} is too long",
    ]
    monkeypatch.setattr(build, "build_manifest", lambda app: crowded)
    out = tmp_path / "app.zip"
    with pytest.raises(ManifestError, match="exceed Teams' limits"):
        manifest_cli.write_package(_settings(), out)
    assert not out.exists()


def test_resource_specific_permissions_match_what_the_bot_does() -> None:
    sources = "".join(path.read_text(encoding="utf-8") for path in (REPO / "teams_bot").glob("*.py"))
    names = {item["name"] for item in _manifest()["authorization"]["permissions"]["resourceSpecific"]}
    assert {item["type"] for item in _manifest()["authorization"]["permissions"]["resourceSpecific"]} == {
        "Application"
    }
    # meetingStart/meetingEnd events reach a bot in a meeting chat only with this permission.
    assert "application/vnd.microsoft.meetingEnd" in sources
    assert "OnlineMeeting.ReadBasic.Chat" in names
    # Targeted in-meeting notifications (POST /v1/meetings/{id}/notification): declared iff sent.
    assert ("OnlineMeetingNotification.Send.Chat" in names) == ("/notification" in sources)
    # The bot acts only on messages that @mention it, which need no permission; reading every
    # message of a chat would go against the programme's confidentiality.
    assert "ChatMessage.Read.Chat" not in names


# -- icons ------------------------------------------------------------------------------------------


def test_colour_icon_is_192_full_colour() -> None:
    with Image.open(icons.COLOR_FILE) as image:
        image.verify()
    with Image.open(icons.COLOR_FILE) as image:
        assert image.format == "PNG"
        assert image.size == (192, 192)
        rgba = image.convert("RGBA")
    pixels = list(rgba.get_flattened_data())
    assert all(alpha == 255 for *_, alpha in pixels)
    accent = tuple(int(icons.ACCENT[i : i + 2], 16) for i in (1, 3, 5))
    assert pixels[0][:3] == accent  # the background
    assert (255, 255, 255, 255) in pixels  # the motif
    assert len(set(pixels)) > 2  # anti-aliased edges, not a two-colour stencil


def test_outline_icon_is_32_white_on_transparent() -> None:
    with Image.open(icons.OUTLINE_FILE) as image:
        image.verify()
    with Image.open(icons.OUTLINE_FILE) as image:
        assert image.format == "PNG"
        assert image.size == (32, 32)
        assert image.mode == "RGBA"
        pixels = list(image.get_flattened_data())
    not_white = [pixel for pixel in pixels if pixel[3] != 0 and pixel[:3] != (255, 255, 255)]
    assert not_white == [], "every pixel must be fully transparent or white"
    transparent = sum(1 for pixel in pixels if pixel[3] == 0)
    opaque = sum(1 for pixel in pixels if pixel[3] == 255)
    assert transparent >= 32 * 32 // 3, "the background must be transparent"
    assert opaque >= 32 * 32 // 5, "the motif must be there"
    corners = [pixels[0], pixels[31], pixels[32 * 31], pixels[-1]]
    assert all(pixel[3] == 0 for pixel in corners)


@pytest.mark.parametrize(
    ("draw", "path"), [(icons.color_icon, icons.COLOR_FILE), (icons.outline_icon, icons.OUTLINE_FILE)]
)
def test_committed_icons_are_what_the_code_draws(draw: Any, path: Path) -> None:
    with Image.open(io.BytesIO(draw())) as drawn, Image.open(path) as committed:
        assert (drawn.mode, drawn.size) == (committed.mode, committed.size)
        assert drawn.tobytes() == committed.tobytes(), f"run `python -m manifest.icons` to redraw {path.name}"


# -- the zip ----------------------------------------------------------------------------------------


def test_zip_holds_exactly_the_manifest_and_two_icons_at_its_root(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _build_zip(tmp_path)
    assert capsys.readouterr().out.strip() == str(out)
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert archive.namelist() == ["manifest.json", "color.png", "outline.png"]
        assert not any(info.is_dir() for info in archive.infolist())
        assert archive.read("color.png") == icons.COLOR_FILE.read_bytes()
        assert archive.read("outline.png") == icons.OUTLINE_FILE.read_bytes()
        manifest = json.loads(archive.read("manifest.json").decode("utf-8"))
    assert manifest["icons"] == {"color": "color.png", "outline": "outline.png"}
    assert [path.name for path in out.parent.iterdir()] == ["app.zip"], "no temporary file left behind"


def test_same_settings_give_the_same_zip(tmp_path: Path) -> None:
    first = _build_zip(tmp_path).read_bytes()
    assert _build_zip(tmp_path).read_bytes() == first


def test_cli_builds_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    path = tmp_path / "reflect.toml"
    path.write_text(f'[bot]\nMicrosoftAppId = "{BOT_ID}"\n[app]\nid = "{APP_ID}"\n', encoding="utf-8")
    out = tmp_path / "pkg" / "teams.zip"
    assert reflect(["manifest", "build", "--settings", str(path), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert _zipped_manifest(out)["id"] == APP_ID


# -- settings errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "bot_id", "message"),
    [
        ({"id": APP_ID}, "", r"MicrosoftAppId is not set"),
        ({"id": APP_ID}, "my-bot", r"MicrosoftAppId: expected a GUID.*'my-bot'"),
        ({"id": APP_ID}, BOT_ID + "0", r"MicrosoftAppId: expected a GUID"),
        ({}, BOT_ID, r"\[app\] id is not set"),
        ({"id": "peer-reflection"}, BOT_ID, r"\[app\] id: expected a GUID.*'peer-reflection'"),
        ({"id": APP_ID, "website_url": "http://example.org"}, BOT_ID, r"website_url: expected an https://"),
        ({"id": APP_ID, "privacy_url": "https://"}, BOT_ID, r"privacy_url: expected an https://"),
        ({"id": APP_ID, "terms_url": "example.org/terms"}, BOT_ID, r"terms_url: expected an https://"),
        ({"id": APP_ID, "version": "1.0"}, BOT_ID, r"version: expected MAJOR.MINOR.PATCH"),
        ({"id": APP_ID, "version": "v1.0.0"}, BOT_ID, r"version: expected MAJOR.MINOR.PATCH"),
        ({"id": APP_ID, "accent_color": "teal"}, BOT_ID, r"accent_color: expected #RRGGBB"),
        ({"id": APP_ID, "short_name": "x" * 31}, BOT_ID, r"short_name: at most 30 characters, got 31"),
        ({"id": APP_ID, "developer_name": ""}, BOT_ID, r"developer_name: expected non-empty text"),
        ({"id": APP_ID, "valid_domains": "example.org"}, BOT_ID, r"valid_domains: expected a list"),
        (
            {"id": APP_ID, "valid_domains": ["https://reflect.example.org/"]},
            BOT_ID,
            r"valid_domains: 'https://reflect.example.org/' is not a domain name",
        ),
        ({"id": APP_ID, "name": "Reflect"}, BOT_ID, r"\[app\] unknown setting\(s\): name "),
    ],
)
def test_bad_settings_are_named_and_write_no_zip(
    tmp_path: Path, app: dict[str, object], bot_id: str, message: str
) -> None:
    out = tmp_path / "out" / "app.zip"
    with pytest.raises(SettingsError, match=message):
        manifest_cli.write_package(_settings(app, bot_id), out)
    assert not out.parent.exists()


def test_cli_reports_a_missing_app_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MicrosoftAppId", raising=False)
    path = tmp_path / "reflect.toml"
    path.write_text(f'[bot]\nMicrosoftAppId = "{BOT_ID}"\n', encoding="utf-8")
    out = tmp_path / "app.zip"
    assert reflect(["manifest", "build", "--settings", str(path), "--out", str(out)]) == 1
    assert f"reflect: {path}: [app] id is not set" in capsys.readouterr().err
    assert not out.exists()


def test_app_settings_keep_the_checked_values() -> None:
    app = parse_app_settings({"id": APP_ID, "short_name": "  Reflect  "}, BOT_ID)
    assert app == AppSettings(app_id=APP_ID, bot_id=BOT_ID, short_name="Reflect")
    unchanged = copy.deepcopy(build.load_template())
    build.build_manifest(app)
    assert build.load_template() == unchanged
