"""Pump-station siting (geoagri.siting): brute-force and spopt optima, hand-made
answers, existing stations, connection costs, candidates along canals, the curve,
and every error path."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from shapely.geometry import LineString, Point, box

from geoagri.errors import CRSError, GeometryError, InfeasibleError, SchemaError
from geoagri.siting import (
    CURVE_COLUMNS,
    SITE_COLUMNS,
    candidates_along_canals,
    demand_cells,
    site_pump_stations,
    solve_max_cover,
    solve_set_cover,
)

UTM = "EPSG:32648"
X, Y = 500_000, 1_200_000  # near UTM 48N's central meridian; 1 km² = 100 ha


def km_box(x0, y0, x1, y1):
    """A box given in km from the origin (X, Y)."""
    return box(X + 1000 * x0, Y + 1000 * y0, X + 1000 * x1, Y + 1000 * y1)


def km_pt(x, y):
    return Point(X + 1000 * x, Y + 1000 * y)


def points(ids, xy, **cols):
    return gpd.GeoDataFrame({"site_id": ids, **cols}, geometry=[km_pt(*p) for p in xy], crs=UTM)


@pytest.fixture
def three_fields():
    # Three 1 km² fields (100 ha each) in a row, 2 km apart; cell_m=1000 makes one cell each.
    return gpd.GeoDataFrame({"field": ["W", "M", "E"]},
                            geometry=[km_box(0, 0, 1, 1), km_box(2, 0, 3, 1), km_box(4, 0, 5, 1)],
                            crs=UTM)


def random_instance(seed, n_cand, nx=8, ny=6, cell=250.0):
    """Squares of random size centred in the cells of a grid; candidates at random points."""
    rng = np.random.default_rng(seed)
    ix, iy = np.meshgrid(np.arange(nx), np.arange(ny))
    cx, cy = X + (ix.ravel() + 0.5) * cell, Y + (iy.ravel() + 0.5) * cell
    half = rng.uniform(20, cell / 2, cx.size)
    demand = gpd.GeoDataFrame(geometry=[box(x - h, y - h, x + h, y + h)
                                        for x, y, h in zip(cx, cy, half, strict=True)], crs=UTM)
    px, py = rng.uniform(X, X + nx * cell, n_cand), rng.uniform(Y, Y + ny * cell, n_cand)
    cand = gpd.GeoDataFrame({"site_id": [f"S{k}" for k in range(n_cand)],
                             "cost": rng.integers(5, 15, n_cand) * 1.0e8},
                            geometry=[Point(x, y) for x, y in zip(px, py, strict=True)], crs=UTM)
    weights = (2 * half) ** 2 / 10_000
    dist = np.hypot(cx[:, None] - px[None, :], cy[:, None] - py[None, :])
    return demand, cand, weights, dist


def brute_force(weights, cover, cost=None, budget=None, p=None):
    """Best covered weight over all subsets (of size p, or within the budget)."""
    n = cover.shape[1]
    best = 0.0
    sizes = [p] if p is not None and budget is None else range(0, (p or n) + 1)
    for k in sizes:
        for subset in itertools.combinations(range(n), k):
            s = list(subset)
            if budget is not None and cost[s].sum() > budget + 1e-6:
                continue
            best = max(best, float(weights[cover[:, s].any(axis=1)].sum()))
    return best


# --------------------------------------------------------------------------
# Known optima
# --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("p", [1, 2, 3, 4])
def test_n_stations_matches_brute_force(seed, p):
    demand, cand, weights, dist = random_instance(seed, n_cand=12)
    result = site_pump_stations(demand, candidates=cand, radius_m=400, n_stations=p,
                                cell_m=250, curve_steps=0)
    best = brute_force(weights, dist <= 400, p=p)
    assert result.objective == pytest.approx(best, abs=1e-9)
    assert result.covered_ha == pytest.approx(best, abs=1e-9)
    assert len(result.sites) == p
    assert result.status == "Optimal"


@pytest.mark.parametrize("seed", [4, 5])
@pytest.mark.parametrize("budget", [0.5e9, 1.2e9, 2.0e9, 3.3e9])
def test_budget_matches_brute_force(seed, budget):
    demand, cand, weights, dist = random_instance(seed, n_cand=11)
    cost = cand["cost"].to_numpy()
    if budget < cost.min():
        pytest.skip("budget below the cheapest site (tested as an error)")
    result = site_pump_stations(demand, candidates=cand, radius_m=400, budget_vnd=budget,
                                station_cost_vnd="cost", cell_m=250, curve_steps=0)
    assert result.objective == pytest.approx(brute_force(weights, dist <= 400, cost, budget),
                                              abs=1e-9)
    assert result.cost_vnd <= budget
    assert result.sites["cost_vnd"].sum() == pytest.approx(result.cost_vnd)


def test_budget_and_count_together_match_brute_force():
    demand, cand, weights, dist = random_instance(6, n_cand=10)
    cost = cand["cost"].to_numpy()
    result = site_pump_stations(demand, candidates=cand, radius_m=400, budget_vnd=3.0e9,
                                n_stations=2, station_cost_vnd="cost", curve_steps=0)
    assert result.objective == pytest.approx(brute_force(weights, dist <= 400, cost, 3.0e9, 2))
    assert len(result.sites) <= 2


def test_solve_max_cover_against_brute_force():
    rng = np.random.default_rng(7)
    for _ in range(5):
        cover = rng.random((30, 9)) < 0.2
        weights = rng.uniform(0, 10, 30)
        cost = rng.uniform(1, 3, 9)
        assert solve_max_cover(weights, cover, n_sites=3).objective == pytest.approx(
            brute_force(weights, cover, p=3))
        assert solve_max_cover(weights, cover, cost_vnd=cost, budget_vnd=4.0).objective == \
            pytest.approx(brute_force(weights, cover, cost, 4.0))


def dominated_instance(rng):
    """A random cover with dominated candidates (copies of others on fewer rows, or the
    same rows, at no lower cost) and rows only one candidate covers."""
    cover = rng.random((24, 6)) < 0.3
    cost = rng.uniform(1, 3, 6)
    extra, extra_cost = [], []
    for j in rng.choice(6, 3, replace=False):
        extra.append(cover[:, j] & (rng.random(24) < 0.5))   # a subset, dearer or as dear
        extra_cost.append(cost[j] + rng.choice([0.0, 0.4]))
    extra.append(cover[:, 0].copy())                          # a twin at the same cost
    extra_cost.append(cost[0])
    return (np.column_stack([cover, *extra]), np.r_[cost, extra_cost],
            rng.uniform(0, 10, 24))


@pytest.mark.parametrize("seed", [11, 12, 13, 14])
def test_dominated_candidates_and_single_rows_keep_the_optimum(seed):
    # The model leaves out dominated candidates and folds rows of one candidate into its
    # weight: the optimum is that of every subset within the budget (and count).
    cover, cost, weights = dominated_instance(np.random.default_rng(seed))
    for budget in (2.5, 4.0, 6.5):
        sol = solve_max_cover(weights, cover, cost_vnd=cost, budget_vnd=budget)
        assert sol.objective == pytest.approx(brute_force(weights, cover, cost, budget),
                                              abs=1e-9)
        assert sol.cost_vnd <= budget
        assert sol.objective == pytest.approx(weights[cover[:, sol.selected].any(axis=1)].sum())
    sol = solve_max_cover(weights, cover, cost_vnd=cost, budget_vnd=6.5, n_sites=2)
    assert sol.objective == pytest.approx(brute_force(weights, cover, cost, 6.5, p=2), abs=1e-9)
    assert sol.selected.sum() <= 2



@pytest.mark.parametrize("seed", [21, 22, 23])
def test_candidates_ruled_out_by_the_lp_keep_the_optimum(seed, monkeypatch):
    # Before the MIP, the LP at the budget leaves out the candidates its reduced costs
    # rule out (_CoverModel._open_columns); the MIP on the others (rows merged again)
    # finds the optimum of every subset within the budget, curve points in one model.
    from geoagri import siting

    rng = np.random.default_rng(seed)
    cover = rng.random((70, 14)) < 0.12
    weights = rng.uniform(0, 10, 70)
    cost = rng.uniform(1, 3, 14)
    kept = []
    solve_open = siting._CoverModel._solve_open

    def spy(self, keep, *args):
        kept.append((keep.size, self.n))
        return solve_open(self, keep, *args)

    monkeypatch.setattr(siting._CoverModel, "_solve_open", spy)
    agg, agg_w, _ = siting._aggregate(sparse.csr_matrix(cover), weights)
    model = siting._CoverModel(agg, agg_w, cost, None)
    for budget in (1.5, 3.0, 4.5, 6.0, 8.0):
        x, status, _ = model.solve(budget_vnd=budget, n_sites=None, exact_count=False)
        assert status == "Optimal" and cost[x].sum() <= budget
        assert weights[cover[:, x].any(axis=1)].sum() == pytest.approx(
            brute_force(weights, cover, cost, budget), abs=1e-9)
    assert kept and all(k < n for k, n in kept)  # the LP did rule some out


def test_which_candidates_dominate_by_hand():
    # Columns: 0 covers rows {0, 1}; 1 covers {0} for more (dominated by 0); 2 covers
    # {0, 1} like 0 at the same cost (a twin: the first is kept); 3 covers {0, 1, 2} for
    # more than 0 (not dominated, nor dominating 0: dearer); 4 covers {2} for less than
    # 3 (not dominated); 5 covers nothing (left out).
    from scipy import sparse

    from geoagri.siting import _fold_single_rows, _undominated_columns

    cover = sparse.csr_matrix(np.array([[1, 1, 1, 1, 0, 0],
                                        [1, 0, 1, 1, 0, 0],
                                        [0, 0, 0, 1, 1, 0]], dtype=bool))
    cost = np.array([1.0, 1.5, 1.0, 2.0, 0.5, 0.1])
    assert _undominated_columns(cover, cost).tolist() == [0, 3, 4]
    # With 0, 2 and 3 at the same cost, 3 (more rows) dominates 0 and 2, and 1 (dearer).
    assert _undominated_columns(cover, np.array([2.0, 2.5, 2.0, 2.0, 0.5, 0.1])).tolist() \
        == [3, 4]
    # Row 2 is covered by 3 and 4; rows of one column fold into that column's weight.
    kept = cover[:, [0, 4]].tocsr()
    rows, w, site_w = _fold_single_rows(kept, np.array([3.0, 4.0, 5.0]))
    assert rows.shape == (0, 2)
    assert w.tolist() == []
    assert site_w.tolist() == [7.0, 5.0]


def test_greedy_start_swaps_out_of_the_greedy_trap():
    # Rows 0..5 of weight 1. A covers {1, 2, 3, 4}, B {0, 1, 2}, C {3, 4, 5}; all cost 1,
    # budget 2. Greedy takes A (4), then B or C (+1) = 5; swapping A for the other one
    # gives B + C = 6, the optimum.
    from scipy import sparse

    from geoagri.siting import _greedy_cover

    cover = np.zeros((6, 3), dtype=bool)
    cover[[1, 2, 3, 4], 0] = True
    cover[[0, 1, 2], 1] = True
    cover[[3, 4, 5], 2] = True
    x = _greedy_cover(sparse.csc_matrix(cover.astype(float)), np.ones(6), np.zeros(3),
                      np.ones(3), 2.0, None)
    assert x.tolist() == [0.0, 1.0, 1.0]
    # One station at most: A alone (4) is already the best single one.
    assert _greedy_cover(sparse.csc_matrix(cover.astype(float)), np.ones(6), np.zeros(3),
                         np.ones(3), 2.0, 1).tolist() == [1.0, 0.0, 0.0]


def test_rows_with_the_same_candidates_are_merged_and_weigh_their_sum():
    # Rows 0, 2 and 4 are covered by candidates {0, 1}; rows 1 and 3 by {2}. Merged, the
    # model sees two rows of 6 and 5 (+ 0.5); one site: {0, 1} (6) beats {2} (5.5), and of
    # the tied 0 and 1 the cheaper one; every original row is reported covered or not.
    cover = np.array([[1, 1, 0], [0, 0, 1], [1, 1, 0], [0, 0, 1], [1, 1, 0]], dtype=bool)
    weights = [1.0, 5.0, 2.0, 0.5, 3.0]
    sol = solve_max_cover(weights, cover, cost_vnd=[2e9, 1e9, 1e9], budget_vnd=1.5e9)
    assert sol.selected.tolist() == [False, True, False]
    assert sol.covered.tolist() == [True, False, True, False, True]
    assert sol.objective == pytest.approx(6.0)
    assert sol.objective == pytest.approx(brute_force(np.array(weights), cover,
                                                      np.array([2.0, 1.0, 1.0]), 1.5))


def test_candidates_that_cover_nothing_are_never_chosen():
    # Columns 0, 2 and 4 cover no row: with a budget they are left out of the model, and
    # the chosen sites keep their own indices (a shifted index would choose 0, 1 or 2).
    cover = np.array([[0, 1, 0, 0, 0, 0], [0, 0, 0, 1, 0, 0], [0, 0, 0, 1, 0, 1],
                      [0, 0, 0, 0, 0, 1]], dtype=bool)
    weights = np.array([4.0, 3.0, 1.0, 2.5])
    cost = np.array([0.1, 1.0, 0.1, 1.0, 0.1, 1.0])
    sol = solve_max_cover(weights, cover, cost_vnd=cost, budget_vnd=2.0)
    assert np.flatnonzero(sol.selected).tolist() == [1, 3]
    assert sol.objective == pytest.approx(8.0) == pytest.approx(
        brute_force(weights, cover, cost, 2.0))
    assert sol.cost_vnd == pytest.approx(2.0)
    # With a count and no budget the count is exact (spopt's MCLP): when fewer candidates
    # cover anything than the count asks for, sites that cover nothing fill it.
    sol = solve_max_cover(weights, cover, n_sites=5)
    assert int(sol.selected.sum()) == 5
    assert sol.selected[[1, 3, 5]].all()
    assert sol.objective == pytest.approx(10.5)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_same_optimum_as_spopt_mclp():
    spopt_locate = pytest.importorskip("spopt.locate", reason="spopt is a test extra: "
                                       "pip install spopt pulp")
    pulp = pytest.importorskip("pulp")
    demand, cand, weights, dist = random_instance(11, n_cand=40, nx=20, ny=15)
    for p in (3, 6):
        model = spopt_locate.MCLP.from_cost_matrix(dist, weights, 400.0, p_facilities=p)
        model.solve(pulp.PULP_CBC_CMD(msg=False))
        expected = pulp.value(model.problem.objective)
        result = site_pump_stations(demand, candidates=cand, radius_m=400, n_stations=p,
                                    curve_steps=0)
        assert result.objective == pytest.approx(expected, abs=1e-6)
        assert solve_max_cover(weights, dist <= 400, n_sites=p).objective == pytest.approx(
            expected, abs=1e-6)


def test_hand_made_budget_prefers_two_cheap_sites(three_fields):
    # A central site reaching W and M costs 2.5 bn; one on W costs 1 bn, one on E 1 bn.
    # With 2 bn: W + E = 200 ha beats nothing else affordable; with 2.5 bn still W + E (200 ha)
    # since the central site only reaches 200 ha too, and W+E+... is 3 bn.
    cand = points(["W", "WM", "E"], [(0.5, 0.5), (1.5, 0.5), (4.5, 0.5)],
                  cost=[1.0e9, 2.5e9, 1.0e9])
    r = site_pump_stations(three_fields, candidates=cand, radius_m=1000, cell_m=1000,
                           budget_vnd=2.0e9, station_cost_vnd="cost", curve_steps=0)
    assert sorted(r.sites["site_id"]) == ["E", "W"]
    assert r.covered_ha == pytest.approx(200.0)
    assert r.cost_vnd == pytest.approx(2.0e9)
    assert r.ha_per_billion_vnd == pytest.approx(100.0)
    assert r.demand_ha == pytest.approx(300.0)
    # Site WM covers W's and M's centres (1.0 km away each) - exactly at the radius counts.
    r = site_pump_stations(three_fields, candidates=cand, radius_m=1000, cell_m=1000,
                           budget_vnd=3.5e9, station_cost_vnd="cost", curve_steps=0)
    assert r.covered_ha == pytest.approx(300.0)
    assert sorted(r.sites["site_id"]) == ["E", "WM"]


def test_sites_columns_and_cells_contract(three_fields):
    cand = points(["W", "WM", "E"], [(0.5, 0.5), (1.5, 0.5), (4.5, 0.5)],
                  cost=[1.0e9, 2.5e9, 1.0e9], name=["a", "b", "c"])
    before = cand.copy()
    r = site_pump_stations(three_fields, candidates=cand, radius_m=1000, cell_m=1000,
                           n_stations=2, station_cost_vnd="cost", curve_steps=0)
    assert list(r.sites.columns[: len(SITE_COLUMNS)]) == SITE_COLUMNS
    assert "name" in r.sites.columns and "cost" in r.sites.columns
    assert r.sites.crs == three_fields.crs
    assert r.sites["covered_ha"].sum() == pytest.approx(r.covered_ha)
    assert r.sites.set_index("site_id")["sole_covered_ha"].to_dict() == pytest.approx(
        {"WM": 200.0, "E": 100.0})
    assert list(r.cells.columns) == ["cell_id", "area_ha", "served_by", "site_id",
                                     "reachable", "geometry"]
    assert r.cells["area_ha"].sum() == pytest.approx(r.demand_ha)
    assert (r.cells["served_by"] == "new").sum() == 3
    pd.testing.assert_frame_equal(cand, before)


def test_results_in_the_input_crs():
    demand = gpd.GeoDataFrame(geometry=[km_box(0, 0, 1, 1)], crs=UTM).to_crs(4326)
    cand = points(["A"], [(0.5, 0.5)]).to_crs(4326)
    r = site_pump_stations(demand, candidates=cand, radius_m=400, n_stations=1, cell_m=500,
                           curve_steps=0)
    assert r.sites.crs.to_epsg() == 4326 and r.cells.crs.to_epsg() == 4326
    assert r.metric_crs.to_epsg() == 32648
    assert r.sites.geometry.iloc[0].distance(cand.geometry.iloc[0]) < 1e-9
    # Four cells of 500 m (plus slivers from the round trip through lon/lat), centres 354 m
    # from the site: all served.
    assert r.cells["area_ha"].nlargest(4).tolist() == pytest.approx([25.0] * 4, rel=1e-4)
    assert r.covered_ha == pytest.approx(100.0, rel=1e-4)
    assert r.demand_ha == pytest.approx(100.0, rel=1e-6)


# --------------------------------------------------------------------------
# Existing stations, connection cost, candidates along canals
# --------------------------------------------------------------------------


def test_existing_stations_count_and_are_free(three_fields):
    existing = gpd.GeoDataFrame({"pump_id": ["TB1"]}, geometry=[km_pt(0.5, 0.5)], crs=UTM)
    cand = points(["W", "E"], [(0.5, 0.6), (4.5, 0.5)])
    r = site_pump_stations(three_fields, candidates=cand, existing=existing, radius_m=800,
                           cell_m=1000, n_stations=1, curve_steps=0)
    # W's field is already served, so the single new site goes east.
    assert r.sites["site_id"].tolist() == ["E"]
    assert r.existing_covered_ha == pytest.approx(100.0)
    assert r.covered_ha == pytest.approx(100.0)
    assert r.reachable_ha == pytest.approx(100.0)
    assert r.cells["served_by"].tolist() == ["existing", "none", "new"]


def test_all_demand_served_by_existing_returns_nothing_to_do(three_fields):
    existing = gpd.GeoDataFrame(geometry=[km_pt(0.5, 0.5), km_pt(2.5, 0.5), km_pt(4.5, 0.5)],
                                crs=UTM)
    cand = points(["A"], [(1, 1)])
    r = site_pump_stations(three_fields, candidates=cand, existing=existing, radius_m=800,
                           cell_m=1000, budget_vnd=1e9, station_cost_vnd=5e8)
    assert len(r.sites) == 0 and r.covered_ha == 0 and r.cost_vnd == 0
    assert r.existing_covered_ha == pytest.approx(300.0)
    assert r.status == "Nothing to serve"
    r = site_pump_stations(three_fields, candidates=cand, existing=existing, radius_m=800,
                           cell_m=1000, n_stations=1)
    assert len(r.sites) == 0 and r.status == "Nothing to serve"


def test_connection_cost_to_nearest_three_phase_line():
    demand = gpd.GeoDataFrame(geometry=[km_box(0, 0, 1, 1)], crs=UTM)
    cand = points(["A"], [(0.5, 0.5)])
    power = gpd.GeoDataFrame(
        {"power_id": ["L3", "L1", "T1"], "element": ["line", "line", "transformer"],
         "phases": [3, 1, 3], "voltage_kv": [22.0, 0.4, 22.0]},
        # three-phase line 1.5 km north of A; single-phase line and transformer nearer.
        geometry=[LineString([(X - 5000, Y + 2000), (X + 5000, Y + 2000)]),
                  LineString([(X - 5000, Y + 600), (X + 5000, Y + 600)]), km_pt(0.5, 0.7)],
        crs=UTM)
    r = site_pump_stations(demand, candidates=cand, radius_m=1000, cell_m=1000,
                           budget_vnd=3e9, station_cost_vnd=1.0e9, power=power,
                           line_cost_vnd_per_km=0.8e9, curve_steps=0)
    site = r.sites.iloc[0]
    assert site["connection_length_km"] == pytest.approx(1.5)
    assert site["connection_cost_vnd"] == pytest.approx(1.2e9)
    assert site["cost_vnd"] == pytest.approx(2.2e9)
    assert site["connection_to"] == "L3"
    assert r.ha_per_billion_vnd == pytest.approx(100 / 2.2)


def test_connection_cost_changes_the_choice(three_fields):
    # Two equal sites; the one far from the line is dearer, so the budget picks the near one.
    cand = points(["near", "far"], [(0.5, 0.5), (4.5, 0.5)])
    power = gpd.GeoDataFrame({"power_id": ["L"], "element": ["line"], "phases": [3],
                              "voltage_kv": [22.0]},
                             geometry=[LineString([(X, Y - 1000), (X + 1000, Y - 1000)])],
                             crs=UTM)
    r = site_pump_stations(three_fields, candidates=cand, radius_m=800, cell_m=1000,
                           budget_vnd=2.0e9, station_cost_vnd=1.0e9, power=power,
                           line_cost_vnd_per_km=0.5e9, curve_steps=0)
    assert r.sites["site_id"].tolist() == ["near"]
    assert r.sites["connection_length_km"].iloc[0] == pytest.approx(1.5)


def test_candidates_along_a_canal_at_the_spacing():
    canal = gpd.GeoDataFrame({"canal_id": ["K1"]},
                             geometry=[LineString([(X, Y), (X + 2000, Y)])], crs=UTM)
    c = candidates_along_canals(canal, spacing_m=500)
    assert c["chainage_m"].tolist() == [0.0, 500.0, 1000.0, 1500.0, 2000.0]
    assert [(p.x - X, p.y - Y) for p in c.geometry] == [(0, 0), (500, 0), (1000, 0),
                                                          (1500, 0), (2000, 0)]
    assert c["canal_id"].tolist() == ["K1"] * 5
    assert c.crs == canal.crs


def test_candidates_deduplicated_at_junctions():
    # Two canals meeting at (X+1000, Y): their shared end/start gives one site.
    canals = gpd.GeoDataFrame(
        {"canal_id": ["K1", "K2"]},
        geometry=[LineString([(X, Y), (X + 1000, Y)]),
                  LineString([(X + 1000, Y), (X + 1000, Y + 1000)])], crs=UTM)
    c = candidates_along_canals(canals, spacing_m=500)
    xy = sorted((round(p.x - X), round(p.y - Y)) for p in c.geometry)
    assert xy == [(0, 0), (500, 0), (1000, 0), (1000, 500), (1000, 1000)]
    assert c["site_id"].is_unique


def test_candidates_from_canals_used_by_siting(three_fields):
    canal = gpd.GeoDataFrame({"canal_id": ["K1"]},
                             geometry=[LineString([(X, Y + 500), (X + 5000, Y + 500)])],
                             crs=UTM)
    r = site_pump_stations(three_fields, canals=canal, candidate_spacing_m=500, radius_m=100,
                           cell_m=1000, n_stations=3, curve_steps=0)
    assert r.covered_ha == pytest.approx(300.0)
    assert sorted(r.sites["chainage_m"]) == [500.0, 2500.0, 4500.0]


def test_works_layer_uses_only_canals():
    works = gpd.GeoDataFrame(
        {"work_id": ["K1", "D1"], "work_type": ["canal", "dyke"]},
        geometry=[LineString([(X, Y), (X + 1000, Y)]),
                  LineString([(X, Y + 5000), (X + 1000, Y + 5000)])], crs=UTM)
    c = candidates_along_canals(works, spacing_m=500)
    assert c["canal_id"].tolist() == ["K1", "K1", "K1"]


# --------------------------------------------------------------------------
# Demand cells and the curve
# --------------------------------------------------------------------------


def test_demand_cells_conserve_area_and_count_overlaps_once():
    a = box(X + 100, Y + 100, X + 700, Y + 400)   # 18 ha, not aligned to the grid
    b = box(X + 400, Y + 100, X + 900, Y + 400)   # 15 ha, overlapping a by 9 ha
    cells = demand_cells(gpd.GeoDataFrame(geometry=[a, b], crs=UTM), cell_m=250)
    assert cells["area_ha"].sum() == pytest.approx(18 + 15 - 9)
    assert cells["cell_id"].is_unique
    assert (cells["area_ha"] <= 6.25 + 1e-9).all()


def test_curve_budget_steps_and_last_point(three_fields):
    cand = points(["W", "M", "E"], [(0.5, 0.5), (2.5, 0.5), (4.5, 0.5)],
                  cost=[1.0e9, 2.0e9, 1.0e9])
    r = site_pump_stations(three_fields, candidates=cand, radius_m=800, cell_m=1000,
                           budget_vnd=4.0e9, station_cost_vnd="cost", curve_steps=4)
    assert list(r.curve.columns) == CURVE_COLUMNS
    assert r.curve["budget_vnd"].tolist() == [1.0e9, 2.0e9, 3.0e9, 4.0e9]
    assert r.curve["covered_ha"].tolist() == pytest.approx([100, 200, 200, 300])
    assert r.curve["cost_vnd"].tolist() == pytest.approx([1e9, 2e9, 2e9, 4e9])
    assert r.curve["covered_ha"].iloc[-1] == pytest.approx(r.covered_ha)


def test_curve_keeps_the_point_before_beside_sites_that_serve_nothing(three_fields):
    # The case above with four cheap candidates 20 km away around the real ones (they
    # serve nothing and are left out of the model): the same curve, the same tie kept at
    # 3 bn VND (W + E from the 2 bn point, not a dearer pair), the same sites.
    far = [(20, 20), (20, 25), (25, 20), (25, 25)]
    cand = points(["X1", "W", "X2", "M", "X3", "E", "X4"],
                  [far[0], (0.5, 0.5), far[1], (2.5, 0.5), far[2], (4.5, 0.5), far[3]],
                  cost=[0.1e9, 1.0e9, 0.1e9, 2.0e9, 0.1e9, 1.0e9, 0.1e9])
    r = site_pump_stations(three_fields, candidates=cand, radius_m=800, cell_m=1000,
                           budget_vnd=4.0e9, station_cost_vnd="cost", curve_steps=4)
    assert r.curve["covered_ha"].tolist() == pytest.approx([100, 200, 200, 300])
    assert r.curve["cost_vnd"].tolist() == pytest.approx([1e9, 2e9, 2e9, 4e9])
    assert r.curve["n_sites"].tolist() == [1, 2, 2, 3]
    assert sorted(r.sites["site_id"]) == ["E", "M", "W"]


def test_curve_read_later_from_another_thread_and_after_pickling(three_fields):
    # the curve's points below the budget are solved on their own thread while the
    # caller goes on; reading it from another thread, twice, or after a pickle round
    # trip gives the curve of the known case above
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    cand = points(["W", "M", "E"], [(0.5, 0.5), (2.5, 0.5), (4.5, 0.5)],
                  cost=[1.0e9, 2.0e9, 1.0e9])
    r = site_pump_stations(three_fields, candidates=cand, radius_m=800, cell_m=1000,
                           budget_vnd=4.0e9, station_cost_vnd="cost", curve_steps=4)
    copy = pickle.loads(pickle.dumps(r))
    with ThreadPoolExecutor(2) as pool:
        read = list(pool.map(lambda _: r.curve, range(2)))
    assert read[0] is read[1] is r.curve
    for curve in (r.curve, copy.curve):
        assert curve["covered_ha"].tolist() == pytest.approx([100, 200, 200, 300])
        assert curve["cost_vnd"].tolist() == pytest.approx([1e9, 2e9, 2e9, 4e9])


def test_curve_when_the_result_fits_the_first_budget(three_fields):
    # One site in the middle reaches all three fields (2 km < 2.1 km) for 1 bn VND: the
    # best set at every point of the curve, far below the first budget (2 bn); the
    # points run beside the solve at the budget and again after it, from its set.
    cand = points(["W", "ALL", "E"], [(0.5, 0.5), (2.5, 0.5), (4.5, 0.5)],
                  cost=[1.0e9, 1.0e9, 1.0e9])
    r = site_pump_stations(three_fields, candidates=cand, radius_m=2100, cell_m=1000,
                           budget_vnd=8.0e9, station_cost_vnd="cost", curve_steps=4)
    assert r.sites["site_id"].tolist() == ["ALL"]
    assert r.curve["budget_vnd"].tolist() == [2.0e9, 4.0e9, 6.0e9, 8.0e9]
    assert r.curve["covered_ha"].tolist() == pytest.approx([300] * 4)
    assert r.curve["cost_vnd"].tolist() == pytest.approx([1e9] * 4)
    assert r.curve["n_sites"].tolist() == [1] * 4


def test_curve_without_budget_goes_to_full_cover(three_fields):
    cand = points(["W", "M", "E"], [(0.5, 0.5), (2.5, 0.5), (4.5, 0.5)],
                  cost=[1.0e9, 2.0e9, 1.0e9])
    r = site_pump_stations(three_fields, candidates=cand, radius_m=800, cell_m=1000,
                           n_stations=1, station_cost_vnd="cost", curve_steps=2)
    assert r.curve["budget_vnd"].tolist() == [2.0e9, 4.0e9]
    assert r.curve["covered_ha"].iloc[-1] == pytest.approx(r.reachable_ha)
    # Without costs there is no budget curve.
    r = site_pump_stations(three_fields, candidates=cand, radius_m=800, cell_m=1000,
                           n_stations=1)
    assert r.curve.empty and list(r.curve.columns) == CURVE_COLUMNS


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_budget_below_cheapest_site(three_fields):
    cand = points(["A", "B"], [(0.5, 0.5), (2.5, 0.5)], cost=[1.5e9, 2.0e9])
    with pytest.raises(InfeasibleError, match=r"1,000,000,000 VND is below .* A at "
                                              r"1,500,000,000 VND"):
        site_pump_stations(three_fields, candidates=cand, radius_m=800, cell_m=1000,
                           budget_vnd=1.0e9, station_cost_vnd="cost")


def test_no_candidate_within_reach(three_fields):
    cand = points(["far"], [(0.5, 3.0)])
    with pytest.raises(InfeasibleError, match=r"radius_m=500 m .* 3 demand cell.* nearest is "
                                              r"2,500 m away"):
        site_pump_stations(three_fields, candidates=cand, radius_m=500, cell_m=1000,
                           n_stations=1)


def test_more_stations_than_candidates(three_fields):
    cand = points(["A", "B"], [(0.5, 0.5), (2.5, 0.5)])
    with pytest.raises(InfeasibleError, match=r"n_stations=3 is more than the 2 candidate"):
        site_pump_stations(three_fields, candidates=cand, radius_m=800, n_stations=3)
    with pytest.raises(InfeasibleError, match=r"n_sites=3 is more than the 2 candidates"):
        solve_max_cover([1.0], [[True, False]], n_sites=3)


def test_empty_demand():
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=UTM), crs=UTM)
    with pytest.raises(InfeasibleError, match=r"'demand' has no area to serve"):
        site_pump_stations(empty, candidates=points(["A"], [(0, 0)]), radius_m=500,
                           n_stations=1)


def test_power_without_three_phase_line(three_fields):
    power = gpd.GeoDataFrame({"power_id": ["L1"], "element": ["line"], "phases": [1],
                              "voltage_kv": [0.4]},
                             geometry=[LineString([(X, Y), (X + 1, Y)])], crs=UTM)
    with pytest.raises(InfeasibleError, match=r"no existing three-phase line"):
        site_pump_stations(three_fields, candidates=points(["A"], [(0.5, 0.5)]),
                           radius_m=800, budget_vnd=5e9, station_cost_vnd=1e9, power=power,
                           line_cost_vnd_per_km=1e9)


@pytest.mark.parametrize(("kwargs", "match"), [
    ({}, r"give budget_vnd=, n_stations= or both"),
    ({"budget_vnd": 1e9}, r"budget_vnd needs station_cost_vnd"),
    ({"n_stations": 0}, r"n_stations=0; give a whole number"),
    ({"n_stations": 1.5}, r"n_stations=1.5; give a whole number"),
    ({"budget_vnd": -1.0, "station_cost_vnd": 1e9}, r"budget_vnd=-1.0; give a budget"),
    ({"n_stations": 1, "radius_m": 0}, r"radius_m=0; give a service radius"),
    ({"n_stations": 1, "power": "x"}, r"power= is given but line_cost_vnd_per_km= is not"),
    ({"n_stations": 1, "line_cost_vnd_per_km": 1e9},
     r"line_cost_vnd_per_km= is given but power= is not"),
    ({"n_stations": 1, "station_cost_vnd": "nope"}, r"'nope' names no column of candidates"),
    ({"n_stations": 1, "station_cost_vnd": -5.0}, r"station_cost_vnd is missing, negative"),
    ({"n_stations": 1, "cell_m": 0}, r"cell_m=0; give a cell size"),
    ({"n_stations": 1, "curve_steps": -1}, r"curve_steps=-1"),
])
def test_bad_options(three_fields, kwargs, match):
    kw = {"candidates": points(["A"], [(0.5, 0.5)]), "radius_m": 800, **kwargs}
    with pytest.raises(SchemaError, match=match):
        site_pump_stations(three_fields, **kw)


def test_candidates_or_canals_required(three_fields):
    with pytest.raises(SchemaError, match=r"give candidates= \(points\) or canals="):
        site_pump_stations(three_fields, radius_m=800, n_stations=1)


def test_missing_crs(three_fields):
    with pytest.raises(CRSError, match=r"layer 'demand' has no CRS"):
        site_pump_stations(three_fields.set_crs(None, allow_override=True),
                           candidates=points(["A"], [(0.5, 0.5)]), radius_m=800, n_stations=1)
    cand = points(["A"], [(0.5, 0.5)]).set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"layer 'candidates' has no CRS"):
        site_pump_stations(three_fields, candidates=cand, radius_m=800, n_stations=1)


def test_wrong_geometry_types(three_fields):
    mixed = gpd.GeoDataFrame(geometry=[km_box(0, 0, 1, 1), km_pt(3, 3)], crs=UTM)
    with pytest.raises(GeometryError, match=r"layer 'demand': 1 row\(s\) are not polygons"
                                            r".*or points with a weight column, not a mix"):
        site_pump_stations(mixed, candidates=points(["A"], [(0.5, 0.5)]), radius_m=800,
                           n_stations=1)
    cand = gpd.GeoDataFrame({"site_id": ["A"]}, geometry=[km_box(0, 0, 1, 1)], crs=UTM)
    with pytest.raises(GeometryError, match=r"layer 'candidates': 1 row\(s\) are not points"):
        site_pump_stations(three_fields, candidates=cand, radius_m=800, n_stations=1)
    canals = gpd.GeoDataFrame(geometry=[km_pt(0, 0)], crs=UTM)
    with pytest.raises(GeometryError, match=r"layer 'canals': 1 row\(s\) are not lines"):
        candidates_along_canals(canals)
    with pytest.raises(SchemaError, match=r"candidate_spacing_m=0"):
        candidates_along_canals(canals, spacing_m=0)


def test_solve_max_cover_bad_inputs():
    with pytest.raises(SchemaError, match=r"weights has shape \(2,\) but cover has 1 rows"):
        solve_max_cover([1.0, 2.0], [[True]], n_sites=1)
    with pytest.raises(SchemaError, match=r"budget_vnd needs cost_vnd"):
        solve_max_cover([1.0], [[True]], budget_vnd=1.0)
    with pytest.raises(SchemaError, match=r"weights must be finite and 0 or more"):
        solve_max_cover([-1.0], [[True]], n_sites=1)


# --------------------------------------------------------------------------
# Point demand and set covering: spopt's own San Francisco case
# --------------------------------------------------------------------------


def spopt_data():
    """spopt's test data (tests/test_locate/data of the installed package)."""
    spopt = pytest.importorskip("spopt", reason="spopt is a test extra: pip install spopt pulp")
    from pathlib import Path

    path = Path(spopt.__file__).parent / "tests" / "test_locate" / "data"
    if not (path / "SF_demand_205_centroid_uniform_weight.csv").exists():
        pytest.skip(f"spopt's test data is not installed ({path})")
    return path


@pytest.fixture(scope="module")
def san_francisco():
    """spopt's TestRealWorldLocate: 205 census tracts (POP2000, HOUSEHOLDS) and 16 store
    sites in lon/lat, sorted by NAME as spopt's tests sort them, and its network
    distance matrix (tracts x stores)."""
    path = spopt_data()
    tracts = pd.read_csv(path / "SF_demand_205_centroid_uniform_weight.csv")
    stores = pd.read_csv(path / "SF_store_site_16_longlat.csv")
    tracts = gpd.GeoDataFrame(tracts, geometry=gpd.points_from_xy(tracts.long, tracts.lat),
                              crs=4326).sort_values("NAME").reset_index(drop=True)
    stores = gpd.GeoDataFrame(stores, geometry=gpd.points_from_xy(stores.long, stores.lat),
                              crs=4326).sort_values("NAME").reset_index(drop=True)
    tracts["demand_id"] = tracts["NAME"].astype(str)
    stores["site_id"] = stores["NAME"]
    network = pd.read_csv(path / "SF_network_distance_candidateStore_16_censusTract_205_new.csv")
    matrix = network.pivot_table(values="distance", index="DestinationName", columns="name")
    return tracts, stores, matrix.to_numpy()


def spopt_objective(model):
    pulp = pytest.importorskip("pulp")
    model.solve(pulp.PULP_CBC_CMD(msg=False))
    assert model.problem.status == pulp.LpStatusOptimal
    return pulp.value(model.problem.objective)


SF_UTM = "EPSG:32610"  # UTM 10N: spopt measures straight lines in the CRS it is given


def test_network_case_as_spopt_states_it(san_francisco):
    # spopt test_mclp.py TestRealWorldLocate: service 5000, p = 4, weights POP2000 on the
    # network distances: 21 tracts uncovered, 89.75609756097561 % covered.
    tracts, _, dist = san_francisco
    sol = solve_max_cover(tracts["POP2000"].to_numpy(float), dist <= 5000.0, n_sites=4)
    assert int((~sol.covered).sum()) == 21
    assert 100 * sol.covered.mean() == pytest.approx(89.75609756097561)
    assert sol.selected.sum() == 4


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_set_cover_same_optimum_as_spopt_lscp_on_the_network_case(san_francisco):
    locate = pytest.importorskip("spopt.locate")
    tracts, _, dist = san_francisco
    # 5000 m as spopt's test; then the least radius that reaches every tract.
    for radius in (5000.0, float(dist.min(axis=1).max())):
        expected = spopt_objective(locate.LSCP.from_cost_matrix(dist, radius))
        sol = solve_set_cover(np.ones(len(tracts)), dist <= radius)
        assert sol.selected.sum() == pytest.approx(expected)
        assert sol.covered.all()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("radius", "p"), [(1000.0, 4), (1500.0, 2), (2500.0, 4)])
def test_point_demand_same_optimum_as_spopt_mclp(san_francisco, radius, p):
    # The tracts as weighted points (households), the stores as candidates, straight
    # lines in UTM 10N, as spopt's from_geodataframe measures them in that CRS.
    locate = pytest.importorskip("spopt.locate")
    tracts, stores, _ = san_francisco
    expected = spopt_objective(locate.MCLP.from_geodataframe(
        tracts.to_crs(SF_UTM), stores.to_crs(SF_UTM), "geometry", "geometry", "HOUSEHOLDS",
        service_radius=radius, p_facilities=p))
    result = site_pump_stations(tracts, candidates=stores, radius_m=radius, n_stations=p,
                                weight="HOUSEHOLDS", crs=SF_UTM, curve_steps=0)
    assert result.objective == pytest.approx(expected)
    assert result.covered_ha == pytest.approx(expected)  # in households here
    assert result.demand_unit == "HOUSEHOLDS"
    assert result.demand_ha == tracts["HOUSEHOLDS"].sum()
    assert len(result.sites) == p
    assert result.sites["covered_ha"].sum() == pytest.approx(expected)
    assert list(result.cells.columns[:2]) == ["cell_id", "HOUSEHOLDS"]
    assert set(result.cells["cell_id"]) == set(tracts["demand_id"])


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cover_all_same_optimum_as_spopt_lscp_with_unreachable_reported(san_francisco):
    locate = pytest.importorskip("spopt.locate")
    tracts, stores, _ = san_francisco
    radius = 1200.0
    utm_t, utm_s = tracts.to_crs(SF_UTM), stores.to_crs(SF_UTM)
    d = np.hypot(utm_t.geometry.x.to_numpy()[:, None] - utm_s.geometry.x.to_numpy()[None, :],
                 utm_t.geometry.y.to_numpy()[:, None] - utm_s.geometry.y.to_numpy()[None, :])
    reach = (d <= radius).any(axis=1)
    assert 0 < (~reach).sum() < len(tracts)  # some tracts beyond every store
    # spopt's LSCP is infeasible with them, so it is given only the reachable tracts.
    expected = spopt_objective(locate.LSCP.from_geodataframe(
        utm_t[reach], utm_s, "geometry", "geometry", service_radius=radius))
    result = site_pump_stations(tracts, candidates=stores, radius_m=radius, cover_all=True,
                                weight="HOUSEHOLDS", crs=SF_UTM)
    assert len(result.sites) == pytest.approx(expected)
    assert result.status == "Optimal"
    assert result.covered_ha == pytest.approx(tracts["HOUSEHOLDS"][reach].sum())
    lost = result.unreachable
    assert set(lost["cell_id"]) == set(tracts["demand_id"][~reach])
    assert lost["HOUSEHOLDS"].sum() == pytest.approx(tracts["HOUSEHOLDS"][~reach].sum())
    assert result.unreachable_ha == pytest.approx(tracts["HOUSEHOLDS"][~reach].sum())
    nearest = dict(zip(tracts["demand_id"], d.min(axis=1), strict=True))
    assert lost["nearest_candidate_m"].to_numpy() == pytest.approx(
        [nearest[i] for i in lost["cell_id"]], rel=1e-6)
    # The cost curve, without costs, is empty; every cell is new, none or existing.
    assert result.curve.empty
    assert set(result.cells["served_by"]) <= {"new", "none"}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_cover_all_keeps_existing_stations_as_spopt_predefined_facilities(san_francisco):
    # spopt's LSCP with a predefined facility counts it in its objective; geoagri's
    # existing station is free and not counted, so one less.
    locate = pytest.importorskip("spopt.locate")
    tracts, stores, _ = san_francisco
    utm_s = stores.to_crs(SF_UTM)
    # The least radius (to the metre above) at which every tract is within reach.
    radius = float(np.ceil(tracts.to_crs(SF_UTM).geometry.apply(
        lambda p: utm_s.distance(p).min()).max()))
    utm_s["predefined"] = (utm_s["site_id"] == "Store_7").astype(int)
    expected = spopt_objective(locate.LSCP.from_geodataframe(
        tracts.to_crs(SF_UTM), utm_s, "geometry", "geometry", service_radius=radius,
        predefined_facility_col="predefined"))
    result = site_pump_stations(tracts, candidates=stores[stores["site_id"] != "Store_7"],
                                existing=stores[stores["site_id"] == "Store_7"],
                                radius_m=radius, cover_all=True, crs=SF_UTM)
    assert len(result.sites) == pytest.approx(expected - 1)
    assert result.demand_unit == "n_points"
    assert result.existing_covered_ha + result.covered_ha == len(tracts)
    assert result.unreachable.empty


# --------------------------------------------------------------------------
# Set covering: brute force, costs, hand-made points
# --------------------------------------------------------------------------


def brute_force_cover(cover, cost):
    """Least cost of a subset of columns covering every coverable row."""
    n = cover.shape[1]
    need = cover.any(axis=1)
    best = np.inf
    for k in range(n + 1):
        for subset in itertools.combinations(range(n), k):
            s = list(subset)
            if cover[need][:, s].any(axis=1).all():
                best = min(best, float(cost[s].sum()))
    return best


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cover_all_matches_brute_force(seed):
    demand, cand, _, dist = random_instance(seed, n_cand=10)
    cost = cand["cost"].to_numpy()
    result = site_pump_stations(demand, candidates=cand, radius_m=400, cover_all=True,
                                station_cost_vnd="cost", cell_m=250, curve_steps=0)
    assert result.cost_vnd == pytest.approx(brute_force_cover(dist <= 400, cost))
    assert result.covered_ha == pytest.approx(result.reachable_ha)
    fewest = site_pump_stations(demand, candidates=cand, radius_m=400, cover_all=True,
                                cell_m=250, curve_steps=0)
    assert len(fewest.sites) == brute_force_cover(dist <= 400, np.ones(10))
    rng = np.random.default_rng(seed)
    cover = rng.random((25, 8)) < 0.25
    assert solve_set_cover(np.ones(25), cover, cost_vnd=cost[:8]).cost_vnd == \
        pytest.approx(brute_force_cover(cover, cost[:8]))


def test_cover_all_curve_ends_at_the_cover_cost(three_fields):
    cand = points(["W", "M", "E"], [(0.5, 0.5), (2.5, 0.5), (4.5, 0.5)],
                  cost=[1.0e9, 2.0e9, 1.5e9])
    result = site_pump_stations(three_fields, candidates=cand, radius_m=800, cover_all=True,
                                station_cost_vnd="cost", cell_m=1000, curve_steps=3)
    assert result.cost_vnd == 4.5e9 and result.covered_ha == 300.0
    assert result.curve["budget_vnd"].iloc[-1] == pytest.approx(4.5e9)
    assert result.curve["covered_ha"].iloc[-1] == 300.0


def test_weighted_villages_hand_made():
    # Four villages (households); two candidates 2 km apart, radius 1 km; an existing
    # station serves village D; village C lies 3 km from everything.
    villages = gpd.GeoDataFrame(
        {"demand_id": ["A", "B", "C", "D"], "households": [120, 80, 45, 60]},
        geometry=[km_pt(0, 0.5), km_pt(2, 0.5), km_pt(6, 6), km_pt(-3, 0)], crs=UTM)
    cand = points(["S1", "S2"], [(0, 0), (2, 0)])
    pumps = points(["P"], [(-3, 0.2)])
    best = site_pump_stations(villages, candidates=cand, existing=pumps, radius_m=1000,
                              n_stations=1, weight="households", curve_steps=0)
    assert best.sites["site_id"].tolist() == ["S1"] and best.covered_ha == 120
    assert best.existing_covered_ha == 60 and best.reachable_ha == 200
    assert best.unreachable["cell_id"].tolist() == ["C"]
    assert best.unreachable["households"].tolist() == [45]
    assert best.unreachable["nearest_candidate_m"].iloc[0] == pytest.approx(math.hypot(4, 6) * 1000)
    every = site_pump_stations(villages, candidates=cand, existing=pumps, radius_m=1000,
                               cover_all=True, weight="households", curve_steps=0)
    assert sorted(every.sites["site_id"]) == ["S1", "S2"] and every.covered_ha == 200
    assert every.unreachable_ha == 45
    served = dict(zip(every.cells["cell_id"], every.cells["served_by"], strict=True))
    assert served == {"A": "new", "B": "new", "C": "none", "D": "existing"}


def test_point_demand_errors(three_fields):
    villages = gpd.GeoDataFrame({"households": [10, -1, "x"]},
                                geometry=[km_pt(0, 0), km_pt(1, 0), km_pt(2, 0)], crs=UTM)
    cand = points(["S"], [(0, 0)])
    with pytest.raises(SchemaError, match=r"column 'households': 2 row\(s\) are missing, "
                                          r"negative or not numbers \[1, 2\]"):
        site_pump_stations(villages, candidates=cand, radius_m=500, n_stations=1,
                           weight="households")
    with pytest.raises(SchemaError, match=r"weight='hh' names no column of layer 'demand'"):
        site_pump_stations(villages, candidates=cand, radius_m=500, n_stations=1, weight="hh")
    with pytest.raises(SchemaError, match=r"weight='field' is for point demand"):
        site_pump_stations(three_fields, candidates=cand, radius_m=500, n_stations=1,
                           weight="field")
    with pytest.raises(SchemaError, match=r"cover_all=True .* takes no budget_vnd= or"):
        site_pump_stations(three_fields, candidates=cand, radius_m=500, n_stations=1,
                           cover_all=True)
    with pytest.raises(SchemaError, match=r"weights has shape \(2,\) but cover has 1 rows"):
        solve_set_cover([1.0, 2.0], [[True]])


@pytest.fixture
def coarse_demo(tmp_path):
    """A copy of the demo plan with coarse siting settings (1 km cells, candidates every
    2 km, 2.5 km radius) and no budget, so that set covering solves in seconds."""
    import shutil

    from geoagri.datasets import demo_plan_path

    src = demo_plan_path()
    shutil.copytree(src.parent.parent, tmp_path / "d")
    plan = tmp_path / "d" / src.parent.name / "plan.toml"
    text = plan.read_text(encoding="utf-8")
    assert "budget_vnd = 4_400_000_000" in text
    plan.write_text(text.replace("budget_vnd = 4_400_000_000", "cell_m = 1000\n"
                                 "candidate_spacing_m = 2000\nsite_radius_m = 2500"),
                    encoding="utf-8")
    return plan


def test_site_cover_all_command(coarse_demo, tmp_path, capsys):
    from geoagri.cli import main
    from geoagri.infrastructure import infrastructure
    from geoagri.plan import read_plan

    res = infrastructure(read_plan(coarse_demo), cover_all=True, curve_steps=2).siting
    assert res.status == "Optimal"
    assert res.covered_ha == pytest.approx(res.reachable_ha)  # every reachable ha served
    assert res.curve["cost_vnd"].iloc[-1] == pytest.approx(res.cost_vnd)
    assert main(["site", str(coarse_demo), "--cover-all", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert f"proposals: {len(res.sites)} pump stations" in out
    assert f"{res.covered_ha:,.0f} ha served" in out
    proposals = pd.read_csv(tmp_path / "o" / "tables" / "appendix_4_proposals.csv")
    assert len(proposals) == len(res.sites)
    # Without --cover-all and without a budget the plan has nothing to limit the sites.
    assert main(["site", str(coarse_demo), "--out", str(tmp_path / "p")]) == 1


def test_solved_on_highs_own_threads_when_something_else_set_them_first():
    # geoagri asks HiGHS for one thread (its idle workers spin); HiGHS's thread count is
    # fixed by the first solve in a process, and another count is then refused: a
    # process where something else solved first with 2 threads still gets the optimum.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import highspy, numpy as np
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 2)
        h.addVars(1, np.zeros(1), np.ones(1))
        assert h.run() == highspy.HighsStatus.kOk
        from geoagri.siting import solve_max_cover, solve_set_cover
        cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
        sol = solve_max_cover([7.0, 1.0, 1.0, 4.0], cover, n_sites=2)
        print(sol.selected.tolist(), sol.objective, sol.status)
        sol = solve_max_cover([7.0, 1.0, 1.0, 4.0], cover, cost_vnd=[3e9, 1e9, 2e9],
                              budget_vnd=3e9)
        print(sol.selected.tolist(), sol.objective, sol.status)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[-2:] == ["[True, False, True] 13.0 Optimal", "[True, False, False] 8.0 Optimal"]
