"""Interactive folium maps of a plan: coverage, models, works, power, pumps, gaps.

:func:`plan_map` draws a whole :class:`~geoagri.plan.Plan` (and, when given,
the results of the coverage and siting analyses) as one :class:`folium.Map`:
a choropleth of linkage coverage per commune with a legend that is part of
the HTML, one layer per zone kind and crop, per model season, irrigation works
coloured by status, three-phase and other power lines, pump stations with their
service areas, gaps, proposed stations and lines, a layer control, Vietnamese
or English labels and numbers, fullscreen, measure and scale controls.

:func:`map_layer` makes one such layer from any GeoDataFrame and
:func:`layer_map` a map of one layer; :func:`display_geometry` is the
simplification used for display; :func:`format_number` the number format.

How maps stay fast
------------------
* No per-feature ``style_function``: folium turns one into a browser-side
  ``switch`` over every feature id, so the page's load time grows with the
  square of the feature count.  Each feature carries its style as a property
  (``properties.style``), which Leaflet reads directly.
* Geometry is simplified (topology-preserving: communes, which partition
  the land, with :func:`shapely.coverage_simplify`, so neighbours keep a
  shared border) and coordinates rounded (5 decimals ≈ 1 m) **for display
  only**; every number in a popup or table is computed from the exact
  geometry first.
* A polygon layer with more than ``max_features`` features (the parcels of
  a province) is shown **aggregated**: its features are cut at commune
  borders and dissolved by commune × the class they are coloured by (or,
  with no communes, by a square grid cell × class) into one multipolygon
  each (about a thousand for a province of 200,000 parcels); gaps narrower
  than the display tolerance (bunds between parcels) are closed, and the
  result is simplified and rounded.  Each
  aggregate's popup gives its feature count and its exact area, measured
  on the unsimplified features as :func:`geoagri.area.area_by_zone`
  measures it (cut at commune borders, overlaps counted once), so it
  matches the area tables.  Below the threshold, features are drawn one by
  one.

Offline maps
------------
With ``offline=True`` the JavaScript and CSS the map needs (Leaflet, jQuery,
Leaflet.fullscreen and leaflet-measure, with their images as data URIs) are
inlined from the ``folium-offline`` package (``pip install geoagri[offline]``)
instead of being linked from a CDN, and the map has no tile layer (a plain
background), so the HTML opens with no internet.  Bootstrap, Font Awesome
and Awesome Markers, which these maps do not use, are left out.  A plugin
whose files that package does not have is dropped from the offline map
(with a :class:`~geoagri.errors.GeoagriWarning`).

Examples
--------
>>> from geoagri.datasets import demo
>>> m = plan_map(demo(), language="en")
>>> layer_names(m)[:3]
['Communes: linkage coverage (%)', 'Cultivation area code – lotus', 'Cultivation area code – rice']
>>> format_number(23865.3, language="vi"), format_number(112.43, language="en", decimals=1)
('23.865', '112.4')
"""

from __future__ import annotations

import html
import importlib
import json
import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

import branca.element
import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import JSCSSMixin
from folium.template import Template

from geoagri import _labels
from geoagri._labels import format_number
from geoagri.crs import metric_crs
from geoagri.errors import GeoagriError, GeoagriWarning, SchemaError
from geoagri.schema import WORK_STATUSES

__all__ = [
    "LANGUAGES",
    "MapResults",
    "display_geometry",
    "format_area_ha",
    "format_number",
    "format_pct",
    "layer_map",
    "layer_names",
    "map_layer",
    "plan_map",
]

log = logging.getLogger("geoagri")

#: Languages of labels and numbers.
LANGUAGES = ("vi", "en")

#: Above this many features a polygon layer is shown aggregated.
DEFAULT_MAX_FEATURES = 20_000

#: Side of the grid cells a large layer is aggregated in when no communes are given, m.
DEFAULT_GRID_M = 2000.0

#: Colours of the coverage classes (ColorBrewer YlGn, 5 classes).
COVERAGE_COLORS = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")

#: Colour of each irrigation-work status, in pipeline order.
STATUS_COLORS = {
    "planned": "#9e9e9e", "surveyed": "#42a5f5", "designed": "#7e57c2",
    "under_construction": "#fb8c00", "completed": "#2e7d32",
}
PUMP_COLORS = {"operating": "#0277bd", "planned": "#9e9e9e",
               "under_construction": "#fb8c00", "out_of_service": "#6d4c41"}
THREE_PHASE_COLOR = "#d32f2f"
OTHER_POWER_COLOR = "#f48fb1"
PROPOSAL_COLOR = "#c51b7d"
GAP_COLOR = "#e31a1c"
_QUALITATIVE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                "#a6761d", "#1f78b4", "#b2df8a", "#fb9a99")

#: Wording of the map itself (layer names, legends); the labels of columns and
#: values come from :mod:`geoagri._labels`.
_T: dict[str, dict[str, str]] = {
    "vi": {
        "coverage_layer": "Xã: tỷ lệ diện tích liên kết (%)",
        "coverage_legend": "Tỷ lệ diện tích liên kết theo xã",
        "zone": "Vùng", "models": "Mô hình",
        "works_legend": "Công trình theo trạng thái",
        "power3": "Điện 3 pha", "power_other": "Điện 1 pha và khác",
        "service": "Vùng phục vụ trạm bơm (bán kính {r})",
        "gaps": "Vùng thiếu hạ tầng", "sites": "Trạm bơm đề xuất",
        "lines": "Tuyến điện 3 pha đề xuất",
        "outside": "Ngoài các xã", "by_commune": "xã", "by_cell": "ô lưới {km} km",
        "aggregated": "{name} (gộp theo {unit})",
    },
    "en": {
        "coverage_layer": "Communes: linkage coverage (%)",
        "coverage_legend": "Linkage coverage by commune",
        "zone": "Zone", "models": "Models",
        "works_legend": "Works by status",
        "power3": "Three-phase power", "power_other": "Single-phase and other power",
        "service": "Pump service areas (radius {r})",
        "gaps": "Infrastructure gaps", "sites": "Proposed pump stations",
        "lines": "Proposed three-phase lines",
        "outside": "Outside the communes", "by_commune": "commune",
        "by_cell": "{km} km grid cell", "aggregated": "{name} (aggregated by {unit})",
    },
}
for _language, _words in _T.items():  # layer titles shared with the exports
    _words.update({k: _labels.layer_title(kind, _language) for k, kind in (
        ("works", "works"), ("pumps", "pumps"), ("parcels", "parcels"),
        ("power_legend", "power"))})
del _language, _words

#: Popup fields: canonical column → (how it is written, decimals).  Columns are
#: shown in this order when a layer has them; ``"id"`` and ``"text"`` columns
#: show their value's label, ``"number"`` ones their unit (:mod:`geoagri._labels`).
_FIELDS: dict[str, tuple[str, int]] = {
    "commune_name": ("text", 0), "cell": ("text", 0), "name": ("text", 0),
    **{c: ("id", 0) for c in ("zone_id", "model_id", "work_id", "power_id", "pump_id",
                              "site_id", "line_id", "gap_id", "parcel_id")},
    **{c: ("text", 0) for c in ("zone_kind", "work_type", "element", "crop", "season",
                                "support", "land_use", "status", "missing", "reason",
                                "partner", "cooperative", "investor")},
    "year": ("year", 0), "phases": ("text", 0), "voltage_kv": ("number", 1),
    "power_source": ("text", 0), "capacity_m3_h": ("number", 0),
    "capacity_kva": ("number", 0), "power_kw": ("number", 1),
    "area_ha": ("number", 1), "declared_area_ha": ("number", 1),
    "served_area_ha": ("number", 1), "covered_ha": ("number", 1), "length_km": ("number", 2),
    "yield_t_ha": ("number", 1), "profit_vnd_ha": ("number", 0),
    "cost_vnd": ("number", 0), "radius_m": ("number", 0),
    "commune_area_ha": ("number", 0), "linkage_area_ha": ("number", 0),
    "coverage_pct": ("number", 1),
    "n_parcels": ("count", 0), "n_features": ("count", 0),
}


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise SchemaError(f"language={language!r}; use one of {', '.join(LANGUAGES)}")


def format_area_ha(value: float | None, *, language: str = "vi", decimals: int = 0) -> str:
    """Format hectares: ``23.865 ha`` (vi) or ``23,865 ha`` (en).

    Examples
    --------
    >>> format_area_ha(23865.3), format_area_ha(23865.3, language="en")
    ('23.865 ha', '23,865 ha')
    """
    return f"{format_number(value, language=language, decimals=decimals)} ha"


def format_pct(value: float | None, *, language: str = "vi", decimals: int = 1) -> str:
    """Format a percentage: ``112,4%`` (vi) or ``112.4%`` (en).

    Examples
    --------
    >>> format_pct(112.43), format_pct(112.43, language="en")
    ('112,4%', '112.4%')
    """
    return f"{format_number(value, language=language, decimals=decimals)}%"


def _format_field(value: Any, field: str, kind: str, decimals: int, language: str) -> str:
    if kind == "year":
        return "–" if pd.isna(value) else str(int(value))
    if kind == "count":  # a count: thousands separator, no unit
        return format_number(value, language=language, decimals=0)
    if kind == "number":
        if value is None or pd.isna(value):
            return "–"
        u = _labels.unit(field, language)
        sep = "" if u == "%" else " "
        return f"{format_number(value, language=language, decimals=decimals)}{sep}{u}"
    return _labels.value_label(value, language, field=field)


@dataclass(frozen=True)
class MapResults:
    """Results of the coverage and siting analyses to draw on a plan map.

    Every field is optional; a map shows the ones given.

    Parameters
    ----------
    gaps : GeoDataFrame, optional
        Polygons of infrastructure gaps (e.g. rice area without three-phase
        power or pump service); ``missing`` (``pump``, ``power``, ``both``:
        "Trạm bơm", "Điện 3 pha", "Trạm bơm và điện 3 pha"), ``area_ha`` and
        ``reason`` are shown if present.
    sites : GeoDataFrame, optional
        Points of proposed pump stations (``site_id``, ``served_area_ha`` or
        ``covered_ha`` of :func:`geoagri.siting.site_pump_stations`,
        ``cost_vnd`` shown if present).
    lines : GeoDataFrame, optional
        Proposed three-phase lines (``length_km``, ``cost_vnd``,
        ``served_area_ha`` shown if present).
    service_radius_m : float, optional
        Radius of a pump station's service circle, m (default: the plan's
        ``pump_radius_m``, ``plan.service.pump_radius_m``).
    linkage : DataFrame, optional
        The plan's :func:`geoagri.indicators.linkage_by_commune` table: the
        choropleth draws it (default: computed for the plan's year, as the
        report does).
    pump_service : GeoSeries, optional
        The pump service area the coverage analysis used
        (``InfrastructureResult.pump_service``): drawn instead of circles, so
        the map shows exactly what the gaps were measured against.

    Examples
    --------
    >>> MapResults.from_any({"service_radius_m": 1500}).service_radius_m
    1500
    """

    gaps: gpd.GeoDataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    lines: gpd.GeoDataFrame | None = None
    service_radius_m: float | None = None
    linkage: pd.DataFrame | None = None
    pump_service: gpd.GeoSeries | None = None

    @classmethod
    def from_any(cls, results: MapResults | Mapping[str, Any] | Any | None) -> MapResults:
        """A :class:`MapResults` from a dict, a dataclass with these fields, or ``None``.

        Raises
        ------
        SchemaError
            If a dict has keys that are not fields of :class:`MapResults`.
        """
        if results is None:
            return cls()
        if isinstance(results, cls):
            return results
        names = [f.name for f in fields(cls)]
        if isinstance(results, Mapping):
            unknown = sorted(set(results) - set(names))
            if unknown:
                raise SchemaError(f"results has unknown key(s) {unknown}; allowed: {names}")
            return cls(**dict(results))
        return cls(**{n: getattr(results, n) for n in names if hasattr(results, n)})


# --------------------------------------------------------------------------- geometry


def display_geometry(
    gdf: gpd.GeoDataFrame,
    *,
    simplify_m: float = 5.0,
    precision: int = 5,
    coverage: bool = False,
    crs: Any = None,
) -> gpd.GeoDataFrame:
    """Geometry simplified and rounded for display, in EPSG:4326.

    For display only: measure areas and lengths on the exact layer first.
    Simplification is topology-preserving: with ``coverage=True`` (a layer
    that partitions the land, like communes) by
    :func:`shapely.coverage_simplify`, so neighbours keep one shared border,
    otherwise by ``simplify(preserve_topology=True)``.  Coordinates are then
    rounded to ``precision`` decimals of a degree (5 ≈ 1.1 m).

    Parameters
    ----------
    gdf : GeoDataFrame
        Any layer with a CRS.  Not modified.
    simplify_m : float, default 5.0
        Tolerance, metres, in the layer's metric CRS (0: no simplification).
    precision : int, default 5
        Decimals of a degree kept.
    coverage : bool, default False
        Simplify as a coverage (falls back to the per-geometry method, with
        a logged note, if the polygons are not a valid coverage).
    crs : CRS-like, optional
        Metric CRS to simplify in; default :func:`geoagri.crs.metric_crs`.

    Returns
    -------
    GeoDataFrame
        Same index and columns, geometry in EPSG:4326.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> communes = demo()["communes"]
    >>> shown = display_geometry(communes, simplify_m=20, coverage=True)
    >>> shown.crs.to_epsg(), len(shown) == len(communes)
    (4326, True)
    >>> int(shapely.get_num_coordinates(shown.geometry.values).sum()) < int(
    ...     shapely.get_num_coordinates(communes.geometry.values).sum())
    True
    """
    if gdf.crs is None:
        from geoagri.errors import CRSError

        raise CRSError("layer has no CRS; set it with gdf.set_crs(...) before mapping")
    out = gdf.copy()
    geoms = out.geometry
    if simplify_m and simplify_m > 0 and len(out):
        mcrs = metric_crs(out, crs=crs)
        projected = np.asarray(geoms.to_crs(mcrs).values, dtype=object)
        polygonal = np.isin(shapely.get_type_id(projected), (3, 6))
        done = False
        if coverage and polygonal.all():
            try:
                if shapely.coverage_is_valid(projected):
                    projected = shapely.coverage_simplify(projected, simplify_m)
                    done = True
                else:
                    log.info("display_geometry: polygons are not a valid coverage; "
                             "simplifying each one")
            except (shapely.errors.GEOSException, ValueError) as err:  # pragma: no cover
                log.info("display_geometry: coverage simplification failed (%s)", err)
        if not done:
            projected = shapely.simplify(projected, simplify_m, preserve_topology=True)
        geoms = gpd.GeoSeries(projected, index=out.index, crs=mcrs)
    geoms = geoms.to_crs(4326)
    rounded = shapely.set_precision(np.asarray(geoms.values, dtype=object),
                                    10.0 ** -precision, mode="pointwise")
    return out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=4326),
                            crs=4326)


# --------------------------------------------------------------------------- layers


def _popup_columns(gdf: gpd.GeoDataFrame, popup_fields: Sequence[str] | None) -> list[str]:
    if popup_fields is not None:
        missing = [c for c in popup_fields if c not in gdf.columns]
        if missing:
            raise SchemaError(f"popup_fields {missing} are not columns of the layer; its "
                              f"columns are {[c for c in gdf.columns if c != 'geometry']}")
        return list(popup_fields)
    cols = [c for c in _FIELDS if c in gdf.columns]
    ids = [c for c in cols if _FIELDS[c][0] == "id"]
    return ids[:1] + [c for c in cols if _FIELDS[c][0] != "id"]


def _properties(gdf: pd.DataFrame, cols: Sequence[str], language: str,
                labels: Mapping[str, str] | None) -> tuple[pd.DataFrame, list[str]]:
    """Formatted string properties (keys p0, p1, …) and their labels."""
    props = {}
    aliases = []
    for k, c in enumerate(cols):
        kind, dec = _FIELDS.get(c, ("text", 0))
        if kind == "text" and pd.api.types.is_float_dtype(gdf[c]):
            kind, dec = "number", 2  # a number without a known unit
        # escaped: the popup and tooltip templates put these into innerHTML
        values = [_escape(_format_field(v, c, kind, dec, language).rstrip())
                  for v in gdf[c].tolist()]
        props[f"p{k}"] = values
        aliases.append(_escape((labels or {}).get(c) or _labels.label(c, language)))
    return pd.DataFrame(props, index=gdf.index), aliases


def _feature_collection(geoms: np.ndarray, props: pd.DataFrame,
                        styles: Sequence[Mapping[str, Any]]) -> dict:
    texts = shapely.to_geojson(geoms)
    records = props.to_dict("records") if len(props.columns) else [{}] * len(geoms)
    feats = []
    for text, rec, style in zip(texts, records, styles, strict=True):
        if text is None:
            continue
        feats.append({"type": "Feature", "properties": {**rec, "style": dict(style)},
                      "geometry": json.loads(text)})
    return {"type": "FeatureCollection", "features": feats}


def _style(color: str, geom_kind: str, *, weight: float | None = None,
           fill_opacity: float = 0.6, dash: str | None = None) -> dict[str, Any]:
    if geom_kind == "line":
        s = {"color": color, "weight": weight or 3, "opacity": 0.9}
    elif geom_kind == "point":
        s = {"color": "#333333", "weight": weight or 1, "fillColor": color,
             "fillOpacity": 0.9, "radius": 6}
    else:
        s = {"color": color, "weight": weight if weight is not None else 1,
             "fillColor": color, "fillOpacity": fill_opacity}
    if dash:
        s["dashArray"] = dash
    return s


def _geom_kind(geoms: np.ndarray) -> np.ndarray:
    t = shapely.get_type_id(geoms)
    return np.where(np.isin(t, (0, 4)), "point", np.where(np.isin(t, (1, 2, 5)), "line",
                                                            "polygon"))


def map_layer(
    gdf: gpd.GeoDataFrame,
    *,
    name: str,
    color: str = "#3388ff",
    color_by: str | None = None,
    colors: Mapping[Any, str] | None = None,
    popup_fields: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    tooltip_field: str | None = None,
    language: str = "vi",
    show: bool = True,
    weight: float | None = None,
    fill_opacity: float = 0.6,
    dash: str | None = None,
    simplify_m: float = 5.0,
    precision: int = 5,
    coverage: bool = False,
    max_features: int = DEFAULT_MAX_FEATURES,
    styles: Sequence[Mapping[str, Any]] | None = None,
    communes: gpd.GeoDataFrame | None = None,
    grid_m: float = DEFAULT_GRID_M,
    crs: Any = None,
) -> folium.GeoJson:
    """One layer of a map: a GeoDataFrame styled from feature properties.

    Each feature carries its own style (no per-feature ``style_function``)
    and a popup of its fields, labelled and formatted in ``language``.

    A polygon layer of more than ``max_features`` features (the parcels of a
    province) is shown aggregated, so that the page stays small and opens
    fast: its features are cut at the borders of ``communes`` and dissolved
    by commune × ``color_by`` class (with no communes: by a square grid cell
    of ``grid_m`` × class) into one multipolygon each, gaps narrower than
    ``simplify_m`` (bunds) closed, then simplified by ``simplify_m`` and
    rounded.  The layer's name says so (``"Thửa đất (gộp theo xã × loại
    đất)"``) and each aggregate's popup gives the commune, the class, the
    number of features (each counted once, in the commune holding most of
    its area) and its exact area, measured on the unsimplified features as
    :func:`geoagri.area.area_by_zone` measures it (invalid polygons
    repaired with ``make_valid``, features cut at commune borders, overlaps
    of one class counted once; the area outside every commune forms its
    own aggregates).  ``popup_fields``, ``tooltip_field``
    and ``styles`` do not apply to an aggregated layer (``popup_fields=[]``
    still means no popup).

    Parameters
    ----------
    gdf : GeoDataFrame
        Points, lines or polygons in any CRS.  Not modified.
    name : str
        Name shown in the layer control.
    color : str, default "#3388ff"
        Colour of every feature when ``color_by`` is not given.
    color_by : str, optional
        Column whose values choose the colour: ``colors[value]``, else a
        qualitative palette in order of first appearance.
    colors : mapping, optional
        Value → colour for ``color_by``.
    popup_fields : sequence of str, optional
        Columns in the popup; default the canonical columns the layer has
        (id, name, kind, status, areas, costs…).  An empty list: no popup.
    labels : mapping, optional
        Column → label, overriding the built-in labels.
    tooltip_field : str, optional
        Column shown on hover (default: the name or id column, if any).
    language : {"vi", "en"}
        Language of labels and numbers.
    show : bool, default True
        Whether the layer is on when the map opens.
    weight, fill_opacity, dash : optional
        Line width (px), fill opacity, line dash pattern (e.g. ``"6 4"``).
    simplify_m, precision, coverage :
        Passed to :func:`display_geometry`.
    max_features : int, default 20,000
        Above this many features, a polygon layer is shown aggregated.
    styles : sequence of dict, optional
        One Leaflet style per row, overriding the colours.
    communes : GeoDataFrame, optional
        Communes (or any non-overlapping polygons, named by
        ``commune_name``) a large layer is aggregated in.
    grid_m : float, default 2,000
        Side of the square cells a large layer is aggregated in when no
        ``communes`` are given, m.
    crs : CRS-like, optional
        Metric CRS to simplify and measure in; default
        :func:`geoagri.crs.metric_crs` of the layer (of the communes, when
        aggregating in them).

    Returns
    -------
    folium.GeoJson
        A new layer; add it to a map with ``.add_to(m)``.

    Raises
    ------
    SchemaError
        If a named column is missing or the language is unknown.

    Examples
    --------
    >>> import folium
    >>> from geoagri.datasets import demo
    >>> works = demo()["works"]
    >>> m = folium.Map(tiles=None)
    >>> _ = map_layer(works, name="Works", color_by="status", colors=STATUS_COLORS,
    ...               language="en").add_to(m)
    >>> "Designed" in m.get_root().render()
    True
    >>> parcels = demo()["parcels"]
    >>> big = map_layer(parcels, name="Parcels", color_by="land_use", language="en",
    ...                 max_features=10, communes=demo()["communes"])
    >>> big.layer_name
    'Parcels (aggregated by commune × land use)'
    """
    _check_language(language)
    for c in (color_by, tooltip_field):
        if c is not None and c not in gdf.columns:
            raise SchemaError(f"column {c!r} is not in the layer; its columns are "
                              f"{[k for k in gdf.columns if k != 'geometry']}")
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    palette = None
    if color_by is not None:
        palette = dict(colors or {})
        extra = iter(_QUALITATIVE * (1 + gdf[color_by].nunique() // len(_QUALITATIVE)))
        for v in pd.unique(gdf[color_by]):
            if v not in palette:
                palette[v] = next(extra)
    if len(gdf) > max_features and np.isin(
            shapely.get_type_id(np.asarray(gdf.geometry.values, dtype=object)), (3, 6)).all():
        return _aggregated_layer(
            gdf, name=name, color=color, color_by=color_by, colors=palette,
            no_popup=popup_fields is not None and len(popup_fields) == 0, labels=labels,
            language=language, show=show, weight=weight, fill_opacity=fill_opacity, dash=dash,
            simplify_m=simplify_m, precision=precision, communes=communes, grid_m=grid_m,
            crs=crs)
    shown = display_geometry(gdf, simplify_m=simplify_m, precision=precision,
                             coverage=coverage, crs=crs)
    geoms = np.asarray(shown.geometry.values, dtype=object)
    kinds = _geom_kind(geoms)
    if palette is not None:
        fcolors = [palette[v] for v in gdf[color_by]]
    else:
        fcolors = [color] * len(gdf)
    if styles is None:
        styles = [_style(c, k, weight=weight, fill_opacity=fill_opacity, dash=dash)
                  for c, k in zip(fcolors, kinds, strict=True)]
    cols = _popup_columns(gdf, popup_fields)
    props, aliases = _properties(gdf, cols, language, labels)
    tip_key = None
    if tooltip_field is None:
        tooltip_field = next((c for c in ("commune_name", "name") if c in cols), None)
        if tooltip_field is None and cols and _FIELDS.get(cols[0], ("",))[0] == "id":
            tooltip_field = cols[0]
    if tooltip_field is not None:
        if tooltip_field in cols:
            tip_key = f"p{cols.index(tooltip_field)}"
        else:
            tip_key = "tip"
            props[tip_key] = [_escape(_labels.value_label(v, language, field=tooltip_field))
                              for v in gdf[tooltip_field]]
    data = _feature_collection(geoms, props, styles)
    point = folium.CircleMarker(radius=6, fill=True) if (kinds == "point").any() else None
    layer = folium.GeoJson(  # the layer control shows the name as HTML
        data, name=_escape(name), show=show, marker=point,
        popup=folium.GeoJsonPopup(fields=[f"p{k}" for k in range(len(cols))],
                                  aliases=aliases, localize=False, labels=True)
        if cols and data["features"] else None,  # folium refuses fields of no feature
        tooltip=folium.GeoJsonTooltip(fields=[tip_key], labels=False)
        if tip_key is not None and data["features"] else None,
    )
    return layer


# --------------------------------------------------------------------------- aggregation


def _threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _repaired(geoms: np.ndarray) -> np.ndarray:
    """Invalid polygons repaired with ``make_valid``, keeping their polygonal part."""
    bad = np.flatnonzero(~shapely.is_valid(geoms))
    if not len(bad):
        return geoms
    geoms = geoms.copy()
    for k, fixed in zip(bad, shapely.make_valid(geoms[bad]), strict=True):
        geoms[k] = _polygonal(fixed)
    return geoms


def _polygonal(geom: Any) -> Any:
    """The polygonal part of one geometry (an intersection may add lines and points)."""
    if shapely.get_type_id(geom) in (3, 6):
        return geom
    parts = [p for p in shapely.get_parts(geom) if shapely.get_type_id(p) in (3, 6)]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _grid_cells(geoms: np.ndarray, cell_m: float) -> tuple[np.ndarray, list[str]]:
    """Square cells of ``cell_m`` that the geometries touch, and their labels.

    Cells are numbered row-column from the south-west corner of the layer.
    """
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    nx, ny = max(1, int(np.ceil((x1 - x0) / cell_m))), max(1, int(np.ceil((y1 - y0) / cell_m)))
    col, row = np.meshgrid(np.arange(nx), np.arange(ny))
    col, row = col.ravel(), row.ravel()
    cells = shapely.box(x0 + col * cell_m, y0 + row * cell_m,
                        x0 + (col + 1) * cell_m, y0 + (row + 1) * cell_m)
    used = np.unique(shapely.STRtree(geoms).query(cells, predicate="intersects")[0])
    return cells[used], [f"{row[k] + 1}-{col[k] + 1}" for k in used]


def _cut(geoms: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geometries cut at the borders of non-overlapping units.

    Returns ``(piece, geometry index, unit index)`` with one piece per
    geometry × unit it has area in; unit ``len(units)`` is outside every unit.
    A geometry wholly inside a unit is its own piece (no intersection).
    The units are prepared in place.
    """
    n, nu = len(geoms), len(units)
    gi, ui = shapely.STRtree(units).query(geoms)
    shapely.prepare(units)
    inside = shapely.contains_properly(units[ui], geoms[gi])
    home = np.full(n, -1)
    home[gi[inside]] = ui[inside]
    whole = np.flatnonzero(home >= 0)
    cross = home[gi] < 0
    cg, cu = gi[cross], ui[cross]
    hit = shapely.intersects(units[cu], geoms[cg])
    cg, cu = cg[hit], cu[hit]
    # the unit clipped to the geometry's box first: a few vertices, not hundreds
    box = shapely.bounds(geoms[cg]) + np.array([-1.0, -1.0, 1.0, 1.0])
    near = np.array([shapely.clip_by_rect(u, *b) for u, b in zip(units[cu], box, strict=True)],
                    dtype=object)
    cut = np.array([_polygonal(g) for g in shapely.intersection(geoms[cg], near)],
                   dtype=object)
    area = shapely.area(cut)
    keep = area > 0
    cg, cu, cut, area = cg[keep], cu[keep], cut[keep], area[keep]
    total = shapely.area(geoms)
    covered = np.bincount(cg, weights=area, minlength=n)
    rest = np.flatnonzero((home < 0) & (total - covered > 1e-9 * total))
    outside = np.empty(len(rest), dtype=object)
    order = np.argsort(cg, kind="stable")
    starts = np.searchsorted(cg[order], rest)
    ends = np.searchsorted(cg[order], rest, side="right")
    for k, (g, a, b) in enumerate(zip(rest, starts, ends, strict=True)):
        outside[k] = (geoms[g] if a == b else
                      _polygonal(shapely.difference(geoms[g], shapely.union_all(cut[order[a:b]]))))
    keep = shapely.area(outside) > 0
    return (np.concatenate([geoms[whole], cut, outside[keep]]),
            np.concatenate([whole, cg, rest[keep]]),
            np.concatenate([home[whole], cu, np.full(int(keep.sum()), nu)]))


def _closed(parts: np.ndarray, group: np.ndarray, n_groups: int, close_m: float,
            simplify_m: float, threads: int) -> np.ndarray:
    """One multipolygon per group: its parts dissolved, narrow gaps closed, simplified.

    Gaps narrower than ``2 * close_m`` (bunds between parcels) are closed by
    a morphological closing: buffer out, then in, with mitred corners.  Only
    clusters of parts of one group whose boxes lie within ``2 * close_m`` of
    each other need it (their closings cannot meet another cluster's); a
    part alone is kept as it is.  Clusters run on ``threads`` threads
    (shapely releases the GIL), the largest first.  Then each piece is
    simplified by ``simplify_m``, preserving topology.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(parts)
    if close_m > 0 and n:
        grow = np.array([-2 * close_m, -2 * close_m, 2 * close_m, 2 * close_m])
        i, j = shapely.STRtree(parts).query(shapely.box(*(shapely.bounds(parts) + grow).T))
        same = (i < j) & (group[i] == group[j])
        _, cluster = connected_components(coo_matrix(
            (np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n)), directed=False)
    else:  # no closing: each group dissolved as a whole
        cluster = group
    order = np.argsort(cluster, kind="stable")
    _, first, inverse = np.unique(cluster[order], return_index=True, return_inverse=True)
    clusters = shapely.multipolygons(parts[order], indices=inverse)
    cgroup = group[order[first]]
    several = np.flatnonzero(np.bincount(inverse) > 1)

    def work(chunk: np.ndarray) -> np.ndarray:
        g = shapely.buffer(chunk, close_m, quad_segs=1, join_style="mitre")
        if close_m > 0:
            # the mitred corners of slightly tilted neighbours leave runs of
            # almost collinear vertices: drop them before buffering back in
            g = shapely.simplify(g, close_m / 5)
            g = shapely.buffer(g, -close_m, quad_segs=1, join_style="mitre")
        return g

    if len(several):
        big = several[np.argsort(-shapely.get_num_coordinates(clusters[several]),
                                 kind="stable")]
        chunks = [big[k::threads] for k in range(max(1, min(threads, len(big))))]
        with ThreadPoolExecutor(len(chunks)) as pool:
            for idx, res in zip(chunks, pool.map(lambda k: work(clusters[k]), chunks),
                                strict=True):
                clusters[idx] = res
    if simplify_m > 0:
        clusters = shapely.simplify(clusters, simplify_m, preserve_topology=True)
    out, owner = shapely.get_parts(clusters, return_index=True)
    result = np.array([shapely.MultiPolygon()] * n_groups, dtype=object)
    present = np.unique(cgroup[owner])
    result[present] = shapely.multipolygons(out, indices=np.searchsorted(present, cgroup[owner]))
    return result


def _aggregate(gdf: gpd.GeoDataFrame, by: str | None, communes: gpd.GeoDataFrame | None, *,
               grid_m: float, simplify_m: float, crs: Any, language: str
               ) -> tuple[gpd.GeoDataFrame, str]:
    """Polygons dissolved by commune (or grid cell) × class, for display.

    Returns a GeoDataFrame in the metric CRS with the unit's name
    (``commune_name`` or ``cell``), the class (column ``by``), the number of
    features counted in the aggregate (each in the unit holding most of its
    area; ``n_parcels`` for a parcels layer, else ``n_features``), the
    exact ``area_ha`` as :func:`geoagri.area.area_by_zone` measures it, and
    the display geometry (closed and simplified by ``simplify_m``); and the
    name of the unit column.
    """
    from geoagri.area import area_by_zone

    t = _T[language]
    mcrs = metric_crs(communes if communes is not None else gdf, crs=crs)
    geoms = _repaired(np.asarray(gdf.geometry.to_crs(mcrs).values, dtype=object))
    if communes is not None:
        units = np.asarray(communes.geometry.to_crs(mcrs).values, dtype=object)
        unit_col = "commune_name"
        src = next((c for c in ("commune_name", "commune_id") if c in communes.columns), None)
        names = (communes[src].tolist() if src is not None
                 else [str(k + 1) for k in range(len(units))])
    else:
        units, names = _grid_cells(geoms, grid_m)
        unit_col = "cell"
    names = [*names, t["outside"]]
    values = (gdf[by].astype(object).where(gdf[by].notna(), None).to_numpy()
              if by is not None else np.full(len(gdf), None, dtype=object))
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    classes = [None if pd.isna(u) else u for u in uniques]
    ncls = max(1, len(classes))

    # exact areas: the same measure as the area tables
    zones = gpd.GeoDataFrame({"_cls": values}, geometry=geoms, crs=mcrs)
    unit_frame = gpd.GeoDataFrame({"commune_id": np.arange(len(units)),
                                   "commune_name": names[:-1]}, geometry=units, crs=mcrs)
    table = area_by_zone(zones, unit_frame, by=["_cls"] if by is not None else [], crs=mcrs,
                         threads=_threads())
    code_of = {v: k for k, v in enumerate(classes)}
    t_unit = table["commune_id"].astype(object).where(table["commune_id"].notna(), len(units))
    t_cls = ([code_of[None if pd.isna(v) else v] for v in table["_cls"]]
             if by is not None else [0] * len(table))
    exact = dict(zip(np.asarray(t_unit, dtype=np.int64) * ncls + np.asarray(t_cls, dtype=np.int64),
                     table["area_ha"].to_numpy(), strict=True))

    # pieces by unit × class; each feature counted once, where most of it lies.
    # The geometry work runs about a local origin: GEOS's buffer and overlay
    # are several times faster on small coordinates than on UTM ones.
    b = shapely.total_bounds(geoms)
    origin = np.round([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], -3)
    pieces, feat, unit = _cut(shapely.transform(geoms, lambda xy: xy - origin),
                              shapely.transform(units, lambda xy: xy - origin))
    key = unit * ncls + codes[feat]
    area = shapely.area(pieces)
    order = np.lexsort((-area, feat))
    major = np.zeros(len(pieces), dtype=bool)
    major[order[np.r_[True, feat[order][1:] != feat[order][:-1]]]] = True
    count = np.bincount(key[major], minlength=(len(units) + 1) * ncls)
    # display geometry: slivers cut off at a border smaller than the display
    # tolerance left out, the rest dissolved and closed
    keep = major | (area >= simplify_m ** 2)
    parts, pidx = shapely.get_parts(pieces[keep], return_index=True)
    key = key[keep]
    pkey = key[pidx]
    order = np.argsort(pkey, kind="stable")
    keys, inverse = np.unique(pkey[order], return_inverse=True)
    shown = _closed(parts[order], inverse, len(keys), max(simplify_m, 0.0) / 2, simplify_m,
                    _threads())
    shown = shapely.transform(shown, lambda xy: xy + origin)
    u, c = np.divmod(keys, ncls)
    n_col = "n_parcels" if "parcel_id" in gdf.columns else "n_features"
    out = gpd.GeoDataFrame({
        unit_col: [names[k] for k in u],
        **({by: [classes[k] for k in c]} if by is not None else {}),
        n_col: count[keys],
        "area_ha": [float(exact.get(k, 0.0)) for k in keys],
    }, geometry=shown, crs=mcrs)
    return out[~out.geometry.is_empty].reset_index(drop=True), unit_col


def _aggregated_layer(gdf: gpd.GeoDataFrame, *, name: str, color: str, color_by: str | None,
                      colors: Mapping[Any, str] | None, no_popup: bool,
                      labels: Mapping[str, str] | None, language: str, show: bool,
                      weight: float | None, fill_opacity: float, dash: str | None,
                      simplify_m: float, precision: int, communes: gpd.GeoDataFrame | None,
                      grid_m: float, crs: Any) -> folium.GeoJson:
    """A large polygon layer dissolved by commune (or grid cell) × class (see map_layer)."""
    t = _T[language]
    agg, unit_col = _aggregate(gdf, color_by, communes, grid_m=grid_m, simplify_m=simplify_m,
                               crs=crs, language=language)
    if communes is not None:
        unit = t["by_commune"]
    else:
        unit = t["by_cell"].format(km=format_number(grid_m / 1000, language=language,
                                                    decimals=0 if grid_m % 1000 == 0 else 1))
    if color_by is not None:
        cls = (labels or {}).get(color_by) or _labels.label(color_by, language)
        unit = f"{unit} × {cls[:1].lower()}{cls[1:]}"
    cols = [c for c in agg.columns if c != "geometry"]
    vl = _labels.value_label
    agg["label"] = [f"{vl(a, language)} · {vl(b, language, field=color_by)}"
                    for a, b in zip(agg[unit_col], agg[color_by], strict=True)] \
        if color_by is not None else agg[unit_col]
    log.info("map layer %r: %d features shown as %d aggregates", name, len(gdf), len(agg))
    return map_layer(agg, name=t["aggregated"].format(name=name, unit=unit), color=color,
                     color_by=color_by, colors=colors, popup_fields=[] if no_popup else cols,
                     labels=labels, tooltip_field="label", language=language, show=show,
                     weight=weight, fill_opacity=fill_opacity, dash=dash, simplify_m=0,
                     precision=precision, max_features=max(len(agg), 1), crs=agg.crs)


# --------------------------------------------------------------------------- legend


class _Legend(branca.element.MacroElement):
    """A legend drawn by Leaflet as a control: plain HTML inside the map's page."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>
        .geoagri-legend {background: rgba(255,255,255,0.92); padding: 6px 9px;
            font: 12px/1.35 Arial, Helvetica, sans-serif; border-radius: 5px;
            box-shadow: 0 0 12px rgba(0,0,0,0.25); max-height: 60vh; overflow-y: auto;}
        .geoagri-legend b {display: block; margin: 4px 0 2px;}
        .geoagri-legend i {display: inline-block; width: 16px; height: 11px;
            margin-right: 6px; vertical-align: middle; border: 1px solid #777;}
        .geoagri-legend i.line {height: 0; border: 0; border-top: 3px solid;}
        .geoagri-legend i.dash {height: 0; border: 0; border-top: 3px dashed;}
        </style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        <div id="{{ this.get_name() }}" class="geoagri-legend" style="display:none">
        {{ this.html }}
        </div>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var legend = L.control({position: "bottomright"});
            legend.onAdd = function () {
                var div = document.getElementById({{ this.get_name()|tojson }});
                div.style.display = "block";
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """)

    def __init__(self, sections: Sequence[tuple[str, Sequence[tuple[str, str, str]]]]):
        super().__init__()
        self._name = "Legend"
        parts = []
        for title, items in sections:
            if not items:
                continue
            parts.append(f"<b>{_escape(title)}</b>")
            for color, label, shape in items:
                style = (f"border-color:{color}" if shape in ("line", "dash")
                         else f"background:{color}")
                parts.append(f'<div><i class="{shape}" style="{style}"></i>'
                             f"{_escape(label)}</div>")
        self.html = "".join(parts)


def _escape(text: object) -> str:
    """Text made safe to place in HTML: ``& < > " '`` as entities.

    Every string from data that reaches the page (popup and tooltip values
    and labels, layer names, legend entries) goes through it: folium's popup
    and tooltip templates and Leaflet's layer control set ``innerHTML``.

    Examples
    --------
    >>> _escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    """
    return html.escape(str(text), quote=True)


# --------------------------------------------------------------------------- offline


class _Inline(branca.element.Element):
    """A ``<script>`` or ``<style>`` element written as is (no template)."""

    def __init__(self, tag: str, text: str):
        super().__init__()
        self._name = "Inline"
        self.tag, self.text = tag, text

    def render(self, **kwargs: Any) -> str:
        return f"<{self.tag}>\n{self.text}\n</{self.tag}>"


#: folium's default assets an offline map does not need (no icon markers).
_OFFLINE_SKIP = {"bootstrap", "bootstrap_css", "glyphicons_css", "awesome_markers",
                 "awesome_markers_css", "awesome_markers_font_css", "awesome_rotate_css"}


@lru_cache(maxsize=1)
def _offline_assets() -> dict[str, str]:
    """CDN URL → file content, from the installed ``folium-offline`` package."""
    try:
        mod = importlib.import_module("offlinefolium.elements")
    except ImportError:
        raise GeoagriError(
            "offline=True needs the JavaScript and CSS files of Leaflet and its plugins, "
            "which geoagri takes from the 'folium-offline' package; install it with "
            "`pip install geoagri[offline]` (or `pip install folium-offline`)") from None
    return dict(mod._res)


def _unversioned(url: str) -> str:
    return re.sub(r"@[0-9][^/]*|/[0-9]+\.[0-9]+(\.[0-9]+)?/", "/", url).split("//", 1)[-1]


def _find_asset(url: str, assets: Mapping[str, str]) -> str | None:
    if url in assets:
        return assets[url]
    key = _unversioned(url)
    for u, text in assets.items():
        if _unversioned(u) == key:
            log.info("offline map: %s taken from another version (%s)", url, u)
            return text
    return None


def _make_offline(m: folium.Map) -> folium.Map:
    """Inline every asset of ``m``'s elements into its page header (in place)."""
    assets = _offline_assets()
    header = m.get_root().header

    def walk(el: branca.element.Element) -> list[branca.element.Element]:
        out = [el]
        for child in list(el._children.values()):
            out += walk(child)
        return out

    dropped = []
    for el in walk(m):
        if not isinstance(el, JSCSSMixin):
            continue
        needed = [(n, u, "script") for n, u in el.default_js if n not in _OFFLINE_SKIP]
        needed += [(n, u, "style") for n, u in el.default_css if n not in _OFFLINE_SKIP]
        found = [(n, _find_asset(u, assets), tag) for n, u, tag in needed]
        if any(text is None for _, text, _ in found):
            if el is m:
                raise GeoagriError("offline=True: the installed folium-offline has no copy of "
                                   f"{[u for (n, u, _), (_, t, _) in zip(needed, found, strict=True) if t is None]}"  # noqa: E501
                                   "; install a folium-offline matching folium "
                                   f"{folium.__version__}")
            dropped.append(type(el).__name__)
            del el._parent._children[el.get_name()]
            continue
        for n, text, tag in found:
            if n not in header._children:
                header.add_child(_Inline(tag, text), name=n)
        el.default_js = []
        el.default_css = []
    if dropped:
        warnings.warn(f"offline map: dropped {sorted(set(dropped))}: folium-offline has no "
                      "copy of their files", GeoagriWarning, stacklevel=3)
    return m


# --------------------------------------------------------------------------- plan map


def _layers(plan: Any, kind: str) -> list[tuple[str, gpd.GeoDataFrame]]:
    return [(n, g) for n, g in plan.of_kind(kind).items()
            if isinstance(g, gpd.GeoDataFrame) and len(g)]


def _area_ha(gdf: gpd.GeoDataFrame, mcrs: Any) -> np.ndarray:
    return gdf.geometry.to_crs(mcrs).area.to_numpy() / 1e4


def _linkage_coverage(plan: Any, communes: gpd.GeoDataFrame,
                      given: pd.DataFrame | None) -> pd.DataFrame:
    """The plan's linkage table (the report's own), aligned to the communes' rows."""
    from geoagri.indicators import linkage_by_commune

    if given is None:
        zones = [g for _, g in _layers(plan, "zones")]
        given = linkage_by_commune(
            pd.concat(zones, ignore_index=True) if len(zones) > 1 else
            zones[0] if zones else None, communes, year=plan.year, crs=plan.metric_crs)
    inside = given[given["commune_id"].notna()].set_index(
        given["commune_id"].dropna().astype(str))
    ids = communes["commune_id"].astype(str)
    table = inside.reindex(ids.to_numpy())
    return pd.DataFrame({"commune_id": communes["commune_id"].to_numpy(),
                         "commune_area_ha": table["commune_area_ha"].to_numpy(),
                         "linkage_area_ha": table["area_ha"].fillna(0.0).to_numpy(),
                         "coverage_pct": table["commune_share_pct"].fillna(0.0).to_numpy()},
                        index=communes.index)


def _classes(values: np.ndarray, k: int = 5) -> tuple[np.ndarray, list[float]]:
    """Class of each value (0…k-1) and the upper bounds, by natural breaks."""
    import mapclassify

    finite = values[np.isfinite(values)]
    n_unique = len(np.unique(finite))
    if n_unique == 0:
        return np.zeros(len(values), dtype=int), [0.0]
    k = max(1, min(k, n_unique))
    if k == 1:
        return np.zeros(len(values), dtype=int), [float(finite.max())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mc = mapclassify.NaturalBreaks(finite, k=k, initial=20)
    bins = [float(b) for b in mc.bins]
    return np.asarray(mc.find_bin(np.nan_to_num(values)), dtype=int), bins


def _palette_for(k: int) -> list[str]:
    idx = np.linspace(0, len(COVERAGE_COLORS) - 1, k).round().astype(int) if k > 1 else [2]
    return [COVERAGE_COLORS[i] for i in idx]


def _bounds(frames: Sequence[gpd.GeoDataFrame]) -> list[list[float]] | None:
    boxes = [f.to_crs(4326).total_bounds for f in frames if len(f)]
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes:
        return None
    b = np.array(boxes)
    return [[float(b[:, 1].min()), float(b[:, 0].min())],
            [float(b[:, 3].max()), float(b[:, 2].max())]]


def plan_map(
    plan: Any,
    results: MapResults | Mapping[str, Any] | None = None,
    *,
    language: str = "vi",
    offline: bool = False,
    service_radius_m: float | None = None,
    simplify_m: float = 5.0,
    precision: int = 5,
    max_features: int = DEFAULT_MAX_FEATURES,
    parcels: bool = True,
) -> folium.Map:
    """A map of a plan for the People's Council: coverage, models, works, gaps.

    Layers, each a toggle in the layer control (those the plan has):

    * communes coloured by linkage coverage (linkage-zone area, overlaps
      counted once, as a % of the commune's area, measured in the plan's
      metric CRS), in up to 5 natural-breaks classes (mapclassify); popups
      with the commune's name, area, linkage area and coverage;
    * zones, one layer per zone kind and crop; models, one layer per season;
    * irrigation works coloured by status (planned → completed);
    * three-phase and other power lines (and transformers);
    * pump stations by status, and their service circles (radius from
      ``service_radius_m``, the results, or the plan's ``pump_radius_m``; the
      coverage's own service area when the results carry it);
    * parcels by land use (off when the map opens; above ``max_features``
      aggregated by commune × land use, with exact areas in the popups:
      see :func:`map_layer`);
    * from ``results``: gaps, proposed pump stations, proposed lines.

    A legend (coverage classes, works by status, power lines) is part of the
    page; fullscreen, measure (m, ha) and scale controls; bounds fitted to
    the communes.  Maps are in EPSG:4326 whatever the layers' CRS.

    Parameters
    ----------
    plan : Plan
        A plan with a ``communes`` layer; other layer kinds are drawn when
        present.  Not modified.
    results : MapResults or dict, optional
        Gaps, proposed sites and lines (see :class:`MapResults`).
    language : {"vi", "en"}, default "vi"
        Language of the labels; numbers as ``23.865 ha``, ``112,4%`` (vi) or
        ``23,865 ha``, ``112.4%`` (en).
    offline : bool, default False
        Inline Leaflet and the plugins' files from the ``folium-offline``
        package and use no tiles, so that the saved HTML opens with no
        internet (see the module docstring).  A plugin that package has no
        copy of is dropped, with a warning.
    service_radius_m : float, optional
        Pump service radius, m (overrides the results' radius).
    simplify_m, precision :
        Display simplification and rounding (see :func:`display_geometry`).
    max_features : int, default 20,000
        Polygon layers with more features are shown aggregated by commune
        × class (see :func:`map_layer`).
    parcels : bool, default True
        Include parcels layers (off when the map opens).

    Returns
    -------
    folium.Map
        A new map; ``m.save("map.html")`` writes it.

    Raises
    ------
    PlanError
        If the plan has no ``communes`` layer (or several).
    SchemaError
        If ``language`` or a ``results`` key is unknown.
    GeoagriError
        If ``offline=True`` and folium-offline is not installed.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> m = plan_map(demo())
    >>> "Xã: tỷ lệ diện tích liên kết (%)" in layer_names(m)
    True
    >>> html = m.get_root().render()
    >>> "Tỷ lệ diện tích liên kết theo xã" in html   # the legend
    True
    """
    _check_language(language)
    t = _T[language]
    res = MapResults.from_any(results)
    radius = service_radius_m or res.service_radius_m or plan.service.pump_radius_m
    communes = plan.only("communes")
    mcrs = plan.metric_crs
    common = {"language": language, "simplify_m": simplify_m, "precision": precision,
              "max_features": max_features, "communes": communes, "crs": mcrs}

    m = folium.Map(tiles=None if offline else "OpenStreetMap", control_scale=True,
                   prefer_canvas=False, zoom_snap=0.25)
    # communes: coverage choropleth
    cov = _linkage_coverage(plan, communes, res.linkage)
    cls, bins = _classes(cov["coverage_pct"].to_numpy())
    pal = _palette_for(len(bins))
    table = communes.drop(columns="geometry").assign(
        commune_area_ha=cov["commune_area_ha"], linkage_area_ha=cov["linkage_area_ha"],
        coverage_pct=cov["coverage_pct"], geometry=communes.geometry)
    table = gpd.GeoDataFrame(table, geometry="geometry", crs=communes.crs)
    styles = [{"color": "#555555", "weight": 1, "fillColor": pal[c], "fillOpacity": 0.7}
              for c in cls]
    cols = [c for c in ("commune_name", "district") if c in table.columns]
    cols += ["commune_area_ha", "linkage_area_ha", "coverage_pct"]
    map_layer(table, name=t["coverage_layer"], popup_fields=cols, styles=styles,
              coverage=True, tooltip_field="commune_name" if "commune_name" in cols else None,
              **common).add_to(m)
    lows = [float(np.nanmin(cov["coverage_pct"])) if len(cov) else 0.0, *bins[:-1]]
    cov_items = [(pal[i], f"{format_pct(lo, language=language)} – "
                          f"{format_pct(hi, language=language)}", "box")
                 for i, (lo, hi) in enumerate(zip(lows, bins, strict=True))]

    # zones by kind and crop
    for _, zones in _layers(plan, "zones"):
        keys = [c for c in ("zone_kind", "crop") if c in zones.columns]
        groups = zones.groupby(keys, dropna=False, sort=True) if keys else [((), zones)]
        for i, (key, g) in enumerate(groups):
            key = key if isinstance(key, tuple) else (key,)
            parts = [_labels.value_label(v, language) for v in key if not pd.isna(v)]
            name = " – ".join(parts) if parts else t["zone"]
            map_layer(g, name=name, color=_QUALITATIVE[i % len(_QUALITATIVE)],
                      fill_opacity=0.35, weight=1.5, show="linkage" in key,
                      **common).add_to(m)
    # models by season (the two latest seasons on when the map opens)
    for _, models in _layers(plan, "models"):
        seasons = (pd.unique(models["season"].dropna()).tolist()
                   if "season" in models.columns else [])
        seasons.sort(key=lambda v: (str(v)[3:7], str(v)[:2]))
        groups = [(v, models[models["season"] == v]) for v in seasons]
        if "season" not in models.columns or models["season"].isna().any():
            rest = models if "season" not in models.columns else models[models["season"].isna()]
            groups.append((None, rest))
        for i, (season, g) in enumerate(groups):
            name = f"{t['models']} {season}" if season is not None else t["models"]
            map_layer(g, name=name, color=_QUALITATIVE[(i + 3) % len(_QUALITATIVE)],
                      fill_opacity=0.5, weight=1, show=i >= len(groups) - 2,
                      **common).add_to(m)
    # irrigation works by status
    works_items = []
    for _, works in _layers(plan, "works"):
        map_layer(works, name=t["works"], color_by="status" if "status" in works else None,
                  colors=STATUS_COLORS, weight=4, **common).add_to(m)
        works_items = [(STATUS_COLORS[s], _labels.value_label(s, language), "box")
                       for s in WORK_STATUSES]
    # power lines: three-phase and other
    power_items = []
    for _, power in _layers(plan, "power"):
        three = power["phases"] == 3 if "phases" in power else pd.Series(False, power.index)
        for mask, name, color, dash in ((three, t["power3"], THREE_PHASE_COLOR, None),
                                        (~three, t["power_other"], OTHER_POWER_COLOR, "6 4")):
            if mask.any():
                map_layer(power[mask], name=name, color=color, weight=3 if dash is None else 2,
                          dash=dash, **common).add_to(m)
                power_items.append((color, name, "line" if dash is None else "dash"))
    # pumps and service circles
    for _, pumps in _layers(plan, "pumps"):
        if res.pump_service is not None and service_radius_m is None:
            circles = gpd.GeoDataFrame({"radius_m": [radius]}, geometry=gpd.GeoSeries(
                res.pump_service).to_crs(mcrs).to_numpy(), crs=mcrs)
        else:
            circles = gpd.GeoDataFrame(
                {"pump_id": pumps["pump_id"].to_numpy() if "pump_id" in pumps else None,
                 "radius_m": radius},
                geometry=pumps.geometry.to_crs(mcrs).buffer(radius, 32).to_numpy(), crs=mcrs)
        label = t["service"].format(r=f"{format_number(radius, language=language)} m")
        map_layer(circles, name=label, color="#0288d1", fill_opacity=0.08, weight=1,
                  **common).add_to(m)
        map_layer(pumps, name=t["pumps"], color_by="status" if "status" in pumps else None,
                  colors=PUMP_COLORS, **common).add_to(m)
    # parcels
    if parcels:
        for _, p in _layers(plan, "parcels"):
            map_layer(p, name=t["parcels"], show=False, weight=0.5, fill_opacity=0.5,
                      color_by="land_use" if "land_use" in p.columns else None,
                      **common).add_to(m)
    # results
    if res.gaps is not None and len(res.gaps):
        map_layer(res.gaps, name=t["gaps"], color=GAP_COLOR, fill_opacity=0.45, weight=1,
                  **common).add_to(m)
    if res.lines is not None and len(res.lines):
        map_layer(res.lines, name=t["lines"], color=PROPOSAL_COLOR, weight=4, dash="8 6",
                  **common).add_to(m)
        power_items.append((PROPOSAL_COLOR, t["lines"], "dash"))
    if res.sites is not None and len(res.sites):
        map_layer(res.sites, name=t["sites"], color=PROPOSAL_COLOR, **common).add_to(m)

    _Legend([(t["coverage_legend"], cov_items), (t["works_legend"], works_items),
             (t["power_legend"], power_items)]).add_to(m)
    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.plugins.MeasureControl(position="topleft", primary_length_unit="meters",
                                  secondary_length_unit="kilometers",
                                  primary_area_unit="hectares",
                                  secondary_area_unit="sqmeters").add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    bounds = _bounds([communes])
    if bounds:
        m.fit_bounds(bounds)
    if offline:
        _make_offline(m)
    return m


def layer_map(gdf: gpd.GeoDataFrame, *, name: str = "layer", language: str = "vi",
              offline: bool = False, **options: Any) -> folium.Map:
    """A map of one layer (see :func:`map_layer` for ``options``).

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> m = layer_map(demo()["pumps"], name="Trạm bơm", color_by="status")
    >>> layer_names(m)
    ['Trạm bơm']
    """
    m = folium.Map(tiles=None if offline else "OpenStreetMap", control_scale=True)
    map_layer(gdf, name=name, language=language, **options).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    bounds = _bounds([gdf])
    if bounds:
        m.fit_bounds(bounds)
    if offline:
        _make_offline(m)
    return m


def layer_names(m: folium.Map) -> list[str]:
    """Names of the map's overlays, as the layer control lists them.

    Examples
    --------
    >>> import folium
    >>> layer_names(folium.Map(tiles=None))
    []
    """
    out = []
    for child in m._children.values():
        if isinstance(child, folium.map.Layer) and not isinstance(child, folium.TileLayer) \
                and child.control and child.overlay:
            out.append(html.unescape(child.layer_name))
    return out
