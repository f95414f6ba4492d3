"""Large vector layers read lazily, partition by partition, for the dask engine.

:func:`read_partitioned` gives a dask-geopandas GeoDataFrame that
:func:`geoagri.area.area_by_zone`, :func:`geoagri.coverage.coverage` and
:func:`geoagri.coverage.gaps` run on a cluster (:mod:`geoagri.distributed`).
dask is imported only when it is called.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geoagri.errors import CRSError, GeoagriError

__all__ = ["DEFAULT_CHUNK", "read_partitioned"]

#: Parcels per partition :func:`read_partitioned` aims at when not told.
DEFAULT_CHUNK = 100_000


def read_partitioned(
    path: str | os.PathLike,
    *,
    kind: str | None = None,
    layer: str | None = None,
    npartitions: int | None = None,
    chunksize: int | None = None,
    columns: Sequence[str] | None = None,
    rename: dict[str, str] | None = None,
    repair: bool = False,
) -> Any:
    """Read a large vector layer lazily, as a dask-geopandas GeoDataFrame.

    Parameters
    ----------
    path : path
        A GeoParquet file or folder of files (``.parquet``, ``.geoparquet``;
        one partition per file or row group), or a GDAL vector file read in
        chunks of features with pyogrio (GeoPackage ``.gpkg``, ``.fgb``,
        ``.shp``).
    kind : str, optional
        Layer kind (``"parcels"``, ``"zones"``, …): each partition is made
        canonical and validated with :func:`geoagri.validate.canonicalize`,
        as :func:`geoagri.io.read_layer` does (duplicate ids are found within
        a partition only).  Default: read as it is.
    layer : str, optional
        Layer of a GeoPackage.
    npartitions, chunksize : int, optional
        Partitions wanted, or features per partition (default: about
        100,000 features per partition for GDAL files; row groups for
        GeoParquet, repartitioned when ``npartitions`` is given).
    columns : sequence of str, optional
        Columns to read (the geometry is always read).
    rename : mapping, optional
        Your column names → canonical names (with ``kind``).
    repair : bool, default False
        Repair invalid geometries (with ``kind``).

    Returns
    -------
    dask_geopandas.GeoDataFrame
        Nothing is read yet but the metadata; pass it to
        :func:`geoagri.area.area_by_zone`, :func:`geoagri.coverage.coverage`
        or :func:`geoagri.coverage.gaps` (or the functions of this module).

    Raises
    ------
    GeoagriError
        If the file does not exist or cannot be read.
    CRSError
        If the layer has no CRS.

    Examples
    --------
    >>> import tempfile
    >>> from geoagri.datasets import demo
    >>> tmp = tempfile.mkdtemp()
    >>> demo()["zones"].to_parquet(f"{tmp}/zones.parquet", row_group_size=10)
    >>> zones = read_partitioned(f"{tmp}/zones.parquet", kind="zones")
    >>> zones.npartitions, zones.crs == demo()["zones"].crs
    (3, True)
    """
    import dask

    p = Path(path)
    label = p.stem
    if not p.exists():
        raise GeoagriError(f"layer '{label}': file not found: {p}")
    cols = None if columns is None else list(columns)
    # the columns' dtypes as geopandas reads them (not dask's pyarrow strings)
    with dask.config.set({"dataframe.convert-string": False}):
        return _read(p, label, kind=kind, layer=layer, npartitions=npartitions,
                     chunksize=chunksize, columns=cols, rename=rename, repair=repair)


def _read(p: Path, label: str, *, kind: str | None, layer: str | None,
          npartitions: int | None, chunksize: int | None, columns: list[str] | None,
          rename: dict[str, str] | None, repair: bool) -> Any:
    import dask_geopandas

    from geoagri.validate import canonicalize

    cols = columns
    try:
        if p.is_dir() or p.suffix.lower() in (".parquet", ".geoparquet"):
            # one partition per row group: a file of 2,000,000 parcels written in row
            # groups of 100,000 is read 100,000 parcels at a time
            ddf = dask_geopandas.read_parquet(str(p), columns=cols, split_row_groups=True)
            if npartitions is not None and npartitions != ddf.npartitions:
                ddf = ddf.repartition(npartitions=npartitions)
        else:
            if npartitions is None and chunksize is None:
                chunksize = DEFAULT_CHUNK
            ddf = dask_geopandas.read_file(str(p), layer=layer, npartitions=npartitions,
                                           chunksize=chunksize, columns=cols)
    except (OSError, ValueError, RuntimeError) as err:
        raise GeoagriError(f"layer '{label}': cannot read {p.name}: {err}") from None
    if ddf.crs is None and kind is None:
        raise CRSError(
            f"layer '{label}': {p.name} has no CRS, so its coordinates cannot be measured; "
            "set it in the file (e.g. ogr2ogr -a_srs EPSG:...) or read it with "
            "geoagri.io.read_layer")
    if kind is not None:
        meta = canonicalize(ddf._meta, kind, layer=label, rename=rename, repair=repair,
                            source=str(p), encoding="utf-8")
        ddf = ddf.map_partitions(canonicalize, kind, layer=label, rename=rename,
                                 repair=repair, source=str(p), encoding="utf-8", meta=meta)
    return ddf
