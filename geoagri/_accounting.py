"""Every feature accounted for: per layer, how many were read, used, repaired, lie
outside every commune, and were dropped (and why).

Nothing may vanish from a total without a line saying so.  Validation drops
nothing (a layer is valid whole or not at all) and records each repair;
features outside every commune are counted in no commune's row; an analysis
that leaves features out says which and why through ``dropped``.
:func:`feature_accounting` puts these together, one row per layer, for a
run's manifest.

Examples
--------
>>> import geopandas as gpd
>>> from shapely.geometry import box
>>> communes = gpd.GeoDataFrame({"commune_id": ["1"]},
...     geometry=[box(0, 0, 1000, 1000)], crs="EPSG:32648")
>>> zones = gpd.GeoDataFrame({"zone_id": ["Z1", "Z2"]},
...     geometry=[box(0, 0, 10, 10), box(5000, 0, 5010, 10)], crs="EPSG:32648")
>>> t = feature_accounting({"communes": communes, "zones": zones},
...                        {"communes": "communes", "zones": "zones"})
>>> t.loc["zones", ["read", "used", "outside_communes", "dropped"]].tolist()
[2, 2, 1, 0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoagri.errors import SchemaError
from geoagri.schema import spec
from geoagri.validate import communes_land, repairs

__all__ = ["COLUMNS", "feature_accounting"]

#: Columns of the table :func:`feature_accounting` returns (index: ``layer``).
COLUMNS = ["kind", "read", "used", "repaired", "outside_communes", "dropped", "why"]

#: How many ids a ``why`` entry lists before it says "and N more".
_IDS_SHOWN = 5


def _ids_of(frame: pd.DataFrame, kind: str | None) -> list[str]:
    """Each feature's id (validated layers have one), or ``row N`` when the kind has none."""
    idc = spec(kind).id_column if kind else None
    if idc and idc in frame.columns:
        return [str(v) for v in frame[idc]]
    return [f"row {i}" for i in range(len(frame))]


def _outside(frame: gpd.GeoDataFrame, land: Any, mcrs: Any) -> int:
    """Features that touch no commune (null and empty geometries are not outside)."""
    geoms = np.asarray(frame.geometry.to_crs(mcrs).values, dtype=object)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    return int((present & ~shapely.intersects(land, geoms)).sum())


def _why(reasons: Mapping[str, Sequence[str]]) -> str:
    parts = []
    for reason, ids in reasons.items():
        shown = ", ".join(str(i) for i in list(ids)[:_IDS_SHOWN])
        more = len(ids) - _IDS_SHOWN
        parts.append(f"{reason}: {len(ids)} ({shown}{f' and {more} more' if more > 0 else ''})")
    return "; ".join(parts)


def feature_accounting(
    layers: Mapping[str, pd.DataFrame],
    kinds: Mapping[str, str],
    *,
    dropped: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
    crs: Any = None,
    province: str | None = None,
    era: str = "old",
) -> pd.DataFrame:
    """One row per layer: features read, used, repaired, outside every commune, dropped.

    Parameters
    ----------
    layers : mapping of str to (Geo)DataFrame
        The plan's canonical layers by name (``plan.layers``).
    kinds : mapping of str to str
        Each layer's kind (``{n: plan.sources[n].kind for n in plan.layers}``).
    dropped : mapping, optional
        What the analyses left out: layer → reason → ids of the features, e.g.
        ``{"zones": {"no crop": ["Z7"]}}``.  A feature given under several
        reasons is dropped once.
    crs, province, era :
        The plan's metric CRS setting (see :func:`geoagri.crs.metric_crs`), in
        which "outside every commune" is decided.

    Returns
    -------
    DataFrame
        Indexed by ``layer``, columns :data:`COLUMNS`: ``read`` (features in
        the layer as read and validated), ``used`` (read − dropped),
        ``repaired`` (geometries repaired by validation, still used),
        ``outside_communes`` (features touching no commune: counted in no
        commune's row but in the "outside" rows of the tables; ``<NA>`` for
        tables, the communes themselves, or a plan without exactly one
        communes layer), ``dropped`` and ``why`` ("reason: n (ids)").

    Raises
    ------
    SchemaError
        If ``dropped`` names a layer the plan does not have, or ids that are
        not in that layer.
    """
    dropped = dict(dropped or {})
    unknown = sorted(set(dropped) - set(layers))
    if unknown:
        raise SchemaError(f"dropped names layer(s) {unknown} that are not among the plan's "
                          f"layers {list(layers)}")
    ref = [n for n in layers if kinds.get(n) == "communes"]
    land = mcrs = None
    if len(ref) == 1 and len(layers[ref[0]]):
        from geoagri.crs import metric_crs

        mcrs = metric_crs(layers[ref[0]], crs=crs, province=province, era=era)
        land = communes_land(layers[ref[0]], mcrs)
    rows = []
    for name, frame in layers.items():
        kind = kinds.get(name)
        reasons = {r: list(dict.fromkeys(v)) for r, v in dropped.get(name, {}).items()}
        gone = {str(i) for v in reasons.values() for i in v}
        # the layer's ids are listed only when some are dropped (200,000 parcels, none dropped)
        strangers = sorted(gone - set(_ids_of(frame, kind))) if gone else []
        if strangers:
            raise SchemaError(f"dropped names id(s) {strangers[:_IDS_SHOWN]} that layer "
                              f"'{name}' does not have")
        spatial = isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None
        outside = (_outside(frame, land, mcrs) if land is not None and spatial
                   and name not in ref else pd.NA)
        rows.append({"layer": name, "kind": kind, "read": len(frame),
                     "used": len(frame) - len(gone), "repaired": len(repairs(frame)),
                     "outside_communes": outside, "dropped": len(gone), "why": _why(reasons)})
    table = pd.DataFrame(rows, columns=["layer", *COLUMNS]).set_index("layer")
    return table.astype({"read": int, "used": int, "repaired": int, "dropped": int,
                         "outside_communes": "Int64"})
