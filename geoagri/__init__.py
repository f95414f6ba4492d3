"""geoagri: geospatial planning toolkit for agricultural planners.

Joins commune boundaries with production-linkage zones, high-tech rice
models, irrigation works and power lines; computes area by zone and progress
against plan targets; renders maps and exports layers for planners.

``import geoagri as ga`` gives the public functions by name (``ga.read_plan``,
``ga.area_by_zone``, ``ga.coverage``, ``ga.plan_map``, …); each is imported
the first time it is used, so ``import geoagri`` itself stays instant.  The
modules (``geoagri.area``, ``geoagri.maps``, …) hold the same functions with
their helpers.

Examples
--------
>>> import geoagri as ga
>>> isinstance(ga.__version__, str)
True
>>> "read_layer" in dir(ga) and "area_by_zone" in dir(ga)
True
>>> ga.read_plan.__module__
'geoagri.plan'
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__version__ = "0.1.0"

#: The public functions and classes, by the module that holds them.
_PUBLIC: dict[str, tuple[str, ...]] = {
    "geoagri.io": ("read_layer", "read_table", "read_vector", "write_layer", "list_layers",
                   "read_partitioned"),
    "geoagri.plan": ("Plan", "read_plan", "check_plan", "plan_from_layers"),
    "geoagri.context": ("PlanContext", "ServiceSettings"),
    "geoagri.results": ("PlanResults", "compute"),
    "geoagri.validate": ("canonicalize", "repairs"),
    "geoagri.crs": ("metric_crs", "vn2000_epsg", "area_ha", "length_km"),
    "geoagri.area": ("area_by_zone",),
    "geoagri.indicators": ("actuals", "linkage_by_commune"),
    "geoagri.indicator_engine": ("compute_indicators",),
    "geoagri.progress": ("progress",),
    "geoagri.coverage": ("coverage", "gaps", "service_coverage"),
    "geoagri.infrastructure": ("infrastructure",),
    "geoagri.siting": ("site_pump_stations",),
    "geoagri.routing": ("route_power_lines", "bill_of_quantities"),
    "geoagri.raster": ("raster_area_by_zone", "raster_stats_by_zone"),
    "geoagri.reform": ("lineage", "to_new_communes"),
    "geoagri.maps": ("plan_map", "layer_map", "MapResults"),
    "geoagri.report": ("build_report_data", "write_report"),
    "geoagri.report_docx": ("write_report_docx",),
    "geoagri.print_map": ("print_map", "write_print_map"),
    "geoagri.export": ("export_layers",),
    "geoagri.datasets": ("demo", "demo_plan_path", "example", "example_plan_path"),
    "geoagri.errors": ("GeoagriError", "GeoagriWarning", "LayerError", "PlanError",
                       "OptionError", "OutputError", "IndicatorError"),
}
_WHERE = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'geoagri' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_WHERE})


class _Package(types.ModuleType):
    """The package, where a function keeps its name when its module has the same one.

    ``geoagri.coverage``, ``geoagri.progress`` and ``geoagri.infrastructure``
    are functions here (``ga.coverage(zones, ...)``); their modules are in
    ``sys.modules`` (``from geoagri.coverage import gaps`` works as usual).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _WHERE and isinstance(value, types.ModuleType):
            return  # the import system binding a submodule over a public function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
