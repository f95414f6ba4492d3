"""Overlapping and gapped commune boundaries: found, reported, and counted once.

Commune boundaries drawn by different hands do not tile exactly: the real
2025 communes overlap each other by 169–471 ha per province and leave slivers
between neighbours.  An area summed over overlapping communes counts the
overlap twice (three communes of old Vĩnh Hưng overlap by about 27.7 ha).

* :func:`boundary_problems` lists the overlaps (pairs of communes, hectares)
  and the gaps (holes in the union of the communes, with the communes around
  them); ``geoagri check`` shows them as a warning, never as an error.
* :func:`disjoint` gives each overlap to **one** commune by a fixed rule —
  the commune whose ``commune_id`` sorts first (as text: codes are
  zero-padded, so the lowest code) keeps it; the others lose it.  The area
  engine (:func:`geoagri.area.area_by_zone`) measures on these disjoint
  communes, so commune figures add up to the figure of their union.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> x, y = 500_000, 1_200_000  # UTM 48N: 1 km² = 100 ha
>>> communes = gpd.GeoDataFrame(
...     {"commune_id": ["B", "A"], "commune_name": ["Xã B", "Xã A"]},
...     geometry=[box(x + 900, y, x + 2000, y + 1000), box(x, y, x + 1000, y + 1000)],
...     crs="EPSG:32648")
>>> boundary_problems(communes)[["problem", "commune_id", "other_id", "area_ha"]]
   problem commune_id other_id  area_ha
0  overlap          A        B     10.0
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["BOUNDARY_COLUMNS", "boundary_problems", "disjoint", "is_coverage", "summary",
           "warn_boundaries"]

log = logging.getLogger("geoagri")

#: Columns of :func:`boundary_problems`.
BOUNDARY_COLUMNS = ("problem", "commune_id", "commune_name", "other_id", "other_name",
                    "area_ha")

#: An overlap smaller than this share of the smaller commune is rounding, not an overlap.
_REL_TOL = 1e-9


def _overlapping_pairs(geoms: np.ndarray, *,
                       threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of geometries that overlap with positive area, and that area.

    Neighbouring communes are few pairs: GEOS measures them, so that
    ``geoagri check`` never loads the numba area engine.
    """
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if not len(i):
        return i, j, np.zeros(0)
    area = shapely.area(shapely.intersection(geoms[i], geoms[j]))
    own = shapely.area(geoms)
    real = area > _REL_TOL * np.minimum(own[i], own[j])
    return i[real], j[real], area[real]


def _valid(geoms: np.ndarray) -> np.ndarray:
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms


def disjoint(geoms: np.ndarray, keys: np.ndarray, *, threads: int = 1) -> np.ndarray:
    """The communes with every overlap given to the one whose key sorts first.

    Parameters
    ----------
    geoms : ndarray of shapely polygons
        Communes, in any CRS.
    keys : ndarray
        Their ``commune_id``; compared as text (zero-padded codes: the lowest
        code first).
    threads : int, default 1
        Threads for the overlap areas.

    Returns
    -------
    ndarray of shapely geometries
        A new array: each commune minus the communes it overlaps whose key
        sorts before its own.  Communes that overlap nothing are the same
        objects.  The union is unchanged.  The result is cached for the last
        few distinct layers (same geometries, same keys), so that repeated
        analyses of one communes layer pay for it once.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = disjoint(np.array([box(0, 0, 2, 2), box(1, 0, 3, 2)], dtype=object),
    ...              np.array(["27784", "27757"], dtype=object))
    >>> [float(p.area) for p in g]
    [2.0, 4.0]
    """
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) < 2:
        return geoms.copy()
    text = np.array([str(k) for k in np.asarray(keys, dtype=object)], dtype=object)
    key = _digest(geoms, "\x00".join(text).encode())
    if key not in _CACHE:
        _CACHE[key] = _disjoint(geoms, text, threads=threads)
        _trim(_CACHE)
    return _CACHE[key].copy()


#: Disjoint communes of the last few layers, by a hash of their geometries and keys.
_CACHE: dict[str, np.ndarray] = {}
#: Whether the last few sets of communes tile (:func:`is_coverage`), by a hash of them.
_COVERAGE: dict[str, bool] = {}
_CACHE_SIZE = 4


def _digest(geoms: np.ndarray, extra: bytes = b"") -> str:
    """A hash of the geometries (their WKB, missing ones as nothing) and ``extra``."""
    return hashlib.sha1(b"".join(w or b"" for w in shapely.to_wkb(geoms).tolist())
                        + extra).hexdigest()


def _trim(cache: dict[str, Any]) -> None:
    """Keep the :data:`_CACHE_SIZE` newest entries of a cache (oldest dropped first)."""
    while len(cache) > _CACHE_SIZE:
        cache.pop(next(iter(cache)))


def is_coverage(geoms: np.ndarray) -> bool:
    """Whether polygons tile without overlap (:func:`shapely.coverage_is_valid`).

    The answer for one set of communes is kept (for the last few distinct
    sets, by a hash of their geometries), so that reading a plan, its area
    figures and its accounting test the communes once, not three times.
    ``False`` where shapely has no coverage check (shapely < 2.1, GEOS < 3.12).

    Parameters
    ----------
    geoms : ndarray of shapely polygons
        Valid polygons, in any CRS (the answer holds for these coordinates).

    Returns
    -------
    bool
        True when no two polygons overlap (sharing edges is fine) and shared
        edges match vertex for vertex.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> is_coverage(np.array([box(0, 0, 1, 1), box(1, 0, 2, 1)], dtype=object))
    True
    >>> is_coverage(np.array([box(0, 0, 2, 1), box(1, 0, 3, 1)], dtype=object))
    False
    """
    check = getattr(shapely, "coverage_is_valid", None)  # shapely ≥ 2.1, GEOS ≥ 3.12
    if check is None:
        return False
    geoms = np.asarray(geoms, dtype=object)
    key = _digest(geoms)
    if key not in _COVERAGE:
        _COVERAGE[key] = bool(check(geoms))
        _trim(_COVERAGE)
    return _COVERAGE[key]


def _disjoint(geoms: np.ndarray, text: np.ndarray, *, threads: int) -> np.ndarray:
    out = geoms.copy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    idx = np.flatnonzero(present)
    valid = _valid(geoms[idx])
    if is_coverage(valid):
        return out  # the communes tile (shared edges, no overlap): the quick check
    i, j, _ = _overlapping_pairs(valid, threads=threads)
    if not len(i):
        return out
    t = text[idx]
    first = np.array([a < b for a, b in zip(t[i], t[j], strict=True)], dtype=bool)
    loser = np.where(first, j, i)
    winner = np.where(first, i, j)
    losers, counts = np.unique(loser, return_counts=True)
    single = losers[counts == 1]
    if len(single):  # one winner: one vectorised difference
        w = np.zeros(len(valid), dtype=np.int64)
        mask = np.isin(loser, single)
        w[loser[mask]] = winner[mask]
        out[idx[single]] = shapely.difference(valid[single], valid[w[single]])
    for k in losers[counts > 1]:
        out[idx[k]] = shapely.difference(valid[k], shapely.union_all(valid[winner[loser == k]]))
    bad = np.flatnonzero(~shapely.is_valid(out[idx[losers]]))
    if len(bad):
        out[idx[losers[bad]]] = shapely.make_valid(out[idx[losers[bad]]])
    log.info("communes: %d overlapping pair(s); each overlap counted in the commune with the "
             "lowest code", len(i))
    return out


def boundary_problems(
    communes: gpd.GeoDataFrame,
    *,
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
    min_ha: float = 0.01,
) -> pd.DataFrame:
    """Overlaps between communes and gaps between neighbours, in hectares.

    Parameters
    ----------
    communes : GeoDataFrame
        Canonical communes (``commune_id``, ``commune_name``).  Not modified.
    crs : CRS-like, optional
        Metric CRS to measure in; default :func:`geoagri.crs.metric_crs`.
    province, era : str, optional
        Used to choose the metric CRS (the province's VN-2000 zone).
    min_ha : float, default 0.01
        Overlaps and gaps smaller than this (ha) are not listed (digitising
        noise).

    Returns
    -------
    DataFrame
        :data:`BOUNDARY_COLUMNS`: ``problem`` (``overlap`` or ``gap``),
        ``commune_id`` and ``commune_name`` (an overlap: the commune that
        keeps it in area figures, the one with the lowest code; a gap: the
        first neighbour), ``other_id`` and ``other_name`` (the other commune
        of the pair; a gap: the other neighbours, comma-separated),
        ``area_ha``.  Overlaps first, then gaps, each largest first.  A gap is
        a hole in the union of the communes (area enclosed by communes but in
        none of them); the outer edge of the layer is not a gap.
        ``attrs["metric_crs"]`` names the CRS measured in.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> x, y = 500_000, 1_200_000
    >>> ring = [box(x, y, x + 3000, y + 1000), box(x, y + 2000, x + 3000, y + 3000),
    ...         box(x, y + 1000, x + 1000, y + 2000), box(x + 2000, y + 1000, x + 3000, y + 2000)]
    >>> c = gpd.GeoDataFrame({"commune_id": ["1", "2", "3", "4"],
    ...                       "commune_name": ["Xã 1", "Xã 2", "Xã 3", "Xã 4"]},
    ...                      geometry=ring, crs="EPSG:32648")
    >>> boundary_problems(c)[["problem", "commune_id", "other_id", "area_ha"]]
      problem commune_id other_id  area_ha
    0     gap          1  2, 3, 4    100.0
    """
    from geoagri.crs import metric_crs

    target = metric_crs(communes, crs=crs, province=province, era=era)
    geoms = np.asarray(communes.geometry.to_crs(target).array, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    idx = np.flatnonzero(present)
    valid = _valid(geoms[idx])
    ids = communes["commune_id"].astype(str).to_numpy(dtype=object)[idx]
    names = (communes["commune_name"].to_numpy(dtype=object)[idx]
             if "commune_name" in communes.columns else np.full(len(idx), None, dtype=object))
    rows: list[dict[str, Any]] = []
    i, j, area = _overlapping_pairs(valid)
    for a, b, ha in zip(i, j, area / 1e4, strict=True):
        if ha < min_ha:
            continue
        keep, other = (a, b) if ids[a] < ids[b] else (b, a)
        rows.append({"problem": "overlap", "commune_id": ids[keep], "commune_name": names[keep],
                     "other_id": ids[other], "other_name": names[other], "area_ha": float(ha)})
    overlaps = len(rows)
    if len(valid):
        union = shapely.union_all(valid)
        parts = shapely.get_parts(union)
        holes = [shapely.Polygon(ring) for p in parts if p.geom_type == "Polygon"
                 for ring in p.interiors]
        holes = [h for h in holes if h.area / 1e4 >= min_ha]
        if holes:
            tree = shapely.STRtree(valid)
            h_idx, c_idx = tree.query(np.array(holes, dtype=object), predicate="dwithin",
                                      distance=1.0)
            for k, hole in enumerate(holes):
                around = sorted({ids[c] for c in c_idx[h_idx == k]})
                name_of = dict(zip(ids, names, strict=True))
                rows.append({
                    "problem": "gap", "commune_id": around[0] if around else None,
                    "commune_name": name_of.get(around[0]) if around else None,
                    "other_id": ", ".join(around[1:]),
                    "other_name": ", ".join(str(name_of[c]) for c in around[1:]),
                    "area_ha": float(hole.area / 1e4)})
    out = pd.DataFrame(rows, columns=list(BOUNDARY_COLUMNS))
    if len(out):
        out["_o"] = np.r_[np.zeros(overlaps), np.ones(len(out) - overlaps)]
        out = (out.sort_values(["_o", "area_ha", "commune_id"], ascending=[True, False, True],
                               kind="stable").drop(columns="_o").reset_index(drop=True))
    out.attrs = {"metric_crs": target.to_string()}
    return out


def summary(problems: pd.DataFrame, *, layer: str = "communes", top: int = 5) -> str | None:
    """One paragraph describing :func:`boundary_problems`, or None when there are none.

    Examples
    --------
    >>> t = pd.DataFrame({"problem": ["overlap"], "commune_id": ["27757"],
    ...     "commune_name": ["TT Vĩnh Hưng"], "other_id": ["27760"], "other_name": ["Xã Vĩnh Trị"],
    ...     "area_ha": [12.34]})
    >>> print(summary(t))  # doctest: +NORMALIZE_WHITESPACE
    layer 'communes': 1 overlapping pair(s) of communes, 12.3 ha in all (27757 TT Vĩnh Hưng /
    27760 Xã Vĩnh Trị 12.3 ha); area figures count each overlap once, in the commune with
    the lowest code. Fix the boundaries in the source to remove them; the full list:
    geoagri.boundaries.boundary_problems(layer)
    """
    if problems is None or not len(problems):
        return None
    parts = []
    for kind, label in (("overlap", "overlapping pair(s) of communes"),
                        ("gap", "gap(s) between neighbouring communes")):
        rows = problems[problems["problem"] == kind]
        if not len(rows):
            continue
        shown = "; ".join(
            f"{r.commune_id} {r.commune_name} / "
            + (f"{r.other_id} {r.other_name}" if kind == "overlap" else f"{r.other_id}")
            + f" {r.area_ha:.1f} ha"
            for r in rows.head(top).itertuples())
        more = f"; … {len(rows) - top} more" if len(rows) > top else ""
        parts.append(f"{len(rows)} {label}, {rows['area_ha'].sum():.1f} ha in all "
                     f"({shown}{more})")
    return (f"layer '{layer}': " + "; ".join(parts)
            + "; area figures count each overlap once, in the commune with the lowest code. "
              "Fix the boundaries in the source to remove them; the full list: "
              "geoagri.boundaries.boundary_problems(layer)")


def warn_boundaries(communes: gpd.GeoDataFrame, *, layer: str = "communes",
                    **options: Any) -> pd.DataFrame:
    """:func:`boundary_problems`, with one :class:`~geoagri.errors.GeoagriWarning` if any.

    What ``geoagri check`` runs on every ``communes`` layer: overlaps and gaps
    are a warning, never an error (the analyses still run, counting each
    overlap once).

    Parameters
    ----------
    communes : GeoDataFrame
        Canonical communes.
    layer : str, default "communes"
        Layer name quoted in the warning.
    **options
        Keywords of :func:`boundary_problems` (``crs``, ``province``, ``era``,
        ``min_ha``).

    Returns
    -------
    DataFrame
        The :func:`boundary_problems` table.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> len(warn_boundaries(demo()["communes"]))
    0
    """
    from geoagri.errors import GeoagriWarning

    problems = boundary_problems(communes, **options)
    text = summary(problems, layer=layer)
    if text:
        warnings.warn(text, GeoagriWarning, stacklevel=2)
    return problems
