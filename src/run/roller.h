/*
 * roller.h - cuts the row stream into part files (SPEC §6.2).
 *
 * One roller per job. It drives one encoder per enabled format over the same
 * rows, so part-NNNN.csv and part-NNNN.parquet always hold the same rows, and
 * closes a part at whichever limit comes first: max_rows_per_file (exact), or
 * max_file_size_mb (the encoders' fit() says how many rows still fit; the
 * larger of the two files rules). Parts are staged in the job's tmp dir and
 * listed in `files` once finished (fsynced, sized, hashed); commit moves them.
 *
 * Text check (SPEC §7): every batch of every source passes here, so this is
 * where STRING and JSON values are checked to be UTF-8 before any encoder
 * sees them (a Parquet reader refuses a whole column over one bad value). A
 * bad value fails the run naming the row (1-based over the stream), the
 * column and the fix; with source.run.invalid_utf8: replace the batch is
 * written through a shadow copy whose bad columns have U+FFFD in place of
 * each ill-formed subpart (the source's batch is never modified), counted
 * in replaced_utf8.
 */
#ifndef BRONZE_RUN_ROLLER_H
#define BRONZE_RUN_ROLLER_H

#include <stdint.h>

#include "batch/batch.h"
#include "config/config.h"
#include "format/encoder.h"

typedef struct bronze_part_file {
    char name[64];      /* "part-0001.parquet" ("part-0001-s03.parquet" from shard 3) */
    char *staged_path;  /* owned; where the finished file waits for commit */
    const char *format; /* "csv" | "parquet" */
    uint64_t rows, bytes;
    char sha256[65];
    int shard; /* the scale-out shard that wrote it (SPEC §8), -1 when none */
} bronze_part_file;

typedef struct bronze_roller {
    const bronze_schema *schema; /* = out_schema: what the encoders write */
    bronze_schema *out_schema;   /* owned; the source's schema under its output
                                  * names (batch/names.h), source_name kept */
    bool schema_oom;             /* building out_schema failed: the next write fails */
    char *rename_note;           /* owned; the last rename warning, so it is said once */
    const bronze_encoder_vt *vts[2];
    bronze_encoder *enc[2];
    int nvt;
    bronze_encoder_opts opts;
    char *tmp_dir;
    int64_t max_rows;
    unsigned first_part, next_part;
    char name_suffix[16]; /* after the number: "-s03" for shard 3 (SPEC §8); "" by default */
    int shard;            /* recorded in files[]: -1 (init) or the shard */
    bool part_open;
    uint64_t part_rows;
    /* "Chunk K completed successfully (N rows)" at debug as part K closes
     * (on from init; off where the source logs the seed's chunk lines) */
    bool part_lines;
    bronze_part_file *files;
    size_t nfiles, cap;
    uint64_t total_rows, total_bytes, parts;
    /* text check (bronze_roller_set_text_policy) */
    bool text_replace, text_from_file;
    const char *text_where; /* config path for messages, or NULL */
    uint64_t replaced_utf8; /* U+FFFD written so far (reset by discard) */
    bronze_batch shadow;    /* the batch as written when a column was repaired */
    bronze_column *shadow_cols;
    struct bronze_text_fix *fix; /* per column: repaired bytes and offsets */
    size_t nfix;
} bronze_roller;

/* formats: bit 0 CSV, bit 1 Parquet. first_part: number of the first part. */
int bronze_roller_init(bronze_roller *r, const char *tmp_dir, unsigned formats,
                       const bronze_encoder_opts *opts, int64_t max_rows, unsigned first_part,
                       bronze_err *err);
/* Sets the schema for the rows to come (before the first write, and after a
 * discard when the source widened its schema). The roller keeps its own copy
 * under the output names (r->out_schema: partition-key and case-insensitive
 * clashes renamed, warned once); encoders and the marker use that copy, the
 * batches still point at the source's. -1 on OOM, and the next write fails
 * with it too (so a caller that ignores the return still cannot write). */
int bronze_roller_set_schema(bronze_roller *r, const bronze_schema *schema);
/* How text that is not UTF-8 is handled: cfg->run.invalid_utf8, the fix
 * named in messages by cfg->type (a CAST for a database, the encoding for
 * a file), cfg->path as the messages' prefix. Without a call: fail, with a
 * generic fix. cfg must outlive the roller. */
void bronze_roller_set_text_policy(bronze_roller *r, const bronze_config *cfg);
/* Checks the batch's text (see above) and writes its rows. */
int bronze_roller_write(bronze_roller *r, const bronze_batch *b, bronze_err *err);
/* Closes the open part, if any. */
int bronze_roller_finish(bronze_roller *r, bronze_err *err);
/* Drops every staged part (source restart or failure) and starts numbering again. */
void bronze_roller_discard(bronze_roller *r);
void bronze_roller_free(bronze_roller *r);

/* SHA-256 of a file as lowercase hex. */
int bronze_sha256_file(const char *path, char out[65], bronze_err *err);

#endif
