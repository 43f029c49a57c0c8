/* libFuzzer target: the API source's page parser (src/source/api.c) through
 * bronze_api_page_parse (api_page.h): take_page (records at data_path or the
 * default lookup, big integers, the incremental cursor, the spool read back
 * through the file source), cursor_path / next_url_path lookups and the
 * Link header's rel="next", resolved against the page URL; and the header
 * line read as the IETF draft's RateLimit field (bronze_http_ratelimit_field):
 * what it gives back is digits or nothing.
 *
 * Input: byte 0 picks the config (bits 0-1 data_path: none, data, data.items,
 * results.0.rows; bits 2-3 pagination: cursor (meta.next), link, next_url
 * (links.next), none; bit 4 incremental on updated_at, bit 5 on meta.ts;
 * bit 6 max_records 2, bit 7 invalid_utf8: replace); then the Link header
 * value up to the first newline; then the response body.
 *
 * A page the parser took must read back from the spool, unless one of its
 * records holds text no column holds (bytes that are not UTF-8, a lone
 * surrogate, a NUL): the reader refuses that as it would in a file, and
 * with invalid_utf8: replace only the NUL is refused. */
#include <sys/stat.h>

#include "fuzz_util.h"
#include "source/api_page.h"
#include "util/http.h"

static char tmpdir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_log();
    struct stat st;
    snprintf(tmpdir, sizeof tmpdir, "%s/bronze-fuzz-api-XXXXXX",
             stat("/dev/shm", &st) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(tmpdir))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned sel = data[0];
    data++, size--;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t llen = nl ? (size_t)(nl - data) : 0;
    char *link = NULL;
    if (nl) {
        if (memchr(data, 0, llen))
            return 0; /* a header value holds no NUL */
        link = strndup((const char *)data, llen);
        char rem[32] = "", reset[32] = "";
        bronze_http_ratelimit_field(link, llen, rem, sizeof rem, reset, sizeof reset);
        if (strspn(rem, "0123456789") != strlen(rem) ||
            strspn(reset, "0123456789") != strlen(reset) || (!rem[0] && reset[0]))
            abort();
        data += llen + 1, size -= llen + 1;
    }
    static const char *const paths[] = {NULL, "data", "data.items", "results.0.rows"};
    static const bronze_pagination_type pages[] = {BRONZE_PAGE_CURSOR, BRONZE_PAGE_LINK,
                                                   BRONZE_PAGE_NEXT_URL, BRONZE_PAGE_NONE};
    bronze_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.path = "fuzz.yaml";
    cfg.type = BRONZE_SRC_API;
    cfg.api.base_url = "https://api.example.com/v1/items?x=1";
    cfg.api.data_path = (char *)paths[sel & 3];
    cfg.api.pagination.type = pages[(sel >> 2) & 3];
    cfg.api.pagination.cursor_path = "meta.next";
    cfg.api.pagination.next_url_path = "links.next";
    cfg.api.pagination.page_size = 2;
    cfg.api.pagination.max_records = sel & 64 ? 2 : 0;
    cfg.api.incremental = sel & 48;
    cfg.api.cursor_field = sel & 32 ? "meta.ts" : "updated_at";
    bool replace = sel & 128;
    cfg.run.invalid_utf8 = replace ? BRONZE_UTF8_REPLACE : BRONZE_UTF8_FAIL;
    bronze_source_ctx ctx = {.cfg = &cfg, .run_date = "2025-01-12", .tmp_dir = tmpdir};
    bronze_api_page page;
    bronze_err err = {0};
    int rc = bronze_api_page_parse(&ctx, cfg.api.base_url, data, size, link, &page, &err);
    bool unfit = strstr(err.msg, ": a NUL character (\\u0000)") ||
                 (!replace && strstr(err.msg, ": invalid UTF-8"));
    if (rc == -2 && !unfit) {
        fprintf(stderr, "page taken but not read back: %s\n", err.msg);
        abort();
    }
    if (rc == 0 && page.read_back > page.records)
        abort();
    if (rc < 0 && !err.msg[0])
        abort();
    bronze_api_page_free(&page);
    free(link);
    return 0;
}
