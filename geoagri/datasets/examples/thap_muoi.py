"""Example plan "thap-muoi": Huyện Tháp Mười (Đồng Tháp), collective economy (seed 002).

SYNTHETIC, shaped like the district's report of 30/8/2023 on one year of
Nghị quyết 20-NQ/TW: the thirteen communes of Huyện Tháp Mười keep their
real names and codes (30037–30073) on a made-up grid; every zone, contract,
cooperative (except the hội quán of the document's footnote, with their
members) and figure is made up so that the indicator engine gives the
document's figures:

* rice linkage as sown area over the seasons: DX 2022-2023 11.250 ha + HT
  2023 9.870,5 ha + TD 2023 2.063,3 ha = **23.183,8 ha / 26.000 ha, 89,16%**,
  **20,07%** of the district's sown area of the year (115.500 ha, a
  statistics row);
* **22 HTX** (19 agricultural services, 1 multi-service, 2 transport), **01**
  founded in 2023 (HTX đa dịch vụ An Phát, Thị trấn Mỹ An);
* **130 THT with 3.200 members**, 01 founded in 2023;
* **15 hội quán with 649 members**, 06 more than in 2022;
* **06 HTX with area codes on 1.597,93 ha** (5 rice codes 1.586,53 ha,
  01 jackfruit code 11,4 ha).

Examples
--------
>>> layers = build_layers()
>>> sorted(layers)
['communes', 'cooperatives', 'statistics', 'targets', 'zones']
>>> int((layers["cooperatives"]["coop_type"] == "tht").sum())
130
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
    point_in,
    targets_table,
)

__all__ = ["AREA_CODES", "FARMER_CLUBS", "PLAN", "README", "YEAR", "build_layers"]

#: Reporting year of the example.
YEAR = 2023
DISTRICT = "Huyện Tháp Mười"
PROVINCE = "Tỉnh Đồng Tháp"
_REF = "Báo cáo 01 năm thực hiện NQ 20-NQ/TW của UBND huyện Tháp Mười (đến 30/8/2023)"

#: The document's footnote 3: hội quán, commune code, members (15 clubs, 649 members).
FARMER_CLUBS = (
    ("Thuận Kiều Hội quán", "30061", 32), ("Mỹ Kiều Hội quán", "30061", 28),
    ("An Tâm Hội quán", "30037", 72), ("Thuận Phát Hội quán", "30070", 26),
    ("Minh Hòa Hội quán", "30073", 59), ("Tâm Quí Hội quán", "30055", 62),
    ("Xuân Hòa Hội quán", "30046", 43), ("Minh Điền Hội quán", "30067", 40),
    ("Thuận Tâm Hội quán", "30058", 32), ("Ngư Hưng Hội quán", "30043", 31),
    ("Bình An Hội quán", "30064", 37), ("Tân Phát Hội quán", "30049", 55),
    ("Lợi Phát Hội quán", "30040", 46), ("Đồng Tâm Hội quán", "30070", 73),
    ("Hội quán du lịch Đồng Sen Tháp Mười", "30052", 13),
)
#: Clubs founded in the reporting year (synthetic choice: the last six of the footnote).
_NEW_CLUBS = 6

# rice linkage contracts: season -> [(commune index, height m of a 5 km wide field)]
_LINKAGE = {
    "DX 2022-2023": [(i, 2_500.0) for i in range(9)],                      # 9 × 1.250 ha
    "HT 2023": [(i, 2_500.0) for i in range(7)] + [(7, 2_241.0)],          # + 1.120,5 ha
    "TD 2023": [(9, 2_000.0), (10, 2_000.0), (11, 126.6)],                 # 2.063,3 ha
}
#: Area codes: the commune index of the cooperative, crop, declared ha (5 rice codes on
#: 1.586,53 ha, 01 jackfruit code on 11,4 ha).
AREA_CODES = [(1, "rice", 320.0), (2, "rice", 310.0), (3, "rice", 330.0),
               (7, "rice", 300.0), (10, "rice", 326.53), (8, "jackfruit", 11.4)]
_SOWN_AREA_HA = {2022: 114_800.0, YEAR: 115_500.0}  # the district's statistics office
# HTX by sector (linh_vuc): 19 agricultural services, 1 multi-service, 2 transport
_SECTORS = ["dịch vụ nông nghiệp"] * 19 + ["đa dịch vụ"] + ["dịch vụ vận tải"] * 2
_THT, _THT_MEMBERS = 130, 3_200


def _zones(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    codes = list(communes["commune_id"])
    rows = []
    for season, fields in _LINKAGE.items():
        for k, (i, height) in enumerate(fields):
            dy = 500.0 if season != "TD 2023" else 3_200.0
            rows.append({"zone_id": f"LK-{season[:2]}-{k + 1:02d}", "zone_kind": "linkage",
                         "crop": "rice", "season": season, "status": "active",
                         "partner": f"Công ty Lương thực Demo {'ABC'[k % 3]}",
                         "commune_id": codes[i],
                         "geometry": box_in(communes, codes[i], 500.0, dy, 5_000.0, height)})
    # a second contract on a DX field (counted once in its season) and an ended one
    rows.append({"zone_id": "LK-DX-10", "zone_kind": "linkage", "crop": "rice",
                 "season": "DX 2022-2023", "status": "active",
                 "partner": "Công ty Lương thực Demo B", "commune_id": codes[0],
                 "geometry": box_in(communes, codes[0], 1_000.0, 1_000.0, 2_000.0, 1_000.0)})
    rows.append({"zone_id": "LK-HT-99", "zone_kind": "linkage", "crop": "rice",
                 "season": "HT 2023", "status": "ended", "partner": "Công ty Lương thực Demo C",
                 "commune_id": codes[12],
                 "geometry": box_in(communes, codes[12], 500.0, 500.0, 5_000.0, 2_500.0)})
    for k, (i, crop, ha) in enumerate(AREA_CODES):
        w = 2_000.0 if ha > 100 else 200.0
        rows.append({"zone_id": f"MSVT-{k + 1:02d}", "zone_kind": "area_code", "crop": crop,
                     "cooperative": _htx_name(i, codes, communes), "declared_area_ha": ha,
                     "area_code": f"87-872-{k + 1:03d} (demo)", "start_year": 2022,
                     "commune_id": codes[i],
                     "geometry": box_in(communes, codes[i], 3_800.0, 3_200.0 - 2_600.0 * (
                         crop == "jackfruit"), w, ha * 1e4 / w)})
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    return gdf.astype({"start_year": "Int64"}).assign(note=NOTE)


def _htx_name(i: int, codes: list[str], communes: gpd.GeoDataFrame) -> str:
    name = communes.loc[communes["commune_id"] == codes[i], "commune_name"].iloc[0]
    return f"HTX DVNN {name.removeprefix('Xã ').removeprefix('Thị trấn ')} (demo)"


def _cooperatives(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    codes = list(communes["commune_id"])
    rows: list[dict] = []
    slot = dict.fromkeys(codes, 0)

    def add(code: str, **row: object) -> None:
        rows.append({**row, "commune_id": code, "geometry": point_in(communes, code,
                                                                     slot[code])})
        slot[code] += 1

    for k, sector in enumerate(_SECTORS):
        i = k % len(codes)
        if sector == "đa dịch vụ":
            add("30037", coop_id="HTX20", name="HTX đa dịch vụ An Phát", coop_type="htx",
                members=25, founded_year=YEAR, linh_vuc=sector)
            continue
        name = (_htx_name(i, codes, communes) if k < len(codes)
                else f"HTX {sector} số {k + 1} (demo)")
        add(codes[i], coop_id=f"HTX{k + 1:02d}", name=name, coop_type="htx",
            members=40 + (k * 17) % 90, founded_year=2008 + k % 14, linh_vuc=sector)
    members = [15 + (k * 7) % 20 for k in range(_THT)]
    members[-1] += _THT_MEMBERS - sum(members)
    for k, m in enumerate(members):
        add(codes[k % len(codes)], coop_id=f"THT{k + 1:03d}", name=f"THT số {k + 1} (demo)",
            coop_type="tht", members=m, founded_year=YEAR if k == _THT - 1 else 2010 + k % 13)
    for k, (name, code, m) in enumerate(FARMER_CLUBS):
        new = k >= len(FARMER_CLUBS) - _NEW_CLUBS
        add(code, coop_id=f"HQ{k + 1:02d}", name=name, coop_type="hoi_quan", members=m,
            founded_year=YEAR if new else 2017 + k % 5)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    return gdf.astype({"members": "int64", "founded_year": "int64"}).assign(note=NOTE)


def build_layers() -> dict[str, pd.DataFrame]:
    """Every layer of the example, in memory (communes, zones, cooperatives, statistics,
    targets)."""
    communes = commune_grid(official_communes("Đồng Tháp", "Tháp Mười"), province=PROVINCE,
                            size_m=(6_000.0, 6_000.0), columns=5, origin=(590_000.0,
                                                                          1_160_000.0))
    statistics = pd.DataFrame({"district": DISTRICT, "year": list(_SOWN_AREA_HA),
                               "sown_area_ha": list(_SOWN_AREA_HA.values()), "note": NOTE})
    targets = targets_table([
        {"indicator": "linkage_sown_area", "unit": "ha", "scope": "district",
         "scope_id": DISTRICT, "year": YEAR, "source": "plan", "target": 26_000.0,
         "decimals": 2, "source_ref": _REF},
    ])
    return {"communes": communes, "zones": _zones(communes),
            "cooperatives": _cooperatives(communes), "statistics": statistics,
            "targets": targets}


PLAN = f"""\
# SYNTHETIC example (seed 002): real commune names and codes, made-up geometry and data.
[plan]
name = "Huyện Tháp Mười — ví dụ tổng hợp (SYNTHETIC)"
province = "Đồng Tháp"
district = "{DISTRICT}"
era = "old"
metric_crs = "{CRS}"
year = {YEAR}
description = "Kinh tế tập thể và liên kết tiêu thụ lúa, dựng theo báo cáo 30/8/2023"

# "có 19 HTX dịch vụ nông nghiệp, 01 HTX đa dịch vụ ... và 02 HTX dịch vụ vận tải"
[indicators.cooperatives_by_sector]
label_vi = "Số HTX theo lĩnh vực"
label_en = "Cooperatives by sector"
source = "cooperatives"
measure = "count"
counts = "HTX"
where = {{ coop_type = "htx", founded_year = ["<= year", ""] }}
by = ["linh_vuc"]
"""

README = """\
# Example plan "thap-muoi" — SYNTHETIC

Huyện Tháp Mười (Đồng Tháp), shaped like the district's report on one year of
Nghị quyết 20-NQ/TW (seed 002). Commune names and codes are real; every geometry,
contract, cooperative and figure is made up (the hội quán and their members are the
document's footnote). `geoagri run plan.toml --out OUT` gives the document's figures:
23.183,8 ha of rice linkage over the seasons, 89,16% of 26.000 ha and 20,07% of the
sown area; 22 HTX, 130 THT with 3.200 members, 15 hội quán with 649 members; 06 HTX
with area codes on 1.597,93 ha. Generated by `geoagri/datasets/examples/thap_muoi.py`.
"""

