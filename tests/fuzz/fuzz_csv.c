/* libFuzzer target: the CSV record reader (src/source/file_csv.c) over a
 * memory input, lenient and strict UTF-8. Calls bronze_csv_open /
 * bronze_csv_next. The delimiter is ',' unless the input's length is a
 * multiple of 3 (';') or 5 (tab). */
#include "fuzz_util.h"
#include "source/file_csv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_log();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char delim = size % 3 == 0 ? ';' : size % 5 == 0 ? '\t' : ',';
    for (int lenient = 0; lenient < 2; lenient++) {
        bronze_csv *r;
        bronze_err err = {0};
        if (bronze_csv_open(&r, fuzz_mem_input(data, size), delim, &err))
            continue;
        bronze_csv_set_lenient_utf8(r, lenient);
        const bronze_csv_field *f;
        size_t nf;
        int rc;
        uint64_t last = 0;
        while ((rc = bronze_csv_next(r, &f, &nf, &err)) == 1) {
            for (size_t i = 0; i < nf; i++)
                if (f[i].p[f[i].len] != 0)
                    abort(); /* content is NUL-terminated at len */
            uint64_t line = bronze_csv_record_line(r);
            if (line < last)
                abort(); /* lines only go forward */
            last = line;
        }
        bronze_csv_close(r);
    }
    return 0;
}
