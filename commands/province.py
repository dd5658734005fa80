"""Province-scale commands on partitioned GeoParquet and Dask: generate, add-store, kpis, available, match."""
from __future__ import annotations

from pathlib import Path

from commands.argtypes import count, non_negative_number
from commands.core import PARK_KEYS, PARCEL_KEYS
from commands.output import FORMATS, emit, emit_object, records

GROUP_KEYS = ["group", "park_count", *[k for k in PARK_KEYS if k not in
                                       ("park_id", "name_zh", "name_en", "group", "district_code", "data_as_of")]]
CITY_KEYS = ["city", "city_name_zh", "city_name_en", *GROUP_KEYS[1:]]


def cmd_generate(args) -> None:
    from geo.province import write_parquet_sample

    path = write_parquet_sample(args.parquet, args.parcels, chunk_size=args.chunk_size, seed=args.seed)
    emit_object({"parquet": str(path), "parcels": args.parcels, "chunk_size": args.chunk_size, "seed": args.seed})


def cmd_kpis(args) -> None:
    from geo.province import dask_client, province_kpis

    with dask_client(args.scheduler):
        table = province_kpis(args.parquet, by=args.by, year=args.year, scheme=args.scheme)
    emit(table[{"park": PARK_KEYS, "group": GROUP_KEYS, "city": CITY_KEYS}[args.by]], args.format)


def cmd_add_store(args) -> None:
    from geo.province import add_store
    from geo.store import open_store

    emit_object({"parquet": str(args.parquet), **add_store(args.parquet, open_store(args.from_store))})


def cmd_available(args) -> None:
    from geo.province import available_land, dask_client

    filters = {"min_area_mu": args.min_area_mu, "max_area_mu": args.max_area_mu,
               "land_use_codes": [args.land_use] if args.land_use else None, "statuses": args.status,
               "ready_only": args.ready}
    with dask_client(args.scheduler):
        found = available_land(args.parquet, top=args.top, **filters)
    keys = [k for k in PARCEL_KEYS if k != "geometry" and k in found["largest"].columns]
    emit_object({"parks": records(found["parks"]), "largest": records(found["largest"][keys])})


def cmd_match(args) -> None:
    from geo.project import load_project
    from geo.province import dask_client, province_match

    project = load_project(args.project)  # validate the file before any work
    with dask_client(args.scheduler):
        result = province_match(args.parquet, project, top=args.top, with_blocks=not args.no_blocks)
    emit_object(result.to_json(lang=args.lang))


def register(subparsers) -> None:
    province = subparsers.add_parser(
        "province", help="KPIs and available land over partitioned GeoParquet on Dask (millions of parcels)")
    sub = province.add_subparsers(dest="province_command", required=True, parser_class=type(province))

    def dataset_args(p):
        p.add_argument("--parquet", type=Path, required=True,
                       help="dataset folder: parks.parquet + parcels/park_id=<id>/*.parquet")
        p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 (default: local threads)")

    p = sub.add_parser("generate", help="write N synthetic parcels as partitioned GeoParquet, chunk by chunk")
    p.add_argument("--parquet", type=Path, required=True, help="folder to create")
    p.add_argument("--parcels", type=count("--parcels"), required=True, help="number of parcels, e.g. 10_000_000")
    p.add_argument("--chunk-size", type=count("--chunk-size"), default=100_000,
                   help="parcels per chunk (default 100000)")
    p.add_argument("--seed", type=int, default=344, help="seed of the first chunk (default 344)")
    p.set_defaults(handler=cmd_generate)

    p = sub.add_parser("add-store", help="add a city's store (parks and parcels) to a dataset of many cities")
    p.add_argument("--parquet", type=Path, required=True, help="dataset folder (created if missing)")
    p.add_argument("--from-store", required=True, help="the city's store: .gpkg path or postgresql:// URL")
    p.set_defaults(handler=cmd_add_store)

    p = sub.add_parser("kpis", help="one row per park (or group, or city), as `parks`")
    dataset_args(p)
    p.add_argument("--by", choices=("park", "group", "city"), default="park")
    p.add_argument("--year", type=int, help="亩均 evaluation year of the grades (default: the latest with figures)")
    p.add_argument("--scheme", help="亩均 scheme name or FILE.toml of the grades (default: zhejiang_style)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_kpis)

    p = sub.add_parser("available", help="available land per park and the largest matching parcels")
    dataset_args(p)
    p.add_argument("--min-area-mu", type=non_negative_number)
    p.add_argument("--max-area-mu", type=non_negative_number)
    p.add_argument("--land-use", help="land-use code or prefix, e.g. 1001")
    p.add_argument("--status", action="append", help="status counted as available (repeatable)")
    p.add_argument("--ready", action="store_true", help="only land ready to build on (净地)")
    p.add_argument("--top", type=count("--top"), default=20, help="largest parcels listed (default 20)")
    p.set_defaults(handler=cmd_available)

    p = sub.add_parser("match", help="rank land for a project over every park, as `match`")
    dataset_args(p)
    p.add_argument("--project", required=True, help="project file: .json, .yaml or .yml (docs/matching.md)")
    p.add_argument("--top", type=count("--top"), default=10, help="how many candidates (default 10)")
    p.add_argument("--no-blocks", action="store_true", help="single parcels only, no assembled blocks")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the reasons (default zh)")
    p.set_defaults(handler=cmd_match)
