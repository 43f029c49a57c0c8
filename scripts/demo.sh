#!/usr/bin/env bash
# The Quick start demo: builds bronze-extract, creates the bundled SQLite
# database from examples/demo.sql and extracts it into ./output.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build
make -s -j2 release >/dev/null
rm -f examples/demo.db
sqlite3 examples/demo.db < examples/demo.sql
export DEMO_DB_CONN="sqlite:examples/demo.db"
build/release/bronze-extract --config examples/demo.yaml --log-format simple "$@"
echo
echo "Output:"
find output -path '*/.bronze-tmp' -prune -o -type f -print | sort
