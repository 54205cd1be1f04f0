/* main.c: the oisp-sensor command: a table of subcommands and a dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/analyze.h"
#include "cli/configcmd.h"
#include "cli/demo.h"
#include "cli/diag.h"
#include "cli/hostcmds.h"
#include "cli/record.h"
#include "cli/replay.h"
#include "cli/show.h"
#include "cli/sinkcmds.h"
#include "cli/status.h"
#include "events/event.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("oisp-sensor %s (OISP %s)\n", OISP_SENSOR_VERSION, OISP_VERSION);
    return 0;
}

static const command commands[] = {
    {"record", cmd_record, "capture AI calls and host activity, write events (root)"},
    {"status", cmd_status, "a running sensor's counters: events, drops, sinks, probes"},
    {"show", cmd_show, "print recorded events for a person (-f follows)"},
    {"analyze", cmd_analyze, "traces, inventory and costs over a JSONL file"},
    {"config", cmd_config, "check a config file; show the effective configuration"},
    {"check", cmd_check, "can this host run the sensor? PASS/WARN/FAIL per requirement, with fixes"},
    {"diagnose", cmd_diagnose, "which TLS library a process uses, and whether we can attach (--pid N)"},
    {"ssl-info", cmd_ssl_info, "every TLS library and TLS-carrying binary on the host and in processes"},
    {"demo", cmd_demo, "see real events in seconds: a local fake provider and client, captured live"},
    {"replay", cmd_replay, "send recorded events to the configured sinks (JSONL, UI, webhooks, ...)"},
    {"dlq", cmd_dlq, "resend events a sink could not deliver (dlq replay FILE)"},
    {"top", cmd_top, "live CPU, memory, disk, network and top processes"},
    {"metrics", cmd_metrics, "host metrics once, as --json, or served for Prometheus"},
    {"connections", cmd_connections, "TCP and UDP sockets with their processes, like ss -tunp"},
    {"fanotify", cmd_fanotify, "watch (or guard) executions and writes under paths (root)"},
    {"version", cmd_version, "print the version"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: oisp-sensor COMMAND [options]\n"
               "See every AI API call on this Linux host, captured from TLS plaintext with eBPF,\n"
               "and what AI agents then do on the host, as OISP v0.1 events.\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`oisp-sensor COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0)
        return cmd_version(0, NULL);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(cmd, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "oisp-sensor: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
