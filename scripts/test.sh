#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests of the pure core, and the
# integration tests that drive real mail through a loopback Postfix and
# Dovecot, once on SQLite and once more on PostgreSQL (each installed from
# Debian's packages and started on loopback when missing), and the staff
# page in a real Chromium (installed the same way).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/mailstack.sh start
bash scripts/browser.sh
PG_URL=$(bash scripts/pgstack.sh start)
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
echo "== the integration tests, on PostgreSQL"
bash scripts/pgstack.sh clean
YOYAKU_TEST_DATABASE_URL="$PG_URL" cargo test --no-fail-fast --test '*' || status=1
exit $status
