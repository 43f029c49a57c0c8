/* lock.c - flock-based process locks whose files do not outlive them (lock.h). */
#include "util/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int bronze_lock_take(bronze_lock *l, const char *path, const char *what, bronze_err *err)
{
    l->fd = -1;
    if (snprintf(l->path, sizeof l->path, "%s", path) >= (int)sizeof l->path)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "lock path too long: %.200s", path);
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "creating lock %s: %s", path,
                                  strerror(errno));
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK) {
                bronze_err_set(err, BRONZE_E_RUNTIME,
                               "%s is being written by another bronze-extract process (lock %s)",
                               what, path);
                return 1;
            }
            return bronze_err_set(err, BRONZE_E_RUNTIME, "locking %s: %s", path, strerror(e));
        }
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev) {
            l->fd = fd;
            return 0;
        }
        close(fd); /* the holder removed it as we opened it: take the new one */
    }
    return bronze_err_set(err, BRONZE_E_RUNTIME, "cannot take lock %s", path);
}

void bronze_lock_release(bronze_lock *l)
{
    if (l->fd < 0)
        return;
    unlink(l->path);
    close(l->fd);
    l->fd = -1;
}
