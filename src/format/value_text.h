/*
 * value_text.h - one batch value as text, in the forms SPEC §7 fixes for CSV
 * output (and reused for cursor text): booleans true/false, shortest
 * round-trip floats with NaN/inf/-inf, exact decimals, ISO dates and
 * timestamps (space separator, "+00" for time-zone-aware), bytes as \x hex.
 */
#ifndef BRONZE_FORMAT_VALUE_TEXT_H
#define BRONZE_FORMAT_VALUE_TEXT_H

#include "batch/batch.h"
#include "util/buf.h"

/* Appends the text of row `row` of column `c` (must be non-null) to out. */
int bronze_value_text(const bronze_field *f, const bronze_column *c, size_t row, bronze_buf *out);
/* Shortest text that reads back to exactly v ("NaN", "inf", "-inf" for those). */
size_t bronze_fmt_double(double v, char *out /* >= 32 bytes */);
size_t bronze_fmt_float(float v, char *out /* >= 32 bytes */);
/* Unscaled decimal with `scale` digits after the point, e.g. (-1250, 2) -> "-12.50". */
size_t bronze_fmt_decimal(__int128 v, int scale, char *out /* >= 48 bytes */);

#endif
