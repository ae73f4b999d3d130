#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and the demo: initdb in a temp dir, unix socket only,
# wal_level=logical, removed on exit. The host's 15 by default; PARTSHIFT_PG_VERSION=17 (or 18)
# takes that version from scripts/pg-versions.sh (exit 77 with "SKIPPED: ..." when the machine
# cannot provide it), or PG_BIN names a bin directory directly.
#
#   scripts/pg-sandbox.sh run -- COMMAND...   start, run COMMAND with PG* set, stop and remove
#                                             (even when COMMAND fails); exit with its status
#   scripts/pg-sandbox.sh start DIR           start a sandbox in DIR and print its settings
#                                             (PARTSHIFT_SANDBOX_EXTRA_CONF: extra conf lines)
#   scripts/pg-sandbox.sh stop DIR            stop it (the directory stays)
#   scripts/pg-sandbox.sh restart DIR [MODE]  pg_ctl restart (MODE fast|immediate; for fault tests)
#   scripts/pg-sandbox.sh remove DIR          stop and delete DIR
#
# initdb refuses to run as root, so as root the server runs as the postgres user.
set -euo pipefail

if [[ -z ${PG_BIN:-} && -n ${PARTSHIFT_PG_VERSION:-} ]]; then
  PG_BIN=$("$(dirname "$(readlink -f "$0")")/pg-versions.sh" bin "$PARTSHIFT_PG_VERSION")
fi
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# pg-versions.sh's wrappers chroot (root only) and switch to the postgres user themselves.
chroot_bin=false
[[ -f $PG_BIN/.partshift-chroot ]] && chroot_bin=true

as_postgres() {
  if [[ $(id -u) -eq 0 && $chroot_bin == false ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local dir=$1
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
  chmod 0755 "$dir"
  as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = 5432
wal_level = logical
max_replication_slots = 64
max_wal_senders = 64
max_connections = 300
shared_buffers = 256MB
max_wal_size = 4GB
fsync = off
full_page_writes = off
log_min_messages = warning
log_line_prefix = '%m [%p] %a '
CONF
  # PostgreSQL 18 caps replication origins in use apart from slots (max_active_replication_origins,
  # default 10); the origin filter's tests need as many as 17 gives them (max_replication_slots).
  local major
  major=$("$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)[.a-z].*/\1/')
  if [[ $major =~ ^[0-9]+$ ]] && ((major >= 18)); then
    echo "max_active_replication_origins = 64" >>"$dir/data/postgresql.conf"
  fi
  # Settings of the caller's own, after the defaults so they win (tests that need a server
  # the shared sandbox must not become, e.g. wal_level = replica).
  [[ -n ${PARTSHIFT_SANDBOX_EXTRA_CONF:-} ]] && printf '%s\n' "$PARTSHIFT_SANDBOX_EXTRA_CONF" \
    >>"$dir/data/postgresql.conf"
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  cat <<INFO
PGHOST=$dir
PGPORT=5432
PGUSER=postgres
PGDATABASE=postgres
PARTSHIFT_SANDBOX_DIR=$dir
INFO
}

stop() {
  local dir=$1
  [[ -f "$dir/data/postmaster.pid" ]] || return 0
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

restart() {
  local dir=$1 mode=${2:-fast}
  as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -m "$mode" -w -t 60 restart \
    >/dev/null
}

remove() {
  stop "$1"
  rm -rf "$1"
}

cmd=${1:-}
shift || true
case "$cmd" in
  start) start "$1" ;;
  stop) stop "$1" ;;
  restart) restart "$@" ;;
  remove) remove "$1" ;;
  run)
    [[ ${1:-} == "--" ]] && shift
    dir=$(mktemp -d /tmp/partshift-pg.XXXXXX)
    trap 'remove "$dir"' EXIT
    trap 'exit 130' INT TERM
    start "$dir" >/dev/null
    export PGHOST=$dir PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
    export PARTSHIFT_SANDBOX_DIR=$dir PARTSHIFT_SANDBOX_SCRIPT="$(readlink -f "$0")"
    # The tests' own restarts and extra servers (through PARTSHIFT_SANDBOX_SCRIPT) use the same
    # binaries. pg_dump must be the server's version (an older one refuses a newer server); the
    # other clients (psql, pgbench) stay the host's: they read the host's files, which a
    # chroot'ed one cannot see.
    export PG_BIN
    if [[ $chroot_bin == true ]]; then
      mkdir -p "$dir/client-bin"
      for tool in pg_dump pg_dumpall pg_restore; do ln -s "$PG_BIN/$tool" "$dir/client-bin/$tool"; done
      export PATH=$dir/client-bin:$PATH
    fi
    echo "partshift: sandbox PostgreSQL $("$PG_BIN/pg_ctl" --version | awk '{print $3}') running at $dir" >&2
    set +e
    "$@"
    status=$?
    set -e
    if [[ $status -ne 0 && -f "$dir/server.log" ]]; then
      echo "---- last lines of the sandbox server log ----" >&2
      tail -n 30 "$dir/server.log" >&2
    fi
    exit $status
    ;;
  *) sed -n '2,17p' "$0" >&2; exit 2 ;;
esac
