/*
 * custom_command.c - the two custom kinds that run in a child process
 * (custom.h): `command: [prog, args...]` and 1.0's Python classes.
 *
 * A Python class runs through python/bronze_runner.py, which ships with the
 * binary and is found without configuration, relative to the executable
 * (/proc/self/exe): <bindir>/python, <bindir>/../share/bronze-foundry/python,
 * and the source tree's layout <bindir>/../../python (build/release/..). The
 * variable BRONZE_PYTHON_DIR overrides the search, BRONZE_PYTHON the
 * interpreter (default python3 in PATH).
 *
 * A command's silence is bounded by source.run.timeout_seconds; a Python
 * class's is not (a 1.0 class returns its records only when its upstream
 * query is done, however long that takes), but it is stopped by SIGINT/SIGTERM
 * like any child.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/custom.h"
#include "util/log.h"

static int oom(bronze_err *err)
{
    return bronze_err_set(err, BRONZE_E_RUNTIME, "out of memory");
}

/* ---- command ---- */

static int command_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    *out = NULL;
    const bronze_config *cfg = ctx->cfg;
    char shown[400] = "";
    size_t len = 0;
    for (size_t i = 0; i < cfg->custom.ncommand && len < sizeof shown - 4; i++) {
        int n =
            snprintf(shown + len, sizeof shown - len, "%s%s", i ? " " : "", cfg->custom.command[i]);
        if (n < 0)
            break;
        len += (size_t)n;
    }
    if (len >= sizeof shown - 4)
        strcpy(shown + sizeof shown - 5, "...");
    bronze_source *s = bronze_custom_new(ctx, "command [%s]", shown);
    if (!s)
        return oom(err);
    *out = s;
    if (!cfg->custom.command || !cfg->custom.command[0])
        return bronze_custom_fail(s, err, "source.custom_extractor.command is empty");
    if (ctx->dry_run) {
        if (bronze_custom_check_executable(s, cfg->custom.command[0], err))
            return -1;
        BRONZE_INFO("Dry run: custom extractor %s is executable (not run)", s->what);
        return 0;
    }
    if (bronze_spool_create(&s->spool, ctx, "command", err))
        return -1;
    int silence = cfg->run.timeout_seconds > 0 ? cfg->run.timeout_seconds : 0;
    if (bronze_custom_run_child(s, ctx, cfg->custom.command, silence, err))
        return -1;
    return bronze_custom_finish(s, err);
}

const bronze_source_vt bronze_source_command = {
    .name = "custom command",
    .open = command_open,
    .schema = bronze_custom_schema,
    .next = bronze_custom_next,
    .cursor = bronze_custom_cursor,
    .close = bronze_custom_close,
    .chunk_lines = true, /* spooled (spool.h) */
};

/* ---- Python ---- */

static bool has_runner(const char *dir)
{
    char p[PATH_MAX * 2];
    struct stat st;
    snprintf(p, sizeof p, "%s/bronze_runner.py", dir);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The folder that holds bronze_runner.py (see the top of this file). */
static int find_python_dir(char *out, size_t cap)
{
    const char *env = getenv("BRONZE_PYTHON_DIR");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return has_runner(out) ? 0 : -1;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = 0;
    static const char *const rel[] = {"python", "../share/bronze-foundry/python", "../../python"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
        char real[PATH_MAX];
        if (has_runner(cand) && realpath(cand, real)) {
            snprintf(out, cap, "%s", real);
            return 0;
        }
    }
    return -1;
}

static int python_open(bronze_source **out, const bronze_source_ctx *ctx, bronze_err *err)
{
    *out = NULL;
    const bronze_config *cfg = ctx->cfg;
    bronze_source *s = bronze_custom_new(ctx, "python %s.%s", cfg->custom.module,
                                         cfg->custom.class_name ? cfg->custom.class_name : "?");
    if (!s)
        return oom(err);
    *out = s;
    char dir[PATH_MAX], runner[PATH_MAX + 32];
    if (find_python_dir(dir, sizeof dir))
        return bronze_custom_fail(
            s, err,
            "the Python runner (bronze_runner.py) is not installed beside bronze-extract "
            "(looked in <bindir>/python, <bindir>/../share/bronze-foundry/python, "
            "<bindir>/../../python; BRONZE_PYTHON_DIR overrides)");
    snprintf(runner, sizeof runner, "%s/bronze_runner.py", dir);
    const char *py = getenv("BRONZE_PYTHON");
    if (!py || !*py)
        py = "python3";
    char *argv[] = {(char *)py,
                    runner,
                    "--module",
                    cfg->custom.module,
                    "--class",
                    cfg->custom.class_name,
                    ctx->dry_run ? "--check" : NULL,
                    NULL};
    if (ctx->dry_run) {
        /* imports the module and finds the class, runs nothing */
        int silence = cfg->run.timeout_seconds > 0 ? cfg->run.timeout_seconds : 0;
        if (bronze_custom_run_child(s, ctx, argv, silence, err))
            return -1;
        BRONZE_INFO("Dry run: custom extractor %s imports (not run)", s->what);
        return 0;
    }
    if (bronze_spool_create(&s->spool, ctx, "python", err))
        return -1;
    if (bronze_custom_run_child(s, ctx, argv, 0, err))
        return -1;
    return bronze_custom_finish(s, err);
}

const bronze_source_vt bronze_source_python = {
    .name = "custom python",
    .open = python_open,
    .schema = bronze_custom_schema,
    .next = bronze_custom_next,
    .cursor = bronze_custom_cursor,
    .close = bronze_custom_close,
    .chunk_lines = true, /* spooled (spool.h) */
};
