/* libFuzzer target: the config loader (src/config/config.c over
 * yaml_doc.c): YAML text -> bronze_config, as --validate-only reads it.
 * Calls bronze_config_load on a memfd (/proc/self/fd/N) and, when it loads,
 * bronze_config_incremental; never bronze_config_resolve (the environment). */
#include "config/config.h"
#include "fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_log();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[32];
    int fd = fuzz_memfd(data, size, path, sizeof path);
    bronze_config *cfg = NULL;
    bronze_err err = {0};
    if (bronze_config_load(&cfg, path, &err) == 0) {
        if (!cfg || !cfg->as_json)
            abort();
        bronze_incremental inc;
        bronze_config_incremental(cfg, &inc);
        bronze_config_free(cfg);
    } else if (!err.msg[0]) {
        abort(); /* a refusal always says why */
    }
    close(fd);
    return 0;
}
