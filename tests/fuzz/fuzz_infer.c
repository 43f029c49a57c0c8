/* libFuzzer target: the file source's type inference and decoding
 * (src/source/file.c over file_csv.c / file_json.c): votes over the sample,
 * resolve, decode into batches, widen and RESTART, to the end. Calls
 * bronze_source_file.open / next / schema / close on a memfd.
 *
 * The first byte picks the shape (the rest is the file):
 *   byte % 8:  0 csv ','   1 jsonl   2 json   3 csv, no header
 *              4 csv, null_values [NA, ""]   5 csv ';'   6 json, data_path "data"
 *              7 jsonl, invalid_utf8: replace
 *   batch rows: 1 + ((byte >> 3) & 7) * 3 */
#include "batch/batch.h"
#include "fuzz_util.h"
#include "source/source.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_log();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    data++, size--;
    static char *nulls[] = {"NA", ""};
    bronze_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.path = "fuzz.yaml";
    cfg.type = BRONZE_SRC_FILE;
    cfg.file.delimiter = ',';
    cfg.file.header = true;
    switch (sel % 8) {
    case 1:
    case 7:
        cfg.file.format = BRONZE_FILE_JSONL;
        cfg.run.invalid_utf8 = sel % 8 == 7 ? BRONZE_UTF8_REPLACE : BRONZE_UTF8_FAIL;
        break;
    case 2:
    case 6:
        cfg.file.format = BRONZE_FILE_JSON;
        cfg.file.data_path = sel % 8 == 6 ? "data" : NULL;
        break;
    case 3:
        cfg.file.header = false;
        break;
    case 4:
        cfg.file.null_values = nulls;
        cfg.file.n_null_values = 2;
        break;
    case 5:
        cfg.file.delimiter = ';';
        break;
    }
    size_t batch_rows = 1 + ((sel >> 3) & 7) * 3;

    char path[32];
    int fd = fuzz_memfd(data, size, path, sizeof path);
    cfg.file.path = path;
    bronze_source_ctx ctx = {
        .cfg = &cfg, .run_date = "2025-01-12", .tmp_dir = "/tmp", .batch_rows = batch_rows};
    bronze_source *s;
    bronze_err err = {0};
    if (bronze_source_file.open(&s, &ctx, &err)) {
        close(fd);
        return 0;
    }
    bronze_batch b;
    if (bronze_batch_init(&b, bronze_source_file.schema(s), batch_rows))
        abort();
    for (int restarts = 0;;) {
        int r = bronze_source_file.next(s, &b, &err);
        if (r < 0 || r == BRONZE_SRC_END)
            break;
        if (r == BRONZE_SRC_RESTART) {
            if (++restarts > 64)
                abort(); /* a widening is found in one pass: restarts are few */
            bronze_batch_free(&b);
            if (bronze_batch_init(&b, bronze_source_file.schema(s), batch_rows))
                abort();
            continue;
        }
        if (r != BRONZE_SRC_ROWS || b.nrows < 1 || b.nrows > b.cap)
            abort();
    }
    bronze_batch_free(&b);
    bronze_source_file.close(s);
    close(fd);
    return 0;
}
