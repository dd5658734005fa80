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


class KeyedError(ParkAtlasError):
    """An error whose reason is also given as a catalogue ``key`` with ``values``, so a page can say
    it in the planner's language (``t(key, lang, **values)``); the message stays for the CLI.

    Values that are codes (a ``status``, a ``stage``) or numbers stay raw: the page formats them
    (:func:`geo.display.format_message_values`)."""

    def __init__(self, key: str, message: str, **values):
        self.key, self.values = key, values
        super().__init__(message)


class KeyedConflict(KeyedError, ConflictError):
    """A lost race or a stale version, with its catalogue key (``except ConflictError`` still catches it)."""


class KeyedNotFound(KeyedError, NotFoundError):
    """A park, parcel or project that does not exist (any more), with its catalogue key."""


class KeyedPermissionDenied(KeyedError, PermissionDenied):
    """A refusal by role or ownership, with its catalogue key."""


class ParcelTaken(KeyedConflict):
    """A parcel asked for is no longer available: ``parcel_id``, its ``status`` and, when it is
    reserved, the ``project`` it is reserved for (so a page can say so in the planner's language)."""

    def __init__(self, parcel_id: str, status: str, project: str | None, message: str):
        key = "store.conflict.taken_by" if project else "store.conflict.taken_status"
        super().__init__(key, message, parcel=parcel_id, status=status, project=project or "")
        self.parcel_id, self.status, self.project = parcel_id, status, project


def unknown_park(park_id, message: str | None = None) -> KeyedNotFound:
    """The refusal of a park id the store does not hold: a stale choice, an old link's ``?park=``,
    a park of another city's store. ``message`` replaces the CLI's line (default: look up the ids)."""
    return KeyedNotFound("store.not_found.park",
                         message or f"unknown park {park_id!r}; see `python cli.py parks` for the ids", park=str(park_id))

