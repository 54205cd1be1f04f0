/* dns.h: a small parser of DNS messages (RFC 1035 wire format), for the
 * UDP datagrams host.bpf.c copies from tracked processes' port-53 traffic.
 *
 * The bytes come from any process on the host, so every read is bounded:
 * a name is at most 255 octets on the wire, a label at most 63, and
 * compression pointers must point before themselves (to a name that ends
 * before them), at most DNS_JUMPS_MAX of them per name.  dns_parse reads the header, the first
 * question and up to DNS_ANSWERS_MAX answer records into a fixed-size
 * struct; it never allocates.  Names and values are in presentation form
 * (dig's escapes: "\." inside a label, "\DDD" for bytes outside printable
 * ASCII), so they are plain NUL-terminated ASCII. */
#ifndef OISP_EVENTS_DNS_H
#define OISP_EVENTS_DNS_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_NAME_WIRE_MAX 255
#define DNS_LABEL_MAX 63
#define DNS_JUMPS_MAX 32
/* Presentation form of the longest name: every octet as \DDD, plus dots. */
#define DNS_NAME_TEXT_MAX (4 * DNS_NAME_WIRE_MAX + 1)
#define DNS_VALUE_MAX (DNS_NAME_TEXT_MAX + 8) /* MX: "65535 " + name */
#define DNS_ANSWERS_MAX 16
#define DNS_RDATA_HEX_MAX 64 /* unknown types: rdata shown as RFC 3597 hex up to this size */

enum {
    DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12, DNS_T_MX = 15,
    DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_OPT = 41, DNS_T_SVCB = 64,
    DNS_T_HTTPS = 65, DNS_T_ANY = 255,
};

/* dns_parse errors (negative). */
enum {
    DNS_OK = 0,
    DNS_E_SHORT = -1,    /* shorter than a header */
    DNS_E_NOQUESTION = -2, /* the question runs past the end */
    DNS_E_NAME = -3,     /* the question's name is malformed (bad label, loop, too long) */
};

typedef struct dns_answer {
    uint16_t type;
    uint16_t rclass;
    uint32_t ttl;
    int has_value;           /* 0: malformed rdata, or an unknown type's rdata over
                              * DNS_RDATA_HEX_MAX; a value cut to fit ends in "..." */
    char value[DNS_VALUE_MAX];
} dns_answer;

typedef struct dns_msg {
    uint16_t id;
    int response;            /* QR: 1 reply, 0 query */
    int opcode;
    int rcode;               /* the header's 4-bit RCODE */
    int truncated;           /* TC: the server cut the reply (the client retries over TCP) */
    uint16_t qdcount, ancount;
    char qname[DNS_NAME_TEXT_MAX]; /* the first question; "." for the root; "" if qdcount
                                    * is 0 (some servers answer errors without it) */
    uint16_t qtype, qclass;
    dns_answer answers[DNS_ANSWERS_MAX];
    size_t nanswers;         /* answers[] filled */
    size_t answers_skipped;  /* answer records beyond DNS_ANSWERS_MAX */
    int partial;             /* the answers stop early: bytes ran out or a record is malformed */
} dns_msg;

/* Parses len bytes at p into out.  DNS_OK when the header and the first
 * question (if any: qdcount may be 0) were read (answers as far as they go: out->partial says they
 * stopped early); a DNS_E_* error otherwise, with out undefined. */
int dns_parse(const uint8_t *p, size_t len, dns_msg *out);

/* "A", "AAAA", "CNAME", ... or "TYPE<n>" (RFC 3597) for others; buf holds
 * at least 12 bytes and is used for the latter. */
const char *dns_type_name(uint16_t type, char *buf, size_t buflen);

/* The OISP query_type enum value of a type: A AAAA CNAME MX TXT NS PTR SRV,
 * else "other". */
const char *dns_type_oisp(uint16_t type);

/* The OISP response_code value: NOERROR NXDOMAIN SERVFAIL REFUSED, else
 * "other". */
const char *dns_rcode_oisp(int rcode);

/* Names of the RCODEs 0..10 (FORMERR, NOTIMP, ...), "RCODE<n>" for others. */
const char *dns_rcode_name(int rcode, char *buf, size_t buflen);

const char *dns_strerror(int err);

/* Case-insensitive equality of two presentation-form names. */
int dns_name_equal(const char *a, const char *b);

#endif
