"""Every refusal of an import in the planner's words (issue 19): each refusal on the import path —
the upload checks, the zip checks, the sandboxed parser, encodings, coordinate systems, field
mappings, table geometry, the commit — carries a catalogue key, and its Chinese text holds no
English words besides the file's own names and codes (extensions, encodings, EPSG codes)."""
from __future__ import annotations

import io
import re
import stat
import zipfile
from pathlib import Path

import pytest

from geo import i18n
from geo.auth import User
from geo.errors import KeyedError
from geo.io import archives, attributes, commit_import, crs_guess, read_upload, sandbox
from geo.io.safety import Limits
from geo.testing import copy_sample_store, make_parcels

ROOT = Path(__file__).resolve().parents[1]
#: Names of formats, encodings and codes a Chinese sentence may quote as they are.
CODES = {"GeoParquet", "Shapefile", "Excel", "wkt", "geometry", "x", "y"}
_WORD = re.compile(r"[A-Za-z][A-Za-z_]*")


def english_words(text: str, values: dict) -> list[str]:
    """Words of ``text`` that are English: not a value (file names, codes from the file), not an
    extension (``.shp``), not an upper-case code (GBK, EPSG, MB, PARKATLAS_…), not a format name."""
    for value in sorted((str(v) for v in values.values()), key=len, reverse=True):
        if value:
            text = text.replace(value, " ")
    text = re.sub(r"\.[a-z]{2,4}\b", " ", text)
    return [w for w in _WORD.findall(text) if not w.isupper() and w not in CODES]


def refusal(call) -> KeyedError:
    with pytest.raises(KeyedError) as caught:
        call()
    return caught.value


def _zip(members: dict, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in members.items():  # a name or a ZipInfo
            archive.writestr(name, content)
    return buffer.getvalue()


def _member(name: str, **attrs) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    for key, value in attrs.items():
        setattr(info, key, value)
    return info


def _corrupt_zip() -> bytes:
    data = bytearray(_zip({"a.shp": b"x" * 200, "a.shx": b"y" * 200, "a.dbf": b"z" * 200}, zipfile.ZIP_STORED))
    data[data.index(b"x" * 200) + 50] = ord("q")  # the member's bytes no longer match its CRC
    return bytes(data)


def _encrypted_zip() -> bytes:
    data = bytearray(_zip({"a.shp": b"x"}))
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 0x1  # the central directory's "encrypted" flag bit
    return bytes(data)


def _mapping_file(text: str) -> Path:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="parkatlas-mapping-")) / "对照.json"
    path.write_text(text, encoding="utf-8")
    return path


def _plain_parquet() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2]}), buffer)
    return buffer.getvalue()


def _upload(data, name, **options):
    return lambda: read_upload(data, name, **options)


CSV_POINTS = "地块编号,经度,纬度\nA,112.5,23.0\nA,112.6,23.0\nB,112.5,23.1\nB,112.6,23.1\n".encode()
CASES = {
    "too_large": _upload(b"{}" * 20, "大.geojson", limits=Limits(max_upload_bytes=10)),
    "empty": _upload(b"", "空.geojson"),
    "extension": _upload(b"data", "地块.exe"),
    "no_extension": _upload(b"data", "地块"),
    "vrt": _upload(b"<OGRVRTDataSource></OGRVRTDataSource>", "a.geojson"),
    "content": _upload(b"PK\x03\x04 not json", "a.geojson"),
    "virtual_path": _upload(b"{}", "/vsicurl/http://10.0.0.1/a.geojson"),
    "url": _upload(b"{}", "http://10.0.0.1/a.geojson"),
    "not_bytes": _upload("a.geojson", "a.geojson"),
    "layer": _upload(b"{}", "a.geojson", layer="roads"),
    "datum": _upload(b"{}", "a.geojson", source_datum="wgs"),
    "zip_unreadable": _upload(b"PK\x03\x04 truncated", "县.zip"),
    "zip_members": _upload(_zip({f"{i}.csv": b"a" for i in range(3)}), "县.zip", limits=Limits(max_members=2)),
    "zip_slip": _upload(_zip({"../a.shp": b"x"}), "县.zip"),
    "zip_encrypted": _upload(_encrypted_zip(), "县.zip"),
    "zip_symlink": _upload(_zip({_member("a.shp", external_attr=(stat.S_IFLNK | 0o777) << 16): b"x"}), "县.zip"),
    "zip_vrt": _upload(_zip({"a.vrt": b"<x/>"}), "县.zip"),
    "zip_nested": _upload(_zip({"inner.zip": b"x"}), "县.zip"),
    "zip_member_ratio": _upload(_zip({"a.shp": b"\0" * (3 * 2 ** 20)}), "县.zip"),
    "zip_total": _upload(_zip({"a.shp": b"\0" * 1000}), "县.zip", limits=Limits(max_total_uncompressed=100)),
    "zip_ratio": _upload(_zip({"a.shp": b"\0" * 700_000, "a.dbf": b"\0" * 700_000}), "县.zip"),
    "zip_corrupt": _upload(_corrupt_zip(), "县.zip"),
    "zip_no_shapefile": lambda: archives.shapefile_members(["readme.txt"]),
    "zip_shapefiles": _upload(_zip({"a.shp": b"x", "b.shp": b"x"}), "县.zip"),
    "zip_shapefile_part": _upload(_zip({"a.shp": b"x", "a.dbf": b"x"}), "县.zip"),
    "zip_one_file": _upload(_zip({"说明.md": b"x"}), "县.zip"),
    "kmz_no_kml": _upload(_zip({"a.png": b"x"}), "县.kmz"),
    "parse_timeout": _upload(CSV_POINTS, "点.csv", limits=Limits(timeout_s=0.0001)),
    "read.damaged": _upload(b"SQLite format 3\x00" + b"\0" * 52 + b"GPKG" + b"\x07" * 200, "坏.gpkg"),
    "read.parquet_corrupt": _upload(b"PAR1 truncated", "坏.parquet"),
    "read.parquet_no_geo": _upload(_plain_parquet(), "表.parquet"),
    "read.unknown_text": _upload(b"a,b\n\xff\xfe\xff,\xff\n", "坏.csv"),
    "read.not_encoding": _upload("地块,x\n甲,1\n".encode("utf-8"), "表.csv", encoding="ascii"),
    "read.csv": _upload(b'a,b\n"1,2\n3,4', "坏.csv"),
    "read.xlsx": _upload(_zip({"x.txt": b"not a workbook"}), "坏.xlsx"),
    "table_geometry": _upload(b"a,b\n1,2\n", "表.csv"),
    "table_coordinates": _upload("经度,纬度\n东,23\n".encode(), "表.csv"),
    "boundary_points": _upload(CSV_POINTS, "界址点.csv"),
    "gk_zone": _upload(b"parcel_id,wkt\nA,\"POLYGON ((10400000 2500000, 10400100 2500000, 10400100 2500100, "
                       b"10400000 2500000))\"\n", "坐标.csv"),
    "region_setting": lambda: crs_guess.Region.from_env({"PARKATLAS_REGION_BBOX": "112,23"}),
    "limits_setting": lambda: Limits.from_env({"PARKATLAS_IMPORT_MAX_MB": "两百"}),
    "mapping_unreadable": lambda: attributes.load_mapping(ROOT / "no-such-mapping.json"),
    "mapping_not_object": lambda: attributes.load_mapping(_mapping_file("[1, 2]")),
    "mapping_invalid": lambda: attributes.load_mapping(_mapping_file("{地块编号: ")),
    "mapping_target": lambda: attributes.match_headers(["地块编号"], "parcels", {"地块编号": "colour"}),
    "mapping_column": lambda: attributes.match_headers(["地块编号"], "parcels", {"宗地号": "parcel_id"}),
    "mapping_twice": lambda: attributes.match_headers(["地块编号", "宗地号"], "parcels",
                                                      {"地块编号": "parcel_id", "宗地号": "parcel_id"}),
    "unit": _upload("地块编号,面积(英亩),经度,纬度\nA,1,112.5,23.0\n".encode(), "表.csv"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_refusal_is_keyed_and_chinese(name):
    error = refusal(CASES[name])
    assert error.key == f"import.refused.{name}"
    zh, en = i18n.t(error.key, "zh", **error.values), i18n.t(error.key, "en", **error.values)
    assert error.key not in (zh, en), "the refusal has no text in the catalogue"
    assert not english_words(zh, error.values), zh
    assert re.search(r"[\u4e00-\u9fff]", zh)
    for value in ("{", "None", "Traceback"):
        assert value not in zh


def test_the_parsers_exit_refusals_are_chinese():
    limits = Limits()
    for code, stderr, key in ((-9, b"", "parse_limit"), (-11, b"", "parse_crash"),
                              (1, b"MemoryError", "parse_memory"), (3, b"", "parse_exit")):
        error = sandbox._exit_failure(code, stderr, "县.zip", limits)
        assert error.key == f"import.refused.{key}"
        zh = i18n.t(error.key, "zh", **error.values)
        assert "县.zip" in zh and not english_words(zh, error.values), zh


def test_a_county_shapefile_refused_at_commit_and_by_a_wrong_encoding(import_corpus, tmp_path):
    from geo.store.gpkg import GpkgStore

    data = Path(import_corpus["county_gbk_cpg_no_status.zip"]).read_bytes()
    store = GpkgStore(copy_sample_store(tmp_path))
    before = store.revision()
    blocked = read_upload(data, "县.zip", parks=store.read_parks())  # no status column, no default
    error = refusal(lambda: commit_import(store, blocked, User("ada", "admin")))
    assert error.key == "import.refused.blocked"
    assert not english_words(i18n.t(error.key, "zh", **error.values), error.values)
    error = refusal(lambda: read_upload(data, "县.zip", encoding="klingon"))
    assert error.key == "import.refused.encoding_unknown"
    assert not english_words(i18n.t(error.key, "zh", **error.values), error.values)
    stray = make_parcels([(0, 0, 100, 100)], park_id="no_such_park", parcel_id="X1")
    error = refusal(lambda: store.import_features("parcels", stray, user=User("ada", "admin")))
    assert error.key == "import.refused.unknown_park"
    assert not english_words(i18n.t(error.key, "zh", **error.values), error.values)
    assert store.revision() == before  # nothing written by any refusal


def test_every_refusal_key_of_the_code_has_chinese_and_english_text():
    """Keys raised anywhere on the import path (and the sandbox's ReadError keys) are in both catalogues,
    with the same placeholders, and the Chinese texts are Chinese."""
    sources = [*(ROOT / "geo" / "io").glob("*.py"), ROOT / "geo" / "store" / "sql.py"]
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    keys = set(re.findall(r'"(import\.refused\.[a-z_]+)"', text))
    keys |= {f"import.refused.read.{k}" for k in re.findall(r'ReadError\("([a-z_]+)"', text)}
    keys.add("import.refused.read.failed")
    assert len(keys) > 50
    zh, en = i18n.catalogue("zh"), i18n.catalogue("en")
    placeholders = re.compile(r"{(\w+)}")
    for key in sorted(keys):
        assert key in zh and key in en, key
        assert set(placeholders.findall(zh[key])) <= set(placeholders.findall(en[key])) | {"field_zh"}, key
        dummy = {name: "X.zip" for name in placeholders.findall(zh[key])}
        assert not english_words(zh[key].format(**dummy), dummy), key


def test_a_refusal_names_the_missing_part_in_chinese():
    error = refusal(CASES["zip_shapefile_part"])
    page = i18n.t(error.key, "zh", **error.values)
    assert page.startswith("Shapefile a.shp 缺少 .shx 文件")
