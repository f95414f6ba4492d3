"""geoagri.distributed: the analyses on a 2-worker LocalCluster equal the in-memory ones.

Small hand-made data in UTM 48N (1 km² = 100 ha): 12 communes of 1 km (one of
them an L-shape, with a hole between communes), 600 parcels, some overlapping
within their crop, some crossing commune borders (and the borders between
commune partitions), some partly or wholly outside every commune, some with
no crop.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask_geopandas")
distributed_pkg = pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import dask_geopandas  # noqa: E402
import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402
from shapely.geometry import Point, box  # noqa: E402

from geoagri import distributed  # noqa: E402
from geoagri._engine import partition as _partition  # noqa: E402
from geoagri.area import area_by_zone  # noqa: E402
from geoagri.coverage import coverage, gaps  # noqa: E402
from geoagri.errors import GeoagriError, SchemaError  # noqa: E402
from geoagri.io import read_partitioned  # noqa: E402

CRS = "EPSG:32648"
X0, Y0 = 500_000.0, 1_200_000.0
RTOL = 1e-9


@pytest.fixture(scope="module")
def client():
    cluster = distributed_pkg.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, scheduler_port=0, worker_dashboard_address=None)
    c = distributed_pkg.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


@pytest.fixture(scope="module")
def communes():
    geoms, ids = [], []
    for j in range(3):
        for i in range(4):
            if (i, j) in ((3, 2),):  # a hole in the layer: outside every commune
                continue
            geoms.append(box(X0 + i * 1000, Y0 + j * 1000, X0 + (i + 1) * 1000,
                             Y0 + (j + 1) * 1000))
            ids.append(f"C{j}{i}")
    # an L-shaped commune east of the grid
    geoms.append(shapely.union(box(X0 + 4000, Y0, X0 + 5000, Y0 + 2000),
                               box(X0 + 5000, Y0, X0 + 6000, Y0 + 1000)))
    ids.append("CL")
    return gpd.GeoDataFrame(
        {"commune_id": ids, "commune_name": [f"Xã {c}" for c in ids],
         "district": ["D1" if int(c[1:2] == "0" or c == "CL") else "D2" for c in ids]},
        geometry=geoms, crs=CRS)


@pytest.fixture(scope="module")
def parcels():
    rng = np.random.default_rng(7)
    n = 560
    x = X0 - 300 + rng.random(n) * 6800
    y = Y0 - 300 + rng.random(n) * 3600
    w = 40 + rng.random(n) * 260
    h = 40 + rng.random(n) * 260
    geoms = list(shapely.box(x, y, x + w, y + h))
    crop = rng.choice(np.array(["rice", "fruit", "shrimp"], dtype=object), n)
    crop[rng.random(n) < 0.05] = None
    # overlapping copies and shifted copies of the same crop
    k = rng.choice(n, 40, replace=False)
    geoms += [shapely.affinity.translate(geoms[i], 30, 20) for i in k]
    crop = np.r_[crop, crop[k]]
    # large zones crossing many communes (and commune partitions), overlapping each other
    geoms += [box(X0 + 200, Y0 + 400, X0 + 5600, Y0 + 700),
              box(X0 + 900, Y0 + 100, X0 + 1300, Y0 + 2900),
              box(X0 + 3500, Y0 + 1800, X0 + 4600, Y0 + 3400)]
    crop = np.r_[crop, ["rice", "rice", "fruit"]]
    geoms.append(box(X0 - 900, Y0 - 900, X0 - 500, Y0 - 500))  # wholly outside
    crop = np.r_[crop, ["rice"]]
    frame = gpd.GeoDataFrame({"parcel_id": [f"P{i}" for i in range(len(geoms))],
                              "crop": pd.Series(crop, dtype=object)},
                             geometry=geoms, crs=CRS)
    return frame


@pytest.fixture(scope="module")
def service():
    pumps = gpd.GeoDataFrame(
        {"pump_id": ["T1", "T2", "T3", "T4"],
         "status": ["operating", "operating", "planned", "operating"]},
        geometry=[Point(X0 + 500, Y0 + 500), Point(X0 + 3100, Y0 + 1500),
                  Point(X0 + 2000, Y0 + 2000), Point(X0 + 5500, Y0 + 500)], crs=CRS)
    power = gpd.GeoDataFrame(
        {"power_id": ["L1", "L2"], "element": ["line", "line"], "phases": [3, 3]},
        geometry=[shapely.LineString([(X0, Y0 + 1500), (X0 + 6000, Y0 + 1700)]),
                  shapely.LineString([(X0 + 2500, Y0), (X0 + 2600, Y0 + 3000)])], crs=CRS)
    canals = gpd.GeoDataFrame(
        {"canal_id": ["K1", "K2"]},
        geometry=[shapely.LineString([(X0 + 3100, Y0 + 1500), (X0 + 3100, Y0 + 100)]),
                  shapely.LineString([(X0 + 1000, Y0 + 1000), (X0 + 4000, Y0 + 1000)])],
        crs=CRS)
    return {"pumps": pumps, "pump_radius_m": 400.0, "power": power, "power_reach_m": 150.0,
            "canals": canals, "canal_reach_m": 100.0, "network_reach_m": 900.0}


def _dask(frame, npartitions=3):
    with dask.config.set({"dataframe.convert-string": False}):
        return dask_geopandas.from_geopandas(frame, npartitions=npartitions)


def _assert_same_table(got: pd.DataFrame, ref: pd.DataFrame) -> None:
    """Same rows in the same order, columns, dtypes and attrs; numbers to 1e-9 relative."""
    assert list(got.columns) == list(ref.columns)
    assert got.dtypes.to_dict() == ref.dtypes.to_dict()
    assert got.attrs == ref.attrs
    assert len(got) == len(ref)
    num = [c for c in ref.columns if pd.api.types.is_float_dtype(ref[c])]
    other = [c for c in ref.columns if c not in num and c != "geometry"]
    pd.testing.assert_frame_equal(got[other].reset_index(drop=True),
                                  ref[other].reset_index(drop=True))
    for c in num:
        a, b = got[c].to_numpy(float), ref[c].to_numpy(float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        ok = ~np.isnan(b)
        np.testing.assert_allclose(a[ok], b[ok], rtol=RTOL, atol=1e-9, err_msg=c)


def test_the_data_exercises_partition_borders(parcels, communes):
    """The test data is not trivial: parcels cross commune partitions, some lie outside."""
    parts = _partition.partition_communes(np.asarray(communes.geometry.array), npartitions=4)
    per, outside = _partition.route(np.asarray(parcels.geometry.array), parts)
    hits = np.bincount(np.concatenate(per), minlength=len(parcels))
    assert (hits >= 2).sum() > 20          # parcels sent to two partitions or more
    # every parcel with area outside the communes is flagged, and no parcel well inside
    union = shapely.union_all(communes.geometry.array)
    geoms = np.asarray(parcels.geometry.array)
    partly_out = np.flatnonzero(shapely.area(shapely.difference(geoms, union)) > 0)
    assert len(partly_out) > 5
    assert set(partly_out) <= set(outside.tolist())
    assert not shapely.contains_properly(union, geoms[outside]).any()
    ref = area_by_zone(parcels, communes, by="crop")
    assert ref["commune_id"].isna().any()
    assert (ref["overlap_ha"] > 0).sum() > 5
    assert ref["crop"].isna().any()


@pytest.mark.parametrize("dissolve", [True, False])
def test_area_by_zone_equals_in_memory(client, parcels, communes, dissolve):
    ref = area_by_zone(parcels, communes, by="crop", dissolve=dissolve)
    got = area_by_zone(_dask(parcels), communes, by="crop", dissolve=dissolve,
                                   client=client, npartitions=4)
    _assert_same_table(got, ref)
    # totals conserved, overlaps found across partitions
    assert got["area_ha"].sum() == pytest.approx(ref["area_ha"].sum(), rel=RTOL)
    assert got["overlap_ha"].sum() > 1


def test_several_groupings_of_a_dask_layer_are_refused_with_the_way_round(parcels, communes):
    from geoagri.area import area_by_groupings
    from geoagri.errors import OptionError

    with pytest.raises(OptionError, match=r"in memory; for a dask layer call area_by_zone"):
        area_by_groupings(_dask(parcels), communes, [[], ["land_use"]])


def test_area_by_zone_hook_district_level_and_default_client(client, parcels, communes):
    ddf = _dask(parcels, npartitions=2)
    ref = area_by_zone(parcels, communes, by=["crop"], level="district")
    got = area_by_zone(ddf, communes, by=["crop"], level="district")  # dispatches to dask
    _assert_same_table(got, ref)


def test_overlapping_communes_counted_once_as_in_memory(client, parcels, communes):
    # every commune grown by 30 m: neighbours overlap; each overlap goes to the lowest code
    grown = communes.assign(geometry=communes.geometry.buffer(30))
    ref = area_by_zone(parcels, grown, by="crop")
    got = area_by_zone(_dask(parcels), grown, by="crop", client=client,
                                   npartitions=4)
    _assert_same_table(got, ref)
    plain = area_by_zone(parcels, communes, by="crop")
    assert got["area_ha"].sum() == pytest.approx(plain["area_ha"].sum(), rel=RTOL)


def test_area_by_zone_kind_default_grouping_and_many_partitions(client, parcels, communes):
    layer = parcels.rename(columns={"crop": "land_use"})
    layer.attrs["geoagri"] = {"kind": "parcels"}
    ref = area_by_zone(layer, communes)
    assert "land_use" in ref.columns
    got = area_by_zone(_dask(layer, 5), communes, client=client, npartitions=12)
    _assert_same_table(got, ref)


def test_coverage_by_district_equals_in_memory(client, parcels, communes, service):
    ref = coverage(parcels, communes, by="crop", level="district", **service)
    assert "district" in ref.columns and "commune_id" not in ref.columns
    got = coverage(_dask(parcels), communes, by="crop", level="district", **service)
    _assert_same_table(got, ref)


def test_coverage_equals_in_memory(client, parcels, communes, service):
    ref = coverage(parcels, communes=communes, by="crop", **service)
    assert ref["pump_ha"].sum() > 0 and ref["power_ha"].sum() > 0
    got = coverage(_dask(parcels), communes=communes, by="crop", **service)
    _assert_same_table(got, ref)
    got = coverage(parcels, communes=communes, client=client, npartitions=5,
                               **{**service, "canals": None, "canal_reach_m": None,
                                  "network_reach_m": None})
    ref = coverage(parcels, communes=communes, **{**service, "canals": None,
                                                  "canal_reach_m": None,
                                                  "network_reach_m": None})
    _assert_same_table(got, ref)


def test_gaps_equals_in_memory(client, parcels, communes, service):
    ref = gaps(parcels, communes=communes, by="crop", **service)
    got = gaps(_dask(parcels), communes=communes, by="crop", client=client,
                           npartitions=4, **service)
    assert isinstance(got, gpd.GeoDataFrame)
    assert got.crs == ref.crs
    _assert_same_table(got, ref)
    assert set(ref["missing"]) == {"pump", "power", "both"}
    assert ref["commune_id"].isna().any()
    # the same ground, polygon by polygon
    diff = shapely.area(shapely.symmetric_difference(got.geometry.array, ref.geometry.array))
    assert float(diff.max()) < 1e-6


def test_read_partitioned_geoparquet_and_geopackage(client, parcels, communes, tmp_path):
    from geoagri.io import read_layer

    parcels.to_parquet(tmp_path / "parcels.parquet", row_group_size=160)
    parcels.to_file(tmp_path / "parcels.gpkg", layer="parcels", driver="GPKG")
    for path, kw in ((tmp_path / "parcels.parquet", {}),
                     (tmp_path / "parcels.gpkg", {"layer": "parcels", "chunksize": 200})):
        ddf = read_partitioned(path, kind="parcels", **kw)
        assert ddf.npartitions == 4
        mem = read_layer(path, kind="parcels", layer=kw.get("layer"))
        ref = area_by_zone(mem, communes, by="crop")
        got = area_by_zone(ddf, communes, by="crop")
        _assert_same_table(got, ref)


def _leaves(obj):
    if isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _leaves(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _leaves(o)
    else:
        yield obj


def test_the_client_receives_result_rows_only(client, parcels, communes, service, tmp_path,
                                              monkeypatch):
    """No parcel travels to the client: it gathers result rows, and scatters the communes.

    Every ``Client.gather`` (``compute``, ``gather``, ``get`` all end there) and
    ``Client.scatter`` of the client process is recorded while the parcels are
    read partition by partition on the workers.
    """
    gathered, scattered = [], []
    real_gather, real_scatter = distributed_pkg.Client.gather, distributed_pkg.Client.scatter

    def gather(self, futures, *args, **kwargs):
        out = real_gather(self, futures, *args, **kwargs)
        gathered.extend(_leaves(out))
        return out

    def scatter(self, data, *args, **kwargs):
        scattered.extend(_leaves(data))
        return real_scatter(self, data, *args, **kwargs)

    monkeypatch.setattr(distributed_pkg.Client, "gather", gather)
    monkeypatch.setattr(distributed_pkg.Client, "scatter", scatter)
    parcels.to_parquet(tmp_path / "parcels.parquet", row_group_size=100)
    ddf = read_partitioned(tmp_path / "parcels.parquet")
    assert ddf.npartitions == -(-len(parcels) // 100)
    for run in (lambda: area_by_zone(ddf, communes, by="crop", client=client,
                                                 npartitions=4),
                lambda: coverage(ddf, communes=communes, by="crop",
                                             client=client, npartitions=4, **service)):
        gathered.clear()
        scattered.clear()
        got = run()
        frames = [o for o in gathered if isinstance(o, pd.DataFrame)]
        assert frames
        for o in gathered:
            assert not isinstance(o, (gpd.GeoDataFrame, gpd.GeoSeries, shapely.Geometry))
            assert not isinstance(o, np.ndarray) or o.dtype != object
        for f in frames:
            assert distributed._ROW not in f.columns
            assert not any(isinstance(t, gpd.array.GeometryDtype) for t in f.dtypes)
        # the rows of the result, each once: nothing per parcel
        assert sum(len(f) for f in frames) == len(got) < len(parcels)
        assert scattered and all(isinstance(o, _partition.CommunePartitions)
                                 for o in scattered)


def test_errors_are_raised_before_any_work(client, parcels, communes):
    with pytest.raises(SchemaError, match=r"no column.*'cultivar'"):
        area_by_zone(_dask(parcels), communes, by="cultivar", client=client)
    with pytest.raises(GeoagriError, match="power is given without power_reach_m"):
        coverage(_dask(parcels), communes=communes, client=client,
                 power=gpd.GeoDataFrame({"element": [], "phases": []}, geometry=[], crs=CRS))
    with pytest.raises(GeoagriError, match=r"unknown option.*'radius_m'"):
        gaps(_dask(parcels), communes=communes, client=client, radius_m=5)
    with pytest.raises(SchemaError, match="dask-geopandas GeoDataFrame, got list"):
        area_by_zone([1, 2], communes, client=client)


def _failing_partition(frame):
    raise OSError("parcels part-0001.parquet: corrupt row group")


def _slow_partition(frame, marker):
    """Sleep on the first attempt (writing the worker's pid), so it can be killed."""
    marker = Path(marker)
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        time.sleep(4)
    return frame


def _from_parts(parts, meta):
    return dd.from_delayed(parts, meta=meta)


def test_a_failing_task_raises_and_returns_nothing(client, parcels, communes):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    meta = parcels.iloc[:0]
    good = dask.delayed(lambda f: f)(parcels.iloc[:300])
    bad = dask.delayed(_failing_partition)(parcels.iloc[300:])
    ddf = _from_parts([good, bad], meta)
    result = None
    with pytest.raises(distributed.ClusterError,
                       match=r"(?s)area_by_zone: the run on the dask cluster failed.*"
                             r"corrupt row group.*No result was returned"):
        result = area_by_zone(ddf, communes, by="crop", client=client)
    assert result is None


def test_a_killed_worker_is_retried_and_the_result_is_whole(client, parcels, communes,
                                                            tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    marker = tmp_path / "pid"
    meta = parcels.iloc[:0]
    parts = [dask.delayed(_slow_partition)(parcels.iloc[:300], str(marker)),
             dask.delayed(lambda f: f)(parcels.iloc[300:])]
    ddf = _from_parts(parts, meta)
    worker_pids = set(client.run(os.getpid).values())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(area_by_zone, ddf, communes, by="crop",
                             client=client)
        deadline = time.time() + 30
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.05)
        pid = int(marker.read_text())
        assert pid in worker_pids  # only ever kill a worker this test started
        os.kill(pid, signal.SIGKILL)
        got = future.result(timeout=90)
    ref = area_by_zone(parcels, communes, by="crop")
    _assert_same_table(got, ref)
    client.wait_for_workers(2, timeout=30)
