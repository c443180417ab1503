/* SPDX-License-Identifier: BSD-2-Clause */
/* TLS ClientHello parsing and the JA3 and JA4 client fingerprints (definitions in
 * docs/fingerprints.md). Pure functions over the caller's bytes: no I/O and no allocation here;
 * the only heap use is OpenSSL's digest context while a hash is computed. */
#ifndef PTC_CORE_TLS_HELLO_H
#define PTC_CORE_TLS_HELLO_H

#include "core/ptc_types.h"

/* Output sizes. JA3 strings are bounded by what the 16-bit length fields of a ClientHello let
 * it carry: a 5-digit version, at most 32767 cipher suites of up to 6 characters ("65535-"),
 * 4 commas, and a 65535-byte extension block in which every byte yields at most 3 characters
 * (a 4-byte extension header or a 2-byte group gives at most 6) except the at most 255 one-byte
 * point formats (4 characters each: one more). Real clients stay under 1 KB. */
#define PTC_TLS_JA3_MAX      (5 + 4 + 6 * 32767 + 3 * 65535 + 255)
#define PTC_TLS_JA3_HASH_LEN 32 /* lowercase hex MD5 */
#define PTC_TLS_JA4_LEN      36 /* "t13d1516h2_8daaf6152771_e5627efa2ab1" */

/* n big-endian 16-bit values at p, inside the parsed message. */
typedef struct {
    const u_char *p;
    size_t n;
} ptc_tls_u16s_t;

/* A parsed ClientHello: pointers into the message, valid as long as it is. Lists hold every
 * value as sent, GREASE included; an absent extension leaves its list empty. */
typedef struct {
    uint16_t version;        /* legacy_version (0x0303 for TLS 1.2 and 1.3 clients) */
    ptc_tls_u16s_t ciphers;  /* cipher_suites */
    const u_char *ext;       /* the extensions block: type(2) length(2) data, repeated */
    size_t ext_len;          /* bytes in that block; 0 without extensions */
    size_t ext_n;            /* extensions in it, GREASE included */
    ptc_tls_u16s_t groups;   /* supported_groups (10) */
    const u_char *formats;   /* ec_point_formats (11), one byte each */
    size_t formats_n;        /* number of point formats */
    ptc_tls_u16s_t sigalgs;  /* signature_algorithms (13) */
    ptc_tls_u16s_t versions; /* supported_versions (43) */
    const u_char *alpn;      /* first protocol name of the ALPN list (16); NULL when none */
    size_t alpn_len;         /* its length (0 for an empty name) */
    bool sni;                /* server_name (0) is present */
} ptc_tls_hello_t;

/* Parse msg[0..len), one whole ClientHello handshake message as received (type 0x01, a 3-byte
 * length that must equal len - 4, then the body). Returns PTC_OK with *h filled, or PTC_ERROR
 * for anything else: another message type, an SSLv2-format hello, a record header in front,
 * trailing bytes, any length that does not fit exactly (session id over 32 bytes, odd cipher
 * list, no compression method, extension block not filling the rest of the body), a duplicate
 * of one of the extensions read above, or a malformed one of those. The contents of other
 * extensions are not examined. Never reads outside msg[0..len); *h is unspecified on error. */
int ptc_tls_hello_parse(const u_char *msg, size_t len, ptc_tls_hello_t *h);

/* Write the JA3 string of h (SSLVersion,Ciphers,Extensions,EllipticCurves,PointFormats in
 * decimal, '-' between values, GREASE values left out) to buf, not NUL-terminated. Returns its
 * length (at most PTC_TLS_JA3_MAX, never 0), or 0 when it does not fit in size bytes (buf then
 * holds nothing usable). With buf NULL, returns the length it needs without writing. */
size_t ptc_tls_ja3(const ptc_tls_hello_t *h, u_char *buf, size_t size);

/* Write the lowercase hex MD5 of the JA3 string of h to out (PTC_TLS_JA3_HASH_LEN bytes, not
 * NUL-terminated), for JA3 strings of any length. Returns PTC_OK, or PTC_ERROR when OpenSSL
 * cannot compute MD5 (a FIPS-only provider). */
int ptc_tls_ja3_hash(const ptc_tls_hello_t *h, u_char *out);

/* Write the JA4 fingerprint of h (FoxIO JA4: "t13d1516h2_8daaf6152771_e5627efa2ab1") to buf,
 * not NUL-terminated. transport is its first character: 't' for TLS over TCP ('q' QUIC,
 * 'd' DTLS). Returns PTC_TLS_JA4_LEN, or 0 when size is smaller or SHA-256 fails. */
size_t ptc_tls_ja4(const ptc_tls_hello_t *h, char transport, u_char *buf, size_t size);

#endif
