"""Core commands: parks, parcels, available land, idle-land warnings, dataset info."""
from __future__ import annotations

from datetime import date

from commands.argtypes import Once, non_negative_number
from commands.output import FORMATS, GEO_FORMATS, emit, emit_object
from geo.availability import available_parcels
from geo.errors import ParkAtlasError
from geo.evaluation import parcels_with_metrics
from geo.metrics import PARCEL_METRICS, idle_land_warnings, park_kpis
from geo.store import open_store

PARK_KEYS = ["park_id", "name_zh", "name_en", "group", "district_code", "parcel_count",
             "total_area_mu", "industrial_area_mu", "occupied_area_mu", "available_area_mu",
             "available_parcel_count", "idle_area_mu", "inefficient_area_mu", "occupancy_rate",
             "plot_ratio", "building_coefficient", "investment_per_mu_wan", "output_per_mu_wan",
             "tax_per_mu_wan", "output_per_mu_wan_median", "tax_per_mu_wan_median",
             "grade_A", "grade_B", "grade_C", "grade_D", "data_as_of"]
PARCEL_KEYS = ["parcel_id", "park_id", "land_use_code", "status", "enterprise", "industry_code",
               "chain", *PARCEL_METRICS, "grade", "land_ready", "power_kva", "water_t_per_day", "gas",
               "highway_km", "port_km", "rail_km", "contract_date", "contract_start_date",
               "actual_start_date", "reserved_project", "data_as_of", "geometry"]


def _parcels(store, park_id):
    return parcels_with_metrics(store, park_id)


def cmd_parks(args) -> None:
    store = open_store(args.store)
    parks = store.read_parks()
    emit(park_kpis(_parcels(store, None), parks)[PARK_KEYS], args.format)


def cmd_parcels(args) -> None:
    emit(_parcels(open_store(args.store), args.park)[PARCEL_KEYS], args.format)


def cmd_available(args) -> None:
    store = open_store(args.store)
    parcels = _parcels(store, args.park)
    if args.group:
        groups = store.read_city().group_ids
        if args.group not in groups:
            raise ParkAtlasError(f"unknown group {args.group!r}; one of {', '.join(groups)} (see `city show`)")
        parks = store.read_parks()
        parcels = parcels.loc[parcels.park_id.isin(parks.loc[parks.group == args.group, "park_id"])]
    found = available_parcels(parcels, min_area_mu=args.min_area_mu, max_area_mu=args.max_area_mu,
                              land_use_codes=[args.land_use] if args.land_use else None,
                              statuses=args.status, ready_only=args.ready)
    emit(found[PARCEL_KEYS], args.format)


def cmd_idle(args) -> None:
    store = open_store(args.store)
    try:
        as_of = date.fromisoformat(args.as_of) if args.as_of else None
    except ValueError:
        raise ParkAtlasError(f"--as-of {args.as_of!r} is not a date (YYYY-MM-DD)") from None
    emit(idle_land_warnings(store.read_parcels(args.park), as_of), args.format)


def cmd_info(args) -> None:
    store = open_store(args.store)
    emit_object({"store": store.location, **store.dataset_info()})


def register(subparsers) -> None:
    p = subparsers.add_parser("parks", help="one row per park with areas, occupancy and intensity")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_parks)

    p = subparsers.add_parser("parcels", help="parcels with their metrics")
    p.add_argument("--park", action=Once, help="park id (see `parks`)")
    p.add_argument("--format", choices=GEO_FORMATS, default="json")
    p.set_defaults(handler=cmd_parcels)

    p = subparsers.add_parser("available", help="available land, largest first")
    p.add_argument("--park", action=Once, help="park id (see `parks`)")
    p.add_argument("--min-area-mu", type=non_negative_number)
    p.add_argument("--max-area-mu", type=non_negative_number)
    p.add_argument("--land-use", help="land-use code or prefix, e.g. 100101 or 1001")
    p.add_argument("--status", action="append",
                   help="status that counts as available (repeatable; default: data/standards/statuses.csv)")
    p.add_argument("--ready", action="store_true", help="only ready (净地) land")
    p.add_argument("--group", action=Once,
                   help="only parks of this park group of the store's city (see `city show`)")
    p.add_argument("--format", choices=GEO_FORMATS, default="json")
    p.set_defaults(handler=cmd_available)

    p = subparsers.add_parser("idle", help="idle-land warnings (闲置土地: fee after 1 year, repossession after 2)")
    p.add_argument("--park", action=Once, help="park id (see `parks`)")
    p.add_argument("--as-of", help="date to judge against, YYYY-MM-DD (default: today)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_idle)

    p = subparsers.add_parser("info", help="where the store is and what the dataset is")
    p.set_defaults(handler=cmd_info)
