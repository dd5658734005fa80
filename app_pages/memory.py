"""Memory back to idle after planners leave (a middleware of ``serve.py``).

Streamlit keeps a closed browser's session for ``server.disconnectedSessionTTL`` seconds so a
reconnect finds it, but removes an expired session only when another one is stored after it:
when a room of planners leaves together, their sessions (state, match results, media) stayed
in memory indefinitely. :class:`SessionReaper` checks every :data:`REAP_EVERY_S` seconds,
shuts expired sessions down, collects garbage and gives the freed heap pages back to the
system (``malloc_trim``), so the server returns to its idle size.
"""
from __future__ import annotations

import asyncio
import gc
import logging

from app_pages.common import release_free_memory

REAP_EVERY_S = 15.0
_LOG = logging.getLogger("parkatlas.memory")


def reap_expired_sessions() -> int:
    """Shut down disconnected sessions past their TTL; returns how many there were.

    Reaches into Streamlit's session storage (a TTL cache that only reaps on writes); when a
    Streamlit version lays it out differently nothing is reaped and a warning is logged once.
    """
    from streamlit.runtime import Runtime

    if not Runtime.exists():
        return 0
    storage = getattr(getattr(Runtime.instance(), "_session_mgr", None), "_session_storage", None)
    expire = getattr(getattr(storage, "_cache", None), "expire", None)
    if expire is None:
        if not getattr(reap_expired_sessions, "warned", False):
            _LOG.warning("cannot reach Streamlit's session storage; expired sessions are not reaped")
            reap_expired_sessions.warned = True
        return 0
    removed = expire()
    for _, info in removed:
        info.session.shutdown()
    return len(removed)


async def _reap_forever() -> None:
    while True:
        await asyncio.sleep(REAP_EVERY_S)
        try:
            if reap_expired_sessions():
                await asyncio.to_thread(_collect)
        except Exception:  # noqa: BLE001 - the reaper must never take the server down
            _LOG.exception("reaping expired sessions failed")


def _collect() -> None:
    gc.collect()
    release_free_memory()


class SessionReaper:
    """ASGI middleware that starts the reaping loop with the first connection."""

    def __init__(self, app):
        self.app = app
        self._task: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        if self._task is None and scope["type"] in ("http", "websocket"):
            self._task = asyncio.get_running_loop().create_task(_reap_forever())
        await self.app(scope, receive, send)
