"""ParkAtlas benchmarks: ``python -m bench [--quick] [--json FILE] [--only CASE[,CASE]]``.

Each case measures ParkAtlas and a baseline (what planners would otherwise use) in the same run
on the same data and reports medians, ratios and whether the issue's targets are met. See
``docs/benchmarks.md`` for the latest table and the machine it ran on.
"""
