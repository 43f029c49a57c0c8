/* state.c - cursor state file read/write in 1.0's shape (see state.h). */
#include "run/state.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/value_text.h"
#include "source/source.h"
#include "util/fs.h"

void bronze_state_path(const bronze_config *cfg, char *out, size_t cap)
{
    const char *key;
    const char *file = bronze_source_state_file(cfg, &key);
    if (file)
        snprintf(out, cap, "%s", file);
    else
        snprintf(out, cap, ".state/%s_%s_cursor.json", cfg->system, cfg->table);
}

static char *text_of(json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        char b[32];
        snprintf(b, sizeof b, "%lld", (long long)json_integer_value(v));
        return strdup(b);
    }
    if (json_is_real(v)) {
        char b[64];
        bronze_fmt_double(json_real_value(v), b); /* the one double formatter */
        return strdup(b);
    }
    return NULL;
}

/* The file's owner must be this config's table; a 1.0 file (no owner) is
 * adopted. Two tables can map to one default path (system a_b + table c and
 * system a + table b_c both give .state/a_b_c_cursor.json): without this the
 * second would start from the first's cursor. */
static int check_owner(const char *path, const bronze_config *cfg, json_t *root, bronze_err *err)
{
    json_t *sys = json_object_get(root, "system"), *tab = json_object_get(root, "table");
    if (!sys && !tab)
        return 0;
    const char *fs = json_is_string(sys) ? json_string_value(sys) : "?";
    const char *ft = json_is_string(tab) ? json_string_value(tab) : "?";
    if (!strcmp(fs, cfg->system) && !strcmp(ft, cfg->table))
        return 0;
    const char *key;
    (void)bronze_source_state_file(cfg, &key);
    if (key)
        return bronze_err_set(err, BRONZE_E_CONFIG,
                              "state file %s holds the cursor of system=%s/table=%s, not of this "
                              "config's system=%s/table=%s; give this table its own file with %s",
                              path, fs, ft, cfg->system, cfg->table, key);
    return bronze_err_set(err, BRONZE_E_CONFIG,
                          "state file %s holds the cursor of system=%s/table=%s, not of this "
                          "config's system=%s/table=%s (both map to this path); rename one of "
                          "the two tables, or move the other's state file away",
                          path, fs, ft, cfg->system, cfg->table);
}

static int set_owner(bronze_state *st, const bronze_config *cfg, bronze_err *err)
{
    if (!(st->system = strdup(cfg->system)) || !(st->table = strdup(cfg->table)))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    return 0;
}

int bronze_state_parse(const char *name, const void *text, size_t len, const bronze_config *cfg,
                       bronze_state *st, bronze_err *err)
{
    memset(st, 0, sizeof *st);
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "state file %s is not a JSON object (line %d: %s); fix or remove it",
                              name, je.line, je.text);
    }
    if (check_owner(name, cfg, root, err) || set_owner(st, cfg, err)) {
        json_decref(root);
        bronze_state_free(st);
        return -1;
    }
    st->cursor = text_of(json_object_get(root, "cursor"));
    st->last_run = text_of(json_object_get(root, "last_run"));
    json_t *p = json_object_get(root, "pending");
    if (json_is_object(p)) {
        st->pending = true;
        st->pending_partition = text_of(json_object_get(p, "partition_path"));
        st->pending_batch_id = text_of(json_object_get(p, "batch_id"));
        st->pending_cursor = text_of(json_object_get(p, "new_cursor"));
    }
    json_decref(root);
    return 0;
}

int bronze_state_load(const char *path, const bronze_config *cfg, bronze_state *st, bool *found,
                      bronze_err *err)
{
    memset(st, 0, sizeof *st);
    bronze_buf b = BRONZE_BUF_INIT;
    bool have = false;
    int rc = bronze_read_file(path, &b, &have, err);
    if (rc == 0)
        rc = have ? bronze_state_parse(path, b.data, b.len, cfg, st, err) : set_owner(st, cfg, err);
    bronze_buf_free(&b);
    if (found)
        *found = have;
    return rc;
}

char *bronze_state_render(const bronze_state *st)
{
    json_t *root = json_object();
    json_object_set_new(root, "cursor", st->cursor ? json_string(st->cursor) : json_null());
    json_object_set_new(root, "last_run", st->last_run ? json_string(st->last_run) : json_null());
    if (st->system && st->table) {
        json_object_set_new(root, "system", json_string(st->system));
        json_object_set_new(root, "table", json_string(st->table));
    }
    if (st->pending) {
        json_t *p = json_object();
        json_object_set_new(p, "partition_path", json_string(st->pending_partition));
        json_object_set_new(p, "batch_id", json_string(st->pending_batch_id));
        json_object_set_new(p, "new_cursor",
                            st->pending_cursor ? json_string(st->pending_cursor) : json_null());
        json_object_set_new(root, "pending", p);
    }
    char *text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
    json_decref(root);
    return text;
}

int bronze_state_save(const char *path, const bronze_state *st, bronze_err *err)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        if (dir[0] && bronze_mkdirs(dir, err))
            return -1;
    }
    char *text = bronze_state_render(st);
    if (!text)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    int rc = bronze_write_file_atomic(path, text, strlen(text), err);
    free(text);
    if (rc)
        bronze_err_prefix(err, "saving cursor state");
    return rc;
}

void bronze_state_free(bronze_state *st)
{
    free(st->cursor);
    free(st->last_run);
    free(st->pending_partition);
    free(st->pending_batch_id);
    free(st->pending_cursor);
    free(st->system);
    free(st->table);
    memset(st, 0, sizeof *st);
}
