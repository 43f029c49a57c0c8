/* log.c - see log.h. One formatted line, one write(2), so threads never interleave. */
#include "util/log.h"

#include "util/utf8.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static bronze_log_level g_min = BRONZE_LOG_INFO;
static bronze_log_format g_fmt = BRONZE_LOGFMT_HUMAN;
static int g_tty;
static _Thread_local char t_job[160];
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_live_shown;                   /* a live line is on screen */
static int g_tag_simple;                   /* several jobs at once: simple lines name their job */
static _Thread_local const char *t_fields; /* JSON members for the next line */

void bronze_log_setup(bronze_log_level min_level, bronze_log_format fmt)
{
    g_min = min_level;
    g_fmt = fmt;
    g_tty = isatty(2);
}

int bronze_log_format_parse(const char *s, bronze_log_format *out)
{
    if (!strcmp(s, "human"))
        *out = BRONZE_LOGFMT_HUMAN;
    else if (!strcmp(s, "json"))
        *out = BRONZE_LOGFMT_JSON;
    else if (!strcmp(s, "simple"))
        *out = BRONZE_LOGFMT_SIMPLE;
    else
        return -1;
    return 0;
}

bronze_log_format bronze_log_current_format(void)
{
    return g_fmt;
}

void bronze_log_tag_jobs(int on)
{
    g_tag_simple = on;
}

void bronze_log_set_job(const char *job)
{
    snprintf(t_job, sizeof t_job, "%s", job ? job : "");
}

const char *bronze_log_job(void)
{
    return t_job;
}

static const char *level_name(bronze_log_level l)
{
    static const char *n[] = {"DEBUG", "INFO", "WARNING", "ERROR"};
    return n[l];
}

/* Appends s to out as a JSON string body (no quotes). Returns new length.
 * Bytes that are not UTF-8 (a file name from a Latin-1 disk) become U+FFFD,
 * so every line is valid JSON text. */
static size_t json_escape(char *out, size_t len, size_t cap, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n && len + 7 < cap;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            size_t ok = bronze_utf8_check(s + i, n - i);
            if (ok == 0) { /* one ill-formed byte: U+FFFD, then resync */
                len += (size_t)snprintf(out + len, cap - len, "\\ufffd");
                i++;
                continue;
            }
            /* copy the valid run up to the next ASCII byte or bad byte */
            size_t run = 0;
            while (run < ok && i + run < n && (unsigned char)s[i + run] >= 0x80)
                run++;
            if (len + run + 7 >= cap)
                break;
            memcpy(out + len, s + i, run);
            len += run;
            i += run;
            continue;
        }
        if (c == '"' || c == '\\') {
            out[len++] = '\\';
            out[len++] = (char)c;
        } else if (c == '\n') {
            out[len++] = '\\';
            out[len++] = 'n';
        } else if (c < 0x20) {
            len += (size_t)snprintf(out + len, cap - len, "\\u%04x", c);
        } else {
            out[len++] = (char)c;
        }
        i++;
    }
    return len;
}

/* One log line per message: a server's multi-line text (libpq's "...\n\tIs
 * the server running") has each line break and the indentation after it
 * folded into one space. */
static void one_line(char *msg)
{
    char *w = msg;
    bool folded = false;
    for (char *r = msg; *r;) {
        if (*r == '\n' || *r == '\r') {
            folded = true;
            while (*r == '\n' || *r == '\r' || *r == '\t' || *r == ' ')
                r++;
            if (w > msg && w[-1] != ' ' && *r)
                *w++ = ' ';
            continue;
        }
        *w++ = *r++;
    }
    while (folded && w > msg && w[-1] == ' ')
        w--;
    *w = 0;
}

void bronze_log_fields(bronze_log_level level, const char *fields, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    t_fields = fields;
    bronze_log(level, "%s", msg);
    t_fields = NULL;
}

void bronze_log(bronze_log_level level, const char *fmt, ...)
{
    if (level < g_min)
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    one_line(msg);

    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char ts[64];
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));

    char line[8192];
    size_t n = 0;
    switch (g_fmt) {
    case BRONZE_LOGFMT_SIMPLE: {
        /* with several jobs at once, a line that does not name its job
         * (the seed's "Starting extraction for s.t" does) gets it in front */
        bool tag = g_tag_simple && t_job[0] && !strstr(msg, t_job);
        n = (size_t)snprintf(line, sizeof line, "[%s] %s%s%s", level_name(level), tag ? t_job : "",
                             tag ? ": " : "", msg);
        break;
    }
    case BRONZE_LOGFMT_JSON:
        n = (size_t)snprintf(line, sizeof line, "{\"ts\":\"%s\",\"level\":\"%s\",\"job\":\"", ts,
                             level_name(level));
        n = json_escape(line, n, sizeof line - 16, t_job);
        n += (size_t)snprintf(line + n, sizeof line - n, "\",\"msg\":\"");
        n = json_escape(line, n, sizeof line - 512, msg);
        n += (size_t)snprintf(line + n, sizeof line - n, "\"%s%s%s}",
                              t_fields ? ",\"fields\":{" : "", t_fields ? t_fields : "",
                              t_fields ? "}" : "");
        break;
    default: {
        static const char *colour[] = {"\033[2m", "\033[32m", "\033[33m", "\033[31m"};
        const char *c0 = g_tty ? colour[level] : "", *c1 = g_tty ? "\033[0m" : "";
        n = (size_t)snprintf(line, sizeof line, "%s %s%-7s%s %s%s%s", ts, c0, level_name(level), c1,
                             t_job[0] ? t_job : "", t_job[0] ? ": " : "", msg);
        break;
    }
    }
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    line[n++] = '\n';
    pthread_mutex_lock(&g_mu);
    if (g_live_shown) {
        ssize_t c = write(2, "\r\033[K", 4);
        (void)c;
        g_live_shown = 0;
    }
    ssize_t w = write(2, line, n);
    (void)w;
    pthread_mutex_unlock(&g_mu);
}

int bronze_log_live(void)
{
    return g_tty && g_fmt == BRONZE_LOGFMT_HUMAN && g_min <= BRONZE_LOG_INFO;
}

void bronze_log_live_line(const char *fmt, ...)
{
    char line[512];
    memcpy(line, "\r\033[K", 4);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line + 4, sizeof line - 4, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = 4 + ((size_t)n < sizeof line - 4 ? (size_t)n : sizeof line - 5);
    pthread_mutex_lock(&g_mu);
    ssize_t w = write(2, line, len);
    (void)w;
    g_live_shown = 1;
    pthread_mutex_unlock(&g_mu);
}

void bronze_log_live_clear(void)
{
    pthread_mutex_lock(&g_mu);
    if (g_live_shown) {
        ssize_t w = write(2, "\r\033[K", 4);
        (void)w;
        g_live_shown = 0;
    }
    pthread_mutex_unlock(&g_mu);
}
