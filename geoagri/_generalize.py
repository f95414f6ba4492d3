"""Display geometry of a large polygon layer, generalised on a grid of cells.

A web map cannot draw the 200,000 parcels of a province one by one, nor
afford to union them exactly (a buffer-based closing of that many parcels
costs tens of seconds).  :func:`dissolved_on_grid` draws what the map shows
instead, per unit (commune or grid cell) × class, on a square grid of
``cell_m``:

1. every part of every polygon is burnt into a raster by a compiled
   scan-line kernel (a cell is in a polygon when its centre is, even–odd
   rule; a later polygon overwrites an earlier one), the classes into one
   raster and the units into another, so the aggregates are cut at the units'
   borders to within a cell;
2. empty cells between two drawn ones, across or down (the bunds between
   parcels, narrower than a cell), are filled with one of them;
3. the cells of each unit × class are traced into polygons in one pass by a
   second compiled kernel (each 4-connected region of one key labelled, its
   rings followed along the cells' sides, a vertex where they turn: the
   polygons GDAL's polygonize, :func:`rasterio.features.shapes`, draws, ring
   for ring, without a Python object per vertex) and simplified by
   ``simplify_m`` (a polygon the simplification would collapse or halve, a
   patch of a cell or two, is kept as traced).

The result covers the union of the polygons of each unit × class to within
about a cell and the simplification (a polygon narrower than a cell may be
left out, a gap narrower than a cell closed): display geometry, never
measured.  The cost grows with the number of vertices and of cells, not with
the overlaps between polygons.

Examples
--------
>>> import shapely
>>> squares = np.array([shapely.box(0, 0, 100, 100), shapely.box(103, 0, 200, 100)])
>>> commune = np.array([shapely.box(-50, -50, 250, 150)])
>>> keys, shown = dissolved_on_grid(squares, np.array([0, 0]), commune, 1,
...                                 cell_m=5.0, simplify_m=5.0)
>>> keys.tolist(), shapely.get_num_geometries(shown).tolist()  # the 3 m gap closed
([0], [1])
>>> round(float(shapely.area(shown[0])) / 1e4, 2)  # 2 ha and the gap
2.0
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
import shapely

__all__ = ["dissolved_on_grid", "grid_cell_m"]

#: Most cells of the grid a layer is generalised on.
MAX_CELLS = 4_000_000


def grid_cell_m(bounds: np.ndarray, simplify_m: float, *, max_cells: int = MAX_CELLS) -> float:
    """Side of the grid's cells, m: ``simplify_m`` (at least 1 m), or larger so the grid
    has at most ``max_cells``.

    Examples
    --------
    >>> grid_cell_m(np.array([0.0, 0.0, 1000.0, 1000.0]), 5.0)
    5.0
    >>> grid_cell_m(np.array([0.0, 0.0, 60_000.0, 40_000.0]), 5.0)  # a province: 24.5 m
    24.5
    >>> grid_cell_m(np.array([0.0, 0.0, 100.0, 100.0]), 0.0)  # no simplification: 1 m
    1.0
    """
    w, h = float(bounds[2] - bounds[0]), float(bounds[3] - bounds[1])
    fit = math.sqrt(max(w * h, 0.0) / max_cells)
    return max(float(simplify_m), math.ceil(fit * 2) / 2, 1.0)


def _burn(x: np.ndarray, y: np.ndarray, ring_start: np.ndarray, poly_start: np.ndarray,
          value: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Burn polygons into ``out`` (cells whose centre is inside, even–odd rule).

    Coordinates are in cells: column ``x``, row ``y`` (row 0 at the top); cell
    ``(r, c)`` has its centre at ``(c + 0.5, r + 0.5)``.  Rings are closed
    (last vertex = first); polygon ``p`` owns rings
    ``poly_start[p]:poly_start[p + 1]``, ring ``r`` vertices
    ``ring_start[r]:ring_start[r + 1]``.
    """
    n_rows, n_cols = out.shape
    for p in range(len(value)):
        ra, rb = poly_start[p], poly_start[p + 1]
        va, vb = ring_start[ra], ring_start[rb]
        if vb - va < 4:
            continue
        lo, hi = y[va], y[va]
        for k in range(va, vb):
            lo = min(lo, y[k])
            hi = max(hi, y[k])
        row0 = max(0, math.ceil(lo - 0.5))
        row1 = min(n_rows - 1, math.floor(hi - 0.5))
        xs = np.empty(vb - va)
        for row in range(row0, row1 + 1):
            yc = row + 0.5
            n = 0
            for r in range(ra, rb):
                for k in range(ring_start[r], ring_start[r + 1] - 1):
                    y0, y1 = y[k], y[k + 1]
                    if (y0 <= yc) != (y1 <= yc):
                        xc = x[k] + (yc - y0) * (x[k + 1] - x[k]) / (y1 - y0)
                        j = n  # insertion sort: a parcel crosses a row a few times
                        while j > 0 and xs[j - 1] > xc:
                            xs[j] = xs[j - 1]
                            j -= 1
                        xs[j] = xc
                        n += 1
            for i in range(0, n - 1, 2):
                c0 = max(0, math.ceil(xs[i] - 0.5))
                c1 = min(n_cols, math.ceil(xs[i + 1] - 0.5))
                for c in range(c0, c1):
                    out[row, c] = value[p]


@functools.cache
def _compiled() -> Callable[..., None]:
    """The burning kernel, compiled by numba (or loaded from its on-disk cache) on first use."""
    import numba

    return numba.njit("(f8[::1], f8[::1], i8[::1], i8[::1], i4[::1], i4[:, ::1])",
                      cache=True, nogil=True)(_burn)


def _trace(key: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                     np.ndarray]:  # pragma: no cover - compiled
    """The outlines of the 4-connected regions of equal non-zero ``key``, traced in one pass.

    Regions are labelled (union–find; numbered in the order of their first
    cell, row by row); then every ring is followed along the cells' sides,
    the region on its right (rows down), so that the outer ring of a region
    is the first of its rings found, row by row.  A vertex is written where
    the ring turns (and the first one again at its end).  Returns the
    vertices (row, column of the cells' corners), the offsets of the rings
    into them, each ring's region, and each region's key.
    """
    n_rows, n_cols = key.shape
    parent = np.arange(n_rows * n_cols, dtype=np.int32)
    for r in range(n_rows):
        for c in range(n_cols):
            v = key[r, c]
            if v == 0:
                continue
            i = r * n_cols + c
            for j in (i - 1 if c > 0 and key[r, c - 1] == v else -1,
                      i - n_cols if r > 0 and key[r - 1, c] == v else -1):
                if j < 0:
                    continue
                a, b = i, j
                while parent[a] != a:
                    parent[a] = parent[parent[a]]
                    a = parent[a]
                while parent[b] != b:
                    parent[b] = parent[parent[b]]
                    b = parent[b]
                if a != b:
                    parent[max(a, b)] = min(a, b)
    region = np.full((n_rows, n_cols), -1, dtype=np.int32)
    label = np.full(n_rows * n_cols, -1, dtype=np.int32)
    region_key = np.empty(n_rows * n_cols, dtype=np.int32)
    n_regions = 0
    n_sides = 0
    for r in range(n_rows):
        for c in range(n_cols):
            if key[r, c] == 0:
                continue
            a = r * n_cols + c
            while parent[a] != a:
                a = parent[a]
            if label[a] < 0:
                label[a] = n_regions
                region_key[n_regions] = key[r, c]
                n_regions += 1
            region[r, c] = label[a]
    for r in range(n_rows):  # the sides between two regions (or a region and nothing)
        for c in range(n_cols):
            k = region[r, c]
            if k < 0:
                continue
            n_sides += ((r == 0 or region[r - 1, c] != k)
                        + (c == n_cols - 1 or region[r, c + 1] != k)
                        + (r == n_rows - 1 or region[r + 1, c] != k)
                        + (c == 0 or region[r, c - 1] != k))
    rows = np.empty(n_sides + n_sides // 2 + 1, dtype=np.int32)
    cols = np.empty(n_sides + n_sides // 2 + 1, dtype=np.int32)
    ring_end = np.empty(n_sides // 4 + 1, dtype=np.int64)
    ring_region = np.empty(n_sides // 4 + 1, dtype=np.int32)
    done = np.zeros((n_rows, n_cols), dtype=np.uint8)  # bit d: the side travelled in direction d
    # directions, rows down: 0 east, 1 south, 2 west, 3 north
    dr = (0, 1, 0, -1)
    dc = (1, 0, -1, 0)
    n_rings, n_vertices = 0, 0
    for r0 in range(n_rows):
        for c0 in range(n_cols):
            k = region[r0, c0]
            if k < 0 or (done[r0, c0] & 1) or (r0 > 0 and region[r0 - 1, c0] == k):
                continue
            first = n_vertices
            vr, vc, d = r0, c0, 0  # along the top side of (r0, c0), eastwards
            while True:
                # the cell on the right of the side from (vr, vc) in direction d
                if d == 0:
                    cr, cc = vr, vc
                elif d == 1:
                    cr, cc = vr, vc - 1
                elif d == 2:
                    cr, cc = vr - 1, vc - 1
                else:
                    cr, cc = vr - 1, vc
                done[cr, cc] |= 1 << d
                ur, uc = vr + dr[d], vc + dc[d]
                # ahead-right and ahead-left cells at the corner (ur, uc)
                if d == 0:
                    br, bc, lr, lc = ur, uc, ur - 1, uc
                elif d == 1:
                    br, bc, lr, lc = ur, uc - 1, ur, uc
                elif d == 2:
                    br, bc, lr, lc = ur - 1, uc - 1, ur, uc - 1
                else:
                    br, bc, lr, lc = ur - 1, uc, ur - 1, uc - 1
                right = 0 <= br < n_rows and 0 <= bc < n_cols and region[br, bc] == k
                left = 0 <= lr < n_rows and 0 <= lc < n_cols and region[lr, lc] == k
                # left where the region goes on (across a corner too: its rings then touch
                # at a point, each one simple), on ahead, else right
                nd = (d + 3) % 4 if left else (d if right else (d + 1) % 4)
                if nd != d:
                    rows[n_vertices], cols[n_vertices] = ur, uc
                    n_vertices += 1
                vr, vc, d = ur, uc, nd
                if vr == r0 and vc == c0 and d == 0:
                    break
            # started at its upper left corner (the first in rows, then columns), as GDAL's
            # polygonize starts a ring, and closed
            start = first
            for i in range(first + 1, n_vertices):
                if rows[i] < rows[start] or (rows[i] == rows[start] and cols[i] < cols[start]):
                    start = i
            size = n_vertices - first
            if start != first:
                turned_r = rows[first:n_vertices].copy()
                turned_c = cols[first:n_vertices].copy()
                for i in range(size):
                    rows[first + i] = turned_r[(start - first + i) % size]
                    cols[first + i] = turned_c[(start - first + i) % size]
            rows[n_vertices], cols[n_vertices] = rows[first], cols[first]
            n_vertices += 1
            ring_end[n_rings] = n_vertices
            ring_region[n_rings] = k
            n_rings += 1
    return (rows[:n_vertices], cols[:n_vertices], ring_end[:n_rings], ring_region[:n_rings],
            region_key[:n_regions])


@functools.cache
def _compiled_trace() -> Callable[..., tuple]:
    """The tracing kernel, compiled by numba (or loaded from its on-disk cache) on first use."""
    import numba

    return numba.njit(cache=True, nogil=True)(_trace)


def _burnt(geoms: np.ndarray, value: np.ndarray, origin: tuple[float, float], cell_m: float,
           shape: tuple[int, int]) -> np.ndarray:
    """A raster of ``shape`` cells with ``value[k]`` where geometry ``k`` is (0 elsewhere)."""
    out = np.zeros(shape, dtype=np.int32)
    types = shapely.get_type_id(geoms)
    single = np.flatnonzero(types == 3)
    multi = np.flatnonzero(types == 6)  # only these taken apart (others ignored)
    parts, owner = (geoms if len(single) == len(geoms) else geoms[single]), single
    if len(multi):
        more, of = shapely.get_parts(geoms[multi], return_index=True)
        parts, owner = np.concatenate([parts, more]), np.concatenate([owner, multi[of]])
    if not len(parts):
        return out
    # ring sizes in the order of the coordinates (each polygon's exterior, then its holes)
    if (shapely.get_num_interior_rings(parts) > 0).any():
        rings, of = shapely.get_rings(parts, return_index=True)
        ring_sizes = shapely.get_num_coordinates(rings)
        rings_per = np.bincount(of, minlength=len(parts))
    else:  # no holes (parcels, mostly): one ring each
        ring_sizes = shapely.get_num_coordinates(parts)
        rings_per = np.ones(len(parts), dtype=np.int64)
    coords = shapely.get_coordinates(parts)
    ring_offsets = np.r_[0, np.cumsum(ring_sizes)].astype(np.int64)
    poly_offsets = np.r_[0, np.cumsum(rings_per)].astype(np.int64)
    x = np.ascontiguousarray((coords[:, 0] - origin[0]) / cell_m)
    y = np.ascontiguousarray((origin[1] - coords[:, 1]) / cell_m)
    _compiled()(x, y, ring_offsets, poly_offsets,
                np.ascontiguousarray(value[owner], dtype=np.int32), out)
    return out


def _keys(cls: np.ndarray, unit: np.ndarray, n_units: int, n_classes: int,
          out: np.ndarray) -> None:  # pragma: no cover - compiled
    """The key of every cell (``(unit - 1) * n_classes + class``, 0 where no class is
    drawn; a cell of no unit is unit ``n_units + 1``), empty cells between two drawn
    ones filled, into ``out``.

    An empty cell between two drawn ones, left–right (then above–below, in the
    keys the first pass left) is a gap narrower than a cell (a bund): it takes
    the key of its left (upper) neighbour, so a bund between two classes goes to
    one of them, the border between them moving by at most a cell.
    """
    n_rows, n_cols = cls.shape
    row = np.empty(n_cols, dtype=np.int32)
    for r in range(n_rows):
        for c in range(n_cols):
            v = cls[r, c]
            u = unit[r, c] if unit[r, c] != 0 else n_units + 1
            row[c] = (u - 1) * n_classes + v if v > 0 else 0
        out[r, 0], out[r, n_cols - 1] = row[0], row[n_cols - 1]
        for c in range(1, n_cols - 1):
            fill = row[c] == 0 and row[c - 1] > 0 and row[c + 1] > 0
            out[r, c] = row[c - 1] if fill else row[c]
    above = out[0].copy()  # the row above, as the first pass left it
    for r in range(1, n_rows - 1):
        row[:] = out[r]
        for c in range(n_cols):
            if row[c] == 0 and above[c] > 0 and out[r + 1, c] > 0:
                out[r, c] = above[c]
        above[:] = row


@functools.cache
def _compiled_keys() -> Callable[..., None]:
    """The keying kernel, compiled by numba (or loaded from its on-disk cache) on first use."""
    import numba

    return numba.njit("(i4[:, ::1], i4[:, ::1], i8, i8, i4[:, ::1])", cache=True,
                      nogil=True)(_keys)


def _parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`shapely.get_parts` with ``return_index``, taking apart only what is not a
    polygon (a polygon is its own part, kept, not copied: most of a layer's).

    Examples
    --------
    >>> a, b = shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)
    >>> parts, owner = _parts(np.array([a, shapely.multipolygons([a, b]), b]))
    >>> [p.bounds[0] for p in parts], owner.tolist()
    ([0.0, 0.0, 2.0, 2.0], [0, 1, 1, 2])
    """
    whole = (shapely.get_type_id(geoms) == 3) & ~shapely.is_empty(geoms)
    if whole.all():
        return geoms.copy(), np.arange(len(geoms))
    more, of = shapely.get_parts(geoms[~whole], return_index=True)
    counts = np.ones(len(geoms), dtype=np.int64)
    counts[~whole] = np.bincount(of, minlength=int((~whole).sum()))
    start = np.r_[0, np.cumsum(counts)[:-1]]
    out = np.empty(int(counts.sum()), dtype=object)
    out[start[whole]] = geoms[whole]
    first = np.r_[0, np.cumsum(counts[~whole])[:-1]]  # of each taken apart, in ``more``
    owner = np.flatnonzero(~whole)[of]
    out[start[owner] + np.arange(len(more)) - np.repeat(first, counts[~whole])] = more
    return out, np.repeat(np.arange(len(geoms)), counts)


def dissolved_on_grid(geoms: np.ndarray, classes: np.ndarray, units: np.ndarray,
                      n_classes: int, *, cell_m: float, simplify_m: float,
                      bounds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One multipolygon per unit × class present, generalised on a grid (see the module).

    Parameters
    ----------
    geoms : array of shapely geometries
        Polygons and multipolygons, in a metric CRS (other types are ignored).
    classes : array of int
        Class of each geometry, ``0 … n_classes - 1``.
    units : array of shapely geometries
        Non-overlapping units (communes); the area outside them is unit
        ``len(units)``.
    n_classes : int
        Number of classes.
    cell_m : float
        Side of the grid's cells, m.
    simplify_m : float
        Tolerance the traced outlines are simplified by, m.
    bounds : ndarray, optional
        ``shapely.total_bounds(geoms)``, when known (0.02 s for a province's
        parcels).

    Returns
    -------
    (keys, shapes) : ndarray of int, ndarray of geometries
        ``keys = unit * n_classes + class`` of the aggregates present, sorted,
        and their display geometry in the CRS of ``geoms``.
    """
    if not len(geoms):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    b = shapely.total_bounds(geoms) if bounds is None else bounds
    x0, y1 = b[0] - cell_m, b[3] + cell_m
    shape = (math.ceil((b[3] - b[1]) / cell_m) + 2,
             math.ceil((b[2] - b[0]) / cell_m) + 2)
    cls = _burnt(geoms, np.asarray(classes, dtype=np.int64) + 1, (x0, y1), cell_m, shape)
    unit = _burnt(units, np.arange(1, len(units) + 1), (x0, y1), cell_m, shape)
    key = np.empty(shape, dtype=np.int32)
    _compiled_keys()(cls, unit, len(units), n_classes, key)
    rows, cols, ring_end, ring_region, region_key = _compiled_trace()(key)
    if not len(region_key):
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    # the rings of each region together, its outer ring first (the first found)
    order = np.argsort(ring_region, kind="stable")
    sizes = np.diff(ring_end, prepend=0)
    ring_offsets = np.r_[0, np.cumsum(sizes[order])]
    # each ring turned round: outer rings anticlockwise (x east, y north), as GDAL's
    # polygonize writes them, from the same corner
    take = (np.repeat(ring_end[order] - 1 + ring_offsets[:-1], sizes[order])
            - np.arange(ring_offsets[-1]))
    xy = np.column_stack([x0 + cols[take] * cell_m, y1 - rows[take] * cell_m])
    poly_offsets = np.r_[0, np.cumsum(np.bincount(ring_region, minlength=len(region_key)))]
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy,
                                      (ring_offsets, poly_offsets))
    keys = region_key.astype(np.int64) - 1
    if simplify_m > 0:  # display only: Leaflet draws a self-touching outline as well
        simple = shapely.simplify(polys, simplify_m, preserve_topology=False)
        # a patch of a cell or two collapses (empty, or a ring of no area): drawn as
        # traced, not lost
        lost = shapely.is_empty(simple) | (shapely.area(simple) < shapely.area(polys) / 2)
        simple[lost] = polys[lost]
        polys, owner = _parts(simple)
        keys = keys[owner]
    order = np.argsort(keys, kind="stable")
    present, inverse = np.unique(keys[order], return_inverse=True)
    return present, shapely.multipolygons(polys[order], indices=inverse)
