"""Feature accounting on hand-made layers: every feature read is used, repaired,
outside every commune or dropped with a reason, and the counts add up."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon, box

from geoagri._accounting import COLUMNS, feature_accounting
from geoagri.errors import SchemaError
from geoagri.validate import canonicalize

X, Y = 500_000, 1_200_000
UTM = "EPSG:32648"


@pytest.fixture()
def layers():
    communes = canonicalize(gpd.GeoDataFrame(
        {"commune_id": ["1", "2"], "commune_name": ["Xã A", "Xã B"]},
        geometry=[box(X, Y, X + 1000, Y + 1000), box(X + 1000, Y, X + 2000, Y + 1000)],
        crs=UTM), "communes")
    bowtie = Polygon([(X + 100, Y + 100), (X + 300, Y + 300), (X + 300, Y + 100),
                      (X + 100, Y + 300)])  # self-intersecting: repaired
    with pytest.warns(UserWarning, match="repaired 1 invalid"):
        zones = canonicalize(gpd.GeoDataFrame(
            {"zone_id": ["Z1", "Z2", "Z3", "Z4", "Z5"], "zone_kind": ["linkage"] * 5},
            geometry=[box(X + 10, Y + 10, X + 20, Y + 20),         # inside commune 1
                      box(X + 1900, Y + 10, X + 2100, Y + 20),     # across the border
                      box(X + 5000, Y + 5000, X + 5100, Y + 5100),  # outside every commune
                      bowtie,
                      box(X - 300, Y - 300, X - 200, Y - 200)],     # outside, and dropped
            crs=UTM), "zones", repair=True)
    pumps = canonicalize(gpd.GeoDataFrame({"pump_id": ["TB01"], "status": ["operating"]},
                                          geometry=[Point(X + 500, Y + 500)], crs=UTM),
                         "pumps")
    targets = canonicalize(pd.DataFrame(
        {"indicator": ["linkage_area"], "unit": ["ha"], "scope": ["district"],
         "scope_id": ["Huyện X"], "year": [2024], "source": ["resolution"],
         "target": [100.0]}), "targets")
    return ({"communes": communes, "zones": zones, "pumps": pumps, "targets": targets},
            {"communes": "communes", "zones": "zones", "pumps": "pumps", "targets": "targets"})


def test_counts_per_layer(layers):
    frames, kinds = layers
    table = feature_accounting(frames, kinds, dropped={
        "zones": {"outside the district": ["Z5"], "no crop": ["Z5", "Z3"]}})
    assert table.columns.tolist() == COLUMNS
    assert table.index.tolist() == ["communes", "zones", "pumps", "targets"]
    z = table.loc["zones"]
    assert (z["read"], z["used"], z["repaired"], z["outside_communes"], z["dropped"]) \
        == (5, 3, 1, 2, 2)
    assert z["why"] == "outside the district: 1 (Z5); no crop: 2 (Z5, Z3)"
    p = table.loc["pumps"]
    assert (p["read"], p["used"], p["repaired"], p["outside_communes"], p["dropped"]) \
        == (1, 1, 0, 0, 0)
    assert p["why"] == ""
    # the communes and tables are not "outside"; nothing of theirs is dropped
    assert pd.isna(table.loc["communes", "outside_communes"])
    assert pd.isna(table.loc["targets", "outside_communes"])
    assert table.loc["targets", "read"] == table.loc["targets", "used"] == 1
    # every feature is accounted for
    assert (table["read"] == table["used"] + table["dropped"]).all()


def test_without_communes_nothing_is_outside(layers):
    frames, _ = layers
    table = feature_accounting({"zones": frames["zones"]}, {"zones": "zones"})
    assert pd.isna(table.loc["zones", "outside_communes"])
    assert table.loc["zones", "used"] == 5


def test_dropped_must_name_real_layers_and_ids(layers):
    frames, kinds = layers
    with pytest.raises(SchemaError, match="'parcels'"):
        feature_accounting(frames, kinds, dropped={"parcels": {"x": ["P1"]}})
    with pytest.raises(SchemaError, match=r"\['Z9'\].*'zones'"):
        feature_accounting(frames, kinds, dropped={"zones": {"x": ["Z9"]}})


def test_long_id_lists_are_cut(layers):
    frames, kinds = layers
    many = gpd.GeoDataFrame({"pump_id": [f"TB{i:02d}" for i in range(8)],
                             "status": ["operating"] * 8},
                            geometry=[Point(X + 10 * i, Y + 10) for i in range(8)], crs=UTM)
    table = feature_accounting({**frames, "pumps": canonicalize(many, "pumps")}, kinds,
                               dropped={"pumps": {"no power": list(many["pump_id"])}})
    assert table.loc["pumps", "why"] == \
        "no power: 8 (TB00, TB01, TB02, TB03, TB04 and 3 more)"
    assert table.loc["pumps", "used"] == 0


@pytest.mark.parametrize("second", [box(X + 1000, Y, X + 2000, Y + 1000),   # they tile
                                    box(X + 900, Y, X + 2000, Y + 1000)])   # they overlap
def test_outside_whether_or_not_the_communes_tile_the_land(second):
    """Communes that overlap are no coverage (the general union is used): the same land."""
    communes = gpd.GeoDataFrame(
        {"commune_id": ["1", "2", "3"], "commune_name": ["Xã A", "Xã B", "Xã C"]},
        geometry=[box(X, Y, X + 1000, Y + 1000), second,
                  box(X + 3000, Y, X + 4000, Y + 1000)], crs=UTM)  # a 1 km gap before 3
    zones = gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2", "Z3", "Z4"], "zone_kind": ["linkage"] * 4},
        geometry=[box(X + 940, Y + 10, X + 960, Y + 20),      # where 1 and 2 meet
                  box(X + 2400, Y + 10, X + 2600, Y + 20),    # in the gap: outside
                  box(X + 1990, Y + 10, X + 2010, Y + 20),    # across 2's edge: inside
                  box(X + 9000, Y + 10, X + 9100, Y + 20)],   # far: outside
        crs=UTM)
    table = feature_accounting({"communes": communes, "zones": zones},
                               {"communes": "communes", "zones": "zones"})
    assert table.loc["zones", "outside_communes"] == 2
