#!/usr/bin/env bash
# The long fault harnesses of issue 4, whose figures go in closing notes.
# CI runs short versions of each through `bash scripts/test.sh`.
#
#   bash scripts/harness.sh crash     # 1,000 requests + 1,000 consents, >= 20 SIGKILLs
#   bash scripts/harness.sh replay    # 1,000 messages delivered 3 times + a UIDVALIDITY change
#   bash scripts/harness.sh contend   # 200 consents for one slot, two daemons
#   bash scripts/harness.sh fuzz [MINUTES]   # parse -> understand -> decide, default 10 minutes
#   bash scripts/harness.sh all
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/mailstack.sh start >/dev/null

run_crash() {
    YOYAKU_CRASH_SEEKERS=${YOYAKU_CRASH_SEEKERS:-1000} YOYAKU_CRASH_KILLS=${YOYAKU_CRASH_KILLS:-15} \
        cargo test --release --test crash -- --nocapture
}
run_replay() {
    YOYAKU_REPLAY_MESSAGES=${YOYAKU_REPLAY_MESSAGES:-1000} \
        cargo test --release --test faults replay -- --nocapture
}
run_contend() {
    YOYAKU_CONTENTION_CONSENTS=${YOYAKU_CONTENTION_CONSENTS:-200} \
        cargo test --release --test faults contention -- --nocapture
}
run_fuzz() {
    YOYAKU_FUZZ_SECONDS=$(( ${1:-10} * 60 )) cargo test --release --test fuzz -- --nocapture
}

case "${1:-all}" in
    crash) run_crash ;;
    replay) run_replay ;;
    contend) run_contend ;;
    fuzz) run_fuzz "${2:-10}" ;;
    all) run_crash; run_replay; run_contend; run_fuzz 10 ;;
    *) echo "usage: $0 crash|replay|contend|fuzz [MINUTES]|all" >&2; exit 2 ;;
esac
