#!/bin/sh
# The browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
# Install it when we can (root with apt-get); otherwise say exactly what to install.
CHROMIUM="${NAVMETRICS_CHROMIUM:-/usr/bin/chromium}"
[ -x "$CHROMIUM" ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        && [ -x "$CHROMIUM" ] && exit 0
fi
echo "The browser tests need Chromium at $CHROMIUM. Install it (Debian: sudo apt-get install chromium)," >&2
echo "or point NAVMETRICS_CHROMIUM at a Chromium binary, then run make test again." >&2
exit 1
