"""Tests of geoagri._generalize: the display geometry of a large layer, on a grid.

Hand-built parcels in a UTM CRS (1 km² = 100 ha); every expected area is
computed here from the rectangles' sides.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geoagri._generalize import dissolved_on_grid, grid_cell_m

X, Y = 500_000.0, 1_200_000.0


def _block(x0: float, y0: float, nx: int, ny: int, w: float = 40.0, h: float = 100.0,
           bund: float = 3.0) -> list:
    """``nx`` × ``ny`` parcels of ``w`` × ``h`` m, ``bund`` m apart, from (x0, y0)."""
    return [box(x0 + i * (w + bund), y0 + j * (h + bund),
                x0 + i * (w + bund) + w, y0 + j * (h + bund) + h)
            for i in range(nx) for j in range(ny)]


def test_a_block_of_parcels_is_one_polygon_with_its_bunds_closed():
    parcels = np.array(_block(X, Y, 4, 2), dtype=object)
    commune = np.array([box(X - 500, Y - 500, X + 1000, Y + 1000)], dtype=object)
    keys, shown = dissolved_on_grid(parcels, np.zeros(len(parcels), int), commune, 1,
                                    cell_m=5.0, simplify_m=5.0)
    assert keys.tolist() == [0]
    assert shapely.get_num_geometries(shown[0]) == 1  # 8 parcels, one block
    # the block with its bunds: (4·40 + 3·3) × (2·100 + 3) m = 169 × 203 m = 3.4307 ha;
    # drawn within a cell (5 m) of its outline: ± 5 m × the perimeter (744 m)
    area = shapely.area(shown[0])
    assert abs(area - 169 * 203) <= 5 * 2 * (169 + 203)
    hull = box(X, Y, X + 169, Y + 203)
    assert shapely.hausdorff_distance(shown[0], hull) <= 2 * 5.0
    # the parcels themselves: 8 × 0.4 ha; the drawing covers them but for a cell at edges
    union = shapely.union_all(parcels)
    assert shapely.area(shapely.difference(union, shapely.buffer(shown[0], 5.0))) == 0


def test_classes_units_and_the_area_outside_are_separate_aggregates():
    a = _block(X, Y, 3, 1)  # class 0, in commune 0
    b = _block(X + 200, Y, 3, 1)  # class 1, in commune 0
    c = _block(X + 1200, Y, 2, 1)  # class 0, in commune 1
    out = _block(X + 3000, Y, 1, 1)  # class 1, outside both
    across = [box(X + 950, Y + 300, X + 1050, Y + 400)]  # class 0, half in each commune
    parcels = np.array(a + b + c + out + across, dtype=object)
    classes = np.array([0] * 3 + [1] * 3 + [0] * 2 + [1] + [0])
    communes = np.array([box(X - 100, Y - 100, X + 1000, Y + 600),
                         box(X + 1000, Y - 100, X + 2000, Y + 600)], dtype=object)
    keys, shown = dissolved_on_grid(parcels, classes, communes, 2, cell_m=5.0, simplify_m=5.0)
    # key = unit × 2 + class; unit 2 is outside every commune
    assert keys.tolist() == [0, 1, 2, 5]
    by_key = dict(zip(keys.tolist(), shown, strict=True))
    # the parcel across the border is cut at it: 50 × 100 m on each side (0.5 ha)
    piece0 = shapely.intersection(by_key[0], box(X + 900, Y + 250, X + 1100, Y + 450))
    piece1 = shapely.intersection(by_key[2], box(X + 900, Y + 250, X + 1100, Y + 450))
    for piece in (piece0, piece1):
        assert shapely.area(piece) == pytest.approx(5000, abs=5 * 2 * (50 + 100))
    # a class never drawn where only the other one is
    assert shapely.area(shapely.intersection(by_key[1], shapely.union_all(a))) == 0
    assert shapely.area(by_key[5]) == pytest.approx(40 * 100, abs=5 * 2 * (40 + 100))


def test_holes_stay_open_and_gaps_wider_than_a_cell_stay_gaps():
    donut = shapely.Polygon(box(X, Y, X + 300, Y + 300).exterior.coords,
                            [box(X + 100, Y + 100, X + 200, Y + 200).exterior.coords])
    apart = box(X + 320, Y, X + 400, Y + 300)  # 20 m from the donut: a canal, kept open
    commune = np.array([box(X - 100, Y - 100, X + 500, Y + 400)], dtype=object)
    keys, shown = dissolved_on_grid(np.array([donut, apart], dtype=object), np.array([0, 0]),
                                    commune, 1, cell_m=5.0, simplify_m=5.0)
    assert keys.tolist() == [0]
    parts = shapely.get_parts(shown[0])
    assert len(parts) == 2
    areas = sorted(shapely.area(parts))
    assert areas[0] == pytest.approx(80 * 300, abs=5 * 2 * 380)
    # 9 ha less the 1 ha hole
    assert areas[1] == pytest.approx(300 * 300 - 100 * 100, abs=5 * (4 * 300 + 4 * 100))
    assert shapely.get_num_interior_rings(
        parts[np.argmax(shapely.area(parts))]) == 1


def test_a_multipolygon_and_invalid_bow_tie_are_drawn_without_error():
    multi = shapely.MultiPolygon([box(X, Y, X + 50, Y + 50), box(X + 200, Y, X + 250, Y + 50)])
    bow_tie = shapely.Polygon([(X, Y + 200), (X + 100, Y + 300), (X + 100, Y + 200),
                               (X, Y + 300), (X, Y + 200)])
    commune = np.array([box(X - 100, Y - 100, X + 500, Y + 500)], dtype=object)
    keys, shown = dissolved_on_grid(np.array([multi, bow_tie], dtype=object),
                                    np.array([0, 1]), commune, 2, cell_m=5.0, simplify_m=0.0)
    assert keys.tolist() == [0, 1]
    assert shapely.get_num_geometries(shown[0]) == 2
    assert shapely.area(shown[0]) == pytest.approx(2 * 2500, abs=5 * 2 * 2 * 100)
    # the even–odd rule: two triangles of 0.25 ha each
    assert shapely.area(shown[1]) == pytest.approx(5000, abs=5 * 4 * 100)


def test_the_grid_grows_with_the_layer_to_at_most_four_million_cells():
    assert grid_cell_m(np.array([0.0, 0.0, 2000.0, 1000.0]), 5.0) == 5.0
    # a province of 67 × 35 km: 4 million cells of 24.5 m
    cell = grid_cell_m(np.array([0.0, 0.0, 67_000.0, 35_000.0]), 5.0)
    assert (67_000 / cell) * (35_000 / cell) <= 4_000_000
    assert cell == pytest.approx(24.5)


def test_a_bund_between_two_classes_is_closed_and_a_one_cell_parcel_kept():
    # two classes side by side, a 3 m bund between them: no empty cells between
    left, right = box(X, Y, X + 100, Y + 100), box(X + 103, Y, X + 203, Y + 100)
    dot = box(X + 400, Y + 400, X + 406, Y + 406)  # 6 × 6 m: a cell or so on a 5 m grid
    commune = np.array([box(X - 100, Y - 100, X + 600, Y + 600)], dtype=object)
    keys, shown = dissolved_on_grid(np.array([left, right, dot], dtype=object),
                                    np.array([0, 1, 1]), commune, 2, cell_m=5.0,
                                    simplify_m=5.0)
    assert keys.tolist() == [0, 1]
    both = shapely.union_all([shown[0], shapely.intersection(shown[1], box(X, Y, X + 300,
                                                                          Y + 200))])
    assert shapely.get_num_geometries(both) == 1  # one field: the bund went to a class
    assert shapely.area(both) == pytest.approx(203 * 100, abs=5 * 2 * (203 + 100))
    # the 6 m parcel is drawn (simplifying it by a cell would collapse it)
    dot_drawn = shapely.intersection(shown[1], box(X + 350, Y + 350, X + 450, Y + 450))
    assert 25 <= shapely.area(dot_drawn) <= 100


def _traced(key: np.ndarray) -> list[tuple[int, list[tuple[float, ...]], list]]:
    """geoagri's outlines of a labelled raster: (key, outer ring, holes) per region."""
    from geoagri._generalize import _compiled_trace

    rows, cols, ring_end, ring_region, region_key = _compiled_trace()(key)
    start = np.r_[0, ring_end[:-1]]
    rings: dict[int, list] = {}
    for a, b, k in zip(start, ring_end, ring_region, strict=True):
        rings.setdefault(int(k), []).append(list(zip(cols[a:b].tolist(), rows[a:b].tolist(),
                                                     strict=True)))
    return [(int(region_key[k]), r[0], r[1:]) for k, r in sorted(rings.items())]


@pytest.mark.parametrize("seed", range(6))
def test_the_outlines_are_gdal_polygonize_s_regions(seed):
    """Each 4-connected region of a random labelled raster, traced, is GDAL's polygon."""
    import rasterio.features

    rng = np.random.default_rng(seed)
    key = rng.integers(0, 3 + seed % 3, size=(30 + seed, 41), dtype=np.int32)
    key[rng.random(key.shape) < 0.3] = 0  # empty cells: holes, corners touching across
    ours = _traced(key)
    gdal = [(int(v), g["coordinates"]) for g, v in rasterio.features.shapes(
        key, mask=key > 0, connectivity=4)]
    assert len(ours) == len(gdal)
    polys = [shapely.Polygon(outer, holes) for _, outer, holes in ours]
    theirs = [shapely.Polygon(c[0], c[1:]) for _, c in gdal]
    assert all(shapely.is_valid(polys))  # rings that touch at a corner: each one simple
    # the same regions: matched by an interior point, equal, of the same key
    tree = shapely.STRtree(theirs)
    for (value, _, holes), poly in zip(ours, polys, strict=True):
        match = tree.query(shapely.point_on_surface(poly), predicate="within").tolist()
        assert len(match) == 1
        assert gdal[match[0]][0] == value
        assert poly.equals(theirs[match[0]])
        assert len(holes) == len(gdal[match[0]][1]) - 1
    # the cells' area, region by region: each cell in exactly one polygon
    assert sum(p.area for p in polys) == int((key > 0).sum())


def test_a_ring_closed_across_a_corner_is_a_shell_and_a_hole_touching_there():
    # 11 cells of 1 around 4 empty ones; the ring of 1s meets itself across the corner
    # at (row 1, column 3) (x = column, y = row below), where the empty inside touches
    # the empty cell at the top right: one region, its outer ring and one hole that
    # touch at that corner (a ring through it twice would not be simple)
    key = np.array([[1, 1, 1, 0],
                    [1, 0, 0, 1],
                    [1, 0, 0, 1],
                    [1, 1, 1, 1]], dtype=np.int32)
    [(value, outer, holes)] = _traced(key)
    poly = shapely.Polygon(outer, holes)
    assert value == 1 and poly.is_valid
    assert poly.area == 11  # the 11 cells
    # the 4 × 4 square less its top right cell (6 corners, closed), less the 2 × 2 inside
    assert shapely.Polygon(outer).area == 15 and len(outer) == 7
    assert len(holes) == 1 and shapely.Polygon(holes[0]).area == 4
    assert (3, 1) in outer and (3, 1) in holes[0]
