# Sourced by .ci/run: a real PostgreSQL for the store and sync tests, on 127.0.0.1 only, in a
# temporary directory, run by the unprivileged `postgres` user; stopped on exit.
#   pg_start  installs Debian's postgresql if needed, starts the server, exports CALHARNESS_PG_URL
#   pg_stop   stops it and removes its directory
PG_PORT="${PG_PORT:-54329}"

pg_start() {
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  PG_BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")"
  PG_DIR="$(mktemp -d /tmp/calharness-pg.XXXXXX)"
  chown postgres "$PG_DIR"
  local as_pg=(su postgres -s /bin/sh -c)
  if [ "$(id -u)" -ne 0 ]; then as_pg=(sh -c); fi
  # from / : the postgres user cannot enter the clone's temporary folder (su says so)
  (cd / && "${as_pg[@]}" "'$PG_BIN/initdb' -D '$PG_DIR/data' -U calharness --auth=trust -E UTF8 >/dev/null")
  (cd / && "${as_pg[@]}" "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/log' -w \
    -o \"-c listen_addresses=127.0.0.1 -p $PG_PORT -k '$PG_DIR'\" start >/dev/null")
  (cd / && "${as_pg[@]}" "'$PG_BIN/createdb' -h 127.0.0.1 -p $PG_PORT -U calharness calharness")
  export CALHARNESS_PG_URL="postgresql+psycopg://calharness@127.0.0.1:$PG_PORT/calharness"
  echo "ci: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') at $CALHARNESS_PG_URL"
}

pg_stop() {
  [ -n "${PG_DIR:-}" ] || return 0
  local as_pg=(su postgres -s /bin/sh -c)
  if [ "$(id -u)" -ne 0 ]; then as_pg=(sh -c); fi
  (cd / && "${as_pg[@]}" "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -m fast -w stop >/dev/null") || true
  rm -rf "$PG_DIR"
}
