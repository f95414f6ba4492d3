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
from collections.abc import Callable, Mapping
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoagri import units as _units
from geoagri._engine.threads import n_threads, parallel
from geoagri._polygonal import polygonal as polygonal_parts
from geoagri.boundaries import is_coverage
from geoagri.crs import AREA_OF_USE_MARGIN_DEG, outside_area_of_use, require_crs
from geoagri.errors import CRSError, GeoagriWarning, LayerError, Problem, UnitError
from geoagri.schema import Column, LayerSpec, canonical_season, spec, vocabulary_problems

__all__ = ["MAX_OUTSIDE_KM", "canonicalize", "communes_land", "far_from_communes", "kind_of",
           "layer_info", "repairs", "row_labels"]

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
    dicts, one per repaired feature), ``units`` (the unit conversions made:
    canonical column → ``{"unit": as written, "to": canonical unit,
    "factor": multiplier, "how": "declared" or "header", "column": source
    column}``; for targets, ``"target"`` → a list of such dicts with the
    ``rows`` converted), and ``header_row`` for spreadsheets whose header is
    not the first row.

    Examples
    --------
    >>> import pandas as pd
    >>> layer_info(pd.DataFrame())
    {}
    """
    return dict(layer.attrs.get("geoagri", {}))


def kind_of(layer: pd.DataFrame, *, func: str = "geoagri") -> str | None:
    """The kind of a layer: as recorded when it was read, else told by its id column.

    pandas drops ``attrs`` in a ``merge`` or ``concat``, so a layer that went
    through one has no recorded kind; its id column (``zone_id``,
    ``model_id``, …; ``commune_id`` only when no other kind's id is there)
    tells the kind again.  When neither does, a :class:`GeoagriWarning` says
    that the kind's defaults (e.g. the columns ``area_by_zone`` groups by) do
    not apply.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> zones = demo()["zones"]
    >>> kind_of(zones), kind_of(zones.merge(zones[["zone_id"]], on="zone_id"))
    ('zones', 'zones')
    """
    recorded = layer.attrs.get("geoagri", {}).get("kind") if layer.attrs else None
    if recorded is not None:
        return str(recorded)
    from geoagri.schema import KINDS

    found = [k for k in KINDS if spec(k).id_column and spec(k).id_column in layer.columns]
    own = [k for k in found if k != "communes"] or found
    if len(own) == 1:
        return own[0]
    warnings.warn(
        f"{func}: the layer's kind is not known (it was not read by geoagri.read_layer, or "
        f"lost it in a merge) and its columns name {own or 'no kind'}; the kind's defaults "
        "do not apply: read it with geoagri.read_layer(..., kind=...) or pass the options "
        "explicitly (e.g. by=[...])", GeoagriWarning, stacklevel=3)
    return None


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


def row_labels(frame: pd.DataFrame, id_column: str | None, mask: np.ndarray) -> list[str]:
    """Labels of the rows under ``mask``: their id, or ``row N`` without one.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> row_labels(pd.DataFrame({"zone_id": ["LK01", None]}), "zone_id", np.array([True, True]))
    ['LK01', 'row 1']
    """
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
) -> tuple[pd.DataFrame, list[Problem], dict[str, str]]:
    """Apply ``rename``, then map case variants and DBF-truncated names.

    Also returns where each renamed column came from (new name → source name).
    """
    problems: list[Problem] = []
    rename = dict(rename or {})
    missing_src = [src for src in rename if src not in frame.columns]
    if missing_src:
        problems.append(Problem(
            "rename", f"rename names column(s) {missing_src} that the layer does not have; "
            f"columns found: {[c for c in frame.columns if c != 'geometry']}",
            layer=name, fix="correct the source names in rename= (or the plan's rename map)"))
    data_columns = set(frame.columns)
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
    origin = {v: k for k, v in rename.items() if k in data_columns}
    origin.update({v: k for k, v in auto.items()})
    return frame, problems, origin


def _objects(values: pd.Series) -> pd.Series:
    """An object Series whose missing values are ``None`` (not NaN or NA)."""
    out = np.array(values.to_numpy(dtype=object), dtype=object)  # a copy
    for k in np.flatnonzero(pd.isna(out)):  # pd.isna finds a superset of _isnull
        if _isnull(out[k]):
            out[k] = None
    return pd.Series(out, index=values.index, dtype=object, name=values.name)


def _map_distinct(values: pd.Series, func: Callable[[object], object], *,
                  text_func: Callable[[str], object] | None = None) -> pd.Series:
    """``values.map(func)`` as an object Series, calling ``func`` once per distinct value.

    A layer of 200,000 parcels has a handful of land uses and seasons: each is
    read once, not 200,000 times.  Text is grouped by value (exact for
    ``str``; a text column as pandas stores it is grouped where it lies, by
    Arrow), and read by ``text_func`` when given (``func`` on text only);
    anything else by type and value.
    """
    out = np.empty(len(values), dtype=object)
    arr = None
    if isinstance(values.dtype, pd.StringDtype):
        codes, uniques = pd.factorize(values)  # missing: -1
        text = codes >= 0
        codes = codes[text]
    else:
        arr = values.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(arr, skipna=True) == "string":
            codes, uniques = pd.factorize(arr)  # text wherever it is not missing (-1)
            text = codes >= 0
            codes = codes[text]
        else:
            text = np.fromiter((type(v) is str for v in arr), dtype=bool, count=len(arr))
            codes, uniques = pd.factorize(arr[text]) if text.any() else (None, [])
    if len(uniques):
        read = text_func or func
        done = np.empty(len(uniques), dtype=object)
        done[:] = [read(v) for v in np.asarray(uniques, dtype=object).tolist()]
        out[text] = done[codes]
    if arr is None:  # a text column: what is missing is its one missing value
        if not text.all():
            out[~text] = func(values.dtype.na_value)
        return pd.Series(out, index=values.index, dtype=object, name=values.name)
    memo: dict[tuple[type, object], object] = {}
    for k in np.flatnonzero(~text):
        v = arr[k]
        try:
            key = (type(v), v)
            out[k] = memo[key] if key in memo else memo.setdefault(key, func(v))
        except TypeError:  # unhashable
            out[k] = func(v)
    return pd.Series(out, index=values.index, dtype=object, name=values.name)


def _coerce_ids(values: pd.Series) -> pd.Series:
    """Ids as strings: 27781, 27781.0 and ' 27781 ' all become '27781'."""
    def text(v: str) -> object:
        return unicodedata.normalize("NFC", v).strip() or None

    def one(v: object) -> object:
        if _isnull(v):
            return None
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        return text(str(v))
    return _map_distinct(values, one, text_func=text)  # str or None: no NaN to clear


def _coerce_column(
    frame: pd.DataFrame, col: Column, layer_spec: LayerSpec, name: str,
    words: Mapping[str, str] | None = None,
) -> tuple[pd.Series, list[Problem]]:
    """Coerce one column to its dtype and check vocabulary and range.

    ``words`` are the plan's own words for the column (its ``[vocabulary]``).
    """
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
                column=col.name, ids=row_labels(frame, layer_spec.id_column, bad),
                fix=f"write plain numbers in {col.description or col.name}"))
        if col.dtype == "int":
            frac = (~out.isna()) & (out != np.round(out))
            if frac.any():
                problems.append(Problem(
                    "type", f"{int(frac.sum())} value(s) are not whole numbers", layer=name,
                    column=col.name, ids=row_labels(frame, layer_spec.id_column, frac.to_numpy()),
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
                    ids=row_labels(frame, layer_spec.id_column, off),
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
        out = _map_distinct(raw, to_bool)
        bad = (out == "?").to_numpy()
        if bad.any():
            problems.append(Problem(
                "type", f"values that are not yes/no: {sorted({str(v) for v in raw[bad]})[:5]}",
                layer=name, column=col.name, ids=row_labels(frame, layer_spec.id_column, bad),
                fix="use true/false, yes/no, 1/0 or có/không"))
        out = _objects(out.where(~bad, None)) if bad.any() else out  # None, never NaN
    elif col.dtype == "season":
        out = _map_distinct(raw, lambda v: None if _isnull(v)
                           else canonical_season(str(v)) or "?")
        bad = (out == "?").to_numpy()
        if bad.any():
            problems.append(Problem(
                "vocabulary", f"seasons not understood: {sorted({str(v) for v in raw[bad]})[:5]}",
                layer=name, column=col.name, ids=row_labels(frame, layer_spec.id_column, bad),
                fix="write seasons as 'DX 2023-2024', 'HT 2024' or 'TD 2024' "
                    "(Đông Xuân, Hè Thu, Thu Đông), or the north's 'Xuân 2024', 'Mùa 2024', "
                    "'Đông 2024'"))
        out = _objects(out.where(~bad, None)) if bad.any() else out  # None, never NaN
    elif col.dtype == "unit":
        def one_unit(v: object) -> object:
            if _isnull(v) or not str(v).strip():
                return None
            try:
                _units.unit_code(str(v))
            except UnitError:
                return "?"
            return unicodedata.normalize("NFC", str(v)).strip()
        out = _map_distinct(raw, one_unit)
        bad = (out == "?").to_numpy()
        if bad.any():
            found, reason = sorted({str(v) for v in raw[bad]})[:5], ""
            try:
                _units.unit_code(found[0])
            except UnitError as err:
                reason = f" ({err})"
            problems.append(Problem(
                "unit", f"units not understood: {found}{reason}", layer=name, column=col.name,
                ids=row_labels(frame, layer_spec.id_column, bad),
                fix="write the unit as the documents do: ha, tạ/ha, triệu đồng, %, HTX, hộ… "
                    "(docs/layers.md, 'Units')"))
        out = _objects(out.where(~bad, None)) if bad.any() else out  # None, never NaN
    else:  # str with a vocabulary
        out = _map_distinct(raw, lambda v: None if _isnull(v)
                           else col.canonical_value(v, words) or "?")
        bad = (out == "?").to_numpy()
        if bad.any():
            unknown = sorted({str(v) for v in raw[bad]})
            problems.append(Problem(
                "vocabulary",
                f"unknown value(s) {unknown[:5]}; allowed: {', '.join(col.vocabulary or ())}",
                layer=name, column=col.name, ids=row_labels(frame, layer_spec.id_column, bad),
                fix="use one of the allowed values (Vietnamese equivalents are accepted), or "
                    f"map your word in the plan: [vocabulary] {col.name} = "
                    f'{{ "{unknown[0]}" = "{(col.vocabulary or ("?",))[0]}" }} '
                    "(vocabulary= in read_layer)"))
        out = _objects(out.where(~bad, None)) if bad.any() else out  # None, never NaN
    if col.required:
        still_null = out.isna().to_numpy() & null
        if still_null.any():
            problems.append(Problem(
                "missing_value", f"{int(still_null.sum())} row(s) have no value", layer=name,
                column=col.name, ids=row_labels(frame, layer_spec.id_column, still_null),
                fix=f"fill in {col.name} ({col.description})"))
    return out, problems


def _stem(col: Column) -> str:
    """A unit column's name without its unit: ``cost`` for ``cost_vnd``."""
    return col.name[: -len(col.unit) - 1] if col.unit else col.name


def _unit_columns(
    frame: pd.DataFrame, layer_spec: LayerSpec, declared: Mapping[str, str] | None,
    origin: Mapping[str, str], name: str,
) -> tuple[dict[str, tuple[str, str, str]], list[Problem]]:
    """The unit of each column that is not in its canonical unit.

    Returns canonical column → (unit as written, ``"declared"`` or
    ``"header"``, source column), and the problems of the declaration.
    """
    problems: list[Problem] = []
    numeric = [c for c in layer_spec.columns.values() if c.unit]
    source_of = {src: canon for canon, src in origin.items()}
    found: dict[str, tuple[str, str, str]] = {}
    for key, written in (declared or {}).items():
        key = unicodedata.normalize("NFC", str(key)).strip()
        if key in layer_spec.columns:
            cols = [key]
        elif key in source_of:
            cols = [source_of[key]]
        else:
            cols = [c.name for c in numeric if _stem(c) == key or _stem(c).endswith("_" + key)]
        where = f"units = {{ {key} = \"{written}\" }}"
        if len(cols) != 1 or layer_spec.columns[cols[0]].unit is None:
            choices = ", ".join(f"{_stem(c)} ({c.name})" for c in numeric)
            problems.append(Problem(
                "unit", f"{where} names {'several' if cols else 'no'} column(s) with a unit "
                f"{cols if cols else ''}".rstrip(), layer=name,
                fix=f"name one of: {choices or 'none: this kind has no unit columns'}"))
            continue
        col = layer_spec.columns[cols[0]]
        if col.name not in frame.columns:
            problems.append(Problem(
                "unit", f"{where}: the layer has no column {col.name}", layer=name,
                column=col.name, fix="remove the line, or rename your column to it"))
            continue
        found[col.name] = (str(written), "declared", origin.get(col.name, col.name))
    for col in numeric:
        src = origin.get(col.name)
        if col.name in found or col.name not in frame.columns or src is None:
            continue
        written = _units.header_unit(src)
        if written is not None:
            found[col.name] = (written, "header", src)
    return found, problems


def _convert_units(
    frame: pd.DataFrame, layer_spec: LayerSpec, units: Mapping[str, tuple[str, str, str]],
    name: str,
) -> tuple[dict[str, Any], list[Problem]]:
    """Convert declared or detected units; check the plausibility of the others.

    Changes ``frame`` in place (the caller's own copy).
    """
    problems: list[Problem] = []
    records: dict[str, Any] = {}
    idc = layer_spec.id_column
    for col in layer_spec.columns.values():
        if not col.unit or col.name not in frame.columns:
            continue
        if col.name in units:
            written, how, src = units[col.name]
            try:
                factor = _units.conversion_factor(written, col.unit)
            except UnitError as err:
                problems.append(Problem(
                    "unit", f"{col.description}: {err}", layer=name, column=col.name,
                    fix=f"declare a unit of {_units.dimension_name(col.unit)} for "
                        f"{_stem(col)} ({src})"))
                continue
            if factor != 1.0:
                frame[col.name] = _units.convert(frame[col.name], written, col.unit)
                if col.dtype == "int":
                    frame[col.name] = frame[col.name].round().astype("Int64")
            records[col.name] = {"unit": written, "to": col.unit, "factor": factor, "how": how,
                                 "column": src}
            log.info("layer %s: %s converted from %s to %s (× %g, %s)", name, col.name,
                     written, col.unit, factor, how)
        elif col.plausible is not None:
            problems += _implausible(frame, col, idc, name)
    return records, problems


def _implausible(frame: pd.DataFrame, col: Column, idc: str | None, name: str) -> list[Problem]:
    """Values outside a column's plausible range, with the unit they most likely are."""
    lo, hi = col.plausible or (0.0, math.inf)
    values = frame[col.name].to_numpy(dtype=float, na_value=np.nan)
    size = np.abs(values)
    off = np.isfinite(size) & (size > 0) & ((size < lo) | (size > hi))
    if not off.any():
        return []
    best, best_n, best_factor = None, 0, 1.0
    for candidate in col.likely_units:
        factor = _units.conversion_factor(candidate, col.unit or "")
        n = int(((size[off] * factor >= lo) & (size[off] * factor <= hi)).sum())
        if n > best_n:
            best, best_n, best_factor = candidate, n, factor
    shown = [float(v) for v in values[off][:5]]
    message = (f"{int(off.sum())} value(s) are implausible in {col.unit} ({col.description}: "
               f"plausible {lo:g} to {hi:g} {col.unit}; found {[f'{v:g}' for v in shown]})")
    key = _stem(col)
    if best is not None:
        converted = shown[0] * best_factor
        message += (f"; they look like {best}: {shown[0]:g} {best} = "
                    f"{f'{converted:,.0f}' if abs(converted) >= 1e4 else f'{converted:g}'} "
                    f"{col.unit}")
        fix = (f'if the column is in {best}, declare it: units = {{ {key} = "{best}" }} in '
               f"the plan's [layers.{name}] (or read_layer(..., units={{'{col.name}': "
               f"'{best}'}})); ")
    else:
        fix = ""
    fix += (f"if {col.unit} is right, correct these values, or declare units = "
            f'{{ {key} = "{col.unit}" }} to keep them as they are')
    return [Problem("implausible_unit", message, layer=name, column=col.name,
                    ids=row_labels(frame, idc, off), fix=fix)]


def _target_units(frame: pd.DataFrame, name: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Targets converted to the unit of their dimension (their indicator's when known).

    Targets whose unit does not measure what their indicator measures are
    reported, all at once.  Changes ``frame`` in place (the caller's copy).
    """
    from geoagri.indicators import measured_in

    records: dict[tuple[str, str], dict[str, Any]] = {}
    wrong: dict[tuple[str, str], list[int]] = {}
    units_out = frame["unit"].astype(object).to_numpy().copy()
    values = frame["target"].to_numpy(dtype=float, na_value=np.nan).copy()
    for pos, (indicator, written) in enumerate(zip(frame["indicator"], frame["unit"],
                                                   strict=True)):
        if _isnull(written):
            continue
        code = _units.unit_code(written)
        own = measured_in(str(indicator))
        if own is not None and not _units.compatible(code, own):
            wrong.setdefault((str(indicator), str(written)), []).append(pos)
            continue
        if own is not None and not _units.is_count(own):
            code = own
        factor = _units.conversion_factor(written, code)
        units_out[pos] = code
        values[pos] = _units.convert([values[pos]], written, code)[0]
        if written != code:
            rec = records.setdefault((written, code), {"unit": written, "to": code,
                                                       "factor": factor, "how": "declared",
                                                       "column": "unit", "rows": []})
            rec["rows"].append(pos)
    problems = []
    for (indicator, written), rows in wrong.items():
        own = measured_in(indicator) or ""
        problems.append(Problem(
            "unit_mismatch", f"indicator {indicator!r} is measured in {own} "
            f"({_units.dimension_name(own)}), these targets in {written!r} "
            f"({_units.dimension_name(written)}): they cannot be compared", layer=name,
            column="unit", ids=[f"row {r}" for r in rows],
            fix=f"write these targets in {own} (or another unit of "
                f"{_units.dimension_name(own)}), or give them the indicator they count"))
    frame["unit"] = units_out
    frame["target"] = values
    return list(records.values()), problems


def _check_geometry(
    frame: gpd.GeoDataFrame, layer_spec: LayerSpec, name: str, repair: bool
) -> tuple[gpd.GeoSeries, list[Problem], list[dict[str, Any]], np.ndarray]:
    """Null, empty, invalid and wrong-type geometries; repair when asked.

    Also returns which geometries have coordinates that are not numbers (left as read:
    they cannot be repaired; :func:`_check_coordinates` reports them).
    """
    values = np.array(frame.geometry.array, dtype=object)  # a copy
    third = shapely.has_z(values)
    if hasattr(shapely, "has_m"):  # shapely >= 2.1
        third |= shapely.has_m(values)
    if third.any():  # 2-D geometries are kept as they are (force_2d would copy them)
        values = np.asarray(shapely.force_2d(values))
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    idc = layer_spec.id_column
    null = shapely.is_missing(values)
    if null.any():
        problems.append(Problem(
            "null_geometry", f"{int(null.sum())} feature(s) have no geometry", layer=name,
            ids=row_labels(frame, idc, null),
            fix="draw the geometry or remove the feature from the source"))
    empty = shapely.is_empty(values) & ~null
    if empty.any():
        problems.append(Problem(
            "empty_geometry", f"{int(empty.sum())} feature(s) have an empty geometry",
            layer=name, ids=row_labels(frame, idc, empty),
            fix="draw the geometry or remove the feature from the source"))
    present = ~null & ~empty
    # GEOS's validity check is most of a large layer's checks: on both cores
    invalid = present & ~parallel(shapely.is_valid, values, threads=n_threads(None))
    nonfinite = _non_finite(values, invalid)
    if invalid.any():
        reasons = shapely.is_valid_reason(values[invalid])
        labels = row_labels(frame, idc, invalid)
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
            # coordinates that are not numbers cannot be repaired (GEOS refuses them, or
            # make_valid drops the part that holds them): left as read, the coordinate
            # check reports them (non_finite) with its own fix
            broken = nonfinite[invalid]
            labels = [lab for lab, b in zip(labels, broken, strict=True) if not b]
            reasons = reasons[~broken]
            fixable = invalid & ~nonfinite
            fixed = shapely.make_valid(values[fixable])
            polygonal = bool(set(layer_spec.geometry_types or ()) & _POLYGONAL)
            if polygonal:
                fixed = polygonal_parts(np.asarray(fixed, dtype=object))
            projected = frame.crs is not None and frame.crs.is_projected
            unfixable = []
            for lab, reason, before, after in zip(labels, reasons, values[fixable], fixed,
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
            values[fixable] = fixed
            if unfixable:
                problems.append(Problem(
                    "invalid_geometry", f"{len(unfixable)} invalid geometries collapse to "
                    "nothing when repaired (e.g. a polygon drawn as a line)", layer=name,
                    ids=unfixable, fix="redraw them or remove them from the source"))
    allowed = set(layer_spec.geometry_types or ())
    types = shapely.get_type_id(values)
    names = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                      "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)
    # compared as type ids (no name made per feature); named only when some are wrong
    wrong = present & ~np.isin(types, np.flatnonzero(np.isin(names, list(allowed))))
    if wrong.any():
        problems.append(Problem(
            "geometry_type", f"{int(wrong.sum())} feature(s) are "
            f"{sorted(set(names[types[wrong]]))}, expected {sorted(allowed)}", layer=name,
            ids=row_labels(frame, idc, wrong),
            fix=f"a {layer_spec.kind} layer holds {'/'.join(sorted(allowed))} geometries"))
    return gpd.GeoSeries(values, index=frame.index, crs=frame.crs), problems, records, nonfinite


#: GEOS from which a geometry with a coordinate that is not finite is invalid
#: ("Invalid Coordinate"): the rewritten IsValidOp.
_GEOS_CHECKS_COORDINATES = (3, 10, 0)


def _non_finite(values: np.ndarray, invalid: np.ndarray) -> np.ndarray:
    """Which geometries have an x or y that is not a number (NaN or infinite).

    ``invalid``: the geometries GEOS finds invalid; a valid one has finite x and
    y (GEOS ≥ 3.10 tests them for validity), so only those are searched.
    """
    if shapely.geos_version < _GEOS_CHECKS_COORDINATES:
        rows = np.arange(len(values))
    else:
        rows = np.flatnonzero(invalid)
    coords, index = shapely.get_coordinates(values[rows], return_index=True)
    out = np.zeros(len(values), dtype=bool)
    out[rows[index[~np.isfinite(coords).all(axis=1)]]] = True
    return out


def _check_coordinates(frame: gpd.GeoDataFrame, layer_spec: LayerSpec,
                       name: str, *, nonfinite: np.ndarray) -> list[Problem]:
    """Coordinates that are not numbers (``nonfinite``, from :func:`_non_finite`), or
    that lie outside the valid range of the CRS.

    Such a feature passes every other check, and then vanishes from the totals
    (an area of ``inf`` or ``nan`` is dropped) or stops the run when it is
    transformed.
    """
    values = np.asarray(frame.geometry.values, dtype=object)
    problems = []
    idc = layer_spec.id_column
    if nonfinite.any():
        problems.append(Problem(
            "non_finite", f"{int(nonfinite.sum())} feature(s) have coordinates that are not "
            "numbers (NaN or infinite)", layer=name, ids=row_labels(frame, idc, nonfinite),
            fix="correct the coordinates in the source (a blank or #N/A cell in a table, a "
                "broken export), or remove the feature"))
    if frame.crs is None:
        return problems
    outside = outside_area_of_use(frame.geometry) & ~nonfinite
    if outside.any():
        area = frame.crs.area_of_use
        b = shapely.bounds(values[outside])
        found = ", ".join(f"({x:.6g}, {y:.6g})" for x, y in b[:3, :2])
        problems.append(Problem(
            "out_of_range", f"{int(outside.sum())} feature(s) lie outside the range where "
            f"{frame.crs.name} is valid ({area.west:g}°–{area.east:g}° E, "
            f"{area.south:g}°–{area.north:g}° N, give or take "
            f"{AREA_OF_USE_MARGIN_DEG:g}°); found x, y = {found}", layer=name,
            ids=row_labels(frame, idc, outside),
            fix="correct the coordinates (a digit too many, a lost minus sign, a value "
                "typed into the wrong column) or the layer's CRS if the file declares the "
                "wrong one"))
    return problems


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
    units: Mapping[str, str] | None = None,
    vocabulary: Mapping[str, Mapping[str, str]] | None = None,
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
    units : mapping, optional
        Units of the layer's columns when they are not the canonical ones:
        ``{"cost": "triệu đồng", "yield": "tạ/ha", "area": "m2"}``.  A key
        is a canonical column (``cost_vnd``), your column's name, or the
        canonical name without its unit (``cost``, ``yield``; ``area`` for
        ``declared_area_ha``).  Without it, a unit written in a header's
        parentheses (``"Kinh phí (triệu đồng)"``) is used.  Values are
        converted to the canonical unit and the conversion recorded
        (:func:`layer_info`); a column with neither whose values are
        implausible in the canonical unit (a work costing under 10 million
        đồng, a yield above 15 t/ha, a parcel above 500 ha) is reported with
        the unit the values most likely are.
    vocabulary : mapping, optional
        The plan's own words: column → ``{word: canonical value}``, e.g.
        ``{"status": {"chưa có vốn": "planned"}}``; matched without case or
        accents, like the built-in words.

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
        out-of-vocabulary or negative values, units that are not understood
        or do not fit the column (or, for targets, the indicator), implausible
        values in an undeclared unit, null, empty, invalid or wrong-type
        geometries, a missing or contradictory CRS.

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
    frame, problems, origin = _match_columns(frame, layer_spec, rename, name)
    problems += [Problem("vocabulary", p, layer=name) for p in vocabulary_problems(
        {k: v for k, v in (vocabulary or {}).items() if k in layer_spec.columns})]
    column_units, found = _unit_columns(frame, layer_spec, units, origin, name)
    problems += found
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
    idc = layer_spec.id_column
    for c in frame.columns:
        if c not in (geometry_name, idc) and (frame[c].dtype == object
                                             or pd.api.types.is_string_dtype(frame[c].dtype)):
            frame[c] = _map_distinct(
                frame[c], lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v
            ).astype(object)
    # (the ids are made NFC with the rest of their reading, by _coerce_ids below)
    if idc and idc in frame.columns:
        frame[idc] = _coerce_ids(frame[idc])
        nulls = frame[idc].isna().to_numpy()
        if nulls.any():
            problems.append(Problem(
                "missing_id", f"{int(nulls.sum())} feature(s) have no {idc}", layer=name,
                column=idc, ids=row_labels(frame, None, nulls),
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
            frame[col.name], found = _coerce_column(frame, col, layer_spec, name,
                                                    (vocabulary or {}).get(col.name))
            problems += found
    conversions, found = _convert_units(frame, layer_spec, column_units, name)
    problems += found
    if kind == "targets" and {"unit", "target", "indicator"} <= set(frame.columns):
        converted, found = _target_units(frame, name)
        problems += found
        if converted:
            conversions["target"] = converted
    if not idc and layer_spec.key_columns:
        keys = [c for c in layer_spec.key_columns if c in frame.columns]
        dup = frame.duplicated(subset=keys, keep=False).to_numpy()
        if dup.any():
            problems.append(Problem(
                "duplicate_id", f"{int(dup.sum())} rows repeat the same "
                f"{' × '.join(keys)}", layer=name, ids=row_labels(frame, None, dup),
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
        geometry, found, records, nonfinite = _check_geometry(frame, layer_spec, name, repair)
        problems += found
        frame = frame.set_geometry(geometry)
        if not any(p.code == "crs" for p in problems):
            problems += _check_coordinates(frame, layer_spec, name, nonfinite=nonfinite)
        if layer_spec.kind == "communes" and not len(frame):
            problems.append(Problem(
                "empty_layer", "the layer has no features; every analysis measures and "
                "reports by commune", layer=name,
                fix="read the file (or layer, sheet) that holds the commune boundaries; "
                    "check the plan's path and layer"))
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
                               "encoding": encoding, "repairs": records,
                               "units": conversions}}
    return frame


#: Features farther than this from every commune are named by ``geoagri check``, km
#: (a plan's ``[settings] max_outside_km`` changes it).
MAX_OUTSIDE_KM = 10.0


def communes_land(communes: gpd.GeoDataFrame, mcrs: Any) -> shapely.Geometry:
    """The land of a communes layer in a metric CRS: the union of its communes, prepared.

    Communes that tile the land without gap or overlap (a valid coverage) are
    merged by dropping the edges they share, a tenth of the time of a general
    union for the same land.  Reading (:func:`far_from_communes`) and the
    accounting of a run (:func:`geoagri._accounting.feature_accounting`) test
    features against it.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> communes = gpd.GeoDataFrame({"commune_id": ["1", "2"]},
    ...     geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)], crs="EPSG:32648")
    >>> communes_land(communes, "EPSG:32648").area / 1e4  # ha
    200.0
    """
    geoms = np.asarray(communes.geometry.to_crs(mcrs).values, dtype=object)
    land = (shapely.coverage_union_all(geoms) if is_coverage(geoms)
            else shapely.union_all(geoms))
    shapely.prepare(land)
    return land


def far_from_communes(
    layers: Mapping[str, pd.DataFrame],
    kinds: Mapping[str, str],
    *,
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
    max_km: float = MAX_OUTSIDE_KM,
) -> dict[str, LayerError]:
    """Features of a plan that lie far outside every commune, by layer.

    A pump station 40 km from the district, or a point whose latitude lost
    its minus sign (the other hemisphere), is valid on its own and is then
    silently left out of every table by commune.  Each layer with such
    features gets a :class:`LayerError` (code ``far_outside``) naming them,
    their distance, and the fix.

    Parameters
    ----------
    layers : mapping of str to (Geo)DataFrame
        Canonical layers by name (tables without geometry are skipped).
    kinds : mapping of str to str
        Each layer's kind; the one ``communes`` layer is the reference (with
        none, or several, nothing is checked).
    crs, province, era :
        The plan's metric CRS setting (see :func:`geoagri.crs.metric_crs`).
    max_km : float, default :data:`MAX_OUTSIDE_KM`
        Largest distance from the nearest commune accepted, km.

    Returns
    -------
    dict of str to LayerError
        Empty when every feature lies within ``max_km`` of a commune.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point, box
    >>> communes = gpd.GeoDataFrame({"commune_id": ["1"]},
    ...     geometry=[box(500_000, 1_200_000, 510_000, 1_210_000)], crs="EPSG:32648")
    >>> pumps = gpd.GeoDataFrame({"pump_id": ["TB01", "TB99"]},
    ...     geometry=[Point(505_000, 1_205_000), Point(550_000, 1_205_000)], crs="EPSG:32648")
    >>> err = far_from_communes({"communes": communes, "pumps": pumps},
    ...                         {"communes": "communes", "pumps": "pumps"})["pumps"]
    >>> err.problems[0].ids, err.problems[0].code
    (['TB99'], 'far_outside')
    """
    from geoagri.crs import metric_crs

    ref = [n for n in layers if kinds.get(n) == "communes"]
    if len(ref) != 1 or not len(layers[ref[0]]):
        return {}
    communes = layers[ref[0]]
    mcrs = metric_crs(communes, crs=crs, province=province, era=era)
    land = communes_land(communes, mcrs)
    errors: dict[str, LayerError] = {}
    for name, frame in layers.items():
        if name in ref or not isinstance(frame, gpd.GeoDataFrame) or not len(frame):
            continue
        geoms = np.asarray(frame.geometry.to_crs(mcrs).values, dtype=object)
        dist = np.zeros(len(geoms))
        away = ~shapely.intersects(land, geoms) & ~shapely.is_missing(geoms)
        dist[away] = shapely.distance(land, geoms[away])
        far = dist > max_km * 1000
        if not far.any():
            continue
        worst = float(np.nanmax(np.where(far, dist, np.nan))) / 1000
        hint = (" (another country or hemisphere: a longitude or latitude with a lost minus "
                "sign, swapped lon/lat, or the wrong CRS?)" if worst > 500 else "")
        idc = spec(kinds[name]).id_column if kinds.get(name) else None
        errors[name] = LayerError(name, [Problem(
            "far_outside", f"{int(far.sum())} feature(s) lie more than {max_km:g} km outside "
            f"every commune of layer '{ref[0]}' (the farthest {worst:,.1f} km){hint}",
            layer=name, ids=row_labels(frame, idc, far),
            fix="correct their coordinates; if they are right, add the communes they lie in, "
                "or accept features that far with max_outside_km = <km> in the plan's "
                "[settings]")])
    return errors
