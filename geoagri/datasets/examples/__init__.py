"""Five example plans, one per programme document, generated on first use.

=================  =====  ======================================================
name               seed   document
=================  =====  ======================================================
``vinh-hung``      000    Huyện Vĩnh Hưng (Long An), linkage and high-tech rice,
                          mid-2024 (the demo, :mod:`geoagri.datasets.synthetic`)
``lai-chau``       001    Tỉnh Lai Châu, concentrated commodity production
                          (NQ 05-NQ/TU, mid-term review 07/7/2023)
``thap-muoi``      002    Huyện Tháp Mười (Đồng Tháp), collective economy and rice
                          linkage (report of 30/8/2023)
``chi-lang-bac``   003    Xã Chi Lăng Bắc (Thanh Miện, Hải Dương), the commune's
                          plan of 31/3/2023
``an-giang``       004    Tỉnh An Giang, cooperatives in value chains
                          (KH 453/KH-UBND of 7/5/2024)
=================  =====  ======================================================

Every example is **synthetic** (real commune names and codes, made-up geometry
and figures, each feature noted so) and shaped so that ``geoagri run`` writes
the document's own figures (docs/examples.md lists them with their sentences).
An example is written once into ``<cache>/example-<name>-<version>``
(:func:`geoagri.datasets.cache_root`) with a stamp of its generator's source,
like the demo.

Examples
--------
>>> from geoagri.datasets import example
>>> plan = example("chi-lang-bac")
>>> plan["communes"]["commune_name"].tolist()
['Xã Chi Lăng Bắc']
>>> example("phu-khe")
Traceback (most recent call last):
...
geoagri.errors.OptionError: unknown example 'phu-khe'; use one of vinh-hung, lai-chau, \
thap-muoi, chi-lang-bac, an-giang
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from geoagri.errors import OptionError

if TYPE_CHECKING:  # pragma: no cover
    from geoagri.plan import Plan

__all__ = ["EXAMPLES", "example", "example_plan_path"]

#: Example name → its generator module (None: the demo).
EXAMPLES: dict[str, str | None] = {
    "vinh-hung": None,
    "lai-chau": "lai_chau",
    "thap-muoi": "thap_muoi",
    "chi-lang-bac": "chi_lang_bac",
    "an-giang": "an_giang",
}


def _module_name(name: str) -> str | None:
    if name not in EXAMPLES:
        raise OptionError(f"unknown example {name!r}; use one of {', '.join(EXAMPLES)}")
    return EXAMPLES[name]


def example_plan_path(name: str) -> Path:
    """Path of an example's plan.toml, writing the example into the cache if needed.

    Parameters
    ----------
    name : str
        One of :data:`EXAMPLES` (``"vinh-hung"`` is the demo).

    Returns
    -------
    Path
        The plan.toml; layer paths in it are relative to it.

    Raises
    ------
    OptionError
        If ``name`` is not an example, listing the five.

    Examples
    --------
    >>> example_plan_path("thap-muoi").name
    'plan.toml'
    """
    from geoagri import __version__
    from geoagri.datasets import cache_root, cached_plan, demo_plan_path, source_stamp

    module = _module_name(name)
    if module is None:
        return demo_plan_path()
    gen = importlib.import_module(f"{__name__}.{module}")
    here = Path(__file__).parent
    stamp = source_stamp(here / f"{module}.py", here / "_build.py",
                         here.parent / "synthetic.py")
    from geoagri.datasets.examples._build import write_example

    def write(root: Path) -> Path:
        return write_example(root, gen.build_layers(), plan=gen.PLAN, readme=gen.README)

    return cached_plan(cache_root() / f"example-{name}-{__version__}", stamp, write,
                       "plan.toml")


def example(name: str) -> Plan:
    """An example plan, read and validated.

    Parameters
    ----------
    name : str
        One of :data:`EXAMPLES`.

    Returns
    -------
    Plan
        ``geoagri.plan.read_plan(example_plan_path(name))``.

    Examples
    --------
    >>> plan = example("thap-muoi")
    >>> plan.year, plan.metric_crs.to_epsg()
    (2023, 32648)
    """
    from geoagri.plan import read_plan

    return read_plan(example_plan_path(name))
