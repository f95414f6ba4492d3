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

import numpy as np

__all__ = ["n_threads", "parallel"]


def n_threads(threads: int | None) -> int:
    """Threads to use: ``threads``, or up to 4 (the CPU count)."""
    return max(1, threads if threads is not None else min(4, os.cpu_count() or 1))


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
