"""One store test suite, run on both backends (GeoPackage and PostGIS).

Covers the guarantees of issue 7: one winner among 50 concurrent reservations (threads and
processes), double submits, kill -9 during writes, all-or-nothing imports, optimistic edits,
history and as-of reconstruction, roles, backup while writing and restore.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from geo.auth import ANONYMOUS, User
from geo.errors import ConflictError, NotFoundError, ParkAtlasError, PermissionDenied
from geo.testing import copy_sample_store, make_parcels

ADMIN = User("alice", "admin")
PLANNER = User("pat", "planner")
OTHER = User("olga", "planner")
VIEWER = User("vic", "viewer")
FORK = multiprocessing.get_context("fork")


def open_backend(kind: str, location: str):
    if kind == "gpkg":
        from geo.store.gpkg import GpkgStore

        return GpkgStore(Path(location))
    from geo.store.postgis import PostgisStore

    return PostgisStore(location)


@pytest.fixture(params=["gpkg", "postgis"])
def backend(request, tmp_path):
    """(kind, location) of a fresh store seeded from the sample."""
    if request.param == "gpkg":
        return "gpkg", str(copy_sample_store(tmp_path))
    return "postgis", request.getfixturevalue("postgis_url")


@pytest.fixture()
def store(backend):
    return open_backend(*backend)


def parcels_with(store, status: str, n: int = 1) -> list[str]:
    parcels = store.read_parcels()
    return sorted(parcels.loc[parcels.status == status, "parcel_id"])[:n]


def status_of(store, parcel_id: str) -> pd.Series:
    parcels = store.read_parcels()
    return parcels.set_index("parcel_id").loc[parcel_id]


# --- reservations ---------------------------------------------------------------------------
def test_reserve_then_release_restores_the_previous_status(store):
    pid, = parcels_with(store, "approved_unsupplied")
    assert store.reserve([pid], project="电池厂", user=PLANNER) == {"reserved": [pid], "already_yours": []}
    row = status_of(store, pid)
    assert (row.status, row.reserved_project, row.reserved_by) == ("reserved", "电池厂", "pat")
    assert store.release([pid], user=PLANNER) == {"released": {pid: "approved_unsupplied"}}
    row = status_of(store, pid)
    assert row.status == "approved_unsupplied" and pd.isna(row.reserved_project)
    log = store.history(pid)
    assert list(log.action) == ["reserve", "release"]
    assert (log.old.tolist(), log.new.tolist()) == (["approved_unsupplied", "reserved"],
                                                  ["reserved", "approved_unsupplied"])
    assert store.integrity_check() == []


def test_reservation_is_all_or_nothing(store):
    free, taken = parcels_with(store, "available", 2)
    store.reserve([taken], project="A", user=OTHER)
    with pytest.raises(ConflictError, match="already reserved"):
        store.reserve([free, taken], project="B", user=PLANNER)
    assert status_of(store, free).status == "available"
    occupied, = parcels_with(store, "occupied")
    with pytest.raises(ConflictError, match="not available"):
        store.reserve([occupied], project="B", user=PLANNER)
    with pytest.raises(NotFoundError):
        store.reserve(["no-such-parcel"], project="B", user=PLANNER)
    assert len(store.history()) == 1


def test_only_the_reserving_planner_or_an_admin_releases(store):
    pid, = parcels_with(store, "available")
    store.reserve([pid], project="A", user=PLANNER)
    with pytest.raises(PermissionDenied) as denied:
        store.release([pid], user=OTHER)
    assert (denied.value.key, denied.value.values) == ("store.denied.reserved_by", {"parcel": pid, "user": "pat"})
    assert store.release([pid], user=ADMIN)["released"] == {pid: "available"}
    with pytest.raises(ConflictError, match="is not reserved") as twice:  # the CLI's English line; the page's key
        store.release([pid], user=PLANNER)
    assert (twice.value.key, twice.value.values) == ("store.conflict.not_reserved", {"parcel": pid, "status": "available"})


def _reserve_outcome(kind, location, pid, user) -> str:
    try:
        open_backend(kind, location).reserve([pid], project=f"project of {user.name}", user=user)
        return "ok"
    except ConflictError as exc:
        return "conflict" if "already reserved" in str(exc) else f"other conflict: {exc}"
    except Exception as exc:  # anything else (e.g. a raw "database is locked") fails the test
        return f"{type(exc).__name__}: {exc}"


def _assert_one_winner(store, pid, outcomes):
    assert outcomes.count("ok") == 1, outcomes
    assert outcomes.count("conflict") == 49, [o for o in outcomes if o not in ("ok", "conflict")]
    log = store.history(pid)
    assert len(log) == 1 and log.action.iloc[0] == "reserve"
    winner = status_of(store, pid)
    assert winner.status == "reserved" and winner.reserved_by == log.user.iloc[0]
    assert store.integrity_check() == []


def test_fifty_threads_reserve_one_parcel(backend, store):
    pid, = parcels_with(store, "available")
    barrier = threading.Barrier(50)
    outcomes = [None] * 50

    def run(i):
        barrier.wait()
        outcomes[i] = _reserve_outcome(*backend, pid, User(f"planner{i}", "planner"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    _assert_one_winner(store, pid, outcomes)


def _process_reserve(kind, location, pid, i, barrier, results):
    barrier.wait()
    results.put(_reserve_outcome(kind, location, pid, User(f"planner{i}", "planner")))


def test_fifty_processes_reserve_one_parcel(backend, store):
    pid, = parcels_with(store, "available")
    barrier, results = FORK.Barrier(50), FORK.Queue()
    children = [FORK.Process(target=_process_reserve, args=(*backend, pid, i, barrier, results))
                for i in range(50)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=120) for _ in children]
    for child in children:
        child.join(30)
    _assert_one_winner(store, pid, outcomes)


def test_double_submit_by_one_user_is_one_reservation(backend, store):
    pid, = parcels_with(store, "available")
    barrier = threading.Barrier(8)
    results = []

    def click():
        barrier.wait()
        results.append(open_backend(*backend).reserve([pid], project="P", user=PLANNER))

    threads = [threading.Thread(target=click) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(len(r["reserved"]) for r in results) == [0] * 7 + [1]
    assert all(r["already_yours"] == [pid] for r in results if not r["reserved"])
    assert len(store.history(pid)) == 1


# --- roles ----------------------------------------------------------------------------------
def test_a_viewer_cannot_change_anything(store):
    pid, = parcels_with(store, "available")
    before = store.revision()
    new = make_parcels([(0, 0, 100, 100)], park_id="zq_hitech", parcel_id="NEW")
    for user in (VIEWER, ANONYMOUS, None, "alice"):
        for write in (lambda u: store.reserve([pid], project="X", user=u),
                      lambda u: store.release([pid], user=u),
                      lambda u: store.set_status([pid], "occupied", user=u),
                      lambda u: store.update_attributes(pid, {"enterprise": "x"}, user=u),
                      lambda u: store.update_park("zq_hitech", {"min_tax_wan_per_mu": 1}, user=u),
                      lambda u: store.import_features("parcels", new, user=u),
                      lambda u: store.restore("backup.gpkg", user=u)):
            with pytest.raises(PermissionDenied) as denied:
                write(user)
            assert denied.value.key in ("auth.denied.role", "auth.denied.signed_out")  # said on a page in its language
    with pytest.raises(PermissionDenied) as denied:
        store.import_features("parcels", new, user=PLANNER)
    assert (denied.value.key, denied.value.values) == ("auth.denied.role", {"user": "pat", "role": "planner",
                                                                            "needed_role": "admin"})
    assert store.revision() == before and store.history().empty
    assert status_of(store, pid).status == "available"


def test_only_an_admin_changes_park_thresholds(store):
    with pytest.raises(PermissionDenied):
        store.update_park("zq_hitech", {"min_tax_wan_per_mu": 30}, user=PLANNER)
    with pytest.raises(ParkAtlasError, match="must not be negative"):
        store.update_park("zq_hitech", {"min_tax_wan_per_mu": -1}, user=ADMIN)
    with pytest.raises(ParkAtlasError, match="cannot edit park park_id"):
        store.update_park("zq_hitech", {"park_id": "x"}, user=ADMIN)
    old = store.read_parks().set_index("park_id").loc["zq_hitech", "min_tax_wan_per_mu"]
    assert store.update_park("zq_hitech", {"min_tax_wan_per_mu": "31.5", "contact": "招商局"}, user=ADMIN) == \
        {"min_tax_wan_per_mu": 31.5, "contact": "招商局"}
    park = store.read_parks().set_index("park_id").loc["zq_hitech"]
    assert (park.min_tax_wan_per_mu, park.contact) == (31.5, "招商局")
    log = store.history(park_id="zq_hitech")
    assert list(log.action) == ["park_edit", "park_edit"] and log.old.iloc[0] == old
    assert store.update_park("zq_hitech", {"min_tax_wan_per_mu": 31.5}, user=ADMIN) == {}


# --- edits, statuses, history -----------------------------------------------------------------
def test_attribute_edits_use_optimistic_concurrency(store):
    pid, = parcels_with(store, "occupied")
    version = int(status_of(store, pid).version)
    assert store.update_attributes(pid, {"enterprise": "<img src=x onerror=alert(1)>", "employees": "12"},
                                   user=PLANNER, expected_version=version) == version + 1
    with pytest.raises(ConflictError, match="changed by someone else") as stale:
        store.update_attributes(pid, {"employees": 13}, user=OTHER, expected_version=version)
    assert (stale.value.key, stale.value.values) == ("store.conflict.parcel_version",
                                                     {"parcel": pid, "version": version + 1, "edited": version})
    row = status_of(store, pid)
    assert (row.enterprise, row.employees, row.data_as_of) == ("<img src=x onerror=alert(1)>", 12,
                                                               date.today().isoformat())
    log = store.history(pid)
    assert set(log.field) == {"enterprise", "employees", "data_as_of"} and set(log.user) == {"pat"}
    with pytest.raises(ParkAtlasError, match="cannot edit status"):
        store.update_attributes(pid, {"status": "idle"}, user=PLANNER)
    with pytest.raises(ParkAtlasError, match="not a valid"):
        store.update_attributes(pid, {"employees": "many"}, user=PLANNER)


def test_as_of_reconstructs_the_park_from_the_log(store):
    start = datetime.now(timezone.utc)
    original = store.read_parcels("zq_hitech").set_index("parcel_id").sort_index()
    free, other = sorted(original.index[original.status == "available"])[:2]
    time.sleep(0.01)
    store.reserve([free], project="A", user=PLANNER)
    store.set_status([other], "idle", user=PLANNER, note="no activity")
    store.update_attributes(other, {"enterprise": "新企业"}, user=PLANNER)
    new = make_parcels([(0, 0, 100, 100)], park_id="zq_hitech", parcel_id="NEW")
    store.import_features("parcels", new, user=ADMIN)
    then = store.parcels_as_of(start, park_id="zq_hitech").set_index("parcel_id").sort_index()
    assert then.drop(columns=["version", "geometry"]).equals(original.drop(columns=["version", "geometry"]))
    assert then.geometry.geom_equals_exact(original.geometry, 1e-12).all()
    now = store.parcels_as_of(datetime.now(timezone.utc), park_id="zq_hitech").set_index("parcel_id")
    assert now.loc[free, "status"] == "reserved" and now.loc[other, "enterprise"] == "新企业"
    assert "NEW" in now.index


def test_as_of_a_park_follows_parcels_that_moved_between_parks(store):
    start = datetime.now(timezone.utc)
    moved = store.read_parcels("dz_park").sort_values("parcel_id").iloc[[0]].copy()
    moved["park_id"] = "zq_hitech"
    time.sleep(0.01)
    store.import_features("parcels", moved, user=ADMIN)
    pid = moved.parcel_id.iloc[0]
    assert pid in set(store.read_parcels("zq_hitech").parcel_id)
    assert pid not in set(store.parcels_as_of(start, park_id="zq_hitech").parcel_id)
    assert pid in set(store.parcels_as_of(start, park_id="dz_park").parcel_id)
    assert pid not in set(store.parcels_as_of(datetime.now(timezone.utc), park_id="dz_park").parcel_id)


# --- imports --------------------------------------------------------------------------------
def test_import_inserts_and_replaces_with_audit(backend, store):
    new = make_parcels([(0, 0, 100, 100), (200, 0, 300, 100)], park_id="zq_hitech",
                       parcel_id=["NEW1", "NEW2"])
    counts = store.import_features("parcels", new, user=ADMIN, report={"source": "test.zip"})
    assert {k: counts[k] for k in ("inserted", "replaced", "unchanged", "deleted")} == \
        {"inserted": 2, "replaced": 0, "unchanged": 0, "deleted": 0}
    changed = new.copy()
    changed["enterprise"] = ["甲", None]
    counts = store.import_features("parcels", changed, user=ADMIN)
    assert (counts["replaced"], counts["unchanged"]) == (1, 1)
    parcels = store.read_parcels("zq_hitech").set_index("parcel_id")
    assert parcels.loc["NEW1", "enterprise"] == "甲" and parcels.loc["NEW1", "version"] == 2
    assert parcels.loc[["NEW1", "NEW2"]].geometry.geom_equals_exact(new.set_index("parcel_id").geometry, 1e-9).all()
    log = store.history()
    assert list(log.action) == ["insert", "insert", "import", "replace", "import"]
    assert log.detail.iloc[2] == {"source": "test.zip"}
    assert store.integrity_check() == []
    if backend[0] == "gpkg":  # the spatial index finds the new features (what QGIS relies on)
        import pyogrio

        found = pyogrio.read_dataframe(backend[1], layer="parcels", bbox=tuple(new.total_bounds))
        assert {"NEW1", "NEW2"} <= set(found.parcel_id)


def test_records_for_the_store_hold_only_python_scalars_and_none():
    """frame_records skips the per-value conversion for columns of plain values, and only for those."""
    import numpy as np

    from geo.schema import PARCEL_COLUMNS
    from geo.store.base import frame_records, plain

    frame = make_parcels([(0, 0, 100, 100), (200, 0, 300, 100), (400, 0, 500, 100)], park_id="zq_hitech",
                         parcel_id=["A", "B", "C"])
    frame["enterprise"] = pd.array(["甲", None, "<b>"], dtype="string")
    frame["employees"] = pd.array([3, None, 7], dtype="Int64")
    frame["output_wan"] = [1.5, np.nan, 2.0]
    frame["land_ready"] = pd.array([True, None, False], dtype="boolean")
    frame["chain"] = pd.Series([np.str_("ev"), pd.NA, "ev"], dtype=object)  # a numpy scalar among str
    records = frame_records(frame, PARCEL_COLUMNS)
    assert [r["enterprise"] for r in records] == ["甲", None, "<b>"]
    assert [r["employees"] for r in records] == [3, None, 7] and type(records[0]["employees"]) is int
    assert [r["output_wan"] for r in records] == [1.5, None, 2.0]
    assert [r["land_ready"] for r in records] == [True, None, False] and type(records[0]["land_ready"]) is bool
    assert [type(r["chain"]) for r in records] == [str, type(None), str]
    assert all(type(v) in (str, int, float, bool, type(None)) for r in records for v in r.values())
    assert list(records[0]) == [*PARCEL_COLUMNS, "geometry"]
    assert records == [{k: plain(v) for k, v in r.items()} for r in records]


def test_replace_mode_deletes_missing_parcels_of_the_park(store):
    park = store.read_parcels("sh_dasha")
    keep = park.iloc[:-3]
    counts = store.import_features("parcels", keep, user=ADMIN, mode="replace")
    assert counts["deleted"] == 3 and counts["unchanged"] == len(keep)
    assert len(store.read_parcels("sh_dasha")) == len(keep)
    assert store.integrity_check() == []


def _snapshot(backend, store):
    if backend[0] == "gpkg":
        return Path(backend[1]).read_bytes()
    parcels = store.read_parcels()
    return store.revision(), parcels.drop(columns="geometry").to_csv(), tuple(parcels.geometry.to_wkb())


def test_rejected_import_leaves_the_store_unchanged(backend, store, monkeypatch):
    before = _snapshot(backend, store)
    duplicate = make_parcels([(0, 0, 100, 100), (200, 0, 300, 100)], park_id="zq_hitech", parcel_id="SAME")
    with pytest.raises(ParkAtlasError, match="duplicate"):
        store.import_features("parcels", duplicate, user=ADMIN)
    orphan = make_parcels([(0, 0, 100, 100)], park_id="nowhere", parcel_id="X1")
    with pytest.raises(ParkAtlasError, match="unknown park"):
        store.import_features("parcels", orphan, user=ADMIN)
    # A failure after rows were written (disk full at the audit insert) rolls everything back.
    module = __import__(f"geo.store.{backend[0]}", fromlist=["append_audit"])

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, "append_audit", disk_full)
    good = make_parcels([(0, 0, 100, 100)], park_id="zq_hitech", parcel_id="OK1")
    with pytest.raises(OSError):
        store.import_features("parcels", good, user=ADMIN)
    assert _snapshot(backend, store) == before
    assert store.integrity_check() == []


# --- crashes --------------------------------------------------------------------------------
def _crash_during_write(kind, location, operation, stage, marker):
    """Child: signal the parent from inside the transaction (or after the commit), then hang."""
    module = __import__(f"geo.store.{kind}", fromlist=["append_audit"])
    original = module.append_audit

    def append_then_hang(con, rows):
        original(con, rows)
        Path(marker).write_text("in transaction")
        time.sleep(600)

    if stage == "in transaction":
        module.append_audit = append_then_hang
    store = open_backend(kind, location)
    if operation == "reserve":
        store.reserve([Path(marker).with_suffix(".pid").read_text()], project="crash", user=PLANNER)
    else:
        store.import_features("parcels", make_parcels([(0, 0, 100, 100)], park_id="zq_hitech",
                                                      parcel_id="CRASH"), user=ADMIN)
    Path(marker).write_text("committed")
    time.sleep(600)


@pytest.mark.parametrize("stage", ["in transaction", "after commit"])
@pytest.mark.parametrize("operation", ["reserve", "import"])
def test_kill_9_leaves_each_write_wholly_present_or_absent(backend, store, tmp_path, operation, stage):
    pid, = parcels_with(store, "available")
    marker = tmp_path / "marker"
    marker.with_suffix(".pid").write_text(pid)
    child = FORK.Process(target=_crash_during_write, args=(*backend, operation, stage, str(marker)))
    child.start()
    deadline = time.monotonic() + 60
    while not marker.exists() and child.is_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), "the child never reached the point where it is killed"
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    reopened = open_backend(*backend)
    assert reopened.integrity_check() == []
    present = "CRASH" in set(reopened.read_parcels("zq_hitech").parcel_id) if operation == "import" \
        else status_of(reopened, pid).status == "reserved"
    actions = list(reopened.history().action)
    if stage == "in transaction":
        assert not present and actions == []
    else:
        assert present and actions == (["reserve"] if operation == "reserve" else ["insert", "import"])
    # No lock is left behind: the store takes writes again.
    if not present or operation == "import":
        reopened.reserve([pid], project="after", user=PLANNER)
    assert status_of(reopened, pid).status == "reserved" and reopened.integrity_check() == []


# --- backup and restore -----------------------------------------------------------------------
def test_backup_while_writing_restores_every_committed_change(backend, store, tmp_path, request):
    free = parcels_with(store, "available", 40)
    committed, done = [], threading.Event()

    def writer():
        writer_store = open_backend(*backend)
        for pid in free:
            writer_store.reserve([pid], project="busy", user=PLANNER)
            committed.append(pid)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while len(committed) < 10 and thread.is_alive():
        time.sleep(0.005)
    before_backup = list(committed)
    target = tmp_path / ("backup.gpkg" if backend[0] == "gpkg" else "backup.dump")
    store.backup(str(target))
    thread.join(120)
    assert done.is_set()

    if backend[0] == "gpkg":
        restored = open_backend("gpkg", str(copy_sample_store(tmp_path, "restored.gpkg")))
    else:
        from tests import postgis_server

        server_url, template = request.getfixturevalue("postgis_server_url")
        second = postgis_server.create_database(server_url, template=template)
        request.addfinalizer(lambda: postgis_server.drop_database(server_url, second))
        restored = open_backend("postgis", second)
    restored.restore(str(target), user=ADMIN)
    assert restored.integrity_check() == []
    reserved = set(restored.read_parcels().query("status == 'reserved' and reserved_project == 'busy'").parcel_id)
    assert set(before_backup) <= reserved <= set(free)
    assert len(restored.history().query("action == 'reserve'")) == len(reserved)
    assert restored.history().action.iloc[-1] == "restore"


def test_restore_refuses_a_corrupt_backup(backend, store, tmp_path):
    bad = tmp_path / ("bad.gpkg" if backend[0] == "gpkg" else "bad.dump")
    bad.write_bytes(b"SQLite format 3\x00" + os.urandom(4096))
    before = store.revision()
    with pytest.raises(ParkAtlasError):
        store.restore(str(bad), user=ADMIN)
    assert store.revision() == before and store.integrity_check() == []


def test_backup_refuses_to_overwrite(backend, store, tmp_path):
    target = tmp_path / ("b.gpkg" if backend[0] == "gpkg" else "b.dump")
    target.write_text("keep me")
    with pytest.raises(ParkAtlasError, match="exists"):
        store.backup(str(target))
    assert target.read_text() == "keep me"


def test_revision_changes_with_every_write(store):
    pid, = parcels_with(store, "available")
    first = store.revision()
    store.reserve([pid], project="A", user=PLANNER)
    second = store.revision()
    store.release([pid], user=PLANNER)
    assert len({first, second, store.revision()}) == 3


def test_disk_full_mid_import_is_a_clean_error_and_changes_nothing(tmp_path, monkeypatch):
    """A real SQLITE_FULL (the file may not grow) half-way through writing features."""
    from geo.store.gpkg import GpkgStore

    path = copy_sample_store(tmp_path)
    store = GpkgStore(path)
    store.reserve(parcels_with(store, "available"), project="before", user=PLANNER)
    before = path.read_bytes()
    connect = GpkgStore._connect

    def no_room(self):
        con = connect(self)
        con.execute("PRAGMA max_page_count = %d" % con.execute("PRAGMA page_count").fetchone()[0])
        return con

    monkeypatch.setattr(GpkgStore, "_connect", no_room)
    many = make_parcels([(i * 60.0, 0, i * 60.0 + 50, 50) for i in range(3000)], park_id="zq_hitech",
                        parcel_id=[f"BIG{i}" for i in range(3000)])
    with pytest.raises(ParkAtlasError, match="full.*nothing was changed") as refused:
        store.import_features("parcels", many, user=ADMIN)
    assert (refused.value.key, refused.value.values) == ("store.failed.write", {
        "store": str(path), "detail": "database or disk is full"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert store.integrity_check() == [] and len(store.history()) == 1


def test_the_bundled_sample_refuses_writes_in_the_pages_words(sample_store):
    with pytest.raises(ParkAtlasError, match="read-only") as refused:
        sample_store.set_status(parcels_with(sample_store, "available"), "idle", user=ADMIN)
    assert (refused.value.key, refused.value.values) == ("store.failed.read_only", {"store": sample_store.location})


def test_a_file_that_is_not_a_store_is_refused_in_one_line(tmp_path):
    from geo.store import open_store

    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(ParkAtlasError, match="cannot open store") as refused:
        open_store(junk)
    # Pages say it in their language, naming the store and quoting the driver (geo.store.sql.store_failure).
    assert (refused.value.key, refused.value.values) == ("store.failed.open", {
        "store": str(junk), "detail": "file is not a database"})
    assert junk.read_bytes() == b"this is not sqlite at all" * 100
    other = tmp_path / "other.gpkg"  # SQLite, but not a ParkAtlas store
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ParkAtlasError, match="not a ParkAtlas GeoPackage") as refused:
        open_store(other)
    assert (refused.value.key, refused.value.values) == ("store.failed.not_parkatlas", {"store": str(other)})


def test_concurrent_first_opens_seed_one_gpkg(tmp_path):
    from geo.store.gpkg import GpkgStore

    path = tmp_path / "new" / "store.gpkg"
    barrier, results = FORK.Barrier(8), FORK.Queue()

    def first_open():
        barrier.wait()
        try:
            GpkgStore(path).reserve([f"zq_hitech-{os.getpid()}"], project="x", user=PLANNER)
        except NotFoundError:
            results.put("ok")
        except Exception as exc:  # reported to the parent and asserted there
            results.put(repr(exc))

    children = [FORK.Process(target=first_open) for _ in range(8)]
    for child in children:
        child.start()
    assert [results.get(timeout=60) for _ in children] == ["ok"] * 8
    for child in children:
        child.join(10)
    assert GpkgStore(path).integrity_check() == []
    assert sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["store.gpkg"]
