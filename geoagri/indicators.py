"""Actual figures of a plan, in the facts format of :mod:`geoagri.progress`.

:func:`actuals` is the engine's table (:func:`geoagri.indicator_engine.compute_indicators`)
in the facts format :func:`geoagri.progress.progress` reads: one row per
indicator × scope unit × year (× season), values *per year* (progress sums them
for cumulative, "lũy kế", targets).  Every indicator of the catalogue
(``geoagri/datasets/indicators.toml``, listed in docs/indicators.md) and every
``[indicators.NAME]`` of the plan is given, for every commune of the
``communes`` layer (``scope="commune"``, ``scope_id`` the commune code) and
each district (``scope="district"``, ``scope_id`` the district's code, else
its name, else the plan's ``district``).  :func:`linkage_by_commune` is the
per-commune linkage table the report, the map and ``linkage_area`` share.

The indicators of the first reports
-----------------------------------
================================= ====== ============================================
indicator                         unit   definition (for year Y)
================================= ====== ============================================
``linkage_area``                  ha     area of the ``zones`` of kind ``linkage``
                                         active in Y (``status`` active or empty,
                                         ``start_year`` ≤ Y or empty), overlaps
                                         counted once; a stock, not a flow
``hightech_rice_area``            ha     area of the ``models`` whose season ends
                                         in Y (``DX 2023-2024`` and ``HT 2024``
                                         both count for 2024): ``declared_area_ha``,
                                         else measured
``hightech_rice_area_supported``  ha     the same, ``support == "supported"``
``hightech_rice_area_self``       ha     the same, ``support == "self"``
``models``, ``models_self``       count  number of supported / self-replicated
                                         models whose season ends in Y
``works_completed``               count  ``works`` (not ``work_type`` power) with
                                         ``status`` completed and ``year`` Y
``works_completed_<investor>``    count  the same for one ``investor``
``power_works_completed``         count  ``works`` of ``work_type`` power
``cooperatives_founded``          count  ``cooperatives`` of ``coop_type`` htx with
                                         ``founded_year`` Y (``…_groups_…``: tht)
================================= ====== ============================================

Which years are given: stocks (``linkage_area``) and cooperative counts for
every year from ``since`` to ``year``; the model indicators only for years in
which the ``models`` layer has a season ending, the works counts only for
years some work has as ``year`` (``years = "in_layer"``): a layer that says
nothing about a year gives no fact for it, rather than a false 0.

Examples
--------
>>> from geoagri.datasets import demo
>>> facts = actuals(demo(), year=2024)
>>> whole = facts.query("scope == 'district' and season.isna()").set_index("indicator")
>>> whole.loc[["linkage_area", "hightech_rice_area", "works_completed"], "actual"].round()
indicator
linkage_area          23865.0
hightech_rice_area     1300.0
works_completed           0.0
Name: actual, dtype: float64
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from geoagri.errors import OptionError, PlanError
from geoagri.indicator_engine import (
    catalogue,
    commune_of,
    compute_indicators,
    model_area_ha,
    season_end_year,
    select_features,
)

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

__all__ = ["ACTUALS_COLUMNS", "COUNTS", "INDICATORS", "INVESTORS", "LINKAGE_COLUMNS", "actuals",
           "commune_of", "facts_of", "linkage_by_commune", "linkage_zones", "measured_in",
           "model_area_ha", "plan_linkage", "season_end_year"]

log = logging.getLogger("geoagri")

#: Investor levels for the ``works_completed_<investor>`` indicators.
INVESTORS = ("central", "province", "district", "commune", "people", "enterprise")

_BUILTIN = catalogue()

#: The built-in indicators: id → (unit, label); the catalogue is
#: :func:`geoagri.indicator_engine.catalogue`.
INDICATORS: dict[str, tuple[str, str]] = {
    name: (ind.unit, ind.label_en) for name, ind in _BUILTIN.items()}

#: What each count indicator counts: a target in another kind of count (hộ for works)
#: does not measure it (see :func:`geoagri.units.compatible`).
COUNTS: dict[str, str] = {name: ind.counts for name, ind in _BUILTIN.items() if ind.counts}


def measured_in(indicator: str) -> str | None:
    """The unit a built-in indicator is measured in, a count's own kind for counts.

    Facts give counts as ``count``; this says what is counted, so that a
    target is checked against it (``"12 mô hình"`` fits ``models``, ``"12
    hộ"`` does not).  ``None`` for an indicator that is not built in.

    Examples
    --------
    >>> measured_in("linkage_area"), measured_in("cooperatives_founded"), measured_in("x")
    ('ha', 'HTX', None)
    """
    if indicator in COUNTS:
        return COUNTS[indicator]
    return INDICATORS[indicator][0] if indicator in INDICATORS else None


#: Columns of the table :func:`actuals` returns.
ACTUALS_COLUMNS = ("indicator", "unit", "scope", "scope_id", "scope_name", "year", "season",
                   "actual")


def linkage_zones(zones: gpd.GeoDataFrame, *, year: int | None) -> gpd.GeoDataFrame:
    """The linkage zones active in a year: the zones ``linkage_area`` counts.

    Parameters
    ----------
    zones : GeoDataFrame
        A ``zones`` layer.
    year : int or None
        Calendar year (None: whatever their ``start_year``).

    Returns
    -------
    GeoDataFrame
        The rows of ``zones`` the ``linkage_area`` indicator selects (its
        ``where`` in the catalogue: ``zone_kind`` linkage, ``status`` active
        or empty, ``start_year`` at most ``year`` or empty); a copy.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> zones = demo()["zones"]
    >>> len(linkage_zones(zones, year=2024)), len(linkage_zones(zones, year=2017))
    (14, 1)
    """
    return zones[select_features(_BUILTIN["linkage_area"], zones, year=year)].copy()


#: Columns of :func:`linkage_by_commune`.
LINKAGE_COLUMNS = ("commune_id", "commune_name", "commune_area_ha", "area_ha", "overlap_ha",
                   "commune_share_pct")


def linkage_by_commune(zones: gpd.GeoDataFrame | None, communes: gpd.GeoDataFrame, *,
                       year: int | None, crs: Any) -> pd.DataFrame:
    """Linkage area per commune in a year: the one definition every output uses.

    The report's appendix I, the ``linkage_area`` indicator (district figures
    are sums of these rows), the map's coverage choropleth and ``geoagri run``
    all read this table, so one plan gives one figure.

    Parameters
    ----------
    zones : GeoDataFrame or None
        A ``zones`` layer; its active linkage zones of ``year`` count
        (:func:`linkage_zones`).  None: no linkage anywhere.
    communes : GeoDataFrame
        A ``communes`` layer.
    year : int or None
        Calendar year (None: every active linkage zone, whatever its
        ``start_year``).
    crs : CRS-like
        The plan's metric CRS (``plan.metric_crs``): the commune and linkage
        areas are measured in it.

    Returns
    -------
    DataFrame
        :data:`LINKAGE_COLUMNS`, one row per commune in the layer's order:
        ``commune_id`` (string), ``commune_name``, ``commune_area_ha``,
        ``area_ha`` (linkage area, overlaps counted once),
        ``overlap_ha`` (area counted once that zones share),
        ``commune_share_pct`` (linkage area as a % of the commune's area);
        plus, when linkage zones reach outside every commune, one row with
        no ``commune_id`` holding that area.  ``attrs["year"]`` is ``year``.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> t = linkage_by_commune(plan["zones"], plan["communes"], year=2024,
    ...                        crs=plan.metric_crs)
    >>> round(float(t["area_ha"].sum()))
    23865
    """
    from geoagri.area import area_by_zone
    from geoagri.crs import area_ha

    ids = communes["commune_id"].astype(str)
    table = pd.DataFrame({"commune_id": pd.array(ids.to_numpy(), dtype="string"),
                          "commune_name": communes["commune_name"].to_numpy(),
                          "commune_area_ha": area_ha(communes.geometry, crs=crs).to_numpy()})
    z = linkage_zones(zones, year=year) if zones is not None else None
    cols = ["area_ha", "overlap_ha", "commune_share_pct"]
    if z is not None and len(z):
        t = area_by_zone(z, communes, by=("zone_kind",), dissolve=True, level="commune",
                         crs=crs)
        inside = t[t["commune_id"].notna()]
        inside = inside.groupby(inside["commune_id"].astype(str))[cols[:2]].sum()
        table = table.join(inside, on="commune_id")
        outside = t[t["commune_id"].isna()]
        out_ha = float(outside["area_ha"].sum())
        if out_ha > 0:
            log.info("linkage %s: %.1f ha of linkage zones lie outside every commune",
                     year, out_ha)
            table = pd.concat([table, pd.DataFrame([{
                "commune_id": pd.NA, "commune_name": None, "commune_area_ha": math.nan,
                "area_ha": out_ha, "overlap_ha": float(outside["overlap_ha"].sum())}])],
                ignore_index=True)
    for col in cols[:2]:
        table[col] = table[col].fillna(0.0) if col in table else 0.0
    table["commune_share_pct"] = table["area_ha"] / table["commune_area_ha"] * 100
    table = table.astype({"commune_id": "string"})
    table.attrs["year"] = year
    return table[list(LINKAGE_COLUMNS)]




def plan_linkage(plan: Plan, *, year: int | None) -> pd.DataFrame:
    """The plan's :func:`linkage_by_commune` table: its zones, its communes, its metric CRS.

    A plan with several ``zones`` layers counts them together (a zone drawn in
    two layers is counted once); a plan without one has no linkage anywhere.
    The results (:func:`geoagri.results.compute`), the report and the map all
    take their linkage figures from here.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> round(float(plan_linkage(demo(), year=2024)["area_ha"].sum()))
    23865
    """
    layers = [g for g in plan.of_kind("zones").values() if len(g)]
    zones = None
    if len(layers) == 1:
        zones = layers[0]
    elif layers:
        crs = layers[0].crs
        zones = gpd.GeoDataFrame(pd.concat([z.to_crs(crs) for z in layers], ignore_index=True),
                                 geometry=layers[0].geometry.name, crs=crs)
    return linkage_by_commune(zones, plan.only("communes"), year=year, crs=plan.metric_crs)


def actuals(
    plan: Plan,
    *,
    year: int,
    since: int | None = None,
    scopes: Iterable[str] = ("province", "district", "commune"),
    linkage: pd.DataFrame | None = None,
    indicators: Iterable[str] | None = None,
) -> pd.DataFrame:
    """The plan's indicators per year, commune, district and province, as progress's facts.

    Parameters
    ----------
    plan : Plan
        A plan with a ``communes`` layer; an indicator whose layer is missing
        gives no rows (so progress notes its targets as without actual).
    year : int
        Last year computed (the report's year).
    since : int, optional
        First year computed (default ``year``); use the earliest
        ``start_year`` of the targets for cumulative ("lũy kế") targets.
    scopes : iterable of {"province", "district", "commune"}
        Scope levels to give (districts and provinces by official code,
        :mod:`geoagri.hierarchy`; a target names one by code or by name).
    linkage : DataFrame, optional
        The :func:`linkage_by_commune` table of ``year`` when already computed
        (its ``attrs["year"]`` must be ``year``); reused, not recomputed.
    indicators : iterable of str, optional
        Ids to give (default: the whole catalogue and the plan's own).

    Returns
    -------
    DataFrame
        Columns :data:`ACTUALS_COLUMNS`: ``indicator``, ``unit``, ``scope``,
        ``scope_id``, ``scope_name``, ``year``, ``season`` (None for
        whole-year rows; indicators by season also per season), ``actual``
        (float, in ``unit``).  Only the totals (no category rows) of
        :func:`geoagri.indicator_engine.compute_indicators`;
        ``attrs["not_computed"]`` lists the indicators that could not be
        computed and why (progress gives the reason in its ``note``).

    Raises
    ------
    PlanError
        If the plan has no ``communes`` layer, or several layers of a kind an
        indicator reads.
    ValueError
        If ``since`` is after ``year`` or a scope is unknown.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> facts = actuals(demo(), year=2024, scopes=("district",))
    >>> rice = facts.query("indicator == 'hightech_rice_area'")
    >>> dict(zip(rice["season"].fillna("whole year"), rice["actual"]))
    {'whole year': 1300.0, 'DX 2023-2024': 450.0, 'HT 2024': 850.0}
    >>> facts.query("indicator == 'models' and season == 'HT 2024'")["actual"].tolist()
    [12.0]
    """
    scopes = tuple(scopes)
    if set(scopes) - {"province", "district", "commune"}:
        raise OptionError(f"scopes={scopes!r}; use 'province', 'district' and/or 'commune'")
    known = ({"linkage_area": linkage} if linkage is not None
             and linkage.attrs.get("year") == year else None)
    table = compute_indicators(plan, year=year, since=since, indicators=indicators,
                               levels=scopes, known_areas=known)
    return facts_of(table, plan=plan)


def facts_of(table: pd.DataFrame, *, plan: Plan | None = None) -> pd.DataFrame:
    """An indicator table in the facts format of :func:`geoagri.progress.progress`.

    The one adapter from :func:`geoagri.indicator_engine.compute_indicators`'
    table to progress's facts: its totals (no category rows) at the commune,
    district and province levels, a season's rows with their ``season``.
    Nothing is computed: a report that already holds the table (``compute``'s
    ``PlanResults.indicators``) compares its targets with the same figures the
    map and the exports read.

    Parameters
    ----------
    table : DataFrame
        A :func:`~geoagri.indicator_engine.compute_indicators` table (its
        ``attrs["not_computed"]`` is carried over).
    plan : Plan, optional
        Named in the error about ambiguous layers.

    Returns
    -------
    DataFrame
        Columns :data:`ACTUALS_COLUMNS`, values in ``unit``;
        ``attrs["not_computed"]`` as the table's.

    Raises
    ------
    PlanError
        If an indicator could not be computed because the plan has several
        layers of the kind it reads.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> from geoagri.indicator_engine import compute_indicators
    >>> t = compute_indicators(demo(), year=2024, indicators=["models"])
    >>> f = facts_of(t)
    >>> f.query("scope == 'district' and season.isna()")["actual"].tolist()
    [14.0]
    """
    skipped = table.attrs.get("not_computed", pd.DataFrame(columns=["indicator", "kind", "why"]))
    several = skipped[skipped["kind"] == "ambiguous"]
    if len(several):
        name = f"plan '{plan.name}': " if plan is not None else ""
        raise PlanError(name + "; ".join(
            f"indicator {n!r}: {w}" for n, w in zip(several["indicator"], several["why"],
                                                    strict=True)))
    t = table[(table["categories"] == "") & table["value"].notna()
              & table["level"].isin(("province", "district", "commune"))]
    season = t["period"].where(t["period"] != t["year"].astype(str), None)
    out = pd.DataFrame({
        "indicator": t["indicator"].to_numpy(), "unit": t["unit"].to_numpy(),
        "scope": t["level"].to_numpy(), "scope_id": t["unit_id"].to_numpy(),
        "scope_name": t["unit_name"].to_numpy(), "year": t["year"].to_numpy(),
        "season": season.astype(object).to_numpy(), "actual": t["value"].to_numpy()})
    out = out.astype({"year": "int64", "actual": "float64"}).reset_index(drop=True)
    out.attrs["not_computed"] = skipped
    return out
