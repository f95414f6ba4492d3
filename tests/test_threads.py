"""Analyses that run at the same time on one plan's layers (geoagri._engine.threads)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geoagri._engine.threads import prepared_copies
from geoagri.area import area_by_zone
from geoagri.datasets import demo
from geoagri.siting import demand_cells


@pytest.fixture(scope="module")
def plan():
    return demo()


def test_prepared_copies_are_exact_and_leave_the_originals_unprepared():
    g = np.array([shapely.Polygon([(0.1, 0.2, 5.0), (3.3, 0.2, 6.0), (3.3, 4.7, 7.0)]),
                  shapely.box(0, 0, 1, 1), None], dtype=object)
    c = prepared_copies(g)
    assert c[0] is not g[0] and c[2] is None
    assert shapely.equals_exact(c[:2], g[:2], tolerance=0).all()
    assert shapely.has_z(c[0]) and shapely.get_coordinates(c[0], include_z=True)[2, 2] == 7.0
    assert shapely.is_prepared(c[:2]).all() and not shapely.is_prepared(g[:2]).any()


def test_analyses_never_prepare_a_layers_own_geometries(plan):
    # GEOS builds a prepared geometry's indexes lazily, not thread-safely, and shapely
    # uses an object's prepared form in every predicate: the infrastructure scenario
    # runs on a thread beside the linkage, on the same layer objects.  (Preparing the
    # communes in place crashed `geoagri run` about one run in three.)
    communes, zones = plan.only("communes"), plan.only("zones")
    assert communes.crs == plan.metric_crs  # so no copy in another CRS is made first
    table = area_by_zone(zones, communes, crs=plan.metric_crs)
    assert table["area_ha"].sum() > 0
    cells = demand_cells(zones, crs=plan.metric_crs)
    assert len(cells) > 0
    assert not shapely.is_prepared(communes.geometry.values).any()
    assert not shapely.is_prepared(zones.geometry.values).any()


def test_each_thread_prepares_its_own_copies_of_the_regions_once():
    import threading

    from geoagri._engine.pieces import cut_into_pieces

    regions = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)], dtype=object)
    pieces = cut_into_pieces(regions)
    mine = pieces.prepared(regions)
    assert pieces.prepared(regions) is mine  # reused by the calls of one thread
    other = []
    t = threading.Thread(target=lambda: other.append(pieces.prepared(regions)))
    t.start()
    t.join()
    assert other[0] is not mine and not set(map(id, other[0])) & set(map(id, mine))
    assert shapely.is_prepared(mine).all() and not shapely.is_prepared(regions).any()
    assert shapely.equals_exact(mine, regions, tolerance=0).all()
