/* SPDX-License-Identifier: BSD-2-Clause */
/* libFuzzer target for the PROXY protocol parser. Checks, besides memory
 * safety (ASan sees any read past size): the return is -1 or within
 * [0, size]; a complete header needs exactly its own bytes (every strict
 * prefix returns 0); and an accepted address pair survives write -> parse
 * in both versions. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ptc_proxy_protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Same family, address and port. */
static void
fuzz_pp_same(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family) {
        abort();
    }
    size_t n = a->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (memcmp(a, b, n) != 0) {
        abort();
    }
}

static void
fuzz_pp_round_trip(const ptc_proxy_protocol_t *pp)
{
    u_char buf[PTC_PROXY_PROTOCOL_MAX];
    ptc_proxy_protocol_t back;
    size_t n = ptc_proxy_protocol_write_v1(buf, (const struct sockaddr *)&pp->src,
                                           (const struct sockaddr *)&pp->dst);
    if (n > 107 || ptc_proxy_protocol_parse(buf, n, &back) != (ssize_t)n || back.local) {
        abort();
    }
    fuzz_pp_same(&pp->src, &back.src);
    fuzz_pp_same(&pp->dst, &back.dst);
    n = ptc_proxy_protocol_write_v2(buf, (const struct sockaddr *)&pp->src,
                                    (const struct sockaddr *)&pp->dst);
    if (ptc_proxy_protocol_parse(buf, n, &back) != (ssize_t)n || back.local) {
        abort();
    }
    fuzz_pp_same(&pp->src, &back.src);
    fuzz_pp_same(&pp->dst, &back.dst);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ptc_proxy_protocol_t pp, tmp;
    ssize_t rc = ptc_proxy_protocol_parse(data, size, &pp);
    if (rc < -1 || (rc >= 0 && (size_t)rc > size)) {
        abort();
    }
    if (rc <= 0) {
        return 0;
    }
    /* Prefixes: all of them for short headers, a sample for long v2 ones. */
    for (size_t k = 0; k < (size_t)rc; k = k < 128 ? k + 1 : k * 2) {
        if (ptc_proxy_protocol_parse(data, k, &tmp) != 0) {
            abort();
        }
    }
    if (ptc_proxy_protocol_parse(data, (size_t)rc - 1, &tmp) != 0) {
        abort();
    }
    socklen_t want =
        pp.src.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (!pp.local && (pp.src_len != want || pp.dst_len != want)) {
        abort();
    }
    if (pp.local) {
        if (pp.src_len != 0 || pp.dst_len != 0) {
            abort();
        }
        return 0;
    }
    fuzz_pp_round_trip(&pp);
    return 0;
}
