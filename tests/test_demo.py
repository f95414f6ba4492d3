"""Tests of the synthetic demo district (geoagri.datasets)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from geoagri.datasets import demo_cache_dir, demo_plan_path
from geoagri.datasets.synthetic import (
    LINKAGE_AREA_HA,
    METRIC_CRS,
    build_layers,
    main,
    write_demo,
)
from geoagri.schema import SEASON_PATTERN, spec

DATA = Path(__file__).resolve().parents[1] / "data"
KINDS = ("communes", "zones", "models", "works", "power", "pumps", "cooperatives", "parcels",
         "targets")


@pytest.fixture(scope="module")
def layers():
    return build_layers()


@pytest.fixture(scope="module")
def communes_m(layers):
    return layers["communes"].to_crs(METRIC_CRS)


# ----------------------------------------------------------------------------- helpers


def _same_values(a: pd.Series, b: pd.Series, *, what: str) -> None:
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    assert len(a) == len(b), what
    if pd.api.types.is_bool_dtype(b):
        assert a.astype(bool).tolist() == b.tolist(), what
    elif pd.api.types.is_numeric_dtype(b):
        np.testing.assert_allclose(pd.to_numeric(a).astype(float), b.astype(float),
                                   rtol=1e-9, atol=1e-9, equal_nan=True, err_msg=what)
    else:
        def text(s: pd.Series) -> list[str]:
            return ["" if pd.isna(v) else str(v) for v in s.astype(object)]

        assert text(a) == text(b), what


def _same_geoms(a: gpd.GeoSeries, b: gpd.GeoSeries, *, tol: float, what: str) -> None:
    a = shapely.force_2d(np.asarray(a.values))
    d = shapely.hausdorff_distance(a, np.asarray(b.values))
    assert np.all(d <= tol), f"{what}: geometries differ by up to {np.nanmax(d)}"


def _same_layer(read: gpd.GeoDataFrame, built: gpd.GeoDataFrame, *, tol: float,
                name: str) -> None:
    assert read.crs is not None and read.crs.equals(built.crs), name
    assert len(read) == len(built), name
    for col in built.columns:
        if col == built.geometry.name:
            continue
        assert col in read.columns, f"{name}: column {col} lost on read back"
        _same_values(read[col], built[col], what=f"{name}.{col}")
    _same_geoms(read.geometry, built.geometry, tol=tol, what=name)


# ----------------------------------------------------------------------------- generator


def test_two_builds_are_equal(layers):
    again = build_layers()
    assert list(again) == list(layers)
    for name, df in layers.items():
        if isinstance(df, gpd.GeoDataFrame):
            assert_geodataframe_equal(again[name], df, check_less_precise=False)
        else:
            pd.testing.assert_frame_equal(again[name], df)


def test_another_seed_moves_things_but_keeps_the_totals(layers):
    other = build_layers(seed=7)
    assert not other["models"].geometry.equals(layers["models"].geometry)
    zones = other["zones"].to_crs(METRIC_CRS)
    linkage = zones[zones["zone_kind"] == "linkage"]
    assert linkage.union_all().area / 1e4 == pytest.approx(LINKAGE_AREA_HA, abs=2)
    assert other["works"]["cost_vnd"].sum() == layers["works"]["cost_vnd"].sum()


def test_layer_crs(layers):
    epsg = {name: df.crs.to_epsg() for name, df in layers.items() if name != "targets"}
    assert epsg == {"communes": 9210, "canals": 9210, "zones": 4326, "models": 4326,
                    "works": 9210, "power": 9210, "pumps": 4326, "cooperatives": 9210,
                    "parcels": 9210}


@pytest.mark.parametrize("kind", KINDS)
def test_layers_follow_the_schema(layers, kind):
    s = spec(kind)
    df = layers[kind]
    missing = set(s.required) - set(df.columns)
    assert not missing, f"{kind}: missing required columns {missing}"
    for col in df.columns:
        c = s.columns.get(col)
        if c is None:
            continue
        values = df[col].dropna()
        if c.vocabulary is not None:
            bad = set(values) - set(c.vocabulary)
            assert not bad, f"{kind}.{col}: values {bad} not in {c.vocabulary}"
        if c.dtype == "season":
            assert all(SEASON_PATTERN.match(v) for v in values), f"{kind}.{col}"
        if c.dtype in ("float", "int"):
            assert pd.api.types.is_numeric_dtype(df[col]), f"{kind}.{col} is not numeric"
            if c.minimum is not None:
                assert (values >= c.minimum).all(), f"{kind}.{col} below {c.minimum}"
            if c.maximum is not None:
                assert (values <= c.maximum).all(), f"{kind}.{col} above {c.maximum}"
        if c.dtype == "bool":
            assert pd.api.types.is_bool_dtype(df[col]), f"{kind}.{col}"
    if s.id_column:
        ids = df[s.id_column]
        assert ids.notna().all() and ids.is_unique, f"{kind}: {s.id_column} not unique"
    else:
        keys = df[list(s.key_columns)].astype(object).where(df[list(s.key_columns)].notna())
        assert not keys.duplicated().any(), f"{kind}: duplicate keys"
    if s.has_geometry:
        assert set(df.geom_type) <= set(s.geometry_types), f"{kind}: {set(df.geom_type)}"
        assert df.is_valid.all() and not df.is_empty.any(), f"{kind}: invalid geometry"
    else:
        assert not isinstance(df, gpd.GeoDataFrame)


# ----------------------------------------------------------------------------- communes


def test_communes_are_the_ten_units_of_vinh_hung(layers):
    c = layers["communes"]
    assert dict(zip(c["commune_id"], c["commune_name"], strict=True)) == {
        "27757": "Thị trấn Vĩnh Hưng", "27760": "Xã Hưng Điền A", "27763": "Xã Khánh Hưng",
        "27766": "Xã Thái Trị", "27769": "Xã Vĩnh Trị", "27772": "Xã Thái Bình Trung",
        "27775": "Xã Vĩnh Bình", "27778": "Xã Vĩnh Thuận", "27781": "Xã Tuyên Bình",
        "27784": "Xã Tuyên Bình Tây"}
    assert set(c["district"]) == {"Huyện Vĩnh Hưng"} and set(c["province"]) == {"Tỉnh Long An"}
    assert set(c["note"]) == {"synthetic demo data"}
    lon_lat = c.to_crs("EPSG:4326").total_bounds
    assert 105.6 <= lon_lat[0] and lon_lat[2] <= 105.9
    assert 10.8 <= lon_lat[1] and lon_lat[3] <= 11.0


def test_communes_partition_the_district(communes_m):
    geoms = list(communes_m.geometry)
    areas = np.array([g.area for g in geoms]) / 1e4
    union = shapely.union_all(geoms)
    assert union.area / 1e4 == pytest.approx(areas.sum(), rel=1e-9)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0  # no gaps
    for a, b in itertools.combinations(geoms, 2):
        assert a.intersection(b).area < 1e-3  # m²: shared borders only
    assert areas.sum() == pytest.approx(38_000, rel=0.05)
    assert areas.min() >= 2_000 and areas.max() <= 6_000
    assert len(set(np.round(areas))) == 10


def test_canals_cover_the_grid(layers, communes_m):
    canals = layers["canals"]
    assert set(canals["canal_class"]) == {"main", "secondary"}
    assert canals["canal_id"].is_unique
    km = canals.length.groupby(canals["canal_class"]).sum() / 1e3
    assert km["secondary"] > km["main"] > 50
    # most commune borders follow canals
    borders = shapely.union_all([g.boundary for g in communes_m.geometry])
    inner = borders.difference(shapely.union_all(communes_m.geometry).boundary.buffer(1))
    along = inner.intersection(canals.union_all().buffer(1)).length
    assert 0.6 < along / inner.length < 0.98


# ----------------------------------------------------------------------------- zones


def test_linkage_area_counted_once_is_the_reported_one(layers, communes_m):
    zones = layers["zones"].to_crs(METRIC_CRS)
    linkage = zones[zones["zone_kind"] == "linkage"]
    dissolved = linkage.union_all().area / 1e4
    assert dissolved == pytest.approx(LINKAGE_AREA_HA, abs=1.0)  # "23.865 ha"
    assert linkage.area.sum() / 1e4 > dissolved + 1_000  # zones overlap
    assert {"rice", "lotus", "vegetables"} <= set(linkage["crop"])
    assert {"linkage", "production", "area_code"} == set(zones["zone_kind"])
    assert linkage["partner"].notna().all() and linkage["cooperative"].notna().all()
    crossing = 0
    for geom in linkage.geometry:
        shares = communes_m.intersection(geom).area / geom.area
        crossing += int((shares > 0.01).sum() > 1)
    assert crossing >= 3
    assert zones.within(communes_m.union_all().buffer(1)).all()


# ----------------------------------------------------------------------------- models


def test_models_reproduce_the_seed(layers):
    m = layers["models"]
    ht = m[m["season"] == "HT 2024"]
    supported = ht[ht["support"] == "supported"]
    assert len(supported) == 12 and supported["declared_area_ha"].sum() == 600
    assert supported["commune_id"].value_counts().to_dict() == {
        "27766": 2, "27781": 2, "27784": 2, "27763": 1, "27760": 1, "27772": 1,
        "27769": 1, "27778": 1, "27775": 1}
    self_ = ht[ht["support"] == "self"]
    assert self_["declared_area_ha"].sum() == 250
    assert sorted(self_["commune_id"]) == ["27760", "27763", "27769", "27775", "27778"]
    dx = m[m["season"] == "DX 2023-2024"].set_index("commune_id")
    assert dx.loc["27784", ["declared_area_ha", "yield_t_ha", "profit_vnd_ha"]].tolist() == [
        400.0, 8.2, 38_000_000.0]
    assert dx.loc["27784", "cooperative"] == "HTX Nông nghiệp Tuyên Bình Tây"
    assert dx.loc["27763", ["declared_area_ha", "yield_t_ha", "profit_vnd_ha"]].tolist() == [
        50.0, 7.5, 32_600_000.0]
    assert dx.loc["27763", "cooperative"] == "HTX công nghệ cao Khánh Hưng"
    assert m["cooperative"].notna().all() and m["commune_id"].notna().all()


def _season_year(season: str) -> int:
    return int(season[-4:])


def test_models_cumulative_areas_are_the_seed_s(layers):
    m = layers["models"]
    years = m["season"].map(_season_year)
    assert years.min() == 2017 and years.max() == 2024
    area = m["declared_area_ha"]
    assert area[years == 2024].sum() == 1_300  # "1.300 ha"
    since_2021 = years >= 2021
    assert area[since_2021].sum() == 6_400  # "từ năm 2021 đến 20/5/2024 là 6.400ha"
    support = m["support"]
    assert area[since_2021 & (support == "supported")].sum() == 3_300
    assert area[since_2021 & (support == "self")].sum() == 3_100
    assert area.sum() == 11_873  # "từ năm 2017 đến tháng 5/2024 là 11.873ha"
    assert area[years <= 2020].sum() == 5_473
    # plausible models: mostly 50 ha, larger ones only supported
    assert (area == 50).mean() > 0.8
    assert (support[area > 50] == "supported").all()
    assert set(m["season"].str[:2]) == {"DX", "HT"}
    assert m["season"].nunique() == 16
    past = m[years < 2024]
    assert past.loc[past["support"] == "supported", "yield_t_ha"].notna().all()
    assert past.loc[past["support"] == "self", "yield_t_ha"].isna().all()
    assert m["model_id"].str.fullmatch(r"MH-(DX\d{4}|HT\d{2})-S?\d{2}").all()


def test_models_start_once_their_cooperative_exists(layers):
    m = layers["models"]
    founded = layers["cooperatives"].set_index("name")["founded_year"]
    first_year = m["season"].str.extract(r"(\d{4})", expand=False).astype(int)
    assert (m["cooperative"].map(founded) <= first_year).all()


def test_models_areas_and_places(layers, communes_m):
    m = layers["models"].to_crs(METRIC_CRS)
    ratio = m.area / 1e4 / m["declared_area_ha"]
    assert np.all(np.abs(ratio - 1) < 1e-3)
    polys = communes_m.set_index("commune_id").geometry
    assert all(polys[c].contains(g) for c, g in zip(m["commune_id"], m.geometry, strict=True))
    for season, group in m.groupby("season"):  # no two models of one season overlap
        assert group.union_all().area == pytest.approx(group.area.sum()), season
    # fields come back in other seasons: models of different seasons overlap
    assert m.union_all().area < 0.5 * m.area.sum()


# ----------------------------------------------------------------------------- works


def test_works_reproduce_the_seed(layers):
    w = layers["works"]
    prov, dist = w[w["investor"] == "province"], w[w["investor"] == "district"]
    assert len(prov) == 8 and prov["cost_vnd"].sum() == 26_000_000_000
    assert len(dist) == 23 and dist["cost_vnd"].sum() == 14_610_000_000
    assert prov["status"].isin(["surveyed", "designed"]).sum() == 4
    assert (prov["status"] == "planned").sum() == 4
    assert dist["status"].value_counts().to_dict() == {"planned": 20, "designed": 3}
    assert set(dist["state_share_pct"]) == {70.0}
    power = w[w["work_type"] == "power"]
    assert len(power) == 4 and set(power["status"]) == {"planned"}
    assert power["cost_vnd"].sum() == 4_400_000_000
    assert power["served_area_ha"].sum() == 1_030
    assert {"Point", "LineString"} == set(w.geom_type)
    assert {"canal", "culvert", "sluice", "pump_station", "power"} == set(w["work_type"])


def test_works_lines_follow_canals(layers):
    w = layers["works"]
    canals = layers["canals"].union_all().buffer(0.5)
    lines = w[w.geom_type == "LineString"]
    assert lines.within(canals).all()


# ----------------------------------------------------------------------------- power, pumps


def test_power_and_pumps(layers):
    p = layers["power"]
    lines3 = p[(p["element"] == "line") & (p["phases"] == 3)]
    assert set(lines3["voltage_kv"]) == {22.0} and len(lines3) >= 3
    lines1 = p[(p["element"] == "line") & (p["phases"] == 1)]
    assert len(lines1) >= 2 and set(lines1["voltage_kv"]) == {0.4}
    tr = p[p["element"] == "transformer"]
    assert len(tr) >= 5 and (tr["capacity_kva"] > 0).all() and set(tr.geom_type) == {"Point"}

    pumps = layers["pumps"].to_crs(METRIC_CRS)
    assert 12 <= len(pumps) <= 18
    dist3 = pumps.distance(lines3.union_all())
    src = pumps["power_source"]
    assert (dist3[src == "three_phase"] < 300).all()
    assert (dist3[src == "diesel"] > 1_000).all()
    assert (src == "three_phase").sum() >= 4 and (src == "diesel").sum() >= 4


def test_cooperatives(layers, communes_m):
    c = layers["cooperatives"]
    assert 12 <= len(c) <= 20
    names = set(c["name"])
    assert {"HTX Nông nghiệp Tuyên Bình Tây", "HTX công nghệ cao Khánh Hưng"} <= names
    assert set(c["coop_type"]) == {"htx", "tht", "hoi_quan"}
    polys = communes_m.set_index("commune_id").geometry
    assert all(polys[i].contains(g) for i, g in zip(c["commune_id"], c.geometry, strict=True))
    # every cooperative named by a zone or model exists
    used = set(layers["zones"]["cooperative"].dropna()) | set(layers["models"]["cooperative"])
    assert used <= names


def test_parcels(layers, communes_m):
    p = layers["parcels"]
    assert 1_000 <= len(p) <= 3_000
    assert 2 <= p["commune_id"].nunique() <= 3
    assert set(p["land_use"]) == {"LUC"}
    holding_ha = (p.area / 1e4).groupby(p["holder_id"]).sum()
    assert (holding_ha >= 3).sum() >= 10  # households that consolidated >= 3 ha
    assert (holding_ha < 3).sum() > (holding_ha >= 3).sum()
    polys = communes_m.set_index("commune_id").geometry
    for cid, group in p.groupby("commune_id"):
        assert group.union_all().within(polys[cid].buffer(0.01))
    # neighbours do not overlap (but for mm slivers at T-junctions after rounding)
    assert p.union_all().area == pytest.approx(p.area.sum(), rel=1e-5)


# ----------------------------------------------------------------------------- targets


def test_targets_are_the_report_s(layers):
    t = layers["targets"]
    assert list(t.columns) == list(spec("targets").columns)
    assert set(t["scope"]) == {"district"} and set(t["scope_id"]) == {"Huyện Vĩnh Hưng"}
    rows = {(r.indicator, r.unit, r.year, r.source,
             None if pd.isna(r.start_year) else int(r.start_year),
             None if pd.isna(r.season) else r.season): r.target for r in t.itertuples()}
    assert rows == {
        ("linkage_area", "ha", 2024, "resolution", None, None): 21_227,
        ("linkage_area", "ha", 2025, "roadmap", None, None): 22_640,
        ("hightech_rice_area", "ha", 2024, "plan", None, None): 1_350,
        ("hightech_rice_area", "ha", 2024, "roadmap", 2021, None): 4_950,
        ("hightech_rice_area", "ha", 2025, "resolution", 2021, None): 6_327,
        ("hightech_rice_area", "ha", 2025, "province_assigned", 2017, None): 11_800,
        ("works_completed", "count", 2024, "plan", None, None): 31,
        ("works_completed_province", "count", 2024, "plan", None, None): 8,
        ("works_completed_district", "count", 2024, "plan", None, None): 23,
        ("power_works_completed", "count", 2024, "plan", None, None): 4,
        ("models", "count", 2024, "plan", None, "HT 2024"): 12,
    }


# ----------------------------------------------------------------------------- files


def _check_files(root: Path, layers) -> None:
    b, d = root / "boundaries", root / "demo"
    _same_layer(gpd.read_file(b / "communes.gpkg", layer="communes"), layers["communes"],
                tol=0.006, name="communes")
    for name in ("canals", "works", "power", "parcels"):
        _same_layer(gpd.read_file(d / f"{name}.gpkg", layer=name), layers[name], tol=0.006,
                    name=name)
    zones = gpd.read_file(d / "zones.kml").rename(columns={"Name": "zone_id"})
    _same_layer(zones, layers["zones"], tol=1e-7, name="zones")
    _same_layer(gpd.read_file(d / "models.geojson"), layers["models"], tol=1e-7,
                name="models")

    pumps = pd.read_csv(d / "pumps.csv")
    built = layers["pumps"]
    for col in built.columns.drop("geometry"):
        _same_values(pumps[col], built[col], what=f"pumps.{col}")
    np.testing.assert_allclose(pumps["lon"], built.geometry.x, atol=1e-7)
    np.testing.assert_allclose(pumps["lat"], built.geometry.y, atol=1e-7)

    coops = pd.read_excel(d / "cooperatives.xlsx")
    built = layers["cooperatives"]
    for col in built.columns.drop("geometry"):
        _same_values(coops[col], built[col], what=f"cooperatives.{col}")
    np.testing.assert_allclose(coops["x"], built.geometry.x, atol=0.006)
    np.testing.assert_allclose(coops["y"], built.geometry.y, atol=0.006)

    targets = pd.read_csv(d / "targets.csv")
    assert list(targets.columns) == list(layers["targets"].columns)
    for col in targets.columns:
        _same_values(targets[col], layers["targets"][col], what=f"targets.{col}")

    plan = (d / "plan.toml").read_text(encoding="utf-8")
    assert 'canals = "canals.gpkg"' in plan and 'era = "old"' in plan
    for readme in (b / "README.md", d / "README.md"):
        assert "SYNTHETIC" in readme.read_text(encoding="utf-8")


def test_committed_data_equal_a_fresh_build(layers):
    if not (DATA / "demo" / "plan.toml").is_file():
        pytest.skip(f"no committed demo under {DATA} (installed package without data/)")
    _check_files(DATA, layers)
    total = sum(f.stat().st_size for f in DATA.rglob("*") if f.is_file())
    assert total < 2_000_000


def test_write_demo_round_trips(tmp_path, layers):
    plan = write_demo(tmp_path)
    assert plan == tmp_path / "demo" / "plan.toml"
    _check_files(tmp_path, layers)
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert leftovers == []  # temporary files were moved into place


def test_main(tmp_path, capsys):
    assert main([]) == 2
    assert "usage" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 0
    assert (tmp_path / "demo" / "plan.toml").is_file()


# ----------------------------------------------------------------------------- cache


def test_demo_plan_path_writes_once(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOAGRI_CACHE", str(tmp_path))
    assert demo_cache_dir().parent == tmp_path
    path = demo_plan_path()
    assert path.is_file() and path.parent.parent == demo_cache_dir()
    mtime = path.stat().st_mtime_ns
    assert demo_plan_path() == path and path.stat().st_mtime_ns == mtime
    stamp = next(demo_cache_dir().glob(".geoagri-demo-stamp"))
    stamp.write_text("stale", encoding="utf-8")
    os.utime(path, ns=(0, 0))
    assert demo_plan_path() == path and path.stat().st_mtime_ns != 0  # rewritten
    assert [p.name for p in tmp_path.iterdir()] == [demo_cache_dir().name]


def test_demo_reads_the_plan(tmp_path, monkeypatch):
    try:
        import geoagri.plan  # noqa: F401
    except ImportError as err:
        pytest.skip(f"geoagri.plan is not importable yet: {err}")
    from geoagri.datasets import demo

    monkeypatch.setenv("GEOAGRI_CACHE", str(tmp_path))
    plan = demo()
    assert len(plan["communes"]) == 10
    assert len(plan["models"]) == 153
    assert plan.settings["canals"] == "canals.gpkg"
    zones = plan["zones"]
    assert "zone_id" in zones.columns and zones["zone_id"].is_unique


def test_demo_report_reproduces_the_seed_percentages(tmp_path, monkeypatch):
    try:
        from geoagri.report import build_report_data
    except ImportError as err:
        pytest.skip(f"geoagri.report is not importable yet: {err}")
    from geoagri.datasets import demo

    monkeypatch.setenv("GEOAGRI_CACHE", str(tmp_path))
    data = build_report_data(demo(), year=2024)
    p = data.progress
    area = p[p["indicator"].isin(["linkage_area", "hightech_rice_area"])
             & p["season"].isna()]
    # seed 000: 112,4% and 105,4% (linkage); 96,2%, 129,2%, 101,1% and 100,6% (rice)
    assert area["achieved_pct"].tolist() == [112.4, 105.4, 96.2, 129.2, 101.1, 100.6]
    assert area["actual"].round().tolist() == [23_865, 23_865, 1_300, 6_400, 6_400, 11_873]
    assert (area["note"].fillna("") == "").sum() >= 3
    assert not area["note"].str.contains("no actual").any()
    text = "\n".join(data.summary_lines())
    for phrase in ("23.865 ha, đạt 112,4%", "23.865 ha, đạt 105,4%", "1.300 ha, đạt 96,2%",
                   "6.400 ha, đạt 129,2% so với lộ trình", "6.400 ha, đạt 101,1%",
                   "11.873 ha, đạt 100,6%"):
        assert phrase in text, phrase
