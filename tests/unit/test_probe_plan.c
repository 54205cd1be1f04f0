/* test_probe_plan.c: tests src/capture/probe_plan.c and elfimg.c: which
 * instructions count as kernel-emulated, and the probe plan for the
 * machine's real libssl and node (skipped where the file is absent). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "capture/elfimg.h"
#include "capture/probe_plan.h"
#include "tls.h"

#define LIBSSL "/usr/lib/x86_64-linux-gnu/libssl.so.3"
#define NODE "/usr/bin/node"

static void test_emulated_insns(void **state)
{
    (void)state;
    const uint8_t push_rbp[] = {0x55}, push_r13[] = {0x41, 0x55}, call[] = {0xe8, 0, 0, 0, 0};
    const uint8_t jle[] = {0x7e, 0x03}, jcc32[] = {0x0f, 0x84, 0, 0, 0, 0}, nop[] = {0x90};
    const uint8_t sub_rsp[] = {0x48, 0x83, 0xec, 0x18}, endbr[] = {0xf3, 0x0f, 0x1e, 0xfa};
    const uint8_t mov[] = {0x48, 0x89, 0xe5}, ret[] = {0xc3};
    assert_true(probe_insn_emulated(push_rbp, 1));
    assert_true(probe_insn_emulated(push_r13, 2));
    assert_true(probe_insn_emulated(call, 5));
    assert_true(probe_insn_emulated(jle, 2));
    assert_true(probe_insn_emulated(jcc32, 6));
    assert_true(probe_insn_emulated(nop, 1));
    assert_false(probe_insn_emulated(sub_rsp, 4));
    assert_false(probe_insn_emulated(endbr, 4));
    assert_false(probe_insn_emulated(mov, 3));
    assert_false(probe_insn_emulated(ret, 1));
    assert_false(probe_insn_emulated(push_r13, 1)); /* truncated */
}

static const probe_site *find_site(const probe_plan *p, int kind, uint32_t dir_read)
{
    for (size_t i = 0; i < p->n; i++)
        if (p->sites[i].kind == kind &&
            (kind == PROBE_FREE || (p->sites[i].cookie & TLS_COOKIE_DIR_READ) == dir_read))
            return &p->sites[i];
    return NULL;
}

/* Debian's libssl: the public functions start with `sub rsp` (single-stepped)
 * but share an internal function starting with `push`: one fast site per
 * direction, with the _ex convention. */
static void test_plan_libssl(void **state)
{
    (void)state;
    if (access(LIBSSL, R_OK) != 0)
        skip();
    probe_plan p;
    assert_int_equal(probe_plan_build(LIBSSL, &p), 1);
    assert_int_equal(p.slow, 0);
    const probe_site *r = find_site(&p, PROBE_DATA, TLS_COOKIE_DIR_READ);
    const probe_site *w = find_site(&p, PROBE_DATA, 0);
    assert_non_null(r);
    assert_non_null(w);
    assert_true(r->emulated && w->emulated);
    assert_true(r->cookie & TLS_COOKIE_EX_CONV);
    assert_true(w->cookie & TLS_COOKIE_EX_CONV);
    assert_non_null(strstr(r->what, "internal@"));
    const probe_site *f = find_site(&p, PROBE_FREE, 0);
    assert_non_null(f); /* test %rdi,%rdi stepped over: the je after it */
    assert_true(f->emulated);
    assert_string_equal(f->what, "SSL_free+0x3");
    size_t data_sites = 0;
    for (size_t i = 0; i < p.n; i++)
        data_sites += p.sites[i].kind == PROBE_DATA;
    assert_int_equal(data_sites, 2); /* SSL_read/SSL_read_ex share one site */
}

/* node links OpenSSL statically; its SSL_* functions start with push. */
static void test_plan_node(void **state)
{
    (void)state;
    if (access(NODE, R_OK) != 0)
        skip();
    probe_plan p;
    assert_int_equal(probe_plan_build(NODE, &p), 1);
    assert_int_equal(p.slow, 0);
    assert_non_null(strstr(p.version, "OpenSSL"));
    size_t data_sites = 0;
    for (size_t i = 0; i < p.n; i++)
        data_sites += p.sites[i].kind == PROBE_DATA;
    assert_int_equal(data_sites, 4);
}

static const probe_site *site_named(const probe_plan *p, const char *what)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->sites[i].what, what) == 0)
            return &p->sites[i];
    return NULL;
}

/* tests/data/elf/probe_sites.S, built next to this test: CET prologues. */
static void test_plan_stepped_prologues(void **state)
{
    (void)state;
    char lib[4096];
    ssize_t n = readlink("/proc/self/exe", lib, sizeof(lib) - 32);
    assert_true(n > 0);
    lib[n] = 0;
    strcpy(strrchr(lib, '/') + 1, "probe_sites.so");
    probe_plan p;
    assert_int_equal(probe_plan_build(lib, &p), 1);
    assert_int_equal(p.n, 5);
    const probe_site *s;
    assert_non_null(s = site_named(&p, "SSL_read+0x4")); /* endbr64 stepped over */
    assert_true(s->emulated);
    assert_int_equal(s->file_offset, 0x1004);
    assert_non_null(s = site_named(&p, "SSL_read_ex")); /* xor %edx,%edx: entry */
    assert_false(s->emulated);
    assert_non_null(s = site_named(&p, "SSL_write+0x7")); /* endbr64, mov %rdi,%rax */
    assert_true(s->emulated);
    assert_non_null(s = site_named(&p, "SSL_write_ex")); /* a loop jumps to the je */
    assert_false(s->emulated);
    assert_non_null(s = site_named(&p, "SSL_free+0x7"));
    assert_true(s->emulated);
    assert_int_equal(s->kind, PROBE_FREE);
    assert_int_equal(p.slow, 2);
}

static void test_plan_non_tls(void **state)
{
    (void)state;
    probe_plan p;
    assert_int_equal(probe_plan_build("/bin/sh", &p), 0);
    assert_int_equal(probe_plan_build("/etc/hostname", &p), -1);
    assert_int_equal(probe_plan_build("/nonexistent", &p), -1);
}

static void test_elf_offsets(void **state)
{
    (void)state;
    if (access(LIBSSL, R_OK) != 0)
        skip();
    elfimg *img = elfimg_open(LIBSSL);
    assert_non_null(img);
    uint64_t a = elfimg_func(img, "SSL_write");
    assert_true(a != 0);
    assert_true(elfimg_in_text(img, a));
    assert_true(elfimg_file_offset(img, a) > 0);
    assert_int_equal(elfimg_func(img, "no_such_function_here"), 0);
    uint8_t b[8];
    assert_int_equal(elfimg_read(img, a, b, sizeof(b)), sizeof(b));
    elfimg_close(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emulated_insns), cmocka_unit_test(test_plan_libssl),
        cmocka_unit_test(test_plan_node),      cmocka_unit_test(test_plan_stepped_prologues),
        cmocka_unit_test(test_plan_non_tls),
        cmocka_unit_test(test_elf_offsets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
