#!/usr/bin/env bash
# pg-test-server.sh - a throwaway PostgreSQL server for the database source tests.
#
#   scripts/pg-test-server.sh start <dir>   initdb + start in <dir>; prints the conninfo
#   scripts/pg-test-server.sh stop  <dir>   stops the server and removes <dir>
#
# The server listens on 127.0.0.1 (a free port) and on a unix socket in <dir>,
# trusts local connections, and has one password-auth role for auth tests:
# bronze_pw / bronze-test-secret (scram-sha-256 over TCP). initdb refuses to
# run as root, so as root everything runs as the `postgres` user (runuser).
# Env: PG_BIN (default /usr/lib/postgresql/15/bin, else the copy scripts/deps.sh
# unpacks under /usr/local/lib/bronze-foundry-pg, else pg_config --bindir).
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z "$cmd" || -z "$dir" ]]; then
    echo "usage: $0 start|stop <dir>" >&2
    exit 2
fi

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# scripts/deps.sh unpacks the server here where apt cannot configure it
PG_LOCAL=/usr/local/lib/bronze-foundry-pg/usr/lib/postgresql/15/bin
if [[ ! -x "$PG_BIN/initdb" && -x "$PG_LOCAL/initdb" ]]; then
    PG_BIN=$PG_LOCAL
fi
if [[ ! -x "$PG_BIN/initdb" ]]; then
    PG_BIN=$(pg_config --bindir 2>/dev/null || true)
fi
if [[ ! -x "$PG_BIN/initdb" ]]; then
    echo "pg-test-server: no initdb found (set PG_BIN)" >&2
    exit 1
fi

as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$dir" && runuser -u postgres -- "$@")
    else
        (cd "$dir" && "$@")
    fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir"
        chmod 700 "$dir"
    fi
    as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    {
        echo "local all all trust"
        echo "host all bronze_pw 127.0.0.1/32 scram-sha-256"
        echo "host all all 127.0.0.1/32 trust"
    } >"$dir/data/pg_hba.conf"
    started=
    for _ in $(seq 1 20); do
        port=$((20000 + RANDOM % 40000))
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue # taken
        fi
        {
            echo "listen_addresses = '127.0.0.1'"
            echo "port = $port"
            echo "unix_socket_directories = '$dir'"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
            echo "max_connections = 50"
            echo "shared_buffers = 64MB"
            echo "timezone = 'UTC'"
            echo "log_min_messages = warning"
        } >"$dir/data/postgresql.auto.conf"
        if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
            >/dev/null 2>&1; then
            started=1
            break
        fi
    done
    if [[ -z "$started" ]]; then
        echo "pg-test-server: could not start the server; log:" >&2
        cat "$dir/server.log" >&2 || true
        exit 1
    fi
    echo "$port" >"$dir/port"
    as_pg "$PG_BIN/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE bronze_pw LOGIN PASSWORD 'bronze-test-secret'" >/dev/null
    echo "host=127.0.0.1 port=$port dbname=postgres user=postgres"
    ;;
stop)
    if [[ -d "$dir/data" ]]; then
        as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop <dir>" >&2
    exit 2
    ;;
esac
