#!/bin/sh
# extract_events.sh - an example command extractor for bronze-extract:
# prints N JSON records (N = $1, default 3) whose event ids continue after the
# previous run's cursor, then the new cursor. bronze-extract runs it without a
# shell in between, with BRONZE_CONFIG_JSON, BRONZE_RUN_DATE and
# BRONZE_LAST_CURSOR (unset on a first run) in the environment; stderr lines
# land in bronze-extract's log.
set -eu
n=${1:-3}
last=${BRONZE_LAST_CURSOR:-0}
i=1
while [ "$i" -le "$n" ]; do
    id=$((last + i))
    printf '{"event_id":%d,"kind":"%s","day":"%s","score":%d.5,"tags":["a","b"]}\n' \
        "$id" "$([ $((id % 2)) -eq 0 ] && echo view || echo click)" "$BRONZE_RUN_DATE" "$id"
    i=$((i + 1))
done
echo "[INFO] extract_events: $n events after ${BRONZE_LAST_CURSOR:-the start}" >&2
printf '{"_bronze_cursor":"%d"}\n' $((last + n))
