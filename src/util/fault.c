/* fault.c - commit-step test hooks (see fault.h). */
#include "util/fault.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

int bronze_fault(const char *point, bronze_err *err)
{
    const char *f = getenv("BRONZE_FAULT");
    if (f && !strcmp(f, point))
        raise(SIGKILL);
    f = getenv("BRONZE_FAIL");
    if (f && !strcmp(f, point))
        return bronze_err_set(err, BRONZE_E_RUNTIME, "injected failure at commit step %s", point);
    return 0;
}
