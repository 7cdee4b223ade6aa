#!/usr/bin/env bash
# Makes sure strace is installed, for the durability test (tests/reference_server/durability.rs
# counts the reference server's sync calls with it): installs Debian's package when it is missing.
# sudo only when not root (containers often have no sudo). Idempotent.
set -euo pipefail
command -v strace >/dev/null 2>&1 && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
echo "strace.sh: installing Debian's strace" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y strace >&2 || { $sudo apt-get update >&2 && $sudo apt-get install -y strace >&2; }
command -v strace >/dev/null 2>&1
