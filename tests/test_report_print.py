"""report.xlsx as it prints: title block, STT, unit line, totals and subtotals as formulas,
A4 page setup, the summary's sentences first, notes in the report's language; and, with
LibreOffice, the workbook recalculated and printed to PDF (page counts).

Expected figures are the demo's works counted by hand and seed 000's own sentences
("tỉnh đầu tư xây dựng 8 công trình thủy lợi, tổng mức đầu tư 26.000 triệu đồng; huyện …
23 công trình … 14.610 triệu đồng"; "4 công trình điện … 4,4 tỷ đồng … 1.030ha"), or sums
computed here from the report's data with pandas.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace

import pandas as pd
import pytest
from _workbook import evaluate, header, header_row, labelled, rows_below
from openpyxl import load_workbook

from geoagri.progress import progress
from geoagri.report import ReportData, note_text, write_report

KICKERS_VI = {"Tổng hợp": "BIỂU TỔNG HỢP", "Phụ lục I": "PHỤ LỤC I", "Phụ lục II": "PHỤ LỤC II",
              "Phụ lục III": "PHỤ LỤC III", "Phụ lục IV": "PHỤ LỤC IV",
              "Phụ lục V – Chuyển đổi 2025": "PHỤ LỤC V"}
UNITS_VI = {"Phụ lục I": "ĐVT: ha", "Phụ lục II": "ĐVT: ha", "Phụ lục III": "ĐVT: triệu đồng",
            "Phụ lục IV": "ĐVT: triệu đồng", "Phụ lục V – Chuyển đổi 2025": "ĐVT: ha"}

#: The demo's irrigation works by investor and status, counted by hand from
#: geoagri/datasets (works T01–T08 of the province, H01–H23 of the district).
WORKS_BY_HAND = {
    "province": {"planned": ["T03", "T04", "T07", "T08"], "surveyed": ["T02", "T06"],
                 "designed": ["T01", "T05"]},
    "district": {"planned": [f"H{i:02d}" for i in (2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14,
                                                   15, 16, 17, 19, 20, 21, 22, 23)],
                 "designed": ["H01", "H11", "H18"]},
}


@pytest.fixture(scope="module")
def report():
    """The demo's report as ``geoagri demo`` builds it (appendix V included)."""
    from geoagri import compute
    from geoagri.datasets import demo

    data = compute(demo(), curve_steps=0).report
    assert data.lineage is not None
    return data


@pytest.fixture(scope="module")
def books(report, tmp_path_factory):
    root = tmp_path_factory.mktemp("print")
    vi = write_report(report, root / "vi" / "report.xlsx")["workbook"]
    en = write_report(report, root / "en" / "report.xlsx", language="en")["workbook"]
    return vi, en


# ------------------------------------------------------------------------ title block, STT


def test_every_sheet_has_the_title_block_and_unit_line(books):
    vi, en = books
    wb = load_workbook(vi)
    assert list(KICKERS_VI) == wb.sheetnames
    for ws in wb:
        width = len(header(ws))
        last = ws.cell(header_row(ws), width).column_letter
        assert ws["A1"].value == KICKERS_VI[ws.title]
        assert ws["A1"].font.b and ws["A2"].font.b and ws["A3"].font.i
        assert ws["A3"].value == "(Kèm theo Báo cáo số …/BC-… ngày … tháng … năm …)"
        for row in (1, 2, 3):  # merged across the table
            assert f"A{row}:{last}{row}" in {str(r) for r in ws.merged_cells.ranges}
            assert ws.cell(row, 1).alignment.horizontal == "center"
        unit = ws.cell(header_row(ws) - 1, width - 2)  # right-aligned over the last columns
        if ws.title in UNITS_VI:
            assert unit.value == UNITS_VI[ws.title]
            assert unit.alignment.horizontal == "right"
    assert wb["Phụ lục I"]["A2"].value == "DIỆN TÍCH THỰC HIỆN LIÊN KẾT SẢN XUẤT THEO XÃ NĂM 2024"
    assert wb["Phụ lục III"]["A2"].value == "DANH MỤC CÔNG TRÌNH THỦY LỢI NĂM 2024"
    e = load_workbook(en)
    assert [ws["A1"].value for ws in e] == ["SUMMARY", "APPENDIX I", "APPENDIX II",
                                            "APPENDIX III", "APPENDIX IV", "APPENDIX V"]
    assert e["Appendix I"]["A3"].value == "(Attached to Report No. …, dated …)"
    assert "Unit: ha" in [c.value for c in e["Appendix I"][header_row(e["Appendix I"]) - 1]]


def test_stt_numbers_items_within_their_groups(books, report):
    wb = load_workbook(books[0])
    ws = wb["Phụ lục I"]
    stt = [r[0].value for r in rows_below(ws)]
    assert stt == [None, *range(1, len(report.linkage_by_commune) + 1)]  # total, communes
    # appendix III: investor (I, II), status (a, b…), works numbered within their status
    ws = wb["Phụ lục III"]
    expected = [None]
    for by_status in WORKS_BY_HAND.values():
        expected.append("I" if len(expected) == 1 else "II")
        for k, status in enumerate(("planned", "surveyed", "designed")):
            if status in by_status:
                expected.append("abc"[len([s for s in ("planned", "surveyed", "designed")[:k]
                                           if s in by_status])])
                expected += list(range(1, len(by_status[status]) + 1))
    assert [r[0].value for r in rows_below(ws)] == expected
    # each status group lists the works counted by hand
    ids = header(ws).index("Mã công trình")
    groups, current = {}, None
    for r in rows_below(ws)[1:]:
        if r[0].value in ("I", "II"):
            investor = "province" if r[0].value == "I" else "district"
        elif isinstance(r[0].value, str):
            current = (investor, r[2].value)
            groups[current] = []
        else:
            groups[current].append(r[ids].value)
    status_label = {"planned": "Chưa triển khai", "surveyed": "Đã khảo sát",
                    "designed": "Đã thiết kế, lập báo cáo KTKT"}
    assert groups == {(inv, status_label[st]): ids_ for inv, by in WORKS_BY_HAND.items()
                      for st, ids_ in by.items()}


# ----------------------------------------------------------------------- totals as formulas


def test_appendix_i_district_total_is_a_formula_over_the_communes(books, report):
    ws = load_workbook(books[0])["Phụ lục I"]
    rows = rows_below(ws)
    total, communes = rows[0], rows[1:]
    j = header(ws).index("Diện tích liên kết (ha)")
    assert total[header(ws).index("Xã, thị trấn")].value == "Toàn huyện"
    col = total[j].column_letter
    assert total[j].value == f"=SUBTOTAL(9,{col}{communes[0][0].row}:{col}{communes[-1][0].row})"
    expected = float(report.linkage_by_commune["area_ha"].sum())
    assert evaluate(ws, total[j]) == pytest.approx(expected, rel=1e-12)
    assert round(expected) == 23865  # seed 000: 23.865 ha
    assert total[j].number_format == "#,##0.0" and total[j].font.b
    # the empty target columns of the demo are not printed
    assert "Chỉ tiêu (ha)" not in header(ws)


def test_appendix_iii_subtotals_per_investor_and_status(books, report):
    ws = load_workbook(books[0])["Phụ lục III"]
    rows = labelled(ws, "Tên công trình")
    heads = header(ws)
    count, cost = heads.index("Mã công trình"), heads.index("Tổng mức đầu tư (triệu đồng)")
    state, people = heads.index("Vốn Nhà nước (triệu đồng)"), heads.index(
        "Vốn Nhân dân (triệu đồng)")
    share = heads.index("Tỷ lệ vốn Nhà nước (%)")
    province = rows["Công trình do tỉnh làm chủ đầu tư"]
    district = rows["Công trình do huyện làm chủ đầu tư"]
    # seed 000: the province 8 works for 26.000 triệu đồng, the district 23 for 14.610
    assert evaluate(ws, province[count]) == 8 and evaluate(ws, province[cost]) == 26000
    assert evaluate(ws, district[count]) == 23 and evaluate(ws, district[cost]) == 14610
    assert province[count].number_format == '#,##0 "công trình"'
    # the district's works are 70 % state-funded (seed 000: "tỷ lệ 70-30% vốn")
    assert evaluate(ws, district[state]) == pytest.approx(0.7 * 14610)
    assert evaluate(ws, district[people]) == pytest.approx(0.3 * 14610)
    assert evaluate(ws, district[share]) == pytest.approx(70.0)
    total = rows["Tổng cộng"]
    assert evaluate(ws, total[count]) == 31 and evaluate(ws, total[cost]) == 40610
    # the status groups: counted by hand, their cost summed here from the data
    w = report.works
    j = heads.index("Tên công trình")
    for r in rows_below(ws):
        if r[0].value in ("a", "b", "c"):
            members = [x for x in rows_below(ws) if x[0].row > r[0].row]
            members = [x for x in members[:next((k for k, x in enumerate(members)
                                                 if not isinstance(x[0].value, int)),
                                                len(members))]]
            ids = [x[count].value for x in members]
            assert evaluate(ws, r[count]) == len(ids)
            expected = w.loc[w["work_id"].isin(ids), "cost_million_vnd"].sum()
            assert evaluate(ws, r[cost]) == pytest.approx(expected)
            assert r[j].value in {"Chưa triển khai", "Đã khảo sát",
                                  "Đã thiết kế, lập báo cáo KTKT"}


def test_appendix_iv_totals_the_power_works_and_the_proposals(books, report):
    ws = load_workbook(books[0])["Phụ lục IV"]
    heads = header(ws)
    total = rows_below(ws)[0]
    assert total[heads.index("Tên công trình")].value == "Tổng cộng"
    # seed 000: 4 power works, 4,4 tỷ đồng, 1.030 ha
    assert evaluate(ws, total[heads.index("Mã công trình")]) == 4
    assert evaluate(ws, total[heads.index("Kinh phí (triệu đồng)")]) == 4400
    assert evaluate(ws, total[heads.index("Diện tích phục vụ (ha)")]) == 1030
    # the proposals' own totals row, under their header
    start = next(r for r in ws.iter_rows() if str(r[0].value).startswith("Đề xuất mới"))[0].row
    ph = [c.value for c in ws[start + 1]]
    t = ws[start + 2]
    p = report.proposals
    assert t[ph.index("Xã, thị trấn")].value == "Tổng cộng"
    assert evaluate(ws, t[ph.index("Số trạm bơm")]) == len(p)
    assert evaluate(ws, t[ph.index("Diện tích phục vụ (ha)")]) == pytest.approx(
        p["served_ha"].sum())
    assert evaluate(ws, t[ph.index("Tổng kinh phí (triệu đồng)")]) == pytest.approx(
        p["cost_vnd"].sum() / 1e6)
    assert evaluate(ws, t[ph.index("Diện tích phục vụ trên 1 tỷ đồng (ha)")]) == pytest.approx(
        p["served_ha"].sum() / (p["cost_vnd"].sum() / 1e9))


def test_appendix_ii_subtotals_per_season_and_support(books):
    ws = load_workbook(books[0])["Phụ lục II"]
    rows = labelled(ws, "Xã, thị trấn")
    heads = header(ws)
    models, area = heads.index("Số mô hình"), heads.index("Diện tích (ha)")

    def got(label):
        return evaluate(ws, rows[label][models]), evaluate(ws, rows[label][area])

    # seed 000: DX 2023-2024 one 400 ha zone and one 50 ha model; HT 2024 12 supported
    # models of 50 ha and 250 ha self-replicated (5 × 50 ha)
    assert got("Vụ Đông Xuân 2023-2024") == (2, 450)
    assert got("Vụ Hè Thu 2024") == (17, 850)
    assert got("Tổng cộng") == (19, 1300)
    supported = [r for r in rows_below(ws) if r[1].value == "Có hỗ trợ ngân sách"]
    assert [evaluate(ws, r[area]) for r in supported] == [450, 600]


def test_appendix_i_subtotals_per_district_when_the_plan_spans_several(tmp_path, report):
    linkage = report.linkage_by_commune.copy()
    other = linkage["commune_id"].isin(["27772", "27775", "27778", "27781", "27784"])
    linkage["district"] = linkage["district"].where(~other, "Huyện Tân Hưng")
    data = replace(report, linkage_by_commune=linkage)
    ws = load_workbook(write_report(data, tmp_path / "r.xlsx")["workbook"])["Phụ lục I"]
    rows = labelled(ws, "Xã, thị trấn")
    j = header(ws).index("Diện tích liên kết (ha)")
    by = linkage.groupby("district")["area_ha"].sum()
    assert rows["Huyện Vĩnh Hưng"][0].value == "I" and rows["Huyện Tân Hưng"][0].value == "II"
    for district in ("Huyện Vĩnh Hưng", "Huyện Tân Hưng"):
        assert evaluate(ws, rows[district][j]) == pytest.approx(by[district], rel=1e-12)
    total = rows["Tổng cộng"]  # no longer "Toàn huyện"
    assert evaluate(ws, total[j]) == pytest.approx(linkage["area_ha"].sum(), rel=1e-12)
    assert "Toàn huyện" not in rows
    # the area outside every commune is in the total, in no district
    outside = rows_below(ws)[-1]
    assert outside[j - 1].value == "Ngoài ranh giới các xã" and outside[0].value == 1


# ------------------------------------------------------------------------------ page setup


def test_every_sheet_prints_landscape_a4_fitted_to_width(books):
    for path in books:
        for ws in load_workbook(path):
            h = header_row(ws)
            assert ws.page_setup.orientation == "landscape"
            assert int(ws.page_setup.paperSize) == 9  # A4
            assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
            assert ws.sheet_properties.pageSetUpPr.fitToPage
            assert ws.print_title_rows == f"${h}:${h}"  # the header repeats on every page
            assert ws.print_options.horizontalCentered
            m = ws.page_margins
            assert 0.4 <= m.left <= 1.0 and 0.4 <= m.right <= 1.0 and 0.4 <= m.top <= 1.0
            assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
            # the header row: bold, bordered, wrapped
            for c in ws[h]:
                if c.value is None:  # appendix IV: its proposals' table is wider
                    continue
                assert c.font.b and c.border.top.style == "thin" and c.alignment.wrap_text
            # thin borders over the whole table
            width = len([v for v in header(ws) if v is not None])
            table = [r[:width] for r in rows_below(ws)]
            table = table[:next((k for k, r in enumerate(table)
                                 if all(c.value is None for c in r)), len(table))]
            assert table and all(c.border.left.style == c.border.bottom.style == "thin"
                                 for r in table for c in r)
            # every column set is wide enough to read, none hidden
            assert all(d.width >= 5 for d in ws.column_dimensions.values() if d.customWidth)


def test_the_summary_s_sentences_print_first(books, report):
    wb = load_workbook(books[0])
    assert wb.sheetnames[0] == "Tổng hợp"
    ws = wb["Tổng hợp"]
    h = header_row(ws)
    sentences = report.summary_sentences()
    rows = [r for r in range(4, h) if isinstance(ws.cell(r, 1).value, str)
            and ws.cell(r, 1).value.startswith("- ")]
    assert [ws.cell(r, 1).value for r in rows] == [f"- {s}" for s in sentences]
    width = ws.cell(h, len(header(ws))).column_letter
    merged = {str(m) for m in ws.merged_cells.ranges}
    for r in rows:
        assert f"A{r}:{width}{r}" in merged and ws.cell(r, 1).alignment.wrap_text
        assert ws.row_dimensions[r].height >= 15
    assert "Diễn giải" not in header(ws) and ws["M1"].value is None
    assert sentences[0] == ("Diện tích liên kết sản xuất năm 2024: 23.865 ha, đạt 112,4% so với "
                            "Nghị quyết năm 2024 (21.227 ha)")
    # the works told by status, not "hoàn thành năm 2024: 0, đạt 0,0%"
    assert not any("hoàn thành năm 2024: 0" in s for s in sentences)


# ------------------------------------------------------------------------- the sentences


def test_works_status_sentences_are_the_hand_counts(report):
    assert report.works_status_sentences() == [
        "Công trình thủy lợi năm 2024: tỉnh làm chủ đầu tư 8 công trình, tổng mức đầu tư "
        "26.000 triệu đồng; huyện làm chủ đầu tư 23 công trình, tổng mức đầu tư 14.610 triệu "
        "đồng.",
        # 2 surveyed + 2 designed of 8; 4 planned
        "Công trình do tỉnh làm chủ đầu tư: 4/8 công trình đã khảo sát, thiết kế (2 đã lập báo "
        "cáo KTKT, 2 mới khảo sát); 4 chưa triển khai.",
        # seed 000: "Đã khảo sát, thiết kế và lập báo cáo kinh tế kỹ thuật 03 công trình,
        # còn lại 20 công trình chưa triển khai"
        "Công trình do huyện làm chủ đầu tư: 3/23 công trình đã khảo sát, thiết kế và lập báo "
        "cáo KTKT; 20 chưa triển khai.",
        "Công trình điện phục vụ trạm bơm: 4 công trình, tổng kinh phí ước tính 4.400 triệu "
        "đồng, phục vụ tưới tiêu cho 1.030 ha; cả 4 công trình chưa triển khai.",
    ]
    en = report.works_status_sentences(language="en")
    assert en[1] == ("Works invested by the province: 4/8 works surveyed or designed "
                     "(2 designed, 2 surveyed only); 4 not started.")
    # in tỷ đồng when the plan says so, as seed 000 writes the power works (4,4 tỷ đồng)
    tỷ = replace(report, units={"vnd": "tỷ đồng"}).works_status_sentences()
    assert "tổng kinh phí ước tính 4,4 tỷ đồng, phục vụ tưới tiêu cho 1.030 ha" in tỷ[-1]


def test_status_sentences_with_works_under_way_and_completed(tmp_path):
    works = pd.DataFrame({"investor": ["province"] * 5 + [None],
                          "status": ["completed", "completed", "under_construction",
                                     "planned", None, "planned"],
                          "cost_million_vnd": [1000.0] * 6, "year": [2023, 2024] * 3})
    empty = pd.DataFrame()
    got = ReportData(empty, empty, empty, works).works_status_sentences()
    assert got[0] == ("Công trình thủy lợi: tỉnh làm chủ đầu tư 5 công trình, tổng mức đầu tư "
                      "5.000 triệu đồng; chưa rõ chủ đầu tư 1 công trình, tổng mức đầu tư "
                      "1.000 triệu đồng.")
    assert got[1] == ("Công trình do tỉnh làm chủ đầu tư: 2/5 công trình hoàn thành; 1 đang "
                      "thi công; 1 chưa triển khai; 1 chưa rõ tình trạng.")
    assert got[2] == "Công trình chưa rõ chủ đầu tư: cả 1 công trình chưa triển khai."
    # printed: a group per investor, the works without one in theirs
    no_targets = pd.DataFrame(columns=["indicator", "unit", "scope", "source", "year"])
    files = write_report(ReportData(no_targets, empty, empty, works.assign(
        work_id=[f"W{i}" for i in range(6)])), tmp_path / "r.xlsx")
    ws = load_workbook(files["workbook"])["Phụ lục III"]
    rows = labelled(ws, "Tên công trình")
    count = header(ws).index("Mã công trình")
    assert evaluate(ws, rows["Công trình do tỉnh làm chủ đầu tư"][count]) == 5
    assert evaluate(ws, rows["Công trình chưa rõ chủ đầu tư"][count]) == 1
    assert evaluate(ws, rows["Tổng cộng"][count]) == 6


# ------------------------------------------------------------------ notes in the language


def test_no_english_note_in_the_vietnamese_workbook(books):
    wb = load_workbook(books[0])
    cells = [c.value for ws in wb for row in ws.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert not [c for c in cells if re.search(r"\b(the|target|actual|compared|as_of)\b", c)]
    ws = wb["Tổng hợp"]
    notes = [r[header(ws).index("Ghi chú")].value for r in rows_below(ws)]
    assert notes.count("chỉ tiêu năm 2025 được so với số thực hiện đến năm 2024") == 3
    e = load_workbook(books[1])["Summary"]
    assert "the 2025 target is compared with the actual up to 2024 (as_of)" in [
        r[header(e).index("Note")].value for r in rows_below(e)]


def test_every_note_progress_writes_reads_in_vietnamese():
    actual = pd.DataFrame({"indicator": "linkage_area", "unit": "ha", "scope": "district",
                           "scope_id": "Huyện Vĩnh Hưng", "year": [2022, 2023, 2024],
                           "actual": [20000.0, 22000.0, 23865.0]})
    base = {"indicator": "linkage_area", "unit": "ha", "scope": "district",
            "scope_id": "Huyện Vĩnh Hưng", "year": 2024, "source": "plan", "target": 100.0,
            "start_year": None, "season": None}
    targets = pd.DataFrame([
        {**base, "year": 2026},                       # compared with the actual up to 2024
        {**base, "start_year": 2020},                 # cumulative without 2020, 2021
        {**base, "target": 0.0},                      # no percentage
        {**base, "season": "HT 2024"},                # no season figure
        {**base, "scope": "commune", "scope_id": "Xã Thái Trị"},  # no commune figure
        {**base, "year": 2019},                       # no figure that year
        {**base, "unit": "tấn"},                      # a mass against an area
        {**base, "indicator": "vietgap_area"},        # not computed
    ])
    notes = progress(actual, targets, as_of=2024)["note"].tolist()
    assert all(notes), notes
    vi = [note_text(n) for n in notes]
    for n, v in zip(notes, vi, strict=True):
        assert not re.search(r"\b(the|target|actual|no|for|in|season|indicator|covers|unit)\b",
                             v), (n, v)
    assert vi[0] == "chỉ tiêu năm 2026 được so với số thực hiện đến năm 2024"
    assert vi[1] == "chưa có số thực hiện năm 2020, 2021: số lũy kế chỉ gồm năm 2022–2024"
    assert vi[2] == "chỉ tiêu bằng 0: không tính tỷ lệ"
    assert vi[3] == "chưa có số thực hiện vụ HT 2024 của Huyện Vĩnh Hưng"
    assert vi[4] == "chưa có số thực hiện của Xã Thái Trị"
    assert vi[5] == "chưa có số thực hiện năm 2019 của Huyện Vĩnh Hưng"
    assert vi[6] == ("chỉ tiêu tính bằng 'tấn', số thực hiện tính bằng ha: không so sánh được; "
                     "ghi chỉ tiêu theo ha")
    assert vi[7] == "chưa có số thực hiện: chỉ tiêu này không tính được từ các lớp dữ liệu"
    assert note_text(notes[0], language="en") == notes[0]


# ------------------------------------------------------------ LibreOffice: recalc and print

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_office = pytest.mark.skipif(
    not (SOFFICE and shutil.which("pdftotext") and shutil.which("pdfinfo")),
    reason="LibreOffice (soffice) and poppler-utils (pdftotext, pdfinfo) are not installed; "
           "on Debian: apt-get install --no-install-recommends libreoffice-calc-nogui "
           "poppler-utils fonts-dejavu-core")


def convert(path, to, outdir, profile):
    """``soffice --headless --convert-to`` with a private profile (parallel runs)."""
    subprocess.run([SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                    "--convert-to", to, "--outdir", str(outdir), str(path)],
                   check=True, capture_output=True, timeout=300)
    out = outdir / f"{path.stem}.{to.split(':')[0]}"
    assert out.exists(), f"LibreOffice wrote no {out.name}"
    return out


@pytest.fixture(scope="module")
def office(books, tmp_path_factory):
    """The Vietnamese workbook recalculated by LibreOffice (xlsx) and printed (PDF)."""
    root = tmp_path_factory.mktemp("office")
    profile = root / "profile"
    pdf = convert(books[0], "pdf", root / "pdf", profile)
    xlsx = convert(books[0], "xlsx", root / "xlsx", profile)
    pdf_en = convert(books[1], "pdf", root / "pdf_en", profile)
    return pdf, xlsx, pdf_en


def pages(pdf):
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    return text.split("\f")[:-1]


def page_count(pdf):
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])


def sheet_pages(pdf, kickers):
    """Pages per sheet: from the page with its kicker line to the next sheet's."""
    found = [[line.strip() for line in p.splitlines()] for p in pages(pdf)]
    starts = [next(i for i, lines in enumerate(found) if k in lines) for k in kickers]
    ends = [*starts[1:], len(found)]
    return [e - s for s, e in zip(starts, ends, strict=True)]


@needs_office
def test_libreoffice_recalculates_the_totals(office, report):
    wb = load_workbook(office[1], data_only=True)
    ws = wb["Phụ lục I"]
    j = header(ws).index("Diện tích liên kết (ha)")
    assert rows_below(ws)[0][j].value == pytest.approx(
        report.linkage_by_commune["area_ha"].sum(), rel=1e-9)
    ws = wb["Phụ lục III"]
    rows = labelled(ws, "Tên công trình")
    count, cost = header(ws).index("Mã công trình"), header(ws).index(
        "Tổng mức đầu tư (triệu đồng)")
    assert rows["Công trình do tỉnh làm chủ đầu tư"][count].value == 8
    assert rows["Công trình do tỉnh làm chủ đầu tư"][cost].value == 26000
    assert rows["Công trình do huyện làm chủ đầu tư"][count].value == 23
    assert rows["Công trình do huyện làm chủ đầu tư"][cost].value == 14610
    assert rows["Tổng cộng"][cost].value == 40610
    ws = wb["Phụ lục IV"]
    total = rows_below(ws)[0]
    assert total[header(ws).index("Kinh phí (triệu đồng)")].value == 4400
    assert total[header(ws).index("Diện tích phục vụ (ha)")].value == 1030


@needs_office
def test_the_workbook_prints_in_a_page_per_sheet(office):
    pdf, _, pdf_en = office
    # measured: 6 pages in Vietnamese (one per sheet), 7 in English (appendix III's
    # longer rows take a second page); before the page setup, 24 pages
    per_sheet = sheet_pages(pdf, list(KICKERS_VI.values()))
    assert per_sheet[1] == 1  # Phụ lục I of the demo on one page
    assert page_count(pdf) == sum(per_sheet) <= 7
    assert per_sheet[0] == 1  # the summary, sentences and table
    assert page_count(pdf_en) <= 8
    # the summary's sentences on the first page, at its top
    first = " ".join(pages(pdf)[0].split())
    assert first.startswith("BIỂU TỔNG HỢP KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU NĂM 2024")
    assert "- Diện tích liên kết sản xuất năm 2024: 23.865 ha, đạt 112,4% so với Nghị quyết" \
        in first
    assert first.index("23.865 ha, đạt 112,4%") < first.index("STT")
    assert "4/8 công trình đã khảo sát, thiết kế" in first
