"""Reading and writing layers: the only package that touches files.

Its rooms: this module (:func:`read_layer`, :func:`read_table`,
:func:`read_vector`, :func:`write_layer`, the one CSV writer
:func:`write_csv` and the one atomic writer :func:`replace_file`),
:mod:`geoagri.io.postgis` (PostGIS tables), :mod:`geoagri.io.legacy_encoding`
(TCVN3 / VNI / Windows-1258 text) and :mod:`geoagri.io.partitioned` (large
layers read lazily for the dask engine).

:func:`read_layer` reads GeoPackage, Shapefile (also zipped), GeoJSON,
KML/KMZ, GeoParquet, FlatGeobuf, and CSV/XLSX tables with lon/lat or x/y
columns, or takes a (Geo)DataFrame, and returns the canonical layer made by
:func:`geoagri.validate.canonicalize`.  Shapefiles whose DBF declares no
encoding are decoded from TCVN3, VNI-Windows, Windows-1258 or UTF-8, whichever
the text is (:mod:`geoagri.io.legacy_encoding`).  :func:`write_layer` writes to a
temporary file and moves it into place, so a failed write leaves nothing
half-written.

Examples
--------
>>> import tempfile, pathlib
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> zones = gpd.GeoDataFrame(
...     {"zone_id": ["Z1"], "zone_kind": ["liên kết sản xuất"], "crop": ["rice"]},
...     geometry=[box(500_000, 1_200_000, 501_000, 1_201_000)], crs="EPSG:9210")
>>> path = pathlib.Path(tempfile.mkdtemp()) / "zones.gpkg"
>>> _ = write_layer(zones, path)
>>> back = read_layer(path, kind="zones")
>>> back.loc[0, "zone_kind"], float(back.area.sum() / 1e4)
('linkage', 100.0)
"""

from __future__ import annotations

import contextlib
import csv
import glob
import json
import logging
import math
import os
import re
import tempfile
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pyproj

from geoagri.crs import require_crs
from geoagri.errors import GeoagriError, GeoagriWarning, LayerError, Problem
from geoagri.io.legacy_encoding import fix_text_columns, sniff_dbf_encoding
from geoagri.schema import spec
from geoagri.validate import canonicalize

__all__ = ["FORMULA_PREFIXES", "csv_safe", "list_layers", "read_layer", "read_partitioned",
           "read_table", "read_vector", "replace_file", "write_csv", "write_layer"]

log = logging.getLogger("geoagri")

_LON = ("lon", "lng", "long", "longitude", "kinh_do", "kinhdo", "kinh độ", "x_lon")
_LAT = ("lat", "latitude", "vi_do", "vido", "vĩ độ", "y_lat")
_X = ("x", "easting", "toa_do_x", "x_m")
_Y = ("y", "northing", "toa_do_y", "y_m")

#: KML display fields and the value they hold when nobody set them.
_KML_DEFAULTS = {"id": None, "description": None, "timestamp": None, "begin": None,
                 "end": None, "altitudeMode": None, "tessellate": -1, "extrude": 0,
                 "visibility": -1, "drawOrder": None, "icon": None}
_TABLE_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls"}
_KML_SUFFIXES = {".kml", ".kmz"}

#: First characters that make a spreadsheet read a cell as a formula (the OWASP list for
#: CSV injection: ``=``, ``+``, ``-``, ``@``, tab, carriage return).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: GDAL driver for each suffix :func:`write_layer` knows.
WRITE_DRIVERS = {
    ".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile",
    ".fgb": "FlatGeobuf", ".kml": "KML", ".parquet": "parquet", ".csv": "csv",
}


def list_layers(source: str | os.PathLike) -> list[str]:
    """Names of the layers in a multi-layer file (GeoPackage, KML, zip).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import geopandas as gpd
    >>> from shapely.geometry import Point
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "two.gpkg"
    >>> g = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)], crs="EPSG:4326")
    >>> _ = write_layer(g, path, layer="first"); _ = write_layer(g, path, layer="second")
    >>> list_layers(path)
    ['first', 'second']
    """
    return [str(n) for n in pyogrio.list_layers(_gdal_path(Path(source)))[:, 0]]


def _gdal_path(path: Path) -> str:
    return f"/vsizip/{path}" if path.suffix.lower() == ".zip" else str(path)


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    folded = {unicodedata.normalize("NFC", str(c)).strip().casefold(): c for c in columns}
    for n in names:
        if n in folded:
            return folded[n]
    return None


def points_from_table(
    table: pd.DataFrame, *, crs: Any = None, layer: str = "table"
) -> gpd.GeoDataFrame:
    """Make point geometries from lon/lat or x/y columns of a table.

    Longitude/latitude columns (``lon``/``lat``, ``longitude``/``latitude``,
    ``kinh_do``/``vi_do``) give points in EPSG:4326 (or ``crs`` when it is
    given).  ``x``/``y`` (``easting``/``northing``) columns give points in
    ``crs``, which must then be given; without it the layer has no CRS and
    :func:`geoagri.crs.require_crs` explains what the coordinates look like.
    Rows without coordinates get a null geometry (reported by validation).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"pump_id": ["P1"], "Lon": [105.8], "Lat": [10.9]})
    >>> points_from_table(t).geometry.iloc[0].wkt
    'POINT (105.8 10.9)'
    """
    cols = [str(c) for c in table.columns]
    lon, lat = _find_column(cols, _LON), _find_column(cols, _LAT)
    if lon and lat:
        xcol, ycol, default = lon, lat, "EPSG:4326"
    else:
        xcol, ycol, default = _find_column(cols, _X), _find_column(cols, _Y), None
    if not (xcol and ycol):
        raise LayerError(layer, [Problem(
            "no_geometry", f"the table has no coordinate columns; columns found: {cols}",
            layer=layer, fix="add lon/lat columns (degrees, WGS 84) or x/y columns with the "
            "layer's crs, or rename yours with rename={...}")])
    x = pd.to_numeric(table[xcol], errors="coerce")
    y = pd.to_numeric(table[ycol], errors="coerce")
    geometry = gpd.points_from_xy(x, y)
    geometry[(x.isna() | y.isna()).to_numpy()] = None
    rest = table.drop(columns=[xcol, ycol])
    return gpd.GeoDataFrame(rest, geometry=geometry, crs=crs if crs is not None else default)


#: Rows of a spreadsheet searched for its header.
HEADER_SCAN_ROWS = 30


def _blank(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value))) \
        or not str(value).strip()


def _filled(row: list[object]) -> list[int]:
    return [j for j, v in enumerate(row) if not _blank(v)]


def _is_number(value: object) -> bool:
    try:
        float(str(value).replace(",", "."))
    except ValueError:
        return False
    return True


def find_header(grid: list[list[object]]) -> tuple[int, ...]:
    """The row(s) of a spreadsheet holding its header, counted from 0.

    Office tables put a title (one merged cell) and blank rows above the
    header, and often a two-row header whose top cells are merged across
    the columns of a group (``Kinh phí (triệu đồng)`` over ``Tổng`` and
    ``Nhà nước``).  The header is the first row filled in at least half the
    table's width (and at least two cells); the row below belongs to it when
    its cells are all text and one of them stands under a blank header cell
    (the continuation of a merged cell).

    Parameters
    ----------
    grid : list of lists
        The first rows of the sheet, cells as read (blank: ``None``/NaN/"").

    Returns
    -------
    tuple of int
        ``(row,)`` or ``(row, row + 1)``.

    Examples
    --------
    >>> find_header([["DANH MỤC CÔNG TRÌNH", None, None], [None, None, None],
    ...              ["Mã", "Kinh phí (triệu đồng)", None], [None, "Tổng", "Nhà nước"],
    ...              ["CT-01", 4000, 2800]])
    (2, 3)
    >>> find_header([["pump_id", "status"], ["TB01", "operating"]])
    (0,)
    """
    width = max((len(_filled(r)) for r in grid), default=0)
    need = max(2, math.ceil(width / 2))
    header = next((i for i, r in enumerate(grid) if len(_filled(r)) >= need), 0)
    if header + 1 < len(grid):
        top, below = grid[header], grid[header + 1]
        cells = _filled(below)
        if cells and all(isinstance(below[j], str) and not _is_number(below[j]) for j in cells) \
                and any(j >= len(top) or _blank(top[j]) for j in cells):
            return (header, header + 1)
    return (header,)


def _header_names(grid: list[list[object]], rows: tuple[int, ...], width: int) -> list[str]:
    """Column names from one or two header rows (merged cells' text carried across)."""
    def text(v: object) -> str:
        return "" if _blank(v) else " ".join(str(v).split())

    def cells(i: int) -> list[str]:
        row = list(grid[i]) + [None] * width
        return [text(v) for v in row[:width]]

    top = cells(rows[0])
    if len(rows) == 1:
        names = top
    else:
        below = cells(rows[1])
        carried, names = "", []
        for t, b in zip(top, below, strict=True):
            carried = t or (carried if b else "")
            names.append(" - ".join(x for x in (carried, b) if x))
    return [n or f"column {j + 1}" for j, n in enumerate(names)]


def _numbering_row(row: list[object]) -> bool:
    """A row numbering the columns under the header: (1) (2) (3)…"""
    cells = [str(v).strip() for v in row if not _blank(v)]
    numbers = [re.fullmatch(r"\(?(\d{1,2})\)?", c) for c in cells]
    return len(cells) >= 2 and all(numbers) and \
        [int(m.group(1)) for m in numbers] == list(range(1, len(cells) + 1))


def read_table(source: str | os.PathLike, *, layer: str | None = None,
               header_row: int | list[int] | tuple[int, ...] | None = None) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without BOM) or Excel sheet as a DataFrame.

    Office spreadsheets are read as they are: a title above the header, a
    two-row header with merged cells, a row numbering the columns under it
    (see :func:`find_header`), header cells broken over several lines (read
    as one line).  ``attrs["header_row"]`` says which rows were
    the header when it was not the first row.

    Parameters
    ----------
    source : path
        ``.csv``, ``.tsv``, ``.txt`` or ``.xlsx``.
    layer : str, optional
        Sheet name for Excel files (first sheet by default).
    header_row : int or pair of int, optional
        The header's row number as the spreadsheet shows it (1 = the first
        row), or two numbers for a two-row header; found automatically when
        not given.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("indicator,target\\nlinkage_area,21227\\n", encoding="utf-8")
    >>> read_table(p).loc[0, "target"]
    np.int64(21227)
    """
    path = Path(source)
    suffix = path.suffix.lower()
    excel = suffix in {".xlsx", ".xlsm", ".xls"}
    sheet = layer if layer is not None else 0
    try:
        if excel:
            grid = pd.read_excel(path, sheet_name=sheet, header=None,
                                 nrows=HEADER_SCAN_ROWS).astype(object).values.tolist()
            sep = None
        else:
            with open(path, encoding="utf-8-sig", newline="") as f:
                sample = [line for _, line in zip(range(HEADER_SCAN_ROWS), f, strict=False)]
            sep = "\t" if suffix == ".tsv" else _delimiter("".join(sample))
            grid = [list(r) for r in csv.reader(sample, delimiter=sep)]
    except UnicodeDecodeError as err:
        raise GeoagriError(
            f"{path.name}: the file is not UTF-8 text ({err.reason} at byte {err.start}); "
            "save it from Excel as 'CSV UTF-8' and read it again") from None
    if header_row is None:
        rows = find_header(grid)
    else:
        given = [header_row] if isinstance(header_row, int) else list(header_row)
        if not 1 <= len(given) <= 2 or any(not isinstance(r, int) or r < 1 for r in given) \
                or (len(given) == 2 and given[1] != given[0] + 1):
            raise GeoagriError(f"{path.name}: header_row={header_row!r}; give the header's row "
                               "number as the spreadsheet shows it (1 = first row), or two "
                               "consecutive numbers for a two-row header")
        rows = tuple(r - 1 for r in given)
    if rows == (0,):
        if excel:
            data = pd.read_excel(path, sheet_name=sheet)
        else:
            data = pd.read_csv(path, sep="\t" if suffix == ".tsv" else None, engine="python",
                               encoding="utf-8-sig")
        # a header cell broken over lines in Excel ("Kinh phí\n(triệu đồng)") reads as one line
        return data.rename(columns=lambda c: " ".join(c.split()) if isinstance(c, str) else c)
    width = max((len(r) for r in grid), default=0)
    names = _header_names(grid, rows, width)
    skip = rows[-1] + 1
    if skip < len(grid) and _numbering_row(grid[skip]):
        skip += 1
    if excel:
        data = pd.read_excel(path, sheet_name=sheet, header=None, skiprows=skip)
    else:
        data = pd.read_csv(path, sep=sep, engine="python", encoding="utf-8-sig", header=None,
                           skiprows=skip, names=list(range(width)))
    data = data.reindex(columns=range(width))
    data.columns = names
    data = data.dropna(how="all").reset_index(drop=True)
    data.attrs["header_row"] = [r + 1 for r in rows]
    log.info("%s: header on row(s) %s", path.name, data.attrs["header_row"])
    return data


def _delimiter(sample: str) -> str:
    """The field delimiter of a CSV sample (``,`` ``;`` or tab)."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def _drop_kml_housekeeping(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop the KML driver's display fields when they carry nothing."""
    empty = [c for c, default in _KML_DEFAULTS.items()
             if c in frame.columns and (frame[c].isna() | (frame[c] == default)).all()]
    return frame.drop(columns=empty)


def _read_geoparquet(path: Path) -> gpd.GeoDataFrame:
    """A GeoParquet file: its one file read whole by pyarrow's file reader, then converted
    by :meth:`geopandas.GeoDataFrame.from_arrow` (the geometry column and CRS from the file's
    ``geo`` metadata).

    :func:`geopandas.read_parquet` scans the file as a dataset (batches, read-ahead and
    Arrow's own allocator): for a province's 200,000 parcels (18 MB) it takes 0.2 s and
    180 MB of new memory where the file reader takes 0.03 s and 100 MB, the frame being
    the same.  A directory, or a table ``from_arrow`` cannot take, is read by
    :func:`geopandas.read_parquet`.
    """
    if path.is_file():
        import pyarrow.parquet as pq

        table = pq.ParquetFile(path, memory_map=True).read()
        if b"geo" in (table.schema.metadata or {}):
            with contextlib.suppress(ValueError, TypeError, KeyError):
                return _from_arrow(table)
    return gpd.read_parquet(path)


def _from_arrow(table: Any) -> gpd.GeoDataFrame:
    """:meth:`geopandas.GeoDataFrame.from_arrow`, its WKB geometry decoded on every core.

    Decoding the WKB is most of the conversion (0.34 s of 0.45 s for a province's
    200,000 parcels) and GEOS does it without the GIL, so the rows are decoded in
    chunks on threads (:func:`geoagri._engine.threads.parallel`) while the reading
    has a core to spare.  Everything else is ``from_arrow``'s own: the frame of the
    other columns, each geometry column's place, name and CRS (taken from
    ``from_arrow`` of the table's first row); the active geometry is the file's
    primary column, as :func:`geopandas.read_parquet` makes it (``from_arrow`` would
    take the first geometry column).
    """
    import numpy as np
    import shapely
    from geopandas.array import GeometryArray

    from geoagri._engine.threads import n_threads, parallel

    head = gpd.GeoDataFrame.from_arrow(table.slice(0, 1))
    wkb = [f.name for f in table.schema
           if (f.metadata or {}).get(b"ARROW:extension:name") == b"geoarrow.wkb"]
    if not wkb or any(name not in head.columns for name in wkb):
        return gpd.GeoDataFrame.from_arrow(table)
    frame = table.drop(wkb).to_pandas()
    for name in sorted(wkb, key=head.columns.get_loc):
        geoms = parallel(shapely.from_wkb, np.array(table[name]), threads=n_threads(None))
        frame.insert(head.columns.get_loc(name), name,
                     GeometryArray(geoms, crs=head[name].crs))
    primary = json.loads(table.schema.metadata[b"geo"]).get("primary_column")
    return gpd.GeoDataFrame(frame, geometry=primary if primary in wkb else head.geometry.name)


def _read_vector(path: Path, layer: str | None, name: str, *,
                 canonical: bool = False) -> tuple[gpd.GeoDataFrame, str | None]:
    """Read a GDAL vector source; returns the frame and the text encoding used.

    ``canonical``: the frame goes on to :func:`~geoagri.validate.canonicalize`
    (which keeps two dimensions), so a GeoPackage may be read through Arrow
    (:func:`_read_gpkg_arrow`).
    """
    suffix = path.suffix.lower()
    if suffix == ".zip":
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(path) as zf:
                shps = [n for n in zf.namelist() if n.lower().endswith(".shp")]
                zf.extractall(tmp)
            if layer is not None:
                shps = [n for n in shps if Path(n).stem == layer]
            if len(shps) != 1:
                raise GeoagriError(
                    f"layer '{name}': {path.name} holds {len(shps)} shapefiles "
                    f"{'matching ' + repr(layer) if layer else ''}: {shps}; "
                    "name the one to read with layer='<name without .shp>'")
            frame, enc = _read_vector(Path(tmp) / shps[0], None, name)
            return frame, enc
    if suffix in (".parquet", ".geoparquet"):
        return _read_geoparquet(path), "utf-8"
    layers = list_layers(path)
    if suffix in _KML_SUFFIXES:
        names = [layer] if layer is not None else layers
        parts = [pyogrio.read_dataframe(path, layer=lname).assign(folder=lname)
                 for lname in names]
        frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
        return _drop_kml_housekeeping(gpd.GeoDataFrame(frame, geometry="geometry",
                                                       crs="EPSG:4326")), "utf-8"
    if layer is None and len(layers) > 1:
        raise GeoagriError(
            f"layer '{name}': {path.name} has {len(layers)} layers {layers}; say which one "
            "with layer='…' (or layer = \"…\" in the plan)")
    if layer is not None and layer not in layers:
        raise GeoagriError(
            f"layer '{name}': {path.name} has no layer {layer!r}; its layers are {layers}")
    if suffix == ".shp":
        try:
            frame, enc = _read_shapefile(path, layer, name)
        except (ValueError, pyproj.exceptions.CRSError, pyogrio.errors.CRSError):
            _check_prj(None, path, name)  # a .prj that breaks the reader is named
            raise
        _check_prj(frame, path, name)
        return frame, enc
    if canonical and suffix == ".gpkg" and path.stat().st_size >= ARROW_MIN_BYTES:
        frame = _read_gpkg_arrow(path, layer)
        if frame is not None:
            return frame, "utf-8"
    return pyogrio.read_dataframe(path, layer=layer), "utf-8"


#: GeoPackages smaller than this (bytes) are read feature by feature: on a few hundred
#: features, Arrow's setup costs more than it saves.
ARROW_MIN_BYTES = 1 << 20

#: GDAL field types (and subtypes) that pyogrio reads to the same columns through Arrow as
#: feature by feature (not so: dates, lists, binary, and booleans with missing values).
_ARROW_FIELD_TYPES = {"OFTString", "OFTInteger", "OFTInteger64", "OFTReal"}
_ARROW_FIELD_SUBTYPES = {"OFSTNone", "OFSTInt16", "OFSTFloat32"}


def _read_gpkg_arrow(path: Path, layer: str | None) -> gpd.GeoDataFrame | None:
    """A GeoPackage layer read through Arrow, or None where that could read differently.

    Arrow reads a layer of 200,000 parcels in less than half the CPU time of
    pyogrio's feature-by-feature path.  Used when every field is text or a
    number and the layer has features; the columns are then the same, with
    one exception made good here: a text field missing everywhere is an
    object column of None (as the feature path gives it), not a text column
    of NaN.  Geometries are the same but for M values, which Arrow keeps and
    the feature path drops: the caller keeps two dimensions only.  Curved
    geometries, which Arrow cannot read, give None (the feature path
    linearises them).
    """
    info = pyogrio.read_info(path, layer=layer)
    if not info["features"] > 0 \
            or not set(info["ogr_types"]) <= _ARROW_FIELD_TYPES \
            or not set(info["ogr_subtypes"]) <= _ARROW_FIELD_SUBTYPES:
        return None
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, use_arrow=True)
    except NotImplementedError:  # "Nonlinear geometry types are not currently supported"
        return None
    for field, kind in zip(info["fields"], info["ogr_types"], strict=True):
        if kind == "OFTString" and frame[field].isna().all():
            frame[field] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    return frame


def _read_shapefile(path: Path, layer: str | None, name: str) -> tuple[gpd.GeoDataFrame, str]:
    """A shapefile's text decoded as its .cpg says, or as the sniffer finds it.

    A .cpg that contradicts the bytes (UTF-8 declared over TCVN3 text, as
    some converters write) does not stop the read: the legacy-encoding
    sniffer decodes the text instead, with a warning naming the file.
    """
    declared = sniff_dbf_encoding(path)
    if declared is not None:
        try:
            return pyogrio.read_dataframe(path, layer=layer, encoding=declared), declared
        except UnicodeDecodeError as err:
            frame = pyogrio.read_dataframe(path, layer=layer, encoding="latin1")
            frame, enc = fix_text_columns(frame)
            warnings.warn(
                f"layer '{name}': {path.with_suffix('.cpg').name} declares {declared}, but "
                f"{path.with_suffix('.dbf').name} is not {declared} ({err.reason} at byte "
                f"{err.start}); its text was decoded as {enc} instead. Fix: correct or delete "
                "the .cpg", GeoagriWarning, stacklevel=4)
            return frame, enc
    frame = pyogrio.read_dataframe(path, layer=layer, encoding="latin1")
    frame, enc = fix_text_columns(frame)
    log.info("layer %s: %s declares no encoding; text decoded as %s", name, path.name, enc)
    return frame, enc


def _check_prj(frame: gpd.GeoDataFrame | None, path: Path, name: str) -> None:
    """A .prj that could not be read is an error naming the file, not a missing CRS.

    ``frame`` is the layer as read (a .prj GDAL skipped leaves it without a
    CRS), or ``None`` when reading failed (the .prj is then blamed only if
    PROJ cannot parse it either).
    """
    prj = [p for p in path.parent.glob(f"{glob.escape(path.stem)}.*")
           if p.suffix.lower() == ".prj"]
    if not prj or (frame is not None and frame.crs is not None):
        return
    raw = prj[0].read_bytes()
    if frame is None:
        try:
            pyproj.CRS.from_user_input(raw.decode("utf-8", "replace"))
            return
        except pyproj.exceptions.CRSError:
            pass
    text = raw[:60].decode("utf-8", "replace")
    raise LayerError(name, [Problem(
        "crs", f"{prj[0].name} is not a coordinate system GDAL can read (it begins "
        f"{text!r})", layer=name,
        fix=f"replace {prj[0].name} with the .prj of the CRS the data is in (QGIS: Layer ▸ "
            "Set CRS, then Export ▸ Save Features As), or delete it and give the CRS in the "
            "plan: crs = \"EPSG:9210\" (geoagri.crs.vn2000_epsg(province))")])


def read_vector(source: str | os.PathLike, *, layer: str | None = None,
                name: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector file as it is, for layers that are not a geoagri kind.

    Canal networks, roads or rivers used as context by the analyses: read
    with the same decoding as :func:`read_layer` (legacy shapefile
    encodings, KML folders, zipped shapefiles), but not canonicalised.  A
    file without a CRS is an error, as for every layer.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> canals = read_vector(plan.path(plan.settings["canals"]))
    >>> canals.crs.to_epsg(), bool(len(canals))
    (9210, True)
    """
    path = Path(source)
    label = name or path.stem
    if not path.exists():
        raise GeoagriError(f"layer '{label}': file not found: {path}")
    frame, _ = _read_vector(path, layer, label)
    return require_crs(frame, layer=label)


def read_layer(
    source: str | os.PathLike | pd.DataFrame,
    kind: str,
    *,
    layer: str | None = None,
    rename: Mapping[str, str] | None = None,
    crs: Any = None,
    repair: bool = False,
    name: str | None = None,
    where: Mapping[str, Any] | Sequence[Any] | None = None,
    units: Mapping[str, str] | None = None,
    vocabulary: Mapping[str, Mapping[str, str]] | None = None,
    header_row: int | list[int] | tuple[int, ...] | None = None,
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a layer of a given kind and return it canonical and validated.

    Parameters
    ----------
    source : path or str or GeoDataFrame or DataFrame
        A file (``.gpkg``, ``.shp``, ``.zip`` with a shapefile, ``.geojson``,
        ``.kml``, ``.kmz``, ``.parquet``, ``.fgb``, ``.csv``, ``.xlsx``), a
        PostGIS database (``"postgresql://user@host:port/db"`` with
        ``layer="table"`` or ``"schema.table"``), or a frame already in
        memory (not modified).
    kind : str
        Layer kind: ``communes``, ``zones``, ``models``, ``works``, ``power``,
        ``pumps``, ``cooperatives``, ``parcels`` or ``targets``.
    layer : str, optional
        Layer (GeoPackage, KML folder) or sheet (Excel) to read.  A KML file
        with several folders is read whole, the folder in a ``folder`` column.
    rename : mapping, optional
        Your column names → canonical names (see docs/layers.md).
    crs : CRS-like, optional
        CRS of a source that has none (a CSV with x/y, a shapefile without
        .prj).  Giving one that contradicts the file's own is an error.
    repair : bool, default False
        Repair invalid geometries and report each repair.
    name : str, optional
        Layer name used in messages; defaults to the file name.
    where : mapping or sequence, optional
        Keep only some units, before validation (so the rest of a national
        file is not checked): ``{"province": "Tây Ninh"}`` (names in any
        spelling), ``{"district": [...]}``, ``{"province_code": "80"}``, or
        a list of ids of the kind's id column (``["27775", "27778"]``).
        Columns are the canonical ones (after ``rename``).  See
        :func:`geoagri.hierarchy.select_units`; the selection is recorded in
        ``attrs["geoagri"]["where"]``.
    units : mapping, optional
        Units of columns not in the canonical unit, e.g. ``{"cost": "triệu
        đồng", "yield": "tạ/ha", "area": "m2"}`` (see
        :func:`geoagri.validate.canonicalize`); a unit in a header's
        parentheses (``"NS (tạ/ha)"``) is read without it.
    vocabulary : mapping, optional
        Your own words for vocabulary values, by column:
        ``{"status": {"chưa có vốn": "planned"}}``.
    header_row : int or pair of int, optional
        For CSV and Excel: the header's row number as the spreadsheet shows it
        (found automatically; see :func:`read_table`).

    Returns
    -------
    GeoDataFrame (DataFrame for ``targets``)
        Canonical layer in the source's CRS; ``attrs["geoagri"]`` records the
        kind, source, text encoding, repairs and unit conversions
        (:func:`geoagri.validate.layer_info`).

    Raises
    ------
    LayerError
        Listing every problem of the layer (columns, ids, values, geometry,
        CRS).
    GeoagriError
        If the file cannot be read or holds several layers and none is named.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"pump_id": ["TB01"], "status": ["đang hoạt động"],
    ...                       "lon": [105.80], "lat": [10.90]})
    >>> pumps = read_layer(table, kind="pumps")
    >>> pumps.crs.to_epsg(), pumps.loc[0, "status"]
    (4326, 'operating')
    """
    layer_spec = spec(kind)
    frame, label, src_name, encoding = _read_source(source, kind, layer=layer, name=name,
                                                    header_row=header_row)
    header = frame.attrs.get("header_row")
    if where is not None:
        frame, conditions = _select(frame, kind, where, rename=rename, label=label)
    if layer_spec.has_geometry and not isinstance(frame, gpd.GeoDataFrame):
        # coordinate columns are renamed here; the others in canonicalize, which reads
        # the units written in their headers
        coords = {k: v for k, v in (rename or {}).items() if k in frame.columns
                  and str(v).casefold() in (*_LON, *_LAT, *_X, *_Y)}
        frame = points_from_table(frame.rename(columns=coords), crs=crs, layer=label)
        rename = {k: v for k, v in (rename or {}).items() if k not in coords}
    out = canonicalize(frame, kind, layer=label, rename=rename, crs=crs, repair=repair,
                       source=src_name, encoding=encoding, units=units, vocabulary=vocabulary)
    if header:
        out.attrs["geoagri"]["header_row"] = header
    if where is not None:
        out.attrs["geoagri"]["where"] = conditions
    return out

def _read_source(source: Any, kind: str, *, layer: str | None, name: str | None,
                 header_row: Any = None) -> tuple[pd.DataFrame, str, str | None, str | None]:
    """The frame as stored, its label, source name and text encoding."""
    if isinstance(source, pd.DataFrame):
        return source, name or kind, None, None
    if isinstance(source, str) and re.match(r"^postgres(ql)?://", source):
        from geoagri.io.postgis import read_table_as_frame, redact_dsn

        if layer is None:
            raise GeoagriError(
                f"reading {kind} from {redact_dsn(source)}: name the table with "
                "layer='…' (schema.table or table)")
        schema, _, table = layer.rpartition(".")
        frame = read_table_as_frame(source, layer=table, schema=schema or "public")
        return frame, name or table, f"{redact_dsn(source)}#{layer}", "utf-8"
    path = Path(source)
    label = name or path.stem
    if not path.exists():
        raise GeoagriError(f"layer '{label}': file not found: {path}")
    try:
        if path.suffix.lower() in _TABLE_SUFFIXES:
            return (read_table(path, layer=layer, header_row=header_row), label, str(path),
                    "utf-8")
        frame, encoding = _read_vector(path, layer, label, canonical=True)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError,
            OSError) as err:
        raise GeoagriError(f"layer '{label}': cannot read {path.name}: {err}") from None
    except pyproj.exceptions.CRSError:
        raise LayerError(label, [Problem(
            "crs", f"the coordinate system of {path.name} (for a shapefile, its .prj) "
            "cannot be read", layer=label,
            fix="save the layer again with a known CRS (QGIS: Layer ▸ Set CRS, then "
                "Export ▸ Save Features As), or give it in the plan: crs = "
                "\"EPSG:9210\"")]) from None
    return frame, label, str(path), encoding


def _select(frame: pd.DataFrame, kind: str, where: Mapping[str, Any] | Sequence[Any], *,
            rename: Mapping[str, str] | None,
            label: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The rows ``where`` selects, on the frame as stored (canonical names via ``rename``)."""
    from geoagri.hierarchy import select_units

    source_of = {canon: src for src, canon in (rename or {}).items()}
    id_column = spec(kind).id_column or "id"
    if isinstance(where, Mapping):
        conditions = {str(k): v for k, v in where.items()}
    else:
        conditions = {id_column: where}
    stored = {source_of.get(k, k): v for k, v in conditions.items()}
    picked = select_units(frame, stored, id_column=source_of.get(id_column, id_column),
                          name=label, canonical={source_of.get(k, k): k for k in conditions})
    return picked, conditions


def replace_file(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> Path:
    """Write a file atomically: ``write(tmp)`` creates it beside ``path``, then it is moved.

    A reader never sees a half-written file, and a failed write leaves the old
    file as it was.  ``tmp`` does not exist when ``write`` is called (GDAL
    drivers want to create their files themselves) and has ``path``'s suffix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a" / "note.txt"
    >>> replace_file(p, lambda tmp: tmp.write_text("xin chào", encoding="utf-8")).read_text(
    ...     encoding="utf-8")
    'xin chào'
    """
    path = Path(path)
    with _staging(path) as folder:
        write(folder / path.name)
    return path


@contextlib.contextmanager
def _staging(path: Path) -> Iterator[Path]:
    """A temporary folder beside ``path``; what is written in it is moved beside ``path``.

    Everything is moved only if the block ends without an error; the folder
    is removed either way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.stem}-", dir=path.parent))
    try:
        yield folder
        for part in sorted(folder.iterdir()):
            os.replace(part, path.parent / part.name)
    finally:
        for part in folder.iterdir():
            part.unlink()
        folder.rmdir()


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells a spreadsheet cannot take for formulas.

    Text starting with one of :data:`FORMULA_PREFIXES` (``=HYPERLINK(…)``,
    ``@SUM(…)``, ``+84…``) gets a leading ``'``, which Excel and LibreOffice
    read as "this is text" (the OWASP rule for CSV injection).  Numbers,
    dates and missing values are left as they are; the column names too
    when they are geoagri's, and protected the same way otherwise.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"name": ["=1+2", "Xã A"], "ha": [-1.5, 2.0]})
    >>> csv_safe(t)["name"].tolist(), csv_safe(t)["ha"].tolist()
    (["'=1+2", 'Xã A'], [-1.5, 2.0])
    """
    def safe(value: Any) -> Any:
        return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) \
            else value

    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore"))
    out = out.rename(columns=safe)
    text = [c for c in out.columns if out[c].dtype == object
            or pd.api.types.is_string_dtype(out[c].dtype)]
    if text:
        out = out.assign(**{c: out[c].map(safe) for c in text})
    return out


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a table as CSV for Excel: UTF-8 with a byte-order mark, text made safe.

    The one CSV writer: :func:`write_layer` and :func:`geoagri.export.export_layers`
    use it.  The geometry column, if any, is left out; text cells pass
    through :func:`csv_safe`; lines end in CRLF (RFC 4180), so that a line
    break of any kind inside a value is quoted.  Not atomic by itself
    (:func:`write_layer` is).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write_csv(pd.DataFrame({"name": ["@SUM(A1)"]}), p)
    >>> p.read_text(encoding="utf-8-sig").splitlines()
    ['name', "'@SUM(A1)"]
    """
    path = Path(path)
    # CRLF (RFC 4180): a carriage return inside a value is then quoted, not a row break
    csv_safe(frame).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
    return path


def write_layer(
    frame: pd.DataFrame,
    target: str | os.PathLike,
    *,
    layer: str | None = None,
    driver: str | None = None,
) -> Path:
    """Write a layer atomically (temporary file, then moved into place).

    The format follows the suffix (``.gpkg``, ``.geojson``, ``.shp``,
    ``.fgb``, ``.kml``, ``.parquet``, ``.csv``) unless ``driver`` is given.
    A GeoPackage may hold several layers: writing ``layer="b"`` to an
    existing ``.gpkg`` keeps its other layers (the file is copied, the layer
    written to the copy, and the copy moved into place).  Shapefiles are
    written in UTF-8 with a ``.cpg``; CSV by :func:`write_csv` (UTF-8 with a
    byte-order mark, so that Excel shows Vietnamese text, and text that a
    spreadsheet would take for a formula prefixed with ``'``).

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> write_layer(pd.DataFrame({"a": [1]}), p).name
    't.csv'
    """
    path = Path(target)
    suffix = path.suffix.lower()
    driver = driver or WRITE_DRIVERS.get(suffix)
    if driver is None:
        raise GeoagriError(
            f"cannot tell the format of {path.name}; use one of {sorted(WRITE_DRIVERS)}")
    with _staging(path) as folder:
        tmp = folder / path.name
        if driver == "csv":
            write_csv(frame, tmp)
        elif driver == "parquet":
            frame.to_parquet(tmp, index=False)
        else:
            if driver == "GPKG" and path.exists():
                tmp.write_bytes(path.read_bytes())
            options = {"ESRI Shapefile": {"ENCODING": "UTF-8"},
                       "FlatGeobuf": {"SPATIAL_INDEX": "NO"}}.get(driver)
            with warnings.catch_warnings():
                # a Shapefile cuts names to 10 characters; read_layer maps them back
                warnings.filterwarnings("ignore", "Normalized/laundered field name")
                pyogrio.write_dataframe(frame, tmp, layer=layer, driver=driver,
                                        append=False, layer_options=options)
    return path


from geoagri.io.partitioned import read_partitioned  # noqa: E402  (dask loads when called)
