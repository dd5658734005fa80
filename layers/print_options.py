"""The print products' choices (paper, orientation, theme), apart from the drawing code: the CLI's
parser offers them on every start, and importing :mod:`layers.print_map` loads matplotlib (~2 s cold)."""
from __future__ import annotations

PAPERS_MM = {"A4": (210.0, 297.0), "A3": (297.0, 420.0)}
ORIENTATIONS = ("portrait", "landscape")
THEMES = ("status", "landuse", "intensity")
