/* configcmd.c: the `config` command (see configcmd.h).
 *
 * check reads one file the way the sensor would (config_load_file) but
 * without the environment, so it judges the file alone: it prints
 * "FILE: OK", or every error with its file:line and exits 1.  Without FILE
 * it checks the file the sensor would use (--config, $OISP_CONFIG,
 * ~/.config/oisp-sensor/config.toml, /etc/oisp/config.toml).
 *
 * show loads like the sensor does (file, then OISP_* environment) and
 * prints the result as TOML (config_print), each value with a comment
 * saying where it came from; secrets are masked. */
#include "cli/configcmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"

#define ERRBUF (64 << 10)

static void usage(FILE *f)
{
    fprintf(f,
        "usage: oisp-sensor config check [FILE]\n"
        "       oisp-sensor config show [--config FILE]\n"
        "Check a configuration file, or print the configuration the sensor would run with.\n"
        "\n"
        "  check [FILE]     validate FILE (default: the file the sensor would read); prints\n"
        "                   \"FILE: OK\" or every error as FILE:LINE: message, exit status 1\n"
        "  show             the effective configuration as TOML: the file, then the OISP_*\n"
        "                   environment; each value is followed by where it came from\n"
        "  --config FILE    read FILE instead of looking for one\n"
        "  -h, --help       this help\n"
        "\n"
        "The file is looked up at --config, $OISP_CONFIG, ~/.config/oisp-sensor/config.toml,\n"
        "then " CONFIG_SYSTEM_PATH ". Environment variables OISP_<SECTION>_<KEY> override\n"
        "it (OISP_CAPTURE_MAX_CAPTURE=8M); command-line flags override both.\n");
}

static int print_errors(const char *errs, int n)
{
    fprintf(stderr, "%s\n", errs);
    if (n > 1)
        fprintf(stderr, "%d errors\n", n);
    return 1;
}

static int do_check(const char *file)
{
    char path[4096];
    char *err = malloc(ERRBUF);
    if (!err)
        return 1;
    int found = config_find(file, environ, path, sizeof(path), err, ERRBUF);
    int rc = 0;
    if (found < 0) {
        rc = print_errors(err, 1);
    } else if (found == 0) {
        printf("no configuration file found (looked at ~/.config/oisp-sensor/config.toml and "
               "%s): built-in defaults apply\n", CONFIG_SYSTEM_PATH);
    } else {
        config c;
        int n = config_load_file(&c, path, NULL, err, ERRBUF);
        if (n) {
            rc = print_errors(err, n);
        } else {
            printf("%s: OK\n", path);
            config_free(&c);
        }
    }
    free(err);
    return rc;
}

static int do_show(const char *file)
{
    char *err = malloc(ERRBUF);
    if (!err)
        return 1;
    config c;
    int n = config_load(&c, file, environ, err, ERRBUF);
    int rc = 0;
    if (n) {
        rc = print_errors(err, n);
    } else {
        config_print(&c, stdout);
        config_free(&c);
    }
    free(err);
    return rc;
}

static int is_help(const char *s)
{
    return !strcmp(s, "-h") || !strcmp(s, "--help") || !strcmp(s, "help");
}

int cmd_config(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *sub = argv[1], *file = NULL;
    if (is_help(sub)) {
        usage(stdout);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        if (is_help(argv[i])) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--config") && i + 1 < argc && !file) {
            file = argv[++i];
        } else if (!strncmp(argv[i], "--config=", 9) && !file) {
            file = argv[i] + 9;
        } else if (argv[i][0] != '-' && !file && !strcmp(sub, "check")) {
            file = argv[i];
        } else {
            fprintf(stderr, "oisp-sensor config %s: unexpected argument '%s'\n", sub, argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (!strcmp(sub, "check"))
        return do_check(file);
    if (!strcmp(sub, "show"))
        return do_show(file);
    fprintf(stderr, "oisp-sensor config: unknown subcommand '%s' (check or show)\n", sub);
    usage(stderr);
    return 2;
}
