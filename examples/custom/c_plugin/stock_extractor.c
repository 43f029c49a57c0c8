/*
 * stock_extractor.c - an example C extractor plugin for bronze-extract
 * (include/bronze/extractor.h): class "stock" emits `source.stock.rows`
 * typed rows (default 3) whose ids continue after the previous run's cursor,
 * and returns the last id as the new cursor, so every run is incremental.
 *
 * Build (from the repository root):
 *   cc -shared -fPIC -O2 -Iinclude -o libstock_extractor.so \
 *      examples/custom/c_plugin/stock_extractor.c
 * Config: examples/custom/c_plugin/stock.yaml (module: ./libstock_extractor.so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bronze/extractor.h"

BRONZE_EXTRACTOR_DEFINE_ABI();

static const char *const SKUS[] = {"bolt-m6", "nut-m6", "washer-6", "screw-4x20"};

static int stock_run(const bronze_extractor_api *api, bronze_extractor_host *h)
{
    int64_t rows = 3;
    if (api->config_int(h, "source.stock.rows", &rows) == BRONZE_EXTRACTOR_WRONG_TYPE)
        return api->fail(h, "source.stock.rows must be an integer");
    const char *warehouse = "main";
    api->config_string(h, "source.stock.warehouse", &warehouse);
    const char *last = api->last_cursor(h);
    long long first = last ? atoll(last) + 1 : 1;
    for (long long id = first; id < first + rows; id++) {
        if (api->row_begin(h) || api->put_int(h, "item_id", id) ||
            api->put_text(h, "sku", SKUS[id % 4], strlen(SKUS[id % 4])) ||
            api->put_text(h, "warehouse", warehouse, strlen(warehouse)) ||
            api->put_double(h, "unit_price", 0.25 * (double)id) ||
            api->put_bool(h, "in_stock", id % 2 == 1) ||
            api->put_text(h, "counted_on", api->run_date(h), strlen(api->run_date(h))) ||
            (id % 3 == 0 ? api->put_null(h, "note") : api->put_text(h, "note", "ok", 2)) ||
            api->row_end(h))
            return -1; /* out of memory or interrupted: the host knows why */
    }
    char cursor[32];
    snprintf(cursor, sizeof cursor, "%lld", first + rows - 1);
    api->log(h, BRONZE_EXTRACTOR_LOG_INFO, "stock: emitted rows after the previous cursor");
    return api->set_cursor(h, rows > 0 ? cursor : last);
}

static const bronze_extractor STOCK = {
    .version = BRONZE_EXTRACTOR_ABI_VERSION,
    .name = "stock",
    .run = stock_run,
};

const bronze_extractor *bronze_extractor_entry(const char *class_name)
{
    return class_name && !strcmp(class_name, STOCK.name) ? &STOCK : NULL;
}
