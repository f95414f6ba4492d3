"""Reading every supported format through GDAL, and atomic writing (geoagri.io)."""

from __future__ import annotations

import sqlite3
import struct
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import Point, box

import geoagri.io as gio
from geoagri.errors import CRSError, GeoagriError, LayerError
from geoagri.io import list_layers, read_layer, write_layer
from geoagri.io.legacy_encoding import encode_legacy
from geoagri.validate import canonicalize

UTM = "EPSG:32648"
NAMES = ["Xã Tuyên Bình Tây", "Thị trấn Vĩnh Hưng", "Xã Hưng Điền A"]


@pytest.fixture
def communes() -> gpd.GeoDataFrame:
    # 1 km², 2 km² and 0.5 km² squares: 100, 200 and 50 ha
    return gpd.GeoDataFrame(
        {"commune_id": ["27784", "27757", "27760"], "commune_name": NAMES,
         "population": [12000, 30000, 8000]},
        geometry=[box(500_000, 1_200_000, 501_000, 1_201_000),
                  box(501_000, 1_200_000, 503_000, 1_201_000),
                  box(503_000, 1_200_000, 503_500, 1_201_000)],
        crs=UTM)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".parquet", ".fgb"])
def test_round_trip_formats(tmp_path, communes, suffix):
    path = write_layer(communes, tmp_path / f"communes{suffix}")
    back = read_layer(path, kind="communes")
    assert back["commune_id"].tolist() == communes["commune_id"].tolist()
    assert back["commune_name"].tolist() == NAMES
    np.testing.assert_allclose(back.area / 1e4, [100, 200, 50], rtol=1e-12)
    assert back.crs.equals(communes.crs) or back.crs.to_epsg() == 32648
    assert str(back["population"].dtype) == "Int64"


@pytest.mark.parametrize("encoding", ["WKB", "geoarrow"])
def test_geoparquet_is_read_as_geopandas_reads_it(tmp_path, encoding):
    # the file reader (geoagri.io._read_geoparquet) against geopandas.read_parquet, the
    # reference: a lon/lat CRS, an index of strings, missing values, mixed geometries
    from geopandas.testing import assert_geodataframe_equal
    from shapely.geometry import MultiPolygon

    from geoagri.io import _read_geoparquet

    frame = gpd.GeoDataFrame(
        {"ten": ["Xã Hòa Bình", None, "Xã Tân Phú"], "ha": [1.5, np.nan, 3.0]},
        geometry=[box(105.0, 10.0, 105.1, 10.1),
                  MultiPolygon([box(105.2, 10.0, 105.3, 10.1), box(105.4, 10.0, 105.5, 10.1)]),
                  None],
        index=pd.Index(["a", "b", "c"], name="ma"), crs="EPSG:4326")
    if encoding == "geoarrow":
        frame = frame.iloc[[0, 2]]  # geoarrow: one geometry type a column
    path = tmp_path / "xa.parquet"
    frame.to_parquet(path, geometry_encoding=encoding)
    got = _read_geoparquet(path)
    assert_geodataframe_equal(got, gpd.read_parquet(path))
    assert got.index.tolist() == frame.index.tolist() and got.crs.to_epsg() == 4326
    # a Parquet file with no geo metadata: geopandas' own error
    pd.DataFrame({"x": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(ValueError, match="geo"):
        _read_geoparquet(tmp_path / "plain.parquet")


def test_large_geoparquet_decoded_on_threads_is_read_as_geopandas_reads_it(tmp_path):
    # 30,000 rows: the WKB is decoded in chunks on threads (geoagri.io._from_arrow);
    # a second geometry column, missing and empty geometries, a string index, lon/lat
    from geopandas.testing import assert_geodataframe_equal

    from geoagri.io import _read_geoparquet

    n = 30_000
    x = 105.0 + np.arange(n) * 1e-4
    shapes = np.array([box(a, 10.0, a + 5e-5, 10.00005) for a in x], dtype=object)
    shapes[::7] = [shapely.Point(a, 10.0) for a in x[::7]]
    shapes[5::1000] = None
    shapes[6::1000] = shapely.Polygon()
    index = pd.Index([f"r{i}" for i in range(n)], name="dong")
    frame = gpd.GeoDataFrame(
        {"ma": [f"p{i}" for i in range(n)], "ha": np.arange(n) / 7.0,
         "tam": gpd.GeoSeries(shapely.points(x, np.full(n, 10.0)), index=index,
                              crs="EPSG:4326")},
        geometry=shapes, index=index, crs="EPSG:4326")
    path = tmp_path / "thua.parquet"
    frame.to_parquet(path, geometry_encoding="WKB")
    got = _read_geoparquet(path)
    assert_geodataframe_equal(got, gpd.read_parquet(path))
    assert list(got.columns) == ["ma", "ha", "tam", "geometry"]
    assert got.geometry.name == "geometry" and got["tam"].crs.to_epsg() == 4326
    missing = got.geometry.isna().to_numpy()
    assert np.flatnonzero(missing).tolist() == list(range(5, n, 1000))
    assert shapely.equals_exact(got.geometry.values[~missing], shapes[~missing], 0).all()


def test_zipped_shapefile(tmp_path, communes):
    shp = write_layer(communes, tmp_path / "shp" / "xa.shp")
    archive = tmp_path / "xa.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp.parent.iterdir():
            zf.write(part, part.name)
    back = read_layer(archive, kind="communes")
    assert back["commune_name"].tolist() == NAMES


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_legacy_encoded_shapefile_is_decoded(tmp_path, communes, encoding):
    """A DBF written in TCVN3 or VNI with no .cpg reads back as Unicode NFC."""
    legacy = communes.assign(
        commune_name=[encode_legacy(n, encoding).decode("latin-1") for n in NAMES])
    path = tmp_path / "xa_legacy.shp"
    pyogrio.write_dataframe(legacy, path, encoding="latin1")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    back = read_layer(path, kind="communes")
    assert back["commune_name"].tolist() == NAMES
    assert back.attrs["geoagri"]["encoding"] == encoding


def test_kml_with_folders_reads_every_folder(tmp_path):
    lonlat = gpd.GeoDataFrame(
        {"Name": ["Z1", "Z2"], "zone_kind": ["linkage", "production"]},
        geometry=[box(105.80, 10.90, 105.81, 10.91), box(105.82, 10.90, 105.83, 10.91)],
        crs="EPSG:4326")
    path = tmp_path / "zones.kml"
    pyogrio.write_dataframe(lonlat.iloc[:1], path, layer="Lúa", driver="LIBKML")
    pyogrio.write_dataframe(lonlat.iloc[1:], path, layer="Sen", driver="LIBKML", append=True)
    assert len(list_layers(path)) == 2
    back = read_layer(path, kind="zones", rename={"Name": "zone_id"})
    assert sorted(back["zone_id"]) == ["Z1", "Z2"]
    assert set(back["folder"]) == {"Lúa", "Sen"}
    assert back.crs.to_epsg() == 4326


GOOGLE_EARTH_KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>Vùng liên kết</name>
<Folder><name>Lúa</name><Placemark><name>Z1</name><ExtendedData>
<Data name="loai"><value>liên kết sản xuất</value></Data>
<Data name="crop"><value>rice</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>105.80,10.90,0 105.81,10.90,0
105.81,10.91,0 105.80,10.91,0 105.80,10.90,0</coordinates></LinearRing></outerBoundaryIs>
</Polygon></Placemark></Folder></Document></kml>"""


def test_kmz_drawn_in_google_earth(tmp_path):
    kmz = tmp_path / "vung.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.writestr("doc.kml", GOOGLE_EARTH_KML)
    back = read_layer(kmz, kind="zones", rename={"Name": "zone_id", "loai": "zone_kind"})
    assert back["zone_id"].tolist() == ["Z1"] and back["zone_kind"].tolist() == ["linkage"]
    assert back["folder"].tolist() == ["Lúa"]
    assert not {"tessellate", "extrude", "visibility"} & set(back.columns)
    assert not back.has_z.any()
    # 0.01° × 0.01° at 10.9° N: 1,105.9 m (latitude) × 1,092.9 m (longitude) = 120.9 ha
    from geoagri.crs import area_ha
    assert area_ha(back.geometry).iloc[0] == pytest.approx(120.9, rel=0.005)


def test_csv_with_lonlat(tmp_path):
    path = tmp_path / "pumps.csv"
    path.write_text("pump_id,status,Kinh_do,Vi_do\nTB01,đang hoạt động,105.8,10.9\n"
                    "TB02,kế hoạch,105.9,10.95\n", encoding="utf-8-sig")
    pumps = read_layer(path, kind="pumps")
    assert pumps.crs.to_epsg() == 4326
    assert pumps["status"].tolist() == ["operating", "planned"]
    assert pumps.geometry.iloc[1].equals(Point(105.9, 10.95))


def test_xlsx_with_xy_needs_crs(tmp_path):
    table = pd.DataFrame({"coop_id": ["H1"], "name": ["HTX Tuyên Bình Tây"],
                          "coop_type": ["HTX"], "x": [575_000.0], "y": [1_205_000.0]})
    path = tmp_path / "htx.xlsx"
    table.to_excel(path, index=False)
    with pytest.raises(CRSError, match="htx"):
        read_layer(path, kind="cooperatives")
    coops = read_layer(path, kind="cooperatives", crs="EPSG:9210")
    assert coops.crs.to_epsg() == 9210 and coops.loc[0, "coop_type"] == "htx"


def test_table_without_coordinates(tmp_path):
    path = tmp_path / "pumps.csv"
    path.write_text("pump_id,status\nTB01,operating\n", encoding="utf-8")
    with pytest.raises(LayerError, match="no coordinate columns; columns found"):
        read_layer(path, kind="pumps")


def test_rows_without_coordinates_are_reported(tmp_path):
    path = tmp_path / "pumps.csv"
    path.write_text("pump_id,status,lon,lat\nTB01,operating,105.8,10.9\nTB02,operating,,\n",
                    encoding="utf-8")
    with pytest.raises(LayerError, match=r"no geometry \[TB02\]"):
        read_layer(path, kind="pumps")


def test_multilayer_gpkg_needs_a_layer_name(tmp_path, communes):
    path = tmp_path / "all.gpkg"
    write_layer(communes, path, layer="communes_2019")
    write_layer(communes, path, layer="communes_2024")
    assert list_layers(path) == ["communes_2019", "communes_2024"]
    with pytest.raises(GeoagriError, match=r"has 2 layers.*layer='"):
        read_layer(path, kind="communes")
    with pytest.raises(GeoagriError, match="no layer 'x'"):
        read_layer(path, kind="communes", layer="x")
    assert len(read_layer(path, kind="communes", layer="communes_2024")) == 3


def test_missing_file_and_unknown_kind(tmp_path):
    with pytest.raises(GeoagriError, match="file not found"):
        read_layer(tmp_path / "nope.gpkg", kind="zones")
    with pytest.raises(GeoagriError, match="unknown layer kind 'zone'; known kinds"):
        read_layer(tmp_path / "nope.gpkg", kind="zone")


def test_failed_write_leaves_nothing(tmp_path, communes):
    target = tmp_path / "out.gpkg"
    bad = communes.assign(bad=np.array([1 + 2j, 3j, 4j]))
    with pytest.raises(Exception):  # noqa: B017 - whatever GDAL raises
        write_layer(bad, target)
    assert list(tmp_path.iterdir()) == []


def test_write_keeps_other_gpkg_layers(tmp_path, communes):
    path = tmp_path / "layers.gpkg"
    write_layer(communes, path, layer="a")
    write_layer(communes.iloc[:1], path, layer="b")
    write_layer(communes.iloc[:2], path, layer="a")  # replaces a
    assert sorted(list_layers(path)) == ["a", "b"]
    assert len(read_layer(path, kind="communes", layer="a")) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["layers.gpkg"]


def test_geodataframe_source_is_validated(communes):
    out = read_layer(communes, kind="communes", name="xa")
    assert out.attrs["geoagri"]["layer"] == "xa"


# ------------------------------------------------------------ GeoPackage through Arrow


def _zones_gpkg(path, *, index=True, **extra):
    """Three zones of 100, 200 and 50 ha (UTM 48N), with Z, and ``extra`` columns."""
    zones = gpd.GeoDataFrame(
        {"zone_id": ["LK01", "LK02", "LK03"], "zone_kind": ["linkage", "liên kết", "production"],
         "crop": ["rice", None, "lúa"],
         "note": [None, None, None], "households": pd.array([12, None, 7], dtype="Int64"),
         "rank16": pd.array([1, None, 3], dtype="Int16"),
         "share": pd.array([0.5, None, 1.5], dtype="Float32"), "budget": [1.5, np.nan, 2.0],
         "big": [2**40, -1, 0], **extra},
        geometry=[shapely.force_3d(box(500_000, 1_200_000, 501_000, 1_201_000), 2.0),
                  box(501_000, 1_200_000, 503_000, 1_201_000),
                  box(503_000, 1_200_000, 503_500, 1_201_000)], crs=UTM)
    pyogrio.write_dataframe(zones, path, layer="zones",
                            layer_options=None if index else {"SPATIAL_INDEX": "NO"})
    return path


def _same_layer(got, want):
    assert list(got.columns) == list(want.columns)
    assert list(got.dtypes) == list(want.dtypes)
    pd.testing.assert_frame_equal(pd.DataFrame(got.drop(columns="geometry")),
                                  pd.DataFrame(want.drop(columns="geometry")), check_exact=True)
    assert shapely.to_wkb(np.asarray(got.geometry.values)).tolist() == \
        shapely.to_wkb(np.asarray(want.geometry.values)).tolist()
    assert got.crs == want.crs and got.attrs == want.attrs


def test_gpkg_through_arrow_reads_as_feature_by_feature(tmp_path, monkeypatch):
    path = _zones_gpkg(tmp_path / "zones.gpkg")
    monkeypatch.setattr(gio, "ARROW_MIN_BYTES", 0)
    assert gio._read_gpkg_arrow(path, None) is not None  # the Arrow path is the one taken
    got = read_layer(path, kind="zones")
    # the reference: pyogrio's feature-by-feature reading, then the same validation
    want = canonicalize(pyogrio.read_dataframe(path), "zones", layer="zones",
                        source=str(path), encoding="utf-8")
    _same_layer(got, want)
    assert got["note"].tolist() == [None, None, None]  # not NaN: as the feature path reads it
    assert got.area.round(6).tolist() == [1_000_000.0, 2_000_000.0, 500_000.0]
    assert not got.has_z.any()


def test_gpkg_fields_arrow_reads_differently_are_read_feature_by_feature(tmp_path, monkeypatch):
    # a boolean field with a missing value: 1.0/NaN feature by feature, True/None through Arrow
    path = _zones_gpkg(tmp_path / "zones.gpkg",
                       irrigated=pd.array([True, None, False], dtype="boolean"))
    monkeypatch.setattr(gio, "ARROW_MIN_BYTES", 0)
    assert gio._read_gpkg_arrow(path, None) is None
    got = read_layer(path, kind="zones")
    assert got["irrigated"].tolist()[::2] == [1.0, 0.0] and np.isnan(got["irrigated"][1])


@pytest.mark.filterwarnings("ignore:geometry column type:RuntimeWarning")
def test_gpkg_curved_geometries_are_linearised_not_refused(tmp_path, monkeypatch):
    # Arrow cannot read a CURVEPOLYGON; the feature path reads it as a polygon (no spatial
    # index: its triggers need GDAL's SQL functions to rewrite the geometries here)
    path = _zones_gpkg(tmp_path / "zones.gpkg", index=False)
    ring = np.array([[500_000, 1_200_000], [501_000, 1_200_000], [501_000, 1_201_000],
                     [500_000, 1_201_000], [500_000, 1_200_000]], dtype="<f8")
    wkb = (struct.pack("<bII", 1, 10, 1) + struct.pack("<bII", 1, 2, len(ring))
           + ring.tobytes())  # CurvePolygon of one LineString ring: 100 ha
    with sqlite3.connect(path) as con:
        srs = con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
        con.execute("UPDATE zones SET geom = ?", (b"GP\x00\x01" + struct.pack("<i", srs) + wkb,))
        con.execute("UPDATE gpkg_geometry_columns SET geometry_type_name = 'CURVEPOLYGON'")
    monkeypatch.setattr(gio, "ARROW_MIN_BYTES", 0)
    assert gio._read_gpkg_arrow(path, None) is None
    got = read_layer(path, kind="zones")
    assert got.geom_type.tolist() == ["Polygon"] * 3
    assert (got.area / 1e4).round(6).tolist() == [100.0] * 3
