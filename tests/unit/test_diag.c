/* test_diag.c: tests src/cli/diag.c, the parsers behind `check`, `diagnose`
 * and `ssl-info`: /proc maps lines, kernel releases, capability masks,
 * version strings, library names; TLS stack detection on small ELF files
 * built here with gcc (OpenSSL, BoringSSL, GnuTLS, Go crypto/tls with and
 * without symbols, rustls by symbol and by crate path) and on the machine's
 * own binaries where present; hostile files (garbage, truncated and
 * corrupted ELF, FIFOs, directories); and the process report for real child
 * processes (sleep: no TLS; python3 after `import ssl`: OpenSSL, dynamic). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/diag.h"

#define LIBSSL "/usr/lib/x86_64-linux-gnu/libssl.so.3"
#define NODE "/usr/bin/node"

static char tmpdir[] = "/tmp/test_diag.XXXXXX";
static int have_gcc;

/* ---- helpers ------------------------------------------------------------------ */

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Compiles C source into tmpdir/out with extra gcc flags; 0 on success. */
static int build(const char *out, const char *src, const char *flags)
{
    char c[512], cmd[2048];
    snprintf(c, sizeof(c), "%s/%s.c", tmpdir, out);
    write_file(c, src, strlen(src));
    snprintf(cmd, sizeof(cmd), "gcc -w %s -o %s/%s %s 2>/dev/null", flags, tmpdir, out, c);
    return system(cmd);
}

static const char *tpath(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
    return p[k];
}

static int setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    have_gcc = system("gcc --version >/dev/null 2>&1") == 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- text parsers ------------------------------------------------------------- */

static void test_kernel_version(void **state)
{
    (void)state;
    unsigned a, b, c;
    assert_int_equal(diag_kernel_version_parse("6.18.44-fc-v595", &a, &b, &c), 0);
    assert_true(a == 6 && b == 18 && c == 44);
    assert_int_equal(diag_kernel_version_parse("4.18.0-477.el8.x86_64", &a, &b, &c), 0);
    assert_true(a == 4 && b == 18 && c == 0);
    assert_int_equal(diag_kernel_version_parse("5.17", &a, &b, &c), 0);
    assert_true(a == 5 && b == 17 && c == 0);
    assert_int_equal(diag_kernel_version_parse("6.1-rc3", &a, &b, &c), 0);
    assert_true(a == 6 && b == 1);
    assert_int_equal(diag_kernel_version_parse("", &a, &b, &c), -1);
    assert_int_equal(diag_kernel_version_parse("6", &a, &b, &c), -1);
    assert_int_equal(diag_kernel_version_parse("6.", &a, &b, &c), -1);
    assert_int_equal(diag_kernel_version_parse("v6.1", &a, &b, &c), -1);
    assert_int_equal(diag_kernel_version_parse("-6.1", &a, &b, &c), -1);
    assert_int_equal(diag_kernel_version_parse("99999999999999999999999.1", &a, &b, &c), -1);
    assert_int_equal(diag_kernel_version_parse(NULL, &a, &b, &c), -1);
}

static void test_caps_parse(void **state)
{
    (void)state;
    uint64_t v;
    const char st[] = "Name:\tbash\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
                      "CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n";
    assert_int_equal(diag_caps_parse(st, strlen(st), &v), 0);
    assert_true(v == 0x1ffffffffffull);
    assert_true((v >> 39) & 1); /* CAP_BPF */
    const char first[] = "CapEff:\t0000000000200000\n";
    assert_int_equal(diag_caps_parse(first, strlen(first), &v), 0);
    assert_true(v == 1ull << 21);
    const char notline[] = "XCapEff:\t00000000000000ff\n";
    assert_int_equal(diag_caps_parse(notline, strlen(notline), &v), -1);
    const char toolong[] = "CapEff:\t00000000000000000001\n";
    assert_int_equal(diag_caps_parse(toolong, strlen(toolong), &v), -1);
    const char bad[] = "CapEff:\tzz\n";
    assert_int_equal(diag_caps_parse(bad, strlen(bad), &v), -1);
    const char trailing[] = "CapEff:\t00ff junk\n";
    assert_int_equal(diag_caps_parse(trailing, strlen(trailing), &v), -1);
    /* the buffer ends right after the digits (no NUL, no newline) */
    char cut[] = {'C', 'a', 'p', 'E', 'f', 'f', ':', '\t', '1', 'f'};
    assert_int_equal(diag_caps_parse(cut, sizeof(cut), &v), 0);
    assert_true(v == 0x1f);
    assert_int_equal(diag_caps_parse("", 0, &v), -1);
}

static void test_maps_parse(void **state)
{
    (void)state;
    diag_map m;
    char l1[] = "7f1c2a400000-7f1c2a4a5000 r-xp 00022000 fd:01 1234567    "
                "/usr/lib/x86_64-linux-gnu/libssl.so.3\n";
    assert_int_equal(diag_maps_parse_line(l1, &m), 0);
    assert_true(m.start == 0x7f1c2a400000ull && m.end == 0x7f1c2a4a5000ull);
    assert_true(m.offset == 0x22000 && m.inode == 1234567);
    assert_int_equal(m.dev_major, 0xfd);
    assert_int_equal(m.dev_minor, 1);
    assert_string_equal(m.perms, "r-xp");
    assert_string_equal(m.path, "/usr/lib/x86_64-linux-gnu/libssl.so.3");
    assert_false(m.deleted);

    char l2[] = "55d0c000-55d0d000 r-xp 00001000 103:02 99 /home/a b/my node (deleted)";
    assert_int_equal(diag_maps_parse_line(l2, &m), 0);
    assert_string_equal(m.path, "/home/a b/my node");
    assert_true(m.deleted);
    assert_int_equal(m.dev_major, 0x103);

    char anon[] = "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 \n";
    assert_int_equal(diag_maps_parse_line(anon, &m), 0);
    assert_null(m.path);
    char vdso[] = "7ffd1000-7ffd2000 r-xp 00000000 00:00 0                          [vdso]";
    assert_int_equal(diag_maps_parse_line(vdso, &m), 0);
    assert_string_equal(m.path, "[vdso]");
    char only_deleted[] = "1000-2000 r-xp 00000000 00:05 7  (deleted)";
    assert_int_equal(diag_maps_parse_line(only_deleted, &m), 0);
    assert_string_equal(m.path, "(deleted)"); /* " (deleted)" needs a name before it */

    const char *bad[] = {
        "",
        "\n",
        "garbage",
        "1000-2000",
        "1000-2000 r-xp",
        "1000-2000 r-xp 0 fd:01",
        "1000-2000 rwxq 00000000 fd:01 1 /x",     /* q is not p/s */
        "1000-2000 r-x 00000000 fd:01 1 /x",      /* 3 perms */
        "-1000-2000 r-xp 00000000 fd:01 1 /x",    /* sign */
        "1000--2000 r-xp 00000000 fd:01 1 /x",
        "1000-2000 r-xp 00000000 fd01 1 /x",      /* no colon */
        "1000-2000 r-xp 00000000 fd:01 x /x",     /* inode not a number */
        "1000-2000 r-xp 00000000 fd:01 12x /x",
        "1000-2000 r-xp 00000000 1000:01 1 /x",   /* major too big */
        "ffffffffffffffffffff-2000 r-xp 0 fd:01 1 /x", /* overflow */
        "1000-2000 r-xp 00000000 fd:-1 1 /x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", bad[i]);
        assert_int_equal(diag_maps_parse_line(buf, &m), -1);
    }

    /* random bytes never crash and leave path inside the line */
    srand(7);
    for (int it = 0; it < 20000; it++) {
        char buf[96];
        size_t n = (size_t)(rand() % 95);
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)("0123456789abcdef- :/rwxps()\n"[rand() % 28]);
        buf[n] = 0;
        if (diag_maps_parse_line(buf, &m) == 0 && m.path)
            assert_true(m.path >= buf && m.path < buf + sizeof(buf));
    }
}

static void test_libnames(void **state)
{
    (void)state;
    assert_int_equal(diag_stack_of_libname("/usr/lib/x86_64-linux-gnu/libssl.so.3"), DIAG_OPENSSL);
    assert_int_equal(diag_stack_of_libname("/opt/x/lib/libssl.so.1.1"), DIAG_OPENSSL);
    assert_int_equal(diag_stack_of_libname("libssl.so"), DIAG_OPENSSL);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libssl3.so"), DIAG_NSS);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libnss3.so"), DIAG_NSS);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libgnutls.so.30.34.3"), DIAG_GNUTLS);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libwolfssl.so.35"), DIAG_WOLFSSL);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libmbedtls.so.14"), DIAG_MBEDTLS);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libgnutls-dane.so.0"), 0);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libgnutls-openssl.so.27"), 0);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libcrypto.so.3"), 0);
    assert_int_equal(diag_stack_of_libname("/usr/lib/libssl.sox"), 0);
    assert_int_equal(diag_stack_of_libname("/libssl.so.3/libc.so.6"), 0);
    assert_int_equal(diag_stack_of_libname(""), 0);
    assert_true(diag_is_libcrypto("/usr/lib/x86_64-linux-gnu/libcrypto.so.3"));
    assert_false(diag_is_libcrypto("/usr/lib/libssl.so.3"));
    assert_string_equal(diag_stack_name(DIAG_GO_TLS), "Go crypto/tls");
    assert_string_equal(diag_stack_name(DIAG_RUSTLS), "rustls");
    assert_string_equal(diag_stack_name(DIAG_OPENSSL | DIAG_GNUTLS), "?");
}

static void test_find_version(void **state)
{
    (void)state;
    char out[64];
    const char ro[] = "\0MIME-Version: 1.0\0xOpenSSL 9.9\0OpenSSL 3.0.22 25 Aug 2026\0tail";
    assert_true(diag_find_version(ro, sizeof(ro), "OpenSSL ", 1, out, sizeof(out)));
    assert_string_equal(out, "OpenSSL 3.0.22 25 Aug 2026");
    /* not at a string start: only found when at_start is 0 */
    const char mid[] = "\0Version: NSS 3.87.1\0";
    assert_false(diag_find_version(mid, sizeof(mid), "NSS ", 1, out, sizeof(out)));
    assert_true(diag_find_version(mid, sizeof(mid), "NSS ", 0, out, sizeof(out)));
    assert_string_equal(out, "NSS 3.87.1");
    /* key without a digit after it */
    const char nodigit[] = "\0OpenSSL version\0OpenSSL \0";
    assert_false(diag_find_version(nodigit, sizeof(nodigit), "OpenSSL ", 1, out, sizeof(out)));
    /* not NUL-terminated inside the buffer: refused, nothing read beyond */
    char *tail = malloc(11);
    memcpy(tail, "OpenSSL 3.1", 11);
    assert_false(diag_find_version(tail, 11, "OpenSSL ", 1, out, sizeof(out)));
    free(tail);
    /* truncated to the output and cut at a control byte */
    const char longv[] = "OpenSSL 1.2.3 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\0";
    char small[12];
    assert_true(diag_find_version(longv, sizeof(longv), "OpenSSL ", 1, small, sizeof(small)));
    assert_string_equal(small, "OpenSSL 1.2");
    const char ctl[] = "OpenSSL 1.2\x1b[31m\0";
    assert_true(diag_find_version(ctl, sizeof(ctl), "OpenSSL ", 1, out, sizeof(out)));
    assert_string_equal(out, "OpenSSL 1.2");
    assert_false(diag_find_version(NULL, 0, "x", 1, out, sizeof(out)));
    assert_false(diag_find_version("", 0, "OpenSSL ", 1, out, sizeof(out)));
}

/* ---- ELF files built here ------------------------------------------------------ */

static const char openssl_src[] =
    "__attribute__((used)) static const char v[] = \"OpenSSL 3.1.4 24 Oct 2023\";\n"
    "int SSL_read(void *s, void *b, int n) { return n + (int)v[0]; }\n"
    "int SSL_write(void *s, const void *b, int n) { return n; }\n"
    "void SSL_free(void *s) { }\n";

static void test_elf_openssl_like(void **state)
{
    (void)state;
    if (!have_gcc)
        skip();
    assert_int_equal(build("libssl.so.9", openssl_src, "-shared -fPIC -O1"), 0);
    diag_elf e;
    assert_int_equal(diag_elf_inspect(tpath("libssl.so.9"), &e), 0);
    assert_int_equal(e.stacks, DIAG_OPENSSL);
    assert_string_equal(e.version[0], "3.1.4 24 Oct 2023");
    assert_false(e.program);
    assert_false(e.go);

    /* only SSL_read: half the API is not the API */
    assert_int_equal(build("half.so", "int SSL_read(void *s, void *b, int n) { return n; }\n",
                           "-shared -fPIC"), 0);
    assert_int_equal(diag_elf_inspect(tpath("half.so"), &e), 0);
    assert_int_equal(e.stacks, 0);

    /* the _ex pair alone counts (rustup's vendored OpenSSL exports only these) */
    assert_int_equal(build("ex.so", "int SSL_read_ex(void){return 0;} int SSL_write_ex(void){return 0;}",
                           "-shared -fPIC"), 0);
    assert_int_equal(diag_elf_inspect(tpath("ex.so"), &e), 0);
    assert_int_equal(e.stacks, DIAG_OPENSSL);

    /* SSL_read as data, not a function, does not count */
    assert_int_equal(build("data.so", "int SSL_read = 1; int SSL_write = 2;", "-shared -fPIC"), 0);
    assert_int_equal(diag_elf_inspect(tpath("data.so"), &e), 0);
    assert_int_equal(e.stacks, 0);
}

static void test_elf_boringssl_like(void **state)
{
    (void)state;
    if (!have_gcc)
        skip();
    const char src[] =
        "__attribute__((used)) static const char v[] = \"OpenSSL 1.1.1 (compatible; BoringSSL)\";\n"
        "int SSL_read(void *s, void *b, int n) { return n + v[0]; }\n"
        "int SSL_write(void *s, const void *b, int n) { return n; }\n"
        "int main(void) { return 0; }\n";
    assert_int_equal(build("bun", src, "-O1"), 0);
    diag_elf e;
    assert_int_equal(diag_elf_inspect(tpath("bun"), &e), 0);
    assert_int_equal(e.stacks, DIAG_OPENSSL | DIAG_BORINGSSL);
    assert_true(e.program);
    /* and by its symbols, without the string */
    assert_int_equal(build("bssl", "int SSL_read(void){return 0;} int SSL_write(void){return 0;}\n"
                                   "void BORINGSSL_self_test(void){} int main(void){return 0;}",
                           ""), 0);
    assert_int_equal(diag_elf_inspect(tpath("bssl"), &e), 0);
    assert_int_equal(e.stacks, DIAG_OPENSSL | DIAG_BORINGSSL);
}

static void test_elf_gnutls_like(void **state)
{
    (void)state;
    if (!have_gcc)
        skip();
    const char src[] = "__attribute__((used)) static const char a[] = \"0.3.4\";\n"
                       "__attribute__((used)) static const char v[] = \"3.8.1\";\n"
                       "long gnutls_record_recv(void *s, void *b, long n) { return n; }\n";
    assert_int_equal(build("libgnutls.so.30", src, "-shared -fPIC"), 0);
    diag_elf e;
    assert_int_equal(diag_elf_inspect(tpath("libgnutls.so.30"), &e), 0);
    assert_int_equal(e.stacks, DIAG_GNUTLS);
    assert_string_equal(e.version[3], "3.8.1");
}

/* Go 1.18+ buildinfo: magic, pointer size 8, flags 2 (inline strings),
 * padding to 32, then the varint-prefixed version. */
#define GO_BUILDINFO                                                                       \
    "__attribute__((section(\".go.buildinfo\"), used)) static const unsigned char bi[64] = " \
    "\"\\xff Go buildinf:\\x08\\x02\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0"         \
    "\\x08\" \"go1.22.1\";\n"

static void test_elf_go(void **state)
{
    (void)state;
    if (!have_gcc)
        skip();
    const char tls_src[] =
        GO_BUILDINFO
        "__asm__(\".text\\n.globl \\\"crypto/tls.(*Conn).Read\\\"\\n"
        ".type \\\"crypto/tls.(*Conn).Read\\\",@function\\n\\\"crypto/tls.(*Conn).Read\\\":\\n ret\\n"
        ".globl runtime.main\\n.type runtime.main,@function\\nruntime.main:\\n ret\\n\");\n"
        "int main(void) { return 0; }\n";
    assert_int_equal(build("gotls", tls_src, ""), 0);
    diag_elf e;
    assert_int_equal(diag_elf_inspect(tpath("gotls"), &e), 0);
    assert_true(e.go);
    assert_int_equal(e.stacks, DIAG_GO_TLS);
    assert_string_equal(e.version[7], "1.22.1");

    /* a Go program without crypto/tls */
    assert_int_equal(build("gonotls", GO_BUILDINFO "int main(void) { return 0; }\n", ""), 0);
    assert_int_equal(diag_elf_inspect(tpath("gonotls"), &e), 0);
    assert_true(e.go);
    assert_int_equal(e.stacks, 0);

    /* stripped: crypto/tls is found in the function names of .gopclntab */
    const char pcln_src[] =
        GO_BUILDINFO
        "__attribute__((section(\".gopclntab\"), used)) static const char pc[] = "
        "\"\\0runtime.main\\0crypto/tls.(*Conn).Read\\0\";\n"
        "int main(void) { return 0; }\n";
    assert_int_equal(build("gostripped", pcln_src, "-s"), 0);
    assert_int_equal(diag_elf_inspect(tpath("gostripped"), &e), 0);
    assert_true(e.go);
    assert_int_equal(e.stacks, DIAG_GO_TLS);

    /* the same names outside a Go program mean nothing */
    const char notgo[] = "__attribute__((used)) static const char pc[] = "
                         "\"\\0crypto/tls.(*Conn).Read\\0\";\nint main(void){return 0;}\n";
    assert_int_equal(build("notgo", notgo, "-s"), 0);
    assert_int_equal(diag_elf_inspect(tpath("notgo"), &e), 0);
    assert_false(e.go);
    assert_int_equal(e.stacks, 0);

    /* pre-1.18 buildinfo (pointers, flags 0): Go, but no version */
    const char old[] =
        "__attribute__((section(\".go.buildinfo\"), used)) static const unsigned char bi[32] = "
        "\"\\xff Go buildinf:\\x08\\x00\";\nint main(void){return 0;}\n";
    assert_int_equal(build("goold", old, ""), 0);
    assert_int_equal(diag_elf_inspect(tpath("goold"), &e), 0);
    assert_true(e.go);
    assert_string_equal(e.version[7], "");

    /* a varint length running past the section */
    const char badlen[] =
        "__attribute__((section(\".go.buildinfo\"), used)) static const unsigned char bi[34] = "
        "\"\\xff Go buildinf:\\x08\\x02\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\xff\\x7f\";\n"
        "int main(void){return 0;}\n";
    assert_int_equal(build("gobadlen", badlen, ""), 0);
    assert_int_equal(diag_elf_inspect(tpath("gobadlen"), &e), 0);
    assert_true(e.go);
    assert_string_equal(e.version[7], "");
}

static void test_elf_rustls(void **state)
{
    (void)state;
    if (!have_gcc)
        skip();
    /* by a (legacy-mangled) symbol */
    const char sym[] = "void _ZN6rustls4conn10Connection4read17h0123456789abcdefE(void) {}\n"
                       "int main(void) { return 0; }\n";
    assert_int_equal(build("rustsym", sym, ""), 0);
    diag_elf e;
    assert_int_equal(diag_elf_inspect(tpath("rustsym"), &e), 0);
    assert_int_equal(e.stacks, DIAG_RUSTLS);
    assert_false(e.go);
    /* stripped: by the crate path in panic locations, with its version */
    const char path[] =
        "__attribute__((used)) static const char loc[] = "
        "\"/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-rustls-0.26.4/src/a.rs\\0"
        "/cargo/registry/src/index.crates.io-1949cf8c6b5b557f/rustls-0.23.37/src/conn.rs\";\n"
        "int main(void) { return 0; }\n";
    assert_int_equal(build("ruststripped", path, "-s"), 0);
    assert_int_equal(diag_elf_inspect(tpath("ruststripped"), &e), 0);
    assert_int_equal(e.stacks, DIAG_RUSTLS);
    assert_string_equal(e.version[8], "0.23.37");
    /* "tokio-rustls-" alone is not the rustls crate path */
    const char tokio[] = "__attribute__((used)) static const char loc[] = "
                         "\"/x/tokio-rustls-0.26.4/src/a.rs\";\nint main(void) { return 0; }\n";
    assert_int_equal(build("tokio", tokio, "-s"), 0);
    assert_int_equal(diag_elf_inspect(tpath("tokio"), &e), 0);
    assert_int_equal(e.stacks, 0);
}

static void test_elf_plain(void **state)
{
    (void)state;
    if (!have_gcc)
        skip();
    assert_int_equal(build("plain", "int main(void) { return 0; }\n", ""), 0);
    diag_elf e;
    assert_int_equal(diag_elf_inspect(tpath("plain"), &e), 0);
    assert_int_equal(e.stacks, 0);
    assert_true(e.program);
    assert_false(e.go);
    /* a file without .rodata (nothing to scan for versions) */
    assert_int_equal(build("norodata.so", openssl_src, "-shared -fPIC"), 0);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "objcopy -R .rodata %s %s 2>/dev/null", tpath("norodata.so"),
             tpath("norodata2.so"));
    if (system(cmd) == 0) {
        assert_int_equal(diag_elf_inspect(tpath("norodata2.so"), &e), 0);
        assert_int_equal(e.stacks, DIAG_OPENSSL);
        assert_string_equal(e.version[0], "");
    }
}

/* ---- hostile files ---------------------------------------------------------------- */

static void test_elf_hostile(void **state)
{
    (void)state;
    diag_elf e;
    errno = 0;
    assert_int_equal(diag_elf_inspect(tpath("does-not-exist"), &e), -1);
    assert_int_equal(errno, ENOENT);
    write_file(tpath("empty"), "", 0);
    assert_int_equal(diag_elf_inspect(tpath("empty"), &e), -1);
    assert_int_equal(errno, ENOEXEC);
    unsigned char junk[4096];
    srand(11);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (unsigned char)rand();
    write_file(tpath("junk"), junk, sizeof(junk));
    assert_int_equal(diag_elf_inspect(tpath("junk"), &e), -1);
    /* an ELF header and nothing else */
    memcpy(junk, "\x7f" "ELF\x02\x01\x01", 7);
    write_file(tpath("hdronly"), junk, 64);
    diag_elf_inspect(tpath("hdronly"), &e); /* may fail; must not crash */
    /* a directory and a FIFO: refused without blocking */
    errno = 0;
    assert_int_equal(diag_elf_inspect(tmpdir, &e), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(mkfifo(tpath("fifo"), 0600), 0);
    time_t t0 = time(NULL);
    assert_int_equal(diag_elf_inspect(tpath("fifo"), &e), -1);
    assert_int_equal(errno, EINVAL);
    assert_true(time(NULL) - t0 < 2);
}

/* Truncations and byte flips of a real ELF: inspection never crashes and
 * never reports a stack with a version it did not read. */
static void test_elf_corrupted(void **state)
{
    (void)state;
    if (!have_gcc)
        skip();
    assert_int_equal(build("libssl.so.8", openssl_src, "-shared -fPIC -O1"), 0);
    FILE *f = fopen(tpath("libssl.so.8"), "rb");
    assert_non_null(f);
    static unsigned char img[1 << 20];
    size_t n = fread(img, 1, sizeof(img), f);
    fclose(f);
    assert_true(n > 1024 && n < sizeof(img));
    static unsigned char mut[1 << 20];
    diag_elf e;
    for (size_t cut = 0; cut < n; cut += n / 97 + 1) {
        write_file(tpath("cut.so"), img, cut);
        diag_elf_inspect(tpath("cut.so"), &e);
    }
    srand(1234);
    for (int it = 0; it < 400; it++) {
        memcpy(mut, img, n);
        int flips = 1 + rand() % 16;
        for (int k = 0; k < flips; k++) {
            size_t at = (size_t)rand() % (it % 2 ? 64 + 64 * 56 : n); /* headers or anywhere */
            if (at >= n)
                at = (size_t)rand() % n;
            mut[at] = (unsigned char)rand();
        }
        write_file(tpath("mut.so"), mut, n);
        if (diag_elf_inspect(tpath("mut.so"), &e) == 0)
            for (int i = 0; i < DIAG_NSTACKS; i++)
                assert_true(strlen(e.version[i]) < sizeof(e.version[i]));
    }
}

/* ---- the machine's own binaries ------------------------------------------------- */

static void test_elf_real(void **state)
{
    (void)state;
    diag_elf e;
    if (access(LIBSSL, R_OK) == 0) {
        assert_int_equal(diag_elf_inspect(LIBSSL, &e), 0);
        assert_int_equal(e.stacks, DIAG_OPENSSL);
        assert_false(e.program);
    }
    if (access(NODE, R_OK) == 0) {
        assert_int_equal(diag_elf_inspect(NODE, &e), 0);
        assert_true(e.stacks & DIAG_OPENSSL);
        assert_true(e.program);
        assert_true(strchr("0123456789", e.version[0][0]) != NULL); /* "3.0.19 27 Jan 2026" */
    }
    const char *gos[] = {"/usr/local/bin/docker", "/usr/bin/kubectl", "/usr/local/bin/terraform"};
    for (size_t i = 0; i < sizeof(gos) / sizeof(gos[0]); i++)
        if (access(gos[i], R_OK) == 0) {
            assert_int_equal(diag_elf_inspect(gos[i], &e), 0);
            assert_true(e.go);
            assert_true(e.stacks & DIAG_GO_TLS);
        }
    assert_int_equal(diag_elf_inspect("/bin/sh", &e), 0);
    assert_int_equal(e.stacks, 0);
}

/* ---- process reports -------------------------------------------------------------- */

static pid_t spawn(char *const argv[], int *ready_fd)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int w = fcntl(p[1], F_DUPFD, 10); /* out of the way of p[0] being 3 */
        close(p[0]);
        close(p[1]);
        dup2(w, 3);
        close(w);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *ready_fd = p[0];
    return pid;
}

static void reap(pid_t pid, int fd)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(fd);
}

static void test_process_no_tls(void **state)
{
    (void)state;
    char *argv[] = {"sleep", "30", NULL};
    int fd;
    pid_t pid = spawn(argv, &fd);
    /* wait for the exec: the comm changes to "sleep" */
    char fn[64], comm[32] = "";
    snprintf(fn, sizeof(fn), "/proc/%d/comm", pid);
    for (int i = 0; i < 200 && strncmp(comm, "sleep", 5) != 0; i++) {
        FILE *f = fopen(fn, "r");
        if (f) {
            if (!fgets(comm, sizeof(comm), f))
                comm[0] = 0;
            fclose(f);
        }
        usleep(10000);
    }
    char err[256];
    json_t *r = diag_process_report((uint32_t)pid, err, sizeof(err));
    assert_non_null(r);
    assert_int_equal(json_integer_value(json_object_get(r, "pid")), pid);
    assert_string_equal(json_string_value(json_object_get(r, "comm")), "sleep");
    assert_int_equal(json_array_size(json_object_get(r, "files")), 0);
    assert_false(json_is_true(json_object_get(r, "attachable")));
    assert_string_equal(json_string_value(json_object_get(r, "openssl")), "none");
    const char *v = json_string_value(json_object_get(r, "verdict"));
    assert_non_null(strstr(v, "no TLS"));
    assert_non_null(strstr(v, "maps no TLS library and its binary has no TLS functions"));
    json_decref(r);
    reap(pid, fd);
}

static void test_process_python_ssl(void **state)
{
    (void)state;
    if (system("python3 -c 'import ssl' >/dev/null 2>&1") != 0 || access(LIBSSL, R_OK) != 0)
        skip();
    char *argv[] = {"python3", "-c",
                    "import ssl, os, time; os.write(3, b'ok'); time.sleep(30)", NULL};
    int fd;
    pid_t pid = spawn(argv, &fd);
    char buf[4];
    assert_int_equal(read(fd, buf, 2), 2); /* ssl imported: libssl is mapped */
    char err[256];
    json_t *r = diag_process_report((uint32_t)pid, err, sizeof(err));
    assert_non_null(r);
    json_t *files = json_object_get(r, "files");
    assert_true(json_array_size(files) >= 1);
    json_t *f = json_array_get(files, 0);
    assert_non_null(strstr(json_string_value(json_object_get(f, "path")), "libssl.so"));
    assert_string_equal(json_string_value(json_object_get(f, "linkage")), "shared library");
    assert_true(json_is_true(json_object_get(f, "probed")));
    assert_true(json_array_size(json_object_get(f, "probes")) >= 2);
    assert_string_equal(json_string_value(json_object_get(r, "openssl")), "dynamic");
    assert_true(json_is_true(json_object_get(r, "attachable")));
    assert_true(json_array_size(json_object_get(r, "libcrypto")) >= 1);
    json_decref(r);
    reap(pid, fd);
}

static void test_process_missing(void **state)
{
    (void)state;
    char err[128];
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0); /* reaped: the pid is free (reuse within the test is unlikely) */
    assert_null(diag_process_report((uint32_t)pid, err, sizeof(err)));
    assert_non_null(strstr(err, "no process with pid"));
    assert_null(diag_process_report(0, err, sizeof(err)));
}

static void test_inventory_libdirs(void **state)
{
    (void)state;
    if (access(LIBSSL, R_OK) != 0)
        skip();
    json_t *r = diag_inventory_report(DIAG_SCAN_LIBDIRS);
    assert_non_null(r);
    size_t i;
    json_t *f;
    int found = 0;
    json_array_foreach(json_object_get(r, "files"), i, f) {
        const char *p = json_string_value(json_object_get(f, "path"));
        if (strcmp(p, LIBSSL) == 0) {
            found++;
            assert_true(json_is_true(json_object_get(f, "probed")));
            json_t *s = json_array_get(json_object_get(f, "stacks"), 0);
            assert_string_equal(json_string_value(json_object_get(s, "name")), "OpenSSL");
            /* libssl carries no version string: it is read from libcrypto */
            assert_true(strchr("0123456789",
                               json_string_value(json_object_get(s, "version"))[0]) != NULL);
        }
        assert_int_equal(json_array_size(json_object_get(f, "processes")), 0);
    }
    assert_int_equal(found, 1); /* /lib and /usr/lib and libssl.so: one (device, inode) */
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_version),
        cmocka_unit_test(test_caps_parse),
        cmocka_unit_test(test_maps_parse),
        cmocka_unit_test(test_libnames),
        cmocka_unit_test(test_find_version),
        cmocka_unit_test(test_elf_openssl_like),
        cmocka_unit_test(test_elf_boringssl_like),
        cmocka_unit_test(test_elf_gnutls_like),
        cmocka_unit_test(test_elf_go),
        cmocka_unit_test(test_elf_rustls),
        cmocka_unit_test(test_elf_plain),
        cmocka_unit_test(test_elf_hostile),
        cmocka_unit_test(test_elf_corrupted),
        cmocka_unit_test(test_elf_real),
        cmocka_unit_test(test_process_no_tls),
        cmocka_unit_test(test_process_python_ssl),
        cmocka_unit_test(test_process_missing),
        cmocka_unit_test(test_inventory_libdirs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
