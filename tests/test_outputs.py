"""Outputs written as a set, and one figure everywhere (geoagri.outputs, geoagri.results).

Faults are real: a renderer that raises on real input, a folder held by another
run, a read-only file system and a full disk (tmpfs mounts, where this machine
lets the tests mount; skipped with the reason otherwise).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import folium
import pandas as pd
import pyogrio
import pytest

from geoagri.datasets import demo_plan_path
from geoagri.errors import GeoagriError, OutputError, PlanError
from geoagri.io import write_layer
from geoagri.maps import format_area_ha, plan_map
from geoagri.outputs import MANIFEST, OutputSet
from geoagri.plan import read_plan
from geoagri.results import INFRASTRUCTURE_KINDS, compute, start_infrastructure

SCRIPT = Path(sys.executable).with_name("geoagri")


def run(*args: str) -> subprocess.CompletedProcess:
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "geoagri.cli"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, timeout=600,
                          check=False)


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ----------------------------------------------------------------------------- the set


def test_a_failing_output_loses_nothing_else(tmp_path):
    out = tmp_path / "out"
    table = pd.DataFrame({"commune_id": ["27772"], "area_ha": [12.5]})

    def broken_map(folder: Path) -> None:
        (folder / "half.html").write_text("<html>")          # a partial file ...
        plan_map(read_plan(demo_plan_path()), language="fr")  # ... then a real error

    with OutputSet(out, command="test") as outputs:
        assert outputs.render("table", lambda d: write_layer(table, d / "t.csv"))
        assert not outputs.render("map", broken_map)
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "t.csv"])  # no half.html
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["outputs"] == ["table"]
    assert [f["output"] for f in manifest["failed"]] == ["map"]
    assert "language" in manifest["failed"][0]["error"]
    assert manifest["files"][0]["path"] == "t.csv"
    assert manifest["files"][0]["bytes"] == (out / "t.csv").stat().st_size
    assert hidden(tmp_path) == []


@pytest.mark.parametrize("processes", [2, 1, 0])
def test_outputs_drawn_in_processes_of_their_own_lose_nothing_else(tmp_path, processes):
    """start(): files join the set; a failing renderer or a killed process leaves nothing."""
    out = tmp_path / "out"
    table = pd.DataFrame({"commune_id": ["27772"], "area_ha": [12.5]})

    def broken_map(folder: Path) -> None:
        (folder / "half.html").write_text("<html>")
        plan_map(read_plan(demo_plan_path()), language="fr")  # a real error

    def killed(folder: Path) -> None:
        (folder / "half.png").write_bytes(b"\x89PNG")
        os.kill(os.getpid(), 9)  # what the kernel does to a process out of memory

    with OutputSet(out, command="test", processes=processes) as outputs:
        outputs.start(("map", broken_map))
        if processes:
            outputs.start(("print", killed))
        outputs.start(("table", lambda d: write_layer(table, d / "tables" / "t.csv")),
                      ("note", lambda d: (d / "note.txt").write_text("xin chào")))
        outputs.render("inline", lambda d: (d / "inline.txt").write_text("một"))
        outputs.wait("table")
        assert (outputs.staging / "tables" / "t.csv").is_file()  # there once waited for
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert on_disk == sorted([MANIFEST, "inline.txt", "note.txt", "tables/t.csv"])
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["outputs"] == ["inline", "note", "table"]
    assert sorted(f["path"] for f in manifest["files"]) == sorted(set(on_disk) - {MANIFEST})
    failed = {f["output"]: f for f in manifest["failed"]}
    assert sorted(failed) == (["map", "print"] if processes else ["map"])
    assert "language" in failed["map"]["error"]
    if processes:
        assert failed["print"]["type"] == "ProcessError"
        assert "killed by signal 9" in failed["print"]["error"]
    assert pd.read_csv(out / "tables" / "t.csv")["area_ha"].tolist() == [12.5]
    assert hidden(tmp_path) == [] and hidden(out) == []


def test_an_output_is_in_the_set_as_soon_as_its_renderer_has_finished(tmp_path):
    """wait("a") returns once a's renderer has finished, while its process draws the next
    (the report's .docx waits for the PNG map, not for the PDF drawn after it); a process
    killed after its first output keeps that output."""
    out, flag = tmp_path / "out", tmp_path / "go"

    def after_flag(folder: Path) -> None:  # fails unless the parent got "a" meanwhile
        deadline = time.monotonic() + 30
        while not flag.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the parent waited for the whole process")
            time.sleep(0.01)
        (folder / "b.txt").write_text("hai")

    def killed(folder: Path) -> None:
        (folder / "half.pdf").write_bytes(b"%PDF")
        os.kill(os.getpid(), 9)

    with OutputSet(out, command="test", processes=2) as outputs:
        outputs.start(("a", lambda d: (d / "a.txt").write_text("một")), ("b", after_flag))
        outputs.start(("png", lambda d: (d / "map.png").write_bytes(b"\x89PNG")),
                      ("pdf", killed))
        outputs.wait("a")
        assert (outputs.staging / "a.txt").read_text() == "một"
        assert not (outputs.staging / "b.txt").exists()
        flag.touch()
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "a.txt", "b.txt",
                                                            "map.png"])
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert [(f["output"], f["type"]) for f in manifest["failed"]] == [("pdf", "ProcessError")]
    assert hidden(tmp_path) == [] and hidden(out) == []


def test_a_run_that_fails_late_leaves_the_old_folder_as_it_was(tmp_path):
    out = tmp_path / "out"
    with OutputSet(out, command="first") as outputs:
        outputs.render("a", lambda d: (d / "a.txt").write_text("old"))
    with pytest.raises(PlanError), OutputSet(out, command="second") as outputs:
        outputs.render("a", lambda d: (d / "a.txt").write_text("new"))
        outputs.render("b", lambda d: (d / "b.txt").write_text("new"))
        raise PlanError("the plan has no reporting year")
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "a.txt"])
    assert (out / "a.txt").read_text() == "old"
    assert json.loads((out / MANIFEST).read_text())["command"] == "first"
    assert hidden(tmp_path) == []


def test_a_new_run_replaces_the_whole_folder(tmp_path):
    out = tmp_path / "out"
    with OutputSet(out, command="first") as outputs:
        outputs.render("a", lambda d: (d / "a.txt").write_text("1"))
    with OutputSet(out, command="second") as outputs:
        outputs.render("b", lambda d: (d / "b.txt").write_text("2"))
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "b.txt"])


def test_a_folder_geoagri_did_not_write_is_never_replaced(tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "luan_van.docx").write_text("two years of work")
    with pytest.raises(GeoagriError, match=r"not empty and was not written by geoagri"):
        OutputSet(out, command="test").__enter__()
    assert (out / "luan_van.docx").read_text() == "two years of work"
    assert hidden(tmp_path) == []


def test_folders_left_by_a_killed_run_are_removed(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".out.staging-{dead.pid}"
    (stale / "tables").mkdir(parents=True)
    with OutputSet(out, command="test") as outputs:
        outputs.render("a", lambda d: (d / "a.txt").write_text("1"))
    assert not stale.exists() and hidden(tmp_path) == []


def test_ctrl_c_stops_a_run_and_leaves_nothing_half_written(tmp_path):
    out = tmp_path / "out"
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "geoagri.cli"]
    proc = subprocess.Popen([*exe, "run", str(demo_plan_path()), "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    staging = tmp_path / f".out.staging-{proc.pid}"
    deadline = time.monotonic() + 120
    while not staging.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert staging.exists(), "the run never started writing"
    proc.send_signal(signal.SIGINT)  # while its results are computed
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "geoagri: interrupted" in err and "Traceback" not in err
    assert not out.exists() and hidden(tmp_path) == []


def test_two_runs_into_one_folder_cannot_interleave(tmp_path):
    out = tmp_path / "out"
    with OutputSet(out, command="first run") as outputs:
        res = run("demo", "--out", str(out))
        outputs.render("a", lambda d: (d / "a.txt").write_text("first"))
    assert res.returncode == 1
    assert f"another geoagri run (process {os.getpid()}) is writing to {out}" in res.stderr
    assert "Traceback" not in res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, "a.txt"])
    assert hidden(tmp_path) == []


# ----------------------------------------------------------------------------- disks


@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs; yields a function (size, read_only) -> mount point."""
    mounted = []

    def mount(size: str, *, read_only: bool = False) -> Path:
        point = tmp_path / f"mnt-{uuid.uuid4().hex[:6]}"
        point.mkdir()
        opts = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(point)],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'}); "
                        "the full-disk and read-only cases need one")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", str(point)], check=False)


def test_a_read_only_folder_is_one_paragraph(tmpfs):
    point = tmpfs("1m", read_only=True)
    res = run("demo", "--out", str(point / "out"))
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    assert "read-only" in res.stderr and str(point / "out") in res.stderr
    assert list(point.iterdir()) == []


def test_a_full_disk_names_what_failed_and_keeps_the_rest(tmpfs):
    point = tmpfs("900k")
    res = run("demo", "--out", str(point / "out"))
    assert res.returncode == 1, res.stdout
    assert "Traceback" not in res.stderr
    out = point / "out"
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    failed = {f["output"] for f in manifest["failed"]}
    assert "report.xlsx" not in failed and (out / "report.xlsx").exists()  # the report first
    assert "map.html" in failed
    assert "disk is full" in next(f["error"] for f in manifest["failed"]
                                  if f["output"] == "map.html")
    assert f"cannot write {out / 'map.html'}: the disk is full" in res.stderr
    for name in failed:
        assert f"  - {name}: " in res.stderr
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert on_disk == listed | {MANIFEST}                  # no partial file left
    assert hidden(point) == []


def test_the_layers_are_written_while_computing_where_the_disk_has_room(tmpfs, tmp_path):
    """The layers need only the plan: with room on the disk a process of their own writes
    them while the results are computed; on a small disk they wait for the report."""
    from geoagri.cli import _compute_and_render

    plan = read_plan(demo_plan_path())
    for folder, early in ((tmp_path, True), (tmpfs("64m"), False)):
        with OutputSet(folder / "out", command="test", processes=2) as outputs:
            _compute_and_render(outputs, plan, year=None, budget_vnd=None, language="en",
                                on_step=lambda _: None, step=lambda _: None)
        assert outputs.failed == []
        assert outputs.written["layers.gpkg"] == ["layers.csv", "layers.gpkg"]
        assert ("layers.gpkg" in outputs.seconds) is early  # timed: it ran in a process
        communes = pyogrio.read_dataframe(folder / "out" / "layers.gpkg", layer="communes")
        assert sorted(communes["commune_id"]) == sorted(plan["communes"]["commune_id"])


# ----------------------------------------------------------------------------- one figure


@pytest.fixture(scope="module")
def unset_plan(tmp_path_factory):
    """The demo plan without [plan] metric_crs: the CRS is the province's, chosen once."""
    root = tmp_path_factory.mktemp("unset")
    shutil.copytree(demo_plan_path().parent.parent, root / "d")
    path = root / "d" / demo_plan_path().parent.name / "plan.toml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^metric_crs\s*=.*$", "", text)
    path.write_text(text, encoding="utf-8")
    return path


def _linkage_popups(m: folium.Map) -> dict[str, str]:
    """Commune name → the linkage area its popup shows (English labels)."""
    layer = next(c for c in m._children.values()
                 if isinstance(c, folium.GeoJson) and "linkage" in str(c.layer_name))
    popup = next(c for c in layer._children.values() if isinstance(c, folium.GeoJsonPopup))
    rows = [dict(zip(popup.aliases, (f["properties"][k] for k in popup.fields), strict=True))
            for f in layer.data["features"]]
    return {r["Commune"]: r["Linkage area"] for r in rows}


def test_report_map_and_area_command_give_one_figure(unset_plan, tmp_path):
    plan = read_plan(unset_plan)
    assert plan.context.metric_crs_reason == "VN-2000 zone of province Long An"
    results = compute(plan, curve_steps=0)
    report = results.report.linkage_by_commune.dropna(subset=["commune_id"])
    # the map's popups, drawn from the plan alone (no results given), show the report's
    shown = _linkage_popups(plan_map(plan, language="en"))
    assert len(shown) == len(report) == 10
    for _, row in report.iterrows():
        assert shown[row["commune_name"]] == format_area_ha(row["area_ha"], language="en")
    # geoagri area prints the same linkage total (counted once, same CRS)
    res = run("area", str(unset_plan), "--by", "zone_kind", "--out", str(tmp_path / "a.csv"))
    assert res.returncode == 0, res.stderr
    area = pd.read_csv(tmp_path / "a.csv")
    linkage = area[(area["zone_kind"] == "linkage") & area["commune_id"].notna()]
    assert linkage["area_ha"].sum() == pytest.approx(report["area_ha"].sum(), rel=1e-12)


def test_run_writes_the_figures_it_prints(tmp_path):
    res = run("demo", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["failed"] == []
    assert manifest["context"]["pump radius"] == "1000 m"
    assert {f["path"] for f in manifest["files"]} >= {"report.xlsx", "map.html", "map.png",
                                                      "map.pdf", "tables/summary.csv"}
    # the map's service circles are the plan's 1 km, not a default
    page = (out / "map.html").read_text(encoding="utf-8")
    label = "Vùng phục vụ trạm bơm (bán kính 1.000 m)"
    assert label in page or json.dumps(label)[1:-1] in page
    assert f"open {out}/map.html, {out}/report.xlsx first" in res.stdout
    # every input feature is accounted for, layer by layer
    plan = read_plan(demo_plan_path())
    features = {r["layer"]: r for r in manifest["features"]}
    assert set(features) == set(plan.layers)
    for name, layer in plan.layers.items():
        assert features[name]["read"] == len(layer)
        assert features[name]["used"] + features[name]["dropped"] == len(layer)


def test_a_failing_scenario_on_its_own_thread_stops_nothing_else():
    """compute() runs the infrastructure scenario beside the linkage and the indicators."""
    res = compute(read_plan(demo_plan_path()), budget_vnd=1, curve_steps=0)
    assert sorted(res.failed) == ["infrastructure"] and res.infrastructure is None
    failure = res.failed["infrastructure"]
    assert failure.expected and failure.error_type == "InfeasibleError"
    assert "below the cheapest site" in failure.message and "800,000,000 VND" in failure.message
    assert round(float(res.linkage["area_ha"].sum())) == 23865  # the demo's linkage area
    assert res.indicators is not None and res.report is not None


def test_the_scenario_started_while_the_plan_is_read_is_the_one_computed():
    # geoagri run starts the scenario once the communes, zones, pumps and power are read
    # (on a plan of those layers alone), and compute() takes it as `started`
    early = []
    plan = read_plan(demo_plan_path(), first=INFRASTRUCTURE_KINDS, then=early.append)
    assert sorted(early[0].sources[n].kind for n in early[0].layers) == sorted(
        INFRASTRUCTURE_KINDS) and len(plan.layers) > len(early[0].layers)
    started = start_infrastructure(early[0], budget_vnd=6e9, curve_steps=0)
    res = compute(plan, budget_vnd=6e9, curve_steps=0, started=started)
    assert res.infrastructure is started.result() and not res.failed
    alone = compute(plan, budget_vnd=6e9, curve_steps=0).infrastructure
    pd.testing.assert_frame_equal(res.infrastructure.coverage, alone.coverage)
    assert list(res.infrastructure.siting.sites["site_id"]) == list(alone.siting.sites["site_id"])
    assert res.infrastructure.siting.covered_ha == alone.siting.covered_ha > 0
    with pytest.raises(ValueError, match="start it with the same settings"):
        compute(plan, budget_vnd=5e9, curve_steps=0, started=started)


def test_output_error_is_an_oserror_and_a_geoagri_error():
    assert issubclass(OutputError, GeoagriError) and issubclass(OutputError, OSError)


# ----------------------------------------------------------------------------- a province

REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "communes_2025" \
    / "communes_2025.gpkg"


@pytest.mark.skipif(not REAL.exists(), reason=f"real 2025 communes not found at {REAL}")
def test_a_province_wide_plan_writes_every_output(tmp_path):
    """The 96 real communes of the new Tây Ninh with the demo's layers, no metric_crs set."""
    import geopandas as gpd

    g = gpd.read_file(REAL, where="province = 'Tây Ninh'")
    g = g.rename(columns={"ward_id": "commune_id", "name": "commune_name"})
    root = tmp_path / "plan"
    shutil.copytree(demo_plan_path().parent, root)
    g[["commune_id", "commune_name", "geometry"]].to_file(root / "communes.gpkg")
    text = (root / "plan.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?ms)^path = "\.\./boundaries/communes\.gpkg"\nlayer = "communes"\n',
                  'path = "communes.gpkg"\n', text)
    text = re.sub(r"(?m)^(metric_crs|district|carry_to_2025)\s*=.*$", "", text)
    text = text.replace('province = "Long An"', 'province = "Tây Ninh"')
    text = re.sub(r'(?m)^era = "old".*$', 'era = "new"', text)
    (root / "plan.toml").write_text(text, encoding="utf-8")
    res = run("run", str(root / "plan.toml"), "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["failed"] == []
    assert {"report.xlsx", "map.html", "layers.gpkg"} <= {f["path"] for f in manifest["files"]}
    # the new Tây Ninh measures in the zone of the old province whose name it keeps (105°30')
    assert manifest["context"]["metric CRS"].startswith("EPSG:9209")
    linkage = pd.read_csv(tmp_path / "out" / "tables" / "appendix_1_linkage.csv")
    assert len(linkage) >= 96


def test_a_zone_starting_after_the_year_is_left_out_of_report_and_map_alike():
    """One linkage zone starts in 2030: the 2024 report and the map both leave it out.

    The total is checked against the union of the active linkage zones clipped to the
    communes, computed here with shapely in the plan's CRS.
    """
    import shapely

    from geoagri.plan import plan_from_layers

    base = read_plan(demo_plan_path())
    zones = base["zones"].copy()
    later = zones.index[zones["zone_id"] == "LK03"][0]
    zones.loc[later, "start_year"] = 2030
    layers = {**base.layers, "zones": zones}
    plan = plan_from_layers(layers, kinds={n: base.sources[n].kind for n in layers},
                            province=base.province, district=base.district,
                            year=2024, settings=base.settings)
    results = compute(plan, curve_steps=0)
    report = results.report.linkage_by_commune
    active = zones[(zones["zone_kind"] == "linkage") & (zones["start_year"] <= 2024)]
    crs = plan.metric_crs
    land = shapely.union_all(plan["communes"].to_crs(crs).geometry.to_numpy())
    union = shapely.union_all(active.to_crs(crs).geometry.to_numpy())
    expected = shapely.area(shapely.intersection(union, land)) / 1e4
    inside = report.dropna(subset=["commune_id"])
    assert inside["area_ha"].sum() == pytest.approx(expected, rel=1e-9)
    whole = shapely.area(shapely.intersection(
        shapely.union_all(zones[zones["zone_kind"] == "linkage"].to_crs(crs).geometry
                          .to_numpy()), land)) / 1e4
    assert whole - expected > 100  # LK03 is a real part of the total, not a sliver
    for given in (None, results.map_results()):  # the map alone, and the run's map
        shown = _linkage_popups(plan_map(plan, given, language="en"))
        for _, row in inside.iterrows():
            assert shown[row["commune_name"]] == format_area_ha(row["area_ha"], language="en")


@pytest.fixture(scope="module")
def future_zone_plan(unset_plan):
    """The demo without metric_crs, whose zone LK03 starts in 2030 (zones rewritten as GPKG)."""
    root = unset_plan.parent
    zones = read_plan(unset_plan)["zones"].copy()
    zones.loc[zones["zone_id"] == "LK03", "start_year"] = 2030
    zones.to_file(root / "zones_2030.gpkg")
    path = root / "plan_2030.toml"
    text = unset_plan.read_text(encoding="utf-8")
    text = text.replace('path = "zones.kml"\nrename = { Name = "zone_id" }',
                        'path = "zones_2030.gpkg"')
    assert "zones_2030.gpkg" in text
    path.write_text(text, encoding="utf-8")
    return path


def test_every_output_reads_the_one_indicator_table(future_zone_plan, tmp_path):
    """No metric CRS set, one zone starting after the year: the indicator table written by
    ``geoagri run``, the report's appendix I and headline, the map's popups and ``geoagri
    area`` give the same linkage figure per commune and in total."""
    out = tmp_path / "out"
    res = run("run", str(future_zone_plan), "--out", str(out))
    assert res.returncode == 0, res.stderr
    ind = pd.read_csv(out / "tables" / "indicators.csv", dtype={"unit_id": str})
    assert ind.loc[0, "label"] == "Diện tích liên kết sản xuất"
    link = ind[(ind["indicator"] == "linkage_area") & (ind["year"] == 2024)
               & ind["categories"].isna() & (ind["period"] == "2024")]
    by_commune = link[link["level"] == "commune"].set_index("unit_id")["value"]
    appendix = pd.read_csv(out / "tables" / "appendix_1_linkage.csv", dtype={0: str})
    appendix = appendix.dropna(subset=[appendix.columns[0]]).set_index(appendix.columns[0])
    area_col = "Diện tích liên kết (ha)"
    assert len(by_commune) == len(appendix) == 10
    for cid, value in by_commune.items():
        assert appendix.loc[cid, area_col] == pytest.approx(value, rel=1e-12)
    district = float(link.loc[link["level"] == "district", "value"].iloc[0])
    assert district == pytest.approx(by_commune.sum(), rel=1e-12)
    # LK03 (2030) is out: the 2024 figure is below the demo's 23.865 ha by a real amount
    assert 23_865 - district > 100
    # the headline the report prints is the table's district figure, as printed
    printed = format_area_ha(district, language="vi")
    assert f"Diện tích liên kết sản xuất năm 2024: {printed}" in res.stdout
    # the map's popups
    plan = read_plan(future_zone_plan)
    results = compute(plan, curve_steps=0)
    shown = _linkage_popups(plan_map(plan, results.map_results(), language="en"))
    names = dict(zip(plan["communes"]["commune_id"].astype(str),
                     plan["communes"]["commune_name"], strict=True))
    for cid, value in by_commune.items():
        assert shown[names[cid]] == format_area_ha(value, language="en")
    # geoagri area, in the plan's year by default, leaves LK03 out and says so
    res = run("area", str(future_zone_plan), "--by", "zone_kind", "--out",
              str(tmp_path / "a.csv"))
    assert res.returncode == 0, res.stderr
    assert "not in force in 2024 left out" in res.stdout and "LK03" in res.stdout
    area = pd.read_csv(tmp_path / "a.csv", dtype={"commune_id": str})
    area = area[(area["zone_kind"] == "linkage") & area["commune_id"].notna()]
    for cid, value in area.set_index("commune_id")["area_ha"].items():
        assert value == pytest.approx(by_commune[cid], rel=1e-12)
    res = run("area", str(future_zone_plan), "--by", "zone_kind", "--year", "all")
    assert "LK03" not in res.stdout
