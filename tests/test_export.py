"""export_layers: every format read back through GDAL; styles; atomic writes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import GeometryCollection, LineString, Point, box

from geoagri.errors import CRSError, GeoagriError
from geoagri.export import GEOJSON_PRECISION, export_layers, qgis_style, shapefile_field_names
from geoagri.io import read_layer, read_table

UTM = "EPSG:32648"
COOPS = ["HTX Nông nghiệp Tuyên Bình Tây", "HTX Hưng Điền A", "THT Thị trấn Vĩnh Hưng"]
WORK_NAMES = ["Nạo vét Kênh trục 2", "Cống Rạch Đá", "Trạm bơm Ấp 3 — Hưng Điền B"]
KML_NS = {"k": "http://www.opengis.net/kml/2.2"}


@pytest.fixture
def layers() -> dict[str, pd.DataFrame]:
    """Zones of 100, 200 and 50 ha; works mixing lines and points; a targets table."""
    zones = gpd.GeoDataFrame(
        {"zone_id": ["LK01", "LK02", "VSX1"],
         "zone_kind": ["linkage", "linkage", "production"],
         "cooperative": COOPS, "declared_area_ha": [100.0, 200.0, 50.0],
         "certification": ["VietGAP", None, "hữu cơ"]},
        geometry=[box(500_000, 1_200_000, 501_000, 1_201_000),
                  box(501_000, 1_200_000, 503_000, 1_201_000),
                  box(503_000, 1_200_000, 503_500, 1_201_000)], crs=UTM)
    works = gpd.GeoDataFrame(
        {"work_id": ["T01", "T02", "T03"], "work_type": ["canal", "culvert", "pump_station"],
         "status": ["completed", "under_construction", "planned"], "name": WORK_NAMES,
         "cost_vnd": [4.2e9, 1.5e9, 3.0e9], "year": pd.array([2024, 2025, None], "Int64")},
        geometry=[LineString([(500_000, 1_200_000), (501_500, 1_200_500)]),
                  Point(501_000, 1_200_100), Point(502_000, 1_200_900)], crs=UTM)
    targets = pd.DataFrame({"indicator": ["linkage_area"], "unit": ["ha"],
                            "scope": ["district"], "scope_id": ["Huyện Vĩnh Hưng"],
                            "year": [2025], "source": ["resolution"], "target": [21227.0],
                            "source_ref": ["NQ 36/NQ-HĐND ngày 30/6/2022"]})
    return {"zones": zones, "works": works, "targets": targets}


def _read(fmt: str, out: Path, name: str, kind: str) -> gpd.GeoDataFrame:
    """Read one exported layer back through GDAL (geoagri.io.read_layer)."""
    if fmt in ("gpkg", "kml", "kmz"):
        return read_layer(out, kind=kind, layer=name)
    suffix = {"geojson": ".geojson", "parquet": ".parquet", "shapefile": ".zip"}[fmt]
    return read_layer(out / f"{name}{suffix}", kind=kind)


def _target(tmp_path: Path, fmt: str) -> Path:
    return tmp_path / (f"layers.{fmt}" if fmt in ("gpkg", "kml", "kmz") else fmt)


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "kmz", "parquet", "shapefile"])
def test_round_trip_zones(tmp_path, layers, fmt):
    """Counts, ids, Vietnamese text and areas (metric CRS, ±1e-6) survive every format."""
    before = layers["zones"].copy()
    out = export_layers(layers, _target(tmp_path, fmt), format=fmt)["zones"]
    assert out.exists()
    back = _read(fmt, _target(tmp_path, fmt), "zones", "zones")
    assert back["zone_id"].tolist() == ["LK01", "LK02", "VSX1"]
    assert back["cooperative"].tolist() == COOPS
    assert back["certification"].tolist() == ["VietGAP", None, "hữu cơ"]
    np.testing.assert_allclose(back.to_crs(UTM).area / 1e4, [100, 200, 50], rtol=1e-6)
    assert back.crs.to_epsg() == (4326 if fmt in ("geojson", "kml", "kmz") else 32648)
    pd.testing.assert_frame_equal(layers["zones"], before)  # input unchanged


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "kmz", "parquet"])
def test_round_trip_mixed_geometry(tmp_path, layers, fmt):
    export_layers(layers, _target(tmp_path, fmt), format=fmt)
    back = _read(fmt, _target(tmp_path, fmt), "works", "works")
    assert back["work_id"].tolist() == ["T01", "T02", "T03"]
    assert back["name"].tolist() == WORK_NAMES
    assert back["status"].tolist() == ["completed", "under_construction", "planned"]
    assert back.geom_type.tolist() == ["LineString", "Point", "Point"]
    np.testing.assert_allclose(back.to_crs(UTM).length.iloc[0], np.hypot(1500, 500),
                               rtol=1e-6)
    np.testing.assert_allclose(back["cost_vnd"], [4.2e9, 1.5e9, 3.0e9])


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "kmz", "parquet", "shapefile"])
def test_demo_round_trip(tmp_path, demo_plan, fmt):
    """The whole demo: every layer's count, ids, text and polygon areas unchanged."""
    target = _target(tmp_path, fmt)
    written = export_layers(demo_plan, target, format=fmt)
    assert set(written) == set(demo_plan.layers)
    for name, src in demo_plan.layers.items():
        kind = demo_plan.sources[name].kind
        if kind == "targets":
            continue
        if fmt == "shapefile" and set(src.geom_type) == {"Point", "LineString"}:
            parts = [read_layer(target / f"{name}.zip", kind=kind, layer=f"{name}_{fam}")
                     for fam in ("points", "lines")]
            back = pd.concat(parts, ignore_index=True)
            back = back.set_index(back.columns[0]).loc[src.iloc[:, 0]].reset_index()
        else:
            back = _read(fmt, target, name, kind)
        idc = src.columns[0]
        assert back[idc].tolist() == src[idc].tolist(), (name, fmt)
        for col in ("commune_name", "name", "cooperative"):
            if col in src.columns:
                assert back[col].tolist() == src[col].tolist(), (name, col, fmt)
        if src.geom_type.iloc[0].endswith("Polygon"):
            np.testing.assert_allclose(back.to_crs("EPSG:9210").area,
                                       src.to_crs("EPSG:9210").area, rtol=1e-6)


@pytest.fixture(scope="module")
def demo_plan():
    from geoagri.datasets import demo

    return demo()


def test_targets_written_as_csv_beside(tmp_path, layers):
    written = export_layers(layers, tmp_path / "out" / "layers.gpkg")
    assert written["targets"] == tmp_path / "out" / "layers_targets.csv"
    assert "targets" not in pyogrio.list_layers(tmp_path / "out" / "layers.gpkg")[:, 0]
    back = read_table(written["targets"])
    assert back.loc[0, "source_ref"] == "NQ 36/NQ-HĐND ngày 30/6/2022"
    assert written["targets"].read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel shows UTF-8
    folder = export_layers(layers, tmp_path / "gj", format="geojson")
    assert folder["targets"] == tmp_path / "gj" / "targets.csv"


def test_gpkg_has_qgis_default_styles(tmp_path, layers):
    path = tmp_path / "layers.gpkg"
    export_layers(layers, path)
    styles = pyogrio.read_dataframe(path, layer="layer_styles")
    assert sorted(styles["f_table_name"]) == ["works", "zones"]
    for row in styles.itertuples():
        assert row.f_geometry_column == pyogrio.read_info(path, layer=row.f_table_name)[
            "geometry_name"]
        assert row.useAsDefault and row.f_table_schema == "" and row.f_table_catalog == ""
        qml = ET.fromstring(row.styleQML.split("\n", 1)[1])
        assert qml.tag == "qgis" and qml.find("renderer-v2") is not None
    works = styles.set_index("f_table_name").loc["works", "styleQML"]
    assert "Đang thi công" in works and "geometry_type($geometry) = 'Point'" in works
    zones = ET.fromstring(styles.set_index("f_table_name").loc["zones", "styleQML"]
                          .split("\n", 1)[1])
    renderer = zones.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "zone_kind"
    labels = [c.get("label") for c in renderer.iter("category")]
    assert "Liên kết sản xuất" in labels


def test_qgis_style_language(layers):
    assert "Under construction" in qgis_style(layers["works"], kind="works", language="en")


def test_geojson_is_rfc7946(tmp_path, layers):
    export_layers(layers, tmp_path / "gj", format="geojson")
    doc = json.loads((tmp_path / "gj" / "zones.geojson").read_text(encoding="utf-8"))
    assert "crs" not in doc  # RFC 7946: always WGS 84 lon/lat, no crs member
    x, y = doc["features"][0]["geometry"]["coordinates"][0][0]
    assert 100 < x < 110 and 10 < y < 11
    decimals = max(len(repr(v).split(".")[1]) for v in (x, y) if "." in repr(v))
    assert decimals <= GEOJSON_PRECISION
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    assert _signed_area(ring) > 0  # RFC 7946: exterior rings counter-clockwise
    assert doc["features"][0]["properties"]["cooperative"] == COOPS[0]


def _signed_area(ring: list[list[float]]) -> float:
    xs, ys = np.array(ring).T
    return float(np.sum(xs[:-1] * ys[1:] - xs[1:] * ys[:-1]) / 2)


def test_shapefile_zip_utf8_and_field_names(tmp_path, layers):
    written = export_layers(layers, tmp_path / "shp", format="shapefile")
    with zipfile.ZipFile(written["zones"]) as zf:
        names = zf.namelist()
        assert zf.read("zones.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
        inside = zf.read("zones_fields.csv").decode("utf-8-sig")
    assert {"zones.shp", "zones.dbf", "zones.prj", "zones_fields.csv"} <= set(names)
    beside = pd.read_csv(tmp_path / "shp" / "zones_fields.csv", encoding="utf-8-sig")
    assert inside == (tmp_path / "shp" / "zones_fields.csv").read_bytes().decode("utf-8-sig")
    mapping = dict(zip(beside["column"], beside["field"], strict=True))
    assert mapping["declared_area_ha"] == "declared_a" and mapping["zone_id"] == "zone_id"
    fields = pyogrio.read_info(f"/vsizip/{written['zones']}/zones.shp")["fields"]
    assert all(len(f.encode()) <= 10 for f in fields)
    raw = pyogrio.read_dataframe(f"/vsizip/{written['zones']}/zones.shp")
    assert raw["cooperativ"].tolist() == COOPS  # Vietnamese intact in the DBF
    # the mixed layer: one shapefile per geometry type in the layer's zip
    with zipfile.ZipFile(written["works"]) as zf:
        assert {"works_points.shp", "works_lines.shp"} <= set(zf.namelist())
    points = read_layer(written["works"], kind="works", layer="works_points")
    assert points["name"].tolist() == WORK_NAMES[1:]


def test_shapefile_field_names_unique():
    names = shapefile_field_names(["served_area_ha", "served_area_m2", "served_are", "Tên_xã_cũ"])
    assert list(names.values()) == ["served_a~1", "served_a~2", "served_are", "Tên_xã_c"]
    assert all(len(v.encode()) <= 10 for v in names.values())


def test_kml_styled_and_named_for_google_earth(tmp_path, layers):
    path = tmp_path / "layers.kml"
    export_layers(layers, path)
    root = ET.parse(path).getroot()
    styles = {s.get("id") for s in root.iter(f"{{{KML_NS['k']}}}Style")}
    placemarks = list(root.iter(f"{{{KML_NS['k']}}}Placemark"))
    assert len(placemarks) == 6
    for pm in placemarks:
        assert pm.find("k:styleUrl", KML_NS).text.lstrip("#") in styles
    names = [pm.find("k:name", KML_NS).text for pm in placemarks]
    assert WORK_NAMES[0] in names and any(COOPS[0] in n for n in names)
    works = [pm for pm in placemarks if pm.find("k:name", KML_NS).text in WORK_NAMES]
    urls = [pm.find("k:styleUrl", KML_NS).text for pm in works]
    assert urls == ["#works-completed", "#works-under_construction", "#works-planned"]
    color = root.find(".//k:Style[@id='works-completed']/k:LineStyle/k:color", KML_NS).text
    assert color == "ff327d2e"  # aabbggrr of #2e7d32, the map's green for completed
    assert pyogrio.read_info(path, layer="works")["crs"] == "EPSG:4326"


def test_kmz_is_zipped_kml(tmp_path, layers):
    path = tmp_path / "layers.kmz"
    export_layers(layers, path, language="en")
    with zipfile.ZipFile(path) as zf:
        assert zf.namelist() == ["doc.kml"]
        assert b"Under construction" in zf.read("doc.kml")
    assert sorted(pyogrio.list_layers(path)[:, 0]) == ["works", "zones"]


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "kmz", "parquet", "shapefile"])
def test_failed_export_leaves_nothing(tmp_path, layers, fmt, monkeypatch):
    """A failure on the last layer leaves no file, no temp folder, old files intact."""
    target = _target(tmp_path, fmt)
    if fmt in ("gpkg", "kml", "kmz"):
        target.write_bytes(b"old")
    else:
        target.mkdir()
        (target / "keep.txt").write_text("mine")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    last = layers["works"].copy()
    if fmt == "gpkg":
        last["STATUS"] = "x"  # GeoPackage field names clash ignoring case
    elif fmt == "parquet":
        last["extra"] = pd.Series([1 + 2j, 0j, 1j], dtype=object)  # Arrow has no complex
    elif fmt == "shapefile":
        last.loc[2, "geometry"] = GeometryCollection([Point(0, 0), LineString([(0, 0), (1, 1)])])
    else:  # GeoJSON and KML write anything: make the disk fill up on the last layer
        import geoagri.export as export

        original = export._kml_geometry if fmt != "geojson" else export._write_geojson

        def full_disk(*args, **kwargs):
            if fmt == "geojson" and args[2] != "works":
                return original(*args, **kwargs)
            if fmt != "geojson" and args[1].geom_type == "Point":
                raise OSError(28, "No space left on device")
            if fmt == "geojson":
                raise OSError(28, "No space left on device")
            return original(*args, **kwargs)

        monkeypatch.setattr(export, "_kml_geometry" if fmt != "geojson" else "_write_geojson",
                            full_disk)
    with pytest.raises(GeoagriError, match=r"nothing was written|Shapefile cannot hold"):
        export_layers({"zones": layers["zones"], "targets": layers["targets"], "works": last},
                      target, format=fmt)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    if fmt in ("gpkg", "kml", "kmz"):
        assert target.read_bytes() == b"old"


def test_replace_and_fail(tmp_path, layers):
    path = tmp_path / "a.gpkg"
    export_layers({"zones": layers["zones"]}, path)
    export_layers({"works": layers["works"]}, path)  # replaced, not appended
    assert list(pyogrio.list_layers(path)[:, 0]) == ["works", "layer_styles"]
    with pytest.raises(GeoagriError, match="exist already"):
        export_layers({"works": layers["works"]}, path, if_exists="fail")


def test_errors(tmp_path, layers):
    with pytest.raises(GeoagriError, match="cannot tell the format"):
        export_layers(layers, tmp_path / "out")
    with pytest.raises(GeoagriError, match="unknown format 'dxf'"):
        export_layers(layers, tmp_path / "out", format="dxf")
    with pytest.raises(GeoagriError, match="into a folder"):
        export_layers(layers, tmp_path / "zones.geojson", format="geojson")
    with pytest.raises(GeoagriError, match="language"):
        export_layers(layers, tmp_path / "a.gpkg", language="fr")
    with pytest.raises(GeoagriError, match="schema= is for PostGIS"):
        export_layers(layers, tmp_path / "a.gpkg", schema="plan")
    with pytest.raises(GeoagriError, match="Plan or a dict"):
        export_layers([layers["zones"]], tmp_path / "a.gpkg")
    with pytest.raises(GeoagriError, match="cannot be used as file or table names"):
        export_layers({"a/b": layers["zones"]}, tmp_path / "a.gpkg")
    no_crs = layers["zones"].set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS; set it"):
        export_layers({"zones": no_crs}, tmp_path / "a.kml")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- GeoPackage


def _gpkg_content(path: Path) -> dict:
    """Every table of a GeoPackage as SQLite holds it (schema, rows with their geometry
    blobs, spatial index, metadata tables), but the time the file was written."""
    import sqlite3

    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        out = {"schema": sorted(db.execute("select type, name, tbl_name, sql from sqlite_master"
                                           " where name not like 'sqlite_%'").fetchall())}
        for t in tables:
            cols = [r[1] for r in db.execute(f'pragma table_info("{t}")')
                    if r[1] not in ("last_change", "timestamp")]
            out[t] = sorted(db.execute(f'select {", ".join(f"[{c}]" for c in cols)} from "{t}"')
                            .fetchall(), key=repr)
    return out


def test_gpkg_layer_through_arrow_is_what_pyogrio_writes(tmp_path):
    """geoagri._gpkg_arrow writes a GeoPackage layer as pyogrio.write_dataframe does, to
    the byte of every row: text (Vietnamese, empty, missing), integers, floats (NaN),
    booleans; Polygons among MultiPolygons (promoted), Points among MultiPoints, lines;
    a missing geometry."""
    from geoagri._gpkg_arrow import _arrow_table, write_layer

    polygons = gpd.GeoDataFrame(
        {"name": ["Xã Định Khánh", "", None, "=1+1 <b>"], "n": np.array([1, -2, 3, 2**40]),
         "ha": [1.5, np.nan, 0.0, -2.25], "ok": [True, False, True, False]},
        geometry=[box(0, 0, 10, 10), None,
                  gpd.GeoSeries([box(20, 0, 30, 10)]).union_all().union(box(40, 0, 50, 5)),
                  box(60, 0, 61, 1)], crs=32648)
    points = gpd.GeoDataFrame({"id": ["a", "b"]},
                              geometry=[Point(1, 2), Point(3, 4).union(Point(5, 6))], crs=4326)
    lines = gpd.GeoDataFrame({"id": ["c"], "kv": [22.0]},
                             geometry=[LineString([(0, 0), (1, 1)])], crs=32648)
    layers = [(polygons, "MultiPolygon"), (points, "MultiPoint"), (lines, "LineString")]
    for name, (frame, kind) in zip(("polygons", "points", "lines"), layers, strict=True):
        assert _arrow_table(frame, kind) is not None  # written through Arrow, not pyogrio's
        pyogrio.write_dataframe(frame, tmp_path / "peer.gpkg", layer=name, driver="GPKG",
                                geometry_type=kind)
        write_layer(frame, tmp_path / "ours.gpkg", layer=name, geometry_type=kind)
    ours, peer = _gpkg_content(tmp_path / "ours.gpkg"), _gpkg_content(tmp_path / "peer.gpkg")
    assert ours.keys() == peer.keys()
    for table in peer:
        assert ours[table] == peer[table], table
    back = pyogrio.read_dataframe(tmp_path / "ours.gpkg", layer="polygons")
    assert back.geometry.isna().tolist() == [False, True, False, False]
    assert set(back.geom_type.dropna()) == {"MultiPolygon"}
    assert back["name"].tolist()[:2] == ["Xã Định Khánh", ""] and back["name"].isna()[2]
