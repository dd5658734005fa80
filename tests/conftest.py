"""Shared fixtures. No test touches the network."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.testing import copy_sample_store  # noqa: E402


@pytest.fixture()
def store_path(tmp_path) -> Path:
    """A writable copy of the sample store."""
    return copy_sample_store(tmp_path)


@pytest.fixture()
def cli_env(store_path) -> dict:
    """Environment for running ``cli.py`` in a subprocess against a private store."""
    env = dict(os.environ)
    env["PARKATLAS_STORE"] = str(store_path)
    return env


@pytest.fixture(scope="session")
def sample_store():
    """The read-only sample store in data/parcels/ (never written by tests)."""
    from geo.sample import SAMPLE_GPKG
    from geo.store.gpkg import GpkgStore

    return GpkgStore(SAMPLE_GPKG)


@pytest.fixture(scope="session")
def sample_parcels(sample_store):
    return sample_store.read_parcels()


@pytest.fixture(scope="session")
def sample_parks(sample_store):
    return sample_store.read_parks()
