/*
 * sigv4.h - AWS Signature Version 4 for S3 (and any SigV4 REST API), signed
 * by our own code over OpenSSL rather than curl's CURLOPT_AWS_SIGV4, whose
 * canonical query had bugs in the curl Debian 12 ships (unsorted
 * parameters, '/' ':' and spaces mis-encoded).
 *
 * The caller names every header it will send and wants signed (host,
 * x-amz-content-sha256, x-amz-date, x-amz-security-token, range,
 * content-md5, other x-amz-*); the signer lowercases, trims, sorts them and
 * returns the Authorization value. Query parameters are given raw (not
 * encoded): the canonical query the signer builds is also the query string to
 * put in the URL, so what is signed is what is sent. Pure functions: no clock,
 * no network (the date is an argument), so AWS's published examples are unit
 * tests.
 */
#ifndef BRONZE_UTIL_SIGV4_H
#define BRONZE_UTIL_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

/* A name/value pair (header or query parameter); both borrowed. A NULL value
 * is an empty one ("?uploads" is {"uploads", NULL}). */
typedef struct bronze_sigv4_kv {
    const char *name, *value;
} bronze_sigv4_kv;

/* Who signs and for what scope; strings borrowed. */
typedef struct bronze_sigv4_key {
    const char *access_key, *secret_key; /* secrets: never logged */
    const char *region;                  /* "us-east-1" */
    const char *service;                 /* "s3" */
} bronze_sigv4_key;

/* A request to sign; strings borrowed. */
typedef struct bronze_sigv4_req {
    const char *method;           /* "GET", "PUT", ... */
    const char *path;             /* raw (not encoded), starting with '/' */
    const bronze_sigv4_kv *query; /* raw names and values */
    size_t nquery;
    const bronze_sigv4_kv *headers; /* every header to sign, host included */
    size_t nheaders;
    const char *payload_sha256; /* hex, or "UNSIGNED-PAYLOAD" */
    const char *amz_date;       /* "YYYYMMDDTHHMMSSZ", the x-amz-date sent */
} bronze_sigv4_req;

#define BRONZE_SIGV4_DATE_LEN 17 /* "20130524T000000Z" + NUL */

/* The x-amz-date form of t (UTC). */
void bronze_sigv4_amz_date(time_t t, char out[BRONZE_SIGV4_DATE_LEN]);

/* Appends s[0..n) RFC 3986-encoded to out: A-Z a-z 0-9 - . _ ~ kept, every
 * other byte %XX (upper-case hex); '/' kept when keep_slash (a path). */
int bronze_sigv4_uri_encode(bronze_buf *out, const char *s, size_t n, bool keep_slash);

/* Appends the canonical query (each name and value encoded, empty values as
 * "name=", sorted by encoded name then encoded value, joined by '&'). */
int bronze_sigv4_canonical_query(bronze_buf *out, const bronze_sigv4_kv *q, size_t n);

/* Appends the canonical request (method, URI, query, headers, signed header
 * list, payload hash, '\n'-joined) to out, and, when signed_headers is not
 * NULL, the "host;range;..." list to it. */
int bronze_sigv4_canonical_request(bronze_buf *out, bronze_buf *signed_headers,
                                   const bronze_sigv4_req *r);

/* Appends "AWS4-HMAC-SHA256\n<date>\n<scope>\n<hex sha256 of canonical>". */
int bronze_sigv4_string_to_sign(bronze_buf *out, const bronze_sigv4_key *k,
                                const bronze_sigv4_req *r, const char *canonical, size_t n);

/* Signs r: writes the Authorization header's value ("AWS4-HMAC-SHA256
 * Credential=..., SignedHeaders=..., Signature=...") into auth (NUL-ended),
 * and the bare signature (64 hex) into sig_hex when not NULL. Fails (err) on a
 * malformed date, an empty key, allocation failure or a too-small auth. */
int bronze_sigv4_sign(const bronze_sigv4_key *k, const bronze_sigv4_req *r, char *auth,
                      size_t auth_cap, char sig_hex[65], bronze_err *err);

/* Hex SHA-256 of data (out gets 64 hex + NUL); 0 or -1. */
int bronze_sha256_hex(const void *data, size_t n, char out[65]);

/* Standard base64 (with padding) of n bytes into out (NUL-ended); cap must
 * be at least 4 * ((n + 2) / 3) + 1. Returns 0 or -1 when it does not fit. */
int bronze_base64(const unsigned char *p, size_t n, char *out, size_t cap);

/* Base64 of the 32 bytes a 64-hex-digit SHA-256 stands for (the form of
 * x-amz-checksum-sha256); -1 when hex is not 64 hex digits. */
int bronze_sha256_hex_to_base64(const char *hex, char out[45]);

#endif
