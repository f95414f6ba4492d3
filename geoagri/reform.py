"""The 2025 reorganisation: carrying statistics and targets from old communes to new.

On 1 July 2025 Vietnam went from 63 provinces and 10,040 communes to 34
provinces and 3,321 communes, and districts were abolished.  Reports up to
2025 are written on old communes, plans from then on use new ones.  Most old
communes were merged whole into one new commune; 471 were divided between
several (in Vĩnh Hưng, Long An: Khánh Hưng, Thái Bình Trung, Thái Trị, Vĩnh
Bình, Vĩnh Thuận and Vĩnh Trị).  Old and new codes are separate namespaces:
new codes reuse old codes of other places (the new Xã Tuyên Bình is 27775,
the old code of Xã Vĩnh Bình), so a table never mixes them: columns say
``old_code`` or ``new_code``.

* :func:`lineage` — the table old unit → new unit with a ``weight``: 1 for an
  old commune wholly merged into one new one; for a divided commune, the
  share of its area in each new unit, from the old and new boundaries when
  both are given, else equal shares among the new units the official lineage
  lists (``weight_source="official_equal_split"``, ``approximate=True``).
* :func:`to_new_communes` — a commune table carried onto the new communes:
  extensive values (ha, counts, VND) split by weight and summed, totals
  conserved; intensive values (%, t/ha) averaged with the right weights.
* :func:`compare_carried` — the carried figures against the same figures
  recomputed from the new boundaries (:func:`geoagri.area.area_by_zone`).
* :func:`rebase_targets` — commune targets of old units re-based to new ones.
* :func:`detect_era` — which rows of a table name old units, new units, both
  (unchanged units) or neither.

See ``docs/reform.md`` for the weights, the fallbacks and conservation.

Examples
--------
>>> import pandas as pd
>>> lin = lineage(provinces="Long An")
>>> lin.loc[lin["new_code"] == "27775", ["old_name", "weight", "weight_source"]]
               old_name    weight         weight_source
...  Xã Thái Bình Trung  0.333333  official_equal_split
...        Xã Vĩnh Bình  0.500000  official_equal_split
...       Xã Vĩnh Thuận  0.500000  official_equal_split
...       Xã Tuyên Bình  1.000000                 whole
...   Xã Tuyên Bình Tây  1.000000                 whole
>>> table = pd.DataFrame({"commune_id": ["27781", "27784", "27775"],
...                       "linkage_area_ha": [2400.0, 2600.0, 3000.0]})
>>> new = to_new_communes(table, lin)
>>> new[["new_code", "new_name", "linkage_area_ha"]]
  new_code       new_name  linkage_area_ha
0    27757   Xã Vĩnh Hưng           1500.0
1    27775  Xã Tuyên Bình           6500.0
"""

from __future__ import annotations

import logging
import re
import unicodedata
import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoagri._labels import label
from geoagri._lineage import LINEAGE_COLUMNS, code_text, official_lineage, overlay_lineage
from geoagri.errors import (
    GeoagriError,
    GeoagriWarning,
    LayerError,
    NameMatchError,
    Problem,
    SchemaError,
)
from geoagri.names import admin_units, ascii_key, match_names, unit_key, unit_type
from geoagri.schema import spec
from geoagri.units import code_or_none, convert, is_intensive

__all__ = [
    "COMPARE_COLUMNS",
    "ERAS",
    "EXTENSIVE_SUFFIXES",
    "INTENSIVE_SUFFIXES",
    "LINEAGE_COLUMNS",
    "compare_carried",
    "detect_era",
    "lineage",
    "measure_columns",
    "rebase_targets",
    "to_new_communes",
]

log = logging.getLogger("geoagri")

#: What :func:`detect_era` says of a row.
ERAS = ("old", "new", "ambiguous", "unknown")

#: Column-name endings of intensive values (rates, shares), checked first.
INTENSIVE_SUFFIXES = ("_pct", "_t_ha", "_kg_ha", "_vnd_ha")
#: Column-name endings of extensive values (amounts that add up).
EXTENSIVE_SUFFIXES = ("_ha", "_count", "_vnd", "_km", "_m2")

#: Columns of :func:`compare_carried`.
COMPARE_COLUMNS = (
    "new_code",
    "new_name",
    "carried_ha",
    "recomputed_ha",
    "difference_ha",
    "difference_pct",
)

# geoagri's own tables (the report's CSVs) head these columns with their labels
_CODE_COLUMNS = ("old_code", "commune_code", "commune_id",
                 *(label("commune_id", lang) for lang in ("vi", "en")))
_NAME_COLUMNS = ("old_name", "commune_name",
                 *(label("commune_name", lang) for lang in ("vi", "en")))
#: A row without code whose name is one of these is a total, not a commune.
TOTAL_NAMES = ("tổng cộng", "tổng", "cộng", "total", "toàn huyện", "toàn tỉnh")
#: ... and one of these is area outside every commune (the report's last row).
OUTSIDE_NAMES = ("ngoài ranh giới các xã", "outside every commune")
_TARGET_KEYS = ("indicator", "unit", "scope", "scope_id", "year", "source", "target")


def _missing(value: object) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value)))


# ------------------------------------------------------------------------------ lineage


def _province_codes(provinces: str | Sequence[str], era: str) -> set[str]:
    names = [provinces] if isinstance(provinces, str) else list(provinces)
    return {
        code for p in names for code in admin_units(era=era, province=p)["province_code"].unique()
    }


def lineage(
    old_communes: gpd.GeoDataFrame | None = None,
    new_communes: gpd.GeoDataFrame | None = None,
    *,
    provinces: str | Sequence[str] | None = None,
    era: str = "old",
    crs: Any = None,
    min_share_pct: float = 1.0,
) -> pd.DataFrame:
    """Old commune → new commune, with the share of the old one carried to each new one.

    Without boundaries the lineage is the official one shipped by the
    ``vietnamadminunits`` package: which old communes each new commune was
    formed from.  It does not say how a divided commune was divided, so each
    of its new communes gets an equal share (``1/n``), flagged
    ``weight_source="official_equal_split"`` and ``approximate=True``.

    With the old and the new boundaries, the shares are areas: the old
    communes are overlaid on the new ones with
    :func:`geoagri.area.area_by_zone`, in a metric CRS
    (:func:`geoagri.crs.metric_crs`).  When both layers carry official codes
    (old codes in the old layer, 2025 codes in the new one), an old commune
    wholly merged keeps weight 1 and a divided one is weighed by its area in
    each of its official new communes (``"geometry"``).  Otherwise (codes of
    your own) the overlay alone decides; shares below ``min_share_pct`` are
    slivers of borders drawn twice and are dropped before the shares are
    renormalised, and an old commune's area outside every new commune (when
    more than a sliver) goes to a row without ``new_code``.

    Parameters
    ----------
    old_communes, new_communes : GeoDataFrame, optional
        Canonical communes layers (``commune_id``, ``commune_name``,
        polygons, a CRS) before and after 1 July 2025.  Give both or neither.
        Not modified.
    provinces : str or sequence of str, optional
        Official lineage only: keep the old communes of these provinces
        (any spelling).  Default: the whole country.
    era : {"old", "new"}, default "old"
        Which provinces ``provinces`` names: ``"old"`` keeps the old
        communes of those old provinces (``"Long An"``); ``"new"`` keeps the
        old communes that went, wholly or in part, into those new provinces
        (``"Tây Ninh"``: old Long An and old Tây Ninh).  Every row of a kept
        old commune is kept, so its weights still sum to 1.
    crs : CRS-like, optional
        Metric CRS of the overlay; default estimated from the data.
    min_share_pct : float, default 1.0
        Overlay shares below this percentage of an old commune are slivers.

    Returns
    -------
    DataFrame
        One row per old unit × new unit it went into, columns
        :data:`LINEAGE_COLUMNS`: ``old_code``, ``old_name``,
        ``old_district``, ``old_province`` (the old unit), ``new_code``,
        ``new_name``, ``new_province`` (the new unit), ``weight`` (share of
        the old unit carried to the new one, 0–1; the weights of each old
        unit sum to 1), ``weight_source`` (``"whole"``, ``"geometry"`` or
        ``"official_equal_split"``), ``approximate`` (True where the weight
        is a guess), ``part_area_ha`` (hectares of the old commune carried,
        from the boundaries; NaN without them) and ``default_new`` (the new
        commune the official converter gives an address of a divided commune
        without a street; NA from an overlay of codes of your own).  Codes
        are text, 5-digit zero-padded.  The five island districts without
        communes (now đặc khu) are not in the official lineage.

    Raises
    ------
    GeoagriError
        If only one of the layers is given, or ``era`` is unknown.
    NameMatchError
        If a province matches no province of ``era`` (the message says when
        it is a province of the other era).
    SchemaError, CRSError, LayerError
        If a layer lacks ``commune_id``/``commune_name``, has no CRS, or has
        empty, duplicate or zero-area communes.

    Warns
    -----
    GeoagriWarning
        If boundaries contradict the official lineage (an old commune wholly
        merged lies mostly in another new commune: codes of the wrong era?),
        a divided commune overlaps none of its new communes (equal shares
        kept), or part of an old commune lies outside every new commune.

    Examples
    --------
    >>> lin = lineage(provinces="Long An")
    >>> lin.groupby("old_code")["weight"].sum().eq(1).all()
    np.True_
    >>> divided = lin[lin["approximate"] & (lin["old_district"] == "Huyện Vĩnh Hưng")]
    >>> divided.groupby("old_name")["new_name"].apply(", ".join)   # equal shares
    old_name
    Xã Khánh Hưng                       Xã Vĩnh Hưng, Xã Khánh Hưng
    Xã Thái Bình Trung    Xã Vĩnh Hưng, Xã Khánh Hưng, Xã Tuyên Bình
    Xã Thái Trị                         Xã Vĩnh Hưng, Xã Khánh Hưng
    Xã Vĩnh Bình                        Xã Vĩnh Hưng, Xã Tuyên Bình
    Xã Vĩnh Thuận                       Xã Vĩnh Hưng, Xã Tuyên Bình
    Xã Vĩnh Trị                         Xã Vĩnh Hưng, Xã Khánh Hưng
    Name: new_name, dtype: str
    >>> sorted(lin.loc[lin["old_name"] == "Xã Vĩnh Bình", "new_name"])
    ['Xã Tuyên Bình', 'Xã Vĩnh Hưng']

    Two old communes of 1 km² each, redrawn as a 1.25 km² and a 0.75 km² one:

    >>> from shapely.geometry import box
    >>> x, y = 500_000, 1_200_000
    >>> old = gpd.GeoDataFrame({"commune_id": ["A", "B"], "commune_name": ["Xã A", "Xã B"]},
    ...     geometry=[box(x, y, x + 1000, y + 1000), box(x + 1000, y, x + 2000, y + 1000)],
    ...     crs="EPSG:32648")
    >>> new = gpd.GeoDataFrame({"commune_id": ["N1", "N2"], "commune_name": ["Xã 1", "Xã 2"]},
    ...     geometry=[box(x, y, x + 1250, y + 1000), box(x + 1250, y, x + 2000, y + 1000)],
    ...     crs="EPSG:32648")
    >>> lineage(old, new)[["old_code", "new_code", "weight", "weight_source"]]
      old_code new_code  weight weight_source
    0        A       N1    1.00         whole
    1        B       N1    0.25      geometry
    2        B       N2    0.75      geometry
    """
    if era not in ("old", "new"):
        raise GeoagriError(
            f"era={era!r}: say which provinces `provinces` names, 'old' "
            "(before 1 July 2025) or 'new'"
        )
    if (old_communes is None) != (new_communes is None):
        given = "old_communes" if old_communes is not None else "new_communes"
        raise GeoagriError(
            f"lineage: only {given} was given; the shares of divided communes need both the "
            "old and the new boundaries. Fix: pass both layers, or neither for the official "
            "lineage (equal shares for divided communes, flagged approximate)"
        )
    if old_communes is not None:
        return overlay_lineage(old_communes, new_communes, crs=crs, min_share_pct=min_share_pct)
    codes = None if provinces is None else _province_codes(provinces, era)
    table = official_lineage(province_codes=codes, era=era)
    return table.loc[:, list(LINEAGE_COLUMNS)]


def _check_lineage(lineage: pd.DataFrame) -> pd.DataFrame:
    """The lineage with text codes; one LayerError for every problem."""
    required = ("old_code", "new_code", "weight")
    missing = [c for c in required if c not in lineage.columns]
    if missing:
        raise SchemaError(
            f"the lineage lacks column(s) {missing}; found {list(lineage.columns)}. Fix: make "
            "it with geoagri.reform.lineage()"
        )
    lin = lineage.copy()
    for col in LINEAGE_COLUMNS:
        if col not in lin:
            lin[col] = False if col == "approximate" else None
    lin["old_code"] = [code_text(c) for c in lin["old_code"]]
    lin["new_code"] = [code_text(c) for c in lin["new_code"]]
    lin["weight"] = pd.to_numeric(lin["weight"], errors="coerce")
    lin["approximate"] = lin["approximate"].fillna(False).astype(bool)
    problems = []
    bad = lin["old_code"].isna() | lin["weight"].isna() | ~lin["weight"].between(0, 1)
    if bad.any():
        problems.append(
            Problem(
                "bad_row",
                "old_code is empty or weight is not a number between 0 and 1",
                layer="lineage",
                ids=[f"row {i}" for i in lin.index[bad]],
                fix="give every row an old_code and a weight in 0–1",
            )
        )
    sums = lin[~bad].groupby("old_code")["weight"].sum()
    off = sums[(sums - 1).abs() > 1e-9]
    if len(off):
        problems.append(
            Problem(
                "weights_sum",
                "the weights of an old unit do not sum to 1",
                layer="lineage",
                column="weight",
                ids=[f"{c} (sum {s:.6g})" for c, s in off.items()],
                fix="each old unit's shares must add up to 1 (nothing lost, nothing doubled)",
            )
        )
    if problems:
        raise LayerError("lineage", problems)
    return lin


# --------------------------------------------------------------------------- eras


def _same_name(name: str, reference: str) -> bool:
    """Whether a written name designates the reference name (key, and type if both say one)."""
    if _missing(reference):
        return True
    key = ascii_key if str(name).isascii() else unit_key
    if key(name) != key(reference):
        return False
    kinds = unit_type(name), unit_type(reference)
    return None in kinds or kinds[0] == kinds[1]


def _match_each(
    names: Sequence[str], ref: pd.DataFrame
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Each distinct name: the code of the one unit of ``ref`` it names, or the units it fits."""
    unique = pd.Series(sorted(set(names)), dtype=object)
    several: dict[str, list[str]] = {}
    if unique.empty or ref.empty:
        return {}, several
    try:
        codes = match_names(unique, ref, name_col="name", id_col="code")
    except NameMatchError as err:
        several = {k: list(v) for k, v in err.ambiguous.items()}  # type: ignore[attr-defined]
        bad = set(several) | set(err.unmatched)  # type: ignore[attr-defined]
        unique = unique[~unique.isin(bad)]
        codes = match_names(unique, ref, name_col="name", id_col="code")
    return dict(zip(unique, codes, strict=True)), several


def _classify(
    codes: pd.Series | None, names: pd.Series | None, refs: dict[str, pd.DataFrame]
) -> pd.DataFrame:
    """Era of each row from its code and/or name, against old and new reference units."""
    index = codes.index if codes is not None else names.index  # type: ignore[union-attr]
    code_list = [None] * len(index) if codes is None else [code_text(c) for c in codes]
    name_list = (
        [None] * len(index)
        if names is None
        else [None if _missing(n) or not str(n).strip() else str(n) for n in names]
    )
    name_of = {e: dict(zip(r["code"], r["name"], strict=True)) for e, r in refs.items()}
    by_name = {
        e: _match_each(
            [n for c, n in zip(code_list, name_list, strict=True) if c is None and n is not None], r
        )
        for e, r in refs.items()
    }
    rows = []
    for code, name in zip(code_list, name_list, strict=True):
        found: dict[str, str | None] = {}
        notes = []
        if code is not None:
            for e in refs:
                if code in name_of[e] and (name is None or _same_name(name, name_of[e][code])):
                    found[e] = code
            if not found:
                known = [f"{e} {name_of[e][code]}" for e in refs if code in name_of[e]]
                notes.append(
                    f"code {code} is {' and '.join(known)}, not '{name}'"
                    if known
                    else f"code {code} is no commune of either era here"
                )
        elif name is not None:
            for e in refs:
                unique, several = by_name[e]
                if name in unique:
                    found[e] = unique[name]
                elif name in several:
                    found[e] = None
                    notes.append(f"'{name}' matches several {e} units: {', '.join(several[name])}")
            if not found:
                notes.append(f"'{name}' matches no unit of either era here")
        else:
            notes.append("no code and no name")
        era = "ambiguous" if len(found) == 2 else next(iter(found)) if found else "unknown"
        rows.append((era, found.get("old"), found.get("new"), "; ".join(notes)))
    return pd.DataFrame(rows, index=index.copy(), columns=["era", "old_code", "new_code", "note"])


def _pick(
    table: pd.DataFrame, given: str | None, candidates: Sequence[str], what: str
) -> str | None:
    if given is not None:
        if given not in table.columns:
            raise SchemaError(
                f"{what} column {given!r} is not in the table; its columns are "
                f"{list(table.columns)}"
            )
        return given
    return next((c for c in candidates if c in table.columns), None)


def _columns(
    table: pd.DataFrame, code_col: str | None, name_col: str | None
) -> tuple[str | None, str | None]:
    code_col = _pick(table, code_col, _CODE_COLUMNS, "code")
    name_col = _pick(table, name_col, _NAME_COLUMNS, "name")
    if code_col is None and name_col is None:
        raise SchemaError(
            f"the table has no column of commune codes ({', '.join(_CODE_COLUMNS)}) or names "
            f"({', '.join(_NAME_COLUMNS)}); its columns are {list(table.columns)}. Fix: pass "
            "code_col= or name_col= (on the command line: --code-col or --name-col)"
        )
    return code_col, name_col


def _era_refs(province: str | None, era: str) -> dict[str, pd.DataFrame]:
    if province is None:
        return {
            e: admin_units(era=e).rename(columns={"commune_code": "code", "commune_name": "name"})
            for e in ("old", "new")
        }
    lin = official_lineage(province_codes=_province_codes(province, era), era=era)
    old = admin_units(era="old")
    new = admin_units(era="new")
    old = old[old["province_code"].isin(set(lin["old_province_code"]))]
    new = new[new["province_code"].isin(set(lin["new_province_code"]))]
    return {
        e: f.rename(columns={"commune_code": "code", "commune_name": "name"})
        for e, f in (("old", old), ("new", new))
    }


def detect_era(
    table: pd.DataFrame,
    *,
    code_col: str | None = None,
    name_col: str | None = None,
    province: str | None = None,
    era: str = "old",
) -> pd.DataFrame:
    """Whether each row names an old (before 1 July 2025) or a new commune.

    A row with a code is of an era when the code is a commune code of that era
    and, if the row also has a name, the name is that unit's name
    (:func:`geoagri.names.unit_key`; a unit type written on both sides must
    agree).  A row with only a name is of an era when the name matches a unit
    of that era (:func:`geoagri.names.match_names`).  ``"ambiguous"``: both
    eras fit — a unit that kept its code and name (Xã Khánh Hưng, 27763), or a
    name alone that exists in both (``"Xã Tuyên Bình"``); ``"unknown"``:
    neither.  A table with rows of both eras is mixed: the figures of one era
    cannot be added to the other's, and a code like 27775 means old Vĩnh Bình
    or new Tuyên Bình depending on the era.

    Parameters
    ----------
    table : DataFrame
        Not modified.
    code_col, name_col : str, optional
        Columns of commune codes and names; default the first present of
        ``old_code``, ``commune_code``, ``commune_id`` and of ``old_name``,
        ``commune_name``.
    province : str, optional
        Province of the table (any spelling): compare with its old communes
        and the new communes of the new province(s) they went into (or, with
        ``era="new"``, the new province's communes and the old communes that
        went into it).  Default: the whole country (names alone are then
        often ambiguous: give codes).
    era : {"old", "new"}, default "old"
        Which provinces ``province`` names.

    Returns
    -------
    DataFrame
        Index of ``table``; ``era`` (one of :data:`ERAS`), ``old_code`` and
        ``new_code`` (the unit the row designates in each era, when one),
        ``note`` (why a row is unknown, or a name fits several units).
        ``attrs["summary"]``: the number of rows of each era, and
        ``"mixed"``: True when there are both old and new rows.

    Raises
    ------
    SchemaError
        If there is no code or name column.
    NameMatchError
        If the province is unknown.

    Warns
    -----
    GeoagriWarning
        When the table is mixed, naming the new rows and the old rows.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"commune_code": ["27781", "27775", "27775", "27763", None],
    ...     "commune_name": ["Xã Tuyên Bình", "Xã Vĩnh Bình", "Xã Tuyên Bình", "Khánh Hưng",
    ...                      "Xã Vĩnh Hưng"]})
    >>> import warnings
    >>> with warnings.catch_warnings(record=True):
    ...     found = detect_era(t, province="Long An")
    >>> found[["era", "old_code", "new_code"]]
             era old_code new_code
    0        old    27781      NaN
    1        old    27775      NaN
    2        new      NaN    27775
    3  ambiguous    27763    27763
    4        new      NaN    27757
    >>> found.attrs["summary"]
    {'old': 2, 'new': 2, 'ambiguous': 1, 'unknown': 0, 'mixed': True}
    """
    code_col, name_col = _columns(table, code_col, name_col)
    found = _classify(
        None if code_col is None else table[code_col],
        None if name_col is None else table[name_col],
        _era_refs(province, era),
    )
    counts = found["era"].value_counts()
    summary: dict[str, Any] = {e: int(counts.get(e, 0)) for e in ERAS}
    summary["mixed"] = bool(summary["old"] and summary["new"])
    found.attrs["summary"] = summary
    if summary["mixed"]:
        rows = {e: [str(i) for i in found.index[found["era"] == e][:10]] for e in ("old", "new")}
        warnings.warn(
            f"the table mixes old and new (2025) communes: rows {rows['new']} are new units, "
            f"rows {rows['old']} old ones. Carry the old rows with to_new_communes and keep "
            "the new ones as they are, or fix the codes",
            GeoagriWarning,
            stacklevel=2,
        )
    return found


# ------------------------------------------------------------------------------ carry


def measure_columns(table: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Extensive and intensive columns of a table, read from their names.

    Intensive (rates and shares, averaged): names ending in one of
    :data:`INTENSIVE_SUFFIXES` (``_pct``, ``_t_ha``, ``_kg_ha``, ``_vnd_ha``).
    Extensive (amounts, added up): other names ending in one of
    :data:`EXTENSIVE_SUFFIXES` (``_ha``, ``_count``, ``_vnd``, ``_km``,
    ``_m2``).  ``yield_t_ha`` is intensive although it ends in ``_ha``.
    Labels with a unit in final parentheses, as the report and the offices
    write them, count too: rates per area and shares (``"Tỷ lệ đạt (%)"``,
    ``"Lợi nhuận (triệu đồng/ha)"``, ``"NS (tạ/ha)"``) are intensive, other
    units (``"Diện tích liên kết (ha)"``, ``"Kinh phí (tỷ đồng)"``, ``"(HTX)"``)
    extensive (:func:`geoagri.units.is_intensive`).

    Parameters
    ----------
    table : DataFrame

    Returns
    -------
    (list of str, list of str)
        Extensive columns, intensive columns, in the table's order.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame(columns=["commune_id", "area_ha", "models_count", "cost_vnd",
    ...                           "yield_t_ha", "achieved_pct", "profit_vnd_ha"])
    >>> measure_columns(t)
    (['area_ha', 'models_count', 'cost_vnd'], ['yield_t_ha', 'achieved_pct', 'profit_vnd_ha'])
    >>> measure_columns(pd.DataFrame(columns=["Mã xã", "Diện tích liên kết (ha)",
    ...                                       "Tỷ lệ đạt (%)"]))
    (['Diện tích liên kết (ha)'], ['Tỷ lệ đạt (%)'])
    >>> measure_columns(pd.DataFrame(columns=["Ghi chú (xã cũ)", "Kinh phí (tỷ đồng)",
    ...                                       "Lợi nhuận (triệu đồng/ha)"]))
    (['Kinh phí (tỷ đồng)'], ['Lợi nhuận (triệu đồng/ha)'])
    """
    def unit_of(col: object) -> str | None:
        match = re.search(r"\(([^()]*)\)\s*$", str(col))
        return code_or_none(match.group(1).strip()) if match else None

    units = {c: unit_of(c) for c in table.columns}
    intensive = [c for c in table.columns
                 if str(c).endswith(INTENSIVE_SUFFIXES)
                 or (units[c] is not None and is_intensive(units[c]))]
    extensive = [
        c for c in table.columns
        if (str(c).endswith(EXTENSIVE_SUFFIXES) or units[c] is not None)
        and c not in intensive
    ]
    return extensive, intensive


def _numbers(table: pd.DataFrame, columns: Sequence[str], layer: str) -> pd.DataFrame:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SchemaError(f"{layer}: no column(s) {missing}; its columns are {list(table.columns)}")
    out = pd.DataFrame(index=table.index)
    problems = []
    for col in columns:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() & table[col].notna()
        if bad.any():
            examples = ", ".join(repr(v) for v in table.loc[bad, col].head(3))
            problems.append(
                Problem(
                    "not_a_number",
                    f"values such as {examples} are not numbers",
                    layer=layer,
                    column=col,
                    ids=[f"row {i}" for i in table.index[bad]],
                    fix="write plain numbers (23864.99, not '23.864,99' or '23.865 ha')",
                )
            )
        out[col] = values.astype(float)
    if problems:
        raise LayerError(layer, problems)
    return out


def _link(
    table: pd.DataFrame,
    lin: pd.DataFrame,
    code_col: str | None,
    name_col: str | None,
    layer: str,
    column: str | None = None,
) -> pd.Series:
    """The old code of every row of ``table``; one error naming every row that has none."""
    old = lin.drop_duplicates("old_code")
    new = lin[lin["new_code"].notna()].drop_duplicates("new_code")
    refs = {
        "old": pd.DataFrame({"code": old["old_code"], "name": old["old_name"]}),
        "new": pd.DataFrame({"code": new["new_code"], "name": new["new_name"]}),
    }
    found = _classify(
        None if code_col is None else table[code_col],
        None if name_col is None else table[name_col],
        refs,
    )
    column = column or code_col or name_col
    name_column = column if name_col is not None and column != code_col else name_col

    def labels(mask: pd.Series) -> list[str]:
        return [
            f"row {i} ({_describe(table, i, code_col, name_col)})"
            for i in table.index[mask.to_numpy()]
        ]

    problems = []
    is_new = found["era"] == "new"
    if is_new.any():
        problems.append(
            Problem(
                "new_unit",
                "these rows name new (2025) communes, not old ones: the table mixes "
                "old and new units",
                layer=layer,
                column=column,
                ids=labels(is_new),
                fix="carry only the old rows (see geoagri.reform.detect_era) and add the new ones "
                "to the result yourself, or correct their codes and names",
            )
        )
    several = found["era"].isin(["old", "ambiguous"]) & found["old_code"].isna()
    if several.any():
        notes = "; ".join(dict.fromkeys(found.loc[several, "note"]))
        problems.append(
            Problem(
                "ambiguous_name",
                f"the name fits several old communes ({notes})",
                layer=layer,
                column=name_column,
                ids=labels(several),
                fix="give the old commune code (code_col=), or the name with its type and "
                "diacritics, or narrow the lineage with provinces=",
            )
        )
    unknown = found["era"] == "unknown"
    if unknown.any():
        notes = "; ".join(dict.fromkeys(found.loc[unknown, "note"]))[:600]
        problems.append(
            Problem(
                "no_lineage",
                f"no old commune of the lineage has this code or name ({notes})",
                layer=layer,
                column=column,
                ids=labels(unknown),
                fix="correct the code or name, drop total rows ('Tổng cộng'), or make the lineage "
                "for the table's province (lineage(provinces=...))",
            )
        )
    if problems:
        raise LayerError(layer, problems)
    return found["old_code"]


def _describe(table: pd.DataFrame, i: Hashable, code_col: str | None, name_col: str | None) -> str:
    parts = [
        str(table.at[i, c])
        for c in (code_col, name_col)
        if c is not None and not _missing(table.at[i, c])
    ]
    return " ".join(parts) or "empty"


def _area_weight(parts: pd.DataFrame) -> pd.Series:
    """Weight of each part for an area-weighted mean: hectares carried, else the share."""
    area = parts["part_area_ha"]
    return area.astype(float) if area.notna().all() else parts["weight"]


def _old_units_text(parts: pd.DataFrame) -> str:
    out = []
    for name, code, weight in zip(
        parts["old_name"], parts["old_code"], parts["weight"], strict=True
    ):
        label = str(code) if _missing(name) else str(name) if _missing(code) \
            else f"{name} ({code})"
        out.append(label if weight == 1 else f"{label} × {weight:.4g}")
    return "; ".join(dict.fromkeys(out))


def _named_rows(table: pd.DataFrame, code_col: str | None, name_col: str | None,
                names: Sequence[str]) -> np.ndarray:
    """Rows without a commune code whose name is one of ``names`` ("Tổng cộng", …)."""
    if name_col is None:
        return np.zeros(len(table), dtype=bool)
    no_code = np.ones(len(table), dtype=bool) if code_col is None else \
        table[code_col].map(_missing).to_numpy(dtype=bool)
    text = table[name_col].map(
        lambda v: "" if _missing(v) else unicodedata.normalize("NFC", str(v)).strip().lower())
    return no_code & text.isin(names).to_numpy()


def to_new_communes(
    table: pd.DataFrame,
    lineage: pd.DataFrame,
    *,
    code_col: str | None = None,
    name_col: str | None = None,
    extensive: Sequence[str] | None = None,
    intensive: Mapping[str, str | None] | Sequence[str] | None = None,
    by: Sequence[str] | str | None = None,
) -> pd.DataFrame:
    """Re-express a table of old communes on the new (2025) communes.

    Every row is linked to its old commune, by code (and its name, when the
    table has one, must agree: a code reused by the new era is caught), or by
    name (:func:`geoagri.names.match_names`).  Each old commune goes to its new
    communes by the lineage's weights.

    * **Extensive** values (hectares, counts, VND: amounts that add up) are
      multiplied by the weight and summed per new commune.  Since the weights
      of each old commune sum to 1, totals are conserved (to rounding, about
      1e-12 relative).  A count split between new communes becomes fractional
      (half a model): the figure is an estimate of the count in each new
      commune, kept exact so that totals stay whole; round it only to print.
    * **Intensive** values (%, t/ha: rates) are averaged, each old part
      weighted by the lineage share times the old row's value of a weight
      column (``{"yield_t_ha": "area_ha"}``: yield weighted by the area it was
      measured on), or, without one, by the hectares carried
      (``part_area_ha``, from boundaries) or else the share alone (an
      approximation that treats old communes as equal in size).

    Parameters
    ----------
    table : DataFrame
        One row per old commune (or per old commune and ``by`` group).  Not
        modified.
    lineage : DataFrame
        From :func:`lineage` (or any table with ``old_code``, ``new_code``,
        ``weight``, and ``old_name`` to link by names).
    code_col, name_col : str, optional
        Columns of old codes and names; default the first present of
        ``old_code``, ``commune_code``, ``commune_id`` and of ``old_name``,
        ``commune_name``.
    extensive : sequence of str, optional
        Amount columns; default by name (:func:`measure_columns`).
    intensive : mapping of str to str or None, or sequence of str, optional
        Rate columns, each with its weight column (None: area); default by
        name, weighted by area.
    by : str or sequence of str, optional
        Columns that split the rows further (season, crop), kept as they are.

    Returns
    -------
    DataFrame
        One row per new commune (and ``by`` group) reached: ``new_code``,
        ``new_name``, ``new_province``, the ``by`` columns, the extensive and
        intensive columns, ``old_units`` (the old communes carried in, with
        their share when partial: ``"Xã Vĩnh Bình (27775) × 0.5"``) and
        ``approximate`` (True if any share is a guess).  Area that the
        lineage puts outside every new commune is in a row without
        ``new_code``.  ``attrs``: ``"lineage"`` (the lineage rows used),
        ``"extensive"``, ``"intensive"`` (column → weight column),
        ``"dropped_columns"`` (other columns, not carried) and ``"total_rows"``
        (index labels of total rows left out: a row without code named
        "Tổng cộng", "Total", …; a warning names them).

    Raises
    ------
    LayerError
        Once, naming every row that names a new (2025) commune (a mixed
        table), fits several old communes, or finds no old commune in the
        lineage; or a measure column with values that are not numbers; or a
        lineage whose weights do not sum to 1 per old unit.
    SchemaError
        If a column named is missing, or there is no code or name column.

    Examples
    --------
    Linkage area and yield in two old communes of Vĩnh Hưng: Tuyên Bình went
    whole into the new Tuyên Bình; Vĩnh Bình was divided between the new
    Tuyên Bình and Vĩnh Hưng (equal shares: no boundaries given).

    >>> import pandas as pd
    >>> table = pd.DataFrame({"commune_code": ["27781", "27775"],
    ...     "commune_name": ["Xã Tuyên Bình", "Xã Vĩnh Bình"], "area_ha": [2400.0, 3000.0],
    ...     "models_count": [2, 1], "yield_t_ha": [8.2, 7.5]})
    >>> new = to_new_communes(table, lineage(provinces="Long An"),
    ...                       intensive={"yield_t_ha": "area_ha"})
    >>> new[["new_name", "area_ha", "models_count", "yield_t_ha", "approximate"]]
            new_name  area_ha  models_count  yield_t_ha  approximate
    0   Xã Vĩnh Hưng   1500.0           0.5    7.500000         True
    1  Xã Tuyên Bình   3900.0           2.5    7.930769         True
    >>> float(new["area_ha"].sum()) == float(table["area_ha"].sum())
    True
    """
    lin = _check_lineage(lineage)
    code_col, name_col = _columns(table, code_col, name_col)
    totals = _named_rows(table, code_col, name_col, TOTAL_NAMES)
    total_rows = list(table.index[totals])
    if total_rows:  # a report's "Tổng cộng" row: the carried rows make the new totals
        warnings.warn(
            f"to_new_communes: {len(total_rows)} total row(s) left out "
            f"({', '.join(f'row {i}' for i in total_rows)}); the totals on the new communes "
            "are the sums of the carried rows", GeoagriWarning, stacklevel=2)
        table = table[~totals]
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    auto_ext, auto_int = measure_columns(table.drop(columns=by, errors="ignore"))
    extensive = auto_ext if extensive is None else list(extensive)
    if intensive is None:
        intensive = dict.fromkeys(auto_int)
    elif not isinstance(intensive, Mapping):
        intensive = dict.fromkeys(intensive)
    intensive = dict(intensive)
    weight_cols = [w for w in intensive.values() if w is not None]
    values = _numbers(table, list(dict.fromkeys([*extensive, *intensive, *weight_cols])), "table")
    missing_by = [c for c in by if c not in table.columns]
    if missing_by:
        raise SchemaError(
            f"table: no by column(s) {missing_by}; its columns are {list(table.columns)}"
        )
    # area outside every old commune stays outside every new one (weight 1)
    outside = _named_rows(table, code_col, name_col, OUTSIDE_NAMES)
    old_code = pd.Series(None, index=table.index, dtype=object)
    old_code[~outside] = _link(table[~outside], lin, code_col, name_col, "table").to_numpy()

    rows = values.assign(_row=np.arange(len(table)), old_code=old_code.to_numpy())
    for col in by:
        rows[col] = table[col].to_numpy()
    parts = rows.merge(
        lin[
            [
                "old_code",
                "old_name",
                "new_code",
                "new_name",
                "new_province",
                "weight",
                "approximate",
                "part_area_ha",
            ]
        ],
        on="old_code",
        how="left",
        validate="m:m",
    )
    out_rows = parts["_row"].isin(np.flatnonzero(outside))
    parts.loc[out_rows, "weight"] = 1.0
    parts.loc[out_rows, "approximate"] = False
    if out_rows.any():
        parts.loc[out_rows, "old_name"] = table[name_col].to_numpy()[parts.loc[out_rows, "_row"]]
    keys = ["new_code", "new_name", "new_province", *by]
    parts[keys[:3]] = parts[keys[:3]].astype(object)
    parts = parts.sort_values(["new_code", "_row"], kind="stable", na_position="last")
    group_keys = [parts[k] for k in keys]
    grouped = parts.groupby(group_keys, sort=False, dropna=False)
    out = pd.DataFrame(index=grouped.size().index)
    for col in extensive:
        out[col] = (
            (parts[col] * parts["weight"])
            .groupby(group_keys, sort=False, dropna=False)
            .sum(min_count=1)
            .to_numpy()
        )
    for col, wcol in intensive.items():
        w = _area_weight(parts) if wcol is None else parts["weight"] * parts[wcol]
        ok = parts[col].notna() & w.notna()
        num = (parts[col] * w).where(ok).groupby(group_keys, sort=False, dropna=False).sum()
        den = w.where(ok).groupby(group_keys, sort=False, dropna=False).sum()
        out[col] = (num / den.where(den != 0)).to_numpy()
    out["old_units"] = [_old_units_text(g) for _, g in grouped]
    out["approximate"] = grouped["approximate"].any().to_numpy(dtype=bool)
    out = out.reset_index()
    used = {*by, *extensive, *intensive, *weight_cols, code_col, name_col}
    dropped = [c for c in table.columns if c not in used]
    if dropped:
        log.info("to_new_communes: columns not carried (neither amounts nor rates): %s", dropped)
    out.attrs = {
        "lineage": lin[lin["old_code"].isin(set(old_code.dropna()))].reset_index(drop=True),
        "extensive": list(extensive),
        "intensive": dict(intensive),
        "dropped_columns": dropped,
        "total_rows": total_rows,
    }
    return out


# ------------------------------------------------------------------------------ check


def compare_carried(
    carried: pd.DataFrame,
    recomputed: pd.DataFrame,
    *,
    carried_col: str = "area_ha",
    recomputed_col: str = "area_ha",
) -> pd.DataFrame:
    """Carried hectares against hectares recomputed from the new boundaries, per new commune.

    A carried figure rests on the lineage's shares; where the layers behind
    it exist (zones, models), :func:`geoagri.area.area_by_zone` on the new
    communes measures the same thing exactly.  The difference shows where the
    shares were off (equal shares of a divided commune, typically).

    Parameters
    ----------
    carried : DataFrame
        From :func:`to_new_communes`: ``new_code`` and ``carried_col``.
    recomputed : DataFrame
        From :func:`geoagri.area.area_by_zone` on the new communes:
        ``commune_id`` (new codes) and ``recomputed_col``; several rows of a
        commune (groups) are added up, rows without ``commune_id`` (outside
        every commune) form the row without ``new_code``.
    carried_col, recomputed_col : str, default "area_ha"
        Hectare columns compared.

    Returns
    -------
    DataFrame
        Columns :data:`COMPARE_COLUMNS`: ``new_code``, ``new_name``,
        ``carried_ha``, ``recomputed_ha`` (0 for a commune missing on one
        side), ``difference_ha`` (carried − recomputed) and
        ``difference_pct`` (of the recomputed hectares; NaN where those are
        0), one row per new commune of either table, by ``new_code``.

    Raises
    ------
    SchemaError
        If a table lacks its columns.

    Examples
    --------
    >>> import pandas as pd
    >>> carried = pd.DataFrame({"new_code": ["27757", "27775"],
    ...     "new_name": ["Xã Vĩnh Hưng", "Xã Tuyên Bình"], "area_ha": [1500.0, 6500.0]})
    >>> recomputed = pd.DataFrame({"commune_id": ["27757", "27775", "27775"],
    ...     "commune_name": ["Xã Vĩnh Hưng", "Xã Tuyên Bình", "Xã Tuyên Bình"],
    ...     "zone_kind": ["linkage"] * 3, "area_ha": [1200.0, 6000.0, 800.0]})
    >>> check = compare_carried(carried, recomputed)
    >>> check[["new_code", "carried_ha", "recomputed_ha", "difference_ha", "difference_pct"]]
      new_code  carried_ha  recomputed_ha  difference_ha  difference_pct
    0    27757      1500.0         1200.0          300.0       25.000000
    1    27775      6500.0         6800.0         -300.0       -4.411765
    """
    for frame, cols, what in (
        (carried, ("new_code", carried_col), "carried"),
        (recomputed, ("commune_id", recomputed_col), "recomputed"),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"compare_carried: the {what} table lacks {missing}; its columns "
                f"are {list(frame.columns)}"
            )
    names = {}
    for frame, code, name in (
        (recomputed, "commune_id", "commune_name"),
        (carried, "new_code", "new_name"),
    ):
        if name in frame:
            names.update({code_text(c): n for c, n in zip(frame[code], frame[name], strict=True)})
    left = pd.Series(
        pd.to_numeric(carried[carried_col]).to_numpy(dtype=float),
        index=[code_text(c) for c in carried["new_code"]],
    )
    right = pd.Series(
        pd.to_numeric(recomputed[recomputed_col]).to_numpy(dtype=float),
        index=[code_text(c) for c in recomputed["commune_id"]],
    )
    left = left.groupby(level=0, dropna=False).sum()
    right = right.groupby(level=0, dropna=False).sum()
    both = pd.concat([left.rename("carried_ha"), right.rename("recomputed_ha")], axis=1)
    both = both.fillna(0.0).sort_index(na_position="last")
    out = pd.DataFrame(
        {
            "new_code": both.index.to_numpy(dtype=object),
            "new_name": [names.get(c) for c in both.index],
            "carried_ha": both["carried_ha"].to_numpy(),
            "recomputed_ha": both["recomputed_ha"].to_numpy(),
        }
    )
    out["difference_ha"] = out["carried_ha"] - out["recomputed_ha"]
    out["difference_pct"] = (
        out["difference_ha"] / out["recomputed_ha"].where(out["recomputed_ha"] != 0) * 100
    )
    return out.loc[:, list(COMPARE_COLUMNS)]


# ---------------------------------------------------------------------------- targets


def rebase_targets(targets: pd.DataFrame, lineage: pd.DataFrame) -> pd.DataFrame:
    """Commune targets of old communes re-based to the new (2025) communes.

    Each commune-scope target is carried like a statistic
    (:func:`to_new_communes`), in the canonical unit of its dimension
    (:func:`geoagri.units.unit_code`: 82 tạ/ha is carried as 8.2 t_ha):
    amounts (ha, counts, đồng) are split by the lineage's shares and summed
    per new commune; rates (%, t/ha, triệu đồng/ha: anything per area, see
    :func:`geoagri.units.is_intensive`) are averaged, weighted by the
    hectares carried (or the share).  Targets that differ in anything but their commune (indicator,
    unit, year, start year, season, source, document) stay apart.  Targets of
    a district or province scope are kept as they are, with a note: districts
    were abolished and old provinces merged, so they are not re-based.

    Parameters
    ----------
    targets : DataFrame
        A ``targets`` table (:mod:`geoagri.schema`); commune ``scope_id`` is
        the old commune's code or name (or its code, with the name in
        ``scope_name``).  Not modified.
    lineage : DataFrame
        From :func:`lineage`.

    Returns
    -------
    DataFrame
        The targets with commune rows re-based (``scope`` and ``unit`` in
        their canonical spelling): ``scope_id`` the new code,
        ``scope_name`` the new name, ``target`` carried, ``old_units`` (the
        old communes and shares behind it: the lineage beside the target),
        ``approximate`` (True when a share is a guess) and ``reform_note``.
        Other rows first, unchanged, then the re-based ones.  It can be given
        to :func:`geoagri.progress.progress` with facts of the new communes.
        ``attrs["lineage"]``: the lineage rows used.

    Raises
    ------
    SchemaError
        If required target columns are missing.
    LayerError
        As :func:`to_new_communes`: a target whose commune is not an old
        commune of the lineage (or is a new one) is named, never dropped.

    Examples
    --------
    >>> import pandas as pd
    >>> targets = pd.DataFrame({"indicator": "linkage_area", "unit": "ha",
    ...     "scope": ["commune", "commune", "district"],
    ...     "scope_id": ["Xã Tuyên Bình", "Vĩnh Bình", "Huyện Vĩnh Hưng"],
    ...     "year": 2025, "source": "plan", "target": [2500.0, 3000.0, 22640.0]})
    >>> new = rebase_targets(targets, lineage(provinces="Long An"))
    >>> new[["scope", "scope_id", "scope_name", "target"]]
          scope         scope_id     scope_name   target
    0  district  Huyện Vĩnh Hưng           None  22640.0
    1   commune            27757   Xã Vĩnh Hưng   1500.0
    2   commune            27775  Xã Tuyên Bình   4000.0
    >>> print(new.loc[2, "old_units"])
    Xã Tuyên Bình (27781); Xã Vĩnh Bình (27775) × 0.5
    """
    missing = [c for c in _TARGET_KEYS if c not in targets.columns]
    if missing:
        raise SchemaError(
            f"targets table lacks column(s) {missing}; found "
            f"{list(targets.columns)}. Fix: read it with "
            "geoagri.io.read_layer(path, kind='targets') or add the columns"
        )
    columns = spec("targets").columns
    scope = [
        columns["scope"].canonical_value(s) if not _missing(s) else None for s in targets["scope"]
    ]
    unit = [code_or_none(u) for u in targets["unit"]]
    bad = [i for i, (u, code) in enumerate(zip(targets["unit"], unit, strict=True))
           if code is None and scope[i] == "commune"]
    if bad:
        raise LayerError("targets", [Problem(
            "unit", "units not understood: "
            f"{sorted({str(targets['unit'].iloc[i]) for i in bad})}", layer="targets",
            column="unit", ids=[f"row {i}" for i in bad],
            fix="write units as the documents do (ha, tạ/ha, triệu đồng/ha, %, HTX, hộ…)")])
    is_commune = pd.Series([s == "commune" for s in scope], index=targets.index)
    keep = targets[~is_commune].copy()
    keep["scope_name"] = keep["scope_name"] if "scope_name" in keep else None
    keep["old_units"] = None
    keep["approximate"] = False
    keep["reform_note"] = [
        f"scope '{s}' kept as it is: only commune targets are re-based"
        for s in np.array(scope, dtype=object)[~is_commune.to_numpy()]
    ]
    frame = targets[is_commune].copy()
    if frame.empty:
        keep.attrs["lineage"] = lineage.iloc[:0]
        return keep.reset_index(drop=True)
    ids = frame["scope_id"]
    code_like = ids.map(lambda v: code_text(v) is not None and code_text(v).isdigit())
    frame["_code"] = ids.where(code_like, None)
    frame["_name"] = (
        frame["scope_name"].where(frame["scope_name"].notna(), ids.where(~code_like))
        if "scope_name" in frame
        else ids.where(~code_like, None)
    )
    frame["_unit"] = np.array(unit, dtype=object)[is_commune.to_numpy()]
    frame["scope"] = "commune"  # canonical spellings, so that "xã" and "commune" add up
    # the target in its canonical unit (82 tạ/ha → 8.2 t_ha), so that units add up too
    frame["target"] = [float(convert([v], u, code)[0]) if not _missing(v) else v
                       for v, u, code in zip(frame["target"], frame["unit"], frame["_unit"],
                                             strict=True)]
    frame["unit"] = frame["_unit"]
    frame["_extensive"] = [not is_intensive(u) for u in frame["_unit"]]
    by = [c for c in targets.columns if c not in ("scope_id", "scope_name", "target")]
    lin = _check_lineage(lineage)
    _link(frame, lin, "_code", "_name", "targets", column="scope_id")  # every row, both kinds
    pieces, used = [], []
    for extensive, group in frame.groupby("_extensive", sort=False):
        carried = to_new_communes(
            group,
            lin,
            code_col="_code",
            name_col="_name",
            by=by,
            extensive=["target"] if extensive else [],
            intensive=[] if extensive else ["target"],
        )
        used.append(carried.attrs["lineage"])
        carried.attrs = {}
        pieces.append(carried)
    rebased = pd.concat(pieces, ignore_index=True)
    rebased = rebased.rename(columns={"new_code": "scope_id", "new_name": "scope_name"})
    rebased["reform_note"] = np.where(
        rebased["approximate"], "re-based with approximate shares", "re-based"
    )
    order = [
        *targets.columns,
        *(["scope_name"] if "scope_name" not in targets else []),
        "old_units",
        "approximate",
        "reform_note",
    ]
    out = pd.concat([keep.loc[:, order], rebased.loc[:, order]], ignore_index=True)
    out.attrs["lineage"] = (
        pd.concat(used).drop_duplicates(["old_code", "new_code"]).reset_index(drop=True)
    )
    return out
