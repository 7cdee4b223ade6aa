#!/bin/bash -eu
# Builds every cargo-fuzz target of fuzz/ into $OUT for ClusterFuzzLite, each with its seed corpus
# ($OUT/<target>_seed_corpus.zip: fuzz/seeds, fuzz/corpus and fuzz/regressions of the target) and
# its dictionary ($OUT/<target>.dict, which libFuzzer is given by its name). The builder image sets
# $SRC, $OUT and $SANITIZER; scripts/cflite-build-check.sh runs this script outside it, with
# SANITIZER=none (stable Rust), and checks what lands in $OUT.
# -P: the physical directory (scripts/cflite-build-check.sh links $SRC/lsconform to the checkout;
# cargo then sees the paths fuzz/smoke.sh built, and reuses that build).
cd -P "$SRC/lsconform"

# cargo-fuzz's own sanitizer flag, except in the image's address and coverage builds, whose flags
# the image's cargo sets.
flags=()
if [ "${SANITIZER:-address}" = none ]; then flags=(--sanitizer none); fi
# -a: debug assertions (overflow checks) on, as `cargo fuzz run` and fuzz/smoke.sh build by default:
# they catch more while fuzzing, and the check below reuses smoke.sh's build instead of rebuilding.
cargo fuzz build -O -a "${flags[@]}"
built="${CARGO_TARGET_DIR:-fuzz/target}/x86_64-unknown-linux-gnu/release"

# Each target's seeds, corpus and dictionary: its own (fuzz/seeds/<target>, fuzz/corpus/<target>,
# fuzz/<target>.dict), or where it has none, decode_request's, whose inputs the targets without
# their own read (the baselines; verify_request's seeds), as in fuzz/smoke.sh.
own_or_shared() { # <path of the target's own> <path of decode_request's>
    if [ -e "$1" ]; then echo "$1"; else echo "$2"; fi
}

for source in fuzz/fuzz_targets/*.rs; do
    target=$(basename "$source" .rs)
    cp "$built/$target" "$OUT/$target"
    cp "$(own_or_shared "fuzz/$target.dict" fuzz/decode_request.dict)" "$OUT/$target.dict"
    seeds=$(own_or_shared "fuzz/seeds/$target" fuzz/seeds/decode_request)
    corpus=$(own_or_shared "fuzz/corpus/$target" fuzz/corpus/decode_request)
    # One flat archive; each name keeps its directory's (seeds-, corpus-, regressions-), so that
    # two inputs of the same name in two directories are both kept.
    python3 - "$OUT/${target}_seed_corpus.zip" "$seeds" "$corpus" "fuzz/regressions/$target" <<'PY'
import os, sys, zipfile
archive, *dirs = sys.argv[1:]
with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
    for d in dirs:
        if not os.path.isdir(d):
            continue
        prefix = os.path.basename(os.path.dirname(d))
        for f in sorted(os.listdir(d)):
            path = os.path.join(d, f)
            if os.path.isfile(path):
                z.write(path, f"{prefix}-{f}")
PY
done
