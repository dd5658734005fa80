"""What the server never shows: tracebacks on pages and live session ids in its log.

``unexpected_error`` turns an exception no page handled into one translated line with an
incident id; the traceback goes to the log under that id (``client.showErrorDetails`` is
``none`` in ``.streamlit/config.toml`` as a second line of defence). ``redact_session_ids``
removes session ids from every Streamlit log record: whoever holds one can attach to a
session, so the log must not hand them out.
"""
from __future__ import annotations

import logging
import re
import secrets

import streamlit as st

from app_pages import common

_LOG = logging.getLogger("parkatlas.app")
_SESSION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def unexpected_error(exc: Exception) -> None:
    """Show ``exc`` as one translated line with an id; log the traceback under that id."""
    incident = secrets.token_hex(4)
    _LOG.error("unexpected error %s", incident, exc_info=exc)
    st.error(common.tr("error.unexpected", id=incident))


class SessionIdFilter(logging.Filter):
    """Replace anything shaped like a session id (a UUID) in a record by ``<session>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = None
        if isinstance(record.msg, str):
            record.msg = _SESSION_ID.sub("<session>", record.msg)
        return True


_FILTER = SessionIdFilter()


def redact_session_ids() -> None:
    """Install :class:`SessionIdFilter` on the handlers of Streamlit's loggers (idempotent)."""
    names = ["streamlit", *(n for n in logging.Logger.manager.loggerDict if n.startswith("streamlit."))]
    for name in names:
        for handler in logging.getLogger(name).handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
