"""Actual figures computed from a plan's layers, in the facts format of :mod:`geoagri.progress`.

:func:`actuals` turns the layers of a :class:`geoagri.plan.Plan` into one row
per indicator × scope unit × year (× season), the ``actual`` table that
:func:`geoagri.progress.progress` compares with the plan's targets.  Values
are *per year*, never cumulative: progress sums them for cumulative ("lũy
kế") targets.

Known indicators
----------------
The ``indicator`` names of a targets table must be these to be compared; a
target naming another indicator is reported in the progress row's ``note``.

================================= ====== ============================================
indicator                         unit   definition (for year Y)
================================= ====== ============================================
``linkage_area``                  ha     area of the ``zones`` of kind ``linkage``
                                         active in Y (``status`` active or empty,
                                         ``start_year`` ≤ Y or empty), overlaps
                                         counted once
                                         (:func:`geoagri.area.area_by_zone`,
                                         ``dissolve=True``); a stock, not a flow
``hightech_rice_area``            ha     area of the ``models`` whose season ends
                                         in Y (``DX 2023-2024`` and ``HT 2024``
                                         both count for 2024), supported and
                                         self-replicated
``hightech_rice_area_supported``  ha     the same, ``support == "supported"``
``hightech_rice_area_self``       ha     the same, ``support == "self"``
``models``                        count  number of state-supported models
                                         (``support == "supported"``) whose season
                                         ends in Y ("12 mô hình nhân rộng")
``models_self``                   count  number of self-replicated areas
``works_completed``               count  ``works`` (not ``work_type`` power) with
                                         ``status`` completed and ``year`` Y
``works_completed_<investor>``    count  the same for one ``investor``: ``central``,
                                         ``province``, ``district``, ``commune``,
                                         ``people``, ``enterprise``
``power_works_completed``         count  ``works`` of ``work_type`` power,
                                         completed, ``year`` Y
``cooperatives_founded``          count  ``cooperatives`` of ``coop_type`` htx with
                                         ``founded_year`` Y
``cooperative_groups_founded``    count  the same for ``coop_type`` tht
================================= ====== ============================================

Model areas are the ``declared_area_ha`` of each model (what the reports
count: "12 mô hình, 600 ha (50 ha/MH)"), or its polygon area in the plan's
metric CRS where no area is declared.

Each indicator is given for every commune of the ``communes`` layer
(``scope="commune"``, ``scope_id`` the commune code, ``scope_name`` its name)
and for each district (``scope="district"``, ``scope_id`` the communes'
``district`` or the plan's ``district``).  A model, work or cooperative
belongs to the commune of its ``commune_id``, or, when that is empty or
unknown, to the commune containing it; one outside every commune counts in
no commune and no district (logged).

Which years are given: ``linkage_area`` and the cooperative counts for every
year from ``since`` to ``year`` (the layers date every zone and cooperative);
the model indicators only for years in which the ``models`` layer has a season
ending, and the works counts only for years some work has as ``year`` — a
layer that says nothing about a year gives no fact for it, rather than a
false 0, so progress notes the gap (add past years from earlier reports to
the table).

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
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoagri.errors import PlanError

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

__all__ = ["ACTUALS_COLUMNS", "COUNTS", "INDICATORS", "INVESTORS", "LINKAGE_COLUMNS", "actuals",
           "commune_of", "linkage_by_commune", "linkage_zones", "measured_in", "model_area_ha",
           "season_end_year"]

log = logging.getLogger("geoagri")

#: Investor levels for the ``works_completed_<investor>`` indicators.
INVESTORS = ("central", "province", "district", "commune", "people", "enterprise")

#: The known indicators: name → (unit, definition).
INDICATORS: dict[str, tuple[str, str]] = {
    "linkage_area": ("ha", "area of active linkage zones, overlaps counted once"),
    "hightech_rice_area": ("ha", "area of high-tech rice models of seasons ending in the year"),
    "hightech_rice_area_supported": ("ha", "the same, state-supported models"),
    "hightech_rice_area_self": ("ha", "the same, self-replicated areas"),
    "models": ("count", "state-supported models of seasons ending in the year"),
    "models_self": ("count", "self-replicated areas of seasons ending in the year"),
    "works_completed": ("count", "irrigation works (not power) completed in the year"),
    **{f"works_completed_{i}": ("count", f"irrigation works of investor {i} completed")
       for i in INVESTORS},
    "power_works_completed": ("count", "power works completed in the year"),
    "cooperatives_founded": ("count", "cooperatives (HTX) founded in the year"),
    "cooperative_groups_founded": ("count", "cooperative groups (THT) founded in the year"),
}

#: What each count indicator counts: a target in another kind of count (hộ for works)
#: does not measure it (see :func:`geoagri.units.compatible`).
COUNTS: dict[str, str] = {
    "models": "mô hình", "models_self": "mô hình", "works_completed": "công trình",
    **{f"works_completed_{i}": "công trình" for i in INVESTORS},
    "power_works_completed": "công trình", "cooperatives_founded": "HTX",
    "cooperative_groups_founded": "THT",
}


def measured_in(indicator: str) -> str | None:
    """The unit an indicator is measured in, a count's own kind for counts; ``None`` if unknown.

    Facts give counts as ``count``; this says what is counted, so that a
    target is checked against it (``"12 mô hình"`` fits ``models``, ``"12
    hộ"`` does not).

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


def season_end_year(season: str) -> int:
    """Calendar year in which a season ends (its harvest year).

    Parameters
    ----------
    season : str
        A canonical season label.

    Returns
    -------
    int
        The last year written in the label.

    Examples
    --------
    >>> season_end_year("DX 2023-2024"), season_end_year("HT 2024")
    (2024, 2024)
    """
    years = re.findall(r"\d{4}", str(season))
    if not years:
        raise ValueError(f"season {season!r} has no year; write it like 'HT 2024'")
    return int(years[-1])


def _districts(communes: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """District of each commune, by code: ``commune_id``, ``scope_id``, ``scope_name``, ``weight``.

    ``scope_id`` is the official district code where one is known, else the
    district's name as written; a commune without a district counts in the
    plan's ``district``.  New (2025) communes count in the old districts they
    came from, area-weighted (:func:`geoagri.hierarchy.assign_units`).
    """
    from geoagri.hierarchy import assign_units

    fallback = plan.district or "district"
    units = assign_units(communes, "district", era=plan.era, province=plan.province,
                         layer="communes") if (
        "district" in communes.columns or "district_code" in communes.columns
        or _official_codes(communes, plan.era)) else None
    ids = communes["commune_id"].astype(str).to_numpy()
    if units is None:
        return pd.DataFrame({"commune_id": ids, "scope_id": fallback, "scope_name": fallback,
                             "weight": 1.0})
    name = units["district"].where(units["district"].notna(), fallback)
    code = units["district_code"].where(units["district_code"].notna(), name)
    return pd.DataFrame({"commune_id": ids[units["_pos"].to_numpy()],
                         "scope_id": code.astype(str).to_numpy(),
                         "scope_name": name.astype(str).to_numpy(),
                         "weight": units["weight"].to_numpy(dtype=float)})


def _official_codes(communes: pd.DataFrame, era: str) -> bool:
    from geoagri.hierarchy import official_rows

    return official_rows(communes, era=era)[0] is not None


def commune_of(layer: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, *,
               kind: str = "layer") -> pd.Series:
    """The commune of each feature: its ``commune_id`` when known, else the commune containing it.

    Parameters
    ----------
    layer : GeoDataFrame
        Features with a CRS and optionally a ``commune_id`` column.
    communes : GeoDataFrame
        A ``communes`` layer.
    kind : str, optional
        Name used in the log message about features in no commune.

    Returns
    -------
    Series
        ``commune_id`` (string dtype, ``<NA>`` for a feature in no commune),
        aligned to ``layer.index``; the feature's representative point decides
        when its own ``commune_id`` is empty or not a code of ``communes``.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> commune_of(plan["works"], plan["communes"]).head(2).tolist()
    ['27772', '27766']
    """
    known = set(communes["commune_id"].astype(str))
    own = (layer["commune_id"].astype("string") if "commune_id" in layer.columns
           else pd.Series(pd.NA, index=layer.index, dtype="string"))
    own = own.where(own.isin(known))
    todo = own.isna() & layer.geometry.notna()
    if todo.any():
        pts = gpd.GeoDataFrame(geometry=layer.loc[todo].geometry.representative_point(),
                               crs=layer.crs).to_crs(communes.crs)
        hit = gpd.sjoin(pts, communes[["commune_id", "geometry"]], how="left",
                        predicate="within")
        hit = hit[~hit.index.duplicated()]
        own.loc[todo] = hit["commune_id"].astype("string")
    lost = own.isna()
    if lost.any():
        log.info("%s: %d feature(s) in no commune are counted in no commune or district",
                 kind, int(lost.sum()))
    return own


def _rows(indicator: str, year: int, season: str | None, by_commune: pd.Series,
          districts: pd.DataFrame, names: pd.Series, scopes: tuple[str, ...]) -> list[dict]:
    """Fact rows for every commune (missing → 0) and district."""
    unit = INDICATORS[indicator][0] if indicator in INDICATORS else "count"
    values = by_commune.reindex(names.index).fillna(0.0).astype(float)
    rows = []
    if "commune" in scopes:
        rows += [{"indicator": indicator, "unit": unit, "scope": "commune", "scope_id": cid,
                  "scope_name": names[cid], "year": year, "season": season, "actual": v}
                 for cid, v in values.items()]
    if "district" in scopes:
        part = districts.assign(actual=values.reindex(districts["commune_id"]).to_numpy()
                                * districts["weight"].to_numpy())
        totals = part.groupby(["scope_id", "scope_name"], sort=True)["actual"].sum()
        rows += [{"indicator": indicator, "unit": unit, "scope": "district", "scope_id": d,
                  "scope_name": n, "year": year, "season": season, "actual": float(v)}
                 for (d, n), v in totals.items()]
    return rows


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
        The rows of ``zones`` of ``zone_kind`` linkage whose ``status`` is
        active or empty and whose ``start_year`` is at most ``year`` or empty
        (a copy; ``zones`` is not changed).

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> zones = demo()["zones"]
    >>> len(linkage_zones(zones, year=2024)), len(linkage_zones(zones, year=2017))
    (14, 1)
    """
    z = zones[zones["zone_kind"] == "linkage"]
    if "status" in z.columns:
        z = z[z["status"].isna() | (z["status"] == "active")]
    if "start_year" in z.columns and year is not None:
        start = pd.to_numeric(z["start_year"], errors="coerce")
        z = z[start.isna() | (start <= year)]
    return z.copy()


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


def _linkage(zones: gpd.GeoDataFrame, communes: gpd.GeoDataFrame, year: int,
             crs: Any, cache: dict) -> pd.Series:
    """Linkage area (ha) by commune for one year (districts sum these rows)."""
    z = linkage_zones(zones, year=year)
    ids = tuple(sorted(z["zone_id"].astype(str)))
    if ids not in cache:
        t = linkage_by_commune(z, communes, year=year, crs=crs)
        inside = t[t["commune_id"].notna()]
        cache[ids] = pd.Series(inside["area_ha"].to_numpy(),
                               index=inside["commune_id"].astype(str).to_numpy())
    return cache[ids]


def model_area_ha(models: gpd.GeoDataFrame, *, crs: str | None = None) -> pd.Series:
    """Area of each model in ha: declared where given, else measured.

    Parameters
    ----------
    models : GeoDataFrame
        A ``models`` layer.
    crs : CRS-like, optional
        Metric CRS for measuring polygons without ``declared_area_ha``
        (default :func:`geoagri.crs.metric_crs`).

    Returns
    -------
    Series
        ha, float, aligned to ``models.index``.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> models = demo()["models"]
    >>> float(model_area_ha(models[models["season"] == "HT 2024"]).sum())
    850.0
    """
    declared = (pd.to_numeric(models["declared_area_ha"], errors="coerce")
                if "declared_area_ha" in models.columns
                else pd.Series(np.nan, index=models.index))
    if declared.isna().any():
        from geoagri.crs import area_ha

        measured = area_ha(models.loc[declared.isna()].geometry, crs=crs)
        declared = declared.copy()
        declared.loc[declared.isna()] = measured
    return declared.astype(float)


def _layer(plan: Plan, kind: str) -> gpd.GeoDataFrame | None:
    found = plan.of_kind(kind)
    if not found:
        return None
    if len(found) > 1:
        raise PlanError(f"plan '{plan.name}' has {len(found)} layers of kind {kind!r} "
                        f"({list(found)}); actuals needs one")
    return next(iter(found.values()))


def actuals(
    plan: Plan,
    *,
    year: int,
    since: int | None = None,
    scopes: Iterable[str] = ("district", "commune"),
    linkage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compute the known indicators from a plan's layers, per year, commune and district.

    Parameters
    ----------
    plan : Plan
        A plan with a ``communes`` layer and any of ``zones``, ``models``,
        ``works``, ``cooperatives``; a missing layer gives no rows for its
        indicators (so progress notes those targets as without actual).
    year : int
        Last year computed (the report's year).
    since : int, optional
        First year computed (default ``year``); use the earliest
        ``start_year`` of the targets for cumulative ("lũy kế") targets.
    scopes : iterable of {"district", "commune"}
        Scope levels to give.
    linkage : DataFrame, optional
        The :func:`linkage_by_commune` table of ``year`` when already computed
        (its ``attrs["year"]`` must be ``year``); reused, not recomputed.

    Returns
    -------
    DataFrame
        Columns :data:`ACTUALS_COLUMNS`: ``indicator``, ``unit`` (ha or count),
        ``scope``, ``scope_id``, ``scope_name``, ``year``, ``season`` (None
        for whole-year rows; the model indicators also per season), ``actual``
        (float, in ``unit``, for that year only).  The table of indicators is
        in the module docstring.  The plan is not changed.

    Raises
    ------
    PlanError
        If the plan has no ``communes`` layer, or several layers of a kind.
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
    if set(scopes) - {"district", "commune"}:
        raise ValueError(f"scopes={scopes!r}; use 'district' and/or 'commune'")
    since = year if since is None else int(since)
    if since > year:
        raise ValueError(f"since={since} is after year={year}")
    years = list(range(since, year + 1))
    communes = plan.only("communes")
    districts = _districts(communes, plan)
    names = pd.Series(communes["commune_name"].astype(str).to_numpy(),
                      index=communes["commune_id"].astype(str).to_numpy())
    crs = plan.metric_crs
    rows: list[dict] = []

    def add(indicator, y, season, by_commune):
        rows.extend(_rows(indicator, y, season, by_commune, districts, names, scopes))

    zones = _layer(plan, "zones")
    if zones is not None:
        cache: dict = {}
        if linkage is not None and linkage.attrs.get("year") == year:
            z = linkage_zones(zones, year=year)
            inside = linkage[linkage["commune_id"].notna()]
            cache[tuple(sorted(z["zone_id"].astype(str)))] = pd.Series(
                inside["area_ha"].to_numpy(), index=inside["commune_id"].astype(str).to_numpy())
        for y in years:
            add("linkage_area", y, None, _linkage(zones, communes, y, crs, cache))

    models = _layer(plan, "models")
    if models is not None and len(models):
        m = pd.DataFrame({
            "commune_id": commune_of(models, communes, kind="models"),
            "season": models["season"].astype(str),
            "end": [season_end_year(s) for s in models["season"]],
            "support": models["support"].astype(str),
            "area_ha": model_area_ha(models, crs=crs),
        })
        for y in years:
            my = m[m["end"] == y]
            if my.empty:
                continue
            groups = [(None, my), *((s, g) for s, g in my.groupby("season", sort=True))]
            for season, g in groups:
                sup, own = g[g["support"] == "supported"], g[g["support"] == "self"]
                add("hightech_rice_area", y, season, g.groupby("commune_id")["area_ha"].sum())
                add("hightech_rice_area_supported", y, season,
                    sup.groupby("commune_id")["area_ha"].sum())
                add("hightech_rice_area_self", y, season,
                    own.groupby("commune_id")["area_ha"].sum())
                add("models", y, season, sup.groupby("commune_id").size())
                add("models_self", y, season, own.groupby("commune_id").size())

    works = _layer(plan, "works")
    if works is not None and len(works):
        if "year" not in works.columns:
            log.info("works: no 'year' column; works_completed is not computed")
        else:
            w = pd.DataFrame({
                "commune_id": commune_of(works, communes, kind="works"),
                "year": pd.to_numeric(works["year"], errors="coerce"),
                "done": works["status"] == "completed",
                "power": works["work_type"] == "power",
                "investor": (works["investor"] if "investor" in works.columns
                             else pd.Series(None, index=works.index)),
            })
            for y in years:
                wy = w[w["year"] == y]
                if wy.empty:
                    continue
                done = wy[wy["done"]]
                irr = done[~done["power"]]
                add("works_completed", y, None, irr.groupby("commune_id").size())
                for inv in INVESTORS:
                    add(f"works_completed_{inv}", y, None,
                        irr[irr["investor"] == inv].groupby("commune_id").size())
                add("power_works_completed", y, None,
                    done[done["power"]].groupby("commune_id").size())

    coops = _layer(plan, "cooperatives")
    if coops is not None and len(coops):
        if "founded_year" not in coops.columns:
            log.info("cooperatives: no 'founded_year' column; cooperatives_founded is not "
                     "computed")
        else:
            c = pd.DataFrame({
                "commune_id": commune_of(coops, communes, kind="cooperatives"),
                "year": pd.to_numeric(coops["founded_year"], errors="coerce"),
                "type": coops["coop_type"],
            })
            for y in years:
                cy = c[c["year"] == y]
                add("cooperatives_founded", y, None,
                    cy[cy["type"] == "htx"].groupby("commune_id").size())
                add("cooperative_groups_founded", y, None,
                    cy[cy["type"] == "tht"].groupby("commune_id").size())

    out = pd.DataFrame(rows, columns=list(ACTUALS_COLUMNS))
    out = out.astype({"year": "int64", "actual": "float64"})
    return out.reset_index(drop=True)
