"""The demo's and the five example plans' documents, read back and printed to PDF.

Each example (``vinh-hung`` is the demo's plan, seed 000) is run once through the real
command line (``geoagri demo --example NAME``); the tests read ``report.docx`` back with
python-docx and ``report.xlsx`` with openpyxl, and check every target sentence of the
summary (``tables/summary.csv``) against the engine's own table
(``tables/indicators.csv``): the figure a sentence prints is the indicator's value at
that level, unit and period, rounded as printed.  Then LibreOffice prints both documents
to PDF and poppler reads the pages back.  docs/report_docx.md lists the page counts.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import uuid
from pathlib import Path

import docx
import pandas as pd
import pytest
import test_examples
from openpyxl import load_workbook
from test_examples import indicators, summary

# each example run once through the command line (``geoagri demo --example NAME``, in
# process, into a temporary folder): the fixtures of tests/test_examples.py
cache, ran = test_examples.cache, test_examples.ran

NAMES = ["vinh-hung", "lai-chau", "thap-muoi", "chi-lang-bac", "an-giang"]

#: The report's own labels of seed 000's targets (its progress table; the engine labels
#: these indicators in its own words).
REPORT_LABELS = {
    "Diện tích lúa ứng dụng công nghệ cao": "hightech_rice_area",
    "Công trình thủy lợi do tỉnh làm chủ đầu tư hoàn thành": "works_completed_province",
    "Công trình thủy lợi do huyện làm chủ đầu tư hoàn thành": "works_completed_district",
    "Công trình điện phục vụ trạm bơm hoàn thành": "power_works_completed",
    "Số mô hình lúa CNC có hỗ trợ": "models",
}

TOOLS = [shutil.which(t) for t in ("soffice", "pdfinfo", "pdftotext")]
needs_tools = pytest.mark.skipif(
    not all(TOOLS), reason="LibreOffice (soffice) and poppler-utils (pdfinfo, pdftotext) "
    "are needed to print the documents to PDF")


@pytest.fixture(scope="module")
def pdfs(ran, tmp_path_factory):
    """name → (docx PDF, xlsx PDF), both printed by one LibreOffice call per example."""
    done: dict[str, tuple[Path, Path]] = {}

    def get(name: str) -> tuple[Path, Path]:
        if name not in done:
            out, _ = ran(name)
            folder = tmp_path_factory.mktemp(f"pdf-{name}")
            # the two files are both called report: copy them under names of their own
            sources = [folder / f"{name}-docx.docx", folder / f"{name}-xlsx.xlsx"]
            shutil.copy(out / "report.docx", sources[0])
            shutil.copy(out / "report.xlsx", sources[1])
            profile = folder / f"lo-{uuid.uuid4().hex}"
            res = subprocess.run(
                [TOOLS[0], "--headless", f"-env:UserInstallation={profile.as_uri()}",
                 "--convert-to", "pdf", "--outdir", str(folder), *map(str, sources)],
                capture_output=True, text=True, timeout=240, check=False)
            done[name] = (folder / f"{name}-docx.pdf", folder / f"{name}-xlsx.pdf")
            assert all(p.exists() for p in done[name]), res.stderr
        return done[name]

    return get


# ------------------------------------------------------------------------- reading
def vi_number(text: str) -> tuple[float, int]:
    """``23.183,8`` → (23183.8, 1 decimal)."""
    whole, _, frac = text.partition(",")
    return float(whole.replace(".", "") + ("." + frac if frac else "")), len(frac)


def split(sentence: str) -> tuple[str, str]:
    """``"label period: actual unit, "`` and the comparison with the target."""
    colon = sentence.index(": ")
    comma = sentence.index(", ", colon)
    return sentence[:comma + 2], sentence[comma + 2:]


def parse_head(label: str, head: str) -> re.Match[str] | None:
    """The period and the actual figure of ``"label period: actual unit, "``."""
    return re.match(re.escape(label) + r" (?:(?:năm (?P<year>\d{4}))|(?:lũy kế từ năm "
                    r"(?P<start>\d{4}) đến năm (?P<end>\d{4}))|(?:vụ (?P<season>.+?))): "
                    r"(?P<actual>[\d.,]+)(?P<unit>[^,]*), $", head)


TAIL = re.compile(r"^đạt (?P<pct>[\d.,]+)% so với .*\((?P<target>[\d.,]+)[^()]*\)$")


def engine_value(table: pd.DataFrame, row: pd.Series, head: re.Match[str]) -> float:
    """The figure of ``indicators.csv`` that a summary sentence states."""
    label = row["Nội dung"]
    ids = set(table.loc[table["label"] == label, "indicator"])
    if label in REPORT_LABELS:
        ids = {REPORT_LABELS[label]}
    assert len(ids) == 1, f"{label!r}: no single indicator in indicators.csv ({ids})"
    rows = table[(table["indicator"] == ids.pop()) & (table["unit_name"] == row["Địa bàn"])
                 & (table["categories"] == "")]
    if head["start"]:  # cumulated: the sum of the years
        years = [str(y) for y in range(int(head["start"]), int(head["end"]) + 1)]
        picked = rows[rows["period"].isin(years)]
        assert len(picked) == len(years), (label, picked)
        return float(picked["value"].sum())
    period = head["season"] or head["year"]
    picked = rows[rows["period"] == period]
    assert len(picked) == 1, (label, period, picked)
    return float(picked["value"].iloc[0])


def body(document: docx.document.Document) -> list[str]:
    return [p.text for p in document.paragraphs]


def pdf_pages(pdf: Path) -> list[str]:
    info = subprocess.run([TOOLS[1], str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    assert "(A4)" in info, info
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    text = subprocess.run([TOOLS[2], str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")[:pages]
    assert len(text) == pages
    return text


def letters(text: str) -> str:
    """pdftotext splits justified words at wide letter spacing ("v ới"): the letters only."""
    return "".join(text.split())


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", NAMES)
def test_docx_states_every_target_with_the_engines_figure(ran, name):
    out, _ = ran(name)
    table, s = indicators(out), summary(out)
    paragraphs = body(docx.Document(out / "report.docx"))
    assert len(s) > 0
    for _, row in s.iterrows():
        sentence = row["Diễn giải"]
        head, tail = split(sentence)
        # the head (label, period, actual) once, the comparison with this target in it
        found = [p for p in paragraphs if p.startswith(head) and tail in p]
        assert len(found) == 1, sentence
        # the indicator's id never stands for its label
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", found[0]), found[0]
        m, t = parse_head(row["Nội dung"], head), TAIL.match(tail)
        assert m and t, sentence
        actual, decimals = vi_number(m["actual"])
        engine = engine_value(table, row, m)  # in the printed unit (triệu đồng/ha, ha…)
        assert actual == pytest.approx(round(engine, decimals), abs=1e-9), sentence
        # the percentage is actual / target to its last printed decimal (rounded or
        # truncated: the report's rounding policy), the target the summary's
        pct, decimals = vi_number(t["pct"])
        assert abs(pct - 100 * row["Thực hiện"] / row["Chỉ tiêu"]) < 10 ** -decimals, sentence
        if row["Thực hiện"]:  # the target in the unit the engine's figure is printed in
            target, decimals = vi_number(t["target"])
            scale = engine / row["Thực hiện"]
            assert target == pytest.approx(round(row["Chỉ tiêu"] * scale, decimals)), sentence


@pytest.mark.parametrize("name", NAMES)
def test_docx_parts_and_appendices_only_with_figures(ran, name):
    out, _ = ran(name)
    document = docx.Document(out / "report.docx")
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 2"]
    parts = headings[:headings.index("1. Kết quả đạt được")]
    # numbered 1, 2, … in order, each with a figure sentence or an attached appendix
    assert [h.split(". ")[0] for h in parts] == [str(k) for k in range(1, len(parts) + 1)]
    appendices = [p.text for p in document.paragraphs
                  if p.style.name == "Heading 1" and p.text.startswith("PHỤ LỤC")]
    attached = [p.text for p in document.paragraphs if p.text.startswith("(Đính kèm phụ lục")]
    assert sorted(a.split()[-1] for a in appendices) == sorted(
        a.removeprefix("(Đính kèm phụ lục ").rstrip(")") for a in attached) + (
        ["V"] if "PHỤ LỤC V" in appendices else [])
    assert not any("Không có số liệu" in p.text for p in document.paragraphs)
    tables = {a: bool(sheet_rows(out, a)) for a in ("1_linkage", "2_models", "3_works")}
    assert ("PHỤ LỤC II" in appendices) == tables["2_models"]
    assert ("PHỤ LỤC III" in appendices) == tables["3_works"]
    if name == "vinh-hung":  # seed 000's four parts, the appendices I–IV and V
        assert parts == ["1. Liên kết sản xuất", "2. Mô hình lúa ứng dụng công nghệ cao",
                         "3. Hạ tầng thủy lợi phục vụ sản xuất",
                         "4. Điện phục vụ trạm bơm tưới"]
        assert appendices == [f"PHỤ LỤC {n}" for n in ("I", "II", "III", "IV", "V")]
    if name == "an-giang":  # cooperatives only: no linkage zones, no models, no works
        assert parts == ["1. Các chỉ tiêu của kế hoạch"]
        assert appendices == []
    if name == "chi-lang-bac":  # a commune's own plan: its targets are the summary's
        assert "Các chỉ tiêu khác" in parts[-1]


def sheet_rows(out: Path, stem: str) -> list[dict]:
    path = next((out / "tables").glob(f"appendix_{stem}*.csv"), None)
    if path is None:
        return []
    return pd.read_csv(path, encoding="utf-8-sig").to_dict("records")


def summary_sheet_sentences(out: Path) -> list[str]:
    """The sentences above the summary sheet's table (``"- …"``)."""
    ws = load_workbook(out / "report.xlsx", read_only=True)["Tổng hợp"]
    cells = [str(c) for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    head = cells.index("STT")  # the table's header
    return [c.removeprefix("- ") for c in cells[:head] if c.startswith("- ")]


@pytest.mark.parametrize("name", NAMES)
def test_xlsx_summary_sheet_has_the_same_sentences(ran, name):
    out, printed = ran(name)
    top = summary_sheet_sentences(out)
    # the sentences the command printed, in its order, and the docx's
    lines = printed.splitlines()
    start = lines.index(top[0])
    assert lines[start:start + len(top)] == top
    # every target's headline, but the works' completion, told by counts per status
    told = {"Công trình thủy lợi hoàn thành", *list(REPORT_LABELS)[1:4]}
    s = summary(out)
    assert set(s.loc[~s["Nội dung"].isin(told), "Diễn giải"]) <= set(top)
    paragraphs = body(docx.Document(out / "report.docx"))
    for sentence in top:  # the docx joins a figure's comparisons into one sentence
        head, tail = split(sentence) if "so với" in sentence else (sentence, "")
        assert any(p.startswith(head.rstrip(".")) and tail in p for p in paragraphs), sentence


@needs_tools
@pytest.mark.parametrize("name", NAMES)
def test_both_documents_print_with_every_headline(ran, pdfs, name):
    out, _ = ran(name)
    docx_pdf, xlsx_pdf = pdfs(name)
    pages = pdf_pages(docx_pdf)
    document = docx.Document(out / "report.docx")
    appendices = [p.text for p in document.paragraphs
                  if p.style.name == "Heading 1" and p.text.startswith("PHỤ LỤC")]
    # the body (title, section I with the A4 map, II, III, signature: 3–5 pages), then each
    # appendix on pages of its own
    body_end = next(i for i, t in enumerate(pages) if "Nơi nhận" in t)
    assert 2 <= body_end <= 4, (name, len(pages))
    assert len(pages) >= body_end + 1 + len(appendices)
    assert len(pages) <= body_end + 1 + 3 * len(appendices), (name, len(pages))
    flat = letters("".join(pages[:body_end + 1]))
    for sentence in summary(out)["Diễn giải"]:
        head, tail = split(sentence)
        assert letters(head) in flat and letters(tail) in flat, sentence
    sheet_pages = pdf_pages(xlsx_pdf)
    workbook = load_workbook(out / "report.xlsx", read_only=True)
    assert len(workbook.sheetnames) <= len(sheet_pages) <= 4 * len(workbook.sheetnames)
    sheet = letters("".join(sheet_pages))
    for sentence in summary_sheet_sentences(out):
        assert letters(sentence) in sheet, sentence


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("name", NAMES)
def test_map_is_a4(ran, name):
    out, _ = ran(name)
    w, h = png_size(out / "map.png")
    # A4: 297 × 210 mm, either way round
    assert max(w, h) / min(w, h) == pytest.approx(297 / 210, rel=0.01)
    pdf = (out / "map.pdf").read_bytes()
    box = re.search(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert box, "map.pdf has no MediaBox"
    size = sorted(float(v) for v in box.groups())
    assert size == pytest.approx([595.3, 841.9], abs=1.0)  # A4 in points
    if TOOLS[1]:
        info = subprocess.run([TOOLS[1], str(out / "map.pdf")], capture_output=True,
                              text=True, check=True).stdout
        assert "(A4)" in info and re.search(r"Pages:\s+1\b", info)
