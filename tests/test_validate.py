"""Canonicalisation and validation of layers (geoagri.validate)."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from geoagri.errors import CRSError, GeoagriWarning, GeometryError, LayerError, SchemaError
from geoagri.validate import canonicalize, layer_info, repairs

UTM = "EPSG:32648"  # UTM 48N: 1 km² = 100 ha


def zones_frame(**overrides) -> gpd.GeoDataFrame:
    data = {
        "zone_id": ["Z1", "Z2", "Z3"],
        "zone_kind": ["linkage", "Liên kết sản xuất", "vùng nguyên liệu"],
        "crop": ["rice", "rice", "lotus"],
        "season": ["Đông Xuân 2023-2024", "HT 2024", None],
        "declared_area_ha": [100.0, 25.0, 400.0],
    }
    data.update(overrides.pop("data", {}))
    geoms = overrides.pop("geometry", [
        box(500_000, 1_200_000, 501_000, 1_201_000),  # 100 ha
        box(501_000, 1_200_000, 501_500, 1_200_500),  # 25 ha
        box(502_000, 1_200_000, 504_000, 1_202_000),  # 400 ha
    ])
    return gpd.GeoDataFrame(data, geometry=geoms, crs=overrides.pop("crs", UTM))


def test_canonical_values_types_and_order():
    raw = zones_frame(data={"extra": [1, 2, 3]})
    out = canonicalize(raw, "zones")
    assert out["zone_kind"].tolist() == ["linkage", "linkage", "production"]
    assert out["season"].tolist() == ["DX 2023-2024", "HT 2024", None]
    assert list(out.columns[:2]) == ["zone_id", "zone_kind"]
    assert out.columns[-1] == "geometry" and "extra" in out.columns
    assert out.crs == raw.crs
    np.testing.assert_allclose(out.area / 1e4, [100, 25, 400])
    info = layer_info(out)
    assert info["kind"] == "zones" and info["repairs"] == []


def test_input_is_not_modified():
    raw = zones_frame()
    before = raw.copy()
    canonicalize(raw, "zones")
    pd.testing.assert_frame_equal(pd.DataFrame(raw), pd.DataFrame(before))


def test_numeric_ids_become_strings():
    raw = gpd.GeoDataFrame({"commune_id": [27781.0, 27784], "commune_name": ["a", "b"]},
                           geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=UTM)
    out = canonicalize(raw, "communes")
    assert out["commune_id"].tolist() == ["27781", "27784"]


def test_missing_required_column_lists_columns_found():
    raw = zones_frame().drop(columns="zone_kind")
    with pytest.raises(LayerError, match=r"zone_kind.*columns found: \['zone_id', 'crop'") as exc:
        canonicalize(raw, "zones", layer="vung_lk")
    assert exc.value.codes == {"missing_column"}
    assert "vung_lk" in str(exc.value)


def test_every_problem_is_collected_at_once():
    bowtie = Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])
    raw = zones_frame(
        data={"zone_id": ["Z1", "Z1", None], "zone_kind": ["linkage", "linkage", "orchard"],
              "declared_area_ha": [-5.0, 1.0, 2.0]},
        geometry=[bowtie, None, LineString([(0, 0), (1, 1)])])
    with pytest.raises(LayerError) as exc:
        canonicalize(raw, "zones", layer="zones")
    err = exc.value
    assert {"duplicate_id", "missing_id", "vocabulary", "negative", "invalid_geometry",
            "null_geometry", "geometry_type"} <= err.codes
    text = str(err)
    assert "'orchard'" in text and "Self-intersection" in text and "row 2" in text
    assert "declared_area_ha" in text
    # one error, catchable as any of the families it spans
    assert isinstance(err, SchemaError) and isinstance(err, GeometryError)


def test_empty_geometry_and_ranges():
    raw = gpd.GeoDataFrame(
        {"work_id": ["W1", "W2"], "work_type": ["kênh", "cống"], "status": ["hoàn thành", "x"],
         "state_share_pct": [70, 130], "cost_vnd": [1e9, -1.0]},
        geometry=[LineString(), Point(1, 1)], crs=UTM)
    with pytest.raises(LayerError) as exc:
        canonicalize(raw, "works")
    assert {"empty_geometry", "vocabulary", "range", "negative"} <= exc.value.codes
    assert "W2" in str(exc.value) and "state_share_pct" in str(exc.value)


def test_repair_reports_each_repair_and_drops_nothing():
    bowtie = Polygon([(500_000, 1_200_000), (500_200, 1_200_200), (500_200, 1_200_000),
                      (500_000, 1_200_200)])
    raw = zones_frame(geometry=[bowtie, box(501_000, 1_200_000, 501_500, 1_200_500),
                                box(502_000, 1_200_000, 504_000, 1_202_000)])
    with pytest.warns(GeoagriWarning, match=r"repaired 1 invalid geometry \(Z1: Self-int"):
        out = canonicalize(raw, "zones", repair=True)
    assert len(out) == len(raw) and out.is_valid.all()
    rep = repairs(out)
    assert rep["id"].tolist() == ["Z1"]
    # the bow-tie's two triangles: 2 × (½ · 200 m · 100 m) = 20,000 m² = 2 ha
    assert rep.loc[0, "area_after_ha"] == pytest.approx(2.0)
    assert out.geometry.iloc[0].geom_type == "MultiPolygon"


def test_repair_that_collapses_is_still_an_error():
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])
    raw = zones_frame(geometry=[flat, box(0, 0, 1, 1), box(1, 1, 2, 2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoagriWarning)
        with pytest.raises(LayerError, match="collapse to nothing"):
            canonicalize(raw, "zones", repair=True)


def test_dbf_truncated_and_case_variant_names_are_mapped():
    raw = gpd.GeoDataFrame({"COMMUNE_ID": ["1"], "commune_na": ["Xã A"]},
                           geometry=[box(0, 0, 1, 1)], crs=UTM)
    out = canonicalize(raw, "communes")
    assert out.loc[0, "commune_name"] == "Xã A"


def test_rename_naming_an_absent_column_is_an_error():
    raw = zones_frame()
    with pytest.raises(LayerError, match=r"rename names column\(s\) \['TEN'\]"):
        canonicalize(raw, "zones", rename={"TEN": "crop"})


def test_missing_crs_is_reported():
    raw = zones_frame(crs=None)
    with pytest.raises(CRSError, match="zones"):
        canonicalize(raw, "zones")


def test_text_is_nfc():
    import unicodedata

    nfd = unicodedata.normalize("NFD", "Xã Tuyên Bình Tây")
    raw = gpd.GeoDataFrame({"commune_id": ["1"], "commune_name": [nfd]},
                           geometry=[box(0, 0, 1, 1)], crs=UTM)
    out = canonicalize(raw, "communes")
    assert out.loc[0, "commune_name"] == unicodedata.normalize("NFC", nfd)
    assert out.loc[0, "commune_name"] != nfd


def test_targets_table_and_duplicate_keys():
    table = pd.DataFrame({
        "indicator": ["linkage_area", "linkage_area"], "unit": ["ha", "ha"],
        "scope": ["huyện", "district"], "scope_id": ["Vĩnh Hưng", "Vĩnh Hưng"],
        "year": [2024, 2024], "source": ["Nghị quyết", "resolution"],
        "target": [21227, 21227]})
    with pytest.raises(LayerError, match="repeat the same"):
        canonicalize(table, "targets")
    ok = canonicalize(table.iloc[:1], "targets")
    assert ok.loc[0, "source"] == "resolution" and ok.loc[0, "scope"] == "district"
    assert not isinstance(ok, gpd.GeoDataFrame)


def test_bool_and_int_columns():
    raw = gpd.GeoDataFrame(
        {"coop_id": ["H1", "H2", "H3"], "name": ["a", "b", "c"],
         "coop_type": ["Hợp tác xã", "THT", "hội quán"], "high_tech": ["có", "không", "maybe"],
         "members": [12, 7.5, 3]},
        geometry=[Point(0, 0), Point(1, 1), Point(2, 2)], crs=UTM)
    with pytest.raises(LayerError) as exc:
        canonicalize(raw, "cooperatives")
    text = str(exc.value)
    assert "'maybe'" in text and "not whole numbers" in text and "H2" in text
    good = raw.assign(high_tech=["có", "không", None], members=[12, 7, 3])
    out = canonicalize(good, "cooperatives")
    assert out["coop_type"].tolist() == ["htx", "tht", "hoi_quan"]
    assert out["high_tech"].tolist() == [True, False, None]
    assert out["members"].dtype == "Int64"


def test_empty_layer_in_degrees_is_valid_and_keeps_its_columns():
    # no coordinates to check against the declared CRS: not a "wrong CRS" error
    empty = gpd.GeoDataFrame({"pump_id": [], "status": []}, geometry=[], crs="EPSG:4326")
    out = canonicalize(empty, "pumps")
    assert len(out) == 0 and {"pump_id", "status"} <= set(out.columns)
    assert out.crs.to_epsg() == 4326
    # with coordinates, degrees labelled as metres are still caught
    wrong = gpd.GeoDataFrame({"pump_id": ["TB1"], "status": ["operating"]},
                             geometry=gpd.points_from_xy([105.8], [10.9]), crs="EPSG:9210")
    with pytest.raises(CRSError, match="look like lon/lat degrees"):
        canonicalize(wrong, "pumps")


def test_a_merge_does_not_change_what_area_by_zone_groups_by():
    """attrs are lost in a merge with a table that has none; the id column tells the kind."""
    import geopandas as gpd

    from geoagri.area import area_by_zone
    from geoagri.datasets import demo
    from geoagri.validate import kind_of

    plan = demo()
    zones = plan["zones"]
    partners = pd.DataFrame({"zone_id": zones["zone_id"], "partner": "HTX Tuyên Bình"})
    merged = gpd.GeoDataFrame(zones.merge(partners, on="zone_id"), crs=zones.crs)
    assert merged.attrs.get("geoagri") is None  # what the review reproduced
    before = area_by_zone(zones, plan["communes"], crs=plan.metric_crs)
    after = area_by_zone(merged, plan["communes"], crs=plan.metric_crs)
    assert "zone_kind" in after.columns
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True),
                                  check_like=True)
    plain = gpd.GeoDataFrame({"name": ["a"]}, geometry=zones.geometry.iloc[:1].to_numpy(),
                             crs=zones.crs)
    with pytest.warns(GeoagriWarning, match="kind is not known"):
        assert kind_of(plain) is None


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_coordinates_that_are_not_numbers_in_every_part():
    """NaN or infinite x/y anywhere (a hole, a second part) is named; a NaN z is not."""
    nan, inf = float("nan"), float("inf")
    x, y = 500_000, 1_200_000
    square = box(x, y, x + 1000, y + 1000)
    holed = Polygon(square.exterior.coords, [[(x + 100, y + 100), (x + 200, y + 100),
                                              (x + 200, nan), (x + 100, y + 100)]])
    second = Polygon([(x + 2000, y), (x + 2100, y), (x + 2100, inf), (x + 2000, y)])
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2", "Z3", "Z4", "Z5"], "zone_kind": ["linkage"] * 5},
        geometry=[square, holed, shapely.MultiPolygon([square, second]),
                  Polygon([(x, y, 1.0), (x + 10, y, nan), (x + 10, y + 10, 2.0)]),
                  Polygon([(x, y), (nan, y), (x + 10, y + 10)])], crs=UTM)
    with pytest.raises(LayerError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoagriWarning)
        canonicalize(zones, "zones")
    found = next(p for p in err.value.problems if p.code == "non_finite")
    assert list(found.ids) == ["Z2", "Z3", "Z5"]
    # asked to repair, they are still named, never repaired away (make_valid would drop
    # Z3's second part and refuse Z2's hole), while a bow-tie beside them is repaired
    bowtie = Polygon([(x, y), (x + 100, y + 100), (x + 100, y), (x, y + 100)])
    zones = pd.concat([zones, gpd.GeoDataFrame(
        {"zone_id": ["Z6"], "zone_kind": ["linkage"]}, geometry=[bowtie], crs=UTM)],
        ignore_index=True)
    with pytest.raises(LayerError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoagriWarning)
        canonicalize(zones, "zones", repair=True)
    assert [p.code for p in err.value.problems] == ["non_finite"]
    assert list(err.value.problems[0].ids) == ["Z2", "Z3", "Z5"]
    ok = canonicalize(zones[zones["zone_id"].isin(["Z1", "Z6"])], "zones", repair=True)
    assert ok.geometry.area.tolist() == pytest.approx([1e6, 5e3])  # two 50 × 50 m triangles
