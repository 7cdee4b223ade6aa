#!/usr/bin/env bash
# Runs .clusterfuzzlite/build.sh as ClusterFuzzLite's builder image would (with $SRC holding the
# repository as $SRC/lsconform and an empty $OUT), on stable Rust (SANITIZER=none), and checks that
# every cargo-fuzz target of fuzz/Cargo.toml lands in $OUT as a binary with its seed corpus archive
# and dictionary, and that each binary runs every input of its archive once without a failure.
# cargo-fuzz is installed if missing. Run after fuzz/smoke.sh (.ci/run does), which builds the same
# targets with the same flags in the same target directory: the build here is then a cache hit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SRC="$work/src" OUT="$work/out" SANITIZER=none
mkdir -p "$SRC" "$OUT"
ln -s "$repo" "$SRC/lsconform"
bash "$repo/.clusterfuzzlite/build.sh"

targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$repo/fuzz/Cargo.toml" | grep -vx 'lsconform-fuzz')
[ -n "$targets" ] || { echo "cflite-build-check: no [[bin]] in fuzz/Cargo.toml" >&2; exit 1; }
status=0
for t in $targets; do
    zip="$OUT/${t}_seed_corpus.zip"
    if [ ! -x "$OUT/$t" ] || [ ! -s "$zip" ] || [ ! -s "$OUT/$t.dict" ]; then
        echo "cflite-build-check: $t: missing in \$OUT (binary, ${t}_seed_corpus.zip or $t.dict)" >&2
        status=1
        continue
    fi
    inputs="$work/inputs-$t"
    mkdir "$inputs"
    n=$(python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2]); print(len(z.namelist()))' "$zip" "$inputs")
    if [ "$n" -eq 0 ]; then
        echo "cflite-build-check: $t: an empty seed corpus" >&2
        status=1
        continue
    fi
    # Every input once (-runs=0 runs the corpus and stops), with the dictionary the image gives it.
    if ! "$OUT/$t" -runs=0 -dict="$OUT/$t.dict" "$inputs" >"$work/$t.log" 2>&1; then
        tail -30 "$work/$t.log" >&2
        echo "cflite-build-check: $t failed on its seed corpus" >&2
        status=1
        continue
    fi
    echo "$t: binary, ${t}_seed_corpus.zip ($n inputs, each run once) and $t.dict in \$OUT"
done
extra=$(cd "$OUT" && ls | grep -v -e '_seed_corpus\.zip$' -e '\.dict$' | grep -vxF "$targets" || true)
if [ -n "$extra" ]; then
    echo "cflite-build-check: in \$OUT but not a target of fuzz/Cargo.toml: $extra" >&2
    status=1
fi
exit $status
