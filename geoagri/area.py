"""Area by zone: hectares of zones (or models, parcels) per commune and group.

:func:`area_by_zone` measures, in a metric CRS, how many hectares of each
group of zones (by crop, season, partner, …) lie in each commune, with the
area that overlapping zones of one group count more than once reported as
``overlap_ha`` and, with ``dissolve=True``, counted once.

How it is fast and exact
------------------------
* Communes are cut once into quadtree pieces of at most ``max_vertices``
  vertices.  A piece that is a whole quadtree cell (inside the commune) is a
  rectangle: a zone whose bounding box lies in such a cell lies wholly in the
  commune, and its area is its own area, with no polygon intersection.  Only
  zones that cross a cell or a border are intersected, and then with a small
  piece or a rectangle, not with the whole 600-vertex commune.
* Overlaps are found with a spatial index among zones of the same group whose
  bounding boxes overlap with positive area; only the clusters of zones that
  really overlap are unioned.
* The geometry work runs in shapely's vectorised functions, which release
  the GIL, on ``threads`` threads.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> x, y = 500_000, 1_200_000  # UTM 48N, near its central meridian: 1 km² = 100 ha
>>> communes = gpd.GeoDataFrame(
...     {"commune_id": ["A", "B"], "commune_name": ["Xã A", "Xã B"]},
...     geometry=[box(x, y, x + 1000, y + 1000), box(x + 1000, y, x + 2000, y + 1000)],
...     crs="EPSG:32648")
>>> zones = gpd.GeoDataFrame(
...     {"zone_id": ["z1", "z2"], "zone_kind": ["linkage", "linkage"]},
...     geometry=[box(x + 500, y, x + 1500, y + 500), box(x + 1000, y, x + 1500, y + 500)],
...     crs="EPSG:32648")
>>> area_by_zone(zones, communes)[["commune_id", "area_ha", "overlap_ha"]]
  commune_id  area_ha  overlap_ha
0          A     25.0         0.0
1          B     25.0        25.0
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geoagri.crs import metric_crs
from geoagri.errors import GeoagriWarning, SchemaError

__all__ = ["CommunePieces", "area_by_zone", "commune_pieces"]

log = logging.getLogger("geoagri")

#: Default grouping per layer kind, when ``by`` is not given.
DEFAULT_BY = {"zones": ("zone_kind",), "models": ("season", "support"),
              "parcels": ("land_use",)}

#: Levels :func:`area_by_zone` can roll up to, and the column naming the unit.
LEVELS = {"commune": "commune_id", "district": "district", "province": "province"}

#: A zone whose unallocated area is below this share of its area is inside.
_REL_TOL = 1e-9


def _threads(threads: int | None) -> int:
    return max(1, threads if threads is not None else min(4, os.cpu_count() or 1))


def _parallel(func: Callable[..., np.ndarray], *arrays: np.ndarray, threads: int) -> np.ndarray:
    """Apply a vectorised shapely function to chunks of arrays on threads."""
    n = len(arrays[0])
    if threads <= 1 or n < 20_000:
        return func(*arrays)
    bounds = np.linspace(0, n, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        parts = pool.map(lambda k: func(*(a[bounds[k]:bounds[k + 1]] for a in arrays)),
                         range(threads))
        return np.concatenate(list(parts))


@dataclass(frozen=True)
class CommunePieces:
    """Communes cut into quadtree pieces, with a spatial index.

    Attributes
    ----------
    geoms : ndarray of shapely geometries
        The pieces (each a part of one commune).
    commune : ndarray of int
        Position of each piece's commune in the communes layer.
    cells : ndarray, shape (n, 4)
        Quadtree cell of each piece (xmin, ymin, xmax, ymax), metres.
    full : ndarray of bool
        Whether the piece is its whole cell (the cell lies inside the commune).
    tree : shapely.STRtree
        Index of ``geoms``.
    """

    geoms: np.ndarray
    commune: np.ndarray
    cells: np.ndarray
    full: np.ndarray
    tree: shapely.STRtree


def commune_pieces(geoms: Sequence[Any] | np.ndarray, *, max_vertices: int = 64,
                   max_depth: int = 12) -> CommunePieces:
    """Cut polygons into quadtree pieces of at most ``max_vertices`` vertices.

    Parameters
    ----------
    geoms : array of Polygon or MultiPolygon
        Communes in a metric CRS.
    max_vertices : int, default 64
        A piece with more vertices is split into four.
    max_depth : int, default 12
        Deepest split (a guard against degenerate input).

    Returns
    -------
    CommunePieces

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> p = commune_pieces([Point(0, 0).buffer(1000, quad_segs=64)], max_vertices=32)
    >>> bool(p.full.any()), round(float(shapely.area(p.geoms).sum()), 3) == round(
    ...     Point(0, 0).buffer(1000, quad_segs=64).area, 3)
    (True, True)
    """
    geoms = np.asarray(geoms, dtype=object)
    current = geoms
    owner = np.arange(len(geoms))
    cells = shapely.bounds(geoms)
    out_g, out_c, out_cells, out_full = [], [], [], []
    for depth in range(max_depth + 1):
        if not len(current):
            break
        nverts = shapely.get_num_coordinates(current)
        area = shapely.area(current)
        cell_area = (cells[:, 2] - cells[:, 0]) * (cells[:, 3] - cells[:, 1])
        full = (nverts <= 5) & (area >= cell_area * (1 - 1e-12))
        done = (nverts <= max_vertices) | full | (depth == max_depth)
        out_g.append(current[done])
        out_c.append(owner[done])
        out_cells.append(cells[done])
        out_full.append(full[done])
        current, owner, cells = current[~done], owner[~done], cells[~done]
        if not len(current):
            break
        xm = (cells[:, 0] + cells[:, 2]) / 2
        ym = (cells[:, 1] + cells[:, 3]) / 2
        quads = np.concatenate([
            np.column_stack([cells[:, 0], cells[:, 1], xm, ym]),
            np.column_stack([xm, cells[:, 1], cells[:, 2], ym]),
            np.column_stack([cells[:, 0], ym, xm, cells[:, 3]]),
            np.column_stack([xm, ym, cells[:, 2], cells[:, 3]]),
        ])
        parent = np.tile(current, 4)
        owner = np.tile(owner, 4)
        clipped = _polygonal(shapely.intersection(parent, shapely.box(*quads.T)))
        keep = shapely.area(clipped) > 0
        current, owner, cells = clipped[keep], owner[keep], quads[keep]
    g = np.concatenate(out_g)
    bad = ~shapely.is_valid(g)
    if bad.any():
        g[bad] = _polygonal(shapely.make_valid(g[bad]))
    return CommunePieces(g, np.concatenate(out_c), np.concatenate(out_cells),
                         np.concatenate(out_full), shapely.STRtree(g))


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal part of each geometry (clipping may add lines)."""
    types = shapely.get_type_id(geoms)
    mixed = np.flatnonzero(types == 7)
    if len(mixed):
        geoms = geoms.copy()
        for k in mixed:
            parts = [p for p in shapely.get_parts(geoms[k]) if shapely.get_type_id(p) in (3, 6)]
            geoms[k] = shapely.union_all(parts) if parts else shapely.Polygon()
    lines = np.isin(types, (1, 2, 5, 0, 4))
    if lines.any():
        geoms = geoms.copy()
        geoms[lines] = shapely.Polygon()
    return geoms


def _allocate(geoms: np.ndarray, communes: np.ndarray, pieces: CommunePieces,
              threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area (m²) of each geometry in each commune; commune ``len(communes)`` = outside.

    Three passes, cheapest first: a geometry whose bounding box lies in a
    full quadtree cell is inside that commune (no GEOS call); one properly
    contained in a (prepared) commune is inside it; only the rest, the
    geometries that cross a border, are intersected with the small pieces.

    Returns ``(geom_index, commune_index, area_m2)`` with one row per
    geometry × commune it touches, plus a row for the part outside every
    commune where there is one.
    """
    n_communes = len(communes)
    area = shapely.area(geoms)
    gi, pj = pieces.tree.query(geoms)
    gb = shapely.bounds(geoms)
    cell = pieces.cells[pj]
    b = gb[gi]
    inside = (pieces.full[pj] & (b[:, 0] >= cell[:, 0]) & (b[:, 1] >= cell[:, 1])
              & (b[:, 2] <= cell[:, 2]) & (b[:, 3] <= cell[:, 3]))
    home = np.full(len(geoms), -1)
    home[gi[inside]] = pieces.commune[pj[inside]]
    # pass 2: proper containment in a prepared commune
    rest = home[gi] < 0
    pg, pc = gi[rest], pieces.commune[pj[rest]]
    if len(pg):
        # pairs sorted by commune: each thread gets whole communes, because GEOS
        # builds a prepared geometry's indexes lazily and not thread-safely
        pair = np.unique(pc.astype(np.int64) * len(geoms) + pg)
        pc2, pg2 = np.divmod(pair, len(geoms))
        shapely.prepare(communes)
        cuts = np.searchsorted(pc2, np.unique(pc2[np.linspace(0, len(pc2) - 1, threads + 1)
                                                 .astype(int)[1:-1]]))
        chunks = np.split(np.arange(len(pc2)), cuts)
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(
                lambda k: shapely.contains_properly(communes[pc2[k]], geoms[pg2[k]]), chunks))
        contained = np.concatenate(parts)
        home[pg2[contained]] = pc2[contained]
    whole = np.flatnonzero(home >= 0)
    # pass 3: geometries crossing a border, intersected piece by piece
    rest = home[gi] < 0
    gi_r, pj_r = gi[rest], pj[rest]
    full_r = pieces.full[pj_r]
    a = np.empty(len(gi_r))
    if full_r.any():
        c = pieces.cells[pj_r[full_r]]
        a[full_r] = shapely.area(_parallel(
            shapely.intersection, geoms[gi_r[full_r]], shapely.box(*c.T), threads=threads))
    if (~full_r).any():
        a[~full_r] = shapely.area(_parallel(
            shapely.intersection, geoms[gi_r[~full_r]], pieces.geoms[pj_r[~full_r]],
            threads=threads))
    g = np.concatenate([whole, gi_r])
    c = np.concatenate([home[whole], pieces.commune[pj_r]])
    a = np.concatenate([area[whole], a])
    allocated = np.bincount(g, weights=a, minlength=len(geoms))
    outside = area - allocated
    outside[np.abs(outside) <= _REL_TOL * area] = 0.0
    out = np.flatnonzero(outside > 0)
    return (np.concatenate([g, out]), np.concatenate([c, np.full(len(out), n_communes)]),
            np.concatenate([a, outside[out]]))


def _overlap_clusters(geoms: np.ndarray, codes: np.ndarray, threads: int) -> np.ndarray:
    """Label of each geometry's cluster of overlapping same-group geometries.

    Two geometries of the same group belong to one cluster when their
    interiors intersect (positive overlap area), directly or through others.
    Returns ``-1`` for geometries that overlap nothing.
    """
    n = len(geoms)
    labels = np.full(n, -1)
    if n < 2:
        return labels
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms)
    keep = (i < j) & (codes[i] == codes[j])
    i, j = i[keep], j[keep]
    b = shapely.bounds(geoms)
    w = np.minimum(b[i, 2], b[j, 2]) - np.maximum(b[i, 0], b[j, 0])
    h = np.minimum(b[i, 3], b[j, 3]) - np.maximum(b[i, 1], b[j, 1])
    keep = (w > 0) & (h > 0)
    i, j = i[keep], j[keep]
    if not len(i):
        return labels
    overlap = shapely.area(_parallel(shapely.intersection, geoms[i], geoms[j],
                                     threads=threads)) > 0
    i, j = i[overlap], j[overlap]
    if not len(i):
        return labels
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    members = np.zeros(n, dtype=bool)
    members[i] = members[j] = True
    labels[members] = comp[members]
    return labels


def _union_clusters(geoms: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union each cluster; returns (one member index per cluster, union geometry)."""
    idx = np.flatnonzero(labels >= 0)
    if not len(idx):
        return np.zeros(0, dtype=int), np.zeros(0, dtype=object)
    order = idx[np.argsort(labels[idx], kind="stable")]
    lab = labels[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    ends = np.r_[starts[1:], len(order)]
    sizes = ends - starts
    reps = order[starts]
    unions = np.empty(len(starts), dtype=object)
    two = sizes == 2
    unions[two] = shapely.union(geoms[order[starts[two]]], geoms[order[starts[two] + 1]])
    for k in np.flatnonzero(~two):
        unions[k] = shapely.union_all(geoms[order[starts[k]:ends[k]]])
    return reps, unions


def area_by_zone(
    zones: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    *,
    by: Sequence[str] | str | None = None,
    dissolve: bool = True,
    level: str = "commune",
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
    threads: int | None = None,
    max_vertices: int = 64,
) -> pd.DataFrame:
    """Hectares of zones per commune (or district, province) and group.

    Parameters
    ----------
    zones : GeoDataFrame
        Polygons: a canonical ``zones``, ``models`` or ``parcels`` layer (or
        any polygon layer with the ``by`` columns).  Not modified.
    communes : GeoDataFrame
        Canonical communes (``commune_id``, ``commune_name``; ``district``
        and ``province`` for those levels).  Not modified.
    by : str or sequence of str, optional
        Zone columns to group by.  Default by layer kind: zones →
        ``zone_kind``; models → ``season``, ``support``; parcels →
        ``land_use``; other layers → no grouping.  Missing values form their
        own group.
    dissolve : bool, default True
        Count area where zones of one group overlap once (``area_ha`` is the
        area of their union).  With ``False``, ``area_ha`` is the raw sum.
        ``overlap_ha`` is reported either way.
    level : {"commune", "district", "province"}
        Unit of the rows.
    crs : CRS-like, optional
        Metric CRS to measure in; default :func:`geoagri.crs.metric_crs`
        (the province's VN-2000 zone when ``province`` is given, else UTM
        or a local transverse Mercator, within 0.1 % of geodesic areas).
    province, era : str, optional
        Province (and naming era) used to choose the VN-2000 zone.
    threads : int, optional
        Threads for the geometry work (default: up to 4, the CPU count).
    max_vertices : int, default 64
        Size of the commune pieces (see the module docstring).

    Returns
    -------
    DataFrame
        One row per unit × group with area: ``commune_id``, ``commune_name``
        (``district`` or ``province`` at those levels), the ``by`` columns,
        ``area_ha``, ``overlap_ha`` (area counted more than once by the raw
        zones of the group; removed from ``area_ha`` when ``dissolve``),
        ``<level>_share_pct`` (``area_ha`` as a share of the unit's area).
        Zone area outside every commune is in rows whose unit is missing
        (NA), so totals are conserved.  ``attrs["metric_crs"]`` names the
        CRS measured in.

    Raises
    ------
    SchemaError
        If a ``by`` column or a column the level needs is missing, or the
        level is unknown.
    CRSError
        If a layer has no CRS.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> t = area_by_zone(plan["zones"], plan["communes"], level="district",
    ...                  province=plan.province)
    >>> round(float(t.loc[t["zone_kind"] == "linkage", "area_ha"].sum()))
    23865
    """
    if level not in LEVELS:
        raise SchemaError(f"level={level!r}; use one of {', '.join(LEVELS)}")
    kind = zones.attrs.get("geoagri", {}).get("kind")
    by = DEFAULT_BY.get(kind, ()) if by is None else by
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in by if c not in zones.columns]
    if missing:
        raise SchemaError(
            f"area_by_zone: the zones layer has no column(s) {missing} to group by; its "
            f"columns are {[c for c in zones.columns if c != 'geometry']}")
    need = ["commune_id", "commune_name"] + ([LEVELS[level]] if level != "commune" else [])
    missing = [c for c in need if c not in communes.columns]
    if missing:
        raise SchemaError(
            f"area_by_zone: the communes layer has no column(s) {missing}"
            + (f", needed for level={level!r}; add a {LEVELS[level]} column to the communes"
               if level != "commune" else ""))
    target = metric_crs(communes, crs=crs, province=province, era=era)
    nthreads = _threads(threads)
    cgeoms = np.array(communes.geometry.to_crs(target).array, dtype=object)
    zgeoms = np.asarray(zones.geometry.to_crs(target).array, dtype=object)
    polygonal = np.isin(shapely.get_type_id(zgeoms), (3, 6))
    if not polygonal.all():
        warnings.warn(f"area_by_zone: {int((~polygonal).sum())} zone(s) are not polygons "
                      "(points, lines or empty) and have no area", GeoagriWarning, stacklevel=2)
    nc = len(cgeoms)

    if by:
        keys = pd.MultiIndex.from_frame(zones[by].astype(object).where(zones[by].notna(), None))
        codes, uniques = pd.factorize(keys)
        group_values = pd.DataFrame(list(uniques), columns=by) if len(uniques) else \
            pd.DataFrame(columns=by)
    else:
        codes = np.zeros(len(zones), dtype=int)
        group_values = pd.DataFrame(index=[0])
    ngroups = max(len(group_values), 1)

    pieces = commune_pieces(cgeoms, max_vertices=max_vertices)
    zi = np.flatnonzero(polygonal)
    zg = zgeoms[zi]
    zcodes = codes[zi]
    labels = _overlap_clusters(zg, zcodes, nthreads)
    reps, unions = _union_clusters(zg, labels)
    # raw: every zone; dissolved: zones in no cluster, plus one union per cluster
    geoms_all = np.concatenate([zg, unions])
    codes_all = np.concatenate([zcodes, zcodes[reps]])
    g, c, a = _allocate(geoms_all, cgeoms, pieces, nthreads)
    n_raw = len(zg)
    is_raw = g < n_raw
    in_dissolved = np.where(is_raw, labels[np.minimum(g, n_raw - 1)] < 0, True)
    key = c * ngroups + codes_all[g]
    size = (nc + 1) * ngroups
    raw = np.bincount(key[is_raw], weights=a[is_raw], minlength=size)
    dis = np.bincount(key[in_dissolved], weights=a[in_dissolved], minlength=size)
    overlap = np.clip(raw - dis, 0, None)
    overlap[overlap <= _REL_TOL * raw] = 0.0
    value = dis if dissolve else raw
    cells = np.flatnonzero(raw > 0)
    ci, gk = np.divmod(cells, ngroups)

    commune_area = shapely.area(cgeoms)
    out = pd.DataFrame({"_c": ci})
    cid = communes["commune_id"].to_numpy(dtype=object)
    cname = communes["commune_name"].to_numpy(dtype=object)
    out["commune_id"] = pd.array([cid[k] if k < nc else pd.NA for k in ci], dtype=object)
    out["commune_name"] = [cname[k] if k < nc else None for k in ci]
    for col in by:
        out[col] = group_values[col].to_numpy(dtype=object)[gk]
    out["area_ha"] = value[cells] / 1e4
    out["overlap_ha"] = overlap[cells] / 1e4
    if level == "commune":
        share = np.where(ci < nc, value[cells] / np.r_[commune_area, np.nan][ci] * 100, np.nan)
        out["commune_share_pct"] = share
        out = out.drop(columns="_c")
    else:
        unit_col = LEVELS[level]
        units = communes[unit_col].to_numpy(dtype=object)
        out[unit_col] = [units[k] if k < nc else None for k in ci]
        unit_area = pd.Series(commune_area, index=communes.index).groupby(
            communes[unit_col].to_numpy(dtype=object)).sum()
        keys_cols = [unit_col, *by]
        out = (out.drop(columns=["_c", "commune_id", "commune_name"])
               .groupby(keys_cols, dropna=False, sort=False)[["area_ha", "overlap_ha"]].sum()
               .reset_index())
        out[f"{level}_share_pct"] = out["area_ha"] * 1e4 / out[unit_col].map(unit_area) * 100
    out.attrs = {"metric_crs": target.to_string(), "level": level, "dissolve": dissolve,
                 "by": tuple(by)}
    log.info("area_by_zone: %d zones, %d overlap clusters, %d rows", len(zones),
             len(unions), len(out))
    return out
