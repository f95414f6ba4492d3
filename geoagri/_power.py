"""Which rows of a power layer are existing three-phase lines.

One rule, shared by coverage (what serves), siting (what a station connects
to), routing (the network new lines attach to) and maps (how lines are
drawn): ``element == "line"``, ``phases == 3`` and a status among
``statuses``; a missing status counts as existing.  A column the layer does
not have imposes no condition (so any layer of lines can serve as a grid).

Examples
--------
>>> import pandas as pd
>>> power = pd.DataFrame({"element": ["line", "line", "transformer", "line"],
...                       "phases": [3, 1, 3, 3], "status": ["existing", None, None, None]})
>>> three_phase_lines(power).tolist()
[True, False, False, True]
>>> three_phase_lines(power.assign(status="planned"), statuses=("planned",)).tolist()
[True, False, False, True]
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["three_phase_lines"]


def three_phase_lines(power: pd.DataFrame, *,
                      statuses: Iterable[str] = ("existing",)) -> np.ndarray:
    """Boolean mask of the rows that are three-phase lines of the given statuses.

    Parameters
    ----------
    power : DataFrame
        A power layer (canonical, or any table with some of ``element``,
        ``phases``, ``status``).
    statuses : iterable of str, default ("existing",)
        Statuses that count; a missing status counts as ``"existing"``.

    Returns
    -------
    ndarray of bool, aligned with the rows.
    """
    keep = np.ones(len(power), dtype=bool)
    if "element" in power.columns:
        element = power["element"].astype("string").str.strip().str.lower()
        keep &= (element == "line").fillna(False).to_numpy(dtype=bool)
    if "phases" in power.columns:
        keep &= (pd.to_numeric(power["phases"], errors="coerce") == 3).fillna(False) \
            .to_numpy(dtype=bool)
    if "status" in power.columns:
        status = power["status"].astype("string").fillna("existing")
        keep &= status.isin(list(statuses)).to_numpy(dtype=bool)
    return keep
