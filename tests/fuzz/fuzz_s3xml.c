/* libFuzzer target: the S3 response parser (src/storage/s3_xml.c): every
 * entry point of s3_xml.h over the same bytes (walk, root, error, list,
 * upload id, result, delete). */
#include "fuzz_util.h"
#include "storage/s3_xml.h"

static int on_end(void *ctx, const char *const *path, int depth, const char *text, size_t len)
{
    size_t *n = ctx;
    if (depth < 1 || depth > BRONZE_S3_XML_DEPTH_MAX || len > BRONZE_S3_XML_TEXT_MAX)
        abort();
    for (int i = 0; i < depth; i++)
        *n += strlen(path[i]);
    if (len && text[len - 1] == 0x7f) /* touch every byte handed out */
        (*n)++;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_quiet_log();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy of exactly size bytes: ASan catches any read past n */
    char *xml = malloc(size ? size : 1);
    if (!xml)
        return 0;
    memcpy(xml, data, size);
    bronze_err err = {0};
    size_t n = 0;
    bronze_s3_xml_walk(xml, size, on_end, &n, &err);

    char root[64];
    bronze_s3_xml_root(xml, size, root, sizeof root, &err);

    bronze_s3_error e;
    if (bronze_s3_xml_error(xml, size, &e, &err) == 1 &&
        (!memchr(e.code, 0, sizeof e.code) || !memchr(e.message, 0, sizeof e.message)))
        abort();

    bronze_s3_list_page page;
    bronze_s3_xml_list(xml, size, &page, &err);
    bronze_s3_list_page_free(&page);

    char *id = NULL;
    if (bronze_s3_xml_upload_id(xml, size, &id, &err) == 0)
        free(id);

    char etag[128];
    bronze_s3_xml_result(xml, size, "CompleteMultipartUploadResult", &e, etag, sizeof etag, &err);
    bronze_s3_xml_result(xml, size, "CopyObjectResult", &e, NULL, 0, &err);

    bronze_s3_delete_result del;
    bronze_s3_xml_delete(xml, size, &del, &err);
    free(xml);
    return 0;
}
