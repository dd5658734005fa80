"""Issue 21 Low items of the import: the parser has no network at all (a listening socket proves it)."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import pytest

from geo.errors import ParkAtlasError
from geo.io import read_upload
from geo.io.safety import SANDBOX_GDAL_CONFIG
from tests.conftest import ROOT


class Listener:
    """A loopback TCP server that counts the connections it accepts."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.fixture()
def listener():
    server = Listener()
    yield server
    server.close()


def test_the_parsing_process_cannot_open_an_internet_socket(listener):
    code = ("import socket, sys; sys.path.insert(0, sys.argv[1]); from geo.io.sandbox import forbid_network; "
            "forbid_network(); socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=5)")
    done = subprocess.run([sys.executable, "-c", code, str(ROOT), str(listener.port)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "PermissionError" in done.stderr
    assert listener.connections == 0


def test_a_geojson_crs_link_reaches_nobody_even_through_a_live_proxy(listener, monkeypatch):
    # The old fence was a proxy on the discard port; here a live proxy listens instead.
    monkeypatch.setitem(SANDBOX_GDAL_CONFIG, "GDAL_HTTP_PROXY", f"127.0.0.1:{listener.port}")
    url = f"http://127.0.0.1:{listener.port}/crs.wkt"
    document = {"type": "FeatureCollection",
                "crs": {"type": "link", "properties": {"href": url, "type": "ogcwkt"}},
                "features": [{"type": "Feature", "properties": {"parcel_id": "L1", "status": "available"},
                              "geometry": {"type": "Polygon", "coordinates": [[[112.46, 23.05], [112.47, 23.05],
                                                                               [112.47, 23.06], [112.46, 23.05]]]}}]}
    try:
        read_upload(json.dumps(document).encode(), "linked.geojson")
    except ParkAtlasError:
        pass  # refusing the file is fine; reaching the network is not
    assert listener.connections == 0


# --- the import report ----------------------------------------------------------------------------
def _cli(store: str, *argv):
    import contextlib
    import io

    from commands import build_parser, run

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(build_parser(), ["--store", store, *argv])
    return code, out.getvalue(), err.getvalue()


def test_a_dry_run_of_a_blocked_import_still_prints_the_report(store_path, import_corpus):
    code, out, err = _cli(str(store_path), "import", str(import_corpus["duplicate_ids.geojson"]), "--dry-run",
                          "--format", "json")
    assert code == 2 and err.count("\n") == 1 and "--dry-run --format json lists every problem" in err
    report = json.loads(out)
    assert report["status"] == "blocked" and report["problem_counts"].get("duplicate_id")


def test_split_bow_ties_are_counted_per_source_feature(store_path, import_corpus):
    code, out, err = _cli(str(store_path), "import", str(import_corpus["invalid_geometries.gpkg"]), "--dry-run",
                          "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["features_rejected"] == 0
    assert report["parts_added_by_split"] >= 1
    assert report["features_accepted"] == report["features_read"] + report["parts_added_by_split"]


@pytest.fixture(params=["gpkg", "postgis"])
def store_url(request, store_path):
    return str(store_path) if request.param == "gpkg" else request.getfixturevalue("postgis_url")


def test_overlaps_with_parcels_already_in_the_store_are_reported(store_url, tmp_path):
    import geopandas as gpd
    import shapely

    from geo.store import open_store

    stored = open_store(store_url).read_parcels("dz_park").iloc[0]
    moved = shapely.affinity.translate(stored.geometry, xoff=0.00005)  # about 5 m east: mostly the same land
    update = shapely.affinity.translate(stored.geometry, xoff=0.00001)
    frame = gpd.GeoDataFrame({"parcel_id": ["NEW-1", stored.parcel_id], "status": ["available"] * 2,
                              "land_use_code": ["100101"] * 2}, geometry=[moved, update], crs="EPSG:4490")
    source = tmp_path / "overlap.geojson"
    frame.to_file(source, driver="GeoJSON")
    code, out, err = _cli(store_url, "import", str(source), "--dry-run", "--format", "json", "--park", "dz_park")
    assert code == 0, err
    report = json.loads(out)
    found = [p for p in report["problems"] if p["kind"] == "overlap_existing"]
    # NEW-1 overlaps the stored parcel; the row with the stored parcel's own id is an update, not an overlap.
    assert [(p["parcel_id"], p["value"]) for p in found] == [("NEW-1", stored.parcel_id)]
    assert report["geometry"]["overlaps_with_store"] == 1
    assert report["geometry"]["overlap_with_store_area_m2"] > 0.5 * stored_area(stored)


def stored_area(row) -> float:
    from geo.crs import projected_area_m2
    import geopandas as gpd

    return float(projected_area_m2(gpd.GeoSeries([row.geometry], crs="EPSG:4490"))[0])
