"""Benchmark: parcel area within 2 km of a pump or 1 km of a canal, per commune.

geoagri (:func:`geoagri.coverage.coverage`) beside geopandas (``buffer`` +
``union_all`` + ``clip``, then ``overlay`` with the communes for the split by
commune) and, where installed, DuckDB spatial (buffers merged with
``ST_Union_Agg``, cut into grid tiles, joined to the parcels).

Data: the seeded synthetic province of ``benchmarks/_synth_parcels.py``
(200 communes, 200,000 parcels; invalid parcels repaired and parcels that
overlap an earlier one dropped before the timers start, so that every method
measures the same land), plus seeded synthetic infrastructure made here: 425
canals (bent polylines of 2–12 km) and 600 pumps (most near a canal; one in
ten ``planned``, which does not serve).

For geoagri, "within 1 km of a canal" is the power service
(``power=canals`` given as three-phase lines, ``power_reach_m=1000``) and
"within 2 km of a pump" the pump service (``pump_radius_m=2000``); the land
served by either is ``area_ha - neither_ha``.  geoagri computes more than the
peers (pump, power, both and neither per commune), in one call.

Every circle is a polygon of 4 × 32 sides in all methods, so the hectares
must agree to rounding: the script prints the largest difference.  One run
of each method (machines are shared: compare the ratios of one run).

Run: ``python benchmarks/bench_coverage.py [--scale province] [--skip-geopandas]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _synth_parcels as synth

QUAD_SEGS = 32
PUMP_RADIUS_M = 2000.0
CANAL_REACH_M = 1000.0
N_PUMPS = 600
N_CANALS = 425
SEED = 4


def make_infrastructure(communes: gpd.GeoDataFrame, seed: int = SEED
                        ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Seeded synthetic canals (bent polylines) and pumps (mostly near canals)."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = communes.total_bounds
    lines = []
    for _ in range(N_CANALS):
        n = rng.integers(2, 6)
        length = rng.uniform(2000, 12000)
        step = length / n
        angle = rng.uniform(0, np.pi)
        xy = [np.array([rng.uniform(x0, x1), rng.uniform(y0, y1)])]
        for _ in range(n):
            angle += rng.normal(0, 0.25)
            xy.append(xy[-1] + step * np.array([np.cos(angle), np.sin(angle)]))
        lines.append(shapely.LineString(np.array(xy)))
    canals = gpd.GeoDataFrame({
        "power_id": [f"K{k:03d}" for k in range(N_CANALS)], "element": "line",
        "voltage_kv": 22.0, "phases": 3, "status": "existing"}, geometry=lines,
        crs=communes.crs)
    near = int(N_PUMPS * 0.7)
    on = rng.integers(0, N_CANALS, near)
    pos = shapely.line_interpolate_point(np.array(lines, dtype=object)[on],
                                         rng.uniform(0, 1, near), normalized=True)
    jitter = rng.normal(0, 60, (near, 2))
    p_near = shapely.points(shapely.get_coordinates(pos) + jitter)
    p_far = shapely.points(np.column_stack([rng.uniform(x0, x1, N_PUMPS - near),
                                            rng.uniform(y0, y1, N_PUMPS - near)]))
    status = np.where(rng.uniform(0, 1, N_PUMPS) < 0.1, "planned", "operating")
    pumps = gpd.GeoDataFrame({"pump_id": [f"TB{k:03d}" for k in range(N_PUMPS)],
                              "status": status},
                             geometry=np.concatenate([p_near, p_far]), crs=communes.crs)
    return canals, pumps


def without_overlaps(parcels: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop each parcel that overlaps an earlier one (with positive area)."""
    g = parcels.geometry.values.to_numpy()
    i, j = shapely.STRtree(g).query(g, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    over = shapely.area(shapely.intersection(g[i], g[j])) > 1e-6
    drop = np.unique(j[over])
    return parcels.drop(index=parcels.index[drop]).reset_index(drop=True)


def run_geoagri(parcels, communes, pumps, canals) -> tuple[float, pd.DataFrame]:
    from geoagri.coverage import coverage
    t0 = time.perf_counter()
    t = coverage(parcels, communes=communes, pumps=pumps, pump_radius_m=PUMP_RADIUS_M,
                 power=canals, power_reach_m=CANAL_REACH_M, crs=synth.CRS,
                 quad_segs=QUAD_SEGS)
    seconds = time.perf_counter() - t0
    t["served_ha"] = t["area_ha"] - t["neither_ha"]
    return seconds, t


def service_area(pumps, canals):
    op = pumps[pumps["status"] == "operating"]
    return shapely.union_all(np.concatenate([
        op.geometry.buffer(PUMP_RADIUS_M, quad_segs=QUAD_SEGS).values.to_numpy(),
        canals.geometry.buffer(CANAL_REACH_M, quad_segs=QUAD_SEGS).values.to_numpy()]))


def run_geopandas(parcels, communes, pumps, canals) -> tuple[float, float, pd.Series]:
    t0 = time.perf_counter()
    service = service_area(pumps, canals)
    served = gpd.clip(parcels, service)
    clip_s = time.perf_counter() - t0
    pieces = gpd.overlay(served[["parcel_id", "geometry"]], communes[["commune_id", "geometry"]],
                         how="intersection", keep_geom_type=True)
    by_commune = pieces.geometry.area.groupby(pieces["commune_id"]).sum() / 1e4
    total_s = time.perf_counter() - t0
    by_commune.loc["(total)"] = served.geometry.area.sum() / 1e4
    return clip_s, total_s, by_commune


def run_duckdb(parcels, pumps, canals, tile_m: float = 2000.0) -> tuple[float, float]:
    import pyarrow as pa
    try:
        from bench_area import _duckdb_connect
    except ImportError as exc:   # bench_area.py not there
        raise ImportError("bench_area._duckdb_connect not found") from exc
    con = _duckdb_connect()
    con.execute("SET threads TO 2")
    op = pumps[pumps["status"] == "operating"]
    for name, geoms in (("parcels", parcels.geometry), ("pumps", op.geometry),
                        ("canals", canals.geometry)):
        con.register(f"{name}_in", pa.table({"wkb": shapely.to_wkb(geoms.values.to_numpy())}))
        con.execute(f"CREATE TABLE {name} AS SELECT ST_GeomFromWKB(wkb) AS geom "
                    f"FROM {name}_in")
    x0, y0, x1, y1 = parcels.total_bounds
    sql = f"""
        WITH buffers AS (
            SELECT ST_Buffer(geom, {PUMP_RADIUS_M}, {QUAD_SEGS}) AS geom FROM pumps
            UNION ALL SELECT ST_Buffer(geom, {CANAL_REACH_M}, {QUAD_SEGS}) FROM canals),
        service AS (SELECT ST_Union_Agg(geom) AS geom FROM buffers),
        grid AS (
            SELECT ST_MakeEnvelope({x0} + i * {tile_m}, {y0} + j * {tile_m},
                                   {x0} + (i + 1) * {tile_m}, {y0} + (j + 1) * {tile_m}) AS box
            FROM range(0, {int(np.ceil((x1 - x0) / tile_m))}) AS a(i),
                 range(0, {int(np.ceil((y1 - y0) / tile_m))}) AS b(j)),
        tiles AS (
            SELECT ST_Intersection(s.geom, g.box) AS geom FROM service s, grid g
            WHERE ST_Intersects(s.geom, g.box))
        SELECT SUM(ST_Area(ST_Intersection(p.geom, t.geom))) / 1e4 AS served_ha
        FROM parcels p JOIN tiles t ON ST_Intersects(p.geom, t.geom)
    """
    t0 = time.perf_counter()
    served = float(con.execute(sql).fetchone()[0])
    return time.perf_counter() - t0, served


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="province", choices=sorted(synth.SCALES))
    ap.add_argument("--skip-geopandas", action="store_true")
    ap.add_argument("--skip-duckdb", action="store_true")
    ap.add_argument("--network", action="store_true",
                    help="also time the pumps-through-canals service (3 km along, 500 m off)")
    args = ap.parse_args(argv)

    parcels, communes, _ = synth.load(args.scale)
    parcels, repaired = synth.repair(parcels)
    n_raw = len(parcels)
    parcels = without_overlaps(parcels)
    canals, pumps = make_infrastructure(communes)
    print(f"scale {args.scale}: {len(communes)} communes, {len(parcels):,} parcels "
          f"({repaired} repaired, {n_raw - len(parcels)} overlapping dropped), "
          f"{len(pumps)} pumps ({(pumps['status'] == 'operating').sum()} operating), "
          f"{len(canals)} canals; circles of {4 * QUAD_SEGS} sides")

    g_s, t = run_geoagri(parcels, communes, pumps, canals)
    g_total = float(t["served_ha"].sum())
    print(f"geoagri coverage      {g_s:8.2f} s   served {g_total:,.3f} ha of "
          f"{t['area_ha'].sum():,.3f} ha (pump {t['pump_ha'].sum():,.1f}, canal "
          f"{t['power_ha'].sum():,.1f}, both {t['both_ha'].sum():,.1f})")
    g_s2, _ = run_geoagri(parcels, communes, pumps, canals)
    print(f"geoagri again         {g_s2:8.2f} s")

    if not args.skip_geopandas:
        clip_s, total_s, by = run_geopandas(parcels, communes, pumps, canals)
        gp_total = float(by.loc["(total)"])
        ours = t.dropna(subset=["commune_id"]).set_index("commune_id")["served_ha"]
        by = by.drop("(total)")
        diff = (ours.reindex(by.index.union(ours.index)).fillna(0)
                - by.reindex(by.index.union(ours.index)).fillna(0)).abs()
        print(f"geopandas clip        {clip_s:8.2f} s   served {gp_total:,.3f} ha   "
              f"ratio {clip_s / g_s:6.1f}×   |Δ total| {abs(gp_total - g_total):.2e} ha")
        print(f"geopandas clip+overlay{total_s:8.2f} s   by commune               "
              f"ratio {total_s / g_s:6.1f}×   max |Δ commune| {diff.max():.2e} ha")
    if not args.skip_duckdb:
        try:
            d_s, d_total = run_duckdb(parcels, pumps, canals)
        except ImportError as exc:
            print(f"duckdb                not run: {exc}")
        else:
            print(f"duckdb tiles          {d_s:8.2f} s   served {d_total:,.3f} ha   "
                  f"ratio {d_s / g_s:6.1f}×   |Δ total| {abs(d_total - g_total):.2e} ha")
    if args.network:
        from geoagri.coverage import coverage
        t0 = time.perf_counter()
        n = coverage(parcels, communes=communes, pumps=pumps, canals=canals.drop(
            columns=["element", "phases", "status"]), canal_reach_m=500,
            network_reach_m=3000, crs=synth.CRS, quad_segs=QUAD_SEGS)
        print(f"geoagri network reach {time.perf_counter() - t0:8.2f} s   pump-served "
              f"{n['pump_ha'].sum():,.1f} ha ({n.attrs.get('canal_reached_km', 0):,.0f} km "
              "of canal reached)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process {peak:,.0f} MB")


if __name__ == "__main__":
    main()
