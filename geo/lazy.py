"""Modules imported at their first use, not when the module naming them is imported.

The geometry stack (geopandas, shapely, pyogrio: ~0.3 s on top of pandas) is named by the store,
the schema and the CRS helpers, but a command that reads only attribute tables (``projects
warnings``: the register) never touches a geometry; with :class:`LazyModule` it starts without
loading it (issue 20, tests/test_cli_start.py).
"""
from __future__ import annotations

import importlib


class LazyModule:
    """Stands for ``import NAME``: the module is imported when an attribute is first read.

    Imports run under Python's import lock, so threads (the app's sessions) share one import.
    """

    def __init__(self, name: str):
        self._name = name
        self._module = None

    def __getattr__(self, attribute: str):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}{'' if self._module is None else ' (imported)'}>"
