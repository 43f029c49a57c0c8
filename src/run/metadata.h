/*
 * metadata.h - the batch commit marker _metadata.json (SPEC §5, §6.3, §6.4).
 *
 * Holds the seed's keys (batch_timestamp, run_date, system, table,
 * total_records, num_files, partition_path, file_formats, new_cursor) plus
 * batch_id, files[], schema[], duration_seconds and the tool version. For an
 * incremental append, files[] lists every batch's files and batches[] one
 * entry per batch; top-level totals describe the partition.
 */
#ifndef BRONZE_RUN_METADATA_H
#define BRONZE_RUN_METADATA_H

#include <jansson.h>

#include "batch/batch.h"
#include "config/config.h"
#include "run/roller.h"

typedef struct bronze_batch_info {
    const bronze_config *cfg;
    const char *batch_timestamp; /* seed form */
    const char *run_date;        /* YYYY-MM-DD */
    const char *partition_path;  /* relative, trailing '/' */
    const char *batch_id;
    const char *new_cursor;      /* NULL -> null */
    bool csv, parquet;           /* formats this batch writes */
    const bronze_schema *schema; /* NULL when unknown */
    const bronze_part_file *files;
    size_t nfiles;
    uint64_t records;
    double duration_seconds;
    uint64_t replaced_invalid_utf8; /* this batch's U+FFFD (source.run.invalid_utf8: replace) */
    json_t *previous;               /* existing marker for an incremental append, or NULL */
    /* scale-out commit (SPEC §8): the shards' merged schema (used instead
     * of `schema` when set) and their count (0: not sharded) */
    json_t *schema_json;
    int shards;
} bronze_batch_info;

/* Returns the JSON text (caller frees) or NULL on OOM. */
char *bronze_metadata_render(const bronze_batch_info *info);
/* Checks an incremental batch's schema against the partition's committed
 * one (previous marker): a new or missing column is warned about, a column
 * whose type changed is an error that says to run a full load. */
int bronze_metadata_schema_drift(json_t *previous, const bronze_schema *s, const char *cfg_path,
                                 bronze_err *err);
/* Highest part number listed in a marker's files[] (0 when none). */
unsigned bronze_metadata_max_part(json_t *meta);
/* True when `name` is listed in the marker's files[]. */
bool bronze_metadata_lists(json_t *meta, const char *name);
/* True when the marker's batch_id or one of batches[].batch_id equals id. */
bool bronze_metadata_has_batch(json_t *meta, const char *id);

#endif
