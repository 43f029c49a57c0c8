/* utf8_locale.c - see utf8_locale.h. */
#include "util/utf8_locale.h"

#include <locale.h>
#include <stdlib.h>

void bronze_utf8_locale(void)
{
    /* What the environment asks for, as a driver calling setlocale("") gets. */
    if (!setlocale(LC_CTYPE, "") || MB_CUR_MAX == 1) {
        const char *all = getenv("LC_ALL");
        setenv(all && *all ? "LC_ALL" : "LC_CTYPE", "C.UTF-8", 1);
    }
    setlocale(LC_CTYPE, "C.UTF-8");
}
