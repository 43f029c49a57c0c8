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

#include <stdatomic.h>
#include <stdbool.h>

void bronze_interrupt_install(void);
/* 0 when no signal arrived, else the signal number. */
int bronze_interrupted(void);
/* Sleeps `ms` milliseconds in slices of at most 50 ms, re-sleeping the
 * remainder after EINTR and looking at the flag between slices. Returns 0
 * after the whole sleep, -1 as soon as a signal was caught (also when one
 * arrived before the call). A nanosleep failure other than EINTR ends the
 * sleep early (returns 0) rather than spinning. */
int bronze_interrupt_sleep_ms(unsigned ms);
/* The same, also cut short (-1) once *stop is set (NULL: never), looked at
 * between the same slices: another thread's "give up". */
int bronze_interrupt_sleep_ms_or(unsigned ms, const atomic_bool *stop);

#endif
