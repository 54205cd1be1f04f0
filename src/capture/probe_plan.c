/* probe_plan.c: probe placement by decoding the first instructions of the
 * OpenSSL entry points with capstone (see probe_plan.h for the strategy). */
#include "capture/probe_plan.h"

#include <capstone/capstone.h>
#include <stdio.h>
#include <string.h>

#include "capture/elfimg.h"
#include "tls.h"

#define SCAN_BYTES 128 /* how far into a public function we look for the internal call */

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
static size_t first_insn_len(csh cs, const uint8_t *code, size_t n, uint64_t addr)
{
    cs_insn *insn;
    size_t cnt = cs_disasm(cs, code, n, addr, 1, &insn);
    size_t len = cnt ? insn[0].size : 0;
    if (cnt)
        cs_free(insn, cnt);
    return len;
}

static int entry_emulated(csh cs, elfimg *img, uint64_t addr)
{
    uint8_t code[16];
    size_t n = elfimg_read(img, addr, code, sizeof(code));
    size_t len = first_insn_len(cs, code, n, addr);
    return len && probe_insn_emulated(code, len);
}

/* The first direct call in straight-line code from addr (conditional
 * branches fall through; an unconditional jmp or ret ends the scan). */
static void find_first_call(csh cs, elfimg *img, pub_fn *f)
{
    uint8_t code[SCAN_BYTES];
    size_t n = elfimg_read(img, f->addr, code, sizeof(code));
    cs_insn *insn;
    size_t cnt = cs_disasm(cs, code, n, f->addr, 0, &insn);
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
        cs_free(insn, cnt);
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
static void plan_direction(csh cs, elfimg *img, pub_fn *fns, int nfns, probe_plan *p)
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
    if (!all_emulated && same_callee && shared && entry_emulated(cs, img, shared)) {
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
    csh cs;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
        elfimg_close(img);
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        if (!fns[i].addr)
            continue;
        fns[i].entry_emulated = entry_emulated(cs, img, fns[i].addr);
        find_first_call(cs, img, &fns[i]);
    }
    plan_direction(cs, img, fns, 2, plan);
    plan_direction(cs, img, fns + 2, 2, plan);
    uint64_t free_fn = elfimg_func(img, "SSL_free");
    if (free_fn)
        add_site(plan, img, free_fn, 0, PROBE_FREE, entry_emulated(cs, img, free_fn), "SSL_free");
    elfimg_openssl_version(img, plan->version, sizeof(plan->version));
    cs_close(&cs);
    elfimg_close(img);
    return plan->n > 0 ? 1 : 0;
}
