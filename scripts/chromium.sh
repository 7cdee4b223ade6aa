#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed, for the HTML report's browser test
# (tests/html_report.rs opens a report in headless Chromium and reads the rendered DOM): installs
# the `chromium` package when no chromium is on the PATH. sudo only when not root (containers often
# have no sudo). Idempotent. Prints the browser's path.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
    echo "chromium.sh: installing Debian's chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get install -y --no-install-recommends chromium >&2 ||
        { $sudo apt-get update >&2 && $sudo apt-get install -y --no-install-recommends chromium >&2; }
fi
command -v chromium
