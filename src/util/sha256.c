/* sha256.c - incremental SHA-256 over OpenSSL's EVP interface (see sha256.h). */
#include "util/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>

int bronze_sha256_begin(bronze_sha256 *h)
{
    h->hex[0] = 0;
    h->ctx = EVP_MD_CTX_new();
    h->valid = h->ctx && EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1;
    return h->valid ? 0 : -1;
}

void bronze_sha256_update(bronze_sha256 *h, const void *p, size_t n)
{
    if (h->valid && n && EVP_DigestUpdate(h->ctx, p, n) != 1)
        h->valid = false;
}

const char *bronze_sha256_end(bronze_sha256 *h)
{
    if (!h->valid)
        return NULL;
    if (h->hex[0])
        return h->hex;
    unsigned char md[32];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32) {
        h->valid = false;
        return NULL;
    }
    for (int i = 0; i < 32; i++)
        snprintf(h->hex + 2 * i, 3, "%02x", md[i]);
    return h->hex;
}

void bronze_sha256_free(bronze_sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    h->valid = false;
}
