"""The ``geoagri`` command.

``geoagri check PLAN.toml`` validates every layer of a plan and prints all
problems (exit 1 if any); ``geoagri demo --out DIR`` loads the bundled demo
and writes what the analyses available so far produce; ``geoagri --version``.
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

from geoagri import __version__
from geoagri.errors import GeoagriError

__all__ = ["main"]

log = logging.getLogger("geoagri")


def _cmd_check(args: argparse.Namespace) -> int:
    from geoagri.plan import check_plan

    errors = check_plan(args.plan)
    if not errors:
        print(f"{args.plan}: every layer is valid")
        return 0
    for name, err in errors.items():
        text = str(err)
        print(text if text.startswith(f"layer '{name}'") else f"layer '{name}': {text}")
    print(f"{args.plan}: {len(errors)} layer(s) with problems", file=sys.stderr)
    return 1


def _cmd_demo(args: argparse.Namespace) -> int:
    from geoagri.datasets import demo
    from geoagri.io import write_layer

    plan = demo()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = plan.summary()
    write_layer(summary.reset_index(), out / "layers.csv")
    for name, frame in plan.layers.items():
        if hasattr(frame, "geometry"):
            write_layer(frame, out / "layers.gpkg", layer=name)
        else:
            write_layer(frame, out / f"{name}.csv")
    print(f"demo plan '{plan.name}': {len(plan.layers)} layers valid")
    print(summary[["kind", "features", "crs"]].to_string())
    print(f"written to {out}/")
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
    dm = sub.add_parser("demo", help="run on the bundled synthetic demo district")
    dm.add_argument("--out", required=True, help="output folder")
    dm.set_defaults(func=_cmd_demo)
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
