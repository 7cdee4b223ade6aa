#!/usr/bin/env bash
# Sets up the official LicenseSpring Python SDK for the interop test (tests/python_sdk.rs):
# a virtualenv at target/python-sdk-venv holding licensespring==$LSCONFORM_SDK_VERSION (pip brings
# pycryptodome, pyOpenSSL and requests). Idempotent: when the venv already imports the pinned
# version it only prints the interpreter's path. Prints the interpreter's absolute path on stdout;
# everything else goes to stderr.
#
#   scripts/python-sdk-venv.sh            # PYTHON=python3.11 scripts/python-sdk-venv.sh to pick the base
set -euo pipefail
cd "$(dirname "$0")/.."

version=4.0.0
venv="$PWD/target/python-sdk-venv"
python="$venv/bin/python"
base="${PYTHON:-python3}"

ready() {
    [ -x "$python" ] && "$python" - "$version" >/dev/null 2>&1 <<'PY'
import sys
from importlib.metadata import version
import licensespring.api, licensespring.api.signature  # noqa: F401  (the modules the test uses)
sys.exit(0 if version("licensespring") == sys.argv[1] else 1)
PY
}

if ! ready; then
    mkdir -p target
    # One set-up at a time (CI and parallel test binaries may call this together).
    exec 9>target/python-sdk-venv.lock
    if command -v flock >/dev/null; then flock 9; fi
    if ! ready; then
        echo "python-sdk-venv: creating $venv with licensespring==$version" >&2
        "$base" -m venv "$venv" >&2
        "$python" -m pip install --disable-pip-version-check --quiet "licensespring==$version" >&2
        ready || { echo "python-sdk-venv: licensespring==$version does not import after pip install" >&2; exit 1; }
    fi
fi
echo "$python"
