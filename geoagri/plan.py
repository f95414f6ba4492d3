"""A plan: named layers, targets and settings, loaded from ``plan.toml``.

A plan file names each layer once (its file, kind, layer name, rename map,
CRS) so that a whole afternoon's analyses start from one validated bundle.
The format is documented in docs/plan.md.

Examples
--------
>>> import tempfile, pathlib
>>> import pandas as pd
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> _ = (root / "pumps.csv").write_text(
...     "pump_id,status,lon,lat\\nTB01,operating,105.8,10.9\\n", encoding="utf-8")
>>> _ = (root / "plan.toml").write_text('''
... [plan]
... name = "tiny"
... [layers.pumps]
... kind = "pumps"
... path = "pumps.csv"
... ''', encoding="utf-8")
>>> plan = read_plan(root / "plan.toml")
>>> plan.name, list(plan.layers), len(plan["pumps"])
('tiny', ['pumps'], 1)
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoagri.errors import GeoagriError, LayerError, PlanError
from geoagri.schema import KINDS, vocabulary_problems
from geoagri.validate import layer_info, repairs

__all__ = ["LayerSource", "Plan", "check_plan", "read_plan"]

log = logging.getLogger("geoagri")

_PLAN_KEYS = {"name", "province", "district", "era", "metric_crs", "year", "description"}
_LAYER_KEYS = {"kind", "path", "layer", "rename", "crs", "repair", "description", "units",
               "header_row"}
_ERAS = ("old", "new")


@dataclass(frozen=True)
class LayerSource:
    """Where one layer of a plan comes from.

    Parameters
    ----------
    name : str
        The layer's name in the plan (``[layers.NAME]``).
    kind : str
        Its kind (see :mod:`geoagri.schema`).
    path : Path
        Absolute path of the file.
    layer : str, optional
        Layer or sheet inside the file.
    rename : mapping
        Source column → canonical column.
    crs : str, optional
        CRS to assume when the file has none.
    repair : bool
        Repair invalid geometries (each repair reported).
    units : mapping
        Units of columns not in the canonical unit (``{"cost": "triệu đồng"}``).
    vocabulary : mapping
        The plan's own words (its ``[vocabulary]`` table), by column.
    header_row : int or list of int, optional
        Spreadsheet row number(s) of the header, when not found automatically.
    """

    name: str
    kind: str
    path: Path
    layer: str | None = None
    rename: Mapping[str, str] = field(default_factory=dict)
    crs: str | None = None
    repair: bool = False
    units: Mapping[str, str] = field(default_factory=dict)
    vocabulary: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    header_row: int | list[int] | None = None

    def read(self) -> gpd.GeoDataFrame | pd.DataFrame:
        """Read and validate the layer (see :func:`geoagri.io.read_layer`)."""
        from geoagri.io import read_layer

        return read_layer(self.path, self.kind, layer=self.layer, rename=self.rename,
                          crs=self.crs, repair=self.repair, name=self.name, units=self.units,
                          vocabulary=self.vocabulary, header_row=self.header_row)


@dataclass(frozen=True)
class Plan:
    """Named, validated layers with the plan's settings.

    Index a plan by layer name (``plan["zones"]``); :meth:`of_kind` finds
    layers by kind.  ``settings`` holds the ``[settings]`` table as written,
    with paths left as strings (:meth:`path` resolves them).

    Attributes
    ----------
    name, province, district : str
        As in the ``[plan]`` table (province and district may be ``None``).
    era : {"old", "new"}
        Whether commune codes are pre-2025 (``old``) or post-2025 (``new``).
    metric_crs : str or None
        Explicit metric CRS for lengths and areas, if set.
    year : int or None
        Reporting year (progress is measured up to it), if set.
    layers : dict of str to GeoDataFrame or DataFrame
        The canonical layers, in the order of the file.
    sources : dict of str to LayerSource
        Where each layer came from.
    root : Path
        Folder of the plan file; relative paths are resolved against it.
    """

    name: str
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame]
    sources: dict[str, LayerSource]
    root: Path
    province: str | None = None
    district: str | None = None
    era: str = "old"
    metric_crs: str | None = None
    year: int | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> gpd.GeoDataFrame | pd.DataFrame:
        try:
            return self.layers[name]
        except KeyError:
            raise PlanError(f"plan '{self.name}' has no layer {name!r}; its layers are "
                            f"{list(self.layers)}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.layers)

    def of_kind(self, kind: str) -> dict[str, gpd.GeoDataFrame | pd.DataFrame]:
        """The layers of one kind, by name (possibly empty).

        Examples
        --------
        >>> from geoagri.datasets import demo
        >>> list(demo().of_kind("communes"))
        ['communes']
        """
        return {n: g for n, g in self.layers.items() if self.sources[n].kind == kind}

    def only(self, kind: str) -> gpd.GeoDataFrame | pd.DataFrame:
        """The one layer of a kind; an error if there are none or several.

        Examples
        --------
        >>> from geoagri.datasets import demo
        >>> len(demo().only("communes"))
        10
        """
        found = self.of_kind(kind)
        if len(found) != 1:
            raise PlanError(
                f"plan '{self.name}' has {len(found)} layers of kind {kind!r} "
                f"({list(found)}); {'add one' if not found else 'name the one to use'}")
        return next(iter(found.values()))

    def path(self, value: str) -> Path:
        """Resolve a path written in the plan (relative to the plan file)."""
        return (self.root / value).resolve()

    def summary(self) -> pd.DataFrame:
        """One row per layer: kind, features, CRS, encoding, repairs, source.

        Examples
        --------
        >>> from geoagri.datasets import demo
        >>> int(demo().summary().loc["communes", "features"])
        10
        """
        rows = []
        for n, g in self.layers.items():
            info = layer_info(g)
            crs = getattr(g, "crs", None)
            rows.append({
                "layer": n, "kind": self.sources[n].kind, "features": len(g),
                "crs": crs.to_string() if crs is not None else None,
                "encoding": info.get("encoding"), "repairs": len(repairs(g)),
                "source": str(self.sources[n].path),
            })
        return pd.DataFrame(rows).set_index("layer")


def _parse(path: Path) -> tuple[dict[str, Any], list[LayerSource]]:
    """Parse and check the plan file; every format problem raised at once."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"plan file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise PlanError(f"{path.name} is not valid TOML: {err}") from None
    problems = []
    unknown = set(doc) - {"plan", "layers", "settings", "vocabulary"}
    if unknown:
        problems.append(f"unknown table(s) {sorted(unknown)}; allowed: [plan], [layers.NAME], "
                        "[settings], [vocabulary]")
    vocabulary = doc.get("vocabulary", {})
    problems += vocabulary_problems(vocabulary)
    head = doc.get("plan", {})
    if set(head) - _PLAN_KEYS:
        problems.append(f"[plan] has unknown key(s) {sorted(set(head) - _PLAN_KEYS)}; "
                        f"allowed: {sorted(_PLAN_KEYS)}")
    if "year" in head and not isinstance(head["year"], int):
        problems.append(f"[plan] year = {head['year']!r}; write the reporting year as a "
                        "number, e.g. year = 2024")
    if head.get("era", "old") not in _ERAS:
        problems.append(f"[plan] era = {head.get('era')!r}; use 'old' (codes before "
                        "1 July 2025) or 'new'")
    sources = []
    layers = doc.get("layers", {})
    if not layers:
        problems.append("the plan has no [layers.NAME] tables")
    for lname, entry in layers.items():
        where = f"[layers.{lname}]"
        if not isinstance(entry, dict):
            problems.append(f"{where} must be a table")
            continue
        if set(entry) - _LAYER_KEYS:
            problems.append(f"{where} has unknown key(s) {sorted(set(entry) - _LAYER_KEYS)}; "
                            f"allowed: {sorted(_LAYER_KEYS)}")
        kind = entry.get("kind")
        if kind not in KINDS:
            problems.append(f"{where} kind = {kind!r}; use one of {', '.join(KINDS)}")
        if "path" not in entry:
            problems.append(f"{where} has no path")
            continue
        rename = entry.get("rename", {})
        if not isinstance(rename, dict):
            problems.append(f"{where} rename must be a table like {{ TEN_XA = \"commune_name\" }}")
            rename = {}
        units = entry.get("units", {})
        if not isinstance(units, dict) or not all(isinstance(u, str) for u in units.values()):
            problems.append(f'{where} units must be a table like {{ cost = "triệu đồng" }}')
            units = {}
        sources.append(LayerSource(
            name=lname, kind=str(kind), path=(path.parent / entry["path"]).resolve(),
            layer=entry.get("layer"), rename=rename, crs=entry.get("crs"),
            repair=bool(entry.get("repair", False)), units=units, vocabulary=vocabulary,
            header_row=entry.get("header_row")))
    if problems:
        raise PlanError(f"plan {path} is malformed:\n" + "\n".join(f"  - {p}" for p in problems))
    return doc, sources


def check_plan(path: str | Path) -> dict[str, GeoagriError]:
    """Validate every layer of a plan and return the errors by layer name.

    An empty dict means every layer is valid.  A malformed plan file raises
    :class:`PlanError` (there is nothing else to check then).

    Examples
    --------
    >>> from geoagri.datasets import demo_plan_path
    >>> check_plan(demo_plan_path())
    {}
    """
    path = Path(path)
    _, sources = _parse(path)
    errors: dict[str, GeoagriError] = {}
    for src in sources:
        try:
            src.read()
        except GeoagriError as err:
            errors[src.name] = err
    return errors


def read_plan(path: str | Path) -> Plan:
    """Load a plan file and all its layers, validated.

    Parameters
    ----------
    path : path
        The ``plan.toml`` (format in docs/plan.md).  Layer paths in it are
        relative to its folder.

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        If the file is malformed, or listing every layer that failed
        validation with all its problems.

    Examples
    --------
    >>> from geoagri.datasets import demo_plan_path
    >>> plan = read_plan(demo_plan_path())
    >>> plan.era, plan.only("communes").crs.to_epsg()
    ('old', 9210)
    """
    path = Path(path)
    doc, sources = _parse(path)
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    failed: dict[str, GeoagriError] = {}
    for src in sources:
        try:
            layers[src.name] = src.read()
        except GeoagriError as err:
            failed[src.name] = err
    if failed:
        detail = "\n".join(str(e) if isinstance(e, LayerError) else f"layer '{n}': {e}"
                           for n, e in failed.items())
        raise PlanError(f"plan {path.name}: {len(failed)} of {len(sources)} layers have "
                        f"problems:\n{detail}")
    head = doc.get("plan", {})
    plan = Plan(
        name=head.get("name", path.stem), layers=layers,
        sources={s.name: s for s in sources}, root=path.parent.resolve(),
        province=head.get("province"), district=head.get("district"),
        era=head.get("era", "old"), metric_crs=head.get("metric_crs"),
        year=int(head["year"]) if "year" in head else None,
        settings=dict(doc.get("settings", {})))
    log.info("plan %s: %d layers read", plan.name, len(layers))
    return plan
