"""Generate the import test corpus: one file per case of issue 3 (see docs/import.md).

Usage: ``python tests/data/make_corpus.py OUTDIR``. The tests call :func:`write_corpus` into a
temporary directory once per session, so no generated file is committed. Every file is
deterministic. Coordinates sit in Zhaoqing's High-tech Zone: CGCS2000 3° Gauss-Krüger CM 114°E
(EPSG:4547) around (380000, 2581000), or CM 111°E (EPSG:4546) for the western counties.
"""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo.io.datum import wgs84_to_bd09, wgs84_to_gcj02  # noqa: E402

ORIGIN = (380_000.0, 2_581_000.0)  # EPSG:4547 metres, inside the High-tech Zone
#: Attribute values that must be stored as plain text.
XSS_PAYLOADS = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "`backtick`",
                "${document.title=1}", "</script><b>bold</b>"]
ENTERPRISES = ["肇庆新能源汽车零部件有限公司", "广东储能材料科技股份公司", "电子信息产业园管理中心"]


def boxes(n: int = 3, size: float = 100.0, gap: float = 10.0, origin=ORIGIN) -> list:
    """``n`` square parcels in a row, in EPSG:4547 metres."""
    ox, oy = origin
    return [shapely.box(ox + i * (size + gap), oy, ox + i * (size + gap) + size, oy + size) for i in range(n)]


def chinese_parcels(n: int = 3) -> gpd.GeoDataFrame:
    """Parcels with Chinese headers as planners' GIS departments send them (EPSG:4547)."""
    return gpd.GeoDataFrame({
        "地块编号": [f"ZQ-{i + 1:03d}" for i in range(n)],
        "用地性质": ["100101", "M2", "100103"][:n] + ["100101"] * max(0, n - 3),
        "企业名称": (ENTERPRISES * n)[:n],
        "状态": ["已投产", "可供地", "available"][:n] + ["available"] * max(0, n - 3),
        "园区编号": ["zq_hitech"] * n,
    }, geometry=boxes(n), crs="EPSG:4547")


def shapefile_parcels(n: int = 3) -> gpd.GeoDataFrame:
    """Like :func:`chinese_parcels` with DBF-sized headers (≤ 10 bytes even in UTF-8)."""
    return chinese_parcels(n).rename(columns={"地块编号": "宗地号", "用地性质": "用途", "企业名称": "企业",
                                               "园区编号": "园区"})


def county_parcels(n: int = 3) -> gpd.GeoDataFrame:
    """What a county land bureau sends: Chinese headers, an area in 亩, no status and no park column,
    and a 行业 column no alias knows (the planner maps it). EPSG:4547 metres."""
    return gpd.GeoDataFrame({
        "地块编号": [f"XQ-{i + 1:03d}" for i in range(n)],
        "用地性质": ["100101"] * n,
        "面积": [15.0] * n,  # 100 m × 100 m = 15 亩
        "企业名称": (ENTERPRISES * n)[:n],
        "行业": ["3670"] * n,
    }, geometry=boxes(n, origin=(ORIGIN[0], ORIGIN[1] + 300.0)), crs="EPSG:4547")


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _members(zip_bytes: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def shapefile_zip(frame: gpd.GeoDataFrame, tmp: Path, *, encoding: str = "utf-8", cpg: str | None = "UTF-8",
                  prj: bool = True, stem: str = "parcels") -> bytes:
    """A zipped shapefile written with ``encoding``; ``cpg`` is the .cpg text (None: no .cpg)."""
    import warnings

    folder = tmp / f"shp_{stem}_{encoding}_{cpg}_{prj}"
    folder.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # "no CRS" is the point of the .prj-less cases
        warnings.simplefilter("ignore", UserWarning)
        frame.to_file(folder / f"{stem}.shp", encoding=encoding, engine="pyogrio")
    members = {}
    for ext in ("shp", "shx", "dbf", "prj"):
        if ext == "prj" and not prj:
            continue
        members[f"{stem}.{ext}"] = (folder / f"{stem}.{ext}").read_bytes()
    if cpg is not None:
        members[f"{stem}.cpg"] = cpg.encode()
    return _zip(members)


def _geojson(frame: gpd.GeoDataFrame) -> bytes:
    return frame.to_json(ensure_ascii=False, drop_id=True).encode("utf-8")


def _bytes_of(frame: gpd.GeoDataFrame, tmp: Path, name: str, **kwargs) -> bytes:
    path = tmp / name
    frame.to_file(path, engine="pyogrio", **kwargs)
    return path.read_bytes()


def _lonlat(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs("EPSG:4326")


def _dxf(tmp: Path) -> bytes:
    import ezdxf

    doc = ezdxf.new("R2010")
    space = doc.modelspace()
    for geom in boxes(3):
        space.add_lwpolyline(list(geom.exterior.coords)[:-1], close=True, dxfattribs={"layer": "PARCELS"})
    space.add_line((ORIGIN[0], ORIGIN[1] - 50), (ORIGIN[0] + 300, ORIGIN[1] - 50), dxfattribs={"layer": "ROADS"})
    path = tmp / "parcels.dxf"
    doc.saveas(path)
    return path.read_bytes()


def _xlsx(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, engine="openpyxl")
    return buffer.getvalue()


def _vrt(source: str) -> bytes:
    return (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>{source}</SrcDataSource>'
            f'<GeometryType>wkbNone</GeometryType></OGRVRTLayer></OGRVRTDataSource>').encode()


def invalid_geometries() -> gpd.GeoDataFrame:
    """A bow-tie, a ring touching itself at a point, a spike, and one valid square (EPSG:4547)."""
    ox, oy = ORIGIN
    bowtie = shapely.Polygon([(ox, oy), (ox + 100, oy + 100), (ox + 100, oy), (ox, oy + 100)])
    x = ox + 200  # a ring that passes twice through (x+50, y+50): self-touching
    self_touching = shapely.Polygon([(x, oy), (x + 100, oy), (x + 50, oy + 50), (x + 100, oy + 100),
                                     (x, oy + 100), (x + 50, oy + 50)])
    x = ox + 400  # a square with a 40 m zero-width spike out of its top edge
    spike = shapely.Polygon([(x, oy), (x + 100, oy), (x + 100, oy + 100), (x + 50, oy + 100),
                             (x + 50, oy + 140), (x + 50, oy + 100), (x, oy + 100)])
    valid = shapely.box(ox + 600, oy, ox + 700, oy + 100)
    return gpd.GeoDataFrame({"parcel_id": ["BOWTIE", "SELFTOUCH", "SPIKE", "VALID"], "status": "available",
                             "park_id": "zq_hitech"},
                            geometry=[bowtie, self_touching, spike, valid], crs="EPSG:4547")


def mixed_geometries() -> bytes:
    """GeoJSON (lon/lat) with a GeometryCollection, a point, a line, a null and a polygon."""
    poly = _lonlat(gpd.GeoDataFrame(geometry=boxes(2), crs="EPSG:4547")).geometry.values
    line = shapely.LineString(shapely.get_coordinates(poly[0])[:2])
    features = [
        ("GC", shapely.GeometryCollection([poly[0], line])),
        ("POINT", shapely.centroid(poly[0])),
        ("LINE", line),
        ("NULL", None),
        ("OK", poly[1]),
    ]
    frame = gpd.GeoDataFrame({"parcel_id": [f for f, _ in features], "status": "available", "park_id": "zq_hitech"},
                             geometry=[g for _, g in features], crs="EPSG:4326")
    return _geojson(frame)


def overlaps_and_slivers() -> gpd.GeoDataFrame:
    """Two parcels overlapping by 10 m × 100 m = 1000 m², and a 1 m × 100 m sliver."""
    ox, oy = ORIGIN
    return gpd.GeoDataFrame({"parcel_id": ["A", "B", "SLIVER"], "status": "available", "park_id": "zq_hitech"},
                            geometry=[shapely.box(ox, oy, ox + 100, oy + 100),
                                      shapely.box(ox + 90, oy, ox + 190, oy + 100),
                                      shapely.box(ox + 300, oy, ox + 301, oy + 100)], crs="EPSG:4547")


def xss_parcels() -> gpd.GeoDataFrame:
    frame = chinese_parcels(len(XSS_PAYLOADS))
    frame["企业名称"] = XSS_PAYLOADS
    frame["状态"] = "available"
    return frame


def write_corpus(out: Path) -> dict[str, Path]:
    """Write every case into ``out``; returns case name → path."""
    import tempfile

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        files = _build(Path(scratch))
    paths = {}
    for name, content in files.items():
        path = out / name
        path.write_bytes(content)
        paths[name] = path
    return paths


def _build(tmp: Path) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    parcels = chinese_parcels()

    # Shapefiles and encodings
    shp = shapefile_parcels()
    files["gbk_no_cpg.zip"] = shapefile_zip(shp, tmp, encoding="gbk", cpg=None)
    files["gbk_wrong_cpg.zip"] = shapefile_zip(shp, tmp, encoding="gbk", cpg="UTF-8")
    files["utf8_with_cpg.zip"] = shapefile_zip(shp, tmp, encoding="utf-8", cpg="UTF-8")
    files["county_gbk_cpg_no_status.zip"] = shapefile_zip(county_parcels(), tmp, encoding="gbk", cpg="GBK",
                                                          stem="county")
    files["nested_folder_shp.zip"] = _zip({f"exports/2024/{n}": c for n, c in _members(files["utf8_with_cpg.zip"]).items()})

    # CRS cases
    zone_prefixed = shp.copy()
    zone_prefixed.geometry = shapely.transform(shp.geometry.values, lambda c: c + [38_000_000, 0])
    files["gk_zone_prefixed_no_prj.zip"] = shapefile_zip(zone_prefixed.set_crs(None, allow_override=True), tmp,
                                                         prj=False, stem="zone38")
    files["gk_plain_no_prj.zip"] = shapefile_zip(shp.set_crs(None, allow_override=True), tmp, prj=False,
                                                 stem="plain114")
    west = gpd.GeoDataFrame({"parcel_id": ["W1", "W2"], "status": "available", "park_id": "gk_park"},
                            geometry=boxes(2, origin=(560_000.0, 2_560_000.0)), crs="EPSG:4546")
    west_wkt = pd.DataFrame({"parcel_id": west.parcel_id, "status": west.status,
                             "wkt": shapely.to_wkt(west.geometry.values, rounding_precision=3)})
    files["gk_plain_west.csv"] = west_wkt.to_csv(index=False).encode()
    swapped = _lonlat(parcels)
    swapped.geometry = shapely.transform(swapped.geometry.values, lambda c: c[:, ::-1].copy())
    files["swapped_latlon.geojson"] = _geojson(swapped)
    gcj = _lonlat(parcels)
    gcj.geometry = shapely.transform(gcj.geometry.values, lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1])))
    files["gcj02.geojson"] = _geojson(gcj)
    wgs_points = shapely.get_coordinates(_lonlat(parcels).geometry.values[:2])
    ring_ids = np.repeat(["BD-1", "BD-2"], len(wgs_points) // 2)
    bd_lon, bd_lat = wgs84_to_bd09(wgs_points[:, 0], wgs_points[:, 1])
    files["bd09_boundary_points.csv"] = pd.DataFrame({"宗地号": ring_ids, "点号": np.tile(np.arange(5), 2),
                                                      "经度": bd_lon.round(8), "纬度": bd_lat.round(8),
                                                      "状态": "available", "园区编号": "zq_hitech"}) \
        .to_csv(index=False).encode("utf-8")
    beijing = gpd.GeoDataFrame({"parcel_id": ["BJ-1"], "status": "available", "park_id": "zq_hitech"},
                               geometry=[shapely.box(116.39, 39.90, 116.40, 39.91)], crs="EPSG:4326")
    files["outside_region.geojson"] = _geojson(beijing)

    # Geometry problems
    files["invalid_geometries.gpkg"] = _bytes_of(invalid_geometries(), tmp, "invalid.gpkg", layer="parcels")
    files["mixed_types.geojson"] = mixed_geometries()
    files["overlaps_slivers.gpkg"] = _bytes_of(overlaps_and_slivers(), tmp, "overlaps.gpkg", layer="parcels")
    dup = chinese_parcels()
    dup["地块编号"] = ["ZQ-001", "ZQ-001", "ZQ-003"]
    files["duplicate_ids.geojson"] = _geojson(_lonlat(dup))

    # Hostile inputs
    files["vrt_passwd.geojson"] = _vrt("/etc/passwd")
    files["vrt_http.geojson"] = _vrt("/vsicurl/http://127.0.0.1:9/parcels.csv")
    files["vrt_named.gpkg"] = _vrt("/etc/passwd")
    files["vrt_member.zip"] = _zip({"parcels.geojson": _vrt("/etc/passwd")})
    files["vrt_file_member.zip"] = _zip({"parcels.vrt": _vrt("/etc/passwd"),
                                         **_members(files["utf8_with_cpg.zip"])})
    files["zip_slip_dotdot.zip"] = _zip({"../../evil.shp": b"x", "parcels.dbf": b"x"})
    files["zip_slip_absolute.zip"] = _zip({"/tmp/evil.shp": b"x"})
    files["zip_bomb_ratio.zip"] = _zip({"parcels.dbf": b"\0" * (64 * 2 ** 20), "parcels.shp": b"\0" * 100})
    files["zip_bomb_members.zip"] = _zip({f"m{i:05d}.txt": b"" for i in range(10_000)}, zipfile.ZIP_STORED)
    files["zip_nested.zip"] = _zip({"inner.zip": _zip({"parcels.shp": b"x"})})
    files["xss.geojson"] = _geojson(_lonlat(xss_parcels()))

    # Formats
    lonlat = _lonlat(parcels)
    files["parcels.gpkg"] = _bytes_of(parcels, tmp, "parcels.gpkg", layer="parcels")
    files["parcels.geojson"] = _geojson(lonlat)
    files["parcels.fgb"] = _bytes_of(parcels, tmp, "parcels.fgb")
    files["parcels.kml"] = _bytes_of(lonlat, tmp, "parcels.kml", driver="KML")
    files["parcels.kmz"] = _zip({"doc.kml": files["parcels.kml"]})
    parquet = tmp / "parcels.parquet"
    parcels.to_parquet(parquet)
    files["parcels.parquet"] = parquet.read_bytes()
    files["parcels.dxf"] = _dxf(tmp)
    table = pd.DataFrame(parcels.drop(columns="geometry"))
    files["parcels_wkt.csv"] = table.assign(WKT=shapely.to_wkt(parcels.geometry.values, rounding_precision=3)) \
        .to_csv(index=False).encode("utf-8")
    files["parcels_wkt_gbk.csv"] = table.assign(wkt=shapely.to_wkt(lonlat.geometry.values, rounding_precision=8)) \
        .to_csv(index=False).encode("gbk")
    corners = shapely.get_coordinates(lonlat.geometry.values)
    vertex_table = pd.DataFrame({"地块编号": np.repeat(table["地块编号"].to_numpy(), 5),
                                 "lon": corners[:, 0].round(8), "lat": corners[:, 1].round(8),
                                 "状态": "available", "园区编号": "zq_hitech"})
    files["parcels_lonlat_points.csv"] = vertex_table.to_csv(index=False).encode("utf-8")
    files["centroids_lonlat.csv"] = pd.DataFrame({"parcel_id": ["C1"], "lon": [112.85], "lat": [23.33],
                                                  "status": ["available"]}).to_csv(index=False).encode()
    files["parcels_wkt.xlsx"] = _xlsx(pd.DataFrame(_lonlat(xss_parcels()).drop(columns="geometry")).assign(
        wkt=shapely.to_wkt(_lonlat(xss_parcels()).geometry.values, rounding_precision=8)))
    files["parcels_lonlat.xlsx"] = _xlsx(vertex_table)
    units = lonlat.assign(**{"建筑面积(公顷)": [1.2, 0.5, None], "投资额（亿元）": [1.5, 0.2, 3.0],
                             "面积(亩)": [15.0, 15.0, 30.0], "容积率": [1.2, 0.5, 2.0]})
    files["aliases_units.geojson"] = _geojson(units)
    custom = lonlat.rename(columns={"地块编号": "DKBM_X", "企业名称": "QYMC_X"})
    files["custom_headers.geojson"] = _geojson(custom)
    files["custom_headers_mapping.json"] = json.dumps({"columns": {"DKBM_X": "parcel_id",
                                                                   "QYMC_X": "enterprise"}}).encode()
    replacement = lonlat.copy()
    replacement["企业名称"] = ["肇庆\ufffd\ufffd公司", "A", "B"]
    files["replacement_chars.geojson"] = _geojson(replacement)

    park = gpd.GeoDataFrame({"园区编号": ["zq_new_park"], "园区名称": ["肇庆测试产业园"], "英文名": ["Test Park"],
                             "分组": ["east"], "行政区划代码": ["441204"]},
                            geometry=[shapely.MultiPolygon(boxes(2, size=500.0, gap=50.0))], crs="EPSG:4547")
    files["parks.geojson"] = _geojson(_lonlat(park))
    files["gpkg_in_zip.zip"] = _zip({"data/parcels.gpkg": files["parcels.gpkg"]})

    # Truncated files
    files["truncated.gpkg"] = files["parcels.gpkg"][: len(files["parcels.gpkg"]) // 3]
    files["truncated.parquet"] = files["parcels.parquet"][: len(files["parcels.parquet"]) // 2]
    files["truncated.dxf"] = files["parcels.dxf"][: len(files["parcels.dxf"]) // 3]
    shp_members = _members(files["utf8_with_cpg.zip"])
    shp_members["parcels.shp"] = shp_members["parcels.shp"][:150]
    files["truncated_shp.zip"] = _zip(shp_members)
    files["not_a_zip.zip"] = b"PK\x03\x04" + b"\0" * 64
    return files


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/data/make_corpus.py OUTDIR")
    for case in write_corpus(Path(sys.argv[1])):
        print(case)
