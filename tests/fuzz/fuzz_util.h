/*
 * fuzz_util.h - shared by the libFuzzer targets of tests/fuzz/: a byte
 * input over memory (input.h's three calls), a file in memory (memfd) for
 * the readers that take a path, and a quiet log.
 *
 * The memory input hands its bytes out in chunks whose size depends on the
 * input's length (1, 7, 64, 4096 bytes or all at once), so record and
 * token boundaries fall across reads as they do from a pipe.
 */
#ifndef BRONZE_FUZZ_UTIL_H
#define BRONZE_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "source/input.h"
#include "util/log.h"

typedef struct fuzz_mem_in {
    bronze_input base;
    const uint8_t *data;
    size_t len, pos, chunk;
} fuzz_mem_in;

static ssize_t fuzz_mem_read(bronze_input *in, void *buf, size_t cap, bronze_err *err)
{
    (void)err;
    fuzz_mem_in *m = (fuzz_mem_in *)in;
    size_t n = m->len - m->pos;
    if (n > cap)
        n = cap;
    if (n > m->chunk)
        n = m->chunk;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static int fuzz_mem_rewind(bronze_input *in, bronze_err *err)
{
    (void)err;
    ((fuzz_mem_in *)in)->pos = 0;
    return 0;
}

static void fuzz_mem_close(bronze_input *in)
{
    free(in);
}

static const bronze_input_vt fuzz_mem_vt = {fuzz_mem_read, fuzz_mem_rewind, fuzz_mem_close};

/* An input over data[0..len) (not copied: it must outlive the input). */
static inline bronze_input *fuzz_mem_input(const uint8_t *data, size_t len)
{
    static const size_t chunks[] = {(size_t)-1, 1, 7, 64, 4096};
    fuzz_mem_in *m = calloc(1, sizeof *m);
    if (!m)
        abort();
    m->base.vt = &fuzz_mem_vt;
    m->base.name = strdup("fuzz.in");
    m->data = data;
    m->len = len;
    m->chunk = chunks[len % (sizeof chunks / sizeof chunks[0])];
    return &m->base;
}

/* A memfd holding data; *path gets "/proc/self/fd/N" (cap >= 32). */
static inline int fuzz_memfd(const uint8_t *data, size_t len, char *path, size_t cap)
{
    int fd = memfd_create("fuzz", 0);
    if (fd < 0)
        abort();
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    if (lseek(fd, 0, SEEK_SET) < 0)
        abort();
    snprintf(path, cap, "/proc/self/fd/%d", fd);
    return fd;
}

/* Only errors reach stderr (a warning per input would swamp the run). */
static inline void fuzz_quiet_log(void)
{
    bronze_log_setup(BRONZE_LOG_ERROR, BRONZE_LOGFMT_SIMPLE);
}

#endif
