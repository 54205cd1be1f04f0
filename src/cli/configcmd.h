/* configcmd.h: `oisp-sensor config check [FILE]` and `oisp-sensor config
 * show [--config FILE]`: validate a configuration file, and print the
 * effective configuration with where each value came from. */
#ifndef OISP_CLI_CONFIGCMD_H
#define OISP_CLI_CONFIGCMD_H

/* argv[0] is "config".  Returns the exit status: 0 valid, 1 invalid,
 * 2 usage error. */
int cmd_config(int argc, char **argv);

#endif
