/* api_scan.c - a validating JSON scanner that splits an API page into its
 * records' byte spans without building a tree (see api_scan.h). */
#include "source/api_scan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/digits.h"
#include "util/json_plain.h"
#include "util/utf8.h"

#define MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */
#define MAX_PATH 32

static const char *const default_keys[] = {"items", "data", "results", "records"};

typedef struct st {
    const unsigned char *p;
    size_t n, i;
    const char *path[MAX_PATH];
    size_t pathlen[MAX_PATH];
    size_t npath;
    bool default_lookup;
    bronze_scan *sc;
    int fail; /* BRONZE_SCAN_FALLBACK or BRONZE_SCAN_OOM once set */
    /* for the side index: the next value is an element of a candidate
     * record array; whitespace runs and escaped strings seen so far; the
     * last number's kind; the last record object's members */
    bool elem;
    uint64_t nws, nesc, nbr; /* ... and raw line breaks (whitespace) */
    bool last_int;
    size_t last_mbeg, last_nmem;
    bool last_plain;
} st;

static inline void ws(st *s)
{
    /* compact JSON: no whitespace between tokens at all */
    if (__builtin_expect(s->i < s->n && s->p[s->i] > ' ', 1))
        return;
    size_t i0 = s->i;
    while (s->i < s->n) {
        unsigned char c = s->p[s->i];
        if (c != ' ' && c != '\n' && c != '\r' && c != '\t')
            break;
        s->nbr += c == '\n' || c == '\r';
        s->i++;
    }
    s->nws += s->i != i0;
}

/* A string at s->i (the opening quote). *escaped says whether it held a
 * backslash escape (its raw bytes then differ from its text). */
static __attribute__((noinline)) int string_slow(st *s, bool *escaped)
{
    size_t i = s->i + 1, start = i;
    bool high = false;
    *escaped = false;
    for (;;) {
        i = bronze_json_plain_end(s->p, i, s->n);
        if (i >= s->n)
            return s->fail = BRONZE_SCAN_FALLBACK;
        unsigned char c = s->p[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return s->fail = BRONZE_SCAN_FALLBACK;
        if (c >= 0x80) {
            high = true;
            i++;
            continue;
        }
        /* a backslash */
        if (!*escaped)
            s->nesc++;
        *escaped = true;
        if (i + 1 >= s->n)
            return s->fail = BRONZE_SCAN_FALLBACK;
        unsigned char e = s->p[i + 1];
        if (e == 'u') {
            unsigned u, lo;
            if (i + 6 > s->n || !bronze_json_hex4(s->p + i + 2, &u))
                return s->fail = BRONZE_SCAN_FALLBACK;
            /* a NUL or a lone surrogate is valid JSON that a column cannot
             * hold: the string is escaped, so its record is not indexed and
             * the reader judges it as it would a JSON Lines file's */
            if (u >= 0xD800 && u <= 0xDBFF && i + 12 <= s->n && s->p[i + 6] == '\\' &&
                s->p[i + 7] == 'u' && bronze_json_hex4(s->p + i + 8, &lo) && lo >= 0xDC00 &&
                lo <= 0xDFFF)
                i += 12;
            else
                i += 6;
            continue;
        }
        if (!strchr("\"\\/bfnrt", e) || !e)
            return s->fail = BRONZE_SCAN_FALLBACK;
        i += 2;
    }
    /* bytes that are not UTF-8: counted as an escape (the string is not as
     * parsing hands it out), so the reader names the record and the field,
     * or writes U+FFFD with invalid_utf8: replace */
    if (high && !*escaped && bronze_utf8_check(s->p + start, i - start) != i - start) {
        s->nesc++;
        *escaped = true;
    }
    s->i = i + 1;
    return 0;
}

/* The common case inline: plain ASCII up to the closing quote. */
static inline int string(st *s, bool *escaped)
{
    size_t i = bronze_json_plain_end(s->p, s->i + 1, s->n);
    if (__builtin_expect(i < s->n && s->p[i] == '"', 1)) {
        *escaped = false;
        s->i = i + 1;
        return 0;
    }
    return string_slow(s, escaped);
}

static inline bool digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int number(st *s)
{
    size_t i = s->i, b = i;
    bool integral = true;
    if (i < s->n && s->p[i] == '-')
        i++;
    if (i >= s->n || !digit(s->p[i]))
        return s->fail = BRONZE_SCAN_FALLBACK;
    if (s->p[i] == '0')
        i++;
    else
        i = bronze_digits_end((const char *)s->p, i, s->n);
    if (i < s->n && s->p[i] == '.') {
        integral = false;
        i++;
        if (i >= s->n || !digit(s->p[i]))
            return s->fail = BRONZE_SCAN_FALLBACK;
        i = bronze_digits_end((const char *)s->p, i, s->n);
    }
    bool expo = false;
    if (i < s->n && (s->p[i] == 'e' || s->p[i] == 'E')) {
        integral = false;
        expo = true;
        i++;
        if (i < s->n && (s->p[i] == '+' || s->p[i] == '-'))
            i++;
        if (i >= s->n || !digit(s->p[i]))
            return s->fail = BRONZE_SCAN_FALLBACK;
        i = bronze_digits_end((const char *)s->p, i, s->n);
    }
    size_t len = i - b;
    if (integral && len >= 19) {
        char tmp[32];
        if (len >= sizeof tmp) {
            s->sc->big_int = true;
        } else {
            memcpy(tmp, s->p + b, len);
            tmp[len] = 0;
            errno = 0;
            (void)strtoll(tmp, NULL, 10);
            if (errno == ERANGE)
                s->sc->big_int = true;
        }
    } else if (!integral && (expo || len > 300)) {
        /* a real beyond the double range is kept as text, as a JSON Lines
         * file's: counted as an escape, so its record is not indexed and the
         * reader types it (its member would otherwise be a NUMBER) */
        char tmp[512];
        bool over = len >= sizeof tmp;
        if (!over) {
            memcpy(tmp, s->p + b, len);
            tmp[len] = 0;
            errno = 0;
            double d = strtod(tmp, NULL);
            over = errno == ERANGE && isinf(d);
        }
        if (over)
            s->nesc++;
    }
    s->last_int = integral;
    s->i = i;
    return 0;
}

static int literal(st *s, const char *w, size_t n)
{
    if (s->n - s->i < n || memcmp(s->p + s->i, w, n))
        return s->fail = BRONZE_SCAN_FALLBACK;
    s->i += n;
    return 0;
}

/* An element of candidate array `slot` (its members: the last record's);
 * breaks: it holds a raw line break. */
static int push(st *s, int slot, size_t off, size_t len, bool breaks)
{
    bronze_scan *sc = s->sc;
    bronze_scan_rec *grown =
        bronze_grow(sc->cand[slot], &sc->cand_cap[slot], sc->ncand[slot] + 1, sizeof *grown, 1024);
    if (!grown)
        return -1;
    sc->cand[slot] = grown;
    sc->cand[slot][sc->ncand[slot]++] =
        (bronze_scan_rec){off, len, s->last_mbeg, s->last_nmem, s->last_plain, breaks};
    return 0;
}

/* One member of a record object for the side index: key [kb, kb + kl),
 * value [vb, s->i); plain when it needs no unescaping or compacting (ws0,
 * esc0: the counters before the value). */
static int member(st *s, size_t rec, size_t kb, size_t kl, bool kesc, size_t vb, uint64_t ws0,
                  uint64_t esc0, bool *all_plain)
{
    bronze_scan *sc = s->sc;
    bronze_json_span *grown = bronze_grow(sc->mem, &sc->cap_mem, sc->nmem + 1, sizeof *grown, 4096);
    if (!grown)
        return -1;
    sc->mem = grown;
    unsigned char c = s->p[vb];
    size_t ve = s->i;
    bronze_json_kind kind;
    bool plain = !kesc && s->nesc == esc0;
    switch (c) {
    case '"':
        kind = BRONZE_JV_STRING;
        vb++;
        ve--;
        break;
    case '{':
    case '[':
        kind = BRONZE_JV_NESTED;
        plain = plain && s->nws == ws0;
        break;
    case 't':
    case 'f':
        kind = BRONZE_JV_BOOL;
        break;
    case 'n':
        kind = BRONZE_JV_NULL;
        break;
    default:
        kind = s->last_int ? BRONZE_JV_INT : BRONZE_JV_NUMBER;
    }
    *all_plain = *all_plain && plain;
    sc->mem[sc->nmem++] = (bronze_json_span){(uint32_t)(kb - rec), (uint32_t)kl,
                                             (uint32_t)(vb - rec), (uint32_t)(ve - vb), kind};
    return 0;
}

/* pathpos: how many path parts the position of this value matched (-1: off
 * the path); slot: >= 0 when this value is a candidate record array. */
static int value(st *s, int depth, int pathpos, int slot);

/* value() with its most common cases inline: a string or a number that is
 * no candidate for the records (value() does the bookkeeping for those). */
static inline int member_value(st *s, int depth, int pathpos, int slot)
{
    if (slot < 0 && !s->elem && s->i < s->n) {
        unsigned char c = s->p[s->i];
        bool esc;
        if (c == '"')
            return string(s, &esc);
        if (c == '-' || (c >= '0' && c <= '9'))
            return number(s);
    }
    return value(s, depth, pathpos, slot);
}

static int container(st *s, int depth, int pathpos, int slot, bool rec)
{
    unsigned char open = s->p[s->i];
    size_t begin = s->i;
    if (depth >= MAX_DEPTH)
        return s->fail = BRONZE_SCAN_FALLBACK;
    if (slot >= 0) {
        if (++s->sc->cand_seen[slot] > 1)
            return s->fail = BRONZE_SCAN_FALLBACK; /* a repeated key: jansson decides */
        s->sc->cand_array[slot] = open == '[';
        s->sc->ncand[slot] = 0;
    }
    s->i++;
    ws(s);
    if (open == '[') {
        if (s->i < s->n && s->p[s->i] == ']') {
            s->i++;
            goto done;
        }
        for (size_t idx = 0;; idx++) {
            ws(s);
            int child = -1;
            if (pathpos >= 0 && (size_t)pathpos < s->npath) {
                /* a numeric path part indexes the array */
                char num[24];
                int k = snprintf(num, sizeof num, "%zu", idx);
                if ((size_t)k == s->pathlen[pathpos] && !memcmp(num, s->path[pathpos], (size_t)k))
                    child = pathpos + 1;
            }
            size_t eb = s->i;
            int cslot = child >= 0 && (size_t)child == s->npath && !s->default_lookup ? 0 : -1;
            bool cand = slot >= 0 && s->sc->cand_array[slot];
            s->elem = cand;
            uint64_t br0 = s->nbr;
            if (member_value(s, depth + 1, child, cslot))
                return s->fail;
            if (cand && push(s, slot, eb, s->i - eb, s->nbr != br0))
                return s->fail = BRONZE_SCAN_OOM;
            ws(s);
            if (s->i >= s->n)
                return s->fail = BRONZE_SCAN_FALLBACK;
            if (s->p[s->i] == ',') {
                s->i++;
                continue;
            }
            if (s->p[s->i] == ']') {
                s->i++;
                break;
            }
            return s->fail = BRONZE_SCAN_FALLBACK;
        }
    } else {
        size_t mbeg = s->sc->nmem;
        bool plain = true;
        if (rec) {
            s->last_mbeg = mbeg;
            s->last_nmem = 0;
            s->last_plain = true;
        }
        if (s->i < s->n && s->p[s->i] == '}') {
            s->i++;
            goto done;
        }
        for (;;) {
            ws(s);
            if (s->i >= s->n || s->p[s->i] != '"')
                return s->fail = BRONZE_SCAN_FALLBACK;
            size_t kb = s->i + 1;
            bool esc;
            if (string(s, &esc))
                return s->fail;
            size_t kl = s->i - 1 - kb;
            int child = -1, cslot = -1;
            if (pathpos >= 0 && (size_t)pathpos < s->npath) {
                if (esc)
                    return s->fail = BRONZE_SCAN_FALLBACK; /* an escaped key on the path */
                if (kl == s->pathlen[pathpos] && !memcmp(s->p + kb, s->path[pathpos], kl))
                    child = pathpos + 1;
                if (child >= 0 && (size_t)child == s->npath && !s->default_lookup)
                    cslot = 0;
            }
            if (s->default_lookup && depth == 0) {
                if (esc)
                    return s->fail = BRONZE_SCAN_FALLBACK;
                for (int k = 0; k < 4; k++)
                    if (kl == strlen(default_keys[k]) && !memcmp(s->p + kb, default_keys[k], kl)) {
                        cslot = k + 1;
                        /* a repeated key: jansson keeps the last */
                        if (s->sc->cand_seen[cslot])
                            return s->fail = BRONZE_SCAN_FALLBACK;
                    }
            }
            ws(s);
            if (s->i >= s->n || s->p[s->i] != ':')
                return s->fail = BRONZE_SCAN_FALLBACK;
            s->i++;
            ws(s);
            size_t vb = s->i;
            uint64_t ws0 = s->nws, esc0 = s->nesc;
            if (member_value(s, depth + 1, child, cslot))
                return s->fail;
            if (rec && member(s, begin, kb, kl, esc, vb, ws0, esc0, &plain))
                return s->fail = BRONZE_SCAN_OOM;
            ws(s);
            if (s->i >= s->n)
                return s->fail = BRONZE_SCAN_FALLBACK;
            if (s->p[s->i] == ',') {
                s->i++;
                continue;
            }
            if (s->p[s->i] == '}') {
                s->i++;
                break;
            }
            return s->fail = BRONZE_SCAN_FALLBACK;
        }
        if (rec) {
            s->last_mbeg = mbeg;
            s->last_nmem = s->sc->nmem - mbeg;
            s->last_plain = plain;
        }
    }
done:
    if (slot >= 0) {
        s->sc->cand_off[slot] = begin;
        s->sc->cand_len[slot] = s->i - begin;
    }
    return 0;
}

/* s->i is past any whitespace before the value (every caller skipped it). */
static int value(st *s, int depth, int pathpos, int slot)
{
    if (s->i >= s->n)
        return s->fail = BRONZE_SCAN_FALLBACK;
    unsigned char c = s->p[s->i];
    bool esc;
    bool rec = s->elem;
    s->elem = false;
    if (c == '{' || c == '[')
        return container(s, depth, pathpos, slot, rec && c == '{');
    if (slot >= 0) { /* a scalar where the records were looked for */
        s->sc->cand_seen[slot]++;
        s->sc->cand_array[slot] = false;
    }
    switch (c) {
    case '"':
        return string(s, &esc);
    case 't':
        return literal(s, "true", 4);
    case 'f':
        return literal(s, "false", 5);
    case 'n':
        return literal(s, "null", 4);
    default:
        return number(s);
    }
}

int bronze_scan_page(bronze_scan *sc, const char *p, size_t n, const char *data_path)
{
    st s = {.p = (const unsigned char *)p, .n = n, .sc = sc};
    for (int k = 0; k < 5; k++) {
        sc->ncand[k] = 0;
        sc->cand_seen[k] = 0;
        sc->cand_array[k] = false;
    }
    sc->recs = NULL;
    sc->nrecs = 0;
    sc->nmem = 0;
    sc->big_int = false;
    /* "$" and ".": the document itself (an array; an object is one record,
     * which the jansson path takes) */
    bool self = data_path && (!strcmp(data_path, "$") || !strcmp(data_path, "."));
    sc->where = data_path && *data_path && !self ? data_path : "";
    if (self) {
        /* no path parts: the root is the target */
    } else if (data_path && *data_path) {
        const char *q = data_path;
        while (*q) {
            size_t l = strcspn(q, ".");
            if (s.npath == MAX_PATH || l == 0)
                return BRONZE_SCAN_FALLBACK;
            s.path[s.npath] = q;
            s.pathlen[s.npath++] = l;
            q += l;
            if (*q == '.')
                q++;
        }
    } else {
        s.default_lookup = true;
    }
    ws(&s);
    if (s.i >= n)
        return BRONZE_SCAN_FALLBACK;
    /* the document itself: slot 0 when the default lookup meets an array */
    int root_slot = (s.default_lookup || self) && s.p[s.i] == '[' ? 0 : -1;
    if (value(&s, 0, s.default_lookup ? -1 : 0, root_slot))
        return s.fail;
    ws(&s);
    if (s.i != n)
        return BRONZE_SCAN_FALLBACK; /* something after the document */
    int chosen = -1;
    if (!s.default_lookup || root_slot == 0) {
        if (sc->cand_seen[0] == 1 && sc->cand_array[0])
            chosen = 0;
    } else {
        for (int k = 1; k < 5 && chosen < 0; k++)
            if (sc->cand_seen[k] == 1 && sc->cand_array[k]) {
                chosen = k;
                sc->where = default_keys[k - 1];
            }
    }
    if (chosen < 0)
        return BRONZE_SCAN_FALLBACK; /* no record array: the jansson path explains */
    sc->arr_off = sc->cand_off[chosen];
    sc->arr_len = sc->cand_len[chosen];
    sc->recs = sc->cand[chosen];
    sc->nrecs = sc->ncand[chosen];
    for (size_t i = 0; i < sc->nrecs; i++)
        if (p[sc->recs[i].off] != '{')
            return BRONZE_SCAN_FALLBACK; /* not an object: the jansson path names it */
    return BRONZE_SCAN_OK;
}

void bronze_scan_free(bronze_scan *sc)
{
    for (int k = 0; k < 5; k++) {
        free(sc->cand[k]);
        sc->cand[k] = NULL;
        sc->ncand[k] = sc->cand_cap[k] = 0;
    }
    free(sc->mem);
    sc->mem = NULL;
    sc->nmem = sc->cap_mem = 0;
    sc->recs = NULL;
    sc->nrecs = 0;
}

const bronze_json_span *bronze_scan_rec_members(const bronze_scan *sc, const bronze_scan_rec *r)
{
    static const bronze_json_span none[1];
    return !r->plain ? NULL : r->nmem ? sc->mem + r->mbeg : none;
}

int bronze_scan_object(bronze_scan *sc, const char *p, size_t n, size_t *nmem)
{
    st s = {.p = (const unsigned char *)p, .n = n, .sc = sc};
    sc->nmem = 0;
    ws(&s);
    if (s.i >= n || s.p[s.i] != '{')
        return BRONZE_SCAN_FALLBACK;
    s.elem = true; /* a record: its members are counted */
    if (value(&s, 0, -1, -1))
        return s.fail;
    ws(&s);
    if (s.i != n)
        return BRONZE_SCAN_FALLBACK;
    *nmem = s.last_nmem;
    return BRONZE_SCAN_OK;
}

bool bronze_scan_member(const char *p, size_t n, const char *key, bronze_span *out)
{
    bronze_scan tmp = {0};
    st s = {.p = (const unsigned char *)p, .n = n, .sc = &tmp};
    size_t kn = strlen(key);
    bool found = false;
    ws(&s);
    if (s.i >= n || s.p[s.i] != '{')
        return false;
    s.i++;
    ws(&s);
    if (s.i < n && s.p[s.i] == '}')
        return false;
    for (;;) {
        ws(&s);
        if (s.i >= n || s.p[s.i] != '"')
            return found;
        size_t kb = s.i + 1;
        bool esc;
        if (string(&s, &esc))
            return found;
        size_t kl = s.i - 1 - kb;
        bool match = !esc && kl == kn && !memcmp(p + kb, key, kn);
        ws(&s);
        if (s.i >= n || s.p[s.i] != ':')
            return found;
        s.i++;
        ws(&s);
        size_t vb = s.i;
        if (value(&s, 1, -1, -1))
            return found;
        if (match) {
            *out = (bronze_span){vb, s.i - vb};
            found = true;
        }
        ws(&s);
        if (s.i >= n || s.p[s.i] != ',')
            return found;
        s.i++;
    }
}
