"""The plan context: every setting an analysis needs, resolved once.

A plan's analyses, report, map and exports must measure in one metric CRS,
serve land with one pump radius and count up to one reporting year; when
each caller re-derives them, one figure gets several values.  The context
is resolved once, when a plan is read (:func:`geoagri.plan.read_plan`) or
built from layers in a notebook (:func:`geoagri.plan.plan_from_layers`), and
every consumer reads it from ``plan.context``:

* ``metric_crs`` (a :class:`pyproj.CRS` in metres): the ``[plan] metric_crs``
  setting, else the province's VN-2000 TM-3 zone, else the UTM zone of the
  communes (or a local transverse Mercator where UTM would be off by more
  than 0.1%), chosen by :func:`geoagri.crs.metric_crs` and logged once;
* ``province``, ``district``, ``era`` and the reporting ``year``;
* ``service``: the infrastructure settings of ``[settings]``
  (:class:`ServiceSettings`: crop served, pump radius, power reach, costs,
  budget, canals).

Examples
--------
>>> ctx = resolve_context(bounds=(106.0, 10.5, 106.5, 10.9), province="Long An", year=2024,
...                       settings={"pump_radius_m": 1200})
>>> ctx.metric_crs.to_epsg(), ctx.year, ctx.service.pump_radius_m
(9210, 2024, 1200.0)
>>> ctx.service.site_radius_m      # a new station serves as far as an existing one
1200.0
"""

from __future__ import annotations

import dataclasses
import html
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyproj import CRS

from geoagri.errors import OptionError

__all__ = ["PLAN_SETTINGS", "PlanContext", "ServiceSettings", "resolve_context"]

log = logging.getLogger("geoagri")

#: ``[settings]`` keys that are not service settings (read by the run itself).
PLAN_SETTINGS = frozenset({"canals", "carry_to_2025", "max_outside_km", "report_units"})


@dataclass(frozen=True)
class ServiceSettings:
    """How infrastructure serves land, and what new infrastructure costs.

    Read from a plan's ``[settings]`` table (docs/plan.md); every field has
    the default shown.

    Attributes
    ----------
    crop : str, default "rice"
        Zones whose ``crop`` is served ("" or None: every zone).
    pump_radius_m : float, default 1000
        Service radius of a pump station, m.
    power_reach_m : float, default 500
        Reach of a three-phase line, m.
    site_radius_m : float, optional
        Service radius of a new station, m (default: ``pump_radius_m``).
    station_cost_vnd : float, default 800,000,000
        Cost of one new pump station, VND.
    line_cost_vnd_per_km : float, default 300,000,000
        Cost of new three-phase line, VND per km.
    budget_vnd : float, optional
        Budget for new stations and their connection, VND (none: no proposals
        are limited by money).
    cell_m : float, default 250
        Side of the demand cells of siting, m.
    candidate_spacing_m : float, default 500
        Spacing of candidate sites along the canals, m.
    cover_all : bool, default False
        Instead of a budget: the least-cost new stations that serve all
        reachable demand (set covering).
    time_limit_s : float, default 120
        Time limit of one siting solve, s (the result's status and gap say
        when it was reached).

    Examples
    --------
    >>> s = ServiceSettings.from_settings({"budget_vnd": 4.4e9})
    >>> s.budget_vnd, s.pump_radius_m, s.site_radius_m
    (4400000000.0, 1000.0, 1000.0)
    >>> ServiceSettings.from_settings({"pump_radius_m": -5})
    Traceback (most recent call last):
    ...
    geoagri.errors.OptionError: [settings] pump_radius_m = -5: it must be a positive number ...
    """

    crop: str | None = "rice"
    pump_radius_m: float = 1000.0
    power_reach_m: float = 500.0
    site_radius_m: float | None = None
    station_cost_vnd: float = 800e6
    line_cost_vnd_per_km: float = 300e6
    budget_vnd: float | None = None
    cell_m: float = 250.0
    candidate_spacing_m: float = 500.0
    cover_all: bool = False
    time_limit_s: float = 120.0

    def __post_init__(self) -> None:
        if not isinstance(self.cover_all, bool):
            raise OptionError(f"[settings] cover_all = {self.cover_all!r}: write true or false")
        for f in dataclasses.fields(self):
            if f.name in ("crop", "cover_all"):
                continue
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise OptionError(
                    f"[settings] {f.name} = {value!r}: it must be a positive number "
                    f"({_UNITS[f.name]}), e.g. {f.name} = {_example(f.default)}")
            object.__setattr__(self, f.name, float(value))
        if self.site_radius_m is None:
            object.__setattr__(self, "site_radius_m", self.pump_radius_m)
        if self.crop is not None and not isinstance(self.crop, str):
            raise OptionError(f"[settings] crop = {self.crop!r}: write the crop served as "
                              "text, e.g. crop = \"rice\" (or \"\" for every zone)")

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None = None,
                      **overrides: Any) -> ServiceSettings:
        """The service settings of a ``[settings]`` table, with overrides (None: not given).

        Keys that are not service settings are ignored here (the plan checks
        them); an override that is not a service setting is an error.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(overrides) - names
        if unknown:
            raise OptionError(f"unknown service setting(s) {sorted(unknown)}; known: "
                              f"{sorted(names)}")
        values = {k: v for k, v in (settings or {}).items() if k in names}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **overrides: Any) -> ServiceSettings:
        """A copy with some settings changed (None: left as it is)."""
        return ServiceSettings.from_settings(dataclasses.asdict(self) | {
            "site_radius_m": None if "pump_radius_m" in overrides else self.site_radius_m},
            **overrides)


_UNITS = {"pump_radius_m": "metres", "power_reach_m": "metres", "site_radius_m": "metres",
          "station_cost_vnd": "VND", "line_cost_vnd_per_km": "VND per km",
          "budget_vnd": "VND", "cell_m": "metres", "candidate_spacing_m": "metres",
          "time_limit_s": "seconds"}


def _example(default: Any) -> str:
    return "4.4e9" if default is None else f"{default:g}"


@dataclass(frozen=True)
class PlanContext:
    """The settings of a plan, resolved once (see the module docstring).

    Attributes
    ----------
    metric_crs : pyproj.CRS or None
        Where lengths and areas are measured (None only for a plan with no
        spatial layer and no setting).
    metric_crs_reason : str
        Why that CRS: ``"explicit setting"``, ``"province …"`` or how it was
        estimated from the data.
    province, district : str or None
        As in ``[plan]``.
    era : {"old", "new"}
        Whether commune codes are pre- or post-1 July 2025.
    year : int or None
        Reporting year.
    service : ServiceSettings
        Infrastructure settings.
    report_units : mapping of str to str
        The units the report prints quantities in, by canonical unit
        (``[settings] report_units = { vnd = "tỷ đồng" }``); the documents'
        customary units (:data:`geoagri.units.CUSTOMARY`) otherwise.
    """

    metric_crs: CRS | None
    metric_crs_reason: str
    province: str | None = None
    district: str | None = None
    era: str = "old"
    year: int | None = None
    service: ServiceSettings = field(default_factory=ServiceSettings)
    report_units: Mapping[str, str] = field(default_factory=dict)

    def describe(self) -> list[tuple[str, str]]:
        """The context as (setting, value) pairs, for logs, manifests and notebooks."""
        crs = "none" if self.metric_crs is None else _describe_crs(self.metric_crs)
        s = self.service
        return [
            ("metric CRS", f"{crs} ({self.metric_crs_reason})"),
            ("province", self.province or "—"), ("district", self.district or "—"),
            ("era", self.era), ("reporting year", str(self.year or "—")),
            ("crop served", s.crop or "every crop"),
            ("pump radius", f"{s.pump_radius_m:g} m"),
            ("three-phase reach", f"{s.power_reach_m:g} m"),
            ("new station radius", f"{s.site_radius_m:g} m"),
            ("budget", "none" if s.budget_vnd is None else f"{s.budget_vnd:,.0f} VND"),
            ("report units", ", ".join(f"{k} in {v}" for k, v in self.report_units.items())
             or "the documents' customary units"),
        ]

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
                       f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
                       for k, v in self.describe())
        return f"<table><caption>plan context</caption>{rows}</table>"

    def __repr__(self) -> str:
        return "PlanContext(" + ", ".join(f"{k}: {v}" for k, v in self.describe()) + ")"


def _describe_crs(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} {crs.name}" if epsg else crs.name


def resolve_context(
    *,
    layers: Sequence[Any] = (),
    bounds: Sequence[float] | None = None,
    metric_crs: Any = None,
    province: str | None = None,
    district: str | None = None,
    era: str = "old",
    year: int | None = None,
    settings: Mapping[str, Any] | None = None,
) -> PlanContext:
    """Resolve a plan's context once (see the module docstring).

    Parameters
    ----------
    layers : sequence of GeoDataFrame
        The plan's spatial layers, communes first: the metric CRS is estimated
        from the first one with coordinates when neither ``metric_crs`` nor
        ``province`` is given.
    bounds : (minx, miny, maxx, maxy), optional
        Lon/lat bounds to estimate from instead of ``layers``.
    metric_crs : CRS-like, optional
        Explicit metric CRS (``[plan] metric_crs``).
    province, district, era, year :
        As in ``[plan]``.
    settings : mapping, optional
        The ``[settings]`` table.

    Returns
    -------
    PlanContext

    Raises
    ------
    CRSError
        If ``metric_crs`` is not a projected CRS in metres, or the province is
        unknown.
    OptionError
        If a service setting is not a positive number.
    """
    from geoagri.crs import metric_crs as choose

    service = ServiceSettings.from_settings(settings or {})
    report_units = _report_units((settings or {}).get("report_units", {}))
    data = bounds if bounds is not None else next(
        (g for g in layers if getattr(g, "crs", None) is not None and len(g)
         and not g.geometry.is_empty.all()), None)
    if metric_crs is not None:
        reason = "explicit setting"
    elif province is not None:
        reason = f"VN-2000 zone of province {province}"
    else:
        reason = "estimated from the data"
    if data is None and metric_crs is None and province is None:
        crs, reason = None, "no spatial layer"
    else:
        crs = choose(data if data is not None else (math.nan,) * 4, crs=metric_crs,
                     province=province, era=era)
        if reason == "estimated from the data":
            utm = (crs.to_epsg() or 0) // 100 in (326, 327)
            reason = ("UTM zone of the data" if utm else "transverse Mercator centred on the "
                      "data (its UTM zone would be off by more than 0.1%)")
    ctx = PlanContext(metric_crs=crs, metric_crs_reason=reason, province=province,
                      district=district, era=era, year=year, service=service,
                      report_units=report_units)
    log.info("plan context: %s", "; ".join(f"{k} {v}" for k, v in ctx.describe()))
    return ctx


def _report_units(value: Any) -> dict[str, str]:
    """``[settings] report_units``, checked: canonical unit → a unit of the same dimension."""
    from geoagri.errors import UnitError
    from geoagri.units import CUSTOMARY, customary

    if not isinstance(value, Mapping):
        raise OptionError(f"[settings] report_units = {value!r}: write a table such as "
                          "report_units = { vnd = \"tỷ đồng\", t_ha = \"tạ/ha\" }")
    problems = []
    for code, unit in value.items():
        if code not in CUSTOMARY:
            problems.append(f"{code!r} is not a canonical unit; use one of "
                            f"{', '.join(sorted(CUSTOMARY))}")
            continue
        try:
            customary(1.0, code, units={code: str(unit)})
        except (UnitError, ValueError) as err:
            problems.append(f"{code} = {unit!r}: {err}")
    if problems:
        raise OptionError("[settings] report_units: " + "; ".join(problems))
    return {str(k): str(v) for k, v in value.items()}
