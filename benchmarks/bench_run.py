"""Benchmark: ``geoagri run`` end to end, phase by phase (wall and CPU seconds).

Run by hand, never by the test suite::

    python benchmarks/bench_run.py --plan demo              # what `geoagri demo` does
    python benchmarks/bench_run.py --plan province          # 200 communes, 200,000 parcels
    python benchmarks/bench_run.py --plan province --repeat 3
    python benchmarks/bench_run.py --plan province --read-only   # read_layer vs area_by_zone

Each run is one fresh Python process doing what the command does, in the same
order (``geoagri.cli``'s own code, under its ``_command_process``:
:func:`geoagri.plan.read_plan` or :func:`geoagri.datasets.demo`, then
``_compute_and_render``: the layers export started,
:func:`geoagri.results.compute`, the renderers of ``_render_results``), with a
clock read at every step the command announces (``compute``'s ``on_step`` and
the renderers' progress steps).  A phase runs from one announced step to the
next, so "report.xlsx" includes the tables written beside it.
Per phase it prints the wall time, the process's CPU time (``time.process_time``,
all threads: less sensitive than wall time to other work on a shared machine)
and the 1-minute load average.  The infrastructure scenario runs on a thread of
its own from the start of ``compute`` (its phase is the wait for it), the layers
export in a forked process of its own from before ``compute``, and the two
maps in forked processes of their own (their phases are their start; their own
wall and CPU seconds are printed below the phases, and the wait for them is the
phase "the maps"; the CPU column counts the run's process only).  Then the
total, the peak RSS of the run's process (``VmHWM``), the peak memory of its
process tree (the map processes included; PSS, sampled every 0.1 s) and the
median of ``--repeat`` runs.  The command's exit (``geoagri.cli.console``: no
teardown) is not in the figures: time ``geoagri run`` for it.

``--plan province`` builds (once, cached under ``benchmarks/.cache/``) a plan
on the synthetic province of ``_synth_parcels.py``: its 200 communes, its
200,000 parcels (sparse shape, repaired; GeoParquet) as the ``parcels`` layer,
and, derived from them with a seeded generator, linkage ``zones`` (the rice
parcels of one commune in two grouped into blocks of about 2 km, ~40 ha each,
drawn by hand: overlapping their neighbours), pump stations (three per commune,
a fifth of them out of service), three-phase power lines along one canal in
three, canal lines, and province and commune targets.  Everything is synthetic.

``--read-only`` measures point (d) of issue 18 instead: reading and validating
the province's parcels through :func:`geoagri.io.read_layer` from GeoParquet and
from GPKG, beside :func:`geoagri.area.area_by_zone` on the layer read (each in
the same process, CPU and wall seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _process_tree import tree_memory  # noqa: E402

PLAN_DIR = HERE / ".cache" / "run-province-v1"


def peak_rss() -> int:
    """This process's own peak RSS, bytes (``VmHWM``; ``ru_maxrss`` without /proc)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Clock:
    """Wall and CPU time between announced steps."""

    def __init__(self) -> None:
        self.phases: list[dict] = []
        self.name = "imports"
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def __call__(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.phases.append({"phase": self.name, "wall_s": wall - self.wall,
                            "cpu_s": cpu - self.cpu, "load": os.getloadavg()[0]})
        self.name, self.wall, self.cpu = name, wall, cpu


# --------------------------------------------------------------------------- one run


def _child_run(plan_arg: str, out: Path) -> dict:
    clock = Clock()
    import warnings

    from geoagri.cli import _command_process, _compute_and_render
    from geoagri.outputs import OutputSet

    warnings.simplefilter("ignore")
    with _command_process():  # as geoagri.cli.main runs a command
        clock("read + validate")
        if plan_arg == "demo":
            from geoagri.datasets import demo

            plan = demo()
        else:
            from geoagri.plan import read_plan

            plan = read_plan(plan_arg)
        features = {n: len(g) for n, g in plan.layers.items()}
        with OutputSet(out, command="bench_run", context=plan.context.describe()) as outputs:
            results = _compute_and_render(outputs, plan, year=None, budget_vnd=None,
                                          language="en",
                                          on_step=lambda s: clock(f"compute: {s}"),
                                          step=lambda s: clock(f"write: {s}"))
            clock("write: closing the output set")
        clock("end")
    return {"phases": clock.phases, "peak_rss": peak_rss(), "features": features,
            "background": outputs.seconds,
            "failed": {k: v.message for k, v in results.failed.items()},
            "written": sorted(f for v in outputs.written.values() for f in v)}


def _child_read(plan_dir: Path) -> dict:
    import warnings

    warnings.simplefilter("ignore")
    from geoagri.area import area_by_zone
    from geoagri.io import read_layer

    rows = []
    communes = read_layer(plan_dir / "communes.gpkg", kind="communes")
    for fmt in ("parquet", "gpkg"):
        w, c = time.perf_counter(), time.process_time()
        parcels = read_layer(plan_dir / f"parcels.{fmt}", kind="parcels")
        rows.append({"step": f"read_layer parcels.{fmt}", "wall_s": time.perf_counter() - w,
                     "cpu_s": time.process_time() - c, "load": os.getloadavg()[0],
                     "features": len(parcels)})
    # the kernels' load, not timed; on three communes, so that the timed run still cuts
    # the whole communes layer into pieces (area_by_zone keeps them for a next analysis)
    area_by_zone(parcels.head(2000), communes.iloc[:3], by="land_use")
    w, c = time.perf_counter(), time.process_time()
    area_by_zone(parcels, communes, by="land_use")
    rows.append({"step": "area_by_zone (plain, by land_use)", "wall_s": time.perf_counter() - w,
                 "cpu_s": time.process_time() - c, "load": os.getloadavg()[0],
                 "features": len(parcels)})
    return {"rows": rows, "peak_rss": peak_rss()}


# --------------------------------------------------------------------------- the parent




def _spawn(args: list[str]) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        target = Path(fh.name)
    try:
        run = subprocess.Popen([sys.executable, __file__, *args, "--child-json", str(target)])
        tree = 0
        while run.poll() is None:  # the process tree's memory, every 0.1 s
            tree = max(tree, tree_memory(run.pid, kind="pss"))
            time.sleep(0.1)
        if run.returncode:
            raise subprocess.CalledProcessError(run.returncode, run.args)
        return {**json.loads(target.read_text()), "tree_pss": tree}
    finally:
        target.unlink(missing_ok=True)


def _report_runs(runs: list[dict]) -> None:
    names = [p["phase"] for p in runs[0]["phases"]]
    print(f"{'phase':<44} {'wall s':>8} {'cpu s':>8} {'load':>6}   (median of {len(runs)})")
    for i, name in enumerate(names):
        wall = statistics.median(r["phases"][i]["wall_s"] for r in runs)
        cpu = statistics.median(r["phases"][i]["cpu_s"] for r in runs)
        load = max(r["phases"][i]["load"] for r in runs)
        print(f"{name:<44} {wall:8.2f} {cpu:8.2f} {load:6.1f}")
    for name in runs[0]["background"]:
        wall = statistics.median(r["background"][name][0] for r in runs)
        cpu = statistics.median(r["background"][name][1] for r in runs)
        print(f"  {'in its own process: ' + name:<42} {wall:8.2f} {cpu:8.2f}")
    walls = [sum(p["wall_s"] for p in r["phases"]) for r in runs]
    cpus = [sum(p["cpu_s"] for p in r["phases"]) for r in runs]
    print(f"{'total':<44} {statistics.median(walls):8.2f} {statistics.median(cpus):8.2f}"
          f"   runs: {' / '.join(f'{w:.2f}' for w in walls)} s wall,"
          f" {' / '.join(f'{c:.2f}' for c in cpus)} s CPU")
    peaks = " / ".join(f"{r['peak_rss'] / 2**30:.2f}" for r in runs)
    trees = " / ".join(f"{r['tree_pss'] / 2**30:.2f}" for r in runs)
    print(f"peak RSS of the run's process: {peaks} GiB; peak memory of its process tree "
          f"(the map processes included; PSS sampled every 0.1 s): {trees} GiB; "
          f"layers: {runs[0]['features']}")
    if runs[0]["failed"]:
        print(f"FAILED steps: {runs[0]['failed']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--plan", default="demo",
                        help="demo, province, or the path of a plan.toml")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--read-only", action="store_true",
                        help="read_layer (GeoParquet, GPKG) beside area_by_zone, province")
    parser.add_argument("--child-json", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    plan_arg = args.plan
    if plan_arg == "province":
        import _run_plan

        plan_arg = str(_run_plan.build(PLAN_DIR))
    if args.child_json is not None:
        if args.read_only:
            found = _child_read(Path(plan_arg).parent)
        else:
            with tempfile.TemporaryDirectory() as out:
                found = _child_run(plan_arg, Path(out) / "out")
        args.child_json.write_text(json.dumps(found))
        return 0
    child = ["--plan", plan_arg] + (["--read-only"] if args.read_only else [])
    runs = [_spawn(child) for _ in range(args.repeat)]
    if args.read_only:
        for r in runs:
            for row in r["rows"]:
                print(f"{row['step']:<40} {row['wall_s']:7.2f} s wall {row['cpu_s']:7.2f} s CPU"
                      f"  load {row['load']:.1f}  ({row['features']:,} features)")
            print(f"peak RSS {r['peak_rss'] / 2**30:.2f} GiB")
        return 0
    print(f"geoagri run on {args.plan} ({plan_arg}), load at start "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    _report_runs(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
