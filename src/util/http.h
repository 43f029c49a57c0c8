/*
 * http.h - a small libcurl wrapper shared by the S3 back end and HTTP API
 * sources: one easy handle per bronze_http, reused request after request so
 * connections stay alive; one handle per thread (a handle is not shared).
 *
 * A request's body comes from memory or from a byte range of a file
 * (streamed through a read callback with pread, so a part file is never held
 * in memory); a response body goes into a buffer with a byte cap, or into a
 * callback (streaming hashing); a 2xx whose Content-Length already passes the
 * cap fails before a byte is read. Non-2xx bodies always go to a small internal
 * buffer (the S3 <Error> document), whatever the request asked.
 *
 * Timeouts are a connect timeout plus an idle timeout: timeout_seconds
 * without a byte moving either way (no response, a body that stops) fails
 * the request within about a second of the limit, as a retryable
 * "timed out" (kind BRONZE_E_RETRY). Never a total cap, which would kill a
 * large upload or download that keeps moving. TLS is always verified (ca_bundle -> CURLOPT_CAINFO);
 * only http and https; no redirects followed (resp->location says where a
 * 3xx points; the caller decides). Nothing here logs a header: callers put secrets into
 * headers (Authorization, tokens).
 */
#ifndef BRONZE_UTIL_HTTP_H
#define BRONZE_UTIL_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

typedef struct bronze_http bronze_http;

typedef struct bronze_http_opts {
    int timeout_seconds;    /* connect + idle timeout; 0 -> 30 */
    const char *ca_bundle;  /* NULL: the system store; copied */
    const char *user_agent; /* NULL: "bronze-extract"; copied */
} bronze_http_opts;

/* Receives response body bytes (2xx only); non-zero return aborts the
 * transfer (CURLE_WRITE_ERROR). */
typedef int (*bronze_http_sink)(void *ctx, const void *p, size_t n);

typedef struct bronze_http_req {
    const char *method;         /* "GET", "PUT", "POST", "DELETE", "HEAD" */
    const char *url;            /* complete, already encoded */
    const char *const *headers; /* "Name: value" lines; may hold secrets */
    size_t nheaders;
    /* body: from memory ... */
    const void *body;
    size_t body_len;
    /* ... or from [body_off, body_off + body_len) of body_fd when >= 0 */
    int body_fd;
    uint64_t body_off;
    /* response body (2xx): into out (reset first) up to out_cap bytes (0 ->
     * 1 MiB; more is an error), or into sink when set */
    bronze_buf *out;
    size_t out_cap;
    bronze_http_sink sink;
    void *sink_ctx;
    /* a SIGINT normally aborts the transfer at once; cleanup requests (an
     * AbortMultipartUpload after the interrupt) set this to finish anyway */
    bool ignore_interrupt;
    /* API sources: accept gzip/deflate responses (decoded by curl; out_cap
     * counts decoded bytes). S3 leaves it off. */
    bool accept_encoding;
} bronze_http_req;

#define BRONZE_HTTP_REQ_INIT                                                                       \
    {                                                                                              \
        .method = "GET", .body_fd = -1                                                             \
    }

typedef struct bronze_http_resp {
    long status;    /* 0 when no response arrived */
    int curl_code;  /* CURLcode of the transfer (0 = CURLE_OK) */
    bool capped;    /* the body passed out_cap */
    char etag[256]; /* ETag header, as sent (quotes kept) */
    char retry_after[128];
    /* an API's rate-limit window (GitHub's X-RateLimit-Remaining/-Reset,
     * Twitter's X-Rate-Limit-*, the IETF draft's RateLimit-* or its single
     * RateLimit field, read by bronze_http_ratelimit_field): the values as
     * sent, "" when absent; ratelimit_name: the remaining header's name as
     * this tool spells it, NULL when absent */
    char ratelimit_remaining[32];
    char ratelimit_reset[32];
    const char *ratelimit_name;
    char request_id[128];   /* x-amz-request-id, for error messages */
    char content_type[128]; /* Content-Type, "" when absent */
    char location[2048];    /* a 3xx's Location, resolved against the URL; "" when none
                               (or too long) */
    int64_t content_length; /* Content-Length header, -1 when absent */
    /* a non-2xx body, up to 64 KiB; valid until the next request on this
     * handle */
    const char *err_body;
    size_t err_len;
    /* every Link header's value (RFC 8288), joined with ", "; "" when none;
     * valid until the next request on this handle */
    const char *link;
} bronze_http_resp;

/* Opens a handle (global curl init done once, thread-safely). */
int bronze_http_new(bronze_http **out, const bronze_http_opts *o, bronze_err *err);
void bronze_http_free(bronze_http *h);

/* Performs one request. Returns 0 when a response arrived (any status: look
 * at resp->status), -1 when none did or the body could not be taken (err set,
 * kind BRONZE_E_RETRY when the transport failure is transient, resp->curl_code
 * set). err names the method and url_for_errors (the caller's description of
 * the target, never a secret). */
int bronze_http_do(bronze_http *h, const bronze_http_req *r, bronze_http_resp *resp,
                   const char *url_for_errors, bronze_err *err);

/* The IETF draft's single RateLimit field, a structured field in either of
 * its forms: draft -07's dictionary ("limit=10, remaining=0, reset=30") or,
 * from -08 on, a list of policies with r (remaining) and t (reset, seconds)
 * parameters ('"burst";r=5;t=1, "daily";r=0;t=3600'). The policy with none
 * left wins (the latest reset among such), else the first one listed; the
 * result is written as the split fields would give it (decimal strings,
 * reset in seconds from now); *rem is left as it was when no policy is
 * found. Malformed parts are skipped. */
void bronze_http_ratelimit_field(const char *v, size_t n, char *rem, size_t remcap, char *reset,
                                 size_t resetcap);

#endif
