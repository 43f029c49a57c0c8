/* libFuzzer target: the config reader of C extractor plugins
 * (src/source/custom_plugin.c: lookup and the four typed accessors of the
 * api table) through bronze_custom_config_probe (custom_config.h).
 *
 * Input: a first line of dotted paths separated by spaces ("source.x.0.y
 * platform"), then the config as JSON text (what config.c's as_json holds). */
#include "fuzz_util.h"
#include "source/custom_config.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_log();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    if (plen > 4096)
        return 0;
    char *paths = malloc(plen + 1);
    size_t jlen = nl ? size - plen - 1 : 0;
    char *json = malloc(jlen + 1);
    if (!paths || !json)
        abort();
    memcpy(paths, data, plen);
    paths[plen] = 0;
    memcpy(json, nl ? nl + 1 : data, jlen);
    json[jlen] = 0;
    char out[256];
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(paths, " ", &save); p && n < 8; p = strtok_r(NULL, " ", &save), n++)
        if (bronze_custom_config_probe(json, p, out, sizeof out) < 0)
            break;
    bronze_custom_config_probe(json, "", out, sizeof out);
    bronze_custom_config_probe(json, NULL, out, sizeof out);
    free(paths);
    free(json);
    return 0;
}
