"""Shared fixtures. No test touches the network."""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geo.testing import copy_sample_store  # noqa: E402

CI_TRUE = {"1", "true", "yes", "on"}

# The deployment's own files (var/ in the checkout) are never the tests': each test process (one
# per pytest-xdist worker) keeps its session revocations, store registry, users and settings in a
# directory of its own, inherited by the app servers and CLI processes it starts. A test that needs
# one of these files sets the variable itself.
_PROCESS_VAR = Path(tempfile.mkdtemp(prefix="parkatlas-test-var-"))
atexit.register(shutil.rmtree, _PROCESS_VAR, ignore_errors=True)
for _variable, _name in (("PARKATLAS_SESSION_REVOKED", "session-revoked.json"), ("PARKATLAS_STORES", "stores.json"),
                         ("PARKATLAS_USERS", "users.json"), ("PARKATLAS_SETTINGS", "settings.json")):
    os.environ.setdefault(_variable, str(_PROCESS_VAR / _name))


def in_ci() -> bool:
    """Whether the ``CI`` environment variable is set to a true value (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get("CI", "").strip().lower() in CI_TRUE


def vega_chart(element) -> tuple[dict, "pandas.DataFrame"]:
    """An AppTest ``vega_lite_chart`` element's specification and data."""
    import json

    import pyarrow as pa

    (dataset,) = element.proto.datasets or [element.proto]
    return json.loads(element.proto.spec), pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()


def unavailable(reason: str) -> NoReturn:
    """Skip the test for a missing service (PostgreSQL, Chromium); under CI fail it instead.

    A CI runner without the service would otherwise pass green with the tests silently skipped.
    """
    if in_ci():
        pytest.fail(f"{reason} [CI is set, so a missing service fails the run]", pytrace=False)
    pytest.skip(f"{reason} [skipped outside CI; with CI=true this fails]")


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


@pytest.fixture(scope="session")
def postgis_server_url():
    """Superuser URL of a PostgreSQL+PostGIS server: ``$PARKATLAS_TEST_PG_URL`` or a throwaway
    cluster on loopback (tests/postgis_server.py) holding a seeded template database."""
    from tests import postgis_server

    reason = postgis_server.available()
    if reason:
        unavailable(reason)
    server = None
    url = os.environ.get(postgis_server.URL_ENV)
    if not url:
        server = postgis_server.PostgresServer().start()
        url = server.url
    template = postgis_server.create_database(url)
    from geo.store.postgis import PostgisStore

    PostgisStore(template)  # creates and seeds the schema once; each test copies it
    yield url, template.rsplit("/", 1)[1]
    postgis_server.drop_database(url, template)
    if server is not None:
        server.stop()


@pytest.fixture()
def postgis_url(postgis_server_url):
    """A fresh seeded PostGIS database for one test, dropped afterwards."""
    from tests import postgis_server

    server_url, template = postgis_server_url
    url = postgis_server.create_database(server_url, template=template)
    yield url
    postgis_server.drop_database(server_url, url)


@pytest.fixture(scope="session")
def import_corpus(tmp_path_factory) -> dict:
    """The import test corpus (tests/data/make_corpus.py), generated once: case name → path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", ROOT / "tests" / "data" / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_corpus(tmp_path_factory.mktemp("import-corpus"))


@pytest.fixture(scope="session")
def viewer_app(tmp_path_factory):
    """One app server (tests/browser.py ``start_app``) on a private copy of the sample store, shared by
    every browser module whose tests only read as the anonymous viewer (no users file: nobody signs in,
    nothing writes the store). A Streamlit server and its first page cost seconds of CPU each; a module
    that writes, signs in or needs other settings starts its own. Defined here, not in tests/browser.py,
    because a fixture imported into several modules is a separate fixture in each."""
    from tests.browser import start_app

    server = start_app(tmp_path_factory.mktemp("viewer-app"))
    yield server
    server.stop()


#: Modules of 15 s or more (their tests' times in a 3-worker run on 2 cores), longest first; handed out
#: first (pytest.ini: ``--dist loadfile --no-loadscope-reorder`` keeps this order), so that no long
#: module starts last and keeps the whole run waiting. Every other module follows in its usual order.
LONGEST_MODULES = (
    "test_province", "test_browser_pages", "test_browser_app", "test_stored_metrics", "test_store_backends",
    "test_app_pages", "test_import_corpus", "test_city", "test_browser_walk", "test_browser_teams",
    "test_browser_match_export", "test_browser_overview_park", "test_bulletin", "test_browser_oidc", "test_chains",
    "test_browser_chains", "test_security_store", "test_export_planner", "test_browser_ui_strings",
    "test_browser_security", "test_browser_projects", "test_export_app", "test_browser_import", "test_browser_state",
    "test_app_parcel", "test_app_safe", "test_enterprises", "test_browser_city", "test_security_world",
    "test_browser_safe", "test_evaluation", "test_browser_enterprises", "test_app_chains", "test_app_enterprises",
    "test_export_i18n", "test_app_teams", "test_export_print", "test_projects_cli", "test_export_cli",
)


def pytest_collection_modifyitems(items):
    rank = {name: position for position, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: tests keep their order


def pytest_xdist_auto_num_workers(config):
    """One worker per core, and one more: a browser test waits on its app and browser for about a
    third of its time, so a third worker finds a core free (``-n auto`` in pytest.ini)."""
    return (os.cpu_count() or 1) + 1
