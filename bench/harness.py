"""The benchmark machinery: cases, rows, targets, medians, the Markdown table and the JSON file.

A case is a function ``case(ctx) -> list[Row]`` registered with :func:`case`. It imports the
modules it measures inside the function (:func:`require`), so a case whose module has not landed
yet reports ``skipped: <module> not available`` instead of breaking the whole run.
"""
from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
CACHE_DIR = RESULTS_DIR / "cache"
ROW_KEYS = ("case", "metric", "value", "unit", "baseline", "baseline_value", "ratio", "target", "met", "note")


class Skip(Exception):
    """Raised by a case that cannot run here (module not landed yet, tool missing)."""


def require(module: str, *, load: bool = True):
    """Import ``module`` (or with ``load=False`` only find it) or skip the case with
    ``skipped: <module> not available``. Streamlit pages are only found: importing runs them."""
    if not load:
        if importlib.util.find_spec(module) is None:
            raise Skip(f"{module} not available")
        return None
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        missing = getattr(exc, "name", None) or module
        raise Skip(f"{module} not available" + (f" ({missing} missing)" if missing != module else "")) from None


@dataclass(frozen=True)
class Target:
    """A goal on the value (``value ≤ at_most``) and/or on the ratio to the baseline (``ratio ≤ ratio_at_most``)."""

    at_most: float | None = None
    ratio_at_most: float | None = None
    unit: str = ""

    def text(self) -> str:
        parts = []
        if self.at_most is not None:
            parts.append(f"≤ {self.at_most:g} {self.unit}".strip())
        if self.ratio_at_most is not None:
            parts.append(f"≥ {1 / self.ratio_at_most:g}× faster than baseline" if self.ratio_at_most < 1
                         else f"≤ {self.ratio_at_most:g}× baseline")
        return " and ".join(parts)

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        if value is None:
            return None
        ok = True
        if self.at_most is not None:
            ok &= value <= self.at_most
        if self.ratio_at_most is not None:
            if ratio is None:
                return None
            ok &= ratio <= self.ratio_at_most
        return bool(ok)


@dataclass
class Row:
    """One line of the results table (the JSON keys are :data:`ROW_KEYS`)."""

    case: str
    metric: str
    value: float | None
    unit: str
    baseline: str | None = None
    baseline_value: float | None = None
    ratio: float | None = None
    target: str | None = None
    met: bool | None = None
    note: str = ""

    @classmethod
    def measured(cls, case: str, metric: str, value: float | None, unit: str, *, baseline: str | None = None,
                 baseline_value: float | None = None, target: Target | None = None, note: str = "") -> "Row":
        """A row with its ratio (value / baseline_value) and target check filled in."""
        ratio = None
        if value is not None and baseline_value not in (None, 0) and math.isfinite(baseline_value):
            ratio = value / baseline_value
        return cls(case, metric, _round(value), unit, baseline, _round(baseline_value), _round(ratio, 4),
                   target.text() if target else None, target.met(value, ratio) if target else None, note)

    def as_dict(self) -> dict:
        return asdict(self)


def _round(value, digits: int = 4):
    if value is None:
        return None
    value = float(value)
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value))))) if value else 0.0


@dataclass
class Context:
    """What a case may use: run mode, repeats, dataset sizes, a cache folder and progress output."""

    quick: bool = True
    repeats: int = 3
    size: int = 100_000
    cache_dir: Path = CACHE_DIR
    out: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr, flush=True))

    def __post_init__(self) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)  # every case writes there, whichever runs first

    def log(self, text: str) -> None:
        self.out(f"  · {text}")


def median_seconds(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Median wall time of ``repeats`` calls of ``fn`` (and the last call's result)."""
    times, result = [], None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


CASES: dict[str, Callable[[Context], list[Row]]] = {}
#: Cases run only when named with ``--only`` (their data take an hour or more to generate).
ON_REQUEST: set[str] = set()


def case(name: str, *, on_request: bool = False):
    """Register a benchmark case under ``name`` (run in registration order; ``on_request``: only when
    ``--only`` names it)."""
    def register(fn):
        CASES[name] = fn
        if on_request:
            ON_REQUEST.add(name)
        return fn
    return register


def run_cases(cases: dict[str, Callable[[Context], list[Row]]], ctx: Context) -> list[Row]:
    """Run each case, printing progress; skipped or failing cases become rows with a note."""
    rows: list[Row] = []
    for name, fn in cases.items():
        ctx.out(f"[bench] {name} …")
        start = time.perf_counter()
        try:
            got = list(fn(ctx))
        except Skip as exc:
            got = [Row(name, "-", None, "", note=f"skipped: {exc}")]
        except Exception as exc:  # one broken case must not lose the others' results
            ctx.out(traceback.format_exc(limit=3))
            got = [Row(name, "-", None, "", note=f"error: {type(exc).__name__}: {str(exc)[:200]}")]
        for row in got:
            ctx.out(f"  {row.metric}: {row.value} {row.unit}" + (f" (ratio {row.ratio})" if row.ratio else "")
                    + (f" {row.note}" if row.note else ""))
        ctx.out(f"[bench] {name} done in {time.perf_counter() - start:.1f} s")
        rows.extend(got)
    return rows


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _chromium_version() -> str | None:
    try:
        out = subprocess.run(["/usr/bin/chromium", "--version"], capture_output=True, text=True, timeout=20)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> dict:
    """nproc, RAM, CPU model, OS, Python and the versions of the measured libraries."""
    from importlib.metadata import PackageNotFoundError, version

    import psutil

    versions = {}
    for pkg in ("geopandas", "shapely", "pyogrio", "folium", "streamlit", "streamlit-folium", "leafmap",
                "dask", "dask-geopandas", "playwright", "matplotlib"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": _cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "chromium": _chromium_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("|", "\\|")


def markdown_table(rows: list[Row]) -> str:
    """The rows as a Markdown table (``met`` shows yes / **no**)."""
    head = "| " + " | ".join(ROW_KEYS) + " |\n|" + "---|" * len(ROW_KEYS) + "\n"
    return head + "".join("| " + " | ".join(_cell(getattr(r, k)) for k in ROW_KEYS) + " |\n" for r in rows)


def machine_markdown(info: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items() if v)
    return (f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM, {info['os']}, "
            f"Python {info['python']}, {info['chromium'] or 'no chromium'}; load average at start "
            f"{info['load_average_at_start']}.\nVersions: {versions}.\n")


def write_results(rows: list[Row], info: dict, command: str, *, json_path: Path | None = None,
                  md_path: Path = RESULTS_DIR / "latest.md") -> str:
    """Write the Markdown report (and the JSON rows if asked); returns the Markdown."""
    text = (f"Command: `{command}`\n\n" + machine_markdown(info) + "\n" + markdown_table(rows))
    md_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.write_text(text, encoding="utf-8")
    if json_path is not None:
        json_path = Path(json_path)
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({"machine": info, "command": command,
                                         "rows": [r.as_dict() for r in rows]}, ensure_ascii=False, indent=1),
                             encoding="utf-8")
    return text
