/*
 * s3.c - the S3 storage back end (see storage.h for what each operation
 * guarantees), over util/http (libcurl), util/sigv4 and util/retry.
 *
 * Every request goes through s3_do(): build the URL (path or virtual-hosted
 * style), sign it afresh for each attempt (x-amz-date moves on), send, and
 * retry what retry.h calls transient, up to max_retries, with backoff or the
 * server's Retry-After. A request whose 200 body can still be an <Error>
 * (CompleteMultipartUpload, CopyObject, UploadPartCopy) names the root it
 * expects, and s3_do treats an <Error> there like an HTTP error.
 *
 * Payloads are always signed with their real SHA-256 (x-amz-content-sha256),
 * and carry a checksum the server checks (x-amz-checksum-sha256 on a single
 * PUT, Content-MD5 on a part, whose checksum header would need the algorithm
 * declared at CreateMultipartUpload); never aws-chunked. Large files go as
 * multipart uploads of >= 8 MiB parts (at most 10,000), `workers` parts in
 * flight, each thread with its own curl handle from a small pool; a failed
 * upload is aborted so no parts linger (servers that cannot abort are logged
 * at debug). Local part files are read with pread, never held whole.
 *
 * publish() is HEAD (size, existence), CopyObject (UploadPartCopy above
 * 5 GiB), DELETE of the source. x-amz-copy-source is URL-encoded as AWS
 * requires; s3rver reads it with decodeURI instead, so a NoSuchKey for a
 * source HEAD just found retries once in that form and keeps it.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "storage/s3_xml.h"
#include "storage/storage.h"
#include "util/http.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/retry.h"
#include "util/sha256.h"
#include "util/sigv4.h"

#define MIB (1024ull * 1024ull)
#define MULTIPART_THRESHOLD (8 * MIB) /* AWS CLI's multipart_threshold */
#define PART_SIZE (8 * MIB)
#define MAX_PARTS 10000
#define COPY_MAX (5ull * 1024 * MIB) /* CopyObject's limit */
#define COPY_PART_SIZE (512 * MIB)
#define GET_CAP (64 * MIB)
#define SMALL_CAP (1 * MIB) /* XML answers */
#define DELETE_BATCH 1000
#define POOL_MAX 32
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef struct {
    bronze_storage base;
    char *bucket, *prefix; /* prefix: "" or without leading/trailing '/' */
    char *scheme, *host;   /* host: as sent in Host (bucket included when virtual) */
    bool virtual_style;
    char *region, *access_key, *secret_key, *session_token, *ca_bundle;
    int timeout, max_retries, workers;
    pthread_mutex_t mu;
    bronze_http *pool[POOL_MAX];
    int npool;
    bool copy_literal; /* under mu: this server reads x-amz-copy-source with decodeURI */
} s3;

/* ---- handles -------------------------------------------------------- */

static bronze_http *handle_get(s3 *s, bronze_err *err)
{
    bronze_http *h = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->npool > 0)
        h = s->pool[--s->npool];
    pthread_mutex_unlock(&s->mu);
    if (h)
        return h;
    bronze_http_opts o = {.timeout_seconds = s->timeout, .ca_bundle = s->ca_bundle};
    if (bronze_http_new(&h, &o, err))
        return NULL;
    return h;
}

static void handle_put(s3 *s, bronze_http *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->npool < POOL_MAX) {
        s->pool[s->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    bronze_http_free(h);
}

/* ---- keys and names ------------------------------------------------- */

/* "<prefix>/<key>" (or key when there is no prefix); malloc'd. */
static char *full_key(const s3 *s, const char *key)
{
    bronze_buf b = BRONZE_BUF_INIT;
    if ((*s->prefix ? bronze_buf_printf(&b, "%s/%s", s->prefix, key)
                    : bronze_buf_printf(&b, "%s", key)) ||
        bronze_buf_cstr(&b)) {
        bronze_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

static void s3_describe(bronze_storage *base, const char *key, char *out, size_t cap)
{
    s3 *s = (s3 *)base;
    snprintf(out, cap, "s3://%s/%s%s%s", s->bucket, s->prefix, *s->prefix ? "/" : "",
             key ? key : "");
}

/* ---- one request, signed and retried -------------------------------- */

typedef struct {
    const char *method;
    const char *key; /* full object key; NULL: the bucket */
    const bronze_sigv4_kv *query;
    size_t nquery;
    const bronze_sigv4_kv *headers; /* extra headers, all signed */
    size_t nheaders;
    const void *body;
    size_t body_len;
    int body_fd; /* >= 0: body is [body_off, body_off + body_len) of it */
    uint64_t body_off;
    const char *payload_sha256; /* NULL: computed from body (memory) */
    bronze_buf *out;
    size_t out_cap;
    bronze_http_sink sink;
    void *sink_ctx;
    void (*restart)(void *ctx); /* before a retry of a streamed body */
    const char *expect_root;    /* a 2xx body must have this root, <Error> fails */
    bool ok_404;                /* a 404 (not NoSuchBucket) is an answer */
    bool cleanup;               /* runs even after SIGINT (one attempt then) */
    bronze_s3_error *error_out; /* when set: the last failure's S3 code/message */
} s3_call;

#define HDR_MAX 16
#define AUTH_CAP 2048

static int build_url(s3 *s, const s3_call *c, bronze_buf *path, bronze_buf *url)
{
    int rc = 0;
    if (s->virtual_style)
        rc = bronze_buf_printf(path, "/%s", c->key ? c->key : "");
    else
        rc = c->key ? bronze_buf_printf(path, "/%s/%s", s->bucket, c->key)
                    : bronze_buf_printf(path, "/%s", s->bucket);
    if (rc || bronze_buf_cstr(path) || bronze_buf_printf(url, "%s://%s", s->scheme, s->host) ||
        bronze_sigv4_uri_encode(url, (const char *)path->data, path->len, true))
        return -1;
    if (c->nquery &&
        (bronze_buf_putc(url, '?') || bronze_sigv4_canonical_query(url, c->query, c->nquery)))
        return -1;
    return bronze_buf_cstr(url);
}

/* Fills err from a failed answer; returns whether it is worth a retry. */
static bool answer_error(s3 *s, const s3_call *c, const bronze_http_resp *resp,
                         const bronze_s3_error *e, const char *what, bronze_err *err)
{
    (void)s;
    bool retry = bronze_retry_http(resp->status, e->code[0] ? e->code : NULL);
    const char *hint = "";
    if (resp->status == 403)
        hint = " (check the access key, secret key, region and the bucket policy)";
    else if (!strcmp(e->code, "NoSuchBucket"))
        hint = " (the bucket does not exist)";
    bronze_err_set(err, retry ? BRONZE_E_RETRY : BRONZE_E_RUNTIME,
                   "S3 %s %s: HTTP %ld%s%s%s%s%s%s%s", c->method, what, resp->status,
                   e->code[0] ? " " : "", e->code, e->message[0] ? ": " : "", e->message, hint,
                   resp->request_id[0] ? ", request id " : "", resp->request_id);
    return retry;
}

/* Performs c against the bucket. 0: a 2xx answer (or a 404 with ok_404;
 * resp->status tells); -1: a final failure or retries used up (err). */
static int s3_do(s3 *s, bronze_http *h, const s3_call *c, bronze_http_resp *resp, bronze_err *err)
{
    bronze_buf path = BRONZE_BUF_INIT, url = BRONZE_BUF_INIT, lines = BRONZE_BUF_INIT;
    char what[1200];
    snprintf(what, sizeof what, "s3://%s/%s", s->bucket, c->key ? c->key : "");
    char payload[65];
    if (c->payload_sha256) {
        snprintf(payload, sizeof payload, "%s", c->payload_sha256);
    } else if (bronze_sha256_hex(c->body ? c->body : "", c->body ? c->body_len : 0, payload)) {
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 %s %s: hashing the body failed", c->method,
                              what);
    }
    if (c->nheaders + 5 > HDR_MAX)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 %s %s: too many headers", c->method, what);
    if (build_url(s, c, &path, &url)) {
        bronze_buf_free(&path);
        bronze_buf_free(&url);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 %s %s: out of memory", c->method, what);
    }
    uint64_t rng = bronze_retry_seed();
    int rc = -1;
    for (int attempt = 0;; attempt++) {
        char date[BRONZE_SIGV4_DATE_LEN], auth[AUTH_CAP];
        bronze_sigv4_amz_date(time(NULL), date);
        bronze_sigv4_kv hv[HDR_MAX];
        size_t nh = 0;
        hv[nh++] = (bronze_sigv4_kv){"host", s->host};
        hv[nh++] = (bronze_sigv4_kv){"x-amz-content-sha256", payload};
        hv[nh++] = (bronze_sigv4_kv){"x-amz-date", date};
        if (s->session_token)
            hv[nh++] = (bronze_sigv4_kv){"x-amz-security-token", s->session_token};
        for (size_t i = 0; i < c->nheaders; i++)
            hv[nh++] = c->headers[i];
        bronze_sigv4_key k = {s->access_key, s->secret_key, s->region, "s3"};
        bronze_sigv4_req sr = {.method = c->method,
                               .path = (const char *)path.data,
                               .query = c->query,
                               .nquery = c->nquery,
                               .headers = hv,
                               .nheaders = nh,
                               .payload_sha256 = payload,
                               .amz_date = date};
        if (bronze_sigv4_sign(&k, &sr, auth, sizeof auth, NULL, err)) {
            bronze_err_prefix(err, "S3 %s %s", c->method, what);
            break;
        }
        /* header lines, NUL-separated in one buffer, then pointers into it */
        lines.len = 0;
        size_t offs[HDR_MAX + 1];
        int bad = 0;
        for (size_t i = 0; i < nh && !bad; i++) {
            offs[i] = lines.len;
            bad = bronze_buf_printf(&lines, "%s: %s", hv[i].name, hv[i].value) ||
                  bronze_buf_putc(&lines, 0);
        }
        offs[nh] = lines.len;
        bad = bad || bronze_buf_printf(&lines, "Authorization: %s", auth) ||
              bronze_buf_putc(&lines, 0);
        OPENSSL_cleanse(auth, sizeof auth);
        if (bad) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "S3 %s %s: out of memory", c->method, what);
            break;
        }
        const char *hp[HDR_MAX + 1];
        for (size_t i = 0; i <= nh; i++)
            hp[i] = (const char *)lines.data + offs[i];
        bronze_http_req r = BRONZE_HTTP_REQ_INIT;
        r.method = c->method;
        r.url = (const char *)url.data;
        r.headers = hp;
        r.nheaders = nh + 1;
        r.body = c->body;
        r.body_len = c->body_len;
        r.body_fd = c->body_fd;
        r.body_off = c->body_off;
        r.out = c->out;
        r.out_cap = c->out_cap;
        r.sink = c->sink;
        r.sink_ctx = c->sink_ctx;
        r.ignore_interrupt = c->cleanup;
        bool retry;
        if (bronze_http_do(h, &r, resp, what, err) == 0) {
            bronze_s3_error e = {"", ""};
            if (resp->status >= 200 && resp->status < 300) {
                if (!c->expect_root) {
                    rc = 0;
                    break;
                }
                bronze_err perr = BRONZE_ERR_INIT;
                int x = c->out ? bronze_s3_xml_result((const char *)c->out->data, c->out->len,
                                                      c->expect_root, &e, NULL, 0, &perr)
                               : -1;
                if (x == 0) {
                    rc = 0;
                    break;
                }
                if (x < 0) {
                    /* a cut-off 200 body: the operation's outcome is unknown,
                     * and these operations are safe to repeat */
                    bronze_err_set(err, BRONZE_E_RETRY, "S3 %s %s: unreadable answer: %s",
                                   c->method, what, perr.msg);
                    retry = true;
                } else {
                    if (c->error_out)
                        *c->error_out = e;
                    retry = answer_error(s, c, resp, &e, what, err);
                }
            } else {
                if (resp->err_len)
                    bronze_s3_xml_error(resp->err_body, resp->err_len, &e, NULL);
                if (resp->status == 404 && c->ok_404 && strcmp(e.code, "NoSuchBucket")) {
                    rc = 0;
                    break;
                }
                if (c->error_out)
                    *c->error_out = e;
                retry = answer_error(s, c, resp, &e, what, err);
            }
        } else {
            retry = err->kind == BRONZE_E_RETRY && !bronze_interrupted();
            bronze_err_prefix(err, "S3");
        }
        if (!retry || attempt >= s->max_retries)
            break;
        uint64_t ms = bronze_retry_delay_ms(attempt, resp->retry_after, &rng);
        BRONZE_DEBUG("%s; retry %d/%d in %llu ms", err->msg, attempt + 1, s->max_retries,
                     (unsigned long long)ms);
        if (bronze_interrupt_sleep_ms(ms > 600000 ? 600000u : (unsigned)ms)) {
            bronze_err_prefix(err, "interrupted while waiting to retry");
            break;
        }
        if (c->restart)
            c->restart(c->sink_ctx);
    }
    bronze_buf_free(&path);
    bronze_buf_free(&url);
    if (lines.data)
        OPENSSL_cleanse(lines.data, lines.cap);
    bronze_buf_free(&lines);
    /* retries are used up here: what the caller gets is final (storage.h) */
    if (rc && err->kind == BRONZE_E_RETRY)
        err->kind = BRONZE_E_RUNTIME;
    return rc;
}

/* s3_do with a handle from the pool. */
static int s3_do1(s3 *s, const s3_call *c, bronze_http_resp *resp, bronze_err *err)
{
    bronze_http *h = handle_get(s, err);
    if (!h)
        return -1;
    int rc = s3_do(s, h, c, resp, err);
    handle_put(s, h);
    return rc;
}

static s3_call call_init(const char *method, const char *key)
{
    s3_call c;
    memset(&c, 0, sizeof c);
    c.method = method;
    c.key = key;
    c.body_fd = -1;
    return c;
}

/* ---- put / get / digest --------------------------------------------- */

static int s3_put(bronze_storage *base, const char *key, const void *data, size_t n,
                  bronze_err *err)
{
    s3 *s = (s3 *)base;
    char hex[65], b64[45];
    if (bronze_sha256_hex(data ? data : "", data ? n : 0, hex) ||
        bronze_sha256_hex_to_base64(hex, b64))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 PUT: hashing failed");
    char *fk = full_key(s, key);
    if (!fk)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    bronze_sigv4_kv hv[] = {{"x-amz-checksum-sha256", b64}};
    s3_call c = call_init("PUT", fk);
    c.headers = hv;
    c.nheaders = 1;
    c.body = data;
    c.body_len = n;
    c.payload_sha256 = hex;
    bronze_http_resp resp;
    int rc = s3_do1(s, &c, &resp, err);
    free(fk);
    return rc;
}

static int s3_get(bronze_storage *base, const char *key, bronze_buf *out, bool *found,
                  bronze_err *err)
{
    s3 *s = (s3 *)base;
    *found = false;
    char *fk = full_key(s, key);
    if (!fk)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    s3_call c = call_init("GET", fk);
    c.out = out;
    c.out_cap = GET_CAP;
    c.ok_404 = true;
    bronze_http_resp resp;
    int rc = s3_do1(s, &c, &resp, err);
    free(fk);
    if (rc)
        return -1;
    if (resp.status == 404) {
        out->len = 0;
        return 0;
    }
    if (bronze_buf_cstr(out))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    *found = true;
    return 0;
}

typedef struct {
    bronze_sha256 h;
    uint64_t n;
    bool failed;
} digest_ctx;

static int digest_sink(void *ctx, const void *p, size_t n)
{
    digest_ctx *d = ctx;
    bronze_sha256_update(&d->h, p, n);
    d->n += n;
    return 0;
}

static void digest_restart(void *ctx)
{
    digest_ctx *d = ctx;
    bronze_sha256_free(&d->h);
    d->n = 0;
    if (bronze_sha256_begin(&d->h))
        d->failed = true;
}

static int s3_digest(bronze_storage *base, const char *key, char hex[65], uint64_t *size,
                     bool *found, bronze_err *err)
{
    s3 *s = (s3 *)base;
    *found = false;
    digest_ctx d = {.n = 0};
    if (bronze_sha256_begin(&d.h)) {
        bronze_sha256_free(&d.h);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "SHA-256 initialisation failed");
    }
    char *fk = full_key(s, key);
    if (!fk) {
        bronze_sha256_free(&d.h);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    s3_call c = call_init("GET", fk);
    c.sink = digest_sink;
    c.sink_ctx = &d;
    c.restart = digest_restart;
    c.ok_404 = true;
    bronze_http_resp resp;
    int rc = s3_do1(s, &c, &resp, err);
    free(fk);
    if (rc == 0 && resp.status != 404) {
        const char *x = d.failed ? NULL : bronze_sha256_end(&d.h);
        if (!x) {
            rc = bronze_err_set(err, BRONZE_E_RUNTIME, "SHA-256 failed");
        } else {
            memcpy(hex, x, 65);
            *size = d.n;
            *found = true;
        }
    }
    bronze_sha256_free(&d.h);
    return rc;
}

/* ---- list ----------------------------------------------------------- */

static int s3_list(bronze_storage *base, const char *prefix, bool recursive, bronze_obj_list *out,
                   bronze_err *err)
{
    s3 *s = (s3 *)base;
    char *fp = full_key(s, prefix ? prefix : "");
    if (!fp)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    size_t strip = *s->prefix ? strlen(s->prefix) + 1 : 0;
    bronze_http *h = handle_get(s, err);
    if (!h) {
        free(fp);
        return -1;
    }
    bronze_buf body = BRONZE_BUF_INIT;
    char *token = NULL;
    int rc = 0;
    for (int page_no = 0; rc == 0; page_no++) {
        bronze_sigv4_kv q[4];
        size_t nq = 0;
        q[nq++] = (bronze_sigv4_kv){"list-type", "2"};
        q[nq++] = (bronze_sigv4_kv){"prefix", fp};
        if (!recursive)
            q[nq++] = (bronze_sigv4_kv){"delimiter", "/"};
        if (token)
            q[nq++] = (bronze_sigv4_kv){"continuation-token", token};
        s3_call c = call_init("GET", NULL);
        c.query = q;
        c.nquery = nq;
        c.out = &body;
        c.out_cap = 16 * MIB;
        bronze_http_resp resp;
        if (s3_do(s, h, &c, &resp, err)) {
            rc = -1;
            break;
        }
        bronze_s3_list_page pg;
        if (bronze_s3_xml_list((const char *)body.data, body.len, &pg, err)) {
            bronze_s3_list_page_free(&pg);
            char d[1200];
            s3_describe(base, prefix, d, sizeof d);
            rc = bronze_err_prefix(err, "listing %s (page %d)", d, page_no + 1);
            break;
        }
        for (size_t i = 0; i < pg.objects.n && rc == 0; i++) {
            const char *k = pg.objects.v[i].key;
            if (strncmp(k, fp, strlen(fp)) || strlen(k) < strip)
                continue; /* not ours: a server that ignored the prefix */
            if (bronze_obj_list_add(out, k + strip, pg.objects.v[i].size))
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory listing");
        }
        bool more = pg.truncated;
        bool same = more && token && !strcmp(token, pg.next_token);
        free(token);
        token = pg.next_token;
        pg.next_token = NULL;
        bronze_s3_list_page_free(&pg);
        if (!more)
            break;
        if (same) {
            /* the server would have us read the same page forever */
            char d[1200];
            s3_describe(base, prefix, d, sizeof d);
            rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                                "listing %s: the server repeated its continuation token", d);
            break;
        }
        if (page_no > 1000000) {
            rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 listing does not end");
            break;
        }
    }
    free(token);
    free(fp);
    bronze_buf_free(&body);
    handle_put(s, h);
    if (rc == 0)
        bronze_obj_list_sort(out);
    return rc;
}

/* ---- remove --------------------------------------------------------- */

static int md5_base64(const void *p, size_t n, char out[25])
{
    unsigned char md[16];
    unsigned int len = 0;
    if (EVP_Digest(p, n, md, &len, EVP_md5(), NULL) != 1 || len != 16)
        return -1;
    return bronze_base64(md, 16, out, 25);
}

static int s3_remove(bronze_storage *base, const char *const *keys, size_t n, bronze_err *err)
{
    s3 *s = (s3 *)base;
    bronze_http *h = handle_get(s, err);
    if (!h)
        return -1;
    bronze_buf body = BRONZE_BUF_INIT, out = BRONZE_BUF_INIT;
    int rc = 0;
    for (size_t at = 0; at < n && rc == 0; at += DELETE_BATCH) {
        size_t m = n - at < DELETE_BATCH ? n - at : DELETE_BATCH;
        body.len = 0;
        int bad = bronze_buf_printf(&body, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                                           "<Delete><Quiet>true</Quiet>");
        for (size_t i = 0; i < m && !bad; i++) {
            char *fk = full_key(s, keys[at + i]);
            bad = !fk || bronze_buf_printf(&body, "<Object><Key>") ||
                  bronze_s3_xml_escape(&body, fk) || bronze_buf_printf(&body, "</Key></Object>");
            free(fk);
        }
        bad = bad || bronze_buf_printf(&body, "</Delete>");
        char md5[25];
        if (bad || md5_base64(body.data, body.len, md5)) {
            rc = bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory deleting from S3");
            break;
        }
        bronze_sigv4_kv q[] = {{"delete", NULL}};
        bronze_sigv4_kv hv[] = {{"content-md5", md5}, {"content-type", "application/xml"}};
        s3_call c = call_init("POST", NULL);
        c.query = q;
        c.nquery = 1;
        c.headers = hv;
        c.nheaders = 2;
        c.body = body.data;
        c.body_len = body.len;
        c.out = &out;
        c.out_cap = 16 * MIB;
        bronze_http_resp resp;
        if (s3_do(s, h, &c, &resp, err)) {
            rc = -1;
            break;
        }
        bronze_s3_delete_result dr;
        if (bronze_s3_xml_delete((const char *)out.data, out.len, &dr, err)) {
            rc = bronze_err_prefix(err, "S3 DeleteObjects in s3://%s", s->bucket);
            break;
        }
        if (dr.nerrors)
            rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                                "S3 DeleteObjects: %zu of %zu keys not deleted; first "
                                "s3://%s/%s: %s%s%s",
                                dr.nerrors, m, s->bucket, dr.first_key, dr.first.code,
                                dr.first.message[0] ? ": " : "", dr.first.message);
    }
    bronze_buf_free(&body);
    bronze_buf_free(&out);
    handle_put(s, h);
    return rc;
}

static int delete_one(s3 *s, const char *fk, bronze_err *err)
{
    s3_call c = call_init("DELETE", fk);
    c.ok_404 = true;
    bronze_http_resp resp;
    return s3_do1(s, &c, &resp, err);
}

/* ---- multipart (upload and copy) ------------------------------------ */

typedef struct {
    char etag[256]; /* as bronze_http_resp.etag */
} part_info;

typedef struct {
    s3 *s;
    const char *key;       /* full destination key */
    const char *upload_id; /* raw */
    int fd;                /* upload: the local file; copy: -1 */
    const char *copy_src;  /* copy: the x-amz-copy-source value */
    uint64_t size, part_size;
    size_t nparts;
    part_info *parts;
    pthread_mutex_t mu;
    size_t next; /* next part index to take */
    bool failed;
    bronze_err err; /* the first failure */
} mp_job;

/* MD5 (base64) and SHA-256 (hex) of [off, off+len) of fd, read in 1 MiB
 * steps. */
static int hash_range(int fd, uint64_t off, uint64_t len, char md5_b64[25], char sha_hex[65],
                      bronze_err *err)
{
    EVP_MD_CTX *m = EVP_MD_CTX_new(), *h = EVP_MD_CTX_new();
    unsigned char *buf = malloc(MIB);
    int rc = -1;
    if (!m || !h || !buf || (md5_b64 && EVP_DigestInit_ex(m, EVP_md5(), NULL) != 1) ||
        EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory hashing a part");
        goto out;
    }
    for (uint64_t done = 0; done < len;) {
        size_t want = len - done < MIB ? (size_t)(len - done) : (size_t)MIB;
        ssize_t got = pread(fd, buf, want, (off_t)(off + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "reading the local part file: %s",
                           got < 0 ? strerror(errno) : "file shorter than expected");
            goto out;
        }
        if (md5_b64)
            EVP_DigestUpdate(m, buf, (size_t)got);
        EVP_DigestUpdate(h, buf, (size_t)got);
        done += (uint64_t)got;
    }
    unsigned char md[32];
    unsigned int n = 0;
    if (md5_b64 &&
        (EVP_DigestFinal_ex(m, md, &n) != 1 || n != 16 || bronze_base64(md, 16, md5_b64, 25))) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "MD5 failed");
        goto out;
    }
    if (EVP_DigestFinal_ex(h, md, &n) != 1 || n != 32) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "SHA-256 failed");
        goto out;
    }
    for (int i = 0; i < 32; i++)
        snprintf(sha_hex + 2 * i, 3, "%02x", md[i]);
    rc = 0;
out:
    EVP_MD_CTX_free(m);
    EVP_MD_CTX_free(h);
    free(buf);
    return rc;
}

static int do_part(mp_job *j, bronze_http *h, size_t i, bronze_err *err)
{
    uint64_t off = (uint64_t)i * j->part_size;
    uint64_t len = j->size - off < j->part_size ? j->size - off : j->part_size;
    char num[24];
    snprintf(num, sizeof num, "%zu", i + 1);
    bronze_sigv4_kv q[] = {{"partNumber", num}, {"uploadId", j->upload_id}};
    s3_call c = call_init("PUT", j->key);
    c.query = q;
    c.nquery = 2;
    bronze_http_resp resp;
    bronze_buf out = BRONZE_BUF_INIT;
    int rc;
    if (j->copy_src) {
        char range[64];
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1));
        bronze_sigv4_kv hv[] = {{"x-amz-copy-source", j->copy_src},
                                {"x-amz-copy-source-range", range}};
        c.headers = hv;
        c.nheaders = 2;
        c.out = &out;
        c.out_cap = SMALL_CAP;
        c.expect_root = "CopyPartResult";
        rc = s3_do(j->s, h, &c, &resp, err);
        if (rc == 0 && bronze_s3_xml_result((const char *)out.data, out.len, "CopyPartResult", NULL,
                                            j->parts[i].etag, sizeof j->parts[i].etag, err) != 0)
            rc = -1;
    } else {
        /* The signed payload hash is the integrity check: S3 refuses a part
         * whose bytes do not match x-amz-content-sha256. (An MD5 on top
         * would cost a second, slower digest of every byte.) */
        char sha[65];
        if (hash_range(j->fd, off, len, NULL, sha, err)) {
            bronze_buf_free(&out);
            return -1;
        }
        c.body_fd = j->fd;
        c.body_off = off;
        c.body_len = (size_t)len;
        c.payload_sha256 = sha;
        rc = s3_do(j->s, h, &c, &resp, err);
        if (rc == 0)
            memcpy(j->parts[i].etag, resp.etag, sizeof j->parts[i].etag);
    }
    bronze_buf_free(&out);
    if (rc == 0 && !j->parts[i].etag[0])
        rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                            "S3 part %zu of s3://%s/%s: no ETag in the answer", i + 1, j->s->bucket,
                            j->key);
    return rc;
}

static void *part_worker(void *arg)
{
    mp_job *j = arg;
    bronze_err err = BRONZE_ERR_INIT;
    bronze_http *h = handle_get(j->s, &err);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        if (!h && !j->failed) {
            j->failed = true;
            j->err = err;
        }
        size_t i = j->next;
        bool stop = j->failed || i >= j->nparts || bronze_interrupted();
        if (!stop)
            j->next++;
        pthread_mutex_unlock(&j->mu);
        if (stop)
            break;
        if (do_part(j, h, i, &err)) {
            pthread_mutex_lock(&j->mu);
            if (!j->failed) {
                j->failed = true;
                j->err = err;
            }
            pthread_mutex_unlock(&j->mu);
            break;
        }
    }
    handle_put(j->s, h);
    return NULL;
}

/* A CompleteMultipartUpload whose answer was lost (connection dropped after
 * the server acted) is retried and then meets NoSuchUpload: the upload is
 * done when the object is there with this size and either AWS's multipart
 * ETag of this many parts ("<md5>-<n>") or, from servers that give the whole
 * object's MD5 (s3rver), that of the local file. Staging keys are unique per
 * batch, so no older object can pass for it. */
static bool completed_anyway(s3 *s, const char *fk, int fd, uint64_t size, size_t nparts)
{
    bronze_err e = BRONZE_ERR_INIT;
    s3_call c = call_init("HEAD", fk);
    c.ok_404 = true;
    bronze_http_resp resp;
    if (s3_do1(s, &c, &resp, &e) || resp.status != 200 || resp.content_length < 0 ||
        (uint64_t)resp.content_length != size)
        return false;
    char tail[32];
    snprintf(tail, sizeof tail, "-%zu\"", nparts);
    size_t n = strlen(resp.etag), t = strlen(tail);
    if (n > t && !strcmp(resp.etag + n - t, tail))
        return true;
    unsigned char md[16];
    const char *h = resp.etag[0] == '"' ? resp.etag + 1 : resp.etag;
    if (fd < 0 || strlen(h) < 32)
        return false;
    for (int i = 0; i < 16; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1)
            return false;
        md[i] = (unsigned char)v;
    }
    char remote[25], local[25], sha[65];
    return bronze_base64(md, 16, remote, sizeof remote) == 0 &&
           hash_range(fd, 0, size, local, sha, &e) == 0 && !strcmp(remote, local);
}

static void abort_upload(s3 *s, const char *fk, const char *upload_id)
{
    bronze_sigv4_kv q[] = {{"uploadId", upload_id}};
    s3_call c = call_init("DELETE", fk);
    c.query = q;
    c.nquery = 1;
    c.ok_404 = true;
    c.cleanup = true;
    bronze_http_resp resp;
    bronze_err err = BRONZE_ERR_INIT;
    if (s3_do1(s, &c, &resp, &err))
        BRONZE_DEBUG("aborting the multipart upload of s3://%s/%s failed (parts may linger "
                     "until a lifecycle rule removes them): %s",
                     s->bucket, fk, err.msg);
}

/* Runs a multipart upload (fd >= 0) or copy (copy_src) into fk. */
static int multipart(s3 *s, const char *fk, int fd, const char *copy_src, uint64_t size,
                     uint64_t part_size, bronze_err *err)
{
    while ((size + part_size - 1) / part_size > MAX_PARTS)
        part_size *= 2;
    mp_job j;
    memset(&j, 0, sizeof j);
    j.s = s;
    j.key = fk;
    j.fd = fd;
    j.copy_src = copy_src;
    j.size = size;
    j.part_size = part_size;
    j.nparts = (size_t)((size + part_size - 1) / part_size);
    j.parts = calloc(j.nparts, sizeof *j.parts);
    if (!j.parts)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    pthread_mutex_init(&j.mu, NULL);
    char *upload_id = NULL;
    bronze_buf out = BRONZE_BUF_INIT;
    int rc = -1;
    {
        bronze_sigv4_kv q[] = {{"uploads", NULL}};
        s3_call c = call_init("POST", fk);
        c.query = q;
        c.nquery = 1;
        c.out = &out;
        c.out_cap = SMALL_CAP;
        bronze_http_resp resp;
        if (s3_do1(s, &c, &resp, err) ||
            bronze_s3_xml_upload_id((const char *)out.data, out.len, &upload_id, err))
            goto done;
    }
    j.upload_id = upload_id;
    size_t nthreads = (size_t)(s->workers > 0 ? s->workers : 1);
    if (nthreads > j.nparts)
        nthreads = j.nparts;
    if (nthreads > 64)
        nthreads = 64;
    pthread_t tids[64];
    size_t started = 0;
    for (size_t t = 1; t < nthreads; t++) {
        if (pthread_create(&tids[started], NULL, part_worker, &j) != 0)
            break; /* fewer threads: the ones we have take all parts */
        started++;
    }
    part_worker(&j);
    for (size_t t = 0; t < started; t++)
        pthread_join(tids[t], NULL);
    if (!j.failed && bronze_interrupted()) {
        j.failed = true;
        bronze_err_set(&j.err, BRONZE_E_RUNTIME, "interrupted");
    }
    if (j.failed) {
        *err = j.err;
        bronze_err_prefix(err, "multipart %s of s3://%s/%s", copy_src ? "copy" : "upload",
                          s->bucket, fk);
        abort_upload(s, fk, upload_id);
        goto done;
    }
    {
        bronze_buf body = BRONZE_BUF_INIT;
        int bad = bronze_buf_printf(&body, "<CompleteMultipartUpload>");
        for (size_t i = 0; i < j.nparts && !bad; i++)
            bad = bronze_buf_printf(&body, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1) ||
                  bronze_s3_xml_escape(&body, j.parts[i].etag) ||
                  bronze_buf_printf(&body, "</ETag></Part>");
        bad = bad || bronze_buf_printf(&body, "</CompleteMultipartUpload>");
        if (bad) {
            bronze_buf_free(&body);
            bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            abort_upload(s, fk, upload_id);
            goto done;
        }
        bronze_sigv4_kv q[] = {{"uploadId", upload_id}};
        bronze_sigv4_kv hv[] = {{"content-type", "application/xml"}};
        s3_call c = call_init("POST", fk);
        c.query = q;
        c.nquery = 1;
        c.headers = hv;
        c.nheaders = 1;
        c.body = body.data;
        c.body_len = body.len;
        c.out = &out;
        c.out_cap = SMALL_CAP;
        c.expect_root = "CompleteMultipartUploadResult";
        bronze_http_resp resp;
        int crc = s3_do1(s, &c, &resp, err);
        bronze_buf_free(&body);
        if (crc && completed_anyway(s, fk, fd, size, j.nparts)) {
            BRONZE_DEBUG("s3://%s/%s: complete's answer was lost, the object is there", s->bucket,
                         fk);
            crc = 0;
        }
        if (crc) {
            abort_upload(s, fk, upload_id);
            goto done;
        }
    }
    BRONZE_DEBUG("s3://%s/%s: %zu parts of %llu bytes", s->bucket, fk, j.nparts,
                 (unsigned long long)part_size);
    rc = 0;
done:
    pthread_mutex_destroy(&j.mu);
    free(j.parts);
    free(upload_id);
    bronze_buf_free(&out);
    return rc;
}

/* ---- upload / publish ----------------------------------------------- */

static bool is_hex64(const char *h)
{
    if (!h || strlen(h) != 64)
        return false;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return false;
    return true;
}

static int s3_upload(bronze_storage *base, const char *local_path, const char *key, uint64_t size,
                     const char *sha256_hex, bronze_err *err)
{
    s3 *s = (s3 *)base;
    int fd = open(local_path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "opening %s for upload: %s", local_path,
                              strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "reading %s: %s", local_path, strerror(e));
    }
    if ((uint64_t)st.st_size != size)
        BRONZE_DEBUG("%s: %llu bytes on disk, %llu expected; uploading what is on disk", local_path,
                     (unsigned long long)st.st_size, (unsigned long long)size);
    size = (uint64_t)st.st_size;
    char *fk = full_key(s, key);
    int rc = -1;
    if (!fk) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        goto out;
    }
    if (size < MULTIPART_THRESHOLD) {
        char hex[65], md5[25], b64[45];
        if (!(sha256_hex && is_hex64(sha256_hex)) || size == 0) {
            if (hash_range(fd, 0, size, md5, hex, err))
                goto out;
        } else {
            memcpy(hex, sha256_hex, 65);
        }
        if (bronze_sha256_hex_to_base64(hex, b64)) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "bad SHA-256 for %s", local_path);
            goto out;
        }
        bronze_sigv4_kv hv[] = {{"x-amz-checksum-sha256", b64}};
        s3_call c = call_init("PUT", fk);
        c.headers = hv;
        c.nheaders = 1;
        c.body_fd = fd;
        c.body_len = (size_t)size;
        c.payload_sha256 = hex;
        bronze_http_resp resp;
        if (s3_do1(s, &c, &resp, err))
            goto out;
    } else if (multipart(s, fk, fd, NULL, size, PART_SIZE, err)) {
        goto out;
    }
    rc = 0;
out:
    close(fd);
    if (rc == 0 && unlink(local_path) != 0 && errno != ENOENT)
        BRONZE_WARN("removing the uploaded local file %s: %s", local_path, strerror(errno));
    free(fk);
    return rc;
}

/* The x-amz-copy-source value for a full key: "/bucket/key" URL-encoded as
 * AWS requires (a literal '+' would be read as a space there). `literal`
 * keeps the characters decodeURI leaves encoded (";/?:@&=+$,#") as they
 * are: s3rver reads the header with decodeURI, and would look for
 * "dt%3D..." otherwise. */
static char *copy_source(const s3 *s, const char *fk, bool literal)
{
    bronze_buf b = BRONZE_BUF_INIT;
    if (bronze_buf_putc(&b, '/') ||
        bronze_sigv4_uri_encode(&b, s->bucket, strlen(s->bucket), false) ||
        bronze_buf_putc(&b, '/') || bronze_sigv4_uri_encode(&b, fk, strlen(fk), true) ||
        bronze_buf_cstr(&b)) {
        bronze_buf_free(&b);
        return NULL;
    }
    char *r = (char *)b.data, *w = r;
    for (char *p = r; *p;) {
        unsigned v;
        if (literal && p[0] == '%' && sscanf(p + 1, "%2X", &v) == 1 &&
            strchr(";/?:@&=+$,#", (int)v)) {
            *w++ = (char)v;
            p += 3;
        } else {
            *w++ = *p++;
        }
    }
    *w = 0;
    return r;
}

/* CopyObject of src (cs: its copy source) to dst, its 200 body checked. */
static int copy_object(s3 *s, const char *dst, const char *cs, bronze_s3_error *e, bronze_err *err)
{
    bronze_buf out = BRONZE_BUF_INIT;
    bronze_sigv4_kv hv[] = {{"x-amz-copy-source", cs}};
    s3_call c = call_init("PUT", dst);
    c.headers = hv;
    c.nheaders = 1;
    c.out = &out;
    c.out_cap = SMALL_CAP;
    c.expect_root = "CopyObjectResult";
    c.error_out = e;
    bronze_http_resp resp;
    e->code[0] = 0;
    int rc = s3_do1(s, &c, &resp, err);
    bronze_buf_free(&out);
    return rc;
}

static int s3_publish(bronze_storage *base, const char *src_key, const char *dst_key,
                      bronze_err *err)
{
    s3 *s = (s3 *)base;
    char *src = full_key(s, src_key), *dst = full_key(s, dst_key);
    pthread_mutex_lock(&s->mu);
    bool literal = s->copy_literal;
    pthread_mutex_unlock(&s->mu);
    char *cs = src ? copy_source(s, src, literal) : NULL;
    int rc = -1;
    if (!src || !dst || !cs) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        goto out;
    }
    s3_call head = call_init("HEAD", src);
    head.ok_404 = true;
    bronze_http_resp resp;
    if (s3_do1(s, &head, &resp, err))
        goto out;
    if (resp.status == 404) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "S3 publish: s3://%s/%s does not exist", s->bucket,
                       src);
        goto out;
    }
    if (resp.content_length < 0) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "S3 HEAD s3://%s/%s: no Content-Length", s->bucket,
                       src);
        goto out;
    }
    uint64_t size = (uint64_t)resp.content_length;
    if (size <= COPY_MAX) {
        bronze_s3_error e;
        if (copy_object(s, dst, cs, &e, err)) {
            /* HEAD found the source, so NoSuchKey means the server decoded
             * the copy source otherwise: try the decodeURI form, and keep
             * it for this server if it works */
            char *lit = literal || strcmp(e.code, "NoSuchKey") ? NULL : copy_source(s, src, true);
            if (!lit || !strcmp(lit, cs)) {
                free(lit);
                goto out;
            }
            bronze_err err2 = BRONZE_ERR_INIT;
            int rc2 = copy_object(s, dst, lit, &e, &err2);
            free(lit);
            if (rc2)
                goto out; /* the first error is the one to show */
            BRONZE_DEBUG("S3 endpoint reads x-amz-copy-source with decodeURI; using that form");
            pthread_mutex_lock(&s->mu);
            s->copy_literal = true;
            pthread_mutex_unlock(&s->mu);
        }
    } else if (multipart(s, dst, -1, cs, size, COPY_PART_SIZE, err)) {
        goto out;
    }
    if (delete_one(s, src, err))
        goto out;
    rc = 0;
out:
    free(src);
    free(dst);
    free(cs);
    return rc;
}

/* ---- open / close --------------------------------------------------- */

static void s3_close(bronze_storage *base)
{
    s3 *s = (s3 *)base;
    if (!s)
        return;
    for (int i = 0; i < s->npool; i++)
        bronze_http_free(s->pool[i]);
    pthread_mutex_destroy(&s->mu);
    free(s->bucket);
    free(s->prefix);
    free(s->scheme);
    free(s->host);
    free(s->region);
    free(s->access_key);
    if (s->secret_key) {
        OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
        free(s->secret_key);
    }
    if (s->session_token) {
        OPENSSL_cleanse(s->session_token, strlen(s->session_token));
        free(s->session_token);
    }
    free(s->ca_bundle);
    free(s);
}

static char *dup_or_null(const char *v, bool *oom)
{
    if (!v || !*v)
        return NULL;
    char *d = strdup(v);
    if (!d)
        *oom = true;
    return d;
}

/* Splits an endpoint URL into scheme and host[:port] (default port dropped).
 * A path other than "/" is refused: keys would not be where S3 puts them. */
static int parse_endpoint(const char *ep, char **scheme, char **host, bronze_err *err)
{
    const char *p = strstr(ep, "://");
    const char *sch = "https", *rest = ep;
    size_t sl = 5;
    if (p) {
        sch = ep;
        sl = (size_t)(p - ep);
        rest = p + 3;
    }
    if (!((sl == 4 && !strncasecmp(sch, "http", 4)) || (sl == 5 && !strncasecmp(sch, "https", 5))))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "S3 endpoint %s: only http:// and https:// are supported", ep);
    size_t hl = strcspn(rest, "/?#");
    const char *tail = rest + hl;
    if (hl == 0 || (*tail && strcmp(tail, "/")))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "S3 endpoint %s: expected scheme://host[:port] without a path", ep);
    if (memchr(rest, '@', hl))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "S3 endpoint: credentials in the URL are not accepted");
    if (sl == 5 && hl > 4 && !strncmp(rest + hl - 4, ":443", 4))
        hl -= 4;
    else if (sl == 4 && hl > 3 && !strncmp(rest + hl - 3, ":80", 3))
        hl -= 3;
    *scheme = strndup(sch, sl);
    *host = strndup(rest, hl);
    if (!*scheme || !*host)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    for (char *c = *scheme; *c; c++)
        *c = (char)(*c | 0x20);
    return 0;
}

static int s3_open(bronze_storage **out, const bronze_storage_params *p, bronze_err *err)
{
    *out = NULL;
    if (!p->bucket || !*p->bucket)
        return bronze_err_set(err, BRONZE_E_CONFIG, "S3 storage: no bucket (s3_bucket) set");
    if (strchr(p->bucket, '/'))
        return bronze_err_set(err, BRONZE_E_CONFIG, "S3 bucket %s: a bucket name has no '/'",
                              p->bucket);
    if (!p->access_key || !*p->access_key || !p->secret_key || !*p->secret_key)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "S3 storage s3://%s: access key and secret key are required "
                              "(platform.s3_connection or AWS_ACCESS_KEY_ID / "
                              "AWS_SECRET_ACCESS_KEY)",
                              p->bucket);
    const char *style = p->addressing_style && *p->addressing_style ? p->addressing_style : NULL;
    if (style && strcmp(style, "path") && strcmp(style, "virtual"))
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "S3 addressing_style %s: expected path or virtual", style);
    s3 *s = calloc(1, sizeof *s);
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    s->base.vt = &bronze_storage_s3;
    bool oom = false;
    const char *region = p->region && *p->region ? p->region : "us-east-1";
    s->bucket = dup_or_null(p->bucket, &oom);
    s->region = dup_or_null(region, &oom);
    s->access_key = dup_or_null(p->access_key, &oom);
    s->secret_key = dup_or_null(p->secret_key, &oom);
    s->session_token = dup_or_null(p->session_token, &oom);
    s->ca_bundle = dup_or_null(p->ca_bundle, &oom);
    /* the prefix without leading or trailing '/' */
    const char *pre = p->prefix ? p->prefix : "";
    while (*pre == '/')
        pre++;
    size_t pl = strlen(pre);
    while (pl && pre[pl - 1] == '/')
        pl--;
    s->prefix = strndup(pre, pl);
    if (!s->prefix)
        oom = true;
    if (oom) {
        s3_close(&s->base);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    s->timeout = p->timeout_seconds > 0 ? p->timeout_seconds : 30;
    s->max_retries = p->max_retries >= 0 ? p->max_retries : 3;
    s->workers = p->workers > 0 ? p->workers : 1;
    char aws[256];
    const char *ep = p->endpoint && *p->endpoint ? p->endpoint : NULL;
    if (!ep) {
        int n = snprintf(aws, sizeof aws, "https://s3.%s.amazonaws.com", region);
        if (n < 0 || (size_t)n >= sizeof aws) {
            s3_close(&s->base);
            return bronze_err_set(err, BRONZE_E_CONFIG, "S3 region too long");
        }
        ep = aws;
    }
    char *base_host = NULL;
    if (parse_endpoint(ep, &s->scheme, &base_host, err)) {
        free(base_host);
        s3_close(&s->base);
        return -1;
    }
    /* SPEC §7: path with an endpoint, virtual on AWS; a dotted bucket cannot
     * be a TLS host name under *.s3.amazonaws.com, so it stays path-style
     * unless asked otherwise */
    s->virtual_style = style ? !strcmp(style, "virtual")
                             : (!p->endpoint || !*p->endpoint) && !strchr(p->bucket, '.');
    if (s->virtual_style) {
        size_t n = strlen(s->bucket) + 1 + strlen(base_host) + 1;
        s->host = malloc(n);
        if (s->host)
            snprintf(s->host, n, "%s.%s", s->bucket, base_host);
        free(base_host);
    } else {
        s->host = base_host;
    }
    if (!s->host) {
        s3_close(&s->base);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    BRONZE_DEBUG("S3 storage s3://%s/%s via %s://%s (%s-style, region %s)", s->bucket, s->prefix,
                 s->scheme, s->host, s->virtual_style ? "virtual" : "path", s->region);
    *out = &s->base;
    return 0;
}

const bronze_storage_vt bronze_storage_s3 = {
    .name = "s3",
    .remote = true,
    .open = s3_open,
    .upload = s3_upload,
    .publish = s3_publish,
    .put = s3_put,
    .get = s3_get,
    .digest = s3_digest,
    .list = s3_list,
    .remove = s3_remove,
    .swap_dir = NULL,
    .describe = s3_describe,
    .close = s3_close,
};
