/* test_secrets.c: tests src/events/secrets.c: every detector masks what it
 * should, and ordinary text (words, numbers, UUIDs, hashes) is left alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "events/secrets.h"

static void expect_masked(const char *in, const char *want)
{
    size_t len;
    char *out = secrets_mask(in, strlen(in), &len);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
}

static void expect_clean(const char *in)
{
    size_t len;
    char *out = secrets_mask(in, strlen(in), &len);
    if (out)
        fail_msg("masked a clean string: %s -> %s", in, out);
}

static void test_keys(void **state)
{
    (void)state;
    expect_masked("curl -H Authorization: Bearer sk-proj-abcdefghijklmnop1234 https://x",
                  "curl -H Authorization: Bearer [REDACTED:credential] https://x");
    expect_masked("key=sk-ant-api03-ABCDEFGHIJKLMNOPQRST end",
                  "key=[REDACTED:anthropic_key] end");
    expect_masked("export OPENAI_API_KEY sk-ABCDEFGHIJKLMNOPQRSTUVWX",
                  "export OPENAI_API_KEY [REDACTED:openai_key]");
    expect_masked("AIzaSyA1234567890abcdefghijklmnopqrstu", "[REDACTED:google_key]");
    expect_masked("aws AKIAIOSFODNN7EXAMPLE x", "aws [REDACTED:aws_key] x");
    expect_masked("ghp_0123456789abcdefghijklmnopqrstuvwxyz", "[REDACTED:github_token]");
    expect_masked("xoxb-1234-5678-abcdefgh", "[REDACTED:slack_token]");
    expect_masked("t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N",
                  "t [REDACTED:jwt]");
    expect_masked("x-api-key: sk-ant-api03-ABCDEFGHIJKLMNOPQRST",
                  "x-api-key: [REDACTED:credential]");
    expect_masked("tool --api-key=abcd1234efgh --v", "tool --api-key=[REDACTED:credential] --v");
    expect_masked("tool --token abcd1234efgh", "tool --token [REDACTED:credential]");
}

static void test_no_false_positives(void **state)
{
    (void)state;
    expect_clean("python3 agent.py --mode=production");
    expect_clean("pip install scikit-learn sk-learn");
    expect_clean("uuid 123e4567-e89b-12d3-a456-426614174000 number 4111 1111 1111 1112");
    expect_clean("sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
    expect_clean("ghost_town skip-this --tokenize x bearer");
    expect_clean("");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_no_false_positives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
