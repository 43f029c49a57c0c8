/*
 * names.h - the column names a batch is written under (SPEC §7 "Clashes").
 *
 * A source reports the names its query, file or API gave; readers of the
 * output need two more rules, applied here once for every source kind (the
 * roller calls it on every schema it is handed, so encoders and the marker
 * see the same names):
 *   - a name equal, ignoring ASCII case, to a key of the output path
 *     (system, table, dt, hour, batch, batch_id) gets "_src" ("dt_src", then
 *     "dt_src2", ...): hive readers (DuckDB, Spark) would otherwise replace its
 *     values with the folder's;
 *   - a name equal, ignoring ASCII case, to an earlier column's output name
 *     gets "_2", "_3", ... ("a", "A" -> "a", "A_2"): Spark, Athena and Hive
 *     match names case-insensitively and would see two columns as one.
 * A candidate is also never taken from a later column's source name, so a
 * column is renamed only when it must be. Renamed fields keep the source's
 * name in source_name (the marker lists both); a field whose source already
 * renamed it (an empty or repeated CSV header or JSON key: column<N>, a_2)
 * comes with its source_name set, and keeps it.
 */
#ifndef BRONZE_BATCH_NAMES_H
#define BRONZE_BATCH_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "batch/batch.h"

/* True when name is a key of the output path, in any ASCII case. */
bool bronze_name_is_path_key(const char *name);
/* A new schema (owned by the caller; bronze_schema_free) with src's fields
 * under their output names; *renamed = how many have a source_name (differ
 * from the source's names). NULL on OOM. */
bronze_schema *bronze_schema_output_names(const bronze_schema *src, size_t *renamed);

#endif
