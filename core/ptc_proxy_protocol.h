/* SPDX-License-Identifier: BSD-2-Clause */
/* PROXY protocol (HAProxy spec, versions 1 and 2): parse the header a load
 * balancer puts in front of a client's bytes, and write one in front of ours
 * to an upstream. Pure functions over caller buffers: no I/O, no allocation. */
#ifndef PTC_CORE_PROXY_PROTOCOL_H
#define PTC_CORE_PROXY_PROTOCOL_H

#include <sys/socket.h>

#include "core/ptc_types.h"

typedef struct {
    struct sockaddr_storage src, dst; /* client and the address it connected to */
    socklen_t src_len, dst_len;       /* 0 when unknown */
    bool local; /* v2 LOCAL command or v1 "UNKNOWN": no addresses, keep the real peer */
} ptc_proxy_protocol_t;

/* Parse a PROXY protocol header (v1 text or v2 binary, detected by the first bytes) at the start of
 * buf[0..len). Returns the header length (> 0) when complete and valid (addresses filled),
 * 0 when more bytes are needed (only if what is there is a valid prefix), or -1 when invalid.
 * Never reads past buf[len - 1]; buf may be NULL when len is 0. *out is written only when the
 * return is > 0: src/dst hold a sockaddr_in (TCP4, v2 0x11) or sockaddr_in6 (TCP6, v2 0x21) with
 * the port, their lengths set; when local is true both lengths are 0. A v2 header with the PROXY
 * command but an address family other than TCP over IPv4/IPv6 (UDP, unix, unspecified) is
 * accepted as local. v2 TLVs are skipped, not checked. The caller consumes the returned number
 * of bytes; never returns PTC_AGAIN (0 plays that role). */
ssize_t ptc_proxy_protocol_parse(const u_char *buf, size_t len, ptc_proxy_protocol_t *out);

/* Write a header announcing src -> dst (AF_INET or AF_INET6; for other families v1 writes
 * "PROXY UNKNOWN\r\n" and v2 a LOCAL header). buf must hold PTC_PROXY_PROTOCOL_MAX bytes.
 * Returns the length written. When one address is AF_INET and the other AF_INET6, the IPv4 one
 * is written IPv4-mapped (::ffff:a.b.c.d) so both share a family, as the spec requires. A NULL
 * src or dst counts as an unknown family. The v1 text is not NUL-terminated. */
#define PTC_PROXY_PROTOCOL_MAX 232
size_t ptc_proxy_protocol_write_v1(u_char *buf, const struct sockaddr *src,
                                   const struct sockaddr *dst);
size_t ptc_proxy_protocol_write_v2(u_char *buf, const struct sockaddr *src,
                                   const struct sockaddr *dst);

#endif
