/*
 * api.c - the `type: api` source (SPEC §3 source.api): pages through a JSON
 * REST API over one kept-alive libcurl handle (util/http.c), spools every
 * record to JSON Lines as it arrives (source/spool.c) and, once the last page
 * is in, hands schema() and next() to the file source reading that spool, so
 * an API gets the same type inference and widening as a JSON Lines file and
 * one schema per batch (SPEC §4). Memory is bounded by one page (itself
 * bounded by max_response_mb), never by the API's total.
 *
 * Pages are split by source/api_scan.c (a validating scanner, no tree): the
 * records' raw bytes go to the spool and jansson parses only the page's
 * skeleton (the record array cut to []) for the pager; any page the scanner
 * is not sure of takes the jansson path (take_page), whose messages name the
 * page, the URL and the first bytes.
 *
 * Shape: open() does all the network work (auth, paging, retries, the
 * incremental cursor) and fails before a single row reaches the job, so a
 * failed API run commits nothing and leaves the cursor where it was. A RESTART
 * from the inner file source (a widened column) passes straight through:
 * the spool is re-read, the API is not asked again.
 *
 * Paging (pagination.type): none; offset / page (stop at an empty or short
 * page); cursor (a next cursor at cursor_path; one that is a URL or an
 * absolute path is requested as the next page's URL, as Salesforce's
 * nextRecordsUrl); link (RFC 8288 Link rel="next"); next_url (a body field).
 * A next URL is requested as given; params, paging and the incremental cursor
 * go only on URLs built from base_url. A paging loop (a next URL or cursor
 * seen before, or a page whose bytes repeat the previous page's) fails
 * instead of spinning.
 *
 * Secrets (tokens, keys, passwords, client secrets) live only in request
 * headers and the OAuth2 token request body. Every URL or body excerpt that
 * reaches a log line or an error goes through mask(): query values whose name
 * looks secret become ***, and any secret value found anywhere is replaced.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <xxhash.h>

#include "format/value_text.h"
#include "source/api_scan.h"
#include "source/input.h"
#include "source/source.h"
#include "source/spool.h"
#include "util/buf.h"
#include "util/datetime.h"
#include "util/http.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/retry.h"
#include "util/sigv4.h"
#include "util/utf8.h"

#define MAX_SECRETS 8
#define SNIPPET 200

typedef enum { CK_NONE = 0, CK_NUM, CK_TIME, CK_TEXT } cursor_kind;

struct bronze_source {
    const bronze_config *cfg;
    bronze_source_ctx ctx;
    bronze_http *http;
    bronze_spool *spool;
    bronze_source *inner; /* the file source over the spool */
    bronze_buf body;      /* the page being read */
    bronze_scan scan;     /* the fast splitter's spans over body */
    bronze_buf skel;      /* body with the record array cut to [] */
    char *link;           /* the last response's Link header */
    char *base;           /* base_url joined with endpoint */
    char *basic;          /* "Authorization: Basic ..." */
    char *token;          /* OAuth2 access token */
    bool oauth_basic;     /* the token endpoint takes the client's credentials as HTTP Basic */
    double token_expiry;  /* monotonic seconds; 0 = no expiry given */
    const char *secrets[MAX_SECRETS];
    size_t nsecrets;
    double tokens, refilled; /* rate limit bucket */
    double quota_until;      /* monotonic seconds: the API said its quota is spent until then */
    int64_t cursor_odd;      /* cursor_field values that are no cursor (booleans, nested) */
    uint64_t rng;
    /* incremental: the typed maximum of cursor_field so far */
    cursor_kind best_kind;
    long double best_num; /* CK_NUM; best_int: an integer, exactly best_i */
    int64_t best_i;
    bool best_int;
    bool best_big;        /* an integer known by its digits only (past int64, or a string) */
    bool cursor_unsorted; /* a record's cursor value below an earlier record's */
    bool page_cut;        /* max_records left records of the last page out */
    int64_t best_us;
    char *best_text;
    /* loop detection */
    uint64_t *seen;
    size_t nseen, capseen;
    uint64_t prev_page_hash;
    int64_t records, pages;
    long status;      /* of the last successful exchange */
    char charset[64]; /* ... and its Content-Type's charset ("" none) */
    bronze_buf conv;  /* a page converted to UTF-8 from that charset */
    /* page k's last record is record page_end[k - 1] of the spool, so a
     * record's message names its page: the fetcher appends, the reader's
     * notes look up (name_record), both under pages_mu */
    uint64_t *page_end;
    size_t npage_end, cap_page_end;
    pthread_mutex_t pages_mu;
    /* The pages are fetched by a thread of their own (fetch_main) while the
     * file source reads the spool as it grows (spool.h "live"), so typing
     * and encoding overlap the transfer. */
    pthread_t fetcher;
    bool fetching;    /* fetcher started and not joined */
    atomic_bool stop; /* the reader has stopped: the fetcher gives up */
    int fetch_rc;     /* the fetcher's result, read after the join */
    bool fetch_late;  /* it failed after stop was set (the reader's error leads) */
    bronze_err fetch_err;
    char job_tag[160]; /* the job's log tag, for the fetcher's lines */
};

/* ---------------------------------------------------------------- helpers */

/* A page that took this long to come is published to the reader at once
 * (bronze_spool_publish's `now`); faster ones gather a mebibyte first. */
#define SLOW_PAGE_S 0.005

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_secret(bronze_source *s, const char *v)
{
    /* a value shorter than 4 bytes would mask half of every message */
    if (v && strlen(v) >= 4 && s->nsecrets < MAX_SECRETS)
        s->secrets[s->nsecrets++] = v;
}

/* s->basic = "Authorization: Basic base64(user:pass)", its value a secret.
 * -1 on OOM. */
static int basic_header(bronze_source *s, const char *user, const char *pass)
{
    char *pair = NULL;
    if (asprintf(&pair, "%s:%s", user, pass) < 0)
        return -1;
    size_t n = strlen(pair), cap = 4 * ((n + 2) / 3) + 1;
    char *b64 = malloc(cap);
    if (b64 && bronze_base64((const unsigned char *)pair, n, b64, cap) == 0 &&
        asprintf(&s->basic, "Authorization: Basic %s", b64) < 0)
        s->basic = NULL;
    memset(pair, 0, n);
    free(pair);
    if (b64) {
        add_secret(s, s->basic ? s->basic + 21 : NULL);
        memset(b64, 0, strlen(b64));
        free(b64);
    }
    return s->basic ? 0 : -1;
}

/* Replaces every occurrence of a secret value in buf (in place: "***" is
 * never longer than a secret). */
static void scrub(const bronze_source *s, char *buf)
{
    for (size_t i = 0; i <= s->nsecrets; i++) {
        /* the last slot: the current OAuth2 token (it changes on refresh) */
        const char *sec = i < s->nsecrets ? s->secrets[i] : s->token;
        size_t n = sec ? strlen(sec) : 0;
        if (n < 4)
            continue;
        char *p;
        while ((p = strstr(buf, sec))) {
            memcpy(p, "***", 3);
            memmove(p + 3, p + n, strlen(p + n) + 1);
        }
    }
}

static bool secret_name(const char *k, size_t n)
{
    static const char *const words[] = {"token",   "key",       "secret", "password", "passwd",
                                        "pwd",     "signature", "sig",    "auth",     "credential",
                                        "session", "client_id", NULL};
    char low[64];
    if (n >= sizeof low)
        n = sizeof low - 1;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)k[i]);
    low[n] = 0;
    for (size_t i = 0; words[i]; i++)
        if (strstr(low, words[i]))
            return true;
    return false;
}

/* A URL fit for a log line: query values under secret-looking names become
 * ***, then any secret value left is replaced. out holds cap bytes. */
static void mask_url(const bronze_source *s, const char *url, char *out, size_t cap)
{
    size_t o = 0;
    const char *q = strchr(url, '?');
    size_t head = q ? (size_t)(q - url) + 1 : strlen(url);
    for (size_t i = 0; i < head && o + 1 < cap; i++)
        out[o++] = url[i];
    if (q) {
        const char *p = q + 1;
        while (*p && o + 1 < cap) {
            const char *amp = strchr(p, '&');
            size_t len = amp ? (size_t)(amp - p) : strlen(p);
            const char *eq = memchr(p, '=', len);
            size_t kl = eq ? (size_t)(eq - p) : len;
            bool hide = eq && secret_name(p, kl);
            size_t take = hide ? kl + 1 : len;
            for (size_t i = 0; i < take && o + 1 < cap; i++)
                out[o++] = p[i];
            if (hide)
                for (const char *m = "***"; *m && o + 1 < cap; m++)
                    out[o++] = *m;
            if (!amp)
                break;
            if (o + 1 < cap)
                out[o++] = '&';
            p = amp + 1;
        }
    }
    out[o] = 0;
    if (o + 1 >= cap && cap > 4)
        memcpy(out + cap - 4, "...", 4);
    scrub(s, out);
}

/* The first bytes of a body, printable, secrets masked. */
static void snippet(const bronze_source *s, const void *p, size_t n, char *out, size_t cap)
{
    const unsigned char *b = p;
    size_t o = 0, lim = n < SNIPPET ? n : SNIPPET;
    for (size_t i = 0; i < lim && o + 1 < cap; i++)
        out[o++] = b[i] >= 0x20 && b[i] != 0x7f ? (char)b[i] : (b[i] == '\n' ? ' ' : '?');
    out[o] = 0;
    scrub(s, out);
}

static int pct_append(bronze_buf *b, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            if (bronze_buf_putc(b, *p))
                return -1;
        } else {
            char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            if (bronze_buf_append(b, e, 3))
                return -1;
        }
    }
    return 0;
}

static int add_param(bronze_buf *b, const char *k, const char *v)
{
    bool has_q = b->len && memchr(b->data, '?', b->len);
    if (bronze_buf_putc(b, has_q ? '&' : '?') || pct_append(b, k) || bronze_buf_putc(b, '=') ||
        pct_append(b, v))
        return -1;
    return 0;
}

/* The length of a URL's scheme (RFC 3986 3.1: a letter, then letters,
 * digits, '+', '-', '.', up to ':'); 0 when it has none (a relative ref). */
static size_t scheme_len(const char *u)
{
    if (!isalpha((unsigned char)u[0]))
        return 0;
    size_t i = 1;
    while (isalnum((unsigned char)u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.')
        i++;
    return u[i] == ':' ? i : 0;
}

static bool is_abs_url(const char *u)
{
    return !strncasecmp(u, "http://", 7) || !strncasecmp(u, "https://", 8);
}

/* Resolves a next-page reference against the URL it came from (RFC 3986,
 * the common cases): absolute, "/path" (same origin), "?query" or relative. */
static char *resolve_url(const char *from, const char *ref)
{
    bronze_buf b = BRONZE_BUF_INIT;
    int rc = 0;
    if (is_abs_url(ref)) {
        rc = bronze_buf_append(&b, ref, strlen(ref));
    } else {
        const char *scheme = strstr(from, "://");
        const char *auth = scheme ? scheme + 3 : from;
        size_t origin = strcspn(auth, "/?#") + (size_t)(auth - from);
        if (ref[0] == '/' && ref[1] == '/') {
            rc = bronze_buf_append(&b, from, scheme ? (size_t)(scheme - from) + 1 : 0) ||
                 bronze_buf_append(&b, ref, strlen(ref));
        } else if (ref[0] == '/') {
            rc = bronze_buf_append(&b, from, origin) || bronze_buf_append(&b, ref, strlen(ref));
        } else if (ref[0] == '?') {
            size_t path_end = strcspn(from, "?#");
            rc = bronze_buf_append(&b, from, path_end) || bronze_buf_append(&b, ref, strlen(ref));
        } else {
            size_t path_end = strcspn(from, "?#");
            size_t dir = path_end;
            while (dir > origin && from[dir - 1] != '/')
                dir--;
            if (dir == origin)
                rc = bronze_buf_append(&b, from, origin) || bronze_buf_putc(&b, '/');
            else
                rc = bronze_buf_append(&b, from, dir);
            rc = rc || bronze_buf_append(&b, ref, strlen(ref));
        }
    }
    if (rc || bronze_buf_cstr(&b)) {
        bronze_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* The scheme, host and port of an absolute URL; false when it has none. */
typedef struct url_origin {
    char scheme[8];
    char host[256];
    unsigned long port;
} url_origin;

static bool origin_of(const char *u, url_origin *o)
{
    const char *sep = strstr(u, "://");
    if (!sep || (size_t)(sep - u) >= sizeof o->scheme)
        return false;
    size_t sl = (size_t)(sep - u);
    for (size_t i = 0; i < sl; i++)
        o->scheme[i] = (char)tolower((unsigned char)u[i]);
    o->scheme[sl] = 0;
    const char *a = sep + 3, *end = a + strcspn(a, "/?#");
    const char *at = memchr(a, '@', (size_t)(end - a));
    if (at)
        a = at + 1; /* user:password@ */
    const char *colon = NULL;
    for (const char *p = end; p > a && p[-1] != ']'; p--)
        if (p[-1] == ':') {
            colon = p - 1;
            break;
        }
    size_t hl = (size_t)((colon ? colon : end) - a);
    if (!hl || hl >= sizeof o->host)
        return false;
    for (size_t i = 0; i < hl; i++)
        o->host[i] = (char)tolower((unsigned char)a[i]);
    o->host[hl] = 0;
    o->port = colon && colon + 1 < end     ? strtoul(colon + 1, NULL, 10)
              : strcmp(o->scheme, "https") ? 80
                                           : 443;
    return true;
}

/* A redirect from `from` to `to` is followed with the same credentials when
 * it stays on the same scheme, host and port, or goes from http to https on
 * the same host. */
static bool same_origin(const char *from, const char *to)
{
    url_origin a, b;
    if (!origin_of(from, &a) || !origin_of(to, &b) || strcmp(a.host, b.host))
        return false;
    if (!strcmp(a.scheme, b.scheme))
        return a.port == b.port;
    return !strcmp(a.scheme, "http") && !strcmp(b.scheme, "https");
}

/* A dot path into a JSON document ("data.items", "links.next", "a.0.b"). */
static json_t *dot_get(json_t *doc, const char *path)
{
    json_t *cur = doc;
    const char *p = path;
    while (cur && *p) {
        size_t n = strcspn(p, ".");
        char key[256];
        if (n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = 0;
        if (json_is_object(cur)) {
            cur = json_object_get(cur, key);
        } else if (json_is_array(cur)) {
            char *e;
            unsigned long i = strtoul(key, &e, 10);
            cur = *key && !*e ? json_array_get(cur, i) : NULL;
        } else {
            return NULL;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* ---------------------------------------------------------------- cursor */
/* A next-page reference at a dot path (cursor_path; next_url_path when url):
 * a string as it is; for a cursor an integer in decimal or a real as its
 * column's text (into numtext: 1735711200.5); for a URL a link object's "href" (JSON:API
 * 1.1, HAL). NULL when there is none (absent, null, false, ""), and then
 * *bad says what else it was (true, an array, ...), or stays NULL. */
static const char *next_ref(const json_t *v, bool url, char numtext[64], const char **bad)
{
    *bad = NULL;
    if (!v || json_is_null(v) || json_is_false(v))
        return NULL;
    if (json_is_string(v))
        return json_string_value(v);
    if (url && json_is_object(v)) {
        const json_t *h = json_object_get(v, "href");
        if (json_is_string(h))
            return json_string_value(h);
        *bad = "an object without a string \"href\"";
        return NULL;
    }
    if (!url && json_is_integer(v)) {
        snprintf(numtext, 64, "%lld", (long long)json_integer_value(v));
        return numtext;
    }
    if (!url && json_is_real(v)) {
        bronze_fmt_double(json_real_value(v), numtext); /* as its column's text */
        return numtext;
    }
    *bad = json_is_true(v) ? "a boolean (true)" : json_is_number(v) ? "a number" : json_kind(v);
    return NULL;
}

/* t is an integer written out: an optional '-', then digits only. */
static bool int_text(const char *t)
{
    t += *t == '-';
    if (!*t)
        return false;
    for (; *t; t++)
        if (*t < '0' || *t > '9')
            return false;
    return true;
}

/* The order of two int_text() integers of any length: <0, 0, >0. */
static int int_text_cmp(const char *a, const char *b)
{
    bool na = *a == '-', nb = *b == '-';
    a += na;
    b += nb;
    while (*a == '0' && a[1])
        a++;
    while (*b == '0' && b[1])
        b++;
    na = na && *a != '0'; /* -0 is 0 */
    nb = nb && *b != '0';
    if (na != nb)
        return na ? -1 : 1;
    size_t la = strlen(a), lb = strlen(b);
    int c = la != lb ? (la < lb ? -1 : 1) : strcmp(a, b);
    return na ? -c : c;
}

static int cursor_take(bronze_source *s, const json_t *v)
{
    cursor_kind k;
    long double num = 0; /* exact for any int64 where long double has 64 bits */
    int64_t us = 0, iv = 0;
    bool is_int = json_is_integer(v), big = false;
    char text[64];
    const char *t = text;
    if (is_int) {
        k = CK_NUM;
        iv = json_integer_value(v);
        num = (long double)iv;
        snprintf(text, sizeof text, "%lld", (long long)iv);
    } else if (json_is_real(v)) {
        k = CK_NUM;
        num = json_real_value(v);
        bronze_fmt_double(json_real_value(v), text); /* as the column's text (SPEC §5) */
    } else if (json_is_string(v)) {
        t = json_string_value(v);
        size_t n = json_string_length(v);
        bool tz;
        int32_t days;
        if (bronze_parse_timestamp(t, n, &us, &tz) == 0) {
            k = CK_TIME;
        } else if (bronze_parse_date(t, n, &days) == 0) {
            k = CK_TIME;
            us = (int64_t)days * 86400 * 1000000;
        } else if (strlen(t) == n && int_text(t)) {
            /* digits: a big integer (handed over as its text) or an id kept
             * in a string, ordered as the number it is ("10" above "9") */
            k = CK_NUM;
            is_int = big = true;
            num = strtold(t, NULL);
        } else {
            k = CK_TEXT;
        }
    } else {
        /* null, booleans and nested values do not move a cursor */
        s->cursor_odd += !json_is_null(v);
        return 0;
    }
    int cmp; /* this value against the maximum so far */
    if (s->best_kind == CK_NONE)
        cmp = 1;
    else if (k == s->best_kind && k == CK_NUM && is_int && s->best_int)
        /* ids beyond 2^53 differ where doubles do not */
        cmp = big || s->best_big ? int_text_cmp(t, s->best_text)
                                 : (iv > s->best_i) - (iv < s->best_i);
    else if (k == s->best_kind && k == CK_NUM)
        cmp = (num > s->best_num) - (num < s->best_num);
    else if (k == s->best_kind && k == CK_TIME)
        cmp = (us > s->best_us) - (us < s->best_us);
    else
        cmp = strcmp(t, s->best_text); /* mixed or text: as text */
    if (cmp < 0)
        s->cursor_unsorted = true;
    if (cmp <= 0)
        return 0;
    char *copy = strdup(t);
    if (!copy)
        return -1;
    free(s->best_text);
    s->best_text = copy;
    /* once kinds mix, comparisons stay textual */
    s->best_kind = s->best_kind == CK_NONE || s->best_kind == k ? k : CK_TEXT;
    s->best_num = num;
    s->best_i = iv;
    s->best_int = is_int;
    s->best_big = big;
    s->best_us = us;
    return 0;
}

/* ---------------------------------------------------------------- requests */

/* Sleeps ms (at most 10 minutes); -1 as soon as a signal arrives or the
 * reader has stopped. The records spooled so far are handed to the reader
 * first (a write error stays with the spool: the next publish reports it). */
static int nap(bronze_source *s, uint64_t ms)
{
    bronze_err ignored = BRONZE_ERR_INIT;
    if (s->spool)
        (void)bronze_spool_publish(s->spool, true, &ignored);
    return bronze_interrupt_sleep_ms_or(ms > 600000 ? 600000u : (unsigned)ms, &s->stop);
}

/* The API's own rate-limit headers on a response: true when they say no
 * request is left in the window (remaining 0), with *ms until it resets (a
 * second of margin for clock skew; -1 when no reset is given). A reset above
 * 10^9 is a Unix time (GitHub, Twitter), else seconds from now (the IETF
 * draft). */
static bool quota_spent(const bronze_http_resp *r, int64_t *ms)
{
    *ms = -1;
    if (!r->ratelimit_name || strcmp(r->ratelimit_remaining, "0"))
        return false;
    char *e;
    errno = 0;
    double v = strtod(r->ratelimit_reset, &e);
    if (!r->ratelimit_reset[0] || errno || *e || !(v >= 0) || v > 1e12)
        return true;
    double secs = v > 1e9 ? v - (double)time(NULL) : v;
    *ms = (int64_t)((secs > 0 ? secs : 0) * 1000.0) + 1000;
    return true;
}

/* When a response said the quota is spent, the next request waits for the
 * window's reset (at most BRONZE_RETRY_AFTER_MAX_MS; a longer one is left to
 * the refusal that follows, which names it). */
static int quota_wait(bronze_source *s)
{
    double left = s->quota_until - mono_now();
    s->quota_until = 0;
    if (left <= 0)
        return 0;
    BRONZE_INFO("The API's rate limit is spent for now: waiting %.1f s for its reset", left);
    return nap(s, (uint64_t)ceil(left * 1000.0));
}

static int rate_wait(bronze_source *s)
{
    if (s->quota_until > 0 && quota_wait(s))
        return -1;
    double rps = s->cfg->api.rate_limit.rps;
    if (rps <= 0)
        return 0;
    double burst = s->cfg->api.rate_limit.burst > 0 ? s->cfg->api.rate_limit.burst : 1;
    double now = mono_now();
    s->tokens += (now - s->refilled) * rps;
    if (s->tokens > burst)
        s->tokens = burst;
    s->refilled = now;
    if (s->tokens < 1) {
        uint64_t ms = (uint64_t)ceil((1 - s->tokens) / rps * 1000.0);
        if (nap(s, ms))
            return -1;
        now = mono_now();
        s->tokens += (now - s->refilled) * rps;
        s->refilled = now;
    }
    s->tokens -= 1;
    return 0;
}

typedef struct call {
    const char *method, *url;
    const char *body;
    size_t body_len;
    const char *content_type;
    bool auth;         /* add the configured auth */
    bool api_headers;  /* add the configured headers */
    const char *extra; /* one more header line, or NULL */
    const char *what;  /* "page 3", "the OAuth2 token request" */
    /* when not NULL, a failed exchange tells here how the last response
     * refused it: its status (0: none arrived) and the "error" string of a
     * JSON object body (RFC 6749 5.2's code, "" when none) */
    struct refusal {
        long status;
        char error[48];
    } * refused;
} call;

/* The charset parameter of a Content-Type value ("application/json;
 * charset=ISO-8859-1"), unquoted, into out; "" when there is none. */
static void content_charset(const char *ct, char *out, size_t cap)
{
    out[0] = 0;
    for (const char *p = strchr(ct, ';'); p; p = strchr(p + 1, ';')) {
        const char *q = p + 1;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncasecmp(q, "charset=", 8))
            continue;
        q += 8;
        bool quoted = *q == '"';
        q += quoted;
        size_t n = strcspn(q, quoted ? "\"" : "; \t");
        if (n < cap) {
            memcpy(out, q, n);
            out[n] = 0;
        }
        return;
    }
}

static int oauth_fetch(bronze_source *s, bronze_err *err);

/* The headers of one request, into hv (each string owned by hv). */
static int build_headers(bronze_source *s, const call *c, char **hv, size_t *nh, size_t cap)
{
    const bronze_config *cfg = s->cfg;
    bool has_accept = false, has_ct = false;
    *nh = 0;
#define PUSH(...)                                                                                  \
    do {                                                                                           \
        if (*nh >= cap || asprintf(&hv[*nh], __VA_ARGS__) < 0)                                     \
            return -1;                                                                             \
        ++*nh;                                                                                     \
    } while (0)
    if (c->api_headers) {
        for (size_t i = 0; i < cfg->api.nheaders; i++) {
            has_accept |= !strcasecmp(cfg->api.headers[i].key, "Accept");
            has_ct |= !strcasecmp(cfg->api.headers[i].key, "Content-Type");
            PUSH("%s: %s", cfg->api.headers[i].key, cfg->api.headers[i].value);
        }
    }
    if (!has_accept)
        PUSH("Accept: application/json");
    if (c->content_type && !has_ct)
        PUSH("Content-Type: %s", c->content_type);
    if (c->extra)
        PUSH("%s", c->extra);
    if (c->auth) {
        switch (cfg->api.auth_type) {
        case BRONZE_AUTH_BEARER:
            PUSH("Authorization: Bearer %s", cfg->env.api_token);
            break;
        case BRONZE_AUTH_API_KEY:
            PUSH("%s: %s", cfg->api.auth_key_header, cfg->env.api_key);
            break;
        case BRONZE_AUTH_BASIC:
            PUSH("%s", s->basic);
            break;
        case BRONZE_AUTH_OAUTH2_CC:
            PUSH("Authorization: Bearer %s", s->token);
            break;
        default:
            break;
        }
    }
#undef PUSH
    return 0;
}

static void free_headers(char **hv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* header lines may hold secrets: wipe before freeing */
        memset(hv[i], 0, strlen(hv[i]));
        free(hv[i]);
    }
}

/* One request with the retry rules of SPEC §3: 429 / 5xx / 408, timeouts and
 * resets retried with full-jitter backoff (Retry-After wins) up to
 * run.max_retries; an OAuth2 401 fetches a new token once; any other non-2xx
 * fails at once with the status and the first 200 bytes. On 0 the 2xx body is
 * in s->body and the Link header in s->link. */
#define MAX_REDIRECTS 10

static int exchange_quoted(bronze_source *s, const call *c0, bronze_err *err);

/* A URL as requests sends it (its requote_uri): every byte a URL cannot
 * hold (a space, a control character, a byte >= 0x80 of UTF-8 text, '"',
 * '<', '>', '\\', '^', '`', '{', '|', '}') percent-encoded; RFC 3986's reserved
 * and unreserved characters, and '%' starting an escape, kept (a lone '%' is
 * %25). NULL on OOM. */
static char *requote(const char *u)
{
    static const char keep[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                               "-._~:/?#[]@!$&'()*+,;=";
    bronze_buf b = BRONZE_BUF_INIT;
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)u; *p && !rc; p++) {
        if ((*p && strchr(keep, *p)) || (*p == '%' && isxdigit(p[1]) && isxdigit(p[2])))
            rc = bronze_buf_putc(&b, *p);
        else
            rc = bronze_buf_printf(&b, "%%%02X", *p);
    }
    if (rc || bronze_buf_cstr(&b)) {
        bronze_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* One request and its answer (exchange_quoted), on the URL as requote
 * gives it. */
static int exchange(bronze_source *s, const call *c0, bronze_err *err)
{
    char *u = requote(c0->url);
    if (!u)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    call c = *c0;
    c.url = u;
    int rc = exchange_quoted(s, &c, err);
    free(u);
    return rc;
}

static int exchange_quoted(bronze_source *s, const call *c0, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    /* c: the request as it is now; a redirect moves its URL (and may turn a
     * POST into a GET) */
    call cur = *c0;
    const call *c = &cur;
    char shown[1024], first[1024], moved[sizeof((bronze_http_resp *)0)->location];
    mask_url(s, c->url, shown, sizeof shown);
    memcpy(first, shown, sizeof first);
    int hops = 0;
    bool refreshed = false;
    size_t cap = (size_t)(cfg->api.max_response_mb * 1048576.0);
    if (c0->refused)
        *c0->refused = (struct refusal){0};
    for (int attempt = 0;; attempt++) {
        if (bronze_interrupted())
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: interrupted by signal %d before %s %s: nothing committed",
                                  cfg->path, bronze_interrupted(), c->what, shown);
        if (rate_wait(s))
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: interrupted by signal %d before %s: nothing committed",
                                  cfg->path, bronze_interrupted(), c->what);
        if (c->auth && cfg->api.auth_type == BRONZE_AUTH_OAUTH2_CC &&
            (!s->token || (s->token_expiry > 0 && mono_now() >= s->token_expiry)) &&
            oauth_fetch(s, err))
            return -1;
        char *hv[64];
        size_t nh = 0;
        if (build_headers(s, c, hv, &nh, sizeof hv / sizeof hv[0])) {
            free_headers(hv, nh);
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: %s: too many headers or out of memory", cfg->path, c->what);
        }
        bronze_http_req rq = BRONZE_HTTP_REQ_INIT;
        rq.method = c->method;
        rq.url = c->url;
        rq.headers = (const char *const *)hv;
        rq.nheaders = nh;
        rq.body = c->body;
        rq.body_len = c->body_len;
        rq.out = &s->body;
        rq.out_cap = cap;
        rq.accept_encoding = true;
        bronze_http_resp resp;
        double t0 = mono_now();
        int rc = bronze_http_do(s->http, &rq, &resp, shown, err);
        free_headers(hv, nh);
        if (rc && bronze_interrupted())
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: %s: %s %s: interrupted by signal %d: nothing committed",
                                  cfg->path, c->what, c->method, shown, bronze_interrupted());
        if (rc) {
            scrub(s, err->msg);
            if (resp.capped)
                return bronze_err_set(err, BRONZE_E_RUNTIME,
                                      "%s: %s: %s %s: response larger than "
                                      "source.api.max_response_mb (%g MiB)",
                                      cfg->path, c->what, c->method, shown,
                                      cfg->api.max_response_mb);
            if (err->kind == BRONZE_E_RETRY && attempt < cfg->run.max_retries &&
                !bronze_interrupted()) {
                uint64_t ms = bronze_retry_delay_ms(attempt, NULL, &s->rng);
                BRONZE_WARN("%s: %s; retry %d/%d in %.1f s", c->what, err->msg, attempt + 1,
                            cfg->run.max_retries, (double)ms / 1000.0);
                if (nap(s, ms) == 0)
                    continue;
            }
            err->kind = BRONZE_E_RUNTIME;
            return bronze_err_prefix(err, "%s: %s", cfg->path, c->what);
        }
        BRONZE_DEBUG("%s: %s %s -> HTTP %ld, %zu bytes in %.3f s", c->what, c->method, shown,
                     resp.status, s->body.len, mono_now() - t0);
        int64_t reset_ms;
        bool spent = quota_spent(&resp, &reset_ms);
        if (resp.status >= 200 && resp.status < 300) {
            if (spent && reset_ms > 0 && reset_ms <= BRONZE_RETRY_AFTER_MAX_MS)
                s->quota_until = mono_now() + (double)reset_ms / 1000.0;
            s->status = resp.status;
            content_charset(resp.content_type, s->charset, sizeof s->charset);
            free(s->link);
            s->link = resp.link && *resp.link ? strdup(resp.link) : NULL;
            if (resp.link && *resp.link && !s->link)
                return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            return 0;
        }
        if (c->refused) {
            c->refused->status = resp.status;
            c->refused->error[0] = 0;
            json_t *doc = resp.err_body ? json_loadb(resp.err_body, resp.err_len, 0, NULL) : NULL;
            const char *code = json_string_value(json_object_get(doc, "error"));
            if (code)
                snprintf(c->refused->error, sizeof c->refused->error, "%s", code);
            json_decref(doc);
        }
        char snip[SNIPPET * 2];
        snippet(s, resp.err_body ? resp.err_body : "", resp.err_body ? resp.err_len : 0, snip,
                sizeof snip);
        if (resp.status == 401 && c->auth && cfg->api.auth_type == BRONZE_AUTH_OAUTH2_CC &&
            !refreshed) {
            BRONZE_INFO("%s: HTTP 401: fetching a new OAuth2 token", c->what);
            refreshed = true;
            free(s->token);
            s->token = NULL;
            attempt--; /* the token refresh is not a retry */
            continue;
        }
        if ((resp.status == 301 || resp.status == 302 || resp.status == 303 || resp.status == 307 ||
             resp.status == 308) &&
            resp.location[0]) {
            char to[1024];
            mask_url(s, resp.location, to, sizeof to);
            if (!same_origin(c->url, resp.location))
                return bronze_err_set(err, BRONZE_E_RUNTIME,
                                      "%s: %s: %s %s: HTTP %ld redirects to another host (%s): "
                                      "not followed, so that the credentials stay with this "
                                      "one; point source.api.base_url there",
                                      cfg->path, c->what, c->method, shown, resp.status, to);
            if (++hops > MAX_REDIRECTS)
                return bronze_err_set(err, BRONZE_E_RUNTIME,
                                      "%s: %s: %s %s: more than %d redirects (the last to %s)",
                                      cfg->path, c->what, c0->method, first, MAX_REDIRECTS, to);
            BRONZE_DEBUG("%s: %s %s -> HTTP %ld to %s", c->what, c->method, shown, resp.status, to);
            memcpy(moved, resp.location, sizeof moved);
            cur.url = moved;
            /* 303, and 301/302 after a POST, as requests and browsers do */
            if (resp.status == 303 ||
                (resp.status <= 302 && strcmp(cur.method, "GET") && strcmp(cur.method, "HEAD"))) {
                cur.method = "GET";
                cur.body = NULL;
                cur.body_len = 0;
                cur.content_type = NULL;
            }
            memcpy(shown, to, sizeof shown);
            attempt--; /* a redirect is not a retry */
            continue;
        }
        /* a rate limit: 429, or a 403 that says so (GitHub answers a spent
         * quota with 403 and X-RateLimit-Remaining: 0, a secondary limit
         * with 403 and Retry-After) */
        bool limited = resp.status == 429 || (resp.status == 403 && (resp.retry_after[0] || spent));
        /* a wait longer than a run takes (a spent quota's reset, a
         * Retry-After): no retries that cannot succeed, the time named */
        bool retryable = bronze_retry_http(resp.status, NULL) || limited;
        uint64_t after_ms = 0; /* Retry-After, read once */
        bool after_ok = resp.retry_after[0] &&
                        !bronze_retry_after_parse(resp.retry_after, time(NULL), &after_ms);
        bool far_after = retryable && after_ok && after_ms > BRONZE_RETRY_AFTER_MAX_MS;
        bool far_reset =
            limited && spent && !resp.retry_after[0] && reset_ms > BRONZE_RETRY_AFTER_MAX_MS;
        if (far_after || far_reset) {
            uint64_t wait = far_after ? after_ms : (uint64_t)reset_ms;
            time_t at = time(NULL) + (time_t)(wait / 1000);
            struct tm tm;
            char when[32], why[200];
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&at, &tm));
            if (far_after)
                snprintf(why, sizeof why, "Retry-After %s: the API asks to wait", resp.retry_after);
            else
                snprintf(why, sizeof why, "%s: 0: the API's rate limit is spent",
                         resp.ratelimit_name);
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: %s: %s %s: HTTP %ld, %s until %s (%.0f min from now), "
                                  "longer than a run waits for it (%d min); run again after that",
                                  cfg->path, c->what, c->method, shown, resp.status, why, when,
                                  (double)wait / 60000.0, BRONZE_RETRY_AFTER_MAX_MS / 60000);
        }
        if (retryable && attempt < cfg->run.max_retries) {
            uint64_t ms = after_ok ? after_ms
                          : !resp.retry_after[0] && spent && reset_ms >= 0
                              ? (uint64_t)reset_ms
                              : bronze_retry_delay_ms(attempt, NULL, &s->rng);
            char why[160] = "";
            if (resp.retry_after[0])
                snprintf(why, sizeof why, ", Retry-After %s", resp.retry_after);
            else if (spent)
                snprintf(why, sizeof why, ", %s 0", resp.ratelimit_name);
            BRONZE_WARN("%s: %s %s: HTTP %ld%s; retry %d/%d in %.1f s", c->what, c->method, shown,
                        resp.status, why, attempt + 1, cfg->run.max_retries, (double)ms / 1000.0);
            if (nap(s, ms) == 0)
                continue;
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: interrupted by signal %d before %s: nothing committed",
                                  cfg->path, bronze_interrupted(), c->what);
        }
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: %s: %s %s: HTTP %ld%s%s%s", cfg->path,
                              c->what, c->method, shown, resp.status,
                              retryable ? " (retries exhausted)" : "", snip[0] ? ": " : "", snip);
    }
}

/* Whether a token endpoint's refusal may be about how the client sent its
 * credentials: a 401, or a 400 whose error code does not name another fault
 * (RFC 6749 5.2: the scope, the grant, a client that authenticated but may
 * not use this grant). */
static bool refuses_client(const struct refusal *no)
{
    static const char *const other[] = {"invalid_scope", "invalid_grant", "unsupported_grant_type",
                                        "unauthorized_client"};
    if (no->status == 401)
        return true;
    if (no->status != 400)
        return false;
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        if (!strcmp(no->error, other[i]))
            return false;
    return true;
}

/* OAuth2 client credentials (RFC 6749 §4.4): the client id and secret in the
 * form body, as most token endpoints take them; one that refuses them there
 * (refuses_client) is asked again with them as HTTP Basic (§2.3.1, which every
 * endpoint must take: Okta's default), and that way is kept for the run. The
 * token is cached for expires_in (less a small margin). */
static int oauth_fetch(bronze_source *s, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    bronze_buf form = BRONZE_BUF_INIT;
    int rc = -1;
    bool fell_back = false;
    struct refusal no;
again:
    form.len = 0;
    if (bronze_buf_append(&form, "grant_type=client_credentials", 29) ||
        (!s->oauth_basic && (bronze_buf_append(&form, "&client_id=", 11) ||
                             pct_append(&form, cfg->env.api_client_id) ||
                             bronze_buf_append(&form, "&client_secret=", 15) ||
                             pct_append(&form, cfg->env.api_client_secret))) ||
        (cfg->api.scope &&
         (bronze_buf_append(&form, "&scope=", 7) || pct_append(&form, cfg->api.scope)))) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        goto done;
    }
    call c = {.method = "POST",
              .url = cfg->api.token_url,
              .body = (const char *)form.data,
              .body_len = form.len,
              .content_type = "application/x-www-form-urlencoded",
              .extra = s->oauth_basic ? s->basic : NULL,
              .what = "the OAuth2 token request",
              .refused = &no};
    if (exchange(s, &c, err)) {
        if (!s->oauth_basic && refuses_client(&no)) {
            BRONZE_INFO("The OAuth2 token endpoint refused the client credentials in the form "
                        "body (HTTP %ld): sending them as HTTP Basic",
                        no.status);
            s->oauth_basic = fell_back = true;
            memset(form.data, 0, form.len);
            bronze_err_clear(err);
            goto again;
        }
        size_t k = strlen(err->msg);
        if (fell_back && k < sizeof err->msg)
            snprintf(err->msg + k, sizeof err->msg - k,
                     " (the client credentials were sent in the form body, then as HTTP Basic)");
        goto done;
    }
    json_error_t je;
    json_t *doc = json_loadb((const char *)s->body.data, s->body.len, 0, &je);
    json_t *tok = json_object_get(doc, "access_token");
    if (!json_is_string(tok) || !json_string_length(tok)) {
        /* the body is never shown: it may hold a token after all */
        char shown[1024], why[512];
        mask_url(s, cfg->api.token_url, shown, sizeof shown);
        if (!json_is_object(doc)) {
            if (doc)
                snprintf(why, sizeof why, "is %s, not a JSON object", json_kind(doc));
            else /* not jansson's message either: it quotes the text */
                snprintf(why, sizeof why,
                         "is not JSON (%zu bytes, not shown: they may hold the token)",
                         s->body.len);
        } else if (tok) {
            if (json_is_string(tok))
                snprintf(why, sizeof why, "has an empty access_token");
            else
                snprintf(why, sizeof why, "has an access_token that is %s, not a string",
                         json_kind(tok));
        } else {
            /* its keys (names only: an error object says why) */
            size_t k = (size_t)snprintf(why, sizeof why, "has no access_token; its keys:");
            const char *key;
            json_t *v;
            size_t nk = 0;
            json_object_foreach(doc, key, v)
            {
                if (k >= sizeof why - 1)
                    break;
                k += (size_t)snprintf(why + k, sizeof why - k, "%s %s", nk++ ? "," : "", key);
            }
            if (!nk)
                snprintf(why, sizeof why, "has no access_token (an empty object)");
            json_t *e = json_object_get(doc, "error");
            k = strlen(why);
            if (json_is_string(e) && k < sizeof why - 1)
                snprintf(why + k, sizeof why - k, " (error: %.80s)", json_string_value(e));
        }
        bronze_err_set(err, BRONZE_E_RUNTIME, "%s: the OAuth2 token response from %s %s", cfg->path,
                       shown, why);
        json_decref(doc);
        goto done;
    }
    free(s->token);
    s->token = strdup(json_string_value(tok));
    json_t *exp = json_object_get(doc, "expires_in");
    double e = json_is_number(exp) ? json_number_value(exp) : 0;
    if (json_is_string(exp))
        e = atof(json_string_value(exp));
    s->token_expiry = e > 0 ? mono_now() + (e > 20 ? e - 10 : e) : 0;
    json_decref(doc);
    if (!s->token) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        goto done;
    }
    BRONZE_DEBUG("OAuth2 token fetched (expires in %.0f s)", e);
    rc = 0;
done:
    if (form.data)
        memset(form.data, 0, form.len);
    bronze_buf_free(&form);
    return rc;
}

/* ---------------------------------------------------------------- paging */

static int seen_before(bronze_source *s, uint64_t h)
{
    for (size_t i = 0; i < s->nseen; i++)
        if (s->seen[i] == h)
            return 1;
    if (s->nseen == s->capseen) {
        size_t nc = s->capseen ? s->capseen * 2 : 64;
        uint64_t *n = realloc(s->seen, nc * sizeof *n);
        if (!n)
            return -1;
        s->seen = n;
        s->capseen = nc;
    }
    s->seen[s->nseen++] = h;
    return 0;
}

/* The URL of a page built from base_url: params, the incremental cursor,
 * then the paging parameters. */
static char *built_url(bronze_source *s, int64_t offset, int64_t page, const char *cursor)
{
    const bronze_config *cfg = s->cfg;
    const __typeof__(cfg->api.pagination) *pg = &cfg->api.pagination;
    bronze_buf b = BRONZE_BUF_INIT;
    char num[32];
    bool inc = cfg->api.incremental && cfg->api.cursor_param && s->ctx.last_cursor;
    int rc = bronze_buf_append(&b, s->base, strlen(s->base));
    for (size_t i = 0; !rc && i < cfg->api.nparams; i++) {
        /* left out whenever its owner sends the name (the config warned) */
        const char *k = cfg->api.params[i].key;
        bronze_param_owner o = bronze_api_param_owner(cfg, k);
        bool theirs = o == BRONZE_PARAM_PAGING || (o == BRONZE_PARAM_CURSOR_PAGING && cursor) ||
                      (inc && !strcmp(k, cfg->api.cursor_param));
        if (!theirs)
            rc = add_param(&b, k, cfg->api.params[i].value);
    }
    if (!rc && inc)
        rc = add_param(&b, cfg->api.cursor_param, s->ctx.last_cursor);
    switch (pg->type) {
    case BRONZE_PAGE_OFFSET:
        snprintf(num, sizeof num, "%lld", (long long)offset);
        rc = rc || add_param(&b, pg->offset_param, num);
        snprintf(num, sizeof num, "%lld", (long long)pg->page_size);
        rc = rc || add_param(&b, pg->limit_param, num);
        break;
    case BRONZE_PAGE_PAGE:
        snprintf(num, sizeof num, "%lld", (long long)page);
        rc = rc || add_param(&b, pg->page_param, num);
        snprintf(num, sizeof num, "%lld", (long long)pg->page_size);
        rc = rc || add_param(&b, pg->page_size_param, num);
        break;
    case BRONZE_PAGE_CURSOR:
        if (cursor)
            rc = rc || add_param(&b, pg->cursor_param, cursor);
        break;
    default:
        break;
    }
    if (rc || bronze_buf_cstr(&b)) {
        bronze_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

/* Does a rel value (v[0..n), a space-separated list of relation types)
 * hold "next"? */
static bool rel_has_next(const char *v, size_t n)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t'))
            i++;
        size_t b = i;
        while (i < n && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i - b == 4 && !strncasecmp(v + b, "next", 4))
            return true;
    }
    return false;
}

/* The rel="next" target of a Link header value, or NULL (malloc'd). RFC 8288
 * §3: link-value *( OWS "," OWS link-value ), link-value = "<" URI ">"
 * *( OWS ";" OWS token BWS [ "=" BWS ( token / quoted-string ) ] ). A
 * quoted title may hold commas, semicolons and "rel=next": only a parameter
 * named rel counts, the first one of its link-value. */
static char *link_next(const char *v)
{
    static const char ows[] = " \t";
    const char *p = v;
    while ((p = strchr(p, '<'))) {
        const char *end = strchr(p, '>');
        if (!end)
            return NULL;
        const char *q = end + 1;
        bool next = false, rel_seen = false;
        for (;;) {
            q += strspn(q, ows);
            if (*q != ';')
                break;
            q++;
            q += strspn(q, ows);
            const char *name = q;
            size_t nlen = strcspn(q, " \t=;,");
            q += nlen;
            q += strspn(q, ows);
            const char *val = "";
            size_t vlen = 0;
            if (*q == '=') {
                q++;
                q += strspn(q, ows);
                if (*q == '"') {
                    val = ++q;
                    while (*q && *q != '"')
                        q += q[0] == '\\' && q[1] ? 2 : 1;
                    vlen = (size_t)(q - val);
                    if (*q == '"')
                        q++;
                } else {
                    val = q;
                    vlen = strcspn(q, " \t;,");
                    q += vlen;
                }
            }
            if (nlen == 3 && !strncasecmp(name, "rel", 3) && !rel_seen) {
                rel_seen = true;
                next = rel_has_next(val, vlen);
            }
        }
        if (next)
            return strndup(p + 1, (size_t)(end - p - 1));
        p = q; /* past this link-value's parameters: the next "<" starts the next one */
    }
    return NULL;
}

/* Is data_path set (not the default lookup)? */
static bool explicit_path(const bronze_config *cfg)
{
    return cfg->api.data_path && *cfg->api.data_path;
}

/* The page's records: data_path ("$" or ".": the response itself), else the
 * document itself when an array, else the first of items, data, results,
 * records. An object at an explicit data_path is one record (1.0 took it so,
 * as dlt does); the default lookup finds arrays only. */
static json_t *find_records(const bronze_config *cfg, json_t *doc, const char **where)
{
    if (explicit_path(cfg)) {
        *where = cfg->api.data_path;
        if (!strcmp(cfg->api.data_path, "$") || !strcmp(cfg->api.data_path, "."))
            return doc;
        return dot_get(doc, cfg->api.data_path);
    }
    *where = "(default lookup: the response, items, data, results, records)";
    if (json_is_array(doc))
        return doc;
    static const char *const keys[] = {"items", "data", "results", "records", NULL};
    json_t *null_at = NULL; /* the first of them that is null: no records */
    const char *null_key = NULL;
    for (size_t i = 0; keys[i]; i++) {
        json_t *v = json_object_get(doc, keys[i]);
        if (json_is_array(v))
            return v;
        if (json_is_null(v) && !null_at) {
            null_at = v;
            null_key = keys[i];
        }
    }
    /* an API that sends an empty list as null (Go's nil slice) */
    if (null_at)
        *where = null_key;
    return null_at;
}

/* Rewrites a JSON text so that every integer literal outside strings that
 * does not fit int64 becomes a string holding its digits. */
static int quote_big_ints(bronze_buf *b)
{
    bronze_buf o = BRONZE_BUF_INIT;
    const char *p = (const char *)b->data;
    size_t n = b->len, i = 0;
    bool in_str = false;
    while (i < n) {
        char ch = p[i];
        if (in_str) {
            size_t j = i;
            while (j < n && p[j] != '"' && p[j] != '\\')
                j++;
            if (j < n && p[j] == '\\')
                j = j + 2 <= n ? j + 2 : n;
            else if (j < n) {
                in_str = false;
                j++;
            }
            if (bronze_buf_append(&o, p + i, j - i))
                goto oom;
            i = j;
            continue;
        }
        if (ch == '"') {
            in_str = true;
        } else if (ch == '-' || (ch >= '0' && ch <= '9')) {
            size_t j = i;
            bool integral = true;
            while (j < n && strchr("+-0123456789.eE", p[j])) {
                if (p[j] == '.' || p[j] == 'e' || p[j] == 'E')
                    integral = false;
                j++;
            }
            size_t len = j - i;
            bool big = false;
            if (integral && len >= 19) {
                char tmp[64];
                if (len < sizeof tmp) {
                    memcpy(tmp, p + i, len);
                    tmp[len] = 0;
                    errno = 0;
                    (void)strtoll(tmp, NULL, 10);
                    big = errno == ERANGE;
                } else {
                    big = true;
                }
            }
            if (big ? bronze_buf_putc(&o, '"') || bronze_buf_append(&o, p + i, len) ||
                          bronze_buf_putc(&o, '"')
                    : bronze_buf_append(&o, p + i, len))
                goto oom;
            i = j;
            continue;
        }
        if (bronze_buf_putc(&o, (uint8_t)ch))
            goto oom;
        i++;
    }
    bronze_buf_free(b);
    *b = o;
    return 0;
oom:
    bronze_buf_free(&o);
    return -1;
}

/* Does dot path `path` reach into the records at `rp` ("" = the document
 * itself)? Then the skeleton cannot answer it. */
static bool under_records(const char *path, const char *rp)
{
    if (!path || !*path)
        return false;
    if (!*rp)
        return true;
    size_t n = strlen(rp);
    return !strncmp(path, rp, n) && (path[n] == 0 || path[n] == '.');
}

/* take_cursor_raw() of a record that is UTF-8 throughout. */
static int take_cursor_utf8(bronze_source *s, const char *p, size_t n)
{
    const char *f = s->cfg->api.cursor_field;
    json_t *v = NULL, *rec = NULL;
    json_error_t je;
    if (!strchr(f, '.')) {
        bronze_span sp;
        if (!bronze_scan_member(p, n, f, &sp))
            return 0;
        v = json_loadb(p + sp.off, sp.len, JSON_DECODE_ANY, &je);
        /* a big integer, which jansson holds not: its text, as the jansson
         * path's quote_big_ints() hands it to the cursor */
        if (!v && (p[sp.off] == '-' || (p[sp.off] >= '0' && p[sp.off] <= '9')))
            v = json_stringn(p + sp.off, sp.len);
        if (!v)
            return 0;
        int rc = cursor_take(s, v);
        json_decref(v);
        return rc;
    }
    rec = json_loadb(p, n, JSON_ALLOW_NUL, &je);
    if (!rec && strstr(je.text, "too big")) { /* a big integer anywhere in the record */
        bronze_buf b = BRONZE_BUF_INIT;
        if (bronze_buf_append(&b, p, n) || quote_big_ints(&b)) {
            bronze_buf_free(&b);
            return -1;
        }
        rec = json_loadb((const char *)b.data, b.len, JSON_ALLOW_NUL, &je);
        bronze_buf_free(&b);
    }
    if (!rec)
        return 0; /* text that is not UTF-8: the reader fails the run */
    v = dot_get(rec, f);
    int rc = v ? cursor_take(s, v) : 0;
    json_decref(rec);
    return rc;
}

/* One record's cursor value (the record p[0..n): raw JSON, valid) into the
 * running maximum (incremental). Text that is not UTF-8, which jansson loads not: without
 * replace the reader fails the run; with it the record lands with U+FFFD,
 * and so its cursor is read from a copy repaired the same way. */
static int take_cursor_raw(bronze_source *s, const char *p, size_t n)
{
    if (s->cfg->run.invalid_utf8 != BRONZE_UTF8_REPLACE || bronze_utf8_check(p, n) == n)
        return take_cursor_utf8(s, p, n);
    bronze_buf fixed = BRONZE_BUF_INIT;
    uint64_t replaced = 0;
    int rc = bronze_utf8_repair(&fixed, p, n, &replaced)
                 ? -1
                 : take_cursor_utf8(s, (const char *)fixed.data, fixed.len);
    bronze_buf_free(&fixed);
    return rc;
}

/* jansson holds no integer beyond int64: such integers are quoted, so their
 * exact text survives (and a column holding one widens to text, SPEC §7). */
static void warn_big_int(int64_t pageno)
{
    BRONZE_WARN("page %lld: an integer beyond the 64-bit range; kept as text, every digit (a "
                "column holding one is a text column)",
                (long long)pageno);
}

/* The fast path of take_page (issue #11 throughput): the scanner validates
 * the page and finds each record's bytes, which go to the spool as they are;
 * for the cursor and next_url pagers, jansson parses only the skeleton (the
 * page with its record array cut to []); *docp stays NULL for the others.
 * Returns 1 when the page was taken, 0 when the jansson path must decide
 * (any error, no record array, a record that is not an object, a pager path
 * inside the records), -1 on a write error. */
static int take_page_fast(bronze_source *s, int64_t pageno, int64_t room, size_t *n, json_t **docp,
                          bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    const char *body = (const char *)s->body.data;
    int r = bronze_scan_page(&s->scan, body ? body : "", s->body.len, cfg->api.data_path);
    if (r == BRONZE_SCAN_OOM)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    if (r != BRONZE_SCAN_OK)
        return 0;
    const __typeof__(cfg->api.pagination) *pg = &cfg->api.pagination;
    if ((pg->type == BRONZE_PAGE_CURSOR && under_records(pg->cursor_path, s->scan.where)) ||
        (pg->type == BRONZE_PAGE_NEXT_URL && under_records(pg->next_url_path, s->scan.where)))
        return 0;
    /* only the cursor and next_url pagers look anything up in the page (the
     * rest of it may hold what a column could not: it is never parsed) */
    json_t *doc = NULL;
    if (pg->type == BRONZE_PAGE_CURSOR || pg->type == BRONZE_PAGE_NEXT_URL) {
        s->skel.len = 0;
        if (bronze_buf_append(&s->skel, body, s->scan.arr_off) ||
            bronze_buf_append(&s->skel, "[]", 2) ||
            bronze_buf_append(&s->skel, body + s->scan.arr_off + s->scan.arr_len,
                              s->body.len - s->scan.arr_off - s->scan.arr_len))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        json_error_t je;
        doc = json_loadb((const char *)s->skel.data, s->skel.len, 0, &je);
        if (!doc && strstr(je.text, "too big")) {
            if (quote_big_ints(&s->skel))
                return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            doc = json_loadb((const char *)s->skel.data, s->skel.len, 0, &je);
        }
        if (!doc)
            return 0;
    }
    if (s->scan.big_int)
        warn_big_int(pageno);
    size_t take = s->scan.nrecs;
    if (room > 0 && (int64_t)take > room) {
        take = (size_t)room;
        s->page_cut = true;
    }
    bool cur = cfg->api.incremental && cfg->api.cursor_field;
    for (size_t i = 0; i < take; i++) {
        const bronze_scan_rec *rec = &s->scan.recs[i];
        const char *rp = body + rec->off;
        size_t rl = rec->len;
        const bronze_json_span *m = bronze_scan_rec_members(&s->scan, rec);
        if (s->spool && bronze_spool_add_raw(s->spool, rp, rl, rec->breaks, m, rec->nmem, err)) {
            json_decref(doc);
            return -1;
        }
        if (cur && take_cursor_raw(s, rp, rl)) {
            json_decref(doc);
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        }
    }
    *n = take;
    *docp = doc;
    return 1;
}

/* Is the page to be converted from its declared charset? A charset other
 * than UTF-8 (a legacy service's Latin-1) is converted, as 1.0's requests
 * decoded it. JSON is UTF-8 (RFC 8259 §8.1, §11: a charset parameter has no
 * effect), so a body that is valid UTF-8 is taken as such: a server that
 * declares ISO-8859-1 by default and sends UTF-8 gets no mojibake. UTF-16
 * and UTF-32 are always converted (their text may pass for UTF-8). */
static bool from_charset(const bronze_source *s)
{
    const char *cs = s->charset;
    if (!cs[0] || bronze_input_is_utf8(cs) || !strcasecmp(cs, "us-ascii"))
        return false;
    return !strncasecmp(cs, "utf-16", 6) || !strncasecmp(cs, "utf-32", 6) ||
           bronze_utf8_check(s->body.data, s->body.len) != s->body.len;
}

/* Parses s->body as page `pageno` of url; spools its records (up to
 * `room`, 0 = all); *n gets how many it held. *docp keeps the document for
 * the caller's next-page lookup (caller decrefs). */
static int take_page(bronze_source *s, int64_t pageno, const char *url, int64_t room, size_t *n,
                     json_t **docp, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    char shown[1024], snip[SNIPPET * 2];
    *docp = NULL;
    *n = 0;
    if (s->status == 204)
        return 0; /* No Content: an empty page, the end of paging */
    if (from_charset(s)) {
        char what[1200];
        mask_url(s, url, shown, sizeof shown);
        snprintf(what, sizeof what, "%s: page %lld (%s): Content-Type charset", cfg->path,
                 (long long)pageno, shown);
        if (bronze_input_to_utf8(s->charset, s->body.data, s->body.len, &s->conv, what, err))
            return -1;
        bronze_buf t = s->body;
        s->body = s->conv;
        s->conv = t;
    }
    if (s->body.len >= 3 && !memcmp(s->body.data, "\xEF\xBB\xBF", 3)) {
        /* a UTF-8 byte order mark (some .NET services send one): ignored,
         * as RFC 8259 §8.1 allows and as a JSON Lines file's is */
        memmove(s->body.data, s->body.data + 3, s->body.len - 3);
        s->body.len -= 3;
    }
    if (!s->body.len) {
        mask_url(s, url, shown, sizeof shown);
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: page %lld (%s): the response body is empty (HTTP %ld; an API "
                              "with no records sends [] or 204 No Content)",
                              cfg->path, (long long)pageno, shown, s->status);
    }
    int fast = take_page_fast(s, pageno, room, n, docp, err);
    if (fast)
        return fast < 0 ? -1 : 0;
    json_error_t je;
    json_t *doc = json_loadb((const char *)s->body.data, s->body.len, JSON_DECODE_ANY, &je);
    if (!doc && strstr(je.text, "too big")) {
        /* jansson holds no integer beyond int64: such integers are quoted,
         * so their exact text survives and their column widens to text
         * (SPEC §7), as a JSON Lines file's would */
        warn_big_int(pageno);
        if (quote_big_ints(&s->body))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
        doc = json_loadb((const char *)s->body.data, s->body.len, JSON_DECODE_ANY, &je);
    }
    if (!doc || (!json_is_object(doc) && !json_is_array(doc))) {
        mask_url(s, url, shown, sizeof shown);
        snippet(s, s->body.data ? s->body.data : (const void *)"", s->body.len, snip, sizeof snip);
        bronze_err_set(err, BRONZE_E_RUNTIME,
                       "%s: page %lld (%s): the response is not a JSON object or array (%s at "
                       "byte %d); it begins: %s",
                       cfg->path, (long long)pageno, shown, doc ? json_kind(doc) : je.text,
                       doc ? 0 : je.position, snip[0] ? snip : "(empty)");
        json_decref(doc);
        return -1;
    }
    const char *where;
    json_t *recs = find_records(cfg, doc, &where);
    if (!recs || json_is_null(recs)) {
        if (!recs && explicit_path(cfg)) {
            mask_url(s, url, shown, sizeof shown);
            snippet(s, s->body.data, s->body.len, snip, sizeof snip);
            bronze_err_set(err, BRONZE_E_RUNTIME,
                           "%s: page %lld (%s): no records at source.api.data_path '%s'; the "
                           "response begins: %s",
                           cfg->path, (long long)pageno, shown, where, snip);
            json_decref(doc);
            return -1;
        }
        if (!recs && json_is_object(doc) && json_object_size(doc) > 0) {
            mask_url(s, url, shown, sizeof shown);
            snippet(s, s->body.data, s->body.len, snip, sizeof snip);
            bronze_err_set(err, BRONZE_E_RUNTIME,
                           "%s: page %lld (%s): no record array found %s; set "
                           "source.api.data_path (a dot path to the records, or \"$\" to take "
                           "the response object as one record); the response begins: %s",
                           cfg->path, (long long)pageno, shown, where, snip);
            json_decref(doc);
            return -1;
        }
        *docp = doc; /* an empty object or a null record list: an empty page */
        return 0;
    }
    bool one = json_is_object(recs) && explicit_path(cfg);
    if (!json_is_array(recs) && !one) {
        mask_url(s, url, shown, sizeof shown);
        bronze_err_set(err, BRONZE_E_RUNTIME,
                       "%s: page %lld (%s): the records at %s are %s, not an array or an object",
                       cfg->path, (long long)pageno, shown, where, json_kind(recs));
        json_decref(doc);
        return -1;
    }
    size_t total = one ? 1 : json_array_size(recs);
    for (size_t i = 0; i < total; i++) {
        if (room > 0 && (int64_t)*n >= room) {
            s->page_cut = true;
            break;
        }
        json_t *rec = one ? recs : json_array_get(recs, i);
        if (!json_is_object(rec)) {
            mask_url(s, url, shown, sizeof shown);
            char *t = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
            snippet(s, t ? t : "", t ? strlen(t) : 0, snip, sizeof snip);
            free(t);
            bronze_err_set(err, BRONZE_E_RUNTIME,
                           "%s: page %lld (%s): record %zu is %s, not a JSON object: %s", cfg->path,
                           (long long)pageno, shown, i + 1, json_kind(rec), snip);
            json_decref(doc);
            return -1;
        }
        if (s->spool) {
            char *t = json_dumps(rec, JSON_COMPACT | JSON_ENCODE_ANY);
            if (!t) {
                json_decref(doc);
                return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            }
            int rc = bronze_spool_add(s->spool, t, strlen(t), err);
            free(t);
            if (rc) {
                json_decref(doc);
                return -1;
            }
        }
        if (cfg->api.incremental && cfg->api.cursor_field) {
            json_t *cv = dot_get(rec, cfg->api.cursor_field);
            if (cv && cursor_take(s, cv)) {
                json_decref(doc);
                return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            }
        }
        ++*n;
    }
    *docp = doc;
    return 0;
}

/* A next-page reference that is neither one nor none: paging would stop
 * after this page, silently; it fails instead. */
static int odd_ref(bronze_source *s, int64_t pageno, const char *key, const char *path,
                   const char *kind, const char *want, bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "%s: page %lld: source.api.pagination.%s '%s' holds %s, not %s: no next "
                          "page can be asked for",
                          s->cfg->path, (long long)pageno, key, path, kind, want);
}

static int loop_error(bronze_source *s, int64_t pageno, const char *what, const char *url,
                      bronze_err *err)
{
    char shown[1024];
    mask_url(s, url, shown, sizeof shown);
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "%s: page %lld (%s): paging loop: %s; stopping instead of requesting "
                          "the same pages again",
                          s->cfg->path, (long long)pageno, shown, what);
}

/* Credentials go with every page: the auth, and headers named like a
 * secret (X-Auth-Token, Api-Key, ...). */
static bool sends_credentials(const bronze_source *s)
{
    const bronze_config *cfg = s->cfg;
    if (cfg->api.auth_type != BRONZE_AUTH_NONE)
        return true;
    for (size_t i = 0; i < cfg->api.nheaders; i++)
        if (secret_name(cfg->api.headers[i].key, strlen(cfg->api.headers[i].key)) ||
            !strcasecmp(cfg->api.headers[i].key, "Cookie"))
            return true;
    return false;
}

/* A next page's URL (Link, next_url, a cursor that is a URL) is requested
 * with the credentials only on the host the pages came from, as a redirect
 * is followed: a page cannot send them elsewhere. */
static int next_url_check(bronze_source *s, int64_t pageno, const char *url, const char *next,
                          bronze_err *err)
{
    if (same_origin(url, next) || !sends_credentials(s))
        return 0;
    char from[1024], to[1024];
    mask_url(s, url, from, sizeof from);
    mask_url(s, next, to, sizeof to);
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "%s: page %lld (%s): the next page is on another host (%s): not "
                          "requested, so that the credentials stay with this one",
                          s->cfg->path, (long long)pageno, from, to);
}

/* Requests every page (one, in a dry run) and spools the records. */
static int fetch_all(bronze_source *s, bronze_err *err)
{
    const bronze_config *cfg = s->cfg;
    const __typeof__(cfg->api.pagination) *pg = &cfg->api.pagination;
    bool post = cfg->api.method && !strcasecmp(cfg->api.method, "POST");
    int64_t offset = 0, page = pg->start_page;
    char *cursor = NULL, *next_url = NULL, *url = NULL;
    int rc = -1;
    for (int64_t pageno = 1;; pageno++) {
        if (atomic_load(&s->stop)) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "%s: page %lld: not requested: the job stopped",
                           cfg->path, (long long)pageno);
            goto done;
        }
        free(url);
        url = next_url ? next_url : built_url(s, offset, page, cursor);
        next_url = NULL;
        if (!url) {
            bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            goto done;
        }
        char what[64];
        snprintf(what, sizeof what, "page %lld", (long long)pageno);
        /* a POST's JSON body goes with every page built from base_url */
        call c = {.method = post ? "POST" : "GET",
                  .url = url,
                  .body = post ? cfg->api.body_json : NULL,
                  .body_len = post && cfg->api.body_json ? strlen(cfg->api.body_json) : 0,
                  .content_type = post && cfg->api.body_json ? "application/json" : NULL,
                  .auth = true,
                  .api_headers = true,
                  .what = what};
        double asked = mono_now();
        if (exchange(s, &c, err))
            goto done;
        /* a page that came slowly: the next will too, so its records go to
         * the reader now rather than wait for a mebibyte to gather */
        bool slow = mono_now() - asked >= SLOW_PAGE_S;
        s->pages++;
        int64_t room = pg->max_records > 0 ? pg->max_records - s->records : 0;
        size_t n;
        json_t *doc;
        if (take_page(s, pageno, url, room, &n, &doc, err))
            goto done;
        pthread_mutex_lock(&s->pages_mu);
        uint64_t *ends =
            bronze_grow(s->page_end, &s->cap_page_end, s->npage_end + 1, sizeof *ends, 64);
        if (ends) {
            s->page_end = ends;
            s->page_end[s->npage_end++] = (uint64_t)s->records + n;
        }
        pthread_mutex_unlock(&s->pages_mu);
        if (!ends) {
            json_decref(doc);
            bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
            goto done;
        }
        if (s->spool && bronze_spool_publish(s->spool, slow, err)) {
            json_decref(doc);
            goto done;
        }
        s->records += (int64_t)n;
        char shown[1024];
        mask_url(s, url, shown, sizeof shown);
        BRONZE_DEBUG("page %lld: %zu records from %s", (long long)pageno, n, shown);
        if (s->ctx.dry_run) {
            BRONZE_INFO("Dry run: first page of %s answered with %zu records (discarded)", shown,
                        n);
            json_decref(doc);
            rc = 0;
            goto done;
        }
        bool more = false;
        /* "the same page twice": identical bytes, page after page */
        uint64_t ph = XXH3_64bits(s->body.data, s->body.len);
        bool same_page = n > 0 && pageno > 1 && ph == s->prev_page_hash;
        s->prev_page_hash = ph;
        /* has_more: false (Stripe, Slack, many more) ends paging in every style */
        bool no_more = json_is_false(json_object_get(doc, "has_more"));
        switch (pg->type) {
        case BRONZE_PAGE_NONE:
            break;
        case BRONZE_PAGE_OFFSET:
            more = n > 0 && (int64_t)n >= pg->page_size;
            offset += (int64_t)n;
            break;
        case BRONZE_PAGE_PAGE:
            more = n > 0 && (int64_t)n >= pg->page_size;
            page++;
            break;
        case BRONZE_PAGE_CURSOR: {
            json_t *done = json_object_get(doc, "done");
            char numtext[64];
            const char *bad;
            const char *t = next_ref(dot_get(doc, pg->cursor_path), false, numtext, &bad);
            if (bad && n > 0 && !json_is_true(done) && !no_more) {
                json_decref(doc);
                odd_ref(s, pageno, "cursor_path", pg->cursor_path, bad, "a string or a number",
                        err);
                goto done;
            }
            more = n > 0 && t && *t && !json_is_true(done);
            if (more) {
                int sb = seen_before(s, XXH3_64bits(t, strlen(t)));
                if (sb < 0) {
                    json_decref(doc);
                    bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                    goto done;
                }
                if (sb) {
                    json_decref(doc);
                    loop_error(s, pageno, "the next cursor was already requested", url, err);
                    goto done;
                }
                if (is_abs_url(t) || t[0] == '/') {
                    next_url = resolve_url(url, t);
                    if (!next_url) {
                        json_decref(doc);
                        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                        goto done;
                    }
                    if (next_url_check(s, pageno, url, next_url, err)) {
                        json_decref(doc);
                        goto done;
                    }
                } else {
                    free(cursor);
                    if (!(cursor = strdup(t))) {
                        json_decref(doc);
                        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                        goto done;
                    }
                }
            }
            break;
        }
        case BRONZE_PAGE_LINK:
        case BRONZE_PAGE_NEXT_URL: {
            char *ref = NULL;
            if (pg->type == BRONZE_PAGE_LINK) {
                ref = s->link ? link_next(s->link) : NULL;
            } else {
                char numtext[64];
                const char *bad;
                const char *nu = next_ref(dot_get(doc, pg->next_url_path), true, numtext, &bad);
                if (bad && n > 0 && !no_more) {
                    json_decref(doc);
                    odd_ref(s, pageno, "next_url_path", pg->next_url_path, bad, "a URL", err);
                    goto done;
                }
                if (nu && *nu && !(ref = strdup(nu))) {
                    json_decref(doc);
                    bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                    goto done;
                }
            }
            size_t sl = ref ? scheme_len(ref) : 0;
            if (sl && !is_abs_url(ref)) {
                json_decref(doc);
                bronze_err_set(err, BRONZE_E_RUNTIME,
                               "%s: page %lld: the next page's URL has the scheme '%.*s', not "
                               "http or https: not followed",
                               cfg->path, (long long)pageno, (int)(sl > 32 ? 32 : sl), ref);
                free(ref);
                goto done;
            }
            if (ref && *ref) {
                next_url = resolve_url(url, ref);
                free(ref);
                if (!next_url) {
                    json_decref(doc);
                    bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                    goto done;
                }
                if (next_url_check(s, pageno, url, next_url, err)) {
                    json_decref(doc);
                    goto done;
                }
                int sb = seen_before(s, XXH3_64bits(next_url, strlen(next_url)));
                if (sb) {
                    json_decref(doc);
                    if (sb < 0)
                        bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
                    else
                        loop_error(s, pageno, "the next URL was already requested", next_url, err);
                    goto done;
                }
                more = true;
            } else {
                free(ref);
            }
            break;
        }
        }
        json_decref(doc);
        if (no_more)
            more = false;
        if (more && same_page) {
            loop_error(s, pageno, "this page repeats the previous page byte for byte", url, err);
            goto done;
        }
        const char *cut = NULL;
        if (more && pg->max_pages > 0 && pageno >= pg->max_pages) {
            BRONZE_INFO("Stopping at source.api.pagination.max_pages (%lld)",
                        (long long)pg->max_pages);
            cut = "max_pages";
        } else if ((more || s->page_cut) && pg->max_records > 0 && s->records >= pg->max_records) {
            BRONZE_INFO("Stopping at source.api.pagination.max_records (%lld)",
                        (long long)pg->max_records);
            cut = "max_records";
        }
        if (cut) {
            more = false;
            /* the cursor is the maximum of what was fetched: with pages left
             * and records not in ascending order, it passes records this run
             * did not fetch, which the next run would not ask for */
            if (cfg->api.incremental && s->cursor_unsorted && s->best_text)
                BRONZE_WARN("%s: stopped at source.api.pagination.%s with pages left, and "
                            "the records did not come in ascending order of %s: the cursor "
                            "moves to %s, so the next run does not ask again for the records "
                            "below it that this run left; have the API sort by %s ascending, "
                            "or lift %s",
                            cfg->path, cut, cfg->api.cursor_field, s->best_text,
                            cfg->api.cursor_field, cut);
        }
        if (!more)
            break;
    }
    {
        char shown[1024];
        mask_url(s, s->base, shown, sizeof shown);
        BRONZE_INFO("Fetched %lld records in %lld pages from %s", (long long)s->records,
                    (long long)s->pages, shown);
    }
    if (cfg->api.incremental && s->records > 0 && !s->best_text && s->cursor_odd)
        BRONZE_WARN("%s: source.api.incremental.cursor_field '%s': %lld of the %lld records "
                    "hold a boolean, an object or an array there and none a time, a number or "
                    "text, so the cursor does not move and the next run asks for the same "
                    "records again; point it at a field that grows (an update time, an id)",
                    cfg->path, cfg->api.cursor_field, (long long)s->cursor_odd,
                    (long long)s->records);
    else if (cfg->api.incremental && s->records > 0 && !s->best_text)
        BRONZE_WARN("%s: source.api.incremental.cursor_field '%s': none of the %lld records "
                    "holds a value for it, so the cursor does not move and the next run asks "
                    "for the same records again; check the field's name (a dot path for a "
                    "nested one)",
                    cfg->path, cfg->api.cursor_field, (long long)s->records);
    rc = 0;
done:
    free(url);
    free(next_url);
    free(cursor);
    return rc;
}

/* The fetcher thread: every page into the live spool, then the spool's end
 * (its "Retrieved N records" lines), or its failure, which the reader sees as
 * a read error and api_next replaces by fetch_err. */
static void *fetch_main(void *arg)
{
    bronze_source *s = arg;
    bronze_log_set_job(s->job_tag);
    int rc = fetch_all(s, &s->fetch_err);
    /* the network is done: free the page buffers before the encoders need memory */
    bronze_buf_free(&s->body);
    s->body = (bronze_buf)BRONZE_BUF_INIT;
    bronze_buf_free(&s->skel);
    s->skel = (bronze_buf)BRONZE_BUF_INIT;
    bronze_buf_free(&s->conv);
    s->conv = (bronze_buf)BRONZE_BUF_INIT;
    bronze_scan_free(&s->scan);
    bronze_http_free(s->http);
    s->http = NULL;
    s->fetch_late = rc && atomic_load(&s->stop);
    if (bronze_spool_finish(s->spool, rc != 0, &s->fetch_err))
        rc = -1;
    s->fetch_rc = rc;
    return NULL;
}

/* ---------------------------------------------------------------- vtable */

/* Stops the fetcher (when it still runs) and waits for it. */
static void end_fetch(bronze_source *s)
{
    if (!s->fetching)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->fetcher, NULL);
    s->fetching = false;
}

/* bronze_record_namer: spool record `rec` as "page P, record R" (R within
 * its page), from any thread. */
static void name_record(void *arg, uint64_t rec, char *out, size_t cap)
{
    bronze_source *s = arg;
    pthread_mutex_lock(&s->pages_mu);
    size_t lo = 0, hi = s->npage_end;
    while (lo < hi) { /* the first page that ends at or after rec */
        size_t mid = lo + (hi - lo) / 2;
        if (s->page_end[mid] < rec)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->npage_end)
        snprintf(out, cap, "record %llu", (unsigned long long)rec);
    else
        snprintf(out, cap, "page %zu, record %llu", lo + 1,
                 (unsigned long long)(rec - (lo ? s->page_end[lo - 1] : 0)));
    pthread_mutex_unlock(&s->pages_mu);
}

/* The reader stopped with err (rc -1) or at the end (rc END): after the
 * fetcher has ended, its own failure is the one to report (the reader only
 * saw "the records feeding it stopped"), unless the reader failed first; a
 * reader's message names the record by its page. */
static int fetch_outcome(bronze_source *s, int rc, bronze_err *err)
{
    end_fetch(s);
    if (s->fetch_rc && !s->fetch_late) {
        *err = s->fetch_err;
        return -1;
    }
    if (rc < 0)
        bronze_spool_name_record(s->spool, err);
    return rc;
}

static void api_close(bronze_source *s)
{
    if (!s)
        return;
    end_fetch(s);
    if (s->inner)
        bronze_source_file.close(s->inner);
    bronze_spool_free(s->spool);
    bronze_http_free(s->http);
    bronze_buf_free(&s->body);
    bronze_buf_free(&s->skel);
    bronze_buf_free(&s->conv);
    bronze_scan_free(&s->scan);
    free(s->link);
    free(s->base);
    if (s->basic) {
        memset(s->basic, 0, strlen(s->basic));
        free(s->basic);
    }
    if (s->token) {
        memset(s->token, 0, strlen(s->token));
        free(s->token);
    }
    free(s->best_text);
    free(s->seen);
    free(s->page_end);
    pthread_mutex_destroy(&s->pages_mu);
    free(s);
}

static char *join_base(const char *base, const char *ep)
{
    char *out = NULL;
    if (!ep || !*ep)
        return strdup(base);
    if (is_abs_url(ep))
        return strdup(ep);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    while (*ep == '/')
        ep++;
    if (asprintf(&out, "%.*s/%s", (int)bl, base, ep) < 0)
        return NULL;
    return out;
}

static int api_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    const bronze_config *cfg = ctx->cfg;
    *out = NULL;
    bronze_source *s = calloc(1, sizeof *s);
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    pthread_mutex_init(&s->pages_mu, NULL);
    *out = s;
    s->cfg = cfg;
    s->ctx = *ctx;
    s->rng = bronze_retry_seed();
    s->tokens = cfg->api.rate_limit.burst > 0 ? cfg->api.rate_limit.burst : 1;
    s->refilled = mono_now();
    add_secret(s, cfg->env.api_token);
    add_secret(s, cfg->env.api_key);
    add_secret(s, cfg->env.api_password);
    add_secret(s, cfg->env.api_client_secret);
    if (!(s->base = join_base(cfg->api.base_url, cfg->api.endpoint)))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    if (cfg->api.auth_type == BRONZE_AUTH_BASIC &&
        basic_header(s, cfg->env.api_username, cfg->env.api_password))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    if (cfg->api.auth_type == BRONZE_AUTH_OAUTH2_CC) {
        /* the client's credentials as HTTP Basic, for a token endpoint that
         * takes no other (RFC 6749 §2.3.1: each form-encoded first) */
        bronze_buf id = BRONZE_BUF_INIT, sec = BRONZE_BUF_INIT;
        int e = pct_append(&id, cfg->env.api_client_id) || bronze_buf_cstr(&id) ||
                pct_append(&sec, cfg->env.api_client_secret) || bronze_buf_cstr(&sec) ||
                basic_header(s, (const char *)id.data, (const char *)sec.data);
        if (sec.data)
            memset(sec.data, 0, sec.len);
        bronze_buf_free(&id);
        bronze_buf_free(&sec);
        if (e)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    bronze_http_opts ho = {.timeout_seconds = cfg->run.timeout_seconds,
                           .ca_bundle = cfg->api.ca_bundle};
    if (bronze_http_new(&s->http, &ho, err))
        return -1;
    if (ctx->dry_run)
        return fetch_all(s, err);
    if (bronze_spool_create(&s->spool, ctx, "api", err) || bronze_spool_set_index(s->spool, err) ||
        bronze_spool_set_live(s->spool, err))
        return -1;
    bronze_spool_set_namer(s->spool, name_record, s);
    snprintf(s->job_tag, sizeof s->job_tag, "%s", bronze_log_job());
    int e = pthread_create(&s->fetcher, NULL, fetch_main, s);
    if (e)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot start the page fetcher: %s",
                              cfg->path, strerror(e));
    s->fetching = true;
    /* the file source's sample reads the first pages as they arrive */
    if (bronze_spool_open_reader(s->spool, &s->inner, err))
        return fetch_outcome(s, -1, err);
    return 0;
}

static const bronze_schema *api_schema(bronze_source *s)
{
    return s && s->inner ? bronze_source_file.schema(s->inner) : NULL;
}

static int api_next(bronze_source *s, bronze_batch *batch, bronze_err *err)
{
    if (!s->inner)
        return BRONZE_SRC_END;
    int r = bronze_spool_next(s->spool, s->inner, batch, err);
    return r < 0 || r == BRONZE_SRC_END ? fetch_outcome(s, r, err) : r;
}

static const char *api_cursor(bronze_source *s)
{
    end_fetch(s); /* the maximum is the fetcher's until it has ended */
    return s->cfg->api.incremental ? s->best_text : NULL;
}

const bronze_source_vt bronze_source_api = {
    .name = "api",
    .open = api_open,
    .schema = api_schema,
    .next = api_next,
    .cursor = api_cursor,
    .close = api_close,
    .chunk_lines = true, /* spooled (spool.h) */
};

/* ------------------------------------------------ tests/fuzz (api_page.h) */

#include "source/api_page.h"

int bronze_api_page_parse(const bronze_source_ctx *ctx, const char *url, const void *body,
                          size_t len, const char *link, bronze_api_page *out, bronze_err *err)
{
    const bronze_config *cfg = ctx->cfg;
    const __typeof__(cfg->api.pagination) *pg = &cfg->api.pagination;
    memset(out, 0, sizeof *out);
    bronze_source *s = calloc(1, sizeof *s);
    json_t *doc = NULL;
    int rc = -1;
    if (!s)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    pthread_mutex_init(&s->pages_mu, NULL);
    s->cfg = cfg;
    s->ctx = *ctx;
    if (!(s->base = strdup(url)) || bronze_buf_append(&s->body, body, len))
        goto oom;
    if (ctx->tmp_dir &&
        (bronze_spool_create(&s->spool, ctx, "api", err) || bronze_spool_set_index(s->spool, err)))
        goto out;
    if (s->spool)
        bronze_spool_set_namer(s->spool, name_record, s);
    int64_t room = pg->max_records > 0 ? pg->max_records : 0;
    if (take_page(s, 1, url, room, &out->records, &doc, err))
        goto out;
    char numtext[64], urltext[64];
    const char *bad;
    const char *t =
        next_ref(pg->cursor_path ? dot_get(doc, pg->cursor_path) : NULL, false, numtext, &bad);
    const char *nu =
        next_ref(pg->next_url_path ? dot_get(doc, pg->next_url_path) : NULL, true, urltext, &bad);
    if ((t && !(out->cursor = strdup(t))) || (nu && !(out->next_url = strdup(nu))))
        goto oom;
    out->link = link ? link_next(link) : NULL;
    const char *ref = out->cursor && (is_abs_url(out->cursor) || out->cursor[0] == '/')
                          ? out->cursor
                      : out->next_url && *out->next_url ? out->next_url
                                                        : out->link;
    if (ref && *ref && !(out->resolved = resolve_url(url, ref)))
        goto oom;
    if (s->best_text && !(out->max_cursor = strdup(s->best_text)))
        goto oom;
    if (s->spool) {
        rc = -2; /* from here on, the page was taken but does not read back */
        if (bronze_spool_open_reader(s->spool, &s->inner, err))
            goto out;
        bronze_batch b;
        if (bronze_batch_init(&b, bronze_source_file.schema(s->inner), 64))
            goto oom;
        int r;
        while ((r = bronze_source_file.next(s->inner, &b, err)) != BRONZE_SRC_END) {
            if (r < 0) {
                bronze_batch_free(&b);
                goto out;
            }
            if (r == BRONZE_SRC_RESTART) {
                out->read_back = 0;
                bronze_batch_free(&b);
                if (bronze_batch_init(&b, bronze_source_file.schema(s->inner), 64))
                    goto oom;
                continue;
            }
            out->read_back += b.nrows;
        }
        bronze_batch_free(&b);
    }
    rc = 0;
    goto out;
oom:
    bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    rc = -1;
out:
    json_decref(doc);
    api_close(s);
    return rc;
}

void bronze_api_page_free(bronze_api_page *out)
{
    free(out->cursor);
    free(out->next_url);
    free(out->link);
    free(out->resolved);
    free(out->max_cursor);
    memset(out, 0, sizeof *out);
}
