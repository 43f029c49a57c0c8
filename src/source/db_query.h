/*
 * db_query.h - wrapping a user's base_query for an incremental filter
 * (SPEC §3): SELECT * FROM (<query>\n) bronze_src WHERE "<col>" > <rhs>.
 * A trailing ';' and trailing -- comments are removed first, and the ')' goes
 * on its own line so a query ending in a comment stays valid.
 */
#ifndef BRONZE_SOURCE_DB_QUERY_H
#define BRONZE_SOURCE_DB_QUERY_H

#include "util/buf.h"

/* Length of `q` without trailing whitespace, ';' and a final -- comment. */
size_t bronze_db_query_trimmed_len(const char *q);
/* Appends the wrapped query; `rhs` is the already-safe right-hand side
 * (a placeholder like "?1", or a quoted literal). Column name quoted with "". */
int bronze_db_wrap_incremental(bronze_buf *out, const char *base_query, const char *column,
                               const char *rhs);

#endif
