"""``import``: read a planner's file, check it, report, and (unless ``--dry-run``) commit it."""
from __future__ import annotations

import os
from pathlib import Path

from commands.argtypes import Once
from commands.output import emit_object
from geo.errors import ParkAtlasError
from geo.io.safety import refuse_path_like


def _read_file(name: str) -> bytes:
    """The file's bytes, read by Python: GDAL never sees the user's path."""
    refuse_path_like(name, "FILE")  # UnsafeInput is a ParkAtlasError: one line, no traceback
    path = Path(name)
    if not path.is_file():
        raise ParkAtlasError(f"no such file: {name}")
    from geo.io.safety import Limits, too_large

    limits = Limits.from_env()
    if path.stat().st_size > limits.max_upload_bytes:
        raise too_large(path.name, path.stat().st_size, limits)
    return path.read_bytes()


def cmd_import(args) -> int:
    from geo.auth import cli_user
    from geo.io import commit_import, read_upload
    from geo.io.report import summary_lines
    from geo.store import open_store

    data = _read_file(args.file)
    store = open_store(args.store)
    parks = store.read_parks() if args.layer == "parcels" else None
    result = read_upload(data, os.path.basename(args.file), layer=args.layer, crs=args.crs,
                         source_datum=args.source_datum, encoding=args.encoding, mapping=args.mapping,
                         allow_outside_region=args.allow_outside_region, parks=parks, park_id=args.park,
                         default_status=args.default_status, city=store.read_city(),
                         existing=store.read_parcels() if args.layer == "parcels" else None)
    if args.dry_run or result.accepted:
        if result.accepted and not args.dry_run:
            commit_import(store, result, cli_user(args.user))
        if args.format == "json":  # a dry run always reports, blocked or not
            emit_object(result.report)
        else:
            print("\n".join(summary_lines(result.report)))
    if not result.accepted:
        raise ParkAtlasError(f"import of {result.report['file']} rejected: {'; '.join(result.blocking)} "
                             "(nothing written; --dry-run --format json lists every problem)")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("import", help="import parcels or parks from a planner's file (see docs/import.md)")
    p.add_argument("file", help="GeoPackage, zipped Shapefile, GeoJSON, GeoParquet, FlatGeobuf, KML/KMZ, "
                                "CSV/XLSX, DXF or .osm.pbf")
    p.add_argument("--layer", choices=("parcels", "parks"), default="parcels")
    p.add_argument("--crs", help="declared CRS, EPSG:NNNN (required for DXF; overrides the file's)")
    p.add_argument("--source-datum", choices=("gcj02", "bd09"),
                   help="lon/lat in the AMap/Tencent (gcj02) or Baidu (bd09) datum: converted to WGS84")
    p.add_argument("--encoding", help="text encoding of the DBF/CSV, e.g. GBK (default: detected)")
    p.add_argument("--mapping", help="JSON/YAML/CSV file mapping source headers to schema columns")
    p.add_argument("--allow-outside-region", action="store_true",
                   help="confirm data lying outside the store's city (its extent, see `city show`)")
    p.add_argument("--park", action=Once, help="park id for parcels that have none (default: the park containing them)")
    p.add_argument("--default-status", help="status for parcels that have none, e.g. available")
    p.add_argument("--dry-run", action="store_true", help="check and report; write nothing")
    p.add_argument("--user", help="acting user, an admin (required to write; see docs/store.md)")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(handler=cmd_import)
