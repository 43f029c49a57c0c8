/*
 * main.c - the bronze-extract command line (SPEC §2).
 *
 * Parses flags, loads and validates every config, resolves their `*_env`
 * variables (not with --validate-only), runs the pre-flight checks, then hands
 * the configs to the runner. Exit codes: 0 ok, 1 a job failed, 2 usage/config.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/scaleout_args.h"
#include "cli/verify.h"
#include "config/config.h"
#include "run/partition.h"
#include "run/runner.h"
#include "source/source.h"
#include "storage/storage.h"
#include "util/interrupt.h"
#include "util/log.h"
#include "util/utf8_locale.h"

static void usage(FILE *f)
{
    fputs("Usage: bronze-extract --config PATH[,PATH...] [--date YYYY-MM-DD[THH:MM]]\n"
          "                      [--parallel-workers N] [--validate-only] [--dry-run]\n"
          "                      [-v|--verbose] [-q|--quiet] [--log-format human|json|simple]\n"
          "                      [--list-backends] [--version] [--help] [--shard I/K]\n"
          "       bronze-extract commit --config PATH --date D [--shards K]\n"
          "       bronze-extract verify [--config PATH | LOCATION] [--repair]\n"
          "\n"
          "Lands one source per YAML config into hive-partitioned Parquet/CSV with a\n"
          "_metadata.json per batch.\n"
          "\n"
          "  --config PATH[,PATH...]  config file(s); several run as independent jobs\n"
          "  --date DATE              logical run date (dt=), default today (UTC);\n"
          "                           YYYY-MM-DDTHH:MM also pins hour/minute partitions\n"
          "  --parallel-workers N     run up to N configs at once (default 1)\n"
          "  --validate-only          load and validate the configs, touch nothing else\n"
          "  --dry-run                validate, test source connections and output targets\n"
          "  -v, --verbose            debug logging      -q, --quiet   errors only\n"
          "  --log-format FMT         human (default), json or simple (env BRONZE_LOG_FORMAT)\n"
          "  --list-backends          print storage back ends and source kinds\n"
          "  --shard I/K              extract shard I of K (0-based; else $SLURM_ARRAY_TASK_ID\n"
          "                           and _COUNT, or $JOB_COMPLETION_INDEX with --shards K);\n"
          "                           `commit` then publishes the K shards as one batch\n"
          "  --version                print the version\n"
          "\n"
          "Exit codes: 0 all succeeded, 1 an extraction failed, 2 usage or config error.\n",
          f);
}

/* Splits "a.yaml, b.yaml" into owned strings. -1 on OOM (nothing leaks). */
static int split_configs(const char *arg, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    char *copy = strdup(arg);
    size_t cap = 8;
    char **v = calloc(cap, sizeof *v);
    if (!copy || !v)
        goto oom;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        if (!*tok)
            continue;
        if (*n == cap) {
            char **grown = realloc(v, cap * 2 * sizeof *v);
            if (!grown)
                goto oom;
            v = grown;
            cap *= 2;
        }
        if (!(v[*n] = strdup(tok)))
            goto oom;
        (*n)++;
    }
    free(copy);
    *out = v;
    return 0;
oom:
    for (size_t i = 0; v && i < *n; i++)
        free(v[i]);
    free(v);
    free(copy);
    *n = 0;
    return -1;
}

int main(int argc, char **argv)
{
    enum {
        OPT_DATE = 256,
        OPT_WORKERS,
        OPT_VALIDATE,
        OPT_DRY,
        OPT_LOGFMT,
        OPT_LIST,
        OPT_VERSION,
        OPT_SHARD,
        OPT_SHARDS
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"date", required_argument, NULL, OPT_DATE},
        {"parallel-workers", required_argument, NULL, OPT_WORKERS},
        {"validate-only", no_argument, NULL, OPT_VALIDATE},
        {"dry-run", no_argument, NULL, OPT_DRY},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"log-format", required_argument, NULL, OPT_LOGFMT},
        {"list-backends", no_argument, NULL, OPT_LIST},
        {"version", no_argument, NULL, OPT_VERSION},
        {"help", no_argument, NULL, 'h'},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"shards", required_argument, NULL, OPT_SHARDS},
        {NULL, 0, NULL, 0},
    };
    const char *config_arg = NULL, *date_arg = NULL, *logfmt_arg = getenv("BRONZE_LOG_FORMAT");
    bool validate_only = false, dry = false, list = false, version = false;
    int workers = 1;
    bronze_log_level level = BRONZE_LOG_INFO;
    int c;
    opterr = 0;
    bronze_utf8_locale(); /* UTF-8 character type whatever the caller's locale */
    /* A closed log pipe (`2>&1 | head -1`, a dying log shipper) must not end a
     * load: log writes then fail with EPIPE, which the logger drops, and the
     * exit code still says how the extraction went. */
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && !strcmp(argv[1], "verify"))
        return bronze_verify_main(argc - 1, argv + 1);
    const char *shard_arg = NULL, *shards_arg = NULL;
    bool commit = argc > 1 && !strcmp(argv[1], "commit"); /* SPEC §8 */
    if (commit) {
        argc--;
        argv++;
    }
    while ((c = getopt_long(argc, argv, "c:vqh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_arg = optarg;
            break;
        case OPT_DATE:
            date_arg = optarg;
            break;
        case OPT_WORKERS: {
            char *end;
            long w = strtol(optarg, &end, 10);
            if (*end || w < 1 || w > 1024) {
                fprintf(stderr,
                        "bronze-extract: --parallel-workers: '%s' is not a whole number "
                        "from 1 to 1024\n",
                        optarg);
                return 2;
            }
            workers = (int)w;
            break;
        }
        case OPT_VALIDATE:
            validate_only = true;
            break;
        case OPT_DRY:
            dry = true;
            break;
        case 'v':
            level = BRONZE_LOG_DEBUG;
            break;
        case 'q':
            level = BRONZE_LOG_ERROR;
            break;
        case OPT_LOGFMT:
            logfmt_arg = optarg;
            break;
        case OPT_LIST:
            list = true;
            break;
        case OPT_VERSION:
            version = true;
            break;
        case OPT_SHARD:
            shard_arg = optarg;
            break;
        case OPT_SHARDS:
            shards_arg = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            fprintf(stderr, "bronze-extract: unknown or incomplete option '%s'\n",
                    argv[optind - 1]);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bronze-extract: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    bronze_log_format fmt = BRONZE_LOGFMT_HUMAN;
    if (logfmt_arg && *logfmt_arg && bronze_log_format_parse(logfmt_arg, &fmt)) {
        fprintf(stderr, "bronze-extract: --log-format: '%s' is not one of human, json, simple\n",
                logfmt_arg);
        return 2;
    }
    bronze_log_setup(level, fmt);
    if (version) {
        printf("bronze-extract %s (build %s)\n", BRONZE_VERSION, BRONZE_BUILD);
        return 0;
    }
    if (list) {
        for (const bronze_storage_vt *const *b = bronze_storage_backends; *b; b++)
            printf("storage %s\n", (*b)->name);
        const bronze_source_kind *k;
        for (size_t i = 0; (k = bronze_source_kind_at(i)); i++)
            for (const char *const *nm = k->names; nm && *nm; nm++)
                printf("source %s\n", *nm);
        return 0;
    }
    if (!config_arg) {
        fprintf(stderr, "bronze-extract: --config is required\n");
        usage(stderr);
        return 2;
    }
    bronze_runner_opts ro = {.workers = workers};
    ro.job.dry_run = dry;
    char smsg[400];
    if (bronze_cli_scaleout(&ro.job, commit, shard_arg, shards_arg, smsg, sizeof smsg) ||
        (commit && !date_arg &&
         snprintf(smsg, sizeof smsg,
                  "commit: --date is required (the run date the shards "
                  "ran with)") > 0)) {
        fprintf(stderr, "bronze-extract: %s\n", smsg);
        return 2;
    }
    if (date_arg) {
        if (bronze_run_date_parse(date_arg, &ro.job.date)) {
            fprintf(stderr, "bronze-extract: --date: '%s' is not YYYY-MM-DD or YYYY-MM-DDTHH:MM\n",
                    date_arg);
            return 2;
        }
    } else {
        bronze_run_date_today(time(NULL), &ro.job.date);
    }

    char **paths = NULL;
    size_t n = 0;
    if (split_configs(config_arg, &paths, &n)) {
        fprintf(stderr, "bronze-extract: out of memory\n");
        return 2;
    }
    if (n == 0) {
        free(paths);
        fprintf(stderr, "bronze-extract: --config: no config path given\n");
        return 2;
    }
    bronze_config **cfgs = calloc(n, sizeof *cfgs);
    if (!cfgs) {
        for (size_t i = 0; i < n; i++)
            free(paths[i]);
        free(paths);
        fprintf(stderr, "bronze-extract: out of memory\n");
        return 2;
    }
    int rc = 0;
    bronze_err err = BRONZE_ERR_INIT;
    for (size_t i = 0; i < n; i++) {
        if (bronze_config_load(&cfgs[i], paths[i], &err)) {
            BRONZE_ERROR("%s", err.msg);
            rc = 2;
        }
    }
    if (rc == 0 && validate_only) {
        for (size_t i = 0; i < n; i++)
            BRONZE_INFO("%s: valid (source %s.%s)", paths[i], cfgs[i]->system, cfgs[i]->table);
        goto out;
    }
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (bronze_config_resolve(cfgs[i], &err)) {
            BRONZE_ERROR("%s", err.msg);
            rc = 2;
        }
    if (rc == 0 && bronze_runner_preflight(cfgs, n, &err)) {
        BRONZE_ERROR("%s", err.msg);
        rc = 2;
    }
    if (rc == 0) {
        bronze_interrupt_install();
        rc = bronze_runner_run(cfgs, n, &ro);
    }
out:
    for (size_t i = 0; i < n; i++) {
        bronze_config_free(cfgs[i]);
        free(paths[i]);
    }
    free(cfgs);
    free(paths);
    return rc;
}
