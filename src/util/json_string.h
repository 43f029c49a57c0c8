/*
 * json_string.h - a JSON string literal written by hand, where no jansson
 * tree is built: the compact text of nested values (file_json.c) and a
 * plugin's typed rows (custom_plugin.c).
 */
#ifndef BRONZE_UTIL_JSON_STRING_H
#define BRONZE_UTIL_JSON_STRING_H

#include <stddef.h>

#include "util/buf.h"

/* Appends p[0..n) as a JSON string literal, quotes included, escaping only
 * what JSON requires: '"', '\\' and control characters (\b \f \n \r \t,
 * others \u00XX). Every other byte is copied as it is: UTF-8, or bytes that
 * are not, which the caller lets through for the reader to judge. 0, or -1
 * when out of memory. */
int bronze_json_string_put(bronze_buf *out, const void *p, size_t n);

#endif
