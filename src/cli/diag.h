/* diag.h: the diagnostic commands.
 *   `oisp-sensor check`          can this host run the sensor? one PASS/WARN/FAIL
 *                                line per requirement, with the fix for a failure;
 *   `oisp-sensor diagnose --pid` which TLS stack one process uses and whether the
 *                                sensor can attach to it, and why not;
 *   `oisp-sensor ssl-info`       every TLS library and TLS-carrying binary on the
 *                                host and in running processes, with versions.
 * Each command builds a JSON report (printed as is with --json, or as text).
 * The pieces that read untrusted input (/proc text, ELF files of any process)
 * are exposed here for the unit tests. */
#ifndef OISP_CLI_DIAG_H
#define OISP_CLI_DIAG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

int cmd_check(int argc, char **argv);
int cmd_diagnose(int argc, char **argv);
int cmd_ssl_info(int argc, char **argv);

/* TLS stacks a file can carry, as bits.  DIAG_OPENSSL means the file defines
 * OpenSSL's SSL_read/SSL_write API (what the sensor probes); BoringSSL and
 * LibreSSL define it too and are flagged by their own bit as well. */
enum {
    DIAG_OPENSSL = 1u << 0,
    DIAG_BORINGSSL = 1u << 1,
    DIAG_LIBRESSL = 1u << 2,
    DIAG_GNUTLS = 1u << 3,
    DIAG_NSS = 1u << 4,
    DIAG_WOLFSSL = 1u << 5,
    DIAG_MBEDTLS = 1u << 6,
    DIAG_GO_TLS = 1u << 7,
    DIAG_RUSTLS = 1u << 8,
};
#define DIAG_NSTACKS 9

/* "OpenSSL", "Go crypto/tls", ... for one DIAG_* bit; "?" otherwise. */
const char *diag_stack_name(unsigned bit);

/* What one ELF file carries. */
typedef struct diag_elf {
    unsigned stacks;                 /* DIAG_* bits */
    int go;                          /* a Go program (.go.buildinfo or runtime.main) */
    int program;                     /* an executable (ET_EXEC or has PT_INTERP), not a library */
    char version[DIAG_NSTACKS][64];  /* version per stack bit index, "" if unknown */
} diag_elf;

/* Reads the symbols, a few sections and the headers of an ELF file.
 * Returns 0, or -1 with errno set (ENOEXEC: not ELF; EINVAL: not a regular
 * file; it never blocks on a FIFO or device). */
int diag_elf_inspect(const char *path, diag_elf *out);

/* The TLS stack a library's file name says it is (libssl.so* -> OpenSSL,
 * libssl3.so and libnss3.so -> NSS, libgnutls.so* -> GnuTLS, libwolfssl.so*,
 * libmbedtls.so*), or 0. */
unsigned diag_stack_of_libname(const char *path);
/* 1 if the file name is OpenSSL's libcrypto (crypto, but no TLS). */
int diag_is_libcrypto(const char *path);

/* Finds a NUL-terminated string in buf that contains key immediately
 * followed by a digit (at the string's start when at_start), and copies it
 * from key on, up to the NUL, printable ASCII only.  Returns 1 if found. */
int diag_find_version(const char *buf, size_t n, const char *key, int at_start, char *out,
                      size_t outlen);

/* "6.18.44-fc-v595" -> 6, 18, 44.  Returns 0, or -1 if it has no "X.Y". */
int diag_kernel_version_parse(const char *release, unsigned *major, unsigned *minor,
                              unsigned *patch);

/* The effective capability set from /proc/PID/status text.  0 or -1. */
int diag_caps_parse(const char *status, size_t n, uint64_t *capeff);

/* One line of /proc/PID/maps. */
typedef struct diag_map {
    uint64_t start, end, offset, inode;
    unsigned dev_major, dev_minor;
    char perms[5];
    const char *path; /* into the parsed line; NULL for an anonymous mapping */
    int deleted;      /* the path ended in " (deleted)" (now cut off) */
} diag_map;

/* Parses one maps line in place (cuts the newline and " (deleted)").
 * Returns 0, or -1 if the line is malformed. */
int diag_maps_parse_line(char *line, diag_map *m);

/* The reports behind the commands (caller owns the result, json_decref). */
json_t *diag_check_report(void);
/* NULL with err filled when pid does not exist or /proc cannot be read. */
json_t *diag_process_report(uint32_t pid, char *err, size_t errlen);

/* What ssl-info looks at. */
enum { DIAG_SCAN_LIBDIRS = 1, DIAG_SCAN_PROCS = 2, DIAG_SCAN_PATH = 4 };
json_t *diag_inventory_report(unsigned scan);

#endif
