"""A synthetic province plan for ``bench_run.py``: every layer ``geoagri run`` draws on.

Everything is **synthetic** and seeded.  On the province of ``_synth_parcels.py``
(200 communes, 200,000 parcels, EPSG:32648):

* ``communes.gpkg``: its communes;
* ``parcels.parquet`` (GeoParquet) and ``parcels.gpkg``: its parcels, invalid ones
  repaired (``_synth_parcels.repair``), the plan reading the GeoParquet copy;
* ``zones.gpkg``: linkage, production and area-code zones, hand-drawn blocks of
  about 700 m (~50 ha, each drawn 4 % larger than its cell, so it overlaps its
  neighbours) over one commune in two, 85 % rice, started 2018–2024;
* ``pumps.gpkg``: three pump stations in each commune (a fifth out of service),
  powered by three-phase, single-phase lines or diesel;
* ``power.gpkg``: a 22 kV three-phase line along every fourth east–west canal
  and a single-phase branch along every fourth north–south one;
* ``canals.gpkg``: a canal grid every 3 km each way (the siting's candidates);
* ``targets.csv``: province targets for the linkage and production areas and a
  linkage-area target for each district.

:func:`build` writes them with a ``plan.toml`` into a folder once and returns
the plan's path.
"""

from __future__ import annotations

import os
from pathlib import Path

import _synth_parcels as synth
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

SEED = 18
CELL_M = 700.0
CANAL_M = 3000.0

PLAN_TOML = """\
# SYNTHETIC province plan for benchmarks/bench_run.py (see _run_plan.py)
[plan]
name = "Synthetic province, 200 communes, 200,000 parcels"
metric_crs = "EPSG:32648"
year = 2024

[layers.communes]
kind = "communes"
path = "communes.gpkg"

[layers.zones]
kind = "zones"
path = "zones.gpkg"

[layers.parcels]
kind = "parcels"
path = "parcels.parquet"

[layers.pumps]
kind = "pumps"
path = "pumps.gpkg"

[layers.power]
kind = "power"
path = "power.gpkg"

[layers.targets]
kind = "targets"
path = "targets.csv"

[settings]
canals = "canals.gpkg"
crop = "rice"
pump_radius_m = 1000
power_reach_m = 500
station_cost_vnd = 800_000_000
line_cost_vnd_per_km = 300_000_000
budget_vnd = 20_000_000_000
"""


def _grid_lines(bounds: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """East–west and north–south lines every ``step`` metres across ``bounds``."""
    minx, miny, maxx, maxy = bounds
    ys = np.arange(miny + step / 2, maxy, step)
    xs = np.arange(minx + step / 2, maxx, step)
    ew = shapely.linestrings([[(minx, y), (maxx, y)] for y in ys])
    ns = shapely.linestrings([[(x, miny), (x, maxy)] for x in xs])
    return ew, ns


def _zones(communes: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    minx, miny, maxx, maxy = communes.total_bounds
    xs = np.arange(minx, maxx, CELL_M)
    ys = np.arange(miny, maxy, CELL_M)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    centres = shapely.points(gx + CELL_M / 2, gy + CELL_M / 2)
    chosen = communes[np.arange(len(communes)) % 2 == 0]
    inside = shapely.STRtree(chosen.geometry.values).query(centres, predicate="within")
    pick = np.unique(inside[0])
    grow = CELL_M * 0.02  # drawn by hand, a little over the neighbours
    wobble = rng.uniform(-15, 15, (len(pick), 2))
    boxes = shapely.box(gx[pick] - grow + wobble[:, 0], gy[pick] - grow + wobble[:, 1],
                        gx[pick] + CELL_M + grow + wobble[:, 0],
                        gy[pick] + CELL_M + grow + wobble[:, 1])
    n = len(pick)
    kind = rng.choice(["linkage", "production", "area_code"], n, p=[0.7, 0.2, 0.1])
    crop = rng.choice(["rice", "lotus", "vegetables"], n, p=[0.85, 0.05, 0.10])
    return gpd.GeoDataFrame({
        "zone_id": [f"Z{i:05d}" for i in range(1, n + 1)],
        "zone_kind": kind, "crop": crop, "status": "active",
        "start_year": rng.integers(2018, 2025, n),
        "cooperative": [f"HTX {i % 97:02d}" for i in range(n)],
    }, geometry=boxes, crs=communes.crs)


def _pumps(communes: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    pts, ids = [], []
    for cid, geom in zip(communes["commune_id"], communes.geometry, strict=True):
        minx, miny, maxx, maxy = geom.bounds
        cand = shapely.points(rng.uniform(minx, maxx, 40), rng.uniform(miny, maxy, 40))
        inside = cand[shapely.contains_xy(geom, shapely.get_x(cand), shapely.get_y(cand))][:3]
        pts += list(inside)
        ids += [cid] * len(inside)
    n = len(pts)
    return gpd.GeoDataFrame({
        "pump_id": [f"TB{i:04d}" for i in range(1, n + 1)],
        "status": rng.choice(["operating", "out_of_service"], n, p=[0.8, 0.2]),
        "power_source": rng.choice(["three_phase", "single_phase", "diesel"], n,
                                   p=[0.5, 0.3, 0.2]),
        "capacity_m3_h": rng.uniform(300, 3000, n).round(0),
        "commune_id": ids,
    }, geometry=pts, crs=communes.crs)


def _power(canals_ew: np.ndarray, canals_ns: np.ndarray, crs) -> gpd.GeoDataFrame:
    three, single = canals_ew[1::4], canals_ns[2::4]
    geoms = np.concatenate([shapely.offset_curve(three, 20.0), shapely.offset_curve(single, 20.0)])
    n3 = len(three)
    return gpd.GeoDataFrame({
        "power_id": [f"L22-{i:02d}" for i in range(1, n3 + 1)]
        + [f"L04-{i:02d}" for i in range(1, len(single) + 1)],
        "element": "line",
        "voltage_kv": [22.0] * n3 + [0.4] * len(single),
        "phases": [3] * n3 + [1] * len(single),
        "status": "existing",
    }, geometry=geoms, crs=crs)


def _targets(communes: gpd.GeoDataFrame, zones: gpd.GeoDataFrame) -> pd.DataFrame:
    province = str(communes["province"].iloc[0])
    linkage = float(zones.loc[zones["zone_kind"] == "linkage"].area.sum() / 1e4)
    rows = [("linkage_area", "ha", "province", province, 2024, "resolution",
             round(linkage * 0.9, 0)),
            ("linkage_area", "ha", "province", province, 2025, "roadmap",
             round(linkage * 1.1, 0)),
            ("production_area", "ha", "province", province, 2024, "plan", 20000.0)]
    for district in sorted(communes["district"].unique()):
        rows.append(("linkage_area", "ha", "district", str(district), 2024, "plan", 2000.0))
    return pd.DataFrame(rows, columns=["indicator", "unit", "scope", "scope_id", "year",
                                       "source", "target"])


def build(folder: Path) -> Path:
    """Write the plan's layers and ``plan.toml`` into ``folder`` (once); return the plan."""
    plan = folder / "plan.toml"
    if plan.exists():
        return plan
    folder.mkdir(parents=True, exist_ok=True)
    parcels, communes, _ = synth.load("province")
    parcels, _ = synth.repair(parcels)
    rng = np.random.default_rng(SEED)
    ew, ns = _grid_lines(communes.total_bounds, CANAL_M)
    zones = _zones(communes, rng)
    layers = {
        "communes": communes, "zones": zones, "pumps": _pumps(communes, rng),
        "power": _power(ew, ns, communes.crs),
        "canals": gpd.GeoDataFrame({"canal_id": [f"K{i:03d}" for i in range(len(ew) + len(ns))]},
                                   geometry=np.concatenate([ew, ns]), crs=communes.crs),
    }
    for name, frame in layers.items():
        frame.to_file(folder / f"{name}.gpkg", driver="GPKG", layer=name)
    parcels.to_parquet(folder / "parcels.parquet", index=False)
    parcels.to_file(folder / "parcels.gpkg", driver="GPKG", layer="parcels")
    _targets(communes, zones).to_csv(folder / "targets.csv", index=False)
    tmp = plan.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(PLAN_TOML)
    tmp.replace(plan)
    return plan
