#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests of the pure core, and the
# integration tests that drive real mail through a loopback Postfix and
# Dovecot (installed from Debian's packages and started when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/mailstack.sh start
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
# Every test binary runs even when one fails; the exit status still says so.
cargo test --all-targets --no-fail-fast
