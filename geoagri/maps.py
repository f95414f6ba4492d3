"""Interactive folium maps of a plan: coverage, models, works, power, pumps, gaps.

:func:`plan_map` draws a whole :class:`~geoagri.plan.Plan` (and, when given,
the results of the coverage and siting analyses) as one :class:`folium.Map`
that opens on the council's question, "where is infrastructure missing, and
what?": the communes by linkage coverage, the gaps hatched by what is missing,
pumps and power lines.  Every other layer (zones, one season of models at a
time, works, service areas, parcels, proposals, basemaps) is one click away
in a grouped, collapsible layer control; a legend of the layers that are on;
a title box with year, date and source; Vietnamese or English labels and
numbers; fullscreen, measure and metric scale controls.  Colours are the one
palette of :mod:`geoagri._styles`, shared with the KML and QGIS exports.

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
  a province) is shown **aggregated**: one multipolygon per commune × the
  class it is coloured by (or, with no communes, per square grid cell ×
  class), about a thousand for a province of 200,000 parcels, drawn on a
  grid of cells (the display tolerance, about 25 m for a province): gaps of
  a cell (bunds between parcels) are closed, outlines traced, simplified
  and rounded (:mod:`geoagri._generalize`; no exact union of the parcels).
  The drawn shape is never measured: an aggregate's popup gives the
  figures of the results (:attr:`MapResults.parcel_areas`), or, for a map
  of one layer with no results, its feature count and its exact area
  measured on the features as :func:`geoagri.area.area_by_zone` measures it.
  Below the threshold, features are drawn one by one.

Self-contained maps
-------------------
By default (``inline=True``) the JavaScript and CSS the map needs (Leaflet,
jQuery, Leaflet.fullscreen and leaflet-measure, with their images as data
URIs) are inlined from the ``folium-offline`` package (a dependency), so the
saved HTML never depends on a CDN and looks the same everywhere.  Bootstrap,
Font Awesome and Awesome Markers, which these maps do not use, are left
out; the layer control, legend and title box are geoagri's own.  A plugin
whose files that package does not have is dropped (with a
:class:`~geoagri.errors.GeoagriWarning`).  The online basemaps
(OpenStreetMap, Esri imagery) are tiles: with no network they fail, and
:func:`plan_map`'s page switches to the basemap drawn from the plan's own
layers (commune borders, canals and roads, commune names) and says so.
``offline=True`` adds no tile layer at all (the page makes no request).

Examples
--------
>>> from geoagri.datasets import demo
>>> m = plan_map(demo(), language="en")
>>> layer_names(m)[:3]
['Communes: linkage coverage (%)', 'Parcels', 'Cultivation area code – lotus']
>>> format_number(23865.3, language="vi"), format_number(112.43, language="en", decimals=1)
('23.865', '112.4')
"""

from __future__ import annotations

import html
import importlib
import json
import logging
import math
import re
import warnings
from collections.abc import Mapping, Sequence
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

from geoagri import _labels, _styles
from geoagri._engine.distinct import distinct
from geoagri._engine.threads import n_threads, prepared_copies
from geoagri._generalize import dissolved_on_grid, grid_cell_m
from geoagri._geojson import geometry_texts
from geoagri._labels import format_number
from geoagri._map_content import (
    _HATCHES,
    _T,
    DEFAULT_MIN_GAP_HA,
    LANGUAGES,
    CoverageClasses,
    MapResults,
    _check_language,
    _layers,
    _legend_items,
    coverage_classes,
    drawn_gaps,
    format_area_ha,
    format_pct,
)
from geoagri.crs import metric_crs
from geoagri.errors import GeoagriError, GeoagriWarning, SchemaError
from geoagri.schema import WORK_STATUSES

__all__ = [
    "LANGUAGES",
    "CoverageClasses",
    "MapResults",
    "coverage_classes",
    "display_geometry",
    "drawn_gaps",
    "format_area_ha",
    "format_money",
    "format_number",
    "format_pct",
    "layer_map",
    "layer_names",
    "map_layer",
    "plan_map",
    "visible_layer_names",
]

log = logging.getLogger("geoagri")


#: Above this many features a polygon layer is shown aggregated.
DEFAULT_MAX_FEATURES = 20_000

#: Side of the grid cells a large layer is aggregated in when no communes are given, m.
DEFAULT_GRID_M = 2000.0


# The colours are the one palette of every output (geoagri._styles).
COVERAGE_COLORS = _styles.COVERAGE_COLORS
#: Colour of each irrigation-work status, in pipeline order.
STATUS_COLORS = _styles.WORK_STATUS
PUMP_COLORS = _styles.PUMP_STATUS
#: Colour of a gap by what is missing (pump, power, both).
GAP_COLORS = _styles.GAP_MISSING
THREE_PHASE_COLOR = _styles.THREE_PHASE
OTHER_POWER_COLOR = _styles.OTHER_POWER
PROPOSAL_COLOR = _styles.PROPOSAL
_QUALITATIVE = _styles.QUALITATIVE

#: Panes, bottom to top: Leaflet draws a pane's features above those of a lower
#: one whatever order they are switched on in, so points stay clickable over
#: polygons.  (name, z-index, receives clicks)
_PANES = (("geoagri-communes", 401, True), ("geoagri-base", 405, False),
          ("geoagri-areas", 410, True), ("geoagri-service", 415, False),
          ("geoagri-gaps", 420, True), ("geoagri-lines", 430, True),
          ("geoagri-labels", 440, False), ("geoagri-points", 450, True))

#: Groups of the layer control, in order.
_GROUPS = ("base", "communes", "zones", "models", "water", "power", "proposals")


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
    "connection_length_km": ("number", 2), "ha_per_billion_vnd": ("number", 1),
    **{c: ("money", 0) for c in ("cost_vnd", "station_cost_vnd", "connection_cost_vnd")},
    "radius_m": ("number", 0),
    "commune_area_ha": ("number", 0), "linkage_area_ha": ("number", 0),
    "coverage_pct": ("number", 1),
    "n_parcels": ("count", 0), "n_features": ("count", 0),
}


def format_money(value: float | None, *, language: str = "vi") -> str:
    """Format an amount of đồng as the documents write it: in tỷ or triệu đồng.

    From a billion up: tỷ đồng with 2 decimals; from a million: triệu đồng
    (1 decimal under 10 triệu); below, đồng.

    Parameters
    ----------
    value : float or None
        Amount, đồng (VND).
    language : {"vi", "en"}

    Returns
    -------
    str

    Examples
    --------
    >>> format_money(1_039_999_603), format_money(800_000_500), format_money(4_200_000)
    ('1,04 tỷ đồng', '800 triệu đồng', '4,2 triệu đồng')
    >>> format_money(1_039_999_603, language="en"), format_money(521.6)
    ('1.04 billion VND', '522 đồng')
    """
    _check_language(language)
    if value is None or pd.isna(value):
        return "–"
    v = float(value)
    words = {"vi": ("tỷ đồng", "triệu đồng", "đồng"),
             "en": ("billion VND", "million VND", "VND")}[language]
    if abs(v) >= 1e9:
        n, unit, decimals = v / 1e9, words[0], 2
    elif abs(v) >= 1e6:
        n, unit, decimals = v / 1e6, words[1], 0 if abs(v) >= 1e7 else 1
    else:
        n, unit, decimals = v, words[2], 0
    return f"{format_number(n, language=language, decimals=decimals)} {unit}"


def _format_field(value: Any, field: str, kind: str, decimals: int, language: str) -> str:
    if kind == "year":
        return "–" if pd.isna(value) else str(int(value))
    if kind == "money":
        return format_money(value, language=language)
    if kind == "count":  # a count: thousands separator, no unit
        return format_number(value, language=language, decimals=0)
    if kind == "number":
        if value is None or pd.isna(value):
            return "–"
        u = _labels.unit(field, language)
        sep = "" if u == "%" else " "
        return f"{format_number(value, language=language, decimals=decimals)}{sep}{u}"
    return _labels.value_label(value, language, field=field)


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
    geoms = _simplified_lonlat(gdf, simplify_m=simplify_m, coverage=coverage, crs=crs)
    rounded = shapely.set_precision(np.asarray(geoms.values, dtype=object),
                                    10.0 ** -precision, mode="pointwise")
    return gdf.set_geometry(gpd.GeoSeries(rounded, index=gdf.index, crs=4326), crs=4326)


def _simplified_lonlat(gdf: gpd.GeoDataFrame, *, simplify_m: float, coverage: bool,
                       crs: Any) -> gpd.GeoSeries:
    """:func:`display_geometry`'s geometry before rounding (a map layer's text rounds
    as it writes)."""
    return gpd.GeoSeries(_in_crs(_simplified(gdf, simplify_m=simplify_m, coverage=coverage,
                                             crs=crs), 4326), index=gdf.index, crs=4326)


def _simplified(gdf: gpd.GeoDataFrame, *, simplify_m: float, coverage: bool,
                crs: Any) -> gpd.GeoSeries:
    """:func:`display_geometry`'s geometry simplified, in the CRS it was simplified in
    (the layer's, if not simplified), not yet in EPSG:4326."""
    if gdf.crs is None:
        from geoagri.errors import CRSError

        raise CRSError("layer has no CRS; set it with gdf.set_crs(...) before mapping")
    out = gdf
    geoms = out.geometry
    if simplify_m and simplify_m > 0 and len(out):
        mcrs = metric_crs(out, crs=crs)
        projected = _in_crs(geoms, mcrs)
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
    return geoms


@lru_cache(maxsize=16)
def _to_lonlat(crs: Any) -> Any:
    """The transformation of coordinates from ``crs`` to EPSG:4326 (x, y arrays to
    longitudes, latitudes), as :meth:`geopandas.GeoSeries.to_crs` makes it."""
    import pyproj

    return pyproj.Transformer.from_crs(crs, pyproj.CRS.from_user_input(4326),
                                       always_xy=True).transform


def _in_crs(geoms: gpd.GeoSeries, crs: Any) -> np.ndarray:
    """The geometries in ``crs``, as an array (not transformed when already in it).

    GeoPandas transforms every coordinate even to the CRS a layer is in:
    0.3 s for a province's parcels.
    """
    import pyproj

    if geoms.crs is not None and geoms.crs.equals(pyproj.CRS.from_user_input(crs)):
        return np.asarray(geoms.values, dtype=object)
    return np.asarray(geoms.to_crs(crs).values, dtype=object)


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
        # escaped: the popup and tooltip templates put these into innerHTML; a text
        # value written once however many features share it (a commune's name, a status)
        done: dict[str, str] = {}
        values = []
        for v in gdf[c].tolist():
            text = done.get(v) if type(v) is str else None
            if text is None:
                text = _escape(_format_field(v, c, kind, dec, language).rstrip())
                if type(v) is str:
                    done[v] = text
            values.append(text)
        props[f"p{k}"] = values
        aliases.append(_escape((labels or {}).get(c) or _labels.label(c, language)))
    return pd.DataFrame(props, index=gdf.index), aliases


def _html_safe(text: str) -> str:
    """JSON text made safe in a ``<script>`` as Jinja's ``tojson`` makes it."""
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027"))


def _feature_collection(shown: gpd.GeoSeries, props: pd.DataFrame,
                        styles: Sequence[Mapping[str, Any]], precision: int
                        ) -> tuple[str, dict]:
    """The layer's GeoJSON FeatureCollection as text (safe in a script), and its outline.

    The text is written from the coordinate arrays (:mod:`geoagri._geojson`),
    transformed to EPSG:4326 as :meth:`geopandas.GeoSeries.to_crs` transforms
    them (without building the geometries anew) and rounded to ``precision``
    decimals; the outline is the same collection with each geometry's type
    only (no coordinates), for what folium checks.
    """
    import pyproj

    geoms = np.asarray(shown.values, dtype=object)
    transform = None
    if shown.crs is not None and not shown.crs.equals(pyproj.CRS.from_user_input(4326)):
        plain = np.isin(shapely.get_type_id(geoms), (-1, 0, 1, 3, 4, 5, 6))
        if plain.all() and not shapely.has_z(geoms).any():
            transform = _to_lonlat(shown.crs)
        else:  # a geometry collection or a ring (written by GEOS), a z: transformed first
            geoms = _in_crs(shown, 4326)
    shapes = geometry_texts(geoms, precision, transform=transform)
    keys = [str(k) for k in props.columns]
    columns = [props[k].tolist() for k in props.columns]
    # each feature's properties as json.dumps writes them, {"p0": ..., "style": {...}},
    # made safe in a script (each character on its own, so piece by piece): each
    # distinct text value, and each distinct style, encoded once
    pieces = []
    for key, column in zip(keys, columns, strict=True):
        head = f"{json.dumps(key)}: "
        if all(type(v) is str for v in column):
            text_of = {v: head + _html_safe(json.dumps(v)) for v in set(column)}
            pieces.append([text_of[v] for v in column])
        else:
            pieces.append([head + _html_safe(json.dumps(v)) for v in column])
    by_id: dict[int, str] = {}  # a style given for several features: one object
    by_value: dict[tuple, str] = {}
    style_texts = []
    for style in styles:
        text = by_id.get(id(style))
        if text is None:
            # keyed by type and repr: 1, 1.0 and True (0.0 and -0.0) are equal keys
            # but different JSON
            key = tuple((k, type(v), repr(v)) for k, v in style.items())
            text = by_value.get(key)
            if text is None:
                text = by_value[key] = '"style": ' + _html_safe(json.dumps(dict(style)))
            by_id[id(style)] = text
        style_texts.append(text)
    rows = list(zip(*columns, strict=True)) if columns else [()] * len(shapes)
    texts_of_rows = list(zip(*pieces, strict=True)) if pieces else [()] * len(shapes)
    texts, outline = [], []
    for shape, style, style_text, values, parts in zip(
            shapes, styles, style_texts, rows, texts_of_rows, strict=True):
        if shape is None:
            continue
        texts.append(f'{{"type":"Feature","properties":{{{", ".join([*parts, style_text])}}},'
                     f'"geometry":{shape}}}')
        kind = shape[9:shape.index('"', 9)]  # '{"type":"Polygon",...'
        outline.append({"type": "Feature", "properties": {
            **dict(zip(keys, values, strict=True)), "style": dict(style)},
            "geometry": {"type": kind}})
    return (f'{{"type":"FeatureCollection","features":[{",".join(texts)}]}}',
            {"type": "FeatureCollection", "features": outline})


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
    pane: str | None = None,
    interactive: bool = True,
    figures: pd.DataFrame | None = None,
    measure: bool = True,
) -> folium.GeoJson:
    """One layer of a map: a GeoDataFrame styled from feature properties.

    Each feature carries its own style (no per-feature ``style_function``)
    and a popup of its fields, labelled and formatted in ``language``.

    A polygon layer of more than ``max_features`` features (the parcels of a
    province) is shown aggregated, so that the page stays small and opens
    fast: one multipolygon per commune of ``communes`` × ``color_by`` class
    (with no communes: per square grid cell of ``grid_m`` × class), drawn on
    a grid of cells of ``simplify_m`` (larger for a large layer, so that the
    grid has at most 4 million cells: about 25 m for a province), gaps of
    one cell (bunds) closed, outlines simplified by a cell and rounded (see
    :mod:`geoagri._generalize`).  This display geometry covers the union of
    the features of each aggregate to within about a cell; it is never
    measured.  The layer's name says so (``"Thửa đất (gộp theo xã × loại
    đất)"``).  Each aggregate's popup gives the commune and the class, and
    the figures: those of ``figures`` (the results' own, as :func:`plan_map`
    passes them), else, with ``measure`` (a map of one layer, with no
    results), the number of features (each counted once, in the commune
    holding most of its area) and the exact area as
    :func:`geoagri.area.area_by_zone` measures it (invalid polygons repaired
    with ``make_valid``, features cut at commune borders, overlaps of one
    class counted once; the area outside every commune forms its own
    aggregates).  ``popup_fields``, ``tooltip_field`` and ``styles`` do not
    apply to an aggregated layer (``popup_fields=[]`` still means no popup).

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
    pane : str, optional
        Leaflet pane the features are drawn in (its points too); default
        Leaflet's overlay pane (markers: its marker pane).
    interactive : bool, default True
        ``False``: the features take no clicks or hovers (they reach the
        layers below), and have no popup or tooltip.
    figures : DataFrame, optional
        Figures of the aggregates of a large layer, from the results: one
        row per commune (``commune_id``; with no communes, ``cell``) ×
        ``color_by`` class, with ``area_ha`` and optionally ``n_parcels``
        (or ``n_features``).
    measure : bool, default True
        With no ``figures``, measure the aggregates' count and exact area
        (above); ``False`` (:func:`plan_map`, which draws results and
        computes no figure): the popups give the commune and class only.

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
        palette = _palette(gdf[color_by], colors or {})
    if len(gdf) > max_features and np.isin(
            shapely.get_type_id(np.asarray(gdf.geometry.values, dtype=object)), (3, 6)).all():
        return _placed(_aggregated_layer(
            gdf, name=name, color=color, color_by=color_by, colors=palette,
            no_popup=popup_fields is not None and len(popup_fields) == 0, labels=labels,
            language=language, show=show, weight=weight, fill_opacity=fill_opacity, dash=dash,
            simplify_m=simplify_m, precision=precision, communes=communes, grid_m=grid_m,
            crs=crs, figures=figures, measure=measure), pane, interactive)
    if not interactive:
        popup_fields, tooltip_field = [], None
    # rounded to ``precision`` decimals as the text is written (display_geometry's rounding)
    shown = _simplified(gdf, simplify_m=simplify_m, coverage=coverage, crs=crs)
    geoms = np.asarray(shown.values, dtype=object)
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
    if tooltip_field is None and interactive:
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
    text, outline = _feature_collection(shown, props, styles, precision)
    point = folium.CircleMarker(radius=6, fill=True) if (kinds == "point").any() else None
    layer = _GeoJson(  # the layer control shows the name as HTML
        text, outline, name=_escape(name), show=show, marker=point,
        popup=folium.GeoJsonPopup(fields=[f"p{k}" for k in range(len(cols))],
                                  aliases=aliases, localize=False, labels=True)
        if cols and outline["features"] else None,  # folium refuses fields of no feature
        tooltip=folium.GeoJsonTooltip(fields=[tip_key], labels=False)
        if tip_key is not None and outline["features"] else None,
    )
    return _placed(layer, pane, interactive)


class _GeoJson(folium.GeoJson):
    """folium's GeoJSON layer, its rendered script put in the page as text.

    folium puts each element's rendered header, HTML and script in the page
    as a new :class:`branca.element.Element`, which compiles the text as a
    Jinja template: for a layer, that is its whole GeoJSON (megabytes for a
    province), tokenised for nothing at every save (and a ``{{`` in a name
    would be read as a template).  This layer renders as folium's does
    (``GeoJson``, ``Layer`` and ``MacroElement.render``: the add-to-map
    call, the scripts it needs, then its parts) but puts its
    parts in as written.  No ``style_function`` is used here (styles are
    properties); with one, folium's own rendering runs.

    The features come as GeoJSON text (:func:`_feature_collection`), put in
    the page as it is, and an outline of them (their properties and geometry
    types), which is what folium's popup and tooltip check while the page is
    rendered.  ``data`` is the whole collection, read from the text when it is
    first asked for (the page never needs it as Python objects); once read, the
    page is written from it (so that a change made to it is on the page).
    """

    #: What ``data`` stands for in the script's template while it is rendered.
    _TOKEN = "geoagri-features-text"

    def __init__(self, text: str, outline: dict, **kwargs: Any) -> None:
        self._text: str | None = text
        self._outline = outline
        self._full: dict | None = None
        self._as: str | None = None  # while rendering: "token", "outline"
        super().__init__(outline, **kwargs)

    @property
    def data(self) -> Any:
        if self._as == "token":
            return self._TOKEN
        if self._as == "outline" or self._text is None:
            return self._outline
        if self._full is None:
            self._full = json.loads(self._text)
        return self._full

    @data.setter
    def data(self, value: Any) -> None:
        if value is not self._outline:  # another collection set: it is the layer's data
            self._outline, self._full, self._text = value, value, None

    def render(self, **kwargs: Any) -> None:
        import folium.elements
        import folium.utilities

        # folium's parts this relies on (folium ≥ 0.18); another folium renders as its own
        add_to = getattr(folium.elements, "ElementAddToElement", None)
        get_obj_in_upper_tree = getattr(folium.utilities, "get_obj_in_upper_tree", None)
        if get_obj_in_upper_tree is None:  # pragma: no cover
            add_to = None
        if self.style or self.highlight or add_to is None:  # pragma: no cover
            super().render(**kwargs)
            return

        self.parent_map = get_obj_in_upper_tree(self, folium.Map)
        if self.show:
            self.add_child(add_to(element_name=self.get_name(),
                                  element_parent_name=self._parent.get_name()),
                           name=self.get_name() + "_add")
        figure = self.get_root()
        for name, url in getattr(self, "default_js", []):
            figure.header.add_child(folium.JavascriptLink(url), name=name)
        for name, url in getattr(self, "default_css", []):
            figure.header.add_child(folium.CssLink(url), name=name)
        macros = self._template.module.__dict__
        features = self._text
        if features is not None and self._full is not None:  # read, perhaps changed
            features = _html_safe(json.dumps(self._full, separators=(",", ":")))
        try:
            self._as = "token" if features is not None else None
            token = json.dumps(self._TOKEN)
            for part in ("header", "html", "script"):
                macro = macros.get(part)
                if macro is not None:
                    text = str(macro(self, kwargs))
                    if features is not None and token in text:
                        text = text.replace(token, features, 1)
                    getattr(figure, part).add_child(_Inline(None, text), name=self.get_name())
            self._as = "outline"
            for child in self._children.values():
                child.render(**kwargs)
        finally:
            self._as = None


def _placed(layer: folium.GeoJson, pane: str | None, interactive: bool) -> folium.GeoJson:
    """The layer drawn in ``pane`` (its point markers too), clickable or not."""
    extra = {**({"pane": pane} if pane else {}),
             **({} if interactive else {"interactive": False})}
    layer.options.update(extra)
    if layer.marker is not None:
        layer.marker.options.update(extra)
    return layer


# --------------------------------------------------------------------------- aggregation


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
    used = distinct(shapely.STRtree(geoms).query(cells, predicate="intersects")[0])
    return cells[used], [f"{row[k] + 1}-{col[k] + 1}" for k in used]


def _cut(geoms: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geometries cut at the borders of non-overlapping units.

    Returns ``(piece, geometry index, unit index)`` with one piece per
    geometry × unit it has area in; unit ``len(units)`` is outside every unit.
    A geometry wholly inside a unit is its own piece (no intersection).
    """
    n, nu = len(geoms), len(units)
    gi, ui = shapely.STRtree(units).query(geoms)
    inside = shapely.contains_properly(prepared_copies(units)[ui], geoms[gi])
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


def _measured(geoms: np.ndarray, values: np.ndarray, codes: np.ndarray, classes: list[Any],
              units: np.ndarray, names: list[str], by: str | None, mcrs: Any
              ) -> tuple[np.ndarray, dict[int, float]]:
    """Number of features and exact area of each unit × class, for a map of one layer.

    Only :func:`map_layer` of a layer with no results to draw measures: the
    count of the features (each in the unit holding most of its area) and
    the area as :func:`geoagri.area.area_by_zone` measures it, by key
    ``unit * n_classes + class``.
    """
    from geoagri.area import area_by_zone

    geoms = _repaired(geoms)
    zones = gpd.GeoDataFrame({"_cls": values}, geometry=geoms, crs=mcrs)
    unit_frame = gpd.GeoDataFrame({"commune_id": np.arange(len(units)),
                                   "commune_name": names[:-1]}, geometry=units, crs=mcrs)
    table = area_by_zone(zones, unit_frame, by=["_cls"] if by is not None else [], crs=mcrs,
                         threads=n_threads(None))
    n_classes = max(1, len(classes))
    code_of = {v: k for k, v in enumerate(classes)}
    t_unit = table["commune_id"].astype(object).where(table["commune_id"].notna(), len(units))
    t_cls = ([code_of[None if pd.isna(v) else v] for v in table["_cls"]]
             if by is not None else [0] * len(table))
    exact = dict(zip(np.asarray(t_unit, dtype=np.int64) * n_classes
                     + np.asarray(t_cls, dtype=np.int64),
                     table["area_ha"].to_numpy(), strict=True))
    # each feature counted once, where most of it lies (about a local origin:
    # GEOS's overlay is faster on small coordinates than on UTM ones)
    b = shapely.total_bounds(geoms)
    origin = np.round([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2], -3)
    pieces, feat, unit = _cut(shapely.transform(geoms, lambda xy: xy - origin),
                              shapely.transform(units, lambda xy: xy - origin))
    key = unit * n_classes + codes[feat]
    area = shapely.area(pieces)
    order = np.lexsort((-area, feat))
    major = np.zeros(len(pieces), dtype=bool)
    major[order[np.r_[True, feat[order][1:] != feat[order][:-1]]]] = True
    count = np.bincount(key[major], minlength=(len(units) + 1) * n_classes)
    return count, exact


def _given(figures: pd.DataFrame, by: str | None, classes: list[Any], unit_ids: list[Any],
           keys: np.ndarray, n_classes: int) -> pd.DataFrame:
    """The results' figures of each aggregate (NaN where the results have none)."""
    id_col = "commune_id" if "commune_id" in figures.columns else "cell"
    need = [id_col, *([by] if by is not None else []), "area_ha"]
    missing = [c for c in need if c not in figures.columns]
    if missing:
        raise SchemaError(f"the parcels' figures lack column(s) {missing}; they need "
                          f"{need} (and optionally n_parcels), one row per commune × class")
    code_of = {None if pd.isna(v) else v: k for k, v in enumerate(classes)}
    unit_of = {str(v): k for k, v in enumerate(unit_ids)}
    f_unit = np.array([unit_of.get(str(v), len(unit_ids)) if not pd.isna(v) else len(unit_ids)
                       for v in figures[id_col]], dtype=np.int64)
    f_cls = (np.array([code_of.get(None if pd.isna(v) else v, -1) for v in figures[by]],
                      dtype=np.int64) if by is not None else np.zeros(len(figures), np.int64))
    table = figures.assign(_key=f_unit * n_classes + f_cls)[f_cls >= 0]
    cols = [c for c in ("n_parcels", "n_features", "area_ha") if c in table.columns]
    return table.groupby("_key")[cols].sum(min_count=1).reindex(keys)


def _aggregate(gdf: gpd.GeoDataFrame, by: str | None, communes: gpd.GeoDataFrame | None, *,
               grid_m: float, simplify_m: float, crs: Any, language: str,
               figures: pd.DataFrame | None = None, measure: bool = True
               ) -> tuple[gpd.GeoDataFrame, str]:
    """Polygons dissolved by commune (or grid cell) × class, for display.

    Returns a GeoDataFrame in the metric CRS with the unit's name
    (``commune_name`` or ``cell``), the class (column ``by``), the figures
    (``figures``' rows for the unit × class; else, with ``measure``, the
    number of features, each in the unit holding most of its area,
    ``n_parcels`` for a parcels layer, else ``n_features``, and the exact
    ``area_ha`` as :func:`geoagri.area.area_by_zone` measures it; else none),
    and the display geometry (:func:`geoagri._generalize.dissolved_on_grid`,
    never measured); and the name of the unit column.
    """
    t = _T[language]
    mcrs = metric_crs(communes if communes is not None else gdf, crs=crs)
    geoms = _in_crs(gdf.geometry, mcrs)
    if communes is not None:
        units = _in_crs(communes.geometry, mcrs)
        unit_col = "commune_name"
        src = next((c for c in ("commune_name", "commune_id") if c in communes.columns), None)
        names = (communes[src].tolist() if src is not None
                 else [str(k + 1) for k in range(len(units))])
        unit_ids = (communes["commune_id"].tolist() if "commune_id" in communes.columns
                    else names)
    else:
        units, names = _grid_cells(geoms, grid_m)
        unit_col = "cell"
        unit_ids = list(names)
    names = [*names, t["outside"]]
    values = (gdf[by].astype(object).where(gdf[by].notna(), None).to_numpy()
              if by is not None else np.full(len(gdf), None, dtype=object))
    codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=False)
    classes = [None if pd.isna(u) else u for u in uniques]
    ncls = max(1, len(classes))

    bounds = shapely.total_bounds(geoms)
    cell = grid_cell_m(bounds, simplify_m)
    keys, shown = dissolved_on_grid(geoms, codes, units, ncls, cell_m=cell, simplify_m=cell,
                                    bounds=bounds)
    u, c = np.divmod(keys, ncls)
    n_col = "n_parcels" if "parcel_id" in gdf.columns else "n_features"
    columns: dict[str, Any] = {unit_col: [names[k] for k in u]}
    if by is not None:
        columns[by] = [classes[k] for k in c]
    if figures is not None:
        given = _given(figures, by, classes, unit_ids, keys, ncls)
        for col in given.columns:
            columns[n_col if col in ("n_parcels", "n_features") else col] = \
                given[col].to_numpy()
    elif measure:
        count, exact = _measured(geoms, values, codes, classes, units, names, by, mcrs)
        columns[n_col] = count[keys]
        columns["area_ha"] = [float(exact.get(k, 0.0)) for k in keys]
    log.info("map layer: %d features drawn on a %.1f m grid", len(gdf), cell)
    out = gpd.GeoDataFrame(columns, geometry=shown, crs=mcrs)
    out.attrs["cell_m"] = cell
    return out, unit_col


def _aggregated_layer(gdf: gpd.GeoDataFrame, *, name: str, color: str, color_by: str | None,
                      colors: Mapping[Any, str] | None, no_popup: bool,
                      labels: Mapping[str, str] | None, language: str, show: bool,
                      weight: float | None, fill_opacity: float, dash: str | None,
                      simplify_m: float, precision: int, communes: gpd.GeoDataFrame | None,
                      grid_m: float, crs: Any, figures: pd.DataFrame | None,
                      measure: bool) -> folium.GeoJson:
    """A large polygon layer dissolved by commune (or grid cell) × class (see map_layer)."""
    t = _T[language]
    agg, unit_col = _aggregate(gdf, color_by, communes, grid_m=grid_m, simplify_m=simplify_m,
                               crs=crs, language=language, figures=figures, measure=measure)
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
    # decimals of a degree down to half a cell (a degree of latitude is 111 km):
    # 4 (11 m) on a province's 24.5 m grid, 5 (1.1 m) on a 5 m one
    cell = agg.attrs.get("cell_m", simplify_m)
    digits = max(0, math.ceil(-math.log10(max(cell, 1e-3) / 2 / 111_320)))
    return map_layer(agg, name=t["aggregated"].format(name=name, unit=unit), color=color,
                     color_by=color_by, colors=colors, popup_fields=[] if no_popup else cols,
                     labels=labels, tooltip_field="label", language=language, show=show,
                     weight=weight, fill_opacity=fill_opacity, dash=dash, simplify_m=0,
                     precision=min(precision, digits), max_features=max(len(agg), 1),
                     crs=agg.crs)


# --------------------------------------------------------------------------- legend


class _Panel(branca.element.MacroElement):
    """The layer control, the legend and the title box of a plan map.

    One Leaflet control (top right) lists the layers in collapsible groups
    (a group of seasons is exclusive: radio buttons), with the base maps;
    a second one below it (so it never covers the first) is the legend of
    the layers that are on, kept in step with the control; both collapse,
    and start collapsed on a screen narrower than 700 px.  A title box
    (bottom left) gives the title, year, date and source, above a metric
    scale bar.  Tile layers that fail to load (no network) are replaced by
    the basemap drawn from the plan's layers, with a note.

    Every text from data is set with ``textContent`` (never parsed as HTML),
    and the specification is JSON with ``<``, ``>`` and ``&`` escaped, so
    nothing in it can close the script.
    """

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>
        .geoagri-box {background: rgba(255,255,255,0.95); border-radius: 5px;
            box-shadow: 0 1px 6px rgba(0,0,0,0.3); font: 12px/1.35 Arial, Helvetica, sans-serif;
            color: #222; max-width: min(310px, calc(100vw - 80px)); clear: both;}
        .geoagri-box button.geoagri-toggle {display: block; width: 100%; border: 0;
            background: none; font: bold 12.5px Arial, Helvetica, sans-serif; color: #222;
            padding: 6px 10px; text-align: left; cursor: pointer; white-space: nowrap;}
        .geoagri-box button.geoagri-toggle::before {content: "\\25BE\\00A0";}
        .geoagri-box.geoagri-closed button.geoagri-toggle::before {content: "\\25B8\\00A0";}
        .geoagri-body {padding: 0 10px 6px; overflow-y: auto; max-height: 46vh;}
        .geoagri-legend .geoagri-body {max-height: 34vh;}
        .geoagri-closed .geoagri-body {display: none;}
        .geoagri-body details {margin: 2px 0;}
        .geoagri-body summary {font-weight: bold; cursor: pointer; padding: 2px 0;}
        .geoagri-body label {display: flex; align-items: center; gap: 5px; margin: 1px 0 1px 14px;
            cursor: pointer; font-weight: normal;}
        .geoagri-body label input {margin: 2px 0; flex: none;}
        .geoagri-legend b {display: block; margin: 5px 0 1px;}
        .geoagri-legend .geoagri-item {display: flex; align-items: center; gap: 6px;}
        .geoagri-legend i {display: inline-block; flex: none; width: 16px; height: 11px;
            border: 1px solid #777;}
        .geoagri-legend i.line {height: 0; border: 0; border-top: 3px solid;}
        .geoagri-legend i.dash {height: 0; border: 0; border-top: 3px dashed;}
        .geoagri-legend i.css {border-color: #777;}
        .geoagri-legend i.point {width: 10px; height: 10px; border-radius: 50%;
            border-color: #333; margin: 0 3px;}
        .geoagri-legend b.geoagri-hidden {display: none;}
        .geoagri-legend .geoagri-strong {font-weight: bold; margin: 5px 0 1px;}
        .geoagri-note {color: #555; font-style: italic; margin-top: 2px;}
        .geoagri-box.geoagri-search:not(.geoagri-closed) {width: auto;}
        .geoagri-search input {font: 12.5px Arial, Helvetica, sans-serif; border: 0;
            padding: 6px 8px; width: 210px; max-width: calc(100vw - 90px); border-radius: 5px;
            background: none;}
        .geoagri-title {padding: 4px 8px; max-width: min(400px, calc(100vw - 30px));}
        .geoagri-title b {font-size: 13px;}
        .geoagri-title .geoagri-warn {color: #a50026; font-weight: bold;}
        .geoagri-label {background: none; border: 0; white-space: nowrap;
            font: bold 11px Arial, Helvetica, sans-serif; color: #333;
            text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff;
            transform: translate(-50%, -50%); width: auto !important; height: auto !important;}
        .geoagri-box:not(.geoagri-closed) {width: min(300px, calc(100vw - 80px));}
        .leaflet-popup-content {font: 12.5px/1.35 Arial, Helvetica, sans-serif;}
        .leaflet-popup-content table {font-size: 12.5px; border-collapse: collapse;}
        .leaflet-popup-content th {text-align: left; padding: 1px 8px 1px 0; color: #555;}
        .leaflet-popup-content td {padding: 1px 0;}
        .leaflet-tooltip {font: 12px Arial, Helvetica, sans-serif;}
        .leaflet-interactive:focus {outline: none;}
        .geoagri-print a {display: flex; align-items: center; justify-content: center;}
        @media print {
            .leaflet-control-zoom, .leaflet-control-fullscreen, .leaflet-control-measure,
            .geoagri-search, .geoagri-print, .geoagri-layers, .geoagri-toggle {display: none;}
            .geoagri-legend .geoagri-body {max-height: none; overflow: visible;}
        }
        @media (max-width: 480px) {
            .geoagri-title {font-size: 10.5px;} .geoagri-title b {font-size: 11.5px;}
        }
        </style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var spec = {{ this.spec }};
            var W = spec.words;
            function el(tag, cls, parent, text) {
                var e = document.createElement(tag);
                if (cls) e.className = cls;
                if (text !== undefined && text !== null) e.textContent = text;
                if (parent) parent.appendChild(e);
                return e;
            }
            function box(cls, label, open) {
                var div = el("div", "geoagri-box " + cls + (open ? "" : " geoagri-closed"));
                var btn = el("button", "geoagri-toggle", div, label);
                btn.type = "button";
                btn.setAttribute("aria-expanded", open ? "true" : "false");
                btn.addEventListener("click", function () {
                    var closed = div.classList.toggle("geoagri-closed");
                    btn.setAttribute("aria-expanded", closed ? "false" : "true");
                });
                var body = el("div", "geoagri-body", div);
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return {div: div, body: body};
            }
            function control(position, div) {
                var c = L.control({position: position});
                c.onAdd = function () { return div; };
                c.addTo(map);
                return c;
            }
            var wide = window.innerWidth >= 700;

            // hatch patterns of the gaps (fill: url(#id) on their paths)
            var ns = "http://www.w3.org/2000/svg";
            var svg = document.createElementNS(ns, "svg");
            svg.setAttribute("width", "0"); svg.setAttribute("height", "0");
            svg.style.position = "absolute";
            var defs = document.createElementNS(ns, "defs");
            svg.appendChild(defs);
            spec.hatches.forEach(function (h) {
                var p = document.createElementNS(ns, "pattern");
                p.setAttribute("id", h.id);
                p.setAttribute("patternUnits", "userSpaceOnUse");
                p.setAttribute("width", "8"); p.setAttribute("height", "8");
                p.setAttribute("patternTransform", "rotate(" + h.angle + ")");
                var bg = document.createElementNS(ns, "rect");
                bg.setAttribute("width", "8"); bg.setAttribute("height", "8");
                bg.setAttribute("fill", h.color); bg.setAttribute("fill-opacity", "0.2");
                p.appendChild(bg);
                var lines = h.cross ? [[0, 0, 0, 8], [0, 0, 8, 0]] : [[0, 0, 0, 8]];
                lines.forEach(function (c) {
                    var l = document.createElementNS(ns, "line");
                    l.setAttribute("x1", c[0]); l.setAttribute("y1", c[1]);
                    l.setAttribute("x2", c[2]); l.setAttribute("y2", c[3]);
                    l.setAttribute("stroke", h.color); l.setAttribute("stroke-width", "3");
                    p.appendChild(l);
                });
                defs.appendChild(p);
            });
            document.body.appendChild(svg);

            // the basemap drawn from the plan's own layers
            var labels = spec.basemap.labels.map(function (p) {
                var span = el("span", null, null, p[2]);
                return L.marker([p[0], p[1]], {interactive: false, keyboard: false,
                    pane: "geoagri-labels",
                    icon: L.divIcon({className: "geoagri-label", html: span, iconSize: null})});
            });
            var basemap = L.layerGroup([window[spec.basemap.var]].concat(labels)).addTo(map);
            var entries = [];  // every toggled layer, in the control's order

            var panel = box("geoagri-layers", W.layers, wide);
            var legend = box("geoagri-legend", W.legend, wide);
            control("topright", panel.div);
            control("topright", legend.div);

            function row(parent, label, type, group, checked, onchange) {
                var lab = el("label", null, parent);
                var input = el("input", null, lab);
                input.type = type;
                if (group) input.name = group;
                input.checked = checked;
                el("span", null, lab, label);
                input.addEventListener("change", onchange);
                return input;
            }
            function drawLegend() {
                legend.body.textContent = "";
                var rank = function (e) { return spec.legend_order.indexOf(e.group); };
                entries.slice().sort(function (a, b) { return rank(a) - rank(b); }
                ).forEach(function (e) {
                    if (!map.hasLayer(e.layer) || !e.legend.length) return;
                    var sec = el("div", "geoagri-legend-section", legend.body);
                    var title = e.title || e.label;
                    // one symbol named like the layer: the row is the section's title
                    var single = e.legend.length === 1 && e.legend[0][1] === title;
                    el("b", single ? "geoagri-hidden" : null, sec, title);
                    e.legend.forEach(function (it) {
                        var r = el("div", "geoagri-item" + (single ? " geoagri-strong" : ""),
                                   sec);
                        var i = el("i", it[2], r);
                        if (it[2] === "line" || it[2] === "dash") i.style.borderTopColor = it[0];
                        else i.style.background = it[0];  // a colour, or a CSS hatch
                        el("span", null, r, it[1]);
                    });
                    if (e.note) el("div", "geoagri-note", sec, e.note);
                });
            }
            spec.groups.forEach(function (g, gi) {
                var d = el("details", "geoagri-group", panel.body);
                d.dataset.group = g.key;
                el("summary", null, d, g.title);
                var name = "geoagri-group-" + gi;
                if (g.key === "base") {
                    var tiles = spec.tiles.map(function (t) { return window[t.var]; });
                    var radios = [];
                    function useTile(k) {
                        tiles.forEach(function (t, j) {
                            if (j === k) map.addLayer(t); else map.removeLayer(t); });
                        radios.forEach(function (r, j) { r.checked = j === k; });
                    }
                    spec.tiles.forEach(function (t, k) {
                        radios.push(row(d, t.label, "radio", name, map.hasLayer(tiles[k]),
                                        function () { useTile(k); }));
                        // every visible tile settled and none loaded: no network
                        var loaded = 0, failed = 0;
                        tiles[k].on("tileload", function () { loaded += 1; });
                        tiles[k].on("tileerror", function () { failed += 1; });
                        tiles[k].on("load", function () {
                            if (loaded || !failed || !map.hasLayer(tiles[k])) return;
                            setTimeout(function () {  // after Leaflet's own handlers
                                useTile(-1);
                                offline.style.display = "block";
                            }, 0);
                        });
                    });
                    if (spec.tiles.length) {
                        radios.push(row(d, W.no_tiles, "radio", name, false,
                                        function () { useTile(-1); }));
                    }
                    entries.push({layer: basemap, label: spec.basemap.label,
                                  legend: spec.basemap.legend, group: "base"});
                    row(d, spec.basemap.label, "checkbox", null, true, function (e) {
                        if (e.target.checked) map.addLayer(basemap);
                        else map.removeLayer(basemap);
                        drawLegend();
                    });
                    d.open = wide;
                    return;
                }
                var exclusive = g.key === "models";
                var mine = g.layers.map(function (l) {
                    var e = {layer: window[l.var], label: l.label, legend: l.legend,
                             title: l.title, note: l.note, group: g.key};
                    entries.push(e);
                    return e;
                });
                if (exclusive) {
                    row(d, W.none, "radio", name, !mine.some(function (e) {
                        return map.hasLayer(e.layer); }), function () {
                        mine.forEach(function (e) { map.removeLayer(e.layer); });
                        drawLegend();
                    }).parentNode.className = "geoagri-none";
                }
                mine.forEach(function (e) {
                    row(d, e.label, exclusive ? "radio" : "checkbox", exclusive ? name : null,
                        map.hasLayer(e.layer), function (ev) {
                            if (exclusive) mine.forEach(function (o) {
                                if (o !== e) map.removeLayer(o.layer); });
                            if (ev.target.checked) map.addLayer(e.layer);
                            else map.removeLayer(e.layer);
                            drawLegend();
                        });
                });
                d.open = mine.some(function (e) { return map.hasLayer(e.layer); });
            });
            drawLegend();

            // search: a commune by name, a pump or proposed station by id
            var found = {};
            var decode = function (text) {  // the properties are HTML-escaped text
                return new DOMParser().parseFromString(text, "text/html")
                    .documentElement.textContent;
            };
            spec.search.forEach(function (s) {
                var entry = entries.filter(function (e) {
                    return e.layer === window[s.var]; })[0];
                window[s.var].eachLayer(function (f) {
                    var key = decode(String(f.feature.properties[s.key] || ""));
                    if (key && !(key in found)) found[key] = {feature: f, entry: entry};
                });
            });
            if (Object.keys(found).length) {
                var find = L.control({position: "topleft"});
                find.onAdd = function () {
                    var div = el("div", "geoagri-box geoagri-search");
                    var input = el("input", null, div);
                    input.type = "search";
                    input.placeholder = W.search;
                    input.setAttribute("aria-label", W.search);
                    input.setAttribute("list", "geoagri-search-list");
                    var list = el("datalist", null, div);
                    list.id = "geoagri-search-list";
                    Object.keys(found).sort().forEach(function (k) {
                        el("option", null, list).value = k; });
                    input.addEventListener("change", function () {
                        var hit = found[input.value.trim()];
                        if (!hit) return;
                        if (!map.hasLayer(hit.entry.layer)) {
                            map.addLayer(hit.entry.layer);
                            var box = Array.from(panel.body.querySelectorAll("label"))
                                .filter(function (l) {
                                    return l.textContent === hit.entry.label; })[0];
                            if (box) box.querySelector("input").checked = true;
                            drawLegend();
                        }
                        var f = hit.feature;
                        var at = f.getLatLng ? f.getLatLng() : f.getBounds().getCenter();
                        if (f.getLatLng) map.setView(at, Math.max(map.getZoom(), 14));
                        else map.fitBounds(f.getBounds(), {maxZoom: 15});
                        // the layer's popup is bound to the layer: open it as a click would
                        f.fire("click", {latlng: at}, true);
                    });
                    L.DomEvent.disableClickPropagation(div);
                    return div;
                };
                find.addTo(map);
            }

            // print: the map with its legend and title, without the controls
            var print = L.control({position: "topleft"});
            print.onAdd = function () {
                var div = el("div", "leaflet-bar geoagri-print");
                var a = el("a", null, div);
                var icon = document.createElementNS(ns, "svg");  // a printer
                icon.setAttribute("viewBox", "0 0 24 24");
                icon.setAttribute("width", "18"); icon.setAttribute("height", "18");
                icon.style.verticalAlign = "middle";
                var shape = document.createElementNS(ns, "path");
                shape.setAttribute("d", "M7 3h10v5H7zM4 9h16a1 1 0 0 1 1 1v6h-4v5H7v-5H3v-6" +
                                   "a1 1 0 0 1 1-1zm5 7v3h6v-3z");
                shape.setAttribute("fill", "#333");
                icon.appendChild(shape);
                a.appendChild(icon);
                a.href = "#"; a.title = W.print; a.setAttribute("role", "button");
                a.setAttribute("aria-label", W.print);
                L.DomEvent.on(a, "click", function (ev) {
                    L.DomEvent.preventDefault(ev);
                    legend.div.classList.remove("geoagri-closed");
                    window.print();
                });
                L.DomEvent.disableClickPropagation(div);
                return div;
            };
            print.addTo(map);

            // title, year, date and source above a metric scale bar
            L.control.scale({position: "bottomleft", metric: true, imperial: false}).addTo(map);
            var title = el("div", "geoagri-box geoagri-title");
            el("b", null, title, spec.title);
            el("div", null, title, spec.subtitle + " · " + spec.source);
            var offline = el("div", "geoagri-warn", title, W.offline_note);
            offline.style.display = "none";
            L.DomEvent.disableClickPropagation(title);
            control("bottomleft", title);
            if (spec.title) document.title = spec.title;
            if (spec.bounds) {  // the plan clear of the panels on a wide screen
                map.fitBounds(spec.bounds, {paddingTopLeft: [50, 10],
                    paddingBottomRight: [wide ? 330 : 10, wide ? 60 : 70]});
            }
        })();
        {% endmacro %}
        """)

    def __init__(self, *, groups: Sequence[Mapping[str, Any]], tiles: Sequence[Mapping[str, str]],
                 basemap: Mapping[str, Any], title: str, subtitle: str, source: str,
                 words: Mapping[str, str], hatches: Sequence[Mapping[str, Any]] = (),
                 bounds: list[list[float]] | None = None,
                 search: Sequence[Mapping[str, str]] = ()):
        super().__init__()
        self._name = "Panel"
        spec = {"groups": list(groups), "tiles": list(tiles), "basemap": dict(basemap),
                "title": title, "subtitle": subtitle, "source": source, "words": dict(words),
                "hatches": list(hatches), "bounds": bounds, "search": list(search),
                "legend_order": ["communes", "proposals", "water", "power", "models", "zones",
                                 "base"]}
        self.spec = _script_json(spec)


def _script_json(value: Any) -> str:
    """JSON to place inside a ``<script>``: ``<``, ``>`` and ``&`` as ``\\u`` escapes.

    Examples
    --------
    >>> _script_json({"name": "</script><b>"})
    '{"name": "\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(value, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


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
    """Text written in the page as is (no template): in a ``<tag>`` element, or bare."""

    _template = Template("")  # never rendered: no template compiled per element

    def __init__(self, tag: str | None, text: str):
        super().__init__()
        self._name = "Inline"
        self.tag, self.text = tag, text

    def render(self, **kwargs: Any) -> str:
        return self.text if self.tag is None else f"<{self.tag}>\n{self.text}\n</{self.tag}>"


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


def _bounds(frames: Sequence[gpd.GeoDataFrame]) -> list[list[float]] | None:
    boxes = [f.to_crs(4326).total_bounds for f in frames if len(f)]
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes:
        return None
    b = np.array(boxes)
    return [[float(b[:, 1].min()), float(b[:, 0].min())],
            [float(b[:, 3].max()), float(b[:, 2].max())]]


def _season_key(season: object) -> tuple[int, int, str]:
    """Sort key of a season label: the year it is harvested in, then the season.

    A winter–spring crop (``DX 2023-2024``) is harvested in the second year of
    its label, before the summer–autumn crop of that year (``HT 2024``).

    Examples
    --------
    >>> sorted(["HT 2024", "DX 2023-2024", "HT 2023", "DX 2022-2023"], key=_season_key)
    ['DX 2022-2023', 'HT 2023', 'DX 2023-2024', 'HT 2024']
    """
    text = str(season)
    years = re.findall(r"\d{4}", text)
    order = {"DX": 0, "HT": 1, "TD": 2, "TĐ": 2, "XH": 2, "MU": 3}
    return (int(years[-1]) if years else 0, order.get(text[:2].upper(), 4), text)


def _shape(gdf: gpd.GeoDataFrame) -> str:
    kinds = set(_geom_kind(np.asarray(gdf.geometry.values, dtype=object)))
    return "point" if kinds == {"point"} else "line" if kinds == {"line"} else "box"


def _with_commune_names(gdf: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer with the name of its commune: by ``commune_id``, else the commune it lies in."""
    if "commune_name" in gdf.columns or "commune_name" not in communes.columns or not len(gdf):
        return gdf
    names = communes.set_index(communes["commune_id"].astype(str))["commune_name"] \
        if "commune_id" in communes.columns else None
    if names is not None and "commune_id" in gdf.columns:
        found = gdf["commune_id"].astype(str).map(names.to_dict())
    else:
        where = gdf.geometry.to_crs(communes.crs).representative_point()
        hit = gpd.sjoin(gpd.GeoDataFrame(geometry=where), communes[["commune_name", "geometry"]],
                        how="left", predicate="within")
        found = hit[~hit.index.duplicated()]["commune_name"].reindex(gdf.index)
    cols = list(gdf.columns)
    at = next((k + 1 for k, c in enumerate(cols) if c in ("site_id", "pump_id")), 0)
    out = gdf.copy()
    out.insert(at, "commune_name", found.to_numpy())
    return out


def _basemap(plan: Any, communes: gpd.GeoDataFrame, t: Mapping[str, str], *,
             simplify_m: float, precision: int, mcrs: Any
             ) -> tuple[folium.GeoJson, list[list[Any]], list[tuple[str, str, str]]]:
    """A basemap drawn from the plan's own layers: commune borders, canals and roads,
    commune names at a point inside each commune (for a map with no tiles).

    Its lines are simplified by Douglas–Peucker without the topology check of
    :func:`display_geometry` (a tenth of its cost: 0.1 s for a province's
    borders; a simplified border may cross itself where it is narrower than
    ``simplify_m``, which a dashed line on the map does not show).
    """
    lines = [communes.geometry.boundary.to_numpy()]
    kinds = ["border"] * len(communes)
    legend = [(_styles.BOUNDARY, t["borders"], "line")]
    for _, works in _layers(plan, "works"):
        if "work_type" in works.columns:
            ways = works[works["work_type"].isin(["canal", "road"])
                         & np.isin(shapely.get_type_id(np.asarray(works.geometry.values,
                                                                  dtype=object)), (1, 5))]
            if len(ways):
                lines.append(_in_crs(ways.geometry, communes.crs))
                kinds += ways["work_type"].tolist()
                legend.append((_styles.CANAL, t["canals"], "line"))
    shown = _in_crs(gpd.GeoSeries(np.concatenate(lines), crs=communes.crs), mcrs)
    if simplify_m and simplify_m > 0:
        shown = shapely.simplify(shown, simplify_m, preserve_topology=False)
    styles = [{"color": _styles.BOUNDARY, "weight": 1.2, "opacity": 0.8, "dashArray": "4 3"}
              if k == "border" else {"color": _styles.CANAL, "weight": 1.5, "opacity": 0.9}
              for k in kinds]
    layer = map_layer(gpd.GeoDataFrame({"kind": kinds}, geometry=shown, crs=mcrs),
                      name=t["basemap"], styles=styles, popup_fields=[], simplify_m=0,
                      precision=precision, crs=mcrs, pane="geoagri-base", interactive=False,
                      show=False)
    layer.control = False
    labels = []
    if "commune_name" in communes.columns:
        at = communes.geometry.to_crs(mcrs).representative_point().to_crs(4326)
        labels = [[round(p.y, precision), round(p.x, precision), str(n)]
                  for p, n in zip(at, communes["commune_name"], strict=True) if not pd.isna(n)]
    return layer, labels, legend


def _hatch_css(missing: str) -> str:
    """A CSS background drawing the hatch of a gap (for the legend's swatch)."""
    angle, cross = _HATCHES[missing]
    c = GAP_COLORS[missing]
    one = f"repeating-linear-gradient({angle}deg, {c} 0 2px, transparent 2px 6px)"
    two = f", repeating-linear-gradient({-angle}deg, {c} 0 2px, transparent 2px 6px)"
    return one + (two if cross else "") + f", {c}33"


def _tile_layers(m: folium.Map, t: Mapping[str, str]) -> list[folium.TileLayer]:
    osm = folium.TileLayer("OpenStreetMap", name=t["osm"], overlay=False, control=False,
                           show=True)
    imagery = folium.TileLayer(
        "https://server.arcgisonline.com/ArcGIS/rest/services/World_Imagery/MapServer/tile/"
        "{z}/{y}/{x}", attr="Esri, Maxar, Earthstar Geographics", name=t["imagery"],
        overlay=False, control=False, show=False, max_zoom=19)
    for layer in (osm, imagery):
        layer.add_to(m)
    return [osm, imagery]


def plan_map(
    plan: Any,
    results: MapResults | Mapping[str, Any] | None = None,
    *,
    language: str = "vi",
    offline: bool = False,
    inline: bool = True,
    service_radius_m: float | None = None,
    min_gap_ha: float = DEFAULT_MIN_GAP_HA,
    title: str | None = None,
    source: str | None = None,
    date: str | None = None,
    simplify_m: float = 5.0,
    precision: int = 5,
    max_features: int = DEFAULT_MAX_FEATURES,
    parcels: bool = True,
) -> folium.Map:
    """A map of a plan for the People's Council: where infrastructure is missing, and what.

    The map opens on the question: the communes coloured by linkage
    coverage, the gaps coloured by what is missing (pump service, three-phase
    power, both), the pump stations and the power lines.  Every other layer
    is one click away in a grouped, collapsible layer control (those the
    plan has):

    * **Nền bản đồ**: OpenStreetMap or satellite imagery (online), and a
      basemap drawn from the plan's own layers (commune borders, canals and
      roads, commune names), which is all there is with no network;
    * **Xã**: communes by linkage coverage (linkage-zone area, overlaps
      counted once, as a % of the commune's area: the plan's
      :func:`~geoagri.indicators.linkage_by_commune` table, or the one the
      results carry), in up to 5 natural-breaks classes; parcels by land use
      (above ``max_features`` aggregated by commune × land use, see
      :func:`map_layer`);
    * **Vùng**: zones, one layer per kind and crop, coloured by kind;
    * **Mô hình**: models, one season at a time (newest first; a winter–spring
      season counts in the year it is harvested: DX 2023-2024 after HT 2023);
    * **Thủy lợi**: irrigation works by status, pump stations by status, and
      their service areas (the coverage's own when the results carry it,
      else circles of ``service_radius_m``; never clickable);
    * **Điện**: three-phase and other power lines;
    * **Đề xuất**, from ``results``: gaps (those under ``min_gap_ha`` left
      off and counted in a note), proposed pump stations (commune, area
      served, km of connection line, cost in tỷ/triệu đồng, ha per tỷ),
      proposed lines.

    Points are drawn above lines, lines above polygons (Leaflet panes), so a
    click reaches the pump, not the gap under it.  The legend lists every
    layer that is on (and follows the control); both collapse, and start
    collapsed on a narrow (phone) screen.  A title box gives the title, the
    plan's year, the date the map was made and the data source; the scale bar
    is metric; fullscreen and measure (m, ha) controls.

    The map computes no figure of its own: coverage, gap areas and site
    figures are the results' (``MapResults``), drawn as given.

    Parameters
    ----------
    plan : Plan
        A plan with a ``communes`` layer; other layer kinds are drawn when
        present.  Not modified.
    results : MapResults or dict, optional
        Gaps, proposed sites and lines, the linkage table, the pump service
        area (see :class:`MapResults`).
    language : {"vi", "en"}, default "vi"
        Language of the labels; numbers as ``23.865 ha``, ``112,4%`` (vi) or
        ``23,865 ha``, ``112.4%`` (en).
    offline : bool, default False
        No tile layers at all: the page makes no request (the basemap is the
        one drawn from the plan's layers).
    inline : bool, default True
        Inline Leaflet and the plugins' scripts and styles (from the
        ``folium-offline`` package) so that the saved HTML is self-contained
        and opens with no internet; ``False`` links them from CDNs.  With
        tiles and no network, the page switches to the plan's own basemap
        and says so.
    service_radius_m : float, optional
        Pump service radius, m (overrides the results' radius).
    min_gap_ha : float, default 0.1
        Gaps smaller than this (``area_ha`` of the gaps) are left off the map;
        the legend says how many.
    title, source, date : str, optional
        Title (default: a generic one and the plan's name), data source
        (default: the plan's name) and date (default: today, dd/mm/yyyy) of
        the title box.
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

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> m = plan_map(demo())
    >>> "Xã: tỷ lệ diện tích liên kết (%)" in layer_names(m)
    True
    >>> visible_layer_names(m)
    ['Xã: tỷ lệ diện tích liên kết (%)', 'Trạm bơm', 'Điện 3 pha', 'Điện 1 pha và khác']
    """
    import datetime

    _check_language(language)
    t = _T[language]
    res = MapResults.from_any(results)
    radius = service_radius_m or res.service_radius_m or plan.service.pump_radius_m
    communes = plan.only("communes")
    mcrs = plan.metric_crs
    common = {"language": language, "simplify_m": simplify_m, "precision": precision,
              "max_features": max_features, "communes": communes, "crs": mcrs,
              "measure": False}

    m = folium.Map(tiles=None, control_scale=False, prefer_canvas=False, zoom_snap=0.25)
    for pane, z, clickable in _PANES:
        folium.map.CustomPane(pane, z_index=z, pointer_events=clickable).add_to(m)
    tiles = [] if offline else _tile_layers(m, t)
    groups: dict[str, list[dict[str, Any]]] = {g: [] for g in _GROUPS}

    search: list[dict[str, str]] = []  # layers searched by their first popup field

    def add(group: str, layer: folium.GeoJson, legend: list[tuple[str, str, str]], *,
            legend_title: str | None = None, note: str | None = None,
            find: bool = False) -> None:
        layer.add_to(m)
        if find and layer._outline["features"]:
            search.append({"var": layer.get_name(), "key": "p0"})
        groups[group].append({"var": layer.get_name(), "label": html.unescape(layer.layer_name),
                              "legend": legend, "title": legend_title, "note": note})

    # the basemap from the plan's own layers
    base_layer, labels, base_legend = _basemap(plan, communes, t, simplify_m=simplify_m,
                                               precision=precision, mcrs=mcrs)
    base_layer.add_to(m)

    # communes: coverage choropleth
    choropleth = coverage_classes(plan, communes, res.linkage, language=language)
    cov = choropleth.table
    table = communes.drop(columns="geometry").assign(
        commune_area_ha=cov["commune_area_ha"], linkage_area_ha=cov["linkage_area_ha"],
        coverage_pct=cov["coverage_pct"], geometry=communes.geometry)
    table = gpd.GeoDataFrame(table, geometry="geometry", crs=communes.crs)
    styles = [{"color": _styles.BOUNDARY, "weight": 1, "fillColor": f, "fillOpacity": 0.75}
              for f in choropleth.fill()]
    cols = [c for c in ("commune_name", "district") if c in table.columns]
    cols += ["commune_area_ha", "linkage_area_ha", "coverage_pct"]
    cov_items = [(c, label, "box") for c, label in zip(choropleth.colors, choropleth.labels,
                                                        strict=True)]
    add("communes", map_layer(
        table, name=t["coverage_layer"], popup_fields=cols, styles=styles, coverage=True,
        tooltip_field="commune_name" if "commune_name" in cols else None,
        pane="geoagri-communes", **common), cov_items, legend_title=t["coverage_legend"],
        find=cols[0] == "commune_name")
    if parcels:
        for _, p in _layers(plan, "parcels"):
            by = "land_use" if "land_use" in p.columns else None
            colors = _palette(p[by], {}) if by else {}
            add("communes", map_layer(p, name=t["parcels"], show=False, weight=0.5,
                                      fill_opacity=0.5, color=_styles.PARCEL, color_by=by,
                                      colors=colors, pane="geoagri-areas",
                                      figures=res.parcel_areas, **common),
                _legend_items(list(colors), colors, "box", language, field=by) if by
                else [(_styles.PARCEL, t["parcels"], "box")])

    # zones by kind and crop, coloured by kind
    for _, zones in _layers(plan, "zones"):
        keys = [c for c in ("zone_kind", "crop") if c in zones.columns]
        parts_of = zones.groupby(keys, dropna=False, sort=True) if keys else [((), zones)]
        for i, (key, g) in enumerate(parts_of):
            key = key if isinstance(key, tuple) else (key,)
            parts = [_labels.value_label(v, language) for v in key if not pd.isna(v)]
            name = " – ".join(parts) if parts else t["zone"]
            kind = key[0] if "zone_kind" in keys else None
            color = _styles.color_of("zone_kind", kind) or _QUALITATIVE[i % len(_QUALITATIVE)]
            add("zones", map_layer(g, name=name, color=color, fill_opacity=0.35, weight=1.5,
                                   show=False, pane="geoagri-areas", **common),
                [(color, name, "box")])
    # models: one season at a time, newest first
    for _, models in _layers(plan, "models"):
        has = "season" in models.columns
        seasons = sorted(pd.unique(models["season"].dropna()).tolist() if has else [],
                         key=_season_key, reverse=True)
        parts = [(v, models[models["season"] == v]) for v in seasons]
        if not has or models["season"].isna().any():
            parts.append((None, models if not has else models[models["season"].isna()]))
        by = "support" if "support" in models.columns else None
        for i, (season, g) in enumerate(parts):
            name = f"{t['models']} {season}" if season is not None else t["models"]
            color = _QUALITATIVE[(i + 3) % len(_QUALITATIVE)]
            add("models", map_layer(g, name=name, color=color, color_by=by,
                                    colors=_styles.MODEL_SUPPORT, fill_opacity=0.55, weight=1,
                                    show=False, pane="geoagri-areas", **common),
                _legend_items(g[by], _styles.MODEL_SUPPORT, "box", language) if by
                else [(color, name, "box")])
    # irrigation: works by status, pumps by status, their service areas
    for _, works in _layers(plan, "works"):
        by = "status" if "status" in works.columns else None
        add("water", map_layer(works, name=t["works"], color_by=by, colors=STATUS_COLORS,
                               weight=4, show=False, pane="geoagri-lines", **common),
            [(STATUS_COLORS[s], _labels.value_label(s, language), _shape(works))
             for s in WORK_STATUSES] if by else [("#3388ff", t["works"], _shape(works))])
    for _, pumps in _layers(plan, "pumps"):
        if res.pump_service is not None and service_radius_m is None:
            circles = gpd.GeoDataFrame({"radius_m": [radius]}, geometry=gpd.GeoSeries(
                res.pump_service).to_crs(mcrs).to_numpy(), crs=mcrs)
        else:
            circles = gpd.GeoDataFrame(
                {"radius_m": [radius] * len(pumps)},
                geometry=pumps.geometry.to_crs(mcrs).buffer(radius, 32).to_numpy(), crs=mcrs)
        label = t["service"].format(r=f"{format_number(radius, language=language)} m")
        add("water", map_layer(circles, name=label, color=_styles.SERVICE_AREA,
                               fill_opacity=0.12, weight=1, show=False, pane="geoagri-service",
                               interactive=False, popup_fields=[], **common),
            [(_styles.SERVICE_AREA, label, "box")])
        by = "status" if "status" in pumps.columns else None
        shown = _with_commune_names(pumps, communes)
        add("water", map_layer(shown, name=t["pumps"], color_by=by, colors=PUMP_COLORS,
                               pane="geoagri-points", **common),
            _legend_items(pumps[by], PUMP_COLORS, "point", language) if by
            else [("#3388ff", t["pumps"], "point")], find="pump_id" in pumps.columns)
    # power lines: three-phase and other
    for _, power in _layers(plan, "power"):
        three = power["phases"] == 3 if "phases" in power else pd.Series(False, power.index)
        for mask, name, color, dash in ((three, t["power3"], THREE_PHASE_COLOR, None),
                                        (~three, t["power_other"], OTHER_POWER_COLOR, "6 4")):
            if mask.any():
                add("power", map_layer(power[mask], name=name, color=color,
                                       weight=3 if dash is None else 2, dash=dash,
                                       pane="geoagri-lines", **common),
                    [(color, name, "line" if dash is None else "dash")])
    # results: gaps by what is missing, proposals
    if res.gaps is not None and len(res.gaps):
        gaps, missing, note = drawn_gaps(res.gaps, min_gap_ha=min_gap_ha, language=language)
        fields = [c for c in ("missing", "commune_name", "zone_id", "zone_kind", "crop",
                              "area_ha", "reason") if c in gaps.columns]
        if len(gaps) or note:
            # hatched, so that the coverage of the commune shows through
            styles = [{"color": GAP_COLORS[v], "weight": 1.5, "opacity": 0.9,
                       "fillColor": f"url(#geoagri-hatch-{v})", "fillOpacity": 1.0}
                      for v in missing]
            present = [v for v in _HATCHES if v in set(missing)]
            add("proposals", map_layer(gaps, name=t["gaps"], styles=styles,
                                       pane="geoagri-gaps", popup_fields=fields, **common),
                [(_hatch_css(v), _labels.value_label(v, language, field="missing"), "css")
                 for v in present], note=note)
    if res.sites is not None and len(res.sites):
        sites = _with_commune_names(res.sites, communes)
        fields = [c for c in ("site_id", "commune_name", "covered_ha", "served_area_ha",
                              "connection_length_km", "length_km", "cost_vnd",
                              "ha_per_billion_vnd") if c in sites.columns]
        add("proposals", map_layer(sites, name=t["sites"], color=PROPOSAL_COLOR,
                                   popup_fields=fields, show=False, pane="geoagri-points",
                                   **common),
            [(PROPOSAL_COLOR, t["proposed_station"], "point")], find=fields[:1] == ["site_id"])
    if res.lines is not None and len(res.lines):
        add("proposals", map_layer(res.lines, name=t["lines"], color=PROPOSAL_COLOR, weight=4,
                                   dash="8 6", show=False, pane="geoagri-lines", **common),
            [(PROPOSAL_COLOR, t["lines"], "dash")])

    folium.plugins.Fullscreen(position="topleft").add_to(m)
    folium.plugins.MeasureControl(position="topleft", primary_length_unit="meters",
                                  secondary_length_unit="kilometers",
                                  primary_area_unit="hectares",
                                  secondary_area_unit="sqmeters").add_to(m)
    made = date or datetime.date.today().strftime("%d/%m/%Y")
    name = getattr(plan, "name", None)
    heading = title or (f"{t['title']}: {name}" if name else t["title"])
    lines = [t["year"].format(year=plan.year) if getattr(plan, "year", None) else None,
             t["made"].format(date=made)]
    _Panel(
        groups=[{"key": g, "title": t[f"g_{g}"], "layers": groups[g]} for g in _GROUPS
                if groups[g] or g == "base"],
        tiles=[{"var": tl.get_name(), "label": tl.tile_name} for tl in tiles],
        basemap={"var": base_layer.get_name(), "label": t["basemap"], "labels": labels,
                 "legend": base_legend},
        title=heading, subtitle=" · ".join(x for x in lines if x),
        source=t["source"].format(source=source or name or "geoagri"),
        words={k: t[k] for k in ("layers", "legend", "none", "no_tiles", "offline_note",
                                 "search", "print")},
        search=search,
        hatches=[{"id": f"geoagri-hatch-{k}", "color": GAP_COLORS[k], "angle": a, "cross": c}
                 for k, (a, c) in _HATCHES.items()],
        bounds=_bounds([communes]),
    ).add_to(m)
    m.get_root().title = _escape(heading)  # the page's <title>: text, never markup
    if inline or offline:
        _make_offline(m)
    else:  # linked from CDNs: the same files, so that the page looks the same
        m.default_js = [(n, u) for n, u in m.default_js if n not in _OFFLINE_SKIP]
        m.default_css = [(n, u) for n, u in m.default_css if n not in _OFFLINE_SKIP]
    return m


def _palette(values: pd.Series, colors: Mapping[Any, str]) -> dict[Any, str]:
    """``colors`` completed with a qualitative colour for each other value present."""
    palette = dict(colors)
    extra = iter(_QUALITATIVE * (1 + values.nunique() // len(_QUALITATIVE)))
    for v in pd.unique(values):
        if v not in palette:
            palette[v] = next(extra)
    return palette


def visible_layer_names(m: folium.Map) -> list[str]:
    """Names of the overlays that are on when the map opens.

    Examples
    --------
    >>> import folium
    >>> visible_layer_names(folium.Map(tiles=None))
    []
    """
    return [n for n, c in zip(layer_names(m), _overlays(m), strict=True) if c.show]


def _overlays(m: folium.Map) -> list[folium.map.Layer]:
    return [c for c in m._children.values()
            if isinstance(c, folium.map.Layer) and not isinstance(c, folium.TileLayer)
            and c.control and c.overlay]


def layer_map(gdf: gpd.GeoDataFrame, *, name: str = "layer", language: str = "vi",
              offline: bool = False, inline: bool = True, **options: Any) -> folium.Map:
    """A map of one layer (see :func:`map_layer` for ``options``).

    ``inline`` and ``offline`` as in :func:`plan_map`: self-contained by
    default, with OpenStreetMap tiles unless ``offline=True``.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> m = layer_map(demo()["pumps"], name="Trạm bơm", color_by="status")
    >>> layer_names(m)
    ['Trạm bơm']
    """
    m = folium.Map(tiles=None if offline else "OpenStreetMap", control_scale=False)
    map_layer(gdf, name=name, language=language, **options).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    _MetricScale().add_to(m)
    bounds = _bounds([gdf])
    if bounds:
        m.fit_bounds(bounds)
    if inline or offline:
        _make_offline(m)
    return m


class _MetricScale(branca.element.MacroElement):
    """A metric-only scale bar (Leaflet's default also shows miles)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({metric: true, imperial: false}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """)


def layer_names(m: folium.Map) -> list[str]:
    """Names of the map's overlays, as the layer control lists them.

    Examples
    --------
    >>> import folium
    >>> layer_names(folium.Map(tiles=None))
    []
    """
    return [html.unescape(c.layer_name) for c in _overlays(m)]
