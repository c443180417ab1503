/* SPDX-License-Identifier: BSD-2-Clause */
#include "core/ptc_cidr.h"

#include <arpa/inet.h>

int
ptc_cidr_parse(const ptc_str_t *text, ptc_cidr_t *out, const char **err)
{
    char buf[INET6_ADDRSTRLEN + 8];
    memset(out, 0, sizeof(*out));
    *err = "invalid address or network";
    if (ptc_str_eq_c(text, "all")) {
        out->family = AF_UNSPEC;
        *err = NULL;
        return PTC_OK;
    }
    if (ptc_str_eq_c(text, "unix:")) {
        out->family = AF_UNIX;
        *err = NULL;
        return PTC_OK;
    }
    if (text->len == 0 || text->len >= sizeof(buf)) {
        return PTC_ERROR;
    }
    memcpy(buf, text->data, text->len);
    buf[text->len] = '\0';
    char *slash = strchr(buf, '/');
    int64_t bits = -1;
    if (slash) {
        *slash = '\0';
        bits = ptc_atoi((u_char *)slash + 1, strlen(slash + 1));
        if (bits < 0) {
            return PTC_ERROR;
        }
    }
    size_t alen;
    if (inet_pton(AF_INET, buf, out->addr) == 1) {
        out->family = AF_INET;
        alen = 4;
    } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
        out->family = AF_INET6;
        alen = 16;
    } else {
        return PTC_ERROR;
    }
    if (bits < 0) {
        bits = (int64_t)alen * 8;
    }
    if (bits > (int64_t)alen * 8) {
        *err = "invalid prefix length";
        return PTC_ERROR;
    }
    *err = NULL;
    for (size_t i = 0; i < alen; i++) {
        int64_t b = bits - (int64_t)i * 8;
        out->mask[i] = b >= 8 ? 0xff : b <= 0 ? 0 : (u_char)(0xff << (8 - b));
        if (out->addr[i] & (u_char)~out->mask[i]) {
            *err = "low address bits are meaningless";
        }
        out->addr[i] &= out->mask[i];
    }
    return PTC_OK;
}

bool
ptc_cidr_match(const ptc_cidr_t *cidr, const struct sockaddr *sa)
{
    const u_char *a;
    size_t alen;
    if (cidr->family == AF_UNSPEC) {
        return true;
    }
    if (sa->sa_family == AF_UNIX || cidr->family == AF_UNIX) {
        return sa->sa_family == cidr->family;
    }
    if (sa->sa_family == AF_INET) {
        a = (const u_char *)&((const struct sockaddr_in *)sa)->sin_addr;
        alen = 4;
    } else if (sa->sa_family == AF_INET6) {
        a = (const u_char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        alen = 16;
        static const u_char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (cidr->family == AF_INET && memcmp(a, mapped, 12) == 0) {
            a += 12;
            alen = 4;
        }
    } else {
        return false;
    }
    if ((alen == 4) != (cidr->family == AF_INET)) {
        return false;
    }
    for (size_t i = 0; i < alen; i++) {
        if ((a[i] & cidr->mask[i]) != cidr->addr[i]) {
            return false;
        }
    }
    return true;
}
