/* fuzz_dns.c: libFuzzer target for the DNS message parser
 * (src/events/dns.c), which reads datagrams any tracked process sends to
 * or gets from port 53.  Input: the message.
 *
 * Besides memory safety it checks what the event code relies on: every
 * name and value is NUL-terminated inside its buffer and printable ASCII
 * (so it is always valid JSON text), the answers counted never exceed
 * ancount or DNS_ANSWERS_MAX, a name is at most 255 wire octets long in
 * presentation form, and a prefix of a message never yields more answers
 * than the whole message, nor different ones (pointers only point back,
 * so the bytes an answer depends on are all in the prefix). */
#include <string.h>

#include "events/dns.h"
#include "fuzz.h"

static void check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    FUZZ_CHECK(n < cap);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(s[i] >= 0x20 && s[i] <= 0x7e);
}

static dns_msg whole, prefix;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = dns_parse(data, size, &whole);
    if (rc != DNS_OK) {
        FUZZ_CHECK(rc == DNS_E_SHORT || rc == DNS_E_NOQUESTION || rc == DNS_E_NAME);
        return 0;
    }
    check_text(whole.qname, sizeof(whole.qname));
    FUZZ_CHECK(whole.qdcount > 0 || whole.qname[0] == 0);
    FUZZ_CHECK(whole.nanswers <= DNS_ANSWERS_MAX);
    FUZZ_CHECK(whole.nanswers + whole.answers_skipped <= whole.ancount);
    for (size_t i = 0; i < whole.nanswers; i++)
        check_text(whole.answers[i].value, sizeof(whole.answers[i].value));
    char buf[16];
    FUZZ_CHECK(dns_type_name(whole.qtype, buf, sizeof(buf)) != NULL);
    FUZZ_CHECK(dns_rcode_name(whole.rcode, buf, sizeof(buf)) != NULL);
    FUZZ_CHECK(strcmp(dns_type_oisp(whole.qtype), "") != 0);

    /* a prefix: the same header and question, never more answers */
    size_t cut = size / 2 + 1;
    if (cut < size && dns_parse(data, cut, &prefix) == DNS_OK) {
        FUZZ_CHECK(prefix.id == whole.id && prefix.qtype == whole.qtype);
        FUZZ_CHECK(strcmp(prefix.qname, whole.qname) == 0);
        FUZZ_CHECK(prefix.nanswers <= whole.nanswers);
        for (size_t i = 0; i < prefix.nanswers; i++) { /* the same bytes: the same answers */
            const dns_answer *a = &prefix.answers[i], *b = &whole.answers[i];
            FUZZ_CHECK(a->type == b->type && a->ttl == b->ttl && a->has_value == b->has_value);
            FUZZ_CHECK(!a->has_value || strcmp(a->value, b->value) == 0);
        }
    }
    return 0;
}
