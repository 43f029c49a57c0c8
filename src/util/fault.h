/*
 * fault.h - test hooks at named steps of a commit, so tests can prove the
 * guarantees of SPEC §6.4-6.6 at the exact boundary:
 *   BRONZE_FAULT=<point>  the process kills itself with SIGKILL there;
 *   BRONZE_FAIL=<point>   the step fails there as an I/O error would.
 * Points are listed in run/commit.c, plus "spool-write" (an API spool's
 * writer thread, source/spool.c). Unset (always, outside tests): no-ops.
 */
#ifndef BRONZE_UTIL_FAULT_H
#define BRONZE_UTIL_FAULT_H

#include "util/err.h"

/* Kills the process when BRONZE_FAULT names point; returns -1 with err set
 * when BRONZE_FAIL names it; else 0. */
int bronze_fault(const char *point, bronze_err *err);

#endif
