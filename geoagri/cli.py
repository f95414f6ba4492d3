"""The ``geoagri`` command.

``geoagri check PLAN.toml`` validates every layer of a plan and prints all
problems (exit 1 if any); ``geoagri run PLAN.toml --out DIR`` writes the
report (``report.xlsx``, ``tables/*.csv``) and the validated layers
(``layers.gpkg``); ``geoagri demo --out DIR`` does the same on the bundled
demo; ``geoagri area PLAN.toml`` prints one area table; ``geoagri export
PLAN.toml --format kml --out DIR`` exports the layers; ``geoagri site PLAN.toml
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
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoagri import __version__
from geoagri.errors import GeoagriError, PlanError

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

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


def _write_outputs(plan: Plan, out: Path, *, year: int | None, language: str) -> list[str]:
    """Everything the analyses available so far produce for a plan, into ``out``."""
    from geoagri.export import export_layers
    from geoagri.io import write_layer
    from geoagri.report import build_report_data, write_report

    out.mkdir(parents=True, exist_ok=True)
    written = []
    write_layer(plan.summary().reset_index(), out / "layers.csv")
    spatial = {n: g for n, g in plan.layers.items() if hasattr(g, "geometry")}
    export_layers(spatial, out / "layers.gpkg", language=language)
    written += ["layers.csv", "layers.gpkg"]
    year = year if year is not None else plan.year
    if year is None:
        raise PlanError(
            f"plan '{plan.name}' says no reporting year: pass --year 2024 or write "
            "year = 2024 in the plan's [plan] table")
    files, res = _write_infrastructure(plan, out, budget_vnd=None, language=language)
    written += files
    # the report's appendix IV lists the same proposals (False: the plan has none)
    data = build_report_data(plan, year=year, proposals=res if res is not None else False)
    if plan.settings.get("carry_to_2025"):
        data, files = _carry_to_2025(plan, data, out)
        written += files
    files = write_report(data, out / "report.xlsx", language=language,
                         tables_dir=out / "tables")
    written += sorted(str(Path(p).relative_to(out)) for p in files.values())
    for line in data.summary_lines(language=language):
        print(line)
    return written


def _carry_to_2025(plan: Plan, data: Any, out: Path) -> tuple[Any, list[str]]:
    """Appendix I carried onto the 2025 communes; the lineage becomes appendix V.

    Read when the plan's ``[settings]`` say ``carry_to_2025 = true``.
    """
    from dataclasses import replace

    from geoagri.io import write_layer
    from geoagri.reform import OUTSIDE_NAMES, lineage, to_new_communes

    if plan.era == "new":
        raise PlanError(
            f"plan '{plan.name}': carry_to_2025 = true, but its communes are already the 2025 "
            "ones (era = \"new\"); remove the setting or set era = \"old\"")
    table = data.linkage_by_commune.copy()
    outside = table["commune_id"].isna()
    table.loc[outside, "commune_name"] = OUTSIDE_NAMES[1]
    lin = lineage(provinces=plan.province, era="old")
    carried = to_new_communes(table, lin, code_col="commune_id", name_col="commune_name",
                              extensive=["area_ha", "overlap_ha", "target_ha"], intensive={})
    carried["achieved_pct"] = carried["area_ha"] / carried["target_ha"] * 100
    path = out / "tables" / "appendix_1_linkage_2025.csv"
    write_layer(carried, path)
    print(f"carried to the 2025 communes: {len(table)} rows → "
          f"{carried['new_code'].nunique()} new communes "
          f"({int(carried['approximate'].sum())} with approximate shares)")
    return replace(data, lineage=carried.attrs["lineage"]), [str(path.relative_to(out))]


def _write_infrastructure(plan: Plan, out: Path, *, budget_vnd: float | None,
                          language: str) -> tuple[list[str], Any]:
    """Coverage, gaps and proposals (stations, lines) of a plan, into ``out``.

    Returns the files written and the :func:`geoagri.infrastructure.infrastructure`
    result (None when the plan lacks the layers it needs).
    """
    from geoagri.export import export_layers
    from geoagri.infrastructure import infrastructure
    from geoagri.io import write_layer
    from geoagri.maps import MapResults, plan_map

    kinds = {plan.sources[n].kind for n in plan.layers}
    if not {"communes", "zones", "pumps", "power"} <= kinds:
        print("infrastructure: skipped (the plan needs communes, zones, pumps and power)")
        return [], None
    res = infrastructure(plan, budget_vnd=budget_vnd)
    tables = out / "tables"
    write_layer(res.coverage, tables / "coverage.csv")
    write_layer(res.appendix_iv, tables / "appendix_4_proposals.csv")
    written = ["tables/coverage.csv", "tables/appendix_4_proposals.csv"]
    layers = {"gaps": res.gaps}
    if res.siting is not None:
        layers["proposed_stations"] = res.siting.sites
        write_layer(res.siting.curve, tables / "siting_curve.csv")
        written.append("tables/siting_curve.csv")
    if len(res.lines):
        layers["proposed_lines"] = res.lines
        write_layer(res.bill, tables / "bill_of_quantities.csv")
        written.append("tables/bill_of_quantities.csv")
    export_layers(layers, out / "proposals.gpkg", language=language)
    written.append("proposals.gpkg")
    results = MapResults(gaps=res.gaps,
                         sites=None if res.siting is None else res.siting.sites,
                         lines=res.lines if len(res.lines) else None,
                         service_radius_m=float(res.settings["pump_radius_m"]))
    plan_map(plan, results, language=language).save(out / "map.html")
    written.append("map.html")
    if res.siting is not None:
        total = res.appendix_iv["cost_vnd"].sum()
        print(f"proposals: {len(res.siting.sites)} pump stations, "
              f"{res.lines['length_km'].sum() if len(res.lines) else 0:.1f} km of three-phase "
              f"line, {res.siting.covered_ha:,.0f} ha served, {total / 1e9:.2f} billion VND")
    return written, res


def _cmd_site(args: argparse.Namespace) -> int:
    from geoagri.plan import read_plan

    plan = read_plan(args.plan)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    written, _ = _write_infrastructure(plan, out, budget_vnd=args.budget_vnd,
                                       language=args.language)
    print(f"wrote {', '.join(written)} to {out}/")
    return 0


def _cmd_map(args: argparse.Namespace) -> int:
    from geoagri.maps import plan_map
    from geoagri.plan import read_plan

    plan = read_plan(args.plan)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    plan_map(plan, language=args.language, offline=args.offline).save(out)
    print(f"map written to {out}{' (offline)' if args.offline else ''}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from geoagri.plan import read_plan

    plan = read_plan(args.plan)
    written = _write_outputs(plan, Path(args.out), year=args.year, language=args.language)
    print(f"plan '{plan.name}': {len(plan.layers)} layers valid; wrote {len(written)} files "
          f"to {args.out}/")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from geoagri.datasets import demo

    plan = demo()
    summary = plan.summary()
    print(f"demo plan '{plan.name}': {len(plan.layers)} layers valid")
    print(summary[["kind", "features", "crs"]].to_string())
    written = _write_outputs(plan, Path(args.out), year=args.year, language=args.language)
    print(f"wrote {len(written)} files to {args.out}/: {', '.join(written[:6])}"
          + (" …" if len(written) > 6 else ""))
    return 0


#: Formats ``geoagri export`` writes into one file (the others write a folder).
_SINGLE_FILE = {"gpkg", "kml", "kmz"}


def _cmd_export(args: argparse.Namespace) -> int:
    from geoagri.export import export_layers
    from geoagri.plan import read_plan

    plan = read_plan(args.plan)
    out = args.out
    if not out.startswith(("postgresql://", "postgres://")):
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"layers.{args.format}" if args.format in _SINGLE_FILE else folder
    written = export_layers(plan, out, format=args.format, language=args.language)
    for name, where in written.items():
        print(f"{name:14s} → {where}")
    return 0


def _cmd_area(args: argparse.Namespace) -> int:
    from geoagri.area import area_by_zone
    from geoagri.io import write_layer
    from geoagri.plan import read_plan

    plan = read_plan(args.plan)
    by = None if args.by is None else [c for c in args.by.split(",") if c]
    table = area_by_zone(plan[args.layer], plan.only("communes"), by=by,
                         dissolve=not args.raw, level=args.level,
                         crs=plan.metric_crs, province=plan.province, era=plan.era)
    if args.out:
        write_layer(table, args.out)
        print(f"{len(table)} rows written to {args.out}")
    else:
        print(table.to_string(index=False))
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
    area.set_defaults(func=_cmd_area)
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
    site.add_argument("--out", required=True, help="output folder")
    site.add_argument("--language", default="vi", choices=["vi", "en"])
    site.set_defaults(func=_cmd_site)
    mp = sub.add_parser("map", help="write the plan's interactive map (HTML)")
    mp.add_argument("plan", help="plan file (plan.toml)")
    mp.add_argument("--out", required=True, help="HTML file to write")
    mp.add_argument("--offline", action="store_true",
                    help="inline every script and style: the file opens without internet")
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
        return args.func(args)
    except GeoagriError as err:
        print(f"geoagri {args.command}: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
