"""Make a layer canonical once: columns, types, vocabularies, CRS, geometry.

:func:`canonicalize` is the one gate every layer passes through (the readers
in :mod:`geoagri.io` call it; so does :func:`geoagri.io.read_layer` when it is
handed a GeoDataFrame).  It collects every problem of the layer and raises one
:class:`~geoagri.errors.LayerError` listing them.  With ``repair=True`` invalid
geometries are repaired, each repair is reported (a
:class:`~geoagri.errors.GeoagriWarning` and a record in
``result.attrs["geoagri"]["repairs"]``) and nothing is dropped.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> raw = gpd.GeoDataFrame(
...     {"MA_XA": [27781], "TEN_XA": ["Xã Tuyên Bình"]},
...     geometry=[box(0, 0, 1000, 1000)], crs="EPSG:32648")
>>> communes = canonicalize(raw, "communes",
...                         rename={"MA_XA": "commune_id", "TEN_XA": "commune_name"})
>>> communes.loc[0, "commune_id"]
'27781'
>>> layer_info(communes)["kind"]
'communes'
"""

from __future__ import annotations

import logging
import math
import unicodedata
import warnings
from collections.abc import Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoagri._polygonal import polygonal as polygonal_parts
from geoagri.crs import require_crs
from geoagri.errors import CRSError, GeoagriWarning, LayerError, Problem
from geoagri.schema import Column, LayerSpec, canonical_season, spec

__all__ = ["canonicalize", "layer_info", "repairs"]

log = logging.getLogger("geoagri")

#: Shapefile (DBF) field names are cut to this many characters.
DBF_NAME_LENGTH = 10

_TRUE = {"true", "t", "yes", "y", "1", "x", "co", "có", "đúng", "dung"}
_FALSE = {"false", "f", "no", "n", "0", "khong", "không", "sai", ""}

_POLYGONAL = {"Polygon", "MultiPolygon"}


def layer_info(layer: pd.DataFrame) -> dict[str, Any]:
    """Return what geoagri recorded about a canonical layer.

    Keys: ``kind``, ``layer`` (its name), ``source`` (path or ``None``),
    ``encoding`` (text encoding found, for files), ``repairs`` (list of
    dicts, one per repaired feature).

    Examples
    --------
    >>> import pandas as pd
    >>> layer_info(pd.DataFrame())
    {}
    """
    return dict(layer.attrs.get("geoagri", {}))


def repairs(layer: pd.DataFrame) -> pd.DataFrame:
    """Return the repairs made to a layer's geometries as a table.

    Columns: ``id`` (the feature's id), ``problem`` (why it was invalid),
    ``action`` (what was done), ``area_before_ha`` and ``area_after_ha``
    (planar area in the layer's CRS units squared ÷ 10,000; NaN for
    geographic layers and non-polygons).

    Examples
    --------
    >>> import pandas as pd
    >>> repairs(pd.DataFrame()).columns.tolist()
    ['id', 'problem', 'action', 'area_before_ha', 'area_after_ha']
    """
    cols = ["id", "problem", "action", "area_before_ha", "area_after_ha"]
    return pd.DataFrame(layer_info(layer).get("repairs", []), columns=cols)


def _row_labels(frame: pd.DataFrame, id_column: str | None, mask: np.ndarray) -> list[str]:
    """Labels of the rows under ``mask``: their id, or ``row N`` without one."""
    labels = []
    positions = np.flatnonzero(mask)
    ids = frame[id_column] if id_column and id_column in frame.columns else None
    for pos in positions:
        value = None if ids is None else ids.iloc[pos]
        labels.append(f"row {pos}" if value is None or _isnull(value) else str(value))
    return labels


def _isnull(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _match_columns(
    frame: pd.DataFrame, layer_spec: LayerSpec, rename: Mapping[str, str] | None, name: str
) -> tuple[pd.DataFrame, list[Problem]]:
    """Apply ``rename``, then map case variants and DBF-truncated names."""
    problems: list[Problem] = []
    rename = dict(rename or {})
    missing_src = [src for src in rename if src not in frame.columns]
    if missing_src:
        problems.append(Problem(
            "rename", f"rename names column(s) {missing_src} that the layer does not have; "
            f"columns found: {[c for c in frame.columns if c != 'geometry']}",
            layer=name, fix="correct the source names in rename= (or the plan's rename map)"))
    frame = frame.rename(columns={k: v for k, v in rename.items() if k in frame.columns})
    present = set(frame.columns)
    auto: dict[str, str] = {}
    for canon in layer_spec.columns:
        if canon in present:
            continue
        candidates = [c for c in frame.columns if isinstance(c, str) and c not in auto
                      and c not in layer_spec.columns
                      and (c.casefold() == canon.casefold()
                           or (len(c) == DBF_NAME_LENGTH
                               and c.casefold() == canon[:DBF_NAME_LENGTH].casefold()))]
        if len(candidates) == 1:
            auto[candidates[0]] = canon
    if auto:
        log.info("layer %s: columns mapped to canonical names: %s", name, auto)
        frame = frame.rename(columns=auto)
    return frame, problems


def _objects(values: pd.Series) -> pd.Series:
    """An object Series whose missing values are ``None`` (not NaN or NA)."""
    return pd.Series([None if _isnull(v) else v for v in values], index=values.index,
                     dtype=object, name=values.name)


def _coerce_ids(values: pd.Series) -> pd.Series:
    """Ids as strings: 27781, 27781.0 and ' 27781 ' all become '27781'."""
    def one(v: object) -> object:
        if _isnull(v):
            return None
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        return unicodedata.normalize("NFC", str(v)).strip() or None
    return _objects(values.map(one))


def _coerce_column(
    frame: pd.DataFrame, col: Column, layer_spec: LayerSpec, name: str
) -> tuple[pd.Series, list[Problem]]:
    """Coerce one column to its dtype and check vocabulary and range."""
    raw = frame[col.name]
    problems: list[Problem] = []
    null = raw.isna().to_numpy()
    if col.dtype == "str" and col.vocabulary is None:
        out = _coerce_ids(raw)
        null = out.isna().to_numpy()
    elif col.dtype in ("float", "int"):
        out = pd.to_numeric(raw, errors="coerce")
        bad = out.isna().to_numpy() & ~null
        if bad.any():
            found = sorted({str(v) for v in raw[bad]})[:5]
            problems.append(Problem(
                "type", f"{bad.sum()} value(s) are not numbers (found {found})", layer=name,
                column=col.name, ids=_row_labels(frame, layer_spec.id_column, bad),
                fix=f"write plain numbers in {col.description or col.name}"))
        if col.dtype == "int":
            frac = (~out.isna()) & (out != np.round(out))
            if frac.any():
                problems.append(Problem(
                    "type", f"{int(frac.sum())} value(s) are not whole numbers", layer=name,
                    column=col.name, ids=_row_labels(frame, layer_spec.id_column, frac.to_numpy()),
                    fix="use whole numbers"))
            out = out.round().astype("Int64") if not frac.any() else out
        else:
            out = out.astype(float)
        for bound, cmp, word in ((col.minimum, np.less, "below"),
                                 (col.maximum, np.greater, "above")):
            if bound is None:
                continue
            off = cmp(out.to_numpy(dtype=float, na_value=np.nan), bound)
            if off.any():
                code = "negative" if bound == 0 and word == "below" else "range"
                found = sorted({float(v) for v in out[off]})[:5]
                problems.append(Problem(
                    code, f"{int(off.sum())} value(s) {word} {bound:g} (found {found})",
                    layer=name, column=col.name,
                    ids=_row_labels(frame, layer_spec.id_column, off),
                    fix=f"{col.name} must be between {col.minimum} and {col.maximum}"
                    if col.maximum is not None else f"{col.name} must be ≥ {col.minimum:g}"))
    elif col.dtype == "bool":
        def to_bool(v: object) -> object:
            if _isnull(v):
                return None
            if isinstance(v, bool | np.bool_):
                return bool(v)
            key = str(v).strip().casefold()
            return True if key in _TRUE else False if key in _FALSE else "?"
        out = raw.map(to_bool)
        bad = (out == "?").to_numpy()
        if bad.any():
            problems.append(Problem(
                "type", f"values that are not yes/no: {sorted({str(v) for v in raw[bad]})[:5]}",
                layer=name, column=col.name, ids=_row_labels(frame, layer_spec.id_column, bad),
                fix="use true/false, yes/no, 1/0 or có/không"))
        out = _objects(out.where(~bad, None))
    elif col.dtype == "season":
        out = raw.map(lambda v: None if _isnull(v) else canonical_season(str(v)) or "?")
        bad = (out == "?").to_numpy()
        if bad.any():
            problems.append(Problem(
                "vocabulary", f"seasons not understood: {sorted({str(v) for v in raw[bad]})[:5]}",
                layer=name, column=col.name, ids=_row_labels(frame, layer_spec.id_column, bad),
                fix="write seasons as 'DX 2023-2024', 'HT 2024' or 'TD 2024' "
                    "(Đông Xuân, Hè Thu, Thu Đông)"))
        out = _objects(out.where(~bad, None))
    else:  # str with a vocabulary
        out = raw.map(lambda v: None if _isnull(v) else col.canonical_value(v) or "?")
        bad = (out == "?").to_numpy()
        if bad.any():
            problems.append(Problem(
                "vocabulary",
                f"unknown value(s) {sorted({str(v) for v in raw[bad]})[:5]}; "
                f"allowed: {', '.join(col.vocabulary or ())}",
                layer=name, column=col.name, ids=_row_labels(frame, layer_spec.id_column, bad),
                fix="use one of the allowed values (Vietnamese equivalents are accepted)"))
        out = _objects(out.where(~bad, None))
    if col.required:
        still_null = out.isna().to_numpy() & null
        if still_null.any():
            problems.append(Problem(
                "missing_value", f"{int(still_null.sum())} row(s) have no value", layer=name,
                column=col.name, ids=_row_labels(frame, layer_spec.id_column, still_null),
                fix=f"fill in {col.name} ({col.description})"))
    return out, problems


def _check_geometry(
    frame: gpd.GeoDataFrame, layer_spec: LayerSpec, name: str, repair: bool
) -> tuple[gpd.GeoSeries, list[Problem], list[dict[str, Any]]]:
    """Null, empty, invalid and wrong-type geometries; repair when asked."""
    geoms = frame.geometry.array
    values = np.asarray(shapely.force_2d(np.asarray(geoms, dtype=object)))
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    idc = layer_spec.id_column
    null = shapely.is_missing(values)
    if null.any():
        problems.append(Problem(
            "null_geometry", f"{int(null.sum())} feature(s) have no geometry", layer=name,
            ids=_row_labels(frame, idc, null),
            fix="draw the geometry or remove the feature from the source"))
    empty = shapely.is_empty(values) & ~null
    if empty.any():
        problems.append(Problem(
            "empty_geometry", f"{int(empty.sum())} feature(s) have an empty geometry",
            layer=name, ids=_row_labels(frame, idc, empty),
            fix="draw the geometry or remove the feature from the source"))
    present = ~null & ~empty
    invalid = present & ~shapely.is_valid(values)
    if invalid.any():
        reasons = shapely.is_valid_reason(values[invalid])
        labels = _row_labels(frame, idc, invalid)
        if not repair:
            problems.append(Problem(
                "invalid_geometry", f"{int(invalid.sum())} invalid geometr"
                f"{'y' if invalid.sum() == 1 else 'ies'}: "
                + "; ".join(f"{lab}: {r}"
                            for lab, r in list(zip(labels, reasons, strict=True))[:5]),
                layer=name, ids=labels,
                fix="pass repair=True (or repair = true in the plan) to repair them with "
                    "shapely.make_valid, each repair reported; or fix them in QGIS"))
        else:
            fixed = shapely.make_valid(values[invalid])
            polygonal = bool(set(layer_spec.geometry_types or ()) & _POLYGONAL)
            if polygonal:
                fixed = polygonal_parts(np.asarray(fixed, dtype=object))
            projected = frame.crs is not None and frame.crs.is_projected
            unfixable = []
            for lab, reason, before, after in zip(labels, reasons, values[invalid], fixed,
                                                  strict=True):
                if after is None or after.is_empty:
                    unfixable.append(lab)
                    continue
                records.append({
                    "id": lab, "problem": reason, "action": "make_valid",
                    "area_before_ha": before.area / 1e4 if projected and polygonal else np.nan,
                    "area_after_ha": after.area / 1e4 if projected and polygonal else np.nan,
                })
            values = values.copy()
            values[invalid] = fixed
            if unfixable:
                problems.append(Problem(
                    "invalid_geometry", f"{len(unfixable)} invalid geometries collapse to "
                    "nothing when repaired (e.g. a polygon drawn as a line)", layer=name,
                    ids=unfixable, fix="redraw them or remove them from the source"))
    allowed = set(layer_spec.geometry_types or ())
    types = shapely.get_type_id(values)
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)
    tnames = np.where(types >= 0, names[np.clip(types, 0, 7)], None)
    wrong = present & ~np.isin(tnames, list(allowed))
    if wrong.any():
        problems.append(Problem(
            "geometry_type", f"{int(wrong.sum())} feature(s) are "
            f"{sorted(set(tnames[wrong]))}, expected {sorted(allowed)}", layer=name,
            ids=_row_labels(frame, idc, wrong),
            fix=f"a {layer_spec.kind} layer holds {'/'.join(sorted(allowed))} geometries"))
    return gpd.GeoSeries(values, index=frame.index, crs=frame.crs), problems, records


def canonicalize(
    data: pd.DataFrame,
    kind: str,
    *,
    layer: str | None = None,
    rename: Mapping[str, str] | None = None,
    crs: Any = None,
    repair: bool = False,
    source: str | None = None,
    encoding: str | None = None,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Check a layer against its kind's spec and return its canonical form.

    Parameters
    ----------
    data : GeoDataFrame or DataFrame
        The layer as read (a DataFrame for ``targets``).  Not modified.
    kind : str
        Layer kind, one of :data:`geoagri.schema.KINDS`.
    layer : str, optional
        Name used in messages (the plan's layer name); defaults to ``kind``.
    rename : mapping, optional
        The user's column names → canonical names, applied first.  After it,
        case variants (``Commune_ID``) and Shapefile-truncated names
        (``commune_na``) are mapped automatically when unambiguous.
    crs : CRS-like, optional
        CRS to set when the data has none (an error if it has another).
    repair : bool, default False
        Repair invalid geometries with ``shapely.make_valid`` (polygon layers
        keep the polygonal part) and report each repair.
    source, encoding : str, optional
        Recorded in ``attrs["geoagri"]`` (set by the readers).

    Returns
    -------
    GeoDataFrame or DataFrame
        A new frame: canonical columns first (id column first), extra
        columns kept, ids as strings, vocabularies canonical, numbers typed,
        2-D geometries in the input CRS (or ``crs``), text in Unicode NFC,
        and ``attrs["geoagri"]`` = ``{"kind", "layer", "source", "encoding",
        "repairs"}``.

    Raises
    ------
    LayerError
        With every problem found: missing columns (listing the columns
        found), missing or duplicate ids, values that are not numbers,
        out-of-vocabulary or negative values, null, empty, invalid or
        wrong-type geometries, a missing or contradictory CRS.

    Warns
    -----
    GeoagriWarning
        When geometries were repaired (one warning listing them).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> raw = gpd.GeoDataFrame({"pump_id": ["P1", "P1"], "status": ["hoạt động", "??"]},
    ...                        geometry=[Point(0, 0), None], crs="EPSG:32648")
    >>> try:
    ...     canonicalize(raw, "pumps", layer="pumps")
    ... except LayerError as err:
    ...     sorted(err.codes)
    ['duplicate_id', 'null_geometry', 'vocabulary']
    """
    layer_spec = spec(kind)
    name = layer or kind
    frame = data.copy()
    frame.columns = [unicodedata.normalize("NFC", c) if isinstance(c, str) else c
                     for c in frame.columns]
    frame, problems = _match_columns(frame, layer_spec, rename, name)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in layer_spec.columns:
        problems.append(Problem("schema", f"the geometry column is named "
                                f"{frame.geometry.name!r}", layer=name))
    missing = [c for c in layer_spec.required if c not in frame.columns]
    if missing:
        found = [c for c in frame.columns if c != "geometry"]
        problems.append(Problem(
            "missing_column", f"required column(s) {missing} missing; columns found: {found}",
            layer=name, fix="rename your columns with rename={'your name': 'canonical name'} "
            "(or the plan's rename map); docs/layers.md lists every kind's columns"))
    frame = frame.reset_index(drop=True)
    # text: NFC everywhere, so that names compare equal whatever the input form
    geometry_name = getattr(frame, "_geometry_column_name", None)
    for c in frame.columns:
        if c != geometry_name and (frame[c].dtype == object
                                   or pd.api.types.is_string_dtype(frame[c].dtype)):
            frame[c] = frame[c].map(
                lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v
            ).astype(object)
    idc = layer_spec.id_column
    if idc and idc in frame.columns:
        frame[idc] = _coerce_ids(frame[idc])
        nulls = frame[idc].isna().to_numpy()
        if nulls.any():
            problems.append(Problem(
                "missing_id", f"{int(nulls.sum())} feature(s) have no {idc}", layer=name,
                column=idc, ids=_row_labels(frame, None, nulls),
                fix=f"give every feature a unique {idc}"))
        dup = frame[idc].duplicated(keep=False).to_numpy() & ~nulls
        if dup.any():
            values = sorted(set(frame.loc[dup, idc]))
            problems.append(Problem(
                "duplicate_id",
                f"duplicate {idc}: {len(values)} value(s) used by more than one feature",
                layer=name, column=idc, ids=values, fix=f"make {idc} unique"))
    for col in layer_spec.columns.values():
        if col.name in frame.columns and col.name != idc:
            frame[col.name], found = _coerce_column(frame, col, layer_spec, name)
            problems += found
    if not idc and layer_spec.key_columns:
        keys = [c for c in layer_spec.key_columns if c in frame.columns]
        dup = frame.duplicated(subset=keys, keep=False).to_numpy()
        if dup.any():
            problems.append(Problem(
                "duplicate_id", f"{int(dup.sum())} rows repeat the same "
                f"{' × '.join(keys)}", layer=name, ids=_row_labels(frame, None, dup),
                fix="each target must be given once per indicator, scope, period and source"))
    records: list[dict[str, Any]] = []
    if layer_spec.has_geometry:
        if not isinstance(frame, gpd.GeoDataFrame) or frame._geometry_column_name not in frame:
            problems.append(Problem(
                "no_geometry", "the layer has no geometry", layer=name,
                fix="read a spatial file, or a table with lon/lat or x/y columns"))
            raise LayerError(name, problems)
        try:
            frame = require_crs(frame, layer=name, crs=crs)
        except CRSError as err:
            problems.append(Problem("crs", str(err), layer=name))
        geometry, found, records = _check_geometry(frame, layer_spec, name, repair)
        problems += found
        frame = frame.set_geometry(geometry)
        if frame.geometry.name != "geometry":
            frame = frame.rename_geometry("geometry")
    if problems:
        raise LayerError(name, problems)
    if records:
        warnings.warn(
            f"layer '{name}': repaired {len(records)} invalid geometr"
            f"{'y' if len(records) == 1 else 'ies'} ("
            + "; ".join(f"{r['id']}: {r['problem']}" for r in records[:5])
            + (" …" if len(records) > 5 else "") + "); see geoagri.validate.repairs(layer)",
            GeoagriWarning, stacklevel=2)
    canon = [c for c in layer_spec.columns if c in frame.columns]
    extra = [c for c in frame.columns if c not in layer_spec.columns and c != "geometry"]
    order = canon + extra + (["geometry"] if layer_spec.has_geometry else [])
    frame = frame[order]
    if not layer_spec.has_geometry and isinstance(frame, gpd.GeoDataFrame):
        frame = pd.DataFrame(frame)
    frame.attrs = {"geoagri": {"kind": kind, "layer": name, "source": source,
                               "encoding": encoding, "repairs": records}}
    return frame
