"""Tests of geoagri.progress: hand-made facts and targets, and seed 000's figures."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from geoagri.errors import NameMatchError, SchemaError
from geoagri.progress import PROGRESS_COLUMNS, achieved_pct, progress

DISTRICT = "Huyện Vĩnh Hưng"


def facts(rows):
    """Facts from (indicator, unit, year, actual[, season[, scope, scope_id]]) tuples."""
    out = []
    for r in rows:
        ind, unit, year, value, *rest = r
        season = rest[0] if rest else None
        scope, sid = (rest[1], rest[2]) if len(rest) > 1 else ("district", "Vĩnh Hưng")
        out.append({"indicator": ind, "unit": unit, "scope": scope, "scope_id": sid,
                    "year": year, "season": season, "actual": value})
    return pd.DataFrame(out)


def targets(rows):
    """Targets from (indicator, unit, year, source, target[, start_year[, season]])."""
    out = []
    for r in rows:
        ind, unit, year, source, target, *rest = r
        out.append({"indicator": ind, "unit": unit, "scope": "district", "scope_id": DISTRICT,
                    "year": year, "source": source, "target": target,
                    "start_year": rest[0] if rest else None,
                    "season": rest[1] if len(rest) > 1 else None})
    return pd.DataFrame(out)


# seed 000: yearly high-tech rice areas summing to 6,400 ha over 2021-2024 and
# 11,873 ha over 2017-2024 (the report gives only the sums; the split is made up)
SEED_FACTS = facts([
    ("linkage_area", "ha", 2024, 23865.0),
    *[("hightech_rice_area", "ha", y, v) for y, v in
      [(2017, 1200.0), (2018, 1100.0), (2019, 1573.0), (2020, 1600.0),
       (2021, 1500.0), (2022, 1700.0), (2023, 1900.0), (2024, 1300.0)]],
])
SEED_TARGETS = targets([
    ("linkage_area", "ha", 2024, "resolution", 21227.0),
    ("linkage_area", "ha", 2025, "roadmap", 22640.0),
    ("hightech_rice_area", "ha", 2024, "plan", 1350.0),
    ("hightech_rice_area", "ha", 2024, "roadmap", 4950.0, 2021),
    ("hightech_rice_area", "ha", 2025, "resolution", 6327.0, 2021),
    ("hightech_rice_area", "ha", 2025, "province_assigned", 11800.0, 2017),
])


def test_seed_000_figures_reproduced():
    out = progress(SEED_FACTS, SEED_TARGETS, as_of=2024)
    assert list(out.columns) == list(PROGRESS_COLUMNS)
    assert out["actual"].tolist() == [23865.0, 23865.0, 1300.0, 6400.0, 6400.0, 11873.0]
    # the report's own figures: 112,4 / 105,4 / 96,2 / 129,2 / 101,1 / 100,6 %
    assert out["achieved_pct"].tolist() == [112.4, 105.4, 96.2, 129.2, 101.1, 100.6]
    assert out["shortfall"].tolist() == [0.0, 0.0, 50.0, 0.0, 0.0, 0.0]
    assert out["actual_year"].tolist() == [2024] * 6


def test_rounding_half_up_differs_from_the_report():
    out = progress(SEED_FACTS, SEED_TARGETS, as_of=2024, rounding="half_up")
    assert out["achieved_pct"].tolist() == [112.4, 105.4, 96.3, 129.3, 101.2, 100.6]
    exact = progress(SEED_FACTS, SEED_TARGETS, as_of=2024, rounding="none")
    assert exact["achieved_pct"][2] == pytest.approx(1300 / 1350 * 100)
    two = progress(SEED_FACTS, SEED_TARGETS, as_of=2024, decimals=2)
    assert two["achieved_pct"][2] == 96.29


def test_truncation_survives_binary_noise():
    assert achieved_pct(1124, 1000) == 112.4          # 112.39999999999999 in floats
    assert achieved_pct(1, 3) == 33.3
    assert achieved_pct(5, 0) != achieved_pct(5, 0)  # NaN
    with pytest.raises(ValueError, match="rounding"):
        achieved_pct(1, 2, rounding="bankers")


def test_future_target_uses_latest_actual_without_as_of():
    out = progress(SEED_FACTS, SEED_TARGETS)
    roadmap = out.iloc[1]
    assert roadmap["actual"] == 23865.0 and roadmap["achieved_pct"] == 105.4
    assert roadmap["actual_year"] == 2024
    assert "latest actual (2024)" in roadmap["note"]
    # cumulative to 2025 sums up to the latest year, 2024
    assert out.iloc[4]["actual"] == 6400.0


def test_as_of_cuts_the_period():
    f = facts([("linkage_area", "ha", 2023, 20000.0), ("linkage_area", "ha", 2024, 23865.0)])
    t = targets([("linkage_area", "ha", 2025, "roadmap", 22640.0),
                 ("linkage_area", "ha", 2024, "resolution", 21227.0)])
    out = progress(f, t, as_of=2023)
    assert out["actual"].tolist() == [20000.0, 20000.0]
    assert out["actual_year"].tolist() == [2023, 2023]
    assert "as_of" in out["note"][0]


def test_missing_year_inside_the_data_is_not_filled():
    f = facts([("hightech_rice_area", "ha", y, 100.0) for y in (2021, 2022, 2024)])
    t = targets([("hightech_rice_area", "ha", 2023, "plan", 100.0),
                 ("hightech_rice_area", "ha", 2024, "roadmap", 500.0, 2021)])
    out = progress(f, t)
    assert math.isnan(out["actual"][0]) and math.isnan(out["shortfall"][0])
    assert "no actual for 2023" in out["note"][0]
    assert out["actual"][1] == 300.0
    assert "no actual for 2023" in out["note"][1] and "covers 2021, 2022, 2024" in out["note"][1]


def test_per_season_targets_and_season_sums():
    f = facts([("hightech_rice_area", "ha", 2024, 450.0, "Đông Xuân 2023-2024"),
               ("hightech_rice_area", "ha", 2024, 850.0, "HT 2024"),
               ("models", "count", 2024, 12.0, "HT 2024")])
    t = targets([("hightech_rice_area", "ha", 2024, "plan", 900.0, None, "vụ Hè Thu 2024"),
                 ("hightech_rice_area", "ha", 2024, "plan", 1350.0),
                 ("models", "number", 2024, "kế hoạch", 12.0, None, "HT 2024"),
                 ("models", "count", 2024, "plan", 14.0)])
    out = progress(f, t)
    assert out["season"].tolist()[0] == "HT 2024"
    assert out["actual"].tolist() == [850.0, 1300.0, 12.0, 12.0]
    assert out["achieved_pct"].tolist() == [94.4, 96.2, 100.0, 85.7]
    assert out["unit"][2] == "count" and out["source"][2] == "plan"


def test_whole_year_row_wins_over_seasons():
    f = facts([("hightech_rice_area", "ha", 2024, 1300.0),
               ("hightech_rice_area", "ha", 2024, 850.0, "HT 2024")])
    out = progress(f, targets([("hightech_rice_area", "ha", 2024, "plan", 1350.0)]))
    assert out["actual"][0] == 1300.0


def test_count_indicators():
    """Seeds 002 and 004: cooperatives founded, works completed."""
    f = facts([("cooperatives_founded", "count", 2023, 18.0),
               ("cooperatives_founded", "count", 2024, 30.0),
               ("works_completed", "count", 2024, 4.0)])
    t = targets([("cooperatives_founded", "count", 2024, "plan", 45.0),
                 ("cooperatives_founded", "count", 2024, "resolution", 45.0, 2023),
                 ("works_completed", "count", 2024, "plan", 8.0)])
    out = progress(f, t)
    assert out["actual"].tolist() == [30.0, 48.0, 4.0]
    assert out["achieved_pct"].tolist() == [66.6, 106.6, 50.0]
    assert out["shortfall"].tolist() == [15.0, 0.0, 4.0]


def test_several_sources_side_by_side_keep_target_order():
    out = progress(SEED_FACTS, SEED_TARGETS, as_of=2024)
    assert out["source"].tolist() == ["resolution", "roadmap", "plan", "roadmap",
                                      "resolution", "province_assigned"]
    assert str(out["start_year"].dtype) == "Int64" and out["start_year"][:3].isna().all()
    assert out["start_year"][3] == 2021


def test_unit_mismatch_is_noted_on_its_row_only():
    f = facts([("hightech_rice_area", "ha", 2024, 1300.0)])
    t = targets([("hightech_rice_area", "count", 2024, "plan", 26.0),
                 ("hightech_rice_area", "ha", 2024, "plan", 1350.0)])
    out = progress(f, t)
    assert math.isnan(out["actual"][0]) and math.isnan(out["achieved_pct"][0])
    assert "'count' (count), the actual in ha (area)" in out["note"][0]
    assert out["achieved_pct"][1] == 96.2


def test_several_units_in_facts_is_an_error():
    f = facts([("yield", "t_ha", 2023, 8.2), ("yield", "tạ/ha", 2024, 82.0)])
    f.loc[1, "unit"] = "vnd"
    with pytest.raises(SchemaError, match="several units"):
        progress(f, targets([("yield", "t_ha", 2024, "plan", 8.0)]))


def test_target_without_actual_is_kept_with_a_note():
    f = facts([("linkage_area", "ha", 2024, 23865.0)])
    t = targets([("linkage_area", "ha", 2024, "resolution", 21227.0),
                 ("vietgap_area", "ha", 2024, "plan", 500.0)])
    t.loc[2] = t.loc[0]
    t.loc[2, "scope_id"] = "Huyện Tân Hưng"
    out = progress(f, t)
    assert len(out) == 3
    assert math.isnan(out["actual"][1]) and math.isnan(out["achieved_pct"][1])
    assert "vietgap_area" in out["note"][1] and "not computed" in out["note"][1]
    assert math.isnan(out["actual"][2]) and "Tân Hưng" in out["note"][2]


def test_scope_matching_by_unit_key_and_scope_name():
    f = pd.DataFrame({"indicator": "linkage_area", "unit": "ha", "scope": "commune",
                      "scope_id": ["27784", "27781"],
                      "scope_name": ["Xã Tuyên Bình Tây", "Xã Tuyên Bình"],
                      "year": 2024, "actual": [2300.0, 2100.0]})
    t = pd.DataFrame({"indicator": "linkage_area", "unit": "ha", "scope": "xã",
                      "scope_id": ["TUYÊN BÌNH TÂY", "27781", "xa Tuyen Binh"],
                      "year": 2024, "source": "resolution", "target": 2000.0})
    out = progress(f, t)
    assert out["actual"][:2].tolist() == [2300.0, 2100.0]
    assert out["scope"][0] == "commune" and out["scope_id"][0] == "TUYÊN BÌNH TÂY"
    # without diacritics a name does not match (unit_key keeps them): reported, not guessed
    assert math.isnan(out["actual"][2])


def test_scope_level_must_match():
    f = facts([("linkage_area", "ha", 2024, 100.0, None, "commune", "Vĩnh Hưng")])
    out = progress(f, targets([("linkage_area", "ha", 2024, "plan", 100.0)]))
    assert math.isnan(out["actual"][0])


def test_zero_target():
    out = progress(facts([("works_completed", "count", 2024, 2.0)]),
                   targets([("works_completed", "count", 2024, "plan", 0.0)]))
    assert math.isnan(out["achieved_pct"][0]) and out["shortfall"][0] == 0.0
    assert "target is 0" in out["note"][0]


@pytest.mark.parametrize("bad, match", [
    ("missing_target_column", r"targets table lacks column\(s\) \['target'\]"),
    ("missing_actual_column", r"actual table lacks column\(s\) \['actual'\]"),
    ("duplicate_fact", "repeat the same fact"),
    ("bad_season", "is not a season"),
    ("no_year", "have no year"),
])
def test_errors(bad, match):
    f = facts([("linkage_area", "ha", 2024, 1.0)])
    t = targets([("linkage_area", "ha", 2024, "plan", 1.0)])
    if bad == "missing_target_column":
        t = t.drop(columns="target")
    elif bad == "missing_actual_column":
        f = f.drop(columns="actual")
    elif bad == "duplicate_fact":
        f = pd.concat([f, f], ignore_index=True)
    elif bad == "bad_season":
        t["season"] = "spring 2024"
    elif bad == "no_year":
        f["year"] = None
    with pytest.raises(SchemaError, match=match):
        progress(f, t)


def test_unknown_rounding():
    with pytest.raises(ValueError, match="rounding"):
        progress(SEED_FACTS, SEED_TARGETS, rounding="up")


def test_inputs_unchanged():
    f, t = SEED_FACTS.copy(), SEED_TARGETS.copy()
    progress(f, t, as_of=2024)
    pd.testing.assert_frame_equal(f, SEED_FACTS)
    pd.testing.assert_frame_equal(t, SEED_TARGETS)


def test_demo_targets_table():
    from geoagri.datasets import demo

    plan_targets = demo()["targets"]
    f = facts([("linkage_area", "ha", 2024, 23865.0), ("hightech_rice_area", "ha", 2024, 1300.0)])
    out = progress(f, plan_targets, as_of=2024)
    assert len(out) == len(plan_targets)
    assert out["achieved_pct"][:3].tolist() == [112.4, 105.4, 96.2]
    assert out["source_ref"][0].startswith("NQ 36")


def test_a_name_two_units_share_needs_the_code():
    # two communes named Xã Bình Hòa (codes 30607 and 21079) in the facts
    actual = pd.DataFrame({
        "indicator": "linkage_area", "unit": "ha", "scope": "commune",
        "scope_id": ["30607", "21079"], "scope_name": ["Xã Bình Hòa", "Xã Bình Hòa"],
        "year": 2024, "actual": [120.0, 80.0]})
    target = {"indicator": "linkage_area", "unit": "ha", "scope": "commune", "year": 2024,
              "source": "plan", "target": 100.0}
    with pytest.raises(NameMatchError, match=r"Xã Bình Hòa \(30607\), Xã Bình Hòa \(21079\)"):
        progress(actual, pd.DataFrame([{**target, "scope_id": "Bình Hòa"}]))
    out = progress(actual, pd.DataFrame([{**target, "scope_id": "21079"}]))
    assert out["actual"].tolist() == [80.0] and out["achieved_pct"].tolist() == [80.0]


def test_percentages_from_the_figures_as_printed():
    """Issue item 5: 1.200 / 2.000 is 60,0% (measured ha 1e-6 short), 23.183,8 / 26.000
    is 89,16% (seed 002 prints two decimals), and the rule may change row by row."""
    actual = pd.DataFrame({"indicator": ["a", "b", "c"], "unit": "ha", "scope": "district",
                           "scope_id": "Tháp Mười", "year": 2024,
                           "actual": [1199.9999993, 23183.8, 1300.0]})
    targets = pd.DataFrame({"indicator": ["a", "b", "c", "c"], "unit": "ha",
                            "scope": "district", "scope_id": "Huyện Tháp Mười", "year": 2024,
                            "source": "plan", "target": [2000.0, 26000.0, 1350.0, 1350.0],
                            "decimals": [None, 2, None, None],
                            "rounding": [None, None, None, "làm tròn"]})
    out = progress(actual, targets)
    assert out["achieved_pct"].tolist() == [60.0, 89.16, 96.2, 96.3]
    assert out.loc[0, "actual"] == pytest.approx(1199.9999993)  # the actual is kept exact
    assert progress(actual, targets, actual_decimals=None).loc[0, "achieved_pct"] == 59.9
    with pytest.raises(SchemaError, match=r"rounding = 'nearest'"):
        progress(actual, targets.assign(rounding="nearest"))


def test_a_percentage_is_computed_from_the_actual_as_the_sentence_prints_it():
    """Seed 004's rule: 7 of 26 HTX linked with an enterprise is printed 26,9%; against the
    30% target the document computes 26,9 / 30 = 89,66… → 89,6% (from 26,923…: 89,7%)."""
    from geoagri.report import headline

    facts = pd.DataFrame({"indicator": ["cooperatives_with_partner_pct"], "unit": ["%"],
                          "scope": ["province"], "scope_id": ["An Giang"], "year": [2024],
                          "actual": [7 / 26 * 100]})
    targets = pd.DataFrame({"indicator": ["cooperatives_with_partner_pct"], "unit": ["%"],
                            "scope": ["province"], "scope_id": ["An Giang"], "year": [2024],
                            "source": ["plan"], "target": [30.0]})
    row = progress(facts, targets).iloc[0]
    assert row["achieved_pct"] == 89.6
    assert "26,9%, đạt 89,6%" in headline(row)
    # a measured area keeps whole hectares, money its whole triệu đồng
    assert progress(facts.assign(unit="ha", actual=23864.99213),
                    targets.assign(unit="ha", target=21227.0)).iloc[0]["achieved_pct"] == 112.4
    money = progress(facts.assign(unit="vnd", actual=4_412_634_567.0),
                     targets.assign(unit="vnd", target=4_413_000_000.0)).iloc[0]
    assert money["achieved_pct"] == 100.0  # 4.413 triệu as printed, / 4.413
    assert progress(facts, targets, actual_decimals=None).iloc[0]["achieved_pct"] == 89.7
    # a plan printing money in tỷ đồng (seed 004's 4,4 tỷ đồng): 4.461.234.567 VND is
    # printed 4,5 tỷ đồng, so against 5 tỷ it is 4,5 / 5 = 90,0%; printed 4.461 triệu
    # đồng, it is 4.461 / 5.000 = 89,22 → 89,2%
    spent = facts.assign(unit="vnd", actual=4_461_234_567.0)
    aim = targets.assign(unit="vnd", target=5e9)
    assert progress(spent, aim, units={"vnd": "tỷ đồng"}).iloc[0]["achieved_pct"] == 90.0
    assert progress(spent, aim).iloc[0]["achieved_pct"] == 89.2
