/* probe_plan.c: probe placement by decoding the first instructions of the
 * OpenSSL entry points with capstone (see probe_plan.h for the strategy).
 *
 * capstone is loaded with dlopen() for each plan and unloaded after it:
 * plans are made once per new binary, and the library's relocated tables
 * would otherwise stay in the sensor's resident memory (~4.5 MB) for good. */
#include "capture/probe_plan.h"

#include <capstone/capstone.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "capture/elfimg.h"
#include "tls.h"

#define SCAN_BYTES 128 /* how far into a public function we look for the internal call */

#ifndef CAPSTONE_SONAME
#define CAPSTONE_SONAME "libcapstone.so.4"
#endif

/* The capstone functions we use, resolved at run time. */
static struct {
    void *lib;
    cs_err (*open)(cs_arch, cs_mode, csh *);
    size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
    void (*free)(cs_insn *, size_t);
    cs_err (*close)(csh *);
} cs;

static int cs_load(void)
{
    cs.lib = dlopen(CAPSTONE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!cs.lib)
        return -1;
    *(void **)&cs.open = dlsym(cs.lib, "cs_open");
    *(void **)&cs.disasm = dlsym(cs.lib, "cs_disasm");
    *(void **)&cs.free = dlsym(cs.lib, "cs_free");
    *(void **)&cs.close = dlsym(cs.lib, "cs_close");
    if (!cs.open || !cs.disasm || !cs.free || !cs.close) {
        dlclose(cs.lib);
        return -1;
    }
    return 0;
}

typedef struct pub_fn {
    const char *name;
    uint32_t cookie;
    uint64_t addr;       /* 0: not exported */
    int entry_emulated;
    uint64_t callee;     /* first direct call into .text, 0 if none */
    uint64_t call_off;   /* offset of that call in the function */
} pub_fn;

int probe_insn_emulated(const uint8_t *c, size_t len)
{
    if (len >= 1 && c[0] >= 0x50 && c[0] <= 0x57)
        return 1; /* push reg */
    if (len >= 2 && c[0] == 0x41 && c[1] >= 0x50 && c[1] <= 0x57)
        return 1; /* push r8-r15 */
    if (len >= 1 && (c[0] == 0xe8 || c[0] == 0xe9 || c[0] == 0xeb || c[0] == 0x90))
        return 1; /* call rel32, jmp rel32/rel8, nop */
    if (len >= 1 && c[0] >= 0x70 && c[0] <= 0x7f)
        return 1; /* jcc rel8 */
    if (len >= 2 && c[0] == 0x0f && c[1] >= 0x80 && c[1] <= 0x8f)
        return 1; /* jcc rel32 */
    return 0;
}

/* Length of the first instruction, or 0 if capstone cannot decode it. */
static size_t first_insn_len(csh h, const uint8_t *code, size_t n, uint64_t addr)
{
    cs_insn *insn;
    size_t cnt = cs.disasm(h, code, n, addr, 1, &insn);
    size_t len = cnt ? insn[0].size : 0;
    if (cnt)
        cs.free(insn, cnt);
    return len;
}

static int entry_emulated(csh h, elfimg *img, uint64_t addr)
{
    uint8_t code[16];
    size_t n = elfimg_read(img, addr, code, sizeof(code));
    size_t len = first_insn_len(h, code, n, addr);
    return len && probe_insn_emulated(code, len);
}

/* The first direct call in straight-line code from addr (conditional
 * branches fall through; an unconditional jmp or ret ends the scan). */
static void find_first_call(csh h, elfimg *img, pub_fn *f)
{
    uint8_t code[SCAN_BYTES];
    size_t n = elfimg_read(img, f->addr, code, sizeof(code));
    cs_insn *insn;
    size_t cnt = cs.disasm(h, code, n, f->addr, 0, &insn);
    for (size_t i = 0; i < cnt; i++) {
        const uint8_t *b = insn[i].bytes;
        if (b[0] == 0xc3 || b[0] == 0xe9 || b[0] == 0xeb)
            break;
        if (b[0] == 0xe8 && insn[i].size == 5) {
            int32_t rel;
            memcpy(&rel, b + 1, 4);
            uint64_t target = insn[i].address + 5 + (int64_t)rel;
            if (elfimg_in_text(img, target)) {
                f->callee = target;
                f->call_off = insn[i].address - f->addr;
            }
            break;
        }
    }
    if (cnt)
        cs.free(insn, cnt);
}

static int add_site(probe_plan *p, elfimg *img, uint64_t addr, uint32_t cookie, int kind,
                    int emulated, const char *what)
{
    int64_t off = elfimg_file_offset(img, addr);
    if (off < 0 || p->n >= PROBE_PLAN_MAX)
        return -1;
    probe_site *s = &p->sites[p->n++];
    s->file_offset = (uint64_t)off;
    s->cookie = cookie;
    s->kind = kind;
    s->emulated = emulated;
    snprintf(s->what, sizeof(s->what), "%s", what);
    if (kind == PROBE_DATA && !emulated)
        p->slow++;
    return 0;
}

/* Plan the probes for one direction: fns[0..1] are the classic and _ex
 * functions of that direction. */
static void plan_direction(csh h, elfimg *img, pub_fn *fns, int nfns, probe_plan *p)
{
    int present = 0, all_emulated = 1;
    uint64_t shared = 0;
    int same_callee = 1;
    for (int i = 0; i < nfns; i++) {
        if (!fns[i].addr)
            continue;
        present++;
        all_emulated &= fns[i].entry_emulated;
        if (!fns[i].callee || (shared && fns[i].callee != shared))
            same_callee = 0;
        shared = fns[i].callee;
    }
    if (!present)
        return;
    if (!all_emulated && same_callee && shared && entry_emulated(h, img, shared)) {
        const pub_fn *via = fns[0].addr ? &fns[0] : &fns[1];
        char what[96];
        snprintf(what, sizeof(what), "internal@%s+0x%llx", via->name,
                 (unsigned long long)via->call_off);
        uint32_t cookie = (fns[0].cookie & TLS_COOKIE_DIR_READ) | TLS_COOKIE_EX_CONV;
        add_site(p, img, shared, cookie, PROBE_DATA, 1, what);
        return;
    }
    for (int i = 0; i < nfns; i++)
        if (fns[i].addr)
            add_site(p, img, fns[i].addr, fns[i].cookie, PROBE_DATA, fns[i].entry_emulated,
                     fns[i].name);
}

int probe_plan_build(const char *path, probe_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    elfimg *img = elfimg_open(path);
    if (!img)
        return -1;
    pub_fn fns[4] = {
        {"SSL_read", TLS_COOKIE_DIR_READ, 0, 0, 0, 0},
        {"SSL_read_ex", TLS_COOKIE_DIR_READ | TLS_COOKIE_EX_CONV, 0, 0, 0, 0},
        {"SSL_write", 0, 0, 0, 0, 0},
        {"SSL_write_ex", TLS_COOKIE_EX_CONV, 0, 0, 0, 0},
    };
    int found = 0;
    for (int i = 0; i < 4; i++)
        found |= (fns[i].addr = elfimg_func(img, fns[i].name)) != 0;
    if (!found || (!fns[0].addr && !fns[1].addr) || (!fns[2].addr && !fns[3].addr)) {
        elfimg_close(img);
        return 0;
    }
    csh h;
    if (cs_load() != 0) {
        elfimg_close(img);
        return -1;
    }
    if (cs.open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) {
        dlclose(cs.lib);
        elfimg_close(img);
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        if (!fns[i].addr)
            continue;
        fns[i].entry_emulated = entry_emulated(h, img, fns[i].addr);
        find_first_call(h, img, &fns[i]);
    }
    plan_direction(h, img, fns, 2, plan);
    plan_direction(h, img, fns + 2, 2, plan);
    uint64_t free_fn = elfimg_func(img, "SSL_free");
    if (free_fn)
        add_site(plan, img, free_fn, 0, PROBE_FREE, entry_emulated(h, img, free_fn), "SSL_free");
    elfimg_openssl_version(img, plan->version, sizeof(plan->version));
    cs.close(&h);
    dlclose(cs.lib);
    elfimg_close(img);
    return plan->n > 0 ? 1 : 0;
}
