"""The private exact area engine: what the analyses use (the readers, only its thread pool).

* :mod:`~geoagri._engine.clip`: exact intersection areas without building polygons
  (numba kernels, compiled or loaded on first use);
* :mod:`~geoagri._engine.boxes`: pairs of overlapping bounding boxes, found on a grid;
* :mod:`~geoagri._engine.pieces`: communes cut into quadtree pieces, zones allocated to them;
* :mod:`~geoagri._engine.union`: overlap and dissolved areas by inclusion–exclusion;
* :mod:`~geoagri._engine.partition`: communes partitioned for the dask engine;
* :mod:`~geoagri._engine.threads`: the thread pool of the geometry work.

This package imports nothing on its own, so importing one room does not load the others.
"""
