"""Old → new commune lineage of the 2025 reorganisation: the official table and the overlay.

Private helpers of :mod:`geoagri.reform`.  :func:`official_lineage` reads the
lineage the ``vietnamadminunits`` package ships (its address converter's
tables: which old communes each new commune was formed from, and, for the 471
old communes divided between several new ones, the list of those new ones;
the five island districts that had no communes and became special zones,
đặc khu, are not in it);
:func:`overlay_lineage` computes the share of each old commune's area in each
new commune from boundaries, with :func:`geoagri.area.area_by_zone`.

Examples
--------
>>> t = official_lineage()
>>> len(t), t["old_code"].nunique(), t["new_code"].nunique()
(10597, 10035, 3316)
>>> int((t.groupby("old_code")["new_code"].size() > 1).sum())
471
"""

from __future__ import annotations

import logging
import warnings
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoagri.errors import GeoagriWarning, GeometryError, LayerError, Problem, SchemaError
from geoagri.names import admin_units

__all__ = ["LINEAGE_COLUMNS", "code_text", "official_lineage", "overlay_lineage"]

log = logging.getLogger("geoagri")

#: Columns of a lineage table, in order.
LINEAGE_COLUMNS = (
    "old_code",
    "old_name",
    "old_district",
    "old_province",
    "new_code",
    "new_name",
    "new_province",
    "weight",
    "weight_source",
    "approximate",
    "part_area_ha",
    "default_new",
)


def code_text(value: object) -> str | None:
    """A commune code as text: numbers zero-padded to 5 digits (Excel drops the zeros).

    >>> code_text(4), code_text("27775"), code_text(27775.0), code_text("A1"), code_text(None)
    ('00004', '27775', '27775', 'A1', None)
    """
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    return text.zfill(5) if text.isdigit() else text


@lru_cache(maxsize=1)
def _official() -> pd.DataFrame:
    """The whole official lineage (cached; never hand out: callers copy)."""
    from geoagri._admin_data import converter_2025, get_data

    lineage = converter_2025()

    # plain dicts from the rows (ten thousand of them: no frame needed)
    old_code_of = {
        f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey']}": r["wardCode"]
        for r in get_data(
            fields=["provinceKey", "districtKey", "wardKey", "wardCode"], table="admin_units_legacy"
        )
        if r["wardCode"] is not None  # island districts have no ward
    }
    new_code_of = {
        (r["provinceKey"], r["wardKey"]): r["wardCode"]
        for r in get_data(fields=["provinceKey", "wardKey", "wardCode"], table="admin_units")
    }
    rows: list[tuple[str, str, bool, bool]] = []  # old code, new code, divided, default
    for province, wards in lineage["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward, olds in wards.items():
            rows += [
                (old_code_of[o], new_code_of[province, ward], False, True)
                for o in olds
                if o in old_code_of
            ]  # island districts have no ward
    for province, olds in lineage["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, news in olds.items():
            rows += [
                (
                    old_code_of[old],
                    new_code_of[province, n["newWardKey"]],
                    True,
                    bool(n["isDefaultNewWard"]),
                )
                for n in news
            ]
    pairs = pd.DataFrame(rows, columns=["old_code", "new_code", "divided", "default_new"])
    old, new = (
        admin_units(era=era).rename(
            columns={
                c: f"{era}_{c.removeprefix('commune_')}"
                for c in ("commune_code", "commune_name", "district", "province", "province_code")
            }
        )
        for era in ("old", "new")
    )
    table = pairs.merge(
        old[["old_code", "old_name", "old_district", "old_province", "old_province_code"]],
        on="old_code",
        how="left",
        validate="m:1",
    )
    table = table.merge(
        new[["new_code", "new_name", "new_province", "new_province_code"]],
        on="new_code",
        how="left",
        validate="m:1",
    )
    n_new = table.groupby("old_code")["new_code"].transform("size")
    table["weight"] = 1.0 / n_new
    table["weight_source"] = np.where(table["divided"], "official_equal_split", "whole")
    table["approximate"] = table["divided"].to_numpy(dtype=bool)
    table["part_area_ha"] = np.nan
    table = table.sort_values(["new_province_code", "new_code", "old_code"], kind="stable")
    return table.reset_index(drop=True)


def official_lineage(*, province_codes: set[str] | None = None, era: str = "old") -> pd.DataFrame:
    """Official lineage rows, optionally those of some provinces.

    ``era="old"``: the old communes of those old provinces; ``era="new"``: the
    old communes that went, wholly or in part, into those new provinces.  Every
    row of a kept old commune is kept, so its weights still sum to 1.  The
    result has :data:`LINEAGE_COLUMNS` plus ``old_province_code`` and
    ``new_province_code``.
    """
    table = _official()
    if province_codes is not None:
        column = "old_province_code" if era == "old" else "new_province_code"
        kept = set(table.loc[table[column].isin(province_codes), "old_code"])
        table = table[table["old_code"].isin(kept)]
    cols = [*LINEAGE_COLUMNS, "old_province_code", "new_province_code"]
    return table.loc[:, cols].reset_index(drop=True).copy()


def _layer_frame(layer: gpd.GeoDataFrame, name: str) -> gpd.GeoDataFrame:
    """commune_id (as code text), commune_name, district, province and geometry of a layer."""
    if not isinstance(layer, gpd.GeoDataFrame):
        raise SchemaError(
            f"{name} must be a GeoDataFrame of communes (polygons); got "
            f"{type(layer).__name__}. Fix: read it with geoagri.io.read_layer("
            "path, kind='communes')"
        )
    missing = [c for c in ("commune_id", "commune_name") if c not in layer.columns]
    if missing:
        raise SchemaError(
            f"layer '{name}' lacks column(s) {missing}; found "
            f"{[c for c in layer.columns if c != layer.geometry.name]}. Fix: read it with "
            "read_layer(path, kind='communes', rename={'MAXA': 'commune_id', "
            "'TENXA': 'commune_name'})"
        )
    if layer.crs is None:
        from geoagri.errors import CRSError

        raise CRSError(
            f"layer '{name}' has no CRS, so its areas cannot be measured. Fix: "
            "layer.set_crs('EPSG:...') with the CRS its coordinates are in"
        )
    frame = gpd.GeoDataFrame(
        {
            "commune_id": [code_text(v) for v in layer["commune_id"]],
            "commune_name": layer["commune_name"].to_numpy(dtype=object),
            "district": (layer["district"].to_numpy(dtype=object) if "district" in layer else None),
            "province": (layer["province"].to_numpy(dtype=object) if "province" in layer else None),
        },
        geometry=layer.geometry.to_numpy(),
        crs=layer.crs,
    )
    problems = []
    ids = frame["commune_id"]
    if ids.isna().any():
        problems.append(
            Problem(
                "missing_id",
                "commune_id is empty",
                layer=name,
                column="commune_id",
                ids=[f"row {i}" for i in layer.index[ids.isna().to_numpy()]],
                fix="give every commune its code",
            )
        )
    dup = ids.notna() & ids.duplicated(keep=False)
    if dup.any():
        problems.append(
            Problem(
                "duplicate_id",
                "several rows share a commune_id",
                layer=name,
                column="commune_id",
                ids=sorted(set(ids[dup])),
                fix="give every commune one row (dissolve its parts)",
            )
        )
    empty = frame.geometry.isna() | frame.geometry.is_empty
    if empty.any():
        problems.append(
            Problem(
                "null_geometry",
                "the boundary is null or empty",
                layer=name,
                ids=list(ids[empty.to_numpy()].astype(str)),
                fix="draw the boundary or drop the row",
            )
        )
    if problems:
        raise LayerError(name, problems)
    return frame


def overlay_lineage(
    old_communes: gpd.GeoDataFrame,
    new_communes: gpd.GeoDataFrame,
    *,
    crs: Any = None,
    min_share_pct: float = 1.0,
) -> pd.DataFrame:
    """Lineage from boundaries: each old commune's area share in each new commune.

    When every old ``commune_id`` is an official old code and every new one an
    official new code, the official lineage says which new communes each old
    one went into: an old commune wholly merged keeps weight 1 (``"whole"``),
    and only a divided one is weighed by the overlay, among its official new
    communes (``"geometry"``).  Otherwise the overlay alone decides: shares
    below ``min_share_pct`` (slivers where two sources draw a border slightly
    differently) are dropped and the rest renormalised; area outside every
    new commune, when not a sliver, goes to a row without ``new_code``.
    """
    old = _layer_frame(old_communes, "old_communes")
    new = _layer_frame(new_communes, "new_communes")
    from geoagri.area import area_by_zone
    from geoagri.crs import area_ha

    zones = gpd.GeoDataFrame(
        {"_old": old["commune_id"].to_numpy(dtype=object)},
        geometry=old.geometry.to_numpy(),
        crs=old.crs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeoagriWarning)  # non-polygons: raise below instead
        try:
            t = area_by_zone(zones, new, by="_old", dissolve=False, crs=crs)
        except GeoagriWarning as w:
            raise GeometryError(
                f"layer 'old_communes': {w}. Fix: old communes must be polygons"
            ) from None
    old_area = pd.Series(
        area_ha(zones, crs=t.attrs["metric_crs"]).to_numpy(), index=old["commune_id"].to_numpy()
    )
    zero = old_area[~(old_area > 0)]
    if len(zero):
        raise LayerError(
            "old_communes",
            [
                Problem(
                    "zero_area",
                    "the boundary has no area, so no share can be computed",
                    layer="old_communes",
                    ids=list(zero.index),
                    fix="fix or drop these communes",
                )
            ],
        )
    overlap = pd.DataFrame(
        {
            "old_code": t["_old"].to_numpy(dtype=object),
            "new_code": [None if pd.isna(c) else str(c) for c in t["commune_id"]],
            "area_ha": t["area_ha"].to_numpy(dtype=float),
        }
    )
    official = _official()
    old_ids, new_ids = set(old["commune_id"]), set(new["commune_id"])
    if old_ids <= set(official["old_code"]) and new_ids <= set(official["new_code"]):
        log.info("reform: official codes in both layers; boundaries weigh the divided communes")
        rows = official[official["old_code"].isin(old_ids)]
        table = _weigh_official(rows, overlap, old_area, new_ids, min_share_pct)
    else:
        log.info("reform: codes not all official; the lineage comes from the overlay alone")
        table = _weigh_overlay(overlap, old_area, old, new, min_share_pct)
    return table.loc[:, list(LINEAGE_COLUMNS)].reset_index(drop=True)


def _weigh_official(
    rows: pd.DataFrame,
    overlap: pd.DataFrame,
    old_area: pd.Series,
    new_ids: set[str],
    min_share_pct: float,
) -> pd.DataFrame:
    inside = overlap[overlap["new_code"].notna()]
    area_of = inside.set_index(["old_code", "new_code"])["area_ha"].to_dict()
    out, disagree, fallback = [], [], []
    for code, group in rows.groupby("old_code", sort=False):
        group = group.copy()
        areas = np.array([area_of.get((code, n), 0.0) for n in group["new_code"]])
        if len(group) == 1:
            group["part_area_ha"] = old_area[code]
            if group["new_code"].iloc[0] in new_ids and areas[0] < 0.5 * old_area[code]:
                disagree.append(
                    f"{code} ({areas[0] / old_area[code]:.0%} in {group['new_code'].iloc[0]})"
                )
        else:
            keep = areas >= min_share_pct / 100 * old_area[code]
            if not keep.any():
                fallback.append(code)
            else:
                group = group[keep]
                weights = areas[keep] / areas[keep].sum()
                group["weight"] = weights
                group["weight_source"] = "geometry"
                group["approximate"] = False
                group["part_area_ha"] = weights * old_area[code]
        out.append(group)
    if fallback:
        warnings.warn(
            f"reform: divided old communes {fallback} overlap none of their official "
            "new communes in the boundaries given: their shares stay equal "
            "(approximate)",
            GeoagriWarning,
            stacklevel=3,
        )
    if disagree:
        warnings.warn(
            "reform: the boundaries disagree with the official lineage for old communes "
            f"wholly merged into one new commune but lying mostly elsewhere: {disagree[:10]}. "
            "Check that the old layer holds old codes and the new layer new (2025) codes",
            GeoagriWarning,
            stacklevel=3,
        )
    return pd.concat(out, ignore_index=True)


def _weigh_overlay(
    overlap: pd.DataFrame,
    old_area: pd.Series,
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    min_share_pct: float,
) -> pd.DataFrame:
    old_info = old.set_index("commune_id")
    new_info = new.set_index("commune_id")
    out, outside = [], []
    for code in old["commune_id"]:
        group = overlap[overlap["old_code"] == code]
        share = group["area_ha"].to_numpy() / old_area[code]
        keep = share >= min_share_pct / 100
        if not keep.any():  # only slivers: keep the largest
            keep = share == share.max()
        group = group[keep]
        weights = group["area_ha"].to_numpy() / group["area_ha"].sum()
        if group["new_code"].isna().any():
            outside.append(f"{code} ({float(share[keep][group['new_code'].isna()][0]):.0%})")
        for (_, part), weight in zip(group.iterrows(), weights, strict=True):
            n = None if pd.isna(part["new_code"]) else part["new_code"]
            out.append(
                {
                    "old_code": code,
                    "old_name": old_info.at[code, "commune_name"],
                    "old_district": old_info.at[code, "district"],
                    "old_province": old_info.at[code, "province"],
                    "new_code": n,
                    "new_name": None if n is None else new_info.at[n, "commune_name"],
                    "new_province": None if n is None else new_info.at[n, "province"],
                    "weight": float(weight),
                    "weight_source": "whole" if len(group) == 1 else "geometry",
                    "approximate": False,
                    "part_area_ha": float(weight * old_area[code]),
                    "default_new": None,
                }
            )
    if outside:
        warnings.warn(
            f"reform: old communes partly outside every new commune: {outside[:10]}; "
            "that part is carried to a row without new_code",
            GeoagriWarning,
            stacklevel=3,
        )
    return pd.DataFrame(out, columns=list(LINEAGE_COLUMNS))
