"""Editable reference tables under ``data/standards/`` (statuses, land use, industries, thresholds).

Everything that local rules may change — status labels and which statuses count as available,
the land-use/nuisance compatibility matrix, the 2017→2002 industry mapping, the minimum plot
ratios and national limits (per edition of 《工业项目建设用地控制指标》), chain tags and 亩均 grade
shares — is data, not code.

Editions: ``editions.csv`` lists each published text behind the tables (title, number, issuer,
address) and whether its values are loaded. ``plot_ratio_min.csv`` and ``national_limits.csv``
carry an ``edition`` column; a :class:`Standards` judges with one edition of the control
indicators (default: the newest whose values are loaded; :meth:`Standards.with_edition` picks
another), and :meth:`Standards.source` names it in every message.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass, replace
from functools import lru_cache, wraps
from pathlib import Path

import pandas as pd

from geo.errors import ParkAtlasError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STANDARDS_DIR = REPO_ROOT / "data" / "standards"
#: ``editions.csv`` standard of 《工业项目建设用地控制指标》 (plot ratio minima, national limits).
CONTROL_INDICATORS = "control_indicators"


def _read(directory: Path, name: str, **kwargs) -> pd.DataFrame:
    """Read a CSV whose leading ``#`` lines are notes (``#`` elsewhere is data, e.g. colours)."""
    path = directory / name
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ParkAtlasError(f"standards table {path} is missing; restore it from data/standards/") from None
    body = "\n".join(line for line in lines if not line.startswith("#"))
    return pd.read_csv(io.StringIO(body), **kwargs)


def _per_instance(method):
    """Keep ``method``'s answer per :class:`Standards` instance and arguments: the tables never change
    once loaded, and a match asks the same citation and limits once per candidate it explains.
    Answers must be immutable (str, tuple, number) or copied by the caller's wrapper."""
    @wraps(method)
    def kept(self, *args, **kwargs):
        answers = self.__dict__.setdefault("_answers", {})  # a frozen dataclass: not a field, not compared
        key = (method.__name__, args, tuple(sorted(kwargs.items())))
        if key not in answers:
            answers[key] = method(self, *args, **kwargs)
        return answers[key]
    return kept


@dataclass(frozen=True)
class Standards:
    """The reference tables, loaded once per directory."""

    statuses: pd.DataFrame
    land_use: pd.DataFrame
    landuse_compat: pd.DataFrame
    industries: pd.DataFrame
    plot_ratio_table: pd.DataFrame
    national_limits_table: pd.DataFrame
    chains: pd.DataFrame
    grades: pd.DataFrame
    editions: pd.DataFrame
    #: The edition of 《工业项目建设用地控制指标》 the checks use (see :meth:`with_edition`).
    edition: str = ""

    # --- editions ------------------------------------------------------------------------------
    def loaded_editions(self, standard: str = CONTROL_INDICATORS) -> list[str]:
        """Editions of ``standard`` whose values are in the tables, oldest first."""
        rows = self.editions[(self.editions.standard == standard) & (self.editions["values"] == "loaded")]
        return sorted(rows.edition)

    def with_edition(self, edition: str | None) -> Standards:
        """These standards judging with ``edition`` of the control indicators (``None``: the newest loaded)."""
        if edition is None or str(edition).strip() == "":
            return self if self.edition else replace(self, edition=self.loaded_editions()[-1])
        edition = str(edition).strip()
        known = self.editions.loc[self.editions.standard == CONTROL_INDICATORS, "edition"].tolist()
        if edition not in known:
            raise ParkAtlasError(f"unknown edition {edition!r} of 工业项目建设用地控制指标; one of {', '.join(known)}")
        if edition not in self.loaded_editions():
            raise ParkAtlasError(f"edition {edition} of 工业项目建设用地控制指标 has no values in data/standards/ "
                                 f"(plot_ratio_min.csv, national_limits.csv); add them from the official text, "
                                 f"or use {', '.join(self.loaded_editions())}")
        return replace(self, edition=edition)

    @_per_instance
    def source(self, standard: str = CONTROL_INDICATORS, edition: str | None = None, lang: str = "zh",
               short: bool = False) -> str:
        """The text a check cites: title, number and edition, e.g. ``《工业项目建设用地控制指标》（国土资发〔2008〕24号），2008年版``.

        ``lang="en"`` gives the English citation of ``editions.csv`` (``title_en``, ``number_en``):
        "Control Indicators for Construction Land of Industrial Projects (Guotuzifa [2008] No. 24), 2008 edition".
        ``short=True`` leaves the title out where a number identifies the text (a fact sheet's cell):
        "国土资发〔2008〕24号，2008年版".
        """
        edition = edition or (self.edition if standard == CONTROL_INDICATORS else None)
        rows = self.editions[self.editions.standard == standard]
        row = rows[rows.edition == edition].iloc[0] if edition else rows.sort_values("edition").iloc[-1]
        if lang == "en":
            if short and row.number_en:
                return f"{row.number_en}, {row.edition} edition"
            number = f" ({row.number_en})" if row.number_en else ""
            return f"{row.title_en}{number}, {row.edition} edition"
        if short and row.number:
            return f"{row.number}，{row.edition}年版"
        number = f"（{row.number}）" if row.number else ""
        return f"《{row.title}》{number}，{row.edition}年版"

    @property
    def national_limits(self) -> dict[str, float]:
        """Key → value of ``national_limits.csv`` for the edition in use."""
        return dict(self._national_limits())

    @_per_instance
    def _national_limits(self) -> tuple[tuple[str, float], ...]:
        t = self.national_limits_table
        t = t[t.edition == self.edition]
        return tuple(zip(t.key, t.value.astype(float)))

    @property
    def plot_ratio_min(self) -> pd.DataFrame:
        """``code_2002, min_plot_ratio`` of the edition in use."""
        t = self.plot_ratio_table
        return t.loc[t.edition == self.edition, ["code_2002", "min_plot_ratio"]]

    @property
    def available_statuses(self) -> list[str]:
        """Statuses that count as available land by default."""
        return list(self._statuses_where("counts_as_available"))

    @_per_instance
    def _statuses_where(self, flag: str) -> tuple[str, ...]:
        return tuple(self.statuses.loc[self.statuses[flag], "code"])

    @property
    def occupied_statuses(self) -> list[str]:
        """Statuses whose land counts as occupied (committed) for the occupancy rate."""
        return list(self._statuses_where("counts_as_occupied"))

    @property
    def disposal_statuses(self) -> list[str]:
        """Statuses of land that could be brought back after disposal (idle, inefficient)."""
        return list(self._statuses_where("needs_disposal"))

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
        """Land-use codes counted as industrial land (under 10 工矿用地; not 11 仓储 logistics)."""
        return self.land_use.loc[self.land_use.industrial, "code"].tolist()

    def min_plot_ratio_2017(self) -> pd.Series:
        """National minimum plot ratio keyed by GB/T 4754-2017 code (two or three digits).

        A 2017 code merging several 2002 codes (29 = 2002's 29 rubber 0.8 + 30 plastics 1.0)
        gets the strictest of their values; its three-digit codes (291, 292) get their own.
        """
        return self._min_plot_ratio_2017().copy()

    @_per_instance
    def _min_plot_ratio_2017(self) -> pd.Series:
        codes = self.industries[["code_2017", "code_2002"]].assign(code_2002=lambda f: f.code_2002.str.split(";"))
        merged = codes.explode("code_2002").merge(self.plot_ratio_min, on="code_2002", how="left")
        return merged.groupby("code_2017", sort=False)["min_plot_ratio"].max()

    @_per_instance
    def plot_ratio_note(self, code_2017: str) -> tuple[str, str] | None:
        """(zh, en) note when ``code_2017`` merges 2002 codes with different minima, else ``None``."""
        row = self.industries.loc[self.industries.code_2017 == code_2017]
        if row.empty or ";" not in row.code_2002.iloc[0]:
            return None
        parts = row.code_2002.iloc[0].split(";")
        values = self.plot_ratio_min.set_index("code_2002").min_plot_ratio.reindex(parts)
        if values.nunique() < 2:
            return None
        finer = self.industries.loc[self.industries.code_2017.str.startswith(code_2017)
                                    & (self.industries.code_2017.str.len() == 3), "code_2017"].tolist()
        listing = "、".join(f"{c}（{v:.1f}）" for c, v in values.items())
        return (f"2017 代码 {code_2017} 合并了 2002 代码 {listing}：取较严格的 {values.max():.1f}；"
                f"请给三位代码（{'/'.join(finer)}）",
                f"2017 code {code_2017} merges 2002 codes {', '.join(f'{c} ({v:.1f})' for c, v in values.items())}: "
                f"the stricter {values.max():.1f} is used; give a three-digit code ({'/'.join(finer)})")

    @_per_instance
    def chain_name(self, chain: str) -> tuple[str, str]:
        """(zh, en) name of a chain tag of ``chains.csv``; the tag itself for a chain it does not list."""
        row = self.chains.loc[self.chains.chain == chain]
        return (str(row.name_zh.iloc[0]), str(row.name_en.iloc[0])) if len(row) else (chain, chain)

    def chain_codes(self) -> dict[str, list[str]]:
        """Chain tag → GB/T 4754-2017 industry codes."""
        return {row.chain: row.industry_codes_2017.split(";") for row in self.chains.itertuples()}


@lru_cache(maxsize=4)
def load_standards(directory: str | os.PathLike | None = None) -> Standards:
    """Load the reference tables from ``directory`` (default ``data/standards/``)."""
    d = Path(directory) if directory else DEFAULT_STANDARDS_DIR
    codes = {"code": str, "code_2017": str, "code_2002": str, "land_use_code": str, "edition": str}
    standards = Standards(
        statuses=_read(d, "statuses.csv", dtype={"code": str}),
        land_use=_read(d, "land_use.csv", dtype=codes),
        landuse_compat=_read(d, "landuse_compat.csv", dtype=codes),
        industries=_read(d, "industries.csv", dtype=codes),
        plot_ratio_table=_read(d, "plot_ratio_min.csv", dtype=codes),
        national_limits_table=_read(d, "national_limits.csv", dtype=codes),
        chains=_read(d, "chains.csv", dtype={"industry_codes_2017": str}),
        grades=_read(d, "grades.csv"),
        editions=_read(d, "editions.csv", dtype=str, keep_default_na=False),
    )
    for name, table in (("plot_ratio_min.csv", standards.plot_ratio_table),
                        ("national_limits.csv", standards.national_limits_table)):
        unlisted = sorted(set(table.edition) - set(standards.loaded_editions()))
        if unlisted:
            raise ParkAtlasError(f"{d / name}: edition {unlisted[0]} is not marked loaded in editions.csv; "
                                 "list it there with its source")
    return standards.with_edition(None)
