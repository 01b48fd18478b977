#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser test
# (tests/browser.rs) when missing: /usr/bin/chromium, /usr/bin/chromedriver,
# and a Japanese font, so the screenshots of the pages can be read.
set -euo pipefail
# axe-core from npm for the accessibility check of every page (issue 28),
# pinned, kept outside the clone so CI installs it once.
AXE_DIR="${YOYAKU_AXE_DIR:-$HOME/.cache/yoyaku-axe}"
if [ ! -s "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "browser: installing npm from Debian's packages" >&2
        SUDO=""; if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
    fi
    echo "browser: installing axe-core from npm into $AXE_DIR" >&2
    mkdir -p "$AXE_DIR"
    npm install --silent --no-audit --no-fund --prefix "$AXE_DIR" axe-core@4.10.3 >/dev/null
fi
FONT=/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -e "$FONT" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "browser: installing chromium, chromium-driver and fonts-ipafont-gothic from Debian's packages" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-ipafont-gothic >/dev/null
