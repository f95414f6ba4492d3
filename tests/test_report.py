"""Tests of geoagri.report: the workbook and CSV tables, in Vietnamese and English."""

from __future__ import annotations

import csv

import pandas as pd
import pyogrio
import pytest
from _workbook import column, evaluate, header, header_row, item_rows, texts
from openpyxl import load_workbook

from geoagri.report import (
    ReportData,
    build_report_data,
    format_number,
    headline,
    write_report,
)

SHEETS_VI = ["Tổng hợp", "Phụ lục I", "Phụ lục II", "Phụ lục III", "Phụ lục IV"]
SHEETS_EN = ["Summary", "Appendix I", "Appendix II", "Appendix III", "Appendix IV"]
TABLES = ["summary", "appendix_1_linkage", "appendix_2_models", "appendix_3_works",
          "appendix_4_power_works"]


@pytest.fixture(scope="module")
def data():
    from geoagri.datasets import demo

    return build_report_data(demo(), year=2024)


@pytest.fixture(scope="module")
def written(data, tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    vi = write_report(data, root / "vi" / "report.xlsx")
    en = write_report(data, root / "en" / "report.xlsx", language="en",
                      tables_dir=root / "en_tables")
    return vi, en


def test_format_number():
    assert format_number(23865) == "23.865"
    assert format_number(112.4, decimals=1) == "112,4"
    assert format_number(23865, language="en") == "23,865"
    assert format_number(1234567.25, decimals=2) == "1.234.567,25"
    assert format_number(float("nan")) == "–"
    with pytest.raises(ValueError, match="language"):
        format_number(1, language="fr")


def test_build_report_data_demo(data):
    p = data.progress
    assert p["achieved_pct"].tolist()[:3] == [112.4, 105.4, 96.2]
    assert data.linkage_by_commune["area_ha"].sum() == pytest.approx(23865, abs=0.5)
    assert data.linkage_by_commune["commune_id"].notna().sum() == 10
    m = data.models
    assert m["area_ha"].sum() == 1300.0 and m["models"].sum() == 19
    ht = m[m["season"] == "HT 2024"].groupby("support")["area_ha"].sum().to_dict()
    assert ht == {"self": 250.0, "supported": 600.0}
    dx = m[(m["season"] == "DX 2023-2024") & (m["area_ha"] == 400.0)].iloc[0]
    assert dx["yield_t_ha"] == 8.2 and dx["profit_million_vnd_ha"] == 38.0
    w = data.works
    assert len(w) == 31 and "power" not in set(w["work_type"])
    by_inv = w.groupby("investor")["cost_million_vnd"].sum().round().to_dict()
    assert by_inv == {"district": 14610.0, "province": 26000.0}
    d = w[w["investor"] == "district"]
    assert (d["state_million_vnd"] + d["people_million_vnd"]).sum() == pytest.approx(14610)
    assert d["state_million_vnd"].sum() == pytest.approx(0.7 * 14610)
    assert len(data.power_works) == 4
    assert data.power_works["cost_million_vnd"].sum() == 4400.0
    assert data.power_works["served_area_ha"].sum() == 1030.0


def test_summary_headlines(data):
    lines = data.summary_lines()
    assert lines[0].startswith("Diện tích liên kết sản xuất năm 2024: 23.865 ha, đạt 112,4% "
                               "so với Nghị quyết")
    assert "đạt 105,4% so với lộ trình đến năm 2025 (22.640 ha)" in lines[1]
    assert "1.300 ha, đạt 96,2% so với Kế hoạch năm 2024 (1.350 ha)" in lines[2]
    en = data.summary_lines(language="en")
    assert en[0] == ("Production-linkage area in 2024: 23,865 ha, 112.4% of the resolution "
                     "for 2024 (21,227 ha)")


def test_headline_prints_the_decimals_a_figure_carries():
    """Seed 002: "23.183,8 ha/26.000 ha, đạt 89,16% so kế hoạch"; seed 004: "30%"."""
    row = {"indicator": "linkage_sown_area", "unit": "ha", "start_year": None, "year": 2023,
           "season": None, "source": "plan", "target": 26000.0,
           "actual": 23183.800000000047, "actual_year": 2023, "achieved_pct": 89.16}
    assert headline(row, labels={"linkage_sown_area": ("Liên kết tiêu thụ", "Linkage")}) == (
        "Liên kết tiêu thụ năm 2023: 23.183,8 ha, đạt 89,16% so với Kế hoạch năm 2023 "
        "(26.000 ha)")
    # measured noise is no decimal: 23.864,99213 ha prints 23.865 ha
    assert "23.865 ha, đạt 112,4%" in headline({**row, "actual": 23864.99213,
                                               "achieved_pct": 112.4})
    pct = {**row, "indicator": "x", "unit": "%", "target": 30.0, "actual": 30.0,
           "achieved_pct": 100.0}
    assert headline(pct).endswith(": 30%, đạt 100,0% so với Kế hoạch năm 2023 (30%)")


def test_a_commune_plan_prints_its_commune_targets():
    p = pd.DataFrame([{"indicator": "consolidated_holders", "unit": "count",
                       "scope": "commune", "start_year": None, "year": 2023, "season": None,
                       "source": "plan", "target": 5.0, "actual": 5.0, "actual_year": 2023,
                       "achieved_pct": 100.0}])
    empty = pd.DataFrame()
    assert ReportData(p, empty, empty, empty).summary_lines() == [
        "consolidated_holders năm 2023: 5, đạt 100,0% so với Kế hoạch năm 2023 (5)"]
    both = pd.concat([p, p.assign(scope="district")], ignore_index=True)
    assert len(ReportData(both, empty, empty, empty).summary_lines()) == 1


def test_headline_without_actual():
    row = {"indicator": "vietgap_area", "unit": "ha", "start_year": None, "year": 2024,
           "season": None, "source": "plan", "target": 500.0, "actual": float("nan"),
           "actual_year": None, "achieved_pct": float("nan")}
    assert "chưa có số liệu thực hiện" in headline(row)
    assert "no actual figure" in headline(row, language="en")


def test_workbook_sheets_headers_and_freeze(written):
    vi, en = written
    wb = load_workbook(vi["workbook"])
    assert wb.sheetnames == SHEETS_VI
    assert load_workbook(en["workbook"]).sheetnames == SHEETS_EN
    for ws in wb:
        h = header_row(ws)
        # the summary's sentences sit above its table: only the appendices freeze
        assert ws.freeze_panes == (None if ws.title == "Tổng hợp" else f"A{h + 1}")
        assert all(c.font.bold for c in ws[h] if c.value)
        assert ws.cell(h, 1).value == "STT"
        assert ws.column_dimensions["B"].customWidth and ws.column_dimensions["B"].width >= 7
    s = wb["Tổng hợp"]
    assert header(s)[:4] == ["STT", "Nội dung", "Địa bàn", "Nguồn chỉ tiêu"]
    assert "Tỷ lệ đạt (%)" in header(s) and "Thực hiện" in header(s)
    assert "Diễn giải" not in header(s)  # the sentences print above the table
    # investor and status are the group rows of appendix III, not columns
    assert header(wb["Phụ lục III"])[:3] == ["STT", "Mã công trình", "Tên công trình"]
    assert "Vốn Nhân dân (triệu đồng)" in header(wb["Phụ lục III"])
    se = load_workbook(en["workbook"])["Summary"]
    assert header(se)[:4] == ["No.", "Indicator", "Area", "Target source"]
    assert "Achieved (%)" in header(se)


def test_cells_are_numbers_with_formats(written):
    vi, en = written
    for files in (vi, en):
        ws = load_workbook(files["workbook"]).worksheets[0]
        names = header(ws)
        row = item_rows(ws)[0]
        target = row[names.index("Chỉ tiêu" if files is vi else "Target")]
        actual = row[names.index("Thực hiện" if files is vi else "Actual")]
        pct = row[names.index("Tỷ lệ đạt (%)" if files is vi else "Achieved (%)")]
        assert target.value == 21227 and target.number_format == "#,##0"
        assert isinstance(actual.value, float) and round(actual.value) == 23865
        assert actual.number_format == "#,##0"
        assert pct.value == 112.4 and pct.number_format == "0.0"
    wb = load_workbook(vi["workbook"])
    areas = column(wb["Phụ lục I"], "Diện tích liên kết (ha)")
    assert sum(areas) == pytest.approx(23865, abs=0.5)
    j = header(wb["Phụ lục I"]).index("Diện tích liên kết (ha)")
    assert item_rows(wb["Phụ lục I"])[0][j].number_format == "#,##0.0"
    costs = column(wb["Phụ lục III"], "Tổng mức đầu tư (triệu đồng)")
    assert sum(costs) == pytest.approx(40610)
    j = header(wb["Phụ lục III"]).index("Tổng mức đầu tư (triệu đồng)")
    assert item_rows(wb["Phụ lục III"])[0][j].number_format == "#,##0"


def test_vietnamese_headline_in_workbook(written):
    vi, en = written
    ws = load_workbook(vi["workbook"])["Tổng hợp"]
    above = [ws.cell(r, 1).value for r in range(4, header_row(ws))]
    assert "23.865 ha, đạt 112,4% so với Nghị quyết" in above[1]
    assert any("đạt 96,2%" in t for t in above if t)
    ws = load_workbook(en["workbook"])["Summary"]
    above = [ws.cell(r, 1).value for r in range(4, header_row(ws))]
    assert "23,865 ha, 112.4% of the resolution" in above[1]


def test_labels_translated(written):
    vi, en = written
    w = load_workbook(vi["workbook"])["Phụ lục III"]
    assert {"Công trình do tỉnh làm chủ đầu tư", "Công trình do huyện làm chủ đầu tư",
            "Chưa triển khai"} <= set(texts(w))
    m = load_workbook(en["workbook"])["Appendix II"]
    assert {"State-supported", "Self-replicated"} <= set(texts(m))


def test_csv_tables(written):
    vi, en = written
    for name in TABLES:
        path = vi[name]
        assert path.parent.name == "tables" and path.parent.parent == vi["workbook"].parent
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(vi["summary"], encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert float(rows[0]["Tỷ lệ đạt (%)"]) == 112.4
    assert rows[0]["Nội dung"] == "Diện tích liên kết sản xuất"
    # plain tables: the headline column, the notes in the report's language
    assert rows[0]["Diễn giải"].startswith("Diện tích liên kết sản xuất năm 2024: 23.865 ha")
    assert rows[1]["Ghi chú"] == "chỉ tiêu năm 2025 được so với số thực hiện đến năm 2024"
    assert en["summary"].parent.name == "en_tables"
    linkage = pd.read_csv(en["appendix_1_linkage"], encoding="utf-8-sig",
                          dtype={"Commune code": str})
    assert linkage["Linkage area (ha)"].sum() == pytest.approx(23865, abs=0.5)
    assert "27784" in set(linkage["Commune code"])


def test_empty_power_works_sheet_has_a_note(tmp_path, data):
    empty = ReportData(progress=data.progress, linkage_by_commune=data.linkage_by_commune,
                       models=data.models, works=data.works, power_works=None)
    files = write_report(empty, tmp_path / "r.xlsx")
    ws = load_workbook(files["workbook"])["Phụ lục IV"]
    assert header(ws)[1] == "Mã công trình" and item_rows(ws) == []
    assert any("vị trí trạm bơm" in t for t in texts(ws))
    files = write_report(empty, tmp_path / "e.xlsx", language="en")
    assert any("siting" in t for t in texts(load_workbook(files["workbook"])["Appendix IV"]))
    assert pd.read_csv(files["appendix_4_power_works"], encoding="utf-8-sig").empty


def test_atomic_write_leaves_no_temporary_files(tmp_path, data):
    path = tmp_path / "report.xlsx"
    write_report(data, path)
    write_report(data, path)  # replaces in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx", "tables"]
    assert not [p for p in (tmp_path / "tables").iterdir() if p.name.startswith(".")]


def test_unknown_language(tmp_path, data):
    with pytest.raises(ValueError, match="language"):
        write_report(data, tmp_path / "r.xlsx", language="fr")
    assert not (tmp_path / "r.xlsx").exists()


def test_inputs_unchanged(tmp_path, data):
    before = data.progress.copy()
    write_report(data, tmp_path / "r.xlsx")
    pd.testing.assert_frame_equal(data.progress, before)


# ----------------------------------------------------------------------------- appendix IV


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """``geoagri demo`` run in-process: the report and the siting result it wrote."""
    from geoagri.cli import main

    out = tmp_path_factory.mktemp("demo") / "out"
    assert main(["demo", "--out", str(out), "--year", "2024"]) == 0
    return out


def proposals_block(ws, heading):
    """Header, station rows, totals row and sentence of the proposals block under the works.

    Cells from the first column after STT on; the totals row (first under the
    header) is read with its formulas evaluated by :func:`evaluate`.
    """
    rows = list(ws.iter_rows(min_row=1))
    start = next(i for i, r in enumerate(rows) if r[0].value == heading)
    header = [c.value for c in rows[start + 1][1:] if c.value is not None]
    total = rows[start + 2]
    end = next(i for i in range(start + 3, len(rows)) if not isinstance(rows[i][0].value, int))
    values = [evaluate(ws, c) for c in total[1:]]
    return header, [r[1:] for r in rows[start + 3:end]], values, total[1:], rows[end][0].value


def test_appendix_iv_lists_the_siting_proposals_under_the_works(demo_run):
    from geoagri.report import format_number as fmt

    ws = load_workbook(demo_run / "report.xlsx")["Phụ lục IV"]
    # the existing power works first, as before
    assert column(ws, "Mã công trình")[:4] == ["D01", "D02", "D03", "D04"]
    j = header(ws).index("Diện tích phục vụ (ha)")
    assert item_rows(ws)[0][j].number_format == "#,##0.0"
    header_, rows, t, total, sentence = proposals_block(
        ws, "Đề xuất mới (geoagri): trạm bơm điện và đường dây 3 pha")
    assert header_ == ["Mã vị trí đề xuất", "Xã, thị trấn", "Số trạm bơm", "Đường dây 3 pha (km)",
                      "Diện tích phục vụ (ha)", "Kinh phí trạm bơm (triệu đồng)",
                      "Kinh phí đường dây (triệu đồng)", "Tổng kinh phí (triệu đồng)",
                      "Diện tích phục vụ trên 1 tỷ đồng (ha)"]
    # the siting result the same run wrote: the stations and the appendix IV table
    sites = pyogrio.read_dataframe(demo_run / "proposals.gpkg", layer="proposed_stations")
    appendix = pd.read_csv(demo_run / "tables" / "appendix_4_proposals.csv",
                           dtype={"site_id": str})
    assert len(rows) == len(sites) == len(appendix) == 5
    assert [r[0].value for r in rows] == appendix["site_id"].tolist()
    covered = dict(zip(sites["site_id"], sites["covered_ha"], strict=True))
    for r, (_, a) in zip(rows, appendix.iterrows(), strict=True):
        site, commune, n, km, ha, station, line, cost, per_bn = (c.value for c in r[:9])
        assert commune == a["commune_name"] and n == 1
        assert ha == pytest.approx(covered[site], abs=1e-6)
        assert ha == pytest.approx(a["served_ha"], abs=1e-6)
        assert km == pytest.approx(a["line_length_km"])
        assert station == pytest.approx(800.0)  # 800 million VND a station
        assert line == pytest.approx(a["connection_cost_vnd"] / 1e6)
        assert cost == pytest.approx(a["cost_vnd"] / 1e6)
        assert per_bn == pytest.approx(a["served_ha"] / (a["cost_vnd"] / 1e9))
        assert [c.number_format for c in r[2:9]] == [
            "#,##0", "#,##0.00", "#,##0.0", "#,##0", "#,##0", "#,##0", "#,##0.0"]
    # totals (formulas, first under the header): stations, km of line, ha served, cost,
    # ha per billion VND
    assert t[1] == "Tổng cộng" and t[2] == 5
    assert t[3] == pytest.approx(appendix["line_length_km"].sum())
    assert t[4] == pytest.approx(sites["covered_ha"].sum(), abs=1e-5)
    assert t[7] == pytest.approx(appendix["cost_vnd"].sum() / 1e6)
    assert t[8] == pytest.approx(appendix["served_ha"].sum() / (appendix["cost_vnd"].sum() / 1e9))
    assert [c.number_format for c in total[2:9]] == [
        "#,##0", "#,##0.00", "#,##0.0", "#,##0", "#,##0", "#,##0", "#,##0.0"]
    assert all(c.font.bold for c in total[:9] if c.value is not None)
    assert all(total[k].value.startswith("=SUBTOTAL(9,") for k in (2, 3, 4, 5, 6, 7))
    # the sentence in the Vietnamese number style: 1.611 ha, 4,3 tỷ đồng
    ha = fmt(appendix["served_ha"].sum())
    bn = fmt(appendix["cost_vnd"].sum() / 1e9, decimals=1)
    assert sentence == (
        f"Đề xuất 5 trạm bơm điện và {fmt(t[3], decimals=1)} km đường dây 3 pha, tổng kinh "
        f"phí ước tính {bn} tỷ đồng, phục vụ tưới tiêu cho {ha} ha "
        f"({fmt(t[8], decimals=1)} ha/tỷ đồng).")
    assert "." in ha and "," in bn  # 1.611 and 4,3


def test_report_data_proposals_are_the_cli_s(data, demo_run):
    """build_report_data runs the plan's scenario itself: the same stations as the CLI's."""
    appendix = pd.read_csv(demo_run / "tables" / "appendix_4_proposals.csv",
                           dtype={"site_id": str, "commune_id": str})
    pd.testing.assert_frame_equal(data.proposals.reset_index(drop=True), appendix,
                                  check_dtype=False)


def test_appendix_iv_proposals_in_english(written, data):
    en = written[1]
    ws = load_workbook(en["workbook"])["Appendix IV"]
    header_, rows, t, total, sentence = proposals_block(
        ws, "New proposals (geoagri): electric pump stations and three-phase lines")
    assert header_[:3] == ["Site id", "Commune", "Pump stations"]
    assert [r[0].value for r in rows] == data.proposals["site_id"].tolist()
    assert t[1] == "Total" and t[2] == len(data.proposals)
    assert total[4].number_format == "#,##0.0"
    assert sentence.startswith(f"Proposed: {len(data.proposals)} electric pump stations")
    assert f"serving {data.proposals['served_ha'].sum():,.0f} ha" in sentence
    # the CSV of appendix IV keeps the works only
    works = pd.read_csv(en["appendix_4_power_works"], encoding="utf-8-sig")
    assert len(works) == 4 and works["Area served (ha)"].sum() == 1030


def test_appendix_iv_without_power_works_or_proposals(tmp_path, data):
    from dataclasses import replace

    only = replace(data, power_works=None)
    ws = load_workbook(write_report(only, tmp_path / "p.xlsx")["workbook"])["Phụ lục IV"]
    h = header_row(ws)
    assert ws.cell(h + 2, 1).value == ("Chưa có công trình điện phục vụ trạm bơm trong các lớp "
                                       "dữ liệu.")
    assert ws.cell(h + 4, 1).value.startswith("Đề xuất mới (geoagri)")
    none = replace(data, proposals=None)
    ws = load_workbook(write_report(none, tmp_path / "n.xlsx")["workbook"])["Phụ lục IV"]
    # header, total and the four works: no proposals block
    assert ws.max_row == header_row(ws) + 5 and len(item_rows(ws)) == 4
    from geoagri.datasets import demo

    assert build_report_data(demo(), year=2024, proposals=False).proposals is None


def test_demo_carries_appendix_i_to_the_2025_communes(demo_run):
    # the demo's plan says carry_to_2025 = true: appendix I on the new communes,
    # with the lineage as appendix V
    old = pd.read_csv(demo_run / "tables" / "appendix_1_linkage.csv", encoding="utf-8-sig")
    new = pd.read_csv(demo_run / "tables" / "appendix_1_linkage_2025.csv",
                      dtype={"new_code": str}, encoding="utf-8-sig")
    area_old = old["Diện tích liên kết (ha)"]
    assert new["area_ha"].sum() == pytest.approx(area_old.sum(), rel=1e-12)  # conserved
    by_code = new.set_index(new["new_code"].fillna("outside"))["area_ha"]
    # new Tuyên Bình 27775: Tuyên Bình, Tuyên Bình Tây whole; Vĩnh Bình, Vĩnh Thuận half;
    # Thái Bình Trung a third (equal shares: no 2025 boundaries in the demo)
    a = dict(zip(old["Mã xã"].astype("Int64").astype(str), area_old, strict=True))
    expected = (a["27781"] + a["27784"] + a["27775"] / 2 + a["27778"] / 2 + a["27772"] / 3)
    assert by_code["27775"] == pytest.approx(expected, rel=1e-12)
    assert set(by_code.index) == {"27757", "27763", "27775", "outside"}
    wb = load_workbook(demo_run / "report.xlsx")
    assert "Phụ lục V – Chuyển đổi 2025" in wb.sheetnames
    cells = [c for row in wb["Phụ lục V – Chuyển đổi 2025"].iter_rows(values_only=True)
             for c in row if c is not None]
    assert "Xã Thái Bình Trung" in cells and "Xã Tuyên Bình Tây" in cells


def test_the_report_prints_the_documents_units_and_the_plans_choice(data, tmp_path):
    """Yield in tạ/ha (7,5 t/ha is written 75), money in triệu đồng or, as chosen, tỷ đồng."""
    from dataclasses import replace

    models = data.models.dropna(subset=["yield_t_ha"]).reset_index(drop=True)
    files = write_report(data, tmp_path / "r.xlsx", tables_dir=tmp_path / "t")
    ws = load_workbook(files["workbook"])["Phụ lục II"]
    col = header(ws).index("Năng suất bình quân (tạ/ha)")
    printed = [r[col].value for r in item_rows(ws) if r[col].value is not None]
    assert printed[: len(models)] == pytest.approx(list(models["yield_t_ha"] * 10))
    chosen = replace(data, units={"vnd": "tỷ đồng"})
    files = write_report(chosen, tmp_path / "r2.xlsx", tables_dir=tmp_path / "t2")
    ws = load_workbook(files["workbook"])["Phụ lục III"]
    col = header(ws).index("Tổng mức đầu tư (tỷ đồng)")
    first = item_rows(ws)[0][col]
    assert first.value == pytest.approx(data.works["cost_million_vnd"].iloc[0] / 1000)
    assert first.number_format == "#,##0.00"
    assert "ĐVT: tỷ đồng" in texts(ws)  # the unit line follows the chosen unit
    csv = pd.read_csv(tmp_path / "t2" / "appendix_3_works.csv")
    assert csv["Tổng mức đầu tư (tỷ đồng)"].sum() == pytest.approx(
        data.works["cost_million_vnd"].sum() / 1000)


def test_report_units_are_checked_when_the_plan_is_read():
    from geoagri.context import resolve_context
    from geoagri.errors import OptionError

    with pytest.raises(OptionError, match=r"vnd = 'ha': 'vnd' \(money\) cannot be converted"):
        resolve_context(settings={"report_units": {"vnd": "ha"}})
    ctx = resolve_context(settings={"report_units": {"vnd": "tỷ đồng"}})
    assert dict(ctx.report_units) == {"vnd": "tỷ đồng"}
