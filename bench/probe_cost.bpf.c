// SPDX-License-Identifier: GPL-2.0
/* probe_cost.bpf.c: no-op entry and return uprobes for bench/probe_cost.c,
 * so the bench can tell what the traps alone cost from what the sensor's
 * capture work adds on top of them. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("uprobe")
int probe_entry(void *ctx)
{
    return 0;
}

SEC("uretprobe")
int probe_return(void *ctx)
{
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
