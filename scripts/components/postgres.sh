#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on loopback for the tests and prints
# the shell lines that export its URL:
#   eval "$(scripts/components/postgres.sh start)"
# which sets PROVISIOND_TEST_POSTGRES (a superuser URL; tests create their
# own databases in it) and PROVISIOND_TEST_POSTGRES_DIR (what "stop" removes).
#   scripts/components/postgres.sh stop DIR
# stops the cluster and removes DIR. Installing is a no-op when PostgreSQL is
# there already. initdb refuses to run as root, so the cluster belongs to
# the postgres user.
set -euo pipefail

pgbin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  return 1
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
  if ! bin=$(pgbin); then
    echo "installing PostgreSQL" >&2
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
    bin=$(pgbin)
  fi
  dir=$(mktemp -d /tmp/provisiond-pg.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  # A free port: let the kernel pick one, then hand it to PostgreSQL.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 54329)
  as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  # Durability is not what the tests check; fsync=off keeps them fast.
  as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-h 127.0.0.1 -p $port -k $dir \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >&2 ||
    { cat "$dir/server.log" >&2; exit 1; }
  echo "export PROVISIOND_TEST_POSTGRES='postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable'"
  echo "export PROVISIOND_TEST_POSTGRES_DIR='$dir'"
  ;;
stop)
  dir=${2:?usage: postgres.sh stop DIR}
  bin=$(pgbin)
  as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start | stop DIR" >&2
  exit 2
  ;;
esac
