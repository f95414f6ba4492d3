"""The analyses on a dask cluster: area by zone, coverage and gaps, partitioned by commune.

For parcel layers too large for one machine's memory or patience (a
province's hundreds of thousands of parcels, the delta's millions), the same
analyses run on a ``dask.distributed`` cluster, from a dask-geopandas
GeoDataFrame read partition by partition (:func:`geoagri.io.read_partitioned`).  The
results are those of :func:`geoagri.area.area_by_zone`,
:func:`geoagri.coverage.coverage` and :func:`geoagri.coverage.gaps` on the
whole layer in memory: the same rows, in the same order, with the same
columns, dtypes and ``attrs``, and hectares equal to 1e-9 relative.  Calling
those functions with a dask-geopandas GeoDataFrame, or with ``client=`` or
``npartitions=``, runs them here (they are registered with
:func:`geoagri._dask_hook.on_cluster`; this engine imports none of them).

How the work is partitioned, and why it is exact
------------------------------------------------
* **By commune, not by parcel.**  The communes (a small layer) are sorted
  along a Hilbert curve and cut into ``npartitions`` runs of neighbours.
  Each partition of the parcel layer, where it was read, sends every parcel
  to each commune partition whose communes' bounding boxes it meets (a
  parcel on a border goes to both sides).  A commune partition then runs the
  ordinary in-memory analysis on its parcels and its communes, and keeps the
  rows of its communes.  A commune's row depends only on the parcels that
  intersect it (its dissolved area is the area of the group's union within
  the commune), and all of those are in its partition, so the rows are exact
  in both modes, ``overlap_ha`` included.
* **Area outside every commune** comes only from parcels that are not wholly
  inside the union of the communes, a few in a province.  Each parcel
  partition picks them out (a quadtree of the union, then a prepared
  containment test) and one task runs the analysis on them with all
  communes, keeping its rows without a commune.
* **One metric CRS**, chosen once from all communes, is passed to every
  partition, so that every partition measures as the in-memory call would.
* **Service areas** (coverage, gaps): every commune partition gets the pumps,
  canals and power lines that can reach its communes (within the pump
  radius, the canal reach plus the network reach, the power reach of their
  bounding box), which serve its communes exactly as all of them would.
* **Rows** are put back in the in-memory order: by commune (the layer's
  order, outside last) and by group in order of first appearance in the
  parcel layer; gaps by parcel (layer order), commune and what is missing.

Memory
------
No process holds the whole parcel layer: a worker reads one partition at a
time, and holds the parcels routed to the commune partitions it has not yet
run (about its share of the layer, spilled to disk by dask past its memory
limit), plus one commune partition's working set (about ``1 /
npartitions`` of the layer; the in-memory analysis needs about 1.5 kB per
parcel).  The client holds the communes, the service layers and the result
table.

Examples
--------
>>> from distributed import Client, LocalCluster
>>> from geoagri.datasets import demo
>>> from geoagri.area import area_by_zone
>>> plan = demo()
>>> with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
...                   dashboard_address=None) as cluster, Client(cluster) as client:
...     t = area_by_zone(plan["zones"], plan["communes"], client=client, npartitions=4,
...                      province=plan.province)
>>> ref = area_by_zone(plan["zones"], plan["communes"], province=plan.province)
>>> t[["commune_id", "zone_kind"]].equals(ref[["commune_id", "zone_kind"]])
True
>>> float((t["area_ha"] - ref["area_ha"]).abs().max()) < 1e-9
True
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoagri._dask_hook import ClusterRun, is_dask, keyword_options
from geoagri._engine import partition as _partition
from geoagri.errors import ClusterError, GeoagriError, GeoagriWarning, SchemaError

__all__ = ["ClusterError", "is_dask", "run_on_cluster"]

log = logging.getLogger("geoagri")

#: Hidden column carrying each parcel's place in the layer (partition << 32 | row).
_ROW = "__geoagri_row"


# --------------------------------------------------------------------------
# The cluster
# --------------------------------------------------------------------------

@contextlib.contextmanager
def _client(client: Any, func: str) -> Iterator[Any]:
    """The client to use: the one given, one on a scheduler address, the default
    client, or a new LocalCluster (closed afterwards)."""
    from distributed import Client, LocalCluster, get_client

    if client is not None and not isinstance(client, str):
        yield client
        return
    if isinstance(client, str):
        try:
            with Client(client, timeout="20s") as c:
                yield c
        except OSError as err:
            raise ClusterError(
                f"{func}: cannot reach the dask scheduler at {client!r} ({err}); check the "
                "address (tcp://host:8786) and that the scheduler is running") from None
        return
    try:
        yield get_client()
        return
    except ValueError:
        pass
    n = max(1, min(4, os.cpu_count() or 1))
    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
    except RuntimeError as err:
        raise ClusterError(
            f"{func}: could not start a LocalCluster of {n} worker processes ({err}). In a "
            "script, start the cluster under `if __name__ == '__main__':`, or pass "
            "client=Client(LocalCluster(processes=False))") from None
    log.info("%s: started a LocalCluster of %d workers", func, n)
    with cluster, Client(cluster) as c:
        yield c


def _n_threads(client: Any) -> int:
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # a client we cannot ask: assume two threads
        return 2


def _to_dask(zones: Any, func: str, client: Any) -> Any:
    if is_dask(zones):
        return zones
    if isinstance(zones, gpd.GeoDataFrame):
        import dask
        import dask_geopandas

        n = max(1, min(2 * _n_threads(client), math.ceil(len(zones) / 10_000)))
        with dask.config.set({"dataframe.convert-string": False}):  # keep the dtypes
            return dask_geopandas.from_geopandas(zones, npartitions=n)
    raise SchemaError(
        f"{func}: zones must be a GeoDataFrame or a dask-geopandas GeoDataFrame, got "
        f"{type(zones).__name__}; read a large layer with "
        "geoagri.io.read_partitioned(path, kind='parcels')")


def _gather(client: Any, tasks: list[Any], func: str, *, again: int = 1) -> list[Any]:
    """Compute the tasks; a failure raises, and no partial result is returned.

    Where the scheduler cancels a task it has already forgotten (it happens when a
    worker dies while its results are being handed over), the tasks are computed
    again, ``again`` times at most: the result is whole or there is none.
    """
    from concurrent.futures import CancelledError

    futures = client.compute(tasks)
    try:
        return client.gather(futures)
    except GeoagriError:
        raise
    except CancelledError as err:
        if again <= 0 or "forgotten" not in str(err):
            raise ClusterError(f"{func}: the run on the dask cluster was cancelled ({err}). "
                               "No result was returned.") from err
        log.info("%s: a task was cancelled by the scheduler (%s); computing again", func, err)
        client.cancel(futures)
        return _gather(client, tasks, func, again=again - 1)
    except Exception as err:
        from distributed import KilledWorker

        hint = ("workers died while running it (out of memory?): use more partitions "
                "(npartitions=) or workers with more memory"
                if isinstance(err, KilledWorker) else
                "a task raised on a worker: see the error above; fix the input or the "
                "cluster and run again")
        raise ClusterError(
            f"{func}: the run on the dask cluster failed with {type(err).__name__}: {err}; "
            f"{hint}. No result was returned.") from err
    finally:
        client.cancel(futures)


# --------------------------------------------------------------------------
# Tasks (run on the workers)
# --------------------------------------------------------------------------

def _group_keys(frame: pd.DataFrame, by: list[str]) -> list[tuple]:
    if not by:
        return [()] if len(frame) else []
    keys = frame[by].astype(object)
    keys = keys.where(keys.notna(), None)
    return list(dict.fromkeys(keys.itertuples(index=False, name=None)))


def _route_task(part: gpd.GeoDataFrame, index: int, parts: _partition.CommunePartitions,
                target: Any, by: list[str]) -> tuple:
    """Split one partition of the parcels by commune partition.

    Returns ``k`` frames (one per commune partition), the frame of parcels that
    may lie outside every commune, the groups in order of first appearance, and
    how many parcels are not polygons.
    """
    part = part.copy()
    part[_ROW] = (np.int64(index) << 32) + np.arange(len(part), dtype=np.int64)
    geoms = part.geometry
    if geoms.crs is not None and not geoms.crs.equals(target):
        geoms = geoms.to_crs(target)
    geoms = np.asarray(geoms.array, dtype=object)
    per_partition, outside = _partition.route(geoms, parts)
    bad = int((~np.isin(shapely.get_type_id(geoms), (3, 6))).sum())
    return (*[part.iloc[idx] for idx in per_partition], part.iloc[outside],
            _group_keys(part, by), bad)


def _concat(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else \
        frames[0].reset_index(drop=True)
    return frame


def _run_task(func: Callable[..., Any], frames: list[gpd.GeoDataFrame],
              communes: gpd.GeoDataFrame, keep_outside: bool,
              options: dict[str, Any]) -> pd.DataFrame | None:
    """Run the in-memory analysis on one commune partition; keep its own rows."""
    zones = _concat(frames)
    if not len(zones):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoagriWarning)
        out = func(zones, communes, **options)
    outside = out["commune_id"].isna().to_numpy()
    out = out[outside] if keep_outside else out[~outside]
    return out if len(out) else None


def _service_subsets(extent: np.ndarray, service: dict[str, Any], target: Any
                     ) -> dict[str, Any]:
    """The pumps, canals and power features that can serve land within ``extent``."""
    out = dict(service)
    for name, reach in service.get("_reach", {}).items():
        layer = service[name]
        b = service["_bounds"][name]
        x0, y0, x1, y1 = extent[0] - reach, extent[1] - reach, extent[2] + reach, \
            extent[3] + reach
        near = (b[:, 0] <= x1) & (b[:, 2] >= x0) & (b[:, 1] <= y1) & (b[:, 3] >= y0)
        out[name] = layer.iloc[np.flatnonzero(near)]
    out.pop("_reach", None)
    out.pop("_bounds", None)
    return out


def _service_reach(options: dict[str, Any], target: Any) -> dict[str, Any]:
    """Service layers with their bounds (metric CRS) and how far each can serve, m."""
    pumps, canals, power = options.get("pumps"), options.get("canals"), options.get("power")
    reach: dict[str, float] = {}
    if pumps is not None:
        radius = options.get("pump_radius_m")
        if isinstance(radius, str):
            ha = pd.to_numeric(pumps.get("served_area_ha", pd.Series(dtype=float)),
                               errors="coerce").to_numpy(float)
            ha = ha[np.isfinite(ha) & (ha > 0)]
            r = float(np.sqrt(ha.max() * 1e4 / math.pi)) if len(ha) else 0.0
        else:
            r = float(radius or 0.0)
        through = 0.0
        if canals is not None:
            through = float(options["network_reach_m"]) + float(options["canal_reach_m"])
            reach["canals"] = through + float(options["network_reach_m"]) + 1.0
        reach["pumps"] = max(r, through) + 1.0
    if power is not None:
        reach["power"] = float(options["power_reach_m"]) + 1.0
    bounds = {name: shapely.bounds(np.asarray(options[name].geometry.to_crs(target).array,
                                              dtype=object)) for name in reach}
    # features without geometry have NaN bounds: keep them everywhere (they serve nothing)
    for b in bounds.values():
        b[np.isnan(b).any(axis=1)] = [-np.inf, -np.inf, np.inf, np.inf]
    service = {name: options[name] for name in ("pumps", "canals", "power")
               if options.get(name) is not None}
    return {**service, "_reach": reach, "_bounds": bounds}


def _run(func: Callable[..., Any], run: ClusterRun, zones: Any, communes: gpd.GeoDataFrame,
         *, options: dict[str, Any], client: Any, npartitions: int | None) -> Any:
    from geoagri.boundaries import disjoint
    from geoagri.crs import metric_crs

    name = func.__name__
    if is_dask(communes):
        communes = communes.compute()
    if not isinstance(communes, gpd.GeoDataFrame):
        raise SchemaError(f"{name}: communes must be a GeoDataFrame, got "
                          f"{type(communes).__name__}")
    with _client(client, name) as cl:
        ddf = _to_dask(zones, name, cl)
        meta = ddf._meta
        # the in-memory function on no zones: checks every option and gives the
        # columns and attrs (for coverage and gaps, the service areas built once)
        template = func(meta, communes, **options)
        level = options.pop("level", "commune")
        by = options["by"]
        if by is None:
            by = run.default_by(meta) if run.default_by is not None else []
        target = metric_crs(communes, crs=options["crs"], province=options["province"],
                            era=options["era"])
        opts = {**options, "by": [by] if isinstance(by, str) else list(by), "crs": target}
        by = opts["by"]
        names = {"province": options["province"], "era": options["era"],
                 "lineage": options.pop("lineage", None)}
        opts.pop("lineage", None)
        opts["province"] = None
        if opts.get("threads") is None:
            opts["threads"] = 1
        cgeoms = np.array(communes.geometry.to_crs(target).array, dtype=object)
        if run.disjoint_communes:  # each overlap of communes in one commune, as in memory
            cgeoms = disjoint(cgeoms, communes["commune_id"].to_numpy(dtype=object))
        nc = len(cgeoms)
        k = npartitions or max(2 * _n_threads(cl), ddf.npartitions)
        parts = _partition.partition_communes(cgeoms, npartitions=k,
                                              max_vertices=opts.get("max_vertices", 32))
        # communes as the workers see them: commune_id is the position in the layer
        slim = gpd.GeoDataFrame({"commune_id": np.arange(nc, dtype=object),
                                 "commune_name": communes["commune_name"].to_numpy(object)},
                                geometry=cgeoms, crs=target)
        service = _service_reach(opts, target) if run.serves else {}
        [parts_f] = cl.scatter([parts], broadcast=True, hash=False)
        import dask

        route = dask.delayed(_route_task, nout=parts.k + 3, pure=False)
        routed = [route(part, i, parts_f, target, by)
                  for i, part in enumerate(ddf.to_delayed())]
        task = dask.delayed(_run_task, pure=False)
        tasks = []
        for p in range(parts.k):
            mine = slim.iloc[parts.members[p]]
            o = {**opts, **_service_subsets(parts.extents[p], service, target)} \
                if service else opts
            tasks.append(task(func, [r[p] for r in routed], mine, False, o))
        # the parcels that may lie outside every commune, with all communes and all
        # service features (few parcels; service layers are small)
        tasks.append(task(func, [r[parts.k] for r in routed], slim, True, opts))
        tasks.append(dask.delayed(list)([r[parts.k + 1] for r in routed]))
        tasks.append(dask.delayed(sum)([r[parts.k + 2] for r in routed]))
        log.info("%s: %d parcel partitions → %d commune partitions on %d threads", name,
                 ddf.npartitions, parts.k, _n_threads(cl))
        results = _gather(cl, tasks, name)
    *frames, uniques, n_bad = results
    if n_bad:
        warnings.warn(f"{name}: {n_bad} zone(s) are not polygons (points, lines or empty) "
                      "and have no area", GeoagriWarning, stacklevel=4)
    codes: dict[tuple, int] = {}
    for keys in uniques:
        for key in keys:
            codes.setdefault(key, len(codes))
    frames = [f for f in frames if f is not None]
    if run.assemble == "gaps":
        return _assemble_gaps(frames, template, communes, meta)
    return _assemble_table(frames, template, communes, by, codes, level, cgeoms,
                           roll=run.roll_up, **names)


def _positions(values: pd.Series, nc: int) -> np.ndarray:
    return np.array([nc if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
                     else int(v) for v in values], dtype=np.int64)


def _named(out: pd.DataFrame, pos: np.ndarray, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    nc = len(communes)
    cid = communes["commune_id"].to_numpy(dtype=object)
    cname = communes["commune_name"].to_numpy(dtype=object)
    out["commune_id"] = pd.array([cid[j] if j < nc else pd.NA for j in pos], dtype=object)
    out["commune_name"] = [cname[j] if j < nc else None for j in pos]
    return out


def _assemble_table(frames: list[pd.DataFrame], template: pd.DataFrame,
                    communes: gpd.GeoDataFrame, by: list[str], codes: dict[tuple, int],
                    level: str, cgeoms: np.ndarray, *, province: str | None, era: str,
                    lineage: pd.DataFrame | None,
                    roll: Callable[..., Any] | None = None) -> pd.DataFrame:
    from geoagri.hierarchy import assign_units, roll_up

    nc = len(communes)
    if not frames:
        out = template.copy()
        out.attrs = dict(template.attrs)
        return out
    out = pd.concat(frames, ignore_index=True)
    pos = _positions(out["commune_id"], nc)
    if by:
        keys = out[by].astype(object)
        keys = keys.where(keys.notna(), None)
        gcode = np.array([codes[k] for k in keys.itertuples(index=False, name=None)])
    else:
        gcode = np.zeros(len(out), dtype=int)
    order = np.lexsort((gcode, pos))
    out = out.iloc[order].reset_index(drop=True)
    pos = pos[order]
    out = _named(out, pos, communes)
    if level != "commune" and roll is not None:
        out = roll(out, communes, level=level, province=province, era=era, lineage=lineage)
    elif level != "commune":
        units = assign_units(communes, level, era=era, province=province, lineage=lineage)
        out = roll_up(out.drop(columns=["commune_id", "commune_name", "commune_share_pct"])
                      .assign(_pos=pos), units, level=level, by=by,
                      commune_area=shapely.area(cgeoms) / 1e4)
    out = out[list(template.columns)]
    out.attrs = dict(template.attrs)
    return out


def _assemble_gaps(frames: list[pd.DataFrame], template: gpd.GeoDataFrame,
                   communes: gpd.GeoDataFrame, meta: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from geoagri.coverage import CLASSES, MISSING

    nc = len(communes)
    if not frames:
        out = template.drop(columns=_ROW, errors="ignore")
        out.attrs = dict(template.attrs)
        return out
    out = pd.concat(frames, ignore_index=True)
    pos = _positions(out["commune_id"], nc)
    klass = {m: CLASSES.index(c) for c, m in MISSING.items()}
    k = out["missing"].map(klass).to_numpy(int)
    order = np.lexsort((k, pos, out[_ROW].to_numpy(np.int64)))
    out = out.iloc[order].reset_index(drop=True)
    out = _named(out, pos[order], communes)
    out = out.drop(columns=_ROW)
    result = gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=meta.crs)
    result = result[[c for c in template.columns if c != _ROW]]
    result.attrs = dict(template.attrs)
    return result


# --------------------------------------------------------------------------
# The entry point of the analyses
# --------------------------------------------------------------------------

def run_on_cluster(func: Callable[..., Any], run: ClusterRun, zones: Any, communes: Any, *,
                   client: Any = None, npartitions: int | None = None,
                   **options: Any) -> Any:
    """Run an analysis registered with :func:`geoagri._dask_hook.on_cluster` on a cluster.

    Called by the analyses themselves (``area_by_zone(ddf, communes)``,
    ``coverage(ddf, communes, ..., client=client)``): the result is exactly
    what the in-memory call on the whole layer returns.

    Parameters
    ----------
    func : callable
        The analysis (its keyword-only options, with their defaults, are the
        options here).
    run : ClusterRun
        How its rows go back together.
    zones : dask_geopandas.GeoDataFrame or GeoDataFrame
        The zones or parcels (an in-memory GeoDataFrame is split into
        partitions first).
    communes : GeoDataFrame
        Canonical communes (small: sent to every worker).
    client : distributed.Client or str, optional
        The cluster (default: the current client, else a LocalCluster of up to
        4 worker processes, closed afterwards).
    npartitions : int, optional
        Commune partitions (default: twice the cluster's threads, or the
        parcel layer's partitions if more).
    **options
        The analysis's options.

    Raises
    ------
    OptionError
        If an option is not one of the analysis's.
    ClusterError
        If a task fails on a worker or workers keep dying: nothing is returned.
    """
    return _run(func, run, zones, communes, options=keyword_options(func, options),
                client=client, npartitions=npartitions)
