"""Coordinate reference systems: VN-2000 zones, the metric CRS, checks of a layer's CRS.

Three tasks live here.

* **VN-2000 TM-3 zones.** Each province surveys in VN-2000 on a 3° transverse
  Mercator zone (scale 0.9999, false easting 500 km) with its own central
  meridian, fixed for the 63 provinces by Circular 973/2001/TT-TCĐC.
  :func:`vn2000_epsg` turns a province name (any spelling) into the EPSG code
  of its zone, :func:`vn2000_zones` lists every zone a province's files may be
  in, and :func:`vn2000_provinces` lists the provinces.
* **The metric CRS** in which lengths and areas are measured
  (:func:`metric_crs`, :func:`area_ha`, :func:`length_km`), and the
  ellipsoidal measures to check them against (:func:`geodesic_area_ha`,
  :func:`geodesic_length_km`).
* **Coordinate trouble**: :func:`sniff_coordinates` describes what a layer's
  bounds look like (lon/lat, swapped lat/lon, VN-2000 metres and which zone,
  swapped northing/easting); :func:`require_crs` is what readers call to make
  sure a layer has a CRS that fits its coordinates, and never guesses silently.

The 34 provinces of 1 July 2025
-------------------------------
Circular 973/2001 names the 63 provinces that existed before 1 July 2025 (the
"old" era).  No decision assigning central meridians to the 34 provinces that
exist since (the "new" era) was found when this module was written, so here a
new province's zone is the zone of the old province whose name it keeps
(new Tây Ninh → old Tây Ninh, EPSG:9209, although its seat is in old Long An),
and :func:`vn2000_zones` lists the zones of all its old constituent
provinces: a legacy file of new Tây Ninh may be in EPSG:9209 (old Tây Ninh) or
EPSG:9210 (old Long An).  The mergers follow Resolution 202/2025/QH15.

Examples
--------
>>> from geoagri.crs import vn2000_epsg, vn2000_zones
>>> vn2000_epsg("Tỉnh Long An")
9210
>>> vn2000_zones("Tây Ninh", era="new")
[9209, 9210]
"""

from __future__ import annotations

import difflib
import functools
import logging
import math
import re
import unicodedata
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Geod, Proj, Transformer
from pyproj.crs import GeographicCRS, ProjectedCRS
from pyproj.crs.coordinate_operation import TransverseMercatorConversion
from pyproj.exceptions import CRSError as PyprojCRSError

from geoagri.errors import CRSError, GeoagriWarning, SchemaError

__all__ = [
    "CoordinateGuess",
    "area_ha",
    "geodesic_area_ha",
    "geodesic_length_km",
    "length_km",
    "metric_crs",
    "outside_area_of_use",
    "require_crs",
    "require_layer",
    "sniff_coordinates",
    "vn2000_epsg",
    "vn2000_provinces",
    "vn2000_zones",
]

logger = logging.getLogger("geoagri")

#: Largest relative error of lengths or areas that a metric CRS may make
#: over a layer before :func:`metric_crs` warns (0.1%).
MAX_SCALE_ERROR = 0.001

#: How far, in degrees, coordinates may lie beyond their CRS's area of use before
#: :func:`outside_area_of_use` calls them out of range (10° ≈ 1,100 km: a zone is
#: used well beyond its official area, but not on another continent).
AREA_OF_USE_MARGIN_DEG = 10.0

# --------------------------------------------------------------------------
# Zone tables
# --------------------------------------------------------------------------

#: Central meridian (decimal degrees east) → EPSG code of the VN-2000 TM-3 zone.
#: 102°00' (EPSG:5896, zone 481) exists in EPSG but no province uses it.
_MERIDIAN_EPSG: dict[float, int] = {
    103.0: 9205,
    104.0: 9206,
    104.5: 9207,
    104.75: 9208,
    105.0: 5897,
    105.5: 9209,
    105.75: 9210,
    106.0: 9211,
    106.25: 9212,
    106.5: 9213,
    107.0: 9214,
    107.25: 9215,
    107.5: 9216,
    107.75: 5899,
    108.0: 5898,
    108.25: 9217,
    108.5: 9218,
}
_EPSG_MERIDIAN = {epsg: lon for lon, epsg in _MERIDIAN_EPSG.items()}

# The 63 provinces before 1 July 2025: official code, name, central meridian
# of Circular 973/2001/TT-TCĐC.  Checked against the EPSG area-of-use texts of
# EPSG:9205-9218 and 5899 (tests/test_crs.py does it again) and against the
# tables published by Vietnamese survey firms.  Hà Nội includes the former
# Hà Tây province (merged 2008), whose zone was 105°00' as well.
_OLD: tuple[tuple[str, str, float], ...] = (
    ("01", "Hà Nội", 105.0),
    ("02", "Hà Giang", 105.5),
    ("04", "Cao Bằng", 105.75),
    ("06", "Bắc Kạn", 106.5),
    ("08", "Tuyên Quang", 106.0),
    ("10", "Lào Cai", 104.75),
    ("11", "Điện Biên", 103.0),
    ("12", "Lai Châu", 103.0),
    ("14", "Sơn La", 104.0),
    ("15", "Yên Bái", 104.75),
    ("17", "Hòa Bình", 106.0),
    ("19", "Thái Nguyên", 106.5),
    ("20", "Lạng Sơn", 107.25),
    ("22", "Quảng Ninh", 107.75),
    ("24", "Bắc Giang", 107.0),
    ("25", "Phú Thọ", 104.75),
    ("26", "Vĩnh Phúc", 105.0),
    ("27", "Bắc Ninh", 105.5),
    ("30", "Hải Dương", 105.5),
    ("31", "Hải Phòng", 105.75),
    ("33", "Hưng Yên", 105.5),
    ("34", "Thái Bình", 105.5),
    ("35", "Hà Nam", 105.0),
    ("36", "Nam Định", 105.5),
    ("37", "Ninh Bình", 105.0),
    ("38", "Thanh Hóa", 105.0),
    ("40", "Nghệ An", 104.75),
    ("42", "Hà Tĩnh", 105.5),
    ("44", "Quảng Bình", 106.0),
    ("45", "Quảng Trị", 106.25),
    ("46", "Thừa Thiên Huế", 107.0),
    ("48", "Đà Nẵng", 107.75),
    ("49", "Quảng Nam", 107.75),
    ("51", "Quảng Ngãi", 108.0),
    ("52", "Bình Định", 108.25),
    ("54", "Phú Yên", 108.5),
    ("56", "Khánh Hòa", 108.25),
    ("58", "Ninh Thuận", 108.25),
    ("60", "Bình Thuận", 108.5),
    ("62", "Kon Tum", 107.5),
    ("64", "Gia Lai", 108.5),
    ("66", "Đắk Lắk", 108.5),
    ("67", "Đắk Nông", 108.5),
    ("68", "Lâm Đồng", 107.75),
    ("70", "Bình Phước", 106.25),
    ("72", "Tây Ninh", 105.5),
    ("74", "Bình Dương", 105.75),
    ("75", "Đồng Nai", 107.75),
    ("77", "Bà Rịa - Vũng Tàu", 107.75),
    ("79", "Hồ Chí Minh", 105.75),
    ("80", "Long An", 105.75),
    ("82", "Tiền Giang", 105.75),
    ("83", "Bến Tre", 105.75),
    ("84", "Trà Vinh", 105.5),
    ("86", "Vĩnh Long", 105.5),
    ("87", "Đồng Tháp", 105.0),
    ("89", "An Giang", 104.75),
    ("91", "Kiên Giang", 104.5),
    ("92", "Cần Thơ", 105.0),
    ("93", "Hậu Giang", 105.0),
    ("94", "Sóc Trăng", 105.5),
    ("95", "Bạc Liêu", 105.0),
    ("96", "Cà Mau", 104.5),
)

# The 34 provinces since 1 July 2025: official code, name, codes of the old
# provinces merged into it, the one whose name it keeps first.
_NEW: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("01", "Hà Nội", ("01",)),
    ("04", "Cao Bằng", ("04",)),
    ("08", "Tuyên Quang", ("08", "02")),
    ("11", "Điện Biên", ("11",)),
    ("12", "Lai Châu", ("12",)),
    ("14", "Sơn La", ("14",)),
    ("15", "Lào Cai", ("10", "15")),
    ("19", "Thái Nguyên", ("19", "06")),
    ("20", "Lạng Sơn", ("20",)),
    ("22", "Quảng Ninh", ("22",)),
    ("24", "Bắc Ninh", ("27", "24")),
    ("25", "Phú Thọ", ("25", "26", "17")),
    ("31", "Hải Phòng", ("31", "30")),
    ("33", "Hưng Yên", ("33", "34")),
    ("37", "Ninh Bình", ("37", "35", "36")),
    ("38", "Thanh Hóa", ("38",)),
    ("40", "Nghệ An", ("40",)),
    ("42", "Hà Tĩnh", ("42",)),
    ("44", "Quảng Trị", ("45", "44")),
    ("46", "Huế", ("46",)),
    ("48", "Đà Nẵng", ("48", "49")),
    ("51", "Quảng Ngãi", ("51", "62")),
    ("52", "Gia Lai", ("64", "52")),
    ("56", "Khánh Hòa", ("56", "58")),
    ("66", "Đắk Lắk", ("66", "54")),
    ("68", "Lâm Đồng", ("68", "67", "60")),
    ("75", "Đồng Nai", ("75", "70")),
    ("79", "Hồ Chí Minh", ("79", "74", "77")),
    ("80", "Tây Ninh", ("72", "80")),
    ("82", "Đồng Tháp", ("87", "82")),
    ("86", "Vĩnh Long", ("86", "83", "84")),
    ("91", "An Giang", ("89", "91")),
    ("92", "Cần Thơ", ("92", "93", "94")),
    ("96", "Cà Mau", ("96", "95")),
)

# Other spellings (as keys, see _key) → key of the name in the tables above.
_ALIASES: dict[str, str] = {
    "hn": "hanoi",
    "hatay": "hanoi",
    "hcm": "hochiminh",
    "tphcm": "hochiminh",
    "hcmc": "hochiminh",
    "hochiminhcity": "hochiminh",
    "saigon": "hochiminh",
    "hue": "thuathienhue",
    "thuathienhue": "hue",
    "baria": "bariavungtau",
    "vungtau": "bariavungtau",
    "brvt": "bariavungtau",
    "baccan": "backan",
    "dacnong": "daknong",
    "daclac": "daklak",
    "daklac": "daklak",
    "kontom": "kontum",
}

_OLD_BY_CODE = {code: (name, lon) for code, name, lon in _OLD}
_NEW_BY_CODE = {code: (name, parts) for code, name, parts in _NEW}
_ERAS = ("old", "new")


def _key(name: str) -> str:
    """Reduce a province name to a comparison key ("Tỉnh Long An" → "longan")."""
    text = unicodedata.normalize("NFC", name).casefold().replace("đ", "d")
    text = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"^(tinh|thanh pho|tp)\s+", "", text)
    return text.replace(" ", "")


@functools.cache
def _index(era: str) -> dict[str, str]:
    """Key → province code for one era (names and aliases)."""
    table = _OLD if era == "old" else _NEW
    index = {_key(name): code for code, name, _ in table}
    for alias, target in _ALIASES.items():
        if alias not in index and target in index:
            index[alias] = index[target]
    return index


def _check_era(era: str) -> None:
    if era not in _ERAS:
        raise CRSError(f"era must be 'old' (63 provinces before 1 July 2025) or 'new' "
                       f"(34 provinces since), got {era!r}")


def _province_code(province: str, era: str) -> str:
    """Official code of a province of the given era, or CRSError naming close matches."""
    _check_era(era)
    if not isinstance(province, str) or not province.strip():
        raise CRSError(f"province must be a non-empty name, got {province!r}")
    index = _index(era)
    raw = province.strip()
    if raw.isdigit():
        code = raw.zfill(2)
        if code in (_OLD_BY_CODE if era == "old" else _NEW_BY_CODE):
            return code
    key = _key(raw)
    if key in index:
        return index[key]
    if era == "new" and key in _index("old"):
        old_code = _index("old")[key]
        old_name, _ = _OLD_BY_CODE[old_code]
        new_name = next(name for _, name, parts in _NEW if old_code in parts)
        raise CRSError(
            f"'{province}' is a province of before 1 July 2025 ({old_name}), now part of "
            f"{new_name}: pass province='{new_name}' with era='new', or era='old' for the "
            f"zone of old {old_name}"
        )
    names = {_key(n): n for n in vn2000_provinces(era=era)}
    close = difflib.get_close_matches(key, list(names), n=3, cutoff=0.6)
    hint = (
        f"; did you mean {', '.join(repr(names[c]) for c in close)}?"
        if close
        else f"; known provinces: {', '.join(sorted(names.values()))}"
    )
    raise CRSError(f"unknown province '{province}' (era='{era}'){hint}")


def vn2000_provinces(*, era: str) -> list[str]:
    """Names of the provinces that have a VN-2000 TM-3 zone here.

    Parameters
    ----------
    era : {"old", "new"}
        ``"old"``: the 63 provinces before 1 July 2025; ``"new"``: the 34
        provinces since.

    Returns
    -------
    list of str
        Province names without "Tỉnh"/"Thành phố", in official code order.

    Raises
    ------
    CRSError
        If ``era`` is not ``"old"`` or ``"new"``.

    Examples
    --------
    >>> len(vn2000_provinces(era="old")), len(vn2000_provinces(era="new"))
    (63, 34)
    """
    _check_era(era)
    if era == "old":
        return [name for _, name, _ in _OLD]
    return [name for _, name, _ in _NEW]


def vn2000_epsg(province: str, *, era: str = "old") -> int:
    """EPSG code of a province's VN-2000 TM-3 zone.

    Parameters
    ----------
    province : str
        Province name in any spelling ("Long An", "tỉnh long an", "LONG AN",
        "TP. Hồ Chí Minh", "Huế" or "Thừa Thiên Huế"), or its official
        two-digit code of that era.
    era : {"old", "new"}, default "old"
        ``"old"``: the 63 provinces before 1 July 2025, zones of Circular
        973/2001/TT-TCĐC.  ``"new"``: the 34 provinces since; the zone is that
        of the old province whose name the new one keeps (see the module
        notes, and :func:`vn2000_zones` for all zones its files may be in).

    Returns
    -------
    int
        EPSG code (9205-9218, 5897-5899) of a transverse Mercator zone in
        metres on the VN-2000 datum.

    Raises
    ------
    CRSError
        If the province is unknown (the message names close matches), if an
        old province is asked for with ``era="new"``, or if ``era`` is invalid.

    Examples
    --------
    >>> vn2000_epsg("LONG AN"), vn2000_epsg("Cà Mau"), vn2000_epsg("Hà Nội")
    (9210, 9207, 5897)
    >>> vn2000_epsg("Tây Ninh", era="new")
    9209
    """
    code = _province_code(province, era)
    if era == "old":
        return _MERIDIAN_EPSG[_OLD_BY_CODE[code][1]]
    return _MERIDIAN_EPSG[_OLD_BY_CODE[_NEW_BY_CODE[code][1][0]][1]]


def vn2000_zones(province: str, *, era: str) -> list[int]:
    """EPSG codes of every VN-2000 TM-3 zone a province's files may be in.

    Parameters
    ----------
    province : str
        Province name in any spelling, or its official code of that era.
    era : {"old", "new"}
        For an old province the list has its one zone.  For a new province
        it starts with :func:`vn2000_epsg` ``(province, era="new")`` and goes
        on with the other zones of its old constituent provinces, by central
        meridian.

    Returns
    -------
    list of int
        EPSG codes, without repeats.

    Raises
    ------
    CRSError
        As :func:`vn2000_epsg`.

    Examples
    --------
    >>> vn2000_zones("TP Hồ Chí Minh", era="new")
    [9210, 5899]
    >>> vn2000_zones("Phú Thọ", era="new")
    [9208, 5897, 9211]
    >>> vn2000_zones("Long An", era="old")
    [9210]
    """
    first = vn2000_epsg(province, era=era)
    if era == "old":
        return [first]
    parts = _NEW_BY_CODE[_province_code(province, era)][1]
    meridians = sorted({_OLD_BY_CODE[c][1] for c in parts})
    rest = [_MERIDIAN_EPSG[m] for m in meridians if _MERIDIAN_EPSG[m] != first]
    return [first, *rest]


@functools.cache
def _crs(epsg: int) -> CRS:
    return CRS.from_epsg(epsg)


def _label(epsg: int) -> str:
    """Readable name of a zone, e.g. "EPSG:5897 VN-2000 / TM-3 zone 482 (105-00)"."""
    name = _crs(epsg).name
    if epsg in _EPSG_MERIDIAN and "zone" in name:
        lon = _EPSG_MERIDIAN[epsg]
        name += f" ({int(lon)}-{round((lon % 1) * 60):02d})"
    return f"EPSG:{epsg} {name}"


# --------------------------------------------------------------------------
# Metric CRS and measures
# --------------------------------------------------------------------------

Bounds = tuple[float, float, float, float]


def _as_geoseries(geoms: Any) -> gpd.GeoSeries:
    if isinstance(geoms, gpd.GeoDataFrame):
        return geoms.geometry
    if isinstance(geoms, gpd.GeoSeries):
        return geoms
    raise TypeError(f"expected a GeoDataFrame or GeoSeries, got {type(geoms).__name__}")


def _parse_crs(crs: Any, *, what: str = "crs") -> CRS:
    try:
        return CRS.from_user_input(crs)
    except PyprojCRSError as exc:
        raise CRSError(
            f"{what}={crs!r} is not a CRS pyproj understands ({exc}); "
            "give an EPSG code such as 'EPSG:9210'"
        ) from exc


def _lonlat_bounds(geoms: gpd.GeoSeries) -> Bounds:
    """Bounds of the geometries in lon/lat degrees (NaN if there are none)."""
    bounds = tuple(float(v) for v in geoms.total_bounds)
    if any(math.isnan(v) for v in bounds) or geoms.crs.is_geographic:
        return bounds  # type: ignore[return-value]
    to_lonlat = _lonlat_transformer(geoms.crs.to_wkt())
    return tuple(to_lonlat.transform_bounds(*bounds, densify_pts=21))  # type: ignore[return-value]


@functools.lru_cache(maxsize=32)
def _lonlat_transformer(wkt: str) -> Transformer:
    """A transformer to lon/lat (building one costs ~15 ms; a plan asks for few CRSs)."""
    return Transformer.from_crs(CRS.from_wkt(wkt), 4326, always_xy=True)


@functools.lru_cache(maxsize=64)
def _proj(wkt: str) -> Proj:
    return Proj(CRS.from_wkt(wkt))


def _scale_errors(crs: CRS, lonlat: Bounds) -> tuple[float, float]:
    """Largest relative (area, length) error of ``crs`` over a lon/lat box."""
    lons = np.linspace(lonlat[0], lonlat[2], 5)
    lats = np.linspace(lonlat[1], lonlat[3], 5)
    lon, lat = (a.ravel() for a in np.meshgrid(lons, lats))
    factors = _proj(crs.to_wkt()).get_factors(lon, lat, errcheck=False)
    areal = np.abs(np.asarray(factors.areal_scale, dtype=float) - 1)
    linear = np.abs(
        np.concatenate([
            np.asarray(factors.meridional_scale, dtype=float),
            np.asarray(factors.parallel_scale, dtype=float),
        ]) - 1
    )
    if np.isnan(areal).all():
        return math.inf, math.inf
    return float(np.nanmax(areal)), float(np.nanmax(linear))


def _utm(lon: float, lat: float) -> CRS:
    zone = min(max(int((lon + 180) // 6) + 1, 1), 60)
    return _crs((32600 if lat >= 0 else 32700) + zone)


def _local_tm(lon: float) -> CRS:
    lon0 = round(lon, 1)
    return ProjectedCRS(
        name=f"WGS 84 / transverse Mercator {lon0:.1f}E (geoagri local)",
        conversion=TransverseMercatorConversion(
            latitude_natural_origin=0,
            longitude_natural_origin=lon0,
            false_easting=500_000,
            false_northing=0,
            scale_factor_natural_origin=1.0,
        ),
        geodetic_crs=GeographicCRS(datum="WGS84"),
    )


def _describe(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg} {crs.name}" if epsg else crs.name


def metric_crs(
    gdf_or_bounds: gpd.GeoDataFrame | gpd.GeoSeries | Sequence[float],
    *,
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
) -> CRS:
    """Choose the metric CRS in which lengths and areas of some data are measured.

    The choice, in order: the explicit setting ``crs``; the VN-2000 TM-3 zone
    of ``province`` (:func:`vn2000_epsg`); else the WGS 84 UTM zone of the
    centre of the data's lon/lat bounds, or, when that UTM zone would make
    lengths or areas over the data more than 0.1% wrong (data far from the
    zone's central meridian, common in central Vietnam), a WGS 84 transverse
    Mercator (scale 1) centred on the data.  The choice is logged at DEBUG on
    the ``"geoagri"`` logger (a plan logs its context once, at INFO).

    Parameters
    ----------
    gdf_or_bounds : GeoDataFrame, GeoSeries or (minx, miny, maxx, maxy)
        The data (it must have a CRS), or its bounds in lon/lat degrees
        (EPSG:4326).
    crs : str, int or pyproj.CRS, optional
        Explicit metric CRS; must be projected with axes in metres.
    province : str, optional
        Province whose VN-2000 TM-3 zone to use, any spelling.
    era : {"old", "new"}, default "old"
        Which provinces ``province`` names (before / since 1 July 2025).

    Returns
    -------
    pyproj.CRS
        A projected CRS in metres.

    Raises
    ------
    CRSError
        If ``crs`` is geographic (degrees) or not in metres, if the data has no
        CRS, if the province is unknown, or if a UTM zone must be estimated
        from data that has no coordinates.

    Warns
    -----
    GeoagriWarning
        If over the data's extent the chosen CRS makes lengths or areas more
        than 0.1% wrong (the data is far from its central meridian).

    Examples
    --------
    >>> metric_crs((106.0, 10.5, 106.5, 10.9), province="Long An").to_epsg()
    9210
    >>> metric_crs((105.6, 10.5, 106.5, 10.9)).to_epsg()   # estimated UTM 48N
    32648
    """
    if isinstance(gdf_or_bounds, (gpd.GeoDataFrame, gpd.GeoSeries)):
        geoms = _as_geoseries(gdf_or_bounds)
        if geoms.crs is None:
            raise CRSError(
                "the data has no CRS, so its coordinates cannot be measured; set the CRS "
                "it is in with gdf.set_crs('EPSG:...') (for example 'EPSG:4326' for "
                "lon/lat, or a VN-2000 zone from geoagri.crs.vn2000_epsg(province))"
            )
        lonlat = _lonlat_bounds(geoms)
    else:
        lonlat = tuple(float(v) for v in gdf_or_bounds)  # type: ignore[assignment]
        if len(lonlat) != 4:
            raise CRSError(f"bounds must be (minx, miny, maxx, maxy), got {gdf_or_bounds!r}")
    has_extent = not any(math.isnan(v) for v in lonlat)

    if crs is not None:
        chosen = _parse_crs(crs)
        if chosen.is_geographic or not chosen.is_projected:
            raise CRSError(
                f"crs={crs!r} ({chosen.name}) is not projected: lengths and areas would be in "
                "degrees; pass a projected CRS in metres, e.g. the province's VN-2000 zone "
                "(geoagri.crs.vn2000_epsg(province)) or a UTM zone such as 'EPSG:32648'"
            )
        units = {(a.unit_name or "").lower() for a in chosen.axis_info}
        if not units <= {"metre", "meter", "m"}:
            raise CRSError(
                f"crs={crs!r} ({chosen.name}) has axes in {', '.join(sorted(units))}, not "
                "metres; pass a projected CRS in metres"
            )
        why = "explicit setting"
    elif province is not None:
        epsg = vn2000_epsg(province, era=era)
        chosen = _crs(epsg)
        why = f"province {province}"
    else:
        if not has_extent:
            raise CRSError(
                "cannot estimate a metric CRS from data without coordinates (empty or "
                "null geometries); pass crs= or province="
            )
        lon = (lonlat[0] + lonlat[2]) / 2
        lat = (lonlat[1] + lonlat[3]) / 2
        chosen = _utm(lon, lat)
        why = "UTM zone estimated from the data"
        if _scale_errors(chosen, lonlat)[0] > MAX_SCALE_ERROR:
            chosen = _local_tm(lon)
            why = "data too far from the UTM central meridian for 0.1%; centred on the data"
    logger.debug("metric CRS: %s (%s)", _describe(chosen), why)
    if has_extent:
        area_err, length_err = _scale_errors(chosen, lonlat)
        if max(area_err, length_err) > MAX_SCALE_ERROR:
            warnings.warn(
                f"metric CRS {_describe(chosen)}: over the data's extent (lon "
                f"{lonlat[0]:.2f}-{lonlat[2]:.2f}, lat {lonlat[1]:.2f}-{lonlat[3]:.2f}) areas "
                f"may be off by up to {area_err:.2%} and lengths by {length_err:.2%}; split the "
                "data by province (province=...), or check with geodesic_area_ha",
                GeoagriWarning,
                stacklevel=2,
            )
    return chosen


def area_ha(
    geoms: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
) -> pd.Series:
    """Area of each geometry in hectares, measured in :func:`metric_crs`.

    Parameters
    ----------
    geoms : GeoSeries or GeoDataFrame
        Geometries with a CRS; lines and points have area 0.
    crs, province, era
        Passed to :func:`metric_crs`.

    Returns
    -------
    pandas.Series
        Named ``area_ha``, float, aligned to ``geoms.index``; NaN for null
        geometries.  ``geoms`` is not changed.

    Raises
    ------
    CRSError
        As :func:`metric_crs`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> square = gpd.GeoSeries([box(500_000, 1_150_000, 501_000, 1_151_000)], crs=32648)
    >>> area_ha(square).round(2).tolist()      # 1 km × 1 km in its own UTM zone
    [100.0]
    """
    gs = _as_geoseries(geoms)
    target = metric_crs(gs, crs=crs, province=province, era=era)
    values = gs.to_crs(target).area.to_numpy(dtype=float) / 10_000
    return pd.Series(values, index=gs.index, name="area_ha")


def length_km(
    geoms: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
) -> pd.Series:
    """Length of each geometry in kilometres, measured in :func:`metric_crs`.

    Parameters
    ----------
    geoms : GeoSeries or GeoDataFrame
        Geometries with a CRS; for polygons the perimeter, points have 0.
    crs, province, era
        Passed to :func:`metric_crs`.

    Returns
    -------
    pandas.Series
        Named ``length_km``, float, aligned to ``geoms.index``; NaN for null
        geometries.

    Raises
    ------
    CRSError
        As :func:`metric_crs`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> canal = gpd.GeoSeries([LineString([(560_000, 1_170_000), (563_000, 1_174_000)])],
    ...                       crs="EPSG:9210")
    >>> length_km(canal, province="Long An").round(3).tolist()   # a 3-4-5 triangle
    [5.0]
    """
    gs = _as_geoseries(geoms)
    target = metric_crs(gs, crs=crs, province=province, era=era)
    values = gs.to_crs(target).length.to_numpy(dtype=float) / 1000
    return pd.Series(values, index=gs.index, name="length_km")


_GEOD = Geod(ellps="WGS84")


def _to_lonlat(geoms: Any) -> gpd.GeoSeries:
    gs = _as_geoseries(geoms)
    if gs.crs is None:
        raise CRSError("the data has no CRS; set it with gdf.set_crs('EPSG:...') first")
    return gs.to_crs(4326)


def geodesic_area_ha(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.Series:
    """Area of each geometry in hectares on the WGS 84 ellipsoid.

    Independent of any map projection: use it to check :func:`area_ha`.
    Polygons are oriented first, so holes are subtracted whatever the ring
    order in the file.

    Parameters
    ----------
    geoms : GeoSeries or GeoDataFrame
        Geometries with a CRS (reprojected to EPSG:4326 internally).

    Returns
    -------
    pandas.Series
        Named ``area_ha``, aligned to ``geoms.index``; NaN for null geometries.

    Raises
    ------
    CRSError
        If the data has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> square = gpd.GeoSeries([box(500_000, 1_150_000, 501_000, 1_151_000)], crs=32648)
    >>> float(geodesic_area_ha(square).iloc[0])   # UTM scale 0.9996 → +0.08%
    100.08...
    """
    gs = _to_lonlat(geoms)
    values = [
        math.nan
        if g is None
        else abs(_GEOD.geometry_area_perimeter(shapely.orient_polygons(g))[0]) / 10_000
        for g in gs
    ]
    return pd.Series(values, index=gs.index, name="area_ha", dtype=float)


def geodesic_length_km(geoms: gpd.GeoSeries | gpd.GeoDataFrame) -> pd.Series:
    """Length of each geometry in kilometres along the WGS 84 ellipsoid.

    Parameters
    ----------
    geoms : GeoSeries or GeoDataFrame
        Geometries with a CRS; polygons give their perimeter.

    Returns
    -------
    pandas.Series
        Named ``length_km``, aligned to ``geoms.index``; NaN for null geometries.

    Raises
    ------
    CRSError
        If the data has no CRS.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> meridian = gpd.GeoSeries([LineString([(105.0, 10.0), (105.0, 11.0)])], crs=4326)
    >>> round(float(geodesic_length_km(meridian).iloc[0]), 1)   # one degree of latitude
    110.6
    """
    gs = _to_lonlat(geoms)
    values = [math.nan if g is None else _GEOD.geometry_length(g) / 1000 for g in gs]
    return pd.Series(values, index=gs.index, name="length_km", dtype=float)


# --------------------------------------------------------------------------
# Sniffing coordinates
# --------------------------------------------------------------------------

#: Vietnam in lon/lat degrees, with the Hoàng Sa and Trường Sa archipelagos.
_LON = (101.5, 117.5)
_LAT = (6.0, 24.0)
#: Eastings and northings of Vietnam in VN-2000 TM-3 and UTM zones 48N/49N (m).
_EASTING = (150_000.0, 1_000_000.0)
_NORTHING = (700_000.0, 2_700_000.0)
#: Pairs of UTM codes (VN-2000, WGS 84) and the longitudes they serve in Vietnam.
_UTM_ZONES = (((3405, 32648), (100.0, 108.0)), ((3406, 32649), (108.0, 118.0)))
#: A point belongs to a province when most of its 5 nearest old communes,
#: all within this distance, do.
_NEAR_KM = 20.0


@dataclass(frozen=True)
class CoordinateGuess:
    """What a layer's coordinates look like, from its bounds alone.

    Attributes
    ----------
    kind : str
        ``"lonlat"`` (degrees in Vietnam), ``"latlon_swapped"`` (latitude as
        x), ``"projected_vn"`` (metres of a VN-2000 TM-3 or UTM zone),
        ``"projected_vn_swapped"`` (northing as x) or ``"unknown"``.
    candidates : tuple of int
        EPSG codes that fit, most likely first: for ``"lonlat"`` 4326; for
        projected kinds the TM-3 zones under which the coordinates fall in an
        old province of that very zone, then VN-2000 and WGS 84 UTM.
    provinces : tuple of str
        Old provinces the coordinates fall in under ``candidates[0]``.
    message : str
        The finding and what to pass, in words.
    """

    kind: str
    candidates: tuple[int, ...] = ()
    provinces: tuple[str, ...] = ()
    message: str = ""


@functools.cache
def _ward_points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lon, lat and old province code of the 10,040 pre-2025 communes."""
    from geoagri._admin_data import query

    rows = query(
        "SELECT provinceCode, wardLon, wardLat FROM admin_units_legacy "
        "WHERE wardLon IS NOT NULL AND wardLat IS NOT NULL"
    )
    lon = np.array([r["wardLon"] for r in rows], dtype=float)
    lat = np.array([r["wardLat"] for r in rows], dtype=float)
    code = np.array([r["provinceCode"] for r in rows], dtype=object)
    return lon, lat, code


@functools.cache
def _old_to_new() -> dict[str, str]:
    return {old: new for new, _, parts in _NEW for old in parts}


@functools.cache
def _province_boxes() -> dict[tuple[str, str], Bounds]:
    """Lon/lat box of the old communes of each (era, province code)."""
    wlon, wlat, wcode = _ward_points()
    boxes: dict[tuple[str, str], Bounds] = {}
    old_to_new = _old_to_new()
    for era in _ERAS:
        codes = wcode if era == "old" else np.array([old_to_new[c] for c in wcode])
        for code in np.unique(codes.astype(str)):
            sel = codes == code
            boxes[(era, code)] = (
                float(wlon[sel].min()), float(wlat[sel].min()),
                float(wlon[sel].max()), float(wlat[sel].max()),
            )
    return boxes


def _provinces_at(lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """Code of the old province each lon/lat point falls in, None outside Vietnam."""
    wlon, wlat, wcode = _ward_points()
    lon = np.asarray(lon, dtype=float)[:, None]
    lat = np.asarray(lat, dtype=float)[:, None]
    dist = np.hypot((wlon - lon) * 111.32 * np.cos(np.radians(lat)), (wlat - lat) * 110.57)
    nearest = np.argpartition(np.nan_to_num(dist, nan=np.inf), 5, axis=1)[:, :5]
    out: list[str | None] = []
    for row, idx in zip(dist, nearest, strict=True):
        idx = idx[np.argsort(row[idx])]
        idx = idx[row[idx] <= _NEAR_KM]
        if len(idx) == 0:
            out.append(None)
            continue
        codes = [str(c) for c in wcode[idx]]
        top = max(codes.count(c) for c in codes)
        out.append(next(c for c in codes if codes.count(c) == top))  # ties: nearest
    return out


@functools.cache
def _from_epsg(epsg: int) -> Transformer:
    return Transformer.from_crs(epsg, 4326, always_xy=True)


def _samples(bounds: Bounds) -> tuple[np.ndarray, np.ndarray]:
    """Centre first, then corners and edge midpoints of a box."""
    minx, miny, maxx, maxy = bounds
    xs = [(minx + maxx) / 2, minx, minx, minx, (minx + maxx) / 2, maxx, maxx, maxx,
          (minx + maxx) / 2]
    ys = [(miny + maxy) / 2, miny, (miny + maxy) / 2, maxy, maxy, maxy, (miny + maxy) / 2,
          miny, miny]
    return np.array(xs), np.array(ys)


def _iou(a: Bounds, b: Bounds) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w < 0 or h < 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 1.0


def _zone_candidates(bounds: Bounds) -> list[tuple[int, tuple[str, ...]]]:
    """(epsg, old provinces) of the zones the metric bounds fit, best first.

    A TM-3 zone fits when, under it, the centre of the bounds (or at least 5 of
    9 points of the bounds) falls in an old province of that zone, or in a new
    province whose zone it is.  Zones are ranked by how well the bounds match
    the lon/lat box of such a province (a layer covering a whole province
    matches it under its true zone only), then by how many of the 9 points fit.
    """
    xs, ys = _samples(bounds)
    boxes = _province_boxes()
    old_to_new = _old_to_new()
    scored: list[tuple[float, int, int, tuple[str, ...]]] = []
    for epsg, meridian in _EPSG_MERIDIAN.items():
        lon, lat = _from_epsg(epsg).transform(xs, ys)
        codes = _provinces_at(lon, lat)
        box = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
        regions: list[Bounds] = []
        fits: list[str] = []
        for code in codes:
            if code is None:
                continue
            matches = []
            if _OLD_BY_CODE[code][1] == meridian:
                matches.append(boxes[("old", code)])
            if vn2000_epsg(old_to_new[code], era="new") == epsg:
                matches.append(boxes[("new", old_to_new[code])])
            if matches:
                regions += matches
                fits.append(code)
        if codes[0] not in fits and len(fits) < 5:
            continue
        names = tuple(dict.fromkeys(_OLD_BY_CODE[c][0] for c in fits))
        scored.append((max(_iou(box, r) for r in regions), len(fits), epsg, names))
    scored.sort(key=lambda t: (-t[0], -t[1]))
    found = [(epsg, names) for _, _, epsg, names in scored]
    for (vn_code, wgs_code), (west, east) in _UTM_ZONES:
        lon, lat = _from_epsg(vn_code).transform(xs, ys)
        codes = _provinces_at(lon, lat)
        if codes[0] is not None and west <= lon[0] < east:
            names = tuple(dict.fromkeys(_OLD_BY_CODE[c][0] for c in codes if c is not None))
            found += [(vn_code, names), (wgs_code, names)]
    return found


def _inside(bounds: Bounds, xr: tuple[float, float], yr: tuple[float, float]) -> bool:
    minx, miny, maxx, maxy = bounds
    return xr[0] <= minx <= maxx <= xr[1] and yr[0] <= miny <= maxy <= yr[1]


def _coordinate_kind(box: Bounds) -> str:
    """The ``kind`` of :func:`sniff_coordinates` from the bounds alone (no zone search)."""
    if any(not math.isfinite(v) for v in box):
        return "unknown"
    if _inside(box, _LON, _LAT):
        return "lonlat"
    if _inside(box, _LAT, _LON):
        return "latlon_swapped"
    if _inside(box, _EASTING, _NORTHING):
        return "projected_vn"
    if _inside(box, _NORTHING, _EASTING):
        return "projected_vn_swapped"
    return "unknown"


def _fmt_bounds(bounds: Bounds) -> str:
    minx, miny, maxx, maxy = bounds
    if max(abs(v) for v in bounds) < 1000:
        return f"x {minx:.4g} to {maxx:.4g}, y {miny:.4g} to {maxy:.4g}"
    return f"x {minx:,.0f} to {maxx:,.0f}, y {miny:,.0f} to {maxy:,.0f}"


def _zone_phrase(epsg: int, provinces: Sequence[str]) -> str:
    where = f"; falls in {', '.join(provinces)}" if provinces else ""
    return f"{_label(epsg)}{where}"


def _set_hint(epsg: int | str) -> str:
    return (
        f"pass crs='EPSG:{epsg}' to read_layer, or set crs = \"EPSG:{epsg}\" in the "
        "plan's [layers.<name>] table"
    )


def sniff_coordinates(bounds: Sequence[float]) -> CoordinateGuess:
    """Describe what a layer's coordinates look like, to name its likely CRS.

    Rules, on the bounds ``(minx, miny, maxx, maxy)``:

    * inside Vietnam's lon/lat box (lon 101.5-117.5, lat 6-24, with the
      archipelagos) → ``"lonlat"``; the same with x and y exchanged →
      ``"latlon_swapped"``;
    * eastings 150-1,000 km and northings 700-2,700 km → ``"projected_vn"``;
      exchanged → ``"projected_vn_swapped"``.  The candidates are the VN-2000
      TM-3 zones under which the centre of the bounds falls inside an old
      (pre-2025) province that uses that very zone, ranked by how many of 9
      points of the bounds do, then the VN-2000 and WGS 84 UTM zones.  Zones
      25-110 km apart can all fit small data: the province the data covers
      tells which is right.
    * anything else → ``"unknown"``.

    This function only describes; it never sets a CRS (see :func:`require_crs`).

    Parameters
    ----------
    bounds : sequence of 4 floats
        ``(minx, miny, maxx, maxy)`` in the layer's own units.

    Returns
    -------
    CoordinateGuess

    Examples
    --------
    >>> sniff_coordinates((105.9, 10.4, 106.4, 10.9)).kind
    'lonlat'
    >>> sniff_coordinates((10.4, 105.9, 10.9, 106.4)).kind
    'latlon_swapped'
    >>> guess = sniff_coordinates((490_000, 1_170_000, 640_000, 1_230_000))
    >>> guess.kind, guess.candidates[0], "Long An" in guess.provinces
    ('projected_vn', 9210, True)
    """
    values = tuple(float(v) for v in bounds)
    if len(values) != 4:
        raise CRSError(f"bounds must be (minx, miny, maxx, maxy), got {bounds!r}")
    box: Bounds = values  # type: ignore[assignment]
    where = _fmt_bounds(box)
    kind = _coordinate_kind(box)
    if any(not math.isfinite(v) for v in box):
        return CoordinateGuess(
            "unknown", message="the layer has no coordinates to judge (empty or null geometries)"
        )
    if kind == "lonlat":
        return CoordinateGuess(
            "lonlat",
            (4326,),
            message=f"coordinates ({where}) look like lon/lat degrees in Vietnam; "
            + _set_hint(4326),
        )
    if kind == "latlon_swapped":
        return CoordinateGuess(
            "latlon_swapped",
            (4326,),
            message=f"coordinates ({where}) look like lat/lon degrees in Vietnam with x and y "
            "swapped (x is latitude, y is longitude); swap them back, e.g. "
            "gdf.set_geometry(shapely.transform(gdf.geometry, lambda c: c[:, ::-1])), "
            "then set crs='EPSG:4326'",
        )
    if kind.startswith("projected"):
        swapped = kind == "projected_vn_swapped"
        metric = (box[1], box[0], box[3], box[2]) if swapped else box
        zones = _zone_candidates(metric)
        head = (
            f"coordinates ({where}) look like VN-2000 / UTM metres with x and y swapped "
            "(x is the northing, y the easting)"
            if swapped
            else f"coordinates ({where}) look like VN-2000 TM-3 / UTM metres"
        )
        if not zones:
            return CoordinateGuess(
                kind,
                message=f"{head}, but under no VN-2000 TM-3 or UTM zone do they fall in a "
                "Vietnamese province; find the CRS in the data's source documents",
            )
        best = zones[0]
        others = [z for z in zones[1:] if z[0] not in (3405, 3406, 32648, 32649)]
        utm = [z for z in zones if z[0] in (3405, 3406, 32648, 32649)]
        parts = [f"{head}; likely {_zone_phrase(best[0], best[1])}"]
        if others:
            parts.append(
                "also possible: " + "; ".join(_zone_phrase(z[0], z[1]) for z in others)
            )
        if utm and best not in utm:
            parts.append("or UTM: " + ", ".join(_label(z[0]) for z in utm))
        if len(zones) > 1:
            parts.append(
                "choose the zone of the province the data covers "
                "(geoagri.crs.vn2000_zones(province, era=...))"
            )
        fix = (
            "swap x and y back, e.g. gdf.set_geometry(shapely.transform(gdf.geometry, "
            f"lambda c: c[:, ::-1])), then {_set_hint(best[0])}"
            if swapped
            else _set_hint(best[0])
        )
        return CoordinateGuess(
            kind,
            tuple(z[0] for z in zones),
            best[1],
            "; ".join(parts) + "; " + fix,
        )
    return CoordinateGuess(
        "unknown",
        message=f"coordinates ({where}) look neither like lon/lat degrees in Vietnam nor like "
        "VN-2000 / UTM metres; find the CRS in the data's source documents",
    )


# --------------------------------------------------------------------------
# Requiring a CRS that fits
# --------------------------------------------------------------------------


def _same_crs(a: CRS, b: CRS) -> bool:
    if a.equals(b, ignore_axis_order=True):
        return True
    code_a, code_b = a.to_epsg(min_confidence=70), b.to_epsg(min_confidence=70)
    return code_a is not None and code_a == code_b


def _check_fits(declared: CRS, bounds: Bounds, layer: str) -> None:
    """Raise CRSError if the coordinates obviously do not fit the declared CRS.

    A CRS not tied to the Earth (a LOCAL_CS) fits nothing; otherwise a layer
    without coordinates (no rows, or only empty geometries) fits any CRS.
    """
    _check_earth(declared, layer)
    if not all(math.isfinite(v) for v in bounds):
        return
    kind = _coordinate_kind(bounds)  # the zone search of sniff_coordinates only on error
    if declared.is_geographic:
        degrees = all(abs(v) <= 180 for v in bounds[::2]) and all(
            abs(v) <= 90 for v in bounds[1::2])
        fits = kind != "latlon_swapped" and not kind.startswith("projected") and degrees
    else:
        fits = kind not in ("lonlat", "latlon_swapped", "projected_vn_swapped")
    if fits:
        return
    guess = sniff_coordinates(bounds)
    name = _describe(declared)
    fix = (
        "the declared CRS is wrong: correct it in the file (for a shapefile, its .prj), or "
        "call gdf.set_crs(..., allow_override=True) with the right CRS before reading"
    )
    if declared.is_geographic:
        degrees = all(abs(v) <= 180 for v in bounds[::2]) and all(
            abs(v) <= 90 for v in bounds[1::2]
        )
        if guess.kind == "latlon_swapped":
            raise CRSError(f"layer '{layer}' declares {name} but {guess.message}")
        if guess.kind.startswith("projected") or not degrees:
            likely = (
                f"; they look like {_label(guess.candidates[0])}"
                if guess.candidates
                else ""
            )
            raise CRSError(
                f"layer '{layer}' declares {name} (degrees) but its coordinates "
                f"({_fmt_bounds(bounds)}) are not degrees{likely}; {fix}"
            )
        return
    if guess.kind in ("lonlat", "latlon_swapped"):
        raise CRSError(
            f"layer '{layer}' declares {name} (metres) but its coordinates "
            f"({_fmt_bounds(bounds)}) look like lon/lat degrees: probably WGS 84 "
            f"(EPSG:4326) data labelled with the wrong CRS; {fix}"
        )
    if guess.kind == "projected_vn_swapped":
        raise CRSError(f"layer '{layer}' declares {name} but {guess.message}")


def _check_earth(declared: CRS, layer: str) -> None:
    """Raise CRSError if the CRS is not tied to the Earth (a LOCAL_CS, an engineering CRS).

    Such a layer cannot be transformed to lon/lat, measured against other
    layers or mapped: every analysis would fail on it.
    """
    if declared.geodetic_crs is not None:
        return
    raise CRSError(
        f"layer '{layer}' declares a local coordinate system ({declared.type_name} "
        f"{declared.name!r}) that is not tied to the Earth, so it cannot be placed on a map "
        "or compared with the other layers. Fix: declare the CRS the coordinates really are "
        "in (for a shapefile, replace its .prj, e.g. by QGIS 'Assign projection' with the "
        "province's VN-2000 zone, geoagri.crs.vn2000_epsg(province))")


#: Points along each edge of a layer's bounding box taken to lon/lat by
#: :func:`_box_within_area`.
_BOX_EDGE_POINTS = 64


def _box_within_area(box: tuple[float, float, float, float], crs: CRS, area: Any) -> bool:
    """Whether a whole box (layer units) lies inside a CRS's area of use, without margin.

    The box's edges, ``_BOX_EDGE_POINTS`` points each, are taken to lon/lat.
    A map projection is continuous and one-to-one, so the box's image is
    bounded by the image of its edges: when every edge point lies inside the
    area of use itself, every point of the box lies inside it give or take
    the bend of the edges between two points, far less than the margin
    :func:`outside_area_of_use` allows (degrees).  An area across the
    antimeridian, or a box that is not finite, is never "within".
    """
    west, south, east, north = box
    if area.east < area.west or not np.isfinite(box).all():
        return False
    steps = np.linspace(0.0, 1.0, _BOX_EDGE_POINTS)
    xs = np.concatenate([west + (east - west) * steps, np.full_like(steps, east),
                         east - (east - west) * steps, np.full_like(steps, west)])
    ys = np.concatenate([np.full_like(steps, south), south + (north - south) * steps,
                         np.full_like(steps, north), north - (north - south) * steps])
    if not crs.is_geographic:
        with np.errstate(all="ignore"):
            xs, ys = _lonlat_transformer(crs.to_wkt()).transform(xs, ys, errcheck=False)
    with np.errstate(invalid="ignore"):
        return bool((np.isfinite(xs) & np.isfinite(ys) & (xs >= area.west)
                     & (xs <= area.east) & (ys >= area.south) & (ys <= area.north)).all())


def outside_area_of_use(
    geoms: gpd.GeoSeries, *, margin_deg: float = AREA_OF_USE_MARGIN_DEG
) -> np.ndarray:
    """Which geometries lie outside the area where their CRS is valid.

    A geometry is outside when a corner of its bounding box, taken to
    lon/lat, is not finite or lies more than ``margin_deg`` degrees beyond the
    CRS's area of use (EPSG's, e.g. 102°E–108°E, 0°–84°N for UTM 48N).
    Coordinates like 1e300 metres, or a VN-2000 layer whose northing lost its
    sign, are outside; a layer whose CRS has no area of use never is.

    Parameters
    ----------
    geoms : GeoSeries
        Geometries with a CRS; empty and null ones are never outside.
    margin_deg : float, default :data:`AREA_OF_USE_MARGIN_DEG`
        Tolerance beyond the area of use, degrees.

    Returns
    -------
    ndarray of bool
        One flag per geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> pts = gpd.GeoSeries([Point(500_000, 1_200_000), Point(1e300, 1e300),
    ...                      Point(500_000, -1_200_000)], crs="EPSG:32648")
    >>> outside_area_of_use(pts).tolist()
    [False, True, True]
    """
    out = np.zeros(len(geoms), dtype=bool)
    area = geoms.crs.area_of_use if geoms.crs is not None else None
    values = np.asarray(geoms.values, dtype=object)
    present = ~(shapely.is_missing(values) | shapely.is_empty(values))
    if area is None or not present.any():
        return out
    b = shapely.bounds(values[present])
    with np.errstate(invalid="ignore"):
        box = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max())
    if _box_within_area(box, geoms.crs, area):
        return out  # every corner lies in a box well inside the area of use
    xs = np.concatenate([b[:, 0], b[:, 0], b[:, 2], b[:, 2]])
    ys = np.concatenate([b[:, 1], b[:, 3], b[:, 1], b[:, 3]])
    finite = np.isfinite(xs) & np.isfinite(ys)
    lon = np.full(xs.shape, np.inf)
    lat = np.full(ys.shape, np.inf)
    if geoms.crs.is_geographic:
        lon[finite], lat[finite] = xs[finite], ys[finite]
    elif finite.any():
        to_lonlat = _lonlat_transformer(geoms.crs.to_wkt())
        with np.errstate(all="ignore"):
            lon[finite], lat[finite] = to_lonlat.transform(xs[finite], ys[finite],
                                                           errcheck=False)
    west, south, east, north = area.west, area.south, area.east, area.north
    if east < west:  # an area across the antimeridian: compare in 0°–360°
        lon, east = np.where(lon < 0, lon + 360, lon), east + 360
    with np.errstate(invalid="ignore"):
        ok = (np.isfinite(lon) & np.isfinite(lat)
              & (lon >= west - margin_deg) & (lon <= east + margin_deg)
              & (lat >= south - margin_deg) & (lat <= north + margin_deg)
              & (np.abs(lat) <= 90))
    out[present] = (~ok).reshape(4, -1).any(axis=0)
    return out


def require_crs(
    gdf: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    layer: str,
    crs: Any = None,
) -> gpd.GeoDataFrame | gpd.GeoSeries:
    """Make sure a layer has a CRS, and that its coordinates fit it.

    Readers call this once per layer.  It never guesses: a missing CRS is an
    error whose message says what the coordinates look like and which CRS to
    pass (see :func:`sniff_coordinates`).

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        The layer as read.
    layer : str
        Layer name, for messages.
    crs : str, int or pyproj.CRS, optional
        The CRS the user says the layer is in.  It sets a missing CRS; on a
        layer that already has a CRS it must be the same one (converting data
        is ``gdf.to_crs(...)``, not this).

    Returns
    -------
    GeoDataFrame or GeoSeries
        ``gdf`` itself if its CRS was already right, else a copy with the CRS
        set.  Coordinates are never changed.

    Raises
    ------
    CRSError
        If the layer has no CRS and none is given (naming the likely zone); if
        ``crs`` differs from the layer's own CRS or is not a CRS; if the
        declared CRS is geographic but the coordinates are swapped or metres;
        if it is projected but the coordinates look like lon/lat degrees or
        like swapped northing/easting.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> pts = gpd.GeoDataFrame(geometry=[Point(106.4, 10.5), Point(105.9, 10.8)])
    >>> require_crs(pts, layer="models", crs="EPSG:4326").crs.to_epsg()
    4326
    >>> require_crs(pts, layer="models")
    Traceback (most recent call last):
    ...
    geoagri.errors.CRSError: layer 'models' has no CRS; coordinates (...) look like lon/lat ...
    """
    bounds: Bounds = tuple(float(v) for v in gdf.total_bounds)  # type: ignore[assignment]
    if crs is None:
        if gdf.crs is None:
            guess = sniff_coordinates(bounds)
            raise CRSError(f"layer '{layer}' has no CRS; {guess.message}")
        _check_fits(gdf.crs, bounds, layer)
        return gdf
    given = _parse_crs(crs)
    if gdf.crs is not None:
        if not _same_crs(gdf.crs, given):
            raise CRSError(
                f"layer '{layer}' already has CRS {_describe(gdf.crs)} but crs={crs!r} was "
                f"given; crs= only sets a missing CRS. To convert the layer to "
                f"{_describe(given)} reproject it after reading (gdf.to_crs({crs!r})); if "
                "the file's own CRS is wrong, correct it in the file (for a shapefile, its "
                ".prj) or drop crs="
            )
        _check_fits(gdf.crs, bounds, layer)
        return gdf
    _check_fits(given, bounds, layer)
    return gdf.set_crs(given)


def require_layer(
    gdf: Any,
    *,
    name: str,
    func: str,
    columns: Sequence[str] = (),
    series: bool = False,
) -> gpd.GeoDataFrame:
    """Make sure an analysis got a GeoDataFrame with a CRS and the columns it needs.

    The guard of the analysis functions (:mod:`geoagri.coverage`,
    :mod:`geoagri.siting`, :mod:`geoagri.routing`): unlike
    :func:`require_crs`, which readers call, it never sets a CRS; it only
    says, naming the function and the layer, what is wrong and how to fix it.

    Parameters
    ----------
    gdf : GeoDataFrame (or GeoSeries with ``series=True``)
        The layer as given to ``func``.
    name : str
        The layer's name in ``func``'s signature (``"zones"``, ``"demand"``).
    func : str
        The public function being called, for messages.
    columns : sequence of str, default ()
        Columns the layer must have.
    series : bool, default False
        Accept a GeoSeries too (returned as a GeoDataFrame with the same index).

    Returns
    -------
    GeoDataFrame
        ``gdf`` itself (a GeoSeries wrapped in a new GeoDataFrame); nothing is copied.

    Raises
    ------
    SchemaError
        If ``gdf`` is not a GeoDataFrame (or GeoSeries with ``series=True``),
        or lacks one of ``columns``.
    CRSError
        If it has no CRS; the message says what its coordinates look like and
        which ``set_crs`` call would fit them.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> pts = gpd.GeoDataFrame({"status": ["operating"]}, geometry=[Point(106.1, 10.6)])
    >>> require_layer(pts.set_crs(4326), name="pumps", func="coverage",
    ...               columns=["status"]).crs.to_epsg()
    4326
    >>> require_layer(pts, name="pumps", func="coverage")
    Traceback (most recent call last):
    ...
    geoagri.errors.CRSError: coverage: layer 'pumps' has no CRS, ... pumps.set_crs('EPSG:4326') ...
    >>> require_layer(pts.set_crs(4326), name="pumps", func="coverage", columns=["pump_id"])
    Traceback (most recent call last):
    ...
    geoagri.errors.SchemaError: coverage: layer 'pumps' has no column(s) ['pump_id']; ...
    """
    if series and isinstance(gdf, gpd.GeoSeries):
        gdf = gpd.GeoDataFrame(geometry=gdf)
    if not isinstance(gdf, gpd.GeoDataFrame):
        what = "a GeoDataFrame or GeoSeries" if series else "a GeoDataFrame"
        raise SchemaError(
            f"{func}: {name} must be {what}, got {type(gdf).__name__}; read the layer with "
            "geoagri.io.read_layer(path, kind=...) or geopandas.read_file(path), or make one "
            "with geopandas.GeoDataFrame(..., geometry=..., crs=...)")
    if gdf.crs is None:
        bounds: Bounds = tuple(float(v) for v in gdf.total_bounds)  # type: ignore[assignment]
        guess = sniff_coordinates(bounds)
        if not all(math.isfinite(v) for v in bounds):
            found, code = "no coordinates to judge it by (empty or null geometries)", "EPSG:..."
        elif guess.kind == "lonlat":
            found, code = f"coordinates ({_fmt_bounds(bounds)}) like lon/lat degrees", \
                "EPSG:4326"
        elif guess.kind == "projected_vn" and guess.candidates:
            found = (f"coordinates ({_fmt_bounds(bounds)}) like metres of "
                     f"{_label(guess.candidates[0])}, the likeliest zone")
            code = f"EPSG:{guess.candidates[0]}"
        else:
            found, code = f"coordinates ({_fmt_bounds(bounds)})", "EPSG:..."
        raise CRSError(
            f"{func}: layer '{name}' has no CRS, so its coordinates cannot be measured; it "
            f"has {found}. Fix: set the CRS it is in with {name}.set_crs('{code}') (for "
            "example 'EPSG:4326' for lon/lat, or a VN-2000 zone from "
            "geoagri.crs.vn2000_epsg(province))")
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise SchemaError(
            f"{func}: layer '{name}' has no column(s) {missing}; its columns are "
            f"{[c for c in gdf.columns if c != gdf.geometry.name]}. Fix: rename the user's "
            "columns with geoagri.io.read_layer(..., rename={...}) or add them")
    return gdf
