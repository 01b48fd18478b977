#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests of the pure core, and the
# integration tests that drive real mail through a loopback Postfix and
# Dovecot (and Cyrus IMAP), once on SQLite and once more on PostgreSQL under
# a clock moved ahead (each installed from
# Debian's packages and started on loopback when missing), and the staff
# page in a real Chromium (installed the same way).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/mailstack.sh start
# Cyrus IMAP beside Dovecot (tests/imap_servers.rs).
bash scripts/cyrusstack.sh start
bash scripts/browser.sh
PG_URL=$(bash scripts/pgstack.sh start)
# libfaketime for the shifted pass below.
if ! command -v faketime >/dev/null 2>&1; then
    echo "test: installing faketime from Debian's packages" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends faketime >/dev/null \
        || { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
             && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends faketime >/dev/null; }
fi
# Tests that always need PostgreSQL (moving an SQLite office to it) find it here.
export YOYAKU_TEST_PG_SERVER="$PG_URL"
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# Every test binary runs even when one fails; the exit status still says so.
status=0
echo "== every test, on SQLite"
cargo test --all-targets --no-fail-fast || status=1
# The integration tests again, each desk on a database of its own in the
# throwaway cluster (tests/common: YOYAKU_TEST_DATABASE_URL).
# This pass also runs with the test processes' clock moved ahead by a shift
# chosen per run (libfaketime, wrapped around each test binary by cargo's
# runner; yoyaku processes the tests start inherit it), while the mail
# servers, PostgreSQL and Chromium keep the real clock: a test that depends
# on the date it runs turns red the day it is written, not months later.
shift_days="${YOYAKU_TEST_SHIFT_DAYS:-$((30 + RANDOM % 371))}"
echo "== the integration tests, on PostgreSQL, the clock moved ${shift_days} days ahead ($(faketime -f "+${shift_days}d" date -u '+%Y-%m-%d %H:%M UTC'))"
bash scripts/pgstack.sh clean
triple=$(rustc -vV | sed -n 's/^host: //p' | tr 'a-z-' 'A-Z_')
# The library itself, not the faketime wrapper: the wrapper waits for every
# descendant, and a test that restarts Dovecot leaves one running.
libfaketime=$(dpkg -L libfaketime | grep '/libfaketimeMT\.so\.1$' | head -n 1)
env "CARGO_TARGET_${triple}_RUNNER=env LD_PRELOAD=${libfaketime} FAKETIME=+${shift_days}d DONT_FAKE_MONOTONIC=1" \
    YOYAKU_TEST_DATABASE_URL="$PG_URL" cargo test --no-fail-fast --test '*' || status=1
[ $status = 0 ] || echo "== failed (the second pass ran ${shift_days} days ahead: YOYAKU_TEST_SHIFT_DAYS=${shift_days} repeats it)"
exit $status
