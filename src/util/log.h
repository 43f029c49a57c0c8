/*
 * log.h - structured logging to stderr.
 *
 * Three formats (SPEC §2): human (time + level, colour on a TTY), json (one
 * object per line: ts, level, job, msg) and simple ("[INFO] msg"). The job name
 * ("system.table") is per thread, so parallel jobs tag their own lines.
 * Thread-safe: a line is written with one write(2).
 */
#ifndef BRONZE_UTIL_LOG_H
#define BRONZE_UTIL_LOG_H

typedef enum {
    BRONZE_LOG_DEBUG = 0,
    BRONZE_LOG_INFO,
    BRONZE_LOG_WARN,
    BRONZE_LOG_ERROR
} bronze_log_level;
typedef enum {
    BRONZE_LOGFMT_HUMAN = 0,
    BRONZE_LOGFMT_JSON,
    BRONZE_LOGFMT_SIMPLE
} bronze_log_format;

void bronze_log_setup(bronze_log_level min_level, bronze_log_format fmt);
/* Parses "human|json|simple"; returns -1 when unknown. */
int bronze_log_format_parse(const char *s, bronze_log_format *out);
/* Tags this thread's lines with a job name (NULL clears). The string is copied. */
void bronze_log_set_job(const char *job);
/* This thread's job name ("" when none), for a helper thread to take on. */
const char *bronze_log_job(void);
void bronze_log(bronze_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like bronze_log(); in the json format the line also carries a member
 * "fields": an object of the given members ("\"rows\":10,\"files\":1", no
 * braces), so a log shipper reads figures without parsing msg (SPEC §2). */
void bronze_log_fields(bronze_log_level level, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* With on, simple-format lines of a job that do not name it get "job: " in
 * front (several jobs at once interleave their lines). */
void bronze_log_tag_jobs(int on);
/* The format set by bronze_log_setup() (a usage text is not printed into a
 * JSON log). */
bronze_log_format bronze_log_current_format(void);

/* True when progress is shown as a live line: stderr is a terminal, the
 * format is human and INFO is on. Otherwise jobs log a progress line now and
 * then. */
int bronze_log_live(void);
/* Redraws the live progress line (no newline); the next log line or
 * bronze_log_live_clear() erases it first. */
void bronze_log_live_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bronze_log_live_clear(void);

#define BRONZE_DEBUG(...) bronze_log(BRONZE_LOG_DEBUG, __VA_ARGS__)
#define BRONZE_INFO(...) bronze_log(BRONZE_LOG_INFO, __VA_ARGS__)
#define BRONZE_WARN(...) bronze_log(BRONZE_LOG_WARN, __VA_ARGS__)
#define BRONZE_ERROR(...) bronze_log(BRONZE_LOG_ERROR, __VA_ARGS__)

#endif
