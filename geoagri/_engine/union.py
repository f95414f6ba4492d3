"""Area of overlapping polygons counted more than once, per region, without unions.

:func:`geoagri.area.area_by_zone` reports ``overlap_ha``, the area that the
zones of a group count more than once, and with ``dissolve=True`` removes it.
Building the union of each cluster of overlapping zones with GEOS costs
about 200 µs a cluster on one thread, which dominates when half the zones
overlap (hand-drawn linkage zones, one layer per season).  The overlap area
needs no union.

How
---
A zone lying inside another of its group (a copy, a part drawn again) adds
nothing to the union: all its area counts more than once.  For the others,
by inclusion–exclusion, the area of a union is the sum of its members'
areas minus the area counted more than once::

    overlap(C) = Σ_{|S| ≥ 2} (−1)^|S| · area(∩S ∩ C)

over the sets ``S`` of zones with a common interior.  Such a set is a
clique of the overlap graph (every two members overlap), so the sets are
found level by level, from the overlapping pairs (areas already known from
the overlap search) to triples and beyond, each extended only while its
common area is positive (above ``REL_TOL`` of its smallest member).  The
common area of a set comes from :func:`geoagri._engine.clip.common_area` (one
member clipped by the convex parts of the others, exact up to rounding).

Per region: a set of which one member lies in one region (the common
case), or whose common part's bounding box does, puts its whole area there;
a set that crosses a border is clipped by the regions' pieces as one more
member (or, when its members are very non-convex, its common part is built
with GEOS and allocated to the pieces).  A cluster with more than
``max_terms`` such sets (many zones drawn over one another) is unioned with
GEOS instead, and its overlap is the members' area less the union's.

Examples
--------
>>> from shapely.geometry import box
>>> from geoagri._engine.pieces import allocate, cut_into_pieces, overlap_pairs
>>> regions = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10)], dtype=object)
>>> zones = np.array([box(0, 0, 4, 4), box(2, 0, 6, 4), box(3, 0, 12, 4)], dtype=object)
>>> pieces = cut_into_pieces(regions)
>>> i, j, a = overlap_pairs(zones, np.zeros(3, dtype=int))
>>> g, r, area = overlap_by_region(zones, i, j, a, allocate(zones, regions, pieces),
...                                regions, pieces)
>>> np.bincount(r, weights=area).tolist()  # 8 + 4 + 12 - 4 m², all in region 0
[20.0]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import shapely

from geoagri._engine.clip import Polygons, common_area, concat, polygons
from geoagri._engine.distinct import distinct_positions
from geoagri._engine.pieces import REL_TOL, Pieces, allocate, cluster_labels
from geoagri._engine.threads import parallel

__all__ = ["OverlapSets", "home_region", "overlap_by_region", "overlap_sets", "place_sets",
           "sets_by_region", "union_clusters"]

#: Sets of overlapping zones per cluster above which the cluster is unioned with GEOS.
MAX_TERMS = 256
#: A zone whose overlap with a larger one is its area within this share lies inside it.
CONTAINED_TOL = 1e-11
#: A set crossing a border is clipped by the kernel if its members' convex parts
#: multiply to at most this (the kernel's rows per piece), else built with GEOS.
MAX_PART_PRODUCT = 16


def union_clusters(geoms: np.ndarray, labels: np.ndarray, *, threads: int = 1
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Union of each cluster: ``(one member index per cluster, union geometry)``.

    Clusters of one size are unioned in one vectorised call, on threads.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = np.array([box(0, 0, 2, 2), box(1, 1, 3, 3), box(5, 5, 6, 6)])
    >>> reps, unions = union_clusters(g, np.array([0, 0, -1]))
    >>> reps.tolist(), shapely.area(unions).tolist()
    ([0], [7.0])
    """
    idx = np.flatnonzero(labels >= 0)
    if not len(idx):
        return np.zeros(0, dtype=int), np.zeros(0, dtype=object)
    order = idx[np.argsort(labels[idx], kind="stable")]
    lab = labels[order]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    unions = np.empty(len(starts), dtype=object)
    for size in np.unique(sizes):
        k = np.flatnonzero(sizes == size)
        block = geoms[order[starts[k][:, None] + np.arange(size)]]  # clusters × members
        unions[k] = parallel(lambda b: shapely.union_all(b, axis=1), block, threads=threads,
                             min_chunk=500)
    return order[starts], unions


def _cliques(n: int, i: np.ndarray, j: np.ndarray, area: np.ndarray, geoms: np.ndarray,
             cluster: np.ndarray, *, polys: Polygons | None, threads: int, max_terms: int
             ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Sets of zones with a common interior, level by level.

    Returns the member arrays (one per level, rows sorted ascending), their
    common areas, and the clusters that passed ``max_terms``.
    """
    indptr = np.r_[0, np.cumsum(np.bincount(i, minlength=n))]  # i, j sorted: CSR of j > i
    keys = i * n + j
    size = shapely.area(geoms)
    n_clusters = int(cluster.max()) + 1
    terms = np.bincount(cluster[i], minlength=n_clusters)
    over = terms > max_terms
    levels, areas = [np.column_stack([i, j])], [area]
    cur = levels[0]
    while len(cur):
        last = cur[:, -1]
        count = indptr[last + 1] - indptr[last]
        rep = np.repeat(np.arange(len(cur)), count)
        at = np.repeat(indptr[last] - np.cumsum(count) + count, count) + np.arange(len(rep))
        cand = j[at]
        ok = ~over[cluster[cand]]
        for m in range(cur.shape[1] - 1):  # the new zone must overlap every member
            key = cur[rep, m] * n + cand
            pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            ok &= keys[pos] == key
        new = np.column_stack([cur[rep[ok]], cand[ok]])
        if not len(new):
            break
        terms += np.bincount(cluster[new[:, 0]], minlength=n_clusters)
        over |= terms > max_terms
        new = new[~over[cluster[new[:, 0]]]]
        a = common_area(geoms, new, polys=polys, threads=threads)
        keep = a > REL_TOL * size[new].min(axis=1)
        cur = new[keep]
        levels.append(cur)
        areas.append(a[keep])
    return levels, areas, np.flatnonzero(over)


def _contained(n: int, i: np.ndarray, j: np.ndarray, area: np.ndarray, size: np.ndarray
               ) -> np.ndarray:
    """Whether each of ``n`` zones lies inside another of the overlapping pairs ``(i, j)``.

    Zone ``z`` is inside ``o`` when their overlap is ``z``'s area (within
    ``CONTAINED_TOL``) and ``o`` is larger, or as large and first (of two
    copies, the first stays).  This order has no cycles, so every zone
    marked lies inside one that is not.
    """
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((-np.arange(n), size))] = np.arange(n)  # by area, then first
    small = np.where(rank[i] < rank[j], i, j)
    inner = np.zeros(n, dtype=bool)
    inner[small[area >= (1 - CONTAINED_TOL) * size[small]]] = True
    return inner


def home_region(g: np.ndarray, r: np.ndarray, *, n: int, n_regions: int) -> np.ndarray:
    """The one region each of ``n`` geometries lies in (allocation rows ``g, r``), else -1.

    Examples
    --------
    >>> home_region(np.array([0, 1, 1, 2]), np.array([3, 0, 1, 1]), n=4, n_regions=5).tolist()
    [3, -1, 1, -1]
    """
    lo = np.full(n, n_regions + 1)
    hi = np.full(n, -1)
    np.minimum.at(lo, g, r)  # one region: its lowest and highest are the same
    np.maximum.at(hi, g, r)
    return np.where(lo == hi, lo, -1)


def _crossing(members: np.ndarray, common: np.ndarray, bounds: np.ndarray,
              both: tuple[np.ndarray, Polygons], regions: np.ndarray, pieces: Pieces, *,
              threads: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Common area per region of sets of zones that do not lie in one region.

    Most such sets still do: their common part's bounding box (the
    intersection of the members' boxes) lies in one region, found as
    :func:`geoagri._engine.pieces.allocate` finds zones inside (mostly without
    clipping).  The rest are clipped by the pieces of the regions their box
    meets, as one more member of the set (:func:`geoagri._engine.clip.common_area`);
    sets whose members have many convex parts (a product above
    ``MAX_PART_PRODUCT``) have their common part built with GEOS and
    allocated.  ``both``: the zones followed by the pieces, as geometries and
    flattened.  Returns ``(first member, region, area)`` rows.
    """
    n_regions = len(regions)
    n = len(bounds)
    geoms = both[0][:n]
    b = bounds[members]
    box = shapely.box(b[:, :, 0].max(axis=1), b[:, :, 1].max(axis=1),
                      b[:, :, 2].min(axis=1), b[:, :, 3].min(axis=1))
    home = home_region(*allocate(box, regions, pieces, threads=threads)[:2], n=len(box),
                 n_regions=n_regions)
    one = np.flatnonzero(home >= 0)  # the box, hence the common part, in one region
    out_g, out_r, out_a = [members[one, 0]], [home[one]], [common[one]]
    product = np.prod(np.diff(both[1].part_start)[members], axis=1)
    clip = np.flatnonzero((home < 0) & (product <= MAX_PART_PRODUCT))
    if len(clip):
        t, q = pieces.tree.query(box[clip])
        area = common_area(both[0], np.column_stack([members[clip[t]], n + q]),
                           polys=both[1], threads=threads)
        outside = common[clip] - np.bincount(t, weights=area, minlength=len(clip))
        off = np.flatnonzero(outside > REL_TOL * common[clip])
        out_g += [members[clip[t], 0], members[clip[off], 0]]
        out_r += [pieces.commune[q], np.full(len(off), n_regions)]
        out_a += [area, outside[off]]
    build = np.flatnonzero((home < 0) & (product > MAX_PART_PRODUCT))
    if len(build):
        shape = geoms[members[build, 0]]
        for m in range(1, members.shape[1]):
            shape = parallel(shapely.intersection, shape, geoms[members[build, m]],
                             threads=threads)
        tg, tr, ta = allocate(shape, regions, pieces, threads=threads)
        out_g.append(members[build[tg], 0])
        out_r.append(tr)
        out_a.append(ta)
    return np.concatenate(out_g), np.concatenate(out_r), np.concatenate(out_a)


@dataclass(frozen=True)
class OverlapSets:
    """The sets of zones with a common interior (:func:`overlap_sets`), not yet in regions.

    Attributes
    ----------
    n : int
        Zones in the caller's array.
    used : ndarray of int
        Positions (ascending) of the zones in an overlapping pair; the
        arrays below index these.
    geoms : ndarray of shapely geometries
        Those zones.
    polys : Polygons
        Those zones flattened (:func:`geoagri._engine.clip.polygons`).
    inner : ndarray of bool
        Whether each lies inside another of its group (all its area counts
        more than once; it is in no set).
    cluster : ndarray of int
        Cluster of each (connected sets), ``-1`` if in none.
    levels, areas : list of ndarray
        The sets of 2, 3, … members (rows of positions) and their common
        areas, without the sets of the clusters in ``over``.
    over : ndarray of int
        Clusters with more than ``max_terms`` sets, unioned with GEOS instead.
    reps, unions : ndarray
        One member of each of those clusters, and the cluster's union.
    """

    n: int
    used: np.ndarray
    geoms: np.ndarray
    polys: Polygons
    inner: np.ndarray
    cluster: np.ndarray
    levels: list[np.ndarray]
    areas: list[np.ndarray]
    over: np.ndarray
    reps: np.ndarray
    unions: np.ndarray
    #: what :meth:`bounds` and :meth:`with_pieces` built, shared with the pairs' sets
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def bounds(self) -> np.ndarray:
        """Bounding boxes of :attr:`geoms`, metres (computed once)."""
        if "bounds" not in self.derived:
            self.derived["bounds"] = shapely.bounds(self.geoms)
        return self.derived["bounds"]

    def with_pieces(self, pieces: Pieces) -> tuple[np.ndarray, Polygons]:
        """The zones then the pieces, as geometries and flattened (built once per pieces)."""
        key = ("with", id(pieces))
        if key not in self.derived:
            self.derived[key] = (pieces, (np.r_[self.geoms, pieces.geoms],
                                          concat(self.polys, pieces.flat)))
        return self.derived[key][1]


def overlap_sets(geoms: np.ndarray, i: np.ndarray, j: np.ndarray, area: np.ndarray, *,
                 flattened: tuple[np.ndarray, Polygons] | None = None, threads: int = 1,
                 max_terms: int = MAX_TERMS,
                 on_pairs: Callable[[OverlapSets], object] | None = None) -> OverlapSets:
    """The sets of overlapping zones and their common areas, from the overlapping pairs.

    The part of :func:`overlap_by_region` that needs no regions: it can run
    while the zones are allocated to the regions.  Only the zones in a pair
    are flattened and looked at.

    Parameters
    ----------
    geoms : ndarray of shapely (multi)polygons
        The zones, in a metric CRS.
    i, j, area : ndarray
        Their overlapping pairs and overlap areas (m²), as
        :func:`geoagri._engine.pieces.overlap_pairs` returns them.
    flattened : tuple, optional
        ``(used, polys)`` from ``overlap_pairs(..., flattened=True)``: zones
        already flattened, every zone of a pair among them.
    threads : int, default 1
    max_terms : int, default MAX_TERMS
        Sets per cluster above which the cluster is unioned with GEOS.
    on_pairs : callable, optional
        Called with the sets of two (the pairs, without zones inside
        another) as soon as they are known, before the larger sets are
        searched: the caller can place them in regions meanwhile
        (:func:`place_sets`).

    Returns
    -------
    OverlapSets

    Examples
    --------
    >>> from shapely.geometry import box
    >>> zones = np.array([box(0, 0, 4, 4), box(2, 0, 6, 4), box(3, 0, 12, 4), box(1, 1, 2, 2)])
    >>> s = overlap_sets(zones, np.array([0, 0, 0, 1]), np.array([1, 2, 3, 2]),
    ...                  np.array([8.0, 4.0, 1.0, 12.0]))
    >>> s.inner.tolist()  # the small box lies inside the first
    [False, False, False, True]
    >>> [lv.tolist() for lv in s.levels], [a.tolist() for a in s.areas]
    ([[[0, 1], [0, 2], [1, 2]], [[0, 1, 2]]], [[8.0, 4.0, 12.0], [4.0]])
    """
    paired, at = distinct_positions(np.r_[i, j], len(geoms))
    if flattened is not None and len(paired) >= len(flattened[0]) / 2:
        used, polys = flattened  # most of them in a pair: no need to flatten again
        i, j = np.searchsorted(used, i), np.searchsorted(used, j)
    else:  # work on the zones in a pair only
        used, i, j = paired, at[:len(i)], at[len(i):]
        polys = polygons(np.asarray(geoms, dtype=object)[used], threads=threads)
    sub = np.asarray(geoms, dtype=object)[used]
    n = len(used)
    # a zone inside another of its group (a copy, a part redrawn) adds nothing to
    # the union: all its area counts more than once, and it leaves the sets
    inner = _contained(n, i, j, area, shapely.area(sub))
    keep = ~inner[i] & ~inner[j]
    i, j, area = i[keep], j[keep], area[keep]
    cluster = cluster_labels(n, i, j)
    none = np.zeros(0, dtype=np.int64)
    derived: dict = {}  # bounds and flattened pieces, built once for both
    if on_pairs is not None:
        on_pairs(OverlapSets(len(geoms), used, sub, polys, inner, cluster,
                             [np.column_stack([i, j])] if len(i) else [], [area] if len(i) else [],
                             none, none, np.zeros(0, dtype=object), derived))
    levels, areas, over = [], [], none
    if len(i):
        levels, areas, over = _cliques(n, i, j, area, sub, cluster, polys=polys,
                                       threads=threads, max_terms=max_terms)
    reps, unions = none, np.zeros(0, dtype=object)
    if len(over):  # many zones drawn over one another: their union, with GEOS
        dropped = np.zeros(cluster.max() + 1, dtype=bool)
        dropped[over] = True
        labels = np.where(dropped[np.maximum(cluster, 0)] & (cluster >= 0), cluster, -1)
        reps, unions = union_clusters(sub, labels, threads=threads)
    return OverlapSets(len(geoms), used, sub, polys, inner, cluster, levels, areas, over,
                       reps, unions, derived)


def place_sets(sets: OverlapSets, regions: np.ndarray, pieces: Pieces, *, home: np.ndarray,
               first: int = 0, threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The common areas of ``sets.levels[first:]``, signed, per region.

    Parameters
    ----------
    sets : OverlapSets
    regions, pieces : ndarray, Pieces
        The regions and their pieces (region ``len(regions)``: outside).
    home : ndarray of int
        :func:`home_region` of ``sets.geoms`` (the one region each lies in, or -1).
    first : int, default 0
        The first level placed (0: the pairs).
    threads : int, default 1

    Returns
    -------
    zone, region, area : ndarray
        The first member of each set (a position in ``sets.geoms``), a region, and
        the common area there (m²), positive for sets of an even size.  The
        sets of the clusters in ``sets.over`` are placed too (the caller
        leaves them out).

    Examples
    --------
    Two communes split at x = 10 m; zone 0 crosses the border, zone 1 lies in
    commune 0, zone 2 crosses too.  The pair (0, 1) overlaps inside commune 0
    (8 m²); the pair (0, 2) overlaps on [8, 12] × [0, 4] m, across the border:
    clipped by the communes' pieces, 8 m² on each side.

    >>> from shapely.geometry import box
    >>> from geoagri._engine.pieces import cut_into_pieces
    >>> regions = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10)], dtype=object)
    >>> zones = np.array([box(0, 0, 12, 4), box(2, 2, 6, 6), box(8, 0, 14, 4)], dtype=object)
    >>> sets = overlap_sets(zones, np.array([0, 0]), np.array([1, 2]), np.array([8.0, 16.0]))
    >>> g, r, a = place_sets(sets, regions, cut_into_pieces(regions),
    ...                      home=np.array([-1, 0, -1]))
    >>> sorted(zip(g.tolist(), r.tolist(), a.tolist()))
    [(0, 0, 8.0), (0, 0, 8.0), (0, 1, 8.0)]
    """
    out_g, out_r, out_a = [], [], []
    for k in range(first, len(sets.levels)):
        members, common = sets.levels[k], sets.areas[k]
        sign = 1.0 if k % 2 == 0 else -1.0  # sets of 2, 3, …: +, -, …
        # the common part lies in the region of any member that lies in one
        h = home[members]
        at = np.argmax(h >= 0, axis=1)
        h = h[np.arange(len(h)), at]
        inside = h >= 0
        out_g.append(members[inside, 0])
        out_r.append(h[inside])
        out_a.append(sign * common[inside])
        cross = ~inside
        if cross.any():  # clipped by the pieces, as one more member
            tg, tr, ta = _crossing(members[cross], common[cross], sets.bounds(),
                                   sets.with_pieces(pieces), regions, pieces, threads=threads)
            out_g.append(tg)
            out_r.append(tr)
            out_a.append(sign * ta)
    none = np.zeros(0, dtype=np.int64)
    return (np.concatenate([none, *out_g]), np.concatenate([none, *out_r]),
            np.concatenate([np.zeros(0), *out_a]))


def sets_by_region(sets: OverlapSets, raw: tuple[np.ndarray, np.ndarray, np.ndarray],
                   regions: np.ndarray, pieces: Pieces, *, home: np.ndarray | None = None,
                   placed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
                   threads: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area counted more than once per region, from :func:`overlap_sets`' sets.

    See :func:`overlap_by_region` (the parameters and the result).  ``home``:
    :func:`home_region` of all the zones, when the caller has it; ``placed``:
    the pairs already placed (:func:`place_sets` of the sets given to
    ``overlap_sets``' ``on_pairs``).
    """
    none = np.zeros(0, dtype=np.int64)
    if not len(sets.used):
        return none, none, np.zeros(0)
    inner, cluster = sets.inner, sets.cluster
    n = len(sets.geoms)
    local = np.full(sets.n, -1)
    local[sets.used] = np.arange(n)
    g, r, a = raw
    rows = local[g] >= 0
    g, r, a = local[g[rows]], r[rows], a[rows]
    home = home_region(g, r, n=n, n_regions=len(regions)) if home is None else home[sets.used]
    pg, pr, pa = place_sets(sets, regions, pieces, home=home, first=0 if placed is None else 1,
                            threads=threads)
    if placed is not None:
        pg, pr, pa = np.r_[placed[0], pg], np.r_[placed[1], pr], np.r_[placed[2], pa]
    dropped = np.zeros(n, dtype=bool)  # members of the clusters unioned with GEOS
    if len(sets.over):
        over = np.zeros(int(cluster.max()) + 1, dtype=bool)
        over[sets.over] = True
        dropped[cluster >= 0] = over[cluster[cluster >= 0]]
    keep = ~dropped[pg]
    out_g, out_r, out_a = [g[inner[g]], pg[keep]], [r[inner[g]], pr[keep]], \
        [a[inner[g]], pa[keep]]
    if len(sets.over):  # the members' area less the union's
        member = dropped[g]
        out_g.append(g[member])
        out_r.append(r[member])
        out_a.append(a[member])
        ug, ur, ua = allocate(sets.unions, regions, pieces, threads=threads)
        out_g.append(sets.reps[ug])
        out_r.append(ur)
        out_a.append(-ua)
    return sets.used[np.concatenate(out_g)], np.concatenate(out_r), np.concatenate(out_a)


def overlap_by_region(geoms: np.ndarray, i: np.ndarray, j: np.ndarray, area: np.ndarray,
                      raw: tuple[np.ndarray, np.ndarray, np.ndarray], regions: np.ndarray,
                      pieces: Pieces, *, threads: int = 1, max_terms: int = MAX_TERMS
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area counted more than once by overlapping geometries, per region.

    :func:`overlap_sets`, then :func:`sets_by_region`.

    Parameters
    ----------
    geoms : ndarray of shapely (multi)polygons
        The zones, in a metric CRS.
    i, j, area : ndarray
        Their overlapping pairs and overlap areas, as
        :func:`geoagri._engine.pieces.overlap_pairs` returns them (sorted, ``i < j``,
        pairs of one group only).
    raw : tuple of ndarray
        ``allocate(geoms, regions, pieces)``: the zones' own areas per region.
    regions, pieces : ndarray, Pieces
        The regions (communes) and their pieces; region ``len(regions)`` is
        outside every region.
    threads : int, default 1
    max_terms : int, default MAX_TERMS
        Sets per cluster above which the cluster is unioned with GEOS.

    Returns
    -------
    zone, region, area : ndarray
        Rows whose areas (m², signed) sum, per region and group (the group
        of ``zone``), to the area the group's zones count more than once
        there: the sum of the zones' areas less the area of their union.
    """
    sets = overlap_sets(geoms, i, j, area, threads=threads, max_terms=max_terms)
    return sets_by_region(sets, raw, regions, pieces, threads=threads)
