"""The one palette of geoagri's outputs: a status or class has one colour everywhere.

The HTML map (:mod:`geoagri.maps`), the Google Earth files and the QGIS
styles (:mod:`geoagri.export`) take their colours from here, so that "Đang
thi công" is the same orange on the screen, in Google Earth and in QGIS, and
"linkage – rice" keeps its colour from plan to plan (colours are chosen by
value, never by a value's position in a sort).

* :data:`COLUMN_COLORS`: column → value → colour (work and pump status,
  zone kind, model support, cooperative type, power phases, the ``missing``
  of a gap).
* :data:`COVERAGE_COLORS`: the classes of the coverage choropleth
  (ColorBrewer YlGn).
* Single colours: power lines, proposals, service areas, boundaries.

Gaps are coloured by what is missing in hues that none of the choropleth's
greens, the zones or the point symbols use: purple (pump service), orange
(three-phase power), dark red (both).

Examples
--------
>>> color_of("status", "under_construction")
'#fb8c00'
>>> color_of("missing", "both"), color_of("missing", "nothing")
('#a50026', None)
"""

from __future__ import annotations

from typing import Any

__all__ = ["COLUMN_COLORS", "COVERAGE_COLORS", "QUALITATIVE", "color_of"]

#: Classes of the linkage-coverage choropleth (ColorBrewer YlGn, 5 classes).
COVERAGE_COLORS = ("#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837")

#: Irrigation works by status, in pipeline order (grey → blue → purple → orange → green).
WORK_STATUS = {"planned": "#9e9e9e", "surveyed": "#42a5f5", "designed": "#7e57c2",
               "under_construction": "#fb8c00", "completed": "#2e7d32"}
#: Pump stations by status.
PUMP_STATUS = {"operating": "#1f78b4", "planned": "#9e9e9e", "under_construction": "#fb8c00",
               "out_of_service": "#6d4c41"}
#: Gaps by what is missing.
GAP_MISSING = {"pump": "#984ea3", "power": "#ff7f00", "both": "#a50026"}
#: Zones by kind.
ZONE_KIND = {"linkage": "#1a9641", "production": "#fdae61", "area_code": "#2b83ba"}
#: Models by support.
MODEL_SUPPORT = {"supported": "#d7191c", "self": "#fdae61"}
#: Cooperatives by type.
COOP_TYPE = {"htx": "#6a3d9a", "tht": "#cab2d6", "hoi_quan": "#b15928"}
#: Power lines by number of phases ("3" three-phase, "1" single-phase).
PHASES = {"3": "#e31a1c", "1": "#f48fb1"}

THREE_PHASE = PHASES["3"]
OTHER_POWER = PHASES["1"]
#: Proposed pump stations and three-phase lines.
PROPOSAL = "#c51b7d"
#: Pump service areas.
SERVICE_AREA = "#0288d1"
#: Commune boundaries and the offline basemap.
BOUNDARY = "#555555"
CANAL = "#4a90c2"
PARCEL = "#bdb76b"
OTHER = "#808080"

#: Colours of values not in a palette, in order of first appearance.
QUALITATIVE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
               "#a6761d", "#1f78b4", "#b2df8a", "#fb9a99")

#: Column → value → colour.  ``status`` is the works' palette; pumps use
#: :data:`PUMP_STATUS` (the same colour for a status both have).
COLUMN_COLORS: dict[str, dict[str, str]] = {
    "status": {**PUMP_STATUS, **WORK_STATUS}, "missing": GAP_MISSING,
    "zone_kind": ZONE_KIND, "support": MODEL_SUPPORT, "coop_type": COOP_TYPE,
    "phases": PHASES,
}


def color_of(column: str, value: Any) -> str | None:
    """The colour of a value of a column, or ``None`` if the palette has none.

    Examples
    --------
    >>> color_of("zone_kind", "linkage"), color_of("phases", 3)
    ('#1a9641', '#e31a1c')
    """
    key = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return COLUMN_COLORS.get(column, {}).get(key)
