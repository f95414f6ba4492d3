"""PostGIS tables: write layers as tables, read a table back as a frame.

:func:`write_tables` (called by :func:`geoagri.export.export_layers` for a
``postgresql://`` target) writes each layer as one table, in one transaction:
a failure leaves the database as it was.  A spatial layer's geometry goes
into a ``geom`` column typed ``geometry(<type>, <srid>)`` with a GiST index;
the layer's id column becomes the primary key.  :func:`read_table_as_frame`
reads a table back raw (a GeoDataFrame with its CRS, or a DataFrame for a
table without geometry); :func:`read_postgis` also makes it canonical.

The driver is psycopg 3 (``pip install "psycopg[binary]"``), imported only
when a function here is called.  Geometry travels as (E)WKB.

Examples
--------
>>> redact_dsn("postgresql://planner:s3cret@db.example.vn:5432/nong_nghiep")
'postgresql://planner:***@db.example.vn:5432/nong_nghiep'
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geoagri.errors import CRSError, GeoagriError
from geoagri.schema import KINDS, spec

if TYPE_CHECKING:  # pragma: no cover
    import psycopg

__all__ = [
    "CONNECT_TIMEOUT_S",
    "list_tables",
    "read_postgis",
    "read_table_as_frame",
    "redact_dsn",
    "write_tables",
]

log = logging.getLogger("geoagri")

#: Seconds to wait for the server before saying it cannot be reached.
CONNECT_TIMEOUT_S = 10

#: Name of the geometry column of the tables written here.
GEOMETRY_COLUMN = "geom"

_IF_EXISTS = ("replace", "fail")
_INT_TYPES = {"smallint", "integer", "bigint"}
_FLOAT_TYPES = {"real", "double precision"}


def redact_dsn(dsn: str) -> str:
    """The DSN with its password replaced by ``***`` (for messages and logs).

    Examples
    --------
    >>> redact_dsn("host=127.0.0.1 port=5432 password=abc dbname=x")
    'host=127.0.0.1 port=5432 password=*** dbname=x'
    >>> redact_dsn("postgresql://u@h/db?password=abc&sslmode=disable")
    'postgresql://u@h/db?password=***&sslmode=disable'
    """
    out = re.sub(r"^(postgres(?:ql)?://[^:/@?]*:)[^@/?]*@", r"\1***@", dsn, flags=re.I)
    out = re.sub(r"([?&]password=)[^&]*", r"\1***", out, flags=re.I)
    return re.sub(r"(^|\s)(password\s*=\s*)('[^']*'|\S+)", r"\1\2***", out, flags=re.I)


def _psycopg() -> Any:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - depends on the environment
        raise GeoagriError(
            "PostGIS needs the psycopg driver: pip install \"psycopg[binary]\"") from None
    return psycopg


def _where(dsn: str) -> dict[str, str]:
    """host, port, dbname and user of a DSN (libpq defaults where absent)."""
    psycopg = _psycopg()
    try:
        params = psycopg.conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as err:
        raise GeoagriError(
            f"not a valid PostgreSQL address {redact_dsn(dsn)!r}: {_clean(str(err), dsn)}; "
            "write it as postgresql://user[:password]@host:port/database") from None
    return {"host": str(params.get("host") or "localhost"),
            "port": str(params.get("port") or "5432"),
            "dbname": str(params.get("dbname") or params.get("user") or "postgres"),
            "user": str(params.get("user") or "(your login name)")}


def _clean(message: str, dsn: str) -> str:
    """An error message without the password, on one line."""
    psycopg = _psycopg()
    try:
        password = psycopg.conninfo.conninfo_to_dict(dsn).get("password")
    except psycopg.ProgrammingError:
        password = None
    if password:
        message = message.replace(str(password), "***")
    return " ".join(redact_dsn(message).split())


@contextmanager
def _connect(dsn: str) -> Iterator[psycopg.Connection]:
    """A connection in one transaction (committed on success, rolled back on error)."""
    psycopg = _psycopg()
    where = _where(dsn)
    try:
        conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_S,
                               application_name="geoagri")
    except psycopg.OperationalError as err:
        raise GeoagriError(
            f"cannot connect to PostgreSQL at {where['host']}:{where['port']} (database "
            f"{where['dbname']!r}, user {where['user']!r}; address "
            f"{redact_dsn(dsn)!r}): {_clean(str(err), dsn)}. Fix: check that the server is "
            f"running and accepts TCP connections on {where['host']}:{where['port']} "
            "(listen_addresses and port in postgresql.conf, pg_hba.conf for this user and "
            "address), that the database exists (createdb), and that the user name and "
            "password are right") from None
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def _table_exists(cur: Any, schema: str, table: str) -> bool:
    cur.execute(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r','v','m','p','f')",
        (schema, table))
    return cur.fetchone() is not None


def _tables(cur: Any, schema: str) -> list[str]:
    cur.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
        "AND table_name NOT IN ('spatial_ref_sys', 'geometry_columns', 'geography_columns') "
        "ORDER BY table_name", (schema,))
    return [r[0] for r in cur.fetchall()]


def list_tables(dsn: str, *, schema: str = "public") -> list[str]:
    """Names of the tables and views in a schema (PostGIS's own left out).

    Raises
    ------
    GeoagriError
        If the server cannot be reached (the message says where and how to fix).
    """
    with _connect(dsn) as conn, conn.cursor() as cur:
        return _tables(cur, schema)


# ---------------------------------------------------------------------- writing


def _pg_type(series: pd.Series, name: str, layer: str) -> str:
    dtype = series.dtype
    if isinstance(dtype, gpd.array.GeometryDtype):
        raise AssertionError("geometry columns are typed elsewhere")
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(dtype):
        return "double precision"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_dtype(dtype):
        return "timestamp"
    values = [v for v in series if not _isnull(v)]
    if values and all(isinstance(v, bool | np.bool_) for v in values):
        return "boolean"
    bad = [v for v in values if isinstance(v, dict | list | tuple | set | bytes)]
    if bad:
        raise GeoagriError(
            f"layer '{layer}': column {name!r} holds {type(bad[0]).__name__} values, which "
            "have no PostGIS column type here; turn them into text or numbers first")
    return "text"


def _isnull(value: object) -> bool:
    return (value is None or value is pd.NA or value is pd.NaT
            or (isinstance(value, float | np.floating) and math.isnan(value)))


def _python(value: object) -> object:
    if _isnull(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _srid(cur: Any, crs: Any, layer: str) -> int:
    if crs is None:
        raise CRSError(f"layer '{layer}' has no CRS; set it with layer.set_crs(...) before "
                       "writing it to PostGIS")
    crs = CRS.from_user_input(crs)
    epsg = crs.to_epsg()
    if epsg is None:
        raise CRSError(
            f"layer '{layer}': its CRS has no EPSG code ({crs.name}), so PostGIS cannot "
            "store it by SRID; reproject with layer.to_crs('EPSG:…') first (e.g. "
            "'EPSG:9210' for VN-2000 TM-3 105°45')")
    cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", (epsg,))
    if cur.fetchone() is None:
        with warnings.catch_warnings():  # a PROJ string is lossy; PostGIS wants one anyway
            warnings.simplefilter("ignore", UserWarning)
            proj4 = crs.to_proj4()
        cur.execute("INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) "
                    "VALUES (%s, 'EPSG', %s, %s, %s)", (epsg, epsg, crs.to_wkt("WKT1_GDAL"), proj4))
        log.info("PostGIS: added SRID %s (%s) to spatial_ref_sys", epsg, crs.name)
    return int(epsg)


def _geometry_type(values: gpd.GeoSeries) -> tuple[str, bool]:
    types = set(values.geom_type.dropna().unique())
    has_z = bool(shapely.has_z(values.dropna().to_numpy()).any()) if len(values) else False
    name = next(iter(types)) if len(types) == 1 else "Geometry"
    return name + ("Z" if has_z and name != "Geometry" else ""), has_z


def _ensure_postgis(cur: Any, where: Mapping[str, str]) -> None:
    psycopg = _psycopg()
    cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
    if cur.fetchone() is not None:
        return
    try:
        cur.execute("SAVEPOINT geoagri_ext")
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute("RELEASE SAVEPOINT geoagri_ext")
    except psycopg.Error as err:
        cur.execute("ROLLBACK TO SAVEPOINT geoagri_ext")
        raise GeoagriError(
            f"database {where['dbname']!r} at {where['host']}:{where['port']} has no PostGIS "
            f"and it could not be added ({' '.join(str(err).split())}). Fix: install PostGIS "
            "on the server (Debian: apt-get install postgresql-15-postgis-3) and run "
            "CREATE EXTENSION postgis; in that database as its owner or a superuser") from None


def write_tables(
    layers: Mapping[str, pd.DataFrame],
    dsn: str,
    *,
    schema: str = "public",
    if_exists: str = "replace",
    kinds: Mapping[str, str | None] | None = None,
) -> dict[str, str]:
    """Write frames as PostGIS tables, all in one transaction.

    Parameters
    ----------
    layers : dict of str to GeoDataFrame/DataFrame
        Table name → frame (not modified).  A GeoDataFrame's active geometry
        becomes column ``geom``, typed ``geometry(<type>, <EPSG code>)``
        (``Geometry`` when types are mixed) with a GiST index; frames without
        geometry become plain tables.
    dsn : str
        ``postgresql://user[:password]@host:port/database``.
    schema : str, default "public"
        Created if it does not exist.
    if_exists : {"replace", "fail"}, default "replace"
        ``replace`` drops an existing table of the same name first (views
        depending on it make that fail, and nothing is written).
    kinds : dict of str to str, optional
        Layer kinds; a kind's id column becomes the primary key.

    Returns
    -------
    dict
        Layer name → ``"schema.table"``.

    Raises
    ------
    GeoagriError
        Server unreachable (where, and how to fix), PostGIS missing, a table
        that exists with ``if_exists="fail"``, or any write error — after
        which the transaction is rolled back and nothing is written.
    CRSError
        A spatial layer without a CRS or without an EPSG code.

    Examples
    --------
    >>> write_tables({}, "postgresql://nobody@127.0.0.1:1/none")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geoagri.errors.GeoagriError: cannot connect to PostgreSQL at 127.0.0.1:1 ...
    """
    psycopg = _psycopg()
    from psycopg import sql

    if if_exists not in _IF_EXISTS:
        raise GeoagriError(f"write_tables: if_exists={if_exists!r}; use 'replace' or 'fail'")
    kinds = dict(kinds or {})
    where = _where(dsn)
    written: dict[str, str] = {}
    with _connect(dsn) as conn, conn.cursor() as cur:
        current = None
        try:
            _ensure_postgis(cur, where)
            cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            if if_exists == "fail":
                there = [n for n in layers if _table_exists(cur, schema, n)]
                if there:
                    raise GeoagriError(
                        f"PostGIS: table(s) {there} exist already in schema {schema!r} of "
                        f"{where['dbname']!r}; drop them or use if_exists='replace'")
            for name, frame in layers.items():
                current = name
                _write_one(cur, sql, frame, name, schema, kinds.get(name))
                written[name] = f"{schema}.{name}"
        except psycopg.Error as err:
            raise GeoagriError(
                f"PostGIS: writing layer {current!r} to {where['host']}:{where['port']}/"
                f"{where['dbname']} failed, nothing was written (rolled back): "
                f"{_clean(str(err), dsn)}") from None
    log.info("PostGIS: wrote %d tables to %s", len(written), redact_dsn(dsn))
    return written


def _write_one(cur: Any, sql: Any, frame: pd.DataFrame, name: str, schema: str,
               kind: str | None) -> None:
    table = sql.Identifier(schema, name)
    spatial = isinstance(frame, gpd.GeoDataFrame) and frame._geometry_column_name in frame
    geom_name = frame._geometry_column_name if spatial else None
    columns: list[tuple[str, str, str]] = []  # (source column, table column, SQL type)
    for c in frame.columns:
        if isinstance(frame[c].dtype, gpd.array.GeometryDtype):
            values = gpd.GeoSeries(frame[c])
            srid = _srid(cur, values.crs if c != geom_name else frame.crs, name)
            gtype, _ = _geometry_type(values)
            target = GEOMETRY_COLUMN if c == geom_name else str(c)
            columns.append((c, target, f"geometry({gtype}, {srid})"))
        else:
            columns.append((c, str(c), _pg_type(frame[c], str(c), name)))
    taken = [t for _, t, _ in columns]
    dup = sorted({t for t in taken if taken.count(t) > 1})
    if dup:
        raise GeoagriError(f"layer '{name}': column name(s) {dup} appear twice (a column named "
                           f"{GEOMETRY_COLUMN!r} besides the geometry?); rename one")
    idc = spec(kind).id_column if kind in KINDS else None
    key = idc if (idc in frame.columns and frame[idc].notna().all()
                  and frame[idc].is_unique) else None
    defs = [sql.SQL("{} {}").format(sql.Identifier(t), sql.SQL(ty)) for _, t, ty in columns]
    if key:
        defs.append(sql.SQL("PRIMARY KEY ({})").format(sql.Identifier(key)))
    cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(defs)))
    comment = f"geoagri layer {name!r}" + (f" (kind {kind})" if kind else "")
    cur.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(comment)))
    series = []
    for c, _, ty in columns:
        if ty.startswith("geometry("):
            srid = int(ty.rsplit(",", 1)[1].strip(" )"))
            geoms = np.asarray(gpd.GeoSeries(frame[c]).to_numpy(), dtype=object)
            has = ~shapely.is_missing(geoms)
            hexes = np.full(len(geoms), None, dtype=object)
            if has.any():
                tagged = shapely.set_srid(geoms[has], srid)
                dims = 3 if shapely.has_z(tagged).any() else 2
                hexes[has] = shapely.to_wkb(tagged, hex=True, include_srid=True,
                                            output_dimension=dims)
            series.append(hexes.tolist())
        else:
            series.append([_python(v) for v in frame[c].tolist()])
    target_cols = sql.SQL(", ").join(sql.Identifier(t) for _, t, _ in columns)
    with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(table, target_cols)) as copy:
        for row in zip(*series, strict=True):
            copy.write_row(row)
    for _, t, ty in columns:
        if ty.startswith("geometry("):
            cur.execute(sql.SQL("CREATE INDEX {} ON {} USING GIST ({})").format(
                sql.Identifier(f"{name}_{t}_gist"[:63]), table, sql.Identifier(t)))


# ---------------------------------------------------------------------- reading


def _crs_of(cur: Any, srid: int) -> CRS | None:
    if not srid:
        return None
    cur.execute("SELECT auth_name, auth_srid, srtext FROM spatial_ref_sys WHERE srid = %s",
                (srid,))
    row = cur.fetchone()
    if row is None:
        return CRS.from_epsg(srid)
    auth, code, wkt = row
    if auth and str(auth).upper() == "EPSG" and code:
        return CRS.from_epsg(int(code))
    return CRS.from_wkt(wkt)


def read_table_as_frame(
    dsn: str, *, layer: str, schema: str = "public"
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read one PostGIS table (or view) as it is, without canonicalizing it.

    Parameters
    ----------
    dsn : str
        ``postgresql://user[:password]@host:port/database``.
    layer : str
        Table name.
    schema : str, default "public"

    Returns
    -------
    GeoDataFrame or DataFrame
        Columns in table order; the (first) geometry column, whatever its
        name in the table, becomes ``geometry`` with the CRS of its SRID
        (EPSG code when the SRID is one).  ``bigint``/``integer`` columns are
        ``Int64``, ``double precision`` ``float64``, ``boolean`` ``boolean``,
        ``numeric`` ``float64``.  A table without geometry gives a DataFrame.
        Rows come in the table's storage order (the order written by
        :func:`write_tables`).

    Raises
    ------
    GeoagriError
        Server unreachable (host and port named, password hidden, how to fix),
        or no such table (listing the tables found in the schema).
    """
    from psycopg import sql

    where = _where(dsn)
    with _connect(dsn) as conn, conn.cursor() as cur:
        if not _table_exists(cur, schema, layer):
            found = _tables(cur, schema)
            raise GeoagriError(
                f"PostGIS: no table {schema}.{layer} in database {where['dbname']!r} at "
                f"{where['host']}:{where['port']}; tables in schema {schema!r}: "
                f"{found if found else 'none'}. Fix: name one of them with layer=…, or give "
                "the right schema=…")
        cur.execute(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname "
            "FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum", (sql.Identifier(schema, layer).as_string(conn),))
        cols = cur.fetchall()
        cur.execute("SELECT f_geometry_column, srid FROM geometry_columns "
                    "WHERE f_table_schema = %s AND f_table_name = %s", (schema, layer))
        srids = {r[0]: int(r[1] or 0) for r in cur.fetchall()}
        select = []
        for name, _fmt, typname in cols:
            if typname == "geometry":
                select.append(sql.SQL("ST_AsBinary({})").format(sql.Identifier(name)))
            else:
                select.append(sql.Identifier(name))
        cur.execute(sql.SQL("SELECT {} FROM {}").format(
            sql.SQL(", ").join(select), sql.Identifier(schema, layer)))
        rows = cur.fetchall()
        crs_by_col = {n: _crs_of(cur, srids.get(n, 0)) for n, _, t in cols if t == "geometry"}
    data: dict[str, Any] = {}
    geometry_cols = []
    for i, (name, fmt, typname) in enumerate(cols):
        values = [r[i] for r in rows]
        if typname == "geometry":
            arr = np.array([None if v is None else bytes(v) for v in values], dtype=object)
            data[name] = gpd.GeoSeries(shapely.from_wkb(arr), crs=crs_by_col[name])
            geometry_cols.append(name)
        elif fmt in _INT_TYPES:
            data[name] = pd.array(values, dtype="Int64")
        elif fmt in _FLOAT_TYPES or fmt.startswith("numeric"):
            data[name] = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype(
                "float64")
        elif fmt == "boolean":
            data[name] = pd.array(values, dtype="boolean")
        else:
            data[name] = pd.Series(values, dtype=object)
    frame = pd.DataFrame(data)
    if not geometry_cols:
        return frame
    first = geometry_cols[0]
    crs = crs_by_col[first]
    if first != "geometry" and "geometry" not in frame.columns:
        frame = frame.rename(columns={first: "geometry"})
        first = "geometry"
    return gpd.GeoDataFrame(frame, geometry=first, crs=crs)


def read_postgis(
    dsn: str, *, layer: str, schema: str = "public", kind: str | None = None
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a PostGIS table; with ``kind``, return it canonical and validated.

    Parameters
    ----------
    dsn : str
        ``postgresql://user[:password]@host:port/database``.
    layer : str
        Table name.
    schema : str, default "public"
    kind : str, optional
        Layer kind (``"zones"``, ``"works"``, …): the table is then passed
        through :func:`geoagri.validate.canonicalize`.  Without it the raw
        frame of :func:`read_table_as_frame` is returned.

    Raises
    ------
    GeoagriError
        As :func:`read_table_as_frame`; ``LayerError`` when ``kind`` is given
        and the table does not fit it.
    """
    frame = read_table_as_frame(dsn, layer=layer, schema=schema)
    if kind is None:
        return frame
    from geoagri.validate import canonicalize

    return canonicalize(frame, kind, layer=layer,
                        source=f"{redact_dsn(dsn)} {schema}.{layer}", encoding="utf-8")
