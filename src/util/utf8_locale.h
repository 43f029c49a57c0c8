/*
 * utf8_locale.h - makes the process's character type UTF-8.
 *
 * Every byte bronze-extract handles is UTF-8, but schedulers often run it
 * with an empty environment (the "C" locale). ODBC drivers convert text to
 * UTF-16 through the C library's multibyte functions, and some (psqlodbc)
 * re-read the locale from the environment themselves: under "C" any
 * non-ASCII value fails. So the environment is pointed at C.UTF-8 when it
 * does not name a UTF-8 character type, and LC_CTYPE is set. Numbers keep
 * the "C" format (LC_NUMERIC is untouched). The work is done once per
 * process, by the first call: main() makes it before any thread starts, so a
 * later call from a worker thread (a source used on its own calls it too)
 * touches nothing process-wide.
 */
#ifndef BRONZE_UTIL_UTF8_LOCALE_H
#define BRONZE_UTIL_UTF8_LOCALE_H

void bronze_utf8_locale(void);

#endif
