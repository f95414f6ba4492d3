"""What the web map and the print map both draw, without a drawing library.

:mod:`geoagri.maps` (folium) and :mod:`geoagri.print_map` (matplotlib) draw
the same content: their words (:data:`_T`), the results drawn
(:class:`MapResults`), the commune choropleth of linkage coverage
(:func:`coverage_classes`), the gaps and their hatches (:func:`drawn_gaps`),
legend rows and number formats.  It is here, apart from either library, so
that the print map is drawn without importing folium (0.2 s of CPU in the
print map's process of ``geoagri run``); :mod:`geoagri.maps` exports it as its
own.

Examples
--------
>>> format_pct(12.5, language="en"), format_area_ha(1234.4, language="vi")
('12.5%', '1.234 ha')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoagri import _labels, _styles
from geoagri._labels import format_number
from geoagri.errors import SchemaError

__all__ = [
    "DEFAULT_MIN_GAP_HA",
    "LANGUAGES",
    "CoverageClasses",
    "MapResults",
    "coverage_classes",
    "drawn_gaps",
    "format_area_ha",
    "format_pct",
]

#: Languages of labels and numbers.
LANGUAGES = ("vi", "en")


#: Gaps smaller than this are left off the map (and counted in a note), ha.
DEFAULT_MIN_GAP_HA = 0.1


#: Wording of the map itself (layer names, legends); the labels of columns and
#: values come from :mod:`geoagri._labels`.
_T: dict[str, dict[str, str]] = {
    "vi": {
        "coverage_layer": "Xã: tỷ lệ diện tích liên kết (%)",
        "coverage_legend": "Tỷ lệ diện tích liên kết theo xã",
        "zone": "Vùng", "models": "Mô hình",
        "power3": "Điện 3 pha", "power_other": "Điện 1 pha và khác",
        "service": "Vùng phục vụ trạm bơm (bán kính {r})",
        "gaps": "Vùng thiếu hạ tầng", "sites": "Trạm bơm đề xuất",
        "lines": "Tuyến điện 3 pha đề xuất",
        "outside": "Ngoài các xã", "by_commune": "xã", "by_cell": "ô lưới {km} km",
        "aggregated": "{name} (gộp theo {unit})",
        "g_base": "Nền bản đồ", "g_communes": "Xã", "g_zones": "Vùng",
        "g_models": "Mô hình", "g_water": "Thủy lợi", "g_power": "Điện",
        "g_proposals": "Đề xuất",
        "layers": "Lớp bản đồ", "legend": "Chú giải", "none": "Không hiển thị",
        "osm": "Bản đồ OpenStreetMap", "imagery": "Ảnh vệ tinh (Esri)",
        "no_tiles": "Không có nền ảnh",
        "basemap": "Kênh, đường, tên xã (từ dữ liệu)", "canals": "Kênh, đường",
        "borders": "Ranh giới xã",
        "offline_note": "Không có mạng: nền bản đồ vẽ từ dữ liệu của kế hoạch.",
        "slivers": "{n} vùng thiếu nhỏ hơn {ha} không vẽ trên bản đồ.",
        "made": "Lập ngày {date}", "source": "Nguồn: {source}", "year": "Năm {year}",
        "title": "Bản đồ liên kết sản xuất và hạ tầng",
        "proposed_station": "Trạm bơm đề xuất",
        "search": "Tìm xã, mã trạm bơm…", "print": "In bản đồ (hoặc lưu PDF)",
    },
    "en": {
        "coverage_layer": "Communes: linkage coverage (%)",
        "coverage_legend": "Linkage coverage by commune",
        "zone": "Zone", "models": "Models",
        "power3": "Three-phase power", "power_other": "Single-phase and other power",
        "service": "Pump service areas (radius {r})",
        "gaps": "Infrastructure gaps", "sites": "Proposed pump stations",
        "lines": "Proposed three-phase lines",
        "outside": "Outside the communes", "by_commune": "commune",
        "by_cell": "{km} km grid cell", "aggregated": "{name} (aggregated by {unit})",
        "g_base": "Basemap", "g_communes": "Communes", "g_zones": "Zones",
        "g_models": "Models", "g_water": "Irrigation", "g_power": "Power",
        "g_proposals": "Proposals",
        "layers": "Layers", "legend": "Legend", "none": "None",
        "osm": "OpenStreetMap", "imagery": "Satellite imagery (Esri)",
        "no_tiles": "No tiles",
        "basemap": "Canals, roads, commune names (from the data)",
        "canals": "Canals, roads", "borders": "Commune boundaries",
        "offline_note": "No network: the basemap is drawn from the plan's own layers.",
        "slivers": "{n} gaps smaller than {ha} are not drawn.",
        "made": "Made {date}", "source": "Source: {source}", "year": "Year {year}",
        "title": "Production linkage and infrastructure map",
        "proposed_station": "Proposed pump station",
        "search": "Find a commune, a station id…", "print": "Print the map (or save as PDF)",
    },
}
for _language, _words in _T.items():  # layer titles shared with the exports
    _words.update({k: _labels.layer_title(kind, _language) for k, kind in (
        ("works", "works"), ("pumps", "pumps"), ("parcels", "parcels"))})
del _language, _words


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise SchemaError(f"language={language!r}; use one of {', '.join(LANGUAGES)}")


def format_area_ha(value: float | None, *, language: str = "vi", decimals: int = 0) -> str:
    """Format hectares: ``23.865 ha`` (vi) or ``23,865 ha`` (en).

    Examples
    --------
    >>> format_area_ha(23865.3), format_area_ha(23865.3, language="en")
    ('23.865 ha', '23,865 ha')
    """
    return f"{format_number(value, language=language, decimals=decimals)} ha"


def format_pct(value: float | None, *, language: str = "vi", decimals: int = 1) -> str:
    """Format a percentage: ``112,4%`` (vi) or ``112.4%`` (en).

    Examples
    --------
    >>> format_pct(112.43), format_pct(112.43, language="en")
    ('112,4%', '112.4%')
    """
    return f"{format_number(value, language=language, decimals=decimals)}%"


@dataclass(frozen=True)
class MapResults:
    """Results of the coverage and siting analyses to draw on a plan map.

    Every field is optional; a map shows the ones given.

    Parameters
    ----------
    gaps : GeoDataFrame, optional
        Polygons of infrastructure gaps (e.g. rice area without three-phase
        power or pump service), hatched by ``missing`` (``pump``, ``power``,
        ``both``: "Trạm bơm", "Điện 3 pha", "Trạm bơm và điện 3 pha");
        ``missing``, ``commune_name``, ``zone_id``, ``crop``, ``area_ha`` and
        ``reason`` are shown if present.  Gaps whose ``area_ha`` is under the
        map's ``min_gap_ha`` are left off and counted.
    sites : GeoDataFrame, optional
        Points of proposed pump stations: ``site_id``, the commune (its
        ``commune_name``, else the commune it lies in), ``covered_ha`` (or
        ``served_area_ha``), ``connection_length_km``, ``cost_vnd`` and
        ``ha_per_billion_vnd`` of :func:`geoagri.siting.site_pump_stations`
        are shown if present.
    lines : GeoDataFrame, optional
        Proposed three-phase lines (``length_km``, ``cost_vnd``,
        ``served_area_ha`` shown if present).
    service_radius_m : float, optional
        Radius of a pump station's service circle, m (default: the plan's
        ``pump_radius_m``, ``plan.service.pump_radius_m``).
    linkage : DataFrame, optional
        The plan's :func:`geoagri.indicators.linkage_by_commune` table: the
        choropleth draws it (default: computed for the plan's year, as the
        report does).
    pump_service : GeoSeries, optional
        The pump service area the coverage analysis used
        (``InfrastructureResult.pump_service``): drawn instead of circles, so
        the map shows exactly what the gaps were measured against.
    parcel_areas : DataFrame, optional
        The figures of the parcels by commune × land use, for the popups of
        an aggregated parcels layer (one row per ``commune_id`` ×
        ``land_use``: ``area_ha``, optionally ``n_parcels``).  Without it an
        aggregate's popup names its commune and land use only: the map
        measures nothing.

    Examples
    --------
    >>> MapResults.from_any({"service_radius_m": 1500}).service_radius_m
    1500
    """

    gaps: gpd.GeoDataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    lines: gpd.GeoDataFrame | None = None
    service_radius_m: float | None = None
    linkage: pd.DataFrame | None = None
    pump_service: gpd.GeoSeries | None = None
    parcel_areas: pd.DataFrame | None = None

    @classmethod
    def from_any(cls, results: MapResults | Mapping[str, Any] | Any | None) -> MapResults:
        """A :class:`MapResults` from a dict, a dataclass with these fields, or ``None``.

        Raises
        ------
        SchemaError
            If a dict has keys that are not fields of :class:`MapResults`.
        """
        if results is None:
            return cls()
        if isinstance(results, cls):
            return results
        names = [f.name for f in fields(cls)]
        if isinstance(results, Mapping):
            unknown = sorted(set(results) - set(names))
            if unknown:
                raise SchemaError(f"results has unknown key(s) {unknown}; allowed: {names}")
            return cls(**dict(results))
        return cls(**{n: getattr(results, n) for n in names if hasattr(results, n)})


def _layers(plan: Any, kind: str) -> list[tuple[str, gpd.GeoDataFrame]]:
    return [(n, g) for n, g in plan.of_kind(kind).items()
            if isinstance(g, gpd.GeoDataFrame) and len(g)]


def _linkage_coverage(plan: Any, communes: gpd.GeoDataFrame,
                      given: pd.DataFrame | None) -> pd.DataFrame:
    """The plan's linkage table (the report's own), aligned to the communes' rows."""
    from geoagri.indicators import plan_linkage

    if given is None:  # a map drawn from the plan alone: the report's definition, its year
        given = plan_linkage(plan, year=plan.year)
    inside = given[given["commune_id"].notna()].set_index(
        given["commune_id"].dropna().astype(str))
    ids = communes["commune_id"].astype(str)
    table = inside.reindex(ids.to_numpy())
    return pd.DataFrame({"commune_id": communes["commune_id"].to_numpy(),
                         "commune_area_ha": table["commune_area_ha"].to_numpy(),
                         "linkage_area_ha": table["area_ha"].fillna(0.0).to_numpy(),
                         "coverage_pct": table["commune_share_pct"].fillna(0.0).to_numpy()},
                        index=communes.index)


def _classes(values: np.ndarray, k: int = 5) -> tuple[np.ndarray, list[float]]:
    """Class of each value (0…k-1) and the upper bounds, by natural breaks.

    The breaks are Jenks' natural breaks computed exactly: the partition of the
    sorted values into ``k`` runs with the least sum of squared deviations from
    each run's mean (the optimum of one-dimensional k-means), by Fisher's
    dynamic programme over the distinct values weighted by their counts.  A
    class's upper bound is its largest value; a value above the last bound
    falls in the last class.

    Examples
    --------
    >>> cls, bins = _classes(np.array([0.0, 1.0, 2.0, 40.0, 41.0, 90.0, np.nan]), k=3)
    >>> cls.tolist(), bins
    ([0, 0, 0, 1, 1, 2, 0], [2.0, 41.0, 90.0])
    """
    finite = values[np.isfinite(values)]
    uniq, counts = np.unique(finite, return_counts=True)
    if len(uniq) == 0:
        return np.zeros(len(values), dtype=int), [0.0]
    k = max(1, min(k, len(uniq)))
    if k == 1:
        return np.zeros(len(values), dtype=int), [float(finite.max())]
    bins = [float(uniq[j]) for j in _natural_break_ends(uniq, counts.astype(float), k)]
    cls = np.digitize(np.nan_to_num(values), bins, right=True)
    return np.minimum(cls, len(bins) - 1).astype(int), bins


def _natural_break_ends(u: np.ndarray, w: np.ndarray, k: int) -> list[int]:
    """Index of the last value of each of the ``k`` runs of sorted ``u`` (weights ``w``)
    with the least within-run sum of squares.

    Fisher's dynamic programme, each level solved by divide and conquer: the
    best start of the last run does not decrease as the run's end moves
    right, so O(k·n·log n) instead of O(k·n²).
    """
    n = len(u)
    x = u - np.average(u, weights=w)  # centred: the sums of squares lose no digits
    cw = np.concatenate([[0.0], np.cumsum(w)])
    c1 = np.concatenate([[0.0], np.cumsum(w * x)])
    c2 = np.concatenate([[0.0], np.cumsum(w * x * x)])

    def sse(i: np.ndarray, j: int) -> np.ndarray:  # of the values i..j inclusive
        s1 = c1[j + 1] - c1[i]
        return np.maximum(c2[j + 1] - c2[i] - s1 * s1 / (cw[j + 1] - cw[i]), 0.0)

    best = np.maximum(c2[1:] - c1[1:] ** 2 / cw[1:], 0.0)  # one run, 0..j
    starts = np.zeros((k, n), dtype=int)
    for c in range(1, k):
        new = np.full(n, np.inf)
        todo = [(c, n - 1, c, n - 1)]  # ends jlo..jhi, their last run starting in ilo..ihi
        while todo:
            jlo, jhi, ilo, ihi = todo.pop()
            if jlo > jhi:
                continue
            j = (jlo + jhi) // 2
            i = np.arange(ilo, min(j, ihi) + 1)
            total = best[i - 1] + sse(i, j)
            at = int(np.argmin(total))
            new[j], starts[c, j] = total[at], i[at]
            todo += [(jlo, j - 1, ilo, i[at]), (j + 1, jhi, i[at], ihi)]
        best = new
    ends, j = [], n - 1
    for c in range(k - 1, -1, -1):
        ends.append(j)
        j = starts[c, j] - 1
    return ends[::-1]


def _palette_for(k: int) -> list[str]:
    idx = np.linspace(0, len(_styles.COVERAGE_COLORS) - 1, k).round().astype(int) if k > 1 else [2]
    return [_styles.COVERAGE_COLORS[i] for i in idx]


@dataclass(frozen=True)
class CoverageClasses:
    """The commune choropleth of linkage coverage, as every map draws it.

    Attributes
    ----------
    table : DataFrame
        One row per commune, aligned to the communes' rows: ``commune_id``,
        ``commune_area_ha``, ``linkage_area_ha`` (ha) and ``coverage_pct``
        (linkage area as a % of the commune's area), from the plan's
        linkage table (:func:`geoagri.indicators.linkage_by_commune`).
    classes : ndarray of int
        Class of each commune (0 … ``len(colors) - 1``), natural breaks.
    colors : list of str
        Colour of each class (:data:`geoagri._styles.COVERAGE_COLORS`).
    labels : list of str
        Legend label of each class (``"0,0% – 12,5%"``).
    """

    table: pd.DataFrame
    classes: np.ndarray
    colors: list[str]
    labels: list[str]

    def fill(self) -> list[str]:
        """The fill colour of each commune, in the communes' order."""
        return [self.colors[c] for c in self.classes]


def coverage_classes(plan: Any, communes: gpd.GeoDataFrame, linkage: pd.DataFrame | None, *,
                     language: str = "vi", k: int = 5) -> CoverageClasses:
    """The coverage choropleth of the communes: values, classes, colours and legend labels.

    The web map (:func:`geoagri.maps.plan_map`) and the print map
    (:func:`geoagri.print_map.print_map`) both draw this, so a commune has
    one class and one colour in both.

    Parameters
    ----------
    plan : Plan
        The plan (its linkage table is computed when ``linkage`` is None).
    communes : GeoDataFrame
        The plan's communes (``commune_id``).
    linkage : DataFrame or None
        The plan's linkage table (``PlanResults.linkage``).
    language : {"vi", "en"}, default "vi"
        Number style of the labels.
    k : int, default 5
        Number of classes at most (fewer when there are fewer distinct values).

    Returns
    -------
    CoverageClasses

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> cc = coverage_classes(plan, plan.only("communes"), None, language="en")
    >>> len(cc.classes) == len(plan.only("communes")), cc.colors[-1]
    (True, '#006837')
    """
    cov = _linkage_coverage(plan, communes, linkage)
    cls, bins = _classes(cov["coverage_pct"].to_numpy(), k)
    pal = _palette_for(len(bins))
    lows = [float(np.nanmin(cov["coverage_pct"])) if len(cov) else 0.0, *bins[:-1]]
    labels = [f"{format_pct(lo, language=language)} – {format_pct(hi, language=language)}"
              for lo, hi in zip(lows, bins, strict=True)]
    return CoverageClasses(cov, cls, pal, labels)


def _legend_items(values: Sequence[Any], colors: Mapping[Any, str], shape: str, language: str,
                  field: str | None = None) -> list[tuple[str, str, str]]:
    """Legend rows (colour, label, shape) of the values present, in the palette's order."""
    present = {v for v in values if not pd.isna(v)}
    keys = [k for k in colors if k in present] + sorted(
        (v for v in present if v not in colors), key=str)
    return [(colors.get(k, _styles.OTHER), _labels.value_label(k, language, field=field), shape)
            for k in keys]


#: How a gap is hatched by what is missing: angle of the stripes (degrees)
#: and whether they cross.
_HATCHES = {"pump": (45, False), "power": (-45, False), "both": (45, True)}


def drawn_gaps(gaps: gpd.GeoDataFrame, *, min_gap_ha: float = DEFAULT_MIN_GAP_HA,
               language: str = "vi") -> tuple[gpd.GeoDataFrame, np.ndarray, str | None]:
    """The gaps a map draws, what each lacks, and the note on those left off.

    Empty geometries are dropped; gaps whose ``area_ha`` is under
    ``min_gap_ha`` are left off and counted in the note; ``missing`` values
    other than ``pump``, ``power`` and ``both`` (or no such column) are drawn
    as ``both``.  Both maps (:func:`geoagri.maps.plan_map`,
    :func:`geoagri.print_map.print_map`) draw this.

    Returns
    -------
    gaps : GeoDataFrame
    missing : ndarray of str
        ``pump``, ``power`` or ``both``, one per gap kept.
    note : str or None
        "41 vùng thiếu nhỏ hơn 0,1 ha không vẽ trên bản đồ." when any were left off.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> g = gpd.GeoDataFrame({"missing": ["pump", "power"], "area_ha": [0.05, 3.0]},
    ...                      geometry=[box(0, 0, 1, 1), box(2, 0, 3, 1)], crs=32648)
    >>> kept, missing, note = drawn_gaps(g, language="en")
    >>> list(missing), note
    (['power'], '1 gaps smaller than 0.1 ha are not drawn.')
    """
    t = _T[language]
    gaps = gaps[~(gaps.geometry.isna() | gaps.geometry.is_empty)]
    note = None
    if "area_ha" in gaps.columns and min_gap_ha > 0:
        small = gaps["area_ha"].to_numpy(dtype=float) < min_gap_ha
        if small.any():
            note = t["slivers"].format(n=int(small.sum()), ha=format_area_ha(
                min_gap_ha, language=language, decimals=1))
        gaps = gaps[~small]
    missing = (gaps["missing"].astype(object).where(gaps["missing"].isin(list(_HATCHES)),
                                                    "both").to_numpy()
               if "missing" in gaps.columns else np.full(len(gaps), "both", dtype=object))
    return gaps, missing, note
