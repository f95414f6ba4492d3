"""The report's appendices as an Excel workbook and CSV tables.

:func:`build_report_data` computes, from a plan, the tables a district report
attaches (seed 000); :func:`write_report` writes them:

================== ============== ===================================================
sheet (vi)         sheet (en)     content
================== ============== ===================================================
``Tổng hợp``       Summary        every target against its actual
                                  (:func:`geoagri.progress.progress`) and the
                                  headline sentence ("23.865 ha, đạt 112,4% so với
                                  Nghị quyết năm 2024 (21.227 ha)")
``Phụ lục I``      Appendix I     linkage area by commune (overlaps counted once),
                                  against commune targets where there are some
``Phụ lục II``     Appendix II    high-tech rice models of the report year by season, commune and
                                  support (supported / self-replicated): number,
                                  area, yield, profit
``Phụ lục III``    Appendix III   irrigation works by investor and status: cost,
                                  state and people's shares (``state_share_pct``)
``Phụ lục IV``     Appendix IV    power works for pump stations with hectares
                                  served (a note when there are none); under
                                  them, "Đề xuất mới (geoagri)": the new pump
                                  stations and three-phase lines of
                                  :func:`geoagri.infrastructure.infrastructure`
                                  (hectares served, km of line, cost) with
                                  totals and a sentence worded as in seed 000 ("Đề xuất 5
                                  trạm bơm điện …, tổng kinh phí ước tính 4,3 tỷ
                                  đồng, phục vụ tưới tiêu cho 1.611 ha")
``Phụ lục V –      Appendix V –   the 2025 lineage old commune → new commune with
Chuyển đổi 2025``  2025 reform    its shares (:func:`geoagri.reform.lineage`), only
                                  when the results carry one (``lineage``)
================== ============== ===================================================

Every sheet prints as the documents' appendices (laid out by
:mod:`geoagri._print_layout`, see ``docs/report.md``): a title block
(``PHỤ LỤC I``, the table's title, ``(Kèm theo Báo cáo số …)``), the unit
line (``ĐVT: ha``), an ``STT`` column, borders, a total row and subtotals by
district (I), season and support (II), investor and status (III) as
``SUBTOTAL`` formulas, landscape A4 fitted to the width with the header row
on every page; the summary prints its sentences
(:meth:`ReportData.summary_sentences`) first, above its table.

Every table is also written as CSV (UTF-8 with a byte-order mark, so that
Excel reads Vietnamese text) into ``tables/`` beside the workbook, with the
same headers as the sheet and numbers written plainly (``23864.99``), without
title block, totals or formulas; the
proposals under appendix IV are not repeated there (``geoagri run`` and
``geoagri demo`` write them as ``tables/appendix_4_proposals.csv``).

Number style
------------
Cells hold numbers (Excel can compute with them), with standard number
formats: ``#,##0`` for hectares in the summary, counts and money,
``#,##0.0`` for hectares in the appendices, ``#,##0.00`` for km of line,
``0.0`` for percentages, yields and shares.  Excel draws the separators of
these formats from the *viewer's* regional settings, so a Vietnamese Excel
shows ``23.865`` and ``112,4`` and an English one ``23,865`` and ``112.4``.
No Excel format code can force a
decimal comma while the cell stays a number (literal separators only work for
whole numbers), so the style is not forced in the cells; instead the summary's
sentences (and the ``headline`` column of its CSV) spell each figure as text in
the chosen language's style
(``language="vi"``: ``23.865 ha``, ``112,4%``; ``"en"``: ``23,865 ha``,
``112.4%``), ready to paste into the report.  Headers and sheet names follow
``language``.

Examples
--------
>>> import tempfile, pathlib
>>> from geoagri.datasets import demo
>>> data = build_report_data(demo(), year=2024)
>>> out = pathlib.Path(tempfile.mkdtemp()) / "report.xlsx"
>>> files = write_report(data, out)
>>> sorted(p.name for p in files.values())[:3]
['appendix_1_linkage.csv', 'appendix_2_models.csv', 'appendix_3_works.csv']
>>> print(data.summary_lines()[0])
Diện tích liên kết sản xuất năm 2024: 23.865 ha, đạt 112,4% so với Nghị quyết năm 2024
(21.227 ha)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoagri import _labels, _print_layout
from geoagri._labels import format_number
from geoagri.errors import OptionError
from geoagri.indicators import (
    actuals,
    commune_of,
    facts_of,
    model_area_ha,
    plan_linkage,
    season_end_year,
)
from geoagri.io import replace_file, write_layer
from geoagri.names import unit_key
from geoagri.progress import Rounding, first_year, plan_targets, progress
from geoagri.schema import WORK_STATUSES
from geoagri.units import customary

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

__all__ = ["LANGUAGES", "ReportData", "build_report_data", "format_number", "headline",
           "note_text", "write_report"]

#: Languages of the workbook.
LANGUAGES = ("vi", "en")

_INDICATOR_LABELS = {
    "linkage_area": ("Diện tích liên kết sản xuất", "Production-linkage area"),
    "hightech_rice_area": ("Diện tích lúa ứng dụng công nghệ cao", "High-tech rice area"),
    "hightech_rice_area_supported": ("Diện tích lúa CNC có hỗ trợ ngân sách",
                                     "High-tech rice area, state-supported"),
    "hightech_rice_area_self": ("Diện tích lúa CNC tự nhân rộng",
                                "High-tech rice area, self-replicated"),
    "models": ("Số mô hình lúa CNC có hỗ trợ", "State-supported high-tech rice models"),
    "models_self": ("Số diện tích tự nhân rộng", "Self-replicated areas"),
    "works_completed": ("Công trình thủy lợi hoàn thành", "Irrigation works completed"),
    "works_completed_province": ("Công trình thủy lợi do tỉnh làm chủ đầu tư hoàn thành",
                                 "Province-invested irrigation works completed"),
    "works_completed_district": ("Công trình thủy lợi do huyện làm chủ đầu tư hoàn thành",
                                 "District-invested irrigation works completed"),
    "power_works_completed": ("Công trình điện phục vụ trạm bơm hoàn thành",
                              "Power works for pump stations completed"),
    "cooperatives_founded": ("Hợp tác xã thành lập mới", "Cooperatives founded"),
    "cooperative_groups_founded": ("Tổ hợp tác thành lập mới", "Cooperative groups founded"),
}
_SOURCE_LABELS = {
    "resolution": ("Nghị quyết", "the resolution"),
    "plan": ("Kế hoạch", "the plan"),
    "roadmap": ("lộ trình", "the roadmap"),
    "province_assigned": ("chỉ tiêu tỉnh giao", "the province-assigned target"),
}
#: Labels of values only the report uses (the others: geoagri._labels.VALUES).
_REPORT_VALUES = {
    "ha": ("ha", "ha"), "count": ("số lượng", "count"),
    "whole": ("Nhập nguyên xã", "Whole commune"),
    "geometry": ("Theo diện tích trên bản đồ", "Area from boundaries"),
    "official_equal_split": ("Chia đều (ước tính)", "Equal split (approximate)"),
}

# format kinds → Excel number format codes
_FORMATS = {"int": "#,##0", "ha": "#,##0.0", "pct": "0.0", "year": "0", "t_ha": "0.0",
            "money": "#,##0", "money2": "#,##0.00", "text": "@", "share": "0.0000",
            "km": "#,##0.00"}

# table key → (sheet vi, sheet en, csv name, columns: (key, header vi, header en, format))
_Col = tuple[str, str, str, str]


def _field(key: str, fmt: str, field: str | None = None, *, unit: bool = False) -> _Col:
    """A column headed by the shared label of ``field`` (default ``key``)."""
    name = field or key
    return (key, _labels.label(name, "vi", unit=unit), _labels.label(name, "en", unit=unit),
            fmt)


_SUMMARY_COLS: list[_Col] = [
    ("indicator_label", "Nội dung", "Indicator", "text"),
    ("scope_id", "Địa bàn", "Area", "text"),
    ("source_label", "Nguồn chỉ tiêu", "Target source", "text"),
    ("source_ref", "Văn bản", "Document", "text"),
    ("start_year", "Lũy kế từ năm", "Cumulative from", "year"),
    _field("year", "year"),
    _field("season", "text"),
    ("unit_label", "Đơn vị", "Unit", "text"),
    ("target", "Chỉ tiêu", "Target", "int"),
    ("actual", "Thực hiện", "Actual", "int"),
    ("achieved_pct", "Tỷ lệ đạt (%)", "Achieved (%)", "pct"),
    ("shortfall", "Còn thiếu", "Shortfall", "int"),
    ("headline", "Diễn giải", "Headline", "text"),
    ("note", "Ghi chú", "Note", "text"),
]
_LINKAGE_COLS: list[_Col] = [
    _field("commune_id", "text"),
    _field("commune_name", "text"),
    _field("area_ha", "ha", "linkage_area_ha", unit=True),
    ("overlap_ha", "Diện tích chồng lấn đã loại (ha)", "Overlap removed (ha)", "ha"),
    ("commune_share_pct", "Tỷ lệ diện tích xã (%)", "Share of commune (%)", "pct"),
    ("target_ha", "Chỉ tiêu (ha)", "Target (ha)", "ha"),
    ("achieved_pct", "Tỷ lệ đạt (%)", "Achieved (%)", "pct"),
]
_MODEL_COLS: list[_Col] = [
    _field("season", "text"),
    _field("commune_id", "text"),
    _field("commune_name", "text"),
    _field("support_label", "text", "support"),
    ("models", "Số mô hình", "Models", "int"),
    _field("area_ha", "ha", unit=True),
    ("yield_t_ha", "Năng suất bình quân (tấn/ha)", "Mean yield (t/ha)", "t_ha"),
    ("profit_million_vnd_ha", "Lợi nhuận bình quân (triệu đồng/ha)",
     "Mean profit (million VND/ha)", "t_ha"),
    ("cooperatives", "Hợp tác xã", "Cooperatives", "text"),
]
_WORK_COLS: list[_Col] = [
    _field("investor_label", "text", "investor"),
    _field("status_label", "text", "status"),
    _field("work_id", "text"),
    ("name", "Tên công trình", "Name", "text"),
    _field("work_type_label", "text", "work_type"),
    _field("commune_name", "text"),
    _field("year", "year"),
    ("cost_million_vnd", "Tổng mức đầu tư (triệu đồng)", "Cost (million VND)", "money"),
    _field("state_share_pct", "pct", unit=True),
    ("state_million_vnd", "Vốn Nhà nước (triệu đồng)", "State funds (million VND)", "money"),
    ("people_million_vnd", "Vốn Nhân dân (triệu đồng)", "People's funds (million VND)",
     "money"),
    _field("served_area_ha", "ha", unit=True),
]
_POWER_COLS: list[_Col] = [
    _field("work_id", "text"),
    ("name", "Tên công trình", "Name", "text"),
    _field("commune_name", "text"),
    _field("status_label", "text", "status"),
    _field("investor_label", "text", "investor"),
    ("cost_million_vnd", "Kinh phí (triệu đồng)", "Cost (million VND)", "money"),
    _field("served_area_ha", "ha", unit=True),
]
_LINEAGE_COLS: list[_Col] = [
    ("old_code", "Mã xã cũ", "Old commune code", "text"),
    ("old_name", "Xã cũ", "Old commune", "text"),
    ("old_district", "Huyện cũ", "Old district", "text"),
    ("old_province", "Tỉnh cũ", "Old province", "text"),
    ("new_code", "Mã xã mới", "New commune code", "text"),
    ("new_name", "Xã mới", "New commune", "text"),
    ("new_province", "Tỉnh mới", "New province", "text"),
    ("weight", "Tỷ lệ chuyển sang (0–1)", "Share carried (0–1)", "share"),
    ("weight_source_label", "Cách tính tỷ lệ", "Share from", "text"),
    ("part_area_ha", "Diện tích chuyển sang (ha)", "Area carried (ha)", "ha"),
]
_SHEETS = [  # attribute, sheet vi, sheet en, csv, columns
    ("summary", "Tổng hợp", "Summary", "summary", _SUMMARY_COLS),
    ("linkage_by_commune", "Phụ lục I", "Appendix I", "appendix_1_linkage", _LINKAGE_COLS),
    ("models", "Phụ lục II", "Appendix II", "appendix_2_models", _MODEL_COLS),
    ("works", "Phụ lục III", "Appendix III", "appendix_3_works", _WORK_COLS),
    ("power_works", "Phụ lục IV", "Appendix IV", "appendix_4_power_works", _POWER_COLS),
    ("lineage", "Phụ lục V – Chuyển đổi 2025", "Appendix V – 2025 reform",
     "appendix_5_reform_lineage", _LINEAGE_COLS),
]
_LINEAGE_NOTE = (
    "Tỷ lệ: phần của xã cũ chuyển sang xã mới (tổng mỗi xã cũ bằng 1). \"Chia đều (ước "
    "tính)\": xã cũ bị chia, chưa có ranh giới để tính theo diện tích.",
    "Share: the part of the old commune carried to the new one (each old commune's shares "
    "sum to 1). \"Equal split (approximate)\": a divided commune without boundaries to "
    "weigh it by area.")
#: The proposals block under the power works of appendix IV (geoagri.infrastructure).
_PROPOSAL_COLS: list[_Col] = [
    ("site_id", "Mã vị trí đề xuất", "Site id", "text"),
    _field("commune_name", "text"),
    ("stations", "Số trạm bơm", "Pump stations", "int"),
    ("line_length_km", "Đường dây 3 pha (km)", "Three-phase line (km)", "km"),
    _field("served_ha", "ha", "served_area_ha", unit=True),
    ("station_million_vnd", "Kinh phí trạm bơm (triệu đồng)", "Station cost (million VND)",
     "money"),
    ("connection_million_vnd", "Kinh phí đường dây (triệu đồng)", "Line cost (million VND)",
     "money"),
    ("cost_million_vnd", "Tổng kinh phí (triệu đồng)", "Total cost (million VND)", "money"),
    ("ha_per_billion_vnd", "Diện tích phục vụ trên 1 tỷ đồng (ha)",
     "Area served per billion VND (ha)", "ha"),
]
_PROPOSALS_HEADING = ("Đề xuất mới (geoagri): trạm bơm điện và đường dây 3 pha",
                      "New proposals (geoagri): electric pump stations and three-phase lines")
_TOTAL = ("Tổng cộng", "Total")
_EMPTY_POWER_NOTE = (
    "Chưa có công trình điện phục vụ trạm bơm; bảng sẽ được bổ sung từ kết quả đề xuất "
    "vị trí trạm bơm và đường dây 3 pha.",
    "No power works for pump stations yet; the siting analysis fills this table.")
_NO_POWER_WORKS_NOTE = ("Chưa có công trình điện phục vụ trạm bơm trong các lớp dữ liệu.",
                        "No power works for pump stations in the layers yet.")


def _check_language(language: str) -> int:
    if language not in LANGUAGES:
        raise OptionError(f"language={language!r}; use 'vi' or 'en'")
    return LANGUAGES.index(language)


def _figure(value: float, unit: str, language: str) -> str:
    """A figure and its unit as a sentence prints them: ``26.000 triệu đồng``."""
    decimals = _labels.printed_decimals(value, unit)
    return f"{format_number(value, decimals=decimals, language=language)} {unit}"


def headline(row: pd.Series | dict, *, language: str = "vi",
             units: dict[str, str] | None = None,
             labels: Mapping[str, tuple[str, str]] | None = None) -> str:
    """One progress row as the report's sentence.

    Figures are printed in the documents' units (:func:`geoagri.units.customary`:
    yields in tạ/ha, money in triệu đồng, areas in ha).

    Parameters
    ----------
    row : Series or dict
        A row of :func:`geoagri.progress.progress`.
    language : {"vi", "en"}, default "vi"
    units : mapping, optional
        Canonical unit → the unit to print it in (``{"vnd": "tỷ đồng"}``).
    labels : mapping, optional
        Indicator → (label vi, label en) for indicators the report has no
        label of (the catalogue's and the plan's own).

    Returns
    -------
    str
        Figures with the decimals they carry (``23.183,8 ha``), a percentage
        with at least one (``89,16%``, ``112,4%``).
        E.g. ``"Diện tích liên kết sản xuất năm 2024: 23.865 ha, đạt 112,4% so
        với Nghị quyết năm 2024 (21.227 ha)"``.

    Examples
    --------
    >>> row = {"indicator": "linkage_area", "unit": "ha", "start_year": None, "year": 2025,
    ...        "season": None, "source": "roadmap", "target": 22640.0, "actual": 23865.0,
    ...        "actual_year": 2024, "achieved_pct": 105.4}
    >>> print(headline(row))
    Diện tích liên kết sản xuất năm 2024: 23.865 ha, đạt 105,4% so với lộ trình đến năm 2025
    (22.640 ha)
    >>> print(headline(row, language="en"))
    Production-linkage area in 2024: 23,865 ha, 105.4% of the roadmap for 2025 (22,640 ha)
    >>> print(headline({**row, "indicator": "rice_yield", "unit": "t_ha", "target": 8.0,
    ...                 "actual": 8.2, "achieved_pct": 102.5}))
    rice_yield năm 2024: 82 tạ/ha, đạt 102,5% so với lộ trình đến năm 2025 (80 tạ/ha)
    """
    li = _check_language(language)
    vi = li == 0
    ind = str(row["indicator"])
    label = _INDICATOR_LABELS.get(ind, (labels or {}).get(ind, (ind, ind)))[li]
    target_value, unit = customary(row["target"], row["unit"], language=language, units=units)
    actual_value = customary(row["actual"], row["unit"], language=language, units=units)[0]
    unit = f" {unit}" if unit and unit != "%" else unit  # 23.865 ha, 30%
    start = row.get("start_year")
    start = None if start is None or pd.isna(start) else int(start)
    season = row.get("season")
    season = None if season is None or (not isinstance(season, str) and pd.isna(season)) \
        else season
    year = int(row["year"])
    ay = row.get("actual_year")
    ay = year if ay is None or pd.isna(ay) else int(ay)
    if season:
        period = f" vụ {season}" if vi else f" in {season}"
        tperiod = period
    elif start is not None:
        period = (f" lũy kế từ năm {start} đến năm {ay}" if vi
                  else f" cumulated {start}–{ay}")
        tperiod = (f" giai đoạn {start}–{year}" if vi else f" for {start}–{year}")
    else:
        period = f" năm {ay}" if vi else f" in {ay}"
        tperiod = ((f" năm {year}" if ay == year else f" đến năm {year}") if vi
                   else (f" for {year}"))
    source = _SOURCE_LABELS.get(str(row["source"]), (str(row["source"]),) * 2)[li]
    target = format_number(target_value, decimals=_labels.printed_decimals(target_value, unit),
                           language=language)
    if row["actual"] is None or pd.isna(row["actual"]):
        return (f"{label}{period}: chưa có số liệu thực hiện (chỉ tiêu {target}{unit} "
                f"theo {source}{tperiod})" if vi else
                f"{label}{period}: no actual figure (target {target}{unit}, {source}"
                f"{tperiod})")
    actual = format_number(actual_value, decimals=_labels.printed_decimals(actual_value, unit),
                           language=language)
    pct = format_number(row["achieved_pct"], language=language,
                        decimals=max(1, _labels.carried_decimals(row["achieved_pct"]) or 1))
    if vi:
        return f"{label}{period}: {actual}{unit}, đạt {pct}% so với {source}{tperiod} " \
               f"({target}{unit})"
    return f"{label}{period}: {actual}{unit}, {pct}% of {source}{tperiod} ({target}{unit})"


#: Scopes as the notes name them.
_SCOPE_WORDS = {"province": "tỉnh", "district": "huyện", "commune": "xã"}
_SCOPE = r"(?P<scope>province|district|commune) (?P<q>['\"])(?P<id>.*?)(?P=q)"


def _where(m: re.Match[str]) -> str:
    """``xã Tân Phú``; a name that says its kind already (``Huyện Vĩnh Hưng``) as it is."""
    word, name = _SCOPE_WORDS[m["scope"]], m["id"]
    return name if name.lower().startswith(word) else f"{word} {name}"


#: The notes :func:`geoagri.progress.progress` writes, in Vietnamese.
_NOTES_VI: list[tuple[str, Any]] = [
    (r"the (\d{4}) target is compared with the actual up to (\d{4}) \(as_of\)",
     r"chỉ tiêu năm \1 được so với số thực hiện đến năm \2"),
    (r"the (\d{4}) target is compared with the latest actual \((\d{4})\)",
     r"chỉ tiêu năm \1 được so với số thực hiện mới nhất (năm \2)"),
    (r"no actual for ([\d–, ]+): the cumulative sum covers ([\d–, ]+) only",
     r"chưa có số thực hiện năm \1: số lũy kế chỉ gồm năm \2"),
    (r"no actual for indicator (['\"]).*?\1: it is not computed.*$",
     "chưa có số thực hiện: chỉ tiêu này không tính được từ các lớp dữ liệu"),
    (r"no actual for season (\S+(?: [\d-]+)?) in " + _SCOPE,
     lambda m: f"chưa có số thực hiện vụ {m[1]} của {_where(m)}"),
    (r"no actual for (['\"]).*?\1 in " + _SCOPE,
     lambda m: f"chưa có số thực hiện của {_where(m)}"),
    (r"no actual for ([\d–, ]+) in " + _SCOPE,
     lambda m: f"chưa có số thực hiện năm {m[1]} của {_where(m)}"),
    (r"target is 0: no percentage", "chỉ tiêu bằng 0: không tính tỷ lệ"),
    (r"the target has no unit", "chỉ tiêu chưa ghi đơn vị tính"),
    (r"unit (['\"])(.*?)\1 is not understood; write it as the documents do \([^)]*\)",
     r"chưa hiểu đơn vị '\2'; ghi đơn vị như trong văn bản (ha, tạ/ha, triệu đồng, %, HTX, "
     r"hộ…)"),
    (r"the target is in (['\"])(.*?)\1 \([^)]*\), the actual in (\S+) \([^)]*\): they cannot "
     r"be compared; write the target in (\S+)",
     r"chỉ tiêu tính bằng '\2', số thực hiện tính bằng \3: không so sánh được; ghi chỉ tiêu "
     r"theo \4"),
]


def note_text(note: object, *, language: str = "vi") -> str:
    """A note of :func:`geoagri.progress.progress` in the report's language.

    The progress table's notes are English; the Vietnamese report writes
    them in Vietnamese.

    Examples
    --------
    >>> note_text("the 2025 target is compared with the actual up to 2024 (as_of)")
    'chỉ tiêu năm 2025 được so với số thực hiện đến năm 2024'
    >>> note_text("target is 0: no percentage", language="en")
    'target is 0: no percentage'
    """
    _check_language(language)
    if note is None or (not isinstance(note, str) and pd.isna(note)):
        return ""
    text = str(note)
    if language == "vi":
        for pattern, replacement in _NOTES_VI:
            text = re.sub(pattern, replacement, text)
    return text


#: Work status → how a sentence counts it ("3 đã khảo sát, thiết kế và lập báo cáo KTKT").
_STATUS_WORDS = {
    "completed": ("hoàn thành", "completed"),
    "under_construction": ("đang thi công", "under construction"),
    "designed": ("đã khảo sát, thiết kế và lập báo cáo KTKT", "surveyed and designed"),
    "surveyed": ("đã khảo sát", "surveyed"),
    "planned": ("chưa triển khai", "not started"),
}
#: Surveyed and designed works told together, each in the parentheses' words.
_PREPARED_WORDS = ("đã khảo sát, thiết kế", "surveyed or designed")
_PREPARED_DETAIL = {"designed": ("đã lập báo cáo KTKT", "designed"),
                    "surveyed": ("mới khảo sát", "surveyed only")}
_NO_STATUS = ("chưa rõ tình trạng", "status not given")
#: The targets the works' status sentences tell (in place of their headlines).
_WORKS_INDICATORS = ("works_completed", "works_completed_province",
                     "works_completed_district")
_POWER_INDICATORS = ("power_works_completed",)


def _status_counts(statuses: pd.Series, li: int) -> str:
    """Counts per status, most advanced first: ``4/8 công trình đã khảo sát, thiết kế (…);
    4 chưa triển khai``; ``cả 4 công trình chưa triển khai`` when they share one."""
    n = len(statuses)
    counts = statuses.astype(object).where(statuses.notna(), None).value_counts().to_dict()
    count = {k: int(counts.get(k, 0)) for k in _STATUS_WORDS}
    parts: list[tuple[int, str]] = []
    for st in ("completed", "under_construction"):
        if count[st]:
            parts.append((count[st], _STATUS_WORDS[st][li]))
    both = count["designed"] and count["surveyed"]
    if both:
        detail = ", ".join(f"{count[st]} {_PREPARED_DETAIL[st][li]}"
                           for st in ("designed", "surveyed"))
        parts.append((count["designed"] + count["surveyed"],
                      f"{_PREPARED_WORDS[li]} ({detail})"))
    else:
        parts += [(count[st], _STATUS_WORDS[st][li]) for st in ("designed", "surveyed")
                  if count[st]]
    if count["planned"]:
        parts.append((count["planned"], _STATUS_WORDS["planned"][li]))
    other = n - sum(count.values())
    if other:
        parts.append((other, _NO_STATUS[li]))
    noun = ("công trình", "works")[li]
    if len(parts) == 1:
        return f"cả {n} {noun} {parts[0][1]}" if li == 0 else f"all {n} {noun} {parts[0][1]}"
    first = f"{parts[0][0]}/{n} {noun} {parts[0][1]}"
    return "; ".join([first, *(f"{c} {words}" for c, words in parts[1:])])


def _missing_value(value: object) -> bool:
    return value is None or value == "" or (not isinstance(value, str) and pd.isna(value))


def _investor_group(investor: object, li: int) -> str:
    """The works of an investor as a group row and a sentence name them.

    ``Công trình do tỉnh làm chủ đầu tư`` / ``Works invested by the province``;
    ``Công trình chưa rõ chủ đầu tư`` when the works do not say.
    """
    if _missing_value(investor):
        return ("Công trình chưa rõ chủ đầu tư", "Works without an investor")[li]
    label = str(_label(investor, li))
    return (f"Công trình do {label[:1].lower() + label[1:]} làm chủ đầu tư",
            f"Works invested by the {label.lower()}")[li]


def _investor_part(investor: object, n: int, money: str, li: int) -> str:
    """``tỉnh làm chủ đầu tư 8 công trình, tổng mức đầu tư 26.000 triệu đồng``."""
    if _missing_value(investor):
        return (f"chưa rõ chủ đầu tư {n} công trình, tổng mức đầu tư {money}",
                f"{n} without an investor ({money})")[li]
    label = str(_label(investor, li))
    return (f"{label[:1].lower() + label[1:]} làm chủ đầu tư {n} công trình, tổng mức đầu tư "
            f"{money}", f"{n} invested by the {label.lower()} ({money})")[li]


@dataclass(frozen=True)
class ReportData:
    """The tables of a report, as :func:`write_report` writes them.

    Attributes
    ----------
    progress : DataFrame
        :func:`geoagri.progress.progress` rows (the summary sheet).
    linkage_by_commune : DataFrame
        ``commune_id``, ``commune_name``, ``area_ha``, ``overlap_ha``,
        ``commune_share_pct``, ``target_ha``, ``achieved_pct`` and, when the
        communes name theirs, ``district`` (appendix I then has a subtotal per
        district when there are several); one row per commune, plus one with
        no ``commune_id`` for area outside every commune.
    models : DataFrame
        ``season``, ``commune_id``, ``commune_name``, ``support``, ``models``
        (count), ``area_ha``, ``yield_t_ha`` and ``profit_million_vnd_ha``
        (area-weighted means), ``cooperatives``.
    works : DataFrame
        Irrigation works (not power): ``work_id``, ``name``, ``work_type``,
        ``investor``, ``status``, ``commune_name``, ``year``,
        ``cost_million_vnd``, ``state_share_pct``, ``state_million_vnd``,
        ``people_million_vnd``, ``served_area_ha``.
    power_works : DataFrame or None
        ``work_id``, ``name``, ``commune_name``, ``status``, ``investor``,
        ``cost_million_vnd``, ``served_area_ha``; ``None`` or empty → the
        sheet says it is to be filled by the siting analysis.
    year : int, optional
        Year of the report.
    notes : tuple of str
        Further notes written under the summary table (the progress table's
        own notes are in its ``note`` column, written in the report's
        language by :func:`note_text`).
    lineage : DataFrame, optional
        The 2025 lineage (:func:`geoagri.reform.lineage`, e.g. the
        ``attrs["lineage"]`` of carried figures or re-based targets); when
        given, written as appendix V beside the figures it carried.
    proposals : DataFrame, optional
        New pump stations and three-phase lines proposed by
        :func:`geoagri.infrastructure.infrastructure` (its ``appendix_iv``:
        ``site_id``, ``commune_name``, ``served_ha``, ``station_cost_vnd``,
        ``line_length_km``, ``connection_cost_vnd``, ``cost_vnd``); when given
        and not empty, appendix IV lists them under the power works, with totals.
    labels : mapping of str to (str, str)
        Indicator → (label vi, label en) of the catalogue and the plan's own
        indicators, for the summary's sentences.
    units : mapping of str to str
        Units to print quantities in, by canonical unit (``{"vnd": "tỷ đồng",
        "t_ha": "tạ/ha"}``: the plan's ``[settings] report_units``); by default
        the documents' customary units (:data:`geoagri.units.CUSTOMARY`:
        yields in tạ/ha, money in triệu đồng).  The tables keep their
        canonical values; :func:`write_report` converts what it prints.
    """

    progress: pd.DataFrame
    linkage_by_commune: pd.DataFrame
    models: pd.DataFrame
    works: pd.DataFrame
    power_works: pd.DataFrame | None = None
    year: int | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    lineage: pd.DataFrame | None = None
    proposals: pd.DataFrame | None = None
    units: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def summary_lines(self, *, language: str = "vi") -> list[str]:
        """The headline sentences of the district- and province-scope targets (of the
        commune-scope ones when there are no others: a commune's own plan).

        Examples
        --------
        >>> import pandas as pd
        >>> p = pd.DataFrame([{"indicator": "works_completed", "unit": "count",
        ...     "scope": "district", "start_year": None, "year": 2024, "season": None,
        ...     "source": "plan", "target": 31.0, "actual": 0.0, "actual_year": 2024,
        ...     "achieved_pct": 0.0}])
        >>> empty = pd.DataFrame()
        >>> ReportData(p, empty, empty, empty).summary_lines(language="en")
        ['Irrigation works completed in 2024: 0, 0.0% of the plan for 2024 (31)']
        """
        return [headline(r, language=language, units=dict(self.units), labels=self.labels)
                for _, r in self.summary_rows().iterrows()]

    def summary_rows(self) -> pd.DataFrame:
        """The progress rows the summary tells: not the communes' unless there are no others.

        The rows of :meth:`summary_lines`; the Word report states them in its section I.
        """
        if not len(self.progress):
            return self.progress
        rows = self.progress[self.progress["scope"] != "commune"]
        return rows if len(rows) else self.progress

    def _money(self, million_vnd: float, language: str) -> str:
        """Money in the report's unit: ``26.000 triệu đồng``."""
        value, unit = customary(float(million_vnd) * 1e6, "vnd", language=language,
                                units=dict(self.units))
        return _figure(value, unit, language)

    def works_status_sentences(self, *, language: str = "vi") -> list[str]:
        """The works as the documents tell them: per investor, counts per status.

        One sentence with the irrigation works per investor (number and
        total investment), one per investor with its works' counts per
        status, most advanced first (surveyed and designed works told
        together, "4/8 công trình đã khảo sát, thiết kế"), and one with the
        power works for pump stations (number, cost, hectares served,
        counts per status).  Money in the report's unit
        (:func:`geoagri.units.customary`, ``units``), numbers in the
        language's style.

        Parameters
        ----------
        language : {"vi", "en"}, default "vi"

        Returns
        -------
        list of str
            Empty when there are no works.

        Examples
        --------
        >>> import pandas as pd
        >>> works = pd.DataFrame({"investor": ["province"] * 3 + ["district"] * 2,
        ...     "status": ["surveyed", "designed", "planned", "designed", "planned"],
        ...     "cost_million_vnd": [3800.0, 4200.0, 3500.0, 811.0, 691.0],
        ...     "year": [2024] * 5})
        >>> empty = pd.DataFrame()
        >>> for s in ReportData(empty, empty, empty, works).works_status_sentences():
        ...     print(s)
        Công trình thủy lợi năm 2024: tỉnh làm chủ đầu tư 3 công trình, tổng mức đầu tư 11.500 triệu đồng; huyện làm chủ đầu tư 2 công trình, tổng mức đầu tư 1.502 triệu đồng.
        Công trình do tỉnh làm chủ đầu tư: 2/3 công trình đã khảo sát, thiết kế (1 đã lập báo cáo KTKT, 1 mới khảo sát); 1 chưa triển khai.
        Công trình do huyện làm chủ đầu tư: 1/2 công trình đã khảo sát, thiết kế và lập báo cáo KTKT; 1 chưa triển khai.
        """  # noqa: E501
        return [*self.irrigation_sentences(language=language),
                *filter(None, [self.power_sentence(language=language)])]

    def irrigation_sentences(self, *, language: str = "vi") -> list[str]:
        """The irrigation works: per investor, number and investment; then counts per status.

        The first part of :meth:`works_status_sentences` (empty without works).

        Examples
        --------
        >>> import pandas as pd
        >>> works = pd.DataFrame({"investor": ["province"] * 2, "status": ["designed", "planned"],
        ...                       "cost_million_vnd": [4200.0, 3500.0]})
        >>> empty = pd.DataFrame()
        >>> print(ReportData(empty, empty, empty, works).irrigation_sentences()[1])
        Công trình do tỉnh làm chủ đầu tư: 1/2 công trình đã khảo sát, thiết kế và lập báo cáo KTKT; 1 chưa triển khai.
        """  # noqa: E501
        li = _check_language(language)
        out: list[str] = []
        works = self.works
        if works is not None and len(works) and "status" in works:
            investors = (works["investor"] if "investor" in works
                         else pd.Series([None] * len(works), index=works.index))
            key = investors.astype(object).where(investors.notna(), "")
            years = (pd.to_numeric(works["year"], errors="coerce").dropna().unique()
                     if "year" in works else [])
            when = (f" năm {int(years[0])}" if li == 0 else f" for {int(years[0])}") \
                if len(years) == 1 else ""
            cost = (pd.to_numeric(works["cost_million_vnd"], errors="coerce")
                    if "cost_million_vnd" in works else pd.Series(math.nan, index=works.index))
            parts, statuses = [], []
            for inv in pd.unique(key):
                rows = key == inv
                n, money = int(rows.sum()), self._money(cost[rows].sum(), language)
                parts.append(_investor_part(inv, n, money, li))
                statuses.append(f"{_investor_group(inv, li)}: "
                                f"{_status_counts(works.loc[rows, 'status'], li)}.")
            head = ("Công trình thủy lợi" if li == 0 else "Irrigation works") + when
            out += [f"{head}: {'; '.join(parts)}.", *statuses]
        return out

    def power_sentence(self, *, language: str = "vi") -> str | None:
        """The power works for pump stations: number, cost, hectares served, counts per status.

        The last part of :meth:`works_status_sentences` (None without power works).

        Examples
        --------
        >>> import pandas as pd
        >>> power = pd.DataFrame({"status": ["planned", "planned"],
        ...     "cost_million_vnd": [1300.0, 1100.0], "served_area_ha": [320.0, 270.0]})
        >>> empty = pd.DataFrame()
        >>> print(ReportData(empty, empty, empty, empty, power_works=power).power_sentence())
        Công trình điện phục vụ trạm bơm: 2 công trình, tổng kinh phí ước tính 2.400 triệu đồng, phục vụ tưới tiêu cho 590 ha; cả 2 công trình chưa triển khai.
        """  # noqa: E501
        li = _check_language(language)
        power = self.power_works
        if power is None or not len(power) or "status" not in power:
            return None
        n = len(power)
        money = self._money(pd.to_numeric(power["cost_million_vnd"], errors="coerce").sum(),
                            language)
        ha = format_number(pd.to_numeric(power["served_area_ha"], errors="coerce").sum(),
                           language=language)
        counts = _status_counts(power["status"], li)
        return (f"Công trình điện phục vụ trạm bơm: {n} công trình, tổng kinh phí ước "
                f"tính {money}, phục vụ tưới tiêu cho {ha} ha; {counts}." if li == 0 else
                f"Power works for pump stations: {n} works, estimated cost {money}, "
                f"serving {ha} ha; {counts}.")

    def model_sentences(self, *, language: str = "vi") -> list[str]:
        """The models of the report year by season and support, commune by commune.

        One sentence per season: per support (state-supported, self-replicated)
        the number of models and their area, then commune by commune the
        models, area (ha), cooperatives and area-weighted mean yield and
        profit in the report's units (:func:`geoagri.units.customary`:
        tạ/ha, triệu đồng/ha, or ``units``).

        Parameters
        ----------
        language : {"vi", "en"}, default "vi"

        Returns
        -------
        list of str
            Empty without models.

        Examples
        --------
        >>> import pandas as pd
        >>> models = pd.DataFrame({"season": ["DX 2023-2024"],
        ...     "commune_name": ["Xã Khánh Hưng"], "support": ["supported"], "models": [1],
        ...     "area_ha": [50.0], "yield_t_ha": [7.5], "profit_million_vnd_ha": [32.6],
        ...     "cooperatives": ["HTX Khánh Hưng"]})
        >>> empty = pd.DataFrame()
        >>> print(ReportData(empty, empty, models, empty).model_sentences()[0])
        Vụ DX 2023-2024: 1 mô hình có hỗ trợ ngân sách (50 ha): Xã Khánh Hưng 1 mô hình (50 ha;
        HTX Khánh Hưng; năng suất bình quân 75 tạ/ha, lợi nhuận bình quân 32,6 triệu đồng/ha).
        """
        li = _check_language(language)
        models = self.models
        if models is None or models.empty:
            return []
        units = dict(self.units)
        y_scale, y_unit = customary(1.0, "t_ha", language=language, units=units)
        p_scale, p_unit = customary(1e6, "vnd_ha", language=language, units=units)

        def figure(value: float, unit: str) -> str:
            return _figure(value, unit, language)

        def word(n: int) -> str:
            return ("mô hình", "model" if n == 1 else "models")[li]

        out = []
        for season, s in models.groupby("season", sort=False, dropna=False):
            parts = []
            for support, g in s.groupby("support", sort=False, dropna=False):
                label = "" if _missing_value(support) else _labels.value_label(support, language)
                label = label[:1].lower() + label[1:]
                items = []
                for _, r in g.iterrows():
                    extra = [f"{format_number(float(r['area_ha']), language=language)} ha"]
                    if not _missing_value(r.get("cooperatives")) and str(r["cooperatives"]):
                        extra.append(str(r["cooperatives"]))
                    figs = []
                    if pd.notna(r.get("yield_t_ha")):
                        figs.append(f"{('năng suất bình quân', 'mean yield')[li]} "
                                    + figure(float(r["yield_t_ha"]) * y_scale, y_unit))
                    if pd.notna(r.get("profit_million_vnd_ha")):
                        figs.append(f"{('lợi nhuận bình quân', 'mean profit')[li]} "
                                    + figure(float(r["profit_million_vnd_ha"]) * p_scale, p_unit))
                    if figs:
                        extra.append(", ".join(figs))
                    n = int(r["models"])
                    name = "" if _missing_value(r.get("commune_name")) else str(r["commune_name"])
                    items.append(f"{name or '?'} {n} {word(n)} ({'; '.join(extra)})")
                n = int(pd.to_numeric(g["models"]).sum())
                area = format_number(float(pd.to_numeric(g["area_ha"]).sum()), language=language)
                parts.append(f"{n} {word(n)} {label} ({area} ha): {'; '.join(items)}"
                             if li == 0 else
                             f"{n} {label} {word(n)} ({area} ha): {'; '.join(items)}")
            head = f"{('Vụ', 'Season')[li]} {'?' if _missing_value(season) else season}"
            out.append(f"{head}: {'. '.join(parts)}.")
        return out

    def proposal_rows(self) -> pd.DataFrame | None:
        """The proposed stations as the reports print them, or None without proposals.

        One row per station: ``site_id``, ``commune_name``, ``stations`` (1),
        ``line_length_km``, ``served_ha``, ``station_million_vnd``,
        ``connection_million_vnd``, ``cost_million_vnd`` (million VND) and
        ``ha_per_billion_vnd`` (ha served per billion VND spent, NaN at no cost).

        Examples
        --------
        >>> import pandas as pd
        >>> empty = pd.DataFrame()
        >>> p = pd.DataFrame({"site_id": ["C1"], "commune_name": ["Tân Hòa"],
        ...     "line_length_km": [2.0], "served_ha": [150.0], "station_cost_vnd": [8e8],
        ...     "connection_cost_vnd": [7e8], "cost_vnd": [1.5e9]})
        >>> ReportData(empty, empty, empty, empty, proposals=p).proposal_rows()[
        ...     ["cost_million_vnd", "ha_per_billion_vnd"]].iloc[0].tolist()
        [1500.0, 100.0]
        """
        p = self.proposals
        if p is None or not len(p):
            return None
        p = p.reset_index(drop=True)
        t = pd.DataFrame({
            "site_id": p["site_id"].astype(str),
            "commune_name": p["commune_name"] if "commune_name" in p else None,
            "stations": 1,
            "line_length_km": pd.to_numeric(p["line_length_km"]).astype(float),
            "served_ha": pd.to_numeric(p["served_ha"]).astype(float),
            "station_million_vnd": pd.to_numeric(p["station_cost_vnd"]).astype(float) / 1e6,
            "connection_million_vnd": pd.to_numeric(p["connection_cost_vnd"]).astype(float)
            / 1e6,
            "cost_million_vnd": pd.to_numeric(p["cost_vnd"]).astype(float) / 1e6,
        })
        t["ha_per_billion_vnd"] = _per_billion(t["served_ha"], t["cost_million_vnd"])
        return t

    def proposal_total(self) -> dict[str, float] | None:
        """The proposals' totals (:meth:`proposal_rows` summed; ``ha_per_billion_vnd`` of
        the sums), or None without proposals.

        Examples
        --------
        >>> import pandas as pd
        >>> empty = pd.DataFrame()
        >>> p = pd.DataFrame({"site_id": ["C1", "C2"], "line_length_km": [2.0, 0.0],
        ...     "served_ha": [150.0, 90.0], "station_cost_vnd": [8e8, 8e8],
        ...     "connection_cost_vnd": [7e8, 0.0], "cost_vnd": [1.5e9, 8e8]})
        >>> t = ReportData(empty, empty, empty, empty, proposals=p).proposal_total()
        >>> t["stations"], t["cost_million_vnd"], round(t["ha_per_billion_vnd"], 2)
        (2.0, 2300.0, 104.35)
        """
        rows = self.proposal_rows()
        if rows is None:
            return None
        total = {k: float(v) for k, v in rows[[
            "stations", "line_length_km", "served_ha", "station_million_vnd",
            "connection_million_vnd", "cost_million_vnd"]].sum().items()}
        total["ha_per_billion_vnd"] = float(_per_billion(total["served_ha"],
                                                         total["cost_million_vnd"]))
        return total

    def proposals_sentence(self, *, language: str = "vi") -> str | None:
        """The proposals' totals as the seed report words them (None without proposals).

        Examples
        --------
        >>> import pandas as pd
        >>> empty = pd.DataFrame()
        >>> p = pd.DataFrame({"site_id": ["C1"], "line_length_km": [2.5],
        ...     "served_ha": [150.0], "station_cost_vnd": [8e8],
        ...     "connection_cost_vnd": [7e8], "cost_vnd": [1.5e9]})
        >>> text = ReportData(empty, empty, empty, empty, proposals=p).proposals_sentence()
        >>> text[:50]
        'Đề xuất 1 trạm bơm điện và 2,5 km đường dây 3 pha,'
        >>> text[-48:]
        'phục vụ tưới tiêu cho 150 ha (100,0 ha/tỷ đồng).'
        """
        total = self.proposal_total()
        if total is None:
            return None

        def num(key: str, decimals: int = 0, scale: float = 1.0) -> str:
            return format_number(total[key] * scale, decimals=decimals, language=language)

        _check_language(language)
        if language == "vi":
            return (f"Đề xuất {num('stations')} trạm bơm điện và {num('line_length_km', 1)} "
                    f"km đường dây 3 pha, tổng kinh phí ước tính "
                    f"{num('cost_million_vnd', 1, 1e-3)} tỷ đồng, phục vụ tưới tiêu cho "
                    f"{num('served_ha')} ha ({num('ha_per_billion_vnd', 1)} ha/tỷ đồng).")
        return (f"Proposed: {num('stations')} electric pump stations and "
                f"{num('line_length_km', 1)} km of three-phase line, estimated cost "
                f"{num('cost_million_vnd', 1, 1e-3)} billion VND, serving "
                f"{num('served_ha')} ha ({num('ha_per_billion_vnd', 1)} ha per billion VND).")

    def summary_sentences(self, *, language: str = "vi") -> list[str]:
        """The sentences the summary prints first, in the documents' order.

        The headline of every district- and province-scope target
        (:meth:`summary_lines`), except that the works' completion targets
        are told as the documents tell them, by counts per status
        (:meth:`works_status_sentences`), where their first headline was.
        The workbook prints them at the top of its summary sheet.

        Parameters
        ----------
        language : {"vi", "en"}, default "vi"

        Returns
        -------
        list of str

        Examples
        --------
        >>> from geoagri.datasets import demo
        >>> data = build_report_data(demo(), year=2024, proposals=False)
        >>> for s in data.summary_sentences()[6:10]:
        ...     print(s[:58])
        Công trình thủy lợi năm 2024: tỉnh làm chủ đầu tư 8 công t
        Công trình do tỉnh làm chủ đầu tư: 4/8 công trình đã khảo
        Công trình do huyện làm chủ đầu tư: 3/23 công trình đã khả
        Công trình điện phục vụ trạm bơm: 4 công trình, tổng kinh
        """
        _check_language(language)
        works = self.works_status_sentences(language=language)
        has_works = self.works is not None and len(self.works) > 0
        has_power = self.power_works is not None and len(self.power_works) > 0
        told = (_WORKS_INDICATORS if has_works else ()) + (
            _POWER_INDICATORS if has_power else ())
        rows = self.summary_rows()
        out: list[str] = []
        placed = False
        for _, r in rows.iterrows():
            if r["indicator"] in told:
                if not placed:
                    out += works
                    placed = True
                continue
            out.append(headline(r, language=language, units=dict(self.units),
                                labels=self.labels))
        return out if placed else out + works


def _label(value: object, li: int) -> object:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if str(value) in _REPORT_VALUES:
        return _REPORT_VALUES[str(value)][li]
    if str(value) in _labels.VALUES:
        return _labels.value_label(value, LANGUAGES[li])
    return value


def _season_order(season: str) -> tuple[int, int]:
    return (season_end_year(season), {"DX": 0, "HT": 1, "TD": 2}.get(season[:2], 3))


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    ok = values.notna() & weights.notna()
    if not ok.any() or float(weights[ok].sum()) == 0:
        return math.nan
    return float((values[ok] * weights[ok]).sum() / weights[ok].sum())


def _models_table(models: gpd.GeoDataFrame | None, communes: gpd.GeoDataFrame, names: dict,
                  crs: str | None) -> pd.DataFrame:
    cols = [c[0] for c in _MODEL_COLS if c[0] != "support_label"] + ["support"]
    if models is None or models.empty:
        return pd.DataFrame(columns=cols)
    m = pd.DataFrame({
        "season": models["season"].astype(str),
        "commune_id": commune_of(models, communes, kind="models"),
        "support": models["support"].astype(str),
        "area_ha": model_area_ha(models, crs=crs),
        "yield_t_ha": (pd.to_numeric(models["yield_t_ha"], errors="coerce")
                       if "yield_t_ha" in models else math.nan),
        "profit_vnd_ha": (pd.to_numeric(models["profit_vnd_ha"], errors="coerce")
                          if "profit_vnd_ha" in models else math.nan),
        "cooperative": models["cooperative"] if "cooperative" in models else None,
    })
    rows = []
    for (season, cid, support), g in m.groupby(["season", "commune_id", "support"],
                                               dropna=False):
        coops = sorted({str(c) for c in g["cooperative"] if isinstance(c, str)})
        rows.append({
            "season": season, "commune_id": cid,
            "commune_name": names.get(cid) if isinstance(cid, str) else None,
            "support": support, "models": len(g), "area_ha": float(g["area_ha"].sum()),
            "yield_t_ha": _weighted(g["yield_t_ha"], g["area_ha"]),
            "profit_million_vnd_ha": _weighted(g["profit_vnd_ha"], g["area_ha"]) / 1e6,
            "cooperatives": "; ".join(coops) or None,
        })
    out = pd.DataFrame(rows)
    order = out["season"].map(_season_order)
    out = out.assign(_o=order, _s=out["support"].map({"supported": 0, "self": 1}))
    out = out.sort_values(["_o", "_s", "commune_name"], kind="stable")
    return out.drop(columns=["_o", "_s"]).reset_index(drop=True)


def _works_tables(works: gpd.GeoDataFrame | None, communes: gpd.GeoDataFrame, names: dict
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    wcols = [c[0] for c in _WORK_COLS if not c[0].endswith("_label")] + [
        "investor", "status", "work_type"]
    pcols = [c[0] for c in _POWER_COLS if not c[0].endswith("_label")] + ["investor", "status"]
    if works is None or works.empty:
        return pd.DataFrame(columns=wcols), pd.DataFrame(columns=pcols)
    w = pd.DataFrame(works.drop(columns=works.geometry.name))
    w["commune_id"] = commune_of(works, communes, kind="works").to_numpy()
    w["commune_name"] = [names.get(c) if isinstance(c, str) else None for c in w["commune_id"]]
    for col in ("investor", "state_share_pct", "cost_vnd", "served_area_ha", "name", "year"):
        if col not in w:
            w[col] = None
    cost = pd.to_numeric(w["cost_vnd"], errors="coerce") / 1e6
    share = pd.to_numeric(w["state_share_pct"], errors="coerce")
    w["cost_million_vnd"] = cost
    w["state_million_vnd"] = cost * share / 100
    w["people_million_vnd"] = cost * (100 - share) / 100
    inv_order = {v: i for i, v in enumerate(("central", "province", "district", "commune",
                                             "people", "enterprise"))}
    st_order = {v: i for i, v in enumerate(WORK_STATUSES)}
    w = w.assign(_i=w["investor"].map(inv_order).fillna(99),
                 _s=w["status"].map(st_order).fillna(99))
    w = w.sort_values(["_i", "_s", "work_id"], kind="stable")
    power = w["work_type"] == "power"
    return (w.loc[~power, wcols].reset_index(drop=True),
            w.loc[power, pcols].reset_index(drop=True))


def build_report_data(
    plan: Plan,
    *,
    year: int,
    as_of: int | None = None,
    decimals: int = 1,
    rounding: Rounding = "truncate",
    proposals: pd.DataFrame | Any | bool = True,
    linkage: pd.DataFrame | None = None,
    indicators: pd.DataFrame | None = None,
) -> ReportData:
    """Compute a report's tables from a plan.

    Parameters
    ----------
    plan : Plan
        With ``communes`` and any of ``zones``, ``models``, ``works``,
        ``cooperatives`` and ``targets``.
    year : int
        Year of the report: actuals are computed up to it
        (:func:`geoagri.indicators.actuals`, from the earliest cumulative
        ``start_year`` of the targets).
    as_of : int, optional
        Passed to :func:`geoagri.progress.progress`; default ``year`` (a
        target for a later year is compared with the figures up to ``year``).
    decimals, rounding
        Rounding of ``achieved_pct`` (default: truncated to one decimal, as
        the reports do).
    proposals : bool, DataFrame or InfrastructureResult, default True
        The new pump stations and three-phase lines listed in appendix IV
        under the power works.  ``True``: run
        :func:`geoagri.infrastructure.infrastructure` on the plan with its
        own settings when it has ``communes``, ``zones``, ``pumps`` and
        ``power`` layers (the scenario ``geoagri run`` writes to
        ``tables/appendix_4_proposals.csv``); ``False``: none; a result of
        that function, or its ``appendix_iv`` table: those.
    linkage : DataFrame, optional
        The plan's :func:`geoagri.indicators.linkage_by_commune` table for
        ``year`` when already computed (:func:`geoagri.results.compute` passes
        the one the map draws); computed when not given.
    indicators : DataFrame, optional
        The plan's :func:`geoagri.indicator_engine.compute_indicators` table
        (from :func:`geoagri.progress.first_year` of its targets through
        ``year``) when already computed (:func:`geoagri.results.compute`
        passes the one it writes to ``tables/indicators.csv``): the targets
        are compared with its figures (:func:`geoagri.indicators.facts_of`),
        nothing is recomputed.  Computed when not given.

    Returns
    -------
    ReportData
        Areas in ha (overlaps counted once), money in million VND (the
        proposals keep the ``appendix_iv`` columns, in VND).

    Raises
    ------
    PlanError
        If the plan has no ``communes`` layer or several layers of a kind.
    InfeasibleError
        With ``proposals=True``, if the plan's infrastructure settings have
        no solution (e.g. a budget below the cheapest station); the message
        says why.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> data = build_report_data(demo(), year=2024)
    >>> row = data.progress.iloc[0]
    >>> row["indicator"], row["source"], float(row["achieved_pct"])
    ('linkage_area', 'resolution', 112.4)
    >>> round(float(data.linkage_by_commune["area_ha"].sum()))
    23865
    """
    as_of = year if as_of is None else as_of
    targets = plan_targets(plan)
    if indicators is None:
        facts = actuals(plan, year=year, since=first_year(targets, year), linkage=linkage)
    else:
        facts = facts_of(indicators, plan=plan)
    # a target is compared with its own indicator's facts only: the others are not read
    asked = (facts[facts["indicator"].isin(targets["indicator"].astype(str))]
             if "indicator" in targets else facts)
    prog = progress(asked, targets, as_of=as_of, decimals=decimals, rounding=rounding,
                    units=plan.context.report_units)

    communes = plan.only("communes")
    ids = communes["commune_id"].astype(str)
    names = dict(zip(ids, communes["commune_name"], strict=True))

    if linkage is None:
        linkage = plan_linkage(plan, year=year)
    linkage = linkage.drop(columns="commune_area_ha", errors="ignore")
    ct = prog[(prog["indicator"] == "linkage_area") & (prog["scope"] == "commune")
              & prog["start_year"].isna() & prog["season"].isna()]
    ct = ct.sort_values("year", key=lambda s: (s - year).abs(), kind="stable")
    target_by = {}
    keys = {unit_key(str(c)): c for c in ids} | {
        unit_key(str(n)): c for c, n in zip(ids, communes["commune_name"], strict=True)}
    for _, r in ct.iterrows():
        cid = keys.get(unit_key(str(r["scope_id"])))
        if cid is not None and cid not in target_by:
            target_by[cid] = (r["target"], r["achieved_pct"])
    linkage["target_ha"] = [target_by.get(c, (math.nan,))[0] for c in linkage["commune_id"]]
    linkage["achieved_pct"] = [target_by.get(c, (0, math.nan))[1]
                               for c in linkage["commune_id"]]
    if "district" in communes:  # appendix I: a subtotal per district
        districts = dict(zip(ids, communes["district"], strict=True))
        linkage["district"] = [districts.get(str(c)) if pd.notna(c) else None
                               for c in linkage["commune_id"]]

    models = plan.of_kind("models")
    layer = next(iter(models.values())) if len(models) == 1 else None
    if layer is not None:  # appendix II: the seasons harvested in the report's year
        layer = layer[[season_end_year(s) == year for s in layer["season"]]]
    models_t = _models_table(layer, communes, names, plan.metric_crs)
    works = plan.of_kind("works")
    works_t, power_t = _works_tables(next(iter(works.values())) if len(works) == 1 else None,
                                     communes, names)
    with_target = set(prog["indicator"])
    own = facts.attrs["not_computed"]
    own = own[own["indicator"].isin(list(plan.indicators)) & ~own["indicator"].isin(with_target)]
    notes = tuple(f"{n} (indicators.{n} of the plan): not computed: {w}"
                  for n, w in zip(own["indicator"], own["why"], strict=True))
    return ReportData(progress=prog, linkage_by_commune=linkage, models=models_t,
                      works=works_t, power_works=power_t, year=year, notes=notes,
                      proposals=_proposals_of(plan, proposals),
                      units=dict(plan.context.report_units), labels=_labels_of(plan))


def _labels_of(plan: Plan) -> dict[str, tuple[str, str]]:
    """(label vi, label en) of every indicator of the catalogue and the plan (id if none)."""
    from geoagri.indicator_engine import indicator_labels

    return {n: (vi or n, en or vi or n) for n, (vi, en) in indicator_labels(plan).items()}


def _proposals_of(plan: Plan, proposals: pd.DataFrame | Any | bool) -> pd.DataFrame | None:
    """The ``appendix_iv`` table of the infrastructure scenario (see build_report_data)."""
    if proposals is False or proposals is None:
        return None
    if proposals is True:
        kinds = ("communes", "zones", "pumps", "power")
        if not all(len(plan.of_kind(k)) == 1 for k in kinds):
            return None
        from geoagri.infrastructure import infrastructure

        proposals = infrastructure(plan, curve_steps=0)
    table = getattr(proposals, "appendix_iv", proposals)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"proposals={type(proposals).__name__}; give True, False, an "
                        "InfrastructureResult or its appendix_iv table")
    return table.copy()


def _sheet_table(attr: str, data: ReportData, li: int, language: str) -> pd.DataFrame:
    """The table of one sheet with the derived label columns added."""
    table = data.progress if attr == "summary" else getattr(data, attr)
    if table is None:
        table = pd.DataFrame()
    table = table.copy()
    if attr == "summary":
        p = data.progress.copy()
        p["indicator_label"] = [_INDICATOR_LABELS.get(i, data.labels.get(i, (i, i)))[li]
                                for i in p["indicator"]]
        p["source_label"] = [_SOURCE_LABELS.get(s, (s, s))[li] for s in p["source"]]
        p["unit_label"] = [_label(u, li) for u in p["unit"]]
        p["headline"] = [headline(r, language=language, units=dict(data.units),
                                  labels=data.labels) for _, r in p.iterrows()]
        if "note" in p:
            p["note"] = [note_text(n, language=language) for n in p["note"]]
        return p
    if attr == "linkage_by_commune" and "commune_id" in table:
        outside = ("Ngoài ranh giới các xã", "Outside every commune")[li]
        table.loc[table["commune_id"].isna(), "commune_name"] = outside
    for src, dst in (("support", "support_label"), ("investor", "investor_label"),
                     ("status", "status_label"), ("work_type", "work_type_label"),
                     ("weight_source", "weight_source_label")):
        if src in table:
            table[dst] = [_label(v, li) for v in table[src]]
    return table


def _cell(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):  # numpy scalars → Python
        return value.item()
    return value


def _per_billion(ha: Any, million_vnd: Any) -> Any:
    """Hectares served per billion VND spent (NaN where nothing was spent)."""
    ha, money = np.asarray(ha, dtype=float), np.asarray(million_vnd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(money > 0, ha / (money / 1e3), np.nan)


#: Columns printed in a customary unit: column → (canonical unit, factor to it).
_UNIT_COLUMNS = {
    "yield_t_ha": ("t_ha", 1.0), "profit_million_vnd_ha": ("vnd_ha", 1e6),
    "cost_million_vnd": ("vnd", 1e6), "state_million_vnd": ("vnd", 1e6),
    "people_million_vnd": ("vnd", 1e6),
}


def _printed_units(table: pd.DataFrame, cols: Sequence[_Col], units: Mapping[str, str],
                   language: str) -> tuple[pd.DataFrame, list[_Col]]:
    """The table with its quantities in the units the report prints, and their headers.

    Yield in tạ/ha, money in triệu đồng unless the plan chose others
    (:func:`geoagri.units.customary`); the header's unit in parentheses follows.
    """
    _check_language(language)
    out, new_cols = table, []
    for col in cols:
        key, head_vi, head_en, fmt = col
        if key in _UNIT_COLUMNS and key in table:
            code, factor = _UNIT_COLUMNS[key]
            scale, label = customary(factor, code, language=language, units=dict(units))
            if out is table:
                out = table.copy()
            out[key] = pd.to_numeric(out[key], errors="coerce") * scale
            heads = [re.sub(r"\([^()]*\)$", f"({label})", h) for h in (head_vi, head_en)]
            head_vi, head_en = heads
            if fmt == "money" and scale < 0.5:  # tỷ đồng: two decimals
                fmt = "money2"
        new_cols.append((key, head_vi, head_en, fmt))
    return out, new_cols


@dataclass(frozen=True)
class _Print:
    """How a sheet prints (laid out by :mod:`geoagri._print_layout`).

    ``title`` takes ``{year}`` (`` NĂM 2024`` / ``, 2024``); ``unit`` ``None``
    is the money unit the sheet prints (``ĐVT: triệu đồng``); ``drop`` are
    columns of the CSV the sheet does not print (their values are its group
    rows or its sentences); ``optional`` columns print only when they hold a
    value; ``sums``, ``counts`` and ``ratios`` are the total and group rows'
    formulas; ``label`` the column of their labels.
    """

    kicker: tuple[str, str]
    title: tuple[str, str]
    unit: tuple[str, str] | None
    drop: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    sums: tuple[str, ...] = ()
    counts: tuple[str, ...] = ()
    ratios: tuple[tuple[str, str, str, float], ...] = ()
    label: str | None = None
    total: bool = True


_HA_UNIT = ("ĐVT: ha", "Unit: ha")
_PRINTS = {
    "summary": _Print(
        ("BIỂU TỔNG HỢP", "SUMMARY"),
        ("KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU{year}", "PROGRESS AGAINST TARGETS{year}"),
        ("ĐVT: theo cột Đơn vị", "Units: see the Unit column"), drop=("headline",),
        total=False),
    "linkage_by_commune": _Print(
        ("PHỤ LỤC I", "APPENDIX I"),
        ("DIỆN TÍCH THỰC HIỆN LIÊN KẾT SẢN XUẤT THEO XÃ{year}",
         "PRODUCTION-LINKAGE AREA BY COMMUNE{year}"), _HA_UNIT,
        optional=("target_ha", "achieved_pct"), sums=("area_ha", "overlap_ha", "target_ha"),
        ratios=(("achieved_pct", "area_ha", "target_ha", 100.0),), label="commune_name"),
    "models": _Print(
        ("PHỤ LỤC II", "APPENDIX II"),
        ("MÔ HÌNH LÚA ỨNG DỤNG CÔNG NGHỆ CAO{year}", "HIGH-TECH RICE MODELS{year}"),
        _HA_UNIT, drop=("season", "commune_id", "support_label"), sums=("models", "area_ha"),
        label="commune_name"),
    "works": _Print(
        ("PHỤ LỤC III", "APPENDIX III"),
        ("DANH MỤC CÔNG TRÌNH THỦY LỢI{year}", "IRRIGATION WORKS{year}"), None,
        drop=("investor_label", "status_label"),
        sums=("cost_million_vnd", "state_million_vnd", "people_million_vnd", "served_area_ha"),
        counts=("work_id",),
        ratios=(("state_share_pct", "state_million_vnd", "cost_million_vnd", 100.0),),
        label="name"),
    "power_works": _Print(
        ("PHỤ LỤC IV", "APPENDIX IV"),
        ("CÔNG TRÌNH ĐIỆN PHỤC VỤ TRẠM BƠM", "POWER WORKS FOR PUMP STATIONS"), None,
        sums=("cost_million_vnd", "served_area_ha"), counts=("work_id",), label="name"),
    "lineage": _Print(
        ("PHỤ LỤC V", "APPENDIX V"),
        ("CHUYỂN ĐỔI XÃ CŨ SANG XÃ MỚI (SẮP XẾP ĐƠN VỊ HÀNH CHÍNH NĂM 2025)",
         "OLD COMMUNES TO NEW COMMUNES (2025 REFORM)"), _HA_UNIT,
        sums=("part_area_ha",), label="old_name"),
}
#: The proposals block under the power works of appendix IV.
_PROPOSALS_PRINT = _Print(
    _PROPOSALS_HEADING, _PROPOSALS_HEADING, None,
    sums=("stations", "line_length_km", "served_ha", "station_million_vnd",
          "connection_million_vnd", "cost_million_vnd"),
    ratios=(("ha_per_billion_vnd", "served_ha", "cost_million_vnd", 1000.0),),
    label="commune_name")
_ATTACHED = ("(Kèm theo Báo cáo số …/BC-… ngày … tháng … năm …)",
             "(Attached to Report No. …, dated …)")
_COUNT_FORMAT = ('#,##0 "công trình"', '#,##0 "works"')
_FOOTER = ("Trang &P/&N", "Page &P of &N")
_NUMBER = ("STT", "No.")
#: Season code → its name, as the documents write "Vụ Đông Xuân 2023-2024".
_SEASON_NAMES = {"DX": ("Đông Xuân", "Winter–spring"), "HT": ("Hè Thu", "Summer–autumn"),
                 "TD": ("Thu Đông", "Autumn–winter"), "MUA": ("Mùa", "Main season"),
                 "DONG": ("Đông", "Winter")}
#: A district's kind → its total row (appendix I of one district: "Toàn huyện").
_DISTRICT_TOTALS = ("huyện", "thị xã", "thành phố", "quận")


def _season_title(season: object, li: int) -> str:
    """``Vụ Đông Xuân 2023-2024`` / ``Winter–spring 2023-2024``."""
    code, _, years = str(season).partition(" ")
    name = _SEASON_NAMES.get(code)
    if name is None:
        return str(season)
    return f"Vụ {name[0]} {years}" if li == 0 else f"{name[1]} {years}"


def _districts(table: pd.DataFrame) -> list[str]:
    if "district" not in table:
        return []
    return [str(d) for d in pd.unique(table["district"].dropna())]


def _total_label(attr: str, table: pd.DataFrame, li: int) -> str:
    districts = _districts(table) if attr == "linkage_by_commune" else []
    if len(districts) == 1:
        kind = next((k for k in _DISTRICT_TOTALS if districts[0].lower().startswith(k)), None)
        if kind is not None:
            return (f"Toàn {kind}", "District total")[li]
    return _TOTAL[li]


def _grouped(attr: str, table: pd.DataFrame, li: int
             ) -> tuple[pd.DataFrame, list[tuple[object, ...]] | None]:
    """The sheet's rows in print order and each row's group labels (outer level first)."""
    if table.empty:
        return table, None
    if attr == "linkage_by_commune" and len(_districts(table)) > 1:
        order = {d: i for i, d in enumerate(_districts(table))}
        table = table.assign(_d=table["district"].map(order).fillna(len(order)))
        table = table.sort_values("_d", kind="stable").drop(columns="_d")
        return table, [(None if pd.isna(d) else str(d),) for d in table["district"]]

    def labels(col: str) -> list[object]:
        return list(table[col]) if col in table else [None] * len(table)

    if attr == "models":
        return table, [(None if _missing_value(se) else _season_title(se, li), sup)
                       for se, sup in zip(labels("season"), labels("support_label"),
                                          strict=True)]
    if attr == "works":
        return table, [(_investor_group(inv, li), st) for inv, st in
                       zip(labels("investor"), labels("status_label"), strict=True)]
    return table, None


def _printed(spec: _Print, table: pd.DataFrame, cols: Sequence[_Col]) -> list[_Col]:
    """The columns a sheet prints: without the dropped ones and the empty optional ones."""
    return [c for c in cols if c[0] not in spec.drop and not (
        c[0] in spec.optional and (c[0] not in table or table[c[0]].isna().all()))]


def _unit_line(spec: _Print, cols: Sequence[_Col], li: int) -> str:
    if spec.unit is not None:
        return spec.unit[li]
    money = next((c[1 + li] for c in cols if c[0] == "cost_million_vnd"), "")
    found = re.search(r"\(([^()]*)\)$", money)
    return ("ĐVT: ", "Unit: ")[li] + (found[1] if found else "")


def _items(table: pd.DataFrame, cols: Sequence[_Col]) -> list[list[object]]:
    return [[_cell(row.get(c[0])) for c in cols] for _, row in table.iterrows()]


def _counts(spec: _Print, cols: Sequence[_Col], li: int) -> list[tuple[int, str]]:
    keys = [c[0] for c in cols]
    return [(keys.index(k), _COUNT_FORMAT[li]) for k in spec.counts if k in keys]


def _table(ws: Any, spec: _Print, table: pd.DataFrame, cols: Sequence[_Col], li: int, *,
           widths: list[float], groups: list[tuple[object, ...]] | None = None,
           total_label: str | None = None) -> _print_layout.Table:
    """One table of a sheet through :func:`geoagri._print_layout.table`."""
    keys = [c[0] for c in cols]
    return _print_layout.table(
        ws, [c[1 + li] for c in cols], [_FORMATS[c[3]] for c in cols], _items(table, cols),
        sums=[keys.index(k) for k in spec.sums if k in keys],
        counts=_counts(spec, cols, li),
        ratios=[(keys.index(a), keys.index(b), keys.index(c), f) for a, b, c, f in spec.ratios
                if {a, b, c} <= set(keys)],
        label_col=keys.index(spec.label) if spec.label in keys else 0,
        total_label=(total_label or _TOTAL[li]) if spec.total and len(table) else None,
        groups=groups, widths=widths, number_header=_NUMBER[li])


def _write_sheet(ws: Any, attr: str, table: pd.DataFrame, cols: Sequence[_Col],
                 data: ReportData, li: int, notes: Sequence[str],
                 proposals: bool = False) -> None:
    """A sheet as it prints: title block, (summary: sentences), unit line, table, notes.

    Appendix IV has the proposals block under its table: heading, table with
    totals, and the sentence worded as in seed 000.
    """
    language = LANGUAGES[li]
    spec = _PRINTS[attr]
    table, groups = _grouped(attr, table, li)
    cols = _printed(spec, table, cols)
    widths = _print_layout.fit_widths([_NUMBER[li], *(c[1 + li] for c in cols)],
                                      _items(table, cols), counts=_counts(spec, cols, li))
    width = len(cols) + 1
    block = data.proposal_rows() if proposals else None
    if block is not None:
        more = _print_layout.fit_widths([_NUMBER[li], *(c[1 + li] for c in _PROPOSAL_COLS)],
                                        _items(block, _PROPOSAL_COLS))
        size = max(len(widths), len(more))
        widths = [max(a, b) for a, b in zip(widths + [0.0] * (size - len(widths)),
                                            more + [0.0] * (size - len(more)), strict=True)]
        width = max(width, len(_PROPOSAL_COLS) + 1)
    year = "" if data.year is None else (f" NĂM {data.year}", f", {data.year}")[li]
    _print_layout.title_block(ws, [spec.kicker[li], spec.title[li].format(year=year),
                                   _ATTACHED[li]], width=width, widths=widths)
    if attr == "summary":
        _print_layout.blank(ws)
        _print_layout.paragraphs(ws, [f"- {s}" for s in
                                      data.summary_sentences(language=language)],
                                 width=width, widths=widths)
        _print_layout.blank(ws)
    _print_layout.unit_line(ws, _unit_line(spec, cols, li), width=width)
    placed = _table(ws, spec, table, cols, li, widths=widths, groups=groups,
                    total_label=_total_label(attr, table, li))
    if attr != "summary":
        ws.freeze_panes = f"A{placed.header_row + 1}"
    if notes:
        _print_layout.blank(ws)
        _print_layout.paragraphs(ws, list(notes), width=width, widths=widths, italic=True)
    if block is not None:
        _print_layout.blank(ws)
        _print_layout.paragraphs(ws, [_PROPOSALS_HEADING[li]], width=width, widths=widths,
                                 bold=True)
        _table(ws, _PROPOSALS_PRINT, block, _PROPOSAL_COLS, li, widths=widths)
        _print_layout.paragraphs(ws, [data.proposals_sentence(language=language)],
                                 width=width, widths=widths, italic=True)
    _print_layout.column_widths(ws, widths)
    _print_layout.page_setup(ws, header_row=placed.header_row, footer=_FOOTER[li])


def write_report(
    results: ReportData,
    path: str | os.PathLike[str],
    *,
    language: str = "vi",
    tables_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Path]:
    """Write the report's workbook and every table as CSV.

    Parameters
    ----------
    results : ReportData
        From :func:`build_report_data` (or assembled by hand).
    path : path
        The ``.xlsx`` to write; its folder is created.  Written to a
        temporary file and moved into place, so a reader never sees half a
        workbook.
    language : {"vi", "en"}, default "vi"
        Sheet names, headers, labels and headline sentences (see the module
        docstring for the number style).
    tables_dir : path, optional
        Folder of the CSV tables; default ``tables/`` beside ``path``.

    Returns
    -------
    dict of str to Path
        ``"workbook"`` and one entry per table (``"summary"``,
        ``"appendix_1_linkage"``, ``"appendix_2_models"``, ``"appendix_3_works"``,
        ``"appendix_4_power_works"``, and ``"appendix_5_reform_lineage"`` when the
        results carry a lineage).

    Raises
    ------
    ValueError
        If ``language`` is unknown.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import pandas as pd
    >>> from openpyxl import load_workbook
    >>> p = pd.DataFrame([{"indicator": "linkage_area", "unit": "ha", "scope": "district",
    ...     "scope_id": "Huyện Vĩnh Hưng", "start_year": None, "year": 2024, "season": None,
    ...     "source": "resolution", "source_ref": None, "target": 21227.0,
    ...     "actual": 23865.0, "actual_year": 2024, "achieved_pct": 112.4,
    ...     "shortfall": 0.0, "note": ""}])
    >>> empty = pd.DataFrame()
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "r.xlsx"
    >>> files = write_report(ReportData(p, empty, empty, empty), out, language="en")
    >>> ws = load_workbook(files["workbook"])["Summary"]
    >>> ws["A1"].value, ws["A5"].value[:40], ws.print_title_rows
    ('SUMMARY', '- Production-linkage area in 2024: 23,86', '$8:$8')
    >>> ws["A9"].value, ws["K9"].value, ws["K9"].number_format, ws["L9"].value
    (1, 23865, '#,##0', 112.4)
    """
    li = _check_language(language)
    path = Path(path)
    tables_dir = Path(tables_dir) if tables_dir is not None else path.parent / "tables"
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    written: dict[str, Path] = {}
    csvs: list[tuple[Path, pd.DataFrame]] = []
    for attr, sheet_vi, sheet_en, csv, cols in _SHEETS:
        if attr == "lineage" and results.lineage is None:
            continue
        table = _sheet_table(attr, results, li, language)
        table, cols = _printed_units(table, cols, results.units, language)
        notes: list[str] = []
        if attr == "summary":
            notes = list(results.notes)
        proposals = attr == "power_works" and results.proposal_rows() is not None
        if attr == "power_works" and table.empty:
            notes = [(_NO_POWER_WORKS_NOTE if proposals else _EMPTY_POWER_NOTE)[li]]
        if attr == "lineage":
            notes = [_LINEAGE_NOTE[li]]
        ws = wb.create_sheet((sheet_vi, sheet_en)[li])
        _write_sheet(ws, attr, table, cols, results, li, notes, proposals)
        frame = pd.DataFrame({c[1 + li]: (table[c[0]] if c[0] in table else pd.Series(
            [None] * len(table), dtype=object)) for c in cols})
        csvs.append((tables_dir / f"{csv}.csv", frame))
        written[csv] = tables_dir / f"{csv}.csv"
    replace_file(path, wb.save)
    for target, frame in csvs:
        write_layer(frame, target)
    return {"workbook": path, **written}
