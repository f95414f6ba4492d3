"""Time and size of the A4 print map (geoagri.print_map) beside geopandas' own plot.

On the demo's results, or with ``--plan province`` the synthetic province plan of
``bench_run.py`` (200 communes, 4,000-odd gaps; :func:`geoagri.results.compute`,
computed once and not timed), prints the median of ``--runs`` runs of: drawing the figure
(:func:`geoagri.print_map.print_map`), saving the PNG (3508 × 2480 px, 300 dpi)
and saving the PDF, and the files' sizes.  The peer is the usual way to make
such a map with geopandas: ``GeoDataFrame.plot`` of the communes by the same
classes (mapclassify ``NaturalBreaks``) and of the gaps hatched by what is
missing, on a pyplot figure of the same size, saved as PNG at 300 dpi (no
legend of hatches, scale bar, north arrow or labels: less than geoagri
draws).  The 1-minute load average is printed beside each figure (the
machine is shared).

Run: ``python benchmarks/bench_print_map.py [--runs 5] [--plan province]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def _median(func, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--plan", default="demo", choices=("demo", "province"))
    args = parser.parse_args()

    from geoagri.print_map import print_map, save_print_map
    from geoagri.results import compute

    if args.plan == "province":
        import sys

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import _run_plan
        from bench_run import PLAN_DIR

        from geoagri.plan import read_plan

        plan = read_plan(_run_plan.build(PLAN_DIR))
    else:
        from geoagri.datasets import demo

        plan = demo()
    results = compute(plan, curve_steps=0)
    out = Path(tempfile.mkdtemp())
    first = time.perf_counter()
    fig = print_map(results)  # the first drawing loads fonts and mapclassify
    first = time.perf_counter() - first
    draw = _median(lambda: print_map(results), args.runs)
    png = _median(lambda: save_print_map(fig, out / "map.png"), args.runs)
    pdf = _median(lambda: save_print_map(fig, path_pdf=out / "map.pdf"), args.runs)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan = results.plan
    communes = plan.only("communes").to_crs(plan.metric_crs)
    share = results.linkage.set_index(results.linkage["commune_id"].astype(str))
    communes["share"] = communes["commune_id"].astype(str).map(share["commune_share_pct"])
    gaps = results.infrastructure.gaps.to_crs(plan.metric_crs)
    gaps = gaps[gaps["area_ha"] >= 0.1]

    def peer() -> None:
        f, ax = plt.subplots(figsize=(3508 / 300, 2480 / 300))
        communes.plot(ax=ax, column="share", scheme="NaturalBreaks", k=5, cmap="YlGn",
                      edgecolor="#555555", linewidth=0.6, legend=True)
        for missing, hatch in (("pump", "///"), ("power", "\\\\\\"), ("both", "xxx")):
            part = gaps[gaps["missing"] == missing]
            if len(part):
                part.plot(ax=ax, facecolor="none", edgecolor="#a50026", hatch=hatch)
        ax.set_axis_off()
        f.savefig(out / "peer.png", dpi=300)
        plt.close(f)

    peer_time = _median(peer, args.runs)
    load = os.getloadavg()[0]
    ours = draw + png
    print(f"geoagri print map ({args.plan}, median of {args.runs}; load {load:.2f}):")
    print(f"  first drawing     {first:6.2f} s (fonts, classes)")
    print(f"  draw              {draw:6.2f} s")
    print(f"  save PNG          {png:6.2f} s  {(out / 'map.png').stat().st_size / 1e6:.2f} MB")
    print(f"  save PDF          {pdf:6.2f} s  {(out / 'map.pdf').stat().st_size / 1e6:.2f} MB")
    print(f"  draw + PNG + PDF  {draw + png + pdf:6.2f} s")
    print(f"geopandas .plot + PNG (peer)  {peer_time:6.2f} s  "
          f"{(out / 'peer.png').stat().st_size / 1e6:.2f} MB")
    print(f"ratio geoagri draw + PNG / peer: {ours / peer_time:.2f}")


if __name__ == "__main__":
    main()
