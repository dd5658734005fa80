"""Industrial chains: trees of segments and nodes, who sits on them, where the gaps are.

A chain (``data/standards/chains.csv``) is a tree of nodes (:data:`~geo.schema.CHAIN_NODE_COLUMNS`):
segments (upstream materials and parts → midstream components → downstream assembly and
services, ``parent`` empty) and their nodes, each with the GB/T 4754-2017 codes that
typically belong to it and the typical land demand, plot ratio, nuisance class, power and
per-亩 figures of a plant of that node. The shipped trees are ``data/standards/chain_nodes.csv``
(typical values, illustrative — see ``data/README.md``); a store that imported its own trees
(``chains import``) keeps them in its ``chain_nodes`` table (both backends).

Placing enterprises (:func:`place_enterprises`): an enterprise listed in the store's
``chain_placements`` table sits on the nodes listed there; otherwise it sits, in each chain
(its own ``chain`` when set), on the node whose code is the longest prefix of its industry
code — or, for a division-level code such as ``38``, on the first node (tree order) whose
code starts with it. Its location is the centroid of its largest parcel.

Gaps (:meth:`ChainMap.status`): a node is a gap when no enterprise of it lies within
``radius_km`` (default 5 km) of one of the chain's leaders (链主, table ``chain_leaders``) or
inside the park asked for; with no leader, when none lies in the park (or, without a park,
anywhere). A node is thin when it has fewer than ``thin_below`` such enterprises. Distances
are straight-line, in the metric CRS of the enterprises' centre (:func:`geo.crs.metric_crs`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from geo.auth import User
from geo.crs import CGCS2000, metric_crs
from geo.enterprise import enterprise_parcels, read_enterprises
from geo.errors import NotFoundError, ParkAtlasError
from geo.schema import CHAIN_NODE_COLUMNS, split_list
from geo.standards import DEFAULT_STANDARDS_DIR, load_standards
from geo.store.tables import CHAIN_LEADERS, CHAIN_NODES, CHAIN_PLACEMENTS, Change, apply_changes, read_table

DEFAULT_NODES = DEFAULT_STANDARDS_DIR / "chain_nodes.csv"
DEFAULT_RADIUS_KM = 5.0
DEFAULT_THIN_BELOW = 2
#: A typical plant's building coefficient (the national minimum is 30 %): used for node demands.
TYPICAL_BUILDING_COEFFICIENT = 0.4
STATUS_COLUMNS = ["node_id", "parent", "chain", "name_zh", "name_en", "enterprise_count", "gap", "thin", "nearest_km"]


# ------------------------------------------------------------------------------ trees
def check_nodes(frame: pd.DataFrame, chains=None) -> pd.DataFrame:
    """A chain tree file's rows, typed; raises one line naming the first bad row.

    ``chains`` are the known chain codes (default ``data/standards/chains.csv``).
    """
    missing = [c for c in ("node_id", "chain", "name_zh", "name_en") if c not in frame.columns]
    if missing:
        raise ParkAtlasError(f"chain tree lacks column {missing[0]!r}; columns: {', '.join(CHAIN_NODE_COLUMNS)}")
    table = frame.reindex(columns=list(CHAIN_NODE_COLUMNS)).astype(object).where(frame.notna(), None)
    known = set(load_standards().chains.chain if chains is None else chains)
    ids = table.node_id.astype(str).str.strip()
    for row, (node, chain, parent) in enumerate(zip(ids, table.chain.astype(str), table.parent.fillna("")), start=2):
        if not node or node == "None":
            raise ParkAtlasError(f"row {row}: node_id is empty")
        if chain not in known:
            raise ParkAtlasError(f"row {row}: unknown chain {chain!r} (see data/standards/chains.csv)")
        if parent and parent not in set(ids):
            raise ParkAtlasError(f"row {row}: parent {parent!r} of {node} is not a node of the file")
    if ids.duplicated().any():
        raise ParkAtlasError(f"node_id {ids[ids.duplicated()].iloc[0]!r} appears twice")
    table["node_id"] = ids
    table["parent"] = table.parent.fillna("").astype(str)
    for column, dtype in CHAIN_NODE_COLUMNS.items():
        if dtype in ("float64", "Int64"):
            values = pd.to_numeric(table[column].replace("", None), errors="coerce")
            bad = values.isna() & table[column].notna() & (table[column].astype(str) != "")
            if bad.any():
                raise ParkAtlasError(f"row {int(np.flatnonzero(bad)[0]) + 2}: {column} "
                                     f"{table[column][bad].iloc[0]!r} is not a number")
            table[column] = values
    lo, hi = table.land_mu_min, table.land_mu_max
    if (lo > hi).any():
        node = table.node_id[lo > hi].iloc[0]
        raise ParkAtlasError(f"node {node}: land_mu_min is larger than land_mu_max")
    table["industry_codes_2017"] = table.industry_codes_2017.fillna("").astype(str)
    return table.astype(CHAIN_NODE_COLUMNS).reset_index(drop=True)


def load_chain_nodes(path: str | Path | None = None) -> pd.DataFrame:
    """The chain trees of a CSV file (default: the shipped ``data/standards/chain_nodes.csv``)."""
    frame = pd.read_csv(path or DEFAULT_NODES, comment="#", dtype=str, keep_default_na=False)
    return check_nodes(frame)


def read_chain_nodes(store) -> pd.DataFrame:
    """The store's chain trees, or the shipped ones when the store has none."""
    stored = read_table(store, CHAIN_NODES)
    return load_chain_nodes() if stored.empty else stored


def import_chain_nodes(store, frame: pd.DataFrame, *, user: User) -> dict:
    """Replace the trees of the chains in ``frame`` (other chains stay), audited, all or nothing (planner)."""
    new = check_nodes(frame)
    current = read_chain_nodes(store)
    kept = current[~current.chain.isin(set(new.chain))]
    if set(kept.node_id) & set(new.node_id):
        raise ParkAtlasError(f"node_id {sorted(set(kept.node_id) & set(new.node_id))[0]!r} belongs to another chain")
    stored = read_table(store, CHAIN_NODES)
    tree = pd.concat([kept, new], ignore_index=True)
    gone = [(k,) for k in sorted(set(stored.node_id) - set(tree.node_id))]
    return apply_changes(store, [Change(CHAIN_NODES, upserts=tree, deletes=gone)], user=user, role="planner",
                         action="chain_import")["chain_nodes"]


def leaves(nodes: pd.DataFrame) -> pd.Series:
    """True for nodes without children (the nodes enterprises are placed on)."""
    return ~nodes.node_id.isin(set(nodes.parent))


def nodes_under(nodes: pd.DataFrame, node_id: str) -> list[str]:
    """The leaves under ``node_id`` (itself when it is a leaf; a segment's nodes), in tree order."""
    leaf = nodes[leaves(nodes)]
    return leaf.node_id[(leaf.node_id == node_id) | (leaf.parent == node_id)].tolist()


# ------------------------------------------------------------------------------ leaders and placements
def read_leaders(store) -> pd.DataFrame:
    """The chain leaders (``chain``, ``uscc``)."""
    return read_table(store, CHAIN_LEADERS)


def set_leader(store, chain: str, uscc: str, *, user: User, remove: bool = False) -> dict:
    """Mark (or with ``remove`` unmark) enterprise ``uscc`` as a leader of ``chain`` (planner)."""
    if chain not in set(read_chain_nodes(store).chain):
        raise NotFoundError(f"unknown chain {chain!r}; see `chains list`")
    if uscc not in set(read_enterprises(store).uscc):
        raise NotFoundError(f"no enterprise with uscc {uscc!r}; import it first (`enterprises import`)")
    row = pd.DataFrame({"chain": [chain], "uscc": [uscc]})
    change = Change(CHAIN_LEADERS, deletes=[(chain, uscc)]) if remove else Change(CHAIN_LEADERS, upserts=row)
    return apply_changes(store, [change], user=user, role="planner", action="chain_leader")["chain_leaders"]


def read_placements(store) -> pd.DataFrame:
    """Explicit placements (``uscc``, ``node_id``)."""
    return read_table(store, CHAIN_PLACEMENTS)


def set_placements(store, placements: pd.DataFrame, *, user: User) -> dict:
    """Place enterprises on nodes explicitly (replaces each listed enterprise's nodes; planner)."""
    nodes = read_chain_nodes(store)
    unknown = sorted(set(placements.node_id) - set(nodes.node_id[leaves(nodes)]))
    if unknown:
        raise NotFoundError(f"unknown node {unknown[0]!r}; see `chains show CHAIN`")
    who = sorted(set(placements.uscc))
    stored = read_placements(store)
    gone = [tuple(r) for r in stored[stored.uscc.isin(who)][["uscc", "node_id"]].itertuples(index=False)]
    return apply_changes(store, [Change(CHAIN_PLACEMENTS, deletes=gone, upserts=placements)], user=user,
                         role="planner", action="chain_placement")["chain_placements"]


def place_enterprises(enterprises: pd.DataFrame, nodes: pd.DataFrame, placements: pd.DataFrame | None = None
                      ) -> pd.DataFrame:
    """One row per (enterprise, node): ``uscc``, ``node_id``, ``chain``, ``how`` (explicit|industry_code)."""
    leaf = nodes[leaves(nodes)]
    chain_of = dict(zip(leaf.node_id, leaf.chain))
    explicit = (placements if placements is not None else pd.DataFrame(columns=["uscc", "node_id"]))
    explicit = explicit[explicit.node_id.isin(set(chain_of))]
    rows = [pd.DataFrame({"uscc": explicit.uscc.astype(object), "node_id": explicit.node_id.astype(object),
                          "how": "explicit"})]
    rest = enterprises[~enterprises.uscc.isin(set(explicit.uscc))]
    # (node, code) pairs in tree order; per enterprise and chain the longest prefix wins, then tree order.
    pairs = [(n, c, code) for n, c, codes in zip(leaf.node_id, leaf.chain, leaf.industry_codes_2017)
             for code in split_list(codes)]
    if pairs and len(rest):
        codes = rest.industry_code.fillna("").astype(str).to_numpy(dtype=str)
        own = rest.chain.fillna("").astype(str).to_numpy(dtype=object)
        found = []
        for order, (node, chain, code) in enumerate(pairs):  # a loop over the tree's codes, not enterprises
            prefix = np.char.startswith(codes, code)  # the node's code is a prefix of the enterprise's
            division = np.char.startswith(np.full(len(codes), code), codes) & (np.char.str_len(codes) > 0)
            hit = np.flatnonzero((prefix | division) & ((own == "") | (own == chain)))
            found.append(pd.DataFrame({"i": hit, "chain": chain, "node_id": node,
                                       "score": np.where(prefix[hit], len(code), 0), "order": order}))
        f = pd.concat(found, ignore_index=True)
        if len(f):
            f = f.sort_values(["i", "chain", "score", "order"], ascending=[True, True, False, True])
            f = f.drop_duplicates(["i", "chain"])
            rows.append(pd.DataFrame({"uscc": rest.uscc.to_numpy(dtype=object)[f.i.to_numpy()],
                                      "node_id": f.node_id.to_numpy(dtype=object), "how": "industry_code"}))
    placed = pd.concat(rows, ignore_index=True)
    placed["chain"] = placed.node_id.map(chain_of)
    return placed[["uscc", "node_id", "chain", "how"]].reset_index(drop=True)


def enterprise_points(enterprises: pd.DataFrame, parcels: pd.DataFrame) -> pd.DataFrame:
    """Each enterprise's location (centroid of its largest parcel), indexed by ``uscc``.

    Columns ``lon``, ``lat`` (CGCS2000), ``park_id``; enterprises without a known parcel are left out.
    """
    pairs = enterprise_parcels(enterprises)
    where = pd.Index(parcels.parcel_id.to_numpy(dtype=object)).get_indexer(pairs.parcel_id.to_numpy(dtype=object))
    pairs, where = pairs[where >= 0], where[where >= 0]
    geoms = parcels.geometry.to_crs(CGCS2000).values if parcels.crs is not None else parcels.geometry.values
    area = (parcels.area_mu.to_numpy(dtype=float) if "area_mu" in parcels.columns
            else shapely.area(np.asarray(geoms)))[where]
    order = np.lexsort((-area, pairs.uscc.to_numpy(dtype=object).astype(str)))
    first = pairs.iloc[order].drop_duplicates("uscc")
    at = where[order][~pairs.iloc[order].uscc.duplicated().to_numpy()]
    centres = shapely.centroid(np.asarray(geoms)[at])
    return pd.DataFrame({"lon": shapely.get_x(centres), "lat": shapely.get_y(centres),
                         "park_id": parcels.park_id.to_numpy(dtype=object)[at]},
                        index=pd.Index(first.uscc.to_numpy(dtype=object), name="uscc"))


# ------------------------------------------------------------------------------ the chain's state
@dataclass
class ChainMap:
    """Everything the gaps need, read once: trees, placed enterprises with locations, leaders."""

    nodes: pd.DataFrame
    placed: pd.DataFrame   # uscc, node_id, chain, how, name, lon, lat, park_id, x, y (metres)
    leaders: pd.DataFrame  # chain, uscc, name, lon, lat, park_id, x, y
    crs: str

    @classmethod
    def build(cls, nodes, enterprises, parcels, leaders, placements=None) -> ChainMap:
        points = enterprise_points(enterprises, parcels)
        names = pd.Series(enterprises.name.to_numpy(dtype=object), index=enterprises.uscc.to_numpy(dtype=object))
        crs = metric_crs(float(points.lon.mean()), float(points.lat.mean())) if len(points) else "EPSG:4547"
        to_m = Transformer.from_crs(CGCS2000, crs, always_xy=True)

        def locate(frame):
            frame = frame.join(points, on="uscc", how="inner")
            frame["name"] = frame.uscc.map(names)
            frame["x"], frame["y"] = to_m.transform(frame.lon.to_numpy(), frame.lat.to_numpy())
            return frame.reset_index(drop=True)

        placed = locate(place_enterprises(enterprises, nodes, placements))
        leaders = locate(leaders[["chain", "uscc"]].astype(object))
        return cls(nodes, placed, leaders, crs)

    @classmethod
    def of_store(cls, store, parcels=None) -> ChainMap:
        parcels = store.read_parcels() if parcels is None else parcels
        return cls.build(read_chain_nodes(store), read_enterprises(store), parcels, read_leaders(store),
                         read_placements(store))

    def chains(self) -> list[str]:
        return list(dict.fromkeys(self.nodes.chain))

    def status(self, chain: str, park_id=None, radius_km: float = DEFAULT_RADIUS_KM,
               thin_below: int = DEFAULT_THIN_BELOW) -> pd.DataFrame:
        """The chain's nodes in tree order (:data:`STATUS_COLUMNS`); segments add up their nodes.

        ``park_id`` is the area that counts besides the radius: a park id, or several (a county's
        parks, :func:`county_parks`).
        """
        if not (self.nodes.chain == chain).any():
            raise NotFoundError(f"unknown chain {chain!r}; see `chains list`")
        return self._status([chain], park_id, radius_km, thin_below)

    def _status(self, chains: list[str] | None, park_id, radius_km: float, thin_below: int) -> pd.DataFrame:
        """:meth:`status` of several chains (``None``: every chain) in one pass, chain after chain."""
        nodes = self.nodes if chains is None else self.nodes[self.nodes.chain.isin(chains)]
        placed = self.placed if chains is None else self.placed[self.placed.chain.isin(chains)]
        leaders = self.leaders[self.leaders.chain.isin(set(nodes.chain))]
        # Each enterprise's distance to the nearest leader of its own chain: one row per (enterprise,
        # leader of its chain) pair, then the smallest per enterprise.
        pairs = pd.DataFrame({"row": np.arange(len(placed)), "chain": placed.chain.to_numpy(dtype=object)}).merge(
            pd.DataFrame({"chain": leaders.chain.to_numpy(dtype=object), "lx": leaders.x.to_numpy(dtype=float),
                          "ly": leaders.y.to_numpy(dtype=float)}), on="chain")
        row = pairs.row.to_numpy()
        km = np.hypot(placed.x.to_numpy(dtype=float)[row] - pairs.lx.to_numpy(),
                      placed.y.to_numpy(dtype=float)[row] - pairs.ly.to_numpy()) / 1000.0
        distance_km = np.full(len(placed), np.inf)
        np.minimum.at(distance_km, row, km)
        distance_km[np.isinf(distance_km)] = np.nan  # a chain without a leader
        scope = {park_id} if isinstance(park_id, str) else set(park_id or ())
        near = distance_km <= radius_km
        if not scope:  # no leader, no park: anywhere in the city counts
            near |= ~placed.chain.isin(set(leaders.chain)).to_numpy(dtype=bool)
        in_park = placed.park_id.isin(scope).to_numpy(dtype=bool)
        frame = pd.DataFrame({"node_id": placed.node_id.to_numpy(dtype=object), "counted": near | in_park,
                              "km": distance_km})
        counts = frame.groupby("node_id").counted.sum()
        nearest = frame.groupby("node_id").km.min()
        order = nodes.chain.map({c: i for i, c in enumerate(dict.fromkeys(nodes.chain))}).to_numpy()
        nodes = nodes.iloc[np.argsort(order, kind="stable")]  # chain after chain, each in tree order
        out = nodes[["node_id", "parent", "chain", "name_zh", "name_en"]].astype(object).reset_index(drop=True)
        is_leaf = leaves(nodes).to_numpy(dtype=bool)
        count = out.node_id.map(counts).fillna(0).to_numpy(dtype=int).copy()
        km = out.node_id.map(nearest).to_numpy(dtype=float, na_value=np.nan).copy()
        by_parent = pd.DataFrame({"parent": out.parent[is_leaf], "count": count[is_leaf], "km": km[is_leaf]})
        segment = by_parent.groupby("parent").agg(count=("count", "sum"), km=("km", "min"))
        ids = out.node_id[~is_leaf]
        count[~is_leaf] = ids.map(segment["count"]).fillna(0).to_numpy(dtype=int)
        km[~is_leaf] = ids.map(segment["km"]).to_numpy(dtype=float, na_value=np.nan)
        out["enterprise_count"], out["nearest_km"] = count, km
        out["gap"] = is_leaf & (count == 0)
        out["thin"] = is_leaf & (count > 0) & (count < thin_below)
        return out[STATUS_COLUMNS]

    def gaps(self, chain: str | None = None, park_id: str | None = None, radius_km: float = DEFAULT_RADIUS_KM,
             thin_below: int = DEFAULT_THIN_BELOW, *, thin: bool = False) -> pd.DataFrame:
        """Gap nodes (and with ``thin`` the thin ones) of one chain or every chain, with the node's
        typical demand; ``status`` is ``gap`` or ``thin``, ``enterprise_count`` what the node has."""
        status = self.status(chain, park_id, radius_km, thin_below) if chain else self._status(
            None, park_id, radius_km, thin_below)
        wanted = status[status.gap | (status.thin & thin)].copy()
        wanted["status"] = np.where(wanted.gap, "gap", "thin")
        demand = self.nodes.set_index("node_id")[["industry_codes_2017", "land_mu_min", "land_mu_max", "plot_ratio",
                                                  "nuisance_class", "power_kva"]]
        return wanted.drop(columns=["gap", "thin"]).join(demand, on="node_id").reset_index(drop=True)


def county_parks(parks: pd.DataFrame, county: str) -> list[str]:
    """The parks of a county (``district_code``), for a county's gaps; raises one line when it has none."""
    ids = parks.park_id[parks.district_code.astype(str) == str(county)].tolist()
    if not ids:
        raise NotFoundError(f"no park lies in county {county!r}; see `python cli.py parks` (district_code)")
    return ids


# ------------------------------------------------------------------------------ ready land
def node_project(node: pd.Series | dict, *, name: str | None = None, land_mu: float | None = None,
                 investment_wan: float | None = None) -> dict:
    """The match request of a node's typical plant (or a prospect's own land and investment).

    The project's industry code is the division (two digits; 291/292 kept) of the node's first
    code, its chain the node's chain; investment, output and tax are the node's per-亩 figures
    times the upper land demand.
    """
    node = dict(node)
    codes = split_list(node.get("industry_codes_2017"))
    if not codes or pd.isna(node.get("land_mu_max")):
        raise ParkAtlasError(f"node {node['node_id']} has no industry code or land demand: it is a segment or "
                             "lacks its typical values (data/standards/chain_nodes.csv)")
    code = codes[0][:3] if codes[0][:3] in ("291", "292") else codes[0][:2]
    lo, hi = float(node["land_mu_min"]), float(node["land_mu_max"])
    if land_mu is not None and not pd.isna(land_mu):
        lo = hi = float(land_mu)
    request = {
        "name": name or str(node["name_zh"]), "industry_code": code, "chain": node["chain"],
        "land_mu_min": lo, "land_mu_max": hi,
        "investment_wan": float(investment_wan) if investment_wan is not None and not pd.isna(investment_wan)
        else float(node["investment_wan_per_mu"]) * hi,
        "output_wan": float(node["output_wan_per_mu"]) * hi, "tax_wan": float(node["tax_wan_per_mu"]) * hi,
        "plot_ratio": float(node["plot_ratio"]), "building_coefficient": TYPICAL_BUILDING_COEFFICIENT,
    }
    if not pd.isna(node.get("nuisance_class")):
        request["nuisance_class"] = int(node["nuisance_class"])
    if not pd.isna(node.get("power_kva")):
        request["needs"] = {"power_kva": float(node["power_kva"])}
    return request


def node_row(nodes: pd.DataFrame, node_id: str) -> pd.Series:
    """The node ``node_id`` of ``nodes`` (raises one line when unknown)."""
    hit = nodes[nodes.node_id == node_id]
    if hit.empty:
        raise NotFoundError(f"unknown node {node_id!r}; see `chains show CHAIN`")
    return hit.iloc[0]


def ready_land(parcels, parks, node, *, top: int = 10, park_id: str | None = None, chain_thresholds=None,
               prepared=None, **request):
    """The matcher's ranking for the node's typical demand (:func:`geo.matching.match`; the city's
    ``chain_thresholds``, :func:`geo.city.read_chain_thresholds`, apply to the node's chain;
    ``prepared``: the parcels' :class:`geo.matching.PreparedParcels`, when kept)."""
    from geo.matching import match

    return match(parcels, parks, node_project(node, **request), top=top, park_id=park_id,
                 chain_thresholds=chain_thresholds, prepared=prepared)


def with_ready_land(gaps: pd.DataFrame, nodes: pd.DataFrame, parcels, parks, *, park_id: str | None = None,
                    chain_thresholds=None, progress=None) -> pd.DataFrame:
    """``gaps`` (:meth:`ChainMap.gaps`) with the ready land of each node: ``ready_land`` (how many
    candidates — parcels or assembled blocks — pass every check of the matcher for the node's
    typical demand) and the best one's ``best_park_id``, ``best_parcel_ids`` and ``best_area_mu``.

    ``progress(done, total)`` is called after each node (one match per node, all on parcels
    prepared once: :class:`geo.matching.PreparedParcels`).
    """
    from geo.matching import PreparedParcels

    prepared = PreparedParcels(parcels)
    found = {"ready_land": [], "best_park_id": [], "best_parcel_ids": [], "best_area_mu": []}
    for done, node_id in enumerate(gaps.node_id, start=1):  # one match per node: a loop over nodes
        result = ready_land(parcels, parks, node_row(nodes, node_id), top=1, park_id=park_id,
                            chain_thresholds=chain_thresholds, prepared=prepared)
        best = result.candidates.iloc[0] if len(result.candidates) else None
        found["ready_land"].append(result.eligible)
        found["best_park_id"].append(None if best is None else best.park_id)
        found["best_parcel_ids"].append(None if best is None else ";".join(best.parcel_ids))
        found["best_area_mu"].append(np.nan if best is None else round(float(best.area_mu), 2))
        if progress is not None:
            progress(done, len(gaps))
    return gaps.assign(**found)


__all__ = ["DEFAULT_NODES", "DEFAULT_RADIUS_KM", "DEFAULT_THIN_BELOW", "STATUS_COLUMNS", "ChainMap", "check_nodes",
           "load_chain_nodes", "read_chain_nodes", "import_chain_nodes", "leaves", "nodes_under", "read_leaders", "set_leader",
           "read_placements", "set_placements", "place_enterprises", "enterprise_points", "node_project", "node_row", "county_parks",
           "ready_land", "with_ready_land"]
