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

#define SCAN_BYTES 128     /* how far into a public function we look for the internal call */
#define SITE_STEPS 3       /* instructions a probe may step over to reach an emulated one */
#define BACKREF_SCAN 4096  /* bytes searched for a branch back into those instructions */

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
    cs_err (*option)(csh, cs_opt_type, size_t);
    cs_err (*regs_access)(csh, const cs_insn *, cs_regs, uint8_t *, cs_regs, uint8_t *);
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
    *(void **)&cs.option = dlsym(cs.lib, "cs_option");
    *(void **)&cs.regs_access = dlsym(cs.lib, "cs_regs_access");
    if (!cs.open || !cs.disasm || !cs.free || !cs.close || !cs.option || !cs.regs_access) {
        dlclose(cs.lib);
        return -1;
    }
    return 0;
}

typedef struct pub_fn {
    const char *name;
    uint32_t cookie;
    uint64_t addr;       /* 0: not exported */
    uint64_t site;       /* where an emulated probe sees its entry state, 0 if nowhere */
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

/* The registers a probe reads at entry (the four arguments) and the stack
 * pointer, under any of their names. */
static int reg_is_kept(uint16_t r)
{
    switch (r) {
    case X86_REG_RDI: case X86_REG_EDI: case X86_REG_DI: case X86_REG_DIL:
    case X86_REG_RSI: case X86_REG_ESI: case X86_REG_SI: case X86_REG_SIL:
    case X86_REG_RDX: case X86_REG_EDX: case X86_REG_DX: case X86_REG_DL: case X86_REG_DH:
    case X86_REG_RCX: case X86_REG_ECX: case X86_REG_CX: case X86_REG_CL: case X86_REG_CH:
    case X86_REG_RSP: case X86_REG_ESP: case X86_REG_SP: case X86_REG_SPL:
        return 1;
    default:
        return 0;
    }
}

static int insn_in_group(const cs_insn *insn, int group)
{
    for (uint8_t i = 0; i < insn->detail->groups_count; i++)
        if (insn->detail->groups[i] == group)
            return 1;
    return 0;
}

/* 1 if stepping over insn leaves a probe after it the same view as one on
 * it: no branch, no memory operand, no write to an argument register or
 * the stack pointer (endbr64, test, cmp, mov to another register). */
static int insn_leaves_entry_state(csh h, const cs_insn *insn)
{
    if (!insn->detail || insn_in_group(insn, CS_GRP_JUMP) || insn_in_group(insn, CS_GRP_CALL) ||
        insn_in_group(insn, CS_GRP_RET) || insn_in_group(insn, CS_GRP_INT) ||
        insn_in_group(insn, CS_GRP_IRET))
        return 0;
    const cs_x86 *x = &insn->detail->x86;
    for (uint8_t i = 0; i < x->op_count; i++)
        if (x->operands[i].type == X86_OP_MEM)
            return 0;
    cs_regs rd, wr;
    uint8_t nrd, nwr;
    if (cs.regs_access(h, insn, rd, &nrd, wr, &nwr) != CS_ERR_OK)
        return 0;
    for (uint8_t i = 0; i < nwr; i++)
        if (reg_is_kept(wr[i]))
            return 0;
    return 1;
}

/* 1 if a direct branch or call in the code from fn targets (fn, site]: a
 * probe at site would then also fire on paths that did not enter fn. */
static int branch_into(csh h, elfimg *img, uint64_t fn, uint64_t site)
{
    uint8_t code[BACKREF_SCAN];
    size_t n = elfimg_read(img, fn, code, sizeof(code));
    cs_insn *insn;
    size_t cnt = cs.disasm(h, code, n, fn, 0, &insn);
    int found = 0;
    for (size_t i = 0; i < cnt && !found; i++) {
        const cs_x86 *x = &insn[i].detail->x86;
        if ((insn_in_group(&insn[i], CS_GRP_JUMP) || insn_in_group(&insn[i], CS_GRP_CALL)) &&
            x->op_count == 1 && x->operands[0].type == X86_OP_IMM) {
            uint64_t target = (uint64_t)x->operands[0].imm;
            found = target > fn && target <= site;
        }
    }
    if (cnt)
        cs.free(insn, cnt);
    return found;
}

/* Where an emulated probe sees fn's entry state: fn itself if its first
 * instruction is emulated, else the first emulated instruction after at
 * most SITE_STEPS instructions that leave that state alone (Debian's and
 * node's SSL_free start with `test %rdi,%rdi; je`; CET builds start every
 * function with endbr64).  The return address is still at the top of the
 * stack there, so a return probe on the same site works.  0 if none. */
static uint64_t emulated_site(csh h, elfimg *img, uint64_t fn)
{
    uint8_t code[64];
    size_t n = elfimg_read(img, fn, code, sizeof(code));
    cs_insn *insn;
    size_t cnt = cs.disasm(h, code, n, fn, SITE_STEPS + 1, &insn);
    uint64_t site = 0;
    for (size_t i = 0; i < cnt; i++) {
        if (probe_insn_emulated(insn[i].bytes, insn[i].size)) {
            site = insn[i].address;
            break;
        }
        if (!insn_leaves_entry_state(h, &insn[i]))
            break;
    }
    if (cnt)
        cs.free(insn, cnt);
    if (site > fn && branch_into(h, img, fn, site))
        return 0;
    return site;
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

/* Adds a probe on the function at fn: at site if it has an emulated one,
 * else on its (single-stepped) first instruction. */
static int add_site(probe_plan *p, elfimg *img, uint64_t fn, uint64_t site, uint32_t cookie,
                    int kind, const char *name)
{
    uint64_t at = site ? site : fn;
    int64_t off = elfimg_file_offset(img, at);
    if (off < 0 || p->n >= PROBE_PLAN_MAX)
        return -1;
    probe_site *s = &p->sites[p->n++];
    s->file_offset = (uint64_t)off;
    s->cookie = cookie;
    s->kind = kind;
    s->emulated = site != 0;
    if (at > fn)
        snprintf(s->what, sizeof(s->what), "%s+0x%llx", name, (unsigned long long)(at - fn));
    else
        snprintf(s->what, sizeof(s->what), "%s", name);
    if (kind == PROBE_DATA && !s->emulated)
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
        all_emulated &= fns[i].site != 0;
        if (!fns[i].callee || (shared && fns[i].callee != shared))
            same_callee = 0;
        shared = fns[i].callee;
    }
    if (!present)
        return;
    uint64_t shared_site = !all_emulated && same_callee && shared ? emulated_site(h, img, shared) : 0;
    if (shared_site) {
        const pub_fn *via = fns[0].addr ? &fns[0] : &fns[1];
        char name[64];
        snprintf(name, sizeof(name), "internal@%s+0x%llx", via->name,
                 (unsigned long long)via->call_off);
        uint32_t cookie = (fns[0].cookie & TLS_COOKIE_DIR_READ) | TLS_COOKIE_EX_CONV;
        add_site(p, img, shared, shared_site, cookie, PROBE_DATA, name);
        return;
    }
    for (int i = 0; i < nfns; i++)
        if (fns[i].addr)
            add_site(p, img, fns[i].addr, fns[i].site, fns[i].cookie, PROBE_DATA, fns[i].name);
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
    if (cs.open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK ||
        cs.option(h, CS_OPT_DETAIL, CS_OPT_ON) != CS_ERR_OK) {
        dlclose(cs.lib);
        elfimg_close(img);
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        if (!fns[i].addr)
            continue;
        fns[i].site = emulated_site(h, img, fns[i].addr);
        find_first_call(h, img, &fns[i]);
    }
    plan_direction(h, img, fns, 2, plan);
    plan_direction(h, img, fns + 2, 2, plan);
    uint64_t free_fn = elfimg_func(img, "SSL_free");
    if (free_fn)
        add_site(plan, img, free_fn, emulated_site(h, img, free_fn), 0, PROBE_FREE, "SSL_free");
    elfimg_openssl_version(img, plan->version, sizeof(plan->version));
    cs.close(&h);
    dlclose(cs.lib);
    elfimg_close(img);
    return plan->n > 0 ? 1 : 0;
}
