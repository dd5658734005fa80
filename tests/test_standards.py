"""Editable standards: derived lists and ranges read from data/standards/*.csv."""
from __future__ import annotations

from geo.standards import load_standards


def test_countable_statuses_are_available_first_then_disposal():
    standards = load_standards()
    assert standards.countable_statuses == ["available", "approved_unsupplied", "idle", "inefficient"]


def test_min_plot_ratio_range_over_chain_industries():
    standards = load_standards()
    # electronics = 2017 codes 39 and 40 → 2002 codes 40 and 41, both 1.0 in the 2008 table.
    assert standards.min_plot_ratio_range(["electronics"]) == (1.0, 1.0)
    # nev = 2017 codes 36 and 38 → 2002 codes 37 and 39, both 0.7.
    assert standards.min_plot_ratio_range(["electronics", "nev"]) == (0.7, 1.0)
    assert standards.min_plot_ratio_range(["no_such_chain"]) is None
