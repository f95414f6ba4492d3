"""Check that a change leaves a run's figures as they were: dump them on two checkouts, compare.

Run by hand, never by the test suite::

    PYTHONPATH=/path/to/main   python benchmarks/same_results.py dump main.pkl
    PYTHONPATH=/path/to/branch python benchmarks/same_results.py dump branch.pkl
    python benchmarks/same_results.py compare main.pkl branch.pkl

``dump`` runs :func:`geoagri.results.compute` on the five example plans
(``geoagri demo --example NAME``) and on the province plan of
``bench_run.py --plan province`` (built once under ``benchmarks/.cache/``), and
pickles, per plan, the layers as read and validated, the indicators table with
its ``attrs["not_computed"]``, the linkage table, the report's tables, the
carried appendix and the feature accounting.  ``compare`` tests every table
for exact equality (values and dtypes; a difference of dtype alone is
reported as such) and prints the differences; it exits with 1 if a value
differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import pickle
import sys
import warnings
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PLANS = ("vinh-hung", "lai-chau", "thap-muoi", "chi-lang-bac", "an-giang", "province")


def _plan(name: str):
    if name == "province":
        import _run_plan

        from geoagri.plan import read_plan

        return read_plan(_run_plan.build(HERE / ".cache" / "run-province-v1"))
    from geoagri.datasets import example

    return example(name)


def dump(out: Path, plans: list[str]) -> None:
    """Pickle the figures of ``plans`` into ``out``."""
    from geoagri.results import compute

    warnings.simplefilter("ignore")
    found = {}
    for name in plans:
        plan = _plan(name)
        res = compute(plan)
        d = {f"layer {n}": pd.DataFrame(g.drop(columns="geometry").assign(
                 _wkb=g.geometry.to_wkb().to_numpy(), _crs=str(g.crs)))
             if "geometry" in g.columns else g for n, g in plan.layers.items()}
        d.update({"indicators": res.indicators, "linkage": res.linkage,
                  "accounting": res.accounting, "carried": res.carried,
                  "failed": {k: v.message for k, v in res.failed.items()}})
        if res.indicators is not None:
            d["not_computed"] = res.indicators.attrs["not_computed"]
        if res.report is not None:
            d.update({f"report.{f.name}": getattr(res.report, f.name)
                      for f in dataclasses.fields(res.report)})
        found[name] = d
        print(f"{name}: {len(d)} tables", flush=True)
    out.write_bytes(pickle.dumps(found))


def _differences(a: object, b: object, where: str) -> list[str]:
    if isinstance(a, pd.DataFrame) or isinstance(b, pd.DataFrame):
        try:
            pd.testing.assert_frame_equal(a, b, check_exact=True)
        except AssertionError as err:
            try:
                pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=False)
            except AssertionError as value_err:
                return [f"DIFFERENT {where}: {value_err}"]
            print(f"dtype only {where}: {' '.join(str(err).split())}")
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"DIFFERENT {where}: keys {sorted(set(a) ^ set(b))}"] if set(a) != set(b) else []
        return out + [d for k in a if k in b for d in _differences(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, tuple | list) and isinstance(b, tuple | list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b, strict=True))
                for d in _differences(x, y, f"{where}[{i}]")]
    return [] if repr(a) == repr(b) else [f"DIFFERENT {where}: {a!r} != {b!r}"]


def compare(left: Path, right: Path) -> int:
    """Print the differences between two dumps; 1 if a value differs."""
    a, b = pickle.loads(left.read_bytes()), pickle.loads(right.read_bytes())
    found = _differences(a, b, "")
    for line in found:
        print(line[:2000])
    print(f"{len(a)} plans compared, {len(found)} difference(s)")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("plans", nargs="*", default=list(PLANS))
    c = sub.add_parser("compare")
    c.add_argument("left", type=Path)
    c.add_argument("right", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.out, args.plans)
        return 0
    return compare(args.left, args.right)


if __name__ == "__main__":
    sys.exit(main())
