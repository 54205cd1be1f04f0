/* diag.c: `oisp-sensor check`, `diagnose --pid N` and `ssl-info` (see diag.h).
 *
 * How it works.
 *  - check: each requirement of the sensor is tested for real where it can
 *    be: BPF maps and programs are created with libbpf's probe helpers, a
 *    tp_btf program is loaded against the kernel's own BTF (raw bpf(2), as
 *    libbpf 1.1 cannot probe tracing programs), capabilities come from
 *    /proc/self/status.  A test that needs privileges we do not have FAILs
 *    as "not tested" rather than guessing.
 *  - Files: diag_elf_inspect() reads one ELF's symbol tables and a few
 *    sections through libelf and says which TLS stacks it carries (OpenSSL's
 *    SSL_read/SSL_write, BoringSSL, LibreSSL, GnuTLS, NSS, wolfSSL, mbed TLS,
 *    Go crypto/tls, rustls) with their versions; for OpenSSL the real
 *    probe_plan_build() then says where the sensor would put its probes.
 *  - Processes: /proc/PID/maps gives the executable mappings; each file is
 *    opened like the sensor opens it (/proc/PID/root/<path>, so containers
 *    are seen by their own inode) and inspected once per (device, inode).
 *  - ssl-info adds the library directories and the programs on $PATH, and
 *    groups everything by (device, inode) with the pids that map it.
 * Reports are JSON (jansson); the text output is rendered from the same
 * JSON, with control bytes of paths and names replaced, so a process cannot
 * drive the terminal.  Memory is bounded: per-process file lists and pid
 * lists have caps, maps lines longer than the kernel's are skipped. */
#include "cli/diag.h"

#include <bpf/libbpf.h>
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <getopt.h>
#include <glob.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "capture/probe_plan.h"
#include "util/jsonu.h"

#ifndef CAPSTONE_SONAME
#define CAPSTONE_SONAME "libcapstone.so.4"
#endif

#define PROC_FILES_MAX 256   /* TLS files kept per process */
#define ITEM_PIDS_MAX 65536  /* pids kept per file in ssl-info */
#define SEEN_MAX (1u << 20)  /* files remembered as carrying no TLS */
#define MAPS_LINE 8192       /* longer than any kernel maps line (PATH_MAX + fields) */
#define PIDS_SHOWN 12        /* pids printed per file in text mode */

/* Capability numbers (linux/capability.h). */
enum { CAP_DAC_OVERRIDE_ = 1, CAP_DAC_READ_SEARCH_ = 2, CAP_SYS_PTRACE_ = 19,
       CAP_SYS_ADMIN_ = 21, CAP_SYS_RESOURCE_ = 24, CAP_PERFMON_ = 38, CAP_BPF_ = 39 };

static const char *const stack_names[DIAG_NSTACKS] = {
    "OpenSSL", "BoringSSL", "LibreSSL", "GnuTLS", "NSS", "wolfSSL", "mbed TLS", "Go crypto/tls",
    "rustls",
};

/* ---- small parsers (exposed for the tests) -------------------------------- */

static int stack_index(unsigned bit)
{
    for (int i = 0; i < DIAG_NSTACKS; i++)
        if (bit == 1u << i)
            return i;
    return -1;
}

const char *diag_stack_name(unsigned bit)
{
    int i = stack_index(bit);
    return i < 0 ? "?" : stack_names[i];
}

static unsigned lowest_bit(unsigned v)
{
    return v & (~v + 1u);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* name is "<stem>" or "<stem>.<anything>" */
static int name_is(const char *name, const char *stem)
{
    size_t n = strlen(stem);
    return strncmp(name, stem, n) == 0 && (name[n] == 0 || name[n] == '.');
}

unsigned diag_stack_of_libname(const char *path)
{
    const char *b = base_name(path);
    if (name_is(b, "libssl.so"))
        return DIAG_OPENSSL;
    if (strcmp(b, "libssl3.so") == 0 || strcmp(b, "libnss3.so") == 0)
        return DIAG_NSS;
    if (name_is(b, "libgnutls.so"))
        return DIAG_GNUTLS;
    if (name_is(b, "libwolfssl.so"))
        return DIAG_WOLFSSL;
    if (name_is(b, "libmbedtls.so"))
        return DIAG_MBEDTLS;
    return 0;
}

int diag_is_libcrypto(const char *path)
{
    return name_is(base_name(path), "libcrypto.so");
}

/* Copies printable ASCII from s (up to NUL, end or outlen-1 bytes). */
static void copy_printable(const char *s, const char *end, char *out, size_t outlen)
{
    size_t k = 0;
    while (s < end && *s && k + 1 < outlen && *s >= 0x20 && *s < 0x7f)
        out[k++] = *s++;
    out[k] = 0;
}

int diag_find_version(const char *buf, size_t n, const char *key, int at_start, char *out,
                      size_t outlen)
{
    size_t kl = strlen(key);
    if (!buf || kl == 0 || outlen == 0)
        return 0;
    const char *p = buf, *end = buf + n;
    while (p < end && (p = memmem(p, (size_t)(end - p), key, kl))) {
        const char *v = p + kl;
        if (v < end && isdigit((unsigned char)*v) && (!at_start || p == buf || p[-1] == 0) &&
            memchr(v, 0, (size_t)(end - v))) {
            copy_printable(p, end, out, outlen);
            return 1;
        }
        p++;
    }
    return 0;
}

/* A NUL-delimited string made only of digits and two or three dots that
 * starts with prefix ("3." for GnuTLS, whose version is stored bare). */
static int find_bare_version(const char *buf, size_t n, const char *prefix, char *out,
                             size_t outlen)
{
    size_t pl = strlen(prefix);
    if (!buf)
        return 0;
    const char *p = buf, *end = buf + n;
    while (p < end && (p = memmem(p, (size_t)(end - p), prefix, pl))) {
        if (p == buf || p[-1] == 0) {
            const char *q = p;
            int dots = 0;
            while (q < end && (isdigit((unsigned char)*q) || *q == '.') && q - p < 16)
                dots += *q++ == '.';
            if (q < end && *q == 0 && (dots == 2 || dots == 3) && isdigit((unsigned char)q[-1])) {
                copy_printable(p, q, out, outlen);
                return 1;
            }
        }
        p++;
    }
    return 0;
}

/* ".../rustls-0.23.37/src/conn.rs" -> "0.23.37" */
static int find_crate_version(const char *buf, size_t n, const char *key, char *out,
                              size_t outlen)
{
    size_t kl = strlen(key);
    if (!buf)
        return 0;
    const char *p = buf, *end = buf + n;
    while (p < end && (p = memmem(p, (size_t)(end - p), key, kl))) {
        const char *v = p + kl;
        if (v < end && isdigit((unsigned char)*v)) {
            const char *slash = memchr(v, '/', (size_t)(end - v) < 32 ? (size_t)(end - v) : 32);
            if (slash) {
                copy_printable(v, slash, out, outlen);
                return 1;
            }
        }
        p++;
    }
    return 0;
}

int diag_kernel_version_parse(const char *r, unsigned *major, unsigned *minor, unsigned *patch)
{
    char *end;
    if (!r || !isdigit((unsigned char)r[0]))
        return -1;
    unsigned long a = strtoul(r, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]))
        return -1;
    unsigned long b = strtoul(end + 1, &end, 10), c = 0;
    if (*end == '.' && isdigit((unsigned char)end[1]))
        c = strtoul(end + 1, &end, 10);
    if (a > 999 || b > 999 || c > 999999)
        return -1;
    *major = (unsigned)a;
    *minor = (unsigned)b;
    *patch = (unsigned)c;
    return 0;
}

int diag_caps_parse(const char *s, size_t n, uint64_t *capeff)
{
    static const char key[] = "CapEff:";
    const char *p = s, *end = s + n;
    while ((p = memmem(p, (size_t)(end - p), key, sizeof(key) - 1))) {
        if (p == s || p[-1] == '\n')
            break;
        p++;
    }
    if (!p)
        return -1;
    p += sizeof(key) - 1;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    uint64_t v = 0;
    int digits = 0;
    for (; p < end && isxdigit((unsigned char)*p); p++, digits++) {
        if (digits == 16)
            return -1;
        int d = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
        v = v << 4 | (uint64_t)d;
    }
    if (digits == 0 || (p < end && *p != '\n'))
        return -1;
    *capeff = v;
    return 0;
}

/* Hex (or decimal) number at *p, which must start with a digit; advances *p. */
static int parse_num(char **p, int base, uint64_t *out)
{
    char *end;
    if (!(base == 16 ? isxdigit((unsigned char)**p) : isdigit((unsigned char)**p)))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, base);
    if (errno)
        return -1;
    *out = v;
    *p = end;
    return 0;
}

int diag_maps_parse_line(char *line, diag_map *m)
{
    static const char deleted[] = " (deleted)";
    uint64_t v;
    char *p = line;
    memset(m, 0, sizeof(*m));
    line[strcspn(line, "\n")] = 0;
    if (parse_num(&p, 16, &m->start) || *p++ != '-' || parse_num(&p, 16, &m->end) || *p++ != ' ')
        return -1;
    if (strnlen(p, 5) < 5 || p[4] != ' ' || !strchr("r-", p[0]) || !strchr("w-", p[1]) ||
        !strchr("x-", p[2]) || !strchr("ps", p[3]))
        return -1;
    memcpy(m->perms, p, 4);
    p += 5;
    if (parse_num(&p, 16, &m->offset) || *p++ != ' ' || parse_num(&p, 16, &v) || *p++ != ':' ||
        v > 0xfff)
        return -1;
    m->dev_major = (unsigned)v;
    if (parse_num(&p, 16, &v) || v > 0xfffff)
        return -1;
    m->dev_minor = (unsigned)v;
    if (*p++ != ' ' || parse_num(&p, 10, &m->inode) || (*p && *p != ' '))
        return -1;
    while (*p == ' ')
        p++;
    if (!*p)
        return 0;
    size_t n = strlen(p), dl = sizeof(deleted) - 1;
    if (n > dl && strcmp(p + n - dl, deleted) == 0) {
        p[n - dl] = 0;
        m->deleted = 1;
    }
    m->path = p;
    return 0;
}

/* ---- ELF inspection -------------------------------------------------------- */

typedef struct sym_hits {
    int ssl_read, ssl_read_ex, ssl_write, ssl_write_ex;
    int gnutls, nss, wolfssl, mbedtls, boring, go_main, go_tls, rustls;
} sym_hits;

static void note_symbol(const char *s, const GElf_Sym *sym, sym_hits *h)
{
    int fn = GELF_ST_TYPE(sym->st_info) == STT_FUNC;
    switch (s[0]) {
    case 'S':
        if (!fn || strncmp(s, "SSL_", 4) != 0)
            break;
        h->ssl_read |= strcmp(s, "SSL_read") == 0;
        h->ssl_read_ex |= strcmp(s, "SSL_read_ex") == 0;
        h->ssl_write |= strcmp(s, "SSL_write") == 0;
        h->ssl_write_ex |= strcmp(s, "SSL_write_ex") == 0;
        h->nss |= strcmp(s, "SSL_ImportFD") == 0;
        break;
    case 'g': h->gnutls |= fn && strcmp(s, "gnutls_record_recv") == 0; break;
    case 'w': h->wolfssl |= fn && strcmp(s, "wolfSSL_read") == 0; break;
    case 'm': h->mbedtls |= fn && strcmp(s, "mbedtls_ssl_read") == 0; break;
    case 'N': h->nss |= fn && strcmp(s, "NSS_Init") == 0; break;
    case 'B': h->boring |= strncmp(s, "BORINGSSL_", 10) == 0; break;
    case 'r': h->go_main |= strcmp(s, "runtime.main") == 0; break;
    case 'c': h->go_tls |= strncmp(s, "crypto/tls.", 11) == 0; break;
    case '_':
        if (strncmp(s, "_ZN4bssl", 8) == 0)
            h->boring = 1;
        else if ((s[1] == 'Z' || s[1] == 'R') && strstr(s, "rustls"))
            h->rustls = 1;
        break;
    default: break;
    }
}

static void scan_symtab(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh, sym_hits *h)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || sh->sh_entsize == 0)
        return;
    size_t n = sh->sh_size / sh->sh_entsize;
    if (n > INT_MAX)
        n = INT_MAX;
    for (size_t i = 1; i < n; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(d, (int)i, &sym))
            break;
        if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0)
            continue;
        const char *s = elf_strptr(e, sh->sh_link, sym.st_name);
        if (s)
            note_symbol(s, &sym, h);
    }
}

/* DT_NEEDED entries naming libssl.so* */
static int needs_libssl(Elf *e, Elf_Scn *scn, const GElf_Shdr *sh)
{
    Elf_Data *d = elf_getdata(scn, NULL);
    if (!d || sh->sh_entsize == 0)
        return 0;
    size_t n = sh->sh_size / sh->sh_entsize;
    for (size_t i = 0; i < n && i < 4096; i++) {
        GElf_Dyn dyn;
        if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag == DT_NULL)
            break;
        if (dyn.d_tag != DT_NEEDED)
            continue;
        const char *s = elf_strptr(e, sh->sh_link, dyn.d_un.d_val);
        if (s && name_is(s, "libssl.so"))
            return 1;
    }
    return 0;
}

/* Byte contents of a named section (NULL if absent or NOBITS). */
typedef struct blob {
    const char *p;
    size_t n;
} blob;

static blob section_blob(Elf_Scn *scn, const GElf_Shdr *sh)
{
    blob b = {0};
    if (sh->sh_type == SHT_NOBITS)
        return b;
    Elf_Data *d = elf_getdata(scn, NULL);
    if (d && d->d_buf) {
        b.p = d->d_buf;
        b.n = d->d_size;
    }
    return b;
}

/* Go >= 1.18 .go.buildinfo: 14-byte magic, pointer size, flags, padding to
 * 32, then (flags & 2) the Go version as a varint-prefixed string. */
static void go_buildinfo_version(blob b, char *out, size_t outlen)
{
    static const char magic[] = "\xff Go buildinf:";
    const unsigned char *d = (const unsigned char *)b.p;
    if (!d || b.n < 33 || memcmp(d, magic, sizeof(magic) - 1) != 0 || !(d[15] & 2))
        return;
    size_t i = 32;
    uint64_t len = 0;
    for (int shift = 0; i < b.n && shift < 35; shift += 7) {
        unsigned char c = d[i++];
        len |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            break;
    }
    if (len == 0 || len > b.n - i || len >= outlen)
        return;
    copy_printable(b.p + i, b.p + i + len, out, outlen);
}

static int blob_has(blob b, const char *s)
{
    return b.p && memmem(b.p, b.n, s, strlen(s)) != NULL;
}

/* Opens path for libelf without ever blocking (FIFOs) and only if regular. */
static Elf *elf_open_regular(const char *path, int *fdp)
{
    if (elf_version(EV_CURRENT) == EV_NONE) {
        errno = ENOSYS;
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!e || elf_kind(e) != ELF_K_ELF) {
        if (e)
            elf_end(e);
        close(fd);
        errno = ENOEXEC;
        return NULL;
    }
    *fdp = fd;
    return e;
}

static int is_program(Elf *e)
{
    GElf_Ehdr eh;
    size_t n;
    if (!gelf_getehdr(e, &eh))
        return 0;
    if (eh.e_type == ET_EXEC)
        return 1;
    if (elf_getphdrnum(e, &n) != 0)
        return 0;
    for (size_t i = 0; i < n && i < 4096; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_INTERP)
            return 1;
    }
    return 0;
}

/* Versions found in .rodata for the stacks whose symbols were seen. */
static void find_versions(blob ro, diag_elf *out)
{
    char (*v)[64] = out->version;
    if (out->stacks & DIAG_OPENSSL) {
        if (diag_find_version(ro.p, ro.n, "OpenSSL ", 1, v[0], sizeof(v[0])))
            memmove(v[0], v[0] + 8, strlen(v[0] + 8) + 1);
        if (strstr(v[0], "BoringSSL") || blob_has(ro, "BoringSSL"))
            out->stacks |= DIAG_BORINGSSL;
        if (diag_find_version(ro.p, ro.n, "LibreSSL ", 1, v[2], sizeof(v[2]))) {
            out->stacks |= DIAG_LIBRESSL;
            memmove(v[2], v[2] + 9, strlen(v[2] + 9) + 1);
        }
    }
    if (out->stacks & DIAG_GNUTLS)
        find_bare_version(ro.p, ro.n, "3.", v[3], sizeof(v[3]));
    if ((out->stacks & DIAG_NSS) && diag_find_version(ro.p, ro.n, "NSS ", 0, v[4], sizeof(v[4])))
        memmove(v[4], v[4] + 4, strlen(v[4] + 4) + 1);
    if (out->stacks & DIAG_MBEDTLS) {
        if (diag_find_version(ro.p, ro.n, "mbed TLS ", 1, v[6], sizeof(v[6])) ||
            diag_find_version(ro.p, ro.n, "Mbed TLS ", 1, v[6], sizeof(v[6])))
            memmove(v[6], v[6] + 9, strlen(v[6] + 9) + 1);
    }
    if (find_crate_version(ro.p, ro.n, "/rustls-", v[8], sizeof(v[8])))
        out->stacks |= DIAG_RUSTLS;
}

int diag_elf_inspect(const char *path, diag_elf *out)
{
    memset(out, 0, sizeof(*out));
    int fd;
    Elf *e = elf_open_regular(path, &fd);
    if (!e)
        return -1;
    size_t shstrndx;
    if (elf_getshdrstrndx(e, &shstrndx) != 0)
        shstrndx = 0;
    sym_hits h = {0};
    blob ro = {0}, pcln = {0}, relro = {0}, buildinfo = {0};
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(e, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        if (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) {
            scan_symtab(e, scn, &sh, &h);
            continue;
        }
        const char *name = shstrndx ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
        if (!name)
            continue;
        if (strcmp(name, ".rodata") == 0)
            ro = section_blob(scn, &sh);
        else if (strcmp(name, ".gopclntab") == 0)
            pcln = section_blob(scn, &sh);
        else if (strcmp(name, ".data.rel.ro") == 0)
            relro = section_blob(scn, &sh);
        else if (strcmp(name, ".go.buildinfo") == 0)
            buildinfo = section_blob(scn, &sh);
    }
    out->program = is_program(e);
    if ((h.ssl_read || h.ssl_read_ex) && (h.ssl_write || h.ssl_write_ex))
        out->stacks |= DIAG_OPENSSL;
    if ((out->stacks & DIAG_OPENSSL) && h.boring)
        out->stacks |= DIAG_BORINGSSL;
    out->stacks |= (h.gnutls ? DIAG_GNUTLS : 0) | (h.nss ? DIAG_NSS : 0) |
                   (h.wolfssl ? DIAG_WOLFSSL : 0) | (h.mbedtls ? DIAG_MBEDTLS : 0) |
                   (h.rustls ? DIAG_RUSTLS : 0);
    out->go = buildinfo.p != NULL || h.go_main;
    if (out->go) {
        static const char conn_read[] = "crypto/tls.(*Conn).Read";
        if (h.go_tls || blob_has(pcln, conn_read) || blob_has(relro, conn_read) ||
            blob_has(ro, conn_read))
            out->stacks |= DIAG_GO_TLS;
        go_buildinfo_version(buildinfo, out->version[7], sizeof(out->version[7]));
        if (strncmp(out->version[7], "go", 2) == 0)
            memmove(out->version[7], out->version[7] + 2, strlen(out->version[7] + 2) + 1);
    }
    find_versions(ro, out);
    elf_end(e);
    close(fd);
    return 0;
}

/* OpenSSL keeps its version string in libcrypto: "libssl.so.3" is read from
 * "libcrypto.so.3" in the same directory. */
static void openssl_version_from_libcrypto(const char *libssl_path, char *out, size_t outlen)
{
    char path[PATH_MAX + 128];
    const char *b = base_name(libssl_path);
    if (strncmp(b, "libssl", 6) != 0)
        return;
    int dirlen = (int)(b - libssl_path);
    if (snprintf(path, sizeof(path), "%.*slibcrypto%s", dirlen, libssl_path, b + 6) >=
        (int)sizeof(path))
        return;
    int fd;
    Elf *e = elf_open_regular(path, &fd);
    if (!e)
        return;
    size_t shstrndx;
    Elf_Scn *scn = NULL;
    if (elf_getshdrstrndx(e, &shstrndx) == 0) {
        while ((scn = elf_nextscn(e, scn))) {
            GElf_Shdr sh;
            const char *name;
            if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
                strcmp(name, ".rodata") != 0)
                continue;
            blob ro = section_blob(scn, &sh);
            char v[96];
            if (diag_find_version(ro.p, ro.n, "OpenSSL ", 1, v, sizeof(v)))
                copy_printable(v + 8, v + strlen(v), out, outlen);
            break;
        }
    }
    elf_end(e);
    close(fd);
}

/* ---- one file, as the sensor would see it ---------------------------------- */

typedef struct tls_file {
    char path[PATH_MAX];           /* as the process sees it, or canonical on the host */
    char open_path[PATH_MAX + 64]; /* what we (and the sensor) open */
    uint64_t dev, ino;
    uint32_t ns_pid;               /* seen in the mount namespace of this pid (0: host) */
    int deleted;
    int err;                       /* errno reading the file, 0 if read */
    diag_elf elf;
    unsigned stacks;               /* from the contents, plus the file name */
    int plan_rc;                   /* probe_plan_build: 1, 0, -1; -2 when not tried */
    int plan_err;
    probe_plan plan;
} tls_file;

/* The advice for EACCES/EPERM on another process's files. */
static const char *denied_hint(int e)
{
    if (e != EACCES && e != EPERM)
        return "";
    return geteuid() != 0 ? " (run as root)"
                          : " (refused even to root: the process is protected, e.g. by a "
                            "security module or a sandbox)";
}

static int capstone_loadable(void)
{
    void *h = dlopen(CAPSTONE_SONAME, RTLD_LAZY | RTLD_LOCAL);
    if (!h)
        return 0;
    dlclose(h);
    return 1;
}

static void tls_file_inspect(tls_file *f)
{
    f->plan_rc = -2;
    if (diag_elf_inspect(f->open_path, &f->elf) != 0) {
        f->err = errno;
        f->stacks = diag_stack_of_libname(f->path);
        return;
    }
    f->stacks = f->elf.stacks | diag_stack_of_libname(f->path);
    if (!(f->stacks & DIAG_OPENSSL))
        return;
    errno = 0;
    f->plan_rc = probe_plan_build(f->open_path, &f->plan);
    f->plan_err = errno;
    char *v = f->elf.version[0];
    if (!v[0] && f->plan.version[0])
        snprintf(v, sizeof(f->elf.version[0]), "%s",
                 f->plan.version + (strncmp(f->plan.version, "OpenSSL ", 8) ? 0 : 8));
    if (!v[0])
        openssl_version_from_libcrypto(f->open_path, v, sizeof(f->elf.version[0]));
}

static int tls_file_probed(const tls_file *f)
{
    return (f->stacks & DIAG_OPENSSL) && f->plan_rc == 1 && !f->deleted;
}

static const char *tls_file_linkage(const tls_file *f)
{
    if (diag_stack_of_libname(f->path))
        return "shared library";
    return f->elf.program ? "static in binary" : "static in shared object";
}

/* The OpenSSL-API flavour of a file: "BoringSSL", "LibreSSL" or "OpenSSL". */
static unsigned openssl_flavour(unsigned stacks)
{
    if (stacks & DIAG_BORINGSSL)
        return DIAG_BORINGSSL;
    if (stacks & DIAG_LIBRESSL)
        return DIAG_LIBRESSL;
    return DIAG_OPENSSL;
}

/* Why the sensor does not probe f (f not probed), in one sentence. */
static void tls_file_why_not(const tls_file *f, char *out, size_t n)
{
    char names[160] = "";
    size_t k = 0;
    for (int i = 3; i < DIAG_NSTACKS; i++)
        if (f->stacks & (1u << i))
            k += (size_t)snprintf(names + k, sizeof(names) - k, "%s%s", k ? ", " : "",
                                  stack_names[i]);
    if (!(f->stacks & DIAG_OPENSSL)) {
        snprintf(out, n, "%s: not supported yet (the sensor probes OpenSSL only)", names);
        return;
    }
    if (f->deleted) {
        snprintf(out, n,
                 "the file was deleted or replaced after the process mapped it; the sensor "
                 "attaches by path, so this copy cannot be probed: restart the process");
        return;
    }
    if (f->err || f->plan_rc == -1) {
        int e = f->err ? f->err : f->plan_err;
        if (f->plan_rc == -1 && !f->err && !capstone_loadable())
            snprintf(out, n, "capstone (%s) cannot be loaded to place the probes: install "
                             "libcapstone4", CAPSTONE_SONAME);
        else if (f->ns_pid && (e == ENOENT || e == EACCES || e == EPERM))
            snprintf(out, n, "cannot read %s: %s (the process runs in another mount namespace; "
                             "run as root with CAP_SYS_PTRACE)", f->open_path, strerror(e));
        else
            snprintf(out, n, "cannot read %s: %s%s", f->open_path, strerror(e ? e : EIO),
                     denied_hint(e));
        return;
    }
    snprintf(out, n, "it defines SSL_read/SSL_write but no probe site could be placed");
}

static json_t *jstr(const char *s)
{
    return jsonu_string_lossy(s, strlen(s));
}

static json_t *tls_file_json(const tls_file *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "path", jstr(f->path));
    if (strcmp(f->path, f->open_path) != 0)
        json_object_set_new(o, "opened_as", jstr(f->open_path));
    char dev[32];
    snprintf(dev, sizeof(dev), "%u:%u", major((dev_t)f->dev), minor((dev_t)f->dev));
    json_object_set_new(o, "dev", json_string(dev));
    json_object_set_new(o, "inode", json_integer((json_int_t)f->ino));
    if (f->ns_pid)
        json_object_set_new(o, "mount_namespace_of", json_integer(f->ns_pid));
    json_object_set_new(o, "deleted", json_boolean(f->deleted));
    json_object_set_new(o, "linkage", json_string(tls_file_linkage(f)));
    json_t *stacks = json_array();
    unsigned shown = f->stacks & ~(unsigned)(DIAG_BORINGSSL | DIAG_LIBRESSL);
    for (int i = 0; i < DIAG_NSTACKS; i++) {
        unsigned bit = 1u << i;
        if (!(shown & bit))
            continue;
        unsigned named = bit == DIAG_OPENSSL ? openssl_flavour(f->stacks) : bit;
        const char *ver = f->elf.version[stack_index(named)];
        if (bit == DIAG_OPENSSL && !ver[0])
            ver = f->elf.version[0];
        json_t *s = json_object();
        json_object_set_new(s, "name", json_string(diag_stack_name(named)));
        json_object_set_new(s, "version", jstr(ver));
        json_object_set_new(s, "probed", json_boolean(bit == DIAG_OPENSSL && tls_file_probed(f)));
        json_array_append_new(stacks, s);
    }
    json_object_set_new(o, "stacks", stacks);
    json_object_set_new(o, "probed", json_boolean(tls_file_probed(f)));
    if (f->plan_rc == 1) {
        json_t *sites = json_array();
        for (size_t i = 0; i < f->plan.n; i++) {
            const probe_site *s = &f->plan.sites[i];
            json_t *j = json_object();
            json_object_set_new(j, "at", jstr(s->what));
            json_object_set_new(j, "file_offset", json_integer((json_int_t)s->file_offset));
            json_object_set_new(j, "kind", json_string(s->kind == PROBE_FREE ? "free" : "data"));
            json_object_set_new(j, "emulated", json_boolean(s->emulated));
            json_array_append_new(sites, j);
        }
        json_object_set_new(o, "probes", sites);
        json_object_set_new(o, "slow", json_boolean(f->plan.slow > 0));
    }
    if (!tls_file_probed(f)) {
        char why[PATH_MAX + 256];
        tls_file_why_not(f, why, sizeof(why));
        json_object_set_new(o, "why_not", jstr(why));
    }
    return o;
}

/* ---- /proc helpers ------------------------------------------------------------ */

/* Reads a small /proc file with one read(2).  Returns bytes read or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t r = read(fd, buf, n - 1);
    int e = errno;
    close(fd);
    if (r < 0) {
        errno = e;
        return -1;
    }
    buf[r] = 0;
    return r;
}

static void proc_comm(uint32_t pid, char *out, size_t n)
{
    char fn[64];
    snprintf(fn, sizeof(fn), "/proc/%u/comm", pid);
    out[0] = 0;
    if (read_small(fn, out, n) > 0)
        out[strcspn(out, "\n")] = 0;
}

/* 1 same mount namespace as ours, 0 another, -1 unknown. */
static int same_mount_ns(uint32_t pid)
{
    char fn[64];
    struct stat a, b;
    snprintf(fn, sizeof(fn), "/proc/%u/ns/mnt", pid);
    if (stat("/proc/self/ns/mnt", &a) != 0 || stat(fn, &b) != 0)
        return -1;
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

typedef int (*mapping_fn)(void *ctx, uint32_t pid, const diag_map *m);

/* Calls fn for each executable file mapping of pid (consecutive duplicates
 * skipped).  Returns 0, or -1 with errno if maps cannot be read. */
static int proc_exec_mappings(uint32_t pid, mapping_fn fn, void *ctx)
{
    char fnm[64];
    snprintf(fnm, sizeof(fnm), "/proc/%u/maps", pid);
    FILE *f = fopen(fnm, "re");
    if (!f)
        return -1;
    char *line = malloc(MAPS_LINE), *prev = malloc(MAPS_LINE);
    if (!line || !prev) {
        free(line);
        free(prev);
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    prev[0] = 0;
    int prev_deleted = 0;
    while (fgets(line, MAPS_LINE, f)) {
        if (!strchr(line, '\n') && !feof(f)) { /* overlong: skip the rest of it */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                ;
            continue;
        }
        diag_map m;
        if (diag_maps_parse_line(line, &m) != 0 || !m.path || m.path[0] != '/' ||
            m.perms[2] != 'x')
            continue;
        if (strcmp(m.path, prev) == 0 && m.deleted == prev_deleted)
            continue;
        snprintf(prev, MAPS_LINE, "%s", m.path);
        prev_deleted = m.deleted;
        if (fn(ctx, pid, &m) != 0)
            break;
    }
    int err = ferror(f) ? errno : 0;
    fclose(f);
    free(line);
    free(prev);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

/* Fills f's paths and (dev, ino) for mapping m of pid; 0, or -1 if the file
 * cannot be reached (f->err says why; the path is still set). */
static int tls_file_locate(tls_file *f, uint32_t pid, const diag_map *m, int host_ns)
{
    memset(f, 0, sizeof(*f));
    f->plan_rc = -2;
    f->deleted = m->deleted;
    f->ns_pid = host_ns ? 0 : pid;
    snprintf(f->path, sizeof(f->path), "%s", m->path);
    if (m->deleted) /* only the mapping itself still reaches the old inode */
        snprintf(f->open_path, sizeof(f->open_path), "/proc/%u/map_files/%llx-%llx", pid,
                 (unsigned long long)m->start, (unsigned long long)m->end);
    else
        snprintf(f->open_path, sizeof(f->open_path), "/proc/%u/root%s", pid, m->path);
    struct stat st;
    if (stat(f->open_path, &st) != 0) {
        f->err = errno;
        f->dev = makedev(m->dev_major, m->dev_minor);
        f->ino = m->inode;
        return -1;
    }
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    if (host_ns && !m->deleted) { /* resolves the process's root too (chroot) */
        char real[PATH_MAX];
        if (realpath(f->open_path, real) && strlen(real) < sizeof(f->path))
            memcpy(f->path, real, strlen(real) + 1);
    }
    return 0;
}

/* ---- diagnose --pid ------------------------------------------------------------ */

typedef struct proc_scan {
    tls_file *files; /* TLS-carrying files */
    size_t n, cap;
    json_t *libcrypto;
    int host_ns;
    size_t skipped;  /* over PROC_FILES_MAX */
} proc_scan;

static int on_proc_mapping(void *ctx, uint32_t pid, const diag_map *m)
{
    proc_scan *ps = ctx;
    if (diag_is_libcrypto(m->path)) {
        if (json_array_size(ps->libcrypto) < 8)
            json_array_append_new(ps->libcrypto, jstr(m->path));
        return 0;
    }
    if (ps->n == ps->cap) {
        if (ps->cap >= PROC_FILES_MAX) {
            ps->skipped++;
            return 0;
        }
        size_t nc = ps->cap ? ps->cap * 2 : 4;
        tls_file *nf = realloc(ps->files, nc * sizeof(*nf));
        if (!nf)
            return -1;
        ps->files = nf;
        ps->cap = nc;
    }
    tls_file *f = &ps->files[ps->n];
    int located = tls_file_locate(f, pid, m, ps->host_ns) == 0;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->files[i].dev == f->dev && ps->files[i].ino == f->ino)
            return 0;
    if (located)
        tls_file_inspect(f);
    else
        f->stacks = diag_stack_of_libname(f->path);
    if (f->stacks)
        ps->n++;
    return 0;
}

/* The process's verdict: attachable or not, and why, from its TLS files. */
static void proc_verdict(json_t *r, const proc_scan *ps, int exe_ok)
{
    const tls_file *probed = NULL;
    int dyn = 0, stat_ = 0;
    unsigned other = 0;
    json_t *reasons = json_array();
    for (size_t i = 0; i < ps->n; i++) {
        const tls_file *f = &ps->files[i];
        if (f->stacks & DIAG_OPENSSL) {
            if (diag_stack_of_libname(f->path) == DIAG_OPENSSL)
                dyn = 1;
            else
                stat_ = 1;
        }
        other |= f->stacks & ~(unsigned)(DIAG_OPENSSL | DIAG_BORINGSSL | DIAG_LIBRESSL);
        if (tls_file_probed(f)) {
            if (!probed)
                probed = f;
        } else {
            char why[PATH_MAX + 256];
            tls_file_why_not(f, why, sizeof(why));
            json_array_append_new(reasons, jstr(why));
        }
    }
    json_object_set_new(r, "openssl",
                        json_string(dyn && stat_ ? "dynamic and static"
                                    : dyn        ? "dynamic"
                                    : stat_      ? "static"
                                                 : "none"));
    json_object_set_new(r, "attachable", json_boolean(probed != NULL));
    char v[PATH_MAX + 512];
    if (probed) {
        unsigned fl = openssl_flavour(probed->stacks);
        size_t emu = 0, data = 0;
        for (size_t i = 0; i < probed->plan.n; i++)
            if (probed->plan.sites[i].kind == PROBE_DATA) {
                data++;
                emu += (size_t)probed->plan.sites[i].emulated;
            }
        int k = snprintf(v, sizeof(v), "the sensor attaches: %s%s%s, %s (%s), %zu data probe%s%s",
                         diag_stack_name(fl), probed->elf.version[0][0] ? " " : "",
                         probed->elf.version[0], tls_file_linkage(probed), probed->path, data,
                         data == 1 ? "" : "s",
                         emu == data ? " on emulated instructions (fast)"
                                     : ", single-stepped by the kernel (~18 us a call)");
        if (fl != DIAG_OPENSSL && k > 0 && (size_t)k < sizeof(v))
            k += snprintf(v + k, sizeof(v) - (size_t)k,
                          "; %s is not a tested OpenSSL: captures may be incomplete",
                          diag_stack_name(fl));
        if (other && k > 0 && (size_t)k < sizeof(v))
            snprintf(v + k, sizeof(v) - (size_t)k,
                     "; its other TLS stack (%s) is not probed, so connections made through it "
                     "are not seen",
                     diag_stack_name(lowest_bit(other)));
    } else if (ps->n == 0 && !exe_ok) {
        snprintf(v, sizeof(v), "no TLS: this is a kernel thread or an exiting process (no "
                               "user-space code mapped), so it makes no TLS connections");
    } else if (ps->n == 0) {
        int k = snprintf(v, sizeof(v),
                         "no TLS: this process maps no TLS library and its binary has no TLS "
                         "functions: it makes no TLS connections the sensor could see, or uses "
                         "a TLS stack we do not probe");
        if (json_array_size(ps->libcrypto) && k > 0 && (size_t)k < sizeof(v))
            snprintf(v + k, sizeof(v) - (size_t)k,
                     ". It maps libcrypto, which does hashing and ciphers but not TLS (ssh does "
                     "this). A libssl it loads later is attached within 30 s of the load");
    } else {
        snprintf(v, sizeof(v), "the sensor cannot attach: %s",
                 json_string_value(json_array_get(reasons, 0)));
    }
    json_object_set_new(r, "verdict", jstr(v));
    json_object_set_new(r, "reasons", reasons);
}

json_t *diag_process_report(uint32_t pid, char *err, size_t errlen)
{
    char fn[64], exe[PATH_MAX], status[4096];
    struct stat st;
    snprintf(fn, sizeof(fn), "/proc/%u", pid);
    if (pid == 0 || stat(fn, &st) != 0) {
        snprintf(err, errlen, "no process with pid %u", pid);
        return NULL;
    }
    proc_scan ps = {.libcrypto = json_array(), .host_ns = same_mount_ns(pid) != 0};
    json_t *r = json_object();
    json_object_set_new(r, "pid", json_integer(pid));
    char comm[64];
    proc_comm(pid, comm, sizeof(comm));
    json_object_set_new(r, "comm", jstr(comm));
    snprintf(fn, sizeof(fn), "/proc/%u/status", pid);
    ssize_t sn = read_small(fn, status, sizeof(status));
    const char *uid = sn > 0 ? strstr(status, "\nUid:") : NULL;
    if (uid)
        json_object_set_new(r, "uid", json_integer(strtol(uid + 5, NULL, 10)));
    snprintf(fn, sizeof(fn), "/proc/%u/exe", pid);
    ssize_t n = readlink(fn, exe, sizeof(exe) - 1);
    int exe_errno = n < 0 ? errno : 0;
    if (n >= 0) {
        exe[n] = 0;
        size_t el = (size_t)n;
        int deleted = el > 10 && strcmp(exe + el - 10, " (deleted)") == 0;
        if (deleted)
            exe[el - 10] = 0;
        json_object_set_new(r, "exe", jstr(exe));
        json_object_set_new(r, "exe_deleted", json_boolean(deleted));
    } else {
        json_object_set_new(r, "exe", json_null());
        json_object_set_new(r, "exe_error", json_string(strerror(exe_errno)));
    }
    int ns = same_mount_ns(pid);
    json_object_set_new(r, "mount_namespace",
                        json_string(ns == 1 ? "host" : ns == 0 ? "other (container)" : "unknown"));
    if (proc_exec_mappings(pid, on_proc_mapping, &ps) != 0) {
        int e = errno;
        if (stat(fn, &st) != 0 && errno == ENOENT)
            snprintf(err, errlen, "process %u exited", pid);
        else
            snprintf(err, errlen, "cannot read /proc/%u/maps: %s%s", pid, strerror(e),
                     denied_hint(e));
        free(ps.files);
        json_decref(ps.libcrypto);
        json_decref(r);
        return NULL;
    }
    json_t *files = json_array();
    for (size_t i = 0; i < ps.n; i++)
        json_array_append_new(files, tls_file_json(&ps.files[i]));
    json_object_set_new(r, "files", files);
    json_object_set_new(r, "libcrypto", ps.libcrypto);
    if (ps.skipped)
        json_object_set_new(r, "files_not_inspected", json_integer((json_int_t)ps.skipped));
    proc_verdict(r, &ps, exe_errno != ENOENT);
    free(ps.files);
    return r;
}

/* ---- ssl-info: the host's inventory --------------------------------------------- */

typedef struct inv_pid {
    uint32_t pid;
    char comm[16];
} inv_pid;

typedef struct inv_item {
    tls_file f;
    unsigned where; /* DIAG_SCAN_* that found it */
    inv_pid *pids;
    size_t npids, cap, pids_dropped;
} inv_item;

typedef struct file_key {
    uint64_t dev, ino;
} file_key;

typedef struct inventory {
    inv_item **items;
    size_t n, cap;
    file_key *seen; /* open-addressing set of files carrying no TLS */
    size_t nseen, seen_cap;
    size_t procs, procs_unreadable;
    uint32_t unreadable[8]; /* the first few of them */
    int unreadable_err[8];
    uint32_t self;
} inventory;

static size_t key_hash(uint64_t dev, uint64_t ino)
{
    uint64_t h = ino * 0x9E3779B97F4A7C15ull ^ dev * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 31));
}

/* Slot of (dev, ino) in the seen set: the one holding it or an empty one. */
static file_key *seen_slot(inventory *inv, uint64_t dev, uint64_t ino)
{
    size_t mask = inv->seen_cap - 1;
    for (size_t i = key_hash(dev, ino) & mask;; i = (i + 1) & mask) {
        file_key *k = &inv->seen[i];
        if ((k->dev == dev && k->ino == ino) || (k->dev == 0 && k->ino == 0))
            return k;
    }
}

static int seen_has(inventory *inv, uint64_t dev, uint64_t ino)
{
    file_key *k = seen_slot(inv, dev, ino);
    return k->dev == dev && k->ino == ino && (dev || ino);
}

static void seen_add(inventory *inv, uint64_t dev, uint64_t ino)
{
    if ((dev == 0 && ino == 0) || inv->nseen >= SEEN_MAX)
        return;
    if ((inv->nseen + 1) * 2 > inv->seen_cap) {
        size_t nc = inv->seen_cap * 2;
        file_key *old = inv->seen, *nk = calloc(nc, sizeof(*nk));
        if (!nk)
            return;
        size_t oc = inv->seen_cap;
        inv->seen = nk;
        inv->seen_cap = nc;
        for (size_t i = 0; i < oc; i++)
            if (old[i].dev || old[i].ino)
                *seen_slot(inv, old[i].dev, old[i].ino) = old[i];
        free(old);
    }
    file_key *k = seen_slot(inv, dev, ino);
    if (!(k->dev == dev && k->ino == ino)) {
        k->dev = dev;
        k->ino = ino;
        inv->nseen++;
    }
}

static inv_item *inv_find(inventory *inv, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < inv->n; i++)
        if (inv->items[i]->f.dev == dev && inv->items[i]->f.ino == ino)
            return inv->items[i];
    return NULL;
}

/* Takes a copy of f (already inspected) if it carries TLS. */
static inv_item *inv_add(inventory *inv, const tls_file *f)
{
    if (!f->stacks) {
        if (!f->err)
            seen_add(inv, f->dev, f->ino);
        return NULL;
    }
    if (inv->n == inv->cap) {
        size_t nc = inv->cap ? inv->cap * 2 : 16;
        inv_item **ni = realloc(inv->items, nc * sizeof(*ni));
        if (!ni)
            return NULL;
        inv->items = ni;
        inv->cap = nc;
    }
    inv_item *it = calloc(1, sizeof(*it));
    if (!it)
        return NULL;
    it->f = *f;
    inv->items[inv->n++] = it;
    return it;
}

static void inv_add_pid(inv_item *it, uint32_t pid)
{
    if (it->npids && it->pids[it->npids - 1].pid == pid)
        return;
    if (it->npids == it->cap) {
        if (it->cap >= ITEM_PIDS_MAX) {
            it->pids_dropped++;
            return;
        }
        size_t nc = it->cap ? it->cap * 2 : 8;
        inv_pid *np = realloc(it->pids, nc * sizeof(*np));
        if (!np) {
            it->pids_dropped++;
            return;
        }
        it->pids = np;
        it->cap = nc;
    }
    inv_pid *p = &it->pids[it->npids++];
    p->pid = pid;
    proc_comm(pid, p->comm, sizeof(p->comm));
}

/* A file found on disk (library directory or $PATH), host namespace. */
static void inv_consider_path(inventory *inv, const char *path, unsigned where)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return;
    inv_item *it = inv_find(inv, st.st_dev, st.st_ino);
    if (it) {
        it->where |= where;
        return;
    }
    if (seen_has(inv, st.st_dev, st.st_ino))
        return;
    tls_file *f = calloc(1, sizeof(*f));
    if (!f)
        return;
    char real[PATH_MAX];
    snprintf(f->path, sizeof(f->path), "%s", realpath(path, real) ? real : path);
    snprintf(f->open_path, sizeof(f->open_path), "%s", path);
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    tls_file_inspect(f);
    if ((it = inv_add(inv, f)))
        it->where |= where;
    free(f);
}

typedef struct inv_proc_ctx {
    inventory *inv;
    int host_ns;
    tls_file *scratch;
} inv_proc_ctx;

static int on_inv_mapping(void *ctx, uint32_t pid, const diag_map *m)
{
    inv_proc_ctx *c = ctx;
    tls_file *f = c->scratch;
    if (tls_file_locate(f, pid, m, c->host_ns) != 0) {
        f->stacks = diag_stack_of_libname(f->path);
        if (!f->stacks)
            return 0;
    }
    inv_item *it = inv_find(c->inv, f->dev, f->ino);
    if (!it && !f->err && seen_has(c->inv, f->dev, f->ino))
        return 0;
    if (!it) {
        if (!f->err)
            tls_file_inspect(f);
        it = inv_add(c->inv, f);
    }
    if (it) {
        it->where |= DIAG_SCAN_PROCS;
        inv_add_pid(it, pid);
    }
    return 0;
}

static void inv_scan_procs(inventory *inv)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    inv_proc_ctx c = {.inv = inv, .scratch = malloc(sizeof(tls_file))};
    struct dirent *de;
    while (c.scratch && (de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        char *end;
        unsigned long pid = strtoul(de->d_name, &end, 10);
        if (*end || pid == 0 || pid > UINT32_MAX || pid == inv->self)
            continue;
        c.host_ns = same_mount_ns((uint32_t)pid) != 0;
        inv->procs++;
        if (proc_exec_mappings((uint32_t)pid, on_inv_mapping, &c) != 0 && errno != ENOENT &&
            errno != ESRCH) {
            if (inv->procs_unreadable < 8) {
                inv->unreadable[inv->procs_unreadable] = (uint32_t)pid;
                inv->unreadable_err[inv->procs_unreadable] = errno;
            }
            inv->procs_unreadable++;
        }
    }
    free(c.scratch);
    closedir(d);
}

static const char *const lib_dirs[] = {
    "/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64",
    "/lib/*-linux-gnu*", "/usr/lib/*-linux-gnu*",
};
static const char *const lib_names[] = {
    "libssl.so*", "libssl3.so", "libnss3.so", "libgnutls.so*", "libwolfssl.so*", "libmbedtls.so*",
};

static void inv_scan_libdirs(inventory *inv)
{
    for (size_t i = 0; i < sizeof(lib_dirs) / sizeof(lib_dirs[0]); i++)
        for (size_t j = 0; j < sizeof(lib_names) / sizeof(lib_names[0]); j++) {
            char pat[128];
            glob_t g;
            snprintf(pat, sizeof(pat), "%s/%s", lib_dirs[i], lib_names[j]);
            if (glob(pat, 0, NULL, &g) != 0)
                continue;
            for (size_t k = 0; k < g.gl_pathc; k++)
                inv_consider_path(inv, g.gl_pathv[k], DIAG_SCAN_LIBDIRS);
            globfree(&g);
        }
}

/* Every executable regular file in the $PATH directories. */
static void inv_scan_path(inventory *inv)
{
    const char *env = getenv("PATH");
    char *dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
    if (!dirs)
        return;
    file_key done[64];
    size_t ndone = 0;
    char *save = NULL;
    for (char *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        struct stat st;
        if (dir[0] != '/' || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        size_t k = 0;
        while (k < ndone && !(done[k].dev == st.st_dev && done[k].ino == st.st_ino))
            k++;
        if (k < ndone || ndone == sizeof(done) / sizeof(done[0]))
            continue;
        done[ndone++] = (file_key){st.st_dev, st.st_ino};
        DIR *d = opendir(dir);
        if (!d)
            continue;
        struct dirent *de;
        char path[PATH_MAX];
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.' ||
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
                continue;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
                inv_consider_path(inv, path, DIAG_SCAN_PATH);
        }
        closedir(d);
    }
    free(dirs);
}

static void inventory_free(inventory *inv)
{
    for (size_t i = 0; i < inv->n; i++) {
        free(inv->items[i]->pids);
        free(inv->items[i]);
    }
    free(inv->items);
    free(inv->seen);
}

static int inventory_scan(inventory *inv, unsigned scan)
{
    memset(inv, 0, sizeof(*inv));
    inv->self = (uint32_t)getpid();
    inv->seen_cap = 1024;
    inv->seen = calloc(inv->seen_cap, sizeof(file_key));
    if (!inv->seen)
        return -1;
    if (scan & DIAG_SCAN_LIBDIRS)
        inv_scan_libdirs(inv);
    if (scan & DIAG_SCAN_PROCS)
        inv_scan_procs(inv);
    if (scan & DIAG_SCAN_PATH)
        inv_scan_path(inv);
    return 0;
}

static json_t *inv_item_json(const inv_item *it)
{
    json_t *o = tls_file_json(&it->f);
    json_t *found = json_array();
    if (it->where & DIAG_SCAN_LIBDIRS)
        json_array_append_new(found, json_string("library directory"));
    if (it->where & DIAG_SCAN_PATH)
        json_array_append_new(found, json_string("PATH"));
    if (it->where & DIAG_SCAN_PROCS)
        json_array_append_new(found, json_string("running process"));
    json_object_set_new(o, "found_in", found);
    json_t *pids = json_array();
    for (size_t i = 0; i < it->npids; i++) {
        json_t *p = json_object();
        json_object_set_new(p, "pid", json_integer(it->pids[i].pid));
        json_object_set_new(p, "comm", jstr(it->pids[i].comm));
        json_array_append_new(pids, p);
    }
    json_object_set_new(o, "processes", pids);
    if (it->pids_dropped)
        json_object_set_new(o, "processes_not_listed", json_integer((json_int_t)it->pids_dropped));
    return o;
}

/* [{"pid", "comm", "error"}] for the processes whose maps could not be read */
static json_t *inv_unreadable_json(const inventory *inv)
{
    json_t *a = json_array();
    for (size_t i = 0; i < inv->procs_unreadable && i < 8; i++) {
        char comm[32], err[160];
        proc_comm(inv->unreadable[i], comm, sizeof(comm));
        snprintf(err, sizeof(err), "%s%s", strerror(inv->unreadable_err[i]),
                 denied_hint(inv->unreadable_err[i]));
        json_t *o = json_object();
        json_object_set_new(o, "pid", json_integer(inv->unreadable[i]));
        json_object_set_new(o, "comm", jstr(comm));
        json_object_set_new(o, "error", jstr(err));
        json_array_append_new(a, o);
    }
    return a;
}

/* "pid 1 (init): Permission denied, ..." */
static void inv_unreadable_text(const inventory *inv, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < inv->procs_unreadable && i < 8 && k < n; i++) {
        char comm[32];
        proc_comm(inv->unreadable[i], comm, sizeof(comm));
        k += (size_t)snprintf(out + k, n - k, "%spid %u (%s): %s", i ? ", " : "",
                              inv->unreadable[i], comm, strerror(inv->unreadable_err[i]));
    }
    if (inv->procs_unreadable > 8 && k < n)
        snprintf(out + k, n - k, ", and %zu more", inv->procs_unreadable - 8);
}

json_t *diag_inventory_report(unsigned scan)
{
    inventory inv;
    if (inventory_scan(&inv, scan) != 0)
        return NULL;
    json_t *r = json_object(), *files = json_array();
    for (size_t i = 0; i < inv.n; i++)
        json_array_append_new(files, inv_item_json(inv.items[i]));
    json_object_set_new(r, "files", files);
    if (scan & DIAG_SCAN_PROCS) {
        json_object_set_new(r, "processes_scanned", json_integer((json_int_t)inv.procs));
        json_object_set_new(r, "processes_unreadable", inv_unreadable_json(&inv));
    }
    inventory_free(&inv);
    return r;
}

/* ---- check ----------------------------------------------------------------------- */

typedef struct checks {
    json_t *list;
    int fail, warn;
    uint64_t caps;
    int caps_known;
    int bpf_priv; /* may create BPF maps and programs */
    unsigned kmajor, kminor; /* 0.0 if unknown */
} checks;

static void check_add(checks *c, const char *status, const char *name, const char *fix,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void check_add(checks *c, const char *status, const char *name, const char *fix,
                      const char *fmt, ...)
{
    char detail[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "check", json_string(name));
    json_object_set_new(o, "detail", jstr(detail));
    if (fix && strcmp(status, "PASS") != 0 && strcmp(status, "INFO") != 0)
        json_object_set_new(o, "fix", jstr(fix));
    json_array_append_new(c->list, o);
    c->fail += strcmp(status, "FAIL") == 0;
    c->warn += strcmp(status, "WARN") == 0;
}

static int has_cap(const checks *c, int cap)
{
    return c->caps_known && (c->caps >> cap) & 1;
}

static void check_kernel(checks *c)
{
    struct utsname u;
    unsigned ma, mi, pa;
    static const char needs[] =
        "the sensor needs 5.17+: BPF ring buffer (5.8), BTF raw tracepoints tp_btf (5.5), "
        "bpf_get_current_task_btf (5.11), task storage in tracing programs, attach cookies "
        "(5.15), bpf_loop (5.17); each is tested below";
    if (uname(&u) != 0 || diag_kernel_version_parse(u.release, &ma, &mi, &pa) != 0) {
        check_add(c, "WARN", "kernel", "upgrade to a 5.17 or later kernel",
                  "cannot parse the kernel release; %s", needs);
        return;
    }
    c->kmajor = ma;
    c->kminor = mi;
    if (ma > 5 || (ma == 5 && mi >= 17))
        check_add(c, "PASS", "kernel", NULL, "%s; %s", u.release, needs);
    else
        check_add(c, "WARN", "kernel", "upgrade to a 5.17 or later kernel (Debian 12 ships 6.1)",
                  "%s is older than 5.17 (the feature tests below decide: distribution kernels "
                  "backport BPF features); %s", u.release, needs);
    if (strcmp(u.machine, "x86_64") == 0)
        check_add(c, "PASS", "architecture", NULL, "x86_64");
    else
        check_add(c, "FAIL", "architecture", "run the sensor on an x86-64 host",
                  "%s: the probe placement and BPF programs are built for x86-64 only",
                  u.machine);
}

static void check_btf(checks *c)
{
    struct stat st;
    static const char fix[] = "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian, Ubuntu, "
                              "Fedora and RHEL 8.2+ kernels have it)";
    if (stat("/sys/kernel/btf/vmlinux", &st) != 0) {
        check_add(c, "FAIL", "btf", fix, "/sys/kernel/btf/vmlinux: %s", strerror(errno));
        return;
    }
    int id = libbpf_find_vmlinux_btf_id("sched_process_exec", BPF_TRACE_RAW_TP);
    if (id < 0 && id != -ENOENT)
        check_add(c, "FAIL", "btf", fix, "/sys/kernel/btf/vmlinux cannot be parsed by libbpf: %s",
                  strerror(-id));
    else
        check_add(c, "PASS", "btf", NULL, "/sys/kernel/btf/vmlinux (%lld KiB), parsed by libbpf",
                  (long long)st.st_size / 1024);
}

static void check_privileges(checks *c)
{
    char status[8192];
    ssize_t n = read_small("/proc/self/status", status, sizeof(status));
    c->caps_known = n > 0 && diag_caps_parse(status, (size_t)n, &c->caps) == 0;
    int admin = has_cap(c, CAP_SYS_ADMIN_), bpf = has_cap(c, CAP_BPF_),
        perfmon = has_cap(c, CAP_PERFMON_);
    c->bpf_priv = admin || (bpf && perfmon);
    if (!c->caps_known)
        check_add(c, "FAIL", "privileges", "run as root",
                  "cannot read the effective capabilities from /proc/self/status");
    else if (admin)
        check_add(c, "PASS", "privileges", NULL,
                  "effective CAP_SYS_ADMIN (BPF programs, uprobes and tracepoints can be loaded)");
    else if (c->bpf_priv) /* recent kernels create uprobes only for CAP_SYS_ADMIN */
        check_add(c, "WARN", "privileges", "also grant CAP_SYS_ADMIN (systemd: AmbientCapabilities=)",
                  "effective CAP_BPF and CAP_PERFMON load BPF programs, but creating uprobes "
                  "needs CAP_SYS_ADMIN on recent kernels");
    else
        check_add(c, "FAIL", "privileges",
                  "run as root (sudo), or give the sensor CAP_SYS_ADMIN, CAP_BPF, CAP_PERFMON, "
                  "CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (systemd: AmbientCapabilities=)",
                  "missing %s (needs CAP_BPF + CAP_PERFMON, or CAP_SYS_ADMIN)",
                  !bpf && !perfmon ? "CAP_BPF and CAP_PERFMON" : !bpf ? "CAP_BPF" : "CAP_PERFMON");
    if (has_cap(c, CAP_SYS_PTRACE_) &&
        (has_cap(c, CAP_DAC_OVERRIDE_) || has_cap(c, CAP_DAC_READ_SEARCH_)))
        check_add(c, "PASS", "process access", NULL,
                  "CAP_SYS_PTRACE and file read access: every process's /proc/PID/maps and "
                  "/proc/PID/root (containers) can be read");
    else
        check_add(c, "WARN", "process access", "run as root, or add CAP_SYS_PTRACE and "
                  "CAP_DAC_READ_SEARCH",
                  "without CAP_SYS_PTRACE%s, other users' processes and containers cannot be "
                  "inspected, so their TLS libraries are not found",
                  has_cap(c, CAP_DAC_READ_SEARCH_) || has_cap(c, CAP_DAC_OVERRIDE_)
                      ? "" : " and CAP_DAC_READ_SEARCH");
}

static void check_memlock(checks *c)
{
    struct rlimit rl;
    char cur[32];
    if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0)
        rl.rlim_cur = rl.rlim_max = 0;
    if (rl.rlim_cur == RLIM_INFINITY)
        snprintf(cur, sizeof(cur), "unlimited");
    else
        snprintf(cur, sizeof(cur), "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
    /* libbpf's own test for memcg accounting of BPF memory (5.11): the
     * bpf_ktime_get_coarse_ns helper arrived in the same release. */
    int memcg = c->bpf_priv ? libbpf_probe_bpf_helper(BPF_PROG_TYPE_SOCKET_FILTER,
                                                      BPF_FUNC_ktime_get_coarse_ns, NULL) == 1
                            : c->kmajor > 5 || (c->kmajor == 5 && c->kminor >= 11);
    if (memcg)
        check_add(c, "PASS", "memlock", NULL,
                  "RLIMIT_MEMLOCK %s does not matter: the kernel charges BPF memory to the "
                  "memory cgroup (5.11+%s)", cur,
                  c->bpf_priv ? "" : "; inferred from the kernel version, not tested");
    else if (rl.rlim_cur == RLIM_INFINITY)
        check_add(c, "PASS", "memlock", NULL, "RLIMIT_MEMLOCK unlimited");
    else if (has_cap(c, CAP_SYS_RESOURCE_))
        check_add(c, "PASS", "memlock", NULL,
                  "RLIMIT_MEMLOCK %s, raised by libbpf at load (CAP_SYS_RESOURCE)", cur);
    else
        check_add(c, "FAIL", "memlock",
                  "run `ulimit -l unlimited` before starting the sensor (systemd: "
                  "LimitMEMLOCK=infinity), or grant CAP_SYS_RESOURCE",
                  "RLIMIT_MEMLOCK %s and no memcg accounting of BPF memory: map creation can "
                  "fail with EPERM", cur);
}

static void check_lockdown(checks *c)
{
    char buf[256];
    if (read_small("/sys/kernel/security/lockdown", buf, sizeof(buf)) <= 0) {
        check_add(c, "PASS", "lockdown", NULL, "no kernel lockdown");
        return;
    }
    buf[strcspn(buf, "\n")] = 0;
    if (strstr(buf, "[confidentiality]"))
        check_add(c, "FAIL", "lockdown",
                  "boot without lockdown=confidentiality (or disable Secure Boot's lockdown)",
                  "kernel lockdown is in confidentiality mode (%s): BPF cannot read kernel "
                  "memory", buf);
    else
        check_add(c, "PASS", "lockdown", NULL, "%s", buf);
}

static void check_uprobes(checks *c)
{
    char buf[64];
    if (read_small("/sys/bus/event_source/devices/uprobe/type", buf, sizeof(buf)) > 0)
        check_add(c, "PASS", "uprobes", NULL,
                  "uprobe perf event source present (type %ld): probes attach by file offset",
                  strtol(buf, NULL, 10));
    else
        check_add(c, "FAIL", "uprobes",
                  "use a kernel built with CONFIG_UPROBES=y and CONFIG_UPROBE_EVENTS=y",
                  "/sys/bus/event_source/devices/uprobe is missing: uprobes cannot be created");
}

static const char not_tested_fix[] = "run `sudo oisp-sensor check`";

static void check_maps(checks *c)
{
    if (!c->bpf_priv) {
        check_add(c, "FAIL", "ring buffer", not_tested_fix,
                  "not tested: creating BPF maps needs CAP_BPF or CAP_SYS_ADMIN");
        return;
    }
    int r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
    if (r == 1)
        check_add(c, "PASS", "ring buffer", NULL, "a BPF ring buffer map was created");
    else
        check_add(c, "FAIL", "ring buffer", "use a 5.8 or later kernel",
                  "a BPF ring buffer map cannot be created (%s)",
                  r < 0 ? strerror(-r) : "not supported");
    static const struct {
        enum bpf_map_type t;
        const char *name;
    } maps[] = {
        {BPF_MAP_TYPE_TASK_STORAGE, "task storage"}, {BPF_MAP_TYPE_HASH, "hash"},
        {BPF_MAP_TYPE_LRU_HASH, "LRU hash"},         {BPF_MAP_TYPE_PERCPU_ARRAY, "per-CPU array"},
    };
    char missing[256] = "";
    size_t k = 0;
    for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
        if (libbpf_probe_bpf_map_type(maps[i].t, NULL) != 1)
            k += (size_t)snprintf(missing + k, sizeof(missing) - k, "%s%s", k ? ", " : "",
                                  maps[i].name);
    if (!k)
        check_add(c, "PASS", "bpf maps", NULL, "task storage, hash, LRU hash and per-CPU array "
                  "maps were created");
    else
        check_add(c, "FAIL", "bpf maps", "use a 5.17 or later kernel",
                  "cannot create these BPF maps: %s", missing);
}

typedef struct helper {
    enum bpf_func_id id;
    const char *name;
} helper;

static void check_uprobe_progs(checks *c)
{
    if (!c->bpf_priv) {
        check_add(c, "FAIL", "uprobe programs", not_tested_fix,
                  "not tested: loading BPF programs needs CAP_BPF or CAP_SYS_ADMIN");
        return;
    }
    int r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL);
    if (r != 1) {
        check_add(c, "FAIL", "uprobe programs", "use a kernel with CONFIG_BPF_EVENTS=y",
                  "a trivial uprobe (kprobe-type) BPF program cannot be loaded (%s)",
                  r < 0 ? strerror(-r) : "not supported");
        return;
    }
    static const helper helpers[] = {
        {BPF_FUNC_ringbuf_reserve, "bpf_ringbuf_reserve"},
        {BPF_FUNC_ringbuf_query, "bpf_ringbuf_query"},
        {BPF_FUNC_probe_read_user, "bpf_probe_read_user"},
        {BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf"},
        {BPF_FUNC_task_storage_get, "bpf_task_storage_get"},
        {BPF_FUNC_get_attach_cookie, "bpf_get_attach_cookie (5.15)"},
        {BPF_FUNC_loop, "bpf_loop (5.17)"},
    };
    char missing[512] = "";
    size_t k = 0;
    for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
        if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, helpers[i].id, NULL) != 1)
            k += (size_t)snprintf(missing + k, sizeof(missing) - k, "%s%s", k ? ", " : "",
                                  helpers[i].name);
    if (!k)
        check_add(c, "PASS", "uprobe programs", NULL,
                  "a trivial uprobe program loads, with the helpers the TLS probes use "
                  "(ring buffer, bpf_loop, attach cookies, task storage)");
    else
        check_add(c, "FAIL", "uprobe programs", "use a 5.17 or later kernel",
                  "helpers missing for uprobe programs: %s", missing);
}

/* Loads a BPF program with raw bpf(2).  1 if it loaded, else -errno. */
static int prog_load(enum bpf_prog_type type, enum bpf_attach_type eat, uint32_t btf_id,
                     const struct bpf_insn *insns, uint32_t n, char *log, uint32_t loglen)
{
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = type;
    a.expected_attach_type = eat;
    a.attach_btf_id = btf_id;
    a.insns = (uint64_t)(uintptr_t)insns;
    a.insn_cnt = n;
    a.license = (uint64_t)(uintptr_t) "GPL";
    if (log) {
        log[0] = 0;
        a.log_buf = (uint64_t)(uintptr_t)log;
        a.log_size = loglen;
        a.log_level = 1;
    }
    int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
    if (fd >= 0) {
        close(fd);
        return 1;
    }
    return -errno;
}

static int prog_trivial(enum bpf_prog_type type, enum bpf_attach_type eat, uint32_t btf_id)
{
    const struct bpf_insn insns[] = {
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    return prog_load(type, eat, btf_id, insns, 2, NULL, 0);
}

/* Whether a tp_btf program may call a helper: libbpf's method (a call with
 * no valid arguments fails either way; only "unknown func" means absent). */
static int tracing_helper_ok(uint32_t btf_id, enum bpf_func_id helper_id)
{
    const struct bpf_insn insns[] = {
        {.code = BPF_JMP | BPF_CALL, .imm = helper_id},
        {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
        {.code = BPF_JMP | BPF_EXIT},
    };
    char log[4096];
    int r = prog_load(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, btf_id, insns, 3, log, sizeof(log));
    if (r == 1)
        return 1;
    if (!log[0])
        return r;
    return !(strstr(log, "invalid func ") || strstr(log, "unknown func "));
}

static void check_tracepoints(checks *c)
{
    static const char *const tps[] = {"sched_process_exec", "sched_process_exit",
                                      "sched_process_fork", "sys_enter", "sys_exit"};
    char missing[256] = "";
    size_t k = 0;
    int exec_id = -1;
    for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
        int id = libbpf_find_vmlinux_btf_id(tps[i], BPF_TRACE_RAW_TP);
        if (i == 0)
            exec_id = id;
        if (id < 0)
            k += (size_t)snprintf(missing + k, sizeof(missing) - k, "%sbtf_trace_%s",
                                  k ? ", " : "", tps[i]);
    }
    if (k) {
        check_add(c, "FAIL", "tracepoints",
                  "use a kernel with BTF (CONFIG_DEBUG_INFO_BTF=y) and these tracepoints",
                  "BTF types missing for raw tracepoints: %s", missing);
        return;
    }
    if (!c->bpf_priv) {
        check_add(c, "FAIL", "tracepoints", not_tested_fix,
                  "BTF types btf_trace_sched_process_{exec,exit,fork} and sys_{enter,exit} are "
                  "present; loading a tp_btf program not tested (needs CAP_BPF)");
        return;
    }
    int r = prog_trivial(BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, (uint32_t)exec_id);
    if (r != 1) {
        check_add(c, "FAIL", "tracepoints",
                  "use a 5.5 or later kernel with BTF and the BPF JIT (CONFIG_BPF_JIT=y)",
                  "a tp_btf/sched_process_exec program cannot be loaded: %s", strerror(-r));
        return;
    }
    static const helper helpers[] = {
        {BPF_FUNC_task_storage_get, "bpf_task_storage_get"},
        {BPF_FUNC_get_current_task_btf, "bpf_get_current_task_btf"},
        {BPF_FUNC_for_each_map_elem, "bpf_for_each_map_elem"},
        {BPF_FUNC_ringbuf_reserve, "bpf_ringbuf_reserve"},
        {BPF_FUNC_probe_read_user_str, "bpf_probe_read_user_str"},
    };
    k = 0;
    for (size_t i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
        if (tracing_helper_ok((uint32_t)exec_id, helpers[i].id) != 1)
            k += (size_t)snprintf(missing + k, sizeof(missing) - k, "%s%s", k ? ", " : "",
                                  helpers[i].name);
    if (k)
        check_add(c, "FAIL", "tracepoints", "use a 5.17 or later kernel",
                  "helpers missing for tp_btf programs: %s", missing);
    else
        check_add(c, "PASS", "tracepoints", NULL,
                  "BTF raw tracepoints sched_process_{exec,exit,fork} and sys_{enter,exit} "
                  "exist; a tp_btf program loads, with task storage and the other helpers used");
}

static void check_kprobes_fentry(checks *c)
{
    struct stat st;
    int kp = stat("/sys/bus/event_source/devices/kprobe", &st) == 0;
    int id = libbpf_find_vmlinux_btf_id("vfs_read", BPF_TRACE_FENTRY);
    int fe = id > 0 && c->bpf_priv ? prog_trivial(BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY,
                                                  (uint32_t)id) : 0;
    char fes[160];
    if (fe == 1)
        snprintf(fes, sizeof(fes), "a fentry program on vfs_read loads");
    else if (id <= 0)
        snprintf(fes, sizeof(fes), "not available (no BTF for vfs_read)");
    else if (!c->bpf_priv)
        snprintf(fes, sizeof(fes), "not tested (needs CAP_BPF)");
    else
        snprintf(fes, sizeof(fes), "not available (loading a fentry program: %s)", strerror(-fe));
    check_add(c, "INFO", "kprobes/fentry", NULL,
              "kprobe events %s; fentry/fexit %s (informational: the sensor does not use them)",
              kp ? "available" : "not available (no kprobe event source)", fes);
}

static void check_capstone(checks *c)
{
    if (capstone_loadable())
        check_add(c, "PASS", "capstone", NULL,
                  "%s loads (decodes the OpenSSL entry points to place fast probes)",
                  CAPSTONE_SONAME);
    else
        check_add(c, "FAIL", "capstone", "apt install libcapstone4",
                  "%s cannot be loaded: %s; without it no probe can be placed", CAPSTONE_SONAME,
                  dlerror());
}

/* "libssl.so.3 (OpenSSL 3.0.22)" for the TLS libraries and processes lines */
static size_t describe_item(const inv_item *it, char *out, size_t n)
{
    const tls_file *f = &it->f;
    unsigned main = f->stacks & DIAG_OPENSSL ? openssl_flavour(f->stacks) : lowest_bit(f->stacks);
    const char *ver = f->elf.version[stack_index(main)];
    if (main != DIAG_OPENSSL && (f->stacks & DIAG_OPENSSL) && !ver[0])
        ver = f->elf.version[0];
    return (size_t)snprintf(out, n, "%s (%s%s%s, %s)", f->path, diag_stack_name(main),
                            ver[0] ? " " : "", ver, tls_file_probed(f) ? "probed" : "not probed");
}

typedef struct pid_use {
    uint32_t pid;
    int probed;
} pid_use;

static int pid_use_cmp(const void *a, const void *b)
{
    const pid_use *x = a, *y = b;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Distinct pids that use a probed file, and that use only unprobed stacks. */
static void count_tls_pids(const inventory *inv, size_t *probed, size_t *other)
{
    size_t total = 0, k = 0;
    *probed = *other = 0;
    for (size_t i = 0; i < inv->n; i++)
        total += inv->items[i]->npids;
    pid_use *v = total ? malloc(total * sizeof(*v)) : NULL;
    if (!v)
        return;
    for (size_t i = 0; i < inv->n; i++)
        for (size_t j = 0; j < inv->items[i]->npids; j++)
            v[k++] = (pid_use){inv->items[i]->pids[j].pid, tls_file_probed(&inv->items[i]->f)};
    qsort(v, total, sizeof(*v), pid_use_cmp);
    for (size_t i = 0; i < total;) {
        size_t j = i;
        int any = 0;
        for (; j < total && v[j].pid == v[i].pid; j++)
            any |= v[j].probed;
        any ? (*probed)++ : (*other)++;
        i = j;
    }
    free(v);
}

static void check_tls(checks *c)
{
    inventory inv;
    if (inventory_scan(&inv, DIAG_SCAN_LIBDIRS | DIAG_SCAN_PROCS) != 0) {
        check_add(c, "WARN", "tls libraries", NULL, "out of memory");
        return;
    }
    char libs[2048] = "";
    size_t k = 0;
    int probed_libs = 0;
    size_t using_probed = 0, using_other = 0;
    for (size_t i = 0; i < inv.n; i++) {
        const inv_item *it = inv.items[i];
        if ((it->where & DIAG_SCAN_LIBDIRS) && k < sizeof(libs)) {
            if (k)
                k += (size_t)snprintf(libs + k, sizeof(libs) - k, ", ");
            if (k < sizeof(libs))
                k += describe_item(it, libs + k, sizeof(libs) - k);
            probed_libs += tls_file_probed(&it->f);
        }
    }
    count_tls_pids(&inv, &using_probed, &using_other);
    if (probed_libs)
        check_add(c, "PASS", "tls libraries", NULL, "%s", libs);
    else
        check_add(c, "WARN", "tls libraries",
                  "install OpenSSL's libssl (apt install libssl3) if your applications use it",
                  "no OpenSSL libssl.so* the sensor can probe in the library directories%s%s: "
                  "only programs with their own OpenSSL (node) can be captured",
                  k ? "; found: " : "", libs);
    char unread[768];
    inv_unreadable_text(&inv, unread, sizeof(unread));
    check_add(c, inv.procs_unreadable ? "WARN" : "PASS", "tls processes",
              geteuid() ? "run as root to inspect every process"
                        : "nothing to do unless those processes make AI calls: they are "
                          "protected from root and cannot be probed",
              "%zu of %zu running processes use OpenSSL the sensor probes; %zu use only TLS stacks "
              "it does not probe (see `oisp-sensor ssl-info`)%s%s",
              using_probed, inv.procs, using_other,
              inv.procs_unreadable ? "; could not inspect " : "", unread);
    inventory_free(&inv);
}

/* The first executable `name` on $PATH, resolved; 0 if found. */
static int find_on_path(const char *name, char *out, size_t n)
{
    const char *env = getenv("PATH");
    char *dirs = strdup(env && *env ? env : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL, path[PATH_MAX];
    int found = -1;
    for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
        struct stat st;
        if (snprintf(path, sizeof(path), "%s/%s", d, name) >= (int)sizeof(path) ||
            stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0)
            continue;
        if (!realpath(path, out) || strlen(out) >= n)
            snprintf(out, n, "%s", path);
        found = 0;
        break;
    }
    free(dirs);
    return found;
}

static void check_node(checks *c)
{
    tls_file *f = calloc(1, sizeof(*f));
    if (!f)
        return;
    if (find_on_path("node", f->path, sizeof(f->path)) != 0 &&
        find_on_path("nodejs", f->path, sizeof(f->path)) != 0) {
        check_add(c, "INFO", "node", NULL, "no node on PATH");
        free(f);
        return;
    }
    snprintf(f->open_path, sizeof(f->open_path), "%s", f->path);
    tls_file_inspect(f);
    int fd;
    Elf *e = elf_open_regular(f->path, &fd);
    int dyn = 0;
    if (e) {
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(e, scn))) {
            GElf_Shdr sh;
            if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_DYNAMIC)
                dyn |= needs_libssl(e, scn, &sh);
        }
        elf_end(e);
        close(fd);
    }
    if (tls_file_probed(f)) {
        char sites[512] = "";
        size_t k = 0;
        for (size_t i = 0; i < f->plan.n && k < sizeof(sites); i++)
            if (f->plan.sites[i].kind == PROBE_DATA)
                k += (size_t)snprintf(sites + k, sizeof(sites) - k, "%s%s%s", k ? ", " : "",
                                      f->plan.sites[i].what,
                                      f->plan.sites[i].emulated ? "" : " (single-stepped)");
        check_add(c, "PASS", "node", NULL, "%s carries static OpenSSL %s: probed at %s", f->path,
                  f->elf.version[0], sites);
    } else if (dyn) {
        check_add(c, "PASS", "node", NULL,
                  "%s uses the shared libssl (probed through the library)", f->path);
    } else {
        char why[PATH_MAX + 256];
        tls_file_why_not(f, why, sizeof(why));
        check_add(c, "WARN", "node", "use a node build with OpenSSL (nodejs.org builds, Debian's)",
                  "%s carries no OpenSSL the sensor can probe: %s", f->path,
                  f->stacks & DIAG_OPENSSL ? why : "no SSL_read/SSL_write and no libssl");
    }
    free(f);
}

static int quiet_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    (void)level;
    (void)fmt;
    (void)ap;
    return 0;
}

json_t *diag_check_report(void)
{
    checks c = {.list = json_array()};
    libbpf_print_fn_t old = libbpf_set_print(quiet_libbpf);
    check_kernel(&c);
    check_btf(&c);
    check_privileges(&c);
    check_memlock(&c);
    check_lockdown(&c);
    check_uprobes(&c);
    check_maps(&c);
    check_uprobe_progs(&c);
    check_tracepoints(&c);
    check_kprobes_fentry(&c);
    check_capstone(&c);
    check_tls(&c);
    check_node(&c);
    libbpf_set_print(old);
    json_t *r = json_object();
    json_object_set_new(r, "checks", c.list);
    json_object_set_new(r, "failed", json_integer(c.fail));
    json_object_set_new(r, "warnings", json_integer(c.warn));
    return r;
}

/* ---- text output and the commands ------------------------------------------------- */

/* Prints s with control bytes (C0, DEL and UTF-8-encoded C1) as '?'. */
static void put_safe(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            fputc('?', out);
            p++;
        } else {
            fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
        }
    }
}

static const char *jget(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void print_json(json_t *r)
{
    json_dumpf(r, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
}

/* Options common to the three commands. */
static int parse_common(int argc, char **argv, const char *usage, int *json, long *pid)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"pid", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, pid ? "jp:h" : "jh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'j': *json = 1; break;
        case 'p': {
            char *end;
            errno = 0;
            long v = pid ? strtol(optarg, &end, 10) : 0;
            if (!pid || errno || *end || end == optarg || v <= 0 || v > 4194304) {
                fprintf(stderr, "oisp-sensor: --pid wants a process id, not '%s'\n", optarg);
                return 2;
            }
            *pid = v;
            break;
        }
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "oisp-sensor: unexpected argument '%s'\n%s", argv[optind], usage);
        return 2;
    }
    return -1;
}

static void print_check_text(json_t *r)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(r, "checks"), i, o) {
        printf("%-4s  %-16s ", jget(o, "status"), jget(o, "check"));
        put_safe(stdout, jget(o, "detail"));
        if (json_object_get(o, "fix")) {
            fputs(" -> fix: ", stdout);
            put_safe(stdout, jget(o, "fix"));
        }
        fputc('\n', stdout);
    }
    long long fail = json_integer_value(json_object_get(r, "failed"));
    long long warn = json_integer_value(json_object_get(r, "warnings"));
    printf("\n%s: %lld failed, %lld warning%s\n",
           fail ? "the sensor cannot run here until the FAIL lines are fixed"
                : "this host can run the sensor",
           fail, warn, warn == 1 ? "" : "s");
}

int cmd_check(int argc, char **argv)
{
    static const char usage[] =
        "usage: oisp-sensor check [--json]\n"
        "Tests what the sensor needs on this host (kernel, BTF, privileges, memlock,\n"
        "uprobes, tracepoints, BPF ring buffer) and lists the TLS libraries found.\n"
        "One PASS/WARN/FAIL line per check; a failure says how to fix it.\n"
        "Exit status 0 when nothing failed, 1 otherwise.\n";
    int json = 0;
    int rc = parse_common(argc, argv, usage, &json, NULL);
    if (rc >= 0)
        return rc;
    json_t *r = diag_check_report();
    if (json)
        print_json(r);
    else
        print_check_text(r);
    int failed = json_integer_value(json_object_get(r, "failed")) > 0;
    json_decref(r);
    return failed ? 1 : 0;
}

/* "OpenSSL 3.0.22, rustls 0.23.37" */
static void print_stacks(json_t *file)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(file, "stacks"), i, s) {
        fputs(i ? ", " : "", stdout);
        put_safe(stdout, jget(s, "name"));
        if (*jget(s, "version")) {
            fputc(' ', stdout);
            put_safe(stdout, jget(s, "version"));
        }
    }
}

static void print_probes(json_t *file, const char *indent)
{
    if (json_is_true(json_object_get(file, "probed"))) {
        printf("%sprobed: yes, at ", indent);
        size_t i;
        json_t *s;
        json_array_foreach(json_object_get(file, "probes"), i, s) {
            fputs(i ? ", " : "", stdout);
            put_safe(stdout, jget(s, "at"));
            printf(" (%s)", json_is_true(json_object_get(s, "emulated")) ? "emulated"
                                                                           : "single-stepped");
        }
        fputc('\n', stdout);
    } else {
        printf("%sprobed: no: ", indent);
        put_safe(stdout, jget(file, "why_not"));
        fputc('\n', stdout);
    }
}

static void print_diagnose_text(json_t *r)
{
    printf("process    %lld ", json_integer_value(json_object_get(r, "pid")));
    put_safe(stdout, jget(r, "comm"));
    if (json_object_get(r, "uid"))
        printf(" (uid %lld)", json_integer_value(json_object_get(r, "uid")));
    fputs("\nexe        ", stdout);
    if (json_is_string(json_object_get(r, "exe"))) {
        put_safe(stdout, jget(r, "exe"));
        if (json_is_true(json_object_get(r, "exe_deleted")))
            fputs(" (deleted)", stdout);
    } else {
        printf("unknown (%s)", jget(r, "exe_error"));
    }
    printf("\nnamespace  %s mount namespace\n", jget(r, "mount_namespace"));
    json_t *files = json_object_get(r, "files");
    if (json_array_size(files) == 0)
        puts("TLS        none found");
    size_t i;
    json_t *f;
    json_array_foreach(files, i, f) {
        fputs(i ? "           " : "TLS        ", stdout);
        print_stacks(f);
        printf(" (%s): ", jget(f, "linkage"));
        put_safe(stdout, jget(f, "path"));
        fputc('\n', stdout);
        print_probes(f, "             ");
    }
    json_t *lc = json_object_get(r, "libcrypto");
    json_array_foreach(lc, i, f) {
        fputs(i ? ", " : "libcrypto  ", stdout);
        put_safe(stdout, json_string_value(f));
        if (i + 1 == json_array_size(lc))
            fputs(" (crypto only, no TLS)\n", stdout);
    }
    printf("OpenSSL    %s\n", jget(r, "openssl"));
    printf("attach     %s\n", json_is_true(json_object_get(r, "attachable")) ? "yes" : "no");
    fputs("verdict    ", stdout);
    put_safe(stdout, jget(r, "verdict"));
    fputc('\n', stdout);
}

int cmd_diagnose(int argc, char **argv)
{
    static const char usage[] =
        "usage: oisp-sensor diagnose --pid PID [--json]\n"
        "Says which TLS library a process uses (OpenSSL shared or static, BoringSSL,\n"
        "GnuTLS, NSS, Go crypto/tls, rustls), whether the sensor can attach to it,\n"
        "where its probes would go, and why not when it cannot.\n";
    int json = 0;
    long pid = 0;
    int rc = parse_common(argc, argv, usage, &json, &pid);
    if (rc >= 0)
        return rc;
    if (pid == 0) {
        fprintf(stderr, "oisp-sensor diagnose: --pid PID is required\n%s", usage);
        return 2;
    }
    char err[PATH_MAX + 128];
    json_t *r = diag_process_report((uint32_t)pid, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "oisp-sensor diagnose: ");
        put_safe(stderr, err);
        fputc('\n', stderr);
        return 1;
    }
    if (json)
        print_json(r);
    else
        print_diagnose_text(r);
    json_decref(r);
    return 0;
}

static void print_inventory_text(json_t *r)
{
    json_t *files = json_object_get(r, "files");
    size_t i, j;
    json_t *f, *p;
    json_array_foreach(files, i, f) {
        put_safe(stdout, jget(f, "path"));
        printf("  [dev %s inode %lld", jget(f, "dev"),
               json_integer_value(json_object_get(f, "inode")));
        if (json_object_get(f, "mount_namespace_of"))
            printf(", mount namespace of pid %lld",
                   json_integer_value(json_object_get(f, "mount_namespace_of")));
        fputs(json_is_true(json_object_get(f, "deleted")) ? ", deleted]\n  " : "]\n  ", stdout);
        print_stacks(f);
        printf(" (%s); found in ", jget(f, "linkage"));
        json_array_foreach(json_object_get(f, "found_in"), j, p) {
            fputs(j ? ", " : "", stdout);
            fputs(json_string_value(p), stdout);
        }
        fputc('\n', stdout);
        print_probes(f, "  ");
        json_t *procs = json_object_get(f, "processes");
        if (json_array_size(procs)) {
            printf("  %zu process%s:", json_array_size(procs),
                   json_array_size(procs) == 1 ? "" : "es");
            json_array_foreach(procs, j, p) {
                if (j == PIDS_SHOWN) {
                    printf(" ... (--json lists all)");
                    break;
                }
                printf(" %lld (", json_integer_value(json_object_get(p, "pid")));
                put_safe(stdout, jget(p, "comm"));
                fputc(')', stdout);
            }
            fputc('\n', stdout);
        }
        fputc('\n', stdout);
    }
    printf("%zu TLS file%s", json_array_size(files), json_array_size(files) == 1 ? "" : "s");
    if (json_object_get(r, "processes_scanned"))
        printf("; %lld processes scanned",
               json_integer_value(json_object_get(r, "processes_scanned")));
    fputc('\n', stdout);
    json_array_foreach(json_object_get(r, "processes_unreadable"), i, p) {
        printf("could not inspect pid %lld (", json_integer_value(json_object_get(p, "pid")));
        put_safe(stdout, jget(p, "comm"));
        fputs("): ", stdout);
        put_safe(stdout, jget(p, "error"));
        fputc('\n', stdout);
    }
}

int cmd_ssl_info(int argc, char **argv)
{
    static const char usage[] =
        "usage: oisp-sensor ssl-info [--json]\n"
        "Lists every TLS library (libssl, libgnutls, libnss3, libwolfssl, libmbedtls) in\n"
        "the library directories, every program on PATH that carries its own TLS stack,\n"
        "and every such file mapped by a running process, grouped by (device, inode):\n"
        "stack and version, whether the sensor probes it, and the processes using it.\n";
    int json = 0;
    int rc = parse_common(argc, argv, usage, &json, NULL);
    if (rc >= 0)
        return rc;
    json_t *r = diag_inventory_report(DIAG_SCAN_LIBDIRS | DIAG_SCAN_PROCS | DIAG_SCAN_PATH);
    if (!r) {
        fprintf(stderr, "oisp-sensor ssl-info: out of memory\n");
        return 1;
    }
    if (json)
        print_json(r);
    else
        print_inventory_text(r);
    json_decref(r);
    return 0;
}
