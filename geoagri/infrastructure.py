"""The infrastructure scenario of a plan: coverage, gaps, new pump stations, new lines.

One call chains the analyses the way seed 000's appendix IV needs them: the
rice area's coverage by pump stations and three-phase power
(:func:`geoagri.coverage.coverage`), the unserved polygons
(:func:`geoagri.coverage.gaps`), new pump stations within a budget
(:func:`geoagri.siting.site_pump_stations`, demand = rice area without pump
service) and the three-phase lines that connect them
(:func:`geoagri.routing.route_power_lines`).  It only orchestrates: every
number comes from those functions.

Settings come from the plan's context (``plan.service``, resolved once from
``[settings]``: :class:`geoagri.context.ServiceSettings`), with these defaults:

=========================  ==============  ==========================================
setting                    default         meaning
=========================  ==============  ==========================================
``crop``                   ``"rice"``      zones whose ``crop`` is served (all if "")
``pump_radius_m``          1000            service radius of a pump station, m
``power_reach_m``          500             reach of a three-phase line, m
``canals``                 none            canal lines (candidate sites along them)
``site_radius_m``          pump radius     service radius of a new station, m
``station_cost_vnd``       800,000,000     cost of one new station, VND
``line_cost_vnd_per_km``   300,000,000     cost of new three-phase line, VND/km
``budget_vnd``             none            budget for stations and their connection
``cover_all``              false           instead of a budget: the least cost that
                                           serves all reachable rice (set covering)
``time_limit_s``           120             HiGHS stops a siting solve after this (the
                                           result's status and gap say so)
``cell_m``                 250             demand cell size, m
``candidate_spacing_m``    500             spacing of candidate sites along canals, m
=========================  ==============  ==========================================

Examples
--------
>>> from geoagri.datasets import demo
>>> result = infrastructure(demo(), budget_vnd=4.4e9, curve_steps=0)
>>> result.siting.cost_vnd <= 4.4e9
True
>>> sorted(result.appendix_iv.columns)[:3]
['commune_id', 'commune_name', 'connection_cost_vnd']
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoagri.coverage import service_coverage
from geoagri.errors import PlanError
from geoagri.io import read_vector
from geoagri.plan import Plan
from geoagri.routing import bill_of_quantities, route_power_lines
from geoagri.schema import spec
from geoagri.siting import SitingResult, site_pump_stations

__all__ = ["InfrastructureResult", "infrastructure"]

log = logging.getLogger("geoagri")

@dataclass(frozen=True)
class InfrastructureResult:
    """Coverage, gaps and the proposals of one scenario.

    Attributes
    ----------
    coverage : DataFrame
        Per commune and crop: ha served by pumps, by three-phase power, by
        both, by neither (:func:`geoagri.coverage.coverage`).
    gaps : GeoDataFrame
        Unserved polygons with what is missing (``pump``, ``power``, ``both``).
    siting : SitingResult or None
        New stations (None when nothing lacks pump service).
    lines : GeoDataFrame
        New three-phase lines connecting the new stations.
    bill : DataFrame
        Bill of quantities of the lines (per station and total).
    appendix_iv : DataFrame
        One row per proposed station, in the shape of the report's appendix
        IV: ``site_id``, ``commune_id``, ``commune_name``, ``served_ha``,
        ``station_cost_vnd``, ``line_length_km``, ``connection_cost_vnd``,
        ``cost_vnd``.
    settings : dict
        The settings used (:class:`geoagri.context.ServiceSettings` as a dict).
    pump_service : GeoSeries or None
        The land served by pumps that coverage and gaps were measured
        against (drawn by the map).
    """

    coverage: pd.DataFrame
    gaps: gpd.GeoDataFrame
    siting: SitingResult | None
    lines: gpd.GeoDataFrame
    bill: pd.DataFrame
    appendix_iv: pd.DataFrame
    settings: dict[str, Any]
    pump_service: gpd.GeoSeries | None = None


def infrastructure(plan: Plan, *, curve_steps: int = 5, **settings: Any) -> InfrastructureResult:
    """Run the infrastructure scenario of a plan.

    Parameters
    ----------
    plan : Plan
        With ``communes``, ``zones``, ``pumps`` and ``power`` layers (one of
        each kind); ``[settings] canals`` names the canal lines.
    curve_steps : int, default 5
        Points of the ha-against-budget curve (0: no curve).
    **settings
        Overrides of the plan's settings (module docstring), e.g.
        ``budget_vnd=4.4e9``.

    Returns
    -------
    InfrastructureResult

    Raises
    ------
    PlanError
        If a layer is missing.
    OptionError
        If a setting is unknown or not a positive number.
    InfeasibleError
        From siting or routing, saying why (e.g. the budget is below the
        cheapest station).
    """
    service = plan.service.replace(**settings)
    s = dataclasses.asdict(service)
    communes = plan.only("communes")
    zones = plan.only("zones")
    if s["crop"] and "crop" in zones.columns:
        crop = spec("zones").columns["crop"].canonical_value(s["crop"])  # "Lúa" is rice
        chosen = zones[zones["crop"] == crop]
        if chosen.empty and len(zones):
            raise PlanError(f"no zone grows crop = {s['crop']!r}; the zones' crops are "
                            f"{sorted(zones['crop'].dropna().astype(str).unique())}. Fix: set "
                            "[settings] crop to one of them")
        zones = chosen
    pumps, power = plan.only("pumps"), plan.only("power")
    canals = None
    if "canals" in plan.settings:
        canals = read_vector(plan.path(plan.settings["canals"]), name="canals")
    common = {"communes": communes, "pumps": pumps, "pump_radius_m": s["pump_radius_m"],
              "power": power, "power_reach_m": s["power_reach_m"], "by": "crop",
              "crs": plan.metric_crs}
    served = service_coverage(zones, **common)
    cov, gap = served.coverage, served.gaps
    demand = gap[gap["missing"].isin(["pump", "both"])]
    siting = None
    lines = gpd.GeoDataFrame({"target_id": []}, geometry=[], crs=zones.crs)
    bill = pd.DataFrame()
    appendix = pd.DataFrame(columns=["site_id", "commune_id", "commune_name", "served_ha",
                                     "station_cost_vnd", "line_length_km",
                                     "connection_cost_vnd", "cost_vnd"])
    if len(demand):
        siting = site_pump_stations(
            demand, radius_m=s["site_radius_m"], canals=canals,
            candidate_spacing_m=s["candidate_spacing_m"], cell_m=s["cell_m"],
            budget_vnd=None if s["cover_all"] else s["budget_vnd"],
            cover_all=bool(s["cover_all"]), station_cost_vnd=s["station_cost_vnd"], power=power,
            line_cost_vnd_per_km=s["line_cost_vnd_per_km"], curve_steps=curve_steps,
            crs=plan.metric_crs, time_limit_s=s["time_limit_s"])
        if len(siting.sites):
            lines = route_power_lines(siting.sites, power, canals=canals,
                                      cost_vnd_per_km=s["line_cost_vnd_per_km"],
                                      id_column="site_id", crs=plan.metric_crs)
            bill = bill_of_quantities(lines)
            appendix = _appendix_iv(siting.sites, lines, communes)
    log.info("infrastructure: %d gap polygons, %d new stations, %.1f km of new line",
             len(gap), 0 if siting is None else len(siting.sites),
             float(lines["length_km"].sum()) if "length_km" in lines else 0.0)
    return InfrastructureResult(cov, gap, siting, lines, bill, appendix, s,
                                served.pump_service)


def _appendix_iv(sites: gpd.GeoDataFrame, lines: gpd.GeoDataFrame,
                 communes: gpd.GeoDataFrame) -> pd.DataFrame:
    """Stations with the commune they stand in, hectares served and costs."""
    where = gpd.sjoin(sites[["site_id", "geometry"]].to_crs(communes.crs),
                      communes[["commune_id", "commune_name", "geometry"]],
                      how="left", predicate="intersects").drop_duplicates("site_id")
    per_line = lines.groupby("target_id")[["length_km", "cost_vnd"]].sum()
    out = pd.DataFrame({
        "site_id": sites["site_id"].to_numpy(),
        "commune_id": where.set_index("site_id").loc[sites["site_id"], "commune_id"].to_numpy(),
        "commune_name": where.set_index("site_id").loc[sites["site_id"],
                                                       "commune_name"].to_numpy(),
        "served_ha": sites["covered_ha"].to_numpy(dtype=float),
        "station_cost_vnd": sites["station_cost_vnd"].to_numpy(dtype=float),
    })
    out["line_length_km"] = out["site_id"].map(per_line["length_km"]).fillna(0.0)
    out["connection_cost_vnd"] = out["site_id"].map(per_line["cost_vnd"]).fillna(0.0)
    out["cost_vnd"] = out["station_cost_vnd"] + out["connection_cost_vnd"]
    return out.assign(served_ha=np.round(out["served_ha"], 6))
