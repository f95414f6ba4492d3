"""The ``geoagri`` command.

``geoagri check PLAN.toml`` validates every layer of a plan and prints all
problems (exit 1 if any); ``geoagri run PLAN.toml --out DIR`` writes the
report (``report.xlsx``, ``tables/*.csv``) and the validated layers
(``layers.gpkg``); ``geoagri demo --out DIR`` does the same on the bundled
demo (``--example NAME``: one of the five example plans); ``geoagri area
PLAN.toml`` prints one area table; ``geoagri export PLAN.toml --format kml
--out DIR`` exports the layers; ``geoagri site PLAN.toml
--budget-vnd N --out DIR`` proposes pump stations and three-phase lines;
``geoagri map PLAN.toml --out map.html [--offline]`` writes the map;
``geoagri reform TABLE.csv --to-2025 --out DIR`` carries a table of old
communes onto the communes of 1 July 2025 (:mod:`geoagri.reform`);
``geoagri --version``.
A :class:`~geoagri.errors.GeoagriError` is printed as one paragraph on
standard error with exit status 1, never as a traceback.

Examples
--------
>>> main(["--version"])  # doctest: +ELLIPSIS
geoagri ...
0
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoagri import __version__
from geoagri.errors import GeoagriError

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.outputs import OutputSet
    from geoagri.plan import Plan
    from geoagri.results import PlanResults

__all__ = ["main"]

log = logging.getLogger("geoagri")


def _cmd_check(args: argparse.Namespace) -> int:
    import warnings

    from geoagri.errors import GeoagriWarning
    from geoagri.plan import check_plan

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GeoagriWarning)
        errors = check_plan(args.plan)
    for w in caught:
        if issubclass(w.category, GeoagriWarning):
            print(f"warning: {w.message}")
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if not errors:
        print(f"{args.plan}: every layer is valid")
        return 0
    for name, err in errors.items():
        text = str(err)
        print(text if text.startswith(f"layer '{name}'") else f"layer '{name}': {text}")
    print(f"{args.plan}: {len(errors)} layer(s) with problems", file=sys.stderr)
    return 1


class _Progress:
    """Steps of a long command, as a bar on a terminal and silent otherwise."""

    def __init__(self, total: int) -> None:
        self.bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=sys.stderr, leave=False, unit="step",
                            bar_format="{desc:<32} {bar} {n_fmt}/{total_fmt} [{elapsed}]")

    def __call__(self, name: str) -> None:
        if self.bar is not None:
            self.bar.set_description_str(name)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _layers_output(plan: Plan, *, language: str) -> tuple[str, Callable[[Path], Any]]:
    """The plan's layers as read and validated (layers.csv, layers.gpkg): an output's name
    and renderer (:meth:`~geoagri.outputs.OutputSet.render`)."""
    from geoagri.export import export_layers
    from geoagri.io import write_layer

    spatial = {n: g for n, g in plan.layers.items() if hasattr(g, "geometry")}
    return "layers.gpkg", lambda d: (
        write_layer(plan.summary().reset_index(), d / "layers.csv"),
        export_layers(spatial, d / "layers.gpkg", language=language))


def _room_for_every_output(outputs: OutputSet, plan: Plan) -> bool:
    """Whether the disk has room for every output of the plan, with a margin: twice the size
    of the plan's files and 512 MiB free.  Only then are the layers and the maps written
    before the report: on a nearly full disk the report is written first (it is the output
    that must be there)."""
    size = 0
    for source in plan.sources.values():
        with contextlib.suppress(OSError):
            size += Path(source.path).stat().st_size
    assert outputs.staging is not None
    return shutil.disk_usage(outputs.staging).free >= 2 * size + 512 * 2**20


def _compute_and_render(outputs: OutputSet, plan: Plan, *, year: int | None,
                        budget_vnd: float | None, language: str,
                        on_step: Callable[[str], None], step: Callable[[str], None]
                        ) -> PlanResults:
    """What ``geoagri run`` does: compute the plan's results and write every output.

    The layers need only the plan: where outputs can be written by processes of their
    own and the disk has room (:func:`_room_for_every_output`), they are written by one
    while the results are computed, and the computation's wait for its infrastructure
    scenario no longer leaves a core idle; and the maps are started before the report is
    written.  Else the layers are written with the other outputs, after the report.
    ``on_step`` is told each step of the computation, ``step`` each output.  The
    layers' process is forked before any thread of the computation runs: a fork while
    the scenario's thread imports or loads its compiled kernels can leave the child
    waiting for a lock that thread held (starting the scenario while the parcels were
    read, :func:`geoagri.results.start_infrastructure`, hung a run in the test suite).
    """
    from geoagri.results import compute

    roomy = outputs.processes > 0 and _room_for_every_output(outputs, plan)
    if roomy:
        outputs.start(_layers_output(plan, language=language))
    results = compute(plan, year=year, budget_vnd=budget_vnd, on_step=on_step)
    _render_results(outputs, results, language=language, step=step, layers=not roomy,
                    maps_first=roomy)
    return results


def _render_results(outputs: OutputSet, results: PlanResults, *, language: str,
                    step: Callable[[str], None], layers: bool = True,
                    maps_first: bool = False) -> None:
    """Every output of a plan's results, each on its own.

    The report first (on a full disk it is the one output that must be there;
    with ``maps_first``, where the disk has room for every output, right after
    the maps are started); the two maps, the longest to draw, are started in
    processes of their own (:meth:`~geoagri.outputs.OutputSet.start`) while
    the tables (and the layers, with ``layers``) are written, and the report's
    .docx once the map it shows is there.
    """
    from geoagri.export import export_layers
    from geoagri.io import write_layer
    from geoagri.report import write_report
    from geoagri.report_docx import write_report_docx

    plan = results.plan
    for failure in results.failed.values():
        outputs.fail(failure)

    def report() -> None:
        if results.report is not None:
            step("report.xlsx")
            outputs.render("report.xlsx", lambda d: write_report(
                results.report, d / "report.xlsx", language=language,
                tables_dir=d / "tables"))

    def web_map(d: Path) -> None:
        from geoagri.maps import plan_map  # the map's libraries, imported where it is drawn

        plan_map(plan, results.map_results(), language=language).save(d / "map.html")

    @functools.cache
    def drawn() -> Any:
        from geoagri.print_map import print_map

        return print_map(results, language=language)

    def print_file(**path: Path) -> None:
        from geoagri.print_map import save_print_map

        save_print_map(drawn(), **path)

    if not maps_first:
        report()
    step("map.html")
    outputs.start(("map.html", web_map))
    step("map.png, map.pdf")  # one drawing, two outputs, in one process
    outputs.start(("map.png", lambda d: print_file(path_png=d / "map.png")),
                  ("map.pdf", lambda d: print_file(path_pdf=d / "map.pdf")))
    if maps_first:
        report()
    if results.indicators is not None:
        from geoagri.indicator_engine import labelled

        step("tables/indicators.csv")

        def indicator_tables(d: Path) -> None:
            write_layer(labelled(results.indicators, plan, language=language),
                        d / "tables" / "indicators.csv")
            write_layer(results.indicators.attrs["not_computed"],
                        d / "tables" / "indicators_not_computed.csv")

        outputs.render("tables/indicators.csv", indicator_tables)
    if results.carried is not None:
        outputs.render("tables/appendix_1_linkage_2025.csv", lambda d: write_layer(
            results.carried, d / "tables" / "appendix_1_linkage_2025.csv"))
    infra = results.infrastructure
    if infra is not None:
        step("infrastructure tables")

        def tables(d: Path) -> None:
            write_layer(infra.coverage, d / "tables" / "coverage.csv")
            write_layer(infra.appendix_iv, d / "tables" / "appendix_4_proposals.csv")
            if len(infra.lines):
                write_layer(infra.bill, d / "tables" / "bill_of_quantities.csv")

        outputs.render("tables (coverage, proposals)", tables)
        found = {"gaps": infra.gaps}
        if infra.siting is not None:
            found["proposed_stations"] = infra.siting.sites
        if len(infra.lines):
            found["proposed_lines"] = infra.lines
        outputs.render("proposals.gpkg", lambda d: export_layers(
            found, d / "proposals.gpkg", language=language))
    if results.accounting is not None:
        table = results.accounting.reset_index()
        outputs.record("features", json.loads(table.to_json(orient="records")))
        outputs.render("tables/feature_accounting.csv", lambda d: write_layer(
            table, d / "tables" / "feature_accounting.csv"))
    if layers:
        step("layers")
        outputs.render(*_layers_output(plan, language=language))
    if results.report is not None:
        step("report.docx")  # with the A4 map as its figure when it was written
        outputs.wait("map.png")
        outputs.render("report.docx", lambda d: write_report_docx(
            results.report, d / "report.docx", language=language,
            map_image=d / "map.png" if (d / "map.png").is_file() else None))
    if infra is not None and infra.siting is not None:
        # last: the curve's points are solved on their own thread meanwhile
        step("tables/siting_curve.csv")
        outputs.render("tables/siting_curve.csv", lambda d: write_layer(
            infra.siting.curve, d / "tables" / "siting_curve.csv"))
    step("the maps")
    outputs.wait()


def _run_plan(plan: Plan, out: Path, *, year: int | None, language: str, command: str,
              budget_vnd: float | None = None) -> int:
    """Compute a plan's results once and write every output as one set into ``out``."""
    from geoagri.outputs import OutputSet
    from geoagri.results import STEPS

    progress = _Progress(len(STEPS) + 10)
    try:
        with OutputSet(out, command=command, context=plan.context.describe()) as outputs:
            results = _compute_and_render(outputs, plan, year=year, budget_vnd=budget_vnd,
                                          language=language, on_step=progress, step=progress)
    finally:
        progress.close()
    if results.report is not None:
        for line in results.report.summary_sentences(language=language):
            print(line)
    _print_proposals(results.infrastructure)
    for name, why in results.skipped.items():
        print(f"{name}: not run ({why})")
    files = [f for name in outputs.written for f in outputs.written[name]]
    first = [f for f in ("map.html", "report.xlsx") if f in files]
    print(f"wrote {len(files) + 1} files to {out}/ (manifest.json lists them)"
          + (f"; open {', '.join(f'{out}/{f}' for f in first)} first" if first else ""))
    if outputs.failed:
        print(f"{len(outputs.failed)} output(s) failed; the others were written:",
              file=sys.stderr)
        for f in outputs.failed:
            print(f"  - {f.step}: {f.message}", file=sys.stderr)
        return 1
    return 0


def _print_proposals(infra: Any) -> None:
    """The proposals' one line (stations, km of line, ha served, cost), when there are any."""
    if infra is None or infra.siting is None:
        return
    total = infra.appendix_iv["cost_vnd"].sum()
    print(f"proposals: {len(infra.siting.sites)} pump stations, "
          f"{infra.lines['length_km'].sum() if len(infra.lines) else 0:.1f} km of "
          f"three-phase line, {infra.siting.covered_ha:,.0f} ha served, "
          f"{total / 1e9:.2f} billion VND")


def _cmd_site(args: argparse.Namespace) -> int:
    from geoagri.infrastructure import infrastructure
    from geoagri.outputs import OutputSet
    from geoagri.plan import read_plan
    from geoagri.results import PlanResults

    plan = read_plan(args.plan)
    res = infrastructure(plan, budget_vnd=args.budget_vnd, cover_all=args.cover_all or None)
    results = PlanResults(plan=plan, year=plan.year or 0, infrastructure=res)
    with OutputSet(args.out, command=f"geoagri site {args.plan}",
                   context=plan.context.describe()) as outputs:
        _render_results(outputs, results, language=args.language, step=lambda _: None,
                        layers=False)
    _print_proposals(res)
    for f in outputs.failed:
        print(f"geoagri site: {f.step} failed: {f.message}", file=sys.stderr)
    print(f"wrote {', '.join(f for v in outputs.written.values() for f in v)} to {args.out}/")
    return 1 if outputs.failed else 0


def _cmd_map(args: argparse.Namespace) -> int:
    from geoagri.maps import plan_map
    from geoagri.outputs import write_atomically
    from geoagri.plan import read_plan
    from geoagri.results import compute

    plan = read_plan(args.plan)
    results = None
    if plan.year is not None:  # the gaps and proposals the run computes, drawn as it draws them
        results = compute(plan, curve_steps=0)
        for failure in results.failed.values():
            print(f"geoagri map: {failure.step} failed, not drawn: {failure.message}",
                  file=sys.stderr)
    else:
        print("geoagri map: the plan sets no year; the map shows its layers without gaps "
              "or proposals (write year = 2024 in [plan] to draw them)", file=sys.stderr)
    m = plan_map(plan, None if results is None else results.map_results(),
                 language=args.language, offline=args.offline)
    write_atomically(args.out, m.save)
    print(f"map written to {args.out}{' (offline)' if args.offline else ''}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from geoagri.plan import read_plan

    plan = read_plan(args.plan)
    print(f"plan '{plan.name}': {len(plan.layers)} layers valid")
    return _run_plan(plan, Path(args.out), year=args.year, language=args.language,
                     command=f"geoagri run {args.plan}")


def _cmd_demo(args: argparse.Namespace) -> int:
    from geoagri.datasets import example

    plan = example(args.example)
    summary = plan.summary()
    print(f"demo plan '{plan.name}': {len(plan.layers)} layers valid")
    print(summary[["kind", "features", "crs"]].to_string())
    return _run_plan(plan, Path(args.out), year=args.year, language=args.language,
                     command=f"geoagri demo --example {args.example}")


#: Formats ``geoagri export`` writes into one file (the others write a folder).
_SINGLE_FILE = {"gpkg", "kml", "kmz"}


def _cmd_export(args: argparse.Namespace) -> int:
    from geoagri.export import export_layers
    from geoagri.plan import read_plan

    plan = read_plan(args.plan)
    out = args.out
    if out.startswith(("postgresql://", "postgres://")):
        written = export_layers(plan, out, format=args.format, language=args.language)
        for name, where in written.items():
            print(f"{name:14s} → {where}")
        return 0
    from geoagri.outputs import OutputSet

    with OutputSet(out, command=f"geoagri export {args.plan} --format {args.format}",
                   context=plan.context.describe()) as outputs:
        outputs.render(f"layers ({args.format})", lambda d: export_layers(
            plan, d / f"layers.{args.format}" if args.format in _SINGLE_FILE else d,
            format=args.format, language=args.language))
    for f in outputs.failed:
        print(f"geoagri export: {f.step} failed: {f.message}", file=sys.stderr)
    for rel in (f for v in outputs.written.values() for f in v):
        print(f"{rel:24s} → {Path(out) / rel}")
    return 1 if outputs.failed else 0


def _cmd_area(args: argparse.Namespace) -> int:
    from geoagri.area import area_by_zone
    from geoagri.indicator_engine import in_force
    from geoagri.io import write_layer
    from geoagri.plan import read_plan
    from geoagri.schema import spec
    from geoagri.validate import row_labels

    plan = read_plan(args.plan)
    layer = plan[args.layer]
    year = plan.year if args.year is None else None if args.year == "all" else int(args.year)
    if year is not None:
        kind = plan.sources[args.layer].kind
        keep = in_force(layer, year=year, kind=kind)
        if not keep.all():
            ids = row_labels(layer, spec(kind).id_column, ~keep.to_numpy())
            print(f"{args.layer}: {len(ids)} feature(s) not in force in {year} left out "
                  f"({', '.join(ids[:10])}{' …' if len(ids) > 10 else ''}); --year all "
                  "counts every feature")
        layer = layer[keep]
    by = None if args.by is None else [c for c in args.by.split(",") if c]
    table = area_by_zone(layer, plan.only("communes"), by=by,
                         dissolve=not args.raw, level=args.level, crs=plan.metric_crs)
    if args.out:
        from geoagri.outputs import write_atomically

        write_atomically(args.out, lambda tmp: write_layer(table, tmp))
        print(f"{len(table)} rows written to {args.out}")
    else:
        print(table.to_string(index=False))
    return 0


def _cmd_indicators(args: argparse.Namespace) -> int:
    import pandas as pd

    from geoagri.indicator_engine import compute_indicators, labelled
    from geoagri.io import write_layer
    from geoagri.plan import read_plan
    from geoagri.progress import first_year, plan_targets
    from geoagri.results import reporting_year

    plan = read_plan(args.plan)
    year = reporting_year(plan, args.year)
    since = args.since if args.since is not None else first_year(plan_targets(plan), year)
    table = compute_indicators(plan, year=year, since=since,
                               indicators=_csv_list(args.indicator),
                               levels=_csv_list(args.level) or ("district", "plan"))
    if not args.all_years:
        table = table[table["year"] == year]
    if not args.categories:
        table = table[table["categories"] == ""]
    shown = labelled(table, plan, language=args.language)
    if args.out:
        from geoagri.outputs import write_atomically

        write_atomically(args.out, lambda tmp: write_layer(shown, tmp))
        print(f"{len(shown)} rows written to {args.out}")
    else:
        cols = ["indicator", "level", "unit_name", "categories", "period", "value", "unit"]
        with pd.option_context("display.max_rows", None, "display.width", 160):
            print(shown[[c for c in cols if args.categories or c != "categories"]]
                  .to_string(index=False))
    for name, why in zip(table.attrs["not_computed"]["indicator"],
                         table.attrs["not_computed"]["why"], strict=True):
        print(f"{name}: not computed: {why}", file=sys.stderr)
    return 0


def _csv_list(text: str | None) -> list[str] | None:
    return None if text is None else [c.strip() for c in text.split(",") if c.strip()]


def _cmd_reform(args: argparse.Namespace) -> int:
    import pandas as pd

    from geoagri.io import read_layer, read_table, write_layer
    from geoagri.reform import lineage, to_new_communes

    table = read_table(args.table)
    layers = [read_layer(p, kind="communes") if p else None
              for p in (args.old_communes, args.new_communes)]
    lin = lineage(*layers, provinces=args.province, era=args.era)
    intensive = None
    if args.intensive is not None:
        intensive = {}
        for item in _csv_list(args.intensive) or []:
            col, _, weight = item.partition("=")
            intensive[col.strip()] = weight.strip() or None
    carried = to_new_communes(table, lin, code_col=args.code_col, name_col=args.name_col,
                              extensive=_csv_list(args.extensive), intensive=intensive,
                              by=_csv_list(args.by))
    out = Path(args.out)
    written = {out / f"{Path(args.table).stem}_2025.csv": carried,
               out / "lineage_2025.csv": carried.attrs["lineage"]}
    for path, frame in written.items():  # UTF-8 with BOM, as the report's tables
        write_layer(frame, path)
    print(f"{len(table) - len(carried.attrs['total_rows'])} rows of old communes → "
          f"{carried['new_code'].nunique()} new communes "
          f"({int(carried['approximate'].sum())} with approximate shares)")
    if carried.attrs["total_rows"]:
        print(f"  left out {len(carried.attrs['total_rows'])} total row(s): the new totals are "
              "the sums of the carried rows")
    kept = table.drop(index=carried.attrs["total_rows"])
    for col in carried.attrs["extensive"]:
        before = float(pd.to_numeric(kept[col]).sum())
        print(f"  {col}: {before:,.2f} before, {float(carried[col].sum()):,.2f} after")
    if carried.attrs["intensive"]:
        print(f"  averaged: {', '.join(carried.attrs['intensive'])}")
    if carried.attrs["dropped_columns"]:
        print(f"  not carried: {', '.join(carried.attrs['dropped_columns'])}")
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geoagri", description="Geospatial planning toolkit for agricultural planners.")
    parser.add_argument("--version", action="version", version=f"geoagri {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is done")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = sub.add_parser("check", help="validate every layer of a plan, print all problems")
    check.add_argument("plan", help="plan file (plan.toml)")
    check.set_defaults(func=_cmd_check)
    area = sub.add_parser("area", help="hectares of a layer per commune and group")
    area.add_argument("plan", help="plan file (plan.toml)")
    area.add_argument("--layer", default="zones", help="polygon layer of the plan (zones)")
    area.add_argument("--by", help="comma-separated columns to group by (default by kind)")
    area.add_argument("--level", default="commune", choices=["commune", "district", "province"])
    area.add_argument("--raw", action="store_true",
                      help="sum overlapping zones instead of counting their overlap once")
    area.add_argument("--out", help="write the table (.csv, .xlsx via pandas) instead of printing")
    area.add_argument("--year", help="count the features in force in this year (start_year, "
                      "status; default: the plan's year); 'all' counts every feature")
    area.set_defaults(func=_cmd_area)
    ind = sub.add_parser("indicators", help="every indicator of a plan by level and period "
                         "(the table the report reads)")
    ind.add_argument("plan", help="plan file (plan.toml)")
    ind.add_argument("--indicator", help="comma-separated ids (default: the whole catalogue "
                     "and the plan's own)")
    ind.add_argument("--level", help="comma-separated levels: commune, district, province, "
                     "plan (default district,plan)")
    ind.add_argument("--year", type=int, help="reporting year (default: the plan's year)")
    ind.add_argument("--since", type=int, help="first year (default: the year, or the first "
                     "year a cumulative target needs)")
    ind.add_argument("--all-years", action="store_true", dest="all_years",
                     help="every year from --since, not only the reporting year")
    ind.add_argument("--categories", action="store_true",
                     help="the rows by category (crop, season, type…) too")
    ind.add_argument("--language", default="vi", choices=["vi", "en"],
                     help="language of the labels (default vi)")
    ind.add_argument("--out", help="write the table (.csv, .xlsx) instead of printing")
    ind.set_defaults(func=_cmd_indicators)
    exp = sub.add_parser("export", help="export a plan's layers for QGIS, Google Earth, Excel")
    exp.add_argument("plan", help="plan file (plan.toml)")
    exp.add_argument("--format", required=True,
                     choices=["gpkg", "geojson", "shapefile", "kml", "kmz", "parquet", "postgis"])
    exp.add_argument("--out", required=True,
                     help="output folder (or a postgresql:// address for --format postgis)")
    exp.add_argument("--language", default="vi", choices=["vi", "en"],
                     help="language of styles and labels (default vi)")
    exp.set_defaults(func=_cmd_export)
    site = sub.add_parser("site", help="coverage, gaps, new pump stations and lines")
    site.add_argument("plan", help="plan file (plan.toml)")
    site.add_argument("--budget-vnd", type=float, dest="budget_vnd",
                      help="budget for stations and connections, VND (default: the plan's)")
    site.add_argument("--cover-all", action="store_true", dest="cover_all",
                      help="instead of a budget: the least-cost stations that serve all "
                           "reachable rice (set covering); unreachable land is reported")
    site.add_argument("--out", required=True, help="output folder")
    site.add_argument("--language", default="vi", choices=["vi", "en"])
    site.set_defaults(func=_cmd_site)
    mp = sub.add_parser("map", help="write the plan's interactive map (HTML)")
    mp.add_argument("plan", help="plan file (plan.toml)")
    mp.add_argument("--out", required=True, help="HTML file to write")
    mp.add_argument("--offline", action="store_true",
                    help="no tile layers: the page makes no request (every map is "
                         "self-contained; without internet it draws the plan's own basemap)")
    mp.add_argument("--language", default="vi", choices=["vi", "en"])
    mp.set_defaults(func=_cmd_map)
    run = sub.add_parser("run", help="validate a plan and write its report and tables")
    run.add_argument("plan", help="plan file (plan.toml)")
    dm = sub.add_parser("demo", help="run on the bundled synthetic demo district")
    for p in (run, dm):
        p.add_argument("--out", required=True, help="output folder")
        p.add_argument("--year", type=int, help="reporting year (default: the plan's year)")
        p.add_argument("--language", default="vi", choices=["vi", "en"],
                       help="language of the report (default vi)")
    dm.add_argument("--example", default="vinh-hung",
                    help="example plan: vinh-hung (default), lai-chau, thap-muoi, "
                         "chi-lang-bac or an-giang (docs/examples.md)")
    run.set_defaults(func=_cmd_run)
    dm.set_defaults(func=_cmd_demo)
    rf = sub.add_parser(
        "reform", help="carry a table of old communes onto the communes of 1 July 2025",
        description="Carry a commune table (CSV/XLSX) onto the new communes: amounts "
        "(*_ha, *_count, *_vnd, *_km, *_m2) are split by the lineage's shares and summed, "
        "rates (*_pct, *_t_ha, *_kg_ha, *_vnd_ha) averaged. Writes TABLE_2025.csv and "
        "lineage_2025.csv (UTF-8 with BOM) into --out. See docs/reform.md.")
    rf.add_argument("table", help="table of old communes (.csv, .xlsx)")
    rf.add_argument("--to-2025", dest="to_2025", action="store_true", required=True,
                    help="from the units before 1 July 2025 to the new ones (the only way)")
    rf.add_argument("--out", required=True, help="output folder")
    rf.add_argument("--code-col", help="column of old commune codes (default: old_code, "
                    "commune_code or commune_id)")
    rf.add_argument("--name-col", help="column of old commune names (default: old_name or "
                    "commune_name)")
    rf.add_argument("--province", action="append",
                    help="province of the table (repeatable); default the whole country")
    rf.add_argument("--era", default="old", choices=["old", "new"],
                    help="which provinces --province names (default old)")
    rf.add_argument("--extensive", help="comma-separated amount columns (default by suffix)")
    rf.add_argument("--intensive", help="comma-separated rate columns, each with its weight "
                    "column after '=', e.g. yield_t_ha=area_ha (default by suffix, "
                    "area-weighted)")
    rf.add_argument("--by", help="comma-separated columns kept as groups (season, crop)")
    rf.add_argument("--old-communes", help="old commune boundaries: shares from areas")
    rf.add_argument("--new-communes", help="new commune boundaries (with --old-communes)")
    rf.set_defaults(func=_cmd_reform)
    return parser


@contextlib.contextmanager
def _command_process() -> Iterator[None]:
    """How a command's process uses its memory while the command runs.

    * **Python's cyclic garbage collector runs less often.**  A command holds a few
      large layers and makes many short-lived objects; by default the collector looks
      at the youngest objects every 700 allocations and at all of them (hundreds of
      thousands, mostly the layers') every 70,000.  Every 50,000 and 20 million here:
      0.5 s less CPU of ``geoagri run`` on a province (1,325 collections, 8 of them
      full, against 30 and none), the same peak memory.
    * **Arrow allocates with the C library's malloc**, as numpy, GEOS and Python do,
      instead of its own mimalloc.  Arrow holds the files read (GeoParquet, GeoPackage
      through Arrow) and pandas' text columns.  mimalloc takes its memory from the
      system in large segments and hands it back; on a virtual machine that backs
      memory only when it is first touched, those segments can cost more than the
      reading itself (Arrow's reading thread in ``geoagri run`` on a province spent
      0.4–0.6 s in the kernel).  Reading a province's plan, six fresh processes each,
      alternated: 0.87–0.91 s against 0.85–1.48 s (the two slowest with 0.6 s of
      system time); the whole run's spread is wider than the difference.
    * **numpy's arrays in ordinary memory pages** for the whole command, not only
      inside the analyses (:func:`geoagri._engine.pages.small_pages`: the same first
      touches of memory).

    All three are restored after.  A library call leaves the first two alone: they
    are the command's, for the process it owns.
    """
    import pyarrow as pa

    from geoagri._engine.pages import small_pages

    old, old_pool = gc.get_threshold(), pa.default_memory_pool()
    gc.set_threshold(50_000, 20, 20)
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        with small_pages():
            yield
    finally:
        gc.set_threshold(*old)
        pa.set_memory_pool(old_pool)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (``sys.argv[1:]`` by default).

    Examples
    --------
    >>> main(["check", "no-such-plan.toml"])
    1
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with _command_process():
            return args.func(args)
    except GeoagriError as err:
        print(f"geoagri {args.command}: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # a file could not be written or read: one paragraph
        from geoagri.outputs import os_error_message

        print(f"geoagri {args.command}: "
              f"{os_error_message(err, err.filename or getattr(args, 'out', '') or '.')}",
              file=sys.stderr)
        return 1


def console() -> None:
    """The ``geoagri`` command: :func:`main`, then the process ends without a teardown.

    A run leaves a province's layers and results in memory, and Python's exit
    frees them one object at a time: 0.37 s of a 9 s ``geoagri run`` on a province.
    Every output is written, closed and in place when :func:`main` returns (the
    output set waits for its processes and threads), so the streams and the log
    are flushed and the process exits at once with :func:`main`'s status.  Ctrl-C
    exits at once too, with status 130, once the output sets it interrupted have
    removed their unfinished folders: the threads still solving (the scenario, the
    siting's curve) are not waited for.
    """
    try:
        code = main()
    except KeyboardInterrupt:
        print("geoagri: interrupted (no output is left half-written)", file=sys.stderr)
        code = 130
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing to flush to
            stream.flush()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
