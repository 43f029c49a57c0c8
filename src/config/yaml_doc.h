/*
 * yaml_doc.h - a YAML file as a small node tree with source positions.
 *
 * libyaml gives a stream of events; the config loader wants to look keys up,
 * warn about the ones it does not know and point at the line and column of a
 * bad value. So the events are folded into a tree whose every node keeps its
 * 1-based start mark. The tree is plain data: aliases are expanded into copies
 * (with a node budget against alias bombs), `<<` merge keys are applied and
 * duplicate keys are rejected, so the config code never meets YAML's corners.
 *
 * Internal to src/config/. Every error message has the loader's form
 * "file:line:col: key.path: message".
 */
#ifndef BRONZE_CONFIG_YAML_DOC_H
#define BRONZE_CONFIG_YAML_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/err.h"

typedef enum { BRONZE_YNODE_SCALAR = 0, BRONZE_YNODE_SEQ, BRONZE_YNODE_MAP } bronze_ynode_kind;

typedef struct bronze_ynode {
    bronze_ynode_kind kind;
    int line, col; /* 1-based start mark */
    /* scalar */
    char *text; /* NUL-terminated; len excludes the NUL */
    size_t len;
    bool plain; /* unquoted, untagged-as-string: typed the YAML way */
    /* a mapping value the loader found bad: bronze_ymap_get() then skips its
     * pair, so a second read of the file finds the errors after it */
    bool poisoned;
    /* for a mapping's value: its key (messages point at the key, as in
     * "sales.yaml:14:5: source.run.max_file_size_mb: ..."); else NULL */
    const struct bronze_ynode *key;
    /* seq: kids[i]; map: kids[2i] is a key (always a scalar), kids[2i+1] its value */
    struct bronze_ynode **kids;
    size_t nkids, cap;
} bronze_ynode;

/* How a scalar reads (YAML 1.1 as PyYAML resolves it, so 1.0's custom
 * extractors see the same types they always did). */
typedef enum {
    BRONZE_YSCALAR_NULL = 0,
    BRONZE_YSCALAR_BOOL,
    BRONZE_YSCALAR_INT,
    BRONZE_YSCALAR_FLOAT,
    BRONZE_YSCALAR_STR
} bronze_yscalar_type;

/* Parses the file at path. *root is NULL when the file holds no document (or
 * only an empty one). Errors (I/O, YAML syntax, duplicate keys, bad aliases or
 * merge keys) are BRONZE_E_CONFIG. The tree is owned by the caller. */
int bronze_yaml_load(bronze_ynode **root, const char *path, bronze_err *err);

void bronze_ynode_free(bronze_ynode *n);

/* Number of pairs of a mapping. */
static inline size_t bronze_ymap_len(const bronze_ynode *m)
{
    return m->nkids / 2;
}
static inline const bronze_ynode *bronze_ymap_key(const bronze_ynode *m, size_t i)
{
    return m->kids[2 * i];
}
static inline const bronze_ynode *bronze_ymap_val(const bronze_ynode *m, size_t i)
{
    return m->kids[2 * i + 1];
}

/* The value for key in mapping m, or NULL; *keynode (optional) gets the key. */
const bronze_ynode *bronze_ymap_get(const bronze_ynode *m, const char *key,
                                    const bronze_ynode **keynode);

/* True for a scalar that reads as null (`~`, `null`, empty plain scalar). */
bool bronze_ynode_is_null(const bronze_ynode *n);

/* Classifies a scalar; fills *i / *d / *b for INT / FLOAT / BOOL when given.
 * An integer beyond int64 reads as FLOAT. */
bronze_yscalar_type bronze_yscalar_classify(const bronze_ynode *n, int64_t *i, double *d, bool *b);

/* The node as a jansson value, scalars typed the YAML way (new reference).
 * Non-finite floats (.inf, .nan) become strings. */
json_t *bronze_ynode_to_json(const bronze_ynode *n);

#endif
