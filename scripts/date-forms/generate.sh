#!/usr/bin/env bash
# Writes fixtures/dates/runtimes.json: the date strings Node, Python and Java write for each instant
# of instants.txt (node.js, python.py, DateForms.java), and a few hand-written ones for .NET and Go
# (hand-written.json), merged and checked by merge.py. Deterministic for given runtime versions (the
# table records them); no network. Run it by hand after changing a writer or the instants, review
# the diff, commit the table; the tests read only the committed table (CI has no Java).
#
#   scripts/date-forms/generate.sh
#
# dayjs (the Node SDK's date formatter) is used when `require('dayjs')` resolves, e.g. with
# NODE_PATH=/path/to/node_modules; otherwise node.js writes its form with Node's Date getters and
# says so in each row's writer.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/date-forms
for tool in node python3 java; do
    command -v "$tool" >/dev/null || { echo "generate.sh: $tool is needed" >&2; exit 1; }
done
dayjs=$(node -e 'try { console.log(require("dayjs/package.json").version) } catch (_) { console.log("not installed") }')
runtimes=$(python3 -c 'import json, sys; print(json.dumps(dict(zip(["node", "dayjs", "python", "unicodedata", "java"], sys.argv[1:]))))' \
    "$(node --version)" "$dayjs" "$(python3 -c 'import sys; print(sys.version.split()[0])')" \
    "$(python3 -c 'import unicodedata; print(unicodedata.unidata_version)')" \
    "$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.version = //p')")
mkdir -p fixtures/dates
{
    for zone in UTC Europe/Berlin America/New_York Asia/Kolkata; do
        TZ=$zone node $here/node.js
    done
    python3 $here/python.py
    java -Dinstants=$here/instants.txt $here/DateForms.java
} | python3 $here/merge.py fixtures/dates/runtimes.json "$runtimes"
