"""Area by zone (geoagri.area): hand-computed areas, overlaps, conservation,
agreement with a brute-force overlay, real communes against geodesic areas."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geoagri._pieces import cut_into_pieces
from geoagri.area import area_by_zone
from geoagri.crs import geodesic_area_ha
from geoagri.errors import SchemaError

UTM = "EPSG:32648"
X, Y = 500_000, 1_200_000  # near UTM 48N's central meridian; 1 km² = 100 ha
COMMUNES_2025 = (Path(__file__).resolve().parents[2] / "shared" / "data" / "communes_2025"
                 / "communes_2025.gpkg")


def km_box(x0, y0, x1, y1):
    """A box given in km from the origin (X, Y)."""
    return box(X + 1000 * x0, Y + 1000 * y0, X + 1000 * x1, Y + 1000 * y1)


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    # A: 2 km × 2 km (400 ha); B: 2 km × 2 km east of it; both in district D1.
    # C: 1 km × 2 km (200 ha) east of B, district D2.
    return gpd.GeoDataFrame(
        {"commune_id": ["A", "B", "C"], "commune_name": ["Xã A", "Xã B", "Xã C"],
         "district": ["D1", "D1", "D2"], "province": ["P", "P", "P"]},
        geometry=[km_box(0, 0, 2, 2), km_box(2, 0, 4, 2), km_box(4, 0, 5, 2)], crs=UTM)


@pytest.fixture
def zones() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"zone_id": ["z1", "z2", "z3", "z4", "z5"],
         "zone_kind": ["linkage", "linkage", "linkage", "production", "linkage"],
         "crop": ["rice", "rice", "lotus", "rice", "rice"]},
        geometry=[
            km_box(1, 0, 3, 1),      # 200 ha: 100 in A, 100 in B
            km_box(2.5, 0, 3, 1),    # 50 ha in B, inside z1 (overlap 50 ha, same group)
            km_box(0, 1, 1, 2),      # 100 ha in A, lotus
            km_box(0, 0, 1, 1),      # 100 ha in A, production
            km_box(4.5, 1.5, 5.5, 2),  # 50 ha: 25 in C, 25 outside every commune
        ], crs=UTM)


def cell(table, **where):
    mask = np.ones(len(table), dtype=bool)
    for k, v in where.items():
        mask &= (table[k].isna() if v is None else table[k] == v).to_numpy()
    assert mask.sum() == 1, (where, table)
    return table[mask].iloc[0]


def test_hand_computed_areas_and_overlaps(communes, zones):
    t = area_by_zone(zones, communes, by="zone_kind")
    assert list(t.columns) == ["commune_id", "commune_name", "zone_kind", "area_ha",
                               "overlap_ha", "commune_share_pct"]
    a = cell(t, commune_id="A", zone_kind="linkage")
    assert a.area_ha == pytest.approx(200) and a.overlap_ha == 0  # z1's 100 + z3's 100
    assert a.commune_share_pct == pytest.approx(50)
    b = cell(t, commune_id="B", zone_kind="linkage")
    assert b.area_ha == pytest.approx(100) and b.overlap_ha == pytest.approx(50)
    assert cell(t, commune_id="A", zone_kind="production").area_ha == pytest.approx(100)
    assert cell(t, commune_id="C", zone_kind="linkage").area_ha == pytest.approx(25)
    out = cell(t, commune_id=None, zone_kind="linkage")
    assert out.area_ha == pytest.approx(25) and pd.isna(out.commune_name)
    assert np.isnan(out.commune_share_pct)


def test_raw_mode_counts_overlaps_and_totals_are_conserved(communes, zones):
    raw = area_by_zone(zones, communes, by=["zone_kind", "crop"], dissolve=False)
    dis = area_by_zone(zones, communes, by=["zone_kind", "crop"], dissolve=True)
    # raw: every zone's whole area is somewhere (a commune or outside)
    assert raw["area_ha"].sum() == pytest.approx(zones.area.sum() / 1e4, rel=1e-12)
    assert (raw["area_ha"] - raw["overlap_ha"]).sum() == pytest.approx(dis["area_ha"].sum())
    assert raw["overlap_ha"].sum() == pytest.approx(50)
    b = cell(raw, commune_id="B", zone_kind="linkage", crop="rice")
    assert b.area_ha == pytest.approx(150) and b.overlap_ha == pytest.approx(50)


def test_overlaps_between_groups_are_not_dissolved(communes, zones):
    # z4 (production) lies on the same ground as z1's west half? No: on A's SW km².
    # z1 covers A's x 1–2 km; z4 x 0–1 km: they only touch. Overlap production on z3:
    moved = zones.copy()
    moved.loc[3, "geometry"] = km_box(0, 1, 1, 2)  # exactly on z3 (linkage/lotus)
    t = area_by_zone(moved, communes, by="zone_kind")
    assert cell(t, commune_id="A", zone_kind="production").overlap_ha == 0
    assert cell(t, commune_id="A", zone_kind="linkage").overlap_ha == 0


def test_touching_zones_are_not_overlaps(communes):
    tiles = gpd.GeoDataFrame(
        {"zone_kind": ["linkage"] * 4},
        geometry=[km_box(0, 0, 1, 1), km_box(1, 0, 2, 1), km_box(0, 1, 1, 2),
                  km_box(1, 1, 2, 2)], crs=UTM)
    t = area_by_zone(tiles, communes)
    assert t["overlap_ha"].sum() == 0 and cell(t, commune_id="A").area_ha == pytest.approx(400)


def test_no_grouping_and_identical_duplicates(communes):
    z = gpd.GeoDataFrame(geometry=[km_box(0, 0, 1, 1)] * 3, crs=UTM)
    t = area_by_zone(z, communes, by=())
    assert len(t) == 1 and t.loc[0, "area_ha"] == pytest.approx(100)
    assert t.loc[0, "overlap_ha"] == pytest.approx(200)


def test_district_and_province_levels(communes, zones):
    d = area_by_zone(zones, communes, by="zone_kind", level="district")
    assert list(d.columns) == ["district_code", "district", "zone_kind", "area_ha",
                               "overlap_ha", "district_share_pct", "approximate"]
    assert d["district_code"].isna().all()  # "D1", "D2" name no official district
    d1 = cell(d, district="D1", zone_kind="linkage")
    assert d1.area_ha == pytest.approx(300) and d1.overlap_ha == pytest.approx(50)
    assert d1.district_share_pct == pytest.approx(300 / 800 * 100)
    p = area_by_zone(zones, communes, by="zone_kind", level="province")
    assert cell(p, province="P", zone_kind="linkage").area_ha == pytest.approx(325)
    assert cell(p, province=None, zone_kind="linkage").area_ha == pytest.approx(25)


def test_inputs_not_modified(communes, zones):
    before_z, before_c = zones.copy(), communes.copy()
    area_by_zone(zones, communes)
    pd.testing.assert_frame_equal(pd.DataFrame(zones), pd.DataFrame(before_z))
    pd.testing.assert_frame_equal(pd.DataFrame(communes), pd.DataFrame(before_c))


def test_errors(communes, zones):
    with pytest.raises(SchemaError, match=r"no column\(s\) \['partner'\] to group by"):
        area_by_zone(zones, communes, by="partner")
    with pytest.raises(SchemaError, match=r"no column.*'district'.*level='district'"):
        area_by_zone(zones, communes.drop(columns="district"), level="district")
    with pytest.raises(SchemaError, match="level='ward'; use one of village, commune"):
        area_by_zone(zones, communes, level="ward")


def test_commune_pieces_cover_the_commune_exactly():
    circle = Point(X, Y).buffer(3000, quad_segs=256)  # 1,024 vertices
    p = cut_into_pieces([circle], max_vertices=32)
    assert shapely.get_num_coordinates(p.geoms).max() <= 32
    assert shapely.area(p.geoms).sum() == pytest.approx(circle.area, rel=1e-12)
    assert shapely.union_all(p.geoms).symmetric_difference(circle).area < 1e-6
    full = p.geoms[p.full]
    assert len(full) > 10
    np.testing.assert_allclose(shapely.area(full), shapely.area(shapely.box(*p.cells[p.full].T)))


def _overlay_reference(zones, communes, by):
    """Brute force: geopandas overlay, then groupby (raw, without dissolving)."""
    inter = gpd.overlay(zones, communes[["commune_id", "geometry"]], how="intersection",
                        keep_geom_type=True)
    inter["a"] = inter.area / 1e4
    return inter.groupby(["commune_id", *by])["a"].sum()


@st.composite
def scenes(draw):
    """Wiggly communes (a jittered 3×3 partition) and random overlapping rectangles."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(5, 150))
    xs = np.sort(rng.uniform(0, 6000, n))
    ys = rng.uniform(0, 6000, n)
    w = rng.uniform(20, 800, n)
    h = rng.uniform(20, 800, n)
    zones = gpd.GeoDataFrame(
        {"crop": rng.choice(["rice", "lotus"], n)},
        geometry=shapely.box(X + xs, Y + ys, X + xs + w, Y + ys + h), crs=UTM)
    disc = Point(X + 3000, Y + 3000).buffer(2900, quad_segs=64)
    cells = [box(X + 2000 * i, Y + 2000 * j, X + 2000 * (i + 1), Y + 2000 * (j + 1))
             .intersection(disc) for i in range(3) for j in range(3)]
    communes = gpd.GeoDataFrame({"commune_id": [f"c{k}" for k in range(9)],
                                 "commune_name": [f"Xã {k}" for k in range(9)]},
                                geometry=cells, crs=UTM)
    return zones, communes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scene=scenes(), max_vertices=st.sampled_from([8, 16, 64, 1000]))
def test_agrees_with_brute_force_overlay(scene, max_vertices):
    zones, communes = scene
    got = area_by_zone(zones, communes, by="crop", dissolve=False, crs=UTM,
                       max_vertices=max_vertices, threads=2)
    ref = _overlay_reference(zones, communes, ["crop"])
    inside = got.dropna(subset=["commune_id"]).set_index(["commune_id", "crop"])["area_ha"]
    ref = ref[ref > 1e-9]
    inside = inside[inside > 1e-9]
    assert sorted(inside.index) == sorted(ref.index)
    np.testing.assert_allclose(inside.loc[ref.index], ref, rtol=1e-9)
    # conservation: inside + outside = all zone area
    assert got["area_ha"].sum() == pytest.approx(zones.area.sum() / 1e4, rel=1e-9)
    # dissolved: the union of each crop's zones, split by commune
    dis = area_by_zone(zones, communes, by="crop", dissolve=True, crs=UTM,
                       max_vertices=max_vertices)
    for crop, g in zones.groupby("crop"):
        union = shapely.union_all(g.geometry.array)
        assert dis.loc[dis["crop"] == crop, "area_ha"].sum() == pytest.approx(
            union.area / 1e4, rel=1e-9)


@pytest.mark.skipif(not COMMUNES_2025.exists(),
                    reason="../shared/data/communes_2025 is absent (real 2025 communes)")
def test_real_communes_within_0_1_pct_of_geodesic():
    real = gpd.read_file(COMMUNES_2025)
    dt = real[real["province"] == "Đồng Tháp"].rename(
        columns={"ward_id": "commune_id", "name": "commune_name"})
    # zones: the communes themselves, in degrees (EPSG:4326), measured per commune; a
    # zone's area is summed over every commune (where communes overlap, the overlap is
    # counted in the commune with the lowest code, not always the zone's own)
    zones = dt[["commune_id", "geometry"]].rename(columns={"commune_id": "zid"})
    t = area_by_zone(zones, dt, by="zid", dissolve=False, province="Đồng Tháp", era="new")
    own = t.groupby("zid")["area_ha"].sum()
    geo = pd.Series(geodesic_area_ha(dt.geometry).to_numpy(), index=dt["commune_id"])
    rel = (own / geo.loc[own.index] - 1).abs()
    assert len(own) == len(dt) and rel.max() < 1e-3
    assert t.attrs["metric_crs"] == "EPSG:5897"  # new Đồng Tháp keeps old Đồng Tháp's 105°00'


def test_demo_figures():
    from geoagri.datasets import demo

    plan = demo()
    t = area_by_zone(plan["zones"], plan["communes"], level="district", province=plan.province)
    linkage = t[t["zone_kind"] == "linkage"]
    assert linkage["area_ha"].sum() == pytest.approx(23_865, abs=1)  # seed 000: 23.865 ha
    models = area_by_zone(plan["models"], plan["communes"], province=plan.province)
    ht = models[(models["season"] == "HT 2024")]
    assert ht.loc[ht["support"] == "supported", "area_ha"].sum() == pytest.approx(600, rel=1e-3)
    assert ht.loc[ht["support"] == "self", "area_ha"].sum() == pytest.approx(250, rel=1e-3)
    assert models["overlap_ha"].sum() == 0
