/* main.c: the oisp-sensor command: dispatch to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/record.h"
#include "cli/show.h"
#include "events/event.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: oisp-sensor COMMAND [options]\n"
            "See every AI API call on this Linux host, captured from TLS plaintext with eBPF,\n"
            "as OISP v0.1 events.\n"
            "\n"
            "commands:\n"
            "  record     capture and write events (root)          oisp-sensor record -o events.jsonl\n"
            "  show       print recorded events for a person       oisp-sensor show events.jsonl -f\n"
            "  version    print the version\n"
            "\n"
            "`oisp-sensor COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "record") == 0)
        return cmd_record(argc - 1, argv + 1);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("oisp-sensor %s (OISP %s)\n", OISP_SENSOR_VERSION, OISP_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "oisp-sensor: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
