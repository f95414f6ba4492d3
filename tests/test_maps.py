"""Tests of geoagri.maps: layers, legend, numbers, offline HTML, simplification,
and the offline demo map opened in a real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from geoagri.area import area_by_zone
from geoagri.datasets import demo
from geoagri.errors import SchemaError
from geoagri.maps import (
    COVERAGE_COLORS,
    GAP_COLORS,
    MapResults,
    display_geometry,
    format_area_ha,
    format_money,
    format_number,
    format_pct,
    layer_map,
    layer_names,
    map_layer,
    plan_map,
    visible_layer_names,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"

X, Y = 500_000, 1_200_000  # UTM 48N: 1 km² = 100 ha

EXPECTED_VI = [
    "Xã: tỷ lệ diện tích liên kết (%)", "Liên kết sản xuất – lúa", "Công trình thủy lợi",
    "Điện 3 pha", "Điện 1 pha và khác", "Trạm bơm", "Mô hình HT 2024",
    "Vùng phục vụ trạm bơm (bán kính 1.000 m)", "Thửa đất",
]


@pytest.fixture(scope="module")
def plan():
    return demo()


@pytest.fixture(scope="module")
def results():
    crs = "EPSG:32648"
    return MapResults(
        gaps=gpd.GeoDataFrame({"gap_id": ["G1"], "area_ha": [12.5], "reason": ["no power"]},
                              geometry=[box(X, Y, X + 500, Y + 250)], crs=crs),
        sites=gpd.GeoDataFrame({"site_id": ["S1"], "served_area_ha": [80.0]},
                               geometry=[Point(X + 250, Y + 100)], crs=crs),
        lines=gpd.GeoDataFrame({"line_id": ["L1"], "length_km": [1.25]},
                               geometry=[LineString([(X, Y), (X + 1250, Y)])], crs=crs),
        service_radius_m=1500,
    )


@pytest.fixture(scope="module")
def offline_html(plan, tmp_path_factory):
    pytest.importorskip("offlinefolium", reason="offline maps need folium-offline "
                        "(pip install geoagri[offline])")
    path = tmp_path_factory.mktemp("map") / "demo_offline.html"
    plan_map(plan, offline=True).save(path)
    return path


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("value", "language", "decimals", "expected"), [
    (23865.3, "vi", 0, "23.865"), (23865.3, "en", 0, "23,865"),
    (112.43, "vi", 1, "112,4"), (112.43, "en", 1, "112.4"),
    (1234567.891, "vi", 2, "1.234.567,89"), (1234567.891, "en", 2, "1,234,567.89"),
    (-0.04, "vi", 1, "0,0"), (None, "vi", 0, "–"), (float("nan"), "en", 1, "–"),
])
def test_format_number(value, language, decimals, expected):
    assert format_number(value, language=language, decimals=decimals) == expected


def test_format_area_and_pct():
    assert format_area_ha(23865.0) == "23.865 ha"
    assert format_area_ha(23865.0, language="en") == "23,865 ha"
    assert format_pct(112.4) == "112,4%"
    assert format_pct(112.4, language="en") == "112.4%"


def test_unknown_language_raises():
    with pytest.raises(SchemaError, match="language='fr'"):
        format_number(1.0, language="fr")


# ----------------------------------------------------------------------------- layers


def test_layer_names_vi(plan):
    names = layer_names(plan_map(plan))
    for name in EXPECTED_VI:
        assert name in names
    assert len(names) == len(set(names))


def test_layer_names_en_with_results(plan, results):
    names = layer_names(plan_map(plan, results, language="en"))
    for name in ["Communes: linkage coverage (%)", "Irrigation works", "Three-phase power",
                 "Pump stations", "Pump service areas (radius 1,500 m)",
                 "Infrastructure gaps", "Proposed pump stations",
                 "Proposed three-phase lines"]:
        assert name in names


def test_results_as_dict_and_errors(plan):
    m = plan_map(plan, {"service_radius_m": 500.0}, language="en")
    assert "Pump service areas (radius 500 m)" in layer_names(m)
    with pytest.raises(SchemaError, match="unknown key"):
        plan_map(plan, {"proposals": None})


def _spec(m):
    """The layer control's specification: groups of layers with their legends."""
    panel = next(c for c in m._children.values() if type(c).__name__ == "_Panel")
    return json.loads(panel.spec)


def test_legend_and_controls_in_html(plan):
    m = plan_map(plan)
    html = m.get_root().render()
    spec = _spec(m)
    groups = {g["key"]: g for g in spec["groups"]}
    assert list(groups) == ["base", "communes", "zones", "models", "water", "power"]
    coverage = groups["communes"]["layers"][0]
    assert coverage["title"] == "Tỷ lệ diện tích liên kết theo xã"
    # five classes of the YlGn palette, written 44,7% – 51,1%
    assert [c for c, _, _ in coverage["legend"]] == list(COVERAGE_COLORS)
    assert all(re.fullmatch(r"\d+,\d% – \d+,\d%", label) for _, label, _ in coverage["legend"])
    works = next(e for e in groups["water"]["layers"] if e["label"] == "Công trình thủy lợi")
    assert [label for _, label, _ in works["legend"]] == [
        "Chưa triển khai", "Đã khảo sát", "Đã thiết kế, lập báo cáo KTKT", "Đang thi công",
        "Hoàn thành"]
    # popups formatted in Vietnamese: 1.234 ha and 56,7%
    assert re.search(r'"\d{1,3}(\.\d{3})+ ha"', html)
    assert re.search(r'"\d+,\d%"', html)
    # controls: a metric scale bar only, no Leaflet layer list
    for control in ("L.control.fullscreen", "L.Control.Measure", "L.control.scale"):
        assert control in html
    assert "imperial: false" in html and "L.control.layers" not in html
    # title, year, date and source
    assert spec["title"].startswith("Bản đồ liên kết sản xuất và hạ tầng")
    assert "Năm 2024" in spec["subtitle"] and "Lập ngày" in spec["subtitle"]
    assert spec["source"] == f"Nguồn: {plan.name}"


@pytest.fixture(scope="module")
def computed(plan):
    """The demo's results, as ``geoagri demo`` computes and maps them."""
    from geoagri.results import compute

    return compute(plan, curve_steps=0)


@pytest.fixture(scope="module")
def infra(computed):
    return computed.map_results()


def _layer(m, name):
    return next(c for c in m._children.values() if getattr(c, "layer_name", None) == name)


def _popup_rows(layer):
    """Each feature's popup as {label: shown value}."""
    popup = next(c for c in layer._children.values() if isinstance(c, folium.GeoJsonPopup))
    keys, aliases = popup.fields, popup.aliases
    return [dict(zip(aliases, (f["properties"][k] for k in keys), strict=True))
            for f in layer.data["features"]]


def test_default_view_answers_the_question(plan, infra):
    """On at load: the choropleth, gaps, pumps, power; every other layer off."""
    m = plan_map(plan, infra)
    assert visible_layer_names(m) == [
        "Xã: tỷ lệ diện tích liên kết (%)", "Trạm bơm", "Điện 3 pha", "Điện 1 pha và khác",
        "Vùng thiếu hạ tầng"]
    assert len(layer_names(m)) > 25  # the rest is there, one click away
    # panes: points above lines above gaps above areas above communes
    panes = {c.get_name(): c for c in m._children.values()
             if isinstance(c, folium.map.CustomPane)}
    z = {c.name: c.z_index for c in panes.values()}
    assert z["geoagri-points"] > z["geoagri-lines"] > z["geoagri-gaps"] > z["geoagri-areas"] \
        > z["geoagri-communes"]
    pane = {name: _layer(m, name).options.get("pane") for name in layer_names(m)}
    assert pane["Trạm bơm"] == "geoagri-points"
    assert pane["Vùng thiếu hạ tầng"] == "geoagri-gaps"
    assert _layer(m, "Trạm bơm").marker.options["pane"] == "geoagri-points"
    # the service areas take no click and have no popup
    service = _layer(m, "Vùng phục vụ trạm bơm (bán kính 1.000 m)")
    assert service.options["interactive"] is False
    assert not any(isinstance(c, folium.GeoJsonPopup) for c in service._children.values())
    # every layer has a legend entry
    spec = _spec(m)
    entries = [e for g in spec["groups"] for e in g["layers"]]
    assert len(entries) == len(layer_names(m))
    assert all(e["legend"] for e in entries)


@pytest.mark.parametrize(("language", "label", "shown"), [
    ("vi", "Hạ tầng còn thiếu", {"pump": "Trạm bơm", "power": "Điện 3 pha",
                                 "both": "Trạm bơm và điện 3 pha"}),
    ("en", "Missing", {"pump": "Pump service", "power": "Three-phase power",
                       "both": "Pump service and three-phase power"}),
])
def test_gap_popups_say_what_is_missing(plan, infra, language, label, shown):
    m = plan_map(plan, infra, language=language)
    name = "Vùng thiếu hạ tầng" if language == "vi" else "Infrastructure gaps"
    gaps = infra.gaps[~(infra.gaps.geometry.isna() | infra.gaps.geometry.is_empty)]
    drawn = gaps[gaps["area_ha"] >= 0.1]
    # the review counted 41 slivers under 0,1 ha among the demo's 81 gaps
    assert (len(gaps), len(gaps) - len(drawn)) == (81, 41)
    rows = _popup_rows(_layer(m, name))
    assert len(rows) == len(drawn)
    assert [r[label] for r in rows] == [shown[v] for v in drawn["missing"]]
    area = "Diện tích" if language == "vi" else "Area"
    assert [r[area] for r in rows] == [format_area_ha(v, language=language, decimals=1)
                                       for v in drawn["area_ha"]]
    # the parent zone's declared area is not shown as if it were the gap's
    assert all(("Diện tích khai báo" if language == "vi" else "Declared area") not in r
               for r in rows)
    entry = next(e for g in _spec(m)["groups"] for e in g["layers"] if e["label"] == name)
    assert [lab for _, lab, _ in entry["legend"]] == [shown[v] for v in ("pump", "power", "both")]
    assert entry["note"] == ("41 vùng thiếu nhỏ hơn 0,1 ha không vẽ trên bản đồ."
                             if language == "vi" else "41 gaps smaller than 0.1 ha are not drawn.")
    # each gap hatched and outlined in the colour of what is missing
    styles = [f["properties"]["style"] for f in _layer(m, name).data["features"]]
    assert [s["color"] for s in styles] == [GAP_COLORS[v] for v in drawn["missing"]]
    assert [s["fillColor"] for s in styles] == [f"url(#geoagri-hatch-{v})"
                                                for v in drawn["missing"]]


def test_slivers_are_dropped_and_counted(plan):
    """A 25 m × 20 m gap (0,05 ha) is left off; a 500 m × 250 m one (12,5 ha) is drawn."""
    crs = "EPSG:32648"
    gaps = gpd.GeoDataFrame({"missing": ["power", "pump"]},
                            geometry=[box(X, Y, X + 500, Y + 250), box(X, Y, X + 25, Y + 20)],
                            crs=crs)
    gaps["area_ha"] = gaps.area / 1e4
    m = plan_map(plan, {"gaps": gaps}, language="en")
    rows = _popup_rows(_layer(m, "Infrastructure gaps"))
    assert [r["Area"] for r in rows] == ["12.5 ha"]
    entry = next(e for g in _spec(m)["groups"] for e in g["layers"]
                 if e["label"] == "Infrastructure gaps")
    assert entry["note"] == "1 gaps smaller than 0.1 ha are not drawn."
    m = plan_map(plan, {"gaps": gaps}, language="en", min_gap_ha=0)
    assert len(_popup_rows(_layer(m, "Infrastructure gaps"))) == 2


@pytest.mark.parametrize(("language", "label"), [("vi", "Diện tích phục vụ"),
                                                 ("en", "Area served")])
def test_site_popups_show_the_area_served(plan, computed, infra, language, label):
    m = plan_map(plan, infra, language=language)
    name = "Trạm bơm đề xuất" if language == "vi" else "Proposed pump stations"
    rows = _popup_rows(_layer(m, name))
    sites = infra.sites
    assert len(rows) == len(sites) == 5
    expected = [format_area_ha(v, language=language, decimals=1) for v in sites["covered_ha"]]
    assert [r[label] for r in rows] == expected
    # the map's number style: 323,95… ha is shown 324,0 ha (vi), 324.0 ha (en)
    assert ("324,0 ha" if language == "vi" else "324.0 ha") in expected
    ident = "Mã vị trí đề xuất" if language == "vi" else "Proposed site id"  # as Phụ lục IV
    assert [r[ident] for r in rows] == sites["site_id"].tolist()
    # the commune of each station is the one Phụ lục IV gives it
    appendix = computed.infrastructure.appendix_iv.set_index("site_id")
    commune = "Xã, thị trấn" if language == "vi" else "Commune"
    assert [r[commune] for r in rows] == appendix.loc[sites["site_id"], "commune_name"].tolist()
    # km of connection line, cost in tỷ/triệu đồng, ha per tỷ: the results' own figures
    km = "Đường dây đấu nối" if language == "vi" else "Connection line"
    assert [r[km] for r in rows] == [
        format_number(v, language=language, decimals=2) + " km"
        for v in sites["connection_length_km"]]
    cost = "Kinh phí" if language == "vi" else "Cost"
    assert [r[cost] for r in rows] == [format_money(v, language=language)
                                       for v in sites["cost_vnd"]]
    assert all(r[cost].endswith(" tỷ đồng" if language == "vi" else " billion VND")
               or r[cost].endswith(" triệu đồng" if language == "vi" else " million VND")
               for r in rows)
    per = ("Diện tích phục vụ trên 1 tỷ đồng" if language == "vi"
           else "Area served per billion VND")
    assert [r[per] for r in rows] == [
        format_number(v, language=language, decimals=1)
        + (" ha/tỷ đồng" if language == "vi" else " ha per billion VND")
        for v in sites["ha_per_billion_vnd"]]


def test_pump_popups_name_the_commune(plan):
    m = plan_map(plan)
    rows = _popup_rows(_layer(m, "Trạm bơm"))
    pumps, communes = plan["pumps"], plan["communes"]
    names = dict(zip(communes["commune_id"].astype(str), communes["commune_name"], strict=True))
    assert [r["Xã, thị trấn"] for r in rows] == [names[str(c)] for c in pumps["commune_id"]]
    # and the commune holds the pump
    inside = gpd.sjoin(pumps[["pump_id", "geometry"]].to_crs(communes.crs),
                       communes[["commune_name", "geometry"]], predicate="within")
    assert dict(zip(inside["pump_id"], inside["commune_name"], strict=True)) == {
        p: names[str(c)] for p, c in zip(pumps["pump_id"], pumps["commune_id"], strict=True)}


@pytest.mark.parametrize(("value", "language", "expected"), [
    (1_039_999_603, "vi", "1,04 tỷ đồng"), (4_200_000_000, "vi", "4,20 tỷ đồng"),
    (26_000e6, "vi", "26,00 tỷ đồng"), (800_000_500, "vi", "800 triệu đồng"),
    (4_200_000, "vi", "4,2 triệu đồng"), (521.6, "vi", "522 đồng"),
    (1_039_999_603, "en", "1.04 billion VND"), (14_610e6, "en", "14.61 billion VND"),
    (None, "vi", "–"),
])
def test_format_money(value, language, expected):
    assert format_money(value, language=language) == expected


def test_seasons_newest_first_dx_counted_in_its_harvest_year(plan):
    m = plan_map(plan)
    models = next(g for g in _spec(m)["groups"] if g["key"] == "models")["layers"]
    labels = [e["label"] for e in models]
    # DX 2023-2024 is harvested in 2024, before HT 2024 and after HT 2023
    assert labels[:4] == ["Mô hình HT 2024", "Mô hình DX 2023-2024", "Mô hình HT 2023",
                          "Mô hình DX 2022-2023"]
    assert labels[-1] == "Mô hình DX 2016-2017"
    assert not any(n.startswith("Mô hình") for n in visible_layer_names(m))


def test_english_numbers(plan):
    html = plan_map(plan, language="en").get_root().render()
    assert re.search(r'"\d{1,3}(,\d{3})+ ha"', html)
    assert re.search(r'"\d+\.\d%"', html)
    assert "Linkage coverage by commune" in html


def test_no_style_switch(plan):
    """Styles come from feature properties: no per-feature switch in the page."""
    html = plan_map(plan).get_root().render()
    assert "_styler(feature)" not in html
    assert "feature.properties.style" in html


def test_inputs_unchanged(plan):
    before = {n: g.copy() for n, g in plan.layers.items()}
    plan_map(plan, offline=False)
    for n, g in plan.layers.items():
        assert g.equals(before[n])


def test_map_layer_missing_column():
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(X, Y)], crs="EPSG:32648")
    with pytest.raises(SchemaError, match="'status'"):
        map_layer(g, name="x", color_by="status")


# ----------------------------------------------------------------------------- simplification


def test_simplification_keeps_table_areas(plan):
    """Display geometry is simplified; the areas in popups come from exact geometry."""
    communes = plan["communes"]
    exact = area_by_zone(plan["zones"], communes, level="commune", crs=plan.metric_crs)
    shown = display_geometry(communes, simplify_m=50, coverage=True)
    n_exact = shapely.get_num_coordinates(communes.geometry.values).sum()
    n_shown = shapely.get_num_coordinates(shown.geometry.values).sum()
    assert n_shown < n_exact
    assert shown.crs.to_epsg() == 4326
    # communes still a partition: simplified as a coverage
    assert shapely.coverage_is_valid(shapely.make_valid(shown.to_crs(32648).geometry.values),
                                     gap_width=0.0)
    # coordinates rounded to 5 decimals
    xy = shapely.get_coordinates(shown.geometry.values)
    assert np.allclose(xy, np.round(xy, 5), atol=1e-9, rtol=0)
    # the input and the exact tables are unchanged by drawing
    before = communes.geometry.copy()
    html = plan_map(plan, simplify_m=50).get_root().render()
    assert communes.geometry.equals(before)
    again = area_by_zone(plan["zones"], communes, level="commune", crs=plan.metric_crs)
    assert np.allclose(exact["area_ha"], again["area_ha"])
    # the popup shows the exact linkage area of a commune
    row = exact[(exact["zone_kind"] == "linkage")].dropna(subset=["commune_id"]).iloc[0]
    assert f'"{format_area_ha(row["area_ha"])}"' in html


# ----------------------------------------------------------------------------- large layers


def _field():
    """Two communes side by side and 302 parcels in rows, 3 m bunds between them.

    One column of parcels crosses the border of the communes, one sticks out
    of commune A on the west (mostly inside) and one out of B on the east
    (mostly outside); one parcel is an overlapping copy of another.
    """
    communes = gpd.GeoDataFrame(
        {"commune_id": ["A", "B"], "commune_name": ["Xã A", "Xã B"]},
        geometry=[box(X, Y, X + 1000, Y + 600), box(X + 1000, Y, X + 2000, Y + 600)],
        crs="EPSG:32648")
    geoms, uses = [], []
    for i in range(-1, 49):
        for j in range(6):
            x0, y0 = X + 26.5 + i * 40, Y + 1.5 + j * 90 + (10 if j >= 3 else 0)
            geoms.append(box(x0, y0, x0 + 37, y0 + 87))
            uses.append(("LUC", "HNK", "CLN")[(i // 5) % 3] if (i * 7 + j) % 11 else "NTS")
    geoms.append(box(X + 1990, Y + 1.5, X + 2027, Y + 88.5))
    uses.append("LUC")
    geoms.append(shapely.affinity.translate(geoms[40], 10, 0))
    uses.append(uses[40])
    parcels = gpd.GeoDataFrame({"parcel_id": [f"P{k:03d}" for k in range(len(geoms))],
                                "land_use": uses}, geometry=geoms, crs="EPSG:32648")
    return parcels, communes


def _popups(layer):
    return [f["properties"] for f in layer.data["features"]]


def test_large_layer_is_aggregated_with_exact_areas():
    parcels, communes = _field()
    layer = map_layer(parcels, name="Thửa đất", color_by="land_use", max_features=100,
                      communes=communes, crs="EPSG:32648")
    assert layer.layer_name == "Thửa đất (gộp theo xã × loại đất)"
    assert "_styler(feature)" not in _html(layer)  # styled from feature properties
    popups = _popups(layer)
    assert len(popups) < len(parcels) / 20

    # one aggregate per commune × land use with area, outside the communes included
    exact = area_by_zone(parcels, communes, by="land_use", crs="EPSG:32648")
    exact["commune_name"] = exact["commune_name"].fillna("Ngoài các xã")
    shown = {(p["p0"], p["p1"]): p for p in popups}
    assert len(shown) == len(popups) == len(exact)
    for row in exact.itertuples():
        p = shown[(row.commune_name, row.land_use)]
        assert p["p3"] == format_area_ha(row.area_ha, decimals=1)  # exact area, 23,4 ha
    assert exact["overlap_ha"].sum() > 0  # the copy's overlap is counted once

    # each parcel counted once, in the commune holding most of its area
    pg, cg = np.asarray(parcels.geometry.values), np.asarray(communes.geometry.values)
    a = shapely.area(shapely.intersection(pg[:, None], cg[None, :]))
    a = np.column_stack([a, parcels.area.to_numpy() - a.sum(axis=1)])
    unit = np.array(["Xã A", "Xã B", "Ngoài các xã"])[a.argmax(axis=1)]
    for (commune, use), p in shown.items():
        n = int(((unit == commune) & (parcels["land_use"] == use)).sum())
        assert p["p2"] == format_number(n), (commune, use)
    assert sum(int(p["p2"].replace(".", "")) for p in popups) == len(parcels)

    # the drawn geometry is simplified, with the bunds closed: not the exact area
    drawn = gpd.GeoDataFrame.from_features(layer.data["features"], crs=4326).to_crs(32648)
    assert drawn.area.sum() / 1e4 > 1.03 * exact["area_ha"].sum()
    xy = shapely.get_coordinates(drawn.to_crs(4326).geometry.values)
    assert np.allclose(xy, np.round(xy, 5), atol=1e-9, rtol=0)


def test_small_layer_and_grid_aggregation():
    parcels, communes = _field()
    # at or below the threshold: one feature per parcel, as before
    layer = map_layer(parcels, name="Thửa đất", color_by="land_use",
                      max_features=len(parcels), communes=communes)
    assert layer.layer_name == "Thửa đất"
    assert len(layer.data["features"]) == len(parcels)
    # no communes: aggregated by grid cell, in English
    layer = map_layer(parcels, name="Parcels", color_by="land_use", language="en",
                      max_features=100, grid_m=500)
    assert layer.layer_name == "Parcels (aggregated by 0.5 km grid cell × land use)"
    popups = _popups(layer)
    assert sum(int(p["p2"].replace(",", "")) for p in popups) == len(parcels)
    total = sum(float(p["p3"].removesuffix(" ha").replace(",", "")) for p in popups)
    union = shapely.union_all(parcels.geometry.values).area / 1e4
    assert total == pytest.approx(union, abs=0.05 * len(popups))


def test_plan_map_aggregates_parcels(plan):
    m = plan_map(plan, language="en", max_features=len(plan["parcels"]) - 1)
    assert "Parcels (aggregated by commune × land use)" in layer_names(m)


def _parcel_layer(m):
    return next(c for c in m._children.values()
                if isinstance(c, folium.GeoJson) and c.layer_name.startswith("Parcels ("))


def _field_plan():
    """The demo plan with _field()'s communes and parcels as its only layers."""
    from dataclasses import replace

    parcels, communes = _field()
    d = demo()
    return parcels, communes, replace(
        d, layers={"communes": communes, "parcels": parcels},
        sources={k: d.sources[k] for k in ("communes", "parcels")}, metric_crs=communes.crs)


def test_plan_map_computes_no_parcel_figure_without_the_results():
    _, _, p = _field_plan()
    layer = _parcel_layer(plan_map(p, language="en", max_features=100))
    props = [f["properties"] for f in layer.data["features"]]
    # commune and land use only: no count, no area of the map's own
    assert {k for pr in props for k in pr if k.startswith("p")} == {"p0", "p1"}
    assert not any(" ha" in v for pr in props for v in pr.values() if isinstance(v, str))


def test_plan_map_draws_the_results_parcel_figures_whatever_the_display_tolerance():
    parcels, communes, p = _field_plan()
    # the results' figures: areas as area_by_zone measures them, and a count the map
    # could not have found itself (each row's own number)
    table = area_by_zone(parcels, communes, by="land_use", crs="EPSG:32648")
    table["n_parcels"] = np.arange(1, len(table) + 1) * 1000
    shown = {}
    for simplify_m in (5.0, 40.0):
        layer = _parcel_layer(plan_map(p, MapResults(parcel_areas=table), language="en",
                                       max_features=100, simplify_m=simplify_m))
        shown[simplify_m] = {(f["properties"]["p0"], f["properties"]["p1"]): f
                             for f in layer.data["features"]}
    coarse, fine = shown[40.0], shown[5.0]
    assert len(fine) == len(table)  # on a 5 m grid every row is drawn
    assert set(coarse) <= set(fine)  # on a 40 m one, single parcels may be too small
    for key in coarse:  # the same figures, drawn on different shapes
        assert {k: v for k, v in fine[key]["properties"].items() if k != "style"} == \
            {k: v for k, v in coarse[key]["properties"].items() if k != "style"}
    assert any(fine[k]["geometry"] != coarse[k]["geometry"] for k in coarse)
    table["commune_name"] = table["commune_name"].fillna("Outside the communes")
    for row in table.itertuples():
        props = fine[(row.commune_name, row.land_use)]["properties"]
        assert props["p2"] == format_number(row.n_parcels, language="en")
        assert props["p3"] == format_area_ha(row.area_ha, language="en", decimals=1)


def test_the_parcel_area_indicator_is_what_the_parcel_popups_show():
    from geoagri.results import compute

    d = demo()
    results = compute(d, curve_steps=0)  # the catalogue's parcel_area, by land use
    figures = results.map_results().parcel_areas
    expected = area_by_zone(d["parcels"], d.only("communes"), by="land_use",
                            crs=d.metric_crs).dropna(subset=["commune_id"])
    assert sorted(map(str, figures["commune_id"])) == sorted(map(str, expected["commune_id"]))
    merged = figures.astype({"commune_id": str}).merge(
        expected.astype({"commune_id": str}), on=["commune_id", "land_use"])
    assert np.allclose(merged["area_ha_x"], merged["area_ha_y"], rtol=1e-9, atol=0)
    assert figures["n_parcels"].sum() == len(d["parcels"])  # each parcel once
    layer = _parcel_layer(plan_map(results.plan, results.map_results(), language="en",
                                   max_features=100))
    popups = {f["properties"]["p0"]: f["properties"] for f in layer.data["features"]}
    for row in merged.itertuples():
        assert popups[row.commune_name]["p3"] == format_area_ha(row.area_ha_x, language="en",
                                                                decimals=1)


def test_feature_geometry_is_the_geojson_of_each_type():
    from geoagri._geojson import geometry_texts

    geoms = np.array([
        Point(105.1, 10.2), LineString([(105, 10), (105.5, 10.25)]), box(105, 10, 106, 11),
        shapely.Polygon(box(0, 0, 4, 4).exterior.coords, [box(1, 1, 2, 2).exterior.coords]),
        shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]),
        shapely.MultiLineString([[(0, 0), (1, 1)], [(2, 2), (3, 3)]]),
        shapely.MultiPoint([(0, 0), (1, 1)]), None, shapely.Polygon(),
        shapely.GeometryCollection([Point(0, 0)])], dtype=object)
    texts = geometry_texts(geoms, 5)
    assert texts[7] is None
    got = [None if t is None else json.loads(t) for t in texts]
    assert got[1] == {"type": "LineString", "coordinates": [[105.0, 10.0], [105.5, 10.25]]}
    # box(1, 1, 2, 2)'s ring as the hole, in its order
    assert got[3]["coordinates"][1] == [[2.0, 1.0], [2.0, 2.0], [1.0, 2.0], [1.0, 1.0],
                                        [2.0, 1.0]]
    for g, shape in zip(geoms, got, strict=True):
        if g is not None:  # as GEOS writes it
            assert shapely.geometry.shape(shape).equals_exact(g, 0) or g.is_empty
            assert shape == json.loads(shapely.to_geojson(g))


def test_coordinates_are_written_rounded_as_json_writes_the_rounded_numbers():
    from geoagri._geojson import geometry_texts

    rng = np.random.default_rng(7)
    xy = np.concatenate([rng.uniform(-180, 180, (2000, 2)), [[0.000004, -0.000006]],
                         [[-105.5, 10.0]], [[1e-5, 99.99999]]])
    for digits in (0, 3, 5, 7):
        texts = geometry_texts(shapely.points(xy), digits)
        got = np.array([json.loads(t)["coordinates"] for t in texts])
        assert np.array_equal(got, np.round(xy, digits)), digits
    # the shortest decimal of the rounded number, as json.dumps writes it
    line = geometry_texts(np.array([LineString([(105.10000, -0.5), (7.0, 10.25)])]), 5)[0]
    assert line == '{"type":"LineString","coordinates":[[105.1,-0.5],[7,10.25]]}'


def test_parts_rings_and_z_are_written_as_geos_writes_them():
    """Parts of several rings, a part of none, a z: the nesting GEOS's own writer gives."""
    from geoagri._geojson import geometry_texts

    holed = shapely.Polygon(box(0, 0, 9, 9).exterior.coords,
                            [box(1, 1, 2, 2).exterior.coords, box(4, 4, 6, 5).exterior.coords])
    geoms = np.array([
        shapely.MultiPolygon([holed, box(20, 0, 21, 1), shapely.Polygon(
            box(30, 0, 35, 5).exterior.coords, [box(31, 1, 32, 2).exterior.coords])]),
        shapely.MultiPolygon([box(0, 0, 1, 1), shapely.Polygon()]),
        shapely.MultiLineString([[(0, 0), (1, 1), (2, 0)], [(5, 5), (6, 6)], [(7, 7), (8, 9)]]),
        LineString([(0, 0, 5), (1.25, 2.5, 7)]), shapely.Polygon([(0, 0, 1), (4, 0, 1),
                                                                  (4, 4, 2)])], dtype=object)
    for g, text in zip(geoms, geometry_texts(geoms, 5), strict=True):
        geos = json.loads(shapely.to_geojson(shapely.force_2d(g)))
        assert json.loads(text) == geos


def test_coordinates_transformed_as_written_are_those_of_the_layer_in_lon_lat():
    """``transform=``: the text of the geometries geopandas' ``to_crs`` makes, to the digit."""
    import pyproj

    from geoagri._geojson import geometry_texts

    holed = shapely.Polygon(box(X, Y, X + 900, Y + 900).exterior.coords,
                            [box(X + 100, Y + 100, X + 200, Y + 250).exterior.coords])
    layer = gpd.GeoSeries([
        holed, shapely.MultiPolygon([holed, box(X + 2000, Y, X + 2100, Y + 77)]),
        LineString([(X, Y), (X + 1234.5, Y + 987.6)]), Point(X + 3.3, Y - 4.4),
        shapely.MultiPoint([(X, Y), (X + 10, Y + 10)]),
        shapely.MultiLineString([[(X, Y), (X + 5, Y + 5)], [(X + 9, Y), (X, Y + 9)]]),
        None, shapely.Polygon()], crs="EPSG:32648")
    move = pyproj.Transformer.from_crs("EPSG:32648", "EPSG:4326", always_xy=True).transform
    geoms = np.asarray(layer.values, dtype=object)
    lonlat = np.asarray(layer.to_crs(4326).values, dtype=object)
    for digits in (5, 7, 9):
        assert geometry_texts(geoms, digits, transform=move) == geometry_texts(lonlat, digits)
    # in degrees: the ring starts 900 m east of UTM 48N's central meridian (105° E), at
    # 1,200 km north (about 10.85° N, where a degree of longitude is 109.3 km)
    lon, lat = json.loads(geometry_texts(geoms[:1], 5, transform=move)[0])["coordinates"][0][0]
    assert lon == pytest.approx(105 + 900 / 109_300, abs=1e-4) and 10.8 < lat < 10.9


def test_the_page_holds_the_layer_s_features_and_a_change_to_them(tmp_path):
    import re

    works = demo()["works"].head(3)
    layer = map_layer(works, name="Works", language="en")
    m = folium.Map(tiles=None)
    layer.add_to(m)
    m.save(tmp_path / "a.html")
    page = (tmp_path / "a.html").read_text(encoding="utf-8")
    written = json.loads(re.search(r"_add\((\{.*?\})\);\n", page, re.S).group(1))
    assert written == layer.data  # data read back from the text: the page's features
    assert [f["geometry"]["type"] for f in written["features"]] == ["LineString"] * 3
    # every coordinate the work's own, rounded to 5 decimals (about 1 m)
    lonlat = np.asarray(works.geometry.to_crs(4326).get_coordinates())
    drawn = np.array([xy for f in written["features"] for xy in f["geometry"]["coordinates"]])
    assert np.abs(drawn - lonlat).max() <= 0.5e-5 + 1e-12
    layer.data["features"][0]["properties"]["p0"] = "changed <b>"
    m.save(tmp_path / "b.html")
    page = (tmp_path / "b.html").read_text(encoding="utf-8")
    assert "changed \\u003cb\\u003e" in page  # as Jinja's tojson escapes it


def test_a_name_that_looks_like_a_template_is_written_as_it_is(tmp_path):
    works = demo()["works"].head(2).copy()
    works["name"] = ["{{ 7 * 7 }}", "{% if true %}x{% endif %}"]
    m = layer_map(works, name="Works", popup_fields=["name"], offline=True)
    m.save(tmp_path / "m.html")
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "{{ 7 * 7 }}" in page and "{% if true %}x{% endif %}" in page


def _html(layer):
    import folium

    m = folium.Map(tiles=None)
    layer.add_to(m)
    return m.get_root().render()


# ----------------------------------------------------------------------------- offline


def test_offline_html_has_no_remote_assets(offline_html):
    html = offline_html.read_text(encoding="utf-8")
    remote = re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)\s*=\s*["\']?(?:https?:)?//',
                        html, flags=re.I)
    assert remote == []
    assert "L.tileLayer" not in html  # no tiles: a plain background
    assert "L.control.fullscreen" in html and "L.Control.Measure" in html


def test_offline_needs_folium_offline(plan, monkeypatch):
    import builtins

    from geoagri import maps
    from geoagri.errors import GeoagriError

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("offlinefolium"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    maps._offline_assets.cache_clear()
    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr(maps.importlib, "import_module",
                        lambda name: fake_import(name, globals(), locals(), ["x"], 0))
    try:
        with pytest.raises(GeoagriError, match=r"geoagri\[offline\]"):
            plan_map(plan, offline=True)
    finally:
        maps._offline_assets.cache_clear()


# ----------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install -y "
                    "chromium chromium-driver); CI installs it")
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="the browser test drives Chromium with selenium")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="geoagri-chromium-")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def _wait(driver, script, timeout=20.0):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: d.execute_script(script))


def _open(driver, path, *, width=1366, height=625, mobile=False):
    """Open a page with no network, in a viewport of ``width`` × ``height`` CSS px."""
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
    # catch errors thrown while the page runs, before its own scripts
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__errors = [];
        window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
        window.addEventListener('unhandledrejection', function (e) {
            window.__errors.push('unhandled: ' + String(e.reason)); });
    """})
    driver.get_log("browser")  # drop the messages of earlier pages
    driver.get(path.as_uri())
    _wait(driver, "return document.readyState === 'complete' && "
                  "document.querySelectorAll('.leaflet-overlay-pane path, "
                  ".leaflet-pane path').length > 0")


def _page_errors(driver):
    """JavaScript errors, and failed loads other than map tiles (there is no network)."""
    logs = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"
            and not re.search(r"tile\.openstreetmap\.org|arcgisonline\.com", e["message"])]
    return driver.execute_script("return window.__errors") + logs


def _checked_layers(driver):
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.geoagri-layers "
        "details:not([data-group=base]) label:not(.geoagri-none)'))"
        ".filter(l => l.querySelector('input').checked).map(l => l.textContent.trim())")


def _legend(driver):
    """The legend as shown: {section title: [item labels]}."""
    return driver.execute_script("""
        const out = {};
        for (const s of document.querySelectorAll('.geoagri-legend .geoagri-legend-section')) {
            out[s.querySelector('b').textContent] = Array.from(
                s.querySelectorAll('.geoagri-item span')).map(x => x.textContent);
        }
        return out;""")


def _click_at(driver, m, lat, lon):
    from selenium.webdriver.common.action_chains import ActionChains

    p = driver.execute_script(f"return {m.get_name()}.latLngToContainerPoint(arguments[0])",
                              [lat, lon])
    div = driver.find_element("css selector", f"#{m.get_name()}")
    ActionChains(driver).move_to_element_with_offset(
        div, int(p["x"] - div.size["width"] / 2), int(p["y"] - div.size["height"] / 2)
    ).click().perform()
    return _wait(driver, "var p = document.querySelector('.leaflet-popup-content');"
                         "return p && p.textContent", timeout=10)


def _rect(driver, selector):
    return driver.execute_script(
        "var r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}", selector)


@pytest.fixture(scope="module")
def default_map(plan, infra, tmp_path_factory):
    """The map ``geoagri demo`` writes: self-contained, with tiles when there is a network."""
    m = plan_map(plan, infra)
    path = tmp_path_factory.mktemp("map") / "demo.html"
    m.save(path)
    return path, m


def test_default_map_is_self_contained(default_map):
    path, _ = default_map
    html = path.read_text(encoding="utf-8")
    remote = re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)\s*=\s*["\']?(?:https?:)?//',
                        html, flags=re.I)
    assert remote == []
    assert "tile.openstreetmap.org" in html and "World_Imagery" in html  # online basemaps
    assert 20 * 2**20 > len(html.encode()) > 300_000  # Leaflet and plugins inlined


def test_cdn_map_links_the_same_files(plan):
    """``inline=False``: Leaflet and the plugins from CDNs, and no Bootstrap (not used)."""
    html = plan_map(plan, inline=False).get_root().render()
    scripts = re.findall(r'<script src="(https://[^"]+)"', html)
    assert any("leaflet" in u for u in scripts)
    assert not any("bootstrap" in u or "awesome-markers" in u for u in scripts), scripts


def test_default_view_in_chromium_with_no_network(browser, default_map, plan, computed):
    path, m = default_map
    _open(browser, path)
    try:
        assert _page_errors(browser) == []
        # the tiles failed: the page says so and draws the plan's own basemap
        assert browser.execute_script(
            "var w = document.querySelector('.geoagri-title .geoagri-warn');"
            "return w.offsetHeight > 0 && w.textContent") == \
            "Không có mạng: nền bản đồ vẽ từ dữ liệu của kế hoạch."
        labels = browser.execute_script(
            "return Array.from(document.querySelectorAll('.geoagri-label'))"
            ".map(l => l.textContent)")
        assert sorted(labels) == sorted(plan["communes"]["commune_name"])
        assert browser.execute_script("return document.title").startswith("Bản đồ liên kết")
        # metric scale bar only
        scale = browser.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-control-scale-line'))"
            ".map(s => s.textContent)")
        assert len(scale) == 1 and re.fullmatch(r"\d+ k?m", scale[0]), scale

        # on at load: exactly the default layers; each has its legend section
        visible = visible_layer_names(m)
        assert _checked_layers(browser) == [
            "Xã: tỷ lệ diện tích liên kết (%)", "Trạm bơm", "Điện 3 pha",
            "Điện 1 pha và khác", "Vùng thiếu hạ tầng"]
        assert sorted(_checked_layers(browser)) == sorted(visible)
        legend = _legend(browser)
        titles = {"Xã: tỷ lệ diện tích liên kết (%)": "Tỷ lệ diện tích liên kết theo xã"}
        for name in visible:
            assert legend.get(titles.get(name, name)), (name, legend)
        assert legend["Vùng thiếu hạ tầng"] == ["Trạm bơm", "Điện 3 pha",
                                                "Trạm bơm và điện 3 pha"]
        from geoagri._labels import value_label

        assert sorted(legend["Trạm bơm"]) == sorted(
            {value_label(v, "vi") for v in plan["pumps"]["status"]})
        assert set(legend) == {titles.get(n, n) for n in visible} | {
            "Kênh, đường, tên xã (từ dữ liệu)"}
        # the layer control and the legend do not overlap, and fit the view
        panel, box = _rect(browser, ".geoagri-layers"), _rect(browser, ".geoagri-legend")
        assert panel["bottom"] <= box["top"] and box["bottom"] <= 625

        # a click on a commune, away from gaps, pumps and lines, with the service areas
        # on (they take no click), opens the commune's popup with the results' figures
        browser.execute_script(
            "for (const l of document.querySelectorAll('.geoagri-layers label')) {"
            "  if (l.textContent.trim().startsWith('Vùng phục vụ trạm bơm')) "
            "    l.querySelector('input').click(); }")
        assert "Vùng phục vụ trạm bơm (bán kính 1.000 m)" in _checked_layers(browser)
        commune, (lat, lon) = _free_spot(plan, computed)
        text = _click_at(browser, m, lat, lon)
        assert commune in text, text
        row = computed.linkage.set_index("commune_name").loc[commune]
        assert format_pct(row["commune_share_pct"]) in text, text
        assert format_area_ha(row["area_ha"]) in text, text

        # a click on a pump opens the pump, not the gap or service area under it
        pump = plan["pumps"].to_crs(4326).iloc[0]
        browser.execute_script(f"{m.get_name()}.closePopup()")
        text = _click_at(browser, m, pump.geometry.y, pump.geometry.x)
        assert pump["pump_id"] in text and "Mã trạm bơm" in text, text

        # seasons are one exclusive group: a second season replaces the first
        browser.execute_script(
            "document.querySelector('.geoagri-layers details[data-group=models]').open = true;"
            "for (const l of document.querySelectorAll('.geoagri-layers label')) {"
            "  if (l.textContent.trim() === 'Mô hình DX 2023-2024') l.querySelector('input')"
            ".click(); }")
        browser.execute_script(
            "for (const l of document.querySelectorAll('.geoagri-layers label')) {"
            "  if (l.textContent.trim() === 'Mô hình HT 2024') l.querySelector('input')"
            ".click(); }")
        on = [n for n in _checked_layers(browser) if n.startswith("Mô hình")]
        assert on == ["Mô hình HT 2024"]
        assert "Mô hình HT 2024" in _legend(browser)
        assert "Mô hình DX 2023-2024" not in _legend(browser)
        browser.save_screenshot(f"/tmp/geoagri-map-1366-{os.getpid()}.png")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_search_in_chromium(browser, default_map, plan, computed):
    """A commune found by name, a proposed station by id: the map goes there and opens it."""
    path, _ = default_map
    _open(browser, path)
    try:
        options = browser.execute_script(
            "return Array.from(document.querySelectorAll('#geoagri-search-list option'))"
            ".map(o => o.value)")
        sites = computed.infrastructure.siting.sites
        assert sorted(options) == sorted([*plan["communes"]["commune_name"],
                                          *plan["pumps"]["pump_id"], *sites["site_id"]])
        find = ("var i = document.querySelector('.geoagri-search input'); i.value = arguments[0];"
                "i.dispatchEvent(new Event('change'));"
                "var p = Array.from(document.querySelectorAll('.leaflet-popup-content')).pop();"
                "return p && p.textContent.replace(/\\s+/g, ' ')")
        text = browser.execute_script(find, "Xã Vĩnh Trị")
        assert "Xã Vĩnh Trị" in text and "Tỷ lệ liên kết" in text, text
        appendix = computed.infrastructure.appendix_iv.set_index("site_id")
        site = sites.iloc[1]
        text = browser.execute_script(find, site["site_id"])
        assert site["site_id"] in text and appendix.loc[site["site_id"], "commune_name"] in text
        assert format_money(site["cost_vnd"]) in text, text
        # the proposed stations were off: now on, in the control and the legend
        assert "Trạm bơm đề xuất" in _checked_layers(browser)
        assert "Trạm bơm đề xuất" in _legend(browser)
        assert _page_errors(browser) == []
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def _free_spot(plan, computed):
    """A commune and a point in it (lat, lon) clear of every clickable layer but communes."""
    mcrs = plan.metric_crs
    infra = computed.infrastructure
    gaps = infra.gaps[infra.gaps["area_ha"] >= 0.1]
    busy = shapely.union_all(np.concatenate([
        gaps.to_crs(mcrs).buffer(30).to_numpy(),
        plan["pumps"].to_crs(mcrs).buffer(80).to_numpy(),
        plan["power"].to_crs(mcrs).buffer(60).to_numpy()]))
    communes = plan["communes"].to_crs(mcrs)
    free = communes.geometry.buffer(-150).difference(busy)
    k = int(np.argmax(free.area.to_numpy()))
    spot = gpd.GeoSeries([free.iloc[k].representative_point()], crs=mcrs).to_crs(4326).iloc[0]
    return communes["commune_name"].iloc[k], (spot.y, spot.x)


def test_phone_layout_in_chromium(browser, default_map):
    """390 px: the control and the legend start collapsed and, opened, fit the screen."""
    path, _ = default_map
    _open(browser, path, width=390, height=844, mobile=True)
    try:
        assert _page_errors(browser) == []
        assert browser.execute_script("return window.innerWidth") == 390
        for box in (".geoagri-layers", ".geoagri-legend"):
            assert browser.execute_script(
                "var b = document.querySelector(arguments[0]);"
                "return b.classList.contains('geoagri-closed') && "
                "b.querySelector('.geoagri-body').offsetHeight === 0", box)
            r = _rect(browser, box)
            assert r["right"] - r["left"] < 160 and r["bottom"] - r["top"] < 40, (box, r)
        browser.save_screenshot(f"/tmp/geoagri-map-390-closed-{os.getpid()}.png")
        browser.execute_script("document.querySelector('.geoagri-layers button').click()")
        panel = _rect(browser, ".geoagri-layers")
        assert panel["left"] >= 0 and panel["right"] <= 390 and panel["bottom"] <= 844
        assert _rect(browser, ".geoagri-legend")["top"] >= panel["bottom"]
        assert "Trạm bơm" in _checked_layers(browser)
        browser.save_screenshot(f"/tmp/geoagri-map-390-open-{os.getpid()}.png")
        browser.execute_script("document.querySelector('.geoagri-layers button').click();"
                               "document.querySelector('.geoagri-legend button').click()")
        legend = _rect(browser, ".geoagri-legend")
        assert legend["left"] >= 0 and legend["right"] <= 390 and legend["bottom"] <= 844
        assert "Vùng thiếu hạ tầng" in _legend(browser)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_offline_map_in_chromium(browser, offline_html, plan):
    """``offline=True``: no tiles at all, no request, the plan's basemap; a commune click."""
    _open(browser, offline_html)
    try:
        assert _page_errors(browser) == []
        for name in EXPECTED_VI:
            assert name in browser.execute_script(
                "return Array.from(document.querySelectorAll('.geoagri-layers label span'))"
                ".map(s => s.textContent)"), name
        assert browser.execute_script(
            "return document.querySelectorAll('.leaflet-tile').length") == 0
        assert browser.execute_script(
            "return document.querySelectorAll('.geoagri-label').length") == len(plan["communes"])
        # a popup opens on a click inside a commune (no gaps on this map), with its name
        communes = plan["communes"].to_crs(plan.metric_crs)
        busy = shapely.union_all(np.concatenate([
            plan["pumps"].to_crs(plan.metric_crs).buffer(80).to_numpy(),
            plan["power"].to_crs(plan.metric_crs).buffer(60).to_numpy()]))
        free = communes.geometry.buffer(-150).difference(busy)
        k = int(np.argmax(free.area.to_numpy()))
        spot = gpd.GeoSeries([free.iloc[k].representative_point()],
                             crs=plan.metric_crs).to_crs(4326).iloc[0]
        m_name = browser.execute_script(
            "return Object.keys(window).find(k => k.startsWith('map_'))")

        class _M:
            def get_name(self):
                return m_name

        text = _click_at(browser, _M(), spot.y, spot.x)
        assert communes["commune_name"].iloc[k] in text, text
        assert re.search(r"\d+,\d%", text)  # coverage in Vietnamese format
        browser.save_screenshot(f"/tmp/geoagri-map-offline-{os.getpid()}.png")
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


@pytest.fixture(scope="module")
def aggregated_html(tmp_path_factory):
    pytest.importorskip("offlinefolium", reason="offline maps need folium-offline "
                        "(pip install geoagri[offline])")
    parcels, communes = _field()
    m = layer_map(parcels, name="Thửa đất", color_by="land_use", max_features=100,
                  communes=communes, offline=True)
    path = tmp_path_factory.mktemp("map") / "aggregated_offline.html"
    m.save(path)
    return path, m


def test_aggregated_layer_in_chromium(browser, aggregated_html):
    path, m = aggregated_html
    layer = next(c for c in m._children.values() if c.layer_name.startswith("Thửa đất"))
    features = layer.data["features"]
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__errors = [];
        window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
    """})
    browser.get(path.as_uri())
    _wait(browser, "return document.readyState === 'complete' && "
                   "document.querySelectorAll('.leaflet-overlay-pane path').length > 0")
    assert browser.execute_script("return window.__errors") == []
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    overlays = browser.execute_script(
        "return Array.from(document.querySelectorAll("
        "'.leaflet-control-layers-overlays label span')).map(s => s.textContent.trim())")
    assert set(overlays) == {"Thửa đất (gộp theo xã × loại đất)"}  # nested spans
    # one path per aggregate
    n_paths = browser.execute_script(
        "return document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')"
        ".length")
    assert n_paths == len(features)

    # a click inside an aggregate of commune A opens its popup: count and exact area
    target = next(f for f in features if f["properties"]["p0"] == "Xã A")
    inside = shapely.point_on_surface(shapely.geometry.shape(target["geometry"]))
    p = browser.execute_script(f"return {m.get_name()}.latLngToContainerPoint(arguments[0])",
                               [inside.y, inside.x])
    from selenium.webdriver.common.action_chains import ActionChains

    div = browser.find_element("css selector", f"#{m.get_name()}")
    ActionChains(browser).move_to_element_with_offset(
        div, int(p["x"] - div.size["width"] / 2), int(p["y"] - div.size["height"] / 2)
    ).click().perform()
    text = _wait(browser, "var p = document.querySelector('.leaflet-popup-content');"
                          "return p && p.textContent", timeout=10)
    assert "Số thửa" in text and target["properties"]["p3"] in text, text
    OUTPUT.mkdir(exist_ok=True)
    browser.save_screenshot(str(OUTPUT / f"aggregated_layer_{os.getpid()}.png"))


# ----------------------------------------------------------------------------- hostile names


def _payload(where: str) -> str:
    """A name that would run script (recording ``where``) if the page read it as HTML."""
    mark = f"window.__pwned=(window.__pwned||[]).concat(['{where}'])"
    return {0: f'Xã <img src=x onerror="{mark}"> & "Tây"',
            1: f"<script>{mark}</script>Bình 'A'",
            2: f'<a href="javascript:{mark}">{where}</a> &amp;',
            3: f"</script><script>{mark}</script><svg onload=\"{mark}\">"}[len(where) % 4]


@pytest.fixture(scope="module")
def hostile(plan, tmp_path_factory):
    """The demo with script payloads in commune, district, crop and pump names."""
    pytest.importorskip("offlinefolium", reason="offline maps need folium-offline "
                        "(pip install geoagri[offline])")
    from dataclasses import replace

    layers = dict(plan.layers)
    communes = layers["communes"].copy()
    communes["commune_name"] = [_payload(f"commune{i}") for i in range(len(communes))]
    communes["district"] = [_payload(f"district{i}") for i in range(len(communes))]
    zones = layers["zones"].copy()
    zones["crop"] = [_payload(f"crop{i % 2}") for i in range(len(zones))]
    pumps = layers["pumps"].copy()
    pumps["pump_id"] = [f"{_payload(f'pump{i}')}{i}" for i in range(len(pumps))]
    layers.update(communes=communes, zones=zones, pumps=pumps)
    hostile_plan = replace(plan, layers=layers)
    m = plan_map(hostile_plan, offline=True, parcels=False)
    path = tmp_path_factory.mktemp("map") / "hostile.html"
    m.save(path)
    return path, m, hostile_plan


def test_hostile_names_are_text_in_the_html(hostile):
    path, m, hostile_plan = hostile
    page = path.read_text(encoding="utf-8")
    for bad in ("<img src=x", "<svg onload", "<script>window.__pwned", 'href="javascript:'):
        assert bad not in page, bad
    # the layer control lists the crop layers under their names as written
    names = layer_names(m)
    for crop in set(hostile_plan["zones"]["crop"]):
        assert f"Liên kết sản xuất – {crop}" in names


def test_hostile_names_do_not_run_in_chromium(browser, hostile):
    """Every popup and tooltip opened, the layer control shown: no payload runs."""
    path, m, hostile_plan = hostile
    browser.get(path.as_uri())
    _wait(browser, "return document.readyState === 'complete' && "
                   "document.querySelectorAll('.leaflet-pane path').length > 0")
    layers = [c.get_name() for c in m._children.values() if isinstance(c, folium.GeoJson)]
    shown = browser.execute_script("""
        const out = {popups: [], tooltips: []};
        const map = window[arguments[1]];
        for (const name of arguments[0]) {
            const group = window[name];
            if (!map.hasLayer(group)) group.addTo(map);  // layers off at load too
            group.eachLayer(function (layer) {
                const at = layer.getLatLng ? layer.getLatLng() : layer.getBounds().getCenter();
                map.eachLayer(function (l) { if (l instanceof L.Popup) map.closePopup(l); });
                layer.fire('click', {latlng: at}, true);
                // a closed popup fades out for 200 ms: the newest one is the last
                const p = Array.from(document.querySelectorAll('.leaflet-popup-content')).pop();
                if (p) out.popups.push(p.textContent);
                layer.fire('mouseover', {latlng: at}, true);
                const t = Array.from(document.querySelectorAll('.leaflet-tooltip')).pop();
                if (t) out.tooltips.push(t.textContent.trim());
                layer.fire('mouseout', {latlng: at}, true);
            });
        }
        return out;""", layers, m.get_name())
    overlays = browser.execute_script(
        "return Array.from(document.querySelectorAll("
        "'.geoagri-layers label span')).map(s => s.textContent.trim())")
    # nothing ran, and no element came out of the data
    assert browser.execute_script("return window.__pwned === undefined"), \
        browser.execute_script("return window.__pwned")
    assert browser.execute_script(
        "return document.querySelectorAll('.leaflet-container img, .leaflet-container svg "
        "[onload], .leaflet-container a[href^=\"javascript\"], .leaflet-popup script').length"
    ) == 0
    # the popups and tooltips show the names as written
    communes = hostile_plan["communes"]
    assert len(shown["popups"]) >= len(communes) + len(hostile_plan["pumps"])
    for name, district in zip(communes["commune_name"], communes["district"], strict=True):
        assert any(name in p and district in p for p in shown["popups"]), name
        assert name in shown["tooltips"], name
    for pump_id in hostile_plan["pumps"]["pump_id"]:
        assert any(pump_id in p for p in shown["popups"]), pump_id
    for crop in set(hostile_plan["zones"]["crop"]):
        assert f"Liên kết sản xuất – {crop}" in overlays, overlays


@pytest.mark.parametrize("kind", ["pumps", "zones", "communes"])
def test_an_empty_layer_maps_to_an_empty_overlay(plan, kind):
    m = layer_map(plan[kind].iloc[:0], name="Empty")
    assert layer_names(m) == ["Empty"]
    layer = next(c for c in m._children.values() if isinstance(c, folium.GeoJson))
    assert layer.data["features"] == []
    assert "\"Empty\"" in m.get_root().render()  # the layer control lists it


def test_natural_breaks_are_the_least_squares_partition():
    """The choropleth's classes are the optimum of one-dimensional k-means: checked
    against every split of small samples into contiguous runs (exhaustive search)."""
    from itertools import combinations

    from geoagri._map_content import _classes

    rng = np.random.default_rng(7)
    for trial in range(25):
        values = np.round(rng.exponential(20.0, int(rng.integers(6, 13))), 0 if trial % 2 else 3)
        values[0] = np.nan
        finite = np.sort(values[np.isfinite(values)])
        uniq = np.unique(finite)
        k = min(4, len(uniq))
        best = np.inf
        for cuts in combinations(range(1, len(uniq)), k - 1):  # runs of the distinct values
            runs = np.split(uniq, cuts)
            groups = [finite[(finite >= r[0]) & (finite <= r[-1])] for r in runs]
            best = min(best, sum(((g - g.mean()) ** 2).sum() for g in groups))
        cls, bins = _classes(values, k=k)
        labels = cls[1:]
        sse = sum(((values[1:][labels == c] - values[1:][labels == c].mean()) ** 2).sum()
                  for c in range(k))
        assert sse == pytest.approx(best, rel=1e-9, abs=1e-9)
        assert bins == [float(values[1:][labels == c].max()) for c in range(k)]
        assert cls[0] == 0  # a missing value is drawn in the first class
    # a hand-computed case: three clear groups
    cls, bins = _classes(np.array([1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 30.0]), k=3)
    assert bins == [3.0, 12.0, 30.0] and cls.tolist() == [0, 0, 0, 1, 1, 1, 2]
