"""Benchmark: pump-station siting, geoagri (HiGHS, direct) against spopt's MCLP (PuLP).

Instance (seeded): 1,000 demand cells of 250 m (a 40 × 25 grid near x = 500,000 in
EPSG:32648), each holding a square of demand of random side 80–250 m, so weights
(ha) differ; 200 candidate sites at random points; service radius 750 m; p = 10.

Printed:

1. MCLP, p = 10, from the same coverage (spopt's ``from_cost_matrix`` with the
   distance matrix, geoagri's :func:`geoagri.siting.solve_max_cover` with the
   cover matrix): time of model build + solve and the objective of each, and
   the ratio.  spopt is solved with its usual solver, CBC through PuLP, and
   with HiGHS through PuLP when available.
2. The same instance end to end from GeoDataFrames: spopt's
   ``from_geodataframe`` + solve against geoagri's
   :func:`geoagri.siting.site_pump_stations` (cutting the demand into cells,
   coverage, solve, result tables; no curve).
3. A budgeted run (station cost 0.8–1.5 billion VND, three-phase connection at
   600 million VND/km to two random lines, budget 10 billion VND), and its
   10-step budget curve.

Run: ``python benchmarks/bench_siting.py [--repeat 3]``.  Medians of the
repeats; the machine is noisy, compare ratios within one run.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import geopandas as gpd
import numpy as np
from scipy.spatial.distance import cdist
from shapely.geometry import LineString, Point, box

from geoagri.siting import site_pump_stations, solve_max_cover

CRS = "EPSG:32648"
X0, Y0 = 500_000.0, 1_200_000.0
CELL_M, NX, NY = 250.0, 40, 25
N_CAND, RADIUS_M, P = 200, 750.0, 10


def instance(seed: int = 42):
    rng = np.random.default_rng(seed)
    ix, iy = np.meshgrid(np.arange(NX), np.arange(NY))
    cx = X0 + (ix.ravel() + 0.5) * CELL_M
    cy = Y0 + (iy.ravel() + 0.5) * CELL_M
    half = rng.uniform(40, 125, cx.size)
    demand = gpd.GeoDataFrame(geometry=[box(x - h, y - h, x + h, y + h)
                                        for x, y, h in zip(cx, cy, half, strict=True)], crs=CRS)
    demand["area_ha"] = demand.area / 10_000
    px = rng.uniform(X0, X0 + NX * CELL_M, N_CAND)
    py = rng.uniform(Y0, Y0 + NY * CELL_M, N_CAND)
    cand = gpd.GeoDataFrame({"site_id": [f"S{k:03d}" for k in range(N_CAND)],
                             "station_cost_vnd": rng.uniform(0.8e9, 1.5e9, N_CAND)},
                            geometry=[Point(x, y) for x, y in zip(px, py, strict=True)], crs=CRS)
    power = gpd.GeoDataFrame(
        {"power_id": ["L1", "L2"], "element": ["line", "line"], "phases": [3, 3],
         "voltage_kv": [22.0, 22.0]},
        geometry=[LineString([(X0, Y0 + 2000), (X0 + NX * CELL_M, Y0 + 2500)]),
                  LineString([(X0 + 6000, Y0), (X0 + 6500, Y0 + NY * CELL_M)])], crs=CRS)
    return demand, cand, power, np.column_stack([cx, cy]), np.column_stack([px, py])


def timed(func, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    demand, cand, power, dxy, cxy = instance()
    w = demand["area_ha"].to_numpy()
    dist = cdist(dxy, cxy)
    cover = dist <= RADIUS_M
    print(f"instance: {len(demand)} demand cells ({w.sum():.1f} ha), {N_CAND} candidates, "
          f"radius {RADIUS_M:g} m, p = {P}; {int(cover.sum())} covering pairs")

    # 1. From the matrix.
    t_ga, sol = timed(lambda: solve_max_cover(w, cover, n_sites=P), args.repeat)
    print("\n1. MCLP from the coverage/distance matrix (build + solve)")
    print(f"   geoagri solve_max_cover (HiGHS direct): {t_ga:8.3f} s  objective "
          f"{sol.objective:.6f} ha  ({sol.status})")
    results = {}
    try:
        import pulp
        from spopt.locate import MCLP
    except ImportError as exc:
        print(f"   spopt not importable ({exc}); pip install spopt pulp")
        return
    solvers = {"CBC": lambda: pulp.PULP_CBC_CMD(msg=False)}
    if "HiGHS" in pulp.listSolvers(onlyAvailable=True):
        solvers["HiGHS"] = lambda: pulp.HiGHS(msg=False)
    for name, make in solvers.items():
        def run(make=make):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = MCLP.from_cost_matrix(dist, w, RADIUS_M, p_facilities=P)
                model.solve(make())
            return model
        t_sp, model = timed(run, args.repeat)
        obj = pulp.value(model.problem.objective)
        results[name] = (t_sp, obj)
        print(f"   spopt MCLP.from_cost_matrix + {name:5s}:   {t_sp:8.3f} s  objective "
              f"{obj:.6f} ha  → geoagri {t_sp / t_ga:5.1f}× faster, "
              f"same objective: {abs(obj - sol.objective) < 1e-6}")

    # 2. End to end from GeoDataFrames.
    t_e2e, res = timed(lambda: site_pump_stations(
        demand, candidates=cand, radius_m=RADIUS_M, n_stations=P, cell_m=CELL_M,
        curve_steps=0), args.repeat)
    print("\n2. End to end from GeoDataFrames")
    print(f"   geoagri site_pump_stations:            {t_e2e:8.3f} s  covered "
          f"{res.covered_ha:.6f} ha, {len(res.sites)} sites")

    def run_gdf():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = MCLP.from_geodataframe(demand, cand, "geometry", "geometry", "area_ha",
                                           RADIUS_M, p_facilities=P)
            model.solve(pulp.PULP_CBC_CMD(msg=False))
        return model
    t_sp, model = timed(run_gdf, args.repeat)
    obj = pulp.value(model.problem.objective)
    print(f"   spopt MCLP.from_geodataframe + CBC:     {t_sp:8.3f} s  objective {obj:.6f} ha"
          f"  → geoagri {t_sp / t_e2e:5.1f}× faster, same objective: "
          f"{abs(obj - res.covered_ha) < 1e-6}")

    # 3. Budgeted.
    kw = dict(candidates=cand, radius_m=RADIUS_M, cell_m=CELL_M, budget_vnd=10e9,
              station_cost_vnd="station_cost_vnd", power=power, line_cost_vnd_per_km=600e6)
    t_b, res = timed(lambda: site_pump_stations(demand, curve_steps=0, **kw), args.repeat)
    print("\n3. Budgeted maximal covering, budget 10 billion VND (station + connection cost)")
    print(f"   geoagri, no curve:                     {t_b:8.3f} s  {len(res.sites)} sites, "
          f"{res.covered_ha:.1f} ha for {res.cost_vnd / 1e9:.3f} billion VND "
          f"({res.ha_per_billion_vnd:.1f} ha per billion), {res.status}")
    t_c, res = timed(lambda: site_pump_stations(demand, curve_steps=10, **kw), 1)
    print(f"   geoagri, with the 10-step curve:       {t_c:8.3f} s")
    print(res.curve.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))


if __name__ == "__main__":
    main()
