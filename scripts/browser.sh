#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the browser test
# (tests/browser.rs) when missing: /usr/bin/chromium, /usr/bin/chromedriver,
# and a Japanese font, so the screenshots of the pages can be read.
set -euo pipefail
FONT=/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] && [ -e "$FONT" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "browser: installing chromium, chromium-driver and fonts-ipafont-gothic from Debian's packages" >&2
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-ipafont-gothic >/dev/null
