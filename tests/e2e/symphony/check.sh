#!/usr/bin/env bash
# A script stage: reads the inputs file ($1), writes <name>-output.json beside it.
set -euo pipefail
inputs="$1"
outputs="${inputs%.json}-output.json"
if grep -q '"wanted": "ok"' "$inputs"; then
  echo '{"status": 200, "checked": true}' > "$outputs"
else
  echo '{"status": 403, "error": "policy refused the change"}' > "$outputs"
fi
