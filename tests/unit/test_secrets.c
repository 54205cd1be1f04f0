/* test_secrets.c: tests src/events/secrets.c, the detectors.  Every detector
 * masks what it should, wherever it sits (quotes, JSON, punctuation,
 * UTF-8 around it), and leaves its near misses alone; a corpus of ordinary
 * text, code and numbers (tests/data/redact/clean.txt) has no finding at
 * all; masking is idempotent and never breaks UTF-8, also on random input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/secrets.h"

#define CORPUS "../data/redact/clean.txt"

static char *mask_all(const char *in, unsigned kinds, secrets_tally *counts)
{
    char *out = NULL;
    size_t len = 0;
    int rc = secrets_mask_kinds(in, strlen(in), kinds, counts, &out, &len);
    assert_true(rc >= 0);
    if (rc == 0)
        return NULL;
    assert_int_equal(len, strlen(out));
    return out;
}

static void expect_kinds(const char *in, unsigned kinds, const char *want)
{
    char *out = mask_all(in, kinds, NULL);
    if (!out)
        fail_msg("nothing found in: %s\n  want: %s", in, want);
    if (strcmp(out, want) != 0)
        fail_msg("in:   %s\n  got:  %s\n  want: %s", in, out, want);
    char *again = mask_all(out, kinds, NULL); /* idempotent */
    if (again)
        fail_msg("masked twice: %s -> %s", out, again);
    free(out);
}

static void expect_masked(const char *in, const char *want) { expect_kinds(in, SECRETS_ALL, want); }

static void expect_clean(const char *in)
{
    char *out = mask_all(in, SECRETS_ALL, NULL);
    if (out)
        fail_msg("masked a clean string:\n  in:  %s\n  out: %s", in, out);
}

#define OPENAI "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34"
#define ANTHROPIC "sk-ant-api03-Xy12Zw34Vu56Ts78Rq90-AAbb"
#define GOOGLE "AIzaSyA1234567890abcdefghijklmnopqrstu"
#define AWS "AKIAIOSFODNN7EXAMPLE"
#define GITHUB "ghp_0123456789abcdefghijklmnopqrstuvwxyz"
#define JWT "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"

static void test_api_keys(void **state)
{
    (void)state;
    expect_masked("key=" ANTHROPIC " end", "key=[REDACTED:anthropic_key] end");
    expect_masked("export OPENAI_API_KEY sk-ABCDEFGHIJKLMNOPQRSTUVWX",
                  "export OPENAI_API_KEY [REDACTED:openai_key]");
    expect_masked(OPENAI, "[REDACTED:openai_key]");
    expect_masked("sk-svcacct-ABCDEFGHIJKLMNOPQRSTUVWX", "[REDACTED:openai_key]");
    expect_masked(GOOGLE, "[REDACTED:google_key]");
    expect_masked("https://generativelanguage.googleapis.com/v1/models?key=" GOOGLE "&alt=sse",
                  "https://generativelanguage.googleapis.com/v1/models?key=[REDACTED:google_key]&alt=sse");
    expect_masked("aws " AWS " x", "aws [REDACTED:aws_key] x");
    expect_masked("ASIAY34FZKBOKMUTVV7A,", "[REDACTED:aws_key],");
    expect_masked(GITHUB, "[REDACTED:github_token]");
    expect_masked("github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
                  "[REDACTED:github_token]");
    expect_masked("gho_16C7e42F292c6912E7710c838347Ae178B4a", "[REDACTED:github_token]");
    expect_masked("xoxb-1234-5678-abcdefgh", "[REDACTED:slack_token]");
    expect_masked("xoxp-123456789012-abcdefghij", "[REDACTED:slack_token]");
    expect_masked("t " JWT, "t [REDACTED:jwt]");
    /* adjacent to punctuation, quotes, JSON, UTF-8 */
    expect_masked("(" OPENAI ")", "([REDACTED:openai_key])");
    expect_masked("\"" OPENAI "\",", "\"[REDACTED:openai_key]\",");
    expect_masked("{\"k\":\"" ANTHROPIC "\"}", "{\"k\":\"[REDACTED:anthropic_key]\"}");
    expect_masked("'" AWS "'.", "'[REDACTED:aws_key]'.");
    expect_masked("キー:" OPENAI "。次", "キー:[REDACTED:openai_key]。次");
    expect_masked("é" GITHUB "é", "é[REDACTED:github_token]é");
    expect_masked("two " OPENAI " and " GITHUB "!",
                  "two [REDACTED:openai_key] and [REDACTED:github_token]!");
    expect_masked("<key>" GOOGLE "</key>", "<key>[REDACTED:google_key]</key>");
}

static void test_api_key_near_misses(void **state)
{
    (void)state;
    expect_clean("sk-short-key");                         /* too short */
    expect_clean("task-ABCDEFGHIJKLMNOPQRSTUVWXYZ");      /* not at a word start */
    expect_clean("xAKIAIOSFODNN7EXAMPLE");                /* inside a word */
    expect_clean("AKIAIOSFODNN7EXAMPLEX");                /* 17 characters after AKIA */
    expect_clean("AKIAiosfodnn7example");                 /* lower case */
    expect_clean("ghx_0123456789abcdefghijklmnopqrstuvwxyz");
    expect_clean("ghp_0123456789");
    expect_clean("xoxz-1234-5678-abcdefgh");
    expect_clean("xoxb-123");
    expect_clean("eyJhbGciOiJIUzI1NiJ9.eyJzdWIi");        /* two parts */
    expect_clean("AIzaShort");
}

static void test_credentials(void **state)
{
    (void)state;
    expect_masked("curl -H Authorization: Bearer " OPENAI " https://x",
                  "curl -H Authorization: Bearer [REDACTED:openai_key] https://x");
    expect_masked("Authorization: Bearer abc123.def456-ghi", "Authorization: Bearer [REDACTED:credential]");
    expect_masked("authorization=Basic dXNlcjpwYXNz", "authorization=Basic [REDACTED:credential]");
    expect_masked("Bearer dGhpcyBpcyBhIHRva2Vu", "Bearer [REDACTED:credential]");
    expect_masked("x-api-key: " ANTHROPIC, "x-api-key: [REDACTED:anthropic_key]");
    expect_masked("X-Goog-Api-Key: Zm9vYmFyYmF6MTIz", "X-Goog-Api-Key: [REDACTED:credential]");
    expect_masked("tool --api-key=abcd1234efgh --v", "tool --api-key=[REDACTED:credential] --v");
    expect_masked("tool --token abcd1234efgh", "tool --token [REDACTED:credential]");
    expect_masked("mysql --password hunter2hunter2 db", "mysql --password [REDACTED:credential] db");
    expect_masked("GITHUB_TOKEN=abcdef0123456789abcd ./run",
                  "GITHUB_TOKEN=[REDACTED:credential] ./run");
    expect_masked("{\"api_key\": \"abcd1234efgh5678\", \"n\": 1}",
                  "{\"api_key\": \"[REDACTED:credential]\", \"n\": 1}");
    expect_masked("{\\\"password\\\":\\\"s3cr3t-pass\\\"}",
                  "{\\\"password\\\":\\\"[REDACTED:credential]\\\"}");
    expect_masked("db_password: correcthorsebatterystaple99", "db_password: [REDACTED:credential]");
    expect_masked("client_secret=Q2xpZW50U2VjcmV0&grant=x", "client_secret=[REDACTED:credential]&grant=x");
    expect_masked("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                  "aws_secret_access_key = [REDACTED:credential]");
    expect_masked("The token is: token=AbCdEf123456.", "The token is: token=[REDACTED:credential].");
    expect_masked("Authorization: token " GITHUB, "Authorization: token [REDACTED:github_token]");
    expect_masked("«password=pässwörd123»", "«password=[REDACTED:credential]");
    /* only credentials in SECRETS_CREDENTIALS */
    expect_kinds("mail a@example.com key " OPENAI, SECRETS_CREDENTIALS,
                 "mail a@example.com key [REDACTED:openai_key]");
}

static void test_credential_near_misses(void **state)
{
    (void)state;
    expect_clean("max_tokens=100000000 tokens: 12345678");
    expect_clean("token: the unit of text");
    expect_clean("Bearer tokens are passed in headers");
    expect_clean("password = prompt()");
    expect_clean("password: short1");
    expect_clean("x == password==abcdef123456");
    expect_clean("ghost_token_count=12345678");
    expect_clean("--tokenize abcdef123456");
    expect_clean("token=[REDACTED:credential] --api-key [REDACTED:credential]");
}

static void test_email(void **state)
{
    (void)state;
    expect_masked("write to alice@example.com today", "write to [REDACTED:email] today");
    expect_masked("<first.last+tag@mail.example.co.uk>", "<[REDACTED:email]>");
    expect_masked("\"bob_99@corp-mail.io\",", "\"[REDACTED:email]\",");
    expect_masked("mailto:carol@example.org.", "mailto:[REDACTED:email].");
    expect_masked("連絡先: dave@example.jp です", "連絡先: [REDACTED:email] です");
    expect_masked("a@b.cd,e@f.gh", "[REDACTED:email],[REDACTED:email]");
    expect_masked("eve@example.com: hi", "[REDACTED:email]: hi");
    expect_masked("curl --user grace@example.com:pw", "curl --user [REDACTED:email]:pw");
    expect_clean("git@github.com:org/repo.git");
    expect_clean("icon@2x.png pkg@1.2.3 user@localhost a@b .a@b.com");
    expect_clean("alice@example.c0m");
    expect_clean("x@-bad.com");
}

static void test_cards(void **state)
{
    (void)state;
    expect_masked("card 4111 1111 1111 1111 exp 12/27", "card [REDACTED:card] exp 12/27");
    expect_masked("4111-1111-1111-1111", "[REDACTED:card]");
    expect_masked("4111111111111111", "[REDACTED:card]");
    expect_masked("mc 5555555555554444.", "mc [REDACTED:card].");
    expect_masked("mc2 2223003122003222", "mc2 [REDACTED:card]");
    expect_masked("amex 3782 822463 10005", "amex [REDACTED:card]");
    expect_masked("amex 378282246310005", "amex [REDACTED:card]");
    expect_masked("discover 6011111111111117", "discover [REDACTED:card]");
    expect_masked("jcb 3530111333300000", "jcb [REDACTED:card]");
    expect_masked("diners 3056 930902 5904", "diners [REDACTED:card]");
    expect_masked("visa13 4222222222222", "visa13 [REDACTED:card]");
    expect_masked("{\"card\":\"4012888888881881\"}", "{\"card\":\"[REDACTED:card]\"}");
    expect_masked("[4111111111111111,1]", "[[REDACTED:card],1]");
    expect_masked("カード4111111111111111です", "カード[REDACTED:card]です");
    expect_masked("qty 2 4111 1111 1111 1111", "qty 2 [REDACTED:card]");
    /* Luhn-invalid, wrong network or length, wrong grouping, not standing alone */
    expect_clean("4111 1111 1111 1112");
    expect_clean("4111111111111112");
    expect_clean("378282246310006");
    expect_clean("1234567890123452");    /* Luhn-valid, no network starts with 1 */
    expect_clean("4111 11111 111 1111"); /* wrong grouping */
    expect_clean("4111-1111 1111-1111"); /* mixed separators */
    expect_clean("41111111111111111111111");
    expect_clean("x4111111111111111 4111111111111111y 4111111111111111_");
    expect_clean("0.4111111111111111 4111111111111111.5 +4111111111111111");
    expect_clean("v1.4111111111111111");
}

static void test_masks_skipped(void **state)
{
    (void)state;
    expect_clean("[REDACTED:openai_key][REDACTED:card]");
    expect_clean("[REDACTED:ticket]sk-ABCDEFGHIJKLMNOPQRSTUVWX"); /* not a word start after a mask */
    expect_masked("[REDACTED:x] " OPENAI, "[REDACTED:x] [REDACTED:openai_key]");
    expect_masked("[REDACTED:] " OPENAI, "[REDACTED:] [REDACTED:openai_key]");
    assert_int_equal(secrets_mask_at("[REDACTED:email]", 16, 0), 16);
    assert_int_equal(secrets_mask_at("[REDACTED:email", 15, 0), 0);
    assert_int_equal(secrets_mask_at("[REDACTED:e mail]", 17, 0), 0);
}

static void test_counts_and_legacy(void **state)
{
    (void)state;
    secrets_tally t = {0};
    char *out = mask_all("a@b.io c@d.io " OPENAI " 4111111111111111 [REDACTED:x]", SECRETS_ALL, &t);
    assert_non_null(out);
    free(out);
    assert_int_equal(t.found[SECRET_EMAIL], 2);
    assert_int_equal(t.found[SECRET_OPENAI_KEY], 1);
    assert_int_equal(t.found[SECRET_CARD], 1);
    assert_int_equal(t.found[SECRET_JWT], 0);
    assert_true(t.masks_seen >= 1);
    secrets_tally t2 = {0};
    assert_null(mask_all("masked before: [REDACTED:credential]", SECRETS_ALL, &t2));
    assert_int_equal(t2.masks_seen, 1);
    for (int k = 0; k < SECRET_KIND_COUNT; k++)
        assert_int_equal(t2.found[k], 0);
    size_t len;
    char *legacy = secrets_mask("u@example.com --token abcd1234efgh", 34, &len);
    assert_non_null(legacy);
    assert_string_equal(legacy, "u@example.com --token [REDACTED:credential]");
    assert_int_equal(len, strlen(legacy));
    free(legacy);
    assert_null(secrets_mask("nothing here", 12, &len));
    assert_null(secrets_mask("", 0, NULL));
    assert_true(secrets_name_is_credential("x-api-key", 9));
    assert_true(secrets_name_is_credential("Authorization", 13));
    assert_true(secrets_name_is_credential("GITHUB_TOKEN", 12));
    assert_false(secrets_name_is_credential("max_tokens", 10));
    assert_false(secrets_name_is_credential("mytoken", 7));
    assert_string_equal(secrets_kind_name(SECRET_CARD), "card");
}

static void test_clean_corpus(void **state)
{
    (void)state;
    FILE *f = fopen(CORPUS, "r");
    assert_non_null(f);
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || !line[0])
            continue;
        expect_clean(line);
        lines++;
    }
    fclose(f);
    assert_true(lines > 40);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i], k = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                                         : (c & 0xF8) == 0xF0 ? 3 : 9;
        if (k == 9 || i + k >= n + (k ? 0 : 1))
            return 0;
        for (unsigned j = 1; j <= k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        i += k + 1;
    }
    return 1;
}

/* Random mixes of tokens that trigger the detectors: no crash, no change on
 * a second pass, UTF-8 kept, and every masked input had a finding. */
static void test_random_mixes(void **state)
{
    (void)state;
    static const char *const parts[] = {
        OPENAI, ANTHROPIC, GOOGLE, AWS, GITHUB, JWT, "xoxb-1234-5678-abcdefgh", "a@b.io",
        "4111 1111 1111 1111", "4111111111111111", "Bearer ", "Authorization: ", "token=",
        "--password ", "api_key\":\"", "[REDACTED:x]", "[REDACTED:", "]", "@", ".", "-", "--",
        " ", "\"", ":", "=", "é", "日本", "1", "12345", "abc", "sk-", "eyJ", "AKIA", "\\",
        "[", "x@", ".com", "0", "9", "_", "\n",
    };
    char buf[512];
    for (int it = 0; it < 20000; it++) {
        size_t n = 0;
        int k = 1 + (int)(rnd() % 12);
        for (int j = 0; j < k; j++) {
            const char *p = parts[rnd() % (sizeof(parts) / sizeof(parts[0]))];
            size_t l = strlen(p);
            if (n + l >= sizeof(buf))
                break;
            memcpy(buf + n, p, l);
            n += l;
        }
        buf[n] = 0;
        char *out = NULL;
        size_t len;
        int rc = secrets_mask_kinds(buf, n, SECRETS_ALL, NULL, &out, &len);
        assert_true(rc >= 0);
        if (rc == 0)
            continue;
        if (!valid_utf8((unsigned char *)out, len))
            fail_msg("invalid UTF-8 from: %s", buf);
        char *again = NULL;
        size_t len2;
        if (secrets_mask_kinds(out, len, SECRETS_ALL, NULL, &again, &len2) != 0)
            fail_msg("not idempotent:\n  in:    %s\n  once:  %s\n  twice: %s", buf, out, again);
        /* the same after 1-31 spaces: the 16-byte blocks fall elsewhere */
        char shifted[sizeof(buf) + 32];
        size_t pad = 1 + rnd() % 31;
        memset(shifted, ' ', pad);
        memcpy(shifted + pad, buf, n + 1);
        char *out2 = NULL;
        size_t len3;
        assert_int_equal(secrets_mask_kinds(shifted, n + pad, SECRETS_ALL, NULL, &out2, &len3), 1);
        if (len3 != len + pad || strcmp(out2 + pad, out) != 0)
            fail_msg("depends on alignment:\n  in:      %s\n  out:     %s\n  shifted: %s", buf,
                     out, out2 + pad);
        free(out2);
        free(out);
    }
    /* random bytes, including NULs and high bytes: no crash, bounded output */
    for (int it = 0; it < 5000; it++) {
        size_t n = rnd() % sizeof(buf);
        for (size_t j = 0; j < n; j++)
            buf[j] = rnd() % 4 ? "sAgxebB:=@-[0123456789 ._\"'"[rnd() % 27] : (char)rnd();
        char *out = NULL;
        size_t len;
        if (secrets_mask_kinds(buf, n, SECRETS_ALL, NULL, &out, &len) > 0) {
            assert_true(len <= 3 * n + 32);
            free(out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_keys),       cmocka_unit_test(test_api_key_near_misses),
        cmocka_unit_test(test_credentials),    cmocka_unit_test(test_credential_near_misses),
        cmocka_unit_test(test_email),          cmocka_unit_test(test_cards),
        cmocka_unit_test(test_masks_skipped),  cmocka_unit_test(test_counts_and_legacy),
        cmocka_unit_test(test_clean_corpus),   cmocka_unit_test(test_random_mixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
