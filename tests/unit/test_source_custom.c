/* Unit tests for the source table (src/source/registry.c) and the custom
 * kinds (src/source/custom*.c): kinds added at run time are asked first, a
 * custom config picks command / plugin / python, the state questions the job
 * asks, and a command's JSON Lines read back as typed batches with its cursor
 * (the end-to-end cases are in tests/integration/custom.test.mjs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/batch.h"
#include "source/custom.h"
#include "source/source.h"

static int fake_next(bronze_source *s, bronze_batch *b, bronze_err *err)
{
    (void)s;
    (void)b;
    (void)err;
    return BRONZE_SRC_END;
}

static const bronze_source_vt FAKE = {.name = "fake", .next = fake_next};

static int claim_api(const bronze_config *cfg, const bronze_source_vt **vt, bronze_err *err)
{
    (void)err;
    if (cfg->type != BRONZE_SRC_API)
        return 0;
    *vt = &FAKE;
    return 1;
}

static const char *const FAKE_NAMES[] = {"api fake", NULL};
static const bronze_source_kind FAKE_KIND = {.names = FAKE_NAMES, .claim = claim_api};

static void test_register_at_run_time(void **state)
{
    (void)state;
    bronze_config cfg = {.path = "c.yaml", .type = BRONZE_SRC_API};
    bronze_err err = BRONZE_ERR_INIT;
    assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_api);
    assert_int_equal(bronze_source_register(&FAKE_KIND, &err), 0);
    assert_ptr_equal(bronze_source_for(&cfg, &err), &FAKE);
    assert_ptr_equal(bronze_source_kind_at(0), &FAKE_KIND); /* asked first */
    cfg.type = BRONZE_SRC_FILE;
    assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_file);
    bool listed = false;
    const bronze_source_kind *k;
    for (size_t i = 0; (k = bronze_source_kind_at(i)); i++)
        for (const char *const *n = k->names; *n; n++)
            listed |= !strcmp(*n, "custom plugin");
    assert_true(listed);
    bronze_source_unregister_all();
    cfg.type = BRONZE_SRC_API;
    assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_api);
    cfg.type = (bronze_source_type)99; /* no kind claims it */
    assert_null(bronze_source_for(&cfg, &err));
    assert_non_null(strstr(err.msg, "no source kind"));
}

static void test_custom_kind_choice(void **state)
{
    (void)state;
    char *argv[] = {"prog", NULL};
    bronze_config cfg = {.path = "c.yaml", .type = BRONZE_SRC_CUSTOM};
    bronze_err err = BRONZE_ERR_INIT;
    cfg.custom.command = argv;
    cfg.custom.ncommand = 1;
    assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_command);
    cfg.custom.command = NULL;
    cfg.custom.module = "./libx.so";
    assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_plugin);
    cfg.custom.module = "my_org.custom_extractors.salesforce";
    assert_ptr_equal(bronze_source_for(&cfg, &err), &bronze_source_python);
    assert_true(bronze_custom_module_is_library("libx.so"));
    assert_true(bronze_custom_module_is_library("/opt/x/libx.so.1"));
    assert_true(bronze_custom_module_is_library("plugins/x"));
    assert_false(bronze_custom_module_is_library("extractors.so_what"));
    assert_false(bronze_custom_module_is_library("a.b.c"));
}

static void test_state_questions(void **state)
{
    (void)state;
    bronze_config db = {.type = BRONZE_SRC_DB}, cu = {.type = BRONZE_SRC_CUSTOM},
                  fi = {.type = BRONZE_SRC_FILE};
    assert_false(bronze_source_keeps_state(&db));
    db.db.incremental = true;
    assert_true(bronze_source_keeps_state(&db));
    assert_true(bronze_source_appends(&db, NULL)); /* as before: db incremental appends */
    assert_true(bronze_source_keeps_state(&cu));
    assert_false(bronze_source_appends(&cu, NULL)); /* no cursor yet: a full load replaces */
    assert_true(bronze_source_appends(&cu, "7"));
    assert_false(bronze_source_keeps_state(&fi));
    assert_false(bronze_source_appends(&fi, "7"));
}

static void test_command_rows_and_cursor(void **state)
{
    (void)state;
    char tmp[] = "/tmp/bf-unit-custom-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    char *argv[] = {"sh", "-c",
                    "printf '{\"id\":1,\"v\":\"a\"}\\n\\n{\"id\":2,\"v\":null}\\n'; "
                    "echo \"[WARN] from stderr $BRONZE_RUN_DATE\" >&2; "
                    "printf '{\"_bronze_cursor\":\"%s-2\"}' \"$BRONZE_LAST_CURSOR\"",
                    NULL};
    bronze_config cfg = {.path = "c.yaml", .type = BRONZE_SRC_CUSTOM, .as_json = "{}"};
    cfg.custom.command = argv;
    cfg.custom.ncommand = 3;
    cfg.run.timeout_seconds = 10;
    bronze_source_ctx ctx = {.cfg = &cfg,
                             .last_cursor = "c1",
                             .run_date = "2025-01-12",
                             .tmp_dir = tmp,
                             .batch_rows = 16};
    bronze_source *s = NULL;
    bronze_err err = BRONZE_ERR_INIT;
    int rc = bronze_source_command.open(&s, &ctx, &err);
    assert_int_equal(rc, 0);
    const bronze_schema *sc = bronze_source_command.schema(s);
    assert_non_null(sc);
    assert_int_equal(sc->ncols, 2);
    assert_string_equal(sc->fields[0].name, "id");
    assert_int_equal(sc->fields[0].type, BRONZE_T_INT64);
    bronze_batch b;
    memset(&b, 0, sizeof b);
    assert_int_equal(bronze_batch_init(&b, sc, 16), 0);
    assert_int_equal(bronze_source_command.next(s, &b, &err), BRONZE_SRC_ROWS);
    assert_int_equal(b.nrows, 2);
    assert_int_equal(bronze_source_command.next(s, &b, &err), BRONZE_SRC_END);
    assert_string_equal(bronze_source_command.cursor(s), "c1-2");
    bronze_batch_free(&b);
    bronze_source_command.close(s);
    rmdir(tmp);
}

static void test_command_failure_message(void **state)
{
    (void)state;
    char tmp[] = "/tmp/bf-unit-custom-XXXXXX";
    assert_non_null(mkdtemp(tmp));
    char *argv[] = {"sh", "-c", "echo '{\"a\":1}'; echo '{\"_bronze_error\":\"quota exceeded\"}'",
                    NULL};
    bronze_config cfg = {.path = "c.yaml", .type = BRONZE_SRC_CUSTOM, .as_json = "{}"};
    cfg.custom.command = argv;
    cfg.custom.ncommand = 3;
    bronze_source_ctx ctx = {.cfg = &cfg, .run_date = "2025-01-12", .tmp_dir = tmp};
    bronze_source *s = NULL;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_not_equal(bronze_source_command.open(&s, &ctx, &err), 0);
    assert_non_null(strstr(err.msg, "c.yaml: custom extractor command [sh -c"));
    assert_non_null(strstr(err.msg, "quota exceeded"));
    bronze_source_command.close(s);
    rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_at_run_time),
        cmocka_unit_test(test_custom_kind_choice),
        cmocka_unit_test(test_state_questions),
        cmocka_unit_test(test_command_rows_and_cursor),
        cmocka_unit_test(test_command_failure_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
