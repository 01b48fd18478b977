#!/usr/bin/env bash
# Runs yoyaku for real on this machine: a loopback Dovecot + Postfix (installed
# from Debian's packages if missing), the daemon on scripts/yoyaku.example.toml
# with an embedded SQLite database in .state/, and a seeker who sends a
# request, receives the offer, consents by reply and receives the confirmation.
#
#   bash scripts/demo.sh            # the walk-through, then the daemon stops
#   bash scripts/demo.sh --keep     # leave the daemon running afterwards
set -euo pipefail
cd "$(dirname "$0")/.."

KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
export YOYAKU_IMAP_PASSWORD="desk-password"
DESK="desk@yoyaku.test"
SEEKER="taro.yamada@example.jp"

if ! command -v cargo >/dev/null 2>&1; then
    echo "demo: cargo is needed (https://rustup.rs)" >&2
    exit 1
fi
bash scripts/mailstack.sh start
cargo build --release --bin yoyaku --example seeker
BIN=target/release/yoyaku
SEEKER_BIN=target/release/examples/seeker

mkdir -p .state
"$BIN" check --config scripts/yoyaku.example.toml
"$BIN" run --config scripts/yoyaku.example.toml > .state/yoyaku.log 2>&1 &
DAEMON=$!
if [ "$KEEP" = 0 ]; then trap 'kill $DAEMON 2>/dev/null || true' EXIT; fi
sleep 1

# A wish about a week ahead, on a weekday.
WISH_DATE=$(date -d "+7 days" +%-m月%-d日)
while [ "$(date -d "$(echo "$WISH_DATE" | sed -E 's/([0-9]+)月([0-9]+)日/\1\/\2/')" +%u 2>/dev/null || echo 1)" -gt 5 ]; do
    WISH_DATE=$(date -d "$(echo "$WISH_DATE" | sed -E 's/([0-9]+)月([0-9]+)日/\1\/\2/') +1 day" +%-m月%-d日)
done
# Mail the seeker already has from earlier runs of the demo.
MAILDIR="${YOYAKU_MAILSTACK_DIR:-/tmp/yoyaku-mailstack}/mail/example.jp/taro.yamada/Maildir"
COUNT=$(find "$MAILDIR/new" "$MAILDIR/cur" -type f 2>/dev/null | wc -l)

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
"$SEEKER_BIN" wait --user "$SEEKER" --count $((COUNT + 2))

echo; echo "== The daemon's log (ids only, no personal data): .state/yoyaku.log"
tail -n 5 .state/yoyaku.log
if [ "$KEEP" = 1 ]; then
    echo "yoyaku is running (pid $DAEMON) on $DESK; stop it with: kill $DAEMON"
fi
