"""GeoJSON text of arrays of geometries, coordinates rounded, written by a compiled kernel.

A web map of a province holds about a million coordinates.  Writing them as
Python lists of floats and then as JSON text costs a second (building the
lists, then encoding them); :func:`geometry_texts` writes the text straight
from the coordinate arrays (:func:`shapely.to_ragged_array`): each coordinate
rounded to ``precision`` decimals and written as the shortest decimal of that
rounding (``105.1``, not ``105.10000``), by a kernel compiled with numba on
first use (cached on disk).  The text is what :func:`json.dumps` writes of
the same rounded numbers, to the decimal.

Examples
--------
>>> import shapely
>>> geoms = np.array([shapely.Point(105.123456, -10.5), shapely.box(0, 0, 1, 2), None],
...                  dtype=object)
>>> geometry_texts(geoms, 5)
['{"type":"Point","coordinates":[105.12346,-10.5]}', \
'{"type":"Polygon","coordinates":[[[1,0],[1,2],[0,2],[0,0],[1,0]]]}', None]
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely

__all__ = ["geometry_texts"]

_NAMES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint",
          5: "MultiLineString", 6: "MultiPolygon"}


def _write(q: np.ndarray, decimals: int, depth: int, o1: np.ndarray, o2: np.ndarray,
           o3: np.ndarray, n: int, out: np.ndarray, ends: np.ndarray
           ) -> None:  # pragma: no cover - compiled
    """The coordinates text of ``n`` geometries, nested ``depth`` deep, into ``out``.

    ``q`` are the coordinates as integers (× 10**decimals); ``o1`` the offsets of
    the innermost sequences into ``q``, ``o2`` of the next level into ``o1``, ``o3``
    into ``o2`` (as :func:`shapely.to_ragged_array` gives them, innermost first).
    Geometry ``g``'s text ends at ``ends[g]`` (and starts at ``ends[g - 1]``).
    """

    def _number(q: int, pos: int) -> int:
        """Write ``q / 10**decimals`` at ``out[pos:]`` (trailing zeros dropped); the new end."""
        if q < 0:
            out[pos] = 45  # "-"
            pos += 1
            q = -q
        scale = 1
        for _ in range(decimals):
            scale *= 10
        whole, frac = q // scale, q % scale
        start = pos
        while True:  # the integer part's digits, backwards, then turned round
            out[pos] = 48 + whole % 10
            pos += 1
            whole //= 10
            if whole == 0:
                break
        i, j = start, pos - 1
        while i < j:
            out[i], out[j] = out[j], out[i]
            i += 1
            j -= 1
        if frac:
            width = decimals
            while frac % 10 == 0:
                frac //= 10
                width -= 1
            out[pos] = 46  # "."
            pos += 1
            for k in range(width - 1, -1, -1):
                out[pos + k] = 48 + frac % 10
                frac //= 10
            pos += width
        return pos

    def _pair(c: int, pos: int) -> int:
        """Write coordinate ``c`` as ``[x,y]`` at ``out[pos:]``; the new end."""
        out[pos] = 91  # "["
        pos = _number(q[c, 0], pos + 1)
        out[pos] = 44  # ","
        pos = _number(q[c, 1], pos + 1)
        out[pos] = 93  # "]"
        return pos + 1

    pos = 0
    for g in range(n):
        if depth == 0:
            lo0, hi0 = g, g + 1
        elif depth == 1:
            lo0, hi0 = o1[g], o1[g + 1]
        elif depth == 2:
            lo0, hi0 = o2[g], o2[g + 1]
        else:
            lo0, hi0 = o3[g], o3[g + 1]
        if depth == 0:
            pos = _pair(g, pos)
            ends[g] = pos
            continue
        out[pos] = 91  # "["
        pos += 1
        for a in range(lo0, hi0):
            if a > lo0:
                out[pos] = 44  # ","
                pos += 1
            if depth == 1:
                lo1, hi1, inner = a, a + 1, 0
            elif depth == 2:
                lo1, hi1, inner = o1[a], o1[a + 1], 1
            else:
                lo1, hi1, inner = o2[a], o2[a + 1], 2
            if inner:
                out[pos] = 91
                pos += 1
            for b in range(lo1, hi1):
                if b > lo1:
                    out[pos] = 44
                    pos += 1
                if inner == 2:
                    lo2, hi2 = o1[b], o1[b + 1]
                    out[pos] = 91
                    pos += 1
                else:
                    lo2, hi2 = b, b + 1
                for c in range(lo2, hi2):
                    if c > lo2:
                        out[pos] = 44
                        pos += 1
                    pos = _pair(c, pos)
                if inner == 2:
                    out[pos] = 93
                    pos += 1
            if inner:
                out[pos] = 93
                pos += 1
        out[pos] = 93  # "]"
        pos += 1
        ends[g] = pos


def _read(wkb: np.ndarray, starts: np.ndarray, kind: int, xy: np.ndarray, o1: np.ndarray,
          o2: np.ndarray, o3: np.ndarray, found: np.ndarray) -> None:  # pragma: no cover
    """The coordinates and offsets of geometries of one ``kind`` (2 LineString, 3 Polygon,
    5 MultiLineString, 6 MultiPolygon) from their 2D little-endian WKB.

    Geometry ``g`` is ``wkb[starts[g]:starts[g + 1]]``.  The coordinates' bytes
    go to ``xy`` (the bytes of a float array of x, y pairs); ``o1``, ``o2``
    and ``o3`` are filled as :func:`shapely.to_ragged_array` gives them
    (innermost first); ``found`` takes the number of coordinates, of
    sequences (lines, rings) and of polygons.
    """

    def u32(p: int) -> int:
        return (np.int64(wkb[p]) | (np.int64(wkb[p + 1]) << 8) | (np.int64(wkb[p + 2]) << 16)
                | (np.int64(wkb[p + 3]) << 24))

    n_xy, n_seq, n_poly = 0, 0, 0
    o1[0], o2[0], o3[0] = 0, 0, 0
    for g in range(len(starts) - 1):
        p = starts[g] + 5  # past the byte order and the type
        n_parts = 1
        if kind == 5 or kind == 6:
            n_parts = u32(p)
            p += 4
        for _ in range(n_parts):
            if kind == 5 or kind == 6:
                p += 5  # the part's byte order and type
            n_seqs = 1
            if kind == 3 or kind == 6:
                n_seqs = u32(p)
                p += 4
            for _ in range(n_seqs):
                n = u32(p)
                p += 4
                xy[16 * n_xy:16 * (n_xy + n)] = wkb[p:p + 16 * n]
                p += 16 * n
                n_xy += n
                n_seq += 1
                o1[n_seq] = n_xy
            if kind == 6:
                n_poly += 1
                o2[n_poly] = n_seq
        if kind == 3 or kind == 5:
            o2[g + 1] = n_seq
        elif kind == 6:
            o3[g + 1] = n_poly
    found[0], found[1], found[2] = n_xy, n_seq, n_poly


@functools.cache
def _compiled_read() -> Callable[..., None]:
    """The WKB reading kernel, compiled by numba (or loaded from its on-disk cache) on first use."""
    import numba

    t = numba.types
    wkb = t.Array(t.uint8, 1, "C", readonly=True)  # a view of the bytes shapely wrote
    i8 = t.Array(t.int64, 1, "C")
    return numba.njit(t.void(wkb, i8, t.int64, t.Array(t.uint8, 1, "C"), i8, i8, i8, i8),
                      cache=True, nogil=True)(_read)


def _coordinates(geoms: np.ndarray, type_id: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """:func:`shapely.to_ragged_array`'s coordinates (2D) and offsets of geometries of one
    type, none of them empty.

    Lines and polygons are read from their WKB (shapely takes every part and
    ring out as a geometry of its own, a copy of its coordinates, to count
    them); points are their coordinates.
    """
    if type_id == 0:
        return shapely.get_coordinates(geoms), []
    if type_id not in (1, 3, 5, 6):  # multipoints
        _, coords, offsets = shapely.to_ragged_array(geoms)
        return coords[:, :2], list(offsets)
    wkb = shapely.to_wkb(geoms, output_dimension=2, byte_order=1)
    sizes = np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb))
    buf = np.frombuffer(b"".join(wkb.tolist()), dtype=np.uint8)
    starts = np.r_[0, np.cumsum(sizes)]
    most = len(buf) // 4 + 2  # every sequence takes at least 4 bytes
    xy = np.empty(len(buf) // 16 + 1, dtype=np.complex128)  # x, y pairs of floats
    o1, o2, o3 = (np.empty(most, dtype=np.int64) for _ in range(3))
    found = np.zeros(3, dtype=np.int64)
    kind = {1: 2, 3: 3, 5: 5, 6: 6}[type_id]  # the WKB type
    _compiled_read()(buf, starts, kind, xy.view(np.uint8), o1, o2, o3, found)
    n_xy, n_seq, n_poly = found.tolist()
    coords = xy[:n_xy].view(np.float64).reshape(-1, 2)
    if kind == 2:
        return coords, [o1[:n_seq + 1]]
    if kind in (3, 5):
        return coords, [o1[:n_seq + 1], o2[:len(geoms) + 1]]
    return coords, [o1[:n_seq + 1], o2[:n_poly + 1], o3[:len(geoms) + 1]]


@functools.cache
def _compiled() -> Callable[..., None]:
    """The writing kernel, compiled by numba (or loaded from its on-disk cache) on first use."""
    import numba

    return numba.njit("(i8[:, ::1], i8, i8, i8[::1], i8[::1], i8[::1], i8, u1[::1], i8[::1])",
                      cache=True, nogil=True)(_write)


def geometry_texts(geoms: np.ndarray, precision: int, *,
                   transform: Callable[[np.ndarray, np.ndarray], Any] | None = None
                   ) -> list[str | None]:
    """The GeoJSON geometry object of each geometry, as text (None for a missing one).

    Parameters
    ----------
    geoms : array of shapely geometries
        In the CRS the text is for (a web map's: EPSG:4326, lon/lat), or the one
        ``transform`` takes; written in 2D (a z coordinate is left out).
    precision : int
        Decimals each coordinate is rounded to (5: about 1 m of a degree).
    transform : callable, optional
        ``transform(x, y) -> (x, y)`` (arrays), applied to the coordinates before
        they are rounded, e.g. a :class:`pyproj.Transformer`'s ``transform`` to
        EPSG:4326: the text of the geometries transformed, without building them
        (not to an empty geometry or a geometry collection: transform those first).

    Returns
    -------
    list of str or None
        Compact JSON (no spaces), ``{"type": ..., "coordinates": ...}``; an
        empty geometry and a geometry collection as GEOS writes them
        (:func:`shapely.to_geojson`).
    """
    geoms = np.asarray(geoms, dtype=object)
    out: list[str | None] = [None] * len(geoms)
    present = ~shapely.is_missing(geoms)
    types = np.where(present, shapely.get_type_id(geoms), -1)
    empty = present & shapely.is_empty(geoms)
    kernel = None
    for type_id in np.unique(types[present & ~empty]):
        idx = np.flatnonzero((types == type_id) & ~empty)
        name = _NAMES.get(int(type_id))
        if name is None:  # a geometry collection: as GEOS writes it
            for k, text in zip(idx, shapely.to_geojson(geoms[idx]), strict=True):
                out[k] = json.dumps(json.loads(text), separators=(",", ":"))
            continue
        kernel = kernel or _compiled()
        coords, offsets = _coordinates(geoms[idx], int(type_id))
        if transform is not None:
            coords = np.array(transform(coords[:, 0], coords[:, 1])).T
        q = np.ascontiguousarray(np.rint(coords * 10.0 ** precision), dtype=np.int64)
        levels = [np.ascontiguousarray(o, dtype=np.int64) for o in offsets]
        depth = len(levels)
        levels += [np.zeros(1, dtype=np.int64)] * (3 - depth)
        # at most 2 × (sign, 19 digits, point) and "[,]," per coordinate, "[]," per sequence
        size = 46 * len(q) + 3 * sum(len(o) for o in levels) + 3 * len(idx)
        buf = np.empty(size, dtype=np.uint8)
        ends = np.empty(len(idx), dtype=np.int64)
        kernel(q, int(precision), depth, *levels, len(idx), buf, ends)
        text = buf[:ends[-1]].tobytes().decode("ascii")
        head = f'{{"type":"{name}","coordinates":'
        starts = np.r_[0, ends[:-1]].tolist()
        for k, a, b in zip(idx.tolist(), starts, ends.tolist(), strict=True):
            out[k] = f"{head}{text[a:b]}}}"
    for k in np.flatnonzero(empty):
        out[k] = json.dumps(json.loads(shapely.to_geojson(geoms[k])), separators=(",", ":"))
    return out
