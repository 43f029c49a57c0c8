#!/bin/bash
# Submits one sharded run: the K-task extract array, then the commit job that
# Slurm starts only when every task ended with exit 0 (and cancels otherwise).
# Prints the two job ids.
#
#   examples/slurm/submit.sh CONFIG DATE K     e.g. submit.sh /shared/orders.yaml 2025-01-12 4
#
# Extra sbatch options (partition, account, time limit) go in SBATCH_* variables
# or in the scripts' #SBATCH lines.
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 CONFIG DATE K" >&2; exit 2; }
config=$1 date=$2 k=$3
here=$(cd "$(dirname "$0")" && pwd)
export BRONZE_CONFIG=$config BRONZE_DATE=$date
# the tasks take I and K from SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT
array=$(sbatch --parsable --array="0-$((k - 1))" "$here/extract.sbatch")
array=${array%%;*}
commit=$(BRONZE_SHARDS=$k sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes "$here/commit.sbatch")
echo "extract array: $array  commit: ${commit%%;*}"
