"""Knowing who is who: Teams users recognised as roster people, and where to reach them proactively.

The rules (SECURITY.md): the Entra ID user id (aad_object_id) decides whenever the roster row has
one. The email/UPN from Teams only recognises a roster row *without* one, and ties that row to the
first Entra ID user id seen; a later, different id is refused. Activities from another tenant than
the organisation's (when it is set) are never recognised. A stored conversation reference is only
ever replaced by the same Teams user. Refusals are logged without personal data.

External facilitators (their own list, not the roster) are recognised by the same rules, with their
Teams guest account: its Entra ID user id in the organisation's tenant decides when the list gives
one, else the email ties the row to the first id seen. A guest acts in the organisation's tenant, so
the tenant rule holds unchanged. At each step the roster is asked first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from programme.facilitators import ExternalFacilitator
from programme.identity import ConversationReference, TeamsUser
from programme.model import Person
from repositories.facilitators import ExternalFacilitatorsRepository
from repositories.links import TeamsLinksRepository
from repositories.people import PeopleRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recognition:
    """The roster person behind a Teams user, or None; `look_up` says an email lookup could help.

    `external` is set when the person is an external facilitator (`person` is then their
    `as_person()`): they act only on their own groups.
    """

    person: Person | None
    look_up: bool = False
    external: ExternalFacilitator | None = None


def _found(person: Person | ExternalFacilitator | None, look_up: bool = False) -> Recognition:
    if isinstance(person, ExternalFacilitator):
        return Recognition(person.as_person(), external=person)
    return Recognition(person, look_up)


class Directory:
    """Recognises Teams users and keeps their links; every read is an in-memory lookup."""

    def __init__(
        self,
        links: TeamsLinksRepository,
        people: PeopleRepository,
        tenant_id: str = "",
        facilitators: ExternalFacilitatorsRepository | None = None,
    ) -> None:
        self._links = links
        self._people = people
        self._tenant_id = tenant_id.strip().lower()
        self._facilitators = facilitators

    # -- recognition -------------------------------------------------------------------------------
    def recognise(self, user: TeamsUser) -> Recognition:
        """The active roster person (or listed external facilitator) this Teams user is, by the rules."""
        if self._tenant_id and (user.tenant_id or "").strip().lower() != self._tenant_id:
            log.warning("activity from another tenant refused")
            return Recognition(None)
        if user.aad_object_id:
            person = self._people.active_by_aad_object_id(user.aad_object_id)
            if person is not None:
                return Recognition(person)
            external = self._facilitators.by_aad_object_id(user.aad_object_id) if self._facilitators else None
            if external is not None:
                return _found(external)
            linked = self._links.email_for_aad_object_id(user.aad_object_id)
            if linked is not None:
                return _found(self._without_own_id(linked))
        email = user.email or self._links.known_email(user.user_id)
        if not email:
            return Recognition(None, look_up=True)
        found = self._without_own_id(email.strip().lower())
        if found is None:
            return Recognition(None, look_up=user.email is None)
        linked_id = self._links.aad_object_id_for(found.email)
        if linked_id is None:
            if user.aad_object_id:
                self._links.link_aad_object_id(found.email, user.aad_object_id.lower())
            return _found(found)
        if (user.aad_object_id or "").lower() != linked_id:
            log.warning("identity refused: the roster row is linked to another Entra ID user")
            return Recognition(None)
        return _found(found)

    def _without_own_id(self, email: str) -> Person | ExternalFacilitator | None:
        """The active roster person, else the listed external facilitator, with this email, unless the
        row names its own Entra ID user (then only that id is them)."""
        staff = self._people.get(email)
        person: Person | ExternalFacilitator | None = staff if staff is not None and staff.active else None
        if person is None and self._facilitators is not None:
            person = self._facilitators.get(email)
        if person is None:
            return None
        if person.aad_object_id:
            # The roster names this row's Entra ID user, and the activity's is not it.
            log.warning("identity refused: the roster holds another Entra ID user for that email")
            return None
        return person

    # -- links ---------------------------------------------------------------------------------------
    def known_email(self, user_id: str) -> str | None:
        """The email a Teams user id was linked to before, if any."""
        return self._links.known_email(user_id)

    def link(self, user: TeamsUser, person: Person, reference: ConversationReference | None) -> None:
        """Remember the user's person and (from a 1:1 chat) where to reach them; writes only changes."""
        if not person.aad_object_id:
            # Recognised by email: remember the Teams user, so later turns need no member lookup.
            # (A roster row with an aad id is found by it on every turn: nothing to remember.)
            self._links.link_user(user.user_id, person.email)
        if reference is None:
            return
        current = self._links.reference(person.email)
        if current is not None and current.user_id != reference.user_id:
            log.warning("conversation reference kept: a different Teams user tried to replace it")
            return
        self._links.save_reference(person.email, reference)

    def mark_unreachable(self, email: str, now: datetime) -> None:
        """Remember that Teams refused delivery to this person (their messages fall back to email)."""
        self._links.mark_unreachable([email], now)

    def mark_unreachable_many(self, emails: Iterable[str], now: datetime) -> None:
        """The same for many people, in one write per shard."""
        self._links.mark_unreachable(emails, now)

    def unreachable(self) -> dict[str, str]:
        """People Teams cannot reach, with since when."""
        return dict(self._links.unreachable())

    def reference_for(self, email: str) -> dict[str, Any] | None:
        """The stored 1:1 conversation reference of a person, as the Teams deliverer wants it."""
        reference = self._links.reference(email)
        return reference.to_doc() if reference else None
