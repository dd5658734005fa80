"""PostGIS-only guarantees: dropped connections mid-transaction, concurrent first-use seeding."""
from __future__ import annotations

import threading

import psycopg
import pytest

from geo.auth import User
from geo.errors import ConflictError
from geo.store import open_store, redact_location
from geo.store import postgis as postgis_module
from geo.store.base import MAX_ATTEMPTS
from tests import postgis_server

PLANNER = User("pat", "planner")


def _terminating_audit(url, calls, drop_until):
    """An ``append_audit`` whose connection is killed by another session on the first calls."""
    original = postgis_module.append_audit

    def append(cur, rows):
        calls.append(cur.connection.info.backend_pid)
        if len(calls) <= drop_until:
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 10000)", (cur.connection.info.backend_pid,))
        original(cur, rows)

    return append


def _available(store) -> str:
    parcels = store.read_parcels()
    return sorted(parcels.loc[parcels.status == "available", "parcel_id"])[0]


def test_dropped_connection_is_retried_without_a_half_change(postgis_url, monkeypatch):
    store = open_store(postgis_url)
    pid = _available(store)
    calls = []
    monkeypatch.setattr(postgis_module, "append_audit", _terminating_audit(postgis_url, calls, drop_until=1))
    assert store.reserve([pid], project="P", user=PLANNER)["reserved"] == [pid]
    assert len(calls) == 2 and calls[0] != calls[1]  # a second connection finished the job
    log = store.history(pid)
    assert len(log) == 1 and log.action.iloc[0] == "reserve"
    assert store.integrity_check() == []


def test_connection_that_keeps_dropping_gives_up_cleanly(postgis_url, monkeypatch):
    store = open_store(postgis_url)
    pid = _available(store)
    before = store.revision()
    calls = []
    monkeypatch.setattr(postgis_module, "append_audit",
                        _terminating_audit(postgis_url, calls, drop_until=MAX_ATTEMPTS))
    with pytest.raises(ConflictError, match="nothing was changed"):
        store.reserve([pid], project="P", user=PLANNER)
    assert len(calls) == MAX_ATTEMPTS
    parcels = store.read_parcels().set_index("parcel_id")
    assert parcels.loc[pid, "status"] == "available"
    assert store.revision() == before and store.history().empty


def test_concurrent_first_use_seeds_an_empty_database_once(postgis_server_url):
    server_url, _ = postgis_server_url
    url = postgis_server.create_database(server_url)
    try:
        errors = []

        def first_open():
            try:
                postgis_module.PostgisStore(url)
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=first_open) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        store = postgis_module.PostgisStore(url)
        assert len(store.read_parcels()) == 10_000 and store.integrity_check() == []
        assert store.location == url
    finally:
        postgis_server.drop_database(server_url, url)


def test_password_is_not_shown_in_the_location():
    assert redact_location("postgresql://u:secret@db.example:5432/x") == "postgresql://u:***@db.example:5432/x"


def test_unreachable_server_is_a_one_line_error():
    from geo.errors import ParkAtlasError

    with pytest.raises(ParkAtlasError, match="cannot connect to postgresql://nobody:\\*\\*\\*@127.0.0.1:1/x") as refused:
        open_store("postgresql://nobody:secret@127.0.0.1:1/x")
    # Pages name the store as the CLI does, its password masked, and quote the driver's words.
    assert refused.value.key == "store.failed.connect"
    assert refused.value.values["store"] == "postgresql://nobody:***@127.0.0.1:1/x"
    assert refused.value.values["detail"] and "secret" not in str(refused.value.values)
