/* metadata.c - renders and reads _metadata.json (see metadata.h). */
#include "run/metadata.h"

#include <stdlib.h>
#include <string.h>

#include "run/job.h"
#include "util/log.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* jansson setters that remember a failure (out of memory, a NULL value), so
 * a marker is either complete or not rendered at all. */
static void set(bool *bad, json_t *o, const char *k, json_t *v)
{
    if (!o || !v || json_object_set_new(o, k, v))
        *bad = true;
}

static void append(bool *bad, json_t *a, json_t *v)
{
    if (!a || !v || json_array_append_new(a, v))
        *bad = true;
}

/* b[k] = prev[pk], null when prev has no such key (a 1.0 marker). */
static void copy_key(bool *bad, json_t *b, const char *k, json_t *prev, const char *pk)
{
    json_t *v = json_object_get(prev, pk);
    set(bad, b, k, v ? json_incref(v) : json_null());
}

static json_t *file_entry(bool *bad, const bronze_part_file *f, const char *batch_id)
{
    json_t *o = json_object();
    set(bad, o, "name", json_string(f->name));
    set(bad, o, "format", json_string(f->format));
    set(bad, o, "rows", json_integer((json_int_t)f->rows));
    set(bad, o, "bytes", json_integer((json_int_t)f->bytes));
    set(bad, o, "sha256", json_string(f->sha256));
    set(bad, o, "batch_id", json_string(batch_id));
    if (f->shard >= 0)
        set(bad, o, "shard", json_integer(f->shard));
    return o;
}

static json_t *schema_json(bool *bad, const bronze_schema *s)
{
    json_t *sc = json_array();
    for (size_t i = 0; i < s->ncols; i++) {
        const bronze_field *f = &s->fields[i];
        char ty[48];
        bronze_field_type_text(f, ty, sizeof ty);
        json_t *c = json_object();
        set(bad, c, "name", json_string(f->name));
        if (f->source_name) /* renamed for the output (SPEC §7 "Clashes") */
            set(bad, c, "source_name", json_string(f->source_name));
        set(bad, c, "type", json_string(ty));
        set(bad, c, "nullable", json_boolean(f->nullable));
        append(bad, sc, c);
    }
    return sc;
}

static json_t *find_column(json_t *schema, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach(schema, i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && !strcmp(n, name))
            return c;
    }
    return NULL;
}

/* The partition's schema after an append: the committed columns in their
 * order, then this batch's new ones (nullable: older parts lack them). */
static json_t *union_schema(bool *bad, json_t *previous, json_t *mine)
{
    json_t *prev = json_object_get(previous, "schema");
    if (!json_is_array(prev))
        return json_incref(mine);
    json_t *u = json_deep_copy(prev);
    if (!u) {
        *bad = true;
        return NULL;
    }
    size_t i;
    json_t *c;
    json_array_foreach(u, i, c)
    {
        if (!find_column(mine, json_string_value(json_object_get(c, "name"))))
            set(bad, c, "nullable", json_true());
    }
    json_array_foreach(mine, i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        json_t *old = find_column(u, n);
        if (!old) {
            json_t *copy = json_deep_copy(c);
            set(bad, copy, "nullable", json_true());
            append(bad, u, copy);
        } else if (json_is_true(json_object_get(c, "nullable"))) {
            set(bad, old, "nullable", json_true());
        }
    }
    return u;
}

int bronze_metadata_schema_drift(json_t *previous, const bronze_schema *s, const char *cfg_path,
                                 bronze_err *err)
{
    json_t *prev = json_object_get(previous, "schema");
    if (!json_is_array(prev) || !s)
        return 0;
    bool bad = false;
    json_t *mine = schema_json(&bad, s);
    if (bad) {
        json_decref(mine);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
    }
    int rc = 0;
    size_t i;
    json_t *c;
    json_array_foreach(mine, i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        json_t *old = find_column(prev, n);
        const char *ot = json_string_value(json_object_get(old, "type"));
        const char *nt = json_string_value(json_object_get(c, "type"));
        if (!old) {
            BRONZE_WARN("%s: new column '%s' (%s) in this incremental batch; the partition's "
                        "older parts lack it (read them with union_by_name / mergeSchema)",
                        cfg_path, n, nt);
        } else if (ot && nt && strcmp(ot, nt)) {
            rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                                "%s: column '%s' is %s in this batch but %s in the partition's "
                                "committed parts; an incremental load cannot change a column's "
                                "type: run a full load (no cursor) to rewrite the partition, or "
                                "have the source give the column one type (a CAST in base_query, "
                                "the same JSON type from an API or extractor)",
                                cfg_path, n, nt, ot);
            break;
        }
    }
    if (rc == 0) {
        json_array_foreach(prev, i, c)
        {
            const char *n = json_string_value(json_object_get(c, "name"));
            if (n && !find_column(mine, n))
                BRONZE_WARN("%s: column '%s' of the partition's committed parts is missing from "
                            "this incremental batch; its rows read it as NULL",
                            cfg_path, n);
        }
    }
    json_decref(mine);
    return rc;
}

char *bronze_metadata_render(const bronze_batch_info *in)
{
    bool bad_ = false, *bad = &bad_;
    json_t *mine = in->schema_json ? json_incref(in->schema_json)
                   : in->schema    ? schema_json(bad, in->schema)
                                   : json_null();
    json_t *files = json_array();
    json_t *batches = NULL;
    uint64_t total = in->records;
    if (in->previous) {
        json_t *pf = json_object_get(in->previous, "files");
        size_t i;
        json_t *v;
        json_array_foreach(pf, i, v) if (json_array_append(files, v)) *bad = true;
        json_t *pt = json_object_get(in->previous, "total_records");
        if (json_is_integer(pt))
            total += (uint64_t)json_integer_value(pt);
        batches = json_array();
        json_t *pb = json_object_get(in->previous, "batches");
        if (json_is_array(pb)) {
            json_array_foreach(pb, i, v) if (json_array_append(batches, v)) *bad = true;
        } else {
            json_t *b = json_object();
            copy_key(bad, b, "batch_id", in->previous, "batch_id");
            copy_key(bad, b, "batch_timestamp", in->previous, "batch_timestamp");
            copy_key(bad, b, "records", in->previous, "total_records");
            copy_key(bad, b, "new_cursor", in->previous, "new_cursor");
            copy_key(bad, b, "schema", in->previous, "schema");
            append(bad, batches, b);
        }
        json_t *b = json_object();
        set(bad, b, "batch_id", json_string(in->batch_id));
        set(bad, b, "batch_timestamp", json_string(in->batch_timestamp));
        set(bad, b, "records", json_integer((json_int_t)in->records));
        set(bad, b, "new_cursor", str_or_null(in->new_cursor));
        set(bad, b, "schema", json_incref(mine));
        if (in->shards)
            set(bad, b, "shards", json_integer(in->shards));
        append(bad, batches, b);
    }
    for (size_t i = 0; i < in->nfiles; i++)
        append(bad, files, file_entry(bad, &in->files[i], in->batch_id));

    json_t *o = json_object();
    set(bad, o, "batch_timestamp", json_string(in->batch_timestamp));
    set(bad, o, "run_date", json_string(in->run_date));
    set(bad, o, "system", json_string(in->cfg->system));
    set(bad, o, "table", json_string(in->cfg->table));
    set(bad, o, "total_records", json_integer((json_int_t)total));
    set(bad, o, "num_files", json_integer((json_int_t)json_array_size(files)));
    set(bad, o, "partition_path", json_string(in->partition_path));
    json_t *ff = json_object();
    set(bad, ff, "csv", json_boolean(in->csv));
    set(bad, ff, "parquet", json_boolean(in->parquet));
    set(bad, o, "file_formats", ff);
    set(bad, o, "new_cursor", str_or_null(in->new_cursor));
    set(bad, o, "batch_id", json_string(in->batch_id));
    if (in->shards)
        set(bad, o, "shards", json_integer(in->shards));
    set(bad, o, "files", files);
    set(bad, o, "schema",
        json_is_array(mine) ? union_schema(bad, in->previous, mine) : json_incref(mine));
    if (batches)
        set(bad, o, "batches", batches);
    set(bad, o, "duration_seconds", json_real(in->duration_seconds));
    if (in->cfg->run.invalid_utf8 == BRONZE_UTF8_REPLACE || in->replaced_invalid_utf8) {
        /* like total_records, the partition's: an append adds to the marker's */
        json_t *pr = in->previous ? json_object_get(in->previous, "replaced_invalid_utf8") : NULL;
        uint64_t n = in->replaced_invalid_utf8 +
                     (json_is_integer(pr) ? (uint64_t)json_integer_value(pr) : 0);
        set(bad, o, "replaced_invalid_utf8", json_integer((json_int_t)n));
    }
    set(bad, o, "tool_version", json_string(BRONZE_VERSION));
    set(bad, o, "created_by", json_string(bronze_created_by()));
    char *text = bad_ ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(mine);
    json_decref(o);
    return text;
}

unsigned bronze_metadata_max_part(json_t *meta)
{
    unsigned max = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(meta, "files"), i, v)
    {
        const char *nm = json_string_value(json_object_get(v, "name"));
        unsigned n;
        if (nm && sscanf(nm, "part-%u.", &n) == 1 && n > max)
            max = n;
    }
    return max;
}

bool bronze_metadata_lists(json_t *meta, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(meta, "files"), i, v)
    {
        const char *nm = json_string_value(json_object_get(v, "name"));
        if (nm && !strcmp(nm, name))
            return true;
    }
    return false;
}

bool bronze_metadata_has_batch(json_t *meta, const char *id)
{
    const char *top = json_string_value(json_object_get(meta, "batch_id"));
    if (top && !strcmp(top, id))
        return true;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(meta, "batches"), i, v)
    {
        const char *b = json_string_value(json_object_get(v, "batch_id"));
        if (b && !strcmp(b, id))
            return true;
    }
    return false;
}
