"""Property tests: random valid layers round-trip through the file formats with
ids, attributes (Vietnamese text included) and areas unchanged; random
corruptions always raise a geoagri error that names the problem."""

from __future__ import annotations

import tempfile
import unicodedata
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from geoagri.errors import LayerError
from geoagri.io import read_layer, write_layer

UTM = "EPSG:32648"
VIETNAMESE = ("aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớở"
              "ỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ")
words = st.text(alphabet=VIETNAMESE + VIETNAMESE.upper(), min_size=1, max_size=8)
names = st.lists(words, min_size=1, max_size=4).map(" ".join)
SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def zone_layers(draw, min_size: int = 1) -> gpd.GeoDataFrame:
    """1–12 non-overlapping rectangles on a 1 km grid in UTM 48N, with text.

    Declared areas have 6 decimals (0.01 m²): a DBF stores 15 decimals at most.
    """
    n = draw(st.integers(min_size, 12))
    cells = draw(st.lists(st.integers(0, 99), min_size=n, max_size=n, unique=True))
    widths = draw(st.lists(st.floats(10, 1000), min_size=n, max_size=n))
    geoms = [box(500_000 + 1000 * (c % 10), 1_200_000 + 1000 * (c // 10),
                 500_000 + 1000 * (c % 10) + w, 1_201_000 + 1000 * (c // 10))
             for c, w in zip(cells, widths, strict=True)]
    ids = draw(st.lists(st.from_regex(r"[A-Z]{1,3}[0-9]{1,4}", fullmatch=True),
                        min_size=n, max_size=n, unique=True))
    return gpd.GeoDataFrame({
        "zone_id": ids,
        "zone_kind": draw(st.lists(st.sampled_from(["linkage", "production", "area_code"]),
                                   min_size=n, max_size=n)),
        "partner": draw(st.lists(names, min_size=n, max_size=n)),
        "declared_area_ha": draw(st.lists(st.floats(0, 1e5).map(lambda v: round(v, 6)),
                                          min_size=n, max_size=n)),
    }, geometry=geoms, crs=UTM)


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".shp", ".parquet"])
@SETTINGS
@given(layer=zone_layers())
def test_random_layers_round_trip(suffix, layer):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_layer(layer, Path(tmp) / f"zones{suffix}")
        back = read_layer(path, kind="zones")
    assert back["zone_id"].tolist() == layer["zone_id"].tolist()
    assert back["partner"].tolist() == [unicodedata.normalize("NFC", p)
                                        for p in layer["partner"]]
    assert back["zone_kind"].tolist() == layer["zone_kind"].tolist()
    np.testing.assert_allclose(back["declared_area_ha"], layer["declared_area_ha"], rtol=1e-12)
    np.testing.assert_allclose(back.area, layer.area, rtol=1e-12)


def _drop_required(g):
    return g.drop(columns="zone_kind"), "missing_column", "zone_kind"


# Each corruption touches its own row (0, 1 or 2), so that they combine.
def _null_geometry(g):
    g = g.copy()
    g.loc[g.index[2], "geometry"] = None
    return g, "null_geometry", str(g["zone_id"].iloc[2])


def _duplicate_id(g):
    g = g.copy()
    g.loc[g.index[1], "zone_id"] = g["zone_id"].iloc[0]
    return g, "duplicate_id", str(g["zone_id"].iloc[0])


def _bad_vocabulary(g):
    g = g.assign(status="active")
    g.loc[g.index[0], "status"] = "orchard"
    return g, "vocabulary", "'orchard'"


def _negative_area(g):
    g = g.copy()
    g.loc[g.index[0], "declared_area_ha"] = -1.0
    return g, "negative", "declared_area_ha"


def _wrong_type(g):
    g = g.copy()
    g.loc[g.index[0], "geometry"] = Point(500_000, 1_200_000)
    return g, "geometry_type", str(g["zone_id"].iloc[0])


CORRUPTIONS = [_drop_required, _null_geometry, _duplicate_id, _bad_vocabulary,
               _negative_area, _wrong_type]


@SETTINGS
@given(layer=zone_layers(min_size=3),
       picks=st.sets(st.sampled_from(range(len(CORRUPTIONS))), min_size=1, max_size=3))
def test_random_corruptions_raise_naming_the_problem(layer, picks):
    expected = []
    for i in sorted(picks):
        layer, code, token = CORRUPTIONS[i](layer)
        expected.append((code, token))
    with pytest.raises(LayerError) as exc:
        read_layer(layer, kind="zones", name="zones")
    err = exc.value
    for code, token in expected:
        assert code in err.codes, (code, str(err))
        assert token in str(err)
