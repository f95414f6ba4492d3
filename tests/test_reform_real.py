"""geoagri.reform against real reference data in ../shared/data (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geoagri.names import official_codes, unit_key
from geoagri.reform import lineage

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CROSSWALK = DATA / "focus_districts_old_to_new_2025.csv"
COMMUNES_2025 = DATA / "communes_2025" / "communes_2025.gpkg"


@pytest.fixture(scope="module")
def crosswalk():
    if not CROSSWALK.exists():
        pytest.skip(f"shared reference data absent: {CROSSWALK}")
    return pd.read_csv(CROSSWALK, dtype=str)


@pytest.fixture(scope="module")
def communes_2025():
    if not COMMUNES_2025.exists():
        pytest.skip(f"shared reference data absent: {COMMUNES_2025}")
    frame = gpd.read_file(COMMUNES_2025)
    frame["ward_id"] = frame["ward_id"].str.zfill(5)  # one id lost its leading zero
    return frame


def _before_merger(text: str) -> list[str]:
    """The old units named in a ``before_merger`` text, without the remarks in brackets."""
    names, current, depth = [], "", 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            names.append(current.strip())
            current = ""
        elif depth == 0:
            current += ch
    names.append(current.strip())
    return [n for n in names if n]


def test_lineage_agrees_with_crosswalk(crosswalk):
    lin = lineage(provinces=sorted(set(crosswalk["old_province"])))
    pairs = lin.set_index(["old_code", "new_code"])
    for row in crosswalk.itertuples():
        key = (row.old_ward_code, row.new_ward_code)
        assert key in pairs.index, key
        got = pairs.loc[key]
        assert got["old_name"] == row.old_ward and got["new_name"] == row.new_ward
        assert (got["weight"] < 1) == (row.divided == "True"), key
        if row.divided == "True":
            assert bool(got["default_new"]) == (row.isDefaultNewWard == "True"), key
    # the crosswalk lists all ten communes of Vĩnh Hưng: there, nothing more, nothing less
    mine = lin[lin["old_district"] == "Huyện Vĩnh Hưng"]
    theirs = crosswalk[crosswalk["old_district"] == "Huyện Vĩnh Hưng"]
    assert mine["old_code"].nunique() == 10
    assert set(zip(mine["old_code"], mine["new_code"], strict=True)) == set(
        zip(theirs["old_ward_code"], theirs["new_ward_code"], strict=True)
    )


def test_vinh_hung_new_tuyen_binh_from_crosswalk(crosswalk):
    rows = crosswalk[crosswalk["new_ward_code"] == "27775"]
    whole = set(rows.loc[rows["divided"] == "False", "old_ward"])
    parts = set(rows.loc[rows["divided"] == "True", "old_ward"])
    assert whole == {"Xã Tuyên Bình", "Xã Tuyên Bình Tây"}
    assert parts == {"Xã Vĩnh Bình", "Xã Vĩnh Thuận", "Xã Thái Bình Trung"}
    lin = lineage(provinces="Long An")
    tb = lin[lin["new_code"] == "27775"]
    assert set(tb.loc[tb["weight"] == 1, "old_name"]) == whole
    assert set(tb.loc[tb["weight"] < 1, "old_name"]) == parts


def test_lineage_agrees_with_before_merger_of_new_tuyen_binh(communes_2025):
    row = communes_2025[(communes_2025["ward_id"] == "27775")].iloc[0]
    assert (row["province"], row["name"]) == ("Tây Ninh", "Tuyên Bình")
    named = _before_merger(row["before_merger"])
    codes = official_codes(named, era="old", province="Long An", district="Vĩnh Hưng")
    lin = lineage(provinces="Tây Ninh", era="new")
    assert sorted(codes) == sorted(lin.loc[lin["new_code"] == "27775", "old_code"])
    assert sorted(codes) == ["27772", "27775", "27778", "27781", "27784"]


def test_lineage_agrees_with_before_merger_across_new_tay_ninh(communes_2025):
    lin = lineage(provinces="Tây Ninh", era="new")
    tay_ninh = communes_2025[communes_2025["province"] == "Tây Ninh"]
    assert len(tay_ninh) == lin["new_code"].nunique() == 96
    disagree = {}
    for row in tay_ninh.itertuples():
        mine = {unit_key(n) for n in lin.loc[lin["new_code"] == row.ward_id, "old_name"]}
        theirs = {unit_key(n) for n in _before_merger(row.before_merger)}
        if mine != theirs:
            disagree[row.ward_id] = sorted(mine ^ theirs)
    # the one difference is a spelling: Phường IV (before_merger) is Phường 4
    assert disagree == {"25459": ["4", "iv"]}


def test_overlay_of_real_2025_communes_gives_area_shares(communes_2025):
    # an "old" commune made of the real new Tuyên Bình and Vĩnh Hưng: its shares are
    # their areas (the file's area_ha_utm48n) within the 0.1% the metric CRS promises,
    # the 26 ha where the two overlap counted once, in Vĩnh Hưng (27757, the lower code)
    real = communes_2025[communes_2025["ward_id"].isin(["27775", "27757"])]
    real = real.assign(commune_id=real["ward_id"], commune_name=real["name"]).to_crs(4326)
    old = gpd.GeoDataFrame(
        {"commune_id": ["X"], "commune_name": ["Xã X"]},
        geometry=[shapely.union_all(real.geometry.to_numpy())],
        crs=4326,
    )
    lin = lineage(old, real[["commune_id", "commune_name", "geometry"]])
    got = dict(zip(lin["new_code"], lin["weight"], strict=True))
    areas = real.set_index("ward_id")["area_ha_utm48n"].copy()
    utm = real.set_index("ward_id").geometry.to_crs(32648)
    areas["27775"] -= shapely.area(shapely.intersection(utm["27775"], utm["27757"])) / 1e4
    expected = (areas / areas.sum()).to_dict()
    assert got.keys() == expected.keys()
    for code, share in expected.items():
        assert got[code] == pytest.approx(share, rel=1e-3)
    assert sum(got.values()) == pytest.approx(1.0, abs=1e-12)
    assert set(lin["weight_source"]) == {"geometry"}
