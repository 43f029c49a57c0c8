/*
 * api_scan.h - the API source's fast page splitter (issue #11 throughput).
 *
 * A page is validated once, byte by byte, by a strict recursive-descent JSON
 * scanner (RFC 8259 grammar, depth at most 2048, nothing after the value)
 * that builds no tree:
 * it only records where the record array and each of its elements sit, so
 * the API source can copy each record's raw bytes to the JSON Lines spool
 * and parse with jansson only the small rest of the page (the "skeleton":
 * the page with the record array cut down to `[]`) for the next cursor,
 * `done` and next-URL lookups.
 *
 * The scanner accepts a page only when it is sure: anything it does not
 * handle (a JSON error, no record array, duplicate candidate keys, an
 * element that is not an object) makes it return BRONZE_SCAN_FALLBACK and
 * the caller takes the jansson path, whose messages (page number, URL, first
 * bytes) stay the reference. Valid JSON that no column holds as it is (a NUL
 * or lone surrogate escape, bytes that are not UTF-8, a real beyond the
 * double range) is no fallback: its record is spooled unlisted in the side
 * index, and the JSON Lines reader judges it as it would in a file.
 *
 * Records path: data_path (dot path; numeric parts index arrays; "$" or "."
 * the document itself), else the
 * document itself when it is an array, else the first of items, data,
 * results, records that is an array (SPEC §3 default lookup).
 */
#ifndef BRONZE_SOURCE_API_SCAN_H
#define BRONZE_SOURCE_API_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "source/file_json.h"

typedef struct bronze_span {
    size_t off, len;
} bronze_span;

/* An element of a candidate record array; an object's members are listed
 * for the spool's side index (file_json.h). */
typedef struct bronze_scan_rec {
    size_t off, len;
    size_t mbeg, nmem; /* its members: mem[mbeg, mbeg + nmem) */
    bool plain;        /* every member is as parsing would hand it out */
    bool breaks;       /* it holds a raw CR or LF (whitespace between tokens) */
} bronze_scan_rec;

typedef struct bronze_scan {
    /* the record array, '[' to ']' inclusive */
    size_t arr_off, arr_len;
    /* its elements (each an object), in order; points into cand[] */
    const bronze_scan_rec *recs;
    size_t nrecs;
    /* members of the elements of every candidate array, offsets from their
     * record's first byte */
    bronze_json_span *mem;
    size_t nmem, cap_mem;
    bool big_int;      /* an integer literal beyond int64 somewhere */
    const char *where; /* the records path used: data_path, "", or a default key */
    /* internal: slot 0 is data_path's target (or the document as an array),
     * 1..4 the default keys items, data, results, records */
    bronze_scan_rec *cand[5];
    size_t ncand[5], cand_cap[5];
    size_t cand_off[5], cand_len[5];
    int cand_seen[5];
    bool cand_array[5];
} bronze_scan;

enum { BRONZE_SCAN_OK = 0, BRONZE_SCAN_FALLBACK = 1, BRONZE_SCAN_OOM = -1 };

/* Scans p[0..n) for data_path (NULL or "" = default lookup). On OK, out holds
 * the spans; out is reused across pages (free with bronze_scan_free). */
int bronze_scan_page(bronze_scan *out, const char *p, size_t n, const char *data_path);
void bronze_scan_free(bronze_scan *sc);

/* Record r's members as the spool's side index takes them
 * (bronze_spool_add_raw): NULL when one of them is not as parsing would hand
 * it out (the reader parses the record), else r->nmem spans (a valid pointer
 * also for none: "{}" is listed, with nothing in it). */
const bronze_json_span *bronze_scan_rec_members(const bronze_scan *sc, const bronze_scan_rec *r);

/* Is p[0..n) one JSON object (whitespace around it allowed), by the page
 * scanner's grammar (text no column holds is valid JSON here too)? OK with
 * *nmem its member count; FALLBACK when not (jansson's message says why);
 * OOM. sc is scratch space, reused across calls (bronze_scan_free). */
int bronze_scan_object(bronze_scan *sc, const char *p, size_t n, size_t *nmem);

/* Within an object's text p[0..n) (already validated), the span of the value
 * of top-level key `key` (last one wins); false when absent. */
bool bronze_scan_member(const char *p, size_t n, const char *key, bronze_span *out);

#endif
