"""The notebook surface: ``import geoagri as ga`` and Tab, lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import geoagri as ga


@pytest.mark.parametrize("name", ga.__all__)
def test_every_public_name_resolves(name):
    value = getattr(ga, name)
    assert value.__name__ == name
    assert name in dir(ga)


def test_functions_keep_their_names_over_their_modules():
    import geoagri.coverage
    import geoagri.infrastructure
    import geoagri.progress  # noqa: F401  (the import binds nothing over the functions)

    assert callable(ga.coverage) and ga.coverage.__module__ == "geoagri.coverage"
    assert callable(ga.progress) and callable(ga.infrastructure)
    assert sys.modules["geoagri.coverage"].gaps is ga.gaps


def test_import_geoagri_loads_no_geospatial_library():
    code = ("import sys, geoagri; heavy = {'geopandas', 'shapely', 'numba', 'pandas'}; "
            "print(sorted(heavy & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'area_by_commune'"):
        ga.area_by_commune  # noqa: B018


def test_plan_and_results_show_tables_not_wkt():
    plan = ga.demo()
    text = repr(plan)
    assert text.count("\n") == 0 and "POLYGON" not in text and "EPSG:9210" in text
    page = plan._repr_html_()
    assert "<table" in page and "POLYGON" not in page and "pump radius" in page
    res = ga.compute(plan, curve_steps=0)
    page = res._repr_html_()
    assert "112.4" in page and "POLYGON" not in page
