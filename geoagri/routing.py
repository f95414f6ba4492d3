"""Three-phase line routing: least-cost lines from pump stations to the existing network.

:func:`route_power_lines` draws the new three-phase lines that connect each
target (a pump station to electrify) to the existing three-phase network along
least-cost paths over a raster cost surface, sharing lines so that the result
is a tree; :func:`bill_of_quantities` totals their lengths and costs.

How it works
------------
* **The cost surface** is a grid of square cells of ``cell_m`` metres in the
  metric CRS (:func:`geoagri.crs.metric_crs`), covering the targets and the
  network with a margin of ``margin_m``.  Each cell holds a *cost factor*, the
  multiplier of ``cost_vnd_per_km`` for a line through it: 1 by default, and
  burnt in with :func:`rasterio.features.rasterize` (``all_touched=True``, so
  a line's cells are 4-connected and cannot be slipped past diagonally), in
  this order, a later layer overriding an earlier one:

  1. ``canals``: the cells a canal line passes through get ``canal_factor``.
     A line is built on the dyke/bank of the canal, and at ``cell_m`` ≥ 20 m
     the bank lies in the same cell as the canal's centreline, so the canal
     cells *are* the bank cells;
  2. ``rivers`` (lines or polygons): ``river_crossing_factor`` (≫ 1, a
     crossing needs long spans or towers);
  3. ``roads``: ``road_factor``; a road over a river is a bridge, so roads
     override rivers.

  A user surface (``cost_surface``) replaces step 0 (its cells are the
  factors; NaN, ±inf and nodata are impassable) and the layers above, when
  given, are burnt on top of it.
* **The existing network is free**: every cell the three-phase lines of
  ``power`` pass through is a source at cost 0, and one multi-source Dijkstra
  (:func:`scipy.sparse.csgraph.dijkstra`, 8 neighbours) gives every cell its
  least cost to the network.  A move between two neighbouring cells costs
  ``step_m × (factor_a + factor_b) / 2``, ``step_m`` being ``cell_m`` across
  and ``√2·cell_m`` diagonally; impassable cells have no moves.
* **Sharing, cheapest first** (Prim's algorithm with the network as the root):
  the unconnected target whose least cost is smallest is connected first; the
  cells of its path become sources too (cost 0), a Dijkstra from them (bounded
  by the largest cost still needed) lowers the costs of the others, and the
  next cheapest target is connected, possibly to the line just planned.  Each
  segment records what it attaches to: ``"grid"`` or the id of the target whose
  planned line it joins.
* **Lines.**  A path's cell centres are joined, collinear runs merged; the
  line starts exactly at the target point (the centre of the target's own cell
  is dropped) and its last vertex, the centre of the cell where it meets the
  network, is moved to the nearest point of the line it attaches to (the
  existing line rasterised in that cell, or the planned line).  A target in a
  network cell gets a straight line to the nearest point of that line; a
  target lying on the line (within 1 cm) gets a zero-length line and the note
  ``"already on the grid"`` (or ``"already on a planned line"``).
* **Lengths and costs.**  ``length_km`` is the length of the drawn line in the
  metric CRS.  ``cost_vnd = length_km × cost_vnd_per_km × mean_cost_factor``,
  where ``mean_cost_factor`` is the mean factor of the cells under the drawn
  line, weighted by length (sampled every ``cell_m / 8``; network cells count
  with their own terrain factor, not 0, because the new line is built there
  too).  On a uniform surface of factor 1 the cost is exactly
  ``length_km × cost_vnd_per_km``.  The path is *chosen* by the raster cost
  (the Dijkstra sum above); the drawn line, straighter than the cell chain,
  is what is measured and priced.

Dependencies: rasterio (rasterise), scipy (sparse-graph Dijkstra), shapely, and
numba for the search graph's rows (:func:`_graph`); no scikit-image.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import LineString, Point
>>> grid = gpd.GeoDataFrame({"power_id": ["L22-01"]}, crs="EPSG:32648",
...     geometry=[LineString([(500_000, 1_150_025), (502_000, 1_150_025)])])
>>> pumps = gpd.GeoDataFrame({"pump_id": ["TB01"]}, crs="EPSG:32648",
...     geometry=[Point(501_025, 1_151_025)])
>>> lines = route_power_lines(pumps, grid, cost_vnd_per_km=300e6, margin_m=200)
>>> lines[["target_id", "attaches_to", "length_km", "cost_vnd"]]
  target_id attaches_to  length_km     cost_vnd
0      TB01        grid        1.0  300000000.0
"""

from __future__ import annotations

import functools
import logging
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from affine import Affine
from pyproj import CRS
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import LineString, Point

from geoagri._engine.threads import n_threads
from geoagri._power import three_phase_lines
from geoagri.crs import metric_crs, require_layer
from geoagri.errors import (
    CRSError,
    GeoagriError,
    GeometryError,
    InfeasibleError,
    SchemaError,
)

__all__ = [
    "DEFAULT_CANAL_FACTOR",
    "DEFAULT_COST_VND_PER_KM",
    "DEFAULT_RIVER_CROSSING_FACTOR",
    "DEFAULT_ROAD_FACTOR",
    "LINE_COLUMNS",
    "MAX_CELLS",
    "bill_of_quantities",
    "route_power_lines",
]

logger = logging.getLogger("geoagri")

#: Cost of one km of new 22 kV three-phase line, VND.  A placeholder to be
#: replaced by local unit prices: the seed report's four power works cost
#: 4.4 billion VND for about 15.4 km of line in the demo (≈ 285 million VND/km).
DEFAULT_COST_VND_PER_KM = 300_000_000.0
#: Cost factor of a line along a road (access, no crop compensation).
DEFAULT_ROAD_FACTOR = 0.5
#: Cost factor of a line along a canal bank or dyke.
DEFAULT_CANAL_FACTOR = 0.7
#: Cost factor of a cell of river (long spans, river-crossing towers).
DEFAULT_RIVER_CROSSING_FACTOR = 10.0
#: Largest cost surface built or accepted, in cells (memory ≈ 150 bytes a cell).
MAX_CELLS = 5_000_000
#: A target closer than this to the line it attaches to is "already on" it, m.
ON_LINE_TOLERANCE_M = 0.01
#: Columns of the GeoDataFrame returned by :func:`route_power_lines`.
LINE_COLUMNS = ("target_id", "order", "attaches_to", "grid_line_id", "length_km",
                "mean_cost_factor", "cost_vnd", "note")

_TARGET_ID_COLUMNS = ("pump_id", "target_id", "work_id", "site_id")
_SOURCE = -9999  # scipy's predecessor of a source


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------


def _require_gdf(obj: Any, what: str) -> gpd.GeoDataFrame:
    return require_layer(obj, name=what, func="route_power_lines", series=True)


def _targets(targets: Any, id_column: str | None) -> tuple[list[str], gpd.GeoSeries]:
    gdf = _require_gdf(targets, "targets")
    if id_column is None:
        id_column = next((c for c in _TARGET_ID_COLUMNS if c in gdf.columns), None)
    elif id_column not in gdf.columns:
        raise SchemaError(
            f"targets: id_column={id_column!r} is not a column; found "
            f"{', '.join(map(str, gdf.columns))}; pass one of them"
        )
    ids = [str(v) for v in (gdf[id_column] if id_column else gdf.index)]
    seen: set[str] = set()
    dup = sorted({i for i in ids if i in seen or seen.add(i)})  # type: ignore[func-returns-value]
    if dup:
        where = f"column {id_column!r}" if id_column else "the index"
        raise SchemaError(
            f"targets: ids in {where} must be unique; repeated: {', '.join(dup[:10])}; "
            "give every target its own id (id_column=...)"
        )
    geoms = gdf.geometry
    bad = [i for i, g in zip(ids, geoms, strict=True)
           if g is None or g.is_empty or g.geom_type not in ("Point", "MultiPoint")
           or (g.geom_type == "MultiPoint" and len(g.geoms) != 1)]
    if bad:
        raise GeometryError(
            f"targets: every target must be one point; null, empty or non-point geometry "
            f"at ids {', '.join(bad[:10])}{' …' if len(bad) > 10 else ''}; use the station's "
            "location (e.g. gdf.representative_point()) or drop these rows"
        )
    points = gpd.GeoSeries([g if g.geom_type == "Point" else g.geoms[0] for g in geoms],
                           crs=gdf.crs)
    return ids, points


def _grid_lines(power: Any) -> tuple[list[str], gpd.GeoSeries]:
    """The existing three-phase lines of a power layer (or all lines of any layer)."""
    gdf = _require_gdf(power, "power")
    keep = three_phase_lines(gdf)
    why = [rule for col, rule in (("element", "element == 'line'"), ("phases", "phases == 3"),
                                  ("status", "status 'existing' (or missing)"))
           if col in gdf.columns]
    kinds = gdf.geometry.geom_type.to_numpy()
    keep &= np.isin(kinds, ["LineString", "MultiLineString"]) & ~gdf.geometry.is_empty.to_numpy()
    why.append("line geometry")
    ids = [str(v) for v in (gdf["power_id"] if "power_id" in gdf.columns else gdf.index)]
    if not keep.any():
        raise InfeasibleError(
            f"power: no row of the {len(gdf)} given is an existing three-phase line "
            f"(kept: {', '.join(why)}), so there is no network to connect to; pass the power "
            "layer with its 22 kV lines (element 'line', phases 3, status 'existing')"
        )
    dropped = len(gdf) - int(keep.sum())
    if dropped:
        logger.info("route_power_lines: %d grid rows are not existing three-phase lines and "
                    "are not the network (kept: %s)", dropped, ", ".join(why))
    return ([i for i, k in zip(ids, keep, strict=True) if k],
            gpd.GeoSeries(gdf.geometry[keep].to_numpy(), crs=gdf.crs))


def _vector(layer: Any, what: str, crs: CRS) -> np.ndarray:
    """Geometries of an optional layer in the metric CRS (empty array when None)."""
    if layer is None:
        return np.array([], dtype=object)
    gdf = _require_gdf(layer, what)
    geoms = gdf.geometry.to_crs(crs).to_numpy()
    return geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]


@dataclass
class _Surface:
    """Cost factors on a grid: ``factor[row, col]``; inf = impassable."""

    factor: np.ndarray
    transform: Affine
    crs: CRS

    @property
    def shape(self) -> tuple[int, int]:
        return self.factor.shape  # type: ignore[return-value]

    @property
    def dx(self) -> float:
        return float(self.transform.a)

    @property
    def dy(self) -> float:
        return float(-self.transform.e)

    def cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, inside) of points."""
        col = np.floor((x - self.transform.c) / self.dx).astype(np.int64)
        row = np.floor((self.transform.f - y) / self.dy).astype(np.int64)
        inside = (row >= 0) & (row < self.shape[0]) & (col >= 0) & (col < self.shape[1])
        return row, col, inside

    def centres(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return np.c_[self.transform.c + (cols + 0.5) * self.dx,
                     self.transform.f - (rows + 0.5) * self.dy]

    def burn(self, geoms: np.ndarray) -> np.ndarray:
        if len(geoms) == 0:
            return np.zeros(self.shape, dtype=bool)
        return rasterio.features.rasterize(
            ((g, 1) for g in geoms), out_shape=self.shape, transform=self.transform,
            fill=0, all_touched=True, dtype="uint8").astype(bool)


def _user_surface(cost_surface: Any, crs: Any) -> tuple[np.ndarray, Affine, Any]:
    """(factors, transform, crs-or-None) of a user surface: dataset, path or tuple."""
    if isinstance(cost_surface, (str, os.PathLike)):
        try:
            with rasterio.open(cost_surface) as ds:
                return _read_dataset(ds)
        except rasterio.errors.RasterioIOError as exc:
            raise GeoagriError(
                f"cost_surface: cannot open raster {os.fspath(cost_surface)!r}: {exc}"
            ) from exc
    if hasattr(cost_surface, "read") and hasattr(cost_surface, "transform"):
        return _read_dataset(cost_surface)
    if isinstance(cost_surface, tuple) and len(cost_surface) in (2, 3):
        array = np.asarray(cost_surface[0], dtype="float64")
        transform = cost_surface[1]
        surface_crs = cost_surface[2] if len(cost_surface) == 3 else crs
        if array.ndim != 2 or not isinstance(transform, Affine):
            raise GeoagriError(
                "cost_surface: a tuple must be (2-D array of cost factors, affine.Affine "
                f"transform[, crs]); got an array of shape {array.shape} and "
                f"{type(transform).__name__}"
            )
        if surface_crs is None:
            raise CRSError(
                "cost_surface: the array's CRS is unknown; pass it as the third element, "
                "cost_surface=(array, transform, 'EPSG:32648'), or as crs="
            )
        return array, transform, surface_crs
    raise GeoagriError(
        "cost_surface must be a raster path, an open rasterio dataset or a tuple "
        f"(array, transform[, crs]); got {type(cost_surface).__name__}"
    )


def _read_dataset(ds: Any) -> tuple[np.ndarray, Affine, Any]:
    band = ds.read(1, masked=True)
    array = np.ma.filled(band.astype("float64"), np.nan)
    if ds.crs is None:
        raise CRSError(
            f"cost_surface {getattr(ds, 'name', '')!r} has no CRS; set one (gdal_edit.py "
            "-a_srs EPSG:...) in a projected CRS in metres"
        )
    return array, ds.transform, ds.crs


def _check_factors(factor: np.ndarray) -> np.ndarray:
    factor = np.where(np.isfinite(factor), factor, np.inf)
    negative = factor < 0
    if negative.any():
        r, c = np.argwhere(negative)[0]
        raise GeoagriError(
            f"cost_surface: cost factors must be ≥ 0 (a multiplier of cost_vnd_per_km); "
            f"found {int(negative.sum())} negative cells, the first at row {r}, col {c} "
            f"({factor[r, c]:g}); use NaN or inf for impassable cells"
        )
    return factor


# --------------------------------------------------------------------------
# Routing
# --------------------------------------------------------------------------


#: The 8 moves out of a cell, (row step, column step), in the order a row of the
#: search graph stores them: first the 4 stored once per pair of cells by an
#: undirected graph (east, south-west, south, south-east: increasing column), then
#: those same moves reversed (north-west, north, north-east, west: increasing column).
_MOVES = ((0, 1), (1, -1), (1, 0), (1, 1), (-1, -1), (-1, 0), (-1, 1), (0, -1))


def _rows(f: np.ndarray, step: np.ndarray, dr: np.ndarray, dc: np.ndarray,
          indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, r0: int, r1: int
          ) -> None:  # pragma: no cover - compiled
    """Count (``indices`` empty) or write the search graph's rows, cell by cell.

    A cell's moves go in the order of ``dr``/``dc`` (:data:`_MOVES`); a move of
    kind ``m`` weighs ``step[m] × (factor_a + factor_b) / 2``, at least 1e-9,
    and is left out when it leaves the grid or its weight is not finite (an
    impassable cell, or a sum that overflows).  Counting (all the grid's rows:
    ``r0 = 0``, ``r1 = nrow``) fills ``indptr`` (the rows' starts, and the total
    at its end); writing fills ``indices`` and ``data`` for the cells of grid rows
    ``r0 … r1 - 1``, from where ``indptr`` says they start.
    """
    nrow, ncol = f.shape
    count = indices.size == 0
    k = 0 if count else indptr[r0 * ncol]
    for r in range(r0, r1):
        for c in range(ncol):
            if count:
                indptr[r * ncol + c] = k
            a = f[r, c]
            for m in range(8):
                rr = r + dr[m]
                cc = c + dc[m]
                if rr < 0 or rr >= nrow or cc < 0 or cc >= ncol:
                    continue
                w = step[m] * (a + f[rr, cc]) / 2
                if not math.isfinite(w):
                    continue
                if not count:
                    indices[k] = rr * ncol + cc
                    data[k] = max(w, 1e-9)
                k += 1
    if count:
        indptr[nrow * ncol] = k


@functools.cache
def _compiled_rows() -> Callable[..., None]:
    """:func:`_rows`, compiled by numba (or loaded from its on-disk cache) on first use."""
    import numba

    return numba.njit("(f8[:, ::1], f8[::1], i8[::1], i8[::1], i8[::1], i4[::1], f8[::1], i8,"
                      " i8)", cache=True, nogil=True)(_rows)


def _graph(surface: _Surface) -> csr_matrix:
    """The 8-neighbour graph of the passable cells, for a directed Dijkstra.

    Each row holds a cell's moves in the order of :data:`_MOVES`: those an
    undirected graph stores (east, south-west, south, south-east, each pair of
    neighbours once, rows sorted by column), then its reversed ones (north-west,
    north, north-east, west), as ``dijkstra(g, directed=False)`` scans a cell's
    row of ``g`` and then its row of ``g.T``.  So ``dijkstra(_graph(s),
    directed=True)`` scans the same edges in the same order as scipy's undirected
    search on the undirected graph and finds the same distances, and the same
    predecessors where paths tie, without transposing a graph on every search.

    The matrix is built from the grid's regular structure: a move's weight is
    ``step_m × (factor_a + factor_b) / 2`` (at least 1e-9: an explicit 0 would be
    ambiguous to csgraph), a move that leaves the grid or touches an impassable
    cell is not stored, and a cell's neighbour in direction (dr, dc) is the cell
    ``dr × ncol + dc`` further on.  A compiled pass (:func:`_rows`) counts each
    row's moves and a second one writes them, so the graph's own arrays are all the
    memory it takes: on a province's 810,000 cells, 80 MB where building it from
    whole-grid planes of every move and dropping the missing ones took 300 MB of
    temporary arrays (fresh memory costs this machine's runs more than the work).
    From 100,000 cells the rows are written in bands of grid rows, one per thread:
    in ``geoagri run`` on a province, where the graph's memory is the process's
    first touch of it, the build took 0.30–0.82 s on one thread and 0.04–0.39 s
    in two bands (four runs each, alternated); the arrays are the same.
    """
    f = np.ascontiguousarray(surface.factor, dtype=np.float64)
    nrow, ncol = f.shape
    n = nrow * ncol
    diagonal = math.hypot(surface.dx, surface.dy)
    steps = {(0, 1): surface.dx, (0, -1): surface.dx, (1, 0): surface.dy,
             (-1, 0): surface.dy}
    step = np.array([steps.get(move, diagonal) for move in _MOVES], dtype=np.float64)
    dr = np.array([m[0] for m in _MOVES], dtype=np.int64)
    dc = np.array([m[1] for m in _MOVES], dtype=np.int64)
    rows = _compiled_rows()
    indptr = np.empty(n + 1, dtype=np.int64)
    rows(f, step, dr, dc, indptr, np.zeros(0, dtype=np.int32), np.zeros(0), 0, nrow)
    indices = np.empty(int(indptr[-1]), dtype=np.int32)
    data = np.empty(int(indptr[-1]), dtype=np.float64)
    # the rows written in bands on threads (the kernel runs without the GIL): most of
    # the time is the first touch of the graph's memory, which the cores share
    bands = np.linspace(0, nrow, n_threads(None) + 1).astype(np.int64)
    if len(data) and len(bands) > 2 and n >= 100_000:
        with ThreadPoolExecutor(len(bands) - 1) as pool:
            list(pool.map(lambda b: rows(f, step, dr, dc, indptr, indices, data,
                                         bands[b], bands[b + 1]), range(len(bands) - 1)))
    elif len(data):
        rows(f, step, dr, dc, indptr, indices, data, 0, nrow)
    out = csr_matrix((data, indices, indptr), shape=(n, n))
    out.has_sorted_indices = False
    return out


def _merge_runs(rc: np.ndarray) -> np.ndarray:
    """Indices of the interior cells of a path where its direction changes."""
    if len(rc) < 3:
        return np.array([], dtype=np.int64)
    d = np.diff(rc, axis=0)
    turn = np.any(d[1:] != d[:-1], axis=1)
    return np.nonzero(turn)[0] + 1


def _samples(coords: np.ndarray, surface: _Surface) -> tuple[np.ndarray, np.ndarray]:
    """(length_m, factor) of samples every ≤ cell/8 along a polyline (NaN off the surface)."""
    p0, p1 = coords[:-1], coords[1:]
    seg = np.hypot(*(p1 - p0).T)
    step = min(surface.dx, surface.dy) / 8
    n = np.maximum(1, np.ceil(seg / step)).astype(np.int64)
    piece = np.repeat(np.arange(len(seg)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    t = (np.arange(len(piece)) - first + 0.5) / n[piece]
    pts = p0[piece] + t[:, None] * (p1 - p0)[piece]
    row, col, inside = surface.cells(pts[:, 0], pts[:, 1])
    f = np.full(len(pts), np.nan)
    f[inside] = surface.factor[row[inside], col[inside]]
    return seg[piece] / n[piece], f


def _priced(coords: np.ndarray, surface: _Surface) -> tuple[float, float, float]:
    """(length_m, length-weighted mean factor, largest factor) of a polyline on the surface.

    Samples on impassable cells or off the surface (possible only where the
    last vertex was moved onto the attached line) are left out of the mean
    and make the largest factor inf.
    """
    w, f = _samples(coords, surface)
    total = float(w.sum())
    ok = np.isfinite(f)
    if total == 0:
        return 0.0, float(f[0]) if ok[0] else math.nan, float(f[0])
    mean = float((w[ok] * f[ok]).sum() / w[ok].sum()) if ok.any() else math.nan
    return total, mean, float(f.max()) if ok.all() else math.inf


def _straightened(coords: np.ndarray, surface: _Surface) -> np.ndarray:
    """Douglas–Peucker (half a cell) of a cell-centre line, when it costs no more.

    Cell paths along a line that is not axis- or diagonal-aligned (a rotated
    canal) are staircases; simplifying removes the stairs.  The simplified line
    is kept only if it is no dearer than the staircase and crosses no cell
    dearer than the dearest the staircase crosses (so it cannot cut through a
    river or an impassable cell that the path went around).
    """
    if len(coords) < 3:
        return coords
    simple = shapely.get_coordinates(
        shapely.simplify(LineString(coords), min(surface.dx, surface.dy) / 2,
                         preserve_topology=False))
    if len(simple) == len(coords):
        return coords
    length, mean, top = _priced(coords, surface)
    s_length, s_mean, s_top = _priced(simple, surface)
    if s_top <= top and s_length * s_mean <= length * mean * (1 + 1e-12):
        return simple
    return coords


def route_power_lines(
    targets: gpd.GeoDataFrame | gpd.GeoSeries,
    power: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    roads: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    canals: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    rivers: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    cost_surface: Any = None,
    cost_vnd_per_km: float = DEFAULT_COST_VND_PER_KM,
    cell_m: float = 50.0,
    road_factor: float = DEFAULT_ROAD_FACTOR,
    canal_factor: float = DEFAULT_CANAL_FACTOR,
    river_crossing_factor: float = DEFAULT_RIVER_CROSSING_FACTOR,
    margin_m: float = 1000.0,
    id_column: str | None = None,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Route new three-phase lines from targets to the existing network, as a tree.

    See the module docstring for the cost surface, the sharing rule and how
    lengths and costs are measured.

    Parameters
    ----------
    targets : GeoDataFrame or GeoSeries of points
        What to connect, e.g. the chosen pump stations.  Ids come from
        ``id_column``, else the first of ``pump_id``, ``target_id``,
        ``work_id``, ``site_id`` present, else the index.
    power : GeoDataFrame or GeoSeries
        The existing network (the plan's ``power`` layer, the name siting uses
        too).  For a power layer only rows with element
        ``line``, ``phases`` 3 and ``status`` ``existing`` (or missing) count,
        each column only when present, so any layer of lines works too.
        Points (transformers) are ignored.  Line ids: ``power_id`` or the index.
    roads, canals, rivers : GeoDataFrame or GeoSeries, optional
        Lines (rivers: lines or polygons), any CRS; burnt with the factors below.
    cost_surface : path, rasterio dataset or (array, transform[, crs]), optional
        Cost factors per cell (1 = ``cost_vnd_per_km``; NaN, inf and nodata are
        impassable) in a projected CRS in metres; replaces the built surface, and
        then ``cell_m`` and ``margin_m`` are not used.  An array's CRS is the
        tuple's third element, else ``crs``.
    cost_vnd_per_km : float, default :data:`DEFAULT_COST_VND_PER_KM`
        Cost of one km of line where the factor is 1, VND.
    cell_m : float, default 50
        Cell size of the built surface, m.
    road_factor, canal_factor, river_crossing_factor : float
        Cost factors of road, canal-bank and river cells (defaults 0.5, 0.7, 10).
    margin_m : float, default 1000
        Margin of the built surface around the targets and the network, m.
    id_column : str, optional
        Column of target ids.
    crs : str, int or pyproj.CRS, optional
        The metric CRS (projected, metres); default
        :func:`geoagri.crs.metric_crs` of the targets and the network, or the
        CRS of a raster ``cost_surface``.

    Returns
    -------
    GeoDataFrame
        One row per target, in the order they were connected (cheapest first),
        with a RangeIndex, in the CRS of ``targets``; columns
        :data:`LINE_COLUMNS`:

        ``target_id`` (str); ``order`` (int, 1 first); ``attaches_to``
        (``"grid"`` or the ``target_id`` of the earlier target whose line it
        joins); ``grid_line_id`` (id of the existing line joined, or None);
        ``length_km`` (drawn line, metric CRS); ``mean_cost_factor``
        (length-weighted along the line); ``cost_vnd`` (``length_km ×
        cost_vnd_per_km × mean_cost_factor``); ``note`` ("" or "already on the
        grid" / "already on a planned line" for zero-length lines); geometry
        (LineString from the target to the line it attaches to).

    Raises
    ------
    CRSError
        If an input or the cost surface has no CRS, or the metric CRS is not
        projected in metres.
    GeometryError
        If a target is not a single point.
    SchemaError
        If target ids repeat or ``id_column`` does not exist.
    InfeasibleError
        If ``power`` has no existing three-phase line inside the surface, or a
        target cannot reach the network (outside the surface, on an impassable
        cell or enclosed by impassable cells); the message names every such
        target.
    GeoagriError
        If the surface would exceed :data:`MAX_CELLS` cells, a factor is
        negative, or an option is out of range.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> pumps = plan["pumps"]
    >>> diesel = pumps[pumps["power_source"] == "diesel"]
    >>> lines = route_power_lines(diesel, plan["power"], cell_m=100)
    >>> len(lines), lines.crs == pumps.crs, set(lines["attaches_to"]) <= {"grid", *diesel.pump_id}
    (7, True, True)
    """
    for name, value in (("cell_m", cell_m), ("cost_vnd_per_km", cost_vnd_per_km),
                        ("road_factor", road_factor), ("canal_factor", canal_factor),
                        ("river_crossing_factor", river_crossing_factor)):
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise GeoagriError(f"{name} must be a finite number ≥ 0, got {value!r}")
    if cell_m <= 0:
        raise GeoagriError(f"cell_m must be > 0 (cell size in metres), got {cell_m!r}")
    if not (isinstance(margin_m, (int, float)) and math.isfinite(margin_m) and margin_m >= 0):
        raise GeoagriError(f"margin_m must be a finite number ≥ 0, got {margin_m!r}")

    ids, points = _targets(targets, id_column)
    grid_ids, grid_geoms = _grid_lines(power)

    user = None
    if cost_surface is not None:
        user = _user_surface(cost_surface, crs)
        if crs is not None and CRS.from_user_input(crs) != CRS.from_user_input(user[2]):
            raise CRSError(
                f"crs={crs!r} differs from the cost surface's CRS ({user[2]}); routing happens "
                "in the surface's CRS: leave crs unset or reproject the surface"
            )
        crs = user[2]
    both = gpd.GeoSeries(pd.concat([points, grid_geoms.to_crs(points.crs)], ignore_index=True),
                         crs=points.crs)
    metric = metric_crs(both, crs=crs)

    pts = points.to_crs(metric)
    lines_m = grid_geoms.to_crs(metric).to_numpy()
    xy = shapely.get_coordinates(pts.to_numpy())

    if user is None:
        bounds = np.array(both.to_crs(metric).total_bounds)
        x0 = math.floor((bounds[0] - margin_m) / cell_m) * cell_m
        y0 = math.floor((bounds[1] - margin_m) / cell_m) * cell_m
        x1 = math.ceil((bounds[2] + margin_m) / cell_m) * cell_m
        y1 = math.ceil((bounds[3] + margin_m) / cell_m) * cell_m
        ncol = max(1, round((x1 - x0) / cell_m))
        nrow = max(1, round((y1 - y0) / cell_m))
        if nrow * ncol > MAX_CELLS:
            raise GeoagriError(
                f"the cost surface over the targets and the network would have {nrow} × {ncol} "
                f"= {nrow * ncol:,} cells of {cell_m:g} m, more than MAX_CELLS ({MAX_CELLS:,}); "
                "pass a larger cell_m, or clip power to the lines near the targets"
            )
        factor = np.ones((nrow, ncol))
        transform = Affine(cell_m, 0, x0, 0, -cell_m, y1)
    else:
        factor, transform = _check_factors(user[0]), user[1]
        if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
            raise GeoagriError(
                f"cost_surface: the transform must be north-up without rotation "
                f"(a > 0, e < 0, b = d = 0); got {tuple(transform)[:6]}; warp it first "
                "(rasterio.warp.reproject)"
            )
        if factor.size > MAX_CELLS:
            raise GeoagriError(
                f"cost_surface has {factor.size:,} cells, more than MAX_CELLS ({MAX_CELLS:,}); "
                "resample it to larger cells or clip it to the area of the targets"
            )
        factor = factor.copy()
    surface = _Surface(factor, transform, metric)
    for geoms, value in ((_vector(canals, "canals", metric), canal_factor),
                         (_vector(rivers, "rivers", metric), river_crossing_factor),
                         (_vector(roads, "roads", metric), road_factor)):
        surface.factor[surface.burn(geoms)] = value

    # The network: which existing line each cell holds (-1: none).
    grid_line = rasterio.features.rasterize(
        ((g, i) for i, g in enumerate(lines_m)), out_shape=surface.shape,
        transform=surface.transform, fill=-1, all_touched=True, dtype="int32").ravel()
    sources = np.flatnonzero(grid_line >= 0)
    if len(sources) == 0:
        raise InfeasibleError(
            "power: none of the existing three-phase lines lies inside the cost surface, so "
            "there is no network to connect to; extend the cost surface over the network"
        )

    row, col, inside = surface.cells(xy[:, 0], xy[:, 1])
    cell = np.where(inside, row * surface.shape[1] + col, -1)
    graph = _graph(surface)
    dist, pred, _ = dijkstra(graph, directed=True, indices=sources, min_only=True,
                          return_predecessors=True)
    _check_reachable(ids, cell, dist, surface)

    planned_by = np.full(surface.factor.size, -1, dtype=np.int64)
    drawn: dict[int, LineString] = {}
    records = []
    remaining = list(range(len(ids)))
    while remaining:
        k = min(remaining, key=lambda i: (dist[cell[i]], i))
        remaining.remove(k)
        path = [int(cell[k])]
        while pred[path[-1]] != _SOURCE:
            path.append(int(pred[path[-1]]))
        end = path[-1]
        if grid_line[end] >= 0:
            attach_geom, attaches_to = lines_m[grid_line[end]], "grid"
            grid_line_id: str | None = grid_ids[grid_line[end]]
        else:
            owner = int(planned_by[end])
            attach_geom, attaches_to, grid_line_id = drawn[owner], ids[owner], None
        path_rc = np.c_[np.divmod(np.array(path), surface.shape[1])]
        start = xy[k]
        if len(path) == 1:
            snap = shapely.get_coordinates(
                shapely.shortest_line(Point(start), attach_geom))[1]
        else:
            centre = surface.centres(path_rc[-1:, 0], path_rc[-1:, 1])[0]
            snap = shapely.get_coordinates(
                shapely.shortest_line(Point(centre), attach_geom))[1]
        keep = _merge_runs(path_rc)
        coords = np.vstack([start, surface.centres(path_rc[keep, 0], path_rc[keep, 1]), snap])
        coords = coords[np.r_[True, np.any(np.diff(coords, axis=0) != 0, axis=1)]]
        if len(coords) == 1:
            coords = np.vstack([coords, coords])
        coords = _straightened(coords, surface)
        line = LineString(coords)
        length_m, mean_factor, _ = _priced(coords, surface)
        note = ""
        if length_m < ON_LINE_TOLERANCE_M:
            note = "already on the grid" if attaches_to == "grid" else "already on a planned line"
            logger.info("route_power_lines: target %s is %s; zero-length line", ids[k], note)
        drawn[k] = line
        records.append({
            "target_id": ids[k], "order": len(records) + 1, "attaches_to": attaches_to,
            "grid_line_id": grid_line_id, "length_km": length_m / 1000,
            "mean_cost_factor": mean_factor,
            "cost_vnd": (length_m / 1000 * cost_vnd_per_km * mean_factor) if length_m else 0.0,
            "note": note, "geometry": line,
        })
        new = np.array([c for c in path[:-1] if planned_by[c] < 0 and grid_line[c] < 0])
        if len(new):
            planned_by[new] = k
        if remaining and len(new):
            limit = max(dist[cell[i]] for i in remaining)
            d2, p2, _ = dijkstra(graph, directed=True, indices=new, min_only=True,
                              return_predecessors=True, limit=limit * (1 + 1e-12) + 1e-9)
            better = d2 < dist
            dist[better] = d2[better]
            pred[better] = p2[better]

    out = gpd.GeoDataFrame(records, columns=[*LINE_COLUMNS, "geometry"], geometry="geometry",
                           crs=metric).to_crs(points.crs)
    out = out.astype({"order": "int64", "length_km": "float64", "cost_vnd": "float64",
                      "mean_cost_factor": "float64"})
    logger.info("route_power_lines: %d targets, %.3f km of new line, %.0f VND "
                "(surface %d × %d cells of %g × %g m in %s)", len(out), out["length_km"].sum(),
                out["cost_vnd"].sum(), *surface.shape, surface.dx, surface.dy, metric.name)
    return out


def _check_reachable(ids: Sequence[str], cell: np.ndarray, dist: np.ndarray,
                     surface: _Surface) -> None:
    flat = surface.factor.ravel()
    outside, blocked, enclosed = [], [], []
    for i, c in enumerate(cell):
        if c < 0:
            outside.append(ids[i])
        elif not np.isfinite(dist[c]):
            (enclosed if np.isfinite(flat[c]) else blocked).append(ids[i])
    if not (outside or blocked or enclosed):
        return
    parts = []
    if outside:
        parts.append(f"outside the cost surface: {', '.join(outside)}")
    if blocked:
        parts.append(f"on an impassable cell (nodata or infinite cost): {', '.join(blocked)}")
    if enclosed:
        parts.append("cut off from the network by impassable cells (nodata or infinite cost): "
                     f"{', '.join(enclosed)}")
    n = len(outside) + len(blocked) + len(enclosed)
    raise InfeasibleError(
        f"{n} target{'s' if n != 1 else ''} cannot reach the existing three-phase network — "
        + "; ".join(parts)
        + ". Fix: extend the cost surface over them, give their cells and a corridor to the "
        "network a finite cost, or leave them out of targets"
    )


# --------------------------------------------------------------------------
# Bill of quantities
# --------------------------------------------------------------------------


def bill_of_quantities(lines: pd.DataFrame) -> pd.DataFrame:
    """Lengths and costs of routed lines per target, with running and overall totals.

    Parameters
    ----------
    lines : DataFrame or GeoDataFrame
        The result of :func:`route_power_lines` (or any table with columns
        ``target_id``, ``length_km`` and ``cost_vnd``; ``order`` and
        ``attaches_to`` are used when present).

    Returns
    -------
    DataFrame
        One row per target in connection order, then a last row with
        ``target_id`` ``"total"``; columns ``target_id``, ``order`` (Int64, NA on
        the total), ``attaches_to``, ``n_segments``, ``length_km``, ``cost_vnd``,
        ``cumulative_length_km`` and ``cumulative_cost_vnd`` (what connecting the
        targets up to this one costs; on the total row, the totals).  A target
        that joins a planned line needs the lines it hangs on: the cumulative
        columns count them, since a line is always connected after the line it
        joins.

    Raises
    ------
    SchemaError
        If a required column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> lines = pd.DataFrame({"target_id": ["TB11", "TB09"], "order": [1, 2],
    ...                       "attaches_to": ["grid", "TB11"],
    ...                       "length_km": [0.5, 0.25], "cost_vnd": [150e6, 75e6]})
    >>> bill_of_quantities(lines)[["target_id", "length_km", "cumulative_cost_vnd"]]
      target_id  length_km  cumulative_cost_vnd
    0      TB11       0.50          150000000.0
    1      TB09       0.25          225000000.0
    2     total       0.75          225000000.0
    """
    missing = [c for c in ("target_id", "length_km", "cost_vnd") if c not in lines.columns]
    if missing:
        raise SchemaError(
            f"bill_of_quantities: lines lacks column(s) {', '.join(missing)}; found "
            f"{', '.join(map(str, lines.columns))}; pass the result of route_power_lines"
        )
    table = pd.DataFrame({
        "target_id": lines["target_id"].astype(str).to_numpy(),
        "order": (lines["order"] if "order" in lines.columns
                  else pd.Series(range(1, len(lines) + 1))).to_numpy(),
        "attaches_to": (lines["attaches_to"] if "attaches_to" in lines.columns
                        else pd.Series([None] * len(lines))).to_numpy(),
        "length_km": lines["length_km"].astype(float).to_numpy(),
        "cost_vnd": lines["cost_vnd"].astype(float).to_numpy(),
    })
    per = (table.groupby("target_id", sort=False)
           .agg(order=("order", "min"), attaches_to=("attaches_to", "first"),
                n_segments=("length_km", "size"), length_km=("length_km", "sum"),
                cost_vnd=("cost_vnd", "sum"))
           .reset_index().sort_values("order", kind="stable").reset_index(drop=True))
    per["order"] = per["order"].astype("Int64")
    per["cumulative_length_km"] = per["length_km"].cumsum()
    per["cumulative_cost_vnd"] = per["cost_vnd"].cumsum()
    total = pd.DataFrame([{
        "target_id": "total", "order": pd.NA, "attaches_to": None,
        "n_segments": int(per["n_segments"].sum()), "length_km": per["length_km"].sum(),
        "cost_vnd": per["cost_vnd"].sum(), "cumulative_length_km": per["length_km"].sum(),
        "cumulative_cost_vnd": per["cost_vnd"].sum(),
    }])
    out = pd.concat([per, total.astype({"order": "Int64"})], ignore_index=True)
    return out.astype({"n_segments": "int64"})
