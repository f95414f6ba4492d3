# shellcheck shell=bash
# PostgreSQL + PostGIS for the tests (tests/test_postgis.py), sourced by .ci/run:
#
#   . .ci/postgis.sh
#   postgis_install            # Debian packages (as root)
#   postgis_start              # server on 127.0.0.1:$GEOAGRI_PG_PORT, exports GEOAGRI_TEST_POSTGRES
#   trap postgis_stop EXIT
#
# The server runs as the unprivileged user "postgres" (created by the Debian package)
# when this shell is root, else as the current user; its data lives in a fresh
# directory under /tmp; it listens on loopback only, with trust authentication.
# Safe under `set -euo pipefail`.

GEOAGRI_PG_PORT="${GEOAGRI_PG_PORT:-54329}"
GEOAGRI_PG_DB="${GEOAGRI_PG_DB:-geoagri_test}"
GEOAGRI_PG_DIR="${GEOAGRI_PG_DIR:-}"

postgis_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql postgresql-15-postgis-3 >/dev/null
}

_postgis_bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
        echo "postgis.sh: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin;" \
             "run postgis_install first" >&2
        return 1
    fi
    echo "$dir"
}

# run a command as the server's user
_postgis_as() {
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

postgis_start() {
    local bin
    bin="$(_postgis_bindir)" || return 1
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$GEOAGRI_PG_PORT"; then
        echo "postgis.sh: something already listens on 127.0.0.1:$GEOAGRI_PG_PORT;" \
             "set GEOAGRI_PG_PORT to a free port" >&2
        return 1
    fi
    GEOAGRI_PG_DIR="$(mktemp -d /tmp/geoagri-pg.XXXXXX)"
    export GEOAGRI_PG_DIR
    if [ "$(id -u)" = "0" ]; then
        chown postgres:postgres "$GEOAGRI_PG_DIR"
    fi
    chmod 700 "$GEOAGRI_PG_DIR"
    _postgis_as "$bin/initdb" -D "$GEOAGRI_PG_DIR/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$GEOAGRI_PG_DIR/initdb.log" 2>&1 || {
        cat "$GEOAGRI_PG_DIR/initdb.log" >&2
        return 1
    }
    # loopback only, socket in the data dir (no /var/run/postgresql needed), small memory
    _postgis_as "$bin/pg_ctl" -D "$GEOAGRI_PG_DIR/data" -l "$GEOAGRI_PG_DIR/server.log" -w \
        -t 60 -o "-c listen_addresses=127.0.0.1 -p $GEOAGRI_PG_PORT \
        -c unix_socket_directories=$GEOAGRI_PG_DIR -c shared_buffers=32MB -c fsync=off \
        -c max_connections=30" start >/dev/null || {
        cat "$GEOAGRI_PG_DIR/server.log" >&2
        return 1
    }
    "$bin/createdb" -h 127.0.0.1 -p "$GEOAGRI_PG_PORT" -U postgres "$GEOAGRI_PG_DB"
    "$bin/psql" -q -h 127.0.0.1 -p "$GEOAGRI_PG_PORT" -U postgres -d "$GEOAGRI_PG_DB" \
        -v ON_ERROR_STOP=1 -c "CREATE EXTENSION IF NOT EXISTS postgis;" >/dev/null
    export GEOAGRI_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$GEOAGRI_PG_PORT/$GEOAGRI_PG_DB"
    echo "postgis.sh: PostGIS ready at $GEOAGRI_TEST_POSTGRES (data in $GEOAGRI_PG_DIR)"
}

postgis_stop() {
    local bin
    if [ -z "${GEOAGRI_PG_DIR:-}" ] || [ ! -d "$GEOAGRI_PG_DIR/data" ]; then
        return 0
    fi
    bin="$(_postgis_bindir)" || return 0
    _postgis_as "$bin/pg_ctl" -D "$GEOAGRI_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$GEOAGRI_PG_DIR"
    GEOAGRI_PG_DIR=""
    unset GEOAGRI_TEST_POSTGRES
}
