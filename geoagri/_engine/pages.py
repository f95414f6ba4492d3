"""numpy's arrays in ordinary memory pages while the engine works.

numpy asks the kernel for transparent huge pages (2 MiB, ``madvise
MADV_HUGEPAGE``) for every array of 4 MiB or more.  The engine's large arrays
live for a few milliseconds (the pairs of zones and pieces, their bounds, the
flattened rings): each is written once, read once and freed, so a huge page
saves it little, and its first touch costs a whole 2 MiB page at a time.  On
a virtual machine that backs its memory only when it is first touched (this
project's 2-core machine), those first touches are dear and uneven: area by
zone on the dense province (plain) spent 0.17–0.78 s in the kernel with huge
pages and 0.16–0.23 s without: 0.88–1.24 s against 0.90–0.98 s in all, nine
fresh processes each, alternated, the same results.  The national delta's
dense plain: median 10.47 s against 9.14 s.

:func:`small_pages` turns numpy's advice off while an analysis runs and
restores it when the last analysis running ends (two threads may run analyses
side by side, as ``geoagri run`` does).  A process whose environment sets
``NUMPY_MADVISE_HUGEPAGE`` has chosen for itself, and is left alone.

Examples
--------
>>> import numpy as np
>>> with small_pages():
...     a = np.zeros(1_000_000)
>>> float(a.sum())
0.0
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import numpy as np

__all__ = ["small_pages"]

_LOCK = threading.Lock()
_STATE = {"depth": 0, "before": True}


def _advice(enabled: bool) -> bool:
    """Set numpy's huge-page advice; returns the setting before (True if numpy has none)."""
    setter = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(setter, "_set_madvise_hugepage", None)
    return True if setter is None else bool(setter(enabled))


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """numpy allocates without the huge-page advice inside; restored when the last one ends.

    Nested and concurrent uses count: the advice is turned off by the first to
    enter and set back to what it was by the last to leave.  Nothing changes
    when the environment sets ``NUMPY_MADVISE_HUGEPAGE`` (the user's choice).

    Examples
    --------
    >>> import numpy as np
    >>> with small_pages(), small_pages():
    ...     inside = np._core.multiarray._get_madvise_hugepage()
    >>> import os
    >>> inside is False or "NUMPY_MADVISE_HUGEPAGE" in os.environ
    True
    """
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        yield
        return
    with _LOCK:
        if _STATE["depth"] == 0:
            _STATE["before"] = _advice(False)
        _STATE["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["depth"] -= 1
            if _STATE["depth"] == 0:
                _advice(_STATE["before"])
