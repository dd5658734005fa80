"""Pausing Python's garbage collector while a vectorised step builds many objects at once.

Every 700 new container objects (lists, and shapely geometries, which the collector tracks too)
start a young-generation collection, and enough of those a full one over every object of the
process — the parcels and, in the app, every cached frame. Projecting 45,000 candidate parcels,
their grown bounding boxes and their 45,000 lists of rules set off two full collections, a sixth of
finding inefficient land over 100k parcels. What these steps build holds no reference cycles; the
collector resumes (with its counts) when the step ends.

The switch is process-wide and the app runs sessions in threads, so the pauses are counted under a
lock: the collector stays off while any step of any thread lasts (a fraction of a second) and is
restored to what it was when the last one ends — it is never left off.
"""
from __future__ import annotations

import contextlib
import gc
import threading

_lock = threading.Lock()
_active = 0  # pauses under way, in every thread
_resume = False  # whether the collector was on when the first of them began


@contextlib.contextmanager
def gc_paused():
    """No automatic garbage collection inside the block (until every overlapping block has ended)."""
    global _active, _resume
    with _lock:
        if _active == 0:
            _resume = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _resume:
                gc.enable()
