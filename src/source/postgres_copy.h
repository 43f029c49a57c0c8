/*
 * postgres_copy.h - internal: postgres.c's binary COPY decoder without a
 * connection, for tests/fuzz/fuzz_pgcopy.c. The very code the source runs
 * (map_type, parse_message, decode_field), fed messages from memory.
 */
#ifndef BRONZE_SOURCE_POSTGRES_COPY_H
#define BRONZE_SOURCE_POSTGRES_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Decodes the CopyData messages msgs[0..nmsgs) (lens[i] bytes each: the
 * PGCOPY header first, then rows, then the -1 end marker) for ncols columns
 * described as oids[i] / typmods[i], into batches of batch_rows rows, as
 * pg_fetch does. time_text: output_defaults.time_as string. *rows gets the
 * rows decoded. 0 when the stream is well-formed and ended with its marker;
 * -1 with err set otherwise. */
int bronze_pg_copy_decode(const uint32_t *oids, const int32_t *typmods, size_t ncols,
                          bool time_text, const void *const *msgs, const size_t *lens, size_t nmsgs,
                          size_t batch_rows, uint64_t *rows, bronze_err *err);

#endif
