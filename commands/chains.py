"""Chain commands: ``chains import|list|show|gaps|land|leader``, ``prospects import|list`` and
``export prospect-pack`` (see docs/chains.md and docs/cli.md)."""
from __future__ import annotations

import os
import sys
import time

import pandas as pd

from commands.importing import _read_file
from commands.output import FORMATS, emit, emit_object
from commands.store_cmds import _user
from geo.errors import ParkAtlasError
from geo.store import open_store

SHOW_KEYS = ["node_id", "parent", "name", "enterprise_count", "gap", "thin", "nearest_km"]
GAP_KEYS = ["chain", "node_id", "parent", "name", "status", "enterprise_count", "nearest_km", "industry_codes_2017",
            "land_mu_min", "land_mu_max", "plot_ratio", "nuisance_class", "power_kva", "ready_land", "best_park_id",
            "best_parcel_ids", "best_area_mu"]


def _table(name: str) -> pd.DataFrame:
    from geo.team import read_table_file

    return read_table_file(_read_file(name), os.path.basename(name))


def _chain_map(args):
    from geo.chain import ChainMap

    store = open_store(args.store)
    if getattr(args, "park", None) and args.park not in set(store.read_parks().park_id):
        raise ParkAtlasError(f"unknown park {args.park!r}; see `python cli.py parks` for the ids")
    return store, ChainMap.of_store(store)


def _area(args, store):
    from geo.chain import county_parks

    if args.county and args.park:
        raise ParkAtlasError("give --park or --county, not both")
    return county_parks(store.read_parks(), args.county) if args.county else args.park


def _named(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    return frame.assign(name=frame["name_zh" if lang == "zh" else "name_en"])


def cmd_import(args) -> None:
    from geo.chain import import_chain_nodes

    frame = _table(args.file)
    store = open_store(args.store)
    emit_object({"file": os.path.basename(args.file), "chain_nodes": import_chain_nodes(store, frame, user=_user(args)),
                 "user": args.user})


def cmd_list(args) -> None:
    from geo.standards import load_standards

    _, chain_map = _chain_map(args)
    names = load_standards().chains.set_index("chain")
    rows = []
    for chain in chain_map.chains():
        status = chain_map.status(chain)
        rows.append({"chain": chain, "name_zh": names.name_zh.get(chain, chain), "name_en": names.name_en.get(chain, chain),
                     "nodes": int((status.parent != "").sum()), "enterprises": int(
                         chain_map.placed[chain_map.placed.chain == chain].uscc.nunique()),
                     "leaders": int((chain_map.leaders.chain == chain).sum()), "gaps": int(status.gap.sum()),
                     "thin": int(status.thin.sum())})
    emit(pd.DataFrame(rows), args.format)


def cmd_show(args) -> None:
    store, chain_map = _chain_map(args)
    status = chain_map.status(args.chain, _area(args, store), args.radius_km, args.thin_below)
    emit(_named(status, args.lang)[SHOW_KEYS], args.format)


def cmd_gaps(args) -> None:
    from geo.chain import with_ready_land
    from geo.city import read_chain_thresholds
    from geo.evaluation import parcels_with_metrics

    store, chain_map = _chain_map(args)
    gaps = chain_map.gaps(args.chain, _area(args, store), args.radius_km, args.thin_below, thin=True)

    def progress(done, total):
        print(f"\rready land: {done}/{total} nodes matched", end="" if done < total else "\n", file=sys.stderr)

    gaps = with_ready_land(gaps, chain_map.nodes, parcels_with_metrics(store), store.read_parks(), park_id=args.park,
                           chain_thresholds=read_chain_thresholds(store), progress=progress)
    emit(_named(gaps, args.lang)[GAP_KEYS], args.format)


def cmd_land(args) -> None:
    from geo.chain import node_row, read_chain_nodes, ready_land
    from geo.evaluation import parcels_with_metrics

    store = open_store(args.store)
    from geo.city import read_chain_thresholds

    node = node_row(read_chain_nodes(store), args.node_id)
    result = ready_land(parcels_with_metrics(store), store.read_parks(), node, top=args.top, park_id=args.park,
                        chain_thresholds=read_chain_thresholds(store))
    emit_object({"node_id": args.node_id, **result.to_json(lang=args.lang)})


def cmd_leader(args) -> None:
    from geo.chain import set_leader

    store = open_store(args.store)
    counts = set_leader(store, args.chain, args.uscc, user=_user(args), remove=args.remove)
    emit_object({"chain": args.chain, "uscc": args.uscc, "removed": bool(args.remove), "chain_leaders": counts,
                 "user": args.user})


def cmd_prospects_import(args) -> None:
    from geo.chain import leaves, read_chain_nodes
    from geo.prospect import import_prospects

    frame = _table(args.file)
    store = open_store(args.store)
    nodes = read_chain_nodes(store)
    report = import_prospects(store, frame, nodes.node_id[leaves(nodes)],
                              user=None if args.dry_run or not args.user else _user(args), dry_run=args.dry_run)
    report = {"file": os.path.basename(args.file), **report}
    emit_object(report)
    if report["problems"]:
        first = report["problems"][0]
        raise ParkAtlasError(f"import of {report['file']} rejected: {len(report['problems'])} problem(s), first: "
                             f"row {first['row']} {first['column']}: {first['problem']} (nothing written)")


def cmd_prospects_list(args) -> None:
    from geo.prospect import read_prospects

    emit(read_prospects(open_store(args.store)), args.format)


def cmd_prospect_pack(args) -> None:
    from commands.export import _out_path
    from geo.exports import write_file
    from geo.prospect import prospect_land
    from geo.standards import load_standards
    from layers.prospect_pack import write_prospect_pack

    started = time.perf_counter()
    out = _out_path(args, (".pdf",))
    store = open_store(args.store)
    pack = prospect_land(store, args.prospect_id, top=args.top)
    pages = {}

    def write(f):
        pages["n"] = write_prospect_pack(f, pack, parks=store.read_parks(), districts=store.read_districts(),
                                         chains=load_standards().chains, lang=args.lang,
                                         dataset_info=store.dataset_info())

    write_file(out, write)
    emit_object({"out": str(out), "format": "pdf", "prospect_id": args.prospect_id, "node_id": pack["node"].node_id,
                 "pages": pages["n"], "lang": args.lang, "bytes": out.stat().st_size,
                 "seconds": round(time.perf_counter() - started, 3)})


def register_prospect_pack(export_subparsers) -> None:
    """``export prospect-pack`` (called by :mod:`commands.export`, which owns the ``export`` group)."""
    p = export_subparsers.add_parser("prospect-pack", help="a prospect's pack: cover page and fact sheets of its "
                                     "ready land (PDF)")
    p.add_argument("prospect_id", help="see `prospects list`")
    p.add_argument("--out", required=True, help="FILE.pdf")
    p.add_argument("--top", type=int, default=3, help="candidate sites with a fact sheet (default 3)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.set_defaults(handler=cmd_prospect_pack)


def _scope(p, chain_required: bool) -> None:
    if chain_required:
        p.add_argument("chain", help="chain code (see `chains list`)")
    else:
        p.add_argument("--chain", help="only this chain")
    p.add_argument("--park", help="also count enterprises inside this park (see `parks`)")
    p.add_argument("--county", help="also count enterprises inside the parks of this county (district_code)")
    p.add_argument("--radius-km", type=float, default=5.0, help="distance from the chain leader (default 5)")
    p.add_argument("--thin-below", type=int, default=2, help="a node with fewer enterprises is thin (default 2)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the node names")
    p.add_argument("--format", choices=FORMATS, default="json")


def register(subparsers) -> None:
    chains = subparsers.add_parser("chains", help="industrial chains: trees, gaps, ready land (see docs/chains.md)")
    sub = chains.add_subparsers(dest="chains_command", required=True, parser_class=type(chains))
    p = sub.add_parser("import", help="import chain trees (CSV/XLSX, columns of data/standards/chain_nodes.csv)")
    p.add_argument("file")
    p.add_argument("--user", help="acting user, a planner or admin (required)")
    p.set_defaults(handler=cmd_import)
    p = sub.add_parser("list", help="every chain with its nodes, enterprises, leaders, gaps")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_list)
    p = sub.add_parser("show", help="a chain's nodes: enterprise_count, gap, thin, nearest_km")
    _scope(p, chain_required=True)
    p.set_defaults(handler=cmd_show)
    p = sub.add_parser("gaps", help="gap and thin nodes with their typical demand and ready land (a match each)")
    _scope(p, chain_required=False)
    p.set_defaults(handler=cmd_gaps)
    p = sub.add_parser("land", help="ready land for a node: the matcher's ranking for its typical demand")
    p.add_argument("node_id")
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--park", help="only this park")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--format", choices=("json",), default="json")
    p.set_defaults(handler=cmd_land)
    p = sub.add_parser("leader", help="mark an enterprise as a chain leader (链主)")
    p.add_argument("chain")
    p.add_argument("uscc")
    p.add_argument("--remove", action="store_true", help="unmark it")
    p.add_argument("--user", help="acting user, a planner or admin (required)")
    p.set_defaults(handler=cmd_leader)

    prospects = subparsers.add_parser("prospects", help="target companies for chain nodes (see docs/chains.md)")
    psub = prospects.add_subparsers(dest="prospects_command", required=True, parser_class=type(prospects))
    p = psub.add_parser("import", help="import prospects (CSV/XLSX: name, uscc, node_id, origin_city, notes, "
                        "contact_status); all or nothing")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="check and report only")
    p.add_argument("--user", help="acting user, a planner or admin (required unless --dry-run)")
    p.set_defaults(handler=cmd_prospects_import)
    p = psub.add_parser("list", help="the prospects")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_prospects_list)
