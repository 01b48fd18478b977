#!/usr/bin/env bash
# Runs yoyaku for real on this machine: a loopback Dovecot + Postfix (installed
# from Debian's packages if missing), the daemon on scripts/yoyaku.example.toml
# with an embedded SQLite database in .state/, and a seeker who sends a
# request, receives the offer, consents by reply and receives the confirmation.
#
#   bash scripts/demo.sh            # the walk-through, then the daemon stops
#   bash scripts/demo.sh --keep     # leave the daemon running afterwards
#
# It works on a fresh machine and again on one where it ran before: each run
# starts the desk on a fresh demo database (the previous one is kept as
# .state/yoyaku.db.previous) and stops a daemon an earlier `--keep` left.
set -euo pipefail
cd "$(dirname "$0")/.."

# A step that fails says which, instead of ending the script without a word.
trap 'status=$?; echo "demo: failed (exit $status) at line $LINENO: $BASH_COMMAND" >&2; exit $status' ERR

KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
export YOYAKU_IMAP_PASSWORD="desk-password"
DESK="desk@yoyaku.test"
SEEKER="taro.yamada@example.jp"
export SEEKER_PASSWORD="test-password"

if ! command -v cargo >/dev/null 2>&1; then
    echo "demo: cargo is needed (https://rustup.rs)" >&2
    exit 1
fi
bash scripts/mailstack.sh start
bash scripts/mailstack.sh adduser "$SEEKER" "$SEEKER_PASSWORD"
cargo build --release --bin yoyaku --example seeker
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="$TARGET/release/yoyaku"
SEEKER_BIN="$TARGET/release/examples/seeker"

mkdir -p .state
if [ -f .state/yoyaku.pid ]; then
    kill "$(cat .state/yoyaku.pid)" 2>/dev/null || true
    rm -f .state/yoyaku.pid
fi
for f in yoyaku.db yoyaku.db-wal yoyaku.db-shm yoyaku.db-sent yoyaku.db-sent-wal yoyaku.db-sent-shm; do
    if [ -f ".state/$f" ]; then mv -f ".state/$f" ".state/$f.previous"; fi
done

"$BIN" check --config scripts/yoyaku.example.toml
"$BIN" run --config scripts/yoyaku.example.toml > .state/yoyaku.log 2>&1 &
DAEMON=$!
echo "$DAEMON" > .state/yoyaku.pid
if [ "$KEEP" = 0 ]; then
    trap 'kill $DAEMON 2>/dev/null || true; rm -f .state/yoyaku.pid' EXIT
fi
sleep 1
if ! kill -0 "$DAEMON" 2>/dev/null; then
    echo "demo: yoyaku run stopped at once; its log (.state/yoyaku.log):" >&2
    cat .state/yoyaku.log >&2
    exit 1
fi

# A wish a week ahead, moved on to a weekday (the desk offers other slots if
# that day is a holiday or closed).
WISH_DAY=$(date -d "+7 days" +%F)
while [ "$(date -d "$WISH_DAY" +%u)" -gt 5 ]; do
    WISH_DAY=$(date -d "$WISH_DAY +1 day" +%F)
done
WISH_DATE=$(date -d "$WISH_DAY" +%Y年%-m月%-d日)

# Mail the seeker already has from earlier runs (none on a fresh machine).
MAILDIR="${YOYAKU_MAILSTACK_DIR:-/tmp/yoyaku-mailstack}/mail/example.jp/taro.yamada/Maildir"
COUNT=0
for sub in new cur; do
    if [ -d "$MAILDIR/$sub" ]; then
        COUNT=$((COUNT + $(find "$MAILDIR/$sub" -type f | wc -l)))
    fi
done

echo; echo "== 1. The seeker sends a request to $DESK"
BODY="オンライン職業相談の予約をお願いします。
氏名：山田 太郎
求職番号：３２０１０－１２３４５６７８
希望日時：${WISH_DATE} 11:00～11:30
電話番号：090-1234-5678"
echo "$BODY"
"$SEEKER_BIN" send --from "$SEEKER" --to "$DESK" --subject "オンライン相談の予約" --body "$BODY"

echo; echo "== 2. The desk answers in the thread with the offer and the terms attached"
"$SEEKER_BIN" wait --user "$SEEKER" --count $((COUNT + 1))

echo; echo "== 3. The seeker replies: consent and choice"
"$SEEKER_BIN" reply --user "$SEEKER" --to "$DESK" --body "1でお願いします。"

echo; echo "== 4. The confirmation with the meeting ID and passcode"
"$SEEKER_BIN" wait --user "$SEEKER" --count $((COUNT + 2)) | tee .state/confirmation.txt
if ! grep -q "予約が確定しました" .state/confirmation.txt; then
    echo "demo: the last mail is not a confirmation (see above)" >&2
    exit 1
fi

echo; echo "== The daemon's log (ids only, no personal data): .state/yoyaku.log"
tail -n 5 .state/yoyaku.log
if [ "$KEEP" = 1 ]; then
    echo "yoyaku is running (pid $DAEMON) on $DESK; stop it with: kill $DAEMON"
fi
echo "demo: done"
