#!/usr/bin/env bash
# Minimises a target's committed corpus fuzz/corpus/<target>/ to at most BUDGET inputs (default 50)
# that add the most edge coverage beyond the generated seeds fuzz/seeds/<target>/ (decode_request's
# for verify_request): a greedy set cover over what each input covers. `cargo fuzz cmin` keeps every
# input with a feature of its own, hundreds per target here (many error paths, each a few edges);
# this keeps the tens that matter and says how many of the new edges they cover. Inputs are taken
# from fuzz/corpus/<target>/ and from any directories given after the target. Needs python3; builds
# the target if needed.
#
#   fuzz/minimise.sh handler [/tmp/handler-scratch ...]
#   BUDGET=60 fuzz/minimise.sh roundtrip
#   CURVE=1 BUDGET=500 fuzz/minimise.sh auth_header    # how coverage grows with the budget
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/minimise.sh TARGET [DIR...]}
shift
budget=${BUDGET:-50}
if [ "$target" = base64_baseline ] || [ "$target" = decode_baseline ]; then
    echo "$target runs on decode_request's corpus: minimise that one" >&2
    exit 2
fi
seeds=seeds/$target
[ "$target" = verify_request ] && seeds=seeds/decode_request   # it has no seeds of its own
cargo fuzz build --sanitizer none "$target" >&2
bin=$PWD/target/x86_64-unknown-linux-gnu/release/$target
work=$(mktemp -d); [ -n "${KEEP:-}" ] && echo "work: $work" >&2
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
mkdir -p "corpus/$target" "$work/candidates" "$work/cov"

# 1. libFuzzer's own merge (edges only, no hit counts) drops the inputs that add nothing.
"$bin" -merge=1 -use_counters=0 "$work/candidates" "corpus/$target" "$@" >"$work/merge.log" 2>&1 \
    || { cat "$work/merge.log" >&2; exit 1; }

# 2. What each seed and candidate covers on its own: a merge of that one file into an empty
#    directory lists all its edges in the control file (merging copies the file into that
#    directory, so each gets its own).
coverage() {
    local file=$1 out=$2 one
    one=$(mktemp -d -p "$work")
    mkdir "$one/in" "$one/out"
    ln -s "$(realpath "$file")" "$one/in/input"
    "$bin" -merge=1 -use_counters=0 -merge_control_file="$out" "$one/out" "$one/in" >/dev/null 2>&1 || true
    rm -rf "$one"
}
for f in "$seeds"/*; do coverage "$f" "$work/cov/seed.$(basename "$f")"; done
for f in "$work/candidates"/*; do
    [ -e "$f" ] && coverage "$f" "$work/cov/candidate.$(basename "$f")"
done

# 3. Greedy set cover of the candidates' edges beyond the seeds', within the budget.
before=$(find "corpus/$target" -type f | wc -l)
find "corpus/$target" -type f -delete
python3 - "$work/cov" "$work/candidates" "corpus/$target" "$budget" <<'PY'
import os, shutil, sys
cov_dir, candidates, out, budget = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def edges(path):
    with open(path) as f:
        return {int(pc) for line in f if line.startswith("COV ") for pc in line.split()[2:]}
seeds, cands = set(), {}
for name in os.listdir(cov_dir):
    kind, _, file = name.partition(".")
    if kind == "seed":
        seeds |= edges(os.path.join(cov_dir, name))
    else:
        cands[file] = edges(os.path.join(cov_dir, name))
cands = {f: e - seeds for f, e in cands.items()}
new = set().union(*cands.values()) if cands else set()
covered, picked = set(), []
if os.environ.get("CURVE"):
    print("inputs: new edges covered", file=sys.stderr)
while len(picked) < budget:
    best = max(sorted(cands), key=lambda f: len(cands[f] - covered), default=None)
    if best is None or not cands[best] - covered:
        break
    covered |= cands.pop(best)
    picked.append(best)
    if os.environ.get("CURVE") and len(picked) in (5, 10, 20, 40, 60, 80, 100, 150, 200, 300, 500):
        print(f"  {len(picked)}: {len(covered)}", file=sys.stderr)
for f in picked:
    shutil.copy(os.path.join(candidates, f), os.path.join(out, f))
print(f"{out}: {len(picked)} inputs cover {len(covered)} of the {len(new)} edges "
      f"the candidates add to the seeds' {len(seeds)}")
PY
echo "(from $before inputs in corpus/$target and $# other directories)"
