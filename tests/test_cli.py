"""The geoagri command, run as a user runs it (the installed console script)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoagri import __version__
from geoagri.datasets import demo_plan_path

SCRIPT = Path(sys.executable).with_name("geoagri")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    exe = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "geoagri.cli"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300, check=False)


@pytest.fixture
def broken_demo(tmp_path) -> Path:
    """A copy of the demo whose plan we can break."""
    src = demo_plan_path().parent.parent
    shutil.copytree(src, tmp_path / "d")
    return tmp_path / "d" / demo_plan_path().parent.name / "plan.toml"


def test_version():
    res = run("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"geoagri {__version__}"


def test_demo_writes_outputs(tmp_path):
    res = run("demo", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    out = tmp_path / "out"
    summary = pd.read_csv(out / "layers.csv")
    assert "communes" in set(summary["layer"]) and (summary["features"] > 0).all()
    assert (out / "layers.gpkg").exists() and (out / "report.xlsx").exists()
    assert (out / "tables" / "summary.csv").exists()
    # the seed's headline, computed from the layers
    assert "23.865 ha, đạt 112,4% so với Nghị quyết" in res.stdout


def test_check_valid_plan():
    res = run("check", str(demo_plan_path()))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "every layer is valid" in res.stdout


def test_check_broken_layers_prints_every_problem(broken_demo):
    folder = broken_demo.parent
    pumps = pd.read_csv(folder / "pumps.csv")
    pumps.loc[0, "status"] = "exploded"
    pumps.loc[1, "pump_id"] = pumps.loc[2, "pump_id"]
    pumps.to_csv(folder / "pumps.csv", index=False)
    targets = pd.read_csv(folder / "targets.csv")
    targets.drop(columns="unit").to_csv(folder / "targets.csv", index=False)
    res = run("check", str(broken_demo))
    assert res.returncode == 1
    out = res.stdout
    assert "layer 'pumps'" in out and "'exploded'" in out and "duplicate" in out
    assert str(pumps.loc[2, "pump_id"]) in out
    assert "layer 'targets'" in out and "['unit'] missing" in out
    assert "Traceback" not in out + res.stderr


def test_check_malformed_plan_and_missing_file(broken_demo):
    text = broken_demo.read_text(encoding="utf-8")
    broken_demo.write_text(text.replace("[layers.zones]", "[layers.zones]\nrenam = 1"),
                           encoding="utf-8")
    res = run("check", str(broken_demo))
    assert res.returncode == 1
    assert "unknown key(s) ['renam']" in res.stderr and "Traceback" not in res.stderr
    res = run("check", str(broken_demo.with_name("nope.toml")))
    assert res.returncode == 1 and "plan file not found" in res.stderr


def test_check_layer_pointing_to_missing_file(broken_demo):
    text = broken_demo.read_text(encoding="utf-8")
    broken_demo.write_text(text.replace('path = "pumps.csv"', 'path = "tram_bom.csv"'),
                           encoding="utf-8")
    res = run("check", str(broken_demo))
    assert res.returncode == 1
    assert "tram_bom.csv" in res.stdout and "Traceback" not in res.stdout + res.stderr


def test_run_plan_in_english_and_year_required(broken_demo, tmp_path):
    res = run("run", str(broken_demo), "--out", str(tmp_path / "r"), "--language", "en")
    assert res.returncode == 0, res.stderr
    assert "23,865 ha" in res.stdout and (tmp_path / "r" / "report.xlsx").exists()
    text = broken_demo.read_text(encoding="utf-8")
    broken_demo.write_text(text.replace("year = 2024", ""), encoding="utf-8")
    res = run("run", str(broken_demo), "--out", str(tmp_path / "r2"))
    assert res.returncode == 1 and "no reporting year: pass --year" in res.stderr
    assert "Traceback" not in res.stderr


def test_run_refuses_to_carry_a_plan_already_on_2025_communes(broken_demo, tmp_path):
    text = broken_demo.read_text(encoding="utf-8")
    broken_demo.write_text(text.replace('era = "old"', 'era = "new"'), encoding="utf-8")
    res = run("run", str(broken_demo), "--out", str(tmp_path / "r"))
    assert res.returncode == 1
    assert "carry_to_2025 = true, but its communes are already the 2025 ones" in res.stderr


def test_area_command(tmp_path):
    res = run("area", str(demo_plan_path()), "--level", "district", "--out",
              str(tmp_path / "area.csv"))
    assert res.returncode == 0, res.stderr
    table = pd.read_csv(tmp_path / "area.csv")
    linkage = table[table["zone_kind"] == "linkage"]["area_ha"].sum()
    assert abs(linkage - 23_865) < 1
    res = run("area", str(demo_plan_path()), "--by", "partnr")
    assert res.returncode == 1 and "no column(s) ['partnr']" in res.stderr


def test_export_command_kml_and_gpkg(tmp_path):
    import pyogrio

    res = run("export", str(demo_plan_path()), "--format", "kml", "--out", str(tmp_path / "k"))
    assert res.returncode == 0, res.stderr
    layers = {str(n) for n in pyogrio.list_layers(tmp_path / "k" / "layers.kml")[:, 0]}
    assert {"communes", "zones", "works"} <= layers
    communes = pyogrio.read_dataframe(tmp_path / "k" / "layers.kml", layer="communes")
    assert "Xã Tuyên Bình Tây" in set(communes["Name"])
    res = run("export", str(demo_plan_path()), "--format", "gpkg", "--out", str(tmp_path / "g"))
    assert res.returncode == 0, res.stderr
    assert len(pyogrio.read_dataframe(tmp_path / "g" / "layers.gpkg", layer="communes")) == 10


def test_site_command_seed_scenario(tmp_path):
    """Seed 000: 4.4 billion VND for power works serving rice; appendix IV shape."""
    res = run("site", str(demo_plan_path()), "--budget-vnd", "4.4e9", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    proposals = pd.read_csv(tmp_path / "tables" / "appendix_4_proposals.csv")
    assert len(proposals) >= 1 and proposals["served_ha"].gt(0).all()
    assert {"site_id", "commune_name", "served_ha", "line_length_km", "cost_vnd"} <= set(
        proposals.columns)
    assert (tmp_path / "proposals.gpkg").exists() and (tmp_path / "map.html").exists()
    assert "pump stations" in res.stdout
    res = run("site", str(demo_plan_path()), "--budget-vnd", "1e6", "--out", str(tmp_path))
    assert res.returncode == 1 and "budget" in res.stderr and "Traceback" not in res.stderr


def test_map_command_offline(tmp_path):
    res = run("map", str(demo_plan_path()), "--out", str(tmp_path / "m.html"), "--offline")
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "<script src=\"http" not in html and "<link href=\"http" not in html
    assert "Tuy\\u00ean B\\u00ecnh T\\u00e2y" in html  # JSON-escaped Vietnamese


def test_indicators_command_gives_the_documents_figures_at_three_levels(tmp_path):
    """Seed 000: 1.300 ha of high-tech rice in 2024 (450 ha DX 2023-2024 + 850 ha HT 2024),
    12 supported models in HT 2024; the communes add up to the district."""
    out = tmp_path / "ind.csv"
    res = run("indicators", str(demo_plan_path()), "--indicator",
              "hightech_rice_area,models,nope", "--level", "commune,district,plan",
              "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "nope: not computed: indicator 'nope' is not defined" in res.stderr
    t = pd.read_csv(out, dtype={"unit_id": str})
    assert set(t["level"]) == {"commune", "district", "plan"} and set(t["year"]) == {2024}
    rice = t[t["indicator"] == "hightech_rice_area"].set_index(["level", "period"])
    district = rice.xs("district")["value"]
    assert district["2024"] == 1300.0
    assert district["DX 2023-2024"] == 450.0 and district["HT 2024"] == 850.0
    communes = rice.xs("commune")
    assert communes.loc["2024", "value"].sum() == pytest.approx(1300.0)
    assert rice.loc[("commune", "2024"), "label"].iloc[0] == \
        "Diện tích lúa ứng dụng công nghệ cao"
    models = t[(t["indicator"] == "models") & (t["level"] == "district")]
    assert models.set_index("period").loc["HT 2024", "value"] == 12.0


def test_a_command_runs_the_collector_less_often_arrow_on_malloc_and_restores_them(
        monkeypatch):
    import gc

    import pyarrow as pa
    import pyarrow.parquet as pq

    from geoagri.cli import _command_process

    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    before, pool = gc.get_threshold(), pa.default_memory_pool().backend_name
    huge = np._core.multiarray._get_madvise_hugepage()
    with pytest.raises(RuntimeError), _command_process():
        assert gc.get_threshold() == (50_000, 20, 20)
        assert pa.default_memory_pool().backend_name == "system"
        assert np._core.multiarray._get_madvise_hugepage() is False  # small_pages
        # what the command reads is allocated there, and outlives the command
        sink = pa.BufferOutputStream()
        pq.write_table(pa.table({"x": list(range(1000))}), sink)
        table = pq.read_table(pa.BufferReader(sink.getvalue()))
        assert pa.system_memory_pool().bytes_allocated() >= 8000
        raise RuntimeError("a command that fails")
    assert gc.get_threshold() == before
    assert pa.default_memory_pool().backend_name == pool
    assert np._core.multiarray._get_madvise_hugepage() is huge
    assert table["x"].to_pylist()[-1] == 999
