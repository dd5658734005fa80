"""Errors a user can act on.

Every error raised for bad input is a :class:`ParkAtlasError` (or a subclass) whose message
is one line saying what is wrong and what to do. The CLI prints it and exits 2; the app
shows it; neither shows a traceback.
"""


class ParkAtlasError(Exception):
    """Bad input or a refused operation, explained in one line."""


class NotFoundError(ParkAtlasError):
    """A park, parcel or file that does not exist."""


class ConflictError(ParkAtlasError):
    """A write lost a race (for example: the parcel is already reserved)."""


class PermissionDenied(ParkAtlasError):
    """The current user's role does not allow this operation."""


class ParcelTaken(ConflictError):
    """A parcel asked for is no longer available: ``parcel_id``, its ``status`` and, when it is
    reserved, the ``project`` it is reserved for (so a page can say so in the planner's language)."""

    def __init__(self, parcel_id: str, status: str, project: str | None, message: str):
        super().__init__(message)
        self.parcel_id, self.status, self.project = parcel_id, status, project


class KeyedError(ParkAtlasError):
    """An error whose reason is also given as a catalogue ``key`` with ``values``, so a page can say
    it in the planner's language (``t(key, lang, **values)``); the message stays for the CLI."""

    def __init__(self, key: str, message: str, **values):
        self.key, self.values = key, values
        super().__init__(message)
