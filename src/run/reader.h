/*
 * reader.h - runs a source on its own thread, one batch ahead of the encoders.
 *
 * The source fills batches in a small ring (BRONZE_READER_SLOTS) while the job
 * thread encodes the previous ones, so reading/decoding and encoding overlap
 * on two cores. One "segment" runs until the source returns anything but
 * ROWS (END, RESTART or an error): the thread then stops, and the job handles
 * that outcome and, if it continues (restart, retry), starts a new segment.
 * Memory: at most BRONZE_READER_SLOTS batches, each capped in rows and in
 * bytes (BRONZE_BATCH_MAX_BYTES), so the ring holds at most 64 MiB of values.
 * Between segments only the job thread touches the source.
 */
#ifndef BRONZE_RUN_READER_H
#define BRONZE_RUN_READER_H

#include <pthread.h>
#include <stdbool.h>

#include "batch/batch.h"
#include "source/source.h"

#define BRONZE_READER_SLOTS 4

typedef struct bronze_reader_slot {
    bronze_batch batch;
    bronze_err err;
    int result; /* what next() returned */
    bool full;
} bronze_reader_slot;

typedef struct bronze_reader {
    const bronze_source_vt *vt;
    bronze_source *src;
    bronze_reader_slot slot[BRONZE_READER_SLOTS];
    size_t cap;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, cancel;
    size_t head; /* next slot the consumer takes */
    char job_tag[160];
} bronze_reader;

/* Allocates the ring for `schema`. */
int bronze_reader_init(bronze_reader *r, const bronze_schema *schema, size_t cap);
/* Re-allocates the ring for a new schema (after a RESTART); no segment running. */
int bronze_reader_reset(bronze_reader *r, const bronze_schema *schema);
/* Starts a segment over `src`. */
int bronze_reader_start(bronze_reader *r, const bronze_source_vt *vt, bronze_source *src,
                        const char *job_tag);
/* Waits for the next filled slot. The slot stays owned by the consumer until
 * bronze_reader_release(). A non-ROWS result ends the segment (thread joined). */
bronze_reader_slot *bronze_reader_take(bronze_reader *r);
void bronze_reader_release(bronze_reader *r, bronze_reader_slot *s);
/* Stops a running segment early (consumer failed) and joins the thread. */
void bronze_reader_stop(bronze_reader *r);
void bronze_reader_free(bronze_reader *r);

#endif
