"""The report as a Word draft (``report.docx``), in the shape of the programme documents.

:func:`write_report_docx` writes the report a district office hands over
(seed 000: *Báo cáo kết quả thực hiện Chương trình liên kết sản xuất …*) from
the tables of :func:`geoagri.report.build_report_data`:

* **Title block**, as Word documents draw it: a borderless two-column table
  with the issuing body (``UBND HUYỆN …`` / ``PHÒNG NÔNG NGHIỆP …``) and the
  number ``Số: …/BC-…`` on the left, the national motto and
  ``…, ngày … tháng … năm …`` on the right; then ``BÁO CÁO`` and its subject.
* **I. Kết quả thực hiện**, by programme part: liên kết sản xuất, lúa ứng
  dụng công nghệ cao, hạ tầng thủy lợi, điện phục vụ trạm bơm tưới (seed 000's
  parts, each when the plan has its figures or its appendix), then the plan's
  other indicators under their labels (*Các chỉ tiêu khác*; *Các chỉ tiêu của
  kế hoạch* when no part above is printed: cooperatives, crops, households…),
  numbered in order.  Every figure sentence comes from
  :class:`~geoagri.report.ReportData`: the headlines of the summary's targets
  (:meth:`~geoagri.report.ReportData.summary_rows`, :func:`geoagri.report.headline`;
  the rows of one indicator, period and actual are joined as the documents
  write them: *"… 23.865 ha, đạt 112,4% so với Nghị quyết năm 2024 (21.227 ha)
  và đạt 105,4% so với lộ trình đến năm 2025 (22.640 ha)"*), the models
  (:meth:`~geoagri.report.ReportData.model_sentences`), the works and power works.
* **Hình 1**, the A4 map, when ``map_image`` is given.
* **II. Đánh giá chung** and **III. Phương hướng, nhiệm vụ và kiến nghị**:
  placeholders in square brackets for the analyst's own words.
* **Nơi nhận** and the signature, as a borderless two-column table.
* **Phụ lục I–IV** (and V for the 2025 lineage), those with rows (numbered as
  the workbook numbers them; one without rows is left out), each on its own page, as
  tables in the style *Table Grid* with an STT column, a unit line, the
  header row repeated on every page, subtotals (per season, per investor) and
  totals.

It is a draft the analyst edits, so the text carries Word styles (*Title*,
*Subtitle*, *Heading 1*, *Heading 2*, *Normal*, *List Bullet*, *Caption*,
*Table Grid*, and paragraph styles of its own that Word lists beside them:
*Table Text*, *Table Heading*, *Table Number*, *Table Center*, *Addressee*,
*Figure*, *Appendix Title*, *Appendix Note*, *Unit Line*; total rows use the
character style *Strong*), not direct formatting; only the title and
signature blocks are bold, italic or centred by
hand.  The page is A4 portrait with the margins of Vietnamese administrative
documents (Nghị định 30/2020/NĐ-CP: top and bottom 2 cm, left 3 cm, right
1,5 cm) and *Normal* is Times New Roman 14 pt.

Numbers are written in the language's style (``language="vi"``: 23.865 ha,
112,4%; ``"en"``: 23,865 ha, 112.4%) by :func:`geoagri.report.format_number`,
quantities in the documents' units (:func:`geoagri.units.customary`: tạ/ha,
triệu đồng, or the plan's ``report_units``).  Text from the data is written
as text: a commune called ``<b>x</b>`` or ``=1+1`` comes back verbatim
(characters XML cannot hold, such as ``\\x01``, become U+FFFD).

The tables' subtotals and totals are sums over
:class:`~geoagri.report.ReportData`'s tables written here.

Examples
--------
>>> import tempfile, pathlib
>>> import docx
>>> from geoagri.datasets import demo
>>> from geoagri.report import build_report_data
>>> data = build_report_data(demo(), year=2024)
>>> out = write_report_docx(data, pathlib.Path(tempfile.mkdtemp()) / "report.docx")
>>> paragraphs = [p.text for p in docx.Document(out).paragraphs]
>>> print(next(p for p in paragraphs if "112,4%" in p))
Diện tích liên kết sản xuất năm 2024: 23.865 ha, đạt 112,4% so với Nghị quyết năm 2024
(21.227 ha) và đạt 105,4% so với lộ trình đến năm 2025 (22.640 ha).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from geoagri import _labels
from geoagri.errors import OptionError
from geoagri.report import LANGUAGES, ReportData, format_number, headline
from geoagri.units import customary

if TYPE_CHECKING:  # pragma: no cover
    from docx.document import Document
    from docx.table import Table

__all__ = ["headline_paragraphs", "write_report_docx"]

#: Page: A4 portrait, margins (cm) of Vietnamese administrative documents.
PAGE_CM = {"width": 21.0, "height": 29.7, "top": 2.0, "bottom": 2.0, "left": 3.0,
           "right": 1.5}
#: Font of the Normal style and its size (pt); tables are set smaller.
FONT, SIZE_PT, TABLE_SIZE_PT = "Times New Roman", 14, 11

_TEXT_WIDTH_CM = PAGE_CM["width"] - PAGE_CM["left"] - PAGE_CM["right"]

#: The words of the document, (vi, en).
_W: dict[str, tuple[str, str]] = {
    "issuer": ("UBND HUYỆN …", "PEOPLE'S COMMITTEE OF … DISTRICT"),
    "office": ("PHÒNG NÔNG NGHIỆP …", "DIVISION OF AGRICULTURE …"),
    "number": ("Số: …/BC-…", "No.: …/BC-…"),
    "nation": ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "SOCIALIST REPUBLIC OF VIET NAM"),
    "motto": ("Độc lập - Tự do - Hạnh phúc", "Independence - Freedom - Happiness"),
    "date": ("…, ngày … tháng … năm …", "…, day … month … year …"),
    "title": ("BÁO CÁO", "REPORT"),
    "subject": ("Kết quả thực hiện Chương trình liên kết sản xuất, phát triển nông nghiệp "
                "ứng dụng công nghệ cao{year}",
                "Results of the programme of production linkage and high-tech "
                "agriculture{year}"),
    "to": ("Kính gửi: […]", "To: […]"),
    "opening": ("[Căn cứ … (văn bản chỉ đạo, kế hoạch năm), đơn vị báo cáo kết quả thực "
                "hiện{year} như sau:]",
                "[Pursuant to … (the directive and the year's plan), the office reports the "
                "results{year} as follows:]"),
    "results": ("I. KẾT QUẢ THỰC HIỆN{year}", "I. RESULTS{year}"),
    "linkage": ("Liên kết sản xuất", "Production linkage"),
    "rice": ("Mô hình lúa ứng dụng công nghệ cao", "High-tech rice models"),
    "works": ("Hạ tầng thủy lợi phục vụ sản xuất", "Irrigation infrastructure"),
    "power": ("Điện phục vụ trạm bơm tưới", "Power for irrigation pump stations"),
    "other": ("Các chỉ tiêu khác", "Other indicators"),
    "plan_indicators": ("Các chỉ tiêu của kế hoạch", "The plan's indicators"),
    "attached": ("(Đính kèm {ref})", "(See {ref})"),
    "no_figures": ("[Chưa có số liệu trong dữ liệu của kế hoạch.]",
                   "[No figures in the plan's data.]"),
    "figure": ("Hình 1. Bản đồ tỷ lệ diện tích liên kết sản xuất theo xã và vùng thiếu hạ "
               "tầng tưới{year}",
               "Figure 1. Production-linkage coverage by commune and areas lacking "
               "irrigation infrastructure{year}"),
    "assessment": ("II. ĐÁNH GIÁ CHUNG", "II. ASSESSMENT"),
    "achieved": ("1. Kết quả đạt được", "1. Achievements"),
    "achieved_text": ("[Nhận xét của đơn vị về kết quả đạt được: công tác chỉ đạo, tuyên "
                      "truyền; hiệu quả kinh tế, xã hội của liên kết sản xuất và mô hình.]",
                      "[The office's assessment of what was achieved: direction and outreach; "
                      "economic and social effects of the linkage and the models.]"),
    "shortcomings": ("2. Tồn tại, hạn chế", "2. Shortcomings"),
    "shortcomings_text": ("[Những tồn tại, hạn chế trong quá trình thực hiện.]",
                          "[The shortcomings met in carrying out the programme.]"),
    "causes": ("3. Nguyên nhân", "3. Causes"),
    "causes_objective": ("[Nguyên nhân khách quan: …]", "[Objective causes: …]"),
    "causes_subjective": ("[Nguyên nhân chủ quan: …]", "[Subjective causes: …]"),
    "direction": ("III. PHƯƠNG HƯỚNG, NHIỆM VỤ VÀ KIẾN NGHỊ",
                  "III. DIRECTIONS, TASKS AND RECOMMENDATIONS"),
    "tasks": ("1. Phương hướng, nhiệm vụ", "1. Directions and tasks"),
    "tasks_text": ("[Phương hướng, nhiệm vụ trong thời gian tới.]",
                   "[Directions and tasks for the coming period.]"),
    "proposals": ("2. Kiến nghị, đề xuất", "2. Recommendations"),
    "proposals_text": ("[Kiến nghị, đề xuất với cấp trên.]",
                       "[Recommendations to the higher level.]"),
    "closing": ("Trên đây là báo cáo kết quả thực hiện Chương trình liên kết sản xuất, phát "
                "triển nông nghiệp ứng dụng công nghệ cao{year}./.",
                "This is the report on the programme of production linkage and high-tech "
                "agriculture{year}."),
    "recipients_head": ("Nơi nhận:", "Recipients:"),
    "recipients": ("- Như trên;\n- […];\n- Lưu: VT.", "- As above;\n- […];\n- Archive."),
    "signer": ("[CHỨC VỤ NGƯỜI KÝ]", "[TITLE OF THE SIGNATORY]"),
    "signature": ("[Ký, ghi rõ họ tên]", "[Signature and full name]"),
    "appendix_of": ("(Kèm theo Báo cáo số …/BC-… ngày …/…/…)",
                    "(Attached to Report No. …/BC-… of …/…/…)"),
    "unit_ha": ("ĐVT: ha", "Unit: ha"),
    "no_rows": ("Không có số liệu.", "No data."),
    "stt": ("STT", "No."),
    "total": ("Tổng cộng", "Total"),
    "district_total": ("Toàn huyện", "District total"),
    "outside": ("Ngoài ranh giới các xã", "Outside every commune"),
}

_YEAR = (" năm {year}", " in {year}")

#: Indicators of each part of section I (the others go to part 5).
_PARTS = {
    "linkage": ("linkage_area",),
    "rice": ("hightech_rice_area", "hightech_rice_area_supported", "hightech_rice_area_self",
             "models", "models_self"),
    "works": ("works_completed", "works_completed_province", "works_completed_district"),
    "power": ("power_works_completed",),
}

#: Appendices: number, title (vi, en).
_APPENDICES = {
    "I": ("Diện tích liên kết sản xuất theo xã", "Production-linkage area by commune"),
    "II": ("Mô hình lúa ứng dụng công nghệ cao theo vụ, xã",
           "High-tech rice models by season and commune"),
    "III": ("Công trình thủy lợi theo chủ đầu tư", "Irrigation works by investor"),
    "IV": ("Công trình điện phục vụ trạm bơm tưới", "Power works for irrigation pumps"),
    "V": ("Chuyển đổi theo đơn vị hành chính mới năm 2025",
          "Carried onto the communes of the 2025 reform"),
}


# --------------------------------------------------------------------------- text
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: object) -> str:
    """A value as document text: '' for missing, XML-illegal characters as U+FFFD."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return _XML_ILLEGAL.sub("\ufffd", str(value))


def _w(key: str, li: int, **fmt: object) -> str:
    text = _W[key][li]
    return text.format(**fmt) if fmt else text


def _year_text(year: int | None, li: int) -> str:
    return "" if year is None else _YEAR[li].format(year=year)


def _num(value: object, language: str, decimals: int = 0) -> str:
    return format_number(None if value is None else float(value), language=language,
                         decimals=decimals)


def _value_label(value: object, language: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return _labels.value_label(value, language)


# ---------------------------------------------------------------------- sentences
def _split_headline(text: str) -> tuple[str | None, str]:
    """``"label period: actual unit, "`` and the rest, when the sentence has a figure."""
    colon = text.find(": ")
    comma = text.find(", ", colon + 2) if colon >= 0 else -1
    if comma < 0:
        return None, text
    return text[:comma + 2], text[comma + 2:]


def headline_paragraphs(rows: pd.DataFrame, *, language: str = "vi",
                        units: Mapping[str, str] | None = None,
                        labels: Mapping[str, tuple[str, str]] | None = None) -> list[str]:
    """The progress rows as the report's sentences, one figure stated once.

    Consecutive rows whose sentences (:func:`geoagri.report.headline`) start
    alike, the same indicator, period and actual compared with several
    targets, are joined as the documents write them (*"… đạt 112,4% so với
    … và đạt 105,4% so với …"*).

    Parameters
    ----------
    rows : DataFrame
        Rows of :func:`geoagri.progress.progress`.
    language : {"vi", "en"}, default "vi"
    units, labels : mapping, optional
        As :func:`geoagri.report.headline` (``labels``: the plan's and the
        catalogue's indicator labels, :attr:`geoagri.report.ReportData.labels`).

    Returns
    -------
    list of str
        Sentences ending with a full stop.

    Examples
    --------
    >>> import pandas as pd
    >>> row = {"indicator": "linkage_area", "unit": "ha", "start_year": None,
    ...        "season": None, "actual": 23865.0, "actual_year": 2024}
    >>> rows = pd.DataFrame([{**row, "year": 2024, "source": "resolution",
    ...                       "target": 21227.0, "achieved_pct": 112.4},
    ...                      {**row, "year": 2025, "source": "roadmap",
    ...                       "target": 22640.0, "achieved_pct": 105.4}])
    >>> print(headline_paragraphs(rows, language="en")[0])
    Production-linkage area in 2024: 23,865 ha, 112.4% of the resolution for 2024 (21,227 ha)
    and 105.4% of the roadmap for 2025 (22,640 ha).
    """
    joiner = (" và ", " and ")[LANGUAGES.index(language)]
    out: list[tuple[str | None, list[str]]] = []
    for _, row in rows.iterrows():
        head, tail = _split_headline(headline(row, language=language, units=dict(units or {}),
                                              labels=labels))
        if head is not None and out and out[-1][0] == head:
            out[-1][1].append(tail)
        else:
            out.append((head, [tail]))
    return [f"{head or ''}{joiner.join(tails)}." for head, tails in out]



# ----------------------------------------------------------------------- styles
def _set_font(rpr: Any, name: str) -> None:
    """Set ``rFonts`` of an ``rPr`` to ``name`` for every script, without theme fonts."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        fonts.attrib.pop(qn(f"w:{attr}"), None)
    for attr in ("ascii", "hAnsi", "eastAsia", "cs"):
        fonts.set(qn(f"w:{attr}"), name)


def _style(doc: Document, name: str, *, size: float, bold: bool | None = None,
           italic: bool | None = None, align: str | None = None, indent_cm: float = 0.0,
           before: float = 0, after: float = 0, keep_next: bool = False,
           base: str | None = None) -> Any:
    """A paragraph style set to the document's font, black, with the given layout."""
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt, RGBColor

    try:
        style = doc.styles[name]
    except KeyError:
        style = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = doc.styles[base or "Normal"]
        style.quick_style = True
    font = style.font
    font.name, font.size = FONT, Pt(size)
    font.bold, font.italic = bold, italic
    font.color.rgb = RGBColor(0, 0, 0)
    _set_font(style.element.get_or_add_rPr(), FONT)
    ppr, rpr = style.element.get_or_add_pPr(), style.element.get_or_add_rPr()
    for parent, tag in ((ppr, "w:pBdr"), (rpr, "w:spacing"), (rpr, "w:kern")):
        found = parent.find(qn(tag))  # the template's rule under the title, letter spacing
        if found is not None:
            parent.remove(found)
    fmt = style.paragraph_format
    fmt.alignment = {None: None, "center": WD_ALIGN_PARAGRAPH.CENTER,
                     "right": WD_ALIGN_PARAGRAPH.RIGHT, "left": WD_ALIGN_PARAGRAPH.LEFT,
                     "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}[align]
    fmt.first_line_indent = Cm(indent_cm)  # 0 too: no style inherits the body's indent
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    fmt.keep_with_next = keep_next or None
    return style


def _setup(doc: Document, language: str) -> None:
    """Page, margins and the styles of the document (see the module docstring)."""
    from docx.enum.section import WD_ORIENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(PAGE_CM["width"]), Cm(PAGE_CM["height"])
    section.top_margin, section.bottom_margin = Cm(PAGE_CM["top"]), Cm(PAGE_CM["bottom"])
    section.left_margin, section.right_margin = Cm(PAGE_CM["left"]), Cm(PAGE_CM["right"])
    # the document defaults too, so that no theme font is left anywhere
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")) if defaults is not None else None
    if rpr is not None and rpr.find(qn("w:rPr")) is not None:
        _set_font(rpr.find(qn("w:rPr")), FONT)
    normal = _style(doc, "Normal", size=SIZE_PT, align="justify", indent_cm=1.0, after=6)
    normal.paragraph_format.line_spacing = 1.15
    lang = normal.element.get_or_add_rPr().find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        normal.element.get_or_add_rPr().append(lang)
    lang.set(qn("w:val"), "vi-VN" if language == "vi" else "en-GB")
    _style(doc, "Title", size=SIZE_PT, bold=True, align="center", before=12)
    doc.styles["Title"].font.all_caps = None
    _style(doc, "Subtitle", size=SIZE_PT, bold=True, italic=False, align="center", after=12)
    _style(doc, "Heading 1", size=SIZE_PT, bold=True, italic=False, align="left", before=12,
           after=6, keep_next=True)
    _style(doc, "Heading 2", size=SIZE_PT, bold=True, italic=False, align="left", before=6,
           after=6, keep_next=True)
    _style(doc, "List Bullet", size=SIZE_PT, align="justify", after=4)
    _style(doc, "Caption", size=SIZE_PT - 1, bold=False, italic=True, align="center", after=12)
    _style(doc, "Figure", size=SIZE_PT, align="center", keep_next=True, before=6)
    _style(doc, "Table Text", size=TABLE_SIZE_PT, align="left")
    _style(doc, "Table Heading", size=TABLE_SIZE_PT, bold=True, align="center")
    _style(doc, "Table Number", size=TABLE_SIZE_PT, align="right")
    _style(doc, "Table Center", size=TABLE_SIZE_PT, align="center")
    _style(doc, "Addressee", size=SIZE_PT, align="center", after=6)
    _style(doc, "Appendix Title", size=SIZE_PT - 1, bold=True, align="center")
    _style(doc, "Appendix Note", size=SIZE_PT - 1, italic=True, align="center")
    _style(doc, "Unit Line", size=SIZE_PT - 2, italic=True, align="right", after=3)
    for name in ("Table Text", "Table Number", "Table Heading", "Table Center"):
        doc.styles[name].paragraph_format.line_spacing = 1.0
        doc.styles[name].paragraph_format.space_before = Pt(1)
        doc.styles[name].paragraph_format.space_after = Pt(1)


# ---------------------------------------------------------------------- blocks
def _borderless_block(doc: Document, left: Sequence[tuple[str, str]],
                      right: Sequence[tuple[str, str]], widths_cm: tuple[float, float]) -> None:
    """Two columns without borders; lines ``(text, how)``: "b" bold, "i" italic, "l" left.

    The lines are centred unless ``how`` has "l" (the recipients).
    """
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    table = doc.add_table(rows=1, cols=2)
    _fix_widths(table, [Cm(w) for w in widths_cm])
    for cell, lines, width in zip(table.rows[0].cells, (left, right), widths_cm, strict=True):
        cell.width = Cm(width)
        first = True
        for text, how in lines:
            p = cell.paragraphs[0] if first else cell.add_paragraph()
            first = False
            p.style = doc.styles["Table Text"]
            if "l" not in how:  # centred by hand, as Word documents set their title block
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = p.add_run(_text(text))
            run.font.size = Pt(SIZE_PT - 2)  # 12 pt, as the national motto is set
            run.bold = "b" in how or None
            run.italic = "i" in how or None


def _title_block(doc: Document, li: int, issuer: Sequence[str] | None,
                 number: str | None, place_date: str | None) -> None:
    body = list(issuer) if issuer else [_w("issuer", li), _w("office", li)]
    left = [(line, "b" if j == len(body) - 1 else "") for j, line in enumerate(body)]
    left += [("———", ""), (number or _w("number", li), "")]
    right = [(_w("nation", li), "b"), (_w("motto", li), "b"), ("———", ""),
             (place_date or _w("date", li), "i")]
    _borderless_block(doc, left, right, (6.5, _TEXT_WIDTH_CM - 6.5))


def _signature_block(doc: Document, li: int, recipients: Sequence[str] | None,
                     signer: Sequence[str] | None) -> None:
    lines = list(recipients) if recipients is not None else _w("recipients", li).split("\n")
    left = [(_w("recipients_head", li), "bil")] + [(r, "l") for r in lines]
    sign = list(signer) if signer else [_w("signer", li)]
    right = [(s, "b") for s in sign] + [("", ""), ("", ""), (_w("signature", li), "i")]
    _borderless_block(doc, left, right, (_TEXT_WIDTH_CM / 2, _TEXT_WIDTH_CM / 2))


# ---------------------------------------------------------------------- tables
def _fix_widths(table: Table, widths: Sequence[int]) -> None:
    """Column widths that Word and LibreOffice both keep: grid, cells and a fixed layout."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    table.autofit = False
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    tblpr = table._tbl.tblPr
    tblw = tblpr.find(qn("w:tblW"))
    if tblw is None:
        tblw = OxmlElement("w:tblW")
        tblpr.append(tblw)
    tblw.set(qn("w:type"), "dxa")
    tblw.set(qn("w:w"), str(int(sum(widths) / 635)))  # EMU → twentieths of a point


def _repeat_header(row: Any) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    trpr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trpr.append(el)


def _no_split(row: Any) -> None:
    from docx.oxml import OxmlElement

    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


#: A table column: key, header (vi, en), kind ("text", "int", "ha", "pct", "money", "km",
#: "t_ha", "vnd_ha") and relative width.
_TCol = tuple[str, tuple[str, str], str, float]

_DECIMALS = {"int": 0, "ha": 1, "pct": 1, "money": 0, "km": 2, "t_ha": 1, "vnd_ha": 1}


class _Grid:
    """An appendix table being written: header, rows, subtotal and total rows."""

    def __init__(self, doc: Document, cols: Sequence[_TCol], li: int, language: str,
                 units: Mapping[str, str]) -> None:
        from docx.shared import Cm

        self.doc, self.li, self.language = doc, li, language
        # Style ids by name: python-docx's ``para.style = ...`` searches the styles
        # part twice per cell (by name, then for the default style), most of the
        # report's time; the ids are set directly (none of these is a default style).
        self._style_ids: dict[str, str] = {}
        self.cols = [("stt", _W["stt"], "text", 1.3), *cols]
        self.scales: dict[str, tuple[float, int]] = {}
        heads = []
        for key, head, kind, _ in self.cols:
            text = head[li]
            if kind in ("money", "t_ha", "vnd_ha"):
                code, factor = {"money": ("vnd", 1e6), "t_ha": ("t_ha", 1.0),
                                "vnd_ha": ("vnd_ha", 1e6)}[kind]
                scale, label = customary(factor, code, language=language, units=dict(units))
                decimals = 2 if kind == "money" and scale < 0.5 else _DECIMALS[kind]
                self.scales[key] = (scale, decimals)
                text = f"{text} ({label})"
            heads.append(text)
        self.table: Table = doc.add_table(rows=1, cols=len(self.cols))
        self.table.style = doc.styles["Table Grid"]
        total_w = sum(c[3] for c in self.cols)
        self.widths = [Cm(_TEXT_WIDTH_CM * c[3] / total_w) for c in self.cols]
        _fix_widths(self.table, self.widths)
        row = self.table.rows[0]
        _repeat_header(row)
        for cell, text, width in zip(row.cells, heads, self.widths, strict=True):
            cell.width = width
            cell.paragraphs[0].style = doc.styles["Table Heading"]
            cell.paragraphs[0].add_run(_text(text))

    def cell_text(self, key: str, kind: str, value: object) -> str:
        if kind == "text":
            return _text(value)
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        scale, decimals = self.scales.get(key, (1.0, _DECIMALS[kind]))
        return _num(float(value) * scale, self.language, decimals)

    def add(self, stt: object, values: Mapping[str, object], *, strong: bool = False,
            merge_label: str | None = None) -> None:
        """One row; ``merge_label`` spans the text columns up to the first number."""
        row = self.table.add_row()
        _no_split(row)
        cells = row.cells
        for cell, width in zip(cells, self.widths, strict=True):
            cell.width = width
        texts = [_text(stt)] + [self.cell_text(k, kind, values.get(k))
                                for k, _, kind, _ in self.cols[1:]]
        kinds = [c[2] for c in self.cols]
        if merge_label is not None:
            last = next((j for j in range(1, len(kinds)) if kinds[j] != "text"
                         and texts[j]), len(kinds))
            last = max(last - 1, 1)
            if last > 1:
                cells[1].merge(cells[last])
            texts[1] = merge_label
            for j in range(2, last + 1):
                texts[j] = None
        for j, (cell, text) in enumerate(zip(row.cells, texts, strict=True)):
            if text is None:
                continue
            para = cell.paragraphs[0]
            if para.text:  # a merged cell keeps its first cell's paragraph
                continue
            name = "Table Number" if kinds[j] != "text" else (
                "Table Center" if j == 0 else "Table Text")
            para._p.style = self._style_id(name)
            run = para.add_run(text)
            if strong:
                run._r.style = self._style_id("Strong")

    def _style_id(self, name: str) -> str:
        """The id of the document's style ``name`` (looked up once per table)."""
        if name not in self._style_ids:
            self._style_ids[name] = self.doc.styles[name].style_id
        return self._style_ids[name]


def _sums(table: pd.DataFrame, keys: Iterable[str]) -> dict[str, float]:
    """Column sums of a table (NaN → skipped; a missing column → left out)."""
    return {k: float(pd.to_numeric(table[k], errors="coerce").sum()) for k in keys
            if k in table}


def _column(table: pd.DataFrame, key: str) -> pd.Series:
    """A column, or missing values when the table has none."""
    return table[key] if key in table else pd.Series([None] * len(table), dtype=object)


def _by_investor(table: pd.DataFrame) -> list[tuple[object, pd.DataFrame]]:
    """The table's rows by investor, in the table's order (a missing investor: None)."""
    investors = _column(table, "investor").astype(object)
    investors = investors.where(investors.notna(), None).to_numpy()
    return [(inv, table[[v == inv for v in investors]]) for inv in dict.fromkeys(investors)]


def _appendix_head(doc: Document, number: str, li: int, year: int | None,
                   unit_line: str | None) -> None:
    head = doc.add_paragraph(f"{('PHỤ LỤC', 'APPENDIX')[li]} {number}", style="Heading 1")
    head.paragraph_format.page_break_before = True  # each appendix on its own page
    title = _APPENDICES[number][li] + _year_text(year, li)
    doc.add_paragraph(title, style="Appendix Title")
    doc.add_paragraph(_w("appendix_of", li), style="Appendix Note")
    if unit_line:
        doc.add_paragraph(unit_line, style="Unit Line")


def _appendix_linkage(doc: Document, data: ReportData, li: int, language: str) -> None:
    table = data.linkage_by_commune
    _appendix_head(doc, "I", li, data.year, _w("unit_ha", li))
    has_target = "target_ha" in table and pd.to_numeric(table["target_ha"],
                                                         errors="coerce").notna().any()
    cols: list[_TCol] = [
        ("commune_name", (_labels.label("commune_name", "vi"),
                          _labels.label("commune_name", "en")), "text", 4.0),
        ("area_ha", ("Diện tích liên kết", "Linkage area"), "ha", 2.4),
        ("commune_share_pct", ("Tỷ lệ diện tích xã (%)", "Share of commune (%)"), "pct", 2.2),
    ]
    if has_target:
        cols += [("target_ha", ("Chỉ tiêu", "Target"), "ha", 2.2),
                 ("achieved_pct", ("Tỷ lệ đạt (%)", "Achieved (%)"), "pct", 2.0)]
    grid = _Grid(doc, cols, li, language, data.units)
    stt = 0
    for _, r in table.iterrows():
        values = r.to_dict()
        if pd.isna(r.get("commune_id")) and not _text(r.get("commune_name")):
            if round(float(r["area_ha"]), 1) == 0:  # a sliver outside every commune
                continue
            values["commune_name"] = _w("outside", li)
        stt += 1
        grid.add(stt, values)
    total = _sums(table, ["area_ha"])
    if has_target:
        total |= _sums(table, ["target_ha"])
    grid.add("", {"commune_name": _w("district_total", li), **total}, strong=True)


def _appendix_models(doc: Document, data: ReportData, li: int, language: str) -> None:
    table = data.models
    _appendix_head(doc, "II", li, data.year, None)
    cols: list[_TCol] = [
        ("commune_name", (_labels.label("commune_name", "vi"),
                          _labels.label("commune_name", "en")), "text", 2.8),
        ("support_label", (_labels.label("support", "vi"), _labels.label("support", "en")),
         "text", 2.2),
        ("models", ("Số mô hình", "Models"), "int", 1.4),
        ("area_ha", ("Diện tích (ha)", "Area (ha)"), "ha", 1.8),
        ("yield_t_ha", ("Năng suất bình quân", "Mean yield"), "t_ha", 1.8),
        ("profit_million_vnd_ha", ("Lợi nhuận bình quân", "Mean profit"), "vnd_ha", 1.9),
        ("cooperatives", ("Hợp tác xã", "Cooperatives"), "text", 3.0),
    ]
    grid = _Grid(doc, cols, li, language, data.units)
    roman = _roman
    for j, (season, g) in enumerate(table.groupby("season", sort=False, dropna=False)):
        head = f"{('Vụ', 'Season')[li]} {_text(season)}"
        grid.add(roman(j + 1), {"commune_name": head, **_sums(g, ["models", "area_ha"])},
                 strong=True, merge_label=head)
        for k, (_, r) in enumerate(g.iterrows()):
            grid.add(k + 1, {**r.to_dict(),
                             "support_label": _value_label(r.get("support"), language)})
    grid.add("", {"commune_name": _w("total", li), **_sums(table, ["models", "area_ha"])},
             strong=True, merge_label=_w("total", li))


def _roman(n: int) -> str:
    """I, II, III… (the STT of a group row)."""
    out = ""
    for value, letters in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + letters, n - value
    return out


def _appendix_works(doc: Document, data: ReportData, li: int, language: str) -> None:
    table = data.works
    _appendix_head(doc, "III", li, data.year, None)
    cols: list[_TCol] = [
        ("name", ("Tên công trình", "Name"), "text", 3.0),
        ("commune_name", (_labels.label("commune_name", "vi"),
                          _labels.label("commune_name", "en")), "text", 2.0),
        ("status_label", (_labels.label("status", "vi"), _labels.label("status", "en")),
         "text", 2.2),
        ("cost_million_vnd", ("Tổng mức đầu tư", "Cost"), "money", 1.9),
        ("state_million_vnd", ("Vốn Nhà nước", "State funds"), "money", 1.9),
        ("people_million_vnd", ("Vốn Nhân dân", "People's funds"), "money", 1.8),
        ("served_area_ha", ("Diện tích phục vụ (ha)", "Area served (ha)"), "ha", 2.1),
    ]
    money = ["cost_million_vnd", "state_million_vnd", "people_million_vnd", "served_area_ha"]
    grid = _Grid(doc, cols, li, language, data.units)
    for j, (inv, g) in enumerate(_by_investor(table)):
        who = _value_label(inv, language) if inv is not None else "?"
        head = (f"{who} làm chủ đầu tư ({len(g)} công trình)" if li == 0
                else f"{who} as investor ({len(g)} works)")
        grid.add(_roman(j + 1), {"name": head, **_sums(g, money)}, strong=True,
                 merge_label=head)
        for k, (_, r) in enumerate(g.iterrows()):
            grid.add(k + 1, {**r.to_dict(),
                             "status_label": _value_label(r.get("status"), language)})
    label = f"{_w('total', li)} ({len(table)} {('công trình', 'works')[li]})"
    grid.add("", {"name": label, **_sums(table, money)}, strong=True, merge_label=label)


def _appendix_power(doc: Document, data: ReportData, li: int, language: str) -> None:
    table = data.power_works
    _appendix_head(doc, "IV", li, data.year, None)
    if table is None or table.empty:
        doc.add_paragraph(_w("no_rows", li))
    else:
        cols: list[_TCol] = [
            ("name", ("Tên công trình", "Name"), "text", 4.2),
            ("commune_name", (_labels.label("commune_name", "vi"),
                              _labels.label("commune_name", "en")), "text", 2.4),
            ("investor_label", (_labels.label("investor", "vi"),
                                _labels.label("investor", "en")), "text", 2.0),
            ("status_label", (_labels.label("status", "vi"), _labels.label("status", "en")),
             "text", 2.0),
            ("cost_million_vnd", ("Kinh phí", "Cost"), "money", 1.8),
            ("served_area_ha", ("Diện tích phục vụ (ha)", "Area served (ha)"), "ha", 1.8),
        ]
        grid = _Grid(doc, cols, li, language, data.units)
        for k, (_, r) in enumerate(table.iterrows()):
            grid.add(k + 1, {**r.to_dict(),
                             "investor_label": _value_label(r.get("investor"), language),
                             "status_label": _value_label(r.get("status"), language)})
        label = f"{_w('total', li)} ({len(table)} {('công trình', 'works')[li]})"
        grid.add("", {"name": label, **_sums(table, ["cost_million_vnd", "served_area_ha"])},
                 strong=True, merge_label=label)
    rows = data.proposal_rows()
    if rows is None:
        return
    doc.add_paragraph(("Đề xuất mới (geoagri): trạm bơm điện và đường dây 3 pha",
                       "New proposals (geoagri): electric pump stations and three-phase "
                       "lines")[li], style="Heading 2")
    cols = [
        ("site_id", ("Mã vị trí đề xuất", "Site id"), "text", 2.0),
        ("commune_name", (_labels.label("commune_name", "vi"),
                          _labels.label("commune_name", "en")), "text", 2.8),
        ("line_length_km", ("Đường dây 3 pha (km)", "Three-phase line (km)"), "km", 1.8),
        ("served_ha", ("Diện tích phục vụ (ha)", "Area served (ha)"), "ha", 1.9),
        ("cost_million_vnd", ("Kinh phí", "Cost"), "money", 1.9),
        ("ha_per_billion_vnd", ("Diện tích phục vụ trên 1 tỷ đồng (ha)",
                                "Area served per billion VND (ha)"), "ha", 2.0),
    ]
    grid = _Grid(doc, cols, li, language, data.units)
    for k, (_, r) in enumerate(rows.iterrows()):
        grid.add(k + 1, r.to_dict())
    grid.add("", {**data.proposal_total(), "site_id": _w("total", li)}, strong=True,
             merge_label=_w("total", li))
    doc.add_paragraph(data.proposals_sentence(language=language))


def _appendix_lineage(doc: Document, data: ReportData, li: int, language: str) -> None:
    table = data.lineage
    _appendix_head(doc, "V", li, data.year, None)
    cols: list[_TCol] = [
        ("old_name", ("Xã cũ", "Old commune"), "text", 3.0),
        ("old_district", ("Huyện cũ", "Old district"), "text", 2.6),
        ("new_name", ("Xã mới", "New commune"), "text", 3.0),
        ("weight_pct", ("Tỷ lệ chuyển sang (%)", "Share carried (%)"), "pct", 2.0),
        ("part_area_ha", ("Diện tích chuyển sang (ha)", "Area carried (ha)"), "ha", 2.2),
    ]
    grid = _Grid(doc, cols, li, language, data.units)
    for k, (_, r) in enumerate(table.iterrows()):
        weight = r.get("weight")
        grid.add(k + 1, {**r.to_dict(), "weight_pct": None if weight is None or pd.isna(
            weight) else float(weight) * 100})


# ------------------------------------------------------------------------ body
def _add_map(doc: Document, map_image: Path, caption: str) -> None:
    from docx.image.exceptions import UnrecognizedImageError
    from docx.shared import Cm

    para = doc.add_paragraph(style="Figure")
    try:
        picture = para.add_run().add_picture(str(map_image), width=Cm(_TEXT_WIDTH_CM))
    except UnrecognizedImageError as err:
        raise OptionError(f"map_image={str(map_image)!r} is not an image Word can hold "
                          "(give the PNG the A4 map writes)") from err
    max_h = Cm(PAGE_CM["height"] - PAGE_CM["top"] - PAGE_CM["bottom"] - 4.0)
    if picture.height > max_h:  # a portrait map: fit the page's height, keep the aspect
        picture.width = int(picture.width * max_h / picture.height)
        picture.height = max_h
    doc.add_paragraph(caption, style="Caption")


def _has_rows(table: pd.DataFrame | None) -> bool:
    return table is not None and len(table) > 0


def _has_linkage(table: pd.DataFrame | None) -> bool:
    """Whether appendix I has figures: a linkage area or a target (not only zeros)."""
    if not _has_rows(table):
        return False
    return any(k in table and (pd.to_numeric(table[k], errors="coerce").fillna(0) != 0).any()
               for k in ("area_ha", "target_ha"))


def _part(doc: Document, heading: str, sentences: Sequence[str], bullets: Sequence[str],
          after: Sequence[str], attached: str | None, li: int) -> None:
    doc.add_paragraph(heading, style="Heading 2")
    if not sentences and not bullets and not after:
        doc.add_paragraph(_w("no_figures", li))
    for s in sentences:
        doc.add_paragraph(_text(s))
    for b in bullets:
        doc.add_paragraph(_text(b), style="List Bullet")
    for s in after:
        doc.add_paragraph(_text(s))
    if attached:
        doc.add_paragraph(_w("attached", li, ref=attached))


def write_report_docx(
    data: ReportData,
    path: str | os.PathLike[str],
    *,
    language: str = "vi",
    map_image: str | os.PathLike[str] | None = None,
    map_caption: str | None = None,
    issuer: Sequence[str] | None = None,
    number: str | None = None,
    place_date: str | None = None,
    recipients: Sequence[str] | None = None,
    signer: Sequence[str] | None = None,
) -> Path:
    """Write the report as a Word draft in the shape of the programme documents.

    Parameters
    ----------
    data : ReportData
        From :func:`geoagri.report.build_report_data`; every figure comes
        from its tables (see the module docstring).
    path : path
        The ``.docx`` to write; its folder is created.  Written to a
        temporary file and moved into place.
    language : {"vi", "en"}, default "vi"
        Headings, sentences, table headers and the number style.
    map_image : path, optional
        A PNG (or JPEG) of the A4 map, embedded as *Hình 1* at the end of
        section I, at the text's width (16,5 cm) or the page's height.
    map_caption : str, optional
        The figure's caption; by default *"Hình 1. Bản đồ tỷ lệ diện tích
        liên kết sản xuất theo xã và vùng thiếu hạ tầng tưới năm …"*.
    issuer : sequence of str, optional
        Lines of the issuing body, the last one bold (default placeholders
        ``"UBND HUYỆN …"``, ``"PHÒNG NÔNG NGHIỆP …"``).
    number, place_date : str, optional
        The number and the place and date lines (default ``"Số: …/BC-…"``,
        ``"…, ngày … tháng … năm …"``).
    recipients : sequence of str, optional
        The lines under *Nơi nhận* (default ``"- Như trên;"``, ``"- […];"``,
        ``"- Lưu: VT."``).
    signer : sequence of str, optional
        The signatory's lines (default ``"[CHỨC VỤ NGƯỜI KÝ]"``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    OptionError
        If ``language`` is unknown, or ``map_image`` is missing or not an image.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import docx
    >>> import pandas as pd
    >>> p = pd.DataFrame([{"indicator": "linkage_area", "unit": "ha", "scope": "district",
    ...     "scope_id": "Huyện Vĩnh Hưng", "start_year": None, "year": 2024, "season": None,
    ...     "source": "resolution", "target": 21227.0, "actual": 23865.0,
    ...     "actual_year": 2024, "achieved_pct": 112.4}])
    >>> empty = pd.DataFrame()
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r.docx"
    >>> doc = docx.Document(write_report_docx(ReportData(p, empty, empty, empty, year=2024),
    ...                                       out, language="en"))
    >>> [h.text for h in doc.paragraphs if h.style.name == "Heading 1"][:2]
    ['I. RESULTS IN 2024', 'II. ASSESSMENT']
    """
    if language not in LANGUAGES:
        raise OptionError(f"language={language!r}; use 'vi' or 'en'")
    li = LANGUAGES.index(language)
    if map_image is not None and not Path(map_image).is_file():
        raise OptionError(f"map_image={str(map_image)!r}: no such file; give the PNG the A4 "
                          "map writes, or leave map_image out to write the report without it")
    import docx

    from geoagri.io import replace_file

    doc = docx.Document()
    _setup(doc, language)
    year = data.year
    yt = _year_text(year, li)
    units = dict(data.units)
    doc.core_properties.title = f"{_w('title', li)} {_w('subject', li, year=yt)}"
    doc.core_properties.language = "vi-VN" if li == 0 else "en-GB"

    _title_block(doc, li, issuer, number, place_date)
    doc.add_paragraph(_w("title", li), style="Title")
    doc.add_paragraph(_w("subject", li, year=yt), style="Subtitle")
    doc.add_paragraph(_w("to", li), style="Addressee")
    doc.add_paragraph(_w("opening", li, year=yt))

    rows = data.summary_rows() if data.progress is not None else pd.DataFrame()
    if rows.empty:
        rows = pd.DataFrame(columns=["indicator", "scope"])
    doc.add_paragraph(_w("results", li, year=yt.upper()), style="Heading 1")

    def lines(indicators: pd.Series) -> list[str]:
        return headline_paragraphs(rows[indicators], language=language, units=units,
                                   labels=data.labels)

    def part(key: str) -> list[str]:
        return lines(rows["indicator"].isin(_PARTS[key]))

    has = {"I": _has_linkage(data.linkage_by_commune), "II": _has_rows(data.models),
           "III": _has_rows(data.works),
           "IV": _has_rows(data.power_works) or _has_rows(data.proposals)}
    extra = []
    if _has_rows(data.proposals):
        extra.append(data.proposals_sentence(language=language))
    power = data.power_sentence(language=language)
    known = {i for p in _PARTS.values() for i in p}
    # (heading, sentences, bullets, sentences after, appendix): seed 000's parts, then the
    # plan's other indicators; a part with neither figures nor an appendix is left out
    parts = [
        ("linkage", part("linkage"), [], [], "I"),
        ("rice", part("rice"), data.model_sentences(language=language), [], "II"),
        ("works", data.irrigation_sentences(language=language), [], part("works"), "III"),
        ("power", [power] if power else [], [], part("power") + extra, "IV"),
    ]
    parts = [p for p in parts if p[1] or p[2] or p[3] or has[p[4]]]
    others = lines(~rows["indicator"].isin(known))
    if others:
        parts.append(("other" if parts else "plan_indicators", others, [], [], None))
    ref = ("phụ lục {}", "appendix {}")[li]
    for k, (key, sentences, bullets, after, appendix) in enumerate(parts, start=1):
        _part(doc, f"{k}. {_w(key, li)}", sentences, bullets, after,
              ref.format(appendix) if appendix and has[appendix] else None, li)
    if not parts:
        doc.add_paragraph(_w("no_figures", li))
    if map_image is not None:
        _add_map(doc, Path(map_image), map_caption or _w("figure", li, year=yt))

    doc.add_paragraph(_w("assessment", li), style="Heading 1")
    for head, texts in (("achieved", ["achieved_text"]), ("shortcomings", ["shortcomings_text"]),
                        ("causes", ["causes_objective", "causes_subjective"])):
        doc.add_paragraph(_w(head, li), style="Heading 2")
        for t in texts:
            doc.add_paragraph(_w(t, li))
    doc.add_paragraph(_w("direction", li), style="Heading 1")
    for head, text in (("tasks", "tasks_text"), ("proposals", "proposals_text")):
        doc.add_paragraph(_w(head, li), style="Heading 2")
        doc.add_paragraph(_w(text, li))
    doc.add_paragraph(_w("closing", li, year=yt))
    _signature_block(doc, li, recipients, signer)

    # the appendices with rows, each under the number the workbook gives it
    for number, write in (("I", _appendix_linkage), ("II", _appendix_models),
                          ("III", _appendix_works), ("IV", _appendix_power)):
        if has[number]:
            write(doc, data, li, language)
    if _has_rows(data.lineage):
        _appendix_lineage(doc, data, li, language)
    # built in memory, then written: a full disk fails the file's write, not inside
    # python-docx's zip (which it would leave open, to complain when collected)
    buffer = io.BytesIO()
    doc.save(buffer)
    return replace_file(Path(path), lambda tmp: tmp.write_bytes(buffer.getvalue()))

