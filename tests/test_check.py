"""`geoagri check` names what `geoagri run` would trip on, or lose without a word.

Each careless input is tried through the API (check_plan, read_layer) and the
command line (`geoagri check` and `geoagri run`): the message names the layer,
the ids and the fix; the exit status is 1; there is no traceback and `run` writes
no file."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import Point, box

from geoagri.cli import main
from geoagri.errors import GeoagriWarning, LayerError, PlanError
from geoagri.io import read_layer, write_layer
from geoagri.io.legacy_encoding import encode_legacy
from geoagri.plan import check_plan, read_plan

X, Y = 500_000, 1_200_000  # UTM 48N, in Long An: 1 km² = 100 ha
UTM = "EPSG:32648"
NAMES = ["Xã Thái Trị", "Xã Vĩnh Trị", "Thị trấn Vĩnh Hưng"]


def _communes():
    return gpd.GeoDataFrame(
        {"commune_id": ["27784", "27757", "27760"], "commune_name": NAMES,
         "district": ["Huyện Vĩnh Hưng"] * 3},
        geometry=[box(X + 5000 * i, Y, X + 5000 * (i + 1), Y + 5000) for i in range(3)],
        crs=UTM)


def _zones():
    return gpd.GeoDataFrame(
        {"zone_id": ["Z1", "Z2"], "zone_kind": ["linkage"] * 2, "crop": ["rice"] * 2},
        geometry=[box(X + 1000, Y + 1000, X + 2000, Y + 2000),
                  box(X + 6000, Y + 1000, X + 7000, Y + 2000)], crs=UTM)


#: Pumps in lon/lat, as a CSV: inside commune 27784 (UTM 48N x≈502,500, y≈1,202,500).
PUMPS = "pump_id,status,lon,lat\nTB01,operating,105.0230,10.8700\nTB02,planned,105.0600,10.8700\n"


def _plan(tmp_path, *, communes=None, zones=None, pumps=PUMPS, settings=""):
    write_layer(_communes() if communes is None else communes, tmp_path / "communes.gpkg")
    write_layer(_zones() if zones is None else zones, tmp_path / "zones.gpkg")
    (tmp_path / "pumps.csv").write_text(pumps, encoding="utf-8")
    plan = tmp_path / "plan.toml"
    plan.write_text(f"""
[plan]
name = "careless"
year = 2024
[layers.communes]
kind = "communes"
path = "communes.gpkg"
[layers.zones]
kind = "zones"
path = "zones.gpkg"
[layers.pumps]
kind = "pumps"
path = "pumps.csv"
{settings}
""", encoding="utf-8")
    return plan


def _cli(capsys, tmp_path, plan, *needles):
    """check and run both fail with status 1, the message, no traceback, no files."""
    assert main(["check", str(plan)]) == 1
    out, err = capsys.readouterr()
    for needle in needles:
        assert needle in out, (needle, out)
    assert "Traceback" not in out + err
    outdir = tmp_path / "out"
    assert main(["run", str(plan), "--out", str(outdir)]) == 1
    out, err = capsys.readouterr()
    for needle in needles:
        assert needle in err, (needle, err)
    assert "Traceback" not in out + err
    assert not outdir.exists() or not any(outdir.rglob("*"))


def test_the_clean_plan_passes(tmp_path, capsys):
    plan = _plan(tmp_path)
    assert check_plan(plan) == {}
    assert main(["check", str(plan)]) == 0
    assert main(["run", str(plan), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "report.xlsx").exists()


def test_huge_coordinates(tmp_path, capsys):
    zones = _zones()
    zones.loc[1, "geometry"] = box(1e300, 1e300, 1.5e300, 1.5e300)
    plan = _plan(tmp_path, zones=zones)
    err = check_plan(plan)["zones"]
    problem = next(p for p in err.problems if p.code == "out_of_range")
    assert list(problem.ids) == ["Z2"] and "1e+300" in problem.message
    _cli(capsys, tmp_path, plan, "layer 'zones'", "Z2", "outside the range where WGS 84 / UTM "
         "zone 48N is valid", "Fix: correct the coordinates")


def test_coordinates_that_are_not_numbers(tmp_path, capsys):
    plan = _plan(tmp_path, pumps=PUMPS + "TB03,planned,inf,10.87\n")
    err = check_plan(plan)["pumps"]
    assert "non_finite" in err.codes
    assert list(next(p for p in err.problems if p.code == "non_finite").ids) == ["TB03"]
    _cli(capsys, tmp_path, plan, "layer 'pumps'", "TB03", "not numbers (NaN or infinite)")


def test_northing_outside_the_zone(tmp_path, capsys):
    """A VN-2000 northing whose sign was lost lies in the other hemisphere."""
    zones = _zones().to_crs("EPSG:9210")
    zones.loc[0, "geometry"] = box(500_000, -1_202_000, 501_000, -1_201_000)
    plan = _plan(tmp_path, zones=zones)
    err = check_plan(plan)["zones"]
    problem = next(p for p in err.problems if p.code == "out_of_range")
    assert list(problem.ids) == ["Z1"]
    _cli(capsys, tmp_path, plan, "layer 'zones'", "Z1", "VN-2000 / TM-3 105-45 is valid")


def test_local_cs_prj(tmp_path, capsys):
    plan = _plan(tmp_path)
    write_layer(_zones(), tmp_path / "zones.shp")
    (tmp_path / "zones.prj").write_text(
        'LOCAL_CS["Unknown",UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]')
    plan.write_text(plan.read_text().replace("zones.gpkg", "zones.shp"))
    err = check_plan(plan)["zones"]
    assert err.codes == {"crs"}
    _cli(capsys, tmp_path, plan, "layer 'zones'", "local coordinate system",
         "not tied to the Earth")


def test_garbage_prj_names_the_file(tmp_path, capsys):
    plan = _plan(tmp_path)
    write_layer(_zones(), tmp_path / "zones.shp")
    (tmp_path / "zones.prj").write_text("GEOGCS[[[ this is not a projection")
    plan.write_text(plan.read_text().replace("zones.gpkg", "zones.shp"))
    err = check_plan(plan)["zones"]
    assert err.codes == {"crs"}
    assert "zones.prj is not a coordinate system" in str(err)
    _cli(capsys, tmp_path, plan, "layer 'zones'", "zones.prj", "GEOGCS[[[")


def test_empty_communes(tmp_path, capsys):
    plan = _plan(tmp_path, communes=_communes().iloc[:0])
    err = check_plan(plan)["communes"]
    assert err.codes == {"empty_layer"}
    _cli(capsys, tmp_path, plan, "layer 'communes'", "has no features")


def test_pump_40_km_away(tmp_path, capsys):
    # TB09: 40 km east of the district's eastern edge (x = 515 km → 555 km)
    x_lon = gpd.GeoSeries([Point(X + 55_000, Y + 2500)], crs=UTM).to_crs(4326).iloc[0]
    plan = _plan(tmp_path, pumps=PUMPS + f"TB09,planned,{x_lon.x:.5f},{x_lon.y:.5f}\n")
    err = check_plan(plan)["pumps"]
    problem = err.problems[0]
    assert problem.code == "far_outside" and list(problem.ids) == ["TB09"]
    assert "the farthest 40.0 km" in problem.message
    _cli(capsys, tmp_path, plan, "layer 'pumps'", "TB09", "more than 10 km outside",
         "max_outside_km")
    # accepted when the plan says features that far are expected
    ok = _plan(tmp_path, pumps=PUMPS + f"TB09,planned,{x_lon.x:.5f},{x_lon.y:.5f}\n",
               settings="[settings]\nmax_outside_km = 45")
    assert check_plan(ok) == {}


def test_pump_in_the_other_hemisphere(tmp_path, capsys):
    plan = _plan(tmp_path, pumps=PUMPS + "TB10,planned,105.0230,-10.8700\n")
    problem = check_plan(plan)["pumps"].problems[0]
    assert problem.code == "far_outside" and list(problem.ids) == ["TB10"]
    assert "hemisphere" in problem.message
    _cli(capsys, tmp_path, plan, "TB10", "lost minus sign")


def test_read_plan_raises_what_check_names(tmp_path):
    plan = _plan(tmp_path, pumps=PUMPS + "TB10,planned,105.0230,-10.8700\n")
    with pytest.raises(Exception, match="TB10"):
        read_plan(plan)


def test_work_started_on_the_layers_read_first_never_outlives_a_failing_plan(tmp_path):
    # read_plan(first=..., then=...) hands the layers read first to `then` (geoagri run
    # starts the infrastructure scenario on them), before the checks across layers
    kinds = ("communes", "pumps")
    for sub in ("ok", "far", "empty"):
        (tmp_path / sub).mkdir()
    early = []
    plan = read_plan(_plan(tmp_path / "ok"), first=kinds, then=early.append)
    assert list(early[0].layers) == ["communes", "pumps"]
    assert list(plan.layers) == ["communes", "zones", "pumps"]  # the file's order
    assert early[0].metric_crs == plan.metric_crs and early[0].year == plan.year == 2024
    # a pump in the other hemisphere: each layer reads, the plan does not
    early = []
    far = _plan(tmp_path / "far", pumps=PUMPS + "TB10,planned,105.0230,-10.8700\n")
    with pytest.raises(PlanError, match="TB10"):
        read_plan(far, first=kinds, then=early.append)
    assert len(early) == 1
    # a layer read first that fails: `then` is not called at all
    early = []
    with pytest.raises(PlanError, match="layer 'communes'"):
        read_plan(_plan(tmp_path / "empty", communes=_communes().iloc[:0]), first=kinds,
                  then=early.append)
    assert early == []


# --------------------------------------------------------------------------- encodings


def test_cpg_claiming_utf8_over_tcvn3(tmp_path):
    legacy = _communes().assign(
        commune_name=[encode_legacy(n, "tcvn3").decode("latin-1") for n in NAMES])
    path = tmp_path / "xa.shp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # DBF field names cut to 10
        pyogrio.write_dataframe(legacy, path, encoding="latin1")
    path.with_suffix(".cpg").write_text("UTF-8")
    with pytest.warns(GeoagriWarning, match=r"xa\.cpg declares utf-8, but xa\.dbf is not"):
        back = read_layer(path, kind="communes")
    assert back["commune_name"].tolist() == NAMES
    assert back.attrs["geoagri"]["encoding"] == "tcvn3"


def test_cpg_that_is_right_gives_no_warning(tmp_path):
    path = write_layer(_communes(), tmp_path / "xa.shp")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeoagriWarning)
        back = read_layer(path, kind="communes")
    assert back["commune_name"].tolist() == NAMES


# --------------------------------------------------------------------------- what holds


def test_nan_coordinates_in_a_table_are_named(tmp_path):
    table = pd.DataFrame({"pump_id": ["TB01", "TB02"], "status": ["operating"] * 2,
                          "lon": [105.02, None], "lat": [10.87, 10.87]})
    with pytest.raises(LayerError) as info:
        read_layer(table, kind="pumps")
    assert info.value.codes == {"null_geometry"}
    assert "row 1" in str(info.value) or "TB02" in str(info.value)
