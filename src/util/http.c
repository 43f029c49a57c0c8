/*
 * http.c - the libcurl wrapper (see http.h).
 *
 * curl_easy_reset() between requests clears the options but keeps the
 * connection cache, so one handle per thread gives keep-alive without a
 * share or multi handle. Every option is set again for each request, which
 * keeps requests from inheriting each other's state (a PUT's read callback,
 * a HEAD's NOBODY).
 */
#include "util/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

#include "util/interrupt.h"
#include "util/retry.h"

#define ERR_BODY_CAP (64 * 1024)
#define DEFAULT_OUT_CAP (1024 * 1024)

struct bronze_http {
    CURL *curl;
    int timeout;
    char *ca_bundle, *user_agent;
    bronze_buf err_body;
    bronze_buf link; /* Link header values of the last response */
    char curl_msg[CURL_ERROR_SIZE];
};

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int bronze_http_new(bronze_http **out, const bronze_http_opts *o, bronze_err *err)
{
    *out = NULL;
    pthread_once(&g_once, global_init);
    if (g_init_rc != CURLE_OK)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "libcurl initialisation failed: %s",
                              curl_easy_strerror(g_init_rc));
    bronze_http *h = calloc(1, sizeof *h);
    if (!h)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    h->timeout = o && o->timeout_seconds > 0 ? o->timeout_seconds : 30;
    h->curl = curl_easy_init();
    const char *ua = o && o->user_agent ? o->user_agent : "bronze-extract";
    if (!h->curl || !(h->user_agent = strdup(ua)) ||
        (o && o->ca_bundle && !(h->ca_bundle = strdup(o->ca_bundle)))) {
        bronze_http_free(h);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory opening an HTTP handle");
    }
    *out = h;
    return 0;
}

void bronze_http_free(bronze_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    free(h->ca_bundle);
    free(h->user_agent);
    bronze_buf_free(&h->err_body);
    bronze_buf_free(&h->link);
    free(h);
}

typedef struct {
    bronze_http *h;
    const bronze_http_req *r;
    bronze_http_resp *resp;
    uint64_t sent; /* body bytes handed to curl so far */
    bool status_known, ok_status, sink_failed;
    int io_errno;
    /* the idle timeout: the last time a byte moved either way */
    curl_off_t seen_dl, seen_ul;
    double last_move;
    bool stalled;
} xfer;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *userp)
{
    xfer *x = userp;
    const bronze_http_req *r = x->r;
    size_t want = size * nmemb;
    uint64_t left = r->body_len - x->sent;
    if (want > left)
        want = (size_t)left;
    if (want == 0)
        return 0;
    if (r->body_fd >= 0) {
        ssize_t got;
        do
            got = pread(r->body_fd, dst, want, (off_t)(r->body_off + x->sent));
        while (got < 0 && errno == EINTR);
        if (got <= 0) {
            /* a short file is an error, not an early end: curl would send a
             * body shorter than the Content-Length it announced */
            x->io_errno = got < 0 ? errno : EIO;
            return CURL_READFUNC_ABORT;
        }
        want = (size_t)got;
    } else {
        memcpy(dst, (const char *)r->body + x->sent, want);
    }
    x->sent += want;
    return want;
}

static int seek_cb(void *userp, curl_off_t offset, int origin)
{
    xfer *x = userp;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > x->r->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->sent = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userp)
{
    xfer *x = userp;
    size_t n = size * nmemb;
    if (!x->status_known) {
        long code = 0;
        curl_easy_getinfo(x->h->curl, CURLINFO_RESPONSE_CODE, &code);
        x->ok_status = code >= 200 && code < 300;
        x->status_known = true;
    }
    if (!x->ok_status) {
        bronze_buf *b = &x->h->err_body;
        size_t room = ERR_BODY_CAP > b->len ? ERR_BODY_CAP - b->len : 0;
        size_t take = n < room ? n : room;
        if (take && bronze_buf_append(b, p, take))
            return 0;
        return n; /* the rest of a long error body is dropped, not an error */
    }
    const bronze_http_req *r = x->r;
    if (r->sink) {
        if (r->sink(r->sink_ctx, p, n)) {
            x->sink_failed = true;
            return 0;
        }
        return n;
    }
    if (!r->out)
        return n;
    size_t cap = r->out_cap ? r->out_cap : DEFAULT_OUT_CAP;
    if (r->out->len + n > cap || (!r->accept_encoding && x->resp->content_length > (int64_t)cap)) {
        x->resp->capped = true;
        return 0;
    }
    return bronze_buf_append(r->out, p, n) ? 0 : n;
}

static void copy_header_value(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

void bronze_http_ratelimit_field(const char *v, size_t n, char *rem, size_t remcap, char *reset,
                                 size_t resetcap)
{
    long long best_r = -1, best_t = -1, dict_t = -1;
    size_t i = 0;
    while (i < n) {
        long long r = -1, t = -1;
        /* one list member: parts split by ';', up to a ',' outside quotes */
        while (i < n && v[i] != ',') {
            while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ';'))
                i++;
            size_t kb = i;
            while (i < n && v[i] != '=' && v[i] != ';' && v[i] != ',' && v[i] != '"')
                i++;
            size_t kl = i - kb;
            if (i < n && v[i] == '"') { /* a quoted item or value: skipped */
                for (i++; i < n && v[i] != '"'; i++)
                    if (v[i] == '\\' && i + 1 < n)
                        i++;
                if (i < n)
                    i++;
                continue;
            }
            if (i >= n || v[i] != '=')
                continue;
            i++;
            long long val = -1;
            if (i < n && v[i] >= '0' && v[i] <= '9') {
                val = 0;
                for (; i < n && v[i] >= '0' && v[i] <= '9'; i++)
                    if (val < 100000000000000LL)
                        val = val * 10 + (v[i] - '0');
            }
            while (i < n && v[i] != ';' && v[i] != ',') /* the rest of the part */
                i++;
            while (kl && (v[kb + kl - 1] == ' ' || v[kb + kl - 1] == '\t'))
                kl--;
            if ((kl == 1 && (v[kb] == 'r' || v[kb] == 'R')) ||
                (kl == 9 && !strncasecmp(v + kb, "remaining", 9)))
                r = val;
            else if ((kl == 1 && (v[kb] == 't' || v[kb] == 'T')) ||
                     (kl == 5 && !strncasecmp(v + kb, "reset", 5)))
                t = val;
        }
        if (i < n)
            i++; /* the ',' */
        if (r >= 0) {
            if (best_r < 0 || (r == 0 && (best_r != 0 || t > best_t))) {
                best_r = r;
                best_t = t;
            }
        } else if (t >= 0)
            dict_t = t; /* draft -07: reset is a member of its own */
    }
    if (best_r < 0)
        return;
    if (best_t < 0)
        best_t = dict_t;
    snprintf(rem, remcap, "%lld", best_r);
    if (best_t >= 0)
        snprintf(reset, resetcap, "%lld", best_t);
    else
        reset[0] = 0;
}

static size_t header_cb(char *p, size_t size, size_t nmemb, void *userp)
{
    xfer *x = userp;
    size_t n = size * nmemb;
    bronze_http_resp *resp = x->resp;
    if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
        /* a new response (after a 100 Continue): forget the last one's */
        resp->etag[0] = resp->retry_after[0] = resp->request_id[0] = 0;
        resp->ratelimit_remaining[0] = resp->ratelimit_reset[0] = 0;
        resp->ratelimit_name = NULL;
        resp->content_length = -1;
        x->status_known = false;
        x->h->link.len = 0;
        return n;
    }
    static const struct {
        const char *name;
        size_t off, cap;
    } want[] = {
        {"etag", offsetof(bronze_http_resp, etag), sizeof resp->etag},
        {"content-type", offsetof(bronze_http_resp, content_type), sizeof resp->content_type},
        {"retry-after", offsetof(bronze_http_resp, retry_after), sizeof resp->retry_after},
        {"x-amz-request-id", offsetof(bronze_http_resp, request_id), sizeof resp->request_id},
    };
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return n;
    size_t nlen = (size_t)(colon - p);
    if (nlen == 14 && !strncasecmp(p, "content-length", 14)) {
        char v[32];
        copy_header_value(v, sizeof v, colon + 1, n - nlen - 1);
        char *e;
        errno = 0;
        long long cl = strtoll(v, &e, 10);
        resp->content_length = (errno || e == v || *e || cl < 0) ? -1 : (int64_t)cl;
    }
    if (nlen == 4 && !strncasecmp(p, "link", 4)) {
        const char *v = colon + 1;
        size_t vn = n - nlen - 1;
        while (vn && (*v == ' ' || *v == '\t')) {
            v++;
            vn--;
        }
        while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
            vn--;
        bronze_buf *b = &x->h->link;
        /* a Link header is small; one beyond 64 KiB is dropped, not an error */
        if (vn && b->len + vn + 2 < 65536 &&
            ((b->len && bronze_buf_append(b, ", ", 2)) || bronze_buf_append(b, v, vn)))
            return 0;
    }
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (nlen == strlen(want[i].name) && !strncasecmp(p, want[i].name, nlen))
            copy_header_value((char *)resp + want[i].off, want[i].cap, colon + 1, n - nlen - 1);
    static const char *const rl_prefix[] = {"X-RateLimit-", "X-Rate-Limit-", "RateLimit-"};
    static const char *const rl_remaining[] = {"X-RateLimit-Remaining", "X-Rate-Limit-Remaining",
                                               "RateLimit-Remaining"};
    if (nlen == 9 && !strncasecmp(p, "RateLimit", 9)) {
        bronze_http_ratelimit_field(colon + 1, n - nlen - 1, resp->ratelimit_remaining,
                                    sizeof resp->ratelimit_remaining, resp->ratelimit_reset,
                                    sizeof resp->ratelimit_reset);
        if (resp->ratelimit_remaining[0])
            resp->ratelimit_name = "RateLimit";
    }
    for (size_t i = 0; i < 3; i++) {
        size_t pl = strlen(rl_prefix[i]);
        if (nlen <= pl || strncasecmp(p, rl_prefix[i], pl))
            continue;
        if (nlen == pl + 9 && !strncasecmp(p + pl, "remaining", 9)) {
            copy_header_value(resp->ratelimit_remaining, sizeof resp->ratelimit_remaining,
                              colon + 1, n - nlen - 1);
            resp->ratelimit_name = rl_remaining[i];
        } else if (nlen == pl + 5 && !strncasecmp(p + pl, "reset", 5))
            copy_header_value(resp->ratelimit_reset, sizeof resp->ratelimit_reset, colon + 1,
                              n - nlen - 1);
    }
    return n;
}

static int progress_cb(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    xfer *x = userp;
    (void)dltotal;
    (void)ultotal;
    /* stop a long transfer on SIGINT */
    if (bronze_interrupted() && !x->r->ignore_interrupt)
        return 1;
    /* timeout_seconds without a byte either way: a stalled transfer (libcurl
     * calls this about once a second while idle, so it ends within a second
     * of the limit, where CURLOPT_LOW_SPEED_TIME's window ran seconds late) */
    double now = mono_s();
    if (dlnow != x->seen_dl || ulnow != x->seen_ul) {
        x->seen_dl = dlnow;
        x->seen_ul = ulnow;
        x->last_move = now;
        return 0;
    }
    if (now - x->last_move >= (double)x->h->timeout) {
        x->stalled = true;
        return 1;
    }
    return 0;
}

int bronze_http_do(bronze_http *h, const bronze_http_req *r, bronze_http_resp *resp,
                   const char *what, bronze_err *err)
{
    memset(resp, 0, sizeof *resp);
    resp->content_length = -1;
    h->err_body.len = 0;
    h->link.len = 0;
    h->curl_msg[0] = 0;
    if (r->out)
        r->out->len = 0;
    if (!what)
        what = "(request)";
    CURL *c = h->curl;
    curl_easy_reset(c);
    xfer x = {.h = h, .r = r, .resp = resp, .last_move = mono_s()};
    struct curl_slist *hl = NULL;
    int rc = -1;
    for (size_t i = 0; i < r->nheaders; i++) {
        struct curl_slist *t = curl_slist_append(hl, r->headers[i]);
        if (!t)
            goto oom;
        hl = t;
    }
    /* no "Expect: 100-continue" round trip (and its 1 s stall on servers
     * that ignore it); no default Content-Type on POST */
    static const char *const fixed[] = {"Expect:", "Content-Type:"};
    for (size_t i = 0; i < 2; i++) {
        bool given = false;
        size_t fl = strlen(fixed[i]);
        for (size_t j = 0; j < r->nheaders; j++)
            if (!strncasecmp(r->headers[j], fixed[i], fl))
                given = true;
        if (!given) {
            struct curl_slist *t = curl_slist_append(hl, fixed[i]);
            if (!t)
                goto oom;
            hl = t;
        }
    }
    bool has_body = r->body_len > 0 || r->body_fd >= 0;
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_bundle)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_bundle);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)h->timeout);
    /* a backstop only: progress_cb's idle timeout ends a stall first */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)h->timeout + 5);
    curl_easy_setopt(c, CURLOPT_USERAGENT, h->user_agent);
    /* a response read into memory (an API page): 256 KiB receive buffer, a
     * sixteenth of the write callbacks and recv() calls of curl's 16 KiB */
    if (r->out)
        curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 256L * 1024);
    if (r->accept_encoding)
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl decodes */
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->curl_msg);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    if (!strcmp(r->method, "PUT")) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
    } else if (!strcmp(r->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        if (!has_body)
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    } else if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(r->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
    }
    if (has_body) {
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, &x);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, &x);
    }
    CURLcode cc = curl_easy_perform(c);
    resp->curl_code = (int)cc;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    char *moved = NULL;
    if (resp->status >= 300 && resp->status < 400 &&
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &moved) == CURLE_OK && moved &&
        strlen(moved) < sizeof resp->location)
        strcpy(resp->location, moved);
    if (bronze_buf_cstr(&h->err_body) == 0) {
        resp->err_body = (const char *)h->err_body.data;
        resp->err_len = h->err_body.len;
    }
    resp->link = bronze_buf_cstr(&h->link) == 0 ? (const char *)h->link.data : "";
    if (cc == CURLE_OK) {
        rc = 0;
    } else if (resp->capped) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "%s %s: response larger than %zu bytes", r->method,
                       what, r->out_cap ? r->out_cap : (size_t)DEFAULT_OUT_CAP);
    } else if (x.sink_failed) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "%s %s: response body not taken", r->method, what);
    } else if (x.io_errno) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "%s %s: reading the local file: %s", r->method, what,
                       strerror(x.io_errno));
    } else if (cc == CURLE_ABORTED_BY_CALLBACK && x.stalled) {
        bronze_err_set(err, BRONZE_E_RETRY,
                       "%s %s: timed out: no data %s for %d s (source.run.timeout_seconds)",
                       r->method, what, resp->status ? "received" : "and no response", h->timeout);
    } else if (cc == CURLE_ABORTED_BY_CALLBACK && bronze_interrupted()) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "%s %s: interrupted", r->method, what);
    } else {
        bronze_err_set(err, bronze_retry_transport((int)cc) ? BRONZE_E_RETRY : BRONZE_E_RUNTIME,
                       "%s %s: %s%s%s", r->method, what, curl_easy_strerror(cc),
                       h->curl_msg[0] ? ": " : "", h->curl_msg);
    }
    goto done;
oom:
    bronze_err_set(err, BRONZE_E_RUNTIME, "%s %s: out of memory", r->method, what);
done:
    /* the handle keeps no pointer to this call's headers or state */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hl);
    return rc;
}
