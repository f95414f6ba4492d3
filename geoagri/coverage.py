"""Coverage of zones by pump service and three-phase power, and the gaps left.

:func:`coverage` measures, per commune (and per group of zones), how many
hectares of the zones are served by pump stations, by three-phase power, by
both and by neither; :func:`gaps` returns the unserved polygons themselves
(what is missing: a pump, power or both), the "infrastructure gaps" layer of
the maps and the demand of pump-station siting.

Service areas
-------------
* **Pumps.**  Only pumps whose ``status`` is in ``pump_statuses`` (default
  ``operating``) serve.  A pump serves a disc of ``pump_radius_m`` metres, or,
  with ``pump_radius_m="served_area_ha"``, the disc whose area is the pump's own
  ``served_area_ha`` (radius ``sqrt(served_area_ha * 10_000 / pi)``; a pump
  without one serves no disc).  When ``canals`` are given, a pump also serves
  the land within ``canal_reach_m`` of the part of the canal network it
  reaches within ``network_reach_m`` metres along the canals: the lines are
  split where they cross or touch, the pump is joined to the nearest point of
  the network (that straight walk counts against ``network_reach_m``), the
  distance of every junction from the nearest pump is found with Dijkstra's
  algorithm, and each canal stretch is kept up to where the remaining distance
  runs out (partial stretches are cut at that point).  Canals that do not
  touch are not connected.  With ``canals`` and no ``pump_radius_m``, a pump
  serves only through the canals.
* **Power.**  Only power ``element == "line"`` with ``phases == 3`` and
  ``status`` in ``power_statuses`` (default ``existing``; a missing status
  counts as existing — the rule of :mod:`geoagri._power`, shared with
  siting and routing) serves: the land within
  ``power_reach_m`` of such a line.  Transformers and single-phase lines are
  ignored.

Circles and line ends are polygons with ``4 * quad_segs`` sides (default
``quad_segs=32``: a disc is 0.04 % smaller than the true circle).  A service
not given (``pumps=None`` or ``power=None``) serves nothing.

How it is fast and exact
------------------------
The two service areas are split into three disjoint regions (both, pump only,
power only) which, like the communes, are cut once into small quadtree pieces
(:mod:`geoagri._engine.pieces`).  The zones are allocated to the communes and to the
service regions separately with :func:`geoagri._engine.pieces.allocate` (no polygon
intersection for a zone wholly inside a piece or a region); a zone's area is
then split by commune and service class directly when it lies in one commune
or in one class, and only a zone that crosses both a commune border and a
service border is cut into its commune parts, which are allocated again.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import LineString, Point, box
>>> x, y = 500_000, 1_200_000  # UTM 48N, near its central meridian: 1 km² = 100 ha
>>> crs = "EPSG:32648"
>>> communes = gpd.GeoDataFrame({"commune_id": ["A"], "commune_name": ["Xã A"]},
...                             geometry=[box(x - 10, y - 10, x + 2010, y + 1010)], crs=crs)
>>> zones = gpd.GeoDataFrame({"zone_id": ["z1"], "zone_kind": ["linkage"]},
...                          geometry=[box(x, y, x + 2000, y + 1000)], crs=crs)
>>> power = gpd.GeoDataFrame({"power_id": ["L1"], "element": ["line"], "phases": [3]},
...                          geometry=[LineString([(x, y), (x + 2000, y)])], crs=crs)
>>> t = coverage(zones, communes=communes, power=power, power_reach_m=200)
>>> t[["commune_id", "area_ha", "power_ha", "neither_ha", "power_pct"]]
  commune_id  area_ha  power_ha  neither_ha  power_pct
0          A    200.0      40.0       160.0       20.0
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from geoagri._dask_hook import ClusterRun, is_dask, keyword_options, on_cluster
from geoagri._engine.distinct import distinct
from geoagri._engine.pages import small_pages
from geoagri._engine.pieces import (
    Pieces,
    allocate,
    cut_into_pieces,
    cut_once,
    overlap_pairs,
)
from geoagri._engine.threads import n_threads, parallel
from geoagri._engine.union import union_clusters
from geoagri._polygonal import polygonal
from geoagri._power import three_phase_lines
from geoagri.crs import metric_crs, require_layer
from geoagri.errors import GeoagriError, OptionError

__all__ = ["CLASSES", "MISSING", "ServiceCoverage", "coverage", "gaps", "roll_up_coverage",
           "service_coverage"]

log = logging.getLogger("geoagri")

#: The service classes, in the order of the regions: served by both, pump only,
#: power only, neither.
CLASSES = ("both", "pump_only", "power_only", "neither")
#: What a gap lacks, by service class (a class served by both has no gap).
MISSING = {"power_only": "pump", "pump_only": "power", "neither": "both"}

_NO_POLYGON = shapely.Polygon()


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

def _check_distance(func: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0:
        raise OptionError(
            f"{func}: {name}={value!r}; it must be a distance in metres, zero or more "
            f"(for example {name}=500)")
    return float(value)


def _statuses(value: Sequence[str] | str, func: str, name: str) -> set[str]:
    if isinstance(value, str):
        return {value}
    try:
        return {str(v) for v in value}
    except TypeError:
        raise GeoagriError(f"{func}: {name}={value!r}; give a status or a list of statuses, "
                           f"e.g. {name}=('operating',)") from None


# --------------------------------------------------------------------------
# Service areas
# --------------------------------------------------------------------------

def _canal_edges(lines: np.ndarray) -> np.ndarray:
    """The lines split where they cross or touch (the edges of the canal graph)."""
    noded = shapely.node(shapely.GeometryCollection(list(lines)))
    edges = shapely.get_parts(noded)
    return edges[shapely.length(edges) > 0]


def _node_ids(edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    start = shapely.get_coordinates(shapely.get_point(edges, 0))
    end = shapely.get_coordinates(shapely.get_point(edges, -1))
    xy = np.round(np.concatenate([start, end]), 3)
    _, ids = np.unique(xy, axis=0, return_inverse=True)
    ids = ids.ravel()
    return ids[:len(edges)], ids[len(edges):]


def _substring(line: shapely.LineString, a: float, b: float) -> shapely.LineString:
    from shapely.ops import substring
    return substring(line, a, b)


def _network_reach(pumps: np.ndarray, lines: np.ndarray, reach_m: float) -> np.ndarray:
    """The stretches of canal within ``reach_m`` of a pump along the network."""
    edges = _canal_edges(lines)
    if not len(edges) or not len(pumps):
        return np.zeros(0, dtype=object)
    # join each pump to its nearest canal point, splitting the edge there
    tree = shapely.STRtree(edges)
    pi, ei = tree.query_nearest(pumps, all_matches=False)
    at = shapely.line_locate_point(edges[ei], pumps[pi])
    snap = shapely.distance(pumps[pi], edges[ei])
    old = edges
    cut: dict[int, list[float]] = {}
    for e, t in zip(ei.tolist(), at.tolist(), strict=True):
        cut.setdefault(e, []).append(t)
    new_edges = [edges[e] for e in range(len(edges)) if e not in cut]
    for e, ts in cut.items():
        length = edges[e].length
        stops = sorted({0.0, length, *[min(max(t, 0.0), length) for t in ts]})
        new_edges += [_substring(edges[e], a, b) for a, b in itertools.pairwise(stops)
                      if b > a]
    edges = np.array(new_edges, dtype=object)
    edges = edges[shapely.length(edges) > 0]
    u, v = _node_ids(edges)
    length = shapely.length(edges)
    start_xy = np.round(shapely.get_coordinates(shapely.get_point(edges, 0)), 3)
    end_xy = np.round(shapely.get_coordinates(shapely.get_point(edges, -1)), 3)
    node_xy = np.zeros((int(max(u.max(), v.max())) + 1, 2))
    node_xy[u], node_xy[v] = start_xy, end_xy
    # node of each pump: the rounded coordinates of its snapping point
    pt = np.round(shapely.get_coordinates(shapely.line_interpolate_point(old[ei], at)), 3)
    lookup = {tuple(xy): k for k, xy in enumerate(node_xy.tolist())}
    pump_node = np.array([lookup.get(tuple(xy), -1) for xy in pt.tolist()])
    ok = pump_node >= 0
    n = len(node_xy)
    source = n
    # canal edges both ways, the cheapest of parallel edges; the source joins the pumps
    rows = np.concatenate([u, v, np.full(ok.sum(), source)])
    cols = np.concatenate([v, u, pump_node[ok]])
    w = np.concatenate([length, length, np.maximum(snap[ok], 1e-9)])
    keep = rows != cols
    rows, cols, w = rows[keep], cols[keep], w[keep]
    key = rows.astype(np.int64) * (n + 1) + cols
    order = np.lexsort((w, key))
    first = np.r_[True, key[order][1:] != key[order][:-1]]
    sel = order[first]
    graph = coo_matrix((w[sel], (rows[sel], cols[sel])), shape=(n + 1, n + 1)).tocsr()
    dist = dijkstra(graph, directed=True, indices=source, limit=reach_m * (1 + 1e-12))
    left_u = reach_m - dist[u]
    left_v = reach_m - dist[v]
    out = []
    whole = np.isfinite(left_u) & np.isfinite(left_v) & (left_u + left_v >= length)
    out += list(edges[whole])
    for k in np.flatnonzero(~whole & ((left_u > 0) | (left_v > 0))):
        if np.isfinite(left_u[k]) and left_u[k] > 0:
            out.append(_substring(edges[k], 0.0, float(left_u[k])))
        if np.isfinite(left_v[k]) and left_v[k] > 0:
            out.append(_substring(edges[k], float(length[k] - left_v[k]), float(length[k])))
    return np.array(out, dtype=object)


def _points(gdf: gpd.GeoDataFrame, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """(point geometries, row position of each) in the metric CRS; multipoints split."""
    geoms = np.asarray(gdf.geometry.to_crs(target).array, dtype=object)
    parts, owner = shapely.get_parts(geoms, return_index=True)
    pts = shapely.get_type_id(parts) == 0
    keep = pts & ~shapely.is_empty(parts)
    return parts[keep], owner[keep]


def _lines(geoms: np.ndarray) -> np.ndarray:
    parts = shapely.get_parts(geoms)
    return parts[(shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)]


def _pump_area(pumps: gpd.GeoDataFrame | None, target: Any, *, radius: float | str | None,
               canals: gpd.GeoDataFrame | None, canal_reach_m: float | None,
               network_reach_m: float | None, statuses: set[str], quad_segs: int,
               info: dict[str, Any]) -> Any:
    if pumps is None:
        return None
    serving = pumps["status"].astype("string").isin(statuses).fillna(False).to_numpy(bool)
    info["pumps_serving"] = int(serving.sum())
    info["pumps_ignored"] = int((~serving).sum())
    pts, owner = _points(pumps[serving], target)
    areas = []
    if radius is not None and len(pts):
        if isinstance(radius, str):
            ha = pd.to_numeric(pumps.loc[serving, "served_area_ha"], errors="coerce")
            r = np.sqrt(ha.to_numpy(float)[owner] * 1e4 / math.pi)
            no = ~np.isfinite(r) | (r <= 0)
            info["pumps_without_served_area"] = len(distinct(owner[no]))
            discs = shapely.buffer(pts[~no], r[~no], quad_segs=quad_segs)
        else:
            discs = shapely.buffer(pts, radius, quad_segs=quad_segs)
        areas.append(shapely.union_all(discs))
    if canals is not None and len(pts):
        lines = _lines(np.asarray(canals.geometry.to_crs(target).array, dtype=object))
        stretches = _network_reach(pts, lines, float(network_reach_m))  # type: ignore[arg-type]
        info["canal_reached_km"] = float(shapely.length(stretches).sum() / 1e3)
        if len(stretches):
            areas.append(shapely.union_all(shapely.buffer(stretches, canal_reach_m,
                                                          quad_segs=quad_segs)))
    if len(areas) == 1:  # discs or canals alone: already a union (no second pass over it)
        return polygonal(np.array(areas, dtype=object))[0]
    return polygonal(np.array([shapely.union_all(areas)], dtype=object))[0] if areas \
        else _NO_POLYGON


def _power_area(power: gpd.GeoDataFrame | None, target: Any, *, reach_m: float | None,
                statuses: set[str], quad_segs: int, info: dict[str, Any]) -> Any:
    if power is None:
        return None
    serving = three_phase_lines(power, statuses=statuses)
    info["lines_serving"] = int(serving.sum())
    info["power_ignored"] = int((~serving).sum())
    lines = _lines(np.asarray(power.geometry[serving].to_crs(target).array, dtype=object))
    if not len(lines):
        return _NO_POLYGON
    return polygonal(np.array([shapely.union_all(
        shapely.buffer(lines, reach_m, quad_segs=quad_segs))], dtype=object))[0]


def _class_regions(pump: Any, power: Any) -> np.ndarray:
    """The three served regions, disjoint: both, pump only, power only."""
    p = _NO_POLYGON if pump is None else pump
    w = _NO_POLYGON if power is None else power
    regions = np.array([shapely.intersection(p, w), shapely.difference(p, w),
                        shapely.difference(w, p)], dtype=object)
    return polygonal(regions)


# --------------------------------------------------------------------------
# Zones and their parts
# --------------------------------------------------------------------------

def _trim(geoms: np.ndarray, codes: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """Remove from each zone what earlier zones (row order) of its group cover.

    Only the earlier zones that overlap a zone (:func:`overlap_pairs`) can cover
    any of it: each zone loses the union of those, one vectorised union per
    number of them and one difference for all, on ``threads`` threads.  (Not
    the union of all the earlier zones of its cluster, grown zone by zone: a
    cluster of 200 linkage blocks took 0.54 s that way, 205 steps.)
    """
    i, j, _ = overlap_pairs(geoms, codes, threads=threads)  # i < j: i is earlier
    out = geoms.copy()
    if not len(i):
        return out
    order = np.lexsort((i, j))  # by the later zone
    i, j = i[order], j[order]
    later, group = np.unique(j, return_inverse=True)
    _, earlier = union_clusters(geoms[i], group.ravel(), threads=threads)
    out[later] = parallel(shapely.difference, geoms[later], earlier, threads=threads,
                          min_chunk=500)
    return polygonal(out)


def _fragments(geoms: np.ndarray, pieces: Pieces, which: np.ndarray, *, threads: int = 1
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The parts of geometries ``which`` (sorted positions) in the pieces they meet.

    ``(geometry, region, fragment)`` for each fragment with area, by geometry
    and then the pieces' tree order (which does not depend on the other
    geometries asked: a subset of ``which`` gives the same rows in the same order).
    """
    qi, pj = pieces.tree.query(geoms[which])
    frag = polygonal(parallel(shapely.intersection, geoms[which[qi]], pieces.geoms[pj],
                              threads=threads, min_chunk=500))
    keep = shapely.area(frag) > 0
    return which[qi[keep]], pieces.commune[pj[keep]], frag[keep]


def _parts(geoms: np.ndarray, pieces: Pieces, g: np.ndarray, r: np.ndarray,
           nreg: int, *, fragments: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
           threads: int = 1) -> np.ndarray:
    """Geometry of each allocation row ``(g, r)``: geometry ``g`` inside region ``r``.

    Region ``nreg`` is outside every region.  A geometry with one row is itself.
    ``fragments`` are :func:`_fragments` of the geometries with several rows,
    when already cut.
    """
    out = np.empty(len(g), dtype=object)
    counts = np.bincount(g, minlength=len(geoms))
    single = counts[g] == 1
    out[single] = geoms[g[single]]
    multi = np.flatnonzero(~single)
    if not len(multi):
        return out
    gg, rr, inter = fragments if fragments is not None else _fragments(
        geoms, pieces, distinct(g[multi]), threads=threads)
    # the fragments of one geometry in one region are unioned (one vectorised call per
    # number of fragments: a call per row would wait for the GIL each time a thread
    # beside holds it); a single fragment is the part itself
    key = gg.astype(np.int64) * (nreg + 1) + rr
    keys, first, size = np.unique(key, return_index=True, return_counts=True)
    unions = inter[first]
    several = size > 1
    if several.any():
        which = np.searchsorted(keys, key)
        _, unions[several] = union_clusters(inter, np.where(several[which], which, -1),
                                            threads=threads)
    rows_key = g[multi].astype(np.int64) * (nreg + 1) + r[multi]
    inside = r[multi] < nreg
    at = np.minimum(np.searchsorted(keys, rows_key[inside]), max(len(keys) - 1, 0))
    found = keys[at] == rows_key[inside] if len(keys) else np.zeros(int(inside.sum()), bool)
    part = np.full(int(inside.sum()), _NO_POLYGON, dtype=object)
    part[found] = unions[at[found]]
    out[multi[inside]] = part
    if not inside.all():
        # outside every region: the geometry less the union of its parts inside
        rest = multi[~inside]
        owner = keys // (nreg + 1)
        label = np.where(np.isin(owner, g[rest]), owner, -1)
        around = np.full(len(geoms), shapely.union_all([]), dtype=object)
        if (label >= 0).any():
            member, merged = union_clusters(unions, label, threads=threads)
            around[owner[member]] = merged
        out[rest] = parallel(shapely.difference, geoms[g[rest]], around[g[rest]],
                             threads=threads, min_chunk=500)
    return polygonal(out)


def _allocate(geoms: np.ndarray, regions: np.ndarray, pieces: Pieces,
              threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`geoagri._engine.pieces.allocate` with one row per geometry × region (it gives
    one row per piece for the geometries it cuts)."""
    g, r, a = allocate(geoms, regions, pieces, threads=threads)
    key = g.astype(np.int64) * (len(regions) + 1) + r
    uniq, inv = np.unique(key, return_inverse=True)
    g, r = np.divmod(uniq, len(regions) + 1)
    return g, r, np.bincount(inv.ravel(), weights=a, minlength=len(uniq))


def _class_pieces(ctx: dict[str, Any]) -> tuple[np.ndarray, Pieces, np.ndarray] | None:
    """The class regions that have area, cut into pieces once per prepared context:
    ``(regions, pieces, used)`` with ``used`` their class numbers; None if none has."""
    if "class_pieces" not in ctx:
        regions = ctx["regions"]
        used = np.flatnonzero(~shapely.is_empty(regions) & (shapely.area(regions) > 0))
        cut = None
        if len(used):
            regs = regions[used].copy()
            cut = (regs, cut_into_pieces(regs, max_vertices=ctx["max_vertices"]), used)
        ctx["class_pieces"] = cut
    return ctx["class_pieces"]


def _commune_rows(ctx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The prepared zones allocated to the communes (:func:`_allocate`), once per context."""
    if "commune_rows" not in ctx:
        ctx["commune_rows"] = _allocate(ctx["geoms"], ctx["cgeoms"], ctx["cpieces"],
                                        ctx["threads"])
    return ctx["commune_rows"]


def _commune_fragments(ctx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_fragments` of the prepared zones in several communes (by
    :func:`_commune_rows`) cut at the commune pieces, once per context: the table
    needs those that also cross a service border, the gaps all of them."""
    if "commune_fragments" not in ctx:
        g1 = _commune_rows(ctx)[0]
        n1 = np.bincount(g1, minlength=len(ctx["geoms"]))
        ctx["commune_fragments"] = _fragments(ctx["geoms"], ctx["cpieces"],
                                              distinct(g1[n1[g1] > 1]),
                                              threads=ctx["threads"])
    return ctx["commune_fragments"]


def _allocate_classes(geoms: np.ndarray, ctx: dict[str, Any]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """Allocate geometries to the class regions: rows (g, class 0..3, m²) and the pieces."""
    cut = _class_pieces(ctx)
    if cut is None or not len(geoms):
        a = shapely.area(geoms)
        g = np.arange(len(geoms))
        return g, np.full(len(geoms), 3), a, None
    regs, pieces, used = cut
    g, r, a = _allocate(geoms, regs, pieces, ctx["threads"])
    cls = np.r_[used, 3][r]
    return g, cls, a, cut


def _zone_classes(ctx: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """:func:`_allocate_classes` of the prepared zones, once per context: the table
    splits them by class, and the gaps of the same context take the rows of the zones
    in one commune (their part in it is the zone itself) from here."""
    if "zone_classes" not in ctx:
        ctx["zone_classes"] = _allocate_classes(ctx["geoms"], ctx)
    return ctx["zone_classes"]


def _part_classes(parts: np.ndarray, whole: np.ndarray, ctx: dict[str, Any]
                  ) -> tuple[np.ndarray, np.ndarray, Any]:
    """Class rows ``(part, class)``, sorted, of the commune parts of the zones and the
    class pieces: a part that is a whole zone (``whole[j]`` its zone, else -1) has
    the zone's rows when the table has allocated the zones (:func:`_zone_classes`, the
    same geometry); the others are allocated here."""
    if "zone_classes" not in ctx:  # the gaps alone: allocate every part
        p, k, _, cut = _allocate_classes(parts, ctx)
        return p, k, cut
    zg, zk, _, cut = ctx["zone_classes"]
    cut_rows = np.flatnonzero(whole < 0)
    g, k, _, cut2 = _allocate_classes(parts[cut_rows], ctx)
    cut = cut if cut is not None else cut2
    # the rows of each zone in one commune, given to its part
    j = np.flatnonzero(whole >= 0)
    at = np.full(len(ctx["geoms"]), -1)
    at[whole[j]] = j
    mine = at[zg] >= 0
    p = np.concatenate([cut_rows[g], at[zg[mine]]])
    k = np.concatenate([k, zk[mine]])
    order = np.lexsort((k, p))
    return p[order], k[order], cut


# --------------------------------------------------------------------------
# The common preparation of coverage and gaps
# --------------------------------------------------------------------------

def _prepare(func: str, zones: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *,
             pumps: gpd.GeoDataFrame | None, pump_radius_m: float | str | None,
             canals: gpd.GeoDataFrame | None, canal_reach_m: float | None,
             network_reach_m: float | None, power: gpd.GeoDataFrame | None,
             power_reach_m: float | None, by: Sequence[str] | str | None,
             pump_statuses: Sequence[str] | str, power_statuses: Sequence[str] | str,
             crs: Any, province: str | None, era: str, quad_segs: int,
             threads: int | None, max_vertices: int) -> dict[str, Any]:
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    require_layer(zones, name="zones", func=func, columns=by)
    require_layer(communes, name="communes", func=func, columns=["commune_id", "commune_name"])
    if pumps is not None:
        need = ["status"] + (["served_area_ha"] if isinstance(pump_radius_m, str) else [])
        require_layer(pumps, name="pumps", func=func, columns=need)
        if pump_radius_m is None and canals is None:
            raise GeoagriError(
                f"{func}: pumps are given but not how far they serve; pass pump_radius_m= "
                "(metres, or 'served_area_ha' to use each pump's own served_area_ha), or "
                "canals= with canal_reach_m= and network_reach_m=")
    if isinstance(pump_radius_m, str):
        if pump_radius_m != "served_area_ha":
            raise GeoagriError(
                f"{func}: pump_radius_m={pump_radius_m!r}; give a radius in metres or the "
                "string 'served_area_ha'")
    elif pump_radius_m is not None:
        pump_radius_m = _check_distance(func, "pump_radius_m", pump_radius_m)
    if canals is not None:
        require_layer(canals, name="canals", func=func)
        if pumps is None:
            raise GeoagriError(
                f"{func}: canals are given but no pumps; canals serve land only through the "
                "pumps on them: pass pumps= as well, or drop canals=")
        for name, value in (("canal_reach_m", canal_reach_m),
                            ("network_reach_m", network_reach_m)):
            if value is None:
                raise GeoagriError(
                    f"{func}: canals are given without {name}; pass canal_reach_m= (how far "
                    "from a canal the land is served, m) and network_reach_m= (how far along "
                    "the canals from a pump, m)")
        canal_reach_m = _check_distance(func, "canal_reach_m", canal_reach_m)
        network_reach_m = _check_distance(func, "network_reach_m", network_reach_m)
    if power is not None:
        require_layer(power, name="power", func=func, columns=["element", "phases"])
        if power_reach_m is None:
            raise GeoagriError(
                f"{func}: power is given without power_reach_m; pass how far from a "
                "three-phase line the land counts as served, in metres (e.g. 500)")
        power_reach_m = _check_distance(func, "power_reach_m", power_reach_m)
    if isinstance(quad_segs, bool) or not isinstance(quad_segs, (int, np.integer)) \
            or quad_segs < 1:
        raise GeoagriError(f"{func}: quad_segs={quad_segs!r}; it must be a whole number ≥ 1")

    target = metric_crs(communes, crs=crs, province=province, era=era)
    nthreads = n_threads(threads)
    info: dict[str, Any] = {}
    pump_area = _pump_area(
        pumps, target, radius=pump_radius_m, canals=canals, canal_reach_m=canal_reach_m,
        network_reach_m=network_reach_m,
        statuses=_statuses(pump_statuses, func, "pump_statuses"), quad_segs=quad_segs,
        info=info)
    power_area = _power_area(power, target, reach_m=power_reach_m,
                             statuses=_statuses(power_statuses, func, "power_statuses"),
                             quad_segs=quad_segs, info=info)
    regions = _class_regions(pump_area, power_area)

    cgeoms = np.array(communes.geometry.to_crs(target).array, dtype=object)
    zgeoms = np.asarray(zones.geometry.to_crs(target).array, dtype=object)
    ok = np.isin(shapely.get_type_id(zgeoms), (3, 6)) & ~shapely.is_empty(zgeoms)
    if not ok.all():
        log.warning("%s: %d zone(s) are not polygons (points, lines or empty) and have no "
                    "area", func, int((~ok).sum()))
    if by:
        keys = pd.MultiIndex.from_frame(zones[by].astype(object).where(zones[by].notna(), None))
        codes, uniques = pd.factorize(keys)
        group_values = pd.DataFrame(list(uniques), columns=by)
    else:
        codes = np.zeros(len(zones), dtype=int)
        group_values = pd.DataFrame(index=[0])
    zi = np.flatnonzero(ok)
    trimmed = _trim(zgeoms[zi], codes[zi], threads=nthreads)
    keep = shapely.area(trimmed) > 0
    zi, trimmed = zi[keep], trimmed[keep]
    # the communes' pieces as geoagri.area cuts them: a plan's analyses of one communes
    # layer (the linkage and indicators beside this) share one cut
    cpieces = cut_once(cgeoms, max_vertices=max_vertices)
    info.update(metric_crs=target.to_string(), by=tuple(by),
                pumps_given=pumps is not None, power_given=power is not None)
    return dict(target=target, threads=nthreads, info=info, regions=regions, cgeoms=cgeoms,
                pump_area=pump_area, power_area=power_area,
                cpieces=cpieces, zi=zi, geoms=trimmed, codes=codes[zi],
                group_values=group_values, by=by, max_vertices=max_vertices)


_DOC_SERVICE = """
    zones : GeoDataFrame
        Polygons (a canonical ``zones``, ``models`` or ``parcels`` layer).
        Where zones of one group overlap, the overlap is counted once.
    communes : GeoDataFrame
        Canonical communes (``commune_id``, ``commune_name``).
    pumps : GeoDataFrame, optional
        Pump stations (points) with ``status``; only ``pump_statuses`` serve.
    pump_radius_m : float or "served_area_ha", optional
        Radius each pump serves, m; or ``"served_area_ha"``: the disc of the
        pump's own ``served_area_ha``.  Required with ``pumps`` unless
        ``canals`` are given.
    canals : GeoDataFrame, optional
        Canal lines (e.g. ``plan.path(plan.settings["canals"])`` read with
        geopandas) through which pumps serve.  Needs ``canal_reach_m`` and
        ``network_reach_m``.
    canal_reach_m : float, optional
        How far from a reached canal the land is served, m.
    network_reach_m : float, optional
        How far along the canals a pump reaches, m (the straight walk from
        the pump to the nearest canal counts).
    power : GeoDataFrame, optional
        Canonical power layer (``element``, ``phases``, optional ``status``);
        only three-phase lines in ``power_statuses`` serve.
    power_reach_m : float, optional
        How far from such a line the land is served, m.  Required with
        ``power``.
    by : str or sequence of str, optional
        Zone columns to group by (e.g. ``"crop"``); default: all zones in one
        group.  Missing values form their own group.
    pump_statuses : str or sequence of str, default ("operating",)
        Pump statuses that serve.
    power_statuses : str or sequence of str, default ("existing",)
        Power-line statuses that serve (every line when the layer has no
        ``status`` column).
    crs : CRS-like, optional
        Metric CRS to measure in; default :func:`geoagri.crs.metric_crs` of
        the communes (the province's VN-2000 zone when ``province`` is given).
    province, era : str, optional
        Province (and naming era) used to choose the VN-2000 zone.
    quad_segs : int, default 32
        Segments per quarter circle of the discs and line ends.
    threads : int, optional
        Threads for the geometry work (default: up to 4, the CPU count).
    max_vertices : int, default 32
        Size of the quadtree pieces communes and service areas are cut into."""

_DOC_RAISES = """
    SchemaError
        If a layer misses a column it needs (communes ``commune_id``,
        ``commune_name``; pumps ``status``, and ``served_area_ha`` with
        ``pump_radius_m="served_area_ha"``; power ``element``, ``phases``; the
        ``by`` columns), or is not a GeoDataFrame.
    CRSError
        If a layer has no CRS, or ``crs`` is not metric.
    GeoagriError
        If pumps are given without ``pump_radius_m`` or ``canals``, canals
        without pumps, ``canal_reach_m`` or ``network_reach_m``, power without
        ``power_reach_m``, or a distance is negative or not a number."""


def _doc(text: str) -> str:
    return text.replace("    {service}", _DOC_SERVICE.strip("\n")).replace(
        "    {raises}", _DOC_RAISES.strip("\n"))


def _coverage_table(ctx: dict[str, Any], zones: gpd.GeoDataFrame,
                    communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """The coverage table of prepared zones (see :func:`coverage`)."""
    geoms, codes, cgeoms = ctx["geoms"], ctx["codes"], ctx["cgeoms"]
    nc = len(cgeoms)
    n = len(geoms)
    g1, c1, a1 = _commune_rows(ctx)
    g2, k2, a2, _ = _zone_classes(ctx)
    n1 = np.bincount(g1, minlength=n)
    n2 = np.bincount(g2, minlength=n)
    commune_of = np.full(n, -1)
    commune_of[g1] = c1            # the only commune of a geometry with one row
    class_of = np.full(n, -1)
    class_of[g2] = k2
    # a geometry in one commune: its class areas go to that commune
    ra = n1[g2] == 1
    # a geometry in one class (and several communes): its commune areas go to that class
    rb = (n1[g1] > 1) & (n2[g1] == 1)
    rows_g = [g2[ra], g1[rb]]
    rows_c = [commune_of[g2[ra]], c1[rb]]
    rows_k = [k2[ra], class_of[g1[rb]]]
    rows_a = [a2[ra], a1[rb]]
    # crossing a commune border and a service border: cut at communes, allocate again
    rc = (n1[g1] > 1) & (n2[g1] > 1)
    if rc.any():
        # cut at the commune pieces (no union needed: the fragments are disjoint), and
        # give the part outside every commune what the fragments leave of each class
        fg, fc, frag = _commune_fragments(ctx)
        crossing = np.isin(fg, g1[rc])
        fg, fc, frag = fg[crossing], fc[crossing], frag[crossing]
        p3, k3, a3, _ = _allocate_classes(frag, ctx)
        rows_g.append(fg[p3])
        rows_c.append(fc[p3])
        rows_k.append(k3)
        rows_a.append(a3)
        out_rows = rc & (c1 == nc)
        if out_rows.any():
            mine = np.isin(g2, g1[out_rows])
            left = np.zeros((n, 4))
            np.add.at(left, (g2[mine], k2[mine]), a2[mine])
            np.add.at(left, (fg[p3], k3), -a3)
            og = g1[out_rows]
            left = np.clip(left[og], 0, None)
            rows_g += [np.repeat(og, 4)]
            rows_c += [np.full(4 * len(og), nc)]
            rows_k += [np.tile(np.arange(4), len(og))]
            rows_a += [left.ravel()]
    g = np.concatenate(rows_g)
    c = np.concatenate(rows_c)
    k = np.concatenate(rows_k)
    a = np.concatenate(rows_a)
    ngroups = max(len(ctx["group_values"]), 1)
    key = (c * ngroups + codes[g]) * 4 + k
    sums = np.bincount(key, weights=a, minlength=(nc + 1) * ngroups * 4).reshape(-1, 4)
    total = sums.sum(axis=1)
    cells = np.flatnonzero(total > 0)
    ci, gk = np.divmod(cells, ngroups)
    s = sums[cells] / 1e4
    out = pd.DataFrame()
    cid = communes["commune_id"].to_numpy(dtype=object)
    cname = communes["commune_name"].to_numpy(dtype=object)
    out["commune_id"] = pd.array([cid[j] if j < nc else pd.NA for j in ci], dtype=object)
    out["commune_name"] = [cname[j] if j < nc else None for j in ci]
    for col in ctx["by"]:
        out[col] = ctx["group_values"][col].to_numpy(dtype=object)[gk]
    area = s.sum(axis=1)
    out["area_ha"] = area
    out["pump_ha"] = s[:, 0] + s[:, 1]
    out["power_ha"] = s[:, 0] + s[:, 2]
    out["both_ha"] = s[:, 0]
    out["neither_ha"] = s[:, 3]
    for name in ("pump", "power", "both", "neither"):
        out[f"{name}_pct"] = out[f"{name}_ha"] / area * 100
    out.attrs = dict(ctx["info"])
    log.info("coverage: %d zones, %d rows, %.1f ha, %.1f ha served by neither",
             len(zones), len(out), area.sum(), s[:, 3].sum())
    return out


def _gap_layer(ctx: dict[str, Any], zones: gpd.GeoDataFrame,
               communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The gap polygons of prepared zones (see :func:`gaps`)."""
    geoms, cgeoms = ctx["geoms"], ctx["cgeoms"]
    nc = len(cgeoms)
    g1, c1, _ = _commune_rows(ctx)
    parts = _parts(geoms, ctx["cpieces"], g1, c1, nc, fragments=_commune_fragments(ctx),
                   threads=ctx["threads"])
    keep = shapely.area(parts) > 0
    whole = np.where(np.bincount(g1, minlength=len(geoms))[g1] == 1, g1, -1)[keep]
    g1, c1, parts = g1[keep], c1[keep], parts[keep]
    p, k, cut = _part_classes(parts, whole, ctx)
    if cut is None:
        pieces_geom = parts[p]
    else:
        _, pieces, used = cut
        # region index within the used regions (outside → len(used))
        pos = np.full(4, len(used))
        pos[used] = np.arange(len(used))
        pieces_geom = _parts(parts, pieces, p, pos[k], len(used), threads=ctx["threads"])
    gap = (k > 0) & (shapely.area(pieces_geom) > 0)
    p, k, pieces_geom = p[gap], k[gap], pieces_geom[gap]
    zrow = ctx["zi"][g1[p]]
    commune = c1[p]
    order = np.lexsort((k, commune, zrow))
    zrow, commune, k, pieces_geom = zrow[order], commune[order], k[order], pieces_geom[order]

    attrs = pd.DataFrame(zones.drop(columns=zones.geometry.name)).rename(
        columns={"commune_id": "zone_commune_id", "commune_name": "zone_commune_name"})
    cid = communes["commune_id"].to_numpy(dtype=object)
    cname = communes["commune_name"].to_numpy(dtype=object)
    out = pd.DataFrame({
        "missing": [MISSING[CLASSES[j]] for j in k],
        "commune_id": pd.array([cid[j] if j < nc else pd.NA for j in commune], dtype=object),
        "commune_name": [cname[j] if j < nc else None for j in commune],
    })
    out = pd.concat([out, attrs.iloc[zrow].reset_index(drop=True)], axis=1)
    out["area_ha"] = shapely.area(pieces_geom) / 1e4
    result = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(pieces_geom, crs=ctx["target"])
                              .to_crs(zones.crs).array, crs=zones.crs)
    result.attrs = dict(ctx["info"])
    log.info("gaps: %d zones, %d gap polygons, %.1f ha", len(zones), len(result),
             float(out["area_ha"].sum()))
    return result


# --------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------

#: The hectare columns of a coverage table (the shares are computed from them).
_HA = ("area_ha", "pump_ha", "power_ha", "both_ha", "neither_ha")


def roll_up_coverage(table: pd.DataFrame, communes: gpd.GeoDataFrame, *, level: str,
                     province: str | None = None, era: str = "old",
                     lineage: pd.DataFrame | None = None) -> pd.DataFrame:
    """A commune coverage table summed to districts or provinces, by code.

    Hectares are summed (a commune split between units by its lineage
    weight) and the shares computed again from the sums.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> t = coverage(plan["zones"], plan["communes"], pumps=plan["pumps"], pump_radius_m=1000,
    ...              crs=plan.metric_crs)
    >>> d = roll_up_coverage(t, plan["communes"], level="district", province=plan.province)
    >>> d["district"].dropna().tolist(), bool(abs(d["pump_ha"].sum() - t["pump_ha"].sum()) < 1e-6)
    (['Huyện Vĩnh Hưng'], True)
    """
    from geoagri.hierarchy import roll_up_communes

    by = [c for c in table.columns if c not in ("commune_id", "commune_name", *_HA)
          and not c.endswith("_pct")]
    out = roll_up_communes(table, communes, level=level, by=by, values=_HA,
                           province=province, era=era, lineage=lineage)
    for name in ("pump", "power", "both", "neither"):
        out[f"{name}_pct"] = out[f"{name}_ha"] / out["area_ha"] * 100
    out.attrs = dict(table.attrs)
    return out


@on_cluster(ClusterRun("table", serves=True, roll_up=roll_up_coverage))
@small_pages()
def coverage(
    zones: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    *,
    pumps: gpd.GeoDataFrame | None = None,
    pump_radius_m: float | str | None = None,
    canals: gpd.GeoDataFrame | None = None,
    canal_reach_m: float | None = None,
    network_reach_m: float | None = None,
    power: gpd.GeoDataFrame | None = None,
    power_reach_m: float | None = None,
    by: Sequence[str] | str | None = None,
    pump_statuses: Sequence[str] | str = ("operating",),
    power_statuses: Sequence[str] | str = ("existing",),
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
    quad_segs: int = 32,
    threads: int | None = None,
    max_vertices: int = 32,
    level: str = "commune",
    lineage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Hectares and shares of zones served by pumps, three-phase power, both, neither.

    Areas are measured in a metric CRS (see the module docstring for how the
    service areas are built).

    Parameters
    ----------
    {service}
    level : {"commune", "district", "province"}, default "commune"
        Rows per commune, or summed to districts or provinces by code
        (:func:`geoagri.hierarchy.assign_units`; new communes reach the old
        districts through ``lineage``, with area weights).
    lineage : DataFrame, optional
        For ``level="district"`` on 2025 communes (see
        :func:`geoagri.area.area_by_zone`).

    Returns
    -------
    DataFrame
        One row per commune (or ``level`` unit: ``<level>_code``, ``<level>``,
        ``approximate`` instead of the commune columns) × group with zone area: ``commune_id``,
        ``commune_name``, the ``by`` columns, ``area_ha`` (zone area, overlaps
        of a group counted once), ``pump_ha`` (served by a pump),
        ``power_ha`` (within reach of three-phase power), ``both_ha``,
        ``neither_ha`` and the same as shares of ``area_ha``: ``pump_pct``,
        ``power_pct``, ``both_pct``, ``neither_pct``.  Totals are conserved:
        ``both_ha + (pump_ha - both_ha) + (power_ha - both_ha) + neither_ha
        == area_ha``.  Zone area outside every commune is in rows whose
        ``commune_id`` is missing (NA).  ``attrs`` records the metric CRS, the
        grouping and how many pumps and power features served or were ignored.

    Raises
    ------
    {raises}

    See Also
    --------
    gaps : the unserved polygons themselves.
    geoagri.area.area_by_zone : area by commune and group.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> t = coverage(plan["zones"], communes=plan["communes"], by="crop",
    ...              pumps=plan["pumps"], pump_radius_m=1000,
    ...              power=plan["power"], power_reach_m=500, province=plan.province)
    >>> rice = t[t["crop"] == "rice"][["area_ha", "pump_ha", "power_ha", "neither_ha"]].sum()
    >>> bool(rice["neither_ha"] > 0)   # some rice has neither pump service nor power
    True
    >>> bool(abs(rice["area_ha"] - (rice["pump_ha"] + rice["power_ha"] + rice["neither_ha"]
    ...      - t.loc[t["crop"] == "rice", "both_ha"].sum())) < 1e-6)
    True
    """
    options = {k: v for k, v in locals().items()  # the keywords above
               if k not in ("zones", "level", "lineage")}
    if level not in ("commune", "district", "province"):
        raise OptionError(f"coverage: level={level!r}; use one of commune, district, province")
    table = _coverage_table(_prepare("coverage", zones, **options), zones, communes)
    if level == "commune":
        return table
    return roll_up_coverage(table, communes, level=level, province=province, era=era,
                            lineage=lineage)


coverage.__doc__ = _doc(coverage.__doc__ or "")


@on_cluster(ClusterRun("gaps", serves=True))
@small_pages()
def gaps(
    zones: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    *,
    pumps: gpd.GeoDataFrame | None = None,
    pump_radius_m: float | str | None = None,
    canals: gpd.GeoDataFrame | None = None,
    canal_reach_m: float | None = None,
    network_reach_m: float | None = None,
    power: gpd.GeoDataFrame | None = None,
    power_reach_m: float | None = None,
    by: Sequence[str] | str | None = None,
    pump_statuses: Sequence[str] | str = ("operating",),
    power_statuses: Sequence[str] | str = ("existing",),
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
    quad_segs: int = 32,
    threads: int | None = None,
    max_vertices: int = 32,
) -> gpd.GeoDataFrame:
    """The parts of zones that lack pump service, three-phase power or both.

    This is the "infrastructure gaps" layer of the maps and the ``demand`` of
    pump-station siting.  It agrees with :func:`coverage` called with the
    same arguments: the ``area_ha`` of the gaps, summed by ``missing``, is
    ``power_ha - both_ha`` ("pump"), ``pump_ha - both_ha`` ("power") and
    ``neither_ha`` ("both").

    Parameters
    ----------
    {service}

    Returns
    -------
    GeoDataFrame
        One row per zone × commune × what is missing, in the zones' CRS:
        ``missing`` ("pump": within reach of three-phase power but served by
        no pump; "power": served by a pump but out of reach of three-phase
        power; "both": neither), ``commune_id``, ``commune_name`` (missing
        outside every commune), the zone's columns (its own ``commune_id``
        and ``commune_name``, if any, renamed ``zone_commune_id`` and
        ``zone_commune_name``), ``area_ha`` (measured in the metric CRS) and
        the geometry (Polygon or MultiPolygon).  Where zones of one group
        overlap, the overlap belongs to the first of them in row order, so
        that the gaps do not overlap within a group.

    Raises
    ------
    {raises}

    See Also
    --------
    coverage : the same, as hectares per commune.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> g = gaps(plan["zones"], communes=plan["communes"],
    ...          pumps=plan["pumps"], pump_radius_m=1000,
    ...          power=plan["power"], power_reach_m=500, province=plan.province)
    >>> sorted(g["missing"].unique())
    ['both', 'power', 'pump']
    >>> g.crs == plan["zones"].crs
    True
    """
    options = {k: v for k, v in locals().items() if k != "zones"}  # the keywords above
    return _gap_layer(_prepare("gaps", zones, **options), zones, communes)


gaps.__doc__ = _doc(gaps.__doc__ or "")


@dataclass(frozen=True)
class ServiceCoverage:
    """Coverage, gaps and the service areas they were measured against, from one pass.

    Attributes
    ----------
    coverage : DataFrame
        As :func:`coverage` returns.
    gaps : GeoDataFrame
        As :func:`gaps` returns.
    pump_service, power_service : GeoSeries
        The land served by pumps and within reach of three-phase power (one
        polygon each, empty when nothing serves; absent when the service was
        not given), in the metric CRS: what a map draws as service areas.
    """

    coverage: pd.DataFrame
    gaps: gpd.GeoDataFrame
    pump_service: gpd.GeoSeries | None
    power_service: gpd.GeoSeries | None


@small_pages()
def service_coverage(zones: gpd.GeoDataFrame, communes: gpd.GeoDataFrame,
                     **options: Any) -> ServiceCoverage:
    """:func:`coverage` and :func:`gaps` with their service areas, built once.

    Takes the keywords of :func:`coverage` (the service areas, the zone
    pieces and the commune pieces are prepared once and used by both).

    Returns
    -------
    ServiceCoverage

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> s = service_coverage(plan["zones"], communes=plan["communes"], pumps=plan["pumps"],
    ...                      pump_radius_m=1000, power=plan["power"], power_reach_m=500,
    ...                      crs=plan.metric_crs)
    >>> gap = s.gaps.groupby("missing")["area_ha"].sum()
    >>> bool(abs(gap["both"] - s.coverage["neither_ha"].sum()) < 1e-6)
    True
    """
    if is_dask(zones):
        return ServiceCoverage(coverage(zones, communes=communes, **options),
                               gaps(zones, communes=communes, **options), None, None)
    options = keyword_options(coverage, options, exclude=("level", "lineage"),  # per commune
                              caller="service_coverage")
    ctx = _prepare("coverage", zones, communes, **options)

    def area(geom: Any) -> gpd.GeoSeries | None:
        return None if geom is None else gpd.GeoSeries([geom], crs=ctx["target"])

    return ServiceCoverage(_coverage_table(ctx, zones, communes),
                           _gap_layer(ctx, zones, communes),
                           area(ctx["pump_area"]), area(ctx["power_area"]))
