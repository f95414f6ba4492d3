"""Tests of geoagri.crs: VN-2000 zones, metric CRS and measures, coordinate sniffing."""

from __future__ import annotations

import json
import logging
import re
import unicodedata
import warnings
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import CRS
from shapely import LineString, Point, Polygon, box

from geoagri import crs as gcrs
from geoagri.crs import (
    CoordinateGuess,
    area_ha,
    geodesic_area_ha,
    geodesic_length_km,
    length_km,
    metric_crs,
    require_crs,
    require_layer,
    sniff_coordinates,
    vn2000_epsg,
    vn2000_provinces,
    vn2000_zones,
)
from geoagri.errors import CRSError, GeoagriWarning, SchemaError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COMMUNES = DATA / "communes_2025" / "communes_2025.gpkg"
# Hoàng Sa and Trường Sa lie 3-6° east of any TM-3 zone of the mainland.
ARCHIPELAGOS = {"Hoàng Sa", "Trường Sa"}


def _plain(text: str) -> str:
    text = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return re.sub(r"[^a-z]", "", "".join(c for c in text if not unicodedata.combining(c)))


def _legacy(sql: str) -> list[dict]:
    from vietnamadminunits.database.main import query

    return query(sql)


# --------------------------------------------------------------------------
# Zone tables
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "era", "epsg"),
    [
        ("Long An", "old", 9210),
        ("tỉnh long an", "old", 9210),
        ("LONG AN", "old", 9210),
        ("80", "old", 9210),
        ("Cà Mau", "old", 9207),
        ("Đồng Tháp", "old", 5897),
        ("Quảng Ngãi", "old", 5898),
        ("An Giang", "old", 9208),
        ("Hà Nội", "old", 5897),
        ("Hà Tây", "old", 5897),
        ("TP. Hồ Chí Minh", "old", 9210),
        ("Thành phố Hồ Chí Minh", "old", 9210),
        ("Huế", "old", 9214),
        ("Thừa Thiên Huế", "old", 9214),
        ("Thừa Thiên - Huế", "new", 9214),
        ("Bà Rịa–Vũng Tàu", "old", 5899),
        ("Đắc Nông", "old", 9218),
        ("Thanh Hoá", "old", 5897),
        ("Kon Tum", "old", 9216),
        ("Lạng Sơn", "old", 9215),
        ("Tây Ninh", "new", 9209),
        ("Gia Lai", "new", 9218),
        ("Đồng Tháp", "new", 5897),
        ("80", "new", 9209),  # new code 80 is Tây Ninh
    ],
)
def test_vn2000_epsg_spellings(name, era, epsg):
    assert vn2000_epsg(name, era=era) == epsg


def test_every_old_province_of_the_legacy_table_has_a_zone():
    rows = _legacy("SELECT DISTINCT provinceCode, province FROM admin_units_legacy")
    assert len(rows) == 63
    for row in rows:
        by_name = vn2000_epsg(row["province"], era="old")
        assert by_name == vn2000_epsg(row["provinceCode"], era="old"), row
        assert CRS.from_epsg(by_name).is_projected


def test_every_new_province_has_a_zone_and_its_code_matches():
    rows = _legacy("SELECT DISTINCT provinceCode, province FROM admin_units")
    assert len(rows) == 34
    for row in rows:
        assert vn2000_epsg(row["province"], era="new") == vn2000_epsg(
            row["provinceCode"], era="new"
        ), row
    assert len(vn2000_provinces(era="new")) == 34
    assert len(vn2000_provinces(era="old")) == 63


def test_zone_meridians_match_epsg():
    for name in vn2000_provinces(era="old"):
        epsg = vn2000_epsg(name)
        params = {p.name: p.value for p in CRS.from_epsg(epsg).coordinate_operation.params}
        assert params["Longitude of natural origin"] == gcrs._EPSG_MERIDIAN[epsg]
        assert params["Scale factor at natural origin"] == pytest.approx(0.9999)


def test_zones_agree_with_epsg_area_of_use_texts():
    """Each 92xx / 5899 area of use lists its provinces; ours must be the same set."""
    for epsg in [*range(9205, 9219), 5899]:
        text = CRS.from_epsg(epsg).area_of_use.name.removeprefix("Vietnam - ")
        text = re.sub(r"\b(provinces?|cities|city|municipality)\b", "", text)
        listed = {_plain(p) for p in re.split(r",|;|\band\b", text) if p.strip()}
        listed_codes = {gcrs._province_code(name, "old") for name in listed}
        ours = {code for code, _, lon in gcrs._OLD if gcrs._MERIDIAN_EPSG[lon] == epsg}
        assert listed_codes == ours, epsg


def test_new_provinces_are_the_mergers_of_the_converter_data():
    path = resources.files("vietnamadminunits") / "data" / "converter_2025.json"
    mergers = json.loads(path.read_text(encoding="utf-8"))["DICT_PROVINCE"]
    old_by_key = {_plain(r["province"]): r["provinceCode"] for r in _legacy(
        "SELECT DISTINCT provinceCode, province FROM admin_units_legacy")}
    new_by_key = {_plain(r["province"]): r["provinceCode"] for r in _legacy(
        "SELECT DISTINCT provinceCode, province FROM admin_units")}
    expected = {
        new_by_key[new]: {old_by_key[o] for o in olds} for new, olds in mergers.items()
    }
    ours = {code: set(parts) for code, _, parts in gcrs._NEW}
    assert ours == expected
    for _, name, parts in gcrs._NEW:  # the first part is the old province whose name it keeps
        assert _plain(name) in _plain(gcrs._OLD_BY_CODE[parts[0]][0]), name


@pytest.mark.parametrize(
    ("name", "zones"),
    [
        ("Tây Ninh", [9209, 9210]),
        ("Đồng Tháp", [5897, 9210]),
        ("An Giang", [9208, 9207]),
        ("Cà Mau", [9207, 5897]),
        ("Cần Thơ", [5897, 9209]),
        ("Vĩnh Long", [9209, 9210]),
        ("Hồ Chí Minh", [9210, 5899]),
        ("Lâm Đồng", [5899, 9218]),
        ("Hà Nội", [5897]),
        ("Khánh Hòa", [9217]),
    ],
)
def test_vn2000_zones_new(name, zones):
    assert vn2000_zones(name, era="new") == zones


def test_vn2000_zones_cover_every_old_constituent():
    for _, name, parts in gcrs._NEW:
        zones = vn2000_zones(name, era="new")
        assert zones[0] == vn2000_epsg(name, era="new")
        assert len(zones) == len(set(zones))
        assert set(zones) == {vn2000_epsg(p, era="old") for p in parts}
    assert vn2000_zones("Long An", era="old") == [9210]


def test_unknown_province_names_close_matches():
    with pytest.raises(CRSError, match=r"unknown province 'Long Ann'.*'Long An'"):
        vn2000_epsg("Long Ann")
    with pytest.raises(CRSError, match=r"unknown province 'Atlantis'.*known provinces"):
        vn2000_epsg("Atlantis")


def test_old_province_with_new_era_points_to_its_new_province():
    with pytest.raises(CRSError, match=r"Long An.*now part of Tây Ninh.*era='old'"):
        vn2000_epsg("Long An", era="new")


def test_bad_era_and_empty_name():
    with pytest.raises(CRSError, match=r"era must be 'old'.*'2025'"):
        vn2000_epsg("Long An", era="2025")
    with pytest.raises(CRSError, match="non-empty name"):
        vn2000_epsg("  ")
    with pytest.raises(CRSError, match="era must be"):
        vn2000_provinces(era="later")


# --------------------------------------------------------------------------
# Metric CRS and measures on hand-made data
# --------------------------------------------------------------------------


def _longan_points() -> gpd.GeoSeries:
    """Points across old Long An (Tân Hưng, Mộc Hóa, Tân An, Cần Giuộc, Đức Hòa)."""
    pts = [(105.67, 10.83), (105.93, 10.78), (106.41, 10.54), (106.66, 10.57), (106.40, 10.88)]
    return gpd.GeoSeries([Point(p) for p in pts], crs=4326)


def test_metric_crs_order_and_logging(caplog):
    pts = _longan_points()  # logged at DEBUG: a plan logs its resolved context once, at INFO
    with caplog.at_level(logging.DEBUG, logger="geoagri"):
        assert metric_crs(pts, crs="EPSG:32648").to_epsg() == 32648
        assert metric_crs(pts, province="Long An").to_epsg() == 9210
        assert metric_crs(pts, province="Tây Ninh", era="new").to_epsg() == 9209
        assert metric_crs(pts).to_epsg() == 32648
    text = caplog.text
    assert "metric CRS: EPSG:9210 VN-2000 / TM-3 105-45 (province Long An)" in text
    assert "EPSG:32648" in text and "explicit setting" in text and "UTM zone" in text


def test_metric_crs_centres_a_local_tm_when_utm_is_too_far():
    # Lâm Đồng-like extent straddling 108°E: UTM 49N's meridian (111°) is 3° away.
    chosen = metric_crs((107.3, 11.2, 108.7, 12.3))
    assert chosen.to_epsg() is None
    assert "transverse Mercator 108.0E" in chosen.name
    assert gcrs._scale_errors(chosen, (107.3, 11.2, 108.7, 12.3))[0] < 0.001
    assert gcrs._scale_errors(CRS.from_epsg(32649), (107.3, 11.2, 108.7, 12.3))[0] > 0.001


def test_metric_crs_errors():
    pts = _longan_points()
    with pytest.raises(CRSError, match=r"not projected.*pass a projected CRS in metres"):
        metric_crs(pts, crs="EPSG:4326")
    with pytest.raises(CRSError, match=r"not metres"):
        metric_crs(pts, crs="EPSG:2227")  # US survey feet
    with pytest.raises(CRSError, match=r"not a CRS pyproj understands"):
        metric_crs(pts, crs="EPSG:999999")
    with pytest.raises(CRSError, match=r"has no CRS.*set_crs"):
        metric_crs(gpd.GeoSeries([Point(106, 10)]))
    with pytest.raises(CRSError, match=r"without coordinates.*crs= or province="):
        metric_crs(gpd.GeoSeries([], crs=4326))
    with pytest.raises(CRSError, match=r"bounds must be"):
        metric_crs((1.0, 2.0, 3.0))
    with pytest.raises(CRSError, match="unknown province"):
        metric_crs(pts, province="Nowhere")


def test_metric_crs_warns_far_from_meridian():
    far = gpd.GeoSeries([Point(108.5, 12.0)], crs=4326)  # Đắk Lắk, 2.75° from 105.75
    with pytest.warns(GeoagriWarning, match=r"EPSG:9210.*areas may be off by up to 0\.\d\d%"):
        metric_crs(far, province="Long An")


def test_area_and_length_on_a_utm_square():
    # A 1 km square and a 3-4-5 line in UTM 48N, measured in UTM 48N: exact.
    geoms = gpd.GeoSeries(
        [box(600_000, 1_160_000, 601_000, 1_161_000),
         LineString([(600_000, 1_160_000), (603_000, 1_164_000)]),
         None],
        index=["sq", "line", "none"],
        crs=32648,
    )
    before = geoms.copy()
    area = area_ha(geoms, crs=32648)
    length = length_km(geoms, crs=32648)
    assert area.name == "area_ha" and length.name == "length_km"
    assert list(area.index) == ["sq", "line", "none"]
    assert area["sq"] == pytest.approx(100.0) and area["line"] == 0
    assert length["sq"] == pytest.approx(4.0) and length["line"] == pytest.approx(5.0)
    assert np.isnan(area["none"]) and np.isnan(length["none"])
    assert geoms.equals(before) and geoms.crs.to_epsg() == 32648


def test_area_in_tm3_matches_geodesic_and_utm_scale_shows():
    square = gpd.GeoDataFrame(
        geometry=[box(600_000, 1_160_000, 601_000, 1_161_000)], crs=32648
    )
    geodesic = geodesic_area_ha(square).iloc[0]
    tm3 = area_ha(square, province="Long An").iloc[0]
    # 106.0°E is 0.25° from the 105°45' meridian: scale 0.9999 · (1 + 9e-6), area ×0.99982
    assert tm3 / geodesic == pytest.approx(0.99982, abs=3e-5)
    # in its own UTM zone the square is 100 ha exactly; 100.5 km east of the meridian
    # the UTM scale is 0.9996 · (1 + x²/2R²), so the true area is larger by 1/scale²
    scale = 0.9996 * (1 + 100.5**2 / (2 * 6371**2))
    assert geodesic / 100 == pytest.approx(1 / scale**2, abs=2e-5)


def test_geodesic_area_ignores_ring_orientation_and_subtracts_holes():
    outer = [(106.0, 10.0), (106.01, 10.0), (106.01, 10.01), (106.0, 10.01)]
    hole = [(106.002, 10.002), (106.004, 10.002), (106.004, 10.004), (106.002, 10.004)]
    ccw = Polygon(outer, [hole])
    cw = Polygon(outer[::-1], [hole[::-1]])
    areas = geodesic_area_ha(gpd.GeoSeries([ccw, cw, Polygon(outer)], crs=4326))
    assert areas[0] == pytest.approx(areas[1])
    assert areas[2] - areas[0] == pytest.approx(areas[2] * 0.04, rel=1e-3)


def test_geodesic_length_and_errors():
    line = gpd.GeoSeries([LineString([(105.0, 10.0), (106.0, 10.0)]), None], crs=4326)
    km = geodesic_length_km(line)
    assert km[0] == pytest.approx(109.6, abs=0.2)  # 1° of longitude at 10°N
    assert np.isnan(km[1])
    with pytest.raises(CRSError, match="has no CRS"):
        geodesic_area_ha(gpd.GeoSeries([Point(1, 1)]))
    with pytest.raises(TypeError, match="expected a GeoDataFrame or GeoSeries"):
        area_ha([Point(1, 1)])  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# Real communes
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    if not COMMUNES.exists():
        pytest.skip(f"shared reference data not found at {COMMUNES}")
    gdf = gpd.read_file(COMMUNES)
    gdf["geodesic_ha"] = geodesic_area_ha(gdf)
    return gdf


def test_real_geodesic_area_matches_file_column(communes):
    ratio = communes["geodesic_ha"] / communes["area_ha_utm48n"]
    assert ratio.median() == pytest.approx(1.0, abs=0.002)


def test_all_34_provinces_tm3_and_fallback_within_0_1_percent(communes):
    mainland = communes[~communes["name"].isin(ARCHIPELAGOS)]
    assert len(mainland) == len(communes) - 2
    assert communes["province"].nunique() == 34
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeoagriWarning)  # no distortion warning either
        for province, sub in mainland.groupby("province"):
            geodesic = sub["geodesic_ha"]
            tm3 = area_ha(sub, province=province, era="new")
            fallback = area_ha(sub)
            assert ((tm3 / geodesic - 1).abs() < 0.001).all(), province
            assert ((fallback / geodesic - 1).abs() < 0.001).all(), province


def test_archipelagos_are_outside_the_tm3_zones_and_warned(communes):
    khanh_hoa = communes[communes["province"] == "Khánh Hòa"]
    with pytest.warns(GeoagriWarning, match="EPSG:9217"):
        tm3 = area_ha(khanh_hoa, province="Khánh Hòa", era="new")
    err = (tm3 / khanh_hoa["geodesic_ha"] - 1).abs()
    assert err[khanh_hoa["name"] == "Trường Sa"].iloc[0] > 0.005


def test_plain_utm_and_web_mercator_miss_0_1_percent(communes):
    """The checks above can fail: plain UTM and EPSG:3857 do."""
    sub = communes[communes["province"] == "Lâm Đồng"]
    utm = sub.estimate_utm_crs()
    assert utm.to_epsg() == 32649
    err_utm = (sub.to_crs(utm).area / 10_000 / sub["geodesic_ha"] - 1).abs()
    assert (err_utm > 0.001).sum() > 50
    for province, sub in communes.groupby("province"):
        err = (sub.to_crs(3857).area / 10_000 / sub["geodesic_ha"] - 1).abs()
        assert (err > 0.02).all(), province


def test_real_lengths_tm3_vs_geodesic(communes):
    sub = communes[communes["province"] == "Tây Ninh"]
    ratio = length_km(sub, province="Tây Ninh", era="new") / geodesic_length_km(sub)
    assert ((ratio - 1).abs() < 0.001).all()


# --------------------------------------------------------------------------
# Sniffing coordinates and requiring a CRS
# --------------------------------------------------------------------------


def _no_crs(gs: gpd.GeoSeries) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries(list(gs.geometry)))


def _swap(gs: gpd.GeoSeries) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(p.y, p.x) for p in gs])


def test_sniff_kinds():
    assert sniff_coordinates((105.9, 10.4, 106.4, 10.9)).kind == "lonlat"
    assert sniff_coordinates((10.4, 105.9, 10.9, 106.4)).kind == "latlon_swapped"
    assert sniff_coordinates((0.0, 0.0, 50.0, 40.0)).kind == "unknown"
    assert sniff_coordinates((11.8e6, 1.1e6, 11.9e6, 1.2e6)).kind == "unknown"  # web mercator
    nan = sniff_coordinates((np.nan,) * 4)
    assert nan.kind == "unknown" and "no coordinates" in nan.message
    sea = sniff_coordinates((150_000, 2_600_000, 160_000, 2_610_000))
    assert sea.kind == "projected_vn" and sea.candidates == ()
    assert "no VN-2000 TM-3 or UTM zone" in sea.message
    assert isinstance(sea, CoordinateGuess)
    with pytest.raises(CRSError, match="bounds must be"):
        sniff_coordinates((1, 2))


def test_sniff_long_an_tm3_names_zone_and_province():
    projected = _longan_points().to_crs(9210)
    guess = sniff_coordinates(projected.total_bounds)
    assert guess.kind == "projected_vn"
    assert guess.candidates[0] == 9210
    assert "Long An" in guess.provinces
    assert "EPSG:9210" in guess.message and "Long An" in guess.message
    assert "pass crs='EPSG:9210' to read_layer" in guess.message
    assert {3405, 32648} <= set(guess.candidates)


def test_sniff_ranks_true_zone_first_for_most_provinces():
    """Every old province's extent, projected in its zone, is recognised."""
    first = 0
    for (era, code), (x0, y0, x1, y1) in gcrs._province_boxes().items():
        if era != "old":
            continue
        epsg = vn2000_epsg(code)
        xs, ys = gcrs.Transformer.from_crs(4326, epsg, always_xy=True).transform(
            [x0, x1, x0, x1], [y0, y0, y1, y1]
        )
        guess = sniff_coordinates((min(xs), min(ys), max(xs), max(ys)))
        assert epsg in guess.candidates, code
        first += guess.candidates[0] == epsg
    assert first >= 60


def test_require_crs_missing_names_zone_and_layer():
    data = _no_crs(_longan_points().to_crs(9210))
    with pytest.raises(CRSError, match=r"layer 'zones' has no CRS.*EPSG:9210.*Long An"):
        require_crs(data, layer="zones")


def test_require_crs_swapped_projected():
    data = _swap(_longan_points().to_crs(9210))
    with pytest.raises(CRSError, match=r"has no CRS.*x and y swapped.*EPSG:9210"):
        require_crs(data, layer="zones")
    with pytest.raises(CRSError, match=r"declares EPSG:9210.*x and y swapped"):
        require_crs(data, layer="zones", crs="EPSG:9210")


def test_require_crs_swapped_lonlat():
    data = _swap(_longan_points())
    with pytest.raises(CRSError, match=r"lat/lon degrees.*swapped.*EPSG:4326"):
        require_crs(data, layer="models")
    tagged = data.set_crs(4326)
    with pytest.raises(CRSError, match=r"declares EPSG:4326.*swapped"):
        require_crs(tagged, layer="models")


def test_require_crs_ok_cases_do_not_copy_or_change():
    tagged = gpd.GeoDataFrame(geometry=_longan_points())
    assert require_crs(tagged, layer="models") is tagged
    assert require_crs(tagged, layer="models", crs=4326) is tagged
    bare = _no_crs(_longan_points())
    out = require_crs(bare, layer="models", crs="EPSG:4326")
    assert out.crs.to_epsg() == 4326 and bare.crs is None
    assert out.geometry.equals(bare.geometry)
    metric = _no_crs(_longan_points().to_crs(9210))
    assert require_crs(metric, layer="zones", crs=9210).crs.to_epsg() == 9210


def test_require_crs_lonlat_tagged_as_vn2000():
    wrong = gpd.GeoDataFrame(geometry=gpd.GeoSeries(list(_longan_points()), crs=9210))
    with pytest.raises(CRSError, match=r"declares EPSG:9210.*look like lon/lat.*EPSG:4326"):
        require_crs(wrong, layer="communes")
    with pytest.raises(CRSError, match=r"declares EPSG:9210.*look like lon/lat"):
        require_crs(_no_crs(_longan_points()), layer="communes", crs="EPSG:9210")


def test_require_crs_metres_tagged_as_degrees():
    wrong = gpd.GeoDataFrame(
        geometry=gpd.GeoSeries(list(_longan_points().to_crs(9210)), crs=4326)
    )
    with pytest.raises(CRSError, match=r"declares EPSG:4326.*not degrees.*EPSG:9210"):
        require_crs(wrong, layer="communes")


def test_require_crs_conflicting_crs_argument():
    tagged = gpd.GeoDataFrame(geometry=_longan_points())
    with pytest.raises(CRSError, match=r"already has CRS EPSG:4326.*to_crs\('EPSG:9210'\)"):
        require_crs(tagged, layer="models", crs="EPSG:9210")
    with pytest.raises(CRSError, match="not a CRS pyproj understands"):
        require_crs(_no_crs(_longan_points()), layer="models", crs="no such crs")


def test_require_crs_empty_layer_without_crs():
    with pytest.raises(CRSError, match=r"layer 'empty' has no CRS.*no coordinates"):
        require_crs(gpd.GeoDataFrame(geometry=gpd.GeoSeries([])), layer="empty")


# ----------------------------------------------------------------------------- require_layer


def test_require_layer_returns_the_layer_itself():
    gdf = gpd.GeoDataFrame({"status": ["operating"] * 5}, geometry=_longan_points())
    assert require_layer(gdf, name="pumps", func="coverage", columns=["status"]) is gdf
    wrapped = require_layer(_longan_points(), name="targets", func="route_power_lines",
                            series=True)
    assert isinstance(wrapped, gpd.GeoDataFrame) and wrapped.crs.to_epsg() == 4326
    assert wrapped.geometry.equals(_longan_points())


def test_require_layer_wrong_type_names_function_layer_and_type():
    with pytest.raises(SchemaError, match=r"^coverage: zones must be a GeoDataFrame, got "
                                          r"DataFrame; read the layer with"):
        require_layer(pd.DataFrame({"a": [1]}), name="zones", func="coverage")
    with pytest.raises(SchemaError, match=r"pumps must be a GeoDataFrame, got GeoSeries"):
        require_layer(_longan_points(), name="pumps", func="coverage")
    with pytest.raises(SchemaError, match=r"must be a GeoDataFrame or GeoSeries, got list"):
        require_layer([Point(0, 0)], name="targets", func="route_power_lines", series=True)


def test_require_layer_no_crs_says_what_the_coordinates_look_like():
    with pytest.raises(CRSError, match=r"^site_pump_stations: layer 'demand' has no CRS.*"
                                       r"like lon/lat degrees.*demand\.set_crs\('EPSG:4326'\)"):
        require_layer(_no_crs(_longan_points()), name="demand", func="site_pump_stations")
    metres = _no_crs(_longan_points().to_crs(9210))
    with pytest.raises(CRSError, match=r"like metres of EPSG:9210 .*"
                                       r"power\.set_crs\('EPSG:9210'\)"):
        require_layer(metres, name="power", func="gaps")
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([]))
    with pytest.raises(CRSError, match=r"no coordinates to judge.*set_crs\('EPSG:\.\.\.'\)"):
        require_layer(empty, name="zones", func="coverage")


def test_require_layer_missing_columns_lists_what_is_there():
    gdf = gpd.GeoDataFrame({"pump_id": ["P1"] * 5}, geometry=_longan_points())
    with pytest.raises(SchemaError, match=r"^gaps: layer 'pumps' has no column\(s\) "
                                          r"\['status'\]; its columns are \['pump_id'\]"):
        require_layer(gdf, name="pumps", func="gaps", columns=["pump_id", "status"])


def test_outside_area_of_use_whole_box_and_corner_by_corner():
    """UTM 48N is used between 102°E and 108°E, 0° and 84°N; 10° of margin are accepted."""
    from pyproj import Transformer

    to_utm = Transformer.from_crs(4326, 32648, always_xy=True)

    def points(*lonlat):
        x, y = to_utm.transform(*zip(*lonlat, strict=True))
        return gpd.GeoSeries(gpd.points_from_xy(x, y), crs="EPSG:32648")

    inside = points((103.0, 9.0), (107.5, 22.0), (105.0, 10.5))
    b = inside.total_bounds
    assert gcrs._box_within_area(tuple(b), inside.crs, inside.crs.area_of_use)
    assert gcrs.outside_area_of_use(inside).tolist() == [False, False, False]
    # 6° east of the area: within the margin, though the layer's box is not within the area
    near = points((103.0, 9.0), (114.0, 10.0))
    assert not gcrs._box_within_area(tuple(near.total_bounds), near.crs, near.crs.area_of_use)
    assert gcrs.outside_area_of_use(near).tolist() == [False, False]
    # 12° east, and a lost minus sign on a latitude: outside
    far = points((103.0, 9.0), (120.0, 10.0), (105.0, -15.0))
    assert gcrs.outside_area_of_use(far).tolist() == [False, True, True]
    # degrees, in a geographic CRS: the box is compared as it is
    lonlat = gpd.GeoSeries([Point(105, 10), Point(106, 11)], crs="EPSG:4326")
    assert gcrs.outside_area_of_use(lonlat).tolist() == [False, False]
