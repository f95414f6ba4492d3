"""Errors and warnings raised by geoagri.

Every error says what is wrong, where (layer, row or id, column), what was
found and how to fix it.  Validation collects all problems of a layer and
raises once: :class:`LayerError` carries the list as ``.problems``.

Examples
--------
>>> from geoagri.errors import Problem, LayerError
>>> p = Problem("duplicate_id", "two rows share commune_id '27781'",
...             layer="communes", column="commune_id", ids=["27781"],
...             fix="give every commune a unique commune_id")
>>> err = LayerError("communes", [p])
>>> err.problems[0].code
'duplicate_id'
>>> "27781" in str(err)
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = [
    "CRSError",
    "ClusterError",
    "GeoagriError",
    "GeoagriWarning",
    "GeometryError",
    "IndicatorError",
    "InfeasibleError",
    "LayerError",
    "NameMatchError",
    "OptionError",
    "OutputError",
    "PlanError",
    "Problem",
    "SchemaError",
    "UnitError",
]

#: How many ids a problem lists before it says "and N more".
MAX_IDS_SHOWN = 10


class GeoagriError(Exception):
    """Base class of every error geoagri raises on purpose.

    The command line prints the message of a ``GeoagriError`` as one
    paragraph and exits non-zero, without a traceback.
    """


class CRSError(GeoagriError):
    """A coordinate reference system is missing, wrong or inconsistent."""


class SchemaError(GeoagriError):
    """A table does not have the columns, types or values a kind requires."""


class UnitError(SchemaError):
    """A unit is not understood, or does not measure what it is compared with."""


class GeometryError(GeoagriError):
    """Geometries are null, empty, invalid or of the wrong type."""


class InfeasibleError(GeoagriError):
    """An optimisation problem has no solution with the given inputs."""


class ClusterError(GeoagriError):
    """A run on a dask cluster failed (a task raised, workers died); no result."""


class NameMatchError(GeoagriError):
    """An administrative-unit name matched nothing, or more than one unit."""


class PlanError(GeoagriError):
    """A plan file is malformed or names something that does not exist."""


class IndicatorError(PlanError):
    """An indicator's definition names a measure, layer, column or indicator that does not exist."""


class OptionError(SchemaError, ValueError):
    """An option or setting has a value that cannot be used (the message says which).

    Every analysis raises it for a bad option value (``level="ward"``,
    ``budget_vnd=-1``, ``language="fr"``): it is a :class:`GeoagriError` (the
    command line prints it as one paragraph) and a :class:`ValueError` (what
    Python code expects of a bad argument).
    """


class OutputError(GeoagriError, OSError):
    """An output could not be written: disk full, read-only, missing folder, locked.

    The message is one paragraph naming the path and what to do; the
    operating system's error is kept as ``__cause__``.
    """


class GeoagriWarning(UserWarning):
    """Something was repaired, guessed or dropped; the message says what."""


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a layer.

    Parameters
    ----------
    code : str
        Machine-readable category, e.g. ``"missing_column"``,
        ``"duplicate_id"``, ``"null_geometry"``, ``"invalid_geometry"``,
        ``"geometry_type"``, ``"vocabulary"``, ``"negative"``, ``"crs"``.
    message : str
        What was found, in words.
    layer : str, optional
        Layer name (plan name, or the kind when the layer is unnamed).
    column : str, optional
        Column concerned.
    ids : sequence of str, optional
        Ids (or ``row N`` labels when the id is missing) of the rows concerned.
    fix : str, optional
        How to fix it.
    """

    code: str
    message: str
    layer: str | None = None
    column: str | None = None
    ids: Sequence[str] = field(default_factory=tuple)
    fix: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.column:
            parts.append(f"column '{self.column}': ")
        parts.append(self.message)
        if self.ids:
            shown = ", ".join(str(i) for i in list(self.ids)[:MAX_IDS_SHOWN])
            more = len(self.ids) - MAX_IDS_SHOWN
            parts.append(f" [{shown}{f' and {more} more' if more > 0 else ''}]")
        if self.fix:
            parts.append(f". Fix: {self.fix}")
        return "".join(parts)


class LayerError(SchemaError, GeometryError, CRSError):
    """All problems found in one layer, raised once.

    It is a :class:`SchemaError`, a :class:`GeometryError` and a
    :class:`CRSError` at the same time, so that a caller can catch the
    family it cares about; ``.problems`` lists every :class:`Problem` and
    ``.codes`` their categories.
    """

    def __init__(self, layer: str, problems: Sequence[Problem]):
        self.layer = layer
        self.problems = list(problems)
        n = len(self.problems)
        lines = [f"layer '{layer}' has {n} problem{'s' if n != 1 else ''}:"]
        lines += [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))

    @property
    def codes(self) -> set[str]:
        """The set of problem categories, e.g. ``{"duplicate_id"}``."""
        return {p.code for p in self.problems}
