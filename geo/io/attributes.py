"""Attribute headers and values: Chinese/English aliases, units, a user mapping, the schema.

Planners' tables name the same thing many ways (地块编号, 宗地号, parcel_id …) and give areas in
亩, 公顷 or 平方米 and money in 元, 万元 or 亿元. A header is matched, after removing spaces,
underscores and case, by the user's mapping file first, then by :data:`PARCEL_ALIASES` /
:data:`PARK_ALIASES`; a unit in brackets (``建筑面积(公顷)``, ``投资额（亿元）``) converts the values
to the schema's unit (m², 万元, km …). A declared land area (``面积(亩)``) is not stored — areas
are derived from the geometry — but it is compared with the geometry by the validator.
Text values are stored verbatim (``<script>`` stays text; escaping happens where text is shown).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from geo.errors import KeyedError
from geo.schema import PARCEL_COLUMNS, PARK_COLUMNS
from geo.units import M2_PER_HA, M2_PER_MU

PARCEL_ALIASES: dict[str, list[str]] = {
    "parcel_id": ["地块编号", "宗地号", "宗地编号", "宗地代码", "地块号", "地块代码", "地块id", "parcelid", "parcelno",
                  "parcel", "dkbh", "zdh", "id"],
    "park_id": ["园区编号", "园区代码", "园区id", "园区", "parkid"],
    "land_use_code": ["用地性质", "用途", "用地代码", "用地分类", "用地分类代码", "地类编码", "用途代码", "landuse", "landusecode",
                      "dlbm", "ydxz"],
    "status": ["状态", "土地状态", "用地状态", "地块状态", "status"],
    "enterprise": ["企业名称", "企业", "用地单位", "单位名称", "使用权人", "权利人", "enterprise", "company"],
    "industry_code": ["行业代码", "行业分类代码", "国民经济行业代码", "industrycode", "industry"],
    "chain": ["产业链", "所属产业链", "chain"],
    "floor_area_m2": ["建筑面积", "总建筑面积", "floorarea", "flooraream2"],
    "footprint_m2": ["建筑基底面积", "基底面积", "建筑占地面积", "footprint", "footprintm2"],
    "investment_wan": ["投资额", "固定资产投资", "总投资", "投资", "investment", "investmentwan"],
    "output_wan": ["产值", "年产值", "工业总产值", "output", "outputwan"],
    "tax_wan": ["税收", "年税收", "纳税额", "税收总额", "tax", "taxwan"],
    "employees": ["就业人数", "员工人数", "从业人数", "从业人员", "employees", "jobs"],
    "land_ready": ["净地", "是否净地", "landready"],
    "contract_date": ["合同签订日期", "出让合同日期", "出让日期", "contractdate"],
    "structures_footprint_m2": ["构筑物占地面积", "构筑物面积", "structuresfootprint", "structuresfootprintm2"],
    "yard_area_m2": ["堆场面积", "露天堆场面积", "堆场用地面积", "yardarea", "yardaream2"],
    "floor_area_over_8m_m2": ["层高超过8米建筑面积", "层高8米以上建筑面积", "floorareaover8m", "floorareaover8mm2"],
    "contract_start_date": ["约定开工日期", "合同开工日期", "contractstartdate"],
    "actual_start_date": ["实际开工日期", "开工日期", "actualstartdate"],
    "stopped_since": ["停工日期", "中止开发日期", "中止开发建设日期", "stoppedsince"],
    "developed_area_mu": ["已开发面积", "已动工开发面积", "developedarea", "developedareamu"],
    "investment_to_date_wan": ["已投资额", "累计投资额", "已完成投资", "investmenttodate", "investmenttodatewan"],
    "delay_cause": ["延迟原因类别", "迟延开工原因类别", "delaycause"],
    "delay_reason": ["延迟原因", "迟延开工原因", "delayreason"],
    "power_kva": ["供电容量", "电力容量", "供电", "powerkva", "power"],
    "water_t_per_day": ["供水能力", "日供水量", "供水", "watertperday", "water"],
    "gas": ["供气", "燃气", "天然气", "gas"],
    "highway_km": ["距高速出口", "距高速", "高速出口距离", "highwaykm"],
    "port_km": ["距港口", "港口距离", "portkm"],
    "rail_km": ["距铁路货站", "距铁路", "铁路距离", "railkm"],
    "data_as_of": ["数据日期", "更新日期", "调查日期", "dataasof"],
}
PARK_ALIASES: dict[str, list[str]] = {
    "park_id": ["园区编号", "园区代码", "园区id", "parkid", "id"],
    "name_zh": ["园区名称", "名称", "中文名", "namezh", "name"],
    "name_en": ["英文名", "英文名称", "nameen"],
    "group": ["分组", "类别", "group"],
    "district_code": ["行政区划代码", "区县代码", "districtcode"],
    "characteristic_chain": ["特色产业", "特色产业链", "characteristicchain"],
    "leading_chains": ["主导产业", "主导产业链", "leadingchains"],
    "red_line_industries": ["禁止行业", "红线行业", "redlineindustries"],
    "min_investment_wan_per_mu": ["投资强度门槛", "mininvestmentwanpermu"],
    "min_output_wan_per_mu": ["亩均产值门槛", "minoutputwanpermu"],
    "min_tax_wan_per_mu": ["亩均税收门槛", "mintaxwanpermu"],
    "min_plot_ratio": ["容积率门槛", "最低容积率", "minplotratio"],
    "contact": ["联系方式", "联系人", "contact"],
    "data_as_of": ["数据日期", "更新日期", "dataasof"],
}
#: A declared land area: checked against the geometry, not stored.
AREA_ALIASES = ["面积", "用地面积", "地块面积", "宗地面积", "土地面积", "占地面积", "area", "landarea", "aream2"]
#: Plot ratio given in a file: floor area = plot ratio × geometry area where no floor area is given.
PLOT_RATIO_ALIASES = ["容积率", "plotratio", "far"]
#: Extra names for ids in real-world sources (OpenStreetMap, KML, DXF).
FALLBACK_ID_COLUMNS = ["osm_ref", "name", "Name", "EntityHandle"]

_UNITS = {
    "area": ({"亩": M2_PER_MU, "mu": M2_PER_MU, "公顷": 1e4, "ha": 1e4, "hm2": 1e4, "平方米": 1.0, "m2": 1.0,
              "㎡": 1.0, "m²": 1.0, "平米": 1.0, "平方公里": 1e6, "km2": 1e6}, "m²"),
    "land": ({"亩": 1.0, "mu": 1.0, "公顷": M2_PER_HA / M2_PER_MU, "ha": M2_PER_HA / M2_PER_MU, "平方米": 1 / M2_PER_MU,
              "m2": 1 / M2_PER_MU, "㎡": 1 / M2_PER_MU}, "亩"),
    "money": ({"万元": 1.0, "万": 1.0, "wan": 1.0, "元": 1e-4, "yuan": 1e-4, "亿元": 1e4, "亿": 1e4}, "万元"),
    "distance": ({"km": 1.0, "公里": 1.0, "千米": 1.0, "m": 1e-3, "米": 1e-3}, "km"),
    "power": ({"kva": 1.0, "千伏安": 1.0, "mva": 1e3, "兆伏安": 1e3}, "kVA"),
    "water": ({"t/d": 1.0, "吨/日": 1.0, "吨/天": 1.0, "m3/d": 1.0, "立方米/日": 1.0, "吨": 1.0}, "t/day"),
}
_KIND = {"floor_area_m2": "area", "footprint_m2": "area", "structures_footprint_m2": "area", "yard_area_m2": "area",
         "floor_area_over_8m_m2": "area", "developed_area_mu": "land", "area": "area", "investment_wan": "money",
         "investment_to_date_wan": "money",
         "output_wan": "money", "tax_wan": "money", "highway_km": "distance", "port_km": "distance",
         "rail_km": "distance", "power_kva": "power", "water_t_per_day": "water",
         "min_investment_wan_per_mu": "money", "min_output_wan_per_mu": "money", "min_tax_wan_per_mu": "money"}
#: Old GB 50137 letters → national 用地用海 codes.
_OLD_LAND_USE = {"M": "1001", "M0": "100104", "M1": "100101", "M2": "100102", "M3": "100103", "W": "1101",
                 "W1": "110101", "W2": "110102", "W3": "110103"}
#: Planners' words for the causes of delay of 第八条 (闲置土地处置办法) → codes of geo.idle.DELAY_CAUSES.
_DELAY_CAUSE_NAMES = {"政府": "government", "政府原因": "government", "政府行为": "government",
                      "政府或政府部门行为": "government", "不可抗力": "force_majeure", "force majeure": "force_majeure"}
_TRUE = {"1", "true", "t", "yes", "y", "是", "有", "√"}
_FALSE = {"0", "false", "f", "no", "n", "否", "无", "×"}
_UNIT_SUFFIX = re.compile(r"^(.*?)\s*[(（\[【]\s*(.+?)\s*[)）\]】]\s*$")

WKT_COLUMNS = ["wkt", "geometry", "geom", "thegeom", "shape", "几何", "图形", "wkt几何"]
LON_COLUMNS = ["lon", "lng", "long", "longitude", "经度", "x", "easting", "东坐标", "x坐标"]
LAT_COLUMNS = ["lat", "latitude", "纬度", "y", "northing", "北坐标", "y坐标"]
VERTEX_ORDER_COLUMNS = ["点号", "序号", "界址点号", "vertex", "order", "seq"]


def normalise_header(text: str) -> str:
    """Header key for matching: lower case without spaces, underscores, hyphens or dots."""
    return re.sub(r"[\s_\-.·]+", "", str(text)).lower()


def split_unit(header: str) -> tuple[str, str | None]:
    """``'建筑面积(公顷)'`` → ``('建筑面积', '公顷')``."""
    match = _UNIT_SUFFIX.match(str(header))
    return (match.group(1), match.group(2).strip().lower()) if match else (str(header), None)


def load_mapping(source) -> dict[str, str]:
    """A user mapping ``{source header: schema column}`` from a dict, JSON/YAML file or 2-column CSV."""
    if source is None:
        return {}
    if isinstance(source, dict):
        mapping = source
    else:
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyedError("import.refused.mapping_unreadable", f"cannot read mapping file {path}: {exc}",
                             file=path.name) from None
        if path.suffix.lower() == ".csv":
            rows = [line.split(",", 1) for line in text.splitlines() if line.strip() and not line.startswith("#")]
            mapping = {a.strip(): b.strip() for a, b in (r for r in rows if len(r) == 2)}
            mapping.pop("source", None)
        else:
            try:
                import yaml

                mapping = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
            except Exception as exc:
                raise KeyedError("import.refused.mapping_invalid", f"mapping file {path} is not valid "
                                 f"{path.suffix[1:].upper()}: {exc}", file=path.name,
                                 kind=path.suffix[1:].upper()) from None
        if isinstance(mapping, dict) and isinstance(mapping.get("columns"), dict):
            mapping = mapping["columns"]
    if not isinstance(mapping, dict):
        raise KeyedError("import.refused.mapping_not_object", "a mapping must be an object {source header: schema column}")
    return {str(k): str(v) for k, v in mapping.items()}


def mapping_targets(layer: str) -> list[str]:
    """The fields a file's column can be mapped to: the layer's columns (without the store's own
    ``version`` and reservation columns) plus a declared ``area`` and, for parcels, ``plot_ratio``."""
    columns = PARCEL_COLUMNS if layer == "parcels" else PARK_COLUMNS
    own = {"version", "reserved_project", "reserved_by", "reserved_at"}
    return [c for c in columns if c not in own] + ["area"] + (["plot_ratio"] if layer == "parcels" else [])


def _aliases_for(layer: str) -> tuple[dict[str, str], dict[str, tuple[str, int]]]:
    """Schema columns, and normalised header → (column, rank); a lower rank is a more specific name."""
    columns, aliases = (PARCEL_COLUMNS, PARCEL_ALIASES) if layer == "parcels" else (PARK_COLUMNS, PARK_ALIASES)
    lookup = {normalise_header(c): (c, 0) for c in columns}
    extra = {**aliases, "area": AREA_ALIASES, **({"plot_ratio": PLOT_RATIO_ALIASES} if layer == "parcels" else {})}
    for column, names in extra.items():
        for rank, name in enumerate(names, start=1):
            lookup.setdefault(normalise_header(name), (column, rank))
    return columns, lookup


def match_headers(headers, layer: str, mapping: dict[str, str]) -> dict[str, tuple[str, str | None]]:
    """Schema column → (source header, unit) for every header recognised.

    The user's mapping wins; otherwise, when several headers name the same column (a KML
    ``id`` and a ``地块编号``), the most specific alias wins.
    """
    columns, lookup = _aliases_for(layer)
    targets = set(columns) | {"area", "plot_ratio"}
    found: dict[str, tuple[str, str | None]] = {}
    for source, target in mapping.items():
        if target == "ignore":
            continue
        if target not in targets:
            raise KeyedError("import.refused.mapping_target", f"mapping target {target!r} is not a {layer} column; "
                             "see docs/data-model.md", target=target)
        if source not in headers:
            raise KeyedError("import.refused.mapping_column", f"mapping names column {source!r}, which the file "
                             "does not have", column=source)
        if target in found:
            from geo.io.mappings import target_label

            raise KeyedError("import.refused.mapping_twice", f"columns {found[target][0]!r} and {source!r} both map "
                             f"to {target}; map one of them to another field or ignore it", first=found[target][0],
                             second=source, field_zh=target_label(target, "zh"), field_en=target_label(target, "en"))
        found[target] = (source, split_unit(source)[1])
    taken = {s for s in mapping} | {s for s, _ in found.values()}
    best: dict[str, tuple[int, str, str | None]] = {}
    for header in headers:
        if header in taken:
            continue
        base, unit = split_unit(header)
        whole = lookup.get(normalise_header(header))
        column, rank = whole or lookup.get(normalise_header(base), (None, 0))
        if column and column not in found and (column not in best or rank < best[column][0]):
            best[column] = (rank, header, None if whole else unit)
    found.update({column: (header, unit) for column, (_, header, unit) in best.items()})
    return found


def _numbers(series: pd.Series) -> tuple[pd.Series, int]:
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64"), 0
    text = series.astype("string").str.replace(",", "", regex=False).str.replace("，", "", regex=False).str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = int((values.isna() & text.notna() & (text != "")).sum())
    return values.astype("float64"), bad


def _factor(column: str, header: str, unit: str | None) -> tuple[float, str | None]:
    kind = _KIND.get(column)
    if kind is None or unit is None:
        return 1.0, None
    units, target = _UNITS[kind]
    if unit not in units:
        raise KeyedError("import.refused.unit", f"column {header!r}: unknown unit {unit!r} for {column} "
                         f"(known: {', '.join(units)})", column=header, unit=unit, units="、".join(units))
    factor = units[unit]
    return factor, (None if factor == 1.0 else f"{header}: {unit} → {target} (×{factor:g})")


def _each_distinct(convert, series: pd.Series) -> pd.Series:
    """``convert(series)`` for an elementwise ``convert``, computed once per distinct value (missing
    ones included): a file of 100,000 parcels repeats a few thousand dates, codes and labels."""
    codes, uniques = pd.factorize(series, use_na_sentinel=False)
    converted = convert(pd.Series(uniques, dtype=series.dtype))
    return pd.Series(converted.array.take(codes), index=series.index, name=series.name)


def _booleans(series: pd.Series) -> pd.Series:
    return _each_distinct(_distinct_booleans, series)


def _distinct_booleans(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip().str.lower()
    return pd.Series(np.where(text.isin(_TRUE), True, np.where(text.isin(_FALSE), False, None)),
                     index=series.index).astype("boolean")


def _dates(series: pd.Series) -> pd.Series:
    """ISO dates; other spellings (2023年5月1日, 2023/5/1, 2023.5.1) are rewritten first."""
    return _each_distinct(_distinct_dates, series)


def _distinct_dates(series: pd.Series) -> pd.Series:
    text = series.astype("string").str.strip()
    parsed = pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
    other = parsed.isna() & text.notna()
    if other.any():
        fixed = text[other].str.replace(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?", r"\1-\2-\3", regex=True)
        fixed = fixed.str.replace(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})", r"\1-\2-\3", regex=True)
        parsed[other] = pd.to_datetime(fixed.str.slice(0, 10), errors="coerce", format="%Y-%m-%d")
    return parsed.dt.strftime("%Y-%m-%d").astype("string")


def _codes(series: pd.Series) -> pd.Series:
    return _each_distinct(_distinct_codes, series)


def _distinct_codes(series: pd.Series) -> pd.Series:
    return series.astype("string").str.strip().str.replace(r"\.0+$", "", regex=True)


def conform_attributes(frame: pd.DataFrame, layer: str, *, mapping: dict[str, str] | None = None,
                       id_prefix: str = "import", standards=None) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Schema columns from ``frame``'s headers; returns (table, helpers, info).

    ``helpers`` holds the columns found that are not stored but used by the validator: a
    declared land ``area`` (m² when its unit was given) and a ``plot_ratio``.

    ``info`` lists the columns mapped (schema column → source header), the source columns left
    unmapped, unit conversions, values that were not numbers, and generated ids.
    """
    if layer not in ("parcels", "parks"):
        raise KeyedError("import.refused.layer", f"unknown layer {layer!r}: give parcels or parks", layer=layer)
    columns, _ = _aliases_for(layer)
    headers = [str(c) for c in frame.columns]
    frame = frame.set_axis(headers, axis=1)
    found = match_headers(headers, layer, mapping or {})
    id_column = "parcel_id" if layer == "parcels" else "park_id"
    if id_column not in found:
        fallback = next((h for h in FALLBACK_ID_COLUMNS if h in headers and frame[h].notna().any()), None)
        if fallback:
            found[id_column] = (fallback, None)
    out = pd.DataFrame(index=frame.index)
    info = {"mapped": {c: h for c, (h, _) in found.items()},
            "unmapped": [h for h in headers if h not in {h for h, _ in found.values()} and h != "source_layer"],
            "unit_conversions": [], "not_numbers": {}, "generated_ids": 0, "recoded": {}}
    for column, dtype in {**columns, "area": "float64", "plot_ratio": "float64"}.items():
        if column not in found:
            out[column] = pd.Series(pd.NA, index=frame.index, dtype=dtype if dtype != "float64" else "Float64")
            continue
        header, unit = found[column]
        values = frame[header]
        if dtype in ("float64", "Int64"):
            numbers, bad = _numbers(values)
            factor, note = _factor(column, header, unit)
            if note:
                info["unit_conversions"].append(note)
            if bad:
                info["not_numbers"][header] = bad
            numbers = numbers * factor
            out[column] = numbers.round().astype("Int64") if dtype == "Int64" else numbers
        elif dtype == "boolean":
            out[column] = _booleans(values)
        elif column.endswith("_date") or column in ("data_as_of", "reserved_at", "stopped_since"):
            out[column] = _dates(values)
        elif column in ("land_use_code", "industry_code", "district_code"):
            out[column] = _codes(values)
        else:
            out[column] = values.astype("string")  # verbatim: no trimming, no escaping
    if layer == "parcels":
        out = _recode_parcels(out, info, standards)
    missing_ids = out[id_column].isna() | (out[id_column].str.strip() == "")
    if missing_ids.any():
        generated = pd.Series([f"{id_prefix}-{i + 1}" for i in range(len(out))], index=out.index, dtype="string")
        out[id_column] = out[id_column].mask(missing_ids, generated)
        info["generated_ids"] = int(missing_ids.sum())
    helpers = out[[c for c in ("area", "plot_ratio") if c in found]].copy()
    out = out.drop(columns=["area", "plot_ratio"], errors="ignore")
    if "area" in found:
        header, unit = found["area"]
        info["declared_area"] = {"column": header, "unit": unit}
    return out, helpers, info


def _mapped(series: pd.Series, mapping: dict) -> pd.Series:
    """``series.map(mapping)``, looking each distinct value up once."""
    return _each_distinct(lambda distinct: distinct.map(mapping), series)


def _recode_parcels(out: pd.DataFrame, info: dict, standards) -> pd.DataFrame:
    """Old land-use letters → codes; status labels (zh/en) → codes; plot ratio → floor area."""
    if standards is None:
        from geo.standards import load_standards

        standards = load_standards()
    land = out["land_use_code"]
    upper = land.str.upper()
    by_name = dict(zip(standards.land_use.name_zh, standards.land_use.code))
    recoded = _mapped(upper, _OLD_LAND_USE).fillna(_mapped(land, by_name))
    changed = recoded.notna() & land.notna()
    if changed.any():
        info["recoded"]["land_use_code"] = int(changed.sum())
        out["land_use_code"] = land.mask(changed, recoded).astype("string")
    status = out["status"]
    labels = {**{str(k).lower(): v for k, v in zip(standards.statuses.label_en, standards.statuses.code)},
              **dict(zip(standards.statuses.label_zh, standards.statuses.code))}
    unknown = status.notna() & ~status.isin(standards.statuses.code)
    if unknown.any():
        mapped = _mapped(status[unknown].str.strip().str.lower(), labels)
        found = mapped.notna()
        if found.any():
            info["recoded"]["status"] = int(found.sum())
            out.loc[mapped.index[found], "status"] = mapped[found]
    cause = out["delay_cause"].str.strip()
    spelled = _mapped(cause, _DELAY_CAUSE_NAMES)
    if spelled.notna().any():
        info["recoded"]["delay_cause"] = int(spelled.notna().sum())
        out["delay_cause"] = cause.mask(spelled.notna(), spelled).astype("string")
    return out


def table_geometry(frame: pd.DataFrame, layer: str, mapping: dict[str, str] | None = None):
    """Geometry of a CSV/XLSX table: a WKT column, or lon/lat (x/y) columns.

    With coordinates, rows that share an id are the vertices of one polygon in row order (or
    in the order of a 点号/序号 column) — the layout of a 界址点 (boundary point) table; a table
    with one row per id gives points. Returns (attribute rows, shapely array, description).
    """
    import shapely

    keys = {normalise_header(split_unit(c)[0]): c for c in frame.columns}
    wkt = next((keys[k] for k in map(normalise_header, WKT_COLUMNS) if k in keys), None)
    if wkt:
        text = frame[wkt].astype("string").fillna("")
        geoms = shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore")
        return frame.drop(columns=[wkt]), geoms, f"WKT column {wkt!r}"
    lon = next((keys[k] for k in map(normalise_header, LON_COLUMNS) if k in keys), None)
    lat = next((keys[k] for k in map(normalise_header, LAT_COLUMNS) if k in keys), None)
    if not (lon and lat):
        raise KeyedError("import.refused.table_geometry", "the table has neither a WKT column (wkt/geometry) nor "
                         "coordinate columns (lon/lat, 经度/纬度, x/y)")
    x, bad_x = _numbers(frame[lon])
    y, bad_y = _numbers(frame[lat])
    if bad_x or bad_y or x.isna().any() or y.isna().any():
        raise KeyedError("import.refused.table_coordinates", f"coordinate columns {lon!r}/{lat!r} have empty or "
                         "non-numeric values", lon=lon, lat=lat)
    found = match_headers(list(frame.columns), layer, mapping or {})
    id_header = found.get("parcel_id" if layer == "parcels" else "park_id", (None,))[0]
    rest = frame.drop(columns=[lon, lat])
    if id_header and frame[id_header].duplicated().any():
        order = next((keys[k] for k in map(normalise_header, VERTEX_ORDER_COLUMNS) if k in keys), None)
        ids = frame[id_header].astype("string")
        position = _numbers(frame[order])[0] if order else pd.Series(np.arange(len(frame)), index=frame.index)
        sorted_index = pd.DataFrame({"id": ids, "pos": position}).sort_values(["id", "pos"], kind="stable").index
        codes, uniques = pd.factorize(ids.loc[sorted_index], sort=True)
        counts = np.bincount(codes)
        if (counts < 3).any():
            short = ", ".join(map(str, uniques[counts < 3][:5]))
            raise KeyedError("import.refused.boundary_points", f"boundary-point table: ids {short} have fewer than "
                             "3 points", ids=short)
        coords = np.column_stack([x.loc[sorted_index].to_numpy(), y.loc[sorted_index].to_numpy()])
        rings = shapely.linearrings(coords, indices=codes)
        first = rest.loc[sorted_index].groupby(codes, sort=True).head(1).drop(columns=[order] if order else [])
        return first.reset_index(drop=True), shapely.polygons(rings), \
            f"boundary points in {lon!r}/{lat!r}, grouped by {id_header!r}"
    return rest, shapely.points(x.to_numpy(), y.to_numpy()), f"point coordinates in {lon!r}/{lat!r}"
