"""Units and the office's own words (geoagri.units and the readers that use it).

Figures come from the seeds: 82 tạ/ha and a profit of 38 triệu đồng/ha (seed 000's
high-tech rice model), 4,4 tỷ đồng for the four power works (seed 004), 8 works for
26.000 triệu đồng; areas from the definitions (1 ha = 10.000 m², sào Bắc Bộ 360 m²,
sào Trung Bộ 500 m², công 1.000 m²).
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest
from openpyxl import Workbook
from shapely.geometry import Point, box

from geoagri.errors import LayerError, PlanError, UnitError
from geoagri.io import find_header, read_layer, read_table
from geoagri.plan import check_plan, read_plan
from geoagri.progress import progress
from geoagri.reform import lineage, rebase_targets
from geoagri.schema import canonical_season, spec
from geoagri.units import (
    compatible,
    conversion_factor,
    convert,
    header_unit,
    is_intensive,
    unit_code,
)
from geoagri.validate import canonicalize, layer_info

UTM = "EPSG:32648"


# ---------------------------------------------------------------- the registry


@pytest.mark.parametrize(("written", "canonical", "factor"), [
    ("tạ/ha", "t_ha", 0.1), ("ta/ha", "t_ha", 0.1), ("kg/ha", "t_ha", 0.001),
    ("tấn/ha", "t_ha", 1.0), ("triệu đồng", "vnd", 1e6), ("trieu dong", "vnd", 1e6),
    ("tr.đ", "vnd", 1e6), ("Triệu Đồng", "vnd", 1e6), ("tỷ đồng", "vnd", 1e9),
    ("tỉ đồng", "vnd", 1e9), ("nghìn đồng", "vnd", 1e3), ("đồng", "vnd", 1.0),
    ("triệu đồng/ha", "vnd_ha", 1e6), ("m2", "ha", 1e-4), ("m²", "ha", 1e-4),
    ("km²", "ha", 100.0), ("sào Bắc Bộ", "ha", 0.036), ("sào Trung Bộ", "ha", 0.05),
    ("công", "ha", 0.1), ("sào Nam Bộ", "ha", 0.1), ("tạ", "t", 0.1), ("kg", "t", 0.001),
    ("%", "pct", 1.0), ("m³/h", "m3_h", 1.0), ("m3/s", "m3_h", 3600.0), ("kW", "kw", 1.0),
    ("kVA", "kva", 1.0), ("km", "km", 1.0), ("m³", "m3", 1.0),
])
def test_office_units_convert_to_the_canonical_unit(written, canonical, factor):
    assert unit_code(written) == canonical
    assert conversion_factor(written, canonical) == pytest.approx(factor, rel=1e-12)


def test_conversions_keep_the_documents_figures():
    assert convert([82, 75], "tạ/ha", "t_ha").tolist() == [8.2, 7.5]
    assert convert([4000], "triệu đồng", "vnd").tolist() == [4e9]
    assert convert([2000], "m²", "ha").tolist() == [0.2]
    assert convert([5], "sào Bắc Bộ", "ha").tolist() == [0.18]
    assert conversion_factor("tỷ đồng", "triệu đồng") == 1000.0


def test_counts_are_never_areas():
    for count in ("HTX", "THT", "tổ", "hộ", "con", "mô hình", "công trình", "hội quán"):
        assert not compatible(count, "ha"), count
        assert compatible(count, "count"), count
        with pytest.raises(UnitError, match="cannot be converted"):
            conversion_factor("ha", count)
    assert compatible("tổ", "THT") and not compatible("hộ", "HTX")
    assert unit_code("tổ") == "THT" and unit_code("Hộ") == "hộ"


def test_a_bare_sao_and_unknown_words_are_refused():
    with pytest.raises(UnitError, match=r"360 m² in the north.*sào Bắc Bộ"):
        unit_code("sào")
    with pytest.raises(UnitError, match=r"'gánh'.*units accepted: ha, m²"):
        unit_code("gánh")


def test_intensive_units_are_rates_per_area_and_shares():
    assert [is_intensive(u) for u in ("tạ/ha", "triệu đồng/ha", "%", "ha", "tỷ đồng", "hộ",
                                       "m³/h")] == [True, True, True, False, False, False, False]


def test_header_units():
    assert header_unit("Kinh phí (triệu đồng)") == "triệu đồng"
    assert header_unit("NS (tạ/ha)") == "tạ/ha"
    assert header_unit("Diện tích (m²)") == "m²"
    assert header_unit("Ghi chú (xã cũ)") is None and header_unit("Tên") is None


def test_every_unit_column_of_the_schema_has_a_unit_the_registry_reads():
    for kind in ("zones", "models", "works", "power", "pumps", "parcels"):
        for col in spec(kind).columns.values():
            if col.unit:
                assert unit_code(col.unit) == col.unit, col.name
            for written in col.likely_units:
                assert compatible(written, col.unit), (col.name, written)


# ---------------------------------------------------------------- layers


def works_frame(costs, **extra) -> gpd.GeoDataFrame:
    n = len(costs)
    data = {"work_id": [f"CT-{i + 1:02d}" for i in range(n)], "work_type": ["kênh"] * n,
            "status": ["thiết kế"] * n, "cost": costs, **extra}
    return gpd.GeoDataFrame(data, geometry=[Point(500_000 + 100 * i, 1_200_000)
                                            for i in range(n)], crs=UTM)


def test_declared_unit_is_converted_and_recorded():
    raw = works_frame([4000.0, 3250.0])
    out = canonicalize(raw, "works", rename={"cost": "cost_vnd"},
                       units={"cost": "triệu đồng"})
    assert out["cost_vnd"].tolist() == [4e9, 3.25e9]
    assert layer_info(out)["units"]["cost_vnd"] == {
        "unit": "triệu đồng", "to": "vnd", "factor": 1e6, "how": "declared", "column": "cost"}


def test_units_named_by_canonical_column_or_source_column():
    raw = works_frame([4.4])
    by_canon = canonicalize(raw, "works", rename={"cost": "cost_vnd"},
                            units={"cost_vnd": "tỷ đồng"})
    by_source = canonicalize(raw, "works", rename={"cost": "cost_vnd"}, units={"cost": "tỷ"})
    assert by_canon["cost_vnd"].tolist() == by_source["cost_vnd"].tolist() == [4.4e9]


def test_unit_read_from_the_header():
    raw = works_frame([4000.0]).rename(columns={"cost": "Kinh phí (triệu đồng)"})
    out = canonicalize(raw, "works", rename={"Kinh phí (triệu đồng)": "cost_vnd"})
    assert out["cost_vnd"].tolist() == [4e9]
    assert layer_info(out)["units"]["cost_vnd"]["how"] == "header"


def test_implausible_cost_without_a_unit_names_the_likely_unit_and_the_fix():
    raw = works_frame([4000.0, 650e6, 3250.0])
    with pytest.raises(LayerError) as err:
        canonicalize(raw, "works", layer="cong_trinh", rename={"cost": "cost_vnd"})
    (problem,) = [p for p in err.value.problems if p.code == "implausible_unit"]
    assert problem.column == "cost_vnd" and list(problem.ids) == ["CT-01", "CT-03"]
    assert "look like triệu đồng: 4000 triệu đồng = 4,000,000,000 vnd" in problem.message
    assert 'units = { cost = "triệu đồng" }' in problem.fix
    assert "[layers.cong_trinh]" in problem.fix


def test_declaring_the_canonical_unit_keeps_small_values():
    out = canonicalize(works_frame([5e6]), "works", rename={"cost": "cost_vnd"},
                       units={"cost": "đồng"})
    assert out["cost_vnd"].tolist() == [5e6]


def test_a_unit_of_the_wrong_dimension_is_refused():
    with pytest.raises(LayerError, match=r"'ha' \(area\) cannot be converted to 'vnd'"):
        canonicalize(works_frame([4000.0]), "works", rename={"cost": "cost_vnd"},
                     units={"cost": "ha"})
    with pytest.raises(LayerError, match=r"units = \{ budget = .* names no column"):
        canonicalize(works_frame([4e9]), "works", rename={"cost": "cost_vnd"},
                     units={"budget": "triệu đồng"})


def models_frame(**data) -> gpd.GeoDataFrame:
    base = {"model_id": ["MH-01", "MH-02"], "season": ["Hè Thu 2024", "HT 2024"],
            "support": ["có hỗ trợ", "tự nhân rộng"]}
    return gpd.GeoDataFrame({**base, **data}, geometry=[box(0, 0, 1000, 500),
                                                         box(1000, 0, 2000, 500)], crs=UTM)


def test_yield_and_profit_in_office_units():
    raw = models_frame(NS=[82.0, 75.0], LN=[38.0, 32.6])
    with pytest.raises(LayerError) as err:
        canonicalize(raw, "models", rename={"NS": "yield_t_ha", "LN": "profit_vnd_ha"})
    by_column = {p.column: p for p in err.value.problems}
    assert "look like tạ/ha" in by_column["yield_t_ha"].message
    assert "look like triệu đồng/ha" in by_column["profit_vnd_ha"].message
    out = canonicalize(raw, "models", rename={"NS": "yield_t_ha", "LN": "profit_vnd_ha"},
                       units={"yield": "tạ/ha", "profit": "triệu đồng/ha"})
    assert out["yield_t_ha"].tolist() == [8.2, 7.5]
    assert out["profit_vnd_ha"].tolist() == [38e6, 32.6e6]


def test_parcel_areas_in_square_metres():
    raw = gpd.GeoDataFrame({"parcel_id": ["T1", "T2"], "Diện tích (m²)": [2000.0, 1250.0]},
                           geometry=[box(0, 0, 40, 50), box(40, 0, 65, 50)], crs=UTM)
    out = canonicalize(raw, "parcels", rename={"Diện tích (m²)": "declared_area_ha"})
    assert out["declared_area_ha"].tolist() == [0.2, 0.125]
    # the same figures as hectares are implausible parcels
    with pytest.raises(LayerError, match="look like m²"):
        canonicalize(raw.rename(columns={"Diện tích (m²)": "declared_area_ha"}), "parcels")
    # declared with the example's short key
    out = canonicalize(raw.rename(columns={"Diện tích (m²)": "dt"}), "parcels",
                       rename={"dt": "declared_area_ha"}, units={"area": "công"})
    assert out["declared_area_ha"].tolist() == [200.0, 125.0]


def test_plan_declares_units_and_its_own_words(tmp_path):
    (tmp_path / "works.csv").write_text(
        "work_id,work_type,status,investor,cost,lon,lat\n"
        "CT-01,điện 3 pha,chưa có vốn,ngành điện,1100,105.8,10.9\n"
        "CT-02,kênh,xong,huyện,650,105.81,10.9\n", encoding="utf-8")
    plan_text = """
[plan]
name = "units"
[layers.works]
kind = "works"
path = "works.csv"
rename = { cost = "cost_vnd" }
units = { cost = "triệu đồng" }
"""
    (tmp_path / "plan.toml").write_text(plan_text, encoding="utf-8")
    (error,) = check_plan(tmp_path / "plan.toml").values()
    assert "unknown value(s) ['xong']" in str(error)
    assert "[vocabulary] status = { \"xong\" = \"planned\" }" in str(error)
    (tmp_path / "plan.toml").write_text(
        plan_text + '[vocabulary]\nstatus = { "Xong" = "completed" }\n', encoding="utf-8")
    works = read_plan(tmp_path / "plan.toml")["works"]
    assert works["work_type"].tolist() == ["power", "canal"]
    assert works["status"].tolist() == ["planned", "completed"]
    assert works["investor"].tolist() == ["enterprise", "district"]
    assert works["cost_vnd"].tolist() == [1.1e9, 6.5e8]
    (tmp_path / "plan.toml").write_text(
        plan_text + '[vocabulary]\nstatus = { "xong" = "done" }\n', encoding="utf-8")
    with pytest.raises(PlanError, match="'xong' = 'done' is not a status"):
        read_plan(tmp_path / "plan.toml")


# ---------------------------------------------------------------- vocabulary


@pytest.mark.parametrize(("kind", "column", "word", "value"), [
    ("zones", "zone_kind", "Liên kết tiêu thụ", "linkage"),
    ("zones", "status", "đã kết thúc", "ended"), ("zones", "status", "Hiện hữu", "active"),
    ("power", "status", "hiện hữu", "existing"), ("pumps", "status", "hien huu", "operating"),
    ("works", "status", "Chưa có vốn", "planned"),
    ("works", "status", "đã khảo sát thiết kế", "designed"),
    ("works", "status", "Lập báo cáo KTKT", "designed"),
    ("works", "investor", "Ngành điện", "enterprise"),
    ("works", "work_type", "Điện 3 pha", "power"),
    ("cooperatives", "coop_type", "Chi nhánh HTX", "htx"),
    ("cooperatives", "coop_type", "tổ", "tht"),
    ("zones", "crop", "Lúa", "rice"), ("zones", "crop", "LUA", "rice"),
    ("zones", "crop", "rice", "rice"), ("zones", "crop", "Khoai lang", "Khoai lang"),
])
def test_office_words(kind, column, word, value):
    assert spec(kind).columns[column].canonical_value(word) == value


@pytest.mark.parametrize(("text", "expected"), [
    ("Vụ Mùa 2024", "MUA 2024"), ("vụ Xuân 2025", "DX 2025"), ("Chiêm 2024", "DX 2024"),
    ("vụ Đông 2024", "DONG 2024"), ("Đông 2024-2025", "DONG 2024-2025"),
    ("Đông Xuân 2023-2024", "DX 2023-2024"), ("vụ mùa 2024-2026", None), ("Mùa", None),
])
def test_northern_seasons(text, expected):
    assert canonical_season(text) == expected


# ---------------------------------------------------------------- targets


def targets_frame(rows) -> pd.DataFrame:
    return pd.DataFrame([{"indicator": i, "unit": u, "scope": "huyện",
                          "scope_id": "Huyện Vĩnh Hưng", "year": 2024, "source": "kế hoạch",
                          "target": v} for i, u, v in rows])


def test_targets_in_the_documents_units_are_converted():
    raw = targets_frame([("rice_yield", "tạ/ha", 80.0), ("power_investment", "tỷ đồng", 4.4),
                         ("linkage_area", "công", 5000.0), ("households", "hộ", 120.0),
                         ("groups", "tổ", 3.0), ("water", "m³", 9000.0),
                         ("cattle", "con", 250.0), ("profit", "triệu đồng/ha", 38.0),
                         ("cooperatives_founded", "HTX", 2.0)])
    out = canonicalize(raw, "targets")
    assert out["unit"].tolist() == ["t_ha", "vnd", "ha", "hộ", "THT", "m3", "con", "vnd_ha",
                                    "HTX"]
    assert out["target"].tolist() == [8.0, 4.4e9, 500.0, 120.0, 3.0, 9000.0, 250.0, 38e6, 2.0]
    converted = {r["unit"]: r["rows"] for r in layer_info(out)["units"]["target"]}
    assert converted["tạ/ha"] == [0] and converted["công"] == [2]


def test_targets_whose_unit_does_not_fit_their_indicator_are_reported_together():
    raw = targets_frame([("linkage_area", "HTX", 12.0), ("linkage_area", "ha", 21227.0),
                         ("cooperatives_founded", "ha", 30.0), ("linkage_area", "HTX", 3.0)])
    with pytest.raises(LayerError) as err:
        canonicalize(raw, "targets", layer="chi_tieu")
    problems = [p for p in err.value.problems if p.code == "unit_mismatch"]
    assert [list(p.ids) for p in problems] == [["row 0", "row 3"], ["row 2"]]
    assert "'linkage_area' is measured in ha (area)" in problems[0].message
    assert "'HTX' (cooperatives (HTX))" in problems[0].message


def test_progress_converts_targets_and_keeps_going_past_a_bad_row():
    facts = pd.DataFrame({"indicator": ["rice_yield", "linkage_area"], "unit": ["t_ha", "ha"],
                          "scope": "district", "scope_id": "Vĩnh Hưng", "year": 2024,
                          "actual": [8.2, 23865.0]})
    targets = targets_frame([("rice_yield", "tạ/ha", 80.0), ("linkage_area", "hộ", 100.0),
                             ("linkage_area", "ha", 21227.0)])
    out = progress(facts, targets)
    assert out["target"][0] == 8.0 and out["unit"][0] == "t_ha"
    assert out["achieved_pct"][0] == 102.5  # 8.2 / 8.0
    assert math.isnan(out["actual"][1])
    assert "'hộ' (households (hộ)), the actual in ha (area)" in out["note"][1]
    assert out["achieved_pct"][2] == 112.4  # seed 000: 23.865 ha, 112,4% of 21.227 ha


def test_per_ha_targets_are_weighted_not_summed_on_the_new_communes():
    # Xã Tuyên Bình (27781) goes whole into the new Xã Tuyên Bình (27775); half of Xã Vĩnh
    # Bình (old 27775) joins it, the other half the new Xã Vĩnh Hưng (official equal split)
    t = pd.DataFrame({"indicator": ["profit", "profit", "linkage_area", "linkage_area"],
                      "unit": ["triệu đồng/ha", "triệu đồng/ha", "công", "ha"],
                      "scope": "commune",
                      "scope_id": ["Xã Tuyên Bình", "Vĩnh Bình", "Xã Tuyên Bình", "Vĩnh Bình"],
                      "year": 2025, "source": "plan", "target": [210.0, 190.0, 1000.0, 300.0]})
    new = rebase_targets(t, lineage(provinces="Long An")).set_index(["indicator", "scope_id"])
    assert new.loc[("profit", "27775"), "target"] == pytest.approx((210 + 190 * 0.5) / 1.5
                                                                     * 1e6)
    assert new.loc[("profit", "27757"), "target"] == pytest.approx(190e6)
    assert new.loc[("profit", "27775"), "unit"] == "vnd_ha"
    assert new.loc[("linkage_area", "27775"), "target"] == pytest.approx(100 + 150)
    assert new.loc[("linkage_area", "27757"), "target"] == pytest.approx(150)


# ---------------------------------------------------------------- office spreadsheets


def _works_sheet(path):
    """An appendix as offices draw it: title, blank row, two-row merged header, numbering."""
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "PHỤ LỤC III: DANH MỤC CÔNG TRÌNH THỦY LỢI NĂM 2024"
    ws.merge_cells("A1:H1")
    for col, head in zip("ABCDEF", ("Mã CT", "Loại", "Tình trạng", "Kinh độ", "Vĩ độ",
                                     "Kinh phí (triệu đồng)"), strict=True):
        ws[f"{col}3"] = head
    for col in "ABCDE":
        ws.merge_cells(f"{col}3:{col}4")
    ws.merge_cells("F3:G3")
    ws["F4"], ws["G4"] = "Tổng", "Nhà nước"
    ws["H3"] = "Ghi chú"
    ws.merge_cells("H3:H4")
    for j, col in enumerate("ABCDEFGH"):
        ws[f"{col}5"] = f"({j + 1})"
    rows = [("CT-01", "kênh", "đã khảo sát thiết kế", 105.80, 10.90, 4000, 2800, None),
            ("CT-02", "điện 3 pha", "chưa có vốn", 105.81, 10.91, 1100, 1100, "ngành điện")]
    for i, r in enumerate(rows):
        for col, v in zip("ABCDEFGH", r, strict=True):
            ws[f"{col}{6 + i}"] = v
    wb.save(path)


def test_excel_with_title_and_two_row_merged_header(tmp_path):
    path = tmp_path / "phu_luc_iii.xlsx"
    _works_sheet(path)
    table = read_table(path)
    assert table.attrs["header_row"] == [3, 4]
    assert list(table.columns) == ["Mã CT", "Loại", "Tình trạng", "Kinh độ", "Vĩ độ",
                                   "Kinh phí (triệu đồng) - Tổng",
                                   "Kinh phí (triệu đồng) - Nhà nước", "Ghi chú"]
    assert len(table) == 2
    works = read_layer(path, kind="works", rename={
        "Mã CT": "work_id", "Loại": "work_type", "Tình trạng": "status",
        "Kinh độ": "lon", "Vĩ độ": "lat", "Kinh phí (triệu đồng) - Tổng": "cost_vnd"})
    assert works["cost_vnd"].tolist() == [4e9, 1.1e9]
    assert works["status"].tolist() == ["designed", "planned"]
    assert works.crs.to_epsg() == 4326 and works.geometry.x.tolist() == [105.80, 105.81]
    info = layer_info(works)
    assert info["header_row"] == [3, 4] and info["units"]["cost_vnd"]["how"] == "header"


def test_csv_with_a_title_row_and_a_given_header_row(tmp_path):
    path = tmp_path / "chi_tieu.csv"
    path.write_text("CHỈ TIÊU KẾ HOẠCH NĂM 2024,,,,,,\n,,,,,,\n"
                    "indicator,unit,scope,scope_id,year,source,target\n"
                    "linkage_area,ha,huyện,Huyện Vĩnh Hưng,2024,NQ,21227\n"
                    "models,mô hình,huyện,Huyện Vĩnh Hưng,2024,KH,12\n", encoding="utf-8")
    auto = read_layer(path, kind="targets")
    given = read_layer(path, kind="targets", header_row=3)
    pd.testing.assert_frame_equal(auto, given)
    assert auto["target"].tolist() == [21227.0, 12.0]
    assert auto["unit"].tolist() == ["ha", "mô hình"]


def test_header_broken_over_lines_and_unit_in_it(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["model_id", "season", "support", "NS\n(tạ/ha)", "Lợi nhuận\n(triệu đồng/ha)"])
    ws.append(["MH-HT24-01", "Vụ Hè Thu 2024", "có hỗ trợ", 82, 38])
    ws.append(["MH-HT24-02", "Vụ Hè Thu 2024", "tự nhân rộng", 75, 32.6])
    path = tmp_path / "mo_hinh.xlsx"
    wb.save(path)
    table = read_table(path)
    assert list(table.columns)[3:] == ["NS (tạ/ha)", "Lợi nhuận (triệu đồng/ha)"]
    frame = gpd.GeoDataFrame(table, geometry=[box(0, 0, 1000, 500)] * 2, crs=UTM)
    models = canonicalize(frame, "models", rename={"NS (tạ/ha)": "yield_t_ha",
                                                   "Lợi nhuận (triệu đồng/ha)": "profit_vnd_ha"})
    assert models["yield_t_ha"].tolist() == [8.2, 7.5]
    assert models["profit_vnd_ha"].tolist() == [38e6, 32.6e6]


def test_find_header_keeps_the_first_row_of_plain_tables():
    assert find_header([["a", "b", "c"], ["1", "", "x"], ["2", "y", ""]]) == (0,)
    assert find_header([["Báo cáo", None], ["a", "b"], ["1", "2"]]) == (1,)


# ---------------------------------------------------------------- printed as the documents print


def test_headline_prints_the_documents_units():
    from geoagri.report import headline

    row = {"indicator": "rice_yield", "unit": "t_ha", "start_year": None, "year": 2024,
           "season": None, "source": "plan", "target": 8.0, "actual": 8.2,
           "actual_year": 2024, "achieved_pct": 102.5}
    assert "8,2 tạ/ha" not in headline(row) and ": 82 tạ/ha," in headline(row)
    assert "(80 tạ/ha)" in headline(row)
    money = {**row, "indicator": "power_investment", "unit": "vnd", "target": 4.4e9,
             "actual": 26e9, "achieved_pct": 590.9}
    assert ": 26.000 triệu đồng," in headline(money)  # seed 002: "26.000 triệu đồng"
    assert "(4,4 tỷ đồng)" in headline(money, units={"vnd": "tỷ đồng"})  # seed 004
    profit = {**row, "indicator": "profit", "unit": "vnd_ha", "target": 35e6, "actual": 32.6e6,
              "achieved_pct": 93.1}
    assert ": 32,6 triệu đồng/ha," in headline(profit)  # seed 000: "32,6 triệu đồng/ha"
    assert ": 32.6 million VND/ha," in headline(profit, language="en")


def test_crop_setting_in_vietnamese_and_a_crop_no_zone_grows():
    from geoagri.datasets import demo
    from geoagri.infrastructure import infrastructure

    with pytest.raises(PlanError, match=r"no zone grows crop = 'cà phê'; the zones' crops "
                                        r"are \[.*'rice'.*\]"):
        infrastructure(demo(), crop="cà phê")


def test_geoagri_check_lists_every_target_whose_unit_does_not_fit(tmp_path):
    (tmp_path / "chi_tieu.csv").write_text(
        "indicator,unit,scope,scope_id,year,source,target\n"
        "linkage_area,ha,huyện,Huyện Vĩnh Hưng,2024,NQ,21227\n"
        "cooperatives_founded,ha,huyện,Huyện Vĩnh Hưng,2024,KH,3\n"
        "models,mô hình,huyện,Huyện Vĩnh Hưng,2024,KH,12\n"
        "works_completed,hộ,huyện,Huyện Vĩnh Hưng,2024,KH,8\n"
        "rice_yield,gánh,huyện,Huyện Vĩnh Hưng,2024,KH,8\n", encoding="utf-8")
    (tmp_path / "plan.toml").write_text(
        '[plan]\nname = "t"\n[layers.targets]\nkind = "targets"\npath = "chi_tieu.csv"\n',
        encoding="utf-8")
    (error,) = check_plan(tmp_path / "plan.toml").values()
    by_code = {}
    for p in error.problems:
        by_code.setdefault(p.code, []).append(list(p.ids))
    assert by_code == {"unit": [["row 4"]], "unit_mismatch": [["row 1"], ["row 3"]]}
    assert "'works_completed' is measured in công trình (works (công trình))" in str(error)
    assert "'hộ' (households (hộ))" in str(error)


def test_progress_checks_what_a_count_counts():
    facts = pd.DataFrame({"indicator": "works_completed", "unit": "count", "scope": "district",
                          "scope_id": "Vĩnh Hưng", "year": 2024, "actual": [4.0]})
    out = progress(facts, targets_frame([("works_completed", "hộ", 8.0),
                                         ("works_completed", "công trình", 8.0),
                                         ("works_completed", "count", 8.0)]))
    assert "the actual in công trình (works (công trình))" in out["note"][0]
    assert out["achieved_pct"].tolist()[1:] == [50.0, 50.0]


def test_progress_notes_a_unit_it_cannot_read():
    facts = pd.DataFrame({"indicator": "linkage_area", "unit": "ha", "scope": "district",
                          "scope_id": "Vĩnh Hưng", "year": 2024, "actual": [23865.0]})
    out = progress(facts, targets_frame([("linkage_area", "gánh", 5.0),
                                         ("linkage_area", "công", 212270.0)]))
    assert "unit 'gánh' is not understood" in out["note"][0]
    assert out["target"][1] == 21227.0 and out["achieved_pct"][1] == 112.4


def test_zones_whose_crop_is_written_in_vietnamese():
    raw = gpd.GeoDataFrame({"zone_id": ["Z1", "Z2", "Z3"], "zone_kind": "liên kết tiêu thụ",
                            "crop": ["Lúa", "rice", "Khoai lang"]},
                           geometry=[box(0, 0, 10, 10)] * 3, crs=UTM)
    out = canonicalize(raw, "zones")
    assert out["crop"].tolist() == ["rice", "rice", "Khoai lang"]
    assert out["zone_kind"].tolist() == ["linkage"] * 3
