/*
 * input.c - byte input layers: fd, gzip, zstd, iconv, and the spool (see
 * input.h).
 *
 * Detection happens once, at open: the fd layer can hand its first bytes
 * back (a four-byte push-back, so a pipe can be sniffed too), and those
 * decide gzip (1F 8B) or zstd (28 B5 2F FD). A name ending in .gz or .zst
 * whose bytes are not that format is an error, not silently read as text.
 * A decoder that reaches the end of its input in the middle of a member or
 * frame reports a truncated stream: a cut-off download must never commit as
 * a shorter table. Rewinding a decoder rewinds the layer below and resets
 * its own state, so a rewind costs no allocation.
 */
#include "source/input.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define IN_BUF (64 * 1024)

static int in_oom(const char *name, bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", name ? name : "input");
}

void bronze_input_close(bronze_input *in)
{
    if (!in)
        return;
    bronze_input *below = in->below;
    free(in->name);
    in->vt->close(in);
    bronze_input_close(below);
}

/* ---- live: a file still being written ---- */

struct bronze_live {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t published;
    bool finished, failed;
};

bronze_live *bronze_live_new(void)
{
    bronze_live *lv = calloc(1, sizeof *lv);
    if (!lv)
        return NULL;
    pthread_mutex_init(&lv->mu, NULL);
    pthread_cond_init(&lv->cv, NULL);
    return lv;
}

void bronze_live_publish(bronze_live *lv, uint64_t n)
{
    pthread_mutex_lock(&lv->mu);
    if (n > lv->published) {
        lv->published = n;
        pthread_cond_broadcast(&lv->cv);
    }
    pthread_mutex_unlock(&lv->mu);
}

void bronze_live_finish(bronze_live *lv, bool failed)
{
    pthread_mutex_lock(&lv->mu);
    lv->finished = true;
    lv->failed = failed;
    pthread_cond_broadcast(&lv->cv);
    pthread_mutex_unlock(&lv->mu);
}

bool bronze_live_finished(bronze_live *lv)
{
    pthread_mutex_lock(&lv->mu);
    bool f = lv->finished;
    pthread_mutex_unlock(&lv->mu);
    return f;
}

void bronze_live_free(bronze_live *lv)
{
    if (!lv)
        return;
    pthread_cond_destroy(&lv->cv);
    pthread_mutex_destroy(&lv->mu);
    free(lv);
}

/* How many published bytes lie past pos, waiting while there are none and
 * the writer is not done: 0 at the end, -1 when the writer failed. */
static int64_t live_wait(bronze_live *lv, uint64_t pos)
{
    pthread_mutex_lock(&lv->mu);
    while (lv->published <= pos && !lv->finished)
        pthread_cond_wait(&lv->cv, &lv->mu);
    int64_t n = lv->failed ? -1 : (int64_t)(lv->published > pos ? lv->published - pos : 0);
    pthread_mutex_unlock(&lv->mu);
    return n;
}

/* ---- fd ---- */

typedef struct fd_in {
    bronze_input base;
    int fd;
    bool own;
    unsigned char head[4]; /* bytes peeked at open, handed out first */
    size_t nhead, hpos;
    bronze_live *live; /* reads stop at what the writer published */
    uint64_t pos;      /* live: the file offset */
} fd_in;

static ssize_t fd_read(bronze_input *in, void *buf, size_t cap, bronze_err *err)
{
    fd_in *f = (fd_in *)in;
    if (f->hpos < f->nhead) {
        size_t n = f->nhead - f->hpos < cap ? f->nhead - f->hpos : cap;
        memcpy(buf, f->head + f->hpos, n);
        f->hpos += n;
        return (ssize_t)n;
    }
    if (f->live) {
        int64_t avail = live_wait(f->live, f->pos);
        if (avail < 0)
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: the records feeding it stopped with an error", in->name);
        if (!avail)
            return 0;
        if ((uint64_t)avail < cap)
            cap = (size_t)avail;
    }
    for (;;) {
        ssize_t n = read(f->fd, buf, cap);
        if (n >= 0) {
            f->pos += (uint64_t)n;
            return n;
        }
        if (errno != EINTR)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: read failed: %s", in->name,
                                  strerror(errno));
    }
}

static int fd_rewind(bronze_input *in, bronze_err *err)
{
    fd_in *f = (fd_in *)in;
    if (lseek(f->fd, 0, SEEK_SET) < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot be read twice (%s)", in->name,
                              errno == ESPIPE ? "a pipe" : strerror(errno));
    f->nhead = f->hpos = 0;
    f->pos = 0;
    return 0;
}

static void fd_close(bronze_input *in)
{
    fd_in *f = (fd_in *)in;
    if (f->own && f->fd >= 0)
        close(f->fd);
    free(f);
}

static const bronze_input_vt fd_vt = {fd_read, fd_rewind, fd_close};

/* Peeks up to 4 bytes (fewer at the end of a short input). */
static int fd_peek(fd_in *f, bronze_err *err)
{
    while (f->nhead < sizeof f->head) {
        ssize_t n = read(f->fd, f->head + f->nhead, sizeof f->head - f->nhead);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: read failed: %s", f->base.name,
                                  strerror(errno));
        if (n == 0)
            break;
        f->nhead += (size_t)n;
    }
    return 0;
}

/* ---- gzip ---- */

typedef struct gz_in {
    bronze_input base;
    z_stream z;
    bool below_eof;
    bool member_end; /* the last inflate ended a member (a clean stop point) */
    unsigned char ibuf[IN_BUF];
} gz_in;

static ssize_t gz_read(bronze_input *in, void *buf, size_t cap, bronze_err *err)
{
    gz_in *g = (gz_in *)in;
    if (cap > UINT32_MAX)
        cap = UINT32_MAX;
    g->z.next_out = buf;
    g->z.avail_out = (uInt)cap;
    for (;;) {
        if (g->z.avail_in == 0 && !g->below_eof) {
            ssize_t n = bronze_input_read(in->below, g->ibuf, sizeof g->ibuf, err);
            if (n < 0)
                return -1;
            g->below_eof = n == 0;
            g->z.next_in = g->ibuf;
            g->z.avail_in = (uInt)n;
        }
        if (g->z.avail_in == 0 && g->below_eof) {
            if (!g->member_end)
                return bronze_err_set(err, BRONZE_E_RUNTIME,
                                      "%s: the gzip stream is truncated (it ends inside a member)",
                                      in->name);
            return (ssize_t)(cap - g->z.avail_out);
        }
        if (g->member_end) { /* another member follows */
            if (inflateReset(&g->z) != Z_OK)
                return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: gzip reset failed", in->name);
            g->member_end = false;
        }
        int rc = inflate(&g->z, Z_NO_FLUSH);
        if (rc == Z_STREAM_END)
            g->member_end = true;
        else if (rc == Z_MEM_ERROR)
            return in_oom(in->name, err);
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: not valid gzip data (%s)", in->name,
                                  g->z.msg ? g->z.msg : "inflate failed");
        if (g->z.avail_out < cap)
            return (ssize_t)(cap - g->z.avail_out);
    }
}

static int gz_rewind(bronze_input *in, bronze_err *err)
{
    gz_in *g = (gz_in *)in;
    if (bronze_input_rewind(in->below, err))
        return -1;
    inflateReset(&g->z);
    g->z.avail_in = 0;
    g->below_eof = g->member_end = false;
    return 0;
}

static void gz_close(bronze_input *in)
{
    gz_in *g = (gz_in *)in;
    inflateEnd(&g->z);
    free(g);
}

static const bronze_input_vt gz_vt = {gz_read, gz_rewind, gz_close};

/* ---- zstd ---- */

typedef struct zs_in {
    bronze_input base;
    ZSTD_DStream *ds;
    ZSTD_inBuffer zin;
    bool below_eof;
    bool frame_end; /* the last call completed a frame */
    unsigned char ibuf[IN_BUF];
} zs_in;

static ssize_t zs_read(bronze_input *in, void *buf, size_t cap, bronze_err *err)
{
    zs_in *z = (zs_in *)in;
    ZSTD_outBuffer out = {buf, cap, 0};
    for (;;) {
        if (z->zin.pos == z->zin.size && !z->below_eof) {
            ssize_t n = bronze_input_read(in->below, z->ibuf, sizeof z->ibuf, err);
            if (n < 0)
                return -1;
            z->below_eof = n == 0;
            z->zin = (ZSTD_inBuffer){z->ibuf, (size_t)n, 0};
        }
        if (z->zin.pos == z->zin.size && z->below_eof && z->frame_end)
            return (ssize_t)out.pos;
        size_t rc = ZSTD_decompressStream(z->ds, &out, &z->zin);
        if (ZSTD_isError(rc))
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: not valid zstd data (%s)", in->name,
                                  ZSTD_getErrorName(rc));
        z->frame_end = rc == 0;
        if (out.pos > 0 && (out.pos == out.size || z->zin.pos == z->zin.size))
            return (ssize_t)out.pos;
        if (z->zin.pos == z->zin.size && z->below_eof && !z->frame_end && out.pos < out.size)
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: the zstd stream is truncated (it ends inside a frame)",
                                  in->name);
    }
}

static int zs_rewind(bronze_input *in, bronze_err *err)
{
    zs_in *z = (zs_in *)in;
    if (bronze_input_rewind(in->below, err))
        return -1;
    ZSTD_DCtx_reset(z->ds, ZSTD_reset_session_only);
    z->zin = (ZSTD_inBuffer){z->ibuf, 0, 0};
    z->below_eof = z->frame_end = false;
    return 0;
}

static void zs_close(bronze_input *in)
{
    zs_in *z = (zs_in *)in;
    ZSTD_freeDStream(z->ds);
    free(z);
}

static const bronze_input_vt zs_vt = {zs_read, zs_rewind, zs_close};

/* ---- iconv ---- */

typedef struct ic_in {
    bronze_input base;
    iconv_t cd;
    char *enc;
    bool below_eof;
    uint64_t consumed; /* input bytes converted so far (for messages) */
    size_t ipos, iend;
    char ibuf[IN_BUF];
} ic_in;

static ssize_t ic_read(bronze_input *in, void *buf, size_t cap, bronze_err *err)
{
    ic_in *c = (ic_in *)in;
    char *out = buf;
    size_t left = cap;
    for (;;) {
        if (c->ipos == c->iend || (!c->below_eof && c->iend - c->ipos < 8)) {
            /* keep the partial sequence, top up behind it */
            memmove(c->ibuf, c->ibuf + c->ipos, c->iend - c->ipos);
            c->iend -= c->ipos;
            c->ipos = 0;
            if (!c->below_eof) {
                ssize_t n =
                    bronze_input_read(in->below, c->ibuf + c->iend, sizeof c->ibuf - c->iend, err);
                if (n < 0)
                    return -1;
                c->below_eof = n == 0;
                c->iend += (size_t)n;
            }
            if (c->iend == 0)
                return (ssize_t)(cap - left);
        }
        char *ip = c->ibuf + c->ipos;
        size_t ileft = c->iend - c->ipos;
        size_t rc = iconv(c->cd, &ip, &ileft, &out, &left);
        size_t used = (size_t)(ip - (c->ibuf + c->ipos));
        c->ipos += used;
        c->consumed += used;
        if (rc != (size_t)-1) {
            if (left < cap)
                return (ssize_t)(cap - left);
            continue;
        }
        if (errno == E2BIG) {
            if (left == cap)
                return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: read buffer too small", in->name);
            return (ssize_t)(cap - left);
        }
        if (errno == EINVAL && !c->below_eof) { /* incomplete sequence: read more */
            if (left < cap)
                return (ssize_t)(cap - left);
            continue;
        }
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: byte 0x%02X at offset %llu is not valid %s%s (check "
                              "source.file.encoding)",
                              in->name, (unsigned char)c->ibuf[c->ipos],
                              (unsigned long long)c->consumed, c->enc,
                              errno == EINVAL ? " (the input ends inside a character)" : "");
    }
}

static int ic_rewind(bronze_input *in, bronze_err *err)
{
    ic_in *c = (ic_in *)in;
    if (bronze_input_rewind(in->below, err))
        return -1;
    iconv(c->cd, NULL, NULL, NULL, NULL);
    c->ipos = c->iend = 0;
    c->consumed = 0;
    c->below_eof = false;
    return 0;
}

static void ic_close(bronze_input *in)
{
    ic_in *c = (ic_in *)in;
    iconv_close(c->cd);
    free(c->enc);
    free(c);
}

static const bronze_input_vt ic_vt = {ic_read, ic_rewind, ic_close};

/* ---- stacking ---- */

static void plain_close(bronze_input *in)
{
    free(in);
}

static const bronze_input_vt plain_vt = {NULL, NULL, plain_close};

bool bronze_input_is_utf8(const char *e)
{
    return !e || !*e || !strcasecmp(e, "utf-8") || !strcasecmp(e, "utf8");
}

/* Spellings people write that glibc's iconv does not know. */
static const char *iconv_name(const char *e)
{
    if (!strcasecmp(e, "latin-1") || !strcasecmp(e, "latin1") || !strcasecmp(e, "iso-8859-1") ||
        !strcasecmp(e, "iso8859-1"))
        return "ISO-8859-1";
    if (!strcasecmp(e, "cp1252") || !strcasecmp(e, "windows-1252"))
        return "WINDOWS-1252";
    return e;
}

int bronze_input_to_utf8(const char *encoding, const void *in, size_t n, bronze_buf *out,
                         const char *name, bronze_err *err)
{
    iconv_t cd = iconv_open("UTF-8", iconv_name(encoding));
    if (cd == (iconv_t)-1)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: '%s' is not an encoding iconv knows",
                              name, encoding);
    out->len = 0;
    char *ip = (char *)in;
    size_t ileft = n;
    int rc = 0;
    while (ileft) {
        /* a byte of a single-byte encoding is at most 3 of UTF-8; 4 for any */
        if (bronze_buf_reserve(out, ileft * 4 + 16)) {
            rc = bronze_err_set(err, BRONZE_E_RUNTIME, "%s: out of memory", name);
            break;
        }
        char *op = (char *)out->data + out->len;
        size_t oleft = out->cap - out->len;
        size_t r = iconv(cd, &ip, &ileft, &op, &oleft);
        out->len = (size_t)(op - (char *)out->data);
        if (r == (size_t)-1 && errno != E2BIG) {
            rc = bronze_err_set(err, BRONZE_E_RUNTIME,
                                "%s: byte 0x%02X at offset %zu is not valid %s%s", name,
                                (unsigned char)*ip, n - ileft, encoding,
                                errno == EINVAL ? " (the text ends inside a character)" : "");
            break;
        }
    }
    iconv_close(cd);
    return rc;
}

int bronze_input_check_encoding(const char *encoding)
{
    if (bronze_input_is_utf8(encoding))
        return 0;
    iconv_t cd = iconv_open("UTF-8", iconv_name(encoding));
    if (cd == (iconv_t)-1)
        return -1;
    iconv_close(cd);
    return 0;
}

static int init_layer(bronze_input *l, const bronze_input_vt *vt, bronze_input *below,
                      const char *name, bronze_err *err)
{
    l->vt = vt;
    l->below = below;
    if (!(l->name = strdup(name)))
        return in_oom(name, err);
    return 0;
}

static bool name_ends(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && !strcasecmp(name + n - e, ext);
}

/* Stacks decoders on the fd layer *top (replaced by the new top). */
static int stack(bronze_input **top, fd_in *f, const bronze_input_opts *o, bronze_err *err)
{
    const char *name = f->base.name;
    if (o && o->decompress && !o->live) { /* a live file is never sniffed */
        if (fd_peek(f, err))
            return -1;
        bool gz = f->nhead >= 2 && f->head[0] == 0x1F && f->head[1] == 0x8B;
        bool zs = f->nhead >= 4 && !memcmp(f->head, "\x28\xB5\x2F\xFD", 4);
        if (!gz && !zs && f->nhead && (name_ends(name, ".gz") || name_ends(name, ".zst")))
            return bronze_err_set(err, BRONZE_E_RUNTIME,
                                  "%s: the name says %s but the file does not start like one", name,
                                  name_ends(name, ".gz") ? "gzip" : "zstd");
        if (gz) {
            gz_in *g = calloc(1, sizeof *g);
            if (!g)
                return in_oom(name, err);
            if (init_layer(&g->base, &gz_vt, *top, name, err)) {
                free(g);
                return -1;
            }
            *top = &g->base;
            if (inflateInit2(&g->z, 15 + 32) != Z_OK) {
                g->base.vt = &plain_vt; /* nothing to end */
                return in_oom(name, err);
            }
        } else if (zs) {
            zs_in *z = calloc(1, sizeof *z);
            if (!z)
                return in_oom(name, err);
            if (init_layer(&z->base, &zs_vt, *top, name, err)) {
                free(z);
                return -1;
            }
            *top = &z->base;
            if (!(z->ds = ZSTD_createDStream()))
                return in_oom(name, err);
            z->zin = (ZSTD_inBuffer){z->ibuf, 0, 0};
        }
    }
    if (o && !bronze_input_is_utf8(o->encoding)) {
        iconv_t cd = iconv_open("UTF-8", iconv_name(o->encoding));
        if (cd == (iconv_t)-1)
            return bronze_err_set(err, BRONZE_E_CONFIG,
                                  "%s: source.file.encoding: '%s' is not an encoding iconv knows",
                                  name, o->encoding);
        ic_in *c = calloc(1, sizeof *c);
        if (!c) {
            iconv_close(cd);
            return in_oom(name, err);
        }
        c->cd = cd;
        if (init_layer(&c->base, &ic_vt, *top, name, err)) {
            iconv_close(cd);
            free(c);
            return -1;
        }
        *top = &c->base;
        if (!(c->enc = strdup(o->encoding)))
            return in_oom(name, err);
    }
    return 0;
}

int bronze_input_open_fd(bronze_input **out, int fd, bool own_fd, const char *name,
                         const bronze_input_opts *opts, bronze_err *err)
{
    *out = NULL;
    fd_in *f = calloc(1, sizeof *f);
    if (!f) {
        if (own_fd)
            close(fd);
        return in_oom(name, err);
    }
    f->fd = fd;
    f->own = own_fd;
    f->live = opts ? opts->live : NULL;
    if (init_layer(&f->base, &fd_vt, NULL, name ? name : "input", err)) {
        fd_close(&f->base);
        return -1;
    }
    bronze_input *top = &f->base;
    if (stack(&top, f, opts, err)) {
        bronze_input_close(top);
        return -1;
    }
    *out = top;
    return 0;
}

int bronze_input_open_path(bronze_input **out, const char *path, const char *name,
                           const bronze_input_opts *opts, bronze_err *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot open: %s", name ? name : path,
                              strerror(errno));
    return bronze_input_open_fd(out, fd, true, name ? name : path, opts, err);
}

/* ---- range: [start, limit) of a descriptor others share (pread) ---- */

typedef struct range_in {
    bronze_input base;
    int fd;
    uint64_t start, pos, limit;
} range_in;

static ssize_t range_read(bronze_input *in, void *buf, size_t cap, bronze_err *err)
{
    range_in *r = (range_in *)in;
    if (r->pos >= r->limit)
        return 0;
    if (cap > r->limit - r->pos)
        cap = (size_t)(r->limit - r->pos);
    for (;;) {
        ssize_t n = pread(r->fd, buf, cap, (off_t)r->pos);
        if (n >= 0) {
            r->pos += (uint64_t)n;
            return n;
        }
        if (errno != EINTR)
            return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: read failed: %s", in->name,
                                  strerror(errno));
    }
}

static int range_rewind(bronze_input *in, bronze_err *err)
{
    (void)err;
    range_in *r = (range_in *)in;
    r->pos = r->start;
    return 0;
}

static const bronze_input_vt range_vt = {range_read, range_rewind, plain_close};

int bronze_input_open_range(bronze_input **out, int fd, const char *name, uint64_t start,
                            uint64_t limit, bronze_err *err)
{
    *out = NULL;
    range_in *r = calloc(1, sizeof *r);
    if (!r)
        return in_oom(name, err);
    r->fd = fd;
    r->start = r->pos = start;
    r->limit = limit < start ? start : limit;
    if (init_layer(&r->base, &range_vt, NULL, name ? name : "input", err)) {
        free(r);
        return -1;
    }
    *out = &r->base;
    return 0;
}

/* ---- spool ---- */

int bronze_input_spool(bronze_input *in, const char *dir, char **path_out, uint64_t *bytes,
                       bronze_err *err)
{
    *path_out = NULL;
    *bytes = 0;
    size_t n = strlen(dir) + 32;
    char *path = malloc(n);
    unsigned char *buf = malloc(IN_BUF);
    if (!path || !buf) {
        free(path);
        free(buf);
        return in_oom(in->name, err);
    }
    snprintf(path, n, "%s/spool-XXXXXX", dir);
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(path);
        free(buf);
        return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot create a spool file in %s: %s",
                              in->name, dir, strerror(e));
    }
    int rc = 0;
    for (;;) {
        ssize_t got = bronze_input_read(in, buf, IN_BUF, err);
        if (got <= 0) {
            rc = got < 0 ? -1 : 0;
            break;
        }
        for (ssize_t off = 0; off < got;) {
            ssize_t w = write(fd, buf + off, (size_t)(got - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot write the spool %s: %s",
                                    in->name, path, strerror(errno));
                break;
            }
            off += w;
        }
        if (rc)
            break;
        *bytes += (uint64_t)got;
    }
    free(buf);
    if (close(fd) && !rc)
        rc = bronze_err_set(err, BRONZE_E_RUNTIME, "%s: cannot write the spool %s: %s", in->name,
                            path, strerror(errno));
    if (rc) {
        unlink(path);
        free(path);
        return -1;
    }
    *path_out = path;
    return 0;
}
