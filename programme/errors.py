"""Typed errors of the programme core, so callers never match on message text."""


class ProgrammeError(Exception):
    """Base of every error the programme reports to a user."""


class SettingsError(ProgrammeError):
    """The settings file is missing a value or holds an invalid one."""


class RosterError(ProgrammeError):
    """A roster file has problems; `problems` holds one `FILE:LINE: message` each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the roster")
        self.problems = problems


class NotFoundError(ProgrammeError):
    """A person, group or record the command names does not exist."""


class ManifestError(ProgrammeError):
    """The app package could not be built: a manifest the schema rejects, or a bad icon."""


class NotAllowedError(ProgrammeError):
    """The person may not take this action; nothing was changed."""


class UnknownAudienceError(ProgrammeError):
    """The audience names a role, weekday or group that does not exist."""


class DeliveryBusyError(ProgrammeError):
    """The outbox is being delivered and did not pause in time for an erasure."""


class ProgrammeChoiceError(ProgrammeError):
    """A command did not say which programme it means, and the deployment has several."""


class ThemeError(ProgrammeError):
    """A facilitator's themes for a session are not acceptable (unknown theme, names, bad text)."""


class FacilitatorsError(ProgrammeError):
    """An external facilitators file has problems; `problems` holds one `FILE:LINE: message` each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the facilitators file")
        self.problems = problems


class ClosedError(ProgrammeError):
    """The answer window has passed (RSVP after the start, register after 7 days)."""


class ProbationError(NotAllowedError):
    """Someone in probation tried to flag their supporter: the arrangement is one way."""


class BadActionError(ProgrammeError):
    """A card action's data is missing, malformed or out of range; nothing was changed."""
