/*
 * hints.h - checks a job makes on its folders before it writes, so that a
 * wrong path says what is wrong and what to do instead of an errno text:
 * the local root is a file, cannot be created (an unwritable working
 * directory), the cursor state file is a folder.
 */
#ifndef BRONZE_RUN_HINTS_H
#define BRONZE_RUN_HINTS_H

#include "config/config.h"
#include "util/err.h"

/* The local output root (platform.bronze.local_path, else
 * source.run.local_output_dir): a folder, or creatable. -1 (runtime) with a
 * message naming the config and key. */
int bronze_hint_local_root(const bronze_config *cfg, const char *root, bronze_err *err);

/* The cursor state file: not a folder, and its folder creatable. */
int bronze_hint_state_file(const bronze_config *cfg, const char *path, bronze_err *err);

#endif
