"""Tests of geoagri.indicators on small hand-made plans and on the demo."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely import box

from geoagri.errors import NameMatchError
from geoagri.indicators import (
    ACTUALS_COLUMNS,
    INDICATORS,
    actuals,
    commune_of,
    linkage_zones,
    season_end_year,
)
from geoagri.plan import LayerSource, Plan
from geoagri.progress import progress

CRS = "EPSG:32648"  # UTM 48N: 1 km² = 100 ha
X0, Y0 = 600_000, 1_200_000


def km(x0, y0, x1, y1):
    return box(X0 + x0 * 1000, Y0 + y0 * 1000, X0 + x1 * 1000, Y0 + y1 * 1000)


def make_plan(**layers) -> Plan:
    communes = gpd.GeoDataFrame({
        "commune_id": ["001", "002"], "commune_name": ["Xã An", "Xã Bình"],
        "district": ["Huyện Mẫu", "Huyện Mẫu"],
        "geometry": [km(0, 0, 2, 2), km(2, 0, 4, 2)]}, crs=CRS)
    layers = {"communes": communes, **layers}
    kinds = {n: n for n in layers}
    sources = {n: LayerSource(n, kinds[n], Path(f"{n}.gpkg")) for n in layers}
    return Plan(name="test", layers=layers, sources=sources, root=Path("."),
                district="Huyện Mẫu", metric_crs=CRS)


def value(facts, indicator, scope_id, year, season=None):
    rows = facts[(facts["indicator"] == indicator) & (facts["scope_id"] == scope_id)
                 & (facts["year"] == year)]
    rows = rows[rows["season"].isna()] if season is None else rows[rows["season"] == season]
    assert len(rows) == 1, rows
    return float(rows["actual"].iloc[0])


def test_season_end_year():
    assert season_end_year("DX 2023-2024") == 2024
    assert season_end_year("TD 2024") == 2024
    with pytest.raises(ValueError, match="no year"):
        season_end_year("HT")


def test_linkage_area_counts_overlaps_once_and_follows_start_year():
    zones = gpd.GeoDataFrame({
        "zone_id": ["A", "B", "C", "P"],
        "zone_kind": ["linkage", "linkage", "linkage", "production"],
        "status": ["active", "active", "ended", "active"],
        "start_year": [2020, 2023, 2020, 2020],
        # A: 1 km² in 001; B overlaps A by 0.5 km² and crosses into 002 (1 km² there)
        "geometry": [km(0, 0, 1, 1), km(0.5, 0, 1, 1).union(km(2, 0, 3, 1)), km(0, 1, 2, 2),
                     km(0, 0, 4, 2)]}, crs=CRS)
    facts = actuals(make_plan(zones=zones), year=2023, since=2022)
    assert list(facts.columns) == list(ACTUALS_COLUMNS)
    assert value(facts, "linkage_area", "001", 2022) == pytest.approx(100.0)
    assert value(facts, "linkage_area", "001", 2023) == pytest.approx(100.0)  # overlap once
    assert value(facts, "linkage_area", "002", 2023) == pytest.approx(100.0)
    assert value(facts, "linkage_area", "Huyện Mẫu", 2022) == pytest.approx(100.0)
    assert value(facts, "linkage_area", "Huyện Mẫu", 2023) == pytest.approx(200.0)
    commune = facts[(facts["scope"] == "commune") & (facts["scope_id"] == "001")]
    assert commune["scope_name"].iloc[0] == "Xã An"


def test_same_named_districts_stay_apart_by_code():
    # two "Huyện Châu Thành" of the new Tây Ninh (708 and 808) and two "Xã Bình Hòa"
    communes = gpd.GeoDataFrame({
        "commune_id": ["A", "B"], "commune_name": ["Xã Bình Hòa", "Xã Bình Hòa"],
        "district": ["Huyện Châu Thành"] * 2, "district_code": ["708", "808"],
        "geometry": [km(0, 0, 2, 2), km(2, 0, 4, 2)]}, crs=CRS)
    zones = gpd.GeoDataFrame({"zone_id": ["z"], "zone_kind": ["linkage"],
                              "geometry": [km(1, 0, 4, 1)]}, crs=CRS)  # 100 ha in A, 200 in B
    plan = make_plan(zones=zones)
    plan = replace(plan, layers={**plan.layers, "communes": communes})
    facts = actuals(plan, year=2024)
    district = facts[facts["scope"] == "district"]
    assert sorted(zip(district["scope_id"], district["scope_name"], district["actual"].round(6),
                      strict=True)) == [("708", "Huyện Châu Thành", 100.0),
                                        ("808", "Huyện Châu Thành", 200.0)]
    assert value(facts, "linkage_area", "A", 2024) == pytest.approx(100.0)
    assert value(facts, "linkage_area", "B", 2024) == pytest.approx(200.0)
    # without the codes the name fits two districts of the province: an error naming both
    plan = replace(plan, layers={**plan.layers, "communes": communes.drop(columns="district_code")},
                   province="Tây Ninh", era="new")
    with pytest.raises(NameMatchError, match=r"(?s)708.*808"):
        actuals(plan, year=2024)


def test_linkage_zones_filter():
    zones = pd.DataFrame({"zone_id": list("abcd"), "zone_kind": ["linkage"] * 3 + ["area_code"],
                          "status": ["active", None, "planned", "active"],
                          "start_year": [2024, None, 2020, 2020]})
    assert linkage_zones(zones, year=2024)["zone_id"].tolist() == ["a", "b"]
    assert linkage_zones(zones, year=2023)["zone_id"].tolist() == ["b"]


def models_layer():
    return gpd.GeoDataFrame({
        "model_id": ["m1", "m2", "m3", "m4", "m5"],
        "season": ["DX 2023-2024", "HT 2024", "HT 2024", "HT 2024", "HT 2023"],
        "support": ["supported", "supported", "self", "supported", "supported"],
        "declared_area_ha": [400.0, 50.0, 50.0, None, 50.0],
        "commune_id": ["001", "001", None, "999", "002"],
        # m3 has no commune_id and lies in 002; m4's code is unknown, it lies in 002:
        # its measured area is 0.25 km² = 25 ha
        "geometry": [km(0, 0, 1, 1), km(0, 1, 1, 2), km(2, 0, 2.5, 1),
                     km(3, 0, 3.5, 0.5), km(2, 1, 3, 2)]}, crs=CRS)


def test_hightech_rice_area_by_season_end_year():
    facts = actuals(make_plan(models=models_layer()), year=2024, since=2023)
    d = "Huyện Mẫu"
    assert value(facts, "hightech_rice_area", d, 2024) == pytest.approx(525.0)
    assert value(facts, "hightech_rice_area", d, 2024, "DX 2023-2024") == 400.0
    assert value(facts, "hightech_rice_area", d, 2024, "HT 2024") == pytest.approx(125.0)
    assert value(facts, "hightech_rice_area_supported", d, 2024) == pytest.approx(475.0)
    assert value(facts, "hightech_rice_area_self", d, 2024) == 50.0
    assert value(facts, "hightech_rice_area", "002", 2024) == pytest.approx(75.0)
    assert value(facts, "models", d, 2024, "HT 2024") == 2.0
    assert value(facts, "models_self", d, 2024) == 1.0
    assert value(facts, "hightech_rice_area", d, 2023) == 50.0


def test_years_without_models_give_no_fact():
    facts = actuals(make_plan(models=models_layer()), year=2024, since=2021)
    years = set(facts.loc[facts["indicator"] == "hightech_rice_area", "year"])
    assert years == {2023, 2024}


def test_works_and_cooperatives_counts():
    pt = km(0.5, 0.5, 0.6, 0.6).centroid
    pt2 = km(2.5, 0.5, 2.6, 0.6).centroid
    works = gpd.GeoDataFrame({
        "work_id": ["w1", "w2", "w3", "w4", "w5"],
        "work_type": ["canal", "culvert", "power", "canal", "pump_station"],
        "status": ["completed", "completed", "completed", "designed", "completed"],
        "investor": ["province", "district", "enterprise", "district", "district"],
        "year": [2024, 2024, 2024, 2024, 2023],
        "geometry": [pt, pt2, pt, pt2, pt]}, crs=CRS)
    coops = gpd.GeoDataFrame({
        "coop_id": ["h1", "h2", "t1"], "name": ["HTX 1", "HTX 2", "THT 1"],
        "coop_type": ["htx", "htx", "tht"], "founded_year": [2024, 2023, 2024],
        "commune_id": ["001", "002", "002"], "geometry": [pt, pt2, pt2]}, crs=CRS)
    facts = actuals(make_plan(works=works, cooperatives=coops), year=2024)
    d = "Huyện Mẫu"
    assert value(facts, "works_completed", d, 2024) == 2.0
    assert value(facts, "works_completed", "002", 2024) == 1.0
    assert value(facts, "works_completed_province", d, 2024) == 1.0
    assert value(facts, "works_completed_district", d, 2024) == 1.0
    assert value(facts, "works_completed_commune", d, 2024) == 0.0
    assert value(facts, "power_works_completed", d, 2024) == 1.0
    assert value(facts, "cooperatives_founded", d, 2024) == 1.0
    assert value(facts, "cooperative_groups_founded", "002", 2024) == 1.0
    assert set(facts["unit"]) == {"count"}


def test_commune_of_prefers_known_code():
    plan = make_plan()
    pts = gpd.GeoDataFrame({"commune_id": ["002", None, "x"],
                            "geometry": [km(0, 0, 1, 1).centroid, km(2, 0, 3, 1).centroid,
                                         km(9, 9, 10, 10).centroid]}, crs=CRS)
    out = commune_of(pts, plan["communes"])
    assert out[:2].tolist() == ["002", "002"] and pd.isna(out[2])


def test_commune_of_by_representative_point_first_of_overlapping_communes():
    communes = gpd.GeoDataFrame({"commune_id": ["A", "B"]},
                                geometry=[km(0, 0, 2, 2), km(1, 0, 3, 2)], crs=CRS)
    # parcels given in lon/lat: in A alone, in both (A is first), in B alone, one
    # crossing A's western border (its point, 100 m inside, decides), one in no commune
    parcels = gpd.GeoDataFrame(geometry=[km(0.2, 0.2, 0.4, 0.4), km(1.2, 1.2, 1.8, 1.8),
                                         km(2.5, 0.5, 2.9, 0.9), km(-0.1, 0.5, 0.3, 0.7),
                                         km(4, 4, 5, 5)], crs=CRS).to_crs(4326)
    out = commune_of(parcels, communes)
    assert out[:4].tolist() == ["A", "A", "B", "A"] and pd.isna(out[4])
    assert str(out.dtype) == "string" and out.index.equals(parcels.index)
    flipped = commune_of(parcels, communes.iloc[::-1])
    assert flipped[:4].tolist() == ["A", "B", "B", "A"]


def test_missing_layers_and_bad_options():
    plan = make_plan()
    facts = actuals(plan, year=2024)
    assert facts.empty and list(facts.columns) == list(ACTUALS_COLUMNS)
    with pytest.raises(ValueError, match="since"):
        actuals(plan, year=2024, since=2025)
    with pytest.raises(ValueError, match="scopes"):
        actuals(plan, year=2024, scopes=("ward",))


def test_plan_unchanged():
    models = models_layer()
    before = models.copy()
    actuals(make_plan(models=models), year=2024)
    pd.testing.assert_frame_equal(models, before)


@pytest.fixture(scope="module")
def demo_plan():
    from geoagri.datasets import demo

    return demo()


def test_demo_targets_are_known_indicators(demo_plan):
    assert set(demo_plan["targets"]["indicator"]) <= set(INDICATORS)


def test_demo_actuals_reproduce_the_seed(demo_plan):
    facts = actuals(demo_plan, year=2024)
    d = "797"  # the official code of Huyện Vĩnh Hưng: districts are keyed by code
    district = facts[facts["scope"] == "district"]
    assert set(zip(district["scope_id"], district["scope_name"], strict=True)) == {
        ("797", "Huyện Vĩnh Hưng")}
    assert value(facts, "linkage_area", d, 2024) == pytest.approx(23865, abs=0.5)
    assert value(facts, "hightech_rice_area", d, 2024) == 1300.0       # 450 DX + 850 HT
    assert value(facts, "hightech_rice_area", d, 2024, "DX 2023-2024") == 450.0
    assert value(facts, "hightech_rice_area_supported", d, 2024, "HT 2024") == 600.0
    assert value(facts, "hightech_rice_area_self", d, 2024, "HT 2024") == 250.0
    assert value(facts, "models", d, 2024, "HT 2024") == 12.0
    communes = facts[(facts["scope"] == "commune") & (facts["indicator"] == "linkage_area")]
    assert communes["actual"].sum() == pytest.approx(23865, abs=0.5)
    assert len(communes) == 10


def test_demo_progress_has_no_unknown_indicator(demo_plan):
    facts = actuals(demo_plan, year=2024, since=2017)
    out = progress(facts, demo_plan["targets"], as_of=2024)
    assert not out["note"].str.contains("not computed").any()
    assert out["actual"].notna().all()
    assert out.loc[0, "achieved_pct"] == 112.4 and out.loc[1, "achieved_pct"] == 105.4
    assert out.loc[2, "achieved_pct"] == 96.2
    assert out.loc[out["indicator"] == "works_completed", "actual"].tolist() == [0.0]


def test_a_province_target_is_compared_with_the_province_figure():
    """Seed 004 sets targets for the whole province ("ít nhất 45 HTX"): a province fact."""
    from geoagri.datasets import demo
    from geoagri.progress import progress

    plan = demo()
    facts = actuals(plan, year=2024, indicators=["linkage_area"])
    province = facts[(facts["scope"] == "province") & (facts["indicator"] == "linkage_area")
                     & (facts["year"] == 2024)]
    communes = facts[(facts["scope"] == "commune") & (facts["indicator"] == "linkage_area")
                     & (facts["year"] == 2024)]
    assert len(province) == 1 and province["scope_name"].iloc[0] == "Tỉnh Long An"
    assert province["actual"].iloc[0] == pytest.approx(communes["actual"].sum(), rel=1e-12)
    targets = pd.DataFrame([{"indicator": "linkage_area", "unit": "ha", "scope": "province",
                             "scope_id": "Long An", "year": 2024, "source": "plan",
                             "target": 20000.0}])
    row = progress(facts, targets, as_of=2024).iloc[0]
    assert row["actual"] == pytest.approx(province["actual"].iloc[0])
    assert row["achieved_pct"] == pytest.approx(
        int(province["actual"].iloc[0] / 20000 * 1000) / 10)  # truncated, as the reports do
