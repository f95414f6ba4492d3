"""Export a plan's layers for QGIS, Google Earth, Excel, the web and PostGIS.

:func:`export_layers` writes every layer of a :class:`~geoagri.plan.Plan` (or
of a dict of frames) in one call:

============  ==========================================================
format        what is written
============  ==========================================================
``gpkg``      one GeoPackage with every layer, in the layers' own CRS,
              and QGIS styles (table ``layer_styles``, loaded by QGIS
              as each layer's default style)
``geojson``   a folder, one RFC 7946 file per layer (EPSG:4326)
``shapefile`` a folder, one zip per layer (UTF-8 with ``.cpg``; long
              field names shortened, ``<layer>_fields.csv`` maps them
              back, inside the zip and beside it)
``kml``       one KML for Google Earth (EPSG:4326), a folder per layer,
              placemarks named in Vietnamese and styled by status/kind
``kmz``       the same KML, zipped
``parquet``   a folder, one GeoParquet file per layer
PostGIS       a ``postgresql://`` target: one table per layer
              (see :mod:`geoagri.io.postgis`)
============  ==========================================================

Tables without geometry (``targets``) are written as UTF-8 CSV (with a BOM,
so that Excel shows Vietnamese text) beside the spatial layers, or as plain
tables in PostGIS.  Everything is first written into a temporary folder
beside the target and only then moved into place, so a failed export leaves
no half-written file.

Examples
--------
>>> import tempfile, pathlib
>>> from geoagri.datasets import demo
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> written = export_layers(demo(), out / "layers.gpkg")
>>> written["works"].name, written["targets"].name
('layers.gpkg', 'layers_targets.csv')
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import tempfile
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geoagri import _labels, _styles
from geoagri._gpkg_arrow import write_layer as write_gpkg_layer
from geoagri.errors import CRSError, GeoagriError, GeoagriWarning, OptionError
from geoagri.io import write_csv
from geoagri.schema import KINDS, spec
from geoagri.validate import kind_of

__all__ = ["FORMATS", "export_layers", "shapefile_field_names"]

log = logging.getLogger("geoagri")

#: The file formats :func:`export_layers` writes (PostGIS is chosen by the target).
FORMATS = ("gpkg", "geojson", "shapefile", "kml", "kmz", "parquet")

_SUFFIX_FORMATS = {".gpkg": "gpkg", ".kml": "kml", ".kmz": "kmz"}
_FOLDER_FORMATS = {"geojson", "shapefile", "parquet"}
_LANGUAGES = ("vi", "en")
_IF_EXISTS = ("replace", "fail")

#: Decimal places of GeoJSON coordinates (degrees): 1e-11° is about 1 µm,
#: which keeps the area of a 100 m² plot within 1e-6 (relative) of the source;
#: 7 decimals (GDAL's RFC 7946 default, about 1 cm) would not.
GEOJSON_PRECISION = 11

#: Shapefile (DBF) field names hold at most this many bytes.
DBF_NAME_BYTES = 10
_DBF_TEXT_BYTES = 254

_PG_TARGET = re.compile(r"^postgres(ql)?://", re.IGNORECASE)


# --------------------------------------------------------------------------- styles


@dataclass(frozen=True)
class _Category:
    value: str
    color: str  # "#rrggbb"
    vi: str
    en: str


@dataclass(frozen=True)
class _Style:
    column: str | None
    categories: tuple[_Category, ...]
    default: _Category


def _cat(value: str, color: str, *, key: str | None = None) -> _Category:
    """A category labelled like the value ``key`` (default: the value itself)."""
    labels = _labels.VALUES[key or value]
    return _Category(value, color, labels["vi"], labels["en"])


_OTHER = _cat("", _styles.OTHER, key="other")


def _cats(palette: Mapping[str, str], **keys: str) -> tuple[_Category, ...]:
    """The categories of a palette of geoagri._styles (labelled by ``keys``, else the value)."""
    return tuple(_cat(v, c, key=keys.get(v)) for v, c in palette.items())


#: How each kind (or result layer) is drawn: the column that picks the colour, and
#: the colours, which are the map's (geoagri._styles).
_STYLES: dict[str, _Style] = {
    "communes": _Style(None, (), _Category("", _styles.BOUNDARY, "Ranh giới xã",
                                           "Commune boundary")),
    "zones": _Style("zone_kind", _cats(_styles.ZONE_KIND), _OTHER),
    "models": _Style("support", _cats(_styles.MODEL_SUPPORT), _OTHER),
    "works": _Style("status", _cats(_styles.WORK_STATUS), _OTHER),
    "power": _Style("phases", _cats(_styles.PHASES, **{"3": "three_phase",
                                                        "1": "single_phase"}), _OTHER),
    "pumps": _Style("status", _cats(_styles.PUMP_STATUS), _OTHER),
    "cooperatives": _Style("coop_type", _cats(_styles.COOP_TYPE), _OTHER),
    "parcels": _Style(None, (), _Category("", _styles.PARCEL, "Thửa đất", "Parcel")),
    # the results of the coverage and siting analyses (layers of proposals.gpkg)
    "gaps": _Style("missing", tuple(
        _Category(v, c, *(_labels.value_label(v, lang, field="missing") for lang in ("vi", "en")))
        for v, c in _styles.GAP_MISSING.items()), _OTHER),
    "proposed_stations": _Style(None, (), _Category(
        "", _styles.PROPOSAL, "Trạm bơm đề xuất", "Proposed pump station")),
    "proposed_lines": _Style(None, (), _Category(
        "", _styles.PROPOSAL, "Tuyến điện 3 pha đề xuất", "Proposed three-phase line")),
}
_PLAIN = _Style(None, (), _Category("", "#ff7f00", "Đối tượng", "Feature"))
#: Layers styled by their name, whatever kind their columns suggest.
_BY_NAME = ("gaps", "proposed_stations", "proposed_lines")


def _title(kind: str | None, language: str) -> str | None:
    """The title of a layer kind (Google Earth folders, QGIS style descriptions)."""
    return _labels.layer_title(kind, language) if kind in _labels.LAYERS else None


def _field_label_vi(column: object) -> str | None:
    """A column's Vietnamese display name with its unit (KML balloons), if it has one."""
    name = str(column)
    return _labels.label(name, "vi", unit=True) if name in _labels.FIELDS else None


def _style_of(kind: str | None) -> _Style:
    return _STYLES.get(kind or "", _PLAIN)


def _style_key(name: str, kind: str | None) -> str | None:
    """What a layer is styled as: a result layer by its name, any other by its kind."""
    return name if name in _BY_NAME else kind


def _category_key(value: object) -> str | None:
    """The text a value is matched against a category with (3, 3.0 and '3' → '3')."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _rgba(color: str, alpha: int = 255) -> tuple[int, int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16), alpha


def _label(cat: _Category, language: str) -> str:
    return cat.vi if language == "vi" else cat.en


# ----------------------------------------------------------------------- QGIS (QML)

_GEOM_FAMILY = {"Point": "point", "MultiPoint": "point", "LineString": "line",
                "MultiLineString": "line", "LinearRing": "line", "Polygon": "polygon",
                "MultiPolygon": "polygon"}
_QGIS_GEOM_TYPE = {"point": "0", "line": "1", "polygon": "2"}
_QGIS_EXPR_TYPE = {"point": "Point", "line": "Line", "polygon": "Polygon"}


#: Shapely's geometry type ids → the names ``GeoSeries.geom_type`` gives.
_TYPE_NAMES = ("Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
               "MultiPolygon", "GeometryCollection")


def _geom_types(frame: gpd.GeoDataFrame) -> set[str]:
    """The geometry types present (``frame.geom_type``'s distinct values, missing left out).

    From shapely's type ids, distinct first: no name is made per feature.
    """
    ids = np.unique(shapely.get_type_id(np.asarray(frame.geometry.values, dtype=object)))
    return {_TYPE_NAMES[i] for i in ids.tolist() if i >= 0}


def _families(frame: gpd.GeoDataFrame) -> list[str]:
    """Geometry families present, in a fixed order (point, line, polygon)."""
    found = {_GEOM_FAMILY.get(t) for t in _geom_types(frame)}
    return [f for f in ("point", "line", "polygon") if f in found]


def _props(layer: ET.Element, props: Mapping[str, str]) -> None:
    """Symbol-layer properties, written both ways QGIS 3 reads them."""
    option = ET.SubElement(layer, "Option", type="Map")
    for k, v in props.items():
        ET.SubElement(option, "Option", name=k, value=v, type="QString")
    for k, v in props.items():
        ET.SubElement(layer, "prop", k=k, v=v)


def _qml_symbol(parent: ET.Element, name: str, family: str, color: str) -> None:
    r, g, b, _ = _rgba(color)
    qtype = {"point": "marker", "line": "line", "polygon": "fill"}[family]
    sym = ET.SubElement(parent, "symbol", type=qtype, name=name, alpha="1",
                        clip_to_extent="1", force_rhr="0")
    if family == "point":
        layer = ET.SubElement(sym, "layer", {"class": "SimpleMarker"}, pass_="0",
                              locked="0", enabled="1")
        _props(layer, {"name": "circle", "color": f"{r},{g},{b},255",
                       "outline_color": "35,35,35,255", "outline_width": "0.3",
                       "size": "3", "size_unit": "MM"})
    elif family == "line":
        layer = ET.SubElement(sym, "layer", {"class": "SimpleLine"}, pass_="0",
                              locked="0", enabled="1")
        _props(layer, {"line_color": f"{r},{g},{b},255", "line_width": "0.8",
                       "line_width_unit": "MM", "line_style": "solid"})
    else:
        layer = ET.SubElement(sym, "layer", {"class": "SimpleFill"}, pass_="0",
                              locked="0", enabled="1")
        _props(layer, {"color": f"{r},{g},{b},90", "outline_color": f"{r},{g},{b},255",
                       "outline_width": "0.4", "outline_width_unit": "MM",
                       "style": "solid", "outline_style": "solid"})
    for el in layer.iter("layer"):  # ElementTree cannot name an attribute "pass"
        el.attrib["pass"] = el.attrib.pop("pass_")


def _qml_option(parent: ET.Element, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, "Option", **attrs)


def _qml_fields(root: ET.Element, frame: gpd.GeoDataFrame, language: str) -> None:
    """Field aliases (the labels of geoagri._labels) and value maps (code → label).

    QGIS shows the label of each field, and of each vocabulary value present
    (``under_construction`` → "Đang thi công") in the attribute table and the
    identify panel; the data keep the codes.
    """
    columns = [c for c in frame.columns if c != frame.geometry.name]
    config = ET.SubElement(root, "fieldConfiguration")
    aliases = ET.SubElement(root, "aliases")
    for i, c in enumerate(columns):
        name = str(c)
        field = ET.SubElement(config, "field", name=name, configurationFlags="None")
        shown = (_labels.value_labels(frame[c].to_numpy(), language, field=name)
                 if frame[c].dtype == object else {})
        if shown:
            widget = ET.SubElement(field, "editWidget", type="ValueMap")
            top = _qml_option(ET.SubElement(widget, "config"), type="Map")
            listing = _qml_option(top, name="map", type="List")
            for v, lab in sorted(shown.items()):
                _qml_option(_qml_option(listing, type="Map"), name=lab, value=v, type="QString")
        else:
            ET.SubElement(ET.SubElement(field, "editWidget", type="TextEdit"), "config")
        alias = _labels.label(name, language, unit=True) if name in _labels.FIELDS else ""
        ET.SubElement(aliases, "alias", field=name, index=str(i), name=alias)


def _qml_labels(root: ET.Element, field: str) -> None:
    """Labels of a layer's features by a field (commune names), haloed."""
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    ET.SubElement(settings, "text-style", fieldName=field, isExpression="0", fontSize="9",
                  fontWeight="75", textColor="50,50,50,255", fontFamily="Arial")
    ET.SubElement(settings, "text-buffer", bufferDraw="1", bufferSize="1",
                  bufferColor="255,255,255,255", bufferSizeUnits="MM")
    ET.SubElement(settings, "placement", placement="1", fitInPolygonOnly="0")
    ET.SubElement(settings, "rendering", obstacle="1", displayAll="0")
    root.set("labelsEnabled", "1")


def _qml_escape_literal(value: str) -> str:
    return value.replace("'", "''")


def qgis_style(frame: gpd.GeoDataFrame, *, kind: str | None, language: str = "vi") -> str:
    """A QGIS style (QML document) for a layer: categories by status or kind.

    Single-type layers get a categorized renderer on the kind's column
    (works and pumps by ``status``, zones by ``zone_kind``, power by
    ``phases``, models by ``support``, cooperatives by ``coop_type``);
    layers mixing points and lines get a rule-based renderer whose rules also
    test the geometry type, so that each part QGIS opens draws correctly.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> qml = qgis_style(demo()["works"], kind="works")
    >>> 'type="RuleRenderer"' in qml, "Đang thi công" in qml
    (True, True)
    """
    style = _style_of(kind)
    families = _families(frame) or ["polygon"]
    cats = list(style.categories) if style.column in frame.columns else []
    root = ET.Element("qgis", version="3.28.0",
                      styleCategories="Symbology|Labeling|Fields|Forms")
    mixed = len(families) > 1
    if mixed:
        renderer = ET.SubElement(root, "renderer-v2", type="RuleRenderer", symbollevels="0",
                                 enableorderby="0", forceraster="0")
        rules = ET.SubElement(renderer, "rules", key="root")
        symbols = ET.SubElement(renderer, "symbols")
        n = 0
        for fam in families:
            geom_test = f"geometry_type($geometry) = '{_QGIS_EXPR_TYPE[fam]}'"
            suffix = {"point": "điểm", "line": "tuyến", "polygon": "vùng"}[fam] \
                if language == "vi" else fam
            if not cats:
                ET.SubElement(rules, "rule", key=f"rule{n}", symbol=str(n), filter=geom_test,
                              label=f"{_label(style.default, language)} ({suffix})")
                _qml_symbol(symbols, str(n), fam, style.default.color)
                n += 1
                continue
            group = ET.SubElement(rules, "rule", key=f"group{fam}", filter=geom_test,
                                  label=suffix)
            for cat in [*cats, style.default]:
                flt = "ELSE" if cat is style.default else (
                    f"to_string(\"{style.column}\") = '{_qml_escape_literal(cat.value)}'")
                ET.SubElement(group, "rule", key=f"rule{n}", symbol=str(n), filter=flt,
                              label=f"{_label(cat, language)} ({suffix})")
                _qml_symbol(symbols, str(n), fam, cat.color)
                n += 1
    elif cats:
        renderer = ET.SubElement(root, "renderer-v2", type="categorizedSymbol",
                                 attr=style.column or "", symbollevels="0",
                                 enableorderby="0", forceraster="0")
        categories = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        for i, cat in enumerate(cats):
            ET.SubElement(categories, "category", value=cat.value, symbol=str(i),
                          label=_label(cat, language), render="true")
            _qml_symbol(symbols, str(i), families[0], cat.color)
        i = len(cats)
        ET.SubElement(categories, "category", value="", symbol=str(i),
                      label=_label(style.default, language), render="true")
        _qml_symbol(symbols, str(i), families[0], style.default.color)
        source = ET.SubElement(renderer, "source-symbol")
        _qml_symbol(source, "0", families[0], style.default.color)
    else:
        renderer = ET.SubElement(root, "renderer-v2", type="singleSymbol", symbollevels="0",
                                 enableorderby="0", forceraster="0")
        symbols = ET.SubElement(renderer, "symbols")
        _qml_symbol(symbols, "0", families[0], style.default.color)
    if kind == "communes" and "commune_name" in frame.columns:
        _qml_labels(root, "commune_name")
    _qml_fields(root, frame, language)
    ET.SubElement(root, "layerGeometryType").text = _QGIS_GEOM_TYPE[families[0]]
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body


def _sld(name: str, title: str) -> str:
    """A minimal SLD naming the layer (QGIS reads the QML; the SLD is for other tools)."""
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<StyledLayerDescriptor version="1.0.0" xmlns="http://www.opengis.net/sld">'
            f"<NamedLayer><Name>{_xml_text(name)}</Name><UserStyle><Title>{_xml_text(title)}"
            "</Title></UserStyle></NamedLayer></StyledLayerDescriptor>")


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ------------------------------------------------------------------------ KML


def _kml_color(color: str, alpha: int = 255) -> str:
    r, g, b, a = _rgba(color, alpha)
    return f"{a:02x}{b:02x}{g:02x}{r:02x}"


_ICON = "https://maps.google.com/mapfiles/kml/shapes/placemark_circle.png"


def _kml_style(doc: ET.Element, style_id: str, color: str, *, fill: bool = True) -> None:
    st = ET.SubElement(doc, "Style", id=style_id)
    icon = ET.SubElement(st, "IconStyle")
    ET.SubElement(icon, "color").text = _kml_color(color)
    ET.SubElement(icon, "scale").text = "1.0"
    ET.SubElement(ET.SubElement(icon, "Icon"), "href").text = _ICON
    line = ET.SubElement(st, "LineStyle")
    ET.SubElement(line, "color").text = _kml_color(color)
    ET.SubElement(line, "width").text = "3"
    poly = ET.SubElement(st, "PolyStyle")
    ET.SubElement(poly, "color").text = _kml_color(color, 100)
    if not fill:  # boundaries only: imagery stays visible under them
        ET.SubElement(poly, "fill").text = "0"
    ET.SubElement(poly, "outline").text = "1"


def _coords(seq: Any) -> str:
    return " ".join(f"{x!r},{y!r}" for x, y in np.asarray(seq)[:, :2].tolist())


def _kml_geometry(parent: ET.Element, geom: shapely.Geometry) -> None:
    kind = geom.geom_type
    if kind == "Point":
        ET.SubElement(ET.SubElement(parent, "Point"), "coordinates").text = _coords(
            geom.coords)
    elif kind in ("LineString", "LinearRing"):
        el = ET.SubElement(parent, "LineString")
        ET.SubElement(el, "tessellate").text = "1"
        ET.SubElement(el, "coordinates").text = _coords(geom.coords)
    elif kind == "Polygon":
        el = ET.SubElement(parent, "Polygon")
        ET.SubElement(el, "tessellate").text = "1"
        outer = ET.SubElement(ET.SubElement(el, "outerBoundaryIs"), "LinearRing")
        ET.SubElement(outer, "coordinates").text = _coords(geom.exterior.coords)
        for ring in geom.interiors:
            inner = ET.SubElement(ET.SubElement(el, "innerBoundaryIs"), "LinearRing")
            ET.SubElement(inner, "coordinates").text = _coords(ring.coords)
    else:  # Multi* and GeometryCollection
        multi = ET.SubElement(parent, "MultiGeometry")
        for part in geom.geoms:
            _kml_geometry(multi, part)


def _kml_type(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_integer_dtype(dtype):
        values = series.dropna()
        small = values.empty or (values.abs().max() < 2**31)
        return "int" if small else "double"
    if pd.api.types.is_float_dtype(dtype):
        return "double"
    return "string"


def _kml_value(value: object, kml_type: str) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if kml_type == "bool":
        return "1" if bool(value) else "0"
    if kml_type == "int":
        return str(int(value))  # type: ignore[call-overload]
    if kml_type == "double":
        return repr(float(value))  # type: ignore[arg-type]
    return str(value)


def _first(row: Mapping[str, Any], *columns: str) -> str | None:
    for c in columns:
        v = row.get(c)
        if _category_key(v) is not None and str(v).strip():
            return str(v)
    return None


def _placemark_name(row: Mapping[str, Any], kind: str | None, id_column: str | None) -> str:
    """A readable (Vietnamese) name for a placemark without a ``name`` column."""
    ident = _first(row, id_column) if id_column else None
    if kind == "communes":
        return _first(row, "commune_name") or ident or ""
    if kind in ("zones", "models"):
        who = _first(row, "cooperative", "partner")
        crop = _first(row, "crop")
        crop = _labels.value_label(crop, "vi") if crop else None
        label = " – ".join(p for p in (ident, who) if p)
        return f"{label} ({crop})" if crop and label else label or crop or ""
    return ident or _first(row, "commune_name") or ""


def _kml_document(layers: Mapping[str, tuple[gpd.GeoDataFrame, str | None]],
                  title: str, language: str) -> bytes:
    ET.register_namespace("", "http://www.opengis.net/kml/2.2")
    kml = ET.Element("kml", xmlns="http://www.opengis.net/kml/2.2")
    doc = ET.SubElement(kml, "Document", id="root_doc")
    ET.SubElement(doc, "name").text = title
    for lname, (frame, kind) in layers.items():
        style = _style_of(_style_key(lname, kind))
        id_column = spec(kind).id_column if kind in KINDS else None
        has_name = "name" in frame.columns
        # columns the KML reader has its own fields for go where it reads them from
        own = {"name", "id", "description"} & set(frame.columns)
        data_cols = [c for c in frame.columns if c != frame.geometry.name and c not in own]
        types = {c: _kml_type(frame[c]) for c in data_cols}
        # one Document per layer holding its Schema and Styles: the layout GDAL writes
        # and reads back from both .kml and .kmz (a root-level Schema is lost in a .kmz)
        folder = ET.SubElement(doc, "Document", id=_xml_id(lname))
        ET.SubElement(folder, "name").text = lname
        cats = {c.value: c for c in style.categories} if style.column in frame.columns else {}
        legend = [f"<b>{_xml_text(_title(kind, language) or lname)}</b>"]
        for cat in [*cats.values()] or [style.default]:
            legend.append(f'<span style="color:{cat.color}">■</span> '
                          f"{_xml_text(_label(cat, language))}")
        ET.SubElement(folder, "description").text = "<br/>".join(legend)
        schema_id = f"{_xml_id(lname)}.schema"
        schema = ET.SubElement(folder, "Schema", name=lname, id=schema_id)
        for c in data_cols:
            field = ET.SubElement(schema, "SimpleField", name=str(c), type=types[c])
            label = _field_label_vi(c) if language == "vi" else None
            if label:
                ET.SubElement(field, "displayName").text = label
        style_ids = {}
        for cat in [*cats.values(), style.default]:
            sid = f"{_xml_id(lname)}-{_xml_id(cat.value or 'default')}"
            _kml_style(folder, sid, cat.color, fill=kind != "communes")
            style_ids[cat.value] = sid
        records = frame.drop(columns=frame.geometry.name).to_dict("records")
        for row, geom in zip(records, frame.geometry, strict=True):
            pm = ET.SubElement(folder, "Placemark")
            if _category_key(row.get("id")) is not None:
                pm.set("id", str(row["id"]))
            name = row.get("name") if has_name else _placemark_name(row, kind, id_column)
            if _category_key(name) is not None:
                ET.SubElement(pm, "name").text = str(name)
            if _category_key(row.get("description")) is not None:
                ET.SubElement(pm, "description").text = str(row["description"])
            key = _category_key(row.get(style.column)) if cats else None
            ET.SubElement(pm, "styleUrl").text = "#" + style_ids.get(
                key or "", style_ids[style.default.value])
            ext = ET.SubElement(ET.SubElement(pm, "ExtendedData"), "SchemaData",
                                schemaUrl="#" + schema_id)
            for c in data_cols:
                text = _kml_value(row[c], types[c])
                if text is not None:
                    ET.SubElement(ext, "SimpleData", name=str(c)).text = text
            if geom is not None and not geom.is_empty:
                _kml_geometry(pm, geom)
    ET.indent(kml, space=" ")
    body = ET.tostring(kml, encoding="utf-8", xml_declaration=False)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + _xml_chars(body)


#: Control characters XML 1.0 does not allow, even escaped (one byte each in UTF-8).
_NOT_XML = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml_chars(document: bytes) -> bytes:
    """A UTF-8 XML document with the control characters XML forbids made spaces.

    ElementTree escapes ``< > & "`` but writes a vertical tab or a NUL from a
    spreadsheet cell as is, and no XML reader (Google Earth, GDAL) opens the
    file then.  In UTF-8 these bytes never occur inside a multi-byte character.

    Examples
    --------
    >>> _xml_chars(b"<name>a\x0bb</name>")
    b'<name>a b</name>'
    """
    return _NOT_XML.sub(b" ", document)


def _xml_id(text: str) -> str:
    """An XML id made of ASCII letters, digits, '-' and '_' (starts with a letter)."""
    folded = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    ascii_ = "".join(c for c in folded if not unicodedata.combining(c))
    out = re.sub(r"[^A-Za-z0-9_-]", "_", ascii_)
    return out if out[:1].isalpha() else f"x{out}"


# ------------------------------------------------------------------- shapefile


def shapefile_field_names(columns: list[str]) -> dict[str, str]:
    """Shapefile field names (≤ 10 bytes, unique ignoring case) for columns.

    Names that fit are kept; longer ones are cut to 10 bytes (so that
    :func:`geoagri.io.read_layer` recognises canonical names cut this way),
    and a cut name already taken gets a numbered ending (``commune_~1``).

    Returns
    -------
    dict
        Column → field name, in the order of ``columns``.

    Examples
    --------
    >>> shapefile_field_names(["commune_id", "commune_name", "commune_nation"])
    {'commune_id': 'commune_id', 'commune_name': 'commune_na', 'commune_nation': 'commune_~1'}
    """
    def cut(name: str, nbytes: int) -> str:
        out = ""
        for ch in name:
            if len((out + ch).encode("utf-8")) > nbytes:
                break
            out += ch
        return out

    result: dict[str, str] = {}
    taken: set[str] = set()
    fitting = [c for c in columns if len(str(c).encode("utf-8")) <= DBF_NAME_BYTES]
    for c in fitting:
        taken.add(str(c).casefold())
    for c in columns:
        name = str(c)
        if c in fitting:
            result[c] = name
            continue
        short = cut(name, DBF_NAME_BYTES)
        n = 0
        while short.casefold() in taken:
            n += 1
            ending = f"~{n}"
            short = cut(name, DBF_NAME_BYTES - len(ending)) + ending
        taken.add(short.casefold())
        result[c] = short
    return {c: result[c] for c in columns}


# ---------------------------------------------------------------------- driver


def _kind_of(name: str, frame: pd.DataFrame, plan_kinds: Mapping[str, str]) -> str | None:
    if name in plan_kinds:
        return plan_kinds[name]
    recorded = frame.attrs.get("geoagri", {}).get("kind") if frame.attrs else None
    if recorded in KINDS:
        return str(recorded)
    if name in KINDS:
        return name
    with warnings.catch_warnings():  # an unknown kind is drawn with the default style
        warnings.simplefilter("ignore", GeoagriWarning)
        return kind_of(frame)


def _is_spatial(frame: pd.DataFrame) -> bool:
    if not isinstance(frame, gpd.GeoDataFrame):
        return False
    try:
        frame.geometry  # noqa: B018 (raises when there is no active geometry column)
    except AttributeError:
        return False
    return True


def _collect(plan_or_layers: Any) -> tuple[dict[str, pd.DataFrame], dict[str, str], str]:
    from geoagri.plan import Plan

    if isinstance(plan_or_layers, Plan):
        kinds = {n: s.kind for n, s in plan_or_layers.sources.items()}
        return dict(plan_or_layers.layers), kinds, plan_or_layers.name
    if isinstance(plan_or_layers, Mapping):
        layers = dict(plan_or_layers)
        bad = [str(n) for n, f in layers.items() if not isinstance(f, pd.DataFrame)]
        if bad:
            raise GeoagriError(
                f"export_layers: layer(s) {bad} are not DataFrames or GeoDataFrames; pass a "
                "Plan or a dict of layer name → GeoDataFrame")
        return layers, {}, "geoagri"
    raise GeoagriError(
        f"export_layers: expected a Plan or a dict of layer name → GeoDataFrame, got "
        f"{type(plan_or_layers).__name__}")


def _check_names(layers: Mapping[str, pd.DataFrame]) -> None:
    bad = [n for n in layers if not isinstance(n, str) or not n.strip()
           or re.search(r"[/\\:*?\"<>|\x00]", n) or n in (".", "..")]
    if bad:
        raise GeoagriError(
            f"export_layers: layer name(s) {bad} cannot be used as file or table names; use "
            "letters, digits, '_' or '-' (e.g. 'works_2024')")
    folded: dict[str, str] = {}
    for n in layers:
        if n.casefold() in folded:
            raise GeoagriError(
                f"export_layers: layers {folded[n.casefold()]!r} and {n!r} differ only in case; "
                "file systems and GeoPackage cannot tell them apart — rename one")
        folded[n.casefold()] = n


def _format_of(target: str | os.PathLike, fmt: str | None) -> str:
    if isinstance(target, str) and _PG_TARGET.match(target):
        if fmt not in (None, "postgis"):
            raise GeoagriError(
                f"export_layers: format={fmt!r} does not go with a postgresql:// target; "
                "leave format out (the target's scheme chooses PostGIS)")
        return "postgis"
    path = Path(target)
    by_suffix = _SUFFIX_FORMATS.get(path.suffix.lower())
    if fmt is None:
        if by_suffix:
            return by_suffix
        raise GeoagriError(
            f"export_layers: cannot tell the format from {path.name!r}; give a file ending in "
            f"{', '.join(_SUFFIX_FORMATS)}, a postgresql:// address, or a folder with "
            f"format= one of {', '.join(FORMATS)}")
    fmt = str(fmt).lower()
    if fmt in ("shp", "esri shapefile"):
        fmt = "shapefile"
    if fmt in ("geoparquet",):
        fmt = "parquet"
    if fmt not in FORMATS:
        raise GeoagriError(
            f"export_layers: unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt in _FOLDER_FORMATS and path.suffix.lower() in (".geojson", ".json", ".shp", ".zip",
                                                           ".parquet", ".gpkg", ".kml"):
        raise GeoagriError(
            f"export_layers: format={fmt!r} writes one file per layer into a folder, but the "
            f"target {path.name!r} looks like a file; give a folder, e.g. "
            f"{(path.parent / path.stem).as_posix()!r}")
    if by_suffix and by_suffix != fmt:
        raise GeoagriError(
            f"export_layers: the target {path.name!r} ends in {path.suffix!r} but "
            f"format={fmt!r}; make them agree")
    return fmt


def _to_4326(frame: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise CRSError(f"layer '{name}' has no CRS; set it with layer.set_crs(...) before "
                       "exporting (e.g. 'EPSG:9210' for VN-2000 TM-3 105°45')")
    return frame.to_crs("EPSG:4326")


def _plain_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with a fresh index (writers must not depend on the caller's index)."""
    out = frame.reset_index(drop=True)
    out.attrs = {}
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    geometry = [c for c in frame.columns if isinstance(frame[c].dtype, gpd.array.GeometryDtype)]
    write_csv(frame.drop(columns=geometry), path)


def _write_gpkg(spatial: Mapping[str, tuple[gpd.GeoDataFrame, str | None]], path: Path,
                language: str) -> None:
    styles = []
    for name, (frame, kind) in spatial.items():
        write_gpkg_layer(frame, path, layer=name, geometry_type=_gpkg_geometry_type(frame))
        geom_col = pyogrio.read_info(path, layer=name)["geometry_name"]
        title = _title(kind, language) or name
        styles.append({
            "f_table_catalog": "", "f_table_schema": "", "f_table_name": name,
            "f_geometry_column": geom_col, "styleName": name,
            "styleQML": qgis_style(frame, kind=_style_key(name, kind), language=language),
            "styleSLD": _sld(name, title), "useAsDefault": True,
            "description": f"geoagri: {title}", "owner": "", "ui": None,
            "update_time": pd.Timestamp.now(tz="UTC").floor("s").tz_localize(None),
        })
    if styles:
        pyogrio.write_dataframe(pd.DataFrame(styles), path, layer="layer_styles", driver="GPKG")


def _gpkg_geometry_type(frame: gpd.GeoDataFrame) -> str:
    types = _geom_types(frame)
    if len(types) == 1:
        return next(iter(types))
    if types and types <= {"Polygon", "MultiPolygon"}:
        return "MultiPolygon"
    if types and types <= {"LineString", "MultiLineString"}:
        return "MultiLineString"
    if types and types <= {"Point", "MultiPoint"}:
        return "MultiPoint"
    return "Unknown"


def _write_geojson(frame: gpd.GeoDataFrame, path: Path, name: str) -> None:
    pyogrio.write_dataframe(_to_4326(frame, name), path, layer=name, driver="GeoJSON",
                            layer_options={"RFC7946": "YES",
                                           "COORDINATE_PRECISION": str(GEOJSON_PRECISION),
                                           "WRITE_BBOX": "NO"})


def _write_shapefile_zip(frame: gpd.GeoDataFrame, folder: Path, name: str) -> Path:
    """One zip per layer; a layer mixing points and lines gives one .shp per type."""
    fields = shapefile_field_names([c for c in frame.columns if c != frame.geometry.name])
    _check_dbf_text(frame, name, fields)
    renamed = frame.rename(columns=fields)
    mapping = pd.DataFrame({"field": list(fields.values()), "column": list(fields)})
    work = folder / f".{_xml_id(name)}-parts"
    work.mkdir()
    family = frame.geom_type.map(_GEOM_FAMILY)
    odd = frame.geom_type[family.isna() & frame.geometry.notna()].unique().tolist()
    if odd:
        raise GeoagriError(
            f"layer '{name}': a Shapefile cannot hold {odd} geometries; explode them "
            "(layer.explode()) or export to GeoPackage")
    families = _families(frame) or ["none"]
    parts = []
    for i, fam in enumerate(families):
        part_name = name if len(families) == 1 else f"{name}_{fam}s"
        mask = family.eq(fam).to_numpy()
        if i == 0:  # features without geometry go with the first part (null shapes)
            mask = mask | frame.geometry.isna().to_numpy()
        part = renamed[mask]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Normalized/laundered field name")
            pyogrio.write_dataframe(part, work / f"{part_name}.shp", driver="ESRI Shapefile",
                                    layer_options={"ENCODING": "UTF-8"})
        parts.append(part_name)
    csv_name = f"{name}_fields.csv"
    write_csv(mapping, work / csv_name)
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(work.iterdir()):
            zf.write(p, p.name)
    os.replace(work / csv_name, folder / csv_name)
    shutil.rmtree(work)
    return archive


def _check_dbf_text(frame: gpd.GeoDataFrame, name: str, fields: Mapping[str, str]) -> None:
    """Warn when text is longer than a DBF field holds (254 bytes): it would be cut."""
    long = []
    for c in fields:
        if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c].dtype):
            sizes = frame[c].map(lambda v: len(v.encode("utf-8")) if isinstance(v, str) else 0)
            if (sizes > _DBF_TEXT_BYTES).any():
                long.append(str(c))
    if long:
        warnings.warn(
            f"layer '{name}': text in column(s) {long} is longer than the {_DBF_TEXT_BYTES} "
            "bytes a Shapefile field holds and is cut there; export to GeoPackage to keep it "
            "whole", GeoagriWarning, stacklevel=4)


def _write_parquet(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame.to_parquet(path, index=False, geometry_encoding="WKB", write_covering_bbox=False)


def _move_into_place(tmpdir: Path, dest_dir: Path) -> None:
    dest_dir.mkdir(parents=True, exist_ok=True)
    for part in sorted(tmpdir.iterdir()):
        if part.is_dir():
            continue
        os.replace(part, dest_dir / part.name)


def export_layers(
    plan_or_layers: Any,
    target: str | os.PathLike,
    *,
    format: str | None = None,
    language: str = "vi",
    schema: str | None = None,
    if_exists: str = "replace",
) -> dict[str, Any]:
    """Write layers for QGIS, Google Earth, Excel, the web or PostGIS.

    Parameters
    ----------
    plan_or_layers : Plan or dict of str to GeoDataFrame/DataFrame
        A :class:`~geoagri.plan.Plan` or layers by name.  Frames without
        geometry (``targets``) are written as CSV beside the spatial layers
        (as plain tables in PostGIS).  Nothing is modified.
    target : path or str
        A ``.gpkg``, ``.kml`` or ``.kmz`` file; a folder (with ``format=``
        ``"geojson"``, ``"shapefile"`` or ``"parquet"``); or a
        ``postgresql://user@host:port/db`` address.
    format : {"gpkg", "geojson", "shapefile", "kml", "kmz", "parquet"}, optional
        Defaults to the target's suffix (or PostGIS for ``postgresql://``).
    language : {"vi", "en"}, default "vi"
        Language of style labels (QGIS legends, Google Earth folders and
        balloon field names).  Column names and values are never translated.
    schema : str, optional
        PostGIS schema (default ``"public"``); only for PostGIS targets.
    if_exists : {"replace", "fail"}, default "replace"
        What to do when a file or table of the export exists already.

    Returns
    -------
    dict
        Layer name → where it went: the ``Path`` of the file holding it, or
        ``"schema.table"`` for PostGIS.  Shapefile layers mixing points and
        lines hold one ``.shp`` per geometry type (``works_points``,
        ``works_lines``) in their zip.

    Notes
    -----
    CRS: GeoPackage, Shapefile, GeoParquet and PostGIS keep each layer's CRS;
    GeoJSON (RFC 7946) and KML/KMZ are in EPSG:4326, GeoJSON coordinates
    rounded to :data:`GEOJSON_PRECISION` decimals (about 1 µm), KML
    coordinates not rounded.  Placemarks are named by the ``name`` column
    (works, power, pumps, cooperatives), the commune name, or id and
    cooperative (zones, models).

    Raises
    ------
    GeoagriError
        For an unknown format or language, a target that does not fit the
        format, unusable layer names, an existing target with
        ``if_exists="fail"``, or a write that failed (nothing is left
        behind then).
    CRSError
        If a spatial layer has no CRS.

    Examples
    --------
    >>> import tempfile, pathlib, pyogrio
    >>> from geoagri.datasets import demo
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> kmz = export_layers(demo(), out / "demo.kmz")["works"]
    >>> sorted(pyogrio.list_layers(kmz)[:, 0])[:3]
    ['communes', 'cooperatives', 'models']
    >>> paths = export_layers(demo(), out / "shp", format="shapefile")
    >>> paths["works"].name, (out / "shp" / "works_fields.csv").exists()
    ('works.zip', True)
    """
    layers, plan_kinds, title = _collect(plan_or_layers)
    if language not in _LANGUAGES:
        raise OptionError(f"export_layers: language={language!r}; use 'vi' or 'en'")
    if if_exists not in _IF_EXISTS:
        raise GeoagriError(f"export_layers: if_exists={if_exists!r}; use 'replace' or 'fail'")
    if not layers:
        raise GeoagriError("export_layers: there are no layers to export")
    _check_names(layers)
    fmt = _format_of(target, format)
    if fmt == "postgis":
        from geoagri.io.postgis import write_tables

        frames = {n: _plain_frame(f) for n, f in layers.items()}
        kinds = {n: _kind_of(n, f, plan_kinds) for n, f in layers.items()}
        return dict(write_tables(frames, str(target), schema=schema or "public",
                                 if_exists=if_exists, kinds=kinds))
    if schema is not None:
        raise GeoagriError("export_layers: schema= is for PostGIS targets only "
                           "(postgresql://…); leave it out for files")
    spatial: dict[str, tuple[gpd.GeoDataFrame, str | None]] = {}
    tables: dict[str, pd.DataFrame] = {}
    for name, frame in layers.items():
        if _is_spatial(frame):
            if frame.crs is None:
                _to_4326(frame, name)  # raises the CRSError
            spatial[name] = (_plain_frame(frame), _kind_of(name, frame, plan_kinds))
        else:
            tables[name] = _plain_frame(frame)
    path = Path(target)
    single = fmt in ("gpkg", "kml", "kmz")
    dest_dir = path.parent if single else path
    outputs = _planned_outputs(fmt, path, spatial, tables)
    if if_exists == "fail":
        existing = [p.name for p in set(outputs.values()) if p.exists()]
        if existing:
            raise GeoagriError(
                f"export_layers: {sorted(existing)} exist already in {dest_dir}; remove them or "
                "use if_exists='replace'")
    if path.exists() and single and path.is_dir():
        raise GeoagriError(f"export_layers: {path} is a folder; give a file name ending in "
                           f".{fmt}")
    if path.exists() and not single and not path.is_dir():
        raise GeoagriError(f"export_layers: {path} is a file; format={fmt!r} writes into a "
                           "folder — give a folder name")
    anchor = dest_dir if dest_dir.exists() else _existing_parent(dest_dir)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=anchor))
    try:
        try:
            _write_all(fmt, tmpdir, path, spatial, tables, title, language)
        except GeoagriError:
            raise
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
                pyogrio.errors.FieldError, pyogrio.errors.GeometryError, ValueError, TypeError,
                OSError, RuntimeError) as err:
            raise GeoagriError(
                f"export_layers: writing {fmt} to {path} failed, nothing was written: "
                f"{type(err).__name__}: {err}") from err
        _move_into_place(tmpdir, dest_dir)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    log.info("exported %d layers as %s to %s", len(layers), fmt, path)
    return {n: outputs[n] for n in layers}


def _existing_parent(folder: Path) -> Path:
    """The nearest existing ancestor (the temporary folder is made there)."""
    folder = folder.resolve()
    while not folder.exists():
        folder = folder.parent
    return folder


def _planned_outputs(fmt: str, path: Path, spatial: Mapping[str, Any],
                     tables: Mapping[str, Any]) -> dict[str, Path]:
    single = fmt in ("gpkg", "kml", "kmz")
    out: dict[str, Path] = {}
    for name in spatial:
        if single:
            out[name] = path
        else:
            suffix = {"geojson": ".geojson", "shapefile": ".zip", "parquet": ".parquet"}[fmt]
            out[name] = path / f"{name}{suffix}"
    for name in tables:
        out[name] = (path.parent / f"{path.stem}_{name}.csv") if single else path / f"{name}.csv"
    return out


def _write_all(fmt: str, tmpdir: Path, path: Path,
               spatial: Mapping[str, tuple[gpd.GeoDataFrame, str | None]],
               tables: Mapping[str, pd.DataFrame], title: str, language: str) -> None:
    if fmt == "gpkg":
        _write_gpkg(spatial, tmpdir / path.name, language)
    elif fmt in ("kml", "kmz"):
        in4326 = {n: (_to_4326(f, n), k) for n, (f, k) in spatial.items()}
        body = _kml_document(in4326, title, language)
        if fmt == "kml":
            (tmpdir / path.name).write_bytes(body)
        else:
            with zipfile.ZipFile(tmpdir / path.name, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("doc.kml", body)
    else:
        for name, (frame, _kind) in spatial.items():
            if fmt == "geojson":
                _write_geojson(frame, tmpdir / f"{name}.geojson", name)
            elif fmt == "parquet":
                _write_parquet(frame, tmpdir / f"{name}.parquet")
            else:
                _write_shapefile_zip(frame, tmpdir, name)
    single = fmt in ("gpkg", "kml", "kmz")
    for name, table in tables.items():
        _write_csv(table, tmpdir / (f"{path.stem}_{name}.csv" if single else f"{name}.csv"))
