/* test_exeset.c: tests src/capture/exeset.c, the set of executables already
 * checked at an exec: members are found and others are not (including ones
 * that collide in the table), {0, 0} is never a member, adding twice counts
 * once, and past 3/4 of its slots the set starts over instead of filling up
 * (which would make every later lookup probe the whole table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "capture/exeset.h"

static exeset *new_set(void)
{
    exeset *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    return s;
}

static void test_members_and_strangers(void **state)
{
    (void)state;
    exeset *s = new_set();
    for (uint64_t i = 1; i <= 1000; i++)
        exeset_add(s, (exe_id){.dev = 0x801, .ino = i * 7});
    for (uint64_t i = 1; i <= 1000; i++) {
        assert_true(exeset_has(s, (exe_id){.dev = 0x801, .ino = i * 7}));
        assert_false(exeset_has(s, (exe_id){.dev = 0x801, .ino = i * 7 + 1}));
        assert_false(exeset_has(s, (exe_id){.dev = 0x802, .ino = i * 7})); /* same inode, other device */
    }
    assert_int_equal(s->n, 1000);
    free(s);
}

static void test_unknown_never_member(void **state)
{
    (void)state;
    exeset *s = new_set();
    exeset_add(s, (exe_id){0, 0});
    assert_false(exeset_has(s, (exe_id){0, 0}));
    assert_int_equal(s->n, 0);
    exeset_add(s, (exe_id){.dev = 0, .ino = 5}); /* a device numbered 0 is still a file */
    assert_true(exeset_has(s, (exe_id){.dev = 0, .ino = 5}));
    free(s);
}

static void test_add_twice_counts_once(void **state)
{
    (void)state;
    exeset *s = new_set();
    exe_id id = {.dev = 3, .ino = 42};
    exeset_add(s, id);
    exeset_add(s, id);
    assert_int_equal(s->n, 1);
    free(s);
}

static void test_starts_over_when_three_quarters_full(void **state)
{
    (void)state;
    exeset *s = new_set();
    size_t limit = EXESET_SLOTS / 4 * 3;
    for (uint64_t i = 1; i <= limit; i++)
        exeset_add(s, (exe_id){.dev = 1, .ino = i});
    assert_int_equal(s->n, limit);
    assert_true(exeset_has(s, (exe_id){.dev = 1, .ino = 1}));
    exeset_add(s, (exe_id){.dev = 2, .ino = 1}); /* one more: the old ones go */
    assert_int_equal(s->n, 1);
    assert_true(exeset_has(s, (exe_id){.dev = 2, .ino = 1}));
    assert_false(exeset_has(s, (exe_id){.dev = 1, .ino = 1}));
    /* and it keeps working across many rounds of churn */
    for (uint64_t i = 1; i <= 10 * EXESET_SLOTS; i++) {
        exeset_add(s, (exe_id){.dev = 9, .ino = i});
        assert_true(exeset_has(s, (exe_id){.dev = 9, .ino = i}));
        assert_true(s->n <= limit);
    }
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_members_and_strangers),
        cmocka_unit_test(test_unknown_never_member),
        cmocka_unit_test(test_add_twice_counts_once),
        cmocka_unit_test(test_starts_over_when_three_quarters_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
