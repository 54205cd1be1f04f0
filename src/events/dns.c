/* dns.c: DNS message parser (see dns.h).
 *
 * One pass over the message: header, the first question (the others are
 * skipped), then answer records until ancount, DNS_ANSWERS_MAX or the end
 * of the bytes.  Every read goes through need(), which checks the offset
 * against the length first; names go through read_name(), which follows
 * compression pointers only backwards (and never reads past a pointer it
 * followed), at most DNS_JUMPS_MAX times, and stops at 255 wire octets, so a hostile message costs at most a few
 * thousand byte reads.  Output is written through a bounded text buffer
 * that never overruns and says when it had to cut. */
#include "events/dns.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* ---- bounded text output ---- */

typedef struct text {
    char *p;
    size_t cap, len;
    int cut; /* something did not fit */
} text;

static void text_init(text *t, char *buf, size_t cap)
{
    t->p = buf;
    t->cap = cap;
    t->len = 0;
    t->cut = 0;
    buf[0] = 0;
}

static void text_put(text *t, const char *s, size_t n)
{
    if (t->cut || t->len + n + 1 > t->cap) {
        t->cut = 1;
        return;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

static void text_puts(text *t, const char *s) { text_put(t, s, strlen(s)); }

/* One octet of a label or character-string, escaped as dig does. */
static void text_octet(text *t, uint8_t c, int in_quotes)
{
    char e[5];
    if (c < 0x21 || c > 0x7e) {
        if (c == ' ' && in_quotes) {
            text_put(t, " ", 1);
            return;
        }
        snprintf(e, sizeof(e), "\\%03u", c);
        text_put(t, e, 4);
    } else if (c == '"' || c == '\\' || (!in_quotes && (c == '.' || c == ';' || c == '(' ||
                                                        c == ')' || c == '@' || c == '$'))) {
        e[0] = '\\';
        e[1] = (char)c;
        text_put(t, e, 2);
    } else {
        text_put(t, (const char *)&c, 1);
    }
}

/* ---- wire reads ---- */

static int need(size_t len, size_t off, size_t n) { return off <= len && n <= len - off; }

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The name at *off: its presentation form into out (NULL: check only);
 * *off moves past the name where it starts (past the first pointer if it
 * has one).  Returns 0, or -1 if it is malformed: runs past len, has a
 * label type other than 0 and pointers (0x40, 0x80), a pointer that does
 * not point before itself, a name reached through a pointer that runs
 * into that pointer (a real prior name ends before it), too many
 * pointers, or over 255 wire octets.  So each jump lands strictly lower
 * and only bytes before the first pointer are read after it. */
static int read_name(const uint8_t *m, size_t len, size_t *off, text *out)
{
    size_t pos = *off, end = 0, wire = 1; /* the root's zero octet */
    size_t limit = len;                   /* after a jump: the pointer's offset */
    int jumps = 0, labels = 0;
    for (;;) {
        if (!need(limit, pos, 1))
            return -1;
        uint8_t l = m[pos];
        if ((l & 0xc0) == 0xc0) {
            if (!need(limit, pos, 2))
                return -1;
            size_t target = (size_t)(l & 0x3f) << 8 | m[pos + 1];
            if (target >= pos || ++jumps > DNS_JUMPS_MAX)
                return -1;
            if (!end)
                end = pos + 2;
            limit = pos;
            pos = target;
            continue;
        }
        if (l & 0xc0)
            return -1;
        if (l == 0) {
            if (!end)
                end = pos + 1;
            break;
        }
        if (!need(limit, pos + 1, l))
            return -1;
        wire += (size_t)l + 1;
        if (wire > DNS_NAME_WIRE_MAX)
            return -1;
        if (out) {
            if (labels)
                text_put(out, ".", 1);
            for (size_t i = 0; i < l; i++)
                text_octet(out, m[pos + 1 + i], 0);
        }
        labels++;
        pos += 1 + (size_t)l;
    }
    if (out && !labels)
        text_put(out, ".", 1);
    *off = end;
    return 0;
}

/* ---- names of things ---- */

const char *dns_type_name(uint16_t type, char *buf, size_t buflen)
{
    switch (type) {
    case DNS_T_A: return "A";
    case DNS_T_NS: return "NS";
    case DNS_T_CNAME: return "CNAME";
    case DNS_T_SOA: return "SOA";
    case DNS_T_PTR: return "PTR";
    case DNS_T_MX: return "MX";
    case DNS_T_TXT: return "TXT";
    case DNS_T_AAAA: return "AAAA";
    case DNS_T_SRV: return "SRV";
    case DNS_T_OPT: return "OPT";
    case DNS_T_SVCB: return "SVCB";
    case DNS_T_HTTPS: return "HTTPS";
    case DNS_T_ANY: return "ANY";
    }
    snprintf(buf, buflen, "TYPE%u", type);
    return buf;
}

const char *dns_type_oisp(uint16_t type)
{
    switch (type) {
    case DNS_T_A: return "A";
    case DNS_T_AAAA: return "AAAA";
    case DNS_T_CNAME: return "CNAME";
    case DNS_T_MX: return "MX";
    case DNS_T_TXT: return "TXT";
    case DNS_T_NS: return "NS";
    case DNS_T_PTR: return "PTR";
    case DNS_T_SRV: return "SRV";
    }
    return "other";
}

const char *dns_rcode_oisp(int rcode)
{
    switch (rcode) {
    case 0: return "NOERROR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 5: return "REFUSED";
    }
    return "other";
}

const char *dns_rcode_name(int rcode, char *buf, size_t buflen)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                        "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                        "NOTZONE"};
    if (rcode >= 0 && rcode < (int)(sizeof(names) / sizeof(names[0])))
        return names[rcode];
    snprintf(buf, buflen, "RCODE%d", rcode);
    return buf;
}

const char *dns_strerror(int err)
{
    switch (err) {
    case DNS_OK: return "ok";
    case DNS_E_SHORT: return "shorter than a DNS header";
    case DNS_E_NOQUESTION: return "no complete question";
    case DNS_E_NAME: return "malformed query name";
    }
    return "unknown error";
}

int dns_name_equal(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

/* ---- records ---- */

/* The presentation form of one answer's rdata (rd: offset, n: length). */
static void rdata_value(const uint8_t *m, size_t len, size_t rd, size_t n, dns_answer *a)
{
    text t;
    text_init(&t, a->value, sizeof(a->value) - 3); /* room for "..." if it must be cut */
    size_t off = rd, end = rd + n;
    char num[64];
    a->has_value = 0;
    switch (a->type) {
    case DNS_T_A:
    case DNS_T_AAAA: {
        char ip[INET6_ADDRSTRLEN];
        size_t want = a->type == DNS_T_A ? 4 : 16;
        if (n != want || !inet_ntop(a->type == DNS_T_A ? AF_INET : AF_INET6, m + rd, ip, sizeof(ip)))
            return;
        text_puts(&t, ip);
        break;
    }
    case DNS_T_CNAME:
    case DNS_T_NS:
    case DNS_T_PTR:
        if (read_name(m, len, &off, &t) || off != end)
            return;
        break;
    case DNS_T_MX:
        if (n < 3)
            return;
        snprintf(num, sizeof(num), "%u ", rd16(m + rd));
        text_puts(&t, num);
        off += 2;
        if (read_name(m, len, &off, &t) || off != end)
            return;
        break;
    case DNS_T_SRV:
        if (n < 7)
            return;
        snprintf(num, sizeof(num), "%u %u %u ", rd16(m + rd), rd16(m + rd + 2), rd16(m + rd + 4));
        text_puts(&t, num);
        off += 6;
        if (read_name(m, len, &off, &t) || off != end)
            return;
        break;
    case DNS_T_SOA:
        if (read_name(m, len, &off, &t))
            return;
        text_put(&t, " ", 1);
        if (read_name(m, len, &off, &t) || off > end || end - off != 20)
            return;
        snprintf(num, sizeof(num), " %u %u %u %u %u", rd32(m + off), rd32(m + off + 4),
                 rd32(m + off + 8), rd32(m + off + 12), rd32(m + off + 16));
        text_puts(&t, num);
        break;
    case DNS_T_TXT:
        while (off < end) {
            size_t sl = m[off];
            if (sl > end - off - 1)
                return;
            if (off > rd)
                text_put(&t, " ", 1);
            text_put(&t, "\"", 1);
            for (size_t i = 0; i < sl; i++)
                text_octet(&t, m[off + 1 + i], 1);
            text_put(&t, "\"", 1);
            off += 1 + sl;
        }
        break;
    default: /* RFC 3597: \# length hex */
        if (n > DNS_RDATA_HEX_MAX)
            return;
        snprintf(num, sizeof(num), "\\# %zu", n);
        text_puts(&t, num);
        if (n)
            text_put(&t, " ", 1);
        for (size_t i = 0; i < n; i++) {
            snprintf(num, sizeof(num), "%02x", m[rd + i]);
            text_put(&t, num, 2);
        }
    }
    if (t.cut) /* a long TXT: what fits (whole escapes only), and say so */
        memcpy(a->value + t.len, "...", 4);
    a->has_value = 1;
}

int dns_parse(const uint8_t *m, size_t len, dns_msg *out)
{
    memset(out, 0, offsetof(dns_msg, qname));
    out->qname[0] = 0;
    out->qtype = out->qclass = 0;
    out->nanswers = out->answers_skipped = 0;
    out->partial = 0;
    if (!m || len < DNS_HEADER_LEN)
        return DNS_E_SHORT;
    uint16_t flags = rd16(m + 2);
    out->id = rd16(m);
    out->response = flags >> 15;
    out->opcode = (flags >> 11) & 0xf;
    out->truncated = (flags >> 9) & 1;
    out->rcode = flags & 0xf;
    out->qdcount = rd16(m + 4);
    out->ancount = rd16(m + 6);
    size_t off = DNS_HEADER_LEN;
    if (out->qdcount > 0) {
        text t;
        text_init(&t, out->qname, sizeof(out->qname));
        if (read_name(m, len, &off, &t) || t.cut)
            return DNS_E_NAME;
        if (!need(len, off, 4))
            return DNS_E_NOQUESTION;
        out->qtype = rd16(m + off);
        out->qclass = rd16(m + off + 2);
        off += 4;
    }
    for (unsigned q = 1; q < out->qdcount; q++) { /* other questions: skipped */
        if (read_name(m, len, &off, NULL) || !need(len, off, 4)) {
            out->partial = out->ancount > 0;
            out->answers_skipped = out->ancount;
            return DNS_OK;
        }
        off += 4;
    }
    for (unsigned i = 0; i < out->ancount; i++) {
        if (out->nanswers == DNS_ANSWERS_MAX) {
            out->answers_skipped = out->ancount - i;
            break;
        }
        if (read_name(m, len, &off, NULL) || !need(len, off, 10) ||
            !need(len, off + 10, rd16(m + off + 8))) {
            out->partial = 1;
            out->answers_skipped = out->ancount - i;
            break;
        }
        dns_answer *a = &out->answers[out->nanswers++];
        a->type = rd16(m + off);
        a->rclass = rd16(m + off + 2);
        a->ttl = rd32(m + off + 4);
        size_t n = rd16(m + off + 8);
        rdata_value(m, len, off + 10, n, a);
        off += 10 + n;
    }
    return DNS_OK;
}
