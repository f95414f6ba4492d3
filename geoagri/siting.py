"""Siting pump stations: budgeted maximal covering and set covering, solved exactly with HiGHS.

:func:`site_pump_stations` chooses where new pump stations go so that they
serve as many hectares of unserved rice land as possible, within a budget in
VND, or with a given number of stations, or both; or, with ``cover_all``, the
least-cost stations that serve all of it that can be reached:

1. **Demand.** The polygons to serve (typically the gaps layer of
   :mod:`geoagri.coverage`) are cut into square cells of ``cell_m`` on a grid
   aligned to multiples of ``cell_m`` in the metric CRS (:func:`demand_cells`).
   A cell's weight is its exact area in ha (overlapping demand polygons
   counted once); its demand point is a point on its surface (the centre of a
   whole cell).  Demand may instead be **points** (villages, households,
   field centroids), each one row weighted by its ``weight`` column (ha,
   households, m³; 1 each without one), as spopt takes it.
2. **Candidates** are the given points, or points along the canals every
   ``candidate_spacing_m`` (:func:`candidates_along_canals`).
3. **Coverage.** A site covers a cell when the straight-line distance from the
   site to the cell's demand point is at most ``radius_m`` (the rule of spopt's
   MCLP, ``d <= S``).  Cells already within ``radius_m`` of an existing station
   are served at no cost: they are reported as ``existing_covered_ha`` and left
   out of the optimisation.
4. **Cost** of a site: ``station_cost_vnd`` plus, when a power layer and
   ``line_cost_vnd_per_km`` are given, a three-phase connection: the
   straight-line distance to the nearest existing three-phase line ×
   ``line_cost_vnd_per_km``.  This is a lower bound of the cost of a real
   line; :mod:`geoagri.routing` routes the lines of the chosen sites along
   least-cost paths and refines it.
5. **Model** (Church & ReVelle's maximal covering location problem, with a
   budget; :func:`solve_max_cover`): maximise Σ wᵢ yᵢ subject to
   yᵢ ≤ Σ_{j covers i} xⱼ, Σ cⱼ xⱼ ≤ budget and/or Σ xⱼ = p, with xⱼ binary
   and 0 ≤ yᵢ ≤ 1.  Cells covered by the same set of candidates are merged
   first (their weights added).  With a budget or an upper limit on the
   count, candidates that cover no cell are left out (they cannot add to the
   objective, and a chosen one would be dropped as redundant anyway), and so
   are candidates another one dominates (it covers all their cells and costs
   no more: put in their place it keeps a solution feasible and covers as
   much); a cell only one candidate covers becomes a term wᵢ xⱼ of the
   objective.  None of this changes the optimum.  HiGHS solves the model to a
   zero optimality gap, started from a good solution (the greedy by weight
   per VND, improved by swaps, or the curve's point before when it is as
   good) so that a light presolve and its reduced costs leave it few
   candidates to branch on; a start as good as HiGHS's answer is kept.
6. **Set covering** (``cover_all``; Toregas et al.'s location set covering
   problem, spopt's LSCP; :func:`solve_set_cover`): minimise Σ cⱼ xⱼ (Σ xⱼ
   without costs) subject to Σ_{j covers i} xⱼ ≥ 1 for every cell that some
   candidate reaches and no existing station serves.  Cells no candidate
   reaches cannot be served: they are reported (``unreachable``, with the
   distance to the nearest candidate) instead of making the model
   infeasible.  Rows whose candidates include all of another row's are
   dropped too (covering the smaller row covers them).

Examples
--------
Two cells of 1 km² (100 ha each) 2 km apart, one candidate next to each, the
eastern one dearer; a budget that pays for one station takes the cheap one:

>>> import geopandas as gpd
>>> from shapely.geometry import Point, box
>>> x, y = 500_000, 1_200_000   # UTM 48N: 1 km² = 100 ha
>>> demand = gpd.GeoDataFrame(geometry=[box(x, y, x + 1000, y + 1000),
...                                     box(x + 2000, y, x + 3000, y + 1000)],
...                           crs="EPSG:32648")
>>> candidates = gpd.GeoDataFrame(
...     {"site_id": ["W", "E"], "station_cost_vnd": [1.0e9, 1.5e9]},
...     geometry=[Point(x + 500, y + 500), Point(x + 2500, y + 500)], crs="EPSG:32648")
>>> result = site_pump_stations(demand, candidates=candidates, radius_m=800,
...                             cell_m=1000, station_cost_vnd="station_cost_vnd",
...                             budget_vnd=1.2e9, curve_steps=0)
>>> result.sites[["site_id", "cost_vnd", "covered_ha"]]
  site_id      cost_vnd  covered_ha
0       W  1.000000e+09       100.0
>>> result.covered_ha, result.demand_ha, result.ha_per_billion_vnd
(100.0, 200.0, 100.0)
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy import sparse

from geoagri._engine.threads import n_threads, parallel, prepared_copies
from geoagri._engine.union import union_clusters
from geoagri._polygonal import polygonal
from geoagri._power import three_phase_lines
from geoagri.crs import metric_crs, require_layer
from geoagri.errors import GeometryError, InfeasibleError, OptionError, SchemaError

__all__ = [
    "CoverSolution",
    "SitingResult",
    "candidates_along_canals",
    "demand_cells",
    "site_pump_stations",
    "solve_max_cover",
    "solve_set_cover",
]

log = logging.getLogger("geoagri")

#: Columns of :attr:`SitingResult.sites` that the function computes.
SITE_COLUMNS = ["site_id", "cost_vnd", "station_cost_vnd", "connection_cost_vnd",
                "connection_length_km", "connection_to", "covered_ha", "sole_covered_ha",
                "n_cells", "ha_per_billion_vnd"]
#: Columns of :attr:`SitingResult.curve`.
CURVE_COLUMNS = ["budget_vnd", "covered_ha", "cost_vnd", "n_sites", "ha_per_billion_vnd"]

_BILLION = 1.0e9
_SQM_PER_HA = 10_000.0


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverSolution:
    """Solution of :func:`solve_max_cover`.

    Attributes
    ----------
    selected : ndarray of bool, shape (n,)
        Which candidates are chosen.
    covered : ndarray of bool, shape (m,)
        Which demand rows are covered by a chosen candidate.
    objective : float
        Covered weight, Σ wᵢ over covered rows (recomputed from ``selected``).
    cost_vnd : float
        Σ cⱼ over chosen candidates (0 when no costs were given).
    status : str
        HiGHS model status, e.g. ``"Optimal"`` or ``"Time limit reached"``.
    mip_gap : float
        Relative gap HiGHS proved (0 when optimal).
    """

    selected: np.ndarray
    covered: np.ndarray
    objective: float
    cost_vnd: float
    status: str
    mip_gap: float


@dataclass(frozen=True)
class SitingResult:
    """Result of :func:`site_pump_stations`.

    Attributes
    ----------
    sites : GeoDataFrame
        The chosen candidates, in the demand's CRS, with the candidates' own
        columns and: ``site_id``; ``cost_vnd`` = ``station_cost_vnd`` +
        ``connection_cost_vnd``; ``connection_length_km`` (straight line to the
        nearest existing three-phase line, 0 without a power layer);
        ``connection_to`` (its ``power_id``); ``covered_ha``, the newly served
        area assigned to this site (each newly covered cell goes to its nearest
        chosen site, so the column sums to :attr:`covered_ha`);
        ``sole_covered_ha``, the area no other chosen or existing station
        serves (what is lost if this site is dropped); ``n_cells``;
        ``ha_per_billion_vnd``.
    cells : GeoDataFrame
        The demand cells, in the demand's CRS: ``cell_id``, ``area_ha``,
        ``served_by`` (``"existing"``, ``"new"`` or ``"none"``), ``site_id``
        (nearest chosen site of a newly served cell), ``reachable`` (within
        ``radius_m`` of some candidate or existing station).
    curve : DataFrame
        Hectares newly served against budget: ``budget_vnd``, ``covered_ha``,
        ``cost_vnd`` (spent), ``n_sites``, ``ha_per_billion_vnd``; one row per
        step (see ``curve_steps`` of :func:`site_pump_stations`).
    covered_ha : float
        Area newly served by the chosen sites, ha.
    existing_covered_ha : float
        Demand area already within ``radius_m`` of an existing station, ha.
    reachable_ha : float
        Demand area not served by existing stations but within ``radius_m``
        of some candidate: the most any choice can serve, ha.
    demand_ha : float
        Total demand area, ha.
    cost_vnd : float
        Total cost of the chosen sites, VND.
    ha_per_billion_vnd : float
        ``covered_ha`` per billion VND spent (NaN when nothing is spent).
    objective : float
        The optimum HiGHS reached: covered weight in ha.
    status : str
        HiGHS model status (``"Optimal"``), or ``"Nothing to serve"`` when
        existing stations already serve all demand.
    budget_vnd, n_stations, radius_m : float, int or None
        The options the result answers.
    metric_crs : pyproj.CRS
        The CRS distances were measured in.
    unreachable : DataFrame
        The demand no existing station serves and no candidate reaches:
        ``cell_id``, its weight (``area_ha``, or the point demand's weight
        column) and ``nearest_candidate_m``, the distance to the nearest
        candidate (how far ``radius_m`` falls short).
    demand_unit : str
        ``"ha"`` for polygon demand; for point demand the weight column's
        name (e.g. ``"households"``), or ``"n_points"`` without one.  Every
        ``*_ha`` figure and column above is then in that unit.
    unreachable_ha : float
        Σ of ``unreachable``'s weights: ``demand_ha`` − ``existing_covered_ha``
        − ``reachable_ha``.
    """

    sites: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    _curve: pd.DataFrame | _PendingCurve = field(repr=False)
    covered_ha: float
    existing_covered_ha: float
    reachable_ha: float
    demand_ha: float
    cost_vnd: float
    ha_per_billion_vnd: float
    objective: float
    status: str
    budget_vnd: float | None
    n_stations: int | None
    radius_m: float
    metric_crs: CRS = field(repr=False)
    unreachable: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    demand_unit: str = "ha"

    @property
    def curve(self) -> pd.DataFrame:
        """Hectares newly served against budget (see the class docstring).

        Its points below the budget are solved on a thread of their own while
        the caller goes on (a report, a map); the first read waits for them.
        """
        if isinstance(self._curve, _PendingCurve):
            object.__setattr__(self, "_curve", self._curve.result())
        return self._curve

    def __getstate__(self) -> dict:
        """Pickled with its curve solved."""
        return {**self.__dict__, "_curve": self.curve}

    def __setstate__(self, state: dict) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)

    @property
    def unreachable_ha(self) -> float:
        """Demand neither served by existing stations nor within reach of a candidate."""
        return float(self.demand_ha - self.existing_covered_ha - self.reachable_ha)


# --------------------------------------------------------------------------
# HiGHS
# --------------------------------------------------------------------------

_BANNER_LOCK = threading.Lock()
_BANNER_SHOWN = False


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence the C-level stdout (HiGHS prints a banner on its first construction)."""
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):
        yield
        return
    libc = None
    with contextlib.suppress(OSError):
        libc = ctypes.CDLL(None)
    try:
        with open(os.devnull, "w") as devnull:
            if libc is not None:
                libc.fflush(None)
            os.dup2(devnull.fileno(), fd)
            try:
                yield
            finally:
                if libc is not None:
                    libc.fflush(None)
                os.dup2(saved, fd)
    finally:
        os.close(saved)


def _highs(time_limit_s: float | None) -> Any:
    """A silent HiGHS instance that solves MIPs to a zero gap."""
    global _BANNER_SHOWN
    try:
        import highspy
    except ImportError as exc:  # pragma: no cover - highspy is a dependency
        raise ImportError("site_pump_stations needs the HiGHS solver; install it with "
                          "'pip install highspy'") from exc
    with _BANNER_LOCK:
        if _BANNER_SHOWN:
            h = highspy.Highs()
        else:
            with _quiet_stdout():
                h = highspy.Highs()
            _BANNER_SHOWN = True
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)  # see _run
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 1e-9)
    # The model is reduced before it reaches HiGHS (merged rows, dropped empty ones);
    # HiGHS's own MIP presolve then spends most of the time probing (seconds on a
    # district with a thousand candidates) for little gain.
    h.setOptionValue("presolve", "off")
    if time_limit_s is not None:
        h.setOptionValue("time_limit", float(time_limit_s))
    return h


def _run(h: Any) -> None:
    """Solve, on HiGHS's one thread (:func:`_highs`), or on the threads it already runs.

    HiGHS's worker threads spin while they wait for work.  Its MIP search on these
    models is sequential, so beside the rest of a run on two cores they only took
    CPU from it: about 0.6 s of 5.3 s in a province's scenario, with the same
    answers.  The thread count is fixed by the first solve in the process; when
    something else solved first with other threads, HiGHS refuses the setting, and
    the model is solved with the threads it has.
    """
    import highspy

    if (h.run() == highspy.HighsStatus.kError
            and h.getModelStatus() == highspy.HighsModelStatus.kNotset):
        h.setOptionValue("threads", 0)  # the scheduler's own count
        h.run()


def _aggregate(cover: sparse.csr_matrix, weights: np.ndarray
               ) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Drop rows nobody covers or of no weight; merge rows covered by the same set.

    Returns the reduced matrix, its weights and, for every input row, its row
    in the reduced matrix (-1 when dropped).
    """
    m, n = cover.shape
    lengths = np.diff(cover.indptr)
    keep = np.flatnonzero((lengths > 0) & (weights > 0))
    group = np.full(m, -1, dtype=np.int64)
    if keep.size == 0:
        return sparse.csr_matrix((0, n), dtype=bool), np.zeros(0), group
    sub = cover[keep]
    sub.sort_indices()
    # Two random 64-bit hashes of each row's candidate set, plus its length.
    rng = np.random.default_rng(20_250_701)
    r1 = rng.integers(1, 2**63, n, dtype=np.uint64)
    r2 = rng.integers(1, 2**63, n, dtype=np.uint64)
    starts = sub.indptr[:-1]
    h1 = np.add.reduceat(r1[sub.indices], starts)
    h2 = np.add.reduceat(r2[sub.indices], starts)
    sub_len = np.diff(sub.indptr).astype(np.uint64)
    key = np.column_stack([sub_len, h1, h2])
    _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    # Verify exactly that every row equals its group's first row.
    rep = first[inverse]
    row_len = np.diff(sub.indptr)
    offsets = np.arange(sub.indices.size) - np.repeat(sub.indptr[:-1], row_len)
    rows = np.repeat(np.arange(sub.shape[0]), row_len)
    same = sub.indices == sub.indices[sub.indptr[rep[rows]] + offsets]
    if not same.all():  # pragma: no cover - a hash collision, ~2^-128
        log.debug("siting: row hashes collided; demand cells not merged")
        group[keep] = np.arange(keep.size)
        return sub, weights[keep].astype(float), group
    agg = sub[first]
    agg_w = np.bincount(inverse, weights=weights[keep], minlength=first.size)
    group[keep] = inverse
    return agg, agg_w, group


class _CoverModel:
    """The covering MIP in a HiGHS instance, re-solvable at other budgets and counts.

    Columns: x (the candidates, binary), then y (m merged demand rows, [0, 1]).
    Rows: m coverage rows yᵢ − Σ xⱼ ≤ 0, a budget row Σ cⱼ xⱼ, a count row Σ xⱼ.

    With ``idle=False`` the candidates that cover no row are left out of the
    model (:func:`_active_columns`): solved with a budget or an upper limit on
    the count, a site that serves nothing never raises the covered weight, and
    :func:`_drop_redundant` would remove it from any answer anyway.  So are the
    candidates another one dominates (:func:`_undominated_columns`), the rows
    merged again over the candidates left, and the rows only one candidate
    covers folded into its objective weight (:func:`_fold_single_rows`); each
    solve then starts from the better of the solve before and
    :func:`_greedy_cover`, under a light presolve, and only on the candidates
    the LP relaxation at that budget leaves open (:meth:`_open_columns`).
    Solutions and warm starts are in the full candidate index either way.
    Solving for an exact count needs every candidate (``idle=True``): an
    optimum may have to fill the count with sites that serve nothing.
    """

    def __init__(self, cover: sparse.csr_matrix, weights: np.ndarray,
                 cost_vnd: np.ndarray | None, time_limit_s: float | None, *,
                 idle: bool = False, fixing: bool = True):
        import highspy

        self.cover = cover
        self.weights = weights
        self.cost = cost_vnd
        self.time_limit_s = time_limit_s
        self.n_all = cover.shape[1]
        self.idle = idle
        self.fixing = fixing and not idle
        self._lp: Any = None  # the LP relaxation, kept warm between solves (_open_columns)
        self.cols = np.arange(self.n_all) if idle else _undominated_columns(cover, cost_vnd)
        site_w = np.zeros(self.cols.size)
        if self.cols.size < self.n_all:
            cover = cover[:, self.cols].tocsr()
            cover.sort_indices()
            if cost_vnd is not None:
                cost_vnd = np.asarray(cost_vnd)[self.cols]
            cover, weights, _ = _aggregate(cover, weights)
        if not idle:
            cover, weights, site_w = _fold_single_rows(cover, weights)
        m, n = cover.shape
        self.m, self.n = m, n
        self._rows = cover.astype(np.float64)
        self._cols_csc = self._rows.tocsc()
        self._row_w, self._site_w = np.asarray(weights, np.float64), site_w
        self._cost = np.zeros(n) if cost_vnd is None else np.asarray(cost_vnd, np.float64)
        log.debug("siting: covering model of %d merged demand rows × %d candidates (%d left "
                  "out: they cover nothing)", m, n, self.n_all - n)
        self.h = _highs(time_limit_s)
        # The root LP by interior point (IPX, then crossover to a basis): the dual simplex
        # took ~5,000 degenerate iterations on it, most of a solve (1.0 s of 1.3 s on the demo).
        self.h.setOptionValue("mip_lp_solver", "ipx")
        if not idle:
            # With a budget, a light presolve (no probing) lets HiGHS restart on the few
            # candidates its reduced costs leave open, once a good solution is known.
            self.h.setOptionValue("presolve", "on")
            self.h.setOptionValue("presolve_mode", 2)
        ncol = n + m
        col_cost = np.concatenate([site_w, weights]).astype(np.float64)
        col_lower = np.zeros(ncol)
        col_upper = np.ones(ncol)
        # Coverage rows: -1 for each covering x, then +1 for y (appended at each row's end).
        idx = np.insert(cover.indices.astype(np.int32), cover.indptr[1:],
                        (n + np.arange(m)).astype(np.int32))
        val = np.insert(-np.ones(cover.indices.size), cover.indptr[1:], np.ones(m))
        start = (cover.indptr[:-1] + np.arange(m)).astype(np.int32)
        # Budget and count rows; the budget row is scaled to O(1) coefficients (HiGHS
        # struggles with 1e9-sized ones).
        cost = np.zeros(n) if cost_vnd is None else np.asarray(cost_vnd, dtype=np.float64)
        self.scale = float(cost.max()) if cost.size and cost.max() > 0 else 1.0
        cost = cost / self.scale
        start = np.concatenate([start, np.array([idx.size, idx.size + n], dtype=np.int32)])
        idx = np.concatenate([idx, np.arange(n, dtype=np.int32), np.arange(n, dtype=np.int32)])
        val = np.concatenate([val, cost, np.ones(n)])
        inf = highspy.kHighsInf
        row_lower = np.full(m + 2, -inf)
        row_upper = np.concatenate([np.zeros(m), [inf, inf]])
        integrality = np.concatenate([np.ones(n), np.zeros(m)]).astype(np.int32)
        self.h.passModel(ncol, m + 2, int(idx.size), int(highspy.MatrixFormat.kRowwise),
                         int(highspy.ObjSense.kMaximize), 0.0, col_cost, col_lower, col_upper,
                         row_lower, row_upper, start, idx, val.astype(np.float64), integrality)
        self._inf = inf
        self._last: np.ndarray | None = None

    def solve(self, *, budget_vnd: float | None, n_sites: int | None,
              exact_count: bool) -> tuple[np.ndarray, str, float]:
        """Solve; return chosen candidates, the model status and the proved gap."""
        h, inf, m = self.h, self._inf, self.m
        if exact_count and not self.idle:
            raise AssertionError("an exact count needs every candidate (idle=True)")
        h.changeRowBounds(m, -inf, inf if budget_vnd is None else float(budget_vnd) / self.scale)
        if n_sites is None:
            h.changeRowBounds(m + 1, -inf, inf)
        elif exact_count:
            h.changeRowBounds(m + 1, float(n_sites), float(n_sites))
        else:
            h.changeRowBounds(m + 1, -inf, float(n_sites))
        start = None if self._last is None else self._last[self.cols]
        if start is not None and not self._fits(start, budget_vnd, n_sites, exact_count):
            start = None  # HiGHS would ignore it
        if budget_vnd is not None and not exact_count:
            # A good start lets HiGHS fix most candidates by their reduced costs at the
            # root; the solve before is kept when the heuristic is not strictly better.
            good = _greedy_cover(self._cols_csc, self._row_w, self._site_w, self._cost,
                                 float(budget_vnd), n_sites)
            if start is None or self._value(good) > self._value(start):
                start = good
        if budget_vnd is not None and not exact_count and self.fixing and start is not None:
            keep = self._open_columns(budget_vnd, n_sites, self._value(start))
            if keep is not None and keep.size < self.n:
                return self._solve_open(keep, start, budget_vnd, n_sites)
        if start is not None:  # a warm start; HiGHS ignores it if infeasible
            # Given whole (with the rows it serves), HiGHS need not solve an LP for them.
            y = np.minimum(self._rows @ start, 1.0)
            with contextlib.suppress(Exception):
                h.setSolution(int(self.n + self.m), np.arange(self.n + self.m, dtype=np.int32),
                              np.concatenate([start, y]).astype(np.float64))
        _run(h)
        status = h.modelStatusToString(h.getModelStatus())
        info = h.getInfo()
        if status not in ("Optimal", "Time limit reached", "Iteration limit reached"):
            raise InfeasibleError(f"HiGHS could not solve the siting model: status {status!r}")
        found = (np.asarray(h.getSolution().col_value[: self.n]) > 0.5).astype(float)
        if start is not None and self._value(found) <= self._value(start) + 1e-9:
            found = start  # a start as good as the answer is kept (presolve may swap it)
        x = np.zeros(self.n_all, dtype=bool)
        x[self.cols] = found > 0.5
        if status != "Optimal":
            log.warning("siting: HiGHS stopped early (%s) with a gap of %.3g%%; the sites are "
                        "feasible but may not be optimal", status, 100 * info.mip_gap)
        self._last = x.astype(float)
        gap = 0.0 if status == "Optimal" else float(info.mip_gap)
        return x, status, gap

    def _open_columns(self, budget_vnd: float, n_sites: int | None, value: float
                      ) -> np.ndarray | None:
        """The model's candidates an answer covering at least ``value`` may hold.

        Reduced-cost fixing, done before the MIP rather than at its root: the LP
        relaxation at this budget (one HiGHS LP per model, warm from the budget
        before: a few dozen simplex iterations) bounds every answer ``x`` by
        z + Σⱼ dⱼ (xⱼ − xⱼ*), each term of which is ≤ 0 at the LP's optimum.  A
        candidate at 0 there with z + dⱼ below ``value`` (the warm start's) is in
        no answer as good as the start, so it is left out.  On a province the
        LP leaves 12–25 % of the 1,400 candidates, and the five solves of its
        curve and budget take 1.0–1.2 s instead of 2.0–2.1 s (HiGHS spent 0.2 s a
        solve on the whole model's root), the same optima.  None when the LP is
        not solved.
        """
        import highspy

        if self._lp is None:
            lp = self.h.getLp()
            lp.integrality_ = []
            self._lp = _highs(None)
            self._lp.passModel(lp)
        h, inf, m = self._lp, self._inf, self.m
        h.changeRowBounds(m, -inf, float(budget_vnd) / self.scale)
        h.changeRowBounds(m + 1, -inf, inf if n_sites is None else float(n_sites))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        z = float(h.getInfo().objective_function_value)
        sol = h.getSolution()
        x = np.asarray(sol.col_value[: self.n])
        d = np.asarray(sol.col_dual[: self.n])  # ≤ 0 at the lower bound (maximisation)
        slack = 1e-6 * max(1.0, abs(z))  # the LP's tolerances, with room to spare
        out = (x <= 1e-9) & (z + np.minimum(d, 0.0) < value - slack)
        return np.flatnonzero(~out)

    def _solve_open(self, keep: np.ndarray, start: np.ndarray, budget_vnd: float,
                    n_sites: int | None) -> tuple[np.ndarray, str, float]:
        """The model on its open candidates alone (:meth:`_open_columns`): rows merged
        and folded again over them, solved from ``start``; the answer in the full
        candidate index."""
        cols = self.cols[keep]
        cover = self.cover[:, cols].tocsr()
        cover.sort_indices()
        cover, weights, _ = _aggregate(cover, self.weights)
        sub = _CoverModel(cover, weights, None if self.cost is None
                          else np.asarray(self.cost)[cols], self.time_limit_s, fixing=False)
        sub._last = np.asarray(start, dtype=float)[keep]
        chosen, status, gap = sub.solve(budget_vnd=budget_vnd, n_sites=n_sites,
                                        exact_count=False)
        x = np.zeros(self.n_all, dtype=bool)
        x[cols[chosen]] = True
        self._last = x.astype(float)
        return x, status, gap

    def _fits(self, x: np.ndarray, budget_vnd: float | None, n_sites: int | None,
              exact_count: bool) -> bool:
        """Whether a choice ``x`` of the model's candidates keeps the budget and count."""
        count = round(float(x.sum()))
        return ((budget_vnd is None or float(self._cost @ x) <= budget_vnd * (1 + 1e-12))
                and (n_sites is None or count == n_sites or (count < n_sites
                                                             and not exact_count)))

    def _value(self, x: np.ndarray) -> float:
        """Covered weight of a choice ``x`` of the model's candidates."""
        return float(self._site_w @ x + self._row_w @ np.minimum(self._rows @ x, 1.0))

    def min_cost_full_cover(self) -> float:
        """Least cost of candidates that together cover every row (a set-cover MIP)."""
        if self.m == 0 or self.cost is None:
            return 0.0
        x, _, _ = _set_cover(self.cover, self.cost, None)
        return float(np.asarray(self.cost)[x].sum())


def _greedy_cover(cols: sparse.csc_matrix, row_w: np.ndarray, site_w: np.ndarray,
                  cost: np.ndarray, budget_vnd: float, n_sites: int | None) -> np.ndarray:
    """A good choice within the budget (and count): greedy, then improved by swaps.

    Greedy adds the affordable candidate of most newly covered weight per VND
    until none fits; then, while one exists, the swap of a chosen candidate for
    an unchosen one that fits the budget and covers the most more weight is
    made, each time followed by the greedy again.  ``cols`` is the coverage
    matrix by column, ``site_w`` each column's own weight (folded rows).
    Returns 0/1 per column.  Only a start for the exact solve: it may be
    anything feasible.
    """
    m, n = cols.shape
    x = np.zeros(n)
    budget = budget_vnd * (1 + 1e-12)
    limit = n if n_sites is None else int(n_sites)
    span = np.diff(cols.indptr)
    owner = np.repeat(np.arange(n), span)
    for _ in range(100):
        # Greedy additions.
        hits = np.zeros(m)
        np.add.at(hits, cols.indices[np.repeat(x > 0, span)], 1.0)
        while x.sum() < limit:
            open_w = np.where(hits == 0, row_w, 0.0)
            gain = cols.T @ open_w + site_w * (x == 0)
            ok = (x == 0) & (cost <= budget - float(cost @ x)) & (gain > 0)
            if not ok.any():
                break
            j = int(np.argmax(np.where(ok, gain / np.maximum(cost, 1e-300), -np.inf)))
            x[j] = 1.0
            hits[cols.indices[cols.indptr[j]:cols.indptr[j + 1]]] += 1
        # The best swap.
        spent = float(cost @ x)
        best, out, into = 1e-9 * max(1.0, float(row_w.sum())), -1, -1
        for j in np.flatnonzero(x):
            r = cols.indices[cols.indptr[j]:cols.indptr[j + 1]]
            lost = r[hits[r] == 1]
            loss = float(row_w[lost].sum()) + site_w[j]
            open_w = np.where(hits == 0, row_w, 0.0)
            open_w[lost] = row_w[lost]
            gain = np.bincount(owner, weights=open_w[cols.indices], minlength=n) + site_w
            ok = (x == 0) & (cost <= budget - spent + cost[j])
            if ok.any():
                k = int(np.argmax(np.where(ok, gain, -np.inf)))
                if gain[k] - loss > best:
                    best, out, into = gain[k] - loss, int(j), k
        if out < 0:
            break
        x[out], x[into] = 0.0, 1.0
    return x


def _active_columns(cover: sparse.csr_matrix) -> np.ndarray:
    """Indices of the columns (candidates) that cover at least one row."""
    used = np.zeros(cover.shape[1], dtype=bool)
    used[cover.indices] = True
    return np.flatnonzero(used)


def _undominated_columns(cover: sparse.csr_matrix, cost: np.ndarray | None) -> np.ndarray:
    """Indices of the columns that cover some row and that no other column dominates.

    Column k dominates column j when it covers every row j covers and costs no
    more, and, when both cover the same rows at the same cost, comes first.
    With a budget or an upper limit on the count, a solution holding j stays
    feasible and covers as much with k in its place, so leaving j out keeps the
    optimum.
    """
    active = _active_columns(cover)
    a = cover[:, active].tocsc().astype(np.int32)
    c = np.zeros(active.size) if cost is None else np.asarray(cost, dtype=np.float64)[active]
    size = np.diff(a.indptr)
    shared = (a.T @ a).tocoo()
    j, k = shared.row, shared.col
    holds = (shared.data == size[j]) & (j != k)
    dominated = holds & ((c[k] < c[j]) | ((c[k] == c[j]) & ((size[k] > size[j]) | (k < j))))
    keep = np.ones(active.size, dtype=bool)
    keep[j[dominated]] = False
    return active[keep]


def _fold_single_rows(cover: sparse.csr_matrix, weights: np.ndarray
                      ) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Rows only one column covers, folded into that column's own weight.

    Such a row is served exactly when its column is chosen, so its yᵢ ≤ xⱼ
    row and its yᵢ become a term wᵢ xⱼ of the objective.  Returns the other
    rows, their weights and each column's folded weight.
    """
    size = np.diff(cover.indptr)
    single = size == 1
    site_w = np.bincount(cover.indices[cover.indptr[:-1][single]], weights=weights[single],
                         minlength=cover.shape[1])
    return cover[~single], weights[~single], site_w


def _set_cover(cover: sparse.csr_matrix, cost: np.ndarray | None,
               time_limit_s: float | None) -> tuple[np.ndarray, str, float]:
    """Least-cost (fewest, without costs) candidates covering every row of ``cover``.

    Minimise Σ cⱼ xⱼ subject to Σ_{j covers i} xⱼ ≥ 1 for every row, xⱼ
    binary (Toregas et al.'s location set covering problem, spopt's LSCP).
    Every row must be covered by some candidate.  Returns the chosen
    candidates, the HiGHS status and the proved gap.
    """
    import highspy

    m, n = cover.shape
    if m == 0:
        return np.zeros(n, dtype=bool), "Optimal", 0.0
    h = _highs(time_limit_s)
    # Unlike the maximal-covering model, set covering gains much from HiGHS's presolve
    # (dominated rows and columns).
    h.setOptionValue("presolve", "on")
    c = np.ones(n) if cost is None else np.asarray(cost, np.float64)
    # Scaled to O(1) (HiGHS struggles with 1e9-sized objective coefficients).
    c = c / (float(c.max()) if c.max() > 0 else 1.0)
    a = cover.astype(np.float64)
    h.passModel(n, m, int(a.nnz), int(highspy.MatrixFormat.kRowwise),
                int(highspy.ObjSense.kMinimize), 0.0, c, np.zeros(n), np.ones(n), np.ones(m),
                np.full(m, highspy.kHighsInf), a.indptr[:-1].astype(np.int32),
                a.indices.astype(np.int32), a.data.astype(np.float64),
                np.ones(n, dtype=np.int32))
    _run(h)
    status = h.modelStatusToString(h.getModelStatus())
    if status not in ("Optimal", "Time limit reached", "Iteration limit reached"):
        raise InfeasibleError(f"HiGHS could not solve the set-covering model: status {status!r}")
    gap = 0.0 if status == "Optimal" else float(h.getInfo().mip_gap)
    if status != "Optimal":
        log.warning("siting: HiGHS stopped early (%s) with a gap of %.3g%%; the sites serve "
                    "all reachable demand but may not be the cheapest", status, 100 * gap)
    return np.asarray(h.getSolution().col_value[:n]) > 0.5, status, gap


def _as_csr(cover: Any, m: int | None = None) -> sparse.csr_matrix:
    if sparse.issparse(cover):
        out = sparse.csr_matrix(cover, dtype=bool)
    else:
        out = sparse.csr_matrix(np.asarray(cover, dtype=bool))
    out.eliminate_zeros()
    out.sort_indices()
    return out


def _check_options(budget_vnd: float | None, n_sites: int | None, name: str) -> None:
    if budget_vnd is None and n_sites is None:
        raise SchemaError(f"give budget_vnd=, {name}= or both: without them there is nothing "
                          "to limit the number of new sites")
    if budget_vnd is not None and not (np.isfinite(budget_vnd) and budget_vnd >= 0):
        raise OptionError(f"budget_vnd={budget_vnd!r}; give a budget of 0 VND or more")
    if n_sites is not None and (int(n_sites) != n_sites or n_sites < 1):
        raise SchemaError(f"{name}={n_sites!r}; give a whole number of stations, 1 or more")


def _check_mode(budget_vnd: float | None, n_stations: int | None, cover_all: bool) -> None:
    """site_pump_stations: a budget and/or a count, or cover_all alone."""
    if not cover_all:
        _check_options(budget_vnd, n_stations, "n_stations")
    elif budget_vnd is not None or n_stations is not None:
        raise SchemaError("cover_all=True finds the least cost (or fewest stations) that "
                          "serves all reachable demand, so it takes no budget_vnd= or "
                          "n_stations=; leave them out, or leave out cover_all")


def _check_costs(cost: np.ndarray, name: str, ids: Any) -> None:
    bad = ~np.isfinite(cost) | (cost < 0)
    if bad.any():
        shown = ", ".join(str(i) for i in np.asarray(ids)[bad][:10])
        raise SchemaError(f"{name} is missing, negative or not finite for {int(bad.sum())} "
                          f"candidate(s) [{shown}]; give every candidate a cost of 0 VND or more")


def solve_max_cover(
    weights: Any,
    cover: Any,
    *,
    cost_vnd: Any = None,
    budget_vnd: float | None = None,
    n_sites: int | None = None,
    time_limit_s: float | None = None,
) -> CoverSolution:
    """Solve a (budgeted) maximal covering problem exactly with HiGHS; no geometry.

    Maximise Σ wᵢ yᵢ subject to yᵢ ≤ Σ_{j: cover[i, j]} xⱼ, with
    ``budget_vnd``: Σ cⱼ xⱼ ≤ budget; with ``n_sites`` = p and no budget:
    Σ xⱼ = p (the classic MCLP, as in spopt); with both: Σ xⱼ ≤ p.  xⱼ is
    binary, 0 ≤ yᵢ ≤ 1.  Rows no candidate covers, or of zero weight, are
    dropped, rows covered by the same set of candidates merged, and (unless
    the count is exact) candidates that cover no row left out, before the
    model is built.  With a budget, chosen sites that serve nothing
    another chosen site does not are dropped afterwards (the optimum is
    unchanged and the cost lower).

    Parameters
    ----------
    weights : array-like of float, shape (m,)
        Demand weights (e.g. ha), 0 or more.
    cover : array-like or scipy.sparse matrix of bool, shape (m, n)
        ``cover[i, j]`` is true when candidate ``j`` serves demand ``i``.
    cost_vnd : array-like of float, shape (n,), optional
        Cost of each candidate, VND; required with ``budget_vnd``.
    budget_vnd : float, optional
        Most that may be spent, VND.
    n_sites : int, optional
        Number of sites (exactly, without a budget; at most, with one).
    time_limit_s : float, optional
        Stop HiGHS after this many seconds (the status then says so).

    Returns
    -------
    CoverSolution
        ``selected``, ``covered``, ``objective``, ``cost_vnd``, ``status``,
        ``mip_gap``.

    Raises
    ------
    SchemaError
        If neither ``budget_vnd`` nor ``n_sites`` is given, if they are
        negative, if shapes disagree, or if ``budget_vnd`` comes without
        ``cost_vnd``.
    InfeasibleError
        If ``n_sites`` exceeds the number of candidates.

    Examples
    --------
    >>> import numpy as np
    >>> cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=bool)
    >>> sol = solve_max_cover([7.0, 1.0, 1.0, 4.0], cover, n_sites=2)
    >>> sol.selected.tolist(), sol.objective
    ([True, False, True], 13.0)
    >>> sol = solve_max_cover([7.0, 1.0, 1.0, 4.0], cover, cost_vnd=[3e9, 1e9, 2e9],
    ...                       budget_vnd=3e9)
    >>> sol.selected.tolist(), sol.objective, sol.cost_vnd
    ([True, False, False], 8.0, 3000000000.0)
    """
    _check_options(budget_vnd, n_sites, "n_sites")
    w, a, cost = _cover_inputs(weights, cover, cost_vnd)
    n = a.shape[1]
    if cost is None and budget_vnd is not None:
        raise SchemaError("budget_vnd needs cost_vnd, the cost of each candidate in VND")
    if n_sites is not None and n_sites > n:
        raise InfeasibleError(f"n_sites={n_sites} is more than the {n} candidates; give "
                              f"n_sites <= {n} or more candidates")
    return _solve(w, a, cost, budget_vnd=budget_vnd, n_sites=n_sites,
                  time_limit_s=time_limit_s)[0]


def _solve(w: np.ndarray, a: sparse.csr_matrix, cost: np.ndarray | None, *,
           budget_vnd: float | None, n_sites: int | None, time_limit_s: float | None,
           aggregated: tuple[sparse.csr_matrix, np.ndarray] | None = None
           ) -> tuple[CoverSolution, _CoverModel | None]:
    m, n = a.shape
    agg, agg_w = aggregated if aggregated is not None else _aggregate(a, w)[:2]
    exact = budget_vnd is None
    if agg.shape[0] == 0:
        selected = np.zeros(n, dtype=bool)
        if exact and n_sites:
            selected[:n_sites] = True
        model = None
        status, gap = "Optimal", 0.0
    else:
        model = _CoverModel(agg, agg_w, cost, time_limit_s, idle=exact)
        selected, status, gap = model.solve(budget_vnd=budget_vnd, n_sites=n_sites,
                                            exact_count=exact)
    if not exact:
        selected = _drop_redundant(a, w, selected, cost)
    covered = (a @ selected.astype(np.int64)) > 0 if m else np.zeros(0, dtype=bool)
    spent = float(cost[selected].sum()) if cost is not None else 0.0
    sol = CoverSolution(selected=selected, covered=np.asarray(covered).ravel(),
                        objective=float(w[np.asarray(covered).ravel()].sum()), cost_vnd=spent,
                        status=status, mip_gap=gap)
    return sol, model


def solve_set_cover(
    weights: Any,
    cover: Any,
    *,
    cost_vnd: Any = None,
    time_limit_s: float | None = None,
) -> CoverSolution:
    """Least-cost (or fewest) candidates that serve every reachable demand row; no geometry.

    Minimise Σ cⱼ xⱼ (Σ xⱼ without costs: spopt's LSCP) subject to
    Σ_{j: cover[i, j]} xⱼ ≥ 1 for every row of positive weight that some
    candidate covers, xⱼ binary; HiGHS solves it to a zero gap.  Rows no
    candidate covers cannot be served: they come back with ``covered``
    false instead of making the problem infeasible.  Rows covered by the same
    set of candidates are merged first, and chosen sites that serve nothing
    another chosen site does not are dropped afterwards.

    Parameters
    ----------
    weights : array-like of float, shape (m,)
        Demand weights (e.g. ha, households), 0 or more; rows of weight 0
        need no service.
    cover : array-like or scipy.sparse matrix of bool, shape (m, n)
        ``cover[i, j]`` is true when candidate ``j`` serves demand ``i``.
    cost_vnd : array-like of float, shape (n,), optional
        Cost of each candidate, VND; without it the fewest sites are chosen.
    time_limit_s : float, optional
        Stop HiGHS after this many seconds (the status then says so).

    Returns
    -------
    CoverSolution
        ``selected``, ``covered``, ``objective`` (the weight served: all of
        the reachable weight), ``cost_vnd``, ``status``, ``mip_gap``.

    Raises
    ------
    SchemaError
        If shapes disagree, or weights or costs are negative or not finite.

    Examples
    --------
    Four demand rows, the last one out of every candidate's reach:

    >>> import numpy as np
    >>> cover = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 0]], dtype=bool)
    >>> sol = solve_set_cover([7.0, 1.0, 1.0, 4.0], cover)
    >>> sol.selected.tolist(), sol.covered.tolist(), sol.objective
    ([True, True, False], [True, True, True, False], 9.0)
    >>> solve_set_cover([7.0, 1.0, 1.0, 4.0], cover,
    ...                 cost_vnd=[1e9, 3e9, 1e9]).selected.tolist()
    [True, False, True]
    """
    w, a, cost = _cover_inputs(weights, cover, cost_vnd)
    return _solve_cover_all(w, a, cost, time_limit_s=time_limit_s, curve=False)[0]


def _cover_inputs(weights: Any, cover: Any, cost_vnd: Any
                  ) -> tuple[np.ndarray, sparse.csr_matrix, np.ndarray | None]:
    """Checked weights, cover matrix and costs of the geometry-free solvers."""
    w = np.asarray(weights, dtype=np.float64)
    a = _as_csr(cover)
    m, n = a.shape
    if w.shape != (m,):
        raise SchemaError(f"weights has shape {w.shape} but cover has {m} rows; give one "
                          "weight per row of cover")
    if (w < 0).any() or not np.isfinite(w).all():
        raise SchemaError("weights must be finite and 0 or more")
    cost = None
    if cost_vnd is not None:
        cost = np.broadcast_to(np.asarray(cost_vnd, dtype=np.float64), (n,)).copy()
        _check_costs(cost, "cost_vnd", np.arange(n))
    return w, a, cost


def _solve_cover_all(w: np.ndarray, a: sparse.csr_matrix, cost: np.ndarray | None, *,
                     time_limit_s: float | None, curve: bool
                     ) -> tuple[CoverSolution, _CoverModel | None]:
    """Set covering of the rows of positive weight that some candidate reaches; with
    ``curve``, also the maximal-covering model the budget curve re-solves."""
    agg, agg_w, _ = _aggregate(a, w)
    selected, status, gap = _set_cover(_drop_supersets(agg), cost, time_limit_s)
    selected = _drop_redundant(a, w, selected, cost)
    covered = np.asarray(a @ selected.astype(np.int64)).ravel() > 0
    sol = CoverSolution(selected=selected, covered=covered,
                        objective=float(w[covered].sum()),
                        cost_vnd=float(cost[selected].sum()) if cost is not None else 0.0,
                        status=status, mip_gap=gap)
    model = _CoverModel(agg, agg_w, cost, time_limit_s) if curve and agg.shape[0] else None
    return sol, model


def _drop_supersets(cover: sparse.csr_matrix) -> sparse.csr_matrix:
    """Rows whose candidate set holds another row's set, dropped (covering the smaller
    row covers them); rows with equal sets must be merged first (:func:`_aggregate`)."""
    if cover.shape[0] < 2:
        return cover
    a = cover.astype(np.int32)
    length = np.diff(a.indptr)
    shared = (a @ a.T).tocoo()
    inside = (shared.data == length[shared.col]) & (length[shared.col] < length[shared.row])
    keep = np.ones(cover.shape[0], dtype=bool)
    keep[shared.row[inside]] = False
    return cover[keep]


def _drop_redundant(a: sparse.csr_matrix, w: np.ndarray, selected: np.ndarray,
                    cost: np.ndarray | None) -> np.ndarray:
    """Drop chosen sites whose every served row another chosen site also serves."""
    selected = selected.copy()
    order = np.flatnonzero(selected)
    if cost is not None:
        order = order[np.argsort(-cost[order], kind="stable")]  # dearest first
    ac = a.tocsc()
    for j in order:
        rows = ac.indices[ac.indptr[j]:ac.indptr[j + 1]]
        rows = rows[w[rows] > 0]
        others = selected.copy()
        others[j] = False
        if rows.size == 0 or (a[rows] @ others.astype(np.int64) > 0).all():
            selected[j] = False
    return selected


# --------------------------------------------------------------------------
# Geometry: demand cells, candidates along canals
# --------------------------------------------------------------------------


def _ids(gdf: gpd.GeoDataFrame, mask: np.ndarray) -> str:
    labels = [str(v) for v in gdf.index[mask][:10]]
    more = int(mask.sum()) - len(labels)
    return ", ".join(labels) + (f" and {more} more" if more > 0 else "")


def _cells_metric(geoms: np.ndarray, cell_m: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut metric polygons into grid cells; return pieces, area_ha, ix, iy (one row per cell)."""
    bounds = shapely.bounds(geoms)
    ix0 = np.floor(bounds[:, 0] / cell_m).astype(np.int64)
    iy0 = np.floor(bounds[:, 1] / cell_m).astype(np.int64)
    ix1 = np.maximum(np.ceil(bounds[:, 2] / cell_m).astype(np.int64), ix0 + 1)
    iy1 = np.maximum(np.ceil(bounds[:, 3] / cell_m).astype(np.int64), iy0 + 1)
    nx, ny = ix1 - ix0, iy1 - iy0
    count = nx * ny
    src = np.repeat(np.arange(geoms.size), count)
    k = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    ix = ix0[src] + k % nx[src]
    iy = iy0[src] + k // nx[src]
    boxes = shapely.box(ix * cell_m, iy * cell_m, (ix + 1) * cell_m, (iy + 1) * cell_m)
    prepared = prepared_copies(geoms)  # the layer's own are shared with other threads
    hit = shapely.intersects(prepared[src], boxes)
    src, ix, iy, boxes = src[hit], ix[hit], iy[hit], boxes[hit]
    inside = shapely.contains(prepared[src], boxes)
    pieces = boxes.copy()
    cut = ~inside
    threads = n_threads(None)  # GEOS's work releases the GIL: both cores, not one
    if cut.any():
        pieces[cut] = polygonal(parallel(shapely.intersection, geoms[src[cut]], boxes[cut],
                                         threads=threads, min_chunk=2_000))
    area = shapely.area(pieces)
    ok = area > 0
    pieces, ix, iy, area = pieces[ok], ix[ok], iy[ok], area[ok]
    # Overlapping demand polygons: union the pieces of a cell, so area counts once.
    order = np.lexsort((iy, ix))
    pieces, ix, iy, area = pieces[order], ix[order], iy[order], area[order]
    new = np.ones(ix.size, dtype=bool)
    new[1:] = (ix[1:] != ix[:-1]) | (iy[1:] != iy[:-1])
    starts = np.flatnonzero(new)
    size = np.diff(np.append(starts, ix.size))
    multi = np.flatnonzero(size > 1)
    out = pieces[starts]
    out_area = area[starts].copy()
    if multi.size:
        # one vectorised union per number of pieces (not one call per cell: a thread
        # beside that holds the GIL would make each call wait its turn)
        cell = np.cumsum(new) - 1
        _, out[multi] = union_clusters(pieces, np.where(size[cell] > 1, cell, -1),
                                       threads=threads)
        out_area[multi] = shapely.area(out[multi])
    return out, out_area / _SQM_PER_HA, ix[starts], iy[starts]


def _demand_metric(demand: gpd.GeoDataFrame, metric: CRS, cell_m: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not (np.isfinite(cell_m) and cell_m > 0):
        raise OptionError(f"cell_m={cell_m!r}; give a cell size in metres, more than 0")
    geoms = np.asarray(demand.geometry.to_crs(metric).values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    types = shapely.get_type_id(geoms)
    bad = present & ~np.isin(types, (3, 6))
    if bad.any():
        raise GeometryError(f"layer 'demand': {int(bad.sum())} row(s) are not polygons "
                            f"[{_ids(demand, bad)}]; demand must be the polygons to serve "
                            "(e.g. the gaps layer) or points with a weight column, not a mix; "
                            "drop or buffer the other rows")
    geoms = geoms[present]
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        geoms = geoms.copy()
        geoms[invalid] = polygonal(shapely.make_valid(geoms[invalid]))
        log.info("siting: %d invalid demand polygon(s) repaired with make_valid",
                 int(invalid.sum()))
    if geoms.size == 0:
        return np.zeros(0, dtype=object), np.zeros(0), np.zeros(0, int), np.zeros(0, int)
    return _cells_metric(geoms, float(cell_m))


def demand_cells(
    demand: gpd.GeoDataFrame,
    *,
    cell_m: float = 250,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Cut demand polygons into square grid cells weighted by their exact area.

    The grid is aligned to multiples of ``cell_m`` in the metric CRS
    (:func:`geoagri.crs.metric_crs`); each cell holds the part of the demand
    polygons inside it, with overlapping polygons counted once.

    Parameters
    ----------
    demand : GeoDataFrame
        Polygons (e.g. the gaps layer: unserved rice land).  Null and empty
        geometries are skipped; invalid ones are repaired.
    cell_m : float, default 250
        Cell side, metres.
    crs : str, int or pyproj.CRS, optional
        Metric CRS to cut in (default: :func:`geoagri.crs.metric_crs` of the
        demand).

    Returns
    -------
    GeoDataFrame
        In the demand's CRS, one row per non-empty cell: ``cell_id`` (the
        metric coordinates of the cell's south-west corner, ``"E<x>N<y>"``),
        ``area_ha`` (exact area of demand in the cell) and the piece's geometry.

    Raises
    ------
    CRSError
        If the demand has no CRS.
    GeometryError
        If a row is not a polygon.
    SchemaError
        If ``cell_m`` is not positive.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> x, y = 500_000, 1_200_000
    >>> demand = gpd.GeoDataFrame(geometry=[box(x, y, x + 500, y + 300)], crs="EPSG:32648")
    >>> demand_cells(demand, cell_m=250)[["cell_id", "area_ha"]]
                  cell_id  area_ha
    0  E500000N1200000     6.25
    1  E500000N1200250     1.25
    2  E500250N1200000     6.25
    3  E500250N1200250     1.25
    """
    require_layer(demand, name="demand", func="demand_cells", series=True)
    metric = metric_crs(demand, crs=crs)
    return _polygon_demand(demand, metric, cell_m).frame(demand.crs)


def _cell_ids(ix: np.ndarray, iy: np.ndarray, cell_m: float) -> list[str]:
    xs, ys = ix * float(cell_m), iy * float(cell_m)
    return [f"E{x:.12g}N{y:.12g}" for x, y in zip(xs, ys, strict=True)]


@dataclass(frozen=True)
class _Demand:
    """Demand rows in the metric CRS: where each is, what it weighs, how to show it.

    ``geoms`` are the cell pieces of polygon demand (``points`` a point on
    each) or the demand points themselves; ``weight`` is in ``unit``: ha, or
    the point demand's weight column.
    """

    geoms: np.ndarray
    points: np.ndarray
    weight: np.ndarray
    ids: np.ndarray
    unit: str
    metric: CRS

    @property
    def column(self) -> str:
        """Name of the weight's column in ``cells`` and ``unreachable``."""
        return "area_ha" if self.unit == "ha" else self.unit

    def frame(self, out_crs: Any) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {"cell_id": self.ids, self.column: self.weight},
            geometry=gpd.GeoSeries(self.geoms, crs=self.metric).to_crs(out_crs).values,
            crs=out_crs)


def _polygon_demand(demand: gpd.GeoDataFrame, metric: CRS, cell_m: float) -> _Demand:
    pieces, area_ha, ix, iy = _demand_metric(demand, metric, cell_m)
    return _Demand(pieces, shapely.point_on_surface(pieces), area_ha,
                   np.asarray(_cell_ids(ix, iy, cell_m), dtype=object), "ha", metric)


def _point_demand(demand: gpd.GeoDataFrame, metric: CRS, weight: str | None) -> _Demand:
    """Each demand point is one row, weighted by its ``weight`` column (1 without one)."""
    geoms = np.asarray(demand.geometry.to_crs(metric).values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if weight is None:
        w, unit = np.ones(len(demand)), "n_points"
        log.info("siting: point demand without weight=; each point counts 1")
    else:
        if weight not in demand.columns:
            raise OptionError(f"weight={weight!r} names no column of layer 'demand' (columns: "
                              f"{', '.join(map(str, demand.columns))}); give the column holding "
                              "each point's demand, e.g. ha, households or m³")
        w = pd.to_numeric(demand[weight], errors="coerce").to_numpy(float)
        bad = present & ~(np.isfinite(w) & (w >= 0))
        if bad.any():
            found = ", ".join(repr(v) for v in demand[weight].to_numpy()[bad][:5])
            raise SchemaError(f"layer 'demand', column {weight!r}: {int(bad.sum())} row(s) are "
                              f"missing, negative or not numbers [{_ids(demand, bad)}] (found "
                              f"{found}); give every point a weight of 0 or more")
        unit = str(weight)
    ids = (demand["demand_id"] if "demand_id" in demand.columns else demand.index.to_series())
    return _Demand(geoms[present], geoms[present], w[present],
                   ids.astype(str).to_numpy(dtype=object)[present], unit, metric)


def _demand_rows(demand: gpd.GeoDataFrame, metric: CRS, cell_m: float,
                 weight: str | None) -> _Demand:
    """Demand as rows: polygons cut into cells weighted by area, or weighted points."""
    geoms = np.asarray(demand.geometry.values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if present.any() and (shapely.get_type_id(geoms[present]) == 0).all():
        return _point_demand(demand, metric, weight)
    if weight is not None:
        raise OptionError(f"weight={weight!r} is for point demand; polygon demand is weighted "
                          "by its area in ha (leave out weight=, or give points)")
    return _polygon_demand(demand, metric, cell_m)


def candidates_along_canals(
    canals: gpd.GeoDataFrame,
    *,
    spacing_m: float = 500,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Candidate pump-station sites along canals, every ``spacing_m``.

    Along each line (each part of a multi-line) points are placed at 0,
    ``spacing_m``, 2 × ``spacing_m``, … from its start, measured in the metric
    CRS.  Then points closer than ``spacing_m / 2`` to an earlier point are
    dropped, so junctions and shared line ends give one site.  A works layer
    may be given: only its rows with ``work_type == "canal"`` are used.

    Parameters
    ----------
    canals : GeoDataFrame
        Lines (LineString or MultiLineString).
    spacing_m : float, default 500
        Distance between sites along a canal, metres.
    crs : str, int or pyproj.CRS, optional
        Metric CRS (default: :func:`geoagri.crs.metric_crs` of the canals).

    Returns
    -------
    GeoDataFrame
        Points in the canals' CRS: ``site_id`` (``"C0001"``, …),
        ``canal_id`` (the canal's ``canal_id`` or ``work_id`` column, else its
        index), ``chainage_m`` (distance from the start of the line part).

    Raises
    ------
    CRSError
        If the canals have no CRS.
    GeometryError
        If a row is not a line.
    SchemaError
        If ``spacing_m`` is not positive.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import LineString
    >>> x, y = 500_000, 1_200_000
    >>> canal = gpd.GeoDataFrame({"canal_id": ["K1"]},
    ...                          geometry=[LineString([(x, y), (x + 1200, y)])], crs=32648)
    >>> sites = candidates_along_canals(canal, spacing_m=500)
    >>> sites["site_id"].tolist(), sites["chainage_m"].tolist()
    (['C0001', 'C0002', 'C0003'], [0.0, 500.0, 1000.0])
    """
    require_layer(canals, name="canals", func="candidates_along_canals", series=True)
    if not (np.isfinite(spacing_m) and spacing_m > 0):
        raise OptionError(f"candidate_spacing_m={spacing_m!r}; give a spacing in metres, "
                          "more than 0")
    if "work_type" in canals.columns:
        canals = canals[canals["work_type"] == "canal"]
    metric = metric_crs(canals, crs=crs)
    geoms = np.asarray(canals.geometry.to_crs(metric).values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bad = present & ~np.isin(shapely.get_type_id(geoms), (1, 5))
    if bad.any():
        raise GeometryError(f"layer 'canals': {int(bad.sum())} row(s) are not lines "
                            f"[{_ids(canals, bad)}]; give the canal network as LineStrings")
    id_col = next((c for c in ("canal_id", "work_id") if c in canals.columns), None)
    labels = (canals[id_col].to_numpy() if id_col else canals.index.to_numpy())[present]
    parts, part_src = shapely.get_parts(geoms[present], return_index=True)
    length = shapely.length(parts)
    count = np.floor(length / spacing_m + 1e-9).astype(np.int64) + 1
    idx = np.repeat(np.arange(parts.size), count)
    chain = (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)) * spacing_m
    points = shapely.line_interpolate_point(parts[idx], chain)
    keep = _thin(points, spacing_m / 2)
    points, idx, chain = points[keep], idx[keep], chain[keep]
    out = gpd.GeoDataFrame(
        {"site_id": [f"C{k + 1:04d}" for k in range(points.size)],
         "canal_id": labels[part_src[idx]], "chainage_m": chain.astype(float)},
        geometry=gpd.GeoSeries(points, crs=metric).to_crs(canals.crs).values, crs=canals.crs)
    log.info("siting: %d candidate sites along %d canal line(s) every %g m", len(out),
             parts.size, spacing_m)
    return out


def _thin(points: np.ndarray, tol_m: float) -> np.ndarray:
    """Keep points in order, dropping each one within tol_m of an earlier kept point."""
    keep = np.ones(points.size, dtype=bool)
    if points.size < 2:
        return keep
    tree = shapely.STRtree(points)
    i, j = tree.query(points, predicate="dwithin", distance=tol_m)
    sel = i < j
    i, j = i[sel], j[sel]
    order = np.lexsort((j, i))
    for a, b in zip(i[order].tolist(), j[order].tolist(), strict=True):
        if keep[a]:
            keep[b] = False
    return keep


def _points(gdf: gpd.GeoDataFrame, name: str, metric: CRS) -> np.ndarray:
    require_layer(gdf, name=name, func="site_pump_stations", series=True)
    geoms = np.asarray(gdf.geometry.to_crs(metric).values, dtype=object)
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad |= ~bad & (shapely.get_type_id(geoms) != 0)
    if bad.any():
        raise GeometryError(f"layer '{name}': {int(bad.sum())} row(s) are not points "
                            f"[{_ids(gdf, bad)}]; give one Point per station (use "
                            ".representative_point() for polygons, .explode() for multipoints)")
    return geoms


def _pairs_within(demand_pts: np.ndarray, sites: np.ndarray, radius_m: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (demand, site) at a straight-line distance of at most radius_m."""
    if demand_pts.size == 0 or sites.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    tree = shapely.STRtree(sites)
    i, j = tree.query(demand_pts, predicate="dwithin", distance=radius_m * (1 + 1e-9) + 1e-6)
    dx = shapely.get_x(demand_pts[i]) - shapely.get_x(sites[j])
    dy = shapely.get_y(demand_pts[i]) - shapely.get_y(sites[j])
    ok = np.sqrt(dx * dx + dy * dy) <= radius_m
    return i[ok], j[ok]


def _three_phase_lines(power: gpd.GeoDataFrame, metric: CRS) -> tuple[np.ndarray, np.ndarray]:
    require_layer(power, name="power", func="site_pump_stations", columns=("element", "phases"))
    lines = power[three_phase_lines(power)]
    geoms = np.asarray(lines.geometry.to_crs(metric).values, dtype=object)
    ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not ok.any():
        raise InfeasibleError("layer 'power' has no existing three-phase line (element 'line', "
                              "phases 3, status existing), so no site can be connected; give a "
                              "power layer with three-phase lines, or leave out power= and "
                              "line_cost_vnd_per_km=")
    ids = (lines["power_id"] if "power_id" in lines.columns else lines.index.to_series())
    return geoms[ok], ids.to_numpy()[ok]


def _fmt_vnd(v: float) -> str:
    return f"{v:,.0f} VND"


# --------------------------------------------------------------------------
# Siting
# --------------------------------------------------------------------------


def site_pump_stations(
    demand: gpd.GeoDataFrame,
    *,
    radius_m: float,
    candidates: gpd.GeoDataFrame | None = None,
    existing: gpd.GeoDataFrame | None = None,
    canals: gpd.GeoDataFrame | None = None,
    candidate_spacing_m: float = 500,
    cell_m: float = 250,
    budget_vnd: float | None = None,
    n_stations: int | None = None,
    station_cost_vnd: float | str | None = None,
    power: gpd.GeoDataFrame | None = None,
    line_cost_vnd_per_km: float | None = None,
    curve_steps: int = 10,
    time_limit_s: float | None = None,
    crs: Any = None,
    weight: str | None = None,
    cover_all: bool = False,
) -> SitingResult:
    """Choose new pump-station sites that serve the most demand within a budget or count.

    See the module documentation for the model.  Polygon demand is cut into
    cells (:func:`demand_cells`), point demand taken point by point; demand
    within ``radius_m`` of an ``existing`` station counts as served and is
    left out; of the rest, the model maximises the weight (ha) within
    ``radius_m`` of a chosen site, subject to Σ cost ≤ ``budget_vnd`` and/or
    the number of sites: exactly ``n_stations`` without a budget (spopt's
    MCLP), at most ``n_stations`` with one.  With ``cover_all`` it instead
    finds the least-cost (without costs, the fewest) sites that serve all the
    demand any candidate reaches (spopt's LSCP), and reports the rest in
    ``unreachable``.  Distances are straight lines in the metric CRS.

    The **curve** re-solves the model at ``curve_steps`` budgets evenly spaced
    up to ``budget_vnd`` (the last point is the result itself) or, without a
    budget, up to the least cost of serving every reachable cell (a set-cover
    MIP); with ``n_stations`` and a budget the count limit holds at every
    point, with ``n_stations`` alone it is lifted.  Without costs, or with
    ``curve_steps=0``, the curve is empty.  The points are solved in order of
    budget, each warm-started from the point before, so that where several
    station sets serve equally many hectares a point keeps the set of the
    point before; with a budget they run on a second thread beside the solve
    at the budget itself.

    Parameters
    ----------
    demand : GeoDataFrame
        Polygons to serve, e.g. the gaps layer (unserved rice land); an
        ``area_ha`` column is not used, areas are measured.  Or points, each
        weighted by its ``weight`` column; a ``demand_id`` column (else the
        index) names them in ``cells`` and ``unreachable``.
    radius_m : float
        Service radius of a pump station, metres.
    candidates : GeoDataFrame, optional
        Candidate sites (Points), with an optional ``site_id`` column (else
        the index names them) and any other columns (kept in ``sites``).
    existing : GeoDataFrame, optional
        Existing stations (Points), e.g. the pumps layer; fixed, free.
    canals : GeoDataFrame, optional
        Canal lines; when ``candidates`` is not given, sites are placed along
        them every ``candidate_spacing_m`` (:func:`candidates_along_canals`).
    candidate_spacing_m : float, default 500
        Spacing of generated candidates, metres.
    cell_m : float, default 250
        Side of the demand cells, metres.
    budget_vnd : float, optional
        Most that may be spent on new sites, VND.
    n_stations : int, optional
        Number of new sites (exactly without a budget, at most with one).
    station_cost_vnd : float or str, optional
        Cost of building a station, VND: one number, or the name of a column
        of ``candidates``.  Required with ``budget_vnd``.
    power : GeoDataFrame, optional
        Power layer; its existing three-phase lines (``element == "line"``,
        ``phases == 3``) are what sites connect to.
    line_cost_vnd_per_km : float, optional
        Cost of a new three-phase line, VND per km; with ``power``, adds
        straight-line distance × this to each site's cost
        (:mod:`geoagri.routing` refines it along real paths).
    curve_steps : int, default 10
        Points of the budget curve (0: none).
    time_limit_s : float, optional
        Stop each HiGHS solve after this many seconds (the status says so).
    crs : str, int or pyproj.CRS, optional
        Metric CRS for distances and areas (default:
        :func:`geoagri.crs.metric_crs` of the demand).
    weight : str, optional
        With point demand: the column holding each point's demand (ha,
        households, m³), 0 or more; the result's ``*_ha`` figures are then in
        that unit (:attr:`SitingResult.demand_unit`).  Without it each point
        counts 1.  Not for polygon demand, which is weighted by its area.
    cover_all : bool, default False
        Instead of a budget or a count: the least-cost sites (the fewest,
        without costs) that serve every reachable demand; takes no
        ``budget_vnd`` or ``n_stations``.  Its curve runs up to that cost.

    Returns
    -------
    SitingResult
        ``sites`` and ``cells`` (GeoDataFrames in the demand's CRS),
        ``curve``, ``covered_ha``, ``existing_covered_ha``, ``reachable_ha``,
        ``demand_ha``, ``cost_vnd``, ``ha_per_billion_vnd``, ``objective``,
        ``status``; see :class:`SitingResult` for the columns.

    Raises
    ------
    InfeasibleError
        If the demand is empty; if no candidate is within ``radius_m`` of any
        demand cell not yet served (the message gives the nearest distance);
        if ``budget_vnd`` is below the cheapest useful site (both named); if
        ``n_stations`` exceeds the number of candidates; if the power layer
        has no three-phase line.
    SchemaError
        If neither ``budget_vnd`` nor ``n_stations`` is given (nor
        ``cover_all``), if ``cover_all`` comes with either, if ``weight``
        names no column or holds negative or missing values, if ``weight``
        comes with polygon demand, if ``budget_vnd`` comes without
        ``station_cost_vnd``, if only one of
        ``power`` and ``line_cost_vnd_per_km`` is given, if neither
        ``candidates`` nor ``canals`` is given, or an option or cost is
        negative or missing.
    CRSError
        If a layer has no CRS.
    GeometryError
        If demand mixes polygons with other rows, candidates or existing stations not
        points, or canals not lines.

    Examples
    --------
    Ten new stations along the demo's canals, serving its rice zones, with
    the demo's pumps as existing stations:

    >>> import geopandas as gpd
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> rice = plan["zones"][plan["zones"]["crop"] == "rice"]
    >>> canals = gpd.read_file(plan.path(plan.settings["canals"]))
    >>> result = site_pump_stations(rice, canals=canals, existing=plan["pumps"],
    ...                             radius_m=1000, n_stations=10, candidate_spacing_m=1000,
    ...                             cell_m=500, station_cost_vnd=1.1e9, curve_steps=0)
    >>> len(result.sites), result.status
    (10, 'Optimal')
    >>> bool(0 < result.covered_ha <= result.reachable_ha)
    True
    """
    _check_mode(budget_vnd, n_stations, cover_all)
    if not (np.isfinite(radius_m) and radius_m > 0):
        raise OptionError(f"radius_m={radius_m!r}; give a service radius in metres, more than 0")
    if (power is None) != (line_cost_vnd_per_km is None):
        given, other = (("power", "line_cost_vnd_per_km") if power is not None
                        else ("line_cost_vnd_per_km", "power"))
        raise SchemaError(f"{given}= is given but {other}= is not; the connection cost needs "
                          "both the power layer and the cost of a line in VND per km")
    if line_cost_vnd_per_km is not None and not (
            np.isfinite(line_cost_vnd_per_km) and line_cost_vnd_per_km >= 0):
        raise OptionError(f"line_cost_vnd_per_km={line_cost_vnd_per_km!r}; give 0 or more")
    if budget_vnd is not None and station_cost_vnd is None:
        raise SchemaError("budget_vnd needs station_cost_vnd: the cost of a station in VND, "
                          "or the name of a column of candidates holding it")
    if int(curve_steps) != curve_steps or curve_steps < 0:
        raise OptionError(f"curve_steps={curve_steps!r}; give a whole number, 0 or more")
    if candidates is None and canals is None:
        raise SchemaError("give candidates= (points) or canals= (lines to place candidates "
                          "along every candidate_spacing_m)")

    require_layer(demand, name="demand", func="site_pump_stations", series=True)
    out_crs = demand.crs
    if len(demand) == 0 or (demand.geometry.isna() | demand.geometry.is_empty).all():
        raise InfeasibleError(f"layer 'demand' has no area to serve ({len(demand)} row(s), "
                              "none with a geometry); give the polygons of unserved land, e.g. "
                              "the result of geoagri.coverage.gaps()")
    metric = metric_crs(demand, crs=crs)

    # Demand: cells of the polygons, or the weighted points.
    dem = _demand_rows(demand, metric, cell_m, weight)
    area_ha, points = dem.weight, dem.points
    demand_ha = float(area_ha.sum())
    if points.size == 0 or demand_ha <= 0:
        raise InfeasibleError(f"layer 'demand' has nothing to serve ({len(demand)} row(s), "
                              f"none with a polygon of positive area or a point of positive "
                              f"{dem.unit}); give the polygons of unserved land, e.g. the "
                              "result of geoagri.coverage.gaps(), or weighted points")
    m = points.size

    # Candidates.
    if candidates is None:
        assert canals is not None
        cand = candidates_along_canals(canals, spacing_m=candidate_spacing_m, crs=metric)
    else:
        if canals is not None:
            log.info("siting: candidates given, so canals= is not used to place sites")
        cand = candidates
    cand_pts = _points(cand, "candidates", metric)
    n = cand_pts.size
    site_ids = (cand["site_id"].astype(str).to_numpy() if "site_id" in cand.columns
                else cand.index.astype(str).to_numpy())
    if n_stations is not None and n_stations > n:
        raise InfeasibleError(f"n_stations={n_stations} is more than the {n} candidate sites; "
                              f"give n_stations <= {n}, more candidates, or a smaller "
                              "candidate_spacing_m")

    # Costs.
    if station_cost_vnd is None:
        station = np.zeros(n)
    elif isinstance(station_cost_vnd, str):
        if station_cost_vnd not in cand.columns:
            raise OptionError(f"station_cost_vnd={station_cost_vnd!r} names no column of "
                              f"candidates (columns: {', '.join(map(str, cand.columns))}); "
                              "give a number or an existing column")
        station = pd.to_numeric(cand[station_cost_vnd], errors="coerce").to_numpy(float)
    else:
        station = np.full(n, float(station_cost_vnd))
    _check_costs(station, "station_cost_vnd", site_ids)
    conn_km = np.zeros(n)
    conn_to = np.full(n, None, dtype=object)
    if power is not None and line_cost_vnd_per_km is not None and n:
        lines, line_ids = _three_phase_lines(power, metric)
        nearest, dist = shapely.STRtree(lines).query_nearest(cand_pts, return_distance=True,
                                                             all_matches=False)
        conn_km[nearest[0]] = dist / 1000.0
        conn_to[nearest[0]] = line_ids[nearest[1]]
    conn_cost = conn_km * (line_cost_vnd_per_km or 0.0)
    cost = station + conn_cost
    has_cost = station_cost_vnd is not None or line_cost_vnd_per_km is not None

    # Coverage by existing stations, then by candidates.
    by_existing = np.zeros(m, dtype=bool)
    if existing is not None and len(existing):
        ex_pts = _points(existing, "existing", metric)
        ei, _ = _pairs_within(points, ex_pts, radius_m)
        by_existing[ei] = True
    ci, cj = _pairs_within(points, cand_pts, radius_m)
    cover = sparse.csr_matrix((np.ones(ci.size, dtype=bool), (ci, cj)), shape=(m, n))
    weights = np.where(by_existing, 0.0, area_ha)
    reachable = np.zeros(m, dtype=bool)
    reachable[ci] = True
    open_ha = float(weights.sum())
    reachable_ha = float(weights[reachable].sum())
    existing_ha = float(area_ha[by_existing].sum())
    useful = np.zeros(n, dtype=bool)
    useful[cj[weights[ci] > 0]] = True

    if open_ha > 0 and reachable_ha <= 0:
        todo = np.flatnonzero(~by_existing)
        d = shapely.STRtree(cand_pts).query_nearest(points[todo], return_distance=True)[1] \
            if n else np.array([np.inf])
        raise InfeasibleError(f"no candidate site is within radius_m={radius_m:g} m of any of "
                              f"the {todo.size} demand cell(s) not yet served; the nearest is "
                              f"{float(d.min()):,.0f} m away; give candidates nearer the demand "
                              "(or canals through it), or a larger radius_m")
    if budget_vnd is not None and useful.any():
        cheapest = int(np.flatnonzero(useful)[np.argmin(cost[useful])])
        if budget_vnd < cost[cheapest]:
            raise InfeasibleError(
                f"budget_vnd {_fmt_vnd(budget_vnd)} is below the cheapest site that would "
                f"serve any demand: {site_ids[cheapest]} at {_fmt_vnd(cost[cheapest])} "
                f"(station {_fmt_vnd(station[cheapest])} + connection "
                f"{_fmt_vnd(conn_cost[cheapest])}); raise the budget to at least "
                f"{_fmt_vnd(cost[cheapest])} or give cheaper candidates")

    # Solve.
    early: _CurvePoints | None = None
    if open_ha > 0 and cover_all:
        sol, model = _solve_cover_all(weights, cover, cost if has_cost else None,
                                      time_limit_s=time_limit_s,
                                      curve=has_cost and curve_steps > 0)
    elif open_ha > 0:
        agg, agg_w, _ = _aggregate(cover, weights)
        if has_cost and curve_steps > 1 and budget_vnd is not None and agg.shape[0]:
            # The curve's budgets are known: its points run beside the solve at the budget.
            early = _CurvePoints(agg, agg_w, cost, weights, cover,
                                 [budget_vnd * k / curve_steps for k in range(1, int(curve_steps))],
                                 n_sites=n_stations, time_limit_s=time_limit_s)
        try:
            sol, model = _solve(weights, cover, cost if has_cost else None,
                                budget_vnd=budget_vnd, n_sites=n_stations,
                                time_limit_s=time_limit_s, aggregated=(agg, agg_w))
        except BaseException:
            if early is not None:
                early.close()
            raise
    else:  # existing stations serve everything: propose nothing
        sol, model = CoverSolution(np.zeros(n, dtype=bool), np.zeros(m, dtype=bool), 0.0, 0.0,
                                   "Optimal", 0.0), None
    status = sol.status if open_ha > 0 else "Nothing to serve"
    chosen = np.flatnonzero(sol.selected)
    log.info("siting: %d demand rows (%.1f %s; %.1f served by existing stations), "
             "%d candidates; %d sites chosen serving %.1f for %s (%s)", m, demand_ha, dem.unit,
             existing_ha, n, chosen.size, sol.objective, _fmt_vnd(sol.cost_vnd), status)
    if cover_all and open_ha > reachable_ha:
        log.warning("siting: %.1f %s of demand lies beyond radius_m=%g m of every candidate "
                    "and stays unserved; see SitingResult.unreachable",
                    open_ha - reachable_ha, dem.unit, radius_m)

    # Per-cell and per-site figures.
    new_cov = sol.covered & ~by_existing & (weights > 0)
    nearest_site = np.full(m, -1, dtype=np.int64)
    if chosen.size and new_cov.any():
        sub_i, sub_j = _pairs_within(points[new_cov], cand_pts[chosen], radius_m)
        d = shapely.distance(points[new_cov][sub_i], cand_pts[chosen][sub_j])
        order = np.lexsort((d, sub_i))
        first = np.ones(order.size, dtype=bool)
        first[1:] = sub_i[order][1:] != sub_i[order][:-1]
        rows = np.flatnonzero(new_cov)[sub_i[order][first]]
        nearest_site[rows] = chosen[sub_j[order][first]]
    hits = cover[:, chosen].astype(np.int64).sum(axis=1).A1 if chosen.size else np.zeros(m)
    sole = new_cov & (hits == 1)
    sites = cand.iloc[chosen].copy()
    sites = sites.drop(columns=[c for c in SITE_COLUMNS if c in sites.columns])
    assigned = np.bincount(nearest_site[nearest_site >= 0], weights=area_ha[nearest_site >= 0],
                           minlength=n)
    n_cells = np.bincount(nearest_site[nearest_site >= 0], minlength=n)
    sole_ha = np.zeros(n)
    if chosen.size:
        sole_rows = np.flatnonzero(sole)
        cover_chosen = cover[sole_rows][:, chosen].tocoo()
        np.add.at(sole_ha, chosen[cover_chosen.col], area_ha[sole_rows][cover_chosen.row])
    with np.errstate(divide="ignore", invalid="ignore"):
        per_billion = np.where(cost[chosen] > 0, assigned[chosen] / (cost[chosen] / _BILLION),
                               np.nan)
    data = {
        "site_id": site_ids[chosen], "cost_vnd": cost[chosen],
        "station_cost_vnd": station[chosen], "connection_cost_vnd": conn_cost[chosen],
        "connection_length_km": conn_km[chosen], "connection_to": conn_to[chosen],
        "covered_ha": assigned[chosen], "sole_covered_ha": sole_ha[chosen],
        "n_cells": n_cells[chosen], "ha_per_billion_vnd": per_billion,
    }
    for k, col in enumerate(SITE_COLUMNS):
        sites.insert(k, col, data[col])
    sites = gpd.GeoDataFrame(sites.drop(columns=cand.geometry.name),
                             geometry=gpd.GeoSeries(cand_pts[chosen], crs=metric)
                             .to_crs(out_crs).values, crs=out_crs).reset_index(drop=True)

    cells = dem.frame(out_crs)
    served = np.where(by_existing, "existing", np.where(new_cov, "new", "none"))
    cells.insert(2, "served_by", served)
    cells.insert(3, "site_id", np.where(nearest_site >= 0,
                                        site_ids[np.maximum(nearest_site, 0)], None))
    cells.insert(4, "reachable", reachable | by_existing)

    curve = _PendingCurve(lambda: _curve(
        model, cost, weights, cover, n_stations=n_stations,
        budget_vnd=sol.cost_vnd if cover_all else budget_vnd,
        steps=int(curve_steps) if has_cost else 0, final=sol, early=early))
    covered_ha = float(area_ha[new_cov].sum())
    return SitingResult(
        sites=sites, cells=cells, _curve=curve, covered_ha=covered_ha,
        existing_covered_ha=existing_ha, reachable_ha=reachable_ha, demand_ha=demand_ha,
        cost_vnd=sol.cost_vnd,
        ha_per_billion_vnd=(covered_ha / (sol.cost_vnd / _BILLION) if sol.cost_vnd > 0
                            else math.nan),
        objective=sol.objective, status=status, budget_vnd=budget_vnd, n_stations=n_stations,
        radius_m=float(radius_m), metric_crs=metric,
        unreachable=_unreachable(dem, weights, reachable, cand_pts), demand_unit=dem.unit)


def _unreachable(dem: _Demand, weights: np.ndarray, reachable: np.ndarray,
                 cand_pts: np.ndarray) -> pd.DataFrame:
    """Demand no existing station serves and no candidate reaches, with how far it is."""
    lost = np.flatnonzero((weights > 0) & ~reachable)
    dist = np.full(lost.size, np.nan)
    if lost.size and cand_pts.size:
        dist = shapely.STRtree(cand_pts).query_nearest(dem.points[lost], return_distance=True,
                                                       all_matches=False)[1]
    return pd.DataFrame({"cell_id": dem.ids[lost], dem.column: weights[lost],
                         "nearest_candidate_m": dist})


class _PendingCurve:
    """The budget curve, made at its first read (its points may still be solving)."""

    def __init__(self, make: Callable[[], pd.DataFrame]) -> None:
        self._make: Callable[[], pd.DataFrame] | None = make
        self._value: pd.DataFrame | None = None
        self._lock = threading.Lock()

    def result(self) -> pd.DataFrame:
        """The curve (made once, whichever thread asks first)."""
        with self._lock:
            if self._make is not None:
                self._value, self._make = self._make(), None
            return self._value


class _CurvePoints:
    """The curve's points below the budget, solved in order on a thread of their own
    while the solve at the budget runs (HiGHS releases the GIL).

    The points run as :func:`_curve` runs them, in order of budget in one HiGHS
    instance, each warm-started from the point before: when two station sets serve
    equally many hectares, a point keeps the set of the point before if it is still
    among the best (:meth:`_CoverModel.solve` keeps a start HiGHS does not beat).  The
    first point has no set before it (it starts from the greedy one); the solve at the
    budget, which :func:`_curve` would have handed it, only matters when it fits the
    first budget, and then
    :meth:`results` says so and :func:`_curve` runs the points again after it.
    """

    def __init__(self, agg: sparse.csr_matrix, agg_w: np.ndarray, cost: np.ndarray,
                 weights: np.ndarray, cover: sparse.csr_matrix, budgets: list[float], *,
                 n_sites: int | None, time_limit_s: float | None) -> None:
        self.budgets = budgets
        self._solve = lambda: _curve_points(_CoverModel(agg, agg_w, cost, time_limit_s), cost,
                                            weights, cover, budgets, n_sites=n_sites)
        self._pid = os.getpid()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoagri-curve")
        self._future = self._pool.submit(self._solve)
        self._pool.shutdown(wait=False)

    def results(self, final_model: _CoverModel) -> list[CoverSolution] | None:
        """The points, or None when the solve at the budget fits the first budget
        (it would have been the first point's warm start)."""
        # a forked copy of the process (geoagri.outputs) has no thread: it solves them itself
        points = self._future.result() if os.getpid() == self._pid else self._solve()
        last = final_model._last
        if last is None or not self.budgets:
            return points
        spent = float(np.asarray(final_model.cost)[last > 0.5].sum())
        return None if spent <= self.budgets[0] * (1 + 1e-6) else points

    def close(self) -> None:
        """Wait for the thread (after the solve at the budget failed)."""
        with contextlib.suppress(Exception):
            self._future.result()


def _curve_points(model: _CoverModel, cost: np.ndarray, weights: np.ndarray,
                  cover: sparse.csr_matrix, budgets: list[float], *, n_sites: int | None
                  ) -> list[CoverSolution]:
    """The model solved at each budget in turn, each solve warm-started from the last."""
    points = []
    for b in budgets:
        x, _, _ = model.solve(budget_vnd=b, n_sites=n_sites, exact_count=False)
        x = _drop_redundant(cover, weights, x, cost)
        cov = np.asarray(cover @ x.astype(np.int64)).ravel() > 0
        points.append(CoverSolution(x, cov, float(weights[cov].sum()), float(cost[x].sum()),
                                    "", 0.0))
    return points


def _curve(model: _CoverModel | None, cost: np.ndarray, weights: np.ndarray,
           cover: sparse.csr_matrix, *, budget_vnd: float | None, n_stations: int | None,
           steps: int, final: CoverSolution, early: _CurvePoints | None = None
           ) -> pd.DataFrame:
    """Hectares served against budget (see site_pump_stations); ``early`` holds the
    points below ``budget_vnd`` when they were started beside the final solve."""
    rows: list[tuple[float, float, float, int]] = []
    budgets: list[float] = []
    points: list[CoverSolution] = []
    if steps > 0 and model is not None:
        top = budget_vnd if budget_vnd is not None else model.min_cost_full_cover()
        budgets = [top * k / steps for k in range(1, steps + 1)]
        todo = budgets[:-1] if budget_vnd is not None else budgets  # the last is the result
        found = early.results(model) if early is not None else None
        if found is None:
            found = _curve_points(model, cost, weights, cover, todo,
                                  n_sites=n_stations if budget_vnd is not None else None)
        points = found + ([final] if budget_vnd is not None else [])
    for b, sol in zip(budgets, points, strict=True):
        rows.append((b, sol.objective, sol.cost_vnd, int(sol.selected.sum())))
    curve = pd.DataFrame(rows, columns=CURVE_COLUMNS[:4])
    with np.errstate(divide="ignore", invalid="ignore"):
        curve["ha_per_billion_vnd"] = np.where(curve["cost_vnd"] > 0,
                                               curve["covered_ha"] / (curve["cost_vnd"]
                                                                      / _BILLION), np.nan)
    return curve
