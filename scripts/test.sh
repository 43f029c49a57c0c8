#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds (release + ASan/UBSan),
# checks formatting, runs the C unit tests (cmocka) and the integration tests
# (node's test runner driving the binary, DuckDB reading the output back).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test
make -s -j2 release asan >/dev/null
make -s format-check
make -s -j2 unit
make -s integration
make -s -j2 fuzz-smoke
