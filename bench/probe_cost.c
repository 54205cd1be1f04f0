/* probe_cost.c: what one uprobe costs a traced program on this machine, and
 * a no-op stand-in for the sensor's probes (`make bench`).
 *
 *   probe_cost self              ns per call of a tiny function: bare, with a
 *                                no-op uprobe on an instruction the kernel
 *                                emulates (push: an int3 trap), on a 5-byte
 *                                nop (which kernels with optimized uprobes
 *                                turn into a call and a syscall), with a
 *                                uretprobe added, and one plain syscall
 *   probe_cost sites BIN OFF...  no-op uprobe + uretprobe at each file offset
 *                                of BIN until SIGINT/SIGTERM; prints ATTACHED N
 *
 * `sites` at the offsets `oisp-sensor ssl-info --json` plans gives the floor
 * of any capture at those probes: the traps, without the copy or the ring. */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/monotime.h"
#include "probe_cost.skel.h"

/* The probed functions, in assembly so that their first instruction is known
 * whatever the compiler does: a push (emulated) and a 5-byte nop. */
__asm__(".text\n"
        ".globl cost_push\n.type cost_push,@function\n"
        "cost_push:\n\tpush %rbp\n\tpop %rbp\n\tret\n.size cost_push,.-cost_push\n"
        ".globl cost_nop5\n.type cost_nop5,@function\n"
        "cost_nop5:\n\tnopl 0x0(%rax,%rax,1)\n\tret\n.size cost_nop5,.-cost_nop5\n");
void cost_push(void);
void cost_nop5(void);

#define CALLS 200000

static volatile sig_atomic_t stop;
static void on_signal(int sig) { stop = sig; }

static double ns_per_call(void (*fn)(void))
{
    fn(); /* the first hit may rewrite the site (optimized uprobes) */
    uint64_t t0 = mono_ns();
    for (int i = 0; i < CALLS; i++)
        fn();
    return (double)(mono_ns() - t0) / CALLS;
}

static double ns_per_syscall(void)
{
    uint64_t t0 = mono_ns();
    for (int i = 0; i < CALLS; i++)
        syscall(SYS_getppid);
    return (double)(mono_ns() - t0) / CALLS;
}

static struct bpf_link *attach(struct bpf_program *p, int ret, const char *bin, const char *fn,
                               size_t off)
{
    LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = fn, .retprobe = ret);
    struct bpf_link *l = bpf_program__attach_uprobe_opts(p, -1, bin, off, &o);
    if (!l)
        fprintf(stderr, "probe_cost: attaching a %s at %s+0x%zx failed\n",
                ret ? "uretprobe" : "uprobe", fn ? fn : bin, off);
    return l;
}

/* ns per call of fn with the given probes on it, minus the bare call */
static int measure(struct probe_cost_bpf *s, const char *self, const char *name, void (*fn)(void),
                   int ret, double bare)
{
    struct bpf_link *e = attach(s->progs.probe_entry, 0, self, name, 0);
    struct bpf_link *r = ret ? attach(s->progs.probe_return, 1, self, name, 0) : NULL;
    if (!e || (ret && !r))
        return -1;
    double ns = ns_per_call(fn);
    printf("  %-44s %8.0f ns  (+%.0f)\n", name, ns, ns - bare);
    bpf_link__destroy(r);
    bpf_link__destroy(e);
    return 0;
}

static int run_self(struct probe_cost_bpf *s)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return 1;
    self[n] = 0;
    double bare = ns_per_call(cost_push);
    printf("probe cost per call (%d calls each):\n", CALLS);
    printf("  %-44s %8.0f ns\n", "bare call", bare);
    printf("  %-44s %8.0f ns\n", "one syscall (getppid)", ns_per_syscall());
    printf("uprobe on:\n");
    if (measure(s, self, "cost_push", cost_push, 0, bare) ||
        measure(s, self, "cost_nop5", cost_nop5, 0, bare))
        return 1;
    printf("uprobe + uretprobe on:\n");
    if (measure(s, self, "cost_push", cost_push, 1, bare) ||
        measure(s, self, "cost_nop5", cost_nop5, 1, bare))
        return 1;
    return 0;
}

static int run_sites(struct probe_cost_bpf *s, const char *bin, char **offs, int n)
{
    int links = 0;
    for (int i = 0; i < n; i++) {
        char *end;
        size_t off = strtoul(offs[i], &end, 0);
        if (*end || !attach(s->progs.probe_entry, 0, bin, NULL, off) ||
            !attach(s->progs.probe_return, 1, bin, NULL, off))
            return 1;
        links += 2;
    }
    printf("ATTACHED %d\n", links);
    fflush(stdout);
    while (!stop)
        pause();
    return 0;
}

int main(int argc, char **argv)
{
    int self = argc == 2 && !strcmp(argv[1], "self");
    int sites = argc >= 4 && !strcmp(argv[1], "sites");
    if (!self && !sites) {
        fprintf(stderr, "usage: probe_cost self | probe_cost sites BINARY FILE_OFFSET...\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    struct probe_cost_bpf *s = probe_cost_bpf__open_and_load();
    if (!s) {
        fprintf(stderr, "probe_cost: loading the BPF programs failed (root?)\n");
        return 1;
    }
    int rc = self ? run_self(s) : run_sites(s, argv[2], argv + 3, argc - 3);
    probe_cost_bpf__destroy(s);
    return rc;
}
