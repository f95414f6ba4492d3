"""Area by zone: hectares of zones (or models, parcels) per commune and group.

:func:`area_by_zone` measures, in a metric CRS, how many hectares of each
group of zones (by crop, season, partner, …) lie in each commune, with the
area that overlapping zones of one group count more than once reported as
``overlap_ha`` and, with ``dissolve=True``, counted once.

How it is fast and exact
------------------------
* Communes are cut once into quadtree pieces of at most ``max_vertices``
  vertices.  A piece that is a whole quadtree cell (inside the commune) is a
  rectangle: a zone whose bounding box lies in such a cell lies wholly in the
  commune, and its area is its own area, with no polygon intersection.  Only
  zones that cross a cell or a border are intersected, and then with a small
  piece or a rectangle, not with the whole 600-vertex commune.
* The zones that do cross a border are not overlaid: the area of each zone
  inside each piece is computed directly by a compiled clipping kernel
  (:mod:`geoagri._engine.clip`: Sutherland–Hodgman against the convex side, or a
  fan of signed triangles of a non-convex one), about 20 times faster than
  building the intersection polygon with GEOS, and equal to it within
  rounding (≈1e-13 relative per commune).
* Overlaps are looked for among zones of the same group whose bounding boxes
  overlap with positive area (found on a grid of boxes), their overlap area by
  the same kernel, on a second thread while the zones are allocated to the
  communes.  No union is built: the area counted more than once in each
  commune comes by inclusion–exclusion over the sets of zones sharing an
  area (:mod:`geoagri._engine.union`), so dense overlaps cost about what sparse
  ones do.
* The geometry work runs on ``threads`` threads (shapely's vectorised
  functions and the kernel release the GIL), numpy's arrays in ordinary memory
  pages (:mod:`geoagri._engine.pages`: a huge page's first touch is dear).
* A layer of more than 1.5 million vertices (the national delta's 2,000,000
  parcels) is measured in batches of whole overlap neighbourhoods, one after
  the other (:mod:`geoagri._engine.batches`): the engine's working memory is
  a batch's, not the layer's, and memory touched for the first time is dear.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> x, y = 500_000, 1_200_000  # UTM 48N, near its central meridian: 1 km² = 100 ha
>>> communes = gpd.GeoDataFrame(
...     {"commune_id": ["A", "B"], "commune_name": ["Xã A", "Xã B"]},
...     geometry=[box(x, y, x + 1000, y + 1000), box(x + 1000, y, x + 2000, y + 1000)],
...     crs="EPSG:32648")
>>> zones = gpd.GeoDataFrame(
...     {"zone_id": ["z1", "z2"], "zone_kind": ["linkage", "linkage"]},
...     geometry=[box(x + 500, y, x + 1500, y + 500), box(x + 1000, y, x + 1500, y + 500)],
...     crs="EPSG:32648")
>>> area_by_zone(zones, communes)[["commune_id", "area_ha", "overlap_ha"]]
  commune_id  area_ha  overlap_ha
0          A     25.0         0.0
1          B     25.0        25.0
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoagri._dask_hook import ClusterRun, is_dask, on_cluster
from geoagri._engine.batches import Batch, zone_batches
from geoagri._engine.pages import small_pages
from geoagri._engine.pieces import REL_TOL, allocate, cut_once, overlap_pairs
from geoagri._engine.threads import n_threads
from geoagri._engine.union import (
    OverlapSets,
    home_region,
    overlap_sets,
    place_sets,
    sets_by_region,
)
from geoagri.boundaries import disjoint
from geoagri.crs import metric_crs
from geoagri.errors import GeoagriWarning, OptionError, SchemaError
from geoagri.hierarchy import LEVELS, assign_units, roll_up
from geoagri.validate import kind_of

__all__ = ["area_by_groupings", "area_by_zone"]

log = logging.getLogger("geoagri")

#: Default grouping per layer kind, when ``by`` is not given.
DEFAULT_BY = {"zones": ("zone_kind",), "models": ("season", "support"),
              "parcels": ("land_use",)}


def _default_by(zones: pd.DataFrame) -> tuple[str, ...]:
    """The columns a layer's kind is grouped by when ``by`` is not given."""
    return DEFAULT_BY.get(kind_of(zones, func="area_by_zone"), ())


@on_cluster(ClusterRun("table", default_by=_default_by, disjoint_communes=True))
def area_by_zone(
    zones: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    *,
    by: Sequence[str] | str | None = None,
    dissolve: bool = True,
    level: str = "commune",
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
    lineage: pd.DataFrame | None = None,
    threads: int | None = None,
    max_vertices: int = 32,
) -> pd.DataFrame:
    """Hectares of zones per commune (or district, province) and group.

    Parameters
    ----------
    zones : GeoDataFrame
        Polygons: a canonical ``zones``, ``models`` or ``parcels`` layer (or
        any polygon layer with the ``by`` columns).  Not modified.
    communes : GeoDataFrame
        Canonical communes (``commune_id``, ``commune_name``).  Not
        modified.  Where communes overlap each other, the overlap is counted
        in one commune only, the one whose ``commune_id`` sorts first (the
        lowest code; :func:`geoagri.boundaries.disjoint`), so that commune
        figures add up to the area of their union.
    by : str or sequence of str, optional
        Zone columns to group by.  Default by layer kind: zones →
        ``zone_kind``; models → ``season``, ``support``; parcels →
        ``land_use``; other layers → no grouping.  Missing values form their
        own group.
    dissolve : bool, default True
        Count area where zones of one group overlap once (``area_ha`` is the
        area of their union).  With ``False``, ``area_ha`` is the raw sum.
        ``overlap_ha`` is reported either way.
    level : {"village", "commune", "district", "province"}
        Unit of the rows.  With ``level="village"``, ``communes`` is a
        ``villages`` layer (``village_id``, ``village_name``, ``commune_id``)
        and the rows are villages.  Districts and provinces are grouped by official
        code (:func:`geoagri.hierarchy.assign_units`): from a
        ``district_code`` / ``province_code`` column, else from the
        official hierarchy of the communes' codes, else from the
        ``district`` / ``province`` names (resolved to codes within
        ``province``; a name that fits several units is an error), else, for
        ``level="province"``, the ``province`` given.  New (2025) communes
        (``era="new"``) roll up to the old districts through the lineage,
        area-weighted (``approximate`` where a commune spans districts).
    crs : CRS-like, optional
        Metric CRS to measure in; default :func:`geoagri.crs.metric_crs`
        (the province's VN-2000 zone when ``province`` is given, else UTM
        or a local transverse Mercator, within 0.1 % of geodesic areas).
    province, era : str, optional
        Province of the communes and era of their codes (``"old"``:
        before 1 July 2025, ``"new"``: after): choose the VN-2000 zone and
        name the units of the roll-ups.
    lineage : DataFrame, optional
        Lineage (:func:`geoagri.reform.lineage`) for new communes rolled up
        to old districts; default the official one.
    threads : int, optional
        Threads for the geometry work (default: up to 4, the CPU count).
    max_vertices : int, default 32
        Size of the commune pieces (see the module docstring).

    Returns
    -------
    DataFrame
        One row per unit × group with area: ``commune_id``, ``commune_name``
        (``district_code`` and ``district``, or ``province_code`` and
        ``province``, at those levels), the ``by`` columns,
        ``area_ha``, ``overlap_ha`` (area counted more than once by the raw
        zones of the group; removed from ``area_ha`` when ``dissolve``),
        ``<level>_share_pct`` (``area_ha`` as a share of the unit's area),
        and at those levels ``approximate`` (True where a commune's split
        between units is a guess).
        Zone area outside every commune is in rows whose unit is missing
        (NA), so totals are conserved.  ``attrs["metric_crs"]`` names the
        CRS measured in.

    Raises
    ------
    SchemaError
        If a ``by`` column or a column the level needs is missing, or the
        level is unknown.
    CRSError
        If a layer has no CRS.

    Examples
    --------
    >>> from geoagri.datasets import demo
    >>> plan = demo()
    >>> t = area_by_zone(plan["zones"], plan["communes"], level="district",
    ...                  province=plan.province)
    >>> round(float(t.loc[t["zone_kind"] == "linkage", "area_ha"].sum()))
    23865
    """
    if by is None:
        by = _default_by(zones)
    return area_by_groupings(zones, communes, [by], dissolve=dissolve, level=level, crs=crs,
                             province=province, era=era, lineage=lineage, threads=threads,
                             max_vertices=max_vertices)[0]


@small_pages()
def area_by_groupings(
    zones: gpd.GeoDataFrame,
    communes: gpd.GeoDataFrame,
    groupings: Sequence[Sequence[str] | str | None],
    *,
    dissolve: bool = True,
    level: str = "commune",
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
    lineage: pd.DataFrame | None = None,
    threads: int | None = None,
    max_vertices: int = 32,
) -> list[pd.DataFrame]:
    """:func:`area_by_zone` of one layer by several groupings, allocated to the communes once.

    Table ``k`` is ``area_by_zone(zones, communes, by=groupings[k], ...)``: the
    same rows, hectares within rounding (≈1e-13 relative per row; they are
    summed in another order).  The zones are cut by the communes once for all
    the groupings, and a grouping whose columns include those of an earlier
    one takes its overlapping pairs from that one's (zones of one group of
    the finer grouping are of one group of the coarser): an indicator by
    category and in all costs little more than one of them.  At the village level
    each grouping is measured on its own.

    Parameters
    ----------
    zones, communes
        As :func:`area_by_zone`, the zones in memory (a dask layer: call
        :func:`area_by_zone` once per grouping).
    groupings : sequence
        One ``by`` (as :func:`area_by_zone`'s) a table.
    dissolve, level, crs, province, era, lineage, threads, max_vertices
        As :func:`area_by_zone`.

    Returns
    -------
    list of DataFrame
        One table a grouping, in their order, as :func:`area_by_zone`'s.

    Raises
    ------
    OptionError
        If the zones are a dask layer or the level is unknown.
    SchemaError
        As :func:`area_by_zone`.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> x, y = 500_000, 1_200_000  # UTM 48N: 1 km² = 100 ha
    >>> communes = gpd.GeoDataFrame({"commune_id": ["A"], "commune_name": ["Xã A"]},
    ...                             geometry=[box(x, y, x + 1000, y + 1000)], crs="EPSG:32648")
    >>> parcels = gpd.GeoDataFrame(  # rice 50 ha and fruit 40 ha, overlapping on 20 ha
    ...     {"land_use": ["rice", "fruit"]},
    ...     geometry=[box(x, y, x + 500, y + 1000), box(x + 300, y, x + 700, y + 1000)],
    ...     crs="EPSG:32648")
    >>> whole, by_use = area_by_groupings(parcels, communes, [[], ["land_use"]])
    >>> whole["area_ha"].tolist(), by_use["area_ha"].tolist()
    ([70.0], [50.0, 40.0])
    """
    if is_dask(zones):
        raise OptionError("area_by_groupings takes a layer in memory; for a dask layer call "
                          "area_by_zone(zones, communes, by=..., client=...) once per grouping")
    if level == "village":
        return [_by_village(zones, communes, by=by, dissolve=dissolve, crs=crs,
                            province=province, era=era, threads=threads,
                            max_vertices=max_vertices) for by in groupings]
    if level not in LEVELS:
        raise OptionError(f"level={level!r}; use one of {', '.join(LEVELS)}")
    bys = [list(_default_by(zones)) if by is None else [by] if isinstance(by, str) else list(by)
           for by in groupings]
    for by in bys:
        missing = [c for c in by if c not in zones.columns]
        if missing:
            raise SchemaError(
                f"area_by_zone: the zones layer has no column(s) {missing} to group by; its "
                f"columns are {[c for c in zones.columns if c != 'geometry']}")
    missing = [c for c in ("commune_id", "commune_name") if c not in communes.columns]
    if missing:
        raise SchemaError(f"area_by_zone: the communes layer has no column(s) {missing}")
    units = (assign_units(communes, level, era=era, province=province, lineage=lineage)
             if level != "commune" else None)
    target = metric_crs(communes, crs=crs, province=province, era=era)
    nthreads = n_threads(threads)
    zgeoms = np.asarray(zones.geometry.to_crs(target).array, dtype=object)
    polygonal = np.isin(shapely.get_type_id(zgeoms), (3, 6))
    if not polygonal.all():
        warnings.warn(f"area_by_zone: {int((~polygonal).sum())} zone(s) are not polygons "
                      "(points, lines or empty) and have no area", GeoagriWarning, stacklevel=2)
    grouped = [_groups(zones, by) for by in bys]
    zi = np.flatnonzero(polygonal)
    zg = zgeoms[zi]
    zcodes = [codes[zi] for codes, _ in grouped]
    # a grouping whose columns include an earlier one's: its pairs are among that one's
    parents = [next((p for p in range(k) if set(bys[p]) <= set(bys[k])), None)
               for k in range(len(bys))]
    ngroups = [max(len(values), 1) for _, values in grouped]
    roots = [k for k in range(len(bys)) if parents[k] is None]
    # a large layer in batches of whole overlap neighbourhoods, one after the other: the
    # engine's working memory is a batch's, not the layer's (geoagri._engine.batches).
    # Two threads: the batches are formed, and the first one's overlaps searched, while
    # the communes are cut; a batch's overlaps are searched while the batch before is
    # allocated to the communes; the larger sets of overlapping zones while the pairs are
    # placed in communes.
    totals: list[tuple[int, np.ndarray, np.ndarray]] = []
    with ThreadPoolExecutor(1) as pool:
        formed = pool.submit(zone_batches, zg, [zcodes[k] for k in roots])
        search = _Search(pool, lambda: formed.result()[0], zg, zcodes, parents, roots,
                         threads=nthreads)
        cgeoms = disjoint(np.array(communes.geometry.to_crs(target).array, dtype=object),
                          communes["commune_id"].to_numpy(dtype=object), threads=nthreads)
        pieces = cut_once(cgeoms, max_vertices=max_vertices)
        batches = formed.result()
        for b in range(len(batches)):
            following = (_Search(pool, lambda b=b: batches[b + 1], zg, zcodes, parents,
                                 roots, threads=nthreads) if b + 1 < len(batches) else None)
            try:
                found = search.measure(cgeoms, pieces, ngroups)
            except BaseException:
                if following is not None:  # not searched for nothing before raising
                    following.found.cancel()
                raise
            totals = found if not totals else [
                (n0 + n1, r0 + r1, o0 + o1)
                for (n0, r0, o0), (n1, r1, o1) in zip(totals, found, strict=True)]
            search = following
    commune_area = shapely.area(cgeoms)
    out = []
    for k, by in enumerate(bys):
        n_pairs, raw_k, overlap_k = totals[k]
        overlap_k = np.clip(overlap_k, 0, raw_k)
        overlap_k[overlap_k <= REL_TOL * raw_k] = 0.0
        table = _table(raw_k - overlap_k if dissolve else raw_k, overlap_k, raw_k > 0, by,
                       grouped[k][1], communes, ngroups[k], commune_area, units, level)
        table.attrs = {"metric_crs": target.to_string(), "level": level, "dissolve": dissolve,
                       "by": tuple(by)}
        log.info("area_by_zone: %d zones, %d overlapping pairs, %d rows", len(zones),
                 n_pairs, len(table))
        out.append(table)
    return out


class _Search:
    """A batch of zones (``batch()``, taken on ``pool``'s thread), its overlaps searched there."""

    def __init__(self, pool: ThreadPoolExecutor, batch: Callable[[], Batch], zg: np.ndarray,
                 zcodes: Sequence[np.ndarray], parents: Sequence[int | None],
                 roots: Sequence[int], *, threads: int) -> None:
        self.threads = threads
        self.pairs: list[Future] = [Future() for _ in zcodes]
        self.zones: Future = Future()  # the batch's (geometries, codes), once taken
        self.found = pool.submit(self._search, batch, zg, zcodes, parents, roots)

    def _search(self, batch: Callable[[], Batch], zg: np.ndarray,
                zcodes: Sequence[np.ndarray], parents: Sequence[int | None],
                roots: Sequence[int]) -> list[tuple[int, OverlapSets]]:
        try:
            taken = batch()
        except BaseException as err:  # measure() raises it
            self.zones.set_exception(err)
            raise
        whole = taken.candidates is None
        bg = zg if whole else zg[taken.index]
        bcodes = zcodes if whole else [z[taken.index] for z in zcodes]
        candidates: list = [None] * len(zcodes)
        for k, pairs in zip(roots, taken.candidates or [None] * len(roots), strict=True):
            candidates[k] = pairs
        self.zones.set_result((bg, bcodes))
        return _overlaps(bg, bcodes, parents, threads=self.threads,
                         on_pairs=[p.set_result for p in self.pairs], candidates=candidates)

    def measure(self, cgeoms: np.ndarray, pieces: Any, ngroups: Sequence[int]
                ) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Per grouping, the batch's overlapping pairs, and its area and overlap (m²) by
        commune × group (flattened; the last commune is outside every commune)."""
        nc, threads = len(cgeoms), self.threads
        zg, zcodes = self.zones.result()
        g, c, a = allocate(zg, cgeoms, pieces, threads=threads)
        home = home_region(g, c, n=len(zg), n_regions=nc)
        placed: list = []
        for p in self.pairs:
            wait([p, self.found], return_when=FIRST_COMPLETED)
            first = p.result() if p.done() else None
            placed.append(None if first is None else
                          place_sets(first, cgeoms, pieces, home=home[first.used],
                                     threads=threads))
        overlaps = self.found.result()
        out = []
        for k, code in enumerate(zcodes):
            n_pairs, sets = overlaps[k]
            og, oc, oa = sets_by_region(sets, (g, c, a), cgeoms, pieces, home=home,
                                        placed=placed[k], threads=threads)
            size = (nc + 1) * ngroups[k]
            out.append((n_pairs,
                        np.bincount(c * ngroups[k] + code[g], weights=a, minlength=size),
                        np.bincount(oc * ngroups[k] + code[og], weights=oa, minlength=size)))
        return out


def _groups(zones: pd.DataFrame, by: Sequence[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """The group of each zone (codes) and the groups' values (a row a code)."""
    if len(by) == 1:  # one column: factorized as it is (missing values a group of their own)
        column = zones[by[0]].astype(object)
        codes, uniques = pd.factorize(column.where(column.notna(), None), use_na_sentinel=False)
        return codes, pd.DataFrame({by[0]: np.asarray(uniques, dtype=object)})
    if by:  # column by column, each pair of codes factorized again (no tuple per zone)
        codes = np.zeros(len(zones), dtype=np.int64)
        for col in by:
            column = zones[col].astype(object)
            c, u = pd.factorize(column.where(column.notna(), None), use_na_sentinel=False)
            codes, _ = pd.factorize(codes * max(len(u), 1) + c)
        first = np.zeros(int(codes.max()) + 1 if len(codes) else 0, dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # each group's first zone
        values = zones[by].iloc[first].astype(object)
        return codes, values.where(values.notna(), np.nan).reset_index(drop=True)
    return np.zeros(len(zones), dtype=int), pd.DataFrame(index=[0])


def _table(value: np.ndarray, overlap: np.ndarray, counted: np.ndarray, by: Sequence[str],
           group_values: pd.DataFrame, communes: pd.DataFrame, ngroups: int,
           commune_area: np.ndarray, units: pd.DataFrame | None, level: str) -> pd.DataFrame:
    """The rows of the cells (commune × group, m², flattened) ``counted``, at ``level``."""
    nc = len(commune_area)
    cells = np.flatnonzero(counted)
    ci, gk = np.divmod(cells, ngroups)
    out = pd.DataFrame({"_pos": ci})
    cid = communes["commune_id"].to_numpy(dtype=object)
    cname = communes["commune_name"].to_numpy(dtype=object)
    out["commune_id"] = pd.array([cid[k] if k < nc else pd.NA for k in ci], dtype=object)
    out["commune_name"] = [cname[k] if k < nc else None for k in ci]
    for col in by:
        out[col] = group_values[col].to_numpy(dtype=object)[gk]
    out["area_ha"] = value[cells] / 1e4
    out["overlap_ha"] = overlap[cells] / 1e4
    if level == "commune":
        share = np.where(ci < nc, value[cells] / np.r_[commune_area, np.nan][ci] * 100, np.nan)
        out["commune_share_pct"] = share
        return out.drop(columns="_pos")
    return roll_up(out.drop(columns=["commune_id", "commune_name"]), units, level=level,
                   by=by, commune_area=commune_area / 1e4)


def _overlaps(zones: np.ndarray, codes: Sequence[np.ndarray], parents: Sequence[int | None],
              *, threads: int, on_pairs: Sequence[Callable[[OverlapSets], object]],
              candidates: Sequence[tuple[np.ndarray, np.ndarray] | None]
              ) -> list[tuple[int, OverlapSets]]:
    """Per grouping, the overlapping pairs of same-group zones and their sets (needs no
    communes).  A grouping with a parent (a grouping its own refines) keeps the parent's
    pairs whose two zones are in one of its groups."""
    found: list[tuple] = []
    out = []
    for k, code in enumerate(codes):
        p = parents[k]
        if p is None:
            i, j, pair_area, flat = overlap_pairs(zones, code, threads=threads, flattened=True,
                                                  candidates=candidates[k])
        else:
            pi, pj, pa, flat = found[p]
            same = code[pi] == code[pj]
            i, j, pair_area = pi[same], pj[same], pa[same]
        found.append((i, j, pair_area, flat))
        out.append((len(i), overlap_sets(zones, i, j, pair_area, flattened=flat,
                                         threads=threads, on_pairs=on_pairs[k])))
    return out


def _by_village(zones: gpd.GeoDataFrame, villages: gpd.GeoDataFrame, **options: Any
                ) -> pd.DataFrame:
    """:func:`area_by_zone` with villages as the units (``level="village"``)."""
    need = ["village_id", "village_name", "commune_id"]
    missing = [c for c in need if c not in villages.columns]
    if missing:
        raise SchemaError(
            f"area_by_zone(level='village'): the villages layer has no column(s) {missing}; "
            "read it with read_layer(path, kind='villages', rename={...})")
    regions = gpd.GeoDataFrame(
        {"commune_id": villages["village_id"].to_numpy(dtype=object),
         "commune_name": villages["village_name"].to_numpy(dtype=object)},
        geometry=villages.geometry.to_numpy(), crs=villages.crs)
    t = area_by_zone(zones, regions, level="commune", **options)
    parent = dict(zip(villages["village_id"], villages["commune_id"], strict=True))
    t = t.rename(columns={"commune_id": "village_id", "commune_name": "village_name",
                          "commune_share_pct": "village_share_pct"})
    t.insert(2, "commune_id", [None if pd.isna(v) else parent[v] for v in t["village_id"]])
    t.attrs["level"] = "village"
    return t

