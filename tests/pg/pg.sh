#!/usr/bin/env bash
# A throwaway PostgreSQL 15 for the tests: a private cluster on a private port of 127.0.0.1.
#
#   pg.sh start STATE_DIR   initdb + start; writes STATE_DIR/dsn ("host=127.0.0.1 port=N
#                           user=postgres dbname=postgres"), STATE_DIR/port, STATE_DIR/run
#   pg.sh stop STATE_DIR    fast stop and remove everything; idempotent, safe if never started
#   pg.sh env STATE_DIR     prints `export LIVEPOLL_TEST_PG_DSN=...` lines for eval
#   pg.sh down STATE_DIR    stops the server but keeps its data (tests of a server restart)
#   pg.sh up STATE_DIR      starts it again on the same port after `down`
#   pg.sh restart STATE_DIR pg_ctl restart -m fast
#
# The cluster lives in a fresh /tmp/lp-pg-XXXXXX folder (STATE_DIR/run is a symlink to it), so
# STATE_DIR may be anywhere, e.g. inside a build tree under /root that the postgres user cannot
# traverse. PostgreSQL refuses to run as root: as root the server binaries run as the postgres
# user (runuser) from inside that folder; as another user they run directly. Authentication is
# `trust`, fsync is off, pg_stat_statements is loaded (track=all) and created in the databases
# postgres and template1 (so every database made for a test has the view).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
verb=${1:-}
state=${2:-}
[[ -n $verb && -n $state ]] || { echo "usage: pg.sh start|stop|env|down|up|restart STATE_DIR" >&2; exit 2; }

# as_pg CMD...: runs CMD as the server's user, from the cluster folder (postgres can read it).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    (cd "$run" && runuser -u postgres -- "$@")
  else
    (cd "$run" && "$@")
  fi
}

# The cluster folder of STATE_DIR, if any (only ever one of ours: /tmp/lp-pg-*).
run_dir() {
  local r
  r=$(readlink "$state/run" 2>/dev/null) || return 1
  [[ $r == /tmp/lp-pg-* && -d $r ]] || return 1
  echo "$r"
}

server_opts() {
  echo "-p $1 -k $run/sock -c listen_addresses=127.0.0.1 -c fsync=off" \
       "-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" \
       "-c max_connections=300"
}

# port_free PORT: nothing accepts TCP connections on 127.0.0.1:PORT (bash /dev/tcp, no iproute2).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_start_on() {  # PORT: 0 started, 1 failed, 3 the port was taken
  local port=$1
  : >"$run/server.log"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$run/server.log"
  if as_pg "$PG_BIN/pg_ctl" -D "$run/data" -l "$run/server.log" -w -t 60 \
       -o "$(server_opts "$port")" start >"$run/pg_ctl.log" 2>&1; then
    return 0
  fi
  grep -qiE 'could not bind|address already in use|could not create any TCP/IP sockets' \
    "$run/server.log" && return 3
  return 1
}

psql_admin() {  # DB SQL
  "$PG_BIN/psql" "host=127.0.0.1 port=$(cat "$state/port") user=postgres dbname=$1" \
    -v ON_ERROR_STOP=1 -qAtX -c "$2"
}

stop_server() {
  local run=$1
  [[ -f $run/data/postmaster.pid ]] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$run/data" -m fast -w -t 60 stop >/dev/null 2>&1 && return 0
  # pg_ctl could not stop it: end the postmaster by its own pid file, then wait for it.
  local pid
  pid=$(head -1 "$run/data/postmaster.pid" 2>/dev/null || true)
  if [[ $pid =~ ^[0-9]+$ ]]; then
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
}

case $verb in
  start)
    "$0" stop "$state"  # a stale server of an interrupted run goes first
    [[ -x $PG_BIN/initdb ]] || {
      echo "pg.sh: no PostgreSQL 15 in $PG_BIN (install the package postgresql: .ci/setup.sh)" >&2
      exit 1
    }
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
      echo "pg.sh: running as root but there is no postgres user (install the package postgresql)" >&2
      exit 1
    fi
    mkdir -p "$state"
    run=$(mktemp -d /tmp/lp-pg-XXXXXX)
    chmod 755 "$run"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$run"
    ln -sfn "$run" "$state/run"
    as_pg mkdir -m 700 "$run/sock"
    if ! as_pg "$PG_BIN/initdb" -D "$run/data" --auth=trust --no-sync -U postgres -E UTF8 \
         --locale=C >"$run/initdb.log" 2>&1; then
      cat "$run/initdb.log" >&2
      echo "pg.sh: initdb failed" >&2
      exit 1
    fi
    started=
    for attempt in $(seq 1 20); do
      port=$((20000 + (RANDOM * 32768 + RANDOM) % 20000))
      port_free "$port" || continue
      rc=0
      pg_start_on "$port" || rc=$?
      if ((rc == 0)); then started=$port; break; fi
      if ((rc != 3)); then
        cat "$run/pg_ctl.log" "$run/server.log" >&2
        echo "pg.sh: the server did not start (port $port)" >&2
        exit 1
      fi
      echo "pg.sh: port $port was taken, trying another" >&2
    done
    [[ -n $started ]] || { echo "pg.sh: found no free port in 20 attempts" >&2; exit 1; }
    echo "$started" >"$state/port"
    for db in postgres template1; do
      psql_admin "$db" "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
    done
    echo "host=127.0.0.1 port=$started user=postgres dbname=postgres" >"$state/dsn"
    echo "pg.sh: PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$started" \
         "(cluster $run, state $state)"
    ;;
  stop)
    if run=$(run_dir); then
      stop_server "$run"
      rm -rf "$run"
    fi
    rm -f "$state/run" "$state/dsn" "$state/port"
    [[ -d $state ]] && rmdir "$state" 2>/dev/null || true
    ;;
  env)
    [[ -r $state/dsn ]] || { echo "pg.sh: no server in $state (run pg.sh start first)" >&2; exit 1; }
    printf 'export LIVEPOLL_TEST_PG_DSN=%q\nexport LIVEPOLL_TEST_PG_STATE=%q\n' \
      "$(cat "$state/dsn")" "$(cd "$state" && pwd)"
    ;;
  down)
    run=$(run_dir) || { echo "pg.sh: no server in $state" >&2; exit 1; }
    as_pg "$PG_BIN/pg_ctl" -D "$run/data" -m fast -w -t 60 stop >/dev/null
    ;;
  restart)
    run=$(run_dir) || { echo "pg.sh: no server in $state" >&2; exit 1; }
    as_pg "$PG_BIN/pg_ctl" -D "$run/data" -l "$run/server.log" -m fast -w -t 60 restart >"$run/pg_ctl.log" 2>&1 ||
      { cat "$run/pg_ctl.log" >&2; echo "pg.sh: restart failed" >&2; exit 1; }
    ;;
  up)
    run=$(run_dir) || { echo "pg.sh: no server in $state" >&2; exit 1; }
    rc=0
    pg_start_on "$(cat "$state/port")" || rc=$?
    ((rc == 0)) || { cat "$run/pg_ctl.log" "$run/server.log" >&2; echo "pg.sh: restart failed" >&2; exit 1; }
    ;;
  *)
    echo "usage: pg.sh start|stop|env|down|up|restart STATE_DIR" >&2
    exit 2
    ;;
esac
