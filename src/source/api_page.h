/*
 * api_page.h - internal: the API source's page parser (api.c) on one page
 * from memory, no HTTP, for tests/fuzz/fuzz_api.c: take_page() (the records
 * at data_path or the default lookup, spooled, the incremental cursor), then
 * the next-page lookups fetch_all() makes: cursor_path, next_url_path, the
 * Link header's rel="next", each resolved against the page's URL.
 */
#ifndef BRONZE_SOURCE_API_PAGE_H
#define BRONZE_SOURCE_API_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "source/source.h"

typedef struct bronze_api_page {
    size_t records;     /* records take_page() held */
    uint64_t read_back; /* rows the file source read back from the spool */
    char *cursor;       /* the cursor_path value as text, or NULL */
    char *next_url;     /* next_url_path's string, or NULL */
    char *link;         /* the Link header's rel="next" target, or NULL */
    char *resolved;     /* the first of cursor (a URL), next_url, link resolved against url */
    char *max_cursor;   /* the incremental cursor_field maximum, or NULL */
} bronze_api_page;

/* Parses body[0..len) as page 1 of url for ctx->cfg (type api), with the
 * response's Link header value link (NULL: none). With ctx->tmp_dir set the
 * records are spooled there, with their side index, and read back through the
 * file source (the run's own path, without its second thread). 0; -1 with err set as the run would
 * fail; -2 with err set when the page was taken but its spooled records do not read back. Free out
 * with bronze_api_page_free (also after a failure). */
int bronze_api_page_parse(const bronze_source_ctx *ctx, const char *url, const void *body,
                          size_t len, const char *link, bronze_api_page *out, bronze_err *err);
void bronze_api_page_free(bronze_api_page *out);

#endif
