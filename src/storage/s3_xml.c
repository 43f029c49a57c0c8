/*
 * s3_xml.c - a reader for S3's flat response documents (see s3_xml.h).
 *
 * One walker does the XML: elements, attributes (skipped), character data,
 * entities, CDATA, comments and processing instructions, and refuses what S3
 * never sends and an attacker might (DOCTYPE and its entities, nesting past
 * BRONZE_S3_XML_DEPTH_MAX, text past BRONZE_S3_XML_TEXT_MAX, NUL bytes).
 * Each document kind is then a small callback matching element paths, so
 * "ListBucketResult/Contents/Key" reads as what it is.
 */
#include "storage/s3_xml.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 128

typedef struct {
    const char *p, *end;
    char names[BRONZE_S3_XML_DEPTH_MAX][NAME_MAX_LEN];
    const char *path[BRONZE_S3_XML_DEPTH_MAX];
    int depth;
    char text[BRONZE_S3_XML_TEXT_MAX + 1];
    size_t tlen;
    bool root_seen, root_done;
} walker;

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool starts(const walker *w, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(w->end - w->p) >= n && !memcmp(w->p, s, n);
}

/* Moves past the next occurrence of s; false when there is none. */
static bool skip_past(walker *w, const char *s)
{
    size_t n = strlen(s);
    for (const char *q = w->p; (size_t)(w->end - q) >= n; q++)
        if (!memcmp(q, s, n)) {
            w->p = q + n;
            return true;
        }
    return false;
}

static int text_add(walker *w, const char *s, size_t n, bronze_err *err)
{
    if (w->depth == 0) {
        for (size_t i = 0; i < n; i++)
            if (!is_ws(s[i]))
                return bronze_err_set(err, BRONZE_E_RUNTIME,
                                      "S3 response: text outside the root element");
        return 0;
    }
    if (w->tlen + n > BRONZE_S3_XML_TEXT_MAX)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "S3 response: element <%s> text longer than %d bytes",
                              w->names[w->depth - 1], BRONZE_S3_XML_TEXT_MAX);
    memcpy(w->text + w->tlen, s, n);
    w->tlen += n;
    return 0;
}

static size_t utf8_put(uint32_t cp, char out[4])
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* At '&': decodes one entity into the text. */
static int entity(walker *w, bronze_err *err)
{
    const char *semi = NULL;
    for (const char *q = w->p + 1; q < w->end && q - w->p <= 12; q++)
        if (*q == ';') {
            semi = q;
            break;
        }
    if (!semi)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: unterminated entity");
    const char *name = w->p + 1;
    size_t n = (size_t)(semi - name);
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    char out[4];
    size_t olen = 0;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (n == strlen(named[i].name) && !memcmp(name, named[i].name, n)) {
            out[0] = named[i].c;
            olen = 1;
        }
    if (!olen && n >= 2 && name[0] == '#') {
        bool hex = name[1] == 'x' || name[1] == 'X';
        size_t i = hex ? 2 : 1;
        uint32_t cp = 0;
        if (i == n)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: empty character reference");
        for (; i < n; i++) {
            char c = name[i];
            int d = c >= '0' && c <= '9'          ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0)
                return bronze_err_set(err, BRONZE_E_RUNTIME,
                                      "S3 response: bad character reference &%.*s;", (int)n, name);
            cp = cp * (hex ? 16u : 10u) + (uint32_t)d;
            if (cp > 0x10FFFF)
                break;
        }
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "S3 response: character reference &%.*s; out of range", (int)n,
                                  name);
        olen = utf8_put(cp, out);
    }
    if (!olen)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: unknown entity &%.*s;",
                              (int)(n > 16 ? 16 : n), name);
    w->p = semi + 1;
    return text_add(w, out, olen, err);
}

/* Reads an element name at w->p into out. */
static int read_name(walker *w, char *out, bronze_err *err)
{
    size_t n = 0;
    while (w->p < w->end && !is_ws(*w->p) && *w->p != '>' && *w->p != '/' && *w->p != '<') {
        if (n + 1 >= NAME_MAX_LEN)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: element name too long");
        out[n++] = *w->p++;
    }
    out[n] = 0;
    if (n == 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: element without a name");
    return 0;
}

static int close_elem(walker *w, bronze_s3_xml_end_fn on_end, void *ctx)
{
    w->text[w->tlen] = 0;
    int rc = on_end ? on_end(ctx, w->path, w->depth, w->text, w->tlen) : 0;
    w->depth--;
    w->tlen = 0;
    if (w->depth == 0)
        w->root_done = true;
    return rc;
}

static int open_elem(walker *w, bronze_err *err)
{
    if (w->root_done)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: a second root element");
    if (w->depth >= BRONZE_S3_XML_DEPTH_MAX)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: nested deeper than %d",
                              BRONZE_S3_XML_DEPTH_MAX);
    if (read_name(w, w->names[w->depth], err))
        return -1;
    w->path[w->depth] = w->names[w->depth];
    w->depth++;
    w->tlen = 0; /* a parent's text before a child is not kept (mixed content) */
    w->root_seen = true;
    return 0;
}

int bronze_s3_xml_walk(const char *xml, size_t n, bronze_s3_xml_end_fn on_end, void *ctx,
                       bronze_err *err)
{
    walker *w = malloc(sizeof *w);
    if (!w)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory reading an S3 response");
    w->p = xml ? xml : "";
    w->end = w->p + (xml ? n : 0);
    w->depth = 0;
    w->tlen = 0;
    w->root_seen = w->root_done = false;
    int rc = 0;
    while (rc == 0 && w->p < w->end) {
        char c = *w->p;
        if (c == 0) {
            rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: NUL byte in the document");
        } else if (c == '&') {
            rc = entity(w, err);
        } else if (c != '<') {
            const char *q = w->p;
            while (q < w->end && *q != '<' && *q != '&' && *q != 0)
                q++;
            rc = text_add(w, w->p, (size_t)(q - w->p), err);
            w->p = q;
        } else if (starts(w, "<?")) {
            if (!skip_past(w, "?>"))
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: unterminated <?");
        } else if (starts(w, "<!--")) {
            if (!skip_past(w, "-->"))
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: unterminated comment");
        } else if (starts(w, "<![CDATA[")) {
            const char *start = w->p + 9;
            w->p = start;
            if (!skip_past(w, "]]>"))
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: unterminated CDATA");
            else if (w->depth == 0)
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: CDATA outside the root");
            else
                rc = text_add(w, start, (size_t)(w->p - 3 - start), err);
        } else if (starts(w, "<!")) {
            rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                                "S3 response: DOCTYPE or declaration not accepted");
        } else if (starts(w, "</")) {
            w->p += 2;
            char name[NAME_MAX_LEN];
            if (read_name(w, name, err)) {
                rc = -1;
                break;
            }
            while (w->p < w->end && is_ws(*w->p))
                w->p++;
            if (w->p >= w->end || *w->p != '>') {
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: truncated end tag");
                break;
            }
            w->p++;
            if (w->depth == 0 || strcmp(name, w->names[w->depth - 1])) {
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: </%s> does not close <%s>",
                                    name, w->depth ? w->names[w->depth - 1] : "(nothing)");
                break;
            }
            rc = close_elem(w, on_end, ctx);
        } else {
            w->p++;
            if (open_elem(w, err)) {
                rc = -1;
                break;
            }
            /* attributes: skipped, quotes respected */
            char quote = 0;
            bool self_close = false, closed = false;
            while (w->p < w->end) {
                char a = *w->p++;
                if (quote) {
                    if (a == quote)
                        quote = 0;
                } else if (a == '"' || a == '\'') {
                    quote = a;
                } else if (a == '<') {
                    break;
                } else if (a == '>') {
                    closed = true;
                    self_close = w->p[-2] == '/';
                    break;
                }
            }
            if (!closed) {
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: truncated start tag");
                break;
            }
            if (self_close)
                rc = close_elem(w, on_end, ctx);
        }
    }
    if (rc == 0 && w->depth > 0)
        rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: truncated inside <%s>",
                            w->names[w->depth - 1]);
    else if (rc == 0 && !w->root_seen)
        rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: empty document");
    free(w);
    return rc;
}

static void copy_text(char *dst, size_t cap, const char *s, size_t n)
{
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = 0;
}

/* path is exactly the given names */
static bool path_is(const char *const *path, int depth, int n, ...)
{
    if (depth != n)
        return false;
    va_list ap;
    va_start(ap, n);
    bool ok = true;
    for (int i = 0; i < n && ok; i++)
        ok = !strcmp(path[i], va_arg(ap, const char *));
    va_end(ap);
    return ok;
}

typedef struct {
    char root[NAME_MAX_LEN];
    bronze_s3_error *e;
    char *etag;
    size_t etag_cap;
} root_ctx;

static int root_end(void *ctx, const char *const *path, int depth, const char *text, size_t len)
{
    root_ctx *r = ctx;
    if (depth == 1)
        copy_text(r->root, sizeof r->root, path[0], strlen(path[0]));
    if (depth == 2 && !strcmp(path[0], "Error") && r->e) {
        if (!strcmp(path[1], "Code"))
            copy_text(r->e->code, sizeof r->e->code, text, len);
        else if (!strcmp(path[1], "Message"))
            copy_text(r->e->message, sizeof r->e->message, text, len);
    }
    if (depth == 2 && r->etag && strcmp(path[0], "Error") && !strcmp(path[1], "ETag"))
        copy_text(r->etag, r->etag_cap, text, len);
    return 0;
}

int bronze_s3_xml_root(const char *xml, size_t n, char *root, size_t cap, bronze_err *err)
{
    root_ctx r = {.root = ""};
    if (bronze_s3_xml_walk(xml, n, root_end, &r, err))
        return -1;
    copy_text(root, cap, r.root, strlen(r.root));
    return 0;
}

int bronze_s3_xml_error(const char *xml, size_t n, bronze_s3_error *out, bronze_err *err)
{
    bronze_s3_error scratch;
    if (!out)
        out = &scratch;
    out->code[0] = out->message[0] = 0;
    root_ctx r = {.root = "", .e = out};
    if (bronze_s3_xml_walk(xml, n, root_end, &r, err))
        return -1;
    return strcmp(r.root, "Error") ? 0 : 1;
}

int bronze_s3_xml_result(const char *xml, size_t n, const char *expect, bronze_s3_error *e,
                         char *etag, size_t etag_cap, bronze_err *err)
{
    bronze_s3_error scratch;
    if (!e)
        e = &scratch;
    e->code[0] = e->message[0] = 0;
    if (etag && etag_cap)
        etag[0] = 0;
    root_ctx r = {.root = "", .e = e, .etag = etag, .etag_cap = etag_cap};
    if (bronze_s3_xml_walk(xml, n, root_end, &r, err))
        return -1;
    if (!strcmp(r.root, "Error"))
        return 1;
    if (strcmp(r.root, expect))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: <%s> where <%s> was expected",
                              r.root, expect);
    return 0;
}

typedef struct {
    bronze_s3_list_page *page;
    char key[BRONZE_S3_XML_TEXT_MAX + 1];
    bool have_key, have_size, bad_size, oom, wrong_root;
    uint64_t size;
} list_ctx;

static int parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    if (n == 0 || n > 20)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int list_end(void *ctx, const char *const *path, int depth, const char *text, size_t len)
{
    list_ctx *c = ctx;
    bronze_s3_list_page *pg = c->page;
    if (depth == 1 && strcmp(path[0], "ListBucketResult")) {
        c->wrong_root = true;
        return 0;
    }
    if (depth < 2 || strcmp(path[0], "ListBucketResult"))
        return 0;
    if (path_is(path, depth, 3, "ListBucketResult", "Contents", "Key")) {
        copy_text(c->key, sizeof c->key, text, len);
        c->have_key = true;
    } else if (path_is(path, depth, 3, "ListBucketResult", "Contents", "Size")) {
        c->have_size = true;
        if (parse_u64(text, len, &c->size))
            c->bad_size = true;
    } else if (path_is(path, depth, 2, "ListBucketResult", "Contents")) {
        if (!c->have_key || !c->have_size || c->bad_size) {
            c->bad_size = true;
            return 1;
        }
        if (bronze_obj_list_add(&pg->objects, c->key, c->size)) {
            c->oom = true;
            return 1;
        }
        c->have_key = c->have_size = false;
    } else if (path_is(path, depth, 3, "ListBucketResult", "CommonPrefixes", "Prefix")) {
        char *t = strndup(text, len);
        if (!t || bronze_obj_list_add(&pg->prefixes, t, 0)) {
            free(t);
            c->oom = true;
            return 1;
        }
        free(t);
    } else if (path_is(path, depth, 2, "ListBucketResult", "IsTruncated")) {
        pg->truncated = len == 4 && !memcmp(text, "true", 4);
    } else if (path_is(path, depth, 2, "ListBucketResult", "NextContinuationToken")) {
        free(pg->next_token);
        pg->next_token = strndup(text, len);
        if (!pg->next_token) {
            c->oom = true;
            return 1;
        }
    }
    return 0;
}

int bronze_s3_xml_list(const char *xml, size_t n, bronze_s3_list_page *page, bronze_err *err)
{
    memset(page, 0, sizeof *page);
    list_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory reading an S3 listing");
    c->page = page;
    int rc = bronze_s3_xml_walk(xml, n, list_end, c, err);
    if (rc > 0) {
        rc = c->oom ? bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory reading an S3 listing")
                    : bronze_err_set(err, BRONZE_E_RUNTIME,
                                     "S3 listing: an entry without a Key or a numeric Size");
    } else if (rc == 0 && c->wrong_root) {
        rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 listing: not a ListBucketResult");
    } else if (rc == 0 && page->truncated && (!page->next_token || !*page->next_token)) {
        rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                            "S3 listing: truncated page without a NextContinuationToken");
    }
    free(c);
    return rc ? -1 : 0;
}

void bronze_s3_list_page_free(bronze_s3_list_page *page)
{
    bronze_obj_list_free(&page->objects);
    bronze_obj_list_free(&page->prefixes);
    free(page->next_token);
    page->next_token = NULL;
}

typedef struct {
    char *id;
    bool root_ok, oom;
} upload_ctx;

static int upload_end(void *ctx, const char *const *path, int depth, const char *text, size_t len)
{
    upload_ctx *c = ctx;
    if (path_is(path, depth, 1, "InitiateMultipartUploadResult"))
        c->root_ok = true;
    else if (path_is(path, depth, 2, "InitiateMultipartUploadResult", "UploadId")) {
        free(c->id);
        if (!(c->id = strndup(text, len))) {
            c->oom = true;
            return 1;
        }
    }
    return 0;
}

int bronze_s3_xml_upload_id(const char *xml, size_t n, char **upload_id, bronze_err *err)
{
    *upload_id = NULL;
    upload_ctx c = {0};
    int rc = bronze_s3_xml_walk(xml, n, upload_end, &c, err);
    if (rc > 0)
        rc = bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory reading an S3 response");
    else if (rc == 0 && (!c.root_ok || !c.id || !*c.id))
        rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                            "S3 response: no UploadId in InitiateMultipartUploadResult");
    if (rc) {
        free(c.id);
        return -1;
    }
    *upload_id = c.id;
    return 0;
}

typedef struct {
    bronze_s3_delete_result *r;
    char key[1024];
    bronze_s3_error e;
    bool wrong_root;
} delete_ctx;

static int delete_end(void *ctx, const char *const *path, int depth, const char *text, size_t len)
{
    delete_ctx *c = ctx;
    if (depth == 1 && strcmp(path[0], "DeleteResult"))
        c->wrong_root = true;
    if (depth < 2 || strcmp(path[0], "DeleteResult"))
        return 0;
    if (path_is(path, depth, 2, "DeleteResult", "Deleted")) {
        c->r->deleted++;
    } else if (path_is(path, depth, 3, "DeleteResult", "Error", "Key")) {
        copy_text(c->key, sizeof c->key, text, len);
    } else if (path_is(path, depth, 3, "DeleteResult", "Error", "Code")) {
        copy_text(c->e.code, sizeof c->e.code, text, len);
    } else if (path_is(path, depth, 3, "DeleteResult", "Error", "Message")) {
        copy_text(c->e.message, sizeof c->e.message, text, len);
    } else if (path_is(path, depth, 2, "DeleteResult", "Error")) {
        if (!strcmp(c->e.code, "NoSuchKey"))
            c->r->missing++;
        else if (c->r->nerrors++ == 0) {
            memcpy(c->r->first_key, c->key, sizeof c->key);
            c->r->first = c->e;
        }
        c->key[0] = 0;
        c->e.code[0] = c->e.message[0] = 0;
    }
    return 0;
}

int bronze_s3_xml_delete(const char *xml, size_t n, bronze_s3_delete_result *out, bronze_err *err)
{
    memset(out, 0, sizeof *out);
    delete_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory reading an S3 response");
    c->r = out;
    int rc = bronze_s3_xml_walk(xml, n, delete_end, c, err);
    if (rc == 0 && c->wrong_root)
        rc = bronze_err_set(err, BRONZE_E_RUNTIME, "S3 response: not a DeleteResult");
    free(c);
    return rc ? -1 : 0;
}

int bronze_s3_xml_escape(bronze_buf *out, const char *s)
{
    for (; *s; s++) {
        int rc;
        switch (*s) {
        case '&':
            rc = bronze_buf_append(out, "&amp;", 5);
            break;
        case '<':
            rc = bronze_buf_append(out, "&lt;", 4);
            break;
        case '>':
            rc = bronze_buf_append(out, "&gt;", 4);
            break;
        case '"':
            rc = bronze_buf_append(out, "&quot;", 6);
            break;
        case '\'':
            rc = bronze_buf_append(out, "&apos;", 6);
            break;
        default:
            rc = bronze_buf_putc(out, (uint8_t)*s);
        }
        if (rc)
            return -1;
    }
    return 0;
}
