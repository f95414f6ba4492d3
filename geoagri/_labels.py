"""The one Vietnamese/English vocabulary of column, value and layer labels.

Maps (popups, legends, layer names), exports (QGIS legends, Google Earth
balloons) and the report (headers, status and investor labels) all name the
same columns and values; they take the words from here so that a status is
called the same thing on the map, in QGIS and in the workbook.  Terms follow
``GLOSSARY.md`` (e.g. *chủ đầu tư* for ``investor``, *có hỗ trợ ngân sách* /
*tự nhân rộng* for ``support``).

* :data:`FIELDS`: column → ``{"vi": ..., "en": ...}``; :data:`UNITS`: the
  unit of a column, by language, when it has one.
* :data:`VALUES`: vocabulary value (``"planned"``, ``"linkage"``,
  ``"province"``…) → labels; :data:`FIELD_VALUES`: values whose label depends
  on the column (``missing``: ``"power"`` is three-phase power, not a work
  type).
* :data:`LAYERS`: layer kind → title.

Module-specific wording (a map's layer names, a report's table headers built
from several columns) stays in its module.

Examples
--------
>>> label("investor", "vi"), label("investor", "en")
('Chủ đầu tư', 'Investor')
>>> label("yield_t_ha", "vi", unit=True)
'Năng suất (tấn/ha)'
>>> value_label("planned", "vi"), value_label("power", "en", field="missing")
('Chưa triển khai', 'Three-phase power')
>>> label("not_a_column", "vi")
'not_a_column'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FIELDS", "FIELD_VALUES", "LANGUAGES", "LAYERS", "UNITS", "VALUES", "carried_decimals",
           "format_number", "label", "layer_title", "printed_decimals", "unit", "value_label",
           "value_labels"]

#: Languages of the labels.
LANGUAGES = ("vi", "en")

_Labels = dict[str, dict[str, str]]


def _vi_en(**pairs: tuple[str, str]) -> _Labels:
    return {k: {"vi": vi, "en": en} for k, (vi, en) in pairs.items()}


#: Column → label.
FIELDS: _Labels = _vi_en(
    # places
    commune_id=("Mã xã", "Commune code"), commune_name=("Xã, thị trấn", "Commune"),
    district=("Huyện", "District"), province=("Tỉnh", "Province"),
    population=("Dân số", "Population"), cell=("Ô lưới", "Grid cell"),
    # ids and names
    zone_id=("Mã vùng", "Zone id"), model_id=("Mã mô hình", "Model id"),
    work_id=("Mã công trình", "Work id"), power_id=("Mã", "Id"),
    pump_id=("Mã trạm bơm", "Pump station id"), coop_id=("Mã HTX", "Cooperative id"),
    parcel_id=("Mã thửa", "Parcel id"),
    site_id=("Mã vị trí đề xuất", "Proposed site id"), line_id=("Mã", "Id"),
    gap_id=("Mã", "Id"), name=("Tên", "Name"),
    # classes
    zone_kind=("Loại vùng", "Zone kind"), work_type=("Loại công trình", "Type"),
    element=("Loại", "Element"), coop_type=("Loại hình", "Type"),
    crop=("Cây trồng", "Crop"), season=("Vụ", "Season"), support=("Hình thức", "Support"),
    land_use=("Loại đất", "Land use"), status=("Tình trạng", "Status"),
    reason=("Lý do", "Reason"), missing=("Hạ tầng còn thiếu", "Missing"),
    # who
    partner=("Doanh nghiệp liên kết", "Partner"), cooperative=("Hợp tác xã", "Cooperative"),
    investor=("Chủ đầu tư", "Investor"), members=("Thành viên", "Members"),
    # figures
    year=("Năm", "Year"), phases=("Số pha", "Phases"), voltage_kv=("Điện áp", "Voltage"),
    power_source=("Nguồn điện", "Power source"), capacity_m3_h=("Lưu lượng", "Capacity"),
    capacity_kva=("Công suất", "Capacity"), power_kw=("Công suất", "Power"),
    area_ha=("Diện tích", "Area"), declared_area_ha=("Diện tích khai báo", "Declared area"),
    served_area_ha=("Diện tích phục vụ", "Area served"),
    covered_ha=("Diện tích phục vụ", "Area served"),
    length_km=("Chiều dài", "Length"), yield_t_ha=("Năng suất", "Yield"),
    profit_vnd_ha=("Lợi nhuận", "Profit"), cost_vnd=("Kinh phí", "Cost"),
    station_cost_vnd=("Kinh phí trạm bơm", "Station cost"),
    connection_cost_vnd=("Kinh phí đường dây đấu nối", "Connection cost"),
    connection_length_km=("Đường dây đấu nối", "Connection line"),
    ha_per_billion_vnd=("Diện tích phục vụ trên 1 tỷ đồng", "Area served per billion VND"),
    state_share_pct=("Tỷ lệ vốn Nhà nước", "State share"), radius_m=("Bán kính", "Radius"),
    commune_area_ha=("Diện tích xã", "Commune area"),
    linkage_area_ha=("Diện tích liên kết", "Linkage area"),
    coverage_pct=("Tỷ lệ liên kết", "Linkage coverage"),
    n_parcels=("Số thửa", "Parcels"), n_features=("Số đối tượng", "Features"),
    # other columns of the canonical layers
    area_code=("Mã số vùng trồng", "Cultivation area code"),
    certification=("Chứng nhận", "Certification"), start_year=("Năm bắt đầu", "Start year"),
    commune_type=("Loại đơn vị hành chính", "Unit type"), note=("Ghi chú", "Note"),
    founded_year=("Năm thành lập", "Founded"), high_tech=("Ứng dụng công nghệ cao", "High tech"),
    value_chain=("Tham gia chuỗi giá trị", "In a value chain"),
    holder_id=("Mã chủ sử dụng đất", "Land holder id"),
)

#: Column → unit, by language (columns without one are not listed).
UNITS: _Labels = {
    **{c: {"vi": "ha", "en": "ha"} for c in (
        "area_ha", "declared_area_ha", "served_area_ha", "covered_ha", "commune_area_ha",
        "linkage_area_ha")},
    "length_km": {"vi": "km", "en": "km"}, "connection_length_km": {"vi": "km", "en": "km"},
    "ha_per_billion_vnd": {"vi": "ha/tỷ đồng", "en": "ha per billion VND"},
    "station_cost_vnd": {"vi": "đồng", "en": "VND"},
    "connection_cost_vnd": {"vi": "đồng", "en": "VND"}, "radius_m": {"vi": "m", "en": "m"},
    "voltage_kv": {"vi": "kV", "en": "kV"}, "capacity_kva": {"vi": "kVA", "en": "kVA"},
    "capacity_m3_h": {"vi": "m³/h", "en": "m³/h"}, "power_kw": {"vi": "kW", "en": "kW"},
    "yield_t_ha": {"vi": "tấn/ha", "en": "t/ha"},
    "profit_vnd_ha": {"vi": "đồng/ha", "en": "VND/ha"},
    "cost_vnd": {"vi": "đồng", "en": "VND"},
    "state_share_pct": {"vi": "%", "en": "%"}, "coverage_pct": {"vi": "%", "en": "%"},
}

#: Vocabulary value → label (statuses, kinds, crops, investors…).
VALUES: _Labels = _vi_en(
    # statuses (works, pumps, power, zones)
    planned=("Chưa triển khai", "Planned"), surveyed=("Đã khảo sát", "Surveyed"),
    designed=("Đã thiết kế, lập báo cáo KTKT", "Designed"),
    under_construction=("Đang thi công", "Under construction"),
    completed=("Hoàn thành", "Completed"), operating=("Đang hoạt động", "Operating"),
    out_of_service=("Hư hỏng", "Out of service"), existing=("Hiện có", "Existing"),
    active=("Đang thực hiện", "Active"), ended=("Kết thúc", "Ended"),
    # zone kinds and crops
    linkage=("Liên kết sản xuất", "Production linkage"),
    production=("Vùng sản xuất tập trung", "Concentrated production"),
    area_code=("Mã số vùng trồng", "Cultivation area code"),
    rice=("lúa", "rice"), lotus=("sen", "lotus"), vegetables=("rau màu", "vegetables"),
    fruit=("cây ăn trái", "fruit"), shrimp=("tôm", "shrimp"),
    # model support
    supported=("Có hỗ trợ ngân sách", "State-supported"),
    self=("Tự nhân rộng", "Self-replicated"),
    # work types and power
    canal=("Kênh", "Canal"), dyke=("Đê, bờ bao", "Dyke"), culvert=("Cống", "Culvert"),
    sluice=("Cống điều tiết, đập", "Sluice"), pump_station=("Trạm bơm", "Pump station"),
    bridge=("Cầu", "Bridge"), road=("Đường", "Road"), power=("Điện", "Power"),
    other=("Khác", "Other"), line=("Đường dây", "Line"),
    transformer=("Trạm biến áp", "Transformer"), three_phase=("Điện 3 pha", "Three-phase"),
    single_phase=("Điện 1 pha", "Single-phase"), diesel=("Máy dầu", "Diesel"),
    none=("Không có", "None"),
    # investors
    central=("Trung ương", "Central"), province=("Tỉnh", "Province"),
    district=("Huyện", "District"), commune=("Xã", "Commune"), people=("Nhân dân", "People"),
    enterprise=("Doanh nghiệp", "Enterprise"),
    # cooperative types
    htx=("Hợp tác xã", "Cooperative"), tht=("Tổ hợp tác", "Cooperative group"),
    hoi_quan=("Hội quán", "Farmers' club"),
    # certifications
    organic=("Hữu cơ", "Organic"),
    # booleans (as text)
    **{"True": ("Có", "Yes"), "False": ("Không", "No")},
)

#: Column → value → label, where a value means something else in that column.
FIELD_VALUES: dict[str, _Labels] = {
    "missing": _vi_en(
        pump=("Trạm bơm", "Pump service"), power=("Điện 3 pha", "Three-phase power"),
        both=("Trạm bơm và điện 3 pha", "Pump service and three-phase power")),
}

#: Layer kind → title.
LAYERS: _Labels = _vi_en(
    communes=("Ranh giới xã", "Communes"),
    zones=("Vùng liên kết, vùng sản xuất", "Linkage and production zones"),
    models=("Mô hình lúa ứng dụng công nghệ cao", "High-tech rice models"),
    works=("Công trình thủy lợi", "Irrigation works"),
    power=("Lưới điện", "Power lines and transformers"), pumps=("Trạm bơm", "Pump stations"),
    cooperatives=("Hợp tác xã, tổ hợp tác", "Cooperatives"), parcels=("Thửa đất", "Parcels"),
)


def _lang(language: str) -> str:
    if language not in LANGUAGES:
        from geoagri.errors import OptionError

        raise OptionError(f"language={language!r}; use 'vi' or 'en'")
    return language


def carried_decimals(value: float) -> int | None:
    """Decimals (0–2) a figure carries, float noise aside; None if more.

    Examples
    --------
    >>> carried_decimals(23183.8), carried_decimals(1597.93), carried_decimals(20911.7034)
    (1, 2, None)
    """
    for d in range(3):
        if abs(float(value) - round(float(value), d)) < 1e-9 * max(1.0, abs(float(value))):
            return d
    return None


def printed_decimals(value: float | None, unit: str) -> int:
    """Decimals a figure is printed with in a report's sentence.

    Those it carries (23.183,8 ha, 1.597,93 ha); else 0 for areas (``ha``),
    counts (no unit) and figures of 1.000 or more, and 1 for the others
    (32,6 triệu đồng/ha).  ``unit`` is the printed unit's label.

    Examples
    --------
    >>> printed_decimals(23864.99213, "ha"), printed_decimals(23183.8, "ha")
    (0, 1)
    >>> printed_decimals(26.923, "%"), printed_decimals(32.641, "triệu đồng/ha")
    (1, 1)
    """
    if value is None or pd.isna(value):
        return 0
    carried = carried_decimals(value)
    if carried is not None:
        return carried
    return 0 if unit.strip() in ("", "ha") or abs(value) >= 1000 else 1


def format_number(value: float | None, *, language: str = "vi", decimals: int = 0) -> str:
    """A number as text in a language's style: ``23.865`` / ``112,4`` (vi), ``23,865`` (en).

    The one number format of the map, the report and the exports.

    Parameters
    ----------
    value : float or None
        The number (``None`` or NaN gives ``"–"``; a value that rounds to zero
        is never written ``-0``).
    language : {"vi", "en"}, default "vi"
        ``"vi"`` groups thousands with ``.`` and marks decimals with ``,``.
    decimals : int, default 0
        Digits after the decimal separator (rounded half to even by Python's
        formatting: pass an already rounded ``achieved_pct``).

    Returns
    -------
    str

    Raises
    ------
    OptionError
        If the language is not ``"vi"`` or ``"en"``.

    Examples
    --------
    >>> format_number(23864.99), format_number(112.4, decimals=1)
    ('23.865', '112,4')
    >>> format_number(1234567.5, decimals=1, language="en"), format_number(-0.04, decimals=1)
    ('1,234,567.5', '0,0')
    >>> format_number(float("nan"))
    '–'
    """
    _lang(language)
    if value is None or pd.isna(value):
        return "–"
    text = f"{float(value):,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    if language == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def unit(field: str, language: str) -> str:
    """The unit of a column in a language (``"tấn/ha"``, ``"t/ha"``), or ``""``.

    Examples
    --------
    >>> unit("cost_vnd", "vi"), unit("cost_vnd", "en"), unit("crop", "vi")
    ('đồng', 'VND', '')
    """
    return UNITS.get(field, {}).get(_lang(language), "")


def label(field: str, language: str, *, unit: bool = False) -> str:
    """The label of a column in a language; the column's name if it has none.

    Parameters
    ----------
    field : str
        Column name (``"investor"``, ``"served_area_ha"``…).
    language : {"vi", "en"}
    unit : bool, default False
        Append the column's unit in parentheses, as table headers write it
        (``"Diện tích phục vụ (ha)"``).

    Returns
    -------
    str

    Raises
    ------
    OptionError
        If the language is not ``"vi"`` or ``"en"`` (a ``ValueError``).

    Examples
    --------
    >>> label("served_area_ha", "vi", unit=True), label("served_area_ha", "en")
    ('Diện tích phục vụ (ha)', 'Area served')
    >>> label("status", "fr")
    Traceback (most recent call last):
    ...
    geoagri.errors.OptionError: language='fr'; use 'vi' or 'en'
    """
    text = FIELDS.get(field, {}).get(_lang(language), field)
    u = UNITS.get(field, {}).get(language, "") if unit else ""
    return f"{text} ({u})" if u else text


def value_label(value: Any, language: str, *, field: str | None = None) -> str:
    """The label of a vocabulary value; the value as text if it has none; ``–`` if missing.

    Examples
    --------
    >>> value_label("under_construction", "vi"), value_label(True, "en")
    ('Đang thi công', 'Yes')
    >>> value_label("both", "vi", field="missing"), value_label(None, "vi")
    ('Trạm bơm và điện 3 pha', '–')
    >>> value_label("Kênh 3", "vi")
    'Kênh 3'
    """
    _lang(language)
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    key = str(value)
    found = FIELD_VALUES.get(field or "", {}).get(key) or VALUES.get(key)
    return found[language] if found else key


def value_labels(values: Iterable[Any], language: str, *,
                 field: str | None = None) -> dict[str, str]:
    """The text values that have a label of their own, with it: ``{value: label}``.

    What :func:`value_label` gives for each text value, keeping only those
    whose label differs from the value.  The values the vocabularies know are
    found by one ``isin`` over the column, so a column of 200,000 distinct ids
    costs no call per id.

    Examples
    --------
    >>> value_labels(["under_construction", "Kênh 3", "both", None], "en", field="missing")
    {'both': 'Pump service and three-phase power', 'under_construction': 'Under construction'}
    """
    _lang(language)
    known = set(VALUES) | set(FIELD_VALUES.get(field or "", {}))
    column = pd.Series(list(values) if not isinstance(values, np.ndarray) else values,
                       dtype=object)
    texts = set(column[column.isin(known)].tolist())  # the keys are text: so is each found
    found = {v: value_label(v, language, field=field) for v in sorted(texts)}
    return {v: lab for v, lab in found.items() if lab != v}


def layer_title(kind: str, language: str) -> str:
    """The title of a layer kind (``"Công trình thủy lợi"``); the kind if it has none.

    Examples
    --------
    >>> layer_title("works", "vi"), layer_title("pumps", "en")
    ('Công trình thủy lợi', 'Pump stations')
    """
    return LAYERS.get(kind, {}).get(_lang(language), kind)
