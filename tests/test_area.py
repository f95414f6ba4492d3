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

from geoagri._engine.pieces import cut_into_pieces
from geoagri.area import area_by_groupings, area_by_zone
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


def test_missing_group_values_are_a_group_of_their_own(communes, zones):
    # z1 and z2 without a crop (None and NaN): one group, first seen before rice and
    # lotus; z2 lies inside z1 (50 ha counted twice in B); the rest as in the fixture
    blank = zones.assign(crop=[None, np.nan, "lotus", "rice", "rice"])
    for by in ("crop", ["crop", "zone_kind"]):  # one column, and two
        t = area_by_zone(blank, communes, by=by)
        b = cell(t, commune_id="B", crop=None)
        assert b.area_ha == pytest.approx(100) and b.overlap_ha == pytest.approx(50)
        assert cell(t, commune_id="A", crop=None).area_ha == pytest.approx(100)
        assert cell(t, commune_id="A", crop="lotus").area_ha == pytest.approx(100)
        assert list(t.loc[t["commune_id"] == "A", "crop"].map(
            lambda v: "none" if pd.isna(v) else v)) == ["none", "lotus", "rice"]


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


def test_copies_and_a_zone_drawn_over_them_across_a_border(communes):
    # a, a copy of a, c across the A|B border, a copy of c, and d over all four
    z = gpd.GeoDataFrame(geometry=[km_box(0, 0, 1, 1), km_box(0, 0, 1, 1),
                                   km_box(1.5, 0, 2.5, 1), km_box(1.5, 0, 2.5, 1),
                                   km_box(0, 0, 3, 1)], crs=UTM)
    t = area_by_zone(z, communes, by=(), dissolve=True).set_index("commune_id")
    # the union is d: 200 ha in A, 100 in B; drawn: A 100+100+50+50+200, B 50+50+100
    assert t.loc["A", "area_ha"] == pytest.approx(200)
    assert t.loc["B", "area_ha"] == pytest.approx(100)
    assert t.loc["A", "overlap_ha"] == pytest.approx(300)
    assert t.loc["B", "overlap_ha"] == pytest.approx(100)


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


def test_several_groupings_measured_at_once(communes, zones):
    # z4 (production, rice) moved to x 0.5–1.5 km: half of it (50 ha) under z1 (linkage,
    # rice, x 1–3 km), which another grouping than the kind dissolves
    z = zones.copy()
    z.loc[3, "geometry"] = km_box(0.5, 0, 1.5, 1)
    whole, kind, crop, both = area_by_groupings(
        z, communes, [[], "zone_kind", ["crop"], ["zone_kind", "crop"]])
    # all together: in A, z1 ∪ z4 spans x 0.5–2 km (150 ha) and z3 100 ha
    a = cell(whole, commune_id="A")
    assert a.area_ha == pytest.approx(250) and a.overlap_ha == pytest.approx(50)
    b = cell(whole, commune_id="B")  # z2 inside z1
    assert b.area_ha == pytest.approx(100) and b.overlap_ha == pytest.approx(50)
    assert cell(whole, commune_id=None).area_ha == pytest.approx(25)
    # by kind, linkage and production do not dissolve into each other
    assert cell(kind, commune_id="A", zone_kind="linkage").area_ha == pytest.approx(200)
    assert cell(kind, commune_id="A", zone_kind="production").overlap_ha == 0
    assert cell(kind, commune_id="B", zone_kind="linkage").overlap_ha == pytest.approx(50)
    # by crop, rice does: z1's 100 ha in A and z4's 100 ha share 50
    r = cell(crop, commune_id="A", crop="rice")
    assert r.area_ha == pytest.approx(150) and r.overlap_ha == pytest.approx(50)
    assert cell(crop, commune_id="A", crop="lotus").area_ha == pytest.approx(100)
    # by kind and crop, nothing overlaps in A
    assert both.loc[both["commune_id"] == "A", "overlap_ha"].tolist() == [0, 0, 0]
    assert cell(both, commune_id="A", zone_kind="production", crop="rice").area_ha == (
        pytest.approx(100))
    assert [t.attrs["by"] for t in (whole, kind, crop, both)] == [
        (), ("zone_kind",), ("crop",), ("zone_kind", "crop")]
    # at the district level too: D1 is A and B
    d_whole, d_crop = area_by_groupings(z, communes, [(), "crop"], level="district")
    assert cell(d_whole, district="D1").area_ha == pytest.approx(350)
    assert cell(d_crop, district="D1", crop="rice").overlap_ha == pytest.approx(100)


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


def test_large_zones_across_borders_are_cut_before_they_are_clipped(communes):
    # circles of 1,024 vertices (past CUT_VERTICES, so cut into fragments of their own)
    # centred on A|B's border and on C's outer edge: by symmetry half in A and half in
    # B; half in C and half outside every commune.  A star of 600 vertices over all
    # three communes: as GEOS intersects it.
    from geoagri._engine.pieces import CUT_VERTICES, allocate, cut_once

    regions = np.asarray(communes.geometry.array, dtype=object)
    rng = np.random.default_rng(3)
    angle = np.linspace(0, 2 * np.pi, 600, endpoint=False)
    radius = 1000 + rng.uniform(-600, 600, 600)
    star = shapely.Polygon(np.column_stack([X + 2500 + radius * np.cos(angle),
                                            Y + 1000 + radius * np.sin(angle)]))
    geoms = np.array([Point(X + 2000, Y + 1000).buffer(800, quad_segs=256),
                      Point(X + 5000, Y + 1000).buffer(800, quad_segs=256), star],
                     dtype=object)
    assert star.is_valid
    assert shapely.get_num_coordinates(geoms).min() > CUT_VERTICES
    g, r, a = allocate(geoms, regions, cut_once(regions), threads=2)
    got = np.zeros((3, 4))
    np.add.at(got, (g, r), a)
    half = geoms[0].area / 2
    np.testing.assert_allclose(got[0], [half, half, 0, 0], rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(got[1], [0, 0, half, half], rtol=1e-12, atol=1e-6)
    inside = [shapely.intersection(star, c).area for c in regions]
    np.testing.assert_allclose(got[2], [*inside, star.area - sum(inside)], rtol=1e-12,
                               atol=1e-6)


def test_a_large_zone_geos_cannot_cut_is_clipped_whole():
    # A sliver left by a gap layer (valid, 0.04 m², 128 m long) beside a circle of 161
    # vertices: GEOS's rectangle clipping refuses to cut the pair ("Invalid number of
    # points in LinearRing"), so it is clipped whole, between two circles that are cut.
    from geoagri._engine.pieces import _cut_each, allocate, cut_once

    sliver = shapely.from_wkt(
        "POLYGON ((488271.7178395413 1213096.2414580835, 488299.3203060434 1213094.897562068,"
        " 488271.72 1213096.24, 488243.21820592706 1213096.6325633547,"
        " 488170.80190200615 1213097.6263444878, 488271.7178395413 1213096.2414580835))")
    x, y = sliver.bounds[0] - 70, sliver.bounds[1] + 300
    refused = shapely.MultiPolygon([sliver, Point(x, y).buffer(50, quad_segs=40)])
    with pytest.raises(shapely.errors.GEOSException):
        cut_into_pieces([refused], max_vertices=32)
    regions = np.array([box(x - 1000, y - 1000, x, y + 1000),
                        box(x, y - 1000, x + 1000, y + 1000)], dtype=object)
    geoms = np.array([Point(x, y - 500).buffer(300, quad_segs=64), refused,
                      Point(x + 20, y + 500).buffer(200, quad_segs=64)], dtype=object)
    done, owner, frag = _cut_each(geoms)
    assert done.tolist() == [True, False, True]
    np.testing.assert_allclose(np.bincount(owner, weights=shapely.area(frag), minlength=3),
                               shapely.area(geoms) * done, rtol=1e-12)
    g, r, a = allocate(geoms, regions, cut_once(regions), threads=2)
    got = np.zeros((3, 3))
    np.add.at(got, (g, r), a)
    want = [[shapely.intersection(z, c).area for c in regions] for z in geoms]
    np.testing.assert_allclose(got[:, :2], want, rtol=1e-12, atol=1e-9)
    assert not got[:, 2].any()


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
    # each cell within 1e-9 of itself, or of the largest cell for slivers of a box's
    # corner cut by the disc (a 1.6e-9 ha cell, 0.16 cm², differed by 3.6e-16 ha: rounding)
    np.testing.assert_allclose(inside.loc[ref.index], ref, rtol=1e-9, atol=1e-12 * ref.max())
    # conservation: inside + outside = all zone area
    assert got["area_ha"].sum() == pytest.approx(zones.area.sum() / 1e4, rel=1e-9)
    # dissolved: the union of each crop's zones, split by commune
    dis = area_by_zone(zones, communes, by="crop", dissolve=True, crs=UTM,
                       max_vertices=max_vertices)
    for crop, g in zones.groupby("crop"):
        union = shapely.union_all(g.geometry.array)
        assert dis.loc[dis["crop"] == crop, "area_ha"].sum() == pytest.approx(
            union.area / 1e4, rel=1e-9)


def _dense_scene(seed):
    """Wiggly communes and dense, non-convex zones drawn over one another.

    Each base zone (a star, an L or a rectangle with a hole) is redrawn 0–4
    times: exactly, shifted a little, or enlarged over its neighbours, as
    hand-drawn linkage zones and one-layer-per-season models are.
    """
    rng = np.random.default_rng(seed)
    base = []
    for _ in range(60):
        cx, cy = X + rng.uniform(200, 5800), Y + rng.uniform(200, 5800)
        pick = rng.random()
        if pick < 0.4:
            k = rng.integers(5, 12)
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            r = rng.uniform(60, 300, k)
            base.append(shapely.make_valid(shapely.Polygon(np.column_stack(
                [cx + r * np.cos(ang), cy + r * np.sin(ang)]))))
        elif pick < 0.7:  # an L
            w, h = rng.uniform(100, 400, 2)
            base.append(box(cx, cy, cx + w, cy + h).difference(
                box(cx + w / 2, cy + h / 2, cx + w + 1, cy + h + 1)))
        else:  # a rectangle with a pond
            w, h = rng.uniform(100, 400, 2)
            base.append(box(cx, cy, cx + w, cy + h).difference(
                Point(cx + w / 2, cy + h / 2).buffer(min(w, h) / 4, quad_segs=4)))
    geoms, crops = [], []
    for g in base:
        crop = rng.choice(["rice", "lotus"], p=[0.8, 0.2])
        geoms.append(g)
        crops.append(crop)
        for _ in range(rng.integers(0, 5)):
            how = rng.random()
            c = g.centroid
            copy = g if how < 0.25 else shapely.affinity.scale(
                shapely.affinity.translate(g, *rng.uniform(-40, 40, 2)),
                *(rng.uniform(1.2, 1.8, 1).repeat(2) if how > 0.75 else (1, 1)), origin=c)
            geoms.append(copy)
            crops.append(crop if rng.random() < 0.9 else "lotus")
    zones = gpd.GeoDataFrame({"crop": crops}, geometry=geoms, crs=UTM)
    disc = Point(X + 3000, Y + 3000).buffer(2900, quad_segs=64)
    cells = [box(X + 2000 * i, Y + 2000 * j, X + 2000 * (i + 1), Y + 2000 * (j + 1))
             .intersection(disc) for i in range(3) for j in range(3)]
    communes = gpd.GeoDataFrame({"commune_id": [f"c{k}" for k in range(9)],
                                 "commune_name": [f"Xã {k}" for k in range(9)]},
                                geometry=cells, crs=UTM)
    return zones, communes


def _union_reference(zones, communes):
    """Independently: each crop's zones unioned by shapely, cut by each commune (ha)."""
    out = {}
    for crop, g in zones.groupby("crop"):
        union = shapely.union_all(g.geometry.array)
        for cid, cgeom in zip(communes["commune_id"], communes.geometry, strict=True):
            out[(cid, crop)] = union.intersection(cgeom).area / 1e4
    return pd.Series(out)


@pytest.mark.parametrize("seed", range(4))
def test_dense_overlaps_match_shapely_unions_per_cell(seed):
    zones, communes = _dense_scene(seed)
    dis = area_by_zone(zones, communes, by="crop", dissolve=True, crs=UTM, threads=2)
    raw = area_by_zone(zones, communes, by="crop", dissolve=False, crs=UTM)
    union = _union_reference(zones, communes)
    plain = _overlay_reference(zones, communes, ["crop"])
    key = ["commune_id", "crop"]
    got = dis.dropna(subset=["commune_id"]).set_index(key)
    got_raw = raw.dropna(subset=["commune_id"]).set_index(key)
    union, plain = union[union > 1e-9], plain[plain > 1e-9]
    assert sorted(got.index) == sorted(union.index)
    np.testing.assert_allclose(got.loc[union.index, "area_ha"], union, rtol=1e-9)
    # counted more than once = drawn area less the union, in both modes
    np.testing.assert_allclose(got_raw.loc[plain.index, "area_ha"], plain, rtol=1e-9)
    over = plain - union.reindex(plain.index, fill_value=0.0)
    np.testing.assert_allclose(got_raw.loc[plain.index, "overlap_ha"], over,
                               rtol=1e-9, atol=1e-9 * plain.max())
    np.testing.assert_allclose(got.loc[plain.index, "overlap_ha"], over,
                               rtol=1e-9, atol=1e-9 * plain.max())
    assert over.sum() > 0.2 * plain.sum()  # dense: a fifth and more drawn more than once
    # outside every commune too: the union's area outside the disc
    whole = sum(shapely.union_all(g.geometry.array).area for _, g in zones.groupby("crop"))
    assert dis["area_ha"].sum() == pytest.approx(whole / 1e4, rel=1e-9)


def test_inclusion_exclusion_and_geos_unions_agree():
    """The engine's two ways (sets of overlapping zones, GEOS unions of big clusters)."""
    from geoagri._engine.pieces import allocate, overlap_pairs
    from geoagri._engine.union import overlap_by_region

    zones, communes = _dense_scene(7)
    geoms = np.asarray(zones.geometry.array, dtype=object)
    codes = pd.factorize(zones["crop"])[0]
    regions = np.asarray(communes.geometry.array, dtype=object)
    pieces = cut_into_pieces(regions, max_vertices=16)
    i, j, a = overlap_pairs(geoms, codes)
    raw = allocate(geoms, regions, pieces)
    totals = []
    for max_terms in (0, 10_000):  # every cluster unioned by GEOS; none
        g, r, area = overlap_by_region(geoms, i, j, a, raw, regions, pieces, threads=2,
                                       max_terms=max_terms)
        totals.append(np.bincount(r * 2 + codes[g], weights=area, minlength=20))
    drawn = np.bincount(raw[1] * 2 + codes[raw[0]], weights=raw[2], minlength=20)
    assert totals[0].sum() > 0.2 * drawn.sum()
    np.testing.assert_allclose(totals[1], totals[0], rtol=1e-9, atol=1e-9 * drawn.max())


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
