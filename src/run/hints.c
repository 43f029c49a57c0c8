/* hints.c - see hints.h. */
#include "run/hints.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "source/source.h"

static const char *root_key(const bronze_config *cfg)
{
    return cfg->local_path ? "platform.bronze.local_path"
           : cfg->run.local_output_dir && strcmp(cfg->run.local_output_dir, "./output")
               ? "source.run.local_output_dir"
               : "platform.bronze.local_path / source.run.local_output_dir (default ./output)";
}

/* The closest folder at or above path that exists ("." for a relative path
 * none of whose parts exist). */
static void existing_parent(const char *path, char *out, size_t cap)
{
    snprintf(out, cap, "%s", path);
    for (;;) {
        struct stat st;
        if (stat(out, &st) == 0)
            return;
        char *slash = strrchr(out, '/');
        if (!slash) {
            snprintf(out, cap, ".");
            return;
        }
        if (slash == out) {
            out[1] = 0;
            return;
        }
        *slash = 0;
    }
}

/* When the folder that would hold path cannot be written: a message saying
 * which one (the working directory by name) and what to do. */
static int unwritable(const bronze_config *cfg, const char *key, const char *path, bronze_err *err)
{
    char parent[PATH_MAX];
    existing_parent(path, parent, sizeof parent);
    struct stat st;
    if (stat(parent, &st) || !S_ISDIR(st.st_mode) || access(parent, W_OK | X_OK) == 0)
        return 0;
    char cwd[PATH_MAX] = "";
    bool have_cwd = getcwd(cwd, sizeof cwd) != NULL;
    bool here = !strcmp(parent, ".") || (have_cwd && !strcmp(parent, cwd));
    if (here)
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: %s: cannot create %s: the working directory %s is not writable "
                              "by this user; run from a folder you can write to, or point %s at "
                              "one",
                              cfg->path, key, path, cwd[0] ? cwd : ".", key);
    return bronze_err_set(err, BRONZE_E_RUNTIME,
                          "%s: %s: cannot create %s: the folder %s is not writable by this user; "
                          "give a path you can write to",
                          cfg->path, key, path, parent);
}

int bronze_hint_local_root(const bronze_config *cfg, const char *root, bronze_err *err)
{
    struct stat st;
    const char *key = root_key(cfg);
    if (stat(root, &st) == 0 && !S_ISDIR(st.st_mode))
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: %s: %s is a file, not a folder; point the key at a folder "
                              "(created when missing) or move the file away",
                              cfg->path, key, root);
    return unwritable(cfg, key, root, err);
}

int bronze_hint_state_file(const bronze_config *cfg, const char *path, bronze_err *err)
{
    const char *key;
    if (!bronze_source_state_file(cfg, &key))
        key = "the cursor state (default .state/)";
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return bronze_err_set(err, BRONZE_E_RUNTIME,
                              "%s: %s: %s is a folder; give the path of a file (for example "
                              "%s/%s_%s_cursor.json)",
                              cfg->path, key, path, path, cfg->system, cfg->table);
    return unwritable(cfg, key, path, err);
}
