"""A synthetic Mekong-delta district, modelled on the Vĩnh Hưng report (seed 000).

Everything here is **synthetic**: the ten communes of old Huyện Vĩnh Hưng
(Tỉnh Long An) keep their real names and pre-2025 codes, but every geometry is
made up (a slightly rotated canal grid, two winding streams and a winding
border), and every enterprise, cooperative, parcel and holder is fictional.
The numbers of the district's mid-2024 report are reproduced: 23,865 ha of
production linkage counted once, 12 supported and 5 self-replicated 50 ha
models in HT 2024, the 400 ha and 50 ha models of DX 2023-2024, the
high-tech rice models of the seasons DX 2016-2017 to HT 2023 behind the
cumulative figures (6,400 ha in 2021-2024, 3,300 ha of them supported and
3,100 ha self-replicated; 11,873 ha in 2017-2024), 8 province
works (26 billion VND), 23 district works (14.61 billion VND) and 4 power
works (4.4 billion VND serving 1,030 ha), and the targets of the resolution,
plan and roadmap.

The generator is deterministic (a :class:`numpy.random.Generator` with a
fixed seed), needs no network and runs in about a second.

Layers (keys of :func:`build_layers`), each in the CRS of its file:

========================  ===========================  ==========
key                       file                         CRS
========================  ===========================  ==========
``communes``              boundaries/communes.gpkg     EPSG:9210
``canals`` (no kind yet)  demo/canals.gpkg             EPSG:9210
``zones``                 demo/zones.kml (LIBKML)      EPSG:4326
``models``                demo/models.geojson          EPSG:4326
``works``                 demo/works.gpkg              EPSG:9210
``power``                 demo/power.gpkg              EPSG:9210
``pumps``                 demo/pumps.csv (lon, lat)    EPSG:4326
``cooperatives``          demo/cooperatives.xlsx (x,y) EPSG:9210
``parcels``               demo/parcels.gpkg            EPSG:9210
``targets``               demo/targets.csv             (table)
========================  ===========================  ==========

Regenerate the bundled copy with ``python -m geoagri.datasets.synthetic data``.

Examples
--------
>>> from geoagri.datasets.synthetic import build_layers
>>> layers = build_layers()
>>> len(layers["communes"]), layers["communes"].crs.to_epsg()
(10, 9210)
>>> round(float(layers["communes"].area.sum()) / 1e4, -2)
38200.0
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import polygonize, unary_union

from geoagri.io import replace_file

__all__ = [
    "DEFAULT_SEED",
    "LINKAGE_AREA_HA",
    "METRIC_CRS",
    "build_layers",
    "main",
    "write_demo",
]

log = logging.getLogger("geoagri")

#: The seed of the bundled demo.
DEFAULT_SEED = 2024
#: VN-2000 / TM-3 105-45, the metric CRS of Long An.
METRIC_CRS = "EPSG:9210"
#: Production-linkage area of the district, counted once (seed 000: "23.865 ha").
LINKAGE_AREA_HA = 23_865.0

DISTRICT = "Huyện Vĩnh Hưng"
PROVINCE = "Tỉnh Long An"
NOTE = "synthetic demo data"

# letter on the layout map -> (old commune code, name, type)
_COMMUNES = {
    "A": ("27757", "Thị trấn Vĩnh Hưng", "thị trấn"),
    "B": ("27760", "Xã Hưng Điền A", "xã"),
    "C": ("27763", "Xã Khánh Hưng", "xã"),
    "D": ("27766", "Xã Thái Trị", "xã"),
    "E": ("27769", "Xã Vĩnh Trị", "xã"),
    "F": ("27772", "Xã Thái Bình Trung", "xã"),
    "G": ("27775", "Xã Vĩnh Bình", "xã"),
    "H": ("27778", "Xã Vĩnh Thuận", "xã"),
    "I": ("27781", "Xã Tuyên Bình", "xã"),
    "J": ("27784", "Xã Tuyên Bình Tây", "xã"),
}

# Which commune owns each secondary-canal block: 20 columns (west -> east),
# 17 rows (top line = row 16, at the border; bottom line = row 0).  Columns 5-6
# of rows 12-16 and columns 7-8 of rows 0-3 are split by winding streams.
_LAYOUT = """
BBBBBCCCCCCDDDDDDEEE
BBBBBCCCCCCDDDDDDEEE
BBBBBCCCCCCDDDDDDEEE
BBBBBCCCCCCDDDDDDEEE
BBBBBCCCCCCDDDDDDEEE
BBBCCCCCCCCDDDDDEEEE
BBBCCCCCCCCDDDDDEEEE
BBBCCCCCAAAADDDDEEEE
BBBCCCCCAAAADDDDEEEE
FFFFFFFFAAAAGGGGEEEE
FFFFFFFFAAAAGGGGEEEE
FFFFFFFFAAAAGGGGGGGG
FFFFFFFFGGGGGGGGGGGG
HHHHHHHHIIIIIIJJJJJJ
HHHHHHHHIIIIIIJJJJJJ
HHHHHHHHIIIIIIJJJJJJ
HHHHHHHHIIIIIIJJJJJJ
""".split()

# Main canals of the local grid, m (u east-ish, v north-ish); secondary canals
# split each main interval in four, about 1.1 km apart.
_U_MAIN = (0.0, 4400.0, 8900.0, 13300.0, 17800.0, 22000.0)
_V_MAIN = (0.0, 4300.0, 8800.0, 13200.0)
_V_NORTH = (14300.0, 15400.0, 16500.0, 17600.0)
_ROTATION_DEG = 7.0
_ORIGIN = (489_950.0, 1_195_325.0)  # EPSG:9210 position of local (0, 0)
_TOP = 19_000.0  # beyond the northern border

_PARTNERS = {
    "A": "Công ty TNHH Lương thực Demo A",
    "B": "Công ty CP Nông sản Demo B",
    "C": "Công ty TNHH Lương thực Demo C",
    "D": "Công ty TNHH Gạo Demo D",
    "E": "Công ty TNHH Sen Demo E",
    "F": "Công ty TNHH Rau sạch Demo F",
}

# coop_id, name, type, commune letter, partner letter, high_tech, value_chain, founded
_COOPS = [
    ("HTX01", "HTX Nông nghiệp Tuyên Bình Tây", "htx", "J", "A", True, True, 2012),
    ("HTX02", "HTX công nghệ cao Khánh Hưng", "htx", "C", "B", True, True, 2019),
    ("HTX03", "HTX Nông nghiệp Thái Trị", "htx", "D", "C", True, True, 2015),
    ("HTX04", "HTX Nông nghiệp Tuyên Bình", "htx", "I", "A", True, True, 2014),
    ("HTX05", "HTX Nông nghiệp Vĩnh Trị", "htx", "E", "C", False, True, 2017),
    ("HTX06", "HTX Nông nghiệp Hưng Điền A", "htx", "B", "B", True, True, 2016),
    ("HTX07", "HTX Nông nghiệp Thái Bình Trung", "htx", "F", "A", False, True, 2018),
    ("HTX08", "HTX Nông nghiệp Vĩnh Bình", "htx", "G", "D", False, True, 2020),
    ("HTX09", "HTX Nông nghiệp Vĩnh Thuận", "htx", "H", "B", True, True, 2013),
    ("HTX10", "HTX Sen Vĩnh Hưng", "htx", "A", "E", False, True, 2021),
    ("THT01", "THT Rau an toàn Thị trấn Vĩnh Hưng", "tht", "A", "F", False, True, 2019),
    ("THT02", "THT Lúa giống Thái Bình Trung", "tht", "F", None, False, False, 2016),
    ("THT03", "THT Sản xuất lúa Vĩnh Trị", "tht", "E", None, False, False, 2022),
    ("HQ01", "Hội quán Nông dân Khánh Hưng", "hoi_quan", "C", None, False, False, 2018),
    ("HQ02", "Hội quán Nông dân Vĩnh Thuận", "hoi_quan", "H", None, False, False, 2019),
]
_COOP_OF = {c[3]: c[1] for c in reversed(_COOPS) if c[2] == "htx"}  # commune -> main HTX


def _coop(key: str) -> str:
    """A cooperative name from a commune letter (its main HTX) or the name itself."""
    return _COOP_OF[key] if len(key) == 1 else key

_SOURCE_REFS = {
    "resolution": "NQ 36/NQ-HĐND ngày 30/6/2022",
    "plan": "KH 5730/KH-UBND ngày 22/12/2023",
    "roadmap": "Lộ trình kèm NQ 36/NQ-HĐND ngày 30/6/2022",
    "province_assigned": "Chỉ tiêu tỉnh giao đến năm 2025",
}


# --------------------------------------------------------------------------- frame


class _Frame:
    """The local grid frame (u, v in metres) and its placement in EPSG:9210."""

    def __init__(self, rng: np.random.Generator):
        def subdivide(main: Sequence[float]) -> list[float]:
            out: list[float] = []
            for a, b in itertools.pairwise(main):
                out += [a + (b - a) * k / 4 for k in range(4)]
            return [*out, main[-1]]

        def jitter(values: list[float], main: Sequence[float]) -> np.ndarray:
            return np.array([v if v in main else round(v + rng.uniform(-60, 60), 1)
                             for v in values])

        self.u = jitter(subdivide(_U_MAIN), _U_MAIN)
        self.v = jitter(subdivide(_V_MAIN) + list(_V_NORTH), _V_MAIN)
        self.u_main = set(_U_MAIN)
        self.v_main = set(_V_MAIN)
        c = math.cos(math.radians(_ROTATION_DEG))
        s = math.sin(math.radians(_ROTATION_DEG))
        x0, y0 = _ORIGIN
        self._fwd = [c, -s, s, c, x0, y0]
        self._inv = [c, s, -s, c, -(c * x0 + s * y0), -(-s * x0 + c * y0)]
        us = np.linspace(0.0, 22_000.0, 221)
        self.outline = Polygon([(0.0, 0.0), (22_000.0, 0.0),
                                *zip(us[::-1], self.top(us[::-1]), strict=True)])
        vs = np.linspace(13_000.0, 18_600.0, 200)
        self.stream_north = LineString(np.c_[self.stream_north_u(vs), vs])
        vs = np.linspace(-300.0, 4_450.0, 200)
        self.stream_south = LineString(np.c_[self.stream_south_u(vs), vs])

    @staticmethod
    def top(u: np.ndarray) -> np.ndarray:
        """The winding northern border (with Cambodia), v in m."""
        return (17_350.0 + 500.0 * np.sin(2 * np.pi * u / 11_000 + 0.7)
                + 200.0 * np.sin(2 * np.pi * u / 3_700 + 1.9))

    @staticmethod
    def stream_north_u(v: np.ndarray) -> np.ndarray:
        """The stream between Hưng Điền A and Khánh Hưng, u in m."""
        return (6_650.0 + 300.0 * np.sin(2 * np.pi * (v - 13_200) / 2_600)
                + 120.0 * np.sin(2 * np.pi * v / 900))

    @staticmethod
    def stream_south_u(v: np.ndarray) -> np.ndarray:
        """The stream between Vĩnh Thuận and Tuyên Bình, u in m."""
        return (8_900.0 + 350.0 * np.sin(2 * np.pi * v / 2_900 + 0.5)
                + 100.0 * np.sin(2 * np.pi * v / 800))

    def world(self, geom, grid: float = 0.01):
        """Local geometry -> EPSG:9210 geometry on a ``grid`` m grid."""
        out = affinity.affine_transform(geom, self._fwd)
        return shapely.set_precision(out, grid) if grid else out

    def local(self, geom):
        """EPSG:9210 geometry -> local geometry."""
        return affinity.affine_transform(geom, self._inv)

    def cell_of(self, u: float, v: float) -> tuple[int, int]:
        """(column, row) of the secondary-canal block holding local point (u, v)."""
        col = int(np.clip(np.searchsorted(self.u, u) - 1, 0, 19))
        row = int(np.clip(np.searchsorted(self.v, v) - 1, 0, 16))
        return col, row

    def block(self, c0: int, c1: int, r0: int, r1: int) -> Polygon:
        """Local polygon of blocks c0..c1 x r0..r1 (inclusive), inside the district."""
        v1 = self.v[r1 + 1] if r1 + 1 < len(self.v) else _TOP
        return box(self.u[c0], self.v[r0], self.u[c1 + 1], v1).intersection(self.outline)

    def letter(self, u: float, v: float) -> str:
        """Commune letter of a local point (layout map and the two streams)."""
        col, row = self.cell_of(u, v)
        if v > _V_MAIN[3] and self.u[5] < u < self.u[7]:
            return "B" if u < float(self.stream_north_u(np.array(v))) else "C"
        if v < _V_MAIN[1] and self.u[7] < u < self.u[9]:
            return "H" if u < float(self.stream_south_u(np.array(v))) else "I"
        return _LAYOUT[16 - row][col]


# --------------------------------------------------------------------------- layers


def _communes(frame: _Frame, rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, dict]:
    """Communes as a clean partition; also returns their local polygons by letter."""
    lines = [frame.outline.exterior, frame.stream_north, frame.stream_south]
    lines += [LineString([(u, -200.0), (u, _TOP)]) for u in frame.u]
    lines += [LineString([(-200.0, v), (22_200.0, v)]) for v in frame.v]
    # node and polygonise in EPSG:9210, then give each face to a commune
    net = unary_union([frame.world(g, grid=0) for g in lines])
    faces: dict[str, list[Polygon]] = {}
    for face in polygonize(net.geoms):
        p = frame.local(face.representative_point())
        if frame.outline.contains(p):
            faces.setdefault(frame.letter(p.x, p.y), []).append(face)
    rows, local = [], {}
    for letter, (code, name, ctype) in _COMMUNES.items():
        geom = shapely.set_precision(unary_union(faces[letter]), 0.01)
        local[letter] = frame.local(geom)
        rows.append({"commune_id": code, "commune_name": name, "district": DISTRICT,
                     "province": PROVINCE, "commune_type": ctype,
                     "population": int(rng.integers(6_000, 16_000) // 10 * 10),
                     "note": NOTE, "geometry": geom})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS), local


def _canals(frame: _Frame) -> gpd.GeoDataFrame:
    main_u = [f"Kênh trục {i}" for i in range(1, 7)]
    main_v = [f"Kênh ngang {i}" for i in range(1, 5)]
    rows = []
    k_main = k_sec = 0
    for u in frame.u:
        line = LineString([(u, 0.0), (u, _TOP)])
        rows.append((u in frame.u_main, line, main_u, list(_U_MAIN).index(u)
                     if u in frame.u_main else None))
    for v in frame.v:
        line = LineString([(0.0, v), (22_000.0, v)])
        rows.append((v in frame.v_main, line, main_v, list(_V_MAIN).index(v)
                     if v in frame.v_main else None))
    out = []
    for is_main, line, names, idx in rows:
        geom = line.intersection(frame.outline)
        if geom.is_empty:
            continue
        if is_main:
            k_main += 1
            cid, name, cls = f"KC{k_main:02d}", names[idx], "main"
        else:
            k_sec += 1
            cid, name, cls = f"K2-{k_sec:02d}", f"Kênh cấp 2 số {k_sec}", "secondary"
        out.append({"canal_id": cid, "name": name, "canal_class": cls,
                    "geometry": frame.world(geom)})
    return gpd.GeoDataFrame(out, geometry="geometry", crs=METRIC_CRS)


def _majority_commune(geom_local, communes_local: dict) -> str:
    best = max(communes_local, key=lambda k: communes_local[k].intersection(geom_local).area)
    return _COMMUNES[best][0]


def _to_lonlat(geom_9210) -> object:
    g = gpd.GeoSeries([geom_9210], crs=METRIC_CRS).to_crs("EPSG:4326").iloc[0]
    return shapely.set_precision(g, 1e-7)


# zone_id, kind, crop, season, partner, commune letter of the cooperative,
# blocks (c0, c1, r0, r1), certification, start_year
_LINKAGE = [
    ("LK01", "rice", "DX 2023-2024", "A", "J", (14, 19, 0, 2), "VietGAP", 2018),
    ("LK02", "rice", "HT 2024", "A", "I", (8, 13, 1, 3), None, 2019),
    ("LK03", "rice", "DX 2023-2024", "B", "C", (5, 10, 10, 14), "SRP", 2020),
    ("LK04", "rice", "DX 2023-2024", "B", "B", (0, 4, 12, 15), None, 2021),
    ("LK05", "rice", "HT 2024", "C", "D", (12, 17, 12, 15), None, 2020),
    ("LK06", "rice", "DX 2023-2024", "C", "E", (16, 19, 6, 10), None, 2022),
    ("LK07", "rice", "DX 2023-2024", "A", "F", (0, 5, 4, 6), "VietGAP", 2019),
    ("LK08", "rice", "HT 2024", "D", "G", (12, 15, 4, 6), None, 2023),
    ("LK09", "rice", "DX 2023-2024", "B", "H", (0, 6, 0, 2), None, 2017),
    ("LK10", "lotus", "HT 2024", "E", "A", (8, 9, 6, 7), "organic", 2021),
    ("LK11", "vegetables", "HT 2024", "F", "THT Rau an toàn Thị trấn Vĩnh Hưng",
     (10, 10, 8, 8), "VietGAP", 2019),
    ("LK12", "rice", "HT 2024", "D", "C", (8, 11, 9, 11), None, 2023),
    ("LK13", "rice", "HT 2024", "C", "J", (12, 15, 2, 4), None, 2024),
]
# the last linkage zone: blocks from column 12, rows 7..9, its eastern edge set
# so that the linkage area counted once is LINKAGE_AREA_HA
_LINKAGE_LAST = ("LK14", "rice", "DX 2023-2024", "D", "D", 12, (7, 9), None, 2024)

_CROP_VI = {"rice": "lúa", "lotus": "sen", "vegetables": "rau"}

_PRODUCTION = [
    ("SX01", "Vùng sản xuất lúa chất lượng cao phía Nam", "active", (0, 19, 0, 3), 2021),
    ("SX02", "Vùng nguyên liệu lúa Khánh Hưng – Hưng Điền A", "active", (0, 10, 10, 16), 2021),
    ("SX03", "Vùng sản xuất sen tập trung Thị trấn", "planned", (8, 11, 5, 7), 2025),
]
_AREA_CODES = [
    ("MS01", "rice", "LA-VH-0001", "GlobalGAP", "J", (17, 17, 1, 1), 2022),
    ("MS02", "rice", "LA-VH-0002", "VietGAP", "C", (8, 8, 12, 12), 2022),
    ("MS03", "rice", "LA-VH-0003", "SRP", "F", (2, 2, 5, 5), 2023),
    ("MS04", "lotus", "LA-VH-0004", "organic", "A", (9, 9, 7, 7), 2023),
]


def _linkage_text(crop: str, coop: str, partner: str) -> str:
    return f"Vùng liên kết sản xuất {_CROP_VI[crop]} – {_coop(coop)} – {_PARTNERS[partner]}"


def _zones(frame: _Frame, communes_local: dict) -> gpd.GeoDataFrame:
    rows = []

    def add(zid, kind, crop, season, partner, coop, local_geom, status, area_code, cert,
            start, description):
        world = frame.world(local_geom)
        rows.append({
            "zone_id": zid, "zone_kind": kind, "crop": crop, "season": season,
            "partner": _PARTNERS[partner] if partner else None, "cooperative": coop,
            "status": status, "area_code": area_code, "certification": cert,
            "start_year": start, "commune_id": _majority_commune(local_geom, communes_local),
            "declared_area_ha": float(round(world.area / 1e4)),
            "description": description, "geometry": _to_lonlat(world),
        })

    linkage_local = []
    for zid, crop, season, partner, coop, cells, cert, start in _LINKAGE:
        geom = frame.block(*cells)
        linkage_local.append(geom)
        add(zid, "linkage", crop, season, partner, _coop(coop), geom, "active", None, cert,
            start, _linkage_text(crop, coop, partner))

    zid, crop, season, partner, coop, c0, (r0, r1), cert, start = _LINKAGE_LAST
    base = unary_union(linkage_local)
    v1 = frame.v[r1 + 1]

    def last(u1: float) -> Polygon:
        return box(frame.u[c0], frame.v[r0], u1, v1).intersection(frame.outline)

    lo, hi = frame.u[c0] + 1.0, frame.u[-1]
    target_m2 = LINKAGE_AREA_HA * 1e4
    if not base.union(last(lo)).area < target_m2 < base.union(last(hi)).area:
        raise RuntimeError("the demo's linkage layout cannot reach the linkage target")
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if base.union(last(mid)).area < target_m2 else (lo, mid)
    add(zid, "linkage", crop, season, partner, _coop(coop), last(round(lo, 2)), "active",
        None, cert, start, _linkage_text(crop, coop, partner))

    for zid, name, status, cells, start in _PRODUCTION:
        crop = "lotus" if "sen" in name else "rice"
        add(zid, "production", crop, None, None, None, frame.block(*cells), status, None, None,
            start, name)
    for zid, crop, code, cert, coop, cells, start in _AREA_CODES:
        add(zid, "area_code", crop, None, None, _COOP_OF[coop], frame.block(*cells), "active",
            code, cert, start, f"Mã số vùng trồng {code} ({cert})")
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    gdf["start_year"] = gdf["start_year"].astype("int64")
    return gdf


def _place_squares(frame: _Frame, rng: np.random.Generator, communes_local: dict,
                   requests: list[tuple[str, float]], taken: list[Polygon],
                   margin: float = 40.0) -> list[Polygon]:
    """Axis-aligned (local) squares of the given areas, inside communes, not overlapping."""
    out = []
    for letter, area_ha in requests:
        side = math.sqrt(area_ha * 1e4)
        poly = communes_local[letter]
        inner = poly.buffer(-margin)
        minx, miny, maxx, maxy = poly.bounds
        for _ in range(5_000):
            x = rng.uniform(minx, maxx - side)
            y = rng.uniform(miny, maxy - side)
            sq = box(x, y, x + side, y + side)
            if inner.contains(sq) and not any(sq.distance(t) < margin for t in taken):
                break
        else:  # pragma: no cover - the layout leaves ample room
            raise RuntimeError(f"no room for a {area_ha} ha square in commune {letter}")
        taken.append(sq)
        out.append(sq)
    return out


# High-tech rice models of the seasons before 2024 (seed 000: "từ năm 2021 đến 20/5/2024 là
# 6.400ha … hỗ trợ … 3.300ha, … tự nhân rộng … 3.100ha"; "từ năm 2017 đến tháng 5/2024 là
# 11.873ha").  Season -> (supported, self-replicated), each "letter:ha" one model; letters
# are those of _COMMUNES.  By harvest year the seasons add up to 923, 1,250, 1,550 and
# 1,750 ha in 2017-2020 (5,473 ha) and to 1,600 (850 supported), 1,700 (750) and 1,800
# (650) ha in 2021-2023, so that with 2024's 1,300 ha (1,050 supported: 450 in DX
# 2023-2024 and 600 in HT 2024; 250 self) 2021-2024 gives 6,400 ha (3,300 supported,
# 3,100 self) and 2017-2024 gives 11,873 ha.  The Tuyên Bình Tây areas above 50 ha are
# parts of its 400 ha field of DX 2023-2024; a commune's models start once its main HTX
# exists (founded_year in _COOPS).
_HISTORY = {
    "DX 2016-2017": ("J:173 I:50 H:50", ""),
    "HT 2017": ("J:400 D:100 B:100 H:50", ""),
    "DX 2017-2018": ("J:400 D:100 B:100 I:50 H:50 E:50", ""),
    "HT 2018": ("J:300 D:50 B:50 I:50 F:50", ""),
    "DX 2018-2019": ("J:400 D:100 B:100 I:50 H:50 F:50 E:50", "H:50"),
    "HT 2019": ("J:300 C:50 D:50 I:50 B:50", "H:50 I:50 D:50 J:50"),
    "DX 2019-2020": ("J:400 C:50 D:100 B:100 I:50 E:50", "H:50 I:50 D:50 J:50"),
    "HT 2020": ("G:50 J:300 C:50 H:50", "B:50 D:50 I:50 J:50 H:50 E:50 C:50"),
    "DX 2020-2021": ("J:400 D:100 B:50 I:50", "H:50 I:50 D:50 J:50 B:50 E:50 C:50 G:50"),
    "HT 2021": ("J:150 C:50 G:50", "H:50 I:50 D:50 J:50 B:50 E:50 F:50"),
    "DX 2021-2022": ("J:400 D:50 B:50", "H:50 H:50 I:50 D:50 J:50 J:50 B:50 E:50 C:50 G:50"),
    "HT 2022": ("J:50 C:50 E:50 I:50 H:50", "H:50 D:50 B:50 C:50 E:50 G:50 I:50 J:50 F:50"),
    "DX 2022-2023": ("J:400 C:50",
                     "H:50 H:50 I:50 I:50 D:50 J:50 B:50 B:50 E:50 C:50 G:50 F:50"),
    "HT 2023": ("D:50 I:50 B:50 G:50", "H:50 I:50 D:50 J:50 B:50 C:50 E:50 G:50 F:50 H:50 C:50"),
}
# spare 50 ha fields per commune beyond a season's need, so seasons use different fields
_SPARE_FIELDS = 2


def _season_tag(season: str) -> str:
    """Short season tag of a model id: ``DX 2023-2024`` -> ``DX2324``, ``HT 2020`` -> ``HT20``."""
    kind, years = season.split(maxsplit=1)
    return kind + "".join(y[-2:] for y in years.split("-"))


def _history_spec() -> list[tuple[str, str, str, float]]:
    """(season, support, commune letter, area ha) of every model of :data:`_HISTORY`."""
    out = []
    for season, groups in _HISTORY.items():
        for support, text in zip(("supported", "self"), groups, strict=True):
            for item in text.split():
                letter, area = item.split(":")
                out.append((season, support, letter, float(area)))
    return out


def _history_fields(frame: _Frame, rng: np.random.Generator, communes_local: dict,
                    spec: list[tuple[str, str, str, float]], big: Polygon
                    ) -> list[Polygon]:
    """Local polygons of the historical models: fields reused from season to season.

    Each commune gets a pool of non-overlapping fields (squares): for every
    size above 50 ha one field, and for 50 ha as many as a season needs at
    most plus :data:`_SPARE_FIELDS`; each season draws its 50 ha models from
    the pool at random, so models of one season never overlap while the same
    fields come back in other seasons.  The Tuyên Bình Tây areas above 50 ha
    are the southern part of ``big`` (its 400 ha field of DX 2023-2024).
    """
    need: dict[tuple[str, float], int] = {}
    for season in _HISTORY:
        counts: dict[tuple[str, float], int] = {}
        for s, _, letter, area in spec:
            if s == season and not (letter == "J" and area > 50):
                counts[letter, area] = counts.get((letter, area), 0) + 1
        for key, n in counts.items():
            need[key] = max(need.get(key, 0), n)
    requests = []
    for (letter, area), n in sorted(need.items()):
        requests += [(letter, area)] * (n + _SPARE_FIELDS if area == 50 else n)
    squares = _place_squares(frame, rng, communes_local, requests, [big])
    pool: dict[tuple[str, float], list[Polygon]] = {}
    for key, sq in zip(requests, squares, strict=True):
        pool.setdefault(key, []).append(sq)
    x0, y0, x1, _ = big.bounds
    out = []
    for season in _HISTORY:
        items = [(letter, area) for s, _, letter, area in spec if s == season]
        drawn = {key: iter(rng.permutation(len(pool[key])))
                 for key in sorted(set(items)) if key in pool}
        for letter, area in items:
            if letter == "J" and area > 50:
                out.append(box(x0, y0, x1, y0 + area * 1e4 / (x1 - x0)))
            else:
                out.append(pool[letter, area][int(next(drawn[letter, area]))])
    return out


def _models(frame: _Frame, rng: np.random.Generator, communes_local: dict,
            taken: list[Polygon], history_rng: np.random.Generator) -> gpd.GeoDataFrame:
    letter_of = {v[1].replace("Thị trấn ", "").replace("Xã ", ""): k
                 for k, v in _COMMUNES.items()}
    spec = [  # season, support, commune, area, yield, profit
        ("DX 2023-2024", "supported", "Tuyên Bình Tây", 400.0, 8.2, 38_000_000.0),
        ("DX 2023-2024", "supported", "Khánh Hưng", 50.0, 7.5, 32_600_000.0),
    ]
    for name, n in [("Thái Trị", 2), ("Tuyên Bình", 2), ("Tuyên Bình Tây", 2),
                    ("Khánh Hưng", 1), ("Hưng Điền A", 1), ("Thái Bình Trung", 1),
                    ("Vĩnh Trị", 1), ("Vĩnh Thuận", 1), ("Vĩnh Bình", 1)]:
        spec += [("HT 2024", "supported", name, 50.0, None, None)] * n
    for name in ["Vĩnh Thuận", "Hưng Điền A", "Khánh Hưng", "Vĩnh Trị", "Vĩnh Bình"]:
        spec.append(("HT 2024", "self", name, 50.0, None, None))
    squares = _place_squares(frame, rng, communes_local,
                             [(letter_of[s[2]], s[3]) for s in spec], taken)
    # the seasons before 2024, from their own generator (the 2024 layers stay as they are)
    past = _history_spec()
    fields = _history_fields(frame, history_rng, communes_local, past, squares[0])
    items = []
    for season, support, letter, area in past:
        yld = profit = None
        if support == "supported":  # yields and profits are reported for supported models
            dx = season.startswith("DX")
            yld = round(float(history_rng.uniform(6.8, 8.0) if dx
                              else history_rng.uniform(5.2, 6.3)), 1)
            profit = float(round(history_rng.uniform(240, 360) if dx
                                 else history_rng.uniform(100, 200))) * 1e5
        items.append((season, support, letter, area, yld, profit))
    items += [(s, sup, letter_of[name], a, y, p) for s, sup, name, a, y, p in spec]
    rows, count = [], {}
    for (season, support, letter, area, yld, profit), sq in zip(
            items, fields + squares, strict=True):
        key = (season, support)
        count[key] = count.get(key, 0) + 1
        rows.append({
            "model_id": f"MH-{_season_tag(season)}-{'S' if support == 'self' else ''}"
                        f"{count[key]:02d}",
            "season": season, "support": support, "crop": "rice", "declared_area_ha": area,
            "yield_t_ha": yld, "profit_vnd_ha": profit, "cooperative": _COOP_OF[letter],
            "commune_id": _COMMUNES[letter][0],
            "geometry": _to_lonlat(frame.world(sq)),
        })
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    return gdf.astype({"yield_t_ha": "float64", "profit_vnd_ha": "float64"})


def _commune_at(frame: _Frame, u: float, v: float) -> str:
    return _COMMUNES[frame.letter(u, v)][0]


def _split_total(rng: np.random.Generator, lows: Sequence[float], highs: Sequence[float],
                 total_million: int) -> list[float]:
    """Random amounts in [low, high] million VND scaled to sum to the total exactly."""
    raw = np.array([rng.uniform(lo, hi) for lo, hi in zip(lows, highs, strict=True)])
    amounts = np.round(raw * total_million / raw.sum()).astype(int)
    amounts[int(np.argmax(amounts))] += total_million - int(amounts.sum())
    return [float(a) * 1e6 for a in amounts]


def _works(frame: _Frame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    u, v = frame.u, frame.v
    rows = []

    def add(wid, wtype, status, investor, cost, share, name, geom_local, served):
        mid = geom_local.interpolate(0.5, normalized=True) if geom_local.length else geom_local
        rows.append({"work_id": wid, "work_type": wtype, "status": status,
                     "investor": investor, "cost_vnd": cost, "state_share_pct": share,
                     "name": name, "year": 2024, "served_area_ha": served,
                     "commune_id": _commune_at(frame, mid.x + 20, mid.y + 20),
                     "geometry": frame.world(geom_local)})

    def pt(c: int, r: int) -> Point:  # 15 m off a canal crossing, inside block (c, r)
        return Point(u[c] + 15.0, v[r] + 15.0)

    def vseg(c: int, r0: int, r1: int) -> LineString:  # along the canal u[c]
        return LineString([(u[c], v[r0]), (u[c], v[r1])])

    def hseg(r: int, c0: int, c1: int) -> LineString:  # along the canal v[r]
        return LineString([(u[c0], v[r]), (u[c1], v[r])])

    # province-invested: 8 works, 26,000 million VND
    prov = [
        ("canal", "designed", 4.2e9, vseg(4, 4, 8), "Nạo vét, mở rộng Kênh trục 2", 900),
        ("canal", "surveyed", 3.8e9, hseg(8, 12, 16), "Nạo vét Kênh ngang 3 (đoạn Đông)", 750),
        ("canal", "planned", 3.5e9, vseg(16, 0, 4), "Nạo vét Kênh trục 5 (đoạn Nam)", 800),
        ("canal", "planned", 3.2e9, hseg(4, 0, 4), "Nạo vét Kênh ngang 2 (đoạn Tây)", 700),
        ("sluice", "designed", 3.1e9, pt(12, 12), "Cống điều tiết Kênh trục 4 – Kênh ngang 4",
         1200),
        ("sluice", "surveyed", 3.0e9, pt(4, 12), "Cống điều tiết Kênh trục 2 – Kênh ngang 4",
         1100),
        ("pump_station", "planned", 2.7e9, pt(16, 8), "Trạm bơm điện Kênh trục 5", 400),
        ("pump_station", "planned", 2.5e9, pt(2, 4), "Trạm bơm điện Thái Bình Trung", 350),
    ]
    for i, (wtype, status, cost, geom, name, served) in enumerate(prov, 1):
        add(f"T{i:02d}", wtype, status, "province", cost, 100.0, name, geom, float(served))

    # district-invested: 23 works, 14,610 million VND, state 70 % / people 30 %
    canal_cols = [c for c in range(1, 20) if u[c] not in frame.u_main]
    canal_rows = [r for r in range(1, 13) if v[r] not in frame.v_main]
    dist: list[tuple[str, object]] = []
    used: set = set()
    while len(dist) < 10:
        if len(dist) % 2:
            r, c0 = int(rng.choice(canal_rows)), int(rng.integers(0, 18))
            key = ("h", r, c0)
            geom = hseg(r, c0, c0 + 2)
        else:
            c, r0 = int(rng.choice(canal_cols)), int(rng.integers(0, 11))
            key = ("v", c, r0)
            geom = vseg(c, r0, r0 + 2)
        if key not in used:
            used.add(key)
            dist.append(("canal", geom))
    while len(dist) < 23:
        c, r = int(rng.integers(1, 20)), int(rng.integers(1, 15))
        if ("p", c, r) not in used:
            used.add(("p", c, r))
            dist.append(("culvert" if len(dist) < 17 else "pump_station", pt(c, r)))
    lows = [600 if t == "canal" else 250 if t == "culvert" else 550 for t, _ in dist]
    highs = [900 if t == "canal" else 450 if t == "culvert" else 850 for t, _ in dist]
    costs = _split_total(rng, lows, highs, 14_610)
    designed = {0, 10, 17}  # one canal, one culvert, one pump station
    labels = {"canal": "Nạo vét kênh cấp 2", "culvert": "Cống hộp",
              "pump_station": "Trạm bơm điện vừa và nhỏ"}
    for i, ((wtype, geom), cost) in enumerate(zip(dist, costs, strict=True)):
        served = float(rng.integers(60, 300))
        add(f"H{i + 1:02d}", wtype, "designed" if i in designed else "planned", "district",
            cost, 70.0, f"{labels[wtype]} số {i + 1}", geom, served)

    # 4 power works for the high-tech rice area: 4,400 million VND serving 1,030 ha
    power = [
        (vseg(3, 13, 16), 1.3e9, 320.0, "Điện 3 pha phục vụ vùng lúa CNC Hưng Điền A"),
        (hseg(14, 13, 17), 1.1e9, 270.0, "Điện 3 pha phục vụ vùng lúa CNC Thái Trị"),
        (vseg(15, 0, 3), 1.0e9, 230.0, "Điện 3 pha phục vụ vùng lúa CNC Tuyên Bình Tây"),
        (hseg(2, 1, 5), 1.0e9, 210.0, "Điện 3 pha phục vụ vùng lúa CNC Vĩnh Thuận"),
    ]
    for i, (geom, cost, served, name) in enumerate(power, 1):
        add(f"D{i:02d}", "power", "planned", "enterprise", cost, None, name, geom, served)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
    return gdf.astype({"state_share_pct": "float64", "year": "int64"})


def _power(frame: _Frame, rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, list, list]:
    u, v = frame.u, frame.v
    three = [  # 22 kV along main canals and the roads beside them
        ("Tuyến 22 kV Kênh ngang 3", LineString([(0.0, v[8]), (22_000.0, v[8])])),
        ("Tuyến 22 kV Kênh trục 3", LineString([(u[8], 0.0), (u[8], v[12])])),
        ("Tuyến 22 kV Kênh ngang 2 (Đông)", LineString([(u[8], v[4]), (22_000.0, v[4])])),
        ("Tuyến 22 kV Kênh trục 5", LineString([(u[16], v[4]), (u[16], v[12])])),
    ]
    single = [
        ("Nhánh 0,4 kV 1 pha Khánh Hưng", LineString([(u[6], v[8]), (u[6], v[10])])),
        ("Nhánh 0,4 kV 1 pha Vĩnh Bình", LineString([(u[13], v[4]), (u[13], v[6])])),
        ("Nhánh 0,4 kV 1 pha Tuyên Bình", LineString([(u[10], v[4]), (u[10], v[2])])),
        ("Nhánh 0,4 kV 1 pha Thái Bình Trung", LineString([(u[3], v[8]), (u[3], v[6])])),
    ]
    rows = []
    for i, (name, geom) in enumerate(three, 1):
        rows.append({"power_id": f"L22-{i:02d}", "element": "line", "voltage_kv": 22.0,
                     "phases": 3, "status": "existing", "capacity_kva": None, "name": name,
                     "geometry": frame.world(geom)})
    for i, (name, geom) in enumerate(single, 1):
        rows.append({"power_id": f"L04-{i:02d}", "element": "line", "voltage_kv": 0.4,
                     "phases": 1, "status": "existing", "capacity_kva": None, "name": name,
                     "geometry": frame.world(geom)})
    spots = [(u[6], v[8]), (u[13], v[4]), (u[10], v[4]), (u[3], v[8]), (u[8], v[2]),
             (u[12], v[8]), (u[16], v[10]), (u[18], v[4]), (u[8], v[11])]
    for i, (x, y) in enumerate(spots, 1):
        rows.append({"power_id": f"TBA-{i:02d}", "element": "transformer", "voltage_kv": 22.0,
                     "phases": 3, "status": "existing",
                     "capacity_kva": float(rng.choice([50, 75, 100, 160, 250])),
                     "name": f"Trạm biến áp {i:02d}",
                     "geometry": frame.world(Point(x + 8.0, y + 8.0))})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)
    gdf = gdf.astype({"capacity_kva": "float64", "phases": "int64"})
    return gdf, [g for _, g in three], [g for _, g in single]


def _pumps(frame: _Frame, rng: np.random.Generator, three: list, single: list
           ) -> gpd.GeoDataFrame:
    u, v = frame.u, frame.v
    three_u, single_u = unary_union(three), unary_union(single)
    near, near1, far = [], [], []
    for c in range(1, 20):
        for r in range(1, 16):
            p = Point(u[c] + 12.0, v[r] + 12.0)
            if not frame.outline.buffer(-100).contains(p):
                continue
            if p.distance(three_u) < 300:
                near.append(p)
            elif p.distance(single_u) < 150:
                near1.append(p)
            elif p.distance(three_u) > 1_500:
                far.append(p)
    picks = ([near[i] for i in rng.choice(len(near), 6, replace=False)]
             + [near1[i] for i in rng.choice(len(near1), 2, replace=False)]
             + [far[i] for i in rng.choice(len(far), 7, replace=False)])
    statuses = ["operating"] * 12 + ["planned", "under_construction", "out_of_service"]
    order = rng.permutation(15)
    rows = []
    for i, p in enumerate(picks):
        d3, d1 = p.distance(three_u), p.distance(single_u)
        source = "three_phase" if d3 < 300 else "single_phase" if d1 < 150 else "diesel"
        cap = float(rng.integers(4, 31) * 100) if source == "three_phase" else float(
            rng.integers(3, 13) * 100)
        world = frame.world(p)
        rows.append({"pump_id": f"TB{i + 1:02d}", "name": f"Trạm bơm {i + 1:02d}",
                     "capacity_m3_h": cap, "power_kw": round(cap * 0.033, 1),
                     "status": statuses[order[i]], "power_source": source,
                     "served_area_ha": round(cap / 10.0), "commune_id":
                     _commune_at(frame, p.x, p.y), "geometry": _to_lonlat(world)})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    return gdf.astype({"served_area_ha": "float64"})


def _cooperatives(frame: _Frame, rng: np.random.Generator, communes_local: dict
                  ) -> gpd.GeoDataFrame:
    taken: list[Point] = []
    rows = []
    for cid, name, ctype, letter, partner, high_tech, chain, founded in _COOPS:
        inner = communes_local[letter].buffer(-300)
        minx, miny, maxx, maxy = inner.bounds
        while True:
            c, r = frame.cell_of(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            p = Point(frame.u[c] + 30.0, frame.v[r] + 30.0)  # by a canal crossing
            if inner.contains(p) and all(p.distance(t) > 500 for t in taken):
                break
        taken.append(p)
        members = int(rng.integers(15, 40)) if ctype != "htx" else int(rng.integers(40, 260))
        rows.append({"coop_id": cid, "name": name, "coop_type": ctype, "members": members,
                     "partner": _PARTNERS[partner] if partner else None,
                     "high_tech": high_tech, "value_chain": chain, "founded_year": founded,
                     "commune_id": _COMMUNES[letter][0], "geometry": frame.world(p)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)


# parcels per holder (runs of neighbouring parcels) and their probabilities
_RUNS = (1, 2, 3, 4, 6, 9)
_RUN_P = (0.45, 0.25, 0.12, 0.08, 0.06, 0.04)


def _parcels(frame: _Frame, rng: np.random.Generator, communes_local: dict,
             *, letters: Sequence[str] = ("J", "I"), per_commune: int = 1_450
             ) -> gpd.GeoDataFrame:
    rows = []
    for letter in letters:
        code = _COMMUNES[letter][0]
        poly = communes_local[letter].buffer(1.0)
        cells = [(c, r) for r in range(17) for c in range(20)
                 if r + 1 < len(frame.v)
                 and poly.contains(box(frame.u[c], frame.v[r], frame.u[c + 1], frame.v[r + 1]))]
        n_parcels = n_holders = 0
        for c, r in cells:
            u0, u1, v0, v1 = frame.u[c], frame.u[c + 1], frame.v[r], frame.v[r + 1]
            cell: list[Polygon] = []
            for k in range(6):  # six field rows between farm tracks
                fv0, fv1 = v0 + (v1 - v0) * k / 6, v0 + (v1 - v0) * (k + 1) / 6
                edges = [u0]
                while u1 - edges[-1] > 50:
                    edges.append(edges[-1] + rng.uniform(20.0, 45.0))
                edges[-1] = u1
                cell += [box(a, fv0, b, fv1) for a, b in itertools.pairwise(edges)]
            if n_parcels + len(cell) > per_commune:
                break
            i = 0
            while i < len(cell):  # holders own runs of neighbouring parcels
                run = int(rng.choice(_RUNS, p=_RUN_P))
                n_holders += 1
                for geom in cell[i:i + run]:
                    n_parcels += 1
                    rows.append({"parcel_id": f"{code}-{n_parcels:04d}",
                                 "holder_id": f"HO-{code}-{n_holders:04d}",
                                 "land_use": "LUC", "commune_id": code,
                                 "geometry": frame.world(geom)})
                i += run
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS)


def _targets() -> pd.DataFrame:
    scope, sid = "district", DISTRICT
    rows = [
        ("linkage_area", "ha", 2024, "resolution", 21_227, None, None),
        ("linkage_area", "ha", 2025, "roadmap", 22_640, None, None),
        ("hightech_rice_area", "ha", 2024, "plan", 1_350, None, None),
        ("hightech_rice_area", "ha", 2024, "roadmap", 4_950, 2021, None),
        ("hightech_rice_area", "ha", 2025, "resolution", 6_327, 2021, None),
        ("hightech_rice_area", "ha", 2025, "province_assigned", 11_800, 2017, None),
        ("works_completed", "count", 2024, "plan", 31, None, None),
        ("works_completed_province", "count", 2024, "plan", 8, None, None),
        ("works_completed_district", "count", 2024, "plan", 23, None, None),
        ("power_works_completed", "count", 2024, "plan", 4, None, None),
        ("models", "count", 2024, "plan", 12, None, "HT 2024"),
    ]
    df = pd.DataFrame(
        [{"indicator": ind, "unit": unit, "scope": scope, "scope_id": sid, "year": year,
          "source": src, "target": float(t), "start_year": start, "season": season,
          "source_ref": _SOURCE_REFS[src]}
         for ind, unit, year, src, t, start, season in rows])
    return df.astype({"year": "int64", "start_year": "Int64"})


def build_layers(*, seed: int = DEFAULT_SEED) -> dict[str, gpd.GeoDataFrame | pd.DataFrame]:
    """Build every layer of the synthetic demo district in memory.

    The layers carry the canonical columns of :mod:`geoagri.schema` (plus
    ``note`` on communes, ``description`` on zones, and the ``canals`` layer,
    which is not a schema kind yet) and are in the CRS of their demo file
    (see the module docstring): EPSG:9210 for communes, canals, works, power,
    cooperatives and parcels; EPSG:4326 for zones, models and pumps.
    Coordinates are rounded to 0.01 m (EPSG:9210) or 1e-7 degree (EPSG:4326).

    Parameters
    ----------
    seed : int, default 2024
        Seed of the :class:`numpy.random.Generator`; the same seed gives the
        same layers.  Totals (areas of the seed report, costs, counts) do not
        depend on it.

    Returns
    -------
    dict of str to GeoDataFrame or DataFrame
        ``communes``, ``canals``, ``zones``, ``models``, ``works``, ``power``,
        ``pumps``, ``cooperatives``, ``parcels`` and ``targets`` (a table).

    Examples
    --------
    >>> layers = build_layers()
    >>> sorted(layers)[:4]
    ['canals', 'communes', 'cooperatives', 'models']
    >>> works = layers["works"]
    >>> works.groupby("investor")["cost_vnd"].sum().loc[["province", "district"]] / 1e9
    investor
    province    26.00
    district    14.61
    Name: cost_vnd, dtype: float64
    >>> layers["models"].query("season == 'HT 2024'")["support"].value_counts().to_dict()
    {'supported': 12, 'self': 5}
    >>> float(layers["models"]["declared_area_ha"].sum())  # DX 2016-2017 .. HT 2024
    11873.0
    """
    rng = np.random.default_rng(seed)
    frame = _Frame(rng)
    communes, communes_local = _communes(frame, rng)
    taken: list[Polygon] = []
    power, three, single = _power(frame, rng)
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {
        "communes": communes,
        "canals": _canals(frame),
        "zones": _zones(frame, communes_local),
        "models": _models(frame, rng, communes_local, taken,
                          np.random.default_rng([seed, 2017])),
        "works": _works(frame, rng),
        "power": power,
        "pumps": _pumps(frame, rng, three, single),
        "cooperatives": _cooperatives(frame, rng, communes_local),
        "parcels": _parcels(frame, rng, communes_local),
        "targets": _targets(),
    }
    log.debug("built the demo layers: %s",
              ", ".join(f"{k} {len(v)}" for k, v in layers.items()))
    return layers


# --------------------------------------------------------------------------- writing

_README_BOUNDARIES = """\
# Demo boundaries — SYNTHETIC

`communes.gpkg` (layer `communes`, EPSG:9210 VN-2000 / TM-3 105-45) holds the ten
communes of old Huyện Vĩnh Hưng, Tỉnh Long An, with their real names and real
pre-2025 codes (27757–27784) but **synthetic, made-up geometry**: a rotated canal
grid, two winding streams and a winding northern border. They are NOT the real
boundaries; every feature has `note = "synthetic demo data"`.

Regenerate (deterministic, no network):

    python -m geoagri.datasets.synthetic data

Generator: `geoagri/datasets/synthetic.py`.
"""

_README_DEMO = """\
# Demo plan — SYNTHETIC

A synthetic Mekong-delta district modelled on the mid-2024 report of Huyện Vĩnh
Hưng (Long An) on production linkage and high-tech rice (seed 000). Commune names
and codes are real; every geometry, enterprise ("Công ty … Demo A"), cooperative
location, parcel, holder, pump and power line is **made up**. The totals of the
report are reproduced: 23,865 ha of linkage counted once (zones overlap, so the
raw sum is larger), 12 supported + 5 self-replicated 50 ha models in HT 2024, the
400 ha and 50 ha models of DX 2023-2024, the models of the seasons DX 2016-2017 to
HT 2023 behind the cumulative high-tech rice area (6,400 ha in 2021–2024: 3,300 ha
supported, 3,100 ha self-replicated; 11,873 ha in 2017–2024; fields come back from
season to season, so models of different seasons overlap), 8 province works (26 billion VND),
23 district works (14.61 billion VND), 4 power works (4.4 billion VND, 1,030 ha).

| file | kind | CRS |
|---|---|---|
| plan.toml | the plan (paths relative to it) | |
| zones.kml | zones (LIBKML; placemark name = zone_id) | EPSG:4326 |
| models.geojson | models | EPSG:4326 |
| works.gpkg (layer works, points and lines) | works | EPSG:9210 |
| power.gpkg (layer power, lines and transformers) | power | EPSG:9210 |
| pumps.csv (lon, lat) | pumps | EPSG:4326 |
| cooperatives.xlsx (x, y) | cooperatives | EPSG:9210 |
| parcels.gpkg | parcels (two communes) | EPSG:9210 |
| targets.csv | targets | |
| canals.gpkg | canal network (not a layer kind yet; `[settings] canals`) | EPSG:9210 |

Regenerate (deterministic, no network):

    python -m geoagri.datasets.synthetic data

Generator: `geoagri/datasets/synthetic.py`.
"""

_PLAN = """\
# SYNTHETIC demo: real commune names and codes, made-up geometry and attributes.
# Regenerate with: python -m geoagri.datasets.synthetic data

[plan]
name = "Huyện Vĩnh Hưng — synthetic demo"
province = "Long An"
district = "Huyện Vĩnh Hưng"
era = "old"                    # commune codes are pre-2025 codes
metric_crs = "EPSG:9210"
year = 2024                    # reporting year
description = "Synthetic district modelled on the Vĩnh Hưng mid-2024 report"

[layers.communes]
kind = "communes"
path = "../boundaries/communes.gpkg"
layer = "communes"

[layers.zones]
kind = "zones"
path = "zones.kml"
rename = { Name = "zone_id" }

[layers.models]
kind = "models"
path = "models.geojson"

[layers.works]
kind = "works"
path = "works.gpkg"
layer = "works"

[layers.power]
kind = "power"
path = "power.gpkg"
layer = "power"

[layers.pumps]
kind = "pumps"
path = "pumps.csv"
crs = "EPSG:4326"

[layers.cooperatives]
kind = "cooperatives"
path = "cooperatives.xlsx"
crs = "EPSG:9210"

[layers.parcels]
kind = "parcels"
path = "parcels.gpkg"
layer = "parcels"

[layers.targets]
kind = "targets"
path = "targets.csv"

[settings]
canals = "canals.gpkg"
# infrastructure scenario (seed 000: 4 power works, 4.4 billion VND, rice without service)
crop = "rice"
pump_radius_m = 1000
power_reach_m = 500
station_cost_vnd = 800_000_000
line_cost_vnd_per_km = 300_000_000
budget_vnd = 4_400_000_000
# the report also carries appendix I onto the communes of 1 July 2025 (appendix V)
carry_to_2025 = true
"""


def _write_vector(gdf: gpd.GeoDataFrame, path: Path, driver: str, **kwargs) -> None:
    replace_file(path, lambda tmp: gdf.to_file(tmp, driver=driver, engine="pyogrio",
                                                **kwargs))


def write_demo(root: str | os.PathLike) -> Path:
    """Write the demo files under ``root`` and return the path of its plan.toml.

    Writes ``root/boundaries/communes.gpkg`` and ``root/demo/`` (zones.kml,
    models.geojson, works.gpkg, power.gpkg, pumps.csv, cooperatives.xlsx,
    parcels.gpkg, targets.csv, canals.gpkg, plan.toml) plus a README.md in
    each folder saying the data is synthetic.  Each file is written to a
    temporary name and moved into place; existing files are replaced.

    Parameters
    ----------
    root : path-like
        Folder to write into (created if missing), e.g. the repository's ``data``.

    Returns
    -------
    Path
        ``root/demo/plan.toml``.

    Examples
    --------
    >>> import tempfile
    >>> plan = write_demo(tempfile.mkdtemp())
    >>> plan.name, sorted(p.name for p in plan.parent.glob("*.gpkg"))
    ('plan.toml', ['canals.gpkg', 'parcels.gpkg', 'power.gpkg', 'works.gpkg'])
    """
    root = Path(root)
    bdir, ddir = root / "boundaries", root / "demo"
    layers = build_layers()
    _write_vector(layers["communes"], bdir / "communes.gpkg", "GPKG", layer="communes")
    for name in ("canals", "works", "power", "parcels"):
        _write_vector(layers[name], ddir / f"{name}.gpkg", "GPKG", layer=name)
    zones = layers["zones"].rename(columns={"zone_id": "Name", "description": "Description"})
    zones = zones[["Name", "Description", *[c for c in zones.columns
                                             if c not in ("Name", "Description")]]]
    zones = zones.astype({"start_year": "int32"})  # LIBKML writes int64 as string
    _write_vector(zones, ddir / "zones.kml", "LIBKML", layer="zones")
    _write_vector(layers["models"], ddir / "models.geojson", "GeoJSON", layer="models",
                  COORDINATE_PRECISION=7, WRITE_NAME="NO")

    pumps = layers["pumps"]
    table = pd.DataFrame(pumps.drop(columns="geometry"))
    table["lon"] = pumps.geometry.x.round(7)
    table["lat"] = pumps.geometry.y.round(7)
    replace_file(ddir / "pumps.csv",
                  lambda tmp: table.to_csv(tmp, index=False, encoding="utf-8"))

    coops = layers["cooperatives"]
    table = pd.DataFrame(coops.drop(columns="geometry"))
    table["x"] = coops.geometry.x.round(2)
    table["y"] = coops.geometry.y.round(2)
    replace_file(ddir / "cooperatives.xlsx", lambda tmp: table.to_excel(
        tmp, index=False, sheet_name="cooperatives", engine="openpyxl"))

    replace_file(ddir / "targets.csv", lambda tmp: layers["targets"].to_csv(
        tmp, index=False, encoding="utf-8"))
    for path, text in [(bdir / "README.md", _README_BOUNDARIES),
                       (ddir / "README.md", _README_DEMO), (ddir / "plan.toml", _PLAN)]:
        replace_file(path, lambda tmp, text=text: tmp.write_text(text, encoding="utf-8"))
    log.info("wrote the synthetic demo under %s", root)
    return ddir / "plan.toml"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m geoagri.datasets.synthetic OUTDIR``.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default ``sys.argv[1:]``): the output folder.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on a usage error.

    Examples
    --------
    >>> import tempfile
    >>> main([tempfile.mkdtemp()])
    0
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0].startswith("-"):
        sys.stderr.write("usage: python -m geoagri.datasets.synthetic OUTDIR\n")
        return 2
    write_demo(Path(args[0]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
