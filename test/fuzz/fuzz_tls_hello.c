/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the ClientHello parser and the JA3 / JA4 writers. Each input is parsed
 * as it is and, so the fuzzer reaches the body rather than the outer length check, again with
 * its type and length bytes rewritten to a ClientHello of exactly its size. Besides memory
 * safety (ASan sees any read past the exact-size copy), it checks: the outer length is exact
 * (one byte less never parses); the JA3 length is within PTC_TLS_JA3_MAX, the same whether
 * counted or written, and its MD5 is what ptc_tls_ja3_hash gives; the JA4 has its fixed
 * shape. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/ptc_tls_hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_ja4_shape(const u_char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (s[0] != 't' || (s[3] != 'd' && s[3] != 'i') || s[10] != '_' || s[23] != '_') {
        abort();
    }
    for (int i = 4; i < 8; i++) {
        if (s[i] < '0' || s[i] > '9') {
            abort();
        }
    }
    for (int i = 11; i < PTC_TLS_JA4_LEN; i++) {
        if (i != 23 && memchr(hex, s[i], 16) == NULL) {
            abort();
        }
    }
}

static void
fuzz_fingerprints(const ptc_tls_hello_t *h)
{
    static u_char ja3[PTC_TLS_JA3_MAX];
    u_char hash[PTC_TLS_JA3_HASH_LEN], md[16], ja4[PTC_TLS_JA4_LEN];
    char hex[2 * sizeof(md) + 1];
    size_t n = ptc_tls_ja3(h, NULL, 0);
    if (n == 0 || n > PTC_TLS_JA3_MAX || ptc_tls_ja3(h, ja3, sizeof(ja3)) != n) {
        abort();
    }
    if (ptc_tls_ja3_hash(h, hash) != PTC_OK || EVP_Digest(ja3, n, md, NULL, EVP_md5(), NULL) != 1) {
        abort();
    }
    for (size_t i = 0; i < sizeof(md); i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    if (memcmp(hex, hash, sizeof(hash)) != 0) {
        abort();
    }
    if (ptc_tls_ja4(h, 't', ja4, sizeof(ja4)) != PTC_TLS_JA4_LEN) {
        abort();
    }
    fuzz_ja4_shape(ja4);
}

static void
fuzz_one(const u_char *msg, size_t size)
{
    ptc_tls_hello_t h;
    if (ptc_tls_hello_parse(msg, size, &h) != PTC_OK) {
        return;
    }
    if (ptc_tls_hello_parse(msg, size - 1, &h) == PTC_OK) {
        abort();
    }
    ptc_tls_hello_parse(msg, size, &h);
    fuzz_fingerprints(&h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    u_char *copy = malloc(size > 0 ? size : 1);
    if (copy == NULL) {
        return 0;
    }
    if (size > 0) {
        memcpy(copy, data, size);
    }
    fuzz_one(copy, size);
    if (size >= 4 && size - 4 < (1u << 24)) {
        copy[0] = 1;
        copy[1] = (u_char)((size - 4) >> 16);
        copy[2] = (u_char)((size - 4) >> 8);
        copy[3] = (u_char)(size - 4);
        fuzz_one(copy, size);
    }
    free(copy);
    return 0;
}
