"""Exact areas of pairwise polygon intersections, without building the polygons.

The area engine (:mod:`geoagri._engine.pieces`) spends most of its time on one
question asked tens of thousands of times: how many square metres of this
parcel lie in that piece of a commune, or overlap that other parcel?  GEOS
answers it by building the intersection polygon with its full topology, about
18 µs per pair.  The area alone needs much less.

How
---
* A ring clipped against a half-plane (Sutherland–Hodgman) keeps its winding
  number inside the half-plane and has winding zero outside, whatever the
  ring's shape (the output may have zero-width bridges along the clipping
  line, which add no area).  Clipped by all edges of a convex polygon, the
  shoelace area of the result is the area of the ring's inside within the
  convex polygon.
* A polygon whose ring is not convex is a signed sum of the triangles
  fanned from its first vertex (``v0, vi, vi+1``): the triangles' winding
  numbers add up to the ring's.  So the area of ``S ∩ P`` is the signed sum
  of the areas of ``S ∩ T`` over the fan, each ``T`` convex.  Holes enter
  with a minus sign.  No triangulation, no new vertex.
* For each pair the side that costs less to clip with (its clipping edges ×
  the other side's vertices) is the clipper; a compiled kernel (numba) clips
  all pairs on threads.  Coordinates are shifted to the clipping part's
  first vertex, so the shoelace products stay small (metres, not millions of
  metres) and rounding stays near 1e-12 of the area.  Pairs where both
  sides are large are left to GEOS.

Invalid (self-intersecting) polygons are measured by winding number, as
:func:`shapely.area` does; repair them first
(:func:`geoagri.validate.canonicalize` with ``repair=True``).

Examples
--------
>>> from shapely.geometry import Polygon, box
>>> a = np.array([box(0, 0, 2, 2), Polygon([(0, 0), (4, 0), (4, 4), (0, 4)],
...                                         [[(1, 1), (1, 3), (3, 3), (3, 1)]])])
>>> b = np.array([box(1, 1, 3, 3), box(0, 0, 4, 2)])
>>> intersection_area(a, b).tolist()  # the second: 8 m² minus the hole's 2 m²
[1.0, 6.0]
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import shapely

from geoagri._engine.threads import parallel

__all__ = ["Polygons", "common_area", "concat", "intersection_area", "polygons"]

#: Pairs whose cheaper clipping costs more edge × vertex steps than this go to GEOS.
MAX_CLIP_COST = 40_000


class Polygons(NamedTuple):
    """Polygons as flat rings, with the convex parts to clip with.

    Attributes
    ----------
    ring_start : ndarray of int, shape (n + 1,)
        Geometry ``i``'s rings are ``ring_start[i]:ring_start[i + 1]``.
    vstart : ndarray of int, shape (R + 1,)
        Ring ``r``'s vertices are ``x[vstart[r]:vstart[r + 1] - 1]`` (the
        last coordinate closes the ring).
    x, y : ndarray of float
        Vertex coordinates.
    weight : ndarray of float, shape (R,)
        +1 for an exterior ring, -1 for a hole.
    part_start : ndarray of int, shape (n + 1,)
        Geometry ``i``'s convex parts are ``part_start[i]:part_start[i + 1]``.
    pv_start, pv : ndarray of int
        Part ``p``'s vertices are ``pv[pv_start[p]:pv_start[p + 1]]``
        (positions in ``x``, ``y``).
    p_orient : ndarray of float, shape (P,)
        +1 if the part runs counter-clockwise, -1 if clockwise.
    p_weight : ndarray of float, shape (P,)
        Sign of the part's area in the sum that makes the geometry.
    n_vertices, clip_edges : ndarray of int, shape (n,)
        Vertices of each geometry, and edges of its parts (the work of
        clipping with it).
    """

    ring_start: np.ndarray
    vstart: np.ndarray
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    part_start: np.ndarray
    pv_start: np.ndarray
    pv: np.ndarray
    p_orient: np.ndarray
    p_weight: np.ndarray
    n_vertices: np.ndarray
    clip_edges: np.ndarray


def _flat_rings(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(ring_owner, exterior, ring_sizes, coords)`` of polygons, rings in geometry order.

    ``coords`` are shapely's coordinates of the polygonal geometries, closing
    vertices included: ring ``r`` holds ``ring_sizes[r]`` of them.
    """
    types = shapely.get_type_id(geoms)
    poly = np.isin(types, (3, 6))
    coords = shapely.get_coordinates(geoms if poly.all() else geoms[poly])
    n_rings = np.zeros(len(geoms), dtype=np.int64)
    n_rings[poly] = 1
    simple = (types == 3) & (shapely.get_num_interior_rings(geoms) == 0)
    other = np.flatnonzero(poly & ~simple)  # multipolygons and polygons with holes
    rings = ring_part = parts_owner = np.zeros(0, dtype=np.int64)
    if len(other):
        parts, parts_owner = shapely.get_parts(geoms[other], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        n_rings[other] = np.bincount(parts_owner[ring_part], minlength=len(other))
    r_start = np.r_[0, np.cumsum(n_rings)]
    owner = np.repeat(np.arange(len(geoms)), n_rings)
    sizes = np.empty(len(owner), dtype=np.int64)
    exterior = np.ones(len(owner), dtype=bool)
    one = np.flatnonzero(simple)
    sizes[r_start[one]] = shapely.get_num_coordinates(geoms)[one]
    if len(other):
        ring_geom = parts_owner[ring_part]  # position in ``other`` of each ring
        first_of_geom = np.r_[0, np.cumsum(np.bincount(ring_geom, minlength=len(other)))[:-1]]
        at = r_start[other][ring_geom] + np.arange(len(rings)) - first_of_geom[ring_geom]
        sizes[at] = shapely.get_num_coordinates(rings)
        exterior[at] = np.r_[True, ring_part[1:] != ring_part[:-1]]
    return owner, exterior, sizes, coords


def _ring_parts(x: np.ndarray, y: np.ndarray, vstart: np.ndarray,
                weight: np.ndarray) -> tuple:  # pragma: no cover (compiled)
    """Convex parts of rings: the ring itself if convex, else its fan's non-flat triangles.

    Returns ``(p_ring, pv_start, pv, p_orient, p_weight)`` (see :class:`Polygons`).
    """
    nr = len(vstart) - 1
    convex = np.zeros(nr, dtype=np.bool_)
    orient = np.zeros(nr)
    n_parts = 0
    n_pv = 0
    for r in range(nr):
        s = vstart[r]
        m = vstart[r + 1] - s - 1  # the closing vertex repeats the first
        if m < 3:
            continue
        left = False
        right = False
        area = 0.0
        for k in range(m):
            i = s + k
            j = s + (k + 1) % m
            h = s + (k + 2) % m
            turn = (x[j] - x[i]) * (y[h] - y[j]) - (y[j] - y[i]) * (x[h] - x[j])
            left |= turn > 0.0
            right |= turn < 0.0
            area += (x[i] - x[s]) * (y[j] - y[s]) - (x[j] - x[s]) * (y[i] - y[s])
        if area == 0.0:
            continue
        orient[r] = 1.0 if area > 0.0 else -1.0
        convex[r] = not (left and right)
        if convex[r]:
            n_parts += 1
            n_pv += m
        else:
            n_parts += m - 2
            n_pv += 3 * (m - 2)
    p_ring = np.empty(n_parts, dtype=np.int64)
    pv_start = np.empty(n_parts + 1, dtype=np.int64)
    pv = np.empty(n_pv, dtype=np.int64)
    p_orient = np.empty(n_parts)
    p_weight = np.empty(n_parts)
    p = 0
    q = 0
    pv_start[0] = 0
    for r in range(nr):
        if orient[r] == 0.0:
            continue
        s = vstart[r]
        m = vstart[r + 1] - s - 1  # the closing vertex repeats the first
        if convex[r]:
            for k in range(m):
                pv[q] = s + k
                q += 1
            p_ring[p] = r
            p_orient[p] = orient[r]
            p_weight[p] = weight[r]
            p += 1
            pv_start[p] = q
            continue
        for k in range(1, m - 1):  # the fan (v0, vk, vk+1), signed
            i = s + k
            tri = (x[i] - x[s]) * (y[i + 1] - y[s]) - (x[i + 1] - x[s]) * (y[i] - y[s])
            if tri == 0.0:
                continue
            pv[q] = s
            pv[q + 1] = i
            pv[q + 2] = i + 1
            q += 3
            p_ring[p] = r
            p_orient[p] = 1.0 if tri > 0.0 else -1.0
            p_weight[p] = weight[r] * orient[r] * p_orient[p]
            p += 1
            pv_start[p] = q
    return p_ring[:p], pv_start[:p + 1], pv[:q], p_orient[:p], p_weight[:p]


def concat(a: Polygons, b: Polygons) -> Polygons:
    """The polygons of ``a`` followed by those of ``b``, as one :class:`Polygons`.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = np.array([box(0, 0, 1, 1), box(0, 0, 2, 2)])
    >>> both = concat(polygons(g[:1]), polygons(g[1:]))
    >>> common_area(g, np.array([[0, 1]]), polys=both).tolist()
    [1.0]
    """
    def after(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        return np.r_[first, second[1:] + first[-1]]

    return Polygons(after(a.ring_start, b.ring_start), after(a.vstart, b.vstart),
                    np.r_[a.x, b.x], np.r_[a.y, b.y], np.r_[a.weight, b.weight],
                    after(a.part_start, b.part_start), after(a.pv_start, b.pv_start),
                    np.r_[a.pv, b.pv + len(a.x)], np.r_[a.p_orient, b.p_orient],
                    np.r_[a.p_weight, b.p_weight], np.r_[a.n_vertices, b.n_vertices],
                    np.r_[a.clip_edges, b.clip_edges])


@functools.cache
def _compiled() -> tuple[Callable[..., tuple], Callable[..., None]]:
    """The two kernels compiled by numba: ``(ring_parts, clip_kernel)``.

    Compiled, or loaded from numba's on-disk cache (~0.3 s), when an analysis
    first needs them, not when the package is imported: reading and checking
    layers never loads numba.  The explicit signatures make numba compile at
    this call (the first one after installing takes ~4 s), not inside the
    first timed call of the kernel.
    """
    import numba

    ring_parts = numba.njit("(f8[::1], f8[::1], i8[::1], f8[::1])", cache=True,
                            nogil=True)(_ring_parts)
    clip_kernel = numba.njit(
        "(f8[::1], f8[::1], i8[::1], i8[::1], f8[::1], f8[::1], f8[::1], i8[::1], i8[::1],"
        " i8[::1], f8[::1], f8[::1], i8[::1], i8[:, ::1], i8, i8, f8[::1])", cache=True,
        nogil=True)(_clip_kernel)
    return ring_parts, clip_kernel


def polygons(geoms: np.ndarray, *, threads: int = 1, min_chunk: int = 20_000) -> Polygons:
    """Flatten polygons into rings and convex parts (see the module docstring).

    Parameters
    ----------
    geoms : array of shapely geometries
        Polygons and multipolygons; other geometries get no rings (area 0).
    threads : int, default 1
        Threads (chunks of at least ``min_chunk`` geometries flattened side by
        side, then joined).

    Returns
    -------
    Polygons

    Examples
    --------
    >>> from shapely.geometry import Polygon, box
    >>> notch = Polygon([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2)])
    >>> p = polygons(np.array([box(0, 0, 1, 1), notch, box(0, 0, 1, 1).boundary]))
    >>> np.diff(p.part_start).tolist()  # the notch's fan: 3 triangles, one of them flat
    [1, 2, 0]
    >>> p.clip_edges.tolist()
    [4, 6, 0]
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    chunks = min(threads, n // min_chunk)
    if chunks > 1:  # shapely's work releases the GIL: chunks read side by side, joined once
        cuts = np.linspace(0, n, chunks + 1).astype(int)
        with ThreadPoolExecutor(chunks) as pool:
            read = list(pool.map(lambda k: _flat_rings(geoms[cuts[k]:cuts[k + 1]]),
                                 range(chunks)))
        owner = np.concatenate([r[0] + cut for r, cut in zip(read, cuts[:-1], strict=True)])
        exterior, sizes = (np.concatenate([r[k] for r in read]) for k in (1, 2))
        x, y = (np.concatenate([r[3][:, k] for r in read]) for k in (0, 1))
    else:
        owner, exterior, sizes, coords = _flat_rings(geoms)
        x = np.ascontiguousarray(coords[:, 0])
        y = np.ascontiguousarray(coords[:, 1])
    vstart = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    weight = np.where(exterior, 1.0, -1.0)
    p_ring, pv_start, pv, p_orient, p_weight = _compiled()[0](x, y, vstart, weight)
    p_size = np.diff(pv_start)
    ring_start = np.r_[0, np.cumsum(np.bincount(owner, minlength=n))].astype(np.int64)
    part_start = np.r_[0, np.cumsum(np.bincount(owner[p_ring], minlength=n))].astype(np.int64)
    n_vertices = np.bincount(owner, weights=np.maximum(sizes - 1, 0), minlength=n).astype(np.int64)
    clip_edges = np.bincount(owner[p_ring], weights=p_size, minlength=n).astype(np.int64)
    return Polygons(ring_start, vstart, x, y, weight, part_start, pv_start, pv,
                    p_orient.astype(np.float64), p_weight.astype(np.float64), n_vertices,
                    clip_edges)


def _clip_kernel(sx: np.ndarray, sy: np.ndarray, s_vstart: np.ndarray, s_ring_start: np.ndarray,
                 s_weight: np.ndarray, cx_: np.ndarray, cy_: np.ndarray, c_part_start: np.ndarray,
                 pv_start: np.ndarray, pv: np.ndarray, p_orient: np.ndarray,
                 p_weight: np.ndarray, subject: np.ndarray, clippers: np.ndarray, lo: int,
                 hi: int, out: np.ndarray) -> None:  # pragma: no cover (compiled)
    """Area of subject geometry ``subject[r]`` inside all geometries ``clippers[r]``, rows lo..hi.

    Each ring of the subject is clipped by one convex part of each clipper in
    turn, for every combination of parts (rings outermost, the last clipper's
    part varying fastest), and the areas are summed with the ring's and the
    parts' signs, in that order.  Nothing is allocated per combination.
    """
    cap = 64
    bx = np.empty(cap)
    by = np.empty(cap)
    tx = np.empty(cap)
    ty = np.empty(cap)
    n_clip = clippers.shape[1]
    part = np.empty(n_clip, dtype=np.int64)
    for r in range(lo, hi):
        combos = 1
        for c in range(n_clip):
            q = clippers[r, c]
            combos *= c_part_start[q + 1] - c_part_start[q]
        total = 0.0
        g = subject[r]
        for ring in range(s_ring_start[g], s_ring_start[g + 1]):
            for t in range(combos):
                rest = t
                w = s_weight[ring]
                for c in range(n_clip - 1, -1, -1):  # mixed radix: the last clipper fastest
                    q = clippers[r, c]
                    radix = c_part_start[q + 1] - c_part_start[q]
                    part[c] = c_part_start[q] + rest % radix
                    rest //= radix
                for c in range(n_clip):
                    w *= p_weight[part[c]]
                p0 = part[0]
                ox = cx_[pv[pv_start[p0]]]  # shifted to the first part's first vertex
                oy = cy_[pv[pv_start[p0]]]
                s = s_vstart[ring]
                n = s_vstart[ring + 1] - s - 1  # the closing vertex repeats the first
                if 2 * n + 2 > cap:
                    cap = 2 * (2 * n + 2)
                    bx = np.empty(cap)
                    by = np.empty(cap)
                    tx = np.empty(cap)
                    ty = np.empty(cap)
                for i in range(n):
                    bx[i] = sx[s + i] - ox
                    by[i] = sy[s + i] - oy
                for c in range(n_clip):
                    p = part[c]
                    if n == 0:
                        break
                    q0 = pv_start[p]
                    k = pv_start[p + 1] - q0
                    orient = p_orient[p]
                    for e in range(k):
                        ax = cx_[pv[q0 + e]] - ox
                        ay = cy_[pv[q0 + e]] - oy
                        f = q0 + e + 1 if e + 1 < k else q0
                        dx = cx_[pv[f]] - ox - ax
                        dy = cy_[pv[f]] - oy - ay
                        if dx == 0.0 and dy == 0.0:
                            continue
                        dx *= orient  # the inside is on the left of a counter-clockwise edge
                        dy *= orient
                        if 2 * n + 2 > cap:  # a half-plane emits at most two vertices per vertex
                            cap = 2 * (2 * n + 2)
                            nbx = np.empty(cap)
                            nby = np.empty(cap)
                            nbx[:n] = bx[:n]
                            nby[:n] = by[:n]
                            bx = nbx
                            by = nby
                            tx = np.empty(cap)
                            ty = np.empty(cap)
                        m = 0
                        d0 = dx * (by[0] - ay) - dy * (bx[0] - ax)
                        di = d0
                        for i in range(n):
                            j = i + 1
                            if j < n:
                                dj = dx * (by[j] - ay) - dy * (bx[j] - ax)
                            else:
                                j = 0
                                dj = d0
                            if di >= 0.0:
                                tx[m] = bx[i]
                                ty[m] = by[i]
                                m += 1
                            if (di >= 0.0) != (dj >= 0.0):
                                t_ = di / (di - dj)
                                tx[m] = bx[i] + t_ * (bx[j] - bx[i])
                                ty[m] = by[i] + t_ * (by[j] - by[i])
                                m += 1
                            di = dj
                        bx, tx = tx, bx
                        by, ty = ty, by
                        n = m
                        if n == 0:
                            break
                area = 0.0
                for i in range(n):
                    j = i + 1 if i + 1 < n else 0
                    area += bx[i] * by[j] - bx[j] * by[i]
                total += w * abs(0.5 * area)
        out[r] = total


def _run_kernel(subj: Polygons, subject: np.ndarray, clip: Polygons, clippers: np.ndarray,
                *, threads: int) -> np.ndarray:
    """Area of each subject geometry inside all its clippers (a row each), on threads."""
    out = np.zeros(len(subject))
    args = (subj.x, subj.y, subj.vstart, subj.ring_start, subj.weight, clip.x, clip.y,
            clip.part_start, clip.pv_start, clip.pv, clip.p_orient, clip.p_weight,
            np.ascontiguousarray(subject, dtype=np.int64),
            np.ascontiguousarray(clippers, dtype=np.int64))
    kernel = _compiled()[1]
    chunks = max(1, min(threads, len(subject) // 5_000))
    bounds = np.linspace(0, len(subject), chunks + 1).astype(np.int64)
    if chunks == 1:
        kernel(*args, 0, len(subject), out)
    else:  # the kernel releases the GIL
        with ThreadPoolExecutor(chunks) as pool:
            list(pool.map(lambda c: kernel(*args, bounds[c], bounds[c + 1], out),
                          range(chunks)))
    return out


def intersection_area(a: np.ndarray, b: np.ndarray, *, threads: int = 1,
                      a_index: np.ndarray | None = None, b_index: np.ndarray | None = None,
                      a_polys: Polygons | None = None,
                      b_polys: Polygons | None = None) -> np.ndarray:
    """Area of ``a[i] ∩ b[i]`` for each pair, in the squared units of the CRS.

    Parameters
    ----------
    a, b : arrays of shapely (multi)polygons
        The pairs' geometries; or, with ``a_index`` (``b_index``), distinct
        geometries that the pairs refer to by position (each is then
        flattened once, however many pairs it is in).
    threads : int, default 1
        Threads for the kernel and the GEOS fallback.
    a_index, b_index : ndarray of int, optional
        For each pair, the position of its geometry in ``a`` (``b``).
    a_polys, b_polys : Polygons, optional
        :func:`polygons` of ``a`` (``b``), when the caller has them.

    Returns
    -------
    ndarray of float
        One area per pair.

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> a = np.array([Point(0, 0).buffer(1, quad_segs=64)])
    >>> b = np.array([box(0, 0, 5, 5), box(-5, -5, 0, 5)])
    >>> areas = intersection_area(a, b, a_index=np.array([0, 0]))
    >>> bool(abs(areas[0] - a[0].area / 4) < 1e-12), bool(abs(areas[1] - a[0].area / 2) < 1e-12)
    (True, True)
    """
    a = np.asarray(a, dtype=object)
    b = np.asarray(b, dtype=object)
    a_index = np.arange(len(a)) if a_index is None else np.asarray(a_index, dtype=np.int64)
    b_index = np.arange(len(b)) if b_index is None else np.asarray(b_index, dtype=np.int64)
    out = np.zeros(len(a_index))
    if not len(a_index):
        return out
    pa = polygons(a) if a_polys is None else a_polys
    pb = polygons(b) if b_polys is None else b_polys
    cost_b = pa.n_vertices[a_index] * pb.clip_edges[b_index]  # b clips a
    cost_a = pb.n_vertices[b_index] * pa.clip_edges[a_index]
    by_b = cost_b <= cost_a
    cost = np.where(by_b, cost_b, cost_a)
    kernel = cost <= MAX_CLIP_COST
    use = kernel & by_b
    if use.any():
        out[use] = _run_kernel(pa, a_index[use], pb, b_index[use, None], threads=threads)
    use = kernel & ~by_b
    if use.any():
        out[use] = _run_kernel(pb, b_index[use], pa, a_index[use, None], threads=threads)
    rest = ~kernel
    if rest.any():
        out[rest] = shapely.area(parallel(shapely.intersection, a[a_index[rest]],
                                          b[b_index[rest]], threads=threads))
    return out


def common_area(geoms: np.ndarray, members: np.ndarray, *, polys: Polygons | None = None,
                threads: int = 1) -> np.ndarray:
    """Area of the intersection of several geometries, for each row of ``members``.

    Parameters
    ----------
    geoms : array of shapely (multi)polygons
    members : ndarray of int, shape (n, k)
        Each row: positions in ``geoms`` of the ``k`` geometries intersected.
    polys : Polygons, optional
        :func:`polygons` of ``geoms``, when the caller has them.
    threads : int, default 1

    Returns
    -------
    ndarray of float
        One area per row, in the squared units of the CRS.

    Notes
    -----
    One member (the one with most convex parts) is the subject; its rings are
    clipped by one convex part of each other member in turn, for every
    combination of parts, and the areas summed with the parts' signs: the
    product of the members' indicator functions is the sum over those
    combinations, so the result is exact up to rounding.  Rows whose
    combinations would cost more than the kernel's limit go to GEOS.

    Examples
    --------
    >>> from shapely.geometry import Polygon, box
    >>> notch = Polygon([(0, 0), (4, 0), (2, 2), (4, 4), (0, 4)])  # a square less a notch
    >>> g = np.array([box(0, 0, 3, 3), box(1, 1, 4, 4), notch, box(5, 5, 6, 6)])
    >>> common_area(g, np.array([[0, 1, 2], [0, 1, 3]])).tolist()  # [1, 3]² less 1 m² of notch
    [3.0, 0.0]
    """
    geoms = np.asarray(geoms, dtype=object)
    members = np.asarray(members, dtype=np.int64)
    n, k = members.shape
    out = np.zeros(n)
    if not n:
        return out
    if k == 1:  # the kernel clips by at least one other member
        return shapely.area(geoms[members[:, 0]])
    pg = polygons(geoms) if polys is None else polys
    parts = np.diff(pg.part_start)[members]
    rings = np.diff(pg.ring_start)[members]
    # the member with most parts is the subject: the fewest combinations
    first = np.argmax(parts, axis=1)
    order = np.argsort(np.arange(k)[None, :] != first[:, None], axis=1, kind="stable")
    members = np.take_along_axis(members, order, axis=1)
    parts = np.take_along_axis(parts, order, axis=1)
    n_rows = rings[np.arange(n), first] * np.prod(parts[:, 1:], axis=1)
    cost = n_rows * pg.n_vertices[members[:, 0]]
    kernel = cost <= MAX_CLIP_COST
    rows_k = np.flatnonzero(kernel)
    if len(rows_k):
        out[rows_k] = _run_kernel(pg, members[rows_k, 0], pg, members[rows_k, 1:],
                                  threads=threads)
    rest_rows = np.flatnonzero(~kernel)
    if len(rest_rows):
        shape = geoms[members[rest_rows, 0]]
        for c in range(1, k):
            shape = parallel(shapely.intersection, shape, geoms[members[rest_rows, c]],
                             threads=threads)
        out[rest_rows] = shapely.area(shape)
    return out
