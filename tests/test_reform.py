"""Tests of geoagri.reform: lineage, carrying statistics and targets, eras, the CLI."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geoagri.cli import main
from geoagri.errors import GeoagriError, GeoagriWarning, LayerError, NameMatchError, SchemaError
from geoagri.reform import (
    LINEAGE_COLUMNS,
    compare_carried,
    detect_era,
    lineage,
    measure_columns,
    rebase_targets,
    to_new_communes,
)
from geoagri.report import ReportData, write_report

X, Y = 500_000, 1_200_000  # UTM 48N, on its central meridian: 1 km² = 100 ha exactly
UTM = "EPSG:32648"

# Vĩnh Hưng (old Long An) by old code
TUYEN_BINH, TUYEN_BINH_TAY, VINH_BINH, VINH_THUAN, THAI_BINH_TRUNG = (
    "27781",
    "27784",
    "27775",
    "27778",
    "27772",
)
NEW_TUYEN_BINH, NEW_VINH_HUNG, NEW_KHANH_HUNG = "27775", "27757", "27763"


@pytest.fixture(scope="module")
def long_an():
    return lineage(provinces="Long An")


def _communes(ids, boxes, names=None):
    names = names or [f"Xã {i}" for i in ids]
    return gpd.GeoDataFrame(
        {"commune_id": ids, "commune_name": names}, geometry=[box(*b) for b in boxes], crs=UTM
    )


def km(x0, x1):
    """A 1 km tall strip from x0 to x1 km east of X."""
    return (X + x0 * 1000, Y, X + x1 * 1000, Y + 1000)


# --------------------------------------------------------------------- official lineage


def test_official_lineage_whole_country_shape_and_weights():
    lin = lineage()
    assert tuple(lin.columns) == LINEAGE_COLUMNS
    assert lin["old_code"].nunique() == 10_035  # 10,040 old units less 5 island districts
    assert lin["new_code"].nunique() == 3_316  # 3,321 less the 5 đặc khu they became
    sums = lin.groupby("old_code")["weight"].sum()
    assert (sums - 1).abs().max() < 1e-12
    n_new = lin.groupby("old_code")["new_code"].size()
    assert int((n_new > 1).sum()) == 471  # the divided communes of the issue
    divided = lin["old_code"].map(n_new) > 1
    assert (lin.loc[divided, "weight_source"] == "official_equal_split").all()
    assert lin.loc[divided, "approximate"].all() and not lin.loc[~divided, "approximate"].any()
    assert (lin.loc[~divided, "weight"] == 1).all()
    assert lin["old_code"].str.fullmatch(r"\d{5}").all()
    assert lin["new_code"].str.fullmatch(r"\d{5}").all()


def test_vinh_hung_new_tuyen_binh_lineage(long_an):
    tb = long_an[long_an["new_code"] == NEW_TUYEN_BINH].set_index("old_code")
    assert tb["weight"].to_dict() == {
        THAI_BINH_TRUNG: 1 / 3,
        VINH_BINH: 0.5,
        VINH_THUAN: 0.5,
        TUYEN_BINH: 1.0,
        TUYEN_BINH_TAY: 1.0,
    }
    assert tb.loc[TUYEN_BINH, "old_name"] == "Xã Tuyên Bình"
    assert tb.loc[VINH_BINH, "old_name"] == "Xã Vĩnh Bình"  # same code, other place
    assert set(tb["new_name"]) == {"Xã Tuyên Bình"}
    assert set(tb["new_province"]) == {"Tỉnh Tây Ninh"}
    assert set(tb["old_district"]) == {"Huyện Vĩnh Hưng"}
    assert tb.loc[TUYEN_BINH, "weight_source"] == "whole"
    assert tb.loc[VINH_BINH, "weight_source"] == "official_equal_split"
    # the six divided communes of Vĩnh Hưng and where they went
    vh = long_an[long_an["old_district"] == "Huyện Vĩnh Hưng"]
    split = vh.groupby("old_name")["new_code"].apply(frozenset)
    split = split[split.map(len) > 1].to_dict()
    assert split == {
        "Xã Khánh Hưng": {NEW_KHANH_HUNG, NEW_VINH_HUNG},
        "Xã Thái Bình Trung": {NEW_KHANH_HUNG, NEW_VINH_HUNG, NEW_TUYEN_BINH},
        "Xã Thái Trị": {NEW_KHANH_HUNG, NEW_VINH_HUNG},
        "Xã Vĩnh Bình": {NEW_TUYEN_BINH, NEW_VINH_HUNG},
        "Xã Vĩnh Thuận": {NEW_TUYEN_BINH, NEW_VINH_HUNG},
        "Xã Vĩnh Trị": {NEW_KHANH_HUNG, NEW_VINH_HUNG},
    }


def test_provinces_filter_by_era_keeps_whole_old_communes(long_an):
    new_tn = lineage(provinces="tây ninh", era="new")
    old_tn = lineage(provinces="Tây Ninh", era="old")
    assert set(long_an["old_province"]) == {"Tỉnh Long An"}
    assert set(new_tn["old_province"]) == {"Tỉnh Long An", "Tỉnh Tây Ninh"}
    assert set(new_tn["old_code"]) == set(long_an["old_code"]) | set(old_tn["old_code"])
    assert (new_tn.groupby("old_code")["weight"].sum() - 1).abs().max() < 1e-12
    with pytest.raises(NameMatchError, match=r"province of era 'old'.*pass era='old'"):
        lineage(provinces="Long An", era="new")


# ------------------------------------------------------------------- lineage from geometry


def test_overlay_lineage_quarter_three_quarters():
    old = _communes(["A", "B"], [km(0, 1), km(1, 2)])
    new = _communes(["N1", "N2"], [km(0, 1.25), km(1.25, 2)])
    lin = lineage(old, new)
    assert tuple(lin.columns) == LINEAGE_COLUMNS
    got = {
        (o, n): w for o, n, w in zip(lin["old_code"], lin["new_code"], lin["weight"], strict=True)
    }
    assert got == pytest.approx({("A", "N1"): 1.0, ("B", "N1"): 0.25, ("B", "N2"): 0.75}, abs=1e-12)
    assert lin.set_index(["old_code", "new_code"])["weight_source"].to_dict() == {
        ("A", "N1"): "whole",
        ("B", "N1"): "geometry",
        ("B", "N2"): "geometry",
    }
    assert lin["part_area_ha"].tolist() == pytest.approx([100.0, 25.0, 75.0], abs=1e-6)
    assert not lin["approximate"].any()


def test_overlay_lineage_with_official_codes_weighs_only_divided_communes():
    # old Tuyên Bình (whole into new Tuyên Bình) and old Vĩnh Bình (divided: ¼ to new
    # Tuyên Bình, ¾ to new Vĩnh Hưng); new Tuyên Bình reuses Vĩnh Bình's old code 27775
    old = _communes([TUYEN_BINH, VINH_BINH], [km(0, 1), km(1, 2)])
    new = _communes([NEW_TUYEN_BINH, NEW_VINH_HUNG], [km(0, 1.25), km(1.25, 2)])
    lin = lineage(old, new).set_index(["old_code", "new_code"])
    assert lin["weight"].to_dict() == pytest.approx(
        {
            (TUYEN_BINH, NEW_TUYEN_BINH): 1.0,
            (VINH_BINH, NEW_TUYEN_BINH): 0.25,
            (VINH_BINH, NEW_VINH_HUNG): 0.75,
        },
        abs=1e-12,
    )
    assert lin.loc[(VINH_BINH, NEW_VINH_HUNG), "weight_source"] == "geometry"
    assert lin.loc[(TUYEN_BINH, NEW_TUYEN_BINH), "weight_source"] == "whole"
    # names come from the official lists, not from the layers' placeholders
    assert lin.loc[(VINH_BINH, NEW_TUYEN_BINH), "old_name"] == "Xã Vĩnh Bình"
    assert lin.loc[(VINH_BINH, NEW_TUYEN_BINH), "new_name"] == "Xã Tuyên Bình"


def test_overlay_lineage_drops_slivers_and_reports_outside_area():
    old = _communes(["A", "B"], [km(0, 1), km(1, 2)])
    # N1 reaches 2 m into B (a sliver of 0.2%); N2 covers only half of the rest of B
    new = _communes(["N1", "N2"], [km(0, 1.002), km(1.002, 1.501)])
    with pytest.warns(GeoagriWarning, match=r"partly outside every new commune: \['B \(50%\)'\]"):
        lin = lineage(old, new)
    b = lin[lin["old_code"] == "B"]
    assert b["new_code"].isna().sum() == 1
    got = dict(zip(b["new_code"].fillna("outside"), b["weight"], strict=True))
    assert got == pytest.approx({"N2": 0.499 / 0.998, "outside": 0.499 / 0.998}, abs=1e-9)
    a = lin[lin["old_code"] == "A"]
    assert a["new_code"].tolist() == ["N1"] and a["weight"].tolist() == [1.0]


def test_overlay_lineage_warns_when_codes_contradict_official_lineage():
    # old Tuyên Bình drawn wholly inside the new Vĩnh Hưng: its official new commune is
    # the new Tuyên Bình, which the boundaries say holds none of it
    old = _communes([TUYEN_BINH], [km(0, 1)])
    new = _communes([NEW_VINH_HUNG, NEW_TUYEN_BINH], [km(0, 1), km(1, 2)])
    with pytest.warns(GeoagriWarning, match=r"disagree with the official lineage.*27781 \(0%"):
        lin = lineage(old, new)
    assert lin["new_code"].tolist() == [NEW_TUYEN_BINH]


# --------------------------------------------------------------------------- carrying


def test_to_new_communes_hand_computed_vinh_hung(long_an):
    table = pd.DataFrame(
        {
            "commune_id": [TUYEN_BINH, TUYEN_BINH_TAY, VINH_BINH, VINH_THUAN, THAI_BINH_TRUNG],
            "commune_name": [
                "Xã Tuyên Bình",
                "Xã Tuyên Bình Tây",
                "Xã Vĩnh Bình",
                "Xã Vĩnh Thuận",
                "Xã Thái Bình Trung",
            ],
            "linkage_area_ha": [2400.0, 2600.0, 3000.0, 1800.0, 2700.0],
            "models_count": [2, 2, 1, 1, 1],
            "yield_t_ha": [8.2, 8.0, 7.5, 7.0, 6.0],
        }
    )
    before = table.copy()
    new = to_new_communes(table, long_an, intensive={"yield_t_ha": "linkage_area_ha"})
    pd.testing.assert_frame_equal(table, before)  # input unchanged
    got = new.set_index("new_code")
    # new Tuyên Bình: 2400 + 2600 + 3000/2 + 1800/2 + 2700/3
    assert got.loc[NEW_TUYEN_BINH, "linkage_area_ha"] == pytest.approx(8300.0, abs=1e-9)
    assert got.loc[NEW_VINH_HUNG, "linkage_area_ha"] == pytest.approx(1500 + 900 + 900)
    assert got.loc[NEW_KHANH_HUNG, "linkage_area_ha"] == pytest.approx(900.0)
    # counts split fractionally: 2 + 2 + ½ + ½ + ⅓
    assert got.loc[NEW_TUYEN_BINH, "models_count"] == pytest.approx(5 + 1 / 3)
    assert got.loc[NEW_KHANH_HUNG, "models_count"] == pytest.approx(1 / 3)
    # yield weighted by the linkage area carried
    num = 2400 * 8.2 + 2600 * 8.0 + 1500 * 7.5 + 900 * 7.0 + 900 * 6.0
    assert got.loc[NEW_TUYEN_BINH, "yield_t_ha"] == pytest.approx(num / 8300, rel=1e-12)
    assert got.loc[NEW_KHANH_HUNG, "yield_t_ha"] == pytest.approx(6.0)
    assert got.loc[NEW_TUYEN_BINH, "approximate"]
    assert got.loc[NEW_TUYEN_BINH, "old_units"] == (
        "Xã Tuyên Bình (27781); Xã Tuyên Bình Tây (27784); Xã Vĩnh Bình (27775) × 0.5; "
        "Xã Vĩnh Thuận (27778) × 0.5; Xã Thái Bình Trung (27772) × 0.3333"
    )
    assert list(new.columns) == [
        "new_code",
        "new_name",
        "new_province",
        "linkage_area_ha",
        "models_count",
        "yield_t_ha",
        "old_units",
        "approximate",
    ]
    assert set(new.attrs["lineage"]["old_code"]) == set(table["commune_id"])


def test_totals_conserved_exactly_over_a_province(long_an):
    rng = np.random.default_rng(6)
    olds = long_an.drop_duplicates("old_code")
    table = pd.DataFrame(
        {
            "commune_code": olds["old_code"].to_numpy(),
            "area_ha": rng.uniform(0, 5000, len(olds)),
            "cost_vnd": rng.integers(0, 10**10, len(olds)).astype(float),
            "models_count": rng.integers(0, 7, len(olds)),
            "season": rng.choice(["DX 2023-2024", "HT 2024"], len(olds)),
        }
    )
    new = to_new_communes(table, long_an, by="season")
    for col in ("area_ha", "cost_vnd", "models_count"):
        before, after = math.fsum(table[col]), math.fsum(new[col])
        assert after == pytest.approx(before, rel=1e-12, abs=0), col
        for season, group in table.groupby("season"):
            carried = new.loc[new["season"] == season, col]
            assert math.fsum(carried) == pytest.approx(math.fsum(group[col]), rel=1e-12)
    assert new["new_code"].notna().all()
    assert new["new_code"].nunique() == long_an["new_code"].nunique()


def test_conservation_with_thirds_is_exact_in_fractions():
    # weights of ⅓: check the carried values against exact rational arithmetic
    lin = pd.DataFrame(
        {
            "old_code": ["1", "1", "1", "2"],
            "old_name": ["X", "X", "X", "Y"],
            "new_code": ["a", "b", "c", "a"],
            "weight": [1 / 3] * 3 + [1.0],
        }
    )
    table = pd.DataFrame({"old_code": ["1", "2"], "area_ha": [10.0, 0.1]})
    new = to_new_communes(table, lin).set_index("new_code")["area_ha"]
    exact = {"a": Fraction(10) / 3 + Fraction(1, 10), "b": Fraction(10) / 3, "c": Fraction(10) / 3}
    for code, value in exact.items():
        assert new[code] == pytest.approx(float(value), rel=1e-15)
    assert math.fsum(new) == pytest.approx(10.1, rel=1e-15)


def test_intensive_default_weights_are_areas_from_boundaries():
    old = _communes(["A", "B"], [km(0, 1), km(1, 3)])  # 100 ha and 200 ha
    new = _communes(["N1", "N2"], [km(0, 2), km(2, 3)])  # B: ½ to N1, ½ to N2
    lin = lineage(old, new)
    table = pd.DataFrame(
        {"commune_id": ["A", "B"], "rice_share_pct": [40.0, 70.0], "area_ha": [100.0, 200.0]}
    )
    new_t = to_new_communes(table, lin).set_index("new_code")
    # N1 = all of A (100 ha at 40%) and half of B (100 ha at 70%)
    assert new_t.loc["N1", "rice_share_pct"] == pytest.approx(55.0, abs=1e-9)
    assert new_t.loc["N2", "rice_share_pct"] == pytest.approx(70.0, abs=1e-9)
    assert new_t["area_ha"].tolist() == pytest.approx([200.0, 100.0], abs=1e-6)
    assert not new_t["approximate"].any()


def test_intensive_skips_missing_values_and_missing_extensive_stays_missing():
    lin = pd.DataFrame(
        {
            "old_code": ["1", "2", "3"],
            "old_name": ["X", "Y", "Z"],
            "new_code": ["a", "a", "b"],
            "weight": [1.0, 1.0, 1.0],
        }
    )
    table = pd.DataFrame(
        {
            "old_code": ["1", "2", "3"],
            "area_ha": [10.0, np.nan, np.nan],
            "yield_t_ha": [np.nan, 6.0, np.nan],
        }
    )
    new = to_new_communes(table, lin, intensive={"yield_t_ha": None}).set_index("new_code")
    assert new.loc["a", "area_ha"] == 10.0 and math.isnan(new.loc["b", "area_ha"])
    assert new.loc["a", "yield_t_ha"] == 6.0 and math.isnan(new.loc["b", "yield_t_ha"])


def test_outside_area_is_carried_to_a_row_without_new_code():
    old = _communes(["A"], [km(0, 1)])
    new = _communes(["N1"], [km(0, 0.5)])
    with pytest.warns(GeoagriWarning, match="partly outside"):
        lin = lineage(old, new)
    new_t = to_new_communes(pd.DataFrame({"commune_id": ["A"], "area_ha": [80.0]}), lin)
    assert new_t["new_code"].tolist()[0] == "N1" and pd.isna(new_t["new_code"].iloc[1])
    assert new_t["area_ha"].tolist() == pytest.approx([40.0, 40.0])


def test_measure_columns_by_suffix():
    t = pd.DataFrame(
        columns=[
            "commune_id",
            "area_ha",
            "yield_t_ha",
            "profit_vnd_ha",
            "cost_vnd",
            "works_count",
            "share_pct",
            "note",
            "year",
        ]
    )
    assert measure_columns(t) == (
        ["area_ha", "cost_vnd", "works_count"],
        ["yield_t_ha", "profit_vnd_ha", "share_pct"],
    )


# ------------------------------------------------------------------------ recompute


def test_compare_carried_against_area_by_zone_on_new_boundaries():
    from geoagri.area import area_by_zone

    old = _communes([TUYEN_BINH, VINH_BINH], [km(0, 1), km(1, 2)])
    new = _communes([NEW_TUYEN_BINH, NEW_VINH_HUNG], [km(0, 1.25), km(1.25, 2)])
    # linkage zones: 50 ha in old Tuyên Bình, 40 ha in old Vĩnh Bình, all of it east of
    # the new border (x > 1.25 km), so wholly in the new Vĩnh Hưng
    zones = gpd.GeoDataFrame(
        {"zone_kind": ["linkage", "linkage"]},
        geometry=[box(X, Y, X + 500, Y + 1000), box(X + 1500, Y, X + 1900, Y + 1000)],
        crs=UTM,
    )
    table = pd.DataFrame({"commune_id": [TUYEN_BINH, VINH_BINH], "area_ha": [50.0, 40.0]})
    official = lineage(provinces="Long An")  # equal split of Vĩnh Bình: 20 + 20 ha
    carried = to_new_communes(table, official)
    recomputed = area_by_zone(zones, new)
    check = compare_carried(carried, recomputed).set_index("new_code")
    assert check.loc[
        NEW_TUYEN_BINH, ["carried_ha", "recomputed_ha", "difference_ha"]
    ].tolist() == pytest.approx([70.0, 50.0, 20.0])
    assert check.loc[NEW_TUYEN_BINH, "difference_pct"] == pytest.approx(40.0)
    assert check.loc[NEW_VINH_HUNG, "difference_pct"] == pytest.approx(-50.0)
    # with the boundaries, the shares are ¼ / ¾: closer, and exact where zones are even
    geometric = to_new_communes(table, lineage(old, new))
    check = compare_carried(geometric, recomputed).set_index("new_code")
    assert check["carried_ha"].to_dict() == pytest.approx(
        {NEW_TUYEN_BINH: 60.0, NEW_VINH_HUNG: 30.0}
    )
    assert check["carried_ha"].sum() == pytest.approx(check["recomputed_ha"].sum())


def test_compare_carried_keeps_communes_of_either_side():
    carried = pd.DataFrame({"new_code": ["1", "2"], "area_ha": [10.0, 5.0]})
    recomputed = pd.DataFrame({"commune_id": ["2", "3", None], "area_ha": [5.0, 7.0, 1.0]})
    check = compare_carried(carried, recomputed)
    assert check["new_code"].tolist()[:3] == ["00001", "00002", "00003"]
    assert pd.isna(check["new_code"].iloc[3])
    assert check["difference_ha"].tolist() == [10.0, 0.0, -7.0, -1.0]
    assert math.isnan(check["difference_pct"].iloc[0])
    with pytest.raises(SchemaError, match=r"recomputed table lacks \['commune_id'\]"):
        compare_carried(carried, recomputed.rename(columns={"commune_id": "id"}))


# -------------------------------------------------------------------------- targets


def test_rebase_targets(long_an):
    targets = pd.DataFrame(
        {
            "indicator": ["linkage_area"] * 4 + ["rice_share"],
            "unit": ["ha", "ha", "ha", "ha", "%"],
            "scope": ["xã", "commune", "commune", "huyện", "commune"],
            "scope_id": ["Xã Tuyên Bình", "27775", "27775", "Huyện Vĩnh Hưng", "Vĩnh Thuận"],
            "scope_name": [None, "Xã Vĩnh Bình", "Xã Vĩnh Bình", None, None],
            "year": [2025, 2025, 2024, 2025, 2025],
            "source": "plan",
            "target": [2500.0, 3000.0, 2800.0, 22640.0, 80.0],
        }
    )
    before = targets.copy()
    new = rebase_targets(targets, long_an)
    pd.testing.assert_frame_equal(targets, before)
    district = new[new["scope"] == "huyện"]
    assert district["scope_id"].tolist() == ["Huyện Vĩnh Hưng"]
    assert district["target"].tolist() == [22640.0]
    assert "kept as it is" in district["reform_note"].iloc[0]
    ha = new[(new["unit"] == "ha") & (new["scope"] == "commune")]
    got = {(r.scope_id, r.year): r.target for r in ha.itertuples()}
    assert got == {
        (NEW_TUYEN_BINH, 2025): 4000.0,
        (NEW_VINH_HUNG, 2025): 1500.0,
        (NEW_TUYEN_BINH, 2024): 1400.0,
        (NEW_VINH_HUNG, 2024): 1400.0,
    }
    assert set(ha["scope_name"]) == {"Xã Tuyên Bình", "Xã Vĩnh Hưng"}
    pct = new[new["unit"] == "pct"]
    assert sorted(pct["scope_id"]) == [NEW_VINH_HUNG, NEW_TUYEN_BINH]
    assert pct["target"].tolist() == [80.0, 80.0]  # a rate is not split
    assert pct["approximate"].all()
    assert "Xã Vĩnh Thuận (27778) × 0.5" in pct["old_units"].iloc[0]
    # the sum of hectare targets of each year is conserved
    for year in (2024, 2025):
        assert (
            ha.loc[ha["year"] == year, "target"].sum()
            == targets.loc[
                (targets["unit"] == "ha")
                & (targets["year"] == year)
                & (targets["scope"] != "huyện"),
                "target",
            ].sum()
        )


def test_rebased_targets_feed_progress(long_an):
    from geoagri.progress import progress

    targets = pd.DataFrame(
        {
            "indicator": "linkage_area",
            "unit": "ha",
            "scope": "commune",
            "scope_id": ["Xã Tuyên Bình", "Xã Tuyên Bình Tây"],
            "year": 2026,
            "source": "plan",
            "target": [2500.0, 2500.0],
        }
    )
    new = rebase_targets(targets, long_an)
    facts = pd.DataFrame(
        {
            "indicator": "linkage_area",
            "unit": "ha",
            "scope": "commune",
            "scope_id": [NEW_TUYEN_BINH],
            "scope_name": ["Xã Tuyên Bình"],
            "year": [2026],
            "actual": [5500.0],
        }
    )
    row = progress(facts, new).iloc[0]
    assert (row["target"], row["actual"], row["achieved_pct"]) == (5000.0, 5500.0, 110.0)


def test_rebase_targets_names_unmatched_commune(long_an):
    targets = pd.DataFrame(
        {
            "indicator": "linkage_area",
            "unit": "ha",
            "scope": "commune",
            "scope_id": ["Xã Tuyên Bình", "Xã Không Có"],
            "year": 2025,
            "source": "plan",
            "target": [1.0, 2.0],
        }
    )
    with pytest.raises(
        LayerError,
        match=r"(?s)layer 'targets'.*column 'scope_id'.*"
        r"'Xã Không Có' matches no unit.*\[row 1 ",
    ):
        rebase_targets(targets, long_an)


# ----------------------------------------------------------------------------- eras


MIXED = pd.DataFrame(
    {
        "commune_code": ["27781", "27775", "27775", "27763", None, None, "99999"],
        "commune_name": [
            "Xã Tuyên Bình",
            "Xã Vĩnh Bình",
            "Xã Tuyên Bình",
            "Xã Khánh Hưng",
            "Xã Vĩnh Hưng",
            "Thị trấn Vĩnh Hưng",
            "Xã Đâu Đó",
        ],
    }
)


def test_detect_era_on_mixed_table():
    with pytest.warns(GeoagriWarning, match=r"mixes old and new.*rows \['2', '4'\] are new"):
        found = detect_era(MIXED, province="Long An")
    assert found["era"].tolist() == ["old", "old", "new", "ambiguous", "new", "old", "unknown"]
    assert found["old_code"].tolist()[:2] == ["27781", "27775"]
    assert found.loc[2, "new_code"] == "27775" and found.loc[4, "new_code"] == "27757"
    assert found.loc[5, "old_code"] == "27757"
    assert "code 99999" in found.loc[6, "note"]
    assert found.attrs["summary"] == {
        "old": 3,
        "new": 2,
        "ambiguous": 1,
        "unknown": 1,
        "mixed": True,
    }
    assert found.index.equals(MIXED.index)


def test_detect_era_codes_only_and_names_only():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # not mixed: no warning
        codes = detect_era(MIXED.iloc[[0, 3]][["commune_code"]], province="Long An")
    assert codes["era"].tolist() == ["old", "ambiguous"]  # 27781 is only an old code
    names = detect_era(
        pd.DataFrame({"ten_xa": ["Tuyên Bình", "Tuyên Bình Tây"]}),
        name_col="ten_xa",
        province="Tây Ninh",
        era="new",
    )
    assert names["era"].tolist() == ["ambiguous", "old"]


def test_to_new_communes_refuses_mixed_table(long_an):
    table = MIXED.iloc[:3].assign(area_ha=[1.0, 2.0, 3.0])
    with pytest.raises(
        LayerError,
        match=r"name new \(2025\) communes.*\[row 2 \(27775 Xã "
        r"Tuyên Bình\)\].*detect_era",
    ):
        to_new_communes(table, long_an)


# ---------------------------------------------------------------------------- errors


def test_error_unmatched_rows_are_named(long_an):
    table = pd.DataFrame(
        {"commune_name": ["Xã Tuyên Bình", "Xã Không Tên", None], "area_ha": [1.0, 2.0, 3.0]}
    )
    with pytest.raises(
        LayerError,
        match=r"'Xã Không Tên' matches no unit.*\[row 1 \(Xã Không Tên\), "
        r"row 2 \(empty\)\].*drop total rows",
    ):
        to_new_communes(table, long_an)


def test_error_ambiguous_name():
    lin = lineage(provinces="Đồng Tháp")
    table = pd.DataFrame({"commune_name": ["Mỹ An"], "area_ha": [1.0]})
    with pytest.raises(
        LayerError,
        match=r"fits several old communes.*Thị trấn Mỹ An \(30037"
        r".*Xã Mỹ An \(30064.*give the old commune code",
    ):
        to_new_communes(table, lin)


def test_error_lineage_weights_must_sum_to_one():
    lin = pd.DataFrame(
        {"old_code": ["1", "1", "2"], "new_code": ["a", "b", "a"], "weight": [0.5, 0.4, 1.0]}
    )
    with pytest.raises(LayerError, match=r"(?s)layer 'lineage'.*do not sum to 1 \[00001 \(sum 0.9"):
        to_new_communes(pd.DataFrame({"old_code": ["1"], "area_ha": [1.0]}), lin)


def test_error_values_not_numbers(long_an):
    table = pd.DataFrame({"commune_code": ["27781"], "area_ha": ["23.865,5"]})
    with pytest.raises(
        LayerError,
        match=r"column 'area_ha': values such as '23.865,5' are "
        r"not numbers \[row 0\]",
    ):
        to_new_communes(table, long_an)


def test_error_no_code_or_name_column(long_an):
    with pytest.raises(SchemaError, match=r"no column of commune codes.*pass code_col="):
        to_new_communes(pd.DataFrame({"x": [1], "area_ha": [1.0]}), long_an)
    with pytest.raises(SchemaError, match=r"code column 'ma' is not in the table"):
        to_new_communes(pd.DataFrame({"x": [1]}), long_an, code_col="ma")


def test_error_lineage_one_layer_only():
    old = _communes(["A"], [km(0, 1)])
    with pytest.raises(GeoagriError, match=r"only old_communes was given.*pass both layers"):
        lineage(old)


def test_error_lineage_bad_layers():
    old = _communes(["A", "A"], [km(0, 1), km(1, 2)])
    new = _communes(["N"], [km(0, 2)])
    with pytest.raises(LayerError, match=r"(?s)layer 'old_communes'.*share a commune_id \[A\]"):
        lineage(old, new)
    with pytest.raises(
        SchemaError,
        match=r"layer 'new_communes' lacks column\(s\) "
        r"\['commune_name'\]",
    ):
        lineage(old.iloc[:1], new.drop(columns="commune_name"))
    with pytest.raises(GeoagriError, match=r"layer 'old_communes' has no CRS"):
        lineage(old.iloc[:1].set_crs(None, allow_override=True), new)


# ---------------------------------------------------------------------- report, CLI


def test_report_writes_lineage_sheet_only_when_given(tmp_path, long_an):
    from openpyxl import load_workbook

    empty = pd.DataFrame()
    p = pd.DataFrame(columns=["indicator", "unit", "scope", "source", "year"])
    lin = long_an[long_an["new_code"] == NEW_TUYEN_BINH]
    files = write_report(ReportData(p, empty, empty, empty, lineage=lin), tmp_path / "r.xlsx")
    ws = load_workbook(files["workbook"])["Phụ lục V – Chuyển đổi 2025"]
    h = int(ws.print_title_rows.split(":")[0].strip("$"))  # the header, under the title
    assert ws.cell(h, 2).value == "Mã xã cũ" and ws.cell(h, 9).value == "Tỷ lệ chuyển sang (0–1)"
    rows = [[c.value for c in r][1:] for r in ws.iter_rows(min_row=h + 1)
            if isinstance(r[0].value, int)]
    assert [r[0] for r in rows] == ["27772", "27775", "27778", "27781", "27784"]
    assert rows[1][4:8] == ["27775", "Xã Tuyên Bình", "Tỉnh Tây Ninh", 0.5]
    assert rows[1][8] == "Chia đều (ước tính)" and rows[3][8] == "Nhập nguyên xã"
    csv = pd.read_csv(files["appendix_5_reform_lineage"], dtype=str, encoding="utf-8-sig")
    assert len(csv) == 5 and csv.columns[0] == "Mã xã cũ"
    files = write_report(ReportData(p, empty, empty, empty), tmp_path / "s.xlsx")
    assert "appendix_5_reform_lineage" not in files
    assert len(load_workbook(files["workbook"]).sheetnames) == 5


def test_cli_reform_end_to_end(tmp_path, capsys):
    src = tmp_path / "vinh_hung_2024.csv"
    pd.DataFrame(
        {
            "commune_id": [27781, 27784, 27775],  # as Excel saves them: numbers
            "commune_name": ["Xã Tuyên Bình", "Xã Tuyên Bình Tây", "Xã Vĩnh Bình"],
            "linkage_area_ha": [2400.0, 2600.0, 3000.0],
            "yield_t_ha": [8.2, 8.0, 7.5],
            "ghi_chu": ["", "", ""],
        }
    ).to_csv(src, index=False, encoding="utf-8-sig")
    code = main(
        [
            "reform",
            str(src),
            "--to-2025",
            "--out",
            str(tmp_path / "out"),
            "--province",
            "Long An",
            "--intensive",
            "yield_t_ha=linkage_area_ha",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "3 rows of old communes → 2 new communes" in out
    assert "linkage_area_ha: 8,000.00 before, 8,000.00 after" in out
    carried_path = tmp_path / "out" / "vinh_hung_2024_2025.csv"
    assert carried_path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    carried = pd.read_csv(carried_path, dtype={"new_code": str}, encoding="utf-8-sig")
    got = carried.set_index("new_code")
    assert got.loc[NEW_TUYEN_BINH, "linkage_area_ha"] == 6500.0
    assert got.loc[NEW_VINH_HUNG, "linkage_area_ha"] == 1500.0
    assert got.loc[NEW_TUYEN_BINH, "yield_t_ha"] == pytest.approx(
        (2400 * 8.2 + 2600 * 8.0 + 1500 * 7.5) / 6500
    )
    assert got.loc[NEW_TUYEN_BINH, "new_name"] == "Xã Tuyên Bình"
    lin = pd.read_csv(tmp_path / "out" / "lineage_2025.csv", dtype=str, encoding="utf-8-sig")
    assert sorted(lin["old_code"]) == ["27775", "27775", "27781", "27784"]
    assert list(lin.columns) == list(LINEAGE_COLUMNS)


def test_cli_reform_error_is_one_message(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text("commune_name,area_ha\nXã Không Có,1\n", encoding="utf-8")
    code = main(
        ["reform", str(src), "--to-2025", "--out", str(tmp_path / "o"), "--province", "Long An"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("geoagri reform: layer 'table' has 1 problem")
    assert "Xã Không Có" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_cli_reform_reads_the_reports_own_appendix_table(tmp_path, capsys):
    # the shape of tables/appendix_1_linkage.csv: Vietnamese labels with units in
    # parentheses, a row for area outside every commune and a total row
    src = tmp_path / "appendix_1_linkage.csv"
    pd.DataFrame(
        {
            "Mã xã": ["27781", "27784", "27775", None, None],
            "Xã, thị trấn": ["Xã Tuyên Bình", "Xã Tuyên Bình Tây", "Xã Vĩnh Bình",
                             "Ngoài ranh giới các xã", "Tổng cộng"],
            "Diện tích liên kết (ha)": [2400.0, 2600.0, 3000.0, 0.25, 8000.25],
            "Tỷ lệ đạt (%)": [90.0, 110.0, 100.0, None, 100.0],
        }
    ).to_csv(src, index=False, encoding="utf-8-sig")
    with pytest.warns(GeoagriWarning, match=r"1 total row\(s\) left out \(row 4\)"):
        code = main(["reform", str(src), "--to-2025", "--out", str(tmp_path / "out"),
                     "--province", "Long An"])
    out = capsys.readouterr().out
    assert code == 0
    assert "4 rows of old communes → 2 new communes" in out
    # the total row is not carried twice: 8,000.25 ha before and after
    assert "Diện tích liên kết (ha): 8,000.25 before, 8,000.25 after" in out
    assert "averaged: Tỷ lệ đạt (%)" in out
    carried = pd.read_csv(tmp_path / "out" / "appendix_1_linkage_2025.csv",
                          dtype={"new_code": str}, encoding="utf-8-sig")
    got = carried.set_index(carried["new_code"].fillna("outside"))
    assert got.loc[NEW_TUYEN_BINH, "Diện tích liên kết (ha)"] == 6500.0
    assert got.loc[NEW_VINH_HUNG, "Diện tích liên kết (ha)"] == 1500.0
    assert got.loc["outside", "Diện tích liên kết (ha)"] == 0.25
    assert got.loc["outside", "old_units"].startswith("Ngoài ranh giới các xã")
    assert not got.loc["outside", "approximate"]
