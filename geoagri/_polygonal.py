"""The polygonal part of geometries that clipping or repair turned into collections.

A light module (numpy and shapely only), so that reading and validating a
layer (:mod:`geoagri.validate`) does not load the compiled area engine
(:mod:`geoagri._clip`, numba).

Examples
--------
>>> from shapely.geometry import GeometryCollection, LineString, box
>>> g = np.array([GeometryCollection([box(0, 0, 1, 1), LineString([(1, 0), (2, 0)])]),
...               LineString([(0, 0), (1, 1)])], dtype=object)
>>> [(x.geom_type, x.area) for x in polygonal(g)]  # the 1 m² square; nothing
[('Polygon', 1.0), ('Polygon', 0.0)]
"""

from __future__ import annotations

import numpy as np
import shapely

__all__ = ["polygonal"]


def polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal part of each geometry (clipping may add lines).

    Parameters
    ----------
    geoms : ndarray of shapely geometries

    Returns
    -------
    ndarray of shapely geometries
        A new array when anything changed: a collection becomes the union of
        its polygons; lines and points become empty polygons.
    """
    types = shapely.get_type_id(geoms)
    mixed = np.flatnonzero(types == 7)
    if len(mixed):
        geoms = geoms.copy()
        for k in mixed:
            parts = [p for p in shapely.get_parts(geoms[k]) if shapely.get_type_id(p) in (3, 6)]
            geoms[k] = shapely.union_all(parts) if parts else shapely.Polygon()
    lines = np.isin(types, (1, 2, 5, 0, 4))
    if lines.any():
        geoms = geoms.copy()
        geoms[lines] = shapely.Polygon()
    return geoms
