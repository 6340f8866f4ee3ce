"""Recognising a person in stored text, replacing them with an anonymous placeholder, and retention.

Pure helpers of the privacy tools (`reflect person export|erase`, the free-text retention job): no
I/O. A person is recognised by their email, their full name and their Teams ids, wherever those
appear inside a string (a key such as "thu-coach-1:ann@x.org", a card's "Ann Able introduces ...").
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

PLACEHOLDER_PREFIX = "erased-"

# Characters that would extend an email's local part to the left. "+" is left out on purpose (the
# outbox joins a pair's addresses with it: "goals_mail:2027-Q1:ann@x.org+bo@x.org"), and so is "'"
# (text quotes addresses with it).
_LOCAL_PART = r"A-Za-z0-9._%\-"


def email_pattern(email: str) -> str:
    """A regex for the address as a whole (not "ann@x.org" inside "joann@x.org" or "ann@x.org.uk")."""
    return rf"(?<![{_LOCAL_PART}]){re.escape(email)}(?![A-Za-z0-9\-]|\.[A-Za-z0-9])"


def name_pattern(name: str) -> str:
    """A regex for a full name as whole words, any run of spaces between them."""
    words = [re.escape(word) for word in name.split()]
    return r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"


def id_pattern(ident: str) -> str:
    """A regex for an opaque id (Teams user id, AAD object id) not embedded in a longer id."""
    return rf"(?<![\w\-]){re.escape(ident)}(?![\w\-])"


def new_placeholder() -> str:
    """A fresh anonymous stand-in ("erased-3f9c0a1b2c4d"): random, so nothing can be traced back."""
    return PLACEHOLDER_PREFIX + secrets.token_hex(6)


@dataclass(frozen=True)
class Identity:
    """What identifies one person in stored text: email, full name (when unambiguous), Teams ids."""

    email: str
    name: str | None = None
    ids: tuple[str, ...] = ()
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = [email_pattern(self.email)]
        if self.name and self.name.split():
            parts.append(name_pattern(self.name))
        parts.extend(id_pattern(ident) for ident in self.ids if ident)
        pattern = re.compile("|".join(f"(?:{part})" for part in parts), re.IGNORECASE)
        object.__setattr__(self, "_pattern", pattern)

    @property
    def pattern(self) -> re.Pattern[str]:
        """Matches any of the person's identifiers (case-insensitive)."""
        return self._pattern

    def is_email(self, value: object) -> bool:
        """Whether `value` is the person's email (any case, surrounding spaces ignored)."""
        return isinstance(value, str) and value.strip().lower() == self.email

    def mentions(self, value: Any) -> bool:
        """Whether any string in a JSON value (dict keys included) mentions the person."""
        if isinstance(value, str):
            return self._pattern.search(value) is not None
        if isinstance(value, Mapping):
            return any(self.mentions(key) or self.mentions(item) for key, item in value.items())
        if isinstance(value, list | tuple):
            return any(self.mentions(item) for item in value)
        return False


def name_is_ambiguous(name: str, other_names: Iterable[str]) -> bool:
    """Whether a name also appears in someone else's name: text cannot tell whose it is then."""
    pattern = re.compile(name_pattern(name), re.IGNORECASE)
    return any(pattern.search(other) for other in other_names)


class Redactor:
    """Replaces a person's identifiers by a placeholder, and given literals (old ids) by new ones."""

    def __init__(
        self, identity: Identity, placeholder: str, aliases: Mapping[str, str] | None = None
    ) -> None:
        self._placeholder = placeholder
        self._aliases = {old.lower(): new for old, new in (aliases or {}).items() if old}
        literals = (rf"(?<![A-Za-z0-9]){re.escape(old)}(?![A-Za-z0-9])" for old in self._aliases)
        parts = [identity.pattern.pattern, *literals]
        self._pattern = re.compile("|".join(f"(?:{part})" for part in parts), re.IGNORECASE)

    def _replace(self, found: re.Match[str]) -> str:
        return self._aliases.get(found.group(0).lower(), self._placeholder)

    def text(self, value: str) -> str:
        """The string with every identifier replaced."""
        return self._pattern.sub(self._replace, value)

    def value(self, value: Any) -> Any:
        """A JSON value with every string (dict keys included) redacted; the input is not changed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(key): self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


def retention_cutoff(now: datetime, retention_days: int) -> datetime | None:
    """Free text written before this moment is deleted; None when retention is 0 (keep everything)."""
    if retention_days <= 0:
        return None
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, not {now!r}")
    return now - timedelta(days=retention_days)


def written_before(stamp: object, cutoff: datetime) -> bool:
    """Whether an ISO timestamp (as the use cases store them) is before the cutoff."""
    if not isinstance(stamp, str):
        return False
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment < cutoff
