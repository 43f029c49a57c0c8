/*
 * fanin.h - one extraction read over several connections (SPEC §8: "inside
 * one process, parallel_workers shards the same way over that many
 * connections").
 *
 * A source wrapper: for a database config with source.db.partitioning and
 * run.parallel_workers W > 1, open() opens W sources of the config's own
 * kind, each restricted to its W-th of this process's key ranges (the whole
 * table, or a --shard's slice), each on its own connection and reader
 * thread. next() hands the job their batches in turn (the batch buffers are
 * exchanged, not copied), so every row reaches the one roller exactly once;
 * the order of rows across connections is not fixed. cursor() is the typed
 * maximum of the connections' cursors. A RESTART or error of one connection
 * stops them all: after a RESTART every connection starts over (fresh
 * sources), as a single source would.
 */
#ifndef BRONZE_RUN_FANIN_H
#define BRONZE_RUN_FANIN_H

#include <stdbool.h>

#include "config/config.h"
#include "source/source.h"

/* True when a config's reads fan out over connections (W > 1). */
bool bronze_fanin_applies(const bronze_config *cfg, bool dry_run);

extern const bronze_source_vt bronze_source_fanin;

#endif
