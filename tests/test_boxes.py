"""The grid search of overlapping boxes against an STRtree query, on boxes chosen to break it."""

import numpy as np
import pytest
import shapely

from geoagri._engine.boxes import overlapping_boxes


def _reference(bounds, codes):
    """An STRtree query of the boxes, filtered as overlap_pairs did before the grid."""
    geoms = shapely.box(*bounds.T)
    i, j = shapely.STRtree(geoms).query(geoms)
    keep = (i < j) & (codes[i] == codes[j])
    i, j = i[keep], j[keep]
    b = bounds
    w = np.minimum(b[i, 2], b[j, 2]) - np.maximum(b[i, 0], b[j, 0])
    h = np.minimum(b[i, 3], b[j, 3]) - np.maximum(b[i, 1], b[j, 1])
    keep = (w > 0) & (h > 0)
    order = np.lexsort((j[keep], i[keep]))
    return i[keep][order], j[keep][order]


@pytest.mark.parametrize("seed", range(6))
def test_the_same_pairs_as_an_strtree_query(seed):
    rng = np.random.default_rng(seed)
    n = 3000
    x = rng.uniform(0, 20_000, n)
    y = rng.uniform(0, 10_000, n)
    size = rng.lognormal(5, 0.6, (n, 2))  # ~150 m, some of a few km
    b = np.column_stack([x, y, x + size[:, 0], y + size[:, 1]])
    # copies, shifted copies, boxes sharing an edge, a box far away, one huge box
    b[1:200] = b[0:199]
    b[200:400, [0, 2]] = b[0:200, [2, 2]] + [[0, 100]]  # touching their neighbour's side
    b[400] = [1e17, 1e17, 1e17 + 500, 1e17 + 500]
    b[401] = [-1e16, -1e16, 1e16, 1e16]
    b[402] = [5_000, 5_000, 5_000, 5_300]  # no width
    codes = rng.integers(0, 3, n)
    got = overlapping_boxes(b, codes)
    want = _reference(b, codes)
    assert len(want[0]) > 1000
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_empty_geometries_and_tiny_inputs_pair_with_nothing():
    b = np.array([[0, 0, 2, 2], [np.nan] * 4, [1, 1, 3, 3], [np.nan] * 4])
    assert [x.tolist() for x in overlapping_boxes(b, np.zeros(4, int))] == [[0], [2]]
    assert [x.tolist() for x in overlapping_boxes(b[:1], np.zeros(1, int))] == [[], []]
    # every box in one cell (all equal): each pair once
    same = np.tile([[0.0, 0.0, 1.0, 1.0]], (5, 1))
    i, j = overlapping_boxes(same, np.zeros(5, int))
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [
        (a, b) for a in range(5) for b in range(a + 1, 5)]


def test_more_pairs_than_eight_a_box_are_all_found():
    # 60 copies of a box and 40 boxes elsewhere: 1,770 + 0 pairs for 100 boxes, past the
    # room the first pass writes into (8 a box), so the second pass writes them all
    rng = np.random.default_rng(7)
    x = rng.uniform(1_000, 9_000, 40)
    b = np.r_[np.tile([[0.0, 0.0, 10.0, 10.0]], (60, 1)),
              np.column_stack([x, x, x + 1, x + 1])]
    got = overlapping_boxes(b, np.zeros(100, int))
    want = _reference(b, np.zeros(100, int))
    assert len(want[0]) > 8 * 100
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
