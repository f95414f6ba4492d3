"""Distinct values of integer arrays, by sorting.

numpy 2.3 and later find ``np.unique(a)``'s values by hashing when no inverse,
index or counts are asked for.  On arrays with many distinct integers (the
engine's keys of zone × commune or zone × piece pairs) hashing is ten to a
hundred times slower than sorting (5 million int64 here: 4–5 s against
0.05 s), so the engine sorts.  The values are the same.
"""

from __future__ import annotations

import numpy as np

__all__ = ["distinct", "distinct_positions"]


def distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values of a 1-d integer array, ascending: ``np.unique(values)``.

    Parameters
    ----------
    values : ndarray of int
        Any order, repeats allowed.

    Returns
    -------
    ndarray
        Its distinct values in ascending order, in its dtype.

    Raises
    ------
    TypeError
        If the array is not of integers or booleans (NaN and object values have
        rules of their own in ``np.unique``).

    Examples
    --------
    >>> distinct(np.array([7, 3, 7, 1, 3])).tolist()
    [1, 3, 7]
    """
    values = np.asarray(values)
    if values.dtype.kind not in "iub":
        raise TypeError(f"distinct() sorts integers; got an array of {values.dtype}")
    ordered = np.sort(values.ravel())
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def distinct_positions(values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)`` for positions in ``range(size)``.

    The distinct positions are marked in a table of ``size`` flags rather than
    sorted: for positions of zones or pieces (``size`` their number) several
    times faster than sorting, and the same two arrays.

    Parameters
    ----------
    values : ndarray of int
        Positions, each in ``0 <= value < size``.
    size : int
        How many positions there are.

    Returns
    -------
    distinct : ndarray of int
        The positions found, ascending.
    inverse : ndarray of int
        For each value, its index in ``distinct``.

    Examples
    --------
    >>> found, inverse = distinct_positions(np.array([4, 1, 4, 2]), 6)
    >>> found.tolist(), inverse.tolist()
    ([1, 2, 4], [2, 0, 2, 1])
    """
    values = np.asarray(values)
    if values.dtype.kind not in "iu":
        raise TypeError(f"distinct_positions() takes integers; got an array of {values.dtype}")
    seen = np.zeros(max(int(size), 0), dtype=bool)
    seen[values] = True
    rank = np.cumsum(seen, dtype=np.intp) - 1
    return np.flatnonzero(seen).astype(values.dtype, copy=False), rank[values]
