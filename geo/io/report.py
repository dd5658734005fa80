"""The import report: one JSON-able dict per import, and the :class:`ImportResult` around it.

Keys (all documented in ``docs/import.md`` and ``docs/cli.md``): ``status`` (``ok`` or
``blocked``), ``file``, ``format``, ``driver``, ``layer``, ``layers_read``, ``features_read``,
``features_accepted``, ``features_rejected``, ``crs``, ``datum``, ``encoding``, ``region``,
``attributes``, ``geometry``, ``problem_counts``, ``problems`` (at most
:data:`MAX_LISTED_PROBLEMS` rows, each with ``lon``/``lat``), ``problems_listed``,
``blocking``, ``dry_run`` and, after a commit, ``committed``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Problems listed one by one in the JSON report (all of them stay in ``ImportResult.problems``).
MAX_LISTED_PROBLEMS = 1000


@dataclass
class ImportResult:
    """A read and validated upload, ready to commit (or not).

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        The features to import, conformed to the layer's schema, in EPSG:4490.
    report : dict
        The JSON-able import report (see the module docstring).
    problems : geopandas.GeoDataFrame
        One row per finding: ``kind``, ``severity`` (rejected/repaired/blocking/warning),
        ``parcel_id`` (the feature's id; a park id for the parks layer), ``detail``,
        ``area_m2`` and a geometry (EPSG:4490) to draw.
    layer : str
        ``parcels`` or ``parks``.
    blocking : list of str
        Why the import cannot be committed (empty when it can).
    preview : pandas.DataFrame
        The first rows of the file's own columns, decoded, under the file's own headers.
    """

    frame: gpd.GeoDataFrame
    report: dict
    problems: gpd.GeoDataFrame
    layer: str = "parcels"
    blocking: list[str] = field(default_factory=list)
    preview: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def accepted(self) -> bool:
        """True when nothing blocks committing the import."""
        return not self.blocking


def problem_records(problems: gpd.GeoDataFrame, limit: int = MAX_LISTED_PROBLEMS) -> list[dict]:
    """Problems as JSON rows with a representative lon/lat instead of a geometry."""
    head = problems.head(limit)
    points = shapely.point_on_surface(head.geometry.values.to_numpy() if len(head) else np.empty(0, dtype=object))
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    table = pd.DataFrame(head.drop(columns="geometry")).astype(object)
    table["lon"] = np.round(lon, 6)
    table["lat"] = np.round(lat, 6)
    table["area_m2"] = np.round(head["area_m2"].to_numpy(dtype=float), 2)
    table = table.astype(object).where(table.notna(), None)
    return table.to_dict(orient="records")


def summary_lines(report: dict) -> list[str]:
    """The report for a person, a few lines (the CLI's default output)."""
    crs = report.get("crs", {})
    lines = [f"{report['file']}: {report['format']} ({report.get('driver')}) → {report['layer']}",
             f"features: {report['features_read']} read, {report['features_accepted']} accepted, "
             f"{report['features_rejected']} rejected",
             f"CRS: {crs.get('source')} ({crs.get('method')})" + "".join(f"\n  - {r}" for r in crs.get("reasons", []))]
    if report.get("encoding"):
        lines.append(f"encoding: {report['encoding'].get('encoding')} — {report['encoding'].get('method')}")
    if report.get("datum", {}).get("converted_from"):
        lines.append(f"datum: converted from {report['datum']['converted_from']} to WGS84/CGCS2000")
    counts = report.get("problem_counts", {})
    if counts:
        lines.append("problems: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for row in report.get("problems", [])[:20]:
        lines.append(f"  [{row['severity']}] {row['kind']} {row['parcel_id']}: {row['detail']}")
    for message in report.get("blocking", []):
        lines.append(f"BLOCKED: {message}")
    if report.get("committed"):
        lines.append("committed: " + ", ".join(f"{k} {v}" for k, v in report["committed"].items()))
    elif report.get("dry_run"):
        lines.append("dry run: nothing written")
    return lines


# --- the report for a planner, in their language ---------------------------------------------

#: Problem kinds in the order a planner should deal with them (blocking first).
_SEVERITY_ORDER = {"blocking": 0, "rejected": 1, "repaired": 2, "warning": 3}
_GK = re.compile(r"Gauss-Kruger (?:CM (\d+)E|zone (\d+))")


@dataclass
class PlannerReport:
    """An import report as tables a planner reads (every text in their language).

    Attributes
    ----------
    verdict : str
        One sentence: ready to write, or what blocks it.
    blocking : list of str
        One sentence per blocking kind of problem, with its count and examples.
    facts : pandas.DataFrame
        Two columns (item, value): file, format, layer, coordinates, encoding, area …
    counts : pandas.DataFrame
        One row per kind of problem: problem, severity, count, what to do.
    problems : pandas.DataFrame
        One row per problem: feature, problem, place, what to do (at most ``limit`` rows).
    """

    verdict: str
    blocking: list[str]
    facts: pd.DataFrame
    counts: pd.DataFrame
    problems: pd.DataFrame


def describe_crs(code: str | None, lang: str) -> str:
    """``EPSG:4547`` → 'CGCS2000 3° Gauss-Krüger, central meridian 114°E (EPSG:4547)' in ``lang``."""
    from geo.i18n import t

    if not code:
        return "–"
    if code in ("EPSG:4490", "EPSG:4326"):
        return t("import.crs_geographic", lang, datum="CGCS2000" if code == "EPSG:4490" else "WGS84", code=code)
    try:
        from pyproj import CRS

        name = CRS.from_user_input(code).name
    except Exception:  # a WKT without EPSG code, or an unknown code: shown as given
        return str(code)[:80]
    match = _GK.search(name)
    if match and name.startswith("CGCS2000"):
        cm = int(match.group(1)) if match.group(1) else int(match.group(2)) * 3
        return t("import.crs_gk3", lang, cm=cm, code=code)
    return f"{name} ({code})"


def _place(geoms, lang: str) -> list[str]:
    from geo.i18n import format_number, t

    points = shapely.point_on_surface(np.asarray(geoms, dtype=object))
    lon, lat = shapely.get_x(points), shapely.get_y(points)
    return [t("import.place", lang, lon=format_number(x, lang, 5), lat=format_number(y, lang, 5))
            if not np.isnan(x) else "–" for x, y in zip(lon, lat)]


def _problem_texts(problems: pd.DataFrame, lang: str) -> list[str]:
    from geo.display import format_value
    from geo.i18n import label_status, t

    def value_of(kind, value):
        if value is None or value is pd.NA:
            return t("import.empty_value", lang)
        return label_status(value, lang) if kind == "unknown_status" else value

    return [t(f"import.problem.{kind}", lang, value=value_of(kind, value),
              area=format_value(abs(area) if area == area else None, "area_m2", lang, unit=False))
            for kind, value, area in zip(problems["kind"], problems["value"].astype(object),
                                         problems["area_m2"].to_numpy(dtype=float))]


def planner_report(result: ImportResult, lang: str, *, parks: pd.DataFrame | None = None,
                   limit: int = 200) -> PlannerReport:
    """``result``'s report for a planner: translated, tabular, with counts and what to do.

    Parameters
    ----------
    result : ImportResult
        A read upload (:func:`geo.io.upload.read_upload`).
    lang : {"zh", "en"}
        The page's language; nothing else leaks through (no codes, no English on a Chinese page).
    parks : DataFrame, optional
        The store's parks (``park_id``, ``name_zh``, ``name_en``): problem places name their park.
    limit : int
        Problems listed one by one (all are counted).
    """
    from geo.display import format_value
    from geo.i18n import t

    def count(n) -> str:
        return format_value(n, "integer", lang)

    report = result.report
    facts: list[tuple[str, str]] = [
        (t("import.fact.file", lang), str(report.get("file", "")) + (f" / {report['member']}" if report.get("member") else "")),
        (t("import.fact.format", lang), t(f"import.format.{report.get('format')}", lang)),
        (t("import.fact.layer", lang), t(f"layer.{report.get('layer')}", lang)),
    ]
    crs = report.get("crs") or {}
    facts.append((t("import.fact.crs", lang), describe_crs(crs.get("source"), lang) + t(
        f"import.crs_method.{str(crs.get('method', '')).replace(' ', '_')}", lang)))
    if crs.get("swapped_axes"):
        facts.append((t("import.fact.axes", lang), t("import.axes_swapped", lang)))
    converted = (report.get("datum") or {}).get("converted_from")
    facts.append((t("import.fact.datum", lang), t(f"import.datum.{converted or 'none'}", lang)))
    text = report.get("encoding") or {}
    if text.get("encoding"):
        facts.append((t("import.fact.encoding", lang), t(f"import.encoding.{text.get('basis', 'cpg')}", lang,
                                                         codec=str(text["encoding"]).upper(),
                                                         cpg=str(text.get("cpg") or ""))))
    geometry = report.get("geometry") or {}
    if "total_area_mu" in geometry:
        facts.append((t("import.fact.total_area", lang), format_value(geometry["total_area_mu"], "area_mu", lang)))
    attributes = report.get("attributes") or {}
    if attributes.get("generated_ids"):
        facts.append((t("import.fact.generated_ids", lang), count(attributes["generated_ids"])))
    if attributes.get("parks_assigned"):
        facts.append((t("import.fact.parks_assigned", lang), count(attributes["parks_assigned"])))
    for header, bad in (attributes.get("not_numbers") or {}).items():
        facts.append((t("import.fact.not_numbers", lang, column=header), count(bad)))
    outside = (report.get("region") or {}).get("features_outside")
    if outside:
        facts.append((t("import.fact.outside", lang), count(outside)))

    problems = result.problems
    names = {}
    if parks is not None and len(parks):
        names = dict(zip(parks["park_id"], parks["name_zh" if lang == "zh" else "name_en"]))
    todo = {kind: t(f"import.todo.{kind}", lang) for kind in problems["kind"].unique()} if len(problems) else {}
    if len(problems):
        grouped = problems.groupby(["kind", "severity"], sort=False).size().reset_index(name="n")
        grouped = grouped.assign(order=grouped["severity"].map(_SEVERITY_ORDER)).sort_values(["order", "n"],
                                                                                             ascending=[True, False])
        counts = pd.DataFrame({
            t("import.col.problem", lang): [t(f"import.kind.{k}", lang) for k in grouped["kind"]],
            t("import.col.severity", lang): [t(f"import.severity.{s}", lang) for s in grouped["severity"]],
            t("import.col.count", lang): [count(n) for n in grouped["n"]],
            t("import.col.todo", lang): [todo[k] for k in grouped["kind"]],
        })
        ordered = problems.assign(order=problems["severity"].map(_SEVERITY_ORDER)).sort_values("order", kind="stable")
        head = ordered.head(limit)
        parks_of = {}
        if len(result.frame) and "park_id" in result.frame:
            id_column = "parcel_id" if result.layer == "parcels" else "park_id"
            parks_of = dict(zip(result.frame[id_column], result.frame["park_id"]))
        places = _place(head.geometry.values, lang)
        park_names = [names.get(parks_of.get(i), "") for i in head["parcel_id"]]
        listed = pd.DataFrame({
            t("import.col.feature", lang): head["parcel_id"].astype(object).fillna("–").to_list(),
            t("import.col.problem", lang): _problem_texts(head, lang),
            t("import.col.place", lang): [f"{p} · {n}" if n else p for p, n in zip(places, park_names)],
            t("import.col.todo", lang): [todo[k] for k in head["kind"]],
        })
    else:
        counts = pd.DataFrame(columns=[t(f"import.col.{c}", lang) for c in ("problem", "severity", "count", "todo")])
        listed = pd.DataFrame(columns=[t(f"import.col.{c}", lang) for c in ("feature", "problem", "place", "todo")])
    blocking = []
    if not report.get("features_accepted") and not len(result.frame):
        blocking.append(t("import.blocked_nothing", lang))
    stopping = problems[problems["severity"] == "blocking"] if len(problems) else problems
    for kind, rows in (stopping.groupby("kind", sort=True) if len(stopping) else []):
        examples = "、".join(pd.unique(rows["parcel_id"].astype(str))[:3]) if lang == "zh" else \
            ", ".join(pd.unique(rows["parcel_id"].astype(str))[:3])
        blocking.append(t("import.blocked_kind", lang, count=count(len(rows)),
                          kind=t(f"import.kind.{kind}", lang), examples=examples, todo=todo[kind]))
    verdict = t("import.verdict_blocked", lang) if result.blocking else t(
        "import.verdict_ready", lang, count=count(report.get("features_accepted", 0)))
    return PlannerReport(verdict, blocking, pd.DataFrame(facts, columns=[t("import.col.item", lang),
                                                                         t("import.col.value", lang)]),
                         counts, listed)


def committed_text(counts: dict, lang: str) -> str:
    """What a commit wrote, as one sentence ('新增 3 个，更新 0 个，未变 1 个，删除 0 个')."""
    from geo.display import format_value
    from geo.i18n import t

    return t("import.committed", lang, **{key: format_value(counts.get(key, 0), "integer", lang)
                                          for key in ("inserted", "replaced", "unchanged", "deleted")})
