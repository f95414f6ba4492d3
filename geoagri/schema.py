"""One specification per layer kind: columns, types, vocabularies, units.

Every canonical column name carries its unit (``area_ha``, ``cost_vnd``,
``state_share_pct``, ``voltage_kv``).  Readers map the user's columns onto
these names (``rename=``); :mod:`geoagri.validate` checks a layer against its
spec and collects every problem before raising once.

Kinds: ``communes``, ``zones``, ``models``, ``works``, ``power``, ``pumps``,
``cooperatives``, ``parcels`` (geographic layers) and ``targets`` (a table).

Examples
--------
>>> from geoagri.schema import spec, KINDS
>>> "works" in KINDS
True
>>> s = spec("works")
>>> s.id_column
'work_id'
>>> s.columns["status"].vocabulary
('planned', 'surveyed', 'designed', 'under_construction', 'completed')
>>> s.columns["status"].canonical_value("thi công")
'under_construction'
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from geoagri.errors import SchemaError

__all__ = [
    "CROPS",
    "KINDS",
    "SEASON_CODES",
    "SEASON_PATTERN",
    "WORK_STATUSES",
    "Column",
    "LayerSpec",
    "canonical_season",
    "spec",
    "vocabulary_problems",
    "word_key",
]

#: The irrigation-work status pipeline, in order.
WORK_STATUSES = ("planned", "surveyed", "designed", "under_construction", "completed")

#: Season codes: the Mekong's ``DX`` (Đông Xuân, also the north's Xuân and Chiêm),
#: ``HT`` (Hè Thu), ``TD`` (Thu Đông), and the north's ``MUA`` (Mùa) and ``DONG`` (Đông).
SEASON_CODES = ("DX", "HT", "TD", "MUA", "DONG")

#: A season label: a season code and a year or a pair of years.
SEASON_PATTERN = re.compile(r"^(DX|HT|TD|MUA|DONG) (\d{4})(?:-(\d{4}))?$")

_SEASON_WORDS = {
    "dx": "DX", "dongxuan": "DX", "winterspring": "DX", "ws": "DX", "xuan": "DX",
    "chiem": "DX", "chiemxuan": "DX",
    "ht": "HT", "hethu": "HT", "summerautumn": "HT", "sa": "HT",
    "td": "TD", "thudong": "TD", "autumnwinter": "TD", "aw": "TD",
    "mua": "MUA", "dong": "DONG",
}

#: Crops: canonical (English) name → the words the documents use for it.
CROPS: dict[str, tuple[str, ...]] = {
    "rice": ("lúa", "lúa gạo", "lúa nước", "lúa chất lượng cao", "lúa CLC", "paddy"),
    "lotus": ("sen",), "vegetables": ("rau", "rau màu", "màu", "rau an toàn"),
    "fruit": ("cây ăn trái", "cây ăn quả", "trái cây"), "shrimp": ("tôm",),
    "maize": ("ngô", "bắp", "corn"), "sugarcane": ("mía",), "cassava": ("sắn", "khoai mì"),
    "coffee": ("cà phê",), "pepper": ("hồ tiêu", "tiêu"), "fish": ("cá",),
}


def word_key(text: str) -> str:
    """Comparison key of a word: casefolded, without diacritics (đ → d), letters and digits only.

    Examples
    --------
    >>> word_key("Đã Hoàn thành"), word_key("tr.đ")
    ('dahoanthanh', 'trd')
    """
    text = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def canonical_season(value: str) -> str | None:
    """Return the canonical season label, or ``None`` if it is not one.

    Accepts ``"DX 2023-2024"``, ``"Đông Xuân 2023-2024"``, ``"vụ Hè Thu 2024"``,
    ``"ht2024"``, ``"Thu Đông 2024"``, and the north's seasons: ``"vụ Xuân 2024"``
    and ``"Chiêm 2024"`` (winter–spring, ``DX``), ``"vụ Mùa 2024"`` (``MUA``),
    ``"vụ Đông 2024"`` (``DONG``).  Years are read the same way for all: one year,
    or two consecutive years (``"Đông 2024-2025"``).

    Parameters
    ----------
    value : str
        A season as written in a report or spreadsheet.

    Returns
    -------
    str or None
        ``"DX 2023-2024"``, ``"HT 2024"``, ... or ``None``.

    Examples
    --------
    >>> canonical_season("Vụ Đông xuân 2023-2024")
    'DX 2023-2024'
    >>> canonical_season("ht2024")
    'HT 2024'
    >>> canonical_season("Vụ Mùa 2024"), canonical_season("vụ Xuân 2025")
    ('MUA 2024', 'DX 2025')
    >>> canonical_season("spring") is None
    True
    """
    text = str(value).strip()
    years = re.findall(r"\d{4}", text)
    words = word_key(re.sub(r"\d{4}", " ", text))
    if words.startswith("vu"):
        words = words[2:]
    code = _SEASON_WORDS.get(words)
    if code is None or not 1 <= len(years) <= 2:
        return None
    if len(years) == 2:
        if int(years[1]) != int(years[0]) + 1:
            return None
        return f"{code} {years[0]}-{years[1]}"
    return f"{code} {years[0]}"


@dataclass(frozen=True)
class Column:
    """One canonical column of a layer kind.

    Parameters
    ----------
    name : str
        Canonical name, with its unit as a suffix where it has one.
    dtype : {"str", "float", "int", "bool", "season", "unit"}
        Type after canonicalisation (``unit``: a unit written as the
        documents write it, see :mod:`geoagri.units`).
    required : bool
        Whether the layer must have it.
    description : str
        What it holds, in words, with its unit.
    vocabulary : tuple of str, optional
        Allowed values; ``aliases`` maps other spellings (Vietnamese words,
        abbreviations) onto them.
    minimum, maximum : float, optional
        Allowed range, inclusive (e.g. ``0`` for areas and costs).
    closed : bool, default True
        Whether a value outside the vocabulary is an error; an open
        vocabulary (``crop``) maps the words it knows and keeps the others.
    plausible : (float, float), optional
        Range of plausible magnitudes, in the column's unit (absolute values;
        zeros are not checked): values outside it are reported unless the
        layer declares the column's unit.
    likely_units : tuple of str
        Units an implausible value is most likely written in, in order.
    """

    name: str
    dtype: str
    required: bool = False
    description: str = ""
    vocabulary: tuple[str, ...] | None = None
    aliases: Mapping[str, str] = field(default_factory=dict)
    minimum: float | None = None
    maximum: float | None = None
    closed: bool = True
    plausible: tuple[float, float] | None = None
    likely_units: tuple[str, ...] = ()

    @property
    def unit(self) -> str | None:
        """The unit code the column's name ends with (``"t_ha"`` for ``yield_t_ha``).

        Examples
        --------
        >>> spec("works").columns["cost_vnd"].unit, spec("works").columns["year"].unit
        ('vnd', None)
        """
        if self.dtype not in ("float", "int"):
            return None
        from geoagri.units import column_unit

        return column_unit(self.name)

    def canonical_value(self, value: object,
                        extra: Mapping[str, str] | None = None) -> str | None:
        """Map a vocabulary value written any way to its canonical form.

        Returns ``None`` when the value is not in the vocabulary (an open
        vocabulary returns the value as written, stripped).  ``extra`` maps a
        plan's own words onto the vocabulary (the ``[vocabulary]`` table).

        Examples
        --------
        >>> spec("models").columns["support"].canonical_value("Tự nhân rộng")
        'self'
        >>> spec("models").columns["support"].canonical_value("maybe") is None
        True
        >>> spec("zones").columns["crop"].canonical_value("Lúa")
        'rice'
        """
        if self.vocabulary is None:
            return str(value)
        key = word_key(str(value))
        for v in self.vocabulary:
            if word_key(v) == key:
                return v
        for alias, v in (*self.aliases.items(), *(extra or {}).items()):
            if word_key(alias) == key:
                return v
        return None if self.closed else str(value).strip()


@dataclass(frozen=True)
class LayerSpec:
    """The specification of one layer kind.

    Parameters
    ----------
    kind : str
        Kind name, e.g. ``"zones"``.
    id_column : str or None
        Column whose values must be unique and non-null (``None`` for targets,
        whose uniqueness is over ``key_columns``).
    columns : mapping of str to Column
        Canonical columns, required and optional.
    geometry_types : tuple of str or None
        Allowed shapely geometry types (multi-part variants included), or
        ``None`` for a table without geometry.
    description : str
        What the layer holds.
    key_columns : tuple of str
        Columns that together must be unique (defaults to the id column).
    """

    kind: str
    id_column: str | None
    columns: Mapping[str, Column]
    geometry_types: tuple[str, ...] | None
    description: str
    key_columns: tuple[str, ...] = ()

    @property
    def required(self) -> list[str]:
        """Names of the required columns."""
        return [c.name for c in self.columns.values() if c.required]

    @property
    def has_geometry(self) -> bool:
        """Whether the layer carries geometry."""
        return self.geometry_types is not None


def _cols(*columns: Column) -> dict[str, Column]:
    return {c.name: c for c in columns}


_COMMUNE_ID = Column("commune_id", "str", description="commune code (old or new namespace)")
_NAME = Column("name", "str", description="name as written locally")
_PARTNER = Column("partner", "str", description="partner enterprise (doanh nghiệp)")
_COOP = Column("cooperative", "str", description="cooperative (HTX/THT) name")
_YEAR = Column("year", "int", description="calendar year", minimum=1900, maximum=2100)
_SEASON = Column("season", "season", description="season, e.g. 'DX 2023-2024', 'HT 2024'")
_AREA_UNITS = ("m²", "công", "sào Bắc Bộ", "sào Trung Bộ")


def _declared(largest_ha: float) -> Column:
    return Column("declared_area_ha", "float", description="area stated in the source, ha",
                  minimum=0, plausible=(0, largest_ha), likely_units=_AREA_UNITS)


_CROP = Column("crop", "str", description="crop, e.g. 'rice', 'lotus', 'vegetables'",
               vocabulary=tuple(CROPS), closed=False,
               aliases={w: crop for crop, words in CROPS.items() for w in words})
_SERVED = Column("served_area_ha", "float", description="area the work serves, ha", minimum=0,
                 plausible=(0, 1e5), likely_units=_AREA_UNITS)

_SPECS: dict[str, LayerSpec] = {}


def _add(s: LayerSpec) -> None:
    _SPECS[s.kind] = s


_add(LayerSpec(
    "communes", "commune_id",
    _cols(
        Column("commune_id", "str", True, "official commune code, e.g. '27784'"),
        Column("commune_name", "str", True, "commune name, e.g. 'Xã Tuyên Bình Tây'"),
        Column("district", "str", description="district (huyện) name, before 1 July 2025"),
        Column("province", "str", description="province (tỉnh) name"),
        Column("commune_type", "str", description="xã / phường / thị trấn"),
        Column("population", "int", description="inhabitants", minimum=0),
    ),
    ("Polygon", "MultiPolygon"),
    "Commune (xã, phường, thị trấn) boundaries.",
))

_add(LayerSpec(
    "zones", "zone_id",
    _cols(
        Column("zone_id", "str", True, "zone identifier"),
        Column(
            "zone_kind", "str", True, "linkage / production / area_code",
            vocabulary=("linkage", "production", "area_code"),
            aliases={"liên kết sản xuất": "linkage", "lksx": "linkage",
                     "liên kết": "linkage", "liên kết tiêu thụ": "linkage",
                     "liên kết sản xuất và tiêu thụ": "linkage", "vùng sản xuất": "production",
                     "vùng nguyên liệu": "production", "mã số vùng trồng": "area_code",
                     "msvt": "area_code"},
        ),
        _CROP,
        _SEASON,
        _PARTNER,
        _COOP,
        Column("status", "str", description="active / planned / ended",
               vocabulary=("active", "planned", "ended"),
               aliases={"đang thực hiện": "active", "hiện hữu": "active",
                        "đang hoạt động": "active", "kế hoạch": "planned",
                        "kết thúc": "ended", "đã kết thúc": "ended",
                        "ngừng": "ended", "đã ngừng": "ended"}),
        Column("area_code", "str", description="cultivation area code (mã số vùng trồng)"),
        Column("certification", "str", description="VietGAP, GlobalGAP, SRP, organic…"),
        Column("start_year", "int", description="first year of the linkage",
               minimum=1900, maximum=2100),
        _COMMUNE_ID,
        _declared(2e5),
    ),
    ("Polygon", "MultiPolygon"),
    "Production-linkage zones, concentrated production zones and area codes.",
))

_add(LayerSpec(
    "models", "model_id",
    _cols(
        Column("model_id", "str", True, "model identifier"),
        Column("season", "season", True, "season, e.g. 'HT 2024'"),
        Column("support", "str", True, "supported (state budget) / self (self-replicated)",
               vocabulary=("supported", "self"),
               aliases={"có hỗ trợ": "supported", "hỗ trợ": "supported",
                        "ngân sách": "supported", "tự nhân rộng": "self",
                        "tự duy trì": "self", "không hỗ trợ": "self"}),
        replace(_CROP, description="crop, 'rice' by default"),
        _declared(1e4),
        Column("yield_t_ha", "float", description="yield, t/ha (1 tạ/ha = 0.1 t/ha)",
               minimum=0, plausible=(1, 15), likely_units=("tạ/ha", "kg/ha")),
        Column("profit_vnd_ha", "float", description="profit, VND/ha (may be negative)",
               plausible=(1e5, 1e9), likely_units=("triệu đồng/ha", "nghìn đồng/ha")),
        _COOP,
        _COMMUNE_ID,
    ),
    ("Polygon", "MultiPolygon"),
    "High-tech rice models (mô hình lúa ứng dụng công nghệ cao) and replicated areas.",
))

_add(LayerSpec(
    "works", "work_id",
    _cols(
        Column("work_id", "str", True, "work identifier"),
        Column("work_type", "str", True, "canal / dyke / culvert / sluice / pump_station / …",
               vocabulary=("canal", "dyke", "culvert", "sluice", "pump_station", "bridge",
                           "road", "power", "other"),
               aliases={"kênh": "canal", "kênh mương": "canal", "đê": "dyke", "bờ bao": "dyke",
                        "cống": "culvert", "đập": "sluice", "trạm bơm": "pump_station",
                        "cầu": "bridge", "đường": "road", "điện": "power",
                        "điện 3 pha": "power", "điện ba pha": "power",
                        "đường dây": "power", "đường dây điện": "power",
                        "trạm biến áp": "power", "công trình điện": "power"}),
        Column("status", "str", True, " → ".join(WORK_STATUSES), vocabulary=WORK_STATUSES,
               aliases={"kế hoạch": "planned", "chưa triển khai": "planned",
                        "chưa có vốn": "planned", "chưa bố trí vốn": "planned",
                        "khảo sát": "surveyed", "đã khảo sát": "surveyed",
                        "thiết kế": "designed", "đã thiết kế": "designed",
                        "đã khảo sát thiết kế": "designed",
                        "đã khảo sát, thiết kế": "designed",
                        "báo cáo ktkt": "designed", "lập báo cáo ktkt": "designed",
                        "đã lập báo cáo ktkt": "designed",
                        "lập báo cáo kinh tế kỹ thuật": "designed",
                        "thi công": "under_construction",
                        "đang thi công": "under_construction",
                        "hoàn thành": "completed", "đã hoàn thành": "completed"}),
        Column("investor", "str", description="investor level: province / district / commune",
               vocabulary=("central", "province", "district", "commune", "people",
                           "enterprise"),
               aliases={"tỉnh": "province", "huyện": "district", "xã": "commune",
                        "trung ương": "central", "nhân dân": "people",
                        "doanh nghiệp": "enterprise", "ngành điện": "enterprise",
                        "điện lực": "enterprise", "evn": "enterprise"}),
        Column("cost_vnd", "float", description="total investment, VND", minimum=0,
               plausible=(1e7, 1e13), likely_units=("triệu đồng", "tỷ đồng", "nghìn đồng")),
        Column("state_share_pct", "float", description="state share of cost, %",
               minimum=0, maximum=100),
        _NAME,
        _YEAR,
        _SERVED,
        _COMMUNE_ID,
    ),
    ("Point", "MultiPoint", "LineString", "MultiLineString"),
    "Irrigation works (công trình thủy lợi), points or lines.",
))

_add(LayerSpec(
    "power", "power_id",
    _cols(
        Column("power_id", "str", True, "line or transformer identifier"),
        Column("element", "str", True, "line / transformer",
               vocabulary=("line", "transformer"),
               aliases={"đường dây": "line", "trạm biến áp": "transformer", "tba": "transformer"}),
        Column("voltage_kv", "float", True, "nominal voltage, kV", minimum=0,
               plausible=(0.1, 1000), likely_units=("V",)),
        Column("phases", "int", True, "1 or 3", minimum=1, maximum=3),
        Column("status", "str", description="existing / planned / under_construction",
               vocabulary=("existing", "planned", "under_construction"),
               aliases={"hiện có": "existing", "hiện hữu": "existing",
                        "kế hoạch": "planned", "chưa có vốn": "planned",
                        "đang thi công": "under_construction"}),
        Column("capacity_kva", "float", description="transformer capacity, kVA", minimum=0),
        _NAME,
    ),
    ("LineString", "MultiLineString", "Point"),
    "Power lines (with voltage and phases) and transformers.",
))

_add(LayerSpec(
    "pumps", "pump_id",
    _cols(
        Column("pump_id", "str", True, "pump-station identifier"),
        Column("capacity_m3_h", "float", description="pumping capacity, m³/h", minimum=0,
               plausible=(5, 5e5), likely_units=("m³/s",)),
        Column("power_kw", "float", description="installed power, kW", minimum=0),
        Column("status", "str", True, "operating / planned / under_construction / out_of_service",
               vocabulary=("operating", "planned", "under_construction", "out_of_service"),
               aliases={"đang hoạt động": "operating", "hoạt động": "operating",
                        "hiện hữu": "operating", "hiện có": "operating",
                        "kế hoạch": "planned", "chưa có vốn": "planned",
                        "đang thi công": "under_construction",
                        "hư hỏng": "out_of_service"}),
        Column("power_source", "str", description="three_phase / single_phase / diesel",
               vocabulary=("three_phase", "single_phase", "diesel", "none"),
               aliases={"điện 3 pha": "three_phase", "3 pha": "three_phase",
                        "điện 1 pha": "single_phase", "1 pha": "single_phase",
                        "dầu": "diesel", "máy dầu": "diesel"}),
        replace(_SERVED, description="design service area, ha"),
        _NAME,
        _COMMUNE_ID,
    ),
    ("Point", "MultiPoint"),
    "Pump stations (trạm bơm).",
))

_add(LayerSpec(
    "cooperatives", "coop_id",
    _cols(
        Column("coop_id", "str", True, "cooperative identifier"),
        Column("name", "str", True, "name, e.g. 'HTX Nông nghiệp Tuyên Bình Tây'"),
        Column("coop_type", "str", True, "htx (cooperative) / tht (group) / hoi_quan (club)",
               vocabulary=("htx", "tht", "hoi_quan"),
               aliases={"hợp tác xã": "htx", "tổ hợp tác": "tht", "hội quán": "hoi_quan",
                        "chi nhánh htx": "htx", "chi nhánh hợp tác xã": "htx",
                        "tổ": "tht", "tổ liên kết": "tht",
                        "cooperative": "htx", "cooperative group": "tht",
                        "farmers club": "hoi_quan"}),
        Column("members", "int", description="members (households or persons)", minimum=0),
        _PARTNER,
        Column("high_tech", "bool", description="applies high-tech production"),
        Column("value_chain", "bool", description="part of a value chain / linkage"),
        Column("founded_year", "int", description="year founded", minimum=1900, maximum=2100),
        _COMMUNE_ID,
    ),
    ("Point", "MultiPoint"),
    "Cooperatives (HTX), cooperative groups (THT) and farmers' clubs (hội quán).",
))

_add(LayerSpec(
    "parcels", "parcel_id",
    _cols(
        Column("parcel_id", "str", True, "parcel identifier"),
        Column("holder_id", "str", description="household or holder identifier"),
        Column("land_use", "str", description="land-use code or crop, e.g. 'LUC' (rice)"),
        _SEASON,
        Column("support", "str", description="supported / self",
               vocabulary=("supported", "self")),
        _declared(500),
        _COMMUNE_ID,
    ),
    ("Polygon", "MultiPolygon"),
    "Land parcels or holdings.",
))

_add(LayerSpec(
    "targets", None,
    _cols(
        Column("indicator", "str", True, "what is counted, e.g. 'linkage_area'"),
        Column("unit", "unit", True, "unit of the target, as the documents write it "
               "(ha, tạ/ha, triệu đồng, %, HTX, hộ…); converted to the unit of its "
               "dimension (ha, t_ha, vnd, vnd_ha, pct, count…)"),
        Column("scope", "str", True, "province / district / commune",
               vocabulary=("province", "district", "commune"),
               aliases={"tỉnh": "province", "huyện": "district", "xã": "commune"}),
        Column("scope_id", "str", True, "name or code of the scope unit"),
        Column("year", "int", True, "target year (end of the period)",
               minimum=1900, maximum=2100),
        Column("source", "str", True, "resolution / plan / roadmap / province_assigned",
               vocabulary=("resolution", "plan", "roadmap", "province_assigned"),
               aliases={"nghị quyết": "resolution", "nq": "resolution",
                        "kế hoạch": "plan", "kh": "plan", "lộ trình": "roadmap",
                        "tỉnh giao": "province_assigned"}),
        Column("target", "float", True, "target value, in `unit` (converted with it)",
               minimum=0),
        Column("start_year", "int", description="first year of a cumulative (lũy kế) target",
               minimum=1900, maximum=2100),
        Column("season", "season", description="season the target is for"),
        Column("source_ref", "str", description="document, e.g. 'NQ 36/NQ-HĐND 30/6/2022'"),
    ),
    None,
    "Plan targets: indicator, unit, scope, year or period, source and value.",
    key_columns=("indicator", "scope", "scope_id", "year", "start_year", "season", "source"),
))

_add(LayerSpec(
    "villages", "village_id",
    _cols(
        Column("village_id", "str", True, "village code or identifier"),
        Column("village_name", "str", True, "village name, e.g. 'Thôn Phú Khê', 'Ấp 3'"),
        Column("commune_id", "str", True, "code of the commune the village belongs to"),
        Column("village_type", "str", description="thôn / ấp / bản / tổ dân phố / khóm"),
        Column("population", "int", description="inhabitants", minimum=0),
    ),
    ("Polygon", "MultiPolygon"),
    "Villages (thôn, ấp, bản, tổ dân phố) below the commune, for plans that report by "
    "village; area_by_zone(zones, villages, level=\"village\").",
))

_add(LayerSpec(
    "statistics", None,
    _cols(
        replace(_COMMUNE_ID, description="commune code of the row; empty for a district row"),
        Column("district", "str", description="district (name or code) of a district row"),
        _YEAR,
        _SEASON,
        _CROP,
    ),
    None,
    "Statistics without geometry, by commune or district and year (sown area by season, "
    "output value, households…): any numeric columns, named with their unit "
    "(sown_area_ha, output_value_vnd), summed by indicators (docs/indicators.md).",
))

#: The layer kinds, in the order a plan lists them.
KINDS: tuple[str, ...] = tuple(_SPECS)


def vocabulary_problems(vocabulary: Mapping[str, Mapping[str, str]]) -> list[str]:
    """What is wrong with a plan's own words (its ``[vocabulary]`` table).

    Each entry maps a column name to ``{word: canonical value}``; the column
    must have a vocabulary in some kind, and the value must be one of it.

    Returns
    -------
    list of str
        One message per wrong entry (empty when all are right).

    Examples
    --------
    >>> vocabulary_problems({"status": {"chưa có vốn": "planned"}})
    []
    >>> vocabulary_problems({"status": {"xong": "done"}})  # doctest: +ELLIPSIS
    ["[vocabulary] status: 'xong' = 'done' is not a status; allowed: active, ..."]
    """
    out = []
    for column, words in vocabulary.items():
        allowed: list[str] = []
        for kind in KINDS:
            col = _SPECS[kind].columns.get(column)
            if col is not None and col.vocabulary is not None:
                allowed += [v for v in col.vocabulary if v not in allowed]
        if not allowed:
            out.append(f"[vocabulary] {column}: no layer kind has a column {column!r} with a "
                       "vocabulary; columns with one: " + ", ".join(sorted(
                           {c.name for k in KINDS for c in _SPECS[k].columns.values()
                            if c.vocabulary is not None})))
            continue
        if not isinstance(words, Mapping):
            out.append(f"[vocabulary] {column} must be a table like "
                       f'{{ "your word" = "{allowed[0]}" }}')
            continue
        for word, value in words.items():
            if value not in allowed:
                out.append(f"[vocabulary] {column}: {word!r} = {value!r} is not a {column}; "
                           f"allowed: {', '.join(allowed)}")
    return out


def spec(kind: str) -> LayerSpec:
    """Return the specification of a layer kind.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.

    Raises
    ------
    SchemaError
        If the kind is unknown; the message lists the known kinds.

    Examples
    --------
    >>> spec("pumps").required
    ['pump_id', 'status']
    """
    try:
        return _SPECS[kind]
    except KeyError:
        raise SchemaError(
            f"unknown layer kind {kind!r}; known kinds are: {', '.join(KINDS)}"
        ) from None
