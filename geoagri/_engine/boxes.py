"""Pairs of same-group bounding boxes that overlap with positive area, on a grid.

:func:`geoagri._engine.pieces.overlap_pairs` needs every pair of zones of one
group whose boxes overlap (the candidates whose overlap area is then
measured).  An STRtree self-query returns every pair of boxes that meet, in
both orders, of every group, then filtered: on a province of 200,000
parcels 1.4 million pairs for 0.5 million candidates.  Here the boxes are
hashed into a uniform grid of about twice the median box (outliers clamped
to the border cells) by a compiled kernel, and each candidate is found once,
in the cell that holds the lower-left corner of the two boxes' overlap: the
same pairs, at half the cost and without the intermediate arrays.

Examples
--------
>>> b = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [2, 0, 4, 1], [0, 0, 2, 2], [1, 1, 3, 3]], float)
>>> [x.tolist() for x in overlapping_boxes(b, np.array([0, 0, 0, 0, 1]))]
[[0, 0, 1], [1, 3, 3]]
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

__all__ = ["overlapping_boxes"]


def _pairs(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray, codes: np.ndarray,
           ox: float, oy: float, size: float, ncol: int, nrow: int,
           out_i: np.ndarray, out_j: np.ndarray) -> int:  # pragma: no cover - compiled
    """Count the candidate pairs ``i < j``, writing those that fit in ``out_i``, ``out_j``."""
    def clamp(v: float, origin: float, cell: float, count: int) -> int:
        """Grid column (row) of coordinate ``v``, clamped to ``0 … count - 1``."""
        t = (v - origin) / cell
        if not t >= 0.0:
            return 0
        if t >= count:
            return count - 1
        return int(t)

    n = len(x0)
    start = np.zeros(ncol * nrow + 1, np.int64)
    for k in range(n):  # cells each box covers, counted
        if not (x0[k] <= x1[k] and y0[k] <= y1[k]):
            continue  # an empty geometry's NaN box
        c0, c1 = clamp(x0[k], ox, size, ncol), clamp(x1[k], ox, size, ncol)
        r0, r1 = clamp(y0[k], oy, size, nrow), clamp(y1[k], oy, size, nrow)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                start[r * ncol + c + 1] += 1
    for q in range(1, len(start)):
        start[q] += start[q - 1]
    members = np.empty(start[-1], np.int64)
    at = start[:-1].copy()
    for k in range(n):  # then listed, cell by cell
        if not (x0[k] <= x1[k] and y0[k] <= y1[k]):
            continue
        c0, c1 = clamp(x0[k], ox, size, ncol), clamp(x1[k], ox, size, ncol)
        r0, r1 = clamp(y0[k], oy, size, nrow), clamp(y1[k], oy, size, nrow)
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                q = r * ncol + c
                members[at[q]] = k
                at[q] += 1
    m = 0
    for q in range(ncol * nrow):
        row = q // ncol
        col = q - row * ncol
        for u in range(start[q], start[q + 1]):
            a = members[u]
            for v in range(u + 1, start[q + 1]):
                b = members[v]
                if codes[a] != codes[b]:
                    continue
                left = max(x0[a], x0[b])
                bottom = max(y0[a], y0[b])
                if not (min(x1[a], x1[b]) - left > 0 and min(y1[a], y1[b]) - bottom > 0):
                    continue  # boxes that only touch cannot hold an overlap
                # found once: in the cell of the overlap's lower-left corner
                if clamp(left, ox, size, ncol) != col or clamp(bottom, oy, size, nrow) != row:
                    continue
                if m < len(out_i):
                    out_i[m] = min(a, b)
                    out_j[m] = max(a, b)
                m += 1
    return m


@functools.cache
def _compiled() -> Callable[..., int]:
    """The pair kernel compiled by numba (or loaded from its cache) at first use."""
    import numba

    return numba.njit(
        "i8(f8[::1], f8[::1], f8[::1], f8[::1], i8[::1], f8, f8, f8, i8, i8, i8[::1], i8[::1])",
        cache=True, nogil=True)(_pairs)


def overlapping_boxes(bounds: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``i < j`` of boxes of one group whose overlap has positive area.

    Parameters
    ----------
    bounds : ndarray, shape (n, 4)
        ``xmin, ymin, xmax, ymax`` of each geometry (:func:`shapely.bounds`;
        rows of NaN, empty geometries, pair with nothing), in metres or any
        unit.
    codes : ndarray of int
        Group of each box; only boxes of one group are paired.

    Returns
    -------
    i, j : ndarray of int
        The pairs, sorted by ``i`` then ``j``: exactly the pairs an STRtree
        query of the boxes gives once filtered to ``i < j``, one group and
        positive width and height of the overlap.
    """
    bounds = np.asarray(bounds, dtype=np.float64)
    x0, y0, x1, y1 = (np.ascontiguousarray(bounds[:, k]) for k in range(4))
    ok = (x0 <= x1) & (y0 <= y1)
    none = np.zeros(0, np.int64)
    if ok.sum() < 2:
        return none, none
    # the grid spans all but the farthest 0.1 % (clamped into its border cells)
    lo = np.percentile(np.column_stack([x0[ok], y0[ok]]), 0.1, axis=0)
    hi = np.percentile(np.column_stack([x1[ok], y1[ok]]), 99.9, axis=0)
    width, height = max(hi[0] - lo[0], 0.0), max(hi[1] - lo[1], 0.0)
    box = np.maximum(x1 - x0, y1 - y0)[ok]
    size = max(2 * float(np.median(box)), math.sqrt(width * height / (4 * ok.sum())), 1e-9)
    ncol, nrow = int(width / size) + 1, int(height / size) + 1
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    pairs = _compiled()
    args = (x0, y0, x1, y1, codes, float(lo[0]), float(lo[1]), size, ncol, nrow)
    # one pass writes them where there is room (8 a box: the pages never written are
    # never touched); a second pass only when there was not
    room = 8 * len(x0)
    i, j = np.empty(room, np.int64), np.empty(room, np.int64)
    m = pairs(*args, i, j)
    if m > room:
        i, j = np.empty(m, np.int64), np.empty(m, np.int64)
        pairs(*args, i, j)
    key = np.sort(i[:m] * len(x0) + j[:m])  # by i, then j
    return np.divmod(key, len(x0))
