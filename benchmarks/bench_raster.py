"""Benchmark: area of each class of a classified raster per commune.

Generates (seeded) a classified raster of 8,000 × 10,000 pixels of 10 m
(classes 0-4, field-like patches, cloud patches as nodata; tiled, deflate
GeoTIFF in EPSG:32648) and ~200 communes (a jittered 14 × 14 grid partition
with wiggly borders of ~600 vertices per commune, a margin of them reaching
beyond the raster), then times, each method in its own process (median of
``--repeat`` runs, reading the raster included, generating excluded):

* geoagri ``raster_area_by_zone`` (exact coverage fractions);
* exactextract (``unique``, ``frac``, ``count``; exact coverage fractions),
  if installed;
* rasterstats ``zonal_stats(categorical=True)`` (pixel centres, no partial
  cells), if installed;

and the same for the mean, min and max per commune (``raster_stats_by_zone``
against exactextract's and rasterstats' ``mean``, ``min``, ``max``).

It prints the time, the peak resident memory of the process (imports and
communes included, so compare differences), the ratio to geoagri and the
largest per-commune per-class difference in ha against geoagri.

Run by hand::

    python benchmarks/bench_raster.py [--rows 8000 --cols 10000 --repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

PIXEL_M = 10.0
ORIGIN = (560_000.0, 1_220_000.0)  # upper-left corner, EPSG:32648 (Mekong delta)
CRS = "EPSG:32648"
NODATA = 255
SEED = 20250701


def make_raster(path: Path, rows: int, cols: int, seed: int = SEED) -> None:
    """Write a patchy classified raster (classes 0-4, nodata 255) block by block."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    field_px = 23  # fields of ~230 m
    fr, fc = -(-rows // field_px), -(-cols // field_px)
    fields = rng.choice(5, size=(fr, fc), p=[0.15, 0.45, 0.2, 0.1, 0.1]).astype(np.uint8)
    clouds = rng.random((fr // 8 + 1, fc // 8 + 1)) < 0.04
    profile = dict(
        driver="GTiff", width=cols, height=rows, count=1, dtype="uint8", nodata=NODATA,
        crs=CRS, transform=from_origin(*ORIGIN, PIXEL_M, PIXEL_M), tiled=True,
        blockxsize=256, blockysize=256, compress="deflate",
    )
    with rasterio.open(path, "w", **profile) as ds:
        step = 1024
        for r0 in range(0, rows, step):
            r1 = min(r0 + step, rows)
            rr = np.arange(r0, r1)
            cc = np.arange(cols)
            block = fields[(rr // field_px)[:, None], (cc // field_px)[None, :]].copy()
            noise = rng.random(block.shape) < 0.05  # misclassified pixels
            block[noise] = rng.integers(0, 5, noise.sum(), dtype=np.uint8)
            cloud = clouds[(rr // (8 * field_px))[:, None], (cc // (8 * field_px))[None, :]]
            block[cloud] = NODATA
            ds.write(block, 1, window=Window(0, r0, cols, r1 - r0))


def make_communes(rows: int, cols: int, n: int = 14, seed: int = SEED) -> gpd.GeoDataFrame:
    """A jittered n × n grid partition with wiggly shared borders (~600 vertices each)."""
    rng = np.random.default_rng(seed + 1)
    x0, y1 = ORIGIN
    width, height = cols * PIXEL_M, rows * PIXEL_M
    margin = 0.03  # the outer ring of communes reaches 3% beyond the raster
    xs = np.linspace(x0 - margin * width, x0 + (1 + margin) * width, n + 1)
    ys = np.linspace(y1 - (1 + margin) * height, y1 + margin * height, n + 1)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    dx, dy = xs[1] - xs[0], ys[1] - ys[0]
    inner = (slice(1, -1), slice(1, -1))
    gx[inner] += rng.uniform(-0.25, 0.25, gx[inner].shape) * dx
    gy[inner] += rng.uniform(-0.25, 0.25, gy[inner].shape) * dy
    per_edge = 150

    def wiggle(p: np.ndarray, q: np.ndarray, edge_rng: np.random.Generator) -> np.ndarray:
        t = np.linspace(0, 1, per_edge + 1)
        base = p[None, :] + t[:, None] * (q - p)[None, :]
        normal = np.array([-(q - p)[1], (q - p)[0]]) / np.hypot(*(q - p))
        amp = 0.03 * np.hypot(*(q - p))
        k = edge_rng.integers(2, 6, 3)
        phase = edge_rng.uniform(0, 2 * np.pi, 3)
        bump = np.sin(np.pi * t)
        off = sum(np.sin(np.pi * ki * t + ph) * bump for ki, ph in zip(k, phase, strict=True))
        off = off * amp / 3 + edge_rng.normal(0, amp / 40, len(t)) * np.sin(np.pi * t)
        return base + off[:, None] * normal[None, :]

    edge_cache: dict[tuple, np.ndarray] = {}

    def edge(a: tuple[int, int], b: tuple[int, int]) -> np.ndarray:
        key = (a, b) if a < b else (b, a)
        if key not in edge_cache:
            edge_rng = np.random.default_rng([seed, *key[0], *key[1]])
            p = np.array([gx[key[0]], gy[key[0]]])
            q = np.array([gx[key[1]], gy[key[1]]])
            edge_cache[key] = wiggle(p, q, edge_rng)
        line = edge_cache[key]
        return line if key == (a, b) else line[::-1]

    geoms, ids = [], []
    for i in range(n):
        for j in range(n):
            ring = np.concatenate([
                edge((i, j), (i + 1, j))[:-1],
                edge((i + 1, j), (i + 1, j + 1))[:-1],
                edge((i + 1, j + 1), (i, j + 1))[:-1],
                edge((i, j + 1), (i, j))[:-1],
            ])
            geoms.append(shapely.make_valid(shapely.Polygon(ring)))
            ids.append(f"{27000 + i * n + j}")
    return gpd.GeoDataFrame(
        {"commune_id": ids, "commune_name": [f"Xã {k}" for k in ids]}, geometry=geoms, crs=CRS,
    )


# --------------------------------------------------------------------------
# Methods: each returns a long table commune_id, class, area_ha
# --------------------------------------------------------------------------


def run_geoagri(raster: Path, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    from geoagri.raster import raster_area_by_zone

    table = raster_area_by_zone(raster, communes)
    table = table[table["part"] == "class"]
    return pd.DataFrame({
        "commune_id": table["commune_id"].to_numpy(),
        "class": table["class"].astype(int).to_numpy(),
        "area_ha": table["area_ha"].to_numpy(),
    })


def run_exactextract(raster: Path, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    from exactextract import exact_extract

    out = exact_extract(str(raster), communes, ["unique", "frac", "count"],
                        include_cols=["commune_id"], output="pandas")
    pixel_ha = PIXEL_M * PIXEL_M / 10_000
    rows = []
    for cid, values, fracs, count in zip(out["commune_id"], out["unique"], out["frac"],
                                         out["count"], strict=True):
        for v, f in zip(values, fracs, strict=True):
            rows.append((cid, int(v), float(f) * float(count) * pixel_ha))
    return pd.DataFrame(rows, columns=["commune_id", "class", "area_ha"])


def run_rasterstats(raster: Path, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    from rasterstats import zonal_stats

    stats = zonal_stats(communes, str(raster), categorical=True, nodata=NODATA)
    pixel_ha = PIXEL_M * PIXEL_M / 10_000
    rows = [
        (cid, int(v), n * pixel_ha)
        for cid, s in zip(communes["commune_id"], stats, strict=True)
        for v, n in s.items()
    ]
    return pd.DataFrame(rows, columns=["commune_id", "class", "area_ha"])


def stats_geoagri(raster: Path, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    from geoagri.raster import raster_stats_by_zone

    table = raster_stats_by_zone(raster, communes, stats=("mean", "min", "max"))
    return table[["commune_id", "mean", "min", "max"]]


def stats_exactextract(raster: Path, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    from exactextract import exact_extract

    out = exact_extract(str(raster), communes, ["mean", "min", "max"],
                        include_cols=["commune_id"], output="pandas")
    return pd.DataFrame(out)[["commune_id", "mean", "min", "max"]]


def stats_rasterstats(raster: Path, communes: gpd.GeoDataFrame) -> pd.DataFrame:
    from rasterstats import zonal_stats

    stats = zonal_stats(communes, str(raster), stats=["mean", "min", "max"], nodata=NODATA)
    out = pd.DataFrame(stats)
    out.insert(0, "commune_id", communes["commune_id"].to_numpy())
    return out[["commune_id", "mean", "min", "max"]]


METHODS = {"geoagri": run_geoagri, "exactextract": run_exactextract,
           "rasterstats": run_rasterstats, "geoagri-stats": stats_geoagri,
           "exactextract-stats": stats_exactextract, "rasterstats-stats": stats_rasterstats}


def child(method: str, workdir: Path, repeat: int) -> None:
    """Run one method in this process; write its table; print time and peak memory as JSON."""
    communes = gpd.read_parquet(workdir / "communes.parquet")
    raster = workdir / "classes.tif"
    times = []
    table = None
    for _ in range(repeat):
        start = time.perf_counter()
        table = METHODS[method](raster, communes)
        times.append(time.perf_counter() - start)
    assert table is not None
    table.to_parquet(workdir / f"{method}.parquet")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"times": times, "peak_mib": peak_mib}))


def available(method: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(method.split("-")[0]) is not None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--cols", type=int, default=10_000)
    parser.add_argument("--communes", type=int, default=14, help="grid side (n × n)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, Path(args.workdir), args.repeat)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench_raster_") as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        make_raster(workdir / "classes.tif", args.rows, args.cols)
        communes = make_communes(args.rows, args.cols, args.communes)
        communes.to_parquet(workdir / "communes.parquet")
        n_vertices = shapely.get_num_coordinates(communes.geometry.values)
        mpx = args.rows * args.cols / 1e6
        print(f"raster: {args.rows} × {args.cols} px of {PIXEL_M:g} m = {mpx:.0f} Mpx, "
              f"classes 0-4, nodata {NODATA}, tiled deflate GeoTIFF "
              f"({(workdir / 'classes.tif').stat().st_size / 2**20:.0f} MiB)")
        print(f"communes: {len(communes)}, {n_vertices.mean():.0f} vertices each on average; "
              f"generated in {time.perf_counter() - start:.1f} s")
        print(f"median of {args.repeat} runs, each method in its own process\n")
        results = {}
        for method in METHODS:
            if not available(method):
                print(f"{method:18s} not installed, skipped")
                continue
            proc = subprocess.run(
                [sys.executable, __file__, "--child", method, "--workdir", str(workdir),
                 "--repeat", str(args.repeat)],
                capture_output=True, text=True, check=False,
            )
            if proc.returncode != 0:
                print(f"{method:18s} failed:\n{proc.stderr[-2000:]}")
                continue
            info = json.loads(proc.stdout.strip().splitlines()[-1])
            info["table"] = pd.read_parquet(workdir / f"{method}.parquet")
            results[method] = info
        if "geoagri" not in results:
            return 1
        print("Area of each class per commune (classified raster)")
        ref = results["geoagri"]["table"].set_index(["commune_id", "class"])["area_ha"]
        base = statistics.median(results["geoagri"]["times"])
        header = (f"{'method':18s} {'time s':>8s} {'Mpx/s':>7s} {'peak MiB':>9s} "
                  f"{'× geoagri':>10s} {'max |Δ| ha':>11s} {'Σ ha':>12s}")
        print(header)
        print("-" * len(header))
        for method in ("geoagri", "exactextract", "rasterstats"):
            if method not in results:
                continue
            info = results[method]
            t = statistics.median(info["times"])
            other = info["table"].groupby(["commune_id", "class"])["area_ha"].sum()
            both = pd.concat([ref.rename("a"), other.rename("b")], axis=1).fillna(0.0)
            diff = float((both["a"] - both["b"]).abs().max())
            print(f"{method:18s} {t:8.2f} {mpx / t:7.1f} {info['peak_mib']:9.0f} "
                  f"{t / base:10.2f} {diff:11.2e} {other.sum():12.2f}")
        if "geoagri-stats" not in results:
            return 0
        print("\nMean, min, max per commune (same raster read as continuous)")
        ref = results["geoagri-stats"]["table"].set_index("commune_id")
        base = statistics.median(results["geoagri-stats"]["times"])
        header = (f"{'method':18s} {'time s':>8s} {'Mpx/s':>7s} {'peak MiB':>9s} "
                  f"{'× geoagri':>10s} {'max |Δmean|':>12s} {'max |Δmin,max|':>15s}")
        print(header)
        print("-" * len(header))
        for method in ("geoagri-stats", "exactextract-stats", "rasterstats-stats"):
            if method not in results:
                continue
            info = results[method]
            t = statistics.median(info["times"])
            other = info["table"].set_index("commune_id").reindex(ref.index)
            d_mean = float((ref["mean"] - other["mean"]).abs().max())
            d_ext = float(max((ref["min"] - other["min"]).abs().max(),
                              (ref["max"] - other["max"]).abs().max()))
            print(f"{method:18s} {t:8.2f} {mpx / t:7.1f} {info['peak_mib']:9.0f} "
                  f"{t / base:10.2f} {d_mean:12.2e} {d_ext:15.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
