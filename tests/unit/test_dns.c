/* test_dns.c: tests src/events/dns.c (the DNS message parser).
 * The packets are written out byte by byte below, laid out as a glibc stub
 * resolver and a recursive resolver put them on the wire (compression
 * pointers to the question and to earlier answers, an EDNS OPT record in
 * the additional section); the malformed ones break one rule each.  A
 * last test throws random and mutated messages at the parser, for ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/dns.h"

/* Names as labels. */
#define API_OPENAI_COM 3, 'a', 'p', 'i', 6, 'o', 'p', 'e', 'n', 'a', 'i', 3, 'c', 'o', 'm', 0
#define TTL300 0, 0, 1, 0x2c

/* glibc's query for api.openai.com A (id 0x1a2b, RD). */
static const uint8_t query_a[] = {
    0x1a, 0x2b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
    API_OPENAI_COM, 0, 1, 0, 1,
};

/* Its reply: a CNAME to a CDN name, then two A records owned by that name
 * (pointers to the CNAME's rdata at offset 44), and an OPT record. */
static const uint8_t reply_cname_a[] = {
    0x1a, 0x2b, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 1,
    API_OPENAI_COM, 0, 1, 0, 1,                           /* 12..31 */
    0xc0, 0x0c, 0, 5, 0, 1, TTL300, 0, 35,                /* 32..43: CNAME, rdlen 35 */
    3, 'a', 'p', 'i', 6, 'o', 'p', 'e', 'n', 'a', 'i', 3, 'c', 'o', 'm', 3, 'c', 'd', 'n', 10, 'c', 'l', 'o', 'u', 'd', 'f', 'l', 'a', 'r', 'e', 3, 'n', 'e', 't', 0,
    0xc0, 44, 0, 1, 0, 1, TTL300, 0, 4, 104, 18, 33, 45,  /* A 104.18.33.45 */
    0xc0, 44, 0, 1, 0, 1, TTL300, 0, 4, 172, 64, 154, 211,
    0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0,               /* OPT: ignored */
};

static void test_query(void **state)
{
    (void)state;
    dns_msg m;
    assert_int_equal(dns_parse(query_a, sizeof(query_a), &m), DNS_OK);
    assert_int_equal(m.id, 0x1a2b);
    assert_false(m.response);
    assert_int_equal(m.qdcount, 1);
    assert_string_equal(m.qname, "api.openai.com");
    assert_int_equal(m.qtype, DNS_T_A);
    assert_int_equal(m.qclass, 1);
    assert_int_equal(m.nanswers, 0);
    assert_false(m.partial);
}

static void test_reply_cname_a(void **state)
{
    (void)state;
    dns_msg m;
    assert_int_equal(dns_parse(reply_cname_a, sizeof(reply_cname_a), &m), DNS_OK);
    assert_true(m.response);
    assert_int_equal(m.rcode, 0);
    assert_false(m.truncated);
    assert_string_equal(m.qname, "api.openai.com");
    assert_int_equal(m.nanswers, 3);
    assert_int_equal(m.answers[0].type, DNS_T_CNAME);
    assert_int_equal(m.answers[0].ttl, 300);
    assert_string_equal(m.answers[0].value, "api.openai.com.cdn.cloudflare.net");
    assert_int_equal(m.answers[1].type, DNS_T_A);
    assert_string_equal(m.answers[1].value, "104.18.33.45");
    assert_string_equal(m.answers[2].value, "172.64.154.211");
    assert_false(m.partial);
    assert_int_equal(m.answers_skipped, 0);
}

/* AAAA, with the TC bit and the owner a pointer to the question. */
static const uint8_t reply_aaaa[] = {
    0x00, 0x07, 0x83, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
    API_OPENAI_COM, 0, 28, 0, 1,
    0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 5, 0, 16,
    0x26, 0x06, 0x47, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x68, 0x12, 0x21, 0x2d,
    0xc0, 0x0c, 0, 28, 0, 1, 0, 0, 0, 5, 0, 16,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
};

static void test_reply_aaaa(void **state)
{
    (void)state;
    dns_msg m;
    assert_int_equal(dns_parse(reply_aaaa, sizeof(reply_aaaa), &m), DNS_OK);
    assert_true(m.truncated);
    assert_int_equal(m.qtype, DNS_T_AAAA);
    assert_int_equal(m.nanswers, 2);
    assert_string_equal(m.answers[0].value, "2606:4700::6812:212d");
    assert_string_equal(m.answers[1].value, "::1");
    assert_int_equal(m.answers[1].ttl, 5);
}

/* NXDOMAIN with the zone's SOA in the authority section. */
static const uint8_t reply_nx[] = {
    0xbe, 0xef, 0x81, 0x83, 0, 1, 0, 0, 0, 1, 0, 0,
    2, 'n', 'x', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
    0xc0, 15, 0, 6, 0, 1, 0, 0, 0x0e, 0x10, 0, 27,
    2, 'n', 's', 0xc0, 15, 0xc0, 15, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
};

static void test_nxdomain(void **state)
{
    (void)state;
    dns_msg m;
    char buf[16];
    assert_int_equal(dns_parse(reply_nx, sizeof(reply_nx), &m), DNS_OK);
    assert_int_equal(m.rcode, 3);
    assert_string_equal(m.qname, "nx.example");
    assert_int_equal(m.nanswers, 0);
    assert_false(m.partial); /* the authority section is not read */
    assert_string_equal(dns_rcode_oisp(m.rcode), "NXDOMAIN");
    assert_string_equal(dns_rcode_oisp(0), "NOERROR");
    assert_string_equal(dns_rcode_oisp(2), "SERVFAIL");
    assert_string_equal(dns_rcode_oisp(5), "REFUSED");
    assert_string_equal(dns_rcode_oisp(1), "other");
    assert_string_equal(dns_rcode_name(1, buf, sizeof(buf)), "FORMERR");
    assert_string_equal(dns_rcode_name(15, buf, sizeof(buf)), "RCODE15");
}

/* MX, TXT, SRV, PTR, SOA and an unknown type (HTTPS) in one reply. */
static const uint8_t reply_types[] = {
    0x00, 0x01, 0x81, 0x80, 0, 1, 0, 6, 0, 0, 0, 0,
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 255, 0, 1, /* 12..28, ANY */
    0xc0, 12, 0, 15, 0, 1, TTL300, 0, 9, 0, 10, 4, 'm', 'a', 'i', 'l', 0xc0, 12,
    0xc0, 12, 0, 16, 0, 1, TTL300, 0, 15, 11, 'v', '=', 's', 'p', 'f', '1', ' ', '-', 'a', 'l', 'l',
    2, '"', 0x01,
    0xc0, 12, 0, 33, 0, 1, TTL300, 0, 12, 0, 0, 0, 5, 0x01, 0xbb, 3, 's', 'v', 'c', 0xc0, 12,
    0xc0, 12, 0, 12, 0, 1, TTL300, 0, 2, 0xc0, 12,
    0xc0, 12, 0, 6, 0, 1, TTL300, 0, 26, 2, 'n', 's', 0xc0, 12, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0,
    0, 3, 0, 0, 0, 4, 0, 0, 0, 5,
    0xc0, 12, 0, 65, 0, 1, TTL300, 0, 3, 0x01, 0x02, 0x03,
};

static void test_other_types(void **state)
{
    (void)state;
    dns_msg m;
    char buf[16];
    assert_int_equal(dns_parse(reply_types, sizeof(reply_types), &m), DNS_OK);
    assert_int_equal(m.qtype, DNS_T_ANY);
    assert_string_equal(dns_type_oisp(m.qtype), "other");
    assert_string_equal(dns_type_name(m.qtype, buf, sizeof(buf)), "ANY");
    assert_int_equal(m.nanswers, 6);
    assert_string_equal(m.answers[0].value, "10 mail.example.com");
    assert_string_equal(m.answers[1].value, "\"v=spf1 -all\" \"\\\"\\001\"");
    assert_string_equal(m.answers[2].value, "0 5 443 svc.example.com");
    assert_string_equal(m.answers[3].value, "example.com");
    assert_string_equal(m.answers[4].value, "ns.example.com . 1 2 3 4 5");
    assert_string_equal(m.answers[5].value, "\\# 3 010203");
    assert_string_equal(dns_type_name(65, buf, sizeof(buf)), "HTTPS");
    assert_string_equal(dns_type_name(99, buf, sizeof(buf)), "TYPE99");
    assert_string_equal(dns_type_oisp(DNS_T_SRV), "SRV");
    assert_string_equal(dns_type_oisp(DNS_T_MX), "MX");
}

/* Label octets outside letters and digits are escaped as dig writes them. */
static void test_escapes_and_root(void **state)
{
    (void)state;
    static const uint8_t q[] = {
        0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
        7, 'a', '.', 'b', ' ', 0, 0xff, '\\', 1, '*', 0, 0, 1, 0, 1,
    };
    dns_msg m;
    assert_int_equal(dns_parse(q, sizeof(q), &m), DNS_OK);
    assert_string_equal(m.qname, "a\\.b\\032\\000\\255\\\\.*");
    static const uint8_t root[] = {0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1};
    assert_int_equal(dns_parse(root, sizeof(root), &m), DNS_OK);
    assert_string_equal(m.qname, ".");
    assert_int_equal(m.qtype, DNS_T_NS);
    assert_true(dns_name_equal("API.OpenAI.com", "api.openai.COM"));
    assert_false(dns_name_equal("api.openai.com", "api.openai.co"));
}

/* A reply with no question (some servers answer FORMERR that way). */
static void test_no_question(void **state)
{
    (void)state;
    static const uint8_t r[] = {0x12, 0x34, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};
    dns_msg m;
    assert_int_equal(dns_parse(r, sizeof(r), &m), DNS_OK);
    assert_int_equal(m.qdcount, 0);
    assert_string_equal(m.qname, "");
    assert_int_equal(m.rcode, 1);
}

static void test_malformed_question(void **state)
{
    (void)state;
    dns_msg m;
    assert_int_equal(dns_parse(query_a, 11, &m), DNS_E_SHORT);
    assert_int_equal(dns_parse(NULL, 0, &m), DNS_E_SHORT);
    for (size_t n = 12; n < 28; n++) /* the name cut anywhere */
        assert_int_equal(dns_parse(query_a, n, &m), DNS_E_NAME);
    for (size_t n = 28; n < sizeof(query_a); n++) /* type and class cut */
        assert_int_equal(dns_parse(query_a, n, &m), DNS_E_NOQUESTION);

    uint8_t q[400];
    memcpy(q, query_a, 12);
    /* a pointer to itself */
    memcpy(q + 12, "\xc0\x0c\0\1\0\1", 6);
    assert_int_equal(dns_parse(q, 18, &m), DNS_E_NAME);
    /* a pointer forward */
    memcpy(q + 12, "\xc0\x0e\1a\0\0\1\0\1", 9);
    assert_int_equal(dns_parse(q, 21, &m), DNS_E_NAME);
    /* a pointer back into the header, whose "name" there runs over the
     * pointer itself (qdcount 0x0901 reads as a 9-octet label) */
    static const uint8_t over[] = {0, 1, 0, 0, 9, 1, 0, 0, 0, 0, 0, 0, 0xc0, 4, 0, 0, 1, 0, 1};
    assert_int_equal(dns_parse(over, sizeof(over), &m), DNS_E_NAME);
    /* the extended label types 0x40 and 0x80 */
    memcpy(q + 12, "\x41" "a\0\0\1\0\1", 7);
    assert_int_equal(dns_parse(q, 19, &m), DNS_E_NAME);
    q[12] = 0x81;
    assert_int_equal(dns_parse(q, 19, &m), DNS_E_NAME);
    /* 63-octet labels are fine, the name may not pass 255 octets */
    size_t off = 12;
    for (int l = 0; l < 3; l++) {
        q[off] = 63;
        memset(q + off + 1, 'x', 63);
        off += 64;
    }
    q[off] = 61; /* 3 * 64 + 62 + 1 = 255: the longest name */
    memset(q + off + 1, 'y', 61);
    off += 62;
    memcpy(q + off, "\0\0\1\0\1", 5);
    assert_int_equal(dns_parse(q, off + 5, &m), DNS_OK);
    assert_int_equal(strlen(m.qname), 253);
    q[off - 62] = 62; /* one octet more: 256 */
    q[off] = 'y';
    memcpy(q + off + 1, "\0\0\1\0\1", 5);
    assert_int_equal(dns_parse(q, off + 6, &m), DNS_E_NAME);
}

/* Put a 16-bit value big-endian. */
static size_t put16(uint8_t *p, size_t off, unsigned v)
{
    p[off] = (uint8_t)(v >> 8);
    p[off + 1] = (uint8_t)v;
    return off + 2;
}

/* A reply whose first answer's rdata (an unknown type) holds a chain of
 * `chain` pointers, each to the one before, the first to the question;
 * the second answer's owner is a pointer to the chain's end. */
static size_t chain_reply(uint8_t *p, int chain)
{
    memcpy(p, "\0\1\x81\x80\0\1\0\2\0\0\0\0\1a\0\0\1\0\1", 19);
    size_t off = 19;
    off = put16(p, off, 0xc00c);
    off = put16(p, off, 99);
    off = put16(p, off, 1);
    memset(p + off, 0, 4);
    off += 4;
    off = put16(p, off, (unsigned)(2 * chain));
    size_t prev = 12;
    for (int i = 0; i < chain; i++) {
        size_t here = off;
        off = put16(p, off, 0xc000 | (unsigned)prev);
        prev = here;
    }
    off = put16(p, off, 0xc000 | (unsigned)prev);
    off = put16(p, off, 1);
    off = put16(p, off, 1);
    memset(p + off, 0, 4);
    off += 4;
    off = put16(p, off, 4);
    memcpy(p + off, "\x7f\0\0\1", 4);
    return off + 4;
}

static void test_pointer_limits(void **state)
{
    (void)state;
    uint8_t p[512];
    dns_msg m;
    size_t n = chain_reply(p, DNS_JUMPS_MAX - 1); /* the owner: the chain plus its own pointer */
    assert_int_equal(dns_parse(p, n, &m), DNS_OK);
    assert_int_equal(m.nanswers, 2);
    assert_false(m.partial);
    assert_string_equal(m.answers[1].value, "127.0.0.1");
    n = chain_reply(p, DNS_JUMPS_MAX);
    assert_int_equal(dns_parse(p, n, &m), DNS_OK);
    assert_int_equal(m.nanswers, 1); /* the second owner name needs too many jumps */
    assert_true(m.partial);
    assert_int_equal(m.answers_skipped, 1);
}

static void test_malformed_answers(void **state)
{
    (void)state;
    dns_msg m;
    uint8_t p[sizeof(reply_cname_a)];
    /* cut anywhere in the answers: what came before is kept */
    for (size_t n = 32; n < 111; n++) {
        assert_int_equal(dns_parse(reply_cname_a, n, &m), DNS_OK);
        assert_true(m.partial);
        assert_int_equal(m.nanswers, n < 79 ? 0 : n < 95 ? 1 : 2);
        assert_int_equal(m.nanswers + m.answers_skipped, 3);
    }
    /* an A record of 5 bytes, a CNAME with bytes after its name */
    memcpy(p, reply_cname_a, sizeof(p));
    p[42 + 1] = 36; /* CNAME rdlen 36: the next record's first byte is inside */
    assert_int_equal(dns_parse(p, sizeof(p), &m), DNS_OK);
    assert_false(m.answers[0].has_value);
    assert_int_equal(m.answers[0].type, DNS_T_CNAME);
    memcpy(p, reply_cname_a, sizeof(p));
    p[79 + 11] = 3; /* first A: rdlen 3 */
    assert_int_equal(dns_parse(p, sizeof(p), &m), DNS_OK);
    assert_false(m.answers[1].has_value);
    /* ancount says more than there is */
    memcpy(p, reply_cname_a, sizeof(p));
    p[7] = 9;
    assert_int_equal(dns_parse(p, sizeof(p), &m), DNS_OK);
    assert_true(m.partial); /* the OPT record reads as a 4th answer, then the bytes end */
    assert_int_equal(m.nanswers + m.answers_skipped, 9);
}

static void test_many_answers(void **state)
{
    (void)state;
    uint8_t p[2048];
    memcpy(p, "\0\1\x81\x80\0\1\0\0\0\0\0\0\1a\0\0\1\0\1", 19);
    size_t off = 19;
    for (int i = 0; i < 40; i++) {
        memcpy(p + off, "\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\x0a\0\0", 15);
        p[off + 15] = (uint8_t)i;
        off += 16;
    }
    put16(p, 6, 40);
    dns_msg m;
    assert_int_equal(dns_parse(p, off, &m), DNS_OK);
    assert_int_equal(m.nanswers, DNS_ANSWERS_MAX);
    assert_int_equal(m.answers_skipped, 40 - DNS_ANSWERS_MAX);
    assert_false(m.partial);
    assert_string_equal(m.answers[15].value, "10.0.0.15");
}

/* A TXT record longer than a value holds: cut on a whole escape, "...". */
static void test_long_txt(void **state)
{
    (void)state;
    static uint8_t p[4096];
    memcpy(p, "\0\1\x81\x80\0\1\0\1\0\0\0\0\1a\0\0\x10\0\1\xc0\x0c\0\x10\0\1\0\0\0\0", 29);
    size_t off = 29, rd = 31;
    off = put16(p, off, 0);
    for (int s = 0; s < 4; s++) { /* 4 strings of 200 unprintable octets: 4 x 802 chars */
        p[off++] = 200;
        memset(p + off, 0x01, 200);
        off += 200;
    }
    put16(p, rd - 2, (unsigned)(off - rd));
    dns_msg m;
    assert_int_equal(dns_parse(p, off, &m), DNS_OK);
    assert_int_equal(m.nanswers, 1);
    assert_true(m.answers[0].has_value);
    size_t len = strlen(m.answers[0].value);
    assert_true(len < DNS_VALUE_MAX);
    assert_string_equal(m.answers[0].value + len - 3, "...");
    assert_memory_equal(m.answers[0].value + len - 7, "\\001", 4);
}

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void check_msg(const dns_msg *m)
{
    assert_true(strlen(m->qname) < sizeof(m->qname));
    assert_true(m->nanswers <= DNS_ANSWERS_MAX);
    for (size_t i = 0; i < m->nanswers; i++)
        assert_true(strlen(m->answers[i].value) < sizeof(m->answers[i].value));
}

/* Random bytes after a plausible header, and valid replies with bytes
 * flipped: the parser must stay in bounds (ASan) and keep its promises. */
static void test_random_input(void **state)
{
    (void)state;
    uint32_t s = 12345;
    uint8_t buf[600];
    static dns_msg m;
    const uint8_t *bases[] = {reply_cname_a, reply_aaaa, reply_nx, reply_types};
    const size_t sizes[] = {sizeof(reply_cname_a), sizeof(reply_aaaa), sizeof(reply_nx),
                            sizeof(reply_types)};
    for (int i = 0; i < 200000; i++) {
        size_t n;
        if (i & 1) {
            int b = (int)(rnd(&s) % 4);
            n = sizes[b];
            memcpy(buf, bases[b], n);
            for (int k = 1 + (int)(rnd(&s) % 4); k > 0; k--)
                buf[rnd(&s) % n] = (uint8_t)rnd(&s);
            n -= rnd(&s) % 3 == 0 ? rnd(&s) % n : 0;
        } else {
            n = rnd(&s) % sizeof(buf);
            for (size_t k = 0; k < n; k++)
                buf[k] = (rnd(&s) & 3) == 0 ? 0xc0 : (uint8_t)rnd(&s);
            if (n >= 8)
                memcpy(buf + 4, "\0\1\0\x05", 4);
        }
        /* a copy of exactly n bytes, so ASan sees any read past the end */
        uint8_t *exact = malloc(n ? n : 1);
        memcpy(exact, buf, n);
        if (dns_parse(exact, n, &m) == DNS_OK)
            check_msg(&m);
        free(exact);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_reply_cname_a),
        cmocka_unit_test(test_reply_aaaa),
        cmocka_unit_test(test_nxdomain),
        cmocka_unit_test(test_other_types),
        cmocka_unit_test(test_escapes_and_root),
        cmocka_unit_test(test_no_question),
        cmocka_unit_test(test_malformed_question),
        cmocka_unit_test(test_pointer_limits),
        cmocka_unit_test(test_malformed_answers),
        cmocka_unit_test(test_many_answers),
        cmocka_unit_test(test_long_txt),
        cmocka_unit_test(test_random_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
