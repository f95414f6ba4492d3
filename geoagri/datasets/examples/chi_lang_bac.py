"""Example plan "chi-lang-bac": Xã Chi Lăng Bắc (Thanh Miện, Hải Dương), seed 003.

SYNTHETIC, shaped like the commune Party committee's plan 59-KH/ĐU of
31/3/2023 (clean, organic, high-value farming): the commune keeps its real
name and code (11281) on a made-up 780 ha rectangle; every field, household
and figure is made up so that the indicator engine gives the plan's figures:

* **03 crop models in a linkage chain**: winter potato **18 ha**, medicinal
  plants **03 ha**, other produce **03 ha**;
* **05 households** that consolidated **≥ 03 ha** each by the end of 2023
  (a sixth has 2,9 ha and is not counted);
* the harvest value per ha of cropland and aquaculture, **210 triệu
  đồng/ha** (a statistics row of the commune; the plan's target for 2025);
* the **38 ha** aquaculture zone of thôn Phú Khê (a planned production zone).

Examples
--------
>>> layers = build_layers()
>>> holdings = layers["parcels"].groupby("holder_id")["declared_area_ha"].sum()
>>> int((holdings >= 3).sum())
5
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

__all__ = ["PLAN", "README", "YEAR", "build_layers"]

#: Reporting year of the example.
YEAR = 2023
CODE, NAME = "11281", "Xã Chi Lăng Bắc"
_REF = "KH 59-KH/ĐU ngày 31/3/2023 của Đảng ủy xã Chi Lăng Bắc"

# linkage models: zone id, crop, width and height (m) of the field
_MODELS = [("MH-01", "potato", 600.0, 300.0),        # 18 ha
           ("MH-02", "medicinal", 300.0, 100.0),     # 03 ha
           ("MH-03", "other", 300.0, 100.0)]         # 03 ha
# holdings (ha per parcel) of the households: five with ≥ 3 ha, one with 2,9 ha
_HOLDINGS = [(1.2, 1.0, 1.0), (1.5, 2.0), (0.8, 1.1, 1.0, 1.2), (2.5, 2.5), (1.8, 1.8),
             (1.5, 1.4)] + [((0.2 + 0.05 * (k % 9)),) * (1 + k % 3) for k in range(30)]
# the commune's statistics: cropland and aquaculture (ha), harvest value (VND)
_STATISTICS = [(2022, 610.0, 206.0), (YEAR, 612.5, 210.0)]  # year, ha, triệu đồng/ha


def _zones(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rows = [{"zone_id": zid, "zone_kind": "linkage", "crop": crop, "status": "active",
             "start_year": YEAR, "partner": "Công ty Nông sản sạch Demo (Hải Dương)",
             "cooperative": "HTX DVNN Chi Lăng Bắc (demo)", "commune_id": CODE,
             "geometry": box_in(communes, CODE, 200.0 + 700.0 * k, 200.0, w, h)}
            for k, (zid, crop, w, h) in enumerate(_MODELS)]
    rows.append({"zone_id": "NTTS-PK", "zone_kind": "production", "crop": "fish",
                 "status": "planned", "start_year": YEAR, "partner": None,
                 "cooperative": None, "commune_id": CODE,
                 "description": "Khu nuôi trồng thủy sản tập trung thôn Phú Khê",
                 "geometry": box_in(communes, CODE, 2_000.0, 2_000.0, 800.0, 475.0)})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).assign(note=NOTE)


def _parcels(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    rows, x, y = [], 0.0, 800.0
    for h, areas in enumerate(_HOLDINGS):
        for ha in areas:
            depth = ha * 1e4 / 50.0  # 50 m wide strips
            if x + 50.0 > 3_000.0:
                x, y = 0.0, y + 520.0
            rows.append({"parcel_id": f"{CODE}-{len(rows) + 1:04d}",
                         "holder_id": f"HO-{h + 1:03d}", "land_use": "LUC",
                         "declared_area_ha": round(ha, 2), "commune_id": CODE,
                         "geometry": box_in(communes, CODE, x, y, 50.0, depth)})
            x += 50.0
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS).assign(note=NOTE)


def build_layers() -> dict[str, pd.DataFrame]:
    """Every layer of the example, in memory (communes, zones, parcels, statistics,
    targets)."""
    units = [u for u in official_communes("Hải Dương", "Thanh Miện") if u[0] == CODE]
    communes = commune_grid(units, province="Tỉnh Hải Dương", size_m=(3_000.0, 2_600.0),
                            columns=1, origin=(632_000.0, 2_289_000.0))
    statistics = pd.DataFrame({
        "commune_id": CODE, "year": [s[0] for s in _STATISTICS],
        "farmland_area_ha": [s[1] for s in _STATISTICS],
        "harvest_value_vnd": [s[1] * s[2] * 1e6 for s in _STATISTICS], "note": NOTE})
    commune = {"scope": "commune", "scope_id": NAME, "source": "plan", "source_ref": _REF}
    targets = targets_table([
        {**commune, "indicator": "harvest_value_per_ha", "unit": "triệu đồng/ha",
         "year": 2025, "target": 210.0},
        {**commune, "indicator": "linkage_models", "unit": "mô hình", "year": YEAR,
         "target": 3.0},
        {**commune, "indicator": "consolidated_holders", "unit": "hộ", "year": YEAR,
         "target": 5.0},
        {**commune, "indicator": "aquaculture_zone_area", "unit": "ha", "year": YEAR,
         "target": 38.0},
    ])
    return {"communes": communes, "zones": _zones(communes), "parcels": _parcels(communes),
            "statistics": statistics, "targets": targets}


PLAN = f"""\
# SYNTHETIC example (seed 003): the real commune name and code, made-up geometry and data.
[plan]
name = "Xã Chi Lăng Bắc — ví dụ tổng hợp (SYNTHETIC)"
province = "Hải Dương"
district = "Huyện Thanh Miện"
era = "old"
metric_crs = "{CRS}"
year = {YEAR}
description = "Nông nghiệp sạch, hữu cơ, giá trị cao, dựng theo KH 59-KH/ĐU ngày 31/3/2023"

# "Hoàn thiện Đề án khu nuôi trồng thủy sản tập trung 38ha tại thôn Phú Khê"
[indicators.aquaculture_zone_area]
label_vi = "Diện tích khu nuôi trồng thủy sản tập trung"
label_en = "Area of the concentrated aquaculture zone"
source = "zones"
measure = "area"
unit = "ha"
where = {{ zone_kind = "production", crop = "fish" }}
"""

README = """\
# Example plan "chi-lang-bac" — SYNTHETIC

Xã Chi Lăng Bắc (Huyện Thanh Miện, Hải Dương), shaped like the commune's plan
59-KH/ĐU of 31/3/2023 (seed 003). The commune's name and code are real; its shape,
fields, households and figures are made up. `geoagri run plan.toml --out OUT` gives
the plan's figures: 03 linkage models (potato 18 ha, medicinal plants 03 ha, other
03 ha), 05 households with ≥ 03 ha, 210 triệu đồng/ha, the 38 ha aquaculture zone.
Generated by `geoagri/datasets/examples/chi_lang_bac.py`.
"""

