"""Tests of geoagri.indicator_engine: every measure on small hand-made UTM layers
(1 km² = 100 ha), the seeds' own figures, plan-defined indicators and bad definitions."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from test_indicators import CRS, km  # UTM 48N: 1 km² = 100 ha

from geoagri.datasets.examples.thap_muoi import AREA_CODES, FARMER_CLUBS
from geoagri.errors import IndicatorError, PlanError
from geoagri.indicator_engine import (
    INDICATOR_COLUMNS,
    catalogue,
    check_indicators,
    compute_indicators,
    definition_problems,
    parse_indicator,
)
from geoagri.indicators import actuals
from geoagri.plan import LayerSource, Plan, check_plan, read_plan
from geoagri.progress import progress


def communes_layer():
    """Three 2 × 2 km communes (400 ha each): 001 and 002 in Huyện A, 003 in Huyện B."""
    return gpd.GeoDataFrame({
        "commune_id": ["001", "002", "003"], "commune_name": ["Xã An", "Xã Bình", "Xã Cát"],
        "district": ["Huyện A", "Huyện A", "Huyện B"],
        "geometry": [km(0, 0, 2, 2), km(2, 0, 4, 2), km(4, 0, 6, 2)]}, crs=CRS)


def make_plan(indicators=None, communes=None, **layers) -> Plan:
    layers = {"communes": communes_layer() if communes is None else communes, **layers}
    sources = {n: LayerSource(n, n, Path(f"{n}.gpkg")) for n in layers}
    return Plan(name="Kế hoạch thử", layers=layers, sources=sources, root=Path("."),
                province="Đồng Tháp", district="Huyện A", metric_crs=CRS,
                indicators=dict(indicators or {}))


def pick(table, indicator, level, unit_id, period="2024", categories=""):
    rows = table[(table["indicator"] == indicator) & (table["level"] == level)
                 & (table["unit_id"] == unit_id) & (table["period"] == period)
                 & (table["categories"] == categories)]
    assert len(rows) == 1, rows
    return float(rows["value"].iloc[0])


def whole(table, indicator, period="2024", categories=""):
    return pick(table, indicator, "plan", "Kế hoạch thử", period, categories)


def pt(x, y):
    return km(x, y, x, y).centroid


# --------------------------------------------------------------------------- area


def production_zones():
    return gpd.GeoDataFrame({
        "zone_id": ["z1", "z2", "z3", "z4", "z5"],
        "zone_kind": ["production"] * 5,
        "crop": ["rice", "rice", "lotus", "rice", "rice"],
        "start_year": [2020, 2021, 2022, 2030, 2020],
        # z2 overlaps z1 by 50 ha; z3 (lotus) overlaps z2 by 50 ha and spans 001/002;
        # z4 starts in 2030; z5 (50 ha) lies outside every commune
        "geometry": [km(0, 0, 1, 1), km(0.5, 0, 1.5, 1), km(1, 0, 3, 1), km(4, 0, 5, 1),
                     km(10, 10, 10.5, 11)]}, crs=CRS)


def test_area_counted_once_by_crop_commune_district_and_plan():
    t = compute_indicators(make_plan(zones=production_zones()), year=2024,
                           indicators=["production_area"])
    assert list(t.columns) == list(INDICATOR_COLUMNS)
    # 001: z1 ∪ z2 ∪ z3 = 0–2 km × 0–1 km = 200 ha; 002: 1 km² of z3
    assert pick(t, "production_area", "commune", "001") == pytest.approx(200.0)
    assert pick(t, "production_area", "commune", "002") == pytest.approx(100.0)
    assert pick(t, "production_area", "commune", "003") == 0.0  # z4 starts in 2030
    assert pick(t, "production_area", "district", "Huyện A") == pytest.approx(300.0)
    assert pick(t, "production_area", "district", "Huyện B") == 0.0
    assert whole(t, "production_area") == pytest.approx(350.0)  # + z5 outside the communes
    # the province by its official code (the plan's province: Đồng Tháp is 87)
    assert pick(t, "production_area", "province", "87") == pytest.approx(300.0)
    # by crop, each counted once within the crop: rice 150 + lotus 100 in 001
    assert pick(t, "production_area", "commune", "001",
                categories="crop=rice") == pytest.approx(150.0)
    assert pick(t, "production_area", "commune", "001",
                categories="crop=lotus") == pytest.approx(100.0)
    assert whole(t, "production_area", categories="crop=rice") == pytest.approx(200.0)
    assert whole(t, "production_area", categories="crop=lotus") == pytest.approx(200.0)
    # n_features: features counted in the unit by their commune
    assert int(t[(t["indicator"] == "production_area") & (t["level"] == "plan")
                 & (t["categories"] == "")]["n_features"].iloc[0]) == 4
    # z2 starts 2021: in 2020 only z1 and z5
    t20 = compute_indicators(make_plan(zones=production_zones()), year=2020,
                             indicators=["production_area"])
    assert whole(t20, "production_area", period="2020") == pytest.approx(150.0)


def test_seed_002_linkage_as_sown_area_over_the_seasons():
    """23.183,8 ha = 89,16% of 26.000 ha: DX 10.000 + HT 10.000 + TD 3.183,8 ha."""
    communes = gpd.GeoDataFrame({"commune_id": ["30001"], "commune_name": ["Xã Mỹ An"],
                                 "district": ["Huyện Tháp Mười"],
                                 "geometry": [km(0, 0, 20, 20)]}, crs=CRS)
    zones = gpd.GeoDataFrame({
        "zone_id": ["dx1", "dx2", "ht", "td", "old", "ended"],
        "zone_kind": ["linkage"] * 6,
        "season": ["DX 2023-2024", "DX 2023-2024", "HT 2024", "TD 2024", "HT 2023", "HT 2024"],
        "status": ["active", "active", None, "active", "active", "ended"],
        # dx2 lies inside dx1 (one field under two contracts): counted once in its season;
        # the same field sown again in HT counts again (sown area)
        "geometry": [km(0, 0, 10, 10), km(5, 0, 10, 10), km(0, 0, 10, 10),
                     km(10, 0, 13.1838, 10), km(0, 10, 10, 20), km(10, 10, 20, 20)]}, crs=CRS)
    plan = make_plan(zones=zones, communes=communes)
    t = compute_indicators(plan, year=2024, indicators=["linkage_sown_area"])
    assert whole(t, "linkage_sown_area") == pytest.approx(23183.8)
    assert whole(t, "linkage_sown_area", period="DX 2023-2024") == pytest.approx(10000.0)
    assert whole(t, "linkage_sown_area", period="TD 2024") == pytest.approx(3183.8)
    # "chiếm 20,07% diện tích xuống giống cả năm": the district's sown area from its
    # statistics office, one row for the district (no commune)
    stats = pd.DataFrame({"district": ["Huyện Tháp Mười", "Huyện Tháp Mười"],
                          "year": [2024, 2023], "sown_area_ha": [115_500.0, 110_000.0]})
    plan = make_plan(zones=zones, communes=communes, statistics=stats)
    share = compute_indicators(plan, year=2024, indicators=["linkage_share_of_sown_area"])
    assert whole(share, "linkage_share_of_sown_area") == pytest.approx(23183.8 / 1155)
    # the district by its official code (872), its row named as written
    assert pick(share, "linkage_share_of_sown_area", "district",
                "872") == pytest.approx(20.0725, abs=1e-4)  # printed 20,07%
    assert share[share["level"] == "commune"].empty  # the table says nothing of communes
    facts = actuals(plan, year=2024, indicators=["linkage_sown_area"])
    targets = pd.DataFrame({"indicator": ["linkage_sown_area"], "unit": ["ha"],
                            "scope": ["district"], "scope_id": ["Huyện Tháp Mười"],
                            "year": [2024], "source": ["plan"], "target": [26000.0]})
    out = progress(facts, targets, decimals=2)
    assert out.loc[0, "actual"] == pytest.approx(23183.8)
    assert out.loc[0, "achieved_pct"] == 89.16


def test_seed_003_harvest_value_per_ha_from_commune_statistics():
    """"giá trị sản phẩm thu hoạch bình quân/ha ... đạt 210 triệu đồng/ha"."""
    stats = pd.DataFrame({"commune_id": ["001", "002", "003"], "year": 2025,
                          "harvest_value_vnd": [84_000e6, 60_000e6, 10_000e6],
                          "farmland_area_ha": [400.0, 300.0, 100.0]})
    t = compute_indicators(make_plan(statistics=stats), year=2025,
                           indicators=["harvest_value_per_ha"])
    assert pick(t, "harvest_value_per_ha", "commune", "001", "2025") == pytest.approx(210.0)
    assert pick(t, "harvest_value_per_ha", "district", "Huyện A", "2025") == pytest.approx(
        144_000 / 700)
    assert whole(t, "harvest_value_per_ha", "2025") == pytest.approx(154_000 / 800)
    assert set(t["unit"]) == {"triệu đồng/ha"}


def test_seed_001_rice_land_converted_by_a_year():
    """"hơn 1.000 ha đất trồng lúa kém hiệu quả đã được chuyển đổi" (by 2023)."""
    parcels = gpd.GeoDataFrame({
        "parcel_id": ["p1", "p2", "p3", "p4"], "land_use": ["fruit", "fruit", "tea", "fruit"],
        "converted_from": ["rice", "rice", "rice", "maize"],
        "converted_year": [2021, 2023, 2024, 2022],
        # 600 ha + 420 ha of rice land converted by 2023; p3 in 2024; p4 was maize
        "geometry": [km(0, 0, 6, 1), km(0, 1, 4.2, 2), km(4.2, 1, 6, 2), km(0, 0, 1, 1)]},
        crs=CRS)
    t = compute_indicators(make_plan(parcels=parcels), year=2023,
                           indicators=["rice_converted_area"])
    assert whole(t, "rice_converted_area", "2023") == pytest.approx(1020.0)
    assert whole(t, "rice_converted_area", "2023", "land_use=fruit") == pytest.approx(1020.0)
    assert pick(t, "rice_converted_area", "district", "Huyện B", "2023") == pytest.approx(220.0)
    # a plan whose parcels do not record conversions: not computed, not a false 0
    bare = compute_indicators(make_plan(parcels=parcels.drop(columns=["converted_from"])),
                              year=2023, indicators=["rice_converted_area"])
    assert bare.empty
    assert "converted_from" in bare.attrs["not_computed"]["why"].iloc[0]


def test_the_demo_linkage_is_the_linkage_table_of_the_report():
    from geoagri.datasets import demo
    from geoagri.indicators import linkage_by_commune

    plan = demo()
    t = compute_indicators(plan, year=2024, indicators=["linkage_area"], levels=("commune",))
    table = linkage_by_commune(plan["zones"], plan["communes"], year=2024, crs=plan.metric_crs)
    mine = t.set_index("unit_id")["value"]
    theirs = table.dropna(subset=["commune_id"]).set_index("commune_id")["area_ha"]
    pd.testing.assert_series_equal(mine.sort_index(), theirs.sort_index(), check_names=False,
                                   check_index_type=False)
    assert round(float(mine.sum())) == 23865  # seed 000: "toàn huyện là 23.865ha"


def test_the_demo_gives_seed_000_figures_beyond_the_targets():
    """"tỉnh đầu tư xây dựng 8 công trình thủy lợi, tổng mức đầu tư 26.000 triệu đồng; huyện
    đầu tư xây dựng 23 công trình, tổng mức đầu tư 14.610 triệu đồng"; lũy kế 6.400 ha since
    2021 and 11.873 ha since 2017."""
    from geoagri.datasets import demo

    plan = demo()
    t = compute_indicators(plan, year=2024, levels=("plan",), indicators=[
        "works_planned", "works_investment", "hightech_rice_area_since_2021",
        "hightech_rice_area_since_2017", "model_yield"])
    v = t.set_index(["indicator", "categories", "period"])["value"]
    assert v[("works_planned", "investor=province", "2024")] == 8.0
    assert v[("works_planned", "investor=district", "2024")] == 23.0
    assert v[("works_investment", "investor=province", "2024")] == pytest.approx(26000)
    assert v[("works_investment", "investor=district", "2024")] == pytest.approx(14610)
    assert v[("hightech_rice_area_since_2021", "", "2024")] == pytest.approx(6400)
    assert v[("hightech_rice_area_since_2017", "", "2024")] == pytest.approx(11873)
    # the two DX models: 82 and 75 tạ/ha
    assert v[("model_yield", "", "DX 2023-2024")] == pytest.approx((82 + 75) / 2)


# --------------------------------------------------------------------------- counts and sums

def area_code_zones():
    """Seed 002: 06 HTX with area codes, 1.597,93 ha (5 rice 1.586,53 ha, 1 jackfruit 11,4 ha)."""
    return gpd.GeoDataFrame({
        "zone_id": [f"MS{i}" for i in range(6)],
        "zone_kind": ["area_code"] * 6,
        "crop": [crop for _, crop, _ in AREA_CODES],
        "cooperative": ["HTX Đốc Binh Kiều", "HTX Trường Phát", "HTX Mỹ An", "HTX Thắng Lợi",
                        "HTX Phú Điền", "HTX Thanh Mỹ"],
        "declared_area_ha": [ha for _, _, ha in AREA_CODES],  # the example plan's
        "geometry": [km(0, 0, 1, 1), km(1, 0, 2, 1), km(2, 0, 3, 1), km(3, 0, 4, 1),
                     km(4, 0, 5, 1), km(5, 1, 5.1, 1.1)]}, crs=CRS)


def test_seed_002_area_codes_declared_area_count_and_distinct_cooperatives():
    t = compute_indicators(make_plan(zones=area_code_zones()), year=2024,
                           indicators=["area_code_area", "area_codes", "area_code_cooperatives"])
    assert whole(t, "area_code_area") == pytest.approx(1597.93)
    assert whole(t, "area_code_area", categories="crop=rice") == pytest.approx(1586.53)
    assert whole(t, "area_code_area", categories="crop=jackfruit") == pytest.approx(11.4)
    assert whole(t, "area_codes", categories="crop=rice") == 5.0
    assert whole(t, "area_code_cooperatives") == 6.0
    assert pick(t, "area_code_area", "district", "Huyện B") == pytest.approx(
        AREA_CODES[4][2] + AREA_CODES[5][2])


def test_count_distinct_is_not_a_sum_of_communes():
    zones = area_code_zones()
    zones.loc[1, "cooperative"] = "HTX Đốc Binh Kiều"  # one HTX, two codes in 001
    zones.loc[2, "cooperative"] = "HTX Đốc Binh Kiều"  # and one in 002
    t = compute_indicators(make_plan(zones=zones), year=2024,
                           indicators=["area_code_cooperatives"])
    assert pick(t, "area_code_cooperatives", "commune", "001") == 1.0
    assert pick(t, "area_code_cooperatives", "commune", "002") == 2.0
    assert pick(t, "area_code_cooperatives", "district", "Huyện A") == 2.0  # not 3
    assert whole(t, "area_code_cooperatives") == 4.0  # not 5


def farmer_clubs():
    """Seed 002's footnote: 15 hội quán and their members (649), 6 of them new in 2023."""
    n = len(FARMER_CLUBS)
    return gpd.GeoDataFrame({
        "coop_id": [f"HQ{i}" for i in range(n)], "name": [c[0] for c in FARMER_CLUBS],
        "coop_type": ["hoi_quan"] * n, "members": [c[2] for c in FARMER_CLUBS],
        "founded_year": [2019] * 9 + [2023] * 6,
        "geometry": [pt(0.1 * i + 0.05, 0.5) for i in range(n)]}, crs=CRS)


def test_seed_002_farmer_clubs_and_members():
    t = compute_indicators(make_plan(cooperatives=farmer_clubs()), year=2023, since=2022,
                           indicators=["farmer_clubs", "farmer_club_members",
                                       "cooperatives_founded"])
    assert whole(t, "farmer_clubs", period="2023") == 15.0
    assert whole(t, "farmer_club_members", period="2023") == 649.0
    assert whole(t, "farmer_clubs", period="2022") == 9.0  # "tăng 06 Hội quán so với 2022"
    # the clubs are no HTX: 0 founded, a true 0 (the layer dates every cooperative)
    assert whole(t, "cooperatives_founded", period="2023") == 0.0


def test_sum_converts_the_column_unit():
    """Seed 000: province 8 works, 26.000 triệu đồng; district 23 works, 14.610 triệu đồng."""
    n_p, n_d = 8, 23
    works = gpd.GeoDataFrame({
        "work_id": [f"w{i}" for i in range(n_p + n_d)],
        "work_type": ["canal"] * (n_p + n_d),
        "status": ["planned"] * (n_p + n_d), "year": [2024] * (n_p + n_d),
        "investor": ["province"] * n_p + ["district"] * n_d,
        "cost_vnd": [26_000e6 / n_p] * n_p + [14_610e6 / n_d] * n_d,
        "geometry": [pt(0.5, 0.5)] * (n_p + n_d)}, crs=CRS)
    t = compute_indicators(make_plan(works=works), year=2024,
                           indicators=["works_investment", "works_planned"])
    assert whole(t, "works_investment", categories="investor=province") == pytest.approx(26000)
    assert whole(t, "works_investment", categories="investor=district") == pytest.approx(14610)
    assert set(t.loc[t["indicator"] == "works_investment", "unit"]) == {"triệu đồng"}
    assert whole(t, "works_planned", categories="investor=district") == 23.0


def test_mean_by_season():
    """Seed 000: the DX 400 ha model yields 82 tạ/ha, the 50 ha model 75 tạ/ha."""
    models = gpd.GeoDataFrame({
        "model_id": ["m1", "m2", "m3"], "season": ["DX 2023-2024", "DX 2023-2024", "HT 2024"],
        "support": ["supported"] * 3, "declared_area_ha": [400.0, 50.0, 50.0],
        "yield_t_ha": [8.2, 7.5, None], "commune_id": ["001", "002", "002"],
        "geometry": [km(0, 0, 1, 1), km(2, 0, 3, 1), km(2, 1, 3, 2)]}, crs=CRS)
    t = compute_indicators(make_plan(models=models), year=2024, indicators=["model_yield"])
    assert pick(t, "model_yield", "commune", "001", "DX 2023-2024") == pytest.approx(82.0)
    assert whole(t, "model_yield", "DX 2023-2024") == pytest.approx(78.5)
    # a mean of nothing is no figure, not 0
    assert t[(t["period"] == "HT 2024")].empty


# --------------------------------------------------------------------------- thresholds, ratios

def holdings():
    """Seed 003: 05 households with ≥ 3 ha; h6 has 2,9 ha; h1 spans two communes."""
    rows = [("h1", "001", 2.0), ("h1", "002", 1.5), ("h2", "001", 3.0), ("h3", "002", 1.0),
            ("h3", "002", 2.0), ("h4", "003", 4.0), ("h5", "003", 3.0), ("h6", "003", 2.9)]
    return gpd.GeoDataFrame({
        "parcel_id": [f"p{i}" for i in range(len(rows))],
        "holder_id": [r[0] for r in rows], "commune_id": [r[1] for r in rows],
        "declared_area_ha": [r[2] for r in rows],
        "geometry": [km(0.1 * i, 1.5, 0.1 * i + 0.05, 1.55) for i in range(len(rows))]},
        crs=CRS)


def test_seed_003_households_with_at_least_3_ha():
    own = {"holders_30000_m2": {"source": "parcels", "measure": "threshold",
                                "group_by": "holder_id", "of": "feature_area",
                                "at_least": "30000 m²"}}
    t = compute_indicators(make_plan(own, parcels=holdings()), year=2023,
                           indicators=["consolidated_holders", "holders_30000_m2"])
    assert whole(t, "consolidated_holders", "2023") == 5.0
    assert whole(t, "holders_30000_m2", "2023") == 5.0  # the same threshold in m²
    assert pick(t, "consolidated_holders", "commune", "001", "2023") == 2.0  # h1 (2 of 3.5), h2
    assert pick(t, "consolidated_holders", "commune", "002", "2023") == 1.0  # h3, not h1
    assert pick(t, "consolidated_holders", "district", "Huyện B", "2023") == 2.0  # not h6


def cooperatives_004():
    """Seed 004: 10 HTX, 3 linked with an enterprise; value chain and high tech by district."""
    n = 10
    communes = ["001", "001", "002", "002", "002", "001", "003", "003", "003", "003"]
    return gpd.GeoDataFrame({
        "coop_id": [f"HTX{i}" for i in range(n)], "name": [f"HTX {i}" for i in range(n)],
        "coop_type": ["htx"] * n,
        "partner": ["Công ty Lộc Trời", None, "Công ty Vinaseed", None, None, None,
                    "Công ty Lộc Trời", None, None, None],
        "value_chain": [True, True, True, False, False, False, True, True, False, False],
        "high_tech": [True, False, True, False, False, False, True, True, False, False],
        "founded_year": [2020] * 8 + [2024, 2024], "commune_id": communes,
        "geometry": [pt(0.5, 0.5)] * n}, crs=CRS)


def test_seed_004_share_linked_with_enterprises_and_districts_meeting():
    t = compute_indicators(make_plan(cooperatives=cooperatives_004()), year=2024,
                           indicators=["cooperatives_with_partner_pct",
                                       "districts_with_3_value_chain_cooperatives",
                                       "districts_with_2_hightech_cooperatives",
                                       "cooperatives_founded"])
    assert whole(t, "cooperatives_with_partner_pct") == pytest.approx(30.0)
    assert pick(t, "cooperatives_with_partner_pct", "district", "Huyện A") == pytest.approx(
        200 / 6)
    assert set(t.loc[t["indicator"] == "cooperatives_with_partner_pct", "unit"]) == {"%"}
    # Huyện A has 3 value-chain HTX, Huyện B 2: one district meets "≥ 03"
    assert pick(t, "districts_with_3_value_chain_cooperatives", "district", "Huyện A") == 1.0
    assert pick(t, "districts_with_3_value_chain_cooperatives", "district", "Huyện B") == 0.0
    assert whole(t, "districts_with_3_value_chain_cooperatives") == 1.0
    assert whole(t, "districts_with_2_hightech_cooperatives") == 2.0
    # and per province: both districts lie in the plan's Đồng Tháp (87)
    assert pick(t, "districts_with_3_value_chain_cooperatives", "province", "87") == 1.0
    assert pick(t, "districts_with_2_hightech_cooperatives", "province", "87") == 2.0
    assert whole(t, "cooperatives_founded") == 2.0  # "thành lập mới" in 2024


def test_ratio_with_a_zero_denominator():
    coops = cooperatives_004()
    coops = coops[coops["commune_id"] != "003"]  # Huyện B has no HTX
    t = compute_indicators(make_plan(cooperatives=coops), year=2024,
                           indicators=["cooperatives_with_partner_pct"])
    assert pd.isna(pick(t, "cooperatives_with_partner_pct", "district", "Huyện B"))
    assert whole(t, "cooperatives_with_partner_pct") == pytest.approx(200 / 6)
    none = compute_indicators(make_plan(cooperatives=coops.iloc[:0]), year=2024,
                              indicators=["cooperatives_with_partner_pct"])
    why = none.attrs["not_computed"].set_index("indicator")["why"]
    assert "0 or missing in every unit" in why["cooperatives_with_partner_pct"]


def test_cumulative_since_a_year():
    models = gpd.GeoDataFrame({
        "model_id": ["a", "b", "c"], "season": ["HT 2021", "DX 2022-2023", "HT 2024"],
        "support": ["supported"] * 3, "declared_area_ha": [1500.0, 1700.0, 1300.0],
        "commune_id": ["001"] * 3, "geometry": [km(0, 0, 1, 1)] * 3}, crs=CRS)
    t = compute_indicators(make_plan(models=models), year=2024, since=2023,
                           indicators=["hightech_rice_area_since_2021", "hightech_rice_area"])
    assert whole(t, "hightech_rice_area_since_2021") == pytest.approx(4500.0)
    assert whole(t, "hightech_rice_area_since_2021", "2023") == pytest.approx(3200.0)
    assert set(t["year"]) == {2023, 2024}  # the years before since are read, not shown


# --------------------------------------------------------------------------- plan-defined, errors

def test_plan_defined_indicator_with_a_vietnamese_filter():
    coops = cooperatives_004().assign(rating=["tốt", "khá", "trung bình", "tốt", "yếu",
                                              "khá", "tốt", "yếu", "khá", "tốt"])
    own = {"good_cooperatives": {"source": "cooperatives", "measure": "count",
                                 "where": {"coop_type": "hợp tác xã", "rating": ["tốt", "khá"]},
                                 "counts": "HTX"},
           "good_pct": {"measure": "ratio", "numerator": "good_cooperatives",
                        "denominator": "cooperatives", "factor": 100}}
    t = compute_indicators(make_plan(own, cooperatives=coops), year=2024,
                           indicators=["good_cooperatives", "good_pct"])
    assert whole(t, "good_cooperatives") == 7.0
    assert whole(t, "good_pct") == pytest.approx(70.0)  # "80% HTX NN hoạt động hiệu quả"


def test_one_bad_indicator_does_not_stop_the_others():
    own = {"bad_column": {"source": "cooperatives", "measure": "count",
                          "where": {"grade": "A"}},
           "bad_measure": {"source": "cooperatives", "measure": "tally"},
           "bad_ratio": {"measure": "ratio", "numerator": "cooperatives",
                         "denominator": "nowhere", "factor": 100},
           "loop_a": {"measure": "cumulative", "of": "loop_b", "since": 2020},
           "loop_b": {"measure": "cumulative", "of": "loop_a", "since": 2020}}
    plan = make_plan(own, cooperatives=cooperatives_004())
    t = compute_indicators(plan, year=2024, indicators=[*own, "cooperatives", "nothing"])
    assert whole(t, "cooperatives") == 10.0
    why = t.attrs["not_computed"].set_index("indicator")["why"]
    assert set(why.index) == {"bad_column", "bad_measure", "bad_ratio", "loop_a", "loop_b",
                              "nothing"}
    assert "'tally' is not a measure" in why["bad_measure"]
    assert "'grade'" in why["bad_column"] and "rename" in why["bad_column"]
    assert "'nowhere'" in why["bad_ratio"] and "not defined" in why["bad_ratio"]
    assert "depends on itself" in why["loop_a"]
    errors = check_indicators(plan, indicators=list(own))
    assert set(errors) == set(own)
    assert isinstance(errors["bad_column"], IndicatorError)
    assert "bad_column" in str(errors["bad_column"]) and "grade" in str(errors["bad_column"])


@pytest.mark.parametrize(("table", "words"), [
    ({"measure": "volume", "source": "zones"}, ["'volume'", "area, sown_area"]),
    ({"measure": "count"}, ["needs source"]),
    ({"measure": "count", "source": "farms"}, ["'farms'", "zones"]),
    ({"measure": "threshold", "source": "parcels", "group_by": "holder_id",
      "of": "feature_area", "at_least": 3}, ["at_least = 3", "its unit"]),
    ({"measure": "count", "source": "zones", "where": {"start_year": "<= someday"}},
     ["<= someday", "'year'"]),
    ({"measure": "sum", "source": "cooperatives", "column": "members"}, ["unit = "]),
    ({"measure": "count", "source": "zones", "colour": "red"}, ["'colour'"]),
])
def test_malformed_definitions_name_the_indicator_and_the_fix(table, words):
    with pytest.raises(IndicatorError) as err:
        parse_indicator("mine", table)
    assert "'mine'" in str(err.value)
    for w in words:
        assert w in str(err.value)


def test_catalogue_is_complete_and_documented():
    cat = catalogue()
    assert len(cat) >= 40
    docs = (Path(__file__).parents[1] / "docs" / "indicators.md").read_text(encoding="utf-8")
    for name in cat:
        assert f"`{name}`" in docs, f"{name} is not in docs/indicators.md"
    blocks = re.findall(r"```toml\n(.*?)```", docs, re.S)
    assert len(blocks) >= 2
    for block in blocks:  # the examples are plan.toml tables that parse
        assert definition_problems(tomllib.loads(block).get("indicators", {})) == []


# --------------------------------------------------------------------------- plan.toml

def write_plan(tmp_path, indicators: str) -> Path:
    communes_layer().to_crs(4326).to_file(tmp_path / "communes.geojson", driver="GeoJSON")
    c = cooperatives_004().to_crs(4326)
    pd.DataFrame({"coop_id": c["coop_id"], "name": c["name"], "coop_type": "hợp tác xã",
                  "xep_loai": ["tốt", "khá", "yếu"] * 3 + ["tốt"],
                  "commune_id": c["commune_id"], "lon": c.geometry.x, "lat": c.geometry.y,
                  }).to_csv(tmp_path / "htx.csv", index=False)
    (tmp_path / "plan.toml").write_text(f'''
[plan]
name = "An Giang thử"
province = "An Giang"
metric_crs = "{CRS}"

[layers.communes]
kind = "communes"
path = "communes.geojson"

[layers.htx]
kind = "cooperatives"
path = "htx.csv"

{indicators}
''', encoding="utf-8")
    return tmp_path / "plan.toml"


def test_indicators_defined_in_plan_toml(tmp_path):
    path = write_plan(tmp_path, '''
[indicators.good_cooperatives]
label_vi = "HTX xếp loại tốt, khá"
source = "cooperatives"
measure = "count"
counts = "HTX"
where = { coop_type = "htx", xep_loai = ["tốt", "khá"] }
''')
    plan = read_plan(path)
    assert check_plan(path) == {}
    t = compute_indicators(plan, year=2024, indicators=["good_cooperatives", "cooperatives"])
    assert pick(t, "good_cooperatives", "plan", "An Giang thử") == 7.0
    assert pick(t, "cooperatives", "plan", "An Giang thử") == 10.0


def test_plan_toml_errors(tmp_path):
    path = write_plan(tmp_path, '''
[indicators.typo]
source = "cooperatives"
measure = "count"
where = { xep_loai_htx = "tốt" }
''')
    errors = check_plan(path)
    assert list(errors) == ["indicators.typo"]
    assert "xep_loai_htx" in str(errors["indicators.typo"])
    assert "xep_loai" in str(errors["indicators.typo"])  # the columns it could have meant
    path = write_plan(tmp_path, '''
[indicators.typo]
source = "cooperatives"
measure = "counting"
''')
    with pytest.raises(PlanError, match=r"indicator 'typo': measure = 'counting'"):
        read_plan(path)
    path = write_plan(tmp_path, '''
[indicators.cooperatives]
source = "cooperatives"
measure = "count"
where = { xep_loai = "tốt" }
''')
    with pytest.raises(PlanError, match=r"'cooperatives' is built in.*cooperatives_plan"):
        read_plan(path)


def test_progress_says_why_an_indicator_was_not_computed():
    coops = cooperatives_004().drop(columns=["partner"])
    plan = make_plan(cooperatives=coops)
    targets = pd.DataFrame({"indicator": ["cooperatives_with_partner_pct", "cooperatives"],
                            "unit": ["%", "HTX"], "scope": "district", "scope_id": "Huyện A",
                            "year": 2024, "source": "plan", "target": [30.0, 6.0]})
    out = progress(actuals(plan, year=2024), targets)
    assert "no column 'partner'" in out.loc[0, "note"]
    assert out.loc[1, "actual"] == 6.0 and out.loc[1, "achieved_pct"] == 100.0


def test_check_names_targets_of_unknown_indicators(tmp_path):
    path = write_plan(tmp_path, '''
[layers.targets]
kind = "targets"
path = "chi_tieu.csv"

[indicators.good_cooperatives]
source = "cooperatives"
measure = "count"
where = { xep_loai = ["tốt", "khá"] }
''')
    (tmp_path / "chi_tieu.csv").write_text(
        "indicator,unit,scope,scope_id,year,source,target\n"
        "cooperatives_founded,HTX,tỉnh,An Giang,2024,KH,45\n"
        "good_cooperatives,HTX,tỉnh,An Giang,2024,KH,8\n"
        "htx_new,HTX,tỉnh,An Giang,2024,KH,27\n", encoding="utf-8")
    errors = check_plan(path)
    assert list(errors) == ["targets"]
    assert "'htx_new' (row 2)" in str(errors["targets"])
    assert "[indicators.NAME]" in str(errors["targets"])


def test_threshold_by_season_and_over_the_year():
    """A holder sowing 2 ha in DX and 2 ha in HT reaches 3 ha over the year, in no season."""
    parcels = holdings().iloc[:4].assign(
        season=["DX 2023-2024", "HT 2024", "HT 2024", "DX 2023-2024"],
        holder_id=["h1", "h1", "h2", "h2"], declared_area_ha=[2.0, 2.0, 3.5, 1.0])
    own = {"big_sowers": {"source": "parcels", "measure": "threshold", "group_by": "holder_id",
                          "of": "feature_area", "at_least": "3 ha", "period": "season"}}
    t = compute_indicators(make_plan(own, parcels=parcels), year=2024, indicators=["big_sowers"])
    assert whole(t, "big_sowers", "HT 2024") == 1.0  # h2's 3.5 ha
    assert whole(t, "big_sowers", "DX 2023-2024") == 0.0
    assert whole(t, "big_sowers", "2024") == 2.0  # h1 4 ha, h2 4.5 ha: each once


def test_threshold_by_category_counts_each_group_in_its_category():
    """h1 holds 2 ha of rice and 2 ha of lotus (4 ha in all), h2 3.5 ha of rice: by crop only
    h2's rice reaches 3 ha; over every crop both holders do."""
    parcels = holdings().iloc[:4].assign(
        crop=["rice", "lotus", "rice", "rice"], holder_id=["h1", "h1", "h2", "h2"],
        declared_area_ha=[2.0, 2.0, 2.5, 1.0])
    own = {"big_holders": {"source": "parcels", "measure": "threshold", "group_by": "holder_id",
                           "of": "feature_area", "at_least": "3 ha", "by": ["crop"]}}
    t = compute_indicators(make_plan(own, parcels=parcels), year=2024, indicators=["big_holders"])
    assert whole(t, "big_holders") == 2.0
    assert whole(t, "big_holders", categories="crop=rice") == 1.0
    assert whole(t, "big_holders", categories="crop=lotus") == 0.0
    assert (t["n_features"][(t["level"] == "plan") & (t["categories"] == "crop=rice")]
            == 3).all()  # h1's and h2's rice parcels


def test_one_bad_indicator_is_reported_and_the_others_computed():
    """A plan's own indicator that cannot be computed (no statistics layer) is listed in the
    report's notes with why; the plan's other own indicator is computed and compared."""
    from geoagri.report import build_report_data

    own = {"htx_total": {"source": "cooperatives", "measure": "count", "counts": "HTX",
                         "where": {"coop_type": "htx"}},
           "sown_per_htx": {"source": "statistics", "measure": "sum",
                            "column": "sown_area_ha", "unit": "ha"}}
    coops = cooperatives_004()
    targets = pd.DataFrame({"indicator": ["htx_total"], "unit": ["HTX"],
                            "scope": "district", "scope_id": "Huyện A", "year": 2024,
                            "source": "plan", "target": [8.0]})
    plan = make_plan(own, cooperatives=coops, targets=targets)
    data = build_report_data(plan, year=2024, proposals=False)
    row = data.progress.iloc[0]
    expected = float(((coops["coop_type"] == "htx")
                      & coops["commune_id"].isin(["001", "002"])).sum())  # Huyện A's
    assert row["actual"] == expected == 6
    assert row["achieved_pct"] == pytest.approx(expected / 8 * 100, abs=0.1)
    [note] = [n for n in data.notes if n.startswith("sown_per_htx")]
    assert "not computed" in note and "statistics" in note
