/* SPDX-License-Identifier: BSD-2-Clause */
/* Tests of core/ptc_tls_hello.c: the published JA3 and JA4 examples (the specs publish value
 * lists and their fingerprints, so the ClientHellos carrying them are built here), ClientHellos
 * captured from openssl s_client, curl and Python's ssl module with the fingerprints that the
 * independent Python implementation test/integration/ja.py computes, GREASE, sorting (both
 * sorting paths), ALPN and version rules, empty lists, output sizes, and rejection of malformed
 * input at every truncation point and under single-byte mutations (parsed from exact-size heap
 * copies, so ASan sees any read past the end). */
#include <stdlib.h>

#include <openssl/evp.h>

#include "core/ptc_tls_hello.h"
#include "test/unit/unit.h"

void suite_tls_hello(void);

/* ------------------------------------------------------------------------------------------ */
/* Building ClientHellos: length prefixes are opened and closed like brackets. */

static u_char tb_buf[140000];
static size_t tb_len, tb_at[8], tb_width[8];
static int tb_depth;

static void
tb_u8(unsigned v)
{
    tb_buf[tb_len++] = (u_char)v;
}

static void
tb_u16(unsigned v)
{
    tb_u8(v >> 8);
    tb_u8(v & 0xff);
}

static void
tb_mem(const void *p, size_t n)
{
    memcpy(tb_buf + tb_len, p, n);
    tb_len += n;
}

static void
tb_open(size_t width)
{
    tb_at[tb_depth] = tb_len;
    tb_width[tb_depth++] = width;
    tb_len += width;
}

static void
tb_close(void)
{
    tb_depth--;
    size_t at = tb_at[tb_depth], w = tb_width[tb_depth], n = tb_len - at - w;
    for (size_t i = 0; i < w; i++) {
        tb_buf[at + i] = (u_char)(n >> (8 * (w - 1 - i)));
    }
}

/* Start a ClientHello (zero random, empty session id, null compression) and open its
 * extension block. */
static void
tb_hello(unsigned version, const uint16_t *ciphers, size_t n)
{
    tb_len = 0;
    tb_depth = 0;
    tb_u8(1);
    tb_open(3);
    tb_u16(version);
    for (int i = 0; i < 32; i++) {
        tb_u8(0);
    }
    tb_u8(0);
    tb_open(2);
    for (size_t i = 0; i < n; i++) {
        tb_u16(ciphers[i]);
    }
    tb_close();
    tb_u8(1);
    tb_u8(0);
    tb_open(2);
}

static void
tb_ext(unsigned type, const void *data, size_t n)
{
    tb_u16(type);
    tb_u16((unsigned)n);
    tb_mem(data, n);
}

/* An extension holding one list of 16-bit values behind a `prefix`-byte length. */
static void
tb_ext_u16s(unsigned type, size_t prefix, const uint16_t *v, size_t n)
{
    tb_u16(type);
    tb_open(2);
    tb_open(prefix);
    for (size_t i = 0; i < n; i++) {
        tb_u16(v[i]);
    }
    tb_close();
    tb_close();
}

static void
tb_ext_alpn(const char *const *names, size_t n)
{
    tb_u16(16);
    tb_open(2);
    tb_open(2);
    for (size_t i = 0; i < n; i++) {
        tb_open(1);
        tb_mem(names[i], strlen(names[i]));
        tb_close();
    }
    tb_close();
    tb_close();
}

static void
tb_ext_sni(const char *host)
{
    tb_u16(0);
    tb_open(2);
    tb_open(2);
    tb_u8(0);
    tb_open(2);
    tb_mem(host, strlen(host));
    tb_close();
    tb_close();
    tb_close();
}

/* Close the extension block and the message; returns the message length. */
static size_t
tb_end(void)
{
    tb_close();
    tb_close();
    return tb_len;
}

/* Drop the (still empty) extension block entirely. */
static size_t
tb_end_bare(void)
{
    tb_len -= 2;
    tb_depth--;
    tb_close();
    return tb_len;
}

#define TB_U16S(...) (const uint16_t[]){__VA_ARGS__}, sizeof((const uint16_t[]){__VA_ARGS__}) / 2

/* ------------------------------------------------------------------------------------------ */
/* Parsing from an exact-size heap copy, and the fingerprints as C strings. */

static ptc_tls_hello_t th_h;
static u_char *th_copy;

static int
th_parse(const u_char *msg, size_t n)
{
    free(th_copy);
    th_copy = malloc(n > 0 ? n : 1);
    if (n > 0) {
        memcpy(th_copy, msg, n);
    }
    return ptc_tls_hello_parse(th_copy, n, &th_h);
}

static int
th_parse_built(void)
{
    return th_parse(tb_buf, tb_len);
}

static const char *
th_ja3(void)
{
    static char s[16384];
    size_t n = ptc_tls_ja3(&th_h, (u_char *)s, sizeof(s) - 1);
    s[n] = '\0';
    return n > 0 ? s : "(too long)";
}

static const char *
th_ja3_hash(void)
{
    static char s[PTC_TLS_JA3_HASH_LEN + 1];
    if (ptc_tls_ja3_hash(&th_h, (u_char *)s) != PTC_OK) {
        return "(error)";
    }
    s[PTC_TLS_JA3_HASH_LEN] = '\0';
    return s;
}

static const char *
th_ja4t(char transport)
{
    static char s[PTC_TLS_JA4_LEN + 1];
    size_t n = ptc_tls_ja4(&th_h, transport, (u_char *)s, PTC_TLS_JA4_LEN);
    s[n] = '\0';
    return n == PTC_TLS_JA4_LEN ? s : "(error)";
}

static const char *
th_ja4(void)
{
    return th_ja4t('t');
}

/* The 12-character truncated SHA-256 of a string, the way JA4 hashes its lists. */
static const char *
th_sha12(const char *s)
{
    static char out[13];
    u_char d[EVP_MAX_MD_SIZE];
    unsigned n;
    EVP_Digest(s, strlen(s), d, &n, EVP_sha256(), NULL);
    for (int i = 0; i < 6; i++) {
        snprintf(out + 2 * i, 3, "%02x", d[i]);
    }
    return out;
}

static size_t
th_unhex(const char *hex, u_char *out)
{
    size_t n = 0;
    for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (u_char)v;
    }
    return n;
}

/* ------------------------------------------------------------------------------------------ */
/* Published examples */

TEST(th_ja3_readme)
{
    /* salesforce/ja3 README: the string and its MD5, with and without extensions. */
    tb_hello(0x0301, TB_U16S(47, 53, 5, 10, 49161, 49162, 49171, 49172, 50, 56, 19, 4));
    tb_ext_sni("example.com");
    tb_ext_u16s(10, 2, TB_U16S(23, 24, 25));
    tb_ext(11, "\x01\x00", 2);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja3(), "769,47-53-5-10-49161-49162-49171-49172-50-56-19-4,0-10-11,23-24-25,0");
    ASSERT_STR_EQ(th_ja3_hash(), "ada70206e40642a3e4461f35503241d5");

    tb_hello(0x0301, TB_U16S(4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99));
    tb_end_bare();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_INT_EQ(th_h.ext_len, 0);
    ASSERT_STR_EQ(th_ja3(), "769,4-5-10-9-100-98-3-6-19-18-99,,,");
    ASSERT_STR_EQ(th_ja3_hash(), "de350869b8c85de67a350c8d186f11e6");

    /* An empty extension block reads the same as none. */
    tb_hello(0x0301, TB_U16S(4, 5, 10, 9, 100, 98, 3, 6, 19, 18, 99));
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja3(), "769,4-5-10-9-100-98-3-6-19-18-99,,,");
}

/* The example of FoxIO's JA4.md: 15 ciphers and 16 extensions in the documented order, ALPN h2,
 * 8 signature algorithms (none when !sigalgs: the extension is there but empty), and GREASE
 * wherever a client may put it. */
static void
th_build_ja4_example(bool sigalgs)
{
    tb_hello(0x0303, TB_U16S(0x2a2a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                             0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035));
    tb_ext(0x0a0a, "", 0);
    tb_ext(0x001b, "\x02\x00\x02", 3);
    tb_ext_sni("example.com");
    tb_ext(0x0033, "\x00\x00", 2);
    tb_ext_alpn((const char *[]){"h2", "http/1.1"}, 2);
    tb_ext(0x4469, "", 0);
    tb_ext(0x0017, "", 0);
    tb_ext(0x002d, "\x01\x01", 2);
    if (sigalgs) {
        tb_ext_u16s(0x000d, 2,
                    TB_U16S(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601));
    } else {
        tb_ext(0x000d, "\x00\x00", 2);
    }
    tb_ext(0x0005, "", 0);
    tb_ext(0x0023, "", 0);
    tb_ext(0x0012, "", 0);
    tb_ext_u16s(0x002b, 1, TB_U16S(0x5a5a, 0x0304, 0x0303));
    tb_ext(0xff01, "\x00", 1);
    tb_ext(0x000b, "\x01\x00", 2);
    tb_ext_u16s(0x000a, 2, TB_U16S(0x3a3a, 0x001d, 0x0017, 0x0018));
    tb_ext(0x0015, "\x00\x00", 2);
    tb_ext(0xfafa, "\x00", 1);
    tb_end();
}

TEST(th_ja4_spec_example)
{
    th_build_ja4_example(true);
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja4(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    /* The spec's hashes of its sorted lists, checked through the same digest. */
    ASSERT_STR_EQ(th_sha12("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,"
                           "cca8,cca9"),
                  "8daaf6152771");
    /* "If there are no signature algorithms in the hello packet, then the string ends without
     * an underscore": 6d807ffa2a79. */
    th_build_ja4_example(false);
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja4(), "t13d1516h2_8daaf6152771_6d807ffa2a79");
}

TEST(th_chrome_published)
{
    /* A Chrome 143 ClientHello as published by browserleaks.com (JA3 text and hash, JA4 and its
     * original-order lists), rebuilt from those lists with GREASE added. */
    tb_hello(0x0303, TB_U16S(0x8a8a, 4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392,
                             49171, 49172, 156, 157, 47, 53));
    tb_ext(0xdada, "", 0);
    tb_ext(45, "\x01\x01", 2);
    tb_ext(51, "\x00\x00", 2);
    tb_ext_alpn((const char *[]){"h2", "http/1.1"}, 2);
    tb_ext(65037, "", 0);
    tb_ext(23, "", 0);
    tb_ext(17613, "", 0);
    tb_ext_sni("tls.browserleaks.com");
    tb_ext(11, "\x01\x00", 2);
    tb_ext_u16s(10, 2, TB_U16S(0x9a9a, 4588, 29, 23, 24));
    tb_ext_u16s(43, 1, TB_U16S(0x4a4a, 0x0304, 0x0303));
    tb_ext(65281, "\x00", 1);
    tb_ext(35, "", 0);
    tb_ext(18, "", 0);
    tb_ext(5, "", 0);
    tb_ext_u16s(13, 2, TB_U16S(0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601));
    tb_ext(27, "\x02\x00\x02", 3);
    tb_ext(0x1a1a, "\x00", 1);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja3(), "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-"
                            "156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-35-18-5-13-27,"
                            "4588-29-23-24,0");
    ASSERT_STR_EQ(th_ja3_hash(), "98487aa16281980e7d1120d399efb6a4");
    ASSERT_STR_EQ(th_ja4(), "t13d1516h2_8daaf6152771_d8a2da3f94cd");
}

/* ------------------------------------------------------------------------------------------ */
/* Real clients, captured with test/integration/ja.py (`python3 ja.py openssl ...`); the
 * expected values are what ja.py computes from the same bytes. */

static const struct {
    const char *client, *hex, *ja3, *ja3_hash, *ja4;
} th_clients[] = {
    {
        "openssl s_client -tls1_3 -servername example.test -alpn h2,http/1.1",
        "010000ff030333a477216a0841ca45c0a038e9836b917edb89d5a2a274d4e911233f13135719206e606ad16e"
        "b39aaa434f7834ac7f26f7322870a43b28cc552a6f7fee3bf0e4d6000813021303130100ff010000ae000000"
        "11000f00000c6578616d706c652e74657374000b000403000102000a00160014001d0017001e001900180100"
        "0101010201030104002300000010000e000c02683208687474702f312e310016000000170000000d001e001c"
        "040305030603080708080809080a080b080408050806040105010601002b0003020304002d00020101003300"
        "260024001d0020faefed7972459562c0f15f10abc9af100b02acfc61a101cb021ad34a8a02f41c",
        "771,4866-4867-4865-255,0-11-10-35-16-22-23-13-43-45-51,29-23-30-25-24-256-257-258-25"
        "9-260,0-1-2",
        "9dffdb8b608a430b774a2ff7d36c1a0c",
        "t13d0411h2_16476d049b0b_78f1d400d464",
    },
    {
        "openssl s_client -tls1_2 -servername example.test -alpn http/1.1",
        "010000d703030422996f8012b3eb0b657ff4b1e355d146f5c3030569c4fffe967c6066899c0a000038c02cc0"
        "30009fcca9cca8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c00"
        "3d003c0035002f00ff0100007600000011000f00000c6578616d706c652e74657374000b000403000102000a"
        "000c000a001d0017001e00190018002300000010000b000908687474702f312e310016000000170000000d00"
        "2a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602",
        "771,49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107-49187-49191-10"
        "3-49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-35-16-22-23-13,29-23"
        "-30-25-24,0-1-2",
        "22558766122974704364c9c75c5cce0a",
        "t12d2808h1_d943125447b4_e7e480e5a997",
    },
    {
        "openssl s_client -noservername",
        "0100012003034183911df3ea0678d4ec9ae228a864eb2452929b5ccfa1e99e3c1a84fa2bc69020ac130b971d"
        "26e37c20e295429661d233de6ba52e8c89d638ccec3e5ff332e05d003e130213031301c02cc030009fcca9cc"
        "a8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c003500"
        "2f00ff01000099000b000403000102000a00160014001d0017001e0019001801000101010201030104002300"
        "000016000000170000000d002a0028040305030603080708080809080a080b08040805080604010501060103"
        "0303010302040205020602002b0009080304030303020301002d00020101003300260024001d00203032c88d"
        "61d98e0ba10e9a7b00cee4ad81d37d690a688df1af81bdf414f5fa66",
        "771,4866-4867-4865-49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107"
        "-49187-49191-103-49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,11-10-35-22-2"
        "3-13-43-45-51,29-23-30-25-24-256-257-258-259-260,0-1-2",
        "c216e752cae6f8755fd27f561d031636",
        "t13i310900_e8f1e7e78f70_1f22a2ca17c4",
    },
    {
        "curl -k https://example.test:PORT/",
        "010001fc03034e2283b350d7027cefb34642bf809bf4a5d6661c1906818615814438e2b27f202085ea105865"
        "07256e4ace6b2886911702bb5fadcb1d6fb3967669ef3a09c430c5003e130213031301c02cc030009fcca9cc"
        "a8ccaac02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c003500"
        "2f00ff0100017500000011000f00000c6578616d706c652e74657374000b000403000102000a00160014001d"
        "0017001e00190018010001010102010301040010000e000c02683208687474702f312e310016000000170000"
        "00310000000d002a0028040305030603080708080809080a080b080408050806040105010601030303010302"
        "040205020602002b0009080304030303020301002d00020101003300260024001d002077f60eb361866b2229"
        "7ae2cd49e7546c91d055c7029446dd355ddb0b31771a46001500b10000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000",
        "771,4866-4867-4865-49196-49200-159-52393-52392-52394-49195-49199-158-49188-49192-107"
        "-49187-49191-103-49162-49172-57-49161-49171-51-157-156-61-60-53-47-255,0-11-10-16-22"
        "-23-49-13-43-45-51-21,29-23-30-25-24-256-257-258-259-260,0-1-2",
        "0149f47eabf9a20d0893e2a44e5a6323",
        "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6",
    },
    {
        "Python ssl, server_hostname=localhost.test",
        "010001fc0303a2b12495f464ad6cada156f6eac6721014234c77ee4f728a95765f8f82843a9820c286a9282d"
        "9bc920012a10c91862cd71ed3d42527492b3ab5ffe6fb2aee33bf00024130213031301c02cc030c02bc02fcc"
        "a9cca8c024c028c023c027009f009e006b006700ff0100018f00000013001100000e6c6f63616c686f73742e"
        "74657374000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000016"
        "000000170000000d002a0028040305030603080708080809080a080b08040805080604010501060103030301"
        "0302040205020602002b00050403040303002d00020101003300260024001d0020fa4169ff380fab2a71102f"
        "c951fbcb7f70a39c1b235dfc146532e789d332510d001500df00000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
        "00000000000000000000000000000000000000000000000000000000",
        "771,4866-4867-4865-49196-49200-49195-49199-52393-52392-49188-49192-49187-49191-159-1"
        "58-107-103-255,0-11-10-35-22-23-13-43-45-51-21,29-23-30-25-24-256-257-258-259-260,0-"
        "1-2",
        "93c7d42c0df602fb91589311534831f5",
        "t13d181100_85036bcba153_d41ae481755e",
    },
};

TEST(th_real_clients)
{
    static u_char msg[2048];
    for (size_t i = 0; i < ptc_nelems(th_clients); i++) {
        size_t n = th_unhex(th_clients[i].hex, msg);
        if (th_parse(msg, n) != PTC_OK) {
            unit_fail(__FILE__, __LINE__, "%s: not parsed", th_clients[i].client);
            return;
        }
        ASSERT_STR_EQ(th_ja3(), th_clients[i].ja3);
        ASSERT_STR_EQ(th_ja3_hash(), th_clients[i].ja3_hash);
        ASSERT_STR_EQ(th_ja4(), th_clients[i].ja4);
    }
}

TEST(th_parsed_fields)
{
    static u_char msg[2048];
    size_t n = th_unhex(th_clients[0].hex, msg); /* openssl -tls1_3, SNI, ALPN h2,http/1.1 */
    ASSERT_INT_EQ(th_parse(msg, n), PTC_OK);
    ASSERT_INT_EQ(th_h.version, 0x0303);
    ASSERT_INT_EQ(th_h.ciphers.n, 4);
    ASSERT_INT_EQ(th_h.ext_n, 11);
    ASSERT_INT_EQ(th_h.groups.n, 10);
    ASSERT_INT_EQ(th_h.formats_n, 3);
    ASSERT_INT_EQ(th_h.sigalgs.n, 14);
    ASSERT_INT_EQ(th_h.versions.n, 1);
    ASSERT_INT_EQ(th_h.sni, true);
    ASSERT_MEM_EQ(th_h.alpn, th_h.alpn_len, "h2");
    ASSERT_TRUE(th_h.ext > th_copy && th_h.ext + th_h.ext_len == th_copy + n);
}

/* ------------------------------------------------------------------------------------------ */
/* The rules one by one */

TEST(th_grease)
{
    /* All 16 GREASE values go; near misses (unequal bytes, not 0x?a) stay. */
    tb_hello(0x0303, TB_U16S(0x0a0a, 0x1a1a, 0x0a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x1a0a, 0x6a6a,
                             0x7a7a, 0x8a8a, 0x9a9a, 0x0b0b, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea,
                             0xfafa, 0xaaab));
    tb_ext(0x1a1a, "", 0);
    tb_ext_u16s(13, 2, TB_U16S(0x2a2a, 0x0403));
    tb_ext_u16s(43, 1, TB_U16S(0x3a3a)); /* only GREASE: the legacy version counts */
    tb_ext_u16s(10, 2, TB_U16S(0x4a4a, 29));
    tb_ext(0x9a9a, "\x00", 1);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_INT_EQ(th_h.ciphers.n, 20);
    ASSERT_INT_EQ(th_h.ext_n, 5);
    ASSERT_STR_EQ(th_ja3(), "771,2586-6666-2827-43691,13-43-10,29,");
    char want[40];
    snprintf(want, sizeof(want), "t12i040300_%s_", th_sha12("0a1a,0b0b,1a0a,aaab"));
    snprintf(want + 24, sizeof(want) - 24, "%s", th_sha12("000a,000d,002b_0403"));
    ASSERT_STR_EQ(th_ja4(), want);
}

TEST(th_sort_small)
{
    /* Duplicates are kept; SNI and ALPN leave the extension list, not the count. */
    tb_hello(0x0303, TB_U16S(0x0035, 0x002f, 0x0035, 0x0001));
    tb_ext(0xff01, "\x00", 1);
    tb_ext_sni("a");
    tb_ext(0x0005, "", 0);
    tb_ext_alpn((const char *[]){"h2"}, 1);
    tb_ext(0x0023, "", 0);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    char want[40];
    snprintf(want, sizeof(want), "t12d0405h2_%s_", th_sha12("0001,002f,0035,0035"));
    snprintf(want + 24, sizeof(want) - 24, "%s", th_sha12("0005,0023,ff01"));
    ASSERT_STR_EQ(th_ja4(), want);
}

/* n ciphers and n extensions of pseudo-random values (the first 10 ciphers repeated after 290),
 * the lists test/integration/ja.py hashed for the expected values below. */
static void
th_build_long(size_t n)
{
    static uint16_t c[300];
    for (size_t i = 0; i < n; i++) {
        c[i] = (uint16_t)((i < 290 ? i : i - 290) * 40503 + 7);
    }
    tb_hello(0x0303, c, n);
    for (size_t i = 0; i < n; i++) {
        tb_ext((uint16_t)(i * 7919 + 100), "", 0);
    }
    tb_end();
}

TEST(th_sort_long)
{
    /* 256 values sort in the stack array, 257 and more by counting, block by block. */
    static const char *const want[][2] = {
        {"t12i999900_97a3e7c4ff5b_e592dffd54ec", "08244889535c0dc009e930ed222867d9"},
        {"t12i999900_489ae94b2902_e42d45ff9a94", "f8ddfb729f6b2a2c11df6e5f53f5a78f"},
        {"t12i999900_af3877c8ba41_461eb4f955fb", "d79cacfba49189dabed5e43b5110bd08"},
    };
    static const size_t sizes[] = {256, 257, 300};
    for (size_t i = 0; i < ptc_nelems(sizes); i++) {
        th_build_long(sizes[i]);
        ASSERT_INT_EQ(th_parse_built(), PTC_OK);
        ASSERT_INT_EQ(th_h.ciphers.n, sizes[i]);
        ASSERT_STR_EQ(th_ja4(), want[i][0]);
        ASSERT_STR_EQ(th_ja3_hash(), want[i][1]);
    }
}

/* The two ALPN characters of JA4 for one ALPN extension with these names. */
static const char *
th_alpn(const char *const *names, size_t n)
{
    static char out[3];
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_ext_alpn(names, n);
    tb_end();
    if (th_parse_built() != PTC_OK) {
        return "(parse)";
    }
    memcpy(out, th_ja4() + 8, 2);
    return out;
}

#define TH_ALPN(...)                                                                               \
    th_alpn((const char *[]){__VA_ARGS__}, ptc_nelems(((const char *[]){__VA_ARGS__})))

TEST(th_alpn_rules)
{
    ASSERT_STR_EQ(TH_ALPN("h2"), "h2");
    ASSERT_STR_EQ(TH_ALPN("http/1.1"), "h1");
    ASSERT_STR_EQ(TH_ALPN("h2", "http/1.1"), "h2");
    ASSERT_STR_EQ(TH_ALPN("http/1.1", "h2"), "h1");
    ASSERT_STR_EQ(TH_ALPN("x"), "xx");
    ASSERT_STR_EQ(TH_ALPN("", "h2"), "00");
    ASSERT_STR_EQ(TH_ALPN("Z9"), "Z9");
    /* Not alphanumeric at either end: first and last character of the hex form (JA4.md). */
    ASSERT_STR_EQ(TH_ALPN("\xab"), "ab");
    ASSERT_STR_EQ(TH_ALPN("\xab\xcd"), "ad");
    ASSERT_STR_EQ(TH_ALPN("0\xab"), "3b");
    ASSERT_STR_EQ(TH_ALPN("01\xab\xcd"), "3d");
    ASSERT_STR_EQ(TH_ALPN("0\xab\xcd"
                          "1"),
                  "01");
    ASSERT_STR_EQ(TH_ALPN("-h2"), "22");
    ASSERT_STR_EQ(TH_ALPN("h2/"), "6f");
    /* No names at all, and no extension. */
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_ext(16, "\x00\x00", 2);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_NULL(th_h.alpn);
    ASSERT_STR_EQ(th_ja4(), "t12i010100_0f2cb44170f4_000000000000");
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja4(), "t12i010000_0f2cb44170f4_000000000000");
}

/* The two version characters of JA4 for this legacy version and supported_versions list
 * (none when n is 0 and list is NULL). */
static const char *
th_version(unsigned legacy, const uint16_t *list, size_t n)
{
    static char out[3];
    tb_hello(legacy, TB_U16S(0x002f));
    if (list != NULL) {
        tb_ext_u16s(43, 1, list, n);
    }
    tb_end();
    if (th_parse_built() != PTC_OK) {
        return "(parse)";
    }
    memcpy(out, th_ja4() + 1, 2);
    return out;
}

TEST(th_versions)
{
    ASSERT_STR_EQ(th_version(0x0303, NULL, 0), "12");
    ASSERT_STR_EQ(th_version(0x0302, NULL, 0), "11");
    ASSERT_STR_EQ(th_version(0x0301, NULL, 0), "10");
    ASSERT_STR_EQ(th_version(0x0300, NULL, 0), "s3");
    ASSERT_STR_EQ(th_version(0x0002, NULL, 0), "s2");
    ASSERT_STR_EQ(th_version(0xfeff, NULL, 0), "d1");
    ASSERT_STR_EQ(th_version(0xfefd, NULL, 0), "d2");
    ASSERT_STR_EQ(th_version(0xfefc, NULL, 0), "d3");
    ASSERT_STR_EQ(th_version(0x0305, NULL, 0), "00");
    ASSERT_STR_EQ(th_version(0x0303, TB_U16S(0x0304, 0x0303)), "13");
    ASSERT_STR_EQ(th_version(0x0303, TB_U16S(0x0302, 0x0304, 0x0303)), "13"); /* highest */
    ASSERT_STR_EQ(th_version(0x0303, TB_U16S(0x0302)), "11");
    ASSERT_STR_EQ(th_version(0x0303, TB_U16S(0x7a7a, 0x0304)), "13");
    ASSERT_STR_EQ(th_version(0x0301, TB_U16S(0x7a7a)), "10");
    ASSERT_STR_EQ(th_version(0x0301, (const uint16_t *)"", 0), "10"); /* empty list */
    ASSERT_STR_EQ(th_version(0x0303, TB_U16S(0x0305)), "00");
}

TEST(th_empty_lists)
{
    /* No ciphers, no extensions. */
    tb_hello(0x0303, NULL, 0);
    tb_end_bare();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja3(), "771,,,,");
    ASSERT_STR_EQ(th_ja4(), "t12i000000_000000000000_000000000000");
    /* Only GREASE ciphers; only SNI and ALPN among the extensions. */
    tb_hello(0x0303, TB_U16S(0x0a0a, 0xfafa));
    tb_ext_sni("example.com");
    tb_ext_alpn((const char *[]){"h2"}, 1);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja3(), "771,,0-16,,");
    ASSERT_STR_EQ(th_ja4(), "t12d0002h2_000000000000_000000000000");
    /* Extensions but no signature algorithms: no '_' in what is hashed. */
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_ext(0x0017, "", 0);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    char want[40];
    snprintf(want, sizeof(want), "t12i010100_0f2cb44170f4_%s", th_sha12("0017"));
    ASSERT_STR_EQ(th_ja4(), want);
    ASSERT_STR_EQ(th_sha12("1301"), "0f2cb44170f4");
    /* Empty groups and point formats leave their JA3 fields empty. */
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_ext(10, "\x00\x00", 2);
    tb_ext(11, "\x00", 1);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja3(), "771,4865,10-11,,");
}

TEST(th_counts_and_transport)
{
    static uint16_t c[120];
    for (size_t i = 0; i < ptc_nelems(c); i++) {
        c[i] = (uint16_t)(i + 1);
    }
    tb_hello(0x0303, c, 100);
    for (unsigned t = 1000; t < 1105; t++) {
        tb_ext(t, "", 0);
    }
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_MEM_EQ(th_ja4(), 10, "t12i999900");
    tb_hello(0x0303, c, 99);
    tb_ext_sni("x");
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_MEM_EQ(th_ja4t('q'), 10, "q12d990100");
    ASSERT_MEM_EQ(th_ja4t('d'), 4, "d12d");
}

TEST(th_output_sizes)
{
    u_char buf[64];
    th_build_ja4_example(true);
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    size_t n = ptc_tls_ja3(&th_h, NULL, 0);
    ASSERT_INT_EQ(n, strlen(th_ja3()));
    u_char *exact = malloc(n); /* ASan: not a byte past n is written */
    ASSERT_INT_EQ(ptc_tls_ja3(&th_h, exact, n), n);
    ASSERT_MEM_EQ(exact, n, th_ja3());
    free(exact);
    ASSERT_INT_EQ(ptc_tls_ja3(&th_h, buf, sizeof(buf)), 0); /* about 120 characters */
    ASSERT_INT_EQ(ptc_tls_ja3(&th_h, buf, 0), 0);
    ASSERT_INT_EQ(ptc_tls_ja4(&th_h, 't', buf, PTC_TLS_JA4_LEN - 1), 0);
    ASSERT_INT_EQ(ptc_tls_ja4(&th_h, 't', NULL, 64), 0);
    ASSERT_INT_EQ(ptc_tls_ja4(&th_h, 't', buf, sizeof(buf)), PTC_TLS_JA4_LEN);
}

TEST(th_largest_hello)
{
    /* As many 5-digit values as the 16-bit lengths allow: 32767 ciphers, a supported_groups
     * list filling the extension block next to 255 point formats. */
    static uint16_t c[32767];
    u_char formats[256];
    size_t groups = (65535 - 4 - 2 - 4 - 1 - 255) / 2;
    for (size_t i = 0; i < ptc_nelems(c); i++) {
        c[i] = 0xffff;
    }
    formats[0] = 255;
    memset(formats + 1, 255, 255);
    tb_hello(0x0303, c, ptc_nelems(c));
    tb_ext_u16s(10, 2, c, groups);
    tb_ext(11, formats, sizeof(formats));
    tb_end();
    ASSERT_INT_EQ(tb_len, 131113);
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    size_t n = ptc_tls_ja3(&th_h, NULL, 0);
    ASSERT_INT_EQ(n, 393435);
    ASSERT_TRUE(n <= PTC_TLS_JA3_MAX);
    u_char *s = malloc(PTC_TLS_JA3_MAX);
    ASSERT_INT_EQ(ptc_tls_ja3(&th_h, s, PTC_TLS_JA3_MAX), n);
    ASSERT_INT_EQ(ptc_tls_ja3(&th_h, s, n - 1), 0);
    u_char d[16];
    char hex[33];
    EVP_Digest(s, n, d, NULL, EVP_md5(), NULL);
    free(s);
    for (int i = 0; i < 16; i++) {
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
    ASSERT_STR_EQ(th_ja3_hash(), hex);
    ASSERT_STR_EQ(hex, "dd300f6a16f9b0c0a1a82c1ab4fe124a"); /* ja.py */
    ASSERT_STR_EQ(th_ja4(), "t12i990200_d02a4f5e059c_33a13ba74d1c");
}

/* ------------------------------------------------------------------------------------------ */
/* Malformed input */

/* The message built so far, closed, with one extension whose raw data is given. */
static int
th_parse_ext(unsigned type, const char *data, size_t n)
{
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_ext(type, data, n);
    tb_end();
    return th_parse_built();
}

TEST(th_reject_messages)
{
    static const u_char sslv2[] = {
        0x01, 0x03, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x2f, /* cipher */
        1,    2,    3,    4,    5,    6,    7,    8,    9,    10,   11,   12,
        13,   14,   15,   16, /* challenge */
    };
    u_char rec[300];
    ASSERT_INT_EQ(th_parse((const u_char *)"", 0), PTC_ERROR);
    ASSERT_INT_EQ(th_parse((const u_char *)"\x01\x00\x00", 3), PTC_ERROR);
    ASSERT_INT_EQ(th_parse((const u_char *)"\x01\x00\x00\x00", 4), PTC_ERROR);
    /* SSLv2-format hello, bare and with its 2-byte record header. */
    ASSERT_INT_EQ(th_parse(sslv2, sizeof(sslv2)), PTC_ERROR);
    rec[0] = 0x80;
    rec[1] = sizeof(sslv2);
    memcpy(rec + 2, sslv2, sizeof(sslv2));
    ASSERT_INT_EQ(th_parse(rec, sizeof(sslv2) + 2), PTC_ERROR);
    /* A TLS record header in front; another handshake type; a byte too many or too few. */
    tb_hello(0x0303, TB_U16S(0x1301));
    size_t n = tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    memcpy(rec, "\x16\x03\x01\x00", 4);
    rec[4] = (u_char)n;
    memcpy(rec + 5, tb_buf, n);
    ASSERT_INT_EQ(th_parse(rec, n + 5), PTC_ERROR);
    tb_buf[0] = 2; /* ServerHello */
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR);
    tb_buf[0] = 1;
    tb_buf[n] = 0;
    ASSERT_INT_EQ(th_parse(tb_buf, n + 1), PTC_ERROR);
    ASSERT_INT_EQ(th_parse(tb_buf, n - 1), PTC_ERROR);
    tb_buf[3]++; /* the length claims the extra byte, after the extension block */
    ASSERT_INT_EQ(th_parse(tb_buf, n + 1), PTC_ERROR);
}

TEST(th_reject_fields)
{
    /* Session id of 33 bytes (the body built by hand). */
    tb_len = 0;
    tb_u8(1);
    tb_open(3);
    tb_u16(0x0303);
    tb_mem(tb_buf + 100, 32);
    tb_u8(33);
    tb_mem(tb_buf + 100, 33);
    tb_mem("\x00\x02\x13\x01\x01\x00", 6);
    tb_close();
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR);
    tb_buf[38] = 32; /* 32 is fine, and the next field starts one byte earlier */
    tb_buf[38 + 33] = 0x00;
    memcpy(tb_buf + 38 + 33, "\x00\x00\x02\x13\x01\x01\x00", 7);
    tb_len = 38 + 33 + 7;
    tb_buf[3] = (u_char)(tb_len - 4);
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR); /* 0x0000 extension-block byte left over */
    tb_len--;
    tb_buf[3]--;
    memcpy(tb_buf + 38 + 33, "\x00\x02\x13\x01\x01\x00", 6);
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    /* Odd cipher list; no compression method. */
    tb_buf[38 + 33 + 1] = 3;
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR);
    tb_buf[38 + 33 + 1] = 2;
    tb_buf[38 + 33 + 4] = 0;
    tb_len--;
    tb_buf[3]--;
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR);
}

TEST(th_reject_extension_block)
{
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_ext(0x0023, "", 0);
    size_t n = tb_end(), block = n - 6; /* the block's length field */
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    tb_buf[block + 1]++; /* longer than the rest */
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR);
    tb_buf[block + 1] -= 2; /* shorter: a byte left after it, and a cut header in it */
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR);
    tb_buf[block + 1]++;
    tb_buf[n - 1] = 1; /* the extension's data overruns the block */
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR);
    /* A lone byte after the compression methods. */
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_end_bare();
    tb_buf[tb_len++] = 0;
    tb_buf[3]++;
    ASSERT_INT_EQ(th_parse_built(), PTC_ERROR);
}

TEST(th_reject_extensions)
{
    ASSERT_INT_EQ(th_parse_ext(10, "\x00\x03\x00\x17\x00", 5), PTC_ERROR); /* odd groups */
    ASSERT_INT_EQ(th_parse_ext(10, "\x00\x04\x00\x17", 4), PTC_ERROR);     /* list > ext */
    ASSERT_INT_EQ(th_parse_ext(10, "\x00\x02\x00\x17\x00", 5), PTC_ERROR); /* list < ext */
    ASSERT_INT_EQ(th_parse_ext(10, "\x00", 1), PTC_ERROR);                 /* no length */
    ASSERT_INT_EQ(th_parse_ext(10, "", 0), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(10, "\x00\x02\x00\x17", 4), PTC_OK);
    ASSERT_INT_EQ(th_parse_ext(11, "\x02\x00", 2), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(11, "\x01\x00\x01", 3), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(11, "", 0), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(13, "\x00\x01\x04", 3), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(13, "\x00\x02\x04\x03\x00", 5), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(43, "\x03\x03\x04\x03", 4), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(43, "\x02\x03\x04\x03", 4), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(43, "\x04\x03\x04", 3), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(16, "\x00\x03\x05h2", 5), PTC_ERROR);     /* name overruns */
    ASSERT_INT_EQ(th_parse_ext(16, "\x00\x03\x02h2\x00", 6), PTC_ERROR); /* byte after list */
    ASSERT_INT_EQ(th_parse_ext(16, "\x00\x04\x02h2", 5), PTC_ERROR);     /* list > ext */
    ASSERT_INT_EQ(th_parse_ext(16, "\x00", 1), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(16, "\x00\x04\x02h2\x00", 6), PTC_OK); /* an empty 2nd name */
    ASSERT_INT_EQ(th_parse_ext(16, "\x00\x04\x02h2\x00\x00", 7), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(16, "\x00\x04\x02h2\x01x", 7), PTC_ERROR);
    ASSERT_INT_EQ(th_parse_ext(16, "\x00\x05\x02h2\x01x", 7), PTC_OK);
    /* SNI contents are not examined, only its presence. */
    ASSERT_INT_EQ(th_parse_ext(0, "", 0), PTC_OK);
    ASSERT_INT_EQ(th_h.sni, true);
}

TEST(th_reject_duplicates)
{
    static const unsigned read[] = {0, 10, 11, 13, 16, 43};
    static const char *const data[] = {"", "\x00\x00", "\x00", "\x00\x00", "\x00\x00", "\x00"};
    static const size_t len[] = {0, 2, 1, 2, 2, 1};
    for (size_t i = 0; i < ptc_nelems(read); i++) {
        tb_hello(0x0303, TB_U16S(0x1301));
        tb_ext(read[i], data[i], len[i]);
        tb_ext(0x0017, "", 0);
        tb_ext(read[i], data[i], len[i]);
        tb_end();
        if (th_parse_built() != PTC_ERROR) {
            unit_fail(__FILE__, __LINE__, "duplicate extension %u accepted", read[i]);
            return;
        }
    }
    /* Extensions the fingerprints only list are not checked for duplicates. */
    tb_hello(0x0303, TB_U16S(0x1301));
    tb_ext(0x0023, "", 0);
    tb_ext(0x0023, "", 0);
    tb_end();
    ASSERT_INT_EQ(th_parse_built(), PTC_OK);
    ASSERT_STR_EQ(th_ja3(), "771,4865,35-35,,");
}

/* Offset just past the compression methods of a well-formed message. */
static size_t
th_bare_end(const u_char *m)
{
    size_t p = 4 + 2 + 32;
    p += 1 + m[p];
    p += 2 + (size_t)(m[p] << 8 | m[p + 1]);
    return p + 1 + m[p];
}

TEST(th_truncated)
{
    /* Every prefix of every captured ClientHello: as it is (the outer length no longer
     * matches), and with the outer length rewritten so the cut lands inside the body. Only a
     * cut right after the compression methods (a hello without extensions) is well-formed. */
    static u_char msg[2048], cut[2048];
    for (size_t i = 0; i < ptc_nelems(th_clients); i++) {
        size_t n = th_unhex(th_clients[i].hex, msg), bare = th_bare_end(msg);
        for (size_t k = 0; k < n; k++) {
            if (th_parse(msg, k) != PTC_ERROR) {
                unit_fail(__FILE__, __LINE__, "%s: prefix %zu accepted", th_clients[i].client, k);
                return;
            }
            if (k < 4) {
                continue;
            }
            memcpy(cut, msg, k);
            cut[1] = (u_char)((k - 4) >> 16);
            cut[2] = (u_char)((k - 4) >> 8);
            cut[3] = (u_char)(k - 4);
            int want = k == bare ? PTC_OK : PTC_ERROR;
            if (th_parse(cut, k) != want) {
                unit_fail(__FILE__, __LINE__, "%s: cut at %zu: want %d", th_clients[i].client, k,
                          want);
                return;
            }
        }
        ASSERT_INT_EQ(th_parse(msg, n), PTC_OK);
    }
}

TEST(th_mutated)
{
    /* Every byte of every captured ClientHello set to 0x00, 0xff and flipped in its low bit:
     * whatever parses yields fingerprints without reading out of bounds. */
    static u_char msg[2048];
    static const u_char set[] = {0x00, 0xff};
    size_t parsed = 0;
    for (size_t i = 0; i < ptc_nelems(th_clients); i++) {
        size_t n = th_unhex(th_clients[i].hex, msg);
        for (size_t k = 0; k < n; k++) {
            u_char orig = msg[k];
            for (int m = 0; m < 3; m++) {
                msg[k] = m < 2 ? set[m] : orig ^ 1;
                if (th_parse(msg, n) == PTC_OK) {
                    parsed++;
                    ASSERT_TRUE(ptc_tls_ja3(&th_h, NULL, 0) <= PTC_TLS_JA3_MAX);
                    ASSERT_TRUE(strcmp(th_ja3(), "(too long)") != 0);
                    ASSERT_TRUE(strcmp(th_ja3_hash(), "(error)") != 0);
                    ASSERT_TRUE(strcmp(th_ja4(), "(error)") != 0);
                }
            }
            msg[k] = orig;
        }
    }
    ASSERT_TRUE(parsed > 1000); /* random bytes, key shares and more change no length */
}

void
suite_tls_hello(void)
{
    RUN(th_ja3_readme);
    RUN(th_ja4_spec_example);
    RUN(th_chrome_published);
    RUN(th_real_clients);
    RUN(th_parsed_fields);
    RUN(th_grease);
    RUN(th_sort_small);
    RUN(th_sort_long);
    RUN(th_alpn_rules);
    RUN(th_versions);
    RUN(th_empty_lists);
    RUN(th_counts_and_transport);
    RUN(th_output_sizes);
    RUN(th_largest_hello);
    RUN(th_reject_messages);
    RUN(th_reject_fields);
    RUN(th_reject_extension_block);
    RUN(th_reject_extensions);
    RUN(th_reject_duplicates);
    RUN(th_truncated);
    RUN(th_mutated);
    free(th_copy);
    th_copy = NULL;
}
