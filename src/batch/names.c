/* names.c - output column names: partition-key and case-insensitive clashes
 * renamed (see names.h). Schemas are small (a few hundred columns at most in
 * practice), so the clash checks are plain quadratic scans. */
#include "batch/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const path_keys[] = {"system", "table", "dt", "hour", "batch", "batch_id"};

static int fold(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch;
}

/* Equal ignoring ASCII case (bytes >= 0x80 compare as they are). */
static bool same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (fold((unsigned char)*a) != fold((unsigned char)*b))
            return false;
    return *a == *b;
}

bool bronze_name_is_path_key(const char *name)
{
    for (size_t k = 0; k < sizeof path_keys / sizeof *path_keys; k++)
        if (same_name(name, path_keys[k]))
            return true;
    return false;
}

/* Taken by an earlier column's output name or a later column's source name. */
static bool taken(const bronze_schema *out, const bronze_schema *src, size_t i, const char *name)
{
    for (size_t j = 0; j < src->ncols; j++)
        if (j != i && same_name(j < i ? out->fields[j].name : src->fields[j].name, name))
            return true;
    return false;
}

/* First free name of the form <base><sep><k>, k = first, first+1, ...
 * (k = 1 means <base> itself). Returns a malloc'd string or NULL. */
static char *free_name(const bronze_schema *out, const bronze_schema *src, size_t i,
                       const char *base, const char *sep, int first)
{
    size_t cap = strlen(base) + strlen(sep) + 24;
    char *nm = malloc(cap);
    if (!nm)
        return NULL;
    for (int k = first;; k++) {
        int w = k == 1 ? snprintf(nm, cap, "%s", base) : snprintf(nm, cap, "%s%s%d", base, sep, k);
        if (w < 0 || (size_t)w >= cap) {
            free(nm);
            return NULL;
        }
        if (!taken(out, src, i, nm))
            return nm;
    }
}

bronze_schema *bronze_schema_output_names(const bronze_schema *src, size_t *renamed)
{
    *renamed = 0;
    bronze_schema *out = bronze_schema_clone(src);
    if (!out)
        return NULL;
    for (size_t i = 0; i < src->ncols; i++) {
        const char *nm = src->fields[i].name;
        char *nn = NULL;
        if (bronze_name_is_path_key(nm)) {
            size_t cap = strlen(nm) + 5;
            char *base = malloc(cap);
            if (base) {
                snprintf(base, cap, "%s_src", nm);
                nn = free_name(out, src, i, base, "", 1); /* dt_src, dt_src2, ... */
                free(base);
            }
        } else {
            bool dup = false;
            for (size_t j = 0; j < i && !dup; j++)
                dup = same_name(out->fields[j].name, nm);
            if (!dup)
                continue;
            nn = free_name(out, src, i, nm, "_", 2); /* a_2, a_3, ... */
        }
        bronze_field *f = &out->fields[i];
        /* a name the source already changed keeps the source's own */
        char *sn = !nn || f->source_name ? NULL : strdup(nm);
        if (!nn || (!f->source_name && !sn)) {
            free(nn);
            bronze_schema_free(out);
            return NULL;
        }
        free(f->name);
        f->name = nn;
        if (sn)
            f->source_name = sn;
    }
    for (size_t i = 0; i < out->ncols; i++)
        *renamed += out->fields[i].source_name != NULL;
    return out;
}
