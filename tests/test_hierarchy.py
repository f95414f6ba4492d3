"""The administrative hierarchy by code, one province out of a file, overlapping communes.

Hand-made communes are squares in UTM 48N near its central meridian, where
1 km² = 100 ha; real 2025 boundaries are read from ../shared/data (skipped
when absent; GEOAGRI_SHARED_DATA points elsewhere).
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from geoagri.area import area_by_zone
from geoagri.boundaries import boundary_problems, disjoint
from geoagri.cli import main
from geoagri.errors import GeoagriWarning, LayerError, NameMatchError, SchemaError
from geoagri.hierarchy import assign_units, hierarchy, select_units
from geoagri.io import read_layer, write_layer
from geoagri.plan import check_plan, read_plan

UTM = "EPSG:32648"
X, Y = 500_000, 1_200_000
DATA = Path(os.environ.get("GEOAGRI_SHARED_DATA",
                           Path(__file__).resolve().parents[2] / "shared" / "data"))
COMMUNES_2025 = DATA / "communes_2025" / "communes_2025.gpkg"


def km_box(x0, y0, x1, y1):
    return box(X + 1000 * x0, Y + 1000 * y0, X + 1000 * x1, Y + 1000 * y1)


def squares(ids, names, **columns):
    """1 km² communes side by side, west to east."""
    return gpd.GeoDataFrame({"commune_id": ids, "commune_name": names, **columns},
                            geometry=[km_box(i, 0, i + 1, 1) for i in range(len(ids))], crs=UTM)


def by_unit(table, key, value="area_ha"):
    return dict(zip(table[key], table[value], strict=True))


def cover(communes):
    """One linkage zone over all the communes."""
    return gpd.GeoDataFrame({"zone_id": ["z"], "zone_kind": ["linkage"]},
                            geometry=[box(*communes.total_bounds)], crs=UTM)


# ------------------------------------------------------------------ hierarchy by code


def test_same_named_communes_by_code_get_their_own_districts():
    # Xã Thạnh Hưng is a commune of Huyện Tân Hưng (27733) and of Thị xã Kiến Tường (27817)
    c = squares(["27733", "27817"], ["Xã Thạnh Hưng", "Xã Thạnh Hưng"])
    h = hierarchy(c, era="old")
    assert h.loc["27733", ["district_code", "district", "district_type"]].tolist() == [
        "796", "Huyện Tân Hưng", "huyen"]
    assert h.loc["27817", ["district_code", "district", "district_type"]].tolist() == [
        "795", "Thị xã Kiến Tường", "thi_xa"]
    assert set(h["province_code"]) == {"80"} and set(h["commune_type"]) == {"xa"}
    assert set(h["matched_by"]) == {"code"}
    t = area_by_zone(cover(c), c, by=(), level="district")
    assert by_unit(t, "district_code", "area_ha") == pytest.approx({"796": 100, "795": 100})
    p = area_by_zone(cover(c), c, by=(), level="province")
    assert p[["province_code", "province"]].values.tolist() == [["80", "Tỉnh Long An"]]
    assert p["area_ha"].item() == pytest.approx(200)


def test_same_named_communes_by_name_need_the_district():
    c = squares(["T1", "T2"], ["Xã Thạnh Hưng", "Thạnh Hưng"])
    with pytest.raises(NameMatchError) as err:
        hierarchy(c, era="old", province="Long An")
    text = str(err.value)
    assert "27733" in text and "27817" in text and "Huyện Tân Hưng" in text
    assert "district" in text  # the fix: give the district (or the code)
    c["district"] = ["Tân Hưng", "TX Kiến Tường"]
    h = hierarchy(c, era="old", province="Long An")
    assert h["commune_code"].tolist() == ["27733", "27817"]
    assert h["district_code"].tolist() == ["796", "795"]
    assert set(h["matched_by"]) == {"name"}


def test_new_communes_have_no_district():
    c = squares(["27775", "27868"], ["Xã Tuyên Bình", "Xã Bình Thành"])
    h = hierarchy(c, era="new")
    assert "district_code" not in h.columns
    assert h["province_code"].tolist() == ["80", "80"]  # new Tây Ninh took old Long An's code
    assert h["province"].tolist() == ["Tỉnh Tây Ninh"] * 2
    # read as old codes they name other communes (27775 was Xã Vĩnh Bình): the names decide
    old = hierarchy(c, era="old", province="Long An")
    assert set(old["matched_by"]) == {"name"}
    assert old.loc["27775", ["commune_code", "district"]].tolist() == ["27781", "Huyện Vĩnh Hưng"]


def test_codes_of_the_wrong_era_are_not_taken_for_official():
    # 27775 is the old Xã Vĩnh Bình and the new Xã Tuyên Bình
    c = squares(["27775"], ["Xã Vĩnh Bình"], district=["Vĩnh Hưng"])
    assert hierarchy(c, era="old").loc["27775", "commune_name"] == "Xã Vĩnh Bình"
    assert assign_units(c, "province", era="old")["province_code"].tolist() == ["80"]
    with pytest.raises(SchemaError, match="not official new codes"):  # the names say old
        assign_units(c, "province", era="new")


def test_two_districts_of_the_same_name_in_one_new_province():
    # new Tây Ninh = old Long An + old Tây Ninh: two "Huyện Châu Thành" (808 and 708)
    c = squares(["A", "B"], ["Xã A", "Xã B"], district=["Huyện Châu Thành"] * 2)
    with pytest.raises(NameMatchError) as err:
        assign_units(c, "district", era="new", province="Tây Ninh")
    text = str(err.value)
    assert "708" in text and "808" in text and "district_code" in text
    # with the codes, the two districts stay apart
    c["district_code"] = ["808", "708"]
    t = area_by_zone(cover(c), c, by=(), level="district", era="new", province="Tây Ninh",
                     crs=UTM)
    assert sorted(zip(t["district_code"], t["district"], t["area_ha"].round(6),
                      strict=True)) == [
        ("708", "Huyện Châu Thành", 100.0), ("808", "Huyện Châu Thành", 100.0)]


def test_huyen_and_thi_xa_of_the_same_name():
    # Tiền Giang had Huyện Cai Lậy (820) and Thị xã Cai Lậy (817)
    c = squares(["A", "B", "C"], ["Xã A", "Xã B", "Phường C"],
                district=["Huyện Cai Lậy", "H. Cai Lậy", "Thị xã Cai Lậy"])
    t = area_by_zone(cover(c), c, by=(), level="district", province="Tiền Giang", crs=UTM)
    assert by_unit(t, "district_code", "area_ha") == pytest.approx({"820": 200, "817": 100})
    c["district"] = ["Cai Lậy"] * 3
    with pytest.raises(NameMatchError, match=r"(?s)817.*820|820.*817"):
        area_by_zone(cover(c), c, by=(), level="district", province="Tiền Giang")


def test_new_communes_roll_up_to_old_districts_through_the_lineage():
    # new Xã Bình Thành (27868) = Tân Hiệp + Thuận Bình (Huyện Thạnh Hóa, 800)
    #                            + Bình Hòa Hưng (Huyện Đức Huệ, 801), all whole;
    # new Xã Tuyên Bình (27775) = old communes of Huyện Vĩnh Hưng (797) only.
    c = squares(["27868", "27775"], ["Xã Bình Thành", "Xã Tuyên Bình"])
    t = area_by_zone(cover(c), c, by=(), level="district", era="new")
    got = {d: (a, ap) for d, a, ap in
           zip(t["district_code"], t["area_ha"], t["approximate"], strict=True)}
    # no boundaries: the old communes count as equal in size, 2/3 and 1/3
    assert got["800"][0] == pytest.approx(200 / 3) and got["801"][0] == pytest.approx(100 / 3)
    assert got["797"][0] == pytest.approx(100)
    assert got["800"][1] and got["801"][1] and not got["797"][1]
    assert t["area_ha"].sum() == pytest.approx(200)
    # a lineage from boundaries weighs by area: 100 + 100 ha in Thạnh Hóa, 600 ha in Đức Huệ
    lin = pd.DataFrame({"old_code": ["27868", "27871", "27922"],
                        "new_code": ["27868"] * 3, "weight": 1.0,
                        "part_area_ha": [100.0, 100.0, 600.0]})
    t = area_by_zone(cover(c.iloc[:1]), c.iloc[:1], by=(), level="district", era="new",
                     lineage=lin)
    assert by_unit(t, "district_code", "area_ha") == pytest.approx({"800": 25, "801": 75})
    assert by_unit(t, "district_code", "district_share_pct") == pytest.approx(
        {"800": 100, "801": 100})


def test_special_zone_without_old_communes_is_its_own_unit():
    # Côn Đảo was an island district without communes: it is in no lineage row
    from geoagri.names import official_codes

    code = official_codes(["Đặc khu Côn Đảo"], era="new", province=None).item()
    c = squares([code], ["Đặc khu Côn Đảo"])
    t = area_by_zone(gpd.GeoDataFrame(geometry=[km_box(0, 0, 2, 1)], crs=UTM), c, by=(),
                     level="district", era="new")
    rows = sorted(zip([str(d) for d in t["district"]], t["area_ha"].round(6), strict=True))
    assert rows == [("None", 100.0), ("Đặc khu Côn Đảo", 100.0)]  # 100 ha outside every commune


def test_province_level_uses_the_plans_province():
    c = squares(["A", "B"], ["Xã A", "Xã B"])
    with pytest.raises(SchemaError, match="province"):
        area_by_zone(cover(c), c, by=(), level="province")
    t = area_by_zone(cover(c), c, by=(), level="province", province="long an", crs=UTM)
    assert t[["province_code", "province"]].values.tolist() == [["80", "Tỉnh Long An"]]
    assert t["area_ha"].item() == pytest.approx(200)
    t = area_by_zone(cover(c), c, by=(), level="province", province="Tây Ninh", era="new",
                     crs=UTM)
    assert t["province"].item() == "Tỉnh Tây Ninh"


# ------------------------------------------------------------ one province of a file


@pytest.fixture
def national(tmp_path):
    bowtie = shapely.Polygon([(X, Y), (X + 1000, Y + 1000), (X + 1000, Y), (X, Y + 1000)])
    c = gpd.GeoDataFrame({
        "MA": [27775, 27778, 4],
        "TEN": ["Tuyên Bình", "Vĩnh Hưng", "Ba Đình"],
        "TINH": ["Tây Ninh", "Tây Ninh", "Hà Nội"]},
        geometry=[km_box(0, 0, 1, 1), km_box(1, 0, 2, 1), bowtie], crs=UTM)
    path = tmp_path / "national.gpkg"
    write_layer(c, path)
    return path


REN = {"MA": "commune_id", "TEN": "commune_name", "TINH": "province"}


def test_read_one_province(national):
    tn = read_layer(national, "communes", rename=REN, where={"province": "TỈNH TÂY NINH"})
    assert tn["commune_id"].tolist() == ["27775", "27778"]
    assert tn.attrs["geoagri"]["where"] == {"province": "TỈNH TÂY NINH"}
    # the invalid polygon of Hà Nội is not checked when Tây Ninh is read; it is when read
    with pytest.raises(LayerError, match="invalid"):
        read_layer(national, "communes", rename=REN, where=["00004"])
    hn = read_layer(national, "communes", rename=REN, where=[4], repair=True)
    assert hn["commune_name"].tolist() == ["Ba Đình"]
    with pytest.raises(SchemaError, match=r"(?s)selects no row.*'Hà Nội', 'Tây Ninh'"):
        read_layer(national, "communes", rename=REN, where={"province": "Long An"})
    with pytest.raises(SchemaError, match="does not have"):
        read_layer(national, "communes", rename=REN, where={"district": "Vĩnh Hưng"})


def test_plan_where(national, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text(f"""
[plan]
name = "t"
era = "new"
[layers.communes]
kind = "communes"
path = "{national.name}"
rename = {{ MA = "commune_id", TEN = "commune_name", TINH = "province" }}
where = {{ province = "Tây Ninh" }}
""", encoding="utf-8")
    assert read_plan(plan)["communes"]["commune_id"].tolist() == ["27775", "27778"]
    plan.write_text(plan.read_text(encoding="utf-8").replace(
        'where = { province = "Tây Ninh" }', 'where = "Tây Ninh"'), encoding="utf-8")
    with pytest.raises(Exception, match=r"where = 'Tây Ninh'"):
        read_plan(plan)


def test_select_units_codes_and_names():
    t = pd.DataFrame({"commune_id": ["27775", "27778"], "district": ["Vĩnh Hưng", "Tân Hưng"]})
    assert select_units(t, {"district": ["huyen vinh hung"]})["commune_id"].tolist() == ["27775"]
    with pytest.raises(SchemaError, match=r"where=.*list of codes"):
        select_units(t, "27775")


# --------------------------------------------------------------- overlaps and gaps


def overlapping():
    # "2" and "1" overlap by 0.1 km × 1 km = 10 ha; "3" is apart
    return gpd.GeoDataFrame(
        {"commune_id": ["2", "1", "3"], "commune_name": ["Xã Hai", "Xã Một", "Xã Ba"]},
        geometry=[km_box(0, 0, 1, 1), km_box(0.9, 0, 1.9, 1), km_box(3, 0, 4, 1)], crs=UTM)


def test_each_overlap_counted_once_in_the_lowest_code():
    c = overlapping()
    t = area_by_zone(cover(c), c, by=())
    got = by_unit(t, "commune_id")
    assert got["1"] == pytest.approx(100) and got["2"] == pytest.approx(90)
    assert got["3"] == pytest.approx(100)
    inside = t.loc[t["commune_id"].notna(), "area_ha"].sum()
    assert inside == pytest.approx(290)  # the union of the communes, 1.9 + 1 km²
    assert t["area_ha"].sum() == pytest.approx(400)  # the zone: 4 km × 1 km
    cut = disjoint(np.asarray(c.geometry.array, dtype=object), c["commune_id"].to_numpy())
    assert shapely.area(cut).tolist() == pytest.approx([900_000, 1_000_000, 1_000_000])


def test_overlaps_and_gaps_are_listed():
    c = overlapping()
    p = boundary_problems(c)
    assert p[["problem", "commune_id", "other_id"]].values.tolist() == [["overlap", "1", "2"]]
    assert p["area_ha"].item() == pytest.approx(10)
    # four communes around a 1 km² hole: one gap of 100 ha with its four neighbours
    ring = gpd.GeoDataFrame(
        {"commune_id": list("abcd"), "commune_name": list("ABCD")},
        geometry=[km_box(0, 0, 3, 1), km_box(0, 2, 3, 3), km_box(0, 1, 1, 2), km_box(2, 1, 3, 2)],
        crs=UTM)
    g = boundary_problems(ring)
    assert g[["problem", "commune_id", "other_id"]].values.tolist() == [["gap", "a", "b, c, d"]]
    assert g["area_ha"].item() == pytest.approx(100)
    assert boundary_problems(ring, min_ha=101).empty


def test_check_warns_without_failing(tmp_path, capsys):
    write_layer(overlapping(), tmp_path / "c.gpkg")
    plan = tmp_path / "plan.toml"
    plan.write_text('[plan]\nname = "t"\n[layers.communes]\nkind = "communes"\n'
                    'path = "c.gpkg"\n', encoding="utf-8")
    with pytest.warns(GeoagriWarning, match=r"1 overlapping pair.*10\.0 ha.*lowest code"):
        assert check_plan(plan) == {}
    assert main(["check", str(plan)]) == 0
    out = capsys.readouterr().out
    assert "warning: layer 'communes': 1 overlapping pair(s)" in out
    assert "1 Xã Một / 2 Xã Hai 10.0 ha" in out and "every layer is valid" in out


# ------------------------------------------------------------------- real 2025 data


@pytest.fixture(scope="module")
def tay_ninh():
    if not COMMUNES_2025.exists():
        pytest.skip(f"shared reference data absent: {COMMUNES_2025}")
    return read_layer(COMMUNES_2025, "communes", where={"province": "Tây Ninh"},
                      rename={"ward_id": "commune_id", "name": "commune_name"})


def test_real_one_province_out_of_the_national_file(tay_ninh):
    assert len(tay_ninh) == 96 and set(tay_ninh["province"]) == {"Tây Ninh"}
    by_code = read_layer(COMMUNES_2025, "communes", where={"commune_id": ["27775", "27757"]},
                         rename={"ward_id": "commune_id", "name": "commune_name"})
    assert sorted(by_code["commune_name"]) == ["Tuyên Bình", "Vĩnh Hưng"]
    h = hierarchy(tay_ninh, era="new")
    assert set(h["matched_by"]) == {"code"} and set(h["province_code"]) == {"80"}


def test_real_vinh_hung_overlaps_counted_once(tay_ninh):
    from geoagri.datasets import demo

    # the three new communes formed from old Huyện Vĩnh Hưng
    vh = tay_ninh[tay_ninh["commune_id"].isin(["27757", "27763", "27775"])]
    p = boundary_problems(vh, province="Tây Ninh", era="new")
    overlaps = p[p["problem"] == "overlap"]
    assert overlaps["area_ha"].sum() == pytest.approx(27.7, abs=0.1)
    assert set(overlaps["commune_id"]) == {"27757"}  # the lowest code keeps the overlaps
    zones = demo()["zones"]
    zones = zones[zones["zone_kind"] == "linkage"]
    t = area_by_zone(zones, tay_ninh, by=(), province="Tây Ninh", era="new")
    crs = t.attrs["metric_crs"]
    z = shapely.union_all(np.asarray(zones.to_crs(crs).geometry.array, dtype=object))
    c = np.asarray(tay_ninh.to_crs(crs).geometry.make_valid().array, dtype=object)
    union_in = shapely.area(shapely.intersection(z, shapely.union_all(c))) / 1e4
    naive = sum(shapely.area(shapely.intersection(z, g)) for g in c) / 1e4
    inside = t.loc[t["commune_id"].notna(), "area_ha"].sum()
    assert inside == pytest.approx(union_in, abs=0.01)
    assert naive - union_in > 5  # summed commune by commune, the overlaps counted twice
    assert t["area_ha"].sum() == pytest.approx(shapely.area(z) / 1e4, abs=0.01)


def test_real_old_district_roll_up_sums_to_the_province(tay_ninh):
    zones = gpd.GeoDataFrame({"zone_kind": "all"}, index=range(len(tay_ninh)),
                             geometry=tay_ninh.geometry.make_valid().values, crs=tay_ninh.crs)
    d = area_by_zone(zones, tay_ninh, level="district", era="new", province="Tây Ninh",
                     by=())
    p = area_by_zone(zones, tay_ninh, level="province", era="new", province="Tây Ninh",
                     by=())
    assert p["province_code"].tolist() == ["80"]
    assert d["area_ha"].sum() == pytest.approx(p["area_ha"].item(), rel=1e-9)
    # old Long An (14 districts and Tân An) and old Tây Ninh (9): 24 old districts
    assert d["district_code"].nunique() == 24
    assert d["approximate"].any() and not d["approximate"].all()


# ------------------------------------------------------------------- below the commune


def test_area_by_village(tmp_path):
    villages = gpd.GeoDataFrame(
        {"MA_THON": ["T1", "T2"], "TEN_THON": ["Thôn Phú Khê", "Thôn Trung"],
         "MAXA": ["27757", "27757"]},
        geometry=[km_box(0, 0, 1, 1), km_box(1, 0, 2, 1)], crs=UTM)
    write_layer(villages, tmp_path / "thon.gpkg")
    v = read_layer(tmp_path / "thon.gpkg", "villages",
                   rename={"MA_THON": "village_id", "TEN_THON": "village_name",
                           "MAXA": "commune_id"})
    # a 38 ha aquaculture area in Phú Khê (0.38 km²) and a 1 km² zone across both villages
    zones = gpd.GeoDataFrame(
        {"zone_id": ["ao", "lk"], "zone_kind": ["production", "linkage"]},
        geometry=[km_box(0, 0, 0.38, 1), km_box(0.5, 0, 1.5, 1)], crs=UTM)
    t = area_by_zone(zones, v, by="zone_kind", level="village")
    assert list(t.columns[:4]) == ["village_id", "village_name", "commune_id", "zone_kind"]
    got = {(r.village_id, r.zone_kind): r.area_ha for r in t.itertuples()}
    assert got == pytest.approx({("T1", "production"): 38, ("T1", "linkage"): 50,
                                 ("T2", "linkage"): 50})
    assert set(t["commune_id"]) == {"27757"}
    assert t["village_share_pct"].max() == pytest.approx(50)
    with pytest.raises(SchemaError, match="village_id"):
        area_by_zone(zones, squares(["A"], ["Xã A"]), level="village")
