/* Unit tests for the S3 pieces: the SigV4 signer (AWS's published S3
 * examples, canonical query edge cases), the S3 XML reader (listings, errors
 * in 200 bodies, entities, hostile input), Retry-After, backoff, the
 * interruptible sleep, and the back end itself against a scripted local HTTP
 * server (retries, 200-with-<Error>, 404s, error messages without secrets). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storage/s3_xml.h"
#include "storage/storage.h"
#include "util/http.h"
#include "util/interrupt.h"
#include "util/retry.h"
#include "util/sigv4.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define HOST "examplebucket.s3.amazonaws.com"
#define DATE "20130524T000000Z"
#define EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const bronze_sigv4_key aws_key = {AK, SK, "us-east-1", "s3"};

static void sign_ok(const bronze_sigv4_req *r, const char *want_sig)
{
    char auth[1024], sig[65];
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_sigv4_sign(&aws_key, r, auth, sizeof auth, sig, &err), 0);
    assert_string_equal(sig, want_sig);
    assert_non_null(strstr(auth, "Credential=" AK "/20130524/us-east-1/s3/aws4_request"));
    assert_null(strstr(auth, SK)); /* the secret never leaves */
}

static char *canonical(const bronze_sigv4_req *r)
{
    bronze_buf b = BRONZE_BUF_INIT;
    assert_int_equal(bronze_sigv4_canonical_request(&b, NULL, r), 0);
    assert_int_equal(bronze_buf_cstr(&b), 0);
    return (char *)b.data;
}

/* AWS S3 API reference, "Example: GET Object" */
static void test_sigv4_get_object(void **state)
{
    (void)state;
    bronze_sigv4_kv h[] = {{"Host", HOST},
                           {"Range", "bytes=0-9"},
                           {"x-amz-content-sha256", EMPTY},
                           {"x-amz-date", DATE}};
    bronze_sigv4_req r = {.method = "GET",
                          .path = "/test.txt",
                          .headers = h,
                          .nheaders = 4,
                          .payload_sha256 = EMPTY,
                          .amz_date = DATE};
    char *c = canonical(&r);
    assert_string_equal(c, "GET\n/test.txt\n\nhost:" HOST "\nrange:bytes=0-9\n"
                           "x-amz-content-sha256:" EMPTY "\nx-amz-date:" DATE "\n\n"
                           "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY);
    free(c);
    sign_ok(&r, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    char auth[1024];
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_sigv4_sign(&aws_key, &r, auth, sizeof auth, NULL, &err), 0);
    assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=" AK "/20130524/us-east-1/s3/"
                              "aws4_request, SignedHeaders=host;range;x-amz-content-sha256;"
                              "x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170"
                              "aba48dd91039c6036bdb41");
    /* a too-small output is an error, not a truncated header */
    assert_int_equal(bronze_sigv4_sign(&aws_key, &r, auth, 40, NULL, &err), -1);
}

/* "Example: PUT Object": '$' in the key, a Date header, storage class */
static void test_sigv4_put_object(void **state)
{
    (void)state;
    char body_hash[65];
    const char *body = "Welcome to Amazon S3.";
    assert_int_equal(bronze_sha256_hex(body, strlen(body), body_hash), 0);
    assert_string_equal(body_hash,
                        "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    bronze_sigv4_kv h[] = {{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                           {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                           {"x-amz-date", DATE},
                           {"Host", HOST},
                           {"x-amz-content-sha256", body_hash}};
    bronze_sigv4_req r = {.method = "PUT",
                          .path = "/test$file.text",
                          .headers = h,
                          .nheaders = 5,
                          .payload_sha256 = body_hash,
                          .amz_date = DATE};
    char *c = canonical(&r);
    assert_string_equal(c, "PUT\n/test%24file.text\n\n"
                           "date:Fri, 24 May 2013 00:00:00 GMT\nhost:" HOST "\n"
                           "x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e4"
                           "2034a8b803f8b072\nx-amz-date:" DATE "\n"
                           "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
                           "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class\n"
                           "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    bronze_buf sts = BRONZE_BUF_INIT;
    assert_int_equal(bronze_sigv4_string_to_sign(&sts, &aws_key, &r, c, strlen(c)), 0);
    assert_int_equal(bronze_buf_cstr(&sts), 0);
    assert_string_equal((char *)sts.data,
                        "AWS4-HMAC-SHA256\n" DATE "\n20130524/us-east-1/s3/aws4_request\n"
                        "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d");
    bronze_buf_free(&sts);
    free(c);
    sign_ok(&r, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* "Example: GET Bucket Lifecycle" (a parameter without a value) and "GET
 * Bucket (List Objects)" (parameters given out of order) */
static void test_sigv4_query_examples(void **state)
{
    (void)state;
    bronze_sigv4_kv h[] = {{"host", HOST}, {"x-amz-content-sha256", EMPTY}, {"x-amz-date", DATE}};
    bronze_sigv4_kv lq[] = {{"lifecycle", NULL}};
    bronze_sigv4_req r = {.method = "GET",
                          .path = "/",
                          .query = lq,
                          .nquery = 1,
                          .headers = h,
                          .nheaders = 3,
                          .payload_sha256 = EMPTY,
                          .amz_date = DATE};
    char *c = canonical(&r);
    assert_non_null(strstr(c, "GET\n/\nlifecycle=\nhost:"));
    char hash[65];
    assert_int_equal(bronze_sha256_hex(c, strlen(c), hash), 0);
    assert_string_equal(hash, "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca");
    free(c);
    sign_ok(&r, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");

    bronze_sigv4_kv q[] = {{"prefix", "J"}, {"max-keys", "2"}};
    r.query = q;
    r.nquery = 2;
    c = canonical(&r);
    assert_non_null(strstr(c, "GET\n/\nmax-keys=2&prefix=J\n"));
    free(c);
    sign_ok(&r, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");

    /* every input is signed: another secret, value or header changes it */
    char auth[1024], a[65], b[65];
    bronze_err err = BRONZE_ERR_INIT;
    bronze_sigv4_key k2 = aws_key;
    k2.secret_key = "another";
    assert_int_equal(bronze_sigv4_sign(&k2, &r, auth, sizeof auth, a, &err), 0);
    assert_string_not_equal(a, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    q[0].value = "K";
    assert_int_equal(bronze_sigv4_sign(&aws_key, &r, auth, sizeof auth, b, &err), 0);
    assert_string_not_equal(b, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    bronze_sigv4_kv h4[] = {{"host", HOST},
                            {"x-amz-content-sha256", EMPTY},
                            {"x-amz-date", DATE},
                            {"X-Amz-Security-Token", "tok"}};
    r.headers = h4;
    r.nheaders = 4;
    assert_int_equal(bronze_sigv4_sign(&aws_key, &r, auth, sizeof auth, NULL, &err), 0);
    assert_non_null(
        strstr(auth, "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"));
    assert_null(strstr(auth, "tok,")); /* the token is signed, not shown */
}

static void test_sigv4_encoding(void **state)
{
    (void)state;
    bronze_buf b = BRONZE_BUF_INIT;
    const char *s = "a b/c:d~e_f.g-h+i=j%k\xc3\xa9";
    assert_int_equal(bronze_sigv4_uri_encode(&b, s, strlen(s), true), 0);
    assert_int_equal(bronze_buf_cstr(&b), 0);
    assert_string_equal((char *)b.data, "a%20b/c%3Ad~e_f.g-h%2Bi%3Dj%25k%C3%A9");
    b.len = 0;
    assert_int_equal(bronze_sigv4_uri_encode(&b, s, strlen(s), false), 0);
    assert_int_equal(bronze_buf_cstr(&b), 0);
    assert_string_equal((char *)b.data, "a%20b%2Fc%3Ad~e_f.g-h%2Bi%3Dj%25k%C3%A9");

    /* sorted by encoded name, then value; empty values keep their '=' */
    bronze_sigv4_kv q[] = {{"prefix", "dt=2025-01-12/a b"},
                           {"uploads", NULL},
                           {"k", "b"},
                           {"k", "a"},
                           {"a-b", "1"},
                           {"a b", ""},
                           {"Z", "~:/"},
                           {"continuation-token", "1/x+y=="}};
    b.len = 0;
    assert_int_equal(bronze_sigv4_canonical_query(&b, q, sizeof q / sizeof q[0]), 0);
    assert_int_equal(bronze_buf_cstr(&b), 0);
    assert_string_equal((char *)b.data,
                        "Z=~%3A%2F&a%20b=&a-b=1&continuation-token=1%2Fx%2By%3D%3D&k=a&k=b&"
                        "prefix=dt%3D2025-01-12%2Fa%20b&uploads=");
    b.len = 0;
    assert_int_equal(bronze_sigv4_canonical_query(&b, NULL, 0), 0);
    assert_int_equal(b.len, 0);
    bronze_buf_free(&b);

    /* header values: trimmed, inner runs of blanks collapsed; names lowered */
    bronze_sigv4_kv h[] = {{"X-Amz-Meta-A", "  one   two  "}, {"host", "h"}};
    bronze_sigv4_req r = {.method = "GET",
                          .path = "",
                          .headers = h,
                          .nheaders = 2,
                          .payload_sha256 = "UNSIGNED-PAYLOAD",
                          .amz_date = DATE};
    char *c = canonical(&r);
    assert_string_equal(c, "GET\n/\n\nhost:h\nx-amz-meta-a:one two\n\nhost;x-amz-meta-a\n"
                           "UNSIGNED-PAYLOAD");
    free(c);

    /* refused: a malformed date, an empty secret */
    char auth[512];
    bronze_err err = BRONZE_ERR_INIT;
    r.amz_date = "2013-05-24";
    assert_int_equal(bronze_sigv4_sign(&aws_key, &r, auth, sizeof auth, NULL, &err), -1);
    r.amz_date = DATE;
    bronze_sigv4_key k = aws_key;
    k.secret_key = "";
    assert_int_equal(bronze_sigv4_sign(&k, &r, auth, sizeof auth, NULL, &err), -1);

    char d[BRONZE_SIGV4_DATE_LEN];
    bronze_sigv4_amz_date(1369353600, d);
    assert_string_equal(d, DATE);
}

static void test_base64(void **state)
{
    (void)state;
    char out[64];
    const struct {
        const char *in, *out;
    } v[] = {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        assert_int_equal(
            bronze_base64((const unsigned char *)v[i].in, strlen(v[i].in), out, sizeof out), 0);
        assert_string_equal(out, v[i].out);
    }
    assert_int_equal(bronze_base64((const unsigned char *)"foo", 3, out, 4), -1);
    char b64[45];
    assert_int_equal(bronze_sha256_hex_to_base64(EMPTY, b64), 0);
    assert_string_equal(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_int_equal(bronze_sha256_hex_to_base64("abc", b64), -1);
    char bad[65];
    memcpy(bad, EMPTY, 65);
    bad[10] = 'g';
    assert_int_equal(bronze_sha256_hex_to_base64(bad, b64), -1);
}

/* ---- XML --------------------------------------------------------------- */

static const char page1[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>b</Name><Prefix>p/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
    "<IsTruncated>true</IsTruncated>"
    "<Contents><Key>p/a&amp;b&lt;c&gt;&quot;&apos;.txt</Key><LastModified>x</LastModified>"
    "<ETag>&quot;e&quot;</ETag><Size>12</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Size>18446744073709551615</Size><Key>p/&#233;&#xE9;&#x1F600;</Key></Contents>"
    "<!-- a comment --><Contents><Key><![CDATA[p/<raw>&amp;]]></Key><Size>0</Size></Contents>"
    "<CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes>"
    "<NextContinuationToken>1/tok+en==</NextContinuationToken>"
    "</ListBucketResult>";

static void test_xml_listing(void **state)
{
    (void)state;
    bronze_s3_list_page pg;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_s3_xml_list(page1, strlen(page1), &pg, &err), 0);
    assert_true(pg.truncated);
    assert_string_equal(pg.next_token, "1/tok+en==");
    assert_int_equal(pg.objects.n, 3);
    assert_string_equal(pg.objects.v[0].key, "p/a&b<c>\"'.txt");
    assert_int_equal(pg.objects.v[0].size, 12);
    assert_string_equal(pg.objects.v[1].key, "p/\xc3\xa9\xc3\xa9\xf0\x9f\x98\x80");
    assert_true(pg.objects.v[1].size == UINT64_MAX);
    assert_string_equal(pg.objects.v[2].key, "p/<raw>&amp;");
    assert_int_equal(pg.prefixes.n, 1);
    assert_string_equal(pg.prefixes.v[0].key, "p/dir/");
    bronze_s3_list_page_free(&pg);

    const char *last = "<ListBucketResult><IsTruncated>false</IsTruncated>"
                       "<Contents><Key>k</Key><Size>1</Size></Contents></ListBucketResult>";
    assert_int_equal(bronze_s3_xml_list(last, strlen(last), &pg, &err), 0);
    assert_false(pg.truncated);
    assert_null(pg.next_token);
    assert_int_equal(pg.objects.n, 1);
    bronze_s3_list_page_free(&pg);

    const char *bad[] = {
        /* truncated without a token: would loop or stop short */
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
        ("<ListBucketResult><Contents><Key>k</Key><Size>18446744073709551616</Size></Contents>"
         "</ListBucketResult>"),
        "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
        "<Error><Code>AccessDenied</Code></Error>",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        assert_int_equal(bronze_s3_xml_list(bad[i], strlen(bad[i]), &pg, &err), -1);
        assert_true(err.msg[0] != 0);
        bronze_s3_list_page_free(&pg);
    }
}

static void test_xml_results(void **state)
{
    (void)state;
    bronze_err err = BRONZE_ERR_INIT;
    bronze_s3_error e;
    const char *in200 = "<?xml version=\"1.0\"?>\n\n<Error><Code>InternalError</Code>"
                        "<Message>We encountered an internal error. Please try again.</Message>"
                        "<RequestId>r</RequestId></Error>\n";
    assert_int_equal(bronze_s3_xml_result(in200, strlen(in200), "CompleteMultipartUploadResult", &e,
                                          NULL, 0, &err),
                     1);
    assert_string_equal(e.code, "InternalError");
    assert_string_equal(e.message, "We encountered an internal error. Please try again.");
    assert_int_equal(bronze_s3_xml_error(in200, strlen(in200), &e, &err), 1);

    const char *done = "<CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket>"
                       "<Key>k</Key><ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
                       "</CompleteMultipartUploadResult>";
    char etag[64];
    assert_int_equal(bronze_s3_xml_result(done, strlen(done), "CompleteMultipartUploadResult", &e,
                                          etag, sizeof etag, &err),
                     0);
    assert_string_equal(etag, "\"3858f62230ac3c915f300c664312c11f-9\"");
    assert_int_equal(bronze_s3_xml_error(done, strlen(done), &e, &err), 0);
    /* another document where a result was expected */
    assert_int_equal(
        bronze_s3_xml_result(done, strlen(done), "CopyObjectResult", &e, NULL, 0, &err), -1);
    const char *copy = "<CopyObjectResult><LastModified>2009-10-28T22:32:00</LastModified>"
                       "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
                       "</CopyObjectResult>";
    assert_int_equal(
        bronze_s3_xml_result(copy, strlen(copy), "CopyObjectResult", &e, etag, sizeof etag, &err),
        0);
    assert_string_equal(etag, "\"9b2cf535f27731c974343645a3985328\"");
    const char *cut = "<CopyObjectResult><ETag>x</ETag>";
    assert_int_equal(bronze_s3_xml_result(cut, strlen(cut), "CopyObjectResult", &e, NULL, 0, &err),
                     -1);

    char *id = NULL;
    const char *init = "<InitiateMultipartUploadResult xmlns=\"x\"><Bucket>b</Bucket><Key>k</Key>"
                       "<UploadId>VXBsb2FkIElE+/=</UploadId></InitiateMultipartUploadResult>";
    assert_int_equal(bronze_s3_xml_upload_id(init, strlen(init), &id, &err), 0);
    assert_string_equal(id, "VXBsb2FkIElE+/=");
    free(id);
    const char *noid = "<InitiateMultipartUploadResult><Bucket>b</Bucket>"
                       "</InitiateMultipartUploadResult>";
    assert_int_equal(bronze_s3_xml_upload_id(noid, strlen(noid), &id, &err), -1);
    assert_null(id);

    bronze_s3_delete_result dr;
    const char *del = "<DeleteResult><Deleted><Key>a</Key></Deleted><Deleted><Key>b</Key>"
                      "</Deleted><Error><Key>c&amp;d</Key><Code>AccessDenied</Code>"
                      "<Message>Access Denied</Message></Error><Error><Key>e</Key>"
                      "<Code>InternalError</Code></Error><Error><Key>f</Key>"
                      "<Code>NoSuchKey</Code></Error></DeleteResult>";
    assert_int_equal(bronze_s3_xml_delete(del, strlen(del), &dr, &err), 0);
    assert_int_equal(dr.deleted, 2);
    assert_int_equal(dr.nerrors, 2);
    assert_int_equal(dr.missing, 1);
    assert_string_equal(dr.first_key, "c&d");
    assert_string_equal(dr.first.code, "AccessDenied");
    assert_string_equal(dr.first.message, "Access Denied");
    const char *quiet = "<DeleteResult xmlns=\"x\"/>";
    assert_int_equal(bronze_s3_xml_delete(quiet, strlen(quiet), &dr, &err), 0);
    assert_int_equal(dr.deleted + dr.nerrors, 0);

    /* escape and read back */
    bronze_buf b = BRONZE_BUF_INIT;
    assert_int_equal(bronze_buf_printf(&b, "<Error><Code>"), 0);
    assert_int_equal(bronze_s3_xml_escape(&b, "a<&>\"'b"), 0);
    assert_int_equal(bronze_buf_printf(&b, "</Code></Error>"), 0);
    assert_int_equal(bronze_s3_xml_error((char *)b.data, b.len, &e, &err), 1);
    assert_string_equal(e.code, "a<&>\"'b");
    bronze_buf_free(&b);
}

/* a copy of exactly n bytes, so ASan catches any read past the end */
static int parse_exact(const char *s, size_t n, bronze_err *err)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    bronze_s3_list_page pg;
    int rc = bronze_s3_xml_list(p, n, &pg, err);
    bronze_s3_list_page_free(&pg);
    bronze_s3_error e;
    bronze_s3_xml_error(p, n, &e, NULL);
    free(p);
    return rc;
}

static void test_xml_hostile(void **state)
{
    (void)state;
    bronze_err err = BRONZE_ERR_INIT;
    /* every truncation of a valid page is an error, never a crash or a
     * short listing taken as whole */
    size_t n = strlen(page1);
    for (size_t i = 0; i < n - 1; i++) {
        err.msg[0] = 0;
        assert_int_equal(parse_exact(page1, i, &err), -1);
        assert_true(err.msg[0] != 0);
    }
    assert_int_equal(parse_exact(page1, n, &err), 0);

    const struct {
        const char *doc, *msg;
    } bad[] = {
        {"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><ListBucketResult>&a;</ListBucketResult>", "DOCTYPE"},
        {"<ListBucketResult><Key>a</Name></ListBucketResult>", "does not close"},
        {"<ListBucketResult>&bogus;</ListBucketResult>", "unknown entity"},
        {"<ListBucketResult>&#0;</ListBucketResult>", "out of range"},
        {"<ListBucketResult>&#xD800;</ListBucketResult>", "out of range"},
        {"<ListBucketResult>&#x110000;</ListBucketResult>", "out of range"},
        {"<ListBucketResult>&#12a;</ListBucketResult>", "bad character reference"},
        {"<ListBucketResult>&amp</ListBucketResult>", "unterminated entity"},
        {"<ListBucketResult></ListBucketResult><ListBucketResult/>", "second root"},
        {"junk<ListBucketResult/>", "outside the root"},
        {"<ListBucketResult><!-- x </ListBucketResult>", "unterminated comment"},
        {"<ListBucketResult a=\"></ListBucketResult>", "truncated start tag"},
        {"<></>", "without a name"},
        {"   ", "empty document"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        assert_int_equal(parse_exact(bad[i].doc, strlen(bad[i].doc), &err), -1);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].doc, err.msg, bad[i].msg);
    }
    /* a NUL inside */
    assert_int_equal(parse_exact("<ListBucketResult>\0</ListBucketResult>", 37, &err), -1);
    assert_non_null(strstr(err.msg, "NUL"));
    /* too deep */
    bronze_buf b = BRONZE_BUF_INIT;
    for (int i = 0; i < BRONZE_S3_XML_DEPTH_MAX + 1; i++)
        assert_int_equal(bronze_buf_printf(&b, "<a>"), 0);
    for (int i = 0; i < BRONZE_S3_XML_DEPTH_MAX + 1; i++)
        assert_int_equal(bronze_buf_printf(&b, "</a>"), 0);
    assert_int_equal(parse_exact((char *)b.data, b.len, &err), -1);
    assert_non_null(strstr(err.msg, "deeper"));
    /* text too long */
    b.len = 0;
    assert_int_equal(bronze_buf_printf(&b, "<ListBucketResult><Contents><Key>"), 0);
    for (int i = 0; i < BRONZE_S3_XML_TEXT_MAX + 1; i++)
        assert_int_equal(bronze_buf_putc(&b, 'k'), 0);
    assert_int_equal(bronze_buf_printf(&b, "</Key><Size>1</Size></Contents></ListBucketResult>"),
                     0);
    assert_int_equal(parse_exact((char *)b.data, b.len, &err), -1);
    assert_non_null(strstr(err.msg, "longer than"));
    /* random documents from XML-ish bytes: no crash, no leak */
    static const char alphabet[] = "<>/&;#x1aA\"' =!?-[]CDATAListBucketResultContentsKeySize";
    uint64_t rng = 42;
    for (int round = 0; round < 3000; round++) {
        b.len = 0;
        size_t len = (size_t)(bronze_retry_backoff_ms(10, 1, 200, &rng));
        for (size_t i = 0; i < len; i++)
            assert_int_equal(
                bronze_buf_putc(
                    &b,
                    (uint8_t)alphabet[bronze_retry_backoff_ms(10, 1, sizeof alphabet - 2, &rng)]),
                0);
        parse_exact((char *)b.data, b.len, &err);
    }
    bronze_buf_free(&b);
}

/* ---- the IETF draft's RateLimit field ------------------------------------ */

static void test_ratelimit_field(void **state)
{
    (void)state;
    static const struct {
        const char *in, *rem, *reset;
    } cases[] = {
        {" limit=10, remaining=0, reset=30", "0", "30"}, /* draft -07 */
        {"limit=10, remaining=7, reset=30", "7", "30"},
        {"\"default\";r=50;t=30", "50", "30"},                    /* draft -08 on */
        {"\"burst\";r=5;t=1, \"daily\";r=0;t=3600", "0", "3600"}, /* the spent one wins */
        {"\"a\";r=0;t=5, \"b\";r=0;t=60, \"c\";r=9;t=1", "0", "60"},
        {"\"q;r=1,t=2\";r=0;t=4", "0", "4"},                    /* ';' and ',' inside quotes */
        {"\"p\";r=0", "0", ""},                                 /* no reset named */
        {"r=99999999999999999999;t=1", "999999999999999", "1"}, /* held at 15 digits */
        /* nothing usable: left as it was */
        {"", "", ""},
        {"remaining=abc, reset=", "", ""},
        {"\"unterminated;r=0;t=1", "", ""},
        {",,;;==", "", ""},
        {"\"p\";q=10;w=60", "", ""}, /* a policy, not a state */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rem[32] = "", reset[32] = "";
        bronze_http_ratelimit_field(cases[i].in, strlen(cases[i].in), rem, sizeof rem, reset,
                                    sizeof reset);
        assert_string_equal(rem, cases[i].rem);
        assert_string_equal(reset, cases[i].reset);
    }
    /* the length bounds the read: what follows is not looked at */
    char rem[32] = "", reset[32] = "";
    bronze_http_ratelimit_field("\"p\";r=0;t=99", 11, rem, sizeof rem, reset, sizeof reset);
    assert_string_equal(rem, "0");
    assert_string_equal(reset, "9");
}

/* ---- retry ------------------------------------------------------------- */

static void test_retry_after(void **state)
{
    (void)state;
    uint64_t ms = 7;
    assert_int_equal(bronze_retry_after_parse("120", 0, &ms), 0);
    assert_true(ms == 120000);
    assert_int_equal(bronze_retry_after_parse(" 0 \r\n", 0, &ms), 0);
    assert_true(ms == 0);
    const char *bad[] = {"", "abc", "-1", "1.5", "12s", "99999999999999999999", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(bronze_retry_after_parse(bad[i], 0, &ms), -1);
    /* 2015-10-21 07:27:00 UTC */
    struct tm tm = {.tm_year = 115, .tm_mon = 9, .tm_mday = 21, .tm_hour = 7, .tm_min = 27};
    time_t now = timegm(&tm);
    assert_int_equal(bronze_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", now, &ms), 0);
    assert_true(ms == 60000);
    assert_int_equal(bronze_retry_after_parse("Wednesday, 21-Oct-15 07:28:30 GMT", now, &ms), 0);
    assert_true(ms == 90000);
    assert_int_equal(bronze_retry_after_parse("Wed Oct 21 07:29:00 2015", now, &ms), 0);
    assert_true(ms == 120000);
    /* a date in the past: retry now */
    assert_int_equal(bronze_retry_after_parse("Tue, 20 Oct 2015 07:28:00 GMT", now, &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(bronze_retry_after_parse("Wed, 21 Foo 2015 07:28:00 GMT", now, &ms), -1);
    assert_int_equal(bronze_retry_after_parse("Wed, 32 Oct 2015 07:28:00 GMT", now, &ms), -1);
    assert_int_equal(bronze_retry_after_parse("Wed, 21 Oct 2015 25:28:00 GMT", now, &ms), -1);

    /* the delay: Retry-After wins, capped; otherwise the backoff */
    uint64_t rng = 1;
    assert_true(bronze_retry_delay_ms(0, "2", &rng) == 2000);
    assert_true(bronze_retry_delay_ms(0, "86400", &rng) == BRONZE_RETRY_AFTER_MAX_MS);
    for (int i = 0; i < 100; i++)
        assert_true(bronze_retry_delay_ms(0, "soon", &rng) <= BRONZE_RETRY_BASE_MS);
}

static void test_backoff_bounds(void **state)
{
    (void)state;
    uint64_t rng = bronze_retry_seed();
    for (int attempt = 0; attempt < 70; attempt += (attempt < 12 ? 1 : 20)) {
        uint64_t ceil = 200;
        for (int i = 0; i < attempt && ceil < 20000; i++)
            ceil *= 2;
        if (ceil > 20000)
            ceil = 20000;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            uint64_t d = bronze_retry_backoff_ms(attempt, 200, 20000, &rng);
            assert_true(d <= ceil);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* full jitter: spread over the whole window, not clustered at the top */
        assert_true(lo < ceil / 4);
        assert_true(hi > ceil / 2);
    }
}

static void test_retry_classes(void **state)
{
    (void)state;
    const long retry[] = {500, 502, 503, 504, 429};
    for (size_t i = 0; i < sizeof retry / sizeof retry[0]; i++)
        assert_true(bronze_retry_http(retry[i], NULL));
    const long final[] = {400, 401, 403, 404, 405, 409, 412, 501};
    for (size_t i = 0; i < sizeof final / sizeof final[0]; i++)
        assert_false(bronze_retry_http(final[i], NULL));
    assert_true(bronze_retry_http(400, "RequestTimeout"));
    assert_true(bronze_retry_http(503, "SlowDown"));
    assert_true(bronze_retry_http(200, "InternalError")); /* an <Error> in a 200 body */
    assert_false(bronze_retry_http(403, "AccessDenied"));
    assert_false(bronze_retry_http(403, "SignatureDoesNotMatch"));
    assert_true(bronze_retry_transport(CURLE_OPERATION_TIMEDOUT));
    assert_true(bronze_retry_transport(CURLE_COULDNT_CONNECT));
    assert_true(bronze_retry_transport(CURLE_RECV_ERROR));
    assert_true(bronze_retry_transport(CURLE_SEND_ERROR));
    assert_true(bronze_retry_transport(CURLE_GOT_NOTHING));
    assert_false(bronze_retry_transport(CURLE_PEER_FAILED_VERIFICATION));
    assert_false(bronze_retry_transport(CURLE_URL_MALFORMAT));
    assert_false(bronze_retry_transport(CURLE_OK));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_usr1(int sig)
{
    (void)sig;
}

static void *send_usr1(void *arg)
{
    pid_t pid = *(pid_t *)arg;
    for (int i = 0; i < 20; i++) {
        kill(pid, SIGUSR1);
        usleep(10000);
    }
    return NULL;
}

static void test_sleep_interruptible(void **state)
{
    (void)state;
    /* EINTR from an unrelated signal neither ends the wait nor spins */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    pid_t self = getpid();
    pthread_t t;
    int64_t t0 = now_ms();
    assert_int_equal(pthread_create(&t, NULL, send_usr1, &self), 0);
    assert_int_equal(bronze_interrupt_sleep_ms(300), 0);
    int64_t took = now_ms() - t0;
    pthread_join(t, NULL);
    assert_true(took >= 300 && took < 1500);

    /* SIGINT ends it early: in a child, since the flag cannot be cleared */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        bronze_interrupt_install();
        pid_t me = getpid();
        if (fork() == 0) {
            usleep(100000);
            kill(me, SIGINT);
            _exit(0);
        }
        int64_t a = now_ms();
        int rc = bronze_interrupt_sleep_ms(10000);
        int64_t dt = now_ms() - a;
        _exit(rc == -1 && dt < 2000 && bronze_interrupt_sleep_ms(1000) == -1 ? 0 : 1);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- the back end against a scripted HTTP server ----------------------- */

typedef struct {
    int listen_fd, port;
    const char *const *replies; /* one full HTTP response per connection */
    size_t nreplies;
    char requests[8][8192]; /* what each connection sent (head + body start) */
    size_t nreq;
} fake_server;

static void *serve(void *arg)
{
    fake_server *f = arg;
    for (size_t i = 0; i < f->nreplies; i++) {
        int c = accept(f->listen_fd, NULL, NULL);
        if (c < 0)
            break;
        char *req = f->requests[i < 8 ? i : 7];
        size_t kept = 0, total = 0, want = SIZE_MAX;
        char chunk[65536];
        /* read the head and the whole body Content-Length announces; keep
         * the first bytes */
        while (total < want) {
            ssize_t n = recv(c, chunk, sizeof chunk, 0);
            if (n <= 0)
                break;
            size_t take = (size_t)n < 8191 - kept ? (size_t)n : 8191 - kept;
            memcpy(req + kept, chunk, take);
            kept += take;
            req[kept] = 0;
            total += (size_t)n;
            char *end = strstr(req, "\r\n\r\n");
            if (end && want == SIZE_MAX) {
                const char *cl = strcasestr(req, "\r\ncontent-length:");
                want = (size_t)(end + 4 - req) + (cl && cl < end ? (size_t)atol(cl + 17) : 0);
            }
        }
        f->nreq++;
        const char *r = f->replies[i];
        send(c, r, strlen(r), MSG_NOSIGNAL);
        close(c);
    }
    return NULL;
}

static void fake_start(fake_server *f, const char *const *replies, size_t n, pthread_t *t)
{
    memset(f, 0, sizeof *f);
    f->replies = replies;
    f->nreplies = n;
    f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->listen_fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(f->listen_fd, (struct sockaddr *)&a, &al), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(listen(f->listen_fd, 8), 0);
    assert_int_equal(pthread_create(t, NULL, serve, f), 0);
}

static void fake_stop(fake_server *f, pthread_t t)
{
    shutdown(f->listen_fd, SHUT_RDWR);
    pthread_join(t, NULL);
    close(f->listen_fd);
}

#define R503                                                                                       \
    "HTTP/1.1 503 Slow Down\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define R200(body)                                                                                 \
    "HTTP/1.1 200 OK\r\nETag: \"abc\"\r\nContent-Length: " #body "\r\nConnection: close\r\n\r\n"

static bronze_storage *open_fake(int port, const char *prefix, int retries)
{
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", port);
    bronze_storage_params p = {.bucket = "bkt",
                               .prefix = prefix,
                               .endpoint = ep,
                               .access_key = "AKID",
                               .secret_key = "SECRET-never-shown",
                               .session_token = "TOKEN-never-shown",
                               .max_retries = retries,
                               .workers = 1,
                               .timeout_seconds = 5};
    bronze_storage *s = NULL;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_storage_s3.open(&s, &p, &err), 0);
    return s;
}

static void test_s3_requests(void **state)
{
    (void)state;
    static const char *const replies[] = {
        /* put: a 503 with Retry-After 0, then success */
        R503,
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        /* get: a 404 NoSuchKey is "not found" */
        "HTTP/1.1 404 Not Found\r\nContent-Length: 60\r\nConnection: close\r\n\r\n"
        "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>",
        /* get: a 404 NoSuchBucket is an error */
        "HTTP/1.1 404 Not Found\r\nContent-Length: 94\r\nConnection: close\r\n\r\n"
        "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>"
        "</Error>",
        /* put: 403 is final, named, without the secret */
        "HTTP/1.1 403 Forbidden\r\nx-amz-request-id: RID1\r\nContent-Length: 72\r\n"
        "Connection: close\r\n\r\n"
        "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>",
    };
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, sizeof replies / sizeof replies[0], &t);
    bronze_storage *s = open_fake(f.port, "/lake/raw/", 3);
    bronze_err err = BRONZE_ERR_INIT;
    char d[256];
    s->vt->describe(s, "dt=1/x", d, sizeof d);
    assert_string_equal(d, "s3://bkt/lake/raw/dt=1/x");

    assert_int_equal(s->vt->put(s, "dt=2025-01-12/_marker a", "hi", 2, &err), 0);
    assert_int_equal(f.nreq, 2);
    const char *rq = f.requests[1];
    assert_non_null(strstr(rq, "PUT /bkt/lake/raw/dt%3D2025-01-12/_marker%20a HTTP/1.1\r\n"));
    assert_non_null(strstr(rq, "x-amz-content-sha256: "
                               "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"));
    assert_non_null(
        strstr(rq, "x-amz-checksum-sha256: j0NDRmSPa5bfid2pAcUXaxCm2Dlh3TwayItZstwyeqQ="));
    assert_non_null(strstr(rq, "x-amz-security-token: TOKEN-never-shown"));
    assert_non_null(strstr(rq, "SignedHeaders=host;x-amz-checksum-sha256;x-amz-content-sha256;"
                               "x-amz-date;x-amz-security-token, Signature="));
    assert_null(strstr(rq, "aws-chunked"));
    assert_null(strstr(rq, "SECRET"));

    bronze_buf b = BRONZE_BUF_INIT;
    bool found = true;
    assert_int_equal(s->vt->get(s, "k", &b, &found, &err), 0);
    assert_false(found);
    assert_int_equal(s->vt->get(s, "k", &b, &found, &err), -1);
    assert_non_null(strstr(err.msg, "NoSuchBucket"));
    assert_non_null(strstr(err.msg, "s3://bkt/lake/raw/k"));

    assert_int_equal(s->vt->put(s, "k2", "v", 1, &err), -1);
    assert_int_equal(f.nreq, 5); /* no retry of a 403 */
    assert_non_null(strstr(err.msg, "403 AccessDenied: Access Denied"));
    assert_non_null(strstr(err.msg, "s3://bkt/lake/raw/k2"));
    assert_non_null(strstr(err.msg, "RID1"));
    assert_null(strstr(err.msg, "SECRET"));
    assert_null(strstr(err.msg, "TOKEN"));
    bronze_buf_free(&b);
    s->vt->close(s);
    fake_stop(&f, t);
}

static void test_s3_error_in_200(void **state)
{
    (void)state;
    static const char *const replies[] = {
        /* publish: HEAD gives the size */
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
        /* CopyObject: 200 with an <Error> that is worth a retry */
        "HTTP/1.1 200 OK\r\nContent-Length: 48\r\nConnection: close\r\n\r\n"
        "<Error><Code>InternalError</Code></Error>       ",
        /* then 200 with an <Error> that is final */
        "HTTP/1.1 200 OK\r\nContent-Length: 69\r\nConnection: close\r\n\r\n"
        "<Error><Code>AccessDenied</Code><Message>no copy</Message></Error>   ",
    };
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, sizeof replies / sizeof replies[0], &t);
    bronze_storage *s = open_fake(f.port, NULL, 3);
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(s->vt->publish(s, ".bronze-tmp/a b", "dt=1/a", &err), -1);
    assert_int_equal(f.nreq, 3);
    assert_non_null(strstr(err.msg, "AccessDenied: no copy"));
    assert_non_null(strstr(f.requests[1], "x-amz-copy-source: /bkt/.bronze-tmp/a%20b\r\n"));
    assert_non_null(strstr(f.requests[1], "PUT /bkt/dt%3D1/a HTTP/1.1"));
    s->vt->close(s);
    fake_stop(&f, t);

    /* retries used up: the last failure is reported */
    static const char *const busy[] = {R503, R503};
    fake_start(&f, busy, 2, &t);
    s = open_fake(f.port, "p", 1);
    assert_int_equal(s->vt->put(s, "k", "v", 1, &err), -1);
    assert_int_equal(f.nreq, 2);
    assert_non_null(strstr(err.msg, "HTTP 503"));
    s->vt->close(s);
    fake_stop(&f, t);
}

static void test_s3_open_checks(void **state)
{
    (void)state;
    bronze_storage *s = NULL;
    bronze_err err = BRONZE_ERR_INIT;
    bronze_storage_params p = {.bucket = "b", .access_key = "a", .secret_key = "s"};
    /* AWS default: virtual-hosted, region us-east-1 */
    assert_int_equal(bronze_storage_s3.open(&s, &p, &err), 0);
    char d[128];
    s->vt->describe(s, "k", d, sizeof d);
    assert_string_equal(d, "s3://b/k");
    assert_null(s->vt->swap_dir);
    s->vt->close(s);
    const struct {
        bronze_storage_params p;
        const char *msg;
    } bad[] = {
        {{.access_key = "a", .secret_key = "s"}, "no bucket"},
        {{.bucket = "b", .access_key = "a"}, "secret key are required"},
        {{.bucket = "b", .access_key = "a", .secret_key = "s", .addressing_style = "vhost"},
         "expected path or virtual"},
        {{.bucket = "b", .access_key = "a", .secret_key = "s", .endpoint = "ftp://x"}, "only http"},
        {{.bucket = "b", .access_key = "a", .secret_key = "s", .endpoint = "http://h/base"},
         "without a path"},
        {{.bucket = "b", .access_key = "a", .secret_key = "s", .endpoint = "http://u:pw@h"},
         "credentials in the URL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        assert_int_equal(bronze_storage_s3.open(&s, &bad[i].p, &err), -1);
        assert_null(s);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: \"%s\"", i, err.msg);
        assert_int_equal(err.kind, BRONZE_E_CONFIG);
    }
}

/* virtual-hosted style puts the bucket in the Host header */
static void test_s3_virtual_host(void **state)
{
    (void)state;
    static const char *const replies[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"};
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, 1, &t);
    char ep[64];
    /* curl resolves *.localhost to the loopback itself, no DNS needed */
    snprintf(ep, sizeof ep, "http://localhost:%d/", f.port);
    bronze_storage_params p = {.bucket = "bkt",
                               .endpoint = ep,
                               .addressing_style = "virtual",
                               .region = "eu-west-1",
                               .access_key = "AKID",
                               .secret_key = "S",
                               .max_retries = 0,
                               .workers = 1};
    bronze_storage *s = NULL;
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(bronze_storage_s3.open(&s, &p, &err), 0);
    assert_int_equal(s->vt->put(s, "a/b", "x", 1, &err), 0);
    char host[64];
    snprintf(host, sizeof host, "Host: bkt.localhost:%d\r\n", f.port);
    assert_non_null(strstr(f.requests[0], host));
    assert_non_null(strstr(f.requests[0], "PUT /a/b HTTP/1.1"));
    assert_non_null(strstr(f.requests[0], "/eu-west-1/s3/aws4_request"));
    s->vt->close(s);
    fake_stop(&f, t);
}

static char *write_file(size_t n, char hex[65])
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/bronze-test-s3-%d.bin", (int)getpid());
    unsigned char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (unsigned char)(i * 7 + (i >> 13));
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    fclose(fp);
    assert_int_equal(bronze_sha256_hex(b, n, hex), 0);
    free(b);
    return path;
}

#define MP8 (8u * 1024 * 1024)
#define INIT_OK                                                                                    \
    "HTTP/1.1 200 OK\r\nContent-Length: 90\r\nConnection: close\r\n\r\n"                           \
    "<InitiateMultipartUploadResult><UploadId>up/1+=</UploadId></InitiateMultipartUploadResult>"

/* 8 MiB + 1: two parts; CompleteMultipartUpload answers 200 with an
 * <Error> first (retried), then its result; the local file goes */
static void test_s3_multipart(void **state)
{
    (void)state;
    static const char *const replies[] = {
        INIT_OK,
        "HTTP/1.1 200 OK\r\nETag: \"e1\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 200 OK\r\nETag: \"e2\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 41\r\nConnection: close\r\n\r\n"
        "<Error><Code>InternalError</Code></Error>",
        ("HTTP/1.1 200 OK\r\nContent-Length: 77\r\nConnection: close\r\n\r\n"
         "<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>"),
    };
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, sizeof replies / sizeof replies[0], &t);
    bronze_storage *s = open_fake(f.port, NULL, 2);
    char hex[65];
    char *path = write_file(MP8 + 1, hex);
    bronze_err err = BRONZE_ERR_INIT;
    int rc = s->vt->upload(s, path, "k", MP8 + 1, hex, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(f.nreq, 5);
    assert_int_equal(access(path, F_OK), -1); /* consumed */
    assert_non_null(strstr(f.requests[0], "POST /bkt/k?uploads= HTTP/1.1"));
    assert_non_null(strstr(f.requests[1], "PUT /bkt/k?partNumber=1&uploadId=up%2F1%2B%3D HTTP"));
    assert_non_null(strstr(f.requests[1], "Content-Length: 8388608\r\n"));
    /* integrity by the signed payload hash, not a second (MD5) digest */
    assert_null(strstr(f.requests[1], "content-md5: "));
    assert_non_null(strstr(f.requests[1], "x-amz-content-sha256: "));
    assert_null(strstr(f.requests[1], "UNSIGNED-PAYLOAD"));
    assert_non_null(strstr(f.requests[2], "partNumber=2&"));
    assert_non_null(strstr(f.requests[2], "Content-Length: 1\r\n"));
    /* the last part's payload hash is the hash of its one byte */
    unsigned char last = (unsigned char)(MP8 * 7 + (MP8 >> 13));
    char lh[65], want[100];
    assert_int_equal(bronze_sha256_hex(&last, 1, lh), 0);
    snprintf(want, sizeof want, "x-amz-content-sha256: %s", lh);
    assert_non_null(strstr(f.requests[2], want));
    const char *body = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1"
                       "&quot;</ETag></Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;"
                       "</ETag></Part></CompleteMultipartUpload>";
    assert_non_null(strstr(f.requests[3], body));
    assert_non_null(strstr(f.requests[4], body));
    s->vt->close(s);
    fake_stop(&f, t);
}

/* a part that fails finally aborts the upload; a 405 to the abort (s3rver)
 * does not hide the real error; the local file stays */
static void test_s3_multipart_abort(void **state)
{
    (void)state;
    static const char *const replies[] = {
        INIT_OK,
        ("HTTP/1.1 403 Forbidden\r\nContent-Length: 72\r\nConnection: close\r\n\r\n"
         "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"),
        "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    };
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, sizeof replies / sizeof replies[0], &t);
    bronze_storage *s = open_fake(f.port, "pre", 2);
    char hex[65];
    char *path = write_file(MP8 + 1, hex);
    bronze_err err = BRONZE_ERR_INIT;
    assert_int_equal(s->vt->upload(s, path, "k", MP8 + 1, hex, &err), -1);
    assert_int_equal(f.nreq, 3);
    assert_non_null(strstr(f.requests[2], "DELETE /bkt/pre/k?uploadId=up%2F1%2B%3D HTTP/1.1"));
    assert_non_null(strstr(err.msg, "multipart upload of s3://bkt/pre/k"));
    assert_non_null(strstr(err.msg, "403 AccessDenied"));
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
    s->vt->close(s);
    fake_stop(&f, t);
}

/* above 5 GiB, publish copies in parts (UploadPartCopy with ranges), then
 * deletes the source */
static void test_s3_publish_multipart_copy(void **state)
{
    (void)state;
    /* 6,000,000,000 bytes: 12 parts of 512 MiB, the last shorter */
#define PART_OK                                                                                    \
    "HTTP/1.1 200 OK\r\nContent-Length: 49\r\nConnection: close\r\n\r\n"                           \
    "<CopyPartResult><ETag>\"p\"</ETag></CopyPartResult>"
    static const char *const replies[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 6000000000\r\nConnection: close\r\n\r\n",
        INIT_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        PART_OK,
        ("HTTP/1.1 200 OK\r\nContent-Length: 77\r\nConnection: close\r\n\r\n"
         "<CompleteMultipartUploadResult><ETag>x</ETag></CompleteMultipartUploadResult>"),
        "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
    };
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, sizeof replies / sizeof replies[0], &t);
    bronze_storage *s = open_fake(f.port, NULL, 0);
    bronze_err err = BRONZE_ERR_INIT;
    if (s->vt->publish(s, "tmp/big", "dt=1/big", &err))
        fail_msg("%s", err.msg);
    assert_int_equal(f.nreq, sizeof replies / sizeof replies[0]);
    assert_non_null(strstr(f.requests[0], "HEAD /bkt/tmp/big HTTP/1.1"));
    assert_non_null(strstr(f.requests[1], "POST /bkt/dt%3D1/big?uploads= HTTP/1.1"));
    assert_non_null(strstr(f.requests[2], "PUT /bkt/dt%3D1/big?partNumber=1&uploadId="));
    assert_non_null(strstr(f.requests[2], "x-amz-copy-source: /bkt/tmp/big\r\n"));
    assert_non_null(strstr(f.requests[2], "x-amz-copy-source-range: bytes=0-536870911\r\n"));
    assert_non_null(strstr(f.requests[3], "x-amz-copy-source-range: bytes=536870912-1073741823"));
    /* the last request kept is the source's DELETE */
    assert_non_null(strstr(f.requests[7], "DELETE /bkt/tmp/big HTTP/1.1"));
    s->vt->close(s);
    fake_stop(&f, t);
}

/* AWS wants x-amz-copy-source URL-encoded ('+' would be a space); s3rver
 * decodes it with decodeURI, which leaves %2B and %3D alone. A NoSuchKey for
 * a source that HEAD just found switches to the literal form, once. */
static void test_s3_copy_source_forms(void **state)
{
    (void)state;
#define HEAD_OK "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
#define COPY_OK                                                                                    \
    "HTTP/1.1 200 OK\r\nContent-Length: 53\r\nConnection: close\r\n\r\n"                           \
    "<CopyObjectResult><ETag>\"e\"</ETag></CopyObjectResult>"
#define DEL_OK "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    static const char *const replies[] = {
        HEAD_OK,
        "HTTP/1.1 404 Not Found\r\nContent-Length: 58\r\nConnection: close\r\n\r\n"
        "<Error><Code>NoSuchKey</Code><Message>no</Message></Error>",
        COPY_OK,
        DEL_OK,
        HEAD_OK,
        COPY_OK,
        DEL_OK,
    };
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, sizeof replies / sizeof replies[0], &t);
    bronze_storage *s = open_fake(f.port, NULL, 0);
    bronze_err err = BRONZE_ERR_INIT;
    if (s->vt->publish(s, "st/a=1+b=2 c", "a=1/x", &err))
        fail_msg("%s", err.msg);
    assert_non_null(strstr(f.requests[1], "x-amz-copy-source: /bkt/st/a%3D1%2Bb%3D2%20c\r\n"));
    assert_non_null(strstr(f.requests[2], "x-amz-copy-source: /bkt/st/a=1+b=2%20c\r\n"));
    assert_int_equal(s->vt->publish(s, "st/d+e", "a=1/y", &err), 0);
    assert_int_equal(f.nreq, 7);
    assert_non_null(strstr(f.requests[5], "x-amz-copy-source: /bkt/st/d+e\r\n"));
    s->vt->close(s);
    fake_stop(&f, t);
}

/* ListObjectsV2 pages: the token goes back encoded, keys come back relative
 * to the prefix and sorted; a repeated token is an error, not a loop */
static void test_s3_list_pages(void **state)
{
    (void)state;
    static const char *const replies[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 170\r\nConnection: close\r\n\r\n"
        "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>p/z</Key><Size>2</Size></"
        "Contents><NextContinuationToken>a+b/c=</NextContinuationToken></ListBucketResult>",
        "HTTP/1.1 200 OK\r\nContent-Length: 173\r\nConnection: close\r\n\r\n"
        "<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>p/b</Key><Size>1</Size></"
        "Contents><Contents><Key>elsewhere</Key><Size>1</Size></Contents></ListBucketResult>",
        "HTTP/1.1 200 OK\r\nContent-Length: 121\r\nConnection: close\r\n\r\n"
        "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>a+b/c=</"
        "NextContinuationToken></ListBucketResult>",
        "HTTP/1.1 200 OK\r\nContent-Length: 121\r\nConnection: close\r\n\r\n"
        "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>a+b/c=</"
        "NextContinuationToken></ListBucketResult>",
    };
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, sizeof replies / sizeof replies[0], &t);
    bronze_storage *s = open_fake(f.port, "p", 0);
    bronze_err err = BRONZE_ERR_INIT;
    bronze_obj_list l = BRONZE_OBJ_LIST_INIT;
    assert_int_equal(s->vt->list(s, "", false, &l, &err), 0);
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].key, "b");
    assert_string_equal(l.v[1].key, "z");
    assert_true(l.v[1].size == 2);
    assert_non_null(strstr(f.requests[0], "GET /bkt?delimiter=%2F&list-type=2&prefix=p%2F HTTP"));
    assert_non_null(strstr(f.requests[1], "GET /bkt?continuation-token=a%2Bb%2Fc%3D&delimiter="));
    bronze_obj_list_free(&l);
    assert_int_equal(s->vt->list(s, "x/", true, &l, &err), -1);
    assert_non_null(strstr(err.msg, "repeated its continuation token"));
    assert_null(strstr(f.requests[2], "delimiter"));
    bronze_obj_list_free(&l);
    s->vt->close(s);
    fake_stop(&f, t);
}

/* DeleteObjects: keys XML-escaped under the prefix, Content-MD5 of the exact
 * body, per-key <Error> entries fail the call naming the key */
static void test_s3_remove(void **state)
{
    (void)state;
    static const char *const replies[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 115\r\nConnection: close\r\n\r\n"
        "<DeleteResult><Error><Key>p/c</Key><Code>AccessDenied</Code><Message>Access "
        "Denied</Message></Error></DeleteResult>",
        "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n"
        "<DeleteResult/>",
    };
    fake_server f;
    pthread_t t;
    fake_start(&f, replies, 2, &t);
    bronze_storage *s = open_fake(f.port, "p", 0);
    bronze_err err = BRONZE_ERR_INIT;
    const char *keys[] = {"a&b<c>", "c"};
    assert_int_equal(s->vt->remove(s, keys, 2, &err), -1);
    assert_non_null(strstr(err.msg, "1 of 2 keys not deleted"));
    assert_non_null(strstr(err.msg, "s3://bkt/p/c: AccessDenied: Access Denied"));
    const char *rq = f.requests[0];
    assert_non_null(strstr(rq, "POST /bkt?delete= HTTP/1.1"));
    const char *body = strstr(rq, "\r\n\r\n");
    assert_non_null(body);
    body += 4;
    assert_non_null(strstr(body, "<Object><Key>p/a&amp;b&lt;c&gt;</Key></Object>"));
    assert_non_null(strstr(body, "<Quiet>true</Quiet>"));
    unsigned char md[16];
    unsigned int ml = 0;
    assert_int_equal(EVP_Digest(body, strlen(body), md, &ml, EVP_md5(), NULL), 1);
    char b64[25], want[64];
    assert_int_equal(bronze_base64(md, 16, b64, sizeof b64), 0);
    snprintf(want, sizeof want, "content-md5: %s\r\n", b64);
    assert_non_null(strstr(rq, want));
    assert_int_equal(s->vt->remove(s, keys, 1, &err), 0);
    assert_int_equal(s->vt->remove(s, keys, 0, &err), 0); /* nothing: no request */
    assert_int_equal(f.nreq, 2);
    s->vt->close(s);
    fake_stop(&f, t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigv4_get_object),
        cmocka_unit_test(test_sigv4_put_object),
        cmocka_unit_test(test_sigv4_query_examples),
        cmocka_unit_test(test_sigv4_encoding),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_xml_listing),
        cmocka_unit_test(test_xml_results),
        cmocka_unit_test(test_xml_hostile),
        cmocka_unit_test(test_ratelimit_field),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_retry_classes),
        cmocka_unit_test(test_s3_requests),
        cmocka_unit_test(test_s3_error_in_200),
        cmocka_unit_test(test_s3_open_checks),
        cmocka_unit_test(test_s3_virtual_host),
        cmocka_unit_test(test_sleep_interruptible),
        cmocka_unit_test(test_s3_multipart),
        cmocka_unit_test(test_s3_multipart_abort),
        cmocka_unit_test(test_s3_publish_multipart_copy),
        cmocka_unit_test(test_s3_copy_source_forms),
        cmocka_unit_test(test_s3_list_pages),
        cmocka_unit_test(test_s3_remove),
    };
    return cmocka_run_group_tests_name("s3", tests, NULL, NULL);
}
