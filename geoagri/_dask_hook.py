"""One registration between an analysis and the dask engine (no dask imported here).

An analysis that can run on a cluster is decorated with :func:`on_cluster` and
a :class:`ClusterRun` that says how its partial results go back together.
Called with a dask-geopandas GeoDataFrame, or with ``client=`` or
``npartitions=``, it runs on the cluster (:func:`geoagri.distributed.run_on_cluster`,
which receives the analysis itself: the engine imports no analysis and copies
no signature); otherwise it runs in memory, as written.

Examples
--------
>>> import geopandas as gpd
>>> is_dask(gpd.GeoDataFrame())
False
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["ClusterRun", "is_dask", "keyword_options", "on_cluster"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ClusterRun:
    """How an analysis's rows from commune partitions make its whole result.

    Attributes
    ----------
    assemble : {"table", "gaps"}
        Rows per commune and group (put back in the in-memory order), or gap
        polygons per zone, commune and what is missing.
    default_by : callable, optional
        The zones' ``by`` columns when the call gives none (from the zones'
        empty frame: the layer kind's defaults).
    disjoint_communes : bool
        Count each overlap of communes in one commune, as the in-memory call does.
    serves : bool
        The analysis takes service layers (pumps, canals, power): each
        partition gets those that can reach its communes.
    roll_up : callable, optional
        ``roll_up(table, communes, level=, province=, era=, lineage=)``: the
        analysis's own sum of its commune rows to districts or provinces
        (default: areas and overlaps, as :func:`geoagri.area.area_by_zone`).
    """

    assemble: str
    default_by: Callable[[Any], Sequence[str]] | None = None
    disjoint_communes: bool = False
    serves: bool = False
    roll_up: Callable[..., Any] | None = None


def is_dask(obj: Any) -> bool:
    """Whether ``obj`` is a dask(-geopandas) collection (checked without importing dask)."""
    return type(obj).__module__.split(".")[0] in ("dask_geopandas", "dask") \
        and hasattr(obj, "to_delayed")


def keyword_options(func: Callable[..., Any], options: dict[str, Any], *,
                    exclude: Sequence[str] = (), caller: str | None = None) -> dict[str, Any]:
    """Every keyword-only option of ``func`` with its default, overridden by ``options``.

    For callers that hand an analysis's options on (the cluster engine,
    :func:`geoagri.coverage.service_coverage`) without copying its signature.

    Raises
    ------
    OptionError
        Naming the options ``func`` does not take (or that are ``exclude``-d).

    Examples
    --------
    >>> def f(zones, *, radius_m=1000.0, crop="rice"):
    ...     pass
    >>> keyword_options(f, {"crop": "lúa"})
    {'radius_m': 1000.0, 'crop': 'lúa'}
    """
    import inspect

    from geoagri.errors import OptionError

    params = inspect.signature(func).parameters
    defaults = {k: p.default for k, p in params.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and k not in exclude}
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise OptionError(f"{caller or func.__name__}: unknown option(s) {unknown}; it takes "
                          f"{sorted(defaults)}")
    return defaults | options


def on_cluster(run: ClusterRun) -> Callable[[F], F]:
    """Let an analysis ``f(zones, communes, *, ...)`` run on a dask cluster too.

    The decorated function takes two more keywords: ``client`` (a
    ``distributed.Client`` or a scheduler address; default the current
    client, else a local cluster) and ``npartitions`` (commune partitions).
    """
    def wrap(func: F) -> F:
        @functools.wraps(func)
        def analysis(zones: Any, communes: Any = None, *args: Any, client: Any = None,
                     npartitions: int | None = None, **options: Any) -> Any:
            if is_dask(zones) or client is not None or npartitions is not None:
                from geoagri.distributed import run_on_cluster

                return run_on_cluster(analysis, run, zones, communes, client=client,
                                      npartitions=npartitions, **options)
            return func(zones, communes, *args, **options)

        analysis.cluster_run = run  # type: ignore[attr-defined]
        return analysis  # type: ignore[return-value]

    return wrap
