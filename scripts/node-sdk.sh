#!/usr/bin/env bash
# Sets up the official LicenseSpring Node SDK for the interop test (tests/node_sdk.rs):
# @licensespring/node-sdk at the version pinned in tests/node_sdk/package.json, with the exact
# dependency tree of tests/node_sdk/package-lock.json, installed by `npm ci --ignore-scripts` into
# target/node-sdk (gitignored). Node.js and npm come from Debian's packages when missing.
# Idempotent: when the pinned version already loads it only prints the path. Prints the absolute
# path of the node_modules directory on stdout (the test puts it in NODE_PATH); everything else
# goes to stderr.
#
#   scripts/node-sdk.sh
set -euo pipefail
cd "$(dirname "$0")/.."

dir="$PWD/target/node-sdk"
modules="$dir/node_modules"
version=$(sed -n 's/.*"@licensespring\/node-sdk": "\([^"]*\)".*/\1/p' tests/node_sdk/package.json)
[ -n "$version" ] || { echo "node-sdk: no pinned @licensespring/node-sdk in tests/node_sdk/package.json" >&2; exit 1; }

ready() {
    command -v node >/dev/null 2>&1 && [ -d "$modules" ] &&
        NODE_PATH="$modules" node -e '
            const v = require("@licensespring/node-sdk/package.json").version;
            require("@licensespring/node-sdk"); // the modules the test loads (koffi among them)
            process.exit(v === process.argv[1] ? 0 : 1);' "$version" >/dev/null 2>&1
}

if ! ready; then
    mkdir -p "$dir"
    # One set-up at a time (CI and parallel test binaries may call this together).
    exec 9>"$dir.lock"
    if command -v flock >/dev/null; then flock 9; fi
    if ! ready; then
        if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
            echo "node-sdk: installing Node.js and npm from Debian's packages" >&2
            if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
            $sudo apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >&2
        fi
        echo "node-sdk: installing @licensespring/node-sdk@$version into $dir" >&2
        cp tests/node_sdk/package.json tests/node_sdk/package-lock.json "$dir/"
        # No install scripts: koffi (the SDK's FFI, for its hardware-id library) ships prebuilt
        # binaries in its package, and nothing else needs building.
        (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
        ready || { echo "node-sdk: @licensespring/node-sdk@$version does not load after npm ci" >&2; exit 1; }
    fi
fi
echo "$modules"
