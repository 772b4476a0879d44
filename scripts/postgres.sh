#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests and benchmarks, from Debian's packages, on 127.0.0.1.
#
#   scripts/postgres.sh start   install the server package if missing, create a cluster in
#                               $FASTRAPI_PG_DIR, start it on a free loopback port, create the
#                               database and user "fastrapi"; prints `export POSTGRES_DSN=...`
#   scripts/postgres.sh env     prints `export POSTGRES_DSN=...` for the running cluster
#   scripts/postgres.sh stop    stops the cluster and removes $FASTRAPI_PG_DIR
#
#   eval "$(scripts/postgres.sh start)"   # then: psql "$POSTGRES_DSN"
#
# FASTRAPI_PG_DIR defaults to ${TMPDIR:-/tmp}/fastrapi-postgres; give each concurrent user (a test
# run, a benchmark) its own. Idempotent: `start` on a running cluster only prints its DSN, `stop`
# on a missing one does nothing. The cluster trades durability for speed (fsync off): test data only.
# As root the server runs as the `postgres` user (initdb refuses root); otherwise as yourself.
set -euo pipefail

DIR=${FASTRAPI_PG_DIR:-${TMPDIR:-/tmp}/fastrapi-postgres}
DATA=$DIR/data
DB_USER=fastrapi
DB_PASSWORD=fastrapi
DB_NAME=fastrapi

log() { echo "postgres.sh: $*" >&2; }

# Debian installs the server binaries per major version, off PATH.
server_bindir() {
  local bindir
  for bindir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$bindir/initdb" ] && { echo "$bindir"; return 0; }
  done
  return 1
}

install_server() {
  server_bindir >/dev/null && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing Debian's postgresql package"
  $sudo apt-get update -q >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
  server_bindir >/dev/null || { log "no initdb under /usr/lib/postgresql/*/bin after installing"; exit 1; }
}

# Runs a server binary as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

is_running() {
  [ -f "$DATA/postmaster.pid" ] && as_owner "$(server_bindir)/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

print_env() {
  local port
  port=$(cat "$DIR/port")
  echo "export POSTGRES_DSN='postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$port/$DB_NAME'"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  install_server
  if is_running; then
    print_env
    return 0
  fi
  local bin port
  bin=$(server_bindir)
  rm -rf "$DIR"  # a cluster left over from a killed run: start afresh
  mkdir -p "$DIR"
  chmod 700 "$DIR"
  [ "$(id -u)" -ne 0 ] || chown postgres: "$DIR"
  # Local (socket) connections for the superuser need no password; TCP ones need the user's.
  as_owner "$bin/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
  for _ in 1 2 3; do  # the port is free when picked, but someone may take it before the server binds
    port=$(free_port)
    if as_owner "$bin/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 30 start -o \
      "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$DIR -c max_connections=300 \
       -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null 9>&-; then
      echo "$port" >"$DIR/port"
      break
    fi
  done
  [ -f "$DIR/port" ] || { tail -20 "$DIR/server.log" >&2; exit 1; }
  as_owner "$bin/psql" -h "$DIR" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
CREATE DATABASE $DB_NAME OWNER $DB_USER;
SQL
  log "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $DATA"
  print_env
}

stop() {
  if [ -d "$DATA" ] && server_bindir >/dev/null; then
    as_owner "$(server_bindir)/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DIR" "$DIR.lock"
}

# One start or stop at a time per cluster directory (a test run and a manual `stop`, say). The
# server must not inherit the lock's descriptor (9>&- above), or it would hold the lock for its lifetime.
lock() {
  mkdir -p "$(dirname "$DIR")"
  exec 9>"$DIR.lock"
  flock 9
}

case "${1:-}" in
  start) lock; start ;;
  stop) lock; stop ;;
  env) is_running || { log "no cluster running in $DIR"; exit 1; }; print_env ;;
  *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
