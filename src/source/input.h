/*
 * input.h - the byte input the text readers (file_csv.c, file_json.c) pull
 * from: one small struct of function pointers (read, rewind, close), as
 * Redis's rio, so a file, a pipe, a spool, a gzip or zstd stream or an iconv
 * conversion feed the readers alike. Layers stack: a decoder owns the input
 * below it and pulls from it through the same three calls.
 *
 *   fd        a file or pipe (read(2)); rewinds with lseek, so a pipe cannot.
 *   gzip      zlib inflate, concatenated members as one stream.
 *   zstd      libzstd streaming, every frame in turn.
 *   iconv     any encoding iconv knows -> UTF-8 (`source.file.encoding`).
 *   range     bytes [start, limit) of a shared descriptor by pread(2): the
 *             parallel CSV reader's workers (file_csv_par.h), one each.
 *
 * Every layer holds one fixed buffer (64 KiB or less): memory does not grow
 * with the input. Inputs that cannot be re-read (pipes, FIFOs, /dev/stdin,
 * process substitution) are copied once into a spool file with
 * bronze_input_spool() and read from there, so the file source can re-read
 * after a widening and an API source can page into one.
 *
 * Errors (BRONZE_E_RUNTIME) start with the input's name: "in.csv.gz: the
 * gzip stream is truncated", "w.csv: byte 0x81 at offset 17 is not valid
 * windows-1252".
 */
#ifndef BRONZE_SOURCE_INPUT_H
#define BRONZE_SOURCE_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/err.h"

typedef struct bronze_input bronze_input;

typedef struct bronze_input_vt {
    /* Up to cap bytes into buf. Returns the count (> 0), 0 at the end, -1 with err set. */
    ssize_t (*read)(bronze_input *in, void *buf, size_t cap, bronze_err *err);
    /* Back to the first byte. -1 with err set when the input cannot be re-read. */
    int (*rewind)(bronze_input *in, bronze_err *err);
    /* Frees the layer (and everything below it). */
    void (*close)(bronze_input *in);
} bronze_input_vt;

/* Every layer starts with this header. */
struct bronze_input {
    const bronze_input_vt *vt;
    char *name;          /* for messages (owned) */
    bronze_input *below; /* the layer this one decodes, owned; NULL for a source */
};

/* A file another thread is still appending to (an API source's spool, read
 * while its pages still arrive: issue #11). The writer publishes how many
 * bytes the file holds (after its own flush); a reader that has read them
 * all waits for more, and sees the end only once the writer has finished.
 * A writer that failed makes every waiting and later read fail. The writer
 * never waits for a reader.
 *
 *   bronze_live_publish()   writer: bytes [0, n) are in the file;
 *   bronze_live_finish()    writer: no more bytes (failed: readers get an error);
 *   bronze_live_finished()  whether finish() was called (and everything the
 *                           writer did before it is visible to the caller). */
typedef struct bronze_live bronze_live;
bronze_live *bronze_live_new(void);
void bronze_live_publish(bronze_live *lv, uint64_t n);
void bronze_live_finish(bronze_live *lv, bool failed);
bool bronze_live_finished(bronze_live *lv);
void bronze_live_free(bronze_live *lv);

typedef struct bronze_input_opts {
    bool decompress;      /* gzip / zstd by magic bytes (or a .gz / .zst name) */
    const char *encoding; /* iconv name of the text's encoding; NULL or UTF-8: none */
    /* the file is still being written: reads wait for bronze_live_publish
     * (it is never sniffed for gzip or zstd) */
    bronze_live *live;
} bronze_input_opts;

/* Opens path and stacks the decoders opts asks for; name is used in messages
 * (NULL: the path). *out is owned by the caller (bronze_input_close). */
int bronze_input_open_path(bronze_input **out, const char *path, const char *name,
                           const bronze_input_opts *opts, bronze_err *err);

/* The same over an open descriptor (a pipe: not rewindable). own_fd: close()
 * closes it. */
int bronze_input_open_fd(bronze_input **out, int fd, bool own_fd, const char *name,
                         const bronze_input_opts *opts, bronze_err *err);

/* Bytes [start, limit) of a regular file's descriptor, read with pread(2),
 * so several threads can each read their own range of one descriptor (the
 * parallel CSV reader, file_csv_par.c). fd stays the caller's and must
 * outlive the input. A layer of its own: decoders do not stack on it. */
int bronze_input_open_range(bronze_input **out, int fd, const char *name, uint64_t start,
                            uint64_t limit, bronze_err *err);

static inline ssize_t bronze_input_read(bronze_input *in, void *buf, size_t cap, bronze_err *err)
{
    return in->vt->read(in, buf, cap, err);
}

static inline int bronze_input_rewind(bronze_input *in, bronze_err *err)
{
    return in->vt->rewind(in, err);
}

void bronze_input_close(bronze_input *in);

/* Copies the rest of in into a new file under dir (mode 0600). *path_out
 * (malloc'd, the caller unlinks and frees it) names it; *bytes the size. */
int bronze_input_spool(bronze_input *in, const char *dir, char **path_out, uint64_t *bytes,
                       bronze_err *err);

/* Checks an encoding name (config time). Returns 0 when iconv converts it. */
int bronze_input_check_encoding(const char *encoding);

/* True for an encoding that needs no conversion (NULL, "utf-8", "utf8"). */
bool bronze_input_is_utf8(const char *encoding);
/* Text in memory from `encoding` to UTF-8: in[0..n) converted into *out
 * (replaced). -1 with err set (naming `name`) when iconv does not know the
 * encoding or a byte is not valid in it. */
int bronze_input_to_utf8(const char *encoding, const void *in, size_t n, bronze_buf *out,
                         const char *name, bronze_err *err);

#endif
