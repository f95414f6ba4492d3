"""A plan's results, computed once: what every output of ``geoagri run`` draws.

:func:`compute` runs the analyses of a plan once, in its context
(:mod:`geoagri.context`), and returns :class:`PlanResults`: the linkage table
by commune, the report's tables (progress against the targets and the
appendices) and the infrastructure scenario (coverage, gaps, proposed
stations and lines).  The renderers — :func:`geoagri.report.write_report`,
:func:`geoagri.maps.plan_map`, :func:`geoagri.export.export_layers` and the
command line — draw these results and compute no figure, so a figure that
appears in the report, the map and the CLI is one value.

An analysis that fails does not stop the others: its error is kept in
``failed`` (by step name) and the outputs that need it say so.

Examples
--------
>>> from geoagri.datasets import demo
>>> res = compute(demo(), curve_steps=0)
>>> res.year, sorted(res.failed)
(2024, [])
>>> round(float(res.linkage["area_ha"].sum()))           # the report's figure ...
23865
>>> res.map_results().linkage is res.linkage              # ... is the map's
True
"""

from __future__ import annotations

import html
import logging
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from geoagri._accounting import feature_accounting
from geoagri.errors import GeoagriError, PlanError

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.infrastructure import InfrastructureResult
    from geoagri.maps import MapResults
    from geoagri.plan import Plan
    from geoagri.report import ReportData

__all__ = ["INFRASTRUCTURE_KINDS", "PlanResults", "StepFailure", "compute", "reporting_year",
           "start_infrastructure"]

log = logging.getLogger("geoagri")

#: The analyses :func:`compute` runs, in order.
STEPS = ("linkage", "indicators", "accounting", "infrastructure", "report", "carry_to_2025")

#: The kinds of layer the infrastructure scenario needs (and reads nothing else of a plan).
INFRASTRUCTURE_KINDS = ("communes", "zones", "pumps", "power")


@dataclass(frozen=True)
class StepFailure:
    """An analysis or output that failed: its name, the message and the error's type."""

    step: str
    message: str
    error_type: str
    expected: bool  # a GeoagriError (a problem of the data or settings), not a bug

    @classmethod
    def of(cls, step: str, err: BaseException) -> StepFailure:
        """The failure of ``step`` from the exception it raised (logged, with its traceback
        at DEBUG when it is not a :class:`~geoagri.errors.GeoagriError`)."""
        expected = isinstance(err, GeoagriError)
        message = str(err) if expected else f"unexpected {type(err).__name__}: {err}"
        log.info("%s failed: %s", step, message)
        if not expected:
            log.debug("".join(traceback.format_exception(err)))
        return cls(step, message, type(err).__name__, expected)


@dataclass(frozen=True)
class PlanResults:
    """Everything :func:`compute` found for a plan.

    Attributes
    ----------
    plan : Plan
        The plan (its ``context`` is what every figure was computed in).
    year : int
        Reporting year.
    linkage : DataFrame or None
        :func:`geoagri.indicators.linkage_by_commune` for ``year``: the
        report's appendix I and the map's choropleth.
    indicators : DataFrame or None
        Every indicator of the plan (the built-in catalogue and the plan's
        own ``[indicators.NAME]``) at every level, category and period, from
        the first year a target needs (:func:`geoagri.progress.first_year`)
        through ``year``: :func:`geoagri.indicator_engine.compute_indicators`,
        computed once, with ``linkage_area`` read from ``linkage``.  The
        report compares the targets with it and ``geoagri run`` writes it to
        ``tables/indicators.csv``; its ``attrs["not_computed"]`` says which
        indicators could not be computed, and why.
    infrastructure : InfrastructureResult or None
        Coverage, gaps and proposals (None when the plan lacks communes,
        zones, pumps or power, or the step failed).
    report : ReportData or None
        The report's tables (None when the step failed).
    carried : DataFrame or None
        Appendix I carried onto the communes of 1 July 2025 (plans with
        ``carry_to_2025 = true``).
    accounting : DataFrame or None
        Per layer: features read, used, repaired, outside every commune and
        dropped, with why (:func:`geoagri._accounting.feature_accounting`).
    failed : dict of str to StepFailure
        The analyses that failed, by step name.
    skipped : dict of str to str
        The analyses not run, with why.
    """

    plan: Plan
    year: int
    linkage: pd.DataFrame | None = None
    indicators: pd.DataFrame | None = None
    infrastructure: InfrastructureResult | None = None
    report: ReportData | None = None
    carried: pd.DataFrame | None = None
    accounting: pd.DataFrame | None = None
    failed: dict[str, StepFailure] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def map_results(self) -> MapResults:
        """What the map draws of these results (gaps, proposals, linkage, service area)."""
        from geoagri._map_content import MapResults  # not geoagri.maps: no folium

        infra = self.infrastructure
        return MapResults(
            gaps=None if infra is None else infra.gaps,
            sites=None if infra is None or infra.siting is None else infra.siting.sites,
            lines=None if infra is None or not len(infra.lines) else infra.lines,
            service_radius_m=self.plan.service.pump_radius_m,
            linkage=self.linkage,
            pump_service=None if infra is None else infra.pump_service,
            parcel_areas=self.parcel_areas())

    def parcel_areas(self) -> pd.DataFrame | None:
        """The parcels' area by commune × land use: the catalogue's ``parcel_area``.

        Its commune rows by land use in the reporting year, from the indicator
        table: ``commune_id``, ``land_use``, ``area_ha`` and ``n_parcels`` (the
        indicator's ``n_features``), the figures an aggregated parcels layer of
        the map shows.  None when the table has none (no parcels layer, or the
        indicators step failed).

        Examples
        --------
        >>> from geoagri.datasets import demo
        >>> areas = compute(demo(), curve_steps=0).parcel_areas()
        >>> int(areas["n_parcels"].sum()), round(float(areas["area_ha"].sum()))
        (2744, 1672)
        """
        table = self.indicators
        if table is None or not len(table):
            return None
        cats = table["categories"].astype(str)
        rows = table[(table["indicator"] == "parcel_area") & (table["level"] == "commune")
                     & (table["year"] == self.year) & cats.str.startswith("land_use=")]
        if not len(rows):  # one row per commune × land use (not the communes' totals)
            return None
        return pd.DataFrame({
            "commune_id": rows["unit_id"].to_numpy(),
            "land_use": rows["categories"].astype(str).str.removeprefix("land_use=")
            .replace("", None).to_numpy(),
            "area_ha": rows["value"].to_numpy(dtype=float),
            "n_parcels": rows["n_features"].to_numpy()})

    def summary(self) -> pd.DataFrame:
        """One row per headline figure: indicator, target, actual, % achieved.

        Examples
        --------
        >>> from geoagri.datasets import demo
        >>> float(compute(demo(), curve_steps=0).summary().iloc[0]["achieved_pct"])
        112.4
        """
        if self.report is None:
            return pd.DataFrame(columns=["indicator", "year", "target", "actual",
                                         "achieved_pct"])
        p = self.report.progress
        p = p[p["scope"] != "commune"]
        cols = [c for c in ("indicator", "season", "source", "year", "unit", "target",
                            "actual", "achieved_pct") if c in p.columns]
        return p[cols].reset_index(drop=True)

    def _repr_html_(self) -> str:
        head = (f"<strong>Results of plan {html.escape(str(self.plan.name))}, "
                f"{self.year}</strong>")
        body = self.summary().to_html(index=False, escape=True, border=0, na_rep="—")
        notes = "".join(f"<li>{html.escape(f.step)} failed: {html.escape(f.message)}</li>"
                        for f in self.failed.values())
        notes += "".join(f"<li>{html.escape(k)} not run: {html.escape(v)}</li>"
                         for k, v in self.skipped.items())
        return f"<div>{head}{body}<ul>{notes}</ul></div>"


def reporting_year(plan: Plan, year: int | None = None) -> int:
    """The year a plan reports on: ``year`` when given, else the plan's ``year``.

    Raises
    ------
    PlanError
        If neither says one.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> reporting_year(demo()), reporting_year(demo(), 2023)
    (2024, 2023)
    """
    year = year if year is not None else plan.year
    if year is None:
        raise PlanError(
            f"plan '{plan.name}' says no reporting year: pass --year 2024 (year=2024) or "
            "write year = 2024 in the plan's [plan] table")
    return int(year)


class _Scenario(Future):
    """A future of the infrastructure scenario, with the settings it was started with."""

    def __init__(self, settings: tuple[float | None, int]):
        super().__init__()
        self.settings = settings


def start_infrastructure(plan: Plan, *, budget_vnd: float | None = None,
                         curve_steps: int = 5) -> Future | None:
    """Start a plan's infrastructure scenario on a thread of its own.

    The scenario (:func:`geoagri.infrastructure.infrastructure`) reads only the
    layers of :data:`INFRASTRUCTURE_KINDS`, so it can start as soon as they are
    read, while the others still are (:func:`geoagri.plan.read_plan`'s ``first``),
    and be handed to :func:`compute` as ``started``.  The thread is a daemon: a
    command that stops on an error (a plan whose other layers fail to read) does not
    wait for it.

    Parameters
    ----------
    plan : Plan
        A plan with at least the layers of :data:`INFRASTRUCTURE_KINDS`.
    budget_vnd : float, optional
        Budget of the scenario, VND (default: the plan's).
    curve_steps : int, default 5
        Points of the siting's ha-against-budget curve (0: none).

    Returns
    -------
    concurrent.futures.Future or None
        Its result is the :class:`~geoagri.infrastructure.InfrastructureResult`
        (or the scenario's error); ``None`` when the plan lacks one of the kinds.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> started = start_infrastructure(demo(), curve_steps=0)
    >>> len(started.result().siting.sites) > 0
    True
    """
    kinds = {plan.sources[n].kind for n in plan.layers}
    if not set(INFRASTRUCTURE_KINDS) <= kinds:
        return None
    future = _Scenario((budget_vnd, curve_steps))

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:  # imported here (0.3 s): the caller goes on reading meanwhile
                from geoagri.infrastructure import infrastructure

                future.set_result(infrastructure(plan, curve_steps=curve_steps,
                                                 budget_vnd=budget_vnd))
            except Exception as err:  # handed to whoever waits for it
                future.set_exception(err)

    threading.Thread(target=run, name="geoagri-infrastructure", daemon=True).start()
    return future


def compute(
    plan: Plan,
    *,
    year: int | None = None,
    budget_vnd: float | None = None,
    curve_steps: int = 5,
    on_step: Callable[[str], None] | None = None,
    started: Future | None = None,
) -> PlanResults:
    """Run a plan's analyses once, in its context; a failing one does not stop the others.

    Parameters
    ----------
    plan : Plan
        A plan with a ``communes`` layer (others as available).
    year : int, optional
        Reporting year (default: the plan's ``year``).
    budget_vnd : float, optional
        Budget of the infrastructure scenario, VND (default: the plan's).
    curve_steps : int, default 5
        Points of the siting's ha-against-budget curve (0: none).
    on_step : callable, optional
        Called with each step's name before it runs (progress display).
    started : Future, optional
        The infrastructure scenario already started by :func:`start_infrastructure`
        with the same ``budget_vnd`` and ``curve_steps`` (e.g. while the plan's other
        layers were read); else it is started here.

    Returns
    -------
    PlanResults

    Raises
    ------
    PlanError
        If no reporting year is given or set in the plan.
    ValueError
        If ``started`` was started with another budget or number of curve steps.
    """
    year = reporting_year(plan, year)
    if plan.settings.get("carry_to_2025") and plan.era == "new":  # before any work
        raise PlanError(
            f"plan '{plan.name}': carry_to_2025 = true, but its communes are already the 2025 "
            "ones (era = \"new\"); remove the setting or set era = \"old\"")
    found: dict[str, Any] = {}
    failed: dict[str, StepFailure] = {}
    skipped: dict[str, str] = {}

    def step(name: str, func: Callable[[], Any]) -> None:
        if on_step is not None:
            on_step(name)
        try:
            found[name] = func()
        except Exception as err:  # an analysis's failure is reported, the others go on
            failed[name] = StepFailure.of(name, err)

    # The infrastructure scenario needs only the plan's layers: it runs on its own
    # thread while the linkage and the indicators are computed (its solver and its
    # geometry work release the GIL), and is waited for at its step.
    if started is None:
        started = start_infrastructure(plan, budget_vnd=budget_vnd, curve_steps=curve_steps)
    elif getattr(started, "settings", None) != (budget_vnd, curve_steps):
        raise ValueError("compute: the scenario was started with (budget_vnd, curve_steps) = "
                         f"{getattr(started, 'settings', None)}, not "
                         f"{(budget_vnd, curve_steps)}; start it with the same settings")
    if started is None:
        skipped["infrastructure"] = "the plan needs communes, zones, pumps and power layers"

    from geoagri.indicators import plan_linkage

    step("linkage", lambda: plan_linkage(plan, year=year))
    if "linkage" in found:
        from geoagri.indicator_engine import compute_indicators
        from geoagri.progress import first_year, plan_targets

        step("indicators", lambda: compute_indicators(
            plan, year=year, since=first_year(plan_targets(plan), year),
            known_areas={"linkage_area": found["linkage"]}))
    else:
        skipped["indicators"] = "the linkage table failed"
    # the accounting needs only the layers: counted while the scenario is still running
    step("accounting", lambda: feature_accounting(
        plan.layers, {n: plan.sources[n].kind for n in plan.layers}, crs=plan.metric_crs))
    if started is not None:
        step("infrastructure", started.result)
    if "linkage" in found:
        from geoagri.report import build_report_data

        infra = found.get("infrastructure")
        step("report", lambda: build_report_data(plan, year=year, linkage=found["linkage"],
                                                 indicators=found.get("indicators"),
                                                 proposals=infra if infra is not None
                                                 else False))
    else:
        skipped["report"] = "the linkage table failed"
    if plan.settings.get("carry_to_2025") and "report" in found:
        step("carry_to_2025", lambda: _carry_to_2025(plan, found["report"]))
    report = found.get("report")
    carried = None
    if "carry_to_2025" in found:
        carried = found["carry_to_2025"]
        report = replace(report, lineage=carried.attrs["lineage"])
    return PlanResults(plan=plan, year=year, linkage=found.get("linkage"),
                       indicators=found.get("indicators"),
                       infrastructure=found.get("infrastructure"), report=report,
                       carried=carried, accounting=found.get("accounting"), failed=failed,
                       skipped=skipped)


def _carry_to_2025(plan: Plan, data: ReportData) -> pd.DataFrame:
    """Appendix I carried onto the 2025 communes (its ``attrs["lineage"]`` is appendix V)."""
    from geoagri.reform import OUTSIDE_NAMES, lineage, to_new_communes

    table = data.linkage_by_commune.copy()
    outside = table["commune_id"].isna()
    table.loc[outside, "commune_name"] = OUTSIDE_NAMES[1]
    lin = lineage(provinces=plan.province, era="old")
    carried = to_new_communes(table, lin, code_col="commune_id", name_col="commune_name",
                              extensive=["area_ha", "overlap_ha", "target_ha"], intensive={})
    carried["achieved_pct"] = carried["area_ha"] / carried["target_ha"] * 100
    return carried
