"""External facilitators: the list of people off the HR roster who run groups (002/003), and the
actor such a person is in Teams.

The list is replaced whole by each import (the file is the full list, as the roster's is). Someone
taken off it is no longer recognised at once; their groups keep naming them until the next
allocation gives the groups another facilitator. They are never staff: they are not in
`ProgrammeService.people()`, so reports, roster listings, announcements to everyone, pair rounds
and group membership never count them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from programme.facilitators import ExternalFacilitator, parse_facilitators
from programme.policies import Actor
from service.programme_service import ProgrammeService
from service.views import FacilitatorsImported


@dataclass(frozen=True)
class ExternalFacilitators:
    """Use cases of the external facilitators list (the CLI's) and their actor (the bot's)."""

    programme: ProgrammeService

    def all(self) -> tuple[ExternalFacilitator, ...]:
        """Everyone on the list, by email."""
        listed = self.programme.facilitators_repo.all()
        return tuple(listed[email] for email in sorted(listed))

    def get(self, email: str) -> ExternalFacilitator | None:
        """One external facilitator by email."""
        return self.programme.facilitators_repo.get(email.strip().lower())

    def import_list(self, raw: bytes, filename: str) -> FacilitatorsImported:
        """Replace the list with the file's (FacilitatorsError, nothing changed, on any bad row).

        Active staff cannot be listed: they are facilitators through the roster (facilitator=yes).
        Someone who left the staff may come back as an external facilitator.
        """
        with self.programme.store.transaction():
            staff = {email for email, person in self.programme.people().items() if person.active}
            incoming = {f.email: f for f in parse_facilitators(raw, filename, staff)}
            current = self.programme.facilitators_repo.all()
            self.programme.facilitators_repo.replace_all(incoming[email] for email in sorted(incoming))
        return FacilitatorsImported(
            added=tuple(sorted(e for e in incoming if e not in current)),
            updated=tuple(sorted(e for e in incoming if e in current and current[e] != incoming[e])),
            removed=tuple(sorted(e for e in current if e not in incoming)),
            unchanged=sum(1 for e in incoming if current.get(e) == incoming[e]),
        )

    def actor(self, facilitator: ExternalFacilitator) -> Actor:
        """The facilitator acting in Teams: the current groups whose facilitator they are, and nothing
        else (a member of none, no coordinator role)."""
        found = self.programme.actor(facilitator.as_person())
        return replace(found, member_of=(), external=True)
