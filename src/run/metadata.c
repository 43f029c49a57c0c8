/* metadata.c - renders and reads _metadata.json (see metadata.h). */
#include "run/metadata.h"

#include <stdlib.h>
#include <string.h>

#include "run/job.h"

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *file_entry(const bronze_part_file *f, const char *batch_id)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(f->name));
    json_object_set_new(o, "format", json_string(f->format));
    json_object_set_new(o, "rows", json_integer((json_int_t)f->rows));
    json_object_set_new(o, "bytes", json_integer((json_int_t)f->bytes));
    json_object_set_new(o, "sha256", json_string(f->sha256));
    json_object_set_new(o, "batch_id", json_string(batch_id));
    return o;
}

char *bronze_metadata_render(const bronze_batch_info *in)
{
    json_t *files = json_array();
    json_t *batches = NULL;
    uint64_t total = in->records;
    if (in->previous) {
        json_t *pf = json_object_get(in->previous, "files");
        size_t i;
        json_t *v;
        json_array_foreach(pf, i, v) json_array_append(files, v);
        json_t *pt = json_object_get(in->previous, "total_records");
        if (json_is_integer(pt))
            total += (uint64_t)json_integer_value(pt);
        batches = json_array();
        json_t *pb = json_object_get(in->previous, "batches");
        if (json_is_array(pb)) {
            json_array_foreach(pb, i, v) json_array_append(batches, v);
        } else {
            json_t *b = json_object();
            json_object_set(b, "batch_id", json_object_get(in->previous, "batch_id"));
            json_object_set(b, "batch_timestamp", json_object_get(in->previous, "batch_timestamp"));
            json_object_set(b, "records", json_object_get(in->previous, "total_records"));
            json_object_set(b, "new_cursor", json_object_get(in->previous, "new_cursor"));
            json_array_append_new(batches, b);
        }
        json_t *b = json_object();
        json_object_set_new(b, "batch_id", json_string(in->batch_id));
        json_object_set_new(b, "batch_timestamp", json_string(in->batch_timestamp));
        json_object_set_new(b, "records", json_integer((json_int_t)in->records));
        json_object_set_new(b, "new_cursor", str_or_null(in->new_cursor));
        json_array_append_new(batches, b);
    }
    for (size_t i = 0; i < in->nfiles; i++)
        json_array_append_new(files, file_entry(&in->files[i], in->batch_id));

    json_t *o = json_object();
    json_object_set_new(o, "batch_timestamp", json_string(in->batch_timestamp));
    json_object_set_new(o, "run_date", json_string(in->run_date));
    json_object_set_new(o, "system", json_string(in->cfg->system));
    json_object_set_new(o, "table", json_string(in->cfg->table));
    json_object_set_new(o, "total_records", json_integer((json_int_t)total));
    json_object_set_new(o, "num_files", json_integer((json_int_t)json_array_size(files)));
    json_object_set_new(o, "partition_path", json_string(in->partition_path));
    json_t *ff = json_object();
    json_object_set_new(ff, "csv", json_boolean(in->csv));
    json_object_set_new(ff, "parquet", json_boolean(in->parquet));
    json_object_set_new(o, "file_formats", ff);
    json_object_set_new(o, "new_cursor", str_or_null(in->new_cursor));
    json_object_set_new(o, "batch_id", json_string(in->batch_id));
    json_object_set_new(o, "files", files);
    if (in->schema) {
        json_t *sc = json_array();
        for (size_t i = 0; i < in->schema->ncols; i++) {
            const bronze_field *f = &in->schema->fields[i];
            char ty[48];
            bronze_field_type_text(f, ty, sizeof ty);
            json_t *c = json_object();
            json_object_set_new(c, "name", json_string(f->name));
            if (f->source_name) /* renamed for the output (SPEC §7 "Clashes") */
                json_object_set_new(c, "source_name", json_string(f->source_name));
            json_object_set_new(c, "type", json_string(ty));
            json_object_set_new(c, "nullable", json_boolean(f->nullable));
            json_array_append_new(sc, c);
        }
        json_object_set_new(o, "schema", sc);
    } else {
        json_object_set_new(o, "schema", json_null());
    }
    if (batches)
        json_object_set_new(o, "batches", batches);
    json_object_set_new(o, "duration_seconds", json_real(in->duration_seconds));
    json_object_set_new(o, "tool_version", json_string(BRONZE_VERSION));
    json_object_set_new(o, "created_by", json_string(bronze_created_by()));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
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
