"""Pausing Python's garbage collector while a vectorised step builds many objects at once.

Every 700 new container objects (lists, and shapely geometries, which the collector tracks too)
start a young-generation collection, and enough of those a full one over every object of the
process — the parcels and, in the app, every cached frame. Projecting 45,000 candidate parcels,
their grown bounding boxes and their 45,000 lists of rules set off two full collections, a sixth of
finding inefficient land over 100k parcels. What these steps build holds no reference cycles; the
collector resumes (with its counts) when the step ends.

The switch is process-wide (the app runs sessions in threads): the block that found the collector
on turns it on again and a block that found it off leaves it, so it is never left off; another
session only runs without collections while a step lasts (a fraction of a second).
"""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """No automatic garbage collection inside the block (nested uses keep it off until the outer ends)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
