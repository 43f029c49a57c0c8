/* s3.c - placeholder until the S3 back end lands: opening it fails plainly. */
#include "storage/storage.h"

static int s3_open(bronze_storage **out, const bronze_storage_params *p, bronze_err *err)
{
    (void)p;
    *out = NULL;
    return bronze_err_set(err, BRONZE_E_RUNTIME, "uploads to S3 are not available in this build");
}

const bronze_storage_vt bronze_storage_s3 = {.name = "s3", .remote = true, .open = s3_open};
