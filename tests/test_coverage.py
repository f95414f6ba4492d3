"""Tests of geoagri.coverage: served areas by hand, brute force, conservation, errors."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, MultiPoint, Point, box

from geoagri.coverage import coverage, gaps
from geoagri.errors import CRSError, GeoagriError, SchemaError

X, Y = 500_000.0, 1_200_000.0  # UTM 48N near its central meridian: 1 km² = 100 ha
CRS = "EPSG:32648"
R = 500.0
DISC_HA = math.pi * R**2 / 1e4  # 78.54 ha


def gdf(columns: dict, geoms: list, crs: str | None = CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=geoms, crs=crs)


def one_commune(margin: float = 10.0) -> gpd.GeoDataFrame:
    return gdf({"commune_id": ["A"], "commune_name": ["Xã A"]},
               [box(X - margin, Y - margin, X + 2000 + margin, Y + 1000 + margin)])


def zone_2x1() -> gpd.GeoDataFrame:
    return gdf({"zone_id": ["z1"], "zone_kind": ["linkage"], "crop": ["rice"]},
               [box(X, Y, X + 2000, Y + 1000)])


def pump_at(*points: tuple[float, float], status: str = "operating",
            served: float | None = None) -> gpd.GeoDataFrame:
    n = len(points)
    return gdf({"pump_id": [f"p{k}" for k in range(n)], "status": [status] * n,
                "served_area_ha": [served] * n}, [Point(p) for p in points])


def bottom_line(phases: int = 3, element: str = "line", status: str = "existing"):
    return gdf({"power_id": ["L1"], "element": [element], "voltage_kv": [22.0],
                "phases": [phases], "status": [status]},
               [LineString([(X, Y), (X + 2000, Y)])])


def segment_ha(r: float, h: float) -> float:
    """Area of the circular segment of height h cut from a disc of radius r, ha."""
    return (r * r * math.acos((r - h) / r) - (r - h) * math.sqrt(2 * r * h - h * h)) / 1e4


def total(t: pd.DataFrame, col: str) -> float:
    return float(t[col].sum())


# --------------------------------------------------------------------------
# Hand-computed served areas
# --------------------------------------------------------------------------

def test_pump_disc_at_centre_serves_pi_r2():
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X + 1000, Y + 500)),
                 pump_radius_m=R)
    assert len(t) == 1
    row = t.iloc[0]
    assert row["area_ha"] == pytest.approx(200.0)
    assert row["pump_ha"] == pytest.approx(DISC_HA, rel=5e-4)   # 128-gon: 0.04 % less
    assert row["power_ha"] == 0.0 and row["both_ha"] == 0.0
    assert row["neither_ha"] == pytest.approx(200.0 - DISC_HA, rel=5e-4)
    assert row["pump_pct"] == pytest.approx(DISC_HA / 2, rel=5e-4)


def test_quad_segs_makes_the_disc_exactly_the_polygon():
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X + 1000, Y + 500)),
                 pump_radius_m=R, quad_segs=4)
    n = 16  # a 16-gon inscribed in the circle
    assert t["pump_ha"].iloc[0] == pytest.approx(n / 2 * R * R * math.sin(2 * math.pi / n)
                                                 / 1e4, rel=1e-9)


def test_three_phase_line_along_edge_serves_a_strip():
    t = coverage(zone_2x1(), communes=one_commune(), power=bottom_line(), power_reach_m=200)
    assert t["power_ha"].iloc[0] == pytest.approx(40.0, rel=1e-9)   # 2 km × 0.2 km
    assert t["neither_ha"].iloc[0] == pytest.approx(160.0, rel=1e-9)
    assert t["power_pct"].iloc[0] == pytest.approx(20.0, rel=1e-9)


@pytest.mark.parametrize("kw", [dict(phases=1), dict(element="transformer"),
                                dict(status="planned")])
def test_single_phase_transformers_and_planned_lines_do_not_serve(kw):
    t = coverage(zone_2x1(), communes=one_commune(), power=bottom_line(**kw),
                 power_reach_m=200)
    assert t["power_ha"].iloc[0] == 0.0
    assert t.attrs["lines_serving"] == 0 and t.attrs["power_ignored"] == 1


def test_power_statuses_option_and_layer_without_status():
    line = bottom_line(status="planned")
    t = coverage(zone_2x1(), communes=one_commune(), power=line, power_reach_m=200,
                 power_statuses=["existing", "planned"])
    assert t["power_ha"].iloc[0] == pytest.approx(40.0)
    t = coverage(zone_2x1(), communes=one_commune(), power=line.drop(columns="status"),
                 power_reach_m=200)
    assert t["power_ha"].iloc[0] == pytest.approx(40.0)


def test_both_and_neither_by_hand():
    # disc centred at the zone's centre touches the bottom edge; the strip cuts a
    # circular segment of height 200 m from it
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X + 1000, Y + 500)),
                 pump_radius_m=R, power=bottom_line(), power_reach_m=200)
    row = t.iloc[0]
    both = segment_ha(R, 200)
    assert both == pytest.approx(11.18, abs=0.01)
    assert row["both_ha"] == pytest.approx(both, rel=2e-3)
    assert row["pump_ha"] == pytest.approx(DISC_HA, rel=5e-4)
    assert row["power_ha"] == pytest.approx(40.0, rel=1e-9)
    assert row["neither_ha"] == pytest.approx(200 - DISC_HA - 40 + both, rel=1e-3)
    parts = row["both_ha"] + (row["pump_ha"] - row["both_ha"]) \
        + (row["power_ha"] - row["both_ha"]) + row["neither_ha"]
    assert parts == pytest.approx(row["area_ha"], rel=1e-12)


def test_pumps_not_operating_do_not_serve():
    pumps = pd.concat([pump_at((X + 500, Y + 500)), pump_at((X + 1500, Y + 500),
                                                             status="planned")])
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pumps, pump_radius_m=R)
    assert t["pump_ha"].iloc[0] == pytest.approx(DISC_HA, rel=5e-4)
    assert t.attrs["pumps_serving"] == 1 and t.attrs["pumps_ignored"] == 1
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pumps, pump_radius_m=R,
                 pump_statuses=("operating", "planned"))
    assert t["pump_ha"].iloc[0] == pytest.approx(2 * DISC_HA, rel=5e-4)


def test_radius_from_served_area():
    pumps = pump_at((X + 1000, Y + 500), served=DISC_HA)
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pumps,
                 pump_radius_m="served_area_ha")
    assert t["pump_ha"].iloc[0] == pytest.approx(DISC_HA, rel=5e-4)
    pumps["served_area_ha"] = np.nan
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pumps,
                 pump_radius_m="served_area_ha")
    assert t["pump_ha"].iloc[0] == 0.0
    assert t.attrs["pumps_without_served_area"] == 1


def test_multipoint_pump_and_overlapping_discs_counted_once():
    pumps = gdf({"pump_id": ["p"], "status": ["operating"]},
                [MultiPoint([(X + 1000, Y + 500), (X + 1000, Y + 500)])])
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pumps, pump_radius_m=R)
    assert t["pump_ha"].iloc[0] == pytest.approx(DISC_HA, rel=5e-4)


# --------------------------------------------------------------------------
# Reach along a canal network
# --------------------------------------------------------------------------

def l_canal() -> gpd.GeoDataFrame:
    # A (200, 200) → B (1800, 200) → C (1800, 800), drawn as two separate lines
    return gdf({"canal_id": ["k1", "k2"]},
               [LineString([(X + 200, Y + 200), (X + 1800, Y + 200)]),
                LineString([(X + 1800, Y + 200), (X + 1800, Y + 800)])])


def test_network_reach_along_an_l_shaped_canal():
    # pump 100 m below A: 100 m walk, then 1600 m to B, then 200 m up to (1800, 400)
    r = 100.0
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X + 200, Y + 100)),
                 canals=l_canal(), canal_reach_m=r, network_reach_m=1900)
    # union of the buffers of AB (1600 m) and B-(1800,400) (200 m): 2rL + πr², less the
    # inner-corner square r², plus the quarter disc counted twice
    expected = (2 * r * 1800 + math.pi * r * r - r * r + math.pi * r * r / 4) / 1e4
    assert expected == pytest.approx(38.93, abs=0.01)
    assert t["pump_ha"].iloc[0] == pytest.approx(expected, rel=5e-4)
    assert t.attrs["canal_reached_km"] == pytest.approx(1.8, rel=1e-9)


def test_network_reach_from_the_middle_of_a_canal_both_ways():
    # pump on AB at x = 1000 (snap 0): 300 m each way along a straight canal
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X + 1000, Y + 200)),
                 canals=l_canal(), canal_reach_m=50, network_reach_m=300)
    assert t.attrs["canal_reached_km"] == pytest.approx(0.6, rel=1e-9)
    assert t["pump_ha"].iloc[0] == pytest.approx((2 * 50 * 600 + math.pi * 2500) / 1e4,
                                                 rel=5e-4)


def test_network_reach_shorter_than_the_walk_to_the_canal_serves_nothing():
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X + 200, Y + 100)),
                 canals=l_canal(), canal_reach_m=100, network_reach_m=50)
    assert t["pump_ha"].iloc[0] == 0.0


def test_canals_crossing_are_split_into_a_network():
    # a cross: the pump on the west arm reaches the junction and goes 100 m up, down, east
    canals = gdf({"canal_id": ["h", "v"]},
                 [LineString([(X + 200, Y + 500), (X + 1800, Y + 500)]),
                  LineString([(X + 1000, Y + 100), (X + 1000, Y + 900)])])
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X + 600, Y + 500)),
                 canals=canals, canal_reach_m=10, network_reach_m=500)
    # 400 west of the junction... reached: 400 (to the junction) + 100 + 100 + 100 (+400 west)
    assert t.attrs["canal_reached_km"] == pytest.approx((400 + 400 + 300) / 1000, rel=1e-9)


def test_radius_and_canals_together_are_a_union():
    t = coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X + 1000, Y + 500)),
                 pump_radius_m=100, canals=l_canal(), canal_reach_m=50, network_reach_m=300)
    # disc of 100 m, 300 m from AB (snap 300 m uses the whole reach): only the disc
    assert t["pump_ha"].iloc[0] == pytest.approx(math.pi * 1e4 / 1e4, rel=5e-4)


# --------------------------------------------------------------------------
# Communes, groups, overlaps, gaps
# --------------------------------------------------------------------------

def two_communes() -> gpd.GeoDataFrame:
    return gdf({"commune_id": ["A", "B"], "commune_name": ["Xã A", "Xã B"]},
               [box(X, Y, X + 1000, Y + 1000), box(X + 1000, Y, X + 2000, Y + 1000)])


def test_split_by_commune_and_outside_rows():
    zones = gdf({"zone_id": ["z1"], "zone_kind": ["linkage"]},
                [box(X, Y - 500, X + 2000, Y + 1000)])  # 100 ha south of the communes
    t = coverage(zones, communes=two_communes(), pumps=pump_at((X + 1000, Y + 500)),
                 pump_radius_m=R)
    assert list(t["commune_id"].iloc[:2]) == ["A", "B"]
    assert pd.isna(t["commune_id"].iloc[2]) and pd.isna(t["commune_name"].iloc[2])
    assert t["area_ha"].tolist() == pytest.approx([100.0, 100.0, 100.0])
    assert t["pump_ha"].iloc[0] == pytest.approx(DISC_HA / 2, rel=5e-4)
    assert t["pump_ha"].iloc[1] == pytest.approx(DISC_HA / 2, rel=5e-4)
    assert t["pump_ha"].iloc[2] == 0.0
    assert total(t, "area_ha") == pytest.approx(300.0)


def test_overlapping_zones_counted_once_per_group():
    zones = gdf({"zone_id": ["z1", "z2", "z3"], "crop": ["rice", "rice", "lotus"]},
                [box(X, Y, X + 1000, Y + 1000), box(X + 500, Y, X + 1500, Y + 1000),
                 box(X, Y, X + 1000, Y + 1000)])
    kw = dict(communes=two_communes(), power=bottom_line(), power_reach_m=200)
    t = coverage(zones, by="crop", **kw)
    rice = t[t["crop"] == "rice"]
    assert rice["area_ha"].tolist() == pytest.approx([100.0, 50.0])
    assert rice["power_ha"].tolist() == pytest.approx([20.0, 10.0])
    lotus = t[t["crop"] == "lotus"]
    assert lotus["area_ha"].tolist() == pytest.approx([100.0])
    t1 = coverage(zones, **kw)   # one group: all zones dissolved
    assert t1["area_ha"].tolist() == pytest.approx([100.0, 50.0])
    g = gaps(zones, **kw)
    by = g.groupby("missing")["area_ha"].sum()   # no pumps: nothing is served by both
    assert by.to_dict() == pytest.approx({"pump": 30.0, "both": 120.0})
    # the overlap belongs to the first zone: z2 only west of its eastern half
    assert set(g["zone_id"]) == {"z1", "z2"}
    u = shapely.union_all(g.geometry.array)
    assert u.area == pytest.approx(shapely.area(g.geometry.array).sum())  # disjoint


def test_trim_clusters_of_several_sizes_interleaved():
    # _trim works on every overlap cluster at once, one member of each per step: here
    # a chain of three rice zones (each 10 × 10 m, shifted by 5 m), a copy of a fourth
    # (trimmed to nothing), and a lotus zone over the first (another group, untouched),
    # with the clusters' rows interleaved.  The overlap goes to the earlier row.
    from geoagri.coverage import _trim

    geoms = np.array([box(0, 0, 10, 10), box(100, 0, 110, 10), box(5, 0, 15, 10),
                      box(0, 0, 10, 10), box(100, 0, 110, 10), box(10, 0, 20, 10),
                      box(2, 2, 4, 4)], dtype=object)
    codes = np.array([0, 0, 0, 1, 0, 0, 0])  # 1: lotus
    out = _trim(geoms, codes)
    assert shapely.area(out).tolist() == pytest.approx([100.0, 100.0, 50.0, 100.0, 0.0, 50.0,
                                                        0.0])
    assert out[2].equals(box(10, 0, 15, 10)) and out[5].equals(box(15, 0, 20, 10))
    assert out[3] is geoms[3] and geoms[2].equals(box(5, 0, 15, 10))  # inputs kept


def test_gaps_columns_crs_and_missing_kinds():
    zones = zone_2x1().assign(commune_id="X9").to_crs("EPSG:4326")
    kw = dict(communes=one_commune(), pumps=pump_at((X + 1000, Y + 500)), pump_radius_m=R,
              power=bottom_line(), power_reach_m=200)
    g = gaps(zones, **kw)
    assert g.crs == zones.crs
    assert list(g.columns[:3]) == ["missing", "commune_id", "commune_name"]
    assert {"zone_id", "zone_kind", "crop", "zone_commune_id", "area_ha"} <= set(g.columns)
    assert set(g["zone_commune_id"]) == {"X9"} and set(g["commune_id"]) == {"A"}
    by = g.groupby("missing")["area_ha"].sum()
    both = segment_ha(R, 200)
    assert by["pump"] == pytest.approx(40 - both, rel=2e-3)
    assert by["power"] == pytest.approx(DISC_HA - both, rel=2e-3)
    assert by["both"] == pytest.approx(200 - DISC_HA - 40 + both, rel=1e-3)
    assert g.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    # area_ha is measured in the metric CRS, not in degrees
    assert shapely.area(g.to_crs(CRS).geometry.array) / 1e4 == pytest.approx(
        g["area_ha"].to_numpy(), rel=1e-6)


def test_no_service_given_everything_is_a_gap_of_both():
    g = gaps(zone_2x1(), communes=one_commune())
    assert g["missing"].tolist() == ["both"]
    assert g["area_ha"].iloc[0] == pytest.approx(200.0)
    t = coverage(zone_2x1(), communes=one_commune())
    assert t["neither_pct"].iloc[0] == pytest.approx(100.0)


def test_inputs_unchanged():
    zones, communes = zone_2x1(), two_communes()
    pumps, power = pump_at((X + 1000, Y + 500)), bottom_line()
    before = [d.copy() for d in (zones, communes, pumps, power)]
    kw = dict(communes=communes, pumps=pumps, pump_radius_m=R, power=power, power_reach_m=200)
    coverage(zones, **kw)
    gaps(zones, **kw)
    for a, b in zip((zones, communes, pumps, power), before, strict=True):
        pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------
# Brute force on random scenes
# --------------------------------------------------------------------------

def random_scene(seed: int):
    rng = np.random.default_rng(seed)
    # 3 × 2 communes of 1 km, with a wavy shared border
    communes = []
    for i in range(3):
        for j in range(2):
            communes.append(box(X + i * 1000, Y + j * 1000, X + (i + 1) * 1000,
                                Y + (j + 1) * 1000))
    communes = gdf({"commune_id": [f"c{k}" for k in range(6)],
                    "commune_name": [f"Xã {k}" for k in range(6)]}, communes)
    n = 25
    cx = rng.uniform(X - 200, X + 3200, n)
    cy = rng.uniform(Y - 200, Y + 2200, n)
    w = rng.uniform(50, 600, n)
    h = rng.uniform(50, 600, n)
    geoms = [shapely.affinity.rotate(box(a - b / 2, c - d / 2, a + b / 2, c + d / 2),
                                     rng.uniform(0, 90))
             for a, b, c, d in zip(cx, w, cy, h, strict=True)]
    zones = gdf({"zone_id": [f"z{k}" for k in range(n)],
                 "crop": rng.choice(["rice", "lotus"], n)}, geoms)
    m = 8
    pumps = gdf({"pump_id": [f"p{k}" for k in range(m)],
                 "status": rng.choice(["operating", "operating", "planned"], m)},
                [Point(p) for p in zip(rng.uniform(X, X + 3000, m),
                                       rng.uniform(Y, Y + 2000, m), strict=True)])
    k = 5
    lines = [LineString(rng.uniform(0, 1, (3, 2)) * [3000, 2000] + [X, Y]) for _ in range(k)]
    power = gdf({"power_id": [f"l{q}" for q in range(k)], "element": ["line"] * k,
                 "phases": rng.choice([1, 3, 3], k), "status": ["existing"] * k}, lines)
    return zones, communes, pumps, power


def brute_force(zones, communes, pumps, power, radius, reach, quad_segs=32):
    op = pumps[pumps["status"] == "operating"]
    pa = shapely.union_all(shapely.buffer(op.geometry.array, radius, quad_segs=quad_segs))
    tp = power[power["phases"] == 3]
    wa = shapely.union_all(shapely.buffer(tp.geometry.array, reach, quad_segs=quad_segs))
    rows = []
    all_c = shapely.union_all(communes.geometry.array)
    units = [(cid, g) for cid, g in zip(communes["commune_id"], communes.geometry,
                                        strict=True)]
    for crop, grp in zones.groupby("crop"):
        ua = shapely.union_all(grp.geometry.array)
        for cid, c in [*units, (None, None)]:
            part = shapely.difference(ua, all_c) if c is None else shapely.intersection(ua, c)
            a = part.area
            if a <= 0:
                continue
            rows.append(dict(commune_id=cid, crop=crop, area_ha=a / 1e4,
                             pump_ha=part.intersection(pa).area / 1e4,
                             power_ha=part.intersection(wa).area / 1e4,
                             both_ha=part.intersection(pa).intersection(wa).area / 1e4))
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_scenes_against_brute_force(seed):
    zones, communes, pumps, power = random_scene(seed)
    kw = dict(communes=communes, pumps=pumps, pump_radius_m=450, power=power,
              power_reach_m=150, by="crop")
    t = coverage(zones, **kw)
    bf = brute_force(zones, communes, pumps, power, 450, 150)
    key = ["commune_id", "crop"]
    tt = t.assign(commune_id=t["commune_id"].astype(object).where(t["commune_id"].notna(),
                                                                   None))
    m = tt.merge(bf, on=key, how="outer", suffixes=("", "_bf"), indicator=True)
    # rows only one side has must be slivers
    for col in ("area_ha", "pump_ha", "power_ha", "both_ha"):
        got = m[col].fillna(0.0).to_numpy()
        want = m[f"{col}_bf"].fillna(0.0).to_numpy()
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=1e-7)
    # conservation
    np.testing.assert_allclose(
        t["both_ha"] + (t["pump_ha"] - t["both_ha"]) + (t["power_ha"] - t["both_ha"])
        + t["neither_ha"], t["area_ha"], rtol=1e-12)
    assert total(t, "area_ha") == pytest.approx(sum(
        shapely.union_all(g.geometry.array).area for _, g in zones.groupby("crop")) / 1e4)
    # gaps agree with coverage, by commune, crop and what is missing
    g = gaps(zones, **kw)
    gg = g.assign(commune_id=g["commune_id"].astype(object).where(g["commune_id"].notna(),
                                                                   "-"))
    s = gg.groupby(["commune_id", "crop", "missing"])["area_ha"].sum()
    tt = t.assign(commune_id=t["commune_id"].astype(object).where(t["commune_id"].notna(),
                                                                   "-"))
    for _, row in tt.iterrows():
        for missing, want in (("pump", row["power_ha"] - row["both_ha"]),
                              ("power", row["pump_ha"] - row["both_ha"]),
                              ("both", row["neither_ha"])):
            got = s.get((row["commune_id"], row["crop"], missing), 0.0)
            assert got == pytest.approx(want, abs=1e-6, rel=1e-7)
    # gap polygons of one crop do not overlap, and lie within their commune
    for _, grp in g.groupby("crop"):
        assert shapely.union_all(grp.geometry.array).area == pytest.approx(
            shapely.area(grp.geometry.array).sum(), rel=1e-9, abs=1e-3)


def test_threads_and_piece_size_do_not_change_results():
    zones, communes, pumps, power = random_scene(7)
    kw = dict(communes=communes, pumps=pumps, pump_radius_m=450, power=power,
              power_reach_m=150, by="crop")
    a = coverage(zones, **kw, threads=1, max_vertices=16)
    b = coverage(zones, **kw, threads=2, max_vertices=256)
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=1e-6)


def test_one_preparation_gives_the_table_and_the_gaps_of_two():
    # service_coverage cuts the zones lying in several communes at the commune pieces
    # once, for the table (only the zones that also cross a service border) and for
    # the gaps (all of them); coverage() and gaps() each cut what they need alone.
    # Power serves y < Y + 200 (a 200 m reach from the line along y = Y).  z1 lies
    # in A and B and in the power strip only; z2 in A and B and across the strip's
    # edge; z3 in B and outside every commune, unserved: 1 ha in each part.
    from geoagri.coverage import service_coverage

    zones = gdf({"zone_id": ["z1", "z2", "z3"], "crop": ["rice"] * 3},
                [box(X + 900, Y, X + 1100, Y + 100), box(X + 900, Y + 100, X + 1100, Y + 400),
                 box(X + 1900, Y + 500, X + 2100, Y + 600)])
    kw = dict(communes=two_communes(), power=bottom_line(), power_reach_m=200, by="crop")
    both = service_coverage(zones, **kw)
    t = both.coverage
    assert t["commune_id"].astype(object).fillna("-").tolist() == ["A", "B", "-"]
    assert t["area_ha"].tolist() == pytest.approx([4.0, 5.0, 1.0])
    assert t["power_ha"].tolist() == pytest.approx([2.0, 2.0, 0.0])
    assert t["neither_ha"].tolist() == pytest.approx([2.0, 3.0, 1.0])
    g = both.gaps.assign(commune_id=both.gaps["commune_id"].astype(object).fillna("-"))
    assert g.groupby(["commune_id", "missing"])["area_ha"].sum().to_dict() == pytest.approx(
        {("A", "both"): 2.0, ("A", "pump"): 2.0, ("B", "both"): 3.0, ("B", "pump"): 2.0,
         ("-", "both"): 1.0})
    pd.testing.assert_frame_equal(t, coverage(zones, **kw), check_exact=True)
    want = gaps(zones, **kw)
    pd.testing.assert_frame_equal(both.gaps.drop(columns="geometry"),
                                  want.drop(columns="geometry"), check_exact=True)
    assert both.gaps.geometry.to_wkb().tolist() == want.geometry.to_wkb().tolist()


def test_gaps_of_zones_in_one_commune_and_in_two():
    # The gaps take the classes of a zone lying in one commune from the zone's own
    # allocation and allocate only the commune parts of the others.  Power serves
    # y < Y + 200.  z1 lies in A across the strip's edge; z2 in B, unserved; z3 in A and
    # B across the edge.  By hand, ha: z1 pump 2, both 4; z2 both 4; z3 per commune
    # pump 1, both 2.
    from geoagri.coverage import service_coverage

    zones = gdf({"zone_id": ["z1", "z2", "z3"], "crop": ["rice"] * 3},
                [box(X + 100, Y + 100, X + 300, Y + 400), box(X + 1500, Y + 300, X + 1700, Y + 500),
                 box(X + 900, Y + 100, X + 1100, Y + 400)])
    g = service_coverage(zones, communes=two_communes(), power=bottom_line(),
                         power_reach_m=200, by="crop").gaps
    got = {(z, c, m): (round(a, 9), geom) for z, c, m, a, geom in zip(
        g["zone_id"], g["commune_id"], g["missing"], g["area_ha"], g.geometry, strict=True)}
    want = {("z1", "A", "pump"): box(X + 100, Y + 100, X + 300, Y + 200),
            ("z1", "A", "both"): box(X + 100, Y + 200, X + 300, Y + 400),
            ("z2", "B", "both"): box(X + 1500, Y + 300, X + 1700, Y + 500),
            ("z3", "A", "pump"): box(X + 900, Y + 100, X + 1000, Y + 200),
            ("z3", "A", "both"): box(X + 900, Y + 200, X + 1000, Y + 400),
            ("z3", "B", "pump"): box(X + 1000, Y + 100, X + 1100, Y + 200),
            ("z3", "B", "both"): box(X + 1000, Y + 200, X + 1100, Y + 400)}
    assert sorted(got) == sorted(want)
    for key, shape in want.items():
        assert got[key][0] == pytest.approx(shape.area / 1e4, rel=1e-12), key
        assert got[key][1].equals(shape), key


# --------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def plan():
    from geoagri.datasets import demo
    return demo()


def test_demo_rice_lacks_three_phase_power(plan):
    canals = gpd.read_file(plan.path(plan.settings["canals"]))
    kw = dict(communes=plan["communes"], by="crop", pumps=plan["pumps"], canals=canals,
              canal_reach_m=300, network_reach_m=3000, power=plan["power"],
              power_reach_m=500, province=plan.province)
    t = coverage(plan["zones"], **kw)
    rice = t[t["crop"] == "rice"]
    assert rice["power_ha"].sum() < rice["area_ha"].sum()
    assert (rice["area_ha"] - rice["power_ha"]).sum() > 1000
    assert t.attrs["pumps_serving"] == 12 and t.attrs["lines_serving"] == 4
    g = gaps(plan["zones"], **kw)
    assert set(g["missing"]) == {"pump", "power", "both"}
    assert g.loc[g["crop"] == "rice", "area_ha"].sum() == pytest.approx(
        (rice["area_ha"] - rice["both_ha"]).sum(), rel=1e-7)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def test_error_no_crs():
    with pytest.raises(CRSError, match=r"coverage: layer 'zones' has no CRS.*zones\.set_crs"):
        coverage(zone_2x1().set_crs(None, allow_override=True), communes=one_commune())
    pumps = pump_at((X, Y)).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="gaps: layer 'pumps' has no CRS"):
        gaps(zone_2x1(), communes=one_commune(), pumps=pumps, pump_radius_m=R)


def test_error_pumps_without_radius_or_canals():
    with pytest.raises(GeoagriError, match=r"pumps are given but not how far.*pump_radius_m"):
        coverage(zone_2x1(), communes=one_commune(), pumps=pump_at((X, Y)))


@pytest.mark.parametrize("kw,match", [
    (dict(pump_radius_m=-1), "pump_radius_m=-1.*zero or more"),
    (dict(pump_radius_m=float("nan")), "pump_radius_m=nan"),
    (dict(pump_radius_m="radius"), "pump_radius_m='radius'.*served_area_ha"),
    (dict(pump_radius_m=R, power=True, power_reach_m=-5), "power_reach_m=-5"),
    (dict(canals=True, canal_reach_m=-1, network_reach_m=10), "canal_reach_m=-1"),
    (dict(canals=True, canal_reach_m=10, network_reach_m=-2), "network_reach_m=-2"),
    (dict(canals=True, canal_reach_m=10), "without network_reach_m"),
    (dict(pump_radius_m=R, power=True), "power is given without power_reach_m"),
    (dict(pump_radius_m=R, quad_segs=0), "quad_segs=0"),
])
def test_error_bad_options(kw, match):
    kw = dict(kw)
    if kw.get("canals"):
        kw["canals"] = l_canal()
    if kw.get("power"):
        kw["power"] = bottom_line()
    kw.setdefault("pumps", pump_at((X, Y)))
    with pytest.raises(GeoagriError, match=match):
        coverage(zone_2x1(), communes=one_commune(), **kw)


def test_error_canals_without_pumps():
    with pytest.raises(GeoagriError, match="canals are given but no pumps"):
        coverage(zone_2x1(), communes=one_commune(), canals=l_canal(), canal_reach_m=1,
                 network_reach_m=1)


@pytest.mark.parametrize("layer,drop,match", [
    ("pumps", "status", r"layer 'pumps' has no column\(s\) \['status'\]"),
    ("power", "phases", r"layer 'power' has no column\(s\) \['phases'\]"),
    ("communes", "commune_name", r"layer 'communes' has no column\(s\) \['commune_name'\]"),
])
def test_error_missing_columns(layer, drop, match):
    kw = dict(communes=one_commune(), pumps=pump_at((X, Y)), pump_radius_m=R,
              power=bottom_line(), power_reach_m=100)
    kw[layer] = kw[layer].drop(columns=drop)
    with pytest.raises(SchemaError, match=match):
        coverage(zone_2x1(), **kw)


def test_error_missing_by_and_served_area_columns():
    with pytest.raises(SchemaError, match=r"layer 'zones' has no column\(s\) \['season'\]"):
        coverage(zone_2x1(), communes=one_commune(), by=["crop", "season"])
    pumps = pump_at((X, Y)).drop(columns="served_area_ha")
    with pytest.raises(SchemaError, match=r"\['served_area_ha'\]"):
        gaps(zone_2x1(), communes=one_commune(), pumps=pumps, pump_radius_m="served_area_ha")


def test_error_not_a_geodataframe():
    with pytest.raises(SchemaError, match="zones must be a GeoDataFrame, got DataFrame"):
        coverage(pd.DataFrame({"a": [1]}), communes=one_commune())


def test_coverage_rolls_up_to_districts_and_the_province_by_code():
    """Two districts of hand-made 1 km² communes; ha summed, shares computed again."""
    communes = gpd.GeoDataFrame({
        "commune_id": ["27757", "27760", "27691"],
        "commune_name": ["Thị trấn Vĩnh Hưng", "Xã Hưng Điền A", "Phường 4"]},
        geometry=[box(X, Y, X + 1000, Y + 1000), box(X + 1000, Y, X + 2000, Y + 1000),
                  box(X + 2000, Y, X + 3000, Y + 1000)], crs=CRS)
    zones = gpd.GeoDataFrame({"zone_id": ["z"], "zone_kind": ["linkage"]},
                             geometry=[box(X, Y, X + 3000, Y + 1000)], crs=CRS)
    power = gpd.GeoDataFrame({"power_id": ["L"], "element": ["line"], "phases": [3]},
                             geometry=[LineString([(X, Y), (X + 3000, Y)])], crs=CRS)
    t = coverage(zones, communes, power=power, power_reach_m=250, crs=CRS, province="Long An")
    assert t["power_ha"].tolist() == pytest.approx([25.0, 25.0, 25.0])
    d = coverage(zones, communes, power=power, power_reach_m=250, crs=CRS, province="Long An",
                 level="district")
    got = d.set_index("district")[["area_ha", "power_ha", "power_pct"]]
    # Vĩnh Hưng holds two of the communes, Tân An (city) the third
    assert got.loc["Huyện Vĩnh Hưng"].tolist() == pytest.approx([200.0, 50.0, 25.0])
    assert got.loc["Thành phố Tân An"].tolist() == pytest.approx([100.0, 25.0, 25.0])
    p = coverage(zones, communes, power=power, power_reach_m=250, crs=CRS, province="Long An",
                 level="province")
    assert p[["area_ha", "power_ha", "neither_ha"]].iloc[0].tolist() == pytest.approx(
        [300.0, 75.0, 225.0])
    with pytest.raises(ValueError, match="level='ward'"):
        coverage(zones, communes, level="ward")
