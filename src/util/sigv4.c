/*
 * sigv4.c - AWS Signature V4 (see sigv4.h), over OpenSSL's HMAC and SHA-256.
 *
 * The steps follow AWS's "Create a signed AWS API request" one to one:
 * canonical request -> string to sign -> signing key (four chained HMACs of
 * date, region, service, "aws4_request") -> signature. The canonical query is
 * sorted on the *encoded* names and values, as AWS specifies; S3 encodes the
 * path once (unlike other services), with '/' kept.
 */
#include "util/sigv4.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bronze_sigv4_amz_date(time_t t, char out[BRONZE_SIGV4_DATE_LEN])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    if (strftime(out, BRONZE_SIGV4_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm) == 0)
        out[0] = 0;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int bronze_sigv4_uri_encode(bronze_buf *out, const char *s, size_t n, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    if (bronze_buf_reserve(out, n * 3 + 1))
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            out->data[out->len++] = c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = (uint8_t)hex[c >> 4];
            out->data[out->len++] = (uint8_t)hex[c & 15];
        }
    }
    return 0;
}

typedef struct {
    char *name, *value; /* encoded, NUL-ended, owned */
} enc_pair;

static int cmp_pair(const void *a, const void *b)
{
    const enc_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s, bool keep_slash)
{
    bronze_buf b = BRONZE_BUF_INIT;
    if (!s)
        s = "";
    if (bronze_sigv4_uri_encode(&b, s, strlen(s), keep_slash) || bronze_buf_cstr(&b)) {
        bronze_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
}

int bronze_sigv4_canonical_query(bronze_buf *out, const bronze_sigv4_kv *q, size_t n)
{
    if (n == 0)
        return 0;
    enc_pair *v = calloc(n, sizeof *v);
    if (!v)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        v[i].name = encode_dup(q[i].name, false);
        v[i].value = encode_dup(q[i].value, false);
        if (!v[i].name || !v[i].value)
            rc = -1;
    }
    if (rc == 0) {
        qsort(v, n, sizeof *v, cmp_pair);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = bronze_buf_printf(out, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
    return rc;
}

typedef struct {
    char *name;        /* lower-case, owned */
    const char *value; /* borrowed */
} hdr;

static int cmp_hdr(const void *a, const void *b)
{
    return strcmp(((const hdr *)a)->name, ((const hdr *)b)->name);
}

/* Value with leading/trailing blanks dropped and inner runs of blanks
 * collapsed to one space (AWS: "Trimall"). */
static int append_trimmed(bronze_buf *out, const char *v)
{
    if (!v)
        v = "";
    while (*v == ' ' || *v == '\t')
        v++;
    bool pending = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            pending = true;
            continue;
        }
        if (pending && bronze_buf_putc(out, ' '))
            return -1;
        pending = false;
        if (bronze_buf_putc(out, (uint8_t)*v))
            return -1;
    }
    return 0;
}

int bronze_sigv4_canonical_request(bronze_buf *out, bronze_buf *signed_headers,
                                   const bronze_sigv4_req *r)
{
    const char *path = r->path && *r->path ? r->path : "/";
    if (bronze_buf_printf(out, "%s\n", r->method) ||
        bronze_sigv4_uri_encode(out, path, strlen(path), true) || bronze_buf_putc(out, '\n') ||
        bronze_sigv4_canonical_query(out, r->query, r->nquery) || bronze_buf_putc(out, '\n'))
        return -1;
    hdr *h = r->nheaders ? calloc(r->nheaders, sizeof *h) : NULL;
    if (r->nheaders && !h)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < r->nheaders && rc == 0; i++) {
        h[i].name = strdup(r->headers[i].name);
        h[i].value = r->headers[i].value;
        if (!h[i].name)
            rc = -1;
        else
            for (char *p = h[i].name; *p; p++)
                *p = (char)tolower((unsigned char)*p);
    }
    if (rc == 0 && r->nheaders)
        qsort(h, r->nheaders, sizeof *h, cmp_hdr);
    for (size_t i = 0; i < r->nheaders && rc == 0; i++)
        if (bronze_buf_printf(out, "%s:", h[i].name) || append_trimmed(out, h[i].value) ||
            bronze_buf_putc(out, '\n'))
            rc = -1;
    if (rc == 0 && bronze_buf_putc(out, '\n'))
        rc = -1;
    for (size_t i = 0; i < r->nheaders && rc == 0; i++) {
        if (bronze_buf_printf(out, "%s%s", i ? ";" : "", h[i].name))
            rc = -1;
        else if (signed_headers &&
                 bronze_buf_printf(signed_headers, "%s%s", i ? ";" : "", h[i].name))
            rc = -1;
    }
    if (rc == 0 &&
        bronze_buf_printf(out, "\n%s", r->payload_sha256 ? r->payload_sha256 : "UNSIGNED-PAYLOAD"))
        rc = -1;
    for (size_t i = 0; i < r->nheaders; i++)
        free(h[i].name);
    free(h);
    if (rc == 0 && signed_headers && bronze_buf_cstr(signed_headers))
        rc = -1;
    return rc;
}

static void to_hex(const unsigned char *md, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[2 * n] = 0;
}

int bronze_sha256_hex(const void *data, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return -1;
    to_hex(md, 32, out);
    return 0;
}

static bool valid_date(const char *d)
{
    if (!d || strlen(d) != 16 || d[8] != 'T' || d[15] != 'Z')
        return false;
    for (int i = 0; i < 15; i++)
        if (i != 8 && !isdigit((unsigned char)d[i]))
            return false;
    return true;
}

int bronze_sigv4_string_to_sign(bronze_buf *out, const bronze_sigv4_key *k,
                                const bronze_sigv4_req *r, const char *canonical, size_t n)
{
    char hash[65];
    if (!valid_date(r->amz_date) || bronze_sha256_hex(canonical, n, hash))
        return -1;
    return bronze_buf_printf(out, "AWS4-HMAC-SHA256\n%s\n%.8s/%s/%s/aws4_request\n%s", r->amz_date,
                             r->amz_date, k->region, k->service, hash);
}

static int hmac(const void *key, size_t klen, const void *msg, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key, (int)klen, msg, n, out, &len) || len != 32)
        return -1;
    return 0;
}

int bronze_sigv4_sign(const bronze_sigv4_key *k, const bronze_sigv4_req *r, char *auth,
                      size_t auth_cap, char sig_hex[65], bronze_err *err)
{
    if (!k->access_key || !*k->access_key || !k->secret_key || !*k->secret_key)
        return bronze_err_set(err, BRONZE_E_CONFIG, "S3 signing: access key or secret key empty");
    if (!valid_date(r->amz_date))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 signing: malformed x-amz-date");
    if (!k->region || !*k->region || !k->service || !*k->service)
        return bronze_err_set(err, BRONZE_E_CONFIG, "S3 signing: region or service empty");
    bronze_buf canon = BRONZE_BUF_INIT, sh = BRONZE_BUF_INIT, sts = BRONZE_BUF_INIT;
    bronze_buf secret = BRONZE_BUF_INIT;
    int rc = -1;
    unsigned char kd[32], kr[32], ks[32], kk[32], sig[32];
    char hex[65];
    if (bronze_sigv4_canonical_request(&canon, &sh, r) ||
        bronze_sigv4_string_to_sign(&sts, k, r, (const char *)canon.data, canon.len) ||
        bronze_buf_printf(&secret, "AWS4%s", k->secret_key)) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "S3 signing: out of memory");
        goto out;
    }
    if (hmac(secret.data, secret.len, r->amz_date, 8, kd) ||
        hmac(kd, 32, k->region, strlen(k->region), kr) ||
        hmac(kr, 32, k->service, strlen(k->service), ks) || hmac(ks, 32, "aws4_request", 12, kk) ||
        hmac(kk, 32, sts.data, sts.len, sig)) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "S3 signing: HMAC failed");
        goto out;
    }
    to_hex(sig, 32, hex);
    int n = snprintf(auth, auth_cap,
                     "AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
                     "SignedHeaders=%s, Signature=%s",
                     k->access_key, r->amz_date, k->region, k->service, (const char *)sh.data, hex);
    if (n < 0 || (size_t)n >= auth_cap) {
        bronze_err_set(err, BRONZE_E_RUNTIME, "S3 signing: Authorization header too long");
        goto out;
    }
    if (sig_hex)
        memcpy(sig_hex, hex, 65);
    rc = 0;
out:
    /* the secret and the keys derived from it do not outlive the call */
    if (secret.data)
        OPENSSL_cleanse(secret.data, secret.cap);
    OPENSSL_cleanse(kd, sizeof kd);
    OPENSSL_cleanse(kr, sizeof kr);
    OPENSSL_cleanse(ks, sizeof ks);
    OPENSSL_cleanse(kk, sizeof kk);
    bronze_buf_free(&canon);
    bronze_buf_free(&sh);
    bronze_buf_free(&sts);
    bronze_buf_free(&secret);
    return rc;
}

int bronze_base64(const unsigned char *p, size_t n, char *out, size_t cap)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t need = 4 * ((n + 2) / 3) + 1;
    if (cap < need)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    out[o] = 0;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int bronze_sha256_hex_to_base64(const char *hex, char out[45])
{
    unsigned char raw[32];
    if (!hex || strlen(hex) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        int a = hexval(hex[2 * i]), b = hexval(hex[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        raw[i] = (unsigned char)(a << 4 | b);
    }
    return bronze_base64(raw, 32, out, 45);
}
