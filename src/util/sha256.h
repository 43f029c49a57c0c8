/*
 * sha256.h - incremental SHA-256 (OpenSSL EVP) for encoders that hash the
 * bytes of a part as they write them, so no part is read back to be hashed.
 */
#ifndef BRONZE_UTIL_SHA256_H
#define BRONZE_UTIL_SHA256_H

#include <stdbool.h>
#include <stddef.h>

typedef struct bronze_sha256 {
    void *ctx;  /* EVP_MD_CTX */
    bool valid; /* false once the bytes hashed no longer match the file */
    char hex[65];
} bronze_sha256;

int bronze_sha256_begin(bronze_sha256 *h);
void bronze_sha256_update(bronze_sha256 *h, const void *p, size_t n);
/* Fills h->hex; returns it, or NULL when the hash was invalidated. */
const char *bronze_sha256_end(bronze_sha256 *h);
void bronze_sha256_free(bronze_sha256 *h);

#endif
