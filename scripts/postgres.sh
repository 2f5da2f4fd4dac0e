#!/usr/bin/env bash
# A throw-away PostgreSQL server (Debian's postgresql package) for the cases database tests.
#   start        initdb in a new temporary folder, listen on a Unix socket there only (no TCP), create the database
#                forensics_test; prints `export FORENSICS_TEST_PG_URL=... FORENSICS_PG_DIR=...` for eval
#   stop DIR     stop that server and remove DIR
# Runs the server as the `postgres` system user when started as root (PostgreSQL refuses to run as root).
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -z "$bin" ]; then
  echo "postgres.sh: PostgreSQL is not installed (bash scripts/setup.sh --with-browser installs it)" >&2
  exit 1
fi
# from / as the postgres user: it cannot enter a root-owned temporary clone (psql and pg_ctl would say so)
as_pg() { if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/forensics-pg.XXXXXX)
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >/dev/null
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
      -o "-c listen_addresses='' -k $dir -p 54329 -c fsync=off" start >/dev/null
    as_pg "$bin/createdb" -h "$dir" -p 54329 -U postgres forensics_test
    echo "export FORENSICS_PG_DIR=$dir"
    echo "export FORENSICS_TEST_PG_URL='postgresql+psycopg://postgres@/forensics_test?host=$dir&port=54329'"
    ;;
  stop)
    dir=${2:?stop needs the folder printed by start}
    as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
  *) echo "usage: scripts/postgres.sh start | stop DIR" >&2; exit 2 ;;
esac
