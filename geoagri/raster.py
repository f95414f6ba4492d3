"""Raster by commune: area of each class of a classified raster, statistics of a continuous one.

:func:`raster_area_by_zone` turns a classified raster (a satellite rice map,
a land-cover map) into hectares of each class per commune;
:func:`raster_stats_by_zone` summarises a continuous raster (elevation,
salinity) per commune.  Both weight every pixel by the exact fraction of it
that the commune covers, so a commune's border pixels count for what they
hold, not all or nothing.

How it works
------------
* **Vectors move, the raster does not.**  Communes in another CRS than the
  raster are transformed to the raster's CRS (vertices only: an edge stays a
  straight line in the raster's CRS).  The raster is never resampled.
* **Exact coverage fractions.**  Each commune's rings are taken to pixel
  coordinates and cut at every pixel row and column line.  Every piece of
  edge, lying in one pixel, deposits the signed area between itself and the
  pixel's bottom side into that pixel and its signed width into the pixel
  below; a cumulative sum down each column then gives, for every pixel, the
  integral of the winding number over it, i.e. the exact area of the pixel
  that lies inside the polygon (holes and multipolygons included; any
  affine geotransform, rotated too).  Pixels away from the border come out
  as 1 or 0 without any point-in-polygon test.  The cost is one pass over
  the pixels of the commune's bounding box plus work proportional to the
  length of its border in pixels.
* **Windowed reading.**  Only the window of the raster that covers a
  commune's bounds is read, in strips of at most :data:`MAX_CHUNK_PIXELS`
  pixels, so a large raster is never read whole and memory stays bounded.
* **Pixel area.**

  - Raster in a geographic CRS (degrees): pixel areas vary with latitude;
    each row's pixel area is the exact area of that latitude/longitude cell
    on the CRS's ellipsoid (closed form with the authalic latitude), and a
    pixel's covered area is its coverage fraction times that area.
  - Raster in a projected CRS: pixel area is ``|det(transform)|`` in the
    CRS's units (converted to metres), divided by 10,000 for hectares, as
    :func:`geoagri.crs.area_ha` measures in a metric CRS.  When the CRS
    distorts areas by more than 0.1% where the communes are
    (:data:`geoagri.crs.MAX_SCALE_ERROR`; e.g. Web Mercator EPSG:3857, or a
    UTM zone far from its central meridian), each row's pixel area is divided
    by the CRS's areal scale there: the area in the CRS of a 1 km square over
    its area on the ellipsoid (pyproj ``Geod``), probed at up to 17 rows of
    the commune's window (centre column) and interpolated, which gives areas
    on the ellipsoid.  Over one commune the scale varies by < 0.1%.

  Either way the areas agree with the geodesic area
  (:func:`geoagri.crs.geodesic_area_ha`) to 0.1%.
* **Nothing lost.**  A commune's area is split into its classes, its nodata
  pixels and the part of it that the raster does not cover; the three add up
  to the commune's area, measured on the same grid.

Examples
--------
>>> import numpy as np, geopandas as gpd
>>> from rasterio.io import MemoryFile
>>> from rasterio.transform import Affine
>>> from shapely import box
>>> rice_map = np.array([[1, 1, 2, 2], [1, 1, 2, 2]], dtype="uint8")   # 100 m pixels
>>> profile = dict(driver="GTiff", width=4, height=2, count=1, dtype="uint8",
...                crs="EPSG:32648", transform=Affine(100, 0, 500_000, 0, -100, 1_150_200))
>>> communes = gpd.GeoDataFrame(
...     {"commune_id": ["27781"], "commune_name": ["Xã Tuyên Bình"]},
...     geometry=[box(500_000, 1_150_000, 500_250, 1_150_200)], crs="EPSG:32648")
>>> with MemoryFile() as mem, mem.open(**profile) as ds:
...     ds.write(rice_map, 1)
...     table = raster_area_by_zone(ds, communes, classes={1: "rice", 2: "other"})
>>> table[["class_name", "area_ha"]]
  class_name  area_ha
0       rice      4.0
1      other      1.0
2       <NA>      0.0
3       <NA>      0.0
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.enums import MaskFlags
from rasterio.transform import Affine
from rasterio.windows import Window

from geoagri.crs import MAX_SCALE_ERROR, require_crs
from geoagri.errors import CRSError, GeoagriError, GeoagriWarning, OptionError, SchemaError

__all__ = ["MAX_CHUNK_PIXELS", "RULES", "STATS", "raster_area_by_zone", "raster_stats_by_zone"]

logger = logging.getLogger("geoagri")

#: Largest number of pixels read (and held as coverage weights) at once.
MAX_CHUNK_PIXELS = 1 << 22

#: Communes whose borders are cut into pixel pieces at once (bounds memory).
_EDGE_BATCH = 64

#: Statistics :func:`raster_stats_by_zone` can compute; quantiles are asked
#: for as ``"q<percent>"`` (``"q10"``, ``"q2.5"``, ``"q90"``).
STATS = ("mean", "min", "max", "std", "median", "majority", "minority", "variety", "count",
         "sum")

#: How pixels take part in :func:`raster_stats_by_zone`.
RULES = ("exact", "centre", "all_touched")

#: Pixels covered by less than this fraction of the largest weight of their
#: strip take no part in min/max (floating-point noise of the sums is ~1e-15).
_MIN_COVERAGE = 1e-10

#: Coverage fractions at or below this are floating-point noise (``all_touched``).
_MIN_FRACTION = 1e-10

#: Coverage fractions within this of 1 are whole pixels (their centre is inside).
_WHOLE_TOLERANCE = 1e-9

#: ``rule="centre"`` tests a pixel's centre this far (in pixels) to its left.
_CENTRE_NUDGE = 1e-7

#: Class areas at or below this (ha, i.e. 1 mm²) are floating-point noise.
_MIN_AREA_HA = 1e-10


RasterLike = str | os.PathLike | rasterio.io.DatasetReaderBase


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _opened(raster: Any) -> Iterator[Any]:
    """Yield an open dataset; open (and close) it if a path was given."""
    if isinstance(raster, (str, os.PathLike)):
        try:
            ds = rasterio.open(raster)
        except rasterio.errors.RasterioIOError as exc:
            raise GeoagriError(f"cannot open raster {os.fspath(raster)!r}: {exc}") from exc
        with ds:
            yield ds
    elif hasattr(raster, "read") and hasattr(raster, "transform"):
        if getattr(raster, "closed", False):
            raise GeoagriError("the raster dataset is closed; pass an open dataset or a path")
        yield raster
    else:
        raise GeoagriError(
            f"raster must be a path or an open rasterio dataset, got {type(raster).__name__}"
        )


def _raster_name(ds: Any) -> str:
    return str(getattr(ds, "name", "") or "<in-memory raster>")


def _check_raster(ds: Any, band: int) -> CRS:
    name = _raster_name(ds)
    if not isinstance(band, (int, np.integer)) or isinstance(band, bool):
        raise GeoagriError(f"band must be an integer (1 is the first band), got {band!r}")
    if not 1 <= band <= ds.count:
        raise GeoagriError(
            f"raster {name!r} has {ds.count} band{'s' if ds.count != 1 else ''} "
            f"(numbered 1 to {ds.count}); band={band} does not exist"
        )
    if ds.crs is None:
        raise CRSError(
            f"raster {name!r} has no CRS, so it cannot be placed on the communes; set it, "
            "e.g. `gdal_edit.py -a_srs EPSG:32648 file.tif`, or in Python "
            "`with rasterio.open(path, 'r+') as ds: ds.crs = 'EPSG:32648'`"
        )
    t = ds.transform
    if t.is_identity or t.determinant == 0:
        raise CRSError(
            f"raster {name!r} has no georeferencing (identity or degenerate transform); "
            "set its geotransform with gdal_edit.py -a_ullr or gdal_translate"
        )
    return CRS.from_user_input(ds.crs)


def _check_communes(communes: Any) -> None:
    if not isinstance(communes, gpd.GeoDataFrame):
        raise SchemaError(
            f"communes must be a GeoDataFrame, got {type(communes).__name__}; read it with "
            "geoagri.io.read_layer(path, kind='communes')"
        )
    missing = [c for c in ("commune_id", "commune_name") if c not in communes.columns]
    if missing:
        found = ", ".join(map(str, communes.columns))
        raise SchemaError(
            f"layer 'communes' lacks column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(m) for m in missing)} (found: {found}); "
            "map your columns with rename={'MA_XA': 'commune_id', 'TEN_XA': 'commune_name'} "
            "when reading it"
        )
    if communes.crs is None:
        require_crs(communes, layer="communes")  # raises, naming the likely CRS


def _fmt_bounds(bounds: Sequence[float]) -> str:
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    if max(abs(v) for v in (minx, miny, maxx, maxy)) < 1000:
        return f"x {minx:.6g} to {maxx:.6g}, y {miny:.6g} to {maxy:.6g}"
    return f"x {minx:,.0f} to {maxx:,.0f}, y {miny:,.0f} to {maxy:,.0f}"


def _crs_label(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


# --------------------------------------------------------------------------
# Exact coverage fractions
# --------------------------------------------------------------------------


@dataclass
class _Edges:
    """Pieces of the communes' borders, each inside one pixel (pixel coordinates).

    ``row``/``col`` are global pixel indices (they may lie outside the
    raster); ``dx``/``dy`` the signed width and height of the piece in
    pixels; ``xm``/``ym`` the position of its midpoint within the pixel
    (0-1, from the pixel's left and top sides); ``start[i]:start[i + 1]``
    are the pieces of commune ``i``, sorted by row.
    """

    row: np.ndarray
    col: np.ndarray
    dx: np.ndarray
    dy: np.ndarray
    xm: np.ndarray
    ym: np.ndarray
    start: np.ndarray


def _segments(geoms: np.ndarray, inverse: Affine) -> tuple[np.ndarray, ...]:
    """Segments of the polygons' rings in pixel coordinates, and their commune.

    Rings are oriented counter-clockwise in (column, row) coordinates read as
    ordinary x, y (holes clockwise), so that the winding number is +1 inside.
    """
    ia, ib, ic, id_, ie, if_ = inverse.a, inverse.b, inverse.c, inverse.d, inverse.e, inverse.f

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        x, y = xy[:, 0], xy[:, 1]
        return np.column_stack([ia * x + ib * y + ic, id_ * x + ie * y + if_])

    parts, owner = shapely.get_parts(geoms, return_index=True)
    polygonal = shapely.get_type_id(parts) == 3
    parts, owner = parts[polygonal], owner[polygonal]
    parts = shapely.orient_polygons(shapely.transform(parts, to_pixels), exterior_cw=False)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    first = np.flatnonzero(ring[:-1] == ring[1:])
    x0, y0 = coords[first, 0], coords[first, 1]
    x1, y1 = coords[first + 1, 0], coords[first + 1, 1]
    commune = owner[ring_part[ring[first]]]
    return x0, y0, x1, y1, commune


def _crossings(a0: np.ndarray, a1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments from a0 to a1 (one axis): segment index and value of each
    integer strictly between a0 and a1."""
    lo = np.minimum(a0, a1)
    hi = np.maximum(a0, a1)
    first = np.floor(lo) + 1
    count = np.maximum(np.ceil(hi) - first, 0).astype(np.int64)
    seg = np.repeat(np.arange(len(a0)), count)
    offset = np.arange(len(seg)) - np.repeat(np.cumsum(count) - count, count)
    return seg, first[seg] + offset


def _edges(geoms: np.ndarray, inverse: Affine, n: int) -> _Edges:
    """Cut the communes' borders at every pixel row and column line."""
    x0, y0, x1, y1, commune = _segments(geoms, inverse)
    dx, dy = x1 - x0, y1 - y0
    sx, ix = _crossings(x0, x1)
    tx = (ix - x0[sx]) / dx[sx]
    sy, iy = _crossings(y0, y1)
    ty = (iy - y0[sy]) / dy[sy]
    m = len(x0)
    ends = np.arange(m)
    seg = np.concatenate([ends, ends, sx, sy])
    t = np.concatenate([np.zeros(m), np.ones(m), tx, ty])
    px = np.concatenate([x0, x1, ix, x0[sy] + ty * dx[sy]])
    py = np.concatenate([y0, y1, y0[sx] + tx * dy[sx], iy])
    # Sort by segment, then along it (t in [0, 1]; one float key sorts faster
    # than lexsort, and crossings closer than 1e-10 along a segment only make
    # pieces of length ~0).
    order = np.argsort(seg + 0.5 * t, kind="stable")
    seg, px, py = seg[order], px[order], py[order]
    keep = np.flatnonzero(seg[:-1] == seg[1:])
    piece_dx = px[keep + 1] - px[keep]
    piece_dy = py[keep + 1] - py[keep]
    real = (piece_dx != 0) | (piece_dy != 0)
    keep, piece_dx, piece_dy = keep[real], piece_dx[real], piece_dy[real]
    xm = 0.5 * (px[keep] + px[keep + 1])
    ym = 0.5 * (py[keep] + py[keep + 1])
    col = np.floor(xm)
    row = np.floor(ym)
    owner = commune[seg[keep]]
    irow = row.astype(np.int64)
    span = int(irow.max() - irow.min()) + 1 if len(irow) else 1
    order = np.argsort(owner * span + (irow - (irow.min() if len(irow) else 0)), kind="stable")
    owner = owner[order]
    return _Edges(
        row=irow[order],
        col=col[order].astype(np.int64),
        dx=piece_dx[order],
        dy=piece_dy[order],
        xm=(xm - col)[order],
        ym=(ym - row)[order],
        start=np.searchsorted(owner, np.arange(n + 1)),
    )


#: Windows at least this wide are accumulated row by row (fast SIMD adds);
#: narrower ones with numpy's accumulate along the first axis.
_ROW_LOOP_WIDTH = 96


def _coverage(
    row: np.ndarray, col: np.ndarray, dx: np.ndarray, ym: np.ndarray,
    r0: int, r1: int, c0: int, c1: int, *, scale: float = 1.0, buffer: np.ndarray | None = None,
) -> np.ndarray:
    """Exact coverage fraction (times ``scale``) of each pixel of rows r0:r1, columns c0:c1.

    ``row`` etc. are the pieces of one polygon's border in rows above r1 (any
    column; pieces outside the columns are ignored).  A piece of width ``dx``
    in pixel (r, c), its midpoint ``ym`` down from the pixel's top, adds
    ``dx * (1 - ym)`` to pixel (r, c) and ``dx * ym`` to pixel (r + 1, c): the
    area between the piece and the bottom of its pixel, and the full width
    below.  The cumulative sum down each column is then the integral of the
    winding number over each pixel: its exact covered area.  Pieces above r0
    count in full at the top row.
    """
    h, w = r1 - r0, c1 - c0
    size = (h + 1) * w
    if buffer is not None and len(buffer) >= size:
        acc = buffer[:size]
        acc.fill(0.0)
    else:
        acc = np.zeros(size)
    keep = (col >= c0) & (col < c1) & (row < r1)
    r = row[keep] - r0
    d = dx[keep] * scale
    g = ym[keep]
    above = r < 0
    r = np.where(above, 0, r)
    g = np.where(above, 0.0, g)
    flat = r * w + (col[keep] - c0)
    np.add.at(acc, flat, d * (1.0 - g))
    np.add.at(acc, flat + w, d * g)
    grid = acc.reshape(h + 1, w)[:h]
    if w >= _ROW_LOOP_WIDTH:
        for i in range(1, h):
            np.add(grid[i - 1], grid[i], out=grid[i])
    else:
        np.add.accumulate(grid, axis=0, out=grid)
    return grid


def _row_area_pixels(row: np.ndarray, col: np.ndarray, dy: np.ndarray, xm: np.ndarray,
                     r_min: int, n_rows: int) -> np.ndarray:
    """Area (in pixels) of one polygon within each row, over all columns."""
    x = (col - col.min()) + xm
    return np.bincount(row - r_min, weights=dy * x, minlength=n_rows)


# --------------------------------------------------------------------------
# Pixel areas
# --------------------------------------------------------------------------


#: Side (m) of the square whose ellipsoidal area measures a projection's areal scale.
_PROBE_M = 1000.0

#: Largest number of commune centres at which the areal scale is probed.
_MAX_PROBES = 500


class _ArealScale:
    """Areal scale of a projected CRS: area in the CRS / area on its ellipsoid.

    Measured, not taken from the projection's formulas: a square of
    :data:`_PROBE_M` metres (in the CRS) around each point is taken to
    lon/lat with densified sides and measured on the ellipsoid (pyproj Geod).
    This is right for any projection, including EPSG:3857, whose "areal
    scale" formula on the sphere is 0.6% off the ellipsoid in Vietnam.
    """

    def __init__(self, crs: CRS, unit_m: float) -> None:
        self.to_lonlat = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        self.geod = crs.get_geod()
        self.half = 0.5 * _PROBE_M / unit_m
        self.unit_m = unit_m
        k = np.linspace(-1.0, 1.0, 9)[:-1]
        self.ring = np.concatenate([
            np.column_stack([k, np.full(8, -1.0)]),
            np.column_stack([np.full(8, 1.0), k]),
            np.column_stack([-k, np.full(8, 1.0)]),
            np.column_stack([np.full(8, -1.0), -k]),
        ]) * self.half

    def __call__(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        n = len(x)
        xs = (x[:, None] + self.ring[None, :, 0]).ravel()
        ys = (y[:, None] + self.ring[None, :, 1]).ravel()
        lon, lat = self.to_lonlat.transform(xs, ys)
        lon = np.asarray(lon).reshape(n, -1)
        lat = np.asarray(lat).reshape(n, -1)
        nominal = (2 * self.half * self.unit_m) ** 2
        out = np.empty(n)
        for i in range(n):
            area = abs(self.geod.polygon_area_perimeter(lon[i], lat[i])[0])
            out[i] = nominal / area if area > 0 and np.isfinite(area) else np.nan
        return out


@dataclass
class _PixelArea:
    """Area in ha of the pixels of given global rows (and window centre column)."""

    transform: Affine
    mode: str  # "nominal", "ellipsoidal_rows" (geographic) or "scale_corrected"
    nominal_ha: float = math.nan
    semi_major: float = math.nan
    eccentricity: float = math.nan
    scale: _ArealScale | None = None

    def rows(self, rows: np.ndarray, centre_col: float) -> np.ndarray | float:
        if self.mode == "nominal":
            return self.nominal_ha
        t = self.transform
        if self.mode == "ellipsoidal_rows":
            lat_a = np.clip(t.f + t.e * rows, -90.0, 90.0)
            lat_b = np.clip(t.f + t.e * (rows + 1), -90.0, 90.0)
            dlon = math.radians(abs(t.a))
            q = self._q
            return 0.5 * self.semi_major**2 * dlon * np.abs(q(lat_a) - q(lat_b)) / 10_000
        # scale_corrected: areal scale at a few rows of the window, interpolated
        assert self.scale is not None
        probe = rows if len(rows) <= 17 else np.unique(np.linspace(rows[0], rows[-1], 17).round())
        x = t.a * centre_col + t.b * (probe + 0.5) + t.c
        y = t.d * centre_col + t.e * (probe + 0.5) + t.f
        return self.nominal_ha / np.interp(rows, probe, self.scale(x, y))

    def _q(self, lat_deg: np.ndarray) -> np.ndarray:
        """Authalic function q(φ): the area of a zone is a²/2 · Δλ · Δq."""
        e = self.eccentricity
        s = np.sin(np.radians(lat_deg))
        if e == 0:
            return 2 * s
        return (1 - e * e) * (s / (1 - e * e * s * s) - np.log((1 - e * s) / (1 + e * s)) / (2 * e))


def _pixel_area(ds: Any, crs: CRS, geoms: gpd.GeoSeries) -> _PixelArea:
    """How pixel areas are measured: see the module notes."""
    t = ds.transform
    if crs.is_geographic:
        if t.b != 0 or t.d != 0:
            raise GeoagriError(
                f"raster {_raster_name(ds)!r} is in geographic coordinates and rotated; "
                "geoagri cannot measure its pixel areas: warp it to a north-up grid "
                "(gdalwarp) first"
            )
        ellipsoid = crs.ellipsoid
        a = ellipsoid.semi_major_metre
        b = ellipsoid.semi_minor_metre
        e = math.sqrt(max(0.0, 1 - (b / a) ** 2))
        return _PixelArea(t, "ellipsoidal_rows", semi_major=a, eccentricity=e)
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    nominal = abs(t.determinant) * unit * unit / 10_000
    scale = _ArealScale(crs, unit)
    centres = shapely.get_coordinates(shapely.centroid(geoms.dropna().values))
    if len(centres) > _MAX_PROBES:
        centres = centres[np.linspace(0, len(centres) - 1, _MAX_PROBES).astype(int)]
    factors = scale(centres[:, 0], centres[:, 1]) if len(centres) else np.ones(1)
    worst = 0.0 if np.isnan(factors).all() else float(np.nanmax(np.abs(factors - 1)))
    if worst <= MAX_SCALE_ERROR:
        return _PixelArea(t, "nominal", nominal_ha=nominal)
    logger.info(
        "raster CRS %s distorts areas by up to %.2f%% at the communes; pixel areas are "
        "divided by the areal scale factor", _crs_label(crs), 100 * worst,
    )
    return _PixelArea(t, "scale_corrected", nominal_ha=nominal, scale=scale)


# --------------------------------------------------------------------------
# Walking the communes
# --------------------------------------------------------------------------


@dataclass
class _Zone:
    """What one commune's walk found besides its pixels."""

    total_ha: float = 0.0
    in_raster_ha: float = 0.0

    @property
    def outside_ha(self) -> float:
        out = self.total_ha - self.in_raster_ha
        return 0.0 if abs(out) <= 1e-11 * max(self.total_ha, 1.0) else out


class _Walker:
    """Reads, commune by commune, the raster pixels a commune covers, with weights in ha."""

    def __init__(self, ds: Any, communes: gpd.GeoDataFrame, band: int,
                 nodata: float | None) -> None:
        self.ds = ds
        self.band = band
        crs = _check_raster(ds, band)
        _check_communes(communes)
        self.crs = crs
        geoms = communes.geometry
        if not CRS.from_user_input(communes.crs).equals(crs):
            geoms = geoms.to_crs(crs)
            logger.info("communes transformed to the raster's CRS %s", _crs_label(crs))
        self.geoms = np.asarray(geoms.values, dtype=object)
        self._check_overlap(communes, geoms)
        self.pixel_area = _pixel_area(ds, crs, geoms)
        self._inverse = ~ds.transform
        self._batch = -1
        self._edges: _Edges | None = None
        self.nodata = self._nodata(nodata)
        flags = ds.mask_flag_enums[band - 1]
        self.use_mask = self.nodata is None and (
            MaskFlags.per_dataset in flags or MaskFlags.alpha in flags
        )
        self.is_float = np.dtype(ds.dtypes[band - 1]).kind == "f"
        self._buffer = np.empty(0)

    def _check_overlap(self, communes: gpd.GeoDataFrame, geoms: gpd.GeoSeries) -> None:
        t = self.ds.transform
        cols = np.array([0, self.ds.width, 0, self.ds.width])
        rows = np.array([0, 0, self.ds.height, self.ds.height])
        xs, ys = t.a * cols + t.b * rows + t.c, t.d * cols + t.e * rows + t.f
        rb = (xs.min(), ys.min(), xs.max(), ys.max())
        cb = geoms.total_bounds
        if np.isnan(cb).any():
            raise GeoagriError("layer 'communes' has no geometries to measure (all empty or null)")
        disjoint = cb[0] >= rb[2] or cb[2] <= rb[0] or cb[1] >= rb[3] or cb[3] <= rb[1]
        if disjoint:
            own = ""
            if not CRS.from_user_input(communes.crs).equals(self.crs):
                own = (f" ({_fmt_bounds(communes.total_bounds)} in their own CRS "
                       f"{_crs_label(CRS.from_user_input(communes.crs))})")
            raise GeoagriError(
                f"raster {_raster_name(self.ds)!r} and the communes do not overlap: the raster "
                f"covers {_fmt_bounds(rb)} and the communes {_fmt_bounds(cb)}{own}, both "
                f"in the raster's CRS {_crs_label(self.crs)}; check that the raster is the "
                "right one for these communes and that both CRSs are declared correctly"
            )

    def _nodata(self, nodata: float | None) -> float | None:
        if nodata is not None:
            return float(nodata)
        value = self.ds.nodatavals[self.band - 1]
        return None if value is None else float(value)

    def _edges_of(self, i: int) -> _Edges:
        """Border pieces of the batch of communes holding commune ``i``."""
        batch = i // _EDGE_BATCH
        if batch != self._batch or self._edges is None:
            part = self.geoms[batch * _EDGE_BATCH:(batch + 1) * _EDGE_BATCH]
            self._edges = _edges(part, self._inverse, len(part))
            self._batch = batch
        return self._edges

    def invalid(self, values: np.ndarray, window: Window) -> np.ndarray | None:
        """Mask of the pixels without data in ``values`` (None if all have data)."""
        invalid = None
        if self.nodata is not None:
            invalid = np.isnan(values) if math.isnan(self.nodata) else values == self.nodata
        elif self.use_mask:
            invalid = self.ds.read_masks(self.band, window=window) == 0
        if self.is_float and (self.nodata is None or not math.isnan(self.nodata)):
            nan = np.isnan(values)
            invalid = nan if invalid is None else invalid | nan
        return invalid

    def walk(self, i: int, zone: _Zone, rule: str = "exact"
             ) -> Iterator[tuple[np.ndarray, np.ndarray, Window, Any]]:
        """Yield (values, weights_ha, window, pixel_ha) strips of commune ``i``.

        ``weights_ha`` is the area in ha of each pixel that the commune
        covers (``rule="exact"``), or the whole pixel's area for the pixels
        the rule selects (see :func:`raster_stats_by_zone`); it is a reused
        buffer, valid until the next strip.  ``pixel_ha`` is the area of a
        whole pixel: a number, or a column of one value per row of the strip.
        Sets ``zone.total_ha`` and adds the exact area of the commune on the
        strip to ``zone.in_raster_ha``.
        """
        e = self._edges_of(i)
        j = i % _EDGE_BATCH
        lo, hi = e.start[j], e.start[j + 1]
        if lo == hi:
            return
        row, col = e.row[lo:hi], e.col[lo:hi]
        dx, dy, xm, ym = e.dx[lo:hi], e.dy[lo:hi], e.xm[lo:hi], e.ym[lo:hi]
        # Rows holding pieces, and the pixels the polygon really spans (a piece
        # lying on a pixel line belongs to the pixel after it but spans none of it).
        r_lo, r_hi = int(row[0]), int(row[-1]) + 1
        x_mid, y_mid = col + xm, row + ym
        c_min = int(np.floor(np.min(x_mid - 0.5 * np.abs(dx))))
        c_max = int(np.ceil(np.max(x_mid + 0.5 * np.abs(dx))))
        r_min = int(np.floor(np.min(y_mid - 0.5 * np.abs(dy))))
        r_max = int(np.ceil(np.max(y_mid + 0.5 * np.abs(dy))))
        rows = np.arange(r_lo, r_hi)
        row_ha = self.pixel_area.rows(rows, 0.5 * (c_min + c_max))
        per_row = _row_area_pixels(row, col, dy, xm, r_lo, len(rows))
        zone.total_ha = float(np.sum(per_row * row_ha))
        r0, r1 = max(r_min, 0), min(r_max, self.ds.height)
        c0, c1 = max(c_min, 0), min(c_max, self.ds.width)
        if r0 >= r1 or c0 >= c1:
            return
        step = max(1, MAX_CHUNK_PIXELS // (c1 - c0))
        for s0 in range(r0, r1, step):
            s1 = min(s0 + step, r1)
            need = (s1 - s0 + 1) * (c1 - c0)
            if len(self._buffer) < need:
                self._buffer = np.empty(need)
            b = np.searchsorted(row, s1)
            pixel_ha = row_ha if np.isscalar(row_ha) else row_ha[s0 - r_lo:s1 - r_lo, None]
            if rule == "exact" and np.isscalar(pixel_ha):
                weights = _coverage(row[:b], col[:b], dx[:b], ym[:b], s0, s1, c0, c1,
                                    scale=float(pixel_ha), buffer=self._buffer)
                zone.in_raster_ha += float(weights.sum())
            else:
                weights = _coverage(row[:b], col[:b], dx[:b], ym[:b], s0, s1, c0, c1,
                                    buffer=self._buffer)
                if rule == "exact":
                    weights *= pixel_ha
                    zone.in_raster_ha += float(weights.sum())
                else:
                    zone.in_raster_ha += float(np.sum(weights * pixel_ha))
                    weights = self._whole_pixels(weights, i, s0, c0, rule) * pixel_ha
            window = Window(c0, s0, c1 - c0, s1 - s0)
            yield self.ds.read(self.band, window=window), weights, window, pixel_ha

    def _whole_pixels(self, fraction: np.ndarray, i: int, r0: int, c0: int,
                      rule: str) -> np.ndarray:
        """1 for the pixels that ``rule`` selects from their coverage fractions, else 0.

        ``all_touched``: the pixels whose interior the commune meets.
        ``centre``: the pixels whose centre lies in the commune, on GDAL's
        rasterisation's terms (rasterstats, QGIS): a centre on the border
        counts, except on a border that has the commune to its right (the
        centre is tested a hair to its left along its row), so that two
        communes sharing a border never both take a pixel.  Only pixels
        partly covered are tested; whole ones are inside.
        """
        touched = fraction > _MIN_FRACTION
        if rule == "all_touched":
            return touched.astype(np.float64)
        whole = fraction >= 1.0 - _WHOLE_TOLERANCE
        out = whole.astype(np.float64)
        r, c = np.nonzero(touched & ~whole)
        if r.size:
            t = self.ds.transform
            col = c0 + c + 0.5 - _CENTRE_NUDGE
            row = r0 + r + 0.5
            x = t.a * col + t.b * row + t.c
            y = t.d * col + t.e * row + t.f
            inside = shapely.intersects_xy(self.geoms[i], x, y)
            out[r[inside], c[inside]] = 1.0
        return out


def _base_row(communes: gpd.GeoDataFrame, i: int) -> dict[str, Any]:
    return {
        "commune_id": communes["commune_id"].iloc[i],
        "commune_name": communes["commune_name"].iloc[i],
    }


# --------------------------------------------------------------------------
# Classified rasters
# --------------------------------------------------------------------------


def _class_sums(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(class values, summed weights) of the pixels with positive weight."""
    kind, size = values.dtype.kind, values.dtype.itemsize
    flat_v, flat_w = values.ravel(), weights.ravel()
    if kind in "bu" and size <= 2:
        sums = np.bincount(flat_v, weights=flat_w)
        found = np.flatnonzero(sums)
        return found, sums[found]
    if kind == "i" and size <= 2:
        unsigned = np.dtype(f"u{size}")
        sums = np.bincount(flat_v.view(unsigned), weights=flat_w)
        found = np.flatnonzero(sums)
        return found.astype(unsigned).view(values.dtype), sums[found]
    keep = flat_w > 0
    flat_v, flat_w = flat_v[keep], flat_w[keep]
    if len(flat_v) == 0:
        return flat_v, flat_w
    if kind in "iu":
        v_min, v_max = int(flat_v.min()), int(flat_v.max())
        if v_max - v_min < (1 << 22):
            sums = np.bincount((flat_v - v_min).astype(np.int64), weights=flat_w)
            found = np.flatnonzero(sums)
            return found + v_min, sums[found]
    found, inverse = np.unique(flat_v, return_inverse=True)
    return found, np.bincount(inverse.ravel(), weights=flat_w, minlength=len(found))


def _check_classes(classes: Any) -> dict[Any, str] | None:
    if classes is None:
        return None
    if not isinstance(classes, Mapping):
        raise GeoagriError(
            f"classes must map class values to names, e.g. {{1: 'rice', 2: 'other'}}, "
            f"got {type(classes).__name__}"
        )
    out: dict[Any, str] = {}
    for key, name in classes.items():
        if isinstance(key, bool) or not isinstance(key, (int, float, np.integer, np.floating)):
            raise GeoagriError(
                f"classes keys must be the raster's class values (numbers), got {key!r}"
            )
        out[key.item() if isinstance(key, np.generic) else key] = str(name)
    return out


def raster_area_by_zone(
    raster: RasterLike,
    communes: gpd.GeoDataFrame,
    *,
    classes: Mapping[Any, str] | None = None,
    band: int = 1,
    nodata: float | None = None,
    level: str = "commune",
    province: str | None = None,
    era: str = "old",
    lineage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Area in hectares of each class of a classified raster, per commune or district.

    Every pixel counts for the exact fraction of it that the commune covers
    (border pixels partly, see the module notes), times its area on the
    ground.  The raster is read window by window, never whole, and never
    resampled: communes in another CRS are transformed to the raster's CRS.

    Parameters
    ----------
    raster : str, os.PathLike or rasterio dataset
        A classified raster (integer class values, e.g. a satellite rice
        map): a path, or an open rasterio dataset (left open).  It must have
        a CRS and a geotransform.
    communes : GeoDataFrame
        Canonical communes layer: ``commune_id``, ``commune_name``, polygon
        geometry, with a CRS.  Not changed.
    classes : mapping of class value to name, optional
        E.g. ``{1: "rice", 2: "other"}``.  Adds a ``class_name`` column and a
        row for every listed class in every commune (0 ha if absent).  Values
        found in the raster but not listed keep an empty name (a
        :class:`~geoagri.errors.GeoagriWarning` says which).
    band : int, default 1
        Band to read (1-based).
    nodata : number, optional
        Value of pixels without data; by default the band's own nodata value
        (or its mask).  NaN pixels of a float raster are always nodata.
    level : {"commune", "district", "province"}, default "commune"
        Rows per commune, or summed to districts or provinces by official
        code (:func:`geoagri.hierarchy.assign_units`; ``province``, ``era``
        and ``lineage`` as for :func:`geoagri.area.area_by_zone`): the
        commune columns become ``<level>_code``, ``<level>``,
        ``<level>_share_pct`` and ``approximate``.

    Returns
    -------
    pandas.DataFrame
        One row per commune × class present (or listed in ``classes``), then
        one ``nodata`` and one ``outside_raster`` row per commune, communes in
        input order, with columns

        - ``commune_id``, ``commune_name``
        - ``part``: ``"class"``, ``"nodata"`` (pixels without data) or
          ``"outside_raster"`` (the part of the commune the raster does not
          reach);
        - ``class``: the class value (nullable; empty on the other parts);
        - ``class_name`` (only with ``classes``);
        - ``area_ha``: area in hectares;
        - ``commune_share_pct``: ``area_ha`` as a percentage of the
          commune's area;
        - ``commune_area_ha``: the commune's area, ha, measured on the same
          grid: the sum of ``area_ha`` over the commune's rows.

        Projected rasters: areas in the raster's CRS (areal scale corrected
        when that CRS distorts areas by more than 0.1%); geographic rasters:
        areas on the ellipsoid.  ``result.attrs["geoagri"]`` records the
        raster's CRS and the pixel-area method.

    Raises
    ------
    CRSError
        If the raster or the communes have no CRS.
    SchemaError
        If ``communes`` is not a GeoDataFrame with ``commune_id`` and
        ``commune_name``.
    GeoagriError
        If the band does not exist, the raster cannot be opened, or the raster
        and the communes do not overlap at all (the message gives both
        bounds).

    Warns
    -----
    GeoagriWarning
        If class values are not in ``classes``, or some communes lie wholly
        outside the raster (reported as ``outside_raster``).

    Examples
    --------
    A 3 × 2 raster of 100 m pixels (1 ha each); the commune covers the left
    two columns and half of the third:

    >>> import numpy as np, geopandas as gpd
    >>> from rasterio.io import MemoryFile
    >>> from rasterio.transform import Affine
    >>> from shapely import box
    >>> rice_map = np.array([[1, 1, 2], [1, 0, 2]], dtype="uint8")
    >>> profile = dict(driver="GTiff", width=3, height=2, count=1, dtype="uint8", nodata=0,
    ...                crs="EPSG:32648", transform=Affine(100, 0, 500_000, 0, -100, 1_150_200))
    >>> communes = gpd.GeoDataFrame(
    ...     {"commune_id": ["27781"], "commune_name": ["Xã Tuyên Bình"]},
    ...     geometry=[box(500_000, 1_150_000, 500_250, 1_150_200)], crs="EPSG:32648")
    >>> with MemoryFile() as mem, mem.open(**profile) as ds:
    ...     ds.write(rice_map, 1)
    ...     table = raster_area_by_zone(ds, communes, classes={1: "rice", 2: "other"})
    >>> table[["part", "class", "class_name", "area_ha", "commune_share_pct"]]
                 part  class class_name  area_ha  commune_share_pct
    0           class      1       rice      3.0               60.0
    1           class      2      other      1.0               20.0
    2          nodata   <NA>       <NA>      1.0               20.0
    3  outside_raster   <NA>       <NA>      0.0                0.0
    """
    if level not in ("commune", "district", "province"):
        raise OptionError(f"raster_area_by_zone: level={level!r}; use one of commune, "
                          "district, province")
    names = _check_classes(classes)
    with _opened(raster) as ds:
        walker = _Walker(ds, communes, band, nodata)
        # Integer nodata value: its pixels fall in their own bin, no mask needed.
        by_value = walker.nodata is not None and not walker.is_float and not walker.use_mask
        records: list[tuple[int, dict[Any, float], float, _Zone]] = []
        for i in range(len(communes)):
            zone = _Zone()
            sums: dict[Any, float] = {}
            nodata_ha = 0.0
            for values, weights, window, _ in walker.walk(i, zone):
                if not by_value:
                    invalid = walker.invalid(values, window)
                    if invalid is not None:
                        nodata_ha += float(weights[invalid].sum())
                        weights[invalid] = 0.0
                found, areas = _class_sums(values, weights)
                for value, area in zip(found.tolist(), areas.tolist(), strict=True):
                    sums[value] = sums.get(value, 0.0) + area
            if by_value:
                nodata_ha += sums.pop(walker.nodata, 0.0)
            records.append((i, sums, nodata_ha, zone))
        dtype_kind = np.dtype(ds.dtypes[band - 1]).kind
        meta = {"raster_crs": _crs_label(walker.crs), "pixel_area": walker.pixel_area.mode}
    table = _area_table(communes, records, names, dtype_kind, meta)
    if level == "commune":
        return table
    return _rolled_up(table, communes, level=level, province=province, era=era,
                      lineage=lineage)


def _area_table(
    communes: gpd.GeoDataFrame,
    records: list[tuple[int, dict[Any, float], float, _Zone]],
    names: dict[Any, str] | None,
    dtype_kind: str,
    meta: dict[str, Any],
) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    unknown: set[Any] = set()
    outside_ids: list[str] = []
    for i, sums, nodata_ha, zone in records:
        base = _base_row(communes, i)
        present = {v: a for v, a in sums.items() if a > _MIN_AREA_HA}
        values = list(names) + sorted(v for v in present if v not in names) if names else sorted(
            present
        )
        total = sum(present.values()) + nodata_ha + zone.outside_ha
        if zone.total_ha > 0 and zone.in_raster_ha <= 0:
            outside_ids.append(str(base["commune_id"]))
        for value in values:
            area = present.get(value, 0.0)
            row = {**base, "part": "class", "class": value}
            if names is not None:
                row["class_name"] = names.get(value)
                if value not in names:
                    unknown.add(value)
            rows.append({**row, "area_ha": area, "_total": total})
        for part, area in (("nodata", nodata_ha), ("outside_raster", zone.outside_ha)):
            row = {**base, "part": part, "class": None}
            if names is not None:
                row["class_name"] = None
            rows.append({**row, "area_ha": area, "_total": total})
    columns = ["commune_id", "commune_name", "part", "class"]
    columns += ["class_name"] if names is not None else []
    table = pd.DataFrame(rows, columns=[*columns, "area_ha", "_total"])
    int_classes = dtype_kind in "biu" and all(
        float(v).is_integer() for v in table["class"].dropna()
    )
    table["class"] = pd.array(
        [None if pd.isna(v) else v for v in table["class"]],
        dtype="Int64" if int_classes else "Float64",
    )
    if names is not None:
        table["class_name"] = table["class_name"].astype("string")
    table["area_ha"] = table["area_ha"].astype(float)
    total = table.pop("_total").astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["commune_share_pct"] = np.where(total > 0, 100 * table["area_ha"] / total, np.nan)
    table["commune_area_ha"] = total
    if unknown:
        warnings.warn(
            f"class values {sorted(unknown)} are in the raster but not in classes=; they are "
            "reported with an empty class_name; add them to classes to name them",
            GeoagriWarning,
            stacklevel=3,
        )
    _warn_outside(outside_ids)
    table.attrs["geoagri"] = meta
    return table


def _rolled_up(table: pd.DataFrame, communes: gpd.GeoDataFrame, *, level: str,
               province: str | None, era: str, lineage: pd.DataFrame | None) -> pd.DataFrame:
    """A commune class-area table summed to districts or provinces, by code."""
    from geoagri.hierarchy import roll_up_communes

    by = [c for c in ("part", "class", "class_name") if c in table.columns]
    area = (table.groupby(table["commune_id"].astype(str))["commune_area_ha"].first()
            .reindex(communes["commune_id"].astype(str)).fillna(0.0).to_numpy())
    out = roll_up_communes(table, communes, level=level, by=by, values=("area_ha",),
                           province=province, era=era, lineage=lineage, commune_area=area)
    out.attrs = dict(table.attrs)
    return out


def _warn_outside(ids: list[str]) -> None:
    if ids:
        shown = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        warnings.warn(
            f"{len(ids)} commune{'s lie' if len(ids) > 1 else ' lies'} wholly outside the raster "
            f"[{shown}]; their area is reported as outside_raster",
            GeoagriWarning,
            stacklevel=4,
        )


# --------------------------------------------------------------------------
# Continuous rasters
# --------------------------------------------------------------------------


def raster_stats_by_zone(
    raster: RasterLike,
    communes: gpd.GeoDataFrame,
    *,
    stats: Sequence[str] = ("mean", "min", "max"),
    rule: str = "exact",
    band: int = 1,
    nodata: float | None = None,
) -> pd.DataFrame:
    """Statistics of a raster (elevation, yield, salinity, classes) per commune.

    Which pixels take part, and with what weight, is set by ``rule``:

    - ``"exact"`` (default, as exactextract): every pixel the commune
      covers, even partly, weighted by the share of it the commune covers
      (its coverage fraction, 0-1).
    - ``"centre"`` (rasterstats' and QGIS's zonal statistics default): the
      pixels whose centre lies in the commune, whole.  A centre exactly on
      the border follows GDAL's rasterisation (it counts, except on a border
      with the commune to its right), so neighbours never share a pixel.
    - ``"all_touched"`` (rasterstats' ``all_touched=True``): every pixel
      whose interior the commune meets, whole.  Unlike GDAL, a pixel that
      only shares an edge or a corner with the commune does not count.

    With the last two every chosen pixel has fraction 1.  Nodata pixels
    (the ``nodata`` value, the band's mask, NaN in a float band) never take
    part in any statistic; their area goes to ``nodata_ha``.

    Parameters
    ----------
    raster : str, os.PathLike or rasterio dataset
        A path or an open rasterio dataset (left open).
    communes : GeoDataFrame
        Canonical communes layer (``commune_id``, ``commune_name``, polygons,
        with a CRS); transformed to the raster's CRS if needed.  Not changed.
    stats : sequence of str, default ("mean", "min", "max")
        Any of the following; each gives a column of that name.  "Weight"
        below is the area of the pixel that takes part (fraction × pixel
        area), which on a projected raster is the fraction up to a constant.

        - ``mean``: weighted mean.  ``std``: weighted population standard
          deviation.
        - ``min``, ``max``: over the pixels that take part (any fraction > 0),
          unweighted.
        - ``median`` and ``"q<percent>"`` quantiles, e.g. ``"q10"``,
          ``"q2.5"``: weighted quantiles over the pixels (the definition
          exactextract uses, https://stats.stackexchange.com/a/13223): with
          equal weights, e.g. ``rule="centre"``, this is numpy's default
          linear percentile, as rasterstats' ``median`` and
          ``percentile_<q>`` give; with coverage fractions it moves toward
          the values of the better covered pixels.  exactextract applies it
          to each distinct value (its summed weight) rather than each pixel,
          which agrees when values do not repeat, and returns it in the
          raster's type (truncated on an integer raster).
        - ``majority``, ``minority``: the value with the largest, the
          smallest, summed weight; ties go to the smallest value (as
          rasterstats; exactextract gives the largest for the majority).
        - ``variety``: the number of distinct values taking part.
        - ``count``: the number of pixels, each counted for its fraction
          (exactextract's ``count``; with ``rule="centre"`` the whole pixels,
          rasterstats' ``count``).
        - ``sum``: Σ value × fraction, in the raster's units × pixels
          (exactextract's and rasterstats' ``sum``).  For a density such as
          t/ha, the total over the commune is ``mean × coverage_ha``.
    rule : {"exact", "centre", "all_touched"}, default "exact"
        Which pixels take part and with what fraction, as above.
    band : int, default 1
        Band to read (1-based).
    nodata : number, optional
        Value of pixels without data; by default the band's own nodata value
        (or its mask).  NaN pixels are always nodata.

    Returns
    -------
    pandas.DataFrame
        One row per commune, in input order: ``commune_id``,
        ``commune_name``, the requested statistics (float, ``variety`` an
        integer; NaN where the commune has no pixel with data, ``count``,
        ``sum`` and ``variety`` 0 there), ``coverage_ha`` (area of the pixels
        with data taking part, times their fraction: the commune's area on
        them with ``"exact"``, the area of the whole pixels with the other
        rules), ``nodata_ha`` (the same for pixels without data) and
        ``outside_raster_ha`` (the exact area of the commune beyond the
        raster, whatever the rule).

    Raises
    ------
    CRSError
        If the raster or the communes have no CRS.
    SchemaError
        If ``communes`` lacks ``commune_id`` or ``commune_name``.
    GeoagriError
        If a statistic or the rule is unknown, a quantile is outside 0-100,
        the band does not exist, or the raster and the communes do not
        overlap (the message gives both bounds).

    Examples
    --------
    Elevation in metres on 100 m pixels; the commune covers the first column
    and half of the second:

    >>> import numpy as np, geopandas as gpd
    >>> from rasterio.io import MemoryFile
    >>> from rasterio.transform import Affine
    >>> from shapely import box
    >>> elevation = np.array([[1.0, 4.0, 9.0], [1.0, 4.0, 9.0]], dtype="float32")
    >>> profile = dict(driver="GTiff", width=3, height=2, count=1, dtype="float32",
    ...                crs="EPSG:32648", transform=Affine(100, 0, 500_000, 0, -100, 1_150_200))
    >>> communes = gpd.GeoDataFrame(
    ...     {"commune_id": ["27781"], "commune_name": ["Xã Tuyên Bình"]},
    ...     geometry=[box(500_000, 1_150_000, 500_150, 1_150_200)], crs="EPSG:32648")
    >>> with MemoryFile() as mem, mem.open(**profile) as ds:
    ...     ds.write(elevation, 1)
    ...     table = raster_stats_by_zone(ds, communes, stats=("mean", "max", "majority", "count"))
    ...     centre = raster_stats_by_zone(ds, communes, stats=("mean", "count"), rule="centre")
    >>> table[["mean", "max", "majority", "count", "coverage_ha"]]   # mean = (2·1 + 1·4) / 3
       mean  max  majority  count  coverage_ha
    0   2.0  4.0       1.0    3.0          3.0
    >>> centre[["mean", "count", "coverage_ha"]]   # column 1's centres on the border count
       mean  count  coverage_ha
    0   2.5    4.0          4.0
    """
    wanted, quantiles = _check_stats(stats)
    if rule not in RULES:
        raise GeoagriError(f"rule={rule!r} is not known; choose from {', '.join(RULES)} "
                           "(exact coverage fractions, cell centre inside, all touched)")
    with _opened(raster) as ds:
        walker = _Walker(ds, communes, band, nodata)
        rows: list[dict[str, Any]] = []
        outside_ids: list[str] = []
        for i in range(len(communes)):
            zone = _Zone()
            acc = _Moments()
            tally = _Tally(wanted, quantiles)
            nodata_ha = 0.0
            for values, weights, window, pixel_ha in walker.walk(i, zone, rule):
                invalid = walker.invalid(values, window)
                tally.add(values, weights, pixel_ha, invalid)
                nodata_ha += acc.add(values, weights, invalid, squares="std" in wanted)
            row = _base_row(communes, i)
            row.update(acc.result(wanted))
            row.update(tally.result())
            row.update(coverage_ha=acc.weight, nodata_ha=nodata_ha,
                       outside_raster_ha=zone.outside_ha)
            if zone.total_ha > 0 and zone.in_raster_ha <= 0:
                outside_ids.append(str(row["commune_id"]))
            rows.append(row)
        meta = {"raster_crs": _crs_label(walker.crs), "pixel_area": walker.pixel_area.mode,
                "rule": rule}
    names = [*wanted, "coverage_ha", "nodata_ha", "outside_raster_ha"]
    table = pd.DataFrame(rows, columns=["commune_id", "commune_name", *names])
    for name in names:
        table[name] = table[name].astype("int64" if name == "variety" else float)
    _warn_outside(outside_ids)
    table.attrs["geoagri"] = meta
    return table


def _check_stats(stats: Sequence[str]) -> tuple[list[str], dict[str, float]]:
    """The statistics asked for, in order, and the quantiles (0-1) among them by name."""
    if isinstance(stats, str):
        stats = (stats,)
    wanted = list(dict.fromkeys(stats))
    quantiles: dict[str, float] = {}
    unknown = []
    for name in wanted:
        if name in STATS:
            if name == "median":
                quantiles[name] = 0.5
            continue
        percent = _percent(name)
        if percent is None:
            unknown.append(name)
        elif not 0.0 <= percent <= 100.0:
            raise GeoagriError(f"quantile {name!r} is outside 0-100; ask for e.g. 'q10' or "
                               "'q90' (the percentage below which that share of the area lies)")
        else:
            quantiles[name] = percent / 100.0
    if unknown or not wanted:
        raise GeoagriError(
            f"unknown statistic{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(s) for s in unknown) or '(none given)'}; choose from "
            f"{', '.join(STATS)}, or a quantile as 'q<percent>' (e.g. 'q10', 'q90')"
        )
    return wanted, quantiles


def _percent(name: Any) -> float | None:
    if not isinstance(name, str) or not name.startswith("q"):
        return None
    try:
        value = float(name[1:])
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class _Moments:
    """Running weighted sums of a commune's pixels (shifted for a stable variance)."""

    weight: float = 0.0
    total: float = 0.0
    squares: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    shift: float | None = None

    def add(self, values: np.ndarray, weights: np.ndarray, invalid: np.ndarray | None,
            *, squares: bool) -> float:
        """Add a strip (``weights`` is changed); return the area of its nodata pixels."""
        v = values.astype(np.float64)
        lost = 0.0
        if invalid is not None:
            lost = float(np.sum(weights, where=invalid))
            np.copyto(weights, 0.0, where=invalid)
            np.copyto(v, 0.0, where=invalid)
        touched = weights > _MIN_COVERAGE * weights.max(initial=0.0)
        first = int(np.argmax(touched))
        if not touched.flat[first]:
            return lost
        if self.shift is None:
            self.shift = float(v.flat[first])
        v -= self.shift
        self.low = min(self.low, float(np.min(v, where=touched, initial=np.inf)) + self.shift)
        self.high = max(self.high, float(np.max(v, where=touched, initial=-np.inf)) + self.shift)
        # In place, without BLAS (whose threads make np.dot erratic on small machines).
        self.weight += float(weights.sum())
        np.multiply(weights, v, out=weights)
        self.total += float(weights.sum())
        if squares:
            np.multiply(weights, v, out=weights)
            self.squares += float(weights.sum())
        return lost

    def result(self, wanted: Sequence[str]) -> dict[str, float]:
        keys = [k for k in wanted if k in ("mean", "min", "max", "std")]
        if self.weight <= 0 or self.shift is None:
            return dict.fromkeys(keys, math.nan)
        mean_d = self.total / self.weight
        out = {
            "mean": self.shift + mean_d,
            "min": self.low,
            "max": self.high,
            "std": math.sqrt(max(0.0, self.squares / self.weight - mean_d * mean_d)),
        }
        return {k: out[k] for k in keys}


class _Tally:
    """What the statistics beyond the moments need from a commune's pixels.

    ``count``/``sum``: running Σ fraction and Σ fraction × value.
    ``majority``/``minority``/``variety``: the area of each distinct value.
    Quantiles: the values and weights themselves (one commune at a time).
    """

    def __init__(self, wanted: Sequence[str], quantiles: Mapping[str, float]) -> None:
        self.wanted = wanted
        self.quantiles = dict(quantiles)
        self.sums = "count" in wanted or "sum" in wanted
        self.by_value = any(k in wanted for k in ("majority", "minority", "variety"))
        self.count = 0.0
        self.total = 0.0
        self.classes: list[tuple[np.ndarray, np.ndarray]] = []
        self.samples: list[tuple[np.ndarray, np.ndarray]] = []

    def add(self, values: np.ndarray, weights: np.ndarray, pixel_ha: Any,
            invalid: np.ndarray | None) -> None:
        """Add a strip (before :meth:`_Moments.add` changes ``weights``)."""
        if not (self.sums or self.by_value or self.quantiles):
            return
        keep = weights > _MIN_COVERAGE * weights.max(initial=0.0)
        if invalid is not None:
            keep &= ~invalid
        v, w = values[keep], weights[keep]
        if v.size == 0:
            return
        if self.sums:
            fraction = w / (pixel_ha if np.isscalar(pixel_ha)
                            else np.broadcast_to(pixel_ha, weights.shape)[keep])
            self.count += float(fraction.sum())
            self.total += float(np.sum(fraction * v.astype(np.float64)))
        if self.by_value:
            self.classes.append(_class_sums(v, w))
        if self.quantiles:
            self.samples.append((v.astype(np.float64), w))

    def result(self) -> dict[str, float]:
        out: dict[str, float] = {"count": self.count, "sum": self.total}
        if self.by_value:
            out.update(_majority(self.classes))
        if self.quantiles:
            if self.samples:
                x = np.concatenate([s[0] for s in self.samples])
                w = np.concatenate([s[1] for s in self.samples])
                found = _weighted_quantiles(x, w, list(self.quantiles.values()))
            else:
                found = [math.nan] * len(self.quantiles)
            out.update(zip(self.quantiles, found, strict=True))
        return {k: out[k] for k in self.wanted if k in out}


def _majority(classes: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Majority, minority and variety from (values, areas) pairs; ties to the smallest value."""
    if not classes:
        return {"majority": math.nan, "minority": math.nan, "variety": 0}
    found, inverse = np.unique(np.concatenate([np.asarray(c[0], dtype=np.float64)
                                               for c in classes]), return_inverse=True)
    area = np.bincount(inverse.ravel(), weights=np.concatenate([c[1] for c in classes]),
                       minlength=found.size)
    tol = 1e-9 * float(area.max())
    # found is sorted, so the first value within tol of the extreme is the smallest one.
    return {"majority": float(found[np.flatnonzero(area >= area.max() - tol)[0]]),
            "minority": float(found[np.flatnonzero(area <= area.min() + tol)[0]]),
            "variety": int(found.size)}


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Weighted quantiles (https://stats.stackexchange.com/a/13223): the sorted values
    x₁ ≤ … ≤ xₙ sit at sₖ = (k − 1)·wₖ + (n − 1)·Σ_{i<k} wᵢ, the quantile q is read by
    linear interpolation at q·(n − 1)·Σw; with equal weights, numpy's linear percentile."""
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    n = x.size
    before = np.concatenate([[0.0], np.cumsum(w)[:-1]])
    s = np.arange(n) * w + (n - 1) * before
    top = (n - 1) * float(w.sum())
    out = []
    for q in qs:
        t = q * top
        k = int(np.searchsorted(s, t, side="right"))  # first position beyond t
        if k == 0 or n == 1:
            out.append(float(x[0]))
        elif k == n:
            out.append(float(x[-1]))
        else:
            j = k - 1
            out.append(float(x[j] + (t - s[j]) * (x[k] - x[j]) / (s[k] - s[j])))
    return out
