/*
 * lock.h - exclusive, non-blocking process locks on lock files (flock).
 *
 * A lock file is removed when its lock is released. Removing a lock file is
 * only safe because take() checks, after flock succeeds, that the path still
 * names the file it locked: a process that opened the file just before the
 * holder removed it sees a different (or no) inode and tries again.
 */
#ifndef BRONZE_UTIL_LOCK_H
#define BRONZE_UTIL_LOCK_H

#include <stdbool.h>

#include "util/err.h"

typedef struct bronze_lock {
    int fd; /* -1 when not held */
    char path[4096];
} bronze_lock;

#define BRONZE_LOCK_INIT                                                                           \
    {                                                                                              \
        -1,                                                                                        \
        {                                                                                          \
            0                                                                                      \
        }                                                                                          \
    }

/* Takes the lock at path (its folder must exist). Returns 0; 1 when another
 * process holds it (err set with `what` in the message); -1 on error. */
int bronze_lock_take(bronze_lock *l, const char *path, const char *what, bronze_err *err);
/* Removes the lock file and releases the lock; no-op when not held. */
void bronze_lock_release(bronze_lock *l);

#endif
