"""The report as a Word draft: read back with python-docx and checked against ReportData.

Figures are checked against the demo's report tables (``build_report_data``) and
the seed document 000 ("23.865ha, đạt 112,4% so với Nghị quyết …"), never
against strings copied from the writer's own output.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import docx
import pandas as pd
import pytest
from docx.oxml.ns import qn
from docx.shared import Cm

from geoagri.errors import OptionError
from geoagri.report import ReportData, build_report_data, format_number
from geoagri.report_docx import write_report_docx
from geoagri.units import customary


@pytest.fixture(scope="module")
def data() -> ReportData:
    from geoagri.datasets import demo

    return build_report_data(demo(), year=2024)


@pytest.fixture(scope="module")
def docs(data, tmp_path_factory):
    root = tmp_path_factory.mktemp("docx")
    vi = write_report_docx(data, root / "vi" / "report.docx")
    en = write_report_docx(data, root / "en" / "report.docx", language="en")
    return vi, en


@pytest.fixture(scope="module")
def vi(docs):
    return docx.Document(docs[0])


@pytest.fixture(scope="module")
def en(docs):
    return docx.Document(docs[1])


def body(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def section(doc, heading: str) -> list[str]:
    """The paragraphs under a heading, up to the next heading of any level."""
    out, inside = [], False
    for p in doc.paragraphs:
        if p.style.name.startswith("Heading"):
            if inside:
                break
            inside = p.text == heading
        elif inside:
            out.append(p.text)
    assert inside or out, f"no heading {heading!r}"
    return out


def cells(table) -> list[list[str]]:
    return [[c.text for c in row.cells] for row in table.rows]


def appendix_tables(doc) -> list:
    return [t for t in doc.tables if t.style is not None and t.style.name == "Table Grid"]


def rows_of(data: ReportData) -> pd.DataFrame:
    p = data.progress
    return p[p["scope"] != "commune"]


# ------------------------------------------------------------------ sentences
def test_seed_000_figures_in_the_linkage_and_rice_parts(vi):
    linkage = " ".join(section(vi, "1. Liên kết sản xuất"))
    # seed 000: "23.865ha, đạt 112,4% so với Nghị quyết (… 21.227ha) và đạt 105,4% theo lộ
    # trình đến năm 2025 (22.640ha)" — one sentence, the figure stated once
    sentence = next(s for s in section(vi, "1. Liên kết sản xuất") if "112,4%" in s)
    assert sentence.count("23.865 ha") == 1
    for text in ("đạt 112,4% so với Nghị quyết", "(21.227 ha)", "và đạt 105,4%",
                 "lộ trình đến năm 2025 (22.640 ha)"):
        assert text in sentence, text
    assert "(Đính kèm phụ lục I)" in linkage
    rice = " ".join(section(vi, "2. Mô hình lúa ứng dụng công nghệ cao"))
    for text in ("1.300 ha, đạt 96,2%", "(1.350 ha)", "6.400 ha, đạt 129,2%", "(4.950 ha)",
                 "101,1%", "(6.327 ha)", "11.873 ha, đạt 100,6%", "(11.800 ha)",
                 # the models of DX 2023-2024 as the seed gives them
                 "75 tạ/ha", "32,6 triệu đồng/ha", "82 tạ/ha", "38 triệu đồng/ha"):
        assert text in rice, text


def test_every_target_row_is_stated_with_its_figures(vi, data):
    text = body(vi)
    for _, row in rows_of(data).iterrows():
        target, unit = customary(row["target"], row["unit"])
        actual = customary(row["actual"], row["unit"])[0]
        unit = f" {unit}" if unit else ""
        pct = format_number(row["achieved_pct"], decimals=1)
        hits = [p for p in text if f"đạt {pct}% so với" in p
                and f"({format_number(target)}{unit})" in p
                and f"{format_number(actual)}{unit}, " in p]
        assert hits, (row["indicator"], row["source"], row["year"])


def test_works_by_investor_and_status_as_the_seed_says(vi, data):
    part = section(vi, "3. Hạ tầng thủy lợi phục vụ sản xuất")
    works = data.works
    text = " ".join(part)
    for investor, label in (("province", "tỉnh"), ("district", "huyện")):
        g = works[works["investor"] == investor]
        statuses = g["status"].value_counts()
        started = len(g) - int(statuses.get("planned", 0))
        cost = format_number(g["cost_million_vnd"].sum())
        assert f"{label} làm chủ đầu tư {len(g)} công trình, tổng mức đầu tư {cost} triệu " \
               "đồng" in text
        sentence = next(s for s in part
                        if s.startswith(f"Công trình do {label} làm chủ đầu tư:"))
        assert f"{started}/{len(g)} công trình đã khảo sát, thiết kế" in sentence
        assert f"{int(statuses.get('planned', 0))} chưa triển khai" in sentence
    # seed 000: province 8 works, 26.000 triệu, 4/8 surveyed or designed; district 23 works,
    # 14.610 triệu, 20 not started; the workbook's summary says the same sentences
    for seed in ("8 công trình, tổng mức đầu tư 26.000 triệu đồng", "4/8 công trình",
                 "23 công trình, tổng mức đầu tư 14.610 triệu đồng", "20 chưa triển khai"):
        assert seed in text, seed
    assert all(s in data.summary_sentences() for s in data.irrigation_sentences())
    power = " ".join(section(vi, "4. Điện phục vụ trạm bơm tưới"))
    # seed 000: "4 công trình điện …, tổng kinh phí ước tính 4,4 tỷ đồng, … 1.030ha"
    assert "4 công trình, tổng kinh phí ước tính 4.400 triệu đồng" in power
    assert "tưới tiêu cho 1.030 ha" in power


def test_assessment_and_directions_are_placeholders(vi):
    for heading in ("1. Kết quả đạt được", "2. Tồn tại, hạn chế", "3. Nguyên nhân",
                    "1. Phương hướng, nhiệm vụ", "2. Kiến nghị, đề xuất"):
        texts = [t for t in section(vi, heading) if not t.startswith("Trên đây là báo cáo")]
        assert texts and all(t.startswith("[") and t.endswith("]") for t in texts), heading


def test_title_block_and_recipients(vi, data):
    block = cells(vi.tables[0])[0]
    assert block[0].startswith("UBND HUYỆN …\nPHÒNG NÔNG NGHIỆP …") and "Số: …/BC-…" in block[0]
    assert block[1].startswith("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc")
    assert "…, ngày … tháng … năm …" in block[1]
    assert vi.tables[0].style is None or vi.tables[0].style.name != "Table Grid"  # no borders
    titles = [p.text for p in vi.paragraphs if p.style.name in ("Title", "Subtitle")]
    assert titles[0] == "BÁO CÁO" and titles[1].endswith(f"năm {data.year}")
    signature = cells(vi.tables[1])[0]
    assert signature[0].startswith("Nơi nhận:\n- Như trên;") and "Lưu" in signature[0]


# --------------------------------------------------------------------- tables
def test_appendix_tables_are_table_grid_with_stt_and_repeated_header(vi):
    tables = appendix_tables(vi)
    assert len(tables) == 5  # I, II, III, IV (power works), IV (proposals)
    for t in tables:
        header = t.rows[0]
        assert header.cells[0].text == "STT"
        assert header._tr.trPr.find(qn("w:tblHeader")) is not None
    heads = [p.text for p in vi.paragraphs if p.style.name == "Heading 1"]
    assert heads[-4:] == ["PHỤ LỤC I", "PHỤ LỤC II", "PHỤ LỤC III", "PHỤ LỤC IV"]


def test_appendix_i_rows_and_district_total(vi, data):
    rows = cells(appendix_tables(vi)[0])
    by_name = {r[1]: r for r in rows[1:]}
    communes = data.linkage_by_commune.dropna(subset=["commune_id"])
    for _, c in communes.iterrows():
        r = by_name[c["commune_name"]]
        assert r[2] == format_number(c["area_ha"], decimals=1)
        assert r[3] == format_number(c["commune_share_pct"], decimals=1)
    assert [r[0] for r in rows[1:-1]] == [str(i) for i in range(1, len(communes) + 1)]
    # the total of the communes is the district's figure of the progress table
    district = data.progress[(data.progress["indicator"] == "linkage_area")
                             & (data.progress["scope"] == "district")]["actual"].iloc[0]
    assert rows[-1][1] == "Toàn huyện"
    assert rows[-1][2] == format_number(district, decimals=1) == "23.865,0"
    strong = {r.style.name for c in appendix_tables(vi)[0].rows[-1].cells
              for p in c.paragraphs for r in p.runs}
    assert strong == {"Strong"}


def test_appendix_ii_subtotals_by_season(vi, data):
    rows = cells(appendix_tables(vi)[1])
    for roman, (season, g) in zip(("I", "II"), data.models.groupby("season", sort=False),
                                  strict=True):
        group = next(r for r in rows if r[0] == roman)
        assert group[1] == f"Vụ {season}"
        assert group[3] == format_number(g["models"].sum())
        assert group[4] == format_number(g["area_ha"].sum(), decimals=1)
    assert rows[-1][1] == "Tổng cộng" and rows[-1][3] == format_number(data.models["models"].sum())
    dx = next(r for r in rows if r[1] == "Xã Tuyên Bình Tây" and r[5])
    assert dx[4:7] == ["400,0", "82,0", "38,0"]  # seed 000: 400ha, 82 tạ/ha, 38 triệu đồng/ha


def test_appendix_iii_subtotals_by_investor(vi, data):
    rows = cells(appendix_tables(vi)[2])
    header = rows[0]
    cost = header.index("Tổng mức đầu tư (triệu đồng)")
    groups = {r[0]: r for r in rows if r[0] in ("I", "II")}
    assert groups["I"][1].startswith("Tỉnh làm chủ đầu tư (8 công trình)")
    assert groups["I"][cost] == "26.000" and groups["II"][cost] == "14.610"
    people = header.index("Vốn Nhân dân (triệu đồng)")
    district = data.works[data.works["investor"] == "district"]
    assert groups["II"][people] == format_number(district["people_million_vnd"].sum())
    assert rows[-1][1].startswith("Tổng cộng (31 công trình)")
    assert rows[-1][cost] == format_number(data.works["cost_million_vnd"].sum())
    items = [r for r in rows[1:-1] if r[0] not in ("I", "II")]
    assert sorted(r[1] for r in items) == sorted(data.works["name"])


def test_appendix_iv_power_works_total(vi, data):
    rows = cells(appendix_tables(vi)[3])
    assert rows[-1][-2:] == [format_number(data.power_works["cost_million_vnd"].sum()),
                             format_number(data.power_works["served_area_ha"].sum(),
                                           decimals=1)]
    assert rows[-1][-2:] == ["4.400", "1.030,0"]  # seed 000: 4,4 tỷ đồng, 1.030 ha
    proposals = cells(appendix_tables(vi)[4])
    assert len(proposals) == len(data.proposals) + 2
    assert proposals[-1][4] == format_number(data.proposals["served_ha"].sum(), decimals=1)
    # ha per billion VND of the totals: the sums' ratio, not a sum of the stations' ratios
    served, cost = data.proposals["served_ha"].sum(), data.proposals["cost_vnd"].sum()
    assert proposals[-1][6] == format_number(served / (cost / 1e9), decimals=1)
    text = [p.text for p in vi.paragraphs if p.text.startswith("Đề xuất ")]
    assert any(f"({format_number(served / (cost / 1e9), decimals=1)} ha/tỷ đồng)" in t
               for t in text)


def test_the_plans_units_are_the_documents_units(data, tmp_path):
    # seed 000 writes the power works in tỷ đồng: "tổng kinh phí ước tính 4,4 tỷ đồng"
    billions = dataclasses.replace(data, units={"vnd": "tỷ đồng"})
    doc = docx.Document(write_report_docx(billions, tmp_path / "r.docx"))
    power = " ".join(section(doc, "4. Điện phục vụ trạm bơm tưới"))
    assert "tổng kinh phí ước tính 4,4 tỷ đồng" in power
    works = " ".join(section(doc, "3. Hạ tầng thủy lợi phục vụ sản xuất"))
    assert "tổng mức đầu tư 26 tỷ đồng" in works
    rows = cells(appendix_tables(doc)[3])
    cost = rows[0].index("Kinh phí (tỷ đồng)")
    assert rows[-1][cost] == format_number(data.power_works["cost_million_vnd"].sum() / 1e3,
                                           decimals=2) == "4,40"


def test_appendix_v_when_the_data_carries_a_lineage(data, tmp_path):
    lineage = pd.DataFrame({
        "old_code": ["27763", "27766"], "old_name": ["Xã Khánh Hưng", "Xã Thái Trị"],
        "old_district": ["Huyện Vĩnh Hưng"] * 2, "new_code": ["30001"] * 2,
        "new_name": ["Xã Vĩnh Hưng Mới"] * 2, "weight": [1.0, 0.25],
        "weight_source": ["whole", "geometry"], "part_area_ha": [5463.0, 1238.5]})
    doc = docx.Document(write_report_docx(dataclasses.replace(data, lineage=lineage),
                                          tmp_path / "r.docx"))
    heads = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert heads[-1] == "PHỤ LỤC V"
    rows = cells(appendix_tables(doc)[-1])
    assert rows[1:] == [["1", "Xã Khánh Hưng", "Huyện Vĩnh Hưng", "Xã Vĩnh Hưng Mới", "100,0",
                         "5.463,0"],
                        ["2", "Xã Thái Trị", "Huyện Vĩnh Hưng", "Xã Vĩnh Hưng Mới", "25,0",
                         "1.238,5"]]


# ----------------------------------------------------------- styles and page
def test_word_styles_not_direct_formatting(vi):
    styles = {p.style.name for p in vi.paragraphs}
    assert {"Title", "Heading 1", "Heading 2", "Normal", "List Bullet"} <= styles
    heads = [p.text for p in vi.paragraphs if p.style.name == "Heading 1"]
    assert heads[:3] == ["I. KẾT QUẢ THỰC HIỆN NĂM 2024", "II. ĐÁNH GIÁ CHUNG",
                         "III. PHƯƠNG HƯỚNG, NHIỆM VỤ VÀ KIẾN NGHỊ"]
    assert [p.text for p in vi.paragraphs if p.style.name == "Heading 2"][:4] == [
        "1. Liên kết sản xuất", "2. Mô hình lúa ứng dụng công nghệ cao",
        "3. Hạ tầng thủy lợi phục vụ sản xuất", "4. Điện phục vụ trạm bơm tưới"]
    # the body's runs carry no font, size, bold or italic of their own
    for p in vi.paragraphs:
        for r in p.runs:
            assert (r.font.name, r.font.size, r.bold, r.italic) == (None,) * 4, p.text
    normal = vi.styles["Normal"].font
    assert normal.name == "Times New Roman" and normal.size.pt in (13, 14)
    rfonts = vi.styles["Heading 1"].element.rPr.find(qn("w:rFonts"))
    assert rfonts.get(qn("w:asciiTheme")) is None  # no theme font overrides the style's font


def test_page_is_a4_portrait_with_administrative_margins(vi):
    s = vi.sections[0]
    assert abs(s.page_width - Cm(21.0)) < Cm(0.01) and abs(s.page_height - Cm(29.7)) < Cm(0.01)
    assert abs(s.top_margin - Cm(2)) < Cm(0.01) and abs(s.bottom_margin - Cm(2)) < Cm(0.01)
    assert abs(s.left_margin - Cm(3)) < Cm(0.01)
    assert Cm(1.5) - Cm(0.01) <= s.right_margin <= Cm(2) + Cm(0.01)


def test_english_on_request(en, data):
    heads = [p.text for p in en.paragraphs if p.style.name == "Heading 1"]
    assert heads[:3] == ["I. RESULTS IN 2024", "II. ASSESSMENT",
                         "III. DIRECTIONS, TASKS AND RECOMMENDATIONS"]
    text = " ".join(body(en))
    assert "23,865 ha, 112.4% of the resolution for 2024 (21,227 ha)" in text
    assert "and 105.4% of the roadmap for 2025 (22,640 ha)" in text
    assert "KẾT QUẢ" not in text and "Kính gửi" not in text
    assert cells(en.tables[0])[0][1].startswith("SOCIALIST REPUBLIC OF VIET NAM")
    assert cells(en.tables[1])[0][0].startswith("Recipients:")
    rows = cells(appendix_tables(en)[0])
    assert rows[0][0] == "No." and rows[-1][1] == "District total"
    assert rows[-1][2] == format_number(data.linkage_by_commune["area_ha"].sum(), decimals=1,
                                        language="en")


def test_unknown_language_is_refused(data, tmp_path):
    with pytest.raises(OptionError, match="language='fr'"):
        write_report_docx(data, tmp_path / "r.docx", language="fr")
    assert not (tmp_path / "r.docx").exists()


# ----------------------------------------------------------------- hostile text
HOSTILE = ["<b>x</b>", "=1+1", '=HYPERLINK("http://evil.example/","Xã A")', "@SUM(1+1)",
           "]]><x/>", "&amp; &lt;", "<w:t>Xã</w:t>", "\t=1+1", "\r=1+1", "Xã \x01 lạ"]


def test_text_from_the_data_comes_back_verbatim(tmp_path):
    n = len(HOSTILE)
    linkage = pd.DataFrame({"commune_id": [str(i) for i in range(n)], "commune_name": HOSTILE,
                            "area_ha": [10.0] * n, "commune_share_pct": [1.0] * n})
    works = pd.DataFrame({"work_id": HOSTILE, "name": HOSTILE, "investor": ["province"] * n,
                          "status": ["planned"] * n, "commune_name": HOSTILE,
                          "cost_million_vnd": [1.0] * n})
    progress = pd.DataFrame([{"indicator": "linkage_area", "unit": "ha", "scope": "district",
                              "scope_id": "x", "start_year": None, "year": 2024,
                              "season": None, "source": "resolution", "target": 100.0,
                              "actual": 10.0 * n, "actual_year": 2024,
                              "achieved_pct": 10.0 * n}])
    data = ReportData(progress, linkage, pd.DataFrame(), works)
    doc = docx.Document(write_report_docx(data, tmp_path / "r.docx",
                                          recipients=["- <b>Như trên</b>;"]))
    expect = [h.replace("\r", "\n").replace("\x01", "\ufffd") for h in HOSTILE]
    tables = appendix_tables(doc)
    assert [r[1] for r in cells(tables[0])[1:-1]] == expect
    works_rows = [r for r in cells(tables[1]) if r[0].isdigit()]
    assert [r[1] for r in works_rows] == expect and [r[2] for r in works_rows] == expect
    assert "- <b>Như trên</b>;" in cells(doc.tables[1])[0][0]
    # the works sentence counts the hostile rows like any others
    assert any(f"tỉnh làm chủ đầu tư {n} công trình" in p for p in body(doc))


# ---------------------------------------------------------------------- figure
@pytest.fixture(scope="module")
def a4_png(tmp_path_factory) -> Path:
    """A portrait A4 image drawn with matplotlib (the A4 map's shape)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.27, 11.69), dpi=40)
    ax.fill([0, 1, 1, 0], [0, 0, 1, 1], color="#78c679")
    path = tmp_path_factory.mktemp("png") / "map.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def test_map_image_is_a_captioned_figure_within_the_page(data, a4_png, tmp_path):
    doc = docx.Document(write_report_docx(data, tmp_path / "r.docx", map_image=a4_png))
    assert len(doc.inline_shapes) == 1
    shape = doc.inline_shapes[0]
    s = doc.sections[0]
    assert shape.width <= s.page_width - s.left_margin - s.right_margin
    assert shape.height <= s.page_height - s.top_margin - s.bottom_margin
    assert abs(shape.width / shape.height - 8.27 / 11.69) < 0.01  # the aspect is kept
    captions = [p for p in doc.paragraphs if p.style.name == "Caption"]
    assert len(captions) == 1 and captions[0].text.startswith("Hình 1. ")
    # the figure closes section I, before the assessment
    texts = body(doc)
    assert texts.index(captions[0].text) < texts.index("II. ĐÁNH GIÁ CHUNG")


def test_map_image_errors(data, tmp_path):
    with pytest.raises(OptionError, match="no such file"):
        write_report_docx(data, tmp_path / "r.docx", map_image=tmp_path / "none.png")
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(OptionError, match="not an image"):
        write_report_docx(data, tmp_path / "r.docx", map_image=bad)
    assert not (tmp_path / "r.docx").exists()


# ---------------------------------------------------------- printed by LibreOffice
TOOLS = [shutil.which(t) for t in ("soffice", "pdfinfo", "pdftotext")]


@pytest.mark.skipif(not all(TOOLS), reason="LibreOffice (soffice) and poppler-utils "
                    "(pdfinfo, pdftotext) are needed to print the docx to PDF")
def test_libreoffice_prints_it(docs, data, tmp_path):
    profile = tmp_path / f"lo-{uuid.uuid4().hex}"
    res = subprocess.run([TOOLS[0], "--headless", f"-env:UserInstallation={profile.as_uri()}",
                          "--convert-to", "pdf", "--outdir", str(tmp_path), str(docs[0])],
                         capture_output=True, text=True, timeout=240, check=False)
    pdf = tmp_path / "report.pdf"
    assert pdf.exists(), res.stderr
    info = subprocess.run([TOOLS[1], str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert "(A4)" in info
    text = subprocess.run([TOOLS[2], str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout.split("\f")[:pages]
    flat = [" ".join(t.split()) for t in text]
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in flat[0]
    # pdftotext splits justified words at wide letter spacing ("v ới"): compare the letters
    assert "23.865ha,đạt112,4%sovớiNghịquyếtnăm2024(21.227ha)" in "".join(text[0].split())
    # the report's body, then each appendix on pages of its own
    first = {n: next(i for i, t in enumerate(flat) if f"PHỤ LỤC {n} " in t + " ")
             for n in ("I", "II", "III", "IV")}
    body_end = next(i for i, t in enumerate(flat) if "Nơi nhận" in t)
    assert body_end < first["I"] < first["II"] < first["III"] < first["IV"] < pages
    assert "Toàn huyện" in flat[first["I"]]  # appendix I of the demo: one page
    assert first["II"] == first["I"] + 1
    assert pages <= first["IV"] + 2


# ------------------------------------------------------------------------ CLI
def test_demo_writes_report_docx(tmp_path):
    script = Path(sys.executable).with_name("geoagri")
    exe = [str(script)] if script.exists() else [sys.executable, "-m", "geoagri.cli"]
    out = tmp_path / "out"
    res = subprocess.run([*exe, "demo", "--out", str(out)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {"path": "report.docx", "output": "report.docx"}.items() <= next(
        f for f in manifest["files"] if f["path"] == "report.docx").items()
    doc = docx.Document(out / "report.docx")
    assert any("23.865 ha, đạt 112,4% so với Nghị quyết" in p for p in body(doc))
    # the A4 map is the figure when the run wrote it before the report
    assert len(doc.inline_shapes) == (1 if (out / "map.png").exists() else 0)
