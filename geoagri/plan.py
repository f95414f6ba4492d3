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

import dataclasses
import logging
import tomllib
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoagri.context import PLAN_SETTINGS, PlanContext, ServiceSettings, resolve_context
from geoagri.errors import GeoagriError, LayerError, PlanError
from geoagri.indicator_engine import check_indicators, definition_problems, unknown_targets
from geoagri.schema import KINDS, vocabulary_problems
from geoagri.validate import MAX_OUTSIDE_KM, far_from_communes, layer_info, repairs

__all__ = ["LayerSource", "Plan", "check_plan", "plan_from_layers", "read_plan"]

log = logging.getLogger("geoagri")

_PLAN_KEYS = {"name", "province", "district", "era", "metric_crs", "year", "description"}
_LAYER_KEYS = {"kind", "path", "layer", "rename", "crs", "repair", "where", "description",
               "units", "header_row"}
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
    where : mapping or list, optional
        Keep only some units: ``{"province": "Tây Ninh"}`` or a list of
        ids (see :func:`geoagri.io.read_layer`).
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
    where: Mapping[str, Any] | list[Any] | None = None
    units: Mapping[str, str] = field(default_factory=dict)
    vocabulary: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    header_row: int | list[int] | None = None

    def read(self) -> gpd.GeoDataFrame | pd.DataFrame:
        """Read and validate the layer (see :func:`geoagri.io.read_layer`)."""
        from geoagri.io import read_layer

        return read_layer(self.path, self.kind, layer=self.layer, rename=self.rename,
                          crs=self.crs, repair=self.repair, name=self.name, where=self.where,
                          units=self.units, vocabulary=self.vocabulary,
                          header_row=self.header_row)


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
    metric_crs : pyproj.CRS or None
        The metric CRS every analysis of the plan measures in, resolved once
        from the setting (a CRS-like given to the constructor), the province
        or the communes (``context.metric_crs``; see :mod:`geoagri.context`).
    year : int or None
        Reporting year (progress is measured up to it), if set.
    context : PlanContext
        Everything resolved once: metric CRS and why, province, era, year,
        and the service settings (``plan.service``).
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
    indicators: dict[str, Any] = field(default_factory=dict)
    context: PlanContext = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.context is None:
            spatial = sorted((g for g in self.layers.values() if hasattr(g, "geometry")),
                             key=lambda g: g is not self._communes_or_none())
            ctx = resolve_context(layers=spatial, metric_crs=self.metric_crs,
                                  province=self.province, district=self.district,
                                  era=self.era, year=self.year, settings=self.settings)
            object.__setattr__(self, "context", ctx)
        object.__setattr__(self, "metric_crs", self.context.metric_crs)

    def _communes_or_none(self) -> Any:
        found = [g for n, g in self.layers.items() if self.sources[n].kind == "communes"]
        return found[0] if len(found) == 1 else None

    @property
    def service(self) -> ServiceSettings:
        """The plan's infrastructure settings (``context.service``)."""
        return self.context.service

    def __repr__(self) -> str:
        layers = ", ".join(f"{n} ({self.sources[n].kind}, {len(g)})"
                           for n, g in self.layers.items())
        crs = self.metric_crs.to_epsg() if self.metric_crs is not None else None
        return (f"Plan({self.name!r}, year={self.year}, province={self.province!r}, "
                f"metric CRS EPSG:{crs}, layers: {layers})")

    def _repr_html_(self) -> str:
        import html

        table = self.summary()[["kind", "features", "crs", "repairs"]].to_html(
            escape=True, border=0)
        return (f"<div><strong>Plan {html.escape(str(self.name))}</strong>{table}"
                f"{self.context._repr_html_()}</div>")

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
    unknown = set(doc) - {"plan", "layers", "settings", "vocabulary", "indicators"}
    if unknown:
        problems.append(f"unknown table(s) {sorted(unknown)}; allowed: [plan], [layers.NAME], "
                        "[settings], [vocabulary], [indicators.NAME]")
    problems += definition_problems(doc.get("indicators", {}), plan=True)
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
    settings = doc.get("settings", {})
    known = {f.name for f in dataclasses.fields(ServiceSettings)} | PLAN_SETTINGS
    if set(settings) - known:
        problems.append(f"[settings] has unknown key(s) {sorted(set(settings) - known)}; "
                        f"allowed: {sorted(known)}")
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
        where_ = entry.get("where")
        if where_ is not None and not (isinstance(where_, (dict, list)) and where_):
            problems.append(f"{where} where = {where_!r}; select units with a table such as "
                            "{ province = \"Tây Ninh\" } or a list of codes [\"27775\"]")
            where_ = None
        units = entry.get("units", {})
        if not isinstance(units, dict) or not all(isinstance(u, str) for u in units.values()):
            problems.append(f'{where} units must be a table like {{ cost = "triệu đồng" }}')
            units = {}
        sources.append(LayerSource(
            name=lname, kind=str(kind), path=(path.parent / entry["path"]).resolve(),
            layer=entry.get("layer"), rename=rename, crs=entry.get("crs"),
            repair=bool(entry.get("repair", False)), where=where_, units=units,
            vocabulary=vocabulary, header_row=entry.get("header_row")))
    if problems:
        raise PlanError(f"plan {path} is malformed:\n" + "\n".join(f"  - {p}" for p in problems))
    return doc, sources


def _far_outside(doc: dict[str, Any], sources: list[LayerSource],
                 layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame]) -> dict[str, LayerError]:
    """Features of the loaded layers far outside every commune (see far_from_communes)."""
    head = doc.get("plan", {})
    max_km = doc.get("settings", {}).get("max_outside_km", MAX_OUTSIDE_KM)
    if isinstance(max_km, bool) or not isinstance(max_km, int | float) or not max_km >= 0:
        raise PlanError(f"[settings] max_outside_km = {max_km!r}; write a distance in km, "
                        "e.g. max_outside_km = 25")
    return far_from_communes(layers, {s.name: s.kind for s in sources},
                             crs=head.get("metric_crs"), province=head.get("province"),
                             era=head.get("era", "old"), max_km=float(max_km))


def check_plan(path: str | Path) -> dict[str, GeoagriError]:
    """Validate every layer of a plan and return the errors by layer name.

    An empty dict means every layer is valid.  A malformed plan file raises
    :class:`PlanError` (there is nothing else to check then).  Communes that
    overlap each other or leave gaps between neighbours are reported as a
    :class:`~geoagri.errors.GeoagriWarning`
    (:func:`geoagri.boundaries.warn_boundaries`), not as an error.

    Examples
    --------
    >>> from geoagri.datasets import demo_plan_path
    >>> check_plan(demo_plan_path())
    {}
    """
    from geoagri.boundaries import warn_boundaries

    path = Path(path)
    doc, sources = _parse(path)
    head = doc.get("plan", {})
    errors: dict[str, GeoagriError] = {}
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    for src in sources:
        try:
            layers[src.name] = src.read()
        except GeoagriError as err:
            errors[src.name] = err
            continue
        if src.kind == "communes":  # overlaps and gaps: a warning, never an error
            warn_boundaries(layers[src.name], layer=src.name, crs=head.get("metric_crs"),
                            province=head.get("province"), era=head.get("era", "old"))
    errors.update(_far_outside(doc, sources, layers))
    for src in sources:
        if src.kind == "targets" and src.name in layers:
            unknown = unknown_targets(layers[src.name], own=doc.get("indicators", {}),
                                      layer=src.name)
            if unknown is not None:
                errors[src.name] = unknown
    communes = [s.name for s in sources if s.kind == "communes"]
    if doc.get("indicators") and communes and all(n in layers for n in communes):
        plan = _plan(path, doc, [s for s in sources if s.name in layers], layers)
        errors.update({f"indicators.{n}": e for n, e in
                       check_indicators(plan, indicators=list(doc["indicators"])).items()})
    return errors


def read_plan(path: str | Path, *, first: Collection[str] = (),
              then: Callable[[Plan], Any] | None = None) -> Plan:
    """Load a plan file and all its layers, validated.

    Parameters
    ----------
    path : path
        The ``plan.toml`` (format in docs/plan.md).  Layer paths in it are
        relative to its folder.
    first : collection of str, optional
        Kinds of layer to read before the others (e.g.
        :data:`geoagri.results.INFRASTRUCTURE_KINDS`).
    then : callable, optional
        Called, once those are read and valid, with a plan of those layers alone
        (each validated on its own; the checks across layers, such as features far
        outside every commune, wait for the whole plan): to start work that needs
        only them while the others are read (:func:`geoagri.results.start_infrastructure`).
        Not called when one of them fails.  The plan returned has every layer, in
        the order of the file.

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
    >>> early = []
    >>> plan = read_plan(demo_plan_path(), first=["communes"], then=early.append)
    >>> list(early[0].layers), len(plan.layers) > 1
    (['communes'], True)
    """
    path = Path(path)
    doc, sources = _parse(path)
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    failed: dict[str, GeoagriError] = {}
    early = [s for s in sources if s.kind in first]
    for src in early + [s for s in sources if s.kind not in first]:
        try:
            layers[src.name] = src.read()
        except GeoagriError as err:
            failed[src.name] = err
        if then is not None and early and src is early[-1] and not failed:
            try:
                partial = _plan(path, doc, early, layers)
            except GeoagriError:  # the whole plan reports it below
                partial = None
            if partial is not None:
                then(partial)
    if not failed:
        failed.update(_far_outside(doc, sources, layers))
    if failed:
        order = {s.name: i for i, s in enumerate(sources)}  # in the file's order
        detail = "\n".join(str(e) if isinstance(e, LayerError) else f"layer '{n}': {e}"
                           for n, e in sorted(failed.items(), key=lambda f: order.get(f[0], 0)))
        raise PlanError(f"plan {path.name}: {len(failed)} of {len(sources)} layers have "
                        f"problems:\n{detail}")
    plan = _plan(path, doc, sources, layers)
    log.info("plan %s: %d layers read", plan.name, len(layers))
    return plan


def _plan(path: Path, doc: dict[str, Any], sources: list[LayerSource],
          layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame]) -> Plan:
    """The plan of a parsed file and its layers read (those of ``sources``, in their order)."""
    head = doc.get("plan", {})
    return Plan(
        name=head.get("name", path.stem), layers={s.name: layers[s.name] for s in sources},
        sources={s.name: s for s in sources}, root=path.parent.resolve(),
        province=head.get("province"), district=head.get("district"),
        era=head.get("era", "old"), metric_crs=head.get("metric_crs"),
        year=int(head["year"]) if "year" in head else None,
        settings=dict(doc.get("settings", {})), indicators=dict(doc.get("indicators", {})))


def plan_from_layers(
    layers: Mapping[str, gpd.GeoDataFrame | pd.DataFrame],
    *,
    kinds: Mapping[str, str] | None = None,
    name: str = "plan",
    province: str | None = None,
    district: str | None = None,
    era: str = "old",
    metric_crs: Any = None,
    year: int | None = None,
    settings: Mapping[str, Any] | None = None,
    indicators: Mapping[str, Any] | None = None,
) -> Plan:
    """A plan from layers already in memory, for notebooks; its context resolved once.

    Parameters
    ----------
    layers : mapping of str to GeoDataFrame or DataFrame
        Layers by name; each is validated (:func:`geoagri.validate.canonicalize`)
        unless it already is a canonical layer of its kind.
    kinds : mapping of str to str, optional
        Kind of each layer (default: the kind the layer was read as, else its
        name when that is a kind, e.g. ``communes``).
    name, province, district, era, metric_crs, year, settings :
        As the ``[plan]`` and ``[settings]`` tables of a plan file
        (docs/plan.md).
    indicators : mapping, optional
        The plan's own indicators, as its ``[indicators.NAME]`` tables
        (docs/indicators.md); checked like a plan file's.

    Returns
    -------
    Plan
        With ``context`` resolved (metric CRS, service settings, year).

    Raises
    ------
    PlanError
        If a layer's kind is unknown, or listing every layer that failed
        validation.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> d = demo()
    >>> plan = plan_from_layers({"communes": d["communes"], "zones": d["zones"]},
    ...                         province="Long An", year=2024)
    >>> plan.metric_crs.to_epsg(), plan.service.pump_radius_m
    (9210, 1000.0)
    """
    from geoagri.validate import canonicalize

    kinds = dict(kinds or {})
    bad = definition_problems(dict(indicators or {}), plan=True)
    if bad:
        raise PlanError("the plan's indicators are malformed:\n"
                        + "\n".join(f"  - {p}" for p in bad))
    canonical: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {}
    sources: dict[str, LayerSource] = {}
    failed: dict[str, GeoagriError] = {}
    for lname, layer in layers.items():
        kind = kinds.get(lname) or layer_info(layer).get("kind") or lname
        if kind not in KINDS:
            raise PlanError(f"layer {lname!r}: kind {kind!r} is unknown; pass "
                            f"kinds={{{lname!r}: ...}} with one of {', '.join(KINDS)}")
        try:
            canonical[lname] = (layer if layer_info(layer).get("kind") == kind
                                else canonicalize(layer, kind, layer=lname))
        except GeoagriError as err:
            failed[lname] = err
        sources[lname] = LayerSource(name=lname, kind=kind, path=Path("<memory>"))
    if failed:
        raise PlanError(f"{len(failed)} of {len(layers)} layers have problems:\n"
                        + "\n".join(str(e) for e in failed.values()))
    return Plan(name=name, layers=canonical, sources=sources, root=Path.cwd(),
                province=province, district=district, era=era, metric_crs=metric_crs,
                year=year, settings=dict(settings or {}), indicators=dict(indicators or {}))
