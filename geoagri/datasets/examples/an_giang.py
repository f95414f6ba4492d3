"""Example plan "an-giang": Tỉnh An Giang, cooperatives in value chains (seed 004).

SYNTHETIC, shaped like the province's plan 453/KH-UBND of 7/5/2024: two real
communes (names and codes) of each of the eleven districts on a made-up grid;
every cooperative (HTX), cooperative group (THT) and figure is made up so
that the indicator engine meets the plan's targets exactly:

* **45 HTX NN founded** in 2024 (27 of the year's roadmap and 18 carried
  over from 2023), 200 HTX in all;
* **80%** of the HTX working effectively, **60%** rated good or fair (tốt,
  khá);
* **30%** of the HTX linked with an enterprise;
* in **every district ≥ 03** value-chain HTX and **≥ 02** high-tech HTX;
* **24%** of the HTX managers with a college degree or more;
* **05%** of the 400 THT upgraded to HTX (20 of the new HTX).

Examples
--------
>>> coops = build_layers()["cooperatives"]
>>> htx = coops[coops["coop_type"] == "htx"]
>>> len(htx), int((htx["founded_year"] == 2024).sum()), int(htx["partner"].notna().sum())
(200, 45, 60)
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geoagri.datasets.examples._build import (
    CRS,
    NOTE,
    commune_grid,
    official_communes,
    point_in,
    targets_table,
)

__all__ = ["PLAN", "README", "YEAR", "build_layers"]

#: Reporting year of the example.
YEAR = 2024
PROVINCE = "Tỉnh An Giang"
_REF = "KH 453/KH-UBND ngày 7/5/2024 của UBND tỉnh An Giang"
_HTX, _NEW, _UPGRADED, _THT = 200, 45, 20, 400
# xếp loại of HTX k by k % 20: 5 tốt, 7 khá, 4 trung bình, 4 yếu (25/35/20/20 %)
_RATING = ["tốt"] * 5 + ["khá"] * 7 + ["trung bình"] * 4 + ["yếu"] * 4
_PARTNERS = ["Công ty CP Nông sản Demo A", "Công ty TNHH Lúa gạo Demo B",
             "Công ty CP Thủy sản Demo C"]


def _cooperatives(communes: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    codes = list(communes["commune_id"])
    district_of = dict(zip(codes, communes["district"], strict=True))
    rows: list[dict] = []
    districts = list(dict.fromkeys(communes["district"]))
    seen: dict[str, int] = {}  # HTX so far per district
    slot = dict.fromkeys(codes, 0)
    for k in range(_HTX):
        code = codes[k % len(codes)]
        pos = seen.get(district_of[code], 0)
        seen[district_of[code]] = pos + 1
        # per district: 3 value-chain HTX with a partner, 2 high-tech ones, 2 more with a
        # partner (and a third in the first five districts): 33 + 22 + 5 = 60 of 200
        value_chain = pos < 3
        partner = value_chain or pos in (5, 6) or (
            pos == 7 and districts.index(district_of[code]) < 5)
        rows.append({
            "coop_id": f"HTX{k + 1:03d}", "name": f"HTX nông nghiệp số {k + 1} (demo)",
            "coop_type": "htx", "members": 30 + (k * 13) % 120,
            "partner": _PARTNERS[k % 3] if partner else None,
            "value_chain": value_chain, "high_tech": pos in (3, 4),
            "founded_year": YEAR if k >= _HTX - _NEW else 2005 + k % 19,
            "upgraded_from_tht": _HTX - _NEW <= k < _HTX - _NEW + _UPGRADED,
            "xep_loai": _RATING[k % 20], "managers": 5,
            "managers_college": 2 if k < 40 else 1,
            "commune_id": code, "geometry": point_in(communes, code, slot[code])})
        slot[code] += 1
    for k in range(_THT):
        code = codes[k % len(codes)]
        rows.append({"coop_id": f"THT{k + 1:03d}", "name": f"THT số {k + 1} (demo)",
                     "coop_type": "tht", "members": 10 + (k * 7) % 25,
                     "founded_year": 2010 + k % 14, "commune_id": code,
                     "geometry": point_in(communes, code, slot[code])})
        slot[code] += 1
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    return gdf.astype({"members": "int64", "founded_year": "int64",
                       "managers": "Int64", "managers_college": "Int64"}).assign(note=NOTE)


def build_layers() -> dict[str, pd.DataFrame]:
    """Every layer of the example, in memory (communes, cooperatives, targets)."""
    communes = commune_grid(official_communes("An Giang", first=2), province=PROVINCE,
                            size_m=(6_000.0, 6_000.0), columns=6,
                            origin=(530_000.0, 1_150_000.0))
    province = {"scope": "province", "scope_id": PROVINCE, "year": YEAR, "source": "plan",
                "source_ref": _REF}
    rows = [
        {**province, "indicator": "cooperatives_founded", "unit": "HTX", "target": 45.0},
        {**province, "indicator": "cooperatives_founded", "unit": "HTX", "target": 27.0,
         "source": "roadmap", "source_ref": f"{_REF}: lộ trình năm 2024"},
        {**province, "indicator": "effective_cooperatives_pct", "unit": "%", "target": 80.0},
        {**province, "indicator": "good_cooperatives_pct", "unit": "%", "target": 60.0},
        {**province, "indicator": "cooperatives_with_partner_pct", "unit": "%",
         "target": 30.0},
        {**province, "indicator": "districts_with_3_value_chain_cooperatives",
         "unit": "count", "target": 11.0},
        {**province, "indicator": "districts_with_2_hightech_cooperatives",
         "unit": "count", "target": 11.0},
        {**province, "indicator": "managers_college_pct", "unit": "%", "target": 24.0},
        {**province, "indicator": "groups_upgraded_pct", "unit": "%", "target": 5.0},
    ]
    return {"communes": communes, "cooperatives": _cooperatives(communes),
            "targets": targets_table(rows)}


PLAN = f"""\
# SYNTHETIC example (seed 004): real commune names and codes, made-up geometry and data.
[plan]
name = "Tỉnh An Giang — ví dụ tổng hợp (SYNTHETIC)"
province = "An Giang"
era = "old"
metric_crs = "{CRS}"
year = {YEAR}
description = "Phát triển HTX, THT theo chuỗi giá trị, dựng theo KH 453/KH-UBND ngày 7/5/2024"

# "Có 80% HTX NN hoạt động hiệu quả, trong đó xếp loại tốt, khá từ 60% trở lên"
[indicators.effective_cooperatives]
label_vi = "HTX hoạt động hiệu quả (tốt, khá, trung bình)"
label_en = "Cooperatives working effectively"
source = "cooperatives"
measure = "count"
counts = "HTX"
where = {{ coop_type = "htx", founded_year = ["<= year", ""], \
xep_loai = ["tốt", "khá", "trung bình"] }}

[indicators.effective_cooperatives_pct]
label_vi = "Tỷ lệ HTX hoạt động hiệu quả"
label_en = "Share of cooperatives working effectively"
measure = "ratio"
numerator = "effective_cooperatives"
denominator = "cooperatives"
factor = 100
unit = "%"

[indicators.good_cooperatives]
label_vi = "HTX xếp loại tốt, khá"
label_en = "Cooperatives rated good or fair"
source = "cooperatives"
measure = "count"
counts = "HTX"
where = {{ coop_type = "htx", founded_year = ["<= year", ""], xep_loai = ["tốt", "khá"] }}

[indicators.good_cooperatives_pct]
label_vi = "Tỷ lệ HTX xếp loại tốt, khá"
label_en = "Share of cooperatives rated good or fair"
measure = "ratio"
numerator = "good_cooperatives"
denominator = "cooperatives"
factor = 100
unit = "%"

# "Bộ máy quản lý điều hành của HTX đạt ít nhất 24% có trình độ từ cao đẳng trở lên"
[indicators.managers_college]
label_vi = "Cán bộ quản lý HTX có trình độ cao đẳng trở lên"
source = "cooperatives"
measure = "sum"
column = "managers_college"
unit = "count"
where = {{ coop_type = "htx", founded_year = ["<= year", ""] }}

[indicators.managers_total]
label_vi = "Cán bộ quản lý HTX"
source = "cooperatives"
measure = "sum"
column = "managers"
unit = "count"
where = {{ coop_type = "htx", founded_year = ["<= year", ""] }}

[indicators.managers_college_pct]
label_vi = "Tỷ lệ cán bộ quản lý HTX có trình độ cao đẳng trở lên"
label_en = "Share of cooperative managers with a college degree"
measure = "ratio"
numerator = "managers_college"
denominator = "managers_total"
factor = 100
unit = "%"

# "phát triển ít nhất 05% THT trên tổng số THT hiện có ... được nâng chất phát triển lên HTX"
[indicators.groups_upgraded]
label_vi = "THT nâng chất lên HTX trong năm"
source = "cooperatives"
measure = "count"
counts = "HTX"
where = {{ coop_type = "htx", upgraded_from_tht = true, founded_year = "== year" }}

[indicators.groups_upgraded_pct]
label_vi = "Tỷ lệ THT nâng chất lên HTX"
label_en = "Share of cooperative groups upgraded to cooperatives"
measure = "ratio"
numerator = "groups_upgraded"
denominator = "cooperative_groups"
factor = 100
unit = "%"
"""

README = """\
# Example plan "an-giang" — SYNTHETIC

Tỉnh An Giang, shaped like the province's plan 453/KH-UBND of 7/5/2024 on cooperatives
in value chains (seed 004). Commune names and codes are real (two per district); every
geometry, cooperative and figure is made up. `geoagri run plan.toml --out OUT` meets the
plan's targets exactly: 45 HTX founded, 80% effective and 60% rated good or fair, 30%
linked with an enterprise, every district with ≥ 03 value-chain and ≥ 02 high-tech HTX,
24% of managers with a college degree, 05% of THT upgraded. Generated by
`geoagri/datasets/examples/an_giang.py`.
"""

