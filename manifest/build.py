"""The Teams app package (manifest.json, color.png, outline.png) as one zip (`reflect manifest build`).

The manifest is `manifest.template.json` with the `null` values filled from settings, as JSON values
(never by editing JSON text). Before the zip is written the manifest is checked against the
official schema for its `manifestVersion`, as bundled by the pinned npm package
`@microsoft/app-manifest` in tools/app-manifest (`npm ci` there); without it the build still runs and
says it could not validate.
"""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from manifest.app_settings import AppSettings
from manifest.icons import COLOR_FILE, COLOR_SIZE, OUTLINE_FILE, OUTLINE_SIZE
from programme.errors import ManifestError

HERE = Path(__file__).resolve().parent
TEMPLATE_FILE = HERE / "manifest.template.json"
SCHEMAS_DIR = (
    HERE.parent
    / "tools"
    / "app-manifest"
    / "node_modules"
    / "@microsoft"
    / "app-manifest"
    / "build"
    / "json-schemas"
    / "teams"
)
# Teams' documented limits for bot command lists; the schema of 1.25 and later allows 12 commands per
# list, older clients and the manifest reference say 10, so 10 is what every client shows.
MAX_COMMANDS_PER_LIST = 10
MAX_COMMAND_TITLE = 32
MAX_COMMAND_DESCRIPTION = 128
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same settings give the same zip, byte for byte

Json = dict[str, Any]


def load_template() -> Json:
    """The manifest template, with `null` wherever a value comes from settings."""
    template: Json = json.loads(TEMPLATE_FILE.read_text(encoding="utf-8"))
    return template


def manifest_version() -> str:
    """The template's manifestVersion, e.g. "1.30"."""
    return str(load_template()["manifestVersion"])


def schema_file(version: str | None = None) -> Path:
    """Where the bundled official schema of a manifest version lives (it may not be installed)."""
    return SCHEMAS_DIR / f"v{version or manifest_version()}" / "MicrosoftTeams.schema.json"


def _nulls(value: Any, path: str = "") -> Iterator[str]:
    if value is None:
        yield path or "/"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nulls(item, f"{path}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nulls(item, f"{path}/{index}")


def build_manifest(app: AppSettings) -> Json:
    """The manifest for these settings: the template with every `null` filled."""
    manifest = copy.deepcopy(load_template())
    manifest["id"] = app.app_id
    manifest["version"] = app.version
    manifest["developer"] = {
        "name": app.developer_name,
        "websiteUrl": app.website_url,
        "privacyUrl": app.privacy_url,
        "termsOfUseUrl": app.terms_url,
    }
    manifest["name"] = {"short": app.short_name, "full": app.full_name}
    manifest["description"] = {"short": app.short_description, "full": app.full_description}
    manifest["accentColor"] = app.accent_color
    manifest["validDomains"] = list(app.valid_domains)
    for bot in manifest["bots"]:
        bot["botId"] = app.bot_id
    # Resource-specific consent is granted to the bot's Entra app, named here; `botid-` is the
    # Application ID URI form Teams documents for a bot's app registration.
    manifest["webApplicationInfo"] = {"id": app.bot_id, "resource": f"api://botid-{app.bot_id}"}
    unfilled = list(_nulls(manifest))
    if unfilled:
        raise ManifestError(f"manifest template values left unfilled: {', '.join(unfilled)}")
    return manifest


def schema_validator(schema: Json) -> Any:
    """A validator for a Teams manifest schema, with format checks ("uri") on.

    The schemas declare JSON Schema draft-04 but use `const` (manifestVersion) and `if`/`then`,
    which draft-04 does not know and would silently ignore; those keywords are added from draft 7,
    as Teams' own tooling (ajv) applies them.
    """
    from jsonschema import Draft4Validator, Draft7Validator, validators  # type: ignore[import-untyped]

    keywords = {name: Draft7Validator.VALIDATORS[name] for name in ("const", "if")}
    validator_class = validators.extend(Draft4Validator, keywords)
    # The schema itself is checked against the draft-04 meta-schema without its "regex" format:
    # a few patterns (Office add-in function names) use ECMAScript's \p{L}, which Python's `re`
    # cannot compile. Nothing this app's manifest contains is matched against those patterns.
    Draft4Validator(Draft4Validator.META_SCHEMA).validate(schema)
    return validator_class(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def schema_problems(manifest: Json, schema: Json) -> list[str]:
    """Every place the manifest breaks the schema, as `path: message`; empty when it conforms."""
    errors = sorted(schema_validator(schema).iter_errors(manifest), key=lambda error: list(error.path))
    return [f"/{'/'.join(str(part) for part in error.path)}: {error.message}" for error in errors]


def limit_problems(manifest: Json) -> list[str]:
    """Bot command lists beyond what Teams shows: too many commands, titles or descriptions too long."""
    problems = []
    for bot in manifest.get("bots", []):
        for entry in bot.get("commandLists", []):
            scopes = "/".join(entry["scopes"])
            if len(entry["commands"]) > MAX_COMMANDS_PER_LIST:
                count = len(entry["commands"])
                problems.append(f"{scopes}: {count} commands, at most {MAX_COMMANDS_PER_LIST}")
            for command in entry["commands"]:
                if len(command["title"]) > MAX_COMMAND_TITLE:
                    problems.append(f"{scopes}: command title {command['title']!r} is too long")
                if len(command.get("description", "")) > MAX_COMMAND_DESCRIPTION:
                    problems.append(f"{scopes}: description of {command['title']!r} is too long")
    return problems


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header; ManifestError if it is not a PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ManifestError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _icon(path: Path, size: int) -> bytes:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ManifestError(f"{path}: icon missing (python -m manifest.icons draws it)") from None
    if png_size(data) != (size, size):
        raise ManifestError(f"{path}: expected a {size}x{size} PNG, got {png_size(data)}")
    return data


def package(manifest: Json) -> bytes:
    """The zip Teams expects: manifest.json, color.png and outline.png at its root, nothing else."""
    files = {
        "manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"),
        manifest["icons"]["color"]: _icon(COLOR_FILE, COLOR_SIZE),
        manifest["icons"]["outline"]: _icon(OUTLINE_FILE, OUTLINE_SIZE),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _validate(manifest: Json) -> str | None:
    """Check the manifest against its bundled schema; a note when that cannot be done, else None."""
    path = schema_file(str(manifest["manifestVersion"]))
    if not path.exists():
        return f"not validated: {path} is missing (run `npm ci` in tools/app-manifest)"
    if importlib.util.find_spec("jsonschema") is None:
        return "not validated: the Python package jsonschema is not installed"
    problems = schema_problems(manifest, json.loads(path.read_text(encoding="utf-8")))
    if problems:
        raise ManifestError("the manifest does not conform to its schema:\n  " + "\n  ".join(problems))
    return None


@dataclass(frozen=True)
class AppPackage:
    """A built, checked app package: the zip's bytes, and what the builder should be told."""

    data: bytes
    validation_note: str | None  # why the schema check could not run, if it could not
    placeholder_urls: list[str]  # [app] URL settings still at their example.org defaults


def build_package(app: AppSettings) -> AppPackage:
    """Build the manifest, check it against Teams' limits and its schema, and zip it with the icons."""
    manifest = build_manifest(app)
    limits = limit_problems(manifest)
    if limits:
        raise ManifestError("the bot's command lists exceed Teams' limits:\n  " + "\n  ".join(limits))
    note = _validate(manifest)
    return AppPackage(package(manifest), note, list(app.placeholder_urls))
