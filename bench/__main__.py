"""``python -m bench``: run the benchmarks, print the Markdown table, write bench/results/latest.md."""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from bench import cases  # noqa: F401  — registers the cases
from bench.harness import CACHE_DIR, CASES, ON_REQUEST, RESULTS_DIR, Context, machine_info, run_cases, write_results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, slow baselines once, no 1M-parcel sizes (under 5 minutes)")
    parser.add_argument("--json", type=Path, help="also write the rows (and machine) as JSON to FILE")
    parser.add_argument("--only", help=f"comma-separated cases: {', '.join(CASES)} "
                        f"({', '.join(sorted(ON_REQUEST))} only when named here)")
    parser.add_argument("--size", type=int, default=100_000,
                        help="city size in parcels (default 100000; smaller for smoke runs)")
    parser.add_argument("--repeats", type=int, help="runs per measurement (default 3 quick, 5 full)")
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help="dataset cache (default bench/results/cache)")
    parser.add_argument("--markdown", type=Path, default=RESULTS_DIR / "latest.md",
                        help="where to write the Markdown table (default bench/results/latest.md)")
    return parser.parse_args(argv)


def selected_cases(names: list[str] | None) -> dict:
    """The cases ``--only`` names, in its order; without it every case but those run on request."""
    if names:
        return {name: CASES[name] for name in names}
    return {name: fn for name, fn in CASES.items() if name not in ON_REQUEST}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    unknown = [n for n in names or [] if n not in CASES]
    if unknown:
        print(f"error: unknown case {unknown[0]!r}; one of {', '.join(CASES)}", file=sys.stderr)
        return 2
    selected = selected_cases(names)
    if args.size < 100:
        print("error: --size must be at least 100 parcels", file=sys.stderr)
        return 2
    ctx = Context(quick=args.quick, repeats=args.repeats or (3 if args.quick else 5), size=args.size,
                  cache_dir=args.cache)
    info = machine_info()
    start = time.perf_counter()
    rows = run_cases(selected, ctx)
    command = "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = write_results(rows, info, command.strip(), json_path=args.json, md_path=args.markdown)
    print(text)
    print(f"[bench] {len(rows)} rows in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
