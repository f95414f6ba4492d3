"""Seeded synthetic Mekong-like communes and parcels for the benchmarks.

Everything is **synthetic**: a jittered grid of communes whose shared borders
are densified once and bent by one smooth warp field (so neighbours share
bit-identical borders and the communes form an exact partition), and a field
of small, slightly rotated rectangular parcels laid in strips between the
canals of a rotated canal grid, with bunds between them.  Some parcels are
invalid (bow-ties, spikes), some overlap (duplicated or shifted copies) and
some stick out of the outer edge of the communes.

Scales (:data:`SCALES`):

==========  ========  ==========
scale       communes  parcels
==========  ========  ==========
tiny        20        20,000
province    200       200,000
national    1,500     2,000,000
==========  ========  ==========

Two shapes of parcel layer (:data:`SHAPES`), on the same communes:

``sparse``
    cadastral-like: 2 % of the parcels are overlapping copies (exact or
    shifted 3–25 m) of another, so about 5 % of parcels overlap another of
    their land use, in clusters of two.
``dense``
    hand-drawn-like (linkage zones, one layer per season): 15 % of the
    parcels are redrawn 1–3 times (exact or shifted 3–25 m, 95 % with the
    same land use), and a quarter of the redrawings are drawn 1.2–1.8 times
    larger, over their neighbours; about half the parcels overlap another
    of their land use, many in clusters of three and more (the exact
    figures are in ``meta.json``: ``overlap_share``, ``cluster_sizes``).

Layers are in EPSG:32648 (WGS 84 / UTM 48N), with geoagri's canonical columns:
communes ``commune_id, commune_name, district, province, geometry`` and
parcels ``parcel_id, land_use, season, geometry``.  They are cached as
GeoParquet under ``benchmarks/.cache/`` by :func:`load`.  Generation is
vectorised (numpy and shapely 2 array functions): the national delta takes
well under a minute.

Run ``python benchmarks/_synth_parcels.py --scale province`` to build (or
check) the cache and print what it holds.

Examples
--------
>>> parcels, communes, meta = load("tiny")  # doctest: +SKIP
>>> len(communes), len(parcels)  # doctest: +SKIP
(20, 20000)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

__all__ = [
    "CACHE_DIR",
    "CRS",
    "DEFAULT_SEED",
    "LAND_USES",
    "SCALES",
    "SEASONS",
    "SHAPES",
    "Scale",
    "cache_path",
    "generate",
    "load",
    "repair",
]

#: Metric CRS of every generated layer (WGS 84 / UTM zone 48N).
CRS = "EPSG:32648"
#: Seed used when none is given.
DEFAULT_SEED = 2025
#: Bump when the generator changes, so that old caches are not reused.
GEN_VERSION = 1
#: Where :func:`load` keeps the GeoParquet files.
CACHE_DIR = Path(__file__).resolve().parent / ".cache"

#: Land-use codes (Vietnamese cadastral codes) and their shares of blocks.
LAND_USES = {
    "LUC": 0.55,  # chuyên trồng lúa nước: rice
    "BHK": 0.12,  # cây hàng năm khác: other annual crops
    "CLN": 0.15,  # cây lâu năm: perennial crops, orchards
    "NTS": 0.10,  # nuôi trồng thủy sản: aquaculture
    "LUK": 0.08,  # lúa nước còn lại: other rice
}
#: The two seasons of the parcels layer.
SEASONS = ("DX 2023-2024", "HT 2024")

# Centre of the generated region, in EPSG:32648 (about 105.5 E, 9.8 N).
_CENTRE = (560_000.0, 1_080_000.0)
# Parcel field: outer width and depth of a parcel (m), half the bund between
# parcels (m), canal gaps and spacing (m), largest per-parcel rotation (rad).
_WIDTH_M = (25.0, 70.0)
_DEPTH_M = (95.0, 300.0)
_HALF_BUND_M = 1.5
_H_CANAL_M = (6.0, 20.0)
_V_CANAL_M = (8.0, 25.0)
_V_CANAL_SPACING_M = (350.0, 900.0)
_MAX_TILT_RAD = math.radians(0.5)
_FIELD_ANGLE_RAD = 0.21
# Commune area per parcel wanted (m2): the field holds about one parcel per
# 1.0 ha; villages, orchards and the sample drop the rest.
_COMMUNE_M2_PER_PARCEL = 11_000.0
# Meanders of the commune borders: ((wavelength range), (amplitude range)) in
# metres, and the share of an edge at each end over which they fade in.
_MEANDERS = (((800.0, 1600.0), (100.0, 250.0)), ((200.0, 350.0), (55.0, 110.0)),
             ((110.0, 160.0), (10.0, 22.0)))
_MEANDER_TAPER = 0.25
# Vertices per commune edge (a quadrilateral commune has 4 edges).
_EDGE_VERTICES = 150
# Shares of the parcel shapes (vertex count in brackets).
_SHAPES = {
    "rect": 0.445,  # rectangle (4)
    "cut": 0.25,  # one cut corner (5)
    "kink": 0.20,  # a bent bund on each long side (6)
    "cutkink": 0.10,  # two cut corners and two bent bunds (8)
    "bowtie": 0.0035,  # invalid: two corners swapped
    "spike": 0.0015,  # invalid: a zero-width spike
}
_DUPLICATE_SHARE = 0.02
#: Shapes of parcel layer (see the module docstring).
SHAPES = ("sparse", "dense")
# dense: share of base parcels redrawn, how many times (1, 2, 3), the share of
# redrawings drawn larger and by how much (linear scale)
_DENSE_SOURCE_SHARE = 0.15
_DENSE_COPIES_P = (0.5, 0.3, 0.2)
_DENSE_ENLARGED_SHARE = 0.25
_DENSE_ENLARGE = (1.2, 1.8)
_SYLLABLES = (
    "An", "Bình", "Hòa", "Phú", "Tân", "Long", "Mỹ", "Thạnh", "Vĩnh", "Thới", "Hưng",
    "Lợi", "Phước", "Đông", "Tây", "Nhơn", "Khánh", "Hiệp", "Thuận", "Lộc", "Trung",
    "Định", "Hậu", "Thành", "Điền", "Quới", "Xuân", "Hội", "Ninh", "Lạc",
)


@dataclass(frozen=True)
class Scale:
    """Size of a generated data set.

    Parameters
    ----------
    name : str
        ``"tiny"``, ``"province"`` or ``"national"``.
    nx, ny : int
        Communes per row and per column of the commune grid.
    n_parcels : int
        Number of parcels, duplicates included.
    n_provinces : int
        Number of provinces the communes are grouped in.
    """

    name: str
    nx: int
    ny: int
    n_parcels: int
    n_provinces: int = 1

    @property
    def n_communes(self) -> int:
        """Number of communes (``nx * ny``)."""
        return self.nx * self.ny


#: The scales the benchmarks know.
SCALES = {
    "tiny": Scale("tiny", 5, 4, 20_000),
    "province": Scale("province", 20, 10, 200_000),
    "national": Scale("national", 50, 30, 2_000_000, n_provinces=13),
}


# --------------------------------------------------------------------------- communes


def _meander(p0: np.ndarray, p1: np.ndarray, m: int, rng: np.random.Generator
             ) -> np.ndarray:
    """Interior points ``(..., m - 1, 2)`` of edges ``p0 -> p1`` that meander.

    The offset across each edge is a function of the position along it (so an
    edge never crosses itself) and fades out near the corners (so edges that
    meet at a corner do not cross either).
    """
    t = np.arange(1, m) / m
    vec = p1 - p0
    length = np.hypot(vec[..., 0], vec[..., 1])[..., None]
    normal = np.stack([-vec[..., 1], vec[..., 0]], axis=-1) / length
    ramp = np.clip(np.minimum(t, 1 - t) / _MEANDER_TAPER, 0.0, 1.0)
    taper = ramp * ramp * (3 - 2 * ramp)
    offset = np.zeros((*p0.shape[:-1], m - 1))
    for (w_lo, w_hi), (a_lo, a_hi) in _MEANDERS:
        shape = (*p0.shape[:-1], 1)
        periods = length / rng.uniform(w_lo, w_hi, shape)
        offset += rng.uniform(a_lo, a_hi, shape) * np.sin(
            2 * np.pi * periods * t + rng.uniform(0, 2 * np.pi, shape))
    offset *= taper
    return (p0[..., None, :] + t[:, None] * vec[..., None, :]
            + offset[..., None] * normal[..., None, :])


def _warp_params(rng: np.random.Generator, cell_m: float) -> list[tuple[float, ...]]:
    """Terms of a smooth displacement field whose Jacobian has norm < 1.

    Each term is ``(component, amplitude, wavenumber, direction, phase)``; the
    gradients of each component add up to 0.6, so ``p + d(p)`` is one-to-one
    and the warped partition stays a partition.
    """
    terms = []
    # (wavelength / cell, gradient budget) per octave; two terms per octave
    for wavelength, grad in ((2.5, 0.25), (0.7, 0.18), (0.18, 0.12), (0.05, 0.05)):
        length = wavelength * cell_m
        for component in (0, 1):
            for _ in range(2):
                amp = grad / 2 * length / (2 * math.pi)
                terms.append((component, amp, 2 * math.pi / length,
                              rng.uniform(0, math.pi), rng.uniform(0, 2 * math.pi)))
    return terms


def _warp(xy: np.ndarray, terms: list[tuple[float, ...]]) -> np.ndarray:
    """Displace points ``(..., 2)`` by the field; returns a new array."""
    x = xy[..., 0] - _CENTRE[0]
    y = xy[..., 1] - _CENTRE[1]
    out = xy.copy()
    for component, amp, k, direction, phase in terms:
        out[..., int(component)] += amp * np.sin(
            k * (x * math.cos(direction) + y * math.sin(direction)) + phase)
    return out


def _max_displacement(terms: list[tuple[float, ...]]) -> float:
    return math.hypot(sum(t[1] for t in terms if t[0] == 0),
                      sum(t[1] for t in terms if t[0] == 1))


def _names(rng: np.random.Generator, n: int, prefix: str) -> np.ndarray:
    a = rng.integers(0, len(_SYLLABLES), n)
    b = (a + rng.integers(1, len(_SYLLABLES), n)) % len(_SYLLABLES)
    syl = np.array(_SYLLABLES, dtype=object)
    return np.array([f"{prefix} {x} {y}" for x, y in zip(syl[a], syl[b], strict=True)],
                    dtype=object)


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    return cKDTree(seeds).query(points)[1]


def _make_communes(scale: Scale, cell_m: float, rng: np.random.Generator
                   ) -> tuple[gpd.GeoDataFrame, list[tuple[float, ...]], tuple[float, ...]]:
    """An exact partition of ``nx * ny`` warped, jittered quadrilaterals."""
    nx, ny, m = scale.nx, scale.ny, _EDGE_VERTICES
    x0 = _CENTRE[0] - nx * cell_m / 2
    y0 = _CENTRE[1] - ny * cell_m / 2
    gx, gy = np.meshgrid(x0 + cell_m * np.arange(nx + 1), y0 + cell_m * np.arange(ny + 1))
    corners = np.stack([gx, gy], axis=-1)  # (ny + 1, nx + 1, 2)
    jitter = rng.uniform(-0.18, 0.18, corners.shape) * cell_m
    jitter[:, [0, -1], 0] = 0.0  # corners on the west and east edges move north-south only
    jitter[[0, -1], :, 1] = 0.0  # ... on the south and north edges move east-west only
    terms = _warp_params(rng, cell_m)
    corners_w = _warp(corners + jitter, terms)
    corners = corners + jitter

    # horizontal edges (ny + 1, nx, m - 1, 2) and vertical edges (ny, nx + 1, m - 1, 2),
    # each made once: both communes along an edge get the same numbers
    h_in = _warp(_meander(corners[:, :-1], corners[:, 1:], m, rng), terms)
    v_in = _warp(_meander(corners[:-1, :], corners[1:, :], m, rng), terms)
    rings = np.empty((ny, nx, 4 * m + 1, 2))
    rings[:, :, 0] = corners_w[:-1, :-1]  # south-west corner
    rings[:, :, 1:m] = h_in[:-1]  # south edge, west to east
    rings[:, :, m] = corners_w[:-1, 1:]  # south-east
    rings[:, :, m + 1:2 * m] = v_in[:, 1:]  # east edge, south to north
    rings[:, :, 2 * m] = corners_w[1:, 1:]  # north-east
    rings[:, :, 2 * m + 1:3 * m] = h_in[1:, :, ::-1]  # north edge, east to west
    rings[:, :, 3 * m] = corners_w[1:, :-1]  # north-west
    rings[:, :, 3 * m + 1:4 * m] = v_in[:, :-1, ::-1]  # west edge, north to south
    rings[:, :, 4 * m] = corners_w[:-1, :-1]
    geoms = shapely.polygons(rings.reshape(nx * ny, 4 * m + 1, 2))
    if not shapely.is_valid(geoms).all():
        raise RuntimeError("generator bug: an invalid commune; lower the jitter or warp")

    n = nx * ny
    centres = shapely.get_coordinates(shapely.centroid(geoms))
    ids = np.array([f"{30001 + i:05d}" for i in range(n)], dtype=object)
    names = _names(rng, n, "Xã")
    province_names = _names(rng, scale.n_provinces, "Tỉnh")
    if scale.n_provinces == 1:
        province = np.zeros(n, dtype=np.int64)
    else:
        seeds = centres[rng.choice(n, scale.n_provinces, replace=False)]
        province = _nearest(centres, seeds)
    district_label = np.empty(n, dtype=object)
    for p in range(scale.n_provinces):
        members = np.flatnonzero(province == p)
        k = max(1, round(len(members) / 15))
        seeds = centres[rng.choice(members, k, replace=False)]
        near = _nearest(centres[members], seeds)
        dnames = _names(rng, k, "Huyện")
        district_label[members] = dnames[near]
    communes = gpd.GeoDataFrame(
        {
            "commune_id": ids,
            "commune_name": names,
            "district": district_label,
            "province": province_names[province],
        },
        geometry=geoms,
        crs=CRS,
    )
    bounds = (x0, y0, x0 + nx * cell_m, y0 + ny * cell_m)
    return communes, terms, bounds


# --------------------------------------------------------------------------- parcels


def _parcel_field(rng: np.random.Generator, bounds: tuple[float, ...], margin: float
                  ) -> dict[str, np.ndarray]:
    """Rectangular parcels in strips between the canals of a rotated grid.

    Returns arrays of centre (world), half width, half depth and block id of
    the parcels whose centre lies in ``bounds`` grown by ``margin``.
    """
    bx0, by0, bx1, by1 = bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, \
        bounds[3] + margin
    hw, hh = (bx1 - bx0) / 2, (by1 - by0) / 2
    ca, sa = math.cos(_FIELD_ANGLE_RAD), math.sin(_FIELD_ANGLE_RAD)
    half_u = hw * ca + hh * sa
    half_v = hw * sa + hh * ca

    # bands of two rows of parcels back to back, a canal between bands
    mean_band = 2 * np.mean(_DEPTH_M) + np.mean(_H_CANAL_M)
    n_bands = int(2 * half_v / mean_band * 1.2) + 10
    d1 = rng.uniform(*_DEPTH_M, n_bands)
    d2 = rng.uniform(*_DEPTH_M, n_bands)
    gap = rng.uniform(*_H_CANAL_M, n_bands)
    band_v0 = -half_v + np.concatenate([[0.0], np.cumsum(d1 + d2 + gap)[:-1]])
    row_v0 = np.stack([band_v0, band_v0 + d1], axis=1).ravel()
    row_depth = np.stack([d1, d2], axis=1).ravel()
    row_band = np.repeat(np.arange(n_bands), 2)
    keep = row_v0 < half_v
    row_v0, row_depth, row_band = row_v0[keep], row_depth[keep], row_band[keep]
    n_rows = len(row_v0)

    # widths laid end to end along all rows; a parcel that would run past the
    # end of its row is dropped
    row_len = 2 * half_u
    n_w = int(n_rows * row_len / np.mean(_WIDTH_M) * 1.03) + 1000
    width = rng.uniform(*_WIDTH_M, n_w)
    end = np.cumsum(width)
    if end[-1] < n_rows * row_len:
        raise RuntimeError("generator bug: too few parcel widths")
    start = end - width
    row = (start // row_len).astype(np.int64)
    ok = (row == ((end - 1e-9) // row_len).astype(np.int64)) & (row < n_rows)
    start, width, row = start[ok], width[ok], row[ok]
    u0 = start - row * row_len - half_u

    # canals across the rows; a parcel that straddles one is dropped
    spacing = rng.uniform(*_V_CANAL_SPACING_M, int(row_len / _V_CANAL_SPACING_M[0]) + 2)
    canal_u = -half_u + np.cumsum(spacing)
    canal_half = rng.uniform(*_V_CANAL_M, len(canal_u)) / 2
    col = np.searchsorted(canal_u, u0)
    left_clear = (col == 0) | (u0 >= canal_u[np.maximum(col - 1, 0)]
                               + canal_half[np.maximum(col - 1, 0)])
    cidx = np.minimum(col, len(canal_u) - 1)
    right_clear = (col >= len(canal_u)) | (u0 + width <= canal_u[cidx] - canal_half[cidx])
    ok = left_clear & right_clear
    u0, width, row, col = u0[ok], width[ok], row[ok], col[ok]

    uc = u0 + width / 2
    vc = row_v0[row] + row_depth[row] / 2
    cx = _CENTRE[0] + ca * uc - sa * vc
    cy = _CENTRE[1] + sa * uc + ca * vc
    inside = (cx >= bx0) & (cx <= bx1) & (cy >= by0) & (cy <= by1)
    return {
        "cx": cx[inside],
        "cy": cy[inside],
        "a": (width / 2 - _HALF_BUND_M)[inside],
        "c": (row_depth[row] / 2 - _HALF_BUND_M)[inside],
        "block": (row_band[row] * (len(canal_u) + 1) + col)[inside],
    }


def _rectangles(f: dict[str, np.ndarray], idx: np.ndarray) -> np.ndarray:
    """Untilted rectangles of the parcels ``idx`` (to test them cheaply)."""
    local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]], dtype=float)
    return _place(local[None, :, :] * np.stack([f["a"][idx], f["c"][idx]], axis=1)[:, None],
                  f["cx"][idx], f["cy"][idx], np.full(len(idx), _FIELD_ANGLE_RAD))


def _place(local: np.ndarray, cx: np.ndarray, cy: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """Polygons from local rings ``(n, k, 2)`` rotated by ``angle`` about ``(cx, cy)``."""
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    x = cx[:, None] + c * local[..., 0] - s * local[..., 1]
    y = cy[:, None] + s * local[..., 0] + c * local[..., 1]
    return shapely.polygons(np.stack([x, y], axis=-1))


def _shape_rings(kind: str, a: np.ndarray, c: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
    """Closed local rings ``(n, k, 2)`` of one parcel shape (counter-clockwise)."""
    n = len(a)
    cut = np.maximum(rng.uniform(0.1, 0.4, n) * np.minimum(a, c), 2.0)
    bend = rng.uniform(0.4, 1.4, n)  # inward, within the half bund
    m1 = rng.uniform(-0.3, 0.3, n) * c
    m2 = rng.uniform(-0.3, 0.3, n) * c
    z = np.zeros(n)
    pts: list[tuple[np.ndarray, np.ndarray]]
    if kind == "rect":
        pts = [(-a, -c), (a, -c), (a, c), (-a, c)]
    elif kind == "bowtie":
        pts = [(-a, -c), (a, -c), (-a, c), (a, c)]
    elif kind == "spike":
        spike = rng.uniform(5.0, 20.0, n)
        pts = [(-a, -c), (a, -c), (a, z), (a + spike, z), (a, z), (a, c), (-a, c)]
    elif kind == "cut":
        pts = [(-a, -c), (a, -c), (a, c - cut), (a - cut, c), (-a, c)]
    elif kind == "kink":
        pts = [(-a, -c), (a, -c), (a - bend, m1), (a, c), (-a, c), (-a + bend, m2)]
    elif kind == "cutkink":
        pts = [(-a + cut, -c), (a, -c), (a - bend, m1), (a, c - cut), (a - cut, c),
               (-a, c), (-a + bend, m2), (-a, -c + cut)]
    else:
        raise ValueError(kind)
    pts.append(pts[0])
    return np.stack([np.stack([px, py], axis=-1) for px, py in pts], axis=1)


def _copies(n_base: int, n_total: int, shape: str, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which base parcels are redrawn: ``(source, same_class_share, scale)`` per copy."""
    n_dup = n_total - n_base
    if shape == "sparse":
        return np.sort(rng.choice(n_base, n_dup, replace=False)), np.full(n_dup, 0.85), \
            np.ones(n_dup)
    k = rng.choice(len(_DENSE_COPIES_P), n_base, p=_DENSE_COPIES_P) + 1
    order = rng.permutation(n_base)
    take = np.searchsorted(np.cumsum(k[order]), n_dup, side="right") + 1
    src = np.sort(np.repeat(order[:take], k[order[:take]])[:n_dup])
    grow = np.where(rng.random(n_dup) < _DENSE_ENLARGED_SHARE,
                    rng.uniform(*_DENSE_ENLARGE, n_dup), 1.0)
    return src, np.full(n_dup, 0.95), grow


def _n_base(n_total: int, shape: str) -> int:
    """Base parcels of a layer of ``n_total`` (the rest are overlapping copies)."""
    if shape == "sparse":
        return n_total - round(_DUPLICATE_SHARE * n_total)
    mean_copies = float(np.dot(_DENSE_COPIES_P, np.arange(1, len(_DENSE_COPIES_P) + 1)))
    return round(n_total / (1 + _DENSE_SOURCE_SHARE * mean_copies))


def _make_parcels(scale: Scale, communes: gpd.GeoDataFrame, bounds: tuple[float, ...],
                  max_shift: float, rng: np.random.Generator, shape: str = "sparse"
                  ) -> tuple[gpd.GeoDataFrame, dict]:
    n_total = scale.n_parcels
    n_base = _n_base(n_total, shape)
    n_dup = n_total - n_base
    f = _parcel_field(rng, bounds, margin=max_shift)
    n_field = len(f["cx"])

    # drop parcels wholly outside the communes (tested near the outer edge only)
    union = shapely.coverage_union_all(communes.geometry.values)
    shapely.prepare(union)
    reach = max_shift + 200.0
    near = np.flatnonzero((f["cx"] < bounds[0] + reach) | (f["cx"] > bounds[2] - reach)
                          | (f["cy"] < bounds[1] + reach) | (f["cy"] > bounds[3] - reach))
    rects = _rectangles(f, near)
    keep = np.ones(n_field, dtype=bool)
    keep[near[~shapely.intersects(union, rects)]] = False

    # villages, orchards and ponds without parcels: random disks, then an
    # exact random sample
    cand = np.flatnonzero(keep)
    if len(cand) < n_base:
        raise RuntimeError(f"generator: {len(cand)} parcels fit, {n_base} wanted; "
                           "raise _COMMUNE_M2_PER_PARCEL")
    drop_share = max(0.0, 1.0 - 1.04 * n_base / len(cand))
    if drop_share > 0:
        mean_r2 = (500.0**3 - 100.0**3) / (3 * 400.0)
        area = (bounds[2] - bounds[0] + 2 * max_shift) * (bounds[3] - bounds[1] + 2 * max_shift)
        n_holes = rng.poisson(-math.log(1 - drop_share) / (math.pi * mean_r2) * area)
        if n_holes:
            hx = rng.uniform(bounds[0] - max_shift, bounds[2] + max_shift, n_holes)
            hy = rng.uniform(bounds[1] - max_shift, bounds[3] + max_shift, n_holes)
            hr = rng.uniform(100.0, 500.0, n_holes)
            dist, hole = cKDTree(np.stack([hx, hy], axis=1)).query(
                np.stack([f["cx"][cand], f["cy"][cand]], axis=1))
            in_hole = dist < hr[hole]
            kept, dropped = cand[~in_hole], cand[in_hole]
            if len(kept) < n_base:
                kept = np.concatenate([kept, rng.choice(dropped, n_base - len(kept),
                                                        replace=False)])
            cand = kept
    chosen = np.sort(rng.choice(cand, n_base, replace=False))
    cx, cy, a, c, block = (f[k][chosen] for k in ("cx", "cy", "a", "c", "block"))

    # shapes, each built as one array
    kinds = np.array(list(_SHAPES))
    kind = rng.choice(len(kinds), n_base, p=np.array(list(_SHAPES.values())))
    angle = _FIELD_ANGLE_RAD + rng.uniform(-_MAX_TILT_RAD, _MAX_TILT_RAD, n_base)
    geoms = np.empty(n_base, dtype=object)
    for k, name in enumerate(kinds):
        idx = np.flatnonzero(kind == k)
        if len(idx):
            geoms[idx] = _place(_shape_rings(str(name), a[idx], c[idx], rng),
                                cx[idx], cy[idx], angle[idx])

    # land use: one dominant class per canal block, some parcels differ
    codes = np.array(list(LAND_USES), dtype=object)
    weights = np.array(list(LAND_USES.values()))
    blocks, inverse = np.unique(block, return_inverse=True)
    dominant = rng.choice(len(codes), len(blocks), p=weights)[inverse]
    other = rng.choice(len(codes), n_base, p=weights)
    land_use = np.where(rng.random(n_base) < 0.85, dominant, other)

    # overlapping copies: exact duplicates or shifted a few metres, mostly same class
    src, same_share, grow = _copies(n_base, n_total, shape, rng)
    shift_len = np.where(rng.random(n_dup) < 0.3, 0.0, rng.uniform(3.0, 25.0, n_dup))
    shift_dir = rng.uniform(0, 2 * math.pi, n_dup)
    offsets = np.stack([shift_len * np.cos(shift_dir), shift_len * np.sin(shift_dir)], axis=1)
    n_coords = shapely.get_num_coordinates(geoms[src])
    centre = shapely.get_coordinates(shapely.centroid(geoms[src]))
    per_coord = np.repeat(offsets, n_coords, axis=0)
    per_centre = np.repeat(centre, n_coords, axis=0)
    per_grow = np.repeat(grow, n_coords)[:, None]
    # (copies drawn at their size are moved only: the sparse layer stays bit-identical)
    dups = shapely.transform(geoms[src], lambda xy: np.where(
        per_grow == 1.0, xy, per_centre + (xy - per_centre) * per_grow) + per_coord)
    dup_use = np.where(rng.random(n_dup) < same_share, land_use[src],
                       rng.choice(len(codes), n_dup, p=weights))

    order = np.argsort(np.concatenate([np.arange(n_base) * 2.0, src * 2.0 + 1.0]),
                       kind="stable")
    all_geoms = np.concatenate([geoms, dups])[order]
    all_use = codes[np.concatenate([land_use, dup_use])[order]]
    is_dup = np.concatenate([np.zeros(n_base, bool), np.ones(n_dup, bool)])[order]
    season = np.array(SEASONS, dtype=object)[rng.integers(0, 2, n_total)]
    ids = pd.Series(np.arange(1, n_total + 1)).astype(str).str.zfill(7).radd("P")
    parcels = gpd.GeoDataFrame(
        {"parcel_id": ids.to_numpy(dtype=object), "land_use": all_use, "season": season},
        geometry=all_geoms, crs=CRS,
    )
    stats = {
        "n_field_parcels": int(n_field),
        "n_duplicates": int(n_dup),
        "n_exact_duplicates": int((shift_len == 0).sum()),
        "n_invalid": int((~shapely.is_valid(all_geoms)).sum()),
        "shape_counts": {str(k): int((kind == i).sum()) for i, k in enumerate(kinds)},
        "is_duplicate_share": float(is_dup.mean()),
        "n_enlarged_copies": int((grow > 1).sum()),
    }
    return parcels, stats


# --------------------------------------------------------------------------- public


def repair(parcels: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, int]:
    """Repair invalid geometries with ``shapely.make_valid``, keeping polygonal parts.

    Parameters
    ----------
    parcels : geopandas.GeoDataFrame
        Any polygon layer.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy whose invalid geometries are replaced by the polygons and
        multipolygons that ``make_valid`` finds in them (a ``MultiPolygon``,
        empty if none).
    int
        How many geometries were repaired.
    """
    geoms = parcels.geometry.values.to_numpy()
    bad = np.flatnonzero(~shapely.is_valid(geoms))
    if len(bad) == 0:
        return parcels, 0
    fixed = shapely.make_valid(geoms[bad])
    parts, owner = shapely.get_parts(fixed, return_index=True)
    # a GeometryCollection may hold a MultiPolygon: flatten once more
    parts, sub = shapely.get_parts(parts, return_index=True)
    owner = owner[sub]
    poly = shapely.get_type_id(parts) == 3
    out = np.array([shapely.MultiPolygon()] * len(bad), dtype=object)
    if poly.any():
        present = np.unique(owner[poly])
        out[present] = shapely.multipolygons(parts[poly], indices=np.searchsorted(
            present, owner[poly]))
    geoms = geoms.copy()
    geoms[bad] = out
    result = parcels.copy()
    result[result.geometry.name] = gpd.GeoSeries(geoms, index=parcels.index, crs=parcels.crs)
    return result, len(bad)


def _overlap_facts(parcels: gpd.GeoDataFrame) -> dict:
    """Share of parcels overlapping another of their land use, and the cluster sizes.

    Overlap = intersection with positive area (above 1e-9 of the smaller
    parcel); clusters = connected groups of overlapping same-class parcels.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    geoms = shapely.make_valid(parcels.geometry.values.to_numpy())
    use = parcels["land_use"].to_numpy()
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = (i < j) & (use[i] == use[j])
    i, j = i[keep], j[keep]
    area = shapely.area(geoms)
    over = shapely.area(shapely.intersection(geoms[i], geoms[j])) \
        > 1e-9 * np.minimum(area[i], area[j])
    i, j = i[over], j[over]
    n = len(geoms)
    _, comp = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)),
                                   directed=False)
    member = np.zeros(n, dtype=bool)
    member[i] = member[j] = True
    sizes = np.bincount(np.bincount(comp[member]))
    return {
        "overlap_share": float(member.mean()),
        "n_overlapping_pairs": len(i),
        "n_clusters": int(sizes[2:].sum()) if len(sizes) > 2 else 0,
        "cluster_sizes": {str(k): int(v) for k, v in enumerate(sizes) if k >= 2 and v},
    }


def cache_path(scale: str, seed: int = DEFAULT_SEED, *, shape: str = "sparse") -> Path:
    """Folder of the cached layers of ``scale``, ``seed`` and ``shape``."""
    return CACHE_DIR / (f"{scale}-seed{seed}-v{GEN_VERSION}" if shape == "sparse"
                        else f"{scale}-{shape}-seed{seed}-v{GEN_VERSION}")


def generate(scale: str, seed: int = DEFAULT_SEED, *, shape: str = "sparse"
             ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """Generate the communes and parcels of ``scale`` (no cache).

    Parameters
    ----------
    scale : {"tiny", "province", "national"}
        Size of the data set, see :data:`SCALES`.
    seed : int
        Seed of the random generator; equal seeds give equal layers.
    shape : {"sparse", "dense"}
        How much the parcels overlap (see the module docstring); the
        communes are the same.

    Returns
    -------
    parcels, communes : geopandas.GeoDataFrame
        In EPSG:32648, canonical columns.
    dict
        Facts about the data (counts, shares, timings).
    """
    sc = SCALES[scale]
    t0 = time.perf_counter()
    rng = np.random.default_rng([seed, sc.n_communes, sc.n_parcels])
    cell_m = math.sqrt(sc.n_parcels / sc.n_communes * _COMMUNE_M2_PER_PARCEL)
    communes, terms, bounds = _make_communes(sc, cell_m, rng)
    max_shift = _max_displacement(terms)
    parcels, stats = _make_parcels(sc, communes, bounds, max_shift, rng, shape)
    seconds = time.perf_counter() - t0

    # facts, measured on the result
    geoms = parcels.geometry.values.to_numpy()
    union = shapely.coverage_union_all(communes.geometry.values)
    shapely.prepare(union)
    within_union = shapely.contains(union, shapely.make_valid(geoms))
    sample = rng.choice(len(geoms), min(len(geoms), 20_000), replace=False)
    tree = shapely.STRtree(communes.geometry.values)
    pairs = tree.query(shapely.make_valid(geoms[sample]), predicate="intersects")
    hits = np.bincount(pairs[0], minlength=len(sample))
    c_area = communes.area.to_numpy()
    meta = {
        "scale": scale,
        "shape": shape,
        "seed": seed,
        "generator_version": GEN_VERSION,
        "crs": CRS,
        "n_communes": len(communes),
        "n_parcels": len(parcels),
        "commune_cell_m": round(cell_m, 1),
        "commune_vertices_mean": float(shapely.get_num_coordinates(
            communes.geometry.values).mean()),
        "commune_area_ha_mean": float(c_area.mean() / 1e4),
        "partition_gap_ha": float((c_area.sum() - union.area) / 1e4),
        "parcel_vertices_mean": float(shapely.get_num_coordinates(geoms).mean() - 1),
        "parcel_area_ha_range": [float(parcels.area.quantile(q) / 1e4)
                                 for q in (0.0, 0.01, 0.5, 0.99, 1.0)],
        "crossing_share_sample": float((hits > 1).mean()),
        "outside_every_commune_sample": float((hits == 0).mean()),
        "n_partly_or_wholly_outside": int((~within_union).sum()),
        "land_use_counts": parcels["land_use"].value_counts().to_dict(),
        "season_counts": parcels["season"].value_counts().to_dict(),
        "generate_seconds": round(seconds, 2),
        **stats,
        **_overlap_facts(parcels),
    }
    return parcels, communes, meta


def load(scale: str, seed: int = DEFAULT_SEED, *, regenerate: bool = False,
         shape: str = "sparse") -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """Read the layers of ``scale`` from the cache, generating them first if needed.

    Parameters
    ----------
    scale : {"tiny", "province", "national"}
        Size of the data set.
    seed : int
        Seed of the generator.
    regenerate : bool
        Generate and overwrite the cache even if it exists.
    shape : {"sparse", "dense"}
        How much the parcels overlap.

    Returns
    -------
    parcels, communes : geopandas.GeoDataFrame
        Raw parcels (invalid ones not repaired: see :func:`repair`) and communes.
    dict
        The facts written by :func:`generate`.
    """
    folder = cache_path(scale, seed, shape=shape)
    files = [folder / "parcels.parquet", folder / "communes.parquet", folder / "meta.json"]
    if regenerate or not all(p.exists() for p in files):
        parcels, communes, meta = generate(scale, seed, shape=shape)
        folder.mkdir(parents=True, exist_ok=True)
        for frame, path in ((parcels, files[0]), (communes, files[1])):
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            frame.to_parquet(tmp, index=False)
            tmp.replace(path)
        tmp = files[2].with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(meta, indent=2, ensure_ascii=False))
        tmp.replace(files[2])
        return parcels, communes, meta
    parcels = gpd.read_parquet(files[0])
    communes = gpd.read_parquet(files[1])
    return parcels, communes, json.loads(files[2].read_text())


def main(argv: list[str] | None = None) -> None:
    """Build (or read) the cache of one scale and print its facts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", choices=list(SCALES), default="tiny")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--shape", choices=SHAPES, default="sparse")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    _, _, meta = load(args.scale, args.seed, regenerate=args.regenerate, shape=args.shape)
    print(json.dumps(meta, indent=2, ensure_ascii=False))
    print(f"# {cache_path(args.scale, args.seed, shape=args.shape)} ready in "
          f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
