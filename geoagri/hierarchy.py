"""The administrative hierarchy by official code: commune → district → province.

Before 1 July 2025 a commune (xã, phường, thị trấn) lies in a district
(huyện, quận, thị xã, thành phố thuộc tỉnh) of a province; from then on
districts are abolished and a commune lies directly in one of 34 provinces.
Reports written before the reform total by district ("toàn huyện 23.865 ha"),
plans after it by the new communes.  This module gives every commune of a
layer its official codes (``vietnamadminunits``, see :mod:`geoagri.names`)
and rolls figures up by **code**, never by name: names repeat (two
"Huyện Châu Thành" in the new Tây Ninh, Huyện and Thị xã Cai Lậy in the
old Tiền Giang, "Xã Thạnh Hưng" in both Tân Hưng and Kiến Tường).

* :func:`hierarchy` — one row per commune of a layer: its commune, district
  (old units) and province codes, names and unit types.
* :func:`assign_units` — the district or province each commune counts in, by
  code, with a weight; new (2025) communes go to the old districts through
  the lineage (:mod:`geoagri.reform`), area-weighted, ``approximate`` where a
  commune spans several districts.
* :func:`roll_up` — sums a per-commune table to those units (used by
  :func:`geoagri.area.area_by_zone` and :mod:`geoagri.indicators`).
* :func:`select_units` — the rows of a layer in one province, district or
  list of codes (``where=`` of :func:`geoagri.io.read_layer` and of a plan's
  ``[layers.X]``).

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> communes = gpd.GeoDataFrame(
...     {"commune_id": ["27733", "27817"], "commune_name": ["Xã Thạnh Hưng"] * 2},
...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs="EPSG:32648")
>>> hierarchy(communes, era="old")[["district_code", "district", "district_type"]]
           district_code          district district_type
commune_id
27733                796    Huyện Tân Hưng         huyen
27817                795  Thị xã Kiến Tường        thi_xa
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from geoagri._lineage import code_text as _code
from geoagri._lineage import official_lineage
from geoagri.errors import NameMatchError, OptionError, SchemaError
from geoagri.names import (
    _check_era,
    _Index,
    _match,
    _province_index,
    _resolve_province,
    admin_units,
    ascii_key,
    official_codes,
    unit_key,
)

__all__ = ["LEVELS", "assign_units", "hierarchy", "official_rows", "roll_up", "select_units"]

log = logging.getLogger("geoagri")

#: Levels of the hierarchy and the (code, name) columns naming a unit of each.
LEVELS = {
    "village": ("village_id", "village_name"),
    "commune": ("commune_id", "commune_name"),
    "district": ("district_code", "district"),
    "province": ("province_code", "province"),
}

#: Stands for a missing unit while grouping (groupby keys cannot be None reliably).
_NONE = "\x00none"


def official_rows(communes: pd.DataFrame, *,
                  era: str) -> tuple[pd.DataFrame | None, list[str]]:
    """The official units of a layer's ``commune_id``, when they are official codes of ``era``.

    Parameters
    ----------
    communes : DataFrame
        A layer with ``commune_id`` (and ``commune_name``, checked).
    era : {"old", "new"}
        Namespace of the codes.

    Returns
    -------
    (DataFrame or None, list of str)
        The :func:`geoagri.names.admin_units` row of each commune, in the
        layer's order, or None when some id is not a code of ``era`` or when
        a name of the layer is not its code's official name (any spelling);
        then the list describes the disagreements (codes of the other era, or
        codes of one's own that happen to be official codes).

    Examples
    --------
    >>> import pandas as pd
    >>> rows, _ = official_rows(pd.DataFrame({"commune_id": ["27775"],
    ...                                       "commune_name": ["Xã Vĩnh Bình"]}), era="old")
    >>> rows["district"].tolist()
    ['Huyện Vĩnh Hưng']
    >>> official_rows(pd.DataFrame({"commune_id": ["27775"], "commune_name": ["Xã Vĩnh Bình"]}),
    ...               era="new")[1]
    ["27775: the layer says 'Xã Vĩnh Bình', the official new unit 27775 is 'Xã Tuyên Bình'"]
    """

    if "commune_id" not in communes.columns or not len(communes):
        return None, []
    ids = [_code(v) for v in communes["commune_id"]]
    ref = admin_units(era=era).set_index("commune_code")
    if any(i is None or i not in ref.index for i in ids):
        return None, []
    rows = ref.loc[ids]
    bad: list[str] = []
    if "commune_name" in communes.columns:
        for code, name, official in zip(ids, communes["commune_name"], rows["commune_name"],
                                        strict=True):
            if isinstance(name, str) and name.strip() and ascii_key(name) != ascii_key(official):
                bad.append(f"{code}: the layer says '{name}', the official {era} unit "
                           f"{code} is '{official}'")
    if bad:
        return None, bad
    return rows.reset_index(), []


def _old_districts(province: str | None, *, era: str) -> pd.DataFrame:
    """Old districts (one row each) of an old province, or of the old provinces of a new one."""

    old = admin_units(era="old")
    if province is not None:
        code = _resolve_province(province, era=era)
        if era == "old":
            old = old[old["province_code"] == code]
        else:
            olds = set(official_lineage(province_codes={code}, era="new")["old_province_code"])
            old = old[old["province_code"].isin(olds)]
    return old.drop_duplicates("district_code").reset_index(drop=True)


def _district_codes(names: pd.Series, *, province: str | None, era: str,
                    layer: str) -> pd.Series:
    """Official old district code of each district name (NA when it names no single one).

    A name that fits several districts of the province raises, with the
    candidates' codes and the fix.  Without a province, a name that fits
    several districts of the country (there are ten "Huyện Châu Thành") keeps
    no code and groups by name.
    """

    districts = _old_districts(province, era=era)
    labels = [f"{d} ({c}, {p})" for d, c, p in zip(
        districts["district"], districts["district_code"], districts["province"], strict=True)]
    index = _Index(districts["district"].tolist(), districts["district_code"].tolist(), labels)
    out = pd.Series(pd.NA, index=names.index, dtype=object)
    distinct = names.dropna().astype(str).unique().tolist()
    found_rows = [index.find(name)[0] for name in distinct]
    if province is not None and any(len(rows) > 1 for rows in found_rows):
        # two units of one province share the name: which one is unknowable; the
        # error (with its suggestions, only made here) names them
        _match(pd.Series(distinct, dtype=object), index, layer=layer, column="district",
               what=f"districts (before 1 July 2025) of {province}",
               narrow="add a district_code column with the official district code, "
                      "or give every commune its official code in commune_id")
    codes = [index.ids[rows[0]] if len(rows) == 1 else None for rows in found_rows]
    if None in codes:
        unmatched = [n for n, c in zip(distinct, codes, strict=True) if c is None]
        log.info("layer '%s': district name(s) %s name no single official district of %s; "
                 "they are grouped by name as written (give the province, or a "
                 "district_code column)", layer, unmatched, province or "Vietnam")
    found = dict(zip(distinct, codes, strict=True))
    for idx, name in names.items():
        if isinstance(name, str) and found.get(name) is not None:
            out.at[idx] = found[name]
    return out


def hierarchy(
    communes: pd.DataFrame,
    *,
    era: str,
    province: str | None = None,
    layer: str = "communes",
) -> pd.DataFrame:
    """Official codes of each commune of a layer, and of its district and province.

    A commune is identified by its code when every ``commune_id`` is an
    official code of ``era`` whose official name is the layer's
    ``commune_name`` (any spelling); otherwise by its name, within the
    ``province`` and, for old communes, within the layer's ``district``
    column when it has one.  A name that fits several units is an error.

    Parameters
    ----------
    communes : DataFrame or GeoDataFrame
        Canonical communes: ``commune_id``, ``commune_name``; optionally
        ``district`` (old units) and ``province``.
    era : {"old", "new"}
        Whether the communes are those before 1 July 2025 (with districts)
        or after (no districts).  Codes of the two eras are separate
        namespaces.
    province : str, optional
        Province the communes lie in (any spelling, or its code in ``era``);
        needed to match names, not codes.
    layer : str, default "communes"
        Layer name quoted in errors.

    Returns
    -------
    DataFrame
        Indexed by the layer's ``commune_id`` (as code text, in the layer's
        order): ``commune_code``, ``commune_name``, ``commune_type``
        (``xa``, ``phuong``, ``thi_tran``, ``dac_khu``), for era ``"old"``
        ``district_code``, ``district``, ``district_type`` (``huyen``,
        ``quan``, ``thi_xa``, ``thanh_pho``), then ``province_code``,
        ``province``, ``era`` and ``matched_by`` (``code`` or ``name``).
        Names are the official full names.

    Raises
    ------
    NameMatchError
        Listing every commune (or district) name that fits several units
        (with their codes: ``Xã Thạnh Hưng (27733, Huyện Tân Hưng), Xã Thạnh
        Hưng (27817, Thị xã Kiến Tường)``) or none, and the fix: a code
        column, or the district.
    SchemaError
        If the layer has no ``commune_name`` to match when its codes are not
        official.

    Examples
    --------
    >>> import pandas as pd
    >>> t = hierarchy(pd.DataFrame({"commune_id": ["T1"], "commune_name": ["Xã Tuyên Bình"],
    ...                             "district": ["Vĩnh Hưng"]}), era="old", province="Long An")
    >>> t[["commune_code", "district_code", "province_code", "matched_by"]].to_dict("records")
    [{'commune_code': '27781', 'district_code': '797', 'province_code': '80', 'matched_by': 'name'}]
    >>> hierarchy(pd.DataFrame({"commune_id": ["27775"], "commune_name": ["Xã Tuyên Bình"]}),
    ...           era="new").loc["27775", ["province", "matched_by"]].tolist()
    ['Tỉnh Tây Ninh', 'code']
    """

    era = _check_era(era)
    rows, disagree = official_rows(communes, era=era)
    ids = pd.Index([_code(v) for v in communes["commune_id"]] if "commune_id" in communes
                   else [str(i) for i in communes.index], name="commune_id")
    if rows is not None:
        rows["matched_by"] = "code"
    else:
        if disagree:
            log.info("layer '%s': commune_id are official %s codes but names disagree (%s); "
                     "matching by name", layer, era, "; ".join(disagree[:3]))
        if "commune_name" not in communes.columns:
            raise SchemaError(
                f"layer '{layer}': commune_id holds no official {era} codes and there is no "
                "commune_name to match. Fix: give the official codes, or the names")
        names = pd.Series(communes["commune_name"].to_numpy(dtype=object),
                          index=pd.RangeIndex(len(communes)))
        codes = pd.Series(None, index=names.index, dtype=object)
        errors: list[str] = []
        if era == "old" and "district" in communes.columns:
            dcodes = _district_codes(pd.Series(communes["district"].to_numpy(dtype=object),
                                               index=names.index),
                                     province=province, era=era, layer=layer)
            for dcode, part in names.groupby(dcodes.fillna("").to_numpy(), sort=False):
                try:
                    codes.loc[part.index] = official_codes(
                        part, era=era, province=province, district=dcode or None,
                        layer=layer, column="commune_name").to_numpy(dtype=object)
                except NameMatchError as err:
                    errors.append(str(err))
        else:
            try:
                codes[:] = official_codes(names, era=era, province=province, layer=layer,
                                          column="commune_name").to_numpy(dtype=object)
            except NameMatchError as err:
                errors.append(str(err))
        if errors:
            raise NameMatchError("\n".join(errors))
        rows = admin_units(era=era).set_index("commune_code").loc[codes.tolist()].reset_index()
        rows["matched_by"] = "name"
    cols = ["commune_code", "commune_name", "commune_type"]
    if era == "old":
        cols += ["district_code", "district", "district_type"]
    cols += ["province_code", "province", "era", "matched_by"]
    out = rows.loc[:, cols]
    out.index = ids
    return out


def _lineage_weights(codes: list[str], lineage: pd.DataFrame | None) -> pd.DataFrame:
    """Share of each new commune in each old district: new_code, district_code, district, weight.

    A new commune's share in an old district is the area of the old communes
    of that district that went into it, over the area of all its old
    communes: ``part_area_ha`` of a lineage made from boundaries, else (the
    official lineage has no areas) each old commune's lineage weight, as if
    the old communes were equal in size.
    """

    lin = official_lineage() if lineage is None else lineage.copy()
    lin["new_code"] = [_code(v) for v in lin["new_code"]]
    lin["old_code"] = [_code(v) for v in lin["old_code"]]
    lin = lin[lin["new_code"].isin(set(codes))]
    old = admin_units(era="old").set_index("commune_code")
    known = lin["old_code"].isin(old.index)
    lin = lin[known]
    lin = lin.assign(district_code=old.loc[lin["old_code"], "district_code"].to_numpy(),
                     district=old.loc[lin["old_code"], "district"].to_numpy())
    area = (pd.to_numeric(lin["part_area_ha"], errors="coerce") if "part_area_ha" in lin
            else pd.Series(np.nan, index=lin.index))
    use_area = bool(len(area)) and bool(area.notna().all())
    size = area if use_area else lin["weight"].astype(float)
    lin = lin.assign(_size=size.to_numpy(dtype=float))
    w = lin.groupby(["new_code", "district_code", "district"], sort=False)["_size"].sum()
    w = w / w.groupby(level="new_code").transform("sum")
    out = w.rename("weight").reset_index()
    n = out.groupby("new_code")["district_code"].transform("size")
    out["approximate"] = (n > 1).to_numpy()
    out.attrs["weights"] = "area" if use_area else "lineage_weight"
    return out


def assign_units(
    communes: pd.DataFrame,
    level: str,
    *,
    era: str = "old",
    province: str | None = None,
    lineage: pd.DataFrame | None = None,
    layer: str = "communes",
) -> pd.DataFrame:
    """The unit (district, province) each commune of a layer counts in, by code.

    Where the unit's code comes from, first that applies:

    1. a ``<level>_code`` column of the layer (``district_code``,
       ``province_code``);
    2. the official hierarchy, when every ``commune_id`` is an official code
       of ``era`` with its official name (see :func:`hierarchy`).  For new
       (2025) communes and ``level="district"``: the old districts they were
       formed from, through the lineage, each with the share of the new
       commune that came from it (``weight``), ``approximate`` where a
       commune spans several districts;
    3. the ``<level>`` column, names resolved to official codes within
       ``province`` where they are official names (and then given their
       official spelling); a name that fits several units of the province
       (two "Huyện Châu Thành") is an error; names of no official unit, or
       of several when no province is given, are kept as written, without a
       code;
    4. for ``level="province"`` without a province column: the ``province``
       given (the plan's).

    Parameters
    ----------
    communes : DataFrame or GeoDataFrame
        Canonical communes.
    level : {"commune", "district", "province"}
        The level to assign.
    era : {"old", "new"}, default "old"
        Era of the communes' codes.
    province : str, optional
        The province of the communes (the plan's).
    lineage : DataFrame, optional
        Lineage rows (:func:`geoagri.reform.lineage`) for new communes to old
        districts; default the official lineage.  A lineage made from
        boundaries (``lineage(old_communes, new_communes)``) weighs by area.
    layer : str, default "communes"
        Layer name quoted in errors.

    Returns
    -------
    DataFrame
        One row per commune × unit: ``_pos`` (row position in ``communes``),
        ``<level>_code`` (NA when the unit has no known code),
        ``<level>`` (its name), ``weight`` (share of the commune counted in
        the unit, 0–1; the weights of each commune sum to 1) and
        ``approximate``.

    Raises
    ------
    SchemaError
        If the level is unknown or nothing names the communes' units.
    NameMatchError
        If a unit name fits several official units.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"commune_id": ["A", "B"], "commune_name": ["Xã A", "Xã B"],
    ...                   "district": ["Huyện Châu Thành", "Thị xã Cai Lậy"]})
    >>> assign_units(c, "district", province="Tiền Giang")[["district_code", "district"]]
      district_code          district
    0           821  Huyện Châu Thành
    1           817    Thị xã Cai Lậy
    """

    if level not in LEVELS or level == "village":
        raise OptionError(f"level={level!r}; assign communes to one of commune, district, "
                          "province")
    era = _check_era(era)
    code_col, name_col = LEVELS[level]
    n = len(communes)
    pos = np.arange(n)

    def frame(codes: Sequence[object], names: Sequence[object]) -> pd.DataFrame:
        return pd.DataFrame({"_pos": pos, code_col: pd.array(list(codes), dtype=object),
                             name_col: list(names), "weight": 1.0, "approximate": False})

    if level == "commune":
        return frame([_code(v) for v in communes["commune_id"]],
                     communes["commune_name"] if "commune_name" in communes else [None] * n)
    if code_col in communes.columns:
        codes = [None if pd.isna(v) else str(v).strip() for v in communes[code_col]]
        names = communes[name_col] if name_col in communes.columns else codes
        return frame(codes, names)
    rows, _ = official_rows(communes, era=era)
    if rows is not None:
        if level == "province" or era == "old":
            return frame(rows[code_col], rows[name_col])
        weights = _lineage_weights(rows["commune_code"].tolist(), lineage)
        table = pd.DataFrame({"_pos": pos, "new_code": rows["commune_code"].to_numpy(),
                              "_name": rows["commune_name"].to_numpy()})
        out = table.merge(weights, on="new_code", how="left").drop(columns="new_code")
        missing = out["weight"].isna()
        # not in the lineage (the special zones, đặc khu, were island districts without
        # communes): a unit of its own, named after the commune, without a district code
        out.loc[missing, "district"] = out.loc[missing, "_name"]
        out.loc[missing, "weight"] = 1.0
        out = out.drop(columns="_name")
        out["approximate"] = out["approximate"].fillna(False).astype(bool)
        return out[["_pos", code_col, name_col, "weight", "approximate"]]
    if name_col in communes.columns:
        names = pd.Series(communes[name_col].to_numpy(dtype=object), index=pos)
        if level == "district":
            codes = _district_codes(names, province=province, era=era, layer=layer)
            official = _old_districts(None, era="old").set_index("district_code")["district"]
        else:
            codes = _province_codes(names, era=era)
            official = admin_units(era=era).drop_duplicates("province_code").set_index(
                "province_code")["province"]
        # a unit found by its code is named officially, however the layer spells it
        names = [official.get(c, n) if isinstance(c, str) else n
                 for c, n in zip(codes, names, strict=True)]
        return frame(codes.tolist(), names)
    if level == "province" and province is not None:

        code = _resolve_province(province, era=era)
        name = admin_units(era=era, province=code)["province"].iloc[0]
        return frame([code] * n, [name] * n)
    raise SchemaError(
        f"area by {level}: the communes layer has no column(s) ['{name_col}'] and its "
        f"commune_id are not official {era} codes, needed for level={level!r}; add a "
        f"{name_col} (or {code_col}) column to the communes, give official codes"
        + (", or the plan's province" if level == "province" else ""))


def _province_codes(names: pd.Series, *, era: str) -> pd.Series:
    """Official code of each province name of ``era`` (NA when it names none, or several)."""

    index, _ = _province_index(era)
    out = pd.Series(pd.NA, index=names.index, dtype=object)
    for idx, name in names.items():
        if isinstance(name, str):
            rows, _ = index.find(name)
            ids = {index.ids[r] for r in rows}
            if len(ids) == 1:
                out.at[idx] = ids.pop()
    return out


def roll_up(
    table: pd.DataFrame,
    units: pd.DataFrame,
    *,
    level: str,
    by: Sequence[str] = (),
    values: Sequence[str] = ("area_ha", "overlap_ha"),
    commune_area: np.ndarray | None = None,
) -> pd.DataFrame:
    """Sum a per-commune table to districts or provinces, by code.

    Parameters
    ----------
    table : DataFrame
        Per-commune rows with ``_pos`` (the commune's row position; a position
        without a unit, e.g. ``len(communes)`` for "outside every commune",
        gives a row whose unit is missing), the ``by`` columns and ``values``.
    units : DataFrame
        :func:`assign_units` of the communes at ``level``.
    level : {"district", "province"}
        The level rolled up to.
    by : sequence of str
        Group columns kept.
    values : sequence of str
        Columns summed, each multiplied by the commune's weight in the unit.
    commune_area : ndarray, optional
        Area of each commune, in the unit of the first value column (ha for
        ``area_ha``); with it, ``<level>_share_pct`` is that column as a
        percentage of the unit's area.

    Returns
    -------
    DataFrame
        ``<level>_code``, ``<level>``, the ``by`` columns, ``values``,
        ``<level>_share_pct`` (with ``commune_area``) and ``approximate``
        (True where a commune's split between units is a guess).

    Examples
    --------
    >>> import pandas as pd
    >>> units = pd.DataFrame({"_pos": [0, 1, 1], "district_code": ["1", "1", "2"],
    ...                       "district": ["H. A", "H. A", "H. B"], "weight": [1, .25, .75],
    ...                       "approximate": [False, True, True]})
    >>> t = pd.DataFrame({"_pos": [0, 1, 2], "area_ha": [10.0, 40.0, 5.0]})
    >>> roll_up(t, units, level="district", values=["area_ha"])
      district_code district  area_ha  approximate
    0             1     H. A     20.0         True
    1             2     H. B     30.0         True
    2          None     None      5.0        False
    """
    code_col, name_col = LEVELS[level]
    by = list(by)
    values = list(values)
    merged = table.merge(units, on="_pos", how="left")
    merged["weight"] = merged["weight"].fillna(1.0)
    merged["approximate"] = merged["approximate"].fillna(False).astype(bool)
    for col in values:
        merged[col] = merged[col] * merged["weight"]
    keys = [code_col, name_col, *by]
    for col in (code_col, name_col):  # a missing unit groups as its own unit
        merged[col] = merged[col].astype(object).where(merged[col].notna(), _NONE)
    out = (merged.groupby(keys, dropna=False, sort=False)[[*values, "approximate"]]
           .agg({**dict.fromkeys(values, "sum"), "approximate": "any"}).reset_index())
    if commune_area is not None:
        u = units.assign(_a=np.asarray(commune_area, dtype=float)[units["_pos"]] * units["weight"])
        for col in (code_col, name_col):
            u[col] = u[col].astype(object).where(u[col].notna(), _NONE)
        unit_area = u.groupby([code_col, name_col])["_a"].sum().to_dict()
        area = np.array([unit_area.get(k, np.nan) for k in
                         zip(out[code_col], out[name_col], strict=True)], dtype=float)
        out[f"{level}_share_pct"] = out[values[0]].to_numpy(dtype=float) / area * 100
    for col in (code_col, name_col):
        out[col] = out[col].astype(object).where(out[col] != _NONE, None)
    approx = out.pop("approximate")
    out["approximate"] = approx.astype(bool)
    return out


def roll_up_communes(table: pd.DataFrame, communes: pd.DataFrame, *, level: str,
                     by: Sequence[str], values: Sequence[str], province: str | None = None,
                     era: str = "old", lineage: pd.DataFrame | None = None,
                     commune_area: np.ndarray | None = None) -> pd.DataFrame:
    """A per-commune table (``commune_id`` rows) summed to districts or provinces.

    The rows are placed by their ``commune_id`` in ``communes`` (a missing id
    is "outside every commune"), the units assigned by code
    (:func:`assign_units`) and the ``values`` summed (:func:`roll_up`).

    Examples
    --------
    >>> import pandas as pd
    >>> communes = pd.DataFrame({"commune_id": ["27757", "27760"],
    ...     "commune_name": ["Thị trấn Vĩnh Hưng", "Xã Hưng Điền A"]})
    >>> t = pd.DataFrame({"commune_id": ["27757", "27760"], "area_ha": [1.5, 2.0]})
    >>> roll_up_communes(t, communes, level="district", by=[], values=["area_ha"],
    ...                  province="Long An")[["district", "area_ha"]].values.tolist()
    [['Huyện Vĩnh Hưng', 3.5]]
    """
    ids = {str(c): i for i, c in enumerate(communes["commune_id"])}
    pos = np.array([len(communes) if pd.isna(c) else ids[str(c)]
                    for c in table["commune_id"]], dtype=np.int64)
    units = assign_units(communes, level, era=era, province=province, lineage=lineage)
    return roll_up(table[[*by, *values]].assign(_pos=pos), units, level=level, by=list(by),
                   values=tuple(values), commune_area=commune_area)


def select_units(
    layer: pd.DataFrame,
    where: Mapping[str, Any] | Sequence[object],
    *,
    id_column: str = "commune_id",
    name: str = "layer",
    canonical: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The rows of a layer in some units: a province, a district, a list of codes.

    Parameters
    ----------
    layer : DataFrame or GeoDataFrame
        A canonical layer.
    where : mapping or sequence
        A sequence is a list of ids of ``id_column`` (codes, compared as code
        text: ``4`` is ``"00004"``).  A mapping selects on columns: ``{"province":
        "Tây Ninh"}``, ``{"district": ["Vĩnh Hưng", "Tân Hưng"]}``,
        ``{"province_code": "80"}``; several keys must all hold.  Name columns
        (``province``, ``district``, ``commune_name``) compare any spelling
        (``"Tỉnh Tây Ninh"``, ``"TAY NINH"``); ``*_id`` and ``*_code``
        columns compare as codes; other columns as written.
    id_column : str, default "commune_id"
        The column a list of ids refers to.
    name : str, default "layer"
        Layer name quoted in errors.
    canonical : mapping, optional
        The canonical name of columns named otherwise in ``layer`` (a file
        not yet renamed: ``{"TINH": "province"}``), which decides how they
        compare.

    Returns
    -------
    DataFrame or GeoDataFrame
        The selected rows (a copy, index renumbered, ``attrs`` kept, with the
        selection recorded in ``attrs["geoagri"]["where"]``).

    Raises
    ------
    SchemaError
        If a column is missing, or the selection is empty (the message lists
        the values the column holds).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"commune_id": ["27775", "27778", "00004"],
    ...                   "province": ["Tây Ninh", "Tây Ninh", "Hà Nội"]})
    >>> select_units(t, {"province": "tinh tay ninh"})["commune_id"].tolist()
    ['27775', '27778']
    >>> select_units(t, [4])["commune_id"].tolist()
    ['00004']
    """

    if isinstance(where, Mapping):
        conditions = dict(where)
    elif isinstance(where, (str, bytes)) or not isinstance(where, Sequence):
        raise SchemaError(
            f"layer '{name}': where={where!r}; give a table of column = value(s), e.g. "
            "{ province = \"Tây Ninh\" }, or a list of codes")
    else:
        conditions = {id_column: list(where)}
    if not conditions:
        raise SchemaError(f"layer '{name}': where is empty; name a column and its value(s)")
    missing = [c for c in conditions if c not in layer.columns]
    if missing:
        raise SchemaError(
            f"layer '{name}': where selects on column(s) {missing}, which the layer does not "
            f"have; its columns are {[c for c in layer.columns if c != 'geometry']}. Fix: "
            "rename the column in the layer's rename map, or select on another column")
    mask = np.ones(len(layer), dtype=bool)
    canonical = dict(canonical or {})
    names = ("province", "district", "commune_name", "name")
    for col, wanted in conditions.items():
        values = wanted if isinstance(wanted, (list, tuple, set)) else [wanted]
        as_name = canonical.get(col, col)
        if col == id_column or as_name.endswith(("_id", "_code")):
            def key(v: object) -> object:
                return _code(v)
        elif as_name in names:
            def key(v: object) -> object:
                return None if pd.isna(v) else unit_key(str(v))
        else:
            def key(v: object) -> object:
                return None if pd.isna(v) else str(v).strip()
        keys = {key(v) for v in values}
        hit = np.array([key(v) in keys for v in layer[col]], dtype=bool)
        if not hit.any() and as_name in names:
            asc = {ascii_key(str(v)) for v in values}
            hit = np.array([not pd.isna(v) and ascii_key(str(v)) in asc for v in layer[col]])
        if not hit.any():
            found = sorted({str(v) for v in layer[col].dropna()})
            raise SchemaError(
                f"layer '{name}': where {col} = {wanted!r} selects no row; column '{col}' "
                f"holds {found[:20]}{' …' if len(found) > 20 else ''}. Fix: write one of "
                "these values")
        mask &= hit
    if not mask.any():
        raise SchemaError(f"layer '{name}': where {conditions!r} selects no row (each "
                          "condition holds somewhere, never all together)")
    out = layer.loc[mask].reset_index(drop=True)
    meta = dict(layer.attrs.get("geoagri", {}))
    meta["where"] = conditions
    out.attrs = {**layer.attrs, "geoagri": meta}
    return out

