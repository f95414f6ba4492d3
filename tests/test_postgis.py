"""PostGIS round trip against a real server (GEOAGRI_TEST_POSTGRES), and its errors.

CI starts a server with .ci/postgis.sh and sets GEOAGRI_TEST_POSTGRES, e.g.
``postgresql://postgres@127.0.0.1:54329/geoagri_test``.
"""

from __future__ import annotations

import os
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from geoagri.errors import CRSError, GeoagriError
from geoagri.export import export_layers
from geoagri.validate import canonicalize

psycopg = pytest.importorskip("psycopg", reason="PostGIS support needs psycopg "
                              "(pip install 'psycopg[binary]')")

from geoagri.io.postgis import (  # noqa: E402 (after the importorskip)
    list_tables,
    read_postgis,
    read_table_as_frame,
    redact_dsn,
    write_tables,
)

DSN = os.environ.get("GEOAGRI_TEST_POSTGRES")
needs_server = pytest.mark.skipif(
    not DSN, reason="GEOAGRI_TEST_POSTGRES is not set: no PostGIS server to test against "
    "(CI starts one with .ci/postgis.sh; locally: . .ci/postgis.sh && postgis_start)")

VN2000 = "EPSG:9210"
COOPS = ["HTX Nông nghiệp Tuyên Bình Tây", "HTX Hưng Điền A", "THT Thị trấn Vĩnh Hưng"]


@pytest.fixture
def layers() -> dict[str, pd.DataFrame]:
    """Canonical zones (100, 200, 50 ha in VN-2000), mixed works and a targets table."""
    x0, y0 = 500_000, 1_200_000
    zones = canonicalize(gpd.GeoDataFrame(
        {"zone_id": ["LK01", "LK02", "VSX1"], "zone_kind": ["linkage", "linkage", "production"],
         "cooperative": COOPS, "start_year": [2021, None, 2023]},
        geometry=[box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 1000, y0, x0 + 3000, y0 + 1000),
                  box(x0 + 3000, y0, x0 + 3500, y0 + 1000)], crs=VN2000), "zones")
    works = canonicalize(gpd.GeoDataFrame(
        {"work_id": ["T01", "T02"], "work_type": ["kênh", "cống"],
         "status": ["hoàn thành", "thi công"], "name": ["Kênh trục 2", "Cống Rạch Đá"],
         "cost_vnd": [4.2e9, np.nan]},
        geometry=[LineString([(x0, y0), (x0 + 1500, y0 + 500)]), Point(x0 + 10, y0 + 20)],
        crs=VN2000), "works")
    targets = canonicalize(pd.DataFrame(
        {"indicator": ["linkage_area"], "unit": ["ha"], "scope": ["district"],
         "scope_id": ["Huyện Vĩnh Hưng"], "year": [2025], "source": ["nghị quyết"],
         "target": [21227.0], "source_ref": ["NQ 36/NQ-HĐND ngày 30/6/2022"]}), "targets")
    return {"zones": zones, "works": works, "targets": targets}


@pytest.fixture
def schema():
    """A fresh schema per test, dropped afterwards."""
    name = f"geoagri_test_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@needs_server
def test_round_trip(layers, schema):
    written = export_layers(layers, DSN, schema=schema)
    assert written == {n: f"{schema}.{n}" for n in layers}
    assert list_tables(DSN, schema=schema) == ["targets", "works", "zones"]
    for name, kind in [("zones", "zones"), ("works", "works"), ("targets", "targets")]:
        back = read_postgis(DSN, layer=name, schema=schema, kind=kind)
        src = layers[name]
        pd.testing.assert_frame_equal(pd.DataFrame(back).drop(columns="geometry", errors="ignore"),
                                      pd.DataFrame(src).drop(columns="geometry", errors="ignore"))
        if kind != "targets":
            assert back.crs.to_epsg() == 9210
            assert back.geometry.geom_equals_exact(src.geometry, 0).all()
    zones = read_postgis(DSN, layer="zones", schema=schema, kind="zones")
    np.testing.assert_allclose(zones.area / 1e4, [100, 200, 50], rtol=1e-12)
    assert zones["cooperative"].tolist() == COOPS


@needs_server
def test_raw_frame_and_table_definition(layers, schema):
    export_layers(layers, DSN, schema=schema)
    raw = read_table_as_frame(DSN, layer="works", schema=schema)
    assert isinstance(raw, gpd.GeoDataFrame) and raw.geometry.name == "geometry"
    assert raw.crs.to_epsg() == 9210
    table = read_table_as_frame(DSN, layer="targets", schema=schema)
    assert type(table) is pd.DataFrame and table.loc[0, "scope_id"] == "Huyện Vĩnh Hưng"
    with psycopg.connect(DSN) as conn:
        rows = conn.execute(
            "SELECT f_table_name, f_geometry_column, srid, type FROM geometry_columns "
            "WHERE f_table_schema = %s ORDER BY 1", (schema,)).fetchall()
        key = conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indisprimary AND i.indrelid = %s::regclass",
            (f'"{schema}".zones',)).fetchone()
    assert rows == [("works", "geom", 9210, "GEOMETRY"), ("zones", "geom", 9210, "POLYGON")]
    assert key == ("zone_id",)


@needs_server
def test_replace_fail_and_rollback(layers, schema):
    export_layers(layers, DSN, schema=schema)
    fewer = {"zones": layers["zones"].iloc[:1]}
    export_layers(fewer, DSN, schema=schema)  # replace
    assert len(read_table_as_frame(DSN, layer="zones", schema=schema)) == 1
    with pytest.raises(GeoagriError, match=r"exist already.*if_exists='replace'"):
        export_layers(layers, DSN, schema=schema, if_exists="fail")
    # a failure on the last layer rolls back the whole export
    bad = layers["works"].assign(extra=[{"a": 1}, {"b": 2}])
    with pytest.raises(GeoagriError, match="'extra' holds dict values"):
        export_layers({"zones": layers["zones"], "works": bad}, DSN, schema=schema)
    assert len(read_table_as_frame(DSN, layer="zones", schema=schema)) == 1


@needs_server
def test_missing_table_lists_tables(layers, schema):
    export_layers(layers, DSN, schema=schema)
    with pytest.raises(GeoagriError, match=r"no table .*\.zonez.*\['targets', 'works', 'zones'\]"):
        read_table_as_frame(DSN, layer="zonez", schema=schema)


@needs_server
def test_layer_without_crs(layers, schema):
    no_crs = layers["zones"].set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        write_tables({"zones": no_crs}, DSN, schema=schema)


def test_unreachable_server_message_hides_password():
    dsn = "postgresql://planner:s3cret-pw@127.0.0.1:9/nong_nghiep"
    with pytest.raises(GeoagriError) as info:
        read_table_as_frame(dsn, layer="zones")
    message = str(info.value)
    assert "127.0.0.1:9" in message and "nong_nghiep" in message and "Fix:" in message
    assert "s3cret-pw" not in message and "planner:***@" in message


def test_redact_dsn():
    assert redact_dsn("postgres://a:b@h/d") == "postgres://a:***@h/d"
    assert redact_dsn("postgresql://a@h/d") == "postgresql://a@h/d"
    assert redact_dsn("password='x y' host=h") == "password=*** host=h"


@needs_server
def test_read_layer_from_postgis(layers, schema):
    """geoagri.io.read_layer("postgresql://…", kind=..., layer="schema.table")."""
    from geoagri.io import read_layer

    export_layers(layers, DSN, schema=schema)
    zones = read_layer(DSN, kind="zones", layer=f"{schema}.zones")
    assert zones["cooperative"].tolist() == COOPS and zones.crs.to_epsg() == 9210
    np.testing.assert_allclose(zones.area / 1e4, [100, 200, 50], rtol=1e-12)
    assert zones.attrs["geoagri"]["source"].endswith(f"#{schema}.zones")
    with pytest.raises(GeoagriError, match="name the table with layer="):
        read_layer(DSN, kind="zones")
