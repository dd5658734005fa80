"""`projects`: the project register from signing to full production (see docs/cli.md#projects).

Writes act as ``--user NAME`` like ``reserve``; a refused write changes nothing and prints one
``error:`` line (exit status 2).
"""
from __future__ import annotations


import pandas as pd

from commands.argtypes import iso_date
from commands.output import FORMATS, emit, emit_object, emit_records, records
from commands.store_cmds import _user
from geo.errors import ParkAtlasError
from geo.project import ALL_STAGES, DELAY_CAUSES
from geo.store import open_store


def _listed(frame: pd.DataFrame, fmt: str) -> pd.DataFrame:
    """``parcel_ids`` as a list for JSON, ';'-joined for CSV."""
    out = frame.copy()
    if fmt == "json":
        out["parcel_ids"] = [v.split(";") if isinstance(v, str) and v else [] for v in out.parcel_ids.tolist()]
    return out


def _with_duplicates(projects: pd.DataFrame) -> pd.DataFrame:
    from geo.project_review import duplicates_of

    return projects.assign(duplicate_of=duplicates_of(projects))


def cmd_add(args) -> None:
    from geo.project import load_project

    load_project(args.file, register=True)  # validate the file before opening the store
    store = open_store(args.store)
    added = store.add_project(args.file, user=_user(args))
    projects = _with_duplicates(store.read_projects())
    emit_object(records(_listed(projects[projects.project_id == added["project_id"]], "json"))[0])


def cmd_list(args) -> None:
    from geo.project_review import project_warnings, read_register

    store = open_store(args.store)
    register = read_register(store)
    projects = _with_duplicates(register.projects)
    for option, column in (("stage", "stage"), ("park", "park_id"), ("team", "team"), ("chain", "chain")):
        wanted = getattr(args, option)
        if wanted is not None:
            if option == "stage" and wanted not in ALL_STAGES:
                raise ParkAtlasError(f"unknown stage {wanted!r}; one of {', '.join(ALL_STAGES)}")
            projects = projects[projects[column] == wanted]
    if args.warnings:
        warnings = project_warnings(register, iso_date(args.as_of, "--as-of"))
        kinds = warnings.groupby("project_id").kind.agg(lambda k: ";".join(k))
        projects = projects[projects.project_id.isin(kinds.index)].assign(
            warnings=lambda f: f.project_id.map(kinds))
    emit(_listed(projects, args.format).reset_index(drop=True), args.format)


def cmd_show(args) -> None:
    from geo.project_review import project_warnings, read_register

    store = open_store(args.store)
    project = store.read_project(args.project_id)
    register = read_register(store)
    ids = [v for v in (project["parcel_ids"] or "").split(";") if v]
    parcels = store.read_parcels()
    parcels = parcels[parcels.parcel_id.isin(ids)].drop(columns="geometry")
    warnings = project_warnings(register, iso_date(args.as_of, "--as-of"))
    dup = _with_duplicates(register.projects).set_index("project_id").at[args.project_id, "duplicate_of"]
    lang = args.lang
    warnings = warnings[warnings.project_id == args.project_id]
    emit_object({
        "project": {**records(_listed(pd.DataFrame([project]), "json"))[0], "duplicate_of": None if pd.isna(dup) else dup},
        "stages": records(register.events[register.events.project_id == args.project_id]),
        "actuals": records(register.actuals[register.actuals.project_id == args.project_id]),
        "delays": records(register.delays[register.delays.project_id == args.project_id]),
        "parcels": records(parcels),
        "warnings": _warning_records(warnings, lang),
    })


def _warning_table(warnings: pd.DataFrame, lang: str) -> pd.DataFrame:
    reason = "reason_en" if lang == "en" else "reason_zh"
    return warnings.drop(columns=[c for c in ("reason_zh", "reason_en") if c != reason]).rename(
        columns={reason: "reason"})


def _warning_records(warnings: pd.DataFrame, lang: str) -> list[dict]:
    return records(_warning_table(warnings, lang))


def cmd_stage(args) -> None:
    store = open_store(args.store)
    user = _user(args)
    on = iso_date(args.on, "--on")
    emit_object({**store.set_stage(args.project_id, args.stage, on=on, user=user, parcel_ids=args.parcels,
                                   reason=args.reason, expected_version=args.expected_version), "user": user.name})


def cmd_actuals(args) -> None:
    values = {"investment_wan": args.investment_wan, "output_wan": args.output_wan, "tax_wan": args.tax_wan,
              "jobs": args.jobs, "developed_area_mu": args.developed_area_mu, "floor_area_m2": args.floor_area_m2,
              "stopped_since": iso_date(args.stopped_since, "--stopped-since")}
    store = open_store(args.store)
    user = _user(args)
    emit_object({**store.record_actuals(args.project_id, args.year, {k: v for k, v in values.items() if v is not None},
                                        user=user), "user": user.name})


def cmd_delay(args) -> None:
    store = open_store(args.store)
    user = _user(args)
    emit_object({**store.record_delay(args.project_id, cause=args.cause, from_date=iso_date(getattr(args, "from"), "--from"),
                                      to_date=iso_date(args.to, "--to"), reason=args.reason, user=user),
                 "user": user.name})


def cmd_check(args) -> None:
    from geo.project_review import contract_check

    store = open_store(args.store)
    project = store.read_project(args.project_id)
    parks = store.read_parks().drop(columns="geometry").set_index("park_id", drop=False)
    park = parks.loc[project["park_id"]].to_dict() if project["park_id"] in parks.index else None
    result = contract_check(project, store.read_stage_events(args.project_id), store.read_actuals(args.project_id),
                            park, as_of=iso_date(args.as_of, "--as-of"))
    reason = "reason_en" if args.lang == "en" else "reason_zh"
    result["criteria"] = [{k: v for k, v in c.items() if k not in ("reason_zh", "reason_en")} | {"reason": c[reason]}
                          for c in result["criteria"]]
    emit_object(result)


def cmd_warnings(args) -> None:
    from geo.project_review import WARNING_INPUTS, project_warnings, read_register

    warnings = project_warnings(read_register(open_store(args.store), WARNING_INPUTS), iso_date(args.as_of, "--as-of"),
                                stale_days=args.stale_days)
    if args.format == "json":
        emit_records(_warning_table(warnings, args.lang))
    else:
        table = warnings.assign(parcel_ids=warnings.parcel_ids.map(";".join))
        emit(pd.DataFrame(_warning_records(table, args.lang), columns=[
            c for c in table.columns if c not in ("reason_zh", "reason_en")] + ["reason"]), "csv")


def cmd_counts(args) -> None:
    from geo.project_review import project_counts, read_register

    store = open_store(args.store)
    counts = project_counts(read_register(store), store.read_parks(), by=args.by,
                            start=iso_date(getattr(args, "from"), "--from"), end=iso_date(args.to, "--to"))
    emit(counts, args.format)


def cmd_import(args) -> int:
    from geo.project_ledger import LedgerRejected, import_ledger

    store = open_store(args.store)
    try:
        report = import_ledger(args.file, store, user=_user(args), dry_run=args.dry_run)
    except LedgerRejected as exc:
        emit_object({**exc.report, "ok": False})
        raise
    emit_object({**report, "ok": True})
    return 0


def cmd_export(args) -> None:
    from geo.project_ledger import write_ledger

    emit_object(write_ledger(open_store(args.store).read_projects(), args.out))


def register(subparsers) -> None:
    group = subparsers.add_parser("projects", help="the project register: signing to full production")
    actions = group.add_subparsers(dest="projects_command", required=True, parser_class=type(group))

    def writer(name: str, help_text: str, handler):
        p = actions.add_parser(name, help=help_text)
        p.add_argument("--user", help="the operator making the change (role from the users file)")
        p.set_defaults(handler=handler)
        return p

    p = writer("add", "enter a project from a .json/.yaml file (match keys accepted); prints it", cmd_add)
    p.add_argument("file", metavar="FILE")

    p = actions.add_parser("list", help="the register, filtered")
    p.add_argument("--stage", help=f"one of {', '.join(ALL_STAGES)}")
    p.add_argument("--park", help="park id")
    p.add_argument("--team", help="promotion team")
    p.add_argument("--chain", help="chain code")
    p.add_argument("--warnings", action="store_true", help="only projects with warnings (and their kinds)")
    p.add_argument("--as-of", help="date of the warnings (YYYY-MM-DD, default today)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_list)

    p = actions.add_parser("show", help="one project: stages, actuals, delays, parcels, warnings")
    p.add_argument("project_id", metavar="ID")
    p.add_argument("--as-of", help="date of the warnings (YYYY-MM-DD, default today)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--format", choices=("json",), default="json")
    p.set_defaults(handler=cmd_show)

    p = writer("stage", "move a project to a stage (its parcels follow)", cmd_stage)
    p.add_argument("project_id", metavar="ID")
    p.add_argument("stage", metavar="STAGE", help=", ".join(ALL_STAGES))
    p.add_argument("--on", required=True, help="the date it happened (YYYY-MM-DD)")
    p.add_argument("--parcels", nargs="+", metavar="PARCEL_ID", help="parcels to add to the project")
    p.add_argument("--reason", help="why (required to move backwards)")
    p.add_argument("--expected-version", type=int, help="fail if the project is no longer at this version")

    p = writer("actuals", "enter a year's actuals", cmd_actuals)
    p.add_argument("project_id", metavar="ID")
    p.add_argument("--year", type=int, required=True)
    for option in ("--investment-wan", "--output-wan", "--tax-wan", "--developed-area-mu", "--floor-area-m2"):
        p.add_argument(option, type=float)
    p.add_argument("--jobs", type=int)
    p.add_argument("--stopped-since", help="date construction stopped (YYYY-MM-DD)")

    p = writer("delay", "record a delay by government action or force majeure (第八条)", cmd_delay)
    p.add_argument("project_id", metavar="ID")
    p.add_argument("--cause", required=True, choices=DELAY_CAUSES)
    p.add_argument("--from", required=True, help="YYYY-MM-DD")
    p.add_argument("--to", help="YYYY-MM-DD")
    p.add_argument("--reason", required=True)

    p = actions.add_parser("check", help="contract performance check (履约/达产), per 亩")
    p.add_argument("project_id", metavar="ID")
    p.add_argument("--as-of", help="YYYY-MM-DD, default today")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--format", choices=("json",), default="json")
    p.set_defaults(handler=cmd_check)

    p = actions.add_parser("warnings", help="warnings of every project at a date")
    p.add_argument("--as-of", help="YYYY-MM-DD, default today")
    p.add_argument("--stale-days", type=int, help="days without an update before a project is stale (default 31)")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_warnings)

    p = actions.add_parser("counts", help="projects signed / land supplied / started / producing in a period")
    p.add_argument("--by", choices=("park_id", "group", "chain", "team"), default="park_id")
    p.add_argument("--from", help="first day of the period (YYYY-MM-DD; default: all time)")
    p.add_argument("--to", help="last day of the period (YYYY-MM-DD)")
    p.add_argument("--format", choices=FORMATS, default="json")
    p.set_defaults(handler=cmd_counts)

    p = writer("import", "import a ledger (.xlsx/.csv, Chinese headers), all or nothing", cmd_import)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--dry-run", action="store_true", help="check and report only")

    p = actions.add_parser("export", help="write the register as a ledger (.xlsx/.csv)")
    p.add_argument("--out", required=True, help="FILE.xlsx or FILE.csv")
    p.set_defaults(handler=cmd_export)
