"""Indicators declared as data, computed by one engine into one tidy table.

An indicator is what a programme document reports: "23.865 ha of linkage",
"22 HTX", "89,16% of the plan".  Like a health-information system's
indicator (numerator, denominator, factor; organisation-unit hierarchy;
periods), each is declared as data — a table of the built-in catalogue
(``geoagri/datasets/indicators.toml``) or an ``[indicators.NAME]`` table of a
``plan.toml`` — and :func:`compute_indicators` computes them all, once, into
one table that progress, the report and the maps read.

A definition
------------
============== ===============================================================
key            meaning
============== ===============================================================
``measure``    what is computed (see below); required
``source``     the kind of layer it is computed from (``zones``, ``models``,
               ``parcels``, ``cooperatives``, ``works``, ``pumps``, ``power``…)
``layer``      the layer's name, when the plan has several of that kind
``where``      filter on the layer's columns: ``{ zone_kind = "linkage" }``;
               a list is "any of" (``status = ["active", ""]``); ``""`` is an
               empty value, ``"*"`` any non-empty value, and a string starting
               with ``<=``, ``<``, ``>=``, ``>``, ``!=`` or ``==`` compares
               (``start_year = ["<= year", ""]``: started by the year computed,
               or undated; ``work_type = "!= power"``).  Values are read in the
               layer's vocabulary (``coop_type = "hợp tác xã"`` is ``htx``)
``by``         category columns the figure is also given by (``["crop"]``)
``period``     ``"season"`` (each feature's season; the year is the season's
               last year, and each season gets its own row) or a column giving
               each feature's year (``"year"``, ``"founded_year"``); without
               it the indicator is a stock, evaluated as of each year
``years``      ``"all"`` (default: every year computed has a row) or
               ``"in_layer"`` (only years the layer has features of: a layer
               that says nothing about a year gives no row, not a false 0)
``unit``       the unit of the figure (``ha``, ``%``, ``triệu đồng``…)
``counts``     what a count counts (``HTX``, ``mô hình``, ``hộ``)
``label_vi``,  labels
``label_en``
``document``   the sentence of the document the indicator answers
============== ===============================================================

Measures
--------
``area``
    Area in ha of the selected polygons, overlaps counted once
    (:func:`geoagri.area.area_by_zone` in the plan's metric CRS), split
    between communes by geometry.  With ``period = "season"``, counted once
    per season and summed over the year's seasons.
``sown_area``
    Area counted once within each season, summed over the seasons (the
    "diện tích gieo trồng" of the statistics offices).
``feature_area``
    Sum of each feature's own area: its ``declared_area_ha`` where given,
    else its polygon measured in the metric CRS (the "12 mô hình, 600 ha"
    of the reports); each feature counts in its commune.
``count``, ``count_distinct``
    Number of features; number of distinct values of ``column``.
``sum``, ``mean``
    Of ``column`` (``mean`` optionally weighted by the column ``weight``),
    converted from the column's unit (its name's suffix, ``cost_vnd``) to
    ``unit``.
``threshold``
    Number of groups of features (``group_by``, e.g. ``holder_id``) whose
    total ``of`` (``feature_area``, ``count`` or ``sum`` of ``column``) is
    ``at_least`` a quantity with its unit (``"3 ha"``); a group counts in
    the commune holding most of it.
``ratio``
    ``numerator`` / ``denominator`` (two indicator ids) × ``factor``
    (100: a percentage), unit by unit; a category of the numerator is
    divided by the denominator's same category, else by its total.
``cumulative``
    Sum of the yearly values of ``of`` from ``since`` through each year
    ("lũy kế").
``units_meeting``
    Number of units of ``level`` (``district``) whose ``of`` is
    ``at_least`` a quantity ("huyện có ≥ 3 HTX chuỗi giá trị"): 1 or 0 for
    each unit of that level, the count in each province (for districts) and
    for the whole plan.

The table
---------
:data:`INDICATOR_COLUMNS`: ``indicator``, ``level`` (``commune``,
``district``, ``province``, ``plan``), ``unit_id`` (the unit's official code
where known, else its name), ``unit_name``, ``categories`` (``""`` for the
total, ``"crop=rice"`` for a category), ``period`` (``"2024"`` or a season
``"HT 2024"``), ``year``, ``value``, ``unit``, ``n_features`` (source
features counted).  Districts are the communes' districts by code
(:func:`geoagri.hierarchy.assign_units`; new communes count in the old
districts they came from, area-weighted), or the plan's ``district`` when
nothing names them.  A feature counts in its commune (its ``commune_id``, else
the commune containing it); one outside every commune counts only in the
whole plan.  Additive measures give every unit a row (0 where nothing
counts).  An indicator that cannot be computed (no such layer, a missing
column, a denominator that is 0 everywhere) is listed in
``attrs["not_computed"]`` with the reason, and the others are computed.

Examples
--------
>>> from geoagri.datasets import demo
>>> t = compute_indicators(demo(), year=2024, indicators=["linkage_area", "models"])
>>> plan = t[(t["level"] == "plan") & (t["categories"] == "")].set_index(["indicator", "period"])
>>> v = plan["value"]
>>> round(v[("linkage_area", "2024")]), float(v[("models", "HT 2024")])
(23865, 12.0)
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoagri import units as _units
from geoagri.errors import GeoagriError, IndicatorError, OptionError, PlanError, SchemaError
from geoagri.names import unit_key
from geoagri.schema import KINDS, spec

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

__all__ = ["INDICATOR_COLUMNS", "LEVELS", "MEASURES", "Indicator", "catalogue",
           "check_indicators", "compute_indicators", "definition_problems", "in_force",
           "indicator_labels", "labelled", "parse_indicator", "select_features", "unknown_targets"]

log = logging.getLogger("geoagri")

#: The measures an indicator may use, with what each needs besides ``measure``.
MEASURES: dict[str, tuple[str, ...]] = {
    "area": ("source",), "sown_area": ("source",), "feature_area": ("source",),
    "count": ("source",), "count_distinct": ("source", "column"),
    "sum": ("source", "column"), "mean": ("source", "column"),
    "threshold": ("source", "group_by", "of", "at_least"),
    "ratio": ("numerator", "denominator"), "cumulative": ("of", "since"),
    "units_meeting": ("of", "level", "at_least"),
}

#: Levels of the table, from the commune up to the whole plan.
LEVELS = ("commune", "district", "province", "plan")

#: Columns of the table :func:`compute_indicators` returns.
INDICATOR_COLUMNS = ("indicator", "level", "unit_id", "unit_name", "categories", "period",
                     "year", "value", "unit", "n_features")

_KEYS = {"measure", "source", "layer", "where", "by", "period", "years", "unit", "counts",
         "label_vi", "label_en", "document", "column", "weight", "numerator", "denominator",
         "factor", "group_by", "of", "at_least", "since", "level"}
_ADDITIVE = ("area", "sown_area", "feature_area", "count", "sum", "threshold")
_THRESHOLD_OF = ("feature_area", "count", "sum")
_OPS = {"<=": "le", ">=": "ge", "!=": "ne", "==": "eq", "<": "lt", ">": "gt"}
_CATALOGUE = Path(__file__).with_name("datasets") / "indicators.toml"


@dataclass(frozen=True)
class _Condition:
    """One condition of a filter: ``op`` is missing, present, eq, ne, lt, le, gt or ge."""

    op: str
    value: Any = None


@dataclass(frozen=True)
class Indicator:
    """One indicator's definition (see the module docstring for the keys).

    Attributes
    ----------
    id, measure : str
        Its id and measure (:data:`MEASURES`).
    source, layer : str or None
        The layer kind it reads, and the layer's name when several share it.
    where : mapping of str to tuple of conditions
        The filter, read (values in the layer's vocabulary).
    by, period, years :
        Categories, period (``"season"`` or a year column) and which years.
    unit, counts : str
        The unit of the figure, and what a count counts.
    column, weight, numerator, denominator, factor, group_by, of, at_least, since, level :
        What the measure needs (``at_least`` as ``(value, unit)``).

    Examples
    --------
    >>> ind = parse_indicator("htx", {"source": "cooperatives", "measure": "count",
    ...                               "where": {"coop_type": "hợp tác xã"}, "counts": "HTX"})
    >>> ind.measure, ind.unit, ind.where["coop_type"][0].value
    ('count', 'count', 'htx')
    """

    id: str
    measure: str
    source: str | None = None
    layer: str | None = None
    where: Mapping[str, tuple[_Condition, ...]] = field(default_factory=dict)
    by: tuple[str, ...] = ()
    period: str | None = None
    years: str = "all"
    unit: str = "count"
    counts: str | None = None
    label_vi: str = ""
    label_en: str = ""
    document: str = ""
    column: str | None = None
    weight: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    factor: float = 1.0
    group_by: str | None = None
    of: str | None = None
    at_least: tuple[float, str] | None = None
    since: int | None = None
    level: str | None = None

    @property
    def depends_on(self) -> tuple[str, ...]:
        """Indicators this one is computed from (ratio, cumulative, units_meeting)."""
        if self.measure == "ratio":
            return (str(self.numerator), str(self.denominator))
        if self.measure in ("cumulative", "units_meeting"):
            return (str(self.of),)
        return ()


def _quantity(text: object) -> tuple[float, str]:
    """``"3 ha"`` → ``(3.0, "ha")``; a number without a unit is an error."""
    found = re.fullmatch(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*(\S.*)?", str(text))
    if not found or not found.group(2):
        raise ValueError(f"at_least = {text!r}: write a number and its unit, e.g. "
                         "\"3 ha\" or \"3 HTX\"")
    unit = found.group(2).strip()
    if _units.code_or_none(unit) is None:
        raise ValueError(f"at_least = {text!r}: unit {unit!r} is not understood; write ha, "
                         "HTX, hộ, count, triệu đồng…")
    return float(found.group(1).replace(",", ".")), unit


def _condition(kind: str | None, column: str, value: object) -> _Condition:
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return _Condition("missing")
        if text == "*":
            return _Condition("present")
        for sign in sorted(_OPS, key=len, reverse=True):
            if text.startswith(sign):
                rest = text[len(sign):].strip()
                if rest == "year":
                    return _Condition(_OPS[sign], "year")
                try:
                    return _Condition(_OPS[sign], float(rest))
                except ValueError:
                    if _OPS[sign] in ("eq", "ne"):
                        return _Condition(_OPS[sign], _canonical(kind, column, rest))
                    raise ValueError(f"{column} = {value!r}: compare with a number or "
                                     "'year', e.g. \"<= year\"") from None
        return _Condition("eq", _canonical(kind, column, text))
    if isinstance(value, bool | int | float):
        return _Condition("eq", value)
    raise ValueError(f"{column} = {value!r}: write a value, a list of values, \"\" (empty), "
                     "\"*\" (any) or a comparison such as \"<= year\"")


def _canonical(kind: str | None, column: str, value: str) -> str:
    """A filter value in the layer's vocabulary (``hợp tác xã`` → ``htx``)."""
    if kind in KINDS and column in spec(kind).columns:
        found = spec(kind).columns[column].canonical_value(value)
        if found is not None:
            return found
    return value


def parse_indicator(name: str, table: Mapping[str, Any]) -> Indicator:
    """An indicator from its table (a catalogue or ``[indicators.NAME]`` table).

    Parameters
    ----------
    name : str
        The indicator's id.
    table : mapping
        Its keys (module docstring).

    Returns
    -------
    Indicator

    Raises
    ------
    IndicatorError
        Listing every problem of the table (unknown key or measure, a key the
        measure needs, a filter or threshold that cannot be read), each with
        the fix.

    Examples
    --------
    >>> try:
    ...     parse_indicator("x", {"measure": "volume", "source": "zones"})
    ... except IndicatorError as err:
    ...     print(err)
    indicator 'x': measure = 'volume' is not a measure; use one of area, sown_area, ...
    """
    problems = definition_problems({name: table})
    if problems:
        raise IndicatorError("; ".join(problems))
    t = dict(table)
    kind = t.get("source")
    where = {str(c): tuple(_condition(kind, str(c), v)
                           for v in (vals if isinstance(vals, list) else [vals]))
             for c, vals in dict(t.get("where", {})).items()}
    measure = t["measure"]
    count_like = measure in ("count", "count_distinct", "threshold", "units_meeting")
    unit = t.get("unit") or ("ha" if measure in ("area", "sown_area", "feature_area")
                             else "count" if count_like
                             else "%" if measure == "ratio" else "")
    return Indicator(
        id=name, measure=measure, source=kind, layer=t.get("layer"), where=where,
        by=tuple(t.get("by", ())), period=t.get("period"), years=t.get("years", "all"),
        unit=str(unit), counts=t.get("counts"), label_vi=t.get("label_vi", ""),
        label_en=t.get("label_en", ""), document=t.get("document", ""),
        column=t.get("column"), weight=t.get("weight"), numerator=t.get("numerator"),
        denominator=t.get("denominator"), factor=float(t.get("factor", 1.0)),
        group_by=t.get("group_by"), of=t.get("of"),
        at_least=_quantity(t["at_least"]) if "at_least" in t else None,
        since=int(t["since"]) if "since" in t else None, level=t.get("level"))


def definition_problems(tables: Mapping[str, Any], *, plan: bool = False) -> list[str]:
    """Every format problem of indicator tables, one sentence each (empty: none).

    Column names are checked against the layers when computing
    (:func:`check_indicators`); this checks what the tables alone can say.
    With ``plan=True`` (a plan's ``[indicators.NAME]``), an id of the built-in
    catalogue is a problem too: the report's and the map's figures use the
    built-in definition, so a plan names its own indicators differently.

    Parameters
    ----------
    tables : mapping of str to mapping
        Indicator tables by id.
    plan : bool, default False
        Whether the tables are a plan's own.

    Returns
    -------
    list of str

    Examples
    --------
    >>> for problem in definition_problems({"a": {"measure": "count", "colour": "red"}}):
    ...     print(problem)
    indicator 'a': unknown key(s) ['colour']; allowed: at_least, by, column, ...
    indicator 'a': measure 'count' needs source = ... (e.g. source = "zones")
    """
    problems: list[str] = []
    builtin = set(_builtin_tables()) if plan else set()
    for name, t in tables.items():
        where = f"indicator {name!r}"
        if name in builtin:
            problems.append(f"{where} is built in (docs/indicators.md); give yours another "
                            f"name, e.g. [indicators.{name}_plan]")
        if not isinstance(t, Mapping):
            problems.append(f"{where} must be a table of keys (measure, source, where…)")
            continue
        if set(t) - _KEYS:
            problems.append(f"{where}: unknown key(s) {sorted(set(t) - _KEYS)}; allowed: "
                            f"{', '.join(sorted(_KEYS))}")
        measure = t.get("measure")
        if measure not in MEASURES:
            problems.append(f"{where}: measure = {measure!r} is not a measure; use one of "
                            f"{', '.join(MEASURES)}")
            continue
        for key in MEASURES[measure]:
            if key not in t:
                example = {"source": '"zones"', "column": '"members"', "group_by": '"holder_id"',
                           "of": '"feature_area"', "at_least": '"3 ha"',
                           "numerator": '"an indicator id"', "denominator": '"an indicator id"',
                           "since": "2021", "level": '"district"'}[key]
                problems.append(f"{where}: measure {measure!r} needs {key} = ... "
                                f"(e.g. {key} = {example})")
        kind = t.get("source")
        if kind is not None and kind not in KINDS:
            problems.append(f"{where}: source = {kind!r} is not a layer kind; use one of "
                            f"{', '.join(KINDS)}")
        if not isinstance(t.get("where", {}), Mapping):
            problems.append(f"{where}: where must be a table like {{ zone_kind = \"linkage\" }}")
        else:
            for col, vals in dict(t.get("where", {})).items():
                for v in vals if isinstance(vals, list) else [vals]:
                    try:
                        _condition(kind if kind in KINDS else None, str(col), v)
                    except ValueError as err:
                        problems.append(f"{where}: where {err}")
        by = t.get("by", [])
        if not isinstance(by, list) or not all(isinstance(b, str) for b in by):
            problems.append(f"{where}: by must be a list of columns, e.g. by = [\"crop\"]")
        if t.get("years", "all") not in ("all", "in_layer"):
            problems.append(f"{where}: years = {t.get('years')!r}; use \"all\" or \"in_layer\"")
        if measure == "threshold" and t.get("of") not in _THRESHOLD_OF:
            problems.append(f"{where}: of = {t.get('of')!r}; a threshold adds up "
                            f"{', '.join(_THRESHOLD_OF)} over each group")
        if measure == "threshold" and t.get("of") == "sum" and "column" not in t:
            problems.append(f"{where}: of = \"sum\" needs column = ...")
        if "at_least" in t:
            try:
                _quantity(t["at_least"])
            except ValueError as err:
                problems.append(f"{where}: {err}")
        if measure == "units_meeting" and t.get("level") not in ("commune", "district",
                                                                 "province"):
            problems.append(f"{where}: level = {t.get('level')!r}; use \"commune\", "
                            "\"district\" or \"province\"")
        if "factor" in t and not isinstance(t["factor"], int | float):
            problems.append(f"{where}: factor = {t['factor']!r}; write a number (100 for %)")
        if measure == "ratio" and "unit" not in t and t.get("factor", 1) != 100:
            problems.append(f"{where}: a ratio needs unit = ... unless factor = 100 (%)")
        if measure in ("sum", "mean") and "unit" not in t and _units.column_unit(
                str(t.get("column", ""))) is None:
            problems.append(f"{where}: column {t.get('column')!r} has no unit in its name; "
                            "write unit = \"count\" (or ha, triệu đồng…)")
        if "since" in t and not isinstance(t["since"], int):
            problems.append(f"{where}: since = {t['since']!r}; write the first year, e.g. 2021")
    return problems


def catalogue(plan: Plan | None = None) -> dict[str, Indicator]:
    """The built-in indicators, with the plan's own ``[indicators.NAME]`` added.

    Parameters
    ----------
    plan : Plan, optional
        Its ``indicators`` tables are added (a built-in id keeps its built-in
        definition; :func:`definition_problems` reports the clash).

    Returns
    -------
    dict of str to Indicator

    Examples
    --------
    >>> cat = catalogue()
    >>> cat["linkage_area"].measure, cat["cooperatives_with_partner_pct"].unit
    ('area', '%')
    """
    builtin = _builtin()[1]
    tables = {**(getattr(plan, "indicators", None) or {}), **_builtin_tables()}
    return {name: builtin[name] if name in builtin else parse_indicator(name, t)
            for name, t in tables.items()}


def _lenient_catalogue(plan: Plan) -> tuple[dict[str, Indicator], dict[str, str]]:
    """The catalogue without the plan's malformed tables, and why each was left out."""
    builtin = _builtin_tables()
    cat = dict(_builtin()[1])
    failed: dict[str, str] = {}
    for name, table in (getattr(plan, "indicators", None) or {}).items():
        if name in builtin:
            log.warning("indicator %r is built in: the plan's definition is not used; give "
                        "it another name", name)
            continue
        problems = definition_problems({name: table})
        if problems:
            failed[name] = "; ".join(problems)
        else:
            cat[name] = parse_indicator(name, table)
    return cat, failed


def _builtin_tables() -> dict[str, Any]:
    return dict(_builtin()[0])


@lru_cache(maxsize=1)
def _builtin() -> tuple[dict[str, Any], dict[str, Indicator]]:
    """The built-in catalogue's tables and indicators, read once (never hand out: copy)."""
    with _CATALOGUE.open("rb") as f:
        tables = dict(tomllib.load(f)["indicators"])
    return tables, {name: parse_indicator(name, t) for name, t in tables.items()}


def select_features(ind: Indicator, layer: pd.DataFrame, *, year: int | None) -> pd.Series:
    """Which features of a layer an indicator counts in a year (its ``where``).

    Parameters
    ----------
    ind : Indicator
    layer : DataFrame or GeoDataFrame
        A layer of the indicator's ``source`` kind.  A column of the kind's
        schema that the layer lacks is read as empty.
    year : int or None
        The year ``"<= year"`` compares with (None: such conditions pass).

    Returns
    -------
    Series of bool
        Aligned to ``layer.index``.

    Raises
    ------
    IndicatorError
        If the filter names a column neither the layer nor its kind has.

    Examples
    --------
    >>> import pandas as pd
    >>> zones = pd.DataFrame({"zone_id": ["a", "b"], "zone_kind": ["linkage"] * 2,
    ...                       "start_year": [2020, 2025]})
    >>> select_features(catalogue()["linkage_area"], zones, year=2024).tolist()
    [True, False]
    """
    keep = pd.Series(True, index=layer.index)
    for col, conds in ind.where.items():
        values = _column(ind, layer, col)
        derived = _Derived(values)
        ok = pd.Series(False, index=layer.index)
        for c in conds:
            ok |= _test(values, c, year, derived)
        keep &= ok
    return keep


class _Derived:
    """A column's values as the conditions read them, each made once when first asked."""

    def __init__(self, values: pd.Series) -> None:
        self.values = values
        self._made: dict[str, pd.Series] = {}

    def _get(self, what: str) -> pd.Series:
        if what not in self._made:
            v = self.values
            self._made[what] = (_empty(v) if what == "empty" else
                                pd.to_numeric(v, errors="coerce") if what == "number" else
                                v.astype(str).str.strip())
        return self._made[what]

    @property
    def empty(self) -> pd.Series:
        return self._get("empty")

    @property
    def number(self) -> pd.Series:
        return self._get("number")

    @property
    def text(self) -> pd.Series:
        return self._get("text")


#: The columns of a zone's life span: what "in force in year Y" reads.
LIFESPAN = ("status", "start_year", "end_year")


def in_force(layer: pd.DataFrame, *, year: int, kind: str = "zones") -> pd.Series:
    """Which features of a layer are in force in a year, by the catalogue's own rule.

    The rule is the life-span part of the ``linkage_area`` indicator's filter
    (``geoagri/datasets/indicators.toml``: ``status`` active or empty,
    ``start_year`` at most the year or empty), so ``geoagri area --year``
    and the report count the same zones.  For a layer that is not of kind
    ``zones`` only the years are read (its ``status`` means something else).

    Parameters
    ----------
    layer : DataFrame or GeoDataFrame
        Any layer; a life-span column it lacks is not tested.
    year : int
        Calendar year.
    kind : str, default "zones"
        The layer's kind.

    Returns
    -------
    Series of bool
        Aligned to ``layer.index``.

    Examples
    --------
    >>> import pandas as pd
    >>> zones = pd.DataFrame({"zone_kind": ["linkage", "planning", "linkage"],
    ...                       "start_year": [2020, None, 2030]})
    >>> in_force(zones, year=2024).tolist()
    [True, True, False]
    """
    rule = catalogue()["linkage_area"]
    where = {c: v for c, v in rule.where.items() if c in LIFESPAN and c in layer.columns
             and (kind == "zones" or c != "status")}
    return select_features(replace(rule, where=where), layer, year=year)


def _column(ind: Indicator, layer: pd.DataFrame, col: str) -> pd.Series:
    if col in layer.columns:
        return layer[col]
    if ind.source in KINDS and col in spec(ind.source).columns:
        return pd.Series(None, index=layer.index, dtype=object)
    raise IndicatorError(
        f"indicator {ind.id!r}: column {col!r} is not in the {ind.source} layer (its columns: "
        f"{', '.join(c for c in layer.columns if c != 'geometry')}). Fix: name one of them, "
        "or add the column to the layer (rename = {...} in its [layers.NAME])")


def _empty(values: pd.Series) -> pd.Series:
    return values.isna() | (values.astype(str).str.strip() == "")


def _test(values: pd.Series, c: _Condition, year: int | None, d: _Derived) -> pd.Series:
    if c.op == "missing":
        return d.empty.copy()
    if c.op == "present":
        return ~d.empty
    target = c.value
    if target == "year":
        if year is None:
            return pd.Series(True, index=values.index)
        target = year
    if isinstance(target, bool):
        truth = values.map(lambda v: str(v).strip().lower() in ("true", "1", "yes", "có"))
        return (truth == target) & ~d.empty
    if isinstance(target, int | float):
        num = d.number
        out = {"eq": num == target, "ne": num != target, "lt": num < target,
               "le": num <= target, "gt": num > target, "ge": num >= target}[c.op]
        return out.fillna(False).astype(bool)
    same = (d.text == str(target)) & ~d.empty
    return same if c.op == "eq" else ~same


# --------------------------------------------------------------------------- features

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
        pts = np.asarray(layer.loc[todo].geometry.representative_point()
                         .to_crs(communes.crs).values, dtype=object)
        units = np.asarray(communes.geometry.values, dtype=object)
        # each commune (prepared for the query alone) finds the points in its interior;
        # a point in two overlapping communes takes the first
        unit, point = shapely.STRtree(pts).query(units, predicate="contains")
        first = np.full(len(pts), len(units))
        np.minimum.at(first, point, unit)
        ids = np.append(communes["commune_id"].astype(str).to_numpy(dtype=object), None)
        own.loc[todo] = pd.array(ids[first], dtype="string")
    lost = own.isna()
    if lost.any():
        log.info("%s: %d feature(s) in no commune are counted in no commune or district",
                 kind, int(lost.sum()))
    return own


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


# --------------------------------------------------------------------------- units of levels

def _district_map(communes: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """District of each commune, by code: ``commune_id``, ``unit_id``, ``unit_name``, ``weight``.

    ``unit_id`` is the official district code where one is known, else the
    district's name as written; a commune without a district counts in the
    plan's ``district``.  New (2025) communes count in the old districts they
    came from, area-weighted (:func:`geoagri.hierarchy.assign_units`).
    """
    from geoagri.hierarchy import assign_units, official_rows

    fallback = plan.district or "district"
    ids = communes["commune_id"].astype(str).to_numpy()
    named = ("district" in communes.columns or "district_code" in communes.columns
             or official_rows(communes, era=plan.era)[0] is not None)
    if not named:
        return pd.DataFrame({"commune_id": ids, "unit_id": fallback, "unit_name": fallback,
                             "weight": 1.0})
    units = assign_units(communes, "district", era=plan.era, province=plan.province,
                         layer="communes")
    name = units["district"].where(units["district"].notna(), fallback)
    code = units["district_code"].where(units["district_code"].notna(), name)
    return pd.DataFrame({"commune_id": ids[units["_pos"].to_numpy()],
                         "unit_id": code.astype(str).to_numpy(),
                         "unit_name": name.astype(str).to_numpy(),
                         "weight": units["weight"].to_numpy(dtype=float)})


def _province_map(communes: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    from geoagri.hierarchy import assign_units

    fallback = plan.province or plan.name
    ids = communes["commune_id"].astype(str).to_numpy()
    try:
        units = assign_units(communes, "province", era=plan.era, province=plan.province,
                             layer="communes")
    except SchemaError:  # nothing names the province: the plan is one
        return pd.DataFrame({"commune_id": ids, "unit_id": fallback, "unit_name": fallback,
                             "weight": 1.0})
    name = units["province"].where(units["province"].notna(), fallback)
    code = units["province_code"].where(units["province_code"].notna(), name)
    return pd.DataFrame({"commune_id": ids[units["_pos"].to_numpy()],
                         "unit_id": code.astype(str).to_numpy(),
                         "unit_name": name.astype(str).to_numpy(),
                         "weight": units["weight"].to_numpy(dtype=float)})


def _unit_maps(plan: Plan, communes: pd.DataFrame, levels: Sequence[str]) -> dict:
    ids = communes["commune_id"].astype(str).to_numpy()
    maps: dict[str, pd.DataFrame] = {}
    if "commune" in levels:
        maps["commune"] = pd.DataFrame({"commune_id": ids, "unit_id": ids,
                                        "unit_name": communes["commune_name"].astype(str)
                                        .to_numpy(), "weight": 1.0})
    if "district" in levels:
        maps["district"] = _district_map(communes, plan)
    if "province" in levels:
        maps["province"] = _province_map(communes, plan)
    if "plan" in levels:
        maps["plan"] = pd.DataFrame({"commune_id": [*ids, pd.NA], "unit_id": plan.name,
                                     "unit_name": plan.name, "weight": 1.0})
    return maps


# --------------------------------------------------------------------------- the engine

class _NotComputedError(Exception):
    """An indicator that cannot be computed; ``kind`` says why in one word."""

    def __init__(self, message: str, kind: str = "error") -> None:
        super().__init__(message)
        self.kind = kind


def _source_layer(plan: Plan, ind: Indicator) -> tuple[str, pd.DataFrame]:
    """The name and the layer an indicator reads."""
    if ind.layer is not None:
        if ind.layer not in plan.layers:
            raise _NotComputedError(f"the plan has no layer {ind.layer!r}; its layers are "
                                    f"{list(plan.layers)}", "no_layer")
        return ind.layer, plan.layers[ind.layer]
    found = plan.of_kind(str(ind.source))
    if not found:
        raise _NotComputedError(f"the plan has no layer of kind {ind.source!r}; add one "
                                f"([layers.NAME] kind = \"{ind.source}\")", "no_layer")
    if len(found) > 1:
        raise _NotComputedError(f"the plan has {len(found)} layers of kind {ind.source!r} "
                                f"({list(found)}); name one with layer = \"...\"",
                                "ambiguous")
    return next(iter(found.items()))


def _categories(frame: pd.DataFrame, by: Sequence[str]) -> pd.Series:
    if not by:
        return pd.Series("", index=frame.index, dtype=object)
    parts = [by_col + "=" + frame[by_col].astype(object).where(frame[by_col].notna(), "")
             .astype(str) for by_col in by]
    out = parts[0]
    for p in parts[1:]:
        out = out + "; " + p
    return out


def _needed_columns(ind: Indicator) -> list[str]:
    cols = [*ind.by, *(c for c in (ind.column, ind.weight, ind.group_by) if c)]
    if ind.period == "season" or ind.measure == "sown_area":
        cols.append("season")
    elif ind.period:
        cols.append(ind.period)
    return cols


def _check_columns(ind: Indicator, layer: pd.DataFrame) -> None:
    missing = [c for c in _needed_columns(ind) if c not in layer.columns]
    if missing:
        raise _NotComputedError(
            f"column(s) {missing} are not in the {ind.source} layer (its columns: "
            f"{', '.join(c for c in layer.columns if c != 'geometry')}); add them or change "
            "the definition", "no_column")
    if ind.measure in ("area", "sown_area") and not hasattr(layer, "geometry"):
        raise _NotComputedError(f"measure {ind.measure!r} needs polygons; the {ind.source} layer "
                           "has no geometry", "error")
    for col, conds in ind.where.items():
        if col not in layer.columns and not (ind.source in KINDS
                                             and col in spec(ind.source).columns):
            raise _NotComputedError(
                f"column {col!r} is not in the {ind.source} layer (its columns: "
                f"{', '.join(c for c in layer.columns if c != 'geometry')}); name one of "
                "them, or add the column to the layer (rename = {...} in its "
                "[layers.NAME])", "no_column")
        if col not in layer.columns and not any(c.op == "missing" for c in conds):
            raise _NotComputedError(
                f"the {ind.source} layer has no column {col!r}: it says nothing about it "
                "(a 0 would be false); add the column to compute it", "no_column")


def _value_unit(ind: Indicator) -> tuple[str | None, str]:
    """(unit of the column's values, unit of the figure) for sum and mean."""
    own = _units.column_unit(str(ind.column))
    return (own or ind.unit), ind.unit or str(own)


# The engine works on contribution rows held as arrays: one row per feature counted
# (and, for areas, per commune × category × season measured), in the order the rows
# are summed, so that every sum is the one a groupby over the rows in that order gives.

@dataclass
class _Rows:
    """Contribution rows of one indicator, in the order they are summed.

    ``commune``: position in the run's communes (-1: in none); ``district``:
    a whole district's name or code for a row of a district (None elsewhere);
    ``v``: the value (the values of a mean or a distinct count); ``n``: the
    features counted; ``w``: a mean's weights.
    """

    commune: np.ndarray
    categories: np.ndarray
    period: np.ndarray
    year: np.ndarray
    v: np.ndarray
    n: np.ndarray
    w: np.ndarray | None = None
    district: np.ndarray | None = None

    def merged(self) -> _Rows:
        """The rows of one commune, categories, period, year and district summed into one,
        in the order of their first rows, where every ``v`` and ``n`` is a whole number
        (such sums are exact in any order, so every figure is the same); else the rows.

        Examples
        --------
        >>> r = _Rows(commune=np.array([0, 1, 0]), categories=np.array(["", "", ""], object),
        ...           period=np.array(["2024"] * 3, object), year=np.array([2024] * 3),
        ...           v=np.ones(3), n=np.ones(3))
        >>> m = r.merged()
        >>> m.commune.tolist(), m.v.tolist(), m.n.tolist()
        ([0, 1], [2.0, 1.0], [2.0, 1.0])
        >>> r.v = np.array([0.1, 0.2, 0.3])  # summed in another order, 0.4 might not be 0.4
        >>> r.merged() is r
        True
        """
        if self.w is not None or not len(self.v) or self.v.dtype == object:
            return self
        v, n = self.v.astype(float), self.n.astype(float)
        limit = 2.0 ** 52 / len(v)
        whole = (np.all(np.isfinite(v)) and np.all(v == np.round(v)) and np.all(n == np.round(n))
                 and np.abs(v).max() < limit and np.abs(n).max() < limit)
        if not whole:
            return self
        codes = self.commune.astype(np.int64)
        for part in (self.categories, self.period, self.year, self.district):
            if part is None:
                continue
            c, u = pd.factorize(part, use_na_sentinel=False)
            codes, _ = pd.factorize(codes * max(len(u), 1) + c)
        if codes.max() + 1 == len(codes):
            return self
        first = np.zeros(int(codes.max()) + 1, dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
        k = int(codes.max()) + 1
        return _Rows(commune=self.commune[first], categories=self.categories[first],
                     period=self.period[first], year=self.year[first],
                     v=np.bincount(codes, weights=v, minlength=k),
                     n=np.bincount(codes, weights=n, minlength=k),
                     district=None if self.district is None else self.district[first])

    @staticmethod
    def concat(parts: Sequence[_Rows]) -> _Rows:
        def cat(name: str) -> np.ndarray | None:
            arrays = [getattr(p, name) for p in parts]
            if all(a is None for a in arrays):
                return None
            return np.concatenate([a if a is not None else np.full(len(p.v), None, object)
                                   for a, p in zip(arrays, parts, strict=True)])

        return _Rows(**{f: cat(f) for f in ("commune", "categories", "period", "year", "v",
                                            "n", "w", "district")})


@dataclass
class _PerFeature:
    """What one feature of a layer contributes, the same whatever the year: its commune,
    categories, season and district, and the measure's ``v``, ``n`` (and ``w``);
    ``valid`` marks the features a distinct count or a threshold can count."""

    commune: np.ndarray
    categories: np.ndarray
    season: np.ndarray | None
    district: np.ndarray | None
    v: np.ndarray | None = None
    n: np.ndarray | None = None
    w: np.ndarray | None = None
    valid: np.ndarray | None = None

    def rows(self, take: np.ndarray, period: np.ndarray | str, year: int, *,
             v: np.ndarray | None = None) -> _Rows:
        """The rows of the features at positions ``take``, in ``period`` of ``year``."""
        k = len(take)
        return _Rows(
            commune=self.commune[take], categories=self.categories[take],
            period=period if not isinstance(period, str) else np.full(k, period, object),
            year=np.full(k, year, np.int64),
            v=(self.v[take] if v is None else v), n=(self.n[take] if self.n is not None
                                                     else np.ones(k)),
            w=None if self.w is None else self.w[take],
            district=None if self.district is None else self.district[take])


@dataclass
class _Run:
    plan: Any
    communes: pd.DataFrame
    maps: dict
    known_areas: Mapping[str, pd.DataFrame]
    year: int
    levels: tuple[str, ...] = LEVELS
    _cache: dict = field(default_factory=dict)

    @property
    def district_units(self) -> dict[str, dict[str, tuple[str, str]]]:
        """A district's code or name (:func:`geoagri.names.unit_key`) → its unit by level."""
        if "district_units" not in self._cache:
            d = self.maps.get("district")
            d = _district_map(self.communes, self.plan) if d is None else d
            p = self.maps.get("province")
            p = _province_map(self.communes, self.plan) if p is None else p
            d = d.sort_values("weight", ascending=False, kind="stable").drop_duplicates(
                "commune_id")
            p = p.sort_values("weight", ascending=False, kind="stable").drop_duplicates(
                "commune_id").set_index("commune_id")
            out: dict[str, dict[str, tuple[str, str]]] = {}
            for cid, uid, name in zip(d["commune_id"], d["unit_id"], d["unit_name"],
                                      strict=True):
                prov = (str(p.loc[cid, "unit_id"]), str(p.loc[cid, "unit_name"]))
                for key in (unit_key(str(uid)), unit_key(str(name))):
                    out.setdefault(key, {"district": (str(uid), str(name)), "province": prov})
            self._cache["district_units"] = out
        return self._cache["district_units"]

    def commune_of(self, name: str, layer: pd.DataFrame) -> pd.Series:
        if ("communes", name) not in self._cache:
            if hasattr(layer, "geometry") and getattr(layer, "crs", None) is not None:
                self._cache["communes", name] = commune_of(layer, self.communes, kind=name)
            else:
                known = set(self.communes["commune_id"].astype(str))
                own = (layer["commune_id"].astype("string") if "commune_id" in layer.columns
                       else pd.Series(pd.NA, index=layer.index, dtype="string"))
                self._cache["communes", name] = own.where(own.isin(known))
        return self._cache["communes", name]

    @property
    def commune_index(self) -> pd.Index:
        """The communes' ids, the positions :class:`_Rows` hold."""
        if "commune_index" not in self._cache:
            ids = self.communes["commune_id"].astype(str).to_numpy(dtype=object)
            self._cache["commune_index"] = pd.Index(pd.unique(ids), dtype=object)
        return self._cache["commune_index"]

    @property
    def commune_rank(self) -> tuple[np.ndarray, np.ndarray]:
        """Rank of each commune position in the order of the ids, and the position of
        each rank."""
        if "commune_rank" not in self._cache:
            at = np.argsort(self.commune_index.to_numpy(dtype=object), kind="stable")
            rank = np.empty(len(at), np.int64)
            rank[at] = np.arange(len(at))
            self._cache["commune_rank"] = (rank, at)
        return self._cache["commune_rank"]

    def positions(self, ids: Iterable[Any]) -> np.ndarray:
        """Position of each commune id in :attr:`commune_index` (-1: none)."""
        values = np.asarray(list(ids) if not isinstance(ids, np.ndarray | pd.Series) else ids,
                            dtype=object)
        return self.commune_index.get_indexer(values)

    def per_layer(self, name: str, what: str, make: Any) -> Any:
        """``make()`` once per layer and ``what`` (a column's derived values, the years of
        its features, its communes' positions)."""
        key = ("layer", name, what)
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def unit(self, level: str, unit_id: str, unit_name: str) -> int:
        """The number of a unit of a level (numbered as first met)."""
        units = self._cache.setdefault("units", {})
        return units.setdefault((level, unit_id, unit_name), len(units))

    def unit_rank(self) -> np.ndarray:
        """Rank of every numbered unit in (level, unit_id, unit_name) order."""
        units = self._cache.setdefault("units", {})
        if self._cache.get("rank_of", (None, -1))[1] != len(units):
            order = sorted(units, key=lambda k: k)
            rank = np.empty(len(units), np.int64)
            rank[[units[k] for k in order]] = np.arange(len(units))
            self._cache["rank_of"] = (rank, len(units))
        return self._cache["rank_of"][0]

    def unit_names(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Level, unit_id and unit_name of every numbered unit, by number."""
        units = self._cache.setdefault("units", {})
        if self._cache.get("unit_names", (None, -1))[1] != len(units):
            named = list(units)  # numbered as met: in number order
            self._cache["unit_names"] = (tuple(np.array([u[i] for u in named], object)
                                               for i in range(3)), len(units))
        return self._cache["unit_names"][0]

    def level_map(self, *, additive: bool) -> dict[str, tuple[np.ndarray, np.ndarray,
                                                              np.ndarray, np.ndarray]]:
        """Per level but the plan: the units each commune counts in, as ``(start, count,
        unit, weight)``: commune ``p``'s units are ``unit[start[p]:start[p] + count[p]]``,
        in the map's order.  Not ``additive`` (not a sum), each commune counts wholly in
        its main unit of a level."""
        key = ("level_map", additive)
        if key not in self._cache:
            out = {}
            nc = len(self.commune_index)
            for lv in self.levels:
                if lv == "plan":
                    continue
                m = self.maps[lv]
                if not additive:
                    m = m.sort_values("weight", ascending=False, kind="stable").drop_duplicates(
                        "commune_id").assign(weight=1.0)
                pos = self.positions(m["commune_id"].to_numpy(dtype=object))
                units = np.array([self.unit(lv, str(u), str(n)) for u, n in
                                  zip(m["unit_id"], m["unit_name"], strict=True)], np.int64)
                weight = m["weight"].to_numpy(dtype=float)
                ok = pos >= 0
                order = np.argsort(pos[ok], kind="stable")
                pos, units, weight = pos[ok][order], units[ok][order], weight[ok][order]
                count = np.bincount(pos, minlength=nc)
                start = np.concatenate([[0], np.cumsum(count)[:-1]])
                out[lv] = (start, count, units, weight)
            self._cache[key] = out
        return self._cache[key]

    def fill_units(self, levels: Sequence[str]) -> list[tuple[str, str, str]]:
        """Every unit of ``levels`` (level, unit_id, unit_name), in the maps' order."""
        key = ("fill_units", tuple(levels))
        if key not in self._cache:
            self._cache[key] = [
                (lv, str(u), str(n)) for lv in levels
                for u, n in self.maps[lv][["unit_id", "unit_name"]].drop_duplicates()
                .itertuples(index=False)]
        return self._cache[key]


def _keep(ind: Indicator, run: _Run, name: str, layer: pd.DataFrame,
          years: Sequence[int]) -> np.ndarray:
    """Which features the indicator counts in each year: bool, ``years`` × features."""
    memo = run._cache.setdefault(("layer", name, "memo"), {})

    def test(col: str, c: _Condition) -> np.ndarray:  # a condition's test, made once a layer
        if (col, c) not in memo:
            values = _column(ind, layer, col)
            d = memo.setdefault(col, _Derived(values))
            memo[col, c] = _test(values, c, None, d).to_numpy(dtype=bool)
        return memo[col, c]

    keep = np.ones((len(years), len(layer)), dtype=bool)
    for col, conds in ind.where.items():
        ok = np.zeros_like(keep)
        for c in conds:
            if c.value != "year":
                ok |= test(col, c)[None, :]
                continue
            d = memo.setdefault(col, _Derived(_column(ind, layer, col)))
            num = d.number
            vals = num.to_numpy(dtype=float, na_value=np.nan)
            op = {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                  "gt": np.greater, "ge": np.greater_equal}[c.op]
            found = op(vals[None, :], np.asarray(years, dtype=float)[:, None])
            if not isinstance(num.dtype, np.dtype):  # a missing value compares as False
                found &= ~num.isna().to_numpy(dtype=bool)[None, :]
            ok |= found
        keep &= ok
    return keep


def _per_feature(ind: Indicator, run: _Run, name: str, layer: pd.DataFrame,
                 communes: pd.Series, by: tuple[str, ...], season: bool) -> _PerFeature:
    """Every feature's contribution (the measure's values where they do not depend on the
    year or on which features are counted with it)."""
    pos = run.per_layer(name, "positions",
                        lambda: run.positions(communes.astype(object).to_numpy()))
    cats = run.per_layer(name, ("categories", by),
                         lambda: _categories(layer, by).to_numpy(dtype=object))
    seasons = (run.per_layer(name, "seasons", lambda: layer["season"].astype(str)
                             .to_numpy(dtype=object)) if season else None)
    district = None
    if "district" in layer.columns:  # a statistics row of a whole district
        district = run.per_layer(name, "district", lambda: layer["district"].astype(object)
                                 .where(communes.isna() & layer["district"].notna(), None)
                                 .to_numpy(dtype=object))
    f = _PerFeature(commune=pos, categories=cats, season=seasons, district=district)
    m = ind.measure
    nf = len(layer)
    if m == "count":
        f.v = np.ones(nf)
    elif m == "feature_area" and run.plan.metric_crs is not None:
        f.v = run.per_layer(name, "feature_area", lambda: model_area_ha(
            layer, crs=run.plan.metric_crs).to_numpy(dtype=float) if nf else np.zeros(0))
    elif m in ("sum", "mean"):
        src, out = _value_unit(ind)
        x = pd.to_numeric(layer[str(ind.column)], errors="coerce").to_numpy(dtype=float)
        if src and out and src != out and len(x):
            x = _units.convert(x, src, out)
        f.v = np.asarray(x, dtype=float)
        if m == "sum":
            f.n = np.where(np.isnan(f.v), 0.0, 1.0)
            f.v = np.where(np.isnan(f.v), 0.0, f.v)
        else:
            f.w = (pd.to_numeric(layer[ind.weight], errors="coerce").to_numpy(dtype=float)
                   if ind.weight else np.ones(nf))
    elif m == "count_distinct":
        x = layer[str(ind.column)].astype(object)
        f.v = x.to_numpy(dtype=object)
        f.valid = ~_empty(x).to_numpy(dtype=bool)
    elif m in ("area", "sown_area"):
        f.v = np.zeros(nf)
    elif m == "threshold":
        g = layer[str(ind.group_by)].astype(object)
        f.w = g.to_numpy(dtype=object)  # the group of each feature
        f.valid = ~_empty(g).to_numpy(dtype=bool)
    return f


def _area_groups(ind: Indicator, by: Sequence[str], season: bool) -> list[str]:
    return list(dict.fromkeys([*by, *(["season"] if season or ind.measure == "sown_area"
                                      else [])]))


def _known_area(ind: Indicator, run: _Run, groups: Sequence[str], year: int
                ) -> pd.DataFrame | None:
    """The area table given for the indicator (``known_areas``), when it is this year's."""
    known = run.known_areas.get(ind.id)
    if known is not None and not groups and known.attrs.get("year") == year == run.year:
        return known
    return None


def _measure_areas(ind: Indicator, run: _Run, name: str, layer: pd.DataFrame,
                   selected: Sequence[tuple[int, np.ndarray]], bys: Sequence[tuple[str, ...]],
                   season: bool) -> None:
    """Measure, in one :func:`geoagri.area.area_by_groupings` call, the areas of every set
    of features (one a year) :func:`_areas` will be asked for, by each of ``bys``: each
    set is a group of its own, so its figures are those of a call on it alone."""
    from geoagri.area import area_by_groupings

    todo: dict[bytes, np.ndarray] = {}
    wanted = []
    for by in bys:
        groups = _area_groups(ind, by, season)
        for year, take in selected:
            key = ("areas", name, take.tobytes(), tuple(groups), tuple(by), season)
            if len(take) and key not in run._cache and _known_area(ind, run, groups,
                                                                    year) is None:
                todo.setdefault(take.tobytes(), take)
                if by not in wanted:
                    wanted.append(by)
    if not todo:
        return
    sets = list(todo.values())
    columns = list(dict.fromkeys(c for by in wanted for c in _area_groups(ind, by, season)))
    z = pd.concat([layer.iloc[take][[*columns, "geometry"]].assign(_set=k)
                   for k, take in enumerate(sets)])
    tables = area_by_groupings(z, run.communes,
                               [[*_area_groups(ind, by, season), "_set"] for by in wanted],
                               dissolve=True, level="commune", crs=run.plan.metric_crs)
    for by, t in zip(wanted, tables, strict=True):
        groups = _area_groups(ind, by, season)
        which = t["_set"].to_numpy(dtype=np.int64)
        ids = t["commune_id"].astype(object).where(t["commune_id"].notna(), None)
        pos = run.positions(ids.to_numpy(dtype=object))
        cats = _categories(t, by).to_numpy(dtype=object)
        seasons = t["season"].astype(str).to_numpy(dtype=object) if season else None
        ha = t["area_ha"].to_numpy(dtype=float)
        for k, take in enumerate(sets):
            mine = which == k
            run._cache["areas", name, take.tobytes(), tuple(groups), tuple(by), season] = (
                pos[mine], cats[mine], None if seasons is None else seasons[mine], ha[mine])


def _areas(ind: Indicator, run: _Run, name: str, take: np.ndarray, by: Sequence[str],
           season: bool, year: int) -> tuple[np.ndarray, ...] | None:
    """Area counted once per commune (× category × season) of the features at ``take``
    (measured by :func:`_measure_areas`): (commune positions, categories, seasons, ha),
    or None without features."""
    groups = _area_groups(ind, by, season)
    known = _known_area(ind, run, groups, year)
    if known is not None:
        key = ("known", ind.id)
        if key not in run._cache:
            run._cache[key] = (
                run.positions(known["commune_id"].astype(object).to_numpy()),
                np.full(len(known), "", object), None,
                known["area_ha"].to_numpy(dtype=float))
        return run._cache[key]
    if not len(take):
        return None
    return run._cache["areas", name, take.tobytes(), tuple(groups), tuple(by), season]


def _threshold_rows(ind: Indicator, run: _Run, name: str, layer: pd.DataFrame,
                    per: Mapping[tuple[str, ...], _PerFeature],
                    blocks: list[tuple[np.ndarray, tuple[str, ...], bool, int]]
                    ) -> list[_Rows]:
    """One row per group of features (``group_by``) of each block (features, categories,
    by season or not, year): ``v`` 1 where the group's total reaches the threshold, in
    the commune holding most of it."""
    assert ind.at_least is not None
    value, unit = ind.at_least
    if ind.of == "feature_area":
        own = "ha"
    elif ind.of == "count":
        own = "count"
    else:
        own = _units.column_unit(str(ind.column)) or ind.unit
    if not _units.compatible(unit, own):
        raise _NotComputedError(f"at_least = \"{value:g} {unit}\" cannot be compared with "
                           f"{ind.of} in {own}; write the threshold in {own}")
    limit = float(_units.convert([value], unit, own)[0])
    whole = None  # each feature's total, when it does not depend on the features measured
    if ind.of == "count":
        whole = np.ones(len(layer))
    elif ind.of == "sum":
        whole = pd.to_numeric(layer[str(ind.column)], errors="coerce").fillna(0.0).to_numpy(
            dtype=float)
    elif run.plan.metric_crs is not None:
        whole = run.per_layer(name, "feature_area", lambda: model_area_ha(
            layer, crs=run.plan.metric_crs).to_numpy(dtype=float) if len(layer)
            else np.zeros(0))
    rank, commune_at = run.commune_rank
    parts = []
    for b, (take, by, season, _) in enumerate(blocks):
        f = per[by]
        assert f.valid is not None and f.w is not None
        x = (whole[take] if whole is not None else
             model_area_ha(layer.iloc[take], crs=run.plan.metric_crs).to_numpy(dtype=float)
             if len(take) else np.zeros(0))
        ok = f.valid[take]
        t = take[ok]
        # communes by their ids' order (a tie goes to the first), none last
        cid = np.where(f.commune[t] >= 0, rank[f.commune[t]], np.nan)
        parts.append(pd.DataFrame({
            "_b": np.full(len(t), b), "categories": f.categories[t],
            "season": (f.season[t] if season and f.season is not None
                       else np.full(len(t), "", object)),
            "_g": f.w[t], "commune_id": cid, "_x": x[ok]}))
    frame = pd.concat(parts, ignore_index=True)
    keys = ["_b", "categories", "season", "_g"]
    by_commune = frame.groupby([*keys, "commune_id"], dropna=False)["_x"].sum().reset_index()
    home = (by_commune.sort_values("_x", ascending=False, kind="stable")
            .drop_duplicates(keys).set_index(keys)["commune_id"])
    g = frame.groupby(keys)["_x"]
    total, n = g.sum(), g.size()
    out = pd.DataFrame({"commune_id": home.reindex(total.index).to_numpy(dtype=float),
                        "v": (total.to_numpy() >= limit - 1e-9).astype(float),
                        "n": n.reindex(total.index).to_numpy(dtype=float)},
                       index=total.index).reset_index()
    home_rank = out["commune_id"].to_numpy(dtype=float)
    commune = np.full(len(out), -1, np.int64)
    found = ~np.isnan(home_rank)
    commune[found] = commune_at[home_rank[found].astype(np.int64)]
    block = out["_b"].to_numpy()
    cats = out["categories"].to_numpy(dtype=object)
    seasons = out["season"].to_numpy(dtype=object)
    rows = []
    for b, (_, _, season, year) in enumerate(blocks):
        sel = block == b
        k = int(sel.sum())
        rows.append(_Rows(
            commune=commune[sel], categories=cats[sel],
            period=seasons[sel] if season else np.full(k, str(year), object),
            year=np.full(k, year, np.int64), v=out["v"].to_numpy()[sel],
            n=out["n"].to_numpy()[sel]))
    return rows


def _bare(layer: pd.DataFrame) -> pd.DataFrame:
    """The layer without its ``attrs`` (what validation noted), which pandas deep-copies
    into every column and row taken from it; the data are shared, not copied."""
    out = layer.copy(deep=False)
    out.attrs = {}
    return out


def _base(ind: Indicator, run: _Run, years: Sequence[int]) -> pd.DataFrame:
    """Rows of an indicator computed from a layer, every level and year."""
    name, layer = _source_layer(run.plan, ind)
    _check_columns(ind, layer)
    layer = run.per_layer(name, "frame", lambda: _bare(layer))
    communes = run.commune_of(name, layer)
    if ind.period == "season":
        fyear = run.per_layer(name, "season_years", lambda: np.array(
            [season_end_year(s) if isinstance(s, str) and s.strip() else np.nan
             for s in layer["season"]], dtype=float))
    elif ind.period:
        fyear = run.per_layer(name, ("years", ind.period), lambda: pd.to_numeric(
            layer[ind.period], errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    else:
        fyear = None
    season = ind.period == "season"
    m = ind.measure
    additive = m in _ADDITIVE
    # one row per feature, the same whatever the year: made once, each year takes its own
    rowwise = m in ("count", "sum", "mean", "count_distinct") or (
        m == "feature_area" and run.plan.metric_crs is not None)
    keep = _keep(ind, run, name, layer, years)
    bys = [(), tuple(ind.by)] if ind.by else [()]
    per = {by: _per_feature(ind, run, name, layer, communes, by, season) for by in bys}
    parts: list[_Rows] = []
    periods: list[tuple[str, int]] = []
    blocks: list[tuple[np.ndarray, tuple[str, ...], bool, int]] = []  # a threshold's
    all_seasons = (run.per_layer(name, "seasons", lambda: layer["season"].astype(str)
                                 .to_numpy(dtype=object)) if season else None)
    selected: list[tuple[int, np.ndarray]] = []  # each year's features
    for k, y in enumerate(years):
        in_year = (fyear == y) if fyear is not None else None
        if ind.years == "in_layer" and in_year is not None and not in_year.any():
            continue
        if ind.years == "in_layer" and in_year is None and not len(layer):
            continue
        kept = keep[k] if in_year is None else keep[k] & in_year
        selected.append((y, np.flatnonzero(kept)))
        labels = [str(y)] + (sorted(set(all_seasons[in_year] if in_year is not None
                                        else all_seasons)) if season else [])
        periods += [(label, y) for label in labels]
    if m in ("area", "sown_area"):
        _measure_areas(ind, run, name, layer, selected, bys, season)
    for y, take in selected:
        for by in bys:
            f = per[by]
            if m == "threshold":  # a group's total by season, and over the whole year
                blocks += [(take, by, True, y)] if season else []
                blocks.append((take, by, False, y))
                continue
            if f.valid is not None:
                take_by = take[f.valid[take]]
            else:
                take_by = take
            v = None
            if not rowwise and m == "feature_area":
                v = (model_area_ha(layer.iloc[take_by], crs=run.plan.metric_crs)
                     .to_numpy(dtype=float) if len(take_by) else np.zeros(0))
            kinds = ([True] if season else []) + [False]
            for by_season in kinds:
                period = f.season[take_by] if by_season else str(y)
                rows = f.rows(take_by, period, y, v=v)
                if additive:  # whole numbers (counts, areas' feature counts): one row a cell
                    rows = rows.merged()
                if m in ("area", "sown_area"):
                    found = _areas(ind, run, name, take_by, by, season, y)
                    if found is not None:
                        pos, cats, seas, ha = found
                        extra = _Rows(commune=pos, categories=cats,
                                      period=seas if by_season else np.full(len(ha), str(y),
                                                                            object),
                                      year=np.full(len(ha), y, np.int64), v=ha,
                                      n=np.zeros(len(ha)))
                        rows = _Rows.concat([rows, extra])
                parts.append(rows)
    if m == "threshold" and blocks:
        parts = _threshold_rows(ind, run, name, layer, per, blocks)
    if not periods:
        return _empty_table()
    rows = _Rows.concat(parts) if parts else None
    # a table of district rows says nothing of communes: no commune gets a false 0
    by_commune = bool(communes.notna().any()) or hasattr(layer, "geometry")
    return _aggregate(ind, rows, run, periods, fill_communes=by_commune)


def _sorted_codes(values: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values[at], return_inverse=True)`` reversed: (codes, sorted distinct values).

    By hashing each of ``values`` once (pandas' factorize) rather than sorting
    ``values[at]``, which repeats each row once per level: text categories of
    200,000 parcels sort in a second, hash in a tenth of one.

    Examples
    --------
    >>> codes, uniq = _sorted_codes(np.array(["b", "a", "c", "a"], dtype=object),
    ...                             np.array([0, 1, 1, 3]))
    >>> codes.tolist(), uniq.tolist()
    ([1, 0, 0, 0], ['a', 'b'])
    """
    codes, uniques = pd.factorize(values, sort=True)
    if (codes < 0).any():  # a missing value: sorted as numpy sorts it
        found, inverse = np.unique(values[at], return_inverse=True)
        return inverse, found
    used = np.zeros(len(uniques), dtype=bool)
    used[codes[at]] = True
    renumber = np.cumsum(used) - 1
    return renumber[codes[at]], np.asarray(uniques, dtype=values.dtype)[used]


def _aggregate(ind: Indicator, rows: _Rows, run: _Run, periods: list[tuple[str, int]], *,
               fill_communes: bool) -> pd.DataFrame:
    """Rows (level, unit, categories, period, year, value, n_features) of every level.

    Each row counts in the units of its commune at each level (weighted where a
    new commune came from several districts), a district's row in its district
    and province, and every row in the whole plan; the rows of a unit are
    summed in their order.  ``periods`` lists every (period, year) computed, so
    that counts and sums give every unit a total row, 0 where nothing counts
    (at the commune level only with ``fill_communes``).
    """
    m = ind.measure
    additive = m in _ADDITIVE
    if m == "mean":  # a mean of the values there are
        x = rows.v.astype(float)
        ok = ~np.isnan(x)
        rows = _Rows(commune=rows.commune[ok], categories=rows.categories[ok],
                     period=rows.period[ok], year=rows.year[ok], v=x[ok], n=rows.n[ok],
                     w=None if rows.w is None else rows.w[ok])
    every = np.arange(len(rows.v))
    units, source, weights = [], [], []
    lmap = run.level_map(additive=additive)
    inside = every[rows.commune >= 0]
    for lv in run.levels:
        if lv == "plan":
            continue
        start, count, unit, weight = lmap[lv]
        p = rows.commune[inside]
        c = count[p]
        entry = np.repeat(start[p] - (np.cumsum(c) - c), c) + np.arange(int(c.sum()))
        units.append(unit[entry])
        source.append(np.repeat(inside, c))
        weights.append(weight[entry])
        if lv in ("district", "province") and rows.district is not None:
            at = every[pd.notna(rows.district)]
            found = [run.district_units.get(unit_key(str(d)), {}).get(lv)
                     for d in rows.district[at]]
            lost = sorted({str(d) for d, f in zip(rows.district[at], found, strict=True)
                           if f is None})
            if lost:
                log.info("district rows count in no %s: %s", lv, ", ".join(lost))
            known = np.array([f is not None for f in found], dtype=bool)
            units.append(np.array([run.unit(lv, *f) for f in found if f is not None],
                                  np.int64))
            source.append(at[known])
            weights.append(np.ones(int(known.sum())))
    if "plan" in run.levels:
        plan = run.maps["plan"]
        units.append(np.full(len(every), run.unit("plan", str(plan["unit_id"].iloc[0]),
                                                  str(plan["unit_name"].iloc[0])), np.int64))
        source.append(every)
        weights.append(np.ones(len(every)))
    unit = np.concatenate(units) if units else np.zeros(0, np.int64)
    src = np.concatenate(source) if source else np.zeros(0, np.int64)
    weight = np.concatenate(weights) if weights else np.zeros(0)
    # groups in the order of (level, unit_id, unit_name, categories, period, year)
    rank = run.unit_rank()
    cat, cat_values = _sorted_codes(rows.categories, src)
    per, per_values = _sorted_codes(rows.period, src)
    yr, year_values = _sorted_codes(rows.year, src)
    nc, nper, ny = (max(len(v), 1) for v in (cat_values, per_values, year_values))
    key = ((rank[unit] * nc + cat) * nper + per) * ny + yr
    group, groups = _sorted_codes(key, np.arange(len(key)))
    if additive:
        sums = pd.DataFrame({"g": group, "v": rows.v[src].astype(float) * weight,
                             "n": rows.n[src]}).groupby("g", sort=True).sum()
        value, n = sums["v"].to_numpy(dtype=float), sums["n"].to_numpy(dtype=float)
    elif m == "count_distinct":
        value = pd.Series(rows.v[src], dtype=object).groupby(group, sort=True).nunique(
            ).to_numpy(dtype=float)
        n = np.bincount(group, minlength=len(groups)).astype(float)
    else:  # mean, weighted
        assert rows.w is not None
        w = rows.w[src]
        sums = pd.DataFrame({"g": group, "xw": rows.v[src] * w, "w": w}).groupby(
            "g", sort=True).sum()
        value = sums["xw"].to_numpy(dtype=float) / sums["w"].to_numpy(dtype=float)
        n = np.bincount(group, minlength=len(groups)).astype(float)
    g_year = groups % ny
    rest = groups // ny
    g_per = rest % nper
    rest //= nper
    g_cat = rest % nc
    unit_at = np.empty(len(rank), np.int64)
    unit_at[rank] = np.arange(len(rank))
    g_unit = unit_at[rest // nc]
    names = run.unit_names()
    out = {"level": names[0][g_unit], "unit_id": names[1][g_unit],
           "unit_name": names[2][g_unit], "categories": cat_values[g_cat].astype(object),
           "period": per_values[g_per].astype(object),
           "year": year_values[g_year].astype(np.int64), "value": value, "n_features": n}
    if m == "mean":
        return pd.DataFrame(out)
    # counts and sums: every unit has a total in every period, 0 where nothing counts
    levels = [lv for lv in run.levels if fill_communes or lv != "commune"]
    total = out["categories"] == ""
    where = {(int(u), p, int(y)): i for i, (u, p, y) in enumerate(zip(
        g_unit[total], out["period"][total], out["year"][total], strict=True))}
    at = np.flatnonzero(total)
    fill = run.fill_units(levels)
    pick = np.array([at[where[u, p, y]] if (u, p, y) in where else -1
                     for u in (run.unit(*t) for t in fill) for p, y in periods], np.int64)
    filled = pick >= 0
    k = len(pick)
    part1 = {
        "level": np.repeat(np.array([t[0] for t in fill], object), len(periods)),
        "unit_id": np.repeat(np.array([t[1] for t in fill], object), len(periods)),
        "unit_name": np.repeat(np.array([t[2] for t in fill], object), len(periods)),
        "categories": np.full(k, "", object),
        "period": np.tile(np.array([p for p, _ in periods], object), len(fill)),
        "year": np.tile(np.array([y for _, y in periods], np.int64), len(fill)),
        "value": np.zeros(k), "n_features": np.zeros(k)}
    part1["value"][filled] = out["value"][pick[filled]]
    part1["n_features"][filled] = out["n_features"][pick[filled]]
    rest_rows = ~total | ~np.isin(out["level"], levels)
    return pd.DataFrame({c: np.concatenate([part1[c], out[c][rest_rows]]) for c in out})


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=list(INDICATOR_COLUMNS))


def _ratio(ind: Indicator, num: pd.DataFrame, den: pd.DataFrame) -> pd.DataFrame:
    keys = ["level", "unit_id", "period", "year"]
    total = den[den["categories"] == ""][[*keys, "value"]].rename(columns={"value": "_tot"})
    d = den[[*keys, "categories", "value"]].rename(columns={"value": "_den"})
    m = num.merge(d, on=[*keys, "categories"], how="left").merge(total, on=keys, how="left")
    m["_den"] = m["_den"].fillna(m["_tot"])
    m = m[m["_den"].notna()]  # no denominator for the unit: no row (0: a row without value)
    if not (m["_den"].fillna(0) != 0).any():
        raise _NotComputedError(f"its denominator {ind.denominator!r} is 0 or missing in every "
                           "unit", "error")
    with np.errstate(divide="ignore", invalid="ignore"):
        value = m["value"].astype(float) / m["_den"].where(m["_den"] != 0).astype(float)
    return m.assign(value=value * ind.factor).drop(columns=["_den", "_tot"])


def _cumulative(ind: Indicator, of: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    yearly = of[of["period"] == of["year"].astype(str)]
    keys = ["level", "unit_id", "unit_name", "categories"]
    found = yearly["year"].to_numpy(dtype=np.int64)
    # every year's rows from ``since`` through that year, summed in one grouping
    picks = [np.flatnonzero((found >= int(ind.since or y)) & (found <= y)) for y in years]
    if not any(len(p) for p in picks):
        raise _NotComputedError(f"{ind.of!r} has no value from {ind.since} to {max(years)}",
                           "error")
    part = yearly.iloc[np.concatenate(picks)].assign(
        _through=np.repeat(np.asarray(years, dtype=np.int64), [len(p) for p in picks]))
    s = part.groupby(["_through", *keys], sort=True)[["value", "n_features"]].sum()
    s = s.reset_index().rename(columns={"_through": "year"})
    return s.assign(period=s["year"].astype(str))[[*keys, "value", "n_features", "period",
                                                    "year"]]


def _units_meeting(ind: Indicator, of: pd.DataFrame, of_unit: str, run: _Run
                   ) -> pd.DataFrame:
    assert ind.at_least is not None
    value, unit = ind.at_least
    if not _units.compatible(unit, of_unit):
        raise _NotComputedError(f"at_least = \"{value:g} {unit}\" cannot be compared with "
                           f"{ind.of!r} in {of_unit}; write it in {of_unit}")
    limit = float(_units.convert([value], unit, of_unit)[0])
    rows = of[(of["level"] == ind.level) & (of["categories"] == "")]
    if rows.empty:
        raise _NotComputedError(f"{ind.of!r} has no value at the {ind.level} level", "error")
    meets = rows.assign(value=(rows["value"] >= limit - 1e-9).astype(float), n_features=1.0)
    parts = [meets]
    if ind.level == "district" and "province" in run.levels:  # the districts of each province
        provinces = [run.district_units.get(unit_key(str(u)), {}).get("province")
                     for u in meets["unit_id"]]
        known = [p is not None for p in provinces]
        if any(known):
            by = meets[known].assign(unit_id=[p[0] for p in provinces if p is not None],
                                     unit_name=[p[1] for p in provinces if p is not None])
            parts.append(by.groupby(["unit_id", "unit_name", "period", "year"], sort=True)
                         .agg(value=("value", "sum"), n_features=("n_features", "sum"))
                         .reset_index().assign(level="province", categories=""))
    whole = meets.groupby(["period", "year"], sort=True).agg(
        value=("value", "sum"), n_features=("n_features", "sum")).reset_index()
    plan = of[of["level"] == "plan"][["unit_id", "unit_name"]].drop_duplicates()
    if len(plan):
        parts.append(whole.assign(level="plan", unit_id=plan["unit_id"].iloc[0],
                                  unit_name=plan["unit_name"].iloc[0], categories=""))
    return pd.concat(parts, ignore_index=True)


def check_indicators(plan: Plan, *, indicators: Iterable[str] | None = None
                     ) -> dict[str, GeoagriError]:
    """Errors of the plan's indicators against its layers, by indicator (empty: none).

    An indicator is in error when its layer lacks a column its definition
    names, when it depends on an unknown indicator or on itself, or when a
    threshold cannot be compared; a built-in indicator whose layer or column
    is not in the plan is not an error (it is simply not computed).

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> check_indicators(demo(), indicators=["linkage_area", "models"])
    {}
    """
    cat, malformed = _lenient_catalogue(plan)
    own = set(getattr(plan, "indicators", None) or {})
    errors: dict[str, GeoagriError] = {
        n: IndicatorError(why) for n, why in malformed.items()
        if indicators is None or n in set(indicators)}
    for name in (list(indicators) if indicators is not None else list(cat)):
        if name in malformed:
            continue
        if name not in cat:
            errors[name] = IndicatorError(f"indicator {name!r} is not defined; known: "
                                          f"{', '.join(sorted(cat))}")
            continue
        _, failed = _order(cat, [name])
        if failed:
            errors[name] = IndicatorError(f"indicator {name!r}: {failed[name]}")
            continue
        try:
            ind = cat[name]
            if ind.source is not None:
                _, layer = _source_layer(plan, ind)
                _check_columns(ind, layer)
        except _NotComputedError as err:
            if name in own or err.kind not in ("no_layer", "no_column"):
                errors[name] = IndicatorError(f"indicator {name!r}: {err}")
        except IndicatorError as err:
            errors[name] = err
    return errors


def unknown_targets(targets: pd.DataFrame, *, own: Iterable[str] = (),
                    layer: str = "targets") -> IndicatorError | None:
    """An error naming the targets whose indicator is neither built in nor the plan's.

    Parameters
    ----------
    targets : DataFrame
        A ``targets`` layer.
    own : iterable of str
        The plan's own indicator ids (its ``[indicators.NAME]`` tables).
    layer : str
        The layer's name, quoted in the error.

    Returns
    -------
    IndicatorError or None

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"indicator": ["linkage_area", "lotus_area", "lotus_area"]})
    >>> print(unknown_targets(t, layer="chi_tieu"))  # doctest: +ELLIPSIS
    2 target(s) of 'chi_tieu' name indicator(s) that are not defined: 'lotus_area' (row 1, 2)...
    >>> unknown_targets(t, own=["lotus_area"]) is None
    True
    """
    if "indicator" not in targets.columns:
        return None
    known = set(_builtin_tables()) | set(own)
    names = targets["indicator"].astype(object)
    bad = names.notna() & ~names.astype(str).isin(known)
    if not bad.any():
        return None
    rows = {n: [str(i) for i in targets.index[bad & (names == n)]]
            for n in dict.fromkeys(names[bad].astype(str))}
    listed = "; ".join(f"{n!r} (row {', '.join(r[:10])})" for n, r in rows.items())
    return IndicatorError(
        f"{int(bad.sum())} target(s) of {layer!r} name indicator(s) that are not defined: "
        f"{listed}. Fix: use a built-in indicator (docs/indicators.md: "
        f"{', '.join(sorted(_builtin_tables())[:6])}, …) or define it in the plan as "
        "[indicators.NAME]")


def _order(cat: Mapping[str, Indicator], wanted: Iterable[str]
           ) -> tuple[list[str], dict[str, str]]:
    """The indicators wanted and those they depend on, dependencies first; and why some
    cannot be ordered (an unknown dependency, a cycle)."""
    done: list[str] = []
    failed: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in failed:
            return
        if name in path:
            raise _NotComputedError(f"it depends on itself ({' → '.join([*path, name])})")
        if name not in cat:
            raise _NotComputedError(f"it depends on {name!r}, which is not defined; define "
                               f"[indicators.{name}] or use a known indicator")
        for dep in cat[name].depends_on:
            visit(dep, (*path, name))
            if dep in failed:
                raise _NotComputedError(f"it needs {dep!r}: {failed[dep]}")
        done.append(name)

    for w in wanted:
        try:
            visit(w, ())
        except _NotComputedError as err:
            failed[w] = str(err)
    return done, failed


def _first_years(cat: Mapping[str, Indicator], order: Sequence[str], wanted: Sequence[str],
                 since: int) -> dict[str, int]:
    """The first year each indicator is computed from: ``since`` for those asked for, and
    for those they are computed from, the years these need (a cumulative's, from its own
    ``since``)."""
    first = dict.fromkeys(order, since)
    needed = {n: n in wanted for n in order}
    for name in reversed(order):  # an indicator comes after those it is computed from
        if not needed[name]:
            continue
        ind = cat[name]
        for dep in ind.depends_on:
            year = int(ind.since) if ind.measure == "cumulative" else first[name]
            first[dep] = min(first[dep], year) if needed[dep] else year
            needed[dep] = True
    return first


def compute_indicators(
    plan: Plan,
    *,
    year: int,
    since: int | None = None,
    indicators: Iterable[str] | None = None,
    levels: Sequence[str] = LEVELS,
    known_areas: Mapping[str, pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Compute indicators of a plan at every level, by category and period: one tidy table.

    Parameters
    ----------
    plan : Plan
        A plan with a ``communes`` layer; its ``[indicators.NAME]`` tables
        are added to the built-in catalogue (:func:`catalogue`).
    year : int
        Last year computed (the report's year).
    since : int, optional
        First year computed (default ``year``).  Cumulative indicators read
        their ``of`` from their own ``since``.
    indicators : iterable of str, optional
        Ids to compute (default: every indicator of the catalogue).
    levels : sequence of {"commune", "district", "province", "plan"}
        Levels of the rows.
    known_areas : mapping of str to DataFrame, optional
        An ``area`` indicator's per-commune table for ``year`` already
        computed (:func:`geoagri.indicators.linkage_by_commune`, with
        ``attrs["year"]``): reused, not recomputed.

    Returns
    -------
    DataFrame
        :data:`INDICATOR_COLUMNS` (see the module docstring), values in
        ``unit``.  ``attrs["not_computed"]`` is a table (``indicator``,
        ``kind``, ``why``) of the indicators asked for that could not be
        computed.  The plan is not changed.

    Raises
    ------
    PlanError
        If the plan has no ``communes`` layer.
    ValueError
        If ``since`` is after ``year`` or a level is unknown.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> t = compute_indicators(demo(), year=2024, since=2017, levels=("plan",),
    ...                        indicators=["hightech_rice_area_since_2017"])
    >>> t.loc[t["year"] == 2024, "value"].tolist()
    [11873.0]
    """
    if set(levels) - set(LEVELS):
        raise ValueError(f"levels={tuple(levels)!r}; use some of {', '.join(LEVELS)}")
    since = year if since is None else int(since)
    if since > year:
        raise ValueError(f"since={since} is after year={year}")
    cat, malformed = _lenient_catalogue(plan)
    wanted = list(indicators) if indicators is not None else [*cat, *malformed]
    not_computed: dict[str, tuple[str, str]] = {
        n: ("error", why) for n, why in malformed.items()}
    for w in wanted:
        if w not in cat and w not in malformed:
            not_computed[w] = ("unknown", f"indicator {w!r} is not defined; define "
                                          f"[indicators.{w}] in the plan or use one of "
                                          f"{', '.join(sorted(cat))}")
    order, failed = _order(cat, [w for w in wanted if w in cat])
    not_computed.update({n: ("error", why) for n, why in failed.items()})
    first = _first_years(cat, order, [w for w in wanted if w in cat], since)
    communes = plan.only("communes")
    used = tuple(lv for lv in LEVELS if lv in {
        *levels, "plan", *(cat[n].level for n in order if cat[n].level)})
    run = _Run(plan=plan, communes=communes, maps=_unit_maps(plan, communes, used),
               known_areas=dict(known_areas or {}), year=year, levels=used)
    results: dict[str, pd.DataFrame] = {}
    for name in order:
        ind = cat[name]
        try:
            for dep in ind.depends_on:
                if dep not in results:
                    raise _NotComputedError(f"it needs {dep!r}, which was not computed: "
                                       f"{not_computed.get(dep, ('', 'not defined'))[1]}",
                                       not_computed.get(dep, ("error",))[0])
            if ind.measure == "ratio":
                table = _ratio(ind, results[str(ind.numerator)], results[str(ind.denominator)])
            elif ind.measure == "cumulative":
                table = _cumulative(ind, results[str(ind.of)], list(range(since, year + 1)))
            elif ind.measure == "units_meeting":
                table = _units_meeting(ind, results[str(ind.of)],
                                       results[str(ind.of)]["unit"].iloc[0], run)
            else:
                table = _base(ind, run, list(range(first[name], year + 1)))
        except _NotComputedError as err:
            not_computed[name] = (err.kind, str(err))
            log.info("indicator %s is not computed: %s", name, err)
            continue
        except (GeoagriError, ValueError, KeyError) as err:
            if isinstance(err, PlanError) and not isinstance(err, IndicatorError):
                raise
            not_computed[name] = ("error", str(err))
            log.warning("indicator %s is not computed: %s", name, err)
            continue
        unit = ind.unit or (cat[str(ind.of)].unit if ind.of in cat else "")
        results[name] = table.assign(indicator=name, unit=unit)
    shown = [results[n] for n in order if n in results and n in wanted]
    out = pd.concat(shown, ignore_index=True) if shown else _empty_table()
    out = out[out["level"].isin(levels) & (out["year"] >= since)]
    out = out.loc[:, list(INDICATOR_COLUMNS)].astype(
        {"year": "int64", "value": "float64", "n_features": "int64"}).reset_index(drop=True)
    out.attrs["not_computed"] = pd.DataFrame(
        [{"indicator": n, "kind": k, "why": w} for n, (k, w) in not_computed.items()
         if n in wanted], columns=["indicator", "kind", "why"])
    return out


def indicator_labels(plan: Plan | None = None) -> dict[str, tuple[str, str]]:
    """(label vi, label en) of every indicator of the catalogue and the plan's own.

    A label a definition lacks is ``""``; a malformed plan indicator is left out.

    Examples
    --------
    >>> indicator_labels()["linkage_area"]
    ('Diện tích liên kết sản xuất', 'Production-linkage area')
    """
    cat, _ = _lenient_catalogue(plan) if plan is not None else (catalogue(), {})
    return {n: (ind.label_vi, ind.label_en) for n, ind in cat.items()}


def labelled(table: pd.DataFrame, plan: Plan | None = None, *, language: str = "vi"
             ) -> pd.DataFrame:
    """The table with each indicator's label in ``language`` as a second column.

    What ``geoagri run`` writes to ``tables/indicators.csv``: the analyst
    filters it by ``indicator`` and reads the ``label``.

    Parameters
    ----------
    table : DataFrame
        A :func:`compute_indicators` table.
    plan : Plan, optional
        Whose own ``[indicators.NAME]`` labels are used too.
    language : {"vi", "en"}, default "vi"

    Returns
    -------
    DataFrame
        A copy with ``label`` after ``indicator`` (empty for an indicator
        without a label in that language).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"indicator": ["linkage_area"], "value": [1.0]})
    >>> labelled(t, language="en").columns.tolist()
    ['indicator', 'label', 'value']
    """
    if language not in ("vi", "en"):
        raise OptionError(f"language={language!r}; use 'vi' or 'en'")
    li = ("vi", "en").index(language)
    labels = {n: pair[li] for n, pair in indicator_labels(plan).items()}
    out = table.copy()
    out.insert(int(out.columns.get_loc("indicator")) + 1, "label",
               out["indicator"].map(labels).fillna(""))
    out.attrs = dict(table.attrs)
    return out
