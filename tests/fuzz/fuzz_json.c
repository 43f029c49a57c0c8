/* libFuzzer target: the JSON reader (src/source/file_json.c) over a memory
 * input. Built twice: fuzz_json (format: json, one array of objects) and,
 * with -DFUZZ_JSONL, fuzz_jsonl (JSON Lines). Calls bronze_json_open /
 * bronze_json_next / bronze_json_record_pos. For format: json, a first line
 * "@a.b" sets data_path to "a.b" (the rest is the document). */
#include "fuzz_util.h"
#include "source/file_json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_log();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef FUZZ_JSONL
    const bool array_form = false;
    const char *data_path = NULL;
    char path[256];
#else
    const bool array_form = true;
    char path[256], *data_path = NULL;
    if (size && data[0] == '@') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t n = nl ? (size_t)(nl - data) - 1 : size - 1;
        if (n >= sizeof path)
            return 0;
        memcpy(path, data + 1, n);
        path[n] = 0;
        if (memchr(path, 0, n))
            return 0; /* a YAML string cannot hold a NUL either */
        data_path = path;
        size_t skip = nl ? (size_t)(nl - data) + 1 : size;
        data += skip, size -= skip;
    }
#endif
    (void)path;
    for (int lenient = 0; lenient < 2; lenient++) {
        bronze_json *r;
        bronze_err err = {0};
        if (bronze_json_open(&r, fuzz_mem_input(data, size), array_form, data_path, &err))
            continue;
        bronze_json_set_lenient_utf8(r, lenient);
        const bronze_json_field *f;
        size_t nf;
        char pos[64];
        while (bronze_json_next(r, &f, &nf, &err) == 1) {
            for (size_t i = 0; i < nf; i++)
                if (f[i].key[f[i].key_len] != 0 || f[i].p[f[i].len] != 0)
                    abort(); /* keys and values are NUL-terminated at their length */
            bronze_json_record_pos(r, pos, sizeof pos);
        }
        bronze_json_close(r);
    }
    return 0;
}
