"""Tests of geoagri.raster on hand-made rasters (EPSG:32648, 100 m pixels = 1 ha)."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely import Polygon, box

import geoagri.raster as gr
from geoagri.crs import geodesic_area_ha
from geoagri.errors import CRSError, GeoagriError, GeoagriWarning, SchemaError
from geoagri.raster import raster_area_by_zone, raster_stats_by_zone

X0, Y0 = 500_000.0, 1_151_000.0  # upper-left corner of the 10 × 10 raster (EPSG:32648)
PX = 100.0  # pixel size, m: one pixel = 1 ha
UTM = "EPSG:32648"

# Class of each pixel: the column's class (1, 2 or 3 by column band), row 9 is class 4.
CLASSES = np.tile(np.array([1, 1, 1, 2, 2, 2, 3, 3, 3, 3], dtype="uint8"), (10, 1))
CLASSES[9, :] = 4


def from_origin(west: float, north: float, xsize: float, ysize: float) -> Affine:
    """North-up geotransform (rasterio's from_origin without its deprecation warning)."""
    return Affine(xsize, 0.0, west, 0.0, -ysize, north)


def write(path, data, *, crs=UTM, transform=None, nodata=None, dtype=None):
    """Write a one-band GeoTIFF and return its path."""
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    profile = dict(
        driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0],
        dtype=dtype or data.dtype, transform=transform or from_origin(X0, Y0, PX, PX),
    )
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as ds:
            ds.write(data.astype(profile["dtype"]))
    return path


def px(col: float, row: float) -> tuple[float, float]:
    """Map coordinates of a point given in pixel units from the raster's corner."""
    return X0 + col * PX, Y0 - row * PX


def communes_of(*geoms, crs=UTM, ids=None) -> gpd.GeoDataFrame:
    ids = ids or [f"{27781 + i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame(
        {"commune_id": ids, "commune_name": [f"Xã {i}" for i in ids]},
        geometry=list(geoms), crs=crs,
    )


def pixel_box(c0: float, r0: float, c1: float, r1: float) -> Polygon:
    (xa, ya), (xb, yb) = px(c0, r0), px(c1, r1)
    return box(min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))


def class_areas(table: pd.DataFrame, commune_id: str) -> dict[int, float]:
    rows = table[(table["commune_id"] == commune_id) & (table["part"] == "class")]
    return {int(c): a for c, a in zip(rows["class"], rows["area_ha"], strict=True)}


def part_area(table: pd.DataFrame, commune_id: str, part: str) -> float:
    rows = table[(table["commune_id"] == commune_id) & (table["part"] == part)]
    assert len(rows) == 1
    return float(rows["area_ha"].iloc[0])


def reference_class_areas(classes: np.ndarray, geom, transform) -> dict[int, float]:
    """Class areas in ha by intersecting the polygon with every pixel (shapely)."""
    out: dict[int, float] = {}
    for (r, c), value in np.ndenumerate(classes):
        x0, y0 = transform.c + transform.a * c, transform.f + transform.e * r
        x1, y1 = x0 + transform.a, y0 + transform.e
        area = shapely.intersection(box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
                                    geom).area
        if area > 0:
            out[int(value)] = out.get(int(value), 0.0) + area / 10_000
    return out


@pytest.fixture
def classes_tif(tmp_path):
    return write(tmp_path / "classes.tif", CLASSES)


# --------------------------------------------------------------------------
# Classified rasters: exact areas
# --------------------------------------------------------------------------


def test_commune_on_pixel_edges_counts_whole_pixels(classes_tif):
    # Columns 2-4 (classes 1, 2, 2), rows 0-1: 6 pixels = 6 ha.
    communes = communes_of(pixel_box(2, 0, 5, 2))
    table = raster_area_by_zone(classes_tif, communes)
    assert class_areas(table, "27781") == pytest.approx({1: 2.0, 2: 4.0}, abs=1e-12)
    assert part_area(table, "27781", "nodata") == 0.0
    assert part_area(table, "27781", "outside_raster") == 0.0
    assert table["commune_area_ha"].iloc[0] == pytest.approx(6.0, abs=1e-12)
    assert list(table.columns) == [
        "commune_id", "commune_name", "part", "class", "area_ha", "commune_share_pct",
        "commune_area_ha",
    ]
    assert str(table["class"].dtype) == "Int64"
    assert table.index.equals(pd.RangeIndex(len(table)))


def test_triangle_cuts_pixels_at_known_fractions(classes_tif):
    # Right triangle with legs of 3 pixels along the top-left corner; column k of
    # the triangle holds (3 - k) - 0.5 pixels: 2.5, 1.5, 0.5 ha, all class 1.
    # Shifted 2 columns right: columns 2, 3, 4 = classes 1, 2, 2.
    tri = Polygon([px(2, 0), px(5, 0), px(2, 3)])
    table = raster_area_by_zone(classes_tif, communes_of(tri))
    assert class_areas(table, "27781") == pytest.approx({1: 2.5, 2: 2.0}, abs=1e-9)
    assert table["commune_area_ha"].iloc[0] == pytest.approx(4.5, abs=1e-9)


def test_half_pixels(classes_tif):
    # Box from the middle of column 2 to the middle of column 4, rows 0.5-2.5:
    # 0.5 px of column 2 (class 1), 1 px of column 3 and 0.5 of column 4 (class 2),
    # each 2 rows high.
    table = raster_area_by_zone(classes_tif, communes_of(pixel_box(2.5, 0.5, 4.5, 2.5)))
    assert class_areas(table, "27781") == pytest.approx({1: 1.0, 2: 3.0}, abs=1e-9)
    share = table.set_index("class")["commune_share_pct"]
    assert share.loc[1] == pytest.approx(25.0)
    assert share.loc[2] == pytest.approx(75.0)


def test_polygon_with_hole_and_multipolygon(classes_tif):
    outer = pixel_box(0, 0, 4, 4)
    hole = pixel_box(0.5, 0.5, 2.5, 2.5)  # 4 ha hole: 2.5 px in class 1, 1.5 px... see below
    ring = outer.difference(hole)
    island = pixel_box(7, 5, 8.5, 6)  # 1.5 ha of class 3
    commune = shapely.MultiPolygon([ring, island])
    table = raster_area_by_zone(classes_tif, communes_of(commune))
    expected = reference_class_areas(CLASSES, commune, from_origin(X0, Y0, PX, PX))
    assert class_areas(table, "27781") == pytest.approx(expected, abs=1e-9)
    assert table["commune_area_ha"].iloc[0] == pytest.approx(16 - 4 + 1.5, abs=1e-9)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    points=st.lists(
        st.tuples(st.floats(-1.5, 11.5), st.floats(-1.5, 11.5)), min_size=3, max_size=12,
    )
)
def test_random_polygons_match_shapely_pixel_intersections(classes_tif, points):
    """Any polygon, partly outside the raster: classes as exact as shapely, totals conserved."""
    hull = shapely.convex_hull(shapely.MultiPoint([px(c, r) for c, r in points]))
    if hull.geom_type != "Polygon" or hull.area < 1:
        return
    star = shapely.make_valid(shapely.Polygon(
        [px(c, r) for c, r in sorted(points, key=lambda p: math.atan2(p[1] - 5, p[0] - 5))]
    ))
    geom = shapely.union(hull.buffer(-30), star) if star.area > 1 else hull
    geom = shapely.make_valid(geom)
    if geom.area < 1 or geom.is_empty:
        return
    minx, miny, maxx, maxy = geom.bounds
    if minx >= X0 + 10 * PX or maxx <= X0 or miny >= Y0 or maxy <= Y0 - 10 * PX:
        with pytest.raises(GeoagriError, match="do not overlap"):
            raster_area_by_zone(classes_tif, communes_of(geom))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GeoagriWarning)
        table = raster_area_by_zone(classes_tif, communes_of(geom))
    raster_box = pixel_box(0, 0, 10, 10)
    expected = reference_class_areas(CLASSES, geom, from_origin(X0, Y0, PX, PX))
    got = class_areas(table, "27781")
    assert got.keys() <= expected.keys()
    for value, area in expected.items():
        assert got.get(value, 0.0) == pytest.approx(area, abs=1e-9)
    outside = geom.difference(raster_box).area / 10_000
    assert part_area(table, "27781", "outside_raster") == pytest.approx(outside, abs=1e-9)
    total = table["area_ha"].sum()
    assert total == pytest.approx(geom.area / 10_000, rel=1e-12, abs=1e-9)
    assert table["commune_area_ha"].iloc[0] == pytest.approx(total, rel=1e-12)
    assert table["commune_share_pct"].sum() == pytest.approx(100.0)


def test_rotated_raster(tmp_path):
    # Pixels of 100 m turned by 30°: the grid is not north-up, coverage still exact.
    transform = Affine(PX * math.cos(math.radians(30)), PX * math.sin(math.radians(30)), X0,
                       PX * math.sin(math.radians(30)), -PX * math.cos(math.radians(30)), Y0)
    path = write(tmp_path / "rotated.tif", CLASSES, transform=transform)
    commune = Polygon([(X0 + 100, Y0 - 50), (X0 + 700, Y0 - 250), (X0 + 300, Y0 - 820)])
    table = raster_area_by_zone(path, communes_of(commune))
    expected: dict[int, float] = {}
    for (r, c), value in np.ndenumerate(CLASSES):
        corners = [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)]
        cell = Polygon([(transform.a * i + transform.b * j + transform.c,
                         transform.d * i + transform.e * j + transform.f) for i, j in corners])
        area = shapely.intersection(cell, commune).area / 10_000
        if area > 0:
            expected[int(value)] = expected.get(int(value), 0.0) + area
    assert class_areas(table, "27781") == pytest.approx(expected, abs=1e-9)
    assert table["area_ha"].sum() == pytest.approx(commune.area / 10_000, rel=1e-12)


def test_totals_conserved_with_nodata_and_outside(tmp_path):
    data = CLASSES.copy()
    data[0:2, 0:2] = 0  # 4 nodata pixels (nodata = 0)
    path = write(tmp_path / "nodata.tif", data, nodata=0)
    # From column -2 (outside the raster) to 3, rows 0-4: 5 × 4 = 20 ha, of which
    # 2 × 4 = 8 ha outside, 4 ha nodata, 8 ha of class 1 (column 0-2 minus nodata).
    communes = communes_of(pixel_box(-2, 0, 3, 4), pixel_box(5, 5, 7, 7))
    table = raster_area_by_zone(path, communes)
    assert part_area(table, "27781", "outside_raster") == pytest.approx(8.0, abs=1e-9)
    assert part_area(table, "27781", "nodata") == pytest.approx(4.0, abs=1e-9)
    assert class_areas(table, "27781") == pytest.approx({1: 8.0}, abs=1e-9)
    assert 0 not in class_areas(table, "27781")
    for _, rows in table.groupby("commune_id"):
        assert rows["area_ha"].sum() == pytest.approx(rows["commune_area_ha"].iloc[0])
        assert rows["commune_share_pct"].sum() == pytest.approx(100.0)
    assert table.groupby("commune_id")["commune_area_ha"].first().to_dict() == pytest.approx(
        {"27781": 20.0, "27782": 4.0}
    )
    # Rows: classes, then nodata, then outside_raster for each commune, in input order.
    assert table["part"].tolist()[-3:] == ["class", "nodata", "outside_raster"]
    assert table["commune_id"].unique().tolist() == ["27781", "27782"]


def test_nodata_option_overrides_and_float_nan(tmp_path):
    path = write(tmp_path / "plain.tif", CLASSES)  # no nodata tag
    communes = communes_of(pixel_box(5, 8, 8, 10))  # classes 2, 3, 3 × rows 8 (2,3,3), 9 (4)
    table = raster_area_by_zone(path, communes, nodata=4)
    assert part_area(table, "27781", "nodata") == pytest.approx(3.0)
    assert class_areas(table, "27781") == pytest.approx({2: 1.0, 3: 2.0})
    # float classes with NaN pixels: NaN is nodata; class values are Float64
    data = CLASSES.astype("float32")
    data[8, 5] = np.nan
    table = raster_area_by_zone(write(tmp_path / "f.tif", data), communes)
    assert part_area(table, "27781", "nodata") == pytest.approx(1.0)
    assert class_areas(table, "27781") == pytest.approx({3: 2.0, 4: 3.0})
    assert str(table["class"].dtype) == "Float64"


def test_dataset_mask_is_nodata(tmp_path):
    path = tmp_path / "masked.tif"
    with rasterio.Env(GDAL_TIFF_INTERNAL_MASK=True):
        with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1,
                           dtype="uint8", crs=UTM, transform=from_origin(X0, Y0, PX, PX)) as ds:
            ds.write(CLASSES, 1)
            mask = np.full((10, 10), 255, dtype="uint8")
            mask[0, 0:3] = 0
            ds.write_mask(mask)
    table = raster_area_by_zone(path, communes_of(pixel_box(0, 0, 3, 2)))
    assert part_area(table, "27781", "nodata") == pytest.approx(3.0)
    assert class_areas(table, "27781") == pytest.approx({1: 3.0})


def test_signed_and_wide_integer_classes(tmp_path):
    data = CLASSES.astype("int16") - 2  # -1, 0, 1, 2
    table = raster_area_by_zone(write(tmp_path / "i16.tif", data),
                                communes_of(pixel_box(2, 8, 4, 10)))
    assert class_areas(table, "27781") == pytest.approx({-1: 1.0, 0: 1.0, 2: 2.0})
    data = CLASSES.astype("int32") * 100_000  # wide values: bincount on an offset
    table = raster_area_by_zone(write(tmp_path / "i32.tif", data),
                                communes_of(pixel_box(2, 8, 4, 10)))
    assert class_areas(table, "27781") == pytest.approx(
        {100_000: 1.0, 200_000: 1.0, 400_000: 2.0}
    )
    data = CLASSES.astype("int64") * 10**9  # too wide: unique values
    table = raster_area_by_zone(write(tmp_path / "i64.tif", data),
                                communes_of(pixel_box(2, 8, 4, 10)))
    assert class_areas(table, "27781") == pytest.approx(
        {10**9: 1.0, 2 * 10**9: 1.0, 4 * 10**9: 2.0}
    )


def test_class_names(classes_tif):
    names = {1: "rice", 2: "other", 7: "aquaculture"}
    communes = communes_of(pixel_box(2, 8, 4, 10))  # classes 1, 2 (row 8) and 4 (row 9)
    with pytest.warns(GeoagriWarning, match=r"class values \[4\] are in the raster but not"):
        table = raster_area_by_zone(classes_tif, communes, classes=names)
    assert list(table.columns) == [
        "commune_id", "commune_name", "part", "class", "class_name", "area_ha",
        "commune_share_pct", "commune_area_ha",
    ]
    cls = table[table["part"] == "class"]
    assert cls["class"].tolist() == [1, 2, 7, 4]  # listed classes first, in order
    assert cls["class_name"].tolist()[:3] == ["rice", "other", "aquaculture"]
    assert pd.isna(cls["class_name"].iloc[3])
    assert cls["area_ha"].tolist() == pytest.approx([1.0, 1.0, 0.0, 2.0])
    assert table[table["part"] != "class"]["class_name"].isna().all()


def test_path_and_open_dataset_agree_and_dataset_left_open(classes_tif):
    communes = communes_of(Polygon([px(1.3, 0.2), px(8.7, 2.9), px(4.1, 9.6)]))
    by_path = raster_area_by_zone(classes_tif, communes)
    with rasterio.open(classes_tif) as ds:
        by_ds = raster_area_by_zone(ds, communes)
        assert not ds.closed
    pd.testing.assert_frame_equal(by_path, by_ds)
    assert by_path.attrs["geoagri"] == {"raster_crs": "EPSG:32648", "pixel_area": "nominal"}


def test_inputs_unchanged(classes_tif):
    communes = communes_of(pixel_box(0.5, 0.5, 3.5, 3.5)).to_crs(4326)
    before = communes.copy()
    raster_area_by_zone(classes_tif, communes)
    raster_stats_by_zone(classes_tif, communes)
    pd.testing.assert_frame_equal(communes, before)
    assert communes.crs == before.crs


def test_many_communes_in_batches_and_empty_geometry(classes_tif, monkeypatch):
    geoms = [pixel_box(c + 0.25, r + 0.5, c + 1.75, r + 2) for c in range(0, 8, 2)
             for r in range(0, 8, 3)]
    geoms.append(shapely.Polygon())  # an empty commune is kept, with 0 ha
    communes = communes_of(*geoms)
    whole = raster_area_by_zone(classes_tif, communes)
    monkeypatch.setattr(gr, "_EDGE_BATCH", 2)
    pd.testing.assert_frame_equal(whole, raster_area_by_zone(classes_tif, communes))
    assert whole["commune_id"].unique().tolist() == communes["commune_id"].tolist()
    totals = whole.groupby("commune_id", sort=False)["area_ha"].sum()
    assert totals.iloc[:-1].tolist() == pytest.approx([2.25] * (len(geoms) - 1))
    empty = whole[whole["commune_id"] == communes["commune_id"].iloc[-1]]
    assert empty["part"].tolist() == ["nodata", "outside_raster"]
    assert empty["area_ha"].tolist() == [0.0, 0.0]
    stats = raster_stats_by_zone(classes_tif, communes)
    assert len(stats) == len(communes) and math.isnan(stats["mean"].iloc[-1])


class _Spy:
    """A dataset that records the windows read."""

    def __init__(self, ds):
        self._ds = ds
        self.windows = []

    def read(self, *args, window=None, **kwargs):
        self.windows.append(window)
        return self._ds.read(*args, window=window, **kwargs)

    def __getattr__(self, name):
        return getattr(self._ds, name)


def test_reads_only_windows_around_each_commune(tmp_path, monkeypatch):
    big = np.tile(CLASSES, (10, 10))  # 100 × 100 pixels
    path = write(tmp_path / "big.tif", big)
    communes = communes_of(pixel_box(3.5, 4.2, 12.5, 9.9), pixel_box(60, 70, 75, 71.5))
    with rasterio.open(path) as ds:
        whole = raster_area_by_zone(ds, communes)
        spy = _Spy(ds)
        monkeypatch.setattr(gr, "MAX_CHUNK_PIXELS", 20)  # force strips of ≤ 2 rows
        strips = raster_area_by_zone(spy, communes)
    pd.testing.assert_frame_equal(whole, strips)
    bounds = [(3, 4, 13, 10), (60, 70, 75, 72)]  # pixel bounds of each commune
    assert len(spy.windows) > 2
    for w in spy.windows:
        c0, r0 = w.col_off, w.row_off
        c1, r1 = c0 + w.width, r0 + w.height
        assert any(b[0] <= c0 and c1 <= b[2] and b[1] <= r0 and r1 <= b[3] for b in bounds)
        assert w.width * w.height <= max(20, w.width)
    assert sum(w.width * w.height for w in spy.windows) == 10 * 6 + 15 * 2


# --------------------------------------------------------------------------
# CRS: vectors move to the raster's CRS
# --------------------------------------------------------------------------


def test_lonlat_raster_with_utm_communes_matches_geodesic_area(tmp_path):
    # A 0.0005° lon/lat grid (≈ 55 m) over 105.9-106.0 E, 10.4-10.5 N, one class.
    step = 0.0005
    n = 200
    transform = from_origin(105.9, 10.5, step, step)
    data = np.ones((n, n), dtype="uint8")
    data[:, n // 2:] = 2  # east half class 2
    path = write(tmp_path / "lonlat.tif", data, crs="EPSG:4326", transform=transform)
    # An irregular commune in UTM 48N, well inside the raster.
    centre = gpd.GeoSeries([shapely.Point(105.95, 10.45)], crs=4326).to_crs(UTM).iloc[0]
    angles = np.linspace(0, 2 * np.pi, 60, endpoint=False)
    radius = 3_000 + 800 * np.sin(3 * angles)
    commune = Polygon(np.column_stack([centre.x + radius * np.cos(angles),
                                       centre.y + radius * np.sin(angles)]))
    communes = communes_of(commune)
    table = raster_area_by_zone(path, communes)
    geodesic = float(geodesic_area_ha(communes).iloc[0])
    area = table["commune_area_ha"].iloc[0]
    assert area == pytest.approx(geodesic, rel=1e-3)
    assert table["area_ha"].sum() == pytest.approx(area)
    assert part_area(table, "27781", "outside_raster") == pytest.approx(0.0, abs=1e-9)
    # The class split follows the meridian 105.95 E: each half is about half the area.
    halves = class_areas(table, "27781")
    assert halves[1] + halves[2] == pytest.approx(area)
    west = shapely.intersection(
        communes.to_crs(4326).geometry.iloc[0], box(105.0, 10.0, 105.95, 11.0)
    )
    west_ha = float(geodesic_area_ha(gpd.GeoSeries([west], crs=4326)).iloc[0])
    assert halves[1] == pytest.approx(west_ha, rel=1e-3)
    assert table.attrs["geoagri"]["pixel_area"] == "ellipsoidal_rows"


def test_lonlat_pixel_area_is_the_ellipsoidal_cell_area(tmp_path):
    step = 0.01
    path = write(tmp_path / "cells.tif", np.ones((3, 3), dtype="uint8"), crs="EPSG:4326",
                 transform=from_origin(106.0, 10.5, step, step))
    # One whole cell: row 1, column 1.
    cell = box(106.01, 10.48, 106.02, 10.49)
    table = raster_area_by_zone(path, communes_of(cell, crs="EPSG:4326"))
    # Reference: the cell's area on WGS 84 with densified parallels (pyproj Geod).
    lons = np.concatenate([np.linspace(106.01, 106.02, 200), np.linspace(106.02, 106.01, 200)])
    lats = np.concatenate([np.full(200, 10.48), np.full(200, 10.49)])
    ref = abs(Geod(ellps="WGS84").polygon_area_perimeter(lons, lats)[0]) / 10_000
    assert table["commune_area_ha"].iloc[0] == pytest.approx(ref, rel=1e-6)


def test_web_mercator_raster_is_scale_corrected(tmp_path):
    # EPSG:3857 exaggerates areas by ≈ 1/cos²(10.5°) ≈ +3.4%: pixel areas are corrected.
    origin = gpd.GeoSeries([shapely.Point(105.9, 10.5)], crs=4326).to_crs(3857).iloc[0]
    transform = from_origin(origin.x, origin.y, 50, 50)
    path = write(tmp_path / "merc.tif", np.ones((200, 200), dtype="uint8"), crs="EPSG:3857",
                 transform=transform)
    commune = box(origin.x + 1000, origin.y - 8000, origin.x + 7000, origin.y - 1000)
    communes = communes_of(commune, crs="EPSG:3857").to_crs(UTM)
    table = raster_area_by_zone(path, communes)
    geodesic = float(geodesic_area_ha(communes).iloc[0])
    assert table["commune_area_ha"].iloc[0] == pytest.approx(geodesic, rel=1e-3)
    assert table.attrs["geoagri"]["pixel_area"] == "scale_corrected"


# --------------------------------------------------------------------------
# Continuous rasters
# --------------------------------------------------------------------------


ELEVATION = np.arange(100, dtype="float32").reshape(10, 10) / 10  # value = row + col / 10


def test_stats_weighted_by_coverage(tmp_path):
    path = write(tmp_path / "dem.tif", ELEVATION)
    # Triangle over columns 2-4, rows 0-2 (see the classified triangle): pixel
    # coverages by hand, row r column c: c=2: r0 1, r1 1, r2 0.5; c=3: r0 1, r1 0.5;
    # c=4: r0 0.5.
    tri = Polygon([px(2, 0), px(5, 0), px(2, 3)])
    cover = {(0, 2): 1, (1, 2): 1, (2, 2): 0.5, (0, 3): 1, (1, 3): 0.5, (0, 4): 0.5}
    values = {k: ELEVATION[k] for k in cover}
    weight = sum(cover.values())
    mean = sum(cover[k] * float(values[k]) for k in cover) / weight
    var = sum(cover[k] * (float(values[k]) - mean) ** 2 for k in cover) / weight
    table = raster_stats_by_zone(path, communes_of(tri), stats=("mean", "min", "max", "std"))
    row = table.iloc[0]
    assert list(table.columns) == [
        "commune_id", "commune_name", "mean", "min", "max", "std", "coverage_ha", "nodata_ha",
        "outside_raster_ha",
    ]
    assert row["mean"] == pytest.approx(mean, rel=1e-12)
    assert row["std"] == pytest.approx(math.sqrt(var), rel=1e-9)
    assert row["min"] == pytest.approx(0.2)
    assert row["max"] == pytest.approx(2.2)  # pixel (2, 2), half covered
    assert row["coverage_ha"] == pytest.approx(4.5)
    assert row["nodata_ha"] == 0.0
    assert row["outside_raster_ha"] == 0.0


def test_stats_exclude_nodata_and_touched_only(tmp_path):
    data = ELEVATION.copy()
    data[0, 0] = -9999
    path = write(tmp_path / "dem.tif", data, nodata=-9999)
    # Rows 0-1, columns -1 to 2.25: 2 ha outside, pixel (0, 0) nodata,
    # column 2 a quarter covered.
    communes = communes_of(pixel_box(-1, 0, 2.25, 2), pixel_box(20, 20, 21, 21))
    with pytest.warns(GeoagriWarning, match=r"1 commune lies wholly outside the raster \[27782\]"):
        table = raster_stats_by_zone(path, communes)
    row = table.iloc[0]
    cover = {(0, 1): 1, (0, 2): 0.25, (1, 0): 1, (1, 1): 1, (1, 2): 0.25}
    mean = sum(w * float(data[k]) for k, w in cover.items()) / sum(cover.values())
    assert row["mean"] == pytest.approx(mean)
    assert row["min"] == pytest.approx(0.1)
    assert row["max"] == pytest.approx(1.2)
    assert row["coverage_ha"] == pytest.approx(3.5)
    assert row["nodata_ha"] == pytest.approx(1.0)
    assert row["outside_raster_ha"] == pytest.approx(2.0)
    outside = table.iloc[1]
    assert math.isnan(outside["mean"]) and math.isnan(outside["max"])
    assert outside["coverage_ha"] == 0.0
    assert outside["outside_raster_ha"] == pytest.approx(1.0)


def test_stats_single_statistic_as_string(tmp_path):
    path = write(tmp_path / "dem.tif", ELEVATION)
    table = raster_stats_by_zone(path, communes_of(pixel_box(0, 0, 1, 1)), stats="max")
    assert list(table.columns)[2:4] == ["max", "coverage_ha"]
    assert table["max"].iloc[0] == pytest.approx(0.0)


# --------------------------------------------------------------------------
# More statistics, and the centre / all-touched rules: peers' own test cases
# --------------------------------------------------------------------------


def peer_rect(xmin, ymin, xmax, ymax, n_rows):
    """A rectangle given as exactextract's and rasterstats' tests give it: in pixel units
    from the raster's lower-left corner, y up (their grids have 1-unit pixels)."""
    return pixel_box(xmin, n_rows - ymin, xmax, n_rows - ymax)


ONE_TO_NINE = np.arange(1, 10, dtype="float32").reshape(3, 3)


def test_exactextract_basic_stats(tmp_path):
    # exactextract python/tests/test_exact_extract.py::test_basic_stats: values 1..9 on a
    # 3 x 3 grid, the square (0.5, 0.5)-(2.5, 2.5): coverage 0.25 at the corners, 0.5 on
    # the sides, 1 in the middle.  Its stated values: count 4, mean 5, median 5, min 1,
    # max 9, majority 5, minority 1, variety 9, variance 5.
    path = write(tmp_path / "nine.tif", ONE_TO_NINE)
    stats = ("count", "mean", "median", "min", "max", "majority", "minority", "variety",
             "std", "sum", "q25", "q75")
    row = raster_stats_by_zone(path, communes_of(peer_rect(0.5, 0.5, 2.5, 2.5, 3)),
                               stats=stats).iloc[0]
    assert row["count"] == pytest.approx(4.0)
    assert row["mean"] == pytest.approx(5.0)
    assert row["median"] == pytest.approx(5.0)
    assert (row["min"], row["max"]) == (1.0, 9.0)
    assert (row["majority"], row["minority"], row["variety"]) == (5.0, 1.0, 9)
    assert row["std"] == pytest.approx(math.sqrt(5.0))
    # Σ fraction x value = 0.25 (1 + 3 + 7 + 9) + 0.5 (2 + 4 + 6 + 8) + 5
    assert row["sum"] == pytest.approx(20.0)
    # Quantiles by hand (s_k = (k-1) w_k + 8 Σ_{i<k} w_i = 0, 2.5, 6.5, 9.5, 16, 22.5,
    # 25.5, 29.5, 32; q x 32 = 8 lies between 6.5 (x=3) and 9.5 (x=4), 24 between 22.5
    # (x=6) and 25.5 (x=7)).  exactextract states 3 and 6: the same numbers truncated to
    # the int32 type of its test raster.
    assert row["q25"] == pytest.approx(3.5)
    assert row["q75"] == pytest.approx(6.5)
    assert row["coverage_ha"] == pytest.approx(4.0)
    # The square's sides run through centres: GDAL takes those on the right, top and
    # bottom sides, not the left (6 cells: columns 1-2, all rows); all touched, 9.
    for rule, count, total in (("centre", 6, 2 + 3 + 5 + 6 + 8 + 9), ("all_touched", 9, 45)):
        row = raster_stats_by_zone(path, communes_of(peer_rect(0.5, 0.5, 2.5, 2.5, 3)),
                                   stats=("count", "sum"), rule=rule).iloc[0]
        assert (row["count"], row["sum"]) == (count, total), rule


def test_exactextract_partial_cell_and_nodata(tmp_path):
    # test_multisource: the square (0.5, 0.5)-(1, 1) covers a quarter of the cell holding 7
    # (and 14 on the doubled raster): count 0.25, mean 7.
    path = write(tmp_path / "nine.tif", ONE_TO_NINE)
    doubled = write(tmp_path / "doubled.tif", 2 * ONE_TO_NINE)
    corner = communes_of(peer_rect(0.5, 0.5, 1.0, 1.0, 3))
    row = raster_stats_by_zone(path, corner, stats=("count", "mean")).iloc[0]
    assert (row["count"], row["mean"]) == (pytest.approx(0.25), pytest.approx(7.0))
    assert raster_stats_by_zone(doubled, corner, stats="mean")["mean"].iloc[0] == 14.0
    # test_nodata: 1..100 on 10 x 10, the lower-left 4 x 4 block nodata (-999).  The
    # square (3.5, 3.5)-(4.5, 4.5) takes a quarter of 54, 55, 65 and of a nodata cell:
    # sum 43.5, mean 58; the square (0, 0)-(3, 3) lies in the block: sum 0, mean NaN.
    data = np.arange(1, 101, dtype="int32").reshape(10, 10)
    data[6:10, 0:4] = -999
    path = write(tmp_path / "hundred.tif", data, nodata=-999)
    table = raster_stats_by_zone(
        path, communes_of(peer_rect(3.5, 3.5, 4.5, 4.5, 10), peer_rect(0, 0, 3, 3, 10)),
        stats=("sum", "mean", "count", "median", "majority", "variety"))
    assert table["sum"].tolist() == [pytest.approx(43.5), 0.0]
    assert table["mean"].iloc[0] == pytest.approx(58.0)
    assert table["nodata_ha"].tolist() == [pytest.approx(0.25), pytest.approx(9.0)]
    empty = table.iloc[1]
    assert math.isnan(empty["mean"]) and math.isnan(empty["median"])
    assert math.isnan(empty["majority"]) and empty["variety"] == 0 and empty["count"] == 0.0


def test_rasterstats_nan_and_nodata(tmp_path):
    # rasterstats tests/test_zonal.py::test_nan_nodata: [[nan, 12.25], [-999, 12.75]],
    # nodata=-999, the whole raster: count 2, mean 12.5, min 12.25, max 12.75.
    data = np.array([[np.nan, 12.25], [-999, 12.75]], dtype="float64")
    path = write(tmp_path / "nan.tif", data)
    whole = communes_of(peer_rect(0, 0, 2, 2, 2))
    for rule in ("centre", "exact", "all_touched"):
        row = raster_stats_by_zone(path, whole, stats=("count", "mean", "min", "max"),
                                   nodata=-999, rule=rule).iloc[0]
        assert row["count"] == 2.0
        assert row["mean"] == pytest.approx(12.5)
        assert (row["min"], row["max"]) == (12.25, 12.75)
        assert row["nodata_ha"] == pytest.approx(2.0)
    # test_nan_counts: a row of NaN, a row of the nodata value 0, then 1, 4, 5: count 3
    # (rasterstats also counts 3 nodata and 3 nan; geoagri's nodata_ha holds both).
    data = np.array([[np.nan] * 3, [0, 0, 0], [1, 4, 5]], dtype="float64")
    path = write(tmp_path / "nan_counts.tif", data, nodata=0.0)
    row = raster_stats_by_zone(path, communes_of(peer_rect(0, 0, 3, 3, 3)),
                               stats=("count", "sum", "mean"), rule="centre").iloc[0]
    assert (row["count"], row["sum"]) == (3.0, 10.0)
    assert row["nodata_ha"] == pytest.approx(6.0)


def test_rasterstats_centre_rule_and_the_exact_one(tmp_path):
    # rasterstats test_geojson_out_with_no_properties: this polygon over [[100, 1],
    # [100, 1]] has mean 34 (three centres inside: 100, 1, 1).
    data = np.array([[100, 1], [100, 1]], dtype="float32")
    path = write(tmp_path / "two.tif", data)
    poly = Polygon([px(x, 2 - y) for x, y in
                    [(0, 0), (0, 0.5), (1, 1.5), (1.5, 2), (2, 2), (2, 0)]])
    communes = communes_of(poly)
    centre = raster_stats_by_zone(path, communes, stats=("mean", "count"), rule="centre")
    assert centre["mean"].iloc[0] == pytest.approx(34.0)
    assert centre["count"].iloc[0] == 3.0
    # Exact, by hand: the line y = x + 0.5 leaves 0.125 of the upper-left cell (100),
    # 0.875 of the upper-right (1) and of the lower-left (100), all of the lower-right (1).
    exact = raster_stats_by_zone(path, communes, stats=("mean", "count")).iloc[0]
    assert exact["count"] == pytest.approx(2.875)
    assert exact["mean"] == pytest.approx((12.5 + 0.875 + 87.5 + 1) / 2.875)
    touched = raster_stats_by_zone(path, communes, stats=("mean", "count"),
                                   rule="all_touched").iloc[0]
    assert (touched["mean"], touched["count"]) == (50.5, 4.0)
    assert touched["coverage_ha"] == 4.0
    assert touched["outside_raster_ha"] == 0.0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_centre_and_all_touched_pick_gdals_pixels(tmp_path, seed):
    # rasterstats selects pixels with GDAL's rasterisation (rasterio.features): the same
    # pixels here, on random polygons, and on squares whose sides run through centres.
    from rasterio.features import rasterize

    rng = np.random.default_rng(seed)
    values = rng.integers(0, 50, size=(10, 10)).astype("float32")
    path = write(tmp_path / "random.tif", values)
    transform = from_origin(X0, Y0, PX, PX)
    geoms = [pixel_box(2.5, 2.5, 5.5, 6.5), pixel_box(0.5, 7.5, 3.5, 9.5)]
    for _ in range(4):
        pts = rng.uniform(0, 10, size=(7, 2))
        geoms.append(shapely.convex_hull(shapely.MultiPoint([px(*p) for p in pts])))
    communes = communes_of(*geoms)
    for rule, all_touched in (("centre", False), ("all_touched", True)):
        table = raster_stats_by_zone(path, communes, stats=("count", "sum"), rule=rule)
        for k, geom in enumerate(geoms):
            burned = rasterize([geom], out_shape=values.shape, transform=transform,
                               all_touched=all_touched).astype(bool)
            assert table["count"].iloc[k] == burned.sum(), (rule, k)
            assert table["sum"].iloc[k] == pytest.approx(float(values[burned].sum()))


def test_quantiles_with_whole_pixels_are_numpys_percentiles(tmp_path):
    # With equal weights (rule="centre") the weighted quantile is numpy's linear one,
    # which rasterstats' median and percentile_<q> return; repeated values included.
    rng = np.random.default_rng(5)
    values = rng.integers(0, 6, size=(10, 10)).astype("float32")
    path = write(tmp_path / "ints.tif", values)
    geom = pixel_box(1, 2, 8, 7)  # 7 x 5 whole pixels
    inside = values[2:7, 1:8].ravel()
    row = raster_stats_by_zone(path, communes_of(geom), rule="centre",
                               stats=("median", "q10", "q2.5", "q90", "q0", "q100")).iloc[0]
    assert row["median"] == pytest.approx(np.median(inside))
    for name, q in (("q10", 10), ("q2.5", 2.5), ("q90", 90), ("q0", 0), ("q100", 100)):
        assert row[name] == pytest.approx(np.percentile(inside, q)), name


def test_majority_minority_ties_and_area_weights(tmp_path):
    # Classes 1, 2 and 3 by column; the commune (columns 0-2.5, rows 0.5-2) takes 1.5 ha
    # of class 1, 1.5 ha of class 2 and 0.75 ha of class 3, so 1 and 2 tie for the
    # majority (the smaller wins).
    data = np.array([[1, 2, 3], [1, 2, 3]], dtype="uint8")
    path = write(tmp_path / "classes3.tif", data)
    geom = pixel_box(0, 0.5, 2.5, 2)
    row = raster_stats_by_zone(path, communes_of(geom),
                               stats=("majority", "minority", "variety", "count")).iloc[0]
    assert (row["majority"], row["minority"], row["variety"]) == (1.0, 3.0, 3)
    assert row["count"] == pytest.approx(3.75)
    centre = raster_stats_by_zone(path, communes_of(geom), rule="centre",
                                  stats=("majority", "minority", "variety")).iloc[0]
    # Centres inside: row 1 (y 1.5) only, whole pixels of 1 and 2: column 2's centre (2.5)
    # lies on the right border, which counts as in GDAL, so 1, 2 and 3 tie.
    assert (centre["majority"], centre["minority"], centre["variety"]) == (1.0, 1.0, 3)


def test_rule_keeps_the_outside_part_exact(tmp_path):
    path = write(tmp_path / "dem.tif", ELEVATION)
    # Half a pixel west of the raster, then 1.4 pixels on it.
    communes = communes_of(pixel_box(-0.5, 0, 1.4, 1))
    for rule, coverage in (("exact", 1.4), ("centre", 1.0), ("all_touched", 2.0)):
        row = raster_stats_by_zone(path, communes, rule=rule, stats="mean").iloc[0]
        assert row["coverage_ha"] == pytest.approx(coverage), rule
        assert row["outside_raster_ha"] == pytest.approx(0.5), rule


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_raster_without_crs(tmp_path):
    path = write(tmp_path / "nocrs.tif", CLASSES, crs=None)
    with pytest.raises(CRSError, match=r"has no CRS.*gdal_edit\.py -a_srs"):
        raster_area_by_zone(path, communes_of(pixel_box(0, 0, 1, 1)))


def test_communes_without_crs(classes_tif):
    communes = communes_of(pixel_box(0, 0, 1, 1)).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"layer 'communes' has no CRS"):
        raster_area_by_zone(classes_tif, communes)


def test_no_overlap_names_both_bounds(classes_tif):
    far = communes_of(box(600_000, 1_200_000, 601_000, 1_201_000))
    with pytest.raises(
        GeoagriError,
        match=r"do not overlap: the raster covers x 500,000 to 501,000, y 1,150,000 to "
        r"1,151,000 and the communes x 600,000 to 601,000, y 1,200,000 to 1,201,000.*EPSG:32648",
    ):
        raster_area_by_zone(classes_tif, far)
    with pytest.raises(GeoagriError, match=r"in their own CRS EPSG:4326"):
        raster_stats_by_zone(classes_tif, far.to_crs(4326))


def test_band_that_does_not_exist(classes_tif):
    with pytest.raises(GeoagriError, match=r"has 1 band \(numbered 1 to 1\); band=2 does not"):
        raster_area_by_zone(classes_tif, communes_of(pixel_box(0, 0, 1, 1)), band=2)
    with pytest.raises(GeoagriError, match=r"band must be an integer"):
        raster_stats_by_zone(classes_tif, communes_of(pixel_box(0, 0, 1, 1)), band="1")


def test_bad_inputs(classes_tif, tmp_path):
    communes = communes_of(pixel_box(0, 0, 1, 1))
    with pytest.raises(SchemaError, match=r"lacks column 'commune_name'"):
        raster_area_by_zone(classes_tif, communes.drop(columns="commune_name"))
    with pytest.raises(SchemaError, match=r"must be a GeoDataFrame"):
        raster_area_by_zone(classes_tif, pd.DataFrame(communes.drop(columns="geometry")))
    with pytest.raises(GeoagriError, match=r"cannot open raster"):
        raster_area_by_zone(tmp_path / "missing.tif", communes)
    with pytest.raises(GeoagriError, match=r"raster must be a path or an open rasterio"):
        raster_area_by_zone(np.zeros((2, 2)), communes)
    with pytest.raises(GeoagriError, match=r"classes must map class values to names"):
        raster_area_by_zone(classes_tif, communes, classes=["rice"])
    with pytest.raises(GeoagriError, match=r"unknown statistic 'mode'; choose from mean"):
        raster_stats_by_zone(classes_tif, communes, stats=("mean", "mode"))
    with pytest.raises(GeoagriError, match=r"quantile 'q101' is outside 0-100"):
        raster_stats_by_zone(classes_tif, communes, stats=("q101",))
    with pytest.raises(GeoagriError, match=r"rule='center' is not known; choose from exact"):
        raster_stats_by_zone(classes_tif, communes, rule="center")
    with rasterio.open(classes_tif) as ds:
        pass
    with pytest.raises(GeoagriError, match=r"dataset is closed"):
        raster_area_by_zone(ds, communes)


def test_class_areas_roll_up_to_districts_by_code(classes_tif):
    """Two real communes of Huyện Vĩnh Hưng and one ward of Tân An, 1-ha pixels."""
    communes = communes_of(pixel_box(0, 0, 3, 2), pixel_box(3, 0, 6, 2), pixel_box(6, 0, 10, 2),
                           ids=["27757", "27760", "27691"])
    communes["commune_name"] = ["Thị trấn Vĩnh Hưng", "Xã Hưng Điền A", "Phường 4"]
    t = raster_area_by_zone(classes_tif, communes, level="district", province="Long An")
    cls = t[t["part"] == "class"].set_index(["district", "class"])
    assert cls.loc[("Huyện Vĩnh Hưng", 1), "area_ha"] == pytest.approx(6.0, abs=1e-12)
    assert cls.loc[("Huyện Vĩnh Hưng", 2), "area_ha"] == pytest.approx(6.0, abs=1e-12)
    assert cls.loc[("Huyện Vĩnh Hưng", 1), "district_share_pct"] == pytest.approx(50.0)
    assert cls.loc[("Thành phố Tân An", 3), "area_ha"] == pytest.approx(8.0, abs=1e-12)
    assert cls.loc[("Thành phố Tân An", 3), "district_share_pct"] == pytest.approx(100.0)
    p = raster_area_by_zone(classes_tif, communes, level="province", province="Long An")
    assert p.loc[p["part"] == "class", "area_ha"].sum() == pytest.approx(20.0, abs=1e-12)
    with pytest.raises(ValueError, match="level='ward'"):
        raster_area_by_zone(classes_tif, communes, level="ward")
