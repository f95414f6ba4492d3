"""Communes grouped into spatial partitions, and zones routed to them.

The geometry half of :mod:`geoagri.distributed`, free of dask: communes are
sorted along a Hilbert curve and cut into ``k`` runs of neighbours; a zone is
sent to every partition whose communes' bounding boxes it meets, and is
flagged when it is not wholly inside the union of all communes (the only
zones that can have area outside every commune).

Examples
--------
>>> from shapely.geometry import box
>>> communes = np.array([box(0, 0, 10, 10), box(10, 0, 20, 10), box(20, 0, 30, 10)])
>>> parts = partition_communes(communes, npartitions=2)
>>> [m.tolist() for m in parts.members]
[[0, 1], [2]]
>>> idx, outside = route(np.array([box(1, 1, 2, 2), box(19, 1, 21, 2), box(28, 5, 35, 6)]),
...                      parts)
>>> [i.tolist() for i in idx], outside.tolist()
([[0, 1], [1, 2]], [2])
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from geoagri._engine.distinct import distinct
from geoagri._engine.pieces import cut_into_pieces
from geoagri._engine.threads import prepared_copies
from geoagri._polygonal import polygonal

__all__ = ["CommunePartitions", "partition_communes", "route"]


@dataclass(frozen=True)
class CommunePartitions:
    """Communes (in a metric CRS) grouped into spatial partitions.

    Attributes
    ----------
    geoms : ndarray of shapely geometries
        Every commune, in the metric CRS, in the communes layer's order.
    owner : ndarray of int
        Partition of each commune.
    members : list of ndarray of int
        Positions of each partition's communes, ascending.
    extents : ndarray, shape (k, 4)
        Bounding box of each partition's communes, metres.
    union : shapely geometry
        Union of all communes.
    union_cells, union_full : ndarray
        Quadtree cells of the union's pieces and whether a piece is its whole
        cell (see :class:`geoagri._engine.pieces.Pieces`): a zone whose bounding box
        lies in a full cell is inside the union without a GEOS call.
    """

    geoms: np.ndarray
    owner: np.ndarray
    members: list[np.ndarray]
    extents: np.ndarray
    union: object
    union_cells: np.ndarray
    union_full: np.ndarray

    @property
    def k(self) -> int:
        """Number of partitions."""
        return len(self.members)


def partition_communes(geoms: np.ndarray, *, npartitions: int,
                       max_vertices: int = 32) -> CommunePartitions:
    """Group communes into ``npartitions`` runs of neighbours along a Hilbert curve.

    Parameters
    ----------
    geoms : array of Polygon or MultiPolygon
        Communes in a metric CRS.
    npartitions : int
        Number of partitions wanted (at most one per commune).
    max_vertices : int, default 32
        Size of the pieces the union of the communes is cut into.

    Returns
    -------
    CommunePartitions
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    k = max(1, min(int(npartitions), n))
    if n:
        hilbert = gpd.GeoSeries(geoms).hilbert_distance().to_numpy()
        order = np.argsort(hilbert, kind="stable")
    else:
        order = np.zeros(0, dtype=int)
    members = [np.sort(m) for m in np.array_split(order, k)] if n else [order]
    owner = np.full(n, -1)
    for p, m in enumerate(members):
        owner[m] = p
    bounds = shapely.bounds(geoms) if n else np.zeros((0, 4))
    extents = np.array([[bounds[m, 0].min(), bounds[m, 1].min(), bounds[m, 2].max(),
                         bounds[m, 3].max()] if len(m) else [np.nan] * 4 for m in members])
    union = polygonal(np.array([shapely.union_all(geoms)], dtype=object))[0] if n \
        else shapely.Polygon()
    if shapely.is_empty(union):
        cells, full = np.zeros((0, 4)), np.zeros(0, dtype=bool)
    else:
        pieces = cut_into_pieces([union], max_vertices=max_vertices)
        cells, full = pieces.cells[pieces.full], pieces.full[pieces.full]
    return CommunePartitions(geoms, owner, members, extents, union, cells, full)


def route(geoms: np.ndarray, parts: CommunePartitions) -> tuple[list[np.ndarray], np.ndarray]:
    """Which zones each partition needs, and which zones may lie partly outside.

    Parameters
    ----------
    geoms : array of shapely geometries
        Zones in the same metric CRS as ``parts``.
    parts : CommunePartitions

    Returns
    -------
    list of ndarray of int
        Per partition, the positions (ascending) of the zones whose bounding
        box meets the bounding box of one of its communes: every zone that
        intersects one of them, and a few that do not.
    ndarray of int
        Positions (ascending) of the polygonal zones not properly inside the
        union of the communes: every zone with area outside every commune is
        among them.
    """
    geoms = np.asarray(geoms, dtype=object)
    polygon = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    tree = shapely.STRtree(parts.geoms)
    gi, cj = tree.query(geoms)
    key = distinct(parts.owner[cj].astype(np.int64) * max(len(geoms), 1) + gi)
    p, g = np.divmod(key, max(len(geoms), 1))
    cuts = np.searchsorted(p, np.arange(1, parts.k))
    per_partition = np.split(g, cuts)
    # inside the union: bounding box in a full quadtree cell, or properly contained
    inside = ~polygon
    if len(parts.union_cells):
        ctree = shapely.STRtree(shapely.box(*parts.union_cells.T))
        qi, cj2 = ctree.query(geoms)
        b = shapely.bounds(geoms)[qi]
        c = parts.union_cells[cj2]
        ok = ((b[:, 0] >= c[:, 0]) & (b[:, 1] >= c[:, 1]) & (b[:, 2] <= c[:, 2])
              & (b[:, 3] <= c[:, 3]))
        inside[qi[ok]] = True
    rest = np.flatnonzero(~inside)
    if len(rest) and not shapely.is_empty(parts.union):
        union = prepared_copies(np.array([parts.union]))[0]
        inside[rest] = shapely.contains_properly(union, geoms[rest])
    return per_partition, np.flatnonzero(~inside)
