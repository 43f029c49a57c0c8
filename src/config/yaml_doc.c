/*
 * yaml_doc.c - folds libyaml's event stream into a bronze_ynode tree.
 *
 * One pass over the events builds the tree on an explicit stack (so a syntax
 * error can name the key path being parsed); aliases become deep copies
 * charged against a node budget (no alias bomb gets through); a second pass
 * rejects duplicate keys and applies `<<` merge keys the way PyYAML does, so a
 * 1.0 config means the same thing here as it did there.
 */
#include "config/yaml_doc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define MAX_FILE_BYTES (16u << 20) /* a config is a few KiB; refuse absurd input */
/* parsed plus alias-expanded nodes (the fuzz build lowers it: mk/fuzz.mk) */
#ifndef BRONZE_YAML_MAX_NODES
#define BRONZE_YAML_MAX_NODES 1000000u
#endif
#define MAX_NODES BRONZE_YAML_MAX_NODES
#define MAX_DEPTH 200u /* nesting; the tree is walked recursively */

typedef struct anchor {
    char *name;
    bronze_ynode *node;
} anchor;

typedef struct builder {
    const char *file;
    const char *buf;
    size_t buflen;
    bronze_err *err;
    bronze_ynode *root;
    bool have_doc;
    bronze_ynode *stack[MAX_DEPTH];
    char *stack_anchor[MAX_DEPTH];
    size_t depth;
    anchor *anchors;
    size_t nanchors, anchors_cap;
    size_t nodes; /* nodes made so far, against MAX_NODES */
} builder;

/* ---- nodes ---- */

void bronze_ynode_free(bronze_ynode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        bronze_ynode_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static bronze_ynode *node_new(bronze_ynode_kind kind, const yaml_mark_t *m)
{
    bronze_ynode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

static int node_push(bronze_ynode *parent, bronze_ynode *kid)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        bronze_ynode **k = realloc(parent->kids, cap * sizeof *k);
        if (!k)
            return -1;
        parent->kids = k;
        parent->cap = cap;
    }
    parent->kids[parent->nkids++] = kid;
    return 0;
}

/* Deep copy for an alias; each copied node counts against the budget. */
static bronze_ynode *node_copy(builder *b, const bronze_ynode *src)
{
    if (++b->nodes > MAX_NODES)
        return NULL;
    bronze_ynode *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    *n = *src;
    n->key = NULL;
    n->kids = NULL;
    n->nkids = n->cap = 0;
    n->text = NULL;
    if (src->text) {
        n->text = malloc(src->len + 1);
        if (!n->text) {
            free(n);
            return NULL;
        }
        memcpy(n->text, src->text, src->len + 1);
    }
    for (size_t i = 0; i < src->nkids; i++) {
        bronze_ynode *k = node_copy(b, src->kids[i]);
        if (!k || node_push(n, k)) {
            bronze_ynode_free(k);
            bronze_ynode_free(n);
            return NULL;
        }
    }
    return n;
}

/* ---- key paths for messages ---- */

static void path_append(char *out, size_t cap, const char *seg, size_t seglen, bool index)
{
    size_t n = strlen(out);
    if (n >= cap - 1)
        return;
    if (index)
        snprintf(out + n, cap - n, "[%.*s]", (int)seglen, seg);
    else
        snprintf(out + n, cap - n, "%s%.*s", n ? "." : "", (int)seglen, seg);
}

/* The key path the builder is inside, for syntax errors. */
static void stack_path(const builder *b, char *out, size_t cap)
{
    out[0] = 0;
    for (size_t i = 0; i < b->depth; i++) {
        const bronze_ynode *f = b->stack[i];
        if (f->kind == BRONZE_YNODE_MAP) {
            if (f->nkids % 2 == 1) {
                const bronze_ynode *k = f->kids[f->nkids - 1];
                path_append(out, cap, k->text ? k->text : "?", k->text ? k->len : 1, false);
            }
        } else {
            size_t idx = f->nkids;
            /* below the innermost frame the last item is the one being built */
            if (i + 1 < b->depth && idx > 0)
                idx--;
            char num[32];
            int len = snprintf(num, sizeof num, "%zu", idx);
            path_append(out, cap, num, (size_t)len, true);
        }
    }
    if (!out[0])
        snprintf(out, cap, "(root)");
}

static int fail_at(builder *b, int line, int col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail_at(builder *b, int line, int col, const char *path, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bronze_err_set(b->err, BRONZE_E_CONFIG, "%s:%d:%d: %s: %s", b->file, line, col, path,
                          msg);
}

static int fail_oom(builder *b)
{
    return bronze_err_set(b->err, BRONZE_E_CONFIG, "%s: out of memory while reading the config",
                          b->file);
}

/* ---- event folding ---- */

static int anchor_add(builder *b, char *name, bronze_ynode *node)
{
    /* a later anchor of the same name shadows the earlier one (YAML spec) */
    if (b->nanchors == b->anchors_cap) {
        size_t cap = b->anchors_cap ? b->anchors_cap * 2 : 8;
        anchor *a = realloc(b->anchors, cap * sizeof *a);
        if (!a)
            return -1;
        b->anchors = a;
        b->anchors_cap = cap;
    }
    b->anchors[b->nanchors].name = name;
    b->anchors[b->nanchors].node = node;
    b->nanchors++;
    return 0;
}

static const bronze_ynode *anchor_find(const builder *b, const char *name)
{
    for (size_t i = b->nanchors; i-- > 0;)
        if (!strcmp(b->anchors[i].name, name))
            return b->anchors[i].node;
    return NULL;
}

/* Attaches a finished node to the open collection (or makes it the root). */
static int attach(builder *b, bronze_ynode *n)
{
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    bronze_ynode *parent = b->stack[b->depth - 1];
    if (parent->kind == BRONZE_YNODE_MAP && parent->nkids % 2 == 0 &&
        n->kind != BRONZE_YNODE_SCALAR) {
        char path[512];
        stack_path(b, path, sizeof path);
        int line = n->line, col = n->col;
        const char *what = n->kind == BRONZE_YNODE_MAP ? "mapping" : "list";
        bronze_ynode_free(n);
        return fail_at(b, line, col, path, "a mapping key must be a plain value, not a %s", what);
    }
    if (node_push(parent, n)) {
        bronze_ynode_free(n);
        return fail_oom(b);
    }
    return 0;
}

static char *dup_anchor(const yaml_char_t *a)
{
    return a ? strdup((const char *)a) : NULL;
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
    if (++b->nodes > MAX_NODES)
        return fail_at(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1, "(root)",
                       "document too large");
    bronze_ynode *n = node_new(BRONZE_YNODE_SCALAR, &ev->start_mark);
    if (!n)
        return fail_oom(b);
    size_t len = ev->data.scalar.length;
    n->text = malloc(len + 1);
    if (!n->text) {
        free(n);
        return fail_oom(b);
    }
    memcpy(n->text, ev->data.scalar.value, len);
    n->text[len] = 0;
    n->len = len;
    const char *tag = (const char *)ev->data.scalar.tag;
    n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (tag && (!strcmp(tag, YAML_STR_TAG) || !strcmp(tag, "!")))
        n->plain = false;
    else if (tag && !n->plain && strncmp(tag, "tag:yaml.org,2002:", 18) == 0)
        n->plain = true; /* "!!int '5'": the tag asks for typing */
    if (ev->data.scalar.anchor) {
        char *name = dup_anchor(ev->data.scalar.anchor);
        if (!name || anchor_add(b, name, n)) {
            free(name);
            bronze_ynode_free(n);
            return fail_oom(b);
        }
    }
    return attach(b, n);
}

static int on_start(builder *b, const yaml_event_t *ev, bronze_ynode_kind kind,
                    const yaml_char_t *anchor_name)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    if (b->depth == MAX_DEPTH) {
        char path[512];
        stack_path(b, path, sizeof path);
        return fail_at(b, line, col, path, "nesting deeper than %u levels", MAX_DEPTH);
    }
    if (++b->nodes > MAX_NODES)
        return fail_at(b, line, col, "(root)", "document too large");
    bronze_ynode *n = node_new(kind, &ev->start_mark);
    if (!n)
        return fail_oom(b);
    /* a collection used as a mapping key is refused when it is attached; check
     * now so the stack never holds one */
    if (b->depth > 0) {
        bronze_ynode *parent = b->stack[b->depth - 1];
        if (parent->kind == BRONZE_YNODE_MAP && parent->nkids % 2 == 0) {
            char path[512];
            stack_path(b, path, sizeof path);
            free(n);
            return fail_at(b, line, col, path, "a mapping key must be a plain value, not a %s",
                           kind == BRONZE_YNODE_MAP ? "mapping" : "list");
        }
    }
    b->stack_anchor[b->depth] = NULL;
    if (anchor_name && !(b->stack_anchor[b->depth] = dup_anchor(anchor_name))) {
        free(n);
        return fail_oom(b);
    }
    b->stack[b->depth++] = n;
    return 0;
}

static int on_end(builder *b)
{
    bronze_ynode *n = b->stack[--b->depth];
    char *name = b->stack_anchor[b->depth];
    b->stack_anchor[b->depth] = NULL;
    /* registered only now, complete: an alias inside its own anchor (a
     * recursive structure) finds nothing and is refused */
    if (name && anchor_add(b, name, n)) {
        free(name);
        bronze_ynode_free(n);
        return fail_oom(b);
    }
    return attach(b, n);
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    const char *name = (const char *)ev->data.alias.anchor;
    const bronze_ynode *src = anchor_find(b, name);
    if (!src) {
        char path[512];
        stack_path(b, path, sizeof path);
        return fail_at(b, line, col, path, "unknown or recursive alias '*%s'", name);
    }
    bronze_ynode *n = node_copy(b, src);
    if (!n) {
        if (b->nodes > MAX_NODES)
            return fail_at(b, line, col, "(root)",
                           "document too large (aliases expand to more than %u nodes)", MAX_NODES);
        return fail_oom(b);
    }
    n->line = line;
    n->col = col;
    return attach(b, n);
}

/* libyaml's reader reports a byte offset, not a mark. */
static void offset_to_mark(const builder *b, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < b->buflen; i++) {
        if (b->buf[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

static int yaml_problem(builder *b, const yaml_parser_t *p)
{
    char path[512];
    stack_path(b, path, sizeof path);
    int line, col;
    if (p->error == YAML_READER_ERROR) {
        offset_to_mark(b, p->problem_offset, &line, &col);
        return fail_at(b, line, col, path, "%s", p->problem ? p->problem : "unreadable input");
    }
    if (p->error == YAML_MEMORY_ERROR)
        return fail_oom(b);
    line = (int)p->problem_mark.line + 1;
    col = (int)p->problem_mark.column + 1;
    /* a tab in the indentation: libyaml only says "found character that
     * cannot start any token"; say what it is and what to do */
    size_t at = p->problem_mark.index, ls = at < b->buflen ? at : b->buflen;
    while (ls > 0 && b->buf[ls - 1] != '\n')
        ls--;
    for (size_t i = ls; i < b->buflen && (b->buf[i] == ' ' || b->buf[i] == '\t'); i++)
        if (b->buf[i] == '\t')
            return fail_at(b, line, (int)(i - ls) + 1, path,
                           "a tab in the indentation: YAML indents with spaces only; replace "
                           "the tab with spaces");
    if (p->context)
        return fail_at(b, line, col, path, "%s (%s at line %d, column %d)",
                       p->problem ? p->problem : "syntax error", p->context,
                       (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    return fail_at(b, line, col, path, "%s", p->problem ? p->problem : "syntax error");
}

/* Returns 1 at the end of the stream, 0 to go on, -1 on error. */
static int on_event(builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (b->have_doc)
            return fail_at(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                           "(root)", "a config file holds one YAML document; found a second");
        b->have_doc = true;
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, BRONZE_YNODE_SEQ, ev->data.sequence_start.anchor);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, BRONZE_YNODE_MAP, ev->data.mapping_start.anchor);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    case YAML_STREAM_END_EVENT:
        return 1;
    default:
        return 0;
    }
}

/* ---- duplicate keys and merge keys ---- */

typedef struct keyref {
    const bronze_ynode *key;
    size_t idx;
} keyref;

static int keyref_cmp(const void *pa, const void *pb)
{
    const keyref *a = pa, *b = pb;
    size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
    int c = memcmp(a->key->text, b->key->text, n);
    if (c)
        return c;
    if (a->key->len != b->key->len)
        return a->key->len < b->key->len ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool is_merge_key(const bronze_ynode *k)
{
    return k->plain && k->len == 2 && !memcmp(k->text, "<<", 2);
}

static bool key_eq(const bronze_ynode *a, const bronze_ynode *b)
{
    return a->len == b->len && !memcmp(a->text, b->text, a->len);
}

/* Reports the duplicate whose second occurrence comes first in the file. */
static int check_dups(builder *b, const bronze_ynode *m, const char *path)
{
    size_t n = bronze_ymap_len(m);
    if (n < 2)
        return 0;
    keyref *refs = malloc(n * sizeof *refs);
    if (!refs)
        return fail_oom(b);
    for (size_t i = 0; i < n; i++) {
        refs[i].key = bronze_ymap_key(m, i);
        refs[i].idx = i;
    }
    qsort(refs, n, sizeof *refs, keyref_cmp);
    const keyref *first = NULL, *dup = NULL;
    for (size_t i = 1; i < n; i++) {
        if (is_merge_key(refs[i].key))
            continue; /* `<<` may repeat in 1.1 documents; each merges */
        if (key_eq(refs[i].key, refs[i - 1].key) && (!dup || refs[i].idx < dup->idx)) {
            dup = &refs[i];
            /* the first occurrence is the lowest index of this run */
            size_t j = i - 1;
            while (j > 0 && key_eq(refs[j - 1].key, refs[i].key))
                j--;
            first = &refs[j];
        }
    }
    int rc = 0;
    if (dup) {
        char kp[512];
        snprintf(kp, sizeof kp, "%s", path);
        path_append(kp, sizeof kp, dup->key->text, dup->key->len, false);
        rc = fail_at(b, dup->key->line, dup->key->col, kp, "duplicate key (first given at line %d)",
                     first->key->line);
    }
    free(refs);
    return rc;
}

static bool map_has_key(const bronze_ynode *m, const bronze_ynode *key)
{
    for (size_t i = 0; i < bronze_ymap_len(m); i++)
        if (!is_merge_key(bronze_ymap_key(m, i)) && key_eq(bronze_ymap_key(m, i), key))
            return true;
    return false;
}

/* Applies the `<<` keys of m: pairs of the merged mappings whose keys m does
 * not hold yet are moved in, in order; explicit keys win, as in PyYAML. */
static int apply_merges(builder *b, bronze_ynode *m, const char *path)
{
    for (size_t i = 0; i < m->nkids;) {
        bronze_ynode *k = m->kids[i], *v = m->kids[i + 1];
        if (!is_merge_key(k)) {
            i += 2;
            continue;
        }
        size_t nsrc = v->kind == BRONZE_YNODE_SEQ ? v->nkids : 1;
        for (size_t s = 0; s < nsrc; s++) {
            const bronze_ynode *src = v->kind == BRONZE_YNODE_SEQ ? v->kids[s] : v;
            if (src->kind != BRONZE_YNODE_MAP) {
                char kp[512];
                snprintf(kp, sizeof kp, "%s", path);
                path_append(kp, sizeof kp, "<<", 2, false);
                return fail_at(b, src->line, src->col, kp,
                               "a merge key takes a mapping or a list of mappings");
            }
        }
        /* collect the pairs to move, then splice them in place of the `<<` pair */
        bronze_ynode **moved = NULL;
        size_t nmoved = 0;
        for (size_t s = 0; s < nsrc; s++) {
            bronze_ynode *src = v->kind == BRONZE_YNODE_SEQ ? v->kids[s] : v;
            for (size_t j = 0; j + 1 < src->nkids; j += 2) {
                if (!src->kids[j] || map_has_key(m, src->kids[j]))
                    continue;
                bool seen = false;
                for (size_t q = 0; q < nmoved && !seen; q += 2)
                    seen = key_eq(moved[q], src->kids[j]);
                if (seen)
                    continue;
                bronze_ynode **grown = realloc(moved, (nmoved + 2) * sizeof *grown);
                if (!grown) {
                    free(moved);
                    return fail_oom(b);
                }
                moved = grown;
                moved[nmoved++] = src->kids[j];
                moved[nmoved++] = src->kids[j + 1];
                src->kids[j] = src->kids[j + 1] = NULL; /* now owned by moved */
            }
        }
        size_t need = m->nkids - 2 + nmoved;
        if (need > m->cap) {
            bronze_ynode **grown = realloc(m->kids, need * sizeof *grown);
            if (!grown) {
                for (size_t q = 0; q < nmoved; q++)
                    bronze_ynode_free(moved[q]);
                free(moved);
                return fail_oom(b);
            }
            m->kids = grown;
            m->cap = need;
        }
        memmove(m->kids + i + nmoved, m->kids + i + 2, (m->nkids - i - 2) * sizeof *m->kids);
        if (nmoved)
            memcpy(m->kids + i, moved, nmoved * sizeof *moved);
        m->nkids = need;
        free(moved);
        bronze_ynode_free(k);
        bronze_ynode_free(v); /* NULL kids left behind are skipped by free */
        i += nmoved;
    }
    return 0;
}

static int tidy(builder *b, bronze_ynode *n, const char *path)
{
    char kp[512];
    if (n->kind == BRONZE_YNODE_SEQ) {
        for (size_t i = 0; i < n->nkids; i++) {
            snprintf(kp, sizeof kp, "%s", path);
            char num[32];
            int len = snprintf(num, sizeof num, "%zu", i);
            path_append(kp, sizeof kp, num, (size_t)len, true);
            if (tidy(b, n->kids[i], kp))
                return -1;
        }
        return 0;
    }
    if (n->kind != BRONZE_YNODE_MAP)
        return 0;
    if (check_dups(b, n, path))
        return -1;
    for (size_t i = 0; i < bronze_ymap_len(n); i++) {
        const bronze_ynode *k = bronze_ymap_key(n, i);
        n->kids[2 * i + 1]->key = k;
        snprintf(kp, sizeof kp, "%s", path);
        path_append(kp, sizeof kp, k->text, k->len, false);
        if (tidy(b, n->kids[2 * i + 1], kp))
            return -1;
    }
    return apply_merges(b, n, path);
}

/* ---- loading ---- */

static int read_file(const char *path, char **out, size_t *outlen, bronze_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return bronze_err_set(err, BRONZE_E_CONFIG, "%s: cannot open config: %s", path,
                              strerror(errno));
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (len == cap) {
            if (cap >= MAX_FILE_BYTES) {
                free(buf);
                fclose(f);
                return bronze_err_set(err, BRONZE_E_CONFIG, "%s: config file larger than %u MiB",
                                      path, MAX_FILE_BYTES >> 20);
            }
            char *g = realloc(buf, cap * 2);
            if (!g) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = g;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    bool oom = !buf, bad = oom || ferror(f);
    int saved = errno;
    fclose(f);
    if (bad) {
        free(buf);
        return bronze_err_set(err, BRONZE_E_CONFIG, "%s: cannot read config: %s", path,
                              oom ? "out of memory" : strerror(saved));
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int bronze_yaml_load(bronze_ynode **root, const char *path, bronze_err *err)
{
    *root = NULL;
    char *buf = NULL;
    size_t len = 0;
    if (read_file(path, &buf, &len, err))
        return -1;

    builder b = {.file = path, .buf = buf, .buflen = len, .err = err};
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        free(buf);
        return fail_oom(&b);
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = yaml_problem(&b, &p);
            break;
        }
        int r = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 1)
            break;
    }
    yaml_parser_delete(&p);

    /* the stack holds unfinished collections only after an error */
    while (b.depth > 0) {
        b.depth--;
        bronze_ynode_free(b.stack[b.depth]);
        free(b.stack_anchor[b.depth]);
    }
    for (size_t i = 0; i < b.nanchors; i++)
        free(b.anchors[i].name);
    free(b.anchors);

    if (rc == 0 && b.root)
        rc = tidy(&b, b.root, "");
    free(buf);
    if (rc) {
        bronze_ynode_free(b.root);
        return -1;
    }
    /* an empty document ("---" alone) is no document */
    if (b.root && bronze_ynode_is_null(b.root)) {
        bronze_ynode_free(b.root);
        b.root = NULL;
    }
    *root = b.root;
    return 0;
}

/* ---- lookups and typing ---- */

const bronze_ynode *bronze_ymap_get(const bronze_ynode *m, const char *key,
                                    const bronze_ynode **keynode)
{
    if (keynode)
        *keynode = NULL;
    if (!m || m->kind != BRONZE_YNODE_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < bronze_ymap_len(m); i++) {
        const bronze_ynode *k = bronze_ymap_key(m, i);
        if (k->len == klen && !memcmp(k->text, key, klen)) {
            if (bronze_ymap_val(m, i)->poisoned)
                return NULL;
            if (keynode)
                *keynode = k;
            return bronze_ymap_val(m, i);
        }
    }
    return NULL;
}

static bool in_list(const char *s, size_t len, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == len && !memcmp(*list, s, len))
            return true;
    return false;
}

bool bronze_ynode_is_null(const bronze_ynode *n)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
    return n && n->kind == BRONZE_YNODE_SCALAR && n->plain &&
           (n->len == 0 || in_list(n->text, n->len, nulls));
}

/* Copies s without '_' separators into out; false when it does not fit. */
static bool strip_underscores(const char *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '_')
            continue;
        if (o + 1 >= cap)
            return false;
        out[o++] = s[i];
    }
    out[o] = 0;
    return o > 0;
}

static bool all_in(const char *s, size_t len, const char *set)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] != '_' && !strchr(set, s[i]))
            return false;
    return s[0] != '_';
}

/* [-+]? (digits '.' digits* | '.' digits+ | digits) ([eE][-+]?digits+)?, with
 * at least a dot or an exponent; '_' allowed between digits. */
static bool looks_float(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    bool dot = false, exp = false;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        i++;
    for (; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if (c == '_' && digits)
            continue;
        else if (c == '.' && !dot)
            dot = true;
        else
            break;
    }
    if (!digits)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t ed = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            ed++;
        if (!ed)
            return false;
        exp = true;
    }
    return i == len && (dot || exp);
}

bronze_yscalar_type bronze_yscalar_classify(const bronze_ynode *n, int64_t *iv, double *dv,
                                            bool *bv)
{
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
                                        "YES",  "on",   "On",   "ON",  NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                         "NO",    "off",   "Off",   "OFF", NULL};
    static const char *const infs[] = {".inf", ".Inf", ".INF", NULL};
    static const char *const nans[] = {".nan", ".NaN", ".NAN", NULL};
    if (!n || n->kind != BRONZE_YNODE_SCALAR || !n->plain)
        return BRONZE_YSCALAR_STR;
    const char *s = n->text;
    size_t len = n->len;
    if (bronze_ynode_is_null(n))
        return BRONZE_YSCALAR_NULL;
    if (in_list(s, len, trues) || in_list(s, len, falses)) {
        if (bv)
            *bv = in_list(s, len, trues);
        return BRONZE_YSCALAR_BOOL;
    }
    if (strlen(s) != len)
        return BRONZE_YSCALAR_STR; /* embedded NUL */

    const char *body = s;
    size_t blen = len;
    bool neg = false;
    if (blen && (*body == '-' || *body == '+')) {
        neg = *body == '-';
        body++;
        blen--;
    }
    /* integers: 0b…, 0x…, 0o… / 0… (octal, YAML 1.1), decimal */
    int base = 0;
    const char *digits = NULL;
    size_t dlen = 0;
    if (blen > 2 && body[0] == '0' && (body[1] == 'b') && all_in(body + 2, blen - 2, "01"))
        base = 2, digits = body + 2, dlen = blen - 2;
    else if (blen > 2 && body[0] == '0' && body[1] == 'x' &&
             all_in(body + 2, blen - 2, "0123456789abcdefABCDEF"))
        base = 16, digits = body + 2, dlen = blen - 2;
    else if (blen > 2 && body[0] == '0' && body[1] == 'o' && all_in(body + 2, blen - 2, "01234567"))
        base = 8, digits = body + 2, dlen = blen - 2;
    else if (blen > 1 && body[0] == '0' && all_in(body + 1, blen - 1, "01234567"))
        base = 8, digits = body + 1, dlen = blen - 1;
    else if (blen == 1 && body[0] == '0')
        base = 10, digits = body, dlen = 1;
    else if (blen >= 1 && body[0] >= '1' && body[0] <= '9' && all_in(body, blen, "0123456789"))
        base = 10, digits = body, dlen = blen;
    if (base) {
        char clean[128];
        if (strip_underscores(digits, dlen, clean, sizeof clean)) {
            errno = 0;
            char *end;
            unsigned long long u = strtoull(clean, &end, base);
            bool fits = errno == 0 && *end == 0 &&
                        (neg ? u <= (unsigned long long)INT64_MAX + 1 : u <= INT64_MAX);
            if (fits) {
                if (iv)
                    *iv = neg ? (u == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u)
                              : (int64_t)u;
                return BRONZE_YSCALAR_INT;
            }
            if (base == 10) {
                if (dv)
                    *dv = (neg ? -1.0 : 1.0) * strtod(clean, NULL);
                return BRONZE_YSCALAR_FLOAT;
            }
        }
        return BRONZE_YSCALAR_STR;
    }
    if (in_list(body, blen, infs)) {
        if (dv)
            *dv = neg ? -INFINITY : INFINITY;
        return BRONZE_YSCALAR_FLOAT;
    }
    if (in_list(s, len, nans)) {
        if (dv)
            *dv = NAN;
        return BRONZE_YSCALAR_FLOAT;
    }
    if (looks_float(s, len)) {
        char clean[128];
        if (!strip_underscores(s, len, clean, sizeof clean))
            return BRONZE_YSCALAR_STR;
        if (dv)
            *dv = strtod(clean, NULL);
        return BRONZE_YSCALAR_FLOAT;
    }
    return BRONZE_YSCALAR_STR;
}

json_t *bronze_ynode_to_json(const bronze_ynode *n)
{
    if (n->kind == BRONZE_YNODE_SCALAR) {
        int64_t i;
        double d;
        bool b;
        switch (bronze_yscalar_classify(n, &i, &d, &b)) {
        case BRONZE_YSCALAR_NULL:
            return json_null();
        case BRONZE_YSCALAR_BOOL:
            return json_boolean(b);
        case BRONZE_YSCALAR_INT:
            return json_integer((json_int_t)i);
        case BRONZE_YSCALAR_FLOAT:
            if (isfinite(d))
                return json_real(d);
            return json_stringn(n->text, n->len);
        default:
            return json_stringn(n->text, n->len);
        }
    }
    if (n->kind == BRONZE_YNODE_SEQ) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < n->nkids; i++) {
            json_t *v = bronze_ynode_to_json(n->kids[i]);
            if (!v || json_array_append_new(a, v)) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    json_t *o = json_object();
    for (size_t i = 0; o && i < bronze_ymap_len(n); i++) {
        const bronze_ynode *k = bronze_ymap_key(n, i);
        json_t *v = bronze_ynode_to_json(bronze_ymap_val(n, i));
        if (!v || json_object_setn_new(o, k->text, k->len, v)) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}
