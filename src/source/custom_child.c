/*
 * custom_child.c - what the custom kinds share (custom.h): the spooled
 * source's delegating vtable members, and the child process that command and
 * Python extractors run in.
 *
 * The child runs without a shell (posix_spawnp) in a process group of its
 * own, so that a stop reaches every process it started (a shell script's
 * pipeline) and the terminal's Ctrl-C reaches only us: we decide, by polling
 * bronze_interrupted(), when the group gets SIGTERM. Both pipes are read with
 * poll(2) and a short timeout, which also measures silence. Memory: one line
 * of stdout (one record) and one of stderr at a time.
 */
#include "source/custom.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source/api_scan.h"
#include "util/interrupt.h"
#include "util/log.h"

extern char **environ;

#define MAX_LINE (256u << 20) /* one record's JSON text */
#define MAX_ERR_LINE 8192     /* a longer stderr line is logged in pieces */
#define KILL_GRACE_S 5.0

/* ---- the shared source ---- */

bronze_source *bronze_custom_new(const bronze_source_ctx *ctx, const char *fmt, ...)
{
    bronze_source *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = ctx->cfg;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->what, sizeof s->what, fmt, ap);
    va_end(ap);
    return s;
}

int bronze_custom_fail(bronze_source *s, bronze_err *err, const char *fmt, ...)
{
    char why[1600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return bronze_err_set(err, BRONZE_E_RUNTIME, "%s: custom extractor %s: %s",
                          s->cfg->path ? s->cfg->path : "config", s->what, why);
}

int bronze_custom_set_cursor(bronze_source *s, const char *cursor)
{
    char *c = NULL;
    if (cursor && !(c = strdup(cursor)))
        return -1;
    free(s->cursor);
    s->cursor = c;
    return 0;
}

int bronze_custom_finish(bronze_source *s, bronze_err *err)
{
    if (bronze_spool_open_reader(s->spool, &s->inner, err)) {
        if (s->inner)
            bronze_source_file.close(s->inner);
        s->inner = NULL;
        bronze_spool_name_record(s->spool, err);
        bronze_err_prefix(err, "%s: custom extractor %s: its records", s->cfg->path, s->what);
        return -1;
    }
    return 0;
}

const bronze_schema *bronze_custom_schema(bronze_source *s)
{
    return s->inner ? bronze_source_file.schema(s->inner) : NULL;
}

int bronze_custom_next(bronze_source *s, bronze_batch *b, bronze_err *err)
{
    if (!s->inner)
        return BRONZE_SRC_END;
    int r = bronze_spool_next(s->spool, s->inner, b, err);
    if (r < 0) {
        bronze_spool_name_record(s->spool, err);
        bronze_err_prefix(err, "%s: custom extractor %s: its records", s->cfg->path, s->what);
    }
    return r;
}

const char *bronze_custom_cursor(bronze_source *s)
{
    return s->cursor;
}

void bronze_custom_close(bronze_source *s)
{
    if (!s)
        return;
    if (s->inner)
        bronze_source_file.close(s->inner);
    bronze_spool_free(s->spool);
    free(s->cursor);
    free(s);
}

/* ---- checks ---- */

static bool is_exec_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

int bronze_custom_check_executable(bronze_source *s, const char *prog, bronze_err *err)
{
    if (strchr(prog, '/')) {
        if (is_exec_file(prog))
            return 0;
        return bronze_custom_fail(s, err, "%s is not an executable file (%s)", prog,
                                  access(prog, F_OK) ? strerror(errno) : "no execute permission");
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char cand[4096];
        if (n < sizeof cand - strlen(prog) - 2) {
            snprintf(cand, sizeof cand, "%.*s/%s", (int)n, n ? p : ".", prog);
            if (is_exec_file(cand))
                return 0;
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return bronze_custom_fail(s, err, "%s is not found in PATH", prog);
}

/* ---- the child ---- */

typedef struct line_buf {
    char *p;
    size_t len, cap;
} line_buf;

static int lb_add(line_buf *b, const char *d, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

typedef struct child {
    bronze_source *s;
    const bronze_source_ctx *ctx;
    bronze_err *err;
    pid_t pid;
    bool reaped;
    int status;
    line_buf out, errl;
    uint64_t lineno;
    char *reported;   /* the extractor's own {"_bronze_error": ...} */
    bronze_scan scan; /* scratch space of the line check */
    char last_err[512];
    bool failed;
} child;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A stderr line to the log, its [LEVEL] prefix (1.0's print("[ERROR] ..."))
 * deciding the level. */
static void log_err_line(child *c, char *line, size_t n)
{
    while (n && (line[n - 1] == '\r' || line[n - 1] == '\n'))
        line[--n] = 0;
    if (!n)
        return;
    bronze_log_level lv = BRONZE_LOG_INFO;
    static const struct {
        const char *tag;
        bronze_log_level lv;
    } tags[] = {{"[ERROR]", BRONZE_LOG_ERROR},
                {"[WARN]", BRONZE_LOG_WARN},
                {"[WARNING]", BRONZE_LOG_WARN},
                {"[DEBUG]", BRONZE_LOG_DEBUG},
                {"[INFO]", BRONZE_LOG_INFO}};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        size_t tl = strlen(tags[i].tag);
        if (!strncmp(line, tags[i].tag, tl)) {
            lv = tags[i].lv;
            line += tl;
            while (*line == ' ')
                line++;
            break;
        }
    }
    snprintf(c->last_err, sizeof c->last_err, "%s", line);
    bronze_log(lv, "%s", line);
}

static int child_fail(child *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int child_fail(child *c, const char *fmt, ...)
{
    char why[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    c->failed = true;
    return bronze_custom_fail(c->s, c->err, "%s", why);
}

int bronze_custom_is_object(bronze_scan *sc, const char *p, size_t n, size_t *nmem, char *why,
                            size_t cap)
{
    int sr = bronze_scan_object(sc, p, n, nmem);
    if (sr == BRONZE_SCAN_OOM)
        return -1;
    if (sr == BRONZE_SCAN_OK)
        return 1;
    /* ints as reals: jansson says why the text is no object */
    json_error_t je;
    json_t *o = json_loadb(p, n, JSON_DECODE_INT_AS_REAL, &je);
    bool obj = json_is_object(o);
    if (obj)
        *nmem = json_object_size(o);
    snprintf(why, cap, "%s", o ? "another JSON value" : je.text);
    json_decref(o);
    return obj;
}

/* One stdout line: a record, the cursor, or the extractor's own error. */
static int out_line(child *c, char *line, size_t n)
{
    c->lineno++;
    if (n && line[n - 1] == '\r')
        line[--n] = 0;
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i == n)
        return 0; /* blank lines are skipped, as in a JSON Lines file */
    const char *p = line + i;
    size_t pn = n - i, nmem = 0;
    char why[200];
    int is = bronze_custom_is_object(&c->scan, p, pn, &nmem, why, sizeof why);
    if (is < 0)
        return child_fail(c, "out of memory");
    if (!is)
        return child_fail(c, "stdout line %llu is not a JSON object (%s): %.80s%s",
                          (unsigned long long)c->lineno, why, p, pn > 80 ? "..." : "");
    bronze_span at;
    json_error_t je;
    json_t *o = NULL;
    bool control = nmem == 1 && (bronze_scan_member(p, pn, "_bronze_cursor", &at) ||
                                 bronze_scan_member(p, pn, "_bronze_error", &at));
    if (control && !(o = json_loadb(p, pn, JSON_DECODE_INT_AS_REAL, &je)))
        return child_fail(c, "stdout line %llu: %s", (unsigned long long)c->lineno, je.text);
    if (control) {
        json_t *v;
        if ((v = json_object_get(o, "_bronze_cursor"))) {
            int rc = 0;
            char num[64];
            if (json_is_string(v))
                rc = bronze_custom_set_cursor(c->s, json_string_value(v));
            else if (json_is_null(v))
                rc = bronze_custom_set_cursor(c->s, NULL);
            else if (json_is_number(v)) {
                double d = json_number_value(v);
                if (d == (double)(long long)d)
                    snprintf(num, sizeof num, "%lld", (long long)d);
                else
                    snprintf(num, sizeof num, "%.17g", d);
                rc = bronze_custom_set_cursor(c->s, num);
            } else {
                json_decref(o);
                return child_fail(c, "stdout line %llu: _bronze_cursor must be a string or null",
                                  (unsigned long long)c->lineno);
            }
            json_decref(o);
            return rc ? child_fail(c, "out of memory") : 0;
        }
        if ((v = json_object_get(o, "_bronze_error"))) {
            free(c->reported);
            c->reported = strdup(json_is_string(v) ? json_string_value(v) : "(no message)");
            json_decref(o);
            return c->reported ? 0 : child_fail(c, "out of memory");
        }
    }
    json_decref(o);
    if (!c->s->spool)
        return child_fail(c, "printed a record during a check");
    return bronze_spool_add(c->s->spool, p, pn, c->err) ? (c->failed = true, -1) : 0;
}

/* Splits buffered bytes into lines; keeps the unfinished tail. */
static int drain_lines(child *c, line_buf *b, bool is_out, bool eof)
{
    if (!b->len)
        return 0; /* nothing buffered (b->p may still be NULL) */
    size_t start = 0;
    for (;;) {
        char *nl = memchr(b->p + start, '\n', b->len - start);
        if (!nl)
            break;
        size_t n = (size_t)(nl - (b->p + start));
        b->p[start + n] = 0;
        if (is_out ? out_line(c, b->p + start, n) : (log_err_line(c, b->p + start, n), 0))
            return -1;
        start += n + 1;
    }
    if (start) {
        memmove(b->p, b->p + start, b->len - start);
        b->len -= start;
        b->p[b->len] = 0;
    }
    if (eof && b->len) {
        int rc = is_out ? out_line(c, b->p, b->len) : (log_err_line(c, b->p, b->len), 0);
        b->len = 0;
        return rc;
    }
    if (is_out && b->len > MAX_LINE)
        return child_fail(c, "stdout line %llu is longer than %u MiB",
                          (unsigned long long)c->lineno + 1, MAX_LINE >> 20);
    if (!is_out && b->len > MAX_ERR_LINE) {
        log_err_line(c, b->p, b->len);
        b->len = 0;
    }
    return 0;
}

/* SIGTERM to the group, SIGKILL after the grace time (or at once). */
static void stop_group(child *c, bool gentle)
{
    if (c->reaped)
        return;
    kill(-c->pid, gentle ? SIGTERM : SIGKILL);
    double until = mono() + (gentle ? KILL_GRACE_S : 0);
    for (;;) {
        pid_t r = waitpid(c->pid, &c->status, WNOHANG);
        if (r == c->pid || (r < 0 && errno != EINTR)) {
            c->reaped = true;
            break;
        }
        if (mono() >= until) {
            kill(-c->pid, SIGKILL);
            while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
                ;
            c->reaped = true;
            break;
        }
        poll(NULL, 0, 20);
    }
    kill(-c->pid, SIGKILL); /* whatever it left behind in its group */
}

static char *env_pair(const char *k, const char *v)
{
    size_t n = strlen(k) + strlen(v) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s=%s", k, v);
    return p;
}

static bool ours(const char *e)
{
    return !strncmp(e, "BRONZE_CONFIG_JSON=", 19) || !strncmp(e, "BRONZE_RUN_DATE=", 16) ||
           !strncmp(e, "BRONZE_LAST_CURSOR=", 19);
}

/* The inherited environment, minus stale values of our three, plus ours. */
static char **child_env(const bronze_source_ctx *ctx, char **mine)
{
    size_t n = 0;
    for (char **e = environ; e && *e; e++)
        n++;
    char **env = calloc(n + 4, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (char **e = environ; e && *e; e++)
        if (!ours(*e))
            env[k++] = *e;
    mine[0] = env_pair("BRONZE_CONFIG_JSON", ctx->cfg->as_json ? ctx->cfg->as_json : "{}");
    mine[1] = env_pair("BRONZE_RUN_DATE", ctx->run_date ? ctx->run_date : "");
    mine[2] = ctx->last_cursor ? env_pair("BRONZE_LAST_CURSOR", ctx->last_cursor) : NULL;
    if (!mine[0] || !mine[1] || (ctx->last_cursor && !mine[2])) {
        free(env);
        return NULL;
    }
    for (int i = 0; i < 3; i++)
        if (mine[i])
            env[k++] = mine[i];
    env[k] = NULL;
    return env;
}

static int spawn(child *c, char *const argv[], int out[2], int errp[2])
{
    char *mine[3] = {NULL, NULL, NULL};
    char **env = child_env(c->ctx, mine);
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int rc = -1;
    if (!env) {
        child_fail(c, "out of memory");
        goto out;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    /* no descriptor of ours (a lock, a socket, another job's pipe) outlives
     * us in a child that lingers */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
    sigset_t def, none;
    sigemptyset(&def);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGPIPE); /* main() ignores it: the child gets the default */
    sigaddset(&def, SIGCHLD);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
                                      POSIX_SPAWN_SETSIGMASK);
    int e = posix_spawnp(&c->pid, argv[0], &fa, &at, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (e) {
        child_fail(c, "cannot run %s: %s", argv[0], strerror(e));
        goto out;
    }
    rc = 0;
out:
    for (int i = 0; i < 3; i++)
        free(mine[i]);
    free(env);
    return rc;
}

/* Reads what is there; 1 at EOF, 0 otherwise, -1 on failure. */
static int pump(child *c, int fd, line_buf *b, bool is_out)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0) {
            if (lb_add(b, buf, (size_t)r))
                return child_fail(c, "out of memory");
            if (drain_lines(c, b, is_out, false))
                return -1;
            if ((size_t)r < sizeof buf)
                return 0;
            continue;
        }
        if (r == 0)
            return drain_lines(c, b, is_out, true) ? -1 : 1;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return child_fail(c, "reading its %s: %s", is_out ? "stdout" : "stderr", strerror(errno));
    }
}

int bronze_custom_run_child(bronze_source *s, const bronze_source_ctx *ctx, char *const argv[],
                            int silence_s, bronze_err *err)
{
    child c = {.s = s, .ctx = ctx, .err = err, .pid = -1};
    int out[2] = {-1, -1}, ep[2] = {-1, -1};
    int rc = -1;
    if (pipe2(out, O_CLOEXEC) || pipe2(ep, O_CLOEXEC)) {
        bronze_custom_fail(s, err, "pipe: %s", strerror(errno));
        goto done;
    }
    if (spawn(&c, argv, out, ep))
        goto done;
    close(out[1]);
    close(ep[1]);
    out[1] = ep[1] = -1;
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(ep[0], F_SETFL, O_NONBLOCK);
    BRONZE_DEBUG("custom extractor %s: started (pid %d)", s->what, (int)c.pid);
    double last = mono();
    bool out_eof = false, err_eof = false;
    while (!(out_eof && err_eof && c.reaped)) {
        if (bronze_interrupted()) {
            stop_group(&c, true);
            child_fail(&c, "stopped: bronze-extract was interrupted by signal %d",
                       bronze_interrupted());
            goto done;
        }
        if (silence_s > 0 && mono() - last >= silence_s) {
            stop_group(&c, false);
            child_fail(&c,
                       "silent for more than %d s (source.run.timeout_seconds): stopped after "
                       "%llu lines",
                       silence_s, (unsigned long long)c.lineno);
            goto done;
        }
        struct pollfd pf[2];
        int np = 0;
        if (!out_eof)
            pf[np++] = (struct pollfd){.fd = out[0], .events = POLLIN};
        if (!err_eof)
            pf[np++] = (struct pollfd){.fd = ep[0], .events = POLLIN};
        int pr = poll(np ? pf : NULL, (nfds_t)np, 100);
        if (pr < 0 && errno != EINTR) {
            child_fail(&c, "poll: %s", strerror(errno));
            stop_group(&c, false);
            goto done;
        }
        for (int i = 0; pr > 0 && i < np; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            last = mono();
            bool is_out = pf[i].fd == out[0];
            int r = pump(&c, pf[i].fd, is_out ? &c.out : &c.errl, is_out);
            if (r < 0) {
                stop_group(&c, false);
                goto done;
            }
            if (r == 1)
                *(is_out ? &out_eof : &err_eof) = true;
        }
        if (out_eof && err_eof && !c.reaped) {
            /* both pipes closed: a child that lives on without output
             * still counts as silent (polled above in 100 ms steps) */
            pid_t w = waitpid(c.pid, &c.status, WNOHANG);
            if (w == c.pid)
                c.reaped = true;
            else if (w < 0 && errno != EINTR) {
                child_fail(&c, "waitpid: %s", strerror(errno));
                goto done;
            }
        }
    }
    if (c.reported) {
        child_fail(&c, "%s", c.reported);
        goto done;
    }
    if (WIFSIGNALED(c.status)) {
        child_fail(&c, "killed by signal %d (%s)%s%s", WTERMSIG(c.status),
                   strsignal(WTERMSIG(c.status)), c.last_err[0] ? "; last stderr line: " : "",
                   c.last_err);
        goto done;
    }
    if (!WIFEXITED(c.status) || WEXITSTATUS(c.status) != 0) {
        child_fail(&c, "exited with status %d%s%s", WEXITSTATUS(c.status),
                   c.last_err[0] ? "; last stderr line: " : "", c.last_err);
        goto done;
    }
    BRONZE_DEBUG("custom extractor %s: exited 0 after %llu lines", s->what,
                 (unsigned long long)c.lineno);
    rc = 0;
done:
    if (c.pid > 0 && !c.reaped)
        stop_group(&c, false);
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (ep[i] >= 0)
            close(ep[i]);
    }
    free(c.out.p);
    free(c.errl.p);
    free(c.reported);
    bronze_scan_free(&c.scan);
    return rc;
}
