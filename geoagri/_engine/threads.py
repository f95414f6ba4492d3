"""Running shapely's vectorised functions on several threads.

Shapely's vectorised functions release the GIL, so an array cut into chunks
runs in parallel on threads, with no copying between processes.

Examples
--------
>>> import shapely
>>> n_threads(3)
3
>>> parallel(shapely.area, np.array([shapely.box(0, 0, 2, 2)]), threads=2).tolist()
[4.0]
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import shapely

__all__ = ["n_threads", "parallel", "prepared_copies", "query"]


def n_threads(threads: int | None) -> int:
    """Threads to use: ``threads``, or up to 4 (the CPU count)."""
    return max(1, threads if threads is not None else min(4, os.cpu_count() or 1))


def prepared_copies(geoms: np.ndarray) -> np.ndarray:
    """Prepared copies of geometries, for one analysis's use alone.

    GEOS builds a prepared geometry's indexes lazily and not thread-safely, and
    shapely's predicates use a geometry's prepared form whenever it has one.  A
    layer's geometry objects are shared by the analyses running at the same time
    (the infrastructure scenario on its thread beside the linkage): preparing
    them in place would let two threads build the same index at once, or one free
    it while the other reads it.  The copies are exact (WKB keeps every double and
    any z) and cost about 5 ms per 100,000 vertices.

    Examples
    --------
    >>> import shapely
    >>> g = np.array([shapely.box(0, 0, 2, 2)])
    >>> c = prepared_copies(g)
    >>> bool(shapely.is_prepared(c[0])), bool(shapely.is_prepared(g[0])), c[0].equals_exact(g[0], 0)
    (True, False, True)
    """
    copies = shapely.from_wkb(shapely.to_wkb(geoms))
    shapely.prepare(copies)
    return copies


def parallel(func: Callable[..., np.ndarray], *arrays: np.ndarray, threads: int,
             min_chunk: int = 10_000) -> np.ndarray:
    """Apply a vectorised function to chunks of arrays on threads.

    Arrays shorter than ``threads × min_chunk`` are done in one call.  Not for
    prepared geometries shared between chunks (GEOS builds their indexes
    lazily, not thread-safely).
    """
    n = len(arrays[0])
    if threads <= 1 or n < 2 * min_chunk:
        return func(*arrays)
    bounds = np.linspace(0, n, threads + 1).astype(int)
    with ThreadPoolExecutor(threads) as pool:
        parts = pool.map(lambda k: func(*(a[bounds[k]:bounds[k + 1]] for a in arrays)),
                         range(threads))
        return np.concatenate(list(parts))


def query(tree: Any, geoms: np.ndarray, *, threads: int, min_chunk: int = 20_000) -> np.ndarray:
    """``tree.query(geoms)`` (an STRtree's bounding-box matches) on threads.

    The query releases the GIL: the geometries are split into chunks queried
    in parallel, and the pairs come back in the same order as one query.

    Examples
    --------
    >>> import shapely
    >>> g = np.array([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)])
    >>> query(shapely.STRtree(g), g, threads=2).tolist()
    [[0, 1], [0, 1]]
    """
    n = len(geoms)
    if threads <= 1 or n < 2 * min_chunk:
        return tree.query(geoms)
    bounds = np.linspace(0, n, threads + 1).astype(int)

    def part(k: int) -> np.ndarray:
        pairs = tree.query(geoms[bounds[k]:bounds[k + 1]])
        pairs[0] += bounds[k]
        return pairs

    with ThreadPoolExecutor(threads) as pool:
        return np.concatenate(list(pool.map(part, range(threads))), axis=1)
