"""Contiguous blocks of adjacent parcels, and blocks assembled to meet a project's demand.

Two parcels of the same park are adjacent when they touch or are separated by less than a gap
(an internal road: the sample has 24 m roads between superblocks and touching parcels inside
one). Adjacency comes from one STRtree query of the grown bounding boxes and one
vectorised ``dwithin`` over the pairs it finds; contiguous areas are the connected
components of that graph (``scipy.sparse.csgraph``). A block's geometry is the union of its
parcels with the road gap closed (``buffer(+gap/2)`` then ``buffer(-gap/2)``), so it reads as
one piece; its area is the sum of its parcels' areas (the road is not land the project gets).

Distances are measured in the CGCS2000 Gauss-Krüger zone best suited to the frame
(:func:`geo.crs.projected_crs_for`); areas come from :mod:`geo.metrics`.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import projected_crs_for, reproject
from geo.gcpause import gc_paused
from geo.metrics import parcel_metrics

DEFAULT_GAP_M = 30.0


def adjacency(geoms_m: np.ndarray, park_ids: np.ndarray, gap_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of parcels of the same park closer than ``gap_m`` metres.

    One STRtree query of the bounding boxes grown by the gap gives every possible pair; the exact
    distance is then tested once per pair kept (``i < j``, same park) in one vectorised call —
    half the distance tests of a ``dwithin`` query, which tests each pair both ways.
    """
    with gc_paused():  # the grown boxes are as many new geometries as parcels (geo.gcpause)
        tree = shapely.STRtree(geoms_m)
        x0, y0, x1, y1 = shapely.bounds(geoms_m).T
        i, j = tree.query(shapely.box(x0 - gap_m, y0 - gap_m, x1 + gap_m, y1 + gap_m))
    park_code = pd.factorize(park_ids)[0]  # integers compare faster than the ids over every pair
    keep = (i < j) & (park_code[i] == park_code[j])
    i, j = i[keep], j[keep]
    near = shapely.dwithin(geoms_m[i], geoms_m[j], gap_m)
    return i[near], j[near]


def component_labels(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected-component label of each of ``n`` nodes given edges ``(i, j)``."""
    from scipy.sparse import coo_matrix  # imported when blocks are built: a match often needs none
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def close_gaps(geoms_m: np.ndarray, groups: list[np.ndarray], gap_m: float) -> np.ndarray:
    """One geometry per group of positions into ``geoms_m``: the union with gaps < ``gap_m`` closed.

    Only the pieces of some group are buffered, all in one call. The union of a lone piece is that
    piece, so only groups of two or more are unioned: one vectorised ``union_all`` per group size
    over a table of the groups of that size (each group's union built from the same pieces in the
    same order as one call per group would, at a fraction of the per-call cost).
    """
    half = gap_m / 2.0
    sizes = np.fromiter(map(len, groups), dtype=np.intp, count=len(groups))
    merged = np.empty(len(groups), dtype=object)
    if len(groups) == 0:
        return merged
    pieces = np.concatenate(groups).astype(np.intp)
    used, position = np.unique(pieces, return_inverse=True)
    grown = shapely.buffer(geoms_m[used], half, join_style="mitre")[position]  # group by group, in order
    starts = np.cumsum(sizes) - sizes
    for size in np.unique(sizes):
        which = np.flatnonzero(sizes == size)
        table = grown[starts[which][:, None] + np.arange(size)]
        merged[which] = table[:, 0] if size == 1 else shapely.union_all(table, axis=1)
    return shapely.buffer(merged, -half, join_style="mitre")


BLOCK_COLUMNS = ["block_id", "park_id", "parcel_ids", "parcel_count", "area_mu"]


def _blocks(parcels: gpd.GeoDataFrame, gap_m: float, min_area_mu: float | None):
    """The blocks' table (largest first, without ``block_id``; its index: the block's label), the
    parcels' positions in ``parcels`` sorted by block and where each block's start among them (by
    label), the metric CRS and the parcels projected to it."""
    area_mu = (parcels.area_mu if "area_mu" in parcels.columns else parcel_metrics(parcels).area_mu).to_numpy()
    # Projected parcels and id lists: a million new objects at 1M parcels, which would set off full
    # collections over every object of the process (geo.gcpause).
    with gc_paused():
        metric_crs = projected_crs_for(parcels)  # one Gauss-Krüger zone for the whole frame
        geoms = reproject(parcels.geometry.values, parcels.crs, metric_crs)
        parks = parcels.park_id.to_numpy(dtype=object)
        labels = component_labels(len(parcels), *adjacency(geoms, parks, gap_m))
        # Each block's members in their order in ``parcels`` (a stable sort by label), its ids as slices
        # of one list, its park from its first member and its area as the sum of its parcels' (in that
        # order): no Python aggregation and no array per block (np.split made two per block), no geometry.
        order = np.argsort(labels, kind="stable")
        sizes = np.bincount(labels)
        ends = np.cumsum(sizes)
        starts = ends - sizes
        ids = parcels.parcel_id.to_numpy(dtype=object)[order].tolist()
        out = pd.DataFrame({
            "park_id": parks[order[starts]],
            "parcel_ids": [ids[a:b] for a, b in zip(starts.tolist(), ends.tolist())],
            "parcel_count": sizes,
            "area_mu": pd.Series(area_mu).groupby(labels, sort=True).sum().to_numpy(),
        })
    if min_area_mu is not None:
        out = out.loc[out.area_mu >= min_area_mu]
    out = out.sort_values("area_mu", ascending=False)
    return out, order, starts, metric_crs, geoms


def contiguous_blocks(parcels: gpd.GeoDataFrame, gap_m: float = DEFAULT_GAP_M, *,
                      min_area_mu: float | None = None) -> pd.DataFrame:
    """Contiguous blocks of adjacent parcels without their geometries: what a table of blocks needs.

    The same blocks, in the same order, as :func:`adjacent_blocks` (``block_id``, ``park_id``,
    ``parcel_ids``, ``parcel_count``, ``area_mu``), found from the adjacency of the parcels and
    their stored areas alone; :func:`block_geometries` draws the ones shown.
    """
    if len(parcels) == 0:
        return pd.DataFrame(columns=BLOCK_COLUMNS)
    out = _blocks(parcels, gap_m, min_area_mu)[0].reset_index(drop=True)
    out.insert(0, "block_id", [f"B{k + 1}" for k in range(len(out))])
    return out


def block_geometries(parcels: gpd.GeoDataFrame, blocks: pd.DataFrame, gap_m: float = DEFAULT_GAP_M) -> gpd.GeoSeries:
    """The geometries of ``blocks`` (rows of :func:`contiguous_blocks` of the same ``parcels`` and gap),
    as :func:`adjacent_blocks` draws them: only these blocks' parcels are projected and unioned."""
    index = blocks.index
    if len(blocks) == 0:
        return gpd.GeoSeries([], index=index, crs=parcels.crs)
    metric_crs = projected_crs_for(parcels)  # the zone of the whole frame, as the blocks were found in
    flat = pd.Index(parcels.parcel_id.to_numpy(dtype=object)).get_indexer(
        np.concatenate([np.asarray(ids, dtype=object) for ids in blocks.parcel_ids]))
    if (flat < 0).any():
        raise ValueError("blocks of other parcels: each block's parcel_ids must be parcels of the frame")
    used, local = np.unique(flat, return_inverse=True)
    with gc_paused():
        geoms = reproject(parcels.geometry.values[used], parcels.crs, metric_crs)
        groups = np.split(local, np.cumsum(blocks.parcel_count.to_numpy(dtype=int))[:-1])
        combined = close_gaps(geoms, groups, gap_m)
    return gpd.GeoSeries(reproject(combined, metric_crs, parcels.crs), index=index, crs=parcels.crs)


def adjacent_blocks(parcels: gpd.GeoDataFrame, gap_m: float = DEFAULT_GAP_M, *,
                    min_area_mu: float | None = None) -> gpd.GeoDataFrame:
    """Contiguous blocks of adjacent parcels, with combined geometry and area.

    Parameters
    ----------
    parcels : GeoDataFrame
        The parcels to group, typically the available ones (``geo.availability``); with or
        without the metric columns of :func:`geo.metrics.with_metrics`.
    gap_m : float
        Parcels of the same park closer than this many metres belong to one block.
    min_area_mu : float, optional
        Keep only blocks of at least this combined area in 亩.

    Returns
    -------
    GeoDataFrame
        One row per block, largest first: ``block_id``, ``park_id``, ``parcel_ids`` (list),
        ``parcel_count``, ``area_mu`` (sum of the parcels' areas) and the combined geometry
        in the parcels' CRS. A lone parcel is a block of one. Every block's geometry is built
        (unions and buffers: most of the time); :func:`contiguous_blocks` gives the same table
        without them, and :func:`block_geometries` the geometries of the blocks shown.
    """
    if len(parcels) == 0:
        return gpd.GeoDataFrame(columns=BLOCK_COLUMNS, geometry=[], crs=parcels.crs)
    out, order, starts, metric_crs, geoms = _blocks(parcels, gap_m, min_area_mu)
    first, count = starts[out.index], out.parcel_count.to_numpy()
    with gc_paused():  # the members' lists, the grown pieces and unions (geo.gcpause)
        combined = close_gaps(geoms, [order[a:a + k] for a, k in zip(first.tolist(), count.tolist())], gap_m)
        frame = gpd.GeoDataFrame(out.reset_index(drop=True),
                                 geometry=reproject(combined, metric_crs, parcels.crs), crs=parcels.crs)
    frame.insert(0, "block_id", [f"B{k + 1}" for k in range(len(frame))])
    return frame


@dataclass(frozen=True)
class GrownBlock:
    """A block grown to meet a demand: positions into the input arrays, its area and fill."""

    members: tuple[int, ...]
    area_mu: float
    fill: float


def grow_blocks(geoms_m: np.ndarray, park_ids: np.ndarray, area_mu: np.ndarray, *, min_mu: float,
                max_mu: float, gap_m: float, max_parcels: int = 12, seeds_per_component: int = 4) -> list[GrownBlock]:
    """Assemble, in each contiguous area big enough, one compact block meeting the demand.

    From each of the largest ``seeds_per_component`` parcels of a component, add the
    adjacent parcel that keeps the block's bounding box fullest (preferring parcels that do
    not overshoot ``max_mu``) until the block reaches ``min_mu``. Of the seeds' results within
    ``[min_mu, max_mu]`` the one with the least waste times the best fill is kept.

    The growth is a short loop per seed (greedy region growing has no vectorised form); each
    step scores the whole frontier at once.
    """
    n = len(geoms_m)
    if n == 0:
        return []
    i, j = adjacency(geoms_m, park_ids, gap_m)
    labels = component_labels(n, i, j)
    comp_area = np.bincount(labels, weights=area_mu)
    comp_count = np.bincount(labels)
    big = np.flatnonzero(comp_area >= min_mu)
    if len(big) == 0:
        return []
    from scipy.sparse import coo_matrix

    neighbours = coo_matrix((np.ones(2 * len(i), dtype=bool), (np.r_[i, j], np.r_[j, i])), shape=(n, n)).tocsr()
    bounds = shapely.bounds(geoms_m)
    area_m2 = shapely.area(geoms_m)
    order = np.argsort(labels, kind="stable")
    ends = np.cumsum(comp_count)
    blocks = []
    for label in big:
        members = order[ends[label] - comp_count[label]:ends[label]]  # only the big components' (no split of all)
        seeds = members[np.argsort(-area_mu[members], kind="stable")[:seeds_per_component]]
        best, best_key = None, -np.inf
        for seed in seeds:
            grown = _grow(seed, neighbours, bounds, area_m2, area_mu, min_mu, max_mu, max_parcels)
            if grown is None:
                continue
            key = (min_mu / grown.area_mu) * grown.fill
            if key > best_key:
                best, best_key = grown, key
        if best is not None:
            blocks.append(best)
    return blocks


def _grow(seed, neighbours, bounds, area_m2, area_mu, min_mu, max_mu, max_parcels) -> GrownBlock | None:
    """Grow one block from ``seed``; ``None`` when it cannot reach the demand within the limits."""
    def adjacent(k):
        return neighbours.indices[neighbours.indptr[k]:neighbours.indptr[k + 1]].tolist()

    block = [int(seed)]
    frontier = set(adjacent(seed))
    total_mu, total_m2 = float(area_mu[seed]), float(area_m2[seed])
    x0, y0, x1, y1 = bounds[seed]
    while total_mu < min_mu and frontier and len(block) < max_parcels:
        cand = np.fromiter(frontier, dtype=np.int64, count=len(frontier))
        b = bounds[cand]
        nx0, ny0 = np.minimum(b[:, 0], x0), np.minimum(b[:, 1], y0)
        nx1, ny1 = np.maximum(b[:, 2], x1), np.maximum(b[:, 3], y1)
        fill = (total_m2 + area_m2[cand]) / ((nx1 - nx0) * (ny1 - ny0))
        overshoot = total_mu + area_mu[cand] > max_mu
        pick = int(np.lexsort((-fill, overshoot))[0])
        chosen = int(cand[pick])
        block.append(chosen)
        frontier.discard(chosen)
        frontier.update(set(adjacent(chosen)).difference(block))
        total_mu += float(area_mu[chosen])
        total_m2 += float(area_m2[chosen])
        x0, y0, x1, y1 = nx0[pick], ny0[pick], nx1[pick], ny1[pick]
    if len(block) < 2 or not (min_mu <= total_mu <= max_mu):
        return None
    return GrownBlock(tuple(block), total_mu, total_m2 / ((x1 - x0) * (y1 - y0)))
