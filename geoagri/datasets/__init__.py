"""Bundled datasets: a synthetic demo district modelled on Vĩnh Hưng (Long An).

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
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

__all__ = ["demo", "demo_cache_dir", "demo_plan_path"]

log = logging.getLogger("geoagri")

_STAMP = ".geoagri-demo-stamp"


def _stamp() -> str:
    """Version and a hash of the generator's source."""
    from geoagri import __version__

    source = (Path(__file__).parent / "synthetic.py").read_bytes()
    return f"{__version__} {hashlib.sha256(source).hexdigest()[:16]}"


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

    env = os.environ.get("GEOAGRI_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "geoagri"
    return base / f"demo-{__version__}"


def _is_current(folder: Path, stamp: str) -> bool:
    try:
        return ((folder / "demo" / "plan.toml").is_file()
                and (folder / _STAMP).read_text(encoding="utf-8") == stamp)
    except OSError:
        return False


def demo_plan_path() -> Path:
    """Path of the demo's plan.toml, writing the demo into the cache if needed.

    The demo is written once into :func:`demo_cache_dir` (about 1.3 MB,
    about a second): into a temporary folder beside it that is then renamed
    into place, so concurrent callers (e.g. test workers) never see a half-
    written demo.

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
    folder = demo_cache_dir()
    stamp = _stamp()
    if _is_current(folder, stamp):
        return folder / "demo" / "plan.toml"
    from geoagri.datasets.synthetic import write_demo

    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        write_demo(tmp)
        (tmp / _STAMP).write_text(stamp, encoding="utf-8")
        if folder.exists():  # stale (another version of the generator) or partial
            if _is_current(folder, stamp):  # another process was faster
                return folder / "demo" / "plan.toml"
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            os.replace(folder, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not _is_current(folder, stamp):  # pragma: no cover - unexpected race
                raise
        log.info("wrote the synthetic demo into %s", folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder / "demo" / "plan.toml"


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
