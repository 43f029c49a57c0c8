/*
 * interrupt.h - a clean stop on SIGINT/SIGTERM.
 *
 * The first signal only sets a flag: every job checks it between batches and
 * fails as an ordinary runtime error (nothing committed, staging removed, the
 * cursor unchanged). A second signal gets the default action (immediate exit),
 * for a user who does not want to wait. Committed data is safe either way.
 */
#ifndef BRONZE_UTIL_INTERRUPT_H
#define BRONZE_UTIL_INTERRUPT_H

#include <stdbool.h>

void bronze_interrupt_install(void);
/* 0 when no signal arrived, else the signal number. */
int bronze_interrupted(void);

#endif
