"""Tests of geoagri.routing: least-cost three-phase line routing and the bill of quantities.

Hand-made surfaces in UTM 48N (EPSG:32648) with 100 m cells: the centre of
cell (row, col) of ``TRANSFORM`` is (500 050 + 100·col, 1 151 950 − 100·row).
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import LineString, Point, box

from geoagri.crs import geodesic_length_km
from geoagri.errors import CRSError, GeoagriError, GeometryError, InfeasibleError, SchemaError
from geoagri.routing import LINE_COLUMNS, bill_of_quantities, route_power_lines

UTM = "EPSG:32648"
CELL = 100.0
X0, Y0 = 500_000.0, 1_152_000.0
TRANSFORM = Affine(CELL, 0, X0, 0, -CELL, Y0)
RATE = 300e6  # VND/km


def centre(row: float, col: float) -> tuple[float, float]:
    return (X0 + (col + 0.5) * CELL, Y0 - (row + 0.5) * CELL)


def cell_box(row: int, col: int):
    x, y = centre(row, col)
    return box(x - CELL / 2, y - CELL / 2, x + CELL / 2, y + CELL / 2)


def points(ids, xys, crs=UTM) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"pump_id": list(ids)}, geometry=[Point(p) for p in xys], crs=crs)


def lines(ids, geoms, crs=UTM) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"power_id": list(ids)}, geometry=list(geoms), crs=crs)


def column_grid(col: int = 0, rows: tuple[int, int] = (0, 19)) -> gpd.GeoDataFrame:
    """An existing line through the centres of one column of cells."""
    return lines(["L22"], [LineString([centre(rows[0], col), centre(rows[1], col)])])


def row_grid(row: int = 0, cols: tuple[int, int] = (0, 29)) -> gpd.GeoDataFrame:
    return lines(["L22"], [LineString([centre(row, cols[0]), centre(row, cols[1])])])


def check_contract(out: gpd.GeoDataFrame, targets: gpd.GeoDataFrame) -> None:
    assert list(out.columns) == [*LINE_COLUMNS, "geometry"]
    assert isinstance(out.index, pd.RangeIndex)
    assert out.crs == targets.crs
    assert sorted(out["target_id"]) == sorted(targets["pump_id"])  # nothing lost
    assert list(out["order"]) == list(range(1, len(out) + 1))
    earlier: set[str] = set()
    for _, r in out.iterrows():  # a tree: every line hangs on the grid or an earlier line
        assert r["attaches_to"] == "grid" or r["attaches_to"] in earlier
        assert pd.isna(r["grid_line_id"]) == (r["attaches_to"] != "grid")
        earlier.add(r["target_id"])
    assert (out["length_km"] >= 0).all() and (out["cost_vnd"] >= 0).all()


# --------------------------------------------------------------------------
# Known least-cost paths
# --------------------------------------------------------------------------


def test_road_corridor_beats_the_direct_route():
    factor = np.full((20, 30), 3.0)
    factor[2, 0:21] = 0.1  # a road along row 2
    targets = points(["TB01"], [centre(10, 20)])
    out = route_power_lines(targets, column_grid(), cost_surface=(factor, TRANSFORM, UTM),
                            cost_vnd_per_km=RATE)
    check_contract(out, targets)
    expected = LineString([centre(10, 20), centre(2, 20), centre(2, 0)])
    line = out.geometry.iloc[0]
    assert line.hausdorff_distance(expected) < 1e-6
    assert out["length_km"].iloc[0] == pytest.approx(2.8)
    # 0.8 km at factor 3 and 2 km at 0.1 (the corner cell counts half and half)
    assert out["cost_vnd"].iloc[0] == pytest.approx(RATE * (0.75 * 3 + 0.05 * 0.1 + 2.0 * 0.1))
    # the straight route would cost 2 km at factor 3
    assert out["cost_vnd"].iloc[0] < 2.0 * 3 * RATE


def test_road_layer_is_burnt_cheap():
    targets = points(["TB01"], [centre(10, 20)])
    road = gpd.GeoSeries([LineString([centre(2, 0), centre(2, 20)])], crs=UTM)
    out = route_power_lines(targets, column_grid(), roads=road, road_factor=0.1, cell_m=CELL,
                            margin_m=200)
    expected = LineString([centre(10, 20), centre(2, 20), centre(2, 0)])
    assert out.geometry.iloc[0].hausdorff_distance(expected) < 1e-6
    plain = route_power_lines(targets, column_grid(), cell_m=CELL, margin_m=200)
    assert plain["length_km"].iloc[0] == pytest.approx(2.0)  # no road: straight across


def test_river_is_crossed_at_the_bridge():
    factor = np.ones((20, 30))
    factor[8, :] = np.inf  # an impassable river along row 8 ...
    factor[8, 15] = 1.0  # ... with one bridge
    targets = points(["TB02"], [centre(14, 3)])
    out = route_power_lines(targets, row_grid(0), cost_surface=(factor, TRANSFORM, UTM))
    line = out.geometry.iloc[0]
    assert line.intersects(cell_box(8, 15).buffer(-1))
    river = box(X0, Y0 - 9 * CELL, X0 + 30 * CELL, Y0 - 8 * CELL).difference(cell_box(8, 15))
    assert line.intersection(river).length < 1e-6
    assert out["length_km"].iloc[0] * 1000 >= row_grid(0).distance(Point(centre(14, 3))).min()


def test_river_layer_crossed_where_a_road_bridges_it():
    river = gpd.GeoSeries([LineString([centre(8, -5), centre(8, 35)])], crs=UTM)
    bridge = gpd.GeoSeries([LineString([centre(7, 15), centre(9, 15)])], crs=UTM)
    targets = points(["TB03"], [centre(14, 3)])
    out = route_power_lines(targets, row_grid(0), rivers=river, roads=bridge,
                            river_crossing_factor=1000, cell_m=CELL, margin_m=300)
    crossing = out.geometry.iloc[0].intersection(river.iloc[0])
    assert not crossing.is_empty
    assert abs(crossing.centroid.x - centre(8, 15)[0]) <= CELL / 2
    assert out["mean_cost_factor"].iloc[0] < 2  # never priced on a river cell
    # without the bridge the line crosses straight, at the river's price
    direct = route_power_lines(targets, row_grid(0), rivers=river, cell_m=CELL, margin_m=300,
                               river_crossing_factor=1000)
    assert direct["length_km"].iloc[0] == pytest.approx(1.4)
    assert direct["cost_vnd"].iloc[0] > out["cost_vnd"].iloc[0]


def test_canal_cells_are_cheap():
    canal = gpd.GeoSeries([LineString([centre(5, 0), centre(5, 25)])], crs=UTM)
    targets = points(["TB04"], [centre(8, 25)])
    out = route_power_lines(targets, column_grid(), canals=canal, canal_factor=0.2,
                            cell_m=CELL, margin_m=200)
    expected = LineString([centre(8, 25), centre(5, 25), centre(5, 0)])
    assert out.geometry.iloc[0].hausdorff_distance(expected) < 1e-6


# --------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1),
       xs=st.lists(st.floats(0.5, 29.5), min_size=1, max_size=4),
       ys=st.lists(st.floats(0.5, 19.5), min_size=4, max_size=4))
def test_no_line_shorter_than_the_straight_distance(seed, xs, ys):
    rng = np.random.default_rng(seed)
    factor = rng.uniform(0.2, 5.0, size=(20, 30))
    a = (X0 + rng.uniform(0, 3000), Y0 - rng.uniform(0, 2000))
    b = (X0 + rng.uniform(0, 3000), Y0 - rng.uniform(0, 2000))
    grid = lines(["L"], [LineString([a, b])])
    ids = [f"T{i}" for i in range(len(xs))]
    xys = [(X0 + x * CELL, Y0 - y * CELL) for x, y in zip(xs, ys, strict=False)]
    targets = points(ids, xys)
    out = route_power_lines(targets, grid, cost_surface=(factor, TRANSFORM, UTM))
    check_contract(out, targets)
    network = grid.geometry.iloc[0]
    for _, r in out.iterrows():
        start = Point(r.geometry.coords[0])
        assert start.distance(targets.geometry[ids.index(r["target_id"])]) < 1e-6
        # the line ends on the network as it stood when it was connected
        assert Point(r.geometry.coords[-1]).distance(network) < 1e-6
        assert r["length_km"] * 1000 >= start.distance(network) - 1e-6
        if r["attaches_to"] == "grid":
            assert r["length_km"] * 1000 >= start.distance(grid.geometry.iloc[0]) - 1e-6
        network = network.union(r.geometry)


def _undirected_graph(factor: np.ndarray, dx: float, dy: float):
    """The reference: each pair of neighbouring passable cells once, through scipy's COO."""
    from scipy.sparse import coo_matrix

    nrow, ncol = factor.shape
    rows, cols, data = [], [], []
    for r in range(nrow):
        for c in range(ncol):
            for dr, dc, step in ((0, 1, dx), (1, 0, dy), (1, 1, math.hypot(dx, dy)),
                                 (1, -1, math.hypot(dx, dy))):
                r2, c2 = r + dr, c + dc
                if 0 <= r2 < nrow and 0 <= c2 < ncol:
                    w = step * (factor[r, c] + factor[r2, c2]) / 2
                    if math.isfinite(w):
                        rows.append(r * ncol + c)
                        cols.append(r2 * ncol + c2)
                        data.append(max(w, 1e-9))
    n = nrow * ncol
    return coo_matrix((data, (rows, cols)), shape=(n, n)).tocsr()


GRIDS = {  # name: cost factors (inf: impassable)
    "9 × 12, cheap and impassable cells": np.random.default_rng(3).choice(
        [1.0, 1.0, 1.0, 0.5, 0.0, np.inf], size=(9, 12)),
    "one row": np.array([[1.0, 2.0, np.inf, 0.5, 1.0, 1.0]]),
    "one column": np.array([[1.0], [np.inf], [0.7], [1.0], [3.0]]),
    "one cell": np.array([[1.0]]),
    "2 × 2": np.array([[1.0, 0.5], [2.0, 1.0]]),
    "2 × 3, a wall": np.array([[1.0, np.inf, 1.0], [1.0, np.inf, 1.0]]),
    "all impassable": np.full((3, 4), np.inf),
    "huge factors (a sum overflows)": np.array([[1e308, 1e308], [1.0, 1e308]]),
    # 100,000 cells or more: the rows are written in bands, one per thread
    "317 × 331, written in bands": np.random.default_rng(4).choice(
        [1.0, 1.0, 0.5, 2.0, 0.0, np.inf], size=(317, 331)),
}


@pytest.mark.parametrize("name", list(GRIDS))
def test_search_graph_is_the_undirected_graph_row_then_transposed_row(name):
    # _graph builds the matrix a directed search needs from the grid's structure: each
    # cell's row of the undirected graph (COO → CSR, sorted by column) followed by its
    # row of the transpose, as scipy's undirected search scans them; here it is checked
    # against that construction, array for array, on rectangular cells (100 × 60 m).
    from geoagri.routing import _graph, _Surface

    factor = GRIDS[name]
    with np.errstate(over="ignore"):
        want = _undirected_graph(factor, 100.0, 60.0)
        got = _graph(_Surface(factor, Affine(100.0, 0, X0, 0, -60.0, Y0), UTM))
    t = want.T.tocsr()
    n = factor.size
    indices = [np.r_[want.indices[want.indptr[i]:want.indptr[i + 1]],
                     t.indices[t.indptr[i]:t.indptr[i + 1]]] for i in range(n)]
    data = [np.r_[want.data[want.indptr[i]:want.indptr[i + 1]],
                  t.data[t.indptr[i]:t.indptr[i + 1]]] for i in range(n)]
    assert got.shape == (n, n)
    np.testing.assert_array_equal(got.indptr, np.r_[0, np.cumsum([len(i) for i in indices])])
    np.testing.assert_array_equal(got.indices, np.concatenate(indices).astype(int))
    np.testing.assert_array_equal(got.data, np.concatenate(data))
    assert got.indices.dtype == want.indices.dtype and got.indptr.dtype == want.indptr.dtype
    assert got.data.dtype == np.float64


def test_one_graph_both_ways_searches_like_scipys_undirected_search():
    # route_power_lines searches a directed graph holding each move both ways instead of
    # letting scipy transpose the undirected one on every search: the directed search
    # on it must give scipy's undirected distances and predecessors, here on a 9 × 12
    # surface of uniform cells (ties everywhere: a diagonal then a straight step is as
    # long as the reverse), cheap and impassable cells, from two sources at once, with
    # and without a distance limit.
    from scipy.sparse.csgraph import dijkstra

    from geoagri.routing import _graph, _Surface

    rng = np.random.default_rng(3)
    factor = rng.choice([1.0, 1.0, 1.0, 0.5, np.inf], size=(9, 12))
    factor[0, 0] = factor[0, 1] = factor[8, 11] = 1.0
    graph = _undirected_graph(factor, CELL, CELL)
    both = _graph(_Surface(factor, TRANSFORM, UTM))
    assert both.nnz == 2 * graph.nnz
    for limit in (np.inf, 450.0):
        want = dijkstra(graph, directed=False, indices=[0, 107], min_only=True,
                        return_predecessors=True, limit=limit)
        got = dijkstra(both, directed=True, indices=[0, 107], min_only=True,
                       return_predecessors=True, limit=limit)
        for w, g in zip(want, got, strict=True):
            np.testing.assert_array_equal(g, w)
    # and the distance to a neighbour is the step × the mean factor of both cells
    dist = dijkstra(both, directed=True, indices=[0])[0]
    assert dist[1] == pytest.approx(CELL * (factor[0, 0] + factor[0, 1]) / 2)


def test_uniform_surface_cost_is_length_times_rate():
    targets = points(["A", "B"], [(501_234.5, 1_151_777.7), (502_911.0, 1_150_321.0)])
    grid = lines(["L"], [LineString([(500_100, 1_150_100), (500_700, 1_151_300)])])
    out = route_power_lines(targets, grid, cost_vnd_per_km=RATE, cell_m=50, margin_m=300)
    assert np.allclose(out["cost_vnd"], out["length_km"] * RATE, rtol=1e-12)
    assert np.allclose(out["mean_cost_factor"], 1.0)
    lengths = out.set_crs(UTM, allow_override=True).geometry.length / 1000
    assert np.allclose(out["length_km"], lengths, rtol=1e-12)
    doubled = route_power_lines(targets, grid, cost_vnd_per_km=RATE,
                                cost_surface=(np.full((40, 60), 2.0), TRANSFORM, UTM))
    assert np.allclose(doubled["cost_vnd"], 2 * doubled["length_km"] * RATE, rtol=1e-12)


# --------------------------------------------------------------------------
# Sharing and order
# --------------------------------------------------------------------------


def test_second_target_attaches_to_the_first_line():
    grid = row_grid(19)
    targets = points(["A", "B"], [centre(2, 10), centre(1, 12)])
    out = route_power_lines(targets, grid, cost_surface=(np.ones((20, 30)), TRANSFORM, UTM),
                            cost_vnd_per_km=RATE)
    check_contract(out, targets)
    assert list(out["target_id"]) == ["A", "B"]
    assert list(out["attaches_to"]) == ["grid", "A"]
    assert out["grid_line_id"].iloc[0] == "L22" and pd.isna(out["grid_line_id"].iloc[1])
    end_b = Point(out.geometry.iloc[1].coords[-1])
    assert end_b.distance(out.geometry.iloc[0]) < 1e-6  # snapped onto A's line
    alone = sum(route_power_lines(targets.iloc[[i]], grid,
                                  cost_surface=(np.ones((20, 30)), TRANSFORM, UTM),
                                  cost_vnd_per_km=RATE)["cost_vnd"].iloc[0] for i in (0, 1))
    assert out["cost_vnd"].sum() < 0.7 * alone
    assert out["length_km"].iloc[1] < 0.3


def test_cheapest_first():
    grid = row_grid(19)
    targets = points(["far", "near", "middle"], [centre(4, 2), centre(14, 14), centre(9, 26)])
    out = route_power_lines(targets, grid, cost_surface=(np.ones((20, 30)), TRANSFORM, UTM))
    assert list(out["target_id"]) == ["near", "middle", "far"]
    assert (out["attaches_to"] == "grid").all()
    assert list(out["length_km"]) == pytest.approx([0.5, 1.0, 1.5])


def test_targets_on_the_grid_are_zero_length():
    grid = row_grid(19)
    on = centre(19, 5)
    near = (centre(19, 9)[0], centre(19, 9)[1] + 20)  # in a grid cell, 20 m off the line
    targets = points(["on", "near"], [on, near])
    out = route_power_lines(targets, grid, cost_surface=(np.ones((20, 30)), TRANSFORM, UTM))
    check_contract(out, targets)
    row = out.set_index("target_id")
    assert row.loc["on", "length_km"] == 0 and row.loc["on", "cost_vnd"] == 0
    assert row.loc["on", "note"] == "already on the grid"
    assert row.loc["near", "length_km"] == pytest.approx(0.02)
    assert row.loc["near", "note"] == ""


# --------------------------------------------------------------------------
# Infeasible
# --------------------------------------------------------------------------


def test_enclosed_target_is_infeasible_and_named():
    factor = np.ones((20, 30))
    factor[8:13, 18:23] = np.nan
    factor[9:12, 19:22] = 1.0  # a passable pocket inside a nodata ring
    targets = points(["TB01", "TB99"], [centre(3, 3), centre(10, 20)])
    with pytest.raises(InfeasibleError, match=r"cut off .*TB99"):
        route_power_lines(targets, row_grid(19), cost_surface=(factor, TRANSFORM, UTM))


def test_target_outside_or_on_impassable_cell_is_infeasible():
    factor = np.ones((20, 30))
    factor[5, 5] = np.inf
    targets = points(["IN", "OUT", "WET"], [centre(3, 3), (X0 - 500, Y0 - 500), centre(5, 5)])
    with pytest.raises(InfeasibleError, match=r"outside the cost surface: OUT.*impassable.*WET"):
        route_power_lines(targets, row_grid(19), cost_surface=(factor, TRANSFORM, UTM))


def test_grid_without_three_phase_lines_is_infeasible():
    power = gpd.GeoDataFrame(
        {"power_id": ["L04", "L22p", "TBA"], "element": ["line", "line", "transformer"],
         "voltage_kv": [0.4, 22.0, 22.0], "phases": [1, 3, 3],
         "status": ["existing", "planned", "existing"]},
        geometry=[LineString([centre(0, 0), centre(0, 9)]),
                  LineString([centre(5, 0), centre(5, 9)]), Point(centre(2, 2))], crs=UTM)
    with pytest.raises(InfeasibleError, match="no row of the 3 given is an existing three-phase"):
        route_power_lines(points(["A"], [centre(9, 9)]), power)


def test_grid_outside_the_surface_is_infeasible():
    far = lines(["L"], [LineString([(X0 + 10_000, Y0), (X0 + 11_000, Y0)])])
    with pytest.raises(InfeasibleError, match="inside the cost surface"):
        route_power_lines(points(["A"], [centre(9, 9)]), far,
                          cost_surface=(np.ones((20, 30)), TRANSFORM, UTM))


# --------------------------------------------------------------------------
# The power layer, CRS, inputs, errors
# --------------------------------------------------------------------------


def test_only_existing_three_phase_lines_are_the_grid():
    power = gpd.GeoDataFrame(
        {"power_id": ["L22", "L04", "L22p"], "element": ["line", "line", "line"],
         "voltage_kv": [22.0, 0.4, 22.0], "phases": [3, 1, 3],
         "status": ["existing", "existing", "planned"]},
        geometry=[LineString([centre(19, 0), centre(19, 29)]),
                  LineString([centre(6, 0), centre(6, 29)]),
                  LineString([centre(4, 0), centre(4, 29)])], crs=UTM)
    targets = points(["A"], [centre(5, 10)])
    out = route_power_lines(targets, power, cost_surface=(np.ones((20, 30)), TRANSFORM, UTM))
    assert out["grid_line_id"].iloc[0] == "L22"
    assert out["length_km"].iloc[0] == pytest.approx(1.4)


def test_lonlat_inputs_come_back_in_lonlat_measured_in_metres():
    targets_utm = points(["A", "B"], [(501_234.5, 1_151_777.7), (502_911.0, 1_150_321.0)])
    grid_utm = lines(["L"], [LineString([(500_100, 1_150_100), (500_700, 1_151_300)])])
    targets, grid = targets_utm.to_crs("EPSG:4326"), grid_utm.to_crs("EPSG:4326")
    out = route_power_lines(targets, grid, cell_m=50, margin_m=300)
    assert out.crs == "EPSG:4326"
    check_contract(out, targets)
    metric = out.to_crs(UTM).geometry.length / 1000  # metric_crs picks UTM 48N here
    assert np.allclose(out["length_km"], metric, rtol=1e-9)
    assert np.allclose(out["length_km"], geodesic_length_km(out), rtol=1e-3)
    same = route_power_lines(targets_utm, grid_utm, cell_m=50, margin_m=300)
    assert np.allclose(same["length_km"], out["length_km"], rtol=1e-6)


def test_inputs_are_not_mutated():
    targets = points(["A", "B"], [centre(2, 10), centre(1, 12)])
    grid = row_grid(19)
    factor = np.ones((20, 30))
    before = (targets.copy(), grid.copy(), factor.copy())
    roads = gpd.GeoSeries([LineString([centre(2, 0), centre(2, 20)])], crs=UTM)
    route_power_lines(targets, grid, roads=roads, cost_surface=(factor, TRANSFORM, UTM))
    pd.testing.assert_frame_equal(targets, before[0])
    pd.testing.assert_frame_equal(grid, before[1])
    np.testing.assert_array_equal(factor, before[2])


def test_cost_surface_from_a_geotiff_with_nodata(tmp_path):
    factor = np.ones((20, 30), dtype="float32")
    factor[8, :] = -1  # nodata: impassable
    factor[8, 15] = 1
    path = tmp_path / "cost.tif"
    with rasterio.open(path, "w", driver="GTiff", width=30, height=20, count=1,
                       dtype="float32", crs=UTM, transform=TRANSFORM, nodata=-1) as ds:
        ds.write(factor, 1)
    targets = points(["TB02"], [centre(14, 3)])
    out = route_power_lines(targets, row_grid(0), cost_surface=str(path))
    assert out.geometry.iloc[0].intersects(cell_box(8, 15).buffer(-1))
    with rasterio.open(path) as ds:
        again = route_power_lines(targets, row_grid(0), cost_surface=ds)
    assert again["length_km"].iloc[0] == pytest.approx(out["length_km"].iloc[0])


def test_errors_say_what_and_how():
    targets = points(["A"], [centre(2, 2)])
    grid = row_grid(19)
    with pytest.raises(CRSError, match="route_power_lines: layer 'targets' has no CRS"):
        route_power_lines(targets.set_crs(None, allow_override=True), grid)
    with pytest.raises(GeometryError, match="non-point geometry at ids P1"):
        route_power_lines(gpd.GeoDataFrame({"pump_id": ["P1"]}, geometry=[box(0, 0, 1, 1)],
                                           crs=UTM), grid)
    with pytest.raises(SchemaError, match="repeated: A"):
        route_power_lines(points(["A", "A"], [centre(2, 2), centre(3, 3)]), grid)
    with pytest.raises(SchemaError, match="id_column='nope'"):
        route_power_lines(targets, grid, id_column="nope")
    with pytest.raises(CRSError, match="array's CRS is unknown"):
        route_power_lines(targets, grid, cost_surface=(np.ones((20, 30)), TRANSFORM))
    bad = np.ones((20, 30))
    bad[3, 4] = -2
    with pytest.raises(GeoagriError, match=r"negative cells, the first at row 3, col 4"):
        route_power_lines(targets, grid, cost_surface=(bad, TRANSFORM, UTM))
    with pytest.raises(GeoagriError, match="cell_m must be > 0"):
        route_power_lines(targets, grid, cell_m=0)
    with pytest.raises(GeoagriError, match="MAX_CELLS"):
        route_power_lines(targets, grid, cell_m=0.5)
    with pytest.raises(CRSError, match="not projected"):
        route_power_lines(targets, grid, crs="EPSG:4326")


# --------------------------------------------------------------------------
# Bill of quantities
# --------------------------------------------------------------------------


def test_bill_of_quantities_totals():
    targets = points(["A", "B", "C"], [centre(2, 10), centre(1, 12), centre(14, 25)])
    out = route_power_lines(targets, row_grid(19), cost_vnd_per_km=RATE,
                            cost_surface=(np.ones((20, 30)), TRANSFORM, UTM))
    bill = bill_of_quantities(out)
    assert list(bill.columns) == ["target_id", "order", "attaches_to", "n_segments", "length_km",
                                  "cost_vnd", "cumulative_length_km", "cumulative_cost_vnd"]
    assert list(bill["target_id"]) == [*out["target_id"], "total"]
    total = bill.iloc[-1]
    assert total["length_km"] == pytest.approx(out["length_km"].sum())
    assert total["cost_vnd"] == pytest.approx(out["cost_vnd"].sum())
    assert bill["cumulative_cost_vnd"].iloc[-2] == pytest.approx(total["cost_vnd"])
    assert pd.isna(total["order"])
    with pytest.raises(SchemaError, match=r"lacks column.*cost_vnd"):
        bill_of_quantities(out.drop(columns="cost_vnd"))


# --------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------


def test_demo_diesel_pumps():
    from geoagri.datasets import demo

    plan = demo()
    pumps = plan["pumps"]
    diesel = pumps[pumps["power_source"] == "diesel"]
    power = plan["power"]
    canals = gpd.read_file(plan.path(plan.settings["canals"]))
    out = route_power_lines(diesel, power, canals=canals, crs=plan.metric_crs, cell_m=100)
    check_contract(out, diesel)
    three = power[(power["element"] == "line") & (power["phases"] == 3)].to_crs(plan.metric_crs)
    straight_km = {i: three.distance(g).min() / 1000
                   for i, g in zip(diesel["pump_id"], diesel.to_crs(plan.metric_crs).geometry,
                                   strict=True)}
    for _, r in out[out["attaches_to"] == "grid"].iterrows():
        assert r["length_km"] >= straight_km[r["target_id"]] - 1e-9
    assert set(out["grid_line_id"].dropna()) <= set(three["power_id"])
    bill = bill_of_quantities(out)
    assert 10 < bill["length_km"].iloc[-1] < 30
    assert math.isclose(bill["cost_vnd"].iloc[-1], out["cost_vnd"].sum())
