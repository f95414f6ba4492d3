"""Progress against plan targets: ``achieved_pct`` and ``shortfall`` per target.

:func:`progress` compares a table of *facts* (``actual``: what was achieved,
per indicator, scope unit and year, not cumulative) with a *targets* table
(the ``targets`` kind of :mod:`geoagri.schema`) and returns one row per
target: indicator × scope × scope unit × period × target source.  Several
sources for the same indicator (resolution, plan, roadmap, province-assigned)
come out side by side, as in the reports ("23.865 ha, đạt 112,4% so với Nghị
quyết … và đạt 105,4% theo lộ trình đến năm 2025").

The facts table
---------------
============== ======== ==========================================================
column         required meaning
============== ======== ==========================================================
``indicator``  yes      e.g. ``linkage_area``, ``works_completed`` (see
                        :mod:`geoagri.indicators`)
``unit``       yes      ``ha``, ``count``, ``pct``, ``t_ha``, ``vnd``, or any unit
                        of :mod:`geoagri.units` (``tạ/ha``, ``triệu đồng``…)
``scope``      yes      ``province`` / ``district`` / ``commune``
``scope_id``   yes      name or code of the unit (``"Huyện Vĩnh Hưng"``, ``"27784"``)
``scope_name`` no       a second name the unit is matched by (a commune's name
                        beside its code)
``year``       yes      calendar year of the fact
``season``     no       ``"DX 2023-2024"``, ``"HT 2024"``…; empty for a whole year
``actual``     yes      the value in ``unit``, for that year (or season) only
============== ======== ==========================================================

:func:`geoagri.indicators.actuals` computes such a table from a plan's layers;
past years copied from earlier reports can be appended to it.

How a target is compared
------------------------
* **Scope.** ``scope`` must be equal; ``scope_id`` is compared with
  :func:`geoagri.names.unit_key` against the fact's ``scope_id``, else its
  ``scope_name`` (``"Huyện Vĩnh Hưng"`` matches ``"Vĩnh Hưng"``, ``"Xã Thái
  Trị"`` matches ``"thái trị"``, ``"Huyện Vĩnh Hưng"`` matches the district
  fact ``"797"`` named ``"Huyện Vĩnh Hưng"``).  A name that several units of
  the facts share (two "Xã Bình Hòa") is an error: give the unit's code.
* **Units.** Targets and facts may be written in any unit of
  :mod:`geoagri.units`.  A target is converted to its fact's unit when both
  measure the same thing (``tạ/ha`` ↔ ``t_ha``, ``tỷ đồng`` ↔ ``vnd``, a count
  of ``HTX`` ↔ ``count``); a target whose unit measures something else (``ha``
  against a count) gets no actual and a ``note`` saying so, and the other
  rows are compared as usual.
* **A plain target** (no ``start_year``, no ``season``) is compared with the
  actual of its ``year``: the whole-year fact (empty ``season``), or, when the
  facts are only given per season, the sum of the seasons of that year.
* **A cumulative target** (``start_year`` set, "lũy kế từ 2021 đến 2024") is
  compared with the sum of the yearly actuals from ``start_year`` to ``year``.
* **A per-season target** (``season`` set) is compared with that season's fact.
* **A target year after the data.**  A report written in mid-2024 compares the
  2024 figure with the roadmap's 2025 target.  With ``as_of=2024`` every
  period ends in 2024 at the latest: a plain 2025 target is compared with the
  2024 actual and a cumulative 2021–2025 target with the sum 2021–2024.
  Without ``as_of`` the same happens when the target's year is later than
  every fact of that indicator and unit (the target is "in the future"): the
  latest actual is used.  ``actual_year`` says which year was compared and
  ``note`` says so in words.  A missing year *inside* the data's range is
  never filled from another year: the actual is NaN (plain) or the sum lacks
  that year (cumulative), and ``note`` names the missing years.

Rounding of ``achieved_pct``
----------------------------
The reports *truncate* the percentage to one decimal: seed 000 writes 96,2%
for 1.300/1.350 = 96,296%, 129,2% for 6.400/4.950 = 129,29%, 101,1% for
6.400/6.327 = 101,15% and 100,6% for 11.873/11.800 = 100,62%.  Truncation
reproduces all four; rounding half up gives 96,3%, 129,3% and 101,2%.  The
default is therefore ``rounding="truncate"`` with ``decimals=1``;
``rounding="half_up"`` and ``rounding="none"`` (exact) are options.
``shortfall`` is never rounded.

A percentage is computed from the actual *as printed*: the actual is first
rounded (half up) to the precision the report's sentence prints it with
(``actual_decimals="printed"``, the default: whole hectares for a measured area,
the decimals a declared figure carries — 23.183,8 ha —, one decimal for a
percentage, 26,9%), so 1.200 / 2.000 gives 60,0%, not 59,9%, and 26,9 / 30
gives 89,6%, not the 89,7% of 26,923 / 30.  A targets table
may set the rule row by row with optional columns ``rounding`` (``truncate``
or ``half_up``), ``decimals`` (of the percentage: seed 002 writes 89,16% for
23.183,8 / 26.000) and ``actual_decimals`` (0 when the document computes from
the whole hectares it prints); an empty cell keeps the function's option.

Examples
--------
>>> import pandas as pd
>>> actual = pd.DataFrame({"indicator": ["linkage_area"], "unit": ["ha"],
...     "scope": ["district"], "scope_id": ["Vĩnh Hưng"], "year": [2024],
...     "actual": [23865.0]})
>>> targets = pd.DataFrame({"indicator": "linkage_area", "unit": "ha",
...     "scope": "district", "scope_id": "Huyện Vĩnh Hưng", "year": [2024, 2025],
...     "source": ["resolution", "roadmap"], "target": [21227.0, 22640.0]})
>>> progress(actual, targets)[["source", "target", "actual", "achieved_pct"]]
       source   target   actual  achieved_pct
0  resolution  21227.0  23865.0         112.4
1     roadmap  22640.0  23865.0         105.4
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from itertools import repeat
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from geoagri import units as _units
from geoagri._labels import printed_decimals
from geoagri.errors import NameMatchError, SchemaError
from geoagri.indicators import measured_in
from geoagri.names import unit_key
from geoagri.schema import canonical_season, spec

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

__all__ = ["ACTUAL_COLUMNS", "PROGRESS_COLUMNS", "achieved_pct", "first_year", "plan_targets",
           "printed_decimals_in", "progress"]

log = logging.getLogger("geoagri")

#: Required columns of the facts table (``scope_name`` and ``season`` are optional).
ACTUAL_COLUMNS = ("indicator", "unit", "scope", "scope_id", "year", "actual")

#: Columns of the table :func:`progress` returns, in order.
PROGRESS_COLUMNS = (
    "indicator", "unit", "scope", "scope_id", "start_year", "year", "season", "source",
    "source_ref", "target", "actual", "actual_year", "achieved_pct", "shortfall", "note",
)

_TARGET_REQUIRED = ("indicator", "unit", "scope", "scope_id", "year", "source", "target")

Rounding = Literal["truncate", "half_up", "none"]


def achieved_pct(actual: float, target: float, *, decimals: int = 1,
                 rounding: Rounding = "truncate", actual_decimals: int | None = 3) -> float:
    """Percentage of a target achieved, ``actual / target × 100``, rounded as the reports do.

    Parameters
    ----------
    actual, target : float
        In the same unit.
    decimals : int, default 1
        Decimals kept.
    rounding : {"truncate", "half_up", "none"}, default "truncate"
        ``"truncate"`` drops the further decimals (toward zero), as seed 000
        does (96,2% for 96,296%); ``"half_up"`` rounds half away from zero;
        ``"none"`` returns the exact ratio.
    actual_decimals : int or None, default 3
        The actual is first rounded (half up) to this many decimals, as the
        documents compute a percentage from the figure they print: a measured
        1.199,999999 ha is the 1.200 ha of the report, and 1.200 / 2.000 is
        60,0%, not 59,9%.  None: the actual as it is.

    Returns
    -------
    float
        Percent; NaN if ``actual`` or ``target`` is NaN or ``target`` is 0.

    Examples
    --------
    >>> achieved_pct(1300, 1350)
    96.2
    >>> achieved_pct(1199.999999, 2000), achieved_pct(23183.8, 26000, decimals=2)
    (60.0, 89.16)
    >>> achieved_pct(23865.4, 21227, actual_decimals=0)
    112.4
    >>> achieved_pct(1300, 1350, rounding="half_up")
    96.3
    >>> round(achieved_pct(6400, 4950, rounding="none"), 3)
    129.293
    """
    if rounding not in ("truncate", "half_up", "none"):
        raise ValueError(f"rounding={rounding!r}; use 'truncate', 'half_up' or 'none'")
    if actual is None or target is None or pd.isna(actual) or pd.isna(target) or target == 0:
        return math.nan
    if actual_decimals is not None:
        actual = float(Decimal(repr(float(actual))).quantize(
            Decimal(1).scaleb(-actual_decimals), rounding=ROUND_HALF_UP))
    pct = float(actual) / float(target) * 100.0
    if rounding == "none":
        return pct
    # round away binary noise first (1124/1000*100 = 112.39999999999999) before truncating
    exact = Decimal(repr(round(pct, 9)))
    quantum = Decimal(1).scaleb(-decimals)
    mode = ROUND_DOWN if rounding == "truncate" else ROUND_HALF_UP
    return float(exact.quantize(quantum, rounding=mode))


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


def _canon(value: object, column: str) -> object:
    """Canonical vocabulary value of the targets spec, or the value as written."""
    if _missing(value):
        return None
    found = spec("targets").columns[column].canonical_value(value)
    return found if found is not None else str(value).strip()


def _in_code(values: pd.Series, units: pd.Series) -> np.ndarray:
    """Values converted from their unit to its canonical code (NaN where not understood).

    Each distinct unit is converted once, as one array (thousands of facts, a
    few units).
    """
    vals = np.asarray(values, dtype=float)
    out = np.full(len(vals), math.nan)
    which, distinct = pd.factorize(np.asarray(units, dtype=object))  # -1: no unit
    for k, unit in enumerate(distinct):
        code = _units.code_or_none(unit)
        rows = np.flatnonzero((which == k) & ~np.isnan(vals))
        if code is not None and len(rows):
            out[rows] = _units.convert(vals[rows], str(unit), code)
    return out


def _season(value: object, *, table: str, row: object) -> str | None:
    if _missing(value) or str(value).strip() == "":
        return None
    found = canonical_season(str(value))
    if found is None:
        raise SchemaError(
            f"{table} row {row}: season {value!r} is not a season; write it like "
            "'DX 2023-2024', 'HT 2024' or 'Thu Đông 2024'")
    return found


def _each(values: Iterable[Any], func: Callable[..., Any], *,
          rows: Iterable[Any] | None = None) -> list[Any]:
    """``func`` of each value, called once per distinct value (thousands of facts name a
    few units, scopes and seasons); with ``rows``, ``func(value, row)`` at the value's first
    row (where an error names it)."""
    done: dict[tuple[type, Any], Any] = {}
    out = []
    for v, row in zip(values, rows if rows is not None else repeat(None), strict=False):
        key = (type(v), v)
        try:
            found = done[key]
        except KeyError:
            found = done[key] = func(v) if rows is None else func(v, row)
        except TypeError:  # not hashable
            found = func(v) if rows is None else func(v, row)
        out.append(found)
    return out


def _key(value: object) -> str | None:
    return None if _missing(value) else unit_key(str(value))


def _check_columns(frame: pd.DataFrame, required: tuple[str, ...], table: str,
                   fix: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{table} table lacks column(s) {missing}; found {list(frame.columns)}. Fix: {fix}")


def _prepare_actual(actual: pd.DataFrame) -> pd.DataFrame:
    _check_columns(actual, ACTUAL_COLUMNS, "actual",
                   "give one row per indicator, unit, scope, scope_id, year (and season) "
                   "with the value in 'actual' (see geoagri.indicators.actuals)")
    unit_codes = _each(actual["unit"], _units.code_or_none)
    bad_unit = [u for u, code in zip(actual["unit"], unit_codes, strict=True) if code is None]
    if bad_unit:
        raise SchemaError(f"actual table: unit(s) {sorted(map(str, set(bad_unit)))} not "
                          "understood. Fix: write units as geoagri.units reads them (ha, "
                          "tạ/ha, triệu đồng, %, count, HTX…)")
    facts = pd.DataFrame({
        "indicator": actual["indicator"].astype(str).to_numpy(),
        "unit": unit_codes,
        "scope": _each(actual["scope"], lambda s: _canon(s, "scope")),
        "key": _each(actual["scope_id"], _key),
        "unit_id": actual["scope_id"].astype(object).to_numpy(),
        "unit_name": (actual["scope_name"].astype(object).to_numpy() if "scope_name" in actual
                      else actual["scope_id"].astype(object).to_numpy()),
        "name_key": (_each(actual["scope_name"], _key) if "scope_name" in actual
                     else [None] * len(actual)),
        "year": pd.to_numeric(actual["year"], errors="coerce").to_numpy(),
        "season": (_each(actual["season"], lambda s, i: _season(s, table="actual", row=i),
                         rows=actual.index) if "season" in actual else [None] * len(actual)),
        "actual": _in_code(pd.to_numeric(actual["actual"], errors="coerce"), actual["unit"]),
    })
    bad_year = facts["year"].isna()
    if bad_year.any():
        rows = list(actual.index[bad_year.to_numpy()])
        raise SchemaError(f"actual table: rows {rows[:10]} have no year. Fix: give the "
                          "calendar year of each fact")
    facts["year"] = facts["year"].astype(int)
    dup = facts.duplicated(["indicator", "scope", "key", "year", "season"], keep=False)
    if dup.any():
        first = facts[dup].iloc[0]
        raise SchemaError(
            f"actual table: {int(dup.sum())} rows repeat the same fact, e.g. indicator "
            f"{first['indicator']!r}, {first['scope']} {first['key']!r}, year "
            f"{first['year']}, season {first['season']!r}. Fix: keep one row per fact "
            "(actuals are per year, not cumulative)")
    units = facts.groupby("indicator")["unit"].unique()
    for ind, found in units.items():
        if len(found) > 1:
            raise SchemaError(f"actual table: indicator {ind!r} is given in several units "
                              f"{sorted(map(str, found))}. Fix: convert to one unit")
    return facts


def _unit_problem(code: str | None, written: object, fact_unit: str | None,
                  indicator: str) -> str:
    """Why a target cannot be compared with its facts' unit ("" when it can).

    For the indicators geoagri computes, a count is checked against what is
    counted (:func:`geoagri.indicators.measured_in`): ``hộ`` is not works.
    """
    if _missing(written):
        return "the target has no unit"
    if code is None or _units.code_or_none(code) is None:
        return (f"unit {written!r} is not understood; write it as the documents do (ha, "
                "tạ/ha, triệu đồng, %, HTX, hộ…)")
    counted = measured_in(indicator)
    if counted is not None and fact_unit is not None and not _units.compatible(fact_unit,
                                                                               counted):
        counted = None  # the facts say something else than geoagri's indicator: trust them
    for unit in (fact_unit, counted):
        if unit is not None and not _units.compatible(code, unit):
            return (f"the target is in {written!r} ({_units.dimension_name(code)}), the actual "
                    f"in {unit} ({_units.dimension_name(unit)}): they cannot be compared; "
                    f"write the target in {unit}")
    return ""


def _years_phrase(years: list[int]) -> str:
    if not years:
        return ""
    if years == list(range(years[0], years[-1] + 1)) and len(years) > 2:
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(y) for y in years)


def _yearly(facts: pd.DataFrame) -> dict[int, float]:
    """Whole-year value per year: the year's own row, else the sum of its seasons."""
    out: dict[int, float] = {}
    for year, grp in facts.groupby("year"):
        whole = grp[grp["season"].isna()]
        if len(whole):
            out[int(year)] = float(whole["actual"].iloc[0])
        else:
            out[int(year)] = float(grp["actual"].sum(min_count=1))
    return out


def _compare(t: pd.Series, facts: pd.DataFrame, *, as_of: int | None,
             indicator_known: bool, why: str | None = None
             ) -> tuple[float, int | None, list[str]]:
    """The actual a target is compared with, the last year it covers, and notes."""
    notes: list[str] = []
    where = f"{t['scope']} {t['scope_id']!r}"
    if not indicator_known and why:
        return math.nan, None, [f"no actual for indicator {t['indicator']!r}: it is not "
                                f"computed: {why}"]
    if not indicator_known:
        return math.nan, None, [f"no actual for indicator {t['indicator']!r}: it is not "
                                "computed (see geoagri.indicators.INDICATORS) nor given"]
    if facts.empty:
        return math.nan, None, [f"no actual for {t['indicator']!r} in {where}"]
    year = int(t["year"])
    end = min(year, as_of) if as_of is not None else year
    if not _missing(t["season"]):
        rows = facts[facts["season"] == t["season"]]
        if rows.empty:
            return math.nan, None, [f"no actual for season {t['season']} in {where}"]
        return float(rows["actual"].iloc[0]), int(rows["year"].iloc[0]), notes
    yearly = _yearly(facts)
    latest = max(yearly)
    if as_of is None and end > latest:
        end = latest
        notes.append(f"the {year} target is compared with the latest actual ({latest})")
    elif as_of is not None and end < year:
        notes.append(f"the {year} target is compared with the actual up to {end} (as_of)")
    start = t["start_year"]
    if not _missing(start):
        wanted = list(range(int(start), end + 1))
        have = [y for y in wanted if y in yearly and not math.isnan(yearly[y])]
        lacking = [y for y in wanted if y not in have]
        if not have:
            return math.nan, None, [*notes, f"no actual for {_years_phrase(wanted)} in {where}"]
        if lacking:
            notes.append(f"no actual for {_years_phrase(lacking)}: the cumulative sum "
                         f"covers {_years_phrase(have)} only")
        return float(sum(yearly[y] for y in have)), max(have), notes
    if end not in yearly or math.isnan(yearly[end]):
        return math.nan, None, [*notes, f"no actual for {end} in {where}"]
    return yearly[end], end, notes


def printed_decimals_in(actual: float, unit: str, *,
                        units: Mapping[str, str] | None = None) -> int | None:
    """Decimals, in ``unit``, of ``actual`` as a report prints it.

    The report prints a figure in the documents' unit (:func:`geoagri.units.customary`:
    money in triệu đồng, yields in tạ/ha; or the plan's ``report_units``, given as
    ``units``) with :func:`geoagri._labels.printed_decimals`; this is that precision
    carried back to the fact's own unit (0 decimals of triệu đồng are -6 of VND, 1
    decimal of tỷ đồng -8).  None (no rounding) when the printed unit is not a
    power of ten of ``unit``.

    Examples
    --------
    >>> printed_decimals_in(23864.99213, "ha"), printed_decimals_in(26.923, "%")
    (0, 1)
    >>> printed_decimals_in(4.412345678e9, "vnd"), printed_decimals_in(8.2345, "t_ha")
    (-6, 2)
    >>> printed_decimals_in(4.412345678e9, "vnd", units={"vnd": "tỷ đồng"})  # 4,4 tỷ đồng
    -8
    """
    if actual is None or pd.isna(actual):
        return None
    try:
        scale, label = _units.customary(1.0, unit, units=dict(units or {}))
    except (ValueError, SchemaError):
        return 3
    if scale <= 0:
        return 3
    shift = math.log10(scale)
    if abs(shift - round(shift)) > 1e-9:
        return 3
    return printed_decimals(float(actual) * scale, label) + round(shift)


def _row_rules(targets: pd.DataFrame, *, decimals: int, rounding: Rounding,
               actual_decimals: int | str | None) -> list[dict]:
    """How each target row's percentage is rounded: its own columns, else the options."""
    rules = []
    for pos in range(len(targets)):
        rule: dict = {"decimals": decimals, "rounding": rounding,
                      "actual_decimals": actual_decimals}
        for col in ("decimals", "actual_decimals"):
            if col in targets and not _missing(targets[col].iloc[pos]):
                value = targets[col].iloc[pos]
                try:
                    rule[col] = int(value)
                except (TypeError, ValueError):
                    raise SchemaError(f"targets row {targets.index[pos]}: {col} = {value!r}; "
                                      "write a whole number of decimals, e.g. 1") from None
        if "rounding" in targets and not _missing(targets["rounding"].iloc[pos]):
            value = str(targets["rounding"].iloc[pos]).strip().lower().replace(" ", "_")
            value = {"làm_tròn": "half_up", "cắt": "truncate"}.get(value, value)
            if value not in ("truncate", "half_up", "none"):
                raise SchemaError(f"targets row {targets.index[pos]}: rounding = "
                                  f"{targets['rounding'].iloc[pos]!r}; use truncate or half_up")
            rule["rounding"] = value
        rules.append(rule)
    return rules


def plan_targets(plan: Plan) -> pd.DataFrame:
    """The plan's targets: its ``targets`` layers as one table (empty without one).

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> t = plan_targets(demo())
    >>> r = t.iloc[0]
    >>> r["indicator"], r["scope"], int(r["year"]), float(r["target"])
    ('linkage_area', 'district', 2024, 21227.0)
    """
    layers = list(plan.of_kind("targets").values())
    if not layers:
        return pd.DataFrame(columns=["indicator", "unit", "scope", "scope_id", "year",
                                     "source", "target"])
    return layers[0] if len(layers) == 1 else pd.concat(layers, ignore_index=True)


def first_year(targets: pd.DataFrame, year: int) -> int:
    """The first year a report must compute: ``year``, or a cumulative target's ``start_year``.

    A target "lũy kế từ 2017" sums the actuals from 2017, so the indicators
    are computed from there.

    Examples
    --------
    >>> import pandas as pd
    >>> first_year(pd.DataFrame({"start_year": [None, 2017.0]}), 2024)
    2017
    >>> first_year(pd.DataFrame({"target": [1.0]}), 2024)
    2024
    """
    starts = (pd.to_numeric(targets["start_year"], errors="coerce").dropna()
              if "start_year" in targets else pd.Series(dtype=float))
    return int(min([year, *starts.astype(int).tolist()]))


def progress(
    actual: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    as_of: int | None = None,
    decimals: int = 1,
    rounding: Rounding = "truncate",
    actual_decimals: int | str | None = "printed",
    units: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Compare actual figures with targets: achieved percentage and shortfall.

    Parameters
    ----------
    actual : DataFrame
        Facts, one row per indicator, unit, scope, scope unit, year and
        optionally season, value in ``actual`` *for that year only* (see the
        module docstring; :func:`geoagri.indicators.actuals` makes one).
    targets : DataFrame
        A ``targets`` table (:mod:`geoagri.schema`): ``indicator``, ``unit``,
        ``scope``, ``scope_id``, ``year``, ``source``, ``target`` and
        optionally ``start_year`` (cumulative from that year), ``season`` and
        ``source_ref``.  Vocabulary values may be written in Vietnamese
        (``"ha"``/``"héc ta"``, ``"huyện"``, ``"Nghị quyết"``).
    as_of : int, optional
        Year of the report: no period is compared beyond it (a 2025 roadmap
        target compared in 2024 uses the 2024 actual; a cumulative one sums up
        to 2024).  Without it, a target year later than every fact uses the
        latest fact.
    decimals : int, default 1
        Decimals of ``achieved_pct``.
    rounding : {"truncate", "half_up", "none"}, default "truncate"
        How ``achieved_pct`` is rounded (see the module docstring: truncation
        reproduces the seed report's figures).
    actual_decimals : int, "printed" or None, default "printed"
        Decimals the actual is rounded to before the percentage: by default
        the figure as the report's sentence prints it
        (:func:`printed_decimals_in`: 23.865 ha, 26,9%, 4.412 triệu đồng);
        a number of decimals; None: not rounded.  A targets table's ``rounding``, ``decimals`` and
        ``actual_decimals`` columns, where given, set them row by row.
    units : mapping, optional
        The units the report prints in, by canonical unit (a plan's
        ``[settings] report_units``, e.g. ``{"vnd": "tỷ đồng"}``): the printed
        precision of ``actual_decimals="printed"`` is the one of that unit.

    Returns
    -------
    DataFrame
        One row per target, in the order of ``targets``, with the columns of
        :data:`PROGRESS_COLUMNS`: ``indicator``, ``unit``, ``scope``,
        ``scope_id`` (as in the targets; ``unit`` the canonical code, the
        facts' when compared, ``target`` converted to it), ``start_year`` (``<NA>`` unless
        cumulative), ``year``, ``season``, ``source``, ``source_ref``,
        ``target`` and ``actual`` (in ``unit``; ``actual`` NaN when there is
        no fact), ``actual_year`` (the last year of facts compared),
        ``achieved_pct`` (%), ``shortfall`` (``max(target − actual, 0)`` in
        ``unit``: how much is still missing; 0 when the target is met; NaN
        without an actual) and ``note`` (why an actual is missing — for an
        indicator the engine could not compute, its reason, from
        ``actual.attrs["not_computed"]`` — or which year was compared; empty
        otherwise).  Targets without actuals are
        kept, never dropped.

    Raises
    ------
    SchemaError
        If a table lacks required columns, a season or year is unreadable, a
        fact is repeated, or the facts give an indicator in several units or
        in a unit not understood.  A *target* whose unit is not understood or
        does not measure what its actual measures is not an error: its row
        has no actual and the ``note`` says why.
    NameMatchError
        If a target's ``scope_id`` is the name of several units of the facts
        (two communes named "Xã Bình Hòa"), listing them with their ids: the
        target must give the unit's code.
    ValueError
        If ``rounding`` is unknown.

    Examples
    --------
    Seed 000's high-tech rice area: 1.300 ha in 2024 against the plan's
    1.350 ha, and 6.400 ha cumulated 2021–2024 against the roadmap's 4.950 ha.

    >>> import pandas as pd
    >>> actual = pd.DataFrame({"indicator": "hightech_rice_area", "unit": "ha",
    ...     "scope": "district", "scope_id": "Vĩnh Hưng", "year": [2021, 2022, 2023, 2024],
    ...     "actual": [1500.0, 1700.0, 1900.0, 1300.0]})
    >>> targets = pd.DataFrame({"indicator": "hightech_rice_area", "unit": "ha",
    ...     "scope": "district", "scope_id": "Huyện Vĩnh Hưng", "year": 2024,
    ...     "source": ["plan", "roadmap"], "target": [1350.0, 4950.0],
    ...     "start_year": [None, 2021]})
    >>> progress(actual, targets)[["start_year", "actual", "achieved_pct", "shortfall"]]
       start_year  actual  achieved_pct  shortfall
    0        <NA>  1300.0          96.2       50.0
    1        2021  6400.0         129.2        0.0
    """
    if rounding not in ("truncate", "half_up", "none"):
        raise ValueError(f"rounding={rounding!r}; use 'truncate', 'half_up' or 'none'")
    _check_columns(targets, _TARGET_REQUIRED, "targets",
                   "read it with geoagri.read_layer(path, kind='targets') or add the columns")
    facts = _prepare_actual(actual)
    t = pd.DataFrame({
        "indicator": targets["indicator"].astype(str).to_numpy(),
        "unit": [_units.code_or_none(u) or (None if _missing(u) else str(u))
                 for u in targets["unit"]],
        "scope": [_canon(s, "scope") for s in targets["scope"]],
        "scope_id": targets["scope_id"].to_numpy(),
        "start_year": (pd.to_numeric(targets["start_year"], errors="coerce").astype("Int64")
                       .to_numpy() if "start_year" in targets
                       else pd.array([pd.NA] * len(targets), dtype="Int64")),
        "year": pd.to_numeric(targets["year"], errors="coerce").to_numpy(),
        "season": ([_season(s, table="targets", row=i)
                    for i, s in zip(targets.index, targets["season"], strict=True)]
                   if "season" in targets else [None] * len(targets)),
        "source": [_canon(s, "source") for s in targets["source"]],
        "source_ref": (targets["source_ref"].to_numpy() if "source_ref" in targets
                       else [None] * len(targets)),
        "target": _in_code(pd.to_numeric(targets["target"], errors="coerce"),
                           targets["unit"]),
    })
    written_units = targets["unit"].to_numpy()
    if t["year"].isna().any():
        rows = list(targets.index[t["year"].isna().to_numpy()])
        raise SchemaError(f"targets table: rows {rows[:10]} have no year. Fix: give the "
                          "target year (the end of the period)")
    t["year"] = t["year"].astype(int)
    skipped = actual.attrs.get("not_computed")  # why the engine computed no such facts
    why = (dict(zip(skipped["indicator"], skipped["why"], strict=True))
           if isinstance(skipped, pd.DataFrame) and len(skipped) else {})
    fact_units = facts.groupby("indicator")["unit"].first().to_dict()
    by_ind = {ind: grp for ind, grp in facts.groupby("indicator")}
    actual_values, actual_years, notes = [], [], []
    ambiguous: list[str] = []
    for pos, (_, row) in enumerate(t.iterrows()):
        start = row["start_year"]
        row = row.copy()
        row["start_year"] = None if pd.isna(start) else int(start)
        wrong = _unit_problem(row["unit"], written_units[pos], fact_units.get(row["indicator"]),
                              row["indicator"])
        if wrong:
            actual_values.append(math.nan)
            actual_years.append(None)
            notes.append(wrong)
            log.warning("progress: target row %d (%s): %s", pos, row["indicator"], wrong)
            continue
        own = fact_units.get(row["indicator"])
        if own is not None and own != row["unit"]:
            t.loc[t.index[pos], "target"] = float(
                _units.convert([row["target"]], row["unit"], own)[0])
            t.loc[t.index[pos], "unit"] = own
        grp = by_ind.get(row["indicator"])
        known = grp is not None
        if known:
            key = _key(row["scope_id"])
            grp = grp[grp["scope"] == row["scope"]]
            exact = grp[grp["key"] == key]  # the unit's id (code) first, else its name
            grp = exact if len(exact) else grp[grp["name_key"] == key]
            named = grp.drop_duplicates("key")
            if len(named) > 1:  # two communes named "Xã Bình Hòa": which one is unknowable
                ambiguous.append(
                    f"{row['indicator']} {row['year']} {row['scope']} {row['scope_id']!r} "
                    "matches " + ", ".join(f"{n} ({i})" for n, i in
                                           zip(named["unit_name"], named["unit_id"], strict=True)))
        value, year, note = _compare(row, grp if known else facts.iloc[:0], as_of=as_of,
                                     indicator_known=known, why=why.get(row["indicator"]))
        actual_values.append(value)
        actual_years.append(year)
        notes.append("; ".join(note))
    if ambiguous:
        raise NameMatchError(
            f"{len(ambiguous)} target(s) name a unit that several units of the actuals "
            "share: " + "; ".join(ambiguous[:10]) + ". Fix: write the unit's code in the "
            "target's scope_id (e.g. the commune code)")
    out = t.copy()
    out["actual"] = np.array(actual_values, dtype=float)
    out["actual_year"] = pd.array(actual_years, dtype="Int64")
    out["start_year"] = pd.array([None if pd.isna(v) else int(v) for v in t["start_year"]],
                                 dtype="Int64")
    rules = _row_rules(targets, decimals=decimals, rounding=rounding,
                       actual_decimals=actual_decimals)
    for rule, a, u in zip(rules, out["actual"], out["unit"], strict=True):
        if rule["actual_decimals"] == "printed":
            rule["actual_decimals"] = printed_decimals_in(a, str(u), units=units)
    out["achieved_pct"] = [achieved_pct(a, g, **rule) for a, g, rule in
                           zip(out["actual"], out["target"], rules, strict=True)]
    out["shortfall"] = (out["target"] - out["actual"]).clip(lower=0.0)
    zero = (out["target"] == 0) & out["actual"].notna()
    out["note"] = [
        "; ".join(x for x in (n, "target is 0: no percentage" if z else "") if x)
        for n, z in zip(notes, zero, strict=True)]
    for n in out["note"]:
        if n:
            log.info("progress: %s", n)
    return out.loc[:, list(PROGRESS_COLUMNS)].reset_index(drop=True)
