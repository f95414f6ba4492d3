"""Example plan "lai-chau": Tỉnh Lai Châu, concentrated commodity production (seed 001).

SYNTHETIC, shaped like the provincial Party committee's conclusions of
7/7/2023 on the mid-term review of Nghị quyết 05-NQ/TU (concentrated
commodity agriculture 2021–2025): two real communes (names and codes) of each
of the eight districts on a made-up grid; every zone, parcel and figure is
made up, and so are the resolution's targets (the document states none of
them), chosen so that the review's findings come out of ``geoagri run``:

* **more than 1.000 ha** of inefficient rice land converted to crops of
  higher value (1.036,5 ha: 320 ha in 2021, 380 ha in 2022, 336,5 ha in 2023);
* **most targets above 50%**, commodity rice **met and exceeded**, new
  planting of ancient tea (**chè cổ thụ**) **low**;
* passion-fruit zones in the four districts the document links, **Than Uyên,
  Tân Uyên, Tam Đường, Phong Thổ**; macadamia, medicinal plants, tea and rice
  zones elsewhere.

Examples
--------
>>> layers = build_layers()
>>> rice = layers["parcels"].query("converted_from == 'rice' and converted_year <= 2023")
>>> round(float(rice.area.sum()) / 1e4, 1)
1036.5
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geoagri.datasets.examples._build import (
    CRS,
    NOTE,
    box_in,
    commune_grid,
    official_communes,
    targets_table,
)

__all__ = ["PASSION_FRUIT_DISTRICTS", "PLAN", "README", "YEAR", "build_layers"]

#: Reporting year of the example (the review of 7/7/2023).
YEAR = 2023
PROVINCE = "Tỉnh Lai Châu"
_REF = ("NQ 05-NQ/TU ngày 22/02/2021 — SYNTHETIC target (the review of 7/7/2023 states "
        "no figure)")
#: The districts linked for passion fruit ("Than Uyên, Tân Uyên, Tam Đường, Phong Thổ").
PASSION_FRUIT_DISTRICTS = ("Huyện Than Uyên", "Huyện Tân Uyên", "Huyện Tam Đường",
                           "Huyện Phong Thổ")

# production zones: district, commune (0 or 1 of the district), crop, width, height (m)
_ZONES = [
    ("Huyện Tam Đường", 0, "passion_fruit", 3_500.0, 1_000.0),    # 350 ha
    ("Huyện Phong Thổ", 0, "passion_fruit", 3_000.0, 1_000.0),    # 300 ha
    ("Huyện Than Uyên", 0, "passion_fruit", 4_500.0, 1_000.0),    # 450 ha
    ("Huyện Tân Uyên", 0, "passion_fruit", 4_000.0, 1_000.0),     # 400 ha
    ("Huyện Tam Đường", 1, "macadamia", 6_000.0, 2_000.0),        # 1.200 ha
    ("Huyện Sìn Hồ", 0, "macadamia", 6_000.0, 3_000.0),           # 1.800 ha
    ("Huyện Phong Thổ", 1, "macadamia", 4_500.0, 2_000.0),        # 900 ha
    ("Huyện Nậm Nhùn", 0, "macadamia", 5_500.0, 2_000.0),         # 1.100 ha
    ("Huyện Mường Tè", 0, "medicinal", 3_000.0, 1_000.0),         # 300 ha
    ("Huyện Sìn Hồ", 1, "medicinal", 3_000.0, 1_000.0),           # 300 ha
    ("Huyện Sìn Hồ", 1, "ancient_tea", 1_200.0, 1_000.0),         # 120 ha
    ("Huyện Mường Tè", 1, "ancient_tea", 800.0, 1_000.0),         # 80 ha
    ("Huyện Than Uyên", 1, "rice", 5_000.0, 4_000.0),             # 2.000 ha
    ("Huyện Tân Uyên", 1, "rice", 5_000.0, 3_000.0),              # 1.500 ha
]
# the resolution's targets for 2025 by crop (SYNTHETIC), ha
_TARGETS = {"commodity_rice_area": 3_000.0, "passion_fruit_area": 2_500.0,
            "macadamia_area": 8_000.0, "medicinal_area": 1_000.0,
            "ancient_tea_area": 1_000.0}
_CROP_OF = {"commodity_rice_area": ("rice", "Diện tích lúa hàng hóa", "Commodity rice area"),
            "passion_fruit_area": ("passion_fruit", "Diện tích chanh leo", "Passion fruit area"),
            "macadamia_area": ("macadamia", "Diện tích mắc ca", "Macadamia area"),
            "medicinal_area": ("medicinal", "Diện tích cây dược liệu",
                               "Medicinal plants area"),
            "ancient_tea_area": ("ancient_tea", "Diện tích trồng mới chè cổ thụ",
                                 "Ancient tea newly planted")}
# rice land converted: district, commune, year, crop now, width, height (m)
_CONVERTED = [
    ("Huyện Than Uyên", 0, 2021, "passion_fruit", 2_000.0, 1_600.0),   # 320 ha
    ("Huyện Tân Uyên", 0, 2022, "fruit", 2_000.0, 1_900.0),            # 380 ha
    ("Huyện Tam Đường", 0, 2023, "passion_fruit", 2_000.0, 1_682.5),   # 336,5 ha
]
_NOT_RICE = ("Huyện Phong Thổ", 0, 2022, "fruit", 1_000.0, 800.0)     # 80 ha of maize land


def _commune(communes: gpd.GeoDataFrame, district: str, k: int) -> str:
    return str(communes.loc[communes["district"] == district, "commune_id"].iloc[k])


def _zones(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rows, used = [], {}
    for n, (district, k, crop, w, h) in enumerate(_ZONES):
        code = _commune(communes, district, k)
        dy = used.get(code, 500.0)
        used[code] = dy + h + 200.0
        rows.append({"zone_id": f"VSX-{n + 1:02d}", "zone_kind": "production", "crop": crop,
                     "status": "active", "start_year": 2021 + n % 3, "commune_id": code,
                     "geometry": box_in(communes, code, 500.0, dy, w, h)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).assign(note=NOTE)


def _parcels(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rows = []
    for n, (district, k, year, crop, w, h) in enumerate([*_CONVERTED, _NOT_RICE]):
        code = _commune(communes, district, k)
        rows.append({"parcel_id": f"CD-{n + 1:02d}", "land_use": crop,
                     "converted_from": "maize" if n == len(_CONVERTED) else "rice",
                     "converted_year": year, "commune_id": code,
                     "geometry": box_in(communes, code, 5_500.0, 500.0 + 2_000.0 * (n % 2),
                                        w, h)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).assign(note=NOTE)


def build_layers() -> dict[str, pd.DataFrame]:
    """Every layer of the example, in memory (communes, zones, parcels, targets)."""
    communes = commune_grid(official_communes("Lai Châu", first=2), province=PROVINCE,
                            size_m=(8_000.0, 8_000.0), columns=4,
                            origin=(340_000.0, 2_460_000.0))
    targets = targets_table(
        {"indicator": ind, "unit": "ha", "scope": "province", "scope_id": PROVINCE,
         "year": 2025, "source": "resolution", "target": t, "source_ref": _REF}
        for ind, t in _TARGETS.items())
    return {"communes": communes, "zones": _zones(communes), "parcels": _parcels(communes),
            "targets": targets}


def _indicator_tables() -> str:
    out = []
    for ind, (crop, vi, en) in _CROP_OF.items():
        out.append(f'''[indicators.{ind}]
label_vi = "{vi}"
label_en = "{en}"
source = "zones"
measure = "area"
unit = "ha"
where = {{ zone_kind = "production", crop = "{crop}", status = ["active", ""], \
start_year = ["<= year", ""] }}
''')
    return "\n".join(out)


PLAN = f"""\
# SYNTHETIC example (seed 001): real commune names and codes, made-up geometry, data and
# targets (the document states no target figure).
[plan]
name = "Tỉnh Lai Châu — ví dụ tổng hợp (SYNTHETIC)"
province = "Lai Châu"
era = "old"
metric_crs = "{CRS}"
year = {YEAR}
description = "Nông nghiệp hàng hóa tập trung, dựng theo Thông báo kết luận sơ kết NQ 05-NQ/TU"

# the production area of each commodity crop of the resolution
{_indicator_tables()}"""

README = """\
# Example plan "lai-chau" — SYNTHETIC

Tỉnh Lai Châu, shaped like the conclusions of 7/7/2023 on the mid-term review of
Nghị quyết 05-NQ/TU (seed 001). Commune names and codes are real (two per district);
every geometry, zone, parcel, figure and target is made up. `geoagri run plan.toml
--out OUT` gives the review's findings: more than 1.000 ha of rice land converted
(1.036,5 ha), most targets above 50%, commodity rice exceeded, ancient tea low;
passion fruit in Than Uyên, Tân Uyên, Tam Đường and Phong Thổ. Generated by
`geoagri/datasets/examples/lai_chau.py`.
"""

