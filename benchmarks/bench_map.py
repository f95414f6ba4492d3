"""Map size and load time at province scale: geoagri.maps vs naive folium.

Builds a map of the synthetic province (200 communes, 200,000 parcels, from
``benchmarks/_synth_parcels.py``) with geoagri's map layers (offline, so the
page needs no network): the communes, and the parcels, which above
``max_features`` (20,000) geoagri shows aggregated by commune × land use.
Writes the HTML, opens it in headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by selenium) and prints: build time (wall and CPU
seconds), HTML size, and load time, median of ``--runs``.

Load time is measured in the page: from navigation start
(``performance.timeOrigin``) until the load event has fired (every script,
so every layer, has run and added its layers to the map) and two animation
frames have been painted after it, i.e. the layers are drawn.  The wall time
around selenium's navigation is printed beside it.  A run fails if the page
throws a JavaScript error or draws no vector path.

With ``--naive N`` it also builds the usual folium map of the first N parcels
(``GeoJson`` with a per-feature ``style_function``, full precision) for
comparison; at 200,000 parcels that page is 114 MB and takes about 249 s to
load (PERFORMANCE.md), so the default compares at 20,000.

It also builds the whole plan map (:func:`geoagri.maps.plan_map`: layer
control, legend, the plan's own basemap, inlined scripts) of the same
communes and parcels, the page ``geoagri run`` writes, and measures it the
same way (its tiles fail to load here, with no network, as they would offline).

Run: ``python benchmarks/bench_map.py [--scale province] [--runs 3] [--naive 20000]``
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import folium

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _synth_parcels import load

from geoagri.maps import _make_offline, map_layer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def browser(profile: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
              "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
              f"--user-data-dir={profile}", "--window-size=1400,1000"):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
    d.set_page_load_timeout(900)
    d.set_script_timeout(900)
    return d


_CATCH_ERRORS = """
    window.__errors = [];
    window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
"""

# after the load event (all scripts have run), wait for two painted frames;
# then report the time since navigation start, the errors and the paths drawn
_DRAWN = """
    const done = arguments[0];
    const drawn = () => requestAnimationFrame(() => requestAnimationFrame(() => done({
        ms: performance.now(), errors: window.__errors,
        paths: document.querySelectorAll('.leaflet-pane path').length})));
    if (document.readyState === 'complete') drawn();
    else window.addEventListener('load', drawn);
"""


def load_time(path: Path, runs: int) -> tuple[float, float]:
    """Median seconds from navigation start to the layers drawn: in the page, and wall."""
    in_page, wall = [], []
    for _ in range(runs):
        profile = tempfile.mkdtemp(prefix="bench-map-chromium-")
        d = browser(profile)
        try:
            d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                              {"source": _CATCH_ERRORS})
            d.get("about:blank")
            t0 = time.perf_counter()
            d.get(path.as_uri())  # returns after the load event: all scripts have run
            r = d.execute_async_script(_DRAWN)
            wall.append(time.perf_counter() - t0)
            if r["errors"] or not r["paths"]:
                raise RuntimeError(f"{path.name}: JavaScript errors {r['errors']}, "
                                   f"{r['paths']} paths drawn")
            in_page.append(r["ms"] / 1000)
        finally:
            d.quit()
            shutil.rmtree(profile, ignore_errors=True)
    return statistics.median(in_page), statistics.median(wall)


def geoagri_map(parcels, communes) -> folium.Map:
    m = folium.Map(tiles=None, control_scale=True)
    map_layer(communes, name="Communes", color="#555555", fill_opacity=0.0, weight=1,
              coverage=True, simplify_m=10).add_to(m)
    map_layer(parcels, name="Parcels", color_by="land_use", weight=0.5,
              fill_opacity=0.6, communes=communes).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    b = communes.to_crs(4326).total_bounds
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    return _make_offline(m)


def geoagri_plan_map(parcels, communes) -> folium.Map:
    """The whole plan map (:func:`geoagri.maps.plan_map`) of a plan of these layers.

    Self-contained, with tiles (which fail here: no network) and the plan's own
    basemap; the parcels are in the page, off when it opens.
    """
    from dataclasses import replace

    from geoagri.datasets import demo
    from geoagri.maps import plan_map

    d = demo()
    plan = replace(d, layers={"communes": communes, "parcels": parcels},
                   sources={k: d.sources[k] for k in ("communes", "parcels")},
                   metric_crs=communes.crs)
    return plan_map(plan)


def naive_map(parcels) -> folium.Map:
    colors = {"LUC": "#78c679", "LUK": "#31a354", "HNK": "#fdae61", "CLN": "#d95f02"}
    m = folium.Map(tiles=None)
    folium.GeoJson(parcels.to_crs(4326)[["parcel_id", "land_use", "geometry"]],
                   style_function=lambda f: {"fillColor": colors.get(
                       f["properties"]["land_use"], "#999999"), "color": "#333333",
                       "weight": 0.5}).add_to(m)
    b = parcels.to_crs(4326).total_bounds
    m.fit_bounds([[b[1], b[0]], [b[3], b[2]]])
    return _make_offline(m)


def measure(label: str, make, out: Path, runs: int) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    m = make()
    m.save(out)
    build, cpu = time.perf_counter() - t0, time.process_time() - c0
    size = out.stat().st_size / 1e6
    layers = [(el.layer_name, len(el.data["features"]),
               sum(len(c) for f in el.data["features"] for c in _rings(f["geometry"])))
              for el in m._children.values() if isinstance(el, folium.GeoJson)]
    print(f"{label}: build+save {build:.1f} s ({cpu:.1f} s CPU), HTML {size:.1f} MB",
          flush=True)
    for name, n, v in layers:
        print(f"    layer {name!r}: {n:,} features, {v:,} vertices")
    page, wall = load_time(out, runs)
    print(f"{label}: load in Chromium {page:.2f} s, navigation start to layers drawn "
          f"(wall {wall:.2f} s), median of {runs}", flush=True)


def _rings(geometry: dict) -> list:
    c, t = geometry["coordinates"], geometry["type"]
    return {"Polygon": c, "MultiPolygon": [r for p in c for r in p]}.get(t, [c])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="province")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--naive", type=int, default=20_000,
                    help="parcels in the naive folium map (0: skip)")
    ap.add_argument("--out", help="folder for the HTML files (default: a new temporary one)")
    a = ap.parse_args(argv)
    parcels, communes, _ = load(a.scale)
    out = Path(a.out or tempfile.mkdtemp(prefix="bench-map-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"{a.scale}: {len(communes)} communes, {len(parcels):,} parcels; output in {out}")
    measure("geoagri", lambda: geoagri_map(parcels, communes), out / "geoagri.html", a.runs)
    measure("geoagri plan_map (default view, self-contained)",
            lambda: geoagri_plan_map(parcels, communes), out / "plan_map.html", a.runs)
    if a.naive:
        sub = parcels.iloc[: a.naive]
        measure(f"geoagri, {len(sub):,} parcels",
                lambda: geoagri_map(sub, communes), out / "geoagri_sub.html", a.runs)
        measure(f"naive folium style_function, {len(sub):,} parcels",
                lambda: naive_map(sub), out / "naive.html", 1)


if __name__ == "__main__":
    main()
