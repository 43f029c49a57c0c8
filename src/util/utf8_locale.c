/* utf8_locale.c - see utf8_locale.h. The work runs once per process: the
 * environment and LC_CTYPE are process-wide, and setenv/setlocale race with
 * every thread that reads them, so a later call (a source opened on a worker
 * thread) must change nothing. */
#include "util/utf8_locale.h"

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void set_utf8(void)
{
    /* What the environment asks for, as a driver calling setlocale("") gets. */
    if (!setlocale(LC_CTYPE, "") || MB_CUR_MAX == 1) {
        const char *all = getenv("LC_ALL");
        setenv(all && *all ? "LC_ALL" : "LC_CTYPE", "C.UTF-8", 1);
    }
    setlocale(LC_CTYPE, "C.UTF-8");
}

void bronze_utf8_locale(void)
{
    pthread_once(&once, set_utf8);
}
