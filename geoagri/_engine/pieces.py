"""Polygons cut into quadtree pieces, and the exact area of geometries in them.

Shared by :mod:`geoagri.area` (zones in communes) and the coverage analyses
(zones in service areas): a large polygon (a 600-vertex commune, a service
area of 40,000 vertices) is cut once into small pieces; then the area of many
small geometries in each region is found with as little geometry work as
possible (see :func:`allocate`).

Examples
--------
>>> from shapely.geometry import Point, box
>>> regions = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10)], dtype=object)
>>> pieces = cut_into_pieces(regions)
>>> g, r, a = allocate(np.array([box(5, 0, 15, 10), box(2, 2, 3, 3)], dtype=object),
...                    regions, pieces)
>>> sorted(zip(g.tolist(), r.tolist(), a.tolist()))
[(0, 0, 50.0), (0, 1, 50.0), (1, 0, 1.0)]
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geoagri._engine.boxes import overlapping_boxes
from geoagri._engine.clip import Polygons, intersection_area, polygons
from geoagri._engine.distinct import distinct, distinct_positions
from geoagri._engine.threads import prepared_copies, query
from geoagri._polygonal import polygonal

__all__ = ["REL_TOL", "Pieces", "allocate", "cluster_labels", "cut_into_pieces",
           "cut_once", "overlap_pairs"]

#: A geometry whose unallocated area is below this share of its area is inside.
REL_TOL = 1e-9
#: A geometry crossing a border with more vertices than this is cut into pieces of
#: its own before it is clipped (:func:`allocate`).  Nine unions of zones of
#: 170–380 vertices, each 14–33 km long across 7,601 pieces: 0.27 s clipped whole,
#: 0.045 s cut first (0.003 s of it cutting).
CUT_VERTICES = 128


@dataclass(frozen=True)
class Pieces:
    """Regions (communes, service areas) cut into quadtree pieces, with an index.

    Attributes
    ----------
    geoms : ndarray of shapely geometries
        The pieces (each a part of one commune).
    commune : ndarray of int
        Position of each piece's region in the array that was cut.
    cells : ndarray, shape (n, 4)
        Quadtree cell of each piece (xmin, ymin, xmax, ymax), metres.
    full : ndarray of bool
        Whether the piece is its whole cell (the cell lies inside the commune).
    tree : shapely.STRtree
        Index of ``geoms``.
    flat : Polygons
        ``geoms`` flattened (:func:`geoagri._engine.clip.polygons`), on first use.
    """

    geoms: np.ndarray
    commune: np.ndarray
    cells: np.ndarray
    full: np.ndarray
    tree: shapely.STRtree

    @functools.cached_property
    def flat(self) -> Polygons:
        """The pieces flattened, once (they are clipped with as one more member of a set)."""
        return polygons(self.geoms)

    def prepared(self, regions: np.ndarray) -> np.ndarray:
        """The regions that were cut, prepared: the calling thread's own copies, made once.

        GEOS builds a prepared geometry's indexes lazily and not thread-safely, so the
        regions themselves are never prepared (:func:`geoagri._engine.threads.prepared_copies`)
        and two threads that allocate to the same pieces (the infrastructure scenario
        beside the linkage) get a copy each; the calls of one thread reuse its copy and
        the indexes already built in it (a national delta allocates a dozen times).
        """
        cache = self.__dict__.setdefault("_prepared", {})
        mine = cache.get(threading.get_ident())
        if mine is None or len(mine) != len(regions):
            mine = cache[threading.get_ident()] = prepared_copies(regions)
        return mine


#: Pieces of the last few arrays cut by :func:`cut_once`, with the geometries they were
#: cut from (held, so that the ids in the key stay theirs).
_CUT: dict[tuple, tuple[list, Pieces]] = {}
_CUT_SIZE = 4
_CUT_LOCK = threading.Lock()  # the infrastructure scenario's thread cuts beside the linkage


def cut_once(geoms: np.ndarray, *, max_vertices: int = 32) -> Pieces:
    """:func:`cut_into_pieces` of the same geometry objects computed once.

    Repeated analyses of one communes layer (the report measures a dozen
    indicators on the same communes, each through :func:`geoagri.area.area_by_zone`)
    receive the very same commune objects from :func:`geoagri.boundaries.disjoint`'s
    cache; their pieces are cut the first time and shared afterwards (the
    result is not to be modified).  Keyed by the objects' identities, which
    the cache keeps alive, so a hit is the same input.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> regions = np.array([box(0, 0, 10, 10)], dtype=object)
    >>> cut_once(regions) is cut_once(regions.copy())
    True
    """
    geoms = np.asarray(geoms, dtype=object)
    key = (tuple(map(id, geoms)), max_vertices)
    with _CUT_LOCK:  # one cut of the same communes, whichever thread asks first
        hit = _CUT.get(key)
        if hit is None:
            hit = _CUT[key] = (list(geoms), cut_into_pieces(geoms, max_vertices=max_vertices))
            while len(_CUT) > _CUT_SIZE:
                _CUT.pop(next(iter(_CUT)))
    return hit[1]


def _clip_by_rects(geoms: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """Each geometry clipped to its rectangle (GEOS' rectangle clipping).

    About 6 times faster than a general intersection with the box.  The public
    :func:`shapely.clip_by_rect` takes one rectangle per call; shapely's
    underlying ufunc takes arrays, and is used where it exists.
    """
    ufunc = getattr(shapely.lib, "clip_by_rect", None)
    if ufunc is not None:
        return ufunc(geoms, *rects.T)
    out = np.empty(len(geoms), dtype=object)
    out[:] = [shapely.clip_by_rect(g, *r) for g, r in zip(geoms, rects.tolist(), strict=True)]
    return out


def cut_into_pieces(geoms: Sequence[Any] | np.ndarray, *, max_vertices: int = 32,
                   max_depth: int = 12) -> Pieces:
    """Cut polygons into quadtree pieces of at most ``max_vertices`` vertices.

    Parameters
    ----------
    geoms : array of Polygon or MultiPolygon
        Communes in a metric CRS.
    max_vertices : int, default 32
        A piece with more vertices is split into four.  GEOS intersects a
        small polygon with a 32-vertex piece about twice as fast as with a
        64-vertex one (measured on the province benchmark).
    max_depth : int, default 12
        Deepest split (a guard against degenerate input).

    Returns
    -------
    Pieces

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> p = cut_into_pieces([Point(0, 0).buffer(1000, quad_segs=64)], max_vertices=32)
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
        clipped = _clip_by_rects(parent, quads)
        clipped = polygonal(clipped)
        keep = shapely.area(clipped) > 0
        current, owner, cells = clipped[keep], owner[keep], quads[keep]
    g = np.concatenate(out_g)
    bad = ~shapely.is_valid(g)
    if bad.any():
        g[bad] = polygonal(shapely.make_valid(g[bad]))
    return Pieces(g, np.concatenate(out_c), np.concatenate(out_cells),
                         np.concatenate(out_full), shapely.STRtree(g))


def allocate(geoms: np.ndarray, communes: np.ndarray, pieces: Pieces, *,
             threads: int = 1, cut_large: bool = True
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Area (m²) of each geometry in each region; region ``len(communes)`` = outside.

    ``communes`` are the regions that were cut into ``pieces`` (any
    non-overlapping polygons; left unprepared: the thread's copies are prepared,
    :meth:`Pieces.prepared`).

    Three passes, cheapest first: a geometry whose bounding box lies in a
    full quadtree cell is inside that commune (no GEOS call); one properly
    contained in a (prepared) commune is inside it; only the rest, the
    geometries that cross a border, are intersected with the small pieces.
    A valid crossing geometry of more than ``CUT_VERTICES`` vertices (the union
    of a cluster of zones, a service area) is first cut into quadtree pieces of
    its own (:func:`cut_into_pieces`), and its fragments are allocated (with
    ``cut_large=False``): each fragment meets few pieces, each clipped at a
    small cost, where the whole would be clipped by every piece it meets.

    Returns ``(geom_index, commune_index, area_m2)``: rows whose areas sum,
    per geometry and region, to the geometry's area in that region (a
    geometry crossing several pieces of one region has a row per piece; sum
    them with ``np.bincount``), plus a row for the part outside every region
    where there is one.
    """
    n_communes = len(communes)
    area = shapely.area(geoms)
    gi, pj = query(pieces.tree, geoms, threads=threads)
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
        pair = distinct(pc.astype(np.int64) * len(geoms) + pg)
        pc2, pg2 = np.divmod(pair, len(geoms))
        prepared = pieces.prepared(communes)
        cuts = np.searchsorted(pc2, np.unique(pc2[np.linspace(0, len(pc2) - 1, threads + 1)
                                                 .astype(int)[1:-1]]))
        chunks = np.split(np.arange(len(pc2)), cuts)
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(
                lambda k: shapely.contains_properly(prepared[pc2[k]], geoms[pg2[k]]), chunks))
        contained = np.concatenate(parts)
        home[pg2[contained]] = pc2[contained]
    whole = np.flatnonzero(home >= 0)
    # pass 3: geometries crossing a border, intersected piece by piece
    rest = home[gi] < 0
    gi_r, pj_r = gi[rest], pj[rest]
    crossing, at = distinct_positions(gi_r, len(geoms))
    cut = [np.zeros(0, dtype=np.int64)] * 2 + [np.zeros(0)]
    if cut_large:  # large ones in fragments of their own, the fragments allocated
        large = shapely.get_num_coordinates(geoms[crossing]) > CUT_VERTICES
        large[large] = shapely.is_valid(geoms[crossing[large]])  # GEOS cuts valid ones
        if large.any():
            big = crossing[large]
            done, owner, frag = _cut_each(geoms[big])
            large[large] = done
            fg, fc, fa = allocate(frag, communes, pieces, threads=threads, cut_large=False)
            inside = fc < n_communes  # the part outside comes from the whole, below
            cut = [big[owner[fg[inside]]], fc[inside], fa[inside]]
            gi_r, pj_r = gi_r[~large[at]], pj_r[~large[at]]
            crossing, at = distinct_positions(gi_r, len(geoms))
    full_r = pieces.full[pj_r]
    cross_geoms = geoms[crossing]
    flat = polygons(cross_geoms, threads=threads)  # once per crossing geometry, not per pair
    a = np.empty(len(gi_r))
    if full_r.any():  # a full cell is a rectangle
        c = pieces.cells[pj_r[full_r]]
        a[full_r] = intersection_area(cross_geoms, shapely.box(*c.T), threads=threads,
                                      a_index=at[full_r], a_polys=flat)
    if (~full_r).any():
        used, upj = distinct_positions(pj_r[~full_r], len(pieces.geoms))
        a[~full_r] = intersection_area(cross_geoms, pieces.geoms[used], threads=threads,
                                       a_index=at[~full_r], b_index=upj, a_polys=flat)
    g = np.concatenate([whole, gi_r, cut[0]])
    c = np.concatenate([home[whole], pieces.commune[pj_r], cut[1]])
    a = np.concatenate([area[whole], a, cut[2]])
    allocated = np.bincount(g, weights=a, minlength=len(geoms))
    outside = area - allocated
    outside[np.abs(outside) <= REL_TOL * area] = 0.0
    out = np.flatnonzero(outside > 0)
    return (np.concatenate([g, out]), np.concatenate([c, np.full(len(out), n_communes)]),
            np.concatenate([a, outside[out]]))


def _cut_each(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadtree pieces of 32 vertices of each geometry that GEOS's rectangle clipping takes.

    GEOS refuses to clip some valid polygons (a ring of the pieces it made has
    three points); those are left whole, found by halving the array.  Returns
    ``(cut, owner, fragments)``: whether each geometry was cut, and the fragments
    with the position of the geometry each came from.
    """
    try:
        p = cut_into_pieces(geoms, max_vertices=32)
        return np.ones(len(geoms), dtype=bool), p.commune, p.geoms
    except shapely.errors.GEOSException:
        if len(geoms) == 1:
            return np.zeros(1, dtype=bool), np.zeros(0, dtype=np.int64), geoms[:0]
        h = len(geoms) // 2
        (c0, o0, f0), (c1, o1, f1) = _cut_each(geoms[:h]), _cut_each(geoms[h:])
        return np.r_[c0, c1], np.r_[o0, o1 + h], np.r_[f0, f1]


def overlap_pairs(geoms: np.ndarray, codes: np.ndarray, *, polys: Polygons | None = None,
                  threads: int = 1, flattened: bool = False,
                  candidates: tuple[np.ndarray, np.ndarray] | None = None) -> tuple:
    """Pairs of same-group geometries whose interiors intersect, with their overlap area.

    Candidate pairs are the boxes of one group overlapping with positive
    area (:func:`geoagri._engine.boxes.overlapping_boxes`); their overlap areas from
    :func:`geoagri._engine.clip.intersection_area`.  An overlap below ``REL_TOL``
    of the smaller geometry's area is rounding on a shared edge (touching),
    not an overlap.

    Parameters
    ----------
    geoms : ndarray of shapely geometries
    codes : ndarray of int
        Group of each geometry; only geometries of one group are paired.
    polys : Polygons, optional
        :func:`geoagri._engine.clip.polygons` of ``geoms``, when the caller has them
        (else only the geometries in a candidate pair are flattened).
    threads : int, default 1
    flattened : bool, default False
        Also return ``(used, polys)``: positions (ascending) of geometries
        that include every one in a pair, and those geometries flattened,
        for :func:`geoagri._engine.union.overlap_sets`.
    candidates : (i, j), optional
        The pairs of boxes, when the caller has them: exactly
        ``overlapping_boxes(shapely.bounds(geoms), codes)``
        (:func:`geoagri._engine.batches.zone_batches` finds them for a whole layer).

    Returns
    -------
    i, j : ndarray of int
        The pairs (``i < j``), sorted by ``i`` then ``j``.
    area : ndarray of float
        Their overlap areas, in the squared units of the CRS.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = np.array([box(0, 0, 2, 2), box(1, 1, 3, 3), box(2, 0, 4, 1), box(0, 0, 2, 2)])
    >>> [x.tolist() for x in overlap_pairs(g, np.zeros(4, dtype=int))]
    [[0, 0, 1], [1, 3, 3], [1.0, 4.0, 1.0]]
    """
    n = len(geoms)
    none = np.zeros(0, dtype=np.int64)
    nothing = (none, none, np.zeros(0)) + (((none, polygons(geoms[:0])),) if flattened else ())
    if n < 2:
        return nothing
    i, j = (overlapping_boxes(shapely.bounds(geoms), codes) if candidates is None
            else candidates)  # boxes that overlap, one group
    if not len(i):
        return nothing
    if polys is None:  # flatten only the geometries in a candidate pair
        used, at = distinct_positions(np.r_[i, j], n)
        sub, flat = geoms[used], polygons(geoms[used], threads=threads)
        a_index, b_index = at[:len(i)], at[len(i):]
    else:
        used, sub, flat, a_index, b_index = np.arange(n), geoms, polys, i, j
    area = intersection_area(sub, sub, a_index=a_index, b_index=b_index, a_polys=flat,
                             b_polys=flat, threads=threads)
    # shared edges clip to rounding-sized slivers: below REL_TOL of the smaller, touching
    size = shapely.area(sub)
    overlap = area > REL_TOL * np.minimum(size[a_index], size[b_index])
    i, j, area = i[overlap], j[overlap], area[overlap]  # still sorted by i, then j
    if flattened:
        return i, j, area, (used, flat)
    return i, j, area


def cluster_labels(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected components of the graph of ``n`` nodes and edges ``(i, j)``; ``-1`` if alone.

    Examples
    --------
    >>> cluster_labels(5, np.array([0, 3]), np.array([1, 4])).tolist()
    [0, 0, -1, 1, 1]
    """
    labels = np.full(n, -1)
    if not len(i):
        return labels
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    members = np.zeros(n, dtype=bool)
    members[i] = members[j] = True
    _, labels[members] = distinct_positions(comp[members], n)
    return labels
