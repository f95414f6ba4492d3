"""What the example plans share: communes on a grid, shapes of exact area, the folder.

Every example is **synthetic**: its communes keep their real names and
official pre-2025 codes (:func:`geoagri.names.admin_units`) but are laid out
as rectangles on a grid in UTM zone 48N (EPSG:32648, where 1 km² is exactly
100 ha), and every zone, parcel, cooperative and figure is made up so that the
indicator engine gives the figures of the example's document.

Examples
--------
>>> units = [("00001", "Xã A", "Huyện X"), ("00002", "Xã B", "Huyện X")]
>>> grid = commune_grid(units, province="Tỉnh Y", size_m=(2_000, 1_000), columns=2)
>>> float(grid.area.sum()) / 1e4, grid.crs.to_epsg()
(400.0, 32648)
>>> float(box_in(grid, "00002", 0, 0, 1_000, 500).area / 1e4)
50.0
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, Polygon, box

from geoagri.datasets.synthetic import _write_vector
from geoagri.io import replace_file
from geoagri.names import admin_units

__all__ = ["CRS", "NOTE", "box_in", "commune_grid", "official_communes", "point_in",
           "targets_table", "write_example"]

#: The metric CRS of every example: WGS 84 / UTM zone 48N (1 km² = 100 ha).
CRS = "EPSG:32648"
#: The note every synthetic feature carries.
NOTE = "SYNTHETIC example data"

#: Columns of an example's targets table, in order.
_TARGET_COLUMNS = ("indicator", "unit", "scope", "scope_id", "year", "source", "target",
                   "start_year", "season", "decimals", "source_ref")


def official_communes(province: str, district: str | None = None, *, first: int | None = None
                      ) -> list[tuple[str, str, str]]:
    """``(code, name, district)`` of a province's (or district's) old communes, in code order.

    Parameters
    ----------
    province, district : str
        As :func:`geoagri.names.admin_units` reads them (era ``"old"``).
    first : int, optional
        Keep the first ``first`` communes of each district.

    Examples
    --------
    >>> official_communes("Hải Dương", "Thanh Miện")[13]
    ('11281', 'Xã Chi Lăng Bắc', 'Huyện Thanh Miện')
    """
    units = admin_units(era="old", province=province, district=district)
    units = units.sort_values(["district_code", "commune_code"], kind="stable")
    if first is not None:
        units = units.groupby("district_code", sort=True).head(first)
    return list(zip(units["commune_code"], units["commune_name"], units["district"],
                    strict=True))


def commune_grid(units: Sequence[tuple[str, str, str]], *, province: str,
                 size_m: tuple[float, float], columns: int,
                 origin: tuple[float, float] = (500_000.0, 1_200_000.0)) -> gpd.GeoDataFrame:
    """Communes as a grid of equal rectangles (row by row from the south-west corner).

    Parameters
    ----------
    units : sequence of (code, name, district)
        The communes, in grid order.
    province : str
        The ``province`` column.
    size_m : (float, float)
        Width and height of each commune, m (``(2_000, 1_000)`` is 200 ha).
    columns : int
        Communes per row.
    origin : (float, float)
        EPSG:32648 position of the grid's south-west corner, m.

    Returns
    -------
    GeoDataFrame
        ``commune_id``, ``commune_name``, ``district``, ``province``, ``note``;
        EPSG:32648.
    """
    w, h = size_m
    x0, y0 = origin
    rows = []
    for i, (code, name, district) in enumerate(units):
        c, r = i % columns, i // columns
        rows.append({"commune_id": code, "commune_name": name, "district": district,
                     "province": province, "note": NOTE,
                     "geometry": box(x0 + c * w, y0 + r * h, x0 + (c + 1) * w,
                                     y0 + (r + 1) * h)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def _corner(communes: gpd.GeoDataFrame, code: str) -> tuple[float, float]:
    geom = communes.loc[communes["commune_id"] == code, "geometry"]
    if len(geom) != 1:
        raise KeyError(f"commune {code!r} is not in the example's grid")
    minx, miny, _, _ = geom.iloc[0].bounds
    return minx, miny


def box_in(communes: gpd.GeoDataFrame, code: str, dx: float, dy: float, w: float,
           h: float) -> Polygon:
    """A ``w`` × ``h`` m rectangle at (``dx``, ``dy``) m from a commune's south-west corner.

    Its area is ``w * h / 1e4`` ha in the examples' CRS.
    """
    x, y = _corner(communes, code)
    return box(x + dx, y + dy, x + dx + w, y + dy + h)


def point_in(communes: gpd.GeoDataFrame, code: str, k: int, *, step_m: float = 150.0,
             per_row: int = 10) -> Point:
    """The ``k``-th point of a lattice inside a commune (distinct points for k = 0, 1, …)."""
    x, y = _corner(communes, code)
    return Point(x + step_m * (1 + k % per_row), y + step_m * (1 + k // per_row))


def targets_table(rows: Iterable[Mapping[str, object]]) -> pd.DataFrame:
    """A targets table with every column of the examples (empty where a row says nothing)."""
    frame = pd.DataFrame([{c: r.get(c) for c in _TARGET_COLUMNS} for r in rows],
                         columns=list(_TARGET_COLUMNS))
    return frame.astype({"year": "int64", "start_year": "Int64", "decimals": "Int64",
                         "target": "float64"})


def write_example(root: str | os.PathLike[str], layers: Mapping[str, pd.DataFrame], *,
                  plan: str, readme: str) -> Path:
    """Write an example's layers, plan.toml and README.md into ``root``.

    Parameters
    ----------
    root : path-like
        Folder (created if missing).
    layers : mapping of str to DataFrame
        Layer name → its frame; a GeoDataFrame is written as ``NAME.gpkg``
        (layer ``NAME``), a table as ``NAME.csv`` (UTF-8).
    plan, readme : str
        Text of ``plan.toml`` (its ``[plan]`` table and any
        ``[indicators.NAME]``; a ``[layers.NAME]`` table of kind ``NAME`` is
        added for each layer written, whose name is its kind) and ``README.md``.

    Returns
    -------
    Path
        ``root/plan.toml``.
    """
    root = Path(root)
    tables = []
    for name, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            path = f"{name}.gpkg"
            _write_vector(frame, root / path, "GPKG", layer=name)
        else:
            path = f"{name}.csv"
            replace_file(root / path, lambda tmp, f=frame: f.to_csv(
                tmp, index=False, encoding="utf-8"))
        tables.append(f'[layers.{name}]\nkind = "{name}"\npath = "{path}"\n')
    plan = plan.rstrip("\n") + "\n\n" + "\n".join(tables)
    for file, text in (("plan.toml", plan), ("README.md", readme)):
        replace_file(root / file, lambda tmp, t=text: tmp.write_text(t, encoding="utf-8"))
    return root / "plan.toml"
