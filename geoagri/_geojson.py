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


@functools.cache
def _compiled() -> Callable[..., None]:
    """The writing kernel, compiled by numba (or loaded from its on-disk cache) on first use."""
    import numba

    return numba.njit("(i8[:, ::1], i8, i8, i8[::1], i8[::1], i8[::1], i8, u1[::1], i8[::1])",
                      cache=True, nogil=True)(_write)


def geometry_texts(geoms: np.ndarray, precision: int) -> list[str | None]:
    """The GeoJSON geometry object of each geometry, as text (None for a missing one).

    Parameters
    ----------
    geoms : array of shapely geometries
        In the CRS the text is for (a web map's: EPSG:4326, lon/lat); written in
        2D (a z coordinate is left out).
    precision : int
        Decimals each coordinate is rounded to (5: about 1 m of a degree).

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
        _, coords, offsets = shapely.to_ragged_array(geoms[idx])
        q = np.ascontiguousarray(np.rint(coords[:, :2] * 10.0 ** precision), dtype=np.int64)
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
