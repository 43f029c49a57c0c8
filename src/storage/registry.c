/*
 * registry.c - the storage back ends as one table (curl's handler-table
 * idea): the config picks an entry once, the job and commit only ever see the
 * vtable, and --list-backends prints the table.
 */
#include <stdlib.h>
#include <string.h>

#include "storage/storage.h"

const bronze_storage_vt *const bronze_storage_backends[] = {&bronze_storage_local,
                                                            &bronze_storage_s3, NULL};

static const char *local_root_of(const bronze_config *cfg)
{
    if (cfg->local_path)
        return cfg->local_path;
    return cfg->run.local_output_dir ? cfg->run.local_output_dir : "./output";
}

const bronze_storage_vt *bronze_storage_for(const bronze_config *cfg, bronze_storage_params *p)
{
    memset(p, 0, sizeof *p);
    p->local_root = local_root_of(cfg);
    p->timeout_seconds = cfg->run.timeout_seconds;
    p->max_retries = cfg->run.max_retries;
    p->workers = cfg->run.parallel_workers > 0 ? cfg->run.parallel_workers : 1;
    if (!(cfg->storage_backend == BRONZE_BACKEND_S3 && cfg->run.s3_enabled))
        return &bronze_storage_local;
    p->bucket = cfg->s3_bucket;
    p->prefix = cfg->s3_prefix;
    p->endpoint = cfg->env.s3_endpoint;
    p->region = cfg->env.s3_region;
    p->access_key = cfg->env.s3_access_key;
    p->secret_key = cfg->env.s3_secret_key;
    p->session_token = cfg->env.s3_session_token;
    p->addressing_style = cfg->s3.addressing_style;
    p->ca_bundle = cfg->s3.ca_bundle;
    return &bronze_storage_s3;
}

int bronze_obj_list_add(bronze_obj_list *l, const char *key, uint64_t size)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        bronze_obj *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *k = strdup(key);
    if (!k)
        return -1;
    l->v[l->n].key = k;
    l->v[l->n].size = size;
    l->n++;
    return 0;
}

void bronze_obj_list_free(bronze_obj_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].key);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int cmp_obj(const void *a, const void *b)
{
    return strcmp(((const bronze_obj *)a)->key, ((const bronze_obj *)b)->key);
}

void bronze_obj_list_sort(bronze_obj_list *l)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_obj);
}
