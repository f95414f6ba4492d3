"""Quantities and units: the units the programme documents write, read with pint.

Every canonical numeric column carries its unit in its name (``area_ha``,
``cost_vnd``, ``yield_t_ha``, ``capacity_m3_h``): :func:`column_unit` reads it
from the suffix, so the unit of a column is stated in one place, its name in
:mod:`geoagri.schema`.  Office files write other units — *triệu đồng*, *tạ/ha*,
*m²*, *sào*, *công* — and :func:`conversion_factor` says how many canonical
units one office unit is.  The registry is a :mod:`pint` ``UnitRegistry`` with
these units added:

============================ ======================================================
written                      meaning
============================ ======================================================
ha, m², m2, km²              hectare (10.000 m²), square metre, square kilometre
sào Bắc Bộ                   360 m² (the north)
sào Trung Bộ                 500 m² (the centre)
công, sào Nam Bộ             1.000 m² (the Mekong delta)
kg, tạ, tấn (t)              kilogram, 100 kg, 1.000 kg
tạ/ha, tấn/ha, kg/ha         yields (1 tạ/ha = 0,1 t/ha)
đồng (đ, VND)                the currency; nghìn / triệu (tr.đ) / tỷ đồng = 10³ / 10⁶ / 10⁹
triệu đồng/ha                money per hectare
%                            percent
m³, m³/h, kW, kVA, kV, km    volume, pumping capacity, power, voltage, length
HTX, THT (tổ), hộ, con,      counts: cooperatives, cooperative groups, households,
mô hình, công trình,         head of livestock, models, works, farmers' clubs;
hội quán, count (số)         ``count`` is any of them
============================ ======================================================

A bare *sào* is refused: it is 360, 500 or 1.000 m² depending on the region.
Words are matched without case, accents, spaces or dots (``"trieu dong"``,
``"Triệu đồng"`` and ``"tr.đ"`` are the same unit).  Counts have dimensions of
their own, so a count is never compared with an area; a count of one kind
(``HTX``) is compatible with the generic ``count`` but not with another kind
(``hộ``).

Examples
--------
>>> conversion_factor("tạ/ha", "t_ha")
0.1
>>> conversion_factor("triệu đồng", "vnd")
1000000.0
>>> conversion_factor("m²", "ha"), conversion_factor("công", "ha")
(0.0001, 0.1)
>>> compatible("ha", "HTX"), compatible("HTX", "count"), compatible("tổ", "THT")
(False, True, True)
>>> unit_code("tỷ đồng"), unit_code("tạ/ha"), unit_code("hộ")
('vnd', 't_ha', 'hộ')
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable

import numpy as np
import pint

from geoagri.errors import OptionError, UnitError
from geoagri.schema import word_key

__all__ = [
    "CODES",
    "COUNT_UNITS",
    "code_or_none",
    "column_unit",
    "compatible",
    "conversion_factor",
    "convert",
    "customary",
    "dimension_name",
    "header_unit",
    "is_count",
    "is_intensive",
    "parse_unit",
    "unit_code",
]

#: Canonical unit codes (the suffixes of canonical column names) → pint expression.
CODES: dict[str, str] = {
    "ha": "hectare", "m2": "meter ** 2", "km2": "kilometer ** 2", "m": "meter",
    "km": "kilometer", "t": "tonne", "t_ha": "tonne / hectare", "kg_ha": "kilogram / hectare",
    "vnd": "dong", "vnd_ha": "dong / hectare", "pct": "percent", "m3": "meter ** 3",
    "m3_h": "meter ** 3 / hour", "kw": "kilowatt", "kva": "kilovolt_ampere",
    "kv": "kilovolt", "count": "so_luong",
}

#: Count units: written name → pint unit (each kind its own dimension; ``count`` any).
COUNT_UNITS: dict[str, str] = {
    "count": "so_luong", "HTX": "unit_htx", "THT": "unit_tht", "hộ": "unit_ho",
    "con": "unit_con", "mô hình": "unit_mo_hinh", "công trình": "unit_cong_trinh",
    "hội quán": "unit_hoi_quan",
}

_COUNT_DIMENSIONS = {
    "so_luong": ("count", "count"), "unit_htx": ("cooperative", "cooperatives (HTX)"),
    "unit_tht": ("cooperative_group", "cooperative groups (THT, tổ)"),
    "unit_ho": ("household", "households (hộ)"), "unit_con": ("head", "head of livestock (con)"),
    "unit_mo_hinh": ("model", "models (mô hình)"),
    "unit_cong_trinh": ("work", "works (công trình)"),
    "unit_hoi_quan": ("club", "farmers' clubs (hội quán)"),
}

_DEFINITIONS = (
    "dong = [currency] = VND",
    "nghin_dong = 1e3 dong", "trieu_dong = 1e6 dong", "ty_dong = 1e9 dong",
    "ta = 100 kilogram",
    "sao_bac_bo = 360 meter ** 2", "sao_trung_bo = 500 meter ** 2",
    "cong_dat = 1000 meter ** 2",
    *(f"{name} = [{dim}]" for name, (dim, _) in _COUNT_DIMENSIONS.items()),
)

#: Office spellings, folded (no case, accents, spaces or dots) → pint expression.
_WORDS: dict[str, str] = {
    # area
    "ha": "hectare", "hecta": "hectare", "hectare": "hectare", "hectares": "hectare",
    "m2": "meter ** 2", "metvuong": "meter ** 2", "km2": "kilometer ** 2",
    "saobacbo": "sao_bac_bo", "saobb": "sao_bac_bo", "saotrungbo": "sao_trung_bo",
    "saotb": "sao_trung_bo", "saonambo": "cong_dat", "saonb": "cong_dat", "cong": "cong_dat",
    "congdat": "cong_dat",
    # mass
    "kg": "kilogram", "ta": "ta", "tan": "tonne", "t": "tonne", "tonne": "tonne",
    "tonnes": "tonne",
    # money
    "d": "dong", "dong": "dong", "vnd": "dong", "nghindong": "nghin_dong",
    "ngandong": "nghin_dong", "trieudong": "trieu_dong", "trieu": "trieu_dong",
    "trd": "trieu_dong", "tr": "trieu_dong", "trieuvnd": "trieu_dong",
    "millionvnd": "trieu_dong", "tydong": "ty_dong", "tidong": "ty_dong", "ty": "ty_dong",
    "tyvnd": "ty_dong", "billionvnd": "ty_dong",
    # shares
    "pct": "percent", "percent": "percent", "phantram": "percent",
    # others
    "m3": "meter ** 3", "h": "hour", "gio": "hour", "s": "second", "giay": "second",
    "kw": "kilowatt", "w": "watt", "kva": "kilovolt_ampere", "kv": "kilovolt", "v": "volt",
    "km": "kilometer", "m": "meter",
    # counts
    "count": "so_luong", "so": "so_luong", "number": "so_luong", "cai": "so_luong",
    "htx": "unit_htx", "hoptacxa": "unit_htx", "tht": "unit_tht", "to": "unit_tht",
    "tohoptac": "unit_tht", "ho": "unit_ho", "hogiadinh": "unit_ho", "con": "unit_con",
    "mohinh": "unit_mo_hinh", "mh": "unit_mo_hinh", "congtrinh": "unit_cong_trinh",
    "ct": "unit_cong_trinh", "hoiquan": "unit_hoi_quan",
}

#: Multiplier words written before a unit (``nghìn tấn``, ``triệu m3``).
_MULTIPLIERS = {"nghin": 1e3, "ngan": 1e3, "trieu": 1e6, "ty": 1e9, "ti": 1e9}

#: Canonical code of each dimension (for units that are not counts).
_DIMENSION_CODES = ("ha", "km", "t", "t_ha", "vnd", "vnd_ha", "pct", "m3", "m3_h", "kw", "kv")

_DIMENSION_NAMES = {
    "ha": "area", "km": "length", "t": "mass", "t_ha": "yield (mass per area)",
    "vnd": "money", "vnd_ha": "money per area", "pct": "percentage", "m3": "volume",
    "m3_h": "flow (volume per time)", "kw": "power", "kv": "voltage",
}

_SUFFIXES = sorted(CODES, key=len, reverse=True)


@functools.cache
def registry() -> pint.UnitRegistry:
    """The unit registry: pint's units and the documents' (built once, on first use).

    Examples
    --------
    >>> str(registry()("2 sao_bac_bo").to("meter ** 2"))
    '720 meter ** 2'
    """
    reg = _pint_registry()
    for line in _DEFINITIONS:
        reg.define(line)
    return reg


def _pint_registry() -> pint.UnitRegistry:
    """pint's registry, its definitions parsed once per machine into geoagri's cache
    folder (pint's own cache, ``<cache>/pint``: 0,03 s instead of 0,15 s at first use);
    parsed afresh where the folder cannot be written or read."""
    from geoagri.datasets import cache_root

    try:
        folder = cache_root() / "pint"
        folder.mkdir(parents=True, exist_ok=True)
        return pint.UnitRegistry(cache_folder=folder)
    except Exception:  # an unwritable or damaged cache: pint parses its files itself
        return pint.UnitRegistry()


def _accepted() -> str:
    return ("ha, m², km², sào Bắc Bộ, sào Trung Bộ, công (sào Nam Bộ), kg, tạ, tấn, tạ/ha, "
            "tấn/ha, đồng, nghìn/triệu/tỷ đồng, triệu đồng/ha, %, m³, m³/h, kW, kVA, kV, km, "
            "and counts: " + ", ".join(COUNT_UNITS))


def _part(text: str, whole: str) -> pint.Quantity:
    """One side of a ``/``: a unit word, possibly after a multiplier word."""
    reg = registry()
    raw = text.strip().replace("²", "2").replace("³", "3")
    if raw == "%":
        return reg.Quantity(1, "percent")
    key = word_key(raw)
    if key in ("sao",):
        raise UnitError(
            f"unit {whole!r}: a sào is 360 m² in the north, 500 m² in the centre and "
            "1.000 m² in the south; write 'sào Bắc Bộ', 'sào Trung Bộ' or 'công' (sào Nam Bộ)")
    if key in _WORDS:
        return reg.Quantity(1, _WORDS[key])
    for word, factor in _MULTIPLIERS.items():
        if key.startswith(word) and key[len(word):] in _WORDS:
            return reg.Quantity(factor, _WORDS[key[len(word):]])
    raise UnitError(f"unit {whole!r} is not understood ({text.strip()!r}); units accepted: "
                    f"{_accepted()}")


@functools.cache
def parse_unit(text: str) -> pint.Quantity:
    """One unit written as the documents write it, as a pint quantity of 1 such unit.

    Parameters
    ----------
    text : str
        ``"triệu đồng"``, ``"trieu dong"``, ``"tr.đ"``, ``"tạ/ha"``, ``"m2"``,
        ``"m²"``, ``"công"``, ``"HTX"``, or a canonical code (``"t_ha"``).

    Returns
    -------
    pint.Quantity
        E.g. ``1e6 dong`` for ``"triệu đồng"``.

    Raises
    ------
    UnitError
        If a word is not a unit (the message lists the accepted ones), or the
        unit is a bare *sào* (the region decides its size).

    Examples
    --------
    >>> parse_unit("Triệu đồng/ha").to("dong / hectare").magnitude
    1000000.0
    >>> parse_unit("sào")
    Traceback (most recent call last):
    ...
    geoagri.errors.UnitError: unit 'sào': a sào is 360 m² in the north, 500 m² in the \
centre and 1.000 m² in the south; write 'sào Bắc Bộ', 'sào Trung Bộ' or 'công' (sào Nam Bộ)
    """
    reg = registry()
    written = unicodedata.normalize("NFC", str(text)).strip()
    if written in CODES:
        return reg.Quantity(1, CODES[written])
    if written in COUNT_UNITS:
        return reg.Quantity(1, COUNT_UNITS[written])
    if not written:
        raise UnitError(f"an empty unit; units accepted: {_accepted()}")
    parts = written.split("/")
    if len(parts) > 2 or not all(p.strip() for p in parts):
        raise UnitError(f"unit {written!r} is not understood; write one unit, or one "
                        "per another (tạ/ha); units accepted: " + _accepted())
    out = _part(parts[0], written)
    if len(parts) == 2:
        out = out / _part(parts[1], written)
    return out


def _count_name(q: pint.Quantity) -> str | None:
    """The count unit of a quantity that is a count, else ``None``."""
    dims = dict(q.dimensionality)
    if len(dims) != 1:
        return None
    (dim, power), = dims.items()
    for name, (d, _) in _COUNT_DIMENSIONS.items():
        if dim == f"[{d}]" and power == 1:
            return name
    return None


def is_count(unit: str) -> bool:
    """Whether a unit counts things (HTX, hộ, count…).

    Examples
    --------
    >>> is_count("tổ"), is_count("ha")
    (True, False)
    """
    return _count_name(parse_unit(unit)) is not None


def compatible(a: str, b: str) -> bool:
    """Whether two units measure the same thing (so one converts to the other).

    A count of a kind (``HTX``) is compatible with itself and with the
    generic ``count``; areas, masses, money and counts never mix.

    Examples
    --------
    >>> compatible("tạ/ha", "t_ha"), compatible("ha", "count"), compatible("hộ", "HTX")
    (True, False, False)
    """
    qa, qb = parse_unit(a), parse_unit(b)
    ca, cb = _count_name(qa), _count_name(qb)
    if ca is not None and cb is not None:
        return ca == cb or "so_luong" in (ca, cb)
    return qa.dimensionality == qb.dimensionality


def conversion_factor(from_unit: str, to_unit: str) -> float:
    """How many ``to_unit`` one ``from_unit`` is.

    Raises
    ------
    UnitError
        If the units measure different things (the message names both).

    Examples
    --------
    >>> conversion_factor("tỷ đồng", "triệu đồng")
    1000.0
    >>> conversion_factor("ha", "count")
    Traceback (most recent call last):
    ...
    geoagri.errors.UnitError: 'ha' (area) cannot be converted to 'count' (count)
    """
    if not compatible(from_unit, to_unit):
        raise UnitError(f"{from_unit!r} ({dimension_name(from_unit)}) cannot be converted to "
                        f"{to_unit!r} ({dimension_name(to_unit)})")
    qa, qb = parse_unit(from_unit), parse_unit(to_unit)
    if _count_name(qa) is not None:
        factor = qa.magnitude / qb.magnitude
    else:
        factor = qa.to(qb.units).magnitude / qb.magnitude
    return float(f"{factor:.15g}")  # 360 m² is 0.036 ha, not 0.036000000000000004


def unit_code(unit: str) -> str:
    """The canonical code of a unit's dimension: what a value is converted to.

    ``ha`` for areas, ``vnd`` for money, ``t_ha`` for yields, ``vnd_ha``
    for money per hectare, ``pct`` for shares, the count's own name for
    counts (``HTX``, ``hộ``, ``count``).

    Raises
    ------
    UnitError
        If the unit is not understood or has no canonical code.

    Examples
    --------
    >>> unit_code("công"), unit_code("%"), unit_code("tổ"), unit_code("kg/ha")
    ('ha', 'pct', 'THT', 't_ha')
    """
    q = parse_unit(unit)
    count = _count_name(q)
    if count is not None:
        return next(k for k, v in COUNT_UNITS.items() if v == count)
    if "volt_ampere" in str(q.units):
        return "kva"  # apparent power: the same dimension as kW in pint, not the same thing
    for code in _DIMENSION_CODES:
        if parse_unit(code).dimensionality == q.dimensionality:
            return code
    raise UnitError(f"unit {unit!r} ({q.dimensionality}) has no canonical column unit; "
                    f"units accepted: {_accepted()}")


def code_or_none(unit: object) -> str | None:
    """:func:`unit_code` of a unit, or ``None`` when it is missing or not understood.

    Examples
    --------
    >>> code_or_none("tạ/ha"), code_or_none("gánh"), code_or_none(None)
    ('t_ha', None, None)
    """
    if unit is None or (isinstance(unit, float) and math.isnan(unit)):
        return None
    try:
        return unit_code(str(unit))
    except UnitError:
        return None


def dimension_name(unit: str) -> str:
    """What a unit measures, in words (``"area"``, ``"households (hộ)"``).

    Examples
    --------
    >>> dimension_name("sào Bắc Bộ"), dimension_name("con")
    ('area', 'head of livestock (con)')
    """
    q = parse_unit(unit)
    count = _count_name(q)
    if count is not None:
        return _COUNT_DIMENSIONS[count][1]
    for code in _DIMENSION_CODES:
        if parse_unit(code).dimensionality == q.dimensionality:
            return _DIMENSION_NAMES[code]
    return str(q.dimensionality)


def is_intensive(unit: str) -> bool:
    """Whether values in a unit are rates (averaged), not amounts (added up).

    Percentages and everything per area (t/ha, triệu đồng/ha) are
    intensive; areas, money, masses, lengths, counts and capacities (m³/h,
    kW) are extensive: they add up.

    Examples
    --------
    >>> is_intensive("triệu đồng/ha"), is_intensive("%"), is_intensive("ha"), is_intensive("m³/h")
    (True, True, False, False)
    """
    q = parse_unit(unit)
    return bool(q.dimensionless or dict(q.dimensionality).get("[length]", 0) < 0)


def column_unit(column: str) -> str | None:
    """The unit code a canonical column name ends with, or ``None``.

    Examples
    --------
    >>> column_unit("yield_t_ha"), column_unit("cost_vnd"), column_unit("capacity_m3_h")
    ('t_ha', 'vnd', 'm3_h')
    >>> column_unit("members") is None
    True
    """
    for code in _SUFFIXES:
        if code != "count" and str(column).endswith("_" + code):
            return code
    return None


_HEADER_UNIT = re.compile(r"[(\[]([^()\[\]]+)[)\]]")


def header_unit(header: str) -> str | None:
    """The unit written in a column header's parentheses, or ``None``.

    The last parenthesised (or bracketed) group that is a unit counts:
    ``"Kinh phí (triệu đồng)"`` → ``"triệu đồng"``, ``"NS (tạ/ha)"`` →
    ``"tạ/ha"``, ``"Diện tích [m²]"`` → ``"m²"``.

    Examples
    --------
    >>> header_unit("Kinh phí (triệu đồng)"), header_unit("Ghi chú (xã cũ)")
    ('triệu đồng', None)
    """
    for found in reversed(_HEADER_UNIT.findall(unicodedata.normalize("NFC", str(header)))):
        try:
            parse_unit(found.strip())
        except UnitError:
            continue
        return found.strip()
    return None


def convert(values: Iterable[float], from_unit: str, to_unit: str) -> np.ndarray:
    """Values in ``from_unit`` expressed in ``to_unit`` (a new float array).

    Examples
    --------
    >>> convert([82, 75], "tạ/ha", "t_ha").tolist()
    [8.2, 7.5]
    """
    factor = conversion_factor(from_unit, to_unit)
    values = np.asarray(list(values), dtype=float)
    inverse = 1.0 / factor
    if factor < 1 and inverse == round(inverse):
        # 82 / 10 is the double nearest 8.2; 82 * 0.1 is not
        return values / inverse
    return values * factor


#: How the documents print each canonical unit: code → (unit in vi, unit in en).
CUSTOMARY: dict[str, tuple[str, str]] = {
    "ha": ("ha", "ha"), "t_ha": ("tạ/ha", "t/ha"), "kg_ha": ("tạ/ha", "t/ha"),
    "vnd": ("triệu đồng", "million VND"), "vnd_ha": ("triệu đồng/ha", "million VND/ha"),
    "pct": ("%", "%"), "t": ("tấn", "t"), "km": ("km", "km"), "m3": ("m³", "m³"),
    "m3_h": ("m³/h", "m³/h"), "kw": ("kW", "kW"), "kva": ("kVA", "kVA"), "kv": ("kV", "kV"),
    "count": ("", ""),
}

#: English labels of the units a plan may choose in Vietnamese.
_ENGLISH = {"tạ/ha": "quintals/ha", "tấn/ha": "t/ha", "tỷ đồng": "billion VND",
            "triệu đồng": "million VND", "triệu đồng/ha": "million VND/ha",
            "nghìn đồng": "thousand VND", "đồng": "VND", "tấn": "t"}


def customary(value: float, unit: str, *, language: str = "vi",
              units: dict[str, str] | None = None) -> tuple[float, str]:
    """A figure in the unit the documents print it in, with that unit's label.

    Yields in tạ/ha (in English t/ha), money in triệu đồng (million VND),
    money per hectare in triệu đồng/ha, areas in ha; counts have no label.
    A plan chooses other units per canonical unit with ``units`` (e.g.
    ``{"vnd": "tỷ đồng"}`` for the investment totals of seed 004).

    Parameters
    ----------
    value : float
        In ``unit``.
    unit : str
        A unit code (``t_ha``, ``vnd``…) or any unit :func:`parse_unit` reads.
    language : {"vi", "en"}, default "vi"
    units : mapping, optional
        Canonical code → unit to print it in, overriding the documents' usual one.

    Returns
    -------
    (float, str)
        The converted figure and its label (``""`` for counts of ``count``).

    Examples
    --------
    >>> customary(8.2, "t_ha"), customary(8.2, "t_ha", language="en")
    ((82.0, 'tạ/ha'), (8.2, 't/ha'))
    >>> customary(4.4e9, "vnd", units={"vnd": "tỷ đồng"})
    (4.4, 'tỷ đồng')
    >>> customary(38e6, "vnd_ha", language="en"), customary(12, "HTX")
    ((38.0, 'million VND/ha'), (12.0, 'HTX'))
    """
    if language not in ("vi", "en"):
        raise OptionError(f"language={language!r}; use 'vi' or 'en'")
    code = code_or_none(unit)
    if code is None:
        return float(value), str(unit)
    written = (units or {}).get(code)
    if written is None:
        written = CUSTOMARY.get(code, (code, code))[0 if language == "vi" else 1]
    if not written:
        return float(value), ""
    label = written if language == "vi" else _ENGLISH.get(written, written)
    return float(convert([value], code, written)[0]), label
