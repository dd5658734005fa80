"""Editable reference tables under ``data/standards/`` (statuses, land use, industries, thresholds).

Everything that local rules may change — status labels and which statuses count as available,
the land-use/nuisance compatibility matrix, the 2017→2002 industry mapping, the 2008 minimum
plot ratios, national limits, chain tags and 亩均 grade shares — is data, not code.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from geo.errors import ParkAtlasError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STANDARDS_DIR = REPO_ROOT / "data" / "standards"


def _read(directory: Path, name: str, **kwargs) -> pd.DataFrame:
    """Read a CSV whose leading ``#`` lines are notes (``#`` elsewhere is data, e.g. colours)."""
    path = directory / name
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ParkAtlasError(f"standards table {path} is missing; restore it from data/standards/") from None
    body = "\n".join(line for line in lines if not line.startswith("#"))
    return pd.read_csv(io.StringIO(body), **kwargs)


@dataclass(frozen=True)
class Standards:
    """The reference tables, loaded once per directory."""

    statuses: pd.DataFrame
    land_use: pd.DataFrame
    landuse_compat: pd.DataFrame
    industries: pd.DataFrame
    plot_ratio_min: pd.DataFrame
    national_limits: dict[str, float]
    chains: pd.DataFrame
    grades: pd.DataFrame

    @property
    def available_statuses(self) -> list[str]:
        """Statuses that count as available land by default."""
        return self.statuses.loc[self.statuses.counts_as_available, "code"].tolist()

    @property
    def occupied_statuses(self) -> list[str]:
        """Statuses whose land counts as occupied (committed) for the occupancy rate."""
        return self.statuses.loc[self.statuses.counts_as_occupied, "code"].tolist()

    @property
    def disposal_statuses(self) -> list[str]:
        """Statuses of land that could be brought back after disposal (idle, inefficient)."""
        return self.statuses.loc[self.statuses.needs_disposal, "code"].tolist()

    @property
    def countable_statuses(self) -> list[str]:
        """Statuses a planner may count as land for projects: available, then those needing disposal."""
        return self.available_statuses + [s for s in self.disposal_statuses if s not in self.available_statuses]

    def min_plot_ratio_range(self, chain_tags: list[str]) -> tuple[float, float] | None:
        """Lowest and highest 2008 national minimum plot ratio over the industries of these chains."""
        chains = self.chain_codes()
        codes = {code for chain in chain_tags for code in chains.get(chain, [])}
        ratios = self.min_plot_ratio_2017().reindex(sorted(codes)).dropna()
        return (float(ratios.min()), float(ratios.max())) if len(ratios) else None

    @property
    def industrial_codes(self) -> list[str]:
        return self.land_use.loc[self.land_use.industrial, "code"].tolist()

    def min_plot_ratio_2017(self) -> pd.Series:
        """National minimum plot ratio keyed by GB/T 4754-2017 two-digit code."""
        merged = self.industries.merge(self.plot_ratio_min, on="code_2002", how="left")
        return merged.set_index("code_2017")["min_plot_ratio"]

    def chain_codes(self) -> dict[str, list[str]]:
        """Chain tag → GB/T 4754-2017 industry codes."""
        return {row.chain: row.industry_codes_2017.split(";") for row in self.chains.itertuples()}


@lru_cache(maxsize=4)
def load_standards(directory: str | os.PathLike | None = None) -> Standards:
    """Load the reference tables from ``directory`` (default ``data/standards/``)."""
    d = Path(directory) if directory else DEFAULT_STANDARDS_DIR
    codes = {"code": str, "code_2017": str, "code_2002": str, "land_use_code": str}
    limits = _read(d, "national_limits.csv")
    return Standards(
        statuses=_read(d, "statuses.csv", dtype={"code": str}),
        land_use=_read(d, "land_use.csv", dtype=codes),
        landuse_compat=_read(d, "landuse_compat.csv", dtype=codes),
        industries=_read(d, "industries.csv", dtype=codes),
        plot_ratio_min=_read(d, "plot_ratio_min_2008.csv", dtype=codes),
        national_limits=dict(zip(limits.key, limits.value.astype(float))),
        chains=_read(d, "chains.csv", dtype={"industry_codes_2017": str}),
        grades=_read(d, "grades.csv"),
    )
