"""What may reach GDAL, zip checks before decompression, and the parsing subprocess's limits."""
from __future__ import annotations

import sys

import pytest

from geo.errors import ParkAtlasError
from geo.io import read_upload, sandbox
from geo.io.safety import FORMATS, Limits, UnsafeInput, apply_gdal_config, refuse_path_like


def test_vrt_and_network_drivers_are_not_registered_in_the_app_process():
    import pyogrio

    import geo  # noqa: F401  — what every entry point imports first

    drivers = set(pyogrio.list_drivers())
    assert not drivers & {"OGR_VRT", "VRT", "HTTP", "WFS", "OAPIF", "GDALG"}
    assert "GPKG" in drivers  # the store still works


def test_an_operators_own_gdal_skip_still_skips_vrt():
    environ = {"GDAL_SKIP": "PDF"}
    apply_gdal_config(environ)
    assert set(environ["GDAL_SKIP"].split(",")) == {"PDF", "VRT", "OGR_VRT"}


def test_sandbox_environment_registers_only_the_formats_driver_and_no_network(monkeypatch, tmp_path):
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    env = sandbox.sandbox_env(FORMATS["geojson"], str(tmp_path), Limits())
    skipped = set(env["GDAL_SKIP"].split(","))
    assert "GeoJSON" not in skipped
    assert {"GPKG", "ESRI Shapefile", "OGR_VRT", "VRT", "CSV", "GML", "HTTP"} <= skipped
    assert env["GDAL_HTTP_PROXY"] == "127.0.0.1:9"
    assert "http_proxy" not in env and "AWS_SECRET_ACCESS_KEY" not in env


def test_only_the_sniffed_driver_can_open_the_bytes(import_corpus):
    # GeoJSON content parsed as a GeoPackage: the GeoJSON driver is not registered in the worker
    data = import_corpus["parcels.geojson"].read_bytes()
    with pytest.raises(sandbox.ParseFailed, match="cannot read"):
        sandbox.parse_in_sandbox(data, FORMATS["gpkg"], limits=Limits())


@pytest.mark.parametrize("name", ["vrt_passwd.geojson", "vrt_http.geojson", "vrt_named.gpkg", "vrt_member.zip",
                                  "vrt_file_member.zip"])
def test_vrt_in_disguise_is_rejected_without_showing_any_file(import_corpus, name):
    with pytest.raises(ParkAtlasError) as info:
        read_upload(import_corpus[name].read_bytes(), name)
    message = str(info.value)
    assert "VRT" in message
    assert "root:" not in message and "/etc/passwd" not in message and "127.0.0.1" not in message


def test_a_vrt_reaching_the_worker_still_cannot_be_opened():
    passwd_vrt = (b'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/etc/passwd</SrcDataSource>'
                  b'</OGRVRTLayer></OGRVRTDataSource>')
    with pytest.raises(sandbox.ParseFailed) as info:
        sandbox.parse_in_sandbox(passwd_vrt, FORMATS["geojson"], limits=Limits())
    assert "root:" not in str(info.value)


@pytest.mark.parametrize("text", ["/vsicurl/http://example.com/a.gpkg", "/vsizip//vsimem/a.zip", "http://x/a.geojson",
                                  "https://x/a.geojson", "GPKG:/vsicurl/http://x", "ftp://x/a.zip", "\\vsicurl\\x",
                                  "s3://bucket/a.gpkg"])
def test_gdal_virtual_paths_and_urls_are_refused(text):
    with pytest.raises(UnsafeInput):
        refuse_path_like(text)
    with pytest.raises(ParkAtlasError):
        read_upload(b"{}", text)


def test_plain_names_pass():
    assert refuse_path_like("地块 2024 (final).zip") == "地块 2024 (final).zip"


def test_read_upload_takes_bytes_not_paths(import_corpus):
    with pytest.raises(ParkAtlasError, match="bytes"):
        read_upload(str(import_corpus["parcels.geojson"]), "parcels.geojson")


def test_upload_size_limit_and_forbidden_types(import_corpus):
    data = import_corpus["parcels.geojson"].read_bytes()
    with pytest.raises(ParkAtlasError, match="limit"):
        read_upload(data, "parcels.geojson", limits=Limits(max_upload_bytes=100))
    for name in ("parcels.exe", "parcels.vrt", "parcels.shp", "parcels"):
        with pytest.raises(ParkAtlasError, match="not accepted"):
            read_upload(data, name)
    with pytest.raises(ParkAtlasError, match="does not match its extension"):
        read_upload(data, "parcels.gpkg")


@pytest.mark.parametrize("name, fragment", [
    ("zip_slip_dotdot.zip", "leaves the archive"),
    ("zip_slip_absolute.zip", "leaves the archive"),
    ("zip_bomb_ratio.zip", "zip bomb"),
    ("zip_bomb_members.zip", "10000 members"),
    ("zip_nested.zip", "nested archives"),
])
def test_hostile_zips_are_rejected_before_decompression(import_corpus, monkeypatch, name, fragment):
    from geo.io import archives

    def no_decompression(*args, **kwargs):
        raise AssertionError("decompressed a zip that should have been refused")

    monkeypatch.setattr(archives, "read_members", no_decompression)
    with pytest.raises(ParkAtlasError, match=fragment):
        read_upload(import_corpus[name].read_bytes(), name)


def test_total_uncompressed_size_is_limited(import_corpus):
    data = import_corpus["utf8_with_cpg.zip"].read_bytes()
    with pytest.raises(ParkAtlasError, match="expands to"):
        read_upload(data, "parcels.zip", limits=Limits(max_total_uncompressed=100))


def _worker(monkeypatch, code: str):
    monkeypatch.setattr(sandbox, "WORKER_COMMAND", [sys.executable, "-c", code])


def test_a_crashing_parser_gives_a_clear_error_and_the_app_goes_on(monkeypatch, import_corpus):
    data = import_corpus["parcels.geojson"].read_bytes()
    with monkeypatch.context() as m:
        _worker(m, "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)")
        with pytest.raises(sandbox.ParseFailed, match=r"crashed \(SIGSEGV\)"):
            read_upload(data, "parcels.geojson")
    assert len(read_upload(data, "parcels.geojson").frame) == 3


def test_a_hanging_parser_is_stopped_at_the_timeout(monkeypatch, import_corpus):
    _worker(monkeypatch, "import time; time.sleep(60)")
    with pytest.raises(sandbox.ParseFailed, match="longer than 1 s"):
        read_upload(import_corpus["parcels.geojson"].read_bytes(), "parcels.geojson", limits=Limits(timeout_s=1))


def test_the_worker_reads_gdal_formats_without_loading_the_analysis_stack(monkeypatch, import_corpus):
    """pyogrio imports geopandas, pandas, shapely and pyproj when it finds them: 0.5 s of CPU per parse."""
    root = str(sandbox._REPO_ROOT)
    _worker(monkeypatch, f"import sys; sys.path.insert(0, {root!r}); from geo.io.sandbox import worker_main; "
                         "worker_main(sys.argv[1]); loaded = [m for m in ('geopandas', 'pandas', 'shapely', 'pyproj') "
                         "if sys.modules.get(m) is not None]; sys.exit(3 if loaded else 0)")
    result = read_upload(import_corpus["parcels.gpkg"].read_bytes(), "parcels.gpkg")
    assert result.frame.parcel_id.tolist() == ["ZQ-001", "ZQ-002", "ZQ-003"]
    with pytest.raises(sandbox.ParseFailed, match="exit status 3"):  # a table needs pandas: the check can fail
        read_upload(import_corpus["parcels_wkt.csv"].read_bytes(), "parcels_wkt.csv")


def test_the_memory_limit_stops_a_runaway_parser(monkeypatch, import_corpus):
    root = str(sandbox._REPO_ROOT)
    _worker(monkeypatch, f"import sys; sys.path.insert(0, {root!r}); from geo.io.sandbox import _apply_limits; "
                         "_apply_limits(); bytearray(2 * 1024 ** 3)")
    with pytest.raises(sandbox.ParseFailed, match="more than 256 MB"):
        read_upload(import_corpus["parcels.geojson"].read_bytes(), "parcels.geojson",
                    limits=Limits(memory_bytes=256 * 2 ** 20))


@pytest.fixture()
def listener():
    """A loopback TCP server counting connection attempts (none may arrive)."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    hits = []
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                hits.append(server.accept()[0].close())
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], hits
    stop.set()
    thread.join()
    server.close()


def test_no_outbound_connection_from_a_vrt_or_kml_pointing_at_a_url(listener):
    port, hits = listener
    url = f"http://127.0.0.1:{port}/parcels"
    vrt = (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/vsicurl/{url}.csv</SrcDataSource>'
           f'</OGRVRTLayer></OGRVRTDataSource>').encode()
    kml = (f'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document><NetworkLink>'
           f'<Link><href>{url}.kml</href></Link></NetworkLink><Placemark><name>P</name><Polygon><outerBoundaryIs>'
           f'<LinearRing><coordinates>112.82,23.32 112.83,23.32 112.83,23.33 112.82,23.32</coordinates>'
           f'</LinearRing></outerBoundaryIs></Polygon></Placemark></Document></kml>').encode()
    with pytest.raises(sandbox.ParseFailed):
        sandbox.parse_in_sandbox(vrt, FORMATS["geojson"], limits=Limits())
    sandbox.parse_in_sandbox(kml, FORMATS["kml"], limits=Limits())
    assert hits == []


def test_the_cli_entry_chain_skips_vrt_before_pyogrio_loads(tmp_path):
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GDAL_", "CPL_"))}
    code = "import commands, pyogrio; print('OGR_VRT' in pyogrio.list_drivers(), 'GPKG' in pyogrio.list_drivers())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=sandbox._REPO_ROOT, timeout=120)
    assert done.stdout.split() == ["False", "True"], done.stderr
