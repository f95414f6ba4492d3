"""Bundled datasets: a synthetic demo district and five example plans.

The demo is modelled on Vĩnh Hưng (Long An); the example plans
(:mod:`geoagri.datasets.examples`, :func:`example`) follow each of the five
programme documents, the demo being the first of them (``"vinh-hung"``).

The demo is generated (deterministically, without network) by
:mod:`geoagri.datasets.synthetic` and written once into a cache folder:
``$GEOAGRI_CACHE/demo-<version>`` when the ``GEOAGRI_CACHE`` environment
variable is set, else ``~/.cache/geoagri/demo-<version>``.  A stamp file
holds a hash of the generator's source, so a changed generator rewrites the
cache.  All of its data is SYNTHETIC (real commune names and codes, made-up
geometry and attributes).

Examples
--------
>>> from geoagri.datasets import demo_plan_path
>>> demo_plan_path().name
'plan.toml'
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

__all__ = ["EXAMPLES", "demo", "demo_cache_dir", "demo_plan_path", "example",
           "example_plan_path"]

log = logging.getLogger("geoagri")

_STAMP = ".geoagri-demo-stamp"


def source_stamp(*files: Path) -> str:
    """The package version and a hash of the generators' source files."""
    from geoagri import __version__

    digest = hashlib.sha256()
    for f in files:
        digest.update(f.read_bytes())
    return f"{__version__} {digest.hexdigest()[:16]}"


def _stamp() -> str:
    return source_stamp(Path(__file__).parent / "synthetic.py")


def cache_root() -> Path:
    """``$GEOAGRI_CACHE`` if set, else ``~/.cache/geoagri``: where generated plans go."""
    env = os.environ.get("GEOAGRI_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "geoagri"


def demo_cache_dir() -> Path:
    """The folder the demo is written into (it may not exist yet).

    Returns
    -------
    Path
        ``$GEOAGRI_CACHE/demo-<version>`` if ``GEOAGRI_CACHE`` is set, else
        ``~/.cache/geoagri/demo-<version>``.

    Examples
    --------
    >>> demo_cache_dir().name.startswith("demo-")
    True
    """
    from geoagri import __version__

    return cache_root() / f"demo-{__version__}"


def _is_current(folder: Path, stamp: str, plan: str) -> bool:
    try:
        return ((folder / plan).is_file()
                and (folder / _STAMP).read_text(encoding="utf-8") == stamp)
    except OSError:
        return False


def cached_plan(folder: Path, stamp: str, write: Callable[[Path], object],
                plan: str) -> Path:
    """Path of a generated plan in ``folder``, written by ``write(folder)`` when stale.

    Written into a temporary folder beside ``folder`` that is then renamed
    into place, so concurrent callers (e.g. test workers) never see a half-
    written plan; ``stamp`` (the generator's version and source hash) is kept
    in the folder and a different one rewrites it.

    Parameters
    ----------
    folder : Path
        The cache folder of the plan.
    stamp : str
        What identifies the generator's output.
    write : callable
        Writes the plan's files under the folder it is given.
    plan : str
        Path of the plan.toml relative to the folder.

    Returns
    -------
    Path
        ``folder / plan``.
    """
    if _is_current(folder, stamp, plan):
        return folder / plan
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write(tmp)
        (tmp / _STAMP).write_text(stamp, encoding="utf-8")
        if folder.exists():  # stale (another version of the generator) or partial
            if _is_current(folder, stamp, plan):  # another process was faster
                return folder / plan
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            os.replace(folder, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not _is_current(folder, stamp, plan):  # pragma: no cover - unexpected race
                raise
        log.info("wrote the synthetic plan into %s", folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder / plan


def demo_plan_path() -> Path:
    """Path of the demo's plan.toml, writing the demo into the cache if needed.

    The demo is written once into :func:`demo_cache_dir` (about 1.3 MB,
    about a second), atomically (:func:`cached_plan`).

    Returns
    -------
    Path
        ``<cache>/demo/plan.toml``; layer paths in it are relative to it.

    Examples
    --------
    >>> path = demo_plan_path()
    >>> sorted(p.name for p in path.parent.glob("*.kml"))
    ['zones.kml']
    """
    from geoagri.datasets.synthetic import write_demo

    return cached_plan(demo_cache_dir(), _stamp(), write_demo, "demo/plan.toml")


def demo() -> Plan:
    """The synthetic demo district as a validated :class:`geoagri.plan.Plan`.

    Returns
    -------
    Plan
        ``geoagri.plan.read_plan(demo_plan_path())``: layers ``communes``,
        ``zones``, ``models``, ``works``, ``power``, ``pumps``,
        ``cooperatives``, ``parcels``, ``targets``; ``settings["canals"]``
        names the canal network file.

    Examples
    --------
    >>> plan = demo()
    >>> len(plan["communes"]), plan.metric_crs.to_epsg()
    (10, 9210)
    """
    from geoagri.plan import read_plan

    return read_plan(demo_plan_path())


from geoagri.datasets.examples import EXAMPLES, example, example_plan_path  # noqa: E402
