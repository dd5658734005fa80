"""``export``: print maps (PDF/PNG), interactive HTML, the atlas, fact sheets and data files.

Every subcommand writes ``--out`` and prints one JSON object (``out``, ``format``, ``pages`` or
``features``, ...) documented in ``docs/cli.md``; progress goes to stderr.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from commands.argtypes import Once
from commands.output import emit_object
from geo.errors import NotFoundError, ParkAtlasError
from geo.exports import (DATA_FORMATS, candidates_export_frame, excluded_table, format_for, output_path,
                         parcel_export_frame, write_export, write_file)
from geo.evaluation import parcels_with_metrics
from geo.i18n import LANGS
from geo.metrics import INTENSITY_INDICATORS, park_kpis
from geo.store import open_store
from layers.print_options import ORIENTATIONS, PAPERS_MM, THEMES

MAP_SUFFIXES = {".pdf": "pdf", ".png": "png", ".html": "html"}
WHAT = ("parcels", "available", "candidates")


def _out_path(args, suffixes) -> Path:
    path = Path(args.out)
    if path.suffix.lower() not in suffixes:
        raise ParkAtlasError(f"cannot write {path.name!r}: --out must end in {', '.join(suffixes)}")
    return output_path(path, follow_symlink=args.follow_symlink)


def _park_row(parks, park_id: str):
    rows = parks.loc[parks.park_id == park_id]
    if rows.empty:
        raise NotFoundError(f"unknown park {park_id!r}; see `python cli.py parks` for the ids")
    return rows.iloc[0]


def _progress(done: int, total: int, label: str) -> None:
    print(f"[{done}/{total}] {label}", file=sys.stderr, flush=True)


def _match(store, parcels, parks, project_path: str, top: int, park_id: str | None):
    from geo.city import read_chain_thresholds
    from geo.matching import match
    from geo.project import load_project

    return match(parcels, parks, load_project(project_path), top=top, park_id=park_id,
                 chain_thresholds=read_chain_thresholds(store))


def cmd_map(args) -> None:
    started = time.perf_counter()
    out = _out_path(args, MAP_SUFFIXES)
    fmt = MAP_SUFFIXES[out.suffix.lower()]
    store = open_store(args.store)
    parks = store.read_parks()
    park = _park_row(parks, args.park)
    parcels = parcels_with_metrics(store, args.park)
    highlight = None
    if args.project:
        result = _match(store, parcels_with_metrics(store), parks, args.project, args.top, args.park)
        highlight = sorted({pid for ids in result.candidates.parcel_ids for pid in ids})
    from layers.print_map import check_theme

    indicator = check_theme(args.theme, args.indicator)
    summary = {"out": str(out), "format": fmt, "park_id": args.park, "theme": args.theme,
               "indicator": indicator, "lang": args.lang,
               "features": int(len(parcels)), "highlighted": len(highlight or [])}
    if fmt == "html":
        from layers.print_map import render_park_html

        html = render_park_html(parcels, theme=args.theme, indicator=indicator, lang=args.lang,
                                highlight_ids=highlight, context=parks.loc[parks.park_id == args.park])
        write_file(out, lambda f: f.write(html.encode("utf-8")))
        summary.update(pages=1, bytes=out.stat().st_size)
    else:
        from layers.print_map import render_park_map

        write_file(out, lambda f: render_park_map(
            parcels, park, parks=parks, districts=store.read_districts(), fmt=fmt, paper=args.paper,
            orientation=args.orientation, dpi=args.dpi, out=f, theme=args.theme, indicator=indicator,
            lang=args.lang, highlight_ids=highlight, dataset_info=store.dataset_info()))
        summary.update(pages=1, paper=args.paper, orientation=args.orientation, dpi=args.dpi,
                       bytes=out.stat().st_size)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    emit_object(summary)


def cmd_atlas(args) -> None:
    from layers.atlas import render_atlas

    started = time.perf_counter()
    out = _out_path(args, (".pdf",))
    store = open_store(args.store)
    pages = {}

    def write(f):
        pages["n"] = render_atlas(parcels_with_metrics(store), store.read_parks(), store.read_districts(), f,
                                  park_ids=args.park, theme=args.theme, indicator=args.indicator,
                                  paper=args.paper, orientation=args.orientation, lang=args.lang,
                                  dataset_info=store.dataset_info(), progress=None if args.quiet else _progress)

    write_file(out, write)
    emit_object({"out": str(out), "format": "pdf", "pages": pages["n"], "theme": args.theme,
                 "paper": args.paper, "orientation": args.orientation, "lang": args.lang,
                 "bytes": out.stat().st_size, "seconds": round(time.perf_counter() - started, 3)})


def cmd_factsheet(args) -> None:
    from layers.factsheet import render_factsheets, sites_from_candidates

    started = time.perf_counter()
    out = _out_path(args, (".pdf",))
    if not args.parcel_ids and not args.project:
        raise ParkAtlasError("give parcel ids (see `python cli.py available`) or --project PROJECT.json")
    store = open_store(args.store)
    parks = store.read_parks()
    parcels = parcels_with_metrics(store)
    sites = None
    if args.project:
        result = _match(store, parcels, parks, args.project, args.top, args.park)
        if result.candidates.empty:
            raise ParkAtlasError("the project has no candidate land; nothing to put on fact sheets")
        sites = sites_from_candidates(result.candidates)
    pages = {}

    def write(f):
        pages["n"] = render_factsheets(parcels, parks, store.read_districts(), f,
                                       parcel_ids=None if sites is not None else args.parcel_ids, sites=sites,
                                       lang=args.lang, dataset_info=store.dataset_info(),
                                       progress=None if args.quiet else _progress)

    write_file(out, write)
    emit_object({"out": str(out), "format": "pdf", "pages": pages["n"], "lang": args.lang,
                 "bytes": out.stat().st_size, "seconds": round(time.perf_counter() - started, 3)})


def cmd_data(args) -> None:
    from geo.availability import available_parcels

    out = Path(args.out)
    format_for(out)
    store = open_store(args.store)
    parks = store.read_parks()
    if args.park:
        _park_row(parks, args.park)
    tables = {}
    if args.what == "candidates":
        if not args.project:
            raise ParkAtlasError("--what candidates needs --project PROJECT.json (see docs/matching.md)")
        result = _match(store, parcels_with_metrics(store), parks, args.project, args.top, args.park)
        frame = candidates_export_frame(result.candidates)
        tables["excluded"] = excluded_table(result.excluded)
        layer = "candidates"
    else:
        parcels = parcels_with_metrics(store)
        tables["park_kpis"] = park_kpis(parcels, parks)
        if args.park:
            parcels = parcels.loc[parcels.park_id == args.park]
        if args.what == "available":
            parcels = available_parcels(parcels)
        frame = parcel_export_frame(parcels)
        layer = args.what
    names = None
    if layer != "candidates" and not (args.codes or args.parkatlas_headers):
        from geo.store.tables import imported_field_names

        names = imported_field_names(store, frame.park_id.unique())
    summary = write_export(frame, out, layer=layer, tables=tables, follow_symlink=args.follow_symlink,
                           lang=None if args.codes else args.lang, field_names=names, city=store.read_city(),
                           parks=parks)
    emit_object({**summary, "what": args.what, "park_id": args.park, "crs": _crs_of(summary["format"])})


def _crs_of(fmt: str) -> str | None:
    return {"geojson": "EPSG:4326", "kml": "EPSG:4326", "xlsx": "EPSG:4490"}.get(fmt, "EPSG:4490")


def register(subparsers) -> None:
    export = subparsers.add_parser("export", help="print maps, atlas, fact sheets, HTML and data files")
    sub = export.add_subparsers(dest="export_command", required=True)

    def page_options(p, default_orientation="landscape"):
        p.add_argument("--theme", choices=THEMES, default="status")
        p.add_argument("--indicator", choices=INTENSITY_INDICATORS, default=None,
                       help="indicator of --theme intensity (default output_per_mu_wan)")
        p.add_argument("--paper", choices=list(PAPERS_MM), default="A4")
        p.add_argument("--orientation", choices=ORIENTATIONS, default=default_orientation)
        p.add_argument("--lang", choices=LANGS, default="zh")

    p = sub.add_parser("map", help="one park as a print map (PDF/PNG) or an offline interactive HTML map")
    p.add_argument("--park", required=True, action=Once, help="park id (see `parks`)")
    page_options(p)
    p.add_argument("--dpi", type=int, default=200, help="resolution (150–300 for print; PDF stays vector)")
    p.add_argument("--project", help="project JSON/YAML: outline its match candidates on the map")
    p.add_argument("--top", type=int, default=10, help="candidates to outline with --project")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr (a map has none)")
    p.add_argument("--out", required=True, help="FILE.pdf, FILE.png or FILE.html")
    p.set_defaults(handler=cmd_map)

    p = sub.add_parser("atlas", help="one multi-page PDF, a page per park with its KPI table")
    page_options(p)
    p.add_argument("--park", action="append", help="only these parks (repeatable; default all)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--out", required=True, help="FILE.pdf")
    p.set_defaults(handler=cmd_atlas)

    p = sub.add_parser("factsheet", help="parcel fact sheets (地块推介单) for investors, one page each")
    p.add_argument("parcel_ids", nargs="*", metavar="PARCEL_ID")
    p.add_argument("--project", help="instead of ids: the match candidates of this project")
    p.add_argument("--top", type=int, default=5, help="candidates with --project")
    p.add_argument("--park", action=Once, help="with --project: only this park")
    p.add_argument("--lang", choices=LANGS, default="zh")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--out", required=True, help="FILE.pdf")
    p.set_defaults(handler=cmd_factsheet)

    p = sub.add_parser("data", help="parcels, available land or match candidates as GIS/Excel files")
    p.add_argument("--what", choices=WHAT, default="parcels")
    p.add_argument("--park", action=Once, help="park id (see `parks`)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr (data files have none)")
    p.add_argument("--project", help="project JSON/YAML (for --what candidates)")
    p.add_argument("--top", type=int, default=10, help="candidates with --what candidates")
    p.add_argument("--lang", choices=LANGS, default="zh",
                   help="language of a workbook's headings and labels (.xlsx is the planner's; other formats keep codes)")
    p.add_argument("--codes", action="store_true", help=".xlsx with the stored column names and codes instead")
    p.add_argument("--parkatlas-headers", action="store_true",
                   help=".xlsx headed with ParkAtlas' column names, not the names of the files the parcels were imported from")
    p.add_argument("--out", required=True, help="FILE" + "|".join(DATA_FORMATS))
    p.set_defaults(handler=cmd_data)

    from commands.enterprises import register_policy_list

    register_policy_list(sub)
    from commands.chains import register_prospect_pack

    register_prospect_pack(sub)
    for command in sub.choices.values():
        command.add_argument("--follow-symlink", action="store_true",
                             help="when --out is a symbolic link, overwrite the file it points to (refused otherwise)")
