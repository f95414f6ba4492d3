"""Benchmark: area by commune × land use in memory and on a 2-worker dask LocalCluster.

Run by hand, never by the test suite::

    python benchmarks/bench_scale.py --scale province
    python benchmarks/bench_scale.py --scale tiny              # a quick check
    python benchmarks/bench_scale.py --scale national          # minutes
    python benchmarks/bench_scale.py --scale all               # tiny, province, national

Data: the seeded synthetic communes and parcels of ``_synth_parcels.py``,
cached under ``benchmarks/.cache/`` exactly as ``bench_area.py`` uses them
(tiny = 20 communes and 20,000 parcels, province = 200 and 200,000, national
delta = 1,500 and 2,000,000), invalid parcels repaired with
``_synth_parcels.repair`` for every method alike.  For the dask methods the
cached parcels are copied once, streaming, into a GeoParquet file of row
groups of ``--rows-per-partition`` parcels (``parcels-rg<N>.parquet`` beside
the cache), which dask reads one row group per partition: no process reads
the whole layer.

Methods, each in its own subprocess with a timeout and a memory guard (the
RSS of the process tree, dask workers included).  The parent never loads the
layers (it generates a missing cache in a subprocess, as bench_area.py does):
on Linux a process started with fork + exec inherits its parent's
``ru_maxrss``, so a parent holding the 2,000,000 parcels made every child
report about 2 GiB.  Peaks are therefore each process's own high-water mark
(``VmHWM`` of ``/proc/self/status``, not inherited across exec; ``ru_maxrss``
where there is no ``/proc``):

``inmemory``
    ``geoagri.area.area_by_zone`` on the whole layer (loading excluded from
    the time, as in bench_area.py).
``dask``
    ``geoagri.area.area_by_zone`` on the dask-geopandas frame, on a
    LocalCluster of 2 worker processes × 1 thread (reading the partitions
    and repairing them is part of the run: it happens on the workers).
``naive``
    dask-geopandas' own ``sjoin`` (parcels × communes, ``intersects``) then,
    per partition, the intersection areas of the joined pairs (an overlay
    done naively) and a ``groupby``; plain mode only (dask-geopandas has no
    dissolve-then-overlay that could run at this scale).

Modes as in bench_area.py: ``plain`` (overlaps counted as drawn) and
``dissolve`` (overlaps counted once per land use).  The printout gives per
mode and method the time, the peak RSS of the client process and of each
worker, the ratios, and the largest per-cell difference against the
in-memory result (cells inside communes, and for ``dask`` also every column
of the full table, rows outside every commune included).  The client process
of the dask methods also hosts the LocalCluster's scheduler.  Figures go to
``benchmarks/.cache/bench_scale_<scale>.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _synth_parcels as synth
import bench_area

METHODS = ("inmemory", "dask", "naive")
MODES = ("plain", "dissolve")
KEYS = ["commune_id", "land_use"]
DEFAULT_TIMEOUT_S = {"tiny": 120.0, "province": 600.0, "national": 900.0}
RUNS_DIR = synth.CACHE_DIR / "runs"
GIB = 1024**3


# --------------------------------------------------------------------------- data


def rowgrouped(scale: str, seed: int, rows: int) -> Path:
    """The cached parcels copied, streaming, into row groups of ``rows`` parcels."""
    import pyarrow.parquet as pq

    src = synth.cache_path(scale, seed) / "parcels.parquet"
    dst = src.with_name(f"parcels-rg{rows}.parquet")
    if dst.exists() and dst.stat().st_mtime >= src.stat().st_mtime:
        return dst
    f = pq.ParquetFile(src)
    tmp = dst.with_suffix(f".tmp{os.getpid()}")
    with pq.ParquetWriter(tmp, f.schema_arrow) as writer:
        for batch in f.iter_batches(batch_size=rows):
            writer.write_batch(batch, row_group_size=rows)
    tmp.replace(dst)
    return dst


def _repair_part(frame):
    return synth.repair(frame)[0]


# --------------------------------------------------------------------------- the methods


def peak_rss() -> int:
    """This process's own peak RSS, bytes.

    ``VmHWM`` from ``/proc/self/status``: unlike ``getrusage().ru_maxrss``, which
    Linux carries over from the parent across fork + exec, it counts only this
    process's memory.  ``ru_maxrss`` where there is no ``/proc``.
    """
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _cluster():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None,
                           worker_dashboard_address=None)
    return cluster, Client(cluster)


def _worker_peaks(client) -> list[int]:
    return sorted(client.run(peak_rss).values())


def _child(method: str, mode: str, scale: str, seed: int, rows: int, out: Path) -> None:
    warnings.simplefilter("ignore")
    import geopandas as gpd

    from geoagri.area import area_by_zone

    extra: dict = {}
    if method == "inmemory":
        parcels, communes, _ = synth.load(scale, seed)
        parcels, _ = synth.repair(parcels)
        gc.collect()
        loaded = peak_rss()
        t0 = time.perf_counter()
        raw = area_by_zone(parcels, communes, by=("land_use",), dissolve=mode == "dissolve",
                           crs=synth.CRS)
        seconds = time.perf_counter() - t0
        del parcels
    else:
        import dask_geopandas

        from geoagri.io import read_partitioned

        communes = gpd.read_parquet(synth.cache_path(scale, seed) / "communes.parquet")
        path = rowgrouped(scale, seed, rows)
        cluster, client = _cluster()
        ddf = read_partitioned(path).map_partitions(_repair_part)
        extra["partitions"] = ddf.npartitions
        loaded = peak_rss()
        t0 = time.perf_counter()
        if method == "dask":
            raw = area_by_zone(ddf, communes, by=("land_use",), dissolve=mode == "dissolve",
                               crs=synth.CRS)
        else:
            import shapely

            cdd = dask_geopandas.from_geopandas(communes[["commune_id", "geometry"]],
                                                npartitions=1)
            joined = dask_geopandas.sjoin(ddf[["land_use", "geometry"]], cdd,
                                          predicate="intersects")
            cgeoms = client.scatter(np.asarray(communes.geometry.array), broadcast=True)

            def areas(part, cg):
                a = shapely.area(shapely.intersection(
                    np.asarray(part.geometry.array), cg[part["index_right"].to_numpy()]))
                return pd.DataFrame({"commune_id": part["commune_id"].to_numpy(),
                                     "land_use": part["land_use"].to_numpy(),
                                     "area_ha": a / 1e4})

            meta = pd.DataFrame({"commune_id": pd.Series(dtype=object),
                                 "land_use": pd.Series(dtype=object),
                                 "area_ha": pd.Series(dtype=float)})
            raw = (joined.map_partitions(areas, cgeoms, meta=meta)
                   .groupby(KEYS).area_ha.sum().compute().reset_index())
        seconds = time.perf_counter() - t0
        extra["worker_peak_rss"] = _worker_peaks(client)
        client.close()
        cluster.close()
    peak = peak_rss()
    if method != "naive":
        pd.DataFrame(raw).to_parquet(out.with_name(out.stem + "-full.parquet"), index=False)
    table, more = bench_area._standardise("geoagri" if method != "naive" else method, raw)
    table.to_parquet(out.with_suffix(".parquet"), index=False)
    out.write_text(json.dumps({
        "seconds": seconds, "peak_rss": peak, "loaded_rss": loaded, "n_cells": len(table),
        "load_avg_1min": os.getloadavg()[0], **more, **extra,
    }))


# --------------------------------------------------------------------------- the parent


def _run_child(args, method: str, mode: str, timeout_s: float) -> dict:
    RUNS_DIR.mkdir(parents=True, exist_ok=True)
    out = RUNS_DIR / f"scale-{args.scale_now}-{method}-{mode}.json"
    for p in (out, out.with_suffix(".parquet")):
        p.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", method, mode,
           "--scale", args.scale_now, "--seed", str(args.seed), "--rows-per-partition",
           str(args.rows_per_partition), "--_out", str(out)]
    run_info = bench_area.supervise(cmd, out.with_suffix(".log"), timeout_s=timeout_s,
                                    load_allowance=args.load_allowance,
                                    mem_limit_gb=args.mem_limit_gb)
    if run_info["status"] is None and not out.exists():
        run_info["status"] = "failed: the child wrote no figures"
    base = {"method": method, "mode": mode, **run_info}
    if run_info["status"] is not None:
        return base
    rec = json.loads(out.read_text())
    rec["status"] = "ok" if rec["seconds"] <= timeout_s else \
        f"timed out (limit {timeout_s:.0f} s)"
    return {**base, **rec, "cells": str(out.with_suffix(".parquet")),
            "full": str(out.with_name(out.stem + "-full.parquet"))}


def _full_diff(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Row-by-row comparison of two full geoagri tables (same rows, same order?)."""
    same_keys = len(a) == len(b) and a[["commune_id", "land_use"]].astype(str).equals(
        b[["commune_id", "land_use"]].astype(str))
    out = {"same_rows_in_order": bool(same_keys), "rows": [len(a), len(b)]}
    if same_keys:
        for col in ("area_ha", "overlap_ha", "commune_share_pct"):
            x, y = a[col].to_numpy(float), b[col].to_numpy(float)
            ok = ~np.isnan(y)
            d = np.abs(x[ok] - y[ok])
            out[f"max_abs_diff_{col}"] = float(d.max()) if len(d) else 0.0
            s = np.maximum(np.abs(x[ok]), np.abs(y[ok]))
            out[f"max_rel_diff_{col}"] = float(np.max(np.divide(
                d, s, out=np.zeros_like(d), where=s > 0))) if len(d) else 0.0
    return out


def _run_scale(args, scale: str) -> dict:
    args.scale_now = scale
    print(f"== scale {scale}: preparing data", flush=True)
    # never load the layers here: every child would inherit this process's ru_maxrss
    meta = bench_area.prepare_data(scale, args.seed)
    rowgrouped(scale, args.seed, args.rows_per_partition)
    timeout_s = args.timeout or DEFAULT_TIMEOUT_S[scale]
    results = []
    for mode in args.modes:
        for method in args.methods:
            if method == "naive" and mode == "dissolve":
                continue
            rec = _run_child(args, method, mode, timeout_s)
            results.append(rec)
            secs = f"{rec['seconds']:.2f} s" if "seconds" in rec else ""
            print(f"    {mode:8s} {method:9s} {rec['status']} {secs}", flush=True)
    comparisons = []
    for mode in args.modes:
        ref = next((r for r in results if r["method"] == "inmemory" and r["mode"] == mode
                    and r["status"] == "ok"), None)
        if ref is None:
            continue
        for r in results:
            if r["mode"] != mode or r["method"] == "inmemory" or r["status"] != "ok":
                continue
            c = bench_area._compare(pd.read_parquet(r["cells"]), pd.read_parquet(ref["cells"]))
            c.update(mode=mode, a=r["method"], b="inmemory")
            if r["method"] == "dask":
                c["full_table"] = _full_diff(pd.read_parquet(r["full"]),
                                             pd.read_parquet(ref["full"]))
            comparisons.append(c)
    json_path = synth.CACHE_DIR / f"bench_scale_{scale}.json"
    report = {"scale": scale, "seed": args.seed,
              "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "timeout_seconds": timeout_s, "mem_limit_gib": args.mem_limit_gb,
              "rows_per_partition": args.rows_per_partition,
              "versions": bench_area._versions(), "data": meta, "results": results,
              "comparisons": comparisons, "json": str(json_path)}
    tmp = json_path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    tmp.replace(json_path)
    _print_report(report)
    return report


def _print_report(report: dict) -> None:
    meta = report["data"]
    print()
    print(f"== area by commune × land use at scale {report['scale']}: "
          f"{meta['n_communes']:,} communes, {meta['n_parcels']:,} parcels; dask: 2 workers "
          f"× 1 thread, {report['rows_per_partition']:,} parcels per read partition")
    head = (f"{'mode':9s}{'method':10s}{'s':>9s}{'× in-mem':>9s}{'× naive':>9s}"
            f"{'client GiB':>11s}{'workers GiB':>16s}{'tree GiB':>9s}{'load':>6s}  status")
    print(head)
    print("-" * len(head))
    for mode in MODES:
        rows = [r for r in report["results"] if r["mode"] == mode]
        t = {r["method"]: r.get("seconds") for r in rows if r["status"] == "ok"}
        for r in rows:
            s = r.get("seconds") if r["status"] == "ok" else None
            workers = " / ".join(f"{w / GIB:.2f}" for w in r.get("worker_peak_rss", []))
            print(f"{mode:9s}{r['method']:10s}{(f'{s:.2f}' if s else '—'):>9s}"
                  f"{bench_area._fmt_ratio(t.get('inmemory'), s):>9s}"
                  f"{bench_area._fmt_ratio(t.get('naive'), s):>9s}"
                  f"{bench_area._fmt_gib(r.get('peak_rss')):>11s}{workers:>16s}"
                  f"{bench_area._fmt_gib(r.get('sampled_tree_peak_rss')):>9s}"
                  f"{r.get('max_load_avg_1min', 0):>6.1f}  "
                  f"{'' if r['status'] == 'ok' else r['status']}")
    print("(× in-mem, × naive: that method's time over this one's; > 1 is faster. client: "
          "own peak RSS (VmHWM) of the run's process, which for dask also hosts the "
          "scheduler; workers: own peak RSS of each dask worker; tree: sampled peak of the "
          "process tree)")
    for c in report["comparisons"]:
        line = (f"{c['mode']:9s}{c['a']:6s} vs in-memory: {c['cells']:,} cells, max |Δ| "
                f"{c['max_abs_diff_ha']:.3g} ha, max rel {c['max_rel_diff']:.2g}, only in "
                f"{c['a']} {c['only_in_a']}, only in-memory {c['only_in_b']}")
        print(line)
        if "full_table" in c:
            print(f"{'':9s}full table (outside rows, overlap_ha, shares): {c['full_table']}")
    print(f"figures written to {report['json']}")


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", choices=["tiny", "province", "national", "all"],
                        default="province")
    parser.add_argument("--seed", type=int, default=synth.DEFAULT_SEED)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--rows-per-partition", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=None)
    parser.add_argument("--load-allowance", type=float, default=120.0)
    parser.add_argument("--mem-limit-gb", type=float, default=12.0)
    parser.add_argument("--_child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.methods = [m for m in args.methods.split(",") if m]
    args.modes = [m for m in args.modes.split(",") if m]
    bad = [m for m in args.methods if m not in METHODS] + [m for m in args.modes
                                                           if m not in MODES]
    if bad:
        parser.error(f"unknown method or mode: {', '.join(bad)}")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (see the module docstring)."""
    args = _parse(argv)
    if args._child:
        _child(args._child[0], args._child[1], args.scale, args.seed,
               args.rows_per_partition, args._out)
        return
    scales = ["tiny", "province", "national"] if args.scale == "all" else [args.scale]
    for scale in scales:
        _run_scale(args, scale)


if __name__ == "__main__":
    main()
