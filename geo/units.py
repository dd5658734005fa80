"""Units planners use: 亩 (mu), hectares and 万元.

1 亩 = 10,000/15 m² ≈ 666.67 m²; 15 亩 = 1 ha. Money is kept in 万元 (10,000 yuan) throughout.
"""
from __future__ import annotations

M2_PER_MU = 10_000 / 15
M2_PER_HA = 10_000.0


def m2_to_mu(area_m2):
    """Square metres to 亩 (works on scalars and arrays)."""
    return area_m2 / M2_PER_MU


def mu_to_m2(area_mu):
    """亩 to square metres (works on scalars and arrays)."""
    return area_mu * M2_PER_MU


def m2_to_ha(area_m2):
    """Square metres to hectares (works on scalars and arrays)."""
    return area_m2 / M2_PER_HA
