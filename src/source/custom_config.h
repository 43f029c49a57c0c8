/*
 * custom_config.h - internal: the config reader a C plugin gets
 * (custom_plugin.c: api->config_json/string/int/double/bool over the
 * config's JSON text), without loading a plugin, for
 * tests/fuzz/fuzz_custom.c.
 */
#ifndef BRONZE_SOURCE_CUSTOM_CONFIG_H
#define BRONZE_SOURCE_CUSTOM_CONFIG_H

#include <stddef.h>

/* Parses config_json as run_plugin() does and reads path through each of
 * the host's four typed accessors (the table a plugin is handed). out gets
 * "<string rc>:<value> <int rc>:<v> <double rc>:<v> <bool rc>:<v>" (cap
 * bytes). 0, or -1 when config_json is not JSON. */
int bronze_custom_config_probe(const char *config_json, const char *path, char *out, size_t cap);

#endif
