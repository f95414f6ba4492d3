"""A large layer measured in batches (geoagri._engine.batches): whole overlap
neighbourhoods per batch, the same pairs as the whole layer's, and the same areas."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

import geoagri.area
from geoagri._engine.batches import zone_batches
from geoagri._engine.boxes import overlapping_boxes
from geoagri.area import area_by_groupings

UTM = "EPSG:32648"
X, Y = 500_000, 1_200_000  # UTM 48N: 1 km² = 100 ha


def hm_box(x0, y0, x1, y1):
    """A box given in hectometres from (X, Y): a 1 × 1 box is 1 ha."""
    return box(X + 100 * x0, Y + 100 * y0, X + 100 * x1, Y + 100 * y1)


def test_batches_keep_overlap_neighbourhoods_whole_and_their_pairs():
    # three chains of overlapping boxes of group 0 (each box overlaps the next), far apart,
    # and boxes of group 1 that overlap group 0's without being of their group
    rng = np.random.default_rng(5)
    geoms, codes = [], []
    for chain in range(3):
        for k in range(6):
            geoms.append(hm_box(40 * chain + k, 0, 40 * chain + k + 1.5, 1))
            codes.append(0)
    for k in range(4):
        geoms.append(hm_box(3 * k, 0.5, 3 * k + 1, 1.5))
        codes.append(1)
    perm = rng.permutation(len(geoms))  # the layer's order is not the chains'
    g = np.array(geoms, dtype=object)[perm]
    c = np.array(codes)[perm]
    batches = zone_batches(g, [c], max_vertices=30)  # 6 boxes of 5 coordinates a batch
    assert len(batches) > 1
    # every zone in exactly one batch, each batch ascending
    seen = np.concatenate([b.index for b in batches])
    assert sorted(seen.tolist()) == list(range(len(g)))
    assert all((np.diff(b.index) > 0).all() for b in batches)
    # the pairs of the whole layer are the batches' pairs, in the whole layer's positions
    want_i, want_j = overlapping_boxes(shapely.bounds(g), c)
    got = set()
    for b in batches:
        (i, j), = b.candidates
        assert (np.diff(i) >= 0).all() and (i < j).all()
        got |= set(zip(b.index[i].tolist(), b.index[j].tolist(), strict=True))
    assert got == set(zip(want_i.tolist(), want_j.tolist(), strict=True))
    for chain in range(3):  # each chain (6 boxes linked by their overlaps) in one batch
        members = {int(np.flatnonzero(perm == 6 * chain + k)[0]) for k in range(6)}
        assert sum(bool(members & set(b.index.tolist())) for b in batches) == 1


def test_a_small_layer_is_one_batch():
    g = np.array([hm_box(0, 0, 1, 1), hm_box(0.5, 0, 2, 1)], dtype=object)
    (batch,) = zone_batches(g, [np.zeros(2, dtype=int)])
    assert batch.index.tolist() == [0, 1] and batch.candidates is None


@pytest.mark.parametrize("dissolve", [False, True])
def test_areas_measured_in_batches_are_the_hand_computed_ones(monkeypatch, dissolve):
    # communes A (x 0–10 hm) and B (x 10–20 hm), 10 hm tall: 100 ha each.  In each of
    # four rows of the layer, rice zones r1 (x 2–6) and r2 (x 4–12), and a fruit zone f
    # (x 5–7) crossing both: r1 ∩ r2 is 2 ha a row, all in A; r2 has 6 ha in A, 2 in B;
    # the fruit zone overlaps the rice ones but is not of their group.
    communes = gpd.GeoDataFrame({"commune_id": ["A", "B"], "commune_name": ["Xã A", "Xã B"]},
                                geometry=[hm_box(0, 0, 10, 10), hm_box(10, 0, 20, 10)], crs=UTM)
    geoms, uses = [], []
    for row in range(4):
        y = 2 * row + 0.5
        for (x0, x1), use in (((2, 6), "rice"), ((4, 12), "rice"), ((5, 7), "fruit")):
            geoms.append(hm_box(x0, y, x1, y + 1))
            uses.append(use)
    zones = gpd.GeoDataFrame({"land_use": uses}, geometry=geoms, crs=UTM)
    whole = area_by_groupings(zones, communes, [["land_use"], []], dissolve=dissolve)
    small = functools.partial(zone_batches, max_vertices=20)  # 4 zones of 5 coordinates
    calls = []

    def batched(*args, **kwargs):
        calls.append(small(*args, **kwargs))
        return calls[-1]

    monkeypatch.setattr(geoagri.area, "zone_batches", batched)
    by_use, in_all = area_by_groupings(zones, communes, [["land_use"], []], dissolve=dissolve)
    assert len(calls[0]) > 1
    cells = by_use.set_index(["commune_id", "land_use"])
    # rice in A: 4 rows × (r1 4 ha + r2 6 ha), of which r1 ∩ r2 2 ha counted twice
    assert cells.loc[("A", "rice"), "overlap_ha"] == pytest.approx(4 * 2)
    assert cells.loc[("A", "rice"), "area_ha"] == pytest.approx(4 * 10 - (8 if dissolve else 0))
    assert cells.loc[("B", "rice"), "area_ha"] == pytest.approx(4 * 2)
    assert cells.loc[("B", "rice"), "overlap_ha"] == 0
    assert cells.loc[("A", "fruit"), "area_ha"] == pytest.approx(4 * 2)
    # all zones as one group: in A, r1 ∪ r2 ∪ f is 2–10 (8 ha) a row, counted 4 + 6 + 2
    a = in_all.set_index("commune_id").loc["A"]
    assert a["overlap_ha"] == pytest.approx(4 * (12 - 8))
    assert a["area_ha"] == pytest.approx(4 * (8 if dissolve else 12))
    for got, want in ((by_use, whole[0]), (in_all, whole[1])):
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
