"""The zones of a large layer in batches of whole overlap neighbourhoods.

The area engine (:func:`geoagri.area.area_by_groupings`) holds, for the zones
it measures, their flattened rings, the pairs of boxes that overlap, the
pieces of communes they fall in and the sets of overlapping zones, all at
once: on the national delta (2,000,000 parcels) about 2 GB beside the layer
itself.  Memory a process touches for the first time is what costs most on a
virtual machine whose host backs the guest's memory only when it is used (this
one: about 5 ms per MB, more than the geometry work on it).  So a layer of
more than :data:`BATCH_VERTICES` vertices is measured in batches of about
that many, one after the other, each batch's working memory freed for the
next.

A batch holds whole *neighbourhoods*: the zones linked, directly or through
others, by pairs of same-group boxes that overlap with positive area
(:func:`geoagri._engine.boxes.overlapping_boxes`), for each grouping whose
overlaps are searched.  Every overlap the engine can find lies within one
neighbourhood, so each batch finds exactly the overlaps among its zones, and
the areas of the batches add up to the layer's (within rounding: the sums are
taken in another order).  The pairs of boxes are found once, for the whole
layer, and handed to each batch.  A neighbourhood larger than a batch (every
zone of one group overlapping its neighbours' boxes) is a batch of its own.

Examples
--------
>>> import shapely
>>> g = np.array([shapely.box(0, 0, 2, 2), shapely.box(10, 0, 12, 2), shapely.box(1, 1, 3, 3)])
>>> [(b.index.tolist(), [p.tolist() for p in b.candidates[0]])
...  for b in zone_batches(g, [np.zeros(3, dtype=int)], max_vertices=8)]
[([0, 2], [[0], [1]]), ([1], [[], []])]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import shapely

from geoagri._engine.boxes import overlapping_boxes
from geoagri._engine.pieces import cluster_labels

__all__ = ["BATCH_VERTICES", "Batch", "zone_batches"]

#: Vertices of zones measured at once: a province's 200,000 parcels (1.2 million
#: vertices) are one batch, the national delta's 2,000,000 about ten.
BATCH_VERTICES = 1_500_000


class Batch(NamedTuple):
    """Zones measured together.

    Attributes
    ----------
    index : ndarray of int
        Positions of the batch's zones in the layer, ascending.
    candidates : list of (i, j) or None
        For each grouping given to :func:`zone_batches`, the pairs of the
        batch's zones whose same-group boxes overlap, as positions in
        ``index`` (``i < j``, sorted by ``i`` then ``j``, as
        :func:`~geoagri._engine.boxes.overlapping_boxes` gives them); None for
        a layer measured in one batch (the engine finds them itself).
    """

    index: np.ndarray
    candidates: list[tuple[np.ndarray, np.ndarray]] | None


def zone_batches(geoms: np.ndarray, codes: Sequence[np.ndarray], *,
                 max_vertices: int = BATCH_VERTICES) -> list[Batch]:
    """The zones in batches of whole overlap neighbourhoods, of about ``max_vertices`` each.

    Parameters
    ----------
    geoms : ndarray of shapely geometries
        The zones, in a metric CRS.
    codes : sequence of ndarray of int
        Group of each zone, for each grouping whose overlaps are searched.
    max_vertices : int, default :data:`BATCH_VERTICES`
        Vertices of a batch; a layer with no more is one batch.

    Returns
    -------
    list of Batch
        The neighbourhoods of several zones first, in order of their first zone,
        then the zones in no pair.
    """
    n = len(geoms)
    vertices = shapely.get_num_coordinates(geoms)
    if n == 0 or int(vertices.sum()) <= max_vertices:
        return [Batch(np.arange(n), None)]
    bounds = shapely.bounds(geoms)
    pairs = [overlapping_boxes(bounds, code) for code in codes]
    label = cluster_labels(n, np.concatenate([p[0] for p in pairs]),
                           np.concatenate([p[1] for p in pairs]))
    alone = label < 0  # a zone in no pair: a neighbourhood of its own
    label[alone] = label.max() + 1 + np.arange(int(alone.sum()))
    size = np.bincount(label, weights=vertices)
    start = np.cumsum(size) - size
    per = float(vertices.sum()) / math.ceil(float(vertices.sum()) / max_vertices)  # even
    batch = (start // per).astype(np.int64)[label]  # a neighbourhood is never cut
    _, batch = np.unique(batch, return_inverse=True)
    order = np.argsort(batch, kind="stable")
    bounds_at = np.searchsorted(batch[order], np.arange(batch.max() + 2))
    local = np.empty(n, dtype=np.int64)
    out = []
    split = []
    for pi, pj in pairs:  # each grouping's pairs, by the batch they lie in (order kept)
        by = np.argsort(batch[pi], kind="stable")
        split.append((pi[by], pj[by], np.searchsorted(batch[pi][by], np.arange(batch.max() + 2))))
    for b in range(batch.max() + 1):
        index = order[bounds_at[b]:bounds_at[b + 1]]
        local[index] = np.arange(len(index))
        candidates = [(local[si[at[b]:at[b + 1]]], local[sj[at[b]:at[b + 1]]])
                      for si, sj, at in split]
        out.append(Batch(index, candidates))
    return out
