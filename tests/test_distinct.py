"""Distinct integers by sorting and by a table (geoagri._engine.distinct) against numpy's
np.unique, on random arrays, empty ones and single values."""

from __future__ import annotations

import numpy as np
import pytest

from geoagri._engine.distinct import distinct, distinct_positions


@pytest.mark.parametrize("n", [0, 1, 2, 17, 5000])
def test_the_values_np_unique_gives(n):
    rng = np.random.default_rng(n)
    for dtype, low, high in ((np.int64, -(2**40), 2**40), (np.int32, -5, 5), (np.uint8, 0, 3)):
        values = rng.integers(low, high, n, dtype=dtype)
        found = distinct(values)
        assert found.dtype == values.dtype
        np.testing.assert_array_equal(found, np.unique(values))
        positions = rng.integers(0, max(n // 3, 1), n)
        got, inverse = distinct_positions(positions, max(n // 3, 1) + 2)
        want, want_inverse = np.unique(positions, return_inverse=True)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(inverse, want_inverse)
        np.testing.assert_array_equal(got[inverse], positions)


def test_values_that_are_not_integers_are_refused():
    with pytest.raises(TypeError, match="sorts integers; got an array of float64"):
        distinct(np.array([1.0, np.nan]))
    with pytest.raises(TypeError, match="takes integers; got an array of object"):
        distinct_positions(np.array(["a"], dtype=object), 1)
