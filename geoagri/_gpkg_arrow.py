"""One GeoPackage layer written through GDAL's Arrow interface, as pyogrio writes it.

:func:`pyogrio.write_dataframe` hands GDAL one feature at a time, each of its
text values encoded in Python, and promotes a Polygon of a layer that mixes
Polygons and MultiPolygons to a MultiPolygon feature by feature (0.85 s of CPU
for the 200,000 parcels of a province).  :func:`write_layer` writes the same
layer as one Arrow table (:func:`pyogrio.raw.write_arrow`: GDAL reads the
columns in C++), its single geometries promoted in their WKB (a multi
geometry of one part is the single one's WKB behind a 9-byte header), in 0.5 s.

The file holds what :func:`pyogrio.write_dataframe` writes (same table, columns
and their types, values, geometries, SRS, spatial index): checked by
``tests/test_export.py``.  Layers this module does not cover are written by
:func:`pyogrio.write_dataframe` itself: columns other than text, integers,
floats and booleans (dates, times, pandas' nullable numbers, mixed objects), 3D
or empty geometries.

Examples
--------
>>> import tempfile, pathlib, pyogrio, shapely
>>> import geopandas as gpd
>>> frame = gpd.GeoDataFrame(
...     {"name": ["Xã A", "Xã B"], "ha": [1.5, 2.0]},
...     geometry=[shapely.box(0, 0, 1, 1),
...               shapely.MultiPolygon([shapely.box(2, 0, 3, 1), shapely.box(4, 0, 5, 1)])],
...     crs=32648)
>>> path = pathlib.Path(tempfile.mkdtemp()) / "a.gpkg"
>>> write_layer(frame, path, layer="communes", geometry_type="MultiPolygon")
>>> back = pyogrio.read_dataframe(path)
>>> back.geom_type.tolist(), back["name"].tolist()
(['MultiPolygon', 'MultiPolygon'], ['Xã A', 'Xã B'])
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["write_layer"]

#: WKB type code of each single geometry type's multi type (2D, ISO).
_MULTI_OF = {0: 4, 1: 5, 3: 6}  # point, line string, polygon (shapely type ids)


def write_layer(frame: gpd.GeoDataFrame, path: str | Path, *, layer: str,
                geometry_type: str) -> None:
    """Write ``frame`` as a layer of the GeoPackage ``path``, as
    ``pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG",
    geometry_type=geometry_type)`` writes it (see the module).

    Parameters
    ----------
    frame : GeoDataFrame
        The layer.  Not modified.
    path : path
        The GeoPackage (created, or a layer added to it).
    layer : str
        Name of the layer.
    geometry_type : str
        The layer's geometry type (``"MultiPolygon"``…); single geometries of a
        multi type's layer are written as multi geometries of one part.
    """
    table = _arrow_table(frame, geometry_type)
    if table is None:
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG",
                                geometry_type=geometry_type)
        return
    pyogrio.write_arrow(table, path, layer=layer, driver="GPKG", geometry_type=geometry_type,
                        geometry_name=frame.geometry.name, crs=_crs(frame))


def _crs(frame: gpd.GeoDataFrame) -> str | None:
    """The CRS as :func:`pyogrio.write_dataframe` gives it to GDAL."""
    if frame.crs is None:
        return None
    epsg = frame.crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else frame.crs.to_wkt("WKT1_GDAL")


def _arrow_table(frame: gpd.GeoDataFrame, geometry_type: str) -> pa.Table | None:
    """The layer as an Arrow table (geometry as WKB), or None where this module does
    not cover it."""
    import pyarrow as pa

    geoms = np.asarray(frame.geometry.values, dtype=object)
    types = shapely.get_type_id(geoms)
    if (shapely.has_z(geoms).any() or shapely.is_empty(geoms).any()
            or frame.geometry.name in frame.columns.drop(frame.geometry.name).tolist()):
        return None
    columns = {}
    for name in frame.columns:
        if name == frame.geometry.name:
            continue
        values = frame[name]
        if isinstance(values.dtype, pd.StringDtype) or (
                values.dtype == object
                and pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")):
            columns[name] = pa.array(values.to_numpy(dtype=object, na_value=None),
                                     type=pa.string(), from_pandas=True)
        elif isinstance(values.dtype, np.dtype) and values.dtype.kind in "iufb":
            columns[name] = pa.array(values.to_numpy())
        else:  # dates, times, pandas' nullable numbers, objects: as pyogrio writes them
            return None
    columns[frame.geometry.name] = _wkb_column(geoms, types,
                                               multi=geometry_type.startswith("Multi"))
    return pa.table(columns)


def _wkb_column(geoms: np.ndarray, types: np.ndarray, *, multi: bool) -> pa.Array:
    """The geometries' WKB (little-endian, as pyogrio writes it) as an Arrow binary array,
    built from one buffer of them all (a tenth of the cost of :func:`pyarrow.array` on
    a list of bytes); with ``multi``, single geometries as multi geometries of one part.

    A multi geometry's WKB is its byte order, its type and its number of parts, then
    each part's own WKB: a single geometry's WKB behind a 9-byte header.

    Examples
    --------
    >>> g = np.array([shapely.Point(1, 2), None, shapely.MultiPoint([(3, 4)])])
    >>> column = _wkb_column(g, shapely.get_type_id(g), multi=True)
    >>> [None if w is None else shapely.from_wkb(w).wkt for w in column.to_pylist()]
    ['MULTIPOINT ((1 2))', None, 'MULTIPOINT ((3 4))']
    """
    import pyarrow as pa

    present = types >= 0  # a missing geometry is of type -1
    wkb = shapely.to_wkb(geoms if present.all() else geoms[present], byte_order=1).tolist()
    head = np.zeros(len(wkb), dtype=np.int64)  # the header's length: 9 bytes, or none
    heads = [b""] * len(wkb)
    if multi:
        for single, code in _MULTI_OF.items():
            at = np.flatnonzero(types[present] == single)
            header = bytes([1]) + code.to_bytes(4, "little") + (1).to_bytes(4, "little")
            head[at] = len(header)
            for k in at.tolist():
                heads[k] = header
    sizes = np.zeros(len(geoms), dtype=np.int64)
    sizes[present] = np.fromiter(map(len, wkb), dtype=np.int64, count=len(wkb)) + head
    offsets = np.zeros(len(geoms) + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    data = (b"".join(itertools.chain.from_iterable(zip(heads, wkb, strict=True)))
            if head.any() else b"".join(wkb))
    missing = int((~present).sum())
    valid = pa.py_buffer(np.packbits(present, bitorder="little")) if missing else None
    return pa.Array.from_buffers(pa.large_binary(), len(geoms),
                                 [valid, pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=missing)
