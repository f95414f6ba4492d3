"""Benchmark: area by commune × land use, geoagri beside geopandas, DuckDB spatial and STRtree.

Run by hand, never by the test suite::

    python benchmarks/bench_area.py --scale province --repeat 3        # sparse and dense
    python benchmarks/bench_area.py --shape dense --methods geoagri,strtree
    python benchmarks/bench_area.py --scale tiny --repeat 1          # a quick check
    python benchmarks/bench_area.py --scale national --repeat 1      # minutes

Data: seeded synthetic Mekong-like communes and parcels from
``_synth_parcels.py`` (tiny = 20 communes and 20,000 parcels, province = 200 and
200,000, national delta = 1,500 and 2,000,000), cached as GeoParquet under
``benchmarks/.cache/``, in two shapes on the same communes (``--shape``):
``sparse`` (cadastral-like, about 5 % of the parcels overlap another of their
land use, in small clusters) and ``dense`` (hand-drawn-like, about half of
them do, in clusters of up to ~40); the data's own ``overlap_share`` and
``cluster_sizes`` are printed.  Invalid parcels are repaired once with
``shapely.make_valid`` (polygonal parts kept) before any method runs, for all
methods alike.

Every method runs in its own subprocess, one per repeat: the layers are read
from the cache and repaired before the timer starts ("loading excluded"), and
the process's peak resident memory (``getrusage``) is what it reports, loading
included; ``loaded`` is the peak before the timer started.  Two modes:

``plain``
    overlapping parcels counted as many times as they are drawn.  geoagri:
    ``area_by_zone(..., by=("land_use",), dissolve=False)``; geopandas:
    ``overlay(parcels, communes, how="intersection")``, area, ``groupby``;
    DuckDB: ``ST_Intersection`` joined on ``ST_Intersects``, communes driving
    the join, ``ST_Area``, ``GROUP BY``.
``dissolve``
    overlaps counted once within a land use.  geoagri: ``dissolve=True``;
    geopandas: ``parcels.dissolve(by="land_use")``, then as above; DuckDB:
    ``ST_Union_Agg`` per land use, then as above.

The ``strtree`` method is the simple script a user would write (about 40
lines, :func:`_prepare_strtree`): an STRtree of the parcels queried by the
communes, a parcel properly inside its commune counted whole without an
intersection, the others intersected; the communes split between 2 threads.
Dissolved, it first unions each cluster of overlapping same-class parcels
(found with the same tree), the clusters split between 2 threads.

The machine may be shared: each run records the 1-minute load average at
its start and end, and the printout gives the highest seen beside each
figure (above the CPU count, other work competed for the cores).

A method that is not installed (``geoagri.area`` not written yet, ``duckdb``
or its spatial extension missing) is reported and skipped; a run that passes
``--timeout`` seconds or ``--mem-limit-gb`` is killed and reported.  The
printout gives, per mode and method, the median time, the peak memory, the
speed-up against geopandas and against DuckDB, and per pair of methods the
largest difference of a cell (commune × land use) in ha and relative;
geoagri's rows of area outside every commune are left out of the comparison
and their total printed.  The figures also go to
``benchmarks/.cache/bench_area_<scale>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import importlib
import json
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _synth_parcels as synth
from _process_tree import tree_memory

METHODS = ("geoagri", "strtree", "geopandas", "duckdb")
MODES = ("plain", "dissolve")
KEYS = ["commune_id", "land_use"]
DEFAULT_TIMEOUT_S = {"tiny": 120.0, "province": 600.0, "national": 600.0}
RUNS_DIR = synth.CACHE_DIR / "runs"
GIB = 1024**3


# --------------------------------------------------------------------------- the methods


def _duckdb_connect():
    """A DuckDB connection with the spatial extension loaded, offline."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("LOAD spatial")
        return con
    except duckdb.Error:
        pass
    # the PyPI wheel ``duckdb-extension-spatial`` ships the binary in its package
    pkg = importlib.import_module("duckdb_extension_spatial")
    root = Path(next(iter(pkg.__path__)))
    exact = root / "extensions" / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    found = [exact] if exact.exists() else sorted(root.rglob("spatial.duckdb_extension"))
    if not found:
        raise ImportError(f"no spatial.duckdb_extension under {root}")
    con.execute(f"LOAD '{found[0]}'")
    return con


def _prepare_geoagri(parcels, communes, mode: str) -> Callable[[], pd.DataFrame]:
    from geoagri.area import area_by_zone

    # load the compiled kernels (numba's cache) before the timer, as an import would; on
    # three communes only, so that the timed run still pays for cutting the whole
    # communes layer (area_by_zone keeps the disjoint communes and their pieces of the
    # last few layers: a second analysis of the same communes would skip that work)
    area_by_zone(parcels.iloc[:100], communes.iloc[:3], by=("land_use",), crs=synth.CRS)

    def job() -> pd.DataFrame:
        return area_by_zone(parcels, communes, by=("land_use",), dissolve=mode == "dissolve",
                            crs=synth.CRS)

    return job


def _prepare_geopandas(parcels, communes, mode: str) -> Callable[[], pd.DataFrame]:
    import geopandas as gpd

    def job() -> pd.DataFrame:
        zones = parcels.dissolve(by="land_use", as_index=False) if mode == "dissolve" \
            else parcels
        pieces = gpd.overlay(zones, communes, how="intersection")
        pieces["area_ha"] = pieces.geometry.area / 1e4
        return pieces.groupby(KEYS, as_index=False)["area_ha"].sum()

    return job


_DUCKDB_SQL = {
    "plain": """
        SELECT c.commune_id, p.land_use,
               SUM(ST_Area(ST_Intersection(c.geom, p.geom))) / 1e4 AS area_ha
        FROM communes AS c JOIN parcels AS p ON ST_Intersects(c.geom, p.geom)
        GROUP BY c.commune_id, p.land_use
    """,
    "dissolve": """
        WITH merged AS (
            SELECT land_use, ST_Union_Agg(geom) AS geom FROM parcels GROUP BY land_use)
        SELECT c.commune_id, m.land_use,
               SUM(ST_Area(ST_Intersection(c.geom, m.geom))) / 1e4 AS area_ha
        FROM communes AS c JOIN merged AS m ON ST_Intersects(c.geom, m.geom)
        GROUP BY c.commune_id, m.land_use
    """,
}


def _prepare_duckdb(parcels, communes, mode: str) -> Callable[[], pd.DataFrame]:
    import pyarrow as pa
    import shapely

    con = _duckdb_connect()
    con.execute(f"SET threads TO {os.cpu_count() or 1}")
    con.execute("SET preserve_insertion_order = false")
    for name, frame, cols in (("parcels", parcels, ["parcel_id", "land_use"]),
                              ("communes", communes, ["commune_id"])):
        table = pa.table({**{c: frame[c].astype(str).to_numpy() for c in cols},
                          "wkb": shapely.to_wkb(frame.geometry.values.to_numpy())})
        con.register(f"{name}_in", table)
        con.execute(f"CREATE TABLE {name} AS SELECT {', '.join(cols)}, "
                    f"ST_GeomFromWKB(wkb) AS geom FROM {name}_in")
        con.unregister(f"{name}_in")
        del table
    sql = _DUCKDB_SQL[mode]

    def job() -> pd.DataFrame:
        return con.execute(sql).df()

    return job


def _prepare_strtree(parcels, communes, mode: str) -> Callable[[], pd.DataFrame]:
    from concurrent.futures import ThreadPoolExecutor

    import shapely
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    def halves(n: int) -> list[np.ndarray]:
        return np.array_split(np.arange(n), 2)

    def dissolve(geoms: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        keep = (i < j) & (use[i] == use[j])
        i, j = i[keep], j[keep]
        with ThreadPoolExecutor(2) as pool:
            over = np.concatenate(list(pool.map(lambda k: shapely.area(
                shapely.intersection(geoms[i[k]], geoms[j[k]])) > 0, halves(len(i)))))
        i, j = i[over], j[over]
        n = len(geoms)
        _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)))
        member = np.zeros(n, dtype=bool)
        member[i] = member[j] = True
        labels, first = np.unique(comp[member], return_index=True)
        groups = pd.Series(np.flatnonzero(member)).groupby(comp[member]).apply(np.asarray)
        with ThreadPoolExecutor(2) as pool:
            unions = np.concatenate(list(pool.map(
                lambda k: np.array([shapely.union_all(geoms[g]) for g in groups.iloc[k]],
                                   dtype=object), halves(len(labels)))))
        return (np.r_[geoms[~member], unions],
                np.r_[use[~member], use[np.flatnonzero(member)[first]]])

    def job() -> pd.DataFrame:
        geoms = parcels.geometry.values.to_numpy()
        use = parcels["land_use"].to_numpy()
        if mode == "dissolve":
            geoms, use = dissolve(geoms, use)
        tree = shapely.STRtree(geoms)
        cg = communes.geometry.values.to_numpy()

        def part(ck: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            mine = cg[ck].copy()  # prepared in this thread only
            c, g = tree.query(mine, predicate="intersects")
            area = shapely.area(geoms[g])
            cut = ~shapely.contains_properly(mine[c], geoms[g])  # wholly inside: no intersection
            area[cut] = shapely.area(shapely.intersection(geoms[g[cut]], mine[c[cut]]))
            return ck[c], g, area

        with ThreadPoolExecutor(2) as pool:
            c, g, area = (np.concatenate(x) for x in zip(*pool.map(part, halves(len(cg))),
                                                         strict=True))
        frame = pd.DataFrame({"commune_id": communes["commune_id"].to_numpy()[c],
                              "land_use": use[g], "area_ha": area / 1e4})
        return frame.groupby(KEYS, as_index=False)["area_ha"].sum()

    return job


_PREPARE = {"geoagri": _prepare_geoagri, "strtree": _prepare_strtree,
            "geopandas": _prepare_geopandas, "duckdb": _prepare_duckdb}


def _standardise(method: str, raw: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Cells ``commune_id, land_use, area_ha`` inside communes, and extra figures."""
    extra: dict = {}
    frame = pd.DataFrame(raw)
    if method == "geoagri":
        outside = frame["commune_id"].isna()
        extra["outside_ha"] = float(frame.loc[outside, "area_ha"].sum())
        if "overlap_ha" in frame:
            extra["overlap_ha"] = float(frame.loc[~outside, "overlap_ha"].sum())
        extra["columns"] = [str(c) for c in frame.columns]
        frame = frame.loc[~outside]
        if "overlap_ha" in frame:
            frame = frame.assign(overlap_ha=frame["overlap_ha"].astype(float))
    cols = [*KEYS, "area_ha"] + (["overlap_ha"] if "overlap_ha" in frame else [])
    table = frame[cols].copy()
    for key in KEYS:
        table[key] = table[key].astype(str)
    table["area_ha"] = table["area_ha"].astype(float)
    table = table.groupby(KEYS, as_index=False).sum()
    return table, extra


def _rss_now() -> int:
    with contextlib.suppress(Exception):
        import psutil

        return int(psutil.Process().memory_info().rss)
    return 0


def _child(method: str, mode: str, scale: str, seed: int, out: Path, shape: str) -> None:
    """Run one method once and write its figures (JSON) and cells (Parquet)."""
    warnings.simplefilter("ignore")
    parcels, communes, _ = synth.load(scale, seed, shape=shape)
    parcels, n_repaired = synth.repair(parcels)
    job = _PREPARE[method](parcels, communes, mode)
    gc.collect()
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rss_start = _rss_now()
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    raw = job()
    seconds = time.perf_counter() - t0
    load_end = os.getloadavg()[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    table, extra = _standardise(method, raw)
    table.to_parquet(out.with_suffix(".parquet"), index=False)
    out.write_text(json.dumps({
        "seconds": seconds, "peak_rss": peak, "loaded_rss": loaded,
        "rss_at_start": rss_start, "peak_rss_children": peak_children,
        "n_repaired": n_repaired, "n_cells": len(table),
        "load_avg_1min": [load_start, load_end], **extra,
    }))


# --------------------------------------------------------------------------- the parent


def _available(method: str) -> str | None:
    """``None`` if the method can run here, else why not."""
    try:
        if method == "geoagri":
            module = importlib.import_module("geoagri.area")
            if not hasattr(module, "area_by_zone"):
                return "geoagri.area has no area_by_zone yet"
        elif method == "duckdb":
            _duckdb_connect().close()
        elif method in ("geopandas", "strtree"):
            importlib.import_module("geopandas")
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None




def supervise(cmd: list[str], log: Path, *, timeout_s: float, load_allowance: float,
              mem_limit_gb: float) -> dict:
    """Run ``cmd`` (output to ``log``), sampling its process tree's memory and the load.

    The child is killed past ``timeout_s + load_allowance`` seconds or
    ``mem_limit_gb``.  Returns ``status`` (None, or why it stopped or failed),
    ``wall_seconds``, ``sampled_tree_peak_rss`` and ``max_load_avg_1min``.
    """
    sampled_peak, max_load, status = 0, os.getloadavg()[0], None
    t0 = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        while proc.poll() is None:
            sampled_peak = max(sampled_peak, tree_memory(proc.pid))
            max_load = max(max_load, os.getloadavg()[0])
            if time.perf_counter() - t0 > timeout_s + load_allowance:
                status = f"timed out (limit {timeout_s:.0f} s)"
            elif sampled_peak > mem_limit_gb * GIB:
                status = f"killed at {sampled_peak / GIB:.1f} GiB (limit {mem_limit_gb} GiB)"
            if status:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.2)
    if status is None and proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        status = f"failed (exit {proc.returncode}): " + " | ".join(tail)
    return {"status": status, "wall_seconds": time.perf_counter() - t0,
            "sampled_tree_peak_rss": sampled_peak, "max_load_avg_1min": max_load}


def _run_child(args: argparse.Namespace, method: str, mode: str, run: int,
               timeout_s: float) -> dict:
    """One subprocess; returns its figures or why it failed."""
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    stem = RUNS_DIR / f"{args.scale_now}-{args.shape_now}-{method}-{mode}-{run}"
    out = stem.with_suffix(".json")
    for p in (out, out.with_suffix(".parquet")):
        p.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", method, mode,
           "--scale", args.scale_now, "--shape", args.shape_now, "--seed", str(args.seed),
           "--_out", str(out)]
    run_info = supervise(cmd, stem.with_suffix(".log"), timeout_s=timeout_s,
                         load_allowance=args.load_allowance, mem_limit_gb=args.mem_limit_gb)
    if run_info["status"] is None and not out.exists():
        run_info["status"] = "failed: the child wrote no figures"
    if run_info["status"] is not None:
        return run_info
    record = json.loads(out.read_text())
    record["status"] = "ok" if record["seconds"] <= timeout_s else \
        f"timed out (limit {timeout_s:.0f} s)"
    return {**record, **{k: v for k, v in run_info.items() if k != "status"},
            "cells": str(out.with_suffix(".parquet"))}


def _measure(args: argparse.Namespace, method: str, mode: str, timeout_s: float) -> dict:
    runs = []
    for run in range(args.repeat):
        rec = _run_child(args, method, mode, run, timeout_s)
        runs.append(rec)
        secs = f"{rec['seconds']:.2f} s" if "seconds" in rec else ""
        print(f"    {mode:8s} {method:9s} run {run + 1}/{args.repeat}: {rec['status']} {secs}",
              flush=True)
        if rec["status"] != "ok":
            break
    ok = [r for r in runs if r["status"] == "ok"]
    if len(ok) < len(runs) or not ok:
        return {"method": method, "mode": mode, "status": runs[-1]["status"], "runs": runs}
    return {
        "method": method, "mode": mode, "status": "ok",
        "median_seconds": statistics.median(r["seconds"] for r in ok),
        "seconds": [r["seconds"] for r in ok],
        "peak_rss": max(r["peak_rss"] for r in ok),
        "loaded_rss": max(r["loaded_rss"] for r in ok),
        "peak_rss_children": max(r["peak_rss_children"] for r in ok),
        "sampled_tree_peak_rss": max(r["sampled_tree_peak_rss"] for r in ok),
        "n_cells": ok[0]["n_cells"],
        "max_load_avg_1min": max(r["max_load_avg_1min"] for r in ok),
        "load_avg_1min": [r["load_avg_1min"] for r in ok],
        "cells": ok[0]["cells"],
        **{k: ok[0][k] for k in ("outside_ha", "overlap_ha", "columns") if k in ok[0]},
    }


def _compare(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Largest per-cell differences between two cell tables (``a`` minus ``b``)."""
    both = a[[*KEYS, "area_ha"]].merge(b[[*KEYS, "area_ha"]], on=KEYS, how="outer",
                                       suffixes=("_a", "_b"), indicator=True)
    va = both["area_ha_a"].fillna(0.0).to_numpy()
    vb = both["area_ha_b"].fillna(0.0).to_numpy()
    diff = np.abs(va - vb)
    scale = np.maximum(np.abs(va), np.abs(vb))
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    i_abs = int(np.argmax(diff)) if len(diff) else 0
    i_rel = int(np.argmax(rel)) if len(rel) else 0
    big = scale >= 1.0

    def where(i: int) -> str:
        return f"{both['commune_id'].iat[i]}/{both['land_use'].iat[i]}" if len(both) else ""

    return {
        "cells": len(both),
        "only_in_a": int((both["_merge"] == "left_only").sum()),
        "only_in_b": int((both["_merge"] == "right_only").sum()),
        "max_abs_diff_ha": float(diff.max()) if len(diff) else 0.0,
        "max_abs_diff_at": where(i_abs),
        "max_rel_diff": float(rel.max()) if len(rel) else 0.0,
        "max_rel_diff_at": where(i_rel),
        "max_rel_diff_cells_ge_1ha": float(rel[big].max()) if big.any() else 0.0,
        "sum_a_ha": float(va.sum()),
        "sum_b_ha": float(vb.sum()),
    }


def _versions() -> dict:
    out = {"python": platform.python_version(), "machine": platform.machine(),
           "cpus": os.cpu_count()}
    with contextlib.suppress(Exception):
        import psutil

        out["memory_gib"] = round(psutil.virtual_memory().total / GIB, 1)
    for name in ("geoagri", "shapely", "geopandas", "pandas", "numpy", "pyogrio", "duckdb"):
        with contextlib.suppress(Exception):
            out[name] = importlib.import_module(name).__version__
    with contextlib.suppress(Exception):
        import shapely

        out["geos"] = shapely.geos_version_string
    return out


def _fmt_gib(nbytes: float | None) -> str:
    return "" if not nbytes else f"{nbytes / GIB:.2f}"


def _fmt_ratio(num: float | None, den: float | None) -> str:
    if not num or not den:
        return ""
    return f"{num / den:.2f}"


def _fmt_load(load: float | None) -> str:
    return "" if load is None else f"{load:.1f}"


def _print_report(report: dict) -> None:
    meta = report["data"]
    print()
    print(f"== area by commune × land use, scale {report['scale']}, {report['shape']} "
          f"overlaps: "
          f"{meta['n_communes']:,} communes (~{meta['commune_vertices_mean']:.0f} vertices), "
          f"{meta['n_parcels']:,} parcels, seed {report['seed']}")
    print(f"   {report['n_repaired']:,} invalid parcels repaired before timing, "
          f"{meta['n_duplicates']:,} overlapping copies, "
          f"{meta['crossing_share_sample']:.1%} cross a commune border, "
          f"{meta['n_partly_or_wholly_outside']:,} partly outside every commune; "
          f"repeat {report['repeat']}, {report['versions'].get('cpus')} CPUs")
    if "overlap_share" in meta:
        sizes = {int(k): v for k, v in meta["cluster_sizes"].items()}
        print(f"   {meta['overlap_share']:.1%} of parcels overlap another of their land use: "
              f"{meta['n_overlapping_pairs']:,} pairs in {meta['n_clusters']:,} clusters "
              f"(2: {sizes.get(2, 0):,}, 3: {sizes.get(3, 0):,}, 4–9: "
              f"{sum(v for k, v in sizes.items() if 4 <= k <= 9):,}, ≥ 10: "
              f"{sum(v for k, v in sizes.items() if k >= 10):,}; largest {max(sizes, default=0)})")
    print()
    head = (f"{'mode':9s}{'method':11s}{'median s':>10s}  {'runs s':22s}{'peak GiB':>9s}"
            f"{'loaded':>8s}{'× gpd':>8s}{'× strtree':>10s}{'× duckdb':>9s}{'load':>6s}  status")
    print(head)
    print("-" * len(head))
    for mode in MODES:
        rows = [r for r in report["results"] if r["mode"] == mode]
        times = {r["method"]: r.get("median_seconds") for r in rows}
        for r in rows:
            t = r.get("median_seconds")
            runs = " ".join(f"{s:.2f}" for s in r.get("seconds", []))
            status = r["status"] if r["status"] != "ok" else ""
            if r.get("reused"):
                status = (status + f" reused from {r['reused']}").strip()
            print(f"{mode:9s}{r['method']:11s}{(f'{t:.2f}' if t else '—'):>10s}  {runs:22s}"
                  f"{_fmt_gib(r.get('peak_rss')):>9s}{_fmt_gib(r.get('loaded_rss')):>8s}"
                  f"{_fmt_ratio(times.get('geopandas'), t):>8s}"
                  f"{_fmt_ratio(times.get('strtree'), t):>10s}"
                  f"{_fmt_ratio(times.get('duckdb'), t):>9s}"
                  f"{_fmt_load(r.get('max_load_avg_1min')):>6s}  {status}")
    print("(× gpd, × strtree, × duckdb: that peer's median time over this method's; > 1 is faster. "
          "peak: max RSS of the run's process, loading included; loaded: before the timer;\n"
          f" load: highest 1-minute load average seen during the runs, on "
          f"{report['versions'].get('cpus')} CPUs: above that, other work shared the machine)")
    if report["comparisons"]:
        print()
        print("differences per cell (commune × land use), "
              "geoagri's area outside every commune left out:")
        head = (f"{'mode':9s}{'a vs b':22s}{'cells':>7s}{'max |Δ| ha':>12s}  {'at':14s}"
                f"{'max rel Δ':>10s}{'(≥1 ha)':>10s}{'Σ a ha':>14s}{'Σ b ha':>14s}")
        print(head)
        print("-" * len(head))
        for c in report["comparisons"]:
            print(f"{c['mode']:9s}{c['a'] + ' vs ' + c['b']:22s}{c['cells']:>7,d}"
                  f"{c['max_abs_diff_ha']:>12.3g}  {c['max_abs_diff_at']:14s}"
                  f"{c['max_rel_diff']:>10.2g}{c['max_rel_diff_cells_ge_1ha']:>10.2g}"
                  f"{c['sum_a_ha']:>14,.2f}{c['sum_b_ha']:>14,.2f}")
            if c["only_in_a"] or c["only_in_b"]:
                print(f"{'':9s}  cells only in {c['a']}: {c['only_in_a']}, "
                      f"only in {c['b']}: {c['only_in_b']}")
    for r in report["results"]:
        if r["method"] == "geoagri" and "outside_ha" in r:
            print(f"geoagri {r['mode']}: {r['outside_ha']:,.2f} ha outside every commune"
                  + (f", overlap_ha {r['overlap_ha']:,.2f}" if "overlap_ha" in r else ""))
    for line in report.get("checks", []):
        print(line)
    print(f"figures written to {report['json']}")


def prepare_data(scale: str, seed: int, *, regenerate: bool = False,
                 shape: str = "sparse") -> dict:
    """Generate the cached layers if missing, in a subprocess (this process stays small).

    Returns the data's ``meta.json``.
    """
    gen = subprocess.run([sys.executable, str(Path(synth.__file__).resolve()), "--scale", scale,
                          "--seed", str(seed), "--shape", shape]
                         + (["--regenerate"] if regenerate else []),
                         capture_output=True, text=True)
    if gen.returncode != 0:
        sys.exit(f"generating the {scale} {shape} data failed:\n{gen.stderr}")
    return json.loads((synth.cache_path(scale, seed, shape=shape) / "meta.json").read_text())


def _run_scale(args: argparse.Namespace, scale: str, shape: str) -> dict:
    args.scale_now, args.shape_now = scale, shape
    folder = synth.cache_path(scale, args.seed, shape=shape)
    print(f"== scale {scale}, {shape}: preparing data (cached in {folder})", flush=True)
    t0 = time.perf_counter()
    meta = prepare_data(scale, args.seed, regenerate=args.regenerate, shape=shape)
    print(f"   data ready in {time.perf_counter() - t0:.1f} s", flush=True)
    timeout_s = args.timeout or DEFAULT_TIMEOUT_S[scale]
    json_path = synth.CACHE_DIR / (f"bench_area_{scale}.json" if shape == "sparse"
                                   else f"bench_area_{scale}_{shape}.json")
    previous = {}
    if args.reuse and json_path.exists():
        old = json.loads(json_path.read_text())
        if old.get("seed") == args.seed and old.get("data", {}).get("generator_version") \
                == meta.get("generator_version"):
            previous = {(r["method"], r["mode"]): {**r, "reused": r.get("reused",
                                                                        old["timestamp"])}
                        for r in old["results"] if r["status"] == "ok"}
    results = []
    for method in METHODS:
        for mode in args.modes:
            if method not in args.methods:
                if (method, mode) in previous:
                    results.append(previous[(method, mode)])
                continue
            why = _available(method)
            if why is not None:
                print(f"    {mode:8s} {method:9s} skipped: not available ({why})", flush=True)
                results.append({"method": method, "mode": mode,
                                "status": f"not available: {why}"})
                continue
            results.append(_measure(args, method, mode, timeout_s))

    # per-cell comparisons
    comparisons, checks, n_repaired = [], [], meta.get("n_invalid", 0)
    tables = {}
    for r in results:
        if r["status"] == "ok" and Path(r["cells"]).exists():
            tables[(r["method"], r["mode"])] = pd.read_parquet(r["cells"])
    for mode in args.modes:
        for a, b in (("geoagri", "geopandas"), ("geoagri", "strtree"), ("geoagri", "duckdb"),
                     ("strtree", "geopandas"), ("duckdb", "geopandas")):
            if (a, mode) in tables and (b, mode) in tables:
                comparisons.append({"mode": mode, "a": a, "b": b,
                                    **_compare(tables[(a, mode)], tables[(b, mode)])})
    plain, dis = tables.get(("geoagri", "plain")), tables.get(("geoagri", "dissolve"))
    if plain is not None and dis is not None and "overlap_ha" in plain:
        net = plain.assign(area_ha=plain["area_ha"] - plain["overlap_ha"])
        c = _compare(net, dis)
        checks.append(f"check: geoagri plain area_ha − overlap_ha vs dissolve area_ha: "
                      f"max |Δ| {c['max_abs_diff_ha']:.3g} ha, max rel {c['max_rel_diff']:.2g}")
    report = {
        "scale": scale, "shape": shape, "seed": args.seed, "repeat": args.repeat,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "timeout_seconds": timeout_s, "mem_limit_gib": args.mem_limit_gb,
        "versions": _versions(), "data": meta, "n_repaired": n_repaired,
        "results": results, "comparisons": comparisons, "checks": checks,
        "json": str(json_path),
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = json_path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    tmp.replace(json_path)
    _print_report(report)
    return report


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Area by commune × land use: geoagri beside geopandas and DuckDB spatial.")
    parser.add_argument("--scale", choices=["tiny", "province", "national", "both"],
                        default="province", help="'both' = province, then national")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--seed", type=int, default=synth.DEFAULT_SEED)
    parser.add_argument("--shape", default=",".join(synth.SHAPES),
                        help="comma-separated subset of " + ",".join(synth.SHAPES)
                        + " (how much the parcels overlap)")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--modes", default=",".join(MODES),
                        help="comma-separated subset of " + ",".join(MODES))
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per run (default: 120 tiny, 600 province and national)")
    parser.add_argument("--load-allowance", type=float, default=120.0,
                        help="extra seconds a run may spend loading before it is killed")
    parser.add_argument("--mem-limit-gb", type=float, default=12.0,
                        help="kill a run whose process tree passes this RSS (GiB)")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the cached data")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the last recorded figures of the methods not run now")
    parser.add_argument("--_child", nargs=2, metavar=("METHOD", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.methods = [m for m in args.methods.split(",") if m]
    args.modes = [m for m in args.modes.split(",") if m]
    args.shapes = [m for m in args.shape.split(",") if m]
    bad = [m for m in args.methods if m not in METHODS] + [m for m in args.modes
                                                           if m not in MODES] \
        + [m for m in args.shapes if m not in synth.SHAPES]
    if bad:
        parser.error(f"unknown method or mode: {', '.join(bad)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (see the module docstring)."""
    args = _parse(argv)
    if args._child:
        _child(args._child[0], args._child[1], args.scale, args.seed, args._out,
               args.shapes[0])
        return
    scales = ["province", "national"] if args.scale == "both" else [args.scale]
    for scale in scales:
        for shape in args.shapes:
            _run_scale(args, scale, shape)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
