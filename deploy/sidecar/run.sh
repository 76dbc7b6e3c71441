#!/bin/sh
# A plane and an app side by side, as in a Pod: the plane listens on a Unix socket in a shared
# directory (and nowhere else); the app reaches it there. Stops the plane when the app is done.
#   run.sh [DIR]      DIR holds the socket and the database (default: a new temporary folder)
# PARTITA (the partita command) and PYTHON may be set; extra plane options go in PLANE_ARGS,
# e.g. PLANE_ARGS="--site-id berlin-app --hub hub:7700 --tls-cert … --tls-key … --tls-ca …".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$(mktemp -d)}
partita=${PARTITA:-partita}
python=${PYTHON:-python3}
socket="unix:$dir/plane.sock"

# shellcheck disable=SC2086  # PLANE_ARGS is a list of options
"$partita" site --listen "$socket" --db "$dir/app.db" ${PLANE_ARGS:-} &
plane=$!
trap 'kill -TERM $plane 2>/dev/null; wait $plane' EXIT
tries=0
until "$partita" --server "$socket" health >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -gt 100 ]; then echo "the plane did not start" >&2; exit 1; fi
    sleep 0.2
done
PARTITA_SERVER="$socket" "$python" "$here/app.py"
