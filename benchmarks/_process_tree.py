"""The memory of a process and its descendants, sampled by the benchmarks' parents."""

from __future__ import annotations

import contextlib


def tree_memory(pid: int, *, kind: str = "rss") -> int:
    """Memory of process ``pid`` and all its descendants, bytes.

    ``kind="rss"`` sums their resident sets (pages shared between them counted
    in each); ``kind="pss"`` their proportional sets (a page shared by n
    processes counted 1/n in each, so forked children add only what they
    copied). A process that has gone counts 0.

    Examples
    --------
    >>> import os
    >>> tree_memory(os.getpid(), kind="pss") > 0
    True
    """
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += (p.memory_full_info().pss if kind == "pss" else p.memory_info().rss)
    return total
