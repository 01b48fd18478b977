#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for yoyaku's tests, as
# scripts/mailstack.sh is for mail: installed from Debian's packages when
# missing, its data under ${YOYAKU_PG_DIR:-/tmp/yoyaku-pgstack}, listening on
# 127.0.0.1:${YOYAKU_PG_PORT:-55432}, user `yoyaku` (trust on loopback only).
#
#   scripts/pgstack.sh start    install if missing, create the cluster, start; prints the URL
#   scripts/pgstack.sh stop
#   scripts/pgstack.sh restart  (a database outage, for tests/faults.rs)
#   scripts/pgstack.sh status
#   scripts/pgstack.sh url      the URL of the maintenance database
#   scripts/pgstack.sh clean    drop the databases earlier test runs left (yoyaku_*)
#
# Tests create a database of their own per desk (tests/common) from this URL.
set -euo pipefail
# The servers keep the real clock even when a test running under libfaketime
# (scripts/test.sh's shifted pass) starts or restarts them: a Dovecot started
# under the preload refuses every login afterwards.
unset LD_PRELOAD FAKETIME FAKETIME_DONT_RESET DONT_FAKE_MONOTONIC

DIR="${YOYAKU_PG_DIR:-/tmp/yoyaku-pgstack}"
PORT="${YOYAKU_PG_PORT:-55432}"
URL="postgres://yoyaku@127.0.0.1:${PORT}/postgres"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

log() { echo "pgstack: $*" >&2; }

bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$d" ] && [ -x "$d/initdb" ] && echo "$d"
}

install_packages() {
    if bindir >/dev/null; then return; fi
    log "installing postgresql from Debian's packages"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # The package's own cluster is not used (ours runs from $DIR).
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
}

# initdb and postgres refuse to run as root: as root, the cluster belongs
# to the `postgres` user the package creates.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    local bin
    bin=$(bindir) || return 1
    [ -d "$DIR/data" ] && as_owner "$bin/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

start() {
    install_packages
    local bin
    bin=$(bindir)
    if running; then
        echo "$URL"
        return
    fi
    mkdir -p "$DIR"
    if [ "$(id -u)" = 0 ]; then chown postgres "$DIR"; fi
    if [ ! -s "$DIR/data/PG_VERSION" ]; then
        rm -rf "$DIR/data"
        as_owner "$bin/initdb" -D "$DIR/data" -U yoyaku -A trust -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 \
            || { cat "$DIR/initdb.log" >&2; exit 1; }
    fi
    # A throwaway cluster: no fsync (the tests kill desks, not the database).
    as_owner "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
        -o "-h 127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" >/dev/null \
        || { tail -20 "$DIR/server.log" >&2; exit 1; }
    log "PostgreSQL on 127.0.0.1:$PORT ($DIR)"
    echo "$URL"
}

stop() {
    local bin
    bin=$(bindir) || return 0
    if running; then as_owner "$bin/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null; fi
}

clean() {
    running || return 0
    local bin db
    bin=$(bindir)
    for db in $("$bin/psql" "$URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'yoyaku\_%'"); do
        "$bin/psql" "$URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
    done
}

case "${1:-}" in
start) start ;;
stop) stop ;;
clean) clean ;;
restart)
    bin=$(bindir)
    as_owner "$bin/pg_ctl" -D "$DIR/data" -m fast -w -t 60 restart >/dev/null
    ;;
status) if running; then echo "running: $URL"; else echo "stopped"; exit 1; fi ;;
url) echo "$URL" ;;
*)
    echo "usage: $0 start|stop|status|url" >&2
    exit 2
    ;;
esac
