"""The NumPy convex clipper against GEOS, on shapes chosen to break it."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon, box

from geoagri._engine.clip import common_area, intersection_area, polygons


def _random_convex(rng, n, centre, radius):
    angles = np.sort(rng.uniform(0, 2 * np.pi, rng.integers(3, 9)))
    r = radius * rng.uniform(0.6, 1.0, len(angles))
    pts = np.column_stack([centre[0] + r * np.cos(angles), centre[1] + r * np.sin(angles)])
    return shapely.convex_hull(shapely.multipoints(pts))


def _random_star(rng, centre, radius):
    k = rng.integers(5, 20)
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    r = radius * rng.uniform(0.2, 1.0, k)
    ring = np.column_stack([centre[0] + r * np.cos(angles), centre[1] + r * np.sin(angles)])
    poly = Polygon(ring)
    return poly if poly.is_valid else shapely.make_valid(poly).geoms[0] \
        if hasattr(shapely.make_valid(poly), "geoms") else shapely.make_valid(poly)


def test_known_areas_hole_multipolygon_and_orientation():
    hole = Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (1, 3), (3, 3), (3, 1)]])
    multi = MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1)])
    cw = Polygon([(0, 0), (0, 2), (2, 2), (2, 0)])  # clockwise clipper
    a = np.array([hole, multi, box(0, 0, 3, 3), box(0, 0, 1, 1), box(0, 0, 1, 1)])
    b = np.array([box(0, 0, 4, 2), box(0.5, 0, 2.5, 1), cw, box(1, 0, 2, 1), box(5, 5, 6, 6)])
    # 8 - 2 (hole part); 0.5 + 0.5; 4; touching edge: 0; disjoint: 0
    assert intersection_area(a, b).tolist() == pytest.approx([6.0, 1.0, 4.0, 0.0, 0.0],
                                                             abs=1e-12)


def test_non_convex_clipper_is_recognised():
    notch = Polygon([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2)])
    polys = polygons(np.array([notch, box(0, 0, 1, 1), Polygon()]))
    assert np.diff(polys.part_start).tolist() == [2, 1, 0]  # fan of 3, one flat; one box
    assert polys.clip_edges.tolist() == [6, 4, 0]
    # both sides non-convex: the fan's signed triangles; still the right area
    area = intersection_area(np.array([notch]), np.array([notch]))
    assert area[0] == pytest.approx(notch.area)


@pytest.mark.parametrize("seed", range(5))
def test_random_pairs_match_geos_in_utm_coordinates(seed):
    rng = np.random.default_rng(seed)
    n = 400
    x0, y0 = 580_000.0, 1_190_000.0  # UTM-sized coordinates: rounding matters here
    a, b = [], []
    for _ in range(n):
        c1 = (x0 + rng.uniform(0, 200), y0 + rng.uniform(0, 200))
        c2 = (c1[0] + rng.uniform(-150, 150), c1[1] + rng.uniform(-150, 150))
        a.append(_random_star(rng, c1, 120) if rng.random() < 0.5
                 else _random_convex(rng, 8, c1, 100))
        b.append(_random_star(rng, c2, 120) if rng.random() < 0.3
                 else _random_convex(rng, 8, c2, 100))
    a, b = np.array(a, dtype=object), np.array(b, dtype=object)
    expected = shapely.area(shapely.intersection(a, b))
    got = intersection_area(a, b)
    assert np.abs(got - expected).max() <= 1e-9 * np.maximum(shapely.area(a), 1.0).max()
    # swapped roles give the same; so does GEOS for every pair (no small side)
    assert np.abs(intersection_area(b, a) - expected).max() <= 1e-9 * 4e4


def test_circle_in_quadrant_and_commune_piece_with_hole():
    circle = Point(500_000, 1_200_000).buffer(300, quad_segs=16)  # 65 vertices, non-convex? no
    quadrant = box(500_000, 1_200_000, 501_000, 1_201_000)
    piece = box(499_000, 1_199_000, 501_000, 1_201_000).difference(
        Point(500_100, 1_200_100).buffer(50, quad_segs=8))
    a = np.array([circle, piece])
    b = np.array([quadrant, box(500_000, 1_200_000, 500_200, 1_200_200)])
    expected = shapely.area(shapely.intersection(a, b))
    assert intersection_area(a, b) == pytest.approx(expected, rel=1e-12)


def test_fan_of_a_spiral_with_holes_on_both_sides(monkeypatch):
    # a deeply non-convex ring: fan triangles reach far outside it and must cancel
    t = np.linspace(0, 6 * np.pi, 120)
    outer = np.column_stack([(10 + 3 * t) * np.cos(t), (10 + 3 * t) * np.sin(t)])
    inner = np.column_stack([(7 + 3 * t) * np.cos(t), (7 + 3 * t) * np.sin(t)])[::-1]
    spiral = Polygon(np.vstack([outer, inner]))
    assert spiral.is_valid
    holed = box(-40, -40, 40, 40).difference(Point(5, 5).buffer(12, quad_segs=4))
    multi = MultiPolygon([box(-70, -70, -20, -20), box(20, 20, 70, 70)])
    a = np.array([spiral, spiral, holed, multi], dtype=object)
    b = np.array([holed, multi, multi, spiral], dtype=object)
    shift = np.array([600_000.0, 1_100_000.0])
    a, b = shapely.transform(a, lambda xy: xy + shift), shapely.transform(b, lambda xy: xy + shift)
    expected = shapely.area(shapely.intersection(a, b))
    assert (expected > 100).all()
    assert intersection_area(a, b) == pytest.approx(expected, rel=1e-11)
    # the GEOS fallback for pairs too large to clip gives the same
    monkeypatch.setattr("geoagri._engine.clip.MAX_CLIP_COST", 0)
    assert intersection_area(a, b, threads=2) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_common_area_of_several_matches_geos(k):
    """The intersection of k polygons (stars, convex, with holes, multi) against GEOS."""
    rng = np.random.default_rng(k)
    x0, y0 = 580_000.0, 1_190_000.0
    shapes = []
    for _ in range(60):
        c = (x0 + rng.uniform(0, 150), y0 + rng.uniform(0, 150))
        pick = rng.random()
        if pick < 0.4:
            shapes.append(_random_star(rng, c, 120))
        elif pick < 0.8:
            shapes.append(_random_convex(rng, 8, c, 100))
        elif pick < 0.9:  # a hole
            shapes.append(Point(c).buffer(110, quad_segs=4).difference(
                Point(c[0] + 20, c[1]).buffer(40, quad_segs=3)))
        else:
            shapes.append(MultiPolygon([box(c[0] - 90, c[1] - 90, c[0], c[1]),
                                        box(c[0] + 10, c[1] + 10, c[0] + 90, c[1] + 90)]))
    geoms = np.array(shapes, dtype=object)
    members = np.array([rng.choice(len(geoms), k, replace=False) for _ in range(300)])
    expected = shapely.area(shapely.intersection_all(geoms[members], axis=1))
    assert (expected > 1).mean() > 0.3  # most sets do share an area
    got = common_area(geoms, members, threads=2)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9 * 4e4)
    # the order of the members does not matter
    np.testing.assert_allclose(common_area(geoms, members[:, ::-1]), expected, atol=1e-9 * 4e4)


# ----------------------------------------------------------------- property tests


_coord = st.floats(min_value=0.0, max_value=100.0, allow_nan=False).map(lambda v: round(v, 1))


def _messy(poly):
    """The same polygon with duplicated and collinear (midpoint) vertices inserted."""
    ring = np.asarray(poly.exterior.coords)[:-1]
    out = []
    for k, p in enumerate(ring):
        q = ring[(k + 1) % len(ring)]
        out += [p, p, (p + q) / 2] if k % 2 == 0 else [p]
    holes = [np.asarray(h.coords) for h in poly.interiors]
    return Polygon(out, holes)


@st.composite
def _polygons(draw):
    """Valid polygons of several kinds on a grid of 0.1 m: shared edges, touching
    corners and collinear overlaps are frequent."""
    kind = draw(st.sampled_from(["box", "hull", "star", "holed", "multi", "messy"]))
    pts = draw(st.lists(st.tuples(_coord, _coord), min_size=3, max_size=9, unique=True))
    x0, y0 = pts[0]
    if kind == "box":
        x1, y1 = pts[1]
        geom = box(min(x0, x1), min(y0, y1), max(x0, x1) + 1, max(y0, y1) + 1)
    elif kind == "hull":
        geom = shapely.convex_hull(shapely.multipoints(pts))
    elif kind == "star":
        geom = shapely.make_valid(Polygon(sorted(
            pts, key=lambda p: np.arctan2(p[1] - 50, p[0] - 50))))
    elif kind == "holed":
        geom = box(x0, y0, x0 + 30, y0 + 30).difference(box(x0 + 10, y0 + 10, x0 + 20, y0 + 15))
    elif kind == "multi":
        geom = MultiPolygon([box(x0, y0, x0 + 5, y0 + 5), box(x0 + 10, y0, x0 + 12, y0 + 40)])
    else:
        geom = _messy(shapely.convex_hull(shapely.multipoints(pts)).buffer(3, quad_segs=2))
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon",
                                                                           "MultiPolygon")]
    geom = shapely.union_all(parts) if parts else Polygon()
    # at a UTM-like position, where rounding in the shoelace formula would show
    return shapely.transform(geom, lambda xy: xy + np.array([580_000.0, 1_190_000.0]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(_polygons(), _polygons()), min_size=1, max_size=8))
def test_intersection_area_equals_geos_on_random_pairs(pairs):
    a = np.array([p for p, _ in pairs], dtype=object)
    b = np.array([q for _, q in pairs], dtype=object)
    assert shapely.is_valid(a).all() and shapely.is_valid(b).all()
    expected = shapely.area(shapely.intersection(a, b))
    got = intersection_area(a, b)
    scale = np.maximum(np.maximum(shapely.area(a), shapely.area(b)), 1.0)
    assert np.all(np.abs(got - expected) <= 1e-9 * scale), (got, expected)


def test_reading_does_not_load_the_compiled_engine():
    """Reading and checking layers must not import numba (its start-up is seconds cold)."""
    code = ("import sys, geoagri.io, geoagri.validate, geoagri._engine.pieces, geoagri.area\n"
            "print('numba' in sys.modules)\n"
            "import numpy as np, shapely\n"
            "from geoagri._engine.clip import intersection_area\n"
            "a = intersection_area(np.array([shapely.box(0, 0, 2, 2)]),"
            " np.array([shapely.box(1, 1, 3, 3)]))\n"
            "print('numba' in sys.modules, float(a[0]))\n")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          check=True)
    # before any analysis: no numba; the first intersection area loads it and is right
    assert done.stdout.split() == ["False", "True", "1.0"]


def test_checking_a_plan_does_not_load_the_compiled_engine():
    """geoagri check reads, validates and looks for overlapping communes without numba."""
    code = ("import sys, warnings\n"
            "from geoagri.datasets import demo_plan_path\n"
            "from geoagri.plan import check_plan\n"
            "warnings.simplefilter('ignore')\n"
            "print(check_plan(demo_plan_path()), 'numba' in sys.modules)\n")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          check=True)
    assert done.stdout.split() == ["{}", "False"]


def test_flattening_on_threads_gives_the_same_rings_and_areas():
    """Chunks flattened side by side and joined: the same arrays as one pass, and areas."""
    rng = np.random.default_rng(5)
    shapes = [box(0, 0, 1, 1), Polygon([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2)]),
              MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]),
              box(0, 0, 5, 5).difference(box(1, 1, 2, 2)), Point(0, 0),
              _random_star(rng, (10, 10), 5)]
    geoms = np.array([shapes[k] for k in rng.integers(0, len(shapes), 5_000)], dtype=object)
    one = polygons(geoms)
    three = polygons(geoms, threads=3, min_chunk=1_000)
    for name, a, b in zip(one._fields, one, three, strict=True):
        assert np.array_equal(a, b), name
    # the joined arrays still measure: each geometry against a box over half of it
    clip = np.array([box(-1, -1, 1.5, 30)] * len(geoms), dtype=object)
    expected = shapely.area(shapely.intersection(geoms, clip))
    got = intersection_area(geoms, clip, a_polys=three)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_common_area_of_one_member_is_its_area():
    g = np.array([box(0, 0, 2, 3), Polygon([(0, 0), (4, 0), (2, 2), (4, 4), (0, 4)])])
    assert common_area(g, np.array([[1], [0], [1]])).tolist() == [12.0, 6.0, 12.0]
