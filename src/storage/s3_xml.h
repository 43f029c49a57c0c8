/*
 * s3_xml.h - the few S3 response documents the back end reads, parsed by a
 * small bounds-checked reader (no libxml2: these documents are flat, and a
 * reader we own is easy to fuzz).
 *
 * Every function is pure over (xml, n): no NUL needed, nothing read past n.
 * Hostile input (truncated, unbalanced, too deep, a DOCTYPE, a bad entity)
 * gives -1 with a clear message in err, never a crash. Element text is
 * entity-decoded (&amp; &lt; &gt; &quot; &apos; &#NN; &#xNN;) and capped at
 * BRONZE_S3_XML_TEXT_MAX bytes.
 */
#ifndef BRONZE_STORAGE_S3_XML_H
#define BRONZE_STORAGE_S3_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "storage/storage.h"
#include "util/err.h"

#define BRONZE_S3_XML_TEXT_MAX 8192
#define BRONZE_S3_XML_DEPTH_MAX 16

/* An S3 <Error> document's Code and Message (empty when absent). */
typedef struct bronze_s3_error {
    char code[128];
    char message[512];
} bronze_s3_error;

/* Walks a document: for each closing element, calls on_end with the names
 * from the root to it (path[0..depth)) and its own decoded text (direct
 * character data only). A non-zero return from on_end stops the walk and is
 * returned. Returns 0 at a well-formed end, -1 (err) when malformed. */
typedef int (*bronze_s3_xml_end_fn)(void *ctx, const char *const *path, int depth, const char *text,
                                    size_t len);
int bronze_s3_xml_walk(const char *xml, size_t n, bronze_s3_xml_end_fn on_end, void *ctx,
                       bronze_err *err);

/* The root element's name into root (cap bytes). 0, or -1 (err) when the
 * document is malformed or empty. */
int bronze_s3_xml_root(const char *xml, size_t n, char *root, size_t cap, bronze_err *err);

/* 1 when the document is an <Error> (code/message filled), 0 when it is some
 * other well-formed document, -1 (err) when malformed or empty. */
int bronze_s3_xml_error(const char *xml, size_t n, bronze_s3_error *out, bronze_err *err);

/* One ListObjectsV2 page. Keys are the full object keys, as S3 sent them. */
typedef struct bronze_s3_list_page {
    bronze_obj_list objects;  /* Contents: Key, Size */
    bronze_obj_list prefixes; /* CommonPrefixes/Prefix (size 0) */
    bool truncated;
    char *next_token; /* NextContinuationToken, owned, NULL when absent */
} bronze_s3_list_page;

/* Parses a ListBucketResult into page (initialised here; free with
 * bronze_s3_list_page_free, also after a failure). -1 (err) when malformed,
 * not a ListBucketResult, a Size is not a number, or truncated without a
 * token. */
int bronze_s3_xml_list(const char *xml, size_t n, bronze_s3_list_page *page, bronze_err *err);
void bronze_s3_list_page_free(bronze_s3_list_page *page);

/* InitiateMultipartUploadResult's UploadId (malloc'd into *upload_id). */
int bronze_s3_xml_upload_id(const char *xml, size_t n, char **upload_id, bronze_err *err);

/* A 200 answer that may hold an <Error> (CompleteMultipartUpload,
 * CopyObject, UploadPartCopy): 0 when its root is `expect`
 * ("CompleteMultipartUploadResult", "CopyObjectResult", "CopyPartResult"),
 * 1 when it is an <Error> (e filled), -1 (err) otherwise. When etag is not
 * NULL, the result's ETag goes there (etag_cap bytes, "" when absent). */
int bronze_s3_xml_result(const char *xml, size_t n, const char *expect, bronze_s3_error *e,
                         char *etag, size_t etag_cap, bronze_err *err);

/* A DeleteResult: the number of <Deleted> entries, of <Error> entries with
 * code NoSuchKey (missing: not a failure for a delete), and of other <Error>
 * entries (nerrors), the first of which is kept with its Key/Code/Message. */
typedef struct bronze_s3_delete_result {
    size_t deleted, missing, nerrors;
    char first_key[1024];
    bronze_s3_error first;
} bronze_s3_delete_result;
int bronze_s3_xml_delete(const char *xml, size_t n, bronze_s3_delete_result *out, bronze_err *err);

/* Appends s XML-escaped (& < > " ') to out; -1 on allocation failure. */
int bronze_s3_xml_escape(bronze_buf *out, const char *s);

#endif
