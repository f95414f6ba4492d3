"""The five documents' figures on the real 2025 communes, with data shaped like each document.

tests/test_examples.py checks the example plans, whose communes are rectangles on a
grid.  Here each document shape that involves geometry is rebuilt on the **real**
boundaries of its province after 1 July 2025 (``communes_2025.gpkg`` of the shared
data, EPSG:4326, read from there: it is never copied into the repository), with
zones, parcels and cooperatives drawn in the test inside those polygons (overlapping
each other, crossing a commune border, one starting after the reporting year) in the
examples' vocabulary.  Each plan has ``era = "new"`` and no ``metric_crs``; it is run
through ``geoagri run`` and ``tables/indicators.csv`` and ``tables/summary.csv`` are
compared with figures computed here independently: areas on the ellipsoid
(:class:`pyproj.Geod`, WGS 84) from the lon/lat polygons, within 0.1%; counts exactly;
percentages by the documents' rule (the actual rounded to its printed precision first).

The data is looked for in ``$GEOAGRI_SHARED_DATA`` first, then in ``../shared/data``
next to the checkout; the tests skip, saying where they looked, when it is absent.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from _run_tables import indicators, summary, value
from pyproj import CRS, Geod
from shapely.geometry import Point, box

from geoagri.cli import main
from geoagri.outputs import MANIFEST


def _shared() -> Path:
    given = os.environ.get("GEOAGRI_SHARED_DATA")
    return Path(given) if given else Path(__file__).resolve().parents[2] / "shared" / "data"


REAL = _shared() / "communes_2025" / "communes_2025.gpkg"
CROSSWALK = _shared() / "focus_districts_old_to_new_2025.csv"

pytestmark = pytest.mark.skipif(
    not REAL.exists(), reason=f"real 2025 communes not found at {REAL} (set "
                              "GEOAGRI_SHARED_DATA to the shared data folder)")

GEOD = Geod(ellps="WGS84")
#: Where the shapes are drawn: UTM 48N, the examples' CRS (metres).
DRAW = "EPSG:32648"


# --------------------------------------------------------------------------- helpers

def communes(province: str, codes: list[str] | None = None) -> gpd.GeoDataFrame:
    """Real 2025 communes of a province (all, or those codes), as a communes layer."""
    g = gpd.read_file(REAL, where=f"province = '{province}'")
    g = g.rename(columns={"ward_id": "commune_id", "name": "commune_name"})
    if codes is not None:
        g = g[g["commune_id"].isin(codes)]
        assert sorted(g["commune_id"]) == sorted(codes)
    return g[["commune_id", "commune_name", "geometry"]].reset_index(drop=True)


def geodesic_ha(geom) -> float:
    """Area on the WGS 84 ellipsoid of a lon/lat polygon, ha."""
    if geom is None or geom.is_empty:
        return 0.0
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e4


def drawn(communes_: gpd.GeoDataFrame) -> dict[str, object]:
    """Commune code → its polygon in the drawing CRS."""
    m = communes_.to_crs(DRAW)
    return dict(zip(m["commune_id"], m.geometry, strict=True))


def field_in(shape, w: float, h: float, *, dx: float = 0.0, dy: float = 0.0,
             margin: float = 100.0):
    """A ``w`` × ``h`` m field centred ``dx``, ``dy`` m from a point inside a commune,
    cut to the commune (``margin`` m inside its border): wholly inside the commune."""
    inner = shape.buffer(-margin)
    cx, cy = inner.representative_point().x + dx, inner.representative_point().y + dy
    cut = box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2).intersection(
        inner)
    assert cut.area > 0.2 * w * h, "the field fell outside its commune"
    return cut


def shared_border(a, b):
    """The part of ``a``'s border within 5 m of ``b`` (simplified rings need not coincide)."""
    return a.boundary.intersection(b.buffer(5.0))


def across(a, b, w: float, h: float):
    """A ``w`` × ``h`` m field centred on the middle of the border of two communes."""
    border = shapely.line_merge(shared_border(a, b))
    assert border.length > 1_000, "the communes do not share a border"
    if border.geom_type == "MultiLineString":
        border = max(border.geoms, key=lambda part: part.length)
    p = border.interpolate(0.5, normalized=True)
    return box(p.x - w / 2, p.y - h / 2, p.x + w / 2, p.y + h / 2)


def points_in(shape, n: int, *, step: float = 400.0) -> list[Point]:
    """``n`` distinct lattice points at least 100 m inside a commune."""
    inner = shape.buffer(-100.0)
    minx, miny, maxx, maxy = inner.bounds
    out = []
    y = miny + step / 2
    while y < maxy and len(out) < n:
        x = minx + step / 2
        while x < maxx and len(out) < n:
            if inner.contains(Point(x, y)):
                out.append(Point(x, y))
            x += step
        y += step
    assert len(out) == n
    return out


def strips(shape, areas_ha: list[float], *, width: float = 50.0) -> list:
    """Rectangles ``width`` m wide of the given nominal areas, side by side inside a commune."""
    inner = shape.buffer(-50.0)
    minx, miny, maxx, maxy = inner.bounds
    out, x, y = [], minx, miny + 0.3 * (maxy - miny)
    for ha in areas_ha:
        depth = ha * 1e4 / width
        while True:
            r = box(x, y, x + width, y + depth)
            x += width + 10.0
            if x > maxx:
                x, y = minx, y + 450.0
                assert y < maxy, "no room left for the parcels"
            if inner.contains(r):
                out.append(r)
                break
    return out


def lonlat(rows: list[dict]) -> gpd.GeoDataFrame:
    """A layer drawn in UTM 48N, returned in EPSG:4326 like the communes."""
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=DRAW).to_crs("EPSG:4326")


def union_in(layer: gpd.GeoDataFrame, shape) -> float:
    """Geodesic area, ha, of the union of a lon/lat layer within a lon/lat polygon."""
    if layer.empty:
        return 0.0
    return geodesic_ha(shapely.intersection(shapely.union_all(layer.geometry.to_numpy()),
                                            shape))


def half_up(x: float, decimals: int) -> float:
    return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-decimals),
                                           rounding=ROUND_HALF_UP))


def truncated(x: float, decimals: int) -> float:
    return float(Decimal(repr(round(x, 9))).quantize(Decimal(1).scaleb(-decimals),
                                                     rounding=ROUND_DOWN))


def targets_of(seed: str, year: int, *rows: dict) -> pd.DataFrame:
    """A targets table: each row's own columns, the year, the source and a SYNTHETIC note."""
    base = {"year": year, "source": "plan", "source_ref": f"SYNTHETIC, shaped like seed {seed}"}
    return pd.DataFrame([{**base, **r} for r in rows])


def run_plan(root: Path, *, province: str, year: int, name: str,
             layers: dict[str, pd.DataFrame]) -> Path:
    """Write the layers (each named by its kind) and a plan.toml (era new, no metric_crs)
    and ``geoagri run`` it; returns the output folder."""
    root.mkdir(parents=True, exist_ok=True)
    text = [f'[plan]\nname = "{name} — ranh giới thật 2025, số liệu giả lập (SYNTHETIC)"\n'
            f'province = "{province}"\nera = "new"\nyear = {year}\n']
    for layer, frame in layers.items():
        if isinstance(frame, gpd.GeoDataFrame):
            frame.to_file(root / f"{layer}.gpkg", layer=layer, driver="GPKG")
            path = f"{layer}.gpkg"
        else:
            frame.to_csv(root / f"{layer}.csv", index=False, encoding="utf-8")
            path = f"{layer}.csv"
        text.append(f'[layers.{layer}]\nkind = "{layer}"\npath = "{path}"\n')
    (root / "plan.toml").write_text("\n".join(text), encoding="utf-8")
    out = root / "out"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        code = main(["run", str(root / "plan.toml"), "--out", str(out)])
    assert code == 0, buf.getvalue()
    return out


def metric_crs(out: Path) -> tuple[CRS, str]:
    """The metric CRS the plan context chose (from the run's manifest), and why."""
    text = json.loads((out / MANIFEST).read_text(encoding="utf-8"))["context"]["metric CRS"]
    code = text.split()[0]
    return CRS.from_user_input(code), text


def central_meridian(crs: CRS) -> float:
    return float(next(p.value for p in crs.coordinate_operation.params
                      if p.name == "Longitude of natural origin"))


def check_crs(out: Path, province: str, meridian: float) -> None:
    """The context chose the VN-2000 TM-3 zone of the (old) province whose name the new
    one keeps (Circular 973/2001/TT-TCĐC): its central meridian, written here by hand."""
    crs, text = metric_crs(out)
    assert "VN-2000" in crs.name and f"zone of province {province}" in text, text
    assert central_meridian(crs) == pytest.approx(meridian)


# --------------------------------------------------------------------------- 002 Tháp Mười

#: New communes formed only from communes of the old Huyện Tháp Mười (the crosswalk of
#: the shared data; Phương Thịnh, which also took in Xã Phương Thịnh of Huyện Cao Lãnh,
#: is left out).
THAP_MUOI = ["30037", "30046", "30055", "30061", "30073"]


def test_thap_muoi_sown_area_on_real_communes(tmp_path):
    """002: "tổng diện tích liên kết tiêu thụ lúa là 23.183,8 ha/26.000 ha, đạt 89,16% so
    kế hoạch ... chiếm 20,07% diện tích xuống giống cả năm"; "22 HTX"; "15 Hội quán với
    649 thành viên"."""
    if CROSSWALK.exists():
        cw = pd.read_csv(CROSSWALK, dtype=str)
        assert set(THAP_MUOI) < set(cw.loc[cw["old_district"] == "Huyện Tháp Mười",
                                           "new_ward_code"])
    com = communes("Đồng Tháp", THAP_MUOI)
    d = drawn(com)
    c = THAP_MUOI
    zones = []

    def zone(zid, season, geom, status="active"):
        zones.append({"zone_id": zid, "zone_kind": "linkage", "crop": "rice",
                      "season": season, "status": status,
                      "partner": "Công ty Lương thực Demo A", "geometry": geom})

    # DX: two contracts overlapping on one field (counted once), one across a border
    zone("LK-DX-01", "DX 2022-2023", field_in(d[c[0]], 3_000, 2_000, dx=-600))
    zone("LK-DX-02", "DX 2022-2023", field_in(d[c[0]], 3_000, 2_000, dx=600))
    zone("LK-DX-03", "DX 2022-2023", field_in(d[c[2]], 4_000, 3_000))
    zone("LK-DX-04", "DX 2022-2023", across(d[c[3]], d[c[0]], 2_000, 2_000))
    # HT: the same fields as DX partly (another season: counted again), and an ended one
    zone("LK-HT-01", "HT 2023", field_in(d[c[0]], 3_000, 2_000, dx=-600))
    zone("LK-HT-02", "HT 2023", field_in(d[c[1]], 5_000, 2_500))
    zone("LK-HT-99", "HT 2023", field_in(d[c[4]], 3_000, 3_000), status="ended")
    zone("LK-TD-01", "TD 2023", field_in(d[c[4]], 2_000, 1_500, dy=-1_500))
    zones = lonlat(zones)

    coops, members = [], {}
    for i, code in enumerate(c):
        pts = points_in(d[code], 6)
        for k, p in enumerate(pts[:3 + i % 2]):        # 3 or 4 HTX per commune
            coops.append({"coop_id": f"HTX-{code}-{k}", "name": f"HTX số {k} (demo)",
                          "coop_type": "htx", "members": 30 + k,
                          "founded_year": 2024 if (i, k) == (1, 0) else 2010 + k,
                          "geometry": p})
        for k, p in enumerate(pts[4:]):                   # 2 hội quán per commune
            m = 20 + 7 * i + k
            coops.append({"coop_id": f"HQ-{code}-{k}", "name": f"Hội quán {k} (demo)",
                          "coop_type": "hoi_quan", "members": m, "founded_year": 2019,
                          "geometry": p})
            members[code] = members.get(code, 0) + m
    coops = lonlat(coops)

    sown = 48_000.0  # the district's sown area of 2023 (a statistics row), ha
    statistics = pd.DataFrame({"district": "Huyện Tháp Mười", "year": [2023],
                               "sown_area_ha": [sown]})
    # the independent figure: per season, the union of its active contracts on the land
    land = shapely.union_all(com.geometry.to_numpy())
    active = zones[zones["status"] == "active"]
    by_season = {s: union_in(g, land) for s, g in active.groupby("season")}
    expected = sum(by_season.values())
    dx = active[active["season"] == "DX 2022-2023"]
    assert sum(geodesic_ha(g) for g in dx.geometry) - by_season["DX 2022-2023"] > 100
    target = float(round(expected * 1.12, -2))
    targets = targets_of("002", 2023, {
        "indicator": "linkage_sown_area", "unit": "ha", "scope": "district",
        "scope_id": "Huyện Tháp Mười", "target": target, "decimals": 2, "actual_decimals": 1})
    out = run_plan(tmp_path / "tm", province="Đồng Tháp", year=2023, name="Huyện Tháp Mười",
                   layers={"communes": com, "zones": zones, "cooperatives": coops,
                           "statistics": statistics, "targets": targets})
    check_crs(out, "Đồng Tháp", 105.0)
    t = indicators(out)
    for season, ha in by_season.items():
        assert value(t, "linkage_sown_area", "district", unit="Huyện Tháp Mười",
                     period=season) == pytest.approx(ha, rel=1e-3), season
    got = value(t, "linkage_sown_area", "district", unit="Huyện Tháp Mười", period="2023")
    assert got == pytest.approx(expected, rel=1e-3)
    assert value(t, "linkage_sown_area", "plan", period="2023") == pytest.approx(got)
    # % of the district's sown area (a statistics row as the denominator)
    assert value(t, "linkage_share_of_sown_area", "district", unit="Huyện Tháp Mười",
                 period="2023") == pytest.approx(100 * expected / sown, rel=1e-3)
    # % of the target, by the document's rule: 23.183,8 (one decimal) / 26.000, truncated
    # to two decimals
    row = summary(out).set_index("Nội dung").iloc[0]
    assert row["Thực hiện"] == pytest.approx(expected, rel=1e-3)
    assert row["Tỷ lệ đạt (%)"] == truncated(half_up(got, 1) / target * 100, 2)
    # counts: HTX founded by 2023 (one of 2024 left out) and hội quán with their members,
    # each in the real commune containing it (the layer has no commune_id)
    inside = coops.sjoin(com, predicate="within")
    htx = inside[(inside["coop_type"] == "htx") & (inside["founded_year"] <= 2023)]
    assert value(t, "cooperatives", "district", unit="Huyện Tháp Mười",
                 period="2023") == len(htx) == 3 + 3 + 3 + 4 + 3
    for code in c:
        assert value(t, "cooperatives", "commune", unit=code, period="2023") == int(
            (htx["commune_id"] == code).sum())
        assert value(t, "farmer_club_members", "commune", unit=code,
                     period="2023") == members[code]
    assert value(t, "farmer_clubs", "district", unit="Huyện Tháp Mười", period="2023") == 10


# --------------------------------------------------------------------------- 000 Vĩnh Hưng

#: New communes of the new Tây Ninh formed only from communes of the old Huyện Vĩnh Hưng
#: (Long An): Vĩnh Hưng, Khánh Hưng, Tuyên Bình (the shared data's crosswalk).
VINH_HUNG = ["27757", "27763", "27775"]


def test_vinh_hung_linkage_counted_once_on_the_new_tay_ninh(tmp_path):
    """000: "Tổng diện tích thực hiện liên kết sản xuất ... toàn huyện là 23.865ha, đạt
    112,4% so với Nghị quyết" — on the 96 real communes of the new Tây Ninh (which took in
    Long An): overlapping zones counted once, a zone across a commune border split by
    geometry, a zone starting in 2030 left out of the 2024 figures."""
    com = communes("Tây Ninh")
    assert len(com) == 96
    d = drawn(com)
    vh, kh, tb = VINH_HUNG
    rows = []

    def zone(zid, geom, start, crop="rice"):
        rows.append({"zone_id": zid, "zone_kind": "linkage", "crop": crop, "status": "active",
                     "start_year": start, "cooperative": "HTX NN Demo (SYNTHETIC)",
                     "partner": "Công ty Lương thực Demo A", "geometry": geom})

    zone("LK01", field_in(d[vh], 3_000, 2_000, dx=-800), 2021)
    zone("LK02", field_in(d[vh], 3_000, 2_000, dx=800, dy=500), 2022)   # overlaps LK01
    zone("LK03", across(d[vh], d[kh], 2_500, 2_500), 2023)              # across a border
    zone("LK04", field_in(d[tb], 4_000, 3_000), 2020)
    zone("LK05", field_in(d[tb], 2_000, 2_000, dx=1_500, dy=1_000), 2024)  # overlaps LK04
    zone("LK06", field_in(d[kh], 3_000, 3_000), 2030)                   # after the year
    zones = lonlat(rows)
    now = zones[zones["start_year"] <= 2024]
    by_commune = {code: union_in(now, g) for code, g in zip(com["commune_id"], com.geometry,
                                                            strict=True)}
    land = shapely.union_all(com.geometry.to_numpy())
    total = union_in(now, land)
    assert sum(by_commune.values()) == pytest.approx(total, rel=1e-6)
    assert union_in(zones, land) - total > 800          # LK06 is a real part, not a sliver
    assert sum(geodesic_ha(g) for g in now.geometry) - total > 100   # the overlaps are real
    district = sum(by_commune[c] for c in VINH_HUNG)
    target = 21_227.0 * district / 23_865.0             # the document's ratio of 112,4%
    targets = targets_of("000", 2024, {
        "indicator": "linkage_area", "unit": "ha", "scope": "district",
        "scope_id": "Huyện Vĩnh Hưng", "source": "resolution", "target": round(target),
        "actual_decimals": 0})
    out = run_plan(tmp_path / "vh", province="Tây Ninh", year=2024, name="Huyện Vĩnh Hưng",
                   layers={"communes": com, "zones": zones, "targets": targets})
    # the new Tây Ninh measures in the zone of the old Tây Ninh whose name it keeps (105°30')
    check_crs(out, "Tây Ninh", 105.5)
    t = indicators(out)
    for code, ha in by_commune.items():
        got = value(t, "linkage_area", "commune", unit=code, period="2024")
        assert got == pytest.approx(ha, rel=1e-3, abs=1e-6), code
    assert value(t, "linkage_area", "district", unit="Huyện Vĩnh Hưng",
                 period="2024") == pytest.approx(district, rel=1e-3)
    got = value(t, "linkage_area", "plan", period="2024")
    assert got == pytest.approx(total, rel=1e-3)
    assert value(t, "linkage_area", "province", unit="Tỉnh Tây Ninh",
                 period="2024") == pytest.approx(got)
    # 23.865 / 21.227 = 112,4%: whole hectares first, then truncated to one decimal
    row = summary(out).iloc[0]
    assert row["Thực hiện"] == pytest.approx(district, rel=1e-3)
    actual = value(t, "linkage_area", "district", unit="Huyện Vĩnh Hưng", period="2024")
    assert row["Tỷ lệ đạt (%)"] == truncated(half_up(actual, 0) / round(target) * 100, 1)


# --------------------------------------------------------------------------- 003 Chi Lăng Bắc

#: Xã Nam Thanh Miện (Hải Phòng), formed from Xã Chi Lăng Bắc and three other communes of
#: the old Huyện Thanh Miện (Hải Dương).
NAM_THANH_MIEN = "11284"


def test_chi_lang_bac_households_of_3_ha_on_a_real_commune(tmp_path):
    """003: "có 05 hộ dân, tích tụ ruộng đất ..., quy mô từ 03ha/hộ trở lên"; "03 mô hình
    ...: khoai tây vụ đông 18ha, dược liệu 03 ha và cây nông sản khác 03ha"."""
    com = communes("Hải Phòng", [NAM_THANH_MIEN])
    assert "Chi Lăng Bắc" in gpd.read_file(
        REAL, where=f"ward_id = '{NAM_THANH_MIEN}'")["before_merger"].iloc[0]
    shape = drawn(com)[NAM_THANH_MIEN]
    # households' parcels, measured (no declared area): five reach 3 ha, two fall short
    holdings = [(2.0, 1.4), (3.2,), (1.5, 1.3), (1.2, 1.2, 1.2), (1.0,), (1.6, 1.5),
                (2.95,), (1.8, 1.4)] + [(0.4, 0.3)] * 6
    areas = [ha for h in holdings for ha in h]
    fields = strips(shape, areas)
    parcels, k = [], 0
    for h, held in enumerate(holdings):
        for _ in held:
            parcels.append({"parcel_id": f"{NAM_THANH_MIEN}-{k + 1:04d}",
                            "holder_id": f"HO-{h + 1:03d}", "land_use": "LUC",
                            "geometry": fields[k]})
            k += 1
    parcels = lonlat(parcels)
    held = parcels.assign(ha=[geodesic_ha(g) for g in parcels.geometry]).groupby(
        "holder_id")["ha"].sum()
    assert ((held - 3).abs() > 0.02).all()              # no household on the edge
    expected_holders = int((held >= 3).sum())
    assert expected_holders == 5
    models = [("MH-01", "potato", field_in(shape, 600, 300, dx=-1_200, dy=-1_200), 2023),
              ("MH-02", "medicinal", field_in(shape, 300, 100, dx=-1_200, dy=-600), 2023),
              ("MH-03", "other", field_in(shape, 300, 100, dx=-600, dy=-600), 2023),
              ("MH-04", "potato", field_in(shape, 400, 200, dx=-600, dy=-1_200), 2024)]
    zones = lonlat([{"zone_id": z, "zone_kind": "linkage", "crop": crop, "status": "active",
                     "start_year": start, "cooperative": "HTX DVNN Demo (SYNTHETIC)",
                     "geometry": g} for z, crop, g, start in models])
    targets = targets_of("003", 2023, {
        "indicator": "consolidated_holders", "unit": "hộ", "scope": "commune",
        "scope_id": "Nam Thanh Miện", "target": 5.0})
    out = run_plan(tmp_path / "clb", province="Hải Phòng", year=2023, name="Xã Nam Thanh Miện",
                   layers={"communes": com, "zones": zones, "parcels": parcels,
                           "targets": targets})
    # Hải Phòng keeps its own zone, 105°45'
    check_crs(out, "Hải Phòng", 105.75)
    t = indicators(out)
    assert value(t, "consolidated_holders", "commune", unit=NAM_THANH_MIEN,
                 period="2023") == expected_holders
    assert value(t, "linkage_models", "commune", unit=NAM_THANH_MIEN, period="2023") == 3
    for _, z in zones[zones["start_year"] <= 2023].iterrows():
        assert value(t, "linkage_model_area", "commune", unit=NAM_THANH_MIEN,
                     categories=f"crop={z['crop']}", period="2023") == pytest.approx(
            geodesic_ha(z.geometry), rel=1e-3)
    row = summary(out).iloc[0]
    assert row["Thực hiện"] == expected_holders
    assert row["Tỷ lệ đạt (%)"] == truncated(expected_holders / 5 * 100, 1)


# --------------------------------------------------------------------------- 001 Lai Châu

def test_lai_chau_production_by_crop_and_rice_converted_on_the_province(tmp_path):
    """001: "vùng sản xuất hàng hóa tập trung" by crop; "hơn 1.000 ha đất trồng lúa kém
    hiệu quả đã được chuyển đổi sang trồng các loại cây có giá trị kinh tế" — on the 38
    real communes of Lai Châu."""
    com = communes("Lai Châu").sort_values("commune_id", ignore_index=True)
    assert len(com) == 38
    d = drawn(com)
    c = list(com["commune_id"])
    rows = []

    def zone(zid, crop, geom, start):
        rows.append({"zone_id": zid, "zone_kind": "production", "crop": crop,
                     "status": "active", "start_year": start, "geometry": geom})

    zone("VSX-01", "passion_fruit", field_in(d[c[0]], 3_500, 1_000), 2021)
    zone("VSX-02", "passion_fruit", field_in(d[c[5]], 3_000, 1_000), 2022)
    zone("VSX-03", "macadamia", field_in(d[c[10]], 6_000, 2_000), 2021)
    zone("VSX-04", "macadamia", field_in(d[c[10]], 4_000, 2_000, dx=2_000, dy=1_000),
         2022)                                                     # overlaps VSX-03
    zone("VSX-05", "medicinal", field_in(d[c[20]], 3_000, 1_000), 2023)
    zone("VSX-06", "ancient_tea", field_in(d[c[25]], 1_200, 1_000), 2030)  # not yet
    zone("VSX-07", "rice", field_in(d[c[30]], 5_000, 3_000), 2021)
    zones = lonlat(rows)
    # a passion-fruit zone across the border of two neighbouring communes
    a = next(k for k in range(1, len(c)) if shared_border(d[c[0]], d[c[k]]).length > 3_000)
    cross = lonlat([{"zone_id": "VSX-08", "zone_kind": "production", "crop": "passion_fruit",
                     "status": "active", "start_year": 2023,
                     "geometry": across(d[c[0]], d[c[a]], 2_000, 2_000)}])
    zones = pd.concat([zones, cross], ignore_index=True)
    parcels = []
    for n, (k, year, now, was, w, h) in enumerate([
            (2, 2021, "passion_fruit", "rice", 2_000, 1_600),
            (3, 2022, "fruit", "rice", 2_000, 1_900),
            (4, 2023, "passion_fruit", "rice", 2_000, 1_700),
            (6, 2024, "fruit", "rice", 1_000, 1_000),        # after the review's year
            (7, 2022, "fruit", "maize", 1_000, 800)]):        # not rice land
        parcels.append({"parcel_id": f"CD-{n + 1:02d}", "land_use": now,
                        "converted_from": was, "converted_year": year,
                        "geometry": field_in(d[c[k]], w, h)})
    parcels = lonlat(parcels)
    land = shapely.union_all(com.geometry.to_numpy())
    now = zones[zones["start_year"] <= 2023]
    by_crop = {crop: union_in(g, land) for crop, g in now.groupby("crop")}
    converted = parcels[(parcels["converted_from"] == "rice")
                        & (parcels["converted_year"] <= 2023)]
    expected_converted = union_in(converted, land)
    out = run_plan(tmp_path / "lc", province="Lai Châu", year=2023, name="Tỉnh Lai Châu",
                   layers={"communes": com, "zones": zones, "parcels": parcels})
    check_crs(out, "Lai Châu", 103.0)
    t = indicators(out)
    for crop, ha in by_crop.items():
        assert value(t, "production_area", "province", unit="Tỉnh Lai Châu",
                     categories=f"crop={crop}", period="2023") == pytest.approx(
            ha, rel=1e-3), crop
    assert value(t, "production_area", "province", unit="Tỉnh Lai Châu",
                 period="2023") == pytest.approx(sum(by_crop.values()), rel=1e-3)
    assert "crop=ancient_tea" not in set(t.loc[(t["indicator"] == "production_area")
                                               & (t["value"] > 0), "categories"])
    # the zone across the border, split between the two real communes by geometry
    for k in (0, a):
        assert value(t, "production_area", "commune", unit=c[k],
                     categories="crop=passion_fruit", period="2023") == pytest.approx(
            union_in(now[now["crop"] == "passion_fruit"], com.geometry[k]), rel=1e-3)
    assert value(t, "rice_converted_area", "province", unit="Tỉnh Lai Châu",
                 period="2023") == pytest.approx(expected_converted, rel=1e-3)
    assert expected_converted > 1_000                   # "hơn 1.000 ha"


# --------------------------------------------------------------------------- 004 An Giang

#: New communes of An Giang, each formed from communes of one old district (its seat's
#: thị trấn is named in ``before_merger``), written here by hand.
AN_GIANG = {"30628": "Huyện Chợ Mới", "30673": "Huyện Chợ Mới",       # TT Chợ Mới, TT Hội An
            "30682": "Huyện Thoại Sơn", "30688": "Huyện Thoại Sơn",   # TT Núi Sập, TT Óc Eo
            "30544": "Huyện Tri Tôn", "30580": "Huyện Tri Tôn",       # TT Tri Tôn, TT Cô Tô
            "30337": "Huyện An Phú", "30367": "Huyện An Phú"}         # TT An Phú, TT Đa Phước


def test_an_giang_districts_with_3_value_chain_cooperatives_on_real_communes(tmp_path):
    """004: "mỗi cấp huyện có tối thiểu 03 HTX tổ chức sản xuất theo chuỗi giá trị";
    "Có ít nhất 30% số HTX tham gia liên kết tiêu thụ nông sản với doanh nghiệp"."""
    com = communes("An Giang", list(AN_GIANG))
    d = drawn(com)
    # value-chain HTX per commune: (founded ≤ 2024, founded 2025, THT marked value chain)
    plan_ = {"30628": (2, 0, 0), "30673": (1, 0, 0),     # Chợ Mới: 3, meets
             "30682": (1, 1, 0), "30688": (1, 0, 1),     # Thoại Sơn: 2, does not
             "30544": (3, 0, 0), "30580": (1, 0, 0),     # Tri Tôn: 4, meets
             "30337": (1, 0, 0), "30367": (0, 2, 0)}     # An Phú: 1, does not
    rows = []
    for code, (vc, later, tht) in plan_.items():
        pts = iter(points_in(d[code], vc + later + tht + 2))
        for k in range(vc + later):
            rows.append({"coop_id": f"HTX-{code}-{k}", "name": f"HTX chuỗi số {k} (demo)",
                         "coop_type": "htx", "value_chain": True, "high_tech": False,
                         "partner": "Công ty CP Nông sản Demo A" if k == 0 else None,
                         "founded_year": 2025 if k >= vc else 2015 + k, "geometry": next(pts)})
        for k in range(tht):
            rows.append({"coop_id": f"THT-{code}-{k}", "name": f"THT số {k} (demo)",
                         "coop_type": "tht", "value_chain": True,
                         "high_tech": False, "partner": None, "founded_year": 2018,
                         "geometry": next(pts)})
        for k in range(2):                               # two HTX outside any value chain
            rows.append({"coop_id": f"HTX-{code}-x{k}", "name": f"HTX số {k} (demo)",
                         "coop_type": "htx",
                         "value_chain": False, "high_tech": k == 0, "partner": None,
                         "founded_year": 2012, "geometry": next(pts)})
    coops = lonlat(rows)
    inside = coops.sjoin(com, predicate="within")
    assert len(inside) == len(coops)
    htx = inside[(inside["coop_type"] == "htx") & (inside["founded_year"] <= 2024)]
    chain = htx[htx["value_chain"]].groupby(htx["commune_id"].map(AN_GIANG)).size()
    meeting = int((chain >= 3).sum())
    assert meeting == 2
    with_partner = 100 * int(htx["partner"].notna().sum()) / len(htx)
    province = {"scope": "province", "scope_id": "Tỉnh An Giang"}
    targets = targets_of(
        "004", 2024,
        {**province, "indicator": "districts_with_3_value_chain_cooperatives",
         "unit": "count", "target": 4.0},
        {**province, "indicator": "cooperatives_with_partner_pct", "unit": "%",
         "target": 30.0, "actual_decimals": 1})
    out = run_plan(tmp_path / "ag", province="An Giang", year=2024, name="Tỉnh An Giang",
                   layers={"communes": com, "cooperatives": coops, "targets": targets})
    # the new An Giang keeps the old An Giang's zone, 104°45'
    check_crs(out, "An Giang", 104.75)
    t = indicators(out)
    for district, n in chain.items():
        assert value(t, "value_chain_cooperatives", "district", unit=district,
                     period="2024") == n, district
        assert value(t, "districts_with_3_value_chain_cooperatives", "district",
                     unit=district, period="2024") == (n >= 3), district
    assert value(t, "districts_with_3_value_chain_cooperatives", "province",
                 unit="Tỉnh An Giang", period="2024") == meeting
    assert value(t, "cooperatives_with_partner_pct", "province", unit="Tỉnh An Giang",
                 period="2024") == pytest.approx(with_partner)
    s = summary(out).set_index("Nội dung")
    districts = s.loc["Số huyện có từ 3 HTX chuỗi giá trị"]
    assert districts["Thực hiện"] == meeting
    assert districts["Tỷ lệ đạt (%)"] == truncated(meeting / 4 * 100, 1)
    # the share as printed (one decimal, "26,9%") over the 30% target, truncated
    share = s.loc["Tỷ lệ HTX liên kết với doanh nghiệp"]
    assert share["Thực hiện"] == pytest.approx(with_partner)
    assert share["Tỷ lệ đạt (%)"] == truncated(half_up(with_partner, 1) / 30 * 100, 1)
